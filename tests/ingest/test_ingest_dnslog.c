/*
 * test_ingest_dnslog.c - resolver query logs: BIND querylog and security
 * lines (crowdsec hub samples, plain and behind syslog), BIND 9.16+ query
 * lines and Unbound log-queries / log-replies lines (generated after the
 * resolvers' documented formats); malformed lines.
 */
#include "ingest_testutil.h"

static struct ingest_event ev;
static struct ingest_decode_err de;

static int
dec(const char *line)
{
	return ingest_decode(INGEST_FMT_DNSLOG, line, strlen(line), NULL, &ev, &de);
}

static void
assert_str(struct ingest_str s, const char *want)
{
	if (!ingest_str_eq(s, want))
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static void
assert_ip(const struct ingest_ip *ip, const char *want)
{
	char buf[64];
	ingest_ip_format(ip, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
decode_sample(const char *line, size_t len, void *arg)
{
	int *n = arg;
	if (ingest_decode(INGEST_FMT_DNSLOG, line, len, NULL, &ev, &de) != 0)
		fail_msg("does not decode: %s at %zu: %.*s", de.reason, de.offset, (int)len, line);
	assert_int_equal(ev.kind, INGEST_EV_DNS);
	assert_true(ev.src_ip.family != 0);
	assert_true(ev.dns_qname.len > 0);
	(*n)++;
}

static void
test_samples(void **state)
{
	int n = 0;
	tu_lines("dnslog/bind9-logs.log", decode_sample, &n);
	tu_lines("dnslog/bind9-refused.log", decode_sample, &n);
	tu_lines("dnslog/bind9-syslog.log", decode_sample, &n);
	tu_lines("dnslog/bind-querylog.log", decode_sample, &n);
	tu_lines("dnslog/unbound.log", decode_sample, &n);
	assert_int_equal(n, 13 + 23 + 12 + 4 + 5);
}

static void
test_bind(void **state)
{
	assert_int_equal(dec("02-Mar-2026 08:00:00.125 queries: info: client @0x7f1234567890 "
	                     "192.0.2.20#53124 (www.example.com): query: www.example.com IN A +E(0)K "
	                     "(192.0.2.1)"),
	                 0);
	int64_t want;
	assert_int_equal(ingest_ts_parse("2026-03-02T08:00:00.125Z", 24, &want), 0);
	assert_int_equal(ev.ts_ms, want);
	assert_ip(&ev.src_ip, "192.0.2.20");
	assert_int_equal(ev.src_port, 53124);
	assert_ip(&ev.dst_ip, "192.0.2.1");
	assert_str(ev.dns_qname, "www.example.com");
	assert_str(ev.dns_qtype, "A");
	assert_str(ev.proto, "udp");
	assert_int_equal(ev.action.len, 0);

	assert_int_equal(dec("02-Mar-2026 08:00:01.000 client @0x7f12 2001:db8::20#40000 "
	                     "(c2.bad.example): view ext: query: c2.bad.example IN TXT -T (2001:db8::1)"),
	                 0);
	assert_ip(&ev.src_ip, "2001:db8::20");
	assert_str(ev.proto, "tcp");
	assert_str(ev.dns_qtype, "TXT");

	assert_int_equal(dec("Nov 13 10:59:46 keira named[2075772]: 19-Oct-2022 05:34:02.425 client "
	                     "@0x7f65100ee4d8 104.219.136.31#3076 (example.com): query (cache) "
	                     "'example.com/ANY/IN' denied"),
	                 0);
	assert_str(ev.dns_qname, "example.com");
	assert_str(ev.dns_qtype, "ANY");
	assert_str(ev.action, "denied");
	assert_str(ev.host_name, "keira");
	assert_str(ev.app_name, "named");
	assert_int_equal(ingest_ts_parse("2022-10-19T05:34:02.425Z", 24, &want), 0);
	assert_int_equal(ev.ts_ms, want);

	assert_int_equal(dec("client 192.0.2.9#1: zone transfer 'example.org/AXFR/IN' denied"), 0);
	assert_str(ev.dns_qname, "example.org");
	assert_str(ev.dns_qtype, "AXFR");
	assert_int_equal(ev.ts_ms, 0);
}

static void
test_unbound(void **state)
{
	assert_int_equal(dec("[1709366400] unbound[2323:0] info: 192.0.2.10 www.example.com. A IN"), 0);
	assert_int_equal(ev.ts_ms, 1709366400000LL);
	assert_ip(&ev.src_ip, "192.0.2.10");
	assert_str(ev.dns_qname, "www.example.com");
	assert_str(ev.dns_qtype, "A");
	assert_int_equal(dec("[1709366402] unbound[2323:1] info: 192.0.2.11 mail.example.org. MX IN "
	                     "NXDOMAIN 0.000213 0 87"),
	                 0);
	assert_str(ev.action, "NXDOMAIN");
	/* The root stays "." */
	assert_int_equal(dec("[1] unbound[1:0] info: ::1 . NS IN"), 0);
	assert_str(ev.dns_qname, ".");
}

static const struct {
	const char *line;
	const char *reason;
} bad[] = {
	{"", "empty line"},
	{"hello world", "not a BIND or Unbound query log line"},
	{"[1] unbound[1:0] info: start of service (unbound 1.17.1).", "not an Unbound query line"},
	{"[1] unbound[1:0] info: 192.0.2.1 x.", "not an Unbound query line"},
	{"client @0x1", "truncated BIND client"},
	{"client nothere#53 (x): query: x IN A +", "bad BIND client address"},
	{"client 192.0.2.1#53 (x: query: x IN A +", "unclosed ( in BIND line"},
	{"client 192.0.2.1#53 (x) query: x IN A +", "expected ': ' after BIND client"},
	{"client 192.0.2.1#53 (x): query: x", "truncated BIND query line"},
	{"19-Oct-2022 05:34:02.425 client 192.0.2.1#53 (\xff): query: x IN A", "invalid UTF-8"},
	{"<999>client 192.0.2.1#53 (x): query: x IN A +", "bad syslog PRI"},
};

static void
test_malformed(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		int rc = dec(bad[i].line);
		if (rc != -1 || strcmp(de.reason, bad[i].reason) != 0)
			fail_msg("case %zu (%s): rc %d reason \"%s\", want \"%s\"", i, bad[i].line, rc,
			         de.reason ? de.reason : "(null)", bad[i].reason);
		assert_true(de.offset <= strlen(bad[i].line));
	}
	const char *l = "Mar  2 08:00:03 ns1 named[1234]: 02-Mar-2026 08:00:00.125 client @0x7f12 "
	                "192.0.2.22#1111 (example.org): query: example.org IN ANY + (192.0.2.1)";
	for (size_t n = 0; n <= strlen(l); n++) {
		char *copy = xstrndup(l, n);
		int rc = ingest_decode(INGEST_FMT_DNSLOG, copy, n, NULL, &ev, &de);
		assert_true(rc == 0 || de.offset <= n);
		free(copy);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_unbound),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
