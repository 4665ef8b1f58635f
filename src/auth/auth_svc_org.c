/*
 * auth_svc_org.c - organisations: the tree of the node's own organisation
 * and its members, each with a sector, a kind, the prefixes it owns and a
 * STIX identity id made once at creation.
 */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *kinds[] = {"national", "sector", "operator", "isp"};

static void
uuid4(char out[37])
{
	uint8_t b[16];
	randombytes_buf(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
	         b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	         b[14], b[15]);
}

static void
ms_json(json_t *o, const char *key, int64_t ms)
{
	char t[32];
	time_format_rfc3339(ms, t, sizeof(t));
	json_object_set_new(o, key, json_string(t));
}

json_t *
auth_org_json(struct store_conn *c, int64_t id)
{
	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT id, parent_id, name, sector, kind, identity_id, community, contact_email,"
		" created_at, updated_at FROM orgs WHERE id = ?",
		&e);
	if (s == NULL)
		return NULL;
	store_bind_int(s, 1, id);
	json_t *o = NULL;
	if (store_step(s, &e) == STORE_ROW) {
		o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:s}", "id", (json_int_t)store_col_int(s, 0),
		              "name", store_col_text(s, 2), "sector", store_col_text(s, 3), "kind",
		              store_col_text(s, 4), "identity_id", store_col_text(s, 5), "community",
		              (int)store_col_int(s, 6), "contact_email", store_col_text(s, 7));
		json_object_set_new(o, "parent_id",
		                    store_col_null(s, 1) ? json_null() : json_integer(store_col_int(s, 1)));
		ms_json(o, "created_at", store_col_int(s, 8));
		ms_json(o, "updated_at", store_col_int(s, 9));
	}
	store_finalize(s);
	if (o == NULL)
		return NULL;
	json_t *p = json_array();
	s = store_prepare(c, "SELECT cidr FROM org_prefixes WHERE org_id = ? ORDER BY family, lo", &e);
	if (s) {
		store_bind_int(s, 1, id);
		while (store_step(s, &e) == STORE_ROW)
			json_array_append_new(p, json_string(store_col_text(s, 0)));
		store_finalize(s);
	}
	json_object_set_new(o, "prefixes", p);
	return o;
}

int
auth_svc_org_list(struct auth_ctx *x, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ORG_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	bool all = x->caller->local || x->caller->node_staff;
	struct store_stmt *s = store_prepare(
		c, all ? "SELECT id FROM orgs ORDER BY id" : "SELECT id FROM orgs WHERE id = ? ORDER BY id",
		&e);
	json_t *list = json_array();
	if (s) {
		if (!all)
			store_bind_int(s, 1, x->caller->org_id);
		while (store_step(s, &e) == STORE_ROW) {
			json_t *o = auth_org_json(c, store_col_int(s, 0));
			if (o)
				json_array_append_new(list, o);
		}
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	*out = json_pack("{s:o}", "orgs", list);
	return 200;
}

/* Looks an organisation up by numeric id or by name; 0 if none. */
static int64_t
org_lookup(struct store_conn *c, const char *ref)
{
	int64_t id = auth_parse_id(ref);
	struct err e;
	int64_t found = 0;
	if (id > 0) {
		if (store_query_int(c, "SELECT id FROM orgs WHERE id = ?", &found, &e, "i", id) == STORE_ROW)
			return found;
		return 0;
	}
	if (ref && store_query_int(c, "SELECT id FROM orgs WHERE name = ?", &found, &e, "s", ref) ==
	               STORE_ROW)
		return found;
	return 0;
}

int64_t
auth_org_lookup(struct store_conn *c, const char *ref)
{
	return org_lookup(c, ref);
}

int
auth_svc_org_get(struct auth_ctx *x, const char *ref, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ORG_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct store_conn *c = store_reader_get(x->st);
	int64_t id = org_lookup(c, ref);
	struct auth_object obj = {.org_id = id};
	d = id ? auth_check(x->caller, AUTH_ORG_READ, &obj) : AUTH_NOT_FOUND;
	json_t *o = d == AUTH_ALLOW ? auth_org_json(c, id) : NULL;
	store_reader_put(x->st, c);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	*out = o;
	return 200;
}

/* Validated fields of a create or update. */
struct org_input {
	const char *name, *sector, *kind, *email;
	bool has_parent;
	int64_t parent_id;
	int community; /* -1: unchanged */
	json_t *prefixes; /* borrowed; NULL: unchanged */
};

static int
valid_word(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n < 2 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || s[i] == '-' || isdigit((unsigned char)s[i])))
			return 0;
	return 1;
}

static int
read_org_input(const json_t *in, struct org_input *oi, bool create, json_t **out)
{
	memset(oi, 0, sizeof(*oi));
	oi->community = -1;
	if (!json_is_object(in)) {
		*out = auth_error("bad_request", "expected a JSON object");
		return 400;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
	{
		if (strcmp(key, "name") && strcmp(key, "sector") && strcmp(key, "kind") &&
		    strcmp(key, "parent_id") && strcmp(key, "prefixes") && strcmp(key, "community") &&
		    strcmp(key, "contact_email") && strcmp(key, "parent")) {
			*out = auth_error("bad_request", "unknown field '%s'", key);
			return 400;
		}
	}
	oi->name = json_string_value(json_object_get(in, "name"));
	oi->sector = json_string_value(json_object_get(in, "sector"));
	oi->kind = json_string_value(json_object_get(in, "kind"));
	oi->email = json_string_value(json_object_get(in, "contact_email"));
	if (create && (oi->name == NULL || oi->sector == NULL || oi->kind == NULL)) {
		*out = auth_error("bad_request", "name, sector and kind are required");
		return 400;
	}
	if (oi->name && (strlen(oi->name) == 0 || strlen(oi->name) > 128)) {
		*out = auth_error("bad_request", "name must be 1 to 128 characters");
		return 400;
	}
	if (oi->sector && !valid_word(oi->sector, 32)) {
		*out = auth_error("bad_request", "sector must be a lower-case word such as energy, water, "
		                                 "oil, telecom or government");
		return 400;
	}
	if (oi->kind) {
		bool ok = false;
		for (size_t i = 0; i < CIIP_ARRAY_LEN(kinds); i++)
			ok |= strcmp(oi->kind, kinds[i]) == 0;
		if (!ok) {
			*out = auth_error("bad_request", "kind must be national, sector, operator or isp");
			return 400;
		}
	}
	json_t *p = json_object_get(in, "parent_id");
	if (p) {
		oi->has_parent = true;
		if (!json_is_null(p) && !json_is_integer(p)) {
			*out = auth_error("bad_request", "parent_id must be an organisation id or null");
			return 400;
		}
		oi->parent_id = json_is_integer(p) ? json_integer_value(p) : 0;
	}
	json_t *cm = json_object_get(in, "community");
	if (cm) {
		if (!json_is_boolean(cm)) {
			*out = auth_error("bad_request", "community must be true or false");
			return 400;
		}
		oi->community = json_is_true(cm);
	}
	json_t *pf = json_object_get(in, "prefixes");
	if (pf) {
		if (!json_is_array(pf) || json_array_size(pf) > 1024) {
			*out = auth_error("bad_request", "prefixes must be a list of at most 1024 CIDRs");
			return 400;
		}
		size_t i;
		json_array_foreach(pf, i, v)
		{
			int fam, len;
			uint8_t lo[16], hi[16];
			const char *cidr = json_string_value(v);
			if (cidr == NULL || auth_cidr_parse(cidr, &fam, lo, hi, &len) != 0) {
				*out = auth_error("bad_request", "prefixes[%zu] is not a CIDR prefix such as "
				                                 "198.51.100.0/24 or 2001:db8::/32",
				                  i);
				return 400;
			}
		}
		oi->prefixes = pf;
	}
	return 0;
}

struct org_write {
	struct org_input oi;
	int64_t id; /* 0 for create */
	const struct auth_caller *who;
	json_t *detail;
	int status;
	char msg[256];
	struct err e;
};

static int
write_prefixes(struct store_conn *c, struct org_write *w)
{
	struct store_stmt *s = store_prepare(c, "DELETE FROM org_prefixes WHERE org_id = ?", &w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc != STORE_DONE)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(w->oi.prefixes, i, v)
	{
		int fam, len;
		uint8_t lo[16], hi[16];
		(void)auth_cidr_parse(json_string_value(v), &fam, lo, hi, &len);
		s = store_prepare(c,
		                  "INSERT OR IGNORE INTO org_prefixes(org_id, cidr, family, lo, hi,"
		                  " prefix_len) VALUES (?,?,?,?,?,?)",
		                  &w->e);
		if (s == NULL)
			return -1;
		store_bind_int(s, 1, w->id);
		store_bind_text(s, 2, json_string_value(v));
		store_bind_int(s, 3, fam);
		store_bind_blob(s, 4, lo, 16);
		store_bind_blob(s, 5, hi, 16);
		store_bind_int(s, 6, len);
		rc = store_step(s, &w->e);
		store_finalize(s);
		if (rc != STORE_DONE)
			return -1;
	}
	return 0;
}

static int
fail(struct org_write *w, int status, const char *msg)
{
	w->status = status;
	snprintf(w->msg, sizeof(w->msg), "%s", msg);
	return -1;
}

static int
org_create_write(struct store_conn *c, void *arg)
{
	struct org_write *w = arg;
	int64_t root = auth_org_root(c);
	int64_t parent = w->oi.has_parent ? w->oi.parent_id : root;
	int64_t found = 0;
	if (parent && store_query_int(c, "SELECT id FROM orgs WHERE id = ?", &found, &w->e, "i",
	                              parent) != STORE_ROW)
		return fail(w, 400, "parent_id names no organisation");
	if (parent == 0 && root != 0)
		return fail(w, 400, "the node already has its own organisation at the top: give parent_id");
	char uuid[37], identity[64];
	uuid4(uuid);
	snprintf(identity, sizeof(identity), "identity--%s", uuid);
	int64_t now = time_now_ms();
	struct store_stmt *s = store_prepare(
		c,
		"INSERT INTO orgs(parent_id, name, sector, kind, identity_id, community, contact_email,"
		" created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
		&w->e);
	if (s == NULL)
		return -1;
	if (parent)
		store_bind_int(s, 1, parent);
	else
		store_bind_null(s, 1);
	store_bind_text(s, 2, w->oi.name);
	store_bind_text(s, 3, w->oi.sector);
	store_bind_text(s, 4, w->oi.kind);
	store_bind_text(s, 5, identity);
	store_bind_int(s, 6, w->oi.community == 0 ? 0 : 1);
	store_bind_text(s, 7, w->oi.email ? w->oi.email : "");
	store_bind_int(s, 8, now);
	store_bind_int(s, 9, now);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc == STORE_CONSTRAINT)
		return fail(w, 409, "an organisation with that name exists");
	if (rc != STORE_DONE)
		return -1;
	w->id = store_last_insert_id(c);
	if (w->oi.prefixes && write_prefixes(c, w) != 0)
		return -1;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->id);
	return auth_audit_append(c, w->who, "org.create", "org", id, w->detail, &w->e);
}

int
auth_svc_org_create(struct auth_ctx *x, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ORG_WRITE, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct org_write w = {.who = x->caller, .detail = (json_t *)in};
	int st = read_org_input(in, &w.oi, true, out);
	if (st)
		return st;
	if (store_write(x->st, org_create_write, &w, &w.e) != 0) {
		if (w.status) {
			*out = auth_error(w.status == 409 ? "conflict" : "bad_request", "%s", w.msg);
			return w.status;
		}
		*out = auth_error("internal", "%s", w.e.msg);
		return 500;
	}
	struct store_conn *c = store_reader_get(x->st);
	*out = auth_org_json(c, w.id);
	store_reader_put(x->st, c);
	return 201;
}

static int
org_update_write(struct store_conn *c, void *arg)
{
	struct org_write *w = arg;
	if (w->oi.has_parent) {
		if (w->oi.parent_id == 0)
			return fail(w, 400, "only the node's own organisation has no parent");
		/* Refuse a cycle: walk up from the new parent. */
		int64_t p = w->oi.parent_id;
		for (int depth = 0; p != 0; depth++) {
			if (p == w->id || depth > 64)
				return fail(w, 400, "parent_id would make a cycle in the tree");
			int64_t up = 0;
			struct store_stmt *s =
				store_prepare(c, "SELECT COALESCE(parent_id, 0) FROM orgs WHERE id = ?", &w->e);
			if (s == NULL)
				return -1;
			store_bind_int(s, 1, p);
			int rc = store_step(s, &w->e);
			if (rc == STORE_ROW)
				up = store_col_int(s, 0);
			store_finalize(s);
			if (rc != STORE_ROW)
				return fail(w, 400, "parent_id names no organisation");
			p = up;
		}
	}
	struct store_stmt *s = store_prepare(
		c,
		"UPDATE orgs SET name = COALESCE(?, name), sector = COALESCE(?, sector),"
		" kind = COALESCE(?, kind), contact_email = COALESCE(?, contact_email),"
		" community = CASE WHEN ? < 0 THEN community ELSE ? END,"
		" parent_id = CASE WHEN ? THEN ? ELSE parent_id END, updated_at = ? WHERE id = ?",
		&w->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, w->oi.name);
	store_bind_text(s, 2, w->oi.sector);
	store_bind_text(s, 3, w->oi.kind);
	store_bind_text(s, 4, w->oi.email);
	store_bind_int(s, 5, w->oi.community);
	store_bind_int(s, 6, w->oi.community);
	store_bind_int(s, 7, w->oi.has_parent);
	store_bind_int(s, 8, w->oi.parent_id);
	store_bind_int(s, 9, time_now_ms());
	store_bind_int(s, 10, w->id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc == STORE_CONSTRAINT)
		return fail(w, 409, "an organisation with that name exists");
	if (rc != STORE_DONE)
		return -1;
	if (w->oi.prefixes && write_prefixes(c, w) != 0)
		return -1;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->id);
	return auth_audit_append(c, w->who, "org.update", "org", id, w->detail, &w->e);
}

int
auth_svc_org_update(struct auth_ctx *x, const char *ref, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ORG_WRITE, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct org_write w = {.who = x->caller, .detail = (json_t *)in};
	int st = read_org_input(in, &w.oi, false, out);
	if (st)
		return st;
	struct store_conn *c = store_reader_get(x->st);
	w.id = org_lookup(c, ref);
	store_reader_put(x->st, c);
	if (w.id == 0) {
		*out = auth_error("not_found", "no such organisation");
		return 404;
	}
	if (store_write(x->st, org_update_write, &w, &w.e) != 0) {
		if (w.status) {
			*out = auth_error(w.status == 409 ? "conflict" : "bad_request", "%s", w.msg);
			return w.status;
		}
		*out = auth_error("internal", "%s", w.e.msg);
		return 500;
	}
	c = store_reader_get(x->st);
	*out = auth_org_json(c, w.id);
	store_reader_put(x->st, c);
	return 200;
}

static int
org_delete_write(struct store_conn *c, void *arg)
{
	struct org_write *w = arg;
	int64_t n = 0;
	if (store_query_int(c,
	                    "SELECT (SELECT COUNT(*) FROM orgs WHERE parent_id = ?) +"
	                    " (SELECT COUNT(*) FROM users WHERE org_id = ?) +"
	                    " (SELECT COUNT(*) FROM tokens WHERE org_id = ? AND revoked_at IS NULL)",
	                    &n, &w->e, "iii", w->id, w->id, w->id) != STORE_ROW)
		return -1;
	if (n > 0)
		return fail(w, 409, "the organisation still has members, users or tokens");
	struct store_stmt *s = store_prepare(c, "DELETE FROM orgs WHERE id = ?", &w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->id);
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc == STORE_CONSTRAINT)
		return fail(w, 409, "the organisation is still referred to");
	if (rc != STORE_DONE)
		return -1;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->id);
	return auth_audit_append(c, w->who, "org.delete", "org", id, NULL, &w->e);
}

int
auth_svc_org_delete(struct auth_ctx *x, const char *ref, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ORG_WRITE, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct org_write w = {.who = x->caller};
	struct store_conn *c = store_reader_get(x->st);
	w.id = org_lookup(c, ref);
	store_reader_put(x->st, c);
	if (w.id == 0) {
		*out = auth_error("not_found", "no such organisation");
		return 404;
	}
	if (store_write(x->st, org_delete_write, &w, &w.e) != 0) {
		if (w.status) {
			*out = auth_error("conflict", "%s", w.msg);
			return w.status;
		}
		*out = auth_error("internal", "%s", w.e.msg);
		return 500;
	}
	*out = json_pack("{s:b}", "deleted", 1);
	return 200;
}
