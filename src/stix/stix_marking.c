/*
 * stix_marking.c - Traffic Light Protocol markings: the fixed TLP marking
 * definitions, an object's TLP, and the rule for who may receive what.
 *
 * Two generations of fixed marking-definition objects are in use. TLP 1.0
 * is STIX 2.1 section 7.2.1.4 (definition_type "tlp", created
 * 2017-01-20); TLP 2.0 is the OASIS extension-definition--60a3c5c5-...
 * (cti-stix-common-objects, extension-definition-specifications/tlp-2.0),
 * whose five objects carry the level in a property extension, created
 * 2022-10-01. Both are recognised; ciip writes TLP 2.0. TLP 1.0 WHITE is
 * the same level as TLP 2.0 CLEAR.
 */
#include "stix/stix_object_int.h"

#include <string.h>
#include <strings.h>

#define TLP2_EXT_ID "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define TLP1_CREATED "2017-01-20T00:00:00.000Z"
#define TLP2_CREATED "2022-10-01T00:00:00.000Z"

static const struct tlp_def {
	enum stix_tlp tlp;
	bool v2;
	const char *id;
	const char *name;  /* the "name" property */
	const char *value; /* definition.tlp (1.0) or the extension's tlp_2_0 */
} tlp_defs[] = {
	{STIX_TLP_CLEAR, true, "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR",
	 "clear"},
	{STIX_TLP_GREEN, true, "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN",
	 "green"},
	{STIX_TLP_AMBER, true, "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER",
	 "amber"},
	{STIX_TLP_AMBER_STRICT, true, "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	 "TLP:AMBER+STRICT", "amber+strict"},
	{STIX_TLP_RED, true, "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED",
	 "red"},
	{STIX_TLP_CLEAR, false, "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE",
	 "white"},
	{STIX_TLP_GREEN, false, "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN",
	 "green"},
	{STIX_TLP_AMBER, false, "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER",
	 "amber"},
	{STIX_TLP_RED, false, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED",
	 "red"},
};

static const struct tlp_def *
tlp_def_by_id(const char *id)
{
	if (id == NULL)
		return NULL;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(tlp_defs); i++)
		if (strcmp(tlp_defs[i].id, id) == 0)
			return &tlp_defs[i];
	return NULL;
}

/* The published object, built anew so callers may keep or change it. */
static json_t *
tlp_def_object(const struct tlp_def *d)
{
	if (d->v2)
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}", "type",
		                 "marking-definition", "spec_version", "2.1", "id", d->id, "created",
		                 TLP2_CREATED, "name", d->name, "extensions", TLP2_EXT_ID,
		                 "extension_type", "property-extension", "tlp_2_0", d->value);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "type", "marking-definition",
	                 "spec_version", "2.1", "id", d->id, "created", TLP1_CREATED,
	                 "definition_type", "tlp", "name", d->name, "definition", "tlp", d->value);
}

enum stix_tlp
stix_tlp_from_marking_id(const char *id)
{
	const struct tlp_def *d = tlp_def_by_id(id);
	return d ? d->tlp : STIX_TLP_NONE;
}

enum stix_tlp
stix_tlp_of_object(const json_t *obj)
{
	enum stix_tlp worst = STIX_TLP_NONE;
	size_t i;
	const json_t *ref;
	json_array_foreach (json_object_get(obj, "object_marking_refs"), i, ref) {
		enum stix_tlp t = stix_tlp_from_marking_id(json_string_value(ref));
		if (t > worst)
			worst = t;
	}
	return worst;
}

static const char *const tlp_names[] = {
	[STIX_TLP_NONE] = "none",   [STIX_TLP_CLEAR] = "clear",
	[STIX_TLP_GREEN] = "green", [STIX_TLP_AMBER] = "amber",
	[STIX_TLP_AMBER_STRICT] = "amber+strict", [STIX_TLP_RED] = "red",
};

const char *
stix_tlp_name(enum stix_tlp tlp)
{
	if ((size_t)tlp >= CIIP_ARRAY_LEN(tlp_names))
		return "none";
	return tlp_names[tlp];
}

int
stix_tlp_parse(const char *s, enum stix_tlp *out)
{
	if (s == NULL)
		return -1;
	if (strncasecmp(s, "TLP:", 4) == 0)
		s += 4;
	if (strcasecmp(s, "white") == 0) {
		*out = STIX_TLP_CLEAR;
		return 0;
	}
	for (size_t i = 0; i < CIIP_ARRAY_LEN(tlp_names); i++) {
		if (strcasecmp(s, tlp_names[i]) == 0) {
			*out = (enum stix_tlp)i;
			return 0;
		}
	}
	return -1;
}

const char *
stix_tlp_marking_id(enum stix_tlp tlp)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(tlp_defs); i++)
		if (tlp_defs[i].v2 && tlp_defs[i].tlp == tlp)
			return tlp_defs[i].id;
	return NULL;
}

json_t *
stix_tlp_definitions(void)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < CIIP_ARRAY_LEN(tlp_defs); i++)
		if (tlp_defs[i].v2)
			json_array_append_new(arr, tlp_def_object(&tlp_defs[i]));
	return arr;
}

/*
 * The sharing rule of DESIGN.md, "Security model", in one place:
 *
 *   RED          the owning organisation only: it never leaves the node
 *                towards anyone else, peers and community included.
 *   AMBER+STRICT the owning organisation only.
 *   AMBER        the owning organisation and the community. (TLP 2.0 lets
 *                AMBER reach the recipient's clients; ciip's community is
 *                the widest circle it can check, so it stops there.)
 *   GREEN        the owning organisation and the community.
 *   CLEAR        anyone, including the public portal.
 *   NONE         unmarked: handled as AMBER, the design's default, so that
 *                forgetting a marking never widens an audience.
 */
bool
stix_tlp_may_share(enum stix_tlp tlp, bool same_org, bool in_community)
{
	switch (tlp) {
	case STIX_TLP_CLEAR:
		return true;
	case STIX_TLP_NONE:
	case STIX_TLP_GREEN:
	case STIX_TLP_AMBER:
		return same_org || in_community;
	case STIX_TLP_AMBER_STRICT:
	case STIX_TLP_RED:
		return same_org;
	}
	return false;
}

/* ---- validation of marking-definition objects ---------------------------- */

/* Names the first property where obj and the published object differ. */
static const char *
first_difference(const json_t *obj, const json_t *want)
{
	const char *key;
	const json_t *val;
	json_object_foreach ((json_t *)want, key, val)
		if (!json_equal(json_object_get(obj, key), val))
			return key;
	json_object_foreach ((json_t *)obj, key, val)
		if (json_object_get(want, key) == NULL)
			return key;
	return NULL;
}

int
stix_marking_definition_check(struct stix_vctx *v, const json_t *obj)
{
	const json_t *dtype = json_object_get(obj, "definition_type");
	const json_t *def = json_object_get(obj, "definition");
	if ((dtype == NULL) != (def == NULL))
		return stix_vfail(v, dtype ? "definition" : "definition_type",
		                  "is required with '%s'", dtype ? "definition_type" : "definition");
	/* Section 7.2.1: a marking without a definition is defined by an
	 * extension. */
	if (dtype == NULL && json_object_get(obj, "extensions") == NULL)
		return stix_vfail(v, "definition", "or 'extensions' is required");
	const char *dt = json_string_value(dtype);
	if (dt != NULL && strcmp(dt, "statement") == 0 &&
	    !json_is_string(json_object_get(def, "statement")))
		return stix_vfail(v, "definition", "needs a string 'statement'");

	const char *id = json_string_value(json_object_get(obj, "id"));
	const struct tlp_def *d = tlp_def_by_id(id);
	bool claims_tlp = (dt != NULL && strcmp(dt, "tlp") == 0) ||
	                  json_object_get(json_object_get(obj, "extensions"), TLP2_EXT_ID) != NULL;
	if (d == NULL) {
		/* A TLP level only means something under its fixed id: anything
		 * else could pass off other handling rules as TLP. */
		if (claims_tlp)
			return stix_vfail(v, "id", "is not one of the fixed TLP marking-definition ids");
		return 0;
	}
	json_t *want = tlp_def_object(d);
	const char *diff = first_difference(obj, want);
	int rc = 0;
	if (diff != NULL)
		rc = stix_vfail(v, diff, "differs from the fixed %s %s definition", d->name,
		                d->v2 ? "(TLP 2.0)" : "(TLP 1.0)");
	json_decref(want);
	return rc;
}
