/*
 * stix.h - STIX 2.1: object validation, identifiers, versions and TLP
 * markings; the patterning language parser and evaluator.
 */
#ifndef CIIP_STIX_H
#define CIIP_STIX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ==== BEGIN objects section (validation, ids, timestamps, markings) ==== */
/* ==== END objects section ==== */

/* ==== BEGIN patterns section (parser, evaluator) ==== */
/* ==== END patterns section ==== */

#endif
