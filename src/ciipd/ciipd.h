/* ciipd.h - the daemon's own files: the node, which holds one of each
 * subsystem, and the steps that start and seed it. */
#ifndef CIIP_CIIPD_H
#define CIIP_CIIPD_H

#include "advisory/advisory.h"
#include "auth/auth.h"
#include "cert/cert.h"
#include "core/core.h"
#include "detect/detect.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "ops/ops.h"
#include "store/store.h"
#include "taxii/taxii.h"

struct node {
	struct config cfg;
	char config_path[CONFIG_MAX_PATH];
	struct store *store;
	struct http_server *http;
	struct ops *ops;
	struct auth *auth;
	struct taxii *taxii;
	struct cert *cert;
	struct advisory *advisory;
	struct detect_alerts *alerts;
	struct detect_feed *feed;
	struct detect_pipeline *pipeline;
	struct ingest *ingest;
};

/* Seeds demo content into a fresh data directory and writes
 * DATA/demo-credentials.json. Safe to call on every start: what exists
 * already is left alone. */
int ciipd_demo_seed(struct node *n, struct err *e);
/* Prints the URLs the node serves. */
void ciipd_demo_banner(struct node *n);

#endif
