/* test_advisory_stix.c - an advisory as a STIX report: indicator patterns
 * (escaping included), the bundle validates, ids are stable from one
 * version to the next, withdrawal revokes, the intel type is carried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "advisory/advisory_int.h"
#include "stix/stix.h"

static const struct {
	const char *json;
	const char *pattern; /* NULL: refused */
} pattern_cases[] = {
	{"{\"type\": \"ipv4-addr\", \"value\": \"203.0.113.5\"}", "[ipv4-addr:value = '203.0.113.5']"},
	{"{\"type\": \"domain-name\", \"value\": \"evil.example\"}",
	 "[domain-name:value = 'evil.example']"},
	{"{\"type\": \"url\", \"value\": \"http://x/it's\\\\ok\"}", "[url:value = 'http://x/it\\'s\\\\ok']"},
	{"{\"type\": \"file\", \"hashes\": {\"SHA-256\": "
	 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"MD5\": "
	 "\"0123456789abcdef0123456789abcdef\"}}",
	 "[file:hashes.'MD5' = '0123456789abcdef0123456789abcdef' OR file:hashes.'SHA-256' = "
	 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']"},
	{"{\"type\": \"file\", \"hashes\": {\"SHA-256\": \"zz\"}}", NULL},
	{"{\"type\": \"mutex\", \"value\": \"m\"}", NULL},
	{"{\"type\": \"url\"}", NULL},
	{"{\"type\": \"url\", \"value\": \"\"}", NULL},
};

static void
test_patterns(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(pattern_cases); i++) {
		json_t *ind = json_loads(pattern_cases[i].json, 0, NULL);
		assert_non_null(ind);
		char *p = adv_indicator_pattern(ind);
		assert_true((p == NULL) == (pattern_cases[i].pattern == NULL));
		assert_string_equal(p ? p : "(none)",
		                    pattern_cases[i].pattern ? pattern_cases[i].pattern : "(none)");
		/* Every pattern made parses as STIX patterning. */
		struct err e;
		struct stix_pattern *sp = p ? stix_pattern_parse(p, strlen(p), &e) : NULL;
		assert_true((sp != NULL) == (p != NULL));
		stix_pattern_free(sp);
		free(p);
		json_decref(ind);
	}
}

static void
fill(struct advisory_row *a)
{
	memset(a, 0, sizeof(*a));
	a->id = a->root_id = 7;
	a->version = 1;
	a->state = ADVISORY_PUBLISHED;
	a->tlp = AUTH_TLP_GREEN;
	snprintf(a->title, sizeof(a->title), "Exploited VPN");
	snprintf(a->severity, sizeof(a->severity), "critical");
	snprintf(a->intel_type, sizeof(a->intel_type), "EWA");
	snprintf(a->stix_id, sizeof(a->stix_id), "report--3c7e9a52-31c4-4f0e-8f43-5d2a7e8b9c01");
	assert_int_equal(time_parse_rfc3339("2026-03-02T00:00:00Z", &a->created_at), 0);
	a->published_at = a->created_at;
	a->data = json_pack("{s:s,s:s,s:[s,s],s:[{s:s,s:s}]}", "summary", "s", "body", "b", "cves",
	                    "CVE-2024-3400", "CVE-2023-46805", "indicators", "type", "ipv4-addr",
	                    "value", "203.0.113.66");
}

static void
test_bundle_is_valid_and_stable(void **state)
{
	struct advisory_row a;
	fill(&a);
	const char *identity = "identity--09b496d8-d955-4243-8468-046b11bf93de";
	json_t *b1 = adv_stix_bundle(&a, identity, "Test ISAC", a.published_at, a.published_at,
	                             false);
	json_t *objs = json_object_get(b1, "objects");
	/* identity, one indicator, two vulnerabilities, the report (last). */
	assert_int_equal(json_array_size(objs), 5);
	struct stix_failure *f = NULL;
	assert_int_equal(stix_objects_validate(objs, &f), 0);
	free(f);
	json_t *report = json_array_get(objs, 4);
	assert_string_equal(json_string_value(json_object_get(report, "type")), "report");
	assert_int_equal(json_array_size(json_object_get(report, "object_refs")), 4);
	assert_int_equal(stix_intel_type_get(report), STIX_INTEL_EWA);
	assert_int_equal(stix_tlp_of_object(report), STIX_TLP_GREEN);
	assert_string_equal(json_string_value(json_array_get(json_object_get(report, "report_types"),
	                                                     1)),
	                    "vulnerability");
	/* A later version (a correction) keeps every id and moves "modified";
	 * a withdrawal is a revoked version. */
	json_t *b2 = adv_stix_bundle(&a, identity, "Test ISAC", a.published_at,
	                             a.published_at + 3600000, true);
	json_t *objs2 = json_object_get(b2, "objects");
	assert_int_equal(stix_objects_validate(objs2, &f), 0);
	free(f);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(objs, i), "id")),
		                    json_string_value(json_object_get(json_array_get(objs2, i), "id")));
	json_t *r2 = json_array_get(objs2, 4);
	assert_true(json_is_true(json_object_get(r2, "revoked")));
	assert_string_equal(json_string_value(json_object_get(r2, "modified")),
	                    "2026-03-02T01:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(r2, "created")),
	                    "2026-03-02T00:00:00.000Z");
	json_decref(b1);
	json_decref(b2);
	adv_row_clear(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_bundle_is_valid_and_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
