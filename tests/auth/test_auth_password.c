/* test_auth_password.c - argon2id hashing round trips and the password
 * policy. Hashes use the fast cost except one production-cost round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth_int.h"

static void
test_hash_verify_round_trip(void **state)
{
	char h[crypto_pwhash_STRBYTES];
	struct err e = {0};
	assert_int_equal(auth_password_hash_cost("correct horse battery staple",
	                                         AUTH_PASSWORD_COST_FAST, h, &e),
	                 0);
	assert_memory_equal(h, "$argon2id$", 10);
	assert_true(auth_password_verify(h, "correct horse battery staple"));
	assert_false(auth_password_verify(h, "correct horse battery stapl"));
	assert_false(auth_password_verify(h, "Correct horse battery staple"));
	assert_false(auth_password_verify(h, ""));
}

static void
test_hash_is_salted(void **state)
{
	char a[crypto_pwhash_STRBYTES], b[crypto_pwhash_STRBYTES];
	assert_int_equal(auth_password_hash_cost("same", AUTH_PASSWORD_COST_FAST, a, NULL), 0);
	assert_int_equal(auth_password_hash_cost("same", AUTH_PASSWORD_COST_FAST, b, NULL), 0);
	assert_string_not_equal(a, b);
	assert_true(auth_password_verify(a, "same"));
	assert_true(auth_password_verify(b, "same"));
}

static void
test_hash_interactive_cost(void **state)
{
	char h[crypto_pwhash_STRBYTES];
	assert_int_equal(auth_password_hash("production cost", h, NULL), 0);
	/* m=65536 KiB, t=2: the interactive limits are in the string. */
	assert_non_null(strstr(h, "$m=65536,t=2,"));
	assert_true(auth_password_verify(h, "production cost"));
	assert_false(auth_password_verify(h, "production cos"));
	assert_false(auth_password_needs_rehash(h));
}

static void
test_needs_rehash(void **state)
{
	char h[crypto_pwhash_STRBYTES];
	assert_int_equal(auth_password_hash_cost("x", AUTH_PASSWORD_COST_FAST, h, NULL), 0);
	assert_true(auth_password_needs_rehash(h));
	assert_true(auth_password_needs_rehash("garbage"));
	assert_true(auth_password_needs_rehash(""));
}

static void
test_hash_too_long(void **state)
{
	char pw[AUTH_PASSWORD_MAX_BYTES + 2];
	memset(pw, 'a', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	char h[crypto_pwhash_STRBYTES] = "unchanged";
	struct err e = {0};
	assert_int_equal(auth_password_hash_cost(pw, AUTH_PASSWORD_COST_FAST, h, &e), -1);
	assert_string_equal(h, "unchanged");
	assert_non_null(strstr(e.msg, "longer than 1024 bytes"));

	/* Exactly the limit is fine, and a longer one never verifies. */
	pw[AUTH_PASSWORD_MAX_BYTES] = '\0';
	assert_int_equal(auth_password_hash_cost(pw, AUTH_PASSWORD_COST_FAST, h, &e), 0);
	assert_true(auth_password_verify(h, pw));
	pw[AUTH_PASSWORD_MAX_BYTES] = 'a';
	assert_false(auth_password_verify(h, pw));
}

static void
test_verify_malformed_hash(void **state)
{
	char longhash[300];
	memset(longhash, '$', sizeof(longhash) - 1);
	longhash[sizeof(longhash) - 1] = '\0';
	assert_false(auth_password_verify("", "pw"));
	assert_false(auth_password_verify("$argon2id$", "pw"));
	assert_false(auth_password_verify("plaintext", "plaintext"));
	assert_false(auth_password_verify(longhash, "pw"));
}

struct policy_case {
	const char *pw;
	int min_len;
	const char *user;
	int rc;
	const char *msg; /* part of the message, or NULL when accepted */
};

static const struct policy_case policy_cases[] = {
	{"tr0ub4dor&3x", 12, "alice", 0, NULL},
	{"tr0ub4dor&3", 12, "alice", -1, "at least 12 characters"},
	{"", 0, NULL, -1, "empty"},
	{"x", 0, NULL, 0, NULL},
	/* 10 characters in 20 bytes: characters are counted, not bytes. */
	{"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 11,
	 NULL, -1, "at least 11 characters"},
	{"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10,
	 NULL, 0, NULL},
	{"alice.operator", 8, "alice.operator", -1, "must not be the user name"},
	{"Alice.Operator", 8, "alice.operator", -1, "must not be the user name"},
	{"alice.operator2", 8, "alice.operator", 0, NULL},
	{"alice.operator", 8, "", 0, NULL},
	{"password", 8, "bob", -1, "most common passwords"},
	{"PassWord1", 8, "bob", -1, "most common passwords"},
	{"QWERTYUIOP", 8, NULL, -1, "most common passwords"},
	{"changeme", 8, NULL, -1, "most common passwords"},
	{"ciipadmin", 8, NULL, -1, "most common passwords"},
	{"password!!", 8, NULL, 0, NULL},
};

static void
test_policy_cases(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(policy_cases); i++) {
		const struct policy_case *c = &policy_cases[i];
		struct err e = {0};
		print_message("case %zu: \"%s\"\n", i, c->pw);
		assert_int_equal(auth_password_check_policy(c->pw, c->min_len, c->user, &e), c->rc);
		assert_non_null(strstr(e.msg, c->msg != NULL ? c->msg : ""));
		assert_int_equal(strlen(e.msg) > 0, c->msg != NULL);
	}
}

static void
test_policy_length_limit(void **state)
{
	char pw[AUTH_PASSWORD_MAX_BYTES + 2];
	memset(pw, 'z', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	struct err e = {0};
	assert_int_equal(auth_password_check_policy(pw, 12, "alice", &e), -1);
	assert_non_null(strstr(e.msg, "at most 1024 bytes"));
	pw[AUTH_PASSWORD_MAX_BYTES] = '\0';
	assert_int_equal(auth_password_check_policy(pw, 12, "alice", NULL), 0);
}

static void
test_common_list_sorted_lower_unique(void **state)
{
	assert_true(auth_common_passwords_count >= 300);
	for (size_t i = 0; i < auth_common_passwords_count; i++) {
		const char *w = auth_common_passwords[i];
		assert_true(strlen(w) <= AUTH_COMMON_PASSWORD_MAX_LEN);
		assert_null(strpbrk(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
		/* bsearch() needs strictly increasing entries. */
		assert_true(i == 0 || strcmp(auth_common_passwords[i - 1], w) < 0);
		assert_true(auth_password_is_common(w));
	}
	assert_true(auth_password_is_common("123456"));
	assert_true(auth_password_is_common("IloveYou"));
	assert_false(auth_password_is_common("iloveyou!"));
	assert_false(auth_password_is_common(""));
	assert_false(auth_password_is_common("a-long-password-that-is-longer-than-the-longest"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify_round_trip),
		cmocka_unit_test(test_hash_is_salted),
		cmocka_unit_test(test_hash_interactive_cost),
		cmocka_unit_test(test_needs_rehash),
		cmocka_unit_test(test_hash_too_long),
		cmocka_unit_test(test_verify_malformed_hash),
		cmocka_unit_test(test_policy_cases),
		cmocka_unit_test(test_policy_length_limit),
		cmocka_unit_test(test_common_list_sorted_lower_unique),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
