/*
 * ingest_json_scan.c - a small, strict, allocation-free JSON scanner for the
 * hot decoders: it walks one object once, validates all of it, and records
 * the values at the paths a decoder asked for (see ingest_int.h).
 *
 * Why not a general JSON library: jansson builds a tree of allocated nodes
 * for every key of every line, which caps EVE decoding near a fifth of the
 * target rate (docs/BENCHMARKS.md). Here no key outside the spec costs more
 * than being validated, strings are skipped sixteen bytes at a time, and
 * nothing is copied unless a wanted string carries escapes.
 *
 * What is accepted is what jansson accepts (RFC 8259, no U+0000, no lone
 * surrogates, integers that fit in int64, reals that do not overflow), except
 * that nesting stops at INGEST_JSON_MAX_DEPTH and the top level must be an
 * object. tests/ingest/test_ingest_json_scan.c checks that on the same
 * inputs, and fuzz_eve does so on every input it makes.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ingest/ingest_int.h"

/* ---- spec compilation -------------------------------------------------- */

static inline unsigned
key_hash(int parent, const char *k, size_t n)
{
	unsigned h = (unsigned)(parent + 1) * 0x9e37u + (unsigned)n * 131u;
	if (n > 0)
		h += (uint8_t)k[0] * 31u + (uint8_t)k[n - 1] * 7u + (uint8_t)k[n / 2] * 3u;
	h ^= h >> 7;
	return h & (INGEST_JSON_HASH_SLOTS - 1);
}

/* Key comparison with word loads: keys are short, and a call to memcmp
 * costs more than comparing them. Reads stay inside both keys. */
static inline bool
key_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	if (n >= 8) {
		size_t i = 0;
		for (; i + 8 <= n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		uint32_t u, v;
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return false;
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return u == v;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static inline int
spec_child(const struct ingest_json_spec *s, int parent, const char *key, size_t klen)
{
	unsigned h = key_hash(parent, key, klen);
	for (;;) {
		int id = s->slots[h];
		if (id == 0)
			return -1;
		const struct ingest_json_node *n = &s->nodes[id - 1];
		if (n->parent == parent && n->klen == klen && key_eq(n->key, key, klen))
			return id - 1;
		h = (h + 1) & (INGEST_JSON_HASH_SLOTS - 1);
	}
}

int
ingest_json_spec_child(const struct ingest_json_spec *s, int parent, const char *key, size_t klen)
{
	return spec_child(s, parent, key, klen);
}

static int
spec_add(struct ingest_json_spec *s, int id, int parent, const char *key, size_t klen)
{
	if (id >= INGEST_JSON_MAX_NODES || klen == 0 || klen > INGEST_JSON_MAX_KEY)
		return -1;
	s->nodes[id] = (struct ingest_json_node){.key = key, .klen = (uint16_t)klen,
	                                         .parent = (int16_t)parent};
	unsigned h = key_hash(parent, key, klen);
	while (s->slots[h] != 0)
		h = (h + 1) & (INGEST_JSON_HASH_SLOTS - 1);
	s->slots[h] = (uint8_t)(id + 1);
	if (parent >= 0)
		s->has_children[parent] = 1;
	/* Array elements past the largest numeric segment need no look-up. */
	uint32_t idx = 0;
	size_t i = 0;
	while (i < klen && i < 9 && key[i] >= '0' && key[i] <= '9')
		idx = idx * 10 + (uint32_t)(key[i++] - '0');
	if (i == klen && idx > s->max_index)
		s->max_index = idx;
	return 0;
}

int
ingest_json_spec_compile(struct ingest_json_spec *s)
{
	/* Node ids fit in the uint8_t hash slots. */
	_Static_assert(INGEST_JSON_MAX_NODES < 255, "node ids are bytes");
	memset(s->slots, 0, sizeof(s->slots));
	memset(s->has_children, 0, sizeof(s->has_children));
	s->max_index = 0;
	if (s->npaths + 1 > INGEST_JSON_MAX_NODES)
		return -1;
	/* Listed paths take ids 0..npaths-1 so that vals[i] is path i; the root
	 * and intermediate prefixes follow. A path's node is added only once its
	 * parent exists, so walk the prefixes in order. */
	s->root = (int)s->npaths;
	s->nnodes = s->root + 1;
	s->nodes[s->root] = (struct ingest_json_node){.key = "", .klen = 0, .parent = -1};
	for (size_t i = 0; i < s->npaths; i++) {
		const char *path = s->paths[i];
		int parent = s->root;
		const char *seg = path;
		for (;;) {
			const char *dot = strchr(seg, '.');
			size_t n = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
			int id = ingest_json_spec_child(s, parent, seg, n);
			if (dot == NULL) {
				/* Listed twice, or listed after a longer path made it
				 * an intermediate: list a prefix before its extensions. */
				if (id >= 0)
					return -1;
				if (spec_add(s, (int)i, parent, seg, n) != 0)
					return -1;
				break;
			}
			if (id < 0) {
				id = s->nnodes;
				if (spec_add(s, id, parent, seg, n) != 0)
					return -1;
				s->nnodes++;
			}
			parent = id;
			seg = dot + 1;
		}
	}
	return 0;
}

/* ---- scanning ---------------------------------------------------------- */

/* Bytes that continue the fast run inside a string: not '"', '\\',
 * controls or non-ASCII. */
static inline bool
str_plain(uint8_t c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static inline const uint8_t *
str_skip_plain(const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
	const __m128i q = _mm_set1_epi8('"');
	const __m128i bs = _mm_set1_epi8('\\');
	const __m128i sp = _mm_set1_epi8(0x20);
	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* Signed compare: bytes >= 0x80 are negative, so one compare
		 * catches both controls and non-ASCII. */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, bs)),
		                         _mm_cmplt_epi8(x, sp));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask != 0)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (p < end && str_plain(*p))
		p++;
	return p;
}

static int
hex4(const uint8_t *p, const uint8_t *end, unsigned *out)
{
	if (end - p < 4)
		return -1;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hex_digit(p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | (unsigned)h;
	}
	*out = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at p (first byte >= 0x80), or 0. */
static inline size_t
utf8_seq(const uint8_t *p, const uint8_t *end)
{
	uint8_t c = p[0];
	size_t avail = (size_t)(end - p);
	if (c >= 0xc2 && c <= 0xdf) {
		if (avail < 2 || (p[1] & 0xc0) != 0x80)
			return 0;
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && p[1] > 0x9f)
			return 0; /* a surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;
		if (c == 0xf4 && p[1] > 0x8f)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0;
}

size_t
ingest_utf8_check(const char *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf, *end = p + len;
	while (p < end) {
#if defined(__SSE2__)
		while (end - p >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_setzero_si128()),
			                         _mm_cmplt_epi8(x, _mm_setzero_si128()));
			unsigned mask = (unsigned)_mm_movemask_epi8(m);
			if (mask != 0) {
				p += __builtin_ctz(mask);
				break;
			}
			p += 16;
		}
#endif
		if (p >= end)
			break;
		if (*p == 0)
			return (size_t)(p - (const uint8_t *)buf);
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t n = utf8_seq(p, end);
		if (n == 0)
			return (size_t)(p - (const uint8_t *)buf);
		p += n;
	}
	return len;
}

struct scan {
	const uint8_t *start;
	const char *reason;
	const uint8_t *at;
};

static const uint8_t *
scan_fail(struct scan *sc, const uint8_t *at, const char *reason)
{
	sc->reason = reason;
	sc->at = at;
	return NULL;
}

/* p is after the opening quote; returns the closing quote or NULL. */
static inline __attribute__((always_inline)) const uint8_t *
scan_string(struct scan *sc, const uint8_t *p, const uint8_t *end, uint8_t *esc)
{
	for (;;) {
		p = str_skip_plain(p, end);
		if (p >= end)
			return scan_fail(sc, p, "truncated string");
		uint8_t c = *p;
		if (c == '"')
			return p;
		if (c == '\\') {
			*esc = 1;
			if (end - p < 2)
				return scan_fail(sc, end, "truncated string");
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				break;
			default:
				return scan_fail(sc, p, "bad escape in string");
			}
			unsigned u;
			if (hex4(p + 2, end, &u) != 0)
				return scan_fail(sc, p, "bad \\u escape in string");
			if (u == 0)
				return scan_fail(sc, p, "\\u0000 in string");
			if (u >= 0xdc00 && u <= 0xdfff)
				return scan_fail(sc, p, "lone surrogate in string");
			if (u >= 0xd800 && u <= 0xdbff) {
				unsigned lo;
				if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
				    hex4(p + 8, end, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
					return scan_fail(sc, p, "lone surrogate in string");
				p += 12;
			} else {
				p += 6;
			}
			continue;
		}
		if (c < 0x20)
			return scan_fail(sc, p, "control character in string");
		size_t n = utf8_seq(p, end);
		if (n == 0)
			return scan_fail(sc, p, "invalid UTF-8 in string");
		p += n;
	}
}

/* Would strtod() overflow on this JSON real (what jansson refuses)? Only
 * the decimal exponent of the first non-zero digit matters, except right at
 * the edge, where strtod decides on a normalised copy. */
static bool
real_overflows(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;
	bool neg = *q == '-';
	if (neg)
		q++;
	const uint8_t *ip = q;
	while (q < end && *q >= '0' && *q <= '9')
		q++;
	const uint8_t *ie = q, *fp = q, *fe = q;
	if (q < end && *q == '.') {
		fp = ++q;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
		fe = q;
	}
	long lead = 0;
	bool found = false;
	for (const uint8_t *d = ip; d < ie && !found; d++) {
		if (*d != '0') {
			lead = (long)(ie - d) - 1;
			found = true;
		}
	}
	for (const uint8_t *d = fp; d < fe && !found; d++) {
		if (*d != '0') {
			lead = -(long)(d - fp) - 1;
			found = true;
		}
	}
	if (!found)
		return false; /* zero never overflows */
	long e = 0;
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		long sign = 1;
		if (q < end && (*q == '+' || *q == '-')) {
			sign = *q == '-' ? -1 : 1;
			q++;
		}
		while (q < end && *q >= '0' && *q <= '9') {
			if (e < 100000000)
				e = e * 10 + (*q - '0');
			q++;
		}
		e *= sign;
	}
	long mag = lead + e;
	if (mag < 308)
		return false;
	if (mag > 308)
		return true;
	char buf[840];
	size_t n = 0;
	if (neg)
		buf[n++] = '-';
	buf[n++] = '0';
	buf[n++] = '.';
	bool started = false;
	for (const uint8_t *d = ip; d < fe && n < 800; d++) {
		if (*d == '.')
			continue;
		if (*d != '0')
			started = true;
		if (started)
			buf[n++] = (char)*d;
	}
	snprintf(buf + n, sizeof(buf) - n, "e%ld", mag + 1);
	errno = 0;
	double v = strtod(buf, NULL);
	return errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL);
}

/* Does the integer text fit in int64 (what jansson's strtoll accepts)? */
static bool
int_fits(const uint8_t *p, size_t n)
{
	bool neg = *p == '-';
	if (neg) {
		p++;
		n--;
	}
	if (n < 19)
		return true;
	if (n > 19)
		return false;
	const char *lim = neg ? "9223372036854775808" : "9223372036854775807";
	return memcmp(p, lim, 19) <= 0;
}

/* Strict RFC 8259 number; returns its end or NULL. */
static const uint8_t *
scan_number(struct scan *sc, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *s = p;
	if (*p == '-')
		p++;
	if (p >= end)
		return scan_fail(sc, p, "truncated number");
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return scan_fail(sc, p, "leading zero in number");
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return scan_fail(sc, p, "bad number");
	}
	bool real = false;
	if (p < end && *p == '.') {
		real = true;
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return scan_fail(sc, p, "bad number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return scan_fail(sc, p, "bad number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (!real) {
		if (!int_fits(s, (size_t)(p - s)))
			return scan_fail(sc, s, "integer out of range");
	} else if ((size_t)(p - s) > 300 || memchr(s, 'e', (size_t)(p - s)) != NULL ||
	           memchr(s, 'E', (size_t)(p - s)) != NULL) {
		if (real_overflows(s, p))
			return scan_fail(sc, s, "number out of range");
	}
	return p;
}

static inline const uint8_t *
skip_ws(const uint8_t *p, const uint8_t *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* A repeated key replaces the earlier value and everything under it. */
static void
clear_below(const struct ingest_json_spec *s, struct ingest_jv *vals, int node)
{
	for (int j = 0; j < s->nnodes; j++) {
		for (int a = s->nodes[j].parent; a >= 0; a = s->nodes[a].parent) {
			if (a == node) {
				vals[j].type = INGEST_J_NONE;
				break;
			}
		}
	}
}

static inline void
record(const struct ingest_json_spec *s, struct ingest_jv *vals, int node, const uint8_t *p,
       size_t len, uint8_t type, uint8_t esc)
{
	if (vals[node].type != INGEST_J_NONE && s->has_children[node])
		clear_below(s, vals, node);
	vals[node].p = (const char *)p;
	vals[node].len = (uint32_t)len;
	vals[node].type = type;
	vals[node].esc = esc;
}

/* The node of element i of the array at node n, if the spec has one. */
static int
index_child(const struct ingest_json_spec *s, int n, uint32_t i)
{
	if (n < 0 || i > s->max_index)
		return -1;
	char buf[12];
	int len = snprintf(buf, sizeof(buf), "%u", i);
	return ingest_json_spec_child(s, n, buf, (size_t)len);
}

int
ingest_json_scan(const struct ingest_json_spec *spec, const char *buf, size_t len,
                 struct ingest_jv *vals, struct ingest_decode_err *de)
{
	const uint8_t *start = (const uint8_t *)buf, *end = start + len, *p = start;
	struct scan sc = {.start = start, .reason = NULL, .at = NULL};
	/* Per open container: its node (-1 if nothing under it is wanted),
	 * whether it is an array, the index of the current element. */
	int16_t node_at[INGEST_JSON_MAX_DEPTH + 1];
	uint8_t is_arr[INGEST_JSON_MAX_DEPTH + 1];
	uint32_t index_at[INGEST_JSON_MAX_DEPTH + 1];
	int16_t rec_at[INGEST_JSON_MAX_DEPTH + 1]; /* node recorded for it, or -1 */
	int depth = 0;
	int cur; /* node of the value about to be read, -1 if none */

	memset(vals, 0, (size_t)spec->nnodes * sizeof(*vals));
	p = skip_ws(p, end);
	if (p >= end || *p != '{') {
		sc.reason = p >= end ? "empty line" : "not a JSON object";
		sc.at = p;
		goto fail;
	}
	cur = spec->root;

value:
	p = skip_ws(p, end);
	if (p >= end) {
		scan_fail(&sc, p, "truncated JSON");
		goto fail;
	}
	switch (*p) {
	case '"': {
		uint8_t esc = 0;
		const uint8_t *q = scan_string(&sc, p + 1, end, &esc);
		if (q == NULL)
			goto fail;
		if (cur >= 0)
			record(spec, vals, cur, p + 1, (size_t)(q - p - 1), INGEST_J_STR, esc);
		p = q + 1;
		goto after_value;
	}
	case '{':
	case '[': {
		if (depth >= INGEST_JSON_MAX_DEPTH) {
			scan_fail(&sc, p, "nesting too deep");
			goto fail;
		}
		bool arr = *p == '[';
		if (cur >= 0)
			record(spec, vals, cur, p, 0, arr ? INGEST_J_ARR : INGEST_J_OBJ, 0);
		depth++;
		rec_at[depth] = (int16_t)cur;
		node_at[depth] = (int16_t)(cur >= 0 && spec->has_children[cur] ? cur : -1);
		is_arr[depth] = arr;
		index_at[depth] = 0;
		p = skip_ws(p + 1, end);
		if (p < end && *p == (arr ? ']' : '}')) {
			p++;
			goto close;
		}
		if (!arr)
			goto key;
		cur = index_child(spec, node_at[depth], 0);
		goto value;
	}
	case 't':
		if (end - p < 4 || memcmp(p, "true", 4) != 0) {
			scan_fail(&sc, p, "bad literal");
			goto fail;
		}
		if (cur >= 0)
			record(spec, vals, cur, p, 4, INGEST_J_TRUE, 0);
		p += 4;
		goto after_value;
	case 'f':
		if (end - p < 5 || memcmp(p, "false", 5) != 0) {
			scan_fail(&sc, p, "bad literal");
			goto fail;
		}
		if (cur >= 0)
			record(spec, vals, cur, p, 5, INGEST_J_FALSE, 0);
		p += 5;
		goto after_value;
	case 'n':
		if (end - p < 4 || memcmp(p, "null", 4) != 0) {
			scan_fail(&sc, p, "bad literal");
			goto fail;
		}
		if (cur >= 0)
			record(spec, vals, cur, p, 4, INGEST_J_NULL, 0);
		p += 4;
		goto after_value;
	default: {
		if (*p != '-' && (*p < '0' || *p > '9')) {
			scan_fail(&sc, p, "unexpected character");
			goto fail;
		}
		const uint8_t *q = scan_number(&sc, p, end);
		if (q == NULL)
			goto fail;
		if (cur >= 0)
			record(spec, vals, cur, p, (size_t)(q - p), INGEST_J_NUM, 0);
		p = q;
		goto after_value;
	}
	}

close:
	/* The container at depth has just been closed; p is past its bracket. */
	if (rec_at[depth] >= 0)
		vals[rec_at[depth]].len = (uint32_t)((const char *)p - vals[rec_at[depth]].p);
	depth--;
	/* fall through to after_value */

after_value:
	if (depth == 0)
		goto done;
	p = skip_ws(p, end);
	if (p >= end) {
		scan_fail(&sc, p, "truncated JSON");
		goto fail;
	}
	if (is_arr[depth]) {
		if (*p == ',') {
			p++;
			index_at[depth]++;
			cur = index_child(spec, node_at[depth], index_at[depth]);
			goto value;
		}
		if (*p == ']') {
			p++;
			goto close;
		}
		scan_fail(&sc, p, "expected ',' or ']'");
		goto fail;
	}
	if (*p == ',') {
		p = skip_ws(p + 1, end);
		goto key;
	}
	if (*p == '}') {
		p++;
		goto close;
	}
	scan_fail(&sc, p, "expected ',' or '}'");
	goto fail;

key:
	if (p >= end) {
		scan_fail(&sc, p, "truncated JSON");
		goto fail;
	}
	if (*p != '"') {
		scan_fail(&sc, p, "expected a key");
		goto fail;
	}
	{
		uint8_t esc = 0;
		const uint8_t *k = p + 1;
		const uint8_t *q = scan_string(&sc, k, end, &esc);
		if (q == NULL)
			goto fail;
		cur = -1;
		int parent = node_at[depth];
		if (parent >= 0) {
			size_t klen = (size_t)(q - k);
			if (!esc) {
				cur = spec_child(spec, parent, (const char *)k, klen);
			} else if (klen <= 6 * INGEST_JSON_MAX_KEY) {
				char kb[INGEST_JSON_MAX_KEY + 1];
				bool cut = false;
				size_t n = ingest_json_unescape((const char *)k, klen, kb, sizeof(kb), &cut);
				if (!cut)
					cur = ingest_json_spec_child(spec, parent, kb, n);
			}
		}
		p = skip_ws(q + 1, end);
		if (p >= end || *p != ':') {
			scan_fail(&sc, p, "expected ':'");
			goto fail;
		}
		p++;
		goto value;
	}

done:
	p = skip_ws(p, end);
	if (p != end) {
		scan_fail(&sc, p, "data after the JSON object");
		goto fail;
	}
	return 0;

fail:
	de->reason = sc.reason;
	de->offset = (size_t)(sc.at - start);
	return -1;
}

/* ---- unescaping ---------------------------------------------------------- */

static size_t
utf8_put(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
ingest_json_unescape(const char *src, size_t len, char *dst, size_t cap, bool *cut)
{
	const uint8_t *p = (const uint8_t *)src, *end = p + len;
	size_t o = 0;
	*cut = false;
	while (p < end) {
		char tmp[4];
		size_t n;
		if (*p != '\\') {
			/* Copy a run of plain bytes, cut on a character boundary. */
			const uint8_t *q = p;
			while (q < end && *q != '\\')
				q++;
			size_t run = (size_t)(q - p);
			if (o + run > cap) {
				run = cap - o;
				while (run > 0 && (p[run] & 0xc0) == 0x80)
					run--;
				memcpy(dst + o, p, run);
				o += run;
				*cut = true;
				return o;
			}
			memcpy(dst + o, p, run);
			o += run;
			p = q;
			continue;
		}
		unsigned cp = 0;
		switch (p[1]) {
		case 'b': cp = '\b'; p += 2; break;
		case 'f': cp = '\f'; p += 2; break;
		case 'n': cp = '\n'; p += 2; break;
		case 'r': cp = '\r'; p += 2; break;
		case 't': cp = '\t'; p += 2; break;
		case 'u': {
			unsigned hi = 0, lo = 0;
			(void)hex4(p + 2, end, &hi);
			p += 6;
			if (hi >= 0xd800 && hi <= 0xdbff && end - p >= 6) {
				(void)hex4(p + 2, end, &lo);
				p += 6;
				cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
			} else {
				cp = hi;
			}
			break;
		}
		default: cp = p[1]; p += 2; break;
		}
		n = utf8_put(cp, tmp);
		if (o + n > cap) {
			*cut = true;
			return o;
		}
		memcpy(dst + o, tmp, n);
		o += n;
	}
	return o;
}

/* ---- values into the event ---------------------------------------------- */

int
ingest_fail(struct ingest_ctx *c, const char *p, const char *reason)
{
	c->de->reason = reason;
	c->de->offset = p != NULL && p >= c->line && p <= c->line + c->len ? (size_t)(p - c->line) : 0;
	return -1;
}

int
ingest_num_int(const char *p, size_t len, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (len > 0 && p[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i >= len || len - i > 19)
		return -1;
	uint64_t v = 0;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (!neg && v > (uint64_t)INT64_MAX)
		return -1;
	if (neg && v > (uint64_t)INT64_MAX + 1)
		return -1;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int
ingest_jv_str(struct ingest_ctx *c, const struct ingest_jv *v, struct ingest_str *out,
              const char *reason)
{
	if (v->type == INGEST_J_NONE || v->type == INGEST_J_NULL)
		return 0;
	if (v->type != INGEST_J_STR)
		return ingest_fail(c, v->p, reason);
	if (!v->esc) {
		*out = (struct ingest_str){.p = v->p, .len = v->len};
		return 0;
	}
	struct ingest_event *ev = c->ev;
	char *dst = ev->scratch + ev->scratch_used;
	bool cut = false;
	size_t n = ingest_json_unescape(v->p, v->len, dst, INGEST_SCRATCH_BYTES - ev->scratch_used,
	                                &cut);
	if (cut)
		ev->flags |= INGEST_EVF_TRUNCATED;
	ev->scratch_used += (uint32_t)n;
	*out = (struct ingest_str){.p = dst, .len = (uint32_t)n};
	return 0;
}

int
ingest_jv_int(struct ingest_ctx *c, const struct ingest_jv *v, int64_t min, int64_t max,
              int64_t *out, const char *reason)
{
	int64_t x;
	if (v->type == INGEST_J_NONE || v->type == INGEST_J_NULL)
		return 0;
	if (v->type != INGEST_J_NUM || ingest_num_int(v->p, v->len, &x) != 0 || x < min || x > max)
		return ingest_fail(c, v->p, reason);
	*out = x;
	return 0;
}

int
ingest_jv_port(struct ingest_ctx *c, const struct ingest_jv *v, uint16_t *out, const char *reason)
{
	int64_t x = 0;
	if (ingest_jv_int(c, v, 0, 65535, &x, reason) != 0)
		return -1;
	*out = (uint16_t)x;
	return 0;
}

int
ingest_jv_ip(struct ingest_ctx *c, const struct ingest_jv *v, struct ingest_ip *out,
             const char *reason)
{
	if (v->type == INGEST_J_NONE || v->type == INGEST_J_NULL)
		return 0;
	if (v->type != INGEST_J_STR)
		return ingest_fail(c, v->p, reason);
	const char *p = v->p;
	size_t n = v->len;
	char buf[64];
	if (v->esc) {
		/* Rare ("\u0031.2.3.4" is an address too): unescape on the stack. */
		bool cut = false;
		n = ingest_json_unescape(v->p, v->len, buf, sizeof(buf), &cut);
		p = buf;
		if (cut)
			return ingest_fail(c, v->p, reason);
	}
	if (ingest_ip_parse(p, n, out) != 0)
		return ingest_fail(c, v->p, reason);
	return 0;
}

int
ingest_jv_ts(struct ingest_ctx *c, const struct ingest_jv *v, int64_t *ms, const char *reason)
{
	if (v->type == INGEST_J_NONE)
		return 0;
	if (v->type != INGEST_J_STR)
		return ingest_fail(c, v->p, reason);
	const char *p = v->p;
	size_t n = v->len;
	char buf[64];
	if (v->esc) {
		bool cut = false;
		n = ingest_json_unescape(v->p, v->len, buf, sizeof(buf), &cut);
		p = buf;
		if (cut)
			return ingest_fail(c, v->p, reason);
	}
	if (ingest_ts_parse(p, n, ms) != 0)
		return ingest_fail(c, v->p, reason);
	return 0;
}
