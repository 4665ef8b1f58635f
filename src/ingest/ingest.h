/*
 * ingest.h - events in: the one normalised event that flows from decoders
 * to detectors, the decoders (Suricata EVE, Cowrie, DNS query logs, syslog,
 * spam-trap records, generic JSON), and the listeners that feed them.
 *
 * Decoders never talk to the store and detectors never parse text. An event
 * does not own its strings: they point into the line it was decoded from (or
 * into the event's own scratch buffer when a value had to be unescaped), so
 * decoding allocates nothing. The line must outlive the event.
 */
#ifndef CIIP_INGEST_H
#define CIIP_INGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* A string that is not NUL-terminated: a view into the line or scratch. */
struct ingest_str {
	const char *p;
	uint32_t len;
};

/* An address in 16 bytes, IPv4 mapped into ::ffff:0:0/96; family 0 if absent. */
struct ingest_ip {
	uint8_t a[16];
	uint8_t family; /* 0, 4 or 6 */
};

enum ingest_kind {
	INGEST_EV_NONE = 0,
	INGEST_EV_ALERT,         /* an IDS alert (Suricata event_type alert) */
	INGEST_EV_DNS,           /* a DNS query or answer (EVE dns, resolver logs) */
	INGEST_EV_HTTP,          /* an HTTP transaction */
	INGEST_EV_TLS,           /* a TLS handshake */
	INGEST_EV_FLOW,          /* a finished flow with byte and packet counts */
	INGEST_EV_FILE,          /* a file seen on the wire (EVE fileinfo) */
	INGEST_EV_SMTP,          /* a mail transaction */
	INGEST_EV_LOGIN_FAILED,  /* honeypot or system: a failed login */
	INGEST_EV_LOGIN_SUCCESS, /* ... and a successful one */
	INGEST_EV_COMMAND,       /* a command typed into a honeypot */
	INGEST_EV_DOWNLOAD,      /* a file fetched by an attacker (Cowrie) */
	INGEST_EV_CONNECT,       /* a new connection to a honeypot */
	INGEST_EV_SPAM,          /* a message caught by a spam trap */
	INGEST_EV_LOG,           /* a syslog line with no better shape (firewalls, ...) */
	INGEST_EV_KIND_COUNT
};

/* ECS-style name of a kind ("network_flow" ...), for logs and storage. */
const char *ingest_kind_name(enum ingest_kind k);

#define INGEST_MAX_URLS 8
#define INGEST_SCRATCH_BYTES 4096

/* ingest_event.flags */
#define INGEST_EVF_TRUNCATED 0x1u /* a value did not fit the scratch and was cut
                                    at a character boundary (see docs/INGEST.md) */
#define INGEST_EVF_URLS_MORE 0x2u /* the body had more than INGEST_MAX_URLS URLs */

/*
 * The normalised event. Field names follow the Elastic Common Schema; the
 * comment gives the ECS name. Unset strings have len 0; unset numbers 0.
 */
struct ingest_event {
	enum ingest_kind kind;
	uint32_t flags;           /* INGEST_EVF_* */
	int64_t ts_ms;            /* @timestamp */
	int64_t sensor_id;        /* observer.id (the registered sensor) */
	int64_t org_id;           /* the sensor's organisation */
	struct ingest_str sensor; /* observer.name as the sensor calls itself */

	struct ingest_ip src_ip;  /* source.ip */
	struct ingest_ip dst_ip;  /* destination.ip */
	uint16_t src_port;        /* source.port */
	uint16_t dst_port;        /* destination.port */
	struct ingest_str proto;  /* network.transport ("tcp", "udp", ...) */
	struct ingest_str app_proto; /* network.protocol ("http", "ssh", ...) */
	int64_t flow_id;          /* a sensor's flow id (EVE flow_id) */

	int64_t bytes_to_server;  /* source.bytes */
	int64_t bytes_to_client;  /* destination.bytes */
	int64_t pkts_to_server;   /* source.packets */
	int64_t pkts_to_client;   /* destination.packets */

	struct ingest_str dns_qname;   /* dns.question.name */
	struct ingest_str dns_qtype;   /* dns.question.type */
	struct ingest_str url_full;    /* url.full (for HTTP: scheme://host/path) */
	struct ingest_str url_domain;  /* url.domain (HTTP Host) */
	struct ingest_str url_path;    /* url.path */
	struct ingest_str http_method; /* http.request.method */
	int http_status;               /* http.response.status_code */
	struct ingest_str user_agent;  /* user_agent.original */
	struct ingest_str tls_sni;     /* tls.client.server_name */
	struct ingest_str tls_ja3;     /* tls.client.ja3 */
	struct ingest_str file_name;   /* file.name */
	struct ingest_str file_sha256; /* file.hash.sha256 */
	struct ingest_str file_md5;    /* file.hash.md5 */
	struct ingest_str file_sha1;   /* file.hash.sha1 */
	int64_t file_size;             /* file.size */
	struct ingest_str email_from;  /* email.from.address */
	struct ingest_str email_to;    /* email.to.address */
	struct ingest_str email_subject; /* email.subject */
	struct ingest_str urls[INGEST_MAX_URLS]; /* URLs found in a body (spam) */
	int nurls;
	struct ingest_str user_name;   /* user.name (login attempts) */
	struct ingest_str command;     /* process.command_line (honeypot input) */
	struct ingest_str message;     /* message (syslog text, alert signature) */
	struct ingest_str rule_name;   /* rule.name (alert signature) */
	int64_t rule_id;               /* rule.id (signature id) */
	int severity;                  /* event.severity (1 high .. 4 low as Suricata) */
	struct ingest_str action;      /* event.action (firewall verdict, "allowed") */
	struct ingest_str host_name;   /* host.hostname (syslog HOSTNAME) */
	struct ingest_str app_name;    /* process.name (syslog APP-NAME / TAG) */

	/* enrichment, filled after decoding */
	char src_country[3], dst_country[3]; /* source.geo.country_iso_code */
	uint32_t src_asn, dst_asn;           /* source.as.number */
	int64_t src_owner_org, dst_owner_org; /* member organisation owning the address */

	/* where unescaped values live (JSON strings with escapes) */
	char scratch[INGEST_SCRATCH_BYTES];
	uint32_t scratch_used;
};

/* True if the view holds exactly the NUL-terminated string s. */
static inline bool
ingest_str_eq(struct ingest_str v, const char *s)
{
	size_t n = 0;
	while (s[n] != '\0')
		n++;
	return v.len == n && (n == 0 || __builtin_memcmp(v.p, s, n) == 0);
}

/* Resets an event to empty (cheaper than memset of the scratch). */
void ingest_event_reset(struct ingest_event *ev);
/* Parses a textual address into an ingest_ip; -1 if it is not one. IPv4 is
 * dotted quad without leading zeros; IPv6 as inet_pton(3) (no zone index).
 * An IPv4-mapped IPv6 address (::ffff:192.0.2.1) gets family 4, so both
 * spellings of one address compare equal. */
int ingest_ip_parse(const char *s, size_t len, struct ingest_ip *out);
/* Formats an address ("192.0.2.1", "2001:db8::1"); buf needs 46 bytes. */
void ingest_ip_format(const struct ingest_ip *ip, char *buf, size_t len);
/* The event as an ECS JSON object (for alerts, evidence and the API): nested
 * objects ({"source": {"ip": ...}}), unset fields left out. Caller decrefs. */
json_t *ingest_event_to_json(const struct ingest_event *ev);

/* ---- decoders ---- */

enum ingest_format {
	INGEST_FMT_EVE = 1, /* Suricata EVE JSON, one object per line */
	INGEST_FMT_COWRIE,  /* Cowrie JSON log lines */
	INGEST_FMT_DNSLOG,  /* Unbound or BIND query-log lines */
	INGEST_FMT_SYSLOG,  /* RFC 5424 or RFC 3164 message (firewalls etc.) */
	INGEST_FMT_SPAMTRAP, /* a spam-trap record (JSON: from, ip, to, subject, body) */
	INGEST_FMT_GENERIC, /* JSON with a per-sensor field mapping */
};

/* Why a line did not decode: a short reason and the byte offset in the
 * line where decoding stopped. */
struct ingest_decode_err {
	const char *reason; /* static text */
	size_t offset;
};

/* A mapping for the generic JSON decoder: ECS field name -> JSON path
 * ("a.b.c") in the sensor's records. Built from the sensor's settings. */
struct ingest_mapping;
struct ingest_mapping *ingest_mapping_new(const json_t *spec, struct err *e);
void ingest_mapping_free(struct ingest_mapping *m);

/*
 * Decodes one line (without its newline) of the given format into ev.
 * Returns 0, or -1 with de filled. A line whose shape is valid but which
 * carries nothing of interest (e.g. an EVE "stats" record) decodes to kind
 * INGEST_EV_NONE and returns 0: it is skipped, not an error.
 * mapping is used only by INGEST_FMT_GENERIC (may be NULL otherwise).
 * Lines longer than INGEST_MAX_LINE_BYTES are refused. ev is reset first
 * (so sensor_id/org_id are set after decoding) and is left reset when the
 * line is refused; a trailing "\r" or "\n" is ignored. de.offset is the
 * byte in the line where decoding stopped (0 when the whole line is at
 * fault). Allocates nothing; thread-safe for distinct events.
 * docs/INGEST.md lists the formats and the fields each fills.
 */
#define INGEST_MAX_LINE_BYTES (1024 * 1024)
int ingest_decode(enum ingest_format fmt, const char *line, size_t len,
                  const struct ingest_mapping *mapping, struct ingest_event *ev,
                  struct ingest_decode_err *de);

/* "eve", "cowrie", "dnslog", "syslog", "spamtrap", "generic"; "?" if unknown. */
const char *ingest_format_name(enum ingest_format fmt);

/* The format a sensor kind sends: "suricata" -> EVE, "cowrie", "dns",
 * "syslog", "spamtrap", "generic". 0 if unknown. */
enum ingest_format ingest_format_of_kind(const char *kind);


/* ==== BEGIN sources section (sensors, listeners, spool, enrichment) ==== */

/* Lines from one sensor, on their way to the pipeline. */
struct ingest_batch {
	int64_t sensor_id, org_id;
	enum ingest_format fmt;
	const struct ingest_mapping *mapping; /* the sensor's (generic JSON only) */
	char *data;             /* lines, each ending in '\n'; owned */
	size_t len;
	uint64_t stream_offset; /* byte offset of data[0] in the sensor's stream */
	uint64_t spool_seq;     /* > 0: acknowledge with ingest_batch_done */
};

struct ingest;
struct queue;
struct store;
struct http_server;
struct auth_ctx;

void ingest_schema_register(void);
/* Loads the sensors and opens the spool under the data directory;
 * listeners and the spool reader push batches to out. */
struct ingest *ingest_new(struct store *st, const struct config *cfg, struct queue *out,
                          struct err *e);
/* Starts the spool reader and the configured listeners. */
int ingest_start(struct ingest *in, struct err *e);
/* Stops the listeners and the spool reader (the pipeline keeps draining). */
void ingest_stop(struct ingest *in);
void ingest_free(struct ingest *in);
/* POST /api/v1/events (sensor token; 202 once spooled) and /api/v1/sensors. */
void ingest_routes(struct ingest *in, struct http_server *srv);
void ingest_metrics(struct buf *out, void *arg);
/* Once a second or so: sensor rates, spool checkpoint, owner table reload. */
void ingest_housekeeping(struct ingest *in, double dt_s);

/* What the pipeline reports back. */
void ingest_batch_done(struct ingest *in, struct ingest_batch *b);
void ingest_batch_free(struct ingest_batch *b);
void ingest_count(struct ingest *in, int64_t sensor_id, uint64_t events, uint64_t bytes);
void ingest_count_drop(struct ingest *in, int64_t sensor_id, uint64_t n);
/* A line that did not decode: counted, kept in DATA/deadletter/<sensor>.log
 * and logged at most once a minute per sensor, with its stream offset. */
void ingest_decode_failed(struct ingest *in, int64_t sensor_id, const char *line, size_t len,
                          uint64_t offset, const struct ingest_decode_err *de);
/* Country, AS number and owning member organisation of both addresses. */
void ingest_enrich(struct ingest *in, struct ingest_event *ev);
/* Not routed on the internet: RFC 1918, CGNAT, loopback, link-local, ULA.
 * (Documentation ranges count as public, so demo data behaves like real.) */
bool ingest_ip_private(const struct ingest_ip *ip);

/* Services shared by the API and the client. */
int ingest_svc_sensor_list(struct ingest *in, struct auth_ctx *x, json_t **out);
int ingest_svc_sensor_create(struct ingest *in, struct auth_ctx *x, const json_t *in_json,
                             json_t **out);

/* Demo sensors, their tokens appended to accounts. */
int ingest_demo_seed(struct ingest *in, json_t *accounts, struct err *e);

/* ==== END sources section ==== */

#endif
