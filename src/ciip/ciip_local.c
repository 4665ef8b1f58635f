/*
 * ciip_local.c - how a command runs: over the node's HTTP API, or, with
 * --data DIR, by opening the node's database and calling the very service
 * function the API handler would call, as an offline admin. The offline
 * path exists so that an operator can bootstrap the first account on a
 * stopped node; every change it makes is audited as "local:<unix user>".
 */
#include "ciip/ciip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "ops/ops.h"
#include "store/store.h"

void
cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s) {
		printf("%s\n", s);
		free(s);
	}
}

char *
cli_read_stdin(size_t max)
{
	struct buf b = {0};
	char chunk[1024];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (b.len + n > max) {
			buf_free(&b);
			return NULL;
		}
		buf_append(&b, chunk, n);
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static int
run_local(struct cli *c, const char *id, json_t *in, cli_local_fn fn, int *status, json_t **out)
{
	struct config cfg;
	config_defaults(&cfg);
	/* The node's data directory: its database and its seal key. */
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", c->data);
	ops_schema_register_all();
	struct store_opts so = {.data_dir = c->data, .busy_timeout_ms = 10000, .readers = 2};
	struct err e;
	err_clear(&e);
	/* Quiet: the store logs migrations at info level. */
	log_open(LOG_LVL_WARN, false, NULL);
	struct store *st = store_open(&so, &e);
	if (st == NULL) {
		fprintf(stderr, "ciip: %s: %s\n", c->data, e.msg);
		return -1;
	}
	struct auth_caller local;
	auth_caller_local(&local, st);
	struct auth_ctx x = {.st = st, .cfg = &cfg, .caller = &local, .remote = "local"};
	*status = fn(&x, id, in, out);
	store_close(st);
	return 0;
}

int
cli_call(struct cli *c, const char *method, const char *path, const char *id, json_t *in,
         cli_local_fn local, json_t **result)
{
	int status = 0;
	json_t *out = NULL;
	if (c->data && local == NULL) {
		fprintf(stderr, "ciip: %s %s needs a running node: use --url, not --data\n", method, path);
		return 2;
	}
	if (c->data) {
		if (run_local(c, id, in, local, &status, &out) != 0)
			return 1;
	} else {
		char *body = in ? json_dumps(in, JSON_COMPACT) : NULL;
		struct cli_resp r;
		int rc = cli_http(c, method, path, body, "application/json", &r);
		free(body);
		if (rc != 0)
			return 1;
		status = (int)r.status;
		out = json_loadb(r.body.data, r.body.len, 0, NULL);
		if (out == NULL && r.body.len)
			out = json_pack("{s:{s:s,s:s}}", "error", "code", "bad_response", "message",
			                r.body.data);
		cli_resp_free(&r);
	}
	if (status < 200 || status >= 300) {
		const char *msg =
			json_string_value(json_object_get(json_object_get(out, "error"), "message"));
		fprintf(stderr, "ciip: %s %s: %d %s\n", method, path, status, msg ? msg : "failed");
		json_decref(out);
		return 1;
	}
	if (result)
		*result = out;
	else {
		cli_print_json(out);
		json_decref(out);
	}
	return 0;
}
