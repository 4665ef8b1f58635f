/* http_int.h - what the http subsystem's files share: the request and
 * server structures, the router and the per-route statistics. */
#ifndef CIIP_HTTP_INT_H
#define CIIP_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "http/http.h"

#define HTTP_MAX_SEGMENTS 32
/* How much of an oversized chunked body is read and thrown away before the
 * 413 is sent anyway. */
#define HTTP_MAX_DISCARD_BYTES (512LL * 1024 * 1024)
#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_ROUTES 256
#define HTTP_MAX_STYLES 8
#define HTTP_MAX_STATUSES 24

/* Upper bounds of the latency histogram, in seconds (Prometheus `le`). */
#define HTTP_LATENCY_BUCKETS 12
extern const double http_latency_bounds[HTTP_LATENCY_BUCKETS];

struct http_stats {
	const char *route; /* the pattern, or "static" / "unmatched" */
	pthread_mutex_t mu;
	int statuses[HTTP_MAX_STATUSES];
	uint64_t counts[HTTP_MAX_STATUSES];
	int nstatuses;
	uint64_t buckets[HTTP_LATENCY_BUCKETS + 1]; /* last is +Inf */
	double sum_s;
	uint64_t total;
};

struct http_route_def {
	unsigned methods;
	char *pattern;
	char *segs[HTTP_MAX_SEGMENTS];
	int nsegs;
	bool rest; /* ends in {*} */
	http_handler_fn fn;
	void *arg;
	struct http_stats stats;
};

struct http_style {
	char *prefix;
	http_error_fn fn;
};

struct http_server {
	struct http_opts o;
	char listen[256];
	char web_root[CONFIG_MAX_PATH];
	char *tls_cert_pem, *tls_key_pem;
	struct MHD_Daemon *d;
	int port;
	int listen_fd; /* -1 until bound */
	bool ipv6;
	struct http_route_def *routes[HTTP_MAX_ROUTES];
	int nroutes;
	struct http_style styles[HTTP_MAX_STYLES];
	int nstyles;
	http_before_fn before;
	void *before_arg;
	struct http_stats static_stats;
	struct http_stats unmatched_stats;
	atomic_uint_fast64_t active;
};

struct http_header {
	char *name, *value;
	struct http_header *next;
};

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method; /* MHD's, valid for the request */
	enum http_method method_id;
	char *path;
	char remote[64];
	struct buf body;
	bool too_large;
	int64_t discarded;
	bool answered;
	bool recorded;
	int status;
	int64_t start_ns;
	struct http_stats *stats;
	const char *route;
	char *pnames[HTTP_MAX_PARAMS];
	char *pvalues[HTTP_MAX_PARAMS];
	int nparams;
	struct http_header *headers;
	void *caller;
	void (*caller_free)(void *);
};

/* router (http_router.c) */
struct http_route_def *http_router_match(struct http_server *s, struct http_req *r,
                                         unsigned *allowed);
void http_stats_init(struct http_stats *st, const char *route);
void http_stats_record(struct http_stats *st, int status, double seconds);
void http_stats_destroy(struct http_stats *st);
/* static files (http_static.c) */
bool http_static_serve(struct http_req *r);

#endif
