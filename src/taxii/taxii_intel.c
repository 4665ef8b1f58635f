/*
 * taxii_intel.c - the console's intel services: list and search the latest
 * versions, show one object with its versions, create, edit (a new
 * version), revoke, import a bundle and export a collection; and the HTTP
 * routes for them and for /api/v1/collections.
 *
 * Edits never change a stored version: they add one, with a later
 * "modified", through the same write path as TAXII (taxii_objects_add), so
 * the marking and ownership rules and the audit log apply alike. Lowering
 * a marking needs "lower_marking": true from a caller auth_check allows
 * intel.admin, and is audited as intel.marking.lower.
 */
#include "taxii/taxii_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

#define INTEL_LIST_DEFAULT 50
#define INTEL_LIST_MAX 500

static int
store_failed(const struct err *e, json_t **out)
{
	log_warnx("taxii", "intel: %s", e->msg);
	*out = auth_error("internal", "the store failed");
	return 500;
}

/* Finds a collection and checks an action on it for the console. */
static int
coll_for(struct taxii *t, struct auth_ctx *x, const char *ref, enum auth_action action,
         struct taxii_coll *c, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, action, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	if (ref == NULL || ref[0] == '\0') {
		*out = auth_error("bad_request", "collection is required (its id or alias)");
		return 400;
	}
	int rc = taxii_coll_find(t, ref, c) == 0 ? taxii_coll_access(c, x->caller, action) : 404;
	if (rc == 404) {
		*out = auth_error("not_found", "no collection '%.64s'", ref);
		return 404;
	}
	if (rc != 0) {
		*out = auth_error("forbidden", "you may not %s collection %s",
		                  action == AUTH_INTEL_WRITE ? "write to" : "read", c->uuid);
		return 403;
	}
	return 0;
}

/* Turns a status resource with one object into the service's answer. */
static int
one_result(json_t *status, json_t *obj, int ok_status, json_t **out)
{
	json_t *fails = json_object_get(status, "failures");
	if (json_array_size(fails) > 0) {
		const char *msg =
			json_string_value(json_object_get(json_array_get(fails, 0), "message"));
		bool conflict = msg && (strstr(msg, "marking") || strstr(msg, "organisation"));
		*out = auth_error(conflict ? "conflict" : "invalid", "%s", msg ? msg : "refused");
		json_decref(status);
		return conflict ? 409 : 400;
	}
	*out = json_pack("{s:O,s:o}", "object", obj, "status", status);
	return ok_status;
}

/* ---- list and get ---------------------------------------------------------------- */

static const char *
arg(const json_t *in, const char *key)
{
	return json_string_value(json_object_get(in, key));
}

/* The ids of the collections the caller may read, as a JSON array text. */
static char *
readable_collections(struct taxii *t, const struct auth_caller *caller, const char *only)
{
	json_t *ids = json_array();
	pthread_rwlock_rdlock(&t->colls_lock);
	for (size_t i = 0; i < t->ncolls; i++) {
		const struct taxii_coll *c = &t->colls[i];
		if (only && strcmp(c->uuid, only) != 0 && strcmp(c->alias, only) != 0)
			continue;
		if (taxii_rule_allows(&c->read, caller))
			json_array_append_new(ids, json_integer(c->id));
	}
	pthread_rwlock_unlock(&t->colls_lock);
	char *s = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	return s;
}

static const char *
coll_uuid(struct taxii *t, int64_t id, char out[37])
{
	out[0] = '\0';
	pthread_rwlock_rdlock(&t->colls_lock);
	for (size_t i = 0; i < t->ncolls; i++)
		if (t->colls[i].id == id)
			snprintf(out, 37, "%s", t->colls[i].uuid);
	pthread_rwlock_unlock(&t->colls_lock);
	return out;
}

int
taxii_svc_intel_list(struct taxii *t, struct auth_ctx *x, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INTEL_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	int64_t limit = INTEL_LIST_DEFAULT, after = INT64_MAX;
	const char *s = arg(in, "limit");
	if (s && parse_int64(s, 1, INTEL_LIST_MAX, &limit) != 0) {
		*out = auth_error("bad_request", "limit must be 1 to %d", INTEL_LIST_MAX);
		return 400;
	}
	s = arg(in, "after");
	if (s && parse_int64(s, 1, INT64_MAX, &after) != 0) {
		*out = auth_error("bad_request", "after must be a value of next_after");
		return 400;
	}
	const char *type = arg(in, "type"), *q = arg(in, "q"), *tlp = arg(in, "tlp");
	const char *intel = arg(in, "intel_type"), *revoked = arg(in, "revoked");
	if (type && !stix_type_valid(type)) {
		*out = auth_error("bad_request", "type is not a STIX type name");
		return 400;
	}
	enum auth_tlp lvl = 0;
	if (tlp && (lvl = auth_tlp_parse(tlp)) == 0) {
		*out = auth_error("bad_request", "tlp must be clear, green, amber, amber+strict or red");
		return 400;
	}
	enum stix_intel_type it = STIX_INTEL_NONE;
	if (intel && stix_intel_type_parse(intel, &it) != 0) {
		*out = auth_error("bad_request", "intel_type must be ANA, DEF, INT, EWA or FBI");
		return 400;
	}
	bool rev = false;
	if (revoked && parse_bool(revoked, &rev) != 0) {
		*out = auth_error("bad_request", "revoked must be true or false");
		return 400;
	}
	if (q && strlen(q) > 200) {
		*out = auth_error("bad_request", "q is at most 200 characters");
		return 400;
	}
	char *colls = readable_collections(t, x->caller, arg(in, "collection"));
	struct buf sql = {0}, like = {0};
	json_t *binds = json_array();
	buf_puts(&sql, "SELECT row_id, collection_id, stix_id, type, version, label, tlp,"
	               " intel_type, revoked, date_added_us, org_id FROM taxii_objects"
	               " WHERE is_last = 1 AND row_id < ?"
	               " AND collection_id IN (SELECT value FROM json_each(?))");
	if (type)
		buf_puts(&sql, " AND type = ?");
	if (lvl)
		buf_puts(&sql, " AND tlp = ?");
	if (intel)
		buf_puts(&sql, " AND intel_type = ?");
	if (revoked)
		buf_puts(&sql, " AND revoked = ?");
	if (q) {
		buf_puts(&sql, " AND (label LIKE ? ESCAPE '\\' OR stix_id = ?)");
		buf_puts(&like, "%");
		for (const char *p = q; *p; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				buf_puts(&like, "\\");
			buf_append(&like, p, 1);
		}
		buf_puts(&like, "%");
	}
	buf_puts(&sql, " AND ");
	auth_sql_visible(x->caller, "org_id", "tlp", &sql, binds);
	buf_puts(&sql, " ORDER BY row_id DESC LIMIT ?");
	struct store_conn *conn = store_reader_get(t->st);
	struct err e;
	struct store_stmt *st = store_prepare(conn, sql.data, &e);
	int status = 500;
	json_t *list = json_array();
	int64_t last = 0;
	if (st) {
		int i = 1;
		store_bind_int(st, i++, after);
		store_bind_text(st, i++, colls);
		if (type)
			store_bind_text(st, i++, type);
		if (lvl)
			store_bind_int(st, i++, lvl);
		if (intel)
			store_bind_text(st, i++, stix_intel_type_name(it));
		if (revoked)
			store_bind_int(st, i++, rev);
		if (q) {
			store_bind_text(st, i++, like.data);
			store_bind_text(st, i++, q);
		}
		i = auth_sql_bind(st, i, binds);
		store_bind_int(st, i, limit);
		int step;
		while ((step = store_step(st, &e)) == STORE_ROW) {
			char date[TAXII_DATE_LEN], cu[37];
			taxii_ts_format(store_col_int(st, 9), date);
			last = store_col_int(st, 0);
			json_t *o = json_pack(
				"{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:I}", "collection",
				coll_uuid(t, store_col_int(st, 1), cu), "id", store_col_text(st, 2), "type",
				store_col_text(st, 3), "version", store_col_text(st, 4), "name",
				store_col_text(st, 5), "tlp", auth_tlp_name((enum auth_tlp)store_col_int(st, 6)),
				"revoked", (int)store_col_int(st, 8), "date_added", date, "owner_org",
				(json_int_t)store_col_int(st, 10));
			json_object_set_new(o, "intel_type",
			                    store_col_null(st, 7) ? json_null()
			                                          : json_string(store_col_text(st, 7)));
			json_array_append_new(list, o);
		}
		store_finalize(st);
		status = step == STORE_DONE ? 200 : 500;
	}
	store_reader_put(t->st, conn);
	free(colls);
	buf_free(&sql);
	buf_free(&like);
	json_decref(binds);
	if (status != 200) {
		json_decref(list);
		return store_failed(&e, out);
	}
	bool full = json_array_size(list) == (size_t)limit;
	*out = json_pack("{s:o,s:o}", "objects", list, "next_after",
	                 full ? json_sprintf("%lld", (long long)last) : json_null());
	return 200;
}

/* The latest version of id that the caller may see in c, parsed; its
 * owner and TLP. NULL when there is none. */
static json_t *
latest_visible(struct taxii *t, const struct auth_caller *caller, const struct taxii_coll *c,
               const char *id, int64_t *org, int *tlp, json_t **versions)
{
	struct buf sql = {0};
	json_t *binds = json_array();
	buf_puts(&sql, "SELECT json, org_id, tlp, version, date_added_us, is_last"
	               " FROM taxii_objects WHERE collection_id = ? AND stix_id = ? AND ");
	auth_sql_visible(caller, "org_id", "tlp", &sql, binds);
	buf_puts(&sql, " ORDER BY version_key");
	struct store_conn *conn = store_reader_get(t->st);
	struct err e;
	struct store_stmt *s = store_prepare(conn, sql.data, &e);
	json_t *obj = NULL;
	if (versions)
		*versions = json_array();
	if (s) {
		store_bind_int(s, 1, c->id);
		store_bind_text(s, 2, id);
		auth_sql_bind(s, 3, binds);
		while (store_step(s, &e) == STORE_ROW) {
			char date[TAXII_DATE_LEN];
			taxii_ts_format(store_col_int(s, 4), date);
			if (versions)
				json_array_append_new(
					*versions, json_pack("{s:s,s:s,s:s}", "version", store_col_text(s, 3),
				                         "date_added", date, "tlp",
				                         auth_tlp_name((enum auth_tlp)store_col_int(s, 2))));
			/* The newest visible version, by version order. */
			json_decref(obj);
			obj = json_loads(store_col_text(s, 0), 0, NULL);
			*org = store_col_int(s, 1);
			*tlp = (int)store_col_int(s, 2);
		}
		store_finalize(s);
	}
	store_reader_put(t->st, conn);
	json_decref(binds);
	buf_free(&sql);
	return obj;
}

int
taxii_svc_intel_get(struct taxii *t, struct auth_ctx *x, const char *id, const char *collection,
                    json_t **out)
{
	struct taxii_coll c;
	int rc = coll_for(t, x, collection, AUTH_INTEL_READ, &c, out);
	if (rc != 0)
		return rc;
	int64_t org = 0;
	int tlp = 0;
	json_t *versions = NULL;
	json_t *obj = stix_id_valid(id, NULL)
	                  ? latest_visible(t, x->caller, &c, id, &org, &tlp, &versions)
	                  : NULL;
	if (obj == NULL) {
		json_decref(versions);
		*out = auth_error("not_found", "no such object in collection %s", c.uuid);
		return 404;
	}
	*out = json_pack("{s:s,s:o,s:s,s:I,s:o}", "collection", c.uuid, "object", obj, "tlp",
	                 auth_tlp_name((enum auth_tlp)tlp), "owner_org", (json_int_t)org, "versions",
	                 versions);
	return 200;
}

/* ---- create, update, revoke ---------------------------------------------------- */

/* Sets the object's TLP marking to lvl, keeping its other markings. */
static void
set_tlp(json_t *obj, enum stix_tlp lvl)
{
	json_t *refs = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(obj, "object_marking_refs"), i, v)
		if (stix_tlp_from_marking_id(json_string_value(v)) == STIX_TLP_NONE)
			json_array_append(refs, v);
	json_array_append_new(refs, json_string(stix_tlp_marking_id(lvl)));
	json_object_set_new(obj, "object_marking_refs", refs);
}

/* tlp and intel_type fields of a create or update. */
static int
apply_options(const json_t *in, json_t *obj, json_t **out)
{
	const json_t *tlp = json_object_get(in, "tlp");
	if (tlp) {
		enum stix_tlp lvl;
		if (stix_tlp_parse(json_string_value(tlp), &lvl) != 0 || lvl == STIX_TLP_NONE) {
			*out = auth_error("bad_request", "tlp must be clear, green, amber, amber+strict or red");
			return 400;
		}
		set_tlp(obj, lvl);
	}
	const json_t *it = json_object_get(in, "intel_type");
	if (it) {
		enum stix_intel_type t;
		if (stix_intel_type_parse(json_string_value(it), &t) != 0) {
			*out = auth_error("bad_request", "intel_type must be ANA, DEF, INT, EWA or FBI");
			return 400;
		}
		if (stix_intel_type_set(obj, t) != 0) {
			*out = auth_error("bad_request", "the object's extensions is not an object");
			return 400;
		}
	}
	const char *type = json_string_value(json_object_get(obj, "type"));
	if (type && strcmp(type, "report") == 0 && stix_intel_type_get(obj) == STIX_INTEL_NONE) {
		*out = auth_error("bad_request", "a report carries a national intel type: set "
		                                 "intel_type to ANA, DEF, INT, EWA or FBI");
		return 400;
	}
	return 0;
}

static int
add_one_object(struct taxii *t, struct auth_ctx *x, const struct taxii_coll *c, json_t *obj,
               bool may_lower, const char *action, int ok_status, json_t **out)
{
	json_t *arr = json_pack("[O]", obj);
	json_t *status = NULL;
	struct err e;
	err_clear(&e);
	struct taxii_add_opts o = {.caller = x->caller, .action = action, .may_lower = may_lower};
	int rc = taxii_objects_add(t, c, arr, &o, &status, &e);
	json_decref(arr);
	if (rc != 0)
		return store_failed(&e, out);
	return one_result(status, obj, ok_status, out);
}

int
taxii_svc_intel_create(struct taxii *t, struct auth_ctx *x, const json_t *in, json_t **out)
{
	struct taxii_coll c;
	if (!json_is_object(in)) {
		*out = auth_error("bad_request", "expected {\"collection\": ..., \"object\": {...}}");
		return 400;
	}
	int rc = coll_for(t, x, arg(in, "collection"), AUTH_INTEL_WRITE, &c, out);
	if (rc != 0)
		return rc;
	const json_t *src = json_object_get(in, "object");
	const char *type = json_string_value(json_object_get(src, "type"));
	if (!json_is_object(src) || !stix_type_valid(type)) {
		*out = auth_error("bad_request", "object must be a STIX object with a valid type");
		return 400;
	}
	json_t *obj = json_deep_copy(src);
	/* The console may leave the bookkeeping to the node. */
	if (json_object_get(obj, "id") == NULL) {
		char id[STIX_ID_MAX];
		stix_id_new(type, id, sizeof(id));
		json_object_set_new(obj, "id", json_string(id));
	}
	enum stix_kind kind = stix_object_kind(obj);
	if (json_object_get(obj, "spec_version") == NULL)
		json_object_set_new(obj, "spec_version", json_string("2.1"));
	if (kind != STIX_KIND_SCO && strcmp(type, "marking-definition") != 0) {
		char now[STIX_TIMESTAMP_MAX];
		stix_timestamp_now(now);
		if (json_object_get(obj, "created") == NULL)
			json_object_set_new(obj, "created", json_string(now));
		if (json_object_get(obj, "modified") == NULL)
			json_object_set(obj, "modified", json_object_get(obj, "created"));
	}
	rc = apply_options(in, obj, out);
	if (rc == 0)
		rc = add_one_object(t, x, &c, obj, false, "intel.create", 201, out);
	json_decref(obj);
	return rc;
}

/* Properties an edit may not touch: they name the object or its version. */
static bool
fixed_property(const char *key)
{
	static const char *const fixed[] = {"id", "type", "spec_version", "created", "modified"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(fixed); i++)
		if (strcmp(key, fixed[i]) == 0)
			return true;
	return false;
}

/* A "modified" later than the previous version's, at millisecond precision. */
static void
next_modified(json_t *obj)
{
	char now[STIX_TIMESTAMP_MAX];
	stix_timestamp_now(now);
	const char *prev = json_string_value(json_object_get(obj, "modified"));
	if (prev && stix_timestamp_cmp(now, prev) <= 0) {
		int64_t us;
		if (taxii_ts_parse(prev, &us, NULL) == 0) {
			int64_t ms = us / 1000 + 1;
			time_format_rfc3339(ms, now, sizeof(now));
		}
	}
	json_object_set_new(obj, "modified", json_string(now));
}

static int
new_version(struct taxii *t, struct auth_ctx *x, const char *id, const json_t *in, bool revoke,
            json_t **out)
{
	struct taxii_coll c;
	if (!json_is_object(in)) {
		*out = auth_error("bad_request", "expected a JSON object with collection");
		return 400;
	}
	int rc = coll_for(t, x, arg(in, "collection"), AUTH_INTEL_WRITE, &c, out);
	if (rc != 0)
		return rc;
	int64_t org = 0;
	int tlp = 0;
	json_t *obj = stix_id_valid(id, NULL) ? latest_visible(t, x->caller, &c, id, &org, &tlp, NULL)
	                                      : NULL;
	if (obj == NULL) {
		*out = auth_error("not_found", "no such object in collection %s", c.uuid);
		return 404;
	}
	if (json_object_get(obj, "modified") == NULL) {
		json_decref(obj);
		*out = auth_error("bad_request", "%s has no versions (it has no modified property)", id);
		return 400;
	}
	bool lower = json_is_true(json_object_get(in, "lower_marking"));
	if (lower) {
		struct auth_object ao = {.org_id = org, .tlp = (enum auth_tlp)tlp};
		enum auth_decision d = auth_check(x->caller, AUTH_INTEL_LOWER, &ao);
		if (d != AUTH_ALLOW) {
			json_decref(obj);
			return auth_refuse(d, out);
		}
	}
	if (revoke) {
		json_object_set_new(obj, "revoked", json_true());
	} else {
		const json_t *set = json_object_get(in, "set");
		const json_t *unset = json_object_get(in, "unset");
		const char *key;
		json_t *v;
		size_t i;
		json_object_foreach ((json_t *)set, key, v) {
			if (fixed_property(key)) {
				json_decref(obj);
				*out = auth_error("bad_request", "set: '%s' cannot change", key);
				return 400;
			}
			json_object_set(obj, key, v);
		}
		json_array_foreach (unset, i, v) {
			const char *k = json_string_value(v);
			if (k == NULL || fixed_property(k)) {
				json_decref(obj);
				*out = auth_error("bad_request", "unset: each entry is a property that may go");
				return 400;
			}
			json_object_del(obj, k);
		}
		rc = apply_options(in, obj, out);
		if (rc != 0) {
			json_decref(obj);
			return rc;
		}
	}
	next_modified(obj);
	rc = add_one_object(t, x, &c, obj, lower, revoke ? "intel.revoke" : "intel.update", 200, out);
	json_decref(obj);
	return rc;
}

int
taxii_svc_intel_update(struct taxii *t, struct auth_ctx *x, const char *id, const json_t *in,
                       json_t **out)
{
	return new_version(t, x, id, in, false, out);
}

int
taxii_svc_intel_revoke(struct taxii *t, struct auth_ctx *x, const char *id, const json_t *in,
                       json_t **out)
{
	return new_version(t, x, id, in, true, out);
}

/* ---- import and export ----------------------------------------------------------- */

int
taxii_svc_add(struct taxii *t, struct auth_ctx *x, const char *collection, const json_t *objects,
              json_t **out)
{
	struct taxii_coll c;
	int rc = coll_for(t, x, collection, AUTH_INTEL_WRITE, &c, out);
	if (rc != 0)
		return rc;
	if (!json_is_array(objects)) {
		*out = auth_error("bad_request", "objects must be a list");
		return 400;
	}
	struct err e;
	err_clear(&e);
	struct taxii_add_opts o = {.caller = x->caller, .action = "intel.add", .keep_status = true};
	if (taxii_objects_add(t, &c, objects, &o, out, &e) != 0)
		return store_failed(&e, out);
	return 202;
}

int
taxii_svc_intel_import(struct taxii *t, struct auth_ctx *x, const char *collection,
                       const json_t *in, json_t **out)
{
	const json_t *objects = json_object_get(in, "objects");
	if (!json_is_object(in) || (objects && !json_is_array(objects))) {
		*out = auth_error("bad_request", "expected a STIX bundle or a TAXII envelope");
		return 400;
	}
	json_t *empty = json_array();
	int rc = taxii_svc_add(t, x, collection, objects ? objects : empty, out);
	json_decref(empty);
	return rc == 202 ? 200 : rc;
}

struct export {
	struct buf b;
	size_t n;
};

static void
export_one(const char *json, size_t len, void *arg)
{
	struct export *x = arg;
	if (x->n++)
		buf_append(&x->b, ",", 1);
	buf_append(&x->b, json, len);
}

int
taxii_svc_intel_export(struct taxii *t, struct auth_ctx *x, const char *collection,
                       bool all_versions, char **text)
{
	struct taxii_coll c;
	json_t *out = NULL;
	int rc = coll_for(t, x, collection, AUTH_INTEL_READ, &c, &out);
	if (rc != 0) {
		*text = json_dumps(out, JSON_COMPACT);
		json_decref(out);
		return rc;
	}
	char id[STIX_ID_MAX];
	stix_id_new("bundle", id, sizeof(id));
	struct export ex = {.b = {0}};
	buf_printf(&ex.b, "{\"type\":\"bundle\",\"id\":\"%s\",\"objects\":[", id);
	struct err e;
	err_clear(&e);
	if (taxii_each_object(t, x->caller, &c, all_versions, export_one, &ex, &e) != 0) {
		buf_free(&ex.b);
		store_failed(&e, &out);
		*text = json_dumps(out, JSON_COMPACT);
		json_decref(out);
		return 500;
	}
	buf_puts(&ex.b, "]}");
	*text = buf_steal(&ex.b);
	return 200;
}

/* ---- routes ------------------------------------------------------------------- */

/* auth_ctx_of() needs the auth subsystem's object, which this one does not
 * hold; the service context only uses the store, config and caller. */
static void
ctx_of(struct auth_ctx *x, struct taxii *t, struct http_req *r)
{
	x->st = t->st;
	x->cfg = t->cfg;
	x->caller = auth_caller_of(r);
	x->remote = http_req_remote(r);
}

#define SIMPLE(name, call) AUTH_HANDLER(name, ctx_of, call)
#define WITH_QUERY(name, call) AUTH_HANDLER_QUERY(name, ctx_of, call)
#define WITH_BODY(name, call) AUTH_HANDLER_BODY(name, ctx_of, call)

SIMPLE(h_coll_list, taxii_svc_collection_list(arg, &x, &out))
SIMPLE(h_coll_get, taxii_svc_collection_get(arg, &x, http_req_param(r, "id"), &out))
WITH_BODY(h_coll_create, taxii_svc_collection_create(arg, &x, in, &out))
WITH_BODY(h_coll_update, taxii_svc_collection_update(arg, &x, http_req_param(r, "id"), in, &out))
SIMPLE(h_coll_delete, taxii_svc_collection_delete(arg, &x, http_req_param(r, "id"), &out))
WITH_QUERY(h_intel_list, taxii_svc_intel_list(arg, &x, q, &out))
SIMPLE(h_intel_get, taxii_svc_intel_get(arg, &x, http_req_param(r, "id"),
                                        http_req_query(r, "collection"), &out))
WITH_BODY(h_intel_create, taxii_svc_intel_create(arg, &x, in, &out))
WITH_BODY(h_intel_update, taxii_svc_intel_update(arg, &x, http_req_param(r, "id"), in, &out))
WITH_BODY(h_intel_revoke, taxii_svc_intel_revoke(arg, &x, http_req_param(r, "id"), in, &out))

static void
h_intel_import(struct http_req *r, void *arg)
{
	size_t len;
	const char *body = http_req_body(r, &len);
	json_t *objects = NULL;
	struct err e;
	err_clear(&e);
	if (stix_envelope_parse(body, len, 0, &objects, &e) != 0) {
		http_respond_error(r, 400, "bad_request", "%s", e.msg);
		return;
	}
	json_t *in = json_pack("{s:o}", "objects", objects);
	struct auth_ctx x;
	ctx_of(&x, arg, r);
	json_t *out = NULL;
	int st = taxii_svc_intel_import(arg, &x, http_req_query(r, "collection"), in, &out);
	json_decref(in);
	auth_http_reply(r, st, out);
}

static void
h_intel_export(struct http_req *r, void *arg)
{
	struct auth_ctx x;
	ctx_of(&x, arg, r);
	const char *v = http_req_query(r, "versions");
	bool all = v == NULL || strcmp(v, "last") != 0;
	char *text = NULL;
	int st = taxii_svc_intel_export(arg, &x, http_req_query(r, "collection"), all, &text);
	http_resp_header(r, "Cache-Control", "no-store");
	http_respond(r, st, st == 200 ? "application/stix+json;version=2.1" : "application/json",
	             text ? text : "{}", text ? strlen(text) : 2);
	free(text);
}

void
taxii_intel_routes(struct taxii *t, struct http_server *srv)
{
	http_route(srv, HTTP_GET, "/api/v1/collections", h_coll_list, t);
	http_route(srv, HTTP_POST, "/api/v1/collections", h_coll_create, t);
	http_route(srv, HTTP_GET, "/api/v1/collections/{id}", h_coll_get, t);
	http_route(srv, HTTP_PATCH, "/api/v1/collections/{id}", h_coll_update, t);
	http_route(srv, HTTP_DELETE, "/api/v1/collections/{id}", h_coll_delete, t);
	http_route(srv, HTTP_GET, "/api/v1/intel", h_intel_list, t);
	http_route(srv, HTTP_POST, "/api/v1/intel", h_intel_create, t);
	http_route(srv, HTTP_POST, "/api/v1/intel/import", h_intel_import, t);
	http_route(srv, HTTP_GET, "/api/v1/intel/export", h_intel_export, t);
	http_route(srv, HTTP_GET, "/api/v1/intel/{id}", h_intel_get, t);
	http_route(srv, HTTP_PATCH, "/api/v1/intel/{id}", h_intel_update, t);
	http_route(srv, HTTP_POST, "/api/v1/intel/{id}/revoke", h_intel_revoke, t);
}
