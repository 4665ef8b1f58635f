/*
 * ingest_sources.h - what the ingest subsystem's source side shares: the
 * sensors registry, the spool, the listeners and enrichment, and the
 * subsystem's own structure. (The decoders' shared internals are in
 * ingest_int.h.)
 */
#ifndef CIIP_INGEST_SOURCES_H
#define CIIP_INGEST_SOURCES_H

#include <pthread.h>
#include <stdatomic.h>

#include "auth/auth.h"
#include "ingest/ingest.h"
#include "store/store.h"

#define INGEST_MAX_SENSORS 4096
#define INGEST_MAX_LISTENERS 4
#define INGEST_DEADLETTER_MAX_BYTES (64LL * 1024 * 1024)
#define INGEST_DEADLETTER_LINE_MAX 4096

struct ingest_sensor {
	int64_t id, org_id, token_id;
	char name[72];
	char kind[16];
	enum ingest_format fmt;
	struct ingest_mapping *mapping;
	bool disabled;
	_Atomic uint64_t events, bytes, decode_errors, drops;
	_Atomic int64_t last_seen_ms, last_error_log_ms;
	uint64_t rate_last_events; /* housekeeping thread only */
	double rate_eps;
};

struct ingest {
	struct store *st;
	const struct config *cfg;
	struct queue *out;
	pthread_rwlock_t sensors_lock;
	struct ingest_sensor *sensors[INGEST_MAX_SENSORS];
	size_t nsensors;
	pthread_mutex_t dead_mu;
	struct ingest_spool *spool;
	pthread_t spool_thread;
	bool spool_running;
	struct ingest_listener *listeners[INGEST_MAX_LISTENERS];
	int nlisteners;
	struct ingest_enrich *enrich;
	_Atomic uint64_t drops_unattributed;
};

/* sensors (ingest_sensor.c) */
int ingest_sensors_load(struct ingest *in, struct err *e);
struct ingest_sensor *ingest_sensor_by_token(struct ingest *in, int64_t token_id);
struct ingest_sensor *ingest_sensor_by_id(struct ingest *in, int64_t id);
struct ingest_sensor *ingest_sensor_by_name(struct ingest *in, const char *name);
void ingest_sensors_tick(struct ingest *in, double dt_s);

/* the spool (ingest_spool.c) */
struct ingest_spool;
struct ingest_spool_rec {
	uint64_t seq;
	int64_t sensor_id, org_id;
	enum ingest_format fmt;
	char *data; /* owned by the receiver; lines ending in '\n' */
	size_t len;
};
struct ingest_spool *ingest_spool_open(const char *data_dir, struct err *e);
void ingest_spool_close(struct ingest_spool *s);
/* Appends a batch and makes it durable (fdatasync) before returning 0. */
int ingest_spool_append(struct ingest_spool *s, int64_t sensor_id, int64_t org_id,
                        enum ingest_format fmt, const char *data, size_t len, uint64_t *seq,
                        struct err *e);
/* The next batch not yet handed out, waiting for one. 1, 0 when stopping,
 * -1 on a damaged spool. */
int ingest_spool_next(struct ingest_spool *s, struct ingest_spool_rec *out);
void ingest_spool_done(struct ingest_spool *s, uint64_t seq);
void ingest_spool_checkpoint(struct ingest_spool *s);
void ingest_spool_stop(struct ingest_spool *s);
void ingest_spool_stats(struct ingest_spool *s, uint64_t *records, uint64_t *bytes,
                        uint64_t *pending);

/* listeners (ingest_listen.c) */
struct ingest_listener;
/* kind: "json-tcp", "syslog-tcp" or "syslog-udp" */
struct ingest_listener *ingest_listener_start(struct ingest *in, const char *kind,
                                              const char *addr, const char *sensor_name,
                                              size_t maxconns, struct err *e);
void ingest_listener_stop(struct ingest_listener *l);
void ingest_listener_stats(struct ingest_listener *l, uint64_t *conns, uint64_t *refused);

/* enrichment (ingest_enrich.c) */
struct ingest_enrich;
struct ingest_enrich *ingest_enrich_new(struct store *st, const char *country_db,
                                        const char *asn_db);
void ingest_enrich_reload(struct ingest_enrich *en);
void ingest_enrich_event(struct ingest_enrich *en, struct ingest_event *ev);
void ingest_enrich_free(struct ingest_enrich *en);

#endif
