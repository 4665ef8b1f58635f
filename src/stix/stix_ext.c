/*
 * stix_ext.c - ciip's STIX property extension for the five national intel
 * types (ANA, DEF, INT, EWA, FBI), and its extension-definition object.
 *
 * The extension is a STIX 2.1 section 7.3 property extension, so any STIX
 * tool can carry the intel type without knowing ciip:
 *
 *   "extensions": {
 *     "extension-definition--49e79b4e-09ea-4b24-ae52-e582d779e501": {
 *       "extension_type": "property-extension",
 *       "intel_type": "EWA"
 *     }
 *   }
 *
 * The id of the definition and of ciip's identity were generated once and
 * must never change: peers match on them.
 */
#include "stix/stix_object_int.h"

#include <string.h>
#include <strings.h>

/* The definition's fixed timestamps: it is version 1.0 and is never
 * modified; a new version of the extension gets a new id. */
#define INTEL_EXT_CREATED "2026-01-01T00:00:00.000Z"
/* A URN, not a URL, so the definition does not depend on any host being
 * reachable. The JSON schema document is meant to be published by ciipd
 * at /schemas/ciip-intel-type.json; that file does not exist yet. */
#define INTEL_EXT_SCHEMA "urn:ciip:stix:extension:intel-type:1.0"

static const struct {
	const char *name;
	const char *describe;
} intel_types[] = {
	[STIX_INTEL_NONE] = {"none", "none"},
	[STIX_INTEL_ANA] = {"ANA", "security information"},
	[STIX_INTEL_DEF] = {"DEF", "web attack"},
	[STIX_INTEL_INT] = {"INT", "intrusion"},
	[STIX_INTEL_EWA] = {"EWA", "early warning"},
	[STIX_INTEL_FBI] = {"FBI", "feedback"},
};

int
stix_intel_type_parse(const char *s, enum stix_intel_type *out)
{
	if (s == NULL)
		return -1;
	for (size_t i = STIX_INTEL_ANA; i < CIIP_ARRAY_LEN(intel_types); i++) {
		if (strcasecmp(s, intel_types[i].name) == 0) {
			*out = (enum stix_intel_type)i;
			return 0;
		}
	}
	return -1;
}

const char *
stix_intel_type_name(enum stix_intel_type t)
{
	if ((size_t)t >= CIIP_ARRAY_LEN(intel_types))
		return "none";
	return intel_types[t].name;
}

const char *
stix_intel_type_describe(enum stix_intel_type t)
{
	if ((size_t)t >= CIIP_ARRAY_LEN(intel_types))
		return "none";
	return intel_types[t].describe;
}

/* Exact, upper-case names only on the wire, so that every node stores and
 * compares the same bytes. */
static enum stix_intel_type
intel_type_from_wire(const char *s)
{
	for (size_t i = STIX_INTEL_ANA; s != NULL && i < CIIP_ARRAY_LEN(intel_types); i++)
		if (strcmp(s, intel_types[i].name) == 0)
			return (enum stix_intel_type)i;
	return STIX_INTEL_NONE;
}

int
stix_intel_ext_check(struct stix_vctx *v, const json_t *ext)
{
	const char *et = json_string_value(json_object_get(ext, "extension_type"));
	if (et == NULL || strcmp(et, "property-extension") != 0)
		return stix_vfail(v, "extension_type",
		                  "of the intel-type extension must be \"property-extension\"");
	const json_t *it = json_object_get(ext, "intel_type");
	if (it == NULL)
		return stix_vfail(v, "intel_type", "is required in the intel-type extension");
	if (intel_type_from_wire(json_string_value(it)) == STIX_INTEL_NONE)
		return stix_vfail(v, "intel_type", "must be one of ANA, DEF, INT, EWA, FBI");
	const char *key;
	const json_t *val;
	json_object_foreach ((json_t *)ext, key, val)
		if (strcmp(key, "extension_type") != 0 && strcmp(key, "intel_type") != 0)
			return stix_vfail(v, key, "is not defined by the intel-type extension");
	return 0;
}

enum stix_intel_type
stix_intel_type_get(const json_t *obj)
{
	const json_t *ext = json_object_get(json_object_get(obj, "extensions"), STIX_INTEL_EXT_ID);
	return intel_type_from_wire(json_string_value(json_object_get(ext, "intel_type")));
}

int
stix_intel_type_set(json_t *obj, enum stix_intel_type t)
{
	if (!json_is_object(obj) || (size_t)t >= CIIP_ARRAY_LEN(intel_types))
		return -1;
	json_t *exts = json_object_get(obj, "extensions");
	if (exts != NULL && !json_is_object(exts))
		return -1;
	if (t == STIX_INTEL_NONE) {
		if (exts == NULL)
			return 0;
		json_object_del(exts, STIX_INTEL_EXT_ID);
		/* STIX forbids an empty "extensions". */
		if (json_object_size(exts) == 0)
			json_object_del(obj, "extensions");
		return 0;
	}
	json_t *ext = json_pack("{s:s, s:s}", "extension_type", "property-extension", "intel_type",
	                        intel_types[t].name);
	if (exts == NULL) {
		exts = json_object();
		json_object_set_new(obj, "extensions", exts);
	}
	json_object_set_new(exts, STIX_INTEL_EXT_ID, ext);
	return 0;
}

json_t *
stix_intel_type_definition(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "type",
	                 "extension-definition", "spec_version", "2.1", "id", STIX_INTEL_EXT_ID,
	                 "created_by_ref", STIX_CIIP_IDENTITY_ID, "created", INTEL_EXT_CREATED,
	                 "modified", INTEL_EXT_CREATED, "name", "ciip national intel type",
	                 "description",
	                 "The national intel type of the object: ANA (security information), DEF "
	                 "(web attack), INT (intrusion), EWA (early warning) or FBI (feedback), in "
	                 "the property 'intel_type'.",
	                 "schema", INTEL_EXT_SCHEMA, "version", "1.0", "extension_types",
	                 "property-extension");
}
