/* SPDX-License-Identifier: MIT */
/*
 * Payload generator of asyncbridge-sim: makes JSON values that satisfy a
 * JSON Schema (the resolved payload schema of an AsyncAPI message), with
 * realistic series per device (numbers drift, counters count, timestamps are
 * now), and makes invalid variants of a valid payload in a known way.
 * Design notes: docs/sim.md.
 */
#ifndef SIM_GEN_H
#define SIM_GEN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "asyncapi/asyncapi.h"
#include "sim_rng.h"

enum sim_errno {
    SIM_OK = 0,
    SIM_ENOMEM = -1,       /* allocation failed */
    SIM_EUNSUPPORTED = -2, /* regex construct the generator does not handle */
    SIM_ELIMIT = -3,       /* output buffer too small, depth or work bound reached */
    SIM_EINVAL = -4,       /* bad argument / no way to do what was asked */
};

/* Ways a payload is made invalid (--invalid); SIM_INVALID_NONE = valid. */
typedef enum sim_invalid_kind {
    SIM_INVALID_NONE = -1,
    SIM_INVALID_WRONG_TYPE = 0,       /* a value of the wrong JSON type ("type" fails) */
    SIM_INVALID_MISSING_REQUIRED = 1, /* a required member removed ("required" fails) */
    SIM_INVALID_OUT_OF_RANGE = 2,     /* a value outside min/max/enum/length */
    SIM_INVALID_BAD_JSON = 3,         /* the text is not JSON at all */
    SIM_INVALID_KINDS = 4,            /* number of kinds */
} sim_invalid_kind;

/* Name of a kind as used in the summary JSON ("wrong_type", ...). */
const char *sim_invalid_name(sim_invalid_kind kind);

/*
 * Per device and message state of the generated series: the last value of
 * every numeric field (by JSON pointer), so the next one drifts from it.
 */
typedef struct sim_series sim_series;

/* Returns an empty series, or NULL when out of memory. */
sim_series *sim_series_new(void);
/* Frees a series; NULL does nothing. */
void sim_series_free(sim_series *s);

/* What one generation needs; filled by the caller, borrowed for the call. */
typedef struct sim_gen_ctx {
    sim_rng *rng;          /* randomness (the device's generator) */
    const cJSON *root;     /* resolved document root, for any leftover "$ref": "#/..." (may be NULL) */
    double now;            /* current time, seconds since the Unix epoch (timestamps) */
    sim_series *series;    /* series state of this device and message; NULL = no series */
    const char *device_id; /* the device's id, put into fields named like the id param; may be NULL */
    const char *device_param; /* name of the device id parameter ("deviceId"), or NULL */
    unsigned depth;        /* internal: current nesting (start at 0) */
    cJSON **temps;         /* internal: merged schemas to free after the call */
    size_t n_temps, cap_temps; /* internal */
} sim_gen_ctx;

/*
 * Generates one value for schema (a resolved JSON Schema: object or boolean;
 * NULL means "anything"). Honours types, enum/const, numeric bounds incl.
 * exclusive ones and multipleOf, string lengths, patterns (common regex
 * subset), formats, required/optional members, arrays, allOf (merged),
 * anyOf/oneOf (one branch picked); depth bounded for recursive schemas.
 * Returns a new tree the caller frees (cJSON_Delete), NULL when out of
 * memory. The value is not guaranteed valid (e.g. "not", "if" are not
 * analysed): sim_gen_payload validates and retries.
 * Thread: any; ctx is not shared.
 */
cJSON *sim_gen_value(const cJSON *schema, sim_gen_ctx *ctx);

/*
 * Generates a payload for message msg that validates against its compiled
 * payload schema (msg->payload_schema), retrying up to a bound.
 * Returns 0 with *out set (valid, or no compiled schema to check), 1 with
 * *out set when no valid value was found within the bound (best effort),
 * SIM_ENOMEM (*out NULL).
 */
int sim_gen_payload(const asyncapi_message *msg, sim_gen_ctx *ctx, cJSON **out);

/*
 * Makes an invalid payload of the wanted kind from a valid payload (borrowed,
 * not changed), checked with msg->payload_schema: the result fails with
 * "type" (wrong_type), "required"/"dependencies" (missing_required) or a
 * range keyword (out_of_range). When the wanted kind cannot be made for this
 * schema, the next kind in order is tried; bad_json always works.
 * Returns the kind made (>= 0) with *text set to the payload text (malloc'd,
 * caller frees), or SIM_ENOMEM.
 */
int sim_gen_invalidate(const asyncapi_message *msg, const cJSON *payload,
                       sim_invalid_kind kind, sim_rng *rng, char **text);

/*
 * Writes a string matching the regular expression pattern (ECMA/PCRE subset:
 * literals, escapes \d \w \s \D \W \S, classes [a-z] [^...], '.', groups
 * with '|', quantifiers * + ? {n} {n,} {n,m}, anchors ^ $) into buf.
 * Returns the length written (NUL-terminated), SIM_EUNSUPPORTED
 * (backreferences, lookaround, \b, \p{..}), SIM_ELIMIT (buf too small,
 * groups nested deeper than 32, or more than 200,000 atoms visited: nested
 * repeats multiply), SIM_EINVAL (pattern/buf NULL, size 0).
 */
int sim_regex_gen(const char *pattern, sim_rng *rng, char *buf, size_t size);

/* Formats t (seconds since the epoch, UTC) as RFC 3339 "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void sim_format_datetime(double t, char buf[32]);

#endif
