/* test_auth_totp.c - base32 (RFC 4648), HOTP (RFC 4226), TOTP (RFC 6238),
 * the verification window with replay protection, and the otpauth URI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth_int.h"

/* RFC 6238 appendix B seeds: the ASCII digits repeated to the hash size. */
static const char seed20[] = "12345678901234567890";
static const char seed32[] = "12345678901234567890123456789012";
static const char seed64[] =
	"1234567890123456789012345678901234567890123456789012345678901234";
/* seed20 in base32, as an authenticator app would hold it. */
static const char seed20_b32[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

struct b32_vector {
	const char *plain;
	const char *unpadded;
	const char *padded;
};

/* RFC 4648 section 10. */
static const struct b32_vector b32_vectors[] = {
	{"", "", ""},
	{"f", "MY", "MY======"},
	{"fo", "MZXQ", "MZXQ===="},
	{"foo", "MZXW6", "MZXW6==="},
	{"foob", "MZXW6YQ", "MZXW6YQ="},
	{"fooba", "MZXW6YTB", "MZXW6YTB"},
	{"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"},
};

static void
test_base32_encode_rfc4648(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(b32_vectors); i++) {
		const struct b32_vector *v = &b32_vectors[i];
		char out[32];
		int n = auth_base32_encode((const uint8_t *)v->plain, strlen(v->plain), out,
		                           sizeof(out));
		assert_int_equal(n, (int)strlen(v->unpadded));
		assert_string_equal(out, v->unpadded);
	}
}

static void
test_base32_decode_rfc4648(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(b32_vectors); i++) {
		const struct b32_vector *v = &b32_vectors[i];
		uint8_t out[16];
		size_t n = 99;
		assert_int_equal(auth_base32_decode(v->padded, out, sizeof(out), &n), 0);
		assert_int_equal(n, strlen(v->plain));
		assert_memory_equal(out, v->plain, n);
		n = 99;
		assert_int_equal(auth_base32_decode(v->unpadded, out, sizeof(out), &n), 0);
		assert_int_equal(n, strlen(v->plain));
		assert_memory_equal(out, v->plain, n);
	}
}

static void
test_base32_decode_tolerant(void **state)
{
	uint8_t out[16];
	size_t n = 0;
	assert_int_equal(auth_base32_decode(" mzxw 6ytb oi== ==== ", out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(auth_base32_decode("MzXw6YtB", out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "fooba", 5);
}

static void
test_base32_decode_rejects(void **state)
{
	static const char *bad[] = {
		"MZXW6YT1", /* '1' is not in the alphabet */
		"MZXW6YT8", /* nor is '8' */
		"MZ-XW",    /* nor '-' */
		"M",        /* 1, 3 or 6 characters cannot end a group */
		"MZX",
		"MZXW6Y",
		"MY==MY",   /* data after padding */
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad); i++) {
		uint8_t out[16];
		size_t n = 77;
		assert_int_equal(auth_base32_decode(bad[i], out, sizeof(out), &n), -1);
		assert_int_equal(n, 77);
	}
	uint8_t small[5];
	size_t n = 0;
	assert_int_equal(auth_base32_decode("MZXW6YTBOI", small, sizeof(small), &n), -1);
}

static void
test_base32_encode_small_buffer(void **state)
{
	char out[10] = "keep";
	/* "foobar" needs 10 characters and the NUL. */
	assert_int_equal(auth_base32_encode((const uint8_t *)"foobar", 6, out, sizeof(out)), -1);
	assert_string_equal(out, "keep");
	char exact[11];
	assert_int_equal(auth_base32_encode((const uint8_t *)"foobar", 6, exact, sizeof(exact)),
	                 10);
}

static void
test_hotp_rfc4226(void **state)
{
	/* RFC 4226 appendix D. */
	static const int want[] = {755224, 287082, 359152, 969429, 338314,
	                           254676, 287922, 162583, 399871, 520489};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(want); i++)
		assert_int_equal(auth_hotp_code(AUTH_TOTP_SHA1, (const uint8_t *)seed20, 20, i, 6),
		                 want[i]);
}

struct totp_vector {
	int64_t t;
	enum auth_totp_alg alg;
	int code;
};

/* RFC 6238 appendix B, all 18 rows (8 digits). */
static const struct totp_vector totp_vectors[] = {
	{59, AUTH_TOTP_SHA1, 94287082},
	{59, AUTH_TOTP_SHA256, 46119246},
	{59, AUTH_TOTP_SHA512, 90693936},
	{1111111109, AUTH_TOTP_SHA1, 7081804},
	{1111111109, AUTH_TOTP_SHA256, 68084774},
	{1111111109, AUTH_TOTP_SHA512, 25091201},
	{1111111111, AUTH_TOTP_SHA1, 14050471},
	{1111111111, AUTH_TOTP_SHA256, 67062674},
	{1111111111, AUTH_TOTP_SHA512, 99943326},
	{1234567890, AUTH_TOTP_SHA1, 89005924},
	{1234567890, AUTH_TOTP_SHA256, 91819424},
	{1234567890, AUTH_TOTP_SHA512, 93441116},
	{2000000000, AUTH_TOTP_SHA1, 69279037},
	{2000000000, AUTH_TOTP_SHA256, 90698825},
	{2000000000, AUTH_TOTP_SHA512, 38618901},
	{20000000000, AUTH_TOTP_SHA1, 65353130},
	{20000000000, AUTH_TOTP_SHA256, 77737706},
	{20000000000, AUTH_TOTP_SHA512, 47863826},
};

static void
test_totp_rfc6238_appendix_b(void **state)
{
	/* Each algorithm has its own seed length in the RFC's reference code. */
	const struct {
		const char *seed;
		size_t len;
	} seeds[] = {
		[AUTH_TOTP_SHA1] = {seed20, 20},
		[AUTH_TOTP_SHA256] = {seed32, 32},
		[AUTH_TOTP_SHA512] = {seed64, 64},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(totp_vectors); i++) {
		const struct totp_vector *v = &totp_vectors[i];
		int code = auth_totp_code_alg(v->alg, (const uint8_t *)seeds[v->alg].seed,
		                              seeds[v->alg].len, v->t, 8);
		assert_int_equal(code, v->code);
	}
	/* The SHA-1 shorthand agrees, and 6 digits are the low 6 of 8. */
	assert_int_equal(auth_totp_code((const uint8_t *)seed20, 20, 59, 8), 94287082);
	assert_int_equal(auth_totp_code((const uint8_t *)seed20, 20, 59, 6), 287082);
	assert_int_equal(auth_totp_code((const uint8_t *)seed20, 20, 1111111109, 6), 81804);
}

static void
test_totp_code_bad_args(void **state)
{
	const uint8_t *k = (const uint8_t *)seed20;
	assert_int_equal(auth_totp_code(k, 20, 59, 5), -1);
	assert_int_equal(auth_totp_code(k, 20, 59, 10), -1);
	assert_int_equal(auth_totp_code(k, 20, -1, 6), -1);
	assert_int_equal(auth_totp_code(k, 0, 59, 6), -1);
	assert_int_equal(auth_totp_code_alg((enum auth_totp_alg)42, k, 20, 59, 6), -1);
}

static void
test_totp_secret_new(void **state)
{
	char a[AUTH_TOTP_SECRET_B32_SIZE], b[AUTH_TOTP_SECRET_B32_SIZE];
	assert_int_equal(auth_totp_secret_new(a, sizeof(a)), 0);
	assert_int_equal(auth_totp_secret_new(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 32);
	assert_string_not_equal(a, b);
	uint8_t key[32];
	size_t n = 0;
	assert_int_equal(auth_base32_decode(a, key, sizeof(key), &n), 0);
	assert_int_equal(n, AUTH_TOTP_SECRET_BYTES);

	char small[AUTH_TOTP_SECRET_B32_SIZE - 1] = "keep";
	assert_int_equal(auth_totp_secret_new(small, sizeof(small)), -1);
	assert_string_equal(small, "keep");
}

/* The 6-digit code of seed20 for the step containing t. */
static void
code_at(int64_t t, char out[7])
{
	int code = auth_totp_code((const uint8_t *)seed20, 20, t, 6);
	assert_true(code >= 0);
	snprintf(out, 7, "%06d", code);
}

/* A time in the middle of a step, so that +-30 s is exactly +-1 step. */
#define NOW 1111111125

static void
test_totp_verify_window(void **state)
{
	const int64_t step = NOW / 30;
	char code[7];
	int64_t matched = -5;

	code_at(NOW, code);
	assert_int_equal(auth_totp_verify(seed20_b32, code, NOW, -1, &matched), AUTH_TOTP_OK);
	assert_int_equal(matched, step);

	code_at(NOW - 30, code);
	assert_int_equal(auth_totp_verify(seed20_b32, code, NOW, -1, &matched), AUTH_TOTP_OK);
	assert_int_equal(matched, step - 1);

	code_at(NOW + 30, code);
	assert_int_equal(auth_totp_verify(seed20_b32, code, NOW, -1, &matched), AUTH_TOTP_OK);
	assert_int_equal(matched, step + 1);

	matched = -5;
	code_at(NOW - 60, code);
	assert_int_equal(auth_totp_verify(seed20_b32, code, NOW, -1, &matched), AUTH_TOTP_WRONG);
	code_at(NOW + 60, code);
	assert_int_equal(auth_totp_verify(seed20_b32, code, NOW, -1, &matched), AUTH_TOTP_WRONG);
	assert_int_equal(matched, -5);
}

static void
test_totp_verify_refuses_reuse(void **state)
{
	const int64_t step = NOW / 30;
	char code[7];
	int64_t matched = -5;

	code_at(NOW, code);
	assert_int_equal(auth_totp_verify(seed20_b32, code, NOW, -1, &matched), AUTH_TOTP_OK);
	/* The same code again, a few seconds later in the same step. */
	int64_t again = -5;
	assert_int_equal(auth_totp_verify(seed20_b32, code, NOW + 3, matched, &again),
	                 AUTH_TOTP_REUSED);
	assert_int_equal(again, -5);
	/* Nor a code of an earlier step still inside the window. */
	code_at(NOW - 30, code);
	assert_int_equal(auth_totp_verify(seed20_b32, code, NOW, step, &again), AUTH_TOTP_REUSED);
	/* The next step's code is still good. */
	code_at(NOW + 30, code);
	assert_int_equal(auth_totp_verify(seed20_b32, code, NOW, step, &again), AUTH_TOTP_OK);
	assert_int_equal(again, step + 1);
}

static void
test_totp_verify_input(void **state)
{
	char code[7];
	char spaced[8];
	int64_t matched = -5;
	code_at(NOW, code);
	snprintf(spaced, sizeof(spaced), "%.3s %.3s", code, code + 3);
	assert_int_equal(auth_totp_verify(seed20_b32, spaced, NOW, -1, &matched), AUTH_TOTP_OK);
	/* The secret as people type it. */
	assert_int_equal(auth_totp_verify("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", code, NOW, -1,
	                                  &matched),
	                 AUTH_TOTP_OK);

	assert_int_equal(auth_totp_verify(seed20_b32, "12345", NOW, -1, &matched),
	                 AUTH_TOTP_INVALID);
	assert_int_equal(auth_totp_verify(seed20_b32, "1234567", NOW, -1, &matched),
	                 AUTH_TOTP_INVALID);
	assert_int_equal(auth_totp_verify(seed20_b32, "12a456", NOW, -1, &matched),
	                 AUTH_TOTP_INVALID);
	assert_int_equal(auth_totp_verify(seed20_b32, "", NOW, -1, &matched), AUTH_TOTP_INVALID);
	assert_int_equal(auth_totp_verify("not base32!", code, NOW, -1, &matched),
	                 AUTH_TOTP_INVALID);
	assert_int_equal(auth_totp_verify("", code, NOW, -1, &matched), AUTH_TOTP_INVALID);
	assert_int_equal(auth_totp_verify(seed20_b32, code, -1, -1, &matched), AUTH_TOTP_INVALID);
}

static void
test_totp_uri(void **state)
{
	struct buf b = {0};
	assert_int_equal(auth_totp_uri("ACME Co", "alice@example.com", "jbsw y3dp ehpk 3pxp", &b),
	                 0);
	assert_string_equal(b.data, "otpauth://totp/ACME%20Co:alice%40example.com"
	                            "?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co"
	                            "&algorithm=SHA1&digits=6&period=30");
	buf_reset(&b);
	/* Separators and non-ASCII bytes cannot break the URI. */
	assert_int_equal(auth_totp_uri("a:b&c", "x?y=z/\xc3\xa9~-._", "MZXW6YTBOI======", &b), 0);
	assert_string_equal(b.data, "otpauth://totp/a%3Ab%26c:x%3Fy%3Dz%2F%C3%A9~-._"
	                            "?secret=MZXW6YTBOI&issuer=a%3Ab%26c"
	                            "&algorithm=SHA1&digits=6&period=30");
	buf_free(&b);

	struct buf empty = {0};
	assert_int_equal(auth_totp_uri("", "alice", "JBSWY3DPEHPK3PXP", &empty), -1);
	assert_int_equal(auth_totp_uri("ACME", "", "JBSWY3DPEHPK3PXP", &empty), -1);
	assert_int_equal(auth_totp_uri("ACME", "alice", "JBSW1", &empty), -1);
	assert_int_equal(auth_totp_uri("ACME", "alice", "", &empty), -1);
	assert_int_equal(empty.len, 0);
	assert_null(empty.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base32_encode_rfc4648),
		cmocka_unit_test(test_base32_decode_rfc4648),
		cmocka_unit_test(test_base32_decode_tolerant),
		cmocka_unit_test(test_base32_decode_rejects),
		cmocka_unit_test(test_base32_encode_small_buffer),
		cmocka_unit_test(test_hotp_rfc4226),
		cmocka_unit_test(test_totp_rfc6238_appendix_b),
		cmocka_unit_test(test_totp_code_bad_args),
		cmocka_unit_test(test_totp_secret_new),
		cmocka_unit_test(test_totp_verify_window),
		cmocka_unit_test(test_totp_verify_refuses_reuse),
		cmocka_unit_test(test_totp_verify_input),
		cmocka_unit_test(test_totp_uri),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
