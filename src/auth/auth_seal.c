/*
 * auth_seal.c - secrets the node must read back, sealed in the database.
 *
 * Passwords, recovery codes and API tokens are stored as hashes, but a TOTP
 * secret has to be read back to check a code. Stored as it is, a copy of
 * the database (a backup, a stolen disk) would hand over every second
 * factor. So it is sealed (libsodium secretbox: XSalsa20-Poly1305) with a
 * key that lives in a file outside the database, DATA_DIR/seal.key unless
 * auth.seal_key_file says otherwise, created with mode 0600 on first use.
 *
 * A sealed value is "s1:" and the base64 of nonce || box. A value without
 * that prefix is a secret from before sealing: it is read as it is, and
 * auth_seal_secrets() seals such values when the node starts.
 */
#include "auth/auth_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEAL_PREFIX "s1:"

static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;
static char key_path[CONFIG_MAX_PATH + 16];
static unsigned char key_cache[crypto_secretbox_KEYBYTES];
static bool key_loaded;

static void
seal_key_path(const struct config *cfg, char *out, size_t n)
{
	if (cfg->auth_seal_key_file[0] != '\0')
		snprintf(out, n, "%s", cfg->auth_seal_key_file);
	else
		snprintf(out, n, "%s/seal.key", cfg->data_dir);
}

static int
read_key(const char *path, unsigned char *key, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, key, crypto_secretbox_KEYBYTES);
	unsigned char extra;
	ssize_t more = n == crypto_secretbox_KEYBYTES ? read(fd, &extra, 1) : 0;
	close(fd);
	if (n != crypto_secretbox_KEYBYTES || more != 0) {
		err_set(e, "%s: not a seal key (%d bytes wanted)", path, crypto_secretbox_KEYBYTES);
		return -2;
	}
	return 0;
}

/* Creates the key file; another process may win the race, then its key
 * is read. */
static int
create_key(const char *path, unsigned char *key, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return read_key(path, key, e) == 0 ? 0 : -1;
		err_set(e, "%s: cannot create the seal key: %s", path, strerror(errno));
		return -1;
	}
	crypto_secretbox_keygen(key);
	bool ok = write(fd, key, crypto_secretbox_KEYBYTES) == crypto_secretbox_KEYBYTES &&
	          fsync(fd) == 0;
	close(fd);
	if (!ok) {
		err_set(e, "%s: cannot write the seal key: %s", path, strerror(errno));
		(void)unlink(path);
		return -1;
	}
	return 0;
}

/* The node's seal key, read once (created when create is set and the file
 * is missing). */
static int
seal_key(const struct config *cfg, bool create, unsigned char *key, struct err *e)
{
	char path[sizeof(key_path)];
	seal_key_path(cfg, path, sizeof(path));
	pthread_mutex_lock(&key_mu);
	int rc = 0;
	if (!key_loaded || strcmp(path, key_path) != 0) {
		rc = read_key(path, key_cache, e);
		if (rc == -1 && !create)
			err_set(e, "%s: no seal key: %s", path, strerror(errno));
		else if (rc == -1)
			rc = create_key(path, key_cache, e);
		key_loaded = rc == 0;
		if (rc == 0)
			snprintf(key_path, sizeof(key_path), "%s", path);
	}
	if (rc == 0)
		memcpy(key, key_cache, sizeof(key_cache));
	pthread_mutex_unlock(&key_mu);
	return rc == 0 ? 0 : -1;
}

int
auth_seal(const struct config *cfg, const char *plain, char *out, size_t cap, struct err *e)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	if (seal_key(cfg, true, key, e) != 0)
		return -1;
	size_t n = strlen(plain);
	unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 256];
	if (n > 256) {
		sodium_memzero(key, sizeof(key));
		err_set(e, "secret too long to seal");
		return -1;
	}
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, n, box,
	                      key);
	sodium_memzero(key, sizeof(key));
	size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
	size_t need = strlen(SEAL_PREFIX) +
	              sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if (need > cap) {
		err_set(e, "sealed secret does not fit");
		return -1;
	}
	memcpy(out, SEAL_PREFIX, strlen(SEAL_PREFIX));
	sodium_bin2base64(out + strlen(SEAL_PREFIX), cap - strlen(SEAL_PREFIX), box, blen,
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	return 0;
}

bool
auth_sealed(const char *stored)
{
	return strncmp(stored, SEAL_PREFIX, strlen(SEAL_PREFIX)) == 0;
}

int
auth_unseal(const struct config *cfg, const char *stored, char *out, size_t cap, struct err *e)
{
	if (!auth_sealed(stored)) {
		/* Stored before sealing: the secret itself. */
		if (strlen(stored) >= cap) {
			err_set(e, "stored secret too long");
			return -1;
		}
		snprintf(out, cap, "%s", stored);
		return 0;
	}
	unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 256];
	size_t blen = 0;
	const char *b64 = stored + strlen(SEAL_PREFIX);
	if (sodium_base642bin(box, sizeof(box), b64, strlen(b64), NULL, &blen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
	    blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
		err_set(e, "sealed secret is damaged");
		return -1;
	}
	size_t n = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (n + 1 > cap) {
		err_set(e, "sealed secret too long");
		return -1;
	}
	unsigned char key[crypto_secretbox_KEYBYTES];
	if (seal_key(cfg, false, key, e) != 0)
		return -1;
	int rc = crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES,
	                                    blen - crypto_secretbox_NONCEBYTES, box, key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0) {
		err_set(e, "sealed secret does not open with this node's seal key");
		return -1;
	}
	out[n] = '\0';
	return 0;
}

struct seal_job {
	const struct config *cfg;
	int sealed;
	struct err e;
};

static int
seal_existing_write(struct store_conn *c, void *arg)
{
	struct seal_job *j = arg;
	struct store_stmt *s = store_prepare(
		c, "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL", &j->e);
	if (s == NULL)
		return -1;
	/* Collected first: the rows are updated below. */
	struct {
		int64_t id;
		char sealed[AUTH_SEALED_SIZE];
	} *todo = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = store_step(s, &j->e)) == STORE_ROW) {
		const char *v = store_col_text(s, 1);
		if (auth_sealed(v))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			todo = xrealloc(todo, cap * sizeof(*todo));
		}
		todo[n].id = store_col_int(s, 0);
		if (auth_seal(j->cfg, v, todo[n].sealed, sizeof(todo[n].sealed), &j->e) != 0) {
			rc = STORE_ERROR;
			break;
		}
		n++;
	}
	store_finalize(s);
	for (size_t i = 0; rc == STORE_DONE && i < n; i++) {
		s = store_prepare(c, "UPDATE users SET totp_secret = ? WHERE id = ?", &j->e);
		if (s == NULL) {
			rc = STORE_ERROR;
			break;
		}
		store_bind_text(s, 1, todo[i].sealed);
		store_bind_int(s, 2, todo[i].id);
		rc = store_step(s, &j->e);
		store_finalize(s);
		j->sealed++;
	}
	if (todo != NULL)
		sodium_memzero(todo, cap * sizeof(*todo));
	free(todo);
	return rc == STORE_DONE ? 0 : -1;
}

int
auth_seal_secrets(struct store *st, const struct config *cfg, int *sealed, struct err *e)
{
	struct seal_job j = {.cfg = cfg};
	int rc = store_write(st, seal_existing_write, &j, &j.e);
	if (rc != 0)
		*e = j.e;
	if (sealed != NULL)
		*sealed = j.sealed;
	return rc;
}
