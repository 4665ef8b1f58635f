/*
 * test_stix_object.c - validation of single STIX objects (real OASIS samples
 * and the table in tests/data/stix/object-cases.json), kinds, versions,
 * identifiers and timestamps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

#define DATA CIIP_TEST_DATA "/stix/"

/* Every sample of tests/data/stix that must validate, as a bundle. */
static const char *const valid_bundles[] = {
	"apt1.json",
	"sighting-of-observed-data.json",
	"using-marking-definitions.json",
	"using-granular-markings.json",
	"indicator-for-malicious-url.json",
	"threat-actor-leveraging-attack-patterns-and-malware.json",
	"defining-campaigns-threat-actors-intrusion-sets.json",
	"infrastructure.json",
	"indicators-for-C2-with-COA.json",
	"malicious-email-indicator-with-attachment.json",
	"tlp1-marking-definitions.json",
	"tlp2-clear.json",
	"tlp2-green.json",
	"tlp2-amber.json",
	"tlp2-amber-strict.json",
	"tlp2-red.json",
};

static json_t *
load_json(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), DATA "%s", name);
	json_error_t jerr;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(j);
	return j;
}

static void
test_real_bundles_validate(void **state)
{
	size_t total = 0;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(valid_bundles); i++) {
		json_t *b = load_json(valid_bundles[i]);
		json_t *objects = json_object_get(b, "objects");
		struct stix_failure *f = NULL;
		size_t n = stix_objects_validate(objects, &f);
		/* Print the failures, if any, to name the rules at fault. */
		for (size_t k = 0; k < n; k++)
			print_message("%s: %s\n", valid_bundles[i], f[k].msg);
		assert_int_equal(n, 0);
		assert_null(f);
		total += json_array_size(objects);
		json_decref(b);
	}
	/* apt1 alone has 76 objects: make sure the files were really read. */
	assert_true(total > 150);
}

static void
test_real_bare_object_validates(void **state)
{
	json_t *o = load_json("interop-objectmarking-test.json");
	struct err e;
	assert_int_equal(stix_object_validate(o, &e), 0);
	json_decref(o);
}

static void
test_table_valid(void **state)
{
	json_t *cases = load_json("object-cases.json");
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(cases, "valid"), i, c) {
		struct err e;
		err_clear(&e);
		int rc = stix_object_validate(json_object_get(c, "object"), &e);
		print_message("valid case '%s': %s\n", json_string_value(json_object_get(c, "why")),
		              e.msg);
		assert_int_equal(rc, 0);
	}
	assert_true(i > 15);
	json_decref(cases);
}

static void
test_table_invalid(void **state)
{
	json_t *cases = load_json("object-cases.json");
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(cases, "invalid"), i, c) {
		struct err e;
		err_clear(&e);
		int rc = stix_object_validate(json_object_get(c, "object"), &e);
		print_message("invalid case '%s': %s\n", json_string_value(json_object_get(c, "why")),
		              e.msg);
		assert_int_equal(rc, -1);
		assert_string_equal(e.key, json_string_value(json_object_get(c, "key")));
		assert_true(strlen(e.msg) > 0);
	}
	assert_true(i > 80);
	json_decref(cases);
}

static void
test_message_names_id_and_property(void **state)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "indicator",
	                      "spec_version", "2.1", "id",
	                      "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "created",
	                      "2016-04-06T20:03:48.000Z", "modified", "2016-04-06T20:03:47.000Z",
	                      "pattern", "[ipv4-addr:value = '10.0.0.1']", "pattern_type", "stix",
	                      "valid_from", "2016-01-01T00:00:00Z");
	struct err e;
	assert_int_equal(stix_object_validate(o, &e), -1);
	assert_string_equal(e.msg, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f: property "
	                           "'modified' is before 'created'");
	assert_string_equal(e.key, "modified");
	/* Without an id, the object is named by what it is. */
	json_object_del(o, "id");
	assert_int_equal(stix_object_validate(o, &e), -1);
	assert_string_equal(e.msg, "object: property 'id' is required");
	/* A NULL err is allowed. */
	assert_int_equal(stix_object_validate(o, NULL), -1);
	json_decref(o);
}

static void
test_control_bytes_stay_out_of_messages(void **state)
{
	json_t *o = json_pack("{s:s, s:s, s:i}", "type", "x-acme-thing", "id",
	                      "x-acme-thing--4e4b0b2a-7c0d-5a3c-9f1e-2b7e3d6c1a90", "a\nb\x01", 1);
	struct err e;
	assert_int_equal(stix_object_validate(o, &e), -1);
	assert_string_equal(e.key, "a?b?");
	assert_null(strchr(e.msg, '\n'));
	json_decref(o);
}

static void
test_deep_nesting_is_refused(void **state)
{
	/* Built in memory, so no envelope limit applies: the walk must stop. */
	json_t *o = json_pack("{s:s, s:s}", "type", "x-acme-thing", "id",
	                      "x-acme-thing--4e4b0b2a-7c0d-5a3c-9f1e-2b7e3d6c1a90");
	json_t *inner = json_array();
	for (int d = 0; d < 200; d++) {
		json_t *outer = json_array();
		json_array_append_new(outer, inner);
		inner = outer;
	}
	json_object_set_new(o, "x_deep", inner);
	struct err e;
	assert_int_equal(stix_object_validate(o, &e), -1);
	assert_non_null(strstr(e.msg, "nests deeper"));
	json_decref(o);
}

static void
test_kinds(void **state)
{
	static const struct {
		const char *type;
		enum stix_kind kind;
		const char *name;
	} cases[] = {
		{"indicator", STIX_KIND_SDO, "sdo"},
		{"vulnerability", STIX_KIND_SDO, "sdo"},
		{"observed-data", STIX_KIND_SDO, "sdo"},
		{"relationship", STIX_KIND_SRO, "sro"},
		{"sighting", STIX_KIND_SRO, "sro"},
		{"ipv4-addr", STIX_KIND_SCO, "sco"},
		{"x509-certificate", STIX_KIND_SCO, "sco"},
		{"marking-definition", STIX_KIND_META, "meta"},
		{"language-content", STIX_KIND_META, "meta"},
		{"extension-definition", STIX_KIND_META, "meta"},
		{"x-acme-widget", STIX_KIND_CUSTOM, "custom"},
		{"acme-widget", STIX_KIND_CUSTOM, "custom"},
		{"bundle", STIX_KIND_UNKNOWN, "unknown"},
		{"Indicator", STIX_KIND_UNKNOWN, "unknown"},
		{"ab", STIX_KIND_UNKNOWN, "unknown"},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(cases); i++) {
		assert_int_equal(stix_kind_of_type(cases[i].type), cases[i].kind);
		assert_string_equal(stix_kind_name(stix_kind_of_type(cases[i].type)), cases[i].name);
		json_t *o = json_pack("{s:s}", "type", cases[i].type);
		assert_int_equal(stix_object_kind(o), cases[i].kind);
		json_decref(o);
	}
	json_t *o = json_pack("{s:i}", "type", 1);
	assert_int_equal(stix_object_kind(o), STIX_KIND_UNKNOWN);
	assert_int_equal(stix_object_kind(NULL), STIX_KIND_UNKNOWN);
	json_decref(o);
}

static void
test_version(void **state)
{
	char v[STIX_TIMESTAMP_MAX + 8];
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "indicator", "created",
	                      "2016-04-06T20:03:48.000Z", "modified", "2017-01-01T00:00:00.123456Z");
	assert_int_equal(stix_object_version(o, v, sizeof(v)), STIX_VERSION_MODIFIED);
	assert_string_equal(v, "2017-01-01T00:00:00.123456Z");
	/* A buffer too small for this fraction is refused, not truncated. */
	assert_int_equal(stix_object_version(o, v, STIX_TIMESTAMP_MAX), -1);
	json_decref(o);

	json_t *tlp = load_json("tlp2-red.json");
	json_t *md = json_array_get(json_object_get(tlp, "objects"), 0);
	assert_int_equal(stix_object_version(md, v, sizeof(v)), STIX_VERSION_CREATED);
	assert_string_equal(v, "2022-10-01T00:00:00.000Z");
	json_decref(tlp);

	json_t *sco = json_pack("{s:s, s:s, s:s}", "type", "ipv4-addr", "id",
	                        "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value", "1.2.3.4");
	assert_int_equal(stix_object_version(sco, v, sizeof(v)), STIX_VERSION_FIXED);
	assert_string_equal(v, STIX_VERSION_FIXED_VALUE);
	assert_int_equal(stix_object_version(sco, v, 4), -1);
	json_decref(sco);

	json_t *bad = json_pack("{s:s}", "modified", "yesterday");
	assert_int_equal(stix_object_version(bad, v, sizeof(v)), -1);
	assert_int_equal(stix_object_version(NULL, v, sizeof(v)), -1);
	json_decref(bad);
}

static void
test_versions_of_real_objects_order(void **state)
{
	/* The shared versioning samples: 1 ms apart must still order. */
	static const char *const mods[] = {"2017-05-31T21:32:58.226Z", "2018-11-01T23:24:48.456Z",
	                                    "2018-11-01T23:24:48.457Z"};
	for (size_t i = 0; i + 1 < CIIP_ARRAY_LEN(mods); i++) {
		assert_true(stix_timestamp_cmp(mods[i], mods[i + 1]) < 0);
		assert_true(stix_timestamp_cmp(mods[i + 1], mods[i]) > 0);
	}
}

static void
test_type_valid(void **state)
{
	char longest[STIX_TYPE_MAX_CHARS + 2];
	memset(longest, 'a', sizeof(longest));
	longest[STIX_TYPE_MAX_CHARS] = '\0';
	assert_true(stix_type_valid(longest));
	longest[STIX_TYPE_MAX_CHARS] = 'a';
	longest[STIX_TYPE_MAX_CHARS + 1] = '\0';
	assert_false(stix_type_valid(longest));
	assert_true(stix_type_valid("abc"));
	assert_true(stix_type_valid("x-acme-1"));
	assert_false(stix_type_valid("ab"));
	assert_false(stix_type_valid("1abc"));
	assert_false(stix_type_valid("-abc"));
	assert_false(stix_type_valid("a--bc"));
	assert_false(stix_type_valid("ab_c"));
	assert_false(stix_type_valid("abC"));
	assert_false(stix_type_valid(""));
	assert_false(stix_type_valid(NULL));
}

static void
test_id_valid(void **state)
{
	static const struct {
		const char *id;
		const char *type;
		bool ok;
	} cases[] = {
		{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL, true},
		{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicator", true},
		{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "malware", false},
		{"relationship--81f12913-1372-4c96-85ec-E9034ac98aba", "relationship", true},
		{"file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d", "file", true},
		{"relationship--1621d4d4-b67d-11e3-9670-f01faf20d111", NULL, true},
		{"indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f", NULL, false},
		{"indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f", NULL, false},
		{"indicator--8e2e2d2b-17d4-9cbf-938f-98ee46b3cd3f", NULL, false},
		{"indicator--8e2e2d2b17d4-4cbf-938f-98ee46b3cd3f0", NULL, false},
		{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3g", NULL, false},
		{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f ", NULL, false},
		{"indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL, false},
		{"ab--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL, false},
		{"--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL, false},
		{"x--y--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL, false},
		{"indicator--", NULL, false},
		{"", NULL, false},
		{NULL, NULL, false},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(cases); i++) {
		print_message("id case %zu\n", i);
		assert_int_equal(stix_id_valid(cases[i].id, cases[i].type), cases[i].ok);
	}
}

static void
test_id_new(void **state)
{
	char a[STIX_ID_MAX], b[STIX_ID_MAX];
	stix_id_new("indicator", a, sizeof(a));
	stix_id_new("indicator", b, sizeof(b));
	assert_true(stix_id_valid(a, "indicator"));
	assert_true(stix_id_valid(b, "indicator"));
	assert_string_not_equal(a, b);
	/* Version 4, RFC 4122 variant. */
	assert_int_equal(a[strlen("indicator--") + 14], '4');
	assert_non_null(strchr("89ab", a[strlen("indicator--") + 19]));
	char exact[sizeof("x-acme-thing") + 2 + 36];
	stix_id_new("x-acme-thing", exact, sizeof(exact));
	assert_true(stix_id_valid(exact, "x-acme-thing"));
}

static void
test_timestamps(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{"2016-04-06T20:03:48Z", true},
		{"2016-04-06T20:03:48.000Z", true},
		{"2016-04-06T20:03:48.123456789012Z", true},
		{"2016-02-29T00:00:00Z", true},
		{"2015-02-29T00:00:00Z", false},
		{"2016-04-06T20:03:48", false},
		{"2016-04-06T20:03:48+00:00", false},
		{"2016-04-06t20:03:48Z", false},
		{"2016-04-06T20:03:48z", false},
		{"2016-04-06 20:03:48Z", false},
		{"2016-04-06T24:00:00Z", false},
		{"2016-13-06T20:03:48Z", false},
		{"2016-04-06T20:03:48.Z", false},
		{"2016-04-06T20:03:48ZZ", false},
		{"16-04-06T20:03:48Z", false},
		{"", false},
		{NULL, false},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(cases); i++) {
		print_message("timestamp case %zu\n", i);
		assert_int_equal(stix_timestamp_valid(cases[i].s), cases[i].ok);
	}
	assert_int_equal(stix_timestamp_cmp("2016-01-01T00:00:00Z", "2016-01-01T00:00:00.000Z"), 0);
	assert_true(stix_timestamp_cmp("2016-01-01T00:00:00.0001Z", "2016-01-01T00:00:00Z") > 0);
	assert_true(stix_timestamp_cmp("2016-01-01T00:00:00.1Z", "2016-01-01T00:00:00.09Z") > 0);
	assert_true(stix_timestamp_cmp("2015-12-31T23:59:59.999Z", "2016-01-01T00:00:00Z") < 0);
	/* Not timestamps: ordered as text, never read past the end. */
	assert_true(stix_timestamp_cmp("a", "b") < 0);
	assert_int_equal(stix_timestamp_cmp("abc", "abc"), 0);

	char now[STIX_TIMESTAMP_MAX];
	time_set_fake_ms(1463041047123LL);
	stix_timestamp_now(now);
	time_set_fake_ms(0);
	assert_string_equal(now, "2016-05-12T08:17:27.123Z");
	assert_true(stix_timestamp_valid(now));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_bundles_validate),
		cmocka_unit_test(test_real_bare_object_validates),
		cmocka_unit_test(test_table_valid),
		cmocka_unit_test(test_table_invalid),
		cmocka_unit_test(test_message_names_id_and_property),
		cmocka_unit_test(test_control_bytes_stay_out_of_messages),
		cmocka_unit_test(test_deep_nesting_is_refused),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_versions_of_real_objects_order),
		cmocka_unit_test(test_type_valid),
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_id_new),
		cmocka_unit_test(test_timestamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
