/*
 * test_stix_object_envelope.c - TAXII envelopes and STIX bundles: limits
 * on size, depth and count, the shapes accepted and refused, and the
 * per-object failure list a TAXII status resource is built from.
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
#define FILE_MAX_BYTES (1024 * 1024)

/* Reads a test file; the caller frees it. */
static char *
slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), DATA "%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = xmalloc(FILE_MAX_BYTES);
	*len = fread(buf, 1, FILE_MAX_BYTES, f);
	assert_true(feof(f));
	fclose(f);
	return buf;
}

static int
parse_str(const char *s, size_t max, json_t **out, struct err *e)
{
	return stix_envelope_parse(s, strlen(s), max, out, e);
}

static void
test_real_bundle(void **state)
{
	size_t len;
	char *buf = slurp("apt1.json", &len);
	json_t *objs = NULL;
	struct err e;
	assert_int_equal(stix_envelope_parse(buf, len, 0, &objs, &e), 0);
	assert_int_equal(json_array_size(objs), 76);
	struct stix_failure *f = NULL;
	assert_int_equal(stix_objects_validate(objs, &f), 0);
	assert_null(f);
	json_decref(objs);
	free(buf);
}

static void
test_envelope_shapes(void **state)
{
	json_t *objs = NULL;
	struct err e;
	assert_int_equal(parse_str("{}", 0, &objs, &e), 0);
	assert_int_equal(json_array_size(objs), 0);
	json_decref(objs);
	assert_int_equal(parse_str("{\"objects\": [{\"type\": \"x\"}, 1], \"more\": true, "
	                           "\"next\": \"abc\"}",
	                           0, &objs, &e),
	                 0);
	assert_int_equal(json_array_size(objs), 2);
	json_decref(objs);
	assert_int_equal(parse_str("{\"type\": \"bundle\", \"id\": "
	                           "\"bundle--dcf8154d-27b3-4856-94eb-29fbda777116\"}",
	                           0, &objs, &e),
	                 0);
	assert_int_equal(json_array_size(objs), 0);
	json_decref(objs);
}

static void
test_envelope_refusals(void **state)
{
	static const struct {
		const char *json;
		const char *key;
		const char *msg_part;
	} cases[] = {
		{"[]", "", "must be a JSON object"},
		{"\"objects\"", "", "invalid JSON"},
		{"{\"objects\": {}}", "objects", "must be a list"},
		{"{\"objects\": [], \"more\": \"yes\"}", "more", "boolean"},
		{"{\"objects\": [], \"next\": 5}", "next", "string"},
		{"{\"objects\": [], \"id\": \"bundle--dcf8154d-27b3-4856-94eb-29fbda777116\"}", "id",
		 "not allowed"},
		{"{\"objects\": [], \"spec_version\": \"2.0\"}", "spec_version", "not allowed"},
		{"{\"type\": \"bundel\", \"id\": \"bundle--dcf8154d-27b3-4856-94eb-29fbda777116\"}",
		 "type", "must be \"bundle\""},
		{"{\"type\": \"bundle\", \"id\": \"bundle--dcf8154d\"}", "id", "bundle--<UUID>"},
		{"{\"type\": \"bundle\"}", "id", "bundle--<UUID>"},
		{"{\"type\": \"bundle\", \"id\": \"report--dcf8154d-27b3-4856-94eb-29fbda777116\"}", "id",
		 "bundle--<UUID>"},
		{"{\"type\": \"bundle\", \"id\": \"bundle--dcf8154d-27b3-4856-94eb-29fbda777116\", "
		 "\"more\": false}",
		 "more", "not allowed"},
		{"{\"objects\": [], \"objects\": []}", "", "duplicate"},
		{"{\"objects\": [\"\\u0000\"]}", "", "invalid JSON"},
		{"{\"objects\": [", "", "invalid JSON"},
		{"", "", "invalid JSON"},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(cases); i++) {
		json_t *objs = (json_t *)&objs; /* must stay untouched */
		json_t *const before = objs;
		struct err e;
		print_message("envelope case %zu\n", i);
		assert_int_equal(parse_str(cases[i].json, 0, &objs, &e), -1);
		assert_ptr_equal(objs, before);
		assert_string_equal(e.key, cases[i].key);
		assert_non_null(strstr(e.msg, cases[i].msg_part));
	}
}

static void
test_syntax_error_position(void **state)
{
	json_t *objs = NULL;
	struct err e;
	assert_int_equal(parse_str("{\n  \"objects\": [\n    {,}\n  ]\n}", 0, &objs, &e), -1);
	assert_int_equal(e.line, 3);
	assert_true(e.column > 0);
	/* A NULL err is allowed. */
	assert_int_equal(parse_str("{", 0, &objs, NULL), -1);
}

/* {"objects": [[[ ... ]]]} with the envelope at depth 1. */
static char *
nested(int depth)
{
	struct buf b = {0};
	buf_puts(&b, "{\"objects\": ");
	for (int i = 1; i < depth; i++)
		buf_puts(&b, "[");
	for (int i = 1; i < depth; i++)
		buf_puts(&b, "]");
	buf_puts(&b, "}");
	return buf_steal(&b);
}

static void
test_depth_limit(void **state)
{
	json_t *objs = NULL;
	struct err e;
	char *ok = nested(STIX_ENVELOPE_MAX_DEPTH);
	assert_int_equal(parse_str(ok, 0, &objs, &e), 0);
	json_decref(objs);
	free(ok);
	char *deep = nested(STIX_ENVELOPE_MAX_DEPTH + 1);
	assert_int_equal(parse_str(deep, 0, &objs, &e), -1);
	assert_non_null(strstr(e.msg, "nests deeper"));
	free(deep);
	/* Far deeper than any stack would like, refused before parsing. */
	char *abyss = nested(1000000);
	assert_int_equal(parse_str(abyss, 0, &objs, &e), -1);
	assert_non_null(strstr(e.msg, "nests deeper"));
	free(abyss);
}

static void
test_depth_ignores_brackets_in_strings(void **state)
{
	struct buf b = {0};
	buf_puts(&b, "{\"objects\": [{\"type\": \"x-acme-a\", \"x_s\": \"");
	for (int i = 0; i < 200; i++)
		buf_puts(&b, "[{\\\"");
	buf_puts(&b, "\"}]}");
	json_t *objs = NULL;
	struct err e;
	assert_int_equal(stix_envelope_parse(b.data, b.len, 0, &objs, &e), 0);
	assert_int_equal(json_array_size(objs), 1);
	json_decref(objs);
	buf_free(&b);
}

static void
test_size_limit(void **state)
{
	size_t len = (size_t)STIX_ENVELOPE_MAX_BYTES + 1;
	char *big = xmalloc(len);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	json_t *objs = NULL;
	struct err e;
	assert_int_equal(stix_envelope_parse(big, len, 0, &objs, &e), -1);
	assert_non_null(strstr(e.msg, "bytes is more than the limit"));
	/* One byte less is parsed. */
	big[len - 2] = '}';
	assert_int_equal(stix_envelope_parse(big, len - 1, 0, &objs, &e), 0);
	json_decref(objs);
	free(big);
}

static void
test_object_count_limit(void **state)
{
	json_t *objs = NULL;
	struct err e;
	const char *three = "{\"objects\": [{}, {}, {}]}";
	assert_int_equal(parse_str(three, 3, &objs, &e), 0);
	json_decref(objs);
	assert_int_equal(parse_str(three, 2, &objs, &e), -1);
	assert_string_equal(e.key, "objects");
	assert_non_null(strstr(e.msg, "3 objects is more than the limit of 2"));
}

static void
test_quirky_oasis_wrappers_are_refused(void **state)
{
	/* Both TLP 2.0 example files wrap their objects in a bundle without
	 * "type": neither a bundle nor a TAXII envelope. */
	static const char *const files[] = {"tlp2-extension-definition.json",
	                                    "tlp2-using-green-example.json"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(files); i++) {
		size_t len;
		char *buf = slurp(files[i], &len);
		json_t *objs = NULL;
		struct err e;
		assert_int_equal(stix_envelope_parse(buf, len, 0, &objs, &e), -1);
		assert_string_equal(e.key, "id");
		free(buf);
	}
}

static void
test_failures_name_index_id_and_property(void **state)
{
	/* The objects of the invalid OASIS example: the relationship's created
	 * is "2022-101-27T...". */
	json_error_t jerr;
	json_t *doc = json_load_file(DATA "tlp2-using-green-example.json", 0, &jerr);
	assert_non_null(doc);
	json_t *objs = json_object_get(doc, "objects");
	json_array_append_new(objs, json_pack("{s:s}", "type", "indicator"));
	json_array_append_new(objs, json_string("not an object"));
	struct stix_failure *f = NULL;
	assert_int_equal(stix_objects_validate(objs, &f), 3);
	assert_int_equal(f[0].index, 2);
	assert_string_equal(f[0].id, "relationship--1621d4d4-b67d-11e3-9670-f01faf20d111");
	assert_string_equal(f[0].key, "created");
	assert_string_equal(f[0].msg, "relationship--1621d4d4-b67d-11e3-9670-f01faf20d111: property "
	                              "'created' is not a timestamp YYYY-MM-DDTHH:mm:ss[.s+]Z");
	assert_int_equal(f[1].index, 3);
	assert_string_equal(f[1].id, "");
	assert_string_equal(f[1].key, "id");
	assert_string_equal(f[1].msg, "object [3]: property 'id' is required");
	assert_int_equal(f[2].index, 4);
	assert_string_equal(f[2].key, "");
	assert_string_equal(f[2].msg, "object [4]: is not a JSON object");
	free(f);
	json_decref(doc);

	json_t *notarray = json_object();
	assert_int_equal(stix_objects_validate(notarray, &f), 1);
	assert_string_equal(f[0].key, "objects");
	free(f);
	json_decref(notarray);
}

static void
test_failure_id_is_only_a_valid_id(void **state)
{
	json_t *objs = json_pack("[{s:s, s:s}]", "type", "indicator", "id", "indicator--\x7f\x01");
	struct stix_failure *f = NULL;
	assert_int_equal(stix_objects_validate(objs, &f), 1);
	assert_string_equal(f[0].id, "");
	assert_string_equal(f[0].key, "id");
	assert_null(strchr(f[0].msg, '\x01'));
	free(f);
	json_decref(objs);
}

static void
test_many_failures(void **state)
{
	json_t *objs = json_array();
	for (int i = 0; i < 100; i++)
		json_array_append_new(objs, json_pack("{s:s}", "type", "indicator"));
	struct stix_failure *f = NULL;
	assert_int_equal(stix_objects_validate(objs, &f), 100);
	for (size_t i = 0; i < 100; i++) {
		assert_int_equal(f[i].index, i);
		assert_string_equal(f[i].key, "id");
	}
	free(f);
	json_decref(objs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_bundle),
		cmocka_unit_test(test_envelope_shapes),
		cmocka_unit_test(test_envelope_refusals),
		cmocka_unit_test(test_syntax_error_position),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_depth_ignores_brackets_in_strings),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_object_count_limit),
		cmocka_unit_test(test_quirky_oasis_wrappers_are_refused),
		cmocka_unit_test(test_failures_name_index_id_and_property),
		cmocka_unit_test(test_failure_id_is_only_a_valid_id),
		cmocka_unit_test(test_many_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
