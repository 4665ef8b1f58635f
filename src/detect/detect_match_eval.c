/*
 * detect_match_eval.c - what an index hit cannot prove: an observation
 * expression's comparison tree on one object of an event, and an
 * observation-level tree over one event.
 *
 * This is a port of the reference evaluator's rules (stix_pattern_eval's
 * cmp_value) onto the values an event carries, so that the matcher and the
 * evaluator agree: a string never equals a number, an object or list
 * equals nothing (so != holds for it), ordering never applies across
 * types, strings compare with bytes as Latin-1 code points, LIKE and
 * MATCHES apply to valid UTF-8 strings only (their regex hits come from
 * the Vectorscan scan of the event, in the lookup state).
 */
#include "detect/detect_match_int.h"

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

/* Values are ordered as the evaluator orders them, with its own functions
 * (stix_str_bytes_cmp, stix_mem_order), so the two cannot drift apart. */

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
		return v->kind == MK_STR ? stix_mem_order(v->s, v->len, l->s, l->len) : ORD_NONE;
	case STIX_LITERAL_INT:
		return v->kind == MK_INT ? (v->i < l->i ? -1 : v->i > l->i) : ORD_NONE;
	case STIX_LITERAL_FLOAT:
		if (v->kind != MK_INT)
			return ORD_NONE;
		return (double)v->i < l->f ? -1 : (double)v->i > l->f ? 1 : 0;
	case STIX_LITERAL_BINARY:
	case STIX_LITERAL_HEX:
		if (v->kind == MK_STR && stix_str_bytes_cmp(v->s, v->len, l->bytes, l->nbytes, &r))
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

bool
mtree_eval(const struct mctx *c, uint32_t node, unsigned slot)
{
	const struct mnode *n = &c->L->nodes[node];
	switch (n->kind) {
	case MN_CMP: return cmp_eval(c, &c->L->cmps[n->off], slot);
	case MN_AND:
		for (uint32_t i = 0; i < n->n; i++) {
			if (!mtree_eval(c, n->off + i, slot))
				return false;
		}
		return true;
	case MN_OR:
		for (uint32_t i = 0; i < n->n; i++) {
			if (mtree_eval(c, n->off + i, slot))
				return true;
		}
		return false;
	default: return false;
	}
}
