/* test_auth_token.c - API tokens, their hash, recovery codes, random hex
 * identifiers and the audit log hash chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth_int.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char hexdigits[] = "0123456789abcdef";
static const char crockford[] = "0123456789abcdefghjkmnpqrstvwxyz";

static void
test_token_format(void **state)
{
	char t[AUTH_TOKEN_MAX_SIZE];
	assert_int_equal(auth_token_new("pat", t, sizeof(t)), 0);
	assert_int_equal(strlen(t), 5 + 3 + 1 + 43);
	assert_memory_equal(t, "ciip_pat_", 9);
	assert_int_equal(strspn(t + 9, b64url), 43);

	/* The longest prefix fills AUTH_TOKEN_MAX_SIZE exactly. */
	char big[AUTH_TOKEN_MAX_SIZE];
	assert_int_equal(auth_token_new("abcdefghijklmnop", big, sizeof(big)), 0);
	assert_int_equal(strlen(big), AUTH_TOKEN_MAX_SIZE - 1);
	assert_memory_equal(big, "ciip_abcdefghijklmnop_", 22);
}

static void
test_token_rejects(void **state)
{
	static const char *bad[] = {"", "PAT", "p_t", "p-t", "pat ", "abcdefghijklmnopq"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		char t[AUTH_TOKEN_MAX_SIZE] = "unchanged";
		assert_int_equal(auth_token_new(bad[i], t, sizeof(t)), -1);
		assert_string_equal(t, "unchanged");
	}
	/* One byte short of "ciip_pat_" + 43 + NUL. */
	char small[52] = "unchanged";
	assert_int_equal(auth_token_new("pat", small, sizeof(small)), -1);
	assert_string_equal(small, "unchanged");
}

static int
cmp_token(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_token_unique(void **state)
{
	enum { N = 256 };
	static char t[N][AUTH_TOKEN_MAX_SIZE];
	for (int i = 0; i < N; i++)
		assert_int_equal(auth_token_new("svc", t[i], sizeof(t[i])), 0);
	qsort(t, N, sizeof(t[0]), cmp_token);
	for (int i = 1; i < N; i++)
		assert_true(strcmp(t[i - 1], t[i]) < 0);
}

static void
test_token_hash(void **state)
{
	char hex[65];
	auth_token_hash("ciip_pat_abc", hex);
	assert_string_equal(hex, "f256a7fc5e4db5852c0d3d87701f8539237c246ba61357fd7ec0985f331d9b14");
	auth_token_hash("", hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_recovery_codes_format(void **state)
{
	char codes[AUTH_RECOVERY_CODES_MAX][AUTH_RECOVERY_CODE_SIZE];
	assert_int_equal(auth_recovery_codes_new(AUTH_RECOVERY_CODES_MAX, codes), 0);
	for (int i = 0; i < AUTH_RECOVERY_CODES_MAX; i++) {
		const char *c = codes[i];
		assert_int_equal(strlen(c), 14);
		assert_int_equal(c[4], '-');
		assert_int_equal(c[9], '-');
		assert_int_equal(strspn(c, crockford), 4);
		assert_int_equal(strspn(c + 5, crockford), 4);
		assert_int_equal(strspn(c + 10, crockford), 4);
		/* A code is its own normal form. */
		char norm[AUTH_RECOVERY_CODE_SIZE];
		assert_int_equal(auth_recovery_code_normalize(c, norm), 0);
		assert_string_equal(norm, c);
	}
	qsort(codes, AUTH_RECOVERY_CODES_MAX, sizeof(codes[0]), cmp_token);
	for (int i = 1; i < AUTH_RECOVERY_CODES_MAX; i++)
		assert_true(strcmp(codes[i - 1], codes[i]) < 0);
}

static void
test_recovery_codes_count(void **state)
{
	char codes[AUTH_RECOVERY_CODES_MAX + 1][AUTH_RECOVERY_CODE_SIZE] = {"unchanged"};
	assert_int_equal(auth_recovery_codes_new(0, codes), -1);
	assert_int_equal(auth_recovery_codes_new(-1, codes), -1);
	assert_int_equal(auth_recovery_codes_new(AUTH_RECOVERY_CODES_MAX + 1, codes), -1);
	assert_string_equal(codes[0], "unchanged");
	assert_int_equal(auth_recovery_codes_new(1, codes), 0);
	assert_int_equal(strlen(codes[0]), 14);
}

static void
test_recovery_code_normalize(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} good[] = {
		{"7kq2-mxp9-3hvt", "7kq2-mxp9-3hvt"},
		{"7KQ2 MXP9 3HVT", "7kq2-mxp9-3hvt"},
		{"7kq2mxp93hvt", "7kq2-mxp9-3hvt"},
		{" 7kq2 - mxp9 - 3hvt ", "7kq2-mxp9-3hvt"},
		{"oOiI-lL00-1111", "0011-1100-1111"},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(good); i++) {
		char out[AUTH_RECOVERY_CODE_SIZE];
		assert_int_equal(auth_recovery_code_normalize(good[i].in, out), 0);
		assert_string_equal(out, good[i].out);
	}
	static const char *bad[] = {
		"", "7kq2-mxp9-3hv", "7kq2-mxp9-3hvtx", "7kq2-mxp9-3hvu", "7kq2_mxp9_3hvt",
		"7kq2-mxp9-3hv\xc3\xa9",
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		char out[AUTH_RECOVERY_CODE_SIZE] = "unchanged";
		assert_int_equal(auth_recovery_code_normalize(bad[i], out), -1);
		assert_string_equal(out, "unchanged");
	}
}

static void
test_random_hex(void **state)
{
	char a[65], b[65], big[2 * 100 + 1], none[1] = {'x'};
	auth_random_hex(32, a);
	auth_random_hex(32, b);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, hexdigits), 64);
	assert_string_not_equal(a, b);
	/* More than one internal chunk. */
	auth_random_hex(100, big);
	assert_int_equal(strlen(big), 200);
	assert_int_equal(strspn(big, hexdigits), 200);
	auth_random_hex(0, none);
	assert_string_equal(none, "");
}

static void
test_audit_row_hash_chain(void **state)
{
	/* Expected values from: printf '%s\n%s' PREV ROW | sha256sum */
	char h1[65], h2[65], h2b[65];
	auth_audit_row_hash(AUTH_AUDIT_GENESIS, "{\"action\":\"login\",\"user\":\"alice\"}", h1);
	assert_string_equal(h1, "dfdeaaa5a571fbfd45b355e6039d67c4bcc5d2e5fdaa6844c25b8a96f4d2fbfc");
	auth_audit_row_hash(h1, "second", h2);
	assert_string_equal(h2, "db4db22276a282a37ccbbe0b6bdbdce22f3a15bb033f036cda27c1d295c8063b");
	/* Any change upstream changes the link. */
	auth_audit_row_hash(AUTH_AUDIT_GENESIS, "second", h2b);
	assert_string_not_equal(h2, h2b);
	assert_int_equal(strlen(AUTH_AUDIT_GENESIS), 64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_format),
		cmocka_unit_test(test_token_rejects),
		cmocka_unit_test(test_token_unique),
		cmocka_unit_test(test_token_hash),
		cmocka_unit_test(test_recovery_codes_format),
		cmocka_unit_test(test_recovery_codes_count),
		cmocka_unit_test(test_recovery_code_normalize),
		cmocka_unit_test(test_random_hex),
		cmocka_unit_test(test_audit_row_hash_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
