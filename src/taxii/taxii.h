/*
 * taxii.h - the threat-intelligence store and the TAXII 2.1 server.
 *
 * The store keeps STIX 2.1 objects in collections, as the JSON text of every
 * version with its common properties in columns beside it; each version has
 * the organisation that owns it and its effective TLP (its own marking, or
 * the collection's default when it has none), and every read is filtered by
 * what the caller's organisation may see (auth_sql_visible).
 *
 * On top of it: the TAXII 2.1 API root at TAXII_API_ROOT with every endpoint
 * of the specification, and the console's /api/v1/collections and
 * /api/v1/intel services. docs/TAXII.md describes the behaviour; the
 * service functions below are shared by the HTTP handlers and the offline
 * client (`ciip --data DIR intel ...`).
 */
#ifndef CIIP_TAXII_H
#define CIIP_TAXII_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/core.h"
#include "http/http.h"
#include "store/store.h"

#define TAXII_MEDIA_TYPE "application/taxii+json;version=2.1"
#define TAXII_STIX_MEDIA_TYPE "application/stix+json;version=2.1"
/* The one API root this node serves. */
#define TAXII_API_ROOT_NAME "ciip"
#define TAXII_API_ROOT "/taxii2/" TAXII_API_ROOT_NAME "/"
/* Objects per page when the client gives no limit, and the most we give. */
#define TAXII_PAGE_DEFAULT 100
#define TAXII_PAGE_MAX 1000
/* A `next` cursor is refused this long after it was issued. */
#define TAXII_CURSOR_TTL_S 3600
/* Values in one match[...] parameter (comma-separated or repeated). */
#define TAXII_MATCH_MAX_VALUES 100
/* Status resources are kept this long after the request that made them. */
#define TAXII_STATUS_TTL_S (7 * 24 * 3600)

/* Registers the store's tables (migrations 200-299); call before store_open. */
void taxii_schema_register(void);

struct taxii;
/* Creates the subsystem on an open store (reads the cursor key and the
 * collections). Aborts only on a store that cannot be read at all. */
struct taxii *taxii_new(struct store *st, const struct config *cfg);
/* Installs /taxii2/ (with the TAXII error style) and /api/v1/collections,
 * /api/v1/intel on srv. */
void taxii_routes(struct taxii *t, struct http_server *srv);
void taxii_free(struct taxii *t);

/* Demo content: the collections "advisories", "indicators", "sightings"
 * and "incidents", and a few hundred objects of several types. Call on a
 * fresh node after auth_demo_seed. */
int taxii_demo_seed(struct taxii *t, struct err *e);

/*
 * Adds objects to a collection as the caller of x (the bulk path shared by
 * TAXII POST, import and the benchmark loader). objects is a JSON array of
 * STIX objects (borrowed). collection is a UUID or an alias. *out is the
 * TAXII status resource. Returns an HTTP status (202 when the request was
 * processed, even if some objects failed; 4xx/5xx with an error body).
 */
int taxii_svc_add(struct taxii *t, struct auth_ctx *x, const char *collection,
                  const json_t *objects, json_t **out);

/* ---- services: HTTP status out, JSON in and out (out is a new ref) ---- */

int taxii_svc_collection_list(struct taxii *t, struct auth_ctx *x, json_t **out);
int taxii_svc_collection_get(struct taxii *t, struct auth_ctx *x, const char *id, json_t **out);
int taxii_svc_collection_create(struct taxii *t, struct auth_ctx *x, const json_t *in,
                                json_t **out);
int taxii_svc_collection_update(struct taxii *t, struct auth_ctx *x, const char *id,
                                const json_t *in, json_t **out);
int taxii_svc_collection_delete(struct taxii *t, struct auth_ctx *x, const char *id,
                                json_t **out);

/* Console search over the latest versions: the keys of `in` are the query
 * arguments of GET /api/v1/intel (collection, type, q, tlp, intel_type,
 * revoked, limit, after), all strings. */
int taxii_svc_intel_list(struct taxii *t, struct auth_ctx *x, const json_t *in, json_t **out);
int taxii_svc_intel_get(struct taxii *t, struct auth_ctx *x, const char *id,
                        const char *collection, json_t **out);
int taxii_svc_intel_create(struct taxii *t, struct auth_ctx *x, const json_t *in, json_t **out);
int taxii_svc_intel_update(struct taxii *t, struct auth_ctx *x, const char *id, const json_t *in,
                           json_t **out);
int taxii_svc_intel_revoke(struct taxii *t, struct auth_ctx *x, const char *id, const json_t *in,
                           json_t **out);
/* in is a STIX bundle or a TAXII envelope (already parsed). */
int taxii_svc_intel_import(struct taxii *t, struct auth_ctx *x, const char *collection,
                           const json_t *in, json_t **out);
/* A STIX bundle of what the caller may see in the collection, as text in
 * *text (the caller frees it): every version, or only the latest. On an
 * error the body is JSON in *text too. */
int taxii_svc_intel_export(struct taxii *t, struct auth_ctx *x, const char *collection,
                           bool all_versions, char **text);


/* ---- the indicator feed, for the detection matcher (taxii_feed.c) ---- */

/* Receives one indicator's JSON (borrowed for the call), its owner and TLP. */
typedef void (*taxii_indicator_fn)(void *ctx, const char *json, size_t len, int64_t org_id,
                                   int tlp);
/* Calls fn for the newest version of every indicator whose row is after
 * after_row (0: all), in row order per collection; *last_row gets the
 * highest row seen. */
int taxii_indicators_each(struct store *st, int64_t after_row, taxii_indicator_fn fn, void *ctx,
                          int64_t *last_row, struct err *e);
/* How many indicators (newest versions) the store holds; -1 on error. A drop
 * means some were deleted: time for a full reload. */
int64_t taxii_indicators_count(struct store *st);

#endif
