/*
 * detect.h - detection: the compiled indicator matcher, the threshold
 * detectors with sliding windows, and alerts and sightings.
 *
 * Detectors never parse text: they read struct ingest_event. State is per
 * shard (a detector thread owns one shard; events are sharded by source
 * address), so nothing here locks.
 */
#ifndef CIIP_DETECT_H
#define CIIP_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/core.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "store/store.h"

/* ==== BEGIN matcher section ==== */

/*
 * The compiled indicator matcher (docs/MATCHING.md). Every active STIX
 * indicator is compiled into one immutable structure whose lookup cost does
 * not grow with the number of indicators: a hash index of exact values
 * (addresses, domains and their parents, normalised URLs, e-mail addresses,
 * file hashes, ports, names) behind a Bloom filter, an interval table of
 * CIDR blocks, one Vectorscan database per property for LIKE and MATCHES,
 * and, per object type, the short list of observation expressions that no
 * index can select and that are evaluated for every event carrying that
 * type of object.
 *
 * Lookups on one matcher run concurrently: the matcher is read-only, and
 * what a lookup writes (Vectorscan scratch, the event's extracted values,
 * multi-observation state) lives in a struct detect_match_state that each
 * thread (shard) owns. The lookup path does not allocate, except once per
 * state after a new matcher was swapped in (to grow the Vectorscan scratch).
 */

/* One indicator as the store hands it over. Strings are borrowed for the
 * call that receives them. */
struct detect_indicator {
	const char *id;      /* "indicator--<uuid>" */
	const char *pattern; /* STIX pattern text */
	int64_t valid_from_ms;
	int64_t valid_until_ms; /* 0: no end */
	bool revoked;
	int64_t org_id; /* the organisation that owns it */
	int tlp;        /* enum stix_tlp */
};

/* What a build (or update) did. Counts are of indicators unless named. */
struct detect_matcher_stats {
	size_t input;          /* offered */
	size_t active;         /* compiled and matchable */
	size_t inactive;       /* revoked, not yet valid or expired at now_ms */
	size_t parse_errors;   /* the pattern did not parse */
	size_t unsupported;    /* a regex Vectorscan refuses, or a multi-observation pattern
	                          with more than 64 observation expressions */
	size_t never;          /* no event can satisfy it (e.g. only windows-registry-key) */
	size_t stateful;       /* multi-observation: state is kept across events */
	size_t observations;   /* observation expressions compiled */
	size_t scanned;        /* ... of which no index selects (evaluated per event of their type) */
	size_t keys;           /* distinct exact keys in the hash index */
	size_t cidrs;          /* distinct CIDR blocks */
	size_t regexes;        /* LIKE and MATCHES expressions in Vectorscan */
	size_t delta;          /* indicators in the small layer added by updates */
	size_t bytes;          /* memory held by the matcher */
	int64_t build_ms;
	/* The earliest valid_from or valid_until after now_ms among the input:
	 * the matcher should be rebuilt (or updated) then. INT64_MAX if none. */
	int64_t next_change_ms;
	char first_error[256]; /* "<id>: <why>" for the first skipped indicator */
};

struct detect_matcher;

/*
 * Whether matchers built from now on put their large arrays (Bloom filter,
 * hash table, key records, indicator records, CIDR tables) on 2 MB pages
 * through transparent huge pages (madvise; the kernel may refuse). Off by
 * default: on the reference machine, a virtual machine, prefetches into
 * 2 MB pages were slower and a million indicators matched faster without
 * them (docs/BENCHMARKS.md); on bare metal they can pay. Measure with
 * `bench_match -H` before turning them on (ciipd: detect.huge_pages).
 */
void detect_matcher_huge_pages(bool on);

/*
 * Compiles the indicators that are active at now_ms (not revoked,
 * valid_from <= now < valid_until). Indicators that do not parse or cannot
 * be compiled are skipped and counted in st (which may be NULL). Returns a
 * matcher the caller frees with detect_matcher_free(), or NULL with e set
 * when the whole build failed (a Vectorscan database could not be made).
 * Nothing of ind is kept.
 */
struct detect_matcher *detect_matcher_build(const struct detect_indicator *ind, size_t n,
                                            int64_t now_ms, struct detect_matcher_stats *st,
                                            struct err *e) CIIP_MUST_CHECK;
/*
 * A new matcher equal to old with the indicators in changed replaced (same
 * id) or added; those of them not active at now_ms are removed. old is not
 * modified and stays usable: the large compiled part is shared (refcounted)
 * and only a small delta layer is compiled, so an update costs in proportion
 * to the indicators changed since the last full build (st->delta). Returns
 * NULL with e set on failure.
 */
struct detect_matcher *detect_matcher_update(const struct detect_matcher *old,
                                             const struct detect_indicator *changed, size_t n,
                                             int64_t now_ms, struct detect_matcher_stats *st,
                                             struct err *e) CIIP_MUST_CHECK;
void detect_matcher_free(struct detect_matcher *m); /* NULL is fine */
/* The statistics of the build (and updates) that made m. */
const struct detect_matcher_stats *detect_matcher_stats(const struct detect_matcher *m);

/* Per-thread (per-shard) lookup state. max_indicators: multi-observation
 * indicators followed at once (the least recently advanced is evicted);
 * max_events: events remembered per indicator (the oldest is dropped), at
 * most 64. 0 picks the defaults (4096 and 64). Free with
 * detect_match_state_free(). */
struct detect_match_state;
struct detect_match_state *detect_match_state_new(size_t max_indicators, size_t max_events);
void detect_match_state_free(struct detect_match_state *st);
/* Forgets all multi-observation progress. */
void detect_match_state_reset(struct detect_match_state *st);

struct detect_match_state_stats {
	size_t bytes;             /* memory the state holds */
	size_t followed;          /* multi-observation indicators with events remembered */
	uint64_t evicted;         /* indicators (or events) dropped to stay in bounds */
	uint64_t dropped_hits;    /* hits beyond the caller's max, or beyond a cap per event */
	uint64_t skipped_values;  /* values not scanned by Vectorscan (not valid UTF-8) */
	uint64_t gave_up;         /* multi-observation evaluations that hit the work cap */
	uint64_t lazy_quiet;      /* events of addresses only found to match nothing before
	                             they were extracted */
};
void detect_match_state_stats(const struct detect_match_state *st,
                              struct detect_match_state_stats *out);

/* One indicator matched by an event. */
struct detect_match_hit {
	const char *indicator_id; /* borrowed from the matcher: valid while it is held */
	int64_t org_id;
	int tlp;
	uint32_t observation; /* the observation expression this event satisfied (0-based,
	                         in source order; the lowest if several) */
	uint32_t nevents;     /* events in the whole match: 1, or more for multi-observation
	                         patterns completed by this event */
};

/*
 * Matches one event against every indicator of m. Writes at most max hits
 * (one per indicator) and returns how many; more are counted as dropped.
 * A multi-observation indicator hits on the event that completes it, after
 * which its remembered events are forgotten. Qualifiers use ev->ts_ms.
 * Safe to call from several threads on one m, each with its own st.
 */
int detect_matcher_match(const struct detect_matcher *m, struct detect_match_state *st,
                         const struct ingest_event *ev, struct detect_match_hit *hits, int max);

/*
 * Matches ev[0..n) in order, with the hits n calls of
 * detect_matcher_match() would give, but faster: the cache misses of up to
 * 16 events overlap (docs/MATCHING.md). For each event with hits, calls
 * each(arg, i, hits, nhits) with i its index in ev and at most max (capped
 * at 256) hits, valid during the call.
 */
typedef void (*detect_match_each)(void *arg, size_t i, const struct detect_match_hit *hits, int n);
void detect_matcher_match_batch(const struct detect_matcher *m, struct detect_match_state *st,
                                const struct ingest_event *const *ev, size_t n, int max,
                                detect_match_each each, void *arg);

/*
 * The cyber-observable objects the matcher sees in ev, as the "objects"
 * dictionary of a STIX observed-data ({"0": {"type": "ipv4-addr", ...}}),
 * with values normalised as the matcher compares them (lower-case domains,
 * normalised URLs, lower-case hashes and e-mail addresses). A sighting can
 * carry it; stix_pattern_eval() over it agrees with the matcher. Caller
 * decrefs.
 */
json_t *detect_match_event_objects(const struct ingest_event *ev);

/* Normalises a URL as the matcher does: lower-case scheme and host, no
 * default port, unreserved characters percent-decoded, other escapes in
 * upper-case hex. Caller frees. */
char *detect_match_url_normalise(const char *url, size_t len);

/*
 * A matcher that can be replaced while lookups run: readers never block and
 * the old matcher is freed once the last reader that holds it releases it.
 */
struct detect_matcher_live;

/* Takes ownership of initial (NULL: start with an empty matcher). */
struct detect_matcher_live *detect_matcher_live_new(struct detect_matcher *initial);
/* No reader may hold the matcher any more. */
void detect_matcher_live_free(struct detect_matcher_live *live);
/* The current matcher, held until detect_matcher_live_release() with the
 * same token. Lock-free; hold it for a batch of events, not for ever. */
const struct detect_matcher *detect_matcher_live_acquire(struct detect_matcher_live *live,
                                                         unsigned *token);
void detect_matcher_live_release(struct detect_matcher_live *live, unsigned token);
/* Installs m (taking ownership) and frees the previous matcher once its
 * readers are gone; waits for them, never for new readers. Swaps are
 * serialised. */
void detect_matcher_live_swap(struct detect_matcher_live *live, struct detect_matcher *m);

/* The store side: calls emit once per indicator (strings only need to live
 * during the call); returns 0, or -1 if the store could not be read. */
typedef int (*detect_matcher_source)(void *arg,
                                     void (*emit)(void *ctx, const struct detect_indicator *ind),
                                     void *ctx);
/*
 * Full rebuild: compiles what source emits beside the matcher in use and
 * swaps it in. On failure the old matcher stays and -1 is returned with e
 * set. st may be NULL.
 */
int detect_matcher_reload(struct detect_matcher_live *live, detect_matcher_source source,
                          void *arg, int64_t now_ms, struct detect_matcher_stats *st,
                          struct err *e) CIIP_MUST_CHECK;
/* Incremental: detect_matcher_update() of the current matcher, swapped in.
 * Meant for the few indicators changed since the last reload; reload when
 * st->delta grows past a few thousand. */
int detect_matcher_live_update(struct detect_matcher_live *live,
                               const struct detect_indicator *changed, size_t n, int64_t now_ms,
                               struct detect_matcher_stats *st, struct err *e) CIIP_MUST_CHECK;

/* ==== END matcher section ==== */

/* ==== BEGIN detectors section ==== */

/* One detection: which rule, about what, and why. */
struct detect_hit {
	const char *rule;   /* "ddos.volume", "bruteforce", "scan.ports", ... (static) */
	int severity;       /* 1 critical .. 4 low */
	struct ingest_ip src, dst;
	char key[96];       /* what the rule counted by, as text: "198.51.100.7" */
	double value;       /* what was measured */
	double threshold;   /* what it crossed */
	char detail[192];   /* for people */
};

/* Thresholds; 0 disables a detector. Windows are in seconds. */
struct detect_config {
	int64_t ddos_bytes_per_s;   /* to one destination, from flow events */
	int64_t ddos_packets_per_s;
	int64_t ddos_flows_per_s;
	int64_t ddos_window_s;
	int64_t brute_failures;     /* failed logins from one source */
	int64_t brute_window_s;
	int64_t scan_ports;         /* distinct destination ports from one source */
	int64_t scan_hosts;         /* distinct destination hosts from one source */
	int64_t scan_window_s;
	int64_t spam_messages;      /* messages from one sending address */
	int64_t spam_window_s;
	int64_t beacon_min_count;   /* connections from one internal host to one external */
	double beacon_max_jitter;   /* stddev / mean of the intervals */
	int64_t beacon_min_interval_s;
	size_t max_keys;            /* per detector table; the oldest key is evicted */
};

/* Sensible defaults for a sector node. */
void detect_config_defaults(struct detect_config *c);
/* The thresholds of the node's configuration (detect.* keys). */
void detect_config_from(const struct config *cfg, struct detect_config *c);

struct detect_shard;
struct detect_shard *detect_shard_new(const struct detect_config *c);
void detect_shard_free(struct detect_shard *s);
/*
 * Feeds one event. Writes at most max hits and returns how many. A rule
 * fires once when its key crosses the threshold inside a window and again
 * only in a later window (alert deduplication downstream merges repeats).
 */
int detect_shard_feed(struct detect_shard *s, const struct ingest_event *ev,
                      struct detect_hit *hits, int max);
/* Memory the shard holds, in bytes: bounded by max_keys, whatever comes in. */
size_t detect_shard_bytes(const struct detect_shard *s);
/* Keys evicted so far (a flood of distinct sources shows here). */
uint64_t detect_shard_evictions(const struct detect_shard *s);


/* ==== END detectors section ==== */

/* ==== BEGIN alerts section ==== */

/*
 * Alerts: one table; each alert has a rule, severity, sensor, organisation,
 * source and destination, the matched indicator, first and last seen and a
 * count. The same rule and key for the same organisation within
 * alert.dedupe_window_s updates one open alert instead of making a new one.
 * An indicator match also writes a STIX sighting of the indicator into the
 * "sightings" collection.
 *
 * Raising is asynchronous: detect_alerts_raise() queues (blocking when the
 * queue is full: back-pressure) and a writer thread batches the queue into
 * store transactions, merging repeats of one alert inside a batch.
 */
struct detect_alert_in {
	const char *rule;          /* "indicator", "bruteforce", ... */
	int severity;              /* 1 critical .. 4 low */
	int64_t sensor_id;
	int64_t org_id;            /* the organisation the alert belongs to */
	struct ingest_ip src, dst;
	const char *key;           /* what deduplicates it (src address, indicator+src, ...) */
	const char *indicator_id;  /* the matched STIX indicator, or NULL */
	const char *detail;        /* for people */
	int64_t ts_ms;             /* when the event happened */
	int64_t count;             /* how many events this stands for (usually 1) */
	json_t *evidence;          /* the event in ECS (borrowed; copied if kept) */
};

struct detect_alerts;
struct taxii;
struct detect_alerts *detect_alerts_new(struct store *st, const struct config *cfg,
                                        struct taxii *taxii);
/* Flushes what is queued, then stops the writer. */
void detect_alerts_free(struct detect_alerts *a);
void detect_alerts_raise(struct detect_alerts *a, const struct detect_alert_in *in);
/* Waits until everything raised so far is written (tests, shutdown). */
void detect_alerts_flush(struct detect_alerts *a);
/* /api/v1/alerts: list and filter, one alert, and the analyst's moves
 * (acknowledge, false positive, escalate to an incident, close). */
void detect_alerts_routes(struct detect_alerts *a, struct http_server *srv);
/* Prometheus: alerts by state and rule, raised per second. */
void detect_alerts_metrics(struct buf *out, void *arg);
void detect_schema_register(void);

/* Services (status + JSON), shared by the API and the client. */
int detect_svc_alert_list(struct detect_alerts *a, struct auth_ctx *x, const json_t *query,
                          json_t **out);
int detect_svc_alert_get(struct detect_alerts *a, struct auth_ctx *x, const char *id,
                         json_t **out);
/* move: "acknowledge", "false_positive", "escalate", "close"; in: {"reason"} */
int detect_svc_alert_move(struct detect_alerts *a, struct auth_ctx *x, const char *id,
                          const char *move, const json_t *in, json_t **out);

/* ==== END alerts section ==== */

/* ==== BEGIN pipeline section ==== */

/*
 * The matcher's feed from the STIX store (detect_feed.c), on its own
 * thread: a full build just after start (the node serves meanwhile, matching
 * nothing until it is swapped in), then the indicators added since the last
 * poll are compiled into the matcher's update layer twice a second, with a
 * full rebuild when indicators were deleted or a validity boundary passed.
 */
struct detect_feed;
struct detect_feed *detect_feed_new(struct store *st, struct err *e);
struct detect_matcher_live *detect_feed_live(struct detect_feed *f);
void detect_feed_poll(struct detect_feed *f);
void detect_feed_free(struct detect_feed *f);
void detect_feed_metrics(struct buf *out, void *arg);

/*
 * The SOC pipeline (detect_pipeline.c): decode and enrich threads, then
 * detector threads sharded by source address, joined by bounded queues;
 * hits go to the alert writer. Create it, give its input queue to the
 * ingest subsystem, then start it.
 */
struct detect_pipeline;
struct ingest;
/* feed may be NULL (no indicator matching). */
struct detect_pipeline *detect_pipeline_new(const struct config *cfg, struct detect_alerts *alerts,
                                            struct detect_feed *feed);
struct queue *detect_pipeline_input(struct detect_pipeline *p);
/* Uses this matcher instead of a feed's (benchmarks and tests). */
void detect_pipeline_set_matcher(struct detect_pipeline *p, struct detect_matcher_live *live);
/* Events examined by the detector threads so far. */
uint64_t detect_pipeline_events(struct detect_pipeline *p);
int detect_pipeline_start(struct detect_pipeline *p, struct ingest *in, struct err *e);
/* Waits until all queued work is done and its alerts written (tests). */
void detect_pipeline_drain(struct detect_pipeline *p);
/* Drains what is queued (stop the listeners first), then stops. */
void detect_pipeline_stop(struct detect_pipeline *p);
void detect_pipeline_free(struct detect_pipeline *p);
void detect_pipeline_metrics(struct buf *out, void *arg);

/* ==== END pipeline section ==== */

#endif
