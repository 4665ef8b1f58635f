/*
 * auth_svc_user.c - people: created by an admin (or offline, to bootstrap
 * the first admin), each in one organisation with one role. Accounts whose
 * role must use two-factor login get a TOTP secret and recovery codes at
 * creation, shown once.
 */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *
auth_user_json(struct store_conn *c, int64_t id)
{
	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT u.id, u.username, u.display_name, u.email, u.role, u.org_id, o.name,"
		" u.totp_secret IS NOT NULL, u.disabled, u.created_at, u.updated_at"
		" FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = ?",
		&e);
	if (s == NULL)
		return NULL;
	store_bind_int(s, 1, id);
	json_t *u = NULL;
	if (store_step(s, &e) == STORE_ROW) {
		char created[32], updated[32];
		time_format_rfc3339(store_col_int(s, 9), created, sizeof(created));
		time_format_rfc3339(store_col_int(s, 10), updated, sizeof(updated));
		u = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:b,s:b,s:s,s:s}", "id",
		              (json_int_t)store_col_int(s, 0), "username", store_col_text(s, 1),
		              "display_name", store_col_text(s, 2), "email", store_col_text(s, 3), "role",
		              store_col_text(s, 4), "org_id", (json_int_t)store_col_int(s, 5), "org",
		              store_col_text(s, 6), "totp_enabled", (int)store_col_int(s, 7), "disabled",
		              (int)store_col_int(s, 8), "created_at", created, "updated_at", updated);
	}
	store_finalize(s);
	return u;
}

static bool
valid_username(const char *u)
{
	size_t n = strlen(u);
	if (n < 2 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)u[i]) || u[i] == '.' || u[i] == '_' || u[i] == '-'))
			return false;
	return true;
}

static bool
is_person_role(enum auth_role r)
{
	return r >= AUTH_ROLE_ADMIN && r <= AUTH_ROLE_VIEWER;
}

int
auth_svc_user_list(struct auth_ctx *x, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_USER_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(c, "SELECT id FROM users ORDER BY id", &e);
	json_t *list = json_array();
	while (s && store_step(s, &e) == STORE_ROW)
		json_array_append_new(list, auth_user_json(c, store_col_int(s, 0)));
	store_finalize(s);
	store_reader_put(x->st, c);
	*out = json_pack("{s:o}", "users", list);
	return 200;
}

static int64_t
user_lookup(struct store_conn *c, const char *ref)
{
	int64_t id = auth_parse_id(ref), found = 0;
	struct err e;
	if (id > 0)
		return store_query_int(c, "SELECT id FROM users WHERE id = ?", &found, &e, "i", id) ==
		               STORE_ROW
		           ? found
		           : 0;
	if (ref && store_query_int(c, "SELECT id FROM users WHERE username = ?", &found, &e, "s",
	                           ref) == STORE_ROW)
		return found;
	return 0;
}

int
auth_svc_user_get(struct auth_ctx *x, const char *ref, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_USER_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct store_conn *c = store_reader_get(x->st);
	int64_t id = user_lookup(c, ref);
	json_t *u = id ? auth_user_json(c, id) : NULL;
	store_reader_put(x->st, c);
	if (u == NULL) {
		*out = auth_error("not_found", "no such user");
		return 404;
	}
	*out = u;
	return 200;
}

struct user_write {
	int64_t id;
	int64_t org_id;
	const char *username, *display, *email, *role;
	char hash[crypto_pwhash_STRBYTES];
	bool set_password;
	int disabled; /* -1 unchanged */
	struct secret_write *secret; /* NULL: no TOTP change */
	bool clear_totp;
	const struct auth_caller *who;
	json_t *detail;
	int status;
	char msg[256];
	struct err e;
};

static int
ufail(struct user_write *w, int status, const char *msg)
{
	w->status = status;
	snprintf(w->msg, sizeof(w->msg), "%s", msg);
	return -1;
}

static int
user_create_write(struct store_conn *c, void *arg)
{
	struct user_write *w = arg;
	int64_t now = time_now_ms();
	struct store_stmt *s = store_prepare(
		c,
		"INSERT INTO users(org_id, username, display_name, email, role, password_hash,"
		" created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
		&w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->org_id);
	store_bind_text(s, 2, w->username);
	store_bind_text(s, 3, w->display ? w->display : "");
	store_bind_text(s, 4, w->email ? w->email : "");
	store_bind_text(s, 5, w->role);
	store_bind_text(s, 6, w->hash);
	store_bind_int(s, 7, now);
	store_bind_int(s, 8, now);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc == STORE_CONSTRAINT)
		return ufail(w, 409, "that user name is taken");
	if (rc != STORE_DONE)
		return -1;
	w->id = store_last_insert_id(c);
	if (w->secret) {
		w->secret->user_id = w->id;
		if (auth_totp_store(c, w->secret) != 0) {
			w->e = w->secret->e;
			return -1;
		}
	}
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->id);
	return auth_audit_append(c, w->who, "user.create", "user", id, w->detail, &w->e);
}

/* The request without secrets, for the audit log. */
static json_t *
redacted(const json_t *in)
{
	json_t *d = json_deep_copy(in);
	if (json_object_get(d, "password"))
		json_object_set_new(d, "password", json_string("(redacted)"));
	return d;
}

int
auth_svc_user_create(struct auth_ctx *x, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_USER_WRITE, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	const struct config *cfg = auth_cfg(x);
	struct user_write w = {.who = x->caller, .disabled = -1};
	w.username = json_string_value(json_object_get(in, "username"));
	w.display = json_string_value(json_object_get(in, "display_name"));
	w.email = json_string_value(json_object_get(in, "email"));
	w.role = json_string_value(json_object_get(in, "role"));
	const char *password = json_string_value(json_object_get(in, "password"));
	json_t *org = json_object_get(in, "org");
	if (org == NULL)
		org = json_object_get(in, "org_id");
	if (w.username == NULL || w.role == NULL || password == NULL || org == NULL) {
		*out = auth_error("bad_request", "username, org, role and password are required");
		return 400;
	}
	if (!valid_username(w.username)) {
		*out = auth_error("bad_request", "username must be 2 to 64 letters, digits, '.', '_' or '-'");
		return 400;
	}
	enum auth_role role = auth_role_parse(w.role);
	if (!is_person_role(role)) {
		*out = auth_error("bad_request",
		                  "role must be admin, analyst, reviewer, reporter or viewer "
		                  "(machines use tokens)");
		return 400;
	}
	struct err e;
	if (auth_password_check_policy(password, (int)cfg->auth_password_min_len, w.username, &e)) {
		*out = auth_error("weak_password", "%s", e.msg);
		return 400;
	}
	char orgref[64];
	if (json_is_integer(org))
		snprintf(orgref, sizeof(orgref), "%lld", (long long)json_integer_value(org));
	else
		snprintf(orgref, sizeof(orgref), "%s", json_string_value(org) ? json_string_value(org) : "");
	struct store_conn *c = store_reader_get(x->st);
	w.org_id = auth_org_lookup(c, orgref);
	store_reader_put(x->st, c);
	if (w.org_id == 0) {
		*out = auth_error("bad_request", "org names no organisation");
		return 400;
	}
	if (auth_password_hash(password, w.hash, &e) != 0) {
		*out = auth_error("internal", "%s", e.msg);
		return 500;
	}
	bool want_totp = json_is_true(json_object_get(in, "totp")) || auth_role_needs_mfa(cfg, role);
	if (want_totp) {
		w.secret = xcalloc(1, sizeof(*w.secret));
		w.secret->who = x->caller;
		if (auth_secret_prepare(w.secret, cfg) != 0) {
			log_errorx("auth", "TOTP secret: %s", w.secret->e.msg);
			sodium_memzero(w.secret, sizeof(*w.secret));
			free(w.secret);
			*out = auth_error("internal", "cannot make a TOTP secret");
			return 500;
		}
	}
	w.detail = redacted(in);
	int status = 201;
	if (store_write(x->st, user_create_write, &w, &w.e) != 0) {
		status = w.status ? w.status : 500;
		*out = auth_error(w.status == 409 ? "conflict" : "internal", "%s",
		                  w.status ? w.msg : w.e.msg);
	} else {
		c = store_reader_get(x->st);
		*out = json_pack("{s:o}", "user", auth_user_json(c, w.id));
		store_reader_put(x->st, c);
		if (w.secret)
			json_object_set_new(*out, "second_factor", auth_secret_json(w.secret, w.username));
	}
	json_decref(w.detail);
	if (w.secret) {
		sodium_memzero(w.secret, sizeof(*w.secret));
		free(w.secret);
	}
	sodium_memzero(w.hash, sizeof(w.hash));
	return status;
}

static int
user_update_write(struct store_conn *c, void *arg)
{
	struct user_write *w = arg;
	struct store_stmt *s = store_prepare(
		c,
		"UPDATE users SET role = COALESCE(?, role), display_name = COALESCE(?, display_name),"
		" email = COALESCE(?, email), org_id = CASE WHEN ? > 0 THEN ? ELSE org_id END,"
		" disabled = CASE WHEN ? < 0 THEN disabled ELSE ? END,"
		" password_hash = CASE WHEN ? THEN ? ELSE password_hash END,"
		" totp_secret = CASE WHEN ? THEN NULL ELSE totp_secret END, updated_at = ?"
		" WHERE id = ?",
		&w->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, w->role);
	store_bind_text(s, 2, w->display);
	store_bind_text(s, 3, w->email);
	store_bind_int(s, 4, w->org_id);
	store_bind_int(s, 5, w->org_id);
	store_bind_int(s, 6, w->disabled);
	store_bind_int(s, 7, w->disabled);
	store_bind_int(s, 8, w->set_password);
	store_bind_text(s, 9, w->hash);
	store_bind_int(s, 10, w->clear_totp);
	store_bind_int(s, 11, time_now_ms());
	store_bind_int(s, 12, w->id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	if (w->secret) {
		w->secret->user_id = w->id;
		if (auth_totp_store(c, w->secret) != 0) {
			w->e = w->secret->e;
			return -1;
		}
	}
	/* Disabling, a new password or a new role ends the user's sessions. */
	if (w->disabled == 1 || w->set_password || w->role || w->org_id > 0) {
		s = store_prepare(c, "DELETE FROM sessions WHERE user_id = ?", &w->e);
		if (s == NULL)
			return -1;
		store_bind_int(s, 1, w->id);
		rc = store_step(s, &w->e);
		store_finalize(s);
		if (rc != STORE_DONE)
			return -1;
	}
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->id);
	return auth_audit_append(c, w->who, "user.update", "user", id, w->detail, &w->e);
}

int
auth_svc_user_update(struct auth_ctx *x, const char *ref, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_USER_WRITE, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	const struct config *cfg = auth_cfg(x);
	struct user_write w = {.who = x->caller, .disabled = -1};
	struct store_conn *c = store_reader_get(x->st);
	w.id = user_lookup(c, ref);
	json_t *cur = w.id ? auth_user_json(c, w.id) : NULL;
	const char *orgref = json_string_value(json_object_get(in, "org"));
	if (orgref)
		w.org_id = auth_org_lookup(c, orgref);
	store_reader_put(x->st, c);
	if (cur == NULL) {
		*out = auth_error("not_found", "no such user");
		return 404;
	}
	if (orgref && w.org_id == 0) {
		json_decref(cur);
		*out = auth_error("bad_request", "org names no organisation");
		return 400;
	}
	w.role = json_string_value(json_object_get(in, "role"));
	w.display = json_string_value(json_object_get(in, "display_name"));
	w.email = json_string_value(json_object_get(in, "email"));
	json_t *dis = json_object_get(in, "disabled");
	if (dis)
		w.disabled = json_is_true(dis) ? 1 : 0;
	if (w.role && !is_person_role(auth_role_parse(w.role))) {
		json_decref(cur);
		*out = auth_error("bad_request", "role must be admin, analyst, reviewer, reporter or viewer");
		return 400;
	}
	const char *password = json_string_value(json_object_get(in, "password"));
	struct err e;
	const char *uname = json_string_value(json_object_get(cur, "username"));
	if (password) {
		if (auth_password_check_policy(password, (int)cfg->auth_password_min_len, uname, &e) ||
		    auth_password_hash(password, w.hash, &e)) {
			json_decref(cur);
			*out = auth_error("weak_password", "%s", e.msg);
			return 400;
		}
		w.set_password = true;
	}
	enum auth_role newrole = auth_role_parse(w.role ? w.role : json_string_value(json_object_get(cur, "role")));
	bool has_totp = json_is_true(json_object_get(cur, "totp_enabled"));
	bool reset = json_is_true(json_object_get(in, "reset_totp"));
	if (reset || (!has_totp && auth_role_needs_mfa(cfg, newrole))) {
		w.secret = xcalloc(1, sizeof(*w.secret));
		w.secret->who = x->caller;
		if (auth_secret_prepare(w.secret, cfg) != 0) {
			log_errorx("auth", "TOTP secret: %s", w.secret->e.msg);
			sodium_memzero(w.secret, sizeof(*w.secret));
			free(w.secret);
			json_decref(cur);
			*out = auth_error("internal", "cannot make a TOTP secret");
			return 500;
		}
	}
	w.detail = redacted(in);
	int status = 200;
	if (store_write(x->st, user_update_write, &w, &w.e) != 0) {
		status = 500;
		*out = auth_error("internal", "%s", w.e.msg);
	} else {
		c = store_reader_get(x->st);
		*out = json_pack("{s:o}", "user", auth_user_json(c, w.id));
		store_reader_put(x->st, c);
		if (w.secret)
			json_object_set_new(*out, "second_factor", auth_secret_json(w.secret, uname));
	}
	json_decref(cur);
	json_decref(w.detail);
	if (w.secret) {
		sodium_memzero(w.secret, sizeof(*w.secret));
		free(w.secret);
	}
	return status;
}

static int
user_delete_write(struct store_conn *c, void *arg)
{
	struct user_write *w = arg;
	struct store_stmt *s = store_prepare(c, "DELETE FROM users WHERE id = ?", &w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->id);
	return auth_audit_append(c, w->who, "user.delete", "user", id, NULL, &w->e);
}

int
auth_svc_user_delete(struct auth_ctx *x, const char *ref, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_USER_WRITE, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct user_write w = {.who = x->caller};
	struct store_conn *c = store_reader_get(x->st);
	w.id = user_lookup(c, ref);
	store_reader_put(x->st, c);
	if (w.id == 0) {
		*out = auth_error("not_found", "no such user");
		return 404;
	}
	if (x->caller->user_id == w.id) {
		*out = auth_error("conflict", "you cannot delete your own account");
		return 409;
	}
	if (store_write(x->st, user_delete_write, &w, &w.e) != 0) {
		*out = auth_error("internal", "%s", w.e.msg);
		return 500;
	}
	*out = json_pack("{s:b}", "deleted", 1);
	return 200;
}
