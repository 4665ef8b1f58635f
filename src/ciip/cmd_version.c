/* cmd_version.c - `ciip version`: the client's version, and the node's when
 * one answers at --url. */
#include "ciip/ciip.h"

#include <stdio.h>
#include <string.h>

int
cmd_version(struct cli *c, int argc, char **argv)
{
	printf("ciip %s\n", CIIP_VERSION);
	if (argc > 1 && strcmp(argv[1], "--node") == 0) {
		struct cli_resp r;
		if (cli_http(c, "GET", "/healthz", NULL, NULL, &r) != 0)
			return 1;
		json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
		const char *v = json_string_value(json_object_get(j, "version"));
		printf("node %s %s\n", c->url, v ? v : "(unknown)");
		json_decref(j);
		cli_resp_free(&r);
	}
	return 0;
}
