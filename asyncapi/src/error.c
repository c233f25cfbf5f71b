/* SPDX-License-Identifier: MIT */
/*
 * asyncapi_strerror: the text of each ASYNCAPI_E* code (error.h).
 */
#include "asyncapi/error.h"

const char *asyncapi_strerror(int err)
{
    switch (err) {
    case ASYNCAPI_OK: return "success";
    case ASYNCAPI_ENOMEM: return "out of memory";
    case ASYNCAPI_EIO: return "cannot read file";
    case ASYNCAPI_ESYNTAX: return "syntax error";
    case ASYNCAPI_ELIMIT: return "limit exceeded";
    case ASYNCAPI_EINVAL: return "invalid document";
    case ASYNCAPI_EREF: return "unresolvable $ref";
    case ASYNCAPI_EVERSION: return "unsupported asyncapi version";
    case ASYNCAPI_ENOMATCH: return "no channel matches the topic";
    case ASYNCAPI_ETOPIC: return "topic is not routable";
    case ASYNCAPI_EEXIST: return "address already routed";
    }
    return "unknown error";
}
