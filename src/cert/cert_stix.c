/*
 * cert_stix.c - an incident report in STIX 2.1: the indicators a member
 * gives become cyber-observables with the deterministic ids of STIX 2.1
 * section 2.9 (UUIDv5 over the ID-contributing properties), and the report
 * becomes an `incident` carrying the OASIS incident core extension, linked
 * to its observables by `related-to` relationships.
 */
#include "cert/cert_int.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

/* The namespace STIX 2.1 fixes for SCO ids, and ciip's own for the ids of
 * relationships it derives (so that exporting twice gives the same ids). */
static const uint8_t sco_ns[16] = {0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c,
                                   0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7};
static const uint8_t ciip_ns[16] = {0x6f, 0x1d, 0x0c, 0x4e, 0x5b, 0x2a, 0x4b, 0x8e,
                                    0x9d, 0x3c, 0x2e, 0x71, 0x0a, 0x55, 0xc4, 0x19};

static void
uuid5(const uint8_t ns[16], const char *name, char out[37])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_DigestInit_ex(md, EVP_sha1(), NULL);
	EVP_DigestUpdate(md, ns, 16);
	EVP_DigestUpdate(md, name, strlen(name));
	EVP_DigestFinal_ex(md, h, &n);
	EVP_MD_CTX_free(md);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x50);
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", h[0], h[1],
	         h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13], h[14],
	         h[15]);
}

void
cert_sco_id(const char *type, const json_t *contributing, char *out, size_t len)
{
	/* Sorted keys, no whitespace: RFC 8785 canonical form for the string
	 * values used here. */
	char *name = json_dumps(contributing, JSON_COMPACT | JSON_SORT_KEYS);
	char u[37];
	uuid5(sco_ns, name ? name : "{}", u);
	free(name);
	snprintf(out, len, "%s--%s", type, u);
}

static bool
hex_of_len(const char *s, size_t n)
{
	if (s == NULL || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static const struct {
	const char *name;
	size_t hexlen;
} hash_algs[] = {{"MD5", 32}, {"SHA-1", 40}, {"SHA-256", 64}, {"SHA-512", 128}};

int
cert_indicator_check(const json_t *ind, char *msg, size_t len)
{
	if (!json_is_object(ind)) {
		snprintf(msg, len, "an indicator is an object with a type");
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)ind, key, v)
	{
		if (strcmp(key, "type") && strcmp(key, "value") && strcmp(key, "hashes") &&
		    strcmp(key, "name") && strcmp(key, "role") && strcmp(key, "description")) {
			snprintf(msg, len, "unknown field '%s'", key);
			return -1;
		}
		if (strcmp(key, "hashes") && (!json_is_string(v) || json_string_length(v) > 2048)) {
			snprintf(msg, len, "%s must be a string of at most 2048 bytes", key);
			return -1;
		}
	}
	const char *type = json_string_value(json_object_get(ind, "type"));
	const char *value = json_string_value(json_object_get(ind, "value"));
	const char *role = json_string_value(json_object_get(ind, "role"));
	if (role && strcmp(role, "attacker") && strcmp(role, "victim") && strcmp(role, "other")) {
		snprintf(msg, len, "role must be attacker, victim or other");
		return -1;
	}
	if (type == NULL) {
		snprintf(msg, len, "type is required");
		return -1;
	}
	if (strcmp(type, "ipv4-addr") == 0 || strcmp(type, "ipv6-addr") == 0) {
		char addr[64];
		size_t n = value ? strcspn(value, "/") : 0;
		if (value == NULL || n == 0 || n >= sizeof(addr)) {
			snprintf(msg, len, "value must be an address");
			return -1;
		}
		memcpy(addr, value, n);
		addr[n] = '\0';
		const char *scope = cert_addr_scope(addr);
		bool v6 = strchr(addr, ':') != NULL;
		if (strcmp(scope, "invalid") == 0 || v6 != (type[3] == '6')) {
			snprintf(msg, len, "'%s' is not an %s address", value, type[3] == '6' ? "IPv6"
			                                                                      : "IPv4");
			return -1;
		}
		int64_t plen;
		if (value[n] == '/' && parse_int64(value + n + 1, 0, v6 ? 128 : 32, &plen) != 0) {
			snprintf(msg, len, "'%s' has a bad prefix length", value);
			return -1;
		}
		return 0;
	}
	if (strcmp(type, "domain-name") == 0) {
		size_t n = value ? strlen(value) : 0;
		if (n == 0 || n > 253 || strchr(value, '.') == NULL ||
		    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != n) {
			snprintf(msg, len, "value must be a domain name");
			return -1;
		}
		return 0;
	}
	if (strcmp(type, "url") == 0) {
		if (value == NULL || strstr(value, "://") == NULL) {
			snprintf(msg, len, "value must be a URL with a scheme");
			return -1;
		}
		return 0;
	}
	if (strcmp(type, "email-addr") == 0) {
		if (value == NULL || strchr(value, '@') == NULL) {
			snprintf(msg, len, "value must be an e-mail address");
			return -1;
		}
		return 0;
	}
	if (strcmp(type, "file") == 0) {
		json_t *h = json_object_get(ind, "hashes");
		if (!json_is_object(h) || json_object_size(h) == 0) {
			snprintf(msg, len, "a file needs hashes: {\"SHA-256\": \"...\"}");
			return -1;
		}
		json_object_foreach(h, key, v)
		{
			bool ok = false;
			for (size_t i = 0; i < CIIP_ARRAY_LEN(hash_algs); i++)
				if (strcmp(key, hash_algs[i].name) == 0)
					ok = hex_of_len(json_string_value(v), hash_algs[i].hexlen);
			if (!ok) {
				snprintf(msg, len, "hashes.%s: MD5, SHA-1, SHA-256 or SHA-512 in hex", key);
				return -1;
			}
		}
		return 0;
	}
	snprintf(msg, len, "type must be ipv4-addr, ipv6-addr, domain-name, url, email-addr or file");
	return -1;
}

json_t *
cert_indicator_sco(const json_t *ind)
{
	char msg[200];
	if (cert_indicator_check(ind, msg, sizeof(msg)) != 0)
		return NULL;
	const char *type = json_string_value(json_object_get(ind, "type"));
	json_t *contrib;
	if (strcmp(type, "file") == 0) {
		/* One hash contributes to the id, the first in this order. */
		json_t *hashes = json_object_get(ind, "hashes");
		contrib = json_object();
		for (size_t i = 0; i < CIIP_ARRAY_LEN(hash_algs); i++) {
			json_t *h = json_object_get(hashes, hash_algs[i].name);
			if (h) {
				json_object_set_new(contrib, "hashes",
				                    json_pack("{s:O}", hash_algs[i].name, h));
				break;
			}
		}
		json_t *nm = json_object_get(ind, "name");
		if (nm)
			json_object_set(contrib, "name", nm);
	} else {
		contrib = json_pack("{s:O}", "value", json_object_get(ind, "value"));
	}
	char id[STIX_ID_MAX];
	cert_sco_id(type, contrib, id, sizeof(id));
	json_decref(contrib);
	json_t *sco = json_pack("{s:s,s:s,s:s}", "type", type, "spec_version", "2.1", "id", id);
	if (strcmp(type, "file") == 0) {
		json_object_set(sco, "hashes", json_object_get(ind, "hashes"));
		json_t *nm = json_object_get(ind, "name");
		if (nm)
			json_object_set(sco, "name", nm);
	} else {
		json_object_set(sco, "value", json_object_get(ind, "value"));
	}
	return sco;
}

static const char *
investigation_status(enum cert_state s)
{
	switch (s) {
	case CERT_CLOSED:
		return "closed";
	case CERT_ACCEPTED:
	case CERT_CONTAINED:
	case CERT_RECOVERED:
		return "open";
	default:
		return "new";
	}
}

json_t *
cert_incident_bundle(const struct cert_incident *inc, const char *identity)
{
	char created[32], modified[32], ref[32];
	time_format_rfc3339(inc->created_at, created, sizeof(created));
	time_format_rfc3339(inc->updated_at > inc->created_at ? inc->updated_at : inc->created_at,
	                    modified, sizeof(modified));
	cert_incident_ref(inc, ref, sizeof(ref));
	bool confirmed = inc->accepted_at != 0;
	json_t *ext = json_pack("{s:s,s:s,s:s,s:i,s:[s],s:[{s:s,s:f}]}", "extension_type",
	                        "property-extension", "determination",
	                        confirmed ? "confirmed" : "suspected", "investigation_status",
	                        investigation_status(inc->state), "criticality", inc->level * 25,
	                        "incident_types", inc->type[0] ? inc->type : "undetermined", "scores",
	                        "name", "tw-cyber-incident-level", "value", (double)inc->level);
	if (inc->recovered_at)
		json_object_set_new(ext, "recoverability", json_string("regular"));
	json_t *incident = json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s}],s:{s:o}}", "type", "incident", "spec_version",
		"2.1", "id", inc->stix_id, "created", created, "modified", modified, "name", inc->title,
		"external_references", "source_name", "ciip", "external_id", ref, "extensions",
		CERT_INCIDENT_EXT_ID, ext);
	const char *desc = json_string_value(json_object_get(inc->data, "description"));
	if (desc && desc[0])
		json_object_set_new(incident, "description", json_string(desc));
	if (inc->cls[0]) {
		char rsit[160];
		snprintf(rsit, sizeof(rsit), "%s/%s", inc->cls, inc->type);
		json_array_append_new(json_object_get(incident, "external_references"),
		                      json_pack("{s:s,s:s}", "source_name", "rsit", "external_id", rsit));
	}
	if (identity)
		json_object_set_new(incident, "created_by_ref", json_string(identity));
	const char *marking = stix_tlp_marking_id((enum stix_tlp)inc->tlp);
	if (marking)
		json_object_set_new(incident, "object_marking_refs", json_pack("[s]", marking));
	json_t *objects = json_array();
	json_array_append_new(objects, incident);
	json_t *inds = json_object_get(inc->data, "indicators");
	size_t i;
	json_t *ind;
	json_array_foreach(inds, i, ind)
	{
		json_t *sco = cert_indicator_sco(ind);
		if (sco == NULL)
			continue;
		const char *sid = json_string_value(json_object_get(sco, "id"));
		char name[256], u[37], rid[64];
		snprintf(name, sizeof(name), "%s|related-to|%s", inc->stix_id, sid);
		uuid5(ciip_ns, name, u);
		snprintf(rid, sizeof(rid), "relationship--%s", u);
		json_t *rel = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "relationship",
		                        "spec_version", "2.1", "id", rid, "created", created, "modified",
		                        modified, "relationship_type", "related-to", "source_ref",
		                        inc->stix_id, "target_ref", sid);
		const char *role = json_string_value(json_object_get(ind, "role"));
		if (role)
			json_object_set_new(rel, "description", json_string(role));
		if (identity)
			json_object_set_new(rel, "created_by_ref", json_string(identity));
		if (marking)
			json_object_set_new(rel, "object_marking_refs", json_pack("[s]", marking));
		json_array_append_new(objects, sco);
		json_array_append_new(objects, rel);
	}
	char bid[STIX_ID_MAX];
	stix_id_new("bundle", bid, sizeof(bid));
	return json_pack("{s:s,s:s,s:o}", "type", "bundle", "id", bid, "objects", objects);
}

int
cert_svc_incident_stix(struct auth_ctx *x, const char *id, json_t **out)
{
	struct cert_incident inc;
	int st = cert_incident_get_visible(x, id, &inc, out);
	if (st)
		return st;
	char identity[128] = "";
	struct store_conn *c = store_reader_get(x->st);
	int64_t root = auth_org_root(c);
	if (root)
		(void)auth_org_describe(c, root, NULL, 0, identity, sizeof(identity));
	store_reader_put(x->st, c);
	*out = cert_incident_bundle(&inc, identity[0] ? identity : NULL);
	cert_incident_clear(&inc);
	return 200;
}
