/*
 * auth_token.c - random secrets handed to clients (API tokens, recovery
 * codes, session and CSRF identifiers), their storage hash, and the hash
 * chain that makes the audit log tamper-evident.
 */
#include "auth/auth_int.h"

#include <stdio.h>
#include <string.h>

#define TOKEN_RANDOM_BYTES 32
/* base64url of 32 bytes without padding: 43 characters and the NUL. */
#define TOKEN_B64_SIZE sodium_base64_ENCODED_LEN(TOKEN_RANDOM_BYTES, \
                                                 sodium_base64_VARIANT_URLSAFE_NO_PADDING)

/* The prefix is lower-case letters and digits only: base64url may contain
 * '_' and '-', so a prefix without '_' keeps "ciip_<prefix>_" splittable. */
static bool
prefix_valid(const char *prefix)
{
	size_t n = 0;
	for (const char *p = prefix; *p; p++, n++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	}
	return n >= 1 && n <= AUTH_TOKEN_PREFIX_MAX;
}

int
auth_token_new(const char *prefix, char *out, size_t outlen)
{
	if (!prefix_valid(prefix))
		return -1;
	/* "ciip_" + prefix + "_" + 43 characters + NUL */
	if (outlen < 5 + strlen(prefix) + 1 + TOKEN_B64_SIZE)
		return -1;
	auth_crypto_init();
	uint8_t rnd[TOKEN_RANDOM_BYTES];
	char b64[TOKEN_B64_SIZE];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(b64, sizeof(b64), rnd, sizeof(rnd),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out, outlen, "ciip_%s_%s", prefix, b64);
	sodium_memzero(rnd, sizeof(rnd));
	sodium_memzero(b64, sizeof(b64));
	return 0;
}

/*
 * Tokens are stored as a plain SHA-256, not with argon2 like passwords:
 * a token carries 256 random bits, so no guessing attack on a stolen hash
 * can succeed however fast the hash is, and a salt is pointless because
 * no two tokens are alike. A fast, unsalted hash also lets each API request
 * find its token by an index lookup on the hash instead of paying 64 MiB
 * and 100 ms per request.
 */
void
auth_token_hash(const char *token, char hex[65])
{
	auth_crypto_init();
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

/* Crockford's base32 alphabet in lower case: no i, l, o (read as 1, 1, 0)
 * and no u. 32 symbols, so 5 random bits pick one without bias. */
static const char recovery_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
#define RECOVERY_CHARS 12
#define RECOVERY_GROUP 4

/* Writes the 12 symbols as "xxxx-xxxx-xxxx". */
static void
recovery_format(const char sym[RECOVERY_CHARS], char out[AUTH_RECOVERY_CODE_SIZE])
{
	size_t o = 0;
	for (int i = 0; i < RECOVERY_CHARS; i++) {
		if (i > 0 && i % RECOVERY_GROUP == 0)
			out[o++] = '-';
		out[o++] = sym[i];
	}
	out[o] = '\0';
}

int
auth_recovery_codes_new(int n, char codes[][AUTH_RECOVERY_CODE_SIZE])
{
	if (n < 1 || n > AUTH_RECOVERY_CODES_MAX)
		return -1;
	auth_crypto_init();
	/* Two equal codes in one set would need a 2^-60 coincidence per pair;
	 * not worth a check. */
	for (int c = 0; c < n; c++) {
		uint8_t rnd[RECOVERY_CHARS];
		char sym[RECOVERY_CHARS];
		randombytes_buf(rnd, sizeof(rnd));
		for (int i = 0; i < RECOVERY_CHARS; i++)
			sym[i] = recovery_alphabet[rnd[i] & 0x1F];
		recovery_format(sym, codes[c]);
		sodium_memzero(rnd, sizeof(rnd));
		sodium_memzero(sym, sizeof(sym));
	}
	return 0;
}

/* The Crockford symbol for what a person typed, or 0 for a character that
 * cannot be part of a code. Look-alikes map to the digit they resemble. */
static char
recovery_symbol(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	switch (c) {
	case 'o':
		return '0';
	case 'i':
	case 'l':
		return '1';
	case 'u':
		return 0;
	default:
		break;
	}
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))
		return c;
	return 0;
}

int
auth_recovery_code_normalize(const char *in, char out[AUTH_RECOVERY_CODE_SIZE])
{
	char sym[RECOVERY_CHARS];
	int n = 0;
	for (const char *p = in; *p; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		char s = recovery_symbol(*p);
		if (s == 0 || n == RECOVERY_CHARS)
			return -1;
		sym[n++] = s;
	}
	if (n != RECOVERY_CHARS)
		return -1;
	recovery_format(sym, out);
	return 0;
}

void
auth_random_hex(size_t nbytes, char *out)
{
	auth_crypto_init();
	/* In chunks, so that any length works without an allocation. */
	uint8_t rnd[32];
	size_t done = 0;
	out[0] = '\0';
	while (done < nbytes) {
		size_t k = nbytes - done < sizeof(rnd) ? nbytes - done : sizeof(rnd);
		randombytes_buf(rnd, k);
		sodium_bin2hex(out + 2 * done, 2 * k + 1, rnd, k);
		done += k;
	}
	sodium_memzero(rnd, sizeof(rnd));
}

void
auth_audit_row_hash(const char *prev_hash_hex, const char *canonical_row, char out_hex[65])
{
	/* The "\n" marks where the previous hash ends, so that no bytes can move
	 * between the two parts unnoticed: prev_hash_hex, an earlier output or
	 * AUTH_AUDIT_GENESIS, is 64 hex digits and never holds a newline. */
	auth_crypto_init();
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)prev_hash_hex,
	                          strlen(prev_hash_hex));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)canonical_row,
	                          strlen(canonical_row));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out_hex, 65, h, sizeof(h));
}
