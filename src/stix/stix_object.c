/*
 * stix_object.c - validation of one STIX 2.1 object, its kind and its
 * version key.
 *
 * The rules come from the STIX 2.1 specification (OASIS Standard, 10 June
 * 2021): section 2 (common data types: identifier, timestamp, list,
 * external-reference, kill-chain-phase), 3 (common properties and which
 * kinds of object need them), 4-6 (required properties per object type),
 * 7.2 (data markings) and 7.3 (extensions). Only what can be judged from
 * the object alone is checked: references are not resolved.
 */
#include "stix/stix_object_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Below the envelope's own limit, so that anything stix_envelope_parse
 * accepts can be walked; a json_t built in memory can be deeper. */
#define WALK_MAX_DEPTH STIX_ENVELOPE_MAX_DEPTH
#define PROP_NAME_MAX_CHARS 250

/* ---- messages ------------------------------------------------------------ */

void
stix_copy_printable(char *dst, size_t len, const char *src)
{
	size_t i = 0;
	for (; src[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
}

int
stix_vfail(struct stix_vctx *v, const char *key, const char *fmt, ...)
{
	if (v->e == NULL)
		return -1;
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	err_clear(v->e);
	if (key != NULL) {
		stix_copy_printable(v->e->key, sizeof(v->e->key), key);
		snprintf(v->e->msg, sizeof(v->e->msg), "%s: property '%s' %s", v->label, v->e->key,
		         what);
	} else {
		snprintf(v->e->msg, sizeof(v->e->msg), "%s: %s", v->label, what);
	}
	return -1;
}

/* ---- kinds and per-type rules ----------------------------------------- */

struct type_rule {
	const char *type;
	enum stix_kind kind;
	const char *required[7]; /* beyond the kind's common ones; NULL-ended */
};

/* STIX 2.1 sections 4 (SDOs), 5 (SROs), 6 (SCOs) and 7 (meta objects). */
static const struct type_rule type_rules[] = {
	{"attack-pattern", STIX_KIND_SDO, {"name"}},
	{"campaign", STIX_KIND_SDO, {"name"}},
	{"course-of-action", STIX_KIND_SDO, {"name"}},
	{"grouping", STIX_KIND_SDO, {"context", "object_refs"}},
	{"identity", STIX_KIND_SDO, {"name"}},
	{"incident", STIX_KIND_SDO, {"name"}},
	{"indicator", STIX_KIND_SDO, {"pattern", "pattern_type", "valid_from"}},
	{"infrastructure", STIX_KIND_SDO, {"name"}},
	{"intrusion-set", STIX_KIND_SDO, {"name"}},
	{"location", STIX_KIND_SDO, {NULL}},
	{"malware", STIX_KIND_SDO, {"is_family"}},
	{"malware-analysis", STIX_KIND_SDO, {"product"}},
	{"note", STIX_KIND_SDO, {"content", "object_refs"}},
	{"observed-data", STIX_KIND_SDO, {"first_observed", "last_observed", "number_observed"}},
	{"opinion", STIX_KIND_SDO, {"opinion", "object_refs"}},
	{"report", STIX_KIND_SDO, {"name", "published", "object_refs"}},
	{"threat-actor", STIX_KIND_SDO, {"name"}},
	{"tool", STIX_KIND_SDO, {"name"}},
	{"vulnerability", STIX_KIND_SDO, {"name"}},
	{"relationship", STIX_KIND_SRO, {"relationship_type", "source_ref", "target_ref"}},
	{"sighting", STIX_KIND_SRO, {"sighting_of_ref"}},
	{"artifact", STIX_KIND_SCO, {NULL}},
	{"autonomous-system", STIX_KIND_SCO, {"number"}},
	{"directory", STIX_KIND_SCO, {"path"}},
	{"domain-name", STIX_KIND_SCO, {"value"}},
	{"email-addr", STIX_KIND_SCO, {"value"}},
	{"email-message", STIX_KIND_SCO, {"is_multipart"}},
	{"file", STIX_KIND_SCO, {NULL}},
	{"ipv4-addr", STIX_KIND_SCO, {"value"}},
	{"ipv6-addr", STIX_KIND_SCO, {"value"}},
	{"mac-addr", STIX_KIND_SCO, {"value"}},
	{"mutex", STIX_KIND_SCO, {"name"}},
	{"network-traffic", STIX_KIND_SCO, {"protocols"}},
	{"process", STIX_KIND_SCO, {NULL}},
	{"software", STIX_KIND_SCO, {"name"}},
	{"url", STIX_KIND_SCO, {"value"}},
	{"user-account", STIX_KIND_SCO, {NULL}},
	{"windows-registry-key", STIX_KIND_SCO, {NULL}},
	{"x509-certificate", STIX_KIND_SCO, {NULL}},
	{"marking-definition", STIX_KIND_META, {"created"}},
	{"language-content", STIX_KIND_META, {"created", "modified", "object_ref", "contents"}},
	{"extension-definition",
	 STIX_KIND_META,
	 {"created", "modified", "created_by_ref", "name", "schema", "version", "extension_types"}},
};

static const struct type_rule *
type_rule_find(const char *type)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(type_rules); i++)
		if (strcmp(type_rules[i].type, type) == 0)
			return &type_rules[i];
	return NULL;
}

enum stix_kind
stix_kind_of_type(const char *type)
{
	if (!stix_type_valid(type) || strcmp(type, "bundle") == 0)
		return STIX_KIND_UNKNOWN;
	const struct type_rule *r = type_rule_find(type);
	return r ? r->kind : STIX_KIND_CUSTOM;
}

enum stix_kind
stix_object_kind(const json_t *obj)
{
	const char *type = json_string_value(json_object_get(obj, "type"));
	return type ? stix_kind_of_type(type) : STIX_KIND_UNKNOWN;
}

const char *
stix_kind_name(enum stix_kind kind)
{
	switch (kind) {
	case STIX_KIND_SDO:
		return "sdo";
	case STIX_KIND_SCO:
		return "sco";
	case STIX_KIND_SRO:
		return "sro";
	case STIX_KIND_META:
		return "meta";
	case STIX_KIND_CUSTOM:
		return "custom";
	case STIX_KIND_UNKNOWN:
		break;
	}
	return "unknown";
}

/* ---- property shapes ------------------------------------------------------ */

enum ptype { P_STRING, P_BOOL, P_INT, P_OBJECT, P_STRLIST, P_TIMESTAMP };

/* Top-level properties whose type the specification fixes. The common
 * ones apply to every object; the others are names that STIX's own types
 * use, and a custom type may give them another meaning. */
static const struct {
	const char *name;
	enum ptype type;
	bool common;
} prop_types[] = {
	{"created", P_TIMESTAMP, true},
	{"modified", P_TIMESTAMP, true},
	{"revoked", P_BOOL, true},
	{"defanged", P_BOOL, true},
	{"labels", P_STRLIST, true},
	{"name", P_STRING, false},
	{"description", P_STRING, false},
	{"pattern", P_STRING, false},
	{"pattern_type", P_STRING, false},
	{"pattern_version", P_STRING, false},
	{"relationship_type", P_STRING, false},
	{"context", P_STRING, false},
	{"content", P_STRING, false},
	{"opinion", P_STRING, false},
	{"product", P_STRING, false},
	{"schema", P_STRING, false},
	{"version", P_STRING, false},
	{"value", P_STRING, false},
	{"path", P_STRING, false},
	{"definition_type", P_STRING, false},
	{"is_family", P_BOOL, false},
	{"is_multipart", P_BOOL, false},
	{"number", P_INT, false},
	{"number_observed", P_INT, false},
	{"count", P_INT, false},
	{"definition", P_OBJECT, false},
	{"contents", P_OBJECT, false},
	{"aliases", P_STRLIST, false},
	{"extension_types", P_STRLIST, false},
	{"extension_properties", P_STRLIST, false},
	{"protocols", P_STRLIST, false},
	{"valid_from", P_TIMESTAMP, false},
	{"valid_until", P_TIMESTAMP, false},
	{"first_seen", P_TIMESTAMP, false},
	{"last_seen", P_TIMESTAMP, false},
	{"first_observed", P_TIMESTAMP, false},
	{"last_observed", P_TIMESTAMP, false},
	{"published", P_TIMESTAMP, false},
	{"start_time", P_TIMESTAMP, false},
	{"stop_time", P_TIMESTAMP, false},
	{"object_modified", P_TIMESTAMP, false},
};

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A non-empty list of strings: STIX 2.1 section 2.8 forbids empty lists. */
static int
check_strlist(struct stix_vctx *v, const char *key, const json_t *val)
{
	if (!json_is_array(val))
		return stix_vfail(v, key, "must be a list of strings");
	if (json_array_size(val) == 0)
		return stix_vfail(v, key, "must not be an empty list");
	size_t i;
	const json_t *it;
	json_array_foreach (val, i, it)
		if (!json_is_string(it))
			return stix_vfail(v, key, "item %zu is not a string", i);
	return 0;
}

static int
check_typed(struct stix_vctx *v, const char *key, const json_t *val, enum ptype t)
{
	switch (t) {
	case P_STRING:
		return json_is_string(val) ? 0 : stix_vfail(v, key, "must be a string");
	case P_BOOL:
		return json_is_boolean(val) ? 0 : stix_vfail(v, key, "must be a boolean");
	case P_INT:
		return json_is_integer(val) ? 0 : stix_vfail(v, key, "must be an integer");
	case P_OBJECT:
		return json_is_object(val) ? 0 : stix_vfail(v, key, "must be an object");
	case P_STRLIST:
		return check_strlist(v, key, val);
	case P_TIMESTAMP:
		if (!stix_timestamp_valid(json_string_value(val)))
			return stix_vfail(v, key, "is not a timestamp YYYY-MM-DDTHH:mm:ss[.s+]Z");
		return 0;
	}
	return 0;
}

/* Property names: ASCII letters, digits and '_', 3-250 characters (only the
 * predefined "id" is shorter). */
static bool
prop_name_valid(const char *name)
{
	size_t n = strnlen(name, PROP_NAME_MAX_CHARS + 1);
	if (n > PROP_NAME_MAX_CHARS || (n < 3 && strcmp(name, "id") != 0))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

static int
check_ref(struct stix_vctx *v, const char *key, const json_t *val, const char *type)
{
	if (!stix_id_valid(json_string_value(val), type)) {
		if (type != NULL)
			return stix_vfail(v, key, "must be an identifier of type '%s'", type);
		return stix_vfail(v, key, "must be an identifier <type>--<UUID>");
	}
	return 0;
}

static int
check_refs(struct stix_vctx *v, const char *key, const json_t *val, const char *type)
{
	if (!json_is_array(val) || json_array_size(val) == 0)
		return stix_vfail(v, key, "must be a non-empty list of identifiers");
	size_t i;
	const json_t *it;
	json_array_foreach (val, i, it) {
		if (!stix_id_valid(json_string_value(it), type)) {
			if (type != NULL)
				return stix_vfail(v, key, "item %zu is not an identifier of type '%s'", i,
				                  type);
			return stix_vfail(v, key, "item %zu is not an identifier <type>--<UUID>", i);
		}
	}
	return 0;
}

/*
 * Every property named *_ref holds an identifier and every *_refs a list of
 * them, at any depth (SCO extensions and email MIME parts carry refs too).
 * observed-data's deprecated "objects" is skipped: its refs name keys of
 * that dictionary, not STIX ids. The walk is depth-limited.
 */
static int
walk_refs(struct stix_vctx *v, const json_t *val, int depth)
{
	if (depth > WALK_MAX_DEPTH)
		return stix_vfail(v, NULL, "nests deeper than %d levels", WALK_MAX_DEPTH);
	if (json_is_array(val)) {
		size_t i;
		const json_t *it;
		json_array_foreach (val, i, it)
			if (walk_refs(v, it, depth + 1) != 0)
				return -1;
		return 0;
	}
	if (!json_is_object(val))
		return 0;
	const char *key;
	const json_t *it;
	json_object_foreach ((json_t *)val, key, it) {
		if (ends_with(key, "_ref")) {
			if (check_ref(v, key, it, NULL) != 0)
				return -1;
		} else if (ends_with(key, "_refs")) {
			if (check_refs(v, key, it, NULL) != 0)
				return -1;
		} else if (walk_refs(v, it, depth + 1) != 0) {
			return -1;
		}
	}
	return 0;
}

static int
check_external_references(struct stix_vctx *v, const json_t *val)
{
	const char *key = "external_references";
	if (!json_is_array(val) || json_array_size(val) == 0)
		return stix_vfail(v, key, "must be a non-empty list of external references");
	size_t i;
	const json_t *r;
	json_array_foreach (val, i, r) {
		if (!json_is_object(r))
			return stix_vfail(v, key, "item %zu is not an object", i);
		if (!json_is_string(json_object_get(r, "source_name")))
			return stix_vfail(v, key, "item %zu needs a string 'source_name'", i);
		static const char *const strs[] = {"description", "url", "external_id"};
		int present = 0;
		for (size_t k = 0; k < CIIP_ARRAY_LEN(strs); k++) {
			const json_t *s = json_object_get(r, strs[k]);
			if (s == NULL)
				continue;
			if (!json_is_string(s))
				return stix_vfail(v, key, "item %zu: '%s' must be a string", i, strs[k]);
			present++;
		}
		/* Section 2.5: besides source_name, one of these must say what
		 * the reference points at. */
		if (present == 0)
			return stix_vfail(v, key,
			                  "item %zu needs one of 'description', 'url', 'external_id'", i);
		const json_t *h = json_object_get(r, "hashes");
		if (h != NULL) {
			if (!json_is_object(h) || json_object_size(h) == 0)
				return stix_vfail(v, key, "item %zu: 'hashes' must be a non-empty object",
				                  i);
			const char *alg;
			const json_t *hv;
			json_object_foreach ((json_t *)h, alg, hv)
				if (!json_is_string(hv))
					return stix_vfail(v, key, "item %zu: hash values must be strings", i);
		}
	}
	return 0;
}

static int
check_kill_chain_phases(struct stix_vctx *v, const json_t *val)
{
	const char *key = "kill_chain_phases";
	if (!json_is_array(val) || json_array_size(val) == 0)
		return stix_vfail(v, key, "must be a non-empty list of kill chain phases");
	size_t i;
	const json_t *p;
	json_array_foreach (val, i, p) {
		if (!json_is_object(p) || !json_is_string(json_object_get(p, "kill_chain_name")) ||
		    !json_is_string(json_object_get(p, "phase_name")))
			return stix_vfail(v, key,
			                  "item %zu needs string 'kill_chain_name' and 'phase_name'", i);
	}
	return 0;
}

static int
check_granular_markings(struct stix_vctx *v, const json_t *val)
{
	const char *key = "granular_markings";
	if (!json_is_array(val) || json_array_size(val) == 0)
		return stix_vfail(v, key, "must be a non-empty list of granular markings");
	size_t i;
	const json_t *g;
	json_array_foreach (val, i, g) {
		if (!json_is_object(g))
			return stix_vfail(v, key, "item %zu is not an object", i);
		const json_t *sel = json_object_get(g, "selectors");
		if (!json_is_array(sel) || json_array_size(sel) == 0)
			return stix_vfail(v, key, "item %zu needs a non-empty list 'selectors'", i);
		size_t k;
		const json_t *s;
		json_array_foreach (sel, k, s)
			if (!json_is_string(s))
				return stix_vfail(v, key, "item %zu: selector %zu is not a string", i, k);
		const json_t *ref = json_object_get(g, "marking_ref");
		const json_t *lang = json_object_get(g, "lang");
		if (ref == NULL && lang == NULL)
			return stix_vfail(v, key, "item %zu needs 'marking_ref' or 'lang'", i);
		if (ref != NULL && !stix_id_valid(json_string_value(ref), "marking-definition"))
			return stix_vfail(v, key, "item %zu: 'marking_ref' is not a marking-definition id",
			                  i);
		if (lang != NULL && !json_is_string(lang))
			return stix_vfail(v, key, "item %zu: 'lang' must be a string", i);
	}
	return 0;
}

/* RFC 5646 language tags: letters, digits and '-', starting with a letter.
 * The registry of subtags is not consulted. */
static int
check_lang(struct stix_vctx *v, const json_t *val)
{
	const char *s = json_string_value(val);
	size_t n = s ? strnlen(s, 36) : 0;
	bool ok = n >= 1 && n <= 35 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'));
	for (size_t i = 0; ok && i < n; i++) {
		char c = s[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '-';
	}
	return ok ? 0 : stix_vfail(v, "lang", "must be an RFC 5646 language tag");
}

static int
check_extensions(struct stix_vctx *v, const json_t *val)
{
	const char *key = "extensions";
	if (!json_is_object(val) || json_object_size(val) == 0)
		return stix_vfail(v, key, "must be a non-empty object");
	const char *name;
	const json_t *ext;
	json_object_foreach ((json_t *)val, name, ext) {
		if (!json_is_object(ext))
			return stix_vfail(v, key, "entry '%.64s' must be an object", name);
		if (strncmp(name, "extension-definition--", 22) == 0 &&
		    !stix_id_valid(name, "extension-definition"))
			return stix_vfail(v, key, "entry name is not an extension-definition id");
		const json_t *et = json_object_get(ext, "extension_type");
		if (et != NULL) {
			static const char *const types[] = {"new-sdo", "new-sco", "new-sro",
			                                     "property-extension",
			                                     "toplevel-property-extension"};
			const char *s = json_string_value(et);
			bool ok = false;
			for (size_t i = 0; s != NULL && i < CIIP_ARRAY_LEN(types); i++)
				ok = ok || strcmp(s, types[i]) == 0;
			if (!ok)
				return stix_vfail(v, "extension_type", "is not an extension-type-enum value");
		}
		if (strcmp(name, STIX_INTEL_EXT_ID) == 0 && stix_intel_ext_check(v, ext) != 0)
			return -1;
	}
	return 0;
}

/* ---- the common properties ------------------------------------------------ */

static int
check_required(struct stix_vctx *v, const json_t *obj, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n && names[i] != NULL; i++)
		if (json_object_get(obj, names[i]) == NULL)
			return stix_vfail(v, names[i], "is required");
	return 0;
}

/* Time pairs: the later one must not be before (or, when strict, must be
 * after) the earlier, per each property's definition in the spec. */
static int
check_order(struct stix_vctx *v, const json_t *obj, const char *early, const char *late,
            bool strict)
{
	const char *a = json_string_value(json_object_get(obj, early));
	const char *b = json_string_value(json_object_get(obj, late));
	/* Only timestamps are ordered; a custom type's property of the same
	 * name may hold something else. */
	if (!stix_timestamp_valid(a) || !stix_timestamp_valid(b))
		return 0;
	int c = stix_timestamp_cmp(b, a);
	if (c < 0 || (strict && c == 0))
		return stix_vfail(v, late, "is %s '%s'", strict ? "not after" : "before", early);
	return 0;
}

static int
check_common(struct stix_vctx *v, const json_t *obj, const char *type, bool custom)
{
	const char *key;
	const json_t *val;
	json_object_foreach ((json_t *)obj, key, val) {
		if (!prop_name_valid(key))
			return stix_vfail(v, key, "is not a valid property name");
		for (size_t i = 0; i < CIIP_ARRAY_LEN(prop_types); i++)
			if ((prop_types[i].common || !custom) && strcmp(key, prop_types[i].name) == 0 &&
			    check_typed(v, key, val, prop_types[i].type) != 0)
				return -1;
	}
	val = json_object_get(obj, "spec_version");
	if (val != NULL && !(json_is_string(val) && strcmp(json_string_value(val), "2.1") == 0))
		return stix_vfail(v, "spec_version", "must be \"2.1\"");
	val = json_object_get(obj, "created_by_ref");
	if (val != NULL && check_ref(v, "created_by_ref", val, "identity") != 0)
		return -1;
	val = json_object_get(obj, "object_marking_refs");
	if (val != NULL && check_refs(v, "object_marking_refs", val, "marking-definition") != 0)
		return -1;
	val = json_object_get(obj, "confidence");
	if (val != NULL && !(json_is_integer(val) && json_integer_value(val) >= 0 &&
	                     json_integer_value(val) <= 100))
		return stix_vfail(v, "confidence", "must be an integer from 0 to 100");
	val = json_object_get(obj, "lang");
	if (val != NULL && check_lang(v, val) != 0)
		return -1;
	val = json_object_get(obj, "external_references");
	if (val != NULL && check_external_references(v, val) != 0)
		return -1;
	val = json_object_get(obj, "granular_markings");
	if (val != NULL && check_granular_markings(v, val) != 0)
		return -1;
	val = json_object_get(obj, "kill_chain_phases");
	if (val != NULL && check_kill_chain_phases(v, val) != 0)
		return -1;
	val = json_object_get(obj, "extensions");
	if (val != NULL && check_extensions(v, val) != 0)
		return -1;
	if (check_order(v, obj, "created", "modified", false) != 0)
		return -1;
	if (check_order(v, obj, "first_seen", "last_seen", false) != 0)
		return -1;
	if (check_order(v, obj, "first_observed", "last_observed", false) != 0)
		return -1;
	if (check_order(v, obj, "valid_from", "valid_until", true) != 0)
		return -1;
	if (check_order(v, obj, "start_time", "stop_time", true) != 0)
		return -1;
	json_object_foreach ((json_t *)obj, key, val) {
		/* observed-data's deprecated "objects" refers to its own keys. */
		if (strcmp(type, "observed-data") == 0 && strcmp(key, "objects") == 0)
			continue;
		if (ends_with(key, "_ref")) {
			if (check_ref(v, key, val, NULL) != 0)
				return -1;
		} else if (ends_with(key, "_refs")) {
			if (check_refs(v, key, val, NULL) != 0)
				return -1;
		} else if (walk_refs(v, val, 1) != 0) {
			return -1;
		}
	}
	return 0;
}

/* ---- rules for particular types ------------------------------------------- */

static int
check_count(struct stix_vctx *v, const json_t *obj, const char *key, int64_t min)
{
	const json_t *val = json_object_get(obj, key);
	if (val == NULL)
		return 0;
	json_int_t n = json_integer_value(val);
	if (n < min || n > 999999999)
		return stix_vfail(v, key, "must be from %lld to 999999999", (long long)min);
	return 0;
}

static int
check_type_specific(struct stix_vctx *v, const char *type, const json_t *obj)
{
	if (strcmp(type, "malware") == 0) {
		/* Section 4.11: a malware family must be named. */
		if (json_is_true(json_object_get(obj, "is_family")) &&
		    json_object_get(obj, "name") == NULL)
			return stix_vfail(v, "name", "is required when 'is_family' is true");
	} else if (strcmp(type, "location") == 0) {
		bool lat = json_object_get(obj, "latitude") != NULL;
		bool lon = json_object_get(obj, "longitude") != NULL;
		if (lat != lon)
			return stix_vfail(v, lat ? "longitude" : "latitude",
			                  "is required with the other coordinate");
		if (!lat && json_object_get(obj, "region") == NULL &&
		    json_object_get(obj, "country") == NULL)
			return stix_vfail(v, "region", "or 'country' or coordinates are required");
	} else if (strcmp(type, "malware-analysis") == 0) {
		if (json_object_get(obj, "result") == NULL &&
		    json_object_get(obj, "analysis_sco_refs") == NULL)
			return stix_vfail(v, "result", "or 'analysis_sco_refs' is required");
	} else if (strcmp(type, "observed-data") == 0) {
		return check_count(v, obj, "number_observed", 1);
	} else if (strcmp(type, "sighting") == 0) {
		return check_count(v, obj, "count", 0);
	} else if (strcmp(type, "file") == 0) {
		if (json_object_get(obj, "hashes") == NULL && json_object_get(obj, "name") == NULL)
			return stix_vfail(v, "name", "or 'hashes' is required");
	} else if (strcmp(type, "artifact") == 0) {
		if (json_object_get(obj, "payload_bin") != NULL && json_object_get(obj, "url") != NULL)
			return stix_vfail(v, "url", "must not be present with 'payload_bin'");
	} else if (strcmp(type, "marking-definition") == 0) {
		return stix_marking_definition_check(v, obj);
	} else if (strcmp(type, "extension-definition") == 0) {
		static const char *const types[] = {"new-sdo", "new-sco", "new-sro",
		                                     "property-extension",
		                                     "toplevel-property-extension"};
		size_t i;
		const json_t *t;
		json_array_foreach (json_object_get(obj, "extension_types"), i, t) {
			bool ok = false;
			for (size_t k = 0; k < CIIP_ARRAY_LEN(types); k++)
				ok = ok || strcmp(json_string_value(t), types[k]) == 0;
			if (!ok)
				return stix_vfail(v, "extension_types", "item %zu is not an extension type",
				                  i);
		}
	}
	return 0;
}

/* ---- the validator ---------------------------------------------------------- */

/* Common to every kind but SCOs (section 3.2's table). */
static const char *const sdo_required[] = {"spec_version", "created", "modified"};

static int
validate(const json_t *obj, const char *label, struct err *e)
{
	struct stix_vctx v = {.label = label, .e = e};
	if (!json_is_object(obj))
		return stix_vfail(&v, NULL, "is not a JSON object");
	const json_t *jtype = json_object_get(obj, "type");
	if (jtype == NULL)
		return stix_vfail(&v, "type", "is required");
	const char *type = json_string_value(jtype);
	if (!stix_type_valid(type))
		return stix_vfail(&v, "type",
		                  "must be 3-250 characters a-z, 0-9 and '-', starting with a letter");
	if (strcmp(type, "bundle") == 0)
		return stix_vfail(&v, "type", "must not be \"bundle\": a bundle is not an object");
	const json_t *jid = json_object_get(obj, "id");
	if (jid == NULL)
		return stix_vfail(&v, "id", "is required");
	if (!stix_id_valid(json_string_value(jid), NULL))
		return stix_vfail(&v, "id", "must be an identifier <type>--<UUID>");
	if (!stix_id_valid(json_string_value(jid), type))
		return stix_vfail(&v, "id", "does not start with the object's type '%s--'", type);

	const struct type_rule *rule = type_rule_find(type);
	enum stix_kind kind = rule ? rule->kind : STIX_KIND_CUSTOM;
	/* A custom type cannot say which kind it extends; one with "created"
	 * is an SDO-like object and needs the SDO's common properties. */
	bool sdo_like = kind == STIX_KIND_SDO || kind == STIX_KIND_SRO ||
	                (kind == STIX_KIND_CUSTOM && json_object_get(obj, "created") != NULL);
	if (kind == STIX_KIND_META) {
		if (check_required(&v, obj, sdo_required, 1) != 0)
			return -1;
	} else if (sdo_like && check_required(&v, obj, sdo_required, 3) != 0) {
		return -1;
	}
	if (rule != NULL && check_required(&v, obj, rule->required, CIIP_ARRAY_LEN(rule->required)) != 0)
		return -1;
	if (check_common(&v, obj, type, kind == STIX_KIND_CUSTOM) != 0)
		return -1;
	return check_type_specific(&v, type, obj);
}

/* The label names the object by its id when that is printable and of a
 * sane length, else by its position. */
static void
make_label(const json_t *obj, size_t index, bool has_index, char *label, size_t len)
{
	const char *id = json_string_value(json_object_get(obj, "id"));
	if (id != NULL && id[0] != '\0' && strnlen(id, STIX_ID_MAX) < STIX_ID_MAX) {
		stix_copy_printable(label, len, id);
		return;
	}
	if (has_index)
		snprintf(label, len, "object [%zu]", index);
	else
		snprintf(label, len, "object");
}

int
stix_object_validate(const json_t *obj, struct err *e)
{
	char label[STIX_ID_MAX];
	make_label(obj, 0, false, label, sizeof(label));
	return validate(obj, label, e);
}

size_t
stix_objects_validate(const json_t *objects, struct stix_failure **failures_out)
{
	*failures_out = NULL;
	if (!json_is_array(objects)) {
		struct stix_failure *f = xcalloc(1, sizeof(*f));
		snprintf(f->msg, sizeof(f->msg), "objects: must be a list of objects");
		snprintf(f->key, sizeof(f->key), "objects");
		*failures_out = f;
		return 1;
	}
	struct stix_failure *fails = NULL;
	size_t nfail = 0, cap = 0;
	size_t i;
	const json_t *obj;
	json_array_foreach (objects, i, obj) {
		char label[STIX_ID_MAX + 32];
		make_label(obj, i, true, label, sizeof(label));
		struct err e;
		err_clear(&e);
		if (validate(obj, label, &e) == 0)
			continue;
		/* One failure per element at most, so the array (capped by the
		 * envelope) bounds this; it grows as needed rather than being
		 * sized for the worst case up front. */
		if (nfail == cap) {
			cap = cap ? cap * 2 : 16;
			fails = xrealloc(fails, cap * sizeof(*fails));
		}
		struct stix_failure *f = &fails[nfail++];
		memset(f, 0, sizeof(*f));
		f->index = i;
		const char *id = json_string_value(json_object_get(obj, "id"));
		if (id != NULL && stix_id_valid(id, NULL))
			snprintf(f->id, sizeof(f->id), "%s", id);
		snprintf(f->key, sizeof(f->key), "%s", e.key);
		snprintf(f->msg, sizeof(f->msg), "%s", e.msg);
	}
	*failures_out = fails;
	return nfail;
}

/* ---- versions ------------------------------------------------------------- */

int
stix_object_version(const json_t *obj, char *modified, size_t len)
{
	if (!json_is_object(obj) || len == 0)
		return -1;
	static const struct {
		const char *prop;
		enum stix_version_source src;
	} order[] = {{"modified", STIX_VERSION_MODIFIED}, {"created", STIX_VERSION_CREATED}};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(order); i++) {
		const json_t *val = json_object_get(obj, order[i].prop);
		if (val == NULL)
			continue;
		const char *s = json_string_value(val);
		if (!stix_timestamp_valid(s) || strlen(s) >= len)
			return -1;
		memcpy(modified, s, strlen(s) + 1);
		return (int)order[i].src;
	}
	if (sizeof(STIX_VERSION_FIXED_VALUE) > len)
		return -1;
	memcpy(modified, STIX_VERSION_FIXED_VALUE, sizeof(STIX_VERSION_FIXED_VALUE));
	return STIX_VERSION_FIXED;
}
