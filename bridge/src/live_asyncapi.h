/* SPDX-License-Identifier: MIT */
/*
 * The AsyncAPI 3.0 document of the bridge's own WebSocket API, served at
 * /asyncapi/live.yaml (live_asyncapi.c).
 */
#ifndef BRIDGE_LIVE_ASYNCAPI_H
#define BRIDGE_LIVE_ASYNCAPI_H

/* The YAML text as lines (each ends in a newline), NULL-terminated, static. */
extern const char *const bridge_live_asyncapi_yaml[];

#endif
