/* test_cert_svc.c - the incident services on a real store: a report's walk
 * through review, refusals that change nothing, routing to the ISP and to
 * the national outbox, and overdue lists under a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert/cert.h"

struct fx {
	char dir[64];
	struct store *st;
	struct config cfg;
	int64_t member, isp;
	struct auth_caller local, reporter, reviewer, analyst, isp_reporter;
};

static int64_t
make_org(struct auth_ctx *x, const char *name, const char *kind, const char *prefix)
{
	json_t *in = json_pack("{s:s,s:s,s:s,s:[s]}", "name", name, "sector", "energy", "kind", kind,
	                       "prefixes", prefix);
	json_t *out = NULL;
	assert_int_equal(auth_svc_org_create(x, in, &out), 201);
	int64_t id = json_integer_value(json_object_get(out, "id"));
	json_decref(in);
	json_decref(out);
	return id;
}

static void
caller(struct auth_caller *c, const char *name, enum auth_role role, int64_t org, bool staff)
{
	memset(c, 0, sizeof(*c));
	c->user_id = 100 + role;
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/ciip-test-cert-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	log_open(LOG_LVL_ERROR, false, NULL);
	auth_schema_register();
	cert_schema_register();
	struct store_opts o = {.data_dir = f->dir, .busy_timeout_ms = 2000, .readers = 2};
	struct err e;
	f->st = store_open(&o, &e);
	assert_non_null(f->st);
	config_defaults(&f->cfg);
	auth_caller_local(&f->local, f->st);
	struct auth_ctx x = {.st = f->st, .cfg = &f->cfg, .caller = &f->local};
	int64_t root = make_org(&x, "Test ISAC", "sector", "192.0.2.0/26");
	f->member = make_org(&x, "Test Power", "operator", "198.51.100.0/26");
	f->isp = make_org(&x, "Test ISP", "isp", "203.0.113.0/25");
	caller(&f->reporter, "rob", AUTH_ROLE_REPORTER, f->member, false);
	caller(&f->reviewer, "rita", AUTH_ROLE_REVIEWER, root, true);
	caller(&f->analyst, "ana", AUTH_ROLE_ANALYST, root, true);
	caller(&f->isp_reporter, "iris", AUTH_ROLE_REPORTER, f->isp, false);
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

static json_t *
report(const char *known_at, int level, const char *attacker)
{
	return json_pack("{s:s,s:s,s:i,s:{s:s,s:s},s:{s:s,s:s},s:[s],s:s,s:{s:i,s:i,s:i},"
	                 "s:[{s:s,s:s,s:s}]}",
	                 "title", "Test intrusion", "known_at", known_at, "level", level,
	                 "classification", "class", "intrusions", "type", "system-compromise",
	                 "contact", "name", "Rob", "email", "rob@example.org", "affected_systems",
	                 "historian", "description", "details", "impact", "confidentiality", 1,
	                 "integrity", 1, "availability", 0, "indicators", "type", "ipv4-addr",
	                 "value", attacker, "role", "attacker");
}

/* Runs a service and checks its status; returns the output (free it). */
static json_t *
call_move(struct fx *f, struct auth_caller *who, const char *id, const char *move, json_t *in,
          int want)
{
	struct auth_ctx x = {.st = f->st, .cfg = &f->cfg, .caller = who};
	json_t *out = NULL;
	assert_int_equal(cert_svc_incident_move(&x, id, move, in, &out), want);
	json_decref(in);
	return out;
}

static char *
create(struct fx *f, const char *known_at, int level, const char *attacker)
{
	struct auth_ctx x = {.st = f->st, .cfg = &f->cfg, .caller = &f->reporter};
	json_t *in = report(known_at, level, attacker);
	json_t *out = NULL;
	assert_int_equal(cert_svc_incident_create(&x, in, &out), 201);
	char *id = xasprintf("%lld", (long long)json_integer_value(json_object_get(out, "id")));
	json_decref(in);
	json_decref(out);
	return id;
}

static const char *
state_of(json_t *inc)
{
	return json_string_value(json_object_get(inc, "state"));
}

static void
test_walk_and_refusals(void **state)
{
	struct fx *f = *state;
	char *id = create(f, "2026-01-05T08:00:00Z", 2, "198.18.0.1");
	json_t *o = call_move(f, &f->reporter, id, "submit", NULL, 200);
	assert_string_equal(state_of(o), "submitted");
	json_decref(o);
	json_decref(call_move(f, &f->reporter, id, "accept", NULL, 403));
	json_decref(call_move(f, &f->analyst, id, "accept", NULL, 403));
	json_decref(call_move(f, &f->isp_reporter, id, "review", NULL, 404));
	json_decref(call_move(f, &f->reviewer, id, "accept", NULL, 409));
	json_decref(call_move(f, &f->reviewer, id, "return", NULL, 400));
	json_decref(call_move(f, &f->reviewer, id, "review", NULL, 200));
	json_decref(call_move(f, &f->reviewer, id, "accept", NULL, 200));
	json_decref(call_move(f, &f->analyst, id, "recover", NULL, 200));
	json_decref(call_move(f, &f->reporter, id, "close",
	                      json_pack("{s:s}", "investigation_report", "done"), 403));
	json_decref(call_move(f, &f->analyst, id, "close", NULL, 422));
	o = call_move(f, &f->analyst, id, "close", json_pack("{s:s}", "investigation_report", "done"),
	              200);
	assert_string_equal(state_of(o), "closed");
	json_decref(o);
	/* The timeline holds exactly the moves that happened. */
	struct auth_ctx x = {.st = f->st, .cfg = &f->cfg, .caller = &f->reporter};
	json_t *tl = NULL;
	assert_int_equal(cert_svc_incident_timeline(&x, id, &tl), 200);
	/* Routing is recorded inside the acceptance, before it. */
	static const char *const want[] = {"create", "submit", "review", "route",
	                                   "accept", "recover", "close"};
	json_t *rows = json_object_get(tl, "timeline");
	assert_int_equal(json_array_size(rows), CIIP_ARRAY_LEN(want));
	for (size_t k = 0; k < CIIP_ARRAY_LEN(want); k++)
		assert_string_equal(
			json_string_value(json_object_get(json_array_get(rows, k), "action")), want[k]);
	json_decref(tl);
	free(id);
}

static size_t
count_kind(json_t *list, const char *key, const char *kind)
{
	size_t n = 0, i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		n += strcmp(json_string_value(json_object_get(v, key)), kind) == 0;
	}
	return n;
}

static void
test_routing(void **state)
{
	struct fx *f = *state;
	char *isp_id = create(f, "2026-01-05T08:00:00Z", 1, "203.0.113.9");
	char *far_id = create(f, "2026-01-05T08:00:00Z", 1, "8.8.4.4");
	const char *ids[] = {isp_id, far_id};
	for (int k = 0; k < 2; k++) {
		json_decref(call_move(f, &f->reporter, ids[k], "submit", NULL, 200));
		json_decref(call_move(f, &f->reviewer, ids[k], "review", NULL, 200));
		json_decref(call_move(f, &f->reviewer, ids[k], "accept", NULL, 200));
	}
	struct auth_ctx x = {.st = f->st, .cfg = &f->cfg, .caller = &f->isp_reporter};
	json_t *q = json_object(), *out = NULL;
	assert_int_equal(cert_svc_notification_list(&x, q, &out), 200);
	json_t *notes = json_object_get(out, "notifications");
	assert_int_equal(count_kind(notes, "kind", "abuse"), 1);
	json_t *addrs = json_object_get(json_object_get(json_array_get(notes, 0), "payload"),
	                                "addresses");
	assert_string_equal(json_string_value(json_array_get(addrs, 0)), "203.0.113.9");
	json_decref(out);
	x.caller = &f->analyst;
	assert_int_equal(cert_svc_outbox_list(&x, q, &out), 200);
	assert_int_equal(count_kind(json_object_get(out, "outbox"), "purpose", "foreign-source"), 1);
	json_decref(out);
	x.caller = &f->reporter;
	assert_int_equal(cert_svc_outbox_list(&x, q, &out), 403);
	json_decref(out);
	json_decref(q);
	free(isp_id);
	free(far_id);
}

static void
test_overdue_list_follows_the_clock(void **state)
{
	struct fx *f = *state;
	int64_t t0 = 0;
	assert_int_equal(time_parse_rfc3339("2026-03-02T00:00:00Z", &t0), 0);
	time_set_fake_ms(t0);
	char *l3 = create(f, "2026-03-02T00:00:00Z", 3, "198.18.0.2");
	char *l1 = create(f, "2026-03-02T00:00:00Z", 1, "198.18.0.3");
	json_decref(call_move(f, &f->reporter, l3, "submit", NULL, 200));
	json_decref(call_move(f, &f->reporter, l1, "submit", NULL, 200));
	time_set_fake_ms(t0 + (7 * 60 + 59) * 60000LL);
	json_decref(call_move(f, &f->reviewer, l1, "review", NULL, 200));
	json_decref(call_move(f, &f->reviewer, l1, "accept", NULL, 200));
	json_decref(call_move(f, &f->reviewer, l1, "forward", NULL, 200));
	struct auth_ctx x = {.st = f->st, .cfg = &f->cfg, .caller = &f->reviewer};
	json_t *q = json_pack("{s:s}", "overdue", "true"), *out = NULL;
	assert_int_equal(cert_svc_incident_list(&x, q, &out), 200);
	json_t *list = json_object_get(out, "incidents");
	assert_int_equal(json_array_size(list), 1);
	char got[32];
	snprintf(got, sizeof(got), "%lld",
	         (long long)json_integer_value(json_object_get(json_array_get(list, 0), "id")));
	assert_string_equal(got, l3);
	json_decref(out);
	/* The level-3 report's review was due at 2 h; before then nothing is. */
	time_set_fake_ms(t0 + 2 * 3600000LL);
	assert_int_equal(cert_svc_incident_list(&x, q, &out), 200);
	assert_int_equal(json_array_size(json_object_get(out, "incidents")), 0);
	json_decref(out);
	json_decref(q);
	time_set_fake_ms(0);
	free(l3);
	free(l1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk_and_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overdue_list_follows_the_clock, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
