/*
 * detect_threshold.c - threshold detectors over sliding windows: volumetric
 * DDoS against one destination, brute force, port and host scans, spam
 * bursts and C&C beaconing.
 *
 * Memory is bounded whatever arrives. Each detector has a table of at most
 * max_keys entries (least recently used evicted first), and the counting
 * detectors only give a key an entry once a count-min sketch of the current
 * window says it has reached an eighth of the threshold: a flood of
 * distinct one-off sources costs sketch increments, not entries.
 *
 * Windows follow the events' own timestamps, so a replayed log detects the
 * same things as the live stream did. A count is the sliding-window
 * estimate cur + prev * (1 - elapsed/window).
 */
#include "detect/detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMS_DEPTH 4
#define CMS_WIDTH 4096
#define BITMAP_BITS 1024

void
detect_config_defaults(struct detect_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ddos_bytes_per_s = 100LL * 1000 * 1000 / 8; /* 100 Mbit/s to one host */
	c->ddos_packets_per_s = 50000;
	c->ddos_flows_per_s = 5000;
	c->ddos_window_s = 10;
	c->brute_failures = 20;
	c->brute_window_s = 300;
	c->scan_ports = 100;
	c->scan_hosts = 50;
	c->scan_window_s = 60;
	c->spam_messages = 50;
	c->spam_window_s = 300;
	c->beacon_min_count = 8;
	c->beacon_max_jitter = 0.1;
	c->beacon_min_interval_s = 10;
	c->max_keys = 65536;
}

void
detect_config_from(const struct config *cfg, struct detect_config *c)
{
	detect_config_defaults(c);
	c->ddos_bytes_per_s = cfg->detect_ddos_bytes_per_s;
	c->ddos_packets_per_s = cfg->detect_ddos_packets_per_s;
	c->ddos_flows_per_s = cfg->detect_ddos_flows_per_s;
	c->ddos_window_s = cfg->detect_ddos_window_s;
	c->brute_failures = cfg->detect_brute_failures;
	c->brute_window_s = cfg->detect_brute_window_s;
	c->scan_ports = cfg->detect_scan_ports;
	c->scan_hosts = cfg->detect_scan_hosts;
	c->scan_window_s = cfg->detect_scan_window_s;
	c->spam_messages = cfg->detect_spam_messages;
	c->spam_window_s = cfg->detect_spam_window_s;
	c->beacon_min_count = cfg->detect_beacon_min_count;
	c->beacon_min_interval_s = cfg->detect_beacon_min_interval_s;
	c->max_keys = (size_t)cfg->detect_max_keys;
}

/* ---- a count-min sketch for one window ---- */

struct cms {
	uint32_t c[CMS_DEPTH][CMS_WIDTH];
	int64_t window; /* window index the counts belong to */
};

static uint64_t
hash64(const void *p, size_t n, uint64_t seed)
{
	/* FNV-1a with a final mix: fast, good enough for bucketing. */
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ULL ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* Adds n to key and returns the estimate after adding. */
static uint32_t
cms_add(struct cms *s, int64_t window, const void *key, size_t len, uint32_t n)
{
	if (s->window != window) {
		memset(s->c, 0, sizeof(s->c));
		s->window = window;
	}
	uint64_t h = hash64(key, len, 0);
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;
	uint32_t est = UINT32_MAX;
	for (int d = 0; d < CMS_DEPTH; d++) {
		uint32_t *cell = &s->c[d][(h1 + (uint32_t)d * h2) % CMS_WIDTH];
		*cell = *cell > UINT32_MAX - n ? UINT32_MAX : *cell + n;
		if (*cell < est)
			est = *cell;
	}
	return est;
}

/* ---- a bounded table with LRU eviction ---- */

struct counter {
	int64_t window;
	double cur, prev;
	int64_t fired_window;
};

struct node {
	uint8_t key[34];
	uint8_t keylen;
	uint32_t next;        /* in the bucket chain; 0 = none (index+1 encoding) */
	uint32_t lru_prev, lru_next;
	union {
		struct counter cnt[3]; /* DDoS: bytes, packets, flows; others use [0] */
		struct {
			int64_t window, fired_window;
			uint8_t ports[BITMAP_BITS / 8];
			uint8_t hosts[BITMAP_BITS / 8];
		} scan;
		struct {
			int64_t last_ms, fired_n;
			int64_t n;
			double mean, m2;
		} beacon;
	} u;
};

struct table {
	struct node *nodes; /* max entries */
	uint32_t *buckets;  /* index+1 of the first node, 0 = empty */
	uint32_t nbuckets;
	uint32_t max, used, next_unused;
	uint32_t free_head;  /* index+1 of a free node chain (through next) */
	uint32_t lru_head, lru_tail; /* index+1; head is the most recent */
	uint64_t evictions;
};

static void
table_init(struct table *t, size_t max)
{
	t->max = (uint32_t)(max ? max : 1);
	t->nbuckets = 1;
	while (t->nbuckets < t->max * 2)
		t->nbuckets <<= 1;
	t->nodes = xcalloc(t->max, sizeof(struct node));
	t->buckets = xcalloc(t->nbuckets, sizeof(uint32_t));
}

static void
table_free(struct table *t)
{
	free(t->nodes);
	free(t->buckets);
}

static void
lru_unlink(struct table *t, uint32_t i)
{
	struct node *n = &t->nodes[i - 1];
	if (n->lru_prev)
		t->nodes[n->lru_prev - 1].lru_next = n->lru_next;
	else
		t->lru_head = n->lru_next;
	if (n->lru_next)
		t->nodes[n->lru_next - 1].lru_prev = n->lru_prev;
	else
		t->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = 0;
}

static void
lru_push_front(struct table *t, uint32_t i)
{
	struct node *n = &t->nodes[i - 1];
	n->lru_prev = 0;
	n->lru_next = t->lru_head;
	if (t->lru_head)
		t->nodes[t->lru_head - 1].lru_prev = i;
	t->lru_head = i;
	if (t->lru_tail == 0)
		t->lru_tail = i;
}

static uint32_t
bucket_of(const struct table *t, const void *key, size_t len)
{
	return (uint32_t)hash64(key, len, 7) & (t->nbuckets - 1);
}

static void
evict_oldest(struct table *t)
{
	uint32_t i = t->lru_tail;
	struct node *n = &t->nodes[i - 1];
	uint32_t *p = &t->buckets[bucket_of(t, n->key, n->keylen)];
	while (*p != i)
		p = &t->nodes[*p - 1].next;
	*p = n->next;
	lru_unlink(t, i);
	n->next = t->free_head;
	t->free_head = i;
	t->used--;
	t->evictions++;
}

/* Finds or makes the node for key; the node becomes the most recent. */
static struct node *
table_get(struct table *t, const void *key, size_t len, bool *created)
{
	uint32_t b = bucket_of(t, key, len);
	for (uint32_t i = t->buckets[b]; i; i = t->nodes[i - 1].next) {
		struct node *n = &t->nodes[i - 1];
		if (n->keylen == len && memcmp(n->key, key, len) == 0) {
			lru_unlink(t, i);
			lru_push_front(t, i);
			*created = false;
			return n;
		}
	}
	uint32_t i;
	if (t->free_head == 0 && t->next_unused < t->max) {
		i = ++t->next_unused; /* the pool is handed out in order once */
	} else {
		if (t->free_head == 0)
			evict_oldest(t);
		i = t->free_head;
		t->free_head = t->nodes[i - 1].next;
	}
	struct node *n = &t->nodes[i - 1];
	memset(n, 0, sizeof(*n));
	memcpy(n->key, key, len);
	n->keylen = (uint8_t)len;
	n->next = t->buckets[b];
	t->buckets[b] = i;
	lru_push_front(t, i);
	t->used++;
	*created = true;
	return n;
}

/* ---- the shard ---- */

struct detect_shard {
	struct detect_config c;
	struct table ddos, brute, scan, spam, beacon;
	struct cms ddos_cms, brute_cms, scan_cms, spam_cms, beacon_cms;
};

struct detect_shard *
detect_shard_new(const struct detect_config *c)
{
	struct detect_shard *s = xcalloc(1, sizeof(*s));
	s->c = *c;
	table_init(&s->ddos, c->max_keys);
	table_init(&s->brute, c->max_keys);
	table_init(&s->scan, c->max_keys);
	table_init(&s->spam, c->max_keys);
	table_init(&s->beacon, c->max_keys);
	return s;
}

void
detect_shard_free(struct detect_shard *s)
{
	if (s == NULL)
		return;
	table_free(&s->ddos);
	table_free(&s->brute);
	table_free(&s->scan);
	table_free(&s->spam);
	table_free(&s->beacon);
	free(s);
}

size_t
detect_shard_bytes(const struct detect_shard *s)
{
	size_t per = s->c.max_keys * sizeof(struct node) +
	             (size_t)s->ddos.nbuckets * sizeof(uint32_t);
	return sizeof(*s) + 5 * per;
}

uint64_t
detect_shard_evictions(const struct detect_shard *s)
{
	return s->ddos.evictions + s->brute.evictions + s->scan.evictions + s->spam.evictions +
	       s->beacon.evictions;
}

/* Advances a counter to the event's window and adds n; returns the
 * sliding-window estimate. */
static double
counter_add(struct counter *c, int64_t now_ms, int64_t window_s, double n)
{
	int64_t wms = window_s * 1000;
	int64_t w = now_ms / wms;
	if (w != c->window) {
		c->prev = (w == c->window + 1) ? c->cur : 0;
		c->cur = 0;
		c->window = w;
	}
	c->cur += n;
	double elapsed = (double)(now_ms % wms) / (double)wms;
	return c->cur + c->prev * (1.0 - elapsed);
}

static void
hit_fill(struct detect_hit *h, const char *rule, int sev, const struct ingest_event *ev,
         const struct ingest_ip *keyip, double value, double thr, const char *what)
{
	memset(h, 0, sizeof(*h));
	h->rule = rule;
	h->severity = sev;
	h->src = ev->src_ip;
	h->dst = ev->dst_ip;
	ingest_ip_format(keyip, h->key, sizeof(h->key));
	h->value = value;
	h->threshold = thr;
	snprintf(h->detail, sizeof(h->detail), "%s %s: %.0f (threshold %.0f)", what, h->key, value,
	         thr);
}

/* A counting detector keyed by one address: sketch first, then a table. */
static int
count_rule(struct table *t, struct cms *cms, const struct ingest_ip *keyip, int64_t now_ms,
           int64_t window_s, double n, int64_t threshold, int slot, double *est_out)
{
	int64_t window = now_ms / (window_s * 1000);
	uint32_t seen = cms_add(cms, window, keyip->a, 16, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
	/* Not yet a heavy hitter in this window: no entry. A key that was one
	 * in the last window keeps its entry, so the estimate stays right. */
	bool created;
	if ((double)seen * 8 < (double)threshold) {
		uint32_t b = bucket_of(t, keyip->a, 16);
		bool present = false;
		for (uint32_t i = t->buckets[b]; i && !present; i = t->nodes[i - 1].next)
			present = memcmp(t->nodes[i - 1].key, keyip->a, 16) == 0;
		if (!present)
			return 0;
	}
	struct node *nd = table_get(t, keyip->a, 16, &created);
	struct counter *c = &nd->u.cnt[slot];
	/* A new entry starts from what the sketch counted in this window, so
	 * the events before promotion are not lost. */
	double est = counter_add(c, now_ms, window_s, created ? (double)seen : n);
	*est_out = est;
	if (est >= (double)threshold && c->fired_window != c->window) {
		c->fired_window = c->window;
		return 1;
	}
	return 0;
}

static void
bit_set(uint8_t *bm, const void *p, size_t n)
{
	uint32_t h = (uint32_t)hash64(p, n, 3) % BITMAP_BITS;
	bm[h / 8] |= (uint8_t)(1u << (h % 8));
}

/* Linear counting: distinct values from the share of bits still clear. */
static double
bit_estimate(const uint8_t *bm)
{
	int zeros = 0;
	for (int i = 0; i < BITMAP_BITS / 8; i++)
		zeros += 8 - __builtin_popcount(bm[i]);
	if (zeros == 0)
		zeros = 1;
	return -(double)BITMAP_BITS * log((double)zeros / BITMAP_BITS);
}

static int
feed_scan(struct detect_shard *s, const struct ingest_event *ev, struct detect_hit *hits, int max)
{
	const struct detect_config *c = &s->c;
	if ((c->scan_ports == 0 && c->scan_hosts == 0) || ev->src_ip.family == 0 ||
	    ev->dst_ip.family == 0)
		return 0;
	/* Connection attempts: flows, alerts, honeypot connects. */
	if (ev->kind != INGEST_EV_FLOW && ev->kind != INGEST_EV_CONNECT && ev->kind != INGEST_EV_ALERT &&
	    ev->kind != INGEST_EV_LOG)
		return 0;
	int64_t wms = c->scan_window_s * 1000;
	int64_t w = ev->ts_ms / wms;
	int64_t lo = c->scan_ports && c->scan_hosts
	                 ? (c->scan_ports < c->scan_hosts ? c->scan_ports : c->scan_hosts)
	                 : (c->scan_ports ? c->scan_ports : c->scan_hosts);
	uint32_t seen = cms_add(&s->scan_cms, w, ev->src_ip.a, 16, 1);
	if ((int64_t)seen * 4 < lo)
		return 0;
	bool created;
	struct node *nd = table_get(&s->scan, ev->src_ip.a, 16, &created);
	if (nd->u.scan.window != w) {
		memset(nd->u.scan.ports, 0, sizeof(nd->u.scan.ports));
		memset(nd->u.scan.hosts, 0, sizeof(nd->u.scan.hosts));
		nd->u.scan.window = w;
	}
	bit_set(nd->u.scan.ports, &ev->dst_port, sizeof(ev->dst_port));
	bit_set(nd->u.scan.hosts, ev->dst_ip.a, 16);
	if (nd->u.scan.fired_window == w)
		return 0;
	double ports = bit_estimate(nd->u.scan.ports), hosts = bit_estimate(nd->u.scan.hosts);
	int n = 0;
	if (c->scan_ports && ports >= (double)c->scan_ports && n < max) {
		hit_fill(&hits[n++], "scan.ports", 3, ev, &ev->src_ip, ports, (double)c->scan_ports,
		         "distinct destination ports from");
		nd->u.scan.fired_window = w;
	} else if (c->scan_hosts && hosts >= (double)c->scan_hosts && n < max) {
		hit_fill(&hits[n++], "scan.hosts", 3, ev, &ev->src_ip, hosts, (double)c->scan_hosts,
		         "distinct destination hosts from");
		nd->u.scan.fired_window = w;
	}
	return n;
}

static int
feed_beacon(struct detect_shard *s, const struct ingest_event *ev, struct detect_hit *hits,
            int max)
{
	const struct detect_config *c = &s->c;
	if (c->beacon_min_count == 0 || max == 0)
		return 0;
	if (ev->kind != INGEST_EV_FLOW && ev->kind != INGEST_EV_TLS && ev->kind != INGEST_EV_HTTP &&
	    ev->kind != INGEST_EV_DNS)
		return 0;
	/* From one internal host to one external address. */
	if (!ingest_ip_private(&ev->src_ip) || ev->dst_ip.family == 0 ||
	    ingest_ip_private(&ev->dst_ip))
		return 0;
	uint8_t key[32];
	memcpy(key, ev->src_ip.a, 16);
	memcpy(key + 16, ev->dst_ip.a, 16);
	/* Nearly every pair of an internal host and an outside address is seen
	 * a few times only: a pair gets an entry from its third connection in
	 * an hour, so one-off pairs cost a sketch increment. */
	if (cms_add(&s->beacon_cms, ev->ts_ms / 3600000, key, sizeof(key), 1) < 3) {
		uint32_t b = bucket_of(&s->beacon, key, sizeof(key));
		bool present = false;
		for (uint32_t i = s->beacon.buckets[b]; i && !present; i = s->beacon.nodes[i - 1].next)
			present = memcmp(s->beacon.nodes[i - 1].key, key, sizeof(key)) == 0;
		if (!present)
			return 0;
	}
	bool created;
	struct node *nd = table_get(&s->beacon, key, sizeof(key), &created);
	if (created) {
		nd->u.beacon.last_ms = ev->ts_ms;
		return 0;
	}
	double dt = (double)(ev->ts_ms - nd->u.beacon.last_ms) / 1000.0;
	if (dt <= 0)
		return 0; /* the same connection reported twice, or out of order */
	nd->u.beacon.last_ms = ev->ts_ms;
	/* Welford's running mean and variance of the intervals. */
	nd->u.beacon.n++;
	double d = dt - nd->u.beacon.mean;
	nd->u.beacon.mean += d / (double)nd->u.beacon.n;
	nd->u.beacon.m2 += d * (dt - nd->u.beacon.mean);
	int64_t n = nd->u.beacon.n;
	if (n + 1 < c->beacon_min_count || nd->u.beacon.mean < (double)c->beacon_min_interval_s)
		return 0;
	double sd = n > 1 ? sqrt(nd->u.beacon.m2 / (double)(n - 1)) : 0;
	double jitter = sd / nd->u.beacon.mean;
	/* Fire when first regular, then again each time the count doubles. */
	if (jitter <= c->beacon_max_jitter && n >= nd->u.beacon.fired_n * 2) {
		nd->u.beacon.fired_n = n ? n : 1;
		struct detect_hit *h = &hits[0];
		hit_fill(h, "beacon", 2, ev, &ev->src_ip, (double)(n + 1), (double)c->beacon_min_count,
		         "regular connections from");
		char dst[46];
		ingest_ip_format(&ev->dst_ip, dst, sizeof(dst));
		char src[46];
		ingest_ip_format(&ev->src_ip, src, sizeof(src));
		snprintf(h->key, sizeof(h->key), "%s>%s", src, dst);
		snprintf(h->detail, sizeof(h->detail),
		         "%lld connections from %s to %s every %.1f s (jitter %.3f)", (long long)(n + 1),
		         src, dst, nd->u.beacon.mean, jitter);
		return 1;
	}
	return 0;
}

int
detect_shard_feed(struct detect_shard *s, const struct ingest_event *ev, struct detect_hit *hits,
                  int max)
{
	const struct detect_config *c = &s->c;
	int n = 0;
	double est;
	if (ev->kind == INGEST_EV_FLOW && ev->dst_ip.family && c->ddos_window_s > 0) {
		struct {
			int64_t thr;
			double v;
			const char *what;
		} m[3] = {
			{c->ddos_bytes_per_s, (double)(ev->bytes_to_server + ev->bytes_to_client),
			 "bytes per second to"},
			{c->ddos_packets_per_s, (double)(ev->pkts_to_server + ev->pkts_to_client),
			 "packets per second to"},
			{c->ddos_flows_per_s, 1, "flows per second to"},
		};
		for (int i = 0; i < 3 && n < max; i++) {
			if (m[i].thr == 0)
				continue;
			int64_t thr_window = m[i].thr * c->ddos_window_s;
			/* One sketch for the three measures: key differs by slot. */
			struct ingest_ip k = ev->dst_ip;
			k.a[0] ^= (uint8_t)(i + 1) << 5;
			if (count_rule(&s->ddos, &s->ddos_cms, &k, ev->ts_ms, c->ddos_window_s, m[i].v,
			               thr_window, 0, &est)) {
				hit_fill(&hits[n++], "ddos.volume", 1, ev, &ev->dst_ip,
				         est / (double)c->ddos_window_s, (double)m[i].thr, m[i].what);
			}
		}
	}
	if (ev->kind == INGEST_EV_LOGIN_FAILED && c->brute_failures && ev->src_ip.family && n < max &&
	    count_rule(&s->brute, &s->brute_cms, &ev->src_ip, ev->ts_ms, c->brute_window_s, 1,
	               c->brute_failures, 0, &est))
		hit_fill(&hits[n++], "bruteforce", 2, ev, &ev->src_ip, est, (double)c->brute_failures,
		         "failed logins from");
	if (ev->kind == INGEST_EV_SPAM && c->spam_messages && ev->src_ip.family && n < max &&
	    count_rule(&s->spam, &s->spam_cms, &ev->src_ip, ev->ts_ms, c->spam_window_s, 1,
	               c->spam_messages, 0, &est))
		hit_fill(&hits[n++], "spam.burst", 3, ev, &ev->src_ip, est, (double)c->spam_messages,
		         "messages from");
	if (n < max)
		n += feed_scan(s, ev, hits + n, max - n);
	if (n < max)
		n += feed_beacon(s, ev, hits + n, max - n);
	return n;
}
