/*
 * test_ingest_syslog.c - syslog headers (RFC 5424 with structured data,
 * RFC 3164 with the year inferred, the RFC 3339 file form, none) and the
 * firewall and service bodies picked apart, on the crowdsec hub samples
 * and RFC 5424's own examples; malformed headers and bytes.
 */
#include "ingest_testutil.h"

static struct ingest_event ev;
static struct ingest_decode_err de;

static int
dec(const char *line)
{
	return ingest_decode(INGEST_FMT_SYSLOG, line, strlen(line), NULL, &ev, &de);
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

struct tally {
	int lines, with_src, logins;
};

static void
decode_sample(const char *line, size_t len, void *arg)
{
	struct tally *t = arg;
	if (ingest_decode(INGEST_FMT_SYSLOG, line, len, NULL, &ev, &de) != 0)
		fail_msg("does not decode: %s at %zu: %.*s", de.reason, de.offset, (int)len, line);
	t->lines++;
	t->with_src += ev.src_ip.family != 0;
	t->logins += ev.kind == INGEST_EV_LOGIN_FAILED || ev.kind == INGEST_EV_LOGIN_SUCCESS;
	assert_true(ev.kind == INGEST_EV_LOG || ev.kind == INGEST_EV_LOGIN_FAILED ||
	            ev.kind == INGEST_EV_LOGIN_SUCCESS);
}

static void
test_samples(void **state)
{
	static const struct {
		const char *file;
		int lines, with_src, logins;
	} files[] = {
		{"syslog/cef-logs.log", 4, 4, 0},
		{"syslog/fortinet-vpn-bf.log", 9, 9, 0},
		{"syslog/iptables-logs.log", 4, 4, 0},
		{"syslog/iptables-scan-multi-port.log", 49, 49, 0},
		{"syslog/mikrotik-logs.log", 7, 6, 0}, /* one "login failure" system line */
		{"syslog/palo-alto-threat.log", 2, 0, 0}, /* PAN-OS CSV: text only */
		{"syslog/pf-logs.log", 9, 9, 0},
		{"syslog/pfsense-rfc5424-filterlog.log", 4, 4, 0},
		{"syslog/postfix-sasl-bf.log", 3, 3, 3},
		{"syslog/postfix-spam.log", 6, 4, 4}, /* two RBL rejections: text only */
		{"syslog/rfc5424.log", 4, 1, 0},
		{"syslog/ssh-bf.log", 6, 6, 6},
		{"syslog/sshd-logs.log", 24, 21, 5},
		{"syslog/sshd-success-logs.log", 4, 4, 4},
		{"syslog/syslog-logs.log", 3, 3, 3},
		{"syslog/unifi-cef.log", 3, 3, 0},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(files); i++) {
		struct tally t = {0};
		tu_lines(files[i].file, decode_sample, &t);
		if (t.lines != files[i].lines || t.with_src != files[i].with_src ||
		    t.logins != files[i].logins)
			fail_msg("%s: %d lines, %d with source.ip, %d logins", files[i].file, t.lines,
			         t.with_src, t.logins);
	}
}

static void
test_rfc5424(void **state)
{
	/* RFC 5424 section 6.5, example 3 and 1 (with a BOM). */
	assert_int_equal(dec("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
	                     "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
	                     "An application event log entry..."),
	                 0);
	int64_t want;
	assert_int_equal(ingest_ts_parse("2003-10-11T22:14:15.003Z", 24, &want), 0);
	assert_int_equal(ev.ts_ms, want);
	assert_str(ev.host_name, "mymachine.example.com");
	assert_str(ev.app_name, "evntslog");
	assert_str(ev.message, "An application event log entry...");
	assert_int_equal(ev.severity, 4); /* notice */
	assert_int_equal(dec("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
	                     "\xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8"),
	                 0);
	assert_str(ev.message, "'su root' failed for lonvick on /dev/pts/8");
	assert_int_equal(ev.severity, 1); /* critical */
	/* Escapes inside structured data, several elements, nil fields. */
	assert_int_equal(dec("<86>1 - - - - - [a x=\"\\\"\\]\"][b@1 y=\"\"] body"), 0);
	assert_int_equal(ev.ts_ms, 0);
	assert_int_equal(ev.host_name.len, 0);
	assert_str(ev.message, "body");
	assert_int_equal(dec("<13>1 - - - - - -"), 0);
	assert_int_equal(ev.message.len, 0);
	/* pfSense filterlog over RFC 5424, IPv6. */
	assert_int_equal(dec("<134>1 2025-11-06T11:42:14.270789+00:00 firewall.lan filterlog 92653 - - "
	                     "621,,,1644355515,vtnet0.10,match,block,in,6,0x00,0x07c63,64,TCP,6,44,"
	                     "fdfd:ace:ace:10:d8:cdbf:f6f8:6d69,fdfd:ace:ace:5::6,65382,443,0,S,1927530165,,0,,mss"),
	                 0);
	assert_ip(&ev.src_ip, "fdfd:ace:ace:10:d8:cdbf:f6f8:6d69");
	assert_ip(&ev.dst_ip, "fdfd:ace:ace:5::6");
	assert_int_equal(ev.src_port, 65382);
	assert_int_equal(ev.dst_port, 443);
	assert_str(ev.proto, "tcp");
	assert_str(ev.action, "block");
	assert_int_equal(ev.rule_id, 1644355515);
}

static void
test_rfc3164_year(void **state)
{
	/* A January line read in January is this year's; a December line read
	 * in early January is last year's. */
	int64_t jan;
	assert_int_equal(ingest_ts_parse("2026-01-02T00:00:00Z", 20, &jan), 0);
	time_set_fake_ms(jan);
	assert_int_equal(dec("Jan  1 10:00:00 host prog: x"), 0);
	int64_t want;
	assert_int_equal(ingest_ts_parse("2026-01-01T10:00:00Z", 20, &want), 0);
	assert_int_equal(ev.ts_ms, want);
	assert_int_equal(dec("Dec 31 23:59:59 host prog: x"), 0);
	assert_int_equal(ingest_ts_parse("2025-12-31T23:59:59Z", 20, &want), 0);
	assert_int_equal(ev.ts_ms, want);
	/* "Nov 2" without the padding space. */
	assert_int_equal(dec("Nov 2 15:40:14 h t: m"), 0);
	assert_int_equal(ingest_ts_parse("2025-11-02T15:40:14Z", 20, &want), 0);
	assert_int_equal(ev.ts_ms, want);
	assert_str(ev.host_name, "h");
	assert_str(ev.app_name, "t");
	assert_str(ev.message, "m");
	/* Not a date: no timestamp, the whole text is the message. */
	assert_int_equal(dec("Feb 30 10:00:00 host prog: x"), 0);
	assert_int_equal(ev.ts_ms, 0);
	assert_str(ev.message, "Feb 30 10:00:00 host prog: x");
	time_set_fake_ms(0);
}

static void
test_bodies(void **state)
{
	assert_int_equal(dec("<4>Sep 27 20:56:38 ubuntu-focal kernel: [  203.842973] IPTABLES-DROP: "
	                     "IN=lo OUT= MAC=00:00 SRC=127.0.0.1 DST=127.0.0.53 LEN=76 TOS=0x00 "
	                     "PROTO=UDP SPT=49007 DPT=53 LEN=56 "),
	                 0);
	assert_str(ev.host_name, "ubuntu-focal");
	assert_str(ev.app_name, "kernel");
	assert_str(ev.rule_name, "IPTABLES-DROP");
	assert_str(ev.action, "drop");
	assert_ip(&ev.src_ip, "127.0.0.1");
	assert_ip(&ev.dst_ip, "127.0.0.53");
	assert_int_equal(ev.src_port, 49007);
	assert_int_equal(ev.dst_port, 53);
	assert_str(ev.proto, "udp");
	assert_int_equal(ev.severity, 3); /* warning */

	assert_int_equal(dec("<189>date=2024-10-14 time=13:46:41 devname=\"fw\" type=\"traffic\" "
	                     "srcip=198.51.100.4 srcport=5555 dstip=192.0.2.8 dstport=3389 proto=6 "
	                     "action=\"deny\" policyname=\"block rdp\" user=\"N/A\""),
	                 0);
	assert_ip(&ev.src_ip, "198.51.100.4");
	assert_int_equal(ev.dst_port, 3389);
	assert_str(ev.proto, "tcp");
	assert_str(ev.action, "deny");
	assert_str(ev.rule_name, "block rdp");
	assert_int_equal(ev.user_name.len, 0);

	assert_int_equal(dec("Oct 26 20:01:31 Express-7 CEF:0|Ubiquiti|UniFi Network|10.0.140|201|"
	                     "Threat Detected and Blocked|7|proto=TCP src=198.51.100.10 spt=46621 "
	                     "dpt=80 act=blocked msg=A network intrusion attempt from 198.51.100.10 "
	                     "request=http://x.example/a?b"),
	                 0);
	assert_str(ev.rule_name, "Threat Detected and Blocked");
	assert_int_equal(ev.rule_id, 201);
	assert_int_equal(ev.severity, 2);
	assert_str(ev.action, "blocked");
	assert_str(ev.message, "A network intrusion attempt from 198.51.100.10");
	assert_str(ev.url_full, "http://x.example/a?b");
	assert_str(ev.url_domain, "x.example");
	assert_int_equal(ev.src_port, 46621);

	assert_int_equal(dec("2026-05-31T00:04:27.696749+02:00 gw firewall,info input: in:WAN "
	                     "out:(unknown 0), connection-state:new proto TCP (SYN), "
	                     "[2001:db8:1234::1]:40384->[2001:db8:1234::2]:20461, len 24"),
	                 0);
	assert_ip(&ev.src_ip, "2001:db8:1234::1");
	assert_int_equal(ev.src_port, 40384);
	assert_ip(&ev.dst_ip, "2001:db8:1234::2");
	assert_int_equal(ev.dst_port, 20461);
	assert_str(ev.rule_name, "input");

	assert_int_equal(dec("Feb 12 14:10:21 h sshd[1]: Failed password for invalid user ad min from "
	                     "35.188.49.176 port 53502 ssh2"),
	                 0);
	assert_int_equal(ev.kind, INGEST_EV_LOGIN_FAILED);
	assert_str(ev.user_name, "ad min");
	assert_ip(&ev.src_ip, "35.188.49.176");
	assert_int_equal(ev.src_port, 53502);
	assert_str(ev.app_proto, "ssh");
	assert_int_equal(dec("Feb 12 14:10:21 h sshd[1]: Failed password for root from nowhere"), 0);
	assert_int_equal(ev.kind, INGEST_EV_LOG);

	assert_int_equal(dec("May 11 04:02:33 host1 postfix/smtpd[26897]: warning: unknown[1.2.3.4]: "
	                     "SASL LOGIN authentication failed: authentication failure"),
	                 0);
	assert_int_equal(ev.kind, INGEST_EV_LOGIN_FAILED);
	assert_ip(&ev.src_ip, "1.2.3.4");
	assert_str(ev.app_proto, "smtp");
}

static const struct {
	const char *line;
	const char *reason;
} bad[] = {
	{"", "empty line"},
	{"\r\n", "empty line"},
	{"<192>1 - - - - - -", "bad syslog PRI"},
	{"<abc>x", "bad syslog PRI"},
	{"<>x", "bad syslog PRI"},
	{"<01>x", "bad syslog PRI"},
	{"<13", "bad syslog PRI"},
	{"<13>1 2003-10-11T22:14:15.003Z host app", "truncated RFC 5424 header"},
	{"<13>1 yesterday host app - - - x", "bad RFC 5424 timestamp"},
	{"<13>1 - host app - - [x", "bad RFC 5424 structured data"},
	{"<13>1 - host app - - [x a=b] m", "bad RFC 5424 structured data"},
	{"<13>1 - host app - - [x a=\"b] m", "bad RFC 5424 structured data"},
	{"<13>1 - host app - - [] m", "bad RFC 5424 structured data"},
	{"<13>1 - host app - - [x]m", "bad RFC 5424 structured data"},
	{"<13>1 - host app - - x m", "bad RFC 5424 structured data"},
	{"<13>1 - h aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa - - - m", "RFC 5424 header field too long"},
	{"Jan  1 00:00:00 host prog: \xc3\x28", "invalid UTF-8"},
	{"Jan  1 00:00:00 host prog: \xed\xa0\x80", "invalid UTF-8"},
	{"CEF:0|a|b|c", "truncated CEF header"},
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
	static const char nul[] = "Jan  1 00:00:00 host prog: a\0b";
	assert_int_equal(ingest_decode(INGEST_FMT_SYSLOG, nul, sizeof(nul) - 1, NULL, &ev, &de), -1);
	assert_string_equal(de.reason, "NUL byte in line");
	assert_int_equal(de.offset, sizeof(nul) - 3);
	/* Every prefix of a full RFC 5424 line: decoded or refused, never read
	 * past (exact-size copies for ASan). */
	const char *l = "<86>1 2026-03-04T10:00:00+08:00 fw1 kernel - - [meta sequenceId=\"1\"] "
	                "IN=eth0 OUT= SRC=203.0.113.50 DST=192.0.2.5 PROTO=TCP SPT=43210 DPT=3389";
	for (size_t n = 0; n <= strlen(l); n++) {
		char *copy = xstrndup(l, n);
		int rc = ingest_decode(INGEST_FMT_SYSLOG, copy, n, NULL, &ev, &de);
		assert_true(rc == 0 || de.offset <= n);
		free(copy);
	}
	/* A 10 MB line is refused by the cap. */
	size_t n = 10 * 1024 * 1024;
	char *big = xmalloc(n);
	memset(big, 'x', n);
	assert_int_equal(ingest_decode(INGEST_FMT_SYSLOG, big, n, NULL, &ev, &de), -1);
	assert_string_equal(de.reason, "line too long");
	free(big);
}

/* Inputs found by fuzzing, each a named regression. */
static void
test_fuzz_syslog_proto_cut_utf8(void **state)
{
	/* An unknown protocol name is kept to 32 bytes; the cut fell inside
	 * a two-byte character and left invalid UTF-8 in network.transport. */
	assert_int_equal(dec("x PROTO=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9 SRC=192.0.2.1"), 0);
	assert_int_equal(ev.proto.len, 31);
	assert_int_equal(ingest_utf8_check(ev.proto.p, ev.proto.len), ev.proto.len);
	size_t len;
	char *crash = tu_read("regress/fuzz_syslog_proto_cut_utf8.txt", &len);
	assert_int_equal(ingest_decode(INGEST_FMT_SYSLOG, crash, len, NULL, &ev, &de), 0);
	assert_int_equal(ingest_utf8_check(ev.proto.p, ev.proto.len), ev.proto.len);
	free(crash);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_rfc5424),
		cmocka_unit_test(test_rfc3164_year),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_fuzz_syslog_proto_cut_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
