/*
 * detect_pipeline.c - the SOC pipeline: batches of lines from the
 * listeners and the spool are decoded and enriched by decode threads, then
 * sharded by source address to detector threads, each of which owns its
 * threshold state and its matcher state; hits become alerts through the
 * alert writer. Stages are joined by bounded queues: when detectors fall
 * behind, decoders wait, the input queue fills, and the listeners stop
 * reading (TCP back-pressure) or drop and count (UDP).
 *
 * Events are decoded in place into arrays that travel between stages by
 * pointer; an event's strings point into its batch's lines, so a batch
 * lives until every shard is done with its events, and only then is it
 * acknowledged to the spool.
 */
#include "detect/detect_int.h"
#include "stix/stix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EV_CHUNK 256
#define SHARD_QUEUE 64
#define INPUT_QUEUE 256
#define MAX_SHARDS 32
#define MAX_DECODERS 16
#define MATCH_HITS 8 /* matcher hits kept per event */

/* The lines of one ingest batch, alive while any of its events are. */
struct line_batch {
	struct ingest_batch *b;
	_Atomic int refs;
};

/* Up to EV_CHUNK decoded events; each shard gets a list of indices. */
struct ev_chunk {
	struct line_batch *lines;
	struct ingest_event ev[EV_CHUNK];
	int n;
	uint16_t idx[MAX_SHARDS][EV_CHUNK];
	int nidx[MAX_SHARDS];
	_Atomic int refs;
};

struct shard_work {
	struct ev_chunk *chunk;
	int shard;
};

struct shard {
	struct detect_pipeline *p;
	int id;
	struct queue *q;
	pthread_t thread;
	struct detect_shard *thr;
	struct detect_match_state *mstate;
	/* The matcher's hits for the chunk's events, by position in it. */
	struct detect_match_hit mh[EV_CHUNK][MATCH_HITS];
	int nm[EV_CHUNK];
	_Atomic uint64_t events, hits;
};

struct detect_pipeline {
	const struct config *cfg;
	struct ingest *ingest;
	struct detect_alerts *alerts;
	struct detect_feed *feed; /* NULL: no indicator matching */
	struct detect_matcher_live *matcher;
	struct queue *input;
	struct queue *free_chunks;
	int ndecoders, nshards;
	pthread_t decoders[MAX_DECODERS];
	struct shard shards[MAX_SHARDS];
	pthread_t housekeeper;
	pthread_mutex_t hk_mu;
	pthread_cond_t hk_cond;
	bool stopping;
	bool started;
	struct detect_config dcfg;
	_Atomic uint64_t decoded, decode_errors, skipped, chunks_in_flight;
};

static void
line_batch_release(struct detect_pipeline *p, struct line_batch *lb)
{
	if (atomic_fetch_sub(&lb->refs, 1) == 1) {
		ingest_batch_done(p->ingest, lb->b);
		free(lb);
	}
}

static void
chunk_release(struct detect_pipeline *p, struct ev_chunk *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	line_batch_release(p, c->lines);
	atomic_fetch_sub(&p->chunks_in_flight, 1);
	if (queue_try_push(p->free_chunks, c) != 0)
		free(c);
}

static struct ev_chunk *
chunk_get(struct detect_pipeline *p)
{
	struct ev_chunk *c = NULL;
	if (queue_len(p->free_chunks) > 0)
		c = queue_pop(p->free_chunks);
	if (c == NULL)
		c = xmalloc(sizeof(*c));
	c->n = 0;
	memset(c->nidx, 0, sizeof(c->nidx));
	atomic_store(&c->refs, 0);
	atomic_fetch_add(&p->chunks_in_flight, 1);
	return c;
}

static int
shard_of(const struct detect_pipeline *p, const struct ingest_event *ev)
{
	/* By source address, so a source's state lives in one shard. */
	uint64_t h = 1469598103934665603ULL;
	for (int i = 0; i < 16; i++) {
		h ^= ev->src_ip.a[i];
		h *= 1099511628211ULL;
	}
	return (int)(h % (uint64_t)p->nshards);
}

/* Sends a full chunk to the shards that have events in it. */
static void
chunk_dispatch(struct detect_pipeline *p, struct ev_chunk *c)
{
	int targets = 0;
	for (int s = 0; s < p->nshards; s++)
		targets += c->nidx[s] > 0;
	if (targets == 0) {
		atomic_store(&c->refs, 1);
		chunk_release(p, c);
		return;
	}
	atomic_store(&c->refs, targets);
	for (int s = 0; s < p->nshards; s++) {
		if (c->nidx[s] == 0)
			continue;
		struct shard_work *w = xmalloc(sizeof(*w));
		w->chunk = c;
		w->shard = s;
		if (queue_push(p->shards[s].q, w) != 0) {
			free(w);
			chunk_release(p, c);
		}
	}
}

static void
decode_batch(struct detect_pipeline *p, struct ingest_batch *b)
{
	struct line_batch *lb = xmalloc(sizeof(*lb));
	lb->b = b;
	atomic_store(&lb->refs, 1); /* held by this function until the end */
	struct ev_chunk *c = NULL;
	uint64_t lines = 0, events = 0;
	for (size_t pos = 0; pos < b->len;) {
		char *nl = memchr(b->data + pos, '\n', b->len - pos);
		size_t end = nl ? (size_t)(nl - b->data) : b->len;
		size_t len = end - pos;
		if (len && b->data[pos + len - 1] == '\r')
			len--;
		if (len == 0) {
			pos = end + 1;
			continue;
		}
		lines++;
		if (c == NULL) {
			c = chunk_get(p);
			c->lines = lb;
			atomic_fetch_add(&lb->refs, 1);
		}
		struct ingest_event *ev = &c->ev[c->n];
		struct ingest_decode_err de = {"", 0};
		if (ingest_decode(b->fmt, b->data + pos, len, b->mapping, ev, &de) != 0) {
			atomic_fetch_add(&p->decode_errors, 1);
			ingest_decode_failed(p->ingest, b->sensor_id, b->data + pos, len,
			                     b->stream_offset + pos, &de);
		} else if (ev->kind == INGEST_EV_NONE) {
			atomic_fetch_add(&p->skipped, 1);
		} else {
			ev->sensor_id = b->sensor_id;
			ev->org_id = b->org_id;
			ingest_enrich(p->ingest, ev);
			int s = shard_of(p, ev);
			c->idx[s][c->nidx[s]++] = (uint16_t)c->n;
			c->n++;
			events++;
			if (c->n == EV_CHUNK) {
				chunk_dispatch(p, c);
				c = NULL;
			}
		}
		pos = end + 1;
	}
	if (c)
		chunk_dispatch(p, c);
	atomic_fetch_add(&p->decoded, events);
	ingest_count(p->ingest, b->sensor_id, lines, b->len);
	line_batch_release(p, lb);
}

static void *
decoder_main(void *arg)
{
	struct detect_pipeline *p = arg;
	struct ingest_batch *b;
	while ((b = queue_pop(p->input)) != NULL)
		decode_batch(p, b);
	return NULL;
}

static const char *
rule_of_match(void)
{
	return "indicator";
}

/* One event through the threshold detectors, with what the matcher
 * found for it: alerts for both. */
static void
detect_one(struct shard *sh, const struct ingest_event *ev, const struct detect_match_hit *mh,
           int nm)
{
	struct detect_pipeline *p = sh->p;
	struct detect_hit hits[8];
	int n = detect_shard_feed(sh->thr, ev, hits, 8);
	if (n == 0 && nm == 0)
		return;
	json_t *evidence = ingest_event_to_json(ev);
	/* The alert belongs to the organisation attacked when it is a member,
	 * else to the sensor's. */
	int64_t org = ev->dst_owner_org ? ev->dst_owner_org : ev->org_id;
	for (int i = 0; i < n; i++) {
		struct detect_alert_in a = {
			.rule = hits[i].rule,
			.severity = hits[i].severity,
			.sensor_id = ev->sensor_id,
			.org_id = org,
			.src = hits[i].src,
			.dst = hits[i].dst,
			.key = hits[i].key,
			.detail = hits[i].detail,
			.ts_ms = ev->ts_ms,
			.count = 1,
			.evidence = evidence,
		};
		detect_alerts_raise(p->alerts, &a);
	}
	for (int i = 0; i < nm; i++) {
		char src[46] = "", key[STIX_ID_MAX + 64], detail[256];
		if (ev->src_ip.family)
			ingest_ip_format(&ev->src_ip, src, sizeof(src));
		snprintf(key, sizeof(key), "%s|%s", mh[i].indicator_id, src);
		snprintf(detail, sizeof(detail), "event matched indicator %s (observation %u)",
		         mh[i].indicator_id, mh[i].observation + 1);
		struct detect_alert_in a = {
			.rule = rule_of_match(),
			.severity = 2,
			.sensor_id = ev->sensor_id,
			.org_id = org,
			.src = ev->src_ip,
			.dst = ev->dst_ip,
			.key = key,
			.indicator_id = mh[i].indicator_id,
			.detail = detail,
			.ts_ms = ev->ts_ms,
			.count = 1,
			.evidence = evidence,
		};
		detect_alerts_raise(p->alerts, &a);
	}
	json_decref(evidence);
	atomic_fetch_add(&sh->hits, (uint64_t)(n + nm));
}

static void
keep_hits(void *arg, size_t i, const struct detect_match_hit *hits, int n)
{
	struct shard *sh = arg;
	if (n > MATCH_HITS)
		n = MATCH_HITS;
	memcpy(sh->mh[i], hits, (size_t)n * sizeof(*hits));
	sh->nm[i] = n;
}

/* The shard's events of a chunk: the matcher takes them as one batch
 * (its hits name indicators of the matcher held until the end). */
static void
detect_chunk(struct shard *sh, const struct ev_chunk *c, int shard)
{
	struct detect_pipeline *p = sh->p;
	int n = c->nidx[shard];
	const struct ingest_event *ev[EV_CHUNK];
	for (int i = 0; i < n; i++) {
		ev[i] = &c->ev[c->idx[shard][i]];
		sh->nm[i] = 0;
	}
	unsigned token = 0;
	const struct detect_matcher *m =
		p->matcher ? detect_matcher_live_acquire(p->matcher, &token) : NULL;
	if (m)
		detect_matcher_match_batch(m, sh->mstate, ev, (size_t)n, MATCH_HITS, keep_hits, sh);
	for (int i = 0; i < n; i++)
		detect_one(sh, ev[i], sh->mh[i], sh->nm[i]);
	if (p->matcher)
		detect_matcher_live_release(p->matcher, token);
}

static void *
shard_main(void *arg)
{
	struct shard *sh = arg;
	struct shard_work *w;
	while ((w = queue_pop(sh->q)) != NULL) {
		struct ev_chunk *c = w->chunk;
		detect_chunk(sh, c, w->shard);
		atomic_fetch_add(&sh->events, (uint64_t)c->nidx[w->shard]);
		chunk_release(sh->p, c);
		free(w);
	}
	return NULL;
}

static void *
housekeeper_main(void *arg)
{
	struct detect_pipeline *p = arg;
	int64_t last = time_mono_ns();
	pthread_mutex_lock(&p->hk_mu);
	while (!p->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->hk_cond, &p->hk_mu, &ts);
		if (p->stopping)
			break;
		pthread_mutex_unlock(&p->hk_mu);
		int64_t now = time_mono_ns();
		ingest_housekeeping(p->ingest, (double)(now - last) / 1e9);
		last = now;
		pthread_mutex_lock(&p->hk_mu);
	}
	pthread_mutex_unlock(&p->hk_mu);
	return NULL;
}

struct queue *
detect_pipeline_input(struct detect_pipeline *p)
{
	return p->input;
}

void
detect_pipeline_set_matcher(struct detect_pipeline *p, struct detect_matcher_live *live)
{
	p->matcher = live;
}

uint64_t
detect_pipeline_events(struct detect_pipeline *p)
{
	uint64_t n = 0;
	for (int s = 0; s < p->nshards; s++)
		n += atomic_load(&p->shards[s].events);
	return n;
}

struct detect_pipeline *
detect_pipeline_new(const struct config *cfg, struct detect_alerts *alerts,
                    struct detect_feed *feed)
{
	struct detect_pipeline *p = xcalloc(1, sizeof(*p));
	p->cfg = cfg;
	p->alerts = alerts;
	p->feed = feed;
	p->matcher = feed ? detect_feed_live(feed) : NULL;
	p->input = queue_new(INPUT_QUEUE);
	p->free_chunks = queue_new(64);
	p->ndecoders = (int)cfg->detect_decoders;
	p->nshards = (int)cfg->detect_threads;
	if (p->ndecoders < 1 || p->ndecoders > MAX_DECODERS)
		p->ndecoders = 1;
	if (p->nshards < 1 || p->nshards > MAX_SHARDS)
		p->nshards = 1;
	detect_config_from(cfg, &p->dcfg);
	pthread_mutex_init(&p->hk_mu, NULL);
	pthread_cond_init(&p->hk_cond, NULL);
	return p;
}

int
detect_pipeline_start(struct detect_pipeline *p, struct ingest *in, struct err *e)
{
	p->ingest = in;
	for (int s = 0; s < p->nshards; s++) {
		struct shard *sh = &p->shards[s];
		sh->p = p;
		sh->id = s;
		sh->q = queue_new(SHARD_QUEUE);
		sh->thr = detect_shard_new(&p->dcfg);
		sh->mstate = p->matcher ? detect_match_state_new(65536, 16) : NULL;
		if (pthread_create(&sh->thread, NULL, shard_main, sh) != 0) {
			err_set(e, "cannot start a detector thread");
			return -1;
		}
	}
	for (int d = 0; d < p->ndecoders; d++)
		if (pthread_create(&p->decoders[d], NULL, decoder_main, p) != 0) {
			err_set(e, "cannot start a decoder thread");
			return -1;
		}
	if (pthread_create(&p->housekeeper, NULL, housekeeper_main, p) != 0) {
		err_set(e, "cannot start the housekeeping thread");
		return -1;
	}
	p->started = true;
	return 0;
}

/* Drains everything queued (the listeners must be stopped first), then
 * stops the threads. */
void
detect_pipeline_stop(struct detect_pipeline *p)
{
	if (!p->started)
		return; /* a failed start is not unwound thread by thread: the process exits */
	p->started = false;
	queue_close(p->input);
	for (int d = 0; d < p->ndecoders; d++)
		pthread_join(p->decoders[d], NULL);
	for (int s = 0; s < p->nshards; s++) {
		queue_close(p->shards[s].q);
		pthread_join(p->shards[s].thread, NULL);
	}
	pthread_mutex_lock(&p->hk_mu);
	p->stopping = true;
	pthread_cond_signal(&p->hk_cond);
	pthread_mutex_unlock(&p->hk_mu);
	pthread_join(p->housekeeper, NULL);
	detect_alerts_flush(p->alerts);
}

void
detect_pipeline_free(struct detect_pipeline *p)
{
	if (p == NULL)
		return;
	for (int s = 0; s < p->nshards; s++) {
		if (p->shards[s].q == NULL)
			continue;
		queue_free(p->shards[s].q);
		detect_shard_free(p->shards[s].thr);
		if (p->shards[s].mstate)
			detect_match_state_free(p->shards[s].mstate);
	}
	struct ev_chunk *c;
	queue_close(p->free_chunks);
	while ((c = queue_pop(p->free_chunks)) != NULL)
		free(c);
	queue_free(p->free_chunks);
	queue_free(p->input);
	pthread_mutex_destroy(&p->hk_mu);
	pthread_cond_destroy(&p->hk_cond);
	free(p);
}

void
detect_pipeline_metrics(struct buf *out, void *arg)
{
	struct detect_pipeline *p = arg;
	buf_printf(out,
	           "# HELP ciip_events_decoded_total Events decoded and passed to detection.\n"
	           "# TYPE ciip_events_decoded_total counter\nciip_events_decoded_total %llu\n"
	           "# HELP ciip_events_skipped_total Well-formed records with nothing to detect.\n"
	           "# TYPE ciip_events_skipped_total counter\nciip_events_skipped_total %llu\n"
	           "# HELP ciip_decode_errors_total Lines that did not decode.\n"
	           "# TYPE ciip_decode_errors_total counter\nciip_decode_errors_total %llu\n"
	           "# HELP ciip_pipeline_queue_length Batches waiting for a decoder.\n"
	           "# TYPE ciip_pipeline_queue_length gauge\nciip_pipeline_queue_length %zu\n",
	           (unsigned long long)p->decoded, (unsigned long long)p->skipped,
	           (unsigned long long)p->decode_errors, queue_len(p->input));
	buf_puts(out, "# HELP ciip_detector_events_total Events examined per detector thread.\n"
	              "# TYPE ciip_detector_events_total counter\n");
	for (int s = 0; s < p->nshards; s++)
		buf_printf(out, "ciip_detector_events_total{shard=\"%d\"} %llu\n", s,
		           (unsigned long long)p->shards[s].events);
}

void
detect_pipeline_drain(struct detect_pipeline *p)
{
	/* Until nothing is queued or being worked on three checks in a row
	 * (a batch between the queue and a chunk shows as neither), then the
	 * alerts. For tests and benchmarks. */
	for (int quiet = 0; quiet < 3;) {
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
		bool idle = queue_len(p->input) == 0 && atomic_load(&p->chunks_in_flight) == 0;
		quiet = idle ? quiet + 1 : 0;
	}
	detect_alerts_flush(p->alerts);
}
