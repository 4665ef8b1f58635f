/*
 * ingest_eve.c - Suricata EVE JSON: alert, dns (v2 and v3), http, tls,
 * flow, fileinfo and smtp records into the normalised event.
 *
 * This is the hot decoder (one line per flow, per DNS query, per HTTP
 * transaction on a busy link), so it reads the line with the purpose-built
 * scanner: one validating pass that records only the paths below. Other
 * event types (stats, anomaly, drop, netflow, ...) are valid and decode to
 * INGEST_EV_NONE with their common fields.
 */
#include <string.h>

#include "ingest/ingest_int.h"

enum {
	E_TIMESTAMP,
	E_FLOW_ID,
	E_EVENT_TYPE,
	E_SRC_IP,
	E_SRC_PORT,
	E_DEST_IP,
	E_DEST_PORT,
	E_PROTO,
	E_APP_PROTO,
	E_HOST,
	E_ALERT,
	E_ALERT_ACTION,
	E_ALERT_SID,
	E_ALERT_SIG,
	E_ALERT_SEVERITY,
	E_DNS,
	E_DNS_RRNAME,
	E_DNS_RRTYPE,
	E_DNS_Q0_RRNAME,
	E_DNS_Q0_RRTYPE,
	E_DNS_QV2_RRNAME,
	E_DNS_QV2_RRTYPE,
	E_HTTP,
	E_HTTP_HOST,
	E_HTTP_PORT,
	E_HTTP_URL,
	E_HTTP_METHOD,
	E_HTTP_STATUS,
	E_HTTP_UA,
	E_TLS,
	E_TLS_SNI,
	E_TLS_JA3,
	E_FLOW,
	E_FLOW_PTS,
	E_FLOW_PTC,
	E_FLOW_BTS,
	E_FLOW_BTC,
	E_FILEINFO,
	E_FI_NAME,
	E_FI_SHA256,
	E_FI_MD5,
	E_FI_SHA1,
	E_FI_SIZE,
	E_SMTP,
	E_SMTP_FROM,
	E_SMTP_RCPT0,
	E_EMAIL,
	E_EMAIL_FROM,
	E_EMAIL_TO0,
	E_EMAIL_SUBJECT,
	E_EMAIL_URL,
	E_EMAIL_URL0,
	E_COUNT = E_EMAIL_URL0 + INGEST_MAX_URLS
};

static const char *const eve_paths[E_COUNT] = {
	[E_TIMESTAMP] = "timestamp",
	[E_FLOW_ID] = "flow_id",
	[E_EVENT_TYPE] = "event_type",
	[E_SRC_IP] = "src_ip",
	[E_SRC_PORT] = "src_port",
	[E_DEST_IP] = "dest_ip",
	[E_DEST_PORT] = "dest_port",
	[E_PROTO] = "proto",
	[E_APP_PROTO] = "app_proto",
	[E_HOST] = "host",
	[E_ALERT] = "alert",
	[E_ALERT_ACTION] = "alert.action",
	[E_ALERT_SID] = "alert.signature_id",
	[E_ALERT_SIG] = "alert.signature",
	[E_ALERT_SEVERITY] = "alert.severity",
	[E_DNS] = "dns",
	[E_DNS_RRNAME] = "dns.rrname",
	[E_DNS_RRTYPE] = "dns.rrtype",
	[E_DNS_Q0_RRNAME] = "dns.queries.0.rrname",
	[E_DNS_Q0_RRTYPE] = "dns.queries.0.rrtype",
	[E_DNS_QV2_RRNAME] = "dns.query.0.rrname",
	[E_DNS_QV2_RRTYPE] = "dns.query.0.rrtype",
	[E_HTTP] = "http",
	[E_HTTP_HOST] = "http.hostname",
	[E_HTTP_PORT] = "http.http_port",
	[E_HTTP_URL] = "http.url",
	[E_HTTP_METHOD] = "http.http_method",
	[E_HTTP_STATUS] = "http.status",
	[E_HTTP_UA] = "http.http_user_agent",
	[E_TLS] = "tls",
	[E_TLS_SNI] = "tls.sni",
	[E_TLS_JA3] = "tls.ja3.hash",
	[E_FLOW] = "flow",
	[E_FLOW_PTS] = "flow.pkts_toserver",
	[E_FLOW_PTC] = "flow.pkts_toclient",
	[E_FLOW_BTS] = "flow.bytes_toserver",
	[E_FLOW_BTC] = "flow.bytes_toclient",
	[E_FILEINFO] = "fileinfo",
	[E_FI_NAME] = "fileinfo.filename",
	[E_FI_SHA256] = "fileinfo.sha256",
	[E_FI_MD5] = "fileinfo.md5",
	[E_FI_SHA1] = "fileinfo.sha1",
	[E_FI_SIZE] = "fileinfo.size",
	[E_SMTP] = "smtp",
	[E_SMTP_FROM] = "smtp.mail_from",
	[E_SMTP_RCPT0] = "smtp.rcpt_to.0",
	[E_EMAIL] = "email",
	[E_EMAIL_FROM] = "email.from",
	[E_EMAIL_TO0] = "email.to.0",
	[E_EMAIL_SUBJECT] = "email.subject",
	[E_EMAIL_URL] = "email.url",
	[E_EMAIL_URL0 + 0] = "email.url.0",
	[E_EMAIL_URL0 + 1] = "email.url.1",
	[E_EMAIL_URL0 + 2] = "email.url.2",
	[E_EMAIL_URL0 + 3] = "email.url.3",
	[E_EMAIL_URL0 + 4] = "email.url.4",
	[E_EMAIL_URL0 + 5] = "email.url.5",
	[E_EMAIL_URL0 + 6] = "email.url.6",
	[E_EMAIL_URL0 + 7] = "email.url.7",
};
_Static_assert(INGEST_MAX_URLS == 8, "eve_paths lists email.url.0..7");

static struct ingest_json_spec eve_spec = {.paths = eve_paths, .npaths = E_COUNT};
static pthread_once_t eve_once = PTHREAD_ONCE_INIT;
static int eve_spec_ok;

static void
eve_compile(void)
{
	eve_spec_ok = ingest_json_spec_compile(&eve_spec) == 0;
}

const struct ingest_json_spec *
ingest_eve_spec(void)
{
	pthread_once(&eve_once, eve_compile);
	return eve_spec_ok ? &eve_spec : NULL;
}

static enum ingest_kind
eve_kind(const struct ingest_jv *t)
{
	const char *p = t->p;
	switch (t->len) {
	case 3:
		if (memcmp(p, "dns", 3) == 0)
			return INGEST_EV_DNS;
		if (memcmp(p, "tls", 3) == 0)
			return INGEST_EV_TLS;
		break;
	case 4:
		if (memcmp(p, "http", 4) == 0)
			return INGEST_EV_HTTP;
		if (memcmp(p, "flow", 4) == 0)
			return INGEST_EV_FLOW;
		if (memcmp(p, "smtp", 4) == 0)
			return INGEST_EV_SMTP;
		break;
	case 5:
		if (memcmp(p, "alert", 5) == 0)
			return INGEST_EV_ALERT;
		break;
	case 8:
		if (memcmp(p, "fileinfo", 8) == 0)
			return INGEST_EV_FILE;
		break;
	}
	return INGEST_EV_NONE;
}

/* The object each kind must carry. */
static const int kind_object[INGEST_EV_KIND_COUNT] = {
	[INGEST_EV_ALERT] = E_ALERT, [INGEST_EV_DNS] = E_DNS,   [INGEST_EV_HTTP] = E_HTTP,
	[INGEST_EV_TLS] = E_TLS,     [INGEST_EV_FLOW] = E_FLOW, [INGEST_EV_FILE] = E_FILEINFO,
	[INGEST_EV_SMTP] = E_SMTP,
};

/* The address in "Name <a@b>" or "<a@b>", else the whole text. */
static struct ingest_str
mail_address(struct ingest_str s)
{
	const char *lt = s.len > 0 ? memchr(s.p, '<', s.len) : NULL;
	if (lt == NULL)
		return s;
	const char *end = s.p + s.len;
	const char *gt = memchr(lt, '>', (size_t)(end - lt));
	if (gt == NULL)
		return s;
	return (struct ingest_str){.p = lt + 1, .len = (uint32_t)(gt - lt - 1)};
}

static int
eve_http(struct ingest_ctx *c, const struct ingest_jv *v)
{
	struct ingest_event *ev = c->ev;
	struct ingest_str host = {0}, url = {0};
	int64_t port = 0, status = 0;
	if (ingest_jv_str(c, &v[E_HTTP_HOST], &host, "http.hostname is not a string") ||
	    ingest_jv_str(c, &v[E_HTTP_URL], &url, "http.url is not a string") ||
	    ingest_jv_str(c, &v[E_HTTP_METHOD], &ev->http_method, "http.http_method is not a string") ||
	    ingest_jv_str(c, &v[E_HTTP_UA], &ev->user_agent, "http.http_user_agent is not a string") ||
	    ingest_jv_int(c, &v[E_HTTP_STATUS], 0, 999, &status, "bad http.status") ||
	    ingest_jv_int(c, &v[E_HTTP_PORT], 0, 65535, &port, "bad http.http_port"))
		return -1;
	ev->http_status = (int)status;
	ev->url_domain = host;
	if (url.len > 7 && (memcmp(url.p, "http://", 7) == 0 || memcmp(url.p, "https://", 8) == 0)) {
		/* A proxy request carries the absolute URL. */
		ev->url_full = url;
		ingest_url_split(ev);
		return 0;
	}
	const char *q = url.len > 0 ? memchr(url.p, '?', url.len) : NULL;
	ev->url_path = (struct ingest_str){.p = url.p,
	                                   .len = q != NULL ? (uint32_t)(q - url.p) : url.len};
	if (host.len > 0) {
		char pbuf[8];
		size_t plen = 0;
		if (port != 0 && port != 80)
			plen = (size_t)snprintf(pbuf, sizeof(pbuf), ":%d", (int)port);
		ev->url_full = ingest_scratch_cat(ev, "http://", 7, host.p, host.len, pbuf, plen,
		                                  url.p, url.len);
	}
	return 0;
}

static int
eve_email(struct ingest_ctx *c, const struct ingest_jv *v)
{
	struct ingest_event *ev = c->ev;
	struct ingest_str from = {0}, to = {0};
	if (ingest_jv_str(c, &v[E_EMAIL_FROM], &from, "email.from is not a string") ||
	    ingest_jv_str(c, &v[E_EMAIL_TO0], &to, "email.to is not a list of strings") ||
	    ingest_jv_str(c, &v[E_EMAIL_SUBJECT], &ev->email_subject, "email.subject is not a string"))
		return -1;
	if (from.len == 0 &&
	    ingest_jv_str(c, &v[E_SMTP_FROM], &from, "smtp.mail_from is not a string"))
		return -1;
	if (to.len == 0 &&
	    ingest_jv_str(c, &v[E_SMTP_RCPT0], &to, "smtp.rcpt_to is not a list of strings"))
		return -1;
	ev->email_from = mail_address(from);
	ev->email_to = mail_address(to);
	for (int i = 0; i < INGEST_MAX_URLS; i++) {
		struct ingest_str u = {0};
		if (ingest_jv_str(c, &v[E_EMAIL_URL0 + i], &u, "email.url is not a list of strings"))
			return -1;
		if (u.len > 0)
			ev->urls[ev->nurls++] = u;
	}
	return 0;
}

int
ingest_decode_eve(struct ingest_ctx *c)
{
	const struct ingest_json_spec *spec = ingest_eve_spec();
	struct ingest_jv v[INGEST_JSON_MAX_NODES];
	struct ingest_event *ev = c->ev;

	if (spec == NULL)
		return ingest_fail(c, NULL, "internal: EVE spec does not compile");
	if (ingest_json_scan(spec, c->line, c->len, v, c->de) != 0)
		return -1;
	if (v[E_EVENT_TYPE].type != INGEST_J_STR)
		return ingest_fail(c, v[E_EVENT_TYPE].p,
		                   v[E_EVENT_TYPE].type == INGEST_J_NONE ? "no event_type"
		                                                         : "event_type is not a string");
	enum ingest_kind kind = eve_kind(&v[E_EVENT_TYPE]);
	if (v[E_TIMESTAMP].type == INGEST_J_NONE)
		return ingest_fail(c, NULL, "no timestamp");
	int64_t sev = 0;
	if (ingest_jv_ts(c, &v[E_TIMESTAMP], &ev->ts_ms, "bad timestamp") ||
	    ingest_jv_ip(c, &v[E_SRC_IP], &ev->src_ip, "bad src_ip") ||
	    ingest_jv_ip(c, &v[E_DEST_IP], &ev->dst_ip, "bad dest_ip") ||
	    ingest_jv_port(c, &v[E_SRC_PORT], &ev->src_port, "bad src_port") ||
	    ingest_jv_port(c, &v[E_DEST_PORT], &ev->dst_port, "bad dest_port") ||
	    ingest_jv_int(c, &v[E_FLOW_ID], INT64_MIN, INT64_MAX, &ev->flow_id, "bad flow_id") ||
	    ingest_jv_str(c, &v[E_APP_PROTO], &ev->app_proto, "app_proto is not a string") ||
	    ingest_jv_str(c, &v[E_HOST], &ev->sensor, "host is not a string"))
		return -1;
	if (v[E_PROTO].type == INGEST_J_STR && !v[E_PROTO].esc)
		ev->proto = ingest_transport(ev, v[E_PROTO].p, v[E_PROTO].len);
	else if (v[E_PROTO].type == INGEST_J_NUM)
		ev->proto = ingest_transport(ev, v[E_PROTO].p, v[E_PROTO].len);
	else if (v[E_PROTO].type != INGEST_J_NONE)
		return ingest_fail(c, v[E_PROTO].p, "bad proto");

	/* The kind's own object must be there; other objects are optional
	 * context (an alert carries its flow, http, tls or dns metadata). */
	if (kind != INGEST_EV_NONE && v[kind_object[kind]].type != INGEST_J_OBJ)
		return ingest_fail(c, v[kind_object[kind]].p,
		                   "event_type's object is missing or not an object");

	if (v[E_ALERT].type == INGEST_J_OBJ) {
		if (ingest_jv_str(c, &v[E_ALERT_SIG], &ev->rule_name, "alert.signature is not a string") ||
		    ingest_jv_int(c, &v[E_ALERT_SID], 0, INT64_MAX, &ev->rule_id, "bad alert.signature_id") ||
		    ingest_jv_int(c, &v[E_ALERT_SEVERITY], 0, 255, &sev, "bad alert.severity") ||
		    ingest_jv_str(c, &v[E_ALERT_ACTION], &ev->action, "alert.action is not a string"))
			return -1;
		ev->severity = (int)sev;
		ev->message = ev->rule_name;
	}
	if (v[E_DNS].type == INGEST_J_OBJ) {
		/* v2 queries carry rrname at the top of "dns"; v3 in queries[0];
		 * alerts' dns metadata in query[0]. */
		int n = v[E_DNS_RRNAME].type != INGEST_J_NONE    ? E_DNS_RRNAME
		        : v[E_DNS_Q0_RRNAME].type != INGEST_J_NONE ? E_DNS_Q0_RRNAME
		                                                   : E_DNS_QV2_RRNAME;
		if (ingest_jv_str(c, &v[n], &ev->dns_qname, "dns rrname is not a string") ||
		    ingest_jv_str(c, &v[n + 1], &ev->dns_qtype, "dns rrtype is not a string"))
			return -1;
	}
	if (v[E_HTTP].type == INGEST_J_OBJ && eve_http(c, v) != 0)
		return -1;
	if (v[E_TLS].type == INGEST_J_OBJ &&
	    (ingest_jv_str(c, &v[E_TLS_SNI], &ev->tls_sni, "tls.sni is not a string") ||
	     ingest_jv_str(c, &v[E_TLS_JA3], &ev->tls_ja3, "tls.ja3.hash is not a string")))
		return -1;
	if (v[E_FLOW].type == INGEST_J_OBJ &&
	    (ingest_jv_int(c, &v[E_FLOW_PTS], 0, INT64_MAX, &ev->pkts_to_server, "bad flow.pkts_toserver") ||
	     ingest_jv_int(c, &v[E_FLOW_PTC], 0, INT64_MAX, &ev->pkts_to_client, "bad flow.pkts_toclient") ||
	     ingest_jv_int(c, &v[E_FLOW_BTS], 0, INT64_MAX, &ev->bytes_to_server, "bad flow.bytes_toserver") ||
	     ingest_jv_int(c, &v[E_FLOW_BTC], 0, INT64_MAX, &ev->bytes_to_client, "bad flow.bytes_toclient")))
		return -1;
	if (v[E_FILEINFO].type == INGEST_J_OBJ &&
	    (ingest_jv_str(c, &v[E_FI_NAME], &ev->file_name, "fileinfo.filename is not a string") ||
	     ingest_jv_str(c, &v[E_FI_SHA256], &ev->file_sha256, "fileinfo.sha256 is not a string") ||
	     ingest_jv_str(c, &v[E_FI_MD5], &ev->file_md5, "fileinfo.md5 is not a string") ||
	     ingest_jv_str(c, &v[E_FI_SHA1], &ev->file_sha1, "fileinfo.sha1 is not a string") ||
	     ingest_jv_int(c, &v[E_FI_SIZE], 0, INT64_MAX, &ev->file_size, "bad fileinfo.size")))
		return -1;
	/* EVE's filename is the path the file was seen under (a URL path). */
	for (uint32_t i = ev->file_name.len; i > 0; i--) {
		if (ev->file_name.p[i - 1] == '/') {
			ev->file_name.p += i;
			ev->file_name.len -= i;
			break;
		}
	}
	if ((v[E_SMTP].type == INGEST_J_OBJ || v[E_EMAIL].type == INGEST_J_OBJ) && eve_email(c, v) != 0)
		return -1;
	ev->kind = kind;
	return 0;
}
