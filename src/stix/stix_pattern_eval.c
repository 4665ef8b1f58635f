/*
 * stix_pattern_eval.c - the reference evaluator of STIX patterns against
 * observed-data, following the semantics of oasis-open/cti-pattern-matcher.
 *
 * It works in two phases. First every observation expression [ ... ] is
 * tested against every observation: it matches when one cyber-observable
 * object of the observation satisfies the whole comparison expression (AND
 * inside brackets means "the same object"). Then the observation operators
 * and qualifiers are computed bottom-up over "bindings": multisets of
 * observations that together satisfy a sub-pattern, each with the latest
 * first_observed and earliest last_observed of its members, which is all
 * FOLLOWEDBY, WITHIN and START/STOP need to know.
 *
 * Bindings are multisets rather than lists of observation instances so that
 * an observation seen k times (number_observed) does not multiply the search
 * by k!: it may simply appear up to k times. Every list is deduplicated and
 * capped, and all work draws on one step budget, so no input can make the
 * evaluation explode; if a cap cut something off and nothing matched, the
 * answer is "unknown" (-1), never a wrong "no".
 */
#include "stix/stix.h"

#include <arpa/inet.h>
#include <assert.h>
#include <hs.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct regex {
	hs_database_t *db_str;   /* for string values: UTF-8 */
	hs_database_t *db_bytes; /* for binary values: the regex as Latin-1 */
	bool compiled;
	bool bytes_ok; /* the regex has only code points < 256 */
};

struct eval {
	const struct stix_observation *obs;
	size_t n;
	int64_t steps_left;
	bool failed;
	bool truncated; /* some binding list hit STIX_EVAL_MAX_BINDINGS */
	struct stix_eval_result *res;
	int64_t *mult; /* how often each observation may be used in one binding */
	struct regex *re; /* per comparison id */
	hs_scratch_t *scratch;
};

static void efail(struct eval *e, const char *fmt, ...) CIIP_PRINTF(2, 3);

static void
efail(struct eval *e, const char *fmt, ...)
{
	if (e->failed)
		return;
	e->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->res->error, sizeof(e->res->error), fmt, ap);
	va_end(ap);
}

/* Spends one unit of the budget; false once it is gone. */
static bool
step(struct eval *e)
{
	if (e->failed)
		return false;
	if (--e->steps_left < 0) {
		efail(e, "evaluation needed more than %d steps", STIX_EVAL_MAX_STEPS);
		return false;
	}
	return true;
}

/* ---- values --------------------------------------------------------------- */

enum vkind { V_OTHER, V_STR, V_INT, V_REAL, V_BOOL, V_BYTES };

/* A property value seen through the comparison rules: "_bin" and "_hex"
 * properties are binary, everything else is what JSON says. */
struct val {
	enum vkind k;
	const char *s; /* V_STR */
	size_t n;
	int64_t i;
	double f;
	bool b;
	unsigned char *bytes; /* V_BYTES, owned */
	size_t nbytes;
};

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Decodes standard base64 (padding optional). Returns false if malformed. */
static bool
b64_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return false;
	unsigned char *o = xmalloc(n / 4 * 3 + 3);
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = base64_digit((unsigned char)s[i]);
		if (v < 0) {
			free(o);
			return false;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out = o;
	*outlen = k;
	return true;
}

static bool
hex_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	if (n % 2 != 0)
		return false;
	unsigned char *o = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit((unsigned char)s[2 * i]), lo = hex_digit((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(o);
			return false;
		}
		o[i] = (unsigned char)(hi * 16 + lo);
	}
	*out = o;
	*outlen = n / 2;
	return true;
}

static void
val_from_json(struct val *v, const json_t *j, const char *key)
{
	memset(v, 0, sizeof(*v));
	v->k = V_OTHER;
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		size_t n = json_string_length(j);
		if (key != NULL && ends_with(key, "_bin")) {
			if (b64_decode(s, n, &v->bytes, &v->nbytes))
				v->k = V_BYTES;
		} else if (key != NULL && ends_with(key, "_hex")) {
			if (hex_decode(s, n, &v->bytes, &v->nbytes))
				v->k = V_BYTES;
		} else {
			v->k = V_STR;
			v->s = s;
			v->n = n;
		}
	} else if (json_is_integer(j)) {
		v->k = V_INT;
		v->i = json_integer_value(j);
	} else if (json_is_real(j)) {
		v->k = V_REAL;
		v->f = json_real_value(j);
	} else if (json_is_boolean(j)) {
		v->k = V_BOOL;
		v->b = json_is_true(j);
	}
}

/* Decodes one UTF-8 code point; returns its length or 0 if malformed. */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	uint32_t c = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/*
 * Compares a string with bytes as the spec asks: the string is taken as
 * Latin-1, which works only if every code point is below 256. Returns false
 * when it is not; else *out is <0, 0, >0 like memcmp.
 */
bool
stix_str_bytes_cmp(const char *s, size_t n, const unsigned char *b, size_t bn, int *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k = 0;
	int r = 0;
	while (i < n) {
		uint32_t cp = 0;
		size_t l = utf8_next(u + i, n - i, &cp);
		if (l == 0 || cp > 0xff)
			return false;
		i += l;
		if (r == 0) {
			if (k >= bn)
				r = 1;
			else if (cp != b[k])
				r = cp < b[k] ? -1 : 1;
		}
		k++;
	}
	if (r == 0 && k < bn)
		r = -1;
	*out = r;
	return true;
}

int
stix_mem_order(const void *a, size_t an, const void *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	int r = m > 0 ? memcmp(a, b, m) : 0;
	if (r != 0)
		return r < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

#define CMP_NONE 2 /* the two sides cannot be compared */

/* Orders a property value against a literal: -1, 0, 1 or CMP_NONE. */
static int
val_order(const struct val *v, const struct stix_literal *l)
{
	int r = 0;
	switch (l->type) {
	case STIX_LITERAL_STRING:
		if (v->k == V_STR)
			return stix_mem_order(v->s, v->n, l->text, l->text_len);
		if (v->k == V_BYTES && stix_str_bytes_cmp(l->text, l->text_len, v->bytes, v->nbytes, &r))
			return -r;
		return CMP_NONE;
	case STIX_LITERAL_INT:
		if (v->k == V_INT)
			return v->i < l->i ? -1 : v->i > l->i ? 1 : 0;
		if (v->k == V_REAL)
			return v->f < l->f ? -1 : v->f > l->f ? 1 : 0;
		return CMP_NONE;
	case STIX_LITERAL_FLOAT:
		if (v->k == V_INT || v->k == V_REAL) {
			double x = v->k == V_INT ? (double)v->i : v->f;
			return x < l->f ? -1 : x > l->f ? 1 : 0;
		}
		return CMP_NONE;
	case STIX_LITERAL_BOOL:
		/* Booleans are equal or not, never ordered. */
		if (v->k == V_BOOL)
			return v->b == l->b ? 0 : CMP_NONE;
		return CMP_NONE;
	case STIX_LITERAL_BINARY:
	case STIX_LITERAL_HEX:
		if (v->k == V_BYTES)
			return stix_mem_order(v->bytes, v->nbytes, l->bytes, l->nbytes);
		if (v->k == V_STR && stix_str_bytes_cmp(v->s, v->n, l->bytes, l->nbytes, &r))
			return r;
		return CMP_NONE;
	case STIX_LITERAL_TIMESTAMP: {
		/* A timestamp literal reads string properties as timestamps. */
		if (v->k != V_STR || v->n > 64)
			return CMP_NONE;
		char tmp[65];
		memcpy(tmp, v->s, v->n);
		tmp[v->n] = '\0';
		int64_t ms = 0;
		if (time_parse_rfc3339(tmp, &ms) != 0)
			return CMP_NONE;
		return ms < l->ts_ms ? -1 : ms > l->ts_ms ? 1 : 0;
	}
	}
	return CMP_NONE;
}

static bool
val_equal(const struct val *v, const struct stix_literal *l)
{
	return val_order(v, l) == 0;
}

/* SQL LIKE over code points: % is any run, _ one code point, no escape.
 * Greedy with one backtrack point, O(n*m) at worst and charged per step. */
static bool
like_match(struct eval *e, const char *str, size_t sn, const char *pat, size_t pn, bool *ok)
{
	const unsigned char *s = (const unsigned char *)str, *p = (const unsigned char *)pat;
	size_t si = 0, pi = 0;
	size_t star_p = SIZE_MAX, star_s = 0;
	*ok = true;
	while (si < sn) {
		if (!step(e)) {
			*ok = false;
			return false;
		}
		uint32_t sc = 0, pc = 0;
		size_t sl = utf8_next(s + si, sn - si, &sc);
		if (sl == 0)
			sl = 1; /* treat a stray byte as one character */
		size_t pl = pi < pn ? utf8_next(p + pi, pn - pi, &pc) : 0;
		if (pi < pn && pl == 0) {
			pl = 1;
			pc = p[pi];
		}
		if (pi < pn && pc == '%') {
			star_p = pi;
			star_s = si;
			pi += pl;
			continue;
		}
		if (pi < pn && (pc == '_' || (pl == sl && memcmp(p + pi, s + si, sl) == 0))) {
			pi += pl;
			si += sl;
			continue;
		}
		if (star_p == SIZE_MAX)
			return false;
		/* Let the last % swallow one more character and retry. */
		uint32_t skip = 0;
		size_t l = utf8_next(s + star_s, sn - star_s, &skip);
		star_s += l ? l : 1;
		si = star_s;
		pi = star_p + 1;
	}
	while (pi < pn && p[pi] == '%')
		pi++;
	return pi == pn;
}

/* ---- MATCHES through Hyperscan ------------------------------------------- */

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
         void *ctx)
{
	*(bool *)ctx = true;
	return 1; /* stop: one match is all we need */
}

static hs_database_t *
regex_compile(struct eval *e, const char *rx, unsigned flags, int column)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *cerr = NULL;
	if (hs_compile(rx, flags, HS_MODE_BLOCK, NULL, &db, &cerr) != HS_SUCCESS) {
		efail(e, "MATCHES regex at column %d is not supported by Hyperscan: %s", column,
		      cerr && cerr->message ? cerr->message : "compile failed");
		hs_free_compile_error(cerr);
		return NULL;
	}
	if (hs_alloc_scratch(db, &e->scratch) != HS_SUCCESS) {
		efail(e, "cannot allocate Hyperscan scratch space");
		hs_free_database(db);
		return NULL;
	}
	return db;
}

static struct regex *
regex_get(struct eval *e, const struct stix_pattern_node *n)
{
	struct regex *r = &e->re[n->id];
	if (r->compiled)
		return e->failed ? NULL : r;
	r->compiled = true;
	const unsigned flags = HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
	const struct stix_literal *l = &n->cmp.value;
	r->db_str = regex_compile(e, l->text, flags | HS_FLAG_UTF8 | HS_FLAG_UCP, n->column);
	if (r->db_str == NULL)
		return NULL;
	/* Binary values are matched byte-wise by the regex read as Latin-1,
	 * as the Python matcher does; impossible if it has wider characters. */
	char *latin = xmalloc(l->text_len + 1);
	const unsigned char *u = (const unsigned char *)l->text;
	size_t i = 0, k = 0;
	r->bytes_ok = true;
	while (i < l->text_len) {
		uint32_t cp = 0;
		size_t len = utf8_next(u + i, l->text_len - i, &cp);
		if (len == 0 || cp > 0xff) {
			r->bytes_ok = false;
			break;
		}
		latin[k++] = (char)cp;
		i += len;
	}
	latin[k] = '\0';
	if (r->bytes_ok) {
		r->db_bytes = regex_compile(e, latin, flags, n->column);
		if (r->db_bytes == NULL) {
			free(latin);
			return NULL;
		}
	}
	free(latin);
	return r;
}

static bool
regex_test(struct eval *e, const struct stix_pattern_node *n, const struct val *v, bool *applies)
{
	*applies = false;
	struct regex *r = regex_get(e, n);
	if (r == NULL)
		return false;
	hs_database_t *db = NULL;
	const char *data = NULL;
	size_t len = 0;
	if (v->k == V_STR) {
		db = r->db_str;
		data = v->s;
		len = v->n;
	} else if (v->k == V_BYTES && r->bytes_ok) {
		db = r->db_bytes;
		data = (const char *)v->bytes;
		len = v->nbytes;
	}
	if (db == NULL || len > UINT32_MAX)
		return false;
	*applies = true;
	bool hit = false;
	hs_error_t rc = hs_scan(db, data ? data : "", (unsigned int)len, 0, e->scratch, on_match, &hit);
	if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
		efail(e, "Hyperscan scan failed (%d)", (int)rc);
	return hit;
}

/* ---- ISSUBSET / ISSUPERSET ---------------------------------------------- */

struct net {
	int family;
	int prefix;
	unsigned char addr[16];
};

/* "a.b.c.d", "a.b.c.d/n", "v6", "v6/n". */
static bool
net_parse(const char *s, size_t n, struct net *out)
{
	char tmp[64];
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *slash = strchr(tmp, '/');
	if (slash != NULL)
		*slash = '\0';
	out->family = strchr(tmp, ':') ? AF_INET6 : AF_INET;
	memset(out->addr, 0, sizeof(out->addr));
	if (inet_pton(out->family, tmp, out->addr) != 1)
		return false;
	int max = out->family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash != NULL) {
		int64_t pfx = 0;
		if (parse_int64(slash + 1, 0, max, &pfx) != 0)
			return false;
		out->prefix = (int)pfx;
	}
	return true;
}

/* Is a inside b? */
static bool
net_within(const struct net *a, const struct net *b)
{
	if (a->family != b->family || a->prefix < b->prefix)
		return false;
	int bits = b->prefix;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		if ((a->addr[i] & mask) != (b->addr[i] & mask))
			return false;
	}
	return true;
}

/* ---- comparisons ---------------------------------------------------------- */

/*
 * Tests one value. NOT inverts the result of the test for values the
 * operator can judge; LIKE, MATCHES, ISSUBSET and ISSUPERSET never hold for
 * values that are not strings (or binary, for MATCHES), NOT or not.
 */
static bool
cmp_value(struct eval *e, const struct stix_pattern_node *n, const json_t *j, const char *key)
{
	const struct stix_pattern_comparison *c = &n->cmp;
	if (c->op == STIX_CMP_EXISTS)
		return true;
	struct val v;
	val_from_json(&v, j, key);
	bool r = false, applies = true;
	int o;
	switch (c->op) {
	case STIX_CMP_EQ: r = val_equal(&v, &c->value); break;
	case STIX_CMP_NE: r = !val_equal(&v, &c->value); break;
	case STIX_CMP_LT:
	case STIX_CMP_LE:
	case STIX_CMP_GT:
	case STIX_CMP_GE:
		o = val_order(&v, &c->value);
		/* Values that cannot be ordered against the literal fail the
		 * test, with or without NOT, as in the Python matcher. */
		applies = o != CMP_NONE && c->value.type != STIX_LITERAL_BOOL;
		r = applies && (c->op == STIX_CMP_LT   ? o < 0
		                : c->op == STIX_CMP_LE ? o <= 0
		                : c->op == STIX_CMP_GT ? o > 0
		                                       : o >= 0);
		break;
	case STIX_CMP_IN:
		for (size_t i = 0; i < c->nset && !r; i++)
			r = val_equal(&v, &c->set[i]);
		break;
	case STIX_CMP_LIKE:
		applies = v.k == V_STR;
		if (applies) {
			bool ok = true;
			r = like_match(e, v.s, v.n, c->value.text, c->value.text_len, &ok);
			applies = ok;
		}
		break;
	case STIX_CMP_MATCHES: r = regex_test(e, n, &v, &applies); break;
	case STIX_CMP_ISSUBSET:
	case STIX_CMP_ISSUPERSET: {
		struct net a, b;
		applies = v.k == V_STR && net_parse(v.s, v.n, &a) &&
		          net_parse(c->value.text, c->value.text_len, &b);
		if (applies)
			r = c->op == STIX_CMP_ISSUBSET ? net_within(&a, &b) : net_within(&b, &a);
		break;
	}
	case STIX_CMP_EXISTS: break;
	}
	free(v.bytes);
	if (!applies)
		return false;
	return c->negated ? !r : r;
}

/* The cyber-observable objects of one observation. */
struct objs {
	json_t *all;
	bool is_array;
};

/* Follows a reference inside the observation; NULL if it does not resolve. */
static json_t *
objs_resolve(struct eval *e, const struct objs *o, const json_t *ref)
{
	if (!json_is_string(ref))
		return NULL;
	if (!o->is_array)
		return json_object_get(o->all, json_string_value(ref));
	size_t i;
	json_t *sco;
	json_array_foreach(o->all, i, sco) {
		if (!step(e))
			return NULL;
		json_t *id = json_object_get(sco, "id");
		if (json_is_string(id) && json_equal(id, ref))
			return sco;
	}
	return NULL;
}

enum item_mode {
	ITEM_VALUE,   /* a JSON value */
	ITEM_REFLIST, /* the array of a "*_refs" property: elements get followed */
};

struct item {
	json_t *v;
	size_t step;
	enum item_mode mode;
	const char *key; /* the property that gave v, for _bin and _hex */
};

struct work {
	struct item *v;
	size_t n, cap;
};

static void
work_push(struct work *w, struct item it)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n++] = it;
}

/*
 * Does some value reached by the comparison's path from sco pass the test?
 * "[*]" fans out over list elements and "*_ref(s)" over objects, so this
 * walks an explicit worklist instead of recursing (paths can be long), and
 * every item is charged to the budget (reference cycles cannot loop).
 */
static bool
cmp_object(struct eval *e, const struct stix_pattern_node *n, const struct objs *o, json_t *sco)
{
	const struct stix_object_path *path = &n->cmp.path;
	struct work w = {0};
	bool hit = false;
	work_push(&w, (struct item){.v = sco, .step = 0, .mode = ITEM_VALUE});
	while (w.n > 0 && !hit && step(e)) {
		struct item it = w.v[--w.n];
		if (it.step == path->nsteps) {
			if (it.mode == ITEM_REFLIST) {
				/* A list of references is a value only if one resolves. */
				size_t i;
				json_t *ref;
				bool any = false;
				json_array_foreach(it.v, i, ref) {
					if (objs_resolve(e, o, ref) != NULL) {
						any = true;
						break;
					}
				}
				if (!any)
					continue;
			}
			hit = cmp_value(e, n, it.v, it.key);
			continue;
		}
		const struct stix_path_step *st = &path->steps[it.step];
		if (st->kind == STIX_PATH_KEY) {
			if (it.mode != ITEM_VALUE || !json_is_object(it.v))
				continue;
			json_t *child = json_object_get(it.v, st->key);
			if (child == NULL)
				continue;
			struct item next = {.v = child, .step = it.step + 1, .mode = ITEM_VALUE, .key = st->key};
			if (ends_with(st->key, "_ref")) {
				next.v = objs_resolve(e, o, child);
				next.key = NULL;
				if (next.v == NULL)
					continue;
			} else if (ends_with(st->key, "_refs")) {
				if (!json_is_array(child))
					continue;
				next.mode = ITEM_REFLIST;
			}
			work_push(&w, next);
			continue;
		}
		if (!json_is_array(it.v))
			continue;
		size_t lo = 0, hi = json_array_size(it.v);
		if (st->kind == STIX_PATH_INDEX) {
			if (st->index < 0 || (uint64_t)st->index >= hi)
				continue;
			lo = (size_t)st->index;
			hi = lo + 1;
		}
		/* Pushed backwards so that elements are visited in order. */
		for (size_t i = hi; i > lo; i--) {
			json_t *el = json_array_get(it.v, i - 1);
			if (it.mode == ITEM_REFLIST) {
				el = objs_resolve(e, o, el);
				if (el == NULL)
					continue;
			}
			work_push(&w, (struct item){.v = el, .step = it.step + 1, .mode = ITEM_VALUE});
		}
	}
	free(w.v);
	return hit && !e->failed;
}

static bool
cmp_tree(struct eval *e, const struct stix_pattern_node *n, const struct objs *o, json_t *sco)
{
	switch (n->kind) {
	case STIX_PATTERN_CMP_OR:
		for (size_t i = 0; i < n->nkids; i++) {
			if (cmp_tree(e, n->kids[i], o, sco))
				return true;
		}
		return false;
	case STIX_PATTERN_CMP_AND:
		for (size_t i = 0; i < n->nkids; i++) {
			if (!cmp_tree(e, n->kids[i], o, sco))
				return false;
		}
		return true;
	case STIX_PATTERN_COMPARISON: {
		if (!step(e))
			return false;
		json_t *type = json_object_get(sco, "type");
		if (!json_is_string(type) || strcmp(json_string_value(type), n->cmp.path.object_type) != 0)
			return false;
		return cmp_object(e, n, o, sco);
	}
	default: return false;
	}
}

/* Does one observation satisfy the observation expression [ ... ]? */
static bool
observation_matches(struct eval *e, const struct stix_pattern_node *obs_node, size_t idx)
{
	struct objs o = {.all = e->obs[idx].objects, .is_array = json_is_array(e->obs[idx].objects)};
	if (o.is_array) {
		size_t i;
		json_t *sco;
		json_array_foreach(o.all, i, sco) {
			if (!step(e))
				return false;
			if (json_is_object(sco) && cmp_tree(e, obs_node->kids[0], &o, sco))
				return true;
		}
	} else if (json_is_object(o.all)) {
		const char *k;
		json_t *sco;
		json_object_foreach(o.all, k, sco) {
			if (!step(e))
				return false;
			if (json_is_object(sco) && cmp_tree(e, obs_node->kids[0], &o, sco))
				return true;
		}
	}
	return false;
}

/* ---- bindings --------------------------------------------------------------- */

struct binding {
	uint32_t *slots; /* observation indices, ascending, repeated per use */
	size_t n;
	int64_t max_first; /* latest first_observed among the slots */
	int64_t min_last;  /* earliest last_observed among the slots */
};

#define BLIST_TABLE (2 * STIX_EVAL_MAX_BINDINGS) /* power of two */

struct blist {
	struct binding *v;
	size_t n;
	uint32_t *table; /* open addressing: index + 1 into v, 0 empty */
};

static void
blist_free(struct blist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].slots);
	free(l->v);
	free(l->table);
	memset(l, 0, sizeof(*l));
}

static uint64_t
slots_hash(const uint32_t *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Adds b (taking its slots) unless an equal multiset is there already or
 * the list is full, which marks the evaluation truncated. */
static void
blist_add(struct eval *e, struct blist *l, struct binding b)
{
	if (l->table == NULL) {
		l->table = xcalloc(BLIST_TABLE, sizeof(*l->table));
		l->v = xmalloc(STIX_EVAL_MAX_BINDINGS * sizeof(*l->v));
	}
	size_t h = (size_t)slots_hash(b.slots, b.n) & (BLIST_TABLE - 1);
	while (l->table[h] != 0) {
		const struct binding *o = &l->v[l->table[h] - 1];
		if (o->n == b.n && memcmp(o->slots, b.slots, b.n * sizeof(*b.slots)) == 0) {
			free(b.slots);
			return;
		}
		h = (h + 1) & (BLIST_TABLE - 1);
	}
	if (l->n >= STIX_EVAL_MAX_BINDINGS) {
		e->truncated = true;
		free(b.slots);
		return;
	}
	l->v[l->n] = b;
	l->table[h] = (uint32_t)++l->n;
}

static bool
blist_full(const struct blist *l)
{
	return l->n >= STIX_EVAL_MAX_BINDINGS;
}

/* Merges two multisets; false if an observation would be used more often
 * than it was observed, or the binding grows too big. */
static bool
binding_merge(struct eval *e, const struct binding *a, const struct binding *b, struct binding *out)
{
	size_t n = a->n + b->n;
	if (n > STIX_EVAL_MAX_BINDING_SIZE)
		return false;
	/* Merging costs its length: charge it, or big REPEATS would be free. */
	e->steps_left -= (int64_t)n;
	if (!step(e))
		return false;
	uint32_t *s = xmalloc(n * sizeof(*s));
	size_t i = 0, j = 0, k = 0;
	int64_t run = 0;
	while (i < a->n || j < b->n) {
		uint32_t x;
		if (j >= b->n || (i < a->n && a->slots[i] <= b->slots[j]))
			x = a->slots[i++];
		else
			x = b->slots[j++];
		run = k > 0 && s[k - 1] == x ? run + 1 : 1;
		s[k++] = x;
		if (run > e->mult[x]) {
			free(s);
			return false;
		}
	}
	out->slots = s;
	out->n = n;
	out->max_first = a->max_first > b->max_first ? a->max_first : b->max_first;
	out->min_last = a->min_last < b->min_last ? a->min_last : b->min_last;
	return true;
}

/* AND (ordered false) or FOLLOWEDBY (ordered true) of two lists. */
static void
blist_join(struct eval *e, const struct blist *a, const struct blist *b, bool ordered,
           struct blist *out)
{
	for (size_t i = 0; i < a->n && !blist_full(out); i++) {
		for (size_t j = 0; j < b->n && !blist_full(out); j++) {
			if (!step(e))
				return;
			/* FOLLOWEDBY: timestamps can be chosen so that all of the
			 * left come no later than all of the right. */
			if (ordered && a->v[i].max_first > b->v[j].min_last)
				continue;
			struct binding m;
			if (binding_merge(e, &a->v[i], &b->v[j], &m))
				blist_add(e, out, m);
		}
	}
	if (blist_full(out))
		e->truncated = true;
}

/* How many times binding b could be used on its own: its scarcest
 * observation decides. */
static int64_t
binding_times(const struct eval *e, const struct binding *b)
{
	int64_t best = INT64_MAX;
	for (size_t i = 0; i < b->n;) {
		size_t j = i;
		while (j < b->n && b->slots[j] == b->slots[i])
			j++;
		int64_t t = e->mult[b->slots[i]] / (int64_t)(j - i);
		best = t < best ? t : best;
		i = j;
	}
	return best;
}

struct repeats {
	const struct blist *l;
	int64_t *avail; /* avail[i]: picks bindings i.. could give at most */
	struct blist *out;
};

/* REPEATS k: multisets of k bindings of l, chosen with repetition in index
 * order so that each combination is tried once. Recursion is at most k
 * deep, and k <= STIX_EVAL_MAX_BINDING_SIZE. */
static void
repeats_dfs(struct eval *e, const struct repeats *r, size_t from, int64_t left,
            const struct binding *acc)
{
	if (left == 0) {
		assert(acc != NULL); /* k >= 1, so something was picked */
		struct binding copy = *acc;
		copy.slots = xmalloc(acc->n * sizeof(*acc->slots));
		memcpy(copy.slots, acc->slots, acc->n * sizeof(*acc->slots));
		blist_add(e, r->out, copy);
		return;
	}
	for (size_t i = from; i < r->l->n && !blist_full(r->out); i++) {
		/* Not enough picks left from here on: prune, or an impossible
		 * count would try every subset. */
		if (r->avail[i] < left || !step(e))
			return;
		struct binding m;
		const struct binding *b = &r->l->v[i];
		if (acc == NULL) {
			m = *b;
			m.slots = xmalloc(m.n * sizeof(*m.slots));
			memcpy(m.slots, b->slots, m.n * sizeof(*m.slots));
		} else if (!binding_merge(e, acc, b, &m)) {
			continue;
		}
		repeats_dfs(e, r, i, left - 1, &m);
		free(m.slots);
	}
}

static void
repeats_apply(struct eval *e, const struct blist *l, int64_t k, struct blist *out)
{
	struct repeats r = {.l = l, .out = out, .avail = xcalloc(l->n + 1, sizeof(int64_t))};
	for (size_t i = l->n; i > 0; i--) {
		int64_t t = binding_times(e, &l->v[i - 1]);
		int64_t sum = r.avail[i] + t;
		r.avail[i - 1] = sum > k ? k : sum; /* capped: no overflow */
	}
	repeats_dfs(e, &r, 0, k, NULL);
	free(r.avail);
}

static void eval_node(struct eval *e, const struct stix_pattern_node *n, struct blist *out);

static void
apply_qualifier(struct eval *e, const struct stix_pattern_qualifier *q, struct blist *l)
{
	struct blist out = {0};
	if (q->kind == STIX_QUALIFIER_REPEATS) {
		/* Every binding holds at least one observation, so more repeats
		 * than the size cap can never be satisfied. */
		if (q->repeats <= STIX_EVAL_MAX_BINDING_SIZE && l->n > 0)
			repeats_apply(e, l, q->repeats, &out);
		if (blist_full(&out))
			e->truncated = true;
		if (q->repeats > STIX_EVAL_MAX_BINDING_SIZE && l->n > 0)
			efail(e, "REPEATS %lld TIMES needs more than %d observations in one binding",
			      (long long)q->repeats, STIX_EVAL_MAX_BINDING_SIZE);
	} else {
		for (size_t i = 0; i < l->n; i++) {
			const struct binding *b = &l->v[i];
			bool keep;
			if (q->kind == STIX_QUALIFIER_WITHIN) {
				/* Some window of the given length touches every
				 * member's [first, last] interval. */
				double span = (double)b->max_first - (double)b->min_last;
				keep = span <= q->within.f * 1000.0;
			} else {
				/* Each member can be placed in [start, stop). */
				keep = q->start.ts_ms < q->stop.ts_ms && b->max_first < q->stop.ts_ms &&
				       b->min_last >= q->start.ts_ms;
			}
			if (!keep)
				continue;
			struct binding c = *b;
			c.slots = xmalloc(b->n * sizeof(*b->slots));
			memcpy(c.slots, b->slots, b->n * sizeof(*b->slots));
			blist_add(e, &out, c);
		}
	}
	blist_free(l);
	*l = out;
}

static void
eval_leaf(struct eval *e, const struct stix_pattern_node *n, struct blist *out)
{
	for (size_t i = 0; i < e->n && !e->failed; i++) {
		if (!observation_matches(e, n, i))
			continue;
		struct binding b = {
		    .slots = xmalloc(sizeof(uint32_t)),
		    .n = 1,
		    .max_first = e->obs[i].first_observed_ms,
		    .min_last = e->obs[i].last_observed_ms,
		};
		b.slots[0] = (uint32_t)i;
		blist_add(e, out, b);
	}
}

static void
eval_node(struct eval *e, const struct stix_pattern_node *n, struct blist *out)
{
	memset(out, 0, sizeof(*out));
	if (e->failed)
		return;
	switch (n->kind) {
	case STIX_PATTERN_OBSERVATION: eval_leaf(e, n, out); return;
	case STIX_PATTERN_QUALIFIED:
		eval_node(e, n->kids[0], out);
		for (size_t i = 0; i < n->nquals && !e->failed; i++)
			apply_qualifier(e, &n->quals[i], out);
		return;
	case STIX_PATTERN_OBS_OR:
		for (size_t i = 0; i < n->nkids && !e->failed; i++) {
			struct blist kid;
			eval_node(e, n->kids[i], &kid);
			for (size_t j = 0; j < kid.n; j++) {
				blist_add(e, out, kid.v[j]);
				kid.v[j].slots = NULL; /* moved, or freed by blist_add */
			}
			blist_free(&kid);
		}
		return;
	case STIX_PATTERN_OBS_AND:
	case STIX_PATTERN_OBS_FOLLOWEDBY:
		eval_node(e, n->kids[0], out);
		for (size_t i = 1; i < n->nkids && !e->failed && out->n > 0; i++) {
			struct blist kid, joined = {0};
			eval_node(e, n->kids[i], &kid);
			blist_join(e, out, &kid, n->kind == STIX_PATTERN_OBS_FOLLOWEDBY, &joined);
			blist_free(&kid);
			blist_free(out);
			*out = joined;
		}
		return;
	default: return;
	}
}

int
stix_pattern_eval(const struct stix_pattern *p, const struct stix_observation *obs, size_t n,
                  struct stix_eval_result *res)
{
	memset(res, 0, sizeof(*res));
	struct eval e = {
	    .obs = obs,
	    .n = n,
	    .steps_left = STIX_EVAL_MAX_STEPS,
	    .res = res,
	};
	if (n > STIX_EVAL_MAX_OBSERVATIONS) {
		efail(&e, "more than %d observations", STIX_EVAL_MAX_OBSERVATIONS);
		return -1;
	}
	e.mult = xcalloc(n ? n : 1, sizeof(*e.mult));
	for (size_t i = 0; i < n && !e.failed; i++) {
		if (obs[i].number_observed < 1)
			efail(&e, "observation %zu: number_observed must be at least 1", i);
		else if (obs[i].first_observed_ms > obs[i].last_observed_ms)
			efail(&e, "observation %zu: first_observed is after last_observed", i);
		/* No binding can use an observation more often than it has
		 * slots, so larger counts change nothing. */
		e.mult[i] = obs[i].number_observed < STIX_EVAL_MAX_BINDING_SIZE
		                ? obs[i].number_observed
		                : STIX_EVAL_MAX_BINDING_SIZE;
	}
	e.re = xcalloc(p->n_comparisons ? p->n_comparisons : 1, sizeof(*e.re));
	struct blist root = {0};
	if (!e.failed)
		eval_node(&e, p->root, &root);
	if (!e.failed && root.n > 0) {
		/* The first binding found, as the Python matcher reports it;
		 * its slots are ascending already. */
		const struct binding *b = &root.v[0];
		res->bound = xmalloc(b->n * sizeof(*res->bound));
		for (size_t i = 0; i < b->n; i++) {
			if (res->nbound == 0 || res->bound[res->nbound - 1] != b->slots[i])
				res->bound[res->nbound++] = b->slots[i];
		}
		res->matched = true;
	} else if (!e.failed && e.truncated) {
		efail(&e, "more than %d candidate bindings: no match found within the cap",
		      STIX_EVAL_MAX_BINDINGS);
	}
	blist_free(&root);
	for (size_t i = 0; i < p->n_comparisons; i++) {
		hs_free_database(e.re[i].db_str);
		hs_free_database(e.re[i].db_bytes);
	}
	hs_free_scratch(e.scratch);
	free(e.re);
	free(e.mult);
	if (e.failed) {
		free(res->bound);
		res->bound = NULL;
		res->nbound = 0;
		res->matched = false;
		return -1;
	}
	return 0;
}

void
stix_eval_result_free(struct stix_eval_result *res)
{
	if (res == NULL)
		return;
	free(res->bound);
	res->bound = NULL;
	res->nbound = 0;
	res->matched = false;
}
