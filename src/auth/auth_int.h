/*
 * auth_int.h - what the files of the accounts subsystem share: the
 * cryptographic primitives (password hashing and policy, TOTP, API tokens,
 * recovery codes, random identifiers, the audit hash chain). The public
 * API lives in auth/auth.h; nothing outside src/auth/ includes this file.
 *
 * Every function here is thread-safe: the only state is constant tables
 * and libsodium's one-time initialisation, done by auth_crypto_init().
 */
#ifndef CIIP_AUTH_INT_H
#define CIIP_AUTH_INT_H

#include "core/core.h"

#include <sodium.h>

/* ---- initialisation ---------------------------------------------------- */

/* Initialises libsodium once per process; safe to call from any thread, any
 * number of times. Every function below calls it, so callers need not.
 * Aborts if libsodium cannot start: without a working random source there
 * is nothing safe this subsystem could do. */
void auth_crypto_init(void);

/* ---- passwords (auth_password.c) ---------------------------------------- */

/* Longest password accepted anywhere, in bytes. A cap keeps a megabyte-long
 * "password" from costing more than the hash itself. */
#define AUTH_PASSWORD_MAX_BYTES 1024

enum auth_password_cost {
	/* libsodium's "interactive" argon2id limits (2 passes, 64 MiB): the
	 * production setting. */
	AUTH_PASSWORD_COST_INTERACTIVE,
	/* The minimum argon2id limits (1 pass, 8 KiB): for tests only, where
	 * the real cost would make each case take a tenth of a second. */
	AUTH_PASSWORD_COST_FAST,
};

/*
 * Hashes pw with argon2id into out, a NUL-terminated "$argon2id$..." string
 * that carries its own salt and parameters. Returns 0, or -1 with e set
 * (password too long, or out of memory for the 64 MiB work area); out is
 * unchanged on failure. pw is only read.
 */
int auth_password_hash(const char *pw, char out[crypto_pwhash_STRBYTES], struct err *e)
	CIIP_MUST_CHECK;
/* The same with an explicit cost; AUTH_PASSWORD_COST_FAST is for tests. */
int auth_password_hash_cost(const char *pw, enum auth_password_cost cost,
                            char out[crypto_pwhash_STRBYTES], struct err *e) CIIP_MUST_CHECK;
/* True when pw matches hash (any argon2 string libsodium can read). A
 * malformed hash or an over-long password is a mismatch, not an error. */
bool auth_password_verify(const char *hash, const char *pw) CIIP_MUST_CHECK;
/* True when hash was made with other limits than the interactive ones, or is
 * unreadable: the caller should rehash after the next successful login. */
bool auth_password_needs_rehash(const char *hash);
/*
 * Checks a new password against the policy: at least min_len characters
 * (UTF-8 code points, at least 1), at most AUTH_PASSWORD_MAX_BYTES bytes,
 * not the user name (ignoring ASCII case; username may be NULL) and not in
 * the built-in list of common passwords (ignoring ASCII case). Returns 0,
 * or -1 with a sentence for the user in e.
 */
int auth_password_check_policy(const char *pw, int min_len, const char *username, struct err *e)
	CIIP_MUST_CHECK;
/* True when pw is in the common-password list, ignoring ASCII case. */
bool auth_password_is_common(const char *pw);

/* The list itself (auth_common_passwords.c): lower case, sorted by strcmp,
 * without duplicates, so that it can be searched with bsearch(). */
extern const char *const auth_common_passwords[];
extern const size_t auth_common_passwords_count;
/* No entry is longer than this many bytes. */
#define AUTH_COMMON_PASSWORD_MAX_LEN 32

/* ---- base32 and TOTP (auth_totp.c) ------------------------------------- */

/*
 * RFC 4648 base32 of in[0..len) into out as upper case without '='
 * padding, NUL-terminated. Returns the number of characters written, or -1
 * if outlen cannot hold them and the NUL (out is then unchanged).
 */
int auth_base32_encode(const uint8_t *in, size_t len, char *out, size_t outlen) CIIP_MUST_CHECK;
/*
 * Decodes RFC 4648 base32, tolerating lower case, spaces anywhere and
 * trailing '=' padding (what people paste). Returns 0 with the byte count
 * in *n, or -1 on a foreign character, an impossible length or a result
 * longer than outlen (out may then hold partial output).
 */
int auth_base32_decode(const char *in, uint8_t *out, size_t outlen, size_t *n) CIIP_MUST_CHECK;

/* TOTP parameters fixed by this project (RFC 6238 defaults, which every
 * authenticator app supports). */
#define AUTH_TOTP_PERIOD_S 30
#define AUTH_TOTP_DIGITS 6
#define AUTH_TOTP_SECRET_BYTES 20
/* Base32 of the 20-byte secret, plus the NUL. */
#define AUTH_TOTP_SECRET_B32_SIZE 33

enum auth_totp_alg {
	AUTH_TOTP_SHA1,
	AUTH_TOTP_SHA256,
	AUTH_TOTP_SHA512,
};

/* Fills b32 with a new base32 secret of 20 random bytes. Returns 0, or -1 if
 * len < AUTH_TOTP_SECRET_B32_SIZE (b32 unchanged). */
int auth_totp_secret_new(char *b32, size_t len) CIIP_MUST_CHECK;
/* RFC 4226 HOTP value of counter, digits in [6, 9]. Returns the code, or -1
 * on bad arguments (digits out of range, empty key). */
int auth_hotp_code(enum auth_totp_alg alg, const uint8_t *key, size_t keylen, uint64_t counter,
                   int digits);
/* RFC 6238 TOTP at unix_seconds (>= 0) with a 30-second step, HMAC-SHA-1.
 * Returns the code, or -1 on bad arguments. */
int auth_totp_code(const uint8_t *key, size_t keylen, int64_t unix_seconds, int digits);
/* The same with another HMAC hash, for RFC 6238 appendix B. */
int auth_totp_code_alg(enum auth_totp_alg alg, const uint8_t *key, size_t keylen,
                       int64_t unix_seconds, int digits);

enum auth_totp_result {
	AUTH_TOTP_OK,      /* accepted; *matched_step is set */
	AUTH_TOTP_WRONG,   /* matches no step in the window */
	AUTH_TOTP_REUSED,  /* matches only steps <= last_used_step */
	AUTH_TOTP_INVALID, /* the secret is not base32, or the code is not 6 digits */
};

/*
 * Checks a 6-digit code (spaces allowed, "123 456") for the base32 secret at
 * now_s, accepting the current 30-second step and one step either side for
 * clock drift. A step <= last_used_step is refused, so a code works once:
 * the caller stores *matched_step as the new last_used_step. Pass -1 for a
 * secret never used. All candidate steps are compared in constant time.
 * *matched_step is written only on AUTH_TOTP_OK.
 */
enum auth_totp_result auth_totp_verify(const char *b32secret, const char *code, int64_t now_s,
                                       int64_t last_used_step, int64_t *matched_step)
	CIIP_MUST_CHECK;

/*
 * Appends the otpauth:// URI that authenticator apps read from a QR code:
 *   otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1
 *   &digits=6&period=30
 * issuer and account are percent-encoded (all but RFC 3986 unreserved
 * characters); the secret is normalised to upper case without spaces or
 * padding. Returns 0, or -1 (out unchanged) if issuer or account is empty
 * or b32 is not a valid secret.
 */
int auth_totp_uri(const char *issuer, const char *account, const char *b32, struct buf *out)
	CIIP_MUST_CHECK;

/* ---- tokens, recovery codes, random ids, audit chain (auth_token.c) ---- */

/* "ciip_" + prefix (1..16 of [a-z0-9]) + "_" + 43 characters of base64url:
 * the longest token, NUL included, fits in this. */
#define AUTH_TOKEN_MAX_SIZE 66
#define AUTH_TOKEN_PREFIX_MAX 16

/*
 * Writes a new API token "ciip_<prefix>_<base64url of 32 random bytes>" to
 * out. The fixed "ciip_" start lets secret scanners recognise leaked
 * tokens; the prefix names the kind (e.g. "pat", "svc"). Returns 0, or -1
 * if the prefix is not 1..16 of [a-z0-9] or outlen is too small (out
 * unchanged). Show the token once, store only auth_token_hash() of it.
 */
int auth_token_new(const char *prefix, char *out, size_t outlen) CIIP_MUST_CHECK;
/* Lower-case hex SHA-256 of the token, for storage and lookup. */
void auth_token_hash(const char *token, char hex[65]);

/* A recovery code "xxxx-xxxx-xxxx" plus the NUL fits in this. */
#define AUTH_RECOVERY_CODE_SIZE 20
#define AUTH_RECOVERY_CODES_MAX 32
/*
 * Fills codes[0..n) with codes like "7kq2-mxp9-3hvt": 12 characters of
 * Crockford's base32 alphabet (no i, l, o, u), 60 bits each. 60 bits is
 * too little for a fast hash: store them with auth_password_hash(), and
 * compare the normalised form. Returns 0, or -1 if n is not in
 * [1, AUTH_RECOVERY_CODES_MAX].
 */
int auth_recovery_codes_new(int n, char codes[][AUTH_RECOVERY_CODE_SIZE]) CIIP_MUST_CHECK;
/* Turns what a person typed ("7KQ2 MXP9 3HVT", "7kq2mxp93hvt", O for 0,
 * I or L for 1) into the canonical "7kq2-mxp9-3hvt". Returns 0, or -1 if it
 * is not a recovery code (out unchanged). */
int auth_recovery_code_normalize(const char *in, char out[AUTH_RECOVERY_CODE_SIZE])
	CIIP_MUST_CHECK;

/* Writes 2 * nbytes lower-case hex characters of fresh randomness and a NUL
 * to out (session ids, CSRF tokens: 32 bytes is the usual choice). */
void auth_random_hex(size_t nbytes, char *out);

/* The prev_hash_hex of the first row of the audit log: 64 zeros. */
#define AUTH_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
/*
 * One link of the audit log's hash chain:
 *   out_hex = lower-case hex(SHA-256(prev_hash_hex || "\n" || canonical_row))
 * where prev_hash_hex is the previous row's out_hex (AUTH_AUDIT_GENESIS for
 * the first row) and canonical_row the row serialised in one fixed way.
 * Changing, removing or reordering any row changes every later hash, so
 * the chain can be verified by recomputing it from the start.
 */
void auth_audit_row_hash(const char *prev_hash_hex, const char *canonical_row,
                         char out_hex[65]);


/* ---- the accounts layer (auth_http.c, auth_svc_*.c) ---- */

#include <pthread.h>

#include "auth/auth.h"

#define AUTH_SESSION_COOKIE "ciip_session"
#define AUTH_BASIC_CACHE 64

struct auth_basic_entry {
	char key[65]; /* SHA-256 of "user\0password" */
	int64_t expires_ms;
	struct auth_caller caller;
};

struct auth {
	struct store *st;
	const struct config *cfg;
	/* Successful HTTP Basic logins, cached for a minute: TAXII clients send
	 * Basic on every request, and argon2id costs tens of milliseconds. */
	pthread_mutex_t mu;
	struct auth_basic_entry basic[AUTH_BASIC_CACHE];
	/* At most this many password hashes run at once: each takes 64 MiB. */
	pthread_mutex_t hash_mu;
	pthread_cond_t hash_cond;
	int hashing;
};

/* Fills a caller from a users row joined to its organisation. */
int auth_load_user_caller(struct store_conn *c, int64_t user_id, struct auth_caller *out);
/* Resolves an API token. 0 found, -1 not found/expired/revoked (msg in e). */
int auth_token_resolve(struct store *st, const char *token, struct auth_caller *out,
                       struct err *e);
/* Runs a password check with the concurrency bound. */
bool auth_password_verify_bounded(struct auth *a, const char *hash, const char *pw);
/* Whether the role must use a second factor under this configuration. */
bool auth_role_needs_mfa(const struct config *cfg, enum auth_role r);
/* Parses "198.51.100.0/24" or "2001:db8::/32" into family and range bounds
 * (16-byte, IPv4 mapped into ::ffff:0:0/96). Returns 0 or -1. */
int auth_cidr_parse(const char *cidr, int *family, uint8_t lo[16], uint8_t hi[16], int *len);
int auth_ip_parse(const char *ip, int *family, uint8_t out[16]);
/* The service context's config, or the defaults when none was given. */
const struct config *auth_cfg(const struct auth_ctx *x);
/* The JSON of one organisation (with prefixes) or user (no secrets). */
json_t *auth_org_json(struct store_conn *c, int64_t id);
json_t *auth_user_json(struct store_conn *c, int64_t id);

/* ---- sealed secrets (auth_seal.c) ---- */

#define AUTH_SEALED_SIZE 128 /* a sealed TOTP secret and its NUL */

/* Seals plain with the node's seal key (created when missing) into out,
 * "s1:" and base64. */
int auth_seal(const struct config *cfg, const char *plain, char *out, size_t cap,
              struct err *e) CIIP_MUST_CHECK;
/* The secret a stored value holds: opened with the seal key, or the value
 * itself when it was stored before sealing. -1 with e set when it does not
 * open (another node's key, a damaged value, no key file). */
int auth_unseal(const struct config *cfg, const char *stored, char *out, size_t cap,
                struct err *e) CIIP_MUST_CHECK;
bool auth_sealed(const char *stored);

struct secret_write {
	int64_t user_id;
	char secret[AUTH_TOTP_SECRET_B32_SIZE];
	char sealed[AUTH_SEALED_SIZE]; /* what the database keeps */
	char codes[10][AUTH_RECOVERY_CODE_SIZE];
	char code_hashes[10][crypto_pwhash_STRBYTES];
	int ncodes;
	const struct auth_caller *who;
	struct err e;
};

/* Stores a new TOTP secret and recovery codes for a user (hashes only for
 * the codes). Also used at user creation. */
int auth_totp_store(struct store_conn *c, struct secret_write *w);
/* Makes a secret and recovery codes, hashing the codes (fast cost: they are
 * random, 60 bits, and only valid once). */
int auth_secret_prepare(struct secret_write *w, const struct config *cfg);
/* The secret, its otpauth:// URI and the codes, for showing once. */
json_t *auth_secret_json(const struct secret_write *w, const char *username);

#endif
