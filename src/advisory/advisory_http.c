/*
 * advisory_http.c - the subsystem object, its HTTP routes (thin wrappers
 * over the services) and its /metrics collector.
 */
#include "advisory/advisory_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct advisory *
advisory_new(struct store *st, const struct config *cfg, struct auth *auth)
{
	struct advisory *a = xcalloc(1, sizeof(*a));
	a->st = st;
	a->cfg = cfg;
	a->auth = auth;
	return a;
}

void
advisory_free(struct advisory *a)
{
	free(a);
}

#define CTX(x, arg, r) auth_ctx_of((x), ((struct advisory *)(arg))->auth, (r))
#define SIMPLE(name, call) AUTH_HANDLER(name, CTX, call)
#define WITH_QUERY(name, call) AUTH_HANDLER_QUERY(name, CTX, call)
#define WITH_BODY(name, call) AUTH_HANDLER_BODY(name, CTX, call)

WITH_QUERY(h_list, advisory_svc_list(&x, q, &out))
WITH_BODY(h_create, advisory_svc_create(&x, in, &out))
WITH_QUERY(h_inbox, advisory_svc_inbox(&x, q, &out))
SIMPLE(h_get, advisory_svc_get(&x, http_req_param(r, "id"), &out))
WITH_BODY(h_update, advisory_svc_update(&x, http_req_param(r, "id"), in, &out))
SIMPLE(h_delete, advisory_svc_delete(&x, http_req_param(r, "id"), &out))
SIMPLE(h_versions, advisory_svc_versions(&x, http_req_param(r, "id"), &out))
SIMPLE(h_stix, advisory_svc_stix(&x, http_req_param(r, "id"), &out))
SIMPLE(h_replies, advisory_svc_replies(&x, http_req_param(r, "id"), &out))
WITH_BODY(h_reply, advisory_svc_reply(&x, http_req_param(r, "id"), in, &out))
WITH_BODY(h_correct, advisory_svc_correct(&x, http_req_param(r, "id"), in, &out))

/* A move may come with or without a body. */
AUTH_HANDLER_OPT_BODY(h_move, CTX,
                      advisory_svc_move(&x, http_req_param(r, "id"), http_req_param(r, "move"),
                                        in, &out))

void
advisory_routes(struct advisory *a, struct http_server *srv)
{
	http_route(srv, HTTP_GET, "/api/v1/advisories", h_list, a);
	http_route(srv, HTTP_POST, "/api/v1/advisories", h_create, a);
	http_route(srv, HTTP_GET, "/api/v1/advisories/inbox", h_inbox, a);
	http_route(srv, HTTP_GET, "/api/v1/advisories/{id}", h_get, a);
	http_route(srv, HTTP_PATCH, "/api/v1/advisories/{id}", h_update, a);
	http_route(srv, HTTP_DELETE, "/api/v1/advisories/{id}", h_delete, a);
	http_route(srv, HTTP_GET, "/api/v1/advisories/{id}/versions", h_versions, a);
	http_route(srv, HTTP_GET, "/api/v1/advisories/{id}/stix", h_stix, a);
	http_route(srv, HTTP_GET, "/api/v1/advisories/{id}/replies", h_replies, a);
	http_route(srv, HTTP_POST, "/api/v1/advisories/{id}/replies", h_reply, a);
	http_route(srv, HTTP_POST, "/api/v1/advisories/{id}/correct", h_correct, a);
	http_route(srv, HTTP_POST, "/api/v1/advisories/{id}/{move}", h_move, a);
}

void
advisory_metrics(struct buf *out, void *arg)
{
	struct advisory *a = arg;
	struct store_conn *c = store_reader_get(a->st);
	struct err e;
	int64_t by_state[ADVISORY_STATE_COUNT] = {0};
	struct store_stmt *s =
		store_prepare(c, "SELECT state, COUNT(*) FROM advisories GROUP BY state", &e);
	if (s) {
		while (store_step(s, &e) == STORE_ROW) {
			int st = advisory_state_parse(store_col_text(s, 0));
			if (st >= 0)
				by_state[st] = store_col_int(s, 1);
		}
		store_finalize(s);
	}
	int64_t overdue = 0;
	(void)store_query_int(
		c,
		"SELECT COUNT(*) FROM advisory_targets t JOIN advisories a ON a.root_id = t.root_id"
		" AND a.state = 'published' WHERE a.reply_due_at < ? AND NOT EXISTS (SELECT 1 FROM"
		" advisory_replies r WHERE r.root_id = t.root_id AND r.org_id = t.org_id)",
		&overdue, &e, "i", time_now_ms());
	store_reader_put(a->st, c);
	buf_puts(out, "# HELP ciip_advisories Advisory versions by state.\n"
	              "# TYPE ciip_advisories gauge\n");
	for (int st = 0; st < ADVISORY_STATE_COUNT; st++)
		buf_printf(out, "ciip_advisories{state=\"%s\"} %lld\n",
		           advisory_state_name((enum advisory_state)st), (long long)by_state[st]);
	buf_printf(out,
	           "# HELP ciip_advisory_replies_overdue Recipients of published advisories who "
	           "have not replied by the reply deadline.\n"
	           "# TYPE ciip_advisory_replies_overdue gauge\n"
	           "ciip_advisory_replies_overdue %lld\n",
	           (long long)overdue);
}
