/*
 * detect_match.c - matching an event against a compiled matcher (see
 * detect_match_compile.c for how patterns become indexes).
 *
 * The event's objects and values are extracted once (detect_match_event.c).
 * For each layer: every key is hashed and its Bloom line prefetched, the
 * Vectorscan databases run over the text values, the CIDR table is
 * searched for the addresses, then the keys are looked up and the scan
 * lists evaluated. An index hit on an exact expression touches its
 * indicator at once; others evaluate their comparison tree on the object
 * the hit came from, with the evaluator's rules for types (a faithful
 * port of stix_pattern_eval's cmp_value over event values). After both
 * layers, touched indicators become hits, through the observation-level
 * tree and, for multi-observation patterns, the state's memory of earlier
 * events (detect_match_state.c). Nothing here allocates; what a lookup
 * writes is in the caller's struct detect_match_state.
 */
#include "detect/detect_match_int.h"

#include <stdio.h>
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


bool
monode_single(const struct mlayer *L, uint32_t node, uint64_t mask, int64_t ts_ms)
{
	const struct monode *n = &L->onodes[node];
	switch (n->kind) {
	case MON_OBS: return n->off < 64 && ((mask >> n->off) & 1);
	case MON_OR:
		for (uint32_t i = 0; i < n->nkids; i++) {
			if (monode_single(L, n->off + i, mask, ts_ms))
				return true;
		}
		return false;
	case MON_QUAL:
		if (!monode_single(L, n->off, mask, ts_ms))
			return false;
		for (uint32_t i = 0; i < n->nkids; i++) {
			const struct mqual *q = &L->quals[n->qoff + i];
			if (q->kind == STIX_QUALIFIER_REPEATS && q->repeats != 1)
				return false;
			if (q->kind == STIX_QUALIFIER_START_STOP &&
			    !(q->start_ms < q->stop_ms && ts_ms < q->stop_ms && ts_ms >= q->start_ms))
				return false;
		}
		return true;
	default: return false; /* AND, FOLLOWEDBY need several events */
	}
}

struct mctx {
	const struct detect_matcher *m;
	const struct mlayer *L;
	struct detect_match_state *st;
	struct mevent *me;
	unsigned layer;
	bool scanned; /* the layer's regexes have run over the event */
};

static void scan_regexes(struct mctx *c);

static bool
rx_hit(const struct mctx *c, unsigned val, uint32_t id)
{
	const struct detect_match_state *st = c->st;
	for (size_t i = 0; i < st->nrx; i++) {
		if (st->rx[i].id == id && st->rx[i].val == val)
			return true;
	}
	return false;
}

/* Decodes one UTF-8 code point; 0 if malformed (as the evaluator). */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len = (s[0] & 0xe0) == 0xc0   ? 2
	             : (s[0] & 0xf0) == 0xe0 ? 3
	             : (s[0] & 0xf8) == 0xf0 ? 4
	                                     : 0;
	if (len == 0 || len > n)
		return 0;
	uint32_t c = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/* A string against bytes, the string read as Latin-1: the evaluator's rule. */
static bool
str_bytes_cmp(const char *s, size_t n, const unsigned char *b, size_t bn, int *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k = 0;
	int r = 0;
	while (i < n) {
		uint32_t cp = 0;
		size_t l = utf8_next(u + i, n - i, &cp);
		if (l == 0 || cp > 0xff)
			return false;
		i += l;
		if (r == 0) {
			if (k >= bn)
				r = 1;
			else if (cp != b[k])
				r = cp < b[k] ? -1 : 1;
		}
		k++;
	}
	if (r == 0 && k < bn)
		r = -1;
	*out = r;
	return true;
}

static int
mem_order(const void *a, size_t an, const void *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	int r = m > 0 ? memcmp(a, b, m) : 0;
	if (r != 0)
		return r < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

#define ORD_NONE 2

/* A value as the comparison sees it. */
struct cval {
	uint8_t kind; /* MK_STR, MK_INT, or 3: an object or list */
	const char *s;
	uint32_t len;
	int64_t i;
	struct mval *v; /* the extracted value, when there is one */
};

#define CV_OTHER 3

/* The evaluator's val_order for the kinds events have. */
static int
cval_order(const struct cval *v, const struct mlit *l)
{
	int r = 0;
	switch (l->type) {
	case STIX_LITERAL_STRING:
		return v->kind == MK_STR ? mem_order(v->s, v->len, l->s, l->len) : ORD_NONE;
	case STIX_LITERAL_INT:
		return v->kind == MK_INT ? (v->i < l->i ? -1 : v->i > l->i) : ORD_NONE;
	case STIX_LITERAL_FLOAT:
		if (v->kind != MK_INT)
			return ORD_NONE;
		return (double)v->i < l->f ? -1 : (double)v->i > l->f ? 1 : 0;
	case STIX_LITERAL_BINARY:
	case STIX_LITERAL_HEX:
		if (v->kind == MK_STR && str_bytes_cmp(v->s, v->len, l->bytes, l->nbytes, &r))
			return r;
		return ORD_NONE;
	case STIX_LITERAL_TIMESTAMP: {
		if (v->kind != MK_STR || v->len > 64)
			return ORD_NONE;
		char tmp[65];
		memcpy(tmp, v->s, v->len);
		tmp[v->len] = '\0';
		int64_t ms = 0;
		if (time_parse_rfc3339(tmp, &ms) != 0)
			return ORD_NONE;
		return ms < l->ts ? -1 : ms > l->ts ? 1 : 0;
	}
	default: return ORD_NONE;
	}
}

static bool
cval_equal(const struct cval *v, const struct mlit *l)
{
	if (l->net && v->v != NULL && v->v->kind == MK_IP) {
		const struct ingest_ip *ip = v->v->ip;
		int max = ip->family == 4 ? 32 : 128;
		return mnet_within(ip->family, ip->family == 4 ? ip->a + 12 : ip->a, max, l->net, l->addr,
		                  l->prefix);
	}
	return cval_order(v, l) == 0;
}

static bool
cval_net(const struct cval *v, int *family, uint8_t addr[16], int *prefix)
{
	if (v->v != NULL && v->v->kind == MK_IP) {
		const struct ingest_ip *ip = v->v->ip;
		*family = ip->family;
		*prefix = ip->family == 4 ? 32 : 128;
		memcpy(addr, ip->family == 4 ? ip->a + 12 : ip->a, ip->family == 4 ? 4 : 16);
		return true;
	}
	return mnet_parse(v->s, v->len, family, addr, prefix);
}

/* One value against one comparison: the evaluator's cmp_value. */
static bool
cmp_value(const struct mctx *c, const struct mcmp *cmp, const struct cval *v)
{
	bool r = false, applies = true;
	const struct mlit *l = cmp->lit;
	switch ((enum stix_cmp_op)cmp->op) {
	case STIX_CMP_EXISTS: return true;
	case STIX_CMP_EQ: r = cval_equal(v, &l[0]); break;
	case STIX_CMP_NE: r = !cval_equal(v, &l[0]); break;
	case STIX_CMP_LT:
	case STIX_CMP_LE:
	case STIX_CMP_GT:
	case STIX_CMP_GE: {
		int o = cval_order(v, &l[0]);
		applies = o != ORD_NONE && l[0].type != STIX_LITERAL_BOOL;
		r = applies && (cmp->op == STIX_CMP_LT   ? o < 0
		                : cmp->op == STIX_CMP_LE ? o <= 0
		                : cmp->op == STIX_CMP_GT ? o > 0
		                                         : o >= 0);
		break;
	}
	case STIX_CMP_IN:
		for (uint32_t i = 0; i < cmp->nlit && !r; i++)
			r = cval_equal(v, &l[i]);
		break;
	case STIX_CMP_LIKE:
		applies = v->kind == MK_STR;
		if (!applies)
			break;
		if (cmp->like == ML_EXACT) {
			r = v->len == l[0].len && memcmp(v->s, l[0].s, v->len) == 0;
		} else if (cmp->like == ML_SUFFIX) {
			uint32_t n = l[0].len - 1; /* ".x" */
			r = v->len >= n && memcmp(v->s + v->len - n, l[0].s + 1, n) == 0;
		} else {
			applies = v->v != NULL && mval_utf8(c->me, v->v);
			r = applies && rx_hit(c, (unsigned)(v->v - c->me->val), cmp->rx);
		}
		break;
	case STIX_CMP_MATCHES:
		applies = v->kind == MK_STR && v->v != NULL && mval_utf8(c->me, v->v);
		r = applies && rx_hit(c, (unsigned)(v->v - c->me->val), cmp->rx);
		break;
	case STIX_CMP_ISSUBSET:
	case STIX_CMP_ISSUPERSET: {
		int fa = 0, pa = 0;
		uint8_t a[16];
		applies = v->kind == MK_STR && l[0].net && cval_net(v, &fa, a, &pa);
		if (applies)
			r = cmp->op == STIX_CMP_ISSUBSET
			        ? mnet_within(fa, a, pa, l[0].net, l[0].addr, l[0].prefix)
			        : mnet_within(l[0].net, l[0].addr, l[0].prefix, fa, a, pa);
		break;
	}
	}
	if (!applies)
		return false;
	return cmp->negated ? !r : r;
}

static bool
cmp_eval(const struct mctx *c, const struct mcmp *cmp, unsigned slot)
{
	struct mevent *me = c->me;
	const struct mslot *s = &me->slot[slot];
	if (cmp->obj != s->obj)
		return false;
	struct cval v = {.kind = MK_STR};
	const char *name = NULL;
	bool other = false;
	switch ((enum mfield)cmp->field) {
	case MF_TYPE: name = mobj_name(s->obj); break;
	case MF_NT_SRC_REF: other = s->ref_src != 0xff; break;
	case MF_NT_DST_REF: other = s->ref_dst != 0xff; break;
	case MF_NT_SRC_TYPE:
		name = s->ref_src != 0xff ? mobj_name(me->slot[s->ref_src].obj) : NULL;
		break;
	case MF_NT_DST_TYPE:
		name = s->ref_dst != 0xff ? mobj_name(me->slot[s->ref_dst].obj) : NULL;
		break;
	case MF_NT_PROTOCOLS: other = s->nprotos > 0; break;
	case MF_FILE_HASHES: other = s->hashes; break;
	case MF_MSG_FROM_REF: other = s->ref_from != 0xff; break;
	case MF_MSG_FROM_TYPE: name = s->ref_from != 0xff ? "email-addr" : NULL; break;
	case MF_MSG_TO_REFS: other = s->nto > 0; break;
	case MF_MSG_TO_REF: other = s->nto > 0 && cmp->index <= 0; break;
	case MF_MSG_TO_TYPE: name = s->nto > 0 && cmp->index <= 0 ? "email-addr" : NULL; break;
	default: {
		for (unsigned k = 0; k < s->n; k++) {
			struct mval *mv = &me->val[s->first + k];
			if (mv->field != cmp->field || (cmp->index >= 0 && mv->idx != cmp->index))
				continue;
			struct cval cv = {.kind = mv->kind == MK_INT ? MK_INT : MK_STR, .v = mv, .i = mv->i};
			if (cv.kind == MK_STR)
				cv.s = mval_text(me, mv, &cv.len);
			if (cmp_value(c, cmp, &cv))
				return true;
		}
		return false;
	}
	}
	if (name != NULL) {
		v.s = name;
		v.len = (uint32_t)strlen(name);
		return cmp_value(c, cmp, &v);
	}
	if (other) {
		v.kind = CV_OTHER;
		return cmp_value(c, cmp, &v);
	}
	return false;
}

static bool
tree_eval(const struct mctx *c, uint32_t node, unsigned slot)
{
	const struct mnode *n = &c->L->nodes[node];
	switch (n->kind) {
	case MN_CMP: return cmp_eval(c, &c->L->cmps[n->off], slot);
	case MN_AND:
		for (uint32_t i = 0; i < n->n; i++) {
			if (!tree_eval(c, n->off + i, slot))
				return false;
		}
		return true;
	case MN_OR:
		for (uint32_t i = 0; i < n->n; i++) {
			if (tree_eval(c, n->off + i, slot))
				return true;
		}
		return false;
	default: return false;
	}
}

/* An observation expression held for an object: note its indicator. */
static void
touch(const struct mctx *c, uint32_t ind, uint32_t obs_id)
{
	struct detect_match_state *st = c->st;
	const struct mind *mi = &c->L->inds[ind];
	if (mi->flags & MIND_DISABLED)
		return;
	if (c->layer == 0 && c->m->ntomb > 0 && tomb_has(c->m, mi->id_hash))
		return;
	uint32_t key = (c->layer << 31) | ind;
	uint32_t h = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 52) & (MST_TSET - 1);
	for (;;) {
		uint32_t e = st->tset[h];
		if (e == 0)
			break;
		struct mtouch *t = &st->touch[e - 1];
		if (t->ind == ind && t->layer == c->layer) {
			if (obs_id < 64)
				t->mask |= 1ull << obs_id;
			if (obs_id < t->first_obs)
				t->first_obs = obs_id;
			return;
		}
		h = (h + 1) & (MST_TSET - 1);
	}
	if (st->ntouch == MST_TOUCH_MAX) {
		st->stats.dropped_hits++;
		return;
	}
	struct mtouch *t = &st->touch[st->ntouch];
	*t = (struct mtouch){
	    .ind = ind,
	    .tslot = h,
	    .first_obs = obs_id,
	    .layer = (uint8_t)c->layer,
	    .mask = obs_id < 64 ? 1ull << obs_id : 0,
	};
	st->tset[h] = (uint32_t)++st->ntouch;
}

static void
consider(const struct mctx *c, uint32_t obs, unsigned slot)
{
	const struct mobs *o = &c->L->obs[obs];
	if (!(o->flags & MOBS_EXACT) && !tree_eval(c, o->root, slot))
		return;
	touch(c, o->ind, o->id);
}

/* An index hit: exact expressions touch their indicator straight away. */
static void
consider_post(const struct mctx *c, const struct mpost *p, unsigned slot)
{
	if (p->id & MPOST_EXACT)
		touch(c, p->ind, p->id & ~MPOST_EXACT);
	else
		consider(c, p->obs, slot);
}

static void
dispatch(const struct mctx *c, const struct mpost *p, uint32_t n, const struct mval *v)
{
	uint8_t obj = c->me->slot[v->slot].obj;
	for (uint32_t i = 0; i < n; i++) {
		if (p[i].field == v->field && p[i].obj == obj)
			consider_post(c, &p[i], v->slot);
		else if (p[i].field == v->alias_field && v->alias_field != MF_NONE)
			consider_post(c, &p[i], v->alias_slot);
	}
}

/*
 * Exact lookups are batched: every key of the event is hashed and its
 * Bloom block prefetched first, then the filter is tested and the table
 * slots of the survivors prefetched, then those are looked up. The cache
 * misses of one event overlap instead of following each other.
 */
#define MPROBE_MAX 64

struct preq {
	uint64_t hv;
	const void *key;
	uint32_t len;
	uint8_t vs;
	uint8_t val;
	uint8_t ipkey[17];
};

struct probes {
	struct preq r[MPROBE_MAX];
	unsigned n;
};

static void
probes_run(struct mctx *c, struct probes *pr)
{
	/* Residual tests of what the probes find read the regex hits. */
	if (!c->scanned)
		scan_regexes(c);
	const struct mhash *h = &c->L->hash;
	unsigned pos[MPROBE_MAX], np = 0;
	for (unsigned i = 0; i < pr->n; i++) {
		if (mbloom_test(h, pr->r[i].hv)) {
			pos[np++] = i;
			__builtin_prefetch(&h->slots[(size_t)pr->r[i].hv & (h->cap - 1)]);
		}
	}
	for (unsigned k = 0; k < np; k++) {
		const struct preq *q = &pr->r[pos[k]];
		uint32_t n = 0;
		const struct mpost *p = mhash_find_slot(h, (enum mspace)q->vs, q->key, q->len, q->hv, &n);
		if (p != NULL)
			dispatch(c, p, n, &c->me->val[q->val]);
	}
	pr->n = 0;
}

static void
probe(struct mctx *c, struct probes *pr, enum mspace vs, const void *key, size_t len,
      unsigned val)
{
	if (pr->n == MPROBE_MAX)
		probes_run(c, pr);
	struct preq *q = &pr->r[pr->n++];
	q->vs = (uint8_t)vs;
	q->val = (uint8_t)val;
	q->len = (uint32_t)len;
	if (vs == MS_IP) {
		memcpy(q->ipkey, key, sizeof(q->ipkey));
		key = q->ipkey;
	}
	q->key = key;
	q->hv = mhash_key(vs, key, len);
	__builtin_prefetch(mbloom_block(&c->L->hash, q->hv));
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
	c->scanned = true;
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

static void
layer_match(struct mctx *c)
{
	const struct mlayer *L = c->L;
	struct mevent *me = c->me;
	struct detect_match_state *st = c->st;
	c->scanned = false;
	st->nrx = 0;
	/* Hash every key and prefetch its filter line; the regex scan and the
	 * CIDR lookups below run while those lines arrive. */
	const struct mhash *h = &L->hash;
	struct probes pr;
	pr.n = 0;
	for (unsigned i = 0; i < me->nvals && h->n > 0; i++) {
		const struct mval *v = &me->val[i];
		if (!v->probe)
			continue;
		switch ((enum mfield)v->field) {
		case MF_IP_VALUE:
			if (h->spaces & (1u << MS_IP)) {
				uint8_t key[17];
				key[0] = v->ip->family;
				memcpy(key + 1, v->ip->a, 16);
				probe(c, &pr, MS_IP, key, sizeof(key), i);
			}
			if (L->net.nnodes > 0)
				mnet_prefetch(&L->net, v->ip);
			break;
		case MF_DOMAIN_VALUE:
			if (h->spaces & (1u << MS_DOMAIN))
				probe(c, &pr, MS_DOMAIN, v->s, v->len, i);
			if (L->suffix_labels != 0) {
				/* Parents with as many labels as some suffix has. */
				unsigned n = mdomain_labels(v->s, v->len);
				for (uint32_t k = 0; k < v->len; k++) {
					if (v->s[k] != '.')
						continue;
					n--;
					if ((L->suffix_labels >> n) & 1)
						probe(c, &pr, MS_SUFFIX, v->s + k + 1, v->len - k - 1, i);
				}
			}
			break;
		case MF_EMAIL_VALUE:
			if (h->spaces & (1u << MS_EMAIL))
				probe(c, &pr, MS_EMAIL, v->s, v->len, i);
			break;
		default:
			if (!mhash_has_field(h, v->field))
				break;
			if (v->kind == MK_INT)
				probe(c, &pr, mfield_space(v->field), &v->i, sizeof(v->i), i);
			else
				probe(c, &pr, mfield_space(v->field), v->s, v->len, i);
			break;
		}
	}
	if (!c->scanned)
		scan_regexes(c);
	if (L->net.nnodes > 0) {
		for (unsigned i = 0; i < me->nvals; i++) {
			const struct mval *v = &me->val[i];
			if (v->field != MF_IP_VALUE)
				continue;
			for (uint32_t nd = mnet_lookup(&L->net, v->ip); nd != M_NONE;
			     nd = L->net.nodes[nd].parent) {
				const struct mnet_node *node = &L->net.nodes[nd];
				dispatch(c, L->net.post + node->post, node->npost, v);
			}
		}
	}
	size_t nrx = st->nrx;
	for (size_t k = 0; k < nrx; k++) {
		const struct mhs_pat *p = &L->hs.pat[st->rx[k].id];
		const struct mval *v = &me->val[st->rx[k].val];
		if (p->anchor != M_NONE && p->obj == me->slot[v->slot].obj)
			consider(c, p->anchor, v->slot);
	}
	if (pr.n > 0)
		probes_run(c, &pr);
	for (unsigned s = 0; s < me->nslots; s++) {
		uint8_t obj = me->slot[s].obj;
		for (size_t k = 0; k < L->nscan[obj]; k++)
			consider(c, L->scan[obj][k], s);
	}
}

static void
emit_hit(struct detect_match_state *st, const struct mind *mi, uint32_t obs, uint32_t nev,
         struct detect_match_hit *hits, int max, int *nh)
{
	if (*nh >= max) {
		st->stats.dropped_hits++;
		return;
	}
	hits[(*nh)++] = (struct detect_match_hit){
	    .indicator_id = mi->id,
	    .org_id = mi->org_id,
	    .tlp = mi->tlp,
	    .observation = obs,
	    .nevents = nev,
	};
}

static uint32_t
lowest(uint64_t mask, uint32_t fallback)
{
	return mask ? (uint32_t)__builtin_ctzll(mask) : fallback;
}

int
detect_matcher_match(const struct detect_matcher *m, struct detect_match_state *st,
                     const struct ingest_event *ev, struct detect_match_hit *hits, int max)
{
	if (st->gen != m->gen) {
		for (int i = 0; i < 2; i++) {
			if (m->layer[i] != NULL && mhs_scratch(&m->layer[i]->hs, &st->scratch) != 0)
				abort(); /* out of memory */
		}
		st->gen = m->gen;
	}
	struct mevent *me = &st->me;
	mevent_fill(me, ev);
	struct mctx c = {.m = m, .st = st, .me = me};
	for (unsigned i = 0; i < 2; i++) {
		if (m->layer[i] == NULL)
			continue;
		c.L = m->layer[i];
		c.layer = i;
		layer_match(&c);
	}
	int nh = 0;
	for (size_t i = 0; i < st->ntouch; i++) {
		const struct mtouch *t = &st->touch[i];
		st->tset[t->tslot] = 0;
		const struct mlayer *L = m->layer[t->layer];
		const struct mind *mi = &L->inds[t->ind];
		uint32_t nev = 1;
		if (mi->flags & MIND_STATEFUL) {
			if (mstate_advance(st, L, mi, t->mask, ev->ts_ms, &nev))
				emit_hit(st, mi, lowest(t->mask, t->first_obs), nev, hits, max, &nh);
		} else if ((mi->flags & (MIND_BARE | MIND_ANY)) ||
		           monode_single(L, mi->otree, t->mask, ev->ts_ms)) {
			emit_hit(st, mi, t->first_obs, 1, hits, max, &nh);
		}
	}
	st->ntouch = 0;
	return nh;
}

