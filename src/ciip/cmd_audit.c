/* cmd_audit.c - `ciip audit`: read the audit log and check its hash chain.
 * `ciip audit verify` exits 1 and names the first bad row when a row was
 * changed or deleted. */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"

static int
l_list(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_audit_list(x, json_string_value(json_object_get(in, "after")),
	                           json_string_value(json_object_get(in, "limit")), out);
}

static int
l_verify(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_audit_verify(x, out);
}

int
cmd_audit(struct cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
		json_t *out = NULL;
		int rc = cli_call(c, "GET", "/api/v1/audit/verify", NULL, NULL, l_verify, &out);
		if (rc != 0)
			return rc;
		bool ok = json_is_true(json_object_get(out, "intact"));
		long long rows = (long long)json_integer_value(json_object_get(out, "rows"));
		if (ok)
			printf("audit log intact: %lld rows verified\n", rows);
		else
			printf("audit log BROKEN after %lld good rows: %s\n", rows,
			       json_string_value(json_object_get(out, "problem")));
		json_decref(out);
		return ok ? 0 : 1;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		static const struct option opts[] = {
			{"after", required_argument, NULL, 'a'},
			{"limit", required_argument, NULL, 'l'},
			{NULL, 0, NULL, 0},
		};
		json_t *in = json_object();
		int ch;
		optind = 2;
		while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
			if (ch == 'a')
				json_object_set_new(in, "after", json_string(optarg));
			else if (ch == 'l')
				json_object_set_new(in, "limit", json_string(optarg));
			else {
				json_decref(in);
				fprintf(stderr, "usage: ciip audit list [--after ID] [--limit N]\n");
				return 2;
			}
		}
		char path[256];
		const char *after = json_string_value(json_object_get(in, "after"));
		const char *limit = json_string_value(json_object_get(in, "limit"));
		snprintf(path, sizeof(path), "/api/v1/audit?after=%s&limit=%s", after ? after : "0",
		         limit ? limit : "100");
		int rc = cli_call(c, "GET", path, NULL, in, l_list, NULL);
		json_decref(in);
		return rc;
	}
	fprintf(stderr, "usage: ciip audit list [--after ID] [--limit N]\n"
	                "       ciip audit verify\n");
	return 2;
}
