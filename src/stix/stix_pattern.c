/*
 * stix_pattern.c - the STIX 2.1 patterning language: recursive descent
 * parser building the tree declared in stix.h, and the arena that tree lives
 * in. The lexer is stix_pattern_lex.c, the normalised printer and structural
 * equality stix_pattern_print.c, the evaluator stix_pattern_eval.c.
 *
 * All memory of a parsed pattern comes from one arena owned by the pattern,
 * so that an error anywhere in the middle of parsing is cleaned up by
 * freeing the arena, and walkers never need to know who owns what.
 */
#include "stix/stix_pattern_int.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

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

void *
spat_arena_alloc(struct stix_pattern_arena *a, size_t n)
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

char *
spat_arena_strndup(struct stix_pattern_arena *a, const char *s, size_t n)
{
	char *d = spat_arena_alloc(a, n + 1);
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
	void *p = spat_arena_alloc(a, ncap * elem);
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
		spat_expect_fail(p, what);
		return false;
	}
	return spat_advance(p);
}

static bool
expect_kw(struct parser *p, const char *kw)
{
	if (p->failed)
		return false;
	if (!tok_is_kw(p, kw)) {
		spat_expect_fail(p, kw);
		return false;
	}
	return spat_advance(p);
}

static struct stix_pattern_node *
node_new(struct parser *p, enum stix_pattern_node_kind kind, size_t off)
{
	struct stix_pattern_node *n = spat_arena_alloc(p->arena, sizeof(*n));
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
	struct stix_pattern_node **kids = spat_arena_alloc(p->arena, cnt * sizeof(*kids));
	memcpy(kids, p->stk + mark, cnt * sizeof(*kids));
	n->kids = kids;
	n->nkids = cnt;
	p->sp = mark;
}

static bool
depth_enter(struct parser *p)
{
	if (++p->depth > STIX_PATTERN_MAX_DEPTH) {
		spat_perr(p, p->cur.off, "nesting deeper than %d at column %zu", STIX_PATTERN_MAX_DEPTH,
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
		return spat_advance(p) ? k : NULL;
	}
	if (p->cur.kind != T_WORD) {
		spat_expect_fail(p, "a property name");
		return NULL;
	}
	const char *w = p->s + p->cur.off;
	if (memchr(w, '-', p->cur.len) != NULL) {
		char snip[64];
		spat_quote_snippet(w, p->cur.len, snip, sizeof(snip));
		spat_perr(p, p->cur.off, "property name %s at column %zu contains '-': quote it as %s",
		          snip, p->cur.off + 1, snip);
		return NULL;
	}
	const char *k = spat_arena_strndup(p->arena, w, p->cur.len);
	return spat_advance(p) ? k : NULL;
}

static bool
parse_path(struct parser *p, struct stix_object_path *path)
{
	if (p->cur.kind != T_WORD || spat_is_keyword(p->s + p->cur.off, p->cur.len)) {
		spat_expect_fail(p, "an object type");
		return false;
	}
	path->object_type = spat_arena_strndup(p->arena, p->s + p->cur.off, p->cur.len);
	if (!spat_advance(p) || !expect(p, T_COLON, "':'"))
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
			if (!spat_advance(p))
				return false;
			const char *k = parse_prop_name(p);
			if (k == NULL)
				return false;
			steps = arena_grow(p->arena, steps, n, &cap, sizeof(*steps));
			steps[n++] = (struct stix_path_step){.kind = STIX_PATH_KEY, .key = k};
		} else if (p->cur.kind == T_LBRACK) {
			if (!spat_advance(p))
				return false;
			struct stix_path_step st = {.kind = STIX_PATH_ANY};
			if (p->cur.kind == T_INT) {
				st.kind = STIX_PATH_INDEX;
				st.index = p->cur.lit.i;
			} else if (p->cur.kind != T_STAR) {
				spat_expect_fail(p, "a list index or '*'");
				return false;
			}
			if (!spat_advance(p) || !expect(p, T_RBRACK, "']'"))
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
			spat_expect_fail(p, "a string literal");
			return false;
		}
		break;
	case T_WORD:
		if (cls == LIT_PRIMITIVE && (tok_is_kw(p, "true") || tok_is_kw(p, "false"))) {
			memset(out, 0, sizeof(*out));
			out->type = STIX_LITERAL_BOOL;
			out->b = tok_is_kw(p, "true");
			return spat_advance(p);
		}
		/* fall through */
	default:
		spat_expect_fail(p, cls == LIT_STRING      ? "a string literal"
		               : cls == LIT_ORDERABLE ? "a literal (not a boolean)"
		                                      : "a literal");
		return false;
	}
	*out = p->cur.lit;
	return spat_advance(p);
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
			if (!spat_advance(p))
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
	case T_EQ: *op = STIX_CMP_EQ; return spat_advance(p);
	case T_NE: *op = STIX_CMP_NE; return spat_advance(p);
	case T_LT: *op = STIX_CMP_LT; return spat_advance(p);
	case T_LE: *op = STIX_CMP_LE; return spat_advance(p);
	case T_GT: *op = STIX_CMP_GT; return spat_advance(p);
	case T_GE: *op = STIX_CMP_GE; return spat_advance(p);
	default: break;
	}
	for (size_t i = 0; i < CIIP_ARRAY_LEN(word_ops); i++) {
		if (tok_is_kw(p, word_ops[i].kw)) {
			*op = word_ops[i].op;
			return spat_advance(p);
		}
	}
	spat_expect_fail(p, "a comparison operator");
	return false;
}

static struct stix_pattern_node *parse_cmp_level(struct parser *p, int level);

static struct stix_pattern_node *
parse_comparison(struct parser *p)
{
	size_t off = p->cur.off;
	if (p->ncmp >= STIX_PATTERN_MAX_COMPARISONS) {
		spat_perr(p, off, "more than %d comparisons at column %zu", STIX_PATTERN_MAX_COMPARISONS,
		          off + 1);
		return NULL;
	}
	struct stix_pattern_node *n = node_new(p, STIX_PATTERN_COMPARISON, off);
	struct stix_pattern_comparison *c = &n->cmp;
	n->id = p->ncmp++;
	if (tok_is_kw(p, "EXISTS")) {
		c->op = STIX_CMP_EXISTS;
		if (!spat_advance(p) || !parse_path(p, &c->path))
			return NULL;
		return n;
	}
	if (!parse_path(p, &c->path))
		return NULL;
	if (tok_is_kw(p, "NOT")) {
		c->negated = true;
		if (!spat_advance(p))
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
	if (!depth_enter(p) || !spat_advance(p))
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
		if (!spat_advance(p))
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
		if (!spat_advance(p))
			return NULL;
		struct stix_pattern_node *inner = parse_cmp_level(p, 0);
		if (inner == NULL || !expect(p, T_RBRACK, "']'"))
			return NULL;
		p->depth--;
		struct stix_pattern_node **kids = spat_arena_alloc(p->arena, sizeof(*kids));
		kids[0] = inner;
		n->kids = kids;
		n->nkids = 1;
		return n;
	}
	if (p->cur.kind == T_LPAREN) {
		if (!depth_enter(p) || !spat_advance(p))
			return NULL;
		struct stix_pattern_node *inner = parse_obs_level(p, 0);
		if (inner == NULL || !expect(p, T_RPAREN, "')'"))
			return NULL;
		p->depth--;
		return inner;
	}
	spat_expect_fail(p, "'[' or '('");
	return NULL;
}

static bool
parse_qualifier(struct parser *p, struct stix_pattern_qualifier *q)
{
	if (tok_is_kw(p, "WITHIN")) {
		q->kind = STIX_QUALIFIER_WITHIN;
		if (!spat_advance(p))
			return false;
		bool num = p->cur.kind == T_INT || p->cur.kind == T_FLOAT;
		if (!num || p->s[p->cur.off] == '-' || !(p->cur.lit.f > 0)) {
			spat_expect_fail(p, "a positive number of seconds");
			return false;
		}
		q->within = p->cur.lit;
		return spat_advance(p) && expect_kw(p, "SECONDS");
	}
	if (tok_is_kw(p, "REPEATS")) {
		q->kind = STIX_QUALIFIER_REPEATS;
		if (!spat_advance(p))
			return false;
		if (p->cur.kind != T_INT || p->s[p->cur.off] == '-' || p->cur.lit.i < 1) {
			spat_expect_fail(p, "a repeat count of at least 1");
			return false;
		}
		q->repeats = p->cur.lit.i;
		return spat_advance(p) && expect_kw(p, "TIMES");
	}
	q->kind = STIX_QUALIFIER_START_STOP;
	if (!spat_advance(p))
		return false;
	if (p->cur.kind != T_TIMESTAMP) {
		spat_expect_fail(p, "a timestamp t'...' after START");
		return false;
	}
	q->start = p->cur.lit;
	if (!spat_advance(p) || !expect_kw(p, "STOP"))
		return false;
	if (p->cur.kind != T_TIMESTAMP) {
		spat_expect_fail(p, "a timestamp t'...' after STOP");
		return false;
	}
	q->stop = p->cur.lit;
	return spat_advance(p);
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
			spat_perr(p, qoff, "duplicate %s qualifier at column %zu", names[quals[n].kind],
			          qoff + 1);
			return NULL;
		}
		seen |= bit;
		n++;
	}
	struct stix_pattern_node *q = node_new(p, STIX_PATTERN_QUALIFIED, off);
	struct stix_pattern_node **kids = spat_arena_alloc(p->arena, sizeof(*kids));
	kids[0] = prim;
	q->kids = kids;
	q->nkids = 1;
	q->quals = quals;
	q->nquals = n;
	return q;
}

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
	struct stix_pattern *pat = spat_arena_alloc(p.arena, sizeof(*pat));
	pat->arena = p.arena;
	if (spat_advance(&p)) {
		pat->root = parse_obs_level(&p, 0);
		if (pat->root != NULL && p.cur.kind != T_EOF)
			spat_expect_fail(&p, "AND, OR, FOLLOWEDBY, a qualifier or end of input");
	}
	free(p.stk);
	if (!p.failed) {
		/* The normal form adds spaces ("a:b=1" prints "a:b = 1"), so text
		 * near the limit could print to more than this parser accepts.
		 * Refusing it here keeps the promise that every normal form
		 * parses again (found by fuzz_stix_pattern). */
		struct buf nf = {0};
		spat_fmt_node(&nf, pat->root);
		if (nf.len > STIX_PATTERN_MAX_BYTES)
			spat_perr(&p, 0, "normal form of the pattern is longer than %d bytes (%zu)",
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

