/*
 * fuzz_eve.c - libFuzzer target for the Suricata EVE decoder and the JSON
 * scanner under it. Each input is decoded as an EVE line (checked as in
 * ingest_fuzz_check.h) and scanned against jansson: both must accept or
 * both refuse (jansson's deeper nesting and non-object tops aside), and
 * agree on the type and value at every path the EVE decoder reads.
 */
#include <stdint.h>

#include "ingest_fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
depth_of(json_t *v)
{
	int d = 0;
	size_t i;
	const char *k;
	json_t *c;
	if (json_is_object(v)) {
		json_object_foreach(v, k, c) {
			int cd = depth_of(c);
			d = cd > d ? cd : d;
		}
		return d + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, c) {
			int cd = depth_of(c);
			d = cd > d ? cd : d;
		}
		return d + 1;
	}
	return 0;
}

static json_t *
path_get(json_t *v, const char *path)
{
	char seg[64];
	const char *p = path;
	while (v != NULL) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (json_is_object(v))
			v = json_object_get(v, seg);
		else if (json_is_array(v) && seg[0] >= '0' && seg[0] <= '9')
			v = json_array_get(v, strtoul(seg, NULL, 10));
		else
			v = NULL;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return v;
}

static void
differential(const char *line, size_t size)
{
	static struct ingest_jv vals[INGEST_JSON_MAX_NODES];
	static char ubuf[1 << 20];
	const struct ingest_json_spec *spec = ingest_eve_spec();
	struct ingest_decode_err de;
	json_error_t jerr;
	json_t *root = json_loadb(line, size, 0, &jerr);
	/* jansson skips a NUL byte outside strings (its stream buffer takes NUL
	 * for "refill"); RFC 8259 has no place for one, and the scanner refuses. */
	bool j_ok = root != NULL && json_is_object(root) && depth_of(root) <= INGEST_JSON_MAX_DEPTH &&
	            memchr(line, '\0', size) == NULL;
	bool s_ok = ingest_json_scan(spec, line, size, vals, &de) == 0;
	if (j_ok != s_ok) {
		fprintf(stderr, "jansson %s (%s), scanner %s (%s at %zu)\n", j_ok ? "accepts" : "refuses",
		        root ? "-" : jerr.text, s_ok ? "accepts" : "refuses", s_ok ? "-" : de.reason,
		        s_ok ? 0 : de.offset);
		abort();
	}
	for (size_t i = 0; s_ok && i < spec->npaths; i++) {
		json_t *j = path_get(root, spec->paths[i]);
		const struct ingest_jv *v = &vals[i];
		bool same = false;
		bool cut = false;
		size_t n;
		int64_t x;
		switch (v->type) {
		case INGEST_J_NONE: same = j == NULL; break;
		case INGEST_J_STR:
			n = ingest_json_unescape(v->p, v->len, ubuf, sizeof(ubuf), &cut);
			same = json_is_string(j) && !cut && n == json_string_length(j) &&
			       memcmp(ubuf, json_string_value(j), n) == 0;
			break;
		case INGEST_J_NUM:
			same = json_is_real(j) ||
			       (json_is_integer(j) && ingest_num_int(v->p, v->len, &x) == 0 &&
			        x == json_integer_value(j));
			break;
		case INGEST_J_TRUE: same = json_is_true(j); break;
		case INGEST_J_FALSE: same = json_is_false(j); break;
		case INGEST_J_NULL: same = json_is_null(j); break;
		case INGEST_J_OBJ: same = json_is_object(j); break;
		case INGEST_J_ARR: same = json_is_array(j); break;
		}
		if (!same) {
			fprintf(stderr, "path %s: scanner and jansson differ\n", spec->paths[i]);
			abort();
		}
	}
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ingest_event ev;
	struct ingest_decode_err de;
	int rc = ingest_decode(INGEST_FMT_EVE, (const char *)data, size, NULL, &ev, &de);
	fuzz_check_decode(rc, &ev, &de, size);
	if (size <= INGEST_MAX_LINE_BYTES)
		differential((const char *)data, size);
	return 0;
}
