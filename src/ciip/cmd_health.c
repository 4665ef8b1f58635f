/* cmd_health.c - `ciip health --url URL`: asks a node for /healthz and
 * exits 0 only when it is healthy, so scripts and monitors can use it. */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>

int
cmd_health(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	bool raw = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'u')
			c->url = optarg;
		else if (ch == 'j')
			raw = true;
		else {
			fprintf(stderr, "usage: ciip health [--url URL] [--json]\n");
			return 2;
		}
	}
	struct cli_resp r;
	if (cli_http(c, "GET", "/healthz", NULL, NULL, &r) != 0)
		return 1;
	json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
	if (raw) {
		printf("%s\n", r.body.data);
	} else if (j) {
		json_t *db = json_object_get(j, "database");
		printf("%s: %s, version %s, up %llds, database %s (schema %lld, %lld bytes)\n", c->url,
		       json_string_value(json_object_get(j, "status")),
		       json_string_value(json_object_get(j, "version")),
		       (long long)json_integer_value(json_object_get(j, "uptime_s")),
		       json_string_value(json_object_get(db, "status")),
		       (long long)json_integer_value(json_object_get(db, "schema_version")),
		       (long long)json_integer_value(json_object_get(db, "size_bytes")));
		const char *err = json_string_value(json_object_get(db, "error"));
		if (err)
			printf("  database error: %s\n", err);
	} else {
		printf("%s: HTTP %ld: %s\n", c->url, r.status, r.body.data);
	}
	int rc = r.status == 200 ? 0 : 1;
	json_decref(j);
	cli_resp_free(&r);
	return rc;
}
