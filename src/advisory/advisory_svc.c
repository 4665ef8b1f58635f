/*
 * advisory_svc.c - drafting, review, publication, correction and withdrawal
 * of advisories, and reading them.
 *
 * Who sees what: an advisory that is not yet published (draft, submitted,
 * rejected) is treated as TLP:AMBER+STRICT owned by the issuing
 * organisation, so only that organisation's staff can see it; a published
 * one is read under its own TLP, and a recipient reads its delivered copy
 * as its own (so a TLP:RED advisory reaches exactly its recipients). Both
 * go through auth_check; lists use auth_sql_visible with the same rule.
 *
 * The author may never review: publishing or rejecting one's own advisory
 * is refused with 403 whatever the role.
 */
#include "advisory/advisory_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stix/stix.h"

static const char *const state_names[ADVISORY_STATE_COUNT] = {
	[ADVISORY_DRAFT] = "draft",         [ADVISORY_SUBMITTED] = "submitted",
	[ADVISORY_REJECTED] = "rejected",   [ADVISORY_PUBLISHED] = "published",
	[ADVISORY_SUPERSEDED] = "superseded", [ADVISORY_WITHDRAWN] = "withdrawn",
};

const char *
advisory_state_name(enum advisory_state s)
{
	if ((unsigned)s >= ADVISORY_STATE_COUNT)
		return "unknown";
	return state_names[s];
}

int
advisory_state_parse(const char *name)
{
	for (int i = 0; name && i < ADVISORY_STATE_COUNT; i++)
		if (strcmp(name, state_names[i]) == 0)
			return i;
	return -1;
}

static bool
internal_state(enum advisory_state s)
{
	return s == ADVISORY_DRAFT || s == ADVISORY_SUBMITTED || s == ADVISORY_REJECTED;
}

/* ---- helpers ---- */


void
adv_actor(const struct auth_caller *who, char *buf, size_t len)
{
	if (who == NULL)
		snprintf(buf, len, "system");
	else if (who->local)
		snprintf(buf, len, "local:%s", who->name);
	else if (who->token_id)
		snprintf(buf, len, "token:%s", who->name);
	else
		snprintf(buf, len, "user:%s", who->name);
}

const char ADV_COLS[] =
	"a.id, a.root_id, a.supersedes_id, a.org_id, a.version, a.state, a.title, a.severity,"
	" a.intel_type, a.tlp, a.stix_id, a.author, a.author_user_id, a.author_token_id,"
	" a.reviewer, o.name, a.reply_due_at, a.created_at, a.updated_at, a.submitted_at,"
	" a.reviewed_at, a.published_at, a.withdrawn_at, a.data";

static int64_t
col_ms(struct store_stmt *s, int col)
{
	return store_col_null(s, col) ? 0 : store_col_int(s, col);
}

void
adv_row_load(struct store_stmt *s, struct advisory_row *a, bool with_data)
{
	memset(a, 0, sizeof(*a));
	a->id = store_col_int(s, 0);
	a->root_id = store_col_int(s, 1);
	a->supersedes_id = col_ms(s, 2);
	a->org_id = store_col_int(s, 3);
	a->version = (int)store_col_int(s, 4);
	int st = advisory_state_parse(store_col_text(s, 5));
	a->state = st < 0 ? ADVISORY_DRAFT : (enum advisory_state)st;
	snprintf(a->title, sizeof(a->title), "%s", store_col_text(s, 6));
	snprintf(a->severity, sizeof(a->severity), "%s", store_col_text(s, 7));
	snprintf(a->intel_type, sizeof(a->intel_type), "%s", store_col_text(s, 8));
	a->tlp = (int)store_col_int(s, 9);
	snprintf(a->stix_id, sizeof(a->stix_id), "%s", store_col_text(s, 10));
	snprintf(a->author, sizeof(a->author), "%s", store_col_text(s, 11));
	a->author_user_id = store_col_int(s, 12);
	a->author_token_id = store_col_int(s, 13);
	snprintf(a->reviewer, sizeof(a->reviewer), "%s", store_col_text(s, 14));
	snprintf(a->org_name, sizeof(a->org_name), "%s", store_col_text(s, 15));
	a->reply_due_at = col_ms(s, 16);
	a->created_at = col_ms(s, 17);
	a->updated_at = col_ms(s, 18);
	a->submitted_at = col_ms(s, 19);
	a->reviewed_at = col_ms(s, 20);
	a->published_at = col_ms(s, 21);
	a->withdrawn_at = col_ms(s, 22);
	if (with_data) {
		a->data = json_loads(store_col_text(s, 23), 0, NULL);
		if (!json_is_object(a->data)) {
			json_decref(a->data);
			a->data = json_object();
		}
	}
}

void
adv_row_clear(struct advisory_row *a)
{
	json_decref(a->data);
	a->data = NULL;
}

int
adv_row_fetch(struct store_conn *c, int64_t id, struct advisory_row *a, struct err *e)
{
	char sql[768];
	snprintf(sql, sizeof(sql),
	         "SELECT %s FROM advisories a JOIN orgs o ON o.id = a.org_id WHERE a.id = ?", ADV_COLS);
	struct store_stmt *s = store_prepare(c, sql, e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, id);
	int rc = store_step(s, e);
	if (rc == STORE_ROW)
		adv_row_load(s, a, true);
	store_finalize(s);
	if (rc == STORE_ROW)
		return 0;
	return rc == STORE_DONE ? 1 : -1;
}

void
adv_ref(const struct advisory_row *a, char *buf, size_t len)
{
	time_t secs = (time_t)(a->created_at / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "ADV-%04d-%04lld", tm.tm_year + 1900, (long long)a->root_id);
}

bool
adv_is_target(struct store_conn *c, int64_t root_id, int64_t org_id)
{
	int64_t n = 0;
	struct err e;
	return store_query_int(c, "SELECT 1 FROM advisory_targets WHERE root_id = ? AND org_id = ?",
	                       &n, &e, "ii", root_id, org_id) == STORE_ROW;
}

enum auth_decision
adv_check_read(struct store_conn *c, const struct auth_caller *caller,
               const struct advisory_row *a)
{
	struct auth_object obj = {.org_id = a->org_id, .tlp = (enum auth_tlp)a->tlp};
	if (internal_state(a->state))
		obj.tlp = AUTH_TLP_AMBER_STRICT;
	else if (caller && !caller->local && caller->org_id != a->org_id &&
	         adv_is_target(c, a->root_id, caller->org_id))
		obj.org_id = caller->org_id; /* the recipient's delivered copy */
	return auth_check(caller, AUTH_ADVISORY_READ, &obj);
}

int
adv_history_add(struct store_conn *c, const struct advisory_row *a, const struct auth_caller *who,
                const char *action, const json_t *detail, struct err *e)
{
	char actor[160];
	adv_actor(who, actor, sizeof(actor));
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	struct store_stmt *s = store_prepare(c,
	                                     "INSERT INTO advisory_history(advisory_id, root_id, ts,"
	                                     " actor, action, detail) VALUES (?,?,?,?,?,?)",
	                                     e);
	if (s == NULL) {
		free(d);
		return -1;
	}
	store_bind_int(s, 1, a->id);
	store_bind_int(s, 2, a->root_id);
	store_bind_int(s, 3, time_now_ms());
	store_bind_text(s, 4, actor);
	store_bind_text(s, 5, action);
	store_bind_text(s, 6, d ? d : "{}");
	int rc = store_step(s, e);
	store_finalize(s);
	free(d);
	return rc == STORE_DONE ? 0 : -1;
}

static json_t *
row_json(const struct advisory_row *a, bool full)
{
	char ref[32];
	adv_ref(a, ref, sizeof(ref));
	json_t *o = json_pack(
		"{s:I,s:s,s:I,s:i,s:s,s:s,s:s,s:s,s:s,s:{s:I,s:s},s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		"id", (json_int_t)a->id, "ref", ref, "root_id", (json_int_t)a->root_id, "version",
		a->version, "state", advisory_state_name(a->state), "title", a->title, "severity",
		a->severity, "intel_type", a->intel_type, "tlp", auth_tlp_name((enum auth_tlp)a->tlp),
		"issuer", "org_id", (json_int_t)a->org_id, "org", a->org_name, "author", a->author,
		"stix_id", a->stix_id, "reply_due", auth_time_json(a->reply_due_at), "created_at",
		auth_time_json(a->created_at), "updated_at", auth_time_json(a->updated_at), "submitted_at",
		auth_time_json(a->submitted_at), "reviewed_at", auth_time_json(a->reviewed_at),
		"published_at", auth_time_json(a->published_at), "withdrawn_at",
		auth_time_json(a->withdrawn_at));
	json_object_set_new(o, "reviewer", a->reviewer[0] ? json_string(a->reviewer) : json_null());
	json_object_set_new(o, "supersedes_id",
	                    a->supersedes_id ? json_integer(a->supersedes_id) : json_null());
	if (a->data) {
		const char *k;
		json_t *v;
		json_object_foreach(a->data, k, v)
		{
			if (!full && (strcmp(k, "body") == 0 || strcmp(k, "indicators") == 0))
				continue;
			if (json_object_get(o, k) == NULL)
				json_object_set(o, k, v);
		}
	}
	return o;
}

/* ---- input ---- */

static const char *const body_keys[] = {"summary", "body",     "targets",   "products",
                                        "cves",    "measures", "indicators"};

struct adv_input {
	const json_t *in;
	const char *title, *severity;
	char intel_type[8];
	int tlp;
	int64_t reply_due;
	bool has_reply_due;
	json_t *targets; /* owned, normalised: {"sectors": [...], "orgs": [ids], "all_members": b} */
};

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

/* What submission needs. 0 or 422 with *out. */
static int
check_complete(const struct advisory_row *a, json_t **out)
{
	const json_t *tg = json_object_get(a->data, "targets");
	const char *missing = NULL;
	if (json_string_length(json_object_get(a->data, "summary")) == 0)
		missing = "a summary";
	else if (json_string_length(json_object_get(a->data, "body")) == 0)
		missing = "a body";
	else if (a->severity[0] == '\0')
		missing = "a severity";
	else if (a->intel_type[0] == '\0')
		missing = "an intel_type (ANA, DEF, INT, EWA or FBI)";
	else if (!json_is_true(json_object_get(tg, "all_members")) &&
	         json_array_size(json_object_get(tg, "sectors")) == 0 &&
	         json_array_size(json_object_get(tg, "orgs")) == 0)
		missing = "targets (sectors, organisations or all_members)";
	else if (a->reply_due_at == 0)
		missing = "a reply_due deadline";
	if (missing) {
		*out = auth_error("incomplete", "an advisory needs %s before review", missing);
		return 422;
	}
	return 0;
}

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

struct write_job {
	const struct auth_caller *who;
	struct adv_input ai;
	int64_t id;     /* the row acted on */
	int64_t new_id; /* the row made */
	const char *move;
	const char *reason;
	struct auth_fail f;
	struct err e;
};

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

static int
audit(struct store_conn *c, struct write_job *j, int64_t id, const char *action,
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
		rc = audit(c, j, j->new_id, "advisory.create", j->ai.in);
	return rc;
}

static int
reply_row(struct auth_ctx *x, int64_t id, int status, json_t **out)
{
	struct store_conn *c = store_reader_get(x->st);
	struct advisory_row a;
	struct err e;
	int rc = adv_row_fetch(c, id, &a, &e);
	if (rc == 0) {
		*out = row_json(&a, true);
		if (!internal_state(a.state) &&
		    (x->caller->local || x->caller->org_id == a.org_id))
			json_object_set_new(*out, "aggregate", adv_aggregate(c, &a, time_now_ms()));
		adv_row_clear(&a);
	}
	store_reader_put(x->st, c);
	if (rc != 0) {
		*out = auth_error("internal", "the advisory cannot be read back");
		return 500;
	}
	return status;
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
	return reply_row(x, j.new_id, 201, out);
}

/* Loads a version the caller may see: 0, or a status with *out. */
static int
get_visible(struct auth_ctx *x, const char *ref, struct advisory_row *a, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ADVISORY_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	int64_t id = auth_parse_id(ref);
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	int rc = id > 0 ? adv_row_fetch(c, id, a, &e) : 1;
	if (rc == 0) {
		d = adv_check_read(c, x->caller, a);
		if (d != AUTH_ALLOW)
			adv_row_clear(a);
	}
	store_reader_put(x->st, c);
	if (rc < 0) {
		*out = auth_error("internal", "%s", e.msg);
		return 500;
	}
	if (rc > 0) {
		*out = auth_error("not_found", "no such advisory");
		return 404;
	}
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	return 0;
}

int
advisory_svc_get(struct auth_ctx *x, const char *id, json_t **out)
{
	struct advisory_row a;
	int st = get_visible(x, id, &a, out);
	if (st)
		return st;
	*out = row_json(&a, true);
	struct store_conn *c = store_reader_get(x->st);
	if (!internal_state(a.state)) {
		if (x->caller->local || x->caller->org_id == a.org_id) {
			json_object_set_new(*out, "aggregate", adv_aggregate(c, &a, time_now_ms()));
		} else {
			/* A member sees its own latest reply, not the others'. */
			json_t *mine = json_null();
			struct err e;
			struct store_stmt *s = store_prepare(
				c,
				"SELECT status, mitigated, measures, measures_at, note, replied_by, created_at"
				" FROM advisory_replies WHERE root_id = ? AND org_id = ? ORDER BY id DESC"
				" LIMIT 1",
				&e);
			if (s) {
				store_bind_int(s, 1, a.root_id);
				store_bind_int(s, 2, x->caller->org_id);
				if (store_step(s, &e) == STORE_ROW) {
					json_decref(mine);
					mine = json_pack("{s:s,s:b,s:s,s:o,s:s,s:s,s:o}", "status",
					                 store_col_text(s, 0), "mitigated",
					                 (int)store_col_int(s, 1), "measures", store_col_text(s, 2),
					                 "measures_at",
					                 auth_time_json(store_col_null(s, 3) ? 0 : store_col_int(s, 3)),
					                 "note", store_col_text(s, 4), "replied_by",
					                 store_col_text(s, 5), "replied_at",
					                 auth_time_json(store_col_int(s, 6)));
				}
				store_finalize(s);
			}
			json_object_set_new(*out, "my_reply", mine);
		}
	}
	store_reader_put(x->st, c);
	adv_row_clear(&a);
	return 200;
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
			rc = audit(c, j, j->id, "advisory.delete", NULL);
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
		rc = audit(c, j, j->id, "advisory.update", j->ai.in);
	return rc;
}

static int
edit_or_delete(struct auth_ctx *x, const char *ref, const json_t *in, bool del, json_t **out)
{
	struct advisory_row a;
	int st = get_visible(x, ref, &a, out);
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
	return reply_row(x, j.id, 200, out);
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
		rc = audit(c, j, j->new_id, "advisory.correct", detail);
	json_decref(detail);
	return rc;
}

int
advisory_svc_correct(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	struct advisory_row a;
	int st = get_visible(x, id, &a, out);
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
	return reply_row(x, j.new_id, 201, out);
}

/* ---- review, publication, withdrawal ---- */

static void hand_to_sink(struct auth_ctx *x, int64_t id);

static bool
is_author(const struct advisory_row *a, const struct auth_caller *who)
{
	if (who->user_id && a->author_user_id == who->user_id)
		return true;
	if (who->token_id && a->author_token_id == who->token_id)
		return true;
	char actor[160];
	adv_actor(who, actor, sizeof(actor));
	return strcmp(actor, a->author) == 0;
}

/* The organisations a version is delivered to. */
static json_t *
resolve_targets(struct store_conn *c, const struct advisory_row *a, struct err *e)
{
	const json_t *tg = json_object_get(a->data, "targets");
	bool all = json_is_true(json_object_get(tg, "all_members"));
	const json_t *secs = json_object_get(tg, "sectors");
	const json_t *orgs = json_object_get(tg, "orgs");
	json_t *out = json_array();
	struct store_stmt *s =
		store_prepare(c, "SELECT id, sector FROM orgs WHERE id <> ? ORDER BY id", e);
	if (s == NULL) {
		json_decref(out);
		return NULL;
	}
	store_bind_int(s, 1, a->org_id);
	while (store_step(s, e) == STORE_ROW) {
		int64_t id = store_col_int(s, 0);
		const char *sector = store_col_text(s, 1);
		bool hit = all;
		size_t i;
		json_t *v;
		json_array_foreach(secs, i, v)
		{
			hit |= strcmp(json_string_value(v), sector) == 0;
		}
		json_array_foreach(orgs, i, v)
		{
			hit |= json_integer_value(v) == id;
		}
		if (hit)
			json_array_append_new(out, json_integer(id));
	}
	store_finalize(s);
	return out;
}

static int
write_stix(struct store_conn *c, const struct advisory_row *a, int64_t first_ms, int64_t ms,
           bool revoked, struct err *e)
{
	char identity[128] = "", name[128] = "";
	(void)auth_org_describe(c, a->org_id, name, sizeof(name), identity, sizeof(identity));
	json_t *bundle = adv_stix_bundle(a, identity, name, first_ms, ms, revoked);
	char *text = json_dumps(bundle, JSON_COMPACT);
	json_decref(bundle);
	char modified[32];
	time_format_rfc3339(ms, modified, sizeof(modified));
	struct store_stmt *s = store_prepare(c,
	                                     "INSERT INTO advisory_stix(advisory_id, root_id, stix_id,"
	                                     " modified, bundle, created_at) VALUES (?,?,?,?,?,?)",
	                                     e);
	if (s == NULL) {
		free(text);
		return -1;
	}
	store_bind_int(s, 1, a->id);
	store_bind_int(s, 2, a->root_id);
	store_bind_text(s, 3, a->stix_id);
	store_bind_text(s, 4, modified);
	store_bind_text(s, 5, text);
	store_bind_int(s, 6, time_now_ms());
	int rc = store_step(s, e);
	store_finalize(s);
	free(text);
	return rc == STORE_DONE ? 0 : -1;
}

/* Runs an UPDATE binding reviewer text and a time (repeated as the SQL
 * needs, in order: 's' the text, 't' the time) and the id last. */
static int
set_state(struct store_conn *c, int64_t id, const char *sql, const char *binds,
          const char *text, int64_t now, struct err *e)
{
	struct store_stmt *s = store_prepare(c, sql, e);
	if (s == NULL)
		return -1;
	int i = 1;
	for (const char *b = binds; *b; b++) {
		if (*b == 's')
			store_bind_text(s, i++, text);
		else
			store_bind_int(s, i++, now);
	}
	store_bind_int(s, i, id);
	int rc = store_step(s, e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

static int
publish(struct store_conn *c, struct write_job *j, struct advisory_row *a, int64_t now,
        json_t *detail)
{
	char by[160];
	adv_actor(j->who, by, sizeof(by));
	int64_t first = now;
	if (a->supersedes_id) {
		struct advisory_row old;
		int rc = adv_row_fetch(c, a->supersedes_id, &old, &j->e);
		if (rc != 0)
			return -1;
		enum advisory_state was = old.state;
		int64_t root_pub = 0;
		(void)store_query_int(c, "SELECT COALESCE(published_at, 0) FROM advisories WHERE id = ?",
		                      &root_pub, &j->e, "i", a->root_id);
		adv_row_clear(&old);
		if (was != ADVISORY_PUBLISHED)
			return auth_fail_set(&j->f, 409, "conflict",
			                    "the version this corrects is %s, no longer published",
			                    advisory_state_name(was));
		first = root_pub ? root_pub : now;
		if (set_state(c, a->supersedes_id,
		              "UPDATE advisories SET state = 'superseded', updated_at = ? WHERE id = ?",
		              "t", by, now, &j->e) != 0)
			return -1;
	}
	if (set_state(c, a->id,
	              "UPDATE advisories SET state = 'published', reviewer = ?, reviewed_at = ?,"
	              " published_at = ?, updated_at = ? WHERE id = ?",
	              "sttt", by, now, &j->e) != 0)
		return -1;
	/* Deliver: every target gets (or keeps) the series in its queue. */
	json_t *targets = resolve_targets(c, a, &j->e);
	if (targets == NULL)
		return -1;
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(targets, i, v)
	{
		struct store_stmt *s = store_prepare(
			c,
			"INSERT INTO advisory_targets(root_id, org_id, version, delivered_at, updated_at)"
			" VALUES (?,?,?,?,?) ON CONFLICT(root_id, org_id) DO UPDATE SET"
			" version = excluded.version, updated_at = excluded.updated_at",
			&j->e);
		if (s == NULL) {
			rc = -1;
			break;
		}
		store_bind_int(s, 1, a->root_id);
		store_bind_int(s, 2, json_integer_value(v));
		store_bind_int(s, 3, a->version);
		store_bind_int(s, 4, now);
		store_bind_int(s, 5, now);
		rc = store_step(s, &j->e) == STORE_DONE ? 0 : -1;
		store_finalize(s);
		if (rc != 0)
			break;
	}
	json_object_set_new(detail, "delivered_to", targets);
	if (rc != 0)
		return -1;
	a->state = ADVISORY_PUBLISHED;
	a->published_at = now;
	return write_stix(c, a, first, now, false, &j->e);
}

static int
move_write(struct store_conn *c, void *arg)
{
	struct write_job *j = arg;
	struct advisory_row a;
	int rc = adv_row_fetch(c, j->id, &a, &j->e);
	if (rc != 0)
		return rc > 0 ? auth_fail_set(&j->f, 404, "not_found", "no such advisory") : -1;
	int64_t now = time_now_ms();
	json_t *detail = json_object();
	if (j->reason)
		json_object_set_new(detail, "reason", json_string(j->reason));
	const char *from = advisory_state_name(a.state);
	char by[160];
	adv_actor(j->who, by, sizeof(by));
	bool review = strcmp(j->move, "publish") == 0 || strcmp(j->move, "reject") == 0;
	if (review && is_author(&a, j->who)) {
		rc = auth_fail_set(&j->f, 403, "forbidden",
		                  "an advisory is reviewed by someone other than its author");
	} else if (strcmp(j->move, "submit") == 0) {
		json_t *why = NULL;
		if (a.state != ADVISORY_DRAFT && a.state != ADVISORY_REJECTED) {
			rc = auth_fail_set(&j->f, 409, "invalid_transition", "cannot submit a %s advisory",
			                  from);
		} else if (check_complete(&a, &why) != 0) {
			const char *m =
				json_string_value(json_object_get(json_object_get(why, "error"), "message"));
			rc = auth_fail_set(&j->f, 422, "incomplete", "%s", m ? m : "incomplete");
			json_decref(why);
		} else if (a.reply_due_at <= now) {
			rc = auth_fail_set(&j->f, 422, "incomplete", "reply_due is in the past");
		} else {
			rc = set_state(c, a.id,
			               "UPDATE advisories SET state = 'submitted', submitted_at = ?,"
			               " updated_at = ? WHERE id = ?",
			               "tt", by, now, &j->e);
		}
	} else if (strcmp(j->move, "publish") == 0) {
		if (a.state != ADVISORY_SUBMITTED)
			rc = auth_fail_set(&j->f, 409, "invalid_transition",
			                  "cannot publish a %s advisory: submit it for review first", from);
		else
			rc = publish(c, j, &a, now, detail);
	} else if (strcmp(j->move, "reject") == 0) {
		if (a.state != ADVISORY_SUBMITTED) {
			rc = auth_fail_set(&j->f, 409, "invalid_transition", "cannot reject a %s advisory",
			                  from);
		} else {
			json_object_set_new(a.data, "reject_reason", json_string(j->reason));
			char *d = json_dumps(a.data, JSON_COMPACT);
			struct store_stmt *s = store_prepare(
				c,
				"UPDATE advisories SET state = 'rejected', reviewer = ?, reviewed_at = ?,"
				" updated_at = ?, data = ? WHERE id = ?",
				&j->e);
			rc = -1;
			if (s) {
				store_bind_text(s, 1, by);
				store_bind_int(s, 2, now);
				store_bind_int(s, 3, now);
				store_bind_text(s, 4, d);
				store_bind_int(s, 5, a.id);
				rc = store_step(s, &j->e) == STORE_DONE ? 0 : -1;
				store_finalize(s);
			}
			free(d);
		}
	} else if (strcmp(j->move, "withdraw") == 0) {
		if (a.state != ADVISORY_PUBLISHED) {
			rc = auth_fail_set(&j->f, 409, "invalid_transition", "cannot withdraw a %s advisory",
			                  from);
		} else {
			json_object_set_new(a.data, "withdraw_reason", json_string(j->reason));
			char *d = json_dumps(a.data, JSON_COMPACT);
			struct store_stmt *s = store_prepare(
				c,
				"UPDATE advisories SET state = 'withdrawn', withdrawn_at = ?, updated_at = ?,"
				" data = ? WHERE id = ?",
				&j->e);
			rc = -1;
			if (s) {
				store_bind_int(s, 1, now);
				store_bind_int(s, 2, now);
				store_bind_text(s, 3, d);
				store_bind_int(s, 4, a.id);
				rc = store_step(s, &j->e) == STORE_DONE ? 0 : -1;
				store_finalize(s);
			}
			free(d);
			int64_t first = a.published_at;
			(void)store_query_int(c,
			                      "SELECT COALESCE(published_at, 0) FROM advisories WHERE id = ?",
			                      &first, &j->e, "i", a.root_id);
			if (rc == 0)
				rc = write_stix(c, &a, first ? first : a.published_at, now, true, &j->e);
		}
	}
	if (rc == 0) {
		json_object_set_new(detail, "from", json_string(from));
		rc = adv_history_add(c, &a, j->who, j->move, detail, &j->e);
	}
	if (rc == 0) {
		char action[48];
		snprintf(action, sizeof(action), "advisory.%s", j->move);
		rc = audit(c, j, a.id, action, detail);
	}
	json_decref(detail);
	adv_row_clear(&a);
	return rc;
}

int
advisory_svc_move(struct auth_ctx *x, const char *id, const char *move, const json_t *in,
                  json_t **out)
{
	enum auth_action act;
	if (move && strcmp(move, "submit") == 0)
		act = AUTH_ADVISORY_DRAFT;
	else if (move && (strcmp(move, "publish") == 0 || strcmp(move, "reject") == 0 ||
	                  strcmp(move, "withdraw") == 0))
		act = AUTH_ADVISORY_REVIEW;
	else {
		*out = auth_error("not_found", "no such move '%s'; moves are submit, publish, reject, "
		                               "withdraw (and POST .../correct)",
		                  move ? move : "");
		return 404;
	}
	struct advisory_row a;
	int st = get_visible(x, id, &a, out);
	if (st)
		return st;
	struct auth_object obj = {.org_id = a.org_id};
	struct write_job j = {.who = x->caller, .id = a.id, .move = move};
	adv_row_clear(&a);
	enum auth_decision d = auth_check(x->caller, act, &obj);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	if (in && !json_is_object(in)) {
		*out = auth_error("bad_request", "expected a JSON object");
		return 400;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
	{
		if (strcmp(key, "reason") != 0) {
			*out = auth_error("bad_request", "unknown field '%s'", key);
			return 400;
		}
	}
	json_t *r = json_object_get(in, "reason");
	if (r && (!json_is_string(r) || json_string_length(r) > 4096)) {
		*out = auth_error("bad_request", "reason must be text of at most 4096 bytes");
		return 400;
	}
	j.reason = json_string_length(r) ? json_string_value(r) : NULL;
	if ((strcmp(move, "reject") == 0 || strcmp(move, "withdraw") == 0) && j.reason == NULL) {
		*out = auth_error("bad_request", "%s needs a reason", move);
		return 400;
	}
	if (store_write(x->st, move_write, &j, &j.e) != 0)
		return auth_fail_reply(&j.f, &j.e, "advisory", out);
	if (strcmp(move, "publish") == 0 || strcmp(move, "withdraw") == 0)
		hand_to_sink(x, j.id);
	return reply_row(x, j.id, 200, out);
}

/* ---- the STIX object store ---- */

static advisory_stix_sink_fn sink_fn;
static void *sink_arg;

void
advisory_stix_sink_set(advisory_stix_sink_fn fn, void *arg)
{
	sink_fn = fn;
	sink_arg = arg;
}

/* After a publication or withdrawal has committed, hands the bundle just
 * written to the sink. A failure is logged; the bundle stays in
 * advisory_stix, from where it can be sent again. */
static void
hand_to_sink(struct auth_ctx *x, int64_t id)
{
	if (sink_fn == NULL)
		return;
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	json_t *b = NULL;
	struct store_stmt *s = store_prepare(
		c, "SELECT bundle FROM advisory_stix WHERE advisory_id = ? ORDER BY id DESC LIMIT 1", &e);
	if (s) {
		store_bind_int(s, 1, id);
		if (store_step(s, &e) == STORE_ROW)
			b = json_loads(store_col_text(s, 0), 0, NULL);
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	if (b && sink_fn(x, json_object_get(b, "objects"), sink_arg) != 0)
		log_warnx("advisory", "advisory %lld: the STIX store did not take its report",
		          (long long)id);
	json_decref(b);
}

/* ---- lists ---- */

int
advisory_svc_list(struct auth_ctx *x, const json_t *q, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ADVISORY_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct buf sql = {0};
	json_t *binds = json_array();
	buf_printf(&sql, "SELECT %s FROM advisories a JOIN orgs o ON o.id = a.org_id WHERE (",
	           ADV_COLS);
	/* Unpublished versions count as AMBER+STRICT of the issuing organisation. */
	auth_sql_visible(x->caller, "a.org_id",
	                 "(CASE WHEN a.state IN ('draft', 'submitted', 'rejected') THEN 4"
	                 " ELSE a.tlp END)",
	                 &sql, binds);
	if (!x->caller->local) {
		buf_puts(&sql, " OR (a.state IN ('published', 'withdrawn', 'superseded') AND EXISTS"
		               " (SELECT 1 FROM advisory_targets t WHERE t.root_id = a.root_id"
		               " AND t.org_id = ?))");
		json_array_append_new(binds, json_integer(x->caller->org_id));
	}
	buf_puts(&sql, ")");
	const char *v = json_string_value(json_object_get(q, "state"));
	int status = 0;
	if (v && v[0]) {
		if (advisory_state_parse(v) < 0) {
			*out = auth_error("bad_request", "state must be draft, submitted, rejected, "
			                                 "published, superseded or withdrawn");
			status = 400;
		}
		buf_puts(&sql, " AND a.state = ?");
		json_array_append_new(binds, json_string(v));
	} else {
		v = json_string_value(json_object_get(q, "versions"));
		if (v == NULL || strcmp(v, "all") != 0)
			buf_puts(&sql, " AND a.state <> 'superseded'");
	}
	static const char *const eq[] = {"severity", "intel_type"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(eq); i++) {
		v = json_string_value(json_object_get(q, eq[i]));
		if (v && v[0]) {
			buf_printf(&sql, " AND a.%s = ?", eq[i]);
			json_array_append_new(binds, json_string(v));
		}
	}
	v = json_string_value(json_object_get(q, "q"));
	if (v && v[0] && status == 0) {
		if (strlen(v) > 200) {
			*out = auth_error("bad_request", "q is at most 200 characters");
			status = 400;
		}
		struct buf like = {0};
		buf_puts(&like, "%");
		for (const char *p = v; *p; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				buf_puts(&like, "\\");
			buf_append(&like, p, 1);
		}
		buf_puts(&like, "%");
		buf_puts(&sql, " AND a.title LIKE ? ESCAPE '\\'");
		json_array_append_new(binds, json_string(like.data));
		buf_free(&like);
	}
	int64_t limit = ADV_LIST_DEFAULT, offset = 0;
	v = json_string_value(json_object_get(q, "limit"));
	if (status == 0 && v && parse_int64(v, 1, ADV_LIST_MAX, &limit) != 0) {
		*out = auth_error("bad_request", "limit must be 1 to %d", ADV_LIST_MAX);
		status = 400;
	}
	v = json_string_value(json_object_get(q, "offset"));
	if (status == 0 && v && parse_int64(v, 0, 100000000, &offset) != 0) {
		*out = auth_error("bad_request", "offset must be a number of rows");
		status = 400;
	}
	buf_puts(&sql, " ORDER BY a.id DESC LIMIT ? OFFSET ?");
	json_array_append_new(binds, json_integer(limit));
	json_array_append_new(binds, json_integer(offset));
	json_t *list = json_array();
	if (status == 0) {
		struct store_conn *c = store_reader_get(x->st);
		struct err e;
		struct store_stmt *s = store_prepare(c, sql.data, &e);
		if (s == NULL) {
			*out = auth_error("internal", "%s", e.msg);
			status = 500;
		} else {
			auth_sql_bind(s, 1, binds);
			while (store_step(s, &e) == STORE_ROW) {
				struct advisory_row a;
				adv_row_load(s, &a, true);
				json_array_append_new(list, row_json(&a, false));
				adv_row_clear(&a);
			}
			store_finalize(s);
		}
		store_reader_put(x->st, c);
	}
	buf_free(&sql);
	json_decref(binds);
	if (status) {
		json_decref(list);
		return status;
	}
	*out = json_pack("{s:o,s:I}", "advisories", list, "count", (json_int_t)json_array_size(list));
	return 200;
}

int
advisory_svc_versions(struct auth_ctx *x, const char *id, json_t **out)
{
	struct advisory_row a;
	int st = get_visible(x, id, &a, out);
	if (st)
		return st;
	int64_t root = a.root_id;
	adv_row_clear(&a);
	char sql[768];
	snprintf(sql, sizeof(sql),
	         "SELECT %s FROM advisories a JOIN orgs o ON o.id = a.org_id WHERE a.root_id = ?"
	         " ORDER BY a.version",
	         ADV_COLS);
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(c, sql, &e);
	json_t *list = json_array();
	if (s) {
		store_bind_int(s, 1, root);
		while (store_step(s, &e) == STORE_ROW) {
			struct advisory_row r;
			adv_row_load(s, &r, true);
			if (adv_check_read(c, x->caller, &r) == AUTH_ALLOW)
				json_array_append_new(list, row_json(&r, true));
			adv_row_clear(&r);
		}
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	*out = json_pack("{s:I,s:o}", "root_id", (json_int_t)root, "versions", list);
	return 200;
}

int
advisory_svc_stix(struct auth_ctx *x, const char *id, json_t **out)
{
	struct advisory_row a;
	int st = get_visible(x, id, &a, out);
	if (st)
		return st;
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(
		c, "SELECT bundle FROM advisory_stix WHERE root_id = ? ORDER BY id DESC LIMIT 1", &e);
	json_t *b = NULL;
	if (s) {
		store_bind_int(s, 1, a.root_id);
		if (store_step(s, &e) == STORE_ROW)
			b = json_loads(store_col_text(s, 0), 0, NULL);
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	adv_row_clear(&a);
	if (b == NULL) {
		*out = auth_error("not_found", "the advisory has not been published");
		return 404;
	}
	*out = b;
	return 200;
}
