/* SPDX-License-Identifier: MIT */
/*
 * Device logic, pure (no SQLite, no I/O): which device a message belongs to
 * (identity rules compiled once per channel), AsyncAPI runtime expressions
 * for correlation ids, and the online/offline status rules the projector and
 * the REST side share. Design notes: docs/store.md ("Devices").
 */
#ifndef DEVICES_DEVICES_H
#define DEVICES_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/error.h"
#include "asyncapi/router.h"

/* Longest device id in bytes, excluding the NUL (buffers: DEVICES_ID_MAX + 1). */
#define DEVICES_ID_MAX 128
/* Longest correlation id in bytes, excluding the NUL (buffers: + 1). */
#define DEVICES_CORR_MAX 256
/* Longest JSON pointer / parameter name accepted in an extension. */
#define DEVICES_RULE_MAX 512

enum devices_errno {
    DEVICES_OK = 0,
    DEVICES_ENOMEM = -1,    /* allocation failed */
    DEVICES_EINVAL = -2,    /* bad argument, bad extension or expression */
    DEVICES_ENOTFOUND = -3, /* the rule's parameter / pointer is absent in this message */
    DEVICES_ETOOLONG = -4,  /* value longer than the limit or the caller's buffer */
    DEVICES_EBADID = -5,    /* value has a type or characters an id may not have */
};

/* Returns a static, human readable text for a DEVICES_E* code. */
const char *devices_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Device identity                                                          */
/* ------------------------------------------------------------------------ */

/*
 * Where a channel's device id comes from, in this order:
 *  1. the channel's `x-asyncbridge-device` extension (in channel->node);
 *  2. the document's `x-asyncbridge-device` extension (doc_root);
 *  3. the first channel parameter named `deviceId`, `device_id` or `device`
 *     (exact, case-sensitive);
 *  4. none: messages on the channel have no device (empty id).
 * An extension value is a string, one of:
 *   "{deviceId}" or "deviceId"         a channel parameter by name;
 *   "/meta/id"                         a JSON pointer into the payload;
 *   "$message.payload#/meta/id"        the same, as a runtime expression.
 * A document-level extension naming a parameter the channel does not have
 * does not apply to that channel (falls through to 3.); a channel-level one
 * naming an unknown parameter is EINVAL. JSON pointers follow RFC 6901
 * (~0 = '~', ~1 = '/'; array indexes as decimal without leading zeros).
 */
typedef enum devices_identity_kind {
    DEVICES_IDENTITY_NONE = 0,    /* the channel has no device */
    DEVICES_IDENTITY_PARAM = 1,   /* a channel parameter */
    DEVICES_IDENTITY_PAYLOAD = 2, /* a JSON pointer into the payload */
} devices_identity_kind;

/* A compiled identity rule; immutable once compiled. */
typedef struct devices_identity devices_identity;

/*
 * Compiles the identity rule of channel ch.
 * Parameters: ch (borrowed; ch->node may be NULL = no extension; ch->params
 *   names are read); doc_root: the resolved document root for a document
 *   level extension, may be NULL; diag may be NULL (filled on error with
 *   a pointer to the bad extension and a message).
 * Returns 0 and *out = a new rule (free with devices_identity_free); on
 *   error *out = NULL and EINVAL (extension not a string, empty, unknown
 *   parameter, malformed pointer/expression, longer than DEVICES_RULE_MAX)
 *   or ENOMEM. The rule copies what it needs: ch may go away afterwards.
 * Thread: any; the rule may be evaluated by many threads at once.
 */
int devices_identity_compile(const asyncapi_channel *ch, const cJSON *doc_root,
                             devices_identity **out, asyncapi_diag *diag);

/*
 * Compiles a rule from one extension-style text (the value of
 * `x-asyncbridge-device`) for a channel whose parameter names are
 * param_names[0..n). spec NULL means "default rule" (3. and 4. above).
 * Returns/ownership as devices_identity_compile.
 */
int devices_identity_compile_spec(const char *spec, const char *const *param_names,
                                  size_t n_params, devices_identity **out,
                                  asyncapi_diag *diag);

/* Frees a rule; NULL does nothing. */
void devices_identity_free(devices_identity *id);

/* What kind of rule this is. */
devices_identity_kind devices_identity_get_kind(const devices_identity *id);

/*
 * Evaluates the rule for one message.
 * Parameters: params[0..n_params) as the router extracted them (slices,
 *   borrowed); payload: the parsed payload, may be NULL when the rule is
 *   not PAYLOAD; buf/size: caller buffer, DEVICES_ID_MAX + 1 is always enough.
 * Returns the id length (>= 0) with buf NUL-terminated. 0 (buf = "") means
 *   "no device": only for a NONE rule. Errors (buf set to "" if size > 0):
 *   ENOTFOUND  the parameter or pointer is absent, or the parameter is empty;
 *   EBADID     the value is not a string or number (payload), or is not
 *              printable UTF-8 (control characters, invalid sequences);
 *   ETOOLONG   longer than DEVICES_ID_MAX or than size - 1;
 *   EINVAL     id/buf NULL or size 0.
 *   The ingest turns any error into a dead letter (reason kind "device").
 *   Numbers render canonically as for correlation ids (42, 1.5, -3e+20).
 * Thread: any; no allocation.
 */
int devices_identity_eval(const devices_identity *id, const asyncapi_route_param *params,
                          size_t n_params, const cJSON *payload, char *buf, size_t size);

/*
 * Checks that s[0..len) is a valid device id: 1..DEVICES_ID_MAX bytes of
 * valid UTF-8 without control characters (C0, DEL, C1).
 * Returns 0, ETOOLONG, EBADID (also for len 0).
 */
int devices_id_check(const char *s, size_t len);

/* ------------------------------------------------------------------------ */
/* Correlation ids (AsyncAPI runtime expressions)                           */
/* ------------------------------------------------------------------------ */

/* A compiled runtime expression; immutable once compiled. */
typedef struct devices_expr devices_expr;

/*
 * Compiles an AsyncAPI runtime expression of the form
 * "$message.payload#/json/pointer" or "$message.header#/json/pointer"
 * ("$message.payload" / "$message.payload#" alone = the whole payload).
 * Returns 0 and *out (free with devices_expr_free), or EINVAL (other
 * sources, malformed pointer such as "#meta" or a bad ~ escape, longer than
 * DEVICES_RULE_MAX) / ENOMEM with *out = NULL. diag may be NULL.
 */
int devices_expr_compile(const char *expr, devices_expr **out, asyncapi_diag *diag);

/* Frees an expression; NULL does nothing. */
void devices_expr_free(devices_expr *e);

/*
 * Evaluates e against the payload or headers (either may be NULL = absent)
 * into buf: strings as-is (must be valid UTF-8), numbers canonically
 * (integers in [-2^53, 2^53] without fraction or exponent: "42"; others
 * the shortest "%.17g"-class text that reads back to the same double),
 * true/false/null/objects/arrays as compact JSON text.
 * Returns the length (>= 1) with buf NUL-terminated; ENOTFOUND when the
 * value is absent (or an empty string); ETOOLONG when longer than
 * DEVICES_CORR_MAX or size - 1; EBADID for invalid UTF-8; ENOMEM; EINVAL.
 * On error buf is "" (if size > 0). The ingest stores the message without
 * a correlation id on ENOTFOUND (hash dedupe applies then).
 * Thread: any.
 */
int devices_expr_eval(const devices_expr *e, const cJSON *payload, const cJSON *headers,
                      char *buf, size_t size);

/*
 * Resolves an RFC 6901 JSON pointer ("" = the whole document) in root.
 * Returns the node (borrowed from root) or NULL if absent or malformed.
 */
const cJSON *devices_json_pointer_get(const cJSON *root, const char *pointer);

/*
 * Renders a JSON value as an id/correlation text (rules of devices_expr_eval).
 * Returns the length, ETOOLONG if it does not fit in buf (or exceeds max),
 * EBADID for invalid UTF-8, ENOMEM, EINVAL.
 */
int devices_value_text(const cJSON *v, size_t max, char *buf, size_t size);

/* ------------------------------------------------------------------------ */
/* Status (online / offline)                                                */
/* ------------------------------------------------------------------------ */

typedef enum devices_status {
    DEVICES_STATUS_UNKNOWN = 0, /* no status message seen */
    DEVICES_STATUS_ONLINE = 1,
    DEVICES_STATUS_OFFLINE = 2,
} devices_status;

/* "online", "offline" or "unknown". */
const char *devices_status_name(devices_status st);

/*
 * Is ch a status channel (its messages say whether a device is online,
 * typically the device's MQTT last will)? True when:
 *   - the channel has `x-asyncbridge-status: true` (false forces "no");
 *   - the document has `x-asyncbridge-status` naming the channel id or
 *     address (a string or an array of strings);
 *   - else when the channel id or address, case-insensitively, ends in
 *     "status" (see devices_channel_name_is_status).
 * Returns 1 or 0. doc_root may be NULL.
 */
int devices_channel_is_status(const asyncapi_channel *ch, const cJSON *doc_root);

/* Name rule alone: name ends in "status" (case-insensitive). NULL -> 0. */
int devices_channel_name_is_status(const char *name);

/*
 * Reads a status payload: a string or a top-level field "status" / "state"
 * (string) or "online" / "connected" (boolean) or the payload itself a
 * boolean. Strings (case-insensitive): online, connected, up, alive, true,
 * 1 -> ONLINE; offline, disconnected, down, dead, lost, false, 0 -> OFFLINE.
 * Anything else -> UNKNOWN (the event is still stored and counted).
 */
devices_status devices_status_from_payload(const cJSON *payload);

/*
 * The fold rule the projector applies per event, in seq order:
 * a status-channel event whose payload reads ONLINE/OFFLINE sets that
 * status; a status event that reads UNKNOWN leaves it unchanged; any other
 * event proves the device is alive and sets ONLINE.
 * Returns the new stored status.
 */
devices_status devices_status_fold(devices_status current, int is_status_event,
                                   const cJSON *payload);

/*
 * Effective status at read time, from what the projector stored:
 * stored OFFLINE -> OFFLINE; else if silence_ms > 0 and now_ms - last_seen_ms
 * > silence_ms -> OFFLINE; else if stored ONLINE or any event was seen
 * (last_seen_ms > 0) -> ONLINE; else UNKNOWN. silence_ms <= 0 disables the
 * silence rule. Times are milliseconds since the epoch.
 */
devices_status devices_status_effective(devices_status stored, int64_t last_seen_ms,
                                        int64_t now_ms, int64_t silence_ms);

#endif
