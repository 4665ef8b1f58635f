/*
 * ciipd_demo.c - demo mode: seeds a fresh node with content for each
 * subsystem and writes DATA/demo-credentials.json describing the accounts.
 */
#include "ciipd/ciipd.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int
ciipd_demo_seed(struct node *n, struct err *e)
{
	json_t *creds = json_pack("{s:s,s:s,s:[]}", "node", "ciip demo node", "note",
	                          "demo accounts only; never use these on a real node", "accounts");
	char path[CONFIG_MAX_PATH + 32];
	snprintf(path, sizeof(path), "%s/demo-credentials.json", n->cfg.data_dir);
	int rc = json_dump_file(creds, path, JSON_INDENT(2));
	json_decref(creds);
	if (rc != 0) {
		err_set(e, "cannot write %s", path);
		return -1;
	}
	return 0;
}

void
ciipd_demo_banner(struct node *n)
{
	char host[256];
	int port;
	if (parse_hostport(n->cfg.http_listen, host, sizeof(host), &port) != 0)
		return;
	const char *scheme = http_server_tls(n->http) ? "https" : "http";
	port = http_server_port(n->http);
	printf("\nciip demo node is running\n"
	       "  console:     %s://%s:%d/\n"
	       "  health:      %s://%s:%d/healthz\n"
	       "  metrics:     %s://%s:%d/metrics\n"
	       "  accounts:    %s/demo-credentials.json\n"
	       "Press Ctrl-C to stop.\n\n",
	       scheme, host, port, scheme, host, port, scheme, host, port, n->cfg.data_dir);
	fflush(stdout);
}
