/*
 * cert_alert.c - an escalated SOC alert becomes a draft incident report for
 * the organisation that owns the attacked address, with the alert's
 * evidence attached; its attacking address is routed at once (to the ISP
 * that owns it, or to the national outbox), because the node itself saw
 * the attack and need not wait for the member's report to be reviewed.
 */
#include "cert/cert_int.h"

#include <stdio.h>
#include <string.h>

static const char *
addr_type(const char *ip)
{
	return strchr(ip, ':') ? "ipv6-addr" : "ipv4-addr";
}

int
cert_svc_incident_from_alert(struct auth_ctx *x, const json_t *in, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ALERT_WRITE, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	if (!json_is_object(in)) {
		*out = auth_error("bad_request", "expected the alert as a JSON object");
		return 400;
	}
	const char *alert_id = json_string_value(json_object_get(in, "alert_id"));
	const char *title = json_string_value(json_object_get(in, "title"));
	const char *src = json_string_value(json_object_get(json_object_get(in, "source"), "ip"));
	const char *dst =
		json_string_value(json_object_get(json_object_get(in, "destination"), "ip"));
	json_t *evidence = json_object_get(in, "evidence");
	if (alert_id == NULL || strlen(alert_id) > 128 || title == NULL || strlen(title) > 1024) {
		*out = auth_error("bad_request", "alert_id (at most 128) and title (at most 1024) are "
		                                 "required");
		return 400;
	}
	if (evidence && (!json_is_array(evidence) || json_array_size(evidence) > CERT_MAX_LIST)) {
		*out = auth_error("bad_request", "evidence must be a list of at most %d items",
		                  CERT_MAX_LIST);
		return 400;
	}
	int64_t org = 0;
	json_t *o = json_object_get(in, "org_id");
	if (json_is_integer(o))
		org = json_integer_value(o);
	else if (dst) {
		struct store_conn *c = store_reader_get(x->st);
		org = auth_org_owning_ip(c, dst);
		store_reader_put(x->st, c);
	}
	if (org <= 0) {
		*out = auth_error("unprocessable", "no member owns the alert's destination address; "
		                                   "give org_id");
		return 422;
	}
	char known[32];
	json_t *det = json_object_get(in, "detected_at");
	int64_t ms = 0;
	if (det && (!json_is_string(det) || time_parse_rfc3339(json_string_value(det), &ms) != 0)) {
		*out = auth_error("bad_request", "detected_at must be an RFC 3339 time");
		return 400;
	}
	time_format_rfc3339(ms ? ms : time_now_ms(), known, sizeof(known));
	json_t *inds = json_array();
	char msg[200];
	if (src) {
		json_t *i = json_pack("{s:s,s:s,s:s}", "type", addr_type(src), "value", src, "role",
		                      "attacker");
		if (cert_indicator_check(i, msg, sizeof(msg)) != 0) {
			json_decref(i);
			json_decref(inds);
			*out = auth_error("bad_request", "source.ip: %s", msg);
			return 400;
		}
		json_array_append_new(inds, i);
	}
	if (dst) {
		json_t *i =
			json_pack("{s:s,s:s,s:s}", "type", addr_type(dst), "value", dst, "role", "victim");
		if (cert_indicator_check(i, msg, sizeof(msg)) != 0) {
			json_decref(i);
			json_decref(inds);
			*out = auth_error("bad_request", "destination.ip: %s", msg);
			return 400;
		}
		json_array_append_new(inds, i);
	}
	/* The title fits the report's limit, cut at a character boundary. */
	char full_title[CERT_MAX_TITLE + 1];
	snprintf(full_title, sizeof(full_title), "%s%s",
	         strncmp(title, "Escalated alert", 15) == 0 ? "" : "Escalated alert: ", title);
	size_t n = strlen(full_title);
	if (n == CERT_MAX_TITLE) {
		size_t i = n;
		while (i > 0 && ((unsigned char)full_title[i - 1] & 0xc0) == 0x80)
			i--;
		unsigned char lead = i > 0 ? (unsigned char)full_title[i - 1] : 0;
		size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
		if (i > 0 && n - (i - 1) < need)
			full_title[i - 1] = '\0';
	}
	json_t *lv = json_object_get(in, "level");
	json_t *report = json_pack("{s:I,s:s,s:o,s:s,s:s,s:o}", "org", (json_int_t)org, "title",
	                           full_title, "level", lv ? json_incref(lv) : json_integer(1),
	                           "known_at", known, "occurred_at", known, "indicators", inds);
	/* The classification, as {"classification": {...}} or top-level
	 * "class" and "type"; a pair outside the taxonomy is left for the
	 * member to fill in rather than refusing the escalation. */
	json_t *cl = json_object_get(in, "classification");
	const char *cls = json_string_value(cl ? json_object_get(cl, "class")
	                                       : json_object_get(in, "class"));
	const char *type = json_string_value(cl ? json_object_get(cl, "type")
	                                        : json_object_get(in, "type"));
	if (cert_taxonomy_valid(cls, type))
		json_object_set_new(report, "classification",
		                    json_pack("{s:s,s:s}", "class", cls, "type", type));
	json_t *desc = json_object_get(in, "description");
	if (json_is_string(desc))
		json_object_set(report, "description", desc);
	json_t *extra = json_pack("{s:s,s:o}", "alert_id", alert_id, "evidence",
	                          evidence ? json_incref(evidence) : json_array());
	int st = cert_incident_create_job(x, report, "alert", extra, true, out);
	json_decref(report);
	json_decref(extra);
	return st;
}
