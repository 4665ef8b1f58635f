/*
 * advisory_draft.c - writing advisories before review: checking the input,
 * creating, editing and deleting drafts, and corrections of a published
 * advisory as new versions of its series.
 *
 * Only drafts and rejected versions change in place; a correction is a new
 * draft that goes through review (advisory_review.c) like the first one.
 */
#include "advisory/advisory_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

/* ---- input ---- */

static const char *const body_keys[] = {"summary", "body",     "targets",   "products",
                                        "cves",    "measures", "indicators"};

static bool
str_ok(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) <= max;
}

static bool
cve_ok(const char *s)
{
	if (s == NULL || strncmp(s, "CVE-", 4) != 0 || strlen(s) > 32)
		return false;
	const char *p = s + 4;
	int n = 0;
	while (isdigit((unsigned char)*p)) {
		p++;
		n++;
	}
	if (n != 4 || *p != '-')
		return false;
	p++;
	n = 0;
	while (isdigit((unsigned char)*p)) {
		p++;
		n++;
	}
	return n >= 4 && *p == '\0';
}

static bool
word_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 2 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

static void
input_clear(struct adv_input *ai)
{
	json_decref(ai->targets);
	ai->targets = NULL;
}

#define BAD(...)                                                                                 \
	do {                                                                                         \
		*out = auth_error("bad_request", __VA_ARGS__);                                           \
		input_clear(ai);                                                                         \
		return 400;                                                                              \
	} while (0)

static int
read_input(struct store_conn *c, const json_t *in, bool create, bool correction,
           struct adv_input *ai, json_t **out)
{
	memset(ai, 0, sizeof(*ai));
	ai->in = in;
	if (!json_is_object(in))
		BAD("expected a JSON object");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
	{
		bool known = strcmp(key, "title") == 0 || strcmp(key, "severity") == 0 ||
		             strcmp(key, "intel_type") == 0 || strcmp(key, "tlp") == 0 ||
		             strcmp(key, "reply_due") == 0 || (correction && strcmp(key, "note") == 0);
		for (size_t i = 0; i < CIIP_ARRAY_LEN(body_keys); i++)
			known |= strcmp(key, body_keys[i]) == 0;
		if (!known)
			BAD("unknown field '%s'", key);
	}
	json_t *t = json_object_get(in, "title");
	if (t && (!str_ok(t, ADV_MAX_TITLE) || json_string_length(t) == 0))
		BAD("title must be 1 to %d characters", ADV_MAX_TITLE);
	if (create && t == NULL)
		BAD("title is required");
	ai->title = json_string_value(t);
	json_t *sv = json_object_get(in, "severity");
	if (sv) {
		const char *s = json_string_value(sv);
		if (s == NULL || (strcmp(s, "low") && strcmp(s, "medium") && strcmp(s, "high") &&
		                  strcmp(s, "critical")))
			BAD("severity must be low, medium, high or critical");
		ai->severity = s;
	}
	json_t *it = json_object_get(in, "intel_type");
	if (it) {
		enum stix_intel_type type;
		if (!json_is_string(it) || stix_intel_type_parse(json_string_value(it), &type) != 0)
			BAD("intel_type must be ANA, DEF, INT, EWA or FBI");
		snprintf(ai->intel_type, sizeof(ai->intel_type), "%s", stix_intel_type_name(type));
	}
	json_t *tl = json_object_get(in, "tlp");
	if (tl) {
		ai->tlp = json_is_string(tl) ? (int)auth_tlp_parse(json_string_value(tl)) : 0;
		if (ai->tlp == 0)
			BAD("tlp must be clear, green, amber, amber+strict or red");
	}
	json_t *rd = json_object_get(in, "reply_due");
	if (rd) {
		ai->has_reply_due = true;
		if (!json_is_null(rd) && (!json_is_string(rd) ||
		                          time_parse_rfc3339(json_string_value(rd), &ai->reply_due) != 0))
			BAD("reply_due must be an RFC 3339 time");
	}
	static const char *const texts[] = {"summary", "body", "measures"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(texts); i++) {
		json_t *x = json_object_get(in, texts[i]);
		if (x && !str_ok(x, ADV_MAX_TEXT))
			BAD("%s must be text of at most %d bytes", texts[i], ADV_MAX_TEXT);
	}
	json_t *note = json_object_get(in, "note");
	if (correction && (!str_ok(note, 4096) || json_string_length(note) == 0))
		BAD("a correction needs a note saying what was corrected (at most 4096 bytes)");
	json_t *pr = json_object_get(in, "products");
	if (pr) {
		if (!json_is_array(pr) || json_array_size(pr) > ADV_MAX_LIST)
			BAD("products must be a list of at most %d strings", ADV_MAX_LIST);
		size_t i;
		json_array_foreach(pr, i, v)
		{
			if (!str_ok(v, 256))
				BAD("products[%zu] must be a string of at most 256 characters", i);
		}
	}
	json_t *cv = json_object_get(in, "cves");
	if (cv) {
		if (!json_is_array(cv) || json_array_size(cv) > ADV_MAX_LIST)
			BAD("cves must be a list of at most %d CVE ids", ADV_MAX_LIST);
		size_t i;
		json_array_foreach(cv, i, v)
		{
			if (!cve_ok(json_string_value(v)))
				BAD("cves[%zu] is not a CVE id such as CVE-2024-3400", i);
		}
	}
	json_t *inds = json_object_get(in, "indicators");
	if (inds) {
		if (!json_is_array(inds) || json_array_size(inds) > ADV_MAX_LIST * 2)
			BAD("indicators must be a list of at most %d", ADV_MAX_LIST * 2);
		size_t i;
		json_array_foreach(inds, i, v)
		{
			char msg[200];
			if (adv_indicator_check(v, msg, sizeof(msg)) != 0)
				BAD("indicators[%zu]: %s", i, msg);
		}
	}
	json_t *tg = json_object_get(in, "targets");
	if (tg) {
		if (!json_is_object(tg))
			BAD("targets must be {\"sectors\": [...], \"orgs\": [...], \"all_members\": "
			    "false}");
		json_object_foreach(tg, key, v)
		{
			if (strcmp(key, "sectors") && strcmp(key, "orgs") && strcmp(key, "all_members"))
				BAD("targets: unknown field '%s'", key);
		}
		json_t *secs = json_object_get(tg, "sectors");
		json_t *orgs = json_object_get(tg, "orgs");
		json_t *all = json_object_get(tg, "all_members");
		if ((secs && (!json_is_array(secs) || json_array_size(secs) > 64)) ||
		    (orgs && (!json_is_array(orgs) || json_array_size(orgs) > ADV_MAX_LIST)) ||
		    (all && !json_is_boolean(all)))
			BAD("targets: sectors and orgs are lists, all_members a boolean");
		ai->targets = json_pack("{s:[],s:[],s:b}", "sectors", "orgs", "all_members",
		                        json_is_true(all));
		size_t i;
		json_array_foreach(secs, i, v)
		{
			if (!word_ok(json_string_value(v)))
				BAD("targets.sectors[%zu] must be a sector name such as energy", i);
			json_array_append(json_object_get(ai->targets, "sectors"), v);
		}
		json_array_foreach(orgs, i, v)
		{
			char ref[160];
			if (json_is_integer(v))
				snprintf(ref, sizeof(ref), "%lld", (long long)json_integer_value(v));
			else if (str_ok(v, 128))
				snprintf(ref, sizeof(ref), "%s", json_string_value(v));
			else
				BAD("targets.orgs[%zu] must be an organisation id or name", i);
			int64_t id = auth_org_lookup(c, ref);
			if (id == 0)
				BAD("targets.orgs[%zu] names no organisation", i);
			json_array_append_new(json_object_get(ai->targets, "orgs"), json_integer(id));
		}
	}
	return 0;
}
#undef BAD

static json_t *
merged_data(const json_t *base, const struct adv_input *ai)
{
	json_t *d = base ? json_deep_copy(base) : json_object();
	for (size_t i = 0; i < CIIP_ARRAY_LEN(body_keys); i++) {
		json_t *v = json_object_get(ai->in, body_keys[i]);
		if (v && strcmp(body_keys[i], "targets") != 0)
			json_object_set(d, body_keys[i], v);
	}
	if (ai->targets)
		json_object_set(d, "targets", ai->targets);
	return d;
}

/* ---- create, correct ---- */

static int
insert_row(struct store_conn *c, struct write_job *j, const struct advisory_row *from,
           json_t *data)
{
	int64_t now = time_now_ms();
	char actor[160], stix_id[STIX_ID_MAX];
	adv_actor(j->who, actor, sizeof(actor));
	if (from)
		snprintf(stix_id, sizeof(stix_id), "%s", from->stix_id);
	else
		stix_id_new("report", stix_id, sizeof(stix_id));
	char *dtext = json_dumps(data, JSON_COMPACT);
	struct store_stmt *s = store_prepare(
		c,
		"INSERT INTO advisories(root_id, version, supersedes_id, org_id, state, title, severity,"
		" intel_type, tlp, reply_due_at, stix_id, author, author_user_id, author_token_id, data,"
		" created_at, updated_at) VALUES (?,?,?,?,'draft',?,?,?,?,?,?,?,?,?,?,?,?)",
		&j->e);
	if (s == NULL) {
		free(dtext);
		return -1;
	}
	int64_t due = j->ai.has_reply_due ? j->ai.reply_due : (from ? from->reply_due_at : 0);
	store_bind_int(s, 1, from ? from->root_id : 0);
	store_bind_int(s, 2, from ? from->version + 1 : 1);
	if (from)
		store_bind_int(s, 3, from->id);
	else
		store_bind_null(s, 3);
	store_bind_int(s, 4, from ? from->org_id : j->who->org_id);
	store_bind_text(s, 5, j->ai.title ? j->ai.title : from->title);
	store_bind_text(s, 6, j->ai.severity ? j->ai.severity : from ? from->severity : "");
	store_bind_text(s, 7, j->ai.intel_type[0] ? j->ai.intel_type : from ? from->intel_type : "");
	store_bind_int(s, 8, j->ai.tlp ? j->ai.tlp : from ? from->tlp : AUTH_TLP_AMBER);
	if (due)
		store_bind_int(s, 9, due);
	else
		store_bind_null(s, 9);
	store_bind_text(s, 10, stix_id);
	store_bind_text(s, 11, actor);
	store_bind_int(s, 12, j->who->user_id);
	store_bind_int(s, 13, j->who->token_id);
	store_bind_text(s, 14, dtext);
	store_bind_int(s, 15, now);
	store_bind_int(s, 16, now);
	int rc = store_step(s, &j->e);
	store_finalize(s);
	free(dtext);
	if (rc != STORE_DONE)
		return -1;
	j->new_id = store_last_insert_id(c);
	if (from == NULL) {
		s = store_prepare(c, "UPDATE advisories SET root_id = id WHERE id = ?", &j->e);
		if (s == NULL)
			return -1;
		store_bind_int(s, 1, j->new_id);
		rc = store_step(s, &j->e);
		store_finalize(s);
		if (rc != STORE_DONE)
			return -1;
	}
	return 0;
}

int
adv_audit(struct store_conn *c, struct write_job *j, int64_t id, const char *action,
      const json_t *detail)
{
	char idtxt[32];
	snprintf(idtxt, sizeof(idtxt), "%lld", (long long)id);
	return auth_audit_append(c, j->who, action, "advisory", idtxt, detail, &j->e);
}

static int
create_write(struct store_conn *c, void *arg)
{
	struct write_job *j = arg;
	json_t *data = merged_data(NULL, &j->ai);
	int rc = insert_row(c, j, NULL, data);
	json_decref(data);
	if (rc != 0)
		return -1;
	struct advisory_row a;
	if (adv_row_fetch(c, j->new_id, &a, &j->e) != 0)
		return -1;
	rc = adv_history_add(c, &a, j->who, "create", NULL, &j->e);
	adv_row_clear(&a);
	if (rc == 0)
		rc = adv_audit(c, j, j->new_id, "advisory.create", j->ai.in);
	return rc;
}

int
advisory_svc_create(struct auth_ctx *x, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ADVISORY_DRAFT, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct write_job j = {.who = x->caller};
	struct store_conn *c = store_reader_get(x->st);
	int st = read_input(c, in, true, false, &j.ai, out);
	store_reader_put(x->st, c);
	if (st)
		return st;
	int rc = store_write(x->st, create_write, &j, &j.e);
	input_clear(&j.ai);
	if (rc != 0)
		return auth_fail_reply(&j.f, &j.e, "advisory", out);
	return adv_reply_row(x, j.new_id, 201, out);
}

/* ---- edit and delete ---- */

static int
edit_write(struct store_conn *c, void *arg)
{
	struct write_job *j = arg;
	struct advisory_row a;
	int rc = adv_row_fetch(c, j->id, &a, &j->e);
	if (rc != 0)
		return rc > 0 ? auth_fail_set(&j->f, 404, "not_found", "no such advisory") : -1;
	if (a.state != ADVISORY_DRAFT && a.state != ADVISORY_REJECTED) {
		rc = auth_fail_set(&j->f, 409, "conflict",
		                  a.state == ADVISORY_PUBLISHED
		                      ? "a published advisory is never edited in place: publish a "
		                        "correction (POST .../correct) or withdraw it"
		                      : "a %s advisory cannot be edited",
		                  advisory_state_name(a.state));
		adv_row_clear(&a);
		return rc;
	}
	char idtxt[32];
	snprintf(idtxt, sizeof(idtxt), "%lld", (long long)j->id);
	if (j->move) { /* delete */
		struct store_stmt *s = store_prepare(c, "DELETE FROM advisories WHERE id = ?", &j->e);
		rc = -1;
		if (s) {
			store_bind_int(s, 1, j->id);
			rc = store_step(s, &j->e) == STORE_DONE ? 0 : -1;
			store_finalize(s);
		}
		adv_row_clear(&a);
		if (rc == 0)
			rc = adv_audit(c, j, j->id, "advisory.delete", NULL);
		return rc;
	}
	json_t *data = merged_data(a.data, &j->ai);
	char *dtext = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	struct store_stmt *s = store_prepare(
		c,
		"UPDATE advisories SET title = COALESCE(?, title), severity = COALESCE(?, severity),"
		" intel_type = COALESCE(?, intel_type), tlp = CASE WHEN ? > 0 THEN ? ELSE tlp END,"
		" reply_due_at = CASE WHEN ? THEN ? ELSE reply_due_at END, data = ?, updated_at = ?"
		" WHERE id = ?",
		&j->e);
	if (s == NULL) {
		free(dtext);
		adv_row_clear(&a);
		return -1;
	}
	store_bind_text(s, 1, j->ai.title);
	store_bind_text(s, 2, j->ai.severity);
	store_bind_text(s, 3, j->ai.intel_type[0] ? j->ai.intel_type : NULL);
	store_bind_int(s, 4, j->ai.tlp);
	store_bind_int(s, 5, j->ai.tlp);
	store_bind_int(s, 6, j->ai.has_reply_due);
	if (j->ai.reply_due)
		store_bind_int(s, 7, j->ai.reply_due);
	else
		store_bind_null(s, 7);
	store_bind_text(s, 8, dtext);
	store_bind_int(s, 9, time_now_ms());
	store_bind_int(s, 10, j->id);
	rc = store_step(s, &j->e) == STORE_DONE ? 0 : -1;
	store_finalize(s);
	free(dtext);
	if (rc == 0)
		rc = adv_history_add(c, &a, j->who, "edit", NULL, &j->e);
	adv_row_clear(&a);
	if (rc == 0)
		rc = adv_audit(c, j, j->id, "advisory.update", j->ai.in);
	return rc;
}

static int
edit_or_delete(struct auth_ctx *x, const char *ref, const json_t *in, bool del, json_t **out)
{
	struct advisory_row a;
	int st = adv_get_visible(x, ref, &a, out);
	if (st)
		return st;
	struct auth_object obj = {.org_id = a.org_id};
	struct write_job j = {.who = x->caller, .id = a.id, .move = del ? "delete" : NULL};
	adv_row_clear(&a);
	enum auth_decision d = auth_check(x->caller, AUTH_ADVISORY_DRAFT, &obj);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	if (!del) {
		struct store_conn *c = store_reader_get(x->st);
		st = read_input(c, in, false, false, &j.ai, out);
		store_reader_put(x->st, c);
		if (st)
			return st;
	}
	int rc = store_write(x->st, edit_write, &j, &j.e);
	input_clear(&j.ai);
	if (rc != 0)
		return auth_fail_reply(&j.f, &j.e, "advisory", out);
	if (del) {
		*out = json_pack("{s:b}", "deleted", 1);
		return 200;
	}
	return adv_reply_row(x, j.id, 200, out);
}

int
advisory_svc_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return edit_or_delete(x, id, in, false, out);
}

int
advisory_svc_delete(struct auth_ctx *x, const char *id, json_t **out)
{
	return edit_or_delete(x, id, NULL, true, out);
}

/* ---- corrections ---- */

static int
correct_write(struct store_conn *c, void *arg)
{
	struct write_job *j = arg;
	struct advisory_row a;
	int rc = adv_row_fetch(c, j->id, &a, &j->e);
	if (rc != 0)
		return rc > 0 ? auth_fail_set(&j->f, 404, "not_found", "no such advisory") : -1;
	int64_t pending = 0;
	if (a.state != ADVISORY_PUBLISHED) {
		rc = auth_fail_set(&j->f, 409, "conflict",
		                  "only the published version can be corrected; this one is %s",
		                  advisory_state_name(a.state));
	} else if (store_query_int(c,
	                           "SELECT COUNT(*) FROM advisories WHERE root_id = ? AND state IN"
	                           " ('draft', 'submitted', 'rejected')",
	                           &pending, &j->e, "i", a.root_id) != STORE_ROW) {
		rc = -1;
	} else if (pending > 0) {
		rc = auth_fail_set(&j->f, 409, "conflict",
		                  "a correction of this advisory is already being prepared");
	}
	if (rc != 0) {
		adv_row_clear(&a);
		return rc;
	}
	json_t *data = merged_data(a.data, &j->ai);
	json_object_del(data, "reject_reason");
	json_object_set(data, "correction_note", json_object_get(j->ai.in, "note"));
	rc = insert_row(c, j, &a, data);
	json_decref(data);
	adv_row_clear(&a);
	if (rc != 0)
		return -1;
	if (adv_row_fetch(c, j->new_id, &a, &j->e) != 0)
		return -1;
	json_t *detail = json_pack("{s:I,s:O}", "corrects", (json_int_t)j->id, "note",
	                           json_object_get(j->ai.in, "note"));
	rc = adv_history_add(c, &a, j->who, "correct", detail, &j->e);
	adv_row_clear(&a);
	if (rc == 0)
		rc = adv_audit(c, j, j->new_id, "advisory.correct", detail);
	json_decref(detail);
	return rc;
}

int
advisory_svc_correct(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	struct advisory_row a;
	int st = adv_get_visible(x, id, &a, out);
	if (st)
		return st;
	struct auth_object obj = {.org_id = a.org_id};
	struct write_job j = {.who = x->caller, .id = a.id};
	adv_row_clear(&a);
	enum auth_decision d = auth_check(x->caller, AUTH_ADVISORY_DRAFT, &obj);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct store_conn *c = store_reader_get(x->st);
	st = read_input(c, in, false, true, &j.ai, out);
	store_reader_put(x->st, c);
	if (st)
		return st;
	int rc = store_write(x->st, correct_write, &j, &j.e);
	input_clear(&j.ai);
	if (rc != 0)
		return auth_fail_reply(&j.f, &j.e, "advisory", out);
	return adv_reply_row(x, j.new_id, 201, out);
}
