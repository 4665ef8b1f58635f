/*
 * stix_object_int.h - what stix_object*.c, stix_marking.c and stix_ext.c
 * share while validating an object: the object's label for messages and
 * one way to fail, so every rule reports "<label>: property '<key>' ...".
 */
#ifndef CIIP_STIX_OBJECT_INT_H
#define CIIP_STIX_OBJECT_INT_H

#include "stix/stix.h"

struct stix_vctx {
	const char *label; /* "indicator--...", "object [3]" or "object" */
	struct err *e;
};

/* Fills v->e: msg "<label>: property '<key>' <fmt...>" (or "<label>:
 * <fmt...>" when key is NULL) and e->key. Always returns -1. key may come
 * from input: it is copied as printable ASCII and truncated. */
int stix_vfail(struct stix_vctx *v, const char *key, const char *fmt, ...) CIIP_PRINTF(3, 4);

/* Copies src to dst (len > 0) keeping printable ASCII only ('?' for the
 * rest) and truncating, so input never puts control bytes or broken UTF-8
 * into a message. */
void stix_copy_printable(char *dst, size_t len, const char *src);

/* Rules for marking-definition objects beyond the common ones, including
 * the fixed TLP definitions (stix_marking.c). */
int stix_marking_definition_check(struct stix_vctx *v, const json_t *obj);

/* Rules for the content of ciip's intel-type property extension
 * (stix_ext.c); ext is the value under extensions.<STIX_INTEL_EXT_ID>. */
int stix_intel_ext_check(struct stix_vctx *v, const json_t *ext);

#endif
