/*
 * auth_password.c - password hashing with argon2id and the password policy.
 *
 * Why argon2id with libsodium's "interactive" limits (2 passes over 64 MiB):
 * argon2id is the memory-hard hash RFC 9106 and OWASP recommend, and the
 * memory cost is what makes guessing on GPUs and ASICs expensive. The
 * interactive limits take about 50-100 ms on one current core, which a
 * login can afford, and are above OWASP's minimum (19 MiB, 2 passes). The
 * price is 64 MiB per login in progress, so the HTTP layer must bound how
 * many logins hash at once. The "sensitive" limits (1 GiB) would not fit a
 * small appliance. Parameters travel inside each hash string, so raising
 * them later only needs auth_password_needs_rehash() at login.
 */
#include "auth/auth_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void
crypto_init_once(void)
{
	/* 1 means "already initialised", which is fine too. */
	if (sodium_init() < 0) {
		log_errorx("auth", "libsodium failed to initialise: no usable random source");
		abort();
	}
}

void
auth_crypto_init(void)
{
	pthread_once(&crypto_once, crypto_init_once);
}

static void
cost_limits(enum auth_password_cost cost, unsigned long long *ops, size_t *mem)
{
	switch (cost) {
	case AUTH_PASSWORD_COST_FAST:
		*ops = crypto_pwhash_argon2id_OPSLIMIT_MIN;
		*mem = crypto_pwhash_argon2id_MEMLIMIT_MIN;
		return;
	case AUTH_PASSWORD_COST_INTERACTIVE:
		break;
	}
	*ops = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
	*mem = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
}

int
auth_password_hash_cost(const char *pw, enum auth_password_cost cost,
                        char out[crypto_pwhash_STRBYTES], struct err *e)
{
	auth_crypto_init();
	size_t len = strlen(pw);
	if (len > AUTH_PASSWORD_MAX_BYTES) {
		err_set(e, "password is longer than %d bytes", AUTH_PASSWORD_MAX_BYTES);
		return -1;
	}
	unsigned long long ops;
	size_t mem;
	cost_limits(cost, &ops, &mem);
	/* Hash into a local buffer so that out is untouched on failure. */
	char tmp[crypto_pwhash_STRBYTES];
	if (crypto_pwhash_str_alg(tmp, pw, len, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		/* The only runtime failure is the work area allocation. */
		err_set(e, "cannot hash the password: out of memory for %zu KiB", mem / 1024);
		return -1;
	}
	memcpy(out, tmp, sizeof(tmp));
	return 0;
}

int
auth_password_hash(const char *pw, char out[crypto_pwhash_STRBYTES], struct err *e)
{
	return auth_password_hash_cost(pw, AUTH_PASSWORD_COST_INTERACTIVE, out, e);
}

bool
auth_password_verify(const char *hash, const char *pw)
{
	auth_crypto_init();
	size_t len = strlen(pw);
	/* No stored hash can be of a longer password: hashing refuses them. */
	if (len > AUTH_PASSWORD_MAX_BYTES)
		return false;
	/* libsodium reads at most STRBYTES of the hash; a longer string is not
	 * one of ours. */
	if (strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
		return false;
	return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

bool
auth_password_needs_rehash(const char *hash)
{
	auth_crypto_init();
	if (strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
		return true;
	/* Also non-zero for an argon2i hash or an unreadable string. */
	return crypto_pwhash_argon2id_str_needs_rehash(hash,
	                                               crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
	                                               crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE)
	       != 0;
}

/* ASCII lower case, independent of the locale: case folding of other
 * scripts is not needed for a list of (ASCII) common passwords. */
static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
ascii_case_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	}
	return *a == *b;
}

static int
cmp_str(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

bool
auth_password_is_common(const char *pw)
{
	size_t len = strlen(pw);
	if (len > AUTH_COMMON_PASSWORD_MAX_LEN)
		return false;
	char low[AUTH_COMMON_PASSWORD_MAX_LEN + 1];
	for (size_t i = 0; i <= len; i++)
		low[i] = ascii_lower(pw[i]);
	return bsearch(low, auth_common_passwords, auth_common_passwords_count,
	               sizeof(auth_common_passwords[0]), cmp_str)
	       != NULL;
}

/* Characters as people count them: UTF-8 code points, i.e. every byte that
 * is not a continuation byte. Invalid UTF-8 is counted per byte. */
static size_t
utf8_count(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) != 0x80)
			n++;
	}
	return n;
}

int
auth_password_check_policy(const char *pw, int min_len, const char *username, struct err *e)
{
	/* Length alone, plus a deny list, is what NIST SP 800-63B asks for;
	 * composition rules ("one digit, one symbol") only make passwords
	 * predictable, so there are none. */
	if (min_len < 1)
		min_len = 1;
	size_t bytes = strlen(pw);
	if (bytes > AUTH_PASSWORD_MAX_BYTES) {
		err_set(e, "the password is too long: at most %d bytes are allowed",
		        AUTH_PASSWORD_MAX_BYTES);
		return -1;
	}
	if (*pw == '\0') {
		err_set(e, "the password is empty");
		return -1;
	}
	if (utf8_count(pw) < (size_t)min_len) {
		err_set(e, "the password is too short: it needs at least %d characters", min_len);
		return -1;
	}
	if (username != NULL && *username != '\0' && ascii_case_eq(pw, username)) {
		err_set(e, "the password must not be the user name");
		return -1;
	}
	if (auth_password_is_common(pw)) {
		err_set(e, "the password is one of the most common passwords, which are tried "
		           "first by attackers: choose another");
		return -1;
	}
	return 0;
}
