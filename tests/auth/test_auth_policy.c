/* test_auth_policy.c - the authorisation table, TLP visibility, token
 * scopes and address prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/auth_int.h"

static struct auth_caller
person(enum auth_role role, int64_t org, bool staff)
{
	struct auth_caller c;
	memset(&c, 0, sizeof(c));
	c.user_id = 1;
	c.role = role;
	c.org_id = org;
	c.node_staff = staff;
	c.in_community = true;
	return c;
}

static void
test_anonymous_and_roles(void **state)
{
	struct auth_caller admin = person(AUTH_ROLE_ADMIN, 1, true);
	struct auth_caller reporter = person(AUTH_ROLE_REPORTER, 2, false);
	struct auth_caller sensor = person(AUTH_ROLE_SENSOR, 2, false);
	assert_int_equal(auth_check(NULL, AUTH_ORG_READ, NULL), AUTH_UNAUTHENTICATED);
	assert_int_equal(auth_check(&admin, AUTH_USER_WRITE, NULL), AUTH_ALLOW);
	assert_int_equal(auth_check(&reporter, AUTH_USER_WRITE, NULL), AUTH_FORBIDDEN);
	assert_int_equal(auth_check(&reporter, AUTH_INCIDENT_REPORT, NULL), AUTH_ALLOW);
	assert_int_equal(auth_check(&reporter, AUTH_INCIDENT_REVIEW, NULL), AUTH_FORBIDDEN);
	assert_int_equal(auth_check(&sensor, AUTH_EVENTS_WRITE, NULL), AUTH_ALLOW);
	assert_int_equal(auth_check(&sensor, AUTH_INTEL_READ, NULL), AUTH_FORBIDDEN);
}

static void
test_organisation_scope(void **state)
{
	struct auth_caller reporter = person(AUTH_ROLE_REPORTER, 2, false);
	struct auth_caller analyst = person(AUTH_ROLE_ANALYST, 1, true);
	struct auth_object own = {.org_id = 2}, other = {.org_id = 3};
	assert_int_equal(auth_check(&reporter, AUTH_INCIDENT_READ, &own), AUTH_ALLOW);
	assert_int_equal(auth_check(&reporter, AUTH_INCIDENT_READ, &other), AUTH_FORBIDDEN);
	assert_int_equal(auth_check(&analyst, AUTH_INCIDENT_READ, &other), AUTH_ALLOW);
	assert_int_equal(auth_check(&reporter, AUTH_ADVISORY_REPLY, &other), AUTH_FORBIDDEN);
}

static void
test_tlp_visibility(void **state)
{
	struct auth_caller member = person(AUTH_ROLE_VIEWER, 2, false);
	struct auth_caller outsider = person(AUTH_ROLE_VIEWER, 9, false);
	outsider.in_community = false;
	/* owner, tlp -> member (org 2, community), outsider (not community) */
	assert_true(auth_may_see(&member, 3, AUTH_TLP_CLEAR));
	assert_true(auth_may_see(&member, 3, AUTH_TLP_GREEN));
	assert_true(auth_may_see(&member, 3, AUTH_TLP_AMBER));
	assert_false(auth_may_see(&member, 3, AUTH_TLP_AMBER_STRICT));
	assert_false(auth_may_see(&member, 3, AUTH_TLP_RED));
	assert_true(auth_may_see(&member, 2, AUTH_TLP_RED));
	assert_true(auth_may_see(&outsider, 3, AUTH_TLP_CLEAR));
	assert_false(auth_may_see(&outsider, 3, AUTH_TLP_GREEN));
	assert_false(auth_may_see(&outsider, 3, AUTH_TLP_AMBER));
	assert_false(auth_may_see(NULL, 3, AUTH_TLP_GREEN));
	assert_true(auth_may_see(NULL, 3, AUTH_TLP_CLEAR));
	struct auth_object red = {.org_id = 3, .tlp = AUTH_TLP_RED};
	assert_int_equal(auth_check(&member, AUTH_INTEL_READ, &red), AUTH_NOT_FOUND);
}

static void
test_token_scope(void **state)
{
	struct auth_caller peer = person(AUTH_ROLE_PEER, 1, false);
	peer.user_id = 0;
	peer.token_id = 5;
	strcpy(peer.scope, "taxii.read, intel.*");
	assert_int_equal(auth_check(&peer, AUTH_TAXII_READ, NULL), AUTH_ALLOW);
	assert_int_equal(auth_check(&peer, AUTH_INTEL_READ, NULL), AUTH_ALLOW);
	assert_int_equal(auth_check(&peer, AUTH_TAXII_WRITE, NULL), AUTH_FORBIDDEN);
	strcpy(peer.scope, "*");
	assert_int_equal(auth_check(&peer, AUTH_TAXII_WRITE, NULL), AUTH_ALLOW);
}

static void
test_sql_filter(void **state)
{
	struct auth_caller member = person(AUTH_ROLE_VIEWER, 2, false);
	struct buf sql = {0};
	json_t *binds = json_array();
	auth_sql_visible(&member, "org_id", "tlp", &sql, binds);
	assert_string_equal(sql.data, "(org_id = ? OR tlp = 1 OR (? = 1 AND tlp IN (2, 3)))");
	assert_int_equal(json_array_size(binds), 2);
	assert_int_equal(json_integer_value(json_array_get(binds, 0)), 2);
	buf_free(&sql);
	json_decref(binds);
}

static void
test_cidr(void **state)
{
	int fam, len;
	uint8_t lo[16], hi[16];
	assert_int_equal(auth_cidr_parse("198.51.100.0/24", &fam, lo, hi, &len), 0);
	assert_int_equal(fam, 4);
	assert_int_equal(len, 24);
	assert_int_equal(lo[15], 0);
	assert_int_equal(hi[15], 255);
	assert_int_equal(hi[14], 100);
	assert_int_equal(auth_cidr_parse("2001:db8::/32", &fam, lo, hi, &len), 0);
	assert_int_equal(fam, 6);
	assert_int_equal(hi[4], 0xff);
	assert_int_equal(hi[3], 0xb8);
	assert_int_equal(auth_cidr_parse("10.0.0.1/8", &fam, lo, hi, &len), -1);
	assert_int_equal(auth_cidr_parse("10.0.0.0/33", &fam, lo, hi, &len), -1);
	assert_int_equal(auth_cidr_parse("nonsense", &fam, lo, hi, &len), -1);
	assert_int_equal(auth_cidr_parse("192.0.2.7", &fam, lo, hi, &len), 0);
	assert_int_equal(len, 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anonymous_and_roles), cmocka_unit_test(test_organisation_scope),
		cmocka_unit_test(test_tlp_visibility),      cmocka_unit_test(test_token_scope),
		cmocka_unit_test(test_sql_filter),          cmocka_unit_test(test_cidr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
