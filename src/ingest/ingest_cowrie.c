/*
 * ingest_cowrie.c - Cowrie honeypot JSON log lines (cowrie.json): logins,
 * commands, downloads and connections into the normalised event.
 *
 * Field names follow Cowrie's docs/OUTPUT.rst. Event ids outside the set
 * below are valid and decode to INGEST_EV_NONE with their common fields.
 */
#include <string.h>

#include "ingest/ingest_int.h"

enum {
	C_EVENTID,
	C_TIMESTAMP,
	C_SRC_IP,
	C_SRC_PORT,
	C_DST_IP,
	C_DST_PORT,
	C_PROTOCOL,
	C_SENSOR,
	C_USERNAME,
	C_INPUT,
	C_URL,
	C_SHASUM,
	C_OUTFILE,
	C_DESTFILE,
	C_FILENAME,
	C_MESSAGE,
	C_COUNT
};

static const char *const cowrie_paths[C_COUNT] = {
	[C_EVENTID] = "eventid",   [C_TIMESTAMP] = "timestamp", [C_SRC_IP] = "src_ip",
	[C_SRC_PORT] = "src_port", [C_DST_IP] = "dst_ip",       [C_DST_PORT] = "dst_port",
	[C_PROTOCOL] = "protocol", [C_SENSOR] = "sensor",       [C_USERNAME] = "username",
	[C_INPUT] = "input",       [C_URL] = "url",             [C_SHASUM] = "shasum",
	[C_OUTFILE] = "outfile",   [C_DESTFILE] = "destfile",   [C_FILENAME] = "filename",
	[C_MESSAGE] = "message",
};

static struct ingest_json_spec cowrie_spec = {.paths = cowrie_paths, .npaths = C_COUNT};
static pthread_once_t cowrie_once = PTHREAD_ONCE_INIT;
static int cowrie_spec_ok;

static void
cowrie_compile(void)
{
	cowrie_spec_ok = ingest_json_spec_compile(&cowrie_spec) == 0;
}

const struct ingest_json_spec *
ingest_cowrie_spec(void)
{
	pthread_once(&cowrie_once, cowrie_compile);
	return cowrie_spec_ok ? &cowrie_spec : NULL;
}

static const struct {
	const char *id;
	enum ingest_kind kind;
} cowrie_ids[] = {
	{"cowrie.login.failed", INGEST_EV_LOGIN_FAILED},
	{"cowrie.login.success", INGEST_EV_LOGIN_SUCCESS},
	{"cowrie.command.input", INGEST_EV_COMMAND},
	{"cowrie.command.failed", INGEST_EV_COMMAND},
	{"cowrie.command.success", INGEST_EV_COMMAND},
	{"cowrie.session.file_download", INGEST_EV_DOWNLOAD},
	{"cowrie.session.file_upload", INGEST_EV_DOWNLOAD},
	{"cowrie.session.connect", INGEST_EV_CONNECT},
};

/* The last path segment of a file path, for file.name. */
static struct ingest_str
basename_of(struct ingest_str s)
{
	for (uint32_t i = s.len; i > 0; i--)
		if (s.p[i - 1] == '/')
			return (struct ingest_str){.p = s.p + i, .len = s.len - i};
	return s;
}

int
ingest_decode_cowrie(struct ingest_ctx *c)
{
	const struct ingest_json_spec *spec = ingest_cowrie_spec();
	struct ingest_jv v[INGEST_JSON_MAX_NODES];
	struct ingest_event *ev = c->ev;
	struct ingest_str id = {0}, destfile = {0}, filename = {0}, outfile = {0};

	if (spec == NULL)
		return ingest_fail(c, NULL, "internal: Cowrie spec does not compile");
	if (ingest_json_scan(spec, c->line, c->len, v, c->de) != 0)
		return -1;
	if (v[C_EVENTID].type != INGEST_J_STR)
		return ingest_fail(c, v[C_EVENTID].p,
		                   v[C_EVENTID].type == INGEST_J_NONE ? "no eventid"
		                                                      : "eventid is not a string");
	if (v[C_TIMESTAMP].type == INGEST_J_NONE)
		return ingest_fail(c, NULL, "no timestamp");
	if (ingest_jv_str(c, &v[C_EVENTID], &id, "eventid is not a string") ||
	    ingest_jv_ts(c, &v[C_TIMESTAMP], &ev->ts_ms, "bad timestamp") ||
	    ingest_jv_ip(c, &v[C_SRC_IP], &ev->src_ip, "bad src_ip") ||
	    ingest_jv_ip(c, &v[C_DST_IP], &ev->dst_ip, "bad dst_ip") ||
	    ingest_jv_port(c, &v[C_SRC_PORT], &ev->src_port, "bad src_port") ||
	    ingest_jv_port(c, &v[C_DST_PORT], &ev->dst_port, "bad dst_port") ||
	    ingest_jv_str(c, &v[C_PROTOCOL], &ev->app_proto, "protocol is not a string") ||
	    ingest_jv_str(c, &v[C_SENSOR], &ev->sensor, "sensor is not a string") ||
	    ingest_jv_str(c, &v[C_USERNAME], &ev->user_name, "username is not a string") ||
	    ingest_jv_str(c, &v[C_INPUT], &ev->command, "input is not a string") ||
	    ingest_jv_str(c, &v[C_URL], &ev->url_full, "url is not a string") ||
	    ingest_jv_str(c, &v[C_SHASUM], &ev->file_sha256, "shasum is not a string") ||
	    ingest_jv_str(c, &v[C_OUTFILE], &outfile, "outfile is not a string") ||
	    ingest_jv_str(c, &v[C_DESTFILE], &destfile, "destfile is not a string") ||
	    ingest_jv_str(c, &v[C_FILENAME], &filename, "filename is not a string") ||
	    ingest_jv_str(c, &v[C_MESSAGE], &ev->message, "message is not a string"))
		return -1;
	/* Cowrie listens on TCP only (SSH, Telnet). */
	if (ev->src_port != 0 || ev->dst_port != 0)
		ev->proto = (struct ingest_str){.p = "tcp", .len = 3};
	if (ev->url_full.len > 0)
		ingest_url_split(ev);
	/* file.name: what the attacker called it, else the stored file. */
	if (destfile.len > 0)
		ev->file_name = basename_of(destfile);
	else if (filename.len > 0)
		ev->file_name = basename_of(filename);
	else if (outfile.len > 0)
		ev->file_name = basename_of(outfile);
	if (ev->file_name.len == 0 && ev->url_path.len > 0)
		ev->file_name = basename_of(ev->url_path);
	ev->kind = INGEST_EV_NONE;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(cowrie_ids); i++) {
		if (ingest_str_eq(id, cowrie_ids[i].id)) {
			ev->kind = cowrie_ids[i].kind;
			break;
		}
	}
	if (ev->kind == INGEST_EV_LOGIN_FAILED || ev->kind == INGEST_EV_LOGIN_SUCCESS)
		ev->action = ev->kind == INGEST_EV_LOGIN_FAILED
		                 ? (struct ingest_str){.p = "failure", .len = 7}
		                 : (struct ingest_str){.p = "success", .len = 7};
	return 0;
}
