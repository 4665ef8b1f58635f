/*
 * test_ingest_generic.c - the generic JSON decoder: mappings from ECS names
 * to paths (nested, through arrays, constants), lenient value types, and
 * the refusals of bad mappings and bad records.
 */
#include "ingest_testutil.h"

static struct ingest_event ev;
static struct ingest_decode_err de;

static void
assert_str(struct ingest_str s, const char *want)
{
	if (!ingest_str_eq(s, want))
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static struct ingest_mapping *
mapping(const char *text)
{
	json_error_t jerr;
	json_t *spec = json_loads(text, 0, &jerr);
	assert_non_null(spec);
	struct err e;
	err_clear(&e);
	struct ingest_mapping *m = ingest_mapping_new(spec, &e);
	json_decref(spec);
	return m;
}

static void
test_decode(void **state)
{
	struct ingest_mapping *m = mapping(
	    "{\"@timestamp\": \"when\", \"source.ip\": \"net.client.addr\","
	    " \"source.port\": \"net.client.port\", \"destination.ip\": \"net.server\","
	    " \"destination.port\": \"net.sport\", \"network.transport\": \"net.proto\","
	    " \"rule.name\": \"hits.0.title\", \"rule.id\": \"hits.0.id\","
	    " \"event.dataset\": {\"const\": \"alert\"}, \"url.full\": \"req.url\","
	    " \"event.severity\": \"sev\", \"user.name\": \"who\", \"message\": \"ok\"}");
	assert_non_null(m);
	const char *line =
	    "{\"when\": 1700000000, \"net\": {\"client\": {\"addr\": \"192.0.2.9\", \"port\": \"4444\"},"
	    " \"server\": \"2001:db8::1\", \"sport\": 443, \"proto\": \"TCP\"},"
	    " \"hits\": [{\"title\": \"Bad \\\"thing\\\"\", \"id\": 77}, {\"title\": \"other\"}],"
	    " \"req\": {\"url\": \"https://x.example:8443/a/b?c=d\"}, \"sev\": 2, \"who\": 12,"
	    " \"ok\": true, \"ignored\": {\"deep\": [1, 2, 3]}}";
	assert_int_equal(ingest_decode(INGEST_FMT_GENERIC, line, strlen(line), m, &ev, &de), 0);
	assert_int_equal(ev.kind, INGEST_EV_ALERT);
	assert_int_equal(ev.ts_ms, 1700000000000LL);
	char ip[64];
	ingest_ip_format(&ev.src_ip, ip, sizeof(ip));
	assert_string_equal(ip, "192.0.2.9");
	assert_int_equal(ev.src_port, 4444);
	ingest_ip_format(&ev.dst_ip, ip, sizeof(ip));
	assert_string_equal(ip, "2001:db8::1");
	assert_int_equal(ev.dst_port, 443);
	assert_str(ev.proto, "tcp");
	assert_str(ev.rule_name, "Bad \"thing\"");
	assert_int_equal(ev.rule_id, 77);
	assert_str(ev.url_full, "https://x.example:8443/a/b?c=d");
	assert_str(ev.url_domain, "x.example");
	assert_str(ev.url_path, "/a/b");
	assert_int_equal(ev.severity, 2);
	assert_str(ev.user_name, "12"); /* a number where text is mapped: its text */
	assert_str(ev.message, "true");

	/* Missing fields stay unset; an RFC 3339 time works too. */
	const char *l2 = "{\"when\": \"2026-01-02T03:04:05Z\"}";
	assert_int_equal(ingest_decode(INGEST_FMT_GENERIC, l2, strlen(l2), m, &ev, &de), 0);
	assert_int_equal(ev.src_ip.family, 0);
	assert_int_equal(ev.kind, INGEST_EV_ALERT);

	static const struct {
		const char *line, *reason;
	} bad[] = {
		{"{\"net\": {\"client\": {\"addr\": \"nope\"}}}", "mapped address does not parse"},
		{"{\"net\": {\"sport\": 70000}}", "mapped port is not 0..65535"},
		{"{\"net\": {\"sport\": \"http\"}}", "mapped port is not 0..65535"},
		{"{\"hits\": [{\"id\": 1.5}]}", "mapped number is not an integer"},
		{"{\"when\": \"yesterday\"}", "mapped timestamp does not parse"},
		{"{\"who\": {\"a\": 1}}", "mapped value is an object or array"},
		{"{\"sev\": true}", "mapped value has the wrong type"},
		{"[]", "not a JSON object"},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		int rc = ingest_decode(INGEST_FMT_GENERIC, bad[i].line, strlen(bad[i].line), m, &ev, &de);
		if (rc != -1 || strcmp(de.reason, bad[i].reason) != 0)
			fail_msg("case %zu: rc %d reason \"%s\"", i, rc, de.reason ? de.reason : "(null)");
	}
	ingest_mapping_free(m);

	/* No mapping: refused, not crashed. */
	assert_int_equal(ingest_decode(INGEST_FMT_GENERIC, "{}", 2, NULL, &ev, &de), -1);
	assert_string_equal(de.reason, "no field mapping for this sensor");
}

static void
test_kind_by_path(void **state)
{
	struct ingest_mapping *m = mapping("{\"event.dataset\": \"type\", \"dns.question.name\": \"q\"}");
	assert_non_null(m);
	const char *l = "{\"type\": \"dns\", \"q\": \"example.com\"}";
	assert_int_equal(ingest_decode(INGEST_FMT_GENERIC, l, strlen(l), m, &ev, &de), 0);
	assert_int_equal(ev.kind, INGEST_EV_DNS);
	assert_str(ev.dns_qname, "example.com");
	l = "{\"type\": \"something else\"}";
	assert_int_equal(ingest_decode(INGEST_FMT_GENERIC, l, strlen(l), m, &ev, &de), 0);
	assert_int_equal(ev.kind, INGEST_EV_LOG);
	ingest_mapping_free(m);
}

static void
test_bad_mappings(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"source.nonsense\": \"a\"}",
		"{\"source.ip\": 5}",
		"{\"source.ip\": \"\"}",
		"{\"source.ip\": \"a..b\"}",
		"{\"source.ip\": \"a\", \"destination.ip\": \"a\"}",
		"{\"source.ip\": {\"const\": 1}}",
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		json_t *spec = json_loads(bad[i], 0, NULL);
		assert_non_null(spec);
		struct err e;
		err_clear(&e);
		assert_null(ingest_mapping_new(spec, &e));
		assert_true(e.msg[0] != '\0');
		json_decref(spec);
	}
	json_t *spec = json_loads("{\"source.nonsense\": \"a\"}", 0, NULL);
	struct err e;
	err_clear(&e);
	assert_null(ingest_mapping_new(spec, &e));
	assert_string_equal(e.key, "source.nonsense");
	json_decref(spec);
	/* Paths listed in any order, a prefix after its extension included. */
	struct ingest_mapping *m = mapping("{\"source.ip\": \"a.b.c\", \"message\": \"a.b\"}");
	assert_non_null(m);
	const char *l = "{\"a\": {\"b\": \"text\"}}";
	assert_int_equal(ingest_decode(INGEST_FMT_GENERIC, l, strlen(l), m, &ev, &de), 0);
	assert_str(ev.message, "text");
	ingest_mapping_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_kind_by_path),
		cmocka_unit_test(test_bad_mappings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
