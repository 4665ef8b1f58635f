/* test_cert_rules.c - the rule tables of the CERT: moves between states,
 * the deadline table read from the configuration, calendar months, the
 * evaluation of each deadline, and the classification taxonomy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cert/cert.h"

#define H (3600 * 1000LL)

static int64_t
ms(const char *t)
{
	int64_t v = 0;
	assert_int_equal(time_parse_rfc3339(t, &v), 0);
	return v;
}

/* ---- states and moves ---- */

static const struct {
	enum cert_state from;
	const char *move;
	int to; /* -1: refused */
} move_cases[] = {
	{CERT_DRAFT, "submit", CERT_SUBMITTED},
	{CERT_DRAFT, "review", -1},
	{CERT_DRAFT, "accept", -1},
	{CERT_DRAFT, "relevel", -1},
	{CERT_DRAFT, "close", -1},
	{CERT_SUBMITTED, "review", CERT_UNDER_REVIEW},
	{CERT_SUBMITTED, "return", CERT_RETURNED},
	{CERT_SUBMITTED, "accept", -1},
	{CERT_SUBMITTED, "relevel", CERT_SUBMITTED},
	{CERT_SUBMITTED, "submit", -1},
	{CERT_UNDER_REVIEW, "accept", CERT_ACCEPTED},
	{CERT_UNDER_REVIEW, "return", CERT_RETURNED},
	{CERT_UNDER_REVIEW, "contain", -1},
	{CERT_RETURNED, "resubmit", CERT_SUBMITTED},
	{CERT_RETURNED, "submit", -1},
	{CERT_RETURNED, "accept", -1},
	{CERT_ACCEPTED, "forward", CERT_ACCEPTED},
	{CERT_ACCEPTED, "contain", CERT_CONTAINED},
	{CERT_ACCEPTED, "recover", CERT_RECOVERED},
	{CERT_ACCEPTED, "close", -1},
	{CERT_CONTAINED, "recover", CERT_RECOVERED},
	{CERT_CONTAINED, "contain", -1},
	{CERT_RECOVERED, "report", CERT_RECOVERED},
	{CERT_RECOVERED, "close", CERT_CLOSED},
	{CERT_RECOVERED, "relevel", CERT_RECOVERED},
	{CERT_CLOSED, "forward", CERT_CLOSED},
	{CERT_CLOSED, "close", -1},
	{CERT_CLOSED, "relevel", -1},
	{CERT_CLOSED, "submit", -1},
};

static void
test_moves(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(move_cases); i++) {
		int m = cert_move_parse(move_cases[i].move);
		assert_true(m >= 0);
		assert_int_equal(cert_move_apply(move_cases[i].from, (enum cert_move)m),
		                 move_cases[i].to);
	}
	assert_int_equal(cert_move_parse("teleport"), -1);
	assert_int_equal(cert_move_apply(CERT_STATE_COUNT, CERT_MOVE_SUBMIT), -1);
	for (int s = 0; s < CERT_STATE_COUNT; s++)
		assert_int_equal(cert_state_parse(cert_state_name((enum cert_state)s)), s);
	assert_int_equal(cert_state_parse("open"), -1);
}

static void
test_move_permissions(void **state)
{
	assert_int_equal(cert_move_action(CERT_MOVE_SUBMIT), AUTH_INCIDENT_REPORT);
	assert_int_equal(cert_move_action(CERT_MOVE_REPORT), AUTH_INCIDENT_REPORT);
	assert_int_equal(cert_move_action(CERT_MOVE_ACCEPT), AUTH_INCIDENT_REVIEW);
	assert_int_equal(cert_move_action(CERT_MOVE_RELEVEL), AUTH_INCIDENT_REVIEW);
	assert_int_equal(cert_move_action(CERT_MOVE_CLOSE), AUTH_INCIDENT_HANDLE);
	assert_int_equal(cert_move_action(CERT_MOVE_CONTAIN), AUTH_INCIDENT_HANDLE);
	assert_int_equal(cert_move_alt_action(CERT_MOVE_FORWARD), AUTH_INCIDENT_HANDLE);
	assert_int_equal(cert_move_alt_action(CERT_MOVE_CLOSE), -1);
}

/* ---- the table ---- */

static void
test_rules_default_equal_config_defaults(void **state)
{
	struct config cfg;
	config_defaults(&cfg);
	struct cert_rules a, b;
	struct err e;
	assert_int_equal(cert_rules_from_config(&cfg, &a, &e), 0);
	cert_rules_default(&b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(a.amount[CERT_DL_REVIEW][0], 28800);
	assert_int_equal(a.amount[CERT_DL_REVIEW][2], 7200);
	assert_int_equal(a.amount[CERT_DL_CONTAIN][3], 129600);
	assert_int_equal(a.amount[CERT_DL_REPORT][0], 1);
}

static void
test_rules_from_config_file(void **state)
{
	struct config cfg;
	config_defaults(&cfg);
	static const char yaml[] = "cert:\n  deadlines:\n    notify_s: 1800\n"
	                           "    review_s: [3600, 3600, 600, 600]\n";
	struct err e;
	assert_int_equal(config_load_buffer(&cfg, "t.yaml", yaml, strlen(yaml), &e, NULL, NULL), 0);
	struct cert_rules r;
	assert_int_equal(cert_rules_from_config(&cfg, &r, &e), 0);
	int64_t want_notify[4] = {1800, 1800, 1800, 1800}, want_review[4] = {3600, 3600, 600, 600};
	assert_memory_equal(r.amount[CERT_DL_NOTIFY], want_notify, sizeof(want_notify));
	assert_memory_equal(r.amount[CERT_DL_REVIEW], want_review, sizeof(want_review));
}

static const struct {
	const char *text;
	const char *msg_part;
} bad_tables[] = {
	{"1,2,3", "found 3"},
	{"1,2,3,4,5", "more than 4"},
	{"0", "not an integer from 1"},
	{"ten", "'ten'"},
	{"1,,2,3", "empty"},
	{"", "empty"},
};

static void
test_rules_refuse_bad_tables(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(bad_tables); i++) {
		struct config cfg;
		config_defaults(&cfg);
		snprintf(cfg.cert_deadlines_contain_s, sizeof(cfg.cert_deadlines_contain_s), "%s",
		         bad_tables[i].text);
		struct cert_rules r, before;
		memset(&r, 0x5a, sizeof(r));
		before = r;
		struct err e;
		err_clear(&e);
		assert_int_equal(cert_rules_from_config(&cfg, &r, &e), -1);
		assert_string_equal(e.key, "cert.deadlines.contain_s");
		assert_non_null(strstr(e.msg, bad_tables[i].msg_part));
		assert_memory_equal(&r, &before, sizeof(r)); /* unchanged on failure */
	}
}

/* ---- calendar months ---- */

static const struct {
	const char *from;
	int months;
	const char *to;
} month_cases[] = {
	{"2026-01-15T10:30:00.250Z", 1, "2026-02-15T10:30:00.250Z"},
	{"2026-01-31T23:59:59.000Z", 1, "2026-02-28T23:59:59.000Z"},
	{"2028-01-31T08:00:00.000Z", 1, "2028-02-29T08:00:00.000Z"},
	{"2026-12-15T00:00:00.000Z", 1, "2027-01-15T00:00:00.000Z"},
	{"2026-03-31T00:00:00.000Z", 1, "2026-04-30T00:00:00.000Z"},
	{"2026-05-10T00:00:00.000Z", 14, "2027-07-10T00:00:00.000Z"},
	{"2100-01-29T00:00:00.000Z", 1, "2100-02-28T00:00:00.000Z"},
};

static void
test_add_months(void **state)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(month_cases); i++) {
		char got[32];
		time_format_rfc3339(cert_add_months_ms(ms(month_cases[i].from), month_cases[i].months),
		                    got, sizeof(got));
		assert_string_equal(got, month_cases[i].to);
	}
}

/* ---- evaluation ---- */

static void
test_level3_review_overdue_after_2h(void **state)
{
	struct cert_rules r;
	cert_rules_default(&r);
	int64_t t0 = ms("2026-03-02T00:00:00Z");
	struct cert_times t = {.level = 3, .known = t0, .notified = t0, .review_start = t0,
	                       .contain_start = t0};
	struct cert_deadline_eval ev[CERT_DL_COUNT];
	cert_deadlines_eval(&r, &t, ev);
	assert_int_equal(ev[CERT_DL_REVIEW].due, t0 + 2 * H);
	assert_string_equal(cert_deadline_status(&ev[CERT_DL_REVIEW], t0 + 2 * H), "pending");
	assert_string_equal(cert_deadline_status(&ev[CERT_DL_REVIEW], t0 + 2 * H + 1), "overdue");
	assert_string_equal(cert_deadline_status(&ev[CERT_DL_NOTIFY], t0 + 5 * H), "met");
	assert_int_equal(ev[CERT_DL_CONTAIN].due, t0 + 36 * H);
	assert_false(ev[CERT_DL_FORWARD].applies);
	assert_false(ev[CERT_DL_REPORT].applies);
	assert_string_equal(cert_deadline_status(&ev[CERT_DL_FORWARD], t0), "not_started");
	int kind = -1;
	assert_int_equal(cert_next_due(ev, &kind), t0 + 2 * H);
	assert_int_equal(kind, CERT_DL_REVIEW);
}

static void
test_level1_reviewed_at_7h59m_is_met(void **state)
{
	struct cert_rules r;
	cert_rules_default(&r);
	int64_t t0 = ms("2026-03-02T00:00:00Z");
	int64_t rv = t0 + 7 * H + 59 * 60000;
	struct cert_times t = {.level = 1, .known = t0, .notified = t0, .review_start = t0,
	                       .reviewed = rv, .forward_start = rv, .contain_start = t0};
	struct cert_deadline_eval ev[CERT_DL_COUNT];
	cert_deadlines_eval(&r, &t, ev);
	assert_int_equal(ev[CERT_DL_REVIEW].due, t0 + 8 * H);
	assert_string_equal(cert_deadline_status(&ev[CERT_DL_REVIEW], t0 + 20 * H), "met");
	/* Forwarding is next: an hour after acceptance. */
	int kind = -1;
	assert_int_equal(cert_next_due(ev, &kind), rv + H);
	assert_int_equal(kind, CERT_DL_FORWARD);
}

static void
test_late_and_stale_reviews(void **state)
{
	struct cert_rules r;
	cert_rules_default(&r);
	int64_t t0 = ms("2026-03-02T00:00:00Z");
	/* Notified two hours after becoming aware: met, but late. */
	struct cert_times t = {.level = 2, .known = t0, .notified = t0 + 2 * H};
	struct cert_deadline_eval ev[CERT_DL_COUNT];
	cert_deadlines_eval(&r, &t, ev);
	assert_string_equal(cert_deadline_status(&ev[CERT_DL_NOTIFY], t0 + 3 * H), "met_late");
	/* A review before the clock restarted (a resubmission) does not count. */
	t.review_start = t0 + 4 * H;
	t.reviewed = t0 + 3 * H;
	cert_deadlines_eval(&r, &t, ev);
	assert_int_equal(ev[CERT_DL_REVIEW].met, 0);
	assert_string_equal(cert_deadline_status(&ev[CERT_DL_REVIEW], t0 + 13 * H), "overdue");
	/* Recovery also meets containment; the report is due a month later. */
	t.contain_start = t0;
	t.recovered = t0 + 10 * H;
	cert_deadlines_eval(&r, &t, ev);
	assert_int_equal(ev[CERT_DL_CONTAIN].met, t0 + 10 * H);
	assert_int_equal(ev[CERT_DL_REPORT].due, ms("2026-04-02T10:00:00Z"));
	/* Nothing pending: no next due time. */
	t.reviewed = t0 + 5 * H;
	t.reported = t0 + 20 * H;
	cert_deadlines_eval(&r, &t, ev);
	assert_int_equal(cert_next_due(ev, NULL), 0);
}

static void
test_taxonomy(void **state)
{
	assert_true(cert_taxonomy_valid("intrusions", "system-compromise"));
	assert_true(cert_taxonomy_valid("availability", "ddos"));
	assert_true(cert_taxonomy_valid("other", "undetermined"));
	assert_false(cert_taxonomy_valid("intrusions", "ddos"));
	assert_false(cert_taxonomy_valid("nonsense", "test"));
	assert_false(cert_taxonomy_valid(NULL, "test"));
	assert_false(cert_taxonomy_valid("test", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moves),
		cmocka_unit_test(test_move_permissions),
		cmocka_unit_test(test_rules_default_equal_config_defaults),
		cmocka_unit_test(test_rules_from_config_file),
		cmocka_unit_test(test_rules_refuse_bad_tables),
		cmocka_unit_test(test_add_months),
		cmocka_unit_test(test_level3_review_overdue_after_2h),
		cmocka_unit_test(test_level1_reviewed_at_7h59m_is_met),
		cmocka_unit_test(test_late_and_stale_reviews),
		cmocka_unit_test(test_taxonomy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
