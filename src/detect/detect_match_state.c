/*
 * detect_match_state.c - the per-thread lookup state, and the memory of
 * multi-observation patterns across events.
 *
 * For each multi-observation indicator that some event advanced, the state
 * remembers the recent events that satisfied one of its observation
 * expressions: their timestamps and which expressions they satisfied. When
 * another such event arrives, the pattern's observation-level tree is
 * evaluated over the remembered events with the evaluator's semantics
 * (stix_pattern_eval): bindings are sets of events (bit masks over the
 * history), AND joins disjoint sets, FOLLOWEDBY also needs the left side's
 * latest timestamp no later than the right side's earliest, REPEATS k takes
 * k disjoint bindings, WITHIN bounds the span and START/STOP the window.
 * Each event counts once (number_observed 1, first = last = @timestamp).
 *
 * Memory is bounded twice: at most max_events events per indicator (the
 * oldest goes) and at most max_indicators indicators (the least recently
 * advanced goes). Evaluation is bounded by a step budget and a cap on
 * bindings per node; hitting either without a match counts as "gave up".
 * A completed match forgets the indicator's events, so the next match
 * needs new ones.
 */
#include "detect/detect_match_int.h"

#include <stdlib.h>

#define LIST_CAP 1024
#define STEP_BUDGET 200000
#define DEFAULT_INDS 4096
#define DEFAULT_EVENTS 64

struct mhist {
	uint64_t key;
	uint32_t prev, next; /* LRU, most recent at head */
	uint16_t n, head;    /* ring of events */
	bool used;
};

struct mstore {
	struct mhist *e;
	int64_t *ts;    /* cap * H */
	uint64_t *mask; /* cap * H */
	uint32_t *index; /* open addressing: entry + 1 */
	size_t icap;     /* power of two */
	size_t cap, H, count;
	uint32_t lru_head, lru_tail;
	uint32_t *free_list;
	size_t nfree;
	struct mbind *pool;
	size_t pool_cap;
};

void
mstate_init(struct detect_match_state *st, size_t max_inds, size_t max_events)
{
	struct mstore *ms = xcalloc(1, sizeof(*ms));
	ms->cap = max_inds ? max_inds : DEFAULT_INDS;
	ms->H = max_events ? max_events : DEFAULT_EVENTS;
	if (ms->H > 64)
		ms->H = 64;
	ms->e = xcalloc(ms->cap, sizeof(*ms->e));
	ms->ts = xcalloc(ms->cap * ms->H, sizeof(*ms->ts));
	ms->mask = xcalloc(ms->cap * ms->H, sizeof(*ms->mask));
	ms->icap = 16;
	while (ms->icap < ms->cap * 2)
		ms->icap *= 2;
	ms->index = xcalloc(ms->icap, sizeof(*ms->index));
	ms->free_list = xmalloc(ms->cap * sizeof(*ms->free_list));
	for (size_t i = 0; i < ms->cap; i++)
		ms->free_list[i] = (uint32_t)(ms->cap - 1 - i);
	ms->nfree = ms->cap;
	ms->lru_head = ms->lru_tail = M_NONE;
	ms->pool_cap = MST_POOL;
	ms->pool = xmalloc(ms->pool_cap * sizeof(*ms->pool));
	st->ms = ms;
}

void
mstate_free(struct detect_match_state *st)
{
	struct mstore *ms = st->ms;
	if (ms == NULL)
		return;
	free(ms->e);
	free(ms->ts);
	free(ms->mask);
	free(ms->index);
	free(ms->free_list);
	free(ms->pool);
	free(ms);
	st->ms = NULL;
}

void
mstate_reset(struct detect_match_state *st)
{
	size_t cap = st->ms->cap, H = st->ms->H;
	mstate_free(st);
	mstate_init(st, cap, H);
}

size_t
mstate_bytes(const struct detect_match_state *st)
{
	const struct mstore *ms = st->ms;
	return sizeof(*ms) + ms->cap * (sizeof(*ms->e) + ms->H * 16 + 4) + ms->icap * 4 +
	       ms->pool_cap * sizeof(*ms->pool);
}

size_t
mstate_followed(const struct detect_match_state *st)
{
	return st->ms->count;
}

/* ---- the table --------------------------------------------------------------- */

static size_t
slot_of(const struct mstore *ms, uint64_t key)
{
	return (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & (ms->icap - 1);
}

static uint32_t
find(const struct mstore *ms, uint64_t key, size_t *pos)
{
	size_t i = slot_of(ms, key);
	for (;;) {
		uint32_t e = ms->index[i];
		if (e == 0 || ms->e[e - 1].key == key) {
			*pos = i;
			return e ? e - 1 : M_NONE;
		}
		i = (i + 1) & (ms->icap - 1);
	}
}

static void
lru_unlink(struct mstore *ms, uint32_t i)
{
	struct mhist *h = &ms->e[i];
	if (h->prev != M_NONE)
		ms->e[h->prev].next = h->next;
	else
		ms->lru_head = h->next;
	if (h->next != M_NONE)
		ms->e[h->next].prev = h->prev;
	else
		ms->lru_tail = h->prev;
}

static void
lru_push(struct mstore *ms, uint32_t i)
{
	struct mhist *h = &ms->e[i];
	h->prev = M_NONE;
	h->next = ms->lru_head;
	if (ms->lru_head != M_NONE)
		ms->e[ms->lru_head].prev = i;
	ms->lru_head = i;
	if (ms->lru_tail == M_NONE)
		ms->lru_tail = i;
}

/* Removes entry i (backward-shift deletion keeps probing exact). */
static void
remove_entry(struct mstore *ms, uint32_t i)
{
	size_t pos = 0;
	(void)find(ms, ms->e[i].key, &pos);
	size_t hole = pos;
	size_t j = (hole + 1) & (ms->icap - 1);
	ms->index[hole] = 0;
	while (ms->index[j] != 0) {
		size_t home = slot_of(ms, ms->e[ms->index[j] - 1].key);
		/* Move j into the hole if its home is not in (hole, j]. */
		bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!between) {
			ms->index[hole] = ms->index[j];
			ms->index[j] = 0;
			hole = j;
		}
		j = (j + 1) & (ms->icap - 1);
	}
	lru_unlink(ms, i);
	ms->e[i].used = false;
	ms->free_list[ms->nfree++] = i;
	ms->count--;
}

static uint32_t
get_entry(struct detect_match_state *st, uint64_t key)
{
	struct mstore *ms = st->ms;
	size_t pos = 0;
	uint32_t i = find(ms, key, &pos);
	if (i != M_NONE) {
		lru_unlink(ms, i);
		lru_push(ms, i);
		return i;
	}
	if (ms->nfree == 0) {
		remove_entry(ms, ms->lru_tail);
		st->stats.evicted++;
		(void)find(ms, key, &pos);
	}
	i = ms->free_list[--ms->nfree];
	ms->e[i] = (struct mhist){.key = key, .used = true};
	ms->index[pos] = i + 1;
	lru_push(ms, i);
	ms->count++;
	return i;
}

/* ---- bindings ------------------------------------------------------------------- */

struct beval {
	const struct mlayer *L;
	struct mbind *pool;
	size_t top, cap;
	const int64_t *ts;
	const uint64_t *mask;
	unsigned n;
	int64_t steps;
	bool trunc;
};

static bool
step(struct beval *e)
{
	if (--e->steps < 0) {
		e->trunc = true;
		return false;
	}
	return true;
}

static void
push(struct beval *e, struct mbind b)
{
	if (e->top == e->cap) {
		e->trunc = true;
		return;
	}
	e->pool[e->top++] = b;
}

static int
bind_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct mbind *)a)->mask, y = ((const struct mbind *)b)->mask;
	return x < y ? -1 : x > y;
}

/* Sorts, deduplicates and caps the list at [off, top). */
static void
settle(struct beval *e, size_t off)
{
	size_t n = e->top - off;
	if (n < 2)
		return;
	struct mbind *v = e->pool + off;
	qsort(v, n, sizeof(*v), bind_cmp);
	size_t u = 1;
	for (size_t i = 1; i < n; i++) {
		if (v[i].mask != v[u - 1].mask)
			v[u++] = v[i];
	}
	if (u > LIST_CAP) {
		u = LIST_CAP;
		e->trunc = true;
	}
	e->top = off + u;
}

static void eval(struct beval *e, uint32_t node);

static void
repeats_dfs(struct beval *e, size_t l0, size_t ln, size_t from, int64_t left, struct mbind acc)
{
	if (left == 0) {
		push(e, acc);
		return;
	}
	for (size_t i = from; i < ln && e->top - (l0 + ln) < LIST_CAP; i++) {
		if ((int64_t)(ln - i) < left || !step(e))
			return;
		const struct mbind *b = &e->pool[l0 + i];
		if (b->mask & acc.mask)
			continue;
		struct mbind m = {
		    .mask = acc.mask | b->mask,
		    .maxf = acc.mask == 0 || b->maxf > acc.maxf ? b->maxf : acc.maxf,
		    .minl = acc.mask == 0 || b->minl < acc.minl ? b->minl : acc.minl,
		};
		repeats_dfs(e, l0, ln, i + 1, left - 1, m);
	}
}

static void
apply_qual(struct beval *e, const struct mqual *q, size_t off)
{
	size_t n = e->top - off;
	if (q->kind == STIX_QUALIFIER_REPEATS) {
		size_t out = e->top;
		if (q->repeats <= 64 && n > 0)
			repeats_dfs(e, off, n, 0, q->repeats, (struct mbind){0});
		size_t m = e->top - out;
		memmove(e->pool + off, e->pool + out, m * sizeof(*e->pool));
		e->top = off + m;
		settle(e, off);
		return;
	}
	size_t k = off;
	for (size_t i = off; i < off + n; i++) {
		const struct mbind *b = &e->pool[i];
		bool keep;
		if (q->kind == STIX_QUALIFIER_WITHIN)
			keep = (double)b->maxf - (double)b->minl <= q->within_s * 1000.0;
		else
			keep = q->start_ms < q->stop_ms && b->maxf < q->stop_ms && b->minl >= q->start_ms;
		if (keep)
			e->pool[k++] = *b;
	}
	e->top = k;
}

/* Evaluates node; its list ends up at [where top was, top). */
static void
eval(struct beval *e, uint32_t node)
{
	const struct monode *n = &e->L->onodes[node];
	size_t off = e->top;
	switch (n->kind) {
	case MON_OBS:
		for (unsigned i = 0; i < e->n; i++) {
			if (n->off < 64 && ((e->mask[i] >> n->off) & 1))
				push(e, (struct mbind){.mask = 1ull << i, .maxf = e->ts[i], .minl = e->ts[i]});
		}
		return;
	case MON_OR:
		for (uint32_t i = 0; i < n->nkids && !e->trunc; i++)
			eval(e, n->off + i);
		settle(e, off);
		return;
	case MON_QUAL:
		eval(e, n->off);
		for (uint32_t i = 0; i < n->nkids; i++)
			apply_qual(e, &e->L->quals[n->qoff + i], off);
		return;
	case MON_AND:
	case MON_FBY:
		eval(e, n->off);
		for (uint32_t k = 1; k < n->nkids && e->top > off; k++) {
			size_t a0 = off, na = e->top - off;
			eval(e, n->off + k);
			size_t b0 = a0 + na, nb = e->top - b0;
			size_t c0 = e->top;
			for (size_t i = 0; i < na && e->top - c0 < LIST_CAP; i++) {
				for (size_t j = 0; j < nb && e->top - c0 < LIST_CAP; j++) {
					if (!step(e))
						break;
					const struct mbind *x = &e->pool[a0 + i], *y = &e->pool[b0 + j];
					if (x->mask & y->mask)
						continue;
					if (n->kind == MON_FBY && x->maxf > y->minl)
						continue;
					push(e, (struct mbind){
					            .mask = x->mask | y->mask,
					            .maxf = x->maxf > y->maxf ? x->maxf : y->maxf,
					            .minl = x->minl < y->minl ? x->minl : y->minl,
					        });
				}
			}
			size_t nc = e->top - c0;
			memmove(e->pool + off, e->pool + c0, nc * sizeof(*e->pool));
			e->top = off + nc;
			settle(e, off);
		}
		return;
	default: return;
	}
}

bool
mstate_advance(struct detect_match_state *st, const struct mlayer *L, const struct mind *ind,
               uint64_t mask, int64_t ts_ms, uint32_t *nevents)
{
	struct mstore *ms = st->ms;
	uint32_t i = get_entry(st, ind->state_key);
	struct mhist *h = &ms->e[i];
	size_t H = ms->H;
	if (h->n == H) {
		h->head = (uint16_t)((h->head + 1) % H);
		h->n--;
		st->stats.evicted++;
	}
	size_t at = (h->head + h->n) % H;
	ms->ts[i * H + at] = ts_ms;
	ms->mask[i * H + at] = mask;
	h->n++;
	/* The history in arrival order, for the masks' bit positions. */
	int64_t ts[64];
	uint64_t masks[64];
	for (unsigned k = 0; k < h->n; k++) {
		size_t p = (h->head + k) % H;
		ts[k] = ms->ts[i * H + p];
		masks[k] = ms->mask[i * H + p];
	}
	struct beval e = {
	    .L = L,
	    .pool = ms->pool,
	    .cap = ms->pool_cap,
	    .ts = ts,
	    .mask = masks,
	    .n = h->n,
	    .steps = STEP_BUDGET,
	};
	eval(&e, ind->otree);
	if (e.top == 0) {
		if (e.trunc)
			st->stats.gave_up++;
		return false;
	}
	*nevents = (uint32_t)__builtin_popcountll(e.pool[0].mask);
	remove_entry(ms, i);
	return true;
}

/* ---- the public state ------------------------------------------------------------------ */

struct detect_match_state *
detect_match_state_new(size_t max_indicators, size_t max_events)
{
	struct detect_match_state *st = xcalloc(1, sizeof(*st));
	mstate_init(st, max_indicators, max_events);
	return st;
}

void
detect_match_state_free(struct detect_match_state *st)
{
	if (st == NULL)
		return;
	mstate_free(st);
	hs_free_scratch(st->scratch);
	free(st);
}

void
detect_match_state_reset(struct detect_match_state *st)
{
	mstate_reset(st);
}

void
detect_match_state_stats(const struct detect_match_state *st, struct detect_match_state_stats *out)
{
	*out = st->stats;
	size_t scratch = 0;
	if (st->scratch != NULL)
		(void)hs_scratch_size(st->scratch, &scratch);
	out->bytes = sizeof(*st) + mstate_bytes(st) + scratch;
	out->followed = mstate_followed(st);
}
