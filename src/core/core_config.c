/*
 * core_config.c - the configuration: one table of keys with type, range and
 * default, filled from a YAML file (libyaml's event parser, so every key
 * keeps its line) and then from command-line flags.
 *
 * Nested YAML mappings name keys by path: `http: {tls: {cert: x}}` is the
 * key `http.tls.cert`. Unknown and duplicate keys are errors; every error is
 * reported before the caller refuses to start.
 */
#include "core/core.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define CONFIG_MAX_FILE_BYTES (1024 * 1024)
#define CONFIG_MAX_DEPTH 8

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL, CFG_LOGLEVEL, CFG_HOSTPORT, CFG_LISTEN_OPT, CFG_LIST };

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;
	size_t size; /* for strings: capacity of the char array */
	int64_t min, max;
	const char *def;
	const char *help;
};

#define STR(n, f, d, h) {n, CFG_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0, d, h}
#define INT(n, f, lo, hi, d, h) {n, CFG_INT, offsetof(struct config, f), 0, lo, hi, d, h}
#define BOOL(n, f, d, h) {n, CFG_BOOL, offsetof(struct config, f), 0, 0, 0, d, h}

static const struct cfg_key keys[] = {
	STR("data_dir", data_dir, "var/ciip", "directory holding the database and all state"),
	STR("web_root", web_root, "web", "directory of the console's static files"),
	{"http.listen", CFG_HOSTPORT, offsetof(struct config, http_listen),
	 sizeof(((struct config *)0)->http_listen), 0, 0, "127.0.0.1:8443", "address:port to serve HTTP on"},
	INT("http.threads", http_threads, 1, 256, "4", "HTTP worker threads"),
	INT("http.max_body_bytes", http_max_body_bytes, 1024, 1073741824, "16777216",
	    "largest request body accepted"),
	INT("http.max_header_bytes", http_max_header_bytes, 4096, 1048576, "32768",
	    "largest request line plus headers accepted"),
	INT("http.request_timeout_s", http_request_timeout_s, 1, 3600, "30",
	    "seconds a connection may stay idle mid-request"),
	INT("http.max_connections", http_max_connections, 1, 100000, "1024",
	    "concurrent HTTP connections"),
	STR("http.tls.cert", http_tls_cert, "", "PEM certificate chain; TLS is on when set"),
	STR("http.tls.key", http_tls_key, "", "PEM private key"),
	{"log.level", CFG_LOGLEVEL, offsetof(struct config, log_level),
	 sizeof(((struct config *)0)->log_level), 0, 0, "info", "debug, info, warn or error"},
	BOOL("log.json", log_json, "false", "JSON lines instead of text"),
	STR("log.file", log_file, "", "log file (default stderr); SIGHUP reopens it"),
	INT("store.busy_timeout_ms", store_busy_timeout_ms, 0, 600000, "5000",
	    "how long a database call waits for a lock"),
	INT("store.readers", store_readers, 1, 64, "8", "pooled read connections"),
	BOOL("demo", demo, "false", "seed demo content on start"),
	STR("run_as", run_as, "", "Unix user to switch to after binding, when started as root"),
	{"ingest.json_tcp", CFG_LISTEN_OPT, offsetof(struct config, ingest_json_tcp),
	 sizeof(((struct config *)0)->ingest_json_tcp), 0, 0, "",
	 "address:port for JSON lines over TCP (first line: the sensor's token); empty: off"},
	{"ingest.syslog_udp", CFG_LISTEN_OPT, offsetof(struct config, ingest_syslog_udp),
	 sizeof(((struct config *)0)->ingest_syslog_udp), 0, 0, "",
	 "address:port for syslog over UDP; empty: off"},
	{"ingest.syslog_tcp", CFG_LISTEN_OPT, offsetof(struct config, ingest_syslog_tcp),
	 sizeof(((struct config *)0)->ingest_syslog_tcp), 0, 0, "",
	 "address:port for syslog over TCP (octet counting or newline framing); empty: off"},
	STR("ingest.syslog_sensor", ingest_syslog_sensor, "syslog",
	    "the registered sensor that syslog listeners' messages are counted to"),
	INT("ingest.max_connections", ingest_max_connections, 1, 100000, "1024",
	    "TCP connections per listener; more are closed at once and counted"),
	STR("ingest.geoip.country_db", ingest_geoip_country, "",
	    "MaxMind DB with countries (GeoIP2/GeoLite2 Country or City); empty: none"),
	STR("ingest.geoip.asn_db", ingest_geoip_asn, "", "MaxMind DB with AS numbers; empty: none"),
	INT("detect.decoders", detect_decoders, 1, 16, "1", "decode and enrich threads"),
	INT("detect.threads", detect_threads, 1, 32, "2",
	    "detector threads; state is sharded by source address"),
	INT("detect.ddos.bytes_per_s", detect_ddos_bytes_per_s, 0, INT64_MAX / 1000, "12500000",
	    "bytes per second to one destination that make a DDoS alert (0: off)"),
	INT("detect.ddos.packets_per_s", detect_ddos_packets_per_s, 0, INT64_MAX / 1000, "50000",
	    "packets per second to one destination (0: off)"),
	INT("detect.ddos.flows_per_s", detect_ddos_flows_per_s, 0, INT64_MAX / 1000, "5000",
	    "new flows per second to one destination (0: off)"),
	INT("detect.ddos.window_s", detect_ddos_window_s, 1, 3600, "10", "DDoS window"),
	INT("detect.bruteforce.failures", detect_brute_failures, 0, 1000000, "20",
	    "failed logins from one source in the window (0: off)"),
	INT("detect.bruteforce.window_s", detect_brute_window_s, 1, 86400, "300", "brute-force window"),
	INT("detect.scan.ports", detect_scan_ports, 0, 65536, "100",
	    "distinct destination ports from one source in the window (0: off)"),
	INT("detect.scan.hosts", detect_scan_hosts, 0, 1000000, "50",
	    "distinct destination hosts from one source in the window (0: off)"),
	INT("detect.scan.window_s", detect_scan_window_s, 1, 86400, "60", "scan window"),
	INT("detect.spam.messages", detect_spam_messages, 0, 1000000, "50",
	    "messages from one sending address in the window (0: off)"),
	INT("detect.spam.window_s", detect_spam_window_s, 1, 86400, "300", "spam window"),
	INT("detect.beacon.min_count", detect_beacon_min_count, 0, 100000, "8",
	    "regular connections from an internal host to one external address (0: off)"),
	INT("detect.beacon.min_interval_s", detect_beacon_min_interval_s, 1, 86400, "10",
	    "shortest beacon period considered"),
	INT("detect.max_keys", detect_max_keys, 1024, 100000000, "65536",
	    "tracked keys per detector and thread; the least recent is evicted"),
	INT("detect.alert_window_s", detect_alert_window_s, 60, 86400 * 7, "3600",
	    "repeats of one rule and key within this time update one alert"),
	BOOL("detect.huge_pages", detect_huge_pages, "false",
	     "the indicator matcher's large arrays on 2 MB pages (measure with bench_match -H first)"),
	INT("auth.session_idle_s", auth_session_idle_s, 60, 86400 * 7, "1800",
	    "a console session ends after this much inactivity"),
	INT("auth.session_max_s", auth_session_max_s, 300, 86400 * 30, "43200",
	    "a console session ends this long after login"),
	INT("auth.password_min_length", auth_password_min_len, 8, 1024, "12", "shortest password"),
	{"auth.mfa_required_roles", CFG_LIST, offsetof(struct config, auth_mfa_roles),
	 sizeof(((struct config *)0)->auth_mfa_roles), 0, 0, "admin,analyst,reviewer",
	 "roles that must log in with a TOTP code"},
	INT("auth.lockout_failures", auth_lockout_failures, 1, 1000, "10",
	    "failed logins before an account or address is refused"),
	INT("auth.lockout_s", auth_lockout_s, 1, 86400, "900", "how long a lockout lasts"),
	STR("auth.seal_key_file", auth_seal_key_file, "",
	    "key that seals TOTP secrets in the database (default: DATA_DIR/seal.key; created "
	    "when missing; back it up with the database)"),
	{"cert.deadlines.notify_s", CFG_LIST, offsetof(struct config, cert_deadlines_notify_s),
	 sizeof(((struct config *)0)->cert_deadlines_notify_s), 0, 0, "3600,3600,3600,3600",
	 "seconds from becoming aware to notification, for levels 1 to 4"},
	{"cert.deadlines.review_s", CFG_LIST, offsetof(struct config, cert_deadlines_review_s),
	 sizeof(((struct config *)0)->cert_deadlines_review_s), 0, 0, "28800,28800,7200,7200",
	 "seconds from (re)submission to the node's review, for levels 1 to 4"},
	{"cert.deadlines.forward_s", CFG_LIST, offsetof(struct config, cert_deadlines_forward_s),
	 sizeof(((struct config *)0)->cert_deadlines_forward_s), 0, 0, "3600,3600,3600,3600",
	 "seconds from acceptance to forwarding upward, for levels 1 to 4"},
	{"cert.deadlines.contain_s", CFG_LIST, offsetof(struct config, cert_deadlines_contain_s),
	 sizeof(((struct config *)0)->cert_deadlines_contain_s), 0, 0,
	 "259200,259200,129600,129600",
	 "seconds from becoming aware to containment or recovery, for levels 1 to 4"},
	{"cert.deadlines.report_months", CFG_LIST,
	 offsetof(struct config, cert_deadlines_report_months),
	 sizeof(((struct config *)0)->cert_deadlines_report_months), 0, 0, "1,1,1,1",
	 "calendar months from recovery to the investigation report, for levels 1 to 4"},
	STR("cert.notify.webhook_url", cert_notify_webhook_url, "",
	    "URL that receives each notification as a JSON POST; empty: off"),
	STR("cert.notify.smtp_url", cert_notify_smtp_url, "",
	    "SMTP server (smtp://host:25) that e-mails notifications to contacts; empty: off"),
	STR("cert.notify.mail_from", cert_notify_mail_from, "ciip@localhost",
	    "sender address of notification e-mails"),
};

static int
set_value(struct config *c, const struct cfg_key *k, const char *v, struct err *e)
{
	char *field = (char *)c + k->off;
	switch (k->type) {
	case CFG_STR:
	case CFG_LIST:
		if (strlen(v) >= k->size) {
			err_set(e, "value is too long (at most %zu bytes)", k->size - 1);
			return -1;
		}
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case CFG_LISTEN_OPT:
		if (v[0] == '\0') {
			field[0] = '\0';
			return 0;
		}
		/* otherwise it is an address like any other */
		__attribute__((fallthrough));
	case CFG_HOSTPORT: {
		char host[256];
		int port;
		if (parse_hostport(v, host, sizeof(host), &port) != 0 || port == 0) {
			err_set(e, "'%s' is not ADDRESS:PORT with a port from 1 to 65535", v);
			return -1;
		}
		if (strlen(v) >= k->size) {
			err_set(e, "value is too long");
			return -1;
		}
		memcpy(field, v, strlen(v) + 1);
		return 0;
	}
	case CFG_LOGLEVEL: {
		enum log_level l;
		if (log_level_parse(v, &l) != 0) {
			err_set(e, "'%s' is not one of debug, info, warn, error", v);
			return -1;
		}
		memcpy(field, v, strlen(v) + 1);
		return 0;
	}
	case CFG_INT: {
		int64_t n;
		if (parse_int64(v, INT64_MIN, INT64_MAX, &n) != 0) {
			err_set(e, "'%s' is not an integer", v);
			return -1;
		}
		if (n < k->min || n > k->max) {
			err_set(e, "%lld is out of range (%lld to %lld)", (long long)n,
			        (long long)k->min, (long long)k->max);
			return -1;
		}
		*(int64_t *)(void *)field = n;
		return 0;
	}
	case CFG_BOOL: {
		bool b;
		if (parse_bool(v, &b) != 0) {
			err_set(e, "'%s' is not a boolean (true or false)", v);
			return -1;
		}
		*(bool *)(void *)field = b;
		return 0;
	}
	}
	return -1;
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CIIP_ARRAY_LEN(keys); i++) {
		int rc = set_value(c, &keys[i], keys[i].def, NULL);
		(void)rc; /* defaults are valid by construction; a test checks it */
	}
}

static const struct cfg_key *
find_key(const char *name)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool
is_prefix_of_key(const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < CIIP_ARRAY_LEN(keys); i++)
		if (strncmp(keys[i].name, prefix, n) == 0 && keys[i].name[n] == '.')
			return true;
	return false;
}

/* State of one load: the error sink and the keys already seen. */
struct loader {
	struct config *c;
	const char *name;
	struct err *first;
	void (*report)(const struct err *, void *);
	void *arg;
	int nerr;
	char seen[CIIP_ARRAY_LEN(keys)];
	yaml_parser_t parser;
};

static void
loader_error(struct loader *ld, const yaml_mark_t *mark, const char *key, const char *fmt, ...)
	CIIP_PRINTF(4, 5);

static void
loader_error(struct loader *ld, const yaml_mark_t *mark, const char *key, const char *fmt, ...)
{
	struct err e;
	err_clear(&e);
	snprintf(e.file, sizeof(e.file), "%s", ld->name);
	snprintf(e.key, sizeof(e.key), "%s", key ? key : "");
	e.line = mark ? (int)mark->line + 1 : 0;
	e.column = mark ? (int)mark->column + 1 : 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	if (ld->nerr == 0 && ld->first)
		*ld->first = e;
	ld->nerr++;
	if (ld->report)
		ld->report(&e, ld->arg);
}

/* Skips the node whose first event is ev (already consumed). */
static int
skip_node(struct loader *ld, yaml_event_t *ev)
{
	int depth = 0;
	if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT)
		depth = 1;
	while (depth > 0) {
		yaml_event_t e2;
		if (!yaml_parser_parse(&ld->parser, &e2))
			return -1;
		if (e2.type == YAML_MAPPING_START_EVENT || e2.type == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (e2.type == YAML_MAPPING_END_EVENT || e2.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		yaml_event_delete(&e2);
	}
	return 0;
}

/* Reads a sequence of scalars into a comma-separated string. */
static int
read_list(struct loader *ld, const char *key, struct buf *out)
{
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&ld->parser, &ev))
			return -1;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			loader_error(ld, &ev.start_mark, key, "list items must be plain values");
			int rc = skip_node(ld, &ev);
			yaml_event_delete(&ev);
			if (rc != 0)
				return -1;
			continue;
		}
		const char *v = (const char *)ev.data.scalar.value;
		if (strchr(v, ',')) {
			loader_error(ld, &ev.start_mark, key, "list item '%s' contains a comma", v);
		} else {
			if (out->len)
				buf_puts(out, ",");
			buf_puts(out, v);
		}
		yaml_event_delete(&ev);
	}
}

static int parse_mapping(struct loader *ld, const char *prefix, int depth);

/* Handles the value node of `key`, whose first event is ev. */
static int
parse_value(struct loader *ld, const char *key, const yaml_mark_t *kmark, yaml_event_t *ev, int depth)
{
	const struct cfg_key *k = find_key(key);
	if (ev->type == YAML_MAPPING_START_EVENT) {
		if (k == NULL && is_prefix_of_key(key)) {
			if (depth >= CONFIG_MAX_DEPTH) {
				loader_error(ld, kmark, key, "nested too deeply");
				return skip_node(ld, ev);
			}
			return parse_mapping(ld, key, depth + 1);
		}
		if (k == NULL)
			loader_error(ld, kmark, key, "unknown key");
		else
			loader_error(ld, kmark, key, "expected a value, found a mapping");
		return skip_node(ld, ev);
	}
	if (k == NULL) {
		loader_error(ld, kmark, key, "unknown key");
		return skip_node(ld, ev);
	}
	size_t idx = (size_t)(k - keys);
	if (ld->seen[idx])
		loader_error(ld, kmark, key, "duplicate key");
	ld->seen[idx] = 1;

	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		if (k->type != CFG_LIST) {
			loader_error(ld, kmark, key, "expected a single value, found a list");
			return skip_node(ld, ev);
		}
		struct buf b = {0};
		int rc = read_list(ld, key, &b);
		if (rc == 0) {
			struct err e;
			err_clear(&e);
			if (set_value(ld->c, k, b.data ? b.data : "", &e) != 0)
				loader_error(ld, kmark, key, "%s", e.msg);
		}
		buf_free(&b);
		return rc;
	}
	if (ev->type == YAML_ALIAS_EVENT) {
		loader_error(ld, kmark, key, "aliases are not supported");
		return 0;
	}
	if (ev->type != YAML_SCALAR_EVENT) {
		loader_error(ld, kmark, key, "unexpected YAML node");
		return skip_node(ld, ev);
	}
	const char *v = (const char *)ev->data.scalar.value;
	bool quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if ((k->type == CFG_INT || k->type == CFG_BOOL) && quoted) {
		loader_error(ld, &ev->start_mark, key, "expected %s, found a quoted string",
		             k->type == CFG_INT ? "an integer" : "a boolean");
		return 0;
	}
	struct err e;
	err_clear(&e);
	if (set_value(ld->c, k, v, &e) != 0)
		loader_error(ld, &ev->start_mark, key, "%s", e.msg);
	return 0;
}

/* Parses the body of a mapping whose start event has been consumed. */
static int
parse_mapping(struct loader *ld, const char *prefix, int depth)
{
	for (;;) {
		yaml_event_t kev;
		if (!yaml_parser_parse(&ld->parser, &kev))
			return -1;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return 0;
		}
		if (kev.type != YAML_SCALAR_EVENT) {
			loader_error(ld, &kev.start_mark, prefix, "keys must be plain strings");
			int rc = skip_node(ld, &kev);
			yaml_event_delete(&kev);
			if (rc != 0)
				return -1;
			/* and its value */
			yaml_event_t vev;
			if (!yaml_parser_parse(&ld->parser, &vev))
				return -1;
			rc = skip_node(ld, &vev);
			yaml_event_delete(&vev);
			if (rc != 0)
				return -1;
			continue;
		}
		char key[256];
		int n = snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "",
		                 (const char *)kev.data.scalar.value);
		yaml_mark_t kmark = kev.start_mark;
		yaml_event_delete(&kev);
		if (n < 0 || (size_t)n >= sizeof(key))
			key[sizeof(key) - 1] = '\0';

		yaml_event_t vev;
		if (!yaml_parser_parse(&ld->parser, &vev))
			return -1;
		int rc = parse_value(ld, key, &kmark, &vev, depth);
		yaml_event_delete(&vev);
		if (rc != 0)
			return -1;
	}
}

int
config_load_buffer(struct config *c, const char *name, const char *text, size_t len,
                   struct err *err, void (*report)(const struct err *, void *), void *arg)
{
	struct loader ld = {.c = c, .name = name, .first = err, .report = report, .arg = arg};
	err_clear(err);
	if (!yaml_parser_initialize(&ld.parser)) {
		loader_error(&ld, NULL, NULL, "cannot initialise the YAML parser");
		return ld.nerr;
	}
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);

	int state = 0; /* 0 before the document, 1 inside, 2 after */
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&ld.parser, &ev))
			goto syntax;
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_DOCUMENT_START_EVENT) {
			if (state == 2)
				loader_error(&ld, &ev.start_mark, NULL, "only one YAML document is allowed");
			state = 1;
		} else if (t == YAML_DOCUMENT_END_EVENT) {
			state = 2;
		} else if (t == YAML_MAPPING_START_EVENT) {
			yaml_event_delete(&ev);
			if (parse_mapping(&ld, "", 0) != 0)
				goto syntax;
			continue;
		} else if (t == YAML_SCALAR_EVENT) {
			/* An empty file parses as an empty plain scalar: that is fine. */
			if (ev.data.scalar.length != 0)
				loader_error(&ld, &ev.start_mark, NULL,
				             "the top level must be a mapping of keys");
		} else if (t == YAML_SEQUENCE_START_EVENT) {
			loader_error(&ld, &ev.start_mark, NULL, "the top level must be a mapping of keys");
			if (skip_node(&ld, &ev) != 0) {
				yaml_event_delete(&ev);
				goto syntax;
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ld.parser);
	return ld.nerr;

syntax:
	loader_error(&ld, &ld.parser.problem_mark, NULL, "YAML syntax error: %s%s%s",
	             ld.parser.problem ? ld.parser.problem : "unknown problem",
	             ld.parser.context ? " " : "", ld.parser.context ? ld.parser.context : "");
	yaml_parser_delete(&ld.parser);
	return ld.nerr;
}

int
config_load_file(struct config *c, const char *path, struct err *err,
                 void (*report)(const struct err *, void *), void *arg)
{
	struct loader ld = {.name = path, .first = err, .report = report, .arg = arg};
	err_clear(err);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		loader_error(&ld, NULL, NULL, "cannot open: %s", strerror(errno));
		return ld.nerr;
	}
	struct buf b = {0};
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (b.len + n > CONFIG_MAX_FILE_BYTES) {
			fclose(fp);
			buf_free(&b);
			loader_error(&ld, NULL, NULL, "larger than %d bytes", CONFIG_MAX_FILE_BYTES);
			return ld.nerr;
		}
		buf_append(&b, chunk, n);
	}
	bool bad = ferror(fp);
	fclose(fp);
	if (bad) {
		buf_free(&b);
		loader_error(&ld, NULL, NULL, "cannot read: %s", strerror(errno));
		return ld.nerr;
	}
	int rc = config_load_buffer(c, path, b.data ? b.data : "", b.len, err, report, arg);
	buf_free(&b);
	return rc;
}

void
config_dump(const struct config *c, struct buf *out)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(keys); i++) {
		const struct cfg_key *k = &keys[i];
		const char *field = (const char *)c + k->off;
		buf_printf(out, "# %s\n%s: ", k->help, k->name);
		switch (k->type) {
		case CFG_INT:
			buf_printf(out, "%lld\n", (long long)*(const int64_t *)(const void *)field);
			break;
		case CFG_BOOL:
			buf_printf(out, "%s\n", *(const bool *)(const void *)field ? "true" : "false");
			break;
		default:
			buf_printf(out, "\"%s\"\n", field);
			break;
		}
	}
}
