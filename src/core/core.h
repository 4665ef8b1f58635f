/*
 * core.h - what every ciip subsystem shares: errors for people, logging,
 * allocation that aborts on exhaustion, growable buffers, checked number
 * parsing, clocks, the configuration and a bounded queue.
 *
 * Ownership rule for this header: a function returning `char *` returns
 * memory the caller frees with free(); a `const char *` is borrowed.
 */
#ifndef CIIP_CORE_H
#define CIIP_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CIIP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CIIP_MUST_CHECK __attribute__((warn_unused_result))
#define CIIP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors for people ------------------------------------------------ */

/*
 * A description of what went wrong, filled by the callee for the caller to
 * show. file/line/key are optional context (line 0 means "none").
 */
struct err {
	char msg[512];
	char file[256];
	char key[128];
	int line;
	int column;
};

void err_clear(struct err *e);
/* Sets e->msg from the format; a NULL e is allowed and ignored. */
void err_set(struct err *e, const char *fmt, ...) CIIP_PRINTF(2, 3);
/* Formats the error with its context: "file:line: key: msg". */
void err_format(const struct err *e, char *buf, size_t len);

/* ---- memory --------------------------------------------------------- */

/* These never return NULL: they abort the process on exhaustion. Input size
 * must be capped by the caller before it gets here. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) CIIP_PRINTF(1, 2);

/* A growable, NUL-terminated byte buffer. Zero-initialise, then append. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) CIIP_PRINTF(2, 3);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the bytes to the caller (free them) and empties the buffer. */
char *buf_steal(struct buf *b);

/* ---- numbers and strings --------------------------------------------- */

/* The one checked integer parser: the whole string must be a base-10
 * integer in [min, max]. Returns 0 or -1 (out is unchanged on error). */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out) CIIP_MUST_CHECK;
int parse_bool(const char *s, bool *out) CIIP_MUST_CHECK;
/* Splits "addr:port" or "[v6]:port"; host gets a copy of the address. */
int parse_hostport(const char *s, char *host, size_t hostlen, int *port) CIIP_MUST_CHECK;
/* Constant-time comparison of two equal-length secrets. */
bool str_secret_eq(const char *a, const char *b);
/* The value of a hexadecimal digit (either case), or -1. */
static inline int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
/* The value of a standard base64 digit (RFC 4648 section 4), or -1. */
static inline int
base64_digit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* ---- time ------------------------------------------------------------ */

/* Wall clock in milliseconds since the epoch. Tests may replace it with
 * time_set_fake_ms() so that deadlines can be checked without waiting. */
int64_t time_now_ms(void);
void time_set_fake_ms(int64_t ms); /* 0 restores the real clock */
/* Monotonic clock in nanoseconds, for measuring durations. */
int64_t time_mono_ns(void);
/* Formats ms since the epoch as RFC 3339 UTC with milliseconds:
 * "2026-01-05T08:00:00.000Z". buf needs 25 bytes. */
void time_format_rfc3339(int64_t ms, char *buf, size_t len);
/* Parses an RFC 3339 timestamp ("Z" or an offset, optional fraction).
 * Returns 0 and ms since the epoch, or -1. */
int time_parse_rfc3339(const char *s, int64_t *ms) CIIP_MUST_CHECK;

/* ---- logging --------------------------------------------------------- */

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Configures the logger. path NULL means stderr. Thread-safe to log. */
int log_open(enum log_level level, bool json, const char *path);
/* Reopens the log file (after rotation); stderr stays stderr. */
int log_reopen(void);
void log_close(void);
void log_set_level(enum log_level level);
int log_level_parse(const char *s, enum log_level *out);

/* subsys names the subsystem ("http", "store"). log_warn appends
 * strerror(errno); the x variants do not. */
void log_msg(enum log_level lvl, const char *subsys, const char *fmt, ...) CIIP_PRINTF(3, 4);
#define log_debug(sub, ...) log_msg(LOG_LVL_DEBUG, sub, __VA_ARGS__)
#define log_info(sub, ...) log_msg(LOG_LVL_INFO, sub, __VA_ARGS__)
#define log_warnx(sub, ...) log_msg(LOG_LVL_WARN, sub, __VA_ARGS__)
#define log_errorx(sub, ...) log_msg(LOG_LVL_ERROR, sub, __VA_ARGS__)
void log_warn(const char *subsys, const char *fmt, ...) CIIP_PRINTF(2, 3);

/* ---- configuration --------------------------------------------------- */

#define CONFIG_MAX_PATH 1024

struct config {
	char data_dir[CONFIG_MAX_PATH];
	char web_root[CONFIG_MAX_PATH];
	/* http */
	char http_listen[256];
	int64_t http_threads;
	int64_t http_max_body_bytes;
	int64_t http_max_header_bytes;
	int64_t http_request_timeout_s;
	int64_t http_max_connections;
	char http_tls_cert[CONFIG_MAX_PATH];
	char http_tls_key[CONFIG_MAX_PATH];
	/* log */
	char log_level[16];
	bool log_json;
	char log_file[CONFIG_MAX_PATH];
	/* store */
	int64_t store_busy_timeout_ms;
	int64_t store_readers;
	/* demo */
	bool demo;
	/* the Unix user to run as after binding (when started as root) */
	char run_as[64];
	/* ingest: listeners are off while their address is empty */
	char ingest_json_tcp[256];
	char ingest_syslog_udp[256];
	char ingest_syslog_tcp[256];
	char ingest_syslog_sensor[72];
	int64_t ingest_max_connections;
	char ingest_geoip_country[CONFIG_MAX_PATH];
	char ingest_geoip_asn[CONFIG_MAX_PATH];
	/* detect */
	int64_t detect_decoders;
	int64_t detect_threads;
	int64_t detect_ddos_bytes_per_s;
	int64_t detect_ddos_packets_per_s;
	int64_t detect_ddos_flows_per_s;
	int64_t detect_ddos_window_s;
	int64_t detect_brute_failures;
	int64_t detect_brute_window_s;
	int64_t detect_scan_ports;
	int64_t detect_scan_hosts;
	int64_t detect_scan_window_s;
	int64_t detect_spam_messages;
	int64_t detect_spam_window_s;
	int64_t detect_beacon_min_count;
	int64_t detect_beacon_min_interval_s;
	int64_t detect_max_keys;
	int64_t detect_alert_window_s;
	bool detect_huge_pages;
	/* auth */
	int64_t auth_session_idle_s;
	int64_t auth_session_max_s;
	int64_t auth_password_min_len;
	char auth_mfa_roles[128];
	int64_t auth_lockout_failures;
	int64_t auth_lockout_s;
	char auth_seal_key_file[CONFIG_MAX_PATH];
	/* cert: deadline rules per level 1..4 (comma-separated), notification delivery */
	char cert_deadlines_notify_s[128];
	char cert_deadlines_review_s[128];
	char cert_deadlines_forward_s[128];
	char cert_deadlines_contain_s[128];
	char cert_deadlines_report_months[128];
	char cert_notify_webhook_url[CONFIG_MAX_PATH];
	char cert_notify_smtp_url[CONFIG_MAX_PATH];
	char cert_notify_mail_from[256];
};

/* Fills every field with its default. */
void config_defaults(struct config *c);
/*
 * Applies a YAML document to c. name is the file name used in messages.
 * Every problem is reported (unknown or duplicate key, wrong type, out of
 * range) through log-free error collection: the first is returned in err,
 * the count is the return value (0 means the config is good). c may be
 * partly updated when errors are returned; callers then refuse to start.
 */
int config_load_buffer(struct config *c, const char *name, const char *text, size_t len,
                       struct err *err, void (*report)(const struct err *, void *), void *arg);
int config_load_file(struct config *c, const char *path, struct err *err,
                     void (*report)(const struct err *, void *), void *arg);
/* Writes the effective configuration as YAML (for `ciipd --print-config`). */
void config_dump(const struct config *c, struct buf *out);

/* ---- sockets ---------------------------------------------------------- */

/* A listening socket on a numeric "addr:port" ("[v6]:port"): type is
 * SOCK_STREAM or SOCK_DGRAM. ipv6 and port_out (the port bound, useful with
 * port 0) may be NULL. Returns the fd or -1 with e set. */
int net_listen(const char *addr, int type, int backlog, bool *ipv6, int *port_out, struct err *e);

/* ---- bounded queue ---------------------------------------------------- */

/* A multi-producer, multi-consumer FIFO of pointers with a fixed capacity.
 * A full queue blocks producers: that is how back-pressure travels. */
struct queue;

struct queue *queue_new(size_t capacity);
void queue_free(struct queue *q);
/* Blocks while full. Returns -1 if the queue was closed. */
int queue_push(struct queue *q, void *item);
/* Returns -1 if full instead of waiting (for UDP-style sources). */
int queue_try_push(struct queue *q, void *item);
/* Blocks while empty; returns NULL once closed and drained. */
void *queue_pop(struct queue *q);
/* Wakes everyone; pushes fail, pops drain what is left then return NULL. */
void queue_close(struct queue *q);
size_t queue_len(struct queue *q);

#endif
