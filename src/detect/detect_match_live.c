/*
 * detect_match_live.c - the matcher in use, replaceable while lookups run.
 *
 * Two slots, each with a count of readers, and an index saying which slot
 * is current. A reader counts itself into the current slot and checks that
 * the index did not move meanwhile (else it counts itself out and tries
 * again), so it never waits for a writer. A writer (one at a time) puts the
 * new matcher in the other slot once that slot has no readers, flips the
 * index, then waits for the old slot's readers to leave and frees the old
 * matcher. Readers hold a matcher for a batch of events, so the writer waits
 * for at most one batch; a reader that slipped into a slot the writer is
 * draining sees the index moved and leaves without touching the slot.
 *
 * All atomics are sequentially consistent: the writer's store of the slot
 * happens before its store of the index, which a reader loads before it
 * reads the slot.
 */
#include "detect/detect_match_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct detect_matcher_live {
	_Atomic unsigned idx;
	_Atomic long readers[2];
	struct detect_matcher *_Atomic slot[2];
	pthread_mutex_t mu; /* writers */
};

struct detect_matcher_live *
detect_matcher_live_new(struct detect_matcher *initial)
{
	struct detect_matcher_live *l = xcalloc(1, sizeof(*l));
	if (initial == NULL) {
		struct err e;
		initial = detect_matcher_build(NULL, 0, 0, NULL, &e);
		if (initial == NULL)
			abort(); /* an empty build compiles nothing */
	}
	atomic_init(&l->idx, 0);
	atomic_init(&l->readers[0], 0);
	atomic_init(&l->readers[1], 0);
	atomic_init(&l->slot[0], initial);
	atomic_init(&l->slot[1], NULL);
	pthread_mutex_init(&l->mu, NULL);
	return l;
}

void
detect_matcher_live_free(struct detect_matcher_live *l)
{
	if (l == NULL)
		return;
	detect_matcher_free(atomic_load(&l->slot[0]));
	detect_matcher_free(atomic_load(&l->slot[1]));
	pthread_mutex_destroy(&l->mu);
	free(l);
}

const struct detect_matcher *
detect_matcher_live_acquire(struct detect_matcher_live *l, unsigned *token)
{
	for (;;) {
		unsigned i = atomic_load(&l->idx);
		atomic_fetch_add(&l->readers[i], 1);
		if (atomic_load(&l->idx) == i) {
			*token = i;
			return atomic_load(&l->slot[i]);
		}
		atomic_fetch_sub(&l->readers[i], 1);
	}
}

void
detect_matcher_live_release(struct detect_matcher_live *l, unsigned token)
{
	atomic_fetch_sub(&l->readers[token & 1], 1);
}

static void
drain(struct detect_matcher_live *l, unsigned i)
{
	while (atomic_load(&l->readers[i]) != 0) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 100000};
		nanosleep(&ts, NULL);
	}
}

static void
swap_locked(struct detect_matcher_live *l, struct detect_matcher *m)
{
	unsigned i = atomic_load(&l->idx), j = i ^ 1;
	drain(l, j); /* readers that slipped in will leave on their own */
	atomic_store(&l->slot[j], m);
	atomic_store(&l->idx, j);
	drain(l, i);
	detect_matcher_free(atomic_exchange(&l->slot[i], NULL));
}

void
detect_matcher_live_swap(struct detect_matcher_live *l, struct detect_matcher *m)
{
	pthread_mutex_lock(&l->mu);
	swap_locked(l, m);
	pthread_mutex_unlock(&l->mu);
}

/* ---- rebuilding from the store ---------------------------------------------------- */

/* Each indicator is compiled as the source emits it: nothing is copied. */
static void
build_emit(void *ctx, const struct detect_indicator *ind)
{
	mbuild_add(ctx, ind);
}

int
detect_matcher_reload(struct detect_matcher_live *l, detect_matcher_source source, void *arg,
                      int64_t now_ms, struct detect_matcher_stats *st, struct err *e)
{
	pthread_mutex_lock(&l->mu);
	struct mbuild *mb = mbuild_new(now_ms);
	bool failed = source(arg, build_emit, mb) != 0;
	if (failed)
		err_set(e, "cannot read the indicators to compile");
	struct detect_matcher *m = mbuild_finish(mb, failed, st, e);
	if (m != NULL)
		swap_locked(l, m);
	pthread_mutex_unlock(&l->mu);
	return m != NULL ? 0 : -1;
}

int
detect_matcher_live_update(struct detect_matcher_live *l, const struct detect_indicator *changed,
                           size_t n, int64_t now_ms, struct detect_matcher_stats *st,
                           struct err *e)
{
	pthread_mutex_lock(&l->mu);
	/* Only writers change the slots, and this is the writer. */
	const struct detect_matcher *cur = atomic_load(&l->slot[atomic_load(&l->idx)]);
	struct detect_matcher *m = detect_matcher_update(cur, changed, n, now_ms, st, e);
	if (m != NULL)
		swap_locked(l, m);
	pthread_mutex_unlock(&l->mu);
	return m != NULL ? 0 : -1;
}
