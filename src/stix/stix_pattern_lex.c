/*
 * stix_pattern_lex.c - the lexer of the STIX 2.1 patterning language and the
 * parser's error reporting. Literals are decoded as they are read (strings
 * unescaped, binary and hex to bytes, timestamps checked), so the parser
 * only ever sees finished values and an error points at the column where the
 * bad text starts.
 */
#include "stix/stix_pattern_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Keywords are case-sensitive in STIX 2.1 ("within" is not WITHIN). */
static const char *const keywords[] = {
    "AND",   "OR",    "NOT",     "FOLLOWEDBY", "LIKE",  "MATCHES", "ISSUPERSET",
    "ISSUBSET", "EXISTS", "LAST", "IN",        "START", "STOP",    "SECONDS",
    "true",  "false", "WITHIN",  "REPEATS",    "TIMES",
};

/* Only the first error counts: later ones are consequences. */
void
spat_perr(struct parser *p, size_t off, const char *fmt, ...)
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
void
spat_quote_snippet(const char *src, size_t n, char *out, size_t outlen)
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

bool
spat_is_keyword(const char *s, size_t n)
{
	bool exact = false;
	return kw_equal_nocase(s, n, &exact) && exact;
}

/* Reports "expected <what> at column N, found <current token>". */
void
spat_expect_fail(struct parser *p, const char *what)
{
	char found[160];
	const struct tok *t = &p->cur;
	if (t->kind == T_EOF) {
		snprintf(found, sizeof(found), "end of input");
	} else {
		spat_quote_snippet(p->s + t->off, t->len, found, sizeof(found));
	}
	bool exact = true;
	const char *hint = "";
	if (t->kind == T_WORD && kw_equal_nocase(p->s + t->off, t->len, &exact) && !exact)
		hint = " (keywords are case-sensitive)";
	spat_perr(p, t->off, "expected %s at column %zu, found %s%s", what, t->off + 1, found, hint);
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
				spat_perr(p, start, "unterminated comment starting at column %zu", start + 1);
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
	char *out = spat_arena_alloc(p->arena, cap + 1);
	size_t o = 0;
	for (;;) {
		if (i >= p->len) {
			spat_perr(p, start, "unterminated string starting at column %zu", start + 1);
			return false;
		}
		char c = p->s[i];
		if (c == '\'')
			break;
		if (c == '\\') {
			if (i + 1 >= p->len) {
				spat_perr(p, start, "unterminated string starting at column %zu", start + 1);
				return false;
			}
			char d = p->s[i + 1];
			if (d != '\'' && d != '\\') {
				char snip[32];
				spat_quote_snippet(p->s + i, 2, snip, sizeof(snip));
				spat_perr(p, i,
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
	spat_perr(p, start, "unterminated %s literal starting at column %zu", what, start + 1);
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
		ok = base64_digit((unsigned char)b[i]) >= 0;
	if (!ok) {
		spat_perr(p, start, "invalid base64 in binary literal at column %zu", start + 1);
		return false;
	}
	size_t nbytes = n / 4 * 3 - pad;
	unsigned char *out = spat_arena_alloc(p->arena, nbytes + 1);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n - pad; i++) {
		acc = (acc << 6) | (uint32_t)base64_digit((unsigned char)b[i]);
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
		ok = hex_digit((unsigned char)h[i]) >= 0;
	if (!ok) {
		spat_perr(p, start, "invalid hex literal at column %zu: want pairs of hex digits",
		          start + 1);
		return false;
	}
	unsigned char *out = spat_arena_alloc(p->arena, n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++)
		out[i] = (unsigned char)(hex_digit((unsigned char)h[2 * i]) * 16 +
		                         hex_digit((unsigned char)h[2 * i + 1]));
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
	char *text = spat_arena_strndup(p->arena, p->s + start + 2, n);
	int64_t ms = 0;
	if (!timestamp_shape_ok(text, n) || time_parse_rfc3339(text, &ms) != 0) {
		spat_perr(p, start,
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
		char *text = spat_arena_strndup(p->arena, p->s + start + skip, i - start - skip);
		t->kind = T_FLOAT;
		t->lit.type = STIX_LITERAL_FLOAT;
		t->lit.text = text;
		t->lit.text_len = i - start - skip;
		t->lit.f = strtod(text, NULL);
		p->pos = i;
		return true;
	}
	if (ndig == 0) {
		spat_perr(p, start, "expected digits after '%c' at column %zu", p->s[start], start + 1);
		return false;
	}
	if (ndig > 1 && p->s[int_start] == '0') {
		spat_perr(p, start, "integer with a leading zero at column %zu", start + 1);
		return false;
	}
	char digits[32];
	size_t n = i - start;
	int64_t v = 0;
	size_t skip = p->s[start] == '+' ? 1 : 0;
	if (n - skip >= sizeof(digits)) {
		spat_perr(p, start, "integer out of range at column %zu", start + 1);
		return false;
	}
	memcpy(digits, p->s + start + skip, n - skip);
	digits[n - skip] = '\0';
	if (parse_int64(digits, INT64_MIN, INT64_MAX, &v) != 0) {
		spat_perr(p, start, "integer out of range at column %zu", start + 1);
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
bool
spat_advance(struct parser *p)
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
			spat_quote_snippet(s + i, 1, snip, sizeof(snip));
			spat_perr(p, i, "unexpected character %s at column %zu", snip, i + 1);
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
