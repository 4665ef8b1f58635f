/*
 * stix_pattern.c - the STIX 2.1 patterning language: lexer, recursive
 * descent parser building the tree declared in stix.h, the normalised
 * printer and structural equality. The evaluator is stix_pattern_eval.c.
 *
 * All memory of a parsed pattern comes from one arena owned by the pattern,
 * so that an error anywhere in the middle of parsing is cleaned up by
 * freeing the arena, and walkers never need to know who owns what.
 */
#include "stix/stix.h"

#include <inttypes.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena -------------------------------------------------------------- */

#define ARENA_CHUNK_BYTES 8192

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

struct stix_pattern_arena {
	struct arena_chunk *head;
};

static void *
arena_alloc(struct stix_pattern_arena *a, size_t n)
{
	/* Sizes come from a capped input, so the rounding cannot overflow. */
	n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (n == 0)
		n = alignof(max_align_t);
	struct arena_chunk *c = a->head;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK_BYTES ? n : ARENA_CHUNK_BYTES;
		c = xmalloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

static char *
arena_strndup(struct stix_pattern_arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Grows an arena array by doubling; the old copy stays in the arena, which
 * at most doubles what the array costs. */
static void *
arena_grow(struct stix_pattern_arena *a, void *old, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return old;
	size_t ncap = *cap ? *cap * 2 : 4;
	void *p = arena_alloc(a, ncap * elem);
	if (n > 0)
		memcpy(p, old, n * elem);
	*cap = ncap;
	return p;
}

static void
arena_free(struct stix_pattern_arena *a)
{
	struct arena_chunk *c = a->head;
	while (c != NULL) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(a);
}

/* ---- lexer -------------------------------------------------------------- */

enum tok_kind {
	T_EOF,
	T_WORD, /* identifiers and keywords alike: the parser tells them apart */
	T_STRING,
	T_INT,
	T_FLOAT,
	T_BINARY,
	T_HEX,
	T_TIMESTAMP,
	T_LBRACK,
	T_RBRACK,
	T_LPAREN,
	T_RPAREN,
	T_COLON,
	T_DOT,
	T_COMMA,
	T_STAR,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
};

struct tok {
	enum tok_kind kind;
	size_t off; /* in the source */
	size_t len;
	struct stix_literal lit; /* literals, decoded */
};

/* Keywords are case-sensitive in STIX 2.1 ("within" is not WITHIN). */
static const char *const keywords[] = {
    "AND",   "OR",    "NOT",     "FOLLOWEDBY", "LIKE",  "MATCHES", "ISSUPERSET",
    "ISSUBSET", "EXISTS", "LAST", "IN",        "START", "STOP",    "SECONDS",
    "true",  "false", "WITHIN",  "REPEATS",    "TIMES",
};

struct parser {
	const char *s;
	size_t len;
	size_t pos; /* where the lexer resumes */
	struct tok cur;
	struct err *e;
	bool failed;
	int depth;
	size_t nobs;
	size_t ncmp;
	struct stix_pattern_arena *arena;
	/* Scratch stack of kids being collected for n-ary nodes. */
	struct stix_pattern_node **stk;
	size_t sp;
	size_t stk_cap;
};

static bool
is_alpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static void perr(struct parser *p, size_t off, const char *fmt, ...) CIIP_PRINTF(3, 4);

/* Only the first error counts: later ones are consequences. */
static void
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	if (p->e == NULL)
		return;
	p->e->column = (int)off + 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->e->msg, sizeof(p->e->msg), fmt, ap);
	va_end(ap);
}

/* Writes src[0..n) quoted for an error message, shortened, with bytes that
 * are not printable ASCII escaped so that messages stay one clean line. */
static void
quote_snippet(const char *src, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	const size_t max_in = 32;
	out[o++] = '\'';
	for (size_t i = 0; i < n && i < max_in && o + 8 < outlen; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (n > max_in && o + 5 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = '\0';
}

static bool
kw_equal_nocase(const char *s, size_t n, bool *exact)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(keywords); i++) {
		if (strlen(keywords[i]) == n && strncasecmp(keywords[i], s, n) == 0) {
			*exact = memcmp(keywords[i], s, n) == 0;
			return true;
		}
	}
	return false;
}

static bool
is_keyword(const char *s, size_t n)
{
	bool exact = false;
	return kw_equal_nocase(s, n, &exact) && exact;
}

/* Reports "expected <what> at column N, found <current token>". */
static void
expect_fail(struct parser *p, const char *what)
{
	char found[160];
	const struct tok *t = &p->cur;
	if (t->kind == T_EOF) {
		snprintf(found, sizeof(found), "end of input");
	} else {
		quote_snippet(p->s + t->off, t->len, found, sizeof(found));
	}
	bool exact = true;
	const char *hint = "";
	if (t->kind == T_WORD && kw_equal_nocase(p->s + t->off, t->len, &exact) && !exact)
		hint = " (keywords are case-sensitive)";
	perr(p, t->off, "expected %s at column %zu, found %s%s", what, t->off + 1, found, hint);
}

/* Length of the whitespace character at s[i], or 0. The grammar's WS rule
 * includes these Unicode spaces, encoded here in UTF-8. */
static size_t
ws_len(const char *s, size_t len, size_t i)
{
	unsigned char c = (unsigned char)s[i];
	if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f')
		return 1;
	if (c == 0xc2 && i + 1 < len) {
		unsigned char d = (unsigned char)s[i + 1];
		return (d == 0x85 || d == 0xa0) ? 2 : 0;
	}
	if (i + 2 >= len)
		return 0;
	unsigned char d = (unsigned char)s[i + 1], f = (unsigned char)s[i + 2];
	if (c == 0xe1 && d == 0x9a && f == 0x80)
		return 3; /* U+1680 */
	if (c == 0xe2 && d == 0x80 && (f <= 0x8a || f == 0xa8 || f == 0xa9 || f == 0xaf) && f >= 0x80)
		return 3; /* U+2000-200A, U+2028, U+2029, U+202F */
	if (c == 0xe2 && d == 0x81 && f == 0x9f)
		return 3; /* U+205F */
	if (c == 0xe3 && d == 0x80 && f == 0x80)
		return 3; /* U+3000 */
	return 0;
}

/* Skips whitespace and comments. */
static bool
skip_space(struct parser *p)
{
	for (;;) {
		if (p->pos >= p->len)
			return true;
		size_t w = ws_len(p->s, p->len, p->pos);
		if (w > 0) {
			p->pos += w;
			continue;
		}
		if (p->s[p->pos] == '/' && p->pos + 1 < p->len && p->s[p->pos + 1] == '*') {
			size_t start = p->pos;
			p->pos += 2;
			while (p->pos + 1 < p->len && !(p->s[p->pos] == '*' && p->s[p->pos + 1] == '/'))
				p->pos++;
			if (p->pos + 1 >= p->len) {
				perr(p, start, "unterminated comment starting at column %zu", start + 1);
				return false;
			}
			p->pos += 2;
			continue;
		}
		if (p->s[p->pos] == '/' && p->pos + 1 < p->len && p->s[p->pos + 1] == '/') {
			while (p->pos < p->len && p->s[p->pos] != '\r' && p->s[p->pos] != '\n')
				p->pos++;
			continue;
		}
		return true;
	}
}

static bool
lex_string(struct parser *p, struct tok *t)
{
	size_t start = p->pos;
	size_t i = start + 1;
	/* The unescaped text is never longer than the source. */
	size_t cap = 0;
	for (size_t j = i; j < p->len && p->s[j] != '\''; j++) {
		if (p->s[j] == '\\')
			j++;
		cap++;
	}
	char *out = arena_alloc(p->arena, cap + 1);
	size_t o = 0;
	for (;;) {
		if (i >= p->len) {
			perr(p, start, "unterminated string starting at column %zu", start + 1);
			return false;
		}
		char c = p->s[i];
		if (c == '\'')
			break;
		if (c == '\\') {
			if (i + 1 >= p->len) {
				perr(p, start, "unterminated string starting at column %zu", start + 1);
				return false;
			}
			char d = p->s[i + 1];
			if (d != '\'' && d != '\\') {
				char snip[32];
				quote_snippet(p->s + i, 2, snip, sizeof(snip));
				perr(p, i,
				     "invalid escape %s at column %zu: only \\' and \\\\ are allowed in strings",
				     snip, i + 1);
				return false;
			}
			out[o++] = d;
			i += 2;
			continue;
		}
		out[o++] = c;
		i++;
	}
	out[o] = '\0';
	t->kind = T_STRING;
	t->lit.type = STIX_LITERAL_STRING;
	t->lit.text = out;
	t->lit.text_len = o;
	p->pos = i + 1;
	return true;
}

/* Finds the closing quote of b'..', h'..' or t'..' (none of which has
 * escapes). Returns the index of the quote or 0 with an error. */
static size_t
lex_prefixed_end(struct parser *p, const char *what)
{
	size_t start = p->pos;
	for (size_t i = start + 2; i < p->len; i++) {
		if (p->s[i] == '\'')
			return i;
	}
	perr(p, start, "unterminated %s literal starting at column %zu", what, start + 1);
	return 0;
}

static bool
lex_binary(struct parser *p, struct tok *t)
{
	size_t start = p->pos;
	size_t end = lex_prefixed_end(p, "binary");
	if (end == 0)
		return false;
	const char *b = p->s + start + 2;
	size_t n = end - start - 2;
	/* The grammar wants whole groups of four with at most two '=' of
	 * padding at the very end, and at least one group. */
	size_t pad = 0;
	while (pad < n && pad < 3 && b[n - 1 - pad] == '=')
		pad++;
	bool ok = n > 0 && n % 4 == 0 && pad <= 2;
	for (size_t i = 0; ok && i < n - pad; i++)
		ok = b64_val((unsigned char)b[i]) >= 0;
	if (!ok) {
		perr(p, start, "invalid base64 in binary literal at column %zu", start + 1);
		return false;
	}
	size_t nbytes = n / 4 * 3 - pad;
	unsigned char *out = arena_alloc(p->arena, nbytes + 1);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n - pad; i++) {
		acc = (acc << 6) | (uint32_t)b64_val((unsigned char)b[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	t->kind = T_BINARY;
	t->lit.type = STIX_LITERAL_BINARY;
	t->lit.bytes = out;
	t->lit.nbytes = o;
	p->pos = end + 1;
	return true;
}

static bool
lex_hex(struct parser *p, struct tok *t)
{
	size_t start = p->pos;
	size_t end = lex_prefixed_end(p, "hex");
	if (end == 0)
		return false;
	const char *h = p->s + start + 2;
	size_t n = end - start - 2;
	bool ok = n % 2 == 0;
	for (size_t i = 0; ok && i < n; i++)
		ok = hex_val((unsigned char)h[i]) >= 0;
	if (!ok) {
		perr(p, start, "invalid hex literal at column %zu: want pairs of hex digits", start + 1);
		return false;
	}
	unsigned char *out = arena_alloc(p->arena, n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++)
		out[i] = (unsigned char)(hex_val((unsigned char)h[2 * i]) * 16 +
		                         hex_val((unsigned char)h[2 * i + 1]));
	t->kind = T_HEX;
	t->lit.type = STIX_LITERAL_HEX;
	t->lit.bytes = n > 0 ? out : NULL;
	t->lit.nbytes = n / 2;
	p->pos = end + 1;
	return true;
}

/* The grammar's TimestampLiteral: YYYY-MM-DDTHH:MM:SS(.f+)?Z, upper case T
 * and Z, in UTC. */
static bool
timestamp_shape_ok(const char *s, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	if (n < 20)
		return false;
	for (size_t i = 0; i < 19; i++) {
		if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i])
			return false;
	}
	size_t i = 19;
	if (s[i] == '.') {
		i++;
		size_t d = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == d)
			return false;
	}
	return i + 1 == n && s[i] == 'Z';
}

static bool
lex_timestamp(struct parser *p, struct tok *t)
{
	size_t start = p->pos;
	size_t end = lex_prefixed_end(p, "timestamp");
	if (end == 0)
		return false;
	size_t n = end - start - 2;
	char *text = arena_strndup(p->arena, p->s + start + 2, n);
	int64_t ms = 0;
	if (!timestamp_shape_ok(text, n) || time_parse_rfc3339(text, &ms) != 0) {
		perr(p, start,
		     "invalid timestamp at column %zu: want t'YYYY-MM-DDTHH:MM:SS[.s]Z' with a real date",
		     start + 1);
		return false;
	}
	t->kind = T_TIMESTAMP;
	t->lit.type = STIX_LITERAL_TIMESTAMP;
	t->lit.text = text;
	t->lit.text_len = n;
	t->lit.ts_ms = ms;
	p->pos = end + 1;
	return true;
}

static bool
lex_number(struct parser *p, struct tok *t)
{
	size_t start = p->pos;
	size_t i = start;
	if (p->s[i] == '+' || p->s[i] == '-')
		i++;
	size_t int_start = i;
	while (i < p->len && is_digit(p->s[i]))
		i++;
	size_t ndig = i - int_start;
	if (i + 1 < p->len && p->s[i] == '.' && is_digit(p->s[i + 1])) {
		i++;
		while (i < p->len && is_digit(p->s[i]))
			i++;
		/* Keep the text (minus '+') so that printing gives back exactly
		 * what was written: doubles do not round-trip through %g. */
		size_t skip = p->s[start] == '+' ? 1 : 0;
		char *text = arena_strndup(p->arena, p->s + start + skip, i - start - skip);
		t->kind = T_FLOAT;
		t->lit.type = STIX_LITERAL_FLOAT;
		t->lit.text = text;
		t->lit.text_len = i - start - skip;
		t->lit.f = strtod(text, NULL);
		p->pos = i;
		return true;
	}
	if (ndig == 0) {
		perr(p, start, "expected digits after '%c' at column %zu", p->s[start], start + 1);
		return false;
	}
	if (ndig > 1 && p->s[int_start] == '0') {
		perr(p, start, "integer with a leading zero at column %zu", start + 1);
		return false;
	}
	char digits[32];
	size_t n = i - start;
	int64_t v = 0;
	size_t skip = p->s[start] == '+' ? 1 : 0;
	if (n - skip >= sizeof(digits)) {
		perr(p, start, "integer out of range at column %zu", start + 1);
		return false;
	}
	memcpy(digits, p->s + start + skip, n - skip);
	digits[n - skip] = '\0';
	if (parse_int64(digits, INT64_MIN, INT64_MAX, &v) != 0) {
		perr(p, start, "integer out of range at column %zu", start + 1);
		return false;
	}
	t->kind = T_INT;
	t->lit.type = STIX_LITERAL_INT;
	t->lit.i = v;
	t->lit.f = (double)v;
	p->pos = i;
	return true;
}

/* Reads the next token into p->cur. On error p->cur is EOF and p->failed. */
static bool
advance(struct parser *p)
{
	struct tok *t = &p->cur;
	memset(t, 0, sizeof(*t));
	t->kind = T_EOF;
	if (p->failed || !skip_space(p)) {
		t->off = p->pos < p->len ? p->pos : p->len;
		return false;
	}
	t->off = p->pos;
	if (p->pos >= p->len)
		return true;
	const char *s = p->s;
	size_t i = p->pos;
	char c = s[i];
	char next = i + 1 < p->len ? s[i + 1] : '\0';
	bool ok = true;
	if ((c == 'b' || c == 'h' || c == 't') && next == '\'') {
		ok = c == 'b' ? lex_binary(p, t) : c == 'h' ? lex_hex(p, t) : lex_timestamp(p, t);
	} else if (is_alpha_((unsigned char)c)) {
		size_t j = i + 1;
		while (j < p->len && (is_alpha_((unsigned char)s[j]) || is_digit(s[j]) || s[j] == '-'))
			j++;
		t->kind = T_WORD;
		p->pos = j;
	} else if (c == '\'') {
		ok = lex_string(p, t);
	} else if (is_digit(c) || ((c == '+' || c == '-') && (is_digit(next) || next == '.')) ||
	           (c == '.' && is_digit(next))) {
		ok = lex_number(p, t);
	} else {
		size_t n = 1;
		switch (c) {
		case '[': t->kind = T_LBRACK; break;
		case ']': t->kind = T_RBRACK; break;
		case '(': t->kind = T_LPAREN; break;
		case ')': t->kind = T_RPAREN; break;
		case ':': t->kind = T_COLON; break;
		case '.': t->kind = T_DOT; break;
		case ',': t->kind = T_COMMA; break;
		case '*': t->kind = T_STAR; break;
		case '=':
			t->kind = T_EQ;
			n = next == '=' ? 2 : 1;
			break;
		case '!':
			if (next != '=') {
				ok = false;
				break;
			}
			t->kind = T_NE;
			n = 2;
			break;
		case '<':
			t->kind = next == '=' ? T_LE : next == '>' ? T_NE : T_LT;
			n = (next == '=' || next == '>') ? 2 : 1;
			break;
		case '>':
			t->kind = next == '=' ? T_GE : T_GT;
			n = next == '=' ? 2 : 1;
			break;
		default:
			ok = false;
			break;
		}
		if (!ok) {
			char snip[32];
			quote_snippet(s + i, 1, snip, sizeof(snip));
			perr(p, i, "unexpected character %s at column %zu", snip, i + 1);
		} else {
			p->pos = i + n;
		}
	}
	if (!ok) {
		memset(t, 0, sizeof(*t));
		t->kind = T_EOF;
		t->off = i;
		return false;
	}
	t->len = p->pos - t->off;
	return true;
}

/* ---- parser ------------------------------------------------------------- */

static bool
tok_is_kw(const struct parser *p, const char *kw)
{
	size_t n = strlen(kw);
	return p->cur.kind == T_WORD && p->cur.len == n && memcmp(p->s + p->cur.off, kw, n) == 0;
}

/* Consumes the current token if it has the kind, else reports "expected". */
static bool
expect(struct parser *p, enum tok_kind kind, const char *what)
{
	if (p->failed)
		return false;
	if (p->cur.kind != kind) {
		expect_fail(p, what);
		return false;
	}
	return advance(p);
}

static bool
expect_kw(struct parser *p, const char *kw)
{
	if (p->failed)
		return false;
	if (!tok_is_kw(p, kw)) {
		expect_fail(p, kw);
		return false;
	}
	return advance(p);
}

static struct stix_pattern_node *
node_new(struct parser *p, enum stix_pattern_node_kind kind, size_t off)
{
	struct stix_pattern_node *n = arena_alloc(p->arena, sizeof(*n));
	n->kind = kind;
	n->column = (int)off + 1;
	return n;
}

static void
stk_push(struct parser *p, struct stix_pattern_node *n)
{
	if (p->sp == p->stk_cap) {
		p->stk_cap = p->stk_cap ? p->stk_cap * 2 : 32;
		p->stk = xrealloc(p->stk, p->stk_cap * sizeof(*p->stk));
	}
	p->stk[p->sp++] = n;
}

/* Moves the kids pushed since mark into the arena as n's kid array. */
static void
stk_collect(struct parser *p, size_t mark, struct stix_pattern_node *n)
{
	size_t cnt = p->sp - mark;
	struct stix_pattern_node **kids = arena_alloc(p->arena, cnt * sizeof(*kids));
	memcpy(kids, p->stk + mark, cnt * sizeof(*kids));
	n->kids = kids;
	n->nkids = cnt;
	p->sp = mark;
}

static bool
depth_enter(struct parser *p)
{
	if (++p->depth > STIX_PATTERN_MAX_DEPTH) {
		perr(p, p->cur.off, "nesting deeper than %d at column %zu", STIX_PATTERN_MAX_DEPTH,
		     p->cur.off + 1);
		return false;
	}
	return true;
}

/* A property name: a WORD without '-' or a quoted string. Keywords are
 * accepted here because no other token can stand in this place; the printer
 * quotes them so other parsers, stricter on that point, accept the text. */
static const char *
parse_prop_name(struct parser *p)
{
	if (p->cur.kind == T_STRING) {
		const char *k = p->cur.lit.text;
		return advance(p) ? k : NULL;
	}
	if (p->cur.kind != T_WORD) {
		expect_fail(p, "a property name");
		return NULL;
	}
	const char *w = p->s + p->cur.off;
	if (memchr(w, '-', p->cur.len) != NULL) {
		char snip[64];
		quote_snippet(w, p->cur.len, snip, sizeof(snip));
		perr(p, p->cur.off, "property name %s at column %zu contains '-': quote it as %s", snip,
		     p->cur.off + 1, snip);
		return NULL;
	}
	const char *k = arena_strndup(p->arena, w, p->cur.len);
	return advance(p) ? k : NULL;
}

static bool
parse_path(struct parser *p, struct stix_object_path *path)
{
	if (p->cur.kind != T_WORD || is_keyword(p->s + p->cur.off, p->cur.len)) {
		expect_fail(p, "an object type");
		return false;
	}
	path->object_type = arena_strndup(p->arena, p->s + p->cur.off, p->cur.len);
	if (!advance(p) || !expect(p, T_COLON, "':'"))
		return false;
	struct stix_path_step *steps = NULL;
	size_t n = 0, cap = 0;
	const char *first = parse_prop_name(p);
	if (first == NULL)
		return false;
	steps = arena_grow(p->arena, steps, n, &cap, sizeof(*steps));
	steps[n++] = (struct stix_path_step){.kind = STIX_PATH_KEY, .key = first};
	for (;;) {
		if (p->cur.kind == T_DOT) {
			if (!advance(p))
				return false;
			const char *k = parse_prop_name(p);
			if (k == NULL)
				return false;
			steps = arena_grow(p->arena, steps, n, &cap, sizeof(*steps));
			steps[n++] = (struct stix_path_step){.kind = STIX_PATH_KEY, .key = k};
		} else if (p->cur.kind == T_LBRACK) {
			if (!advance(p))
				return false;
			struct stix_path_step st = {.kind = STIX_PATH_ANY};
			if (p->cur.kind == T_INT) {
				st.kind = STIX_PATH_INDEX;
				st.index = p->cur.lit.i;
			} else if (p->cur.kind != T_STAR) {
				expect_fail(p, "a list index or '*'");
				return false;
			}
			if (!advance(p) || !expect(p, T_RBRACK, "']'"))
				return false;
			steps = arena_grow(p->arena, steps, n, &cap, sizeof(*steps));
			steps[n++] = st;
		} else {
			break;
		}
	}
	path->steps = steps;
	path->nsteps = n;
	return true;
}

enum lit_class { LIT_PRIMITIVE, LIT_ORDERABLE, LIT_STRING };

static bool
parse_literal(struct parser *p, enum lit_class cls, struct stix_literal *out)
{
	switch (p->cur.kind) {
	case T_STRING:
		break;
	case T_INT:
	case T_FLOAT:
	case T_BINARY:
	case T_HEX:
	case T_TIMESTAMP:
		if (cls == LIT_STRING) {
			expect_fail(p, "a string literal");
			return false;
		}
		break;
	case T_WORD:
		if (cls == LIT_PRIMITIVE && (tok_is_kw(p, "true") || tok_is_kw(p, "false"))) {
			memset(out, 0, sizeof(*out));
			out->type = STIX_LITERAL_BOOL;
			out->b = tok_is_kw(p, "true");
			return advance(p);
		}
		/* fall through */
	default:
		expect_fail(p, cls == LIT_STRING      ? "a string literal"
		               : cls == LIT_ORDERABLE ? "a literal (not a boolean)"
		                                      : "a literal");
		return false;
	}
	*out = p->cur.lit;
	return advance(p);
}

static bool
parse_set(struct parser *p, struct stix_pattern_comparison *c)
{
	if (!expect(p, T_LPAREN, "'(' starting the set"))
		return false;
	struct stix_literal *set = NULL;
	size_t n = 0, cap = 0;
	if (p->cur.kind != T_RPAREN) {
		for (;;) {
			set = arena_grow(p->arena, set, n, &cap, sizeof(*set));
			if (!parse_literal(p, LIT_PRIMITIVE, &set[n]))
				return false;
			n++;
			if (p->cur.kind != T_COMMA)
				break;
			if (!advance(p))
				return false;
		}
	}
	if (!expect(p, T_RPAREN, "',' or ')'"))
		return false;
	c->set = set;
	c->nset = n;
	return true;
}

static const struct {
	const char *kw;
	enum stix_cmp_op op;
} word_ops[] = {
    {"IN", STIX_CMP_IN},
    {"LIKE", STIX_CMP_LIKE},
    {"MATCHES", STIX_CMP_MATCHES},
    {"ISSUBSET", STIX_CMP_ISSUBSET},
    {"ISSUPERSET", STIX_CMP_ISSUPERSET},
};

static bool
parse_operator(struct parser *p, enum stix_cmp_op *op)
{
	switch (p->cur.kind) {
	case T_EQ: *op = STIX_CMP_EQ; return advance(p);
	case T_NE: *op = STIX_CMP_NE; return advance(p);
	case T_LT: *op = STIX_CMP_LT; return advance(p);
	case T_LE: *op = STIX_CMP_LE; return advance(p);
	case T_GT: *op = STIX_CMP_GT; return advance(p);
	case T_GE: *op = STIX_CMP_GE; return advance(p);
	default: break;
	}
	for (size_t i = 0; i < CIIP_ARRAY_LEN(word_ops); i++) {
		if (tok_is_kw(p, word_ops[i].kw)) {
			*op = word_ops[i].op;
			return advance(p);
		}
	}
	expect_fail(p, "a comparison operator");
	return false;
}

static struct stix_pattern_node *parse_cmp_level(struct parser *p, int level);

static struct stix_pattern_node *
parse_comparison(struct parser *p)
{
	size_t off = p->cur.off;
	if (p->ncmp >= STIX_PATTERN_MAX_COMPARISONS) {
		perr(p, off, "more than %d comparisons at column %zu", STIX_PATTERN_MAX_COMPARISONS,
		     off + 1);
		return NULL;
	}
	struct stix_pattern_node *n = node_new(p, STIX_PATTERN_COMPARISON, off);
	struct stix_pattern_comparison *c = &n->cmp;
	n->id = p->ncmp++;
	if (tok_is_kw(p, "EXISTS")) {
		c->op = STIX_CMP_EXISTS;
		if (!advance(p) || !parse_path(p, &c->path))
			return NULL;
		return n;
	}
	if (!parse_path(p, &c->path))
		return NULL;
	if (tok_is_kw(p, "NOT")) {
		c->negated = true;
		if (!advance(p))
			return NULL;
	}
	if (!parse_operator(p, &c->op))
		return NULL;
	bool ok;
	switch (c->op) {
	case STIX_CMP_EQ:
	case STIX_CMP_NE: ok = parse_literal(p, LIT_PRIMITIVE, &c->value); break;
	case STIX_CMP_IN: ok = parse_set(p, c); break;
	case STIX_CMP_LIKE:
	case STIX_CMP_MATCHES:
	case STIX_CMP_ISSUBSET:
	case STIX_CMP_ISSUPERSET: ok = parse_literal(p, LIT_STRING, &c->value); break;
	default: ok = parse_literal(p, LIT_ORDERABLE, &c->value); break;
	}
	return ok ? n : NULL;
}

static struct stix_pattern_node *
parse_cmp_primary(struct parser *p)
{
	if (p->cur.kind != T_LPAREN)
		return parse_comparison(p);
	if (!depth_enter(p) || !advance(p))
		return NULL;
	struct stix_pattern_node *inner = parse_cmp_level(p, 0);
	if (inner == NULL || !expect(p, T_RPAREN, "')'"))
		return NULL;
	p->depth--;
	return inner;
}

struct level {
	const char *kw;
	enum stix_pattern_node_kind kind;
};

static const struct level cmp_levels[] = {
    {"OR", STIX_PATTERN_CMP_OR},
    {"AND", STIX_PATTERN_CMP_AND},
};

static const struct level obs_levels[] = {
    {"FOLLOWEDBY", STIX_PATTERN_OBS_FOLLOWEDBY},
    {"OR", STIX_PATTERN_OBS_OR},
    {"AND", STIX_PATTERN_OBS_AND},
};

/* One precedence level: operand (KW operand)*, as one n-ary node. The level
 * recursion is bounded by the table; nesting only grows through ( and [,
 * which depth_enter() counts. */
static struct stix_pattern_node *
parse_level(struct parser *p, const struct level *levels, int nlevels, int level,
            struct stix_pattern_node *(*operand)(struct parser *))
{
	size_t off = p->cur.off;
	struct stix_pattern_node *first =
	    level + 1 < nlevels ? parse_level(p, levels, nlevels, level + 1, operand) : operand(p);
	if (first == NULL || !tok_is_kw(p, levels[level].kw))
		return first;
	size_t mark = p->sp;
	stk_push(p, first);
	while (tok_is_kw(p, levels[level].kw)) {
		if (!advance(p))
			return NULL;
		struct stix_pattern_node *kid =
		    level + 1 < nlevels ? parse_level(p, levels, nlevels, level + 1, operand)
		                        : operand(p);
		if (kid == NULL)
			return NULL;
		stk_push(p, kid);
	}
	struct stix_pattern_node *n = node_new(p, levels[level].kind, off);
	stk_collect(p, mark, n);
	return n;
}

static struct stix_pattern_node *
parse_cmp_level(struct parser *p, int level)
{
	return parse_level(p, cmp_levels, (int)CIIP_ARRAY_LEN(cmp_levels), level, parse_cmp_primary);
}

static struct stix_pattern_node *parse_obs_qualified(struct parser *p);

static struct stix_pattern_node *
parse_obs_level(struct parser *p, int level)
{
	return parse_level(p, obs_levels, (int)CIIP_ARRAY_LEN(obs_levels), level,
	                   parse_obs_qualified);
}

static struct stix_pattern_node *
parse_obs_primary(struct parser *p)
{
	size_t off = p->cur.off;
	if (p->cur.kind == T_LBRACK) {
		if (!depth_enter(p))
			return NULL;
		struct stix_pattern_node *n = node_new(p, STIX_PATTERN_OBSERVATION, off);
		n->id = p->nobs++;
		if (!advance(p))
			return NULL;
		struct stix_pattern_node *inner = parse_cmp_level(p, 0);
		if (inner == NULL || !expect(p, T_RBRACK, "']'"))
			return NULL;
		p->depth--;
		struct stix_pattern_node **kids = arena_alloc(p->arena, sizeof(*kids));
		kids[0] = inner;
		n->kids = kids;
		n->nkids = 1;
		return n;
	}
	if (p->cur.kind == T_LPAREN) {
		if (!depth_enter(p) || !advance(p))
			return NULL;
		struct stix_pattern_node *inner = parse_obs_level(p, 0);
		if (inner == NULL || !expect(p, T_RPAREN, "')'"))
			return NULL;
		p->depth--;
		return inner;
	}
	expect_fail(p, "'[' or '('");
	return NULL;
}

static bool
parse_qualifier(struct parser *p, struct stix_pattern_qualifier *q)
{
	if (tok_is_kw(p, "WITHIN")) {
		q->kind = STIX_QUALIFIER_WITHIN;
		if (!advance(p))
			return false;
		bool num = p->cur.kind == T_INT || p->cur.kind == T_FLOAT;
		if (!num || p->s[p->cur.off] == '-' || !(p->cur.lit.f > 0)) {
			expect_fail(p, "a positive number of seconds");
			return false;
		}
		q->within = p->cur.lit;
		return advance(p) && expect_kw(p, "SECONDS");
	}
	if (tok_is_kw(p, "REPEATS")) {
		q->kind = STIX_QUALIFIER_REPEATS;
		if (!advance(p))
			return false;
		if (p->cur.kind != T_INT || p->s[p->cur.off] == '-' || p->cur.lit.i < 1) {
			expect_fail(p, "a repeat count of at least 1");
			return false;
		}
		q->repeats = p->cur.lit.i;
		return advance(p) && expect_kw(p, "TIMES");
	}
	q->kind = STIX_QUALIFIER_START_STOP;
	if (!advance(p))
		return false;
	if (p->cur.kind != T_TIMESTAMP) {
		expect_fail(p, "a timestamp t'...' after START");
		return false;
	}
	q->start = p->cur.lit;
	if (!advance(p) || !expect_kw(p, "STOP"))
		return false;
	if (p->cur.kind != T_TIMESTAMP) {
		expect_fail(p, "a timestamp t'...' after STOP");
		return false;
	}
	q->stop = p->cur.lit;
	return advance(p);
}

static bool
at_qualifier(const struct parser *p)
{
	return tok_is_kw(p, "WITHIN") || tok_is_kw(p, "REPEATS") || tok_is_kw(p, "START");
}

static struct stix_pattern_node *
parse_obs_qualified(struct parser *p)
{
	size_t off = p->cur.off;
	struct stix_pattern_node *prim = parse_obs_primary(p);
	if (prim == NULL || !at_qualifier(p))
		return prim;
	struct stix_pattern_qualifier *quals = NULL;
	size_t n = 0, cap = 0;
	unsigned seen = 0;
	while (at_qualifier(p)) {
		size_t qoff = p->cur.off;
		quals = arena_grow(p->arena, quals, n, &cap, sizeof(*quals));
		if (!parse_qualifier(p, &quals[n]))
			return NULL;
		/* As cti-pattern-validator: one chain may not repeat a qualifier
		 * kind ("WITHIN 5 SECONDS WITHIN 6 SECONDS"); nesting in
		 * parentheses says what was meant. */
		unsigned bit = 1u << quals[n].kind;
		if (seen & bit) {
			static const char *const names[] = {"WITHIN", "REPEATS", "START/STOP"};
			perr(p, qoff, "duplicate %s qualifier at column %zu", names[quals[n].kind],
			     qoff + 1);
			return NULL;
		}
		seen |= bit;
		n++;
	}
	struct stix_pattern_node *q = node_new(p, STIX_PATTERN_QUALIFIED, off);
	struct stix_pattern_node **kids = arena_alloc(p->arena, sizeof(*kids));
	kids[0] = prim;
	q->kids = kids;
	q->nkids = 1;
	q->quals = quals;
	q->nquals = n;
	return q;
}

static void fmt_node(struct buf *out, const struct stix_pattern_node *n);

struct stix_pattern *
stix_pattern_parse(const char *text, size_t len, struct err *e)
{
	if (text == NULL)
		len = 0;
	if (len > STIX_PATTERN_MAX_BYTES) {
		err_set(e, "pattern is longer than %d bytes", STIX_PATTERN_MAX_BYTES);
		if (e)
			e->column = STIX_PATTERN_MAX_BYTES + 1;
		return NULL;
	}
	/* Every string in the tree is a C string, so NUL cannot be data. */
	const char *nul = len > 0 ? memchr(text, '\0', len) : NULL;
	if (nul != NULL) {
		err_set(e, "unexpected NUL byte at column %zu", (size_t)(nul - text) + 1);
		if (e)
			e->column = (int)(nul - text) + 1;
		return NULL;
	}
	struct parser p = {
	    .s = len > 0 ? text : "",
	    .len = len,
	    .e = e,
	    .arena = xcalloc(1, sizeof(struct stix_pattern_arena)),
	};
	struct stix_pattern *pat = arena_alloc(p.arena, sizeof(*pat));
	pat->arena = p.arena;
	if (advance(&p)) {
		pat->root = parse_obs_level(&p, 0);
		if (pat->root != NULL && p.cur.kind != T_EOF)
			expect_fail(&p, "AND, OR, FOLLOWEDBY, a qualifier or end of input");
	}
	free(p.stk);
	if (!p.failed) {
		/* The normal form adds spaces ("a:b=1" prints "a:b = 1"), so text
		 * near the limit could print to more than this parser accepts.
		 * Refusing it here keeps the promise that every normal form
		 * parses again (found by fuzz_stix_pattern). */
		struct buf nf = {0};
		fmt_node(&nf, pat->root);
		if (nf.len > STIX_PATTERN_MAX_BYTES)
			perr(&p, 0, "normal form of the pattern is longer than %d bytes (%zu)",
			     STIX_PATTERN_MAX_BYTES, nf.len);
		buf_free(&nf);
	}
	if (p.failed) {
		arena_free(p.arena);
		return NULL;
	}
	pat->n_observations = p.nobs;
	pat->n_comparisons = p.ncmp;
	return pat;
}

void
stix_pattern_free(struct stix_pattern *p)
{
	if (p != NULL)
		arena_free(p->arena);
}

/* ---- printer ------------------------------------------------------------ */

const char *
stix_cmp_op_name(enum stix_cmp_op op)
{
	switch (op) {
	case STIX_CMP_EQ: return "=";
	case STIX_CMP_NE: return "!=";
	case STIX_CMP_LT: return "<";
	case STIX_CMP_LE: return "<=";
	case STIX_CMP_GT: return ">";
	case STIX_CMP_GE: return ">=";
	case STIX_CMP_IN: return "IN";
	case STIX_CMP_LIKE: return "LIKE";
	case STIX_CMP_MATCHES: return "MATCHES";
	case STIX_CMP_ISSUBSET: return "ISSUBSET";
	case STIX_CMP_ISSUPERSET: return "ISSUPERSET";
	case STIX_CMP_EXISTS: return "EXISTS";
	}
	return "?";
}

static void
fmt_quoted(struct buf *out, const char *s, size_t n)
{
	buf_puts(out, "'");
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'' || s[i] == '\\') {
			buf_append(out, s + run, i - run);
			buf_append(out, "\\", 1);
			run = i;
		}
	}
	buf_append(out, s + run, n - run);
	buf_puts(out, "'");
}

static void
fmt_literal(struct buf *out, const struct stix_literal *l)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	switch (l->type) {
	case STIX_LITERAL_STRING: fmt_quoted(out, l->text, l->text_len); break;
	case STIX_LITERAL_INT: buf_printf(out, "%" PRId64, l->i); break;
	case STIX_LITERAL_FLOAT: buf_puts(out, l->text); break;
	case STIX_LITERAL_BOOL: buf_puts(out, l->b ? "true" : "false"); break;
	case STIX_LITERAL_TIMESTAMP: buf_printf(out, "t'%s'", l->text); break;
	case STIX_LITERAL_HEX:
		buf_puts(out, "h'");
		for (size_t i = 0; i < l->nbytes; i++)
			buf_printf(out, "%02x", l->bytes[i]);
		buf_puts(out, "'");
		break;
	case STIX_LITERAL_BINARY:
		buf_puts(out, "b'");
		for (size_t i = 0; i < l->nbytes; i += 3) {
			uint32_t v = (uint32_t)l->bytes[i] << 16;
			size_t rem = l->nbytes - i;
			if (rem > 1)
				v |= (uint32_t)l->bytes[i + 1] << 8;
			if (rem > 2)
				v |= l->bytes[i + 2];
			char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
			             rem > 1 ? b64[(v >> 6) & 63] : '=', rem > 2 ? b64[v & 63] : '='};
			buf_append(out, q, 4);
		}
		buf_puts(out, "'");
		break;
	}
}

static bool
key_is_bare(const char *k)
{
	if (!is_alpha_((unsigned char)k[0]))
		return false;
	size_t n = 1;
	while (is_alpha_((unsigned char)k[n]) || is_digit(k[n]))
		n++;
	return k[n] == '\0' && !is_keyword(k, n);
}

static void
fmt_path(struct buf *out, const struct stix_object_path *path)
{
	buf_printf(out, "%s:", path->object_type);
	for (size_t i = 0; i < path->nsteps; i++) {
		const struct stix_path_step *st = &path->steps[i];
		switch (st->kind) {
		case STIX_PATH_KEY:
			if (i > 0)
				buf_puts(out, ".");
			if (key_is_bare(st->key))
				buf_puts(out, st->key);
			else
				fmt_quoted(out, st->key, strlen(st->key));
			break;
		case STIX_PATH_INDEX: buf_printf(out, "[%" PRId64 "]", st->index); break;
		case STIX_PATH_ANY: buf_puts(out, "[*]"); break;
		}
	}
}

static void
fmt_comparison(struct buf *out, const struct stix_pattern_comparison *c)
{
	if (c->op == STIX_CMP_EXISTS) {
		buf_puts(out, "EXISTS ");
		fmt_path(out, &c->path);
		return;
	}
	fmt_path(out, &c->path);
	buf_printf(out, " %s%s ", c->negated ? "NOT " : "", stix_cmp_op_name(c->op));
	if (c->op != STIX_CMP_IN) {
		fmt_literal(out, &c->value);
		return;
	}
	buf_puts(out, "(");
	for (size_t i = 0; i < c->nset; i++) {
		if (i > 0)
			buf_puts(out, ", ");
		fmt_literal(out, &c->set[i]);
	}
	buf_puts(out, ")");
}

/* Binding strength, observation and comparison levels counted apart. */
static int
node_prec(enum stix_pattern_node_kind k)
{
	switch (k) {
	case STIX_PATTERN_OBS_FOLLOWEDBY: return 1;
	case STIX_PATTERN_OBS_OR: return 2;
	case STIX_PATTERN_OBS_AND: return 3;
	case STIX_PATTERN_QUALIFIED: return 4;
	case STIX_PATTERN_OBSERVATION: return 5;
	case STIX_PATTERN_CMP_OR: return 1;
	case STIX_PATTERN_CMP_AND: return 2;
	case STIX_PATTERN_COMPARISON: return 3;
	}
	return 0;
}

static const char *
node_keyword(enum stix_pattern_node_kind k)
{
	switch (k) {
	case STIX_PATTERN_OBS_FOLLOWEDBY: return "FOLLOWEDBY";
	case STIX_PATTERN_OBS_OR:
	case STIX_PATTERN_CMP_OR: return "OR";
	case STIX_PATTERN_OBS_AND:
	case STIX_PATTERN_CMP_AND: return "AND";
	default: return "";
	}
}

static void fmt_node(struct buf *out, const struct stix_pattern_node *n);

/* A kid binding no tighter than its parent gets parentheses: that keeps a
 * nested node of the same kind nested when the text is parsed again. */
static void
fmt_kid(struct buf *out, const struct stix_pattern_node *kid, int parent_prec)
{
	bool paren = node_prec(kid->kind) <= parent_prec;
	if (paren)
		buf_puts(out, "(");
	fmt_node(out, kid);
	if (paren)
		buf_puts(out, ")");
}

static void
fmt_node(struct buf *out, const struct stix_pattern_node *n)
{
	switch (n->kind) {
	case STIX_PATTERN_OBSERVATION:
		buf_puts(out, "[");
		fmt_node(out, n->kids[0]);
		buf_puts(out, "]");
		return;
	case STIX_PATTERN_COMPARISON: fmt_comparison(out, &n->cmp); return;
	case STIX_PATTERN_QUALIFIED:
		fmt_kid(out, n->kids[0], node_prec(n->kind));
		for (size_t i = 0; i < n->nquals; i++) {
			const struct stix_pattern_qualifier *q = &n->quals[i];
			switch (q->kind) {
			case STIX_QUALIFIER_WITHIN:
				buf_puts(out, " WITHIN ");
				fmt_literal(out, &q->within);
				buf_puts(out, " SECONDS");
				break;
			case STIX_QUALIFIER_REPEATS:
				buf_printf(out, " REPEATS %" PRId64 " TIMES", q->repeats);
				break;
			case STIX_QUALIFIER_START_STOP:
				buf_puts(out, " START ");
				fmt_literal(out, &q->start);
				buf_puts(out, " STOP ");
				fmt_literal(out, &q->stop);
				break;
			}
		}
		return;
	default:
		for (size_t i = 0; i < n->nkids; i++) {
			if (i > 0)
				buf_printf(out, " %s ", node_keyword(n->kind));
			fmt_kid(out, n->kids[i], node_prec(n->kind));
		}
		return;
	}
}

void
stix_pattern_format(const struct stix_pattern *p, struct buf *out)
{
	if (p != NULL && p->root != NULL)
		fmt_node(out, p->root);
}

/* ---- equality ----------------------------------------------------------- */

static bool
literal_equal(const struct stix_literal *a, const struct stix_literal *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case STIX_LITERAL_STRING:
	case STIX_LITERAL_FLOAT:
	case STIX_LITERAL_TIMESTAMP:
		return a->text_len == b->text_len && memcmp(a->text, b->text, a->text_len) == 0;
	case STIX_LITERAL_INT: return a->i == b->i;
	case STIX_LITERAL_BOOL: return a->b == b->b;
	case STIX_LITERAL_BINARY:
	case STIX_LITERAL_HEX:
		return a->nbytes == b->nbytes &&
		       (a->nbytes == 0 || memcmp(a->bytes, b->bytes, a->nbytes) == 0);
	}
	return false;
}

static bool
path_equal(const struct stix_object_path *a, const struct stix_object_path *b)
{
	if (strcmp(a->object_type, b->object_type) != 0 || a->nsteps != b->nsteps)
		return false;
	for (size_t i = 0; i < a->nsteps; i++) {
		const struct stix_path_step *x = &a->steps[i], *y = &b->steps[i];
		if (x->kind != y->kind)
			return false;
		if (x->kind == STIX_PATH_KEY && strcmp(x->key, y->key) != 0)
			return false;
		if (x->kind == STIX_PATH_INDEX && x->index != y->index)
			return false;
	}
	return true;
}

static bool
qualifier_equal(const struct stix_pattern_qualifier *a, const struct stix_pattern_qualifier *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case STIX_QUALIFIER_WITHIN: return literal_equal(&a->within, &b->within);
	case STIX_QUALIFIER_REPEATS: return a->repeats == b->repeats;
	case STIX_QUALIFIER_START_STOP:
		return literal_equal(&a->start, &b->start) && literal_equal(&a->stop, &b->stop);
	}
	return false;
}

static bool
node_equal(const struct stix_pattern_node *a, const struct stix_pattern_node *b)
{
	if (a->kind != b->kind || a->nkids != b->nkids || a->nquals != b->nquals)
		return false;
	for (size_t i = 0; i < a->nquals; i++) {
		if (!qualifier_equal(&a->quals[i], &b->quals[i]))
			return false;
	}
	if (a->kind == STIX_PATTERN_COMPARISON) {
		const struct stix_pattern_comparison *x = &a->cmp, *y = &b->cmp;
		if (x->op != y->op || x->negated != y->negated || !path_equal(&x->path, &y->path))
			return false;
		if (x->op == STIX_CMP_EXISTS)
			return true;
		if (x->op != STIX_CMP_IN)
			return literal_equal(&x->value, &y->value);
		if (x->nset != y->nset)
			return false;
		for (size_t i = 0; i < x->nset; i++) {
			if (!literal_equal(&x->set[i], &y->set[i]))
				return false;
		}
		return true;
	}
	for (size_t i = 0; i < a->nkids; i++) {
		if (!node_equal(a->kids[i], b->kids[i]))
			return false;
	}
	return true;
}

bool
stix_pattern_equal(const struct stix_pattern *a, const struct stix_pattern *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->n_observations == b->n_observations && a->n_comparisons == b->n_comparisons &&
	       node_equal(a->root, b->root);
}
