/*
 * cmd_pattern.c - `ciip pattern`: check a STIX pattern (its normalised
 * form, or where it is wrong), say how the node's matcher would run it,
 * and match it against a file of observed-data with the reference
 * evaluator. Works locally: no node is needed.
 *
 * Exit status: 0 valid / matched, 1 invalid / not matched, 2 usage, file or
 * evaluation errors.
 */
#include "ciip/ciip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "stix/stix.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: ciip pattern check [--explain] PATTERN\n"
	            "       ciip pattern match PATTERN FILE\n"
	            "\n"
	            "check prints the normalised pattern, or the column and the reason it is\n"
	            "wrong; --explain adds how the compiled matcher would run it. match reads\n"
	            "a STIX bundle, a TAXII envelope, a JSON array or JSON lines (- for stdin)\n"
	            "and evaluates the pattern over its observed-data, in order (object_refs\n"
	            "are resolved in the file; a file of cyber-observables alone is one\n"
	            "observation). Exit status: 0 valid/match, 1 invalid/no match, 2 error.\n");
}

static struct stix_pattern *
parse_or_report(const char *text)
{
	struct err e;
	err_clear(&e);
	struct stix_pattern *p = stix_pattern_parse(text, strlen(text), &e);
	if (p != NULL)
		return p;
	fprintf(stderr, "ciip: pattern: column %d: %s\n", e.column, e.msg);
	/* Point at the column when the pattern fits on a line. */
	if (strlen(text) <= 200 && strchr(text, '\n') == NULL && e.column >= 1) {
		fprintf(stderr, "  %s\n  %*s^\n", text, e.column - 1, "");
	}
	return NULL;
}

/* How the matcher compiles the pattern: one build of one indicator. */
static void
explain(const char *text)
{
	struct detect_indicator ind = {.id = "indicator--check", .pattern = text};
	struct detect_matcher_stats st;
	struct err e;
	err_clear(&e);
	struct detect_matcher *m = detect_matcher_build(&ind, 1, 0, &st, &e);
	if (m == NULL) {
		printf("matcher: cannot compile: %s\n", e.msg);
		return;
	}
	if (st.unsupported > 0) {
		const char *why = strchr(st.first_error, ' ');
		printf("matcher: not supported:%s\n", why ? why : st.first_error);
	} else if (st.never > 0) {
		printf("matcher: never matches an event (it names objects or properties events "
		       "do not carry)\n");
	} else {
		size_t indexed = st.observations - st.scanned;
		printf("matcher: %zu observation expression(s): %zu indexed (%zu key(s), %zu CIDR "
		       "block(s), %zu regex(es)), %zu evaluated for every event of their type\n",
		       st.observations, indexed, st.keys, st.cidrs, st.regexes, st.scanned);
		printf("matcher: %s\n", st.stateful ? "multi-observation: keeps state across events"
		                                    : "single events: no state");
	}
	detect_matcher_free(m);
}

static int
do_check(int argc, char **argv)
{
	bool explain_it = false;
	const char *text = NULL;
	int nargs = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--explain") == 0 || strcmp(argv[i], "-e") == 0) {
			explain_it = true;
		} else {
			text = argv[i];
			nargs++;
		}
	}
	if (nargs != 1) {
		usage(stderr);
		return 2;
	}
	struct stix_pattern *p = parse_or_report(text);
	if (p == NULL)
		return 1;
	struct buf out = {0};
	stix_pattern_format(p, &out);
	printf("%s\n", out.data ? out.data : "");
	buf_free(&out);
	stix_pattern_free(p);
	if (explain_it)
		explain(text);
	return 0;
}

/* ---- match ------------------------------------------------------------------------ */

#define MATCH_MAX_BYTES STIX_ENVELOPE_MAX_BYTES

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (fp == NULL) {
		fprintf(stderr, "ciip: %s: cannot open\n", path);
		return NULL;
	}
	struct buf b = {0};
	char chunk[65536];
	size_t n;
	bool too_big = false;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (b.len + n > MATCH_MAX_BYTES) {
			too_big = true;
			break;
		}
		buf_append(&b, chunk, n);
	}
	if (fp != stdin)
		fclose(fp);
	if (too_big) {
		fprintf(stderr, "ciip: %s is larger than %u bytes\n", path, (unsigned)MATCH_MAX_BYTES);
		buf_free(&b);
		return NULL;
	}
	if (b.data == NULL)
		buf_puts(&b, "");
	*len = b.len;
	return buf_steal(&b);
}

static bool
is_type(const json_t *o, const char *type)
{
	const char *t = json_string_value(json_object_get(o, "type"));
	return t != NULL && strcmp(t, type) == 0;
}

/* The objects of the file: an envelope or bundle, an array, one object, or
 * JSON lines. */
static json_t *
load_objects(const char *path, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
	size_t used = doc ? (size_t)jerr.position : 0;
	while (doc != NULL && used < len && strchr(" \t\r\n", text[used]) != NULL)
		used++;
	bool wrapper = json_is_object(doc) && json_object_get(doc, "objects") != NULL &&
	               (json_object_get(doc, "type") == NULL || is_type(doc, "bundle"));
	if (doc != NULL && used == len && wrapper) {
		json_decref(doc);
		json_t *objs = NULL;
		struct err e;
		err_clear(&e);
		if (stix_envelope_parse(text, len, 0, &objs, &e) != 0) {
			fprintf(stderr, "ciip: %s: %s\n", path, e.msg);
			return NULL;
		}
		return objs;
	}
	if (doc != NULL && used == len && json_is_array(doc))
		return doc;
	if (doc != NULL && used == len && json_is_object(doc)) {
		json_t *one = json_array(); /* a single object */
		json_array_append_new(one, doc);
		return one;
	}
	json_decref(doc);
	/* JSON lines: one object per line. */
	json_t *arr = json_array();
	size_t line = 0, at = 0;
	while (at < len) {
		size_t end = at;
		while (end < len && text[end] != '\n')
			end++;
		line++;
		size_t a = at;
		while (a < end && strchr(" \t\r", text[a]) != NULL)
			a++;
		if (a < end) {
			json_t *o = json_loadb(text + a, end - a, JSON_REJECT_DUPLICATES, &jerr);
			if (!json_is_object(o)) {
				fprintf(stderr, "ciip: %s:%zu:%d: %s\n", path, line, jerr.column,
				        o ? "not an object" : jerr.text);
				json_decref(o);
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, o);
		}
		at = end + 1;
	}
	return arr;
}

static int
timestamp(const json_t *o, const char *key, int64_t *ms)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL && time_parse_rfc3339(s, ms) == 0 ? 0 : -1;
}

/* One observation from an observed-data; refs resolved among all. */
static int
observation(const json_t *od, const json_t *all, struct stix_observation *out, json_t **owned,
            const char **why)
{
	memset(out, 0, sizeof(*out));
	if (timestamp(od, "first_observed", &out->first_observed_ms) != 0 ||
	    timestamp(od, "last_observed", &out->last_observed_ms) != 0) {
		*why = "first_observed and last_observed must be timestamps";
		return -1;
	}
	json_t *n = json_object_get(od, "number_observed");
	out->number_observed = n ? json_integer_value(n) : 1;
	if (out->number_observed < 1) {
		*why = "number_observed must be an integer of at least 1";
		return -1;
	}
	json_t *objs = json_object_get(od, "objects");
	if (json_is_object(objs)) {
		out->objects = objs;
		return 0;
	}
	json_t *refs = json_object_get(od, "object_refs");
	if (!json_is_array(refs)) {
		*why = "neither objects nor object_refs";
		return -1;
	}
	/* STIX 2.1: the SCOs are elsewhere in the file. */
	json_t *arr = json_array();
	size_t i, k;
	json_t *ref, *o;
	json_array_foreach (refs, i, ref) {
		json_array_foreach (all, k, o) {
			if (json_equal(json_object_get(o, "id"), ref)) {
				json_array_append(arr, o);
				break;
			}
		}
	}
	*owned = arr;
	out->objects = arr;
	return 0;
}

static int
do_match(int argc, char **argv)
{
	if (argc != 4) {
		usage(stderr);
		return 2;
	}
	const char *text = argv[2], *path = argv[3];
	struct stix_pattern *p = parse_or_report(text);
	if (p == NULL)
		return 2;
	size_t len = 0;
	char *buf = slurp(path, &len);
	json_t *all = buf ? load_objects(path, buf, len) : NULL;
	free(buf);
	if (all == NULL) {
		stix_pattern_free(p);
		return 2;
	}
	size_t nall = json_array_size(all), n = 0, i;
	struct stix_observation *obs = xcalloc(nall + 1, sizeof(*obs));
	json_t **owned = xcalloc(nall + 1, sizeof(*owned));
	const char **ids = xcalloc(nall + 1, sizeof(*ids));
	json_t *o;
	int rc = 2;
	json_array_foreach (all, i, o) {
		if (!is_type(o, "observed-data"))
			continue;
		const char *why = NULL;
		if (observation(o, all, &obs[n], &owned[n], &why) != 0) {
			const char *id = json_string_value(json_object_get(o, "id"));
			fprintf(stderr, "ciip: %s: %s: %s\n", path, id ? id : "observed-data", why);
			goto out;
		}
		ids[n++] = json_string_value(json_object_get(o, "id"));
	}
	if (n == 0 && nall > 0) {
		/* Cyber-observables alone: one observation of all of them, now. */
		obs[0].first_observed_ms = obs[0].last_observed_ms = time_now_ms();
		obs[0].number_observed = 1;
		obs[0].objects = all;
		ids[0] = "(the file's objects)";
		n = 1;
	}
	struct stix_eval_result res;
	if (stix_pattern_eval(p, obs, n, &res) != 0) {
		fprintf(stderr, "ciip: pattern: %s\n", res.error);
		stix_eval_result_free(&res);
		goto out;
	}
	if (res.matched) {
		printf("match:");
		for (size_t k = 0; k < res.nbound; k++)
			printf(" %s", ids[res.bound[k]] ? ids[res.bound[k]] : "(observed-data without id)");
		printf("\n");
	} else {
		printf("no match (%zu observation(s))\n", n);
	}
	rc = res.matched ? 0 : 1;
	stix_eval_result_free(&res);
out:
	for (size_t k = 0; k < nall; k++)
		json_decref(owned[k]);
	free(owned);
	free(ids);
	free(obs);
	json_decref(all);
	stix_pattern_free(p);
	return rc;
}

int
cmd_pattern(struct cli *c, int argc, char **argv)
{
	(void)c;
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "check") == 0)
		return do_check(argc, argv);
	if (strcmp(argv[1], "match") == 0)
		return do_match(argc, argv);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "ciip: pattern: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
