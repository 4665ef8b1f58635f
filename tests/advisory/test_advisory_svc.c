/* test_advisory_svc.c - the advisory services on a real store: nobody
 * reviews their own advisory, a published one is never edited in place,
 * corrections supersede, replies are made only for one's own organisation
 * and the aggregate counts what is overdue under a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advisory/advisory.h"

struct fx {
	char dir[64];
	struct store *st;
	struct config cfg;
	int64_t root, power, water;
	struct auth_caller local, analyst, reviewer, same_person, power_rep, water_rep;
};

static int64_t
make_org(struct auth_ctx *x, const char *name, const char *sector, const char *kind)
{
	json_t *in = json_pack("{s:s,s:s,s:s}", "name", name, "sector", sector, "kind", kind);
	json_t *out = NULL;
	assert_int_equal(auth_svc_org_create(x, in, &out), 201);
	int64_t id = json_integer_value(json_object_get(out, "id"));
	json_decref(in);
	json_decref(out);
	return id;
}

static void
caller(struct auth_caller *c, int64_t uid, const char *name, enum auth_role role, int64_t org,
       bool staff)
{
	memset(c, 0, sizeof(*c));
	c->user_id = uid;
	c->org_id = org;
	c->role = role;
	c->in_community = true;
	c->node_staff = staff;
	snprintf(c->name, sizeof(c->name), "%s", name);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ciip-test-adv-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	log_open(LOG_LVL_ERROR, false, NULL);
	auth_schema_register();
	advisory_schema_register();
	struct store_opts o = {.data_dir = f->dir, .busy_timeout_ms = 2000, .readers = 2};
	struct err e;
	f->st = store_open(&o, &e);
	assert_non_null(f->st);
	config_defaults(&f->cfg);
	auth_caller_local(&f->local, f->st);
	struct auth_ctx x = {.st = f->st, .cfg = &f->cfg, .caller = &f->local};
	f->root = make_org(&x, "Test ISAC", "energy", "sector");
	f->power = make_org(&x, "Test Power", "energy", "operator");
	f->water = make_org(&x, "Test Water", "water", "operator");
	caller(&f->analyst, 1, "ana", AUTH_ROLE_ANALYST, f->root, true);
	caller(&f->reviewer, 2, "rita", AUTH_ROLE_REVIEWER, f->root, true);
	caller(&f->same_person, 1, "ana", AUTH_ROLE_REVIEWER, f->root, true);
	caller(&f->power_rep, 3, "rob", AUTH_ROLE_REPORTER, f->power, false);
	caller(&f->water_rep, 4, "wes", AUTH_ROLE_REPORTER, f->water, false);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	time_set_fake_ms(0);
	store_close(f->st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct auth_ctx
ctx(struct fx *f, struct auth_caller *c)
{
	struct auth_ctx x = {.st = f->st, .cfg = &f->cfg, .caller = c};
	return x;
}

/* A submitted advisory for all members, due at due; returns its id text. */
static char *
submitted(struct fx *f, const char *due)
{
	struct auth_ctx x = ctx(f, &f->analyst);
	json_t *in = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:b},s:s}", "title", "Test", "summary",
	                       "s", "body", "b", "severity", "high", "intel_type", "ANA", "tlp",
	                       "amber", "targets", "all_members", 1, "reply_due", due);
	json_t *out = NULL;
	assert_int_equal(advisory_svc_create(&x, in, &out), 201);
	char *id = xasprintf("%lld", (long long)json_integer_value(json_object_get(out, "id")));
	json_decref(in);
	json_decref(out);
	assert_int_equal(advisory_svc_move(&x, id, "submit", NULL, &out), 200);
	json_decref(out);
	return id;
}

static void
expect_move(struct fx *f, struct auth_caller *c, const char *id, const char *move, int want)
{
	struct auth_ctx x = ctx(f, c);
	json_t *out = NULL;
	json_t *in = json_pack("{s:s}", "reason", "because");
	assert_int_equal(advisory_svc_move(&x, id, move, in, &out), want);
	json_decref(in);
	json_decref(out);
}

static void
test_author_never_reviews(void **state)
{
	struct fx *f = *state;
	char *id = submitted(f, "2099-01-01T00:00:00Z");
	/* The same person holding the reviewer role is still the author. */
	expect_move(f, &f->same_person, id, "publish", 403);
	expect_move(f, &f->same_person, id, "reject", 403);
	expect_move(f, &f->analyst, id, "publish", 403);
	expect_move(f, &f->reviewer, id, "publish", 200);
	free(id);
}

static size_t sink_objects;

static int
count_sink(struct auth_ctx *x, const json_t *objects, void *arg)
{
	(*(int *)arg)++;
	sink_objects = json_array_size(objects);
	return 0;
}

static void
test_published_is_corrected_not_edited(void **state)
{
	struct fx *f = *state;
	int calls = 0;
	advisory_stix_sink_set(count_sink, &calls);
	char *id = submitted(f, "2099-01-01T00:00:00Z");
	assert_int_equal(calls, 0);
	expect_move(f, &f->reviewer, id, "publish", 200);
	/* The STIX store gets the identity and the report. */
	assert_int_equal(calls, 1);
	assert_int_equal(sink_objects, 2);
	struct auth_ctx x = ctx(f, &f->analyst);
	json_t *in = json_pack("{s:s}", "title", "Changed"), *out = NULL;
	assert_int_equal(advisory_svc_update(&x, id, in, &out), 409);
	json_decref(out);
	assert_int_equal(advisory_svc_correct(&x, id, in, &out), 400); /* no note */
	json_decref(out);
	json_object_set_new(in, "note", json_string("typo in the title"));
	assert_int_equal(advisory_svc_correct(&x, id, in, &out), 201);
	char *v2 = xasprintf("%lld", (long long)json_integer_value(json_object_get(out, "id")));
	assert_int_equal(json_integer_value(json_object_get(out, "version")), 2);
	json_decref(out);
	json_decref(in);
	assert_int_equal(advisory_svc_move(&x, v2, "submit", NULL, &out), 200);
	json_decref(out);
	expect_move(f, &f->reviewer, v2, "publish", 200);
	assert_int_equal(advisory_svc_get(&x, id, &out), 200);
	assert_string_equal(json_string_value(json_object_get(out, "state")), "superseded");
	json_decref(out);
	assert_int_equal(advisory_svc_get(&x, v2, &out), 200);
	assert_string_equal(json_string_value(json_object_get(out, "title")), "Changed");
	json_decref(out);
	assert_int_equal(calls, 2);
	advisory_stix_sink_set(NULL, NULL);
	free(v2);
	free(id);
}

static int
reply(struct fx *f, struct auth_caller *c, const char *id, const char *org, const char *status)
{
	struct auth_ctx x = ctx(f, c);
	json_t *in = json_pack("{s:s,s:s}", "org", org, "status", status), *out = NULL;
	int st = advisory_svc_reply(&x, id, in, &out);
	json_decref(in);
	json_decref(out);
	return st;
}

static void
test_replies_and_overdue(void **state)
{
	struct fx *f = *state;
	int64_t t0 = 0;
	assert_int_equal(time_parse_rfc3339("2026-04-01T00:00:00Z", &t0), 0);
	time_set_fake_ms(t0);
	char *id = submitted(f, "2026-04-02T00:00:00Z");
	expect_move(f, &f->reviewer, id, "publish", 200);
	assert_int_equal(reply(f, &f->power_rep, id, "Test Water", "affected"), 403);
	assert_int_equal(reply(f, &f->analyst, id, "Test Power", "affected"), 403);
	assert_int_equal(reply(f, &f->power_rep, id, "Test Power", "affected"), 201);
	time_set_fake_ms(t0 + 25 * 3600000LL);
	struct auth_ctx x = ctx(f, &f->analyst);
	json_t *out = NULL;
	assert_int_equal(advisory_svc_replies(&x, id, &out), 200);
	json_t *agg = json_object_get(out, "aggregate");
	assert_int_equal(json_integer_value(json_object_get(agg, "targeted")), 2);
	assert_int_equal(json_integer_value(json_object_get(agg, "replied")), 1);
	assert_int_equal(json_integer_value(json_object_get(agg, "overdue")), 1);
	json_t *late = json_array_get(json_object_get(agg, "not_answered"), 0);
	assert_string_equal(json_string_value(json_object_get(late, "org")), "Test Water");
	assert_true(json_is_true(json_object_get(late, "overdue")));
	json_decref(out);
	/* A member sees only its own replies, and no aggregate. */
	x = ctx(f, &f->water_rep);
	assert_int_equal(advisory_svc_replies(&x, id, &out), 200);
	assert_int_equal(json_array_size(json_object_get(out, "replies")), 0);
	assert_null(json_object_get(out, "aggregate"));
	json_decref(out);
	time_set_fake_ms(0);
	free(id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_author_never_reviews, setup, teardown),
		cmocka_unit_test_setup_teardown(test_published_is_corrected_not_edited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replies_and_overdue, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
