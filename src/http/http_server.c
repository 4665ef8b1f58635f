/*
 * http_server.c - the libmicrohttpd daemon: reading requests within limits,
 * dispatching to routes, answering, and recording each request's status and
 * latency when it completes.
 */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct {
	const char *name;
	enum http_method id;
} methods[] = {
	{"GET", HTTP_GET},       {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},
	{"PUT", HTTP_PUT},       {"PATCH", HTTP_PATCH},   {"DELETE", HTTP_DELETE},
	{"OPTIONS", HTTP_OPTIONS},
};

static char *
read_pem(const char *path, struct err *e)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		err_set(e, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && b.len < 1024 * 1024)
		buf_append(&b, chunk, n);
	fclose(fp);
	if (b.len == 0) {
		err_set(e, "%s is empty", path);
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

struct http_server *
http_server_new(const struct http_opts *o, struct err *e)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->o = *o;
	snprintf(s->listen, sizeof(s->listen), "%s", o->listen);
	s->o.listen = s->listen;
	snprintf(s->web_root, sizeof(s->web_root), "%s", o->web_root ? o->web_root : "");
	s->o.web_root = s->web_root;
	bool cert = o->tls_cert && o->tls_cert[0];
	bool key = o->tls_key && o->tls_key[0];
	if (cert != key) {
		err_set(e, "http.tls.cert and http.tls.key must be set together");
		free(s);
		return NULL;
	}
	if (cert) {
		s->tls_cert_pem = read_pem(o->tls_cert, e);
		s->tls_key_pem = s->tls_cert_pem ? read_pem(o->tls_key, e) : NULL;
		if (s->tls_key_pem == NULL) {
			free(s->tls_cert_pem);
			free(s);
			return NULL;
		}
	}
	http_stats_init(&s->static_stats, "static");
	http_stats_init(&s->unmatched_stats, "unmatched");
	s->listen_fd = -1;
	return s;
}

void
http_error_style(struct http_server *s, const char *prefix, http_error_fn fn)
{
	if (s->nstyles == HTTP_MAX_STYLES)
		abort();
	s->styles[s->nstyles].prefix = xstrdup(prefix);
	s->styles[s->nstyles].fn = fn;
	s->nstyles++;
}

void
http_set_before(struct http_server *s, http_before_fn fn, void *arg)
{
	s->before = fn;
	s->before_arg = arg;
}

/* ---- requests ---- */

static void
req_free(struct http_req *r)
{
	for (int i = 0; i < r->nparams; i++) {
		free(r->pnames[i]);
		free(r->pvalues[i]);
	}
	for (struct http_header *h = r->headers, *nx; h; h = nx) {
		nx = h->next;
		free(h->name);
		free(h->value);
		free(h);
	}
	if (r->caller && r->caller_free)
		r->caller_free(r->caller);
	buf_free(&r->body);
	free(r->path);
	free(r);
}

const char *
http_req_method(struct http_req *r)
{
	return r->method;
}

enum http_method
http_req_method_id(struct http_req *r)
{
	return r->method_id;
}

const char *
http_req_path(struct http_req *r)
{
	return r->path;
}

const char *
http_req_param(struct http_req *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (strcmp(r->pnames[i], name) == 0)
			return r->pvalues[i];
	return NULL;
}

const char *
http_req_query(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct query_iter {
	void (*fn)(const char *, const char *, void *);
	void *arg;
};

static enum MHD_Result
query_iter_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_iter *it = cls;
	it->fn(key, value ? value : "", it->arg);
	return MHD_YES;
}

void
http_req_query_each(struct http_req *r, void (*fn)(const char *, const char *, void *), void *arg)
{
	struct query_iter it = {fn, arg};
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_iter_cb, &it);
}

const char *
http_req_header(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
http_req_body(struct http_req *r, size_t *len)
{
	if (len)
		*len = r->body.len;
	return r->body.data ? r->body.data : "";
}

json_t *
http_req_json(struct http_req *r)
{
	json_error_t je;
	if (r->body.len == 0) {
		http_respond_error(r, 400, "bad_request", "the request needs a JSON body");
		return NULL;
	}
	json_t *j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		http_respond_error(r, 400, "bad_json", "malformed JSON at line %d, column %d: %s",
		                   je.line, je.column, je.text);
		return NULL;
	}
	return j;
}

const char *
http_req_remote(struct http_req *r)
{
	return r->remote;
}

bool
http_req_tls(struct http_req *r)
{
	return r->srv->tls_cert_pem != NULL;
}

void
http_req_set_caller(struct http_req *r, void *caller, void (*free_fn)(void *))
{
	if (r->caller && r->caller_free)
		r->caller_free(r->caller);
	r->caller = caller;
	r->caller_free = free_fn;
}

void *
http_req_caller(struct http_req *r)
{
	return r->caller;
}

const char *
http_req_route(struct http_req *r)
{
	return r->route ? r->route : "";
}

bool
http_req_answered(struct http_req *r)
{
	return r->answered;
}

/* ---- responses ---- */

void
http_resp_header(struct http_req *r, const char *name, const char *value)
{
	struct http_header *h = xcalloc(1, sizeof(*h));
	h->name = xstrdup(name);
	h->value = xstrdup(value);
	h->next = r->headers;
	r->headers = h;
}

static void
queue(struct http_req *r, int status, struct MHD_Response *resp, const char *content_type)
{
	if (r->answered) {
		log_errorx("http", "%s %s: answered twice", r->method, r->path);
		MHD_destroy_response(resp);
		return;
	}
	r->answered = true;
	r->status = status;
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	for (struct http_header *h = r->headers; h; h = h->next)
		MHD_add_response_header(resp, h->name, h->value);
	if (r->too_large)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (MHD_queue_response(r->conn, (unsigned)status, resp) != MHD_YES)
		log_warnx("http", "%s %s: cannot queue the %d response", r->method, r->path, status);
	MHD_destroy_response(resp);
	/* Counted when answered, not when the connection is done with it, so
	 * that a client that reads /metrics next sees its previous request. */
	r->recorded = true;
	http_stats_record(r->stats, status, (double)(time_mono_ns() - r->start_ns) / 1e9);
}

void
http_respond(struct http_req *r, int status, const char *content_type, const void *body,
             size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	queue(r, status, resp, content_type);
}

void
http_respond_file(struct http_req *r, int status, const char *content_type, int fd,
                  uint64_t size)
{
	struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
	if (resp == NULL) {
		close(fd);
		http_respond_error(r, 500, "internal", "cannot send the file");
		return;
	}
	queue(r, status, resp, content_type);
}

void
http_respond_json_type(struct http_req *r, int status, const char *content_type, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (text == NULL) {
		http_error_json(r, 500, "internal", "cannot encode the response");
		return;
	}
	size_t len = strlen(text);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	queue(r, status, resp, content_type);
}

void
http_respond_json(struct http_req *r, int status, json_t *body)
{
	http_resp_header(r, "Cache-Control", "no-store");
	http_respond_json_type(r, status, "application/json", body);
}

void
http_error_json(struct http_req *r, int status, const char *code, const char *message)
{
	json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
	http_respond_json(r, status, j);
}

void
http_respond_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_error_fn fn = http_error_json;
	size_t best = 0;
	for (int i = 0; i < r->srv->nstyles; i++) {
		size_t n = strlen(r->srv->styles[i].prefix);
		if (n > best && strncmp(r->path, r->srv->styles[i].prefix, n) == 0) {
			best = n;
			fn = r->srv->styles[i].fn;
		}
	}
	fn(r, status, code, msg);
}

/* ---- the daemon's callbacks ---- */

static void
dispatch(struct http_req *r)
{
	struct http_server *s = r->srv;
	if (r->too_large) {
		http_respond_error(r, 413, "too_large", "the request body is larger than %lld bytes",
		                   (long long)s->o.max_body_bytes);
		return;
	}
	unsigned allowed = 0;
	struct http_route_def *rt = http_router_match(s, r, &allowed);
	if (rt) {
		r->stats = &rt->stats;
		r->route = rt->pattern;
	}
	if (s->before && !s->before(r, s->before_arg)) {
		if (!r->answered)
			http_respond_error(r, 403, "forbidden", "refused");
		return;
	}
	if (rt) {
		rt->fn(r, rt->arg);
		if (!r->answered) {
			log_errorx("http", "%s %s: handler gave no answer", r->method, r->path);
			http_respond_error(r, 500, "internal", "the handler gave no answer");
		}
		return;
	}
	if (allowed) {
		char allow[128] = "";
		for (size_t i = 0; i < CIIP_ARRAY_LEN(methods); i++) {
			if (!(allowed & methods[i].id))
				continue;
			if (allow[0])
				strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
			strncat(allow, methods[i].name, sizeof(allow) - strlen(allow) - 1);
		}
		http_resp_header(r, "Allow", allow);
		http_respond_error(r, 405, "method_not_allowed", "%s is not allowed on %s", r->method,
		                   r->path);
		return;
	}
	if (r->method_id == HTTP_GET || r->method_id == HTTP_HEAD) {
		r->stats = &s->static_stats;
		r->route = "static";
		if (http_static_serve(r))
			return;
		r->stats = &s->unmatched_stats;
		r->route = NULL;
	}
	http_respond_error(r, 404, "not_found", "no such resource: %s", r->path);
}

static struct http_req *
req_new(struct http_server *s, struct MHD_Connection *conn, const char *url, const char *method)
{
	struct http_req *r = xcalloc(1, sizeof(*r));
	r->srv = s;
	r->conn = conn;
	r->method = method;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(methods); i++)
		if (strcmp(method, methods[i].name) == 0)
			r->method_id = methods[i].id;
	r->path = xstrdup(url);
	r->start_ns = time_mono_ns();
	r->stats = &s->unmatched_stats;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			          r->remote, sizeof(r->remote));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			          r->remote, sizeof(r->remote));
	}
	return r;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (r == NULL) {
		r = req_new(s, conn, url, method);
		*con_cls = r;
		atomic_fetch_add(&s->active, 1);
		/* Refuse an announced oversized body before reading any of it. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t n;
		if (cl && parse_int64(cl, 0, INT64_MAX, &n) == 0 && n > s->o.max_body_bytes) {
			/* A client that asked "Expect: 100-continue" waits for this
			 * answer and sends nothing; one that did not is already
			 * sending, and is answered once its body is read and
			 * discarded (see below), unless the body is absurdly big. */
			const char *expect =
				MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
			r->too_large = true;
			if ((expect && strcasecmp(expect, "100-continue") == 0) ||
			    n > HTTP_MAX_DISCARD_BYTES)
				dispatch(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!r->answered) {
			if (r->too_large || r->body.len + *upload_data_size > (size_t)s->o.max_body_bytes) {
				/* A chunked body over the limit. Answering now would make
				 * the server close while the client is still sending,
				 * and the client would see a reset instead of the 413: so
				 * read and discard to the end, up to a cap after which
				 * the client is cut off regardless. */
				if (!r->too_large)
					buf_free(&r->body);
				r->too_large = true;
				r->discarded += *upload_data_size;
				if (r->discarded > HTTP_MAX_DISCARD_BYTES)
					dispatch(r);
			} else {
				buf_append(&r->body, upload_data, *upload_data_size);
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!r->answered)
		dispatch(r);
	return MHD_YES;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (r == NULL)
		return;
	if (!r->recorded) /* the client went away before an answer */
		http_stats_record(r->stats, 0, (double)(time_mono_ns() - r->start_ns) / 1e9);
	req_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&s->active, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("http", "libmicrohttpd: %s", msg);
}

int
http_server_bind(struct http_server *s, struct err *e)
{
	int fd = net_listen(s->o.listen, SOCK_STREAM, 512, &s->ipv6, &s->port, e);
	if (fd < 0)
		return -1;
	s->listen_fd = fd;
	return 0;
}

int
http_server_start(struct http_server *s, struct err *e)
{
	if (s->listen_fd < 0 && http_server_bind(s, e) != 0)
		return -1;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
	                 MHD_USE_ERROR_LOG;
	if (s->ipv6)
		flags |= MHD_USE_IPv6;
	if (s->tls_cert_pem) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			err_set(e, "this libmicrohttpd was built without TLS");
			return -1;
		}
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem},
		{MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
	/* The connection memory pool holds the request line and headers: its
	 * size is the header limit (libmicrohttpd answers 431 past it). */
	s->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->listen_fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->o.threads, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)s->o.request_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)s->o.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)s->o.max_header_bytes, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_ARRAY,
		s->tls_cert_pem ? tls_opts : no_opts, MHD_OPTION_END);
	if (s->d == NULL) {
		err_set(e, "cannot start serving on %s", s->o.listen);
		return -1;
	}
	/* libmicrohttpd owns the socket now and closes it on stop. */
	return 0;
}

int
http_server_port(struct http_server *s)
{
	return s->port;
}

bool
http_server_tls(struct http_server *s)
{
	return s->tls_cert_pem != NULL;
}

void
http_server_stop(struct http_server *s, int wait_ms)
{
	if (s->d == NULL)
		return;
	/* Stop accepting, then give requests in flight time to finish. */
	MHD_socket fd = MHD_quiesce_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	s->listen_fd = -1;
	for (int waited = 0; waited < wait_ms && atomic_load(&s->active) > 0; waited += 10) {
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(s->d);
	s->d = NULL;
}

void
http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	if (s->d)
		http_server_stop(s, 0);
	else if (s->listen_fd >= 0)
		close(s->listen_fd);
	for (int i = 0; i < s->nroutes; i++) {
		struct http_route_def *r = s->routes[i];
		for (int j = 0; j < r->nsegs; j++)
			free(r->segs[j]);
		http_stats_destroy(&r->stats);
		free(r->pattern);
		free(r);
	}
	for (int i = 0; i < s->nstyles; i++)
		free(s->styles[i].prefix);
	http_stats_destroy(&s->static_stats);
	http_stats_destroy(&s->unmatched_stats);
	free(s->tls_cert_pem);
	free(s->tls_key_pem);
	free(s);
}

static void
write_stats(struct http_stats *st, struct buf *out)
{
	pthread_mutex_lock(&st->mu);
	for (int i = 0; i < st->nstatuses; i++)
		buf_printf(out, "ciip_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
		           st->route, st->statuses[i], (unsigned long long)st->counts[i]);
	uint64_t cum = 0;
	for (int b = 0; b < HTTP_LATENCY_BUCKETS; b++) {
		cum += st->buckets[b];
		buf_printf(out, "ciip_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
		           st->route, http_latency_bounds[b], (unsigned long long)cum);
	}
	cum += st->buckets[HTTP_LATENCY_BUCKETS];
	buf_printf(out, "ciip_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
	           st->route, (unsigned long long)cum);
	buf_printf(out, "ciip_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", st->route,
	           st->sum_s);
	buf_printf(out, "ciip_http_request_duration_seconds_count{route=\"%s\"} %llu\n", st->route,
	           (unsigned long long)st->total);
	pthread_mutex_unlock(&st->mu);
}

void
http_metrics_write(struct http_server *s, struct buf *out)
{
	buf_puts(out, "# HELP ciip_http_requests_total HTTP requests answered, by route and status.\n"
	              "# TYPE ciip_http_requests_total counter\n");
	struct buf hist = {0};
	for (int i = 0; i < s->nroutes; i++)
		write_stats(&s->routes[i]->stats, &hist);
	write_stats(&s->static_stats, &hist);
	write_stats(&s->unmatched_stats, &hist);
	/* write_stats interleaves counters and histograms; split them so each
	 * metric family is contiguous, as the exposition format asks. */
	struct buf counters = {0}, histo = {0};
	for (char *line = hist.data, *nl; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		struct buf *dst = strncmp(line, "ciip_http_requests_total", 24) == 0 ? &counters : &histo;
		buf_append(dst, line, (size_t)(nl - line) + 1);
	}
	if (counters.len)
		buf_append(out, counters.data, counters.len);
	buf_puts(out, "# HELP ciip_http_request_duration_seconds Time from request to answer.\n"
	              "# TYPE ciip_http_request_duration_seconds histogram\n");
	if (histo.len)
		buf_append(out, histo.data, histo.len);
	buf_printf(out,
	           "# HELP ciip_http_requests_in_flight Requests being served.\n"
	           "# TYPE ciip_http_requests_in_flight gauge\nciip_http_requests_in_flight %llu\n",
	           (unsigned long long)atomic_load(&s->active));
	buf_free(&hist);
	buf_free(&counters);
	buf_free(&histo);
}
