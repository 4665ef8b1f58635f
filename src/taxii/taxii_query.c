/*
 * taxii_query.c - the TAXII 2.1 query parameters (added_after, limit, next,
 * match[id|type|version|spec_version]), timestamps at the precision TAXII
 * needs, and the opaque `next` cursor.
 *
 * Every parameter is checked here, before any SQL is built: a malformed
 * value is a 400 naming the parameter, never a 500. The cursor is 41 bytes
 * (version, last row id, issue time, filter hash, 16 bytes of
 * HMAC-SHA-256 under the node's key) in unpadded base64url, so a client can
 * neither forge a position nor reuse one with other filters.
 */
#include "taxii/taxii_int.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stix/stix.h"

/* ---- timestamps ------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t
digits(const char *s, size_t n)
{
	int64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int
taxii_ts_parse(const char *s, int64_t *us, char vkey[TAXII_VKEY_LEN])
{
	/* stix_timestamp_valid guarantees "YYYY-MM-DDTHH:mm:ss[.s+]Z" with a
	 * real date, so the fixed offsets below are safe. */
	if (s == NULL || !stix_timestamp_valid(s))
		return -1;
	int64_t days = days_from_civil(digits(s, 4), digits(s + 5, 2), digits(s + 8, 2));
	int64_t secs = days * 86400 + digits(s + 11, 2) * 3600 + digits(s + 14, 2) * 60 +
	               digits(s + 17, 2);
	char frac[10] = "000000000";
	if (s[19] == '.') {
		size_t n = strspn(s + 20, "0123456789");
		memcpy(frac, s + 20, n < 9 ? n : 9);
	}
	if (us)
		*us = secs * 1000000 + digits(frac, 6);
	if (vkey)
		snprintf(vkey, TAXII_VKEY_LEN, "%.19s.%.9sZ", s, frac);
	return 0;
}

/* The inverse of days_from_civil (Howard Hinnant's civil_from_days). */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static char *
put_digits(char *p, int64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

/* Written by hand rather than with gmtime and strftime: a page of objects
 * formats one per row, and the C library's locale machinery would cost
 * more than reading the row. */
void
taxii_ts_format(int64_t us, char out[TAXII_DATE_LEN])
{
	if (us < 0)
		us = 0;
	int64_t secs = us / 1000000, days = secs / 86400, rem = secs % 86400, y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	if (y > 9999)
		y = 9999;
	char *p = put_digits(out, y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, rem / 3600, 2);
	*p++ = ':';
	p = put_digits(p, rem / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, rem % 60, 2);
	*p++ = '.';
	p = put_digits(p, us % 1000000, 6);
	*p++ = 'Z';
	*p = '\0';
}

/* ---- query parameters -------------------------------------------------------- */

static uint64_t
fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void
taxii_query_init(struct taxii_query *q)
{
	memset(q, 0, sizeof(*q));
}

void
taxii_query_free(struct taxii_query *q)
{
	json_decref(q->ids);
	json_decref(q->types);
	json_decref(q->stamps);
	memset(q, 0, sizeof(*q));
}

static const struct {
	const char *key;
	enum taxii_param bit;
} params[] = {
	{"added_after", TAXII_P_ADDED_AFTER},
	{"limit", TAXII_P_LIMIT},
	{"next", TAXII_P_NEXT},
	{"match[id]", TAXII_P_ID},
	{"match[type]", TAXII_P_TYPE},
	{"match[version]", TAXII_P_VERSION},
	{"match[spec_version]", TAXII_P_SPEC},
};

static int fail(struct err *e, const char *key, const char *fmt, ...) CIIP_PRINTF(3, 4);

/* Fills e for a 400 naming the parameter. What the client sent is quoted
 * in the message, so it is cut short and made printable. */
static int
fail(struct err *e, const char *key, const char *fmt, ...)
{
	snprintf(e->key, sizeof(e->key), "%s", key);
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	err_set(e, "%s: %s", key, msg);
	return -1;
}

static bool
spec_version_valid(const char *s, size_t n)
{
	size_t dot = 0, i;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (dot || i == 0)
				return false;
			dot = i;
		} else if (s[i] < '0' || s[i] > '9') {
			return false;
		}
	}
	return dot && dot + 1 < n && n <= 8;
}

/* One element of a comma-separated match[...] value. */
static int
add_element(struct taxii_query *q, enum taxii_param bit, const char *key, const char *el,
            size_t n, struct err *e)
{
	char tmp[STIX_ID_MAX + 1];
	if (n == 0)
		return fail(e, key, "has an empty value");
	if (n >= sizeof(tmp))
		return fail(e, key, "has a value longer than %zu characters", sizeof(tmp) - 1);
	memcpy(tmp, el, n);
	tmp[n] = '\0';
	json_t **list = NULL;
	switch (bit) {
	case TAXII_P_ID:
		if (!stix_id_valid(tmp, NULL))
			return fail(e, key, "'%s' is not a STIX identifier <type>--<UUID>", tmp);
		list = &q->ids;
		break;
	case TAXII_P_TYPE:
		if (!stix_type_valid(tmp))
			return fail(e, key, "'%s' is not a STIX type name", tmp);
		list = &q->types;
		break;
	case TAXII_P_VERSION:
		if (strcmp(tmp, "first") == 0) {
			q->versions |= TAXII_V_FIRST;
			return 0;
		}
		if (strcmp(tmp, "last") == 0) {
			q->versions |= TAXII_V_LAST;
			return 0;
		}
		if (strcmp(tmp, "all") == 0) {
			q->versions |= TAXII_V_ALL;
			return 0;
		}
		char vkey[TAXII_VKEY_LEN];
		if (taxii_ts_parse(tmp, NULL, vkey) != 0)
			return fail(e, key,
			            "'%s' is not first, last, all or a timestamp such as "
			            "2024-01-31T08:00:00.000Z",
			            tmp);
		q->versions |= TAXII_V_STAMPS;
		if (q->stamps == NULL)
			q->stamps = json_array();
		if (json_array_size(q->stamps) >= TAXII_MATCH_MAX_VALUES)
			return fail(e, key, "has more than %d values", TAXII_MATCH_MAX_VALUES);
		json_array_append_new(q->stamps, json_string(vkey));
		return 0;
	case TAXII_P_SPEC:
		if (!spec_version_valid(tmp, n))
			return fail(e, key, "'%s' is not a STIX version such as 2.1", tmp);
		if (strcmp(tmp, "2.1") == 0)
			q->spec_excludes = false;
		return 0;
	default:
		return -1;
	}
	if (*list == NULL)
		*list = json_array();
	if (json_array_size(*list) >= TAXII_MATCH_MAX_VALUES)
		return fail(e, key, "has more than %d values", TAXII_MATCH_MAX_VALUES);
	json_array_append_new(*list, json_string(tmp));
	return 0;
}

int
taxii_query_add(struct taxii_query *q, unsigned allowed, const char *key, const char *value,
                struct err *e)
{
	size_t i;
	for (i = 0; i < CIIP_ARRAY_LEN(params); i++)
		if (strcmp(key, params[i].key) == 0)
			break;
	if (i == CIIP_ARRAY_LEN(params)) {
		if (strncmp(key, "match[", 6) == 0)
			return fail(e, "match", "'%s' is not a filter TAXII 2.1 defines", key);
		return 0; /* not a TAXII parameter: ignored, as the specification allows */
	}
	enum taxii_param bit = params[i].bit;
	if (!(allowed & bit))
		return fail(e, key, "is not accepted by this endpoint");
	if (value == NULL)
		value = "";
	bool repeatable = bit & (TAXII_P_ID | TAXII_P_TYPE | TAXII_P_VERSION | TAXII_P_SPEC);
	if ((q->present & bit) && !repeatable)
		return fail(e, key, "is given more than once");
	if (bit == TAXII_P_SPEC && !(q->present & TAXII_P_SPEC))
		q->spec_excludes = true; /* until 2.1 is named */
	q->present |= bit;
	if (bit != TAXII_P_LIMIT && bit != TAXII_P_NEXT) {
		/* The sum makes the hash independent of the parameters' order. */
		uint64_t h = fnv1a(14695981039346656037ULL, key, strlen(key) + 1);
		q->filter_hash += fnv1a(h, value, strlen(value));
	}
	switch (bit) {
	case TAXII_P_ADDED_AFTER:
		if (taxii_ts_parse(value, &q->added_after_us, NULL) != 0)
			return fail(e, key, "'%s' is not a timestamp such as 2024-01-31T08:00:00.000Z",
			            value);
		return 0;
	case TAXII_P_LIMIT: {
		int64_t n;
		if (parse_int64(value, 1, INT64_MAX, &n) != 0)
			return fail(e, key, "'%s' is not a positive whole number", value);
		q->limit = n > TAXII_PAGE_MAX ? TAXII_PAGE_MAX : (int)n;
		return 0;
	}
	case TAXII_P_NEXT: {
		size_t n = strlen(value);
		if (n == 0 || n > TAXII_NEXT_MAX ||
		    strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
			return fail(e, key, "'%s' is not a value this server gave", value);
		memcpy(q->next, value, n + 1);
		return 0;
	}
	default:
		break;
	}
	const char *p = value;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (add_element(q, bit, key, p, n, e) != 0)
			return -1;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

void
taxii_query_finish(struct taxii_query *q)
{
	if (q->limit <= 0)
		q->limit = TAXII_PAGE_DEFAULT;
	if (q->versions == 0)
		q->versions = TAXII_V_LAST;
	if (q->versions & TAXII_V_ALL)
		q->versions = TAXII_V_ALL;
}

/* ---- cursors ------------------------------------------------------------------ */

#define CURSOR_VERSION 1
#define CURSOR_BODY 25
#define CURSOR_MAC 16
#define CURSOR_BYTES (CURSOR_BODY + CURSOR_MAC)

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
cursor_mac(const uint8_t key[TAXII_KEY_BYTES], const uint8_t *body, uint8_t mac[CURSOR_MAC])
{
	uint8_t full[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256(full, body, CURSOR_BODY, key);
	memcpy(mac, full, CURSOR_MAC);
}

void
taxii_cursor_encode(const uint8_t key[TAXII_KEY_BYTES], const struct taxii_cursor *c, char *out,
                    size_t len)
{
	uint8_t raw[CURSOR_BYTES];
	raw[0] = CURSOR_VERSION;
	put64(raw + 1, (uint64_t)c->row_id);
	put64(raw + 9, (uint64_t)c->issued_s);
	put64(raw + 17, c->filter_hash);
	cursor_mac(key, raw, raw + CURSOR_BODY);
	if (len < sodium_base64_ENCODED_LEN(CURSOR_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
		if (len)
			out[0] = '\0';
		return;
	}
	sodium_bin2base64(out, len, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
taxii_cursor_decode(const uint8_t key[TAXII_KEY_BYTES], const char *text, uint64_t filter_hash,
                    int64_t now_s, int64_t ttl_s, struct taxii_cursor *c, struct err *e)
{
	uint8_t raw[CURSOR_BYTES + 1];
	size_t n = 0;
	snprintf(e->key, sizeof(e->key), "next");
	if (sodium_base642bin(raw, sizeof(raw), text, strlen(text), NULL, &n, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != CURSOR_BYTES || raw[0] != CURSOR_VERSION) {
		err_set(e, "next: is not a value this server gave");
		return -1;
	}
	uint8_t mac[CURSOR_MAC];
	cursor_mac(key, raw, mac);
	if (sodium_memcmp(mac, raw + CURSOR_BODY, CURSOR_MAC) != 0) {
		err_set(e, "next: is not a value this server gave");
		return -1;
	}
	struct taxii_cursor tmp = {
		.row_id = (int64_t)get64(raw + 1),
		.issued_s = (int64_t)get64(raw + 9),
		.filter_hash = get64(raw + 17),
	};
	if (tmp.filter_hash != filter_hash) {
		err_set(e, "next: belongs to another query; send it with the same added_after and "
		           "match[...] parameters as the request that returned it");
		return -1;
	}
	if (now_s - tmp.issued_s > ttl_s) {
		err_set(e,
		        "next: has expired (a cursor is valid for %lld seconds); continue with "
		        "added_after set to the last X-TAXII-Date-Added-Last you received",
		        (long long)ttl_s);
		return -1;
	}
	*c = tmp;
	return 0;
}
