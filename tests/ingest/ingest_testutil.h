/*
 * ingest_testutil.h - helpers shared by the ingest tests: reading sample
 * files line by line, and the cross-check of the JSON scanner against
 * jansson on one input (acceptance and every value at every spec path).
 * Header-only: each test is one executable.
 */
#ifndef CIIP_INGEST_TESTUTIL_H
#define CIIP_INGEST_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_int.h"

/* The whole file (NUL-terminated, caller frees); fails the test if absent. */
static __attribute__((unused)) char *
tu_read(const char *rel, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/ingest/%s", CIIP_TEST_DATA, rel);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	struct buf b = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (b.data == NULL)
		buf_append(&b, "", 0);
	*len = b.len;
	return buf_steal(&b);
}

/* Calls fn on each non-empty line of the file; returns the line count. */
static __attribute__((unused)) int
tu_lines(const char *rel, void (*fn)(const char *line, size_t len, void *arg), void *arg)
{
	size_t len;
	char *text = tu_read(rel, &len);
	int n = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end;
		if (e > p) {
			fn(p, (size_t)(e - p), arg);
			n++;
		}
		p = e + 1;
	}
	free(text);
	return n;
}

static __attribute__((unused)) json_t *
tu_path(json_t *root, const char *path)
{
	json_t *v = root;
	char seg[128];
	const char *p = path;
	while (v != NULL) {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (json_is_object(v)) {
			v = json_object_get(v, seg);
		} else if (json_is_array(v)) {
			char *end;
			unsigned long i = strtoul(seg, &end, 10);
			v = *end == '\0' && n > 0 ? json_array_get(v, i) : NULL;
		} else {
			v = NULL;
		}
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return v;
}

static __attribute__((unused)) int
tu_depth(json_t *v)
{
	int d = 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach(v, k, c) {
			int cd = tu_depth(c);
			if (cd > d)
				d = cd;
		}
		return d + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c) {
			int cd = tu_depth(c);
			if (cd > d)
				d = cd;
		}
		return d + 1;
	}
	return 0;
}

/*
 * The scanner and jansson must agree on the input: accepted by both (when
 * jansson sees an object no deeper than the cap) or refused by both, and,
 * when accepted, on the type and value at every path of the spec.
 * Returns 0 on agreement, else prints why and returns -1.
 */
static __attribute__((unused)) int
tu_cross_check(const struct ingest_json_spec *spec, const char *line, size_t len)
{
	static struct ingest_jv vals[INGEST_JSON_MAX_NODES];
	struct ingest_decode_err de = {0};
	json_error_t jerr;
	json_t *root = json_loadb(line, len, 0, &jerr);
	/* jansson skips a NUL byte outside strings (its stream buffer takes NUL
	 * for "refill": found by fuzz_eve); RFC 8259 has no place for one. */
	bool j_ok = root != NULL && json_is_object(root) && tu_depth(root) <= INGEST_JSON_MAX_DEPTH &&
	            memchr(line, '\0', len) == NULL;
	bool s_ok = ingest_json_scan(spec, line, len, vals, &de) == 0;
	int rc = 0;
	if (j_ok != s_ok) {
		fprintf(stderr, "acceptance differs: jansson %s (%s), scanner %s (%s at %zu): %.*s\n",
		        j_ok ? "ok" : "refuses", root == NULL ? jerr.text : "-", s_ok ? "ok" : "refuses",
		        de.reason != NULL ? de.reason : "-", de.offset, (int)(len > 300 ? 300 : len), line);
		json_decref(root);
		return -1;
	}
	if (!s_ok) {
		if (de.reason == NULL || de.offset > len) {
			fprintf(stderr, "refusal without reason or with offset %zu > %zu\n", de.offset, len);
			rc = -1;
		}
		json_decref(root);
		return rc;
	}
	static char ubuf[INGEST_MAX_LINE_BYTES * 2];
	for (size_t i = 0; i < spec->npaths; i++) {
		const struct ingest_jv *v = &vals[i];
		json_t *j = tu_path(root, spec->paths[i]);
		bool same;
		switch (v->type) {
		case INGEST_J_NONE:
			same = j == NULL;
			break;
		case INGEST_J_STR: {
			bool cut = false;
			size_t n = ingest_json_unescape(v->p, v->len, ubuf, sizeof(ubuf), &cut);
			same = json_is_string(j) && !cut && n == json_string_length(j) &&
			       memcmp(ubuf, json_string_value(j), n) == 0 && (v->esc || n == v->len);
			break;
		}
		case INGEST_J_NUM:
			if (json_is_integer(j)) {
				int64_t x;
				same = ingest_num_int(v->p, v->len, &x) == 0 && x == json_integer_value(j);
			} else if (json_is_real(j)) {
				char nb[2048];
				size_t n = v->len < sizeof(nb) - 1 ? v->len : sizeof(nb) - 1;
				memcpy(nb, v->p, n);
				nb[n] = '\0';
				same = strtod(nb, NULL) == json_real_value(j);
			} else {
				same = false;
			}
			break;
		case INGEST_J_TRUE:
			same = json_is_true(j);
			break;
		case INGEST_J_FALSE:
			same = json_is_false(j);
			break;
		case INGEST_J_NULL:
			same = json_is_null(j);
			break;
		case INGEST_J_OBJ:
		case INGEST_J_ARR: {
			/* The recorded span must be that very value. */
			json_t *again = json_loadb(v->p, v->len, JSON_DECODE_ANY, &jerr);
			same = (v->type == INGEST_J_OBJ ? json_is_object(j) : json_is_array(j)) &&
			       again != NULL && json_equal(again, j);
			json_decref(again);
			break;
		}
		default:
			same = false;
		}
		if (!same) {
			fprintf(stderr, "path %s differs (scanner type %d): %.*s\n", spec->paths[i],
			        v->type, (int)(len > 300 ? 300 : len), line);
			rc = -1;
		}
	}
	json_decref(root);
	return rc;
}

#endif
