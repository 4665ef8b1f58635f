/*
 * test_stix_marking.c - TLP: the fixed marking-definition ids of TLP 1.0
 * and 2.0, an object's TLP, names, the published definitions, and the
 * sharing rule as a full truth table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "stix/stix.h"

#define DATA CIIP_TEST_DATA "/stix/"

static const struct {
	const char *id;
	enum stix_tlp tlp;
} ids[] = {
	/* TLP 2.0, extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d */
	{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", STIX_TLP_CLEAR},
	{"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", STIX_TLP_GREEN},
	{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", STIX_TLP_AMBER},
	{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", STIX_TLP_AMBER_STRICT},
	{"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", STIX_TLP_RED},
	/* TLP 1.0, STIX 2.1 section 7.2.1.4 */
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", STIX_TLP_CLEAR},
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", STIX_TLP_GREEN},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", STIX_TLP_AMBER},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", STIX_TLP_RED},
	/* Not TLP */
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec", STIX_TLP_NONE},
	{"marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f", STIX_TLP_NONE},
	{"", STIX_TLP_NONE},
	{NULL, STIX_TLP_NONE},
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
test_from_marking_id(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(ids); i++)
		assert_int_equal(stix_tlp_from_marking_id(ids[i].id), ids[i].tlp);
}

static void
test_marking_id_is_tlp2(void **state)
{
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(stix_tlp_marking_id(ids[i].tlp), ids[i].id);
	assert_null(stix_tlp_marking_id(STIX_TLP_NONE));
}

static void
test_of_object(void **state)
{
	static const struct {
		const char *obj;
		enum stix_tlp want;
	} cases[] = {
		{"{\"type\": \"indicator\"}", STIX_TLP_NONE},
		{"{\"object_marking_refs\": "
		 "[\"marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f\"]}",
		 STIX_TLP_NONE},
		{"{\"object_marking_refs\": "
		 "[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"]}",
		 STIX_TLP_GREEN},
		{"{\"object_marking_refs\": [\"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9\","
		 " \"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82\"]}",
		 STIX_TLP_AMBER},
		{"{\"object_marking_refs\": [\"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82\","
		 " \"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003\","
		 " \"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da\"]}",
		 STIX_TLP_AMBER_STRICT},
		{"{\"object_marking_refs\": [\"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1\","
		 " \"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487\"]}",
		 STIX_TLP_RED},
		{"{\"object_marking_refs\": "
		 "\"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1\"}",
		 STIX_TLP_NONE},
		{"{\"object_marking_refs\": [1, null, {}]}", STIX_TLP_NONE},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(cases); i++) {
		json_t *o = json_loads(cases[i].obj, 0, NULL);
		assert_non_null(o);
		print_message("of_object case %zu\n", i);
		assert_int_equal(stix_tlp_of_object(o), cases[i].want);
		json_decref(o);
	}
	assert_int_equal(stix_tlp_of_object(NULL), STIX_TLP_NONE);
}

static void
test_of_real_objects(void **state)
{
	/* A TLP 1.0 RED ref next to a dangling one. */
	json_t *c = load_json("interop-objectmarking-test.json");
	assert_int_equal(stix_tlp_of_object(c), STIX_TLP_RED);
	json_decref(c);
	/* TLP 1.0 AMBER next to a statement marking. */
	json_t *b = load_json("using-marking-definitions.json");
	json_t *ind = json_array_get(json_object_get(b, "objects"), 1);
	assert_string_equal(json_string_value(json_object_get(ind, "type")), "indicator");
	assert_int_equal(stix_tlp_of_object(ind), STIX_TLP_AMBER);
	/* The identity is unmarked. */
	assert_int_equal(stix_tlp_of_object(json_array_get(json_object_get(b, "objects"), 0)),
	                 STIX_TLP_NONE);
	json_decref(b);
}

static void
test_names_and_parse(void **state)
{
	static const struct {
		enum stix_tlp tlp;
		const char *name;
	} names[] = {
		{STIX_TLP_NONE, "none"},   {STIX_TLP_CLEAR, "clear"},
		{STIX_TLP_GREEN, "green"}, {STIX_TLP_AMBER, "amber"},
		{STIX_TLP_AMBER_STRICT, "amber+strict"}, {STIX_TLP_RED, "red"},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(names); i++) {
		enum stix_tlp t = STIX_TLP_RED + 1;
		assert_string_equal(stix_tlp_name(names[i].tlp), names[i].name);
		assert_int_equal(stix_tlp_parse(names[i].name, &t), 0);
		assert_int_equal(t, names[i].tlp);
	}
	static const struct {
		const char *s;
		enum stix_tlp tlp;
	} more[] = {
		{"TLP:AMBER+STRICT", STIX_TLP_AMBER_STRICT},
		{"tlp:clear", STIX_TLP_CLEAR},
		{"White", STIX_TLP_CLEAR},
		{"TLP:WHITE", STIX_TLP_CLEAR},
		{"RED", STIX_TLP_RED},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(more); i++) {
		enum stix_tlp t = STIX_TLP_NONE;
		assert_int_equal(stix_tlp_parse(more[i].s, &t), 0);
		assert_int_equal(t, more[i].tlp);
	}
	static const char *const bad[] = {"", "TLP:", "amber strict", "amber+", "blue", "TLP:TLP:red"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		enum stix_tlp t = STIX_TLP_GREEN;
		assert_int_equal(stix_tlp_parse(bad[i], &t), -1);
		assert_int_equal(t, STIX_TLP_GREEN);
	}
	enum stix_tlp t = STIX_TLP_GREEN;
	assert_int_equal(stix_tlp_parse(NULL, &t), -1);
	assert_string_equal(stix_tlp_name((enum stix_tlp)42), "none");
}

static void
test_definitions_match_oasis(void **state)
{
	/* What ciip serves must be byte-for-byte what OASIS published. */
	static const char *const files[] = {"tlp2-clear.json", "tlp2-green.json", "tlp2-amber.json",
	                                    "tlp2-amber-strict.json", "tlp2-red.json"};
	json_t *defs = stix_tlp_definitions();
	assert_int_equal(json_array_size(defs), CIIP_ARRAY_LEN(files));
	for (size_t i = 0; i < CIIP_ARRAY_LEN(files); i++) {
		json_t *b = load_json(files[i]);
		json_t *want = json_array_get(json_object_get(b, "objects"), 0);
		json_t *got = json_array_get(defs, i);
		assert_true(json_equal(got, want));
		struct err e;
		assert_int_equal(stix_object_validate(got, &e), 0);
		assert_int_equal(stix_tlp_from_marking_id(json_string_value(json_object_get(got, "id"))),
		                 (enum stix_tlp)(STIX_TLP_CLEAR + i));
		json_decref(b);
	}
	json_decref(defs);
}

static void
test_tlp1_definitions_validate(void **state)
{
	json_t *b = load_json("tlp1-marking-definitions.json");
	size_t i;
	json_t *md;
	json_array_foreach (json_object_get(b, "objects"), i, md) {
		struct err e;
		assert_int_equal(stix_object_validate(md, &e), 0);
		assert_int_not_equal(stix_tlp_from_marking_id(json_string_value(json_object_get(md, "id"))),
		                     STIX_TLP_NONE);
	}
	assert_int_equal(i, 4);
	json_decref(b);
}

static void
test_may_share_truth_table(void **state)
{
	/* tlp, same_org, in_community -> may share */
	static const struct {
		enum stix_tlp tlp;
		bool same_org, in_community, ok;
	} table[] = {
		{STIX_TLP_CLEAR, false, false, true},
		{STIX_TLP_CLEAR, false, true, true},
		{STIX_TLP_CLEAR, true, false, true},
		{STIX_TLP_CLEAR, true, true, true},
		{STIX_TLP_GREEN, false, false, false},
		{STIX_TLP_GREEN, false, true, true},
		{STIX_TLP_GREEN, true, false, true},
		{STIX_TLP_GREEN, true, true, true},
		{STIX_TLP_AMBER, false, false, false},
		{STIX_TLP_AMBER, false, true, true},
		{STIX_TLP_AMBER, true, false, true},
		{STIX_TLP_AMBER, true, true, true},
		{STIX_TLP_AMBER_STRICT, false, false, false},
		{STIX_TLP_AMBER_STRICT, false, true, false},
		{STIX_TLP_AMBER_STRICT, true, false, true},
		{STIX_TLP_AMBER_STRICT, true, true, true},
		{STIX_TLP_RED, false, false, false},
		{STIX_TLP_RED, false, true, false},
		{STIX_TLP_RED, true, false, true},
		{STIX_TLP_RED, true, true, true},
		/* Unmarked is AMBER. */
		{STIX_TLP_NONE, false, false, false},
		{STIX_TLP_NONE, false, true, true},
		{STIX_TLP_NONE, true, false, true},
		{STIX_TLP_NONE, true, true, true},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(table); i++) {
		print_message("may_share row %zu\n", i);
		assert_int_equal(stix_tlp_may_share(table[i].tlp, table[i].same_org,
		                                    table[i].in_community),
		                 table[i].ok);
	}
	assert_false(stix_tlp_may_share((enum stix_tlp)42, true, true));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_marking_id),
		cmocka_unit_test(test_marking_id_is_tlp2),
		cmocka_unit_test(test_of_object),
		cmocka_unit_test(test_of_real_objects),
		cmocka_unit_test(test_names_and_parse),
		cmocka_unit_test(test_definitions_match_oasis),
		cmocka_unit_test(test_tlp1_definitions_validate),
		cmocka_unit_test(test_may_share_truth_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
