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
single_batch_with(size_t np, size_t ne, char *(*gen_pat)(bool),
                  void (*gen_ev)(struct ingest_event *, int64_t), struct tally *t)
{
	struct corpus c;
	corpus_make_with(&c, np, gen_pat, false, t);
	char **pats = c.pats;
	struct stix_pattern **parsed = c.parsed;
	const struct detect_matcher *m = c.m;
	struct ingest_event *evs = xcalloc(ne, sizeof(*evs));
	json_t **objs = xcalloc(ne, sizeof(*objs));
	bool *hit = xcalloc(np * ne, sizeof(*hit));
	struct detect_match_state *st = detect_match_state_new(0, 0);
	struct detect_match_hit *hits = xcalloc(np, sizeof(*hits));
	for (size_t e = 0; e < ne; e++) {
		gen_ev(&evs[e], grid_time());
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
	struct detect_match_state_stats ss;
	detect_match_state_stats(st, &ss);
	t->lazy_quiet += (long)ss.lazy_quiet;
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
single_batch(size_t np, size_t ne, struct tally *t)
{
	single_batch_with(np, ne, gen_pattern, gen_event, t);
}

/* Patterns that only look at addresses, the way feeds of addresses and
 * blocks do; a matcher of only such patterns looks flows up before it
 * extracts them (detect_match.c, lazy events). Some observations also
 * compare a port or protocol, which the address's index hit leaves to the
 * evaluator; a few name only a port or a count, which the lazy lookup
 * probes from the event's numbers. */
static char *
gen_address_pattern(bool stateful)
{
	(void)stateful;
	if (chance(8)) {
		static const char *const nums[] = {
		    "network-traffic:dst_port",         "network-traffic:src_port",
		    "network-traffic:src_byte_count",   "network-traffic:dst_packets"};
		const char *path = PICK(nums);
		bool port = strstr(path, "port") != NULL;
		int64_t a = port ? PICK(ports) : PICK(counts), b = port ? PICK(ports) : PICK(counts);
		if (chance(50))
			return xasprintf("[%s = %lld]", path, (long long)a);
		return xasprintf("[%s IN (%lld, %lld)]", path, (long long)a, (long long)b);
	}
	/* No /0: some addresses must be in no block. */
	static const char *const blocks[] = {"198.51.100.0/24", "198.51.100.128/25", "203.0.113.0/24",
	                                     "10.0.0.0/8",      "198.51.100.7/32",   "2001:db8::1/128",
	                                     "2001:db8:dead:beef::/64"};
	static const char *const paths_a[] = {"ipv4-addr:value", "ipv6-addr:value",
	                                      "network-traffic:src_ref.value",
	                                      "network-traffic:dst_ref.value"};
	struct buf b = {0};
	unsigned nobs = chance(80) ? 1 : 2;
	for (unsigned i = 0; i < nobs; i++) {
		buf_puts(&b, i ? " OR [" : "[");
		const char *path = PICK(paths_a);
		switch (rn(3)) {
		case 0:
			buf_printf(&b, "%s = '%s'", path, chance(70) ? PICK(ip4) : PICK(ip6));
			break;
		case 1:
			buf_printf(&b, "%s ISSUBSET '%s'", path, PICK(blocks));
			break;
		default:
			buf_printf(&b, "%s IN ('%s', '%s')", path, PICK(ip4), PICK(ip6));
			break;
		}
		if (chance(30))
			buf_printf(&b, " AND network-traffic:dst_port = %lld", (long long)PICK(ports));
		else if (chance(20))
			buf_printf(&b, " AND network-traffic:protocols[*] = '%s'", PICK(protos));
		buf_puts(&b, "]");
	}
	return buf_steal(&b);
}

/* Mostly flows (addresses, ports, protocols and counts only), some events
 * that carry more. */
static void
gen_flow_event(struct ingest_event *ev, int64_t ts)
{
	if (chance(20)) {
		gen_event(ev, ts);
		return;
	}
	gen_flow(ev, ts);
	ev->kind = INGEST_EV_FLOW;
	/* Half the addresses are named by no pattern. */
	static const char *const others[] = {"100.64.1.2", "172.16.9.9", "2001:db8:ffff::9"};
	struct ingest_ip *ips[2] = {&ev->src_ip, &ev->dst_ip};
	for (int i = 0; i < 2; i++) {
		const char *o = PICK(others);
		if (chance(50))
			assert_int_equal(ingest_ip_parse(o, strlen(o), ips[i]), 0);
	}
}

static void
test_address_events_agree(void **state)
{
	(void)state;
	struct tally t = {0};
	rng_state = 0x5eed0002;
	for (int b = 0; b < 4; b++)
		single_batch_with(300, 100, gen_address_pattern, gen_flow_event, &t);
	print_message("address events: %ld pairs, %ld matched, %ld quiet before extraction\n",
	              t.pairs, t.matched, t.lazy_quiet);
	assert_int_equal(t.mismatches, 0);
	assert_int_equal(t.batch_diffs, 0);
	assert_int_equal(t.unknown, 0);
	assert_int_equal(t.unsupported, 0);
	assert_true(t.matched * 50 >= t.pairs);
	assert_true(t.lazy_quiet > 0); /* the matcher took the lazy way */
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
	    cmocka_unit_test(test_address_events_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
