/*
 * test_stix_pattern.c - the STIX patterning parser: the specification's
 * examples (tests/data/stix_patterns/spec_examples.txt), the normalised form
 * of every operator, literal and qualifier, the tree handed to matchers,
 * error positions and messages, limits, and normalise/re-parse round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

#define SPEC_EXAMPLES CIIP_TEST_DATA "/stix_patterns/spec_examples.txt"

static struct stix_pattern *
parse_ok(const char *text)
{
	struct err e;
	err_clear(&e);
	struct stix_pattern *p = stix_pattern_parse(text, strlen(text), &e);
	/* On failure, name the pattern and the error in the test output. */
	assert_string_equal(e.msg, "");
	assert_non_null(p);
	return p;
}

static char *
format(const struct stix_pattern *p)
{
	struct buf b = {0};
	stix_pattern_format(p, &b);
	return buf_steal(&b);
}

/* Normalising, re-parsing and normalising again changes nothing. */
static void
assert_round_trip(const char *text)
{
	struct stix_pattern *p = parse_ok(text);
	char *once = format(p);
	struct stix_pattern *q = parse_ok(once);
	char *twice = format(q);
	assert_true(stix_pattern_equal(p, q));
	assert_string_equal(once, twice);
	free(once);
	free(twice);
	stix_pattern_free(p);
	stix_pattern_free(q);
}

static void
assert_normalises(const char *text, const char *want)
{
	struct stix_pattern *p = parse_ok(text);
	char *got = format(p);
	assert_string_equal(got, want);
	free(got);
	stix_pattern_free(p);
	assert_round_trip(text);
}

static void
assert_parse_error_n(const char *text, size_t len, int column, const char *msg)
{
	struct err e;
	err_clear(&e);
	struct stix_pattern *p = stix_pattern_parse(text, len, &e);
	assert_null(p);
	assert_string_equal(e.msg, msg);
	assert_int_equal(e.column, column);
}

static void
assert_parse_error(const char *text, int column, const char *msg)
{
	assert_parse_error_n(text, strlen(text), column, msg);
}

/* ---- specification examples --------------------------------------------- */

static void
test_spec_examples_parse_and_round_trip(void **state)
{
	FILE *f = fopen(SPEC_EXAMPLES, "r");
	assert_non_null(f);
	char line[4096];
	size_t n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		print_message("%s\n", line);
		assert_round_trip(line);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 41);
}

/* ---- normalised form ----------------------------------------------------- */

static const struct {
	const char *in;
	const char *out;
} normal_cases[] = {
    /* comparison operators */
    {"[file:size = 1280]", "[file:size = 1280]"},
    {"[ file:size==1280 ]", "[file:size = 1280]"},
    {"[file:size != 1280]", "[file:size != 1280]"},
    {"[file:size<>1280]", "[file:size != 1280]"},
    {"[file:size<1024]", "[file:size < 1024]"},
    {"[file:size<=1024]", "[file:size <= 1024]"},
    {"[file:size>1024]", "[file:size > 1024]"},
    {"[file:size>=1024]", "[file:size >= 1024]"},
    {"[file:name IN ('a','b' , 'c')]", "[file:name IN ('a', 'b', 'c')]"},
    {"[file:size IN(1024,2048)]", "[file:size IN (1024, 2048)]"},
    {"[file:name IN ()]", "[file:name IN ()]"},
    {"[file:name LIKE 'name%']", "[file:name LIKE 'name%']"},
    {"[file:name MATCHES '^a\\\\.exe$']", "[file:name MATCHES '^a\\\\.exe$']"},
    {"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"},
    {"[ipv4-addr:value ISSUPERSET '198.51.100.1']", "[ipv4-addr:value ISSUPERSET '198.51.100.1']"},
    {"[EXISTS  windows-registry-key:values]", "[EXISTS windows-registry-key:values]"},
    /* NOT before every operator that takes it */
    {"[file:size NOT = 1]", "[file:size NOT = 1]"},
    {"[file:size NOT != 1]", "[file:size NOT != 1]"},
    {"[file:size NOT  <= +7]", "[file:size NOT <= 7]"},
    {"[file:size NOT < 7]", "[file:size NOT < 7]"},
    {"[file:size NOT > 7]", "[file:size NOT > 7]"},
    {"[file:size NOT >= 7]", "[file:size NOT >= 7]"},
    {"[file:name NOT IN ('calc.exe')]", "[file:name NOT IN ('calc.exe')]"},
    {"[file:name NOT LIKE 'a%_']", "[file:name NOT LIKE 'a%_']"},
    {"[file:name NOT MATCHES 'x']", "[file:name NOT MATCHES 'x']"},
    {"[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']", "[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']"},
    {"[ipv6-addr:value NOT ISSUPERSET '::1']", "[ipv6-addr:value NOT ISSUPERSET '::1']"},
    /* literals */
    {"[file:x = 'it\\'s a \\\\ back']", "[file:x = 'it\\'s a \\\\ back']"},
    {"[file:x = '']", "[file:x = '']"},
    {"[file:x = true]", "[file:x = true]"},
    {"[file:x != false]", "[file:x != false]"},
    {"[file:x = -42]", "[file:x = -42]"},
    {"[file:x = +42]", "[file:x = 42]"},
    {"[file:x = -0]", "[file:x = 0]"},
    {"[file:x = -9223372036854775808]", "[file:x = -9223372036854775808]"},
    {"[file:x = -.5]", "[file:x = -.5]"},
    {"[file:x = +1.50]", "[file:x = 1.50]"},
    {"[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']", "[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']"},
    {"[artifact:payload_bin = b'AA==']", "[artifact:payload_bin = b'AA==']"},
    {"[file:magic_number_hex = h'FFD8']", "[file:magic_number_hex = h'ffd8']"},
    {"[file:magic_number_hex = h'']", "[file:magic_number_hex = h'']"},
    {"[file:created > t'2014-01-13T07:03:17.123456Z']", "[file:created > t'2014-01-13T07:03:17.123456Z']"},
    /* object paths */
    {"[file:hashes.'SHA-256' = 'x']", "[file:hashes.'SHA-256' = 'x']"},
    {"[file:'name' = 'x']", "[file:name = 'x']"},
    {"[x-thing:list[0].'a b'[*] = 1]", "[x-thing:list[0].'a b'[*] = 1]"},
    {"[x:list[-1] = 1]", "[x:list[-1] = 1]"},
    {"[x:'AND' = 1]", "[x:'AND' = 1]"},
    {"[x:y.AND = 1]", "[x:y.'AND' = 1]"},
    {"[x:y.'true' = 1]", "[x:y.'true' = 1]"},
    {"[x:y.'it\\'s' = 1]", "[x:y.'it\\'s' = 1]"},
    /* observation operators and precedence */
    {"[a:b = 1] OR [a:c = 2] AND [a:d = 3] FOLLOWEDBY [a:e = 4]",
     "[a:b = 1] OR [a:c = 2] AND [a:d = 3] FOLLOWEDBY [a:e = 4]"},
    {"([a:b = 1] OR [a:c = 2]) AND [a:d = 3]", "([a:b = 1] OR [a:c = 2]) AND [a:d = 3]"},
    {"[a:b = 1] AND ([a:c = 2] AND [a:d = 3])", "[a:b = 1] AND ([a:c = 2] AND [a:d = 3])"},
    {"([a:b = 1] AND [a:c = 2]) AND [a:d = 3]", "([a:b = 1] AND [a:c = 2]) AND [a:d = 3]"},
    {"((([a:b = 1])))", "[a:b = 1]"},
    {"([a:b = 1] FOLLOWEDBY [a:c = 2]) OR [a:d = 3]", "([a:b = 1] FOLLOWEDBY [a:c = 2]) OR [a:d = 3]"},
    {"[a:b = 1]FOLLOWEDBY[a:c = 2]", "[a:b = 1] FOLLOWEDBY [a:c = 2]"},
    /* comparison operators inside [ ] */
    {"[a:b = 1 OR a:c = 2 AND a:d = 3]", "[a:b = 1 OR a:c = 2 AND a:d = 3]"},
    {"[(a:b = 1 OR a:c = 2) AND a:d = 3]", "[(a:b = 1 OR a:c = 2) AND a:d = 3]"},
    {"[((a:b = 1))]", "[a:b = 1]"},
    /* qualifiers */
    {"[a:b = 1] WITHIN 5 SECONDS", "[a:b = 1] WITHIN 5 SECONDS"},
    {"[a:b = 1] WITHIN 2.5 SECONDS", "[a:b = 1] WITHIN 2.5 SECONDS"},
    {"[a:b = 1] WITHIN +5 SECONDS", "[a:b = 1] WITHIN 5 SECONDS"},
    {"[a:b = 1] REPEATS 2 TIMES WITHIN 10 SECONDS", "[a:b = 1] REPEATS 2 TIMES WITHIN 10 SECONDS"},
    {"([a:b = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS", "([a:b = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS"},
    {"[a:b = 1] AND [a:c = 2] WITHIN 5 SECONDS", "[a:b = 1] AND [a:c = 2] WITHIN 5 SECONDS"},
    {"([a:b = 1] AND [a:c = 2]) WITHIN 5 SECONDS", "([a:b = 1] AND [a:c = 2]) WITHIN 5 SECONDS"},
    {"[a:b = 1] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
     "[a:b = 1] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'"},
    /* whitespace and comments */
    {"/* c */ [a:b\t=\n1] // end", "[a:b = 1]"},
    {"[a:b\xc2\xa0=\xe3\x80\x80" "1]", "[a:b = 1]"},
    {"[a:b = 1] /**/", "[a:b = 1]"},
};

static void
test_normalised_form(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(normal_cases); i++) {
		print_message("%s\n", normal_cases[i].in);
		assert_normalises(normal_cases[i].in, normal_cases[i].out);
	}
}

/* ---- the tree ------------------------------------------------------------ */

static void
test_tree_precedence(void **state)
{
	struct stix_pattern *p = parse_ok("[a:b = 1] OR [a:c = 2] AND [a:d = 3] FOLLOWEDBY [a:e = 4]");
	const struct stix_pattern_node *r = p->root;
	assert_int_equal(r->kind, STIX_PATTERN_OBS_FOLLOWEDBY);
	assert_int_equal(r->nkids, 2);
	assert_int_equal(r->kids[0]->kind, STIX_PATTERN_OBS_OR);
	assert_int_equal(r->kids[0]->kids[0]->kind, STIX_PATTERN_OBSERVATION);
	assert_int_equal(r->kids[0]->kids[1]->kind, STIX_PATTERN_OBS_AND);
	assert_int_equal(r->kids[0]->kids[1]->nkids, 2);
	assert_int_equal(r->kids[1]->kind, STIX_PATTERN_OBSERVATION);
	assert_int_equal(r->kids[1]->id, 3);
	assert_int_equal(r->kids[1]->column, 49);
	assert_int_equal(p->n_observations, 4);
	assert_int_equal(p->n_comparisons, 4);
	stix_pattern_free(p);

	/* One level of operators is one n-ary node. */
	p = parse_ok("[a:b = 1] AND [a:c = 2] AND [a:d = 3]");
	assert_int_equal(p->root->kind, STIX_PATTERN_OBS_AND);
	assert_int_equal(p->root->nkids, 3);
	stix_pattern_free(p);

	p = parse_ok("[a:b = 1 OR a:c = 2 AND a:d = 3]");
	const struct stix_pattern_node *c = p->root->kids[0];
	assert_int_equal(c->kind, STIX_PATTERN_CMP_OR);
	assert_int_equal(c->kids[1]->kind, STIX_PATTERN_CMP_AND);
	assert_int_equal(c->kids[1]->kids[1]->kind, STIX_PATTERN_COMPARISON);
	assert_int_equal(c->kids[1]->kids[1]->id, 2);
	stix_pattern_free(p);
}

static void
test_tree_accessors(void **state)
{
	const char *text =
	    "[file:extensions.'windows-pebinary-ext'.sections[*].entropy NOT >= 7.5 AND "
	    "file:x[2] IN (1, 'a', true, b'AAE=', h'0aFF', t'2016-01-01T00:00:00.5Z', -2.25)] "
	    "REPEATS 3 TIMES WITHIN 60 SECONDS "
	    "START t'2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00Z'";
	struct stix_pattern *p = parse_ok(text);
	const struct stix_pattern_node *q = p->root;
	assert_int_equal(q->kind, STIX_PATTERN_QUALIFIED);
	assert_int_equal(q->nquals, 3);
	assert_int_equal(q->quals[0].kind, STIX_QUALIFIER_REPEATS);
	assert_int_equal(q->quals[0].repeats, 3);
	assert_int_equal(q->quals[1].kind, STIX_QUALIFIER_WITHIN);
	assert_int_equal(q->quals[1].within.type, STIX_LITERAL_INT);
	assert_true(q->quals[1].within.f == 60.0);
	assert_int_equal(q->quals[2].kind, STIX_QUALIFIER_START_STOP);
	assert_int_equal(q->quals[2].start.ts_ms, 1451606400000);
	assert_int_equal(q->quals[2].stop.ts_ms, 1451606400000 + 86400000);

	const struct stix_pattern_node *o = q->kids[0];
	assert_int_equal(o->kind, STIX_PATTERN_OBSERVATION);
	assert_int_equal(o->column, 1);
	const struct stix_pattern_node *and = o->kids[0];
	assert_int_equal(and->kind, STIX_PATTERN_CMP_AND);

	const struct stix_pattern_comparison *c0 = &and->kids[0]->cmp;
	assert_string_equal(c0->path.object_type, "file");
	assert_int_equal(c0->path.nsteps, 5);
	assert_int_equal(c0->path.steps[0].kind, STIX_PATH_KEY);
	assert_string_equal(c0->path.steps[0].key, "extensions");
	assert_string_equal(c0->path.steps[1].key, "windows-pebinary-ext");
	assert_string_equal(c0->path.steps[2].key, "sections");
	assert_int_equal(c0->path.steps[3].kind, STIX_PATH_ANY);
	assert_string_equal(c0->path.steps[4].key, "entropy");
	assert_int_equal(c0->op, STIX_CMP_GE);
	assert_true(c0->negated);
	assert_int_equal(c0->value.type, STIX_LITERAL_FLOAT);
	assert_string_equal(c0->value.text, "7.5");
	assert_true(c0->value.f == 7.5);

	const struct stix_pattern_node *n1 = and->kids[1];
	const struct stix_pattern_comparison *c1 = &n1->cmp;
	assert_int_equal(n1->column, (int)(strstr(text, "file:x") - text) + 1);
	assert_int_equal(c1->path.steps[1].kind, STIX_PATH_INDEX);
	assert_int_equal(c1->path.steps[1].index, 2);
	assert_int_equal(c1->op, STIX_CMP_IN);
	assert_false(c1->negated);
	assert_int_equal(c1->nset, 7);
	assert_int_equal(c1->set[0].type, STIX_LITERAL_INT);
	assert_int_equal(c1->set[0].i, 1);
	assert_int_equal(c1->set[1].type, STIX_LITERAL_STRING);
	assert_string_equal(c1->set[1].text, "a");
	assert_int_equal(c1->set[2].type, STIX_LITERAL_BOOL);
	assert_true(c1->set[2].b);
	assert_int_equal(c1->set[3].type, STIX_LITERAL_BINARY);
	assert_int_equal(c1->set[3].nbytes, 2);
	assert_memory_equal(c1->set[3].bytes, "\x00\x01", 2);
	assert_int_equal(c1->set[4].type, STIX_LITERAL_HEX);
	assert_int_equal(c1->set[4].nbytes, 2);
	assert_memory_equal(c1->set[4].bytes, "\x0a\xff", 2);
	assert_int_equal(c1->set[5].type, STIX_LITERAL_TIMESTAMP);
	assert_int_equal(c1->set[5].ts_ms, 1451606400500);
	assert_string_equal(c1->set[5].text, "2016-01-01T00:00:00.5Z");
	assert_int_equal(c1->set[6].type, STIX_LITERAL_FLOAT);
	assert_true(c1->set[6].f == -2.25);
	stix_pattern_free(p);

	p = parse_ok("[a:b = 'x\\'y'] WITHIN 0.25 SECONDS");
	assert_string_equal(p->root->kids[0]->kids[0]->cmp.value.text, "x'y");
	assert_int_equal(p->root->kids[0]->kids[0]->cmp.value.text_len, 3);
	assert_int_equal(p->root->quals[0].within.type, STIX_LITERAL_FLOAT);
	assert_true(p->root->quals[0].within.f == 0.25);
	stix_pattern_free(p);

	p = parse_ok("[EXISTS a:b]");
	assert_int_equal(p->root->kids[0]->cmp.op, STIX_CMP_EXISTS);
	assert_string_equal(p->root->kids[0]->cmp.path.steps[0].key, "b");
	stix_pattern_free(p);
}

static void
test_equality_tells_trees_apart(void **state)
{
	static const char *const distinct[] = {
	    "[a:b = 1]",
	    "[a:b = 2]",
	    "[a:b = 1.0]",
	    "[a:b = '1']",
	    "[a:b != 1]",
	    "[a:b NOT = 1]",
	    "[a:c = 1]",
	    "[x:b = 1]",
	    "[a:b[0] = 1]",
	    "[a:b[*] = 1]",
	    "[a:b IN (1)]",
	    "[a:b IN (1, 2)]",
	    "[EXISTS a:b]",
	    "[a:b = 1] WITHIN 1 SECONDS",
	    "[a:b = 1] REPEATS 2 TIMES",
	    "[a:b = 1] AND [a:b = 1]",
	    "[a:b = 1] OR [a:b = 1]",
	    "[a:b = 1] FOLLOWEDBY [a:b = 1]",
	    "[a:b = 1 AND a:b = 1]",
	    "[a:b = 1 OR a:b = 1]",
	    "[a:b = h'01']",
	    "[a:b = b'AQ==']",
	    "[a:b = t'2016-01-01T00:00:00Z']",
	    "[a:b = t'2016-01-01T00:00:00.000Z']",
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(distinct); i++) {
		struct stix_pattern *a = parse_ok(distinct[i]);
		for (size_t j = 0; j < CIIP_ARRAY_LEN(distinct); j++) {
			struct stix_pattern *b = parse_ok(distinct[j]);
			assert_int_equal(stix_pattern_equal(a, b), i == j);
			stix_pattern_free(b);
		}
		stix_pattern_free(a);
	}
	assert_true(stix_pattern_equal(NULL, NULL));
}

static void
test_op_names(void **state)
{
	static const char *const names[] = {"=",    "!=",   "<",       "<=",       ">",          ">=",
	                                    "IN",   "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS"};
	for (int op = STIX_CMP_EQ; op <= STIX_CMP_EXISTS; op++)
		assert_string_equal(stix_cmp_op_name((enum stix_cmp_op)op), names[op]);
}

/* ---- errors ---------------------------------------------------------------- */

static const struct {
	const char *text;
	int column;
	const char *msg;
} error_cases[] = {
    {"", 1, "expected '[' or '(' at column 1, found end of input"},
    {"   ", 4, "expected '[' or '(' at column 4, found end of input"},
    {"file:size = 1280", 1, "expected '[' or '(' at column 1, found 'file'"},
    {"[file:size = ]", 14, "expected a literal at column 14, found ']'"},
    {"[file:hashes.MD5 = cead3f77f6cda6ec00f57d76c9a6879f]", 20,
     "expected a literal at column 20, found 'cead3f77f6cda6ec00f57d76c9a6879f'"},
    {"[file.size = 1280]", 6, "expected ':' at column 6, found '.'"},
    {"[file:name MATCHES /.*\\.dll/]", 20, "unexpected character '/' at column 20"},
    {"[a:b = 1] WITHIN ]", 18, "expected a positive number of seconds at column 18, found ']'"},
    {"[a:b = 1] WITHIN 5 HOURS", 20, "expected SECONDS at column 20, found 'HOURS'"},
    {"[a:b = 1] WITHIN -5 SECONDS", 18,
     "expected a positive number of seconds at column 18, found '-5'"},
    {"[a:b = 1] WITHIN 0 SECONDS", 18,
     "expected a positive number of seconds at column 18, found '0'"},
    {"[network-traffic:dst_ref.value ISSUBSET ]", 41,
     "expected a string literal at column 41, found ']'"},
    {"[file:hashes.MD5 =? 'x']", 19, "unexpected character '?' at column 19"},
    {"[x_whatever:detected == t'2457-73-22T32:81:84.1Z']", 25,
     "invalid timestamp at column 25: want t'YYYY-MM-DDTHH:MM:SS[.s]Z' with a real date"},
    {"[a:b = t'2016-02-30T00:00:00Z']", 8,
     "invalid timestamp at column 8: want t'YYYY-MM-DDTHH:MM:SS[.s]Z' with a real date"},
    {"[a:b = t'2016-01-01T00:00:00+01:00']", 8,
     "invalid timestamp at column 8: want t'YYYY-MM-DDTHH:MM:SS[.s]Z' with a real date"},
    {"[a:b = t'2016-01-01T00:00:00Z]", 8, "unterminated timestamp literal starting at column 8"},
    {"[artifact:payload_bin = b'====']", 25, "invalid base64 in binary literal at column 25"},
    {"[artifact:payload_bin = b'']", 25, "invalid base64 in binary literal at column 25"},
    {"[artifact:payload_bin = b'QQ=']", 25, "invalid base64 in binary literal at column 25"},
    {"[a:b = h'abc']", 8, "invalid hex literal at column 8: want pairs of hex digits"},
    {"[a:b = h'zz']", 8, "invalid hex literal at column 8: want pairs of hex digits"},
    {"[foo:bar=1] within 2 seconds", 13,
     "expected AND, OR, FOLLOWEDBY, a qualifier or end of input at column 13, found 'within' "
     "(keywords are case-sensitive)"},
    {"[a:b = 1] and [a:c = 2]", 11,
     "expected AND, OR, FOLLOWEDBY, a qualifier or end of input at column 11, found 'and' "
     "(keywords are case-sensitive)"},
    {"[a:b = True]", 8,
     "expected a literal at column 8, found 'True' (keywords are case-sensitive)"},
    {"[a:b = 1] WITHIN 5 SECONDS WITHIN 6 SECONDS", 28, "duplicate WITHIN qualifier at column 28"},
    {"[a:b = 1] REPEATS 2 TIMES REPEATS 3 TIMES", 27, "duplicate REPEATS qualifier at column 27"},
    {"[a:b = 1] START t'2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00Z' "
     "START t'2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00Z'",
     70, "duplicate START/STOP qualifier at column 70"},
    {"[a:b = 1] REPEATS 0 TIMES", 19,
     "expected a repeat count of at least 1 at column 19, found '0'"},
    {"[a:b = 1] REPEATS 2", 20, "expected TIMES at column 20, found end of input"},
    {"[a:b = 1] START '2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00Z'", 17,
     "expected a timestamp t'...' after START at column 17, found ''2016-01-01T00:00:00Z''"},
    {"[a:b = 1] START t'2016-01-01T00:00:00Z' t'2016-01-02T00:00:00Z'", 41,
     "expected STOP at column 41, found 't'2016-01-02T00:00:00Z''"},
    {"[a:b = 1 OR]", 12, "expected an object type at column 12, found ']'"},
    {"[file:size = 1 OR file:size = 2", 32, "expected ']' at column 32, found end of input"},
    {"[file:name = 'x' OR) ]", 20, "expected an object type at column 20, found ')'"},
    {"[file:name = 'x' ) OR [a:b = 1]", 18, "expected ']' at column 18, found ')'"},
    {"([a:b = 1] OR [a:c = 2]", 24, "expected ')' at column 24, found end of input"},
    {"[file:name = 'abc]", 14, "unterminated string starting at column 14"},
    {"[file:name = 'a\\x']", 16,
     "invalid escape '\\x' at column 16: only \\' and \\\\ are allowed in strings"},
    {"[file:na-me = 1]", 7, "property name 'na-me' at column 7 contains '-': quote it as 'na-me'"},
    {"[AND:b = 1]", 2, "expected an object type at column 2, found 'AND'"},
    {"[a:b < true]", 8, "expected a literal (not a boolean) at column 8, found 'true'"},
    {"[a:b LIKE 5]", 11, "expected a string literal at column 11, found '5'"},
    {"[a:b MATCHES b'AA==']", 14, "expected a string literal at column 14, found 'b'AA==''"},
    {"[a:b = 007]", 8, "integer with a leading zero at column 8"},
    {"[a:b = 99999999999999999999]", 8, "integer out of range at column 8"},
    {"[a:b = 1] /* open", 11, "unterminated comment starting at column 11"},
    {"[a:b NOT EXISTS]", 10, "expected a comparison operator at column 10, found 'EXISTS'"},
    {"[a:b NOT NOT = 1]", 10, "expected a comparison operator at column 10, found 'NOT'"},
    {"[a:b[x] = 1]", 6, "expected a list index or '*' at column 6, found 'x'"},
    {"[a:b[1 = 1]", 8, "expected ']' at column 8, found '='"},
    {"[a:b IN (1, 2]", 14, "expected ',' or ')' at column 14, found ']'"},
    {"[a:b IN 1]", 9, "expected '(' starting the set at column 9, found '1'"},
    {"[a:b = 1] AND", 14, "expected '[' or '(' at column 14, found end of input"},
    {"[a:b = +]", 8, "unexpected character '+' at column 8"},
    {"[a:b = -x]", 8, "unexpected character '-' at column 8"},
    {"[a:b = 1] !", 11, "unexpected character '!' at column 11"},
    {"[a:b = 1] \xff", 11, "unexpected character '\\xff' at column 11"},
    {"[a:]", 4, "expected a property name at column 4, found ']'"},
    {"[a:b.]", 6, "expected a property name at column 6, found ']'"},
    {"[a:b = 1]]", 10,
     "expected AND, OR, FOLLOWEDBY, a qualifier or end of input at column 10, found ']'"},
    {"[a:b = 'a very long string literal that goes on and on']]", 57,
     "expected AND, OR, FOLLOWEDBY, a qualifier or end of input at column 57, found ']'"},
    {"[a:b = 1] x", 11,
     "expected AND, OR, FOLLOWEDBY, a qualifier or end of input at column 11, found 'x'"},
    {"[a:b = 1] xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 11,
     "expected AND, OR, FOLLOWEDBY, a qualifier or end of input at column 11, found "
     "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"},
};

static void
test_errors(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(error_cases); i++) {
		print_message("%s\n", error_cases[i].text);
		assert_parse_error(error_cases[i].text, error_cases[i].column, error_cases[i].msg);
	}
}

static void
test_error_nul_and_null(void **state)
{
	assert_parse_error_n("[a:b = 1]\0", 10, 10, "unexpected NUL byte at column 10");
	assert_parse_error_n("[a:b = '\0']", 11, 9, "unexpected NUL byte at column 9");
	/* A NULL err is allowed, and NULL text is the empty pattern. */
	assert_null(stix_pattern_parse("[", 1, NULL));
	assert_parse_error_n(NULL, 5, 1, "expected '[' or '(' at column 1, found end of input");
	stix_pattern_free(NULL);
}

/* ---- limits ----------------------------------------------------------------- */

static char *
nested(int depth)
{
	struct buf b = {0};
	for (int i = 0; i < depth - 1; i++)
		buf_puts(&b, "(");
	buf_puts(&b, "[a:b = 1]");
	for (int i = 0; i < depth - 1; i++)
		buf_puts(&b, ")");
	return buf_steal(&b);
}

static void
test_limit_depth(void **state)
{
	char *ok = nested(STIX_PATTERN_MAX_DEPTH);
	struct stix_pattern *p = parse_ok(ok);
	stix_pattern_free(p);
	free(ok);
	char *deep = nested(STIX_PATTERN_MAX_DEPTH + 1);
	assert_parse_error(deep, 65, "nesting deeper than 64 at column 65");
	free(deep);

	/* Parentheses inside [ ] count too. */
	struct buf b = {0};
	buf_puts(&b, "[");
	for (int i = 0; i < 64; i++)
		buf_puts(&b, "(");
	buf_puts(&b, "a:b = 1");
	assert_parse_error(b.data, 65, "nesting deeper than 64 at column 65");
	buf_free(&b);

	/* Deep input fails fast even when it is huge. */
	for (int i = 0; i < 60000; i++)
		buf_puts(&b, "(");
	assert_parse_error(b.data, 65, "nesting deeper than 64 at column 65");
	buf_free(&b);
}

static char *
comparisons(int n)
{
	struct buf b = {0};
	buf_puts(&b, "[");
	for (int i = 0; i < n; i++)
		buf_printf(&b, "%sa:b = %d", i ? " OR " : "", i);
	buf_puts(&b, "]");
	return buf_steal(&b);
}

static void
test_limit_comparisons(void **state)
{
	char *ok = comparisons(STIX_PATTERN_MAX_COMPARISONS);
	struct stix_pattern *p = parse_ok(ok);
	assert_int_equal(p->n_comparisons, STIX_PATTERN_MAX_COMPARISONS);
	assert_int_equal(p->root->kids[0]->nkids, STIX_PATTERN_MAX_COMPARISONS);
	stix_pattern_free(p);
	assert_round_trip(ok);
	free(ok);
	char *many = comparisons(STIX_PATTERN_MAX_COMPARISONS + 1);
	size_t at = (size_t)(strstr(many, "a:b = 4096") - many);
	char want[128];
	snprintf(want, sizeof(want), "more than 4096 comparisons at column %zu", at + 1);
	assert_parse_error(many, (int)at + 1, want);
	free(many);
}

static void
test_limit_length(void **state)
{
	size_t n = STIX_PATTERN_MAX_BYTES;
	char *text = xmalloc(n + 2);
	memset(text, ' ', n + 1);
	memcpy(text, "[a:b = 1]", 9);
	struct err e;
	err_clear(&e);
	struct stix_pattern *p = stix_pattern_parse(text, n, &e);
	assert_non_null(p);
	stix_pattern_free(p);
	assert_parse_error_n(text, n + 1, STIX_PATTERN_MAX_BYTES + 1,
	                     "pattern is longer than 65536 bytes");
	free(text);
}

/* Long flat inputs stay linear: a 64 KiB path and a 64 KiB set. */
static void
test_limit_wide_inputs(void **state)
{
	struct buf b = {0};
	buf_puts(&b, "[a:b");
	while (b.len < 65000)
		buf_puts(&b, "[*]");
	buf_puts(&b, " = 1]");
	struct stix_pattern *p = parse_ok(b.data);
	assert_int_equal(p->root->kids[0]->cmp.path.nsteps, 1 + (b.len - 9) / 3);
	stix_pattern_free(p);
	assert_round_trip(b.data);
	buf_free(&b);

	buf_puts(&b, "[a:b IN (1");
	while (b.len < 65000)
		buf_puts(&b, ", 1");
	buf_puts(&b, ")]");
	p = parse_ok(b.data);
	assert_true(p->root->kids[0]->cmp.nset > 20000);
	stix_pattern_free(p);
	buf_free(&b);
}

/* ---- fuzzer regressions ----------------------------------------------------- */

/*
 * fuzz_stix_pattern crash-8a35701e: 64 KiB of compact comparisons ("a=1")
 * printed to a normal form with spaces around every operator, longer than
 * the parser accepts, so the round trip broke. Such input is now refused.
 */
static void
test_fuzz_normal_form_over_limit(void **state)
{
	struct buf b = {0};
	buf_puts(&b, "[");
	for (int i = 0; b.len < 60800; i++)
		buf_printf(&b, "%sa:b='xxxxxxxxx'", i ? " OR " : "");
	buf_puts(&b, "]");
	assert_true(b.len < STIX_PATTERN_MAX_BYTES);
	struct err e;
	err_clear(&e);
	assert_null(stix_pattern_parse(b.data, b.len, &e));
	assert_int_equal(e.column, 1);
	assert_string_equal(e.msg, "normal form of the pattern is longer than 65536 bytes (67219)");
	buf_free(&b);

	/* The same comparisons with room to spare still round-trip. */
	buf_puts(&b, "[");
	for (int i = 0; b.len < 50000; i++)
		buf_printf(&b, "%sa:b='xxxxxxxxx'", i ? " OR " : "");
	buf_puts(&b, "]");
	assert_round_trip(b.data);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_examples_parse_and_round_trip),
	    cmocka_unit_test(test_normalised_form),
	    cmocka_unit_test(test_tree_precedence),
	    cmocka_unit_test(test_tree_accessors),
	    cmocka_unit_test(test_equality_tells_trees_apart),
	    cmocka_unit_test(test_op_names),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_error_nul_and_null),
	    cmocka_unit_test(test_limit_depth),
	    cmocka_unit_test(test_limit_comparisons),
	    cmocka_unit_test(test_limit_length),
	    cmocka_unit_test(test_limit_wide_inputs),
	    cmocka_unit_test(test_fuzz_normal_form_over_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
