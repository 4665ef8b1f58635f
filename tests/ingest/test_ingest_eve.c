/*
 * test_ingest_eve.c - the Suricata EVE decoder on real sample lines
 * (crowdsec hub, suricata-verify, telegraf) and generated ones for the
 * record types the samples lack (tls, dns v3, smtp, fileinfo with hashes),
 * the ECS fields it fills, and malformed input of every kind: wrong types,
 * missing fields, truncation at every byte, invalid UTF-8, deep nesting,
 * 10 MB lines. Decoding allocates nothing (checked by counting malloc).
 */
#include "ingest_testutil.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_NO_MALLOC_COUNT 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_NO_MALLOC_COUNT 1
#endif

static struct ingest_event ev;
static struct ingest_decode_err de;

static int
dec(const char *line)
{
	return ingest_decode(INGEST_FMT_EVE, line, strlen(line), NULL, &ev, &de);
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
	int ok, kinds[INGEST_EV_KIND_COUNT];
};

static void
decode_sample(const char *line, size_t len, void *arg)
{
	struct tally *t = arg;
	int rc = ingest_decode(INGEST_FMT_EVE, line, len, NULL, &ev, &de);
	if (rc != 0)
		fail_msg("sample does not decode: %s at %zu: %.*s", de.reason, de.offset, (int)len, line);
	t->ok++;
	t->kinds[ev.kind]++;
	assert_true(ev.ts_ms > 0);
}

static void
test_samples(void **state)
{
	struct tally t = {0};
	tu_lines("eve/suricata-logs-evelog.json", decode_sample, &t);
	tu_lines("eve/suricata-eve-detect.json", decode_sample, &t);
	tu_lines("eve/output-eve-fileinfo.eve.json", decode_sample, &t);
	tu_lines("eve/generated.json", decode_sample, &t);
	assert_int_equal(t.ok, 8 + 4 + 1 + 11);
	assert_int_equal(t.kinds[INGEST_EV_ALERT], 4 + 4 + 2);
	assert_int_equal(t.kinds[INGEST_EV_FLOW], 2 + 1);
	assert_int_equal(t.kinds[INGEST_EV_NONE], 2 + 1);
	assert_int_equal(t.kinds[INGEST_EV_FILE], 1 + 1);
	assert_int_equal(t.kinds[INGEST_EV_DNS], 2);
	assert_int_equal(t.kinds[INGEST_EV_HTTP], 2);
	assert_int_equal(t.kinds[INGEST_EV_TLS], 1);
	assert_int_equal(t.kinds[INGEST_EV_SMTP], 1);

	/* Pretty-printed events (telegraf) are one object over many lines. */
	static const struct {
		const char *file;
		enum ingest_kind kind;
	} pretty[] = {
		{"eve/telegraf-alert.json", INGEST_EV_ALERT}, {"eve/telegraf-dns.json", INGEST_EV_DNS},
		{"eve/telegraf-drop.json", INGEST_EV_NONE},   {"eve/telegraf-flow.json", INGEST_EV_FLOW},
		{"eve/telegraf-http.json", INGEST_EV_HTTP},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(pretty); i++) {
		size_t len;
		char *text = tu_read(pretty[i].file, &len);
		assert_int_equal(ingest_decode(INGEST_FMT_EVE, text, len, NULL, &ev, &de), 0);
		assert_int_equal(ev.kind, pretty[i].kind);
		free(text);
	}
}

/* The n-th line of a sample file (1-based), NUL-terminated, caller frees. */
static char *
sample_line(const char *rel, int n)
{
	size_t len;
	char *text = tu_read(rel, &len);
	char *p = text;
	for (int i = 1; i < n; i++)
		p = strchr(p, '\n') + 1;
	char *nl = strchr(p, '\n');
	char *line = xstrndup(p, nl != NULL ? (size_t)(nl - p) : strlen(p));
	free(text);
	return line;
}

static void
test_alert_fields(void **state)
{
	char *line = sample_line("eve/suricata-eve-detect.json", 1);
	assert_int_equal(dec(line), 0);
	assert_int_equal(ev.kind, INGEST_EV_ALERT);
	int64_t want;
	assert_int_equal(ingest_ts_parse("2022-07-12T06:22:33.415742+0000", 31, &want), 0);
	assert_int_equal(ev.ts_ms, want);
	assert_int_equal(ev.flow_id, 1398609176796675LL);
	assert_ip(&ev.src_ip, "1.2.3.4");
	assert_int_equal(ev.src_port, 33270);
	assert_ip(&ev.dst_ip, "1.2.3.5");
	assert_int_equal(ev.dst_port, 80);
	assert_str(ev.proto, "tcp");
	assert_str(ev.app_proto, "http");
	assert_int_equal(ev.rule_id, 2034125);
	assert_str(ev.rule_name,
	           "ET EXPLOIT Apache HTTP Server 2.4.49 - Path Traversal Attempt (CVE-2021-41773) M2");
	assert_str(ev.message, "ET EXPLOIT Apache HTTP Server 2.4.49 - Path Traversal Attempt (CVE-2021-41773) M2");
	assert_int_equal(ev.severity, 1);
	assert_str(ev.action, "allowed");
	/* The alert's app-layer record and flow counters come along. */
	assert_str(ev.url_domain, "34.245.178.108");
	assert_str(ev.url_path, "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh");
	assert_str(ev.url_full, "http://34.245.178.108/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh");
	assert_str(ev.http_method, "POST");
	assert_int_equal(ev.http_status, 400);
	assert_int_equal(ev.pkts_to_server, 4);
	assert_int_equal(ev.bytes_to_client, 599);
	free(line);
}

static void
test_generated_fields(void **state)
{
	char *l;

	l = sample_line("eve/generated.json", 1); /* tls */
	assert_int_equal(dec(l), 0);
	assert_int_equal(ev.kind, INGEST_EV_TLS);
	assert_str(ev.tls_sni, "evil.example");
	assert_str(ev.tls_ja3, "cd08e31494f9531f560d64c695473da9");
	assert_str(ev.sensor, "sensor-a");
	free(l);

	l = sample_line("eve/generated.json", 2); /* dns v3, IPv6, +01:00 */
	assert_int_equal(dec(l), 0);
	assert_int_equal(ev.kind, INGEST_EV_DNS);
	assert_str(ev.dns_qname, "c2.bad.example");
	assert_str(ev.dns_qtype, "TXT");
	assert_ip(&ev.src_ip, "2001:db8::5");
	assert_int_equal(ev.src_ip.family, 6);
	assert_str(ev.proto, "udp");
	int64_t want;
	assert_int_equal(ingest_ts_parse("2026-03-01T09:00:01.5Z", 22, &want), 0);
	assert_int_equal(ev.ts_ms, want);
	free(l);

	l = sample_line("eve/generated.json", 3); /* dns v2 answer */
	assert_int_equal(dec(l), 0);
	assert_str(ev.dns_qname, "www.example.com");
	assert_str(ev.dns_qtype, "AAAA");
	free(l);

	l = sample_line("eve/generated.json", 4); /* http with escapes and a port */
	assert_int_equal(dec(l), 0);
	assert_int_equal(ev.kind, INGEST_EV_HTTP);
	assert_str(ev.url_full, "http://dl.bad.example:8080/payload.sh?x=1");
	assert_str(ev.url_path, "/payload.sh");
	assert_str(ev.user_agent, "Wget/1.21 \"quoted\" \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80");
	assert_true(ev.user_agent.p >= ev.scratch && ev.user_agent.p < ev.scratch + ev.scratch_used);
	free(l);

	l = sample_line("eve/generated.json", 5); /* fileinfo */
	assert_int_equal(dec(l), 0);
	assert_int_equal(ev.kind, INGEST_EV_FILE);
	assert_str(ev.file_name, "a.exe");
	assert_str(ev.file_md5, "44d88612fea8a8f36de82e1278abb02f");
	assert_str(ev.file_sha1, "3395856ce81f2b7382dee72602f798b642f14140");
	assert_str(ev.file_sha256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");
	assert_int_equal(ev.file_size, 68);
	assert_str(ev.url_full, "http://dl.bad.example/a.exe");
	free(l);

	l = sample_line("eve/generated.json", 6); /* smtp + email */
	assert_int_equal(dec(l), 0);
	assert_int_equal(ev.kind, INGEST_EV_SMTP);
	assert_str(ev.email_from, "notice@spam.example");
	assert_str(ev.email_to, "victim@operator.example");
	assert_str(ev.email_subject, "Your account");
	assert_int_equal(ev.nurls, 2);
	assert_str(ev.urls[0], "http://phish.example/login");
	assert_str(ev.urls[1], "https://cdn.example/x.png");
	free(l);

	l = sample_line("eve/generated.json", 7); /* alert with dns metadata */
	assert_int_equal(dec(l), 0);
	assert_int_equal(ev.kind, INGEST_EV_ALERT);
	assert_str(ev.dns_qname, "x.bad.cloud");
	assert_str(ev.action, "blocked");
	free(l);

	l = sample_line("eve/generated.json", 10); /* ICMP flow */
	assert_int_equal(dec(l), 0);
	assert_int_equal(ev.kind, INGEST_EV_FLOW);
	assert_str(ev.proto, "icmp");
	assert_int_equal(ev.bytes_to_server, 336);
	free(l);

	l = sample_line("eve/generated.json", 11); /* proxy: absolute URL */
	assert_int_equal(dec(l), 0);
	assert_str(ev.url_full, "http://target.example:8000/admin?id=1");
	assert_str(ev.url_domain, "target.example");
	assert_str(ev.url_path, "/admin");
	free(l);

	/* The envelope sender when the headers lack one. */
	assert_int_equal(dec("{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"smtp\","
	                     "\"smtp\":{\"mail_from\":\"<a@b.example>\",\"rcpt_to\":[\"<c@d.example>\"]}}"),
	                 0);
	assert_str(ev.email_from, "a@b.example");
	assert_str(ev.email_to, "c@d.example");
}

static const struct {
	const char *line;
	const char *reason;
} bad[] = {
	{"", "empty line"},
	{"   ", "empty line"},
	{"[1,2]", "not a JSON object"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\"}", "no event_type"},
	{"{\"event_type\":\"flow\",\"flow\":{}}", "no timestamp"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":7}", "event_type is not a string"},
	{"{\"timestamp\":\"yesterday\",\"event_type\":\"dns\",\"dns\":{}}", "bad timestamp"},
	{"{\"timestamp\":1700000000,\"event_type\":\"dns\",\"dns\":{}}", "bad timestamp"},
	{"{\"timestamp\":\"2026-02-30T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{}}", "bad timestamp"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},\"src_ip\":\"1.2.3\"}", "bad src_ip"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},\"src_ip\":\"01.2.3.4\"}", "bad src_ip"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},\"dest_ip\":42}", "bad dest_ip"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},\"src_port\":\"80\"}", "bad src_port"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},\"src_port\":65536}", "bad src_port"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},\"dest_port\":-1}", "bad dest_port"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},\"dest_port\":80.5}", "bad dest_port"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},\"flow_id\":\"1\"}", "bad flow_id"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},\"proto\":[]}", "bad proto"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"alert\",\"alert\":\"x\"}", "event_type's object is missing or not an object"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"flow\"}", "event_type's object is missing or not an object"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"alert\",\"alert\":{\"signature\":5}}", "alert.signature is not a string"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"alert\",\"alert\":{\"signature_id\":true}}", "bad alert.signature_id"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"alert\",\"alert\":{\"severity\":300}}", "bad alert.severity"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"http\",\"http\":{\"status\":\"200\"}}", "bad http.status"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"http\",\"http\":{\"url\":{}}}", "http.url is not a string"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"flow\",\"flow\":{\"bytes_toserver\":-5}}", "bad flow.bytes_toserver"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{\"rrname\":[\"a\"]}}", "dns rrname is not a string"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"smtp\",\"smtp\":{\"rcpt_to\":[1]}}", "smtp.rcpt_to is not a list of strings"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{\"rrname\":\"\xc3\x28\"}}", "invalid UTF-8 in string"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{}", "truncated JSON"},
	{"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{}}}", "data after the JSON object"},
};

static void
test_malformed(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		int rc = dec(bad[i].line);
		if (rc != -1 || de.reason == NULL || strcmp(de.reason, bad[i].reason) != 0)
			fail_msg("case %zu: rc %d reason \"%s\", want \"%s\"", i, rc,
			         de.reason ? de.reason : "(null)", bad[i].reason);
		assert_true(de.offset <= strlen(bad[i].line));
		/* A refused line leaves an empty event behind. */
		assert_int_equal(ev.kind, INGEST_EV_NONE);
		assert_int_equal(ev.src_ip.family, 0);
		assert_int_equal(ev.ts_ms, 0);
	}
	/* The offset points at the offending value. */
	const char *l = "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"dns\",\"dns\":{},"
	                "\"src_port\":\"80\"}";
	assert_int_equal(dec(l), -1);
	assert_int_equal(de.offset, (size_t)(strstr(l, "\"80\"") - l + 1));
}

static void
test_truncated_everywhere(void **state)
{
	/* Every proper prefix of a real line is refused with a reason and an
	 * offset inside the prefix, and never crashes. */
	char *line = sample_line("eve/suricata-logs-evelog.json", 1);
	size_t len = strlen(line);
	for (size_t n = 0; n < len; n++) {
		char *copy = xstrndup(line, n); /* exact size, so ASan sees overreads */
		assert_int_equal(ingest_decode(INGEST_FMT_EVE, copy, n, NULL, &ev, &de), -1);
		assert_non_null(de.reason);
		assert_true(de.offset <= n);
		free(copy);
	}
	assert_int_equal(ingest_decode(INGEST_FMT_EVE, line, len, NULL, &ev, &de), 0);
	free(line);
}

static void
test_huge_and_deep(void **state)
{
	/* 10 MB line: refused at once by the line cap. */
	size_t n = 10 * 1024 * 1024;
	char *big = xmalloc(n);
	memset(big, 'a', n);
	memcpy(big, "{\"x\":\"", 6);
	assert_int_equal(ingest_decode(INGEST_FMT_EVE, big, n, NULL, &ev, &de), -1);
	assert_string_equal(de.reason, "line too long");
	assert_int_equal(de.offset, INGEST_MAX_LINE_BYTES);
	/* Just under the cap: a valid record with a huge field decodes. */
	struct buf b = {0};
	buf_puts(&b, "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"http\",\"http\":{\"url\":\"/");
	size_t room = INGEST_MAX_LINE_BYTES - b.len - 4;
	buf_append(&b, big + 6, room);
	buf_puts(&b, "\"}}");
	assert_int_equal(b.len, INGEST_MAX_LINE_BYTES - 1);
	assert_int_equal(ingest_decode(INGEST_FMT_EVE, b.data, b.len, NULL, &ev, &de), 0);
	assert_int_equal(ev.url_path.len, room + 1);
	buf_free(&b);
	free(big);
	/* Deep nesting inside an otherwise valid record. */
	buf_puts(&b, "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"stats\",\"stats\":");
	for (int i = 0; i < 100; i++)
		buf_puts(&b, "{\"a\":");
	buf_puts(&b, "1");
	for (int i = 0; i < 100; i++)
		buf_puts(&b, "}");
	buf_puts(&b, "}");
	assert_int_equal(ingest_decode(INGEST_FMT_EVE, b.data, b.len, NULL, &ev, &de), -1);
	assert_string_equal(de.reason, "nesting too deep");
	buf_free(&b);
}

static void
test_scratch_full(void **state)
{
	/* Escaped values beyond the scratch are cut on a character boundary
	 * and the event says so; nothing is written past the scratch. */
	struct buf b = {0};
	buf_puts(&b, "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"http\",\"http\":{"
	             "\"hostname\":\"h\",\"http_user_agent\":\"");
	for (int i = 0; i < 3000; i++)
		buf_puts(&b, "\\u00e9");
	buf_puts(&b, "\",\"url\":\"\\/");
	for (int i = 0; i < 3000; i++)
		buf_puts(&b, "x");
	buf_puts(&b, "\"}}");
	assert_int_equal(ingest_decode(INGEST_FMT_EVE, b.data, b.len, NULL, &ev, &de), 0);
	assert_true(ev.flags & INGEST_EVF_TRUNCATED);
	assert_true(ev.scratch_used <= INGEST_SCRATCH_BYTES);
	assert_int_equal(ingest_utf8_check(ev.user_agent.p, ev.user_agent.len), ev.user_agent.len);
	assert_int_equal(ingest_utf8_check(ev.url_path.p, ev.url_path.len), ev.url_path.len);
	assert_int_equal(ev.user_agent.len % 2, 0);
	buf_free(&b);
	/* The next decode starts with an empty scratch and no flag. */
	assert_int_equal(dec("{\"timestamp\":\"2026-01-01T00:00:00Z\",\"event_type\":\"stats\"}"), 0);
	assert_int_equal(ev.flags, 0);
	assert_int_equal(ev.scratch_used, 0);
}

#ifndef TEST_NO_MALLOC_COUNT
/* Count allocations while decoding: glibc's entry points stay reachable
 * under their __libc_ names. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile int counting, allocs;
void *malloc(size_t n);
void *calloc(size_t a, size_t n);
void *realloc(void *p, size_t n);
void *
malloc(size_t n)
{
	if (counting)
		allocs++;
	return __libc_malloc(n);
}
void *
calloc(size_t a, size_t n)
{
	if (counting)
		allocs++;
	return __libc_calloc(a, n);
}
void *
realloc(void *p, size_t n)
{
	if (counting)
		allocs++;
	return __libc_realloc(p, n);
}
#endif

static void
test_allocates_nothing(void **state)
{
#ifdef TEST_NO_MALLOC_COUNT
	skip();
#else
	size_t len;
	char *text = tu_read("eve/generated.json", &len);
	(void)dec("{}"); /* compile the spec first (once per process) */
	counting = 1;
	allocs = 0;
	free(malloc(16)); /* the counter works */
	assert_int_equal(allocs, 1);
	allocs = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		(void)ingest_decode(INGEST_FMT_EVE, p, (size_t)((nl ? nl : end) - p), NULL, &ev, &de);
		p = nl ? nl + 1 : end;
	}
	counting = 0;
	assert_int_equal(allocs, 0);
	free(text);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_alert_fields),
		cmocka_unit_test(test_generated_fields),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_huge_and_deep),
		cmocka_unit_test(test_scratch_full),
		cmocka_unit_test(test_allocates_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
