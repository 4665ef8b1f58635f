/*
 * detect_match_int.h - what the files of the compiled indicator matcher
 * share: the objects and properties an event carries, the hash index with
 * its Bloom filter, the CIDR interval table, the Vectorscan databases, the
 * compiled layer and the per-thread lookup state. docs/MATCHING.md tells the
 * story; this header has the data structures.
 */
#ifndef CIIP_DETECT_MATCH_INT_H
#define CIIP_DETECT_MATCH_INT_H

#include <hs.h>
#include <stdatomic.h>
#include <string.h>

#include "detect/detect.h"
#include "stix/stix.h"

#define M_NONE UINT32_MAX

/* ---- the objects and properties of an event --------------------------- */

/* The cyber-observable object types an event can carry. */
enum mobj {
	MO_NONE,
	MO_IPV4,
	MO_IPV6,
	MO_NT, /* network-traffic */
	MO_DOMAIN,
	MO_URL,
	MO_FILE,
	MO_EMAIL, /* email-addr */
	MO_MSG,   /* email-message */
	MO_USER,  /* user-account */
	MO_PROC,  /* process */
	MO_COUNT
};

/* Object paths the matcher knows; any other path reaches nothing. */
enum mfield {
	MF_NONE,
	MF_TYPE, /* <object>:type */
	MF_IP_VALUE,
	MF_NT_SRC_REF, /* the referenced object itself: a value of no comparable type */
	MF_NT_DST_REF,
	MF_NT_SRC_TYPE,
	MF_NT_DST_TYPE,
	MF_NT_SRC_VALUE,
	MF_NT_DST_VALUE,
	MF_NT_SRC_PORT,
	MF_NT_DST_PORT,
	MF_NT_SRC_BYTES,
	MF_NT_DST_BYTES,
	MF_NT_SRC_PACKETS,
	MF_NT_DST_PACKETS,
	MF_NT_PROTOCOLS, /* the list itself */
	MF_NT_PROTOCOL,  /* protocols[*] / protocols[i] */
	MF_DOMAIN_VALUE,
	MF_URL_VALUE,
	MF_FILE_NAME,
	MF_FILE_HASHES, /* the dictionary itself */
	MF_FILE_SHA256,
	MF_FILE_MD5,
	MF_FILE_SHA1,
	MF_FILE_SIZE,
	MF_EMAIL_VALUE,
	MF_MSG_FROM_REF,
	MF_MSG_FROM_TYPE,
	MF_MSG_FROM_VALUE,
	MF_MSG_TO_REFS, /* the list itself */
	MF_MSG_TO_REF,  /* to_refs[*] */
	MF_MSG_TO_TYPE,
	MF_MSG_TO_VALUE,
	MF_MSG_SUBJECT,
	MF_USER_ID,
	MF_USER_LOGIN,
	MF_PROC_CMDLINE,
	MF_COUNT
};
_Static_assert(MF_COUNT <= 64, "field bitmaps are one word");
_Static_assert(MO_COUNT <= 32, "object bitmaps are one word");

/* How values of a property are compared beyond the evaluator's rules. */
enum mnorm {
	MN_NONE,
	MN_IP,     /* addresses: =, != and IN compare as addresses and CIDR blocks */
	MN_LOWER,  /* hashes, e-mail addresses: ASCII case folded */
	MN_DOMAIN, /* lower case, no trailing dot */
	MN_URL,    /* detect_match_url_normalise() */
};

const char *mobj_name(enum mobj o);
enum mobj mobj_from_name(const char *type);
enum mnorm mfield_norm(enum mfield f);
/* The property's path as the STIX pattern writes it ("src_ref.value"). */
const char *mfield_path(enum mfield f);

/* What kind of value a property holds. */
bool mfield_is_ip(enum mfield f);    /* an address: compared as one */
bool mfield_is_int(enum mfield f);   /* an integer */
bool mfield_is_other(enum mfield f); /* an object or a list: never ordered or matched */
bool mfield_is_synth(enum mfield f); /* filled by the matcher, not extracted ("type") */

/* "a.b.c.d", "a.b.c.d/n", "v6", "v6/n" as the evaluator reads them: family
 * 4 or 6, the address (4 or 16 bytes), the prefix. */
bool mnet_parse(const char *s, size_t n, int *family, uint8_t addr[16], int *prefix);
/* Is block (fa, a, pa) inside block (fb, b, pb)? */
bool mnet_within(int fa, const uint8_t *a, int pa, int fb, const uint8_t *b, int pb);

/* Labels of a domain name, capped at 63 ("" has one). */
unsigned mdomain_labels(const char *s, size_t n);

/* Value spaces of the exact index: a key is (space, bytes). Properties
 * without a space of their own get one each: MS_INT_BASE + field for
 * integers (8 bytes), MS_STR_BASE + field for strings. */
enum mspace {
	MS_IP4 = 1,    /* an IPv4 address, 4 bytes */
	MS_DOMAIN = 2, /* a normalised domain */
	MS_SUFFIX = 3, /* what follows a '.' in a domain (LIKE '%.x') */
	MS_EMAIL = 4,  /* a lower-cased e-mail address, any of the e-mail properties */
	MS_IP6 = 5,    /* an IPv6 address, 16 bytes */
	MS_INT_BASE = 8,
	MS_STR_BASE = 72,
};
/* The value space of a property's keys (addresses: MS_IP4 or MS_IP6 by
 * their family). */
enum mspace mfield_space(enum mfield f);

/* ---- one event, as objects and values --------------------------------- */

#define MEV_MAX_SLOTS 40
#define MEV_MAX_VALUES 80
#define MEV_NORM_MAX 4096 /* longer values are compared as they come */
#define MEV_BUF_BYTES (32 * (MEV_NORM_MAX + 8)) /* every normalised value fits */

enum mkind { MK_STR, MK_INT, MK_IP };

struct mval {
	const char *s; /* MK_STR; MK_IP once formatted (NULL before) */
	int64_t i;     /* MK_INT */
	const struct ingest_ip *ip;
	uint32_t len;
	uint8_t field;
	uint8_t slot;
	uint8_t kind;
	uint8_t idx;  /* position in a list property */
	uint8_t utf8; /* 0 unknown, 1 valid, 2 not valid */
	/* A second property filled by the same value (network-traffic's
	 * src_ref.value is the source address): probed once for both. */
	uint8_t alias_field;
	uint8_t alias_slot;
	uint8_t probe; /* looked up in the indexes (aliases are not) */
};

struct mslot {
	uint8_t obj;
	uint8_t first; /* values[first .. first + n) */
	uint8_t n;
	uint8_t family;   /* IP slots: 4 or 6 */
	uint8_t ref_src;  /* network-traffic: slot of src_ref (0xff none) */
	uint8_t ref_dst;  /* network-traffic: slot of dst_ref */
	uint8_t nprotos;  /* network-traffic: elements of protocols */
	uint8_t nto;      /* email-message: elements of to_refs */
	uint8_t ref_from; /* email-message: slot of from_ref */
	uint8_t ref_to;   /* email-message: slot of to_refs[0] */
	uint8_t hashes;   /* file: has a hashes dictionary */
};

struct mevent {
	const struct ingest_event *ev;
	struct mslot slot[MEV_MAX_SLOTS];
	struct mval val[MEV_MAX_VALUES];
	unsigned nslots, nvals;
	char iptext[2][48];
	char *buf; /* normalised copies of values */
	size_t used, cap;
	uint64_t need;    /* fields extracted */
	uint8_t ipval[2]; /* the MF_IP_VALUE values (source, destination) */
	uint8_t nip;
	uint64_t fields; /* bit f: some value of field f */
	uint32_t objs;   /* bit o: some object of type o */
};

/* The fields to extract so that comparisons on the fields in mask see
 * what they would see in a full extraction (an address for its
 * network-traffic reference, URLs for the domains of their hosts, ...). */
uint64_t mevent_need(uint64_t mask);
#define MEVENT_ALL (~0ull)

/* Extracts the objects and normalised values of ev into me, only the
 * fields in need (mevent_need()), normalised copies into buf, which needs
 * MEV_BUF_BYTES (me->used says how many it took). */
void mevent_fill(struct mevent *me, const struct ingest_event *ev, char *buf, size_t cap,
                 uint64_t need);
/* True if ev carries nothing but addresses, ports, protocols and counts
 * (a flow): its only values are those of the fields in
 * MEVENT_ADDRESS_FIELDS, and at most two of them are normalised strings. */
bool mevent_addresses_only(const struct ingest_event *ev);
/* The fields an event of addresses only may have a value of: MF_TYPE to
 * MF_NT_PROTOCOL. */
#define MEVENT_ADDRESS_FIELDS (((1ull << (MF_NT_PROTOCOL + 1)) - 1) & ~1ull)
/* Room in the buffer that mevent_fill() needs for such an event. */
#define MEV_ADDRESS_BYTES (2 * (MEV_NORM_MAX + 8))
/* The numbers of such an event (ports, bytes, packets), in one order for
 * mevent_fill() and for a lazy event, which probes their exact keys
 * straight from the event (detect_match.c). */
#define MEVENT_NUMBERS 6
extern const uint8_t mevent_number_field[MEVENT_NUMBERS];
#define MEVENT_NUMBER_FIELDS                                                                      \
	((1ull << MF_NT_SRC_PORT) | (1ull << MF_NT_DST_PORT) | (1ull << MF_NT_SRC_BYTES) |        \
	 (1ull << MF_NT_DST_BYTES) | (1ull << MF_NT_SRC_PACKETS) | (1ull << MF_NT_DST_PACKETS))
/* ev's numbers, of the fields mevent_number_field[] names (0: absent). */
void mevent_numbers(const struct ingest_event *ev, int64_t num[MEVENT_NUMBERS]);
/* The text of a string or address value (addresses are formatted once). */
const char *mval_text(struct mevent *me, struct mval *v, uint32_t *len);
/* True if the value is valid UTF-8 (cached). */
bool mval_utf8(struct mevent *me, struct mval *v);

/* Normalisers: return s itself when it is normal already or does not fit
 * in cap bytes, else buf; *outlen gets the length. */
const char *mnorm_apply(enum mnorm how, const char *s, size_t n, char *buf, size_t cap,
                        size_t *outlen);
bool mutf8_valid(const char *s, size_t n);

/* When detect_matcher_huge_pages() is on, moves a large read-mostly array
 * to 2 MB pages (where the kernel grants them), so that random lookups
 * miss the TLB less: returns the new pointer and frees p. Returns p itself
 * when the array is small or the option off. */
void *mhuge_move(void *p, size_t n);

/* ---- hashing -------------------------------------------------------------- */

static inline uint64_t
mh_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
mh_r8(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t
mh_r4(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* wyhash-style: fast on short keys, good enough spread for open addressing
 * and the Bloom filter. */
static inline uint64_t
mh_hash(const void *key, size_t len, uint64_t seed)
{
	const uint8_t *p = key;
	const uint64_t s0 = 0xa0761d6478bd642full, s1 = 0xe7037ed1a0b428dbull;
	const uint64_t s2 = 0x8ebc6af09c88c6e3ull, s3 = 0x589965cc75374cc3ull;
	uint64_t a = 0, b = 0;
	seed ^= mh_mum(seed ^ s0, s1);
	if (len <= 16) {
		if (len >= 4) {
			size_t q = (len >> 3) << 2;
			a = (mh_r4(p) << 32) | mh_r4(p + q);
			b = (mh_r4(p + len - 4) << 32) | mh_r4(p + len - 4 - q);
		} else if (len > 0) {
			a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
		}
	} else {
		size_t i = len;
		while (i > 16) {
			seed = mh_mum(mh_r8(p) ^ s1, mh_r8(p + 8) ^ seed);
			p += 16;
			i -= 16;
		}
		a = mh_r8(p + i - 16);
		b = mh_r8(p + i - 8);
	}
	return mh_mum(s2 ^ len, mh_mum(a ^ s1, b ^ seed) ^ s3);
}

/* ---- the exact index (detect_match_hash.c) --------------------------------- */

/* Where a key or a CIDR leads: an observation expression, through one
 * property of one object type. */
struct mpost {
	uint32_t obs;
	uint32_t ind; /* obs's indicator and id, so that an exact hit reads no more */
	uint16_t id;  /* | MPOST_EXACT */
	uint8_t field;
	uint8_t obj;
};
#define MPOST_EXACT 0x8000u

/* A key of 4 or 8 bytes (an IPv4 address, a number) hashes one to one
 * (mhash_key()), so its hash and length prove it; with a single posting it
 * lives in its slot, and a hit reads no key record. */
struct mhash_slot {
	uint64_t h;
	uint32_t klen; /* low 24 bits length, high 8 the value space */
	uint32_t npost;
	union {
		struct {
			uint32_t koff; /* the key record in keys */
			uint32_t post; /* building: the chain; finished: the postings' offset */
		};
		struct mpost one; /* inline */
	};
	uint8_t inline_one;
};

struct mhash {
	struct mhash_slot *slots;
	size_t cap; /* power of two, 0 when empty */
	size_t n;
	/* Building: key bytes, and postings chained through next[]. Finished:
	 * one record per key in keys, its bytes then its postings, so that the
	 * line that confirms the key usually holds what it leads to. */
	uint8_t *keys;
	size_t keys_len, keys_cap;
	struct mpost *post;
	uint32_t *next;
	size_t npost, post_cap;
	uint64_t *bloom; /* blocks of 8 words */
	size_t bloom_blocks;
	uint64_t fields[1]; /* bitmap of fields with keys in their own space */
	uint32_t spaces;    /* bitmap of the shared value spaces with keys */
};

void mhash_add(struct mhash *h, enum mspace vs, const void *key, size_t len, struct mpost p);
/* Sizes the table for about nkeys keys up front (a build knows its input). */
void mhash_reserve(struct mhash *h, size_t nkeys);
void mhash_finish(struct mhash *h);
void mhash_free(struct mhash *h);
size_t mhash_bytes(const struct mhash *h);

static inline uint64_t
mhash_key(enum mspace vs, const void *key, size_t len)
{
	uint64_t seed = (uint64_t)vs * 0x9e3779b97f4a7c15ull;
	if (len == 4 || len == 8) {
		/* IPv4 addresses and integers, the most frequent keys: a
		 * mix that is one to one (xor-shifts and odd multiplies), so
		 * that equal hashes of the same space and length are equal
		 * keys (struct mhash_slot). */
		uint64_t x = (len == 4 ? mh_r4(key) : mh_r8(key)) ^ seed ^ (len * 0xe7037ed1a0b428dbull);
		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdull;
		x ^= x >> 33;
		x *= 0xc4ceb9fe1a85ec53ull;
		x ^= x >> 33;
		return x;
	}
	return mh_hash(key, len, seed);
}

/* Where the Bloom filter block of a key starts in h->bloom (in words): one
 * cache line. */
static inline size_t
mbloom_at(const struct mhash *h, uint64_t hv)
{
	return (size_t)(((unsigned __int128)hv * h->bloom_blocks) >> 64) * 8;
}

static inline const uint64_t *
mbloom_block(const struct mhash *h, uint64_t hv)
{
	return h->bloom + mbloom_at(h, hv);
}

/* A key sets three bits in a word of each half of its block, the bits
 * taken from a table of patterns: two loads and two compares, where six
 * bits anywhere in the line took a shift and a load each. (At 12 bits a
 * key, 0.63% false positives against 0.44%.) The table is filled by the
 * first mhash_finish(). */
#define MBLOOM_PATTERNS 1024
extern uint64_t mbloom_pat[MBLOOM_PATTERNS];

struct mbloom_bits {
	unsigned w0, w1;
	uint64_t m0, m1;
};

static inline struct mbloom_bits
mbloom_bits(uint64_t hv)
{
	uint64_t x = hv * 0xff51afd7ed558ccdull;
	x ^= x >> 29;
	return (struct mbloom_bits){.w0 = (unsigned)(x & 3),
	                            .w1 = 4 + (unsigned)((x >> 2) & 3),
	                            .m0 = mbloom_pat[(x >> 8) & (MBLOOM_PATTERNS - 1)],
	                            .m1 = mbloom_pat[(x >> 18) & (MBLOOM_PATTERNS - 1)]};
}

static inline bool
mbloom_test(const struct mhash *h, uint64_t hv)
{
	const uint64_t *blk = mbloom_block(h, hv);
	struct mbloom_bits b = mbloom_bits(hv);
	/* No early exit: a miss fails at an unpredictable word. */
	return ((blk[b.w0] & b.m0) == b.m0) & ((blk[b.w1] & b.m1) == b.m1);
}

/* The postings of (vs, key) past the filter, or NULL. hv is
 * mhash_key(vs, key, len). */
static inline const struct mpost *
mhash_find_slot(const struct mhash *h, enum mspace vs, const void *key, size_t len, uint64_t hv,
                uint32_t *n)
{
	size_t i = (size_t)hv & (h->cap - 1);
	uint32_t kl = (uint32_t)len | ((uint32_t)vs << 24);
	for (;;) {
		const struct mhash_slot *s = &h->slots[i];
		if (s->npost == 0)
			return NULL;
		if (s->h == hv && s->klen == kl) {
			if (s->inline_one) {
				*n = 1;
				return &s->one;
			}
			if (memcmp(h->keys + s->koff, key, len) == 0) {
				*n = s->npost;
				return (const struct mpost *)(const void *)(h->keys + s->post);
			}
		}
		i = (i + 1) & (h->cap - 1);
	}
}

/* The postings of (vs, key), or NULL. */
static inline const struct mpost *
mhash_find(const struct mhash *h, enum mspace vs, const void *key, size_t len, uint64_t hv,
           uint32_t *n)
{
	if (h->n == 0 || !mbloom_test(h, hv))
		return NULL;
	return mhash_find_slot(h, vs, key, len, hv, n);
}

static inline bool
mhash_has_field(const struct mhash *h, unsigned f)
{
	return (h->fields[0] >> (f & 63)) & 1;
}

/*
 * What emitting a hit reads of an indicator, in 16 bytes apart from its
 * struct mind (48): a hit of a million indicators is a random line
 * either way, but this array is a third the size, so fewer of its lines
 * and pages are cold (measured 5-10% faster at a million, BENCHMARKS.md).
 * An indicator whose hit needs more than this (a state across events, an
 * observation tree, an org id or TLP that does not fit here) is marked
 * MHOT_COLD, and its struct mind is read as well.
 */
struct mhot {
	const char *id;
	int32_t org_id;
	uint8_t tlp;
	uint8_t flags;     /* MIND_*, MHOT_COLD */
	uint16_t tomb_bit; /* the id hash's bit in the matcher's tomb filter */
};
#define MHOT_COLD 0x80u

/* ---- CIDR blocks (detect_match_ip.c) ----------------------------------------- */

/* A block: its parent, and its postings (the first one also inline, with
 * what emitting reads of its indicator, so that a hit on a block named
 * once reads nothing else). */
struct mnet_node {
	uint32_t parent; /* the smallest block containing this one, or M_NONE */
	uint32_t post;
	uint32_t npost;
	struct mpost one; /* post[0] */
	struct mhot hot;  /* one's indicator's (hot_fill()) */
};

/* An IPv4 interval: 8 bytes, so that the table is a quarter of the IPv6
 * one and the node sits on the line the search ends on. */
struct mnet_iv4 {
	uint32_t start;
	uint32_t node;
};

/* A jump entry: where the intervals of its prefix begin, and a bit for
 * each of its 32 sub-prefixes that some block touches. The bit and the
 * search bounds are on one line, so the filter costs no extra read. */
struct mnet_ent {
	uint32_t first; /* the first interval at or after the prefix */
	uint32_t bits;
};
#define MNET_SUB_BITS 5 /* 32 sub-prefixes per entry */

struct mnet_table {
	size_t n;
	unsigned __int128 *start; /* IPv6: elementary intervals, ascending, start[0] = 0 */
	uint32_t *node;           /* IPv6: innermost block over [start[i], start[i+1]) */
	struct mnet_iv4 *iv4;     /* IPv4: both, in one array */
	struct mnet_ent *ent;     /* 2^bits + 1 entries, on the bits after the shared prefix */
	unsigned bits;
	unsigned skip;            /* bits of the prefix every block shares */
	unsigned __int128 base;   /* that prefix, the rest zero */
};

struct mnet_in;

struct mnet {
	struct mnet_in *in; /* build only */
	size_t nin, in_cap;
	struct mnet_node *nodes;
	size_t nnodes;
	struct mpost *post;
	size_t npost;
	struct mnet_table t4, t6;
};

/* family 4: addr is 4 bytes; 6: 16 bytes. Host bits are ignored. */
void mnet_add(struct mnet *nt, int family, const uint8_t *addr, int prefix, struct mpost p);
void mnet_finish(struct mnet *nt);
void mnet_free(struct mnet *nt);
size_t mnet_bytes(const struct mnet *nt);
/* A lookup goes in steps, so that a batch of lookups overlaps its cache
 * misses. mnet_query() reads the address and starts loading its jump
 * entry; mnet_pass() tests the entry's filter bit (false: no block holds
 * the address) and starts loading the intervals to search; mnet_search()
 * searches them and returns the innermost block holding the address, or
 * M_NONE (walk up with nodes[].parent). */
struct mnet_q {
	unsigned __int128 k; /* the address as a 128-bit number (IPv4 at the top) */
	uint32_t j;          /* its jump entry */
	uint32_t a, b;       /* the intervals to search, once mnet_pass() passed */
	uint8_t bit;         /* its sub-prefix in the entry */
	uint8_t family;
	uint8_t in; /* within the prefix every block shares */
};
void mnet_query(const struct mnet *nt, const struct ingest_ip *ip, struct mnet_q *q);
bool mnet_pass(const struct mnet *nt, struct mnet_q *q);
uint32_t mnet_search(const struct mnet *nt, const struct mnet_q *q);

/* ---- Vectorscan (detect_match_hs.c) -------------------------------------------- */

struct mhs_pat {
	char *rx;
	unsigned flags;
	uint8_t field;
	uint32_t ind;    /* the indicator, disabled if the regex fails */
	uint32_t anchor; /* the observation it selects, or M_NONE */
	uint8_t obj;
};

struct mhs {
	struct mhs_pat *pat;
	size_t n, cap;
	hs_database_t *db[MF_COUNT];
	size_t bytes;
};

/* Adds a regex; returns its id. */
uint32_t mhs_add(struct mhs *h, const char *rx, size_t len, unsigned flags, enum mfield f,
                 uint32_t ind, uint32_t anchor, enum mobj obj);
/* Compiles one database per property. A regex Vectorscan refuses calls
 * fail(arg, ind, why) and is left out. Returns 0, or -1 with e set when a
 * database cannot be made at all. */
int mhs_compile(struct mhs *h, void (*fail)(void *arg, uint32_t ind, const char *why), void *arg,
                struct err *e);
void mhs_free(struct mhs *h);
/* Grows *scratch for every database of h. */
int mhs_scratch(const struct mhs *h, hs_scratch_t **scratch);
/* Checks that Vectorscan can compile rx alone; false with the reason in
 * why (len bytes) if not. */
bool mhs_check(const char *rx, unsigned flags, char *why, size_t len);

#define MHS_FLAGS (HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY | HS_FLAG_UTF8 | HS_FLAG_UCP)

/* ---- a compiled layer (detect_match.c) ------------------------------------------- */

struct mlit {
	const char *s; /* STRING (normalised where the property is), BINARY/HEX as text */
	uint32_t len;
	uint8_t type;   /* enum stix_literal_type */
	uint8_t net;    /* 0, or 4/6: s parsed as an address or CIDR block */
	uint8_t prefix; /* net: bits */
	uint8_t latin;  /* BINARY/HEX: bytes kept in s as Latin-1 code points in UTF-8 */
	const unsigned char *bytes; /* BINARY/HEX */
	uint32_t nbytes;
	uint8_t addr[16]; /* net */
	int64_t i;
	double f;
	bool b;
	int64_t ts;
};

enum mlike { ML_NONE, ML_EXACT, ML_SUFFIX, ML_REGEX };

struct mcmp {
	uint8_t obj;
	uint8_t field;
	uint8_t op;
	uint8_t negated;
	uint8_t like; /* enum mlike, for LIKE */
	int32_t index; /* list element, or -1 for any */
	uint32_t rx;   /* Vectorscan id (MATCHES, LIKE as regex) */
	uint32_t nlit;
	const struct mlit *lit; /* the value, or IN's members */
};

enum mnode_kind { MN_CMP, MN_AND, MN_OR, MN_FALSE };

struct mnode {
	uint8_t kind;
	uint32_t n;   /* AND, OR: kids */
	uint32_t off; /* AND, OR: kids at nodes[off..]; CMP: cmps[off] */
};

#define MOBS_EXACT 0x1u /* an index hit alone proves the expression */

struct mobs {
	uint32_t ind;
	uint32_t root; /* comparison tree, M_NONE when exact */
	uint16_t id;   /* observation id in its pattern */
	uint16_t flags;
};

enum monode_kind { MON_OBS, MON_OR, MON_AND, MON_FBY, MON_QUAL };

struct monode {
	uint8_t kind;
	uint16_t nkids;
	uint32_t off;  /* kids at onodes[off..]; OBS: the observation id */
	uint32_t qoff; /* QUAL: quals[qoff .. qoff + nkids) apply to onodes[off] */
};

struct mqual {
	uint8_t kind; /* enum stix_qualifier_kind */
	int64_t repeats;
	double within_s;
	int64_t start_ms, stop_ms;
};

#define MIND_STATEFUL 0x1u /* bindings of several events: state across events */
#define MIND_BARE 0x2u     /* the pattern is one observation expression */
#define MIND_ANY 0x4u      /* an OR of bare observation expressions */
#define MIND_DISABLED 0x8u /* a regex failed to compile */

struct mind {
	const char *id;
	uint64_t id_hash;   /* masks the indicator of a base layer after an update */
	uint64_t state_key; /* id and pattern: multi-observation state survives rebuilds */
	int64_t org_id;
	int32_t tlp;
	uint32_t flags;
	uint32_t otree; /* observation-level tree root */
	uint16_t nobs;
	uint16_t minsize; /* the fewest events a match needs */
};

struct marena_chunk;
struct marena {
	struct marena_chunk *head;
	size_t bytes;
};
void *marena_alloc(struct marena *a, size_t n);
char *marena_strndup(struct marena *a, const char *s, size_t n);
void marena_free(struct marena *a);

struct mlayer {
	_Atomic long refs;
	struct marena arena;
	struct mind *inds;
	size_t ninds, inds_cap;
	struct mhot *hot; /* per indicator, once finished */
	struct mobs *obs;
	size_t nobs, obs_cap;
	struct mcmp *cmps;
	size_t ncmps, cmps_cap;
	struct mnode *nodes;
	size_t nnodes, nodes_cap;
	struct monode *onodes;
	size_t nonodes, onodes_cap;
	struct mqual *quals;
	size_t nquals, quals_cap;
	uint32_t *scan[MO_COUNT]; /* observations evaluated for every object of the type */
	size_t nscan[MO_COUNT], scan_cap[MO_COUNT];
	struct mhash hash;
	struct mnet net;
	struct mhs hs;
	uint64_t suffix_labels; /* bit n: some LIKE '%.x' has an x of n labels */
	uint64_t need;          /* bit f: some comparison reads field f */
	/* What makes an event worth stage 4 (match) even when no index holds its
	 * keys: bit f, a Vectorscan database on field f; bit o, observations
	 * scanned for every object of type o. */
	uint64_t rx_fields;
	uint32_t scan_objs;
	struct detect_matcher_stats st;
	/* delta layers keep their input to rebuild it on the next update */
	struct detect_indicator *src;
	size_t nsrc;
};

/* A build fed one indicator at a time (the store's source streams). */
struct mbuild;
struct mbuild *mbuild_new(int64_t now_ms);
void mbuild_add(struct mbuild *mb, const struct detect_indicator *ind);
/* Frees mb; returns the matcher (NULL with e set on failure, or when
 * abandon is true). */
struct detect_matcher *mbuild_finish(struct mbuild *mb, bool abandon,
                                     struct detect_matcher_stats *st, struct err *e);

/* A matcher: a base layer (shared between matchers, refcounted), an
 * optional delta layer from updates, and the ids of base indicators the
 * delta replaced or removed. */
struct detect_matcher {
	uint64_t gen;
	struct mlayer *layer[2]; /* base (shared), delta (may be NULL) */
	uint64_t need;           /* fields its comparisons read (mevent_need) */
	/* Events of addresses only can be looked up before they are
	 * extracted: no regex, scan list or key of theirs but the addresses'
	 * and their numbers' (detect_match.c). */
	bool lazy;
	uint64_t *tomb;          /* sorted id hashes masked in the base */
	size_t ntomb;
	/* A bit per 16-bit id-hash fragment of tomb (struct mhot's tomb_bit):
	 * a hit whose bit is clear is no tomb's, without reading its mind. */
	uint64_t tomb_filter[1024];
	struct detect_matcher_stats stats;
};

/* An id hash's bit in tomb_filter (struct mhot's tomb_bit). */
static inline uint16_t
mtomb_bit(uint64_t id_hash)
{
	return (uint16_t)id_hash;
}

/* ---- the builder (detect_match_compile.c, detect_match_build.c) ---------------- */

/* A layer being built. detect_match_build.c owns it from begin to finish;
 * detect_match_compile.c compiles indicators into it. The pending anchors,
 * regexes and per-observation notes are the compiler's own. */
struct pend_anchor;
struct pend_rx;
struct obs_scratch;
struct builder {
	struct mlayer *L;
	int64_t now_ms;
	bool keep_src;
	struct detect_matcher_stats st;
	struct marena tmp; /* per indicator */
	struct pend_anchor *cand;
	size_t ncand, cand_cap;
	struct pend_anchor *pa; /* chosen anchors of the indicator */
	size_t npa, pa_cap;
	struct pend_rx *prx;
	size_t nprx, prx_cap;
	struct obs_scratch *scratch;
	size_t obs_cap;
	const char *why; /* why the current indicator is refused */
	char whybuf[256];
	uint32_t cur_lobs;
};

/* Compiles one indicator into b->L; on refusal nothing of it stays. */
void builder_add(struct builder *b, const struct detect_indicator *in);
/* Keeps the first refusal's reason in b->st.first_error. */
void builder_note_error(struct builder *b, const char *id, const char *why);

/* ---- lookup state (detect_match_state.c) ------------------------------------------ */

#define MST_RX_MAX 4096
#define MST_TOUCH_MAX 2048
#define MST_TSET 4096 /* power of two, > 1.5 * MST_TOUCH_MAX */
#define MST_POOL 32768

struct mrxhit {
	uint32_t id;
	uint16_t val;
};

struct mtouch {
	uint32_t ind;
	uint32_t tslot;
	uint32_t first_obs;
	uint8_t layer;
	uint64_t mask;
	const struct mhot *hot; /* the indicator's, in the layer's array or a block */
};

struct mstore;

struct mbind {
	uint64_t mask;
	int64_t maxf, minl;
};

/* Lookups take events in groups (detect_match.c): a group's events, their
 * queued exact-index probes and CIDR searches. */
#define MGROUP 16   /* events of a group */
#define MPOOL 1024  /* exact-index probes of a group */
#define MNETQ 2     /* addresses of an event: source and destination */
#define MST_TOUCH_ARR (2 * MST_TOUCH_MAX) /* a touch list; MST_TOUCH_MAX per event */
#define MST_HITS 256 /* hits of one event in a batch */
#define MGROUP_TEXT (2 * MEV_BUF_BYTES) /* normalised values of a group */

struct mprobe {
	uint64_t hv;
	const void *key;
	uint32_t len;
	uint8_t vs;
	uint8_t val;
	uint8_t pass; /* passed the Bloom filter */
};

struct mnetq {
	struct mnet_q q;
	uint32_t nd; /* the innermost block found, or M_NONE */
	uint8_t val;
};

struct mgev {
	struct mevent me; /* not filled yet while lazy */
	bool lazy;
	uint16_t busy; /* keys past the filters and blocks found, in any layer */
	uint32_t text; /* its room in the group's text */
	uint32_t pfirst[2], pn[2]; /* per layer: probes in the pool */
	uint16_t pnext[2];         /* per layer: the first value not queued yet */
	uint8_t nnet[2];
	struct mnetq net[2][MNETQ];
	int64_t lazy_int[MEVENT_NUMBERS]; /* a lazy event's numbers: its probes' keys */
};

/* An address search of a group's event that its filter let through. */
struct mlive {
	struct mgev *ge;
	struct mnetq *q;
	uint8_t l;
};

struct mgroup {
	struct mgev ev[MGROUP];
	struct mlive live[MGROUP * 2 * MNETQ];
	unsigned nlive;
	size_t n;     /* events */
	size_t first; /* the first one's index in the call */
	struct mprobe pool[MPOOL];
	size_t npool;
	char text[MGROUP_TEXT];
};

/* Indicators that events touched, kept until the events are emitted. */
struct mtouches {
	struct mtouch t[MST_TOUCH_ARR];
	size_t n;
};

/* An event matched and waiting to be emitted. */
struct mpending {
	size_t index; /* in the call */
	int64_t ts_ms;
	uint8_t list; /* its touches: tl[list].t[tfirst .. tfirst + tn) */
	uint32_t tfirst, tn;
};

struct detect_match_state {
	uint64_t gen; /* the matcher the scratch was grown for */
	hs_scratch_t *scratch;
	struct mgroup grp;
	struct mrxhit rx[MST_RX_MAX];
	size_t nrx;
	struct mtouches tl[2]; /* the group being matched, and the one before */
	unsigned cur;
	struct mpending pending[2 * MGROUP];
	size_t npending;
	struct detect_match_hit hits[MST_HITS];
	uint32_t tset[MST_TSET];
	struct mstore *ms; /* multi-observation state */
	struct detect_match_state_stats stats;
};

/* Records that the event advanced stateful indicator key with obs mask,
 * then evaluates its pattern over the remembered events. Returns true when
 * it is complete (state forgotten) with *nevents the events it binds. */
bool mstate_advance(struct detect_match_state *st, const struct mlayer *L, const struct mind *ind,
                    uint64_t mask, int64_t ts_ms, uint32_t *nevents);
void mstate_init(struct detect_match_state *st, size_t max_inds, size_t max_events);
void mstate_free(struct detect_match_state *st);
void mstate_reset(struct detect_match_state *st);
size_t mstate_bytes(const struct detect_match_state *st);
size_t mstate_followed(const struct detect_match_state *st);

/* ---- one lookup (detect_match.c, detect_match_eval.c) ------------------------------ */

struct mctx {
	const struct detect_matcher *m;
	const struct mlayer *L;
	struct detect_match_state *st;
	struct mevent *me;
	unsigned layer;
	struct mtouches *tl; /* where touches go */
	size_t tfirst;       /* the event's first touch */
};

/* Does the comparison tree at node hold for the object in slot? The
 * evaluator's rules on the event's values; regex hits from c->st. */
bool mtree_eval(const struct mctx *c, uint32_t node, unsigned slot);

/* Evaluates an observation tree of L over single events: true when the
 * observation set mask at time ts satisfies it alone. */
bool monode_single(const struct mlayer *L, uint32_t node, uint64_t mask, int64_t ts_ms);

#endif
