/* test_auth_seal.c - TOTP secrets sealed with the node's key file: the key
 * is made once with mode 0600, a sealed value opens only with that key,
 * damage is refused, and values stored before sealing still read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth_int.h"

static const char secret[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

static void
temp_cfg(struct config *cfg, char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/ciip-seal-XXXXXX");
	assert_non_null(mkdtemp(dir));
	config_defaults(cfg);
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", dir);
}

static void
remove_dir(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/seal.key", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_seal_then_unseal(void **state)
{
	(void)state;
	struct config cfg;
	char dir[64], sealed[AUTH_SEALED_SIZE], plain[64];
	struct err e;
	temp_cfg(&cfg, dir, sizeof(dir));
	assert_int_equal(auth_seal(&cfg, secret, sealed, sizeof(sealed), &e), 0);
	assert_true(auth_sealed(sealed));
	assert_null(strstr(sealed, secret));
	assert_int_equal(auth_unseal(&cfg, sealed, plain, sizeof(plain), &e), 0);
	assert_string_equal(plain, secret);

	/* The key file: 32 bytes that only the owner reads. */
	char path[128];
	snprintf(path, sizeof(path), "%s/seal.key", dir);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 32);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* Two seals of one secret differ (a fresh nonce each). */
	char again[AUTH_SEALED_SIZE];
	assert_int_equal(auth_seal(&cfg, secret, again, sizeof(again), &e), 0);
	assert_string_not_equal(again, sealed);
	remove_dir(dir);
}

static void
test_damage_and_other_keys_are_refused(void **state)
{
	(void)state;
	struct config a, b;
	char da[64], db[64], sealed[AUTH_SEALED_SIZE], plain[64];
	struct err e;
	temp_cfg(&a, da, sizeof(da));
	temp_cfg(&b, db, sizeof(db));
	assert_int_equal(auth_seal(&a, secret, sealed, sizeof(sealed), &e), 0);

	/* Another node's key does not open it (b's key is made first). */
	char other[AUTH_SEALED_SIZE];
	assert_int_equal(auth_seal(&b, secret, other, sizeof(other), &e), 0);
	assert_int_equal(auth_unseal(&b, sealed, plain, sizeof(plain), &e), -1);
	assert_non_null(strstr(e.msg, "does not open"));

	/* One character changed in the box. */
	char bad[AUTH_SEALED_SIZE];
	snprintf(bad, sizeof(bad), "%s", sealed);
	size_t k = strlen(bad) - 5;
	bad[k] = bad[k] == 'A' ? 'B' : 'A';
	assert_int_equal(auth_unseal(&a, bad, plain, sizeof(plain), &e), -1);
	assert_int_equal(auth_unseal(&a, "s1:!!!", plain, sizeof(plain), &e), -1);
	assert_non_null(strstr(e.msg, "damaged"));

	/* A node without the key file cannot read it, and reading does not
	 * make a new key. */
	struct config c;
	char dc[64];
	temp_cfg(&c, dc, sizeof(dc));
	assert_int_equal(auth_unseal(&c, sealed, plain, sizeof(plain), &e), -1);
	assert_non_null(strstr(e.msg, "no seal key"));
	char path[128];
	snprintf(path, sizeof(path), "%s/seal.key", dc);
	assert_int_not_equal(access(path, F_OK), 0);
	remove_dir(da);
	remove_dir(db);
	remove_dir(dc);
}

static void
test_secrets_from_before_sealing_still_read(void **state)
{
	(void)state;
	struct config cfg;
	char dir[64], plain[64];
	struct err e;
	temp_cfg(&cfg, dir, sizeof(dir));
	assert_false(auth_sealed(secret));
	assert_int_equal(auth_unseal(&cfg, secret, plain, sizeof(plain), &e), 0);
	assert_string_equal(plain, secret);
	remove_dir(dir);
}

static void
test_a_key_file_of_the_wrong_size_is_refused(void **state)
{
	(void)state;
	struct config cfg;
	char dir[64], sealed[AUTH_SEALED_SIZE];
	struct err e;
	temp_cfg(&cfg, dir, sizeof(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/short.key", dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("too short", fp);
	fclose(fp);
	snprintf(cfg.auth_seal_key_file, sizeof(cfg.auth_seal_key_file), "%s", path);
	assert_int_equal(auth_seal(&cfg, secret, sealed, sizeof(sealed), &e), -1);
	assert_non_null(strstr(e.msg, "not a seal key"));
	unlink(path);
	remove_dir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_then_unseal),
	    cmocka_unit_test(test_damage_and_other_keys_are_refused),
	    cmocka_unit_test(test_secrets_from_before_sealing_still_read),
	    cmocka_unit_test(test_a_key_file_of_the_wrong_size_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
