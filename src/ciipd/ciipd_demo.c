/*
 * ciipd_demo.c - demo mode: seeds a fresh node with content for each
 * subsystem and writes DATA/demo-credentials.json describing the accounts.
 */
#include "ciipd/ciipd.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* True when the node has no organisation yet: demo content goes only into a
 * fresh node, never over an operator's data. */
static bool
node_is_empty(struct node *n)
{
	struct store_conn *c = store_reader_get(n->store);
	bool empty = auth_org_root(c) == 0;
	store_reader_put(n->store, c);
	return empty;
}

int
ciipd_demo_seed(struct node *n, struct err *e)
{
	char path[CONFIG_MAX_PATH + 32];
	snprintf(path, sizeof(path), "%s/demo-credentials.json", n->cfg.data_dir);
	if (!node_is_empty(n)) {
		log_info("demo", "the node already has content; keeping it and %s", path);
		return 0;
	}
	json_t *accounts = json_array();
	if (auth_demo_seed(n->store, &n->cfg, accounts, e) != 0) {
		json_decref(accounts);
		return -1;
	}
	if (taxii_demo_seed(n->taxii, e) != 0) {
		json_decref(accounts);
		return -1;
	}
	if (cert_demo_seed(n->store, &n->cfg, e) != 0 ||
	    advisory_demo_seed(n->store, &n->cfg, e) != 0 ||
	    ingest_demo_seed(n->ingest, accounts, e) != 0) {
		json_decref(accounts);
		return -1;
	}
	char url[300];
	snprintf(url, sizeof(url), "%s://%s", http_server_tls(n->http) ? "https" : "http",
	         n->cfg.http_listen);
	json_t *creds = json_pack("{s:s,s:s,s:s,s:o}", "node", "ciip demo node", "url", url, "note",
	                          "demo accounts only; never use these on a real node. Log in with "
	                          "the password and a TOTP code from totp_secret (RFC 6238, SHA-1, "
	                          "6 digits, 30 s)",
	                          "accounts", accounts);
	int rc = json_dump_file(creds, path, JSON_INDENT(2));
	json_decref(creds);
	if (rc == 0)
		rc = chmod(path, 0600); /* it holds passwords */
	log_info("demo", "seeded demo content; accounts are in %s", path);
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
