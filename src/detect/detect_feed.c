/*
 * detect_feed.c - keeps the compiled matcher in step with the STIX store.
 * At start and whenever indicators were deleted (the count dropped) or at
 * the next validity boundary, all indicators are compiled afresh; in
 * between, each poll (twice a second) compiles only the versions added
 * since the last one into the matcher's small update layer. Either way the
 * new matcher is built beside the old and swapped in: matching never
 * pauses, and a change reaches it within a second.
 */
#include "detect/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taxii/taxii.h"

/* Indicators collected from the store before a build. The strings are
 * copies: the store's are borrowed only for the callback. */
struct collect {
	struct detect_indicator *ind;
	char **strs;
	size_t n, cap;
	size_t skipped;
};

static int64_t
ts_ms(const json_t *o, const char *key, int64_t dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	int64_t ms;
	if (s && time_parse_rfc3339(s, &ms) == 0)
		return ms;
	return dflt;
}

static void
collect_one(void *ctx, const char *json, size_t len, int64_t org_id, int tlp)
{
	struct collect *c = ctx;
	json_t *o = json_loadb(json, len, 0, NULL);
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *pattern = json_string_value(json_object_get(o, "pattern"));
	const char *ptype = json_string_value(json_object_get(o, "pattern_type"));
	if (id == NULL || pattern == NULL || (ptype && strcmp(ptype, "stix") != 0)) {
		c->skipped++;
		json_decref(o);
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->ind = xrealloc(c->ind, c->cap * sizeof(*c->ind));
		c->strs = xrealloc(c->strs, c->cap * 2 * sizeof(char *));
	}
	struct detect_indicator *d = &c->ind[c->n];
	c->strs[c->n * 2] = xstrdup(id);
	c->strs[c->n * 2 + 1] = xstrdup(pattern);
	d->id = c->strs[c->n * 2];
	d->pattern = c->strs[c->n * 2 + 1];
	d->valid_from_ms = ts_ms(o, "valid_from", 0);
	d->valid_until_ms = ts_ms(o, "valid_until", 0);
	d->revoked = json_is_true(json_object_get(o, "revoked"));
	d->org_id = org_id;
	d->tlp = tlp;
	c->n++;
	json_decref(o);
}

static void
collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n * 2; i++)
		free(c->strs[i]);
	free(c->strs);
	free(c->ind);
	memset(c, 0, sizeof(*c));
}

struct detect_feed {
	struct store *st;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping;
	struct detect_matcher_live *live;
	int64_t last_row;
	int64_t count;
	int64_t next_full_ms; /* a validity boundary or a periodic refresh */
	struct detect_matcher_stats stats;
	_Atomic uint64_t reloads, updates, errors;
};

static int
full_reload(struct detect_feed *f, struct err *e)
{
	struct collect c = {0};
	int64_t last = 0;
	if (taxii_indicators_each(f->st, 0, collect_one, &c, &last, e) != 0) {
		collect_free(&c);
		return -1;
	}
	int64_t now = time_now_ms();
	struct detect_matcher_stats st;
	struct detect_matcher *m = detect_matcher_build(c.ind, c.n, now, &st, e);
	collect_free(&c);
	if (m == NULL)
		return -1;
	detect_matcher_live_swap(f->live, m);
	f->last_row = last;
	f->count = taxii_indicators_count(f->st);
	f->stats = st;
	/* Rebuild at the next validity boundary, and at least every 10 minutes. */
	f->next_full_ms = now + 600000;
	if (st.next_change_ms < f->next_full_ms)
		f->next_full_ms = st.next_change_ms;
	f->reloads++;
	log_info("detect", "matcher: %zu active indicators compiled in %lld ms (%zu inactive, %zu "
	                   "did not parse%s%s)",
	         st.active, (long long)st.build_ms, st.inactive, st.parse_errors,
	         st.first_error[0] ? "; first: " : "", st.first_error);
	return 0;
}

/* The feed's thread: the first full build (which takes a while for a
 * million indicators, and must not hold up the node's start), then a poll
 * twice a second. */
static void *
feed_main(void *arg)
{
	struct detect_feed *f = arg;
	pthread_mutex_lock(&f->mu);
	while (!f->stopping) {
		pthread_mutex_unlock(&f->mu);
		detect_feed_poll(f);
		pthread_mutex_lock(&f->mu);
		if (f->stopping)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&f->cond, &f->mu, &ts);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

struct detect_feed *
detect_feed_new(struct store *st, struct err *e)
{
	struct detect_feed *f = xcalloc(1, sizeof(*f));
	f->st = st;
	f->live = detect_matcher_live_new(NULL);
	f->next_full_ms = 0; /* the first poll builds everything */
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cond, NULL);
	if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
		err_set(e, "cannot start the matcher feed");
		detect_matcher_live_free(f->live);
		free(f);
		return NULL;
	}
	f->running = true;
	return f;
}

struct detect_matcher_live *
detect_feed_live(struct detect_feed *f)
{
	return f->live;
}

void
detect_feed_poll(struct detect_feed *f)
{
	struct err e;
	err_clear(&e);
	int64_t now = time_now_ms();
	int64_t count = taxii_indicators_count(f->st);
	if (now >= f->next_full_ms || count < f->count) {
		if (full_reload(f, &e) != 0) {
			f->errors++;
			log_warnx("detect", "matcher reload failed: %s", e.msg);
		}
		return;
	}
	struct collect c = {0};
	int64_t last = f->last_row;
	if (taxii_indicators_each(f->st, f->last_row, collect_one, &c, &last, &e) != 0) {
		f->errors++;
		collect_free(&c);
		return;
	}
	if (c.n > 0) {
		struct detect_matcher_stats st;
		if (detect_matcher_live_update(f->live, c.ind, c.n, now, &st, &e) != 0) {
			f->errors++;
			log_warnx("detect", "matcher update failed: %s", e.msg);
		} else {
			f->updates++;
			f->stats = st;
			if (st.next_change_ms < f->next_full_ms)
				f->next_full_ms = st.next_change_ms;
			log_debug("detect", "matcher: %zu indicators updated", c.n);
		}
	}
	f->last_row = last;
	f->count = count;
	collect_free(&c);
}

void
detect_feed_free(struct detect_feed *f)
{
	if (f == NULL)
		return;
	if (f->running) {
		pthread_mutex_lock(&f->mu);
		f->stopping = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->thread, NULL);
	}
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cond);
	detect_matcher_live_free(f->live);
	free(f);
}

void
detect_feed_metrics(struct buf *out, void *arg)
{
	struct detect_feed *f = arg;
	buf_printf(out,
	           "# HELP ciip_matcher_indicators Active indicators compiled into the matcher.\n"
	           "# TYPE ciip_matcher_indicators gauge\nciip_matcher_indicators %zu\n"
	           "# HELP ciip_matcher_reloads_total Full matcher builds.\n"
	           "# TYPE ciip_matcher_reloads_total counter\nciip_matcher_reloads_total %llu\n"
	           "# HELP ciip_matcher_updates_total Incremental matcher updates.\n"
	           "# TYPE ciip_matcher_updates_total counter\nciip_matcher_updates_total %llu\n",
	           f->stats.active, (unsigned long long)f->reloads, (unsigned long long)f->updates);
}
