/*
 * taxii_server.c - the TAXII 2.1 endpoints under /taxii2/: discovery, the
 * API root, status, collections, objects (GET, POST, DELETE), one object,
 * manifest and versions; content negotiation and the TAXII error message
 * for every error, including those the HTTP server produces itself.
 *
 * Each handler runs the same prologue, in this order: media types (406,
 * 415), who is asking (401, 403), the collection and the caller's rights on
 * it (404, 403), the query parameters (400). Then one call into the store.
 */
#include "taxii/taxii_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stix/stix.h"

/* ---- errors -------------------------------------------------------------------- */

static const char *
status_title(int status)
{
	switch (status) {
	case 400: return "Bad request";
	case 401: return "Authentication required";
	case 403: return "Forbidden";
	case 404: return "Not found";
	case 405: return "Method not allowed";
	case 406: return "Not acceptable";
	case 413: return "Request too large";
	case 415: return "Unsupported media type";
	case 422: return "Unprocessable";
	case 431: return "Request headers too large";
	default: return status >= 500 ? "Internal error" : "Error";
	}
}

/* The TAXII 2.1 error message resource (section 3.6.1), used for every
 * error under /taxii2/ (installed with http_error_style). */
static void
taxii_error(struct http_req *r, int status, const char *code, const char *message)
{
	char st[8];
	snprintf(st, sizeof(st), "%d", status);
	json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "title", status_title(status), "description",
	                      message, "error_code", code, "http_status", st);
	http_resp_header(r, "Cache-Control", "no-store");
	http_respond_json_type(r, status, TAXII_MEDIA_TYPE, j);
}

/* ---- content negotiation ------------------------------------------------------- */

/* Trims spaces and tabs off both ends of [*p, *p + *n). */
static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

static bool
token_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/*
 * One media range "type/subtype; k=v; ..." of an Accept or Content-Type.
 * Accepted: application/taxii+json with no version or version=2.1 (real
 * clients send both) and, where allow_wildcard, the wildcards "any type"
 * and "any application type". q=0 refuses the range.
 */
static bool
media_range_ok(const char *p, size_t n, bool allow_wildcard)
{
	const char *semi = memchr(p, ';', n);
	size_t tn = semi ? (size_t)(semi - p) : n;
	const char *t = p;
	trim(&t, &tn);
	bool taxii = token_is(t, tn, "application/taxii+json");
	bool wild = allow_wildcard && (token_is(t, tn, "*/*") || token_is(t, tn, "application/*"));
	if (!taxii && !wild)
		return false;
	while (semi) {
		const char *k = semi + 1;
		size_t rest = n - (size_t)(k - p);
		semi = memchr(k, ';', rest);
		size_t kn = semi ? (size_t)(semi - k) : rest;
		const char *eq = memchr(k, '=', kn);
		if (eq == NULL)
			continue;
		const char *name = k, *val = eq + 1;
		size_t nn = (size_t)(eq - k), vn = kn - nn - 1;
		trim(&name, &nn);
		trim(&val, &vn);
		if (vn >= 2 && val[0] == '"' && val[vn - 1] == '"') {
			val++;
			vn -= 2;
		}
		if (token_is(name, nn, "version") && taxii && !token_is(val, vn, "2.1"))
			return false;
		if (token_is(name, nn, "q") && vn > 0 && strspn(val, "0.") >= vn)
			return false;
	}
	return true;
}

static bool
accept_ok(const char *accept)
{
	/* No Accept header means any media type will do (RFC 9110 12.5.1). */
	if (accept == NULL || accept[0] == '\0')
		return true;
	const char *p = accept;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (media_range_ok(p, n, true))
			return true;
		if (comma == NULL)
			return false;
		p = comma + 1;
	}
}

static bool
negotiate(struct http_req *r, bool has_body)
{
	if (!accept_ok(http_req_header(r, "Accept"))) {
		http_respond_error(r, 406, "not_acceptable",
		                   "this server answers only %s (Accept was '%.100s')", TAXII_MEDIA_TYPE,
		                   http_req_header(r, "Accept"));
		return false;
	}
	if (has_body) {
		const char *ct = http_req_header(r, "Content-Type");
		if (ct == NULL || !media_range_ok(ct, strlen(ct), false)) {
			http_respond_error(r, 415, "unsupported_media_type",
			                   "send a TAXII envelope as %s (Content-Type was '%.100s')",
			                   TAXII_MEDIA_TYPE, ct ? ct : "none");
			return false;
		}
	}
	return true;
}

/* ---- the prologue -------------------------------------------------------------- */

static const struct auth_caller *
need_caller(struct http_req *r, enum auth_action action)
{
	const struct auth_caller *caller = auth_caller_of(r);
	enum auth_decision d = auth_check(caller, action, NULL);
	if (d == AUTH_UNAUTHENTICATED) {
		http_resp_header(r, "WWW-Authenticate", "Basic realm=\"ciip\", charset=\"UTF-8\"");
		http_respond_error(r, 401, "unauthenticated",
		                   "send HTTP Basic credentials, or a token as Authorization: Bearer "
		                   "or Token");
		return NULL;
	}
	if (d != AUTH_ALLOW) {
		http_respond_error(r, 403, "forbidden", "role %s may not use TAXII",
		                   auth_role_name(caller->role));
		return NULL;
	}
	return caller;
}

/* Finds the collection of the path and checks the caller's right on it. */
static bool
need_collection(struct taxii *t, struct http_req *r, const struct auth_caller *caller,
                enum auth_action action, struct taxii_coll *c)
{
	const char *ref = http_req_param(r, "cid");
	int rc = taxii_coll_find(t, ref, c) == 0 ? taxii_coll_access(c, caller, action) : 404;
	if (rc == 404) {
		http_respond_error(r, 404, "collection_not_found", "no collection '%.64s' here",
		                   ref ? ref : "");
		return false;
	}
	if (rc != 0) {
		http_respond_error(r, 403, "forbidden", "you may not %s collection %s",
		                   action == AUTH_TAXII_WRITE ? "add to or delete from" : "read",
		                   c->uuid);
		return false;
	}
	return true;
}

struct query_parse {
	struct taxii_query *q;
	unsigned allowed;
	struct err e;
	bool failed;
};

static void
query_arg(const char *k, const char *v, void *arg)
{
	struct query_parse *p = arg;
	if (!p->failed && taxii_query_add(p->q, p->allowed, k, v, &p->e) != 0)
		p->failed = true;
}

static bool
parse_query(struct http_req *r, unsigned allowed, struct taxii_query *q)
{
	struct query_parse p = {.q = q, .allowed = allowed};
	taxii_query_init(q);
	err_clear(&p.e);
	http_req_query_each(r, query_arg, &p);
	if (p.failed) {
		http_respond_error(r, 400, "bad_parameter", "%s", p.e.msg);
		taxii_query_free(q);
		return false;
	}
	taxii_query_finish(q);
	return true;
}

/* ---- answers -------------------------------------------------------------------- */

static void
respond_json(struct http_req *r, int status, json_t *j)
{
	http_resp_header(r, "Cache-Control", "no-store");
	http_respond_json_type(r, status, TAXII_MEDIA_TYPE, j);
}

/* Scheme and host of the request, for the absolute URLs of discovery. */
static void
base_url(struct http_req *r, char *out, size_t len)
{
	const char *host = http_req_header(r, "Host");
	bool ok = host && strlen(host) < 256 &&
	          strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
	              strlen(host);
	if (!ok) {
		out[0] = '\0';
		return;
	}
	snprintf(out, len, "%s://%s", http_req_tls(r) ? "https" : "http", host);
}

static void
h_discovery(struct http_req *r, void *arg)
{
	(void)arg;
	if (!negotiate(r, false) || need_caller(r, AUTH_TAXII_READ) == NULL)
		return;
	char base[300], root[400];
	base_url(r, base, sizeof(base));
	snprintf(root, sizeof(root), "%s%s", base, TAXII_API_ROOT);
	json_t *j = json_pack("{s:s,s:s,s:s,s:[s]}", "title", "ciip node", "description",
	                      "Threat intelligence of this CIIP node (SOC, CERT and ISAC): STIX 2.1 "
	                      "over TAXII 2.1. TLP markings apply to every object served.",
	                      "default", root, "api_roots", root);
	respond_json(r, 200, j);
}

static void
h_api_root(struct http_req *r, void *arg)
{
	struct taxii *t = arg;
	if (!negotiate(r, false) || need_caller(r, AUTH_TAXII_READ) == NULL)
		return;
	int64_t max = t->cfg ? t->cfg->http_max_body_bytes : 16777216;
	if (max > (int64_t)STIX_ENVELOPE_MAX_BYTES)
		max = STIX_ENVELOPE_MAX_BYTES;
	json_t *j = json_pack("{s:s,s:s,s:[s],s:I}", "title", "ciip intel", "description",
	                      "Collections of advisories, indicators, sightings and incidents, "
	                      "filtered by TLP and organisation.",
	                      "versions", TAXII_MEDIA_TYPE, "max_content_length", (json_int_t)max);
	respond_json(r, 200, j);
}

static void
h_status(struct http_req *r, void *arg)
{
	struct taxii *t = arg;
	const struct auth_caller *caller;
	if (!negotiate(r, false) || (caller = need_caller(r, AUTH_TAXII_READ)) == NULL)
		return;
	const char *id = http_req_param(r, "sid");
	struct store_conn *conn = store_reader_get(t->st);
	struct err e;
	struct store_stmt *s =
		store_prepare(conn, "SELECT org_id, json FROM taxii_status WHERE id = ?", &e);
	char *text = NULL;
	if (s) {
		store_bind_text(s, 1, id);
		/* A status is the business of the organisation that sent the
		 * objects (and of the node's staff). */
		if (store_step(s, &e) == STORE_ROW &&
		    (store_col_int(s, 0) == caller->org_id || caller->node_staff || caller->local))
			text = xstrdup(store_col_text(s, 1));
		store_finalize(s);
	}
	store_reader_put(t->st, conn);
	if (text == NULL) {
		http_respond_error(r, 404, "status_not_found", "no status '%.64s' here", id ? id : "");
		return;
	}
	http_resp_header(r, "Cache-Control", "no-store");
	http_respond(r, 200, TAXII_MEDIA_TYPE, text, strlen(text));
	free(text);
}

static void
h_collections(struct http_req *r, void *arg)
{
	struct taxii *t = arg;
	const struct auth_caller *caller;
	if (!negotiate(r, false) || (caller = need_caller(r, AUTH_TAXII_READ)) == NULL)
		return;
	json_t *list = json_array();
	pthread_rwlock_rdlock(&t->colls_lock);
	for (size_t i = 0; i < t->ncolls; i++) {
		const struct taxii_coll *c = &t->colls[i];
		if (taxii_rule_allows(&c->read, caller) || taxii_rule_allows(&c->write, caller))
			json_array_append_new(list, taxii_coll_taxii_json(c, caller));
	}
	pthread_rwlock_unlock(&t->colls_lock);
	json_t *j = json_object();
	if (json_array_size(list))
		json_object_set(j, "collections", list);
	json_decref(list);
	respond_json(r, 200, j);
}

static void
h_collection(struct http_req *r, void *arg)
{
	struct taxii *t = arg;
	const struct auth_caller *caller;
	struct taxii_coll c;
	if (!negotiate(r, false) || (caller = need_caller(r, AUTH_TAXII_READ)) == NULL)
		return;
	/* Seeing the collection's description needs only some right on it. */
	const char *ref = http_req_param(r, "cid");
	if (taxii_coll_find(t, ref, &c) != 0 ||
	    (!taxii_rule_allows(&c.read, caller) && !taxii_rule_allows(&c.write, caller))) {
		http_respond_error(r, 404, "collection_not_found", "no collection '%.64s' here",
		                   ref ? ref : "");
		return;
	}
	respond_json(r, 200, taxii_coll_taxii_json(&c, caller));
}

/* The listings: objects, manifest, one object, versions. */
static void
list(struct http_req *r, struct taxii *t, enum taxii_list_kind kind, unsigned allowed)
{
	const struct auth_caller *caller;
	struct taxii_coll c;
	struct taxii_query q;
	if (!negotiate(r, false) || (caller = need_caller(r, AUTH_TAXII_READ)) == NULL ||
	    !need_collection(t, r, caller, AUTH_TAXII_READ, &c) || !parse_query(r, allowed, &q))
		return;
	const char *oid = http_req_param(r, "oid");
	if (oid && !stix_id_valid(oid, NULL)) {
		http_respond_error(r, 404, "object_not_found", "'%.80s' is not a STIX identifier",
		                   oid);
		taxii_query_free(&q);
		return;
	}
	struct taxii_page page;
	struct err e;
	err_clear(&e);
	enum taxii_list_rc rc = taxii_list(t, caller, &c, kind, oid, &q, &page, &e);
	taxii_query_free(&q);
	switch (rc) {
	case TAXII_LIST_OK:
		break;
	case TAXII_LIST_BAD_CURSOR:
		http_respond_error(r, 400, "bad_next", "%s", e.msg);
		return;
	case TAXII_LIST_NOT_FOUND:
		http_respond_error(r, 404, "object_not_found", "no object %s in collection %s", oid,
		                   c.uuid);
		return;
	default:
		log_warnx("taxii", "%s %s: %s", http_req_method(r), http_req_path(r), e.msg);
		http_respond_error(r, 500, "internal", "the store failed");
		return;
	}
	if (page.first[0]) {
		http_resp_header(r, "X-TAXII-Date-Added-First", page.first);
		http_resp_header(r, "X-TAXII-Date-Added-Last", page.last);
	}
	http_resp_header(r, "Cache-Control", "no-store");
	http_respond(r, 200, TAXII_MEDIA_TYPE, page.body.data + page.skip, page.body.len - page.skip);
	buf_free(&page.body);
}

static void
h_objects(struct http_req *r, void *arg)
{
	list(r, arg, TAXII_LIST_OBJECTS, TAXII_P_OBJECTS);
}

static void
h_manifest(struct http_req *r, void *arg)
{
	list(r, arg, TAXII_LIST_MANIFEST, TAXII_P_OBJECTS);
}

static void
h_object(struct http_req *r, void *arg)
{
	list(r, arg, TAXII_LIST_OBJECT, TAXII_P_OBJECT);
}

static void
h_versions(struct http_req *r, void *arg)
{
	list(r, arg, TAXII_LIST_VERSIONS, TAXII_P_VERSIONS);
}

static void
h_objects_add(struct http_req *r, void *arg)
{
	struct taxii *t = arg;
	const struct auth_caller *caller;
	struct taxii_coll c;
	if (!negotiate(r, true) || (caller = need_caller(r, AUTH_TAXII_WRITE)) == NULL ||
	    !need_collection(t, r, caller, AUTH_TAXII_WRITE, &c))
		return;
	size_t len;
	const char *body = http_req_body(r, &len);
	json_t *objects = NULL;
	struct err e;
	err_clear(&e);
	if (len == 0) {
		http_respond_error(r, 400, "bad_envelope", "the request needs a TAXII envelope");
		return;
	}
	if (stix_envelope_parse(body, len, 0, &objects, &e) != 0) {
		if (e.line > 0)
			http_respond_error(r, 400, "bad_envelope", "%s (line %d, column %d)", e.msg, e.line,
			                   e.column);
		else
			http_respond_error(r, 400, "bad_envelope", "%s", e.msg);
		return;
	}
	json_t *status = NULL;
	struct taxii_add_opts o = {.caller = caller, .action = "taxii.add", .keep_status = true};
	int rc = taxii_objects_add(t, &c, objects, &o, &status, &e);
	json_decref(objects);
	if (rc != 0) {
		log_warnx("taxii", "POST %s: %s", http_req_path(r), e.msg);
		http_respond_error(r, 500, "internal", "the store failed");
		return;
	}
	respond_json(r, 202, status);
}

static void
h_object_delete(struct http_req *r, void *arg)
{
	struct taxii *t = arg;
	const struct auth_caller *caller;
	struct taxii_coll c;
	struct taxii_query q;
	if (!negotiate(r, false) || (caller = need_caller(r, AUTH_TAXII_WRITE)) == NULL ||
	    !need_collection(t, r, caller, AUTH_TAXII_WRITE, &c) ||
	    !parse_query(r, TAXII_P_DELETE, &q))
		return;
	/* Deleting an object removes every version unless match[version]
	 * chooses some: the "latest" default of the reads would leave the
	 * object behind, one version older. */
	if (!(q.present & TAXII_P_VERSION))
		q.versions = TAXII_V_ALL;
	const char *oid = http_req_param(r, "oid");
	struct err e;
	err_clear(&e);
	int rc = stix_id_valid(oid, NULL) ? taxii_object_delete(t, &c, caller, oid, &q, &e) : 404;
	taxii_query_free(&q);
	switch (rc) {
	case 200:
		http_resp_header(r, "Cache-Control", "no-store");
		http_respond(r, 200, NULL, "", 0);
		break;
	case 404:
		http_respond_error(r, 404, "object_not_found", "no object %.80s in collection %s",
		                   oid ? oid : "", c.uuid);
		break;
	case 403:
		http_respond_error(r, 403, "forbidden",
		                   "only the organisation that shared %s (or the node) may delete it",
		                   oid);
		break;
	default:
		log_warnx("taxii", "DELETE %s: %s", http_req_path(r), e.msg);
		http_respond_error(r, 500, "internal", "the store failed");
	}
}

/* ---- the subsystem --------------------------------------------------------------- */

struct taxii *
taxii_new(struct store *st, const struct config *cfg)
{
	if (sodium_init() < 0)
		abort(); /* no randomness: nothing here could be safe */
	struct taxii *t = xcalloc(1, sizeof(*t));
	t->st = st;
	t->cfg = cfg;
	pthread_rwlock_init(&t->colls_lock, NULL);
	struct store_conn *conn = store_reader_get(st);
	struct err e;
	struct store_stmt *s =
		store_prepare(conn, "SELECT key FROM taxii_keys WHERE name = 'cursor'", &e);
	bool have_key = false;
	if (s && store_step(s, &e) == STORE_ROW) {
		size_t n = 0;
		const void *k = store_col_blob(s, 0, &n);
		if (n == TAXII_KEY_BYTES) {
			memcpy(t->key, k, n);
			have_key = true;
		}
	}
	store_finalize(s);
	store_reader_put(st, conn);
	if (!have_key) {
		/* Cursors then last until the restart only. */
		log_warnx("taxii", "no cursor key in the store; using one for this run");
		randombytes_buf(t->key, sizeof(t->key));
	}
	if (taxii_coll_reload(t, &e) != 0)
		log_warnx("taxii", "cannot read the collections: %s", e.msg);
	return t;
}

void
taxii_free(struct taxii *t)
{
	if (t == NULL)
		return;
	pthread_rwlock_destroy(&t->colls_lock);
	free(t->colls);
	sodium_memzero(t->key, sizeof(t->key));
	free(t);
}

void
taxii_routes(struct taxii *t, struct http_server *srv)
{
	http_error_style(srv, "/taxii2/", taxii_error);
	http_error_style(srv, "/taxii2", taxii_error);
	http_route(srv, HTTP_GET, "/taxii2/", h_discovery, t);
	http_route(srv, HTTP_GET, TAXII_API_ROOT, h_api_root, t);
	http_route(srv, HTTP_GET, TAXII_API_ROOT "status/{sid}/", h_status, t);
	http_route(srv, HTTP_GET, TAXII_API_ROOT "collections/", h_collections, t);
	http_route(srv, HTTP_GET, TAXII_API_ROOT "collections/{cid}/", h_collection, t);
	http_route(srv, HTTP_GET, TAXII_API_ROOT "collections/{cid}/manifest/", h_manifest, t);
	http_route(srv, HTTP_GET, TAXII_API_ROOT "collections/{cid}/objects/", h_objects, t);
	http_route(srv, HTTP_POST, TAXII_API_ROOT "collections/{cid}/objects/", h_objects_add, t);
	http_route(srv, HTTP_GET, TAXII_API_ROOT "collections/{cid}/objects/{oid}/", h_object, t);
	http_route(srv, HTTP_DELETE, TAXII_API_ROOT "collections/{cid}/objects/{oid}/",
	           h_object_delete, t);
	http_route(srv, HTTP_GET, TAXII_API_ROOT "collections/{cid}/objects/{oid}/versions/",
	           h_versions, t);
	taxii_intel_routes(t, srv);
}
