/*
 * cert_int.h - what the files of the CERT subsystem share: the incident row
 * as loaded from the store, JSON helpers, the write-job plumbing, routing
 * and the STIX builders. Nothing outside src/cert/ (and tests/cert/)
 * includes it.
 */
#ifndef CIIP_CERT_INT_H
#define CIIP_CERT_INT_H

#include <pthread.h>

#include "cert/cert.h"

/* Limits on what a report may hold: every input has a cap. */
#define CERT_MAX_TITLE 256
#define CERT_MAX_TEXT (64 * 1024)
#define CERT_MAX_INDICATORS 1000
#define CERT_MAX_LIST 200
#define CERT_LIST_DEFAULT 50
#define CERT_LIST_MAX 500
#define CERT_CSV_MAX 100000

/* One incident as stored. Times are ms since the epoch, 0 for NULL. */
struct cert_incident {
	int64_t id;
	int64_t org_id;
	int64_t created_by_org;
	enum cert_state state;
	int level, reported_level;
	char cls[64], type[64];
	int tlp;
	char source[16];
	char created_by[160];
	char title[CERT_MAX_TITLE + 1];
	char org_name[128];
	char stix_id[64];
	int64_t occurred_at, known_at, notified_at, submitted_at, review_started_at;
	int64_t reviewed_at, accepted_at, review_start, forward_start, forwarded_at;
	int64_t contain_start, contained_at, recovered_at, report_at, closed_at;
	int64_t next_due_at, created_at, updated_at;
	json_t *data; /* owned: the report's free-form body */
};

/* The column list every incident query selects, in cert_incident_load's
 * order, for "cert_incidents i JOIN orgs o ON o.id = i.org_id". */
extern const char CERT_INCIDENT_COLS[];
/* Fills inc from a row of CERT_INCIDENT_COLS starting at column 0. */
void cert_incident_load(struct store_stmt *s, struct cert_incident *inc);
void cert_incident_clear(struct cert_incident *inc);
/* Loads one by id. 0, 1 (not found) or -1. */
int cert_incident_fetch(struct store_conn *c, int64_t id, struct cert_incident *inc,
                        struct err *e);
/* The times the deadline rules read. */
void cert_incident_times(const struct cert_incident *inc, struct cert_times *t);
/* Recomputes and stores next_due_at / next_due_kind for one incident. */
int cert_incident_store_due(struct store_conn *c, const struct cert_rules *r,
                            const struct cert_incident *inc, struct err *e);
/* Writes the mutable columns (state, level, times, data) back. */
int cert_incident_save(struct store_conn *c, struct cert_incident *inc, struct err *e);
/* The JSON of one incident: full (with the body) or a list summary. */
json_t *cert_incident_json(const struct cert_incident *inc, const struct cert_rules *r,
                           int64_t now_ms, bool full);
/* "INC-2026-000042" from the creation year and id. */
void cert_incident_ref(const struct cert_incident *inc, char *buf, size_t len);

/* ms -> RFC 3339 string, or JSON null for 0. */
/* Reads an optional RFC 3339 string member. 0 ok (ms 0 if absent or null),
 * -1 malformed. */
int cert_json_time(const json_t *obj, const char *key, int64_t *ms);

/* Appends one row to the incident's timeline. */
int cert_timeline_add(struct store_conn *c, int64_t incident_id, const struct auth_caller *who,
                      const char *action, const char *from, const char *to,
                      const json_t *detail, struct err *e);
/* The actor text used in timelines and records ("user:rita"). */
void cert_actor(const struct auth_caller *who, char *buf, size_t len);

/* The visibility rule for lists: members see their own organisation's
 * incidents; node staff see every submitted one and the drafts their own
 * organisation made. Appends a condition on alias i and its binds. */
void cert_sql_visible(const struct auth_caller *caller, struct buf *sql, json_t *binds);
/* Whether one incident is visible to the caller (same rule, via
 * auth_check on its organisation). */
enum auth_decision cert_check_read(const struct auth_caller *caller,
                                   const struct cert_incident *inc);

/* The taxonomy as JSON: [{"class": ..., "types": [...]}]. */
json_t *cert_taxonomy_json(void);

/* Loads an incident the caller may see: 0, or an HTTP status with *out. */
int cert_incident_get_visible(struct auth_ctx *x, const char *ref, struct cert_incident *inc,
                              json_t **out);
/* 0 when a report has what submission needs, else 422 with *out. */
int cert_incident_check_complete(const struct cert_incident *inc, json_t **out);
/* Creates a draft (create service and escalated alerts). extra: body
 * members set by the system (borrowed); route: route its addresses now. */
int cert_incident_create_job(struct auth_ctx *x, const json_t *in, const char *source,
                             json_t *extra, bool route, json_t **out);

/* The rules a service context runs under (from its config, else defaults). */
void cert_ctx_rules(const struct auth_ctx *x, struct cert_rules *r);

/* ---- routing (cert_route.c) ---- */

/* Routes every attacking address of the incident: a member's prefix puts a
 * notification in that organisation's queue, a foreign one prepares a STIX
 * incident in the national outbox. Records the result in the incident's
 * data ("routing") and timeline. Runs inside the caller's transaction. */
int cert_route_incident(struct store_conn *c, struct cert_incident *inc,
                        const struct auth_caller *who, struct err *e);
/* Queues a notification for org (kind: "abuse", "level_changed",
 * "returned", "incident"). */
int cert_notify_queue(struct store_conn *c, int64_t org_id, const char *kind,
                      int64_t incident_id, const char *subject, const json_t *payload,
                      struct err *e);
/* Puts the incident's STIX bundle in the national outbox. */
int cert_outbox_put(struct store_conn *c, const struct cert_incident *inc, const char *purpose,
                    struct err *e);
/* "public", "private" (RFC 1918, loopback, link-local, ULA, ...) or
 * "invalid" for an address. */
const char *cert_addr_scope(const char *ip);

/* ---- STIX (cert_stix.c) ---- */

#define CERT_INCIDENT_EXT_ID "extension-definition--ef765651-680c-498d-9894-99799f2fa126"

/* The deterministic STIX 2.1 id (UUIDv5) of a cyber-observable from its
 * ID-contributing properties, e.g. ipv4-addr {"value": "..."}. */
void cert_sco_id(const char *type, const json_t *contributing, char *out, size_t len);
/* The SCO for one report indicator, or NULL if it is not well-formed. */
json_t *cert_indicator_sco(const json_t *indicator);
/* Checks one indicator of a report; 0 or -1 with the reason in msg. */
int cert_indicator_check(const json_t *ind, char *msg, size_t len);
/* A bundle: the incident (with the incident core extension), its SCOs and
 * related-to relationships. identity is the node's STIX identity id. */
json_t *cert_incident_bundle(const struct cert_incident *inc, const char *identity);

/* ---- the subsystem object ---- */

struct cert {
	struct store *st;
	const struct config *cfg;
	struct auth *auth;
	struct cert_rules rules;
	/* notification delivery */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping;
	/* metrics cache */
	pthread_mutex_t metrics_mu;
	int64_t metrics_at_ns;
	int64_t metrics_cost_ns;
	struct buf metrics;
};

/* Delivery thread (cert_notify.c). */
int cert_delivery_start(struct cert *c, struct err *e);
void cert_delivery_stop(struct cert *c);

/* A small helper for error replies inside write jobs. */
/* Turns a failed write into a reply: the job's own failure, or a 500. */

#endif
