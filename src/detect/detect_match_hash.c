/*
 * detect_match_hash.c - the matcher's exact-value index: one open-addressing
 * table from (value space, bytes) to a run of postings, fronted by a blocked
 * Bloom filter.
 *
 * Most values an event carries are named by no indicator, so the common
 * lookup is a miss. The table of a million keys is tens of megabytes and a
 * miss there costs a cache miss to memory; the filter is a sixtieth of that
 * and answers most misses from one cache line that usually sits in L2/L3.
 *
 * While building, postings of one key are chained through next[]; finishing
 * lays each chain out contiguously (in insertion order), frees the chains
 * and fills the filter. After that the index is read-only.
 */
#include "detect/detect_match_int.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#define BLOOM_BITS_PER_KEY 12

#define HUGE_PAGE (2u << 20)

static atomic_bool huge_pages;

void
detect_matcher_huge_pages(bool on)
{
	atomic_store(&huge_pages, on);
}

void *
mhuge_move(void *p, size_t n)
{
	if (p == NULL || n < HUGE_PAGE / 2 || !atomic_load(&huge_pages))
		return p;
	size_t rounded = (n + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	void *q = aligned_alloc(HUGE_PAGE, rounded);
	if (q == NULL)
		return p;
	(void)madvise(q, rounded, MADV_HUGEPAGE); /* advice: fine if refused */
	memcpy(q, p, n);
	free(p);
	return q;
}

static void
rehash(struct mhash *h, size_t ncap)
{
	struct mhash_slot *ns = xcalloc(ncap, sizeof(*ns));
	for (size_t i = 0; i < h->cap; i++) {
		const struct mhash_slot *s = &h->slots[i];
		if (s->npost == 0)
			continue;
		size_t j = (size_t)s->h & (ncap - 1);
		while (ns[j].npost != 0)
			j = (j + 1) & (ncap - 1);
		ns[j] = *s;
	}
	free(h->slots);
	h->slots = ns;
	h->cap = ncap;
}

static void
grow(struct mhash *h)
{
	rehash(h, h->cap ? h->cap * 2 : 1024);
}

void
mhash_reserve(struct mhash *h, size_t nkeys)
{
	size_t cap = 1024;
	while (cap < nkeys * 2)
		cap *= 2;
	if (cap > h->cap)
		rehash(h, cap);
	if (nkeys > h->post_cap) {
		h->post_cap = nkeys;
		h->post = xrealloc(h->post, h->post_cap * sizeof(*h->post));
		h->next = xrealloc(h->next, h->post_cap * sizeof(*h->next));
	}
}

void
mhash_add(struct mhash *h, enum mspace vs, const void *key, size_t len, struct mpost p)
{
	assert(len < (1u << 24));
	if ((h->n + 1) * 2 > h->cap)
		grow(h);
	uint64_t hv = mhash_key(vs, key, len);
	uint32_t kl = (uint32_t)len | ((uint32_t)vs << 24);
	size_t i = (size_t)hv & (h->cap - 1);
	struct mhash_slot *s;
	for (;;) {
		s = &h->slots[i];
		if (s->npost == 0)
			break;
		if (s->h == hv && s->klen == kl && memcmp(h->keys + s->koff, key, len) == 0)
			break;
		i = (i + 1) & (h->cap - 1);
	}
	if (s->npost == 0) {
		if (h->keys_len + len > h->keys_cap) {
			h->keys_cap = (h->keys_len + len) * 2 + 4096;
			h->keys = xrealloc(h->keys, h->keys_cap);
		}
		if (len > 0)
			memcpy(h->keys + h->keys_len, key, len);
		s->h = hv;
		s->koff = (uint32_t)h->keys_len;
		s->klen = kl;
		s->post = M_NONE;
		h->keys_len += len;
		h->n++;
	} else {
		/* The same expression naming the same value twice ("a" OR "a"). */
		const struct mpost *last = &h->post[s->post];
		if (last->obs == p.obs && last->field == p.field && last->obj == p.obj)
			return;
		assert(h->next != NULL); /* not finished */
	}
	if (h->npost == h->post_cap) {
		h->post_cap = h->post_cap ? h->post_cap * 2 : 1024;
		h->post = xrealloc(h->post, h->post_cap * sizeof(*h->post));
		h->next = xrealloc(h->next, h->post_cap * sizeof(*h->next));
	}
	h->post[h->npost] = p;
	h->next[h->npost] = s->post;
	s->post = (uint32_t)h->npost++;
	s->npost++;
	if (vs < MS_INT_BASE)
		h->spaces |= 1u << vs;
	else
		h->fields[0] |= 1ull << ((vs - MS_INT_BASE) & 63);
}

uint64_t mbloom_pat[MBLOOM_PATTERNS];

/* Fixed patterns of three distinct bits, the same in every run. */
static void
bloom_patterns(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < MBLOOM_PATTERNS; i++) {
		uint64_t m = 0;
		while (__builtin_popcountll(m) < 3) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			m |= 1ull << (x & 63);
		}
		mbloom_pat[i] = m;
	}
}

static void
bloom_set(struct mhash *h, uint64_t hv)
{
	uint64_t *blk = h->bloom + mbloom_at(h, hv);
	struct mbloom_bits b = mbloom_bits(hv);
	blk[b.w0] |= b.m0;
	blk[b.w1] |= b.m1;
}

/* A key that mhash_key() hashes one to one, with one posting: it needs no
 * record (struct mhash_slot). */
static bool
slot_inline(const struct mhash_slot *s)
{
	uint32_t len = s->klen & 0xffffff;
	return s->npost == 1 && (len == 4 || len == 8);
}

void
mhash_finish(struct mhash *h)
{
	if (h->n == 0) {
		free(h->next);
		h->next = NULL;
		return;
	}
	/* One record per key: its bytes, then its postings (in insertion
	 * order; chains run newest first), 4-byte aligned. */
	size_t total = 0;
	for (size_t i = 0; i < h->cap; i++) {
		const struct mhash_slot *s = &h->slots[i];
		if (s->npost != 0 && !slot_inline(s))
			total += ((s->klen & 0xffffff) + 3u) / 4 * 4 + s->npost * sizeof(struct mpost);
	}
	uint8_t *rec = xmalloc(total ? total : 1);
	size_t at = 0;
	for (size_t i = 0; i < h->cap; i++) {
		struct mhash_slot *s = &h->slots[i];
		if (s->npost == 0)
			continue;
		if (slot_inline(s)) {
			struct mpost one = h->post[s->post];
			s->one = one;
			s->inline_one = 1;
			continue;
		}
		size_t len = s->klen & 0xffffff;
		memcpy(rec + at, h->keys + s->koff, len);
		s->koff = (uint32_t)at;
		at += (len + 3) / 4 * 4;
		struct mpost *dst = (struct mpost *)(void *)(rec + at);
		size_t k = s->npost;
		for (uint32_t p = s->post; p != M_NONE; p = h->next[p])
			dst[--k] = h->post[p];
		s->post = (uint32_t)at;
		at += s->npost * sizeof(struct mpost);
	}
	assert(at == total && total < UINT32_MAX);
	free(h->keys);
	free(h->post);
	free(h->next);
	h->next = NULL;
	h->post = NULL;
	h->post_cap = 0;
	h->keys = rec;
	h->keys_len = h->keys_cap = total;
	static pthread_once_t patterns = PTHREAD_ONCE_INIT;
	pthread_once(&patterns, bloom_patterns);
	h->bloom_blocks = (h->n * BLOOM_BITS_PER_KEY + 511) / 512;
	h->bloom = aligned_alloc(64, h->bloom_blocks * 64);
	if (h->bloom == NULL)
		abort();
	memset(h->bloom, 0, h->bloom_blocks * 64);
	for (size_t i = 0; i < h->cap; i++) {
		if (h->slots[i].npost != 0)
			bloom_set(h, h->slots[i].h);
	}
	h->bloom = mhuge_move(h->bloom, h->bloom_blocks * 64);
	h->slots = mhuge_move(h->slots, h->cap * sizeof(*h->slots));
	h->keys = mhuge_move(h->keys, h->keys_len);
}

void
mhash_free(struct mhash *h)
{
	free(h->slots);
	free(h->keys);
	free(h->post);
	free(h->next);
	free(h->bloom);
	memset(h, 0, sizeof(*h));
}

size_t
mhash_bytes(const struct mhash *h)
{
	return h->cap * sizeof(*h->slots) + h->keys_cap + h->post_cap * sizeof(*h->post) +
	       h->bloom_blocks * 64;
}
