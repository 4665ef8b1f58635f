/*
 * ingest_enrich.c - what the node knows about an address: its country and
 * autonomous system (MaxMind DB files, optional) and the member
 * organisation that owns it (the organisations' prefixes).
 *
 * The owner table is rebuilt when the prefixes change (checked every few
 * seconds) and swapped in; the old one is freed at the next swap, long
 * after any lookup that started on it has ended.
 */
#include "ingest/ingest_sources.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct owner_entry {
	uint8_t net[16];
	int64_t org_id;
	uint8_t used;
};

/* One hash table per prefix length present, searched longest first. */
struct owner_level {
	int bits; /* in the 128-bit form */
	struct owner_entry *slots;
	size_t nslots;
};

struct ingest_owners {
	struct owner_level levels[129];
	int nlevels;
	char fingerprint[96];
};

static uint64_t
hash16(const uint8_t *a)
{
	uint64_t x, y;
	memcpy(&x, a, 8);
	memcpy(&y, a + 8, 8);
	uint64_t h = x * 0x9E3779B97F4A7C15ULL ^ (y + 0x632BE59BD9B4E019ULL);
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	return h ^ (h >> 32);
}

static void
mask(const uint8_t *a, int bits, uint8_t *out)
{
	for (int i = 0; i < 16; i++) {
		int keep = bits - i * 8;
		uint8_t m = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		out[i] = a[i] & m;
	}
}

static void
owners_free(struct ingest_owners *o)
{
	if (o == NULL)
		return;
	for (int i = 0; i < o->nlevels; i++)
		free(o->levels[i].slots);
	free(o);
}

static struct ingest_owners *
owners_build(struct store *st, struct err *e)
{
	struct store_conn *c = store_reader_get(st);
	struct store_stmt *s = store_prepare(
		c, "SELECT family, prefix_len, lo, org_id FROM org_prefixes ORDER BY prefix_len", e);
	if (s == NULL) {
		store_reader_put(st, c);
		return NULL;
	}
	/* Two passes over a small table: count per length, then fill. */
	size_t counts[129] = {0};
	struct {
		uint8_t lo[16];
		int bits;
		int64_t org;
	} *rows = NULL;
	size_t n = 0, cap = 0;
	while (store_step(s, e) == STORE_ROW) {
		size_t bl;
		const void *lo = store_col_blob(s, 2, &bl);
		if (bl != 16)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			rows = xrealloc(rows, cap * sizeof(*rows));
		}
		int bits = (int)store_col_int(s, 1) + (store_col_int(s, 0) == 4 ? 96 : 0);
		if (bits < 0 || bits > 128)
			continue;
		memcpy(rows[n].lo, lo, 16);
		rows[n].bits = bits;
		rows[n].org = store_col_int(s, 3);
		counts[bits]++;
		n++;
	}
	store_finalize(s);
	store_reader_put(st, c);
	struct ingest_owners *o = xcalloc(1, sizeof(*o));
	for (int bits = 128; bits >= 0; bits--) {
		if (counts[bits] == 0)
			continue;
		struct owner_level *lv = &o->levels[o->nlevels++];
		lv->bits = bits;
		lv->nslots = 4;
		while (lv->nslots < counts[bits] * 2)
			lv->nslots <<= 1;
		lv->slots = xcalloc(lv->nslots, sizeof(*lv->slots));
	}
	for (size_t i = 0; i < n; i++) {
		struct owner_level *lv = NULL;
		for (int k = 0; k < o->nlevels; k++)
			if (o->levels[k].bits == rows[i].bits)
				lv = &o->levels[k];
		uint8_t net[16];
		mask(rows[i].lo, rows[i].bits, net);
		size_t h = hash16(net) & (lv->nslots - 1);
		while (lv->slots[h].used && memcmp(lv->slots[h].net, net, 16) != 0)
			h = (h + 1) & (lv->nslots - 1);
		memcpy(lv->slots[h].net, net, 16);
		lv->slots[h].org_id = rows[i].org;
		lv->slots[h].used = 1;
	}
	free(rows);
	return o;
}

static int64_t
owners_lookup(const struct ingest_owners *o, const struct ingest_ip *ip)
{
	if (o == NULL || ip->family == 0)
		return 0;
	for (int k = 0; k < o->nlevels; k++) {
		const struct owner_level *lv = &o->levels[k];
		if (ip->family == 4 && lv->bits < 96)
			continue;
		uint8_t net[16];
		mask(ip->a, lv->bits, net);
		size_t h = hash16(net) & (lv->nslots - 1);
		while (lv->slots[h].used) {
			if (memcmp(lv->slots[h].net, net, 16) == 0)
				return lv->slots[h].org_id;
			h = (h + 1) & (lv->nslots - 1);
		}
	}
	return 0;
}

struct ingest_enrich {
	struct store *st;
	MMDB_s country, asn;
	bool has_country, has_asn;
	_Atomic(struct ingest_owners *) owners;
	struct ingest_owners *retired;
	char fingerprint[96];
};

static void
fingerprint(struct store *st, char *out, size_t len)
{
	struct store_conn *c = store_reader_get(st);
	struct err e;
	struct store_stmt *s = store_prepare(
		c,
		"SELECT COUNT(*), COALESCE(SUM(org_id * 131 + prefix_len), 0),"
		" (SELECT COALESCE(MAX(updated_at), 0) FROM orgs) FROM org_prefixes",
		&e);
	out[0] = '\0';
	if (s && store_step(s, &e) == STORE_ROW)
		snprintf(out, len, "%lld:%lld:%lld", (long long)store_col_int(s, 0),
		         (long long)store_col_int(s, 1), (long long)store_col_int(s, 2));
	store_finalize(s);
	store_reader_put(st, c);
}

struct ingest_enrich *
ingest_enrich_new(struct store *st, const char *country_db, const char *asn_db)
{
	struct ingest_enrich *en = xcalloc(1, sizeof(*en));
	en->st = st;
	if (country_db && country_db[0]) {
		int rc = MMDB_open(country_db, MMDB_MODE_MMAP, &en->country);
		if (rc == MMDB_SUCCESS)
			en->has_country = true;
		else
			log_warnx("ingest", "geoip country database %s: %s; continuing without it",
			          country_db, MMDB_strerror(rc));
	}
	if (asn_db && asn_db[0]) {
		int rc = MMDB_open(asn_db, MMDB_MODE_MMAP, &en->asn);
		if (rc == MMDB_SUCCESS)
			en->has_asn = true;
		else
			log_warnx("ingest", "geoip ASN database %s: %s; continuing without it", asn_db,
			          MMDB_strerror(rc));
	}
	ingest_enrich_reload(en);
	return en;
}

void
ingest_enrich_reload(struct ingest_enrich *en)
{
	char fp[96];
	fingerprint(en->st, fp, sizeof(fp));
	if (strcmp(fp, en->fingerprint) == 0 && atomic_load(&en->owners) != NULL)
		return;
	struct err e;
	struct ingest_owners *o = owners_build(en->st, &e);
	if (o == NULL) {
		log_warnx("ingest", "cannot load the organisations' prefixes: %s", e.msg);
		return;
	}
	snprintf(en->fingerprint, sizeof(en->fingerprint), "%s", fp);
	owners_free(en->retired);
	en->retired = atomic_exchange(&en->owners, o);
}

void
ingest_enrich_free(struct ingest_enrich *en)
{
	if (en == NULL)
		return;
	if (en->has_country)
		MMDB_close(&en->country);
	if (en->has_asn)
		MMDB_close(&en->asn);
	owners_free(atomic_load(&en->owners));
	owners_free(en->retired);
	free(en);
}

static void
to_sockaddr(const struct ingest_ip *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ip->a + 12, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ip->a, 16);
	}
}

static void
geo(struct ingest_enrich *en, const struct ingest_ip *ip, char cc[3], uint32_t *asn)
{
	if (ip->family == 0 || ingest_ip_private(ip))
		return;
	struct sockaddr_storage ss;
	to_sockaddr(ip, &ss);
	int err;
	if (en->has_country) {
		MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&en->country, (struct sockaddr *)&ss, &err);
		MMDB_entry_data_s d;
		if (err == MMDB_SUCCESS && r.found_entry &&
		    MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS &&
		    d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2) {
			cc[0] = d.utf8_string[0];
			cc[1] = d.utf8_string[1];
			cc[2] = '\0';
		}
	}
	if (en->has_asn) {
		MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&en->asn, (struct sockaddr *)&ss, &err);
		MMDB_entry_data_s d;
		if (err == MMDB_SUCCESS && r.found_entry &&
		    MMDB_get_value(&r.entry, &d, "autonomous_system_number", NULL) == MMDB_SUCCESS &&
		    d.has_data && d.type == MMDB_DATA_TYPE_UINT32)
			*asn = d.uint32;
	}
}

void
ingest_enrich_event(struct ingest_enrich *en, struct ingest_event *ev)
{
	const struct ingest_owners *o = atomic_load(&en->owners);
	ev->src_owner_org = owners_lookup(o, &ev->src_ip);
	ev->dst_owner_org = owners_lookup(o, &ev->dst_ip);
	geo(en, &ev->src_ip, ev->src_country, &ev->src_asn);
	geo(en, &ev->dst_ip, ev->dst_country, &ev->dst_asn);
}
