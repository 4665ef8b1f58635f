/*
 * taxii_int.h - what the files of the taxii subsystem share: the parsed
 * TAXII query, timestamps and cursors (taxii_query.c), collections and
 * their access rules (taxii_collection.c), the write path
 * (taxii_store.c) and the read path (taxii_read.c). Nothing outside
 * src/taxii/ includes this file except the unit tests and the fuzz target.
 */
#ifndef CIIP_TAXII_INT_H
#define CIIP_TAXII_INT_H

#include <pthread.h>

#include "taxii/taxii.h"

/* ---- timestamps (taxii_query.c) -------------------------------------------- */

/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ": a STIX timestamp with the fraction
 * padded or cut to nine digits, so that text order is time order and equal
 * instants written differently compare equal. */
#define TAXII_VKEY_LEN 31
/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", how date_added is written. */
#define TAXII_DATE_LEN 28

/* Parses a STIX timestamp (stix_timestamp_valid) into microseconds since
 * the epoch, rounded down, and its version key. Either out may be NULL.
 * Returns 0 or -1. */
int taxii_ts_parse(const char *s, int64_t *us, char vkey[TAXII_VKEY_LEN]) CIIP_MUST_CHECK;
/* Formats microseconds since the epoch as date_added text. */
void taxii_ts_format(int64_t us, char out[TAXII_DATE_LEN]);

/* ---- query parameters (taxii_query.c) -------------------------------------- */

enum taxii_param {
	TAXII_P_ADDED_AFTER = 1 << 0,
	TAXII_P_LIMIT = 1 << 1,
	TAXII_P_NEXT = 1 << 2,
	TAXII_P_ID = 1 << 3,
	TAXII_P_TYPE = 1 << 4,
	TAXII_P_VERSION = 1 << 5,
	TAXII_P_SPEC = 1 << 6,
};
/* What each endpoint accepts (TAXII 2.1 sections 5.3-5.8). */
#define TAXII_P_OBJECTS 0x7fu
#define TAXII_P_OBJECT                                                                            \
	(TAXII_P_ADDED_AFTER | TAXII_P_LIMIT | TAXII_P_NEXT | TAXII_P_VERSION | TAXII_P_SPEC)
#define TAXII_P_VERSIONS (TAXII_P_ADDED_AFTER | TAXII_P_LIMIT | TAXII_P_NEXT | TAXII_P_SPEC)
#define TAXII_P_DELETE (TAXII_P_VERSION | TAXII_P_SPEC)

/* match[version] */
enum {
	TAXII_V_FIRST = 1 << 0,
	TAXII_V_LAST = 1 << 1,
	TAXII_V_ALL = 1 << 2,
	TAXII_V_STAMPS = 1 << 3,
};

/* The longest `next` accepted (ours are about 60 characters). */
#define TAXII_NEXT_MAX 128

struct taxii_query {
	unsigned present;       /* enum taxii_param bits seen */
	int64_t added_after_us; /* valid if TAXII_P_ADDED_AFTER */
	int limit;              /* 1..TAXII_PAGE_MAX after taxii_query_finish */
	char next[TAXII_NEXT_MAX + 1];
	json_t *ids;            /* JSON arrays of strings, NULL if not given */
	json_t *types;
	json_t *stamps;         /* version keys from match[version] */
	unsigned versions;      /* TAXII_V_* (LAST when not given) */
	bool spec_excludes;     /* match[spec_version] names no version we hold (2.1) */
	uint64_t filter_hash;   /* of every parameter but limit and next */
};

void taxii_query_init(struct taxii_query *q);
/*
 * Adds one query argument. allowed is a set of enum taxii_param bits; a
 * match[...] field the endpoint does not support, a repeated added_after,
 * limit or next, or a malformed value is an error (for a 400) naming the
 * parameter in e->key. Arguments that are no TAXII parameter are ignored.
 */
int taxii_query_add(struct taxii_query *q, unsigned allowed, const char *key, const char *value,
                    struct err *e) CIIP_MUST_CHECK;
/* Applies defaults (limit, match[version]=last). */
void taxii_query_finish(struct taxii_query *q);
void taxii_query_free(struct taxii_query *q);

/* ---- cursors (taxii_query.c) ----------------------------------------------- */

#define TAXII_KEY_BYTES 32

/* A position in one listing: the last row given, which listing and filters
 * it belongs to, and when it was issued. */
struct taxii_cursor {
	int64_t row_id;
	int64_t issued_s;
	uint64_t filter_hash; /* taxii_query.filter_hash mixed with the endpoint */
};

/* Writes the opaque, HMAC-protected text of c to out (>= TAXII_NEXT_MAX+1). */
void taxii_cursor_encode(const uint8_t key[TAXII_KEY_BYTES], const struct taxii_cursor *c,
                         char *out, size_t len);
/* Reads text made by taxii_cursor_encode. Fails (for a 400, with a message
 * in e) when it is not ours or was altered, belongs to other filters, or is
 * older than ttl_s at now_s. */
int taxii_cursor_decode(const uint8_t key[TAXII_KEY_BYTES], const char *text,
                        uint64_t filter_hash, int64_t now_s, int64_t ttl_s,
                        struct taxii_cursor *c, struct err *e) CIIP_MUST_CHECK;

/* ---- collections and access rules (taxii_collection.c) --------------------- */

#define TAXII_RULE_MAX_ORGS 32

/* Who may read or write a collection: a role in `roles` (bits of enum
 * auth_role) and an organisation that is any, in the community, the node's
 * own (staff), or listed. */
struct taxii_rule {
	unsigned roles;
	bool any_org, community, node;
	int64_t orgs[TAXII_RULE_MAX_ORGS];
	size_t norgs;
};

struct taxii_coll {
	int64_t id; /* row id, used in the objects table */
	char uuid[37];
	char alias[65];
	char title[257];
	char description[1025];
	struct taxii_rule read, write;
	int default_tlp; /* enum auth_tlp */
	char media_types[512]; /* JSON array text */
};

/* Parses a rule from JSON {"roles": [...], "orgs": [...]}. */
int taxii_rule_parse(const json_t *j, struct taxii_rule *r, struct err *e) CIIP_MUST_CHECK;
json_t *taxii_rule_json(const struct taxii_rule *r);
bool taxii_rule_allows(const struct taxii_rule *r, const struct auth_caller *caller);

/* Copies the collection named by its UUID or alias into *out. Returns 0, or
 * -1 when there is none. */
int taxii_coll_find(struct taxii *t, const char *ref, struct taxii_coll *out);
/* Re-reads the collections from the store (after a change). */
int taxii_coll_reload(struct taxii *t, struct err *e);
/* Creates a collection from a JSON description (the fields of
 * /api/v1/collections) as caller, with its audit row. */
int taxii_coll_create(struct taxii *t, const struct auth_caller *caller, const json_t *in,
                      struct taxii_coll *out, struct err *e);

/* ---- the subsystem ---------------------------------------------------------- */

struct taxii {
	struct store *st;
	const struct config *cfg;
	uint8_t key[TAXII_KEY_BYTES];
	pthread_rwlock_t colls_lock;
	struct taxii_coll *colls;
	size_t ncolls;
};

/* ---- the write path (taxii_store.c) ----------------------------------------- */

struct taxii_add_opts {
	const struct auth_caller *caller; /* who adds (audit, ownership) */
	int64_t owner_org;                /* owner of new objects; 0: the caller's org */
	bool may_lower;                   /* the caller may lower markings */
	const char *action;               /* audit action, e.g. "taxii.add" */
	bool keep_status;                 /* store the status resource for GET status */
};

/*
 * Validates and stores objects (a JSON array, borrowed) in collection c,
 * every version kept, and builds the TAXII status resource in *status.
 * Objects that fail validation or a rule (lowering a marking, another
 * organisation's object) are failures in the status; the others are stored
 * in one transaction with one audit row. Returns 0, or -1 with e when the
 * store itself failed (then nothing was stored).
 */
int taxii_objects_add(struct taxii *t, const struct taxii_coll *c, const json_t *objects,
                      const struct taxii_add_opts *o, json_t **status, struct err *e)
	CIIP_MUST_CHECK;

/* Adds delta to the stored number of indicators, inside a write. */
int taxii_count_indicators(struct store_conn *conn, int64_t delta, struct err *e);

/* Deletes the versions of object_id in c that q selects (match[version],
 * match[spec_version]) and that the caller may see; the caller must own
 * them or be node staff. Returns 200, 403 or 404 (nothing visible). */
int taxii_object_delete(struct taxii *t, const struct taxii_coll *c,
                        const struct auth_caller *caller, const char *object_id,
                        const struct taxii_query *q, struct err *e);

/* ---- the read path (taxii_read.c) -------------------------------------------- */

enum taxii_list_kind {
	TAXII_LIST_OBJECTS,  /* .../objects/ */
	TAXII_LIST_MANIFEST, /* .../manifest/ */
	TAXII_LIST_OBJECT,   /* .../objects/{id}/ */
	TAXII_LIST_VERSIONS, /* .../objects/{id}/versions/ */
};

/* A response body ready to send (body.data + skip, body.len - skip bytes),
 * and its X-TAXII-Date-Added-* values. */
struct taxii_page {
	struct buf body;
	size_t skip;
	char first[TAXII_DATE_LEN]; /* "" when the page is empty */
	char last[TAXII_DATE_LEN];
	size_t count;
};

enum taxii_list_rc {
	TAXII_LIST_OK = 0,
	TAXII_LIST_ERROR = -1,      /* the store failed: 500 */
	TAXII_LIST_BAD_CURSOR = -2, /* 400 with e */
	TAXII_LIST_NOT_FOUND = -3,  /* an object endpoint for an object not visible: 404 */
};

/* Builds one page of a listing for caller. object_id is for OBJECT and
 * VERSIONS. The page is freed with buf_free(&page->body). */
enum taxii_list_rc taxii_list(struct taxii *t, const struct auth_caller *caller,
                              const struct taxii_coll *c, enum taxii_list_kind kind,
                              const char *object_id, const struct taxii_query *q,
                              struct taxii_page *page, struct err *e);

/* Calls fn with the JSON text of every version (or only the latest) of
 * collection c that caller may see, oldest first. */
int taxii_each_object(struct taxii *t, const struct auth_caller *caller,
                      const struct taxii_coll *c, bool all_versions,
                      void (*fn)(const char *json, size_t len, void *arg), void *arg,
                      struct err *e);

/* ---- shared helpers --------------------------------------------------------- */

/* A new random UUID v4 in its text form. */
void taxii_uuid(char out[37]);
/* auth_check for an action on a collection rule: 0 when allowed, else an
 * HTTP status (401, 403, 404 when the caller may neither read nor write). */
int taxii_coll_access(const struct taxii_coll *c, const struct auth_caller *caller,
                      enum auth_action action);
/* The collection's JSON in TAXII form (can_read/can_write for caller). */
json_t *taxii_coll_taxii_json(const struct taxii_coll *c, const struct auth_caller *caller);
/* HTTP routes of /api/v1 (taxii_intel.c). */
void taxii_intel_routes(struct taxii *t, struct http_server *srv);

#endif
