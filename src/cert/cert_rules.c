/*
 * cert_rules.c - the rules of the game, as tables: which state a move leads
 * to from which state, which permission each move needs, the deadline
 * durations per level (read from the configuration, so that a change in
 * the law is a change of configuration), how each deadline is evaluated
 * against a report's timestamps, and the ENISA classification taxonomy.
 */
#include "cert/cert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const state_names[CERT_STATE_COUNT] = {
	[CERT_DRAFT] = "draft",         [CERT_SUBMITTED] = "submitted",
	[CERT_UNDER_REVIEW] = "under_review", [CERT_RETURNED] = "returned",
	[CERT_ACCEPTED] = "accepted",   [CERT_CONTAINED] = "contained",
	[CERT_RECOVERED] = "recovered", [CERT_CLOSED] = "closed",
};

const char *
cert_state_name(enum cert_state s)
{
	if ((unsigned)s >= CERT_STATE_COUNT)
		return "unknown";
	return state_names[s];
}

int
cert_state_parse(const char *name)
{
	for (int i = 0; name && i < CERT_STATE_COUNT; i++)
		if (strcmp(name, state_names[i]) == 0)
			return i;
	return -1;
}

#define ST(x) (1u << CERT_##x)
/* Where each move may start, where it leads (-1: stays), and who may make
 * it. The order of the permission checks is auth_check's; this table only
 * says which action to ask about. */
static const struct {
	const char *name;
	unsigned from;
	int to;
	enum auth_action action;
	int alt_action;
} moves[CERT_MOVE_COUNT] = {
	[CERT_MOVE_SUBMIT] = {"submit", ST(DRAFT), CERT_SUBMITTED, AUTH_INCIDENT_REPORT, -1},
	[CERT_MOVE_RESUBMIT] = {"resubmit", ST(RETURNED), CERT_SUBMITTED, AUTH_INCIDENT_REPORT, -1},
	[CERT_MOVE_REVIEW] = {"review", ST(SUBMITTED), CERT_UNDER_REVIEW, AUTH_INCIDENT_REVIEW, -1},
	[CERT_MOVE_RETURN] = {"return", ST(SUBMITTED) | ST(UNDER_REVIEW), CERT_RETURNED,
	                      AUTH_INCIDENT_REVIEW, -1},
	[CERT_MOVE_ACCEPT] = {"accept", ST(UNDER_REVIEW), CERT_ACCEPTED, AUTH_INCIDENT_REVIEW, -1},
	[CERT_MOVE_RELEVEL] = {"relevel",
	                       ST(SUBMITTED) | ST(UNDER_REVIEW) | ST(ACCEPTED) | ST(CONTAINED) |
	                           ST(RECOVERED),
	                       -1, AUTH_INCIDENT_REVIEW, -1},
	[CERT_MOVE_FORWARD] = {"forward", ST(ACCEPTED) | ST(CONTAINED) | ST(RECOVERED) | ST(CLOSED),
	                       -1, AUTH_INCIDENT_REVIEW, AUTH_INCIDENT_HANDLE},
	[CERT_MOVE_CONTAIN] = {"contain", ST(ACCEPTED), CERT_CONTAINED, AUTH_INCIDENT_HANDLE, -1},
	[CERT_MOVE_RECOVER] = {"recover", ST(ACCEPTED) | ST(CONTAINED), CERT_RECOVERED,
	                       AUTH_INCIDENT_HANDLE, -1},
	[CERT_MOVE_REPORT] = {"report", ST(RECOVERED), -1, AUTH_INCIDENT_REPORT, -1},
	[CERT_MOVE_CLOSE] = {"close", ST(RECOVERED), CERT_CLOSED, AUTH_INCIDENT_HANDLE, -1},
};
#undef ST

const char *
cert_move_name(enum cert_move m)
{
	if ((unsigned)m >= CERT_MOVE_COUNT)
		return "unknown";
	return moves[m].name;
}

int
cert_move_parse(const char *name)
{
	for (int i = 0; name && i < CERT_MOVE_COUNT; i++)
		if (strcmp(name, moves[i].name) == 0)
			return i;
	return -1;
}

int
cert_move_apply(enum cert_state s, enum cert_move m)
{
	if ((unsigned)s >= CERT_STATE_COUNT || (unsigned)m >= CERT_MOVE_COUNT)
		return -1;
	if (!(moves[m].from & (1u << s)))
		return -1;
	return moves[m].to < 0 ? (int)s : moves[m].to;
}

enum auth_action
cert_move_action(enum cert_move m)
{
	if ((unsigned)m >= CERT_MOVE_COUNT)
		return AUTH_ACTION_COUNT;
	return moves[m].action;
}

int
cert_move_alt_action(enum cert_move m)
{
	if ((unsigned)m >= CERT_MOVE_COUNT)
		return -1;
	return moves[m].alt_action;
}

/* ---- deadlines ---- */

static const char *const deadline_names[CERT_DL_COUNT] = {
	[CERT_DL_NOTIFY] = "notify",   [CERT_DL_REVIEW] = "review", [CERT_DL_FORWARD] = "forward",
	[CERT_DL_CONTAIN] = "contain", [CERT_DL_REPORT] = "report",
};

const char *
cert_deadline_name(enum cert_deadline d)
{
	if ((unsigned)d >= CERT_DL_COUNT)
		return "unknown";
	return deadline_names[d];
}

void
cert_rules_default(struct cert_rules *r)
{
	/* 資通安全事件通報應變及演練辦法 (as amended 2026-01-05): notify within
	 * 1 hour of awareness; the supervising node reviews within 8 hours
	 * (levels 1-2) or 2 hours (levels 3-4) and forwards within 1 hour;
	 * containment or recovery within 72 hours (levels 1-2) or 36 hours
	 * (levels 3-4); the investigation report within one month of it. */
	static const struct cert_rules def = {.amount = {
		[CERT_DL_NOTIFY] = {3600, 3600, 3600, 3600},
		[CERT_DL_REVIEW] = {28800, 28800, 7200, 7200},
		[CERT_DL_FORWARD] = {3600, 3600, 3600, 3600},
		[CERT_DL_CONTAIN] = {259200, 259200, 129600, 129600},
		[CERT_DL_REPORT] = {1, 1, 1, 1},
	}};
	*r = def;
}

/* Parses "a,b,c,d" (or one value for every level), each in [min, max]. */
static int
parse_levels(const char *text, int64_t min, int64_t max, int64_t out[CERT_LEVELS], char *why,
             size_t len)
{
	int64_t v[CERT_LEVELS];
	int n = 0;
	const char *p = text;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		char item[32];
		while (l > 0 && *p == ' ') {
			p++;
			l--;
		}
		while (l > 0 && p[l - 1] == ' ')
			l--;
		if (n == CERT_LEVELS) {
			snprintf(why, len, "has more than %d values (one per level)", CERT_LEVELS);
			return -1;
		}
		if (l == 0 || l >= sizeof(item)) {
			snprintf(why, len, "value %d is empty or too long", n + 1);
			return -1;
		}
		memcpy(item, p, l);
		item[l] = '\0';
		if (parse_int64(item, min, max, &v[n]) != 0) {
			snprintf(why, len, "'%s' is not an integer from %lld to %lld", item, (long long)min,
			         (long long)max);
			return -1;
		}
		n++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (n != 1 && n != CERT_LEVELS) {
		snprintf(why, len, "needs one value for all levels or %d values, found %d", CERT_LEVELS,
		         n);
		return -1;
	}
	for (int i = 0; i < CERT_LEVELS; i++)
		out[i] = n == 1 ? v[0] : v[i];
	return 0;
}

int
cert_rules_from_config(const struct config *cfg, struct cert_rules *r, struct err *e)
{
	const struct {
		const char *key;
		const char *text;
		int64_t max;
	} src[CERT_DL_COUNT] = {
		[CERT_DL_NOTIFY] = {"cert.deadlines.notify_s", cfg->cert_deadlines_notify_s,
		                    86400 * 366},
		[CERT_DL_REVIEW] = {"cert.deadlines.review_s", cfg->cert_deadlines_review_s,
		                    86400 * 366},
		[CERT_DL_FORWARD] = {"cert.deadlines.forward_s", cfg->cert_deadlines_forward_s,
		                     86400 * 366},
		[CERT_DL_CONTAIN] = {"cert.deadlines.contain_s", cfg->cert_deadlines_contain_s,
		                     86400 * 366},
		[CERT_DL_REPORT] = {"cert.deadlines.report_months", cfg->cert_deadlines_report_months,
		                    120},
	};
	struct cert_rules tmp;
	for (int d = 0; d < CERT_DL_COUNT; d++) {
		char why[160];
		if (parse_levels(src[d].text, 1, src[d].max, tmp.amount[d], why, sizeof(why)) != 0) {
			err_set(e, "%s: %s", src[d].key, why);
			if (e)
				snprintf(e->key, sizeof(e->key), "%s", src[d].key);
			return -1;
		}
	}
	*r = tmp;
	return 0;
}

int64_t
cert_add_months_ms(int64_t ms, int months)
{
	time_t secs = (time_t)(ms / 1000);
	int64_t rest = ms % 1000;
	if (rest < 0) {
		rest += 1000;
		secs -= 1;
	}
	struct tm tm;
	gmtime_r(&secs, &tm);
	int total = tm.tm_mon + months;
	int year = tm.tm_year + 1900 + total / 12;
	int mon = total % 12;
	if (mon < 0) {
		mon += 12;
		year--;
	}
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int last = mdays[mon];
	if (mon == 1 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		last = 29;
	int day = tm.tm_mday > last ? last : tm.tm_mday;
	/* Days from the civil date (Howard Hinnant's algorithm), no timezone. */
	int y = year - (mon + 1 <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int m = mon + 1;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;
	int64_t s = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return s * 1000 + rest;
}

static int
level_index(int level)
{
	if (level < 1)
		return 0;
	if (level > CERT_LEVELS)
		return CERT_LEVELS - 1;
	return level - 1;
}

static void
eval_one(const struct cert_rules *r, int d, int level, int64_t start, int64_t met,
         struct cert_deadline_eval *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (start <= 0)
		return;
	ev->applies = true;
	ev->start = start;
	int64_t amount = r->amount[d][level_index(level)];
	ev->due = d == CERT_DL_REPORT ? cert_add_months_ms(start, (int)amount) : start + amount * 1000;
	ev->met = met > 0 ? met : 0;
}

void
cert_deadlines_eval(const struct cert_rules *r, const struct cert_times *t,
                    struct cert_deadline_eval out[CERT_DL_COUNT])
{
	eval_one(r, CERT_DL_NOTIFY, t->level, t->known, t->notified, &out[CERT_DL_NOTIFY]);
	/* A review counts only if it came after the clock (re)started. */
	eval_one(r, CERT_DL_REVIEW, t->level, t->review_start,
	         t->reviewed >= t->review_start ? t->reviewed : 0, &out[CERT_DL_REVIEW]);
	eval_one(r, CERT_DL_FORWARD, t->level, t->forward_start,
	         t->forwarded >= t->forward_start ? t->forwarded : 0, &out[CERT_DL_FORWARD]);
	int64_t contained = t->contained ? t->contained : t->recovered;
	eval_one(r, CERT_DL_CONTAIN, t->level, t->contain_start, contained, &out[CERT_DL_CONTAIN]);
	eval_one(r, CERT_DL_REPORT, t->level, t->recovered, t->reported, &out[CERT_DL_REPORT]);
}

int64_t
cert_next_due(const struct cert_deadline_eval ev[CERT_DL_COUNT], int *kind)
{
	int64_t best = 0;
	int which = -1;
	for (int d = 0; d < CERT_DL_COUNT; d++) {
		if (!ev[d].applies || ev[d].met)
			continue;
		if (best == 0 || ev[d].due < best) {
			best = ev[d].due;
			which = d;
		}
	}
	if (kind)
		*kind = which;
	return best;
}

const char *
cert_deadline_status(const struct cert_deadline_eval *ev, int64_t now_ms)
{
	if (!ev->applies)
		return "not_started";
	if (ev->met)
		return ev->met <= ev->due ? "met" : "met_late";
	return now_ms > ev->due ? "overdue" : "pending";
}

/* ---- the ENISA Reference Security Incident Taxonomy (RSIT) ---- */

static const struct {
	const char *cls;
	const char *types[6];
} rsit[] = {
	{"abusive-content", {"spam", "harmful-speech", "violence", NULL}},
	{"malicious-code",
	 {"infected-system", "c2-server", "malware-distribution", "malware-configuration", NULL}},
	{"information-gathering", {"scanner", "sniffing", "social-engineering", NULL}},
	{"intrusion-attempts", {"ids-alert", "brute-force", "exploit", NULL}},
	{"intrusions",
	 {"privileged-account-compromise", "unprivileged-account-compromise",
	  "application-compromise", "system-compromise", "burglary", NULL}},
	{"availability", {"dos", "ddos", "misconfiguration", "sabotage", "outage", NULL}},
	{"information-content-security",
	 {"unauthorised-information-access", "unauthorised-information-modification", "data-loss",
	  "data-leak", NULL}},
	{"fraud", {"unauthorised-use-of-resources", "copyright", "masquerade", "phishing", NULL}},
	{"vulnerable",
	 {"weak-crypto", "ddos-amplifier", "potentially-unwanted-accessible",
	  "information-disclosure", "vulnerable-system", NULL}},
	{"other", {"other", "undetermined", NULL}},
	{"test", {"test", NULL}},
};

bool
cert_taxonomy_valid(const char *cls, const char *type)
{
	if (cls == NULL || type == NULL)
		return false;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(rsit); i++) {
		if (strcmp(rsit[i].cls, cls) != 0)
			continue;
		for (int j = 0; j < 6 && rsit[i].types[j]; j++)
			if (strcmp(rsit[i].types[j], type) == 0)
				return true;
		return false;
	}
	return false;
}

json_t *
cert_taxonomy_json(void)
{
	json_t *out = json_array();
	for (size_t i = 0; i < CIIP_ARRAY_LEN(rsit); i++) {
		json_t *types = json_array();
		for (int j = 0; j < 6 && rsit[i].types[j]; j++)
			json_array_append_new(types, json_string(rsit[i].types[j]));
		json_array_append_new(out, json_pack("{s:s,s:o}", "class", rsit[i].cls, "types", types));
	}
	return out;
}

void
cert_ctx_rules(const struct auth_ctx *x, struct cert_rules *r)
{
	struct err e;
	if (x->cfg == NULL || cert_rules_from_config(x->cfg, r, &e) != 0)
		cert_rules_default(r);
}

int
cert_svc_rules(struct auth_ctx *x, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_INCIDENT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct cert_rules r;
	cert_ctx_rules(x, &r);
	json_t *dl = json_array();
	static const char *const what[CERT_DL_COUNT] = {
		[CERT_DL_NOTIFY] = "notification after becoming aware of the incident",
		[CERT_DL_REVIEW] = "review by the supervising node after each (re)submission",
		[CERT_DL_FORWARD] = "forwarding upward after acceptance",
		[CERT_DL_CONTAIN] = "containment or recovery after becoming aware",
		[CERT_DL_REPORT] = "investigation and improvement report after recovery",
	};
	for (int d2 = 0; d2 < CERT_DL_COUNT; d2++) {
		json_t *per = json_array();
		for (int l = 0; l < CERT_LEVELS; l++)
			json_array_append_new(per, json_integer(r.amount[d2][l]));
		json_array_append_new(dl, json_pack("{s:s,s:s,s:s,s:o}", "deadline",
		                                    cert_deadline_name((enum cert_deadline)d2), "unit",
		                                    d2 == CERT_DL_REPORT ? "months" : "seconds",
		                                    "description", what[d2], "per_level", per));
	}
	*out = json_pack("{s:o,s:o}", "deadlines", dl, "taxonomy", cert_taxonomy_json());
	return 200;
}
