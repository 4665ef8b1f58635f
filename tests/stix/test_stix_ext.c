/*
 * test_stix_ext.c - the national intel type extension: names, reading and
 * writing it on objects, and its extension-definition.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

static const struct {
	enum stix_intel_type t;
	const char *name;
	const char *describe;
} types[] = {
	{STIX_INTEL_ANA, "ANA", "security information"},
	{STIX_INTEL_DEF, "DEF", "web attack"},
	{STIX_INTEL_INT, "INT", "intrusion"},
	{STIX_INTEL_EWA, "EWA", "early warning"},
	{STIX_INTEL_FBI, "FBI", "feedback"},
};

static json_t *
indicator(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "indicator",
	                 "spec_version", "2.1", "id", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
	                 "created", "2016-04-06T20:03:48.000Z", "modified", "2016-04-06T20:03:48.000Z",
	                 "pattern", "[ipv4-addr:value = '198.51.100.1']", "pattern_type", "stix",
	                 "valid_from", "2016-01-01T00:00:00Z");
}

static void
test_names(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(types); i++) {
		enum stix_intel_type t = STIX_INTEL_NONE;
		assert_string_equal(stix_intel_type_name(types[i].t), types[i].name);
		assert_string_equal(stix_intel_type_describe(types[i].t), types[i].describe);
		assert_int_equal(stix_intel_type_parse(types[i].name, &t), 0);
		assert_int_equal(t, types[i].t);
	}
	enum stix_intel_type t = STIX_INTEL_NONE;
	assert_int_equal(stix_intel_type_parse("ewa", &t), 0);
	assert_int_equal(t, STIX_INTEL_EWA);
	static const char *const bad[] = {"", "none", "EW", "EWAA", " EWA"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		t = STIX_INTEL_ANA;
		assert_int_equal(stix_intel_type_parse(bad[i], &t), -1);
		assert_int_equal(t, STIX_INTEL_ANA);
	}
	assert_int_equal(stix_intel_type_parse(NULL, &t), -1);
	assert_string_equal(stix_intel_type_name(STIX_INTEL_NONE), "none");
	assert_string_equal(stix_intel_type_name((enum stix_intel_type)42), "none");
	assert_string_equal(stix_intel_type_describe((enum stix_intel_type)42), "none");
}

static void
test_roundtrip(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(types); i++) {
		json_t *o = indicator();
		assert_int_equal(stix_intel_type_get(o), STIX_INTEL_NONE);
		assert_int_equal(stix_intel_type_set(o, types[i].t), 0);
		assert_int_equal(stix_intel_type_get(o), types[i].t);
		const char *wire = json_string_value(json_object_get(
		    json_object_get(json_object_get(o, "extensions"), STIX_INTEL_EXT_ID), "intel_type"));
		assert_string_equal(wire, types[i].name);
		struct err e;
		assert_int_equal(stix_object_validate(o, &e), 0);
		/* Through text and back, as a peer would receive it. */
		char *text = json_dumps(o, 0);
		json_t *back = json_loads(text, 0, NULL);
		assert_int_equal(stix_intel_type_get(back), types[i].t);
		json_decref(back);
		free(text);
		json_decref(o);
	}
}

static void
test_set_replaces_and_removes(void **state)
{
	json_t *o = indicator();
	json_t *other = json_pack("{s:{s:s, s:i}}", "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e",
	                          "extension_type", "property-extension", "x_score", 3);
	json_object_set_new(o, "extensions", other);
	assert_int_equal(stix_intel_type_set(o, STIX_INTEL_ANA), 0);
	assert_int_equal(stix_intel_type_set(o, STIX_INTEL_FBI), 0);
	assert_int_equal(stix_intel_type_get(o), STIX_INTEL_FBI);
	assert_int_equal(json_object_size(json_object_get(o, "extensions")), 2);
	/* Removing keeps the other extension. */
	assert_int_equal(stix_intel_type_set(o, STIX_INTEL_NONE), 0);
	assert_int_equal(stix_intel_type_get(o), STIX_INTEL_NONE);
	assert_int_equal(json_object_size(json_object_get(o, "extensions")), 1);
	json_decref(o);

	/* Removing the only extension removes "extensions": STIX forbids it
	 * empty. */
	o = indicator();
	assert_int_equal(stix_intel_type_set(o, STIX_INTEL_INT), 0);
	assert_int_equal(stix_intel_type_set(o, STIX_INTEL_NONE), 0);
	assert_null(json_object_get(o, "extensions"));
	assert_int_equal(stix_intel_type_set(o, STIX_INTEL_NONE), 0);
	struct err e;
	assert_int_equal(stix_object_validate(o, &e), 0);
	json_decref(o);
}

static void
test_set_refusals_change_nothing(void **state)
{
	json_t *arr = json_array();
	assert_int_equal(stix_intel_type_set(arr, STIX_INTEL_EWA), -1);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	assert_int_equal(stix_intel_type_set(NULL, STIX_INTEL_EWA), -1);

	json_t *o = indicator();
	json_object_set_new(o, "extensions", json_string("nope"));
	json_t *copy = json_deep_copy(o);
	assert_int_equal(stix_intel_type_set(o, STIX_INTEL_EWA), -1);
	assert_true(json_equal(o, copy));
	assert_int_equal(stix_intel_type_set(o, (enum stix_intel_type)42), -1);
	assert_true(json_equal(o, copy));
	json_decref(copy);
	json_decref(o);
}

static void
test_get_malformed_is_none(void **state)
{
	static const char *const objs[] = {
		"{}",
		"{\"extensions\": []}",
		"{\"extensions\": {\"" STIX_INTEL_EXT_ID "\": \"EWA\"}}",
		"{\"extensions\": {\"" STIX_INTEL_EXT_ID "\": {\"intel_type\": 4}}}",
		"{\"extensions\": {\"" STIX_INTEL_EXT_ID "\": {\"intel_type\": \"ewa\"}}}",
		"{\"extensions\": {\"" STIX_INTEL_EXT_ID "\": {\"intel_type\": \"XYZ\"}}}",
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(objs); i++) {
		json_t *o = json_loads(objs[i], 0, NULL);
		assert_non_null(o);
		assert_int_equal(stix_intel_type_get(o), STIX_INTEL_NONE);
		json_decref(o);
	}
	assert_int_equal(stix_intel_type_get(NULL), STIX_INTEL_NONE);
}

static void
test_definition(void **state)
{
	json_t *d = stix_intel_type_definition();
	struct err e;
	assert_int_equal(stix_object_validate(d, &e), 0);
	assert_string_equal(json_string_value(json_object_get(d, "id")), STIX_INTEL_EXT_ID);
	assert_string_equal(json_string_value(json_object_get(d, "created_by_ref")),
	                    STIX_CIIP_IDENTITY_ID);
	assert_string_equal(json_string_value(json_object_get(d, "version")), "1.0");
	assert_int_equal(json_array_size(json_object_get(d, "extension_types")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "extension_types"), 0)),
	                    "property-extension");
	assert_non_null(json_string_value(json_object_get(d, "schema")));
	assert_true(stix_id_valid(STIX_CIIP_IDENTITY_ID, "identity"));
	assert_true(stix_id_valid(STIX_INTEL_EXT_ID, "extension-definition"));
	/* Fixed: two calls give the same object. */
	json_t *again = stix_intel_type_definition();
	assert_true(json_equal(d, again));
	json_decref(again);
	json_decref(d);
}

/* Found by fuzz_stix_envelope (crash-b9143bd5..., the tlp2-red seed): an
 * intel type set on a fixed TLP definition makes it differ from the
 * published object, and validation must say so rather than accept a TLP
 * definition with extra content. */
static void
test_fuzz_intel_type_on_tlp_definition(void **state)
{
	json_t *defs = stix_tlp_definitions();
	json_t *red = json_array_get(defs, 4);
	struct err e;
	assert_int_equal(stix_object_validate(red, &e), 0);
	assert_int_equal(stix_intel_type_set(red, STIX_INTEL_EWA), 0);
	assert_int_equal(stix_object_validate(red, &e), -1);
	assert_string_equal(e.key, "extensions");
	assert_int_equal(stix_intel_type_set(red, STIX_INTEL_NONE), 0);
	assert_int_equal(stix_object_validate(red, &e), 0);
	json_decref(defs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_set_replaces_and_removes),
		cmocka_unit_test(test_set_refusals_change_nothing),
		cmocka_unit_test(test_get_malformed_is_none),
		cmocka_unit_test(test_definition),
		cmocka_unit_test(test_fuzz_intel_type_on_tlp_definition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
