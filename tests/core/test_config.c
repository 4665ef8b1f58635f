/* test_config.c - the configuration table: defaults, YAML loading, and
 * errors that name file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

struct collected {
	int n;
	struct err errs[16];
};

static void
collect(const struct err *e, void *arg)
{
	struct collected *c = arg;
	if (c->n < 16)
		c->errs[c->n] = *e;
	c->n++;
}

static int
load(struct config *c, const char *yaml, struct err *first, struct collected *col)
{
	config_defaults(c);
	return config_load_buffer(c, "test.yaml", yaml, strlen(yaml), first, collect, col);
}

static void
test_defaults(void **state)
{
	struct config c;
	config_defaults(&c);
	assert_string_equal(c.http_listen, "127.0.0.1:8443");
	assert_int_equal(c.http_threads, 4);
	assert_string_equal(c.log_level, "info");
	assert_false(c.log_json);
	assert_string_equal(c.auth_mfa_roles, "admin,analyst,reviewer");
}

static void
test_nested_and_dotted(void **state)
{
	struct config c;
	struct err e;
	struct collected col = {0};
	int n = load(&c,
	             "data_dir: /srv/ciip\n"
	             "http:\n"
	             "  listen: 0.0.0.0:9000\n"
	             "  tls:\n"
	             "    cert: /etc/ciip/cert.pem\n"
	             "    key: /etc/ciip/key.pem\n"
	             "log.level: debug\n"
	             "log:\n"
	             "  json: true\n"
	             "auth:\n"
	             "  mfa_required_roles: [admin, reviewer]\n",
	             &e, &col);
	assert_int_equal(n, 0);
	assert_string_equal(c.data_dir, "/srv/ciip");
	assert_string_equal(c.http_listen, "0.0.0.0:9000");
	assert_string_equal(c.http_tls_cert, "/etc/ciip/cert.pem");
	assert_string_equal(c.log_level, "debug");
	assert_true(c.log_json);
	assert_string_equal(c.auth_mfa_roles, "admin,reviewer");
}

static void
test_unknown_key_names_line_and_key(void **state)
{
	struct config c;
	struct err e;
	struct collected col = {0};
	int n = load(&c, "http:\n  listen: 127.0.0.1:1\n  lisen: x\n", &e, &col);
	assert_int_equal(n, 1);
	assert_string_equal(e.file, "test.yaml");
	assert_int_equal(e.line, 3);
	assert_string_equal(e.key, "http.lisen");
	assert_string_equal(e.msg, "unknown key");
}

static void
test_bad_port_and_type_all_reported(void **state)
{
	struct config c;
	struct err e;
	struct collected col = {0};
	int n = load(&c,
	             "http:\n"
	             "  listen: 127.0.0.1:70000\n"
	             "  threads: many\n"
	             "  max_body_bytes: 5\n"
	             "log:\n"
	             "  json: \"true\"\n",
	             &e, &col);
	assert_int_equal(n, 4);
	assert_int_equal(col.n, 4);
	assert_string_equal(col.errs[0].key, "http.listen");
	assert_int_equal(col.errs[0].line, 2);
	assert_string_equal(col.errs[1].key, "http.threads");
	assert_non_null(strstr(col.errs[1].msg, "not an integer"));
	assert_string_equal(col.errs[2].key, "http.max_body_bytes");
	assert_non_null(strstr(col.errs[2].msg, "out of range"));
	assert_string_equal(col.errs[3].key, "log.json");
}

static void
test_duplicate_key(void **state)
{
	struct config c;
	struct err e;
	struct collected col = {0};
	int n = load(&c, "demo: true\ndemo: false\n", &e, &col);
	assert_int_equal(n, 1);
	assert_int_equal(e.line, 2);
	assert_string_equal(e.msg, "duplicate key");
}

static void
test_wrong_shapes(void **state)
{
	struct config c;
	struct err e;
	struct collected col = {0};
	assert_int_equal(load(&c, "- a\n- b\n", &e, &col), 1);
	assert_non_null(strstr(e.msg, "top level must be a mapping"));
	col.n = 0;
	assert_int_equal(load(&c, "http: 5\n", &e, &col), 1);
	assert_string_equal(e.key, "http");
	col.n = 0;
	assert_int_equal(load(&c, "data_dir: {a: b}\n", &e, &col), 1);
	assert_non_null(strstr(e.msg, "found a mapping"));
	col.n = 0;
	assert_int_equal(load(&c, "http: [1, 2]\n", &e, &col), 1);
}

static void
test_syntax_error_has_line(void **state)
{
	struct config c;
	struct err e;
	struct collected col = {0};
	int n = load(&c, "http:\n  listen: \"unclosed\n", &e, &col);
	assert_true(n >= 1);
	assert_non_null(strstr(e.msg, "YAML syntax error"));
	assert_true(e.line >= 2);
}

static void
test_empty_is_fine(void **state)
{
	struct config c;
	struct err e;
	struct collected col = {0};
	assert_int_equal(load(&c, "", &e, &col), 0);
	assert_int_equal(load(&c, "# only a comment\n", &e, &col), 0);
}

static void
test_missing_file(void **state)
{
	struct config c;
	struct err e;
	config_defaults(&c);
	int n = config_load_file(&c, "/nonexistent/ciip.yaml", &e, NULL, NULL);
	assert_int_equal(n, 1);
	assert_string_equal(e.file, "/nonexistent/ciip.yaml");
	assert_non_null(strstr(e.msg, "cannot open"));
}

static void
test_dump_reloads(void **state)
{
	struct config c, d;
	struct err e;
	struct collected col = {0};
	assert_int_equal(load(&c, "http:\n  threads: 7\nlog:\n  level: warn\n", &e, &col), 0);
	struct buf b = {0};
	config_dump(&c, &b);
	config_defaults(&d);
	assert_int_equal(config_load_buffer(&d, "dump", b.data, b.len, &e, NULL, NULL), 0);
	assert_int_equal(d.http_threads, 7);
	assert_string_equal(d.log_level, "warn");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_nested_and_dotted),
		cmocka_unit_test(test_unknown_key_names_line_and_key),
		cmocka_unit_test(test_bad_port_and_type_all_reported),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_wrong_shapes),
		cmocka_unit_test(test_syntax_error_has_line),
		cmocka_unit_test(test_empty_is_fine),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_dump_reloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
