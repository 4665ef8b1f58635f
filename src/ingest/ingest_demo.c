/*
 * ingest_demo.c - demo sensors: one of each kind at realistic members (an
 * ISP's Suricata, a power company's Cowrie honeypot, a water utility's DNS
 * resolver, the ISAC's spam trap and a firewall syslog feed), whose tokens
 * go into demo-credentials.json.
 */
#include "ingest/ingest_sources.h"

#include <stdio.h>

int
ingest_demo_seed(struct ingest *in, json_t *accounts, struct err *e)
{
	static const struct {
		const char *name, *kind, *org;
	} sensors[] = {
		{"suricata-netone", "suricata", "NetOne ISP"},
		{"cowrie-northpower", "cowrie", "North Power Company"},
		{"dns-citywater", "dns", "City Water Utility"},
		{"spamtrap-isac", "spamtrap", "Energy ISAC"},
		{"syslog", "syslog", "Harbour Oil Refinery"},
	};
	struct auth_caller local;
	auth_caller_local(&local, in->st);
	struct auth_ctx x = {.st = in->st, .cfg = in->cfg, .caller = &local, .remote = "local"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(sensors); i++) {
		json_t *req = json_pack("{s:s,s:s,s:s}", "name", sensors[i].name, "kind", sensors[i].kind,
		                        "org", sensors[i].org);
		json_t *out = NULL;
		int st = ingest_svc_sensor_create(in, &x, req, &out);
		json_decref(req);
		if (st != 201) {
			const char *msg =
				json_string_value(json_object_get(json_object_get(out, "error"), "message"));
			err_set(e, "sensor %s: %s", sensors[i].name, msg ? msg : "cannot create");
			json_decref(out);
			return -1;
		}
		json_array_append_new(accounts,
		                      json_pack("{s:s,s:s,s:s,s:O}", "sensor", sensors[i].name, "kind",
		                                sensors[i].kind, "org", sensors[i].org, "token",
		                                json_object_get(out, "token")));
		json_decref(out);
	}
	return 0;
}
