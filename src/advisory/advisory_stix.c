/*
 * advisory_stix.c - an advisory as STIX 2.1: a `report` (report_types
 * threat-report, and vulnerability when it names CVEs) that refers to one
 * `indicator` per indicator, one `vulnerability` per CVE and the issuing
 * `identity`; marked with the advisory's TLP 2.0 marking and carrying the
 * national intel type in ciip's property extension.
 *
 * The report keeps one id for the whole series: a correction is a new
 * version of the same object (a later "modified"), a withdrawal a version
 * with "revoked": true. Indicator and vulnerability ids are derived from
 * the report id and their content, so every version names them the same.
 */
#include "advisory/advisory_int.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

static const struct {
	const char *name;
	size_t hexlen;
} hash_algs[] = {{"MD5", 32}, {"SHA-1", 40}, {"SHA-256", 64}, {"SHA-512", 128}};

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

int
adv_indicator_check(const json_t *ind, char *msg, size_t len)
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
		    strcmp(key, "name") && strcmp(key, "description")) {
			snprintf(msg, len, "unknown field '%s'", key);
			return -1;
		}
		if (strcmp(key, "hashes") && (!json_is_string(v) || json_string_length(v) == 0 ||
		                              json_string_length(v) > 2048 ||
		                              memchr(json_string_value(v), '\0', json_string_length(v)))) {
			snprintf(msg, len, "%s must be text of 1 to 2048 bytes", key);
			return -1;
		}
	}
	const char *type = json_string_value(json_object_get(ind, "type"));
	static const char *const valued[] = {"ipv4-addr", "ipv6-addr", "domain-name", "url",
	                                     "email-addr"};
	for (size_t i = 0; type && i < CIIP_ARRAY_LEN(valued); i++) {
		if (strcmp(type, valued[i]) != 0)
			continue;
		if (json_object_get(ind, "value") == NULL) {
			snprintf(msg, len, "%s needs a value", type);
			return -1;
		}
		return 0;
	}
	if (type && strcmp(type, "file") == 0) {
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

/* A pattern string literal: ' and \ escaped. */
static void
quote(struct buf *b, const char *s)
{
	buf_puts(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '\'' || *p == '\\')
			buf_puts(b, "\\");
		buf_append(b, p, 1);
	}
	buf_puts(b, "'");
}

char *
adv_indicator_pattern(const json_t *ind)
{
	char msg[200];
	if (adv_indicator_check(ind, msg, sizeof(msg)) != 0)
		return NULL;
	const char *type = json_string_value(json_object_get(ind, "type"));
	struct buf b = {0};
	buf_puts(&b, "[");
	if (strcmp(type, "file") == 0) {
		json_t *h = json_object_get(ind, "hashes");
		int n = 0;
		for (size_t i = 0; i < CIIP_ARRAY_LEN(hash_algs); i++) {
			const char *v = json_string_value(json_object_get(h, hash_algs[i].name));
			if (v == NULL)
				continue;
			buf_printf(&b, "%sfile:hashes.'%s' = ", n++ ? " OR " : "", hash_algs[i].name);
			quote(&b, v);
		}
	} else {
		buf_printf(&b, "%s:value = ", type);
		quote(&b, json_string_value(json_object_get(ind, "value")));
	}
	buf_puts(&b, "]");
	return buf_steal(&b);
}

/* A UUIDv5 (SHA-1, RFC 4122) in a fixed namespace of ciip's, so ids derive
 * from content and stay the same from one version to the next. */
static void
derived_id(const char *type, const char *name, char *out, size_t len)
{
	static const uint8_t ns[16] = {0x3b, 0x8f, 0x52, 0x0e, 0x91, 0x6c, 0x4d, 0x27,
	                               0xa6, 0x1e, 0x7c, 0x40, 0x93, 0xd5, 0x28, 0x6a};
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
	snprintf(out, len,
	         "%s--%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", type,
	         h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12],
	         h[13], h[14], h[15]);
}

static void
common(json_t *o, const char *created, const char *modified, const char *identity,
       const char *marking, bool revoked)
{
	json_object_set_new(o, "spec_version", json_string("2.1"));
	json_object_set_new(o, "created", json_string(created));
	json_object_set_new(o, "modified", json_string(modified));
	if (identity && identity[0])
		json_object_set_new(o, "created_by_ref", json_string(identity));
	if (marking)
		json_object_set_new(o, "object_marking_refs", json_pack("[s]", marking));
	if (revoked)
		json_object_set_new(o, "revoked", json_true());
}

json_t *
adv_stix_bundle(const struct advisory_row *a, const char *identity, const char *identity_name,
                int64_t first_ms, int64_t ms, bool revoked)
{
	char created[32], modified[32], ref[32];
	time_format_rfc3339(first_ms, created, sizeof(created));
	time_format_rfc3339(ms > first_ms ? ms : first_ms, modified, sizeof(modified));
	adv_ref(a, ref, sizeof(ref));
	const char *marking = stix_tlp_marking_id((enum stix_tlp)a->tlp);
	json_t *objects = json_array();
	json_t *refs = json_array();
	if (identity && identity[0]) {
		json_t *id = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "identity",
		                       "spec_version", "2.1", "id", identity, "created", created,
		                       "modified", created, "name",
		                       identity_name && identity_name[0] ? identity_name : "ciip node",
		                       "identity_class", "organization");
		json_array_append_new(objects, id);
		json_array_append_new(refs, json_string(identity));
	}
	json_t *inds = json_object_get(a->data, "indicators");
	size_t i;
	json_t *ind;
	json_array_foreach(inds, i, ind)
	{
		char *pattern = adv_indicator_pattern(ind);
		if (pattern == NULL)
			continue;
		char name[4096], id[STIX_ID_MAX];
		snprintf(name, sizeof(name), "%s|%s", a->stix_id, pattern);
		derived_id("indicator", name, id, sizeof(id));
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s]}", "type", "indicator", "id", id,
		                      "pattern", pattern, "pattern_type", "stix", "valid_from", created,
		                      "indicator_types", "malicious-activity");
		const char *desc = json_string_value(json_object_get(ind, "description"));
		json_object_set_new(o, "name", json_string(desc ? desc : pattern));
		common(o, created, modified, identity, marking, revoked);
		json_array_append_new(objects, o);
		json_array_append_new(refs, json_string(id));
		free(pattern);
	}
	json_t *cves = json_object_get(a->data, "cves");
	json_t *ext_refs = json_array();
	json_array_append_new(ext_refs, json_pack("{s:s,s:s}", "source_name", "ciip", "external_id",
	                                          ref));
	json_t *cve;
	json_array_foreach(cves, i, cve)
	{
		const char *name = json_string_value(cve);
		char id[STIX_ID_MAX];
		derived_id("vulnerability", name, id, sizeof(id));
		json_t *o = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}]}", "type", "vulnerability", "id", id,
		                      "name", name, "external_references", "source_name", "cve",
		                      "external_id", name);
		common(o, created, modified, identity, marking, revoked);
		json_array_append_new(objects, o);
		json_array_append_new(refs, json_string(id));
		json_array_append_new(ext_refs, json_pack("{s:s,s:s}", "source_name", "cve",
		                                          "external_id", name));
	}
	const char *summary = json_string_value(json_object_get(a->data, "summary"));
	const char *body = json_string_value(json_object_get(a->data, "body"));
	struct buf desc = {0};
	buf_puts(&desc, summary ? summary : "");
	if (body && body[0]) {
		buf_puts(&desc, "\n\n");
		buf_puts(&desc, body);
	}
	char published[32];
	time_format_rfc3339(a->published_at ? a->published_at : ms, published, sizeof(published));
	json_t *report = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "type", "report", "id", a->stix_id,
	                           "name", a->title, "published", published, "object_refs", refs,
	                           "external_references", ext_refs);
	json_t *types = json_pack("[s]", "threat-report");
	if (json_array_size(cves) > 0)
		json_array_append_new(types, json_string("vulnerability"));
	json_object_set_new(report, "report_types", types);
	if (desc.len)
		json_object_set_new(report, "description", json_string(desc.data));
	buf_free(&desc);
	if (a->severity[0]) {
		char label[32];
		snprintf(label, sizeof(label), "severity:%s", a->severity);
		json_object_set_new(report, "labels", json_pack("[s]", label));
	}
	common(report, created, modified, identity, marking, revoked);
	enum stix_intel_type it;
	if (stix_intel_type_parse(a->intel_type, &it) == 0 && stix_intel_type_set(report, it) != 0)
		log_warnx("advisory", "%s: cannot set the intel type", a->stix_id);
	json_array_append_new(objects, report);
	char bid[STIX_ID_MAX];
	stix_id_new("bundle", bid, sizeof(bid));
	return json_pack("{s:s,s:s,s:o}", "type", "bundle", "id", bid, "objects", objects);
}
