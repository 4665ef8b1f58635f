/*
 * cert_route.c - where an attacking address is reported to. An address
 * inside a member's prefixes (usually an ISP's) puts an "abuse" item in
 * that organisation's notification queue, one item per organisation with
 * all its addresses; an address no member owns is foreign, and the
 * incident goes to the national CERT as a STIX incident in the outbox;
 * private and reserved addresses go nowhere.
 *
 * "Foreign" means "owned by no member of this node": without a
 * geolocation database that is the only test the node can make, and it is
 * the one that matters for who can act on the address.
 */
#include "cert/cert_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
cert_addr_scope(const char *ip)
{
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, ip, &v4) == 1) {
		uint32_t a = ntohl(v4.s_addr);
		static const struct {
			uint32_t net, mask;
		} priv[] = {
			{0x00000000, 0xff000000}, /* 0/8 */
			{0x0a000000, 0xff000000}, /* 10/8 */
			{0x7f000000, 0xff000000}, /* 127/8 */
			{0xa9fe0000, 0xffff0000}, /* 169.254/16 */
			{0xac100000, 0xfff00000}, /* 172.16/12 */
			{0xc0a80000, 0xffff0000}, /* 192.168/16 */
			{0xe0000000, 0xe0000000}, /* multicast and 240/4 */
		};
		for (size_t i = 0; i < CIIP_ARRAY_LEN(priv); i++)
			if ((a & priv[i].mask) == priv[i].net)
				return "private";
		return "public";
	}
	if (inet_pton(AF_INET6, ip, &v6) == 1) {
		const uint8_t *b = v6.s6_addr;
		static const uint8_t zero[16];
		if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
			return "private"; /* :: and ::1 */
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			return "private"; /* fe80::/10 */
		if ((b[0] & 0xfe) == 0xfc)
			return "private"; /* fc00::/7 */
		if (b[0] == 0xff)
			return "private"; /* multicast */
		return "public";
	}
	return "invalid";
}

int
cert_notify_queue(struct store_conn *c, int64_t org_id, const char *kind, int64_t incident_id,
                  const char *subject, const json_t *payload, struct err *e)
{
	char *p = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	struct store_stmt *s = store_prepare(
		c,
		"INSERT INTO cert_notifications(org_id, kind, incident_id, subject, payload, created_at,"
		" next_attempt_at) VALUES (?,?,?,?,?,?,?)",
		e);
	if (s == NULL) {
		free(p);
		return -1;
	}
	int64_t now = time_now_ms();
	store_bind_int(s, 1, org_id);
	store_bind_text(s, 2, kind);
	if (incident_id)
		store_bind_int(s, 3, incident_id);
	else
		store_bind_null(s, 3);
	store_bind_text(s, 4, subject);
	store_bind_text(s, 5, p ? p : "{}");
	store_bind_int(s, 6, now);
	store_bind_int(s, 7, now);
	int rc = store_step(s, e);
	store_finalize(s);
	free(p);
	return rc == STORE_DONE ? 0 : -1;
}

int
cert_outbox_put(struct store_conn *c, const struct cert_incident *inc, const char *purpose,
                struct err *e)
{
	char identity[128] = "";
	int64_t root = auth_org_root(c);
	if (root)
		(void)auth_org_describe(c, root, NULL, 0, identity, sizeof(identity));
	json_t *bundle = cert_incident_bundle(inc, identity[0] ? identity : NULL);
	char *text = json_dumps(bundle, JSON_COMPACT);
	json_decref(bundle);
	struct store_stmt *s = store_prepare(c,
	                                     "INSERT INTO cert_stix_outbox(incident_id, purpose,"
	                                     " stix_id, bundle, created_at) VALUES (?,?,?,?,?)",
	                                     e);
	if (s == NULL) {
		free(text);
		return -1;
	}
	store_bind_int(s, 1, inc->id);
	store_bind_text(s, 2, purpose);
	store_bind_text(s, 3, inc->stix_id);
	store_bind_text(s, 4, text);
	store_bind_int(s, 5, time_now_ms());
	int rc = store_step(s, e);
	store_finalize(s);
	free(text);
	return rc == STORE_DONE ? 0 : -1;
}

/* The address part of "198.51.100.7" or "198.51.100.0/24". */
static void
addr_of(const char *value, char *out, size_t len)
{
	size_t n = strcspn(value, "/");
	if (n >= len)
		n = len - 1;
	memcpy(out, value, n);
	out[n] = '\0';
}

static bool
is_attacker_address(const json_t *ind)
{
	const char *type = json_string_value(json_object_get(ind, "type"));
	if (type == NULL || (strcmp(type, "ipv4-addr") && strcmp(type, "ipv6-addr")))
		return false;
	const char *role = json_string_value(json_object_get(ind, "role"));
	return role == NULL || strcmp(role, "attacker") == 0;
}

int
cert_route_incident(struct store_conn *c, struct cert_incident *inc,
                    const struct auth_caller *who, struct err *e)
{
	json_t *inds = json_object_get(inc->data, "indicators");
	json_t *routing = json_array();
	json_t *by_org = json_object(); /* org id text -> [addresses] */
	json_t *foreign = json_array();
	json_t *seen = json_object();
	size_t i;
	json_t *ind;
	json_array_foreach(inds, i, ind)
	{
		if (!is_attacker_address(ind))
			continue;
		char addr[64];
		addr_of(json_string_value(json_object_get(ind, "value")), addr, sizeof(addr));
		if (json_object_get(seen, addr))
			continue;
		json_object_set_new(seen, addr, json_true());
		int64_t owner = auth_org_owning_ip(c, addr);
		json_t *r = json_pack("{s:s}", "address", addr);
		if (owner) {
			char name[128] = "", key[32];
			int64_t is_isp = 0;
			(void)auth_org_describe(c, owner, name, sizeof(name), NULL, 0);
			(void)store_query_int(c, "SELECT kind = 'isp' FROM orgs WHERE id = ?", &is_isp, e,
			                      "i", owner);
			json_object_set_new(r, "route", json_string(is_isp ? "isp" : "member"));
			json_object_set_new(r, "org_id", json_integer(owner));
			json_object_set_new(r, "org", json_string(name));
			snprintf(key, sizeof(key), "%lld", (long long)owner);
			json_t *list = json_object_get(by_org, key);
			if (list == NULL) {
				list = json_array();
				json_object_set_new(by_org, key, list);
			}
			json_array_append_new(list, json_string(addr));
		} else if (strcmp(cert_addr_scope(addr), "public") == 0) {
			json_object_set_new(r, "route", json_string("national"));
			json_array_append_new(foreign, json_string(addr));
		} else {
			json_object_set_new(r, "route", json_string("none"));
			json_object_set_new(r, "why", json_string("private or reserved address"));
		}
		json_array_append_new(routing, r);
	}
	int rc = 0;
	char ref[32];
	cert_incident_ref(inc, ref, sizeof(ref));
	const char *key;
	json_t *addrs;
	json_object_foreach(by_org, key, addrs)
	{
		int64_t org = 0;
		if (parse_int64(key, 1, INT64_MAX, &org) != 0)
			continue;
		char subject[256];
		snprintf(subject, sizeof(subject), "%s: %zu address%s in your network attacked a member",
		         ref, json_array_size(addrs), json_array_size(addrs) == 1 ? "" : "es");
		json_t *payload =
			json_pack("{s:s,s:O,s:{s:s,s:s},s:i,s:o,s:s}", "ref", ref, "addresses", addrs,
		              "classification", "class", inc->cls, "type", inc->type, "level",
		              inc->level, "first_seen", auth_time_json(inc->occurred_at ? inc->occurred_at
		                                                                        : inc->known_at),
		              "reported_by", inc->org_name);
		if (rc == 0)
			rc = cert_notify_queue(c, org, "abuse", inc->id, subject, payload, e);
		json_decref(payload);
	}
	if (rc == 0 && json_array_size(foreign) > 0)
		rc = cert_outbox_put(c, inc, "foreign-source", e);
	if (rc == 0 && json_array_size(routing) > 0) {
		json_object_set(inc->data, "routing", routing);
		json_t *detail = json_pack("{s:O}", "routing", routing);
		rc = cert_timeline_add(c, inc->id, who, "route", NULL, NULL, detail, e);
		json_decref(detail);
	}
	json_decref(routing);
	json_decref(by_org);
	json_decref(foreign);
	json_decref(seen);
	return rc;
}
