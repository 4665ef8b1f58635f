/*
 * test_ingest_json_scan.c - the allocation-free JSON scanner, cross-checked
 * against jansson on the same inputs: every sample file line under every
 * decoder's spec, a table of edge cases of RFC 8259 (and of jansson's own
 * limits), seeded mutations of the samples, deep nesting, huge lines,
 * duplicate keys, escaped keys, and the spec compiler's refusals.
 */
#include "ingest_testutil.h"

static const char *const sample_files[] = {
	"eve/suricata-logs-evelog.json", "eve/suricata-eve-detect.json",
	"eve/output-eve-fileinfo.eve.json", "eve/generated.json",
	"cowrie/otori-synthetic.json", "cowrie/generated.json",
	"spamtrap/records.json",
};
static const char *const pretty_files[] = {
	"eve/telegraf-alert.json", "eve/telegraf-dns.json", "eve/telegraf-drop.json",
	"eve/telegraf-flow.json", "eve/telegraf-http.json",
};

/* A spec that reaches deep, through arrays, and at odd keys. */
static const char *const test_paths[] = {
	"a", "a.b", "a.b.c", "a.b.c.d", "arr", "arr.0", "arr.1", "arr.1.x", "arr.10",
	"src_ip", "k", "e\"q",
};
static struct ingest_json_spec test_spec = {.paths = test_paths,
                                            .npaths = CIIP_ARRAY_LEN(test_paths)};

static const struct ingest_json_spec *specs[4];

static int
setup(void **state)
{
	specs[0] = ingest_eve_spec();
	specs[1] = ingest_cowrie_spec();
	specs[2] = ingest_spamtrap_spec();
	if (ingest_json_spec_compile(&test_spec) != 0)
		return -1;
	specs[3] = &test_spec;
	for (int i = 0; i < 4; i++)
		if (specs[i] == NULL)
			return -1;
	return 0;
}

static void
check_all_specs(const char *line, size_t len, void *arg)
{
	int *bad = arg;
	for (int i = 0; i < 4; i++)
		*bad += tu_cross_check(specs[i], line, len) != 0;
}

static void
test_samples_agree(void **state)
{
	int bad = 0, lines = 0;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(sample_files); i++)
		lines += tu_lines(sample_files[i], check_all_specs, &bad);
	for (size_t i = 0; i < CIIP_ARRAY_LEN(pretty_files); i++) {
		size_t len;
		char *text = tu_read(pretty_files[i], &len);
		check_all_specs(text, len, &bad);
		free(text);
		lines++;
	}
	assert_true(lines > 150);
	assert_int_equal(bad, 0);
}

static const struct {
	const char *in;
	bool ok;
} edge[] = {
	{"{}", true},
	{" \t\r\n{ } \r\n", true},
	{"{\"a\":1}", true},
	{"{ \"a\" : [ 1 , 2 , { \"b\" : [ ] } ] , \"c\" : { } }", true},
	{"[]", false},
	{"\"s\"", false},
	{"1", false},
	{"", false},
	{"   ", false},
	{"{", false},
	{"{\"a\"", false},
	{"{\"a\":", false},
	{"{\"a\":1", false},
	{"{\"a\":1,", false},
	{"{\"a\":}", false},
	{"{\"a\":1,}", false},
	{"{\"a\" 1}", false},
	{"{a:1}", false},
	{"{'a':1}", false},
	{"{\"a\":1}}", false},
	{"{\"a\":1} {\"b\":2}", false},
	{"{\"a\":1}x", false},
	{"{\"a\":[1,]}", false},
	{"{\"a\":[,1]}", false},
	{"{\"a\":[1 2]}", false},
	{"{\"a\":01}", false},
	{"{\"a\":-}", false},
	{"{\"a\":-0}", true},
	{"{\"a\":+1}", false},
	{"{\"a\":1.}", false},
	{"{\"a\":.5}", false},
	{"{\"a\":1e}", false},
	{"{\"a\":1e+}", false},
	{"{\"a\":1E-5}", true},
	{"{\"a\":-12.5e+3}", true},
	{"{\"a\":0.0}", true},
	{"{\"a\":tru}", false},
	{"{\"a\":true}", true},
	{"{\"a\":nul}", false},
	{"{\"a\":null,\"b\":false}", true},
	{"{\"a\":True}", false},
	{"{\"a\":NaN}", false},
	{"{\"a\":Infinity}", false},
	{"{\"a\":9223372036854775807}", true},
	{"{\"a\":9223372036854775808}", false},
	{"{\"a\":-9223372036854775808}", true},
	{"{\"a\":-9223372036854775809}", false},
	{"{\"a\":12345678901234567890123}", false},
	{"{\"a\":1e308}", true},
	{"{\"a\":1e309}", false},
	{"{\"a\":-1e400}", false},
	{"{\"a\":1e-400}", true},
	{"{\"a\":0e99999}", true},
	{"{\"a\":0.000e99999}", true},
	{"{\"a\":1.7976931348623157e308}", true},
	{"{\"a\":1.7976931348623159e308}", false},
	{"{\"a\":17976931348623157e292}", true},
	{"{\"a\":0.00000001e316}", true},
	{"{\"a\":0.00000001e317}", false},
	{"{\"a\":\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}", true},
	{"{\"a\":\"\\x\"}", false},
	{"{\"a\":\"\\u00e9\\u4f60\"}", true},
	{"{\"a\":\"\\u00G0\"}", false},
	{"{\"a\":\"\\u00e\"}", false},
	{"{\"a\":\"\\u0000\"}", false},
	{"{\"a\":\"\\ud83d\\ude00\"}", true},
	{"{\"a\":\"\\ud83d\"}", false},
	{"{\"a\":\"\\ud83dx\"}", false},
	{"{\"a\":\"\\ud83d\\u0041\"}", false},
	{"{\"a\":\"\\ude00\"}", false},
	{"{\"a\":\"tab\there\"}", false},
	{"{\"a\":\"\x01\"}", false},
	{"{\"a\":\"\x7f\"}", true},
	{"{\"a\":\"\xc3\xa9\"}", true},
	{"{\"a\":\"\xc0\xaf\"}", false},
	{"{\"a\":\"\xc2\"}", false},
	{"{\"a\":\"\xe2\x82\"}", false},
	{"{\"a\":\"\xe2\x82\xac\"}", true},
	{"{\"a\":\"\xe0\x80\xaf\"}", false},
	{"{\"a\":\"\xed\xa0\x80\"}", false},
	{"{\"a\":\"\xf0\x9f\x98\x80\"}", true},
	{"{\"a\":\"\xf0\x8f\xbf\xbf\"}", false},
	{"{\"a\":\"\xf4\x90\x80\x80\"}", false},
	{"{\"a\":\"\xf5\x80\x80\x80\"}", false},
	{"{\"a\":\"\xff\"}", false},
	{"{\"\xff\":1}", false},
	{"{\"a\":\"unterminated}", false},
	{"\xef\xbb\xbf{}", false},
	{"{\"\":1,\"k\":2}", true},
	{"{\"a\":{\"b\":{\"c\":{\"d\":\"deep\"}}}}", true},
	{"{\"a\":{\"b\":\"not an object\"}}", true},
	{"{\"arr\":[\"zero\",{\"x\":1},2,3,4,5,6,7,8,9,\"ten\"]}", true},
	{"{\"arr\":{\"0\":\"key zero\",\"1\":{\"x\":true}}}", true},
	{"{\"src\\u005fip\":\"192.0.2.1\"}", true},
	{"{\"e\\\"q\":\"quoted key\"}", true},
	{"{\"a\":{\"b\":{\"c\":1}},\"a\":{\"x\":2}}", true},
	{"{\"a\":{\"b\":{\"c\":1}},\"a\":7}", true},
	{"{\"arr\":[1,{\"x\":1}],\"arr\":[2]}", true},
	{"{\"src_ip\":\"1\",\"src_ip\":2}", true},
};

static void
test_edge_cases(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(edge); i++) {
		size_t len = strlen(edge[i].in);
		struct ingest_jv vals[INGEST_JSON_MAX_NODES];
		struct ingest_decode_err de = {0};
		int rc = ingest_json_scan(&test_spec, edge[i].in, len, vals, &de);
		if ((rc == 0) != edge[i].ok)
			fail_msg("case %zu %s: expected %s, got %s (%s)", i, edge[i].in,
			         edge[i].ok ? "ok" : "refusal", rc == 0 ? "ok" : "refusal",
			         de.reason ? de.reason : "-");
		for (int s = 0; s < 4; s++)
			assert_int_equal(tu_cross_check(specs[s], edge[i].in, len), 0);
	}
	/* A NUL byte is never valid JSON, inside a string or out. */
	static const char nul1[] = "{\"a\":\"x\0y\"}", nul2[] = "{\"a\":1}\0";
	for (int s = 0; s < 4; s++) {
		assert_int_equal(tu_cross_check(specs[s], nul1, sizeof(nul1) - 1), 0);
		assert_int_equal(tu_cross_check(specs[s], nul2, sizeof(nul2) - 1), 0);
	}
}

static void
test_values_and_duplicates(void **state)
{
	struct ingest_jv v[INGEST_JSON_MAX_NODES];
	struct ingest_decode_err de;
	const char *in = "{\"a\":{\"b\":{\"c\":{\"d\":\"x\"}}},\"arr\":[\"z\",{\"x\":[1]},2,3,4,5,6,7,"
	                 "8,9,\"ten\"],\"src_ip\":\"1.2.3.4\",\"a\":{\"q\":1}}";
	assert_int_equal(ingest_json_scan(&test_spec, in, strlen(in), v, &de), 0);
	/* The later "a" replaced the first one and all under it. */
	assert_int_equal(v[0].type, INGEST_J_OBJ);
	assert_int_equal(v[0].len, strlen("{\"q\":1}"));
	assert_int_equal(v[1].type, INGEST_J_NONE);
	assert_int_equal(v[3].type, INGEST_J_NONE);
	assert_int_equal(v[4].type, INGEST_J_ARR);
	assert_int_equal(v[5].type, INGEST_J_STR);
	assert_memory_equal(v[5].p, "z", 1);
	assert_int_equal(v[7].type, INGEST_J_ARR);
	assert_int_equal(v[8].type, INGEST_J_STR);
	assert_int_equal(v[8].len, 3);
	assert_int_equal(v[9].type, INGEST_J_STR);
	assert_false(v[9].esc);
}

static void
test_error_offsets(void **state)
{
	static const struct {
		const char *in;
		size_t off;
		const char *reason;
	} cases[] = {
		{"{\"a\":tru}", 5, "bad literal"},
		{"{\"a\":1,}", 7, "expected a key"},
		{"{\"a\":\"\xff\"}", 6, "invalid UTF-8 in string"},
		{"{\"a\":\"x\\q\"}", 7, "bad escape in string"},
		{"{\"a\":1} x", 8, "data after the JSON object"},
		{"[1]", 0, "not a JSON object"},
		{"{\"a\":01}", 6, "leading zero in number"},
		{"{\"a\":\"abc", 9, "truncated string"},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(cases); i++) {
		struct ingest_jv v[INGEST_JSON_MAX_NODES];
		struct ingest_decode_err de = {0};
		assert_int_equal(ingest_json_scan(&test_spec, cases[i].in, strlen(cases[i].in), v, &de), -1);
		assert_string_equal(de.reason, cases[i].reason);
		assert_int_equal(de.offset, cases[i].off);
	}
}

static void
test_deep_nesting(void **state)
{
	struct ingest_jv v[INGEST_JSON_MAX_NODES];
	struct ingest_decode_err de;
	struct buf b = {0};
	/* Exactly at the cap: accepted; one more: refused where it opens. */
	for (int depth = INGEST_JSON_MAX_DEPTH; depth <= INGEST_JSON_MAX_DEPTH + 1; depth++) {
		buf_reset(&b);
		buf_puts(&b, "{\"a\":");
		for (int i = 1; i < depth; i++)
			buf_puts(&b, "[");
		for (int i = 1; i < depth; i++)
			buf_puts(&b, "]");
		buf_puts(&b, "}");
		int rc = ingest_json_scan(&test_spec, b.data, b.len, v, &de);
		assert_int_equal(rc, depth <= INGEST_JSON_MAX_DEPTH ? 0 : -1);
		assert_int_equal(tu_cross_check(&test_spec, b.data, b.len), 0);
	}
	assert_string_equal(de.reason, "nesting too deep");
	assert_int_equal(de.offset, 5 + INGEST_JSON_MAX_DEPTH - 1);
	/* A million brackets cost nothing: refused at the cap, no recursion. */
	buf_reset(&b);
	buf_puts(&b, "{\"a\":");
	for (int i = 0; i < 1000000; i++)
		buf_append(&b, "[", 1);
	assert_int_equal(ingest_json_scan(&test_spec, b.data, b.len, v, &de), -1);
	assert_string_equal(de.reason, "nesting too deep");
	buf_free(&b);
}

static void
test_huge_values(void **state)
{
	/* A 10 MB string and a 10 MB array scan fine (the 1 MB cap on lines
	 * belongs to ingest_decode), and agree with jansson. */
	struct ingest_jv v[INGEST_JSON_MAX_NODES];
	struct ingest_decode_err de;
	size_t n = 10 * 1024 * 1024;
	char *big = xmalloc(n + 32);
	memcpy(big, "{\"k\":\"", 6);
	for (size_t i = 6; i < n; i++)
		big[i] = (char)('a' + i % 26);
	memcpy(big + n, "\"}", 2);
	assert_int_equal(ingest_json_scan(&test_spec, big, n + 2, v, &de), 0);
	assert_int_equal(v[10].len, n - 6);
	/* Truncated anywhere near the end: refused. */
	assert_int_equal(ingest_json_scan(&test_spec, big, n + 1, v, &de), -1);
	assert_string_equal(de.reason, "truncated JSON");
	assert_int_equal(ingest_json_scan(&test_spec, big, n, v, &de), -1);
	assert_string_equal(de.reason, "truncated string");
	memcpy(big, "{\"k\":[", 6);
	for (size_t i = 6; i + 1 < n; i += 2)
		memcpy(big + i, "1,", 2);
	memcpy(big + n - 2, "1]}", 3);
	assert_int_equal(ingest_json_scan(&test_spec, big, n + 1, v, &de), 0);
	assert_int_equal(v[10].type, INGEST_J_ARR);
	free(big);
}

static uint64_t seed = 0x2545f4914f6cdd1dULL;

static uint32_t
rnd(uint32_t n)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (uint32_t)(seed % n);
}

static void
mutate_and_check(const char *line, size_t len, void *arg)
{
	static const char pokes[] = "\"\\{}[],:0e-.u \x80\xff\xc3\x01\n";
	int *bad = arg;
	char *m = xmalloc(len + 64);
	for (int round = 0; round < 60; round++) {
		memcpy(m, line, len);
		size_t n = len;
		int edits = 1 + (int)rnd(3);
		for (int e = 0; e < edits && n > 0; e++) {
			size_t at = rnd((uint32_t)n);
			switch (rnd(4)) {
			case 0:
				m[at] = pokes[rnd(sizeof(pokes) - 1)];
				break;
			case 1:
				memmove(m + at, m + at + 1, n - at - 1);
				n--;
				break;
			case 2:
				n = at;
				break;
			default:
				if (n < len + 60) {
					memmove(m + at + 1, m + at, n - at);
					m[at] = pokes[rnd(sizeof(pokes) - 1)];
					n++;
				}
			}
		}
		for (int s = 0; s < 4; s++)
			*bad += tu_cross_check(specs[s], m, n) != 0;
	}
	free(m);
}

static void
test_mutations_agree(void **state)
{
	int bad = 0;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(sample_files); i++)
		tu_lines(sample_files[i], mutate_and_check, &bad);
	assert_int_equal(bad, 0);
}

static void
test_spec_compile(void **state)
{
	static const char *const twice[] = {"a", "a"};
	static const char *const late_prefix[] = {"a.b", "a"};
	static const char *const empty_seg[] = {"a..b"};
	static const char *const empty[] = {""};
	static const char *const long_seg[] = {
		"a234567890123456789012345678901234567890123456789012345678901234"};
	static const char *const fine[] = {"a", "a.b", "c.0.d"};
	struct ingest_json_spec s;
	s = (struct ingest_json_spec){.paths = twice, .npaths = 2};
	assert_int_equal(ingest_json_spec_compile(&s), -1);
	s = (struct ingest_json_spec){.paths = late_prefix, .npaths = 2};
	assert_int_equal(ingest_json_spec_compile(&s), -1);
	s = (struct ingest_json_spec){.paths = empty_seg, .npaths = 1};
	assert_int_equal(ingest_json_spec_compile(&s), -1);
	s = (struct ingest_json_spec){.paths = empty, .npaths = 1};
	assert_int_equal(ingest_json_spec_compile(&s), -1);
	s = (struct ingest_json_spec){.paths = long_seg, .npaths = 1};
	assert_int_equal(ingest_json_spec_compile(&s), -1);
	s = (struct ingest_json_spec){.paths = fine, .npaths = 3};
	assert_int_equal(ingest_json_spec_compile(&s), 0);
	/* Listed paths first, then the root, then the intermediate "c", "c.0". */
	assert_int_equal(s.root, 3);
	assert_int_equal(s.nnodes, 6);
	assert_int_equal(ingest_json_spec_child(&s, s.root, "a", 1), 0);
	assert_int_equal(ingest_json_spec_child(&s, 0, "b", 1), 1);
	assert_int_equal(ingest_json_spec_child(&s, s.root, "b", 1), -1);
	/* Too many nodes. */
	static char names[INGEST_JSON_MAX_NODES + 1][8];
	static const char *many[INGEST_JSON_MAX_NODES + 1];
	for (int i = 0; i <= INGEST_JSON_MAX_NODES; i++) {
		snprintf(names[i], sizeof(names[i]), "k%d", i);
		many[i] = names[i];
	}
	s = (struct ingest_json_spec){.paths = many, .npaths = INGEST_JSON_MAX_NODES};
	assert_int_equal(ingest_json_spec_compile(&s), -1);
	s = (struct ingest_json_spec){.paths = many, .npaths = INGEST_JSON_MAX_NODES - 1};
	assert_int_equal(ingest_json_spec_compile(&s), 0);
}

/* Inputs found by fuzzing, each a named regression. */
static void
test_fuzz_eve_nul_after_number(void **state)
{
	/* jansson accepts this (it skips the NUL); the scanner must refuse. */
	static const char in[] = "{\n    \"stamp\": \r\n3\0}\n";
	struct ingest_jv v[INGEST_JSON_MAX_NODES];
	struct ingest_decode_err de;
	json_error_t jerr;
	json_t *j = json_loadb(in, sizeof(in) - 1, 0, &jerr);
	assert_non_null(j);
	json_decref(j);
	assert_int_equal(ingest_json_scan(&test_spec, in, sizeof(in) - 1, v, &de), -1);
	assert_string_equal(de.reason, "expected ',' or '}'");
	assert_int_equal(de.offset, 18);
	assert_int_equal(tu_cross_check(&test_spec, in, sizeof(in) - 1), 0);
}

static void
test_unescape(void **state)
{
	char out[16];
	bool cut;
	const char *in = "a\\u00e9\\ud83d\\ude00\\n\\/";
	size_t n = ingest_json_unescape(in, strlen(in), out, sizeof(out), &cut);
	assert_false(cut);
	assert_int_equal(n, 1 + 2 + 4 + 1 + 1);
	assert_memory_equal(out, "a\xc3\xa9\xf0\x9f\x98\x80\n/", n);
	/* Cut on a character boundary, never inside one. */
	n = ingest_json_unescape(in, strlen(in), out, 5, &cut);
	assert_true(cut);
	assert_int_equal(n, 3);
	n = ingest_json_unescape("\xc3\xa9\xc3\xa9", 4, out, 3, &cut);
	assert_true(cut);
	assert_int_equal(n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_agree),
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_values_and_duplicates),
		cmocka_unit_test(test_error_offsets),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_huge_values),
		cmocka_unit_test(test_mutations_agree),
		cmocka_unit_test(test_spec_compile),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_fuzz_eve_nul_after_number),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
