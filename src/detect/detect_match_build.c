/*
 * detect_match_build.c - building, updating and freeing matchers: the
 * builder's lifetime around builder_add() (detect_match_compile.c, which
 * compiles one indicator), finishing a layer's indexes (the hash table, the
 * CIDR table, the Vectorscan databases), full and streamed builds, delta
 * updates and their statistics.
 *
 * A matcher is a base layer plus an optional delta layer from
 * detect_matcher_update(), which shares the base and masks the indicators it
 * replaced ("tombstones"). An update recompiles only the delta's input
 * (what changed since the full build), never the base.
 */
#include "detect/detect_match_int.h"

#include <stdlib.h>

/* Every matcher gets its own number: a lookup state knows from it that
 * its Vectorscan scratch must grow for a new matcher. */
static _Atomic uint64_t matcher_gen = 1;

static void
builder_begin(struct builder *b, int64_t now_ms, bool keep_src)
{
	memset(b, 0, sizeof(*b));
	b->L = xcalloc(1, sizeof(*b->L));
	atomic_init(&b->L->refs, 1);
	b->now_ms = now_ms;
	b->keep_src = keep_src;
	b->st.next_change_ms = INT64_MAX;
}

static void
builder_clear(struct builder *b)
{
	marena_free(&b->tmp);
	free(b->cand);
	free(b->pa);
	free(b->prx);
	free(b->scratch);
	b->cand = b->pa = NULL;
	b->prx = NULL;
	b->scratch = NULL;
}

static void layer_free(struct mlayer *L);

static void
rx_failed(void *arg, uint32_t ind, const char *why)
{
	struct builder *b = arg;
	struct mind *mi = &b->L->inds[ind];
	if (mi->flags & MIND_DISABLED)
		return;
	mi->flags |= MIND_DISABLED;
	b->st.active--;
	b->st.unsupported++;
	builder_note_error(b, mi->id, why);
}

static size_t
layer_bytes(const struct mlayer *L)
{
	size_t b = L->arena.bytes + L->inds_cap * sizeof(*L->inds) +
	           (L->hot ? L->ninds * sizeof(*L->hot) : 0) + L->obs_cap * sizeof(*L->obs) +
	           L->cmps_cap * sizeof(*L->cmps) + L->nodes_cap * sizeof(*L->nodes) +
	           L->onodes_cap * sizeof(*L->onodes) + L->quals_cap * sizeof(*L->quals) +
	           mhash_bytes(&L->hash) + mnet_bytes(&L->net) + L->hs.bytes +
	           L->hs.cap * sizeof(*L->hs.pat);
	for (unsigned t = 0; t < MO_COUNT; t++)
		b += L->scan_cap[t] * sizeof(*L->scan[t]);
	return b;
}

/* The indicators' struct mhot, once their flags are final (a regex that
 * failed disables its indicator), and the copies the CIDR blocks keep of
 * their first posting's. */
static void
hot_fill(struct mlayer *L)
{
	L->hot = xmalloc((L->ninds ? L->ninds : 1) * sizeof(*L->hot));
	for (size_t i = 0; i < L->ninds; i++) {
		const struct mind *mi = &L->inds[i];
		struct mhot *h = &L->hot[i];
		h->id = mi->id;
		h->org_id = (int32_t)mi->org_id;
		h->tlp = (uint8_t)mi->tlp;
		h->flags = (uint8_t)(mi->flags & (MIND_STATEFUL | MIND_BARE | MIND_ANY | MIND_DISABLED));
		h->tomb_bit = mtomb_bit(mi->id_hash);
		if ((mi->flags & MIND_STATEFUL) || !(mi->flags & (MIND_BARE | MIND_ANY)) ||
		    h->org_id != mi->org_id || h->tlp != mi->tlp)
			h->flags |= MHOT_COLD;
	}
	L->hot = mhuge_move(L->hot, L->ninds * sizeof(*L->hot));
	for (size_t i = 0; i < L->net.nnodes; i++)
		L->net.nodes[i].hot = L->hot[L->net.nodes[i].one.ind];
}

/* Finishes the indexes. Returns the layer, or NULL with e set. */
static struct mlayer *
builder_finish(struct builder *b, int64_t t0_ns, struct err *e)
{
	struct mlayer *L = b->L;
	builder_clear(b);
	if (mhs_compile(&L->hs, rx_failed, b, e) != 0) {
		layer_free(L);
		b->L = NULL;
		return NULL;
	}
	for (unsigned f = 0; f < MF_COUNT; f++) {
		if (L->hs.db[f] != NULL)
			L->rx_fields |= 1ull << f;
	}
	for (unsigned t = 0; t < MO_COUNT; t++) {
		if (L->nscan[t] > 0)
			L->scan_objs |= 1u << t;
	}
	mhash_finish(&L->hash);
	mnet_finish(&L->net);
	L->obs = mhuge_move(L->obs, L->nobs * sizeof(*L->obs));
	L->obs_cap = L->nobs;
	L->inds = mhuge_move(L->inds, L->ninds * sizeof(*L->inds));
	L->inds_cap = L->ninds;
	hot_fill(L);
	b->st.keys = L->hash.n;
	b->st.cidrs = L->net.nnodes;
	b->st.regexes = L->hs.n;
	b->st.bytes = layer_bytes(L);
	b->st.build_ms = (time_mono_ns() - t0_ns) / 1000000;
	L->st = b->st;
	return L;
}

static void
layer_free(struct mlayer *L)
{
	if (L == NULL)
		return;
	marena_free(&L->arena);
	free(L->inds);
	free(L->hot);
	free(L->obs);
	free(L->cmps);
	free(L->nodes);
	free(L->onodes);
	free(L->quals);
	for (unsigned t = 0; t < MO_COUNT; t++)
		free(L->scan[t]);
	mhash_free(&L->hash);
	mnet_free(&L->net);
	mhs_free(&L->hs);
	for (size_t i = 0; i < L->nsrc; i++) {
		free((char *)L->src[i].id);
		free((char *)L->src[i].pattern);
	}
	free(L->src);
	free(L);
}

static void
layer_unref(struct mlayer *L)
{
	if (L != NULL && atomic_fetch_sub(&L->refs, 1) == 1)
		layer_free(L);
}

static struct detect_matcher *
matcher_new(struct mlayer *base, struct mlayer *delta)
{
	struct detect_matcher *m = xcalloc(1, sizeof(*m));
	m->gen = atomic_fetch_add(&matcher_gen, 1);
	m->layer[0] = base;
	m->layer[1] = delta;
	m->need = mevent_need((base ? base->need : 0) | (delta ? delta->need : 0));
	m->lazy = true;
	const uint32_t addr_objs = (1u << MO_IPV4) | (1u << MO_IPV6) | (1u << MO_NT);
	for (int i = 0; i < 2; i++) {
		const struct mlayer *L = m->layer[i];
		if (L != NULL && ((L->rx_fields & MEVENT_ADDRESS_FIELDS) || (L->scan_objs & addr_objs) ||
		                  (L->hash.fields[0] & MEVENT_ADDRESS_FIELDS & ~MEVENT_NUMBER_FIELDS)))
			m->lazy = false;
	}
	return m;
}

struct mbuild {
	struct builder b;
	int64_t t0;
};

struct mbuild *
mbuild_new(int64_t now_ms)
{
	struct mbuild *mb = xmalloc(sizeof(*mb));
	mb->t0 = time_mono_ns();
	builder_begin(&mb->b, now_ms, false);
	return mb;
}

void
mbuild_add(struct mbuild *mb, const struct detect_indicator *ind)
{
	builder_add(&mb->b, ind);
}

struct detect_matcher *
mbuild_finish(struct mbuild *mb, bool abandon, struct detect_matcher_stats *st, struct err *e)
{
	struct mlayer *L = NULL;
	if (abandon) {
		builder_clear(&mb->b);
		layer_free(mb->b.L);
	} else {
		L = builder_finish(&mb->b, mb->t0, e);
	}
	struct detect_matcher *m = NULL;
	if (L != NULL) {
		m = matcher_new(L, NULL);
		m->stats = L->st;
		if (st != NULL)
			*st = m->stats;
	}
	free(mb);
	return m;
}

struct detect_matcher *
detect_matcher_build(const struct detect_indicator *ind, size_t n, int64_t now_ms,
                     struct detect_matcher_stats *st, struct err *e)
{
	struct mbuild *mb = mbuild_new(now_ms);
	mhash_reserve(&mb->b.L->hash, n);
	for (size_t i = 0; i < n; i++)
		mbuild_add(mb, &ind[i]);
	return mbuild_finish(mb, false, st, e);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool
id_in(const char *id, const struct detect_indicator *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].id != NULL && strcmp(v[i].id, id) == 0)
			return true;
	}
	return false;
}

struct detect_matcher *
detect_matcher_update(const struct detect_matcher *old, const struct detect_indicator *changed,
                      size_t n, int64_t now_ms, struct detect_matcher_stats *st, struct err *e)
{
	int64_t t0 = time_mono_ns();
	const struct mlayer *od = old->layer[1];
	/* The new delta's input: the old delta's, minus what changed, plus
	 * what changed and is still alive (or will be). */
	size_t cap = (od ? od->nsrc : 0) + n;
	struct detect_indicator *src = xcalloc(cap ? cap : 1, sizeof(*src));
	size_t k = 0;
	for (size_t i = 0; od != NULL && i < od->nsrc; i++) {
		if (id_in(od->src[i].id, changed, n))
			continue;
		src[k] = od->src[i];
		src[k].id = xstrdup(od->src[i].id);
		src[k].pattern = xstrdup(od->src[i].pattern);
		k++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct detect_indicator *c = &changed[i];
		if (c->id == NULL || c->revoked ||
		    (c->valid_until_ms != 0 && c->valid_until_ms <= now_ms))
			continue;
		src[k] = *c;
		src[k].id = xstrdup(c->id);
		src[k].pattern = xstrdup(c->pattern ? c->pattern : "");
		k++;
	}
	struct builder b;
	builder_begin(&b, now_ms, true);
	for (size_t i = 0; i < k; i++)
		builder_add(&b, &src[i]);
	struct mlayer *L = builder_finish(&b, t0, e);
	if (L == NULL) {
		for (size_t i = 0; i < k; i++) {
			free((char *)src[i].id);
			free((char *)src[i].pattern);
		}
		free(src);
		return NULL;
	}
	L->src = src;
	L->nsrc = k;
	struct mlayer *base = old->layer[0];
	atomic_fetch_add(&base->refs, 1);
	struct detect_matcher *m = matcher_new(base, L);
	m->tomb = xmalloc((old->ntomb + n + 1) * sizeof(*m->tomb));
	if (old->ntomb > 0)
		memcpy(m->tomb, old->tomb, old->ntomb * sizeof(*m->tomb));
	m->ntomb = old->ntomb;
	for (size_t i = 0; i < n; i++) {
		if (changed[i].id != NULL)
			m->tomb[m->ntomb++] = mh_hash(changed[i].id, strlen(changed[i].id), 7);
	}
	qsort(m->tomb, m->ntomb, sizeof(*m->tomb), u64_cmp);
	size_t u = 0;
	for (size_t i = 0; i < m->ntomb; i++) {
		if (u == 0 || m->tomb[u - 1] != m->tomb[i])
			m->tomb[u++] = m->tomb[i];
	}
	m->ntomb = u;
	for (size_t i = 0; i < m->ntomb; i++) {
		uint16_t bit = mtomb_bit(m->tomb[i]);
		m->tomb_filter[bit >> 6] |= 1ull << (bit & 63);
	}
	/* Statistics: the base's and the delta's added up; indicators the delta
	 * replaced are still counted in the base. */
	struct detect_matcher_stats s = base->st;
	const struct detect_matcher_stats *d = &L->st;
	s.input += d->input;
	s.active += d->active;
	s.inactive += d->inactive;
	s.parse_errors += d->parse_errors;
	s.unsupported += d->unsupported;
	s.never += d->never;
	s.stateful += d->stateful;
	s.observations += d->observations;
	s.scanned += d->scanned;
	s.keys += d->keys;
	s.cidrs += d->cidrs;
	s.regexes += d->regexes;
	s.bytes += d->bytes + m->ntomb * sizeof(*m->tomb);
	s.delta = k;
	s.build_ms = d->build_ms;
	if (d->next_change_ms < s.next_change_ms)
		s.next_change_ms = d->next_change_ms;
	if (d->first_error[0] != '\0')
		memcpy(s.first_error, d->first_error, sizeof(s.first_error));
	m->stats = s;
	if (st != NULL)
		*st = s;
	return m;
}

void
detect_matcher_free(struct detect_matcher *m)
{
	if (m == NULL)
		return;
	layer_unref(m->layer[0]);
	layer_unref(m->layer[1]);
	free(m->tomb);
	free(m);
}

const struct detect_matcher_stats *
detect_matcher_stats(const struct detect_matcher *m)
{
	return &m->stats;
}

