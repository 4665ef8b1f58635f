/*
 * test_ingest_event.c - the normalised event's helpers: address parsing and
 * formatting, timestamps, names, transport names, URL splitting, the
 * scratch buffer, and the ECS JSON form.
 */
#include "ingest_testutil.h"

static void
test_ip(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
	} good[] = {
		{"192.0.2.1", "192.0.2.1", 4},
		{"0.0.0.0", "0.0.0.0", 4},
		{"255.255.255.255", "255.255.255.255", 4},
		{"2001:db8::1", "2001:db8::1", 6},
		{"2001:DB8:0:0:0:0:0:1", "2001:db8::1", 6},
		{"::", "::", 6},
		{"::1", "::1", 6},
		{"::ffff:192.0.2.7", "192.0.2.7", 4},
		{"fe80::1:2:3:4", "fe80::1:2:3:4", 6},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(good); i++) {
		struct ingest_ip ip;
		char buf[46];
		assert_int_equal(ingest_ip_parse(good[i].in, strlen(good[i].in), &ip), 0);
		assert_int_equal(ip.family, good[i].family);
		ingest_ip_format(&ip, buf, sizeof(buf));
		assert_string_equal(buf, good[i].out);
	}
	/* Both spellings of an IPv4 address are the same 16 bytes. */
	struct ingest_ip a, b;
	assert_int_equal(ingest_ip_parse("192.0.2.7", 9, &a), 0);
	assert_int_equal(ingest_ip_parse("::ffff:192.0.2.7", 16, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	static const char *const bad[] = {
		"", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1..2.3",
		"1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "a.b.c.d", ":", ":::", "2001:db8::1::2",
		"fe80::1%eth0", "2001:db8:0:0:0:0:0:0:1", "12345::", "1.2.3.4/24",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000",
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		struct ingest_ip ip = {.family = 9};
		if (ingest_ip_parse(bad[i], strlen(bad[i]), &ip) != -1)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_int_equal(ip.family, 9); /* unchanged */
	}
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(ingest_ip_parse("10.0.0.1999", 8, &a), 0);
	char buf[46];
	ingest_ip_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.1");
	struct ingest_ip none = {0};
	ingest_ip_format(&none, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void
test_ts(void **state)
{
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"2022-07-10T23:50:05.533101+0000", 1657497005533LL},
		{"2022-07-10T23:50:05.533101+00:00", 1657497005533LL},
		{"2022-07-11T01:50:05.533+0200", 1657497005533LL},
		{"2022-07-10T20:50:05.5-03:00", 1657497005500LL},
		{"2022-07-10 23:50:05", 1657497005000LL},
		{"2024-02-29T00:00:00Z", 1709164800000LL},
		{"2016-12-31T23:59:60Z", 1483228799000LL},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(good); i++) {
		int64_t ms = -1;
		assert_int_equal(ingest_ts_parse(good[i].in, strlen(good[i].in), &ms), 0);
		assert_int_equal(ms, good[i].ms);
	}
	static const char *const bad[] = {
		"", "2022-07-10", "2022-07-10T23:50", "2022-13-10T00:00:00Z", "2023-02-29T00:00:00Z",
		"2022-07-10T24:00:00Z", "2022-07-10T23:60:00Z", "2022-07-10T23:50:05.Z",
		"2022-07-10T23:50:05.1234567890Z", "2022-07-10T23:50:05+25:00", "2022-07-10T23:50:05+0",
		"2022-07-10T23:50:05Zjunk", "1969-12-31T23:59:59Z", "2022-07-10X23:50:05Z",
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		int64_t ms = 7;
		if (ingest_ts_parse(bad[i], strlen(bad[i]), &ms) != -1)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_int_equal(ms, 7);
	}
}

static void
test_names(void **state)
{
	assert_string_equal(ingest_kind_name(INGEST_EV_FLOW), "network_flow");
	assert_string_equal(ingest_kind_name(INGEST_EV_LOGIN_FAILED), "login_failure");
	assert_string_equal(ingest_kind_name((enum ingest_kind)99), "none");
	for (int k = 0; k < INGEST_EV_KIND_COUNT; k++)
		assert_non_null(ingest_kind_name((enum ingest_kind)k));
	assert_int_equal(ingest_format_of_kind("suricata"), INGEST_FMT_EVE);
	assert_int_equal(ingest_format_of_kind("cowrie"), INGEST_FMT_COWRIE);
	assert_int_equal(ingest_format_of_kind("dns"), INGEST_FMT_DNSLOG);
	assert_int_equal(ingest_format_of_kind("syslog"), INGEST_FMT_SYSLOG);
	assert_int_equal(ingest_format_of_kind("spamtrap"), INGEST_FMT_SPAMTRAP);
	assert_int_equal(ingest_format_of_kind("generic"), INGEST_FMT_GENERIC);
	assert_int_equal(ingest_format_of_kind("nope"), 0);
	assert_int_equal(ingest_format_of_kind(NULL), 0);
	assert_string_equal(ingest_format_name(INGEST_FMT_SYSLOG), "syslog");
	assert_string_equal(ingest_format_name((enum ingest_format)0), "?");
	struct ingest_event ev;
	struct ingest_decode_err de;
	assert_int_equal(ingest_decode((enum ingest_format)42, "{}", 2, NULL, &ev, &de), -1);
	assert_string_equal(de.reason, "unknown format");
	assert_int_equal(ingest_decode(INGEST_FMT_EVE, NULL, 0, NULL, &ev, &de), -1);
}

static void
test_transport_and_url(void **state)
{
	static struct ingest_event ev;
	ingest_event_reset(&ev);
	assert_true(ingest_str_eq(ingest_transport(&ev, "TCP", 3), "tcp"));
	assert_true(ingest_str_eq(ingest_transport(&ev, "17", 2), "udp"));
	assert_true(ingest_str_eq(ingest_transport(&ev, "IPv6-ICMP", 9), "ipv6-icmp"));
	assert_true(ingest_str_eq(ingest_transport(&ev, "QUIC-X", 6), "quic-x"));
	assert_int_equal(ev.scratch_used, 6);

	static const struct {
		const char *url, *domain, *path;
	} urls[] = {
		{"http://a.example/x/y?z#f", "a.example", "/x/y"},
		{"https://user:pw@b.example:8443/", "b.example", "/"},
		{"http://[2001:db8::1]:80/p", "[2001:db8::1]", "/p"},
		{"http://c.example", "c.example", ""},
		{"http://d.example?q", "d.example", ""},
		{"no scheme", "", ""},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(urls); i++) {
		ingest_event_reset(&ev);
		ev.url_full = (struct ingest_str){.p = urls[i].url, .len = (uint32_t)strlen(urls[i].url)};
		ingest_url_split(&ev);
		assert_true(ingest_str_eq(ev.url_domain, urls[i].domain));
		assert_true(ingest_str_eq(ev.url_path, urls[i].path));
	}
}

static void
test_scratch(void **state)
{
	static struct ingest_event ev;
	ingest_event_reset(&ev);
	char big[INGEST_SCRATCH_BYTES];
	memset(big, 'a', sizeof(big));
	struct ingest_str s = ingest_scratch_put(&ev, big, sizeof(big) - 1);
	assert_int_equal(s.len, sizeof(big) - 1);
	assert_int_equal(ev.flags, 0);
	/* One byte left: a two-byte character does not fit and is not split. */
	s = ingest_scratch_cat(&ev, "\xc3\xa9", 2, NULL, 0, NULL, 0, NULL, 0);
	assert_int_equal(s.len, 0);
	assert_true(ev.flags & INGEST_EVF_TRUNCATED);
	s = ingest_scratch_put(&ev, "b", 1);
	assert_int_equal(s.len, 1);
	assert_int_equal(ev.scratch_used, INGEST_SCRATCH_BYTES);
	s = ingest_scratch_put(&ev, "c", 1);
	assert_int_equal(s.len, 0);
	ingest_event_reset(&ev);
	assert_int_equal(ev.scratch_used, 0);
	assert_int_equal(ev.flags, 0);
}

static void
test_to_json(void **state)
{
	static struct ingest_event ev;
	struct ingest_decode_err de;
	const char *line =
	    "{\"timestamp\":\"2026-03-01T10:00:03.000000+0000\",\"flow_id\":9,\"event_type\":\"alert\","
	    "\"src_ip\":\"10.0.0.5\",\"src_port\":50001,\"dest_ip\":\"2001:db8::7\",\"dest_port\":80,"
	    "\"proto\":\"TCP\",\"alert\":{\"action\":\"allowed\",\"signature_id\":5,\"signature\":\"S\","
	    "\"severity\":2},\"http\":{\"hostname\":\"h.example\",\"url\":\"/p\",\"status\":404}}";
	assert_int_equal(ingest_decode(INGEST_FMT_EVE, line, strlen(line), NULL, &ev, &de), 0);
	ev.sensor_id = 3;
	memcpy(ev.src_country, "TW", 3);
	ev.src_asn = 3462;
	json_t *j = ingest_event_to_json(&ev);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
	    text,
	    "{\"@timestamp\":\"2026-03-01T10:00:03.000Z\",\"destination\":{\"ip\":\"2001:db8::7\","
	    "\"port\":80},\"event\":{\"action\":\"allowed\",\"dataset\":\"alert\",\"kind\":\"alert\","
	    "\"severity\":2},\"flow\":{\"id\":9},\"http\":{\"response\":{\"status_code\":404}},"
	    "\"message\":\"S\",\"network\":{\"transport\":\"tcp\"},\"observer\":{\"id\":3},"
	    "\"rule\":{\"id\":5,\"name\":\"S\"},\"source\":{\"as\":{\"number\":3462},\"geo\":"
	    "{\"country_iso_code\":\"TW\"},\"ip\":\"10.0.0.5\",\"port\":50001},\"url\":{\"domain\":"
	    "\"h.example\",\"full\":\"http://h.example/p\",\"path\":\"/p\"}}");
	free(text);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_ts),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_transport_and_url),
		cmocka_unit_test(test_scratch),
		cmocka_unit_test(test_to_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
