/*
 * store.c - the backend-independent part of the store: migrations, the one
 * writer thread with group commit, and the pool of read connections.
 */
#include "store/store_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* How many queued writes may share one commit. */
#define STORE_GROUP_MAX 64

struct write_job {
	store_write_fn fn;
	void *arg;
	int result;
	struct err err;
	bool done;
	struct write_job *next;
	pthread_cond_t cond;
};

struct store {
	const struct store_ops *ops;
	struct store_opts opts;
	char data_dir[CONFIG_MAX_PATH];
	int schema_version;

	/* the writer */
	struct store_conn *wconn;
	pthread_t writer;
	pthread_mutex_t wmu;
	pthread_cond_t wcond;
	struct write_job *head, *tail;
	bool stopping;
	atomic_bool write_failed; /* last commit failed: health reports it */

	/* the readers */
	pthread_mutex_t rmu;
	pthread_cond_t rcond;
	struct store_conn **free_readers;
	int nfree;
	int nreaders;
};

/* The registered migration lists. Registration happens at start-up, before
 * any store is opened, from one thread. */
#define STORE_MAX_MIGRATION_SETS 32
static struct {
	const struct store_migration *list;
	size_t n;
} sets[STORE_MAX_MIGRATION_SETS];
static size_t nsets;
static pthread_mutex_t sets_mu = PTHREAD_MUTEX_INITIALIZER;

void
store_register_migrations(const struct store_migration *list, size_t n)
{
	pthread_mutex_lock(&sets_mu);
	bool known = false;
	for (size_t i = 0; i < nsets; i++)
		known |= sets[i].list == list;
	if (!known) {
		if (nsets == STORE_MAX_MIGRATION_SETS)
			abort(); /* a programming error, found at start-up */
		sets[nsets].list = list;
		sets[nsets].n = n;
		nsets++;
	}
	pthread_mutex_unlock(&sets_mu);
}

/* All known migrations, sorted by version; the caller frees the array. */
static const struct store_migration **
all_migrations(size_t *count)
{
	store_register_migrations(store_migrations, store_migrations_count);
	pthread_mutex_lock(&sets_mu);
	size_t total = 0;
	for (size_t i = 0; i < nsets; i++)
		total += sets[i].n;
	const struct store_migration **all = xcalloc(total, sizeof(*all));
	size_t k = 0;
	for (size_t i = 0; i < nsets; i++)
		for (size_t j = 0; j < sets[i].n; j++)
			all[k++] = &sets[i].list[j];
	pthread_mutex_unlock(&sets_mu);
	/* Insertion sort: a few dozen entries, once per start. */
	for (size_t i = 1; i < total; i++) {
		const struct store_migration *m = all[i];
		size_t j = i;
		while (j > 0 && all[j - 1]->version > m->version) {
			all[j] = all[j - 1];
			j--;
		}
		all[j] = m;
	}
	*count = total;
	return all;
}

int
store_schema_latest(void)
{
	size_t n;
	const struct store_migration **all = all_migrations(&n);
	int v = n ? all[n - 1]->version : 0;
	free(all);
	return v;
}

int
store_schema_version(struct store *st)
{
	return st->schema_version;
}

static int
mkdir_p(const char *path, struct err *e)
{
	char tmp[CONFIG_MAX_PATH];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) != 0 && errno != EEXIST) {
			err_set(e, "cannot create %s: %s", tmp, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(tmp, 0750) != 0 && errno != EEXIST) {
		err_set(e, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

int
store_query_int(struct store_conn *c, const char *sql, int64_t *out, struct err *e,
                const char *fmt, ...)
{
	struct store_stmt *s = store_prepare(c, sql, e);
	if (s == NULL)
		return STORE_ERROR;
	va_list ap;
	va_start(ap, fmt);
	for (int i = 0; fmt && fmt[i]; i++) {
		if (fmt[i] == 'i')
			store_bind_int(s, i + 1, va_arg(ap, int64_t));
		else
			store_bind_text(s, i + 1, va_arg(ap, const char *));
	}
	va_end(ap);
	int rc = store_step(s, e);
	if (rc == STORE_ROW)
		*out = store_col_int(s, 0);
	store_finalize(s);
	return rc;
}

/* Reads the schema version, creating the bookkeeping table if needed. */
static int
read_schema_version(struct store_conn *c, int *version, struct err *e)
{
	if (store_exec(c,
	               "CREATE TABLE IF NOT EXISTS schema_migrations ("
	               " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	               " applied_at INTEGER NOT NULL)",
	               e) != STORE_OK)
		return -1;
	int64_t v = 0;
	int rc = store_query_int(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &v,
	                         e, NULL);
	if (rc != STORE_ROW)
		return -1;
	*version = (int)v;
	return 0;
}

/* True when the database holds a migration this binary does not know. */
static int
find_unknown_version(struct store_conn *c, const struct store_migration **all, size_t n,
                     int *unknown, struct err *e)
{
	struct store_stmt *s = store_prepare(c, "SELECT version FROM schema_migrations ORDER BY version", e);
	if (s == NULL)
		return -1;
	*unknown = 0;
	int rc;
	while ((rc = store_step(s, e)) == STORE_ROW) {
		int v = (int)store_col_int(s, 0);
		bool known = false;
		for (size_t i = 0; i < n && !known; i++)
			known = all[i]->version == v;
		if (!known && *unknown == 0)
			*unknown = v;
	}
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

static int
apply_one(struct store_conn *c, const struct store_migration *m, struct err *e)
{
	/* Each migration commits on its own, so a failure leaves the schema at
	 * the last good version. */
	if (store_exec(c, "BEGIN IMMEDIATE", e) != STORE_OK)
		return -1;
	struct err me;
	err_clear(&me);
	if (store_exec(c, m->sql, &me) != STORE_OK) {
		struct err ignore;
		(void)store_exec(c, "ROLLBACK", &ignore);
		err_set(e, "migration %d (%s) failed: %s", m->version, m->name, me.msg);
		return -1;
	}
	struct store_stmt *s = store_prepare(
		c, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)", e);
	if (s == NULL) {
		struct err ignore;
		(void)store_exec(c, "ROLLBACK", &ignore);
		return -1;
	}
	store_bind_int(s, 1, m->version);
	store_bind_text(s, 2, m->name);
	store_bind_int(s, 3, time_now_ms());
	int rc = store_step(s, e);
	store_finalize(s);
	if (rc != STORE_DONE || store_exec(c, "COMMIT", e) != STORE_OK) {
		struct err ignore;
		(void)store_exec(c, "ROLLBACK", &ignore);
		return -1;
	}
	log_info("store", "applied migration %d: %s", m->version, m->name);
	return 0;
}

static int
migrate(struct store *st, struct err *e)
{
	struct store_conn *c = st->wconn;
	int current;
	if (read_schema_version(c, &current, e) != 0)
		return -1;
	size_t n;
	const struct store_migration **all = all_migrations(&n);
	int latest = n ? all[n - 1]->version : 0;
	int unknown = 0;
	int rc = find_unknown_version(c, all, n, &unknown, e);
	if (rc == 0 && unknown != 0) {
		err_set(e,
		        "the database schema is version %d, which this ciipd (up to %d) does not "
		        "know: it was written by a newer ciip; run that version or restore a backup",
		        unknown, latest);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int64_t have = 0;
		if (store_query_int(c, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", &have,
		                    e, "i", (int64_t)all[i]->version) != STORE_ROW) {
			rc = -1;
			break;
		}
		if (have == 0)
			rc = apply_one(c, all[i], e);
	}
	free(all);
	if (rc == 0)
		st->schema_version = latest;
	return rc;
}

/* Runs one batch of jobs in a single transaction, each in a savepoint. */
static void
run_batch(struct store *st, struct write_job *batch)
{
	struct store_conn *c = st->wconn;
	struct err e;
	err_clear(&e);
	bool in_tx = store_exec(c, "BEGIN IMMEDIATE", &e) == STORE_OK;
	for (struct write_job *j = batch; j; j = j->next) {
		if (!in_tx) {
			j->result = -1;
			j->err = e;
			continue;
		}
		struct err se;
		if (store_exec(c, "SAVEPOINT job", &se) != STORE_OK) {
			j->result = -1;
			j->err = se;
			continue;
		}
		j->result = j->fn(c, j->arg);
		if (j->result != 0)
			(void)store_exec(c, "ROLLBACK TO job", &se);
		(void)store_exec(c, "RELEASE job", &se);
	}
	if (in_tx && store_exec(c, "COMMIT", &e) != STORE_OK) {
		struct err ignore;
		(void)store_exec(c, "ROLLBACK", &ignore);
		log_errorx("store", "commit failed: %s", e.msg);
		atomic_store(&st->write_failed, true);
		for (struct write_job *j = batch; j; j = j->next) {
			if (j->result == 0) {
				j->result = -1;
				j->err = e;
			}
		}
	} else if (in_tx) {
		atomic_store(&st->write_failed, false);
	} else {
		log_errorx("store", "cannot begin a write: %s", e.msg);
		atomic_store(&st->write_failed, true);
	}
}

static void *
writer_main(void *arg)
{
	struct store *st = arg;
	pthread_mutex_lock(&st->wmu);
	for (;;) {
		while (st->head == NULL && !st->stopping)
			pthread_cond_wait(&st->wcond, &st->wmu);
		if (st->head == NULL && st->stopping)
			break;
		/* Take up to STORE_GROUP_MAX jobs: they share one fsync. */
		struct write_job *batch = st->head, *last = st->head;
		int n = 1;
		while (last->next && n < STORE_GROUP_MAX) {
			last = last->next;
			n++;
		}
		st->head = last->next;
		if (st->head == NULL)
			st->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&st->wmu);

		run_batch(st, batch);

		pthread_mutex_lock(&st->wmu);
		for (struct write_job *j = batch, *nx; j; j = nx) {
			nx = j->next;
			j->done = true;
			pthread_cond_signal(&j->cond);
		}
	}
	pthread_mutex_unlock(&st->wmu);
	return NULL;
}

int
store_write(struct store *st, store_write_fn fn, void *arg, struct err *e)
{
	struct write_job job = {.fn = fn, .arg = arg};
	pthread_cond_init(&job.cond, NULL);
	pthread_mutex_lock(&st->wmu);
	if (st->stopping) {
		pthread_mutex_unlock(&st->wmu);
		pthread_cond_destroy(&job.cond);
		err_set(e, "the store is shutting down");
		return -1;
	}
	if (st->tail)
		st->tail->next = &job;
	else
		st->head = &job;
	st->tail = &job;
	pthread_cond_signal(&st->wcond);
	while (!job.done)
		pthread_cond_wait(&job.cond, &st->wmu);
	pthread_mutex_unlock(&st->wmu);
	pthread_cond_destroy(&job.cond);
	if (job.result != 0 && e && job.err.msg[0])
		*e = job.err;
	return job.result;
}

struct store_conn *
store_reader_get(struct store *st)
{
	pthread_mutex_lock(&st->rmu);
	while (st->nfree == 0)
		pthread_cond_wait(&st->rcond, &st->rmu);
	struct store_conn *c = st->free_readers[--st->nfree];
	pthread_mutex_unlock(&st->rmu);
	return c;
}

void
store_reader_put(struct store *st, struct store_conn *c)
{
	pthread_mutex_lock(&st->rmu);
	st->free_readers[st->nfree++] = c;
	pthread_cond_signal(&st->rcond);
	pthread_mutex_unlock(&st->rmu);
}

struct store *
store_open(const struct store_opts *o, struct err *e)
{
	const struct store_ops *ops = &store_sqlite_ops;
	if (ops->version != STORE_OPS_VERSION) {
		err_set(e, "store backend %s has interface version %d, expected %d", ops->name,
		        ops->version, STORE_OPS_VERSION);
		return NULL;
	}
	if (mkdir_p(o->data_dir, e) != 0)
		return NULL;
	struct store *st = xcalloc(1, sizeof(*st));
	st->ops = ops;
	snprintf(st->data_dir, sizeof(st->data_dir), "%s", o->data_dir);
	st->opts = *o;
	st->opts.data_dir = st->data_dir;
	pthread_mutex_init(&st->wmu, NULL);
	pthread_cond_init(&st->wcond, NULL);
	pthread_mutex_init(&st->rmu, NULL);
	pthread_cond_init(&st->rcond, NULL);

	st->wconn = ops->open(&st->opts, true, e);
	if (st->wconn == NULL)
		goto fail;
	if (migrate(st, e) != 0)
		goto fail;

	st->nreaders = o->readers > 0 ? o->readers : 4;
	st->free_readers = xcalloc((size_t)st->nreaders, sizeof(*st->free_readers));
	for (int i = 0; i < st->nreaders; i++) {
		struct store_conn *rc = ops->open(&st->opts, false, e);
		if (rc == NULL)
			goto fail;
		st->free_readers[st->nfree++] = rc;
	}
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
		err_set(e, "cannot start the writer thread");
		goto fail;
	}
	return st;

fail:
	for (int i = 0; i < st->nfree; i++)
		ops->close(st->free_readers[i]);
	free(st->free_readers);
	if (st->wconn)
		ops->close(st->wconn);
	pthread_mutex_destroy(&st->wmu);
	pthread_cond_destroy(&st->wcond);
	pthread_mutex_destroy(&st->rmu);
	pthread_cond_destroy(&st->rcond);
	free(st);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	pthread_mutex_lock(&st->wmu);
	st->stopping = true;
	pthread_cond_signal(&st->wcond);
	pthread_mutex_unlock(&st->wmu);
	pthread_join(st->writer, NULL);

	/* Every reader must have been returned by now: callers stop first. */
	pthread_mutex_lock(&st->rmu);
	for (int i = 0; i < st->nfree; i++)
		st->ops->close(st->free_readers[i]);
	if (st->nfree != st->nreaders)
		log_warnx("store", "%d read connections were not returned at close",
		          st->nreaders - st->nfree);
	pthread_mutex_unlock(&st->rmu);
	free(st->free_readers);
	/* A checkpoint on close leaves a single file behind for backups. */
	struct err e;
	(void)store_exec(st->wconn, "PRAGMA wal_checkpoint(TRUNCATE)", &e);
	st->ops->close(st->wconn);
	pthread_mutex_destroy(&st->wmu);
	pthread_cond_destroy(&st->wcond);
	pthread_mutex_destroy(&st->rmu);
	pthread_cond_destroy(&st->rcond);
	free(st);
}

static int
health_write(struct store_conn *c, void *arg)
{
	struct err *e = arg;
	int64_t v;
	return store_query_int(c, "SELECT COUNT(*) FROM schema_migrations", &v, e, NULL) ==
	               STORE_ROW
	           ? 0
	           : -1;
}

int
store_health(struct store *st, struct err *e)
{
	struct store_conn *c = store_reader_get(st);
	int64_t v = 0;
	int rc = store_query_int(c, "SELECT MAX(version) FROM schema_migrations", &v, e, NULL);
	store_reader_put(st, c);
	if (rc != STORE_ROW)
		return -1;
	if (v > st->schema_version) {
		err_set(e, "schema version changed under the daemon (%lld)", (long long)v);
		return -1;
	}
	if (atomic_load(&st->write_failed)) {
		/* Retry a tiny write: the disk may have recovered. */
		if (store_write(st, health_write, e, e) != 0)
			return -1;
		if (atomic_load(&st->write_failed)) {
			err_set(e, "the last commit failed");
			return -1;
		}
	}
	return 0;
}

int64_t
store_size_bytes(struct store *st)
{
	struct store_conn *c = store_reader_get(st);
	int64_t n = st->ops->size_bytes(c);
	store_reader_put(st, c);
	return n;
}

int
store_backup(struct store *st, const char *path, struct err *e)
{
	struct store_conn *c = store_reader_get(st);
	int rc = st->ops->backup(c, path, e);
	store_reader_put(st, c);
	return rc;
}

/* ---- generic statement calls: dispatch through the backend's ops ---- */

struct store_stmt *
store_prepare(struct store_conn *c, const char *sql, struct err *e)
{
	return c->ops->prepare(c, sql, e);
}

int
store_bind_int(struct store_stmt *s, int idx, int64_t v)
{
	return s->ops->bind_int(s, idx, v);
}

int
store_bind_double(struct store_stmt *s, int idx, double v)
{
	return s->ops->bind_double(s, idx, v);
}

int
store_bind_text(struct store_stmt *s, int idx, const char *text)
{
	if (text == NULL)
		return s->ops->bind_null(s, idx);
	return s->ops->bind_text(s, idx, text, strlen(text));
}

int
store_bind_textn(struct store_stmt *s, int idx, const char *text, size_t len)
{
	return s->ops->bind_text(s, idx, text, len);
}

int
store_bind_blob(struct store_stmt *s, int idx, const void *v, size_t len)
{
	return s->ops->bind_blob(s, idx, v, len);
}

int
store_bind_null(struct store_stmt *s, int idx)
{
	return s->ops->bind_null(s, idx);
}

int
store_step(struct store_stmt *s, struct err *e)
{
	return s->ops->step(s, e);
}

bool
store_col_null(struct store_stmt *s, int col)
{
	return s->ops->col_null(s, col);
}

int64_t
store_col_int(struct store_stmt *s, int col)
{
	return s->ops->col_int(s, col);
}

double
store_col_double(struct store_stmt *s, int col)
{
	return s->ops->col_double(s, col);
}

const char *
store_col_text(struct store_stmt *s, int col)
{
	return s->ops->col_text(s, col, NULL);
}

const char *
store_col_textn(struct store_stmt *s, int col, size_t *len)
{
	return s->ops->col_text(s, col, len);
}

const void *
store_col_blob(struct store_stmt *s, int col, size_t *len)
{
	return s->ops->col_blob(s, col, len);
}

void
store_finalize(struct store_stmt *s)
{
	if (s)
		s->ops->finalize(s);
}

int
store_exec(struct store_conn *c, const char *sql, struct err *e)
{
	return c->ops->exec(c, sql, e);
}

int64_t
store_last_insert_id(struct store_conn *c)
{
	return c->ops->last_insert_id(c);
}

int64_t
store_changes(struct store_conn *c)
{
	return c->ops->changes(c);
}
