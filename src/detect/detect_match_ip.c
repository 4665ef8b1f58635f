/*
 * detect_match_ip.c - the matcher's CIDR blocks: a flat table of elementary
 * intervals per address family, found by a jump table on the top bits (8
 * to 16 of them, as many as there are intervals) and a short binary search.
 *
 * CIDR blocks are either nested or disjoint, so they form a forest: each
 * block's parent is the smallest block that contains it. Sweeping the
 * blocks in address order cuts the address space into intervals over which
 * the innermost covering block does not change; a lookup finds the
 * interval of an address and walks up the parents from its innermost block,
 * visiting every block that contains the address and nothing else. Exact
 * addresses live in the hash index, not here.
 *
 * Addresses are 128-bit keys; an IPv4 address sits in the top 32 bits so
 * that the jump table works the same for both families (its intervals are
 * then stored as 32-bit starts). Each jump entry also holds a bit per
 * sub-prefix that some block touches, which answers most lookups (no
 * block) from the one line the search would read first anyway.
 */
#include "detect/detect_match_int.h"

#include <stdlib.h>

typedef unsigned __int128 u128;

struct blk {
	u128 start, end;
	uint32_t id;
};

/* The jump table's size in bits: about one interval per entry (a small
 * table stays in cache, a large one leaves a short search), and about a
 * sub-prefix bit per 32 blocks, so that a random address passes the filter
 * one time in 30 or less; 2^8 to 2^16 entries (2 KB to 512 KB). */
static unsigned
jump_bits(size_t nintervals, size_t nblocks)
{
	unsigned bits = 8;
	while (bits < 16 && (((size_t)1 << bits) < nintervals ||
	                     ((size_t)1 << (bits + MNET_SUB_BITS)) < nblocks * 32))
		bits++;
	return bits;
}

struct mnet_in {
	u128 start;
	uint8_t family;
	uint8_t prefix;
	struct mpost p;
};

static u128
key_of(int family, const uint8_t *addr)
{
	if (family == 4) {
		uint32_t w;
		memcpy(&w, addr, 4);
		return (u128)__builtin_bswap32(w) << 96;
	}
	uint64_t hi, lo;
	memcpy(&hi, addr, 8);
	memcpy(&lo, addr + 8, 8);
	return (u128)__builtin_bswap64(hi) << 64 | __builtin_bswap64(lo);
}

static u128
block_mask(int bits) /* the host part of a block of this many prefix bits */
{
	return bits >= 128 ? 0 : (~(u128)0) >> bits;
}

void
mnet_add(struct mnet *nt, int family, const uint8_t *addr, int prefix, struct mpost p)
{
	if (nt->nin == nt->in_cap) {
		nt->in_cap = nt->in_cap ? nt->in_cap * 2 : 256;
		nt->in = xrealloc(nt->in, nt->in_cap * sizeof(*nt->in));
	}
	/* IPv4 lives in the top 32 bits, so its prefix counts from the top too. */
	struct mnet_in *in = &nt->in[nt->nin++];
	in->start = key_of(family, addr) & ~block_mask(prefix);
	in->family = (uint8_t)family;
	in->prefix = (uint8_t)prefix;
	in->p = p;
}

static int
in_cmp(const void *a, const void *b)
{
	const struct mnet_in *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1; /* the larger block first */
	if (x->p.obs != y->p.obs)
		return x->p.obs < y->p.obs ? -1 : 1;
	return (int)x->p.field - (int)y->p.field;
}

struct build {
	u128 *start;
	uint32_t *node;
	size_t n, cap;
};

static void
emit(struct build *b, u128 s, uint32_t node)
{
	if (b->n > 0 && b->start[b->n - 1] == s) {
		b->node[b->n - 1] = node;
		return;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->start = xrealloc(b->start, b->cap * sizeof(*b->start));
		b->node = xrealloc(b->node, b->cap * sizeof(*b->node));
	}
	b->start[b->n] = s;
	b->node[b->n++] = node;
}

/* The sub-prefix of k (within the shared prefix): its jump entry, then
 * its bit there. */
static size_t
sub_of(const struct mnet_table *t, u128 k)
{
	return (size_t)((k << t->skip) >> (128 - t->bits - MNET_SUB_BITS));
}

/* Cuts the space into elementary intervals, sets each block's parent and
 * fills the jump table. bl is sorted by start, larger blocks first. */
static void
sweep(struct mnet *nt, const struct blk *bl, size_t nblocks, struct mnet_table *t, bool v4)
{
	struct build b = {0};
	size_t *stack = xmalloc(nblocks * sizeof(*stack));
	size_t sp = 0;
	const u128 max = ~(u128)0;
	emit(&b, 0, M_NONE);
	for (size_t i = 0; i < nblocks; i++) {
		while (sp > 0 && bl[stack[sp - 1]].end < bl[i].start) {
			u128 end = bl[stack[--sp]].end;
			emit(&b, end + 1, sp > 0 ? bl[stack[sp - 1]].id : M_NONE);
		}
		nt->nodes[bl[i].id].parent = sp > 0 ? bl[stack[sp - 1]].id : M_NONE;
		stack[sp++] = i;
		emit(&b, bl[i].start, bl[i].id);
	}
	while (sp > 0) {
		u128 end = bl[stack[--sp]].end;
		if (end != max)
			emit(&b, end + 1, sp > 0 ? bl[stack[sp - 1]].id : M_NONE);
	}
	free(stack);
	t->bits = jump_bits(b.n, nblocks);
	/* The entries index the bits after the prefix all blocks share:
	 * feeds' IPv6 blocks sit in a few /16s, and a table on the top bits
	 * would put them all in one entry. An IPv4 address has 32 bits to
	 * index. */
	u128 lo = bl[0].start, hi = bl[0].end;
	for (size_t i = 1; i < nblocks; i++)
		hi = bl[i].end > hi ? bl[i].end : hi;
	unsigned width = v4 ? 32 : 128, skip = 0;
	while (skip + t->bits + MNET_SUB_BITS < width && ((lo ^ hi) >> (127 - skip)) == 0)
		skip++;
	t->skip = skip;
	t->base = lo & ~block_mask((int)skip);
	size_t nj = (size_t)1 << t->bits;
	t->ent = xcalloc(nj + 1, sizeof(*t->ent));
	size_t k = 0;
	for (size_t j = 0; j < nj; j++) {
		u128 bound = t->base | ((u128)j << (128 - skip - t->bits));
		while (k < b.n && b.start[k] < bound)
			k++;
		t->ent[j].first = (uint32_t)k;
	}
	t->ent[nj].first = (uint32_t)b.n;
	/* The filter: each sub-prefix that a block overlaps. */
	for (size_t i = 0; i < nblocks; i++) {
		size_t u0 = sub_of(t, bl[i].start), u1 = sub_of(t, bl[i].end);
		for (size_t u = u0; u <= u1; u++)
			t->ent[u >> MNET_SUB_BITS].bits |= 1u << (u & ((1u << MNET_SUB_BITS) - 1));
	}
	t->ent = mhuge_move(t->ent, (nj + 1) * sizeof(*t->ent));
	t->n = b.n;
	if (v4) {
		t->iv4 = xmalloc(b.n * sizeof(*t->iv4));
		for (size_t i = 0; i < b.n; i++)
			t->iv4[i] = (struct mnet_iv4){.start = (uint32_t)(b.start[i] >> 96), .node = b.node[i]};
		t->iv4 = mhuge_move(t->iv4, b.n * sizeof(*t->iv4));
		free(b.start);
		free(b.node);
	} else {
		t->start = mhuge_move(b.start, b.n * sizeof(*b.start));
		t->node = mhuge_move(b.node, b.n * sizeof(*b.node));
	}
}

void
mnet_finish(struct mnet *nt)
{
	if (nt->nin == 0)
		return;
	qsort(nt->in, nt->nin, sizeof(*nt->in), in_cmp);
	/* One node per distinct block, its postings contiguous. */
	nt->nodes = xmalloc(nt->nin * sizeof(*nt->nodes));
	nt->post = xmalloc(nt->nin * sizeof(*nt->post));
	struct blk *bl = xmalloc(nt->nin * sizeof(*bl));
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t nblocks = 0;
		const struct mnet_in *prev = NULL;
		for (size_t i = 0; i < nt->nin; i++) {
			const struct mnet_in *in = &nt->in[i];
			if (in->family != fam)
				continue;
			if (prev == NULL || prev->start != in->start || prev->prefix != in->prefix) {
				bl[nblocks++] = (struct blk){.start = in->start,
				                             .end = in->start | block_mask(in->prefix),
				                             .id = (uint32_t)nt->nnodes};
				nt->nodes[nt->nnodes++] =
				    (struct mnet_node){.parent = M_NONE, .post = (uint32_t)nt->npost};
			} else if (prev->p.obs == in->p.obs && prev->p.field == in->p.field &&
			           prev->p.obj == in->p.obj) {
				continue; /* the same expression naming the block twice */
			}
			struct mnet_node *node = &nt->nodes[nt->nnodes - 1];
			if (node->npost++ == 0)
				node->one = in->p;
			nt->post[nt->npost++] = in->p;
			prev = in;
		}
		if (nblocks > 0) {
			struct mnet_table *t = fam == 4 ? &nt->t4 : &nt->t6;
			sweep(nt, bl, nblocks, t, fam == 4);
		}
	}
	free(bl);
	free(nt->in);
	nt->in = NULL;
	nt->nin = nt->in_cap = 0;
}

static const struct mnet_table *
table_of(const struct mnet *nt, int family)
{
	return family == 4 ? &nt->t4 : &nt->t6;
}

void
mnet_query(const struct mnet *nt, const struct ingest_ip *ip, struct mnet_q *q)
{
	const struct mnet_table *t = table_of(nt, ip->family);
	q->family = ip->family;
	size_t u;
	/* Outside the prefix every block shares, an address is in none. */
	if (ip->family == 4) {
		/* The same as below, in 32 bits (skip + bits + MNET_SUB_BITS
		 * <= 32 for IPv4). */
		uint32_t k4, base4 = (uint32_t)(t->base >> 96);
		memcpy(&k4, ip->a + 12, 4);
		k4 = __builtin_bswap32(k4);
		q->k = (u128)k4 << 96;
		q->in = t->n > 0 && (t->skip == 0 || ((k4 ^ base4) >> (32 - t->skip)) == 0);
		u = (k4 << t->skip) >> (32 - t->bits - MNET_SUB_BITS);
	} else {
		q->k = key_of(6, ip->a);
		q->in = t->n > 0 && (t->skip == 0 || ((q->k ^ t->base) >> (128 - t->skip)) == 0);
		u = sub_of(t, q->k);
	}
	if (!q->in)
		return;
	q->j = (uint32_t)(u >> MNET_SUB_BITS);
	q->bit = (uint8_t)(u & ((1u << MNET_SUB_BITS) - 1));
	/* Locality 2, like the Bloom filter lines (probe_add() in
	 * detect_match.c). The search's upper bound, the next entry's start,
	 * is on the same line but one time in eight, and is read only when the
	 * filter bit passes (a few percent of addresses): prefetching that
	 * line too would fetch it for nothing almost every time. */
	__builtin_prefetch(&t->ent[q->j], 0, 2);
}

bool
mnet_pass(const struct mnet *nt, struct mnet_q *q)
{
	if (!q->in)
		return false;
	const struct mnet_table *t = table_of(nt, q->family);
	const struct mnet_ent *e = &t->ent[q->j];
	if (((e->bits >> q->bit) & 1) == 0)
		return false;
	/* start[a] <= k, and every interval from b on starts above k. */
	q->a = e->first ? e->first - 1 : 0;
	q->b = e[1].first;
	size_t mid = q->a + (q->b - q->a) / 2;
	if (q->family == 4)
		__builtin_prefetch(&t->iv4[mid]);
	else
		__builtin_prefetch(&t->start[mid]);
	return true;
}

uint32_t
mnet_search(const struct mnet *nt, const struct mnet_q *q)
{
	const struct mnet_table *t = table_of(nt, q->family);
	uint32_t a = q->a, b = q->b;
	if (q->family == 4) {
		uint32_t k4 = (uint32_t)(q->k >> 96);
		while (b - a > 1) {
			uint32_t mid = a + (b - a) / 2;
			if (t->iv4[mid].start <= k4)
				a = mid;
			else
				b = mid;
		}
		return t->iv4[a].node;
	}
	while (b - a > 1) {
		uint32_t mid = a + (b - a) / 2;
		if (t->start[mid] <= q->k)
			a = mid;
		else
			b = mid;
	}
	return t->node[a];
}

void
mnet_free(struct mnet *nt)
{
	free(nt->in);
	free(nt->nodes);
	free(nt->post);
	for (int i = 0; i < 2; i++) {
		struct mnet_table *t = i == 0 ? &nt->t4 : &nt->t6;
		free(t->start);
		free(t->node);
		free(t->iv4);
		free(t->ent);
	}
	memset(nt, 0, sizeof(*nt));
}

size_t
mnet_bytes(const struct mnet *nt)
{
	size_t b = nt->nnodes * sizeof(*nt->nodes) + nt->npost * sizeof(*nt->post);
	for (int i = 0; i < 2; i++) {
		const struct mnet_table *t = i == 0 ? &nt->t4 : &nt->t6;
		b += t->n * (t->iv4 ? sizeof(*t->iv4) : sizeof(*t->start) + sizeof(*t->node)) +
		     (t->ent ? (((size_t)1 << t->bits) + 1) * sizeof(*t->ent) : 0);
	}
	return b;
}
