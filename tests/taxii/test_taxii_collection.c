/* test_taxii_collection.c - collection access rules: parsing, printing
 * and who they let in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "taxii/taxii_int.h"

static struct auth_caller
who(int64_t org, enum auth_role role, bool community, bool staff)
{
	struct auth_caller c;
	memset(&c, 0, sizeof(c));
	c.org_id = org;
	c.role = role;
	c.in_community = community;
	c.node_staff = staff;
	return c;
}

static struct taxii_rule
rule(const char *text)
{
	struct taxii_rule r;
	struct err e;
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_int_equal(taxii_rule_parse(j, &r, &e), 0);
	json_decref(j);
	return r;
}

static void
rule_roles_and_orgs(void **state)
{
	(void)state;
	struct taxii_rule r = rule("{\"roles\":[\"analyst\",\"peer\"],\"orgs\":[\"node\",7]}");
	struct auth_caller analyst = who(1, AUTH_ROLE_ANALYST, true, true);
	struct auth_caller peer7 = who(7, AUTH_ROLE_PEER, true, false);
	struct auth_caller peer8 = who(8, AUTH_ROLE_PEER, true, false);
	struct auth_caller viewer = who(1, AUTH_ROLE_VIEWER, true, true);
	assert_true(taxii_rule_allows(&r, &analyst));
	assert_true(taxii_rule_allows(&r, &peer7));
	assert_false(taxii_rule_allows(&r, &peer8));
	assert_false(taxii_rule_allows(&r, &viewer));
	assert_false(taxii_rule_allows(&r, NULL));
}

static void
rule_community_and_any(void **state)
{
	(void)state;
	struct taxii_rule com = rule("{\"roles\":[\"*\"],\"orgs\":[\"community\"]}");
	struct taxii_rule any = rule("{\"roles\":[\"*\"],\"orgs\":[\"*\"]}");
	struct taxii_rule none = rule("{\"roles\":[],\"orgs\":[\"*\"]}");
	struct auth_caller in = who(3, AUTH_ROLE_REPORTER, true, false);
	struct auth_caller out = who(4, AUTH_ROLE_REPORTER, false, false);
	struct auth_caller local = who(0, AUTH_ROLE_ADMIN, false, false);
	local.local = true;
	assert_true(taxii_rule_allows(&com, &in));
	assert_false(taxii_rule_allows(&com, &out));
	assert_true(taxii_rule_allows(&any, &out));
	assert_false(taxii_rule_allows(&none, &in));
	assert_true(taxii_rule_allows(&none, &local));
}

static void
rule_prints_what_it_parsed(void **state)
{
	(void)state;
	struct taxii_rule r = rule("{\"orgs\":[5,\"community\"],\"roles\":[\"peer\",\"admin\"]}");
	json_t *j = taxii_rule_json(&r);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"roles\":[\"admin\",\"peer\"],\"orgs\":[\"community\",5]}");
	free(s);
	json_decref(j);
}

static const char *const bad_rules[] = {
	"[]",
	"{\"roles\":[\"*\"]}",
	"{\"roles\":\"*\",\"orgs\":[]}",
	"{\"roles\":[\"king\"],\"orgs\":[]}",
	"{\"roles\":[],\"orgs\":[\"everyone\"]}",
	"{\"roles\":[],\"orgs\":[-1]}",
	"{\"roles\":[],\"orgs\":[],\"extra\":1}",
};

static void
rule_refuses_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
		json_t *j = json_loads(bad_rules[i], 0, NULL);
		struct taxii_rule r;
		struct err e;
		err_clear(&e);
		assert_int_equal(taxii_rule_parse(j, &r, &e), -1);
		assert_true(e.msg[0] != '\0');
		json_decref(j);
	}
}

static void
access_combines_policy_and_rules(void **state)
{
	(void)state;
	struct taxii_coll c;
	memset(&c, 0, sizeof(c));
	c.read = rule("{\"roles\":[\"*\"],\"orgs\":[\"*\"]}");
	c.write = rule("{\"roles\":[\"analyst\"],\"orgs\":[\"node\"]}");
	struct auth_caller analyst = who(1, AUTH_ROLE_ANALYST, true, true);
	struct auth_caller reporter = who(2, AUTH_ROLE_REPORTER, true, false);
	struct auth_caller viewer = who(2, AUTH_ROLE_VIEWER, true, false);
	struct auth_caller sensor = who(2, AUTH_ROLE_SENSOR, true, false);
	assert_int_equal(taxii_coll_access(&c, &analyst, AUTH_TAXII_WRITE), 0);
	assert_int_equal(taxii_coll_access(&c, &reporter, AUTH_TAXII_READ), 0);
	assert_int_equal(taxii_coll_access(&c, &reporter, AUTH_TAXII_WRITE), 403);
	assert_int_equal(taxii_coll_access(&c, &viewer, AUTH_TAXII_WRITE), 403);
	assert_int_equal(taxii_coll_access(&c, &sensor, AUTH_TAXII_READ), 403);
	assert_int_equal(taxii_coll_access(&c, NULL, AUTH_TAXII_READ), 401);
	c.read = rule("{\"roles\":[\"analyst\"],\"orgs\":[\"node\"]}");
	assert_int_equal(taxii_coll_access(&c, &reporter, AUTH_TAXII_READ), 404);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rule_roles_and_orgs),
		cmocka_unit_test(rule_community_and_any),
		cmocka_unit_test(rule_prints_what_it_parsed),
		cmocka_unit_test(rule_refuses_malformed),
		cmocka_unit_test(access_combines_policy_and_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
