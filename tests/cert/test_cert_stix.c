/* test_cert_stix.c - indicators of a report as STIX observables with the
 * deterministic ids of STIX 2.1, the incident bundle (valid STIX, with the
 * incident core extension), and which addresses are routable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cert/cert_int.h"
#include "stix/stix.h"

static void
test_sco_ids_are_stix_uuidv5(void **state)
{
	/* Values computed independently with Python's uuid.uuid5 over the
	 * canonical JSON of the ID-contributing properties. */
	json_t *ind = json_pack("{s:s,s:s}", "type", "ipv4-addr", "value", "8.8.4.4");
	json_t *sco = cert_indicator_sco(ind);
	assert_non_null(sco);
	assert_string_equal(json_string_value(json_object_get(sco, "id")),
	                    "ipv4-addr--089ee94a-5879-5641-a5c8-96f23028d408");
	json_decref(sco);
	json_decref(ind);
	char hash[65];
	memset(hash, 'a', 64);
	hash[64] = '\0';
	ind = json_pack("{s:s,s:{s:s}}", "type", "file", "hashes", "SHA-256", hash);
	sco = cert_indicator_sco(ind);
	assert_non_null(sco);
	assert_string_equal(json_string_value(json_object_get(sco, "id")),
	                    "file--75cb38d5-2055-5354-b75a-8299a2d670b5");
	json_decref(sco);
	json_decref(ind);
}

static const struct {
	const char *json;
	bool ok;
} indicator_cases[] = {
	{"{\"type\": \"ipv4-addr\", \"value\": \"203.0.113.5\"}", true},
	{"{\"type\": \"ipv4-addr\", \"value\": \"203.0.113.0/24\", \"role\": \"attacker\"}", true},
	{"{\"type\": \"ipv6-addr\", \"value\": \"2001:db8::1\", \"role\": \"victim\"}", true},
	{"{\"type\": \"domain-name\", \"value\": \"evil.example\"}", true},
	{"{\"type\": \"url\", \"value\": \"https://evil.example/x\"}", true},
	{"{\"type\": \"email-addr\", \"value\": \"a@evil.example\"}", true},
	{"{\"type\": \"file\", \"hashes\": {\"MD5\": \"0123456789abcdef0123456789abcdef\"}}", true},
	{"{\"type\": \"ipv4-addr\", \"value\": \"2001:db8::1\"}", false},
	{"{\"type\": \"ipv6-addr\", \"value\": \"10.0.0.1\"}", false},
	{"{\"type\": \"ipv4-addr\", \"value\": \"10.0.0.0/33\"}", false},
	{"{\"type\": \"ipv4-addr\", \"value\": \"300.1.1.1\"}", false},
	{"{\"type\": \"ipv4-addr\", \"value\": \"1.2.3.4\", \"role\": \"boss\"}", false},
	{"{\"type\": \"domain-name\", \"value\": \"no dots here\"}", false},
	{"{\"type\": \"url\", \"value\": \"evil.example\"}", false},
	{"{\"type\": \"file\", \"hashes\": {\"SHA-256\": \"abc\"}}", false},
	{"{\"type\": \"file\", \"hashes\": {\"CRC32\": \"00000000\"}}", false},
	{"{\"type\": \"mutex\", \"value\": \"x\"}", false},
	{"{\"type\": \"url\", \"value\": \"https://x.example\", \"colour\": \"red\"}", false},
	{"[1, 2]", false},
};

static void
test_indicator_check(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(indicator_cases); i++) {
		json_t *ind = json_loads(indicator_cases[i].json, 0, NULL);
		assert_non_null(ind);
		char msg[200] = "";
		assert_int_equal(cert_indicator_check(ind, msg, sizeof(msg)),
		                 indicator_cases[i].ok ? 0 : -1);
		assert_true(indicator_cases[i].ok == (msg[0] == '\0'));
		json_decref(ind);
	}
}

static const struct {
	const char *ip, *scope;
} scope_cases[] = {
	{"8.8.8.8", "public"},       {"203.0.113.5", "public"},  {"10.1.2.3", "private"},
	{"172.16.0.1", "private"},   {"172.32.0.1", "public"},   {"192.168.1.1", "private"},
	{"127.0.0.1", "private"},    {"169.254.1.1", "private"}, {"224.0.0.1", "private"},
	{"2001:db8::1", "public"},   {"::1", "private"},         {"fe80::1", "private"},
	{"fd00::1", "private"},      {"ff02::1", "private"},     {"banana", "invalid"},
};

static void
test_addr_scope(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(scope_cases); i++)
		assert_string_equal(cert_addr_scope(scope_cases[i].ip), scope_cases[i].scope);
}

static void
test_incident_bundle_is_valid_stix(void **state)
{
	struct cert_incident inc;
	memset(&inc, 0, sizeof(inc));
	inc.id = 42;
	inc.state = CERT_ACCEPTED;
	inc.level = 3;
	inc.tlp = AUTH_TLP_AMBER;
	snprintf(inc.title, sizeof(inc.title), "Historian compromise");
	snprintf(inc.cls, sizeof(inc.cls), "intrusions");
	snprintf(inc.type, sizeof(inc.type), "system-compromise");
	snprintf(inc.stix_id, sizeof(inc.stix_id),
	         "incident--6e6a3e0f-4c1b-4bb5-9f5e-2d7f4a7c9b10");
	assert_int_equal(time_parse_rfc3339("2026-03-02T00:00:00Z", &inc.created_at), 0);
	inc.updated_at = inc.created_at + 1000;
	inc.accepted_at = inc.updated_at;
	inc.data = json_pack("{s:s,s:[{s:s,s:s,s:s},{s:s,s:s}]}", "description", "details",
	                     "indicators", "type", "ipv4-addr", "value", "8.8.4.4", "role",
	                     "attacker", "type", "domain-name", "value", "c2.example");
	json_t *b = cert_incident_bundle(&inc, "identity--09b496d8-d955-4243-8468-046b11bf93de");
	json_t *objs = json_object_get(b, "objects");
	assert_int_equal(json_array_size(objs), 5);
	struct stix_failure *f = NULL;
	size_t nf = stix_objects_validate(objs, &f);
	assert_int_equal(nf, 0);
	free(f);
	json_t *incident = json_array_get(objs, 0);
	json_t *ext = json_object_get(json_object_get(incident, "extensions"), CERT_INCIDENT_EXT_ID);
	assert_string_equal(json_string_value(json_object_get(ext, "determination")), "confirmed");
	assert_string_equal(json_string_value(json_object_get(ext, "investigation_status")),
	                    "open");
	assert_int_equal(json_integer_value(json_object_get(ext, "criticality")), 75);
	/* Exporting again names the same observables and relationships. */
	json_t *b2 = cert_incident_bundle(&inc, NULL);
	json_t *objs2 = json_object_get(b2, "objects");
	for (size_t i = 1; i < json_array_size(objs); i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(objs, i), "id")),
		                    json_string_value(json_object_get(json_array_get(objs2, i), "id")));
	json_decref(b2);
	json_decref(b);
	json_decref(inc.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sco_ids_are_stix_uuidv5),
		cmocka_unit_test(test_indicator_check),
		cmocka_unit_test(test_addr_scope),
		cmocka_unit_test(test_incident_bundle_is_valid_stix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
