/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the JSON Schema validator: the compiled program
 * (one sc_node per schema object, keywords pre-parsed, regexes compiled,
 * $ref resolved to node pointers) and the helpers shared by schema.c
 * (run), schema_compile.c (compile), schema_format.c (formats, regex).
 * Design notes: docs/validator.md.
 *
 * A compiled program is immutable after asyncapi_schema_compile returns;
 * every run keeps its mutable state (PCRE2 match data, pointer buffer) in
 * a per-call context, so one program serves many threads.
 */
#ifndef ASYNCAPI_SCHEMA_INT_H
#define ASYNCAPI_SCHEMA_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include <stddef.h>
#include <stdint.h>

#include <pcre2.h>

#include "asyncapi/schema.h"

/* Instance nesting bound for validation and validate_json's parser. */
#define SC_MAX_DEPTH 512
/* Bound on nested evaluation calls (instance depth x in-place applicators). */
#define SC_MAX_CALLS 4096
/* Bound on schema nesting at compile time. */
#define SC_MAX_SCHEMA_DEPTH 256

/* Type bits of the "type" keyword. */
enum sc_type_bits {
    SC_T_NULL = 1 << 0,
    SC_T_BOOLEAN = 1 << 1,
    SC_T_OBJECT = 1 << 2,
    SC_T_ARRAY = 1 << 3,
    SC_T_NUMBER = 1 << 4,
    SC_T_STRING = 1 << 5,
    SC_T_INTEGER = 1 << 6,
};

/* Which keyword groups a node has, so a run skips absent groups at once. */
enum sc_has_bits {
    SC_H_TYPE = 1 << 0,      /* types is meaningful */
    SC_H_ENUM = 1 << 1,      /* enum_ set */
    SC_H_CONST = 1 << 2,     /* const_ set */
    SC_H_NUM = 1 << 3,       /* some numeric keyword */
    SC_H_STR = 1 << 4,       /* some string keyword */
    SC_H_ARR = 1 << 5,       /* some array keyword */
    SC_H_OBJ = 1 << 6,       /* some object keyword */
    SC_H_COMB = 1 << 7,      /* allOf/anyOf/oneOf/not/if */
    SC_H_MIN = 1 << 8,       /* minimum */
    SC_H_MAX = 1 << 9,       /* maximum */
    SC_H_XMIN = 1 << 10,     /* exclusiveMinimum */
    SC_H_XMAX = 1 << 11,     /* exclusiveMaximum */
    SC_H_MULT = 1 << 12,     /* multipleOf */
};

/* Format ids (0 = none or unknown, not asserted). */
enum sc_format {
    SC_F_NONE = 0,
    SC_F_DATE_TIME,
    SC_F_DATE,
    SC_F_TIME,
    SC_F_EMAIL,
    SC_F_IDN_EMAIL,
    SC_F_HOSTNAME,
    SC_F_IDN_HOSTNAME,
    SC_F_IPV4,
    SC_F_IPV6,
    SC_F_URI,
    SC_F_URI_REFERENCE,
    SC_F_IRI,
    SC_F_IRI_REFERENCE,
    SC_F_URI_TEMPLATE,
    SC_F_JSON_POINTER,
    SC_F_RELATIVE_JSON_POINTER,
    SC_F_REGEX,
};

typedef struct sc_node sc_node;

/* One entry of "properties". */
typedef struct sc_prop {
    char *name;        /* property name, owned */
    uint32_t hash;     /* FNV-1a of name */
    sc_node *schema;   /* its schema (owned by the program's node list) */
} sc_prop;

/* One entry of "patternProperties". */
typedef struct sc_pprop {
    pcre2_code *re;    /* compiled regex, owned */
    sc_node *schema;   /* its schema */
} sc_pprop;

/* One entry of "dependencies": either names (req) or a schema. */
typedef struct sc_dep {
    char *name;        /* the triggering property, owned */
    char **req;        /* required names when an array, owned */
    size_t n_req;      /* entries in req */
    sc_node *schema;   /* schema form, or NULL */
} sc_dep;

/* A required property name, with its index in props (or -1) for a bitmap check. */
typedef struct sc_req {
    char *name;        /* owned */
    int prop;          /* index into props when name is also in properties, else -1 */
} sc_req;

/* One compiled schema (object or boolean). */
struct sc_node {
    sc_node *next_alloc;     /* program's list of all nodes, for freeing */
    char *path;              /* schema location for errors: "#/properties/x", owned */
    int kind;                /* 1 = true schema, 0 = false schema, 2 = object */
    unsigned has;            /* enum sc_has_bits */
    sc_node *ref;            /* $ref target; when set, nothing else applies */
    char *ref_uri;           /* the absolute $ref target (compile diagnostics), owned */

    unsigned types;          /* enum sc_type_bits, valid with SC_H_TYPE */
    cJSON *enum_;            /* copy of the enum array, owned */
    cJSON *const_;           /* copy of the const value, owned */

    double minimum, maximum, xminimum, xmaximum, multiple_of; /* numeric bounds */

    size_t min_length, max_length; /* code points; max SIZE_MAX = none */
    pcre2_code *pattern;     /* "pattern", owned */
    char *pattern_src;       /* its source text for messages, owned */
    int format;              /* enum sc_format */
    const char *format_name; /* static name of the format */
    int content_json;        /* contentMediaType application/json */
    int content_base64;      /* contentEncoding base64 */

    sc_node *items;          /* "items" as one schema */
    sc_node **items_arr;     /* "items" as an array, owned array */
    size_t n_items;          /* entries in items_arr */
    sc_node *additional_items; /* applies past items_arr */
    sc_node *contains;       /* "contains" */
    size_t min_items, max_items; /* bounds; max SIZE_MAX = none */
    int unique_items;        /* "uniqueItems": true */

    sc_prop *props;          /* "properties", owned array */
    size_t n_props;          /* entries */
    int32_t *prop_table;     /* open-addressing hash of props indexes (-1 empty), owned */
    uint32_t prop_mask;      /* table size - 1 */
    sc_pprop *pprops;        /* "patternProperties", owned array */
    size_t n_pprops;         /* entries */
    sc_node *additional_props; /* "additionalProperties" */
    sc_req *required;        /* "required", owned array */
    size_t n_required;       /* entries */
    sc_dep *deps;            /* "dependencies", owned array */
    size_t n_deps;           /* entries */
    sc_node *property_names; /* "propertyNames" */
    size_t min_props, max_props; /* bounds; max SIZE_MAX = none */

    sc_node **all_of, **any_of, **one_of; /* owned arrays */
    size_t n_all_of, n_any_of, n_one_of;  /* entries */
    sc_node *not_, *if_, *then_, *else_;  /* may be NULL */
};

/* The compiled program (asyncapi_schema in schema.h). */
struct asyncapi_schema {
    sc_node *root;           /* entry point */
    sc_node *nodes;          /* all nodes, linked by next_alloc */
    unsigned flags;          /* enum asyncapi_schema_flags */
};

/* Frees one node's owned members and the node. */
void asyncapi_schema__node_free(sc_node *n);

/* Format id for a format name, SC_F_NONE if unknown. *name_out gets a static copy. */
int asyncapi_schema__format_id(const char *name, const char **name_out);
/* 1 if s[0..len) satisfies format fmt, else 0. */
int asyncapi_schema__format_check(int fmt, const char *s, size_t len);

/*
 * Compiles an ECMA-262 regex with PCRE2 (UTF, JIT when available).
 * Returns the code or NULL with a lowercase reason in err[0..errlen).
 */
pcre2_code *asyncapi_schema__regex_compile(const char *src, char *err, size_t errlen);
/* 1 match, 0 no match (also for subjects that are not UTF-8), <0 ENOMEM. */
int asyncapi_schema__regex_match(const pcre2_code *re, const char *s, size_t len,
                                 pcre2_match_data **md);

/* base64 (RFC 4648, padded) check: 1 valid. */
int asyncapi_schema__base64_check(const char *s, size_t len);

/* The draft-07 meta-schema as JSON text (draft07_meta.c). */
extern const char asyncapi_schema__draft07_meta[];

#endif
