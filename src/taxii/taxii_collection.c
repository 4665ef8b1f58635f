/*
 * taxii_collection.c - collections: their access rules, the in-memory copy
 * every request reads, and the /api/v1/collections services.
 *
 * A collection's can_read and can_write are rules {"roles": [...],
 * "orgs": [...]}: roles are role names or "*", orgs are organisation ids or
 * "*" (any), "community" (members of the sharing community) or "node" (the
 * node's own organisation). A rule only narrows what auth_check already
 * allows (taxii.read, taxii.write, intel.read, intel.write); which objects
 * a reader then sees is the TLP rule's business (auth_sql_visible).
 *
 * Collections are few and read on every request, so they live in memory
 * behind a read-write lock, reloaded after each change.
 */
#include "taxii/taxii_int.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

#define ALL_ROLES 0xfeu /* every role but NONE */

void
taxii_uuid(char out[37])
{
	uint8_t b[16];
	randombytes_buf(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

/* ---- rules ------------------------------------------------------------------ */

int
taxii_rule_parse(const json_t *j, struct taxii_rule *r, struct err *e)
{
	memset(r, 0, sizeof(*r));
	if (!json_is_object(j)) {
		err_set(e, "must be an object {\"roles\": [...], \"orgs\": [...]}");
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)j, key, v) {
		if (strcmp(key, "roles") != 0 && strcmp(key, "orgs") != 0) {
			err_set(e, "unknown field '%.64s' (roles, orgs)", key);
			return -1;
		}
	}
	const json_t *roles = json_object_get(j, "roles");
	const json_t *orgs = json_object_get(j, "orgs");
	if (!json_is_array(roles) || !json_is_array(orgs)) {
		err_set(e, "roles and orgs must both be lists");
		return -1;
	}
	size_t i;
	json_array_foreach (roles, i, v) {
		const char *s = json_string_value(v);
		if (s && strcmp(s, "*") == 0) {
			r->roles = ALL_ROLES;
			continue;
		}
		enum auth_role role = auth_role_parse(s);
		if (role == AUTH_ROLE_NONE) {
			err_set(e, "roles: '%.64s' is not a role (admin, analyst, reviewer, reporter, "
			           "viewer, peer, sensor or *)",
			        s ? s : "?");
			return -1;
		}
		r->roles |= 1u << role;
	}
	json_array_foreach (orgs, i, v) {
		const char *s = json_string_value(v);
		if (json_is_integer(v) && json_integer_value(v) > 0) {
			if (r->norgs == TAXII_RULE_MAX_ORGS) {
				err_set(e, "orgs: at most %d organisations", TAXII_RULE_MAX_ORGS);
				return -1;
			}
			r->orgs[r->norgs++] = json_integer_value(v);
		} else if (s && strcmp(s, "*") == 0) {
			r->any_org = true;
		} else if (s && strcmp(s, "community") == 0) {
			r->community = true;
		} else if (s && strcmp(s, "node") == 0) {
			r->node = true;
		} else {
			err_set(e, "orgs: each entry is an organisation id, \"*\", \"community\" or \"node\"");
			return -1;
		}
	}
	return 0;
}

json_t *
taxii_rule_json(const struct taxii_rule *r)
{
	json_t *roles = json_array(), *orgs = json_array();
	if (r->roles == ALL_ROLES) {
		json_array_append_new(roles, json_string("*"));
	} else {
		for (int i = AUTH_ROLE_ADMIN; i <= AUTH_ROLE_PEER; i++)
			if (r->roles & (1u << i))
				json_array_append_new(roles, json_string(auth_role_name((enum auth_role)i)));
	}
	if (r->any_org)
		json_array_append_new(orgs, json_string("*"));
	if (r->community)
		json_array_append_new(orgs, json_string("community"));
	if (r->node)
		json_array_append_new(orgs, json_string("node"));
	for (size_t i = 0; i < r->norgs; i++)
		json_array_append_new(orgs, json_integer(r->orgs[i]));
	return json_pack("{s:o,s:o}", "roles", roles, "orgs", orgs);
}

bool
taxii_rule_allows(const struct taxii_rule *r, const struct auth_caller *caller)
{
	if (caller == NULL)
		return false;
	if (caller->local)
		return true;
	if (!(r->roles & (1u << caller->role)))
		return false;
	if (r->any_org || (r->community && caller->in_community) || (r->node && caller->node_staff))
		return true;
	for (size_t i = 0; i < r->norgs; i++)
		if (r->orgs[i] == caller->org_id)
			return true;
	return false;
}

int
taxii_coll_access(const struct taxii_coll *c, const struct auth_caller *caller,
                  enum auth_action action)
{
	enum auth_decision d = auth_check(caller, action, NULL);
	if (d == AUTH_UNAUTHENTICATED)
		return 401;
	if (d != AUTH_ALLOW)
		return 403;
	bool r = taxii_rule_allows(&c->read, caller);
	bool w = taxii_rule_allows(&c->write, caller);
	if (!r && !w)
		return 404;
	bool writing = action == AUTH_TAXII_WRITE || action == AUTH_INTEL_WRITE;
	if (writing ? !w : !r)
		return 403;
	return 0;
}

json_t *
taxii_coll_taxii_json(const struct taxii_coll *c, const struct auth_caller *caller)
{
	json_t *mt = json_loads(c->media_types, 0, NULL);
	if (mt == NULL)
		mt = json_pack("[s]", TAXII_STIX_MEDIA_TYPE);
	json_t *j = json_pack("{s:s,s:s}", "id", c->uuid, "title", c->title);
	if (c->description[0])
		json_object_set_new(j, "description", json_string(c->description));
	if (c->alias[0])
		json_object_set_new(j, "alias", json_string(c->alias));
	bool r = auth_check(caller, AUTH_TAXII_READ, NULL) == AUTH_ALLOW &&
	         taxii_rule_allows(&c->read, caller);
	bool w = auth_check(caller, AUTH_TAXII_WRITE, NULL) == AUTH_ALLOW &&
	         taxii_rule_allows(&c->write, caller);
	json_object_set_new(j, "can_read", json_boolean(r));
	json_object_set_new(j, "can_write", json_boolean(w));
	json_object_set_new(j, "media_types", mt);
	return j;
}

/* The admin's view: the rules themselves and the default marking. */
static json_t *
coll_admin_json(const struct taxii_coll *c)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "id", c->uuid, "title", c->title, "description",
	                      c->description);
	json_object_set_new(j, "alias", c->alias[0] ? json_string(c->alias) : json_null());
	json_object_set_new(j, "can_read", taxii_rule_json(&c->read));
	json_object_set_new(j, "can_write", taxii_rule_json(&c->write));
	json_object_set_new(j, "default_tlp", json_string(auth_tlp_name((enum auth_tlp)c->default_tlp)));
	json_t *mt = json_loads(c->media_types, 0, NULL);
	json_object_set_new(j, "media_types", mt ? mt : json_array());
	json_object_set_new(j, "taxii_url",
	                    json_sprintf("%scollections/%s/", TAXII_API_ROOT, c->uuid));
	return j;
}

/* ---- the in-memory copy ---------------------------------------------------------- */

int
taxii_coll_reload(struct taxii *t, struct err *e)
{
	struct store_conn *conn = store_reader_get(t->st);
	struct store_stmt *s = store_prepare(conn,
	                                     "SELECT id, uuid, alias, title, description, can_read,"
	                                     " can_write, default_tlp, media_types"
	                                     " FROM taxii_collections ORDER BY id",
	                                     e);
	if (s == NULL) {
		store_reader_put(t->st, conn);
		return -1;
	}
	struct taxii_coll *v = NULL;
	size_t n = 0;
	int rc;
	while ((rc = store_step(s, e)) == STORE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		struct taxii_coll *c = &v[n++];
		memset(c, 0, sizeof(*c));
		c->id = store_col_int(s, 0);
		snprintf(c->uuid, sizeof(c->uuid), "%s", store_col_text(s, 1));
		snprintf(c->alias, sizeof(c->alias), "%s", store_col_text(s, 2));
		snprintf(c->title, sizeof(c->title), "%s", store_col_text(s, 3));
		snprintf(c->description, sizeof(c->description), "%s", store_col_text(s, 4));
		c->default_tlp = (int)store_col_int(s, 7);
		snprintf(c->media_types, sizeof(c->media_types), "%s", store_col_text(s, 8));
		for (int k = 0; k < 2; k++) {
			json_t *j = json_loads(store_col_text(s, 5 + k), 0, NULL);
			struct err re;
			struct taxii_rule *r = k == 0 ? &c->read : &c->write;
			/* A rule the store holds was checked when written; one that
			 * no longer parses lets nobody in rather than everybody. */
			if (taxii_rule_parse(j, r, &re) != 0) {
				log_warnx("taxii", "collection %s: bad %s rule, denying all: %s", c->uuid,
				          k == 0 ? "can_read" : "can_write", re.msg);
				memset(r, 0, sizeof(*r));
			}
			json_decref(j);
		}
	}
	store_finalize(s);
	store_reader_put(t->st, conn);
	if (rc != STORE_DONE) {
		free(v);
		return -1;
	}
	pthread_rwlock_wrlock(&t->colls_lock);
	free(t->colls);
	t->colls = v;
	t->ncolls = n;
	pthread_rwlock_unlock(&t->colls_lock);
	return 0;
}

int
taxii_coll_find(struct taxii *t, const char *ref, struct taxii_coll *out)
{
	if (ref == NULL)
		return -1;
	int rc = -1;
	pthread_rwlock_rdlock(&t->colls_lock);
	for (size_t i = 0; i < t->ncolls; i++) {
		if (strcmp(t->colls[i].uuid, ref) == 0 ||
		    (t->colls[i].alias[0] && strcmp(t->colls[i].alias, ref) == 0)) {
			*out = t->colls[i];
			rc = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&t->colls_lock);
	return rc;
}

/* A snapshot of every collection; the caller frees it. */
static struct taxii_coll *
coll_all(struct taxii *t, size_t *n)
{
	pthread_rwlock_rdlock(&t->colls_lock);
	struct taxii_coll *v = xcalloc(t->ncolls ? t->ncolls : 1, sizeof(*v));
	if (t->ncolls)
		memcpy(v, t->colls, t->ncolls * sizeof(*v));
	*n = t->ncolls;
	pthread_rwlock_unlock(&t->colls_lock);
	return v;
}

/* ---- create, update, delete --------------------------------------------------------- */

static bool
uuid_valid(const char *s)
{
	char id[64];
	if (s == NULL || strlen(s) != 36)
		return false;
	snprintf(id, sizeof(id), "x-id--%s", s);
	return stix_id_valid(id, NULL);
}

static bool
alias_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || uuid_valid(s))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/* Default rules: anyone with TAXII rights reads; node staff and peers write. */
static const char *const default_read = "{\"roles\":[\"*\"],\"orgs\":[\"*\"]}";
static const char *const default_write =
	"{\"roles\":[\"admin\",\"analyst\",\"peer\"],\"orgs\":[\"node\"]}";

struct coll_write {
	bool create;
	struct taxii_coll c; /* the result */
	char read_json[2048], write_json[2048];
	const struct auth_caller *caller;
	json_t *detail;
	int64_t objects; /* delete: how many versions went with it */
	struct err e;
	bool conflict;
};

/* Reads the fields of a create or update into w->c (an update starts from
 * the current collection). Returns 0 or an HTTP status with *out. */
static int
coll_input(const json_t *in, struct coll_write *w, json_t **out)
{
	static const char *const fields[] = {"id",        "title",       "description",
	                                     "alias",     "can_read",    "can_write",
	                                     "default_tlp", "media_types"};
	if (!json_is_object(in)) {
		*out = auth_error("bad_request", "expected a JSON object");
		return 400;
	}
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)in, key, v) {
		bool known = false;
		for (size_t i = 0; i < CIIP_ARRAY_LEN(fields); i++)
			known = known || strcmp(key, fields[i]) == 0;
		if (!known) {
			*out = auth_error("bad_request",
			                  "unknown field '%.64s' (id, title, description, alias, can_read, "
			                  "can_write, default_tlp, media_types)",
			                  key);
			return 400;
		}
	}
	struct taxii_coll *c = &w->c;
	const json_t *id = json_object_get(in, "id");
	if (id && !w->create) {
		*out = auth_error("bad_request", "a collection's id cannot change");
		return 400;
	}
	if (id) {
		if (!uuid_valid(json_string_value(id))) {
			*out = auth_error("bad_request", "id must be a UUID");
			return 400;
		}
		snprintf(c->uuid, sizeof(c->uuid), "%s", json_string_value(id));
	}
	const json_t *title = json_object_get(in, "title");
	if (title) {
		const char *s = json_string_value(title);
		if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof(c->title)) {
			*out = auth_error("bad_request", "title must be 1 to 256 characters");
			return 400;
		}
		snprintf(c->title, sizeof(c->title), "%s", s);
	} else if (w->create) {
		*out = auth_error("bad_request", "title is required");
		return 400;
	}
	const json_t *desc = json_object_get(in, "description");
	if (desc) {
		const char *s = json_string_value(desc);
		if (s == NULL || strlen(s) >= sizeof(c->description)) {
			*out = auth_error("bad_request", "description must be at most 1024 characters");
			return 400;
		}
		snprintf(c->description, sizeof(c->description), "%s", s);
	}
	const json_t *alias = json_object_get(in, "alias");
	if (alias && json_is_null(alias)) {
		c->alias[0] = '\0';
	} else if (alias) {
		const char *s = json_string_value(alias);
		if (s == NULL || !alias_valid(s)) {
			*out = auth_error("bad_request", "alias must be 1 to 64 characters a-z, 0-9, '-', "
			                                 "'_' or '.', and not a UUID");
			return 400;
		}
		snprintf(c->alias, sizeof(c->alias), "%s", s);
	}
	const char *rule_keys[2] = {"can_read", "can_write"};
	for (int k = 0; k < 2; k++) {
		const json_t *rj = json_object_get(in, rule_keys[k]);
		if (rj == NULL)
			continue;
		struct err re;
		struct taxii_rule *r = k == 0 ? &c->read : &c->write;
		if (taxii_rule_parse(rj, r, &re) != 0) {
			*out = auth_error("bad_request", "%s: %s", rule_keys[k], re.msg);
			return 400;
		}
	}
	const json_t *tlp = json_object_get(in, "default_tlp");
	if (tlp) {
		enum auth_tlp lvl = auth_tlp_parse(json_string_value(tlp));
		if (lvl == 0) {
			*out = auth_error("bad_request",
			                  "default_tlp must be clear, green, amber, amber+strict or red");
			return 400;
		}
		c->default_tlp = (int)lvl;
	}
	const json_t *mt = json_object_get(in, "media_types");
	if (mt) {
		bool ok = json_is_array(mt) && json_array_size(mt) > 0 && json_array_size(mt) <= 8;
		size_t i;
		json_t *el;
		json_array_foreach (mt, i, el)
			ok = ok && json_is_string(el) && json_string_length(el) < 64;
		char *text = ok ? json_dumps(mt, JSON_COMPACT) : NULL;
		if (text == NULL || strlen(text) >= sizeof(c->media_types)) {
			free(text);
			*out = auth_error("bad_request", "media_types must be a list of 1 to 8 media types");
			return 400;
		}
		snprintf(c->media_types, sizeof(c->media_types), "%s", text);
		free(text);
	}
	return 0;
}

static void
rules_text(struct coll_write *w)
{
	for (int k = 0; k < 2; k++) {
		json_t *j = taxii_rule_json(k == 0 ? &w->c.read : &w->c.write);
		char *s = json_dumps(j, JSON_COMPACT);
		snprintf(k == 0 ? w->read_json : w->write_json, sizeof(w->read_json), "%s", s);
		free(s);
		json_decref(j);
	}
}

static int
coll_write_fn(struct store_conn *conn, void *arg)
{
	struct coll_write *w = arg;
	struct taxii_coll *c = &w->c;
	int64_t now = time_now_ms();
	struct store_stmt *s;
	if (w->create)
		s = store_prepare(conn,
		                  "INSERT INTO taxii_collections(uuid, alias, title, description,"
		                  " can_read, can_write, default_tlp, media_types, created_at, updated_at)"
		                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		                  &w->e);
	else
		s = store_prepare(conn,
		                  "UPDATE taxii_collections SET uuid = ?, alias = ?, title = ?,"
		                  " description = ?, can_read = ?, can_write = ?, default_tlp = ?,"
		                  " media_types = ?, updated_at = ? WHERE id = ?",
		                  &w->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, c->uuid);
	store_bind_text(s, 2, c->alias[0] ? c->alias : NULL);
	store_bind_text(s, 3, c->title);
	store_bind_text(s, 4, c->description);
	store_bind_text(s, 5, w->read_json);
	store_bind_text(s, 6, w->write_json);
	store_bind_int(s, 7, c->default_tlp);
	store_bind_text(s, 8, c->media_types);
	store_bind_int(s, 9, now);
	store_bind_int(s, 10, w->create ? now : c->id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc == STORE_CONSTRAINT) {
		w->conflict = true;
		err_set(&w->e, "another collection has this id or alias");
		return -1;
	}
	if (rc != STORE_DONE)
		return -1;
	if (w->create)
		c->id = store_last_insert_id(conn);
	return auth_audit_append(conn, w->caller,
	                         w->create ? "intel.collection.create" : "intel.collection.update",
	                         "taxii_collection", c->uuid, w->detail, &w->e);
}

static int
coll_delete_fn(struct store_conn *conn, void *arg)
{
	struct coll_write *w = arg;
	int64_t indicators = 0;
	if (store_query_int(conn, "SELECT COUNT(*) FROM taxii_objects WHERE collection_id = ?",
	                    &w->objects, &w->e, "i", w->c.id) != STORE_ROW ||
	    store_query_int(conn,
	                    "SELECT COUNT(*) FROM taxii_objects WHERE collection_id = ?"
	                    " AND type = 'indicator' AND is_last = 1",
	                    &indicators, &w->e, "i", w->c.id) != STORE_ROW ||
	    taxii_count_indicators(conn, -indicators, &w->e) != 0)
		return -1;
	struct store_stmt *s =
		store_prepare(conn, "DELETE FROM taxii_objects WHERE collection_id = ?", &w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->c.id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	s = store_prepare(conn, "DELETE FROM taxii_collections WHERE id = ?", &w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->c.id);
	rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	json_t *d = json_pack("{s:s,s:I}", "title", w->c.title, "versions_deleted",
	                      (json_int_t)w->objects);
	rc = auth_audit_append(conn, w->caller, "intel.collection.delete", "taxii_collection",
	                       w->c.uuid, d, &w->e);
	json_decref(d);
	return rc;
}

/* The objects every collection starts with: ciip's identity, the intel-type
 * extension-definition and the five TLP 2.0 marking-definitions, so that a
 * client reading only this collection can resolve what its objects use. */
static json_t *
coll_seed_objects(void)
{
	json_t *objs = stix_tlp_definitions();
	json_array_insert_new(
		objs, 0,
		json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s]}", "type", "identity", "spec_version",
	              "2.1", "id", STIX_CIIP_IDENTITY_ID, "created", "2026-01-01T00:00:00.000Z",
	              "modified", "2026-01-01T00:00:00.000Z", "name", "ciip", "identity_class",
	              "system", "description",
	              "The ciip software, publisher of ciip's STIX extensions.",
	              "object_marking_refs", stix_tlp_marking_id(STIX_TLP_CLEAR)));
	json_array_insert_new(objs, 1, stix_intel_type_definition());
	return objs;
}

int
taxii_coll_create(struct taxii *t, const struct auth_caller *caller, const json_t *in,
                  struct taxii_coll *out, struct err *e)
{
	struct coll_write *w = xcalloc(1, sizeof(*w));
	w->create = true;
	w->caller = caller;
	w->c.default_tlp = AUTH_TLP_AMBER;
	snprintf(w->c.media_types, sizeof(w->c.media_types), "[\"%s\"]", TAXII_STIX_MEDIA_TYPE);
	json_t *dr = json_loads(default_read, 0, NULL), *dw = json_loads(default_write, 0, NULL);
	struct err ignore;
	if (taxii_rule_parse(dr, &w->c.read, &ignore) != 0 ||
	    taxii_rule_parse(dw, &w->c.write, &ignore) != 0)
		abort(); /* the defaults above are constants */
	json_decref(dr);
	json_decref(dw);
	json_t *msg = NULL;
	int status = coll_input(in, w, &msg);
	int rc = -1;
	if (status != 0) {
		const char *m = json_string_value(json_object_get(json_object_get(msg, "error"), "message"));
		err_set(e, "%s", m ? m : "bad collection");
		json_decref(msg);
		free(w);
		return 400;
	}
	if (w->c.uuid[0] == '\0')
		taxii_uuid(w->c.uuid);
	rules_text(w);
	w->detail = json_pack("{s:s}", "title", w->c.title);
	if (store_write(t->st, coll_write_fn, w, &w->e) != 0) {
		*e = w->e;
		rc = w->conflict ? 409 : 500;
	} else {
		rc = 0;
	}
	json_decref(w->detail);
	if (rc == 0 && taxii_coll_reload(t, e) == 0) {
		json_t *seed = coll_seed_objects();
		json_t *status_json = NULL;
		struct taxii_add_opts o = {.caller = caller, .action = "taxii.seed"};
		if (taxii_objects_add(t, &w->c, seed, &o, &status_json, e) != 0)
			rc = 500;
		json_decref(status_json);
		json_decref(seed);
	}
	if (rc == 0 && out)
		*out = w->c;
	free(w);
	return rc;
}

/* ---- services -------------------------------------------------------------------- */

static int
store_failed(const struct err *e, json_t **out)
{
	log_warnx("taxii", "store: %s", e->msg);
	*out = auth_error("internal", "the store failed: %s", e->msg);
	return 500;
}

int
taxii_svc_collection_list(struct taxii *t, struct auth_ctx *x, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INTEL_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	bool admin = auth_check(x->caller, AUTH_INTEL_ADMIN, NULL) == AUTH_ALLOW;
	size_t n;
	struct taxii_coll *v = coll_all(t, &n);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		bool r = taxii_rule_allows(&v[i].read, x->caller);
		bool w = taxii_rule_allows(&v[i].write, x->caller);
		if (!admin && !r && !w)
			continue;
		json_t *j = coll_admin_json(&v[i]);
		json_object_set_new(j, "may_read", json_boolean(r));
		json_object_set_new(j, "may_write", json_boolean(w));
		json_array_append_new(list, j);
	}
	free(v);
	*out = json_pack("{s:o}", "collections", list);
	return 200;
}

int
taxii_svc_collection_get(struct taxii *t, struct auth_ctx *x, const char *id, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INTEL_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct taxii_coll c;
	bool admin = auth_check(x->caller, AUTH_INTEL_ADMIN, NULL) == AUTH_ALLOW;
	if (taxii_coll_find(t, id, &c) != 0 ||
	    (!admin && !taxii_rule_allows(&c.read, x->caller) &&
	     !taxii_rule_allows(&c.write, x->caller))) {
		*out = auth_error("not_found", "no such collection");
		return 404;
	}
	*out = coll_admin_json(&c);
	return 200;
}

int
taxii_svc_collection_create(struct taxii *t, struct auth_ctx *x, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INTEL_ADMIN, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct taxii_coll c;
	struct err e;
	err_clear(&e);
	int rc = taxii_coll_create(t, x->caller, in, &c, &e);
	if (rc == 400 || rc == 409) {
		*out = auth_error(rc == 400 ? "bad_request" : "conflict", "%s", e.msg);
		return rc;
	}
	if (rc != 0)
		return store_failed(&e, out);
	*out = coll_admin_json(&c);
	return 201;
}

int
taxii_svc_collection_update(struct taxii *t, struct auth_ctx *x, const char *id,
                            const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INTEL_ADMIN, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct coll_write *w = xcalloc(1, sizeof(*w));
	int status = 0;
	if (taxii_coll_find(t, id, &w->c) != 0) {
		*out = auth_error("not_found", "no such collection");
		status = 404;
		goto done;
	}
	w->caller = x->caller;
	status = coll_input(in, w, out);
	if (status != 0)
		goto done;
	rules_text(w);
	w->detail = json_deep_copy(in);
	if (store_write(t->st, coll_write_fn, w, &w->e) != 0) {
		if (w->conflict) {
			*out = auth_error("conflict", "%s", w->e.msg);
			status = 409;
		} else {
			status = store_failed(&w->e, out);
		}
		goto done;
	}
	if (taxii_coll_reload(t, &w->e) != 0) {
		status = store_failed(&w->e, out);
		goto done;
	}
	*out = coll_admin_json(&w->c);
	status = 200;
done:
	json_decref(w->detail);
	free(w);
	return status;
}

int
taxii_svc_collection_delete(struct taxii *t, struct auth_ctx *x, const char *id, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INTEL_ADMIN, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct coll_write *w = xcalloc(1, sizeof(*w));
	int status;
	if (taxii_coll_find(t, id, &w->c) != 0) {
		*out = auth_error("not_found", "no such collection");
		status = 404;
	} else {
		w->caller = x->caller;
		if (store_write(t->st, coll_delete_fn, w, &w->e) != 0 ||
		    taxii_coll_reload(t, &w->e) != 0) {
			status = store_failed(&w->e, out);
		} else {
			*out = json_pack("{s:s,s:I}", "deleted", w->c.uuid, "versions_deleted",
			                 (json_int_t)w->objects);
			status = 200;
		}
	}
	free(w);
	return status;
}
