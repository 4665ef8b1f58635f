/*
 * stix_object_envelope.c - reading the two containers STIX objects arrive
 * in: a TAXII 2.1 envelope (POST body, GET response) and a STIX bundle
 * (files, feeds). Both are untrusted input: size and nesting are checked on
 * the raw bytes before the JSON parser runs.
 */
#include "stix/stix_object_int.h"

#include <stdio.h>

#include <string.h>

#define ENVELOPE_NEXT_MAX_BYTES 1024

/*
 * Returns the deepest nesting of arrays and objects in buf, stopping as
 * soon as it exceeds limit. Strings are skipped (with their escapes) so
 * brackets inside them do not count. Malformed JSON is left for jansson to
 * report; this only has to be right about depth for well-formed input and
 * never read out of bounds for any input.
 */
static int
scan_depth(const char *buf, size_t len, int limit)
{
	int depth = 0, max = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
			if (depth > max)
				max = depth;
			if (max > limit)
				return max;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return max;
}

/* The envelope's properties are TAXII 2.1 section 3.7's, the bundle's STIX
 * 2.1 section 8's; anything else means the sender speaks something else
 * (a bundle without "type" is the usual case). */
static int
check_envelope_keys(const json_t *root, bool bundle, struct err *e)
{
	static const char *const bundle_keys[] = {"type", "id", "objects"};
	static const char *const envelope_keys[] = {"objects", "more", "next"};
	const char *const *allowed = bundle ? bundle_keys : envelope_keys;
	const char *key;
	const json_t *val;
	json_object_foreach ((json_t *)root, key, val) {
		bool ok = false;
		for (size_t i = 0; i < 3; i++)
			ok = ok || strcmp(key, allowed[i]) == 0;
		if (ok)
			continue;
		stix_copy_printable(e->key, sizeof(e->key), key);
		err_set(e, "%s: property '%s' is not allowed", bundle ? "bundle" : "envelope", e->key);
		return -1;
	}
	return 0;
}

int
stix_envelope_parse(const char *buf, size_t len, size_t max_objects, json_t **objects_out,
                    struct err *e)
{
	struct err scratch;
	if (e == NULL)
		e = &scratch;
	err_clear(e);
	if (max_objects == 0)
		max_objects = STIX_ENVELOPE_MAX_OBJECTS;
	if (len > STIX_ENVELOPE_MAX_BYTES) {
		err_set(e, "envelope: %zu bytes is more than the limit of %u", len,
		        STIX_ENVELOPE_MAX_BYTES);
		return -1;
	}
	if (scan_depth(buf, len, STIX_ENVELOPE_MAX_DEPTH) > STIX_ENVELOPE_MAX_DEPTH) {
		err_set(e, "envelope: nests deeper than %d levels", STIX_ENVELOPE_MAX_DEPTH);
		return -1;
	}
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		err_set(e, "envelope: invalid JSON: %s", jerr.text);
		e->line = jerr.line;
		e->column = jerr.column;
		return -1;
	}
	int rc = -1;
	if (!json_is_object(root)) {
		err_set(e, "envelope: must be a JSON object");
		goto out;
	}
	/* A bundle says so; a TAXII envelope has no "type". */
	const json_t *type = json_object_get(root, "type");
	bool bundle = type != NULL;
	if (bundle) {
		if (!json_is_string(type) || strcmp(json_string_value(type), "bundle") != 0) {
			snprintf(e->key, sizeof(e->key), "type");
			err_set(e, "bundle: property 'type' must be \"bundle\"");
			goto out;
		}
		if (!stix_id_valid(json_string_value(json_object_get(root, "id")), "bundle")) {
			snprintf(e->key, sizeof(e->key), "id");
			err_set(e, "bundle: property 'id' must be a bundle--<UUID> identifier");
			goto out;
		}
	} else {
		const json_t *more = json_object_get(root, "more");
		const json_t *next = json_object_get(root, "next");
		if (more != NULL && !json_is_boolean(more)) {
			snprintf(e->key, sizeof(e->key), "more");
			err_set(e, "envelope: property 'more' must be a boolean");
			goto out;
		}
		if (next != NULL &&
		    !(json_is_string(next) && json_string_length(next) <= ENVELOPE_NEXT_MAX_BYTES)) {
			snprintf(e->key, sizeof(e->key), "next");
			err_set(e, "envelope: property 'next' must be a string of at most %d bytes",
			        ENVELOPE_NEXT_MAX_BYTES);
			goto out;
		}
	}
	if (check_envelope_keys(root, bundle, e) != 0)
		goto out;
	json_t *objects = json_object_get(root, "objects");
	if (objects != NULL && !json_is_array(objects)) {
		snprintf(e->key, sizeof(e->key), "objects");
		err_set(e, "%s: property 'objects' must be a list", bundle ? "bundle" : "envelope");
		goto out;
	}
	if (objects != NULL && json_array_size(objects) > max_objects) {
		snprintf(e->key, sizeof(e->key), "objects");
		err_set(e, "%s: %zu objects is more than the limit of %zu",
		        bundle ? "bundle" : "envelope", json_array_size(objects), max_objects);
		goto out;
	}
	*objects_out = objects ? json_incref(objects) : json_array();
	rc = 0;
out:
	json_decref(root);
	return rc;
}
