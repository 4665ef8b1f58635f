/*
 * auth_policy.c - the one place that decides who may do what: the roles
 * allowed for each action, whether the object must belong to the caller's
 * organisation, token scopes, and the TLP sharing rule.
 */
#include "auth/auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define R(x) (1u << AUTH_ROLE_##x)
#define PEOPLE (R(ADMIN) | R(ANALYST) | R(REVIEWER) | R(REPORTER) | R(VIEWER))
#define STAFF_ROLES (R(ADMIN) | R(ANALYST) | R(REVIEWER))

enum scope {
	SCOPE_ANY,       /* any object on the node */
	SCOPE_OWN,       /* only the caller's own organisation's objects */
	SCOPE_OWN_STAFF, /* own organisation, or any when the caller is node staff */
};

static const struct {
	const char *name;
	unsigned roles;
	enum scope scope;
} policy[AUTH_ACTION_COUNT] = {
	[AUTH_ORG_READ] = {"org.read", PEOPLE | R(PEER), SCOPE_OWN_STAFF},
	[AUTH_ORG_WRITE] = {"org.write", R(ADMIN), SCOPE_ANY},
	[AUTH_USER_READ] = {"user.read", R(ADMIN), SCOPE_ANY},
	[AUTH_USER_WRITE] = {"user.write", R(ADMIN), SCOPE_ANY},
	[AUTH_TOKEN_READ] = {"token.read", R(ADMIN), SCOPE_ANY},
	[AUTH_TOKEN_WRITE] = {"token.write", R(ADMIN), SCOPE_ANY},
	[AUTH_AUDIT_READ] = {"audit.read", R(ADMIN), SCOPE_ANY},
	[AUTH_SELF] = {"self", PEOPLE, SCOPE_ANY},
	[AUTH_INTEL_READ] = {"intel.read", PEOPLE | R(PEER), SCOPE_ANY},
	[AUTH_INTEL_WRITE] = {"intel.write", R(ADMIN) | R(ANALYST), SCOPE_ANY},
	[AUTH_INTEL_ADMIN] = {"intel.admin", R(ADMIN), SCOPE_ANY},
	[AUTH_INTEL_LOWER] = {"intel.lower_marking", R(ADMIN) | R(ANALYST), SCOPE_ANY},
	[AUTH_TAXII_READ] = {"taxii.read", PEOPLE | R(PEER), SCOPE_ANY},
	[AUTH_TAXII_WRITE] = {"taxii.write", R(ADMIN) | R(ANALYST) | R(REPORTER) | R(PEER),
	                      SCOPE_ANY},
	[AUTH_EVENTS_WRITE] = {"events.write", R(SENSOR) | R(ADMIN), SCOPE_OWN},
	[AUTH_SENSOR_ADMIN] = {"sensor.admin", R(ADMIN), SCOPE_ANY},
	[AUTH_ALERT_READ] = {"alert.read", PEOPLE, SCOPE_OWN_STAFF},
	[AUTH_ALERT_WRITE] = {"alert.write", R(ADMIN) | R(ANALYST), SCOPE_OWN_STAFF},
	[AUTH_INCIDENT_READ] = {"incident.read", PEOPLE, SCOPE_OWN_STAFF},
	[AUTH_INCIDENT_REPORT] = {"incident.report", R(ADMIN) | R(ANALYST) | R(REPORTER),
	                          SCOPE_OWN_STAFF},
	[AUTH_INCIDENT_HANDLE] = {"incident.handle", R(ADMIN) | R(ANALYST), SCOPE_OWN_STAFF},
	[AUTH_INCIDENT_REVIEW] = {"incident.review", R(REVIEWER), SCOPE_OWN_STAFF},
	[AUTH_ADVISORY_READ] = {"advisory.read", PEOPLE | R(PEER), SCOPE_ANY},
	[AUTH_ADVISORY_DRAFT] = {"advisory.draft", R(ANALYST), SCOPE_ANY},
	[AUTH_ADVISORY_REVIEW] = {"advisory.review", R(REVIEWER), SCOPE_ANY},
	[AUTH_ADVISORY_REPLY] = {"advisory.reply", R(REPORTER) | R(ANALYST) | R(ADMIN), SCOPE_OWN},
	[AUTH_NODE_ADMIN] = {"node.admin", R(ADMIN), SCOPE_ANY},
};

static const char *role_names[] = {
	[AUTH_ROLE_NONE] = "none",         [AUTH_ROLE_ADMIN] = "admin",
	[AUTH_ROLE_ANALYST] = "analyst",   [AUTH_ROLE_REVIEWER] = "reviewer",
	[AUTH_ROLE_REPORTER] = "reporter", [AUTH_ROLE_VIEWER] = "viewer",
	[AUTH_ROLE_SENSOR] = "sensor",     [AUTH_ROLE_PEER] = "peer",
};

const char *
auth_role_name(enum auth_role r)
{
	if ((size_t)r >= CIIP_ARRAY_LEN(role_names))
		return "none";
	return role_names[r];
}

enum auth_role
auth_role_parse(const char *name)
{
	for (size_t i = 1; name && i < CIIP_ARRAY_LEN(role_names); i++)
		if (strcmp(name, role_names[i]) == 0)
			return (enum auth_role)i;
	return AUTH_ROLE_NONE;
}

const char *
auth_action_name(enum auth_action a)
{
	if ((unsigned)a >= AUTH_ACTION_COUNT)
		return "unknown";
	return policy[a].name;
}

static const char *tlp_names[] = {"", "clear", "green", "amber", "amber+strict", "red"};

const char *
auth_tlp_name(enum auth_tlp t)
{
	if ((unsigned)t >= CIIP_ARRAY_LEN(tlp_names))
		return "";
	return tlp_names[t];
}

enum auth_tlp
auth_tlp_parse(const char *s)
{
	if (s == NULL)
		return 0;
	if (strncasecmp(s, "tlp:", 4) == 0)
		s += 4;
	if (strcasecmp(s, "white") == 0)
		return AUTH_TLP_CLEAR;
	for (size_t i = 1; i < CIIP_ARRAY_LEN(tlp_names); i++)
		if (strcasecmp(s, tlp_names[i]) == 0)
			return (enum auth_tlp)i;
	return 0;
}

/* A token's scope is "*" or a comma-separated list of action names; a
 * name ending in ".*" covers a family ("intel.*"). People have no scope. */
static bool
scope_allows(const char *scope, const char *action)
{
	if (scope[0] == '\0' || strcmp(scope, "*") == 0)
		return true;
	const char *p = scope;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && p[0] == ' ') {
			p++;
			n--;
		}
		if (n > 2 && p[n - 2] == '.' && p[n - 1] == '*') {
			if (strncmp(action, p, n - 1) == 0)
				return true;
		} else if (strlen(action) == n && strncmp(action, p, n) == 0) {
			return true;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

bool
auth_may_see(const struct auth_caller *caller, int64_t owner_org, enum auth_tlp tlp)
{
	if (tlp == AUTH_TLP_CLEAR || tlp == 0)
		return true;
	if (caller == NULL)
		return false;
	if (caller->local)
		return true;
	if (owner_org != 0 && owner_org == caller->org_id)
		return true;
	switch (tlp) {
	case AUTH_TLP_GREEN:
	case AUTH_TLP_AMBER:
		return caller->in_community;
	default:
		/* AMBER+STRICT and RED never go beyond their owner. */
		return false;
	}
}

enum auth_decision
auth_check(const struct auth_caller *caller, enum auth_action action,
           const struct auth_object *obj)
{
	if ((unsigned)action >= AUTH_ACTION_COUNT)
		return AUTH_FORBIDDEN;
	if (caller == NULL || caller->role == AUTH_ROLE_NONE)
		return AUTH_UNAUTHENTICATED;
	if (caller->local)
		return AUTH_ALLOW;
	if (!(policy[action].roles & (1u << caller->role)))
		return AUTH_FORBIDDEN;
	if (!scope_allows(caller->scope, policy[action].name))
		return AUTH_FORBIDDEN;
	if (obj == NULL)
		return AUTH_ALLOW;
	if (obj->tlp != 0 && !auth_may_see(caller, obj->org_id, obj->tlp))
		return AUTH_NOT_FOUND;
	if (obj->org_id != 0 && obj->org_id != caller->org_id) {
		if (policy[action].scope == SCOPE_OWN)
			return AUTH_FORBIDDEN;
		if (policy[action].scope == SCOPE_OWN_STAFF && !caller->node_staff)
			return AUTH_FORBIDDEN;
	}
	return AUTH_ALLOW;
}

void
auth_sql_visible(const struct auth_caller *caller, const char *org_col, const char *tlp_col,
                 struct buf *sql, json_t *binds)
{
	if (caller && caller->local) {
		buf_puts(sql, "(1 = 1)");
		return;
	}
	if (caller == NULL) {
		buf_printf(sql, "(%s = %d)", tlp_col, AUTH_TLP_CLEAR);
		return;
	}
	buf_printf(sql, "(%s = ? OR %s = %d OR (? = 1 AND %s IN (%d, %d)))", org_col, tlp_col,
	           AUTH_TLP_CLEAR, tlp_col, AUTH_TLP_GREEN, AUTH_TLP_AMBER);
	json_array_append_new(binds, json_integer(caller->org_id));
	json_array_append_new(binds, json_integer(caller->in_community ? 1 : 0));
}

int
auth_sql_bind(struct store_stmt *s, int first, const json_t *binds)
{
	size_t i;
	json_t *v;
	json_array_foreach(binds, i, v)
	{
		if (json_is_integer(v))
			store_bind_int(s, first, json_integer_value(v));
		else if (json_is_string(v))
			store_bind_text(s, first, json_string_value(v));
		else if (json_is_real(v))
			store_bind_double(s, first, json_real_value(v));
		else
			store_bind_null(s, first);
		first++;
	}
	return first;
}

json_t *
auth_error(const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
}

int
auth_refuse(enum auth_decision d, json_t **out)
{
	switch (d) {
	case AUTH_UNAUTHENTICATED:
		*out = auth_error("unauthenticated", "log in or send a valid token");
		return 401;
	case AUTH_NOT_FOUND:
		*out = auth_error("not_found", "no such object");
		return 404;
	default:
		*out = auth_error("forbidden", "your role or organisation may not do this");
		return 403;
	}
}

int
auth_fail_set(struct auth_fail *f, int status, const char *code, const char *fmt, ...)
{
	f->status = status;
	snprintf(f->code, sizeof(f->code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
auth_fail_reply(const struct auth_fail *f, const struct err *e, const char *subsys, json_t **out)
{
	if (f->status) {
		*out = auth_error(f->code, "%s", f->msg);
		return f->status;
	}
	log_warnx(subsys, "write failed: %s", e->msg);
	*out = auth_error("internal", "%s", e->msg[0] ? e->msg : "the write failed");
	return 500;
}

json_t *
auth_time_json(int64_t ms)
{
	if (ms == 0)
		return json_null();
	char buf[32];
	time_format_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}
