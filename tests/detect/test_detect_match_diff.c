/*
 * test_detect_match_diff.c - the compiled matcher against the reference
 * evaluator on a randomised corpus of single events (seeded, so every run
 * is the same): every (pattern, event) pair compares "the matcher hits this
 * indicator on this event" with stix_pattern_eval() over that one
 * observation, seen through detect_match_event_objects(). Patterns use every
 * operator, NOT, literals of every type, AND/OR inside observations, ORs of
 * observations and the qualifiers that hold for one event. The generator is
 * test_detect_match_gen.h; sequences are test_detect_match_seq.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_detect_match_gen.h"

static void
single_batch(size_t np, size_t ne, struct tally *t)
{
	struct corpus c;
	corpus_make(&c, np, false, t);
	char **pats = c.pats;
	struct stix_pattern **parsed = c.parsed;
	const struct detect_matcher *m = c.m;
	struct ingest_event *evs = xcalloc(ne, sizeof(*evs));
	json_t **objs = xcalloc(ne, sizeof(*objs));
	bool *hit = xcalloc(np * ne, sizeof(*hit));
	struct detect_match_state *st = detect_match_state_new(0, 0);
	struct detect_match_hit *hits = xcalloc(np, sizeof(*hits));
	for (size_t e = 0; e < ne; e++) {
		gen_event(&evs[e], grid_time());
		objs[e] = detect_match_event_objects(&evs[e]);
		int n = detect_matcher_match(m, st, &evs[e], hits, (int)np);
		for (int k = 0; k < n; k++)
			hit[(size_t)id_index(hits[k].indicator_id) * ne + e] = true;
	}
	for (size_t i = 0; i < np; i++) {
		for (size_t e = 0; e < ne; e++) {
			struct stix_observation o = {.first_observed_ms = evs[e].ts_ms,
			                             .last_observed_ms = evs[e].ts_ms,
			                             .number_observed = 1,
			                             .objects = objs[e]};
			struct stix_eval_result res;
			int rc = stix_pattern_eval(parsed[i], &o, 1, &res);
			int want = rc != 0 ? -1 : res.matched;
			stix_eval_result_free(&res);
			bool got = hit[i * ne + e];
			t->pairs++;
			t->matched += got;
			t->unknown += want < 0;
			if (want >= 0 && got != (want == 1) && t->mismatches++ < 10)
				report(pats[i], &evs[e], 1, got, want);
		}
	}
	/* The batch call finds the same hits. */
	t->batch_diffs += batch_differs(m, evs, ne, np, hit, 300);
	for (size_t e = 0; e < ne; e++)
		json_decref(objs[e]);
	free(hits);
	detect_match_state_free(st);
	free(hit);
	free(objs);
	free(evs);
	corpus_free(&c);
}

static void
test_single_events_agree(void **state)
{
	struct tally t = {0};
	rng_state = 0x5eed0001;
	for (int b = 0; b < 5; b++)
		single_batch(500, 40, &t);
	print_message("single events: %ld pairs, %ld matched, %ld unknown, %ld unsupported\n",
	              t.pairs, t.matched, t.unknown, t.unsupported);
	assert_int_equal(t.mismatches, 0);
	assert_int_equal(t.batch_diffs, 0);
	assert_int_equal(t.unknown, 0);
	assert_int_equal(t.unsupported, 0);
	assert_true(t.pairs >= 100000);
	assert_true(t.matched * 50 >= t.pairs); /* at least 2% match: the corpus bites */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_events_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
