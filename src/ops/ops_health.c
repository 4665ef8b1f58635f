/* ops_health.c - /healthz and /metrics. */
#include "ops/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define OPS_MAX_COLLECTORS 32

struct ops {
	struct store *st;
	struct http_server *srv;
	char version[32];
	int64_t start_ms;
	ops_collector_fn collectors[OPS_MAX_COLLECTORS];
	void *collector_args[OPS_MAX_COLLECTORS];
	int ncollectors;
};

struct ops *
ops_new(struct store *st, struct http_server *srv, const char *version)
{
	struct ops *o = xcalloc(1, sizeof(*o));
	o->st = st;
	o->srv = srv;
	snprintf(o->version, sizeof(o->version), "%s", version);
	o->start_ms = time_now_ms();
	return o;
}

void
ops_free(struct ops *o)
{
	free(o);
}

void
ops_add_collector(struct ops *o, ops_collector_fn fn, void *arg)
{
	if (o->ncollectors == OPS_MAX_COLLECTORS)
		abort(); /* a programming error, found at start-up */
	o->collectors[o->ncollectors] = fn;
	o->collector_args[o->ncollectors] = arg;
	o->ncollectors++;
}

int64_t
ops_process_rss_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	if (fp == NULL)
		return 0;
	long long size = 0, resident = 0;
	int n = fscanf(fp, "%lld %lld", &size, &resident);
	fclose(fp);
	if (n != 2)
		return 0;
	return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

static void
healthz(struct http_req *r, void *arg)
{
	struct ops *o = arg;
	struct err e;
	err_clear(&e);
	int64_t up = (time_now_ms() - o->start_ms) / 1000;
	bool ok = store_health(o->st, &e) == 0;
	json_t *db = json_pack("{s:s,s:i,s:I}", "status", ok ? "ok" : "unavailable", "schema_version",
	                       store_schema_version(o->st), "size_bytes",
	                       (json_int_t)store_size_bytes(o->st));
	if (!ok)
		json_object_set_new(db, "error", json_string(e.msg));
	json_t *body = json_pack("{s:s,s:s,s:I,s:o}", "status", ok ? "ok" : "unavailable", "version",
	                         o->version, "uptime_s", (json_int_t)up, "database", db);
	if (!ok)
		log_warnx("ops", "health check failed: %s", e.msg);
	http_respond_json(r, ok ? 200 : 503, body);
}

static void
metrics(struct http_req *r, void *arg)
{
	struct ops *o = arg;
	struct buf b = {0};
	buf_printf(&b,
	           "# HELP ciip_build_info The running version.\n"
	           "# TYPE ciip_build_info gauge\nciip_build_info{version=\"%s\"} 1\n"
	           "# HELP ciip_uptime_seconds Seconds since the daemon started.\n"
	           "# TYPE ciip_uptime_seconds gauge\nciip_uptime_seconds %lld\n"
	           "# HELP ciip_db_size_bytes Size of the database on disk.\n"
	           "# TYPE ciip_db_size_bytes gauge\nciip_db_size_bytes %lld\n"
	           "# HELP process_resident_memory_bytes Resident memory of the daemon.\n"
	           "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %lld\n",
	           o->version, (long long)((time_now_ms() - o->start_ms) / 1000),
	           (long long)store_size_bytes(o->st), (long long)ops_process_rss_bytes());
	http_metrics_write(o->srv, &b);
	for (int i = 0; i < o->ncollectors; i++)
		o->collectors[i](&b, o->collector_args[i]);
	http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	buf_free(&b);
}

void
ops_routes(struct ops *o, struct http_server *srv)
{
	http_route(srv, HTTP_GET, "/healthz", healthz, o);
	http_route(srv, HTTP_GET, "/metrics", metrics, o);
}
