/*
 * ingest_int.h - what the decoders of one subsystem share and nothing else
 * sees: the allocation-free JSON scanner (ingest_json_scan.c), value
 * helpers that fill an event's string views, timestamp and number parsing.
 *
 * The scanner walks one JSON object once, validates all of it (structure,
 * depth, strings, UTF-8, numbers) and records the values found at a fixed set
 * of paths ("src_ip", "alert.signature", "dns.queries.0.rrname") given in a
 * spec. It never allocates and never copies: a recorded value is a view into
 * the line; strings with escapes are unescaped later, only when a decoder
 * asks for them, into the event's scratch.
 */
#ifndef CIIP_INGEST_INT_H
#define CIIP_INGEST_INT_H

#include <pthread.h>

#include "ingest/ingest.h"

/* Deeper nesting is refused: 64 covers every real sensor record by far. */
#define INGEST_JSON_MAX_DEPTH 64
/* Paths plus their intermediate prefixes, per spec. */
#define INGEST_JSON_MAX_NODES 200
#define INGEST_JSON_HASH_SLOTS 1024
#define INGEST_JSON_MAX_KEY 63

enum ingest_jtype {
	INGEST_J_NONE = 0, /* not present */
	INGEST_J_STR,
	INGEST_J_NUM,
	INGEST_J_TRUE,
	INGEST_J_FALSE,
	INGEST_J_NULL,
	INGEST_J_OBJ,
	INGEST_J_ARR,
};

/*
 * A value found at a path. For a string, p is the first byte after the
 * opening quote and len the raw (still escaped) length; esc says whether it
 * holds any backslash escape. For a number, the text of the number. For an
 * object or array, p is its opening bracket and len its whole raw length.
 */
struct ingest_jv {
	const char *p;
	uint32_t len;
	uint8_t type; /* enum ingest_jtype */
	uint8_t esc;
};

struct ingest_json_node {
	const char *key; /* the path segment (into the spec's path text) */
	uint16_t klen;
	int16_t parent; /* node id; -1 for the root */
};

/*
 * The paths a decoder wants. Fill paths/npaths statically, then compile once
 * (ingest_json_spec_compile under pthread_once). Path i is recorded in
 * vals[i]; the compiler adds the intermediate prefixes and the root after
 * the listed paths. A numeric segment selects that element of an array.
 */
struct ingest_json_spec {
	const char *const *paths;
	size_t npaths;
	/* compiled */
	int nnodes;
	int root;
	struct ingest_json_node nodes[INGEST_JSON_MAX_NODES];
	uint8_t has_children[INGEST_JSON_MAX_NODES];
	uint32_t max_index; /* largest numeric segment */
	uint8_t slots[INGEST_JSON_HASH_SLOTS]; /* node id + 1; 0 empty */
};

/* Compiles a spec: -1 if a path is empty, has an empty or too long segment,
 * or there are too many nodes. Not thread-safe: run it once before use. */
int ingest_json_spec_compile(struct ingest_json_spec *s) CIIP_MUST_CHECK;

/*
 * Scans the JSON object in buf[0..len) (surrounding whitespace allowed) and
 * records, in vals[0..spec->nnodes), the value at each path of the spec
 * (a later duplicate key replaces an earlier one, as in jansson). Returns 0,
 * or -1 with de's reason and byte offset: not an object, truncated, bad
 * token, bad string escape, control character, invalid UTF-8, U+0000,
 * nesting deeper than INGEST_JSON_MAX_DEPTH, trailing data.
 */
int ingest_json_scan(const struct ingest_json_spec *spec, const char *buf, size_t len,
                     struct ingest_jv *vals, struct ingest_decode_err *de);

/* Looks up the node of key under node parent; -1 if not in the spec. */
int ingest_json_spec_child(const struct ingest_json_spec *s, int parent, const char *key,
                           size_t klen);

/*
 * Unescapes a JSON string body (valid: the scanner accepted it) into dst of
 * cap bytes. Returns the number of bytes written; if the text does not fit it
 * is cut at a UTF-8 character boundary and *cut is set.
 */
size_t ingest_json_unescape(const char *src, size_t len, char *dst, size_t cap, bool *cut);

/* ---- helpers for decoders -------------------------------------------- */

/* Decoding context: the line (for offsets), the event, the error. */
struct ingest_ctx {
	const char *line;
	size_t len;
	struct ingest_event *ev;
	struct ingest_decode_err *de;
};

/* Sets the error (offset of p in the line, or 0) and returns -1. */
int ingest_fail(struct ingest_ctx *c, const char *p, const char *reason);

/* A string value into out: a view into the line, or unescaped into the
 * scratch. Absent or null leaves out unset and returns 0; another type is an
 * error with the given reason. */
int ingest_jv_str(struct ingest_ctx *c, const struct ingest_jv *v, struct ingest_str *out,
                  const char *reason) CIIP_MUST_CHECK;
/* An integer value in [min, max]: absent or null leaves out unchanged;
 * a string, real, or out of range is an error. */
int ingest_jv_int(struct ingest_ctx *c, const struct ingest_jv *v, int64_t min, int64_t max,
                  int64_t *out, const char *reason) CIIP_MUST_CHECK;
/* An address (string): absent or null leaves it unset. */
int ingest_jv_ip(struct ingest_ctx *c, const struct ingest_jv *v, struct ingest_ip *out,
                 const char *reason) CIIP_MUST_CHECK;
/* A port (integer 0..65535). */
int ingest_jv_port(struct ingest_ctx *c, const struct ingest_jv *v, uint16_t *out,
                   const char *reason) CIIP_MUST_CHECK;
/* A timestamp (string, see ingest_ts_parse). Absent leaves ts unset. */
int ingest_jv_ts(struct ingest_ctx *c, const struct ingest_jv *v, int64_t *ms,
                 const char *reason) CIIP_MUST_CHECK;

/* Checked integer from decimal text (optional '-', no fraction). */
int ingest_num_int(const char *p, size_t len, int64_t *out) CIIP_MUST_CHECK;

/* Copies bytes into the scratch and returns the view; cut at a character
 * boundary (and INGEST_EVF_TRUNCATED set) if the scratch is full. */
struct ingest_str ingest_scratch_put(struct ingest_event *ev, const char *p, size_t len);
/* Concatenates up to four pieces into the scratch (NULL pieces skipped). */
struct ingest_str ingest_scratch_cat(struct ingest_event *ev, const char *a, size_t alen,
                                     const char *b, size_t blen, const char *c, size_t clen,
                                     const char *d, size_t dlen);

/* network.transport from a sensor's spelling ("TCP", "6", "udp"): a static
 * lower-case name, or a lower-cased copy in the scratch. */
struct ingest_str ingest_transport(struct ingest_event *ev, const char *p, size_t len);

/*
 * Timestamps: "YYYY-MM-DD[T ]hh:mm:ss[.frac](Z|+hh:mm|+hhmm)" (RFC 3339 as
 * well as Suricata's "+0000"). Returns 0 and ms since the epoch, or -1.
 */
int ingest_ts_parse(const char *s, size_t len, int64_t *ms) CIIP_MUST_CHECK;
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t ingest_days_from_civil(int y, int m, int d);
/* "Jan".."Dec" -> 1..12, 0 if none. */
int ingest_month_parse(const char *p);

/* Checks that buf is valid UTF-8 with no NUL byte; returns the offset of
 * the first bad byte, or len. */
size_t ingest_utf8_check(const char *buf, size_t len);

/* Finds http:// and https:// URLs in text (JSON-escaped when esc) and adds
 * them to ev->urls (up to INGEST_MAX_URLS, then INGEST_EVF_URLS_MORE). */
void ingest_urls_extract(struct ingest_event *ev, const char *text, size_t len, bool esc);

/* Fills url_domain and url_path from url_full ("scheme://host[:port]/path"). */
void ingest_url_split(struct ingest_event *ev);

/*
 * Parses a syslog header (RFC 5424; RFC 3164 or "RFC3339-time host tag:";
 * or none) into ev (ts_ms, host_name, app_name) and returns the message in
 * [*msg, *msg_end) and the PRI (-1 if none). -1 on a malformed header.
 */
int ingest_syslog_header(struct ingest_ctx *c, const char **msg, const char **msg_end, int *pri);

/* The per-format decoders, called by ingest_decode() with ev reset and the
 * line length checked. */
int ingest_decode_eve(struct ingest_ctx *c);
int ingest_decode_cowrie(struct ingest_ctx *c);
int ingest_decode_dnslog(struct ingest_ctx *c);
int ingest_decode_syslog(struct ingest_ctx *c);
int ingest_decode_spamtrap(struct ingest_ctx *c);
int ingest_decode_generic(struct ingest_ctx *c, const struct ingest_mapping *m);

/* The compiled specs of the JSON decoders, for the cross-check tests. */
const struct ingest_json_spec *ingest_eve_spec(void);
const struct ingest_json_spec *ingest_cowrie_spec(void);
const struct ingest_json_spec *ingest_spamtrap_spec(void);

#endif
