/*
 * ingest_core.c - the ingest subsystem's life: the sensors registry, the
 * spool and its reader, the listeners, enrichment, and the HTTP endpoints
 * sensors and analysts use (POST /api/v1/events, /api/v1/sensors).
 */
#include "ingest/ingest_sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void
ingest_batch_free(struct ingest_batch *b)
{
	if (b == NULL)
		return;
	free(b->data);
	free(b);
}

void
ingest_batch_done(struct ingest *in, struct ingest_batch *b)
{
	if (b->spool_seq && in->spool)
		ingest_spool_done(in->spool, b->spool_seq);
	ingest_batch_free(b);
}

bool
ingest_ip_private(const struct ingest_ip *ip)
{
	const uint8_t *a = ip->a;
	if (ip->family == 4) {
		const uint8_t *v = a + 12;
		return v[0] == 10 || (v[0] == 172 && (v[1] & 0xf0) == 16) ||
		       (v[0] == 192 && v[1] == 168) || v[0] == 127 || (v[0] == 169 && v[1] == 254) ||
		       (v[0] == 100 && (v[1] & 0xc0) == 64) || v[0] == 0;
	}
	if (ip->family == 6) {
		static const uint8_t loop[16] = {[15] = 1};
		return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
		       memcmp(a, loop, 16) == 0;
	}
	return false;
}

void
ingest_enrich(struct ingest *in, struct ingest_event *ev)
{
	ingest_enrich_event(in->enrich, ev);
}

/* The spool's reader: hands spooled batches to the pipeline in order. */
static void *
spool_reader(void *arg)
{
	struct ingest *in = arg;
	for (;;) {
		struct ingest_spool_rec rec;
		int rc = ingest_spool_next(in->spool, &rec);
		if (rc <= 0)
			break;
		struct ingest_sensor *se = ingest_sensor_by_id(in, rec.sensor_id);
		struct ingest_batch *b = xcalloc(1, sizeof(*b));
		b->sensor_id = rec.sensor_id;
		b->org_id = rec.org_id;
		b->fmt = rec.fmt;
		b->mapping = se ? se->mapping : NULL;
		b->data = rec.data;
		b->len = rec.len;
		b->spool_seq = rec.seq;
		if (queue_push(in->out, b) != 0) {
			ingest_batch_free(b);
			break;
		}
	}
	return NULL;
}

struct ingest *
ingest_new(struct store *st, const struct config *cfg, struct queue *out, struct err *e)
{
	struct ingest *in = xcalloc(1, sizeof(*in));
	in->st = st;
	in->cfg = cfg;
	in->out = out;
	pthread_rwlock_init(&in->sensors_lock, NULL);
	pthread_mutex_init(&in->dead_mu, NULL);
	char dead[CONFIG_MAX_PATH + 16];
	snprintf(dead, sizeof(dead), "%s/deadletter", cfg->data_dir);
	if (mkdir(dead, 0750) != 0 && errno != EEXIST) {
		err_set(e, "cannot create %s: %s", dead, strerror(errno));
		ingest_free(in);
		return NULL;
	}
	if (ingest_sensors_load(in, e) != 0) {
		ingest_free(in);
		return NULL;
	}
	in->spool = ingest_spool_open(cfg->data_dir, e);
	if (in->spool == NULL) {
		ingest_free(in);
		return NULL;
	}
	in->enrich = ingest_enrich_new(st, cfg->ingest_geoip_country, cfg->ingest_geoip_asn);
	return in;
}

int
ingest_start(struct ingest *in, struct err *e)
{
	if (pthread_create(&in->spool_thread, NULL, spool_reader, in) != 0) {
		err_set(e, "cannot start the spool reader");
		return -1;
	}
	in->spool_running = true;
	const struct config *c = in->cfg;
	struct {
		const char *kind, *addr, *sensor;
	} ls[] = {
		{"json-tcp", c->ingest_json_tcp, NULL},
		{"syslog-udp", c->ingest_syslog_udp, c->ingest_syslog_sensor},
		{"syslog-tcp", c->ingest_syslog_tcp, c->ingest_syslog_sensor},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(ls); i++) {
		if (ls[i].addr[0] == '\0')
			continue;
		struct ingest_listener *l = ingest_listener_start(
			in, ls[i].kind, ls[i].addr, ls[i].sensor, (size_t)c->ingest_max_connections, e);
		if (l == NULL && c->demo) {
			/* Demo listeners are a convenience: another node may hold the port. */
			log_warnx("ingest", "demo %s listener not started: %s", ls[i].kind, e->msg);
			continue;
		}
		if (l == NULL)
			return -1;
		in->listeners[in->nlisteners++] = l;
	}
	return 0;
}

void
ingest_stop(struct ingest *in)
{
	for (int i = 0; i < in->nlisteners; i++)
		ingest_listener_stop(in->listeners[i]);
	in->nlisteners = 0;
	if (in->spool)
		ingest_spool_stop(in->spool);
	if (in->spool_running) {
		pthread_join(in->spool_thread, NULL);
		in->spool_running = false;
	}
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	ingest_stop(in);
	ingest_spool_close(in->spool);
	ingest_enrich_free(in->enrich);
	for (size_t i = 0; i < in->nsensors; i++) {
		ingest_mapping_free(in->sensors[i]->mapping);
		free(in->sensors[i]);
	}
	pthread_rwlock_destroy(&in->sensors_lock);
	pthread_mutex_destroy(&in->dead_mu);
	free(in);
}

void
ingest_housekeeping(struct ingest *in, double dt_s)
{
	ingest_sensors_tick(in, dt_s);
	if (in->spool)
		ingest_spool_checkpoint(in->spool);
	ingest_enrich_reload(in->enrich);
	struct err e;
	(void)ingest_sensors_load(in, &e);
}

/* ---- HTTP ---- */

/* POST /api/v1/events: a JSON array (of objects or strings) or JSON lines.
 * The answer 202 means the batch is in the spool, on disk. */
static void
h_events(struct http_req *r, void *arg)
{
	struct ingest *in = arg;
	const struct auth_caller *c = auth_caller_of(r);
	enum auth_decision d = auth_check(c, AUTH_EVENTS_WRITE, NULL);
	if (d != AUTH_ALLOW) {
		json_t *out = NULL;
		int st = auth_refuse(d, &out);
		auth_http_reply(r, st, out);
		return;
	}
	struct ingest_sensor *se = c->token_id ? ingest_sensor_by_token(in, c->token_id) : NULL;
	if (se == NULL) {
		const char *name = http_req_query(r, "sensor");
		se = name && c->role == AUTH_ROLE_ADMIN ? ingest_sensor_by_name(in, name) : NULL;
	}
	if (se == NULL) {
		http_respond_error(r, 403, "forbidden",
		                   "events come from a registered sensor's token (or an admin naming "
		                   "?sensor=)");
		return;
	}
	size_t len;
	const char *body = http_req_body(r, &len);
	size_t i = 0;
	while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
		i++;
	struct buf lines = {0};
	size_t n = 0;
	/* A JSON array only when the body says it is JSON: a log line may
	 * begin with '[' (Unbound's "[1709366400] unbound[...]"). */
	const char *ctype = http_req_header(r, "Content-Type");
	bool json_body = ctype == NULL || strncmp(ctype, "application/json", 16) == 0;
	if (json_body && i < len && body[i] == '[') {
		json_error_t je;
		json_t *arr = json_loadb(body, len, 0, &je);
		if (!json_is_array(arr)) {
			json_decref(arr);
			http_respond_error(r, 400, "bad_json", "malformed JSON array at line %d, column %d: %s",
			                   je.line, je.column, je.text);
			return;
		}
		size_t k;
		json_t *v;
		json_array_foreach(arr, k, v)
		{
			if (json_is_string(v)) {
				const char *s = json_string_value(v);
				size_t sl = json_string_length(v);
				if (memchr(s, '\n', sl)) {
					json_decref(arr);
					buf_free(&lines);
					http_respond_error(r, 400, "bad_request",
					                   "element %zu: a log line may not contain a newline", k);
					return;
				}
				buf_append(&lines, s, sl);
			} else {
				char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
				buf_puts(&lines, t ? t : "");
				free(t);
			}
			buf_append(&lines, "\n", 1);
			n++;
		}
		json_decref(arr);
	} else {
		for (size_t p = 0; p < len;) {
			const char *nl = memchr(body + p, '\n', len - p);
			size_t e = nl ? (size_t)(nl - body) : len;
			size_t ll = e - p;
			if (ll && body[p + ll - 1] == '\r')
				ll--;
			if (ll) {
				buf_append(&lines, body + p, ll);
				buf_append(&lines, "\n", 1);
				n++;
			}
			p = e + 1;
		}
	}
	if (n == 0) {
		buf_free(&lines);
		http_respond_error(r, 400, "bad_request", "no events in the body");
		return;
	}
	uint64_t seq = 0;
	struct err e;
	err_clear(&e);
	if (ingest_spool_append(in->spool, se->id, se->org_id, se->fmt, lines.data, lines.len, &seq,
	                        &e) != 0) {
		buf_free(&lines);
		log_errorx("ingest", "sensor %s: cannot spool a batch: %s", se->name, e.msg);
		http_respond_error(r, 503, "unavailable", "cannot store the batch: %s", e.msg);
		return;
	}
	buf_free(&lines);
	http_respond_json(r, 202, json_pack("{s:I,s:I,s:s}", "accepted", (json_int_t)n, "batch",
	                                    (json_int_t)seq, "sensor", se->name));
}

static void
h_sensors(struct http_req *r, void *arg)
{
	struct ingest *in = arg;
	struct auth_ctx x = {.st = in->st, .cfg = in->cfg, .caller = auth_caller_of(r),
	                     .remote = http_req_remote(r)};
	json_t *out = NULL;
	int st;
	if (http_req_method_id(r) == HTTP_POST) {
		json_t *body = http_req_json(r);
		if (body == NULL)
			return;
		st = ingest_svc_sensor_create(in, &x, body, &out);
		json_decref(body);
	} else {
		st = ingest_svc_sensor_list(in, &x, &out);
	}
	auth_http_reply(r, st, out);
}

void
ingest_routes(struct ingest *in, struct http_server *srv)
{
	http_route(srv, HTTP_POST, "/api/v1/events", h_events, in);
	http_route(srv, HTTP_GET | HTTP_POST, "/api/v1/sensors", h_sensors, in);
}
