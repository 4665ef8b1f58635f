/*
 * stix_object_id.c - STIX identifiers ("<type>--<UUID>") and timestamps
 * ("YYYY-MM-DDTHH:mm:ss[.s+]Z"): checking, ordering and making new ones.
 */
#include "stix/stix.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define UUID_CHARS 36

bool
stix_type_valid(const char *type)
{
	if (type == NULL)
		return false;
	size_t n = strnlen(type, STIX_TYPE_MAX_CHARS + 1);
	if (n < 3 || n > STIX_TYPE_MAX_CHARS)
		return false;
	if (type[0] < 'a' || type[0] > 'z')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = type[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
		if (!ok)
			return false;
		/* "--" separates the type from the UUID in an id, so a type
		 * holding it could not be read back from its ids. */
		if (c == '-' && i > 0 && type[i - 1] == '-')
			return false;
	}
	return true;
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 4122 textual form: 8-4-4-4-12 hex digits. STIX 2.1 accepts any UUID
 * version (SCOs use v5, everything else v4) but needs the RFC 4122 variant,
 * like the OASIS JSON schemas and the stix2 library. Version 0 (the nil
 * UUID) and 9-f are not versions RFC 4122 or RFC 9562 define. */
static bool
uuid_valid(const char *u)
{
	for (int i = 0; i < UUID_CHARS; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? u[i] != '-' : !is_hex(u[i]))
			return false;
	}
	if (u[UUID_CHARS] != '\0')
		return false;
	if (u[14] < '1' || u[14] > '8')
		return false;
	return strchr("89abAB", u[19]) != NULL;
}

bool
stix_id_valid(const char *id, const char *expect_type)
{
	if (id == NULL)
		return false;
	size_t n = strnlen(id, STIX_ID_MAX);
	if (n >= STIX_ID_MAX || n < 3 + 2 + UUID_CHARS)
		return false;
	/* The UUID has a fixed length, so the type is everything before the
	 * "--" that precedes it. */
	size_t tlen = n - UUID_CHARS - 2;
	if (id[tlen] != '-' || id[tlen + 1] != '-')
		return false;
	char type[STIX_TYPE_MAX_CHARS + 1];
	if (tlen > STIX_TYPE_MAX_CHARS)
		return false;
	memcpy(type, id, tlen);
	type[tlen] = '\0';
	if (!stix_type_valid(type))
		return false;
	if (expect_type != NULL && strcmp(type, expect_type) != 0)
		return false;
	return uuid_valid(id + tlen + 2);
}

void
stix_id_new(const char *type, char *out, size_t len)
{
	assert(stix_type_valid(type));
	assert(len >= strlen(type) + 2 + UUID_CHARS + 1);
	uint8_t b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* Ids must not collide across nodes; without the kernel's
			 * CSPRNG there is no safe way to go on. */
			fprintf(stderr, "ciip: getrandom failed: %s\n", strerror(errno));
			abort();
		}
		got += (size_t)r;
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, len,
	         "%s--%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", type,
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

static bool
digits_at(const char *s, size_t from, size_t n)
{
	for (size_t i = from; i < from + n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool
stix_timestamp_valid(const char *s)
{
	if (s == NULL)
		return false;
	/* Shape first, so time_parse_rfc3339 (which also takes offsets and a
	 * lower-case 't'/'z') only judges the calendar. */
	if (!digits_at(s, 0, 4) || s[4] != '-' || !digits_at(s, 5, 2) || s[7] != '-' ||
	    !digits_at(s, 8, 2) || s[10] != 'T' || !digits_at(s, 11, 2) || s[13] != ':' ||
	    !digits_at(s, 14, 2) || s[16] != ':' || !digits_at(s, 17, 2))
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return false;
	/* The fraction may be longer than time_parse_rfc3339 takes; it has
	 * been checked above, so only the whole seconds go to the calendar. */
	char whole[21];
	memcpy(whole, s, 19);
	whole[19] = 'Z';
	whole[20] = '\0';
	int64_t ms;
	return time_parse_rfc3339(whole, &ms) == 0;
}

int
stix_timestamp_cmp(const char *a, const char *b)
{
	/* Nothing below may read past a short string. */
	if (!stix_timestamp_valid(a) || !stix_timestamp_valid(b))
		return strcmp(a, b);
	/* Fixed-width UTC fields order the same as text. */
	int c = strncmp(a, b, 19);
	if (c != 0)
		return c;
	const char *fa = a[19] == '.' ? a + 20 : a + 19;
	const char *fb = b[19] == '.' ? b + 20 : b + 19;
	/* Compare fractions digit by digit, a missing digit being 0. */
	for (;;) {
		int da = (*fa >= '0' && *fa <= '9') ? *fa - '0' : -1;
		int db = (*fb >= '0' && *fb <= '9') ? *fb - '0' : -1;
		if (da < 0 && db < 0)
			return 0;
		int va = da < 0 ? 0 : da;
		int vb = db < 0 ? 0 : db;
		if (va != vb)
			return va < vb ? -1 : 1;
		if (da >= 0)
			fa++;
		if (db >= 0)
			fb++;
	}
}

void
stix_timestamp_now(char *buf)
{
	time_format_rfc3339(time_now_ms(), buf, STIX_TIMESTAMP_MAX);
}
