/*
 * store_sqlite.c - the SQLite backend: WAL mode, a busy timeout, foreign
 * keys on, and a small per-connection cache of prepared statements, because
 * preparing is a large share of a short query's cost.
 */
#include "store/store_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SQLITE_STMT_CACHE 96

struct sqlite_stmt {
	struct store_stmt base;
	struct sqlite_conn *conn;
	sqlite3_stmt *st;
	const char *sql; /* the caller's string: literals, compared by address first */
	bool cached;
	bool in_use;
};

struct sqlite_conn {
	struct store_conn base;
	sqlite3 *db;
	char path[CONFIG_MAX_PATH + 16];
	struct sqlite_stmt *cache[SQLITE_STMT_CACHE];
	size_t ncache;
};

static void
set_db_err(struct err *e, sqlite3 *db, const char *what)
{
	err_set(e, "%s: %s", what, db ? sqlite3_errmsg(db) : "cannot allocate a connection");
}

static struct store_conn *
sq_open(const struct store_opts *o, bool writer, struct err *e)
{
	struct sqlite_conn *c = xcalloc(1, sizeof(*c));
	c->base.ops = &store_sqlite_ops;
	snprintf(c->path, sizeof(c->path), "%s/ciip.db", o->data_dir);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (writer)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(c->path, &c->db, flags, NULL) != SQLITE_OK) {
		set_db_err(e, c->db, c->path);
		sqlite3_close(c->db);
		free(c);
		return NULL;
	}
	sqlite3_busy_timeout(c->db, (int)o->busy_timeout_ms);
	sqlite3_extended_result_codes(c->db, 1);
	/* WAL lets readers run beside the one writer; synchronous=FULL makes a
	 * commit survive power loss, which an acknowledged write promises. */
	const char *pragmas = writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	                               "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
	                             : "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
	                               "PRAGMA temp_store=MEMORY;";
	char *msg = NULL;
	if (sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, "%s: %s", c->path, msg ? msg : "cannot set pragmas");
		sqlite3_free(msg);
		sqlite3_close(c->db);
		free(c);
		return NULL;
	}
	return &c->base;
}

static void
sq_close(struct store_conn *bc)
{
	struct sqlite_conn *c = (struct sqlite_conn *)bc;
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ncache; i++) {
		sqlite3_finalize(c->cache[i]->st);
		free(c->cache[i]);
	}
	sqlite3_close(c->db);
	free(c);
}

static int
sq_exec(struct store_conn *bc, const char *sql, struct err *e)
{
	struct sqlite_conn *c = (struct sqlite_conn *)bc;
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		err_set(e, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (rc & 0xff) == SQLITE_CONSTRAINT ? STORE_CONSTRAINT : STORE_ERROR;
	}
	return STORE_OK;
}

static struct store_stmt *
sq_prepare(struct store_conn *bc, const char *sql, struct err *e)
{
	struct sqlite_conn *c = (struct sqlite_conn *)bc;
	for (size_t i = 0; i < c->ncache; i++) {
		struct sqlite_stmt *s = c->cache[i];
		if (!s->in_use && (s->sql == sql || strcmp(s->sql, sql) == 0)) {
			s->in_use = true;
			return &s->base;
		}
	}
	struct sqlite_stmt *s = xcalloc(1, sizeof(*s));
	s->base.ops = &store_sqlite_ops;
	s->conn = c;
	bool cache = c->ncache < SQLITE_STMT_CACHE;
	if (sqlite3_prepare_v3(c->db, sql, -1, cache ? SQLITE_PREPARE_PERSISTENT : 0, &s->st,
	                       NULL) != SQLITE_OK) {
		set_db_err(e, c->db, "prepare");
		free(s);
		return NULL;
	}
	s->in_use = true;
	if (cache) {
		/* Cached statements keep their own copy of the SQL: a caller's
		 * string may be a temporary. */
		s->sql = sqlite3_sql(s->st);
		s->cached = true;
		c->cache[c->ncache++] = s;
	}
	return &s->base;
}

static int
sq_bind_int(struct store_stmt *bs, int idx, int64_t v)
{
	return sqlite3_bind_int64(((struct sqlite_stmt *)bs)->st, idx, v) == SQLITE_OK ? 0 : -1;
}

static int
sq_bind_double(struct store_stmt *bs, int idx, double v)
{
	return sqlite3_bind_double(((struct sqlite_stmt *)bs)->st, idx, v) == SQLITE_OK ? 0 : -1;
}

static int
sq_bind_text(struct store_stmt *bs, int idx, const char *v, size_t len)
{
	return sqlite3_bind_text64(((struct sqlite_stmt *)bs)->st, idx, v, len, SQLITE_TRANSIENT,
	                           SQLITE_UTF8) == SQLITE_OK
	           ? 0
	           : -1;
}

static int
sq_bind_blob(struct store_stmt *bs, int idx, const void *v, size_t len)
{
	return sqlite3_bind_blob64(((struct sqlite_stmt *)bs)->st, idx, v, len, SQLITE_TRANSIENT) ==
	               SQLITE_OK
	           ? 0
	           : -1;
}

static int
sq_bind_null(struct store_stmt *bs, int idx)
{
	return sqlite3_bind_null(((struct sqlite_stmt *)bs)->st, idx) == SQLITE_OK ? 0 : -1;
}

static int
sq_step(struct store_stmt *bs, struct err *e)
{
	struct sqlite_stmt *s = (struct sqlite_stmt *)bs;
	int rc = sqlite3_step(s->st);
	if (rc == SQLITE_ROW)
		return STORE_ROW;
	if (rc == SQLITE_DONE)
		return STORE_DONE;
	err_set(e, "%s", sqlite3_errmsg(s->conn->db));
	return (rc & 0xff) == SQLITE_CONSTRAINT ? STORE_CONSTRAINT : STORE_ERROR;
}

static bool
sq_col_null(struct store_stmt *bs, int col)
{
	return sqlite3_column_type(((struct sqlite_stmt *)bs)->st, col) == SQLITE_NULL;
}

static int64_t
sq_col_int(struct store_stmt *bs, int col)
{
	return sqlite3_column_int64(((struct sqlite_stmt *)bs)->st, col);
}

static double
sq_col_double(struct store_stmt *bs, int col)
{
	return sqlite3_column_double(((struct sqlite_stmt *)bs)->st, col);
}

static const char *
sq_col_text(struct store_stmt *bs, int col, size_t *len)
{
	sqlite3_stmt *st = ((struct sqlite_stmt *)bs)->st;
	const char *t = (const char *)sqlite3_column_text(st, col);
	if (len)
		*len = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
	return t ? t : "";
}

static const void *
sq_col_blob(struct store_stmt *bs, int col, size_t *len)
{
	sqlite3_stmt *st = ((struct sqlite_stmt *)bs)->st;
	const void *p = sqlite3_column_blob(st, col);
	*len = (size_t)sqlite3_column_bytes(st, col);
	return p;
}

static void
sq_finalize(struct store_stmt *bs)
{
	struct sqlite_stmt *s = (struct sqlite_stmt *)bs;
	if (s == NULL)
		return;
	if (s->cached) {
		sqlite3_reset(s->st);
		sqlite3_clear_bindings(s->st);
		s->in_use = false;
		return;
	}
	sqlite3_finalize(s->st);
	free(s);
}

static int64_t
sq_last_insert_id(struct store_conn *bc)
{
	return sqlite3_last_insert_rowid(((struct sqlite_conn *)bc)->db);
}

static int64_t
sq_changes(struct store_conn *bc)
{
	return sqlite3_changes64(((struct sqlite_conn *)bc)->db);
}

static int64_t
file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static int64_t
sq_size_bytes(struct store_conn *bc)
{
	struct sqlite_conn *c = (struct sqlite_conn *)bc;
	char wal[sizeof(c->path) + 8];
	snprintf(wal, sizeof(wal), "%s-wal", c->path);
	return file_size(c->path) + file_size(wal);
}

static int
sq_backup(struct store_conn *bc, const char *path, struct err *e)
{
	struct sqlite_conn *c = (struct sqlite_conn *)bc;
	sqlite3 *dst = NULL;
	if (sqlite3_open(path, &dst) != SQLITE_OK) {
		set_db_err(e, dst, path);
		sqlite3_close(dst);
		return -1;
	}
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", c->db, "main");
	if (b == NULL) {
		set_db_err(e, dst, "backup");
		sqlite3_close(dst);
		return -1;
	}
	int rc;
	/* Copy in steps so that the writer is never locked out for long. */
	while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY ||
	       rc == SQLITE_LOCKED)
		sqlite3_sleep(1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		err_set(e, "backup: %s", sqlite3_errstr(rc));
		sqlite3_close(dst);
		return -1;
	}
	sqlite3_close(dst);
	return 0;
}

const struct store_ops store_sqlite_ops = {
	.version = STORE_OPS_VERSION,
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.bind_int = sq_bind_int,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_null = sq_col_null,
	.col_int = sq_col_int,
	.col_double = sq_col_double,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.finalize = sq_finalize,
	.last_insert_id = sq_last_insert_id,
	.changes = sq_changes,
	.size_bytes = sq_size_bytes,
	.backup = sq_backup,
};
