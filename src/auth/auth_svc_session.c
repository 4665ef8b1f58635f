/*
 * auth_svc_session.c - logging in and out, one's own account, TOTP
 * enrolment, and the throttle on failed logins.
 *
 * Failed logins are counted per account and per source address. After a
 * few failures each attempt is slowed down; after auth.lockout_failures the
 * key is refused (429) for auth.lockout_s. Every failure is in the audit log.
 */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Failures before each attempt starts being slowed down. */
#define AUTH_SLOWDOWN_AFTER 3

struct throttle_write {
	const char *keys[2];
	bool failed; /* true: count a failure; false: clear */
	int64_t lock_after;
	int64_t lock_ms;
	const struct auth_caller *who;
	const char *username;
	const char *reason;
	struct err e;
};

static int
throttle_apply(struct store_conn *c, void *arg)
{
	struct throttle_write *t = arg;
	int64_t now = time_now_ms();
	for (int i = 0; i < 2; i++) {
		if (t->keys[i] == NULL)
			continue;
		struct store_stmt *s;
		if (t->failed) {
			s = store_prepare(
				c,
				"INSERT INTO login_throttle(key, failures, last_failure_at, locked_until)"
				" VALUES (?, 1, ?, 0) ON CONFLICT(key) DO UPDATE SET"
				" failures = failures + 1, last_failure_at = excluded.last_failure_at,"
				" locked_until = CASE WHEN failures + 1 >= ? THEN ? ELSE locked_until END",
				&t->e);
			if (s == NULL)
				return -1;
			store_bind_text(s, 1, t->keys[i]);
			store_bind_int(s, 2, now);
			store_bind_int(s, 3, t->lock_after);
			store_bind_int(s, 4, now + t->lock_ms);
		} else {
			s = store_prepare(c, "DELETE FROM login_throttle WHERE key = ?", &t->e);
			if (s == NULL)
				return -1;
			store_bind_text(s, 1, t->keys[i]);
		}
		int rc = store_step(s, &t->e);
		store_finalize(s);
		if (rc != STORE_DONE)
			return -1;
	}
	if (t->failed) {
		json_t *d = json_pack("{s:s,s:s}", "username", t->username, "reason", t->reason);
		int rc = auth_audit_append(c, t->who, "login.failed", "user", t->username, d, &t->e);
		json_decref(d);
		return rc;
	}
	return 0;
}

/* How many failures a key has and whether it is locked now. */
static void
throttle_state(struct store_conn *c, const char *key, int64_t *failures, bool *locked,
               const struct config *cfg)
{
	struct err e;
	struct store_stmt *s = store_prepare(
		c, "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = ?", &e);
	*failures = 0;
	*locked = false;
	if (s == NULL)
		return;
	store_bind_text(s, 1, key);
	if (store_step(s, &e) == STORE_ROW) {
		int64_t now = time_now_ms();
		int64_t last = store_col_int(s, 1);
		/* Failures are forgotten after a quiet lockout period. */
		if (now - last < cfg->auth_lockout_s * 1000)
			*failures = store_col_int(s, 0);
		*locked = store_col_int(s, 2) > now;
	}
	store_finalize(s);
}

static void
record_failure(struct auth_ctx *x, const char *ukey, const char *akey, const char *username,
               const char *reason)
{
	const struct config *cfg = auth_cfg(x);
	struct auth_caller anon;
	memset(&anon, 0, sizeof(anon));
	snprintf(anon.name, sizeof(anon.name), "anonymous");
	snprintf(anon.remote, sizeof(anon.remote), "%s", x->remote ? x->remote : "");
	struct throttle_write t = {
		.keys = {ukey, akey},
		.failed = true,
		.lock_after = cfg->auth_lockout_failures,
		.lock_ms = cfg->auth_lockout_s * 1000,
		.who = &anon,
		.username = username,
		.reason = reason,
	};
	if (store_write(x->st, throttle_apply, &t, &t.e) != 0)
		log_warnx("auth", "cannot record a failed login: %s", t.e.msg);
	log_info("auth", "failed login for '%s' from %s: %s", username, x->remote ? x->remote : "",
	         reason);
}

struct session_write {
	int64_t user_id;
	char sid_hash[65];
	char csrf[65];
	int64_t now, expires;
	const char *remote;
	int64_t totp_step; /* -1: no TOTP step to record */
	int64_t recovery_id;
	const char *ukey, *akey;
	struct auth_caller who;
	struct err e;
};

static int
session_create(struct store_conn *c, void *arg)
{
	struct session_write *w = arg;
	struct store_stmt *s;
	if (w->totp_step >= 0) {
		/* The guard on the step makes a concurrent reuse of the same code
		 * change nothing, and so fail. */
		s = store_prepare(c,
		                  "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?",
		                  &w->e);
		if (s == NULL)
			return -1;
		store_bind_int(s, 1, w->totp_step);
		store_bind_int(s, 2, w->user_id);
		store_bind_int(s, 3, w->totp_step);
		int rc = store_step(s, &w->e);
		store_finalize(s);
		if (rc != STORE_DONE || store_changes(c) != 1) {
			err_set(&w->e, "the code was already used");
			return -1;
		}
	}
	if (w->recovery_id > 0) {
		s = store_prepare(c, "UPDATE recovery_codes SET used_at = ? WHERE id = ? AND used_at IS NULL",
		                  &w->e);
		if (s == NULL)
			return -1;
		store_bind_int(s, 1, w->now);
		store_bind_int(s, 2, w->recovery_id);
		int rc = store_step(s, &w->e);
		store_finalize(s);
		if (rc != STORE_DONE || store_changes(c) != 1) {
			err_set(&w->e, "the recovery code was already used");
			return -1;
		}
	}
	s = store_prepare(c,
	                  "INSERT INTO sessions(id_hash, user_id, csrf, created_at, last_seen_at,"
	                  " expires_at, remote) VALUES (?,?,?,?,?,?,?)",
	                  &w->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, w->sid_hash);
	store_bind_int(s, 2, w->user_id);
	store_bind_text(s, 3, w->csrf);
	store_bind_int(s, 4, w->now);
	store_bind_int(s, 5, w->now);
	store_bind_int(s, 6, w->expires);
	store_bind_text(s, 7, w->remote ? w->remote : "");
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	/* Old sessions of anyone are swept here, a cheap place to do it. */
	s = store_prepare(c, "DELETE FROM sessions WHERE expires_at < ?", &w->e);
	if (s) {
		store_bind_int(s, 1, w->now);
		(void)store_step(s, &w->e);
		store_finalize(s);
	}
	s = store_prepare(c, "DELETE FROM login_throttle WHERE key = ? OR key = ?", &w->e);
	if (s) {
		store_bind_text(s, 1, w->ukey);
		store_bind_text(s, 2, w->akey);
		(void)store_step(s, &w->e);
		store_finalize(s);
	}
	json_t *d = json_pack("{s:b}", "recovery_code", w->recovery_id > 0);
	rc = auth_audit_append(c, &w->who, "login", "user", w->who.name, d, &w->e);
	json_decref(d);
	return rc;
}

/* A fixed argon2id hash to verify against when the user does not exist, so
 * that the answer takes as long as for a real account. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void
dummy_init(void)
{
	struct err e;
	if (auth_password_hash("not-a-real-password-0f3a", dummy_hash, &e) != 0)
		dummy_hash[0] = '\0';
}

int
auth_svc_login(struct auth_ctx *x, const json_t *in, json_t **out, char *cookie,
               size_t cookie_len)
{
	const struct config *cfg = auth_cfg(x);
	const char *username = json_string_value(json_object_get(in, "username"));
	const char *password = json_string_value(json_object_get(in, "password"));
	const char *code = json_string_value(json_object_get(in, "totp"));
	const char *recovery = json_string_value(json_object_get(in, "recovery_code"));
	if (username == NULL || password == NULL || strlen(username) > 128) {
		*out = auth_error("bad_request", "username and password are required");
		return 400;
	}
	char ukey[160], akey[96];
	snprintf(ukey, sizeof(ukey), "user:%s", username);
	snprintf(akey, sizeof(akey), "addr:%s", x->remote ? x->remote : "");

	struct store_conn *c = store_reader_get(x->st);
	int64_t uf, af;
	bool ulock, alock;
	throttle_state(c, ukey, &uf, &ulock, cfg);
	throttle_state(c, akey, &af, &alock, cfg);
	if (ulock || alock) {
		store_reader_put(x->st, c);
		record_failure(x, NULL, NULL, username, "locked out");
		*out = auth_error("too_many_attempts",
		                  "too many failed logins; try again in %lld seconds",
		                  (long long)cfg->auth_lockout_s);
		return 429;
	}
	int64_t worst = uf > af ? uf : af;
	if (worst >= AUTH_SLOWDOWN_AFTER) {
		/* Slow down guessing: 250 ms more for each failure, up to 2 s. */
		int64_t ms = (worst - AUTH_SLOWDOWN_AFTER + 1) * 250;
		if (ms > 2000)
			ms = 2000;
		struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}

	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT id, password_hash, totp_secret, totp_last_step, disabled, role FROM users"
		" WHERE username = ?",
		&e);
	int64_t uid = 0, last_step = -1;
	bool disabled = false;
	char hash[256] = "", stored[AUTH_SEALED_SIZE] = "", secret[AUTH_TOTP_SECRET_B32_SIZE + 32] = "";
	enum auth_role role = AUTH_ROLE_NONE;
	if (s) {
		store_bind_text(s, 1, username);
		if (store_step(s, &e) == STORE_ROW) {
			uid = store_col_int(s, 0);
			snprintf(hash, sizeof(hash), "%s", store_col_text(s, 1));
			snprintf(stored, sizeof(stored), "%s", store_col_text(s, 2));
			last_step = store_col_int(s, 3);
			disabled = store_col_int(s, 4) != 0;
			role = auth_role_parse(store_col_text(s, 5));
		}
		store_finalize(s);
	}
	bool pw_ok;
	if (uid == 0) {
		pthread_once(&dummy_once, dummy_init);
		/* Same work as for a real account; the answer is no anyway. */
		bool ignored = auth_password_verify(dummy_hash, password);
		pw_ok = false && ignored;
	} else {
		pw_ok = auth_password_verify(hash, password);
	}
	if (!pw_ok || disabled) {
		store_reader_put(x->st, c);
		record_failure(x, ukey, akey, username, disabled ? "account disabled" : "wrong password");
		*out = auth_error("unauthenticated", "wrong user name or password");
		return 401;
	}

	/* The password was right: only now is the second factor opened. */
	if (stored[0] && auth_unseal(cfg, stored, secret, sizeof(secret), &e) != 0) {
		store_reader_put(x->st, c);
		log_errorx("auth", "user %s: TOTP secret: %s", username, e.msg);
		*out = auth_error("internal", "this account's second factor cannot be checked on this "
		                              "node: an admin must reset it");
		return 500;
	}
	struct session_write w = {.user_id = uid, .totp_step = -1, .ukey = ukey, .akey = akey};
	if (secret[0]) {
		if (code) {
			int64_t step = -1;
			enum auth_totp_result tr =
				auth_totp_verify(secret, code, time_now_ms() / 1000, last_step, &step);
			if (tr != AUTH_TOTP_OK) {
				store_reader_put(x->st, c);
				const char *why = tr == AUTH_TOTP_REUSED ? "TOTP code already used"
				                                         : "wrong TOTP code";
				record_failure(x, ukey, akey, username, why);
				*out = auth_error("unauthenticated", "%s", why);
				return 401;
			}
			w.totp_step = step;
		} else if (recovery) {
			char norm[AUTH_RECOVERY_CODE_SIZE];
			bool found = false;
			if (auth_recovery_code_normalize(recovery, norm) == 0) {
				s = store_prepare(c, "SELECT id, code_hash FROM recovery_codes"
				                     " WHERE user_id = ? AND used_at IS NULL",
				                  &e);
				if (s) {
					store_bind_int(s, 1, uid);
					while (!found && store_step(s, &e) == STORE_ROW) {
						if (auth_password_verify(store_col_text(s, 1), norm)) {
							w.recovery_id = store_col_int(s, 0);
							found = true;
						}
					}
					store_finalize(s);
				}
			}
			if (!found) {
				store_reader_put(x->st, c);
				record_failure(x, ukey, akey, username, "wrong recovery code");
				*out = auth_error("unauthenticated", "wrong or used recovery code");
				return 401;
			}
		} else {
			store_reader_put(x->st, c);
			/* Counted as a failure: otherwise this answer would confirm a
			 * guessed password without limit. */
			record_failure(x, ukey, akey, username, "second factor missing");
			*out = auth_error("mfa_required", "this account needs a TOTP code (\"totp\") or a "
			                                  "recovery code (\"recovery_code\")");
			return 401;
		}
	} else if (auth_role_needs_mfa(cfg, role)) {
		store_reader_put(x->st, c);
		record_failure(x, ukey, akey, username, "second factor not enrolled");
		*out = auth_error("mfa_enrolment_required",
		                  "role %s must use two-factor login, and this account has no TOTP "
		                  "secret: an admin must reset it",
		                  auth_role_name(role));
		return 403;
	}
	if (auth_load_user_caller(c, uid, &w.who) != 0) {
		store_reader_put(x->st, c);
		*out = auth_error("unauthenticated", "wrong user name or password");
		return 401;
	}
	store_reader_put(x->st, c);
	snprintf(w.who.remote, sizeof(w.who.remote), "%s", x->remote ? x->remote : "");

	char sid[65];
	auth_random_hex(32, sid);
	auth_token_hash(sid, w.sid_hash);
	auth_random_hex(32, w.csrf);
	w.now = time_now_ms();
	w.expires = w.now + cfg->auth_session_max_s * 1000;
	w.remote = x->remote;
	if (store_write(x->st, session_create, &w, &w.e) != 0) {
		if (strstr(w.e.msg, "already used")) {
			record_failure(x, ukey, akey, username, w.e.msg);
			*out = auth_error("unauthenticated", "%s", w.e.msg);
			return 401;
		}
		*out = auth_error("internal", "cannot create the session: %s", w.e.msg);
		return 500;
	}
	snprintf(cookie, cookie_len, "%s", sid);
	char exp[32];
	time_format_rfc3339(w.expires, exp, sizeof(exp));
	c = store_reader_get(x->st);
	*out = json_pack("{s:o,s:s,s:s}", "user", auth_user_json(c, uid), "csrf_token", w.csrf,
	                 "expires_at", exp);
	store_reader_put(x->st, c);
	return 200;
}

struct logout_write {
	char hash[65];
	const struct auth_caller *who;
	struct err e;
};

static int
session_delete(struct store_conn *c, void *arg)
{
	struct logout_write *w = arg;
	struct store_stmt *s = store_prepare(c, "DELETE FROM sessions WHERE id_hash = ?", &w->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, w->hash);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	return auth_audit_append(c, w->who, "logout", "user", w->who->name, NULL, &w->e);
}

int
auth_svc_logout(struct auth_ctx *x, json_t **out)
{
	if (x->caller == NULL || !x->caller->via_session) {
		*out = json_pack("{s:b}", "logged_out", 1);
		return 200;
	}
	struct logout_write w = {.who = x->caller};
	memcpy(w.hash, x->caller->session_hash, sizeof(w.hash));
	if (store_write(x->st, session_delete, &w, &w.e) != 0) {
		*out = auth_error("internal", "%s", w.e.msg);
		return 500;
	}
	*out = json_pack("{s:b}", "logged_out", 1);
	return 200;
}

int
auth_svc_me(struct auth_ctx *x, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_SELF, NULL);
	if (d != AUTH_ALLOW && !(x->caller && x->caller->token_id))
		return auth_refuse(d, out);
	const struct auth_caller *c = x->caller;
	json_t *j = json_pack("{s:s,s:s,s:I,s:s,s:b,s:b}", "name", c->name, "role",
	                      auth_role_name(c->role), "org_id", (json_int_t)c->org_id, "org",
	                      c->org_name, "node_staff", c->node_staff, "in_community",
	                      c->in_community);
	if (c->user_id) {
		struct store_conn *sc = store_reader_get(x->st);
		json_object_set_new(j, "user", auth_user_json(sc, c->user_id));
		store_reader_put(x->st, sc);
	}
	if (c->token_id) {
		json_object_set_new(j, "token_id", json_integer(c->token_id));
		json_object_set_new(j, "scope", json_string(c->scope));
	}
	json_t *actions = json_array();
	for (int a = 0; a < AUTH_ACTION_COUNT; a++)
		if (auth_check(c, (enum auth_action)a, NULL) == AUTH_ALLOW)
			json_array_append_new(actions, json_string(auth_action_name((enum auth_action)a)));
	json_object_set_new(j, "actions", actions);
	*out = j;
	return 200;
}

/* ---- TOTP enrolment and password change (one's own account) ---- */

int
auth_totp_store(struct store_conn *c, struct secret_write *w)
{
	struct store_stmt *s = store_prepare(
		c, "UPDATE users SET totp_secret = ?, totp_last_step = -1, updated_at = ? WHERE id = ?",
		&w->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, w->sealed);
	store_bind_int(s, 2, time_now_ms());
	store_bind_int(s, 3, w->user_id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	s = store_prepare(c, "DELETE FROM recovery_codes WHERE user_id = ?", &w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->user_id);
	rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	for (int i = 0; i < w->ncodes; i++) {
		s = store_prepare(c, "INSERT INTO recovery_codes(user_id, code_hash) VALUES (?, ?)",
		                  &w->e);
		if (s == NULL)
			return -1;
		store_bind_int(s, 1, w->user_id);
		store_bind_text(s, 2, w->code_hashes[i]);
		rc = store_step(s, &w->e);
		store_finalize(s);
		if (rc != STORE_DONE)
			return -1;
	}
	return 0;
}

static int
totp_enrol_write(struct store_conn *c, void *arg)
{
	struct secret_write *w = arg;
	if (auth_totp_store(c, w) != 0)
		return -1;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->user_id);
	return auth_audit_append(c, w->who, "user.totp_enrol", "user", id, NULL, &w->e);
}

int
auth_secret_prepare(struct secret_write *w, const struct config *cfg)
{
	if (auth_totp_secret_new(w->secret, sizeof(w->secret)) != 0)
		return -1;
	if (auth_seal(cfg, w->secret, w->sealed, sizeof(w->sealed), &w->e) != 0)
		return -1;
	w->ncodes = 10;
	if (auth_recovery_codes_new(w->ncodes, w->codes) != 0)
		return -1;
	for (int i = 0; i < w->ncodes; i++)
		if (auth_password_hash_cost(w->codes[i], AUTH_PASSWORD_COST_FAST, w->code_hashes[i],
		                            &w->e) != 0)
			return -1;
	return 0;
}

json_t *
auth_secret_json(const struct secret_write *w, const char *username)
{
	struct buf uri = {0};
	if (auth_totp_uri("ciip", username, w->secret, &uri) != 0)
		buf_puts(&uri, "");
	json_t *codes = json_array();
	for (int i = 0; i < w->ncodes; i++)
		json_array_append_new(codes, json_string(w->codes[i]));
	json_t *j = json_pack("{s:s,s:s,s:o,s:s}", "totp_secret", w->secret, "otpauth_uri", uri.data,
	                      "recovery_codes", codes, "note",
	                      "shown once: store the secret in an authenticator app and the "
	                      "recovery codes somewhere safe");
	buf_free(&uri);
	return j;
}

int
auth_svc_totp_enrol(struct auth_ctx *x, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_SELF, NULL);
	if (d != AUTH_ALLOW || x->caller->user_id == 0)
		return auth_refuse(d == AUTH_ALLOW ? AUTH_FORBIDDEN : d, out);
	struct secret_write *w = xcalloc(1, sizeof(*w));
	w->user_id = x->caller->user_id;
	w->who = x->caller;
	int status = 200;
	if (auth_secret_prepare(w, auth_cfg(x)) != 0 ||
	    store_write(x->st, totp_enrol_write, w, &w->e) != 0) {
		*out = auth_error("internal", "cannot enrol: %s", w->e.msg);
		status = 500;
	} else {
		*out = auth_secret_json(w, x->caller->name);
	}
	sodium_memzero(w, sizeof(*w));
	free(w);
	return status;
}

struct password_write {
	int64_t user_id;
	char hash[crypto_pwhash_STRBYTES];
	const struct auth_caller *who;
	struct err e;
};

static int
password_write(struct store_conn *c, void *arg)
{
	struct password_write *w = arg;
	struct store_stmt *s =
		store_prepare(c, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", &w->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, w->hash);
	store_bind_int(s, 2, time_now_ms());
	store_bind_int(s, 3, w->user_id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	/* Every other session of the account ends with the old password. */
	s = store_prepare(c, "DELETE FROM sessions WHERE user_id = ? AND id_hash != ?", &w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->user_id);
	store_bind_text(s, 2, w->who->session_hash);
	rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->user_id);
	return auth_audit_append(c, w->who, "user.password_change", "user", id, NULL, &w->e);
}

int
auth_svc_password_change(struct auth_ctx *x, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_SELF, NULL);
	if (d != AUTH_ALLOW || x->caller->user_id == 0)
		return auth_refuse(d == AUTH_ALLOW ? AUTH_FORBIDDEN : d, out);
	const char *old = json_string_value(json_object_get(in, "current_password"));
	const char *pw = json_string_value(json_object_get(in, "new_password"));
	if (old == NULL || pw == NULL) {
		*out = auth_error("bad_request", "current_password and new_password are required");
		return 400;
	}
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	char hash[256] = "";
	struct store_stmt *s = store_prepare(c, "SELECT password_hash FROM users WHERE id = ?", &e);
	if (s) {
		store_bind_int(s, 1, x->caller->user_id);
		if (store_step(s, &e) == STORE_ROW)
			snprintf(hash, sizeof(hash), "%s", store_col_text(s, 0));
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	if (!auth_password_verify(hash, old)) {
		*out = auth_error("unauthenticated", "the current password is wrong");
		return 403;
	}
	if (auth_password_check_policy(pw, (int)auth_cfg(x)->auth_password_min_len, x->caller->name,
	                               &e) != 0) {
		*out = auth_error("weak_password", "%s", e.msg);
		return 400;
	}
	struct password_write w = {.user_id = x->caller->user_id, .who = x->caller};
	if (auth_password_hash(pw, w.hash, &w.e) != 0 || store_write(x->st, password_write, &w, &w.e)) {
		*out = auth_error("internal", "%s", w.e.msg);
		return 500;
	}
	*out = json_pack("{s:b}", "changed", 1);
	return 200;
}
