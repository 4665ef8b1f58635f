/*
 * cert_notify.c - each organisation's notification queue (abuse reports
 * for ISPs, returned reports, changes of level), the national outbox of
 * STIX incidents, and the thread that delivers queued notifications by
 * webhook (a JSON POST) and e-mail (SMTP, to the organisation's contact
 * address) when cert.notify.* is configured.
 *
 * The queue is the record: delivery is best effort on top of it, retried
 * with a growing delay, and an organisation always finds its items in the
 * API and the console whether or not a webhook reached it.
 */
#include "cert/cert_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DELIVER_BATCH 20
#define DELIVER_MAX_ATTEMPTS 12
#define DELIVER_TIMEOUT_S 10

static json_t *
notification_json(struct store_stmt *s)
{
	json_t *payload = json_loads(store_col_text(s, 5), 0, NULL);
	json_t *o = json_pack(
		"{s:I,s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)store_col_int(s, 0), "org_id",
		(json_int_t)store_col_int(s, 1), "org", store_col_text(s, 2), "kind", store_col_text(s, 3),
		"subject", store_col_text(s, 4), "payload", payload ? payload : json_object(),
		"created_at", auth_time_json(store_col_int(s, 6)), "acked_at",
		auth_time_json(store_col_null(s, 7) ? 0 : store_col_int(s, 7)), "delivered_at",
		auth_time_json(store_col_null(s, 8) ? 0 : store_col_int(s, 8)));
	json_object_set_new(o, "incident_id", store_col_null(s, 9) ? json_null()
	                                                            : json_integer(store_col_int(s, 9)));
	return o;
}

int
cert_svc_notification_list(struct auth_ctx *x, const json_t *query, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INCIDENT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct store_conn *c = store_reader_get(x->st);
	int64_t org = 0;
	const char *ref = json_string_value(json_object_get(query, "org"));
	if (ref && ref[0]) {
		org = auth_org_lookup(c, ref);
		struct auth_object obj = {.org_id = org};
		d = org ? auth_check(x->caller, AUTH_INCIDENT_READ, &obj) : AUTH_NOT_FOUND;
		if (d != AUTH_ALLOW) {
			store_reader_put(x->st, c);
			return auth_refuse(d, out);
		}
	} else if (!x->caller->local && !x->caller->node_staff) {
		org = x->caller->org_id; /* members: their own queue */
	}
	bool pending = false;
	const char *p = json_string_value(json_object_get(query, "unacked"));
	if (p && parse_bool(p, &pending) != 0) {
		store_reader_put(x->st, c);
		*out = auth_error("bad_request", "unacked must be true or false");
		return 400;
	}
	int64_t limit = CERT_LIST_DEFAULT;
	const char *l = json_string_value(json_object_get(query, "limit"));
	if (l && parse_int64(l, 1, CERT_LIST_MAX, &limit) != 0) {
		store_reader_put(x->st, c);
		*out = auth_error("bad_request", "limit must be 1 to %d", CERT_LIST_MAX);
		return 400;
	}
	char sql[640];
	snprintf(sql, sizeof(sql),
	         "SELECT n.id, n.org_id, o.name, n.kind, n.subject, n.payload, n.created_at,"
	         " n.acked_at, n.delivered_at, n.incident_id FROM cert_notifications n"
	         " JOIN orgs o ON o.id = n.org_id WHERE (? = 0 OR n.org_id = ?)%s"
	         " ORDER BY n.id DESC LIMIT ?",
	         pending ? " AND n.acked_at IS NULL" : "");
	struct err e;
	struct store_stmt *s = store_prepare(c, sql, &e);
	json_t *list = json_array();
	if (s) {
		store_bind_int(s, 1, org);
		store_bind_int(s, 2, org);
		store_bind_int(s, 3, limit);
		while (store_step(s, &e) == STORE_ROW)
			json_array_append_new(list, notification_json(s));
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	*out = json_pack("{s:o,s:I}", "notifications", list, "count",
	                 (json_int_t)json_array_size(list));
	return 200;
}

struct ack_job {
	const struct auth_caller *who;
	int64_t id;
	struct auth_fail f;
	struct err e;
};

static int
ack_write(struct store_conn *c, void *arg)
{
	struct ack_job *j = arg;
	char by[160];
	cert_actor(j->who, by, sizeof(by));
	struct store_stmt *s = store_prepare(
		c,
		"UPDATE cert_notifications SET acked_at = ?, acked_by = ? WHERE id = ? AND acked_at IS NULL",
		&j->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, time_now_ms());
	store_bind_text(s, 2, by);
	store_bind_int(s, 3, j->id);
	int rc = store_step(s, &j->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	if (store_changes(c) == 0)
		return auth_fail_set(&j->f, 409, "conflict", "the notification was already acknowledged");
	char idtxt[32];
	snprintf(idtxt, sizeof(idtxt), "%lld", (long long)j->id);
	return auth_audit_append(c, j->who, "notification.ack", "notification", idtxt, NULL, &j->e);
}

int
cert_svc_notification_ack(struct auth_ctx *x, const char *id, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INCIDENT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	int64_t nid = auth_parse_id(id), org = 0;
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	int rc = nid > 0 ? store_query_int(c, "SELECT org_id FROM cert_notifications WHERE id = ?",
	                                   &org, &e, "i", nid)
	                 : STORE_DONE;
	store_reader_put(x->st, c);
	if (rc != STORE_ROW) {
		*out = auth_error("not_found", "no such notification");
		return 404;
	}
	struct auth_object obj = {.org_id = org};
	d = auth_check(x->caller, AUTH_INCIDENT_READ, &obj);
	if (d != AUTH_ALLOW)
		return auth_refuse(d == AUTH_FORBIDDEN ? AUTH_NOT_FOUND : d, out);
	d = auth_check(x->caller, AUTH_INCIDENT_REPORT, &obj);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct ack_job j = {.who = x->caller, .id = nid};
	if (store_write(x->st, ack_write, &j, &j.e) != 0)
		return auth_fail_reply(&j.f, &j.e, "cert", out);
	*out = json_pack("{s:I,s:b}", "id", (json_int_t)nid, "acked", 1);
	return 200;
}

/* The outbox belongs to the node: only its own organisation's staff. */
static enum auth_decision
outbox_check(struct auth_ctx *x, enum auth_action a, int alt)
{
	struct store_conn *c = store_reader_get(x->st);
	struct auth_object obj = {.org_id = auth_org_root(c)};
	store_reader_put(x->st, c);
	enum auth_decision d = auth_check(x->caller, a, &obj);
	if (d == AUTH_FORBIDDEN && alt >= 0)
		d = auth_check(x->caller, (enum auth_action)alt, &obj);
	return d;
}

int
cert_svc_outbox_list(struct auth_ctx *x, const json_t *query, json_t **out)
{
	enum auth_decision d = outbox_check(x, AUTH_INCIDENT_READ, -1);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	bool pending = false;
	const char *p = json_string_value(json_object_get(query, "pending"));
	if (p && parse_bool(p, &pending) != 0) {
		*out = auth_error("bad_request", "pending must be true or false");
		return 400;
	}
	const char *inc = json_string_value(json_object_get(query, "incident"));
	int64_t iid = inc ? auth_parse_id(inc) : 0;
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT id, incident_id, purpose, stix_id, bundle, created_at, sent_at"
		" FROM cert_stix_outbox WHERE (? = 0 OR sent_at IS NULL) AND (? <= 0 OR incident_id = ?)"
		" ORDER BY id DESC LIMIT 200",
		&e);
	json_t *list = json_array();
	if (s) {
		store_bind_int(s, 1, pending);
		store_bind_int(s, 2, iid);
		store_bind_int(s, 3, iid);
		while (store_step(s, &e) == STORE_ROW) {
			json_t *b = json_loads(store_col_text(s, 4), 0, NULL);
			json_array_append_new(
				list, json_pack("{s:I,s:I,s:s,s:s,s:o,s:o,s:o}", "id",
			                    (json_int_t)store_col_int(s, 0), "incident_id",
			                    (json_int_t)store_col_int(s, 1), "purpose", store_col_text(s, 2),
			                    "stix_id", store_col_text(s, 3), "bundle", b ? b : json_null(),
			                    "created_at", auth_time_json(store_col_int(s, 5)), "sent_at",
			                    auth_time_json(store_col_null(s, 6) ? 0 : store_col_int(s, 6))));
		}
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	*out = json_pack("{s:o,s:I}", "outbox", list, "count", (json_int_t)json_array_size(list));
	return 200;
}

static int
sent_write(struct store_conn *c, void *arg)
{
	struct ack_job *j = arg;
	struct store_stmt *s = store_prepare(
		c, "UPDATE cert_stix_outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL", &j->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, time_now_ms());
	store_bind_int(s, 2, j->id);
	int rc = store_step(s, &j->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	if (store_changes(c) == 0)
		return auth_fail_set(&j->f, 409, "conflict", "no unsent outbox entry %lld",
		                     (long long)j->id);
	char idtxt[32];
	snprintf(idtxt, sizeof(idtxt), "%lld", (long long)j->id);
	return auth_audit_append(c, j->who, "outbox.sent", "cert_outbox", idtxt, NULL, &j->e);
}

int
cert_svc_outbox_sent(struct auth_ctx *x, const char *id, json_t **out)
{
	enum auth_decision d = outbox_check(x, AUTH_INCIDENT_HANDLE, AUTH_INCIDENT_REVIEW);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct ack_job j = {.who = x->caller, .id = auth_parse_id(id)};
	if (j.id <= 0) {
		*out = auth_error("not_found", "no such outbox entry");
		return 404;
	}
	if (store_write(x->st, sent_write, &j, &j.e) != 0)
		return auth_fail_reply(&j.f, &j.e, "cert", out);
	*out = json_pack("{s:I,s:b}", "id", (json_int_t)j.id, "sent", 1);
	return 200;
}

/* ---- delivery ---- */

struct pending {
	int64_t id, org_id;
	int attempts;
	char email[256];
	char *json;
	char *subject;
};

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int
post_webhook(const char *url, const char *body, char *why, size_t len)
{
	CURL *h = curl_easy_init();
	if (h == NULL) {
		snprintf(why, len, "cannot start libcurl");
		return -1;
	}
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)DELIVER_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ciipd/" CIIP_VERSION);
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		snprintf(why, len, "webhook: %s", curl_easy_strerror(rc));
		return -1;
	}
	if (status < 200 || status >= 300) {
		snprintf(why, len, "webhook: HTTP %ld", status);
		return -1;
	}
	return 0;
}

struct mail_src {
	const char *p;
	size_t left;
};

static size_t
mail_read(char *buf, size_t size, size_t n, void *arg)
{
	struct mail_src *m = arg;
	size_t k = size * n < m->left ? size * n : m->left;
	memcpy(buf, m->p, k);
	m->p += k;
	m->left -= k;
	return k;
}

static int
send_mail(const struct config *cfg, const struct pending *p, char *why, size_t len)
{
	/* Header values come from the node's own data; still, no line breaks
	 * may reach the header. */
	char subject[256];
	snprintf(subject, sizeof(subject), "%s", p->subject);
	for (char *q = subject; *q; q++)
		if (*q == '\r' || *q == '\n')
			*q = ' ';
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	char *msg = xasprintf("Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: [ciip] %s\r\n"
	                      "Content-Type: application/json; charset=utf-8\r\n\r\n%s\r\n",
	                      date, cfg->cert_notify_mail_from, p->email, subject, p->json);
	CURL *h = curl_easy_init();
	if (h == NULL) {
		free(msg);
		snprintf(why, len, "cannot start libcurl");
		return -1;
	}
	struct mail_src src = {msg, strlen(msg)};
	char rcpt_addr[300];
	snprintf(rcpt_addr, sizeof(rcpt_addr), "<%s>", p->email);
	struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_addr);
	char from[300];
	snprintf(from, sizeof(from), "<%s>", cfg->cert_notify_mail_from);
	curl_easy_setopt(h, CURLOPT_URL, cfg->cert_notify_smtp_url);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &src);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)DELIVER_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(h);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	free(msg);
	if (rc != CURLE_OK) {
		snprintf(why, len, "smtp: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

struct result_job {
	int64_t id;
	bool ok;
	int attempts;
	char why[256];
	struct err e;
};

static int
result_write(struct store_conn *c, void *arg)
{
	struct result_job *j = arg;
	int64_t now = time_now_ms();
	/* 10 s, 20 s, 40 s ... at most an hour; then give up (the item stays
	 * in the queue, marked with the last error). */
	int64_t delay = 10000;
	for (int i = 1; i < j->attempts && delay < 3600000; i++)
		delay *= 2;
	if (delay > 3600000)
		delay = 3600000;
	int64_t next = j->attempts >= DELIVER_MAX_ATTEMPTS ? INT64_MAX : now + delay;
	struct store_stmt *s = store_prepare(
		c,
		"UPDATE cert_notifications SET delivered_at = ?, attempts = ?, next_attempt_at = ?,"
		" last_error = ? WHERE id = ?",
		&j->e);
	if (s == NULL)
		return -1;
	if (j->ok)
		store_bind_int(s, 1, now);
	else
		store_bind_null(s, 1);
	store_bind_int(s, 2, j->attempts);
	store_bind_int(s, 3, next);
	store_bind_text(s, 4, j->ok ? NULL : j->why);
	store_bind_int(s, 5, j->id);
	int rc = store_step(s, &j->e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

static void
deliver_batch(struct cert *c)
{
	const struct config *cfg = c->cfg;
	struct pending batch[DELIVER_BATCH];
	int n = 0;
	struct store_conn *conn = store_reader_get(c->st);
	struct err e;
	struct store_stmt *s = store_prepare(
		conn,
		"SELECT n.id, n.org_id, o.name, n.kind, n.subject, n.payload, n.created_at,"
		" n.acked_at, n.delivered_at, n.incident_id, n.attempts, o.contact_email"
		" FROM cert_notifications n JOIN orgs o ON o.id = n.org_id"
		" WHERE n.delivered_at IS NULL AND n.next_attempt_at <= ?"
		" ORDER BY n.next_attempt_at LIMIT ?",
		&e);
	if (s) {
		store_bind_int(s, 1, time_now_ms());
		store_bind_int(s, 2, DELIVER_BATCH);
		while (n < DELIVER_BATCH && store_step(s, &e) == STORE_ROW) {
			struct pending *p = &batch[n++];
			json_t *j = notification_json(s);
			p->id = store_col_int(s, 0);
			p->org_id = store_col_int(s, 1);
			p->attempts = (int)store_col_int(s, 10);
			snprintf(p->email, sizeof(p->email), "%s", store_col_text(s, 11));
			p->subject = xstrdup(store_col_text(s, 4));
			p->json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(j);
		}
		store_finalize(s);
	}
	store_reader_put(c->st, conn);
	for (int i = 0; i < n; i++) {
		struct result_job r = {.id = batch[i].id, .attempts = batch[i].attempts + 1, .ok = true};
		if (cfg->cert_notify_webhook_url[0] &&
		    post_webhook(cfg->cert_notify_webhook_url, batch[i].json, r.why, sizeof(r.why)) != 0)
			r.ok = false;
		if (r.ok && cfg->cert_notify_smtp_url[0] && batch[i].email[0] &&
		    send_mail(cfg, &batch[i], r.why, sizeof(r.why)) != 0)
			r.ok = false;
		if (!r.ok)
			log_warnx("cert", "notification %lld to organisation %lld: %s (attempt %d)",
			          (long long)r.id, (long long)batch[i].org_id, r.why, r.attempts);
		if (store_write(c->st, result_write, &r, &r.e) != 0)
			log_warnx("cert", "cannot record delivery of notification %lld: %s",
			          (long long)r.id, r.e.msg);
		free(batch[i].json);
		free(batch[i].subject);
	}
}

static void *
deliver_main(void *arg)
{
	struct cert *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->stopping) {
		pthread_mutex_unlock(&c->mu);
		deliver_batch(c);
		pthread_mutex_lock(&c->mu);
		if (c->stopping)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&c->cond, &c->mu, &ts);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int
cert_delivery_start(struct cert *c, struct err *e)
{
	if (c->cfg->cert_notify_webhook_url[0] == '\0' && c->cfg->cert_notify_smtp_url[0] == '\0')
		return 0; /* nothing to deliver to: the queue alone is the channel */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pthread_create(&c->thread, NULL, deliver_main, c) != 0) {
		err_set(e, "cannot start the notification thread");
		return -1;
	}
	c->thread_started = true;
	log_info("cert", "delivering notifications%s%s", c->cfg->cert_notify_webhook_url[0]
	                                                     ? " by webhook"
	                                                     : "",
	         c->cfg->cert_notify_smtp_url[0] ? " by e-mail" : "");
	return 0;
}

void
cert_delivery_stop(struct cert *c)
{
	if (!c->thread_started)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	c->thread_started = false;
}
