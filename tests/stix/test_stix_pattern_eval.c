/*
 * test_stix_pattern_eval.c - the reference evaluator: the match/no-match
 * table of tests/data/stix_patterns/eval_cases.json (cases of
 * cti-pattern-matcher and the specification's examples), the observations
 * bound to a match, number_observed, and the caps that keep hostile input
 * from exploding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

#define EVAL_CASES CIIP_TEST_DATA "/stix_patterns/eval_cases.json"

static int64_t
ts(const char *s)
{
	int64_t ms = 0;
	assert_int_equal(time_parse_rfc3339(s, &ms), 0);
	return ms;
}

/* Fills obs[] from a JSON array of observed-data; objects are borrowed. */
static struct stix_observation *
observations_from_json(json_t *arr, size_t *n)
{
	*n = json_array_size(arr);
	struct stix_observation *obs = xcalloc(*n + 1, sizeof(*obs));
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		obs[i].first_observed_ms = ts(json_string_value(json_object_get(o, "first_observed")));
		obs[i].last_observed_ms = ts(json_string_value(json_object_get(o, "last_observed")));
		obs[i].number_observed = json_integer_value(json_object_get(o, "number_observed"));
		obs[i].objects = json_object_get(o, "objects");
	}
	return obs;
}

static struct stix_pattern *
parse_ok(const char *text)
{
	struct err e;
	err_clear(&e);
	struct stix_pattern *p = stix_pattern_parse(text, strlen(text), &e);
	assert_string_equal(e.msg, "");
	assert_non_null(p);
	return p;
}

/* Evaluates text and checks the answer; returns nothing to keep tests
 * straight-line. */
static void
assert_eval(const char *text, const struct stix_observation *obs, size_t n, bool want)
{
	struct stix_pattern *p = parse_ok(text);
	struct stix_eval_result res;
	int rc = stix_pattern_eval(p, obs, n, &res);
	assert_string_equal(res.error, "");
	assert_int_equal(rc, 0);
	assert_int_equal(res.matched, want);
	assert_int_equal(res.nbound > 0, want);
	stix_eval_result_free(&res);
	stix_pattern_free(p);
}

static void
assert_eval_fails(const char *text, const struct stix_observation *obs, size_t n,
                  const char *error)
{
	struct stix_pattern *p = parse_ok(text);
	struct stix_eval_result res;
	assert_int_equal(stix_pattern_eval(p, obs, n, &res), -1);
	assert_string_equal(res.error, error);
	assert_false(res.matched);
	assert_null(res.bound);
	stix_eval_result_free(&res);
	stix_pattern_free(p);
}

static void
assert_bound(const char *text, const struct stix_observation *obs, size_t n, const size_t *want,
             size_t nwant)
{
	struct stix_pattern *p = parse_ok(text);
	struct stix_eval_result res;
	assert_int_equal(stix_pattern_eval(p, obs, n, &res), 0);
	assert_true(res.matched);
	assert_int_equal(res.nbound, nwant);
	assert_memory_equal(res.bound, want, nwant * sizeof(*want));
	stix_eval_result_free(&res);
	stix_pattern_free(p);
}

/* ---- the table ------------------------------------------------------------- */

static void
run_cases(json_t *list, const struct stix_observation *obs, size_t n, bool want)
{
	size_t i;
	json_t *pat;
	json_array_foreach(list, i, pat) {
		print_message("%s %s\n", want ? "match" : "nomatch", json_string_value(pat));
		assert_eval(json_string_value(pat), obs, n, want);
	}
}

static void
test_table(void **state)
{
	json_error_t jerr;
	json_t *groups = json_load_file(EVAL_CASES, 0, &jerr);
	assert_non_null(groups);
	size_t gi, total = 0;
	json_t *g;
	json_array_foreach(groups, gi, g) {
		print_message("group: %s\n", json_string_value(json_object_get(g, "name")));
		size_t n = 0;
		struct stix_observation *obs =
		    observations_from_json(json_object_get(g, "observations"), &n);
		run_cases(json_object_get(g, "match"), obs, n, true);
		run_cases(json_object_get(g, "nomatch"), obs, n, false);
		total += json_array_size(json_object_get(g, "match")) +
		         json_array_size(json_object_get(g, "nomatch"));
		free(obs);
	}
	assert_int_equal(total, 192);
	json_decref(groups);
}

/* ---- what a match reports --------------------------------------------------- */

static json_t *
person(const char *name, int age)
{
	return json_pack("{s:{s:s, s:s, s:i}}", "0", "type", "person", "name", name, "age", age);
}

struct people {
	json_t *objs[3];
	struct stix_observation obs[3];
};

static void
people_init(struct people *pp)
{
	static const char *const names[] = {"alice", "bob", "carol"};
	static const int ages[] = {10, 17, 22};
	static const char *const times[] = {"2004-10-11T21:44:58Z", "2008-05-09T01:21:58.6Z",
	                                    "2006-11-03T07:42:18.96Z"};
	for (size_t i = 0; i < 3; i++) {
		pp->objs[i] = person(names[i], ages[i]);
		pp->obs[i] = (struct stix_observation){
		    .first_observed_ms = ts(times[i]),
		    .last_observed_ms = ts(times[i]),
		    .number_observed = 1,
		    .objects = pp->objs[i],
		};
	}
}

static void
people_free(struct people *pp)
{
	for (size_t i = 0; i < 3; i++)
		json_decref(pp->objs[i]);
}

static void
test_bound_observations(void **state)
{
	struct people pp;
	people_init(&pp);
	assert_bound("[person:name = 'carol']", pp.obs, 3, (size_t[]){2}, 1);
	assert_bound("[person:name = 'alice'] AND [person:age > 20]", pp.obs, 3, (size_t[]){0, 2}, 2);
	/* Leaves list observations in order: bob (1) pairs with alice first. */
	assert_bound("[person:name = 'alice'] FOLLOWEDBY [person:name > 'bill']", pp.obs, 3,
	             (size_t[]){0, 1}, 2);
	assert_bound("[person:name = 'zelda'] OR [person:age = 17]", pp.obs, 3, (size_t[]){1}, 1);
	assert_bound("[person:age > 0] REPEATS 3 TIMES", pp.obs, 3, (size_t[]){0, 1, 2}, 3);
	people_free(&pp);
}

/* An observation seen k times counts as k observations. */
static void
test_number_observed(void **state)
{
	json_t *objs = json_pack("[{s:s, s:s, s:s}]", "type", "file", "id",
	                         "file--5e2ca1b6-3f4b-5f46-8c2e-d5b1f1b1f0f3", "name", "a.exe");
	struct stix_observation obs = {
	    .first_observed_ms = 1000,
	    .last_observed_ms = 2000,
	    .number_observed = 3,
	    .objects = objs,
	};
	assert_eval("[file:name = 'a.exe'] REPEATS 3 TIMES", &obs, 1, true);
	assert_eval("[file:name = 'a.exe'] REPEATS 4 TIMES", &obs, 1, false);
	assert_eval("[file:name = 'a.exe'] AND [file:name = 'a.exe'] AND [file:name = 'a.exe']", &obs,
	            1, true);
	assert_eval("[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'a.exe']", &obs, 1, true);
	assert_bound("[file:name = 'a.exe'] REPEATS 2 TIMES", &obs, 1, (size_t[]){0}, 1);
	/* Huge counts are fine: only the binding size matters. */
	obs.number_observed = INT64_MAX;
	assert_eval("[file:name = 'a.exe'] REPEATS 1000 TIMES", &obs, 1, true);
	obs.number_observed = 1;
	assert_eval("[file:name = 'a.exe'] AND [file:name = 'a.exe']", &obs, 1, false);
	json_decref(objs);
}

/* Objects that are not objects, and observations without any, are skipped. */
static void
test_odd_objects(void **state)
{
	json_t *objs = json_pack("{s:i, s:[], s:{s:i}, s:{s:s, s:o}}", "0", 1, "1", "2", "type", 3, "3",
	                         "type", "x", "v", json_null());
	struct stix_observation obs[2] = {
	    {.number_observed = 1, .objects = objs},
	    {.number_observed = 1, .objects = NULL},
	};
	assert_eval("[x:v = 1]", obs, 2, false);
	assert_eval("[x:v != 1]", obs, 2, true);
	assert_eval("[EXISTS x:v]", obs, 2, true);
	assert_eval("[x:v.w = 1]", obs, 2, false);
	assert_eval("[x:v = 1]", obs, 0, false);
	json_decref(objs);
}

/* ---- failures and caps ---------------------------------------------------- */

static void
test_eval_errors(void **state)
{
	struct people pp;
	people_init(&pp);
	assert_eval_fails("[person:name MATCHES '(a)\\\\1']", pp.obs, 3,
	                  "MATCHES regex at column 2 is not supported by Hyperscan: "
	                  "Back-references are unsupported.");
	pp.obs[1].number_observed = 0;
	assert_eval_fails("[person:name = 'x']", pp.obs, 3,
	                  "observation 1: number_observed must be at least 1");
	pp.obs[1].number_observed = 1;
	pp.obs[2].last_observed_ms = pp.obs[2].first_observed_ms - 1;
	assert_eval_fails("[person:name = 'x']", pp.obs, 3,
	                  "observation 2: first_observed is after last_observed");
	assert_eval_fails("[person:name = 'x']", pp.obs, STIX_EVAL_MAX_OBSERVATIONS + 1,
	                  "more than 100000 observations");
	people_free(&pp);
}

static json_t *
many_objects(size_t n)
{
	json_t *objs = json_object();
	for (size_t i = 0; i < n; i++) {
		char key[32];
		snprintf(key, sizeof(key), "%zu", i);
		json_object_set_new(objs, key, json_pack("{s:s, s:i}", "type", "x", "y", 1));
	}
	return objs;
}

/* 64 observations that all match: pairs and triples of them outgrow the
 * binding cap, and without a match the answer is "unknown", not "no". */
static void
test_cap_bindings(void **state)
{
	enum { N = 64 };
	json_t *one = many_objects(1);
	struct stix_observation obs[N];
	for (size_t i = 0; i < N; i++)
		obs[i] = (struct stix_observation){.first_observed_ms = (int64_t)i * 1000,
		                                   .last_observed_ms = (int64_t)i * 1000,
		                                   .number_observed = 1,
		                                   .objects = one};
	assert_eval_fails("[x:y = 1] AND [x:y = 1] AND [x:y = 1] AND [x:z = 1]", obs, N,
	                  "more than 4096 candidate bindings: no match found within the cap");
	/* The same explosion with a match in it is answered. */
	assert_eval("[x:y = 1] AND [x:y = 1] AND [x:y = 1] AND [x:y = 1]", obs, N, true);
	assert_eval("[x:y = 1] REPEATS 60 TIMES", obs, N, true);
	assert_eval_fails("[x:y = 1] REPEATS 10 TIMES WITHIN 1 SECONDS", obs, N,
	                  "more than 4096 candidate bindings: no match found within the cap");
	assert_eval_fails("[x:y = 1] REPEATS 1025 TIMES", obs, N,
	                  "REPEATS 1025 TIMES needs more than 1024 observations in one binding");
	assert_eval("[x:y = 1] REPEATS 65 TIMES", obs, N, false);
	json_decref(one);
}

/* A reference cycle walked by [*] doubles at every step: the step budget
 * stops it. */
static void
test_cap_steps(void **state)
{
	json_t *objs = json_pack("{s:{s:s, s:[s, s]}}", "0", "type", "x", "self_refs", "0", "0");
	struct stix_observation obs = {.number_observed = 1, .objects = objs};
	struct buf b = {0};
	buf_puts(&b, "[x:self_refs");
	for (int i = 0; i < 40; i++)
		buf_puts(&b, "[*].self_refs");
	buf_puts(&b, "[*].none = 1]");
	assert_eval_fails(b.data, &obs, 1, "evaluation needed more than 4000000 steps");
	buf_free(&b);
	/* Many % against a long value still finish quickly. */
	json_t *big = json_pack("{s:{s:s, s:s%}}", "0", "type", "x", "v",
	                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", (size_t)64);
	obs.objects = big;
	assert_eval("[x:v LIKE '%a%a%a%a%b']", &obs, 1, false);
	assert_eval("[x:v LIKE '%a%a%a%a%']", &obs, 1, true);
	json_decref(big);
	json_decref(objs);
}

static void
test_result_free_is_idempotent(void **state)
{
	struct stix_eval_result res;
	memset(&res, 0, sizeof(res));
	stix_eval_result_free(&res);
	stix_eval_result_free(&res);
	stix_eval_result_free(NULL);
	assert_null(res.bound);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_bound_observations),
	    cmocka_unit_test(test_number_observed),
	    cmocka_unit_test(test_odd_objects),
	    cmocka_unit_test(test_eval_errors),
	    cmocka_unit_test(test_cap_bindings),
	    cmocka_unit_test(test_cap_steps),
	    cmocka_unit_test(test_result_free_is_idempotent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
