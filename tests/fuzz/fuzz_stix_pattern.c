/*
 * fuzz_stix_pattern.c - libFuzzer target for the STIX pattern parser: any
 * input that parses must print to a normal form that parses again to an
 * equal tree and prints the same; then it is evaluated against a small
 * fixed set of observations (MATCHES aside, whose regexes only exercise
 * Hyperscan's compiler) so the evaluator walks every tree too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *objects;
static struct stix_observation obs[3];

static void
setup(void)
{
	const char *text =
	    "{\"0\": {\"type\": \"file\", \"name\": \"a.exe\", \"size\": 12,"
	    " \"hashes\": {\"SHA-256\": \"ab\", \"MD5\": \"cd\"}, \"magic_number_hex\": \"ffd8\","
	    " \"parent_directory_ref\": \"1\", \"x\": [1, 2.5, true, \"s\", null, {\"a\": \"b\"}]},"
	    " \"1\": {\"type\": \"directory\", \"path\": \"C:\\\\Windows\"},"
	    " \"2\": {\"type\": \"ipv4-addr\", \"value\": \"10.0.0.1\", \"self_refs\": [\"2\", \"2\"]},"
	    " \"3\": {\"type\": \"artifact\", \"payload_bin\": \"AAEC\"}}";
	objects = json_loads(text, 0, NULL);
	if (objects == NULL)
		abort();
	for (int i = 0; i < 3; i++)
		obs[i] = (struct stix_observation){.first_observed_ms = i * 1000,
		                                   .last_observed_ms = i * 1000 + 500,
		                                   .number_observed = i + 1,
		                                   .objects = objects};
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (objects == NULL)
		setup();
	struct err e;
	err_clear(&e);
	struct stix_pattern *p = stix_pattern_parse((const char *)data, size, &e);
	if (p == NULL) {
		/* Every refusal says where and why. */
		if (e.msg[0] == '\0' || e.column < 1 || (size_t)e.column > size + 1)
			abort();
		return 0;
	}
	struct buf once = {0}, twice = {0};
	stix_pattern_format(p, &once);
	struct err e2;
	err_clear(&e2);
	struct stix_pattern *q = stix_pattern_parse(once.data ? once.data : "", once.len, &e2);
	if (q == NULL) {
		fprintf(stderr, "normal form does not parse: %s\n%s\n", e2.msg, once.data);
		abort();
	}
	stix_pattern_format(q, &twice);
	if (!stix_pattern_equal(p, q) || once.len != twice.len ||
	    memcmp(once.data, twice.data, once.len) != 0) {
		fprintf(stderr, "round trip differs:\n%s\n%s\n", once.data, twice.data);
		abort();
	}
	if (memmem(data, size, "MATCHES", 7) == NULL) {
		struct stix_eval_result res;
		(void)stix_pattern_eval(p, obs, 3, &res);
		stix_eval_result_free(&res);
	}
	buf_free(&once);
	buf_free(&twice);
	stix_pattern_free(p);
	stix_pattern_free(q);
	return 0;
}
