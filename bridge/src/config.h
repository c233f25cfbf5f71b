/* SPDX-License-Identifier: MIT */
/*
 * Settings of `asyncbridge run` / `asyncbridge rebuild`: defaults, a config
 * file (JSON or YAML, same keys as the flags with '_' for '-'), then the
 * command-line flags (flags win). Every value is checked and bounded; a bad
 * one is a clear error naming the flag or key. See docs/ingest.md.
 */
#ifndef BRIDGE_CONFIG_H
#define BRIDGE_CONFIG_H

#include <stddef.h>

#include "asyncapi/asyncapi.h"

enum bridge_mqtt_version {
    BRIDGE_MQTT_AUTO = 0, /* MQTT 5, falling back to 3.1.1 if refused */
    BRIDGE_MQTT_5 = 5,
    BRIDGE_MQTT_311 = 4,
};

enum bridge_unknown_policy {
    BRIDGE_UNKNOWN_DEAD_LETTER = 0, /* unknown topic -> dead letter "no_channel" */
    BRIDGE_UNKNOWN_DROP = 1,        /* unknown topic -> counted and dropped */
};

#define BRIDGE_MAX_PAYLOAD_DEFAULT (256u * 1024)
#define BRIDGE_MAX_PAYLOAD_LIMIT (64u * 1024 * 1024)

/* All settings. Strings are owned (heap), NULL when unset. */
typedef struct bridge_config {
    char *spec;            /* AsyncAPI document path (required for run) */
    char *broker;          /* as given: mqtt://h:p, mqtts://h:p, tcp://, ssl://, h:p */
    char *broker_uri;      /* Paho form (tcp://h:p or ssl://h:p), set by resolve */
    int broker_tls;        /* 1 if broker_uri is ssl://, set by resolve */
    char *db;              /* SQLite file, default "asyncbridge.db" */
    char *http;            /* ADDR:PORT of the HTTP side, default 127.0.0.1:8080 */
    char *config;          /* config file given with --config, or NULL */
    char *username;        /* MQTT user name, or NULL */
    char *password;        /* MQTT password, or NULL */
    char *client_id;       /* MQTT client id; default derived from db by resolve */
    char *tls_ca;          /* CA bundle file (PEM), or NULL = system default */
    char *tls_cert;        /* client certificate (PEM), or NULL */
    char *tls_key;         /* client private key (PEM), or NULL */
    char *share_group;     /* subscribe as $share/<group>/filter, or NULL */
    char *persist_dir;     /* Paho persistence folder; default "<db>.mqtt" by resolve */
    int keepalive;         /* seconds, 5..3600, default 30 */
    enum bridge_mqtt_version mqtt_version; /* default AUTO */
    long long session_expiry; /* MQTT 5 session expiry, s, 0..4294967295, default 604800 */
    size_t max_payload;    /* bytes, 1..BRIDGE_MAX_PAYLOAD_LIMIT, default 256 KiB */
    enum bridge_unknown_policy unknown_topic; /* default DEAD_LETTER */
    int receive_max;       /* MQTT 5 receive maximum (in-flight QoS>0), 1..65535, default 1000 */
    int reconnect_min;     /* first reconnect delay, s, 1..3600, default 1 */
    int reconnect_max;     /* longest reconnect delay, s, reconnect_min..3600, default 30 */
    int log_level;         /* enum bridge_log_level, default info */
    int ingest_sync;       /* 1: commit inside messageArrived (ingest-mode sync); 0: journal */
} bridge_config;

/* Fills cfg with the defaults (strings "asyncbridge.db" and "127.0.0.1:8080"). Returns 0 or -1 (ENOMEM). */
int bridge_config_init(bridge_config *cfg);

/* Frees every string of cfg; cfg may be re-initialised afterwards. */
void bridge_config_release(bridge_config *cfg);

/*
 * Applies argv[1..argc) (argv[0] is the command word): first the file named
 * by --config (if any), then every flag in order, so flags win.
 * Flags take "--name value" or "--name=value". Positional arguments are
 * refused. allow_broker: 0 for commands that take only --spec/--db/--config
 * (rebuild): then MQTT flags are refused too.
 * Returns 0; 1 if --help was given (nothing else done); -1 with err filled
 * ("--keepalive: 0 is out of range 5..3600").
 */
int bridge_config_parse_args(bridge_config *cfg, int argc, char **argv,
                             int allow_mqtt, char *err, size_t errsize);

/*
 * Applies a config file (JSON or YAML object). Relative paths in it are
 * taken relative to the file's folder. Unknown keys are errors.
 * Returns 0, or -1 with err filled ("config.yaml: keepalive: ...").
 */
int bridge_config_load_file(bridge_config *cfg, const char *path, char *err,
                            size_t errsize);

/*
 * Fills what depends on the spec and the db: broker_uri from broker or the
 * spec's first MQTT server (server variables take their defaults), client_id
 * derived from the db's absolute path ("asyncbridge-<8 hex>"), persist_dir.
 * doc may be NULL when broker is set.
 * Returns 0, or -1 with err filled.
 */
int bridge_config_resolve(bridge_config *cfg, const asyncapi_doc *doc, char *err,
                          size_t errsize);

/* Prints the run flags and their defaults to out. */
void bridge_config_usage(void *out_file);

#endif
