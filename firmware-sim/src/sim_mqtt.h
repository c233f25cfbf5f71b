/* SPDX-License-Identifier: MIT */
/*
 * MQTT side of asyncbridge-sim: a set of Paho C asynchronous clients, each
 * carrying one or more devices, with an optional last will, publish with
 * delivery counting, (re)connect notification and a bounded drain.
 * Design notes: docs/sim.md.
 */
#ifndef SIM_MQTT_H
#define SIM_MQTT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_mqtt sim_mqtt;

/* Counters over all clients (a snapshot). */
typedef struct sim_mqtt_stats {
    uint64_t sent;      /* publishes accepted by the client library */
    uint64_t acked;     /* completed: PUBACK/PUBCOMP for QoS 1/2, handed to the library for QoS 0 */
    uint64_t failed;    /* publishes the library rejected or reported failed */
    uint64_t connects;  /* successful connects incl. reconnects */
    uint64_t lost;      /* connections lost */
} sim_mqtt_stats;

/*
 * Creates n clients for broker uri ("tcp://host:port") with client ids
 * "<prefix>-<n>" (n from 1). Nothing connects yet.
 * Returns the handle (free with sim_mqtt_free) or NULL with err filled.
 */
sim_mqtt *sim_mqtt_new(const char *uri, const char *prefix, size_t n, int keepalive_s,
                       char *err, size_t errsz);

/* Disconnects (bounded) and destroys every client; NULL does nothing. */
void sim_mqtt_free(sim_mqtt *m);

/*
 * Sets the last will of client i (retained): topic and payload are copied.
 * Call before sim_mqtt_connect. Returns 0 or SIM_ENOMEM / SIM_EINVAL.
 */
int sim_mqtt_set_will(sim_mqtt *m, size_t i, const char *topic, const char *payload, int qos);

/* Starts connecting client i (asynchronous). Returns 0 or SIM_EINVAL (err text kept). */
int sim_mqtt_connect(sim_mqtt *m, size_t i);

/*
 * Waits until every client is connected or failed, at most timeout_ms or
 * until *stop becomes non-zero. Returns the number of connected clients.
 */
size_t sim_mqtt_wait_connected(sim_mqtt *m, int timeout_ms, volatile sig_atomic_t *stop);

/* 1 once after each (re)connect of client i (to publish "online"), else 0. */
int sim_mqtt_take_connect_event(sim_mqtt *m, size_t i);

/* 1 while client i is connected. */
int sim_mqtt_is_connected(const sim_mqtt *m, size_t i);

/*
 * Publishes on client i. Returns 0 (counted in sent; the ack arrives later)
 * or SIM_EINVAL (counted in failed).
 * Thread: main thread; callbacks run on the library's threads.
 */
int sim_mqtt_publish(sim_mqtt *m, size_t i, const char *topic, const void *payload, size_t len,
                     int qos, int retained);

/* Publishes not yet completed or failed. */
uint64_t sim_mqtt_in_flight(const sim_mqtt *m);

/* Waits (bounded) until nothing is in flight; returns what is still in flight. */
uint64_t sim_mqtt_drain(sim_mqtt *m, int timeout_ms);

/* Cleanly disconnects client i (no last will), waiting at most timeout_ms. */
int sim_mqtt_disconnect(sim_mqtt *m, size_t i, int timeout_ms);

/* Current counters. */
void sim_mqtt_get_stats(const sim_mqtt *m, sim_mqtt_stats *out);

/* Last connect failure text of any client ("" if none). */
const char *sim_mqtt_last_error(const sim_mqtt *m);

#endif
