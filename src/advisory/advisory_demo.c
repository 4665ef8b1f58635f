/*
 * advisory_demo.c - demo content: published advisories with members'
 * replies (one with its reply deadline passed, one corrected), a draft, a
 * rejected one and a withdrawn one. Histories are back-dated with the fake
 * clock, as in cert_demo.c, and the clock is restored at the end.
 *
 * The author and the reviewer are two different offline identities
 * ("local:demo-analyst", "local:demo-reviewer"): the rule that nobody
 * reviews their own advisory holds in the demo too.
 */
#include "advisory/advisory_int.h"

#include <stdio.h>
#include <string.h>

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
hours_ago(int64_t now, double h)
{
	time_set_fake_ms(now - (int64_t)(h * 3600000.0));
}

struct demo_ctx {
	struct auth_ctx author, reviewer;
	int64_t now;
	struct err *e;
};

/* Creates, submits and (unless publish is false) publishes; returns the id
 * or 0. */
static int64_t
make(struct demo_ctx *d, json_t *in, double at_h, double due_h, bool submit, bool publish)
{
	char due[32];
	time_format_rfc3339(d->now + (int64_t)(due_h * 3600000.0), due, sizeof(due));
	json_object_set_new(in, "reply_due", json_string(due));
	hours_ago(d->now, at_h);
	json_t *out = NULL;
	int rc = check(advisory_svc_create(&d->author, in, &out), out, "demo advisory", d->e);
	char id[32];
	int64_t n = json_integer_value(json_object_get(out, "id"));
	snprintf(id, sizeof(id), "%lld", (long long)n);
	json_decref(out);
	json_decref(in);
	if (rc == 0 && submit) {
		hours_ago(d->now, at_h - 0.2);
		rc = check(advisory_svc_move(&d->author, id, "submit", NULL, &out), out, "submit", d->e);
		json_decref(out);
	}
	if (rc == 0 && publish) {
		hours_ago(d->now, at_h - 0.5);
		rc = check(advisory_svc_move(&d->reviewer, id, "publish", NULL, &out), out, "publish",
		           d->e);
		json_decref(out);
	}
	return rc == 0 ? n : 0;
}

static int
reply(struct demo_ctx *d, int64_t adv, double at_h, const char *org, const char *status,
      bool mitigated, const char *measures)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)adv);
	hours_ago(d->now, at_h);
	json_t *in = json_pack("{s:s,s:s,s:b,s:s}", "org", org, "status", status, "mitigated",
	                       mitigated, "measures", measures);
	json_t *out = NULL;
	int rc = check(advisory_svc_reply(&d->author, id, in, &out), out, "demo reply", d->e);
	json_decref(in);
	json_decref(out);
	return rc;
}

int
advisory_demo_seed(struct store *st, const struct config *cfg, struct err *e)
{
	struct auth_caller a, r;
	auth_caller_local(&a, st);
	r = a;
	snprintf(a.name, sizeof(a.name), "demo-analyst");
	snprintf(r.name, sizeof(r.name), "demo-reviewer");
	struct demo_ctx d = {
		.author = {.st = st, .cfg = cfg, .caller = &a, .remote = "local"},
		.reviewer = {.st = st, .cfg = cfg, .caller = &r, .remote = "local"},
		.now = time_now_ms(),
		.e = e,
	};
	int rc = -1;
	int64_t vpn = make(
		&d,
		json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:b},s:[s],s:[s],s:s,s:[{s:s,s:s},{s:s,s:s}]}",
	              "title", "Actively exploited VPN appliance vulnerability", "summary",
	              "A command injection in GlobalProtect gateways is exploited against "
	              "operators.",
	              "body",
	              "## What\nUnauthenticated command injection (CVE-2024-3400).\n\n## Do\n"
	              "Patch, then hunt for the indicators below.",
	              "severity", "critical", "intel_type", "EWA", "tlp", "amber", "targets",
	              "all_members", 1, "products", "PAN-OS GlobalProtect 10.2, 11.0, 11.1", "cves",
	              "CVE-2024-3400", "measures", "Apply the vendor hotfix; reset device credentials.",
	              "indicators", "type", "ipv4-addr", "value", "203.0.113.66", "type",
	              "domain-name", "value", "update.example-cdn.net"),
		30, 24, true, true);
	if (vpn && reply(&d, vpn, 28, "North Power Company", "affected", true,
	                 "Hotfix applied on all gateways; no compromise found.") == 0 &&
	    reply(&d, vpn, 27, "City Water Utility", "not_affected", false,
	          "No GlobalProtect in use.") == 0 &&
	    reply(&d, vpn, 20, "Harbour Oil Refinery", "received", false, "") == 0)
		rc = 0;
	int64_t phish = 0;
	if (rc == 0) {
		rc = -1;
		phish = make(&d,
		             json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:[s,s]},s:s,s:[{s:s,s:s}]}", "title",
		                       "Phishing campaign impersonating the regulator", "summary",
		                       "E-mails claiming to come from the energy regulator carry a "
		                       "credential-harvesting link.",
		                       "body", "Block the sender domain and the URL; warn staff.",
		                       "severity", "high", "intel_type", "ANA", "tlp", "green", "targets",
		                       "sectors", "energy", "water", "measures",
		                       "Block at the mail gateway; report further samples.",
		                       "indicators", "type", "url", "value",
		                       "https://regulator-notice.example.net/login"),
		             72, -24, true, true);
		if (phish && reply(&d, phish, 70, "North Power Company", "affected", true,
		                   "Blocked at the gateway; 3 users reset.") == 0)
			rc = 0;
	}
	if (rc == 0) {
		/* A correction: version 2 of the phishing advisory. */
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)phish);
		hours_ago(d.now, 60);
		json_t *in = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s}]}", "note",
		                       "Added the second landing URL seen since publication.",
		                       "indicators", "type", "url", "value",
		                       "https://regulator-notice.example.net/login", "type", "url",
		                       "value", "https://regulator-portal.example.org/verify");
		json_t *out = NULL;
		rc = check(advisory_svc_correct(&d.author, id, in, &out), out, "correct", e);
		json_decref(in);
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(out, "id")));
		json_decref(out);
		if (rc == 0) {
			rc = check(advisory_svc_move(&d.author, id, "submit", NULL, &out), out, "submit", e);
			json_decref(out);
		}
		if (rc == 0) {
			hours_ago(d.now, 59);
			rc = check(advisory_svc_move(&d.reviewer, id, "publish", NULL, &out), out,
			           "publish", e);
			json_decref(out);
		}
	}
	if (rc == 0) {
		int64_t draft = make(&d,
		                     json_pack("{s:s,s:s,s:s}", "title",
		                               "Open DNS resolvers usable for amplification", "summary",
		                               "Several members run resolvers open to the Internet.",
		                               "severity", "medium"),
		                     2, 48, false, false);
		rc = draft ? 0 : -1;
	}
	if (rc == 0) {
		int64_t rej = make(
			&d,
			json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:[s]}}", "title",
		              "Rumoured malware in grid protection relays", "summary",
		              "Unconfirmed reports of implants in protection relays.", "body",
		              "Details to follow.", "severity", "high", "intel_type", "INT", "tlp", "amber",
		              "targets", "sectors", "energy"),
			6, 48, true, false);
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)rej);
		hours_ago(d.now, 5);
		json_t *in = json_pack("{s:s}", "reason",
		                       "Not corroborated by a second source; resubmit with the vendor's "
		                       "confirmation.");
		json_t *out = NULL;
		rc = rej ? check(advisory_svc_move(&d.reviewer, id, "reject", in, &out), out, "reject", e)
		         : -1;
		json_decref(in);
		json_decref(out);
	}
	if (rc == 0) {
		int64_t wd = make(
			&d,
			json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:[s]}}", "title",
		              "Suspicious firmware update server", "summary",
		              "A firmware mirror served modified images.", "body",
		              "Verify signatures of firmware obtained this week.", "severity", "medium",
		              "intel_type", "DEF", "tlp", "green", "targets", "sectors", "oil"),
			12, 24, true, true);
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)wd);
		hours_ago(d.now, 10);
		json_t *in = json_pack("{s:s}", "reason",
		                       "The vendor confirmed the images were genuine; false alarm.");
		json_t *out = NULL;
		rc = wd ? check(advisory_svc_move(&d.reviewer, id, "withdraw", in, &out), out,
		                "withdraw", e)
		        : -1;
		json_decref(in);
		json_decref(out);
	}
	time_set_fake_ms(0);
	return rc;
}
