/*
 * auth_ip.c - the address prefixes organisations own, and which
 * organisation owns an address (the longest matching prefix). Addresses
 * are kept as 16 bytes, IPv4 mapped into ::ffff:0:0/96, so one index
 * answers both families.
 */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

int
auth_ip_parse(const char *ip, int *family, uint8_t out[16])
{
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, ip, &v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &v4, 4);
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &v6) == 1) {
		memcpy(out, &v6, 16);
		*family = 6;
		return 0;
	}
	return -1;
}

int
auth_cidr_parse(const char *cidr, int *family, uint8_t lo[16], uint8_t hi[16], int *len)
{
	char addr[64];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	if (n == 0 || n >= sizeof(addr))
		return -1;
	memcpy(addr, cidr, n);
	addr[n] = '\0';
	if (auth_ip_parse(addr, family, lo) != 0)
		return -1;
	int max = *family == 4 ? 32 : 128;
	int64_t plen = max;
	if (slash && parse_int64(slash + 1, 0, max, &plen) != 0)
		return -1;
	int bits = (int)plen + (*family == 4 ? 96 : 0); /* prefix length in the 128-bit form */
	for (int i = 0; i < 16; i++) {
		int keep = bits - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		if ((lo[i] & ~mask) != 0)
			return -1; /* host bits set: "10.0.0.1/8" is a mistake, not a prefix */
		hi[i] = lo[i] | (uint8_t)~mask;
	}
	*len = (int)plen;
	return 0;
}

int64_t
auth_org_owning_ip(struct store_conn *c, const char *ip)
{
	int family;
	uint8_t a[16];
	if (auth_ip_parse(ip, &family, a) != 0)
		return 0;
	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT org_id FROM org_prefixes WHERE family = ? AND lo <= ? AND hi >= ?"
		" ORDER BY prefix_len DESC LIMIT 1",
		&e);
	if (s == NULL)
		return 0;
	store_bind_int(s, 1, family);
	store_bind_blob(s, 2, a, 16);
	store_bind_blob(s, 3, a, 16);
	int64_t org = 0;
	if (store_step(s, &e) == STORE_ROW)
		org = store_col_int(s, 0);
	store_finalize(s);
	return org;
}

int64_t
auth_org_root(struct store_conn *c)
{
	int64_t id = 0;
	struct err e;
	if (store_query_int(c, "SELECT id FROM orgs WHERE parent_id IS NULL ORDER BY id LIMIT 1", &id,
	                    &e, NULL) != STORE_ROW)
		return 0;
	return id;
}

int
auth_org_describe(struct store_conn *c, int64_t org_id, char *name, size_t name_len,
                  char *identity, size_t identity_len)
{
	struct err e;
	struct store_stmt *s = store_prepare(c, "SELECT name, identity_id FROM orgs WHERE id = ?", &e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, org_id);
	int rc = -1;
	if (store_step(s, &e) == STORE_ROW) {
		if (name)
			snprintf(name, name_len, "%s", store_col_text(s, 0));
		if (identity)
			snprintf(identity, identity_len, "%s", store_col_text(s, 1));
		rc = 0;
	}
	store_finalize(s);
	return rc;
}
