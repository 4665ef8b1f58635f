/*
 * ops.h - the node's own health and performance: GET /healthz and
 * GET /metrics (Prometheus text format). Subsystems add their metrics by
 * registering a collector that appends exposition text.
 */
#ifndef CIIP_OPS_H
#define CIIP_OPS_H

#include "core/core.h"
#include "http/http.h"
#include "store/store.h"

struct ops;

/* Appends Prometheus text (with # HELP and # TYPE lines) to out. */
typedef void (*ops_collector_fn)(struct buf *out, void *arg);

struct ops *ops_new(struct store *st, struct http_server *srv, const char *version);
void ops_free(struct ops *o);
/* Registers GET /healthz and GET /metrics. */
void ops_routes(struct ops *o, struct http_server *srv);
void ops_add_collector(struct ops *o, ops_collector_fn fn, void *arg);
/* Registers every subsystem's migrations with the store (call before
 * store_open in the daemon and the offline client alike). */
void ops_schema_register_all(void);
/* Resident set size of this process in bytes (0 if unknown). */
int64_t ops_process_rss_bytes(void);

#endif
