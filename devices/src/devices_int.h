/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the devices library: compiled JSON pointers,
 * identity rules and runtime expressions (see devices/devices.h).
 */
#ifndef DEVICES_INT_H
#define DEVICES_INT_H

#include <stddef.h>

#include "devices/devices.h"

/* A compiled RFC 6901 pointer: tokens unescaped, stored back to back. */
typedef struct devices__ptr {
    size_t n_tokens; /* 0 = the whole document */
    char *tokens;    /* n_tokens NUL-terminated strings in a row; owned; NULL if none */
} devices__ptr;

struct devices_identity {
    devices_identity_kind kind; /* where the id comes from */
    char *param;                /* PARAM: parameter name, owned */
    devices__ptr ptr;           /* PAYLOAD: pointer into the payload */
};

enum devices__source {
    DEVICES__SRC_PAYLOAD = 0, /* $message.payload */
    DEVICES__SRC_HEADER = 1,  /* $message.header */
};

struct devices_expr {
    enum devices__source source; /* which document the pointer applies to */
    devices__ptr ptr;            /* the compiled pointer */
};

/* Compiles pointer text ("" or "/a/b~1c"); EINVAL on bad syntax, ENOMEM. */
int devices__ptr_compile(const char *text, devices__ptr *out);
/* Frees the tokens of p (p itself is caller storage). */
void devices__ptr_release(devices__ptr *p);
/* Evaluates p in root; NULL when absent. */
const cJSON *devices__ptr_get(const devices__ptr *p, const cJSON *root);
/* Valid UTF-8 without NUL; 1 yes, 0 no. With no_ctrl also rejects C0/DEL/C1. */
int devices__utf8_ok(const char *s, size_t len, int no_ctrl);

#endif
