/*
 * auth_totp.c - time-based one-time passwords (RFC 6238 over RFC 4226 HOTP)
 * and the RFC 4648 base32 in which authenticator apps exchange secrets.
 */
#include "auth/auth_int.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

/* The longest secret accepted from storage or from a person, in bytes.
 * Ours are 20; RFC 6238 appendix B uses up to 64. */
#define TOTP_SECRET_MAX_BYTES 128

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int
auth_base32_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	/* Every 5 bits become one character; a partial group is zero-padded
	 * on the right (RFC 4648 section 6) and no '=' follows. */
	size_t need = (len * 8 + 4) / 5;
	if (len > (SIZE_MAX - 4) / 8 || need >= outlen || need > INT_MAX)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 0x1F];
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 0x1F];
	out[o] = '\0';
	return (int)o;
}

/* The value of a base32 character, either case, or -1. */
static int
b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int
auth_base32_decode(const char *in, uint8_t *out, size_t outlen, size_t *n)
{
	size_t o = 0, nchars = 0;
	uint32_t acc = 0;
	int bits = 0;
	bool padding = false;
	for (const char *p = in; *p; p++) {
		if (*p == ' ')
			continue;
		if (*p == '=') {
			padding = true;
			continue;
		}
		/* Data after padding means two strings run together. */
		int v = b32_value(*p);
		if (v < 0 || padding)
			return -1;
		nchars++;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* A final group of 1, 3 or 6 characters cannot come from whole bytes.
	 * Non-zero leftover bits in a valid group are ignored: they carry no
	 * byte, and refusing them would only annoy someone typing a secret. */
	switch (nchars % 8) {
	case 1:
	case 3:
	case 6:
		return -1;
	default:
		break;
	}
	*n = o;
	return 0;
}

int
auth_totp_secret_new(char *b32, size_t len)
{
	if (len < AUTH_TOTP_SECRET_B32_SIZE)
		return -1;
	auth_crypto_init();
	uint8_t key[AUTH_TOTP_SECRET_BYTES];
	randombytes_buf(key, sizeof(key));
	int rc = auth_base32_encode(key, sizeof(key), b32, len);
	sodium_memzero(key, sizeof(key));
	return rc < 0 ? -1 : 0;
}

static const EVP_MD *
alg_md(enum auth_totp_alg alg)
{
	switch (alg) {
	case AUTH_TOTP_SHA1:
		return EVP_sha1();
	case AUTH_TOTP_SHA256:
		return EVP_sha256();
	case AUTH_TOTP_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

int
auth_hotp_code(enum auth_totp_alg alg, const uint8_t *key, size_t keylen, uint64_t counter,
               int digits)
{
	/* Nine digits is the most a 31-bit truncated value can fill. */
	static const int pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
	                            100000000, 1000000000};
	const EVP_MD *md = alg_md(alg);
	if (md == NULL || digits < 6 || digits > 9 || keylen == 0 || keylen > INT_MAX)
		return -1;
	uint8_t msg[8];
	for (int i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)(counter & 0xFF);
		counter >>= 8;
	}
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	if (HMAC(md, key, (int)keylen, msg, sizeof(msg), mac, &maclen) == NULL || maclen < 20)
		return -1;
	/* RFC 4226 section 5.3, dynamic truncation: the low nibble of the last
	 * byte picks 4 bytes, whose top bit is dropped to avoid sign issues. */
	unsigned off = mac[maclen - 1] & 0x0F;
	uint32_t bin = ((uint32_t)(mac[off] & 0x7F) << 24) | ((uint32_t)mac[off + 1] << 16)
	               | ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
	OPENSSL_cleanse(mac, sizeof(mac));
	return (int)(bin % (uint32_t)pow10[digits]);
}

int
auth_totp_code_alg(enum auth_totp_alg alg, const uint8_t *key, size_t keylen,
                   int64_t unix_seconds, int digits)
{
	if (unix_seconds < 0)
		return -1;
	return auth_hotp_code(alg, key, keylen, (uint64_t)(unix_seconds / AUTH_TOTP_PERIOD_S),
	                      digits);
}

int
auth_totp_code(const uint8_t *key, size_t keylen, int64_t unix_seconds, int digits)
{
	return auth_totp_code_alg(AUTH_TOTP_SHA1, key, keylen, unix_seconds, digits);
}

/* Copies the digits of code, skipping spaces, into out[AUTH_TOTP_DIGITS].
 * Returns 0, or -1 unless there are exactly AUTH_TOTP_DIGITS digits. */
static int
code_digits(const char *code, char out[AUTH_TOTP_DIGITS])
{
	size_t n = 0;
	for (const char *p = code; *p; p++) {
		if (*p == ' ')
			continue;
		if (*p < '0' || *p > '9' || n == AUTH_TOTP_DIGITS)
			return -1;
		out[n++] = *p;
	}
	return n == AUTH_TOTP_DIGITS ? 0 : -1;
}

enum auth_totp_result
auth_totp_verify(const char *b32secret, const char *code, int64_t now_s, int64_t last_used_step,
                 int64_t *matched_step)
{
	/* One step either side: a phone clock off by up to 30 s, or a code
	 * typed just before it rolled over, still works; a wider window would
	 * only give guessers more codes per attempt. */
	enum { DRIFT = 1, NCAND = 2 * DRIFT + 1 };
	char given[AUTH_TOTP_DIGITS];
	uint8_t key[TOTP_SECRET_MAX_BYTES];
	size_t keylen = 0;
	enum auth_totp_result res = AUTH_TOTP_INVALID;
	if (now_s < 0 || code_digits(code, given) != 0)
		return AUTH_TOTP_INVALID;
	if (auth_base32_decode(b32secret, key, sizeof(key), &keylen) != 0 || keylen == 0)
		goto out;

	int64_t step = now_s / AUTH_TOTP_PERIOD_S;
	bool match[NCAND];
	for (int i = 0; i < NCAND; i++) {
		int64_t s = step - DRIFT + i;
		int v = s < 0 ? -1 : auth_hotp_code(AUTH_TOTP_SHA1, key, keylen, (uint64_t)s,
		                                    AUTH_TOTP_DIGITS);
		char want[AUTH_TOTP_DIGITS];
		unsigned u = v < 0 ? 0 : (unsigned)v;
		for (int d = AUTH_TOTP_DIGITS - 1; d >= 0; d--) {
			want[d] = (char)('0' + u % 10);
			u /= 10;
		}
		/* Every candidate is compared, in constant time, before any
		 * decision, so timing does not tell which digits were close. */
		match[i] = v >= 0 && sodium_memcmp(want, given, AUTH_TOTP_DIGITS) == 0;
		sodium_memzero(want, sizeof(want));
	}
	res = AUTH_TOTP_WRONG;
	for (int i = 0; i < NCAND; i++) {
		int64_t s = step - DRIFT + i;
		if (!match[i])
			continue;
		if (s <= last_used_step) {
			res = AUTH_TOTP_REUSED;
			continue;
		}
		*matched_step = s;
		res = AUTH_TOTP_OK;
		break;
	}
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(given, sizeof(given));
	return res;
}

/* Appends s percent-encoded: everything but RFC 3986 unreserved characters
 * becomes %XX, so ':' '@' '&' '?' and spaces cannot break the URI. */
static void
uri_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
		                  || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'
		                  || *p == '~';
		if (unreserved) {
			buf_append(b, p, 1);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 0x0F]};
			buf_append(b, esc, sizeof(esc));
		}
	}
}

int
auth_totp_uri(const char *issuer, const char *account, const char *b32, struct buf *out)
{
	if (issuer == NULL || *issuer == '\0' || account == NULL || *account == '\0')
		return -1;
	/* Decode and re-encode so that the app gets the canonical form. */
	uint8_t key[TOTP_SECRET_MAX_BYTES];
	size_t keylen = 0;
	char secret[(TOTP_SECRET_MAX_BYTES * 8 + 4) / 5 + 1];
	int rc = -1;
	if (auth_base32_decode(b32, key, sizeof(key), &keylen) != 0 || keylen == 0)
		goto out;
	if (auth_base32_encode(key, keylen, secret, sizeof(secret)) < 0)
		goto out;
	/* The issuer goes both in the label and as a parameter: older apps
	 * read only the label, newer ones prefer the parameter. */
	buf_puts(out, "otpauth://totp/");
	uri_escape(out, issuer);
	buf_puts(out, ":");
	uri_escape(out, account);
	buf_puts(out, "?secret=");
	buf_puts(out, secret);
	buf_puts(out, "&issuer=");
	uri_escape(out, issuer);
	buf_printf(out, "&algorithm=SHA1&digits=%d&period=%d", AUTH_TOTP_DIGITS,
	           AUTH_TOTP_PERIOD_S);
	rc = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(secret, sizeof(secret));
	return rc;
}
