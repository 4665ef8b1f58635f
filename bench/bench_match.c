/*
 * bench_match.c - the compiled indicator matcher: build time, memory and
 * event lookups per second on one core.
 *
 *   build/bench/bench_match [-i INDICATORS] [-e EVENTS] [-m REGEXES] [-s SEED] [-h HIT%] [-k KIND] [-r ROUNDS] [-1] [-H]
 *
 * Indicators are a sector feed's mix: IPv4 and IPv6 addresses, CIDR blocks
 * of both families, domains (some with their subdomains), URLs, SHA-256
 * hashes, a few network-traffic expressions of two comparisons, and REGEXES
 * MATCHES expressions on URLs and domains. Events are generated in batches
 * of 256 (flows, DNS queries, HTTP requests, TLS handshakes, files; a batch
 * stays in cache as a decoder's output would), HIT% of their values (1 by
 * default) taken from what indicators name, the rest random (with -h 0,
 * from ranges no indicator names: every lookup a miss). Each batch goes
 * through detect_matcher_match_batch(), as the pipeline sends a decoder's
 * batch (-1: one detect_matcher_match() per event instead); only that is
 * timed. -k sends events of one kind only, to see what each costs; -r
 * matches ROUNDS sets of EVENTS and reports the fastest; -H builds the
 * matcher on 2 MB pages (detect_matcher_huge_pages()). Prints one figure
 * per line.
 *
 * The call is timed with CLOCK_MONOTONIC, which the vDSO reads without
 * entering the kernel. The thread's CPU clock is a system call (1.3 us on
 * the VM we measure on), and on return from one the next batch found the
 * matcher's lines and pages cold: timing every batch with it added some 10
 * to 20 ns to each lookup at a million indicators, a cost of the clock, not
 * of matching (a detector thread of the pipeline makes none between most
 * chunks: its queue wakes a waiting decoder only once drained to half).
 * Wall time counts the turns other processes take on the core, which only
 * makes a round slower; the fastest round is kept, and its share of the
 * core (CPU time over wall time of the whole round, read once at each end)
 * is printed as ran_pct.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "detect/detect.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned hit_pct = 1; /* percent of values taken from indicators */
static int only_kind = -1;  /* -k: every event of this kind (0 flow .. 4 tls) */

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static unsigned
rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *const tlds[] = {"com", "net", "org", "info", "top", "xyz", "ru", "cn", "io", "tw"};

static void
label(char *out, size_t n)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t len = 5 + rn(8);
	if (len >= n)
		len = n - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = al[rn(i == 0 ? 26 : 36)];
	out[len] = '\0';
}

static void
gen_domain(char *out, size_t n)
{
	char a[16], b[16];
	label(a, sizeof(a));
	label(b, sizeof(b));
	if (rn(3) == 0)
		snprintf(out, n, "%s.%s.%s", a, b, tlds[rn(10)]);
	else
		snprintf(out, n, "%s.%s", a, tlds[rn(10)]);
}

static void
gen_url(char *out, size_t n)
{
	char d[64], p[16], q[16];
	gen_domain(d, sizeof(d));
	label(p, sizeof(p));
	label(q, sizeof(q));
	snprintf(out, n, "%s://%s/%s/%s.php?id=%u", rn(2) ? "http" : "https", d, p, q, rn(100000));
}

/* Indicators never name 100.64.0.0/10 or 2001:db8::/32: -h 0 sends events
 * from there. */
static unsigned
octet1(void)
{
	unsigned o = 1 + rn(222);
	return o == 100 ? 101 : o;
}

static void
gen_ip4(char *out, size_t n)
{
	snprintf(out, n, "%u.%u.%u.%u", octet1(), rn(256), rn(256), 1 + rn(254));
}

static unsigned
v6word2(void)
{
	unsigned w = rn(65536);
	return w == 0xdb8 ? 0xdb9 : w;
}

static void
gen_ip6(char *out, size_t n)
{
	snprintf(out, n, "2001:%x:%x:%x::%x", v6word2(), rn(65536), rn(65536), 1 + rn(65535));
}

static void
gen_sha256(char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 64; i++)
		out[i] = hex[rn(16)];
	out[64] = '\0';
}

/* Values indicators name, for events to hit now and then. */
struct pool {
	char **v;
	size_t n, cap;
};

static void
pool_add(struct pool *p, const char *s)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n++] = xstrdup(s);
}

static const char *
pool_pick(const struct pool *p)
{
	return p->n ? p->v[rn((unsigned)p->n)] : NULL;
}

static struct pool p_ip4, p_ip6, p_domain, p_url, p_sha;

static char *
gen_indicator(size_t i, size_t n, size_t nregex)
{
	char v[256], w[64];
	/* The regexes are spread evenly through the input. */
	if (nregex > 0 && i % (n / nregex ? n / nregex : 1) == 0 && i / (n / nregex ? n / nregex : 1) < nregex) {
		label(w, 8);
		if (rn(2))
			return xasprintf("[url:value MATCHES '/%s[0-9]{2,4}/[a-z]+\\\\.php\\\\?id=']", w);
		return xasprintf("[domain-name:value MATCHES '^[a-z0-9]{%u}\\\\.%s%s$']", 8 + rn(8),
		                 w, tlds[rn(10)]);
	}
	unsigned r = rn(1000);
	if (r < 300) {
		gen_ip4(v, sizeof(v));
		pool_add(&p_ip4, v);
		return xasprintf("[ipv4-addr:value = '%s']", v);
	}
	if (r < 380) {
		gen_ip6(v, sizeof(v));
		pool_add(&p_ip6, v);
		return xasprintf("[ipv6-addr:value = '%s']", v);
	}
	if (r < 420) /* mostly small blocks, as feeds publish them */
		return xasprintf("[ipv4-addr:value ISSUBSET '%u.%u.%u.%u/%u']", octet1(), rn(256),
		                 rn(256), rn(256), rn(10) ? 24 + rn(6) : 16 + rn(8));
	if (r < 430)
		return xasprintf("[ipv6-addr:value ISSUBSET '2001:%x:%x::/48']", v6word2(), rn(65536));
	if (r < 660) {
		gen_domain(v, sizeof(v));
		pool_add(&p_domain, v);
		return xasprintf("[domain-name:value = '%s']", v);
	}
	if (r < 680) {
		gen_domain(v, sizeof(v));
		pool_add(&p_domain, v);
		return xasprintf("[domain-name:value = '%s' OR domain-name:value LIKE '%%.%s']", v, v);
	}
	if (r < 790) {
		gen_url(v, sizeof(v));
		pool_add(&p_url, v);
		return xasprintf("[url:value = '%s']", v);
	}
	if (r < 990) {
		gen_sha256(v);
		pool_add(&p_sha, v);
		return xasprintf("[file:hashes.'SHA-256' = '%s']", v);
	}
	gen_ip4(v, sizeof(v));
	pool_add(&p_ip4, v);
	return xasprintf("[network-traffic:dst_ref.value = '%s' AND network-traffic:dst_port = %u]", v,
	                 rn(2) ? 443 : 8080);
}

/* ---- events ------------------------------------------------------------------------------ */

#define BATCH 256

struct batch {
	struct ingest_event *ev;
	char *text; /* the strings events point into */
	size_t used, cap;
};

static struct ingest_str
keep(struct batch *b, const char *s)
{
	size_t n = strlen(s);
	if (b->used + n + 1 > b->cap)
		abort();
	memcpy(b->text + b->used, s, n + 1);
	struct ingest_str r = {.p = b->text + b->used, .len = (uint32_t)n};
	b->used += n + 1;
	return r;
}

/* A value some indicator names, one time in a hundred. */
static bool
hit(void)
{
	return rn(100) < hit_pct;
}

static void
ev_ip(struct ingest_ip *ip, bool v6)
{
	char s[64];
	const char *p = hit() ? pool_pick(v6 ? &p_ip6 : &p_ip4) : NULL;
	if (p == NULL && hit_pct == 0) {
		/* All misses: addresses from ranges no indicator names (CGNAT,
		 * the IPv6 documentation prefix), so that no block covers them. */
		if (v6)
			snprintf(s, sizeof(s), "2001:db8:%x::%x", rn(65536), 1 + rn(65535));
		else
			snprintf(s, sizeof(s), "100.%u.%u.%u", 64 + rn(64), rn(256), 1 + rn(254));
		p = s;
	} else if (p == NULL) {
		if (v6)
			gen_ip6(s, sizeof(s));
		else
			gen_ip4(s, sizeof(s));
		p = s;
	}
	if (ingest_ip_parse(p, strlen(p), ip) != 0)
		abort();
}

static void
gen_batch(struct batch *b)
{
	b->used = 0;
	static const char *const apps[] = {"http", "tls", "dns", "ssh", "smtp"};
	for (int i = 0; i < BATCH; i++) {
		struct ingest_event *ev = &b->ev[i];
		ingest_event_reset(ev);
		ev->ts_ms = 1700000000000 + i;
		bool v6 = rn(10) == 0;
		ev_ip(&ev->src_ip, v6);
		ev_ip(&ev->dst_ip, v6);
		ev->src_port = (uint16_t)(1024 + rn(60000));
		ev->dst_port = (uint16_t)(rn(2) ? 443 : 80);
		ev->proto = keep(b, "tcp");
		static const unsigned kind_r[] = {0, 60, 80, 92, 97};
		unsigned r = rn(100);
		if (only_kind >= 0)
			r = kind_r[only_kind];
		char s[256];
		const char *p;
		if (r < 60) {
			ev->kind = INGEST_EV_FLOW;
			ev->bytes_to_server = rn(100000);
		} else if (r < 80) {
			ev->kind = INGEST_EV_DNS;
			p = hit() ? pool_pick(&p_domain) : NULL;
			if (p == NULL) {
				gen_domain(s, sizeof(s));
				p = s;
			}
			ev->dns_qname = keep(b, p);
			ev->app_proto = keep(b, "dns");
		} else if (r < 92) {
			ev->kind = INGEST_EV_HTTP;
			p = hit() ? pool_pick(&p_url) : NULL;
			if (p == NULL) {
				gen_url(s, sizeof(s));
				p = s;
			}
			ev->url_full = keep(b, p);
			const char *h = strstr(p, "://") + 3;
			ev->url_domain = (struct ingest_str){.p = ev->url_full.p + (h - p),
			                                     .len = (uint32_t)strcspn(h, "/")};
			ev->app_proto = keep(b, "http");
		} else if (r < 97) {
			ev->kind = INGEST_EV_FILE;
			p = hit() ? pool_pick(&p_sha) : NULL;
			if (p == NULL) {
				gen_sha256(s);
				p = s;
			}
			ev->file_sha256 = keep(b, p);
			ev->file_name = keep(b, "invoice.pdf.exe");
			ev->app_proto = keep(b, apps[rn(5)]);
		} else {
			ev->kind = INGEST_EV_TLS;
			p = hit() ? pool_pick(&p_domain) : NULL;
			if (p == NULL) {
				gen_domain(s, sizeof(s));
				p = s;
			}
			ev->tls_sni = keep(b, p);
			ev->app_proto = keep(b, "tls");
		}
	}
}

/* CPU time of this thread (a system call: once a round). */
static int64_t
cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time of all threads (the build compiles regexes on every core). */
static int64_t
process_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long
status_kb(const char *key)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, key, n) == 0)
			v = strtol(line + n + 1, NULL, 10);
	}
	if (fp != NULL)
		fclose(fp);
	return v;
}

static void
count_hits(void *arg, size_t i, const struct detect_match_hit *h, int n)
{
	(void)i;
	(void)h;
	*(long *)arg += n;
}

int
main(int argc, char **argv)
{
	long nind = 1000000, nev = 10000000, nrx = 3000, rounds = 1;
	int ch;
	bool one_by_one = false;
	while ((ch = getopt(argc, argv, "i:e:m:s:h:k:r:1H")) != -1) {
		if (ch == '1') {
			one_by_one = true;
			continue;
		}
		if (ch == 'H') {
			detect_matcher_huge_pages(true);
			continue;
		}
		if (ch == 'k') {
			static const char *const kinds[] = {"flow", "dns", "http", "file", "tls"};
			for (int k = 0; k < 5; k++) {
				if (strcmp(optarg, kinds[k]) == 0)
					only_kind = k;
			}
			if (only_kind >= 0)
				continue;
		}
		int64_t v = 0;
		if (optarg == NULL || parse_int64(optarg, 0, INT64_MAX, &v) != 0) {
			fprintf(stderr, "usage: bench_match [-i INDICATORS] [-e EVENTS] [-m REGEXES] [-s SEED] [-h HIT%%] [-k flow|dns|http|file|tls] [-r ROUNDS] [-1] [-H]\n");
			return 2;
		}
		if (ch == 'i')
			nind = v;
		else if (ch == 'e')
			nev = v;
		else if (ch == 'm')
			nrx = v;
		else if (ch == 's')
			rng = (uint64_t)v | 1;
		else if (ch == 'h')
			hit_pct = (unsigned)v;
		else if (ch == 'r' && v > 0)
			rounds = v;
	}
	if (nrx > nind)
		nrx = nind;
	struct detect_indicator *ind = xcalloc((size_t)nind, sizeof(*ind));
	for (long i = 0; i < nind; i++) {
		ind[i].id = xasprintf("indicator--%08lx-0000-4000-8000-000000000000", i);
		ind[i].pattern = gen_indicator((size_t)i, (size_t)nind, (size_t)nrx);
		ind[i].tlp = 2;
	}
	long rss_before = status_kb("VmRSS:");
	struct detect_matcher_stats st;
	struct err e;
	err_clear(&e);
	int64_t t0 = time_mono_ns(), c0 = process_cpu_ns();
	struct detect_matcher *m = detect_matcher_build(ind, (size_t)nind, 1700000000000, &st, &e);
	double build_s = (double)(time_mono_ns() - t0) / 1e9;
	double build_cpu_s = (double)(process_cpu_ns() - c0) / 1e9;
	if (m == NULL) {
		fprintf(stderr, "bench_match: %s\n", e.msg);
		return 1;
	}
	long rss_after = status_kb("VmRSS:"), hwm = status_kb("VmHWM:");
	printf("indicators %ld\n", nind);
	printf("active %zu\n", st.active);
	printf("keys %zu\n", st.keys);
	printf("cidrs %zu\n", st.cidrs);
	printf("regexes %zu\n", st.regexes);
	printf("scanned %zu\n", st.scanned);
	printf("build_s %.2f\n", build_s);
	printf("build_cpu_s %.2f\n", build_cpu_s);
	printf("matcher_mb %.1f\n", (double)st.bytes / 1048576.0);
	printf("rss_matcher_mb %.1f\n", (double)(rss_after - rss_before) / 1024.0);
	printf("rss_peak_build_mb %.1f\n", (double)hwm / 1024.0);
	fflush(stdout);

	struct batch b = {.ev = xcalloc(BATCH, sizeof(*b.ev)), .cap = BATCH * 512};
	b.text = xmalloc(b.cap);
	struct detect_match_state *ms = detect_match_state_new(0, 0);
	struct detect_match_hit hits[64];
	const struct ingest_event *evp[BATCH];
	long done = 0, nhits = 0;
	int64_t spent = 0;
	double ran = 0;
	/* Each round matches nev fresh events; the best round is reported
	 * (the machine is shared: a round may lose the core to a neighbour). */
	for (long r = 0; r < rounds; r++) {
		long rdone = 0, rhits = 0;
		int64_t rspent = 0, rcpu = cpu_ns(), rwall = time_mono_ns();
		while (rdone < nev) {
			gen_batch(&b);
			int n = nev - rdone < BATCH ? (int)(nev - rdone) : BATCH;
			for (int i = 0; i < n; i++)
				evp[i] = &b.ev[i];
			int64_t t = time_mono_ns();
			if (one_by_one) {
				for (int i = 0; i < n; i++)
					rhits += detect_matcher_match(m, ms, &b.ev[i], hits, 64);
			} else {
				detect_matcher_match_batch(m, ms, evp, (size_t)n, 64, count_hits, &rhits);
			}
			rspent += time_mono_ns() - t;
			rdone += n;
		}
		rcpu = cpu_ns() - rcpu;
		rwall = time_mono_ns() - rwall;
		if (r == 0 || rspent < spent) {
			done = rdone;
			nhits = rhits;
			spent = rspent;
			ran = rwall > 0 ? 100.0 * (double)rcpu / (double)rwall : 0;
		}
	}
	printf("events %ld\n", done);
	printf("hits %ld (%.2f%% of events)\n", nhits, 100.0 * (double)nhits / (double)done);
	printf("ns_per_lookup %.1f\n", (double)spent / (double)done);
	printf("lookups_per_s %.0f\n", (double)done / ((double)spent / 1e9));
	printf("ran_pct %.1f\n", ran);
	printf("rss_peak_mb %.1f\n", (double)status_kb("VmHWM:") / 1024.0);
	detect_match_state_free(ms);
	free(b.text);
	free(b.ev);
	detect_matcher_free(m);
	for (long i = 0; i < nind; i++) {
		free((char *)ind[i].id);
		free((char *)ind[i].pattern);
	}
	free(ind);
	struct pool *pools[] = {&p_ip4, &p_ip6, &p_domain, &p_url, &p_sha};
	for (size_t k = 0; k < CIIP_ARRAY_LEN(pools); k++) {
		for (size_t i = 0; i < pools[k]->n; i++)
			free(pools[k]->v[i]);
		free(pools[k]->v);
	}
	return 0;
}
