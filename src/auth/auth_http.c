/*
 * auth_http.c - who is asking: the before-hook that turns a session cookie,
 * a Bearer/Token header or HTTP Basic into a caller (and enforces CSRF on
 * sessions), and the /api/v1 account routes, thin wrappers over the
 * services.
 */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_MAX_HASHING 2

static struct config default_cfg;
static pthread_once_t default_cfg_once = PTHREAD_ONCE_INIT;

static void
default_cfg_init(void)
{
	config_defaults(&default_cfg);
}

const struct config *
auth_cfg(const struct auth_ctx *x)
{
	if (x->cfg)
		return x->cfg;
	pthread_once(&default_cfg_once, default_cfg_init);
	return &default_cfg;
}

int64_t
auth_parse_id(const char *s)
{
	int64_t v;
	if (s == NULL || parse_int64(s, 1, INT64_MAX, &v) != 0)
		return -1;
	return v;
}

bool
auth_role_needs_mfa(const struct config *cfg, enum auth_role r)
{
	const char *name = auth_role_name(r);
	size_t n = strlen(name);
	for (const char *p = cfg->auth_mfa_roles; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

bool
auth_password_verify_bounded(struct auth *a, const char *hash, const char *pw)
{
	pthread_mutex_lock(&a->hash_mu);
	while (a->hashing >= AUTH_MAX_HASHING)
		pthread_cond_wait(&a->hash_cond, &a->hash_mu);
	a->hashing++;
	pthread_mutex_unlock(&a->hash_mu);
	bool ok = auth_password_verify(hash, pw);
	pthread_mutex_lock(&a->hash_mu);
	a->hashing--;
	pthread_cond_signal(&a->hash_cond);
	pthread_mutex_unlock(&a->hash_mu);
	return ok;
}

int
auth_load_user_caller(struct store_conn *c, int64_t user_id, struct auth_caller *out)
{
	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT u.id, u.org_id, u.username, u.role, u.disabled, o.name, o.community,"
		" o.parent_id IS NULL FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = ?",
		&e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, user_id);
	int rc = -1;
	if (store_step(s, &e) == STORE_ROW && store_col_int(s, 4) == 0) {
		memset(out, 0, sizeof(*out));
		out->user_id = store_col_int(s, 0);
		out->org_id = store_col_int(s, 1);
		snprintf(out->name, sizeof(out->name), "%s", store_col_text(s, 2));
		out->role = auth_role_parse(store_col_text(s, 3));
		snprintf(out->org_name, sizeof(out->org_name), "%s", store_col_text(s, 5));
		out->in_community = store_col_int(s, 6) != 0;
		out->node_staff = store_col_int(s, 7) != 0;
		rc = 0;
	}
	store_finalize(s);
	return rc;
}

int
auth_token_resolve(struct store *st, const char *token, struct auth_caller *out, struct err *e)
{
	char hash[65];
	auth_token_hash(token, hash);
	struct store_conn *c = store_reader_get(st);
	struct store_stmt *s = store_prepare(
		c,
		"SELECT t.id, t.org_id, t.name, t.role, t.scope, t.expires_at, t.revoked_at, o.name,"
		" o.community, o.parent_id IS NULL FROM tokens t JOIN orgs o ON o.id = t.org_id"
		" WHERE t.token_hash = ?",
		e);
	int rc = -1;
	if (s == NULL) {
		store_reader_put(st, c);
		return -1;
	}
	store_bind_text(s, 1, hash);
	if (store_step(s, e) != STORE_ROW) {
		err_set(e, "unknown token");
	} else if (!store_col_null(s, 6)) {
		err_set(e, "the token was revoked");
	} else if (!store_col_null(s, 5) && store_col_int(s, 5) <= time_now_ms()) {
		err_set(e, "the token has expired");
	} else {
		memset(out, 0, sizeof(*out));
		out->token_id = store_col_int(s, 0);
		out->org_id = store_col_int(s, 1);
		snprintf(out->name, sizeof(out->name), "%s", store_col_text(s, 2));
		out->role = auth_role_parse(store_col_text(s, 3));
		snprintf(out->scope, sizeof(out->scope), "%s", store_col_text(s, 4));
		snprintf(out->org_name, sizeof(out->org_name), "%s", store_col_text(s, 7));
		out->in_community = store_col_int(s, 8) != 0;
		out->node_staff = store_col_int(s, 9) != 0;
		rc = 0;
	}
	store_finalize(s);
	store_reader_put(st, c);
	return rc;
}

int
auth_token_check(struct store *st, const char *token, struct auth_caller *out, struct err *e)
{
	return auth_token_resolve(st, token, out, e);
}

/* Finds a session by the cookie's value; checks idle and absolute expiry.
 * Refreshes last_seen at most once a minute (a write per request would make
 * every read a write). */
struct touch {
	char hash[65];
	int64_t now;
};

static int
touch_session(struct store_conn *c, void *arg)
{
	struct touch *t = arg;
	struct err e;
	struct store_stmt *s =
		store_prepare(c, "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", &e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, t->now);
	store_bind_text(s, 2, t->hash);
	int rc = store_step(s, &e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

static int
session_resolve(struct auth *a, const char *sid, struct auth_caller *out, char *csrf,
                size_t csrf_len)
{
	char hash[65];
	auth_token_hash(sid, hash);
	struct store_conn *c = store_reader_get(a->st);
	struct err e;
	struct store_stmt *s = store_prepare(
		c, "SELECT user_id, csrf, last_seen_at, expires_at FROM sessions WHERE id_hash = ?", &e);
	int rc = -1;
	int64_t now = time_now_ms(), last = 0;
	if (s) {
		store_bind_text(s, 1, hash);
		if (store_step(s, &e) == STORE_ROW) {
			int64_t uid = store_col_int(s, 0);
			last = store_col_int(s, 2);
			bool idle = now - last > a->cfg->auth_session_idle_s * 1000;
			bool expired = now >= store_col_int(s, 3);
			snprintf(csrf, csrf_len, "%s", store_col_text(s, 1));
			store_finalize(s);
			s = NULL;
			if (!idle && !expired && auth_load_user_caller(c, uid, out) == 0) {
				out->via_session = true;
				memcpy(out->session_hash, hash, sizeof(hash));
				rc = 0;
			}
		}
		store_finalize(s);
	}
	store_reader_put(a->st, c);
	if (rc == 0 && now - last > 60000) {
		struct touch t;
		memcpy(t.hash, hash, sizeof(hash));
		t.now = now;
		struct err we;
		if (store_write(a->st, touch_session, &t, &we) != 0)
			log_warnx("auth", "cannot refresh a session: %s", we.msg);
	}
	return rc;
}

static void
basic_cache_key(const char *user, const char *pw, char out[65])
{
	struct buf b = {0};
	buf_puts(&b, user);
	buf_append(&b, "", 1);
	buf_puts(&b, pw);
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(b.data, b.len, md, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
	buf_free(&b);
}

/* HTTP Basic with a person's password. Refused for roles that must use a
 * second factor: Basic cannot carry one. */
static int
basic_password(struct auth *a, const char *user, const char *pw, struct auth_caller *out,
               struct err *e)
{
	char key[65];
	basic_cache_key(user, pw, key);
	int64_t now = time_now_ms();
	pthread_mutex_lock(&a->mu);
	for (int i = 0; i < AUTH_BASIC_CACHE; i++) {
		if (a->basic[i].expires_ms > now && strcmp(a->basic[i].key, key) == 0) {
			*out = a->basic[i].caller;
			pthread_mutex_unlock(&a->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&a->mu);

	struct store_conn *c = store_reader_get(a->st);
	struct store_stmt *s = store_prepare(
		c, "SELECT id, password_hash, disabled FROM users WHERE username = ?", e);
	int64_t uid = 0;
	char hash[256] = "";
	if (s) {
		store_bind_text(s, 1, user);
		if (store_step(s, e) == STORE_ROW && store_col_int(s, 2) == 0) {
			uid = store_col_int(s, 0);
			snprintf(hash, sizeof(hash), "%s", store_col_text(s, 1));
		}
		store_finalize(s);
	}
	int rc = -1;
	if (uid && auth_password_verify_bounded(a, hash, pw) && auth_load_user_caller(c, uid, out) == 0)
		rc = 0;
	store_reader_put(a->st, c);
	if (rc != 0) {
		err_set(e, "wrong user name or password");
		return -1;
	}
	if (auth_role_needs_mfa(a->cfg, out->role)) {
		err_set(e, "role %s must log in with a second factor; use a session or an API token",
		        auth_role_name(out->role));
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	int slot = 0;
	for (int i = 1; i < AUTH_BASIC_CACHE; i++)
		if (a->basic[i].expires_ms < a->basic[slot].expires_ms)
			slot = i;
	memcpy(a->basic[slot].key, key, sizeof(key));
	a->basic[slot].expires_ms = now + 60000;
	a->basic[slot].caller = *out;
	pthread_mutex_unlock(&a->mu);
	return 0;
}

static int
decode_basic(const char *b64, char *user, size_t ulen, char *pw, size_t plen)
{
	size_t n = strlen(b64);
	if (n == 0 || n > 4096)
		return -1;
	unsigned char *out = xmalloc(n);
	int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (len < 0) {
		free(out);
		return -1;
	}
	/* EVP_DecodeBlock counts padding as zero bytes. */
	while (n > 0 && b64[n - 1] == '=') {
		len--;
		n--;
	}
	char *colon = memchr(out, ':', (size_t)len);
	int rc = -1;
	if (colon) {
		size_t ul = (size_t)(colon - (char *)out), pl = (size_t)len - ul - 1;
		if (ul < ulen && pl < plen && memchr(out, '\0', (size_t)len) == NULL) {
			memcpy(user, out, ul);
			user[ul] = '\0';
			memcpy(pw, colon + 1, pl);
			pw[pl] = '\0';
			rc = 0;
		}
	}
	free(out);
	return rc;
}

static const char *
cookie_value(const char *cookies, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	for (const char *p = cookies; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			const char *v = p + n + 1;
			size_t vl = strcspn(v, ";");
			if (vl >= len)
				return NULL;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return out;
		}
		p = strchr(p, ';');
	}
	return NULL;
}

static void
free_caller(void *p)
{
	free(p);
}

static bool
refuse(struct http_req *r, int status, const char *code, const char *msg)
{
	if (status == 401)
		http_resp_header(r, "WWW-Authenticate", "Basic realm=\"ciip\", charset=\"UTF-8\"");
	http_respond_error(r, status, code, "%s", msg);
	return false;
}

static bool
before(struct http_req *r, void *arg)
{
	struct auth *a = arg;
	struct auth_caller *c = xcalloc(1, sizeof(*c));
	struct err e;
	err_clear(&e);
	const char *authz = http_req_header(r, "Authorization");
	char cookie[128];
	const char *cookies = http_req_header(r, "Cookie");
	const char *sid = cookies ? cookie_value(cookies, AUTH_SESSION_COOKIE, cookie, sizeof(cookie))
	                          : NULL;
	int rc = 1; /* 1: anonymous */
	if (authz) {
		if (strncasecmp(authz, "Bearer ", 7) == 0 || strncasecmp(authz, "Token ", 6) == 0) {
			const char *tok = authz + (authz[0] == 'B' || authz[0] == 'b' ? 7 : 6);
			while (*tok == ' ')
				tok++;
			rc = auth_token_resolve(a->st, tok, c, &e);
		} else if (strncasecmp(authz, "Basic ", 6) == 0) {
			char user[256], pw[1100];
			if (decode_basic(authz + 6, user, sizeof(user), pw, sizeof(pw)) != 0) {
				err_set(&e, "malformed Basic credentials");
				rc = -1;
			} else if (strncmp(pw, "ciip_", 5) == 0) {
				rc = auth_token_resolve(a->st, pw, c, &e);
			} else {
				rc = basic_password(a, user, pw, c, &e);
			}
			sodium_memzero(pw, sizeof(pw));
		} else {
			err_set(&e, "unsupported Authorization scheme");
			rc = -1;
		}
	} else if (sid) {
		char csrf[80] = "";
		rc = session_resolve(a, sid, c, csrf, sizeof(csrf));
		if (rc != 0) {
			err_set(&e, "the session has ended; log in again");
		} else {
			enum http_method m = http_req_method_id(r);
			bool changes = !(m == HTTP_GET || m == HTTP_HEAD || m == HTTP_OPTIONS);
			const char *sent = http_req_header(r, "X-CSRF-Token");
			if (changes && (sent == NULL || !str_secret_eq(sent, csrf))) {
				free(c);
				return refuse(r, 403, "csrf", "a state-changing request from a session needs "
				                              "the X-CSRF-Token header");
			}
		}
	}
	if (rc < 0) {
		free(c);
		log_info("auth", "refused credentials from %s for %s %s: %s", http_req_remote(r),
		         http_req_method(r), http_req_path(r), e.msg);
		return refuse(r, 401, "unauthenticated", e.msg);
	}
	if (rc == 1) {
		free(c);
		return true;
	}
	snprintf(c->remote, sizeof(c->remote), "%s", http_req_remote(r));
	http_req_set_caller(r, c, free_caller);
	return true;
}

const struct auth_caller *
auth_caller_of(struct http_req *r)
{
	return http_req_caller(r);
}

void
auth_ctx_of(struct auth_ctx *x, struct auth *a, struct http_req *r)
{
	x->st = a->st;
	x->cfg = a->cfg;
	x->caller = auth_caller_of(r);
	x->remote = http_req_remote(r);
}

static void
add_query(const char *k, const char *v, void *arg)
{
	json_t *q = arg;
	if (json_object_get(q, k) == NULL && strlen(k) < 64 && strlen(v) < 1024)
		json_object_set_new(q, k, json_string(v));
}

json_t *
auth_http_query(struct http_req *r)
{
	json_t *q = json_object();
	http_req_query_each(r, add_query, q);
	return q;
}

void
auth_http_reply(struct http_req *r, int status, json_t *out)
{
	if (out == NULL)
		out = json_object();
	http_respond_json(r, status, out);
}

struct auth *
auth_new(struct store *st, const struct config *cfg)
{
	auth_crypto_init();
	struct auth *a = xcalloc(1, sizeof(*a));
	a->st = st;
	a->cfg = cfg;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->hash_mu, NULL);
	pthread_cond_init(&a->hash_cond, NULL);
	return a;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->hash_mu);
	pthread_cond_destroy(&a->hash_cond);
	free(a);
}

/* ---- routes ---- */

static json_t *
body_or_reply(struct http_req *r)
{
	return http_req_json(r); /* answers 400 itself on bad JSON */
}

static void
h_login(struct http_req *r, void *arg)
{
	struct auth *a = arg;
	json_t *in = body_or_reply(r);
	if (in == NULL)
		return;
	struct auth_ctx x;
	auth_ctx_of(&x, a, r);
	x.caller = NULL;
	json_t *out = NULL;
	char sid[128] = "";
	int status = auth_svc_login(&x, in, &out, sid, sizeof(sid));
	json_decref(in);
	if (status == 200 && sid[0]) {
		char cookie[512];
		snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
		         AUTH_SESSION_COOKIE, sid, (long long)a->cfg->auth_session_max_s,
		         http_req_tls(r) ? "; Secure" : "");
		http_resp_header(r, "Set-Cookie", cookie);
		sodium_memzero(sid, sizeof(sid));
	}
	if (status == 429)
		http_resp_header(r, "Retry-After", "60");
	auth_http_reply(r, status, out);
}

static void
h_logout(struct http_req *r, void *arg)
{
	struct auth_ctx x;
	auth_ctx_of(&x, arg, r);
	json_t *out = NULL;
	int status = auth_svc_logout(&x, &out);
	char cookie[128];
	snprintf(cookie, sizeof(cookie), "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
	         AUTH_SESSION_COOKIE);
	http_resp_header(r, "Set-Cookie", cookie);
	auth_http_reply(r, status, out);
}

#define CTX(x, arg, r) auth_ctx_of((x), (arg), (r))
#define SIMPLE(name, call) AUTH_HANDLER(name, CTX, call)
#define WITH_BODY(name, call) AUTH_HANDLER_BODY(name, CTX, call)

SIMPLE(h_me, auth_svc_me(&x, &out))
SIMPLE(h_totp, auth_svc_totp_enrol(&x, &out))
WITH_BODY(h_password, auth_svc_password_change(&x, in, &out))
SIMPLE(h_org_list, auth_svc_org_list(&x, &out))
SIMPLE(h_org_get, auth_svc_org_get(&x, http_req_param(r, "id"), &out))
WITH_BODY(h_org_create, auth_svc_org_create(&x, in, &out))
WITH_BODY(h_org_update, auth_svc_org_update(&x, http_req_param(r, "id"), in, &out))
SIMPLE(h_org_delete, auth_svc_org_delete(&x, http_req_param(r, "id"), &out))
SIMPLE(h_user_list, auth_svc_user_list(&x, &out))
SIMPLE(h_user_get, auth_svc_user_get(&x, http_req_param(r, "id"), &out))
WITH_BODY(h_user_create, auth_svc_user_create(&x, in, &out))
WITH_BODY(h_user_update, auth_svc_user_update(&x, http_req_param(r, "id"), in, &out))
SIMPLE(h_user_delete, auth_svc_user_delete(&x, http_req_param(r, "id"), &out))
SIMPLE(h_token_list, auth_svc_token_list(&x, &out))
WITH_BODY(h_token_create, auth_svc_token_create(&x, in, &out))
SIMPLE(h_token_revoke, auth_svc_token_revoke(&x, http_req_param(r, "id"), &out))
SIMPLE(h_audit_list,
       auth_svc_audit_list(&x, http_req_query(r, "after"), http_req_query(r, "limit"), &out))
SIMPLE(h_audit_verify, auth_svc_audit_verify(&x, &out))

void
auth_routes(struct auth *a, struct http_server *srv)
{
	http_set_before(srv, before, a);
	http_route(srv, HTTP_POST, "/api/v1/login", h_login, a);
	http_route(srv, HTTP_POST, "/api/v1/logout", h_logout, a);
	http_route(srv, HTTP_GET, "/api/v1/me", h_me, a);
	http_route(srv, HTTP_POST, "/api/v1/me/totp", h_totp, a);
	http_route(srv, HTTP_POST, "/api/v1/me/password", h_password, a);
	http_route(srv, HTTP_GET, "/api/v1/orgs", h_org_list, a);
	http_route(srv, HTTP_POST, "/api/v1/orgs", h_org_create, a);
	http_route(srv, HTTP_GET, "/api/v1/orgs/{id}", h_org_get, a);
	http_route(srv, HTTP_PATCH, "/api/v1/orgs/{id}", h_org_update, a);
	http_route(srv, HTTP_DELETE, "/api/v1/orgs/{id}", h_org_delete, a);
	http_route(srv, HTTP_GET, "/api/v1/users", h_user_list, a);
	http_route(srv, HTTP_POST, "/api/v1/users", h_user_create, a);
	http_route(srv, HTTP_GET, "/api/v1/users/{id}", h_user_get, a);
	http_route(srv, HTTP_PATCH, "/api/v1/users/{id}", h_user_update, a);
	http_route(srv, HTTP_DELETE, "/api/v1/users/{id}", h_user_delete, a);
	http_route(srv, HTTP_GET, "/api/v1/tokens", h_token_list, a);
	http_route(srv, HTTP_POST, "/api/v1/tokens", h_token_create, a);
	http_route(srv, HTTP_DELETE, "/api/v1/tokens/{id}", h_token_revoke, a);
	http_route(srv, HTTP_GET, "/api/v1/audit", h_audit_list, a);
	http_route(srv, HTTP_GET, "/api/v1/audit/verify", h_audit_verify, a);
}
