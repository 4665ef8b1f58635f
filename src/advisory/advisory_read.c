/*
 * advisory_read.c - the stored row and what every advisory service shares
 * (loading a version, its history, who may read it), and the services that
 * only read: one advisory, the list, a series' versions, its STIX bundle.
 *
 * Who sees what: an advisory that is not yet published (draft, submitted,
 * rejected) is treated as TLP:AMBER+STRICT owned by the issuing
 * organisation, so only that organisation's staff can see it; a published
 * one is read under its own TLP, and a recipient reads its delivered copy
 * as its own (so a TLP:RED advisory reaches exactly its recipients). Both
 * go through auth_check; lists use auth_sql_visible with the same rule.
 */
#include "advisory/advisory_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const state_names[ADVISORY_STATE_COUNT] = {
	[ADVISORY_DRAFT] = "draft",         [ADVISORY_SUBMITTED] = "submitted",
	[ADVISORY_REJECTED] = "rejected",   [ADVISORY_PUBLISHED] = "published",
	[ADVISORY_SUPERSEDED] = "superseded", [ADVISORY_WITHDRAWN] = "withdrawn",
};

const char *
advisory_state_name(enum advisory_state s)
{
	if ((unsigned)s >= ADVISORY_STATE_COUNT)
		return "unknown";
	return state_names[s];
}

int
advisory_state_parse(const char *name)
{
	for (int i = 0; name && i < ADVISORY_STATE_COUNT; i++)
		if (strcmp(name, state_names[i]) == 0)
			return i;
	return -1;
}

bool
adv_internal_state(enum advisory_state s)
{
	return s == ADVISORY_DRAFT || s == ADVISORY_SUBMITTED || s == ADVISORY_REJECTED;
}

/* ---- helpers ---- */


void
adv_actor(const struct auth_caller *who, char *buf, size_t len)
{
	if (who == NULL)
		snprintf(buf, len, "system");
	else if (who->local)
		snprintf(buf, len, "local:%s", who->name);
	else if (who->token_id)
		snprintf(buf, len, "token:%s", who->name);
	else
		snprintf(buf, len, "user:%s", who->name);
}

const char ADV_COLS[] =
	"a.id, a.root_id, a.supersedes_id, a.org_id, a.version, a.state, a.title, a.severity,"
	" a.intel_type, a.tlp, a.stix_id, a.author, a.author_user_id, a.author_token_id,"
	" a.reviewer, o.name, a.reply_due_at, a.created_at, a.updated_at, a.submitted_at,"
	" a.reviewed_at, a.published_at, a.withdrawn_at, a.data";

static int64_t
col_ms(struct store_stmt *s, int col)
{
	return store_col_null(s, col) ? 0 : store_col_int(s, col);
}

void
adv_row_load(struct store_stmt *s, struct advisory_row *a, bool with_data)
{
	memset(a, 0, sizeof(*a));
	a->id = store_col_int(s, 0);
	a->root_id = store_col_int(s, 1);
	a->supersedes_id = col_ms(s, 2);
	a->org_id = store_col_int(s, 3);
	a->version = (int)store_col_int(s, 4);
	int st = advisory_state_parse(store_col_text(s, 5));
	a->state = st < 0 ? ADVISORY_DRAFT : (enum advisory_state)st;
	snprintf(a->title, sizeof(a->title), "%s", store_col_text(s, 6));
	snprintf(a->severity, sizeof(a->severity), "%s", store_col_text(s, 7));
	snprintf(a->intel_type, sizeof(a->intel_type), "%s", store_col_text(s, 8));
	a->tlp = (int)store_col_int(s, 9);
	snprintf(a->stix_id, sizeof(a->stix_id), "%s", store_col_text(s, 10));
	snprintf(a->author, sizeof(a->author), "%s", store_col_text(s, 11));
	a->author_user_id = store_col_int(s, 12);
	a->author_token_id = store_col_int(s, 13);
	snprintf(a->reviewer, sizeof(a->reviewer), "%s", store_col_text(s, 14));
	snprintf(a->org_name, sizeof(a->org_name), "%s", store_col_text(s, 15));
	a->reply_due_at = col_ms(s, 16);
	a->created_at = col_ms(s, 17);
	a->updated_at = col_ms(s, 18);
	a->submitted_at = col_ms(s, 19);
	a->reviewed_at = col_ms(s, 20);
	a->published_at = col_ms(s, 21);
	a->withdrawn_at = col_ms(s, 22);
	if (with_data) {
		a->data = json_loads(store_col_text(s, 23), 0, NULL);
		if (!json_is_object(a->data)) {
			json_decref(a->data);
			a->data = json_object();
		}
	}
}

void
adv_row_clear(struct advisory_row *a)
{
	json_decref(a->data);
	a->data = NULL;
}

int
adv_row_fetch(struct store_conn *c, int64_t id, struct advisory_row *a, struct err *e)
{
	char sql[768];
	snprintf(sql, sizeof(sql),
	         "SELECT %s FROM advisories a JOIN orgs o ON o.id = a.org_id WHERE a.id = ?", ADV_COLS);
	struct store_stmt *s = store_prepare(c, sql, e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, id);
	int rc = store_step(s, e);
	if (rc == STORE_ROW)
		adv_row_load(s, a, true);
	store_finalize(s);
	if (rc == STORE_ROW)
		return 0;
	return rc == STORE_DONE ? 1 : -1;
}

void
adv_ref(const struct advisory_row *a, char *buf, size_t len)
{
	time_t secs = (time_t)(a->created_at / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "ADV-%04d-%04lld", tm.tm_year + 1900, (long long)a->root_id);
}

bool
adv_is_target(struct store_conn *c, int64_t root_id, int64_t org_id)
{
	int64_t n = 0;
	struct err e;
	return store_query_int(c, "SELECT 1 FROM advisory_targets WHERE root_id = ? AND org_id = ?",
	                       &n, &e, "ii", root_id, org_id) == STORE_ROW;
}

enum auth_decision
adv_check_read(struct store_conn *c, const struct auth_caller *caller,
               const struct advisory_row *a)
{
	struct auth_object obj = {.org_id = a->org_id, .tlp = (enum auth_tlp)a->tlp};
	if (adv_internal_state(a->state))
		obj.tlp = AUTH_TLP_AMBER_STRICT;
	else if (caller && !caller->local && caller->org_id != a->org_id &&
	         adv_is_target(c, a->root_id, caller->org_id))
		obj.org_id = caller->org_id; /* the recipient's delivered copy */
	return auth_check(caller, AUTH_ADVISORY_READ, &obj);
}

int
adv_history_add(struct store_conn *c, const struct advisory_row *a, const struct auth_caller *who,
                const char *action, const json_t *detail, struct err *e)
{
	char actor[160];
	adv_actor(who, actor, sizeof(actor));
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	struct store_stmt *s = store_prepare(c,
	                                     "INSERT INTO advisory_history(advisory_id, root_id, ts,"
	                                     " actor, action, detail) VALUES (?,?,?,?,?,?)",
	                                     e);
	if (s == NULL) {
		free(d);
		return -1;
	}
	store_bind_int(s, 1, a->id);
	store_bind_int(s, 2, a->root_id);
	store_bind_int(s, 3, time_now_ms());
	store_bind_text(s, 4, actor);
	store_bind_text(s, 5, action);
	store_bind_text(s, 6, d ? d : "{}");
	int rc = store_step(s, e);
	store_finalize(s);
	free(d);
	return rc == STORE_DONE ? 0 : -1;
}

json_t *
adv_row_json(const struct advisory_row *a, bool full)
{
	char ref[32];
	adv_ref(a, ref, sizeof(ref));
	json_t *o = json_pack(
		"{s:I,s:s,s:I,s:i,s:s,s:s,s:s,s:s,s:s,s:{s:I,s:s},s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		"id", (json_int_t)a->id, "ref", ref, "root_id", (json_int_t)a->root_id, "version",
		a->version, "state", advisory_state_name(a->state), "title", a->title, "severity",
		a->severity, "intel_type", a->intel_type, "tlp", auth_tlp_name((enum auth_tlp)a->tlp),
		"issuer", "org_id", (json_int_t)a->org_id, "org", a->org_name, "author", a->author,
		"stix_id", a->stix_id, "reply_due", auth_time_json(a->reply_due_at), "created_at",
		auth_time_json(a->created_at), "updated_at", auth_time_json(a->updated_at), "submitted_at",
		auth_time_json(a->submitted_at), "reviewed_at", auth_time_json(a->reviewed_at),
		"published_at", auth_time_json(a->published_at), "withdrawn_at",
		auth_time_json(a->withdrawn_at));
	json_object_set_new(o, "reviewer", a->reviewer[0] ? json_string(a->reviewer) : json_null());
	json_object_set_new(o, "supersedes_id",
	                    a->supersedes_id ? json_integer(a->supersedes_id) : json_null());
	if (a->data) {
		const char *k;
		json_t *v;
		json_object_foreach(a->data, k, v)
		{
			if (!full && (strcmp(k, "body") == 0 || strcmp(k, "indicators") == 0))
				continue;
			if (json_object_get(o, k) == NULL)
				json_object_set(o, k, v);
		}
	}
	return o;
}

/* ---- one advisory ---- */

/* Loads a version the caller may see: 0, or a status with *out. */
int
adv_get_visible(struct auth_ctx *x, const char *ref, struct advisory_row *a, json_t **out)
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
	if (rc < 0) {
		*out = auth_error("internal", "%s", e.msg);
		return 500;
	}
	if (rc > 0) {
		*out = auth_error("not_found", "no such advisory");
		return 404;
	}
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	return 0;
}

int
adv_reply_row(struct auth_ctx *x, int64_t id, int status, json_t **out)
{
	struct store_conn *c = store_reader_get(x->st);
	struct advisory_row a;
	struct err e;
	int rc = adv_row_fetch(c, id, &a, &e);
	if (rc == 0) {
		*out = adv_row_json(&a, true);
		if (!adv_internal_state(a.state) &&
		    (x->caller->local || x->caller->org_id == a.org_id))
			json_object_set_new(*out, "aggregate", adv_aggregate(c, &a, time_now_ms()));
		adv_row_clear(&a);
	}
	store_reader_put(x->st, c);
	if (rc != 0) {
		*out = auth_error("internal", "the advisory cannot be read back");
		return 500;
	}
	return status;
}

int
advisory_svc_get(struct auth_ctx *x, const char *id, json_t **out)
{
	struct advisory_row a;
	int st = adv_get_visible(x, id, &a, out);
	if (st)
		return st;
	*out = adv_row_json(&a, true);
	struct store_conn *c = store_reader_get(x->st);
	if (!adv_internal_state(a.state)) {
		if (x->caller->local || x->caller->org_id == a.org_id) {
			json_object_set_new(*out, "aggregate", adv_aggregate(c, &a, time_now_ms()));
		} else {
			/* A member sees its own latest reply, not the others'. */
			json_t *mine = json_null();
			struct err e;
			struct store_stmt *s = store_prepare(
				c,
				"SELECT status, mitigated, measures, measures_at, note, replied_by, created_at"
				" FROM advisory_replies WHERE root_id = ? AND org_id = ? ORDER BY id DESC"
				" LIMIT 1",
				&e);
			if (s) {
				store_bind_int(s, 1, a.root_id);
				store_bind_int(s, 2, x->caller->org_id);
				if (store_step(s, &e) == STORE_ROW) {
					json_decref(mine);
					mine = json_pack("{s:s,s:b,s:s,s:o,s:s,s:s,s:o}", "status",
					                 store_col_text(s, 0), "mitigated",
					                 (int)store_col_int(s, 1), "measures", store_col_text(s, 2),
					                 "measures_at",
					                 auth_time_json(store_col_null(s, 3) ? 0 : store_col_int(s, 3)),
					                 "note", store_col_text(s, 4), "replied_by",
					                 store_col_text(s, 5), "replied_at",
					                 auth_time_json(store_col_int(s, 6)));
				}
				store_finalize(s);
			}
			json_object_set_new(*out, "my_reply", mine);
		}
	}
	store_reader_put(x->st, c);
	adv_row_clear(&a);
	return 200;
}

/* ---- lists ---- */

int
advisory_svc_list(struct auth_ctx *x, const json_t *q, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ADVISORY_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct buf sql = {0};
	json_t *binds = json_array();
	buf_printf(&sql, "SELECT %s FROM advisories a JOIN orgs o ON o.id = a.org_id WHERE (",
	           ADV_COLS);
	/* Unpublished versions count as AMBER+STRICT of the issuing organisation. */
	auth_sql_visible(x->caller, "a.org_id",
	                 "(CASE WHEN a.state IN ('draft', 'submitted', 'rejected') THEN 4"
	                 " ELSE a.tlp END)",
	                 &sql, binds);
	if (!x->caller->local) {
		buf_puts(&sql, " OR (a.state IN ('published', 'withdrawn', 'superseded') AND EXISTS"
		               " (SELECT 1 FROM advisory_targets t WHERE t.root_id = a.root_id"
		               " AND t.org_id = ?))");
		json_array_append_new(binds, json_integer(x->caller->org_id));
	}
	buf_puts(&sql, ")");
	const char *v = json_string_value(json_object_get(q, "state"));
	int status = 0;
	if (v && v[0]) {
		if (advisory_state_parse(v) < 0) {
			*out = auth_error("bad_request", "state must be draft, submitted, rejected, "
			                                 "published, superseded or withdrawn");
			status = 400;
		}
		buf_puts(&sql, " AND a.state = ?");
		json_array_append_new(binds, json_string(v));
	} else {
		v = json_string_value(json_object_get(q, "versions"));
		if (v == NULL || strcmp(v, "all") != 0)
			buf_puts(&sql, " AND a.state <> 'superseded'");
	}
	static const char *const eq[] = {"severity", "intel_type"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(eq); i++) {
		v = json_string_value(json_object_get(q, eq[i]));
		if (v && v[0]) {
			buf_printf(&sql, " AND a.%s = ?", eq[i]);
			json_array_append_new(binds, json_string(v));
		}
	}
	v = json_string_value(json_object_get(q, "q"));
	if (v && v[0] && status == 0) {
		if (strlen(v) > 200) {
			*out = auth_error("bad_request", "q is at most 200 characters");
			status = 400;
		}
		struct buf like = {0};
		buf_puts(&like, "%");
		for (const char *p = v; *p; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				buf_puts(&like, "\\");
			buf_append(&like, p, 1);
		}
		buf_puts(&like, "%");
		buf_puts(&sql, " AND a.title LIKE ? ESCAPE '\\'");
		json_array_append_new(binds, json_string(like.data));
		buf_free(&like);
	}
	int64_t limit = ADV_LIST_DEFAULT, offset = 0;
	v = json_string_value(json_object_get(q, "limit"));
	if (status == 0 && v && parse_int64(v, 1, ADV_LIST_MAX, &limit) != 0) {
		*out = auth_error("bad_request", "limit must be 1 to %d", ADV_LIST_MAX);
		status = 400;
	}
	v = json_string_value(json_object_get(q, "offset"));
	if (status == 0 && v && parse_int64(v, 0, 100000000, &offset) != 0) {
		*out = auth_error("bad_request", "offset must be a number of rows");
		status = 400;
	}
	buf_puts(&sql, " ORDER BY a.id DESC LIMIT ? OFFSET ?");
	json_array_append_new(binds, json_integer(limit));
	json_array_append_new(binds, json_integer(offset));
	json_t *list = json_array();
	if (status == 0) {
		struct store_conn *c = store_reader_get(x->st);
		struct err e;
		struct store_stmt *s = store_prepare(c, sql.data, &e);
		if (s == NULL) {
			*out = auth_error("internal", "%s", e.msg);
			status = 500;
		} else {
			auth_sql_bind(s, 1, binds);
			while (store_step(s, &e) == STORE_ROW) {
				struct advisory_row a;
				adv_row_load(s, &a, true);
				json_array_append_new(list, adv_row_json(&a, false));
				adv_row_clear(&a);
			}
			store_finalize(s);
		}
		store_reader_put(x->st, c);
	}
	buf_free(&sql);
	json_decref(binds);
	if (status) {
		json_decref(list);
		return status;
	}
	*out = json_pack("{s:o,s:I}", "advisories", list, "count", (json_int_t)json_array_size(list));
	return 200;
}

int
advisory_svc_versions(struct auth_ctx *x, const char *id, json_t **out)
{
	struct advisory_row a;
	int st = adv_get_visible(x, id, &a, out);
	if (st)
		return st;
	int64_t root = a.root_id;
	adv_row_clear(&a);
	char sql[768];
	snprintf(sql, sizeof(sql),
	         "SELECT %s FROM advisories a JOIN orgs o ON o.id = a.org_id WHERE a.root_id = ?"
	         " ORDER BY a.version",
	         ADV_COLS);
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(c, sql, &e);
	json_t *list = json_array();
	if (s) {
		store_bind_int(s, 1, root);
		while (store_step(s, &e) == STORE_ROW) {
			struct advisory_row r;
			adv_row_load(s, &r, true);
			if (adv_check_read(c, x->caller, &r) == AUTH_ALLOW)
				json_array_append_new(list, adv_row_json(&r, true));
			adv_row_clear(&r);
		}
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	*out = json_pack("{s:I,s:o}", "root_id", (json_int_t)root, "versions", list);
	return 200;
}

int
advisory_svc_stix(struct auth_ctx *x, const char *id, json_t **out)
{
	struct advisory_row a;
	int st = adv_get_visible(x, id, &a, out);
	if (st)
		return st;
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(
		c, "SELECT bundle FROM advisory_stix WHERE root_id = ? ORDER BY id DESC LIMIT 1", &e);
	json_t *b = NULL;
	if (s) {
		store_bind_int(s, 1, a.root_id);
		if (store_step(s, &e) == STORE_ROW)
			b = json_loads(store_col_text(s, 0), 0, NULL);
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	adv_row_clear(&a);
	if (b == NULL) {
		*out = auth_error("not_found", "the advisory has not been published");
		return 404;
	}
	*out = b;
	return 200;
}
