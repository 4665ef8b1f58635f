/*
 * cert_demo.c - demo content: a dozen incident reports from the demo
 * members, in every state and level, with histories spread over the last
 * two days so that some deadlines are met, some pending and some overdue.
 *
 * The histories are made by the real services with the clock set back to
 * each step's time (time_set_fake_ms), so timelines, audit rows, routing
 * and due times are exactly what real use would have produced; the clock
 * is restored before the node starts serving.
 */
#include "cert/cert_int.h"

#include <stdio.h>
#include <string.h>

struct demo_step {
	double at_h; /* hours before now; 0 ends the list */
	const char *move;
	const char *reason;
	int level;
};

static const struct {
	const char *org, *title, *cls, *type, *attackers[3];
	int level;
	double known_h; /* hours before now */
	struct demo_step steps[10];
} demo[] = {
	{"North Power Company", "Substation HMI compromised through exposed VNC", "intrusions",
	 "system-compromise", {"203.0.113.45", "45.33.32.156", NULL}, 3, 47,
	 {{46.5, "submit", NULL, 0}, {46, "review", NULL, 0}, {45.5, "accept", NULL, 0},
	  {45, "forward", NULL, 0}, {30, "contain", NULL, 0}, {20, "recover", NULL, 0},
	  {5, "report", NULL, 0}, {4, "close", NULL, 0}, {0, NULL, NULL, 0}}},
	{"North Power Company", "Ransomware on an engineering workstation", "malicious-code",
	 "infected-system", {"45.33.32.156", NULL, NULL}, 2, 40,
	 {{39.8, "submit", NULL, 0}, {36, "review", NULL, 0}, {35, "accept", NULL, 0},
	  {34.5, "forward", NULL, 0}, {20, "recover", NULL, 0}, {0, NULL, NULL, 0}}},
	{"City Water Utility", "DDoS against the customer portal", "availability", "ddos",
	 {"203.0.113.200", "2001:db8:200::66", NULL}, 4, 10,
	 {{9.7, "submit", NULL, 0}, {9, "review", NULL, 0}, {8.5, "accept", NULL, 0},
	  {8, "forward", NULL, 0}, {6, "contain", NULL, 0}, {0, NULL, NULL, 0}}},
	{"City Water Utility", "Port scans of the SCADA DMZ", "information-gathering", "scanner",
	 {"192.0.2.200", NULL, NULL}, 1, 12,
	 {{11.8, "submit", NULL, 0}, {8, "review", NULL, 0}, {6, "accept", NULL, 0},
	  {0, NULL, NULL, 0}}},
	{"Harbour Oil Refinery", "Credential phishing aimed at control-room staff", "fraud",
	 "phishing", {"185.220.101.4", NULL, NULL}, 3, 4,
	 {{3.5, "submit", NULL, 0}, {3, "review", NULL, 0}, {0, NULL, NULL, 0}}},
	{"Harbour Oil Refinery", "Unusual logins to the tank-farm historian", "intrusion-attempts",
	 "brute-force", {"203.0.113.77", NULL, NULL}, 1, 1.5,
	 {{1, "submit", NULL, 0}, {0, NULL, NULL, 0}}},
	{"North Power Company", "Website defacement of the outage map", "intrusions",
	 "application-compromise", {NULL, NULL, NULL}, 2, 20,
	 {{19.5, "submit", NULL, 0}, {18, "review", NULL, 0},
	  {17.5, "return", "Please list the affected systems and the web server's address", 0},
	  {0, NULL, NULL, 0}}},
	{"NetOne ISP", "Spam relayed through a customer's mail server", "abusive-content", "spam",
	 {"203.0.113.9", NULL, NULL}, 1, 0.5, {{0, NULL, NULL, 0}}},
	{"City Water Utility", "Data exfiltration from the billing database",
	 "information-content-security", "data-leak", {"91.219.236.18", NULL, NULL}, 2, 26,
	 {{25.8, "submit", NULL, 0}, {25, "review", NULL, 0},
	  {24.5, "relevel", "Customer personal data of 40,000 households involved", 3},
	  {24, "accept", NULL, 0}, {23.5, "forward", NULL, 0}, {0, NULL, NULL, 0}}},
	{"North Power Company", "SSH brute force against a jump host", "intrusion-attempts",
	 "brute-force", {"203.0.113.101", NULL, NULL}, 1, 44,
	 {{43.6, "submit", NULL, 0}, {40, "review", NULL, 0}, {39, "accept", NULL, 0},
	  {38.5, "forward", NULL, 0}, {38, "contain", NULL, 0}, {37, "recover", NULL, 0},
	  {30, "close", NULL, 0}, {0, NULL, NULL, 0}}},
	{"Harbour Oil Refinery", "Exploited VPN appliance (CVE-2024-3400)", "intrusions",
	 "privileged-account-compromise", {"2001:db8:100::bad", NULL, NULL}, 4, 6,
	 {{5.6, "submit", NULL, 0}, {5.2, "review", NULL, 0}, {5, "accept", NULL, 0},
	  {4.5, "forward", NULL, 0}, {0, NULL, NULL, 0}}},
};

static int
check(int status, json_t *out, const char *what, struct err *e)
{
	if (status >= 200 && status < 300)
		return 0;
	const char *msg = json_string_value(json_object_get(json_object_get(out, "error"), "message"));
	err_set(e, "%s: %s", what, msg ? msg : "failed");
	return -1;
}

static void
at_hours_ago(int64_t now, double h)
{
	time_set_fake_ms(now - (int64_t)(h * 3600000.0));
}

static int
seed_one(struct auth_ctx *x, int64_t now, size_t i, struct err *e)
{
	char known[32];
	time_format_rfc3339(now - (int64_t)(demo[i].known_h * 3600000.0), known, sizeof(known));
	json_t *inds = json_array();
	for (int k = 0; k < 3 && demo[i].attackers[k]; k++)
		json_array_append_new(inds,
		                      json_pack("{s:s,s:s,s:s}", "type",
		                                strchr(demo[i].attackers[k], ':') ? "ipv6-addr"
		                                                                  : "ipv4-addr",
		                                "value", demo[i].attackers[k], "role", "attacker"));
	json_array_append_new(inds, json_pack("{s:s,s:{s:s}}", "type", "file", "hashes", "SHA-256",
	                                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495"
	                                      "991b7852b855"));
	json_t *in = json_pack(
		"{s:s,s:s,s:i,s:{s:s,s:s},s:s,s:s,s:{s:s,s:s,s:s},s:[s,s],s:s,s:{s:i,s:i,s:i},s:s,"
		"s:s,s:o}",
		"org", demo[i].org, "title", demo[i].title, "level", demo[i].level, "classification",
		"class", demo[i].cls, "type", demo[i].type, "known_at", known, "occurred_at", known,
		"contact", "name", "Duty officer", "email", "soc@example.org", "phone", "+886-2-0000-0000",
		"affected_systems", "control network", "corporate network", "description",
		"Demo report: see the title. Indicators are documentation addresses.", "impact",
		"confidentiality", demo[i].level > 2 ? 3 : 1, "integrity", demo[i].level > 1 ? 2 : 0,
		"availability", demo[i].level, "measures",
		"Isolated the affected hosts; reset credentials.", "support_needed",
		demo[i].level > 2 ? "Forensic support requested" : "None", "indicators", inds);
	at_hours_ago(now, demo[i].known_h);
	json_t *out = NULL;
	int rc = check(cert_svc_incident_create(x, in, &out), out, demo[i].title, e);
	json_decref(in);
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(out, "id")));
	json_decref(out);
	for (int s = 0; rc == 0 && s < 10 && demo[i].steps[s].move; s++) {
		const struct demo_step *st = &demo[i].steps[s];
		at_hours_ago(now, st->at_h);
		json_t *body = json_object();
		if (st->reason)
			json_object_set_new(body, "reason", json_string(st->reason));
		if (st->level)
			json_object_set_new(body, "level", json_integer(st->level));
		if (strcmp(st->move, "report") == 0 || strcmp(st->move, "close") == 0)
			json_object_set_new(body, "investigation_report",
			                    json_string("Root cause: exposed remote access. Improvements: "
			                                "VPN with MFA, asset inventory, monthly patching."));
		rc = check(cert_svc_incident_move(x, id, st->move, body, &out), out, st->move, e);
		json_decref(body);
		json_decref(out);
	}
	return rc;
}

int
cert_demo_seed(struct store *st, const struct config *cfg, struct err *e)
{
	struct auth_caller local;
	auth_caller_local(&local, st);
	struct auth_ctx x = {.st = st, .cfg = cfg, .caller = &local, .remote = "local"};
	int64_t now = time_now_ms();
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < CIIP_ARRAY_LEN(demo); i++)
		rc = seed_one(&x, now, i, e);
	if (rc == 0) {
		/* One escalated SOC alert: a draft for the attacked member. */
		at_hours_ago(now, 0.25);
		char det[32];
		time_format_rfc3339(now - 1200000, det, sizeof(det));
		json_t *alert = json_pack(
			"{s:s,s:s,s:s,s:i,s:{s:s,s:s},s:{s:s},s:{s:s},s:[{s:s,s:s},{s:s,s:i}]}", "alert_id",
			"demo-alert-0001", "title", "Cobalt Strike beacon to the refinery's DMZ",
			"detected_at", det, "level", 2, "classification", "class", "malicious-code", "type",
			"c2-server", "source", "ip", "203.0.113.66", "destination", "ip", "198.51.100.140",
			"evidence", "kind", "suricata", "signature", "ET MALWARE Cobalt Strike Beacon",
			"kind", "flow", "packets", 1422);
		json_t *out = NULL;
		rc = check(cert_svc_incident_from_alert(&x, alert, &out), out, "escalated alert", e);
		json_decref(alert);
		json_decref(out);
	}
	time_set_fake_ms(0);
	return rc;
}
