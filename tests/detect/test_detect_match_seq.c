/*
 * test_detect_match_seq.c - the compiled matcher against the reference
 * evaluator on random sequences of events (seeded): patterns of one to
 * three observation expressions joined by AND, OR and FOLLOWEDBY under
 * WITHIN, REPEATS and START/STOP, events on a coarse time grid so that they
 * land on window edges, sometimes out of order. For each sequence a fresh
 * state; "some hit during the sequence" is compared with stix_pattern_eval()
 * over all its observations. The generator is test_detect_match_gen.h.
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
sequence_batch(size_t np, size_t nseq, struct tally *t)
{
	struct corpus c;
	corpus_make(&c, np, true, t);
	const struct detect_matcher *m = c.m;
	struct detect_match_hit *hits = xcalloc(np, sizeof(*hits));
	bool *hit = xcalloc(np, sizeof(*hit));
	bool *hitev = xcalloc(np * 6, sizeof(*hitev));
	for (size_t s = 0; s < nseq; s++) {
		size_t n = 1 + rn(6);
		struct ingest_event evs[6];
		struct stix_observation obs[6];
		int64_t ts = grid_time();
		struct detect_match_state *st = detect_match_state_new(0, 0);
		memset(hit, 0, np * sizeof(*hit));
		memset(hitev, 0, np * 6 * sizeof(*hitev));
		for (size_t e = 0; e < n; e++) {
			ts = next_time(ts);
			gen_event(&evs[e], ts);
			obs[e] = (struct stix_observation){.first_observed_ms = ts,
			                                   .last_observed_ms = ts,
			                                   .number_observed = 1,
			                                   .objects = detect_match_event_objects(&evs[e])};
			int k = detect_matcher_match(m, st, &evs[e], hits, (int)np);
			for (int j = 0; j < k; j++) {
				hit[id_index(hits[j].indicator_id)] = true;
				hitev[(size_t)id_index(hits[j].indicator_id) * n + e] = true;
			}
		}
		/* The sequence as one batch (or a few) completes the same
		 * indicators on the same events. */
		t->batch_diffs += batch_differs(m, evs, n, np, hitev, 6);
		for (size_t i = 0; i < np; i++) {
			struct stix_eval_result res;
			int rc = stix_pattern_eval(c.parsed[i], obs, n, &res);
			int want = rc != 0 ? -1 : res.matched;
			stix_eval_result_free(&res);
			t->pairs++;
			t->matched += hit[i];
			t->unknown += want < 0;
			if (want >= 0 && hit[i] != (want == 1) && t->mismatches++ < 10)
				report(c.pats[i], evs, n, hit[i], want);
		}
		for (size_t e = 0; e < n; e++)
			json_decref(obs[e].objects);
		detect_match_state_free(st);
	}
	free(hitev);
	free(hit);
	free(hits);
	corpus_free(&c);
}

/*
 * One state over a long stream of events, matched one by one and then in
 * batches of up to 300 on a second state: the batches must complete the
 * same multi-observation indicators on the same events, and report the
 * events in order.
 */
static void
stream_batch(size_t np, size_t ne, struct tally *t)
{
	struct corpus c;
	corpus_make(&c, np, true, t);
	const struct detect_matcher *m = c.m;
	struct detect_match_hit *hits = xcalloc(np, sizeof(*hits));
	bool *hitev = xcalloc(np * ne, sizeof(*hitev));
	struct ingest_event *evs = xcalloc(ne, sizeof(*evs));
	struct detect_match_state *st = detect_match_state_new(0, 0);
	int64_t ts = grid_time();
	for (size_t e = 0; e < ne; e++) {
		ts = next_time(ts);
		gen_event(&evs[e], ts);
		int k = detect_matcher_match(m, st, &evs[e], hits, (int)np);
		for (int j = 0; j < k; j++) {
			hitev[(size_t)id_index(hits[j].indicator_id) * ne + e] = true;
			t->stream_hits += hits[j].nevents > 1;
		}
	}
	t->batch_diffs += batch_differs(m, evs, ne, np, hitev, 300);
	detect_match_state_free(st);
	free(evs);
	free(hitev);
	free(hits);
	corpus_free(&c);
}

static void
test_sequences_agree(void **state)
{
	struct tally t = {0};
	rng_state = 0x5eed0002;
	for (int b = 0; b < 4; b++)
		sequence_batch(300, 25, &t);
	for (int b = 0; b < 2; b++)
		stream_batch(300, 2000, &t);
	print_message("sequences: %ld pairs, %ld matched, %ld unknown, %ld unsupported\n", t.pairs,
	              t.matched, t.unknown, t.unsupported);
	assert_int_equal(t.mismatches, 0);
	assert_int_equal(t.batch_diffs, 0);
	assert_true(t.stream_hits > 1000);
	assert_int_equal(t.unknown, 0);
	assert_int_equal(t.unsupported, 0);
	assert_true(t.pairs >= 30000);
	assert_true(t.matched * 50 >= t.pairs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sequences_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
