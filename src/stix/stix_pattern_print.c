/*
 * stix_pattern_print.c - the normalised printer of a parsed STIX pattern and
 * structural equality of two trees. They sit together because together they
 * keep the normal form's promise: it parses again to an equal tree.
 */
#include "stix/stix_pattern_int.h"

#include <inttypes.h>
#include <string.h>

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
	return k[n] == '\0' && !spat_is_keyword(k, n);
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

/* A kid binding no tighter than its parent gets parentheses: that keeps a
 * nested node of the same kind nested when the text is parsed again. */
static void
fmt_kid(struct buf *out, const struct stix_pattern_node *kid, int parent_prec)
{
	bool paren = node_prec(kid->kind) <= parent_prec;
	if (paren)
		buf_puts(out, "(");
	spat_fmt_node(out, kid);
	if (paren)
		buf_puts(out, ")");
}

void
spat_fmt_node(struct buf *out, const struct stix_pattern_node *n)
{
	switch (n->kind) {
	case STIX_PATTERN_OBSERVATION:
		buf_puts(out, "[");
		spat_fmt_node(out, n->kids[0]);
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
		spat_fmt_node(out, p->root);
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
