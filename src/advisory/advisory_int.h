/*
 * advisory_int.h - what the files of the advisory subsystem share: the
 * stored row and who may read it, the write job and its checked input, the
 * STIX builder. Nothing outside src/advisory/ (and tests/advisory/)
 * includes it.
 */
#ifndef CIIP_ADVISORY_INT_H
#define CIIP_ADVISORY_INT_H

#include "advisory/advisory.h"

#define ADV_MAX_TITLE 256
#define ADV_MAX_TEXT (256 * 1024)
#define ADV_MAX_LIST 500
#define ADV_LIST_DEFAULT 50
#define ADV_LIST_MAX 500

struct advisory_row {
	int64_t id, root_id, supersedes_id, org_id;
	int version;
	enum advisory_state state;
	char title[ADV_MAX_TITLE + 1];
	char severity[16];
	char intel_type[8];
	int tlp;
	char stix_id[64];
	char author[160];
	int64_t author_user_id, author_token_id;
	char reviewer[160];
	char org_name[128];
	int64_t reply_due_at, created_at, updated_at, submitted_at, reviewed_at, published_at,
		withdrawn_at;
	json_t *data; /* owned: summary, body, targets, products, cves, measures, indicators, ... */
};

extern const char ADV_COLS[]; /* for "advisories a JOIN orgs o ON o.id = a.org_id" */
void adv_row_load(struct store_stmt *s, struct advisory_row *a, bool with_data);
void adv_row_clear(struct advisory_row *a);
/* 0, 1 (not found) or -1. */
int adv_row_fetch(struct store_conn *c, int64_t id, struct advisory_row *a, struct err *e);
/* "ADV-2026-0007" from the series' first version. */
void adv_ref(const struct advisory_row *a, char *buf, size_t len);
void adv_actor(const struct auth_caller *who, char *buf, size_t len);
/* Whether the caller's organisation is a recipient of the series. */
bool adv_is_target(struct store_conn *c, int64_t root_id, int64_t org_id);
/* May the caller read this version (auth_check with the rule in
 * advisory_read.c: unpublished ones are the issuing organisation's, a
 * recipient reads its delivered copy). */
enum auth_decision adv_check_read(struct store_conn *c, const struct auth_caller *caller,
                                  const struct advisory_row *a);
/* The aggregate of replies for a series, at now_ms. */
json_t *adv_aggregate(struct store_conn *c, const struct advisory_row *a, int64_t now_ms);
/* Appends a history row. */
int adv_history_add(struct store_conn *c, const struct advisory_row *a,
                    const struct auth_caller *who, const char *action, const json_t *detail,
                    struct err *e);

/* Draft, submitted or rejected: seen only inside the issuing organisation. */
bool adv_internal_state(enum advisory_state s);
/* A version as the services show it; full adds the body and indicators. */
json_t *adv_row_json(const struct advisory_row *a, bool full);
/* Loads a version the caller may see: 0, or a status with *out. */
int adv_get_visible(struct auth_ctx *x, const char *ref, struct advisory_row *a, json_t **out);
/* A write service's answer: version id read back (with the aggregate for
 * its issuer) and status, or 500 with *out. */
int adv_reply_row(struct auth_ctx *x, int64_t id, int status, json_t **out);

/*
 * The writes (advisory_draft.c, advisory_review.c) run in store_write with
 * a write_job; the input is checked before, on a reader connection.
 */
struct adv_input {
	const json_t *in;
	const char *title, *severity;
	char intel_type[8];
	int tlp;
	int64_t reply_due;
	bool has_reply_due;
	json_t *targets; /* owned, normalised: {"sectors": [...], "orgs": [ids], "all_members": b} */
};

struct write_job {
	const struct auth_caller *who;
	struct adv_input ai;
	int64_t id;     /* the row acted on */
	int64_t new_id; /* the row made */
	const char *move;
	const char *reason;
	struct auth_fail f;
	struct err e;
};

/* Appends the audit record of a write to advisory id. */
int adv_audit(struct store_conn *c, struct write_job *j, int64_t id, const char *action,
              const json_t *detail);

/* Checks one indicator ({"type", "value"} or {"type": "file", "hashes"}). */
int adv_indicator_check(const json_t *ind, char *msg, size_t len);
/* The STIX pattern of an indicator; NULL if not well-formed. Free it. */
char *adv_indicator_pattern(const json_t *ind);
/*
 * The bundle of a version: the issuing identity, one `indicator` per
 * indicator, one `vulnerability` per CVE, and the `report` that refers to
 * them all, marked with the advisory's TLP and carrying its intel type.
 * first_ms: the series' first publication (the objects' "created"); ms:
 * this version's time ("modified"). revoked: a withdrawal.
 */
json_t *adv_stix_bundle(const struct advisory_row *a, const char *identity,
                        const char *identity_name, int64_t first_ms, int64_t ms, bool revoked);


struct advisory {
	struct store *st;
	const struct config *cfg;
	struct auth *auth;
};

#endif
