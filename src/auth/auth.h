/*
 * auth.h - accounts and access: organisations, people, roles, sessions,
 * API tokens, the one authorisation function, and the hash-chained audit
 * log.
 *
 * Every handler in every subsystem asks the same two questions here:
 *   - who is asking: auth_caller_of(req), set by auth's before-hook from a
 *     session cookie, a Bearer/Token header or HTTP Basic;
 *   - may they: auth_check(caller, action, object) for one object, and
 *     auth_sql_visible() to filter a list query by organisation and TLP.
 * No handler checks roles by itself.
 *
 * Operations are written once as "service" functions taking a struct
 * auth_ctx and JSON in, and giving an HTTP status and JSON out. The HTTP
 * handlers and the offline client (`ciip --data DIR ...`) both call them.
 */
#ifndef CIIP_AUTH_H
#define CIIP_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "http/http.h"
#include "store/store.h"

enum auth_role {
	AUTH_ROLE_NONE = 0,
	AUTH_ROLE_ADMIN,    /* manages the node */
	AUTH_ROLE_ANALYST,  /* ISAC staff: advisories, intel, incidents */
	AUTH_ROLE_REVIEWER, /* approves incident reviews and advisory publication */
	AUTH_ROLE_REPORTER, /* a member's staff: reports incidents, replies */
	AUTH_ROLE_VIEWER,   /* read-only */
	AUTH_ROLE_SENSOR,   /* a machine that may only send events */
	AUTH_ROLE_PEER,     /* another node, over TAXII */
};

const char *auth_role_name(enum auth_role r);
/* Returns AUTH_ROLE_NONE for an unknown name. */
enum auth_role auth_role_parse(const char *name);

/* TLP levels, ordered from the widest to the narrowest audience, as stored
 * in every table that holds shareable objects (column `tlp`). Objects with
 * no marking are stored with their collection's default. */
enum auth_tlp {
	AUTH_TLP_CLEAR = 1,
	AUTH_TLP_GREEN = 2,
	AUTH_TLP_AMBER = 3,
	AUTH_TLP_AMBER_STRICT = 4,
	AUTH_TLP_RED = 5,
};
const char *auth_tlp_name(enum auth_tlp t);
/* "clear", "green", "amber", "amber+strict", "red" (case-insensitive;
 * "white" is accepted for CLEAR). 0 if unknown. */
enum auth_tlp auth_tlp_parse(const char *s);

/* Who is asking. Filled by the before-hook (or by the offline client). */
struct auth_caller {
	int64_t user_id;  /* 0 for a token */
	int64_t token_id; /* 0 for a person */
	int64_t org_id;
	enum auth_role role;
	bool in_community;  /* the caller's organisation is in the sharing community */
	bool node_staff;    /* the caller belongs to the node's own organisation */
	bool local;         /* the offline client on the node's own files */
	bool via_session;   /* a browser session (CSRF applies) */
	char name[128];     /* user name or token name */
	char org_name[128];
	char scope[256];    /* token scope, "" for people */
	char remote[64];
	char session_hash[65];
};

/* Every action that auth_check knows. One table in auth_policy.c says which
 * roles may do each, and whether the object's organisation must be the
 * caller's own. */
enum auth_action {
	AUTH_ORG_READ,
	AUTH_ORG_WRITE,
	AUTH_USER_READ,
	AUTH_USER_WRITE,
	AUTH_TOKEN_READ,
	AUTH_TOKEN_WRITE,
	AUTH_AUDIT_READ,
	AUTH_SELF,            /* read or change one's own account */
	AUTH_INTEL_READ,      /* STIX objects, subject to TLP */
	AUTH_INTEL_WRITE,     /* create or version STIX objects */
	AUTH_INTEL_ADMIN,     /* collections */
	AUTH_INTEL_LOWER,     /* lower an object's TLP marking, explicitly */
	AUTH_TAXII_READ,
	AUTH_TAXII_WRITE,
	AUTH_EVENTS_WRITE,    /* sensors sending events */
	AUTH_SENSOR_ADMIN,
	AUTH_ALERT_READ,
	AUTH_ALERT_WRITE,
	AUTH_INCIDENT_READ,
	AUTH_INCIDENT_REPORT, /* create, edit own drafts, submit, resubmit */
	AUTH_INCIDENT_HANDLE, /* analyst moves: contain, recover, close */
	AUTH_INCIDENT_REVIEW, /* reviewer moves: accept, return, relevel */
	AUTH_ADVISORY_READ,
	AUTH_ADVISORY_DRAFT,
	AUTH_ADVISORY_REVIEW, /* publish, reject */
	AUTH_ADVISORY_REPLY,
	AUTH_NODE_ADMIN,      /* settings, backup */
	AUTH_ACTION_COUNT
};

/* The name used in token scopes and logs: "org.read", "incident.review". */
const char *auth_action_name(enum auth_action a);

/* The object an action is about. org_id 0 means "not owned" (node-wide);
 * tlp 0 means "not marked" (no TLP rule applies). */
struct auth_object {
	int64_t org_id;
	enum auth_tlp tlp;
};

enum auth_decision {
	AUTH_ALLOW = 0,
	AUTH_UNAUTHENTICATED = 401, /* nobody is logged in */
	AUTH_FORBIDDEN = 403,       /* logged in, but not allowed */
	AUTH_NOT_FOUND = 404,       /* may not even know it exists */
};

/*
 * The one authorisation function. caller NULL means anonymous. obj may be
 * NULL for actions on no particular object (e.g. "create a user"). An
 * object the caller may not see answers AUTH_NOT_FOUND, so that guessing ids
 * reveals nothing.
 */
enum auth_decision auth_check(const struct auth_caller *caller, enum auth_action action,
                              const struct auth_object *obj);

/* The TLP sharing rule of DESIGN.md: may a caller see an object of owner_org
 * marked tlp? RED and AMBER+STRICT: the owner only; AMBER and GREEN: the
 * community; CLEAR: anyone. */
bool auth_may_see(const struct auth_caller *caller, int64_t owner_org, enum auth_tlp tlp);

/*
 * Appends to sql a boolean SQL expression that is true for the rows the
 * caller may see, given the names of the row's owner-organisation and TLP
 * columns, and appends the values to bind to binds (json integers, in
 * order; bind them with auth_sql_bind). Lists in every subsystem use it.
 */
void auth_sql_visible(const struct auth_caller *caller, const char *org_col, const char *tlp_col,
                      struct buf *sql, json_t *binds);
/* Binds binds[i] to parameter first+i. Returns the next free index. */
int auth_sql_bind(struct store_stmt *s, int first, const json_t *binds);

/* ---- the service context ---- */

struct auth_ctx {
	struct store *st;
	const struct config *cfg;
	const struct auth_caller *caller; /* NULL: anonymous */
	const char *remote;
};

/* Makes the caller the offline client acts as: an admin of the node's own
 * organisation, marked local, named after the Unix user. */
void auth_caller_local(struct auth_caller *c, struct store *st);

/* A JSON error body {"error":{"code":...,"message":...}} (new reference). */
json_t *auth_error(const char *code, const char *fmt, ...) CIIP_PRINTF(2, 3);
/* The status and error for a refused auth_check. */
int auth_refuse(enum auth_decision d, json_t **out);

/*
 * A refusal decided inside a write callback (a state that changed, a
 * conflict), carried out of store_write to the service that answers.
 * auth_fail_set returns -1 so a callback can `return auth_fail_set(...)`.
 */
struct auth_fail {
	int status;
	char code[32];
	char msg[256];
};
int auth_fail_set(struct auth_fail *f, int status, const char *code, const char *fmt, ...)
	CIIP_PRINTF(4, 5);
/* The answer to a failed write: the refusal if the callback set one, else
 * 500 with the store's message (logged under subsys). */
int auth_fail_reply(const struct auth_fail *f, const struct err *e, const char *subsys,
                    json_t **out);
/* RFC 3339 text for ms since the epoch, or JSON null for 0 (not set). */
json_t *auth_time_json(int64_t ms);

/* ---- audit log ---- */

/*
 * Appends a row to the audit log inside the caller's write transaction
 * (so the change and its record commit together). detail may be NULL and is
 * borrowed; it must never contain secrets.
 */
int auth_audit_append(struct store_conn *c, const struct auth_caller *who, const char *action,
                      const char *object_type, const char *object_id, const json_t *detail,
                      struct err *e);
/* Checks the hash chain. Returns 0 when intact; else -1 with the first bad
 * row named in e (id and what is wrong). rows gets the number checked. */
int auth_audit_verify(struct store *st, int64_t *rows, struct err *e);

/* ---- services: HTTP status out, JSON in and out (out is a new ref) ---- */

int auth_svc_login(struct auth_ctx *x, const json_t *in, json_t **out, char *cookie,
                   size_t cookie_len);
int auth_svc_logout(struct auth_ctx *x, json_t **out);
int auth_svc_me(struct auth_ctx *x, json_t **out);
int auth_svc_totp_enrol(struct auth_ctx *x, json_t **out);
int auth_svc_password_change(struct auth_ctx *x, const json_t *in, json_t **out);

int auth_svc_org_list(struct auth_ctx *x, json_t **out);
int auth_svc_org_get(struct auth_ctx *x, const char *id, json_t **out);
int auth_svc_org_create(struct auth_ctx *x, const json_t *in, json_t **out);
int auth_svc_org_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out);
int auth_svc_org_delete(struct auth_ctx *x, const char *id, json_t **out);

int auth_svc_user_list(struct auth_ctx *x, json_t **out);
int auth_svc_user_get(struct auth_ctx *x, const char *id, json_t **out);
int auth_svc_user_create(struct auth_ctx *x, const json_t *in, json_t **out);
int auth_svc_user_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out);
int auth_svc_user_delete(struct auth_ctx *x, const char *id, json_t **out);

int auth_svc_token_list(struct auth_ctx *x, json_t **out);
int auth_svc_token_create(struct auth_ctx *x, const json_t *in, json_t **out);
int auth_svc_token_revoke(struct auth_ctx *x, const char *id, json_t **out);

int auth_svc_audit_list(struct auth_ctx *x, const char *after_id, const char *limit,
                        json_t **out);
int auth_svc_audit_verify(struct auth_ctx *x, json_t **out);

/* ---- lookups other subsystems need ---- */

/* Resolves an API token (for listeners that are not HTTP): 0 and the
 * caller, or -1 with why (unknown, revoked, expired) in e. */
int auth_token_check(struct store *st, const char *token, struct auth_caller *out, struct err *e);

/* The organisation that owns an IP address (longest matching prefix), or 0. */
int64_t auth_org_owning_ip(struct store_conn *c, const char *ip);
/* An organisation by numeric id or by name; 0 if none. */
int64_t auth_org_lookup(struct store_conn *c, const char *ref);
/* Reads an id from a path segment; -1 if not a positive integer. */
int64_t auth_parse_id(const char *s);
/* The node's own organisation (the root of the tree), or 0 if none yet. */
int64_t auth_org_root(struct store_conn *c);
/* Name and STIX identity id of an organisation; 0 or -1 (not found). */
int auth_org_describe(struct store_conn *c, int64_t org_id, char *name, size_t name_len,
                      char *identity, size_t identity_len);

/* ---- wiring ---- */

/* Registers auth's tables with the store (call before store_open). */
void auth_schema_register(void);
struct auth;
/* Creates the subsystem; installs the before-hook that resolves the caller
 * and the /api/v1 account routes on srv. */
struct auth *auth_new(struct store *st, const struct config *cfg);
/* Seals the TOTP secrets stored in clear by an older version with the
 * node's seal key (auth.seal_key_file, created when missing); *sealed says
 * how many. Run at start, before serving. */
int auth_seal_secrets(struct store *st, const struct config *cfg, int *sealed,
                      struct err *e) CIIP_MUST_CHECK;
void auth_routes(struct auth *a, struct http_server *srv);
void auth_free(struct auth *a);
/* The caller of a request (NULL when anonymous). Borrowed. */
const struct auth_caller *auth_caller_of(struct http_req *r);
/* Builds a service context for a request. */
void auth_ctx_of(struct auth_ctx *x, struct auth *a, struct http_req *r);
/* Answers a request with a service result (takes the reference to out). */
void auth_http_reply(struct http_req *r, int status, json_t *out);
/* The query string as a JSON object of strings, for services' list filters:
 * the first value of a repeated key, keys under 64 and values under 1024
 * bytes (longer ones are dropped). New reference. */
json_t *auth_http_query(struct http_req *r);

/*
 * Handlers that only build the context, call a service and answer, shared
 * by every subsystem's HTTP glue. CTX_FN(&x, arg, r) fills the struct
 * auth_ctx x; call may use r, arg, x and out, and `in` (the parsed body,
 * _BODY) or `q` (the query, _QUERY). A malformed body is answered 400 by
 * http_req_json before the call.
 */
#define AUTH_HANDLER(name, CTX_FN, call)                                                          \
	static void name(struct http_req *r, void *arg)                                             \
	{                                                                                            \
		struct auth_ctx x;                                                                       \
		CTX_FN(&x, arg, r);                                                                      \
		json_t *out = NULL;                                                                      \
		int status = call;                                                                       \
		auth_http_reply(r, status, out);                                                         \
	}
#define AUTH_HANDLER_QUERY(name, CTX_FN, call)                                                    \
	static void name(struct http_req *r, void *arg)                                             \
	{                                                                                            \
		struct auth_ctx x;                                                                       \
		CTX_FN(&x, arg, r);                                                                      \
		json_t *q = auth_http_query(r);                                                          \
		json_t *out = NULL;                                                                      \
		int status = call;                                                                       \
		json_decref(q);                                                                          \
		auth_http_reply(r, status, out);                                                         \
	}
#define AUTH_HANDLER_BODY(name, CTX_FN, call)                                                     \
	static void name(struct http_req *r, void *arg)                                             \
	{                                                                                            \
		json_t *in = http_req_json(r);                                                           \
		if (in == NULL)                                                                          \
			return;                                                                              \
		struct auth_ctx x;                                                                       \
		CTX_FN(&x, arg, r);                                                                      \
		json_t *out = NULL;                                                                      \
		int status = call;                                                                       \
		json_decref(in);                                                                         \
		auth_http_reply(r, status, out);                                                         \
	}
/* A body is optional (in is NULL without one), but must be JSON if sent. */
#define AUTH_HANDLER_OPT_BODY(name, CTX_FN, call)                                                 \
	static void name(struct http_req *r, void *arg)                                             \
	{                                                                                            \
		size_t len_ = 0;                                                                         \
		(void)http_req_body(r, &len_);                                                           \
		json_t *in = NULL;                                                                       \
		if (len_ > 0 && (in = http_req_json(r)) == NULL)                                         \
			return;                                                                              \
		struct auth_ctx x;                                                                       \
		CTX_FN(&x, arg, r);                                                                      \
		json_t *out = NULL;                                                                      \
		int status = call;                                                                       \
		json_decref(in);                                                                         \
		auth_http_reply(r, status, out);                                                         \
	}

/* Demo seed: the sector ISAC, its members with prefixes and one account per
 * role; appends {user, role, org, password, totp_secret} objects to accounts. */
int auth_demo_seed(struct store *st, const struct config *cfg, json_t *accounts, struct err *e);

#endif
