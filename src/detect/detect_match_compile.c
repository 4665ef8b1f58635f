/*
 * detect_match_compile.c - compiling one STIX indicator into a layer of the
 * matcher's indexes: its comparisons and their literals, their anchors, its
 * observation-level tree. detect_match_build.c runs this over whole builds
 * and updates; keeping the pattern details here lets each be read alone.
 *
 * Each observation expression [ ... ] becomes a comparison tree that can be
 * evaluated against one object of an event (a "slot"), and a set of
 * anchors: index entries such that the expression can only hold for an
 * object if one of its anchors is hit by that object's values. An equality
 * or IN gives hash keys, a CIDR an interval, LIKE '%.x' on a domain a
 * parent-domain key, LIKE and MATCHES a Vectorscan regex; an OR needs all
 * its kids anchored and unites their anchors, an AND picks the cheapest
 * anchored kid. An expression that is just anchored comparisons joined by
 * OR is "exact": a hit proves it and nothing is evaluated. One that cannot
 * be anchored (only !=, <, NOT, EXISTS, ...) goes on the scan list of the
 * object types it can hold for and is evaluated for every such object; that
 * list is the only cost that grows with indicators, and
 * detect_matcher_stats counts it.
 *
 * An indicator is compiled into the layer's arrays and a per-indicator
 * arena, and committed to the indexes only once all of it compiled, so a
 * refused indicator leaves nothing behind.
 */
#include "detect/detect_match_int.h"

#include <assert.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define DETECT_MATCH_MAX_ANCHORS 65536 /* per observation expression */

/* ---- arena ----------------------------------------------------------------------- */

#define MARENA_CHUNK (256 * 1024)

struct marena_chunk {
	struct marena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

void *
marena_alloc(struct marena *a, size_t n)
{
	n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (n == 0)
		n = alignof(max_align_t);
	struct marena_chunk *c = a->head;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > MARENA_CHUNK ? n : MARENA_CHUNK;
		c = xmalloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
		a->bytes += sizeof(*c) + cap;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

char *
marena_strndup(struct marena *a, const char *s, size_t n)
{
	char *d = marena_alloc(a, n + 1);
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void
marena_free(struct marena *a)
{
	struct marena_chunk *c = a->head;
	while (c != NULL) {
		struct marena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->bytes = 0;
}

/* Keeps the newest chunk for reuse and frees the rest. */
static void
marena_reset(struct marena *a)
{
	if (a->head == NULL)
		return;
	struct marena_chunk *c = a->head->next;
	while (c != NULL) {
		struct marena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head->next = NULL;
	a->head->used = 0;
	a->bytes = sizeof(*a->head) + a->head->cap;
}

#define VEC_GROW(ptr, n, cap)                                                                      \
	do {                                                                                       \
		if ((n) == (cap)) {                                                                \
			(cap) = (cap) ? (cap) * 2 : 64;                                            \
			(ptr) = xrealloc((ptr), (cap) * sizeof(*(ptr)));                           \
		}                                                                                  \
	} while (0)

/* ---- literals ----------------------------------------------------------------------- */

/* UTF-8 encoding of bytes read as Latin-1 code points, as the evaluator
 * compares binary literals with strings. */
static const char *
latin_text(struct marena *a, const unsigned char *b, size_t n, uint32_t *len)
{
	char *s = marena_alloc(a, 2 * n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (b[i] < 0x80) {
			s[k++] = (char)b[i];
		} else {
			s[k++] = (char)(0xc0 | (b[i] >> 6));
			s[k++] = (char)(0x80 | (b[i] & 0x3f));
		}
	}
	s[k] = '\0';
	*len = (uint32_t)k;
	return s;
}

/* ---- paths ---------------------------------------------------------------------------- */

/* Maps an object path to a property the matcher extracts. MF_NONE if the
 * event can never carry it. *index is the list index, or -1 for any. */
static enum mfield
path_resolve(enum mobj obj, const struct stix_object_path *p, int32_t *index)
{
	char buf[128];
	size_t k = 0;
	*index = -1;
	bool have_index = false;
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct stix_path_step *s = &p->steps[i];
		const char *piece = NULL;
		if (s->kind == STIX_PATH_KEY) {
			/* A key holding '.' or '[' could pass for a path of ours. */
			if (strpbrk(s->key, ".[") != NULL || strlen(s->key) > 60)
				return MF_NONE;
			if (i > 0 && k < sizeof(buf))
				buf[k++] = '.';
			piece = s->key;
		} else if (s->kind == STIX_PATH_ANY) {
			piece = "[*]";
		} else {
			if (have_index || s->index < 0 || s->index > 255)
				return MF_NONE;
			have_index = true;
			*index = (int32_t)s->index;
			piece = "[*]";
		}
		size_t n = strlen(piece);
		if (k + n >= sizeof(buf))
			return MF_NONE;
		memcpy(buf + k, piece, n);
		k += n;
	}
	buf[k] = '\0';
	if (strcmp(buf, "type") == 0 && !have_index)
		return MF_TYPE;
	static const struct {
		enum mobj obj;
		enum mfield f;
	} table[] = {
	    {MO_IPV4, MF_IP_VALUE},        {MO_IPV6, MF_IP_VALUE},        {MO_NT, MF_NT_SRC_REF},
	    {MO_NT, MF_NT_DST_REF},        {MO_NT, MF_NT_SRC_TYPE},       {MO_NT, MF_NT_DST_TYPE},
	    {MO_NT, MF_NT_SRC_VALUE},      {MO_NT, MF_NT_DST_VALUE},      {MO_NT, MF_NT_SRC_PORT},
	    {MO_NT, MF_NT_DST_PORT},       {MO_NT, MF_NT_SRC_BYTES},      {MO_NT, MF_NT_DST_BYTES},
	    {MO_NT, MF_NT_SRC_PACKETS},    {MO_NT, MF_NT_DST_PACKETS},    {MO_NT, MF_NT_PROTOCOLS},
	    {MO_NT, MF_NT_PROTOCOL},       {MO_DOMAIN, MF_DOMAIN_VALUE},  {MO_URL, MF_URL_VALUE},
	    {MO_FILE, MF_FILE_NAME},       {MO_FILE, MF_FILE_HASHES},     {MO_FILE, MF_FILE_SHA256},
	    {MO_FILE, MF_FILE_MD5},        {MO_FILE, MF_FILE_SHA1},       {MO_FILE, MF_FILE_SIZE},
	    {MO_EMAIL, MF_EMAIL_VALUE},    {MO_MSG, MF_MSG_FROM_REF},     {MO_MSG, MF_MSG_FROM_TYPE},
	    {MO_MSG, MF_MSG_FROM_VALUE},   {MO_MSG, MF_MSG_TO_REFS},      {MO_MSG, MF_MSG_TO_REF},
	    {MO_MSG, MF_MSG_TO_TYPE},      {MO_MSG, MF_MSG_TO_VALUE},     {MO_MSG, MF_MSG_SUBJECT},
	    {MO_USER, MF_USER_ID},         {MO_USER, MF_USER_LOGIN},      {MO_PROC, MF_PROC_CMDLINE},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(table); i++) {
		if (table[i].obj == obj && strcmp(mfield_path(table[i].f), buf) == 0) {
			/* Only list properties take an index. */
			bool list = table[i].f == MF_NT_PROTOCOL || table[i].f == MF_MSG_TO_REF ||
			            table[i].f == MF_MSG_TO_TYPE || table[i].f == MF_MSG_TO_VALUE;
			if (have_index && !list)
				return MF_NONE;
			return table[i].f;
		}
	}
	return MF_NONE;
}

/* ---- the builder ------------------------------------------------------------------------ */

enum { PA_HASH, PA_NET, PA_RX };

struct pend_anchor {
	uint8_t kind;
	uint8_t vs;
	uint8_t family;
	uint8_t prefix;
	uint8_t field;
	uint8_t obj;
	uint32_t lobs; /* the observation, local to the indicator */
	uint32_t rx;   /* PA_RX: index into the pending regexes */
	const void *key;
	uint32_t len;
	uint8_t addr[16];
};

struct pend_rx {
	const char *rx;
	uint32_t len;
	uint8_t field, obj;
	uint32_t lobs;
	uint32_t cmp; /* the comparison that reads its hits, or M_NONE */
	bool anchor;
};

/* What compiling a comparison-level node found out. */
struct ana {
	bool anch;      /* the candidates in [a0, a1) select every object it holds for */
	bool exact;     /* ... and a hit proves it */
	uint32_t types; /* object types it can hold for (0: none) */
	uint32_t a0, a1;
	uint32_t cost;
};

/* snprintf that may cut: messages for people are allowed to be shortened. */
static void cut_printf(char *dst, size_t n, const char *fmt, ...) CIIP_PRINTF(3, 4);

static void
cut_printf(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

void
builder_note_error(struct builder *b, const char *id, const char *why)
{
	if (b->st.first_error[0] == '\0')
		cut_printf(b->st.first_error, sizeof(b->st.first_error), "%s: %s", id ? id : "?", why);
}

static void
next_change(struct builder *b, int64_t t)
{
	if (t > b->now_ms && t < b->st.next_change_ms)
		b->st.next_change_ms = t;
}

static uint32_t
node_alloc(struct mlayer *L, size_t n)
{
	while (L->nnodes + n > L->nodes_cap) {
		L->nodes_cap = L->nodes_cap ? L->nodes_cap * 2 : 1024;
		L->nodes = xrealloc(L->nodes, L->nodes_cap * sizeof(*L->nodes));
	}
	uint32_t at = (uint32_t)L->nnodes;
	memset(&L->nodes[at], 0, n * sizeof(*L->nodes));
	L->nnodes += n;
	return at;
}

static struct pend_anchor *
cand_add(struct builder *b, uint8_t kind, const struct mcmp *c)
{
	VEC_GROW(b->cand, b->ncand, b->cand_cap);
	struct pend_anchor *a = &b->cand[b->ncand++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->field = c->field;
	a->obj = c->obj;
	return a;
}

/* What an anchor costs the lookups it selects for: a regex is a scan, and a
 * port, count or protocol is on most flows (443, 'tcp'), so an AND picks a
 * kid that names an address or a name over them, and events of addresses
 * only can be looked up before they are extracted (detect_match.c). */
static unsigned
cand_cost(const struct pend_anchor *p)
{
	if (p->kind == PA_RX)
		return 16;
	if (p->field >= MF_NT_SRC_PORT && p->field <= MF_NT_PROTOCOL)
		return 8;
	return 1;
}

static void
cand_ip(struct builder *b, const struct mcmp *c, int family, const uint8_t *addr, int prefix)
{
	int max = family == 4 ? 32 : 128;
	if (prefix < max) {
		struct pend_anchor *a = cand_add(b, PA_NET, c);
		a->family = (uint8_t)family;
		a->prefix = (uint8_t)prefix;
		memcpy(a->addr, addr, family == 4 ? 4 : 16);
		return;
	}
	/* The family is the value space, so the key is the address alone. */
	size_t n = family == 4 ? 4 : 16;
	uint8_t *key = marena_alloc(&b->tmp, n);
	memcpy(key, addr, n);
	struct pend_anchor *a = cand_add(b, PA_HASH, c);
	a->vs = family == 4 ? MS_IP4 : MS_IP6;
	a->key = key;
	a->len = (uint32_t)n;
}

static void
cand_str(struct builder *b, const struct mcmp *c, enum mspace vs, const char *s, size_t n)
{
	struct pend_anchor *a = cand_add(b, PA_HASH, c);
	a->vs = (uint8_t)vs;
	a->key = s;
	a->len = (uint32_t)n;
}

/* An address literal in the canonical text the event's value has. */
static bool
canonical_ip(const char *s, size_t n, int *family, uint8_t addr[16])
{
	struct ingest_ip ip;
	char buf[48];
	if (ingest_ip_parse(s, n, &ip) != 0)
		return false;
	ingest_ip_format(&ip, buf, sizeof(buf));
	if (strlen(buf) != n || memcmp(buf, s, n) != 0)
		return false;
	*family = ip.family;
	memcpy(addr, ip.family == 4 ? ip.a + 12 : ip.a, ip.family == 4 ? 4 : 16);
	return true;
}

/* Equality candidates for one literal; false if it cannot be indexed. */
static bool
eq_candidates(struct builder *b, const struct mcmp *c, const struct mlit *l)
{
	enum mfield f = c->field;
	if (mfield_is_other(f))
		return true; /* an object equals no literal */
	if (mfield_is_int(f)) {
		int64_t i;
		if (l->type == STIX_LITERAL_INT)
			i = l->i;
		else if (l->type == STIX_LITERAL_FLOAT && l->f >= -9.2e18 && l->f <= 9.2e18 &&
		         (double)(int64_t)l->f == l->f)
			i = (int64_t)l->f;
		else
			return true; /* never equal to an integer */
		int64_t *key = marena_alloc(&b->tmp, sizeof(*key));
		*key = i;
		cand_str(b, c, mfield_space(f), (const char *)key, sizeof(*key));
		return true;
	}
	switch (l->type) {
	case STIX_LITERAL_STRING:
	case STIX_LITERAL_BINARY:
	case STIX_LITERAL_HEX:
		if (mfield_is_ip(f)) {
			int family = 0;
			uint8_t addr[16];
			if (l->net)
				cand_ip(b, c, l->net, l->addr, l->prefix);
			else if (canonical_ip(l->s, l->len, &family, addr))
				cand_ip(b, c, family, addr, family == 4 ? 32 : 128);
			return true; /* else: no address text equals it */
		}
		if (mfield_is_synth(f))
			return false;
		cand_str(b, c, mfield_space(f), l->s, l->len);
		return true;
	case STIX_LITERAL_TIMESTAMP: return false; /* strings read as timestamps */
	default: return true;                       /* numbers, booleans: never equal a string */
	}
}

/* Fills c's literals from the pattern's, normalised for the property. */
static void
lit_compile(struct builder *b, struct mcmp *c, struct mlit *out, const struct stix_literal *in)
{
	memset(out, 0, sizeof(*out));
	out->type = (uint8_t)in->type;
	out->i = in->i;
	out->f = in->f;
	out->b = in->b;
	out->ts = in->ts_ms;
	if (in->type == STIX_LITERAL_BINARY || in->type == STIX_LITERAL_HEX) {
		out->bytes = in->bytes;
		out->nbytes = (uint32_t)in->nbytes;
		out->s = latin_text(&b->tmp, in->bytes, in->nbytes, &out->len);
		out->latin = 1;
		return;
	}
	if (in->type != STIX_LITERAL_STRING)
		return;
	enum mnorm norm = mfield_norm(c->field);
	bool eqlike = c->op == STIX_CMP_EQ || c->op == STIX_CMP_NE || c->op == STIX_CMP_IN;
	out->s = in->text;
	out->len = (uint32_t)in->text_len;
	int family = 0, prefix = 0;
	if (norm == MN_IP && eqlike) {
		if (mnet_parse(in->text, in->text_len, &family, out->addr, &prefix)) {
			out->net = (uint8_t)family;
			out->prefix = (uint8_t)prefix;
		}
	} else if (c->op == STIX_CMP_ISSUBSET || c->op == STIX_CMP_ISSUPERSET) {
		if (mnet_parse(in->text, in->text_len, &family, out->addr, &prefix)) {
			out->net = (uint8_t)family;
			out->prefix = (uint8_t)prefix;
		}
	} else if (eqlike && norm != MN_NONE) {
		char *buf = marena_alloc(&b->tmp, in->text_len + 2);
		size_t n = 0;
		const char *r = mnorm_apply(norm, in->text, in->text_len, buf, in->text_len + 1, &n);
		out->s = r;
		out->len = (uint32_t)n;
	} else if (c->op == STIX_CMP_LIKE && (norm == MN_LOWER || norm == MN_DOMAIN)) {
		char *buf = marena_alloc(&b->tmp, in->text_len + 1);
		size_t n = 0;
		out->s = mnorm_apply(MN_LOWER, in->text, in->text_len, buf, in->text_len, &n);
		out->len = (uint32_t)n;
	}
}

static uint32_t
rx_pending(struct builder *b, const struct mcmp *c, const char *rx, size_t len)
{
	VEC_GROW(b->prx, b->nprx, b->prx_cap);
	b->prx[b->nprx] = (struct pend_rx){
	    .rx = rx,
	    .len = (uint32_t)len,
	    .field = c->field,
	    .obj = c->obj,
	    .lobs = b->cur_lobs,
	    .cmp = (uint32_t)(c - b->L->cmps),
	};
	return (uint32_t)b->nprx++;
}

/* LIKE as an anchored regex: % any run, _ one code point, the rest literal. */
static const char *
like_regex(struct builder *b, const char *s, size_t n, size_t *len)
{
	char *rx = marena_alloc(&b->tmp, 2 * n + 8);
	size_t k = 0;
	rx[k++] = '^';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '%') {
			rx[k++] = '.';
			rx[k++] = '*';
		} else if (ch == '_') {
			rx[k++] = '.';
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		           (ch >= '0' && ch <= '9') || ch >= 0x80) {
			rx[k++] = (char)ch;
		} else {
			rx[k++] = '\\';
			rx[k++] = (char)ch;
		}
	}
	rx[k++] = '\\';
	rx[k++] = 'z';
	rx[k] = '\0';
	*len = k;
	return rx;
}

static void
set_false(struct mlayer *L, uint32_t at, struct ana *a)
{
	L->nodes[at] = (struct mnode){.kind = MN_FALSE};
	*a = (struct ana){.anch = true, .exact = true, .types = 0};
}

/* Compiles one comparison into nodes[at]. */
static void
compile_cmp(struct builder *b, uint32_t at, const struct stix_pattern_comparison *in,
            struct ana *a)
{
	struct mlayer *L = b->L;
	enum mobj obj = mobj_from_name(in->path.object_type);
	int32_t index = -1;
	enum mfield f = obj == MO_NONE ? MF_NONE : path_resolve(obj, &in->path, &index);
	if (f == MF_NONE) {
		set_false(L, at, a); /* a property no event has passes nothing */
		return;
	}
	bool text = !mfield_is_int(f) && !mfield_is_other(f);
	enum stix_cmp_op op = in->op;
	bool ordering = op == STIX_CMP_LT || op == STIX_CMP_LE || op == STIX_CMP_GT || op == STIX_CMP_GE;
	bool textual = op == STIX_CMP_LIKE || op == STIX_CMP_MATCHES || op == STIX_CMP_ISSUBSET ||
	               op == STIX_CMP_ISSUPERSET;
	/* Tests that never apply hold neither with nor without NOT. */
	if ((textual && !text) || (ordering && mfield_is_other(f)) ||
	    (ordering && in->value.type == STIX_LITERAL_BOOL) ||
	    (ordering && mfield_is_int(f) && in->value.type != STIX_LITERAL_INT &&
	     in->value.type != STIX_LITERAL_FLOAT)) {
		set_false(L, at, a);
		return;
	}
	/* Events must carry the field, even when an index hit alone will
	 * prove the comparison and the comparison itself is not kept. */
	L->need |= 1ull << f;
	VEC_GROW(L->cmps, L->ncmps, L->cmps_cap);
	struct mcmp *c = &L->cmps[L->ncmps];
	memset(c, 0, sizeof(*c));
	c->obj = (uint8_t)obj;
	c->field = (uint8_t)f;
	c->op = (uint8_t)op;
	c->negated = in->negated;
	c->index = index;
	c->rx = M_NONE;
	L->nodes[at] = (struct mnode){.kind = MN_CMP, .off = (uint32_t)L->ncmps};
	L->ncmps++;
	size_t nl = op == STIX_CMP_IN ? in->nset : op == STIX_CMP_EXISTS ? 0 : 1;
	struct mlit *lits = nl ? marena_alloc(&b->tmp, nl * sizeof(*lits)) : NULL;
	for (size_t i = 0; i < nl; i++)
		lit_compile(b, c, &lits[i], op == STIX_CMP_IN ? &in->set[i] : &in->value);
	c->lit = lits;
	c->nlit = (uint32_t)nl;
	*a = (struct ana){.types = 1u << obj, .a0 = (uint32_t)b->ncand};

	if ((op == STIX_CMP_ISSUBSET || op == STIX_CMP_ISSUPERSET) && !lits[0].net) {
		set_false(L, at, a); /* the literal is no block: never applies */
		L->ncmps--;
		return;
	}
	/* Regexes are compiled whatever the anchoring: residual tests read
	 * their hits too. Synthesised properties (type) are never scanned. */
	if (op == STIX_CMP_MATCHES) {
		if (mfield_is_synth(f)) {
			b->why = "MATCHES on a type property";
			return;
		}
		if (!mhs_check(lits[0].s, MHS_FLAGS, b->whybuf, sizeof(b->whybuf))) {
			b->why = b->whybuf;
			return;
		}
		c->rx = rx_pending(b, c, lits[0].s, lits[0].len);
	}
	if (op == STIX_CMP_LIKE) {
		const char *s = lits[0].s;
		size_t n = lits[0].len;
		bool wild = memchr(s, '%', n) != NULL || memchr(s, '_', n) != NULL;
		bool suffix = f == MF_DOMAIN_VALUE && n >= 2 && s[0] == '%' && s[1] == '.' &&
		              memchr(s + 1, '%', n - 1) == NULL && memchr(s + 1, '_', n - 1) == NULL;
		if (!wild) {
			c->like = ML_EXACT;
		} else if (suffix) {
			c->like = ML_SUFFIX;
		} else if (mfield_is_synth(f)) {
			b->why = "LIKE with wildcards on a type property";
			return;
		} else {
			c->like = ML_REGEX;
			size_t rl = 0;
			const char *rx = like_regex(b, s, n, &rl);
			c->rx = rx_pending(b, c, rx, rl);
		}
	}
	if (c->negated)
		return; /* NOT is true where the index finds nothing: not anchored */
	bool ok = false;
	switch (op) {
	case STIX_CMP_EQ: ok = eq_candidates(b, c, &lits[0]); break;
	case STIX_CMP_IN:
		ok = true;
		for (size_t i = 0; i < nl && ok; i++)
			ok = eq_candidates(b, c, &lits[i]);
		break;
	case STIX_CMP_LIKE:
		if (c->like == ML_EXACT) {
			struct mlit eq = lits[0];
			eq.type = STIX_LITERAL_STRING;
			eq.net = 0;
			ok = eq_candidates(b, c, &eq);
		} else if (c->like == ML_SUFFIX) {
			cand_str(b, c, MS_SUFFIX, lits[0].s + 2, lits[0].len - 2);
			ok = true;
		} else {
			cand_add(b, PA_RX, c)->rx = c->rx;
			ok = true;
		}
		break;
	case STIX_CMP_MATCHES:
		cand_add(b, PA_RX, c)->rx = c->rx;
		ok = true;
		break;
	case STIX_CMP_ISSUBSET:
		if (mfield_is_ip(f)) {
			cand_ip(b, c, lits[0].net, lits[0].addr, lits[0].prefix);
			ok = true;
		}
		break;
	case STIX_CMP_ISSUPERSET:
		/* An address is a superset only of itself. */
		if (mfield_is_ip(f)) {
			int max = lits[0].net == 4 ? 32 : 128;
			if (lits[0].prefix == max)
				cand_ip(b, c, lits[0].net, lits[0].addr, max);
			ok = true;
		}
		break;
	default: break;
	}
	if (!ok) {
		b->ncand = a->a0;
		return;
	}
	a->anch = true;
	a->exact = c->index < 0; /* keys do not know list positions: check them */
	a->a1 = (uint32_t)b->ncand;
	for (uint32_t i = a->a0; i < a->a1; i++)
		a->cost += cand_cost(&b->cand[i]);
	if (a->a0 == a->a1)
		a->types = 0; /* anchored on nothing: it never holds */
}

/* Compiles a comparison-level node into nodes[at]. Recursion follows the
 * parser's nesting, which STIX_PATTERN_MAX_DEPTH bounds. */
static void
compile_node(struct builder *b, uint32_t at, const struct stix_pattern_node *n, struct ana *a)
{
	struct mlayer *L = b->L;
	if (n->kind == STIX_PATTERN_COMPARISON) {
		compile_cmp(b, at, &n->cmp, a);
		return;
	}
	assert(n->kind == STIX_PATTERN_CMP_AND || n->kind == STIX_PATTERN_CMP_OR);
	bool and = n->kind == STIX_PATTERN_CMP_AND;
	uint32_t kids = node_alloc(L, n->nkids);
	L->nodes[at] = (struct mnode){.kind = and ? MN_AND : MN_OR, .n = (uint32_t)n->nkids, .off = kids};
	struct ana *ka = xmalloc(n->nkids * sizeof(*ka));
	for (size_t i = 0; i < n->nkids; i++)
		compile_node(b, kids + (uint32_t)i, n->kids[i], &ka[i]);
	*a = (struct ana){.types = and ? ~0u : 0};
	if (and) {
		/* The cheapest anchored kid selects for all. */
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < n->nkids; i++) {
			a->types &= ka[i].types;
			if (ka[i].anch && (best == SIZE_MAX || ka[i].cost < ka[best].cost))
				best = i;
		}
		if (a->types == 0) {
			free(ka);
			set_false(L, at, a);
			return;
		}
		if (best != SIZE_MAX) {
			a->anch = true;
			a->a0 = ka[best].a0;
			a->a1 = ka[best].a1;
			a->cost = ka[best].cost;
		}
	} else {
		/* Every kid must be anchored; their anchors are copied out
		 * so that the union is one range. */
		bool all = true, exact = true;
		for (size_t i = 0; i < n->nkids; i++) {
			a->types |= ka[i].types;
			all = all && ka[i].anch;
			exact = exact && ka[i].exact;
		}
		if (a->types == 0) {
			free(ka);
			set_false(L, at, a);
			return;
		}
		if (all) {
			size_t start = b->ncand;
			for (size_t i = 0; i < n->nkids; i++) {
				for (uint32_t k = ka[i].a0; k < ka[i].a1; k++) {
					VEC_GROW(b->cand, b->ncand, b->cand_cap);
					b->cand[b->ncand++] = b->cand[k];
				}
				a->cost += ka[i].cost;
			}
			a->anch = true;
			a->exact = exact;
			a->a0 = (uint32_t)start;
			a->a1 = (uint32_t)b->ncand;
		}
	}
	free(ka);
}

/* ---- observation-level trees --------------------------------------------------- */

static uint32_t
onode_alloc(struct mlayer *L, size_t n)
{
	while (L->nonodes + n > L->onodes_cap) {
		L->onodes_cap = L->onodes_cap ? L->onodes_cap * 2 : 256;
		L->onodes = xrealloc(L->onodes, L->onodes_cap * sizeof(*L->onodes));
	}
	uint32_t at = (uint32_t)L->nonodes;
	memset(&L->onodes[at], 0, n * sizeof(*L->onodes));
	L->nonodes += n;
	return at;
}

static uint32_t
sat_add(uint32_t a, uint32_t b)
{
	return a + b > 65535 ? 65535 : a + b;
}

static uint32_t
sat_mul(uint32_t a, int64_t k)
{
	return (int64_t)a * k > 65535 ? 65535 : (uint32_t)(a * k);
}

/* Converts the observation-level tree into onodes[at]; computes the
 * fewest and most events a binding of it holds, and whether it can hold
 * at all given which observation expressions can. */
struct obs_scratch;
static bool obs_possible(const struct obs_scratch *sc, size_t id);

static void
compile_otree(struct builder *b, uint32_t at, const struct stix_pattern_node *n,
              const struct obs_scratch *possible, uint32_t *minsz, uint32_t *maxsz, bool *can)
{
	struct mlayer *L = b->L;
	switch (n->kind) {
	case STIX_PATTERN_OBSERVATION:
		L->onodes[at] = (struct monode){.kind = MON_OBS, .off = (uint32_t)n->id};
		*minsz = *maxsz = 1;
		*can = obs_possible(possible, n->id);
		return;
	case STIX_PATTERN_QUALIFIED: {
		uint32_t kid = onode_alloc(L, 1);
		VEC_GROW(L->quals, L->nquals, L->quals_cap);
		uint32_t q0 = (uint32_t)L->nquals;
		for (size_t i = 0; i < n->nquals; i++) {
			VEC_GROW(L->quals, L->nquals, L->quals_cap);
			const struct stix_pattern_qualifier *q = &n->quals[i];
			L->quals[L->nquals++] = (struct mqual){
			    .kind = (uint8_t)q->kind,
			    .repeats = q->repeats,
			    .within_s = q->within.f,
			    .start_ms = q->start.ts_ms,
			    .stop_ms = q->stop.ts_ms,
			};
		}
		L->onodes[at] = (struct monode){
		    .kind = MON_QUAL, .nkids = (uint16_t)n->nquals, .off = kid, .qoff = q0};
		compile_otree(b, kid, n->kids[0], possible, minsz, maxsz, can);
		for (size_t i = 0; i < n->nquals; i++) {
			const struct stix_pattern_qualifier *q = &n->quals[i];
			if (q->kind == STIX_QUALIFIER_REPEATS) {
				*minsz = sat_mul(*minsz, q->repeats);
				*maxsz = sat_mul(*maxsz, q->repeats);
			} else if (q->kind == STIX_QUALIFIER_START_STOP &&
			           q->start.ts_ms >= q->stop.ts_ms) {
				*can = false;
			}
		}
		return;
	}
	default: break;
	}
	uint8_t kind = n->kind == STIX_PATTERN_OBS_OR    ? MON_OR
	               : n->kind == STIX_PATTERN_OBS_AND ? MON_AND
	                                                 : MON_FBY;
	uint32_t kids = onode_alloc(L, n->nkids);
	L->onodes[at] = (struct monode){.kind = kind, .nkids = (uint16_t)n->nkids, .off = kids};
	*minsz = kind == MON_OR ? 65535 : 0;
	*maxsz = 0;
	*can = kind != MON_OR;
	for (size_t i = 0; i < n->nkids; i++) {
		uint32_t lo = 0, hi = 0;
		bool c = false;
		compile_otree(b, kids + (uint32_t)i, n->kids[i], possible, &lo, &hi, &c);
		if (kind == MON_OR) {
			if (c && lo < *minsz)
				*minsz = lo;
			*maxsz = hi > *maxsz ? hi : *maxsz;
			*can = *can || c;
		} else {
			*minsz = sat_add(*minsz, lo);
			*maxsz = sat_add(*maxsz, hi);
			*can = *can && c;
		}
	}
}

/* ---- compiling one indicator ------------------------------------------------------ */

/* What the builder notes per observation expression of one pattern. */
struct obs_scratch {
	const struct stix_pattern_node *node;
	uint32_t root;  /* comparison tree, M_NONE when exact */
	uint32_t types; /* object types to scan it for (not anchored) */
	uint32_t gobs;  /* its index in the layer */
	bool possible;  /* some event can satisfy it */
	bool exact;
};

static bool
obs_possible(const struct obs_scratch *sc, size_t id)
{
	return sc[id].possible;
}

static void
collect_observations(const struct stix_pattern_node *n, struct obs_scratch *obs)
{
	if (n->kind == STIX_PATTERN_OBSERVATION) {
		obs[n->id].node = n;
		return;
	}
	for (size_t i = 0; i < n->nkids; i++)
		collect_observations(n->kids[i], obs);
}

/* Copies the literals of the comparisons from index c0 on into the layer's
 * arena (they were compiled into the per-indicator arena). */
static void
keep_literals(struct builder *b, size_t c0)
{
	struct mlayer *L = b->L;
	for (size_t i = c0; i < L->ncmps; i++) {
		struct mcmp *c = &L->cmps[i];
		if (c->nlit == 0)
			continue;
		struct mlit *l = marena_alloc(&L->arena, c->nlit * sizeof(*l));
		memcpy(l, c->lit, c->nlit * sizeof(*l));
		for (uint32_t k = 0; k < c->nlit; k++) {
			if (l[k].s != NULL)
				l[k].s = marena_strndup(&L->arena, l[k].s, l[k].len);
			if (l[k].bytes != NULL) {
				unsigned char *by = marena_alloc(&L->arena, l[k].nbytes);
				memcpy(by, l[k].bytes, l[k].nbytes);
				l[k].bytes = by;
			}
		}
		c->lit = l;
	}
}

static uint64_t
state_key(const char *id, const char *pattern)
{
	return mh_hash(pattern, strlen(pattern), mh_hash(id, strlen(id), 7));
}

/* Compiles one indicator into the layer; on refusal nothing of it stays. */
void
builder_add(struct builder *b, const struct detect_indicator *in)
{
	struct mlayer *L = b->L;
	const char *id = in->id ? in->id : "";
	b->st.input++;
	if (in->revoked || in->valid_from_ms > b->now_ms ||
	    (in->valid_until_ms != 0 && in->valid_until_ms <= b->now_ms)) {
		b->st.inactive++;
		if (!in->revoked) {
			next_change(b, in->valid_from_ms);
			if (in->valid_until_ms != 0)
				next_change(b, in->valid_until_ms);
		}
		return;
	}
	if (in->valid_until_ms != 0)
		next_change(b, in->valid_until_ms);
	const char *text = in->pattern ? in->pattern : "";
	struct err e;
	err_clear(&e);
	struct stix_pattern *p = stix_pattern_parse(text, strlen(text), &e);
	if (p == NULL) {
		b->st.parse_errors++;
		char why[300];
		cut_printf(why, sizeof(why), "column %d: %s", e.column, e.msg);
		builder_note_error(b, id, why);
		return;
	}
	marena_reset(&b->tmp);
	b->why = NULL;
	b->npa = b->nprx = 0;
	size_t c0 = L->ncmps, n0 = L->nnodes, o0 = L->nonodes, q0 = L->nquals;
	size_t nobs = p->n_observations;
	/* Per observation expression, in the builder's reused scratch. */
	if (nobs > b->obs_cap) {
		b->obs_cap = nobs * 2;
		b->scratch = xrealloc(b->scratch, b->obs_cap * sizeof(*b->scratch));
	}
	memset(b->scratch, 0, nobs * sizeof(*b->scratch));
	struct obs_scratch *sc = b->scratch;
	collect_observations(p->root, sc);
	for (size_t i = 0; i < nobs && b->why == NULL; i++) {
		b->cur_lobs = (uint32_t)i;
		size_t cn0 = L->nnodes, cc0 = L->ncmps, rx0 = b->nprx;
		b->ncand = 0;
		uint32_t at = node_alloc(L, 1);
		struct ana a;
		compile_node(b, at, sc[i].node->kids[0], &a);
		if (b->why != NULL)
			break;
		if (a.types == 0) {
			/* Never holds: nothing to index or keep. */
			L->nnodes = cn0;
			L->ncmps = cc0;
			b->nprx = rx0;
			continue;
		}
		if (a.a1 - a.a0 > DETECT_MATCH_MAX_ANCHORS)
			a.anch = false;
		sc[i].possible = true;
		sc[i].types = a.anch ? 0 : a.types;
		sc[i].exact = a.anch && a.exact;
		sc[i].root = sc[i].exact ? M_NONE : at;
		if (a.anch) {
			for (uint32_t k = a.a0; k < a.a1; k++) {
				struct pend_anchor pa = b->cand[k];
				pa.lobs = (uint32_t)i;
				if (pa.kind == PA_RX)
					b->prx[pa.rx].anchor = true;
				VEC_GROW(b->pa, b->npa, b->pa_cap);
				b->pa[b->npa++] = pa;
			}
		}
		if (sc[i].exact) {
			/* A hit proves it: the tree is not needed. */
			L->nnodes = cn0;
			L->ncmps = cc0;
			for (size_t k = rx0; k < b->nprx; k++)
				b->prx[k].cmp = M_NONE;
		}
	}
	uint32_t otree = M_NONE, minsz = 0, maxsz = 0;
	bool can = false, any = false;
	const struct stix_pattern_node *r = p->root;
	if (r->kind == STIX_PATTERN_OBS_OR) {
		any = true;
		for (size_t i = 0; i < r->nkids; i++)
			any = any && r->kids[i]->kind == STIX_PATTERN_OBSERVATION;
	}
	if (b->why == NULL) {
		otree = onode_alloc(L, 1);
		compile_otree(b, otree, p->root, sc, &minsz, &maxsz, &can);
		/* Observation sets are 64-bit masks, histories at most 64 events. */
		if (can && maxsz > 1 && nobs > 64)
			b->why = "a multi-observation pattern with more than 64 observation expressions";
		else if (can && maxsz > 1 && minsz > 64)
			b->why = "a match would need more than 64 events";
		else if (can && r->kind != STIX_PATTERN_OBSERVATION && !any && nobs > 64)
			b->why = "more than 64 observation expressions under qualifiers";
	}
	bool refused = b->why != NULL || !can;
	if (b->why != NULL) {
		b->st.unsupported++;
		builder_note_error(b, id, b->why);
	} else if (!can) {
		b->st.never++;
	}
	if (refused) {
		L->ncmps = c0;
		L->nnodes = n0;
		L->nonodes = o0;
		L->nquals = q0;
		goto out;
	}
	/* Commit. */
	VEC_GROW(L->inds, L->ninds, L->inds_cap);
	uint32_t ind = (uint32_t)L->ninds++;
	struct mind *mi = &L->inds[ind];
	memset(mi, 0, sizeof(*mi));
	mi->id = marena_strndup(&L->arena, id, strlen(id));
	mi->id_hash = mh_hash(id, strlen(id), 7);
	mi->state_key = state_key(id, text);
	mi->org_id = in->org_id;
	mi->tlp = in->tlp;
	mi->otree = otree;
	mi->nobs = (uint16_t)(nobs > 65535 ? 65535 : nobs);
	mi->minsize = (uint16_t)minsz;
	if (maxsz > 1) {
		mi->flags |= MIND_STATEFUL;
		b->st.stateful++;
	} else if (r->kind == STIX_PATTERN_OBSERVATION) {
		mi->flags |= MIND_BARE;
	} else if (any) {
		mi->flags |= MIND_ANY;
	}
	for (size_t i = 0; i < nobs; i++) {
		sc[i].gobs = M_NONE;
		if (!sc[i].possible)
			continue;
		VEC_GROW(L->obs, L->nobs, L->obs_cap);
		sc[i].gobs = (uint32_t)L->nobs;
		L->obs[L->nobs++] = (struct mobs){
		    .ind = ind,
		    .root = sc[i].root,
		    .id = (uint16_t)(i > 65535 ? 65535 : i),
		    .flags = sc[i].exact ? MOBS_EXACT : 0,
		};
		b->st.observations++;
		if (sc[i].types != 0)
			b->st.scanned++;
		for (unsigned t = 1; t < MO_COUNT; t++) {
			if ((sc[i].types >> t) & 1) {
				VEC_GROW(L->scan[t], L->nscan[t], L->scan_cap[t]);
				L->scan[t][L->nscan[t]++] = sc[i].gobs;
			}
		}
	}
	for (size_t k = 0; k < b->nprx; k++) {
		struct pend_rx *x = &b->prx[k];
		uint32_t rid = mhs_add(&L->hs, x->rx, x->len, MHS_FLAGS, x->field, ind,
		                       x->anchor ? sc[x->lobs].gobs : M_NONE, x->obj);
		if (x->cmp != M_NONE)
			L->cmps[x->cmp].rx = rid;
	}
	for (size_t j = 0; j < b->npa; j++) {
		const struct pend_anchor *a = &b->pa[j];
		struct mpost post = {
		    .obs = sc[a->lobs].gobs,
		    .ind = ind,
		    .id = (uint16_t)(a->lobs | (sc[a->lobs].exact ? MPOST_EXACT : 0)),
		    .field = a->field,
		    .obj = a->obj,
		};
		if (a->kind == PA_HASH) {
			mhash_add(&L->hash, (enum mspace)a->vs, a->key, a->len, post);
			if (a->vs == MS_SUFFIX)
				L->suffix_labels |= 1ull << mdomain_labels((const char *)a->key, a->len);
		} else if (a->kind == PA_NET) {
			mnet_add(&L->net, a->family, a->addr, a->prefix, post);
		}
	}
	keep_literals(b, c0);
	b->st.active++;
out:
	stix_pattern_free(p);
}
