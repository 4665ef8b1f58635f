/*
 * advisory.h - advisories (警訊): an analyst drafts one, a reviewer who is
 * not its author publishes or rejects (退件) it, publication delivers it to
 * every targeted organisation and writes it as a STIX 2.1 `report` with its
 * indicators, members reply (received, affected or not, measures taken),
 * and the node tracks who has not answered by the reply deadline.
 *
 * A published advisory is never edited in place: a correction is a new
 * version (a new draft of the same series that goes through review again
 * and supersedes the old version when published), and a withdrawal is a
 * recorded state with a reason. Replies and deliveries belong to the
 * series, so members keep their answers across corrections.
 *
 * Services take a struct auth_ctx and give an HTTP status and JSON (a new
 * reference in *out); inputs are borrowed.
 */
#ifndef CIIP_ADVISORY_H
#define CIIP_ADVISORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/core.h"
#include "http/http.h"
#include "store/store.h"

enum advisory_state {
	ADVISORY_DRAFT,
	ADVISORY_SUBMITTED,
	ADVISORY_REJECTED,
	ADVISORY_PUBLISHED,
	ADVISORY_SUPERSEDED,
	ADVISORY_WITHDRAWN,
	ADVISORY_STATE_COUNT
};

/* "draft", "submitted", "rejected", "published", "superseded", "withdrawn". */
const char *advisory_state_name(enum advisory_state s);
int advisory_state_parse(const char *name); /* -1 if unknown */

/* ---- services ---- */

int advisory_svc_create(struct auth_ctx *x, const json_t *in, json_t **out);
int advisory_svc_get(struct auth_ctx *x, const char *id, json_t **out);
/* Drafts and rejected advisories only; a published one answers 409. */
int advisory_svc_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out);
int advisory_svc_delete(struct auth_ctx *x, const char *id, json_t **out);
/* query: state, severity, intel_type, q, versions ("all"), limit, offset. */
int advisory_svc_list(struct auth_ctx *x, const json_t *query, json_t **out);
/* move: "submit", "publish", "reject", "withdraw"; in may carry "reason". */
int advisory_svc_move(struct auth_ctx *x, const char *id, const char *move, const json_t *in,
                      json_t **out);
/* A correction of a published advisory: a new draft version with the
 * changed fields and a "note" saying what was corrected. 201. */
int advisory_svc_correct(struct auth_ctx *x, const char *id, const json_t *in, json_t **out);
int advisory_svc_versions(struct auth_ctx *x, const char *id, json_t **out);
/* A member's reply: {"org", "status": received|affected|not_affected,
 * "mitigated", "measures", "measures_at", "note"}. 201. */
int advisory_svc_reply(struct auth_ctx *x, const char *id, const json_t *in, json_t **out);
/* Replies (all for the issuing node, the caller's own for a member) and,
 * for the issuing node, the aggregate. */
int advisory_svc_replies(struct auth_ctx *x, const char *id, json_t **out);
/* The caller's organisation's queue of delivered advisories. */
int advisory_svc_inbox(struct auth_ctx *x, const json_t *query, json_t **out);
/* The STIX bundle written at the latest publication (or withdrawal). */
int advisory_svc_stix(struct auth_ctx *x, const char *id, json_t **out);

/*
 * Where published reports go besides advisory_stix: fn is called after each
 * publication and withdrawal has committed, with the caller's context and
 * the bundle's objects (borrowed), and returns 0 or -1. The daemon sets it
 * to add them to the STIX object store (collection "advisories"), so TAXII
 * subscribers and the federation receive them. Process-wide; NULL turns it
 * off.
 */
typedef int (*advisory_stix_sink_fn)(struct auth_ctx *x, const json_t *objects, void *arg);
void advisory_stix_sink_set(advisory_stix_sink_fn fn, void *arg);

/* ---- wiring ---- */

void advisory_schema_register(void);
struct advisory;
struct advisory *advisory_new(struct store *st, const struct config *cfg, struct auth *auth);
/* /api/v1/advisories... */
void advisory_routes(struct advisory *a, struct http_server *srv);
void advisory_free(struct advisory *a);
/* An ops collector: advisories by state, recipients overdue. */
void advisory_metrics(struct buf *out, void *arg);
/* Demo content: published advisories with replies, a draft, one rejected. */
int advisory_demo_seed(struct store *st, const struct config *cfg, struct err *e);

#endif
