/* SPDX-License-Identifier: MIT */
/*
 * JSON Schema draft-07 validator: a schema is compiled once into a program
 * and run many times on cJSON instances (or straight on JSON text).
 * All draft-07 keywords; $ref with $id base URIs; the draft-07 meta-schema is
 * bundled so "http://json-schema.org/draft-07/schema#" resolves offline.
 * Unknown keywords (AsyncAPI's discriminator, externalDocs, x-...) are ignored.
 * Design notes: docs/validator.md.
 */
#ifndef ASYNCAPI_SCHEMA_H
#define ASYNCAPI_SCHEMA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "asyncapi/parse.h"

#include "asyncapi/error.h"

typedef struct asyncapi_schema asyncapi_schema;

/*
 * Finds documents for $ref targets outside the schema being compiled.
 * fetch gets an absolute URI without fragment ("file:///x/spec.yaml",
 * "http://localhost:1234/name.json") and returns that document's root,
 * borrowed: it must stay valid until compile returns. NULL = unknown.
 */
typedef struct asyncapi_schema_resolver {
    const cJSON *(*fetch)(void *ctx, const char *uri);
    void *ctx;
} asyncapi_schema_resolver;

enum asyncapi_schema_flags {
    ASYNCAPI_SCHEMA_FORMAT_ANNOTATION = 1 << 0, /* don't assert "format" (asserted by default) */
};

/*
 * Compiles schema (an object or a boolean) found in the document whose
 * absolute URI is base_uri (may be NULL: then "urn:asyncbridge:root").
 * Fragment-only refs ("#/definitions/x") are resolved against the document
 * root: the resolver is asked for base_uri first; if it returns NULL the
 * schema passed in is taken as the root. Recursive schemas are legal; a $ref
 * chain that only loops ({"$ref": "#"} at the root, a -> b -> a) is EREF.
 * Parameters: resolver may be NULL (local refs and the meta-schema only);
 *   flags: enum asyncapi_schema_flags; diag may be NULL.
 * Returns a compiled schema the caller frees with asyncapi_schema_free, or
 *   NULL with diag filled (EINVAL: bad keyword value, bad regex; EREF: an
 *   unresolvable or looping $ref; ENOMEM). The result does not reference
 *   schema or the resolver's documents after return.
 * Thread: compile on any thread; a compiled schema is immutable and may be
 *   used by many threads at once.
 */
asyncapi_schema *asyncapi_schema_compile(const cJSON *schema, const char *base_uri,
                                         const asyncapi_schema_resolver *resolver,
                                         unsigned flags, asyncapi_diag *diag);

/* Frees a compiled schema; NULL does nothing. */
void asyncapi_schema_free(asyncapi_schema *schema);

#define ASYNCAPI_SCHEMA_MAX_ERRORS 8

/* One validation failure. Strings are NUL-terminated, truncated if long. */
typedef struct asyncapi_schema_error {
    char pointer[256];     /* JSON pointer of the failing value in the instance ("" = root) */
    char schema_path[256]; /* where in the schema, e.g. "#/properties/temperature/maximum" */
    char keyword[32];      /* the failing keyword, e.g. "maximum" ("parse" for bad JSON) */
    char message[256];     /* human text, expected vs got: "40.5 is greater than the maximum 40" */
} asyncapi_schema_error;

/* Outcome of one validation; the caller owns it (stack is fine). */
typedef struct asyncapi_schema_result {
    unsigned n_errors; /* errors stored, at most ASYNCAPI_SCHEMA_MAX_ERRORS */
    unsigned total;    /* errors found, may exceed n_errors */
    asyncapi_schema_error errors[ASYNCAPI_SCHEMA_MAX_ERRORS];
} asyncapi_schema_result;

/*
 * Validates instance against schema. result may be NULL (then only the
 * verdict is computed, faster: stops at the first failure).
 * Returns 0 valid, 1 invalid (result filled), ELIMIT if the instance nests
 * deeper than the validator's bound or the schema recurses too deeply
 * (never a stack overflow), ENOMEM, EINVAL if schema or instance is NULL.
 * On ELIMIT/ENOMEM result holds one error with keyword "limit".
 * Ownership: everything is borrowed for the call.
 * Thread: any; many threads may validate with one schema at once.
 */
int asyncapi_schema_validate(const asyncapi_schema *schema, const cJSON *instance,
                             asyncapi_schema_result *result);

/*
 * Parses buf[0..len) as JSON (strict: valid UTF-8, no trailing garbage,
 * nesting bounded) and validates it. On success *out (if out is not NULL)
 * receives the parsed tree, owned by the caller (cJSON_Delete).
 * Returns 0 valid, 1 invalid, ESYNTAX if the text is not JSON (result gets
 * one error with keyword "parse" and the byte offset in the message),
 * ELIMIT (text nested too deep, or as asyncapi_schema_validate), ENOMEM,
 * EINVAL if schema is NULL or buf is NULL with len > 0.
 * *out is written only on 0 or 1; on every error it is NULL and nothing
 * is left for the caller to free.
 * Thread: any; many threads may validate with one schema at once.
 */
int asyncapi_schema_validate_json(const asyncapi_schema *schema, const char *buf,
                                  size_t len, asyncapi_schema_result *result,
                                  cJSON **out);

/*
 * As asyncapi_schema_validate_json with the tree parsed into b
 * (asyncapi_json_parse_in: no malloc per node): on 0 or 1 *out (if not
 * NULL) is the tree, owned by b and valid until the next parse into b.
 * EINVAL also if b is NULL.
 */
int asyncapi_schema_validate_json_in(const asyncapi_schema *schema, asyncapi_json_buf *b,
                                     const char *buf, size_t len,
                                     asyncapi_schema_result *result, const cJSON **out);

#endif
