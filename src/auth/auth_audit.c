/*
 * auth_audit.c - the audit log: every change by a person or token, one row
 * each, hash-chained so that an edited or deleted row is detected.
 *
 * A row's hash is SHA-256 over the previous row's hash and the row's
 * canonical text (auth_audit_row_hash). Rows are appended inside the same
 * write transaction as the change they record, and the store has a single
 * writer, so the chain never forks.
 */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <stdio.h>
#include <string.h>

/* The canonical text of a row: its fields, separated by a byte that cannot
 * occur in them unescaped (0x1f, the ASCII unit separator). */
static void
canonical(struct buf *b, int64_t id, int64_t ts, const char *actor, int64_t uid, int64_t tid,
          int64_t org, const char *action, const char *otype, const char *oid,
          const char *detail, const char *remote)
{
	buf_printf(b, "%lld\x1f%lld\x1f%s\x1f%lld\x1f%lld\x1f%lld\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s",
	           (long long)id, (long long)ts, actor, (long long)uid, (long long)tid,
	           (long long)org, action, otype, oid, detail, remote);
}

int
auth_audit_append(struct store_conn *c, const struct auth_caller *who, const char *action,
                  const char *object_type, const char *object_id, const json_t *detail,
                  struct err *e)
{
	char prev[65] = AUTH_AUDIT_GENESIS;
	int64_t last_id = 0;
	struct store_stmt *s =
		store_prepare(c, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", e);
	if (s == NULL)
		return -1;
	if (store_step(s, e) == STORE_ROW) {
		last_id = store_col_int(s, 0);
		snprintf(prev, sizeof(prev), "%s", store_col_text(s, 1));
	}
	store_finalize(s);

	char *dtext = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	const char *d = dtext ? dtext : "{}";
	char actor[160];
	if (who == NULL)
		snprintf(actor, sizeof(actor), "anonymous");
	else if (who->local)
		snprintf(actor, sizeof(actor), "local:%s", who->name);
	else if (who->token_id)
		snprintf(actor, sizeof(actor), "token:%s", who->name);
	else
		snprintf(actor, sizeof(actor), "user:%s", who->name);
	int64_t id = last_id + 1;
	int64_t ts = time_now_ms();
	int64_t uid = who ? who->user_id : 0, tid = who ? who->token_id : 0;
	int64_t org = who ? who->org_id : 0;
	const char *remote = who && who->remote[0] ? who->remote : (who && who->local ? "local" : "");
	struct buf row = {0};
	canonical(&row, id, ts, actor, uid, tid, org, action, object_type, object_id, d, remote);
	char hash[65];
	auth_audit_row_hash(prev, row.data, hash);
	buf_free(&row);

	s = store_prepare(c,
	                  "INSERT INTO audit_log(id, ts, actor, actor_user_id, actor_token_id, org_id,"
	                  " action, object_type, object_id, detail, remote, prev_hash, hash)"
	                  " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
	                  e);
	if (s == NULL) {
		free(dtext);
		return -1;
	}
	store_bind_int(s, 1, id);
	store_bind_int(s, 2, ts);
	store_bind_text(s, 3, actor);
	store_bind_int(s, 4, uid);
	store_bind_int(s, 5, tid);
	store_bind_int(s, 6, org);
	store_bind_text(s, 7, action);
	store_bind_text(s, 8, object_type);
	store_bind_text(s, 9, object_id);
	store_bind_text(s, 10, d);
	store_bind_text(s, 11, remote);
	store_bind_text(s, 12, prev);
	store_bind_text(s, 13, hash);
	int rc = store_step(s, e);
	store_finalize(s);
	free(dtext);
	if (rc != STORE_DONE)
		return -1;
	/* The head of the chain is also kept apart, so that deleting the last
	 * rows (which leaves a valid shorter chain) is detected too. */
	char head[96];
	snprintf(head, sizeof(head), "%lld:%s", (long long)id, hash);
	s = store_prepare(c,
	                  "INSERT INTO node_settings(key, value, updated_at) VALUES ('audit_head', ?, ?)"
	                  " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
	                  " updated_at = excluded.updated_at",
	                  e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, head);
	store_bind_int(s, 2, ts);
	rc = store_step(s, e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
auth_audit_verify(struct store *st, int64_t *rows, struct err *e)
{
	struct store_conn *c = store_reader_get(st);
	struct store_stmt *s = store_prepare(
		c,
		"SELECT id, ts, actor, actor_user_id, actor_token_id, org_id, action, object_type,"
		" object_id, detail, remote, prev_hash, hash FROM audit_log ORDER BY id",
		e);
	int ret = 0;
	*rows = 0;
	if (s == NULL) {
		store_reader_put(st, c);
		return -1;
	}
	char prev[65] = AUTH_AUDIT_GENESIS;
	int64_t expect_id = 1;
	int rc;
	while ((rc = store_step(s, e)) == STORE_ROW) {
		int64_t id = store_col_int(s, 0);
		if (id != expect_id) {
			err_set(e, "row %lld is missing (the next row is %lld): rows were deleted",
			        (long long)expect_id, (long long)id);
			ret = -1;
			break;
		}
		if (strcmp(store_col_text(s, 11), prev) != 0) {
			err_set(e, "row %lld does not follow row %lld: its previous-hash does not match",
			        (long long)id, (long long)id - 1);
			ret = -1;
			break;
		}
		struct buf row = {0};
		canonical(&row, id, store_col_int(s, 1), store_col_text(s, 2), store_col_int(s, 3),
		          store_col_int(s, 4), store_col_int(s, 5), store_col_text(s, 6),
		          store_col_text(s, 7), store_col_text(s, 8), store_col_text(s, 9),
		          store_col_text(s, 10));
		char hash[65];
		auth_audit_row_hash(prev, row.data, hash);
		buf_free(&row);
		if (strcmp(hash, store_col_text(s, 12)) != 0) {
			err_set(e, "row %lld was changed: its content does not match its hash", (long long)id);
			ret = -1;
			break;
		}
		memcpy(prev, hash, sizeof(prev));
		expect_id++;
		(*rows)++;
	}
	if (ret == 0 && rc != STORE_DONE)
		ret = -1;
	store_finalize(s);
	if (ret == 0) {
		char want[96] = "";
		s = store_prepare(c, "SELECT value FROM node_settings WHERE key = 'audit_head'", e);
		if (s && store_step(s, e) == STORE_ROW)
			snprintf(want, sizeof(want), "%s", store_col_text(s, 0));
		store_finalize(s);
		char have[96] = "";
		if (expect_id > 1)
			snprintf(have, sizeof(have), "%lld:%s", (long long)(expect_id - 1), prev);
		if (strcmp(want, have) != 0) {
			err_set(e, "the log ends at row %lld but its recorded head is %s: rows at the end "
			           "were deleted",
			        (long long)(expect_id - 1), want[0] ? want : "(none)");
			ret = -1;
		}
	}
	store_reader_put(st, c);
	return ret;
}
