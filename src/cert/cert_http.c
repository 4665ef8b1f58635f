/*
 * cert_http.c - the subsystem object, its HTTP routes (thin wrappers over
 * the services), the /metrics collector, and the test-only clock.
 *
 * The test clock: when the environment variable CIIP_TEST_CLOCK is "1" at
 * start, POST /api/v1/test/clock {"now": "RFC 3339" | null} (node admins
 * only) replaces the wall clock of the whole daemon, so that deadline tests
 * need not wait hours. It must never be set on a real node; the daemon logs
 * a warning at start when it is.
 */
#include "cert/cert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the subsystem ---- */

static void
rules_fingerprint(const struct cert_rules *r, char *buf, size_t len)
{
	size_t off = 0;
	for (int d = 0; d < CERT_DL_COUNT && off < len; d++)
		for (int l = 0; l < CERT_LEVELS && off < len; l++)
			off += (size_t)snprintf(buf + off, len - off, "%s%lld", d || l ? "," : "",
			                        (long long)r->amount[d][l]);
}

struct recompute_job {
	const struct cert_rules *rules;
	int64_t after;
	int64_t done;
	const char *fingerprint; /* set on the last batch */
	struct err e;
};

/* Recomputes next_due_at for one batch of incidents (by id). */
static int
recompute_write(struct store_conn *c, void *arg)
{
	struct recompute_job *j = arg;
	char sql[1024];
	snprintf(sql, sizeof(sql),
	         "SELECT %s FROM cert_incidents i JOIN orgs o ON o.id = i.org_id WHERE i.id > ?"
	         " ORDER BY i.id LIMIT 5000",
	         CERT_INCIDENT_COLS);
	struct store_stmt *s = store_prepare(c, sql, &j->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, j->after);
	struct cert_incident *rows = xcalloc(5000, sizeof(*rows));
	int n = 0;
	while (n < 5000 && store_step(s, &j->e) == STORE_ROW)
		cert_incident_load(s, &rows[n++]);
	store_finalize(s);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		rc = cert_incident_store_due(c, j->rules, &rows[i], &j->e);
	j->done = n;
	if (n > 0)
		j->after = rows[n - 1].id;
	free(rows);
	if (rc == 0 && n == 0) {
		s = store_prepare(c,
		                  "INSERT INTO cert_meta(key, value) VALUES ('rules', ?)"
		                  " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		                  &j->e);
		if (s == NULL)
			return -1;
		store_bind_text(s, 1, j->fingerprint);
		rc = store_step(s, &j->e) == STORE_DONE ? 0 : -1;
		store_finalize(s);
	}
	return rc;
}

/* When the deadline rules differ from the ones the stored due times were
 * computed with, recomputes them all, in batches that each commit. */
static int
refresh_due(struct cert *c, struct err *e)
{
	char fp[512];
	rules_fingerprint(&c->rules, fp, sizeof(fp));
	struct store_conn *conn = store_reader_get(c->st);
	struct store_stmt *s = store_prepare(conn, "SELECT value FROM cert_meta WHERE key = 'rules'", e);
	bool same = false;
	if (s) {
		same = store_step(s, e) == STORE_ROW && strcmp(store_col_text(s, 0), fp) == 0;
		store_finalize(s);
	}
	store_reader_put(c->st, conn);
	if (same)
		return 0;
	struct recompute_job j = {.rules = &c->rules, .fingerprint = fp};
	int64_t total = 0;
	do {
		if (store_write(c->st, recompute_write, &j, &j.e) != 0) {
			err_set(e, "cannot recompute deadlines: %s", j.e.msg);
			return -1;
		}
		total += j.done;
	} while (j.done > 0);
	if (total > 0)
		log_info("cert", "deadline rules changed: recomputed the due times of %lld reports",
		         (long long)total);
	return 0;
}

struct cert *
cert_new(struct store *st, const struct config *cfg, struct auth *auth, struct err *e)
{
	struct cert_rules r;
	if (cert_rules_from_config(cfg, &r, e) != 0)
		return NULL;
	struct cert *c = xcalloc(1, sizeof(*c));
	c->st = st;
	c->cfg = cfg;
	c->auth = auth;
	c->rules = r;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_mutex_init(&c->metrics_mu, NULL);
	if (refresh_due(c, e) != 0 || cert_delivery_start(c, e) != 0) {
		cert_free(c);
		return NULL;
	}
	return c;
}

void
cert_free(struct cert *c)
{
	if (c == NULL)
		return;
	cert_delivery_stop(c);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->metrics_mu);
	buf_free(&c->metrics);
	free(c);
}

/* ---- handlers ---- */

static void
ctx_of(struct auth_ctx *x, struct cert *c, struct http_req *r)
{
	auth_ctx_of(x, c->auth, r);
}

#define SIMPLE(name, call) AUTH_HANDLER(name, ctx_of, call)
#define WITH_QUERY(name, call) AUTH_HANDLER_QUERY(name, ctx_of, call)
#define WITH_BODY(name, call) AUTH_HANDLER_BODY(name, ctx_of, call)

WITH_BODY(h_create, cert_svc_incident_create(&x, in, &out))
SIMPLE(h_get, cert_svc_incident_get(&x, http_req_param(r, "id"), &out))
WITH_BODY(h_update, cert_svc_incident_update(&x, http_req_param(r, "id"), in, &out))
SIMPLE(h_delete, cert_svc_incident_delete(&x, http_req_param(r, "id"), &out))
SIMPLE(h_timeline, cert_svc_incident_timeline(&x, http_req_param(r, "id"), &out))
SIMPLE(h_stix, cert_svc_incident_stix(&x, http_req_param(r, "id"), &out))
SIMPLE(h_rules, cert_svc_rules(&x, &out))
WITH_BODY(h_from_alert, cert_svc_incident_from_alert(&x, in, &out))
WITH_QUERY(h_notifications, cert_svc_notification_list(&x, q, &out))
SIMPLE(h_ack, cert_svc_notification_ack(&x, http_req_param(r, "id"), &out))
WITH_QUERY(h_outbox, cert_svc_outbox_list(&x, q, &out))
SIMPLE(h_outbox_sent, cert_svc_outbox_sent(&x, http_req_param(r, "id"), &out))

/* A move may come with or without a body. */
AUTH_HANDLER_OPT_BODY(h_move, ctx_of,
                      cert_svc_incident_move(&x, http_req_param(r, "id"), http_req_param(r, "move"), in,
                                                  &out))

/* The list, as JSON or (format=csv) as a CSV download. */
static void
h_list(struct http_req *r, void *arg)
{
	struct auth_ctx x;
	ctx_of(&x, arg, r);
	json_t *q = auth_http_query(r);
	json_t *out = NULL;
	const char *fmt = json_string_value(json_object_get(q, "format"));
	if (fmt && strcmp(fmt, "csv") == 0) {
		struct buf csv = {0};
		int status = cert_svc_incident_csv(&x, q, &csv, &out);
		json_decref(q);
		if (status != 200) {
			buf_free(&csv);
			auth_http_reply(r, status, out);
			return;
		}
		http_resp_header(r, "Content-Disposition", "attachment; filename=\"incidents.csv\"");
		http_respond(r, 200, "text/csv; charset=utf-8", csv.data ? csv.data : "", csv.len);
		buf_free(&csv);
		return;
	}
	int status = cert_svc_incident_list(&x, q, &out);
	json_decref(q);
	auth_http_reply(r, status, out);
}

static void
h_test_clock(struct http_req *r, void *arg)
{
	(void)arg;
	json_t *in = http_req_json(r);
	if (in == NULL)
		return;
	json_t *out = NULL;
	int status = 200;
	enum auth_decision d = auth_check(auth_caller_of(r), AUTH_NODE_ADMIN, NULL);
	json_t *now = json_object_get(in, "now");
	int64_t ms = 0;
	if (d != AUTH_ALLOW) {
		status = auth_refuse(d, &out);
	} else if (now == NULL || (!json_is_null(now) &&
	                           (!json_is_string(now) ||
	                            time_parse_rfc3339(json_string_value(now), &ms) != 0 || ms <= 0))) {
		out = auth_error("bad_request", "now must be an RFC 3339 time, or null for the real "
		                                "clock");
		status = 400;
	} else {
		time_set_fake_ms(ms);
		log_warnx("cert", "test clock %s", ms ? json_string_value(now) : "off: real time");
		out = json_pack("{s:o,s:b}", "now", auth_time_json(time_now_ms()), "fake", ms != 0);
	}
	json_decref(in);
	auth_http_reply(r, status, out);
}

void
cert_routes(struct cert *c, struct http_server *srv)
{
	/* Fixed paths before the {id} routes: the first match wins. */
	http_route(srv, HTTP_GET, "/api/v1/incidents", h_list, c);
	http_route(srv, HTTP_POST, "/api/v1/incidents", h_create, c);
	http_route(srv, HTTP_GET, "/api/v1/incidents/rules", h_rules, c);
	http_route(srv, HTTP_POST, "/api/v1/incidents/from-alert", h_from_alert, c);
	http_route(srv, HTTP_GET, "/api/v1/incidents/outbox", h_outbox, c);
	http_route(srv, HTTP_POST, "/api/v1/incidents/outbox/{id}/sent", h_outbox_sent, c);
	http_route(srv, HTTP_GET, "/api/v1/incidents/{id}", h_get, c);
	http_route(srv, HTTP_PATCH, "/api/v1/incidents/{id}", h_update, c);
	http_route(srv, HTTP_DELETE, "/api/v1/incidents/{id}", h_delete, c);
	http_route(srv, HTTP_GET, "/api/v1/incidents/{id}/timeline", h_timeline, c);
	http_route(srv, HTTP_GET, "/api/v1/incidents/{id}/stix", h_stix, c);
	http_route(srv, HTTP_POST, "/api/v1/incidents/{id}/{move}", h_move, c);
	http_route(srv, HTTP_GET, "/api/v1/notifications", h_notifications, c);
	http_route(srv, HTTP_POST, "/api/v1/notifications/{id}/ack", h_ack, c);
	const char *tc = getenv("CIIP_TEST_CLOCK");
	if (tc && strcmp(tc, "1") == 0) {
		log_warnx("cert", "CIIP_TEST_CLOCK=1: POST /api/v1/test/clock can change this node's "
		                  "clock; for tests only");
		http_route(srv, HTTP_POST, "/api/v1/test/clock", h_test_clock, c);
	}
}

/* ---- metrics ---- */

static void
metrics_collect(struct cert *c, struct buf *out)
{
	struct store_conn *conn = store_reader_get(c->st);
	struct err e;
	int64_t by_state[CERT_STATE_COUNT] = {0};
	struct store_stmt *s =
		store_prepare(conn, "SELECT state, COUNT(*) FROM cert_incidents GROUP BY state", &e);
	if (s) {
		while (store_step(s, &e) == STORE_ROW) {
			int st = cert_state_parse(store_col_text(s, 0));
			if (st >= 0)
				by_state[st] = store_col_int(s, 1);
		}
		store_finalize(s);
	}
	int64_t now = time_now_ms();
	int64_t overdue[CERT_DL_COUNT] = {0}, incidents_overdue = 0;
	char sql[1024];
	snprintf(sql, sizeof(sql),
	         "SELECT %s FROM cert_incidents i JOIN orgs o ON o.id = i.org_id"
	         " WHERE i.next_due_at < ?",
	         CERT_INCIDENT_COLS);
	s = store_prepare(conn, sql, &e);
	if (s) {
		store_bind_int(s, 1, now);
		while (store_step(s, &e) == STORE_ROW) {
			struct cert_incident inc;
			struct cert_times t;
			struct cert_deadline_eval ev[CERT_DL_COUNT];
			cert_incident_load(s, &inc);
			cert_incident_times(&inc, &t);
			cert_deadlines_eval(&c->rules, &t, ev);
			incidents_overdue++;
			for (int d = 0; d < CERT_DL_COUNT; d++)
				if (strcmp(cert_deadline_status(&ev[d], now), "overdue") == 0)
					overdue[d]++;
		}
		store_finalize(s);
	}
	int64_t unacked = 0, undelivered = 0, outbox = 0;
	(void)store_query_int(conn, "SELECT COUNT(*) FROM cert_notifications WHERE acked_at IS NULL",
	                      &unacked, &e, NULL);
	(void)store_query_int(conn,
	                      "SELECT COUNT(*) FROM cert_notifications WHERE delivered_at IS NULL",
	                      &undelivered, &e, NULL);
	(void)store_query_int(conn, "SELECT COUNT(*) FROM cert_stix_outbox WHERE sent_at IS NULL",
	                      &outbox, &e, NULL);
	store_reader_put(c->st, conn);

	buf_puts(out, "# HELP ciip_cert_incidents Incident reports by state.\n"
	              "# TYPE ciip_cert_incidents gauge\n");
	for (int st = 0; st < CERT_STATE_COUNT; st++)
		buf_printf(out, "ciip_cert_incidents{state=\"%s\"} %lld\n",
		           cert_state_name((enum cert_state)st), (long long)by_state[st]);
	buf_puts(out, "# HELP ciip_cert_incidents_overdue Incident reports with a deadline past due "
	              "and not met.\n# TYPE ciip_cert_incidents_overdue gauge\n");
	buf_printf(out, "ciip_cert_incidents_overdue %lld\n", (long long)incidents_overdue);
	buf_puts(out, "# HELP ciip_cert_deadlines_overdue Deadlines past due and not met, by "
	              "deadline.\n# TYPE ciip_cert_deadlines_overdue gauge\n");
	for (int d = 0; d < CERT_DL_COUNT; d++)
		buf_printf(out, "ciip_cert_deadlines_overdue{deadline=\"%s\"} %lld\n",
		           cert_deadline_name((enum cert_deadline)d), (long long)overdue[d]);
	buf_printf(out,
	           "# HELP ciip_cert_notifications_unacked Notifications no organisation has "
	           "acknowledged yet.\n# TYPE ciip_cert_notifications_unacked gauge\n"
	           "ciip_cert_notifications_unacked %lld\n"
	           "# HELP ciip_cert_notifications_undelivered Notifications not yet delivered by "
	           "webhook or e-mail.\n# TYPE ciip_cert_notifications_undelivered gauge\n"
	           "ciip_cert_notifications_undelivered %lld\n"
	           "# HELP ciip_cert_outbox_pending STIX incidents waiting for the national CERT.\n"
	           "# TYPE ciip_cert_outbox_pending gauge\nciip_cert_outbox_pending %lld\n",
	           (long long)unacked, (long long)undelivered, (long long)outbox);
}

void
cert_metrics(struct buf *out, void *arg)
{
	struct cert *c = arg;
	/* Counting a million rows on every scrape would be wasteful: when the
	 * count is expensive (over 20 ms) its text is kept for five seconds of
	 * monotonic time; when it is cheap it is always fresh. */
	pthread_mutex_lock(&c->metrics_mu);
	int64_t now = time_mono_ns();
	if (c->metrics.len == 0 || c->metrics_cost_ns < 20000000 ||
	    now - c->metrics_at_ns > 5000000000LL) {
		buf_reset(&c->metrics);
		metrics_collect(c, &c->metrics);
		c->metrics_at_ns = time_mono_ns();
		c->metrics_cost_ns = c->metrics_at_ns - now;
	}
	buf_append(out, c->metrics.data, c->metrics.len);
	pthread_mutex_unlock(&c->metrics_mu);
}
