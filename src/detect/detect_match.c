/*
 * detect_match.c - matching events against a compiled matcher (see
 * detect_match_compile.c for how patterns become indexes).
 *
 * A matcher of a million indicators is some 200 MB, and a random access
 * into it costs a few hundred nanoseconds on the machines we measured:
 * more than the rest of a lookup. So events are matched in groups, stage by
 * stage, and each stage starts loading what the next one reads; the cache
 * misses of a group overlap instead of following one another:
 *
 *  1. load: extract each event's objects and values (detect_match_event.c;
 *     only the fields some comparison reads), hash every key and prefetch
 *     its Bloom filter line; prefetch the CIDR jump entry of each address
 *     (a flow is not extracted yet, see lazy_collect());
 *  2. filter: test the Bloom filters, prefetch the table slot of each key
 *     that passes; test the CIDR filter bits in the jump entries, prefetch
 *     the intervals to search;
 *  3. slots: find the innermost block of each address that passed and
 *     prefetch it (with its first posting); prefetch the key record of
 *     each slot whose hash matches;
 *  4. match, event by event: run the Vectorscan databases over the text
 *     values, confirm the keys, follow the blocks, evaluate what an index
 *     hit does not prove (detect_match_eval.c) and the scan lists; prefetch
 *     the indicators touched. An event that no filter let through and no
 *     regex or scan list reads (most of them) skips this and stage 5;
 *  5. emit, event by event and one group later: touched indicators become
 *     hits, through the observation-level tree and, for multi-observation
 *     patterns, the state's memory of earlier events (detect_match_state.c).
 *
 * Stages 4 and 5 take the events in order and only stage 5 reads or writes
 * state that outlives an event, so a batch gives exactly the hits of its
 * events matched one by one. Nothing here allocates; what a lookup writes
 * is in the caller's struct detect_match_state.
 */
#include "detect/detect_match_int.h"

#include <assert.h>
#include <stdlib.h>

static bool
tomb_has(const struct detect_matcher *m, uint64_t h)
{
	size_t lo = 0, hi = m->ntomb;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->tomb[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->ntomb && m->tomb[lo] == h;
}


/* An observation expression held for an object: note its indicator.
 * Whether the indicator may hit (not disabled, not masked by an update)
 * is decided when hits are emitted, once its struct mhot has been loaded. */
static void
touch(const struct mctx *c, uint32_t ind, uint32_t obs_id, const struct mhot *hot)
{
	struct detect_match_state *st = c->st;
	uint32_t key = (c->layer << 31) | ind;
	uint32_t h = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 52) & (MST_TSET - 1);
	for (;;) {
		uint32_t e = st->tset[h];
		if (e == 0)
			break;
		struct mtouch *t = &c->tl->t[e - 1];
		if (t->ind == ind && t->layer == c->layer) {
			if (obs_id < 64)
				t->mask |= 1ull << obs_id;
			if (obs_id < t->first_obs)
				t->first_obs = obs_id;
			return;
		}
		h = (h + 1) & (MST_TSET - 1);
	}
	struct mtouches *tl = c->tl;
	if (tl->n - c->tfirst == MST_TOUCH_MAX) {
		st->stats.dropped_hits++;
		return;
	}
	struct mtouch *t = &tl->t[tl->n];
	*t = (struct mtouch){
	    .ind = ind,
	    .tslot = h,
	    .first_obs = obs_id,
	    .layer = (uint8_t)c->layer,
	    .mask = obs_id < 64 ? 1ull << obs_id : 0,
	    .hot = hot != NULL ? hot : &c->L->hot[ind],
	};
	st->tset[h] = (uint32_t)++tl->n;
}

static void
consider(const struct mctx *c, uint32_t obs, unsigned slot)
{
	const struct mobs *o = &c->L->obs[obs];
	if (!(o->flags & MOBS_EXACT) && !mtree_eval(c, o->root, slot))
		return;
	touch(c, o->ind, o->id, NULL);
}

/* An index hit: exact expressions touch their indicator straight away.
 * hot is the indicator's struct mhot when the caller has it at hand. */
static void
consider_post(const struct mctx *c, const struct mpost *p, unsigned slot, const struct mhot *hot)
{
	if (p->id & MPOST_EXACT)
		touch(c, p->ind, p->id & ~MPOST_EXACT, hot);
	else
		consider(c, p->obs, slot);
}

/* The postings p[0..n) that v's field and object select; hot0, when not
 * NULL, is p[0]'s indicator's struct mhot. */
static void
dispatch(const struct mctx *c, const struct mpost *p, uint32_t n, const struct mval *v,
         const struct mhot *hot0)
{
	uint8_t obj = c->me->slot[v->slot].obj;
	for (uint32_t i = 0; i < n; i++) {
		const struct mhot *hot = i == 0 ? hot0 : NULL;
		if (p[i].field == v->field && p[i].obj == obj)
			consider_post(c, &p[i], v->slot, hot);
		else if (p[i].field == v->alias_field && v->alias_field != MF_NONE)
			consider_post(c, &p[i], v->alias_slot, hot);
	}
}

struct rxctx {
	struct detect_match_state *st;
	unsigned val;
};

static int
on_rx(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
      void *arg)
{
	struct rxctx *x = arg;
	if (x->st->nrx == MST_RX_MAX) {
		x->st->stats.dropped_hits++;
		return 1;
	}
	x->st->rx[x->st->nrx++] = (struct mrxhit){.id = id, .val = (uint16_t)x->val};
	return 0;
}

/* Runs the layer's Vectorscan databases over the event's text values. */
static void
scan_regexes(struct mctx *c)
{
	const struct mlayer *L = c->L;
	struct mevent *me = c->me;
	struct detect_match_state *st = c->st;
	st->nrx = 0;
	if (L->hs.n == 0)
		return;
	for (unsigned i = 0; i < me->nvals; i++) {
		struct mval *v = &me->val[i];
		hs_database_t *db = L->hs.db[v->field];
		if (db == NULL || v->kind == MK_INT)
			continue;
		if (!mval_utf8(me, v)) {
			st->stats.skipped_values++;
			continue;
		}
		uint32_t len = 0;
		const char *s = mval_text(me, v, &len);
		struct rxctx x = {.st = st, .val = i};
		(void)hs_scan(db, len ? s : "", len, 0, st->scratch, on_rx, &x);
	}
}

/*
 * A call takes its events in groups of up to MGROUP and runs the stages
 * below on a whole group before the next: what a stage prefetches for one
 * event is read when the stage after it comes to that event, once the
 * rest of the group has been through the stage between. (Keeping several
 * groups in flight, a stage apart, waits less for memory but spills the
 * events out of the L1 cache, and measured slower.)
 */

/* ---- stage 1: load ---------------------------------------------------------------- */

static void
probe_add(struct mgroup *g, const struct mhash *h, enum mspace vs, const void *key,
          size_t len, unsigned val)
{
	struct mprobe *q = &g->pool[g->npool++];
	q->vs = (uint8_t)vs;
	q->val = (uint8_t)val;
	q->len = (uint32_t)len;
	q->pass = 0;
	q->key = key;
	q->hv = mhash_key(vs, key, len);
	/* To L2 (locality 2): a group's filter lines are many, read once
	 * a stage later, and need not take L1's few miss buffers; measured
	 * 4-7% faster at a million indicators. */
	__builtin_prefetch(mbloom_block(h, q->hv), 0, 2);
}

static void
probe_ip(struct mgroup *g, const struct mhash *h, const struct ingest_ip *ip, unsigned val)
{
	if (ip->family == 4 && (h->spaces & (1u << MS_IP4)))
		probe_add(g, h, MS_IP4, ip->a + 12, 4, val);
	else if (ip->family == 6 && (h->spaces & (1u << MS_IP6)))
		probe_add(g, h, MS_IP6, ip->a, 16, val);
}

/* The most probes one value makes: itself and a parent per label. */
#define MPROBE_VALUE 65

/*
 * Queues the exact-index probes of ge's values in layer l, from value
 * ge->pnext[l] on, while the pool has room for a whole value; pnext[l]
 * says where it stopped (nvals: done). An event with more keys than the
 * pool holds ends its group and queues the rest when it is matched.
 */
static void
probes_collect(struct mgroup *g, const struct mlayer *L, struct mgev *ge, unsigned l)
{
	const struct mhash *h = &L->hash;
	struct mevent *me = &ge->me;
	ge->pfirst[l] = (uint32_t)g->npool;
	unsigned i = h->n > 0 ? ge->pnext[l] : me->nvals;
	for (; i < me->nvals; i++) {
		const struct mval *v = &me->val[i];
		if (!v->probe)
			continue;
		if (MPOOL - g->npool < MPROBE_VALUE)
			break;
		switch ((enum mfield)v->field) {
		case MF_IP_VALUE:
			probe_ip(g, h, v->ip, i);
			break;
		case MF_DOMAIN_VALUE:
			if (h->spaces & (1u << MS_DOMAIN))
				probe_add(g, h, MS_DOMAIN, v->s, v->len, i);
			if (L->suffix_labels != 0) {
				/* Parents with as many labels as some suffix has,
				 * from the right: the dots left of the longest
				 * suffix are not read. (A suffix of 64 labels or
				 * more, which no name has, is never looked up.) */
				unsigned most = 63 - (unsigned)__builtin_clzll(L->suffix_labels);
				const char *dot = v->s + v->len;
				for (unsigned n = 1; n <= most; n++) {
					dot = memrchr(v->s, '.', (size_t)(dot - v->s));
					if (dot == NULL)
						break;
					if ((L->suffix_labels >> n) & 1)
						probe_add(g, h, MS_SUFFIX, dot + 1,
						          v->len - (size_t)(dot + 1 - v->s), i);
				}
			}
			break;
		case MF_EMAIL_VALUE:
			if (h->spaces & (1u << MS_EMAIL))
				probe_add(g, h, MS_EMAIL, v->s, v->len, i);
			break;
		default:
			if (!mhash_has_field(h, v->field))
				break;
			if (v->kind == MK_INT)
				probe_add(g, h, mfield_space(v->field), &v->i, sizeof(v->i), i);
			else
				probe_add(g, h, mfield_space(v->field), v->s, v->len, i);
			break;
		}
	}
	ge->pnext[l] = (uint16_t)i;
	ge->pn[l] = (uint32_t)(g->npool - ge->pfirst[l]);
}

/* Queues a search of ip (value val of ge) in layer l's CIDR table. */
static void
net_queue(const struct mlayer *L, struct mgev *ge, unsigned l, const struct ingest_ip *ip,
          unsigned val)
{
	struct mnetq *q = &ge->net[l][ge->nnet[l]++];
	q->val = (uint8_t)val;
	mnet_query(&L->net, ip, &q->q);
}

/* The addresses of ge to search in layer l's CIDR table. */
static void
net_collect(const struct mlayer *L, struct mgev *ge, unsigned l)
{
	ge->nnet[l] = 0;
	if (L->net.nnodes == 0)
		return;
	const struct mevent *me = &ge->me;
	for (unsigned k = 0; k < me->nip; k++)
		net_queue(L, ge, l, me->val[me->ipval[k]].ip, me->ipval[k]);
}

/* A lazy event's probe of a number names mevent_number_field[val -
 * MVAL_LAZY_INT] until event_extract() gives it the value's index. */
#define MVAL_LAZY_INT 0xf0
_Static_assert(MEV_MAX_VALUES <= MVAL_LAZY_INT, "value indexes below the lazy codes");

/* The most probes a lazy event queues in one layer. */
#define MPROBE_LAZY (MNETQ + MEVENT_NUMBERS)

/* Queues the probes of a lazy event's numbers that h has keys on. */
static void
lazy_numbers(struct mgroup *g, const struct mhash *h, struct mgev *ge)
{
	int64_t num[MEVENT_NUMBERS];
	mevent_numbers(ge->me.ev, num);
	for (unsigned k = 0; k < MEVENT_NUMBERS; k++) {
		if (num[k] == 0 || !mhash_has_field(h, mevent_number_field[k]))
			continue;
		ge->lazy_int[k] = num[k];
		probe_add(g, h, mfield_space(mevent_number_field[k]), &ge->lazy_int[k],
		          sizeof(ge->lazy_int[k]), MVAL_LAZY_INT + k);
	}
}

/*
 * An event of addresses only, when the matcher allows it (m->lazy), is not
 * extracted yet: its probes and CIDR searches are queued straight from the
 * event, exactly as probes_collect() and net_collect() would queue them
 * from mevent_fill()'s values (the source address is value 0, the
 * destination the next; a number, which mevent_fill() adds only when it
 * is not 0, is found by its field once extracted). Most such events turn
 * out quiet and are never extracted; the others are, when they are
 * matched (event_extract()).
 */
static void
lazy_collect(const struct detect_matcher *m, struct mgroup *g, struct mgev *ge)
{
	const struct ingest_event *ev = ge->me.ev;
	const struct ingest_ip *ip[2];
	unsigned nip = 0;
	if ((m->need >> MF_IP_VALUE) & 1) {
		if (ev->src_ip.family == 4 || ev->src_ip.family == 6)
			ip[nip++] = &ev->src_ip;
		if (ev->dst_ip.family == 4 || ev->dst_ip.family == 6)
			ip[nip++] = &ev->dst_ip;
	}
	for (unsigned l = 0; l < 2; l++) {
		const struct mlayer *L = m->layer[l];
		if (L == NULL)
			continue;
		const struct mhash *h = &L->hash;
		ge->pfirst[l] = (uint32_t)g->npool;
		for (unsigned k = 0; k < nip && h->n > 0; k++)
			probe_ip(g, h, ip[k], k);
		if (h->fields[0] & MEVENT_NUMBER_FIELDS)
			lazy_numbers(g, h, ge);
		ge->pn[l] = (uint32_t)(g->npool - ge->pfirst[l]);
		for (unsigned k = 0; k < nip && L->net.nnodes > 0; k++)
			net_queue(L, ge, l, ip[k], k);
	}
}

/* Loads up to MGROUP events of ev[0..n) into g; returns how many. */
static size_t
stage_load(const struct detect_matcher *m, struct mgroup *g, const struct ingest_event *const *ev,
           size_t n)
{
	g->npool = 0;
	size_t k = 0, text = 0;
	bool full = false;
	/* Events share one buffer for their normalised values, so that the
	 * group's text stays together in cache; each needs MEV_BUF_BYTES free
	 * (at most), and an event of addresses only keeps MEV_ADDRESS_BYTES
	 * for when it is extracted. */
	while (k < n && k < MGROUP && !full && MGROUP_TEXT - text >= MEV_BUF_BYTES) {
		struct mgev *ge = &g->ev[k];
		ge->text = (uint32_t)text;
		ge->busy = 0;
		ge->lazy = m->lazy && MPOOL - g->npool >= 2 * MPROBE_LAZY &&
		           mevent_addresses_only(ev[k]);
		k++;
		for (unsigned l = 0; l < 2; l++) {
			ge->pnext[l] = 0;
			ge->pn[l] = 0;
			ge->nnet[l] = 0;
		}
		if (ge->lazy) {
			/* Nothing for event_quiet() to see but its probes and
			 * searches. */
			ge->me.ev = ev[k - 1];
			ge->me.nvals = 0;
			ge->me.fields = 0;
			ge->me.objs = 0;
			text += MEV_ADDRESS_BYTES;
			lazy_collect(m, g, ge);
			continue;
		}
		mevent_fill(&ge->me, ev[k - 1], g->text + text, MEV_BUF_BYTES, m->need);
		text += ge->me.used;
		for (unsigned l = 0; l < 2; l++) {
			const struct mlayer *L = m->layer[l];
			if (L == NULL)
				continue;
			if (!full) {
				probes_collect(g, L, ge, l);
				full = ge->pnext[l] < ge->me.nvals;
			}
			net_collect(L, ge, l);
		}
	}
	g->n = k;
	return k;
}

/* A lazy event that is to be matched: extract it now. Its queued probes
 * and searches name its values by the indexes this gives them; the
 * probes of numbers get theirs here. */
static void
event_extract(const struct detect_matcher *m, struct mgroup *g, struct mgev *ge)
{
	const struct mevent *me = &ge->me;
	mevent_fill(&ge->me, me->ev, g->text + ge->text, MEV_ADDRESS_BYTES, m->need);
	ge->lazy = false;
	for (unsigned l = 0; l < 2; l++) {
		ge->pnext[l] = (uint16_t)me->nvals;
		struct mprobe *q = g->pool + ge->pfirst[l];
		for (uint32_t k = 0; k < ge->pn[l]; k++) {
			if (q[k].val < MVAL_LAZY_INT)
				continue;
			uint8_t f = mevent_number_field[q[k].val - MVAL_LAZY_INT];
			unsigned i = 0;
			while (i < me->nvals && me->val[i].field != f)
				i++;
			/* mevent_fill() adds every number lazy_collect() probes;
			 * were one missing, its probe would find nothing. */
			assert(i < me->nvals);
			if (i == me->nvals) {
				q[k].pass = 0;
				i = 0;
			}
			q[k].val = (uint8_t)i;
		}
	}
}

/* ---- stages 2 and 3: filters, table slots, key records, CIDR blocks -------------- */

/* Returns how many passed. */
static unsigned
probes_filter(const struct mhash *h, struct mprobe *q, uint32_t n)
{
	unsigned passed = 0;
	for (uint32_t k = 0; k < n; k++) {
		q[k].pass = mbloom_test(h, q[k].hv);
		passed += q[k].pass;
		if (q[k].pass)
			__builtin_prefetch(&h->slots[(size_t)q[k].hv & (h->cap - 1)]);
	}
	return passed;
}

/* The slots have (mostly) arrived: start loading the key record of the
 * slot with the probe's hash; a probe whose chain ends first is a miss.
 * Returns how many such misses there were. */
static unsigned
probes_prefetch_keys(const struct mhash *h, struct mprobe *q, uint32_t n)
{
	unsigned missed = 0;
	for (uint32_t k = 0; k < n; k++) {
		if (!q[k].pass)
			continue;
		for (size_t i = (size_t)q[k].hv & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
			const struct mhash_slot *s = &h->slots[i];
			if (s->npost == 0) {
				q[k].pass = 0;
				missed++;
				break;
			}
			if (s->h == q[k].hv) {
				if (!s->inline_one)
					__builtin_prefetch(h->keys + s->koff);
				break;
			}
		}
	}
	return missed;
}

/* Loops over the events (ge) of g for each layer (L, number l) there is;
 * the layer test stays out of the inner loop. */
#define EACH_LAYER(m, g, ge, L, l)                                                            \
	for (unsigned l = 0; l < 2; l++)                                                      \
		for (const struct mlayer *L = (m)->layer[l]; L != NULL; L = NULL)             \
			for (struct mgev *ge = (g)->ev, *ge_end_ = ge + (g)->n; ge < ge_end_; ge++)

/* Stage 2: the Bloom filters (prefetching the table slots of keys that
 * pass) and the CIDR filters (prefetching the intervals to search); the
 * searches that pass are listed for stage 3. */
static void
stage_filter(const struct detect_matcher *m, struct mgroup *g)
{
	g->nlive = 0;
	EACH_LAYER(m, g, ge, L, l) {
		ge->busy += probes_filter(&L->hash, g->pool + ge->pfirst[l], ge->pn[l]);
		for (unsigned k = 0; k < ge->nnet[l]; k++) {
			struct mnetq *q = &ge->net[l][k];
			q->nd = M_NONE;
			if (mnet_pass(&L->net, &q->q))
				g->live[g->nlive++] = (struct mlive){.ge = ge, .q = q, .l = (uint8_t)l};
		}
	}
}

/* Stage 3: the innermost block of each address the filter let through
 * (prefetching it, with its first posting), and the key records of the
 * table slots found. A block's parents and further postings are rarely
 * needed and are read when matching. */
static void
stage_slots(const struct detect_matcher *m, struct mgroup *g)
{
	for (unsigned i = 0; i < g->nlive; i++) {
		const struct mnet *nt = &m->layer[g->live[i].l]->net;
		struct mnetq *q = g->live[i].q;
		q->nd = mnet_search(nt, &q->q);
		if (q->nd != M_NONE) {
			g->live[i].ge->busy++;
			/* A node is 40 bytes: it may straddle two lines. */
			const char *node = (const char *)&nt->nodes[q->nd];
			__builtin_prefetch(node);
			__builtin_prefetch(node + sizeof(struct mnet_node) - 1);
		}
	}
	EACH_LAYER(m, g, ge, L, l) {
		if (ge->busy > 0)
			ge->busy -= probes_prefetch_keys(&L->hash, g->pool + ge->pfirst[l], ge->pn[l]);
	}
}

/* ---- stage 4: match ---------------------------------------------------------------- */

static void
probes_finish(struct mctx *c, const struct mprobe *q, uint32_t n)
{
	const struct mhash *h = &c->L->hash;
	for (uint32_t k = 0; k < n; k++) {
		if (!q[k].pass)
			continue;
		uint32_t np = 0;
		const struct mpost *p =
		    mhash_find_slot(h, (enum mspace)q[k].vs, q[k].key, q[k].len, q[k].hv, &np);
		if (p != NULL)
			dispatch(c, p, np, &c->me->val[q[k].val], NULL);
	}
}

static void
layer_match(struct mctx *c, struct mgroup *g, struct mgev *ge)
{
	const struct mlayer *L = c->L;
	struct mevent *me = c->me;
	struct detect_match_state *st = c->st;
	unsigned l = c->layer;
	scan_regexes(c);
	for (unsigned k = 0; k < ge->nnet[l]; k++) {
		const struct mnetq *q = &ge->net[l][k];
		const struct mval *v = &me->val[q->val];
		for (uint32_t nd = q->nd; nd != M_NONE; nd = L->net.nodes[nd].parent) {
			const struct mnet_node *node = &L->net.nodes[nd];
			/* A block's first posting and its indicator's
			 * struct mhot are on the block's lines. */
			dispatch(c, node->npost == 1 ? &node->one : L->net.post + node->post,
			         node->npost, v, &node->hot);
		}
	}
	size_t nrx = st->nrx;
	for (size_t k = 0; k < nrx; k++) {
		const struct mhs_pat *p = &L->hs.pat[st->rx[k].id];
		const struct mval *v = &me->val[st->rx[k].val];
		if (p->anchor != M_NONE && p->obj == me->slot[v->slot].obj)
			consider(c, p->anchor, v->slot);
	}
	probes_finish(c, g->pool + ge->pfirst[l], ge->pn[l]);
	/* Keys beyond the pool: this event ends its group, so the pool is
	 * free to take them now. */
	while (ge->pnext[l] < me->nvals) {
		g->npool = 0;
		probes_collect(g, L, ge, l);
		probes_filter(&L->hash, g->pool, ge->pn[l]);
		probes_finish(c, g->pool, ge->pn[l]);
	}
	for (unsigned s = 0; s < me->nslots; s++) {
		uint8_t obj = me->slot[s].obj;
		for (size_t k = 0; k < L->nscan[obj]; k++)
			consider(c, L->scan[obj][k], s);
	}
}

/* Matches one event: its touches go to the current touch list, and the
 * event joins the ones waiting to be emitted. */
static void
event_match(const struct detect_matcher *m, struct detect_match_state *st, struct mgroup *g,
            struct mgev *ge, size_t index)
{
	struct mtouches *tl = &st->tl[st->cur];
	struct mctx c = {.m = m, .st = st, .me = &ge->me, .tl = tl, .tfirst = tl->n};
	for (unsigned l = 0; l < 2; l++) {
		if (m->layer[l] == NULL)
			continue;
		c.L = m->layer[l];
		c.layer = l;
		layer_match(&c, g, ge);
	}
	/* The touch set is per event; the indicators' struct mhot are read
	 * when emitting, a round later. */
	for (size_t i = c.tfirst; i < tl->n; i++) {
		const struct mtouch *t = &tl->t[i];
		st->tset[t->tslot] = 0;
		__builtin_prefetch(t->hot);
	}
	struct mpending *pe = &st->pending[st->npending++];
	*pe = (struct mpending){.index = index,
	                        .ts_ms = ge->me.ev->ts_ms,
	                        .list = (uint8_t)st->cur,
	                        .tfirst = (uint32_t)c.tfirst,
	                        .tn = (uint32_t)(tl->n - c.tfirst)};
}

/* ---- stage 5: emit ----------------------------------------------------------------- */

/* A hit of h's indicator; mi, when not NULL, has its org id and TLP (the
 * ones struct mhot may not hold). */
static void
emit_hit(struct detect_match_state *st, const struct mhot *h, const struct mind *mi,
         uint32_t obs, uint32_t nev, struct detect_match_hit *hits, int max, int *nh)
{
	if (*nh >= max) {
		st->stats.dropped_hits++;
		return;
	}
	hits[(*nh)++] = (struct detect_match_hit){
	    .indicator_id = h->id,
	    .org_id = mi ? mi->org_id : h->org_id,
	    .tlp = mi ? mi->tlp : h->tlp,
	    .observation = obs,
	    .nevents = nev,
	};
}

static uint32_t
lowest(uint64_t mask, uint32_t fallback)
{
	return mask ? (uint32_t)__builtin_ctzll(mask) : fallback;
}

static int
event_emit(const struct detect_matcher *m, struct detect_match_state *st,
           const struct mpending *pe, struct detect_match_hit *hits, int max)
{
	int nh = 0;
	const struct mtouch *tt = st->tl[pe->list].t + pe->tfirst;
	for (uint32_t i = 0; i < pe->tn; i++) {
		const struct mtouch *t = &tt[i];
		const struct mlayer *L = m->layer[t->layer];
		const struct mhot *h = t->hot;
		if (h->flags & MIND_DISABLED)
			continue;
		if (t->layer == 0 && m->ntomb > 0 &&
		    ((m->tomb_filter[h->tomb_bit >> 6] >> (h->tomb_bit & 63)) & 1) &&
		    tomb_has(m, L->inds[t->ind].id_hash))
			continue;
		if (!(h->flags & MHOT_COLD)) {
			emit_hit(st, h, NULL, t->first_obs, 1, hits, max, &nh);
			continue;
		}
		const struct mind *mi = &L->inds[t->ind];
		uint32_t nev = 1;
		if (mi->flags & MIND_STATEFUL) {
			if (mstate_advance(st, L, mi, t->mask, pe->ts_ms, &nev))
				emit_hit(st, h, mi, lowest(t->mask, t->first_obs), nev, hits, max, &nh);
		} else if ((mi->flags & (MIND_BARE | MIND_ANY)) ||
		           monode_single(L, mi->otree, t->mask, pe->ts_ms)) {
			emit_hit(st, h, mi, t->first_obs, 1, hits, max, &nh);
		}
	}
	return nh;
}

struct memit {
	const struct detect_matcher *m;
	struct detect_match_hit *hits;
	int max;
	detect_match_each each;
	void *arg;
	int last;          /* hits of the last event emitted */
	size_t last_index; /* and its index in the call */
};

/* Emits the first n waiting events, in order, and frees their touch
 * lists. */
static void
emit_pending(struct detect_match_state *st, struct memit *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		x->last = event_emit(x->m, st, &st->pending[i], x->hits, x->max);
		x->last_index = st->pending[i].index;
		if (x->each != NULL && x->last > 0)
			x->each(x->arg, st->pending[i].index, x->hits, x->last);
	}
	/* Lists no event still waiting uses are empty again. */
	bool used[2] = {false, false};
	for (size_t i = n; i < st->npending; i++)
		used[st->pending[i].list] = true;
	for (int k = 0; k < 2; k++) {
		if (!used[k])
			st->tl[k].n = 0;
	}
	memmove(st->pending, st->pending + n, (st->npending - n) * sizeof(*st->pending));
	st->npending -= n;
}

/* True when stage 4 would find nothing for ge: no key passed the
 * filters, no address is in a block, and no regex or scan list reads its
 * fields or objects. Most events are such; they skip stages 4 and 5, which
 * would emit nothing for them. */
static bool
event_quiet(const struct detect_matcher *m, const struct mgev *ge)
{
	for (unsigned l = 0; l < 2; l++) {
		const struct mlayer *L = m->layer[l];
		if (L == NULL)
			continue;
		if ((ge->me.fields & L->rx_fields) || (ge->me.objs & L->scan_objs) ||
		    ge->pnext[l] < ge->me.nvals)
			return false;
	}
	return ge->busy == 0;
}

/* Stages 4 and 5 for g: its events are matched into the current touch list
 * and emitted a round later, so that their indicators have arrived; the
 * previous group's are emitted now. */
static void
stage_match(const struct detect_matcher *m, struct detect_match_state *st, struct mgroup *g,
            struct memit *x)
{
	size_t before = st->npending;
	st->cur ^= 1;
	for (size_t e = 0; e < g->n; e++) {
		if (st->tl[st->cur].n > MST_TOUCH_ARR - MST_TOUCH_MAX) {
			/* A list may fill up: emit everything before this event. */
			emit_pending(st, x, st->npending);
			before = 0;
		}
		struct mgev *ge = &g->ev[e];
		if (event_quiet(m, ge)) {
			st->stats.lazy_quiet += ge->lazy;
			continue;
		}
		if (ge->lazy)
			event_extract(m, g, ge);
		event_match(m, st, g, ge, g->first + e);
	}
	emit_pending(st, x, before);
}

/* ---- the whole lookup ------------------------------------------------------------- */

/* Matches ev[0..n) through the stages; each event's hits go to hits (at
 * most max) and, when each is set, to each(). Returns the hits of the
 * last event. */
static int
match_events(const struct detect_matcher *m, struct detect_match_state *st,
             const struct ingest_event *const *ev, size_t n, struct detect_match_hit *hits,
             int max, detect_match_each each, void *arg)
{
	if (st->gen != m->gen) {
		for (int i = 0; i < 2; i++) {
			if (m->layer[i] != NULL && mhs_scratch(&m->layer[i]->hs, &st->scratch) != 0)
				abort(); /* out of memory */
		}
		st->gen = m->gen;
	}
	struct memit x = {
	    .m = m, .hits = hits, .max = max, .each = each, .arg = arg, .last_index = SIZE_MAX};
	for (size_t done = 0; done < n;) {
		struct mgroup *g = &st->grp;
		g->first = done;
		done += stage_load(m, g, ev + done, n - done);
		stage_filter(m, g);
		stage_slots(m, g);
		stage_match(m, st, g, &x);
	}
	emit_pending(st, &x, st->npending);
	return n > 0 && x.last_index == n - 1 ? x.last : 0; /* a quiet last event has none */
}

int
detect_matcher_match(const struct detect_matcher *m, struct detect_match_state *st,
                     const struct ingest_event *ev, struct detect_match_hit *hits, int max)
{
	return match_events(m, st, &ev, 1, hits, max, NULL, NULL);
}

void
detect_matcher_match_batch(const struct detect_matcher *m, struct detect_match_state *st,
                           const struct ingest_event *const *ev, size_t n, int max,
                           detect_match_each each, void *arg)
{
	if (max > MST_HITS)
		max = MST_HITS;
	(void)match_events(m, st, ev, n, st->hits, max, each, arg);
}
