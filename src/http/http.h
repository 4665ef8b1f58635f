/*
 * http.h - the HTTP/1.1 server (libmicrohttpd with its own epoll thread
 * pool), a small router, JSON request and response helpers, limits, TLS and
 * static files.
 *
 * A handler is called once per request, with the whole body already read
 * and within limits, on one of the server's threads. It answers with exactly
 * one http_respond_*() call; a handler that answers nothing gets a 500.
 * Every error the server produces itself (404, 405, 413, 431, 400 for bad
 * JSON) uses the error writer of the longest matching path prefix, so that
 * /taxii2/ answers TAXII error messages and everything else answers
 * {"error": {"code": ..., "message": ...}}.
 */
#ifndef CIIP_HTTP_H
#define CIIP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

struct http_server;
struct http_req;

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_PATCH = 1 << 4,
	HTTP_DELETE = 1 << 5,
	HTTP_OPTIONS = 1 << 6,
};

struct http_opts {
	const char *listen; /* "addr:port" */
	int threads;
	int64_t max_body_bytes;
	int64_t max_header_bytes;
	int64_t request_timeout_s;
	int64_t max_connections;
	const char *tls_cert; /* PEM file paths; both set turns TLS on */
	const char *tls_key;
	const char *web_root; /* static files; NULL or "" for none */
};

typedef void (*http_handler_fn)(struct http_req *req, void *arg);
/* Writes an error response in the style of a path prefix. message is for
 * people; code is a short machine word such as "not_found". */
typedef void (*http_error_fn)(struct http_req *req, int status, const char *code,
                              const char *message);
/* Called before routing; may set the caller (http_req_set_caller) and may
 * answer the request itself (then it returns false to stop routing). */
typedef bool (*http_before_fn)(struct http_req *req, void *arg);

struct http_server *http_server_new(const struct http_opts *o, struct err *e);
/* Routes: segments separated by '/', "{name}" captures one segment, a final
 * "{*}" captures the rest. A trailing slash is optional on both sides. */
void http_route(struct http_server *s, unsigned methods, const char *pattern, http_handler_fn fn,
                void *arg);
void http_error_style(struct http_server *s, const char *prefix, http_error_fn fn);
void http_set_before(struct http_server *s, http_before_fn fn, void *arg);
/* Binds and listens (so that privileges can be dropped before serving). */
int http_server_bind(struct http_server *s, struct err *e);
/* Starts serving; binds first if http_server_bind was not called. */
int http_server_start(struct http_server *s, struct err *e);
/* The port actually bound (useful with port 0). */
int http_server_port(struct http_server *s);
bool http_server_tls(struct http_server *s);
/* Stops accepting, lets requests in flight finish (up to wait_ms), stops. */
void http_server_stop(struct http_server *s, int wait_ms);
void http_server_free(struct http_server *s);
/* Appends the server's Prometheus metrics (requests by route and status,
 * latency histogram, connections) to out. */
void http_metrics_write(struct http_server *s, struct buf *out);

/* ---- the request ---- */
const char *http_req_method(struct http_req *r);
enum http_method http_req_method_id(struct http_req *r);
const char *http_req_path(struct http_req *r);
/* A "{name}" capture from the route; NULL if absent. */
const char *http_req_param(struct http_req *r, const char *name);
/* First value of a query argument (decoded); NULL if absent. */
const char *http_req_query(struct http_req *r, const char *name);
/* Calls fn for every query argument, in order. */
void http_req_query_each(struct http_req *r, void (*fn)(const char *k, const char *v, void *arg),
                         void *arg);
const char *http_req_header(struct http_req *r, const char *name);
const char *http_req_body(struct http_req *r, size_t *len);
/* Parses the body as JSON. On failure answers 400 with the parse error
 * (line and column) and returns NULL. The caller owns the result. */
json_t *http_req_json(struct http_req *r);
/* The peer's address as text ("127.0.0.1"). */
const char *http_req_remote(struct http_req *r);
bool http_req_tls(struct http_req *r);
/* Whoever the before-hook decided is asking; opaque to http. free_fn (may be
 * NULL) is called when the request ends. */
void http_req_set_caller(struct http_req *r, void *caller, void (*free_fn)(void *));
void *http_req_caller(struct http_req *r);
/* The route pattern that matched, for metrics and logs. */
const char *http_req_route(struct http_req *r);
bool http_req_answered(struct http_req *r);

/* ---- the response ---- */
/* Adds a header to the response to come. */
void http_resp_header(struct http_req *r, const char *name, const char *value);
/* Sends body (copied) with the given content type. */
void http_respond(struct http_req *r, int status, const char *content_type, const void *body,
                  size_t len);
/* Sends JSON; takes the reference to body. */
void http_respond_json(struct http_req *r, int status, json_t *body);
/* Sends JSON with a given media type; takes the reference. */
void http_respond_json_type(struct http_req *r, int status, const char *content_type,
                            json_t *body);
/* Sends an error in the style of the request's path prefix. */
void http_respond_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
	CIIP_PRINTF(4, 5);
/* The default style: {"error": {"code": code, "message": message}}. */
void http_error_json(struct http_req *r, int status, const char *code, const char *message);
/* Sends a file from disk (for static files and downloads). */
void http_respond_file(struct http_req *r, int status, const char *content_type, int fd,
                       uint64_t size);

#endif
