/*
 * store.h - the database, behind one interface.
 *
 * Callers write portable SQL with `?` placeholders and use the statement
 * calls below; the backend (SQLite now, PostgreSQL later) fills one
 * `struct store_ops`. There is one writer: every change runs as a callback
 * on the writer thread inside a transaction (store_write). Reads borrow a
 * pooled connection of their own (store_reader_get), so readers never block
 * the writer and the writer never blocks them (WAL).
 *
 * The schema is a numbered list of migrations applied at start-up; a
 * database whose schema is newer than this binary knows is refused.
 */
#ifndef CIIP_STORE_H
#define CIIP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

struct store;
struct store_conn;
struct store_stmt;

enum store_rc {
	STORE_OK = 0,
	STORE_ROW = 1,        /* store_step: a row is ready */
	STORE_DONE = 2,       /* store_step: no more rows */
	STORE_ERROR = -1,     /* anything else; the message is in the err */
	STORE_CONSTRAINT = -2 /* a UNIQUE, FOREIGN KEY or CHECK refused the write */
};

struct store_opts {
	const char *data_dir;
	int64_t busy_timeout_ms;
	int readers;
};

/*
 * A backend. Filled with designated initialisers; `version` is
 * STORE_OPS_VERSION so that an out-of-date backend is caught at start.
 */
#define STORE_OPS_VERSION 1
struct store_ops {
	int version;
	const char *name;
	struct store_conn *(*open)(const struct store_opts *o, bool writer, struct err *e);
	void (*close)(struct store_conn *c);
	int (*exec)(struct store_conn *c, const char *sql, struct err *e);
	struct store_stmt *(*prepare)(struct store_conn *c, const char *sql, struct err *e);
	int (*bind_int)(struct store_stmt *s, int idx, int64_t v);
	int (*bind_double)(struct store_stmt *s, int idx, double v);
	int (*bind_text)(struct store_stmt *s, int idx, const char *v, size_t len);
	int (*bind_blob)(struct store_stmt *s, int idx, const void *v, size_t len);
	int (*bind_null)(struct store_stmt *s, int idx);
	int (*step)(struct store_stmt *s, struct err *e);
	bool (*col_null)(struct store_stmt *s, int col);
	int64_t (*col_int)(struct store_stmt *s, int col);
	double (*col_double)(struct store_stmt *s, int col);
	const char *(*col_text)(struct store_stmt *s, int col, size_t *len);
	const void *(*col_blob)(struct store_stmt *s, int col, size_t *len);
	void (*finalize)(struct store_stmt *s);
	int64_t (*last_insert_id)(struct store_conn *c);
	int64_t (*changes)(struct store_conn *c);
	int64_t (*size_bytes)(struct store_conn *c);
	/* Runs a file-level copy of the database to path (online backup). */
	int (*backup)(struct store_conn *c, const char *path, struct err *e);
};

extern const struct store_ops store_sqlite_ops;

/* Opens (creating if needed) the database under o->data_dir, applies the
 * migrations and starts the writer thread. NULL and e on failure. */
struct store *store_open(const struct store_opts *o, struct err *e);
/* Finishes queued writes, stops the writer and closes every connection. */
void store_close(struct store *st);

/*
 * Migrations. Each subsystem owns its tables and registers its numbered list
 * before store_open(); numbers are unique across subsystems (each has a
 * range: store 1-99, auth 100-199, stix/taxii 200-299, detect/ingest
 * 300-399, cert 400-499, advisory 500-599, others from 600). They are applied
 * in number order. A database holding a version this binary does not know
 * was written by a newer ciip and is refused.
 */
struct store_migration {
	int version;
	const char *name;
	const char *sql;
};
/* Registers a list (kept by pointer; registering it again does nothing). */
void store_register_migrations(const struct store_migration *list, size_t n);

/* The schema version of the open database and the newest this binary knows. */
int store_schema_version(struct store *st);
int store_schema_latest(void);

/* 0 when a read and the writer both work; else -1 with the reason. */
int store_health(struct store *st, struct err *e);
/* Bytes the database occupies on disk (main file and write-ahead log). */
int64_t store_size_bytes(struct store *st);
/* Online backup to a file; the database stays usable. */
int store_backup(struct store *st, const char *path, struct err *e);

/*
 * Runs fn(conn, arg) on the writer thread inside a transaction and waits for
 * it. fn returns 0 to commit or -1 to roll back (and fills its own error).
 * Several callers' writes may share one commit, each in its own savepoint,
 * so that one failure never undoes another caller's write. Returns fn's
 * result, or -1 if the commit itself failed (e is then set).
 */
typedef int (*store_write_fn)(struct store_conn *c, void *arg);
int store_write(struct store *st, store_write_fn fn, void *arg, struct err *e) CIIP_MUST_CHECK;

/* Borrows a read connection (blocks while all are in use); give it back. */
struct store_conn *store_reader_get(struct store *st);
void store_reader_put(struct store *st, struct store_conn *c);

/* Statements. A prepared statement belongs to one connection; finalize
 * returns it to that connection's cache. */
struct store_stmt *store_prepare(struct store_conn *c, const char *sql, struct err *e);
int store_bind_int(struct store_stmt *s, int idx, int64_t v);
int store_bind_double(struct store_stmt *s, int idx, double v);
/* text NULL binds SQL NULL. The text is copied. */
int store_bind_text(struct store_stmt *s, int idx, const char *text);
int store_bind_textn(struct store_stmt *s, int idx, const char *text, size_t len);
int store_bind_blob(struct store_stmt *s, int idx, const void *v, size_t len);
int store_bind_null(struct store_stmt *s, int idx);
int store_step(struct store_stmt *s, struct err *e);
bool store_col_null(struct store_stmt *s, int col);
int64_t store_col_int(struct store_stmt *s, int col);
double store_col_double(struct store_stmt *s, int col);
/* Borrowed until the next step or finalize; "" for NULL. */
const char *store_col_text(struct store_stmt *s, int col);
const char *store_col_textn(struct store_stmt *s, int col, size_t *len);
const void *store_col_blob(struct store_stmt *s, int col, size_t *len);
void store_finalize(struct store_stmt *s);

/* Executes SQL without results (DDL, several statements allowed). */
int store_exec(struct store_conn *c, const char *sql, struct err *e);
int64_t store_last_insert_id(struct store_conn *c);
int64_t store_changes(struct store_conn *c);

/* Convenience: runs a one-row query binding `n` text/int parameters
 * described by fmt ('i' int64_t, 's' const char *), and returns the first
 * column as an integer in *out. STORE_ROW, STORE_DONE or STORE_ERROR. */
int store_query_int(struct store_conn *c, const char *sql, int64_t *out, struct err *e,
                    const char *fmt, ...);

#endif
