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

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

/* A regex Vectorscan refused, reported after the threads are joined. */
struct refusal {
	uint32_t ind;
	char why[256];
};

/* One property's database, compiled by one thread. */
struct job {
	struct mhs *h;
	unsigned f;
	struct refusal *bad;
	size_t nbad;
	char error[512];
	int rc;
	size_t bytes;
};

/* Compiles the regexes of one property; drops the ones Vectorscan refuses
 * and tries again. Touches only its own patterns and database. */
static void *
compile_field(void *arg)
{
	struct job *j = arg;
	struct mhs *h = j->h;
	unsigned f = j->f;
	size_t n = 0;
	for (size_t i = 0; i < h->n; i++)
		n += h->pat[i].field == f && h->pat[i].rx != NULL;
	const char **rx = xmalloc((n ? n : 1) * sizeof(*rx));
	unsigned *flags = xmalloc((n ? n : 1) * sizeof(*flags));
	unsigned *ids = xmalloc((n ? n : 1) * sizeof(*ids));
	j->rc = -1;
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
			j->rc = 0;
			break;
		}
		hs_compile_error_t *cerr = NULL;
		hs_error_t r = hs_compile_multi(rx, flags, ids, (unsigned)k, HS_MODE_BLOCK, NULL,
		                                &h->db[f], &cerr);
		if (r == HS_SUCCESS) {
			hs_free_compile_error(cerr);
			size_t sz = 0;
			if (hs_database_size(h->db[f], &sz) == HS_SUCCESS)
				j->bytes = sz;
			j->rc = 0;
			break;
		}
		if (cerr == NULL || cerr->expression < 0 || (size_t)cerr->expression >= k) {
			snprintf(j->error, sizeof(j->error),
			         "cannot build the Vectorscan database for %s: %.400s", mfield_path(f),
			         cerr && cerr->message ? cerr->message : "compile failed");
			hs_free_compile_error(cerr);
			break;
		}
		struct mhs_pat *bad = &h->pat[ids[cerr->expression]];
		j->bad = xrealloc(j->bad, (j->nbad + 1) * sizeof(*j->bad));
		j->bad[j->nbad].ind = bad->ind;
		snprintf(j->bad[j->nbad].why, sizeof(j->bad[j->nbad].why),
		         "regex not supported by Vectorscan: %.200s", cerr->message);
		j->nbad++;
		hs_free_compile_error(cerr);
		free(bad->rx);
		bad->rx = NULL;
	}
	free(rx);
	free(flags);
	free(ids);
	return NULL;
}

/*
 * The databases of different properties are independent, so they compile
 * on as many threads as there are cores: a few thousand regexes take
 * seconds, most of a large build.
 */
int
mhs_compile(struct mhs *h, void (*fail)(void *arg, uint32_t ind, const char *why), void *arg,
            struct err *e)
{
	struct job jobs[MF_COUNT];
	unsigned njobs = 0;
	for (unsigned f = 0; f < MF_COUNT; f++) {
		bool any = false;
		for (size_t i = 0; i < h->n && !any; i++)
			any = h->pat[i].field == f;
		if (any)
			jobs[njobs++] = (struct job){.h = h, .f = f};
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned width = cores > 1 ? (unsigned)cores : 1;
	for (unsigned start = 0; start < njobs; start += width) {
		pthread_t t[MF_COUNT];
		bool started[MF_COUNT] = {false};
		unsigned end = start + width < njobs ? start + width : njobs;
		/* The first job of a round runs here; the others on threads. */
		for (unsigned k = start + 1; k < end; k++)
			started[k] = pthread_create(&t[k], NULL, compile_field, &jobs[k]) == 0;
		compile_field(&jobs[start]);
		for (unsigned k = start + 1; k < end; k++) {
			if (started[k])
				pthread_join(t[k], NULL);
			else
				compile_field(&jobs[k]);
		}
	}
	int rc = 0;
	for (unsigned k = 0; k < njobs; k++) {
		for (size_t b = 0; b < jobs[k].nbad; b++)
			fail(arg, jobs[k].bad[b].ind, jobs[k].bad[b].why);
		free(jobs[k].bad);
		h->bytes += jobs[k].bytes;
		if (jobs[k].rc != 0 && rc == 0) {
			err_set(e, "%s", jobs[k].error);
			rc = -1;
		}
	}
	/* The texts are not needed any more. */
	for (size_t i = 0; i < h->n; i++) {
		free(h->pat[i].rx);
		h->pat[i].rx = NULL;
	}
	return rc;
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
