/*
 * advisory_reply.c - members' replies to advisories, the aggregate the
 * issuing node tracks (targeted, replied, affected, mitigated, overdue, and
 * who has not answered), and each organisation's queue of advisories.
 *
 * A reply is made for one organisation and only by that organisation's
 * people (auth_check of advisory.reply on the organisation); replies are
 * kept as a history, the latest counts.
 */
#include "advisory/advisory_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *
adv_aggregate(struct store_conn *c, const struct advisory_row *a, int64_t now_ms)
{
	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT t.org_id, o.name, r.status, r.mitigated, r.created_at FROM advisory_targets t"
		" JOIN orgs o ON o.id = t.org_id"
		" LEFT JOIN advisory_replies r ON r.id = (SELECT MAX(id) FROM advisory_replies r2"
		"  WHERE r2.root_id = t.root_id AND r2.org_id = t.org_id)"
		" WHERE t.root_id = ? ORDER BY o.name",
		&e);
	int64_t targeted = 0, replied = 0, received = 0, affected = 0, not_affected = 0,
		mitigated = 0, late = 0;
	json_t *unanswered = json_array();
	bool past = a->reply_due_at && now_ms > a->reply_due_at;
	if (s) {
		store_bind_int(s, 1, a->root_id);
		while (store_step(s, &e) == STORE_ROW) {
			targeted++;
			if (store_col_null(s, 2)) {
				json_array_append_new(unanswered,
				                      json_pack("{s:I,s:s,s:b}", "org_id",
				                                (json_int_t)store_col_int(s, 0), "org",
				                                store_col_text(s, 1), "overdue", past));
				continue;
			}
			replied++;
			const char *st = store_col_text(s, 2);
			if (strcmp(st, "affected") == 0) {
				affected++;
				mitigated += store_col_int(s, 3) != 0;
			} else if (strcmp(st, "not_affected") == 0) {
				not_affected++;
			} else {
				received++;
			}
			if (a->reply_due_at && store_col_int(s, 4) > a->reply_due_at)
				late++;
		}
		store_finalize(s);
	}
	int64_t open = targeted - replied;
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "targeted",
	                 (json_int_t)targeted, "replied", (json_int_t)replied, "received_only",
	                 (json_int_t)received, "affected", (json_int_t)affected, "not_affected",
	                 (json_int_t)not_affected, "mitigated", (json_int_t)mitigated,
	                 "unmitigated", (json_int_t)(affected - mitigated), "unanswered",
	                 (json_int_t)open, "overdue", (json_int_t)(past ? open : 0), "replied_late",
	                 (json_int_t)late, "reply_due", auth_time_json(a->reply_due_at),
	                 "not_answered", unanswered);
}

/* The version of a series that members act on: the newest published or
 * withdrawn one. */
static int
current_version(struct store_conn *c, int64_t root_id, struct advisory_row *a, struct err *e)
{
	int64_t id = 0;
	int rc = store_query_int(c,
	                         "SELECT id FROM advisories WHERE root_id = ? AND state IN"
	                         " ('published', 'withdrawn') ORDER BY version DESC LIMIT 1",
	                         &id, e, "i", root_id);
	if (rc != STORE_ROW)
		return rc == STORE_DONE ? 1 : -1;
	return adv_row_fetch(c, id, a, e);
}

struct reply_job {
	const struct auth_caller *who;
	int64_t root_id, org_id;
	const char *status, *measures, *note;
	bool mitigated;
	int64_t measures_at;
	int64_t id;
	struct auth_fail f;
	struct err e;
};

static int
reply_write(struct store_conn *c, void *arg)
{
	struct reply_job *j = arg;
	struct advisory_row a;
	int rc = current_version(c, j->root_id, &a, &j->e);
	if (rc != 0)
		return rc > 0 ? auth_fail_set(&j->f, 409, "conflict", "the advisory is not published")
		              : -1;
	if (a.state != ADVISORY_PUBLISHED) {
		adv_row_clear(&a);
		return auth_fail_set(&j->f, 409, "conflict", "the advisory was withdrawn");
	}
	char by[160];
	adv_actor(j->who, by, sizeof(by));
	struct store_stmt *s = store_prepare(
		c,
		"INSERT INTO advisory_replies(root_id, org_id, status, mitigated, measures, measures_at,"
		" note, replied_by, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
		&j->e);
	if (s == NULL) {
		adv_row_clear(&a);
		return -1;
	}
	store_bind_int(s, 1, j->root_id);
	store_bind_int(s, 2, j->org_id);
	store_bind_text(s, 3, j->status);
	store_bind_int(s, 4, j->mitigated);
	store_bind_text(s, 5, j->measures ? j->measures : "");
	if (j->measures_at)
		store_bind_int(s, 6, j->measures_at);
	else
		store_bind_null(s, 6);
	store_bind_text(s, 7, j->note ? j->note : "");
	store_bind_text(s, 8, by);
	store_bind_int(s, 9, time_now_ms());
	rc = store_step(s, &j->e) == STORE_DONE ? 0 : -1;
	store_finalize(s);
	if (rc == 0)
		j->id = store_last_insert_id(c);
	json_t *detail = json_pack("{s:I,s:s,s:b}", "org_id", (json_int_t)j->org_id, "status",
	                           j->status, "mitigated", j->mitigated);
	if (rc == 0)
		rc = adv_history_add(c, &a, j->who, "reply", detail, &j->e);
	if (rc == 0) {
		char idtxt[32];
		snprintf(idtxt, sizeof(idtxt), "%lld", (long long)a.id);
		rc = auth_audit_append(c, j->who, "advisory.reply", "advisory", idtxt, detail, &j->e);
	}
	json_decref(detail);
	adv_row_clear(&a);
	return rc;
}

/* Loads the series of an id the caller may see. */
static int
visible_series(struct auth_ctx *x, const char *ref, struct advisory_row *a, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ADVISORY_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	int64_t id = auth_parse_id(ref);
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	int rc = id > 0 ? adv_row_fetch(c, id, a, &e) : 1;
	if (rc == 0) {
		d = adv_check_read(c, x->caller, a);
		if (d != AUTH_ALLOW)
			adv_row_clear(a);
	}
	store_reader_put(x->st, c);
	if (rc != 0) {
		*out = auth_error(rc > 0 ? "not_found" : "internal", "no such advisory");
		return rc > 0 ? 404 : 500;
	}
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	return 0;
}

int
advisory_svc_reply(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	struct advisory_row a;
	int st = visible_series(x, id, &a, out);
	if (st)
		return st;
	struct reply_job j = {.who = x->caller, .root_id = a.root_id};
	adv_row_clear(&a);
	if (!json_is_object(in)) {
		*out = auth_error("bad_request", "expected a JSON object");
		return 400;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
	{
		if (strcmp(key, "org") && strcmp(key, "status") && strcmp(key, "mitigated") &&
		    strcmp(key, "measures") && strcmp(key, "measures_at") && strcmp(key, "note")) {
			*out = auth_error("bad_request", "unknown field '%s'", key);
			return 400;
		}
	}
	j.org_id = x->caller->org_id;
	json_t *org = json_object_get(in, "org");
	struct store_conn *c = store_reader_get(x->st);
	if (org) {
		char ref[160] = "";
		if (json_is_integer(org))
			snprintf(ref, sizeof(ref), "%lld", (long long)json_integer_value(org));
		else if (json_is_string(org) && json_string_length(org) < 128)
			snprintf(ref, sizeof(ref), "%s", json_string_value(org));
		j.org_id = auth_org_lookup(c, ref);
	}
	bool target = j.org_id && adv_is_target(c, j.root_id, j.org_id);
	store_reader_put(x->st, c);
	if (j.org_id == 0) {
		*out = auth_error("bad_request", "org names no organisation");
		return 400;
	}
	/* Only an organisation's own people answer for it. */
	struct auth_object obj = {.org_id = j.org_id};
	enum auth_decision d = auth_check(x->caller, AUTH_ADVISORY_REPLY, &obj);
	if (d != AUTH_ALLOW)
		return auth_refuse(d == AUTH_NOT_FOUND ? AUTH_FORBIDDEN : d, out);
	if (!target) {
		*out = auth_error("forbidden", "the organisation is not a recipient of this advisory");
		return 403;
	}
	j.status = json_string_value(json_object_get(in, "status"));
	if (j.status == NULL || (strcmp(j.status, "received") && strcmp(j.status, "affected") &&
	                         strcmp(j.status, "not_affected"))) {
		*out = auth_error("bad_request", "status must be received, affected or not_affected");
		return 400;
	}
	json_t *m = json_object_get(in, "mitigated");
	if (m && !json_is_boolean(m)) {
		*out = auth_error("bad_request", "mitigated must be true or false");
		return 400;
	}
	j.mitigated = json_is_true(m);
	if (j.mitigated && strcmp(j.status, "affected") != 0) {
		*out = auth_error("bad_request", "mitigated applies to an affected organisation");
		return 400;
	}
	static const char *const texts[] = {"measures", "note"};
	for (int i = 0; i < 2; i++) {
		json_t *t = json_object_get(in, texts[i]);
		if (t && (!json_is_string(t) || json_string_length(t) > 64 * 1024)) {
			*out = auth_error("bad_request", "%s must be text of at most 64 KiB", texts[i]);
			return 400;
		}
	}
	j.measures = json_string_value(json_object_get(in, "measures"));
	j.note = json_string_value(json_object_get(in, "note"));
	json_t *ma = json_object_get(in, "measures_at");
	if (ma && !json_is_null(ma) &&
	    (!json_is_string(ma) || time_parse_rfc3339(json_string_value(ma), &j.measures_at) != 0)) {
		*out = auth_error("bad_request", "measures_at must be an RFC 3339 time");
		return 400;
	}
	if (store_write(x->st, reply_write, &j, &j.e) != 0)
		return auth_fail_reply(&j.f, &j.e, "advisory", out);
	*out = json_pack("{s:I,s:I,s:I,s:s,s:b}", "id", (json_int_t)j.id, "root_id",
	                 (json_int_t)j.root_id, "org_id", (json_int_t)j.org_id, "status", j.status,
	                 "mitigated", j.mitigated);
	return 201;
}

int
advisory_svc_replies(struct auth_ctx *x, const char *id, json_t **out)
{
	struct advisory_row a;
	int st = visible_series(x, id, &a, out);
	if (st)
		return st;
	bool issuer = x->caller->local || x->caller->org_id == a.org_id;
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT r.id, r.org_id, o.name, r.status, r.mitigated, r.measures, r.measures_at,"
		" r.note, r.replied_by, r.created_at FROM advisory_replies r JOIN orgs o ON"
		" o.id = r.org_id WHERE r.root_id = ? AND (? = 1 OR r.org_id = ?) ORDER BY r.id",
		&e);
	json_t *list = json_array();
	if (s) {
		store_bind_int(s, 1, a.root_id);
		store_bind_int(s, 2, issuer);
		store_bind_int(s, 3, x->caller->org_id);
		while (store_step(s, &e) == STORE_ROW)
			json_array_append_new(
				list, json_pack("{s:I,s:I,s:s,s:s,s:b,s:s,s:o,s:s,s:s,s:o}", "id",
			                    (json_int_t)store_col_int(s, 0), "org_id",
			                    (json_int_t)store_col_int(s, 1), "org", store_col_text(s, 2),
			                    "status", store_col_text(s, 3), "mitigated",
			                    (int)store_col_int(s, 4), "measures", store_col_text(s, 5),
			                    "measures_at",
			                    auth_time_json(store_col_null(s, 6) ? 0 : store_col_int(s, 6)),
			                    "note", store_col_text(s, 7), "replied_by", store_col_text(s, 8),
			                    "created_at", auth_time_json(store_col_int(s, 9))));
		store_finalize(s);
	}
	*out = json_pack("{s:I,s:o}", "root_id", (json_int_t)a.root_id, "replies", list);
	if (issuer)
		json_object_set_new(*out, "aggregate", adv_aggregate(c, &a, time_now_ms()));
	store_reader_put(x->st, c);
	adv_row_clear(&a);
	return 200;
}

int
advisory_svc_inbox(struct auth_ctx *x, const json_t *query, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ADVISORY_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	int64_t org = x->caller->org_id;
	const char *ref = json_string_value(json_object_get(query, "org"));
	struct store_conn *c = store_reader_get(x->st);
	if (ref && ref[0]) {
		/* Another organisation's queue: for those who may read its data. */
		org = auth_org_lookup(c, ref);
		struct auth_object obj = {.org_id = org};
		d = org ? auth_check(x->caller, AUTH_ORG_READ, &obj) : AUTH_NOT_FOUND;
		if (d != AUTH_ALLOW) {
			store_reader_put(x->st, c);
			return auth_refuse(d, out);
		}
	}
	bool open_only = false;
	const char *p = json_string_value(json_object_get(query, "unanswered"));
	if (p && parse_bool(p, &open_only) != 0) {
		store_reader_put(x->st, c);
		*out = auth_error("bad_request", "unanswered must be true or false");
		return 400;
	}
	char sql[1024];
	snprintf(sql, sizeof(sql),
	         "SELECT %s, t.delivered_at, (SELECT status FROM advisory_replies r WHERE"
	         " r.root_id = t.root_id AND r.org_id = t.org_id ORDER BY r.id DESC LIMIT 1)"
	         " FROM advisory_targets t JOIN advisories a ON a.root_id = t.root_id AND a.state IN"
	         " ('published', 'withdrawn') JOIN orgs o ON o.id = a.org_id WHERE t.org_id = ?"
	         " ORDER BY t.updated_at DESC, a.id DESC LIMIT 200",
	         ADV_COLS);
	struct err e;
	struct store_stmt *s = store_prepare(c, sql, &e);
	json_t *list = json_array();
	int64_t now = time_now_ms();
	if (s) {
		store_bind_int(s, 1, org);
		while (store_step(s, &e) == STORE_ROW) {
			struct advisory_row a;
			adv_row_load(s, &a, false);
			const char *status = store_col_null(s, 25) ? NULL : store_col_text(s, 25);
			if (!(open_only && status)) {
				char ref2[32];
				adv_ref(&a, ref2, sizeof(ref2));
				json_array_append_new(
					list,
					json_pack("{s:I,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b}", "id",
				              (json_int_t)a.id, "ref", ref2, "version", a.version, "state",
				              advisory_state_name(a.state), "title", a.title, "severity",
				              a.severity, "intel_type", a.intel_type, "tlp",
				              auth_tlp_name((enum auth_tlp)a.tlp), "delivered_at",
				              auth_time_json(store_col_int(s, 24)), "reply_due",
				              auth_time_json(a.reply_due_at), "my_status",
				              status ? json_string(status) : json_null(), "overdue",
				              status == NULL && a.state == ADVISORY_PUBLISHED && a.reply_due_at &&
				                  now > a.reply_due_at));
			}
			adv_row_clear(&a);
		}
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	*out = json_pack("{s:I,s:o,s:I}", "org_id", (json_int_t)org, "advisories", list, "count",
	                 (json_int_t)json_array_size(list));
	return 200;
}
