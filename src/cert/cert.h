/*
 * cert.h - the CERT: incident reports filed by members, their review by the
 * node, the legal deadlines of Taiwan's Cyber Security Incident
 * Notification, Response and Drill Regulations (資通安全事件通報應變及演練
 * 辦法), routing of attacking addresses to the ISP that owns them or to the
 * national CERT, and each organisation's notification queue.
 *
 * A report moves through a fixed set of states (cert_move_apply says which
 * moves are allowed from where); every move is written to the incident's
 * timeline and to the audit log in the same transaction. The deadlines are
 * data: a table of per-level durations read from the configuration
 * (cert.deadlines.*), evaluated against the timestamps each report keeps.
 *
 * Operations are service functions (struct auth_ctx in, HTTP status and
 * JSON out) shared by the HTTP handlers and the offline client. Ownership:
 * every json_t ** out is a new reference for the caller; inputs are
 * borrowed.
 */
#ifndef CIIP_CERT_H
#define CIIP_CERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/core.h"
#include "http/http.h"
#include "store/store.h"

/* ---- states and moves ------------------------------------------------- */

enum cert_state {
	CERT_DRAFT,
	CERT_SUBMITTED,
	CERT_UNDER_REVIEW,
	CERT_RETURNED,
	CERT_ACCEPTED,
	CERT_CONTAINED,
	CERT_RECOVERED,
	CERT_CLOSED,
	CERT_STATE_COUNT
};

/* "draft", "submitted", "under_review", "returned", "accepted",
 * "contained", "recovered", "closed". */
const char *cert_state_name(enum cert_state s);
/* -1 for an unknown name. */
int cert_state_parse(const char *name);

enum cert_move {
	CERT_MOVE_SUBMIT,   /* draft -> submitted: stamps the notification time */
	CERT_MOVE_RESUBMIT, /* returned -> submitted */
	CERT_MOVE_REVIEW,   /* submitted -> under_review: a reviewer takes it */
	CERT_MOVE_RETURN,   /* submitted, under_review -> returned, with a reason */
	CERT_MOVE_ACCEPT,   /* under_review -> accepted; routes attacking addresses */
	CERT_MOVE_RELEVEL,  /* any reviewed-or-later state: new level, with a reason */
	CERT_MOVE_FORWARD,  /* after acceptance: the STIX incident goes upward */
	CERT_MOVE_CONTAIN,  /* accepted -> contained */
	CERT_MOVE_RECOVER,  /* accepted, contained -> recovered */
	CERT_MOVE_REPORT,   /* recovered: attach the investigation report */
	CERT_MOVE_CLOSE,    /* recovered -> closed, with the investigation report */
	CERT_MOVE_COUNT
};

/* "submit", "resubmit", "review", "return", "accept", "relevel", "forward",
 * "contain", "recover", "report", "close". */
const char *cert_move_name(enum cert_move m);
int cert_move_parse(const char *name); /* -1 if unknown */
/* The state after move m from s, or -1 if the move is not allowed there. */
int cert_move_apply(enum cert_state s, enum cert_move m);
/* The authorisation action a move needs (the caller must pass auth_check
 * for it on the incident's organisation). FORWARD accepts either REVIEW or
 * HANDLE; this returns REVIEW and cert_move_alt_action gives HANDLE. */
enum auth_action cert_move_action(enum cert_move m);
/* A second action that also permits the move, or -1. */
int cert_move_alt_action(enum cert_move m);

/* ---- deadlines ---------------------------------------------------------- */

enum cert_deadline {
	CERT_DL_NOTIFY,  /* notification after becoming aware */
	CERT_DL_REVIEW,  /* review by the supervising node after each submission */
	CERT_DL_FORWARD, /* forwarding upward after acceptance */
	CERT_DL_CONTAIN, /* containment or recovery after becoming aware */
	CERT_DL_REPORT,  /* investigation and improvement report after recovery */
	CERT_DL_COUNT
};

#define CERT_LEVELS 4

/* The rule table: for each deadline and level (index level-1), a duration.
 * REPORT counts calendar months (UTC), the others seconds. */
struct cert_rules {
	int64_t amount[CERT_DL_COUNT][CERT_LEVELS];
};

/* "notify", "review", "forward", "contain", "report". */
const char *cert_deadline_name(enum cert_deadline d);
/* Fills r from cfg's cert.deadlines.* lists ("3600,3600,3600,3600": one
 * value per level, or one value for all four). Returns 0, or -1 with the
 * key and the problem in e (r is then unchanged). */
int cert_rules_from_config(const struct config *cfg, struct cert_rules *r, struct err *e)
	CIIP_MUST_CHECK;
/* The regulation's table as of 2026-01-05 (the configuration defaults). */
void cert_rules_default(struct cert_rules *r);
/* ms + months calendar months, the day clamped to the month's last day. */
int64_t cert_add_months_ms(int64_t ms, int months);

/* The timestamps a report keeps (ms since the epoch, 0 = not yet). The
 * *_start fields are where each clock starts; a change of level restarts
 * the clocks that have not been met. */
struct cert_times {
	int level; /* 1..4 */
	int64_t known, notified;
	int64_t review_start, reviewed;
	int64_t forward_start, forwarded;
	int64_t contain_start, contained, recovered;
	int64_t reported;
};

struct cert_deadline_eval {
	bool applies;  /* its clock has started */
	int64_t start; /* ms */
	int64_t due;   /* ms */
	int64_t met;   /* ms, 0 = not met yet */
};

/* Evaluates all deadlines of one report. */
void cert_deadlines_eval(const struct cert_rules *r, const struct cert_times *t,
                         struct cert_deadline_eval out[CERT_DL_COUNT]);
/* The earliest due time among deadlines that have started and are not met,
 * or 0 if none; *kind (may be NULL) gets which. */
int64_t cert_next_due(const struct cert_deadline_eval ev[CERT_DL_COUNT], int *kind);
/* "pending", "overdue", "met", "met_late" or "not_started" at now_ms. A
 * deadline is overdue once now is strictly after its due time. */
const char *cert_deadline_status(const struct cert_deadline_eval *ev, int64_t now_ms);

/* ---- the classification taxonomy (ENISA RSIT) ---------------------------- */

/* True if class/type is a pair of the Reference Security Incident
 * Taxonomy ("intrusions"/"system-compromise"). */
bool cert_taxonomy_valid(const char *cls, const char *type);

/* ---- services -------------------------------------------------------------- */

/* in: the report (see docs/CERT.md). 201 and the incident. */
int cert_svc_incident_create(struct auth_ctx *x, const json_t *in, json_t **out);
int cert_svc_incident_get(struct auth_ctx *x, const char *id, json_t **out);
/* Edits a draft or a returned report. */
int cert_svc_incident_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out);
/* Deletes a draft. */
int cert_svc_incident_delete(struct auth_ctx *x, const char *id, json_t **out);
/* Applies a move by name ("submit", "accept", ...); in may carry "reason",
 * "level", "investigation_report". */
int cert_svc_incident_move(struct auth_ctx *x, const char *id, const char *move,
                           const json_t *in, json_t **out);
/* query: an object of strings (state, org, level, class, type, since,
 * until, overdue, q, limit, offset), as from a URL's query. */
int cert_svc_incident_list(struct auth_ctx *x, const json_t *query, json_t **out);
/* The same rows as CSV (RFC 4180) into csv; on error, status and *out. */
int cert_svc_incident_csv(struct auth_ctx *x, const json_t *query, struct buf *csv,
                          json_t **out);
int cert_svc_incident_timeline(struct auth_ctx *x, const char *id, json_t **out);
/* The incident as a STIX 2.1 bundle (incident with the OASIS incident core
 * extension, its observables and relationships). */
int cert_svc_incident_stix(struct auth_ctx *x, const char *id, json_t **out);
/*
 * An escalated SOC alert: in is {"alert_id", "title", "detected_at",
 * "org_id" (else the owner of destination.ip), "level", "class" and "type"
 * (or "classification": {"class", "type"}; a pair outside the taxonomy is
 * dropped), "source": {"ip"}, "destination": {"ip"}, "evidence": [...]}.
 * Creates a draft for the owning organisation with the evidence attached
 * and routes the source address at once. Long titles are shortened.
 */
int cert_svc_incident_from_alert(struct auth_ctx *x, const json_t *in, json_t **out);
/* The caller's organisation's queue (node staff: ?org=, default own). */
int cert_svc_notification_list(struct auth_ctx *x, const json_t *query, json_t **out);
int cert_svc_notification_ack(struct auth_ctx *x, const char *id, json_t **out);
/* The national queue: STIX incidents prepared for the CERT above. */
int cert_svc_outbox_list(struct auth_ctx *x, const json_t *query, json_t **out);
/* Marks an outbox entry sent (for the federation subsystem). */
int cert_svc_outbox_sent(struct auth_ctx *x, const char *id, json_t **out);
/* The deadline table in force and the classification taxonomy. */
int cert_svc_rules(struct auth_ctx *x, json_t **out);

/* ---- wiring ---------------------------------------------------------------- */

void cert_schema_register(void);
struct cert;
/* Validates the deadline rules (NULL and e on a bad table), brings stored
 * due times up to date if the rules changed since the last start, and
 * starts the thread that delivers notifications by webhook and e-mail when
 * configured. */
struct cert *cert_new(struct store *st, const struct config *cfg, struct auth *auth,
                      struct err *e);
/* /api/v1/incidents, /api/v1/notifications; with CIIP_TEST_CLOCK=1 in the
 * environment also the test-only POST /api/v1/test/clock. */
void cert_routes(struct cert *c, struct http_server *srv);
void cert_free(struct cert *c);
/* An ops collector: incidents by state, overdue deadlines, queue length. */
void cert_metrics(struct buf *out, void *arg);
/* Demo content: a dozen incidents in various states and levels. */
int cert_demo_seed(struct store *st, const struct config *cfg, struct err *e);

#endif
