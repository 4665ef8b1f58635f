/*
 * stix_pattern_int.h - what the pattern lexer (stix_pattern_lex.c), parser
 * (stix_pattern.c) and printer (stix_pattern_print.c) share: the token and
 * parser state, the arena allocator and the few helpers more than one of
 * them calls. None of it is API: stix.h is.
 */
#ifndef CIIP_STIX_PATTERN_INT_H
#define CIIP_STIX_PATTERN_INT_H

#include "stix/stix.h"

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

static inline bool
is_alpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The arena all of a pattern lives in (stix_pattern.c); memory comes back
 * zeroed and is freed only with the whole pattern. */
void *spat_arena_alloc(struct stix_pattern_arena *a, size_t n);
char *spat_arena_strndup(struct stix_pattern_arena *a, const char *s, size_t n);

/* Error reporting (stix_pattern_lex.c): spat_perr() fills p->e and sets
 * p->failed; spat_expect_fail() reports what was wanted against p->cur. */
void spat_perr(struct parser *p, size_t off, const char *fmt, ...) CIIP_PRINTF(3, 4);
void spat_quote_snippet(const char *src, size_t n, char *out, size_t outlen);
void spat_expect_fail(struct parser *p, const char *what);

/* True for the exact spelling of a keyword (stix_pattern_lex.c). */
bool spat_is_keyword(const char *s, size_t n);

/* Reads the next token into p->cur (stix_pattern_lex.c). */
bool spat_advance(struct parser *p);

/* Appends the normal form of n (stix_pattern_print.c). */
void spat_fmt_node(struct buf *out, const struct stix_pattern_node *n);

#endif
