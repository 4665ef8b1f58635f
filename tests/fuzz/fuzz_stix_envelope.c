/*
 * fuzz_stix_envelope.c - libFuzzer target for TAXII envelopes and STIX
 * bundles: parsing, then everything a TAXII server does with each object
 * before storing it (validation, version, kind, TLP, intel type).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "stix/stix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *objects = NULL;
	struct err e;
	if (stix_envelope_parse((const char *)data, size, 1000, &objects, &e) != 0)
		return 0;
	struct stix_failure *fails = NULL;
	size_t nfail = stix_objects_validate(objects, &fails);
	/* Every failure must name an object that exists. */
	for (size_t i = 0; i < nfail; i++)
		if (fails[i].index >= json_array_size(objects))
			abort();
	free(fails);
	size_t i;
	json_t *obj;
	json_array_foreach (objects, i, obj) {
		char version[64];
		(void)stix_object_version(obj, version, sizeof(version));
		(void)stix_object_kind(obj);
		(void)stix_tlp_name(stix_tlp_of_object(obj));
		(void)stix_intel_type_name(stix_intel_type_get(obj));
		/* Setting and clearing the intel type must leave a valid object
		 * valid, except the fixed TLP definitions, which may carry
		 * nothing but their published content. */
		struct err ve;
		int before = stix_object_validate(obj, &ve);
		const char *id = json_string_value(json_object_get(obj, "id"));
		if (stix_tlp_from_marking_id(id) != STIX_TLP_NONE)
			before = -1;
		if (stix_intel_type_set(obj, STIX_INTEL_EWA) == 0) {
			if (before == 0 && stix_object_validate(obj, &ve) != 0)
				abort();
			if (stix_intel_type_get(obj) != STIX_INTEL_EWA)
				abort();
			(void)stix_intel_type_set(obj, STIX_INTEL_NONE);
		}
	}
	json_decref(objects);
	return 0;
}
