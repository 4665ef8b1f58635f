/*
 * test_ingest_spamtrap.c - spam-trap records: sender, address, trap,
 * subject, and the URLs found in the body (raw or JSON-escaped, trailing
 * punctuation dropped, deduplicated, capped), plus malformed records.
 */
#include "ingest_testutil.h"

static struct ingest_event ev;
static struct ingest_decode_err de;

static int
dec(const char *line)
{
	return ingest_decode(INGEST_FMT_SPAMTRAP, line, strlen(line), NULL, &ev, &de);
}

static void
assert_str(struct ingest_str s, const char *want)
{
	if (!ingest_str_eq(s, want))
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static void
test_records(void **state)
{
	size_t len;
	char *text = tu_read("spamtrap/records.json", &len);
	char *line = strtok(text, "\n");
	assert_int_equal(dec(line), 0);
	assert_int_equal(ev.kind, INGEST_EV_SPAM);
	assert_str(ev.email_from, "promo@spam.example");
	assert_str(ev.email_to, "trap1@operator.example");
	assert_str(ev.email_subject, "You won!");
	assert_str(ev.host_name, "mx1.spam.example");
	assert_str(ev.sensor, "trap-1");
	assert_str(ev.app_proto, "smtp");
	char ip[64];
	ingest_ip_format(&ev.src_ip, ip, sizeof(ip));
	assert_string_equal(ip, "192.0.2.77");
	assert_int_equal(ev.nurls, 3);
	assert_str(ev.urls[0], "https://win.spam.example/claim?id=1");
	assert_str(ev.urls[1], "http://short.example/x");
	assert_str(ev.urls[2], "https://third.example/path");

	line = strtok(NULL, "\n");
	assert_int_equal(dec(line), 0);
	assert_str(ev.email_to, "trap2@operator.example"); /* the first of a list */
	assert_str(ev.email_subject, "\xe4\xbd\xa0\xe5\xa5\xbd");
	assert_int_equal(ev.nurls, 3);
	assert_str(ev.urls[0], "https://escaped.example/a/b");
	assert_str(ev.urls[1], "http://q.example/");
	assert_str(ev.urls[2], "HTTPS://UPPER.EXAMPLE/X");

	line = strtok(NULL, "\n");
	assert_int_equal(dec(line), 0);
	assert_int_equal(ev.nurls, 0);
	assert_int_equal(ev.ts_ms, 0); /* no timestamp: the pipeline stamps it */
	free(text);
}

static void
test_many_urls(void **state)
{
	struct buf b = {0};
	buf_puts(&b, "{\"ip\":\"192.0.2.1\",\"from\":\"a@b\",\"body\":\"");
	for (int i = 0; i < 20; i++)
		buf_printf(&b, "see http://u%d.example/ ", i);
	buf_puts(&b, "http:// https:\\/\\/ x\"}");
	assert_int_equal(ingest_decode(INGEST_FMT_SPAMTRAP, b.data, b.len, NULL, &ev, &de), 0);
	assert_int_equal(ev.nurls, INGEST_MAX_URLS);
	assert_true(ev.flags & INGEST_EVF_URLS_MORE);
	assert_str(ev.urls[7], "http://u7.example/");
	buf_free(&b);
}

static const struct {
	const char *line;
	const char *reason;
} bad[] = {
	{"{\"from\":\"a@b\"}", "no ip"},
	{"{\"ip\":\"192.0.2.1\"}", "no from"},
	{"{\"ip\":\"mail.example\",\"from\":\"a@b\"}", "bad ip"},
	{"{\"ip\":\"192.0.2.1\",\"from\":[\"a@b\"]}", "from is not a string"},
	{"{\"ip\":\"192.0.2.1\",\"from\":\"a@b\",\"to\":[1]}", "to is not a string or a list of strings"},
	{"{\"ip\":\"192.0.2.1\",\"from\":\"a@b\",\"body\":42}", "body is not a string"},
	{"{\"ip\":\"192.0.2.1\",\"from\":\"a@b\",\"timestamp\":\"now\"}", "bad timestamp"},
	{"{\"ip\":\"192.0.2.1\",\"from\":\"a@b\",\"body\":\"\xed\xa0\x80\"}", "invalid UTF-8 in string"},
};

static void
test_malformed(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		int rc = dec(bad[i].line);
		if (rc != -1 || strcmp(de.reason, bad[i].reason) != 0)
			fail_msg("case %zu: rc %d reason \"%s\", want \"%s\"", i, rc,
			         de.reason ? de.reason : "(null)", bad[i].reason);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_many_urls),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
