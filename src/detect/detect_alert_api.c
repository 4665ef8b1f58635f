/*
 * detect_alert_api.c - what analysts do with alerts: list and filter them,
 * read one, acknowledge, close as a false positive, escalate to an incident
 * (a draft for the owning organisation, through the CERT subsystem), close.
 */
#include "detect/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert/cert.h"

#define ALERT_COLS                                                                               \
	"id, rule, severity, sensor_id, org_id, src_ip, dst_ip, dedupe_key, indicator_id,"          \
	" sighting_id, detail, evidence, first_seen, last_seen, count, state, state_reason,"        \
	" incident_id, updated_at"

static json_t *
alert_json(struct store_stmt *s)
{
	char first[32], last[32], upd[32];
	time_format_rfc3339(store_col_int(s, 12), first, sizeof(first));
	time_format_rfc3339(store_col_int(s, 13), last, sizeof(last));
	time_format_rfc3339(store_col_int(s, 18), upd, sizeof(upd));
	json_t *ev = json_loads(store_col_text(s, 11), 0, NULL);
	json_t *j = json_pack(
		"{s:I,s:s,s:i,s:I,s:I,s:{s:s},s:{s:s},s:s,s:s,s:o,s:s,s:s,s:I,s:s,s:s,s:s}", "id",
		(json_int_t)store_col_int(s, 0), "rule", store_col_text(s, 1), "severity",
		(int)store_col_int(s, 2), "sensor_id", (json_int_t)store_col_int(s, 3), "org_id",
		(json_int_t)store_col_int(s, 4), "source", "ip", store_col_text(s, 5), "destination", "ip",
		store_col_text(s, 6), "key", store_col_text(s, 7), "detail", store_col_text(s, 10),
		"evidence", ev ? ev : json_object(), "first_seen", first, "last_seen", last, "count",
		(json_int_t)store_col_int(s, 14), "state", store_col_text(s, 15), "state_reason",
		store_col_text(s, 16), "updated_at", upd);
	json_object_set_new(j, "indicator_id",
	                    store_col_null(s, 8) ? json_null() : json_string(store_col_text(s, 8)));
	json_object_set_new(j, "sighting_id",
	                    store_col_null(s, 9) ? json_null() : json_string(store_col_text(s, 9)));
	json_object_set_new(j, "incident_id",
	                    store_col_null(s, 17) ? json_null() : json_integer(store_col_int(s, 17)));
	return j;
}

static const char *states[] = {"new", "acknowledged", "false_positive", "escalated", "closed"};

static bool
known_state(const char *s)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(states); i++)
		if (strcmp(s, states[i]) == 0)
			return true;
	return false;
}

int
detect_svc_alert_list(struct detect_alerts *a, struct auth_ctx *x, const json_t *query,
                      json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ALERT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	const char *state = json_string_value(json_object_get(query, "state"));
	const char *rule = json_string_value(json_object_get(query, "rule"));
	const char *sev = json_string_value(json_object_get(query, "severity"));
	const char *org = json_string_value(json_object_get(query, "org"));
	const char *since = json_string_value(json_object_get(query, "since"));
	const char *src = json_string_value(json_object_get(query, "source"));
	const char *limit = json_string_value(json_object_get(query, "limit"));
	const char *before = json_string_value(json_object_get(query, "before"));
	int64_t lim = 100, sevmax = 0, orgid = 0, since_ms = 0, before_id = 0;
	if ((limit && parse_int64(limit, 1, 1000, &lim) != 0) ||
	    (sev && parse_int64(sev, 1, 4, &sevmax) != 0) ||
	    (org && parse_int64(org, 1, INT64_MAX, &orgid) != 0) ||
	    (before && parse_int64(before, 1, INT64_MAX, &before_id) != 0) ||
	    (since && time_parse_rfc3339(since, &since_ms) != 0) || (state && !known_state(state))) {
		*out = auth_error("bad_request",
		                  "filters: state (new, acknowledged, false_positive, escalated, closed), "
		                  "rule, severity 1-4, org id, source address, since RFC 3339, "
		                  "limit 1-1000, before (an alert id, for the next page)");
		return 400;
	}
	struct buf sql = {0};
	json_t *binds = json_array();
	buf_puts(&sql, "SELECT " ALERT_COLS " FROM alerts WHERE 1 = 1");
	const struct auth_caller *c = x->caller;
	if (!c->local && !c->node_staff) {
		buf_puts(&sql, " AND org_id = ?");
		json_array_append_new(binds, json_integer(c->org_id));
	}
	if (state) {
		buf_puts(&sql, " AND state = ?");
		json_array_append_new(binds, json_string(state));
	}
	if (rule) {
		buf_puts(&sql, " AND rule = ?");
		json_array_append_new(binds, json_string(rule));
	}
	if (sevmax) {
		buf_puts(&sql, " AND severity <= ?");
		json_array_append_new(binds, json_integer(sevmax));
	}
	if (orgid) {
		buf_puts(&sql, " AND org_id = ?");
		json_array_append_new(binds, json_integer(orgid));
	}
	if (src) {
		buf_puts(&sql, " AND src_ip = ?");
		json_array_append_new(binds, json_string(src));
	}
	if (since_ms) {
		buf_puts(&sql, " AND last_seen >= ?");
		json_array_append_new(binds, json_integer(since_ms));
	}
	if (before_id) {
		buf_puts(&sql, " AND id < ?");
		json_array_append_new(binds, json_integer(before_id));
	}
	buf_puts(&sql, " ORDER BY id DESC LIMIT ?");
	json_array_append_new(binds, json_integer(lim));
	struct store_conn *conn = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(conn, sql.data, &e);
	json_t *list = json_array();
	int64_t last_id = 0;
	if (s) {
		auth_sql_bind(s, 1, binds);
		while (store_step(s, &e) == STORE_ROW) {
			last_id = store_col_int(s, 0);
			json_array_append_new(list, alert_json(s));
		}
		store_finalize(s);
	}
	store_reader_put(x->st, conn);
	buf_free(&sql);
	json_decref(binds);
	*out = json_pack("{s:o}", "alerts", list);
	if ((int64_t)json_array_size(list) == lim)
		json_object_set_new(*out, "next_before", json_integer(last_id));
	return 200;
}

/* Reads one alert and checks the caller may act on it. */
static int
load_alert(struct auth_ctx *x, const char *ref, enum auth_action action, json_t **alert,
           json_t **out)
{
	enum auth_decision d = auth_check(x->caller, action, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	int64_t id = auth_parse_id(ref);
	*alert = NULL;
	if (id > 0) {
		struct store_conn *c = store_reader_get(x->st);
		struct err e;
		struct store_stmt *s = store_prepare(c, "SELECT " ALERT_COLS " FROM alerts WHERE id = ?", &e);
		if (s) {
			store_bind_int(s, 1, id);
			if (store_step(s, &e) == STORE_ROW)
				*alert = alert_json(s);
			store_finalize(s);
		}
		store_reader_put(x->st, c);
	}
	if (*alert == NULL) {
		*out = auth_error("not_found", "no such alert");
		return 404;
	}
	struct auth_object obj = {.org_id = json_integer_value(json_object_get(*alert, "org_id"))};
	d = auth_check(x->caller, action, &obj);
	if (d != AUTH_ALLOW) {
		json_decref(*alert);
		*alert = NULL;
		return auth_refuse(d, out);
	}
	return 0;
}

int
detect_svc_alert_get(struct detect_alerts *a, struct auth_ctx *x, const char *id, json_t **out)
{
	json_t *alert;
	int st = load_alert(x, id, AUTH_ALERT_READ, &alert, out);
	if (st)
		return st;
	*out = alert;
	return 200;
}

struct move_write {
	int64_t id;
	const char *from_states; /* SQL list */
	const char *to;
	const char *reason;
	int64_t incident_id;
	const struct auth_caller *who;
	bool changed;
	struct err e;
};

static int
move_write(struct store_conn *c, void *arg)
{
	struct move_write *m = arg;
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "UPDATE alerts SET state = ?, state_reason = ?, updated_at = ?,"
	         " incident_id = CASE WHEN ? > 0 THEN ? ELSE incident_id END"
	         " WHERE id = ? AND state IN (%s)",
	         m->from_states);
	struct store_stmt *s = store_prepare(c, sql, &m->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, m->to);
	store_bind_text(s, 2, m->reason ? m->reason : "");
	store_bind_int(s, 3, time_now_ms());
	store_bind_int(s, 4, m->incident_id);
	store_bind_int(s, 5, m->incident_id);
	store_bind_int(s, 6, m->id);
	int rc = store_step(s, &m->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	m->changed = store_changes(c) == 1;
	if (!m->changed)
		return 0;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)m->id);
	json_t *d = json_pack("{s:s,s:s}", "state", m->to, "reason", m->reason ? m->reason : "");
	if (m->incident_id)
		json_object_set_new(d, "incident_id", json_integer(m->incident_id));
	rc = auth_audit_append(c, m->who, "alert.move", "alert", id, d, &m->e);
	json_decref(d);
	return rc;
}

/* The incident classification an alert rule suggests (ENISA taxonomy). */
static void
rule_class(const char *rule, const char **cls, const char **type)
{
	static const struct {
		const char *rule, *cls, *type;
	} map[] = {
		{"bruteforce", "intrusion-attempts", "brute-force"},
		{"scan.ports", "information-gathering", "scanner"},
		{"scan.hosts", "information-gathering", "scanner"},
		{"ddos.volume", "availability", "ddos"},
		{"spam.burst", "abusive-content", "spam"},
		{"beacon", "malicious-code", "c2-server"},
		{"indicator", "intrusion-attempts", "ids-alert"},
	};
	*cls = "intrusion-attempts";
	*type = "ids-alert";
	for (size_t i = 0; i < CIIP_ARRAY_LEN(map); i++)
		if (strcmp(rule, map[i].rule) == 0) {
			*cls = map[i].cls;
			*type = map[i].type;
		}
}

int
detect_svc_alert_move(struct detect_alerts *a, struct auth_ctx *x, const char *ref,
                      const char *move, const json_t *in, json_t **out)
{
	static const struct {
		const char *move, *from, *to;
	} moves[] = {
		{"acknowledge", "'new'", "acknowledged"},
		{"false_positive", "'new','acknowledged'", "false_positive"},
		{"escalate", "'new','acknowledged'", "escalated"},
		{"close", "'new','acknowledged','escalated'", "closed"},
	};
	size_t k = CIIP_ARRAY_LEN(moves);
	for (size_t i = 0; i < CIIP_ARRAY_LEN(moves); i++)
		if (strcmp(move, moves[i].move) == 0)
			k = i;
	if (k == CIIP_ARRAY_LEN(moves)) {
		*out = auth_error("bad_request", "moves are acknowledge, false_positive, escalate, close");
		return 400;
	}
	json_t *alert;
	int st = load_alert(x, ref, AUTH_ALERT_WRITE, &alert, out);
	if (st)
		return st;
	const char *reason = json_string_value(json_object_get(in, "reason"));
	struct move_write m = {.id = json_integer_value(json_object_get(alert, "id")),
	                       .from_states = moves[k].from,
	                       .to = moves[k].to,
	                       .reason = reason,
	                       .who = x->caller};
	const char *cur = json_string_value(json_object_get(alert, "state"));
	if (strstr(moves[k].from, cur) == NULL) {
		*out = auth_error("conflict", "an alert in state %s cannot be moved by %s", cur, move);
		json_decref(alert);
		return 409;
	}
	if (strcmp(move, "escalate") == 0) {
		const char *cls, *type;
		rule_class(json_string_value(json_object_get(alert, "rule")), &cls, &type);
		int sev = (int)json_integer_value(json_object_get(alert, "severity"));
		char title[300];
		snprintf(title, sizeof(title), "Escalated alert %lld: %s",
		         (long long)m.id, json_string_value(json_object_get(alert, "detail")));
		char alert_ref[32];
		snprintf(alert_ref, sizeof(alert_ref), "alert-%lld", (long long)m.id);
		json_t *ci = json_pack(
			"{s:s,s:s,s:O,s:O,s:i,s:s,s:s,s:{s:O},s:{s:O},s:[O]}", "alert_id", alert_ref,
			"title", title, "detected_at", json_object_get(alert, "first_seen"), "org_id",
			json_object_get(alert, "org_id"), "level", sev <= 1 ? 3 : sev == 2 ? 2 : 1, "class",
			cls, "type", type, "source", "ip", json_object_get(json_object_get(alert, "source"), "ip"),
			"destination", "ip", json_object_get(json_object_get(alert, "destination"), "ip"),
			"evidence", alert);
		json_t *inc = NULL;
		int cst = cert_svc_incident_from_alert(x, ci, &inc);
		json_decref(ci);
		if (cst < 200 || cst >= 300) {
			json_decref(alert);
			*out = inc;
			return cst;
		}
		json_t *iid = json_object_get(inc, "id");
		if (iid == NULL)
			iid = json_object_get(json_object_get(inc, "incident"), "id");
		m.incident_id = json_integer_value(iid);
		json_decref(inc);
	}
	json_decref(alert);
	if (store_write(x->st, move_write, &m, &m.e) != 0) {
		*out = auth_error("internal", "%s", m.e.msg);
		return 500;
	}
	if (!m.changed) {
		*out = auth_error("conflict", "the alert changed state meanwhile");
		return 409;
	}
	return detect_svc_alert_get(a, x, ref, out);
}

/* ---- HTTP ---- */

static void
ctx_of(struct auth_ctx *x, struct detect_alerts *a, struct http_req *r)
{
	x->st = a->st;
	x->cfg = a->cfg;
	x->caller = auth_caller_of(r);
	x->remote = http_req_remote(r);
}

static void
h_list(struct http_req *r, void *arg)
{
	struct detect_alerts *a = arg;
	struct auth_ctx x;
	ctx_of(&x, a, r);
	json_t *q = auth_http_query(r);
	json_t *out = NULL;
	int st = detect_svc_alert_list(a, &x, q, &out);
	json_decref(q);
	auth_http_reply(r, st, out);
}

static void
h_get(struct http_req *r, void *arg)
{
	struct detect_alerts *a = arg;
	struct auth_ctx x;
	ctx_of(&x, a, r);
	json_t *out = NULL;
	int st = detect_svc_alert_get(a, &x, http_req_param(r, "id"), &out);
	auth_http_reply(r, st, out);
}

static void
h_move(struct http_req *r, void *arg)
{
	struct detect_alerts *a = arg;
	size_t len;
	http_req_body(r, &len);
	json_t *in = len ? http_req_json(r) : json_object();
	if (in == NULL)
		return;
	struct auth_ctx x;
	ctx_of(&x, a, r);
	json_t *out = NULL;
	int st = detect_svc_alert_move(a, &x, http_req_param(r, "id"), http_req_param(r, "move"), in,
	                               &out);
	json_decref(in);
	auth_http_reply(r, st, out);
}

void
detect_alerts_routes(struct detect_alerts *a, struct http_server *srv)
{
	http_route(srv, HTTP_GET, "/api/v1/alerts", h_list, a);
	http_route(srv, HTTP_GET, "/api/v1/alerts/{id}", h_get, a);
	http_route(srv, HTTP_POST, "/api/v1/alerts/{id}/{move}", h_move, a);
}

void
detect_alerts_metrics(struct buf *out, void *arg)
{
	struct detect_alerts *a = arg;
	buf_printf(out,
	           "# HELP ciip_alerts_created_total Alerts created.\n"
	           "# TYPE ciip_alerts_created_total counter\nciip_alerts_created_total %llu\n"
	           "# HELP ciip_alerts_updated_total Detections merged into an open alert.\n"
	           "# TYPE ciip_alerts_updated_total counter\nciip_alerts_updated_total %llu\n"
	           "# HELP ciip_sightings_written_total STIX sightings written for indicator matches.\n"
	           "# TYPE ciip_sightings_written_total counter\nciip_sightings_written_total %llu\n",
	           (unsigned long long)a->created_total, (unsigned long long)a->updated_total,
	           (unsigned long long)a->sightings_total);
	struct store_conn *c = store_reader_get(a->st);
	struct err e;
	struct store_stmt *s =
		store_prepare(c, "SELECT state, COUNT(*) FROM alerts GROUP BY state ORDER BY state", &e);
	buf_puts(out, "# HELP ciip_alerts Alerts by state.\n# TYPE ciip_alerts gauge\n");
	while (s && store_step(s, &e) == STORE_ROW)
		buf_printf(out, "ciip_alerts{state=\"%s\"} %lld\n", store_col_text(s, 0),
		           (long long)store_col_int(s, 1));
	store_finalize(s);
	store_reader_put(a->st, c);
}
