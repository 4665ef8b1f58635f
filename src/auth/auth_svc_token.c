/*
 * auth_svc_token.c - API tokens for machines (and for people's scripts):
 * random, shown once, stored as SHA-256, bound to an organisation, with a
 * role, a scope and an expiry. Also the audit-log services and the caller
 * the offline client acts as.
 */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static json_t *
token_json(struct store_stmt *s)
{
	json_t *t = json_pack("{s:I,s:I,s:s,s:s,s:s}", "id", (json_int_t)store_col_int(s, 0), "org_id",
	                      (json_int_t)store_col_int(s, 1), "name", store_col_text(s, 2), "role",
	                      store_col_text(s, 3), "scope", store_col_text(s, 4));
	const char *names[] = {"created_at", "expires_at", "revoked_at", "last_used_at"};
	for (int i = 0; i < 4; i++) {
		if (store_col_null(s, 5 + i)) {
			json_object_set_new(t, names[i], json_null());
		} else {
			char ts[32];
			time_format_rfc3339(store_col_int(s, 5 + i), ts, sizeof(ts));
			json_object_set_new(t, names[i], json_string(ts));
		}
	}
	return t;
}

#define TOKEN_COLS "id, org_id, name, role, scope, created_at, expires_at, revoked_at, last_used_at"

int
auth_svc_token_list(struct auth_ctx *x, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_TOKEN_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(c, "SELECT " TOKEN_COLS " FROM tokens ORDER BY id", &e);
	json_t *list = json_array();
	while (s && store_step(s, &e) == STORE_ROW)
		json_array_append_new(list, token_json(s));
	store_finalize(s);
	store_reader_put(x->st, c);
	*out = json_pack("{s:o}", "tokens", list);
	return 200;
}

struct token_write {
	int64_t id, org_id, expires_at;
	const char *name, *role, *scope;
	char hash[65];
	const struct auth_caller *who;
	json_t *detail;
	bool revoke;
	int status;
	struct err e;
};

static int
token_create_write(struct store_conn *c, void *arg)
{
	struct token_write *w = arg;
	struct store_stmt *s = store_prepare(
		c,
		"INSERT INTO tokens(org_id, name, role, scope, token_hash, created_by, created_at,"
		" expires_at) VALUES (?,?,?,?,?,?,?,?)",
		&w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->org_id);
	store_bind_text(s, 2, w->name);
	store_bind_text(s, 3, w->role);
	store_bind_text(s, 4, w->scope);
	store_bind_text(s, 5, w->hash);
	store_bind_int(s, 6, w->who ? w->who->user_id : 0);
	store_bind_int(s, 7, time_now_ms());
	if (w->expires_at)
		store_bind_int(s, 8, w->expires_at);
	else
		store_bind_null(s, 8);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	w->id = store_last_insert_id(c);
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->id);
	return auth_audit_append(c, w->who, "token.create", "token", id, w->detail, &w->e);
}

int
auth_svc_token_create(struct auth_ctx *x, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_TOKEN_WRITE, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct token_write w = {.who = x->caller};
	w.name = json_string_value(json_object_get(in, "name"));
	w.role = json_string_value(json_object_get(in, "role"));
	w.scope = json_string_value(json_object_get(in, "scope"));
	const char *org = json_string_value(json_object_get(in, "org"));
	char orgbuf[32];
	if (org == NULL && json_is_integer(json_object_get(in, "org_id"))) {
		snprintf(orgbuf, sizeof(orgbuf), "%lld",
		         (long long)json_integer_value(json_object_get(in, "org_id")));
		org = orgbuf;
	}
	if (w.name == NULL || w.role == NULL || org == NULL) {
		*out = auth_error("bad_request", "name, org and role are required");
		return 400;
	}
	if (strlen(w.name) == 0 || strlen(w.name) > 100) {
		*out = auth_error("bad_request", "name must be 1 to 100 characters");
		return 400;
	}
	if (auth_role_parse(w.role) == AUTH_ROLE_NONE) {
		*out = auth_error("bad_request",
		                  "role must be sensor, peer, admin, analyst, reviewer, reporter or viewer");
		return 400;
	}
	if (w.scope == NULL)
		w.scope = "*";
	if (strlen(w.scope) >= sizeof(((struct auth_caller *)0)->scope)) {
		*out = auth_error("bad_request", "scope is too long");
		return 400;
	}
	json_t *exp = json_object_get(in, "expires_in_days");
	int64_t days = 365;
	if (exp) {
		if (!json_is_integer(exp) || json_integer_value(exp) < 0 || json_integer_value(exp) > 3650) {
			*out = auth_error("bad_request", "expires_in_days must be 0 (never) to 3650");
			return 400;
		}
		days = json_integer_value(exp);
	}
	w.expires_at = days ? time_now_ms() + days * 86400000LL : 0;
	struct store_conn *c = store_reader_get(x->st);
	w.org_id = auth_org_lookup(c, org);
	store_reader_put(x->st, c);
	if (w.org_id == 0) {
		*out = auth_error("bad_request", "org names no organisation");
		return 400;
	}
	const char *prefix = auth_role_parse(w.role) == AUTH_ROLE_SENSOR ? "sensor"
	                     : auth_role_parse(w.role) == AUTH_ROLE_PEER ? "peer"
	                                                                  : "api";
	char token[AUTH_TOKEN_MAX_SIZE];
	if (auth_token_new(prefix, token, sizeof(token)) != 0) {
		*out = auth_error("internal", "cannot make a token");
		return 500;
	}
	auth_token_hash(token, w.hash);
	w.detail = json_deep_copy(in);
	int status = 201;
	if (store_write(x->st, token_create_write, &w, &w.e) != 0) {
		*out = auth_error("internal", "%s", w.e.msg);
		status = 500;
	} else {
		c = store_reader_get(x->st);
		struct err e;
		struct store_stmt *s =
			store_prepare(c, "SELECT " TOKEN_COLS " FROM tokens WHERE id = ?", &e);
		store_bind_int(s, 1, w.id);
		json_t *t = store_step(s, &e) == STORE_ROW ? token_json(s) : json_object();
		store_finalize(s);
		store_reader_put(x->st, c);
		json_object_set_new(t, "token", json_string(token));
		json_object_set_new(t, "note", json_string("the token is shown once; keep it secret"));
		*out = t;
	}
	sodium_memzero(token, sizeof(token));
	json_decref(w.detail);
	return status;
}

static int
token_revoke_write(struct store_conn *c, void *arg)
{
	struct token_write *w = arg;
	struct store_stmt *s = store_prepare(
		c, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", &w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, time_now_ms());
	store_bind_int(s, 2, w->id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	if (store_changes(c) == 0) {
		w->status = 404;
		return -1;
	}
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->id);
	return auth_audit_append(c, w->who, "token.revoke", "token", id, NULL, &w->e);
}

int
auth_svc_token_revoke(struct auth_ctx *x, const char *ref, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_TOKEN_WRITE, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct token_write w = {.who = x->caller, .id = auth_parse_id(ref)};
	if (w.id <= 0 || store_write(x->st, token_revoke_write, &w, &w.e) != 0) {
		if (w.id <= 0 || w.status == 404) {
			*out = auth_error("not_found", "no such active token");
			return 404;
		}
		*out = auth_error("internal", "%s", w.e.msg);
		return 500;
	}
	*out = json_pack("{s:b}", "revoked", 1);
	return 200;
}

/* ---- audit ---- */

int
auth_svc_audit_list(struct auth_ctx *x, const char *after_id, const char *limit, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_AUDIT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	int64_t after = 0, lim = 100;
	if ((after_id && parse_int64(after_id, 0, INT64_MAX, &after) != 0) ||
	    (limit && parse_int64(limit, 1, 1000, &lim) != 0)) {
		*out = auth_error("bad_request", "after must be a row id and limit 1 to 1000");
		return 400;
	}
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT id, ts, actor, org_id, action, object_type, object_id, detail, remote, hash"
		" FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
		&e);
	json_t *rows = json_array();
	if (s) {
		store_bind_int(s, 1, after);
		store_bind_int(s, 2, lim);
		while (store_step(s, &e) == STORE_ROW) {
			char ts[32];
			time_format_rfc3339(store_col_int(s, 1), ts, sizeof(ts));
			json_t *detail = json_loads(store_col_text(s, 7), 0, NULL);
			json_array_append_new(
				rows, json_pack("{s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:o,s:s,s:s}", "id",
			                    (json_int_t)store_col_int(s, 0), "ts", ts, "actor",
			                    store_col_text(s, 2), "org_id", (json_int_t)store_col_int(s, 3),
			                    "action", store_col_text(s, 4), "object_type",
			                    store_col_text(s, 5), "object_id", store_col_text(s, 6), "detail",
			                    detail ? detail : json_object(), "remote", store_col_text(s, 8),
			                    "hash", store_col_text(s, 9)));
		}
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	*out = json_pack("{s:o}", "entries", rows);
	return 200;
}

int
auth_svc_audit_verify(struct auth_ctx *x, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_AUDIT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	int64_t rows = 0;
	struct err e;
	err_clear(&e);
	int rc = auth_audit_verify(x->st, &rows, &e);
	*out = json_pack("{s:b,s:I}", "intact", rc == 0, "rows", (json_int_t)rows);
	if (rc != 0)
		json_object_set_new(*out, "problem", json_string(e.msg));
	return 200;
}

void
auth_caller_local(struct auth_caller *c, struct store *st)
{
	memset(c, 0, sizeof(*c));
	c->local = true;
	c->role = AUTH_ROLE_ADMIN;
	c->node_staff = true;
	c->in_community = true;
	struct passwd *pw = getpwuid(getuid());
	snprintf(c->name, sizeof(c->name), "%s", pw ? pw->pw_name : "unknown");
	snprintf(c->remote, sizeof(c->remote), "local");
	struct store_conn *conn = store_reader_get(st);
	c->org_id = auth_org_root(conn);
	store_reader_put(st, conn);
}
