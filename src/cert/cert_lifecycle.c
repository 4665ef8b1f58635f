/*
 * cert_lifecycle.c - the moves of an incident report between states:
 * submission, review, return, acceptance, change of level, forwarding,
 * containment, recovery, the investigation report and closing.
 *
 * Each move is checked three times, in this order: may the caller see the
 * report (else 404), may the caller make this move on this organisation's
 * report (auth_check, else 403), is the move allowed from the report's
 * state (else 409). The state check runs again on the writer thread inside
 * the transaction, so two reviewers racing cannot both accept.
 */
#include "cert/cert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cert_incident_save(struct store_conn *c, struct cert_incident *inc, struct err *e)
{
	char *dtext = json_dumps(inc->data ? inc->data : json_object(), JSON_COMPACT);
	struct store_stmt *s = store_prepare(
		c,
		"UPDATE cert_incidents SET state = ?, level = ?, notified_at = ?, submitted_at = ?,"
		" review_started_at = ?, reviewed_at = ?, accepted_at = ?, review_start = ?,"
		" forward_start = ?, forwarded_at = ?, contain_start = ?, contained_at = ?,"
		" recovered_at = ?, report_at = ?, closed_at = ?, data = ?, updated_at = ?"
		" WHERE id = ?",
		e);
	if (s == NULL) {
		free(dtext);
		return -1;
	}
	inc->updated_at = time_now_ms();
	store_bind_text(s, 1, cert_state_name(inc->state));
	store_bind_int(s, 2, inc->level);
	int64_t t[] = {inc->notified_at,   inc->submitted_at, inc->review_started_at,
	               inc->reviewed_at,   inc->accepted_at,  inc->review_start,
	               inc->forward_start, inc->forwarded_at, inc->contain_start,
	               inc->contained_at,  inc->recovered_at, inc->report_at,
	               inc->closed_at};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(t); i++) {
		if (t[i])
			store_bind_int(s, 3 + (int)i, t[i]);
		else
			store_bind_null(s, 3 + (int)i);
	}
	store_bind_text(s, 16, dtext);
	store_bind_int(s, 17, inc->updated_at);
	store_bind_int(s, 18, inc->id);
	int rc = store_step(s, e);
	store_finalize(s);
	free(dtext);
	return rc == STORE_DONE ? 0 : -1;
}

struct move_job {
	const struct auth_caller *who;
	struct cert_rules rules;
	int64_t id;
	enum cert_move move;
	const char *reason;
	const char *note;
	const char *report;
	int level;
	struct auth_fail f;
	struct err e;
};

static void
notify_org(struct store_conn *c, const struct cert_incident *inc, const char *kind,
           const char *subject, json_t *payload, int *rc, struct err *e)
{
	if (*rc == 0)
		*rc = cert_notify_queue(c, inc->org_id, kind, inc->id, subject, payload, e);
	json_decref(payload);
}

static int
move_write(struct store_conn *c, void *arg)
{
	struct move_job *j = arg;
	struct cert_incident inc;
	int rc = cert_incident_fetch(c, j->id, &inc, &j->e);
	if (rc != 0)
		return rc > 0 ? auth_fail_set(&j->f, 404, "not_found", "no such incident") : -1;
	int next = cert_move_apply(inc.state, j->move);
	if (next < 0) {
		rc = auth_fail_set(&j->f, 409, "invalid_transition", "cannot %s a report that is %s",
		                   cert_move_name(j->move), cert_state_name(inc.state));
		cert_incident_clear(&inc);
		return rc;
	}
	int64_t now = time_now_ms();
	char ref[32], subject[256];
	cert_incident_ref(&inc, ref, sizeof(ref));
	const char *from = cert_state_name(inc.state);
	json_t *detail = json_object();
	if (j->reason)
		json_object_set_new(detail, "reason", json_string(j->reason));
	if (j->note)
		json_object_set_new(detail, "note", json_string(j->note));
	rc = 0;
	/* The new state first: routing and forwarding describe the report as it
	 * will be once the move is done (a failure rolls everything back). */
	inc.state = (enum cert_state)next;
	switch (j->move) {
	case CERT_MOVE_SUBMIT:
	case CERT_MOVE_RESUBMIT: {
		json_t *why = NULL;
		if (cert_incident_check_complete(&inc, &why) != 0) {
			const char *m = json_string_value(
				json_object_get(json_object_get(why, "error"), "message"));
			rc = auth_fail_set(&j->f, 422, "incomplete", "%s", m ? m : "incomplete report");
			json_decref(why);
			break;
		}
		if (inc.notified_at == 0)
			inc.notified_at = now; /* the legal notification time: the first submission */
		inc.submitted_at = now;
		inc.review_start = now;
		json_object_del(inc.data, "return_reason");
		break;
	}
	case CERT_MOVE_REVIEW:
		inc.review_started_at = now;
		break;
	case CERT_MOVE_RETURN:
		inc.reviewed_at = now;
		json_object_set_new(inc.data, "return_reason", json_string(j->reason));
		snprintf(subject, sizeof(subject), "%s returned: %s", ref, j->reason);
		notify_org(c, &inc, "returned", subject,
		           json_pack("{s:s,s:s}", "ref", ref, "reason", j->reason), &rc, &j->e);
		break;
	case CERT_MOVE_ACCEPT:
		inc.reviewed_at = now;
		inc.accepted_at = now;
		inc.forward_start = now;
		rc = cert_route_incident(c, &inc, j->who, &j->e);
		break;
	case CERT_MOVE_RELEVEL: {
		if (j->level == inc.level) {
			rc = auth_fail_set(&j->f, 400, "bad_request", "the report is already level %d",
			                   inc.level);
			break;
		}
		json_object_set_new(detail, "from_level", json_integer(inc.level));
		json_object_set_new(detail, "to_level", json_integer(j->level));
		json_t *changes = json_object_get(inc.data, "level_changes");
		if (!json_is_array(changes)) {
			changes = json_array();
			json_object_set_new(inc.data, "level_changes", changes);
		}
		char by[160];
		cert_actor(j->who, by, sizeof(by));
		json_array_append_new(changes, json_pack("{s:i,s:i,s:s,s:o,s:s}", "from", inc.level,
		                                         "to", j->level, "reason", j->reason, "at",
		                                         auth_time_json(now), "by", by));
		inc.level = j->level;
		/* The clocks that depend on the level and have not been met start
		 * again from now; a report already forwarded must be forwarded
		 * again, so that the node above learns the new level. */
		if (inc.review_start && inc.reviewed_at < inc.review_start)
			inc.review_start = now;
		if (inc.contained_at == 0 && inc.recovered_at == 0)
			inc.contain_start = now;
		if (inc.accepted_at) {
			inc.forward_start = now;
			inc.forwarded_at = 0;
		}
		snprintf(subject, sizeof(subject), "%s is now level %d: %s", ref, j->level, j->reason);
		notify_org(c, &inc, "level_changed", subject,
		           json_pack("{s:s,s:i,s:s}", "ref", ref, "level", j->level, "reason", j->reason),
		           &rc, &j->e);
		break;
	}
	case CERT_MOVE_FORWARD:
		rc = cert_outbox_put(c, &inc, "forward", &j->e);
		inc.forwarded_at = now;
		break;
	case CERT_MOVE_CONTAIN:
		inc.contained_at = now;
		break;
	case CERT_MOVE_RECOVER:
		inc.recovered_at = now;
		break;
	case CERT_MOVE_REPORT:
	case CERT_MOVE_CLOSE:
		if (j->report) {
			char by[160];
			cert_actor(j->who, by, sizeof(by));
			json_object_set_new(inc.data, "investigation_report",
			                    json_pack("{s:s,s:o,s:s}", "text", j->report, "submitted_at",
			                              auth_time_json(now), "by", by));
			inc.report_at = now;
		}
		if (j->move == CERT_MOVE_CLOSE) {
			if (json_object_get(inc.data, "investigation_report") == NULL) {
				rc = auth_fail_set(&j->f, 422, "incomplete",
				                   "closing needs the investigation and improvement report: "
				                   "attach it with the report move or send "
				                   "investigation_report");
				break;
			}
			inc.closed_at = now;
		}
		break;
	case CERT_MOVE_COUNT:
		break;
	}
	if (rc == 0)
		rc = cert_incident_save(c, &inc, &j->e);
	if (rc == 0)
		rc = cert_timeline_add(c, inc.id, j->who, cert_move_name(j->move), from,
		                       cert_state_name(inc.state), detail, &j->e);
	if (rc == 0) {
		char idtxt[32], action[48];
		snprintf(idtxt, sizeof(idtxt), "%lld", (long long)inc.id);
		snprintf(action, sizeof(action), "incident.%s", cert_move_name(j->move));
		json_object_set_new(detail, "from", json_string(from));
		json_object_set_new(detail, "to", json_string(cert_state_name(inc.state)));
		rc = auth_audit_append(c, j->who, action, "incident", idtxt, detail, &j->e);
	}
	if (rc == 0)
		rc = cert_incident_store_due(c, &j->rules, &inc, &j->e);
	json_decref(detail);
	cert_incident_clear(&inc);
	return rc;
}

static int
read_move_input(const json_t *in, struct move_job *j, json_t **out)
{
	if (in && !json_is_object(in) && !json_is_null(in)) {
		*out = auth_error("bad_request", "expected a JSON object");
		return 400;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
	{
		if (strcmp(key, "reason") && strcmp(key, "note") && strcmp(key, "level") &&
		    strcmp(key, "investigation_report")) {
			*out = auth_error("bad_request", "unknown field '%s'", key);
			return 400;
		}
	}
	json_t *r = json_object_get(in, "reason");
	if (r && (!json_is_string(r) || json_string_length(r) > 4096)) {
		*out = auth_error("bad_request", "reason must be a string of at most 4096 bytes");
		return 400;
	}
	j->reason = json_string_length(r) ? json_string_value(r) : NULL;
	json_t *n = json_object_get(in, "note");
	if (n && (!json_is_string(n) || json_string_length(n) > 4096)) {
		*out = auth_error("bad_request", "note must be a string of at most 4096 bytes");
		return 400;
	}
	j->note = json_string_value(n);
	json_t *rep = json_object_get(in, "investigation_report");
	if (rep && (!json_is_string(rep) || json_string_length(rep) == 0 ||
	            json_string_length(rep) > CERT_MAX_TEXT)) {
		*out = auth_error("bad_request", "investigation_report must be text of 1 to %d bytes",
		                  CERT_MAX_TEXT);
		return 400;
	}
	j->report = json_string_value(rep);
	json_t *lv = json_object_get(in, "level");
	if (lv) {
		if (!json_is_integer(lv) || json_integer_value(lv) < 1 || json_integer_value(lv) > 4) {
			*out = auth_error("bad_request", "level must be 1, 2, 3 or 4");
			return 400;
		}
		j->level = (int)json_integer_value(lv);
	}
	if ((j->move == CERT_MOVE_RETURN || j->move == CERT_MOVE_RELEVEL) && j->reason == NULL) {
		*out = auth_error("bad_request", "%s needs a reason", cert_move_name(j->move));
		return 400;
	}
	if (j->move == CERT_MOVE_RELEVEL && j->level == 0) {
		*out = auth_error("bad_request", "relevel needs the new level");
		return 400;
	}
	if (j->move == CERT_MOVE_REPORT && j->report == NULL) {
		*out = auth_error("bad_request", "report needs investigation_report");
		return 400;
	}
	return 0;
}

int
cert_svc_incident_move(struct auth_ctx *x, const char *id, const char *move, const json_t *in,
                       json_t **out)
{
	int m = cert_move_parse(move);
	if (m < 0) {
		*out = auth_error("not_found", "no such move '%s'; moves are submit, resubmit, "
		                               "review, return, accept, relevel, forward, contain, "
		                               "recover, report, close",
		                  move ? move : "");
		return 404;
	}
	struct cert_incident inc;
	int st = cert_incident_get_visible(x, id, &inc, out);
	if (st)
		return st;
	struct move_job j = {.who = x->caller, .id = inc.id, .move = (enum cert_move)m};
	struct auth_object obj = {.org_id = inc.org_id};
	cert_incident_clear(&inc);
	enum auth_decision d = auth_check(x->caller, cert_move_action(j.move), &obj);
	int alt = cert_move_alt_action(j.move);
	if (d == AUTH_FORBIDDEN && alt >= 0)
		d = auth_check(x->caller, (enum auth_action)alt, &obj);
	if (d != AUTH_ALLOW)
		return auth_refuse(d == AUTH_NOT_FOUND ? AUTH_FORBIDDEN : d, out);
	st = read_move_input(in, &j, out);
	if (st)
		return st;
	cert_ctx_rules(x, &j.rules);
	if (store_write(x->st, move_write, &j, &j.e) != 0)
		return auth_fail_reply(&j.f, &j.e, "cert", out);
	return cert_svc_incident_get(x, id, out);
}
