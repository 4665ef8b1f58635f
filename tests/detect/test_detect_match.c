/*
 * test_detect_match.c - the compiled indicator matcher: the case table of
 * tests/data/detect_match/cases.txt (every operator, literal type and
 * qualifier, from the specification's examples; each case also run through
 * the reference evaluator), what is indexed and what is scanned, activity
 * windows, hits, updates and swaps under concurrent lookups, and the bounds
 * of multi-observation state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_detect_match_util.h"

#define CASES CIIP_TEST_DATA "/detect_match/cases.txt"
#define SPEC_EXAMPLES CIIP_TEST_DATA "/stix_patterns/spec_examples.txt"

static int
teardown(void **state)
{
	tm_strings_free();
	return 0;
}

/* Feeds the events to a fresh state; true if any of them hit. */
static bool
matcher_says(const struct detect_matcher *m, const struct ingest_event *evs, size_t n)
{
	struct detect_match_state *st = detect_match_state_new(0, 0);
	struct detect_match_hit hits[8];
	bool hit = false;
	for (size_t i = 0; i < n; i++)
		hit = detect_matcher_match(m, st, &evs[i], hits, 8) > 0 || hit;
	detect_match_state_free(st);
	return hit;
}

/* Runs one line of the table; returns the number of disagreements. */
static int
run_case(char *line, int lineno)
{
	char *tab1 = strchr(line, '\t');
	char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
	if (tab2 == NULL) {
		print_message("line %d: malformed\n", lineno);
		return 1;
	}
	*tab1 = *tab2 = '\0';
	const char *expect = line, *pattern = tab2 + 1;
	bool want = strncmp(expect, "match", 5) == 0;
	bool differs = expect[strlen(expect) - 1] == '!';
	struct ingest_event *evs = xcalloc(16, sizeof(*evs));
	size_t n = 0;
	char *spec = tab1 + 1;
	while (spec != NULL && n < 16) {
		char *semi = strstr(spec, " ; ");
		if (semi != NULL)
			*semi = '\0';
		tm_event(&evs[n++], spec);
		spec = semi ? semi + 3 : NULL;
	}
	int bad = 0;
	struct detect_matcher_stats st;
	struct detect_matcher *m = tm_matcher(pattern, &st);
	bool got = m != NULL && matcher_says(m, evs, n);
	if (got != want) {
		print_message("line %d: matcher says %s: %s (%s)\n", lineno, got ? "match" : "nomatch",
		              pattern, st.first_error);
		bad++;
	}
	struct err e;
	err_clear(&e);
	struct stix_pattern *p = stix_pattern_parse(pattern, strlen(pattern), &e);
	int ev = p ? tm_eval(p, evs, n) : -1;
	int want_ev = differs ? !want : want;
	if (ev != want_ev) {
		print_message("line %d: evaluator says %d: %s\n", lineno, ev, pattern);
		bad++;
	}
	stix_pattern_free(p);
	detect_matcher_free(m);
	free(evs);
	return bad;
}

static int
run_table(const char *path, int *ncases)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	char line[4096];
	int lineno = 0, bad = 0;
	*ncases = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		bad += run_case(line, lineno);
		(*ncases)++;
	}
	fclose(fp);
	return bad;
}

static void
test_case_table(void **state)
{
	int ncases = 0;
	assert_int_equal(run_table(CASES, &ncases), 0);
	print_message("%d cases\n", ncases);
	assert_true(ncases >= 200);
}

/* ---- compiling ------------------------------------------------------------------ */

static void
test_spec_examples_compile(void **state)
{
	FILE *fp = fopen(SPEC_EXAMPLES, "r");
	assert_non_null(fp);
	struct detect_indicator ind[64];
	char lines[64][1024];
	size_t n = 0;
	while (n < 64 && fgets(lines[n], sizeof(lines[n]), fp) != NULL) {
		lines[n][strcspn(lines[n], "\n")] = '\0';
		ind[n] = (struct detect_indicator){.id = "indicator--spec", .pattern = lines[n]};
		n++;
	}
	fclose(fp);
	struct detect_matcher_stats st;
	struct err e;
	struct detect_matcher *m = detect_matcher_build(ind, n, 1, &st, &e);
	assert_non_null(m);
	assert_int_equal(st.input, n);
	assert_int_equal(st.parse_errors, 0);
	/* Every example compiles, or is known to need what events never carry. */
	print_message("%zu examples: %zu active, %zu never, %zu unsupported (%s)\n", n, st.active,
	              st.never, st.unsupported, st.first_error);
	/* Most examples name objects no event carries (artifact, registry keys,
	 * x509, properties the decoders do not fill): those can never match. */
	assert_int_equal(st.active, 14);
	assert_int_equal(st.never, 27);
	assert_int_equal(st.unsupported, 0);
	assert_int_equal(st.stateful, 4);
	detect_matcher_free(m);
}

static void
test_what_is_indexed(void **state)
{
	const char *pats[] = {
	    "[ipv4-addr:value = '198.51.100.1']",                      /* key */
	    "[ipv6-addr:value ISSUBSET '2001:db8::/32']",              /* cidr */
	    "[ipv4-addr:value = '10.0.0.0/8']",                        /* cidr */
	    "[domain-name:value = 'evil.example' OR domain-name:value LIKE '%.evil.example']", /* 2 keys */
	    "[url:value MATCHES '^https?://[^/]+/wp-admin']",          /* regex */
	    "[file:name LIKE 'inv%.pdf.exe']",                         /* regex */
	    "[network-traffic:dst_port = 4444 AND network-traffic:dst_ref.value != '10.0.0.1']", /* key */
	    "[network-traffic:dst_port > 60000]",                      /* scanned */
	    "[file:name NOT LIKE '%.txt']",                            /* scanned + regex */
	    "[windows-registry-key:key = 'HKLM\\\\x']",                /* never */
	    "[url:value MATCHES '(a)\\\\1']",                          /* unsupported */
	    "[file:name = 'a'] FOLLOWEDBY [file:name = 'b']",          /* 2 keys, stateful */
	    "[ipv4-addr:value = ",                                      /* parse error */
	};
	struct detect_indicator ind[CIIP_ARRAY_LEN(pats)];
	for (size_t i = 0; i < CIIP_ARRAY_LEN(pats); i++)
		ind[i] = (struct detect_indicator){.id = "indicator--x", .pattern = pats[i]};
	struct detect_matcher_stats st;
	struct err e;
	struct detect_matcher *m = detect_matcher_build(ind, CIIP_ARRAY_LEN(pats), 1, &st, &e);
	assert_non_null(m);
	assert_int_equal(st.input, 13);
	assert_int_equal(st.active, 10);
	assert_int_equal(st.parse_errors, 1);
	assert_int_equal(st.never, 1);
	assert_int_equal(st.unsupported, 1);
	assert_int_equal(st.stateful, 1);
	assert_int_equal(st.keys, 6);
	assert_int_equal(st.cidrs, 2);
	assert_int_equal(st.regexes, 3);
	assert_int_equal(st.scanned, 2);
	assert_int_equal(st.observations, 11);
	assert_non_null(strstr(st.first_error, "indicator--x: "));
	assert_true(st.bytes > 0);
	assert_memory_equal(detect_matcher_stats(m), &st, sizeof(st));
	detect_matcher_free(m);
}

static void
test_activity_window(void **state)
{
	const int64_t now = 1700000000000;
	struct detect_indicator ind[] = {
	    {.id = "indicator--live", .pattern = "[ipv4-addr:value = '192.0.2.1']",
	     .valid_from_ms = now - 1000, .valid_until_ms = now + 5000},
	    {.id = "indicator--revoked", .pattern = "[ipv4-addr:value = '192.0.2.1']",
	     .revoked = true},
	    {.id = "indicator--future", .pattern = "[ipv4-addr:value = '192.0.2.1']",
	     .valid_from_ms = now + 2000},
	    {.id = "indicator--expired", .pattern = "[ipv4-addr:value = '192.0.2.1']",
	     .valid_until_ms = now},
	};
	struct detect_matcher_stats st;
	struct err e;
	struct detect_matcher *m = detect_matcher_build(ind, 4, now, &st, &e);
	assert_int_equal(st.active, 1);
	assert_int_equal(st.inactive, 3);
	assert_int_equal(st.next_change_ms, now + 2000);
	struct ingest_event ev;
	tm_event(&ev, "src=192.0.2.1");
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct detect_match_hit hits[4];
	assert_int_equal(detect_matcher_match(m, ms, &ev, hits, 4), 1);
	assert_string_equal(hits[0].indicator_id, "indicator--live");
	detect_match_state_free(ms);
	detect_matcher_free(m);
}

/* Blocks that share a long prefix (feeds' IPv6 blocks sit in a few /16s):
 * the CIDR table jumps on the bits after it, and addresses outside it are
 * in no block. Nested blocks still hit from the innermost out. */
static void
test_blocks_with_a_shared_prefix(void **state)
{
	enum { N = 3000 };
	struct detect_indicator *ind = xcalloc(N + 2, sizeof(*ind));
	char **text = xcalloc(N + 2, sizeof(*text));
	for (int i = 0; i < N; i++) {
		text[i] = xasprintf("[ipv6-addr:value ISSUBSET '2001:db8:%x::/48']", i * 7);
		ind[i] = (struct detect_indicator){.id = xasprintf("indicator--%d", i), .pattern = text[i]};
	}
	ind[N] = (struct detect_indicator){.id = "indicator--wide",
	                                   .pattern = "[ipv6-addr:value ISSUBSET '2001:db8::/32']"};
	ind[N + 1] = (struct detect_indicator){.id = "indicator--v4",
	                                       .pattern = "[ipv4-addr:value ISSUBSET '10.1.2.0/24']"};
	struct err e;
	struct detect_matcher *m = detect_matcher_build(ind, N + 2, 1, NULL, &e);
	assert_non_null(m);
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct detect_match_hit hits[4];
	struct ingest_event ev;
	static const struct {
		const char *spec;
		int n;
		const char *first;
	} cases[] = {
	    {"src=2001:db8:1c::5", 2, "indicator--4"},      /* 0x1c = 4 * 7: inside both */
	    {"src=2001:db8:1d::5", 1, "indicator--wide"},   /* between the /48s */
	    {"src=2001:db8:5201::1", 2, "indicator--2999"}, /* the last /48 */
	    {"src=2001:db9::1", 0, NULL},                    /* outside the shared prefix */
	    {"src=2001:db7:ffff::1", 0, NULL},
	    {"src=::1", 0, NULL},
	    {"src=10.1.2.3", 1, "indicator--v4"},
	    {"src=10.1.3.3", 0, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tm_event(&ev, cases[i].spec);
		int n = detect_matcher_match(m, ms, &ev, hits, 4);
		assert_int_equal(n, cases[i].n);
		if (n > 0)
			assert_string_equal(hits[0].indicator_id, cases[i].first);
	}
	detect_match_state_free(ms);
	detect_matcher_free(m);
	for (int i = 0; i < N; i++) {
		free((char *)ind[i].id);
		free(text[i]);
	}
	free(text);
	free(ind);
}

/* Events with long domain names make many parent-domain probes: a batch
 * of them fills a group's probe pool, so a group ends early and an event's
 * remaining keys are queued while it is matched. The hits are still those
 * of the events one by one. */
static int batch_hits[32];

static void
count_batch_hits(void *arg, size_t i, const struct detect_match_hit *hits, int n)
{
	(void)arg;
	(void)hits;
	batch_hits[i] = n;
}

static void
test_a_full_probe_pool_loses_nothing(void **state)
{
	enum { LABELS = 60, EVENTS = 20 };
	/* l59.l58. ... .l1.example: 60 labels. */
	char domain[512] = "example";
	for (int i = 1; i < LABELS; i++) {
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "l%d.%s", i, domain);
		snprintf(domain, sizeof(domain), "%s", tmp);
	}
	/* One LIKE '%.x' per suffix of 2 to 60 labels, so that every dot of
	 * an event's name is probed. */
	struct detect_indicator ind[LABELS];
	char *text[LABELS] = {0};
	int nind = 0;
	const char *p = domain; /* the last k labels */
	for (int k = LABELS; k >= 2; k--) {
		text[nind] = xasprintf("[domain-name:value LIKE '%%.%s']", p);
		ind[nind] = (struct detect_indicator){.id = xasprintf("indicator--%d", k),
		                                      .pattern = text[nind]};
		nind++;
		p = strchr(p, '.') + 1;
	}
	struct err e;
	struct detect_matcher *m = detect_matcher_build(ind, (size_t)nind, 1, NULL, &e);
	assert_non_null(m);
	struct ingest_event evs[EVENTS];
	const struct ingest_event *ptr[EVENTS];
	for (int i = 0; i < EVENTS; i++) {
		char *spec = xasprintf("qname=a%d.%s domain=b%d.%s sni=c%d.%s", i, domain, i, domain, i,
		                       domain);
		tm_event(&evs[i], spec);
		free(spec);
		ptr[i] = &evs[i];
	}
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct detect_match_hit hits[LABELS];
	int one[EVENTS];
	for (int i = 0; i < EVENTS; i++)
		one[i] = detect_matcher_match(m, ms, &evs[i], hits, LABELS);
	memset(batch_hits, 0, sizeof(batch_hits));
	detect_matcher_match_batch(m, ms, ptr, EVENTS, 256, count_batch_hits, NULL);
	for (int i = 0; i < EVENTS; i++) {
		/* Each name is under every suffix (one hit per indicator). */
		assert_int_equal(one[i], nind);
		assert_int_equal(batch_hits[i], nind);
	}
	detect_match_state_free(ms);
	detect_matcher_free(m);
	for (int i = 0; i < nind; i++) {
		free((char *)ind[i].id);
		free(text[i]);
	}
}

/* ---- hits ----------------------------------------------------------------------- */

static void
test_hit_carries_indicator_and_observation(void **state)
{
	/* b's org id does not fit the 32 bits of struct mhot: the hit reads
	 * its struct mind for it. */
	struct detect_indicator ind[] = {
	    {.id = "indicator--a", .pattern = "[file:name = 'x'] OR [ipv4-addr:value = '192.0.2.1']",
	     .org_id = 7, .tlp = STIX_TLP_AMBER},
	    {.id = "indicator--b", .pattern = "[ipv4-addr:value = '192.0.2.1']",
	     .org_id = 5000000000, .tlp = STIX_TLP_RED},
	};
	struct err e;
	struct detect_matcher *m = detect_matcher_build(ind, 2, 1, NULL, &e);
	struct ingest_event ev;
	/* Source and destination both match: one hit per indicator. */
	tm_event(&ev, "src=192.0.2.1 dst=192.0.2.1");
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct detect_match_hit hits[4];
	assert_int_equal(detect_matcher_match(m, ms, &ev, hits, 4), 2);
	int a = strcmp(hits[0].indicator_id, "indicator--a") == 0 ? 0 : 1;
	assert_string_equal(hits[a].indicator_id, "indicator--a");
	assert_int_equal(hits[a].org_id, 7);
	assert_int_equal(hits[a].tlp, STIX_TLP_AMBER);
	assert_int_equal(hits[a].observation, 1);
	assert_int_equal(hits[a].nevents, 1);
	assert_string_equal(hits[1 - a].indicator_id, "indicator--b");
	assert_int_equal(hits[1 - a].org_id, 5000000000);
	assert_int_equal(hits[1 - a].tlp, STIX_TLP_RED);
	assert_int_equal(hits[1 - a].observation, 0);
	detect_match_state_free(ms);
	detect_matcher_free(m);
}

/* A regex that Vectorscan accepts alone (hs_expression_info) but cannot
 * compile ("Pattern is too large") is dropped when its property's
 * database is built: its indicator is disabled as a whole, counted and
 * named, and the others in the same database still hit. */
static void
test_a_regex_the_database_refuses_disables_its_indicator(void **state)
{
	struct detect_indicator ind[] = {
	    {.id = "indicator--big",
	     .pattern = "[url:value MATCHES '[^a]{10000}'] OR [ipv4-addr:value = '192.0.2.9']"},
	    {.id = "indicator--ok", .pattern = "[url:value MATCHES '^http://x[.]example/']"},
	    {.id = "indicator--ip", .pattern = "[ipv4-addr:value = '192.0.2.9']"},
	};
	struct err e;
	struct detect_matcher_stats st;
	struct detect_matcher *m = detect_matcher_build(ind, 3, 1, &st, &e);
	assert_non_null(m);
	assert_int_equal(st.unsupported, 1);
	assert_int_equal(st.active, 2);
	assert_non_null(strstr(st.first_error, "indicator--big"));
	assert_non_null(strstr(st.first_error, "Vectorscan"));
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct detect_match_hit hits[4];
	struct ingest_event ev;
	tm_event(&ev, "dst=192.0.2.9 url=http://x.example/a");
	int n = detect_matcher_match(m, ms, &ev, hits, 4);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++)
		assert_string_not_equal(hits[i].indicator_id, "indicator--big");
	detect_match_state_free(ms);
	detect_matcher_free(m);
}

/* With 2 MB pages on, the large arrays are moved after they are built:
 * enough indicators that each is over the 1 MB a move needs, and hits
 * from the start, middle and end of each, with their org ids. */
static void
test_huge_pages_match_the_same(void **state)
{
	enum { N = 40000 };
	struct detect_indicator *ind = xcalloc(N, sizeof(*ind));
	for (int i = 0; i < N; i++) {
		ind[i].id = xasprintf("indicator--%d", i);
		ind[i].pattern = i % 2 ? xasprintf("[domain-name:value = 'd%d.example']", i)
		                       : xasprintf("[ipv4-addr:value = '10.%d.%d.1']", i >> 8, i & 255);
		ind[i].org_id = 1000 + i;
	}
	for (int huge = 1; huge >= 0; huge--) {
		detect_matcher_huge_pages(huge);
		struct err e;
		struct detect_matcher_stats st;
		struct detect_matcher *m = detect_matcher_build(ind, N, 1, &st, &e);
		assert_non_null(m);
		assert_int_equal(st.keys, N);
		struct detect_match_state *ms = detect_match_state_new(0, 0);
		static const int probe[] = {0, 1, N / 2, N / 2 + 1, N - 2, N - 1};
		for (size_t k = 0; k < CIIP_ARRAY_LEN(probe); k++) {
			int i = probe[k];
			char *spec = i % 2 ? xasprintf("qname=d%d.example", i)
			                   : xasprintf("dst=10.%d.%d.1", i >> 8, i & 255);
			struct ingest_event ev;
			tm_event(&ev, spec);
			free(spec);
			struct detect_match_hit hits[2];
			assert_int_equal(detect_matcher_match(m, ms, &ev, hits, 2), 1);
			assert_string_equal(hits[0].indicator_id, ind[i].id);
			assert_int_equal(hits[0].org_id, 1000 + i);
		}
		struct ingest_event miss;
		tm_event(&miss, "dst=10.255.255.1 qname=d0.example");
		struct detect_match_hit hits[2];
		assert_int_equal(detect_matcher_match(m, ms, &miss, hits, 2), 0);
		detect_match_state_free(ms);
		detect_matcher_free(m);
	}
	for (int i = 0; i < N; i++) {
		free((char *)ind[i].id);
		free((char *)ind[i].pattern);
	}
	free(ind);
}

static void
test_many_indicators_one_value_and_max(void **state)
{
	enum { N = 1500 };
	struct detect_indicator *ind = xcalloc(N, sizeof(*ind));
	char (*ids)[48] = xcalloc(N, sizeof(*ids));
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "indicator--%d", i);
		ind[i] = (struct detect_indicator){.id = ids[i],
		                                   .pattern = "[domain-name:value = 'hot.example']"};
	}
	struct err e;
	struct detect_matcher *m = detect_matcher_build(ind, N, 1, NULL, &e);
	struct ingest_event ev;
	tm_event(&ev, "qname=hot.example");
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct detect_match_hit *hits = xcalloc(N, sizeof(*hits));
	assert_int_equal(detect_matcher_match(m, ms, &ev, hits, N), N);
	assert_int_equal(detect_matcher_match(m, ms, &ev, hits, 10), 10);
	struct detect_match_state_stats ss;
	detect_match_state_stats(ms, &ss);
	assert_int_equal(ss.dropped_hits, N - 10);
	free(hits);
	detect_match_state_free(ms);
	detect_matcher_free(m);
	free(ids);
	free(ind);
}

static void
test_url_normalise(void **state)
{
	static const char *const cases[][2] = {
	    {"HTTP://Example.COM:80/%7Efoo", "http://example.com/~foo"},
	    {"https://example.com", "https://example.com/"},
	    {"https://example.com:443?q=1", "https://example.com/?q=1"},
	    {"https://example.com:8443/a", "https://example.com:8443/a"},
	    {"http://User:Pw@WWW.Example.com:/A%2fB%41", "http://User:Pw@www.example.com/A%2FBA"},
	    {"http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"},
	    {"ftp://Files.Example:21/x", "ftp://files.example/x"},
	    {"not a url", "not a url"},
	    {"http://example.com/%", "http://example.com/%"},
	    {"http://example.com/%zz", "http://example.com/%zz"},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(cases); i++) {
		char *n = detect_match_url_normalise(cases[i][0], strlen(cases[i][0]));
		assert_string_equal(n, cases[i][1]);
		free(n);
	}
}

static void
test_event_objects(void **state)
{
	struct ingest_event ev;
	tm_event(&ev, "src=192.0.2.1 dst=2001:db8::2 sport=5555 dport=443 proto=TCP app=tls "
	              "sni=C2.Example. url=https://C2.example:443/x qname=c2.example "
	              "sha256=ABCDEF md5=0123 file=a.exe size=10 from=A@B.example to=c@d.example "
	              "subject=hi user=root cmd=id");
	json_t *o = detect_match_event_objects(&ev);
	char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(
	    text,
	    "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.0.2.1\"},"
	    "\"1\":{\"type\":\"ipv6-addr\",\"value\":\"2001:db8::2\"},"
	    "\"10\":{\"command_line\":\"id\",\"type\":\"process\"},"
	    "\"2\":{\"dst_port\":443,\"dst_ref\":\"1\",\"protocols\":[\"tcp\",\"tls\"],\"src_port\":5555,"
	    "\"src_ref\":\"0\",\"type\":\"network-traffic\"},"
	    "\"3\":{\"type\":\"domain-name\",\"value\":\"c2.example\"},"
	    "\"4\":{\"type\":\"url\",\"value\":\"https://c2.example/x\"},"
	    "\"5\":{\"hashes\":{\"MD5\":\"0123\",\"SHA-256\":\"abcdef\"},\"name\":\"a.exe\",\"size\":10,"
	    "\"type\":\"file\"},"
	    "\"6\":{\"type\":\"email-addr\",\"value\":\"a@b.example\"},"
	    "\"7\":{\"type\":\"email-addr\",\"value\":\"c@d.example\"},"
	    "\"8\":{\"from_ref\":\"6\",\"subject\":\"hi\",\"to_refs\":[\"7\"],\"type\":\"email-message\"},"
	    "\"9\":{\"account_login\":\"root\",\"type\":\"user-account\",\"user_id\":\"root\"}}");
	free(text);
	json_decref(o);
}

/* ---- updates and swaps ------------------------------------------------------------ */

static int
hits_for(const struct detect_matcher *m, const char *spec, const char **ids, int max)
{
	struct ingest_event ev;
	tm_event(&ev, spec);
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct detect_match_hit hits[16];
	int n = detect_matcher_match(m, ms, &ev, hits, 16);
	for (int i = 0; i < n && i < max; i++)
		ids[i] = hits[i].indicator_id;
	detect_match_state_free(ms);
	return n;
}

static void
test_update_replaces_adds_and_revokes(void **state)
{
	struct detect_indicator base[] = {
	    {.id = "indicator--a", .pattern = "[ipv4-addr:value = '192.0.2.1']"},
	    {.id = "indicator--b", .pattern = "[ipv4-addr:value = '192.0.2.2']"},
	};
	struct err e;
	struct detect_matcher *m0 = detect_matcher_build(base, 2, 1, NULL, &e);
	struct detect_indicator ch1[] = {
	    {.id = "indicator--a", .pattern = "[ipv4-addr:value = '192.0.2.10']"},
	    {.id = "indicator--b", .pattern = "[ipv4-addr:value = '192.0.2.2']", .revoked = true},
	    {.id = "indicator--c", .pattern = "[ipv4-addr:value = '192.0.2.3']"},
	};
	struct detect_matcher_stats st;
	struct detect_matcher *m1 = detect_matcher_update(m0, ch1, 3, 1, &st, &e);
	assert_non_null(m1);
	assert_int_equal(st.delta, 2);
	const char *ids[4];
	assert_int_equal(hits_for(m1, "src=192.0.2.1", ids, 4), 0);
	assert_int_equal(hits_for(m1, "src=192.0.2.10", ids, 4), 1);
	assert_string_equal(ids[0], "indicator--a");
	assert_int_equal(hits_for(m1, "src=192.0.2.2", ids, 4), 0);
	assert_int_equal(hits_for(m1, "src=192.0.2.3", ids, 4), 1);
	/* The old matcher is untouched and outlives the new one's base share. */
	assert_int_equal(hits_for(m0, "src=192.0.2.1", ids, 4), 1);
	detect_matcher_free(m0);
	/* A second update keeps the first one's delta. */
	struct detect_indicator ch2[] = {
	    {.id = "indicator--d", .pattern = "[ipv4-addr:value = '192.0.2.4']"},
	    {.id = "indicator--c", .pattern = "[ipv4-addr:value = '192.0.2.3']", .valid_until_ms = 1},
	};
	struct detect_matcher *m2 = detect_matcher_update(m1, ch2, 2, 1, &st, &e);
	assert_int_equal(st.delta, 2);
	assert_int_equal(hits_for(m2, "src=192.0.2.10", ids, 4), 1);
	assert_int_equal(hits_for(m2, "src=192.0.2.3", ids, 4), 0);
	assert_int_equal(hits_for(m2, "src=192.0.2.4", ids, 4), 1);
	assert_int_equal(hits_for(m2, "src=192.0.2.2", ids, 4), 0);
	detect_matcher_free(m1);
	detect_matcher_free(m2);
}

static void
count_batch(void *arg, size_t i, const struct detect_match_hit *h, int n)
{
	(void)h;
	size_t *seen = arg;
	seen[i] += (size_t)n;
}

/*
 * Events that no index holds still go through the match stage when a
 * regex or a scan list of some layer reads them, whichever layer has it:
 * here the delta layer brings the only regex and the only scanned
 * comparison. A quiet event last in a batch, or alone, has no hits.
 */
static void
test_quiet_events_and_layers(void **state)
{
	(void)state;
	struct detect_indicator base[] = {
	    {.id = "indicator--ip", .pattern = "[ipv4-addr:value = '192.0.2.1']"},
	};
	struct err e;
	struct detect_matcher *m0 = detect_matcher_build(base, 1, 1, NULL, &e);
	assert_non_null(m0);
	const char *ids[4];
	assert_int_equal(hits_for(m0, "src=198.51.100.7 qname=x7.example", ids, 4), 0);
	struct detect_indicator ch[] = {
	    {.id = "indicator--rx", .pattern = "[domain-name:value MATCHES '^x[0-9]\\\\.example$']"},
	    {.id = "indicator--scan", .pattern = "[network-traffic:dst_port > 60000]"},
	};
	struct detect_matcher_stats st;
	struct detect_matcher *m1 = detect_matcher_update(m0, ch, 2, 1, &st, &e);
	assert_non_null(m1);
	assert_int_equal(st.regexes, 1);
	assert_int_equal(st.scanned, 1);
	assert_int_equal(hits_for(m1, "src=198.51.100.7 qname=x7.example", ids, 4), 1);
	assert_string_equal(ids[0], "indicator--rx");
	assert_int_equal(hits_for(m1, "src=198.51.100.7 dst=198.51.100.8 dport=60001", ids, 4), 1);
	assert_string_equal(ids[0], "indicator--scan");
	assert_int_equal(hits_for(m1, "src=192.0.2.1", ids, 4), 1);
	assert_int_equal(hits_for(m1, "src=198.51.100.7 dst=198.51.100.8 dport=80", ids, 4), 0);

	/* A batch: hits on the first three, the last one quiet. */
	static const char *const specs[] = {
	    "src=192.0.2.1", "src=198.51.100.7 qname=x3.example",
	    "src=198.51.100.7 dst=198.51.100.8 dport=60001",
	    "src=198.51.100.7 dst=198.51.100.8 dport=80",
	};
	struct ingest_event evs[4];
	const struct ingest_event *evp[4];
	for (int i = 0; i < 4; i++) {
		tm_event(&evs[i], specs[i]);
		evp[i] = &evs[i];
	}
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	size_t seen[4] = {0};
	detect_matcher_match_batch(m1, ms, evp, 4, 8, count_batch, seen);
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 1);
	assert_int_equal(seen[3], 0);
	/* One by one on the same state: a quiet event after a hit returns 0. */
	struct detect_match_hit hits[8];
	assert_int_equal(detect_matcher_match(m1, ms, &evs[0], hits, 8), 1);
	assert_int_equal(detect_matcher_match(m1, ms, &evs[3], hits, 8), 0);
	detect_match_state_free(ms);
	detect_matcher_free(m0);
	detect_matcher_free(m1);
}

struct reader {
	struct detect_matcher_live *live;
	_Atomic int *stop;
	_Atomic long lookups;
	long hits, wrong;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct ingest_event ev;
	ingest_event_reset(&ev);
	(void)ingest_ip_parse("198.51.100.9", 12, &ev.src_ip);
	struct detect_match_hit hits[4];
	while (!atomic_load(r->stop)) {
		unsigned tok;
		const struct detect_matcher *m = detect_matcher_live_acquire(r->live, &tok);
		for (int i = 0; i < 100; i++) {
			int n = detect_matcher_match(m, ms, &ev, hits, 4);
			atomic_fetch_add(&r->lookups, 1);
			r->hits += n;
			/* Every version has exactly one indicator on this address. */
			r->wrong += n != 1 || strncmp(hits[0].indicator_id, "indicator--v", 12) != 0;
		}
		detect_matcher_live_release(r->live, tok);
	}
	detect_match_state_free(ms);
	return NULL;
}

/* Lets both readers do some lookups on the current matcher. */
static void
wait_for_lookups(struct reader *r)
{
	long a = atomic_load(&r[0].lookups), b = atomic_load(&r[1].lookups);
	for (int i = 0; i < 2000; i++) {
		if (atomic_load(&r[0].lookups) > a + 100 && atomic_load(&r[1].lookups) > b + 100)
			return;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
		nanosleep(&ts, NULL);
	}
}

static int
source_version(void *arg, void (*emit)(void *, const struct detect_indicator *), void *ctx)
{
	int v = *(int *)arg;
	char id[64], pat[128];
	snprintf(id, sizeof(id), "indicator--v%d", v);
	snprintf(pat, sizeof(pat), "[ipv4-addr:value = '198.51.100.9' OR file:name = 'v%d']", v);
	struct detect_indicator ind = {.id = id, .pattern = pat};
	emit(ctx, &ind);
	return v < 0 ? -1 : 0;
}

static void
test_live_swap_under_concurrent_lookups(void **state)
{
	int v = 0;
	struct err e;
	struct detect_matcher_stats st;
	struct detect_matcher_live *live = detect_matcher_live_new(NULL);
	assert_int_equal(detect_matcher_reload(live, source_version, &v, 1, &st, &e), 0);
	_Atomic int stop = 0;
	struct reader r[2] = {{.live = live, .stop = &stop}, {.live = live, .stop = &stop}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, reader_main, &r[i]);
	for (v = 1; v <= 40; v++) {
		wait_for_lookups(r);
		assert_int_equal(detect_matcher_reload(live, source_version, &v, 1, &st, &e), 0);
		struct detect_indicator ch = {.id = "indicator--vx", .pattern = "[file:name = 'q']"};
		assert_int_equal(detect_matcher_live_update(live, &ch, 1, 1, &st, &e), 0);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_true(atomic_load(&r[0].lookups) > 4000 && atomic_load(&r[1].lookups) > 4000);
	assert_int_equal(r[0].wrong + r[1].wrong, 0);
	/* A failing source leaves the matcher in use alone. */
	v = -1;
	assert_int_equal(detect_matcher_reload(live, source_version, &v, 1, &st, &e), -1);
	unsigned tok;
	const struct detect_matcher *m = detect_matcher_live_acquire(live, &tok);
	const char *ids[2];
	assert_int_equal(hits_for(m, "file=v40", ids, 2), 1);
	detect_matcher_live_release(live, tok);
	detect_matcher_live_free(live);
}

/* ---- multi-observation state ---------------------------------------------------------- */

static void
test_state_forgets_after_a_match(void **state)
{
	struct detect_matcher *m = tm_matcher("[user-account:user_id = 'root'] REPEATS 2 TIMES", NULL);
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct ingest_event ev;
	struct detect_match_hit hits[2];
	int fired[6];
	for (int i = 0; i < 6; i++) {
		tm_event(&ev, "user=root");
		ev.ts_ms = 1000 * (i + 1);
		fired[i] = detect_matcher_match(m, ms, &ev, hits, 2);
	}
	static const int want[6] = {0, 1, 0, 1, 0, 1};
	assert_memory_equal(fired, want, sizeof(want));
	assert_int_equal(hits[0].nevents, 2);
	detect_match_state_free(ms);
	detect_matcher_free(m);
}

static void
test_state_is_bounded(void **state)
{
	enum { N = 200 };
	struct detect_indicator *ind = xcalloc(N, sizeof(*ind));
	char (*ids)[48] = xcalloc(N, sizeof(*ids));
	char (*pats)[128] = xcalloc(N, sizeof(*pats));
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "indicator--%d", i);
		snprintf(pats[i], sizeof(pats[i]),
		         "[user-account:user_id = 'u%d'] FOLLOWEDBY [process:command_line = 'x%d']", i, i);
		ind[i] = (struct detect_indicator){.id = ids[i], .pattern = pats[i]};
	}
	struct err e;
	struct detect_matcher *m = detect_matcher_build(ind, N, 1, NULL, &e);
	struct detect_match_state *ms = detect_match_state_new(16, 4);
	struct detect_match_state_stats before, after;
	detect_match_state_stats(ms, &before);
	struct ingest_event ev;
	struct detect_match_hit hits[4];
	char spec[64];
	for (int i = 0; i < N; i++) {
		snprintf(spec, sizeof(spec), "ts=%d user=u%d", 1000 + i, i);
		tm_event(&ev, spec);
		assert_int_equal(detect_matcher_match(m, ms, &ev, hits, 4), 0);
	}
	detect_match_state_stats(ms, &after);
	assert_int_equal(after.followed, 16);
	assert_int_equal(after.evicted, N - 16);
	/* The most recent is still followed, the first was evicted. */
	tm_event(&ev, "ts=5000 cmd=x199");
	assert_int_equal(detect_matcher_match(m, ms, &ev, hits, 4), 1);
	tm_event(&ev, "ts=5000 cmd=x0");
	assert_int_equal(detect_matcher_match(m, ms, &ev, hits, 4), 0);
	detect_match_state_stats(ms, &after);
	assert_int_equal(after.followed, 16);
	assert_int_equal(after.evicted, N - 16);
	assert_int_equal(after.bytes, before.bytes);
	/* Events per indicator are capped too: 4 kept of 10. */
	for (int i = 0; i < 10; i++) {
		tm_event(&ev, "ts=6000 user=u3");
		assert_int_equal(detect_matcher_match(m, ms, &ev, hits, 4), 0);
	}
	detect_match_state_stats(ms, &after);
	assert_int_equal(after.evicted, N - 16 + 1 + 6);
	detect_match_state_reset(ms);
	detect_match_state_stats(ms, &after);
	assert_int_equal(after.followed, 0);
	detect_match_state_free(ms);
	detect_matcher_free(m);
	free(pats);
	free(ids);
	free(ind);
}

static void
test_state_survives_a_rebuild(void **state)
{
	struct detect_indicator ind = {.id = "indicator--r",
	                               .pattern = "[file:name = 'a'] FOLLOWEDBY [file:name = 'b']"};
	struct err e;
	struct detect_matcher *m1 = detect_matcher_build(&ind, 1, 1, NULL, &e);
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct ingest_event ev;
	struct detect_match_hit hits[2];
	tm_event(&ev, "ts=1 file=a");
	assert_int_equal(detect_matcher_match(m1, ms, &ev, hits, 2), 0);
	struct detect_matcher *m2 = detect_matcher_build(&ind, 1, 1, NULL, &e);
	detect_matcher_free(m1);
	tm_event(&ev, "ts=2 file=b");
	assert_int_equal(detect_matcher_match(m2, ms, &ev, hits, 2), 1);
	assert_int_equal(hits[0].observation, 1);
	assert_int_equal(hits[0].nevents, 2);
	detect_match_state_free(ms);
	detect_matcher_free(m2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_case_table, teardown),
	    cmocka_unit_test(test_spec_examples_compile),
	    cmocka_unit_test(test_what_is_indexed),
	    cmocka_unit_test_teardown(test_activity_window, teardown),
	    cmocka_unit_test_teardown(test_blocks_with_a_shared_prefix, teardown),
	    cmocka_unit_test_teardown(test_a_full_probe_pool_loses_nothing, teardown),
	    cmocka_unit_test_teardown(test_hit_carries_indicator_and_observation, teardown),
	    cmocka_unit_test_teardown(test_many_indicators_one_value_and_max, teardown),
	    cmocka_unit_test_teardown(test_huge_pages_match_the_same, teardown),
	    cmocka_unit_test_teardown(test_a_regex_the_database_refuses_disables_its_indicator, teardown),
	    cmocka_unit_test(test_url_normalise),
	    cmocka_unit_test_teardown(test_event_objects, teardown),
	    cmocka_unit_test_teardown(test_update_replaces_adds_and_revokes, teardown),
	    cmocka_unit_test_teardown(test_quiet_events_and_layers, teardown),
	    cmocka_unit_test_teardown(test_live_swap_under_concurrent_lookups, teardown),
	    cmocka_unit_test_teardown(test_state_forgets_after_a_match, teardown),
	    cmocka_unit_test_teardown(test_state_is_bounded, teardown),
	    cmocka_unit_test_teardown(test_state_survives_a_rebuild, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
