/*
 * cert_incident.c - incident reports: the stored row and its JSON, input
 * validation, and the services that create, read, edit, delete, list and
 * export them. State changes live in cert_lifecycle.c.
 */
#include "cert/cert_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stix/stix.h"

const char CERT_INCIDENT_COLS[] =
	"i.id, i.org_id, i.created_by_org, i.state, i.level, i.reported_level, i.class, i.type,"
	" i.tlp, i.source, i.created_by, i.title, o.name, i.stix_id,"
	" i.occurred_at, i.known_at, i.notified_at, i.submitted_at, i.review_started_at,"
	" i.reviewed_at, i.accepted_at, i.review_start, i.forward_start, i.forwarded_at,"
	" i.contain_start, i.contained_at, i.recovered_at, i.report_at, i.closed_at,"
	" i.next_due_at, i.created_at, i.updated_at";
#define COL_DATA 32

/* ---- small helpers ---- */


int
cert_json_time(const json_t *obj, const char *key, int64_t *ms)
{
	*ms = 0;
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || time_parse_rfc3339(json_string_value(v), ms) != 0)
		return -1;
	return 0;
}

void
cert_actor(const struct auth_caller *who, char *buf, size_t len)
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

int
cert_timeline_add(struct store_conn *c, int64_t incident_id, const struct auth_caller *who,
                  const char *action, const char *from, const char *to, const json_t *detail,
                  struct err *e)
{
	char actor[160];
	cert_actor(who, actor, sizeof(actor));
	struct store_stmt *s = store_prepare(c,
	                                     "INSERT INTO cert_timeline(incident_id, ts, actor, action,"
	                                     " from_state, to_state, detail) VALUES (?,?,?,?,?,?,?)",
	                                     e);
	if (s == NULL)
		return -1;
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	store_bind_int(s, 1, incident_id);
	store_bind_int(s, 2, time_now_ms());
	store_bind_text(s, 3, actor);
	store_bind_text(s, 4, action);
	store_bind_text(s, 5, from);
	store_bind_text(s, 6, to);
	store_bind_text(s, 7, d ? d : "{}");
	int rc = store_step(s, e);
	store_finalize(s);
	free(d);
	return rc == STORE_DONE ? 0 : -1;
}

/* ---- the row ---- */

static int64_t
col_ms(struct store_stmt *s, int col)
{
	return store_col_null(s, col) ? 0 : store_col_int(s, col);
}

void
cert_incident_load(struct store_stmt *s, struct cert_incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->id = store_col_int(s, 0);
	inc->org_id = store_col_int(s, 1);
	inc->created_by_org = store_col_int(s, 2);
	int st = cert_state_parse(store_col_text(s, 3));
	inc->state = st < 0 ? CERT_DRAFT : (enum cert_state)st;
	inc->level = (int)store_col_int(s, 4);
	inc->reported_level = (int)store_col_int(s, 5);
	snprintf(inc->cls, sizeof(inc->cls), "%s", store_col_text(s, 6));
	snprintf(inc->type, sizeof(inc->type), "%s", store_col_text(s, 7));
	inc->tlp = (int)store_col_int(s, 8);
	snprintf(inc->source, sizeof(inc->source), "%s", store_col_text(s, 9));
	snprintf(inc->created_by, sizeof(inc->created_by), "%s", store_col_text(s, 10));
	snprintf(inc->title, sizeof(inc->title), "%s", store_col_text(s, 11));
	snprintf(inc->org_name, sizeof(inc->org_name), "%s", store_col_text(s, 12));
	snprintf(inc->stix_id, sizeof(inc->stix_id), "%s", store_col_text(s, 13));
	int64_t *t[] = {&inc->occurred_at,   &inc->known_at,     &inc->notified_at,
	                &inc->submitted_at,  &inc->review_started_at, &inc->reviewed_at,
	                &inc->accepted_at,   &inc->review_start, &inc->forward_start,
	                &inc->forwarded_at,  &inc->contain_start, &inc->contained_at,
	                &inc->recovered_at,  &inc->report_at,    &inc->closed_at,
	                &inc->next_due_at,   &inc->created_at,   &inc->updated_at};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(t); i++)
		*t[i] = col_ms(s, 14 + (int)i);
}

void
cert_incident_clear(struct cert_incident *inc)
{
	json_decref(inc->data);
	inc->data = NULL;
}

int
cert_incident_fetch(struct store_conn *c, int64_t id, struct cert_incident *inc, struct err *e)
{
	char sql[1024];
	snprintf(sql, sizeof(sql),
	         "SELECT %s, i.data FROM cert_incidents i JOIN orgs o ON o.id = i.org_id"
	         " WHERE i.id = ?",
	         CERT_INCIDENT_COLS);
	struct store_stmt *s = store_prepare(c, sql, e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, id);
	int rc = store_step(s, e);
	if (rc == STORE_ROW) {
		cert_incident_load(s, inc);
		inc->data = json_loads(store_col_text(s, COL_DATA), 0, NULL);
		if (!json_is_object(inc->data)) {
			json_decref(inc->data);
			inc->data = json_object();
		}
	}
	store_finalize(s);
	if (rc == STORE_ROW)
		return 0;
	return rc == STORE_DONE ? 1 : -1;
}

void
cert_incident_times(const struct cert_incident *inc, struct cert_times *t)
{
	memset(t, 0, sizeof(*t));
	t->level = inc->level;
	t->known = inc->known_at;
	t->notified = inc->notified_at;
	t->review_start = inc->review_start;
	t->reviewed = inc->reviewed_at;
	t->forward_start = inc->forward_start;
	t->forwarded = inc->forwarded_at;
	t->contain_start = inc->contain_start;
	t->contained = inc->contained_at;
	t->recovered = inc->recovered_at;
	t->reported = inc->report_at;
}

int
cert_incident_store_due(struct store_conn *c, const struct cert_rules *r,
                        const struct cert_incident *inc, struct err *e)
{
	struct cert_times t;
	struct cert_deadline_eval ev[CERT_DL_COUNT];
	cert_incident_times(inc, &t);
	cert_deadlines_eval(r, &t, ev);
	int kind = -1;
	int64_t due = cert_next_due(ev, &kind);
	struct store_stmt *s = store_prepare(
		c, "UPDATE cert_incidents SET next_due_at = ?, next_due_kind = ? WHERE id = ?", e);
	if (s == NULL)
		return -1;
	if (due)
		store_bind_int(s, 1, due);
	else
		store_bind_null(s, 1);
	store_bind_text(s, 2, kind >= 0 ? cert_deadline_name((enum cert_deadline)kind) : NULL);
	store_bind_int(s, 3, inc->id);
	int rc = store_step(s, e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

void
cert_incident_ref(const struct cert_incident *inc, char *buf, size_t len)
{
	time_t secs = (time_t)(inc->created_at / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "INC-%04d-%06lld", tm.tm_year + 1900, (long long)inc->id);
}

static json_t *
deadlines_json(const struct cert_incident *inc, const struct cert_rules *r, int64_t now,
               bool *overdue)
{
	struct cert_times t;
	struct cert_deadline_eval ev[CERT_DL_COUNT];
	cert_incident_times(inc, &t);
	cert_deadlines_eval(r, &t, ev);
	json_t *arr = json_array();
	*overdue = false;
	for (int d = 0; d < CERT_DL_COUNT; d++) {
		const char *status = cert_deadline_status(&ev[d], now);
		json_t *o = json_pack("{s:s,s:s}", "deadline", cert_deadline_name((enum cert_deadline)d),
		                      "status", status);
		if (ev[d].applies) {
			json_object_set_new(o, "start", auth_time_json(ev[d].start));
			json_object_set_new(o, "due", auth_time_json(ev[d].due));
			json_object_set_new(o, "met_at", auth_time_json(ev[d].met));
			if (!ev[d].met)
				json_object_set_new(o, "seconds_left", json_integer((ev[d].due - now) / 1000));
		}
		if (strcmp(status, "overdue") == 0)
			*overdue = true;
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *
cert_incident_json(const struct cert_incident *inc, const struct cert_rules *r, int64_t now_ms,
                   bool full)
{
	char ref[32];
	cert_incident_ref(inc, ref, sizeof(ref));
	json_t *o = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:i,s:i,s:{s:s,s:s},s:s,s:s,s:s,s:s}", "id",
	                      (json_int_t)inc->id, "ref", ref, "org_id", (json_int_t)inc->org_id, "org",
	                      inc->org_name, "state", cert_state_name(inc->state), "title", inc->title,
	                      "level", inc->level, "reported_level", inc->reported_level,
	                      "classification", "class", inc->cls, "type", inc->type, "tlp",
	                      auth_tlp_name((enum auth_tlp)inc->tlp), "source", inc->source,
	                      "created_by", inc->created_by, "stix_id", inc->stix_id);
	static const struct {
		const char *key;
		size_t off;
	} times[] = {
		{"occurred_at", offsetof(struct cert_incident, occurred_at)},
		{"known_at", offsetof(struct cert_incident, known_at)},
		{"notified_at", offsetof(struct cert_incident, notified_at)},
		{"submitted_at", offsetof(struct cert_incident, submitted_at)},
		{"review_started_at", offsetof(struct cert_incident, review_started_at)},
		{"reviewed_at", offsetof(struct cert_incident, reviewed_at)},
		{"accepted_at", offsetof(struct cert_incident, accepted_at)},
		{"forwarded_at", offsetof(struct cert_incident, forwarded_at)},
		{"contained_at", offsetof(struct cert_incident, contained_at)},
		{"recovered_at", offsetof(struct cert_incident, recovered_at)},
		{"report_at", offsetof(struct cert_incident, report_at)},
		{"closed_at", offsetof(struct cert_incident, closed_at)},
		{"created_at", offsetof(struct cert_incident, created_at)},
		{"updated_at", offsetof(struct cert_incident, updated_at)},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(times); i++)
		json_object_set_new(o, times[i].key,
		                    auth_time_json(*(const int64_t *)(const void *)((const char *)inc +
		                                                                    times[i].off)));
	bool overdue = false;
	json_object_set_new(o, "deadlines", deadlines_json(inc, r, now_ms, &overdue));
	json_object_set_new(o, "overdue", json_boolean(overdue));
	json_object_set_new(o, "next_due_at", auth_time_json(inc->next_due_at));
	if (full && inc->data) {
		const char *k;
		json_t *v;
		json_object_foreach(inc->data, k, v)
		{
			if (json_object_get(o, k) == NULL)
				json_object_set(o, k, v);
		}
	}
	return o;
}

/* ---- visibility ---- */

void
cert_sql_visible(const struct auth_caller *caller, struct buf *sql, json_t *binds)
{
	if (caller && caller->local) {
		buf_puts(sql, "(1 = 1)");
		return;
	}
	if (caller == NULL) {
		buf_puts(sql, "(1 = 0)");
		return;
	}
	if (caller->node_staff) {
		/* Drafts are their makers' until submitted. */
		buf_puts(sql, "(i.state <> 'draft' OR i.created_by_org = ? OR i.org_id = ?)");
		json_array_append_new(binds, json_integer(caller->org_id));
		json_array_append_new(binds, json_integer(caller->org_id));
		return;
	}
	buf_puts(sql, "(i.org_id = ?)");
	json_array_append_new(binds, json_integer(caller->org_id));
}

enum auth_decision
cert_check_read(const struct auth_caller *caller, const struct cert_incident *inc)
{
	struct auth_object obj = {.org_id = inc->org_id};
	enum auth_decision d = auth_check(caller, AUTH_INCIDENT_READ, &obj);
	/* Another organisation's report is not even acknowledged to exist. */
	if (d == AUTH_FORBIDDEN && auth_check(caller, AUTH_INCIDENT_READ, NULL) == AUTH_ALLOW)
		return AUTH_NOT_FOUND;
	if (d == AUTH_ALLOW && inc->state == CERT_DRAFT && !caller->local &&
	    inc->org_id != caller->org_id && inc->created_by_org != caller->org_id)
		return AUTH_NOT_FOUND;
	return d;
}

/* ---- input ---- */

struct inc_input {
	const json_t *in;
	int64_t org_id; /* 0: the caller's */
	const char *title;
	int level; /* 0: absent */
	const char *cls, *type;
	int tlp;
	int64_t occurred_at, known_at;
	bool has_occurred, has_known;
};

static const char *const body_keys[] = {
	"contact", "affected_systems", "description", "impact", "measures", "support_needed",
	"indicators",
};

static bool
str_ok(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) <= max;
}

/* Reads and checks the fields of a create or edit; 0 or 400 with out. */
static int
read_input(struct store_conn *c, const json_t *in, bool create, struct inc_input *ii,
           json_t **out)
{
	memset(ii, 0, sizeof(*ii));
	ii->in = in;
	if (!json_is_object(in)) {
		*out = auth_error("bad_request", "expected a JSON object");
		return 400;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
	{
		bool known = false;
		static const char *const cols[] = {"org", "title", "level", "classification", "tlp",
		                                   "occurred_at", "known_at"};
		for (size_t i = 0; i < CIIP_ARRAY_LEN(cols); i++)
			known |= strcmp(key, cols[i]) == 0;
		for (size_t i = 0; i < CIIP_ARRAY_LEN(body_keys); i++)
			known |= strcmp(key, body_keys[i]) == 0;
		if (!known) {
			*out = auth_error("bad_request", "unknown field '%s'", key);
			return 400;
		}
	}
#define BAD(...)                                                                                 \
	do {                                                                                         \
		*out = auth_error("bad_request", __VA_ARGS__);                                           \
		return 400;                                                                              \
	} while (0)
	json_t *org = json_object_get(in, "org");
	if (org) {
		if (!create)
			BAD("the organisation of a report cannot change");
		char ref[160];
		if (json_is_integer(org))
			snprintf(ref, sizeof(ref), "%lld", (long long)json_integer_value(org));
		else if (str_ok(org, 128))
			snprintf(ref, sizeof(ref), "%s", json_string_value(org));
		else
			BAD("org must be an organisation id or name");
		ii->org_id = auth_org_lookup(c, ref);
		if (ii->org_id == 0)
			BAD("org names no organisation");
	}
	json_t *t = json_object_get(in, "title");
	if (t) {
		if (!str_ok(t, CERT_MAX_TITLE) || json_string_length(t) == 0)
			BAD("title must be 1 to %d characters", CERT_MAX_TITLE);
		ii->title = json_string_value(t);
	} else if (create) {
		BAD("title is required");
	}
	json_t *lv = json_object_get(in, "level");
	if (lv) {
		if (!json_is_integer(lv) || json_integer_value(lv) < 1 || json_integer_value(lv) > 4)
			BAD("level must be 1, 2, 3 or 4 (the regulation's incident levels)");
		ii->level = (int)json_integer_value(lv);
	} else if (create) {
		BAD("level (your assessment, 1 to 4) is required");
	}
	json_t *cl = json_object_get(in, "classification");
	if (cl) {
		ii->cls = json_string_value(json_object_get(cl, "class"));
		ii->type = json_string_value(json_object_get(cl, "type"));
		if (!json_is_object(cl) || !cert_taxonomy_valid(ii->cls, ii->type))
			BAD("classification must be {\"class\", \"type\"} of the ENISA reference "
			    "incident taxonomy, e.g. {\"class\": \"intrusions\", \"type\": "
			    "\"system-compromise\"}; see GET /api/v1/incidents/rules");
	}
	json_t *tl = json_object_get(in, "tlp");
	if (tl) {
		ii->tlp = json_is_string(tl) ? (int)auth_tlp_parse(json_string_value(tl)) : 0;
		if (ii->tlp == 0)
			BAD("tlp must be clear, green, amber, amber+strict or red");
	}
	if (cert_json_time(in, "occurred_at", &ii->occurred_at) != 0)
		BAD("occurred_at must be an RFC 3339 time");
	if (cert_json_time(in, "known_at", &ii->known_at) != 0)
		BAD("known_at must be an RFC 3339 time");
	ii->has_occurred = json_object_get(in, "occurred_at") != NULL;
	ii->has_known = ii->known_at != 0;
	if (create && !ii->has_known)
		BAD("known_at (when you became aware of the incident) is required: the deadlines "
		    "count from it");
	if (ii->has_known && ii->known_at > time_now_ms() + 300000)
		BAD("known_at is in the future");
	if (ii->occurred_at && ii->has_known && ii->occurred_at > ii->known_at)
		BAD("occurred_at is after known_at");
	/* The free-form body. */
	json_t *ct = json_object_get(in, "contact");
	if (ct) {
		if (!json_is_object(ct))
			BAD("contact must be {\"name\", \"email\", \"phone\"}");
		json_object_foreach(ct, key, v)
		{
			if ((strcmp(key, "name") && strcmp(key, "email") && strcmp(key, "phone")) ||
			    !str_ok(v, 256))
				BAD("contact.%s: only name, email and phone, each a string of at most 256 "
				    "characters",
				    key);
		}
	}
	json_t *as = json_object_get(in, "affected_systems");
	if (as) {
		if (!json_is_array(as) || json_array_size(as) > CERT_MAX_LIST)
			BAD("affected_systems must be a list of at most %d strings", CERT_MAX_LIST);
		size_t i;
		json_array_foreach(as, i, v)
		{
			if (!str_ok(v, 512))
				BAD("affected_systems[%zu] must be a string of at most 512 characters", i);
		}
	}
	static const char *const texts[] = {"description", "measures", "support_needed"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(texts); i++) {
		json_t *x = json_object_get(in, texts[i]);
		if (x && !str_ok(x, CERT_MAX_TEXT))
			BAD("%s must be a string of at most %d bytes", texts[i], CERT_MAX_TEXT);
	}
	json_t *im = json_object_get(in, "impact");
	if (im) {
		if (!json_is_object(im))
			BAD("impact must be {\"confidentiality\", \"integrity\", \"availability\"}, each 0 "
			    "(none) to 4");
		json_object_foreach(im, key, v)
		{
			if ((strcmp(key, "confidentiality") && strcmp(key, "integrity") &&
			     strcmp(key, "availability")) ||
			    !json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4)
				BAD("impact.%s: confidentiality, integrity and availability take 0 (none) to "
				    "4",
				    key);
		}
	}
	json_t *inds = json_object_get(in, "indicators");
	if (inds) {
		if (!json_is_array(inds) || json_array_size(inds) > CERT_MAX_INDICATORS)
			BAD("indicators must be a list of at most %d", CERT_MAX_INDICATORS);
		size_t i;
		json_array_foreach(inds, i, v)
		{
			char msg[200];
			if (cert_indicator_check(v, msg, sizeof(msg)) != 0)
				BAD("indicators[%zu]: %s", i, msg);
		}
	}
#undef BAD
	return 0;
}

/* What submission needs beyond what a draft needs. */
static int
check_complete(const struct cert_incident *inc, json_t **out)
{
	const char *missing = NULL;
	const json_t *d = inc->data;
	const json_t *ct = json_object_get(d, "contact");
	const json_t *im = json_object_get(d, "impact");
	if (inc->cls[0] == '\0')
		missing = "classification";
	else if (json_string_length(json_object_get(d, "description")) == 0)
		missing = "description";
	else if (json_string_length(json_object_get(ct, "name")) == 0 ||
	         (json_string_length(json_object_get(ct, "email")) == 0 &&
	          json_string_length(json_object_get(ct, "phone")) == 0))
		missing = "contact (name and an e-mail or phone)";
	else if (json_array_size(json_object_get(d, "affected_systems")) == 0)
		missing = "affected_systems";
	else if (!json_object_get(im, "confidentiality") || !json_object_get(im, "integrity") ||
	         !json_object_get(im, "availability"))
		missing = "impact (confidentiality, integrity and availability)";
	if (missing) {
		*out = auth_error("incomplete", "a report needs %s before it can be submitted", missing);
		return 422;
	}
	return 0;
}

int
cert_incident_check_complete(const struct cert_incident *inc, json_t **out)
{
	return check_complete(inc, out);
}

/* ---- create ---- */

struct create_job {
	const struct auth_caller *who;
	struct cert_rules rules;
	struct inc_input ii;
	int64_t org_id;
	const char *source;
	json_t *extra; /* body members set by the system (evidence); borrowed */
	bool route;    /* route attacking addresses at once (escalated alerts) */
	int64_t id;
	struct auth_fail f;
	struct err e;
};

static json_t *
body_from_input(const json_t *in)
{
	json_t *d = json_object();
	for (size_t i = 0; i < CIIP_ARRAY_LEN(body_keys); i++) {
		json_t *v = json_object_get(in, body_keys[i]);
		if (v)
			json_object_set(d, body_keys[i], v);
	}
	return d;
}

static int
create_write(struct store_conn *c, void *arg)
{
	struct create_job *j = arg;
	int64_t now = time_now_ms();
	char stix_id[STIX_ID_MAX];
	stix_id_new("incident", stix_id, sizeof(stix_id));
	char actor[160];
	cert_actor(j->who, actor, sizeof(actor));
	json_t *d = body_from_input(j->ii.in);
	if (j->extra)
		json_object_update(d, j->extra);
	char *dtext = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	struct store_stmt *s = store_prepare(
		c,
		"INSERT INTO cert_incidents(org_id, created_by_org, created_by, source, state, title,"
		" level, reported_level, class, type, tlp, stix_id, occurred_at, known_at,"
		" contain_start, data, created_at, updated_at)"
		" VALUES (?,?,?,?,'draft',?,?,?,?,?,?,?,?,?,?,?,?,?)",
		&j->e);
	if (s == NULL) {
		free(dtext);
		return -1;
	}
	store_bind_int(s, 1, j->org_id);
	store_bind_int(s, 2, j->who && !j->who->local ? j->who->org_id : j->org_id);
	store_bind_text(s, 3, actor);
	store_bind_text(s, 4, j->source);
	store_bind_text(s, 5, j->ii.title);
	store_bind_int(s, 6, j->ii.level);
	store_bind_int(s, 7, j->ii.level);
	store_bind_text(s, 8, j->ii.cls ? j->ii.cls : "");
	store_bind_text(s, 9, j->ii.type ? j->ii.type : "");
	store_bind_int(s, 10, j->ii.tlp ? j->ii.tlp : AUTH_TLP_AMBER);
	store_bind_text(s, 11, stix_id);
	if (j->ii.occurred_at)
		store_bind_int(s, 12, j->ii.occurred_at);
	else
		store_bind_null(s, 12);
	store_bind_int(s, 13, j->ii.known_at);
	store_bind_int(s, 14, j->ii.known_at);
	store_bind_text(s, 15, dtext);
	store_bind_int(s, 16, now);
	store_bind_int(s, 17, now);
	int rc = store_step(s, &j->e);
	store_finalize(s);
	free(dtext);
	if (rc != STORE_DONE)
		return -1;
	j->id = store_last_insert_id(c);
	struct cert_incident inc;
	if (cert_incident_fetch(c, j->id, &inc, &j->e) != 0)
		return -1;
	char idtxt[32];
	snprintf(idtxt, sizeof(idtxt), "%lld", (long long)j->id);
	json_t *detail = json_pack("{s:s,s:i,s:I}", "source", j->source, "level", j->ii.level,
	                           "org_id", (json_int_t)j->org_id);
	rc = cert_timeline_add(c, j->id, j->who, "create", NULL, "draft", detail, &j->e);
	if (rc == 0)
		rc = auth_audit_append(c, j->who, "incident.create", "incident", idtxt, detail, &j->e);
	json_decref(detail);
	if (rc == 0 && j->route)
		rc = cert_route_incident(c, &inc, j->who, &j->e);
	if (rc == 0 && j->route)
		rc = cert_incident_save(c, &inc, &j->e);
	if (rc == 0)
		rc = cert_incident_store_due(c, &j->rules, &inc, &j->e);
	cert_incident_clear(&inc);
	return rc;
}

static int
reply_incident(struct auth_ctx *x, int64_t id, int status, json_t **out)
{
	struct cert_rules r;
	cert_ctx_rules(x, &r);
	struct store_conn *c = store_reader_get(x->st);
	struct cert_incident inc;
	struct err e;
	int rc = cert_incident_fetch(c, id, &inc, &e);
	store_reader_put(x->st, c);
	if (rc != 0) {
		*out = auth_error("internal", "the incident cannot be read back");
		return 500;
	}
	*out = cert_incident_json(&inc, &r, time_now_ms(), true);
	cert_incident_clear(&inc);
	return status;
}

/* Shared by the create service and escalated alerts. */
int
cert_incident_create_job(struct auth_ctx *x, const json_t *in, const char *source, json_t *extra,
                         bool route, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INCIDENT_REPORT, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct create_job j = {.who = x->caller, .source = source, .extra = extra, .route = route};
	cert_ctx_rules(x, &j.rules);
	struct store_conn *c = store_reader_get(x->st);
	int st = read_input(c, in, true, &j.ii, out);
	store_reader_put(x->st, c);
	if (st)
		return st;
	j.org_id = j.ii.org_id ? j.ii.org_id : x->caller->org_id;
	struct auth_object obj = {.org_id = j.org_id};
	d = auth_check(x->caller, AUTH_INCIDENT_REPORT, &obj);
	if (d != AUTH_ALLOW)
		return auth_refuse(d == AUTH_NOT_FOUND ? AUTH_FORBIDDEN : d, out);
	if (store_write(x->st, create_write, &j, &j.e) != 0)
		return auth_fail_reply(&j.f, &j.e, "cert", out);
	return reply_incident(x, j.id, 201, out);
}

int
cert_svc_incident_create(struct auth_ctx *x, const json_t *in, json_t **out)
{
	return cert_incident_create_job(x, in, "member", NULL, false, out);
}

/* ---- read ---- */

/* Loads an incident the caller may see: 0, or a status with *out. */
int
cert_incident_get_visible(struct auth_ctx *x, const char *ref, struct cert_incident *inc,
                          json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INCIDENT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	int64_t id = auth_parse_id(ref);
	if (id <= 0) {
		*out = auth_error("not_found", "no such incident");
		return 404;
	}
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	int rc = cert_incident_fetch(c, id, inc, &e);
	store_reader_put(x->st, c);
	if (rc < 0) {
		*out = auth_error("internal", "%s", e.msg);
		return 500;
	}
	if (rc > 0) {
		*out = auth_error("not_found", "no such incident");
		return 404;
	}
	d = cert_check_read(x->caller, inc);
	if (d != AUTH_ALLOW) {
		cert_incident_clear(inc);
		return auth_refuse(d, out);
	}
	return 0;
}

int
cert_svc_incident_get(struct auth_ctx *x, const char *id, json_t **out)
{
	struct cert_incident inc;
	int st = cert_incident_get_visible(x, id, &inc, out);
	if (st)
		return st;
	struct cert_rules r;
	cert_ctx_rules(x, &r);
	*out = cert_incident_json(&inc, &r, time_now_ms(), true);
	cert_incident_clear(&inc);
	return 200;
}

/* ---- edit and delete ---- */

struct edit_job {
	const struct auth_caller *who;
	struct cert_rules rules;
	struct inc_input ii;
	int64_t id;
	bool del;
	struct auth_fail f;
	struct err e;
};

static int
edit_write(struct store_conn *c, void *arg)
{
	struct edit_job *j = arg;
	struct cert_incident inc;
	int rc = cert_incident_fetch(c, j->id, &inc, &j->e);
	if (rc != 0)
		return rc > 0 ? auth_fail_set(&j->f, 404, "not_found", "no such incident") : -1;
	char idtxt[32];
	snprintf(idtxt, sizeof(idtxt), "%lld", (long long)j->id);
	if (j->del) {
		if (inc.state != CERT_DRAFT) {
			cert_incident_clear(&inc);
			return auth_fail_set(&j->f, 409, "conflict",
			                     "only a draft can be deleted; this report is %s",
			                     cert_state_name(inc.state));
		}
		cert_incident_clear(&inc);
		struct store_stmt *s = store_prepare(c, "DELETE FROM cert_incidents WHERE id = ?", &j->e);
		if (s == NULL)
			return -1;
		store_bind_int(s, 1, j->id);
		rc = store_step(s, &j->e);
		store_finalize(s);
		if (rc != STORE_DONE)
			return -1;
		return auth_audit_append(c, j->who, "incident.delete", "incident", idtxt, NULL, &j->e);
	}
	if (inc.state != CERT_DRAFT && inc.state != CERT_RETURNED) {
		enum cert_state was = inc.state;
		cert_incident_clear(&inc);
		return auth_fail_set(&j->f, 409, "conflict",
		                     "a %s report cannot be edited; only drafts and returned reports can",
		                     cert_state_name(was));
	}
	json_t *patch = body_from_input(j->ii.in);
	json_object_update(inc.data, patch);
	json_decref(patch);
	char *dtext = json_dumps(inc.data, JSON_COMPACT);
	struct store_stmt *s = store_prepare(
		c,
		"UPDATE cert_incidents SET title = COALESCE(?, title),"
		" level = CASE WHEN ? > 0 THEN ? ELSE level END,"
		" reported_level = CASE WHEN ? > 0 THEN ? ELSE reported_level END,"
		" class = COALESCE(?, class), type = COALESCE(?, type),"
		" tlp = CASE WHEN ? > 0 THEN ? ELSE tlp END,"
		" occurred_at = CASE WHEN ? THEN ? ELSE occurred_at END,"
		" known_at = CASE WHEN ? THEN ? ELSE known_at END,"
		" contain_start = CASE WHEN ? THEN ? ELSE contain_start END,"
		" data = ?, updated_at = ? WHERE id = ?",
		&j->e);
	if (s == NULL) {
		free(dtext);
		cert_incident_clear(&inc);
		return -1;
	}
	int i = 1;
	store_bind_text(s, i++, j->ii.title);
	store_bind_int(s, i++, j->ii.level);
	store_bind_int(s, i++, j->ii.level);
	store_bind_int(s, i++, j->ii.level);
	store_bind_int(s, i++, j->ii.level);
	store_bind_text(s, i++, j->ii.cls);
	store_bind_text(s, i++, j->ii.type);
	store_bind_int(s, i++, j->ii.tlp);
	store_bind_int(s, i++, j->ii.tlp);
	store_bind_int(s, i++, j->ii.has_occurred);
	if (j->ii.occurred_at)
		store_bind_int(s, i++, j->ii.occurred_at);
	else
		store_bind_null(s, i++);
	store_bind_int(s, i++, j->ii.has_known);
	store_bind_int(s, i++, j->ii.known_at);
	/* Containment counts from awareness unless a change of level restarted it. */
	bool move_contain = j->ii.has_known && inc.contain_start == inc.known_at;
	store_bind_int(s, i++, move_contain);
	store_bind_int(s, i++, j->ii.known_at);
	store_bind_text(s, i++, dtext);
	store_bind_int(s, i++, time_now_ms());
	store_bind_int(s, i++, j->id);
	rc = store_step(s, &j->e);
	store_finalize(s);
	free(dtext);
	cert_incident_clear(&inc);
	if (rc != STORE_DONE)
		return -1;
	if (cert_incident_fetch(c, j->id, &inc, &j->e) != 0)
		return -1;
	rc = cert_incident_store_due(c, &j->rules, &inc, &j->e);
	const char *st = cert_state_name(inc.state);
	cert_incident_clear(&inc);
	if (rc == 0)
		rc = cert_timeline_add(c, j->id, j->who, "edit", st, st, j->ii.in, &j->e);
	if (rc == 0)
		rc = auth_audit_append(c, j->who, "incident.update", "incident", idtxt, j->ii.in, &j->e);
	return rc;
}

static int
edit_or_delete(struct auth_ctx *x, const char *ref, const json_t *in, bool del, json_t **out)
{
	struct cert_incident inc;
	int st = cert_incident_get_visible(x, ref, &inc, out);
	if (st)
		return st;
	struct auth_object obj = {.org_id = inc.org_id};
	struct edit_job j = {.who = x->caller, .id = inc.id, .del = del};
	cert_incident_clear(&inc);
	enum auth_decision d = auth_check(x->caller, AUTH_INCIDENT_REPORT, &obj);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	cert_ctx_rules(x, &j.rules);
	if (!del) {
		struct store_conn *c = store_reader_get(x->st);
		st = read_input(c, in, false, &j.ii, out);
		store_reader_put(x->st, c);
		if (st)
			return st;
	}
	if (store_write(x->st, edit_write, &j, &j.e) != 0)
		return auth_fail_reply(&j.f, &j.e, "cert", out);
	if (del) {
		*out = json_pack("{s:b}", "deleted", 1);
		return 200;
	}
	return reply_incident(x, j.id, 200, out);
}

int
cert_svc_incident_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return edit_or_delete(x, id, in, false, out);
}

int
cert_svc_incident_delete(struct auth_ctx *x, const char *id, json_t **out)
{
	return edit_or_delete(x, id, NULL, true, out);
}

/* ---- lists ---- */

static const char *
qget(const json_t *q, const char *k)
{
	const char *v = json_string_value(json_object_get(q, k));
	return v && v[0] ? v : NULL;
}

/* Builds the WHERE and ORDER of a list query. 0, or 400 with *out. */
static int
build_list(struct auth_ctx *x, struct store_conn *c, const json_t *q, int64_t max_limit,
           struct buf *sql, json_t *binds, json_t **out)
{
	buf_printf(sql, "SELECT %s FROM cert_incidents i JOIN orgs o ON o.id = i.org_id WHERE ",
	           CERT_INCIDENT_COLS);
	cert_sql_visible(x->caller, sql, binds);
	const char *v = qget(q, "state");
	if (v) {
		if (cert_state_parse(v) < 0) {
			*out = auth_error("bad_request", "state must be one of draft, submitted, "
			                                 "under_review, returned, accepted, contained, "
			                                 "recovered, closed");
			return 400;
		}
		buf_puts(sql, " AND i.state = ?");
		json_array_append_new(binds, json_string(v));
	}
	v = qget(q, "org");
	if (v) {
		int64_t org = auth_org_lookup(c, v);
		buf_puts(sql, " AND i.org_id = ?");
		json_array_append_new(binds, json_integer(org ? org : -1));
	}
	v = qget(q, "level");
	if (v) {
		int64_t lv;
		if (parse_int64(v, 1, 4, &lv) != 0) {
			*out = auth_error("bad_request", "level must be 1 to 4");
			return 400;
		}
		buf_puts(sql, " AND i.level = ?");
		json_array_append_new(binds, json_integer(lv));
	}
	v = qget(q, "class");
	if (v) {
		buf_puts(sql, " AND i.class = ?");
		json_array_append_new(binds, json_string(v));
	}
	v = qget(q, "type");
	if (v) {
		buf_puts(sql, " AND i.type = ?");
		json_array_append_new(binds, json_string(v));
	}
	static const char *const range[] = {"since", "until"};
	for (int i = 0; i < 2; i++) {
		v = qget(q, range[i]);
		if (v == NULL)
			continue;
		int64_t ms;
		if (time_parse_rfc3339(v, &ms) != 0) {
			*out = auth_error("bad_request", "%s must be an RFC 3339 time", range[i]);
			return 400;
		}
		buf_puts(sql, i == 0 ? " AND i.known_at >= ?" : " AND i.known_at < ?");
		json_array_append_new(binds, json_integer(ms));
	}
	v = qget(q, "q");
	if (v) {
		if (strlen(v) > 200) {
			*out = auth_error("bad_request", "q is at most 200 characters");
			return 400;
		}
		buf_puts(sql, " AND i.title LIKE ? ESCAPE '\\'");
		struct buf like = {0};
		buf_puts(&like, "%");
		for (const char *p = v; *p; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				buf_puts(&like, "\\");
			buf_append(&like, p, 1);
		}
		buf_puts(&like, "%");
		json_array_append_new(binds, json_string(like.data));
		buf_free(&like);
	}
	bool overdue = false;
	v = qget(q, "overdue");
	if (v && parse_bool(v, &overdue) != 0) {
		*out = auth_error("bad_request", "overdue must be true or false");
		return 400;
	}
	if (overdue) {
		buf_puts(sql, " AND i.next_due_at < ?");
		json_array_append_new(binds, json_integer(time_now_ms()));
		buf_puts(sql, " ORDER BY i.next_due_at, i.id");
	} else {
		buf_puts(sql, " ORDER BY i.id DESC");
	}
	int64_t limit = CERT_LIST_DEFAULT, offset = 0;
	v = qget(q, "limit");
	if (v && parse_int64(v, 1, max_limit, &limit) != 0) {
		*out = auth_error("bad_request", "limit must be 1 to %lld", (long long)max_limit);
		return 400;
	}
	v = qget(q, "offset");
	if (v && parse_int64(v, 0, 100000000, &offset) != 0) {
		*out = auth_error("bad_request", "offset must be a number of rows");
		return 400;
	}
	buf_puts(sql, " LIMIT ? OFFSET ?");
	json_array_append_new(binds, json_integer(limit));
	json_array_append_new(binds, json_integer(offset));
	return 0;
}

int
cert_svc_incident_list(struct auth_ctx *x, const json_t *query, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INCIDENT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct cert_rules r;
	cert_ctx_rules(x, &r);
	struct store_conn *c = store_reader_get(x->st);
	struct buf sql = {0};
	json_t *binds = json_array();
	int st = build_list(x, c, query, CERT_LIST_MAX, &sql, binds, out);
	json_t *list = NULL;
	if (st == 0) {
		struct err e;
		struct store_stmt *s = store_prepare(c, sql.data, &e);
		if (s == NULL) {
			*out = auth_error("internal", "%s", e.msg);
			st = 500;
		} else {
			auth_sql_bind(s, 1, binds);
			list = json_array();
			int64_t now = time_now_ms();
			while (store_step(s, &e) == STORE_ROW) {
				struct cert_incident inc;
				cert_incident_load(s, &inc);
				json_array_append_new(list, cert_incident_json(&inc, &r, now, false));
			}
			store_finalize(s);
		}
	}
	store_reader_put(x->st, c);
	buf_free(&sql);
	json_decref(binds);
	if (st)
		return st;
	*out = json_pack("{s:o,s:I}", "incidents", list, "count", (json_int_t)json_array_size(list));
	return 200;
}

/* One CSV field, RFC 4180 quoted when needed. A leading =, +, - or @ gets a
 * ' so that spreadsheets do not run it as a formula. */
static void
csv_field(struct buf *b, const char *v, bool last)
{
	bool formula = v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@';
	bool quote = formula || strpbrk(v, ",\"\r\n") != NULL;
	if (quote)
		buf_puts(b, "\"");
	if (formula)
		buf_puts(b, "'");
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			buf_puts(b, "\"\"");
		else
			buf_append(b, p, 1);
	}
	if (quote)
		buf_puts(b, "\"");
	buf_puts(b, last ? "\r\n" : ",");
}

static void
csv_time(struct buf *b, int64_t ms)
{
	char t[32] = "";
	if (ms)
		time_format_rfc3339(ms, t, sizeof(t));
	csv_field(b, t, false);
}

int
cert_svc_incident_csv(struct auth_ctx *x, const json_t *query, struct buf *csv, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INCIDENT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct cert_rules r;
	cert_ctx_rules(x, &r);
	json_t *q = json_deep_copy(query ? query : json_object());
	if (!json_is_object(q)) {
		json_decref(q);
		q = json_object();
	}
	if (json_object_get(q, "limit") == NULL) {
		char lim[16];
		snprintf(lim, sizeof(lim), "%d", CERT_CSV_MAX);
		json_object_set_new(q, "limit", json_string(lim));
	}
	struct store_conn *c = store_reader_get(x->st);
	struct buf sql = {0};
	json_t *binds = json_array();
	int st = build_list(x, c, q, CERT_CSV_MAX, &sql, binds, out);
	if (st == 0) {
		struct err e;
		struct store_stmt *s = store_prepare(c, sql.data, &e);
		if (s == NULL) {
			*out = auth_error("internal", "%s", e.msg);
			st = 500;
		} else {
			auth_sql_bind(s, 1, binds);
			buf_puts(csv, "id,ref,org,state,level,reported_level,class,type,title,known_at,"
			              "notified_at,accepted_at,forwarded_at,contained_at,recovered_at,"
			              "closed_at,next_due_at,overdue\r\n");
			int64_t now = time_now_ms();
			while (store_step(s, &e) == STORE_ROW) {
				struct cert_incident inc;
				cert_incident_load(s, &inc);
				char num[32], ref[32];
				snprintf(num, sizeof(num), "%lld", (long long)inc.id);
				csv_field(csv, num, false);
				cert_incident_ref(&inc, ref, sizeof(ref));
				csv_field(csv, ref, false);
				csv_field(csv, inc.org_name, false);
				csv_field(csv, cert_state_name(inc.state), false);
				snprintf(num, sizeof(num), "%d", inc.level);
				csv_field(csv, num, false);
				snprintf(num, sizeof(num), "%d", inc.reported_level);
				csv_field(csv, num, false);
				csv_field(csv, inc.cls, false);
				csv_field(csv, inc.type, false);
				csv_field(csv, inc.title, false);
				csv_time(csv, inc.known_at);
				csv_time(csv, inc.notified_at);
				csv_time(csv, inc.accepted_at);
				csv_time(csv, inc.forwarded_at);
				csv_time(csv, inc.contained_at);
				csv_time(csv, inc.recovered_at);
				csv_time(csv, inc.closed_at);
				csv_time(csv, inc.next_due_at);
				bool overdue = inc.next_due_at && now > inc.next_due_at;
				csv_field(csv, overdue ? "true" : "false", true);
			}
			store_finalize(s);
		}
	}
	store_reader_put(x->st, c);
	buf_free(&sql);
	json_decref(binds);
	json_decref(q);
	return st ? st : 200;
}

int
cert_svc_incident_timeline(struct auth_ctx *x, const char *id, json_t **out)
{
	struct cert_incident inc;
	int st = cert_incident_get_visible(x, id, &inc, out);
	if (st)
		return st;
	int64_t iid = inc.id;
	cert_incident_clear(&inc);
	struct store_conn *c = store_reader_get(x->st);
	struct err e;
	struct store_stmt *s = store_prepare(c,
	                                     "SELECT ts, actor, action, from_state, to_state, detail"
	                                     " FROM cert_timeline WHERE incident_id = ? ORDER BY id",
	                                     &e);
	json_t *list = json_array();
	if (s) {
		store_bind_int(s, 1, iid);
		while (store_step(s, &e) == STORE_ROW) {
			json_t *detail = json_loads(store_col_text(s, 5), 0, NULL);
			json_t *row = json_pack("{s:o,s:s,s:s,s:o,s:o,s:o}", "ts",
			                        auth_time_json(store_col_int(s, 0)), "actor",
			                        store_col_text(s, 1), "action", store_col_text(s, 2), "from",
			                        store_col_null(s, 3) ? json_null()
			                                             : json_string(store_col_text(s, 3)),
			                        "to",
			                        store_col_null(s, 4) ? json_null()
			                                             : json_string(store_col_text(s, 4)),
			                        "detail", detail ? detail : json_object());
			json_array_append_new(list, row);
		}
		store_finalize(s);
	}
	store_reader_put(x->st, c);
	*out = json_pack("{s:I,s:o}", "incident_id", (json_int_t)iid, "timeline", list);
	return 200;
}
