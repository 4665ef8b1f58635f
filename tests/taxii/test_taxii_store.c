/* test_taxii_store.c - the intel store on a real database in a temporary
 * directory: versions, markings, ownership, visibility, pagination while
 * objects are added, and deletion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stix/stix.h"
#include "taxii/taxii_int.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

struct fx {
	char dir[64];
	struct store *st;
	struct taxii *t;
	struct config cfg;
	struct taxii_coll c;
	struct auth_caller staff, member, outsider, other_member;
};

static struct auth_caller
caller(int64_t org, enum auth_role role, bool community, bool staff, const char *name)
{
	struct auth_caller c;
	memset(&c, 0, sizeof(c));
	c.org_id = org;
	c.role = role;
	c.in_community = community;
	c.node_staff = staff;
	c.user_id = org * 10;
	snprintf(c.name, sizeof(c.name), "%s", name);
	return c;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ciip-taxii-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	time_set_fake_ms(T0);
	log_open(LOG_LVL_ERROR, false, NULL);
	config_defaults(&f->cfg);
	auth_schema_register();
	taxii_schema_register();
	struct store_opts so = {.data_dir = f->dir, .busy_timeout_ms = 5000, .readers = 2};
	struct err e;
	f->st = store_open(&so, &e);
	assert_non_null(f->st);
	f->t = taxii_new(f->st, &f->cfg);
	f->staff = caller(1, AUTH_ROLE_ANALYST, true, true, "analyst");
	f->member = caller(2, AUTH_ROLE_REPORTER, true, false, "member");
	f->other_member = caller(4, AUTH_ROLE_REPORTER, true, false, "other");
	f->outsider = caller(3, AUTH_ROLE_REPORTER, false, false, "outsider");
	json_t *in = json_pack("{s:s,s:s,s:s,s:{s:[s],s:[s]},s:{s:[s],s:[s]}}", "title", "Test",
	                       "alias", "test", "default_tlp", "amber", "can_read", "roles", "*",
	                       "orgs", "*", "can_write", "roles", "*", "orgs", "*");
	assert_int_equal(taxii_coll_create(f->t, &f->staff, in, &f->c, &e), 0);
	json_decref(in);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	taxii_free(f->t);
	store_close(f->st);
	const char *files[] = {"ciip.db", "ciip.db-wal", "ciip.db-shm"};
	for (size_t i = 0; i < 3; i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	rmdir(f->dir);
	time_set_fake_ms(0);
	log_close();
	free(f);
	return 0;
}

static json_t *
indicator(const char *id, const char *modified, enum stix_tlp tlp)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "indicator",
	                      "spec_version", "2.1", "id", id, "created", "2024-01-01T00:00:00.000Z",
	                      "modified", modified, "pattern", "[ipv4-addr:value = '192.0.2.1']",
	                      "pattern_type", "stix", "valid_from", "2025-01-01T00:00:00Z");
	json_object_set_new(o, "object_marking_refs",
	                    json_pack("[s]", stix_tlp_marking_id(tlp)));
	return o;
}

/* Adds objects (taking the reference) as who; returns the status. */
static json_t *
add(struct fx *f, const struct auth_caller *who, json_t *objects, bool may_lower)
{
	struct taxii_add_opts o = {.caller = who, .action = "test.add", .may_lower = may_lower,
	                           .keep_status = true};
	json_t *status = NULL;
	struct err e;
	err_clear(&e);
	assert_int_equal(taxii_objects_add(f->t, &f->c, objects, &o, &status, &e), 0);
	json_decref(objects);
	return status;
}

static int64_t
count(const json_t *status, const char *key)
{
	return json_integer_value(json_object_get(status, key));
}

/* A page as parsed JSON. */
static json_t *
page(struct fx *f, const struct auth_caller *who, enum taxii_list_kind kind, const char *oid,
     const char *const *kv, size_t n)
{
	struct taxii_query q;
	struct err e;
	taxii_query_init(&q);
	for (size_t i = 0; i + 1 < n; i += 2)
		assert_int_equal(taxii_query_add(&q, TAXII_P_OBJECTS, kv[i], kv[i + 1], &e), 0);
	taxii_query_finish(&q);
	struct taxii_page p;
	assert_int_equal(taxii_list(f->t, who, &f->c, kind, oid, &q, &p, &e), TAXII_LIST_OK);
	json_t *j = json_loadb(p.body.data + p.skip, p.body.len - p.skip, 0, NULL);
	assert_int_equal(p.body.data[p.skip], '{');
	assert_non_null(j);
	buf_free(&p.body);
	taxii_query_free(&q);
	return j;
}

static size_t
objects_in(const json_t *page_json)
{
	return json_array_size(json_object_get(page_json, "objects"));
}

static void
count_one(void *ctx, const char *json, size_t len, int64_t org_id, int tlp)
{
	(void)json;
	(void)len;
	(void)org_id;
	(void)tlp;
	(*(size_t *)ctx)++;
}

#define ID1 "indicator--11111111-1111-4111-8111-111111111111"
#define ID2 "indicator--22222222-2222-4222-8222-222222222222"

static void
new_collection_holds_the_definitions(void **state)
{
	struct fx *f = *state;
	const char *kv[] = {"match[type]", "marking-definition"};
	json_t *p = page(f, &f->outsider, TAXII_LIST_OBJECTS, NULL, kv, 2);
	assert_int_equal(objects_in(p), 5); /* the TLP 2.0 set, CLEAR for all */
	json_decref(p);
	const char *kv2[] = {"match[id]", STIX_INTEL_EXT_ID};
	p = page(f, &f->outsider, TAXII_LIST_OBJECTS, NULL, kv2, 2);
	assert_int_equal(objects_in(p), 1);
	json_decref(p);
}

static void
versions_are_all_kept(void **state)
{
	struct fx *f = *state;
	json_t *s = add(f, &f->member,
	                json_pack("[o,o]", indicator(ID1, "2025-01-01T00:00:00.000Z", STIX_TLP_GREEN),
	                          indicator(ID1, "2025-02-01T00:00:00.000Z", STIX_TLP_GREEN)),
	                false);
	assert_int_equal(count(s, "success_count"), 2);
	json_decref(s);
	/* Resending a version is not an error and stores nothing new. */
	s = add(f, &f->member,
	        json_pack("[o]", indicator(ID1, "2025-02-01T00:00:00Z", STIX_TLP_GREEN)), false);
	assert_int_equal(count(s, "success_count"), 1);
	json_decref(s);
	const char *last[] = {"match[id]", ID1};
	json_t *p = page(f, &f->member, TAXII_LIST_OBJECTS, NULL, last, 2);
	assert_int_equal(objects_in(p), 1);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(p, "objects"), 0), "modified")),
	                    "2025-02-01T00:00:00.000Z");
	json_decref(p);
	const char *first[] = {"match[id]", ID1, "match[version]", "first"};
	p = page(f, &f->member, TAXII_LIST_OBJECTS, NULL, first, 4);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(p, "objects"), 0), "modified")),
	                    "2025-01-01T00:00:00.000Z");
	json_decref(p);
	p = page(f, &f->member, TAXII_LIST_VERSIONS, ID1, NULL, 0);
	assert_int_equal(json_array_size(json_object_get(p, "versions")), 2);
	json_decref(p);
	/* An older version arriving late does not become the latest. */
	s = add(f, &f->member,
	        json_pack("[o]", indicator(ID1, "2024-12-01T00:00:00.000Z", STIX_TLP_GREEN)), false);
	json_decref(s);
	const char *both[] = {"match[id]", ID1, "match[version]", "first,last"};
	p = page(f, &f->member, TAXII_LIST_OBJECTS, NULL, both, 4);
	assert_int_equal(objects_in(p), 2);
	json_t *objs = json_object_get(p, "objects");
	assert_string_equal(json_string_value(json_object_get(json_array_get(objs, 0), "modified")),
	                    "2025-02-01T00:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(objs, 1), "modified")),
	                    "2024-12-01T00:00:00.000Z");
	json_decref(p);
}

static void
marking_is_never_lowered_silently(void **state)
{
	struct fx *f = *state;
	json_decref(add(f, &f->member,
	                json_pack("[o]", indicator(ID1, "2025-01-01T00:00:00.000Z", STIX_TLP_AMBER)),
	                false));
	json_t *s = add(f, &f->member,
	                json_pack("[o]", indicator(ID1, "2025-03-01T00:00:00.000Z", STIX_TLP_GREEN)),
	                false);
	assert_int_equal(count(s, "failure_count"), 1);
	const char *msg = json_string_value(
		json_object_get(json_array_get(json_object_get(s, "failures"), 0), "message"));
	assert_non_null(strstr(msg, ID1));
	assert_non_null(strstr(msg, "object_marking_refs"));
	json_decref(s);
	s = add(f, &f->member,
	        json_pack("[o]", indicator(ID1, "2025-03-01T00:00:00.000Z", STIX_TLP_GREEN)), true);
	assert_int_equal(count(s, "success_count"), 1);
	json_decref(s);
	struct store_conn *c = store_reader_get(f->st);
	int64_t n = 0;
	struct err e;
	assert_int_equal(store_query_int(c,
	                                 "SELECT COUNT(*) FROM audit_log WHERE action ="
	                                 " 'intel.marking.lower' AND object_id = ?",
	                                 &n, &e, "s", ID1),
	                 STORE_ROW);
	store_reader_put(f->st, c);
	assert_int_equal(n, 1);
}

static void
only_the_owner_adds_versions(void **state)
{
	struct fx *f = *state;
	json_decref(add(f, &f->member,
	                json_pack("[o]", indicator(ID2, "2025-01-01T00:00:00.000Z", STIX_TLP_GREEN)),
	                false));
	json_t *s = add(f, &f->other_member,
	                json_pack("[o]", indicator(ID2, "2025-05-01T00:00:00.000Z", STIX_TLP_GREEN)),
	                false);
	assert_int_equal(count(s, "failure_count"), 1);
	json_decref(s);
	s = add(f, &f->staff,
	        json_pack("[o]", indicator(ID2, "2025-05-01T00:00:00.000Z", STIX_TLP_GREEN)), false);
	assert_int_equal(count(s, "success_count"), 1);
	json_decref(s);
}

static void
tlp_decides_who_sees(void **state)
{
	struct fx *f = *state;
	json_t *unmarked = indicator(ID2, "2025-01-01T00:00:00.000Z", STIX_TLP_GREEN);
	json_object_del(unmarked, "object_marking_refs");
	json_decref(add(f, &f->member,
	                json_pack("[o,o]", indicator(ID1, "2025-01-01T00:00:00.000Z", STIX_TLP_RED),
	                          unmarked),
	                false));
	const char *kv[] = {"match[type]", "indicator"};
	json_t *p = page(f, &f->member, TAXII_LIST_OBJECTS, NULL, kv, 2);
	assert_int_equal(objects_in(p), 2);
	json_decref(p);
	/* RED: the owner only, not even the node's staff. */
	p = page(f, &f->staff, TAXII_LIST_OBJECTS, NULL, kv, 2);
	assert_int_equal(objects_in(p), 1);
	json_decref(p);
	/* Unmarked is the collection's AMBER: not outside the community. */
	p = page(f, &f->outsider, TAXII_LIST_OBJECTS, NULL, kv, 2);
	assert_int_equal(objects_in(p), 0);
	json_decref(p);
	struct taxii_query q;
	taxii_query_init(&q);
	taxii_query_finish(&q);
	struct taxii_page pg;
	struct err e;
	assert_int_equal(taxii_list(f->t, &f->staff, &f->c, TAXII_LIST_OBJECT, ID1, &q, &pg, &e),
	                 TAXII_LIST_NOT_FOUND);
	taxii_query_free(&q);
}

static void
invalid_objects_are_named(void **state)
{
	struct fx *f = *state;
	json_t *bad = indicator(ID1, "2023-01-01T00:00:00.000Z", STIX_TLP_GREEN);
	json_t *s = add(f, &f->member, json_pack("[o]", bad), false);
	assert_int_equal(count(s, "failure_count"), 1);
	const char *msg = json_string_value(
		json_object_get(json_array_get(json_object_get(s, "failures"), 0), "message"));
	assert_non_null(strstr(msg, ID1));
	assert_non_null(strstr(msg, "modified"));
	json_decref(s);
}

static void
pages_neither_skip_nor_repeat_while_adding(void **state)
{
	struct fx *f = *state;
	json_t *batch = json_array();
	char id[STIX_ID_MAX];
	for (int i = 0; i < 250; i++) {
		stix_id_new("indicator", id, sizeof(id));
		json_array_append_new(batch, indicator(id, "2025-01-01T00:00:00.000Z", STIX_TLP_GREEN));
	}
	json_decref(add(f, &f->member, batch, false));
	json_t *seen = json_object();
	char next[TAXII_NEXT_MAX + 1] = "";
	size_t pages = 0;
	bool more = true;
	while (more) {
		const char *kv[] = {"match[type]", "indicator", "limit", "100", "next", next};
		json_t *p = page(f, &f->member, TAXII_LIST_OBJECTS, NULL, kv, next[0] ? 6 : 4);
		size_t i;
		json_t *o;
		json_array_foreach (json_object_get(p, "objects"), i, o) {
			const char *oid = json_string_value(json_object_get(o, "id"));
			assert_null(json_object_get(seen, oid));
			json_object_set_new(seen, oid, json_true());
		}
		more = json_is_true(json_object_get(p, "more"));
		snprintf(next, sizeof(next), "%s",
		         more ? json_string_value(json_object_get(p, "next")) : "");
		json_decref(p);
		/* Objects added between pages are found at the end. */
		batch = json_array();
		for (int k = 0; pages < 2 && k < 10; k++) {
			stix_id_new("indicator", id, sizeof(id));
			json_array_append_new(batch,
			                      indicator(id, "2025-01-01T00:00:00.000Z", STIX_TLP_GREEN));
		}
		json_decref(add(f, &f->member, batch, false));
		pages++;
	}
	assert_int_equal(json_object_size(seen), 270);
	json_decref(seen);
}

static void
delete_removes_chosen_versions(void **state)
{
	struct fx *f = *state;
	json_decref(add(f, &f->member,
	                json_pack("[o,o]", indicator(ID1, "2025-01-01T00:00:00.000Z", STIX_TLP_GREEN),
	                          indicator(ID1, "2025-02-01T00:00:00.000Z", STIX_TLP_GREEN)),
	                false));
	struct taxii_query q;
	struct err e;
	taxii_query_init(&q);
	assert_int_equal(taxii_query_add(&q, TAXII_P_DELETE, "match[version]", "last", &e), 0);
	taxii_query_finish(&q);
	assert_int_equal(taxii_object_delete(f->t, &f->c, &f->other_member, ID1, &q, &e), 403);
	assert_int_equal(taxii_object_delete(f->t, &f->c, &f->member, ID1, &q, &e), 200);
	taxii_query_free(&q);
	/* The version left is now both first and last. */
	const char *kv[] = {"match[id]", ID1};
	json_t *p = page(f, &f->member, TAXII_LIST_OBJECTS, NULL, kv, 2);
	assert_int_equal(objects_in(p), 1);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(p, "objects"), 0), "modified")),
	                    "2025-01-01T00:00:00.000Z");
	json_decref(p);
	taxii_query_init(&q);
	taxii_query_finish(&q);
	assert_int_equal(taxii_object_delete(f->t, &f->c, &f->member, ID1, &q, &e), 200);
	assert_int_equal(taxii_object_delete(f->t, &f->c, &f->member, ID1, &q, &e), 404);
	taxii_query_free(&q);
}


static void
indicator_count_follows_adds_and_deletes(void **state)
{
	struct fx *f = *state;
	assert_int_equal(taxii_indicators_count(f->st), 0);
	json_decref(add(f, &f->member,
	                json_pack("[o,o,o]", indicator(ID1, "2025-01-01T00:00:00.000Z", STIX_TLP_GREEN),
	                          indicator(ID1, "2025-02-01T00:00:00.000Z", STIX_TLP_GREEN),
	                          indicator(ID2, "2025-01-01T00:00:00.000Z", STIX_TLP_GREEN)),
	                false));
	assert_int_equal(taxii_indicators_count(f->st), 2);
	struct taxii_query q;
	struct err e;
	taxii_query_init(&q);
	taxii_query_finish(&q); /* the latest version only: ID1 keeps one */
	assert_int_equal(taxii_object_delete(f->t, &f->c, &f->member, ID1, &q, &e), 200);
	assert_int_equal(taxii_indicators_count(f->st), 2);
	q.versions = TAXII_V_ALL;
	assert_int_equal(taxii_object_delete(f->t, &f->c, &f->member, ID1, &q, &e), 200);
	assert_int_equal(taxii_indicators_count(f->st), 1);
	taxii_query_free(&q);
	int64_t last = 0;
	size_t seen = 0;
	assert_int_equal(taxii_indicators_each(f->st, 0, count_one, &seen, &last, &e), 0);
	assert_int_equal(seen, 1);
	assert_true(last > 0);
	seen = 0;
	assert_int_equal(taxii_indicators_each(f->st, last, count_one, &seen, &last, &e), 0);
	assert_int_equal(seen, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(new_collection_holds_the_definitions, setup, teardown),
		cmocka_unit_test_setup_teardown(versions_are_all_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(marking_is_never_lowered_silently, setup, teardown),
		cmocka_unit_test_setup_teardown(only_the_owner_adds_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(tlp_decides_who_sees, setup, teardown),
		cmocka_unit_test_setup_teardown(invalid_objects_are_named, setup, teardown),
		cmocka_unit_test_setup_teardown(pages_neither_skip_nor_repeat_while_adding, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(delete_removes_chosen_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(indicator_count_follows_adds_and_deletes, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
