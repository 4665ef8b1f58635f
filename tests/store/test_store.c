/* test_store.c - the store: migrations, the one writer with savepoints,
 * readers beside it, and refusal of a newer schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static char dir[256];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ciip-test-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct store *
open_store(void)
{
	struct store_opts o = {.data_dir = dir, .busy_timeout_ms = 2000, .readers = 2};
	struct err e;
	struct store *st = store_open(&o, &e);
	assert_non_null(st);
	return st;
}

static int
create_table(struct store_conn *c, void *arg)
{
	return store_exec(c, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)", arg);
}

struct ins {
	const char *v;
	struct err e;
};

static int
insert_row(struct store_conn *c, void *arg)
{
	struct ins *in = arg;
	struct store_stmt *s = store_prepare(c, "INSERT INTO t(v) VALUES (?)", &in->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, in->v);
	int rc = store_step(s, &in->e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

static int64_t
count_rows(struct store *st)
{
	struct store_conn *c = store_reader_get(st);
	int64_t n = -1;
	struct err e;
	assert_int_equal(store_query_int(c, "SELECT COUNT(*) FROM t", &n, &e, NULL), STORE_ROW);
	store_reader_put(st, c);
	return n;
}

static void
test_migrations_applied(void **state)
{
	struct store *st = open_store();
	assert_int_equal(store_schema_version(st), store_schema_latest());
	struct err e;
	assert_int_equal(store_health(st, &e), 0);
	assert_true(store_size_bytes(st) > 0);
	store_close(st);
	/* Reopening applies nothing new and keeps the version. */
	st = open_store();
	assert_int_equal(store_schema_version(st), store_schema_latest());
	store_close(st);
}

static void
test_write_and_constraint_isolated(void **state)
{
	struct store *st = open_store();
	struct err e;
	assert_int_equal(store_write(st, create_table, &e, &e), 0);
	struct ins a = {.v = "a"}, dup = {.v = "a"}, b = {.v = "b"};
	assert_int_equal(store_write(st, insert_row, &a, &e), 0);
	assert_int_equal(store_write(st, insert_row, &dup, &e), -1);
	assert_non_null(strstr(dup.e.msg, "UNIQUE"));
	assert_int_equal(store_write(st, insert_row, &b, &e), 0);
	assert_int_equal(count_rows(st), 2);
	store_close(st);
}

struct writer_arg {
	struct store *st;
	int base;
};

static void *
many_writes(void *p)
{
	struct writer_arg *w = p;
	for (int i = 0; i < 200; i++) {
		char v[32];
		snprintf(v, sizeof(v), "w%d-%d", w->base, i);
		struct ins in = {.v = v};
		struct err e;
		assert_int_equal(store_write(w->st, insert_row, &in, &e), 0);
	}
	return NULL;
}

static void
test_concurrent_writers_group_commit(void **state)
{
	struct store *st = open_store();
	struct err e;
	assert_int_equal(store_write(st, create_table, &e, &e), 0);
	pthread_t t[4];
	struct writer_arg w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer_arg){st, i};
		pthread_create(&t[i], NULL, many_writes, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(count_rows(st), 800);
	store_close(st);
}

static int
bump_schema(struct store_conn *c, void *arg)
{
	return store_exec(c,
	                  "INSERT INTO schema_migrations(version, name, applied_at) "
	                  "VALUES (9999, 'from the future', 0)",
	                  arg);
}

static void
test_newer_schema_refused(void **state)
{
	struct store *st = open_store();
	struct err e;
	assert_int_equal(store_write(st, bump_schema, &e, &e), 0);
	store_close(st);
	struct store_opts o = {.data_dir = dir, .busy_timeout_ms = 2000, .readers = 1};
	err_clear(&e);
	assert_null(store_open(&o, &e));
	assert_non_null(strstr(e.msg, "schema is version 9999"));
}

static void
test_backup(void **state)
{
	struct store *st = open_store();
	struct err e;
	assert_int_equal(store_write(st, create_table, &e, &e), 0);
	struct ins a = {.v = "kept"};
	assert_int_equal(store_write(st, insert_row, &a, &e), 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/backup.db", dir);
	assert_int_equal(store_backup(st, path, &e), 0);
	assert_int_equal(access(path, R_OK), 0);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrations_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_and_constraint_isolated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
