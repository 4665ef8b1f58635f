/*
 * advisory_review.c - submission, review (publish or reject) and withdrawal
 * of advisories: publication delivers a version to its targets and writes
 * its STIX bundle, which is then handed to the STIX object store.
 *
 * The author may never review: publishing or rejecting one's own advisory
 * is refused with 403 whatever the role.
 */
#include "advisory/advisory_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- review, publication, withdrawal ---- */

static void hand_to_sink(struct auth_ctx *x, int64_t id);

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
		rc = adv_audit(c, j, a.id, action, detail);
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
	int st = adv_get_visible(x, id, &a, out);
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
	return adv_reply_row(x, j.id, 200, out);
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
