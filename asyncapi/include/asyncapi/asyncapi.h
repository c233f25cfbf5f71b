/* SPDX-License-Identifier: MIT */
/*
 * The AsyncAPI model: one document (2.0-2.6 or 3.0, YAML or JSON, $refs
 * resolved across files, traits applied) loaded into one shape for every
 * version. Directions are from the application's (the bridge's) point of
 * view: in 2.x a channel's `publish` operation means devices publish, so the
 * application RECEIVEs; `subscribe` means the application SENDs.
 * Design notes: docs/asyncapi.md.
 *
 * Ownership: asyncapi_load returns a document that owns every string, array,
 * record and compiled schema reachable from it; they stay valid and
 * immutable until asyncapi_free. cJSON pointers in records point into the
 * document's resolved trees (also owned by the document). A loaded
 * document may be read by many threads at once.
 */
#ifndef ASYNCAPI_ASYNCAPI_H
#define ASYNCAPI_ASYNCAPI_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "asyncapi/error.h"
#include "asyncapi/parse.h"
#include "asyncapi/schema.h"

typedef struct asyncapi_doc asyncapi_doc;

typedef enum asyncapi_action {
    ASYNCAPI_RECEIVE = 0, /* the application receives (devices publish) */
    ASYNCAPI_SEND = 1,    /* the application sends (devices receive) */
} asyncapi_action;

typedef struct asyncapi_info {
    const char *asyncapi;    /* version string as written, e.g. "2.6.0" */
    int major;               /* 2 or 3 */
    const char *id;          /* document id, or NULL */
    const char *title;       /* info.title */
    const char *version;     /* info.version */
    const char *description; /* Markdown, or NULL */
    const char *default_content_type; /* defaultContentType, or NULL */
    const cJSON *node;       /* the resolved info object */
} asyncapi_info;

typedef struct asyncapi_server {
    const char *id;               /* key under servers */
    const char *url;              /* 2.x url; 3.0 host + pathname */
    const char *host;             /* 3.0 host, or host[:port] parsed from the 2.x url */
    const char *pathname;         /* 3.0 pathname, or NULL */
    const char *protocol;         /* "mqtt", "secure-mqtt", "kafka", "ws", ... */
    const char *protocol_version; /* or NULL */
    const char *description;      /* or NULL */
    int is_mqtt;                  /* protocol is mqtt, mqtts or secure-mqtt */
    const cJSON *bindings;        /* resolved bindings object, or NULL */
    const cJSON *node;            /* the resolved server object */
} asyncapi_server;

typedef struct asyncapi_param {
    const char *name;        /* the {name} in the channel address */
    const char *description; /* or NULL */
    const char *location;    /* runtime expression, or NULL */
    const cJSON *schema;     /* 2.x schema; 3.0: enum/default/examples folded into a schema; or NULL */
    const cJSON *node;       /* the resolved parameter object, or NULL if undeclared */
} asyncapi_param;

typedef struct asyncapi_message {
    const char *id;             /* key in components/messages or channel messages; else messageId/name; else "<channel>#<n>" */
    const char *name;           /* or NULL */
    const char *title;          /* or NULL */
    const char *summary;        /* or NULL */
    const char *description;    /* or NULL */
    const char *content_type;   /* contentType, else the document default, or NULL */
    const char *schema_format;  /* schemaFormat if not JSON Schema/AsyncAPI schema, else NULL */
    const char *correlation_id; /* correlationId.location, e.g. "$message.payload#/seq", or NULL */
    const cJSON *payload;       /* resolved payload schema node, or NULL */
    const cJSON *headers;       /* resolved headers schema node, or NULL */
    const cJSON *examples;      /* examples array, or NULL */
    const cJSON *node;          /* the resolved message object (traits applied) */
    const asyncapi_schema *payload_schema; /* compiled payload, NULL if none or not JSON Schema */
    const asyncapi_schema *headers_schema; /* compiled headers, or NULL */
} asyncapi_message;

typedef struct asyncapi_channel {
    const char *id;           /* key under channels (2.x: the address itself) */
    const char *address;      /* as written; NULL in 3.0 when the address is null */
    const char *topic_filter; /* MQTT filter: {param} -> +; NULL if address is NULL */
    const char *description;  /* or NULL */
    asyncapi_param *params;   /* in order of appearance in the address */
    size_t n_params;
    const asyncapi_message **messages; /* the channel's messages */
    size_t n_messages;
    const cJSON *bindings;    /* resolved bindings, or NULL */
    const cJSON *node;        /* the resolved channel object */
} asyncapi_channel;

typedef struct asyncapi_operation {
    const char *id;            /* 3.0 key / 2.x operationId, else "<channel>/<publish|subscribe>" */
    asyncapi_action action;    /* from the application's point of view */
    const char *action_word;   /* as written: "send", "receive", "publish", "subscribe" */
    const asyncapi_channel *channel;
    const asyncapi_message **messages; /* the messages of this operation */
    size_t n_messages;
    int qos;                   /* bindings.mqtt.qos (0..2), -1 if not given */
    const char *summary;       /* or NULL */
    const char *description;   /* or NULL */
    const cJSON *bindings;     /* resolved bindings, or NULL */
    const cJSON *node;         /* the resolved operation object */
} asyncapi_operation;

/* A warning the loader found (usable document, something to tell). */
typedef struct asyncapi_warning {
    const char *pointer; /* where, as a JSON pointer */
    const char *message; /* what */
} asyncapi_warning;

/*
 * Loads the AsyncAPI document at path (YAML or JSON), following $refs into
 * other files relative to the referring file, applying traits, building the
 * model and compiling every payload/headers JSON schema.
 * Parameters: limits may be NULL (defaults, per file); diag may be NULL.
 * Returns the document (free with asyncapi_free) or NULL with diag saying
 *   which file, where (line:column or JSON pointer) and what; *err (if not
 *   NULL) gets EIO, ESYNTAX, ELIMIT, EINVAL, EREF, EVERSION or ENOMEM.
 */
asyncapi_doc *asyncapi_load(const char *path, const asyncapi_parse_limits *limits,
                            int *err, asyncapi_diag *diag);

/* Frees a document and everything it owns; NULL does nothing. */
void asyncapi_free(asyncapi_doc *doc);

/* Accessors: borrowed, valid until asyncapi_free. Counts via *n. */
const asyncapi_info *asyncapi_doc_info(const asyncapi_doc *doc);
const asyncapi_server *asyncapi_doc_servers(const asyncapi_doc *doc, size_t *n);
const asyncapi_channel *asyncapi_doc_channels(const asyncapi_doc *doc, size_t *n);
const asyncapi_operation *asyncapi_doc_operations(const asyncapi_doc *doc, size_t *n);
const asyncapi_message *asyncapi_doc_messages(const asyncapi_doc *doc, size_t *n);
const asyncapi_warning *asyncapi_doc_warnings(const asyncapi_doc *doc, size_t *n);
/* The whole resolved root document (what /asyncapi.json serves). */
const cJSON *asyncapi_doc_root(const asyncapi_doc *doc);
/* Absolute path of the main file. */
const char *asyncapi_doc_path(const asyncapi_doc *doc);

/* Channel by id, or NULL. */
const asyncapi_channel *asyncapi_doc_channel(const asyncapi_doc *doc, const char *id);
/* Channel whose address (as written) equals address, or NULL. */
const asyncapi_channel *asyncapi_doc_channel_by_address(const asyncapi_doc *doc,
                                                        const char *address);

/*
 * Does the application receive on this channel (some RECEIVE operation on it)?
 * The bridge subscribes to exactly these channels.
 */
int asyncapi_channel_receives(const asyncapi_doc *doc, const asyncapi_channel *ch);

/*
 * QoS to subscribe a receiving channel with: the highest bindings.mqtt.qos of
 * its RECEIVE operations, else 1.
 */
int asyncapi_channel_qos(const asyncapi_doc *doc, const asyncapi_channel *ch);

/*
 * Turns a channel address into an MQTT topic filter: each level that holds
 * a {param} becomes "+". Writes into buf (NUL-terminated).
 * Returns the filter length, EINVAL for an address MQTT cannot carry
 * ('+' or '#' or NUL in it, unbalanced braces), ELIMIT if buf is too small.
 */
int asyncapi_topic_filter(const char *address, char *buf, size_t size);

#endif
