/* SPDX-License-Identifier: MIT */
/*
 * MQTT ingest connection (Paho MQTT C, async API): a persistent session
 * (clean start off, session expiry) subscribed to the topic filters of the
 * receiving channels; reconnects with exponential backoff and logs each
 * connection state change once. MQTT 5 first, 3.1.1 if the broker refuses
 * 5 (mqtt_version auto). Paho's file persistence lives in cfg->persist_dir.
 *
 * Acknowledgement: Paho sends the PUBACK (QoS 1) after messageArrived
 * returns, or — when the message had to be queued — after writing it to its
 * persistence. The handler returning 0 means "durable, acknowledge"; any
 * other value makes messageArrived return 0, so Paho keeps the message
 * (persisted) and delivers it again later. See docs/ingest.md.
 */
#ifndef BRIDGE_MQTT_IN_H
#define BRIDGE_MQTT_IN_H

#include <stddef.h>

#include "config.h"

/*
 * Called on Paho's receive thread for each message, one at a time.
 * topic[0..topic_len) and payload[0..len) are borrowed for the call.
 * Return 0 when the message is durable; non-zero to have it redelivered.
 */
typedef int (*bridge_mqtt_handler)(void *ctx, const char *topic, size_t topic_len,
                                   const void *payload, size_t len, int qos);

typedef struct bridge_mqtt_in bridge_mqtt_in;

/* One subscription. */
typedef struct bridge_mqtt_sub {
    const char *filter; /* MQTT topic filter (without $share prefix) */
    int qos;            /* 0..2 */
} bridge_mqtt_sub;

/*
 * Creates the client (not connected yet). cfg must be resolved
 * (bridge_config_resolve); cfg and subs are copied.
 * Returns the handle or NULL with err filled (bad URI, persistence folder).
 */
bridge_mqtt_in *bridge_mqtt_in_new(const bridge_config *cfg, const bridge_mqtt_sub *subs,
                                   size_t n_subs, bridge_mqtt_handler handler, void *ctx,
                                   char *err, size_t errsize);

/*
 * Starts the connection thread: connects, subscribes, and keeps
 * reconnecting (backoff reconnect_min..reconnect_max) until stop.
 * Returns 0 or -1 with err filled.
 */
int bridge_mqtt_in_start(bridge_mqtt_in *m, char *err, size_t errsize);

/* 1 while connected and subscribed, else 0. Any thread. */
int bridge_mqtt_in_is_ready(const bridge_mqtt_in *m);

/* Waits up to timeout_ms for bridge_mqtt_in_is_ready. Returns 1 or 0. */
int bridge_mqtt_in_wait_ready(bridge_mqtt_in *m, int timeout_ms);

/*
 * Stops taking messages: the handler is not called any more once this
 * returns (a call in progress finishes first), disconnects and destroys the
 * Paho client. Safe to call twice.
 */
void bridge_mqtt_in_stop(bridge_mqtt_in *m);

/* Stops (if needed) and frees. NULL does nothing. */
void bridge_mqtt_in_free(bridge_mqtt_in *m);

#endif
