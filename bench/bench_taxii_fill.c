/*
 * bench_taxii_fill.c - fills a node's data directory with N indicators in
 * one collection, for bench/taxii/run.sh.
 *
 *   bench_taxii_fill DATA_DIR N [BATCH]
 *
 * On a fresh directory it first creates the node's organisation and an
 * analyst token (written to DATA_DIR/bench-token) and the collection
 * "bench". Objects go through the same service as a TAXII POST or `ciip
 * intel import` (validation, TLP, versions, audit), BATCH per transaction
 * (default 10000), straight into the store rather than over HTTP. The id of
 * the middle indicator is written to DATA_DIR/bench-object-id. Prints one
 * line: objects stored and the rate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "ops/ops.h"
#include "stix/stix.h"
#include "taxii/taxii.h"

static int
write_file(const char *dir, const char *name, const char *text)
{
	char path[CONFIG_MAX_PATH + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp, "%s\n", text);
	return fclose(fp);
}

static int
setup(struct store *st, struct config *cfg, const char *dir)
{
	struct auth_caller local;
	auth_caller_local(&local, st);
	if (local.org_id != 0)
		return 0; /* already set up */
	struct auth_ctx x = {.st = st, .cfg = cfg, .caller = &local, .remote = "local"};
	json_t *out = NULL;
	json_t *in = json_pack("{s:s,s:s,s:s}", "name", "Bench ISAC", "sector", "energy", "kind",
	                       "sector");
	int rc = auth_svc_org_create(&x, in, &out);
	json_decref(in);
	json_decref(out);
	if (rc != 201 && rc != 200) {
		fprintf(stderr, "bench_taxii_fill: cannot create the organisation (%d)\n", rc);
		return -1;
	}
	auth_caller_local(&local, st);
	in = json_pack("{s:s,s:s,s:s}", "name", "bench", "role", "analyst", "org", "Bench ISAC");
	out = NULL;
	rc = auth_svc_token_create(&x, in, &out);
	json_decref(in);
	const char *tok = json_string_value(json_object_get(out, "token"));
	if ((rc != 201 && rc != 200) || tok == NULL || write_file(dir, "bench-token", tok) != 0) {
		fprintf(stderr, "bench_taxii_fill: cannot create the token (%d)\n", rc);
		json_decref(out);
		return -1;
	}
	json_decref(out);
	return 0;
}

static json_t *
indicator(int64_t n, const char *when)
{
	char id[STIX_ID_MAX], pattern[128], name[64];
	stix_id_new("indicator", id, sizeof(id));
	snprintf(pattern, sizeof(pattern), "[ipv4-addr:value = '10.%d.%d.%d']", (int)(n >> 16) & 255,
	         (int)(n >> 8) & 255, (int)n & 255);
	snprintf(name, sizeof(name), "Scanning source %lld", (long long)n);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:s,s:s,s:s,s:i,s:[s]}", "type",
	                 "indicator", "spec_version", "2.1", "id", id, "created_by_ref",
	                 STIX_CIIP_IDENTITY_ID, "created", when, "modified", when, "name", name,
	                 "indicator_types", "malicious-activity", "pattern", pattern,
	                 "pattern_type", "stix", "valid_from", when, "confidence", 80,
	                 "object_marking_refs", stix_tlp_marking_id(STIX_TLP_GREEN));
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_taxii_fill DATA_DIR N [BATCH]\n");
		return 2;
	}
	int64_t n, batch = 10000;
	if (parse_int64(argv[2], 1, 100000000, &n) != 0 ||
	    (argc > 3 && parse_int64(argv[3], 1, 100000, &batch) != 0)) {
		fprintf(stderr, "bench_taxii_fill: N and BATCH must be positive numbers\n");
		return 2;
	}
	log_open(LOG_LVL_WARN, false, NULL);
	struct config cfg;
	config_defaults(&cfg);
	ops_schema_register_all();
	auth_schema_register();
	taxii_schema_register();
	struct store_opts so = {.data_dir = argv[1], .busy_timeout_ms = 10000, .readers = 2};
	struct err e;
	err_clear(&e);
	struct store *st = store_open(&so, &e);
	if (st == NULL) {
		fprintf(stderr, "bench_taxii_fill: %s: %s\n", argv[1], e.msg);
		return 1;
	}
	int rc = 1;
	struct taxii *t = NULL;
	if (setup(st, &cfg, argv[1]) != 0)
		goto out;
	struct auth_caller local;
	auth_caller_local(&local, st);
	struct auth_ctx x = {.st = st, .cfg = &cfg, .caller = &local, .remote = "local"};
	t = taxii_new(st, &cfg);
	json_t *out = NULL;
	if (taxii_svc_collection_get(t, &x, "bench", &out) == 404) {
		json_decref(out);
		json_t *in = json_pack("{s:s,s:s,s:s}", "title", "Benchmark indicators", "alias", "bench",
		                       "default_tlp", "green");
		out = NULL;
		int st_rc = taxii_svc_collection_create(t, &x, in, &out);
		json_decref(in);
		if (st_rc != 201) {
			fprintf(stderr, "bench_taxii_fill: cannot create the collection (%d)\n", st_rc);
			json_decref(out);
			goto out;
		}
	}
	json_decref(out);
	char when[STIX_TIMESTAMP_MAX];
	stix_timestamp_now(when);
	int64_t start = time_mono_ns(), stored = 0;
	for (int64_t i = 0; i < n; i += batch) {
		json_t *objs = json_array();
		for (int64_t k = i; k < n && k < i + batch; k++) {
			json_t *o = indicator(k, when);
			if (k == n / 2 &&
			    write_file(argv[1], "bench-object-id",
			               json_string_value(json_object_get(o, "id"))) != 0) {
				json_decref(o);
				json_decref(objs);
				goto out;
			}
			json_array_append_new(objs, o);
		}
		out = NULL;
		int st_rc = taxii_svc_add(t, &x, "bench", objs, &out);
		stored += json_integer_value(json_object_get(out, "success_count"));
		bool bad = st_rc != 202 || json_integer_value(json_object_get(out, "failure_count")) > 0;
		if (bad) {
			char *s = json_dumps(json_array_get(json_object_get(out, "failures"), 0), 0);
			fprintf(stderr, "bench_taxii_fill: batch at %lld refused (%d): %s\n", (long long)i,
			        st_rc, s ? s : "");
			free(s);
		}
		json_decref(out);
		json_decref(objs);
		if (bad)
			goto out;
	}
	double secs = (double)(time_mono_ns() - start) / 1e9;
	printf("stored %lld indicators in %.1f s (%.0f per second)\n", (long long)stored, secs,
	       secs > 0 ? (double)stored / secs : 0.0);
	rc = 0;
out:
	taxii_free(t);
	store_close(st);
	log_close();
	return rc;
}
