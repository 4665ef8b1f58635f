/*
 * taxii_demo.c - demo intel: four collections (advisories, indicators,
 * sightings, incidents) and about four hundred objects of a dozen types,
 * shared by the demo organisations under realistic TLP markings, so that a
 * TAXII client pointed at a demo node has something to read.
 *
 * Every address is from the documentation ranges (RFC 5737, RFC 3849) and
 * every domain ends in .example; the actors and malware are fictional.
 */
#include "taxii/taxii_int.h"

#include <stdio.h>
#include <string.h>

#include "stix/stix.h"

#define DAY_MS (86400LL * 1000)

struct demo {
	struct taxii *t;
	struct auth_caller local;
	int64_t now_ms;
	uint64_t rng;
	int64_t org_root, org_power, org_water, org_oil, org_netone;
	char id_root[STIX_ID_MAX], id_power[STIX_ID_MAX], id_water[STIX_ID_MAX],
		id_oil[STIX_ID_MAX], id_netone[STIX_ID_MAX];
	json_t *malware, *indicators, *actors, *patterns;
	struct err *e;
};

static uint32_t
rnd(struct demo *d)
{
	/* A fixed-seed generator: the demo looks the same on every run. */
	d->rng = d->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(d->rng >> 33);
}

static void
ts(struct demo *d, int64_t days_ago, char out[STIX_TIMESTAMP_MAX])
{
	int64_t ms = d->now_ms - days_ago * DAY_MS + (int64_t)(rnd(d) % 86400) * 1000;
	time_format_rfc3339(ms, out, STIX_TIMESTAMP_MAX);
}

static const char *
tlp_ref(enum stix_tlp t)
{
	return stix_tlp_marking_id(t);
}

/* Finds the demo organisations by name through auth's public lookup. */
static void
find_orgs(struct demo *d)
{
	struct store_conn *c = store_reader_get(d->t->st);
	for (int64_t id = 1; id < 64; id++) {
		char name[128], identity[STIX_ID_MAX];
		if (auth_org_describe(c, id, name, sizeof(name), identity, sizeof(identity)) != 0)
			continue;
		struct {
			const char *name;
			int64_t *id;
			char *identity;
		} map[] = {
			{"Energy ISAC", &d->org_root, d->id_root},
			{"North Power Company", &d->org_power, d->id_power},
			{"City Water Utility", &d->org_water, d->id_water},
			{"Harbour Oil Refinery", &d->org_oil, d->id_oil},
			{"NetOne ISP", &d->org_netone, d->id_netone},
		};
		for (size_t i = 0; i < CIIP_ARRAY_LEN(map); i++) {
			if (strcmp(name, map[i].name) == 0) {
				*map[i].id = id;
				snprintf(map[i].identity, STIX_ID_MAX, "%s", identity);
			}
		}
	}
	store_reader_put(d->t->st, c);
	if (d->org_power == 0)
		d->org_power = d->org_root;
	if (d->org_water == 0)
		d->org_water = d->org_root;
	if (d->org_oil == 0)
		d->org_oil = d->org_root;
	if (d->org_netone == 0)
		d->org_netone = d->org_root;
}

static int
add(struct demo *d, const struct taxii_coll *c, json_t *objects, int64_t owner)
{
	struct taxii_add_opts o = {.caller = &d->local, .owner_org = owner, .action = "demo.seed"};
	json_t *status = NULL;
	int rc = taxii_objects_add(d->t, c, objects, &o, &status, d->e);
	if (rc == 0 && json_integer_value(json_object_get(status, "failure_count")) > 0) {
		json_t *f = json_array_get(json_object_get(status, "failures"), 0);
		err_set(d->e, "demo object %s: %s", json_string_value(json_object_get(f, "id")),
		        json_string_value(json_object_get(f, "message")));
		rc = -1;
	}
	json_decref(status);
	json_decref(objects);
	return rc;
}

static json_t *
sdo(struct demo *d, const char *type, int64_t days_ago, enum stix_tlp tlp, const char *creator)
{
	char id[STIX_ID_MAX], when[STIX_TIMESTAMP_MAX];
	stix_id_new(type, id, sizeof(id));
	ts(d, days_ago, when);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", type, "spec_version", "2.1", "id", id,
	                      "created", when, "modified", when);
	if (creator && creator[0])
		json_object_set_new(o, "created_by_ref", json_string(creator));
	if (tlp != STIX_TLP_NONE)
		json_object_set_new(o, "object_marking_refs", json_pack("[s]", tlp_ref(tlp)));
	return o;
}

static const char *const actor_names[] = {
	"Volt Lantern", "Grid Serpent", "Harbour Kraken", "Copper Mole",
	"Silent Turbine", "Night Valve", "Amber Ferret", "Rust Heron",
};
static const char *const malware_names[] = {
	"PowerTap loader", "ScadaSniff", "ValveLock ransomware", "GridWiper", "TurbineRAT",
	"HarbourBot", "MeterMiner", "PipeDream variant", "RelayStealer", "SubstationShell",
};
static const struct {
	const char *name, *mitre;
} patterns[] = {
	{"Exploit Public-Facing Application", "T1190"},  {"Valid Accounts", "T1078"},
	{"Phishing", "T1566"},                           {"External Remote Services", "T1133"},
	{"Brute Force", "T1110"},                        {"Data Encrypted for Impact", "T1486"},
	{"Network Service Discovery", "T1046"},          {"Command and Scripting Interpreter", "T1059"},
	{"Ingress Tool Transfer", "T1105"},              {"Modify Parameter", "T0836"},
	{"Denial of Service", "T0814"},                  {"Remote System Discovery", "T1018"},
};
static const char *const vulns[] = {
	"CVE-2023-46604", "CVE-2024-3400", "CVE-2023-4966",  "CVE-2024-21762",
	"CVE-2023-20198", "CVE-2022-1388", "CVE-2021-44228", "CVE-2024-1709",
};
static const char *const words[] = {
	"update", "login", "secure", "grid", "meter", "portal", "cdn", "sync", "vpn", "billing",
};

static int
seed_advisories(struct demo *d, const struct taxii_coll *c)
{
	json_t *objs = json_array();
	const char *orgs[] = {d->id_root, d->id_power, d->id_water, d->id_oil, d->id_netone};
	const char *names[] = {"Energy ISAC", "North Power Company", "City Water Utility",
	                       "Harbour Oil Refinery", "NetOne ISP"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(orgs); i++) {
		if (!stix_id_valid(orgs[i], "identity"))
			continue;
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s]}", "type", "identity",
		                      "spec_version", "2.1", "id", orgs[i], "created",
		                      "2026-01-01T00:00:00.000Z", "modified", "2026-01-01T00:00:00.000Z",
		                      "name", names[i], "identity_class", "organization",
		                      "object_marking_refs", tlp_ref(STIX_TLP_CLEAR));
		json_array_append_new(objs, o);
	}
	d->actors = json_array();
	for (size_t i = 0; i < CIIP_ARRAY_LEN(actor_names); i++) {
		json_t *o = sdo(d, i % 2 ? "intrusion-set" : "threat-actor", 60 - (int64_t)i,
		                STIX_TLP_GREEN, d->id_root);
		json_object_set_new(o, "name", json_string(actor_names[i]));
		json_object_set_new(o, "description",
		                    json_sprintf("%s targets operators of critical infrastructure in "
		                                 "the energy and water sectors.",
		                                 actor_names[i]));
		if (i % 2 == 0)
			json_object_set_new(o, "threat_actor_types", json_pack("[s]", "nation-state"));
		json_array_append(d->actors, json_object_get(o, "id"));
		json_array_append_new(objs, o);
	}
	d->malware = json_array();
	for (size_t i = 0; i < CIIP_ARRAY_LEN(malware_names); i++) {
		json_t *o = sdo(d, "malware", 55 - (int64_t)i, STIX_TLP_GREEN, d->id_root);
		json_object_set_new(o, "name", json_string(malware_names[i]));
		json_object_set_new(o, "is_family", json_true());
		json_object_set_new(o, "malware_types",
		                    json_pack("[s]", i % 3 == 0 ? "ransomware" : "remote-access-trojan"));
		json_array_append(d->malware, json_object_get(o, "id"));
		json_array_append_new(objs, o);
	}
	d->patterns = json_array();
	for (size_t i = 0; i < CIIP_ARRAY_LEN(patterns); i++) {
		json_t *o = sdo(d, "attack-pattern", 50, STIX_TLP_CLEAR, d->id_root);
		json_object_set_new(o, "name", json_string(patterns[i].name));
		json_object_set_new(o, "external_references",
		                    json_pack("[{s:s,s:s}]", "source_name", "mitre-attack", "external_id",
		                              patterns[i].mitre));
		json_array_append(d->patterns, json_object_get(o, "id"));
		json_array_append_new(objs, o);
	}
	for (size_t i = 0; i < CIIP_ARRAY_LEN(vulns); i++) {
		json_t *o = sdo(d, "vulnerability", 45 - (int64_t)i, STIX_TLP_CLEAR, d->id_root);
		json_object_set_new(o, "name", json_string(vulns[i]));
		json_object_set_new(o, "external_references",
		                    json_pack("[{s:s,s:s}]", "source_name", "cve", "external_id", vulns[i]));
		json_array_append_new(objs, o);
	}
	for (int i = 0; i < 6; i++) {
		json_t *o = sdo(d, "course-of-action", 40 - i, STIX_TLP_CLEAR, d->id_root);
		static const char *const coa[] = {
			"Block the listed addresses at the perimeter", "Reset VPN credentials",
			"Patch internet-facing appliances",             "Segment OT from IT networks",
			"Enable MFA on remote access",                  "Review engineering workstation logs"};
		json_object_set_new(o, "name", json_string(coa[i]));
		json_array_append_new(objs, o);
	}
	for (int i = 0; i < 8; i++) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "relationship",
		                      "spec_version", "2.1", "id", "", "created", "", "modified", "",
		                      "relationship_type", "uses", "source_ref",
		                      json_string_value(json_array_get(d->actors, (size_t)i)),
		                      "target_ref",
		                      json_string_value(json_array_get(d->malware, (size_t)i)));
		char id[STIX_ID_MAX], when[STIX_TIMESTAMP_MAX];
		stix_id_new("relationship", id, sizeof(id));
		ts(d, 30, when);
		json_object_set_new(o, "id", json_string(id));
		json_object_set_new(o, "created", json_string(when));
		json_object_set_new(o, "modified", json_string(when));
		json_object_set_new(o, "object_marking_refs", json_pack("[s]", tlp_ref(STIX_TLP_GREEN)));
		json_array_append_new(objs, o);
	}
	return add(d, c, objs, d->org_root);
}

static int
seed_indicators(struct demo *d, const struct taxii_coll *c)
{
	json_t *objs = json_array(), *rels = json_array();
	d->indicators = json_array();
	static const enum stix_tlp mix[] = {STIX_TLP_GREEN, STIX_TLP_GREEN, STIX_TLP_AMBER,
	                                    STIX_TLP_CLEAR, STIX_TLP_GREEN, STIX_TLP_AMBER,
	                                    STIX_TLP_GREEN, STIX_TLP_AMBER_STRICT, STIX_TLP_CLEAR,
	                                    STIX_TLP_AMBER};
	for (int i = 0; i < 180; i++) {
		char pattern[200], name[160];
		const char *w = words[rnd(d) % CIIP_ARRAY_LEN(words)];
		switch (i % 4) {
		case 0:
			snprintf(pattern, sizeof(pattern), "[ipv4-addr:value = '%s.%u']",
			         i % 8 == 0 ? "192.0.2" : i % 8 == 4 ? "198.51.100" : "203.0.113",
			         rnd(d) % 254 + 1);
			snprintf(name, sizeof(name), "Scanning and exploitation source");
			break;
		case 1:
			snprintf(pattern, sizeof(pattern), "[domain-name:value = '%s-%u.example']", w,
			         rnd(d) % 1000);
			snprintf(name, sizeof(name), "Command-and-control domain");
			break;
		case 2: {
			char hex[65];
			for (int k = 0; k < 64; k++)
				hex[k] = "0123456789abcdef"[rnd(d) % 16];
			hex[64] = '\0';
			snprintf(pattern, sizeof(pattern), "[file:hashes.'SHA-256' = '%s']", hex);
			snprintf(name, sizeof(name), "Malicious file: %s",
			         malware_names[rnd(d) % CIIP_ARRAY_LEN(malware_names)]);
			break;
		}
		default:
			snprintf(pattern, sizeof(pattern), "[url:value = 'http://%s.%s.example/%u/login.php']",
			         w, words[rnd(d) % CIIP_ARRAY_LEN(words)], rnd(d) % 100);
			snprintf(name, sizeof(name), "Phishing landing page");
			break;
		}
		json_t *o = sdo(d, "indicator", 60 - i / 3, mix[i % CIIP_ARRAY_LEN(mix)], d->id_root);
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "indicator_types", json_pack("[s]", "malicious-activity"));
		json_object_set_new(o, "pattern", json_string(pattern));
		json_object_set_new(o, "pattern_type", json_string("stix"));
		json_object_set(o, "valid_from", json_object_get(o, "created"));
		json_object_set_new(o, "confidence", json_integer(50 + (int)(rnd(d) % 50)));
		json_array_append(d->indicators, json_object_get(o, "id"));
		if (i % 3 == 0) {
			char rid[STIX_ID_MAX];
			stix_id_new("relationship", rid, sizeof(rid));
			json_t *r = json_pack(
				"{s:s,s:s,s:s,s:O,s:O,s:s,s:O,s:s,s:[s]}", "type", "relationship", "spec_version",
				"2.1", "id", rid, "created", json_object_get(o, "created"), "modified",
				json_object_get(o, "created"), "relationship_type", "indicates", "source_ref",
				json_object_get(o, "id"), "target_ref",
				json_string_value(json_array_get(
					d->malware, (size_t)(i / 3) % json_array_size(d->malware))),
				"object_marking_refs",
				tlp_ref(mix[i % CIIP_ARRAY_LEN(mix)] == STIX_TLP_CLEAR
			                ? STIX_TLP_GREEN
			                : mix[i % CIIP_ARRAY_LEN(mix)]));
			json_array_append_new(rels, r);
		}
		json_array_append_new(objs, o);
	}
	/* A few indicators shared by members, not by the ISAC. */
	json_t *member = json_array();
	for (int i = 0; i < 12; i++) {
		char pattern[120];
		snprintf(pattern, sizeof(pattern), "[ipv4-addr:value = '198.51.100.%d']", 200 + i);
		json_t *o = sdo(d, "indicator", 10 - i / 2, i % 3 ? STIX_TLP_AMBER : STIX_TLP_GREEN,
		                i < 6 ? d->id_power : d->id_netone);
		json_object_set_new(o, "name", json_string("Brute force against remote access"));
		json_object_set_new(o, "indicator_types", json_pack("[s]", "malicious-activity"));
		json_object_set_new(o, "pattern", json_string(pattern));
		json_object_set_new(o, "pattern_type", json_string("stix"));
		json_object_set(o, "valid_from", json_object_get(o, "created"));
		json_array_append_new(member, o);
	}
	json_t *power = json_array(), *netone = json_array();
	for (size_t i = 0; i < json_array_size(member); i++)
		json_array_append(i < 6 ? power : netone, json_array_get(member, i));
	json_decref(member);
	if (add(d, c, objs, d->org_root) != 0 || add(d, c, rels, d->org_root) != 0) {
		json_decref(power);
		json_decref(netone);
		return -1;
	}
	if (add(d, c, power, d->org_power) != 0) {
		json_decref(netone);
		return -1;
	}
	return add(d, c, netone, d->org_netone);
}

static int
seed_reports(struct demo *d, const struct taxii_coll *c)
{
	static const enum stix_intel_type types[] = {STIX_INTEL_EWA, STIX_INTEL_ANA, STIX_INTEL_INT,
	                                             STIX_INTEL_DEF, STIX_INTEL_FBI};
	static const char *const titles[] = {
		"Early warning: scanning of substation gateways",
		"Analysis: credential theft campaign against utilities",
		"Intrusion at a regional operator: indicators",
		"Web defacement of municipal water portals",
		"Feedback: effectiveness of last month's block list",
	};
	json_t *objs = json_array();
	for (int i = 0; i < 24; i++) {
		enum stix_tlp tlp = i % 4 == 3 ? STIX_TLP_AMBER : i % 2 ? STIX_TLP_GREEN : STIX_TLP_CLEAR;
		json_t *o = sdo(d, "report", 30 - i, tlp, d->id_root);
		json_object_set_new(o, "name", json_sprintf("%s (%02d)", titles[i % 5], i + 1));
		json_object_set_new(o, "report_types", json_pack("[s]", "threat-report"));
		json_object_set(o, "published", json_object_get(o, "created"));
		json_t *refs = json_array();
		for (int k = 0; k < 3; k++)
			json_array_append(refs, json_array_get(d->indicators, (size_t)(i * 7 + k) % 180));
		json_array_append(refs, json_array_get(d->malware, (size_t)i % json_array_size(d->malware)));
		json_object_set_new(o, "object_refs", refs);
		if (stix_intel_type_set(o, types[i % 5]) != 0) {
			json_decref(o);
			json_decref(objs);
			err_set(d->e, "cannot set the intel type");
			return -1;
		}
		json_array_append_new(objs, o);
	}
	return add(d, c, objs, d->org_root);
}

static int
seed_sightings(struct demo *d, const struct taxii_coll *c)
{
	const char *where[] = {d->id_power, d->id_water, d->id_oil, d->id_netone};
	int64_t owners[] = {d->org_power, d->org_water, d->org_oil, d->org_netone};
	for (int w = 0; w < 4; w++) {
		json_t *objs = json_array();
		for (int i = 0; i < 15; i++) {
			json_t *o = sdo(d, "sighting", 20 - i, i % 5 == 0 ? STIX_TLP_GREEN : STIX_TLP_NONE,
			                where[w]);
			json_object_set(o, "sighting_of_ref",
			                json_array_get(d->indicators, (size_t)(w * 31 + i * 11) % 180));
			if (stix_id_valid(where[w], "identity"))
				json_object_set_new(o, "where_sighted_refs", json_pack("[s]", where[w]));
			json_object_set_new(o, "count", json_integer(1 + (int)(rnd(d) % 40)));
			json_object_set(o, "first_seen", json_object_get(o, "created"));
			json_object_set(o, "last_seen", json_object_get(o, "created"));
			json_array_append_new(objs, o);
		}
		if (add(d, c, objs, owners[w]) != 0)
			return -1;
	}
	return 0;
}

static int
seed_incidents(struct demo *d, const struct taxii_coll *c)
{
	static const char *const names[] = {
		"Ransomware on billing servers", "Defacement of the customer portal",
		"Unauthorised VPN logins",       "Malware on an engineering workstation",
		"DDoS against the DNS resolvers"};
	const char *who[] = {d->id_power, d->id_water, d->id_oil, d->id_netone};
	int64_t owners[] = {d->org_power, d->org_water, d->org_oil, d->org_netone};
	for (int w = 0; w < 4; w++) {
		json_t *objs = json_array();
		for (int i = 0; i < 4; i++) {
			enum stix_tlp tlp = i == 3 ? STIX_TLP_RED : i == 2 ? STIX_TLP_AMBER
			                                                   : STIX_TLP_AMBER_STRICT;
			json_t *o = sdo(d, "incident", 25 - w * 4 - i, tlp, who[w]);
			json_object_set_new(o, "name", json_string(names[(w + i) % 5]));
			json_object_set_new(o, "description",
			                    json_string("Reported by the operator; under review by the ISAC."));
			if (stix_intel_type_set(o, (w + i) % 5 == 1 ? STIX_INTEL_DEF : STIX_INTEL_INT) != 0) {
				json_decref(o);
				json_decref(objs);
				err_set(d->e, "cannot set the intel type");
				return -1;
			}
			json_array_append_new(objs, o);
		}
		if (add(d, c, objs, owners[w]) != 0)
			return -1;
	}
	return 0;
}

static int
make_collection(struct demo *d, const char *json, struct taxii_coll *c)
{
	json_t *in = json_loads(json, 0, NULL);
	int rc = in ? taxii_coll_create(d->t, &d->local, in, c, d->e) : -1;
	json_decref(in);
	return rc;
}

int
taxii_demo_seed(struct taxii *t, struct err *e)
{
	struct demo d = {.t = t, .e = e, .rng = 20260105};
	d.now_ms = time_now_ms();
	auth_caller_local(&d.local, t->st);
	find_orgs(&d);
	struct taxii_coll adv, ind, sig, inc;
	int rc = -1;
	if (make_collection(&d,
	                    "{\"title\":\"Advisories\",\"alias\":\"advisories\","
	                    "\"description\":\"Early warnings, analyses and the context they rely "
	                    "on (actors, malware, techniques, vulnerabilities), published by the "
	                    "ISAC.\",\"default_tlp\":\"green\","
	                    "\"can_read\":{\"roles\":[\"*\"],\"orgs\":[\"*\"]},"
	                    "\"can_write\":{\"roles\":[\"admin\",\"analyst\"],\"orgs\":[\"node\"]}}",
	                    &adv) != 0 ||
	    make_collection(&d,
	                    "{\"title\":\"Indicators\",\"alias\":\"indicators\","
	                    "\"description\":\"Indicators of compromise shared by the ISAC and its "
	                    "members.\",\"default_tlp\":\"amber\","
	                    "\"can_read\":{\"roles\":[\"*\"],\"orgs\":[\"*\"]},"
	                    "\"can_write\":{\"roles\":[\"admin\",\"analyst\",\"reporter\",\"peer\"],"
	                    "\"orgs\":[\"*\"]}}",
	                    &ind) != 0 ||
	    make_collection(&d,
	                    "{\"title\":\"Sightings\",\"alias\":\"sightings\","
	                    "\"description\":\"What members saw of the shared indicators.\","
	                    "\"default_tlp\":\"amber\","
	                    "\"can_read\":{\"roles\":[\"*\"],\"orgs\":[\"*\"]},"
	                    "\"can_write\":{\"roles\":[\"admin\",\"analyst\",\"reporter\",\"peer\"],"
	                    "\"orgs\":[\"*\"]}}",
	                    &sig) != 0 ||
	    make_collection(&d,
	                    "{\"title\":\"Incidents\",\"alias\":\"incidents\","
	                    "\"description\":\"Incidents members shared with the ISAC, mostly "
	                    "TLP:AMBER+STRICT.\",\"default_tlp\":\"amber+strict\","
	                    "\"can_read\":{\"roles\":[\"*\"],\"orgs\":[\"community\"]},"
	                    "\"can_write\":{\"roles\":[\"admin\",\"analyst\",\"reporter\",\"peer\"],"
	                    "\"orgs\":[\"*\"]}}",
	                    &inc) != 0)
		goto out;
	if (seed_advisories(&d, &adv) != 0 || seed_indicators(&d, &ind) != 0 ||
	    seed_reports(&d, &adv) != 0 || seed_sightings(&d, &sig) != 0 ||
	    seed_incidents(&d, &inc) != 0)
		goto out;
	rc = 0;
out:
	json_decref(d.malware);
	json_decref(d.indicators);
	json_decref(d.actors);
	json_decref(d.patterns);
	return rc;
}
