/*
 * auth_demo.c - demo content for accounts: a sector ISAC at the top with
 * power, water and oil operators and three ISPs below it, each owning
 * documentation-range prefixes; one person per role with a random password
 * and TOTP secret; a sensor token and a peer token.
 */
#include "auth/auth.h"
#include "auth/auth_int.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name, *sector, *kind, *prefixes[3];
} demo_orgs[] = {
	{"Energy ISAC", "energy", "sector", {"192.0.2.0/26", NULL, NULL}},
	{"North Power Company", "energy", "operator", {"198.51.100.0/26", "2001:db8:10::/48", NULL}},
	{"City Water Utility", "water", "operator", {"198.51.100.64/26", NULL, NULL}},
	{"Harbour Oil Refinery", "oil", "operator", {"198.51.100.128/26", NULL, NULL}},
	{"NetOne ISP", "telecom", "isp", {"203.0.113.0/25", "2001:db8:100::/40", NULL}},
	{"BlueWave ISP", "telecom", "isp", {"203.0.113.128/25", "2001:db8:200::/40", NULL}},
	{"SkyLink ISP", "telecom", "isp", {"192.0.2.128/25", "100.64.0.0/16", NULL}},
};

static const struct {
	const char *username, *display, *role, *org;
} demo_users[] = {
	{"admin", "Ada Admin", "admin", "Energy ISAC"},
	{"analyst", "Ana Analyst", "analyst", "Energy ISAC"},
	{"reviewer", "Rita Reviewer", "reviewer", "Energy ISAC"},
	{"reporter", "Rob Reporter", "reporter", "North Power Company"},
	{"viewer", "Vic Viewer", "viewer", "City Water Utility"},
	{"isp-reporter", "Iris ISP", "reporter", "NetOne ISP"},
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

int
auth_demo_seed(struct store *st, const struct config *cfg, json_t *accounts, struct err *e)
{
	struct auth_caller local;
	auth_caller_local(&local, st);
	struct auth_ctx x = {.st = st, .cfg = cfg, .caller = &local, .remote = "local"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(demo_orgs); i++) {
		json_t *p = json_array();
		for (int j = 0; j < 3 && demo_orgs[i].prefixes[j]; j++)
			json_array_append_new(p, json_string(demo_orgs[i].prefixes[j]));
		json_t *in = json_pack("{s:s,s:s,s:s,s:o}", "name", demo_orgs[i].name, "sector",
		                       demo_orgs[i].sector, "kind", demo_orgs[i].kind, "prefixes", p);
		json_t *out = NULL;
		int rc = check(auth_svc_org_create(&x, in, &out), out, demo_orgs[i].name, e);
		json_decref(in);
		json_decref(out);
		if (rc)
			return -1;
		if (i == 0)
			auth_caller_local(&local, st); /* now the root exists */
	}
	for (size_t i = 0; i < CIIP_ARRAY_LEN(demo_users); i++) {
		char pw[40];
		auth_random_hex(12, pw);
		memcpy(pw, "demo-", 5); /* readable, still 19 random hex digits */
		json_t *in = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "username", demo_users[i].username,
		                       "display_name", demo_users[i].display, "role", demo_users[i].role,
		                       "org", demo_users[i].org, "password", pw, "totp", 1);
		json_t *out = NULL;
		int rc = check(auth_svc_user_create(&x, in, &out), out, demo_users[i].username, e);
		json_decref(in);
		if (rc) {
			json_decref(out);
			return -1;
		}
		json_t *sf = json_object_get(out, "second_factor");
		json_t *u = json_object_get(out, "user");
		/* A token per person, so scripts and tests can act as each role. */
		json_t *tin = json_pack("{s:s,s:s,s:s}", "name", demo_users[i].username, "role",
		                        demo_users[i].role, "org", demo_users[i].org);
		json_t *tout = NULL;
		rc = check(auth_svc_token_create(&x, tin, &tout), tout, "token", e);
		json_decref(tin);
		if (rc == 0)
			json_array_append_new(
				accounts,
				json_pack("{s:s,s:s,s:s,s:O,s:s,s:O,s:O,s:O}", "username", demo_users[i].username,
			              "password", pw, "role", demo_users[i].role, "org_id",
			              json_object_get(u, "org_id"), "org", demo_users[i].org, "totp_secret",
			              json_object_get(sf, "totp_secret"), "recovery_codes",
			              json_object_get(sf, "recovery_codes"), "token",
			              json_object_get(tout, "token")));
		json_decref(tout);
		json_decref(out);
		if (rc)
			return -1;
	}
	static const struct {
		const char *name, *role, *org;
	} machines[] = {
		{"demo-suricata", "sensor", "NetOne ISP"},
		{"demo-honeypot", "sensor", "North Power Company"},
		{"national-node", "peer", "Energy ISAC"},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(machines); i++) {
		json_t *in = json_pack("{s:s,s:s,s:s}", "name", machines[i].name, "role", machines[i].role,
		                       "org", machines[i].org);
		json_t *out = NULL;
		int rc = check(auth_svc_token_create(&x, in, &out), out, machines[i].name, e);
		json_decref(in);
		if (rc == 0)
			json_array_append_new(accounts,
			                      json_pack("{s:s,s:s,s:s,s:O,s:O}", "token_name", machines[i].name,
			                                "role", machines[i].role, "org", machines[i].org,
			                                "org_id", json_object_get(out, "org_id"), "token",
			                                json_object_get(out, "token")));
		json_decref(out);
		if (rc)
			return -1;
	}
	return 0;
}
