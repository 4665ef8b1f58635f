/*
 * detect_match_hs.c - the matcher's regular expressions: one Vectorscan
 * (Hyperscan API) block-mode database per property, holding every MATCHES
 * regex and every LIKE pattern (as an anchored regex) written against that
 * property. An event's value is scanned once per database whatever the
 * number of expressions in it; the ids that match select observation
 * expressions, and residual comparisons read the same hits.
 *
 * Flags are the evaluator's (stix_pattern_eval): DOTALL, SINGLEMATCH,
 * ALLOWEMPTY, UTF8 and UCP, so a regex means the same thing to both.
 */
#include "detect/detect_match_int.h"

#include <stdio.h>
#include <stdlib.h>

uint32_t
mhs_add(struct mhs *h, const char *rx, size_t len, unsigned flags, enum mfield f, uint32_t ind,
        uint32_t anchor, enum mobj obj)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->pat = xrealloc(h->pat, h->cap * sizeof(*h->pat));
	}
	h->pat[h->n] = (struct mhs_pat){
	    .rx = xstrndup(rx, len),
	    .flags = flags,
	    .field = (uint8_t)f,
	    .ind = ind,
	    .anchor = anchor,
	    .obj = (uint8_t)obj,
	};
	return (uint32_t)h->n++;
}

bool
mhs_check(const char *rx, unsigned flags, char *why, size_t len)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *cerr = NULL;
	if (hs_expression_info(rx, flags, &info, &cerr) != HS_SUCCESS) {
		snprintf(why, len, "regex not supported by Vectorscan: %s",
		         cerr && cerr->message ? cerr->message : "compile failed");
		hs_free_compile_error(cerr);
		return false;
	}
	free(info);
	return true;
}

/* Compiles the regexes of one property; drops the ones Vectorscan refuses
 * (telling fail) and tries again. */
static int
compile_field(struct mhs *h, unsigned f, void (*fail)(void *, uint32_t, const char *), void *arg,
              struct err *e)
{
	size_t n = 0;
	for (size_t i = 0; i < h->n; i++)
		n += h->pat[i].field == f && h->pat[i].rx != NULL;
	if (n == 0)
		return 0;
	const char **rx = xmalloc(n * sizeof(*rx));
	unsigned *flags = xmalloc(n * sizeof(*flags));
	unsigned *ids = xmalloc(n * sizeof(*ids));
	int rc = -1;
	for (;;) {
		size_t k = 0;
		for (size_t i = 0; i < h->n; i++) {
			if (h->pat[i].field != f || h->pat[i].rx == NULL)
				continue;
			rx[k] = h->pat[i].rx;
			flags[k] = h->pat[i].flags;
			ids[k] = (unsigned)i;
			k++;
		}
		if (k == 0) {
			rc = 0;
			break;
		}
		hs_compile_error_t *cerr = NULL;
		hs_error_t r = hs_compile_multi(rx, flags, ids, (unsigned)k, HS_MODE_BLOCK, NULL,
		                                &h->db[f], &cerr);
		if (r == HS_SUCCESS) {
			hs_free_compile_error(cerr);
			size_t sz = 0;
			if (hs_database_size(h->db[f], &sz) == HS_SUCCESS)
				h->bytes += sz;
			rc = 0;
			break;
		}
		if (cerr == NULL || cerr->expression < 0 || (size_t)cerr->expression >= k) {
			err_set(e, "cannot build the Vectorscan database for %s: %s", mfield_path(f),
			        cerr && cerr->message ? cerr->message : "compile failed");
			hs_free_compile_error(cerr);
			break;
		}
		struct mhs_pat *bad = &h->pat[ids[cerr->expression]];
		char why[256];
		snprintf(why, sizeof(why), "regex not supported by Vectorscan: %s", cerr->message);
		hs_free_compile_error(cerr);
		fail(arg, bad->ind, why);
		free(bad->rx);
		bad->rx = NULL;
	}
	free(rx);
	free(flags);
	free(ids);
	return rc;
}

int
mhs_compile(struct mhs *h, void (*fail)(void *arg, uint32_t ind, const char *why), void *arg,
            struct err *e)
{
	for (unsigned f = 0; f < MF_COUNT; f++) {
		if (compile_field(h, f, fail, arg, e) != 0)
			return -1;
	}
	/* The texts are not needed any more. */
	for (size_t i = 0; i < h->n; i++) {
		free(h->pat[i].rx);
		h->pat[i].rx = NULL;
	}
	return 0;
}

void
mhs_free(struct mhs *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->pat[i].rx);
	free(h->pat);
	for (unsigned f = 0; f < MF_COUNT; f++)
		hs_free_database(h->db[f]);
	memset(h, 0, sizeof(*h));
}

int
mhs_scratch(const struct mhs *h, hs_scratch_t **scratch)
{
	for (unsigned f = 0; f < MF_COUNT; f++) {
		if (h->db[f] != NULL && hs_alloc_scratch(h->db[f], scratch) != HS_SUCCESS)
			return -1;
	}
	return 0;
}
