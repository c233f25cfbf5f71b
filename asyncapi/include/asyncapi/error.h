/* SPDX-License-Identifier: MIT */
/*
 * Error codes and diagnostics shared by the asyncapi library: the loader,
 * the YAML/JSON reader, the router and the schema compiler. Functions return
 * 0 or a negative ASYNCAPI_E* code; where more is known they fill an
 * asyncapi_diag the caller passes in (optional: NULL means "don't tell me").
 */
#ifndef ASYNCAPI_ERROR_H
#define ASYNCAPI_ERROR_H

enum asyncapi_errno {
    ASYNCAPI_OK = 0,
    ASYNCAPI_ENOMEM = -1,   /* allocation failed */
    ASYNCAPI_EIO = -2,      /* file could not be opened or read */
    ASYNCAPI_ESYNTAX = -3,  /* malformed YAML or JSON (line:column in diag) */
    ASYNCAPI_ELIMIT = -4,   /* a size, depth or alias limit was exceeded */
    ASYNCAPI_EINVAL = -5,   /* well-formed but not a valid document/schema */
    ASYNCAPI_EREF = -6,     /* a $ref could not be resolved, or only loops */
    ASYNCAPI_EVERSION = -7, /* unsupported asyncapi version */
    ASYNCAPI_ENOMATCH = -8, /* router: topic matches no channel */
    ASYNCAPI_ETOPIC = -9,   /* router: topic not routable (wildcard, $-topic, empty level for a parameter, too long) */
    ASYNCAPI_EEXIST = -10,  /* router: the same filter was added twice */
};

/* Returns a static, human readable text for an ASYNCAPI_E* code. */
const char *asyncapi_strerror(int err);

/*
 * Where and why something failed. Every field is a NUL-terminated string
 * (empty when unknown) or 0; texts longer than the buffers are truncated.
 */
typedef struct asyncapi_diag {
    char file[512];    /* file the problem is in, as given or as resolved */
    int line;          /* 1-based line of a syntax error, 0 if unknown */
    int column;        /* 1-based column of a syntax error, 0 if unknown */
    char pointer[512]; /* JSON pointer of a structural problem ("" = root) */
    char message[512]; /* lowercase, what is wrong, no final period */
} asyncapi_diag;

#endif
