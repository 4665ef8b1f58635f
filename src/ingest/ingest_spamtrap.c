/*
 * ingest_spamtrap.c - spam-trap records: one JSON object per caught message,
 *
 *   {"timestamp": "...", "sensor": "trap-1", "ip": "192.0.2.7",
 *    "from": "a@example.net", "to": "trap@example.org",
 *    "subject": "...", "helo": "...", "body": "text ... https://x.example/ ..."}
 *
 * The body is not kept: only the URLs in it are (ev->urls, at most
 * INGEST_MAX_URLS, deduplicated). They are found in the raw JSON text, so a
 * large body costs one pass and no copy; only a URL that itself holds escapes
 * ("https:\/\/x") is unescaped into the scratch.
 */
#include <string.h>

#include "ingest/ingest_int.h"

enum {
	S_TIMESTAMP,
	S_SENSOR,
	S_IP,
	S_FROM,
	S_TO,
	S_TO0,
	S_SUBJECT,
	S_HELO,
	S_BODY,
	S_COUNT
};

static const char *const spam_paths[S_COUNT] = {
	[S_TIMESTAMP] = "timestamp", [S_SENSOR] = "sensor",   [S_IP] = "ip",
	[S_FROM] = "from",           [S_TO] = "to",           [S_TO0] = "to.0",
	[S_SUBJECT] = "subject",     [S_HELO] = "helo",       [S_BODY] = "body",
};

static struct ingest_json_spec spam_spec = {.paths = spam_paths, .npaths = S_COUNT};
static pthread_once_t spam_once = PTHREAD_ONCE_INIT;
static int spam_spec_ok;

static void
spam_compile(void)
{
	spam_spec_ok = ingest_json_spec_compile(&spam_spec) == 0;
}

const struct ingest_json_spec *
ingest_spamtrap_spec(void)
{
	pthread_once(&spam_once, spam_compile);
	return spam_spec_ok ? &spam_spec : NULL;
}

int
ingest_decode_spamtrap(struct ingest_ctx *c)
{
	const struct ingest_json_spec *spec = ingest_spamtrap_spec();
	struct ingest_jv v[INGEST_JSON_MAX_NODES];
	struct ingest_event *ev = c->ev;

	if (spec == NULL)
		return ingest_fail(c, NULL, "internal: spam-trap spec does not compile");
	if (ingest_json_scan(spec, c->line, c->len, v, c->de) != 0)
		return -1;
	if (v[S_IP].type == INGEST_J_NONE)
		return ingest_fail(c, NULL, "no ip");
	if (v[S_FROM].type == INGEST_J_NONE)
		return ingest_fail(c, NULL, "no from");
	const struct ingest_jv *to = v[S_TO].type == INGEST_J_ARR ? &v[S_TO0] : &v[S_TO];
	if (ingest_jv_ts(c, &v[S_TIMESTAMP], &ev->ts_ms, "bad timestamp") ||
	    ingest_jv_str(c, &v[S_SENSOR], &ev->sensor, "sensor is not a string") ||
	    ingest_jv_ip(c, &v[S_IP], &ev->src_ip, "bad ip") ||
	    ingest_jv_str(c, &v[S_FROM], &ev->email_from, "from is not a string") ||
	    ingest_jv_str(c, to, &ev->email_to, "to is not a string or a list of strings") ||
	    ingest_jv_str(c, &v[S_SUBJECT], &ev->email_subject, "subject is not a string") ||
	    ingest_jv_str(c, &v[S_HELO], &ev->host_name, "helo is not a string"))
		return -1;
	if (v[S_BODY].type == INGEST_J_STR)
		ingest_urls_extract(ev, v[S_BODY].p, v[S_BODY].len, v[S_BODY].esc);
	else if (v[S_BODY].type != INGEST_J_NONE && v[S_BODY].type != INGEST_J_NULL)
		return ingest_fail(c, v[S_BODY].p, "body is not a string");
	ev->proto = (struct ingest_str){.p = "tcp", .len = 3};
	ev->app_proto = (struct ingest_str){.p = "smtp", .len = 4};
	ev->kind = INGEST_EV_SPAM;
	return 0;
}
