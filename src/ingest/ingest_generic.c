/*
 * ingest_generic.c - JSON records of any shape, decoded through a mapping
 * configured per sensor: an object from ECS field name to a path in the
 * sensor's records,
 *
 *   {"source.ip": "client.addr", "destination.port": "server.port",
 *    "event.dataset": {"const": "alert"}, "rule.name": "detail.0.title"}
 *
 * A path is dot-separated; a numeric segment selects an array element. A
 * value {"const": "text"} sets the field to that text on every record.
 * "event.dataset" takes a kind name (ingest_kind_name()); without it, or with
 * an unknown name, records are INGEST_EV_LOG.
 *
 * The mapping compiles into a scanner spec, so decoding is the same single
 * validating pass as for EVE and allocates nothing. Being per-sensor input,
 * values are read leniently: a number where a string is mapped gives its
 * text, a string of digits where a number is mapped gives the number.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_int.h"

enum gtype { G_STR, G_IP, G_PORT, G_INT, G_INT32, G_TS, G_KIND, G_PROTO, G_URL };

#define F(name, type, field) {name, type, offsetof(struct ingest_event, field)}
static const struct gfield {
	const char *name;
	enum gtype type;
	size_t off;
} gfields[] = {
	F("@timestamp", G_TS, ts_ms),
	F("event.dataset", G_KIND, kind),
	F("event.severity", G_INT32, severity),
	F("event.action", G_STR, action),
	F("observer.name", G_STR, sensor),
	F("source.ip", G_IP, src_ip),
	F("source.port", G_PORT, src_port),
	F("source.bytes", G_INT, bytes_to_server),
	F("source.packets", G_INT, pkts_to_server),
	F("destination.ip", G_IP, dst_ip),
	F("destination.port", G_PORT, dst_port),
	F("destination.bytes", G_INT, bytes_to_client),
	F("destination.packets", G_INT, pkts_to_client),
	F("network.transport", G_PROTO, proto),
	F("network.protocol", G_STR, app_proto),
	F("flow.id", G_INT, flow_id),
	F("dns.question.name", G_STR, dns_qname),
	F("dns.question.type", G_STR, dns_qtype),
	F("url.full", G_URL, url_full),
	F("url.domain", G_STR, url_domain),
	F("url.path", G_STR, url_path),
	F("http.request.method", G_STR, http_method),
	F("http.response.status_code", G_INT32, http_status),
	F("user_agent.original", G_STR, user_agent),
	F("tls.client.server_name", G_STR, tls_sni),
	F("tls.client.ja3", G_STR, tls_ja3),
	F("file.name", G_STR, file_name),
	F("file.hash.sha256", G_STR, file_sha256),
	F("file.hash.md5", G_STR, file_md5),
	F("file.hash.sha1", G_STR, file_sha1),
	F("file.size", G_INT, file_size),
	F("email.from.address", G_STR, email_from),
	F("email.to.address", G_STR, email_to),
	F("email.subject", G_STR, email_subject),
	F("user.name", G_STR, user_name),
	F("process.command_line", G_STR, command),
	F("message", G_STR, message),
	F("rule.name", G_STR, rule_name),
	F("rule.id", G_INT, rule_id),
	F("host.hostname", G_STR, host_name),
	F("process.name", G_STR, app_name),
};
#undef F

#define GENERIC_MAX_FIELDS ((int)CIIP_ARRAY_LEN(gfields))

struct ingest_mapping {
	struct ingest_json_spec spec;
	const char *paths[CIIP_ARRAY_LEN(gfields)];
	char *owned[CIIP_ARRAY_LEN(gfields)];
	uint8_t path_field[CIIP_ARRAY_LEN(gfields)]; /* gfields index per path */
	int npaths;
	struct {
		uint8_t field;
		char *text;
		size_t len;
	} consts[CIIP_ARRAY_LEN(gfields)];
	int nconsts;
};

void
ingest_mapping_free(struct ingest_mapping *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < m->npaths; i++)
		free(m->owned[i]);
	for (int i = 0; i < m->nconsts; i++)
		free(m->consts[i].text);
	free(m);
}

struct ingest_mapping *
ingest_mapping_new(const json_t *spec, struct err *e)
{
	if (!json_is_object(spec)) {
		err_set(e, "a field mapping must be a JSON object");
		return NULL;
	}
	struct ingest_mapping *m = xcalloc(1, sizeof(*m));
	const char *name;
	json_t *val;
	json_object_foreach((json_t *)spec, name, val) {
		int f = -1;
		for (int i = 0; i < GENERIC_MAX_FIELDS; i++)
			if (strcmp(name, gfields[i].name) == 0)
				f = i;
		if (e != NULL)
			snprintf(e->key, sizeof(e->key), "%s", name);
		if (f < 0) {
			err_set(e, "unknown or unsupported ECS field");
			goto fail;
		}
		if (json_is_object(val) && json_is_string(json_object_get(val, "const")) &&
		    json_object_size(val) == 1) {
			json_t *cv = json_object_get(val, "const");
			m->consts[m->nconsts].field = (uint8_t)f;
			m->consts[m->nconsts].len = json_string_length(cv);
			m->consts[m->nconsts].text = xstrndup(json_string_value(cv), json_string_length(cv));
			m->nconsts++;
			continue;
		}
		const char *path = json_string_value(val);
		if (path == NULL || path[0] == '\0' || strlen(path) > 512 ||
		    strlen(path) != json_string_length(val)) {
			err_set(e, "the path must be a non-empty string or {\"const\": text}");
			goto fail;
		}
		m->owned[m->npaths] = xstrdup(path);
		m->paths[m->npaths] = m->owned[m->npaths];
		m->path_field[m->npaths] = (uint8_t)f;
		m->npaths++;
	}
	/* The scanner spec needs a path listed before any path it prefixes:
	 * shorter first does that. */
	for (int i = 1; i < m->npaths; i++) {
		for (int j = i; j > 0 && strlen(m->paths[j - 1]) > strlen(m->paths[j]); j--) {
			const char *tp = m->paths[j];
			char *to = m->owned[j];
			uint8_t tf = m->path_field[j];
			m->paths[j] = m->paths[j - 1];
			m->owned[j] = m->owned[j - 1];
			m->path_field[j] = m->path_field[j - 1];
			m->paths[j - 1] = tp;
			m->owned[j - 1] = to;
			m->path_field[j - 1] = tf;
		}
	}
	m->spec.paths = m->paths;
	m->spec.npaths = (size_t)m->npaths;
	if (e != NULL)
		e->key[0] = '\0';
	if (ingest_json_spec_compile(&m->spec) != 0) {
		err_set(e, "the mapping's paths are invalid (empty segment, a segment over %d "
		           "bytes, a path mapped twice or a field that is also a parent)",
		        INGEST_JSON_MAX_KEY);
		goto fail;
	}
	return m;
fail:
	ingest_mapping_free(m);
	return NULL;
}

static int
kind_of(struct ingest_str s)
{
	for (int k = 1; k < INGEST_EV_KIND_COUNT; k++)
		if (ingest_str_eq(s, ingest_kind_name((enum ingest_kind)k)))
			return k;
	return INGEST_EV_LOG;
}

/* Applies a text value (a view that lives as long as the event). */
static int
apply_text(struct ingest_ctx *c, const struct gfield *g, struct ingest_str s, const char *at)
{
	struct ingest_event *ev = c->ev;
	char *base = (char *)ev + g->off;
	int64_t v;
	switch (g->type) {
	case G_STR:
	case G_URL:
		*(struct ingest_str *)(void *)base = s;
		return 0;
	case G_PROTO:
		if (s.len > 0)
			*(struct ingest_str *)(void *)base = ingest_transport(ev, s.p, s.len);
		return 0;
	case G_KIND:
		*(enum ingest_kind *)(void *)base = (enum ingest_kind)kind_of(s);
		return 0;
	case G_IP:
		if (ingest_ip_parse(s.p, s.len, (struct ingest_ip *)(void *)base) != 0)
			return ingest_fail(c, at, "mapped address does not parse");
		return 0;
	case G_TS:
		if (ingest_ts_parse(s.p, s.len, &v) == 0) {
			*(int64_t *)(void *)base = v;
			return 0;
		}
		/* Seconds since the epoch, as many sensors write. */
		if (ingest_num_int(s.p, s.len, &v) == 0 && v >= 0 && v < 253402300800LL) {
			*(int64_t *)(void *)base = v * 1000;
			return 0;
		}
		return ingest_fail(c, at, "mapped timestamp does not parse");
	case G_PORT:
		if (ingest_num_int(s.p, s.len, &v) != 0 || v < 0 || v > 65535)
			return ingest_fail(c, at, "mapped port is not 0..65535");
		*(uint16_t *)(void *)base = (uint16_t)v;
		return 0;
	case G_INT32:
		if (ingest_num_int(s.p, s.len, &v) != 0 || v < INT32_MIN || v > INT32_MAX)
			return ingest_fail(c, at, "mapped number is not an integer");
		*(int *)(void *)base = (int)v;
		return 0;
	case G_INT:
		if (ingest_num_int(s.p, s.len, &v) != 0)
			return ingest_fail(c, at, "mapped number is not an integer");
		*(int64_t *)(void *)base = v;
		return 0;
	}
	return 0;
}

int
ingest_decode_generic(struct ingest_ctx *c, const struct ingest_mapping *m)
{
	struct ingest_event *ev = c->ev;
	struct ingest_jv v[INGEST_JSON_MAX_NODES];
	if (m == NULL)
		return ingest_fail(c, NULL, "no field mapping for this sensor");
	if (ingest_json_scan(&m->spec, c->line, c->len, v, c->de) != 0)
		return -1;
	ev->kind = INGEST_EV_LOG;
	for (int i = 0; i < m->nconsts; i++) {
		struct ingest_str s = ingest_scratch_put(ev, m->consts[i].text, m->consts[i].len);
		if (apply_text(c, &gfields[m->consts[i].field], s, NULL) != 0)
			return ingest_fail(c, NULL, "a mapped constant does not fit its field");
	}
	for (int i = 0; i < m->npaths; i++) {
		const struct ingest_jv *jv = &v[i];
		const struct gfield *g = &gfields[m->path_field[i]];
		struct ingest_str s = {0};
		switch (jv->type) {
		case INGEST_J_NONE:
		case INGEST_J_NULL:
			continue;
		case INGEST_J_STR:
			if (ingest_jv_str(c, jv, &s, "mapped value is not a string") != 0)
				return -1;
			break;
		case INGEST_J_NUM:
			s = (struct ingest_str){.p = jv->p, .len = jv->len};
			if (g->type == G_INT || g->type == G_INT32 || g->type == G_PORT) {
				int64_t x;
				if (ingest_num_int(jv->p, jv->len, &x) != 0)
					return ingest_fail(c, jv->p, "mapped number is not an integer");
			}
			break;
		case INGEST_J_TRUE:
		case INGEST_J_FALSE:
			s = (struct ingest_str){.p = jv->p, .len = jv->len};
			if (g->type != G_STR)
				return ingest_fail(c, jv->p, "mapped value has the wrong type");
			break;
		default:
			return ingest_fail(c, jv->p, "mapped value is an object or array");
		}
		if (apply_text(c, g, s, jv->p) != 0)
			return -1;
	}
	if (ev->url_full.len > 0 && ev->url_domain.len == 0 && ev->url_path.len == 0)
		ingest_url_split(ev);
	return 0;
}
