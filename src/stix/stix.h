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

/*
 * Identifiers are "<type>--<UUID>"; a type is at most 250 characters, so an
 * id fits in STIX_ID_MAX bytes with its NUL. Timestamps written by ciip are
 * "YYYY-MM-DDTHH:mm:ss.sssZ" and fit in STIX_TIMESTAMP_MAX bytes.
 */
#define STIX_TYPE_MAX_CHARS 250
#define STIX_ID_MAX (STIX_TYPE_MAX_CHARS + 2 + 36 + 1)
#define STIX_TIMESTAMP_MAX 25

/* What a TAXII envelope or bundle may hold before it is parsed: bytes,
 * nesting of arrays and objects (the envelope itself is depth 1), objects. */
#define STIX_ENVELOPE_MAX_BYTES (64u * 1024 * 1024)
#define STIX_ENVELOPE_MAX_DEPTH 64
#define STIX_ENVELOPE_MAX_OBJECTS 100000

/* ---- identifiers and timestamps ---------------------------------------- */

/* True if type is a syntactically valid STIX 2.1 type name: 3-250 chars of
 * a-z, 0-9 and '-', starting with a letter, with no "--". */
bool stix_type_valid(const char *type);
/*
 * True if id is "<type>--<UUID>" with a valid type and an RFC 4122 UUID in
 * its textual form (hex of either case, version 1-8, variant 10xx). When
 * expect_type is not NULL the id's type must equal it.
 */
bool stix_id_valid(const char *id, const char *expect_type);
/* Writes a new "<type>--<UUIDv4>" id from the kernel CSPRNG (getrandom) to
 * out. len must be at least STIX_ID_MAX or strlen(type) + 39; type must be
 * valid. Aborts if the kernel has no randomness to give. */
void stix_id_new(const char *type, char *out, size_t len);
/* True if s is a STIX timestamp "YYYY-MM-DDTHH:mm:ss[.s+]Z" (UTC, 'T' and
 * 'Z' upper case) naming a real calendar date and time. */
bool stix_timestamp_valid(const char *s);
/* Orders two valid STIX timestamps at full precision (not just
 * milliseconds): <0, 0 or >0 as a is before, equal to or after b. If
 * either is not a valid timestamp the result is strcmp's. */
int stix_timestamp_cmp(const char *a, const char *b);
/* Writes the current time (time_now_ms(), so tests can fake it) as
 * "YYYY-MM-DDTHH:mm:ss.sssZ"; buf must hold STIX_TIMESTAMP_MAX bytes. */
void stix_timestamp_now(char *buf);

/* ---- objects ------------------------------------------------------------ */

enum stix_kind {
	STIX_KIND_UNKNOWN, /* no type, or not a valid type name */
	STIX_KIND_SDO,     /* domain object: indicator, malware, report, ... */
	STIX_KIND_SCO,     /* cyber-observable: ipv4-addr, file, url, ... */
	STIX_KIND_SRO,     /* relationship, sighting */
	STIX_KIND_META,    /* marking-definition, language-content, extension-definition */
	STIX_KIND_CUSTOM   /* any other well-formed type ("x-..." or an extension's) */
};

/* Classifies a type name / an object by its "type". "bundle" is UNKNOWN:
 * a bundle is a wrapper, not an object. */
enum stix_kind stix_kind_of_type(const char *type);
enum stix_kind stix_object_kind(const json_t *obj);
/* "sdo", "sco", "sro", "meta", "custom" or "unknown". */
const char *stix_kind_name(enum stix_kind kind);

/*
 * Validates one STIX 2.1 object of any kind against the rules of the
 * specification that can be checked without the rest of the collection:
 * required properties per kind and type, id syntax and type, timestamps,
 * ordering of time pairs, *_ref/_refs identifiers, common property shapes,
 * TLP marking definitions (a fixed TLP id must carry exactly the fixed
 * content), and ciip's intel-type extension. Custom objects ("x-..." or
 * any unknown type) that have "created" are checked like SDOs, others like
 * SCOs. References are not resolved.
 *
 * Returns 0, or -1 with e->msg naming the object ("<id>: ..." or "object
 * [<index>]: ..." in stix_objects_validate) and the property, and e->key
 * holding the property's name.
 */
int stix_object_validate(const json_t *obj, struct err *e) CIIP_MUST_CHECK;

/* One object of an array that failed validation. */
struct stix_failure {
	size_t index;          /* position in the array */
	char id[STIX_ID_MAX];  /* its id, or "" if it has none usable */
	char key[128];         /* the property at fault, or "" */
	char msg[512];         /* the message for people */
};

/*
 * Validates every element of a JSON array of objects. Returns the number of
 * failures; *failures_out is then an array of that many entries that the
 * caller frees with free(), or NULL when there are none (or objects is not
 * an array, which counts as one failure at index 0).
 */
size_t stix_objects_validate(const json_t *objects, struct stix_failure **failures_out);

/*
 * Which property gives an object's version: "modified" for SDOs, SROs and
 * the versioned meta objects; "created" for objects that have no modified
 * (marking definitions cannot be versioned, so created names their only
 * version); otherwise (SCOs, which are not versioned either) the fixed
 * STIX_VERSION_FIXED_VALUE, which a TAXII server may replace by the date
 * the object was added.
 */
enum stix_version_source {
	STIX_VERSION_MODIFIED,
	STIX_VERSION_CREATED,
	STIX_VERSION_FIXED
};
#define STIX_VERSION_FIXED_VALUE "1970-01-01T00:00:00.000Z"

/* Copies the version key of obj into modified (at least STIX_TIMESTAMP_MAX
 * bytes are enough for ciip's own timestamps; longer fractions need more).
 * Returns the enum stix_version_source it came from, or -1 if obj is not an
 * object, the property is not a valid timestamp, or it does not fit. */
int stix_object_version(const json_t *obj, char *modified, size_t len) CIIP_MUST_CHECK;

/*
 * Parses a TAXII 2.1 envelope {"objects": [...], "more": b, "next": s} or a
 * STIX bundle {"type": "bundle", "id": "bundle--...", "objects": [...]} from
 * buf. The size (STIX_ENVELOPE_MAX_BYTES) and nesting depth
 * (STIX_ENVELOPE_MAX_DEPTH) are checked on the raw bytes before jansson
 * sees them, since jansson's parser recurses without a limit we control.
 * Duplicate keys are refused. max_objects caps the array (0 means
 * STIX_ENVELOPE_MAX_OBJECTS). The objects themselves are not validated
 * here: use stix_objects_validate to learn which ones fail and why.
 *
 * Returns 0 and *objects_out, a JSON array (empty when "objects" is absent)
 * the caller releases with json_decref(); or -1 with e set (line and column
 * for JSON syntax errors) and *objects_out untouched.
 */
int stix_envelope_parse(const char *buf, size_t len, size_t max_objects, json_t **objects_out,
                        struct err *e) CIIP_MUST_CHECK;

/* ---- TLP markings ------------------------------------------------------- */

/* Ordered from least to most restrictive, so the larger value is stricter. */
enum stix_tlp {
	STIX_TLP_NONE,
	STIX_TLP_CLEAR,
	STIX_TLP_GREEN,
	STIX_TLP_AMBER,
	STIX_TLP_AMBER_STRICT,
	STIX_TLP_RED
};

/* The TLP of a marking-definition id: the five TLP 2.0 ids and the four TLP
 * 1.0 ids (white maps to CLEAR). Any other id gives STIX_TLP_NONE. */
enum stix_tlp stix_tlp_from_marking_id(const char *id);
/* The strictest TLP among obj's object_marking_refs; NONE if it has none.
 * Granular markings are not considered. */
enum stix_tlp stix_tlp_of_object(const json_t *obj);
/* "clear", "green", "amber", "amber+strict", "red" or "none". */
const char *stix_tlp_name(enum stix_tlp tlp);
/* Parses a TLP name, case-insensitively, with or without a "TLP:" prefix;
 * "white" is CLEAR and "none" is NONE. Returns 0, or -1 (out unchanged). */
int stix_tlp_parse(const char *s, enum stix_tlp *out) CIIP_MUST_CHECK;
/* The TLP 2.0 marking-definition id of tlp, or NULL for NONE. */
const char *stix_tlp_marking_id(enum stix_tlp tlp);
/* A new JSON array of the five TLP 2.0 marking-definition objects, exactly
 * as published by OASIS; the caller releases it with json_decref(). */
json_t *stix_tlp_definitions(void);
/*
 * The sharing rule. same_org: the recipient is the organisation that owns
 * the object. in_community: the recipient belongs to the community this
 * node shares with. CLEAR goes anywhere; GREEN and AMBER only inside the
 * community; AMBER+STRICT and RED only to the owning organisation (RED
 * never leaves the node towards anyone else). NONE (unmarked) is treated as
 * AMBER; callers that configure another default apply it first.
 */
bool stix_tlp_may_share(enum stix_tlp tlp, bool same_org, bool in_community);

/* ---- the national intel type extension --------------------------------- */

/*
 * ciip's property extension carries one of the five national intel types
 * on any object: extensions.<STIX_INTEL_EXT_ID> = {"extension_type":
 * "property-extension", "intel_type": "EWA"}. The extension-definition is
 * published by ciip's identity STIX_CIIP_IDENTITY_ID.
 */
#define STIX_INTEL_EXT_ID "extension-definition--49e79b4e-09ea-4b24-ae52-e582d779e501"
#define STIX_CIIP_IDENTITY_ID "identity--09b496d8-d955-4243-8468-046b11bf93de"

enum stix_intel_type {
	STIX_INTEL_NONE,
	STIX_INTEL_ANA, /* security information (analysis) */
	STIX_INTEL_DEF, /* web attack (defacement) */
	STIX_INTEL_INT, /* intrusion */
	STIX_INTEL_EWA, /* early warning */
	STIX_INTEL_FBI  /* feedback */
};

/* Parses "ANA", "DEF", "INT", "EWA" or "FBI" (case-insensitive). Returns 0,
 * or -1 (out unchanged). */
int stix_intel_type_parse(const char *s, enum stix_intel_type *out) CIIP_MUST_CHECK;
/* "ANA" ... "FBI", or "none". */
const char *stix_intel_type_name(enum stix_intel_type t);
/* A short English description ("early warning"), or "none". */
const char *stix_intel_type_describe(enum stix_intel_type t);
/* The intel type carried by obj, or NONE if absent or not well-formed. */
enum stix_intel_type stix_intel_type_get(const json_t *obj);
/* Sets (or with NONE removes) obj's intel type extension. Returns 0, or -1
 * if obj is not an object or its "extensions" is not an object (obj is then
 * unchanged). Changing an object's content is a new version: the caller
 * updates "modified". */
int stix_intel_type_set(json_t *obj, enum stix_intel_type t) CIIP_MUST_CHECK;
/* A new extension-definition object for the extension; json_decref() it. */
json_t *stix_intel_type_definition(void);

/* ==== END objects section ==== */

/* ==== BEGIN patterns section (parser, evaluator) ==== */

/*
 * The STIX 2.1 patterning language (STIX 2.1 section 9, grammar of
 * oasis-open/cti-stix2-json-schemas STIXPattern.g4).
 *
 * stix_pattern_parse() turns text into a tree that callers may walk
 * directly (the compiled matcher in src/detect does). Ownership rule:
 * every pointer reachable from a struct stix_pattern, strings included,
 * belongs to it and dies with stix_pattern_free(); walkers borrow and never
 * free or modify. The tree is read-only after parsing, so one pattern may be
 * walked from several threads at once.
 *
 * Precedence follows the grammar, lowest first: FOLLOWEDBY, OR, AND, then
 * qualifiers, which bind to the expression on their left. Inside [ ]: OR,
 * then AND. Operators of one precedence form one n-ary node, so
 * "[a] AND [b] AND [c]" is one OBS_AND with three kids; parentheses leave no
 * node of their own but show where a kid of the same kind is nested.
 */

#define STIX_PATTERN_MAX_BYTES 65536      /* longest text accepted */
#define STIX_PATTERN_MAX_DEPTH 64         /* nesting of ( and [ */
#define STIX_PATTERN_MAX_COMPARISONS 4096 /* comparisons in one pattern */

enum stix_literal_type {
	STIX_LITERAL_STRING,    /* 'text' with \' and \\ escapes */
	STIX_LITERAL_INT,       /* 42, -1, +7 */
	STIX_LITERAL_FLOAT,     /* 7.0, -.5 (no exponent in the grammar) */
	STIX_LITERAL_BOOL,      /* true, false */
	STIX_LITERAL_BINARY,    /* b'base64' */
	STIX_LITERAL_HEX,       /* h'0a0b' */
	STIX_LITERAL_TIMESTAMP, /* t'2016-06-01T01:30:00.123Z' */
};

struct stix_literal {
	enum stix_literal_type type;
	/* STRING: the unescaped text; FLOAT: the number as written, without a
	 * leading '+'; TIMESTAMP: the RFC 3339 text between the quotes. NULL for
	 * the other types. NUL-terminated (patterns may not contain NUL). */
	const char *text;
	size_t text_len;
	/* BINARY and HEX: the decoded bytes (NULL when there are none). */
	const unsigned char *bytes;
	size_t nbytes;
	int64_t i;     /* INT */
	double f;      /* FLOAT; for INT also the value as a double */
	bool b;        /* BOOL */
	int64_t ts_ms; /* TIMESTAMP, ms since the epoch (fraction truncated) */
};

enum stix_path_step_kind {
	STIX_PATH_KEY,   /* .name or .'quoted name' */
	STIX_PATH_INDEX, /* [3]; a negative index is legal syntax, never matches */
	STIX_PATH_ANY,   /* [*] */
};

struct stix_path_step {
	enum stix_path_step_kind kind;
	const char *key; /* KEY only */
	int64_t index;   /* INDEX only */
};

/* "file:hashes.'SHA-256'" is object_type "file", steps {KEY hashes, KEY
 * SHA-256}. The property after the colon is steps[0]; nsteps >= 1. */
struct stix_object_path {
	const char *object_type;
	const struct stix_path_step *steps;
	size_t nsteps;
};

enum stix_cmp_op {
	STIX_CMP_EQ, /* = (also written ==) */
	STIX_CMP_NE, /* != (also written <>) */
	STIX_CMP_LT,
	STIX_CMP_LE,
	STIX_CMP_GT,
	STIX_CMP_GE,
	STIX_CMP_IN,
	STIX_CMP_LIKE,
	STIX_CMP_MATCHES,
	STIX_CMP_ISSUBSET,
	STIX_CMP_ISSUPERSET,
	STIX_CMP_EXISTS,
};

struct stix_pattern_comparison {
	struct stix_object_path path;
	enum stix_cmp_op op;
	bool negated; /* "NOT" before the operator; never set for EXISTS */
	/* The right-hand side of every operator but IN and EXISTS. LIKE, MATCHES,
	 * ISSUBSET and ISSUPERSET always have a STRING; <, <=, >, >= never BOOL. */
	struct stix_literal value;
	/* IN: the members of the set, possibly none. */
	const struct stix_literal *set;
	size_t nset;
};

enum stix_qualifier_kind {
	STIX_QUALIFIER_WITHIN,     /* WITHIN n SECONDS */
	STIX_QUALIFIER_REPEATS,    /* REPEATS n TIMES */
	STIX_QUALIFIER_START_STOP, /* START t'..' STOP t'..' */
};

struct stix_pattern_qualifier {
	enum stix_qualifier_kind kind;
	struct stix_literal within;      /* WITHIN: INT or FLOAT seconds, > 0 */
	int64_t repeats;                 /* REPEATS: >= 1 */
	struct stix_literal start, stop; /* START_STOP: TIMESTAMP each */
};

enum stix_pattern_node_kind {
	STIX_PATTERN_OBS_FOLLOWEDBY, /* kids: observation-level, in order */
	STIX_PATTERN_OBS_OR,
	STIX_PATTERN_OBS_AND,
	STIX_PATTERN_QUALIFIED,   /* kids[0] with quals[] applied in order */
	STIX_PATTERN_OBSERVATION, /* [ kids[0] ]: kids[0] is comparison-level */
	STIX_PATTERN_CMP_OR,      /* kids: comparison-level */
	STIX_PATTERN_CMP_AND,
	STIX_PATTERN_COMPARISON, /* leaf: cmp */
};

struct stix_pattern_node {
	enum stix_pattern_node_kind kind;
	int column; /* 1-based byte offset of the node's first token */
	/* OBSERVATION: 0..n_observations-1; COMPARISON: 0..n_comparisons-1, in
	 * source order, so matchers can keep per-leaf state in arrays. */
	size_t id;
	struct stix_pattern_node *const *kids; /* operators: >= 2; QUALIFIED, OBSERVATION: 1 */
	size_t nkids;
	/* QUALIFIED: quals[0] binds tightest. One chain never repeats a kind. */
	const struct stix_pattern_qualifier *quals;
	size_t nquals;
	struct stix_pattern_comparison cmp; /* COMPARISON */
};

struct stix_pattern_arena;

struct stix_pattern {
	struct stix_pattern_node *root;
	size_t n_observations;
	size_t n_comparisons;
	struct stix_pattern_arena *arena; /* private: owns all of the above */
};

/*
 * Parses len bytes of text (no NUL needed, none allowed). Returns a pattern
 * the caller frees with stix_pattern_free(), or NULL with e filled: e->column
 * is the 1-based byte position of the problem and e->msg says what was
 * expected and what was found. Never crashes, leaks or loops on any input;
 * the limits above are errors like any other, and STIX_PATTERN_MAX_BYTES
 * also bounds the normal form, so that it always parses again.
 */
struct stix_pattern *stix_pattern_parse(const char *text, size_t len, struct err *e)
    CIIP_MUST_CHECK;
void stix_pattern_free(struct stix_pattern *p); /* NULL is fine */
/* Appends the normalised text: one space around operators, upper-case
 * keywords, minimal parentheses, == and <> written = and !=, binary
 * re-encoded as canonical base64, hex in lower case. Re-parsing it gives a
 * tree stix_pattern_equal() to p. */
void stix_pattern_format(const struct stix_pattern *p, struct buf *out);
/* Structural equality (columns aside). */
bool stix_pattern_equal(const struct stix_pattern *a, const struct stix_pattern *b);
/* "=", "!=", ..., "IN", "EXISTS". */
const char *stix_cmp_op_name(enum stix_cmp_op op);

/*
 * Reference evaluator (semantics of oasis-open/cti-pattern-matcher).
 *
 * An observation is one observed-data: its time window, how many times it
 * was seen, and its cyber-observable objects, either the STIX 2.0 style
 * dictionary {"0": {...}, "1": {...}} (references name keys) or a JSON array
 * of STIX 2.1 SCOs (references name "id"s). "*_ref" and "*_refs" properties
 * are followed to objects of the same observation.
 *
 * A comparison holds when some value its path reaches ([*] = any element)
 * passes; a missing property passes nothing, NOT included. Values of another
 * type than the literal are unequal (so != and NOT = hold) but never
 * ordered; LIKE, MATCHES, ISSUBSET and ISSUPERSET hold only for strings
 * (MATCHES also for "_bin"/"_hex" binary). Timestamps compare to the
 * millisecond; strings are not Unicode-normalised.
 *
 * An observation with number_observed k counts as k observations for
 * REPEATS and AND. MATCHES uses Hyperscan (not PCRE): the regex is compiled
 * with HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY (plus
 * HS_FLAG_UTF8 for string values), so back-references and look-around are
 * not available and make the evaluation fail.
 */
struct stix_observation {
	int64_t first_observed_ms;
	int64_t last_observed_ms;
	int64_t number_observed; /* >= 1 */
	json_t *objects;         /* borrowed */
};

/* Work caps: observations per call, candidate bindings kept per pattern
 * node, elementary steps (values visited, bindings joined), observations in
 * one binding. */
#define STIX_EVAL_MAX_OBSERVATIONS 100000
#define STIX_EVAL_MAX_BINDINGS 4096
#define STIX_EVAL_MAX_STEPS 4000000
#define STIX_EVAL_MAX_BINDING_SIZE 1024

struct stix_eval_result {
	bool matched;
	/* When matched: the indices into obs[] of the observations bound to the
	 * pattern, ascending and distinct. Freed by stix_eval_result_free(). */
	size_t *bound;
	size_t nbound;
	char error[256]; /* why the evaluation failed */
};

/*
 * Evaluates p against obs[0..n-1] and fills res (which needs no
 * initialisation). Returns 0, or -1 when no answer could be given: a cap was
 * hit before any match was found, a MATCHES regex does not compile, or an
 * observation is malformed (res->error says which). Even after -1, res must
 * be released with stix_eval_result_free().
 */
int stix_pattern_eval(const struct stix_pattern *p, const struct stix_observation *obs, size_t n,
                      struct stix_eval_result *res) CIIP_MUST_CHECK;
void stix_eval_result_free(struct stix_eval_result *res);

/* The evaluator's order of values, for matchers that must agree with it
 * (detect/): a string against bytes reads the string as Latin-1 (false
 * when it has a code point above 255, else *out is <0, 0 or >0), and text
 * or bytes against their own kind is memcmp order, shorter first on a tie. */
bool stix_str_bytes_cmp(const char *s, size_t n, const unsigned char *b, size_t bn, int *out);
int stix_mem_order(const void *a, size_t an, const void *b, size_t bn);

/* ==== END patterns section ==== */

#endif
