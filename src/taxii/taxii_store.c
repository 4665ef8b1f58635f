/*
 * taxii_store.c - the write path of the intel store: validating objects,
 * keeping every version, the marking and ownership rules of an update, the
 * status resource, and deleting versions.
 *
 * The work that needs no database (validation, the JSON text, the indexed
 * properties) is done on the caller's thread; the writer thread only runs
 * the SQL, so a large envelope holds the one writer for as short a time as
 * possible. Each version's date_added is assigned there, strictly
 * increasing (see taxii_schema.c for why pagination relies on it).
 */
#include "taxii/taxii_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

struct row {
	const json_t *obj; /* borrowed from the caller's array */
	char id[STIX_ID_MAX];
	const char *type;
	const char *spec_version;
	char version[64]; /* as written: modified, created, or date_added */
	char vkey[TAXII_VKEY_LEN];
	bool fixed;       /* not versioned: one version per id */
	const char *created, *modified, *created_by;
	bool revoked;
	char *markings; /* JSON text of object_marking_refs, or NULL */
	const char *intel_type;
	char label[256];
	int tlp;
	char *json;
	/* the outcome */
	bool ok;
	char *msg; /* for the status resource, or NULL */
	int64_t date_added_us;
	bool lowered;
	int old_tlp;
};

struct add_job {
	const struct taxii_coll *c;
	const struct taxii_add_opts *o;
	struct row *rows;
	size_t n;
	char status_id[37];
	char request_ts[TAXII_DATE_LEN];
	int64_t new_indicators; /* for taxii_counters */
	json_t *status; /* built on the writer thread, inside the transaction */
	struct err e;
};

static void
label_of(const json_t *obj, char *out, size_t len)
{
	static const char *const keys[] = {"name", "value", "pattern", "path", "key", "subject",
	                                   "body", "hashes"};
	out[0] = '\0';
	for (size_t i = 0; i < CIIP_ARRAY_LEN(keys); i++) {
		const json_t *v = json_object_get(obj, keys[i]);
		if (json_is_string(v)) {
			snprintf(out, len, "%s", json_string_value(v));
			return;
		}
		if (json_is_object(v) && json_object_size(v) > 0) {
			const char *k = json_object_iter_key(json_object_iter((json_t *)v));
			const char *s = json_string_value(json_object_iter_value(json_object_iter((json_t *)v)));
			snprintf(out, len, "%s:%s", k, s ? s : "");
			return;
		}
	}
}

/* Fills the columns of a valid object. */
static void
row_prepare(struct row *r, const json_t *obj, const struct taxii_coll *c)
{
	r->obj = obj;
	snprintf(r->id, sizeof(r->id), "%s", json_string_value(json_object_get(obj, "id")));
	r->type = json_string_value(json_object_get(obj, "type"));
	r->spec_version = json_string_value(json_object_get(obj, "spec_version"));
	if (r->spec_version == NULL)
		r->spec_version = "2.1"; /* an SCO may omit it; it is then 2.1 */
	int src = stix_object_version(obj, r->version, sizeof(r->version));
	r->fixed = src == STIX_VERSION_FIXED || src < 0;
	if (!r->fixed && taxii_ts_parse(r->version, NULL, r->vkey) != 0)
		r->fixed = true; /* cannot happen for a validated object */
	r->created = json_string_value(json_object_get(obj, "created"));
	r->modified = json_string_value(json_object_get(obj, "modified"));
	r->created_by = json_string_value(json_object_get(obj, "created_by_ref"));
	r->revoked = json_is_true(json_object_get(obj, "revoked"));
	const json_t *refs = json_object_get(obj, "object_marking_refs");
	r->markings = refs ? json_dumps(refs, JSON_COMPACT) : NULL;
	enum stix_intel_type it = stix_intel_type_get(obj);
	r->intel_type = it == STIX_INTEL_NONE ? NULL : stix_intel_type_name(it);
	label_of(obj, r->label, sizeof(r->label));
	enum stix_tlp tlp = stix_tlp_of_object(obj);
	if (tlp == STIX_TLP_NONE) {
		/* Definitions are vocabulary every reader needs to interpret what
		 * it may see: unmarked, they are CLEAR. Anything else unmarked
		 * takes the collection's default. */
		bool definition = strcmp(r->type, "marking-definition") == 0 ||
		                  strcmp(r->type, "extension-definition") == 0;
		r->tlp = definition ? AUTH_TLP_CLEAR : c->default_tlp;
	} else {
		r->tlp = (int)tlp; /* enum stix_tlp and enum auth_tlp number alike */
	}
	r->json = json_dumps(obj, JSON_COMPACT);
	r->ok = r->json != NULL;
	if (!r->ok)
		r->msg = xasprintf("%s: cannot be encoded", r->id);
}

static void
rows_free(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].markings);
		free(rows[i].json);
		free(rows[i].msg);
	}
	free(rows);
}

/* The versions already stored for one id. */
struct existing {
	bool any, same;
	int64_t owner;
	int max_tlp;
	int64_t first_row, last_row;
	char first_key[TAXII_VKEY_LEN], last_key[TAXII_VKEY_LEN];
};

static int
existing_of(struct store_conn *conn, int64_t coll, const struct row *r, struct existing *x,
            struct err *e)
{
	memset(x, 0, sizeof(*x));
	struct store_stmt *s = store_prepare(
		conn,
		"SELECT row_id, version_key, tlp, org_id, is_first, is_last FROM taxii_objects"
		" WHERE collection_id = ? AND stix_id = ? ORDER BY row_id",
		e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, coll);
	store_bind_text(s, 2, r->id);
	int rc;
	while ((rc = store_step(s, e)) == STORE_ROW) {
		const char *vk = store_col_text(s, 1);
		if (!x->any)
			x->owner = store_col_int(s, 3);
		x->any = true;
		if (r->fixed || strcmp(vk, r->vkey) == 0)
			x->same = true;
		int tlp = (int)store_col_int(s, 2);
		if (tlp > x->max_tlp)
			x->max_tlp = tlp;
		if (store_col_int(s, 4)) {
			x->first_row = store_col_int(s, 0);
			snprintf(x->first_key, sizeof(x->first_key), "%s", vk);
		}
		if (store_col_int(s, 5)) {
			x->last_row = store_col_int(s, 0);
			snprintf(x->last_key, sizeof(x->last_key), "%s", vk);
		}
	}
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

static int
set_flag(struct store_conn *conn, const char *sql, int64_t row_id, struct err *e)
{
	struct store_stmt *s = store_prepare(conn, sql, e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, row_id);
	int rc = store_step(s, e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

static int
insert_row(struct store_conn *conn, const struct add_job *j, const struct row *r, int64_t org,
           bool is_first, bool is_last, struct err *e)
{
	struct store_stmt *s = store_prepare(
		conn,
		"INSERT INTO taxii_objects(collection_id, stix_id, type, spec_version, version_key,"
		" version, created, modified, revoked, created_by_ref, marking_refs, intel_type, label,"
		" date_added_us, org_id, tlp, is_first, is_last, added_by, json)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e);
	if (s == NULL)
		return -1;
	const struct auth_caller *who = j->o->caller;
	store_bind_int(s, 1, j->c->id);
	store_bind_text(s, 2, r->id);
	store_bind_text(s, 3, r->type);
	store_bind_text(s, 4, r->spec_version);
	store_bind_text(s, 5, r->vkey);
	store_bind_text(s, 6, r->version);
	store_bind_text(s, 7, r->created);
	store_bind_text(s, 8, r->modified);
	store_bind_int(s, 9, r->revoked);
	store_bind_text(s, 10, r->created_by);
	store_bind_text(s, 11, r->markings);
	store_bind_text(s, 12, r->intel_type);
	store_bind_text(s, 13, r->label);
	store_bind_int(s, 14, r->date_added_us);
	store_bind_int(s, 15, org);
	store_bind_int(s, 16, r->tlp);
	store_bind_int(s, 17, is_first);
	store_bind_int(s, 18, is_last);
	store_bind_text(s, 19, who ? who->name : "");
	store_bind_text(s, 20, r->json);
	int rc = store_step(s, e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

/* Stores one version, or says in r->msg why not. -1 only when the store
 * failed. */
static int
add_one(struct store_conn *conn, struct add_job *j, struct row *r, int64_t *next_us)
{
	const struct auth_caller *who = j->o->caller;
	struct existing x;
	if (existing_of(conn, j->c->id, r, &x, &j->e) != 0)
		return -1;
	if (x.same) {
		/* Already here: TAXII clients resend, and that is not an error.
		 * The stored version stays as it was. */
		r->msg = xstrdup("this version is already in the collection");
		return 0;
	}
	bool staff = who == NULL || who->local || who->node_staff;
	int64_t org = j->o->owner_org ? j->o->owner_org : (who ? who->org_id : 0);
	if (x.any) {
		if (x.owner != (who ? who->org_id : 0) && !staff) {
			r->ok = false;
			r->msg = xasprintf("%s: only the organisation that shared this object (or the "
			                   "node) may add a version of it",
			                   r->id);
			return 0;
		}
		if (r->tlp < x.max_tlp) {
			if (!j->o->may_lower) {
				r->ok = false;
				r->msg = xasprintf("%s: object_marking_refs: this version is TLP:%s but an "
				                   "earlier one is TLP:%s; a marking is only lowered "
				                   "explicitly, through /api/v1/intel with lower_marking",
				                   r->id, auth_tlp_name((enum auth_tlp)r->tlp),
				                   auth_tlp_name((enum auth_tlp)x.max_tlp));
				return 0;
			}
			r->lowered = true;
			r->old_tlp = x.max_tlp;
		}
		org = x.owner;
	}
	r->date_added_us = (*next_us)++;
	if (r->fixed) {
		char date[TAXII_DATE_LEN];
		taxii_ts_format(r->date_added_us, date);
		snprintf(r->version, sizeof(r->version), "%s", date);
		if (taxii_ts_parse(date, NULL, r->vkey) != 0)
			return -1;
	}
	bool is_first = !x.any || strcmp(r->vkey, x.first_key) < 0;
	bool is_last = !x.any || strcmp(r->vkey, x.last_key) > 0;
	if (x.any && is_first &&
	    set_flag(conn, "UPDATE taxii_objects SET is_first = 0 WHERE row_id = ?", x.first_row,
	             &j->e) != 0)
		return -1;
	if (x.any && is_last &&
	    set_flag(conn, "UPDATE taxii_objects SET is_last = 0 WHERE row_id = ?", x.last_row,
	             &j->e) != 0)
		return -1;
	if (insert_row(conn, j, r, org, is_first, is_last, &j->e) != 0)
		return -1;
	if (!x.any && strcmp(r->type, "indicator") == 0)
		j->new_indicators++;
	if (r->lowered) {
		json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", r->id, "version", r->version,
		                      "collection", j->c->uuid, "from",
		                      auth_tlp_name((enum auth_tlp)r->old_tlp), "to",
		                      auth_tlp_name((enum auth_tlp)r->tlp));
		int rc = auth_audit_append(conn, who, "intel.marking.lower", "stix_object", r->id, d,
		                           &j->e);
		json_decref(d);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Adds delta to the indicator count (taxii_indicators_count). */
int
taxii_count_indicators(struct store_conn *conn, int64_t delta, struct err *e)
{
	if (delta == 0)
		return 0;
	struct store_stmt *s =
		store_prepare(conn, "UPDATE taxii_counters SET n = n + ? WHERE name = 'indicators'", e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, delta);
	int rc = store_step(s, e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

static json_t *
status_detail(const struct row *r, bool with_msg)
{
	json_t *d = json_pack("{s:s,s:s}", "id", r->id, "version", r->version);
	if (with_msg && r->msg)
		json_object_set_new(d, "message", json_string(r->msg));
	return d;
}

static json_t *
status_build(const struct add_job *j)
{
	json_t *ok = json_array(), *bad = json_array();
	for (size_t i = 0; i < j->n; i++)
		json_array_append_new(j->rows[i].ok ? ok : bad, status_detail(&j->rows[i], true));
	json_t *s = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "id", j->status_id, "status",
	                      "complete", "request_timestamp", j->request_ts, "total_count",
	                      (json_int_t)j->n, "success_count", (json_int_t)json_array_size(ok),
	                      "failure_count", (json_int_t)json_array_size(bad), "pending_count",
	                      (json_int_t)0);
	json_object_set_new(s, "successes", ok);
	json_object_set_new(s, "failures", bad);
	json_object_set_new(s, "pendings", json_array());
	return s;
}

static int
add_fn(struct store_conn *conn, void *arg)
{
	struct add_job *j = arg;
	/* date_added: after every row there is, and not before now. */
	int64_t max_us = 0;
	if (store_query_int(conn, "SELECT COALESCE(MAX(date_added_us), 0) FROM taxii_objects",
	                    &max_us, &j->e, NULL) != STORE_ROW)
		return -1;
	int64_t next_us = time_now_ms() * 1000;
	if (next_us <= max_us)
		next_us = max_us + 1;
	size_t added = 0;
	for (size_t i = 0; i < j->n; i++) {
		struct row *r = &j->rows[i];
		if (!r->ok)
			continue;
		if (add_one(conn, j, r, &next_us) != 0)
			return -1;
		added += r->ok && r->date_added_us != 0;
	}
	if (taxii_count_indicators(conn, j->new_indicators, &j->e) != 0)
		return -1;
	j->status = status_build(j);
	const struct auth_caller *who = j->o->caller;
	if (j->o->keep_status) {
		char *text = json_dumps(j->status, JSON_COMPACT);
		struct store_stmt *s = store_prepare(
			conn, "INSERT INTO taxii_status(id, org_id, created_at, json) VALUES (?, ?, ?, ?)",
			&j->e);
		int rc = -1;
		if (s) {
			store_bind_text(s, 1, j->status_id);
			store_bind_int(s, 2, who ? who->org_id : 0);
			store_bind_int(s, 3, time_now_ms());
			store_bind_text(s, 4, text);
			rc = store_step(s, &j->e) == STORE_DONE ? 0 : -1;
			store_finalize(s);
		}
		free(text);
		if (rc != 0)
			return -1;
		s = store_prepare(conn, "DELETE FROM taxii_status WHERE created_at < ?", &j->e);
		if (s == NULL)
			return -1;
		store_bind_int(s, 1, time_now_ms() - (int64_t)TAXII_STATUS_TTL_S * 1000);
		rc = store_step(s, &j->e);
		store_finalize(s);
		if (rc != STORE_DONE)
			return -1;
	}
	if (added == 0)
		return 0; /* nothing changed, nothing to audit */
	json_t *d = json_pack("{s:s,s:I,s:I,s:s}", "collection", j->c->uuid, "added",
	                      (json_int_t)added, "failed",
	                      json_integer_value(json_object_get(j->status, "failure_count")),
	                      "status", j->status_id);
	int rc = auth_audit_append(conn, who, j->o->action, "taxii_collection", j->c->uuid, d,
	                           &j->e);
	json_decref(d);
	return rc;
}

int
taxii_objects_add(struct taxii *t, const struct taxii_coll *c, const json_t *objects,
                  const struct taxii_add_opts *o, json_t **status, struct err *e)
{
	struct add_job j = {.c = c, .o = o};
	j.n = json_array_size(objects);
	j.rows = xcalloc(j.n ? j.n : 1, sizeof(*j.rows));
	taxii_uuid(j.status_id);
	taxii_ts_format(time_now_ms() * 1000, j.request_ts);
	struct stix_failure *fails = NULL;
	size_t nfail = stix_objects_validate(objects, &fails);
	for (size_t i = 0, f = 0; i < j.n; i++) {
		struct row *r = &j.rows[i];
		if (f < nfail && fails[f].index == i) {
			const json_t *obj = json_array_get(objects, i);
			const char *id = json_string_value(json_object_get(obj, "id"));
			snprintf(r->id, sizeof(r->id), "%s", fails[f].id[0] ? fails[f].id : "");
			if (r->id[0] == '\0' && id && strlen(id) < 80 && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(id))
				snprintf(r->id, sizeof(r->id), "%s", id);
			const char *m = json_string_value(json_object_get(obj, "modified"));
			snprintf(r->version, sizeof(r->version), "%s",
			         m && stix_timestamp_valid(m) ? m : "");
			r->msg = xstrdup(fails[f].msg);
			r->ok = false;
			f++;
			continue;
		}
		row_prepare(r, json_array_get(objects, i), c);
	}
	free(fails);
	int rc = store_write(t->st, add_fn, &j, e);
	if (rc == 0) {
		*status = j.status;
	} else {
		json_decref(j.status);
		if (e && e->msg[0] == '\0')
			*e = j.e;
	}
	rows_free(j.rows, j.n);
	return rc == 0 ? 0 : -1;
}

/* ---- delete ----------------------------------------------------------------- */

struct delete_job {
	const struct taxii_coll *c;
	const struct auth_caller *caller;
	const char *id;
	const struct taxii_query *q;
	int status;
	int64_t deleted;
	struct err e;
};

static bool
version_selected(const struct taxii_query *q, bool first, bool last, const char *vkey)
{
	if (q->spec_excludes)
		return false;
	if (q->versions & TAXII_V_ALL)
		return true;
	if ((q->versions & TAXII_V_FIRST) && first)
		return true;
	if ((q->versions & TAXII_V_LAST) && last)
		return true;
	size_t i;
	json_t *v;
	json_array_foreach (q->stamps, i, v)
		if (strcmp(json_string_value(v), vkey) == 0)
			return true;
	return false;
}

static int
delete_fn(struct store_conn *conn, void *arg)
{
	struct delete_job *j = arg;
	struct store_stmt *s = store_prepare(
		conn,
		"SELECT row_id, version_key, tlp, org_id, is_first, is_last FROM taxii_objects"
		" WHERE collection_id = ? AND stix_id = ?",
		&j->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, j->c->id);
	store_bind_text(s, 2, j->id);
	int64_t *rows = NULL;
	size_t n = 0, total = 0;
	bool visible = false, foreign = false;
	int rc;
	while ((rc = store_step(s, &j->e)) == STORE_ROW) {
		total++;
		int64_t org = store_col_int(s, 3);
		if (!auth_may_see(j->caller, org, (enum auth_tlp)store_col_int(s, 2)))
			continue;
		visible = true;
		if (!version_selected(j->q, store_col_int(s, 4), store_col_int(s, 5),
		                      store_col_text(s, 1)))
			continue;
		if (org != j->caller->org_id && !j->caller->node_staff && !j->caller->local)
			foreign = true;
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		rows[n++] = store_col_int(s, 0);
	}
	store_finalize(s);
	if (rc != STORE_DONE) {
		free(rows);
		return -1;
	}
	if (!visible) {
		j->status = 404;
		free(rows);
		return 0;
	}
	if (foreign) {
		j->status = 403;
		free(rows);
		return 0;
	}
	j->status = 200;
	for (size_t i = 0; i < n; i++) {
		if (set_flag(conn, "DELETE FROM taxii_objects WHERE row_id = ?", rows[i], &j->e) != 0) {
			free(rows);
			return -1;
		}
	}
	free(rows);
	j->deleted = (int64_t)n;
	if (n == 0)
		return 0;
	/* The object is gone when no version is left. */
	if (n == total && strncmp(j->id, "indicator--", 11) == 0 &&
	    taxii_count_indicators(conn, -1, &j->e) != 0)
		return -1;
	/* The versions left keep their first and last marks right. */
	s = store_prepare(
		conn,
		"UPDATE taxii_objects SET"
		" is_first = (version_key = (SELECT MIN(version_key) FROM taxii_objects"
		"  WHERE collection_id = ?1 AND stix_id = ?2)),"
		" is_last = (version_key = (SELECT MAX(version_key) FROM taxii_objects"
		"  WHERE collection_id = ?1 AND stix_id = ?2))"
		" WHERE collection_id = ?1 AND stix_id = ?2",
		&j->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, j->c->id);
	store_bind_text(s, 2, j->id);
	rc = store_step(s, &j->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	json_t *d = json_pack("{s:s,s:s,s:I}", "collection", j->c->uuid, "id", j->id, "versions",
	                      (json_int_t)n);
	rc = auth_audit_append(conn, j->caller, "taxii.delete", "stix_object", j->id, d, &j->e);
	json_decref(d);
	return rc;
}

int
taxii_object_delete(struct taxii *t, const struct taxii_coll *c, const struct auth_caller *caller,
                    const char *object_id, const struct taxii_query *q, struct err *e)
{
	struct delete_job j = {.c = c, .caller = caller, .id = object_id, .q = q};
	if (store_write(t->st, delete_fn, &j, e) != 0) {
		if (e && e->msg[0] == '\0')
			*e = j.e;
		return 500;
	}
	return j.status;
}
