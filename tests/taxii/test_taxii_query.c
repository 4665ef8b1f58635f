/* test_taxii_query.c - TAXII query parameters, timestamps and cursors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "taxii/taxii_int.h"

static const uint8_t key[TAXII_KEY_BYTES] = "0123456789abcdef0123456789abcdef";

static void
ts_parse_epoch_and_fraction(void **state)
{
	(void)state;
	int64_t us = 0;
	char vkey[TAXII_VKEY_LEN];
	assert_int_equal(taxii_ts_parse("1970-01-01T00:00:01.5Z", &us, vkey), 0);
	assert_int_equal(us, 1500000);
	assert_string_equal(vkey, "1970-01-01T00:00:01.500000000Z");
	assert_int_equal(taxii_ts_parse("2016-05-12T08:17:27Z", &us, vkey), 0);
	assert_int_equal(us, 1463041047000000LL);
	assert_string_equal(vkey, "2016-05-12T08:17:27.000000000Z");
}

static void
ts_parse_cuts_to_nanoseconds_for_the_key(void **state)
{
	(void)state;
	int64_t us = 0;
	char vkey[TAXII_VKEY_LEN];
	assert_int_equal(taxii_ts_parse("2024-02-29T23:59:59.1234567891Z", &us, vkey), 0);
	assert_string_equal(vkey, "2024-02-29T23:59:59.123456789Z");
	assert_int_equal(us % 1000000, 123456);
}

static void
ts_parse_refuses_what_stix_refuses(void **state)
{
	(void)state;
	int64_t us = 7;
	assert_int_equal(taxii_ts_parse("2016-05-12T08:17:27", &us, NULL), -1);
	assert_int_equal(taxii_ts_parse("2016-05-12 08:17:27Z", &us, NULL), -1);
	assert_int_equal(taxii_ts_parse("2016-02-30T08:17:27Z", &us, NULL), -1);
	assert_int_equal(taxii_ts_parse("", &us, NULL), -1);
	assert_int_equal(taxii_ts_parse(NULL, &us, NULL), -1);
	assert_int_equal(us, 7);
}

static void
ts_format_round_trips(void **state)
{
	(void)state;
	char out[TAXII_DATE_LEN];
	int64_t us = 0;
	taxii_ts_format(1463041047123456LL, out);
	assert_string_equal(out, "2016-05-12T08:17:27.123456Z");
	assert_int_equal(taxii_ts_parse(out, &us, NULL), 0);
	assert_int_equal(us, 1463041047123456LL);
}

static void
query_defaults(void **state)
{
	(void)state;
	struct taxii_query q;
	taxii_query_init(&q);
	taxii_query_finish(&q);
	assert_int_equal(q.limit, TAXII_PAGE_DEFAULT);
	assert_int_equal(q.versions, TAXII_V_LAST);
	assert_null(q.ids);
	assert_false(q.spec_excludes);
	taxii_query_free(&q);
}

static void
query_reads_every_parameter(void **state)
{
	(void)state;
	struct taxii_query q;
	struct err e;
	taxii_query_init(&q);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "added_after",
	                                 "2020-01-01T00:00:00.000001Z", &e), 0);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "limit", "5000", &e), 0);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "match[type]", "indicator,malware", &e),
	                 0);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "match[id]",
	                                 "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", &e),
	                 0);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "match[version]",
	                                 "first,2016-05-12T08:17:27Z", &e),
	                 0);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "match[spec_version]", "2.0,2.1", &e),
	                 0);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "unrelated", "x", &e), 0);
	taxii_query_finish(&q);
	assert_int_equal(q.added_after_us, 1577836800000001LL);
	assert_int_equal(q.limit, TAXII_PAGE_MAX);
	assert_int_equal(json_array_size(q.types), 2);
	assert_int_equal(json_array_size(q.ids), 1);
	assert_int_equal(q.versions, TAXII_V_FIRST | TAXII_V_STAMPS);
	assert_string_equal(json_string_value(json_array_get(q.stamps, 0)),
	                    "2016-05-12T08:17:27.000000000Z");
	assert_false(q.spec_excludes);
	taxii_query_free(&q);
}

static void
query_all_covers_every_version(void **state)
{
	(void)state;
	struct taxii_query q;
	struct err e;
	taxii_query_init(&q);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "match[version]", "last,all", &e), 0);
	taxii_query_finish(&q);
	assert_int_equal(q.versions, TAXII_V_ALL);
	taxii_query_free(&q);
}

static void
query_spec_version_without_21_excludes(void **state)
{
	(void)state;
	struct taxii_query q;
	struct err e;
	taxii_query_init(&q);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "match[spec_version]", "2.0", &e), 0);
	taxii_query_finish(&q);
	assert_true(q.spec_excludes);
	taxii_query_free(&q);
}

/* Table of refused parameters: key, value, the parameter named. */
static const struct {
	unsigned allowed;
	const char *key, *value, *named;
} bad[] = {
	{TAXII_P_OBJECTS, "added_after", "yesterday", "added_after"},
	{TAXII_P_OBJECTS, "added_after", "", "added_after"},
	{TAXII_P_OBJECTS, "limit", "0", "limit"},
	{TAXII_P_OBJECTS, "limit", "-3", "limit"},
	{TAXII_P_OBJECTS, "limit", "10abc", "limit"},
	{TAXII_P_OBJECTS, "limit", "99999999999999999999999", "limit"},
	{TAXII_P_OBJECTS, "next", "not a cursor!", "next"},
	{TAXII_P_OBJECTS, "match[type]", "Indicator", "match[type]"},
	{TAXII_P_OBJECTS, "match[type]", "indicator,,malware", "match[type]"},
	{TAXII_P_OBJECTS, "match[id]", "indicator--123", "match[id]"},
	{TAXII_P_OBJECTS, "match[version]", "newest", "match[version]"},
	{TAXII_P_OBJECTS, "match[spec_version]", "two", "match[spec_version]"},
	{TAXII_P_OBJECTS, "match[color]", "red", "match"},
	{TAXII_P_VERSIONS, "match[version]", "all", "match[version]"},
	{TAXII_P_OBJECT, "match[type]", "indicator", "match[type]"},
	{TAXII_P_DELETE, "limit", "10", "limit"},
};

static void
query_refuses_malformed_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct taxii_query q;
		struct err e;
		err_clear(&e);
		taxii_query_init(&q);
		assert_int_equal(taxii_query_add(&q, bad[i].allowed, bad[i].key, bad[i].value, &e), -1);
		assert_string_equal(e.key, bad[i].named);
		assert_non_null(strstr(e.msg, bad[i].named));
		taxii_query_free(&q);
	}
}

static void
query_refuses_repeated_single_parameters(void **state)
{
	(void)state;
	struct taxii_query q;
	struct err e;
	taxii_query_init(&q);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "limit", "10", &e), 0);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "limit", "20", &e), -1);
	assert_string_equal(e.key, "limit");
	taxii_query_free(&q);
}

static void
query_caps_values(void **state)
{
	(void)state;
	struct taxii_query q;
	struct err e;
	taxii_query_init(&q);
	struct buf b = {0};
	for (int i = 0; i <= TAXII_MATCH_MAX_VALUES; i++)
		buf_printf(&b, "%sx-type-%d", i ? "," : "", i);
	assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, "match[type]", b.data, &e), -1);
	buf_free(&b);
	taxii_query_free(&q);
}

static void
query_hash_ignores_order_limit_and_next(void **state)
{
	(void)state;
	struct taxii_query a, b;
	struct err e;
	taxii_query_init(&a);
	taxii_query_init(&b);
	assert_int_equal(taxii_query_add(&a, TAXII_P_OBJECTS, "match[type]", "indicator", &e), 0);
	assert_int_equal(taxii_query_add(&a, TAXII_P_OBJECTS, "added_after", "2020-01-01T00:00:00Z",
	                                 &e), 0);
	assert_int_equal(taxii_query_add(&b, TAXII_P_OBJECTS, "added_after", "2020-01-01T00:00:00Z",
	                                 &e), 0);
	assert_int_equal(taxii_query_add(&b, TAXII_P_OBJECTS, "limit", "7", &e), 0);
	assert_int_equal(taxii_query_add(&b, TAXII_P_OBJECTS, "match[type]", "indicator", &e), 0);
	assert_true(a.filter_hash == b.filter_hash);
	assert_int_equal(taxii_query_add(&b, TAXII_P_OBJECTS, "match[type]", "malware", &e), 0);
	assert_true(a.filter_hash != b.filter_hash);
	taxii_query_free(&a);
	taxii_query_free(&b);
}

static void
cursor_round_trip(void **state)
{
	(void)state;
	struct taxii_cursor c = {.row_id = 123456789, .issued_s = 1000, .filter_hash = 42}, d;
	char text[TAXII_NEXT_MAX + 1];
	struct err e;
	taxii_cursor_encode(key, &c, text, sizeof(text));
	assert_true(strlen(text) > 40);
	assert_true(strlen(text) <= TAXII_NEXT_MAX);
	assert_int_equal(taxii_cursor_decode(key, text, 42, 1000 + 3600, 3600, &d, &e), 0);
	assert_int_equal(d.row_id, 123456789);
	assert_int_equal(d.issued_s, 1000);
}

static void
cursor_expires(void **state)
{
	(void)state;
	struct taxii_cursor c = {.row_id = 5, .issued_s = 1000, .filter_hash = 1}, d;
	char text[TAXII_NEXT_MAX + 1];
	struct err e;
	taxii_cursor_encode(key, &c, text, sizeof(text));
	assert_int_equal(taxii_cursor_decode(key, text, 1, 1000 + 3601, 3600, &d, &e), -1);
	assert_non_null(strstr(e.msg, "expired"));
}

static void
cursor_refuses_other_filters(void **state)
{
	(void)state;
	struct taxii_cursor c = {.row_id = 5, .issued_s = 1000, .filter_hash = 1}, d;
	char text[TAXII_NEXT_MAX + 1];
	struct err e;
	taxii_cursor_encode(key, &c, text, sizeof(text));
	assert_int_equal(taxii_cursor_decode(key, text, 2, 1000, 3600, &d, &e), -1);
	assert_non_null(strstr(e.msg, "another query"));
}

static void
cursor_refuses_forgery(void **state)
{
	(void)state;
	struct taxii_cursor c = {.row_id = 5, .issued_s = 1000, .filter_hash = 1}, d;
	char text[TAXII_NEXT_MAX + 1];
	struct err e;
	taxii_cursor_encode(key, &c, text, sizeof(text));
	/* Any changed character breaks the MAC. */
	text[3] = text[3] == 'A' ? 'B' : 'A';
	assert_int_equal(taxii_cursor_decode(key, text, 1, 1000, 3600, &d, &e), -1);
	assert_non_null(strstr(e.msg, "not a value this server gave"));
	static const uint8_t other[TAXII_KEY_BYTES] = "ffffffffffffffffffffffffffffffff";
	taxii_cursor_encode(other, &c, text, sizeof(text));
	assert_int_equal(taxii_cursor_decode(key, text, 1, 1000, 3600, &d, &e), -1);
	assert_int_equal(taxii_cursor_decode(key, "AAAA", 1, 1000, 3600, &d, &e), -1);
	assert_int_equal(taxii_cursor_decode(key, "", 1, 1000, 3600, &d, &e), -1);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ts_parse_epoch_and_fraction),
		cmocka_unit_test(ts_parse_cuts_to_nanoseconds_for_the_key),
		cmocka_unit_test(ts_parse_refuses_what_stix_refuses),
		cmocka_unit_test(ts_format_round_trips),
		cmocka_unit_test(query_defaults),
		cmocka_unit_test(query_reads_every_parameter),
		cmocka_unit_test(query_all_covers_every_version),
		cmocka_unit_test(query_spec_version_without_21_excludes),
		cmocka_unit_test(query_refuses_malformed_values),
		cmocka_unit_test(query_refuses_repeated_single_parameters),
		cmocka_unit_test(query_caps_values),
		cmocka_unit_test(query_hash_ignores_order_limit_and_next),
		cmocka_unit_test(cursor_round_trip),
		cmocka_unit_test(cursor_expires),
		cmocka_unit_test(cursor_refuses_other_filters),
		cmocka_unit_test(cursor_refuses_forgery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
