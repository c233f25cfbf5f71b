/* SPDX-License-Identifier: MIT */
/*
 * Paho C (MQTTAsync) glue of asyncbridge-sim. Counters are atomics because
 * the library calls back on its own threads; everything else is touched by
 * the main thread only. Design notes: docs/sim.md.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <MQTTAsync.h>

#include "sim_gen.h"
#include "sim_mqtt.h"

typedef struct sim_client {
    struct sim_mqtt *owner; /* back pointer */
    MQTTAsync h;            /* Paho handle */
    char id[128];           /* client id */
    char *will_topic;       /* owned, or NULL */
    char *will_payload;     /* owned, or NULL */
    int will_qos;
    atomic_int connected;   /* 1 while connected */
    atomic_int state;       /* 0 connecting, 1 connected once, -1 failed */
    atomic_int connect_event; /* set on each (re)connect, taken by the main thread */
    atomic_int disconnected;  /* set by the disconnect callback */
} sim_client;

struct sim_mqtt {
    sim_client *clients; /* owned */
    size_t n;
    int keepalive;
    atomic_ullong sent, acked, failed, rejected, connects, lost; /* failed: after sent; rejected: never sent */
    char error[256];     /* last connect failure (written by callbacks, best effort) */
};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void on_connection_lost(void *ctx, char *cause)
{
    sim_client *c = ctx;
    (void)cause;
    atomic_store(&c->connected, 0);
    atomic_fetch_add(&c->owner->lost, 1);
}

static int on_message(void *ctx, char *topic, int len, MQTTAsync_message *msg)
{
    (void)ctx;
    (void)len;
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void on_connected(void *ctx, char *cause)
{
    sim_client *c = ctx;
    (void)cause;
    atomic_store(&c->connected, 1);
    atomic_store(&c->state, 1);
    atomic_store(&c->connect_event, 1);
    atomic_fetch_add(&c->owner->connects, 1);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *resp)
{
    sim_client *c = ctx;
    (void)resp;
    atomic_store(&c->connected, 1);
    atomic_store(&c->state, 1);
    atomic_store(&c->connect_event, 1);
}

static void on_connect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    sim_client *c = ctx;
    snprintf(c->owner->error, sizeof(c->owner->error), "client '%s' could not connect: %s (%d)",
             c->id, resp && resp->message ? resp->message : "refused or unreachable",
             resp ? resp->code : 0);
    atomic_store(&c->state, -1);
}

static void on_publish_ok(void *ctx, MQTTAsync_successData *resp)
{
    sim_client *c = ctx;
    (void)resp;
    atomic_fetch_add(&c->owner->acked, 1);
}

static void on_publish_fail(void *ctx, MQTTAsync_failureData *resp)
{
    sim_client *c = ctx;
    (void)resp;
    atomic_fetch_add(&c->owner->failed, 1);
}

static void on_disconnect(void *ctx, MQTTAsync_successData *resp)
{
    sim_client *c = ctx;
    (void)resp;
    atomic_store(&c->disconnected, 1);
}

static void on_disconnect_fail(void *ctx, MQTTAsync_failureData *resp)
{
    sim_client *c = ctx;
    (void)resp;
    atomic_store(&c->disconnected, 1);
}

sim_mqtt *sim_mqtt_new(const char *uri, const char *prefix, size_t n, int keepalive_s,
                       char *err, size_t errsz)
{
    sim_mqtt *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    m->clients = calloc(n, sizeof(*m->clients));
    if (!m->clients) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    m->keepalive = keepalive_s;
    for (size_t i = 0; i < n; i++) {
        sim_client *c = &m->clients[i];
        MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
        int rc;
        c->owner = m;
        int w = snprintf(c->id, sizeof(c->id), "%s-%zu", prefix, i + 1);
        if (w < 0 || (size_t)w >= sizeof(c->id)) {
            snprintf(err, errsz, "client prefix '%s' is too long", prefix);
            goto fail;
        }
        co.sendWhileDisconnected = 1; /* buffer across a reconnect instead of failing */
        co.maxBufferedMessages = 10000;
        rc = MQTTAsync_createWithOptions(&c->h, uri, c->id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
        if (rc != MQTTASYNC_SUCCESS) {
            c->h = NULL;
            snprintf(err, errsz, "cannot create an MQTT client for '%s': %s", uri,
                     MQTTAsync_strerror(rc));
            goto fail;
        }
        m->n = i + 1;
        rc = MQTTAsync_setCallbacks(c->h, c, on_connection_lost, on_message, NULL);
        if (rc == MQTTASYNC_SUCCESS)
            rc = MQTTAsync_setConnected(c->h, c, on_connected);
        if (rc != MQTTASYNC_SUCCESS) {
            snprintf(err, errsz, "cannot set MQTT callbacks: %s", MQTTAsync_strerror(rc));
            goto fail;
        }
    }
    return m;
fail:
    sim_mqtt_free(m);
    return NULL;
}

void sim_mqtt_free(sim_mqtt *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        sim_client *c = &m->clients[i];
        if (atomic_load(&c->connected))
            sim_mqtt_disconnect(m, i, 2000);
    }
    for (size_t i = 0; i < m->n; i++) {
        sim_client *c = &m->clients[i];
        if (c->h)
            MQTTAsync_destroy(&c->h);
        free(c->will_topic);
        free(c->will_payload);
    }
    free(m->clients);
    free(m);
}

int sim_mqtt_set_will(sim_mqtt *m, size_t i, const char *topic, const char *payload, int qos)
{
    sim_client *c;
    if (i >= m->n || !topic || !payload)
        return SIM_EINVAL;
    c = &m->clients[i];
    free(c->will_topic);
    free(c->will_payload);
    c->will_topic = strdup(topic);
    c->will_payload = strdup(payload);
    c->will_qos = qos;
    return c->will_topic && c->will_payload ? 0 : SIM_ENOMEM;
}

int sim_mqtt_connect(sim_mqtt *m, size_t i)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_willOptions wo = MQTTAsync_willOptions_initializer;
    sim_client *c;
    int rc;
    if (i >= m->n)
        return SIM_EINVAL;
    c = &m->clients[i];
    co.keepAliveInterval = m->keepalive;
    co.cleansession = 1;
    co.maxInflight = 1024;
    co.connectTimeout = 10;
    co.automaticReconnect = 1;
    co.minRetryInterval = 1;
    co.maxRetryInterval = 8;
    co.onSuccess = on_connect_ok;
    co.onFailure = on_connect_failure;
    co.context = c;
    if (c->will_topic) {
        wo.topicName = c->will_topic;
        wo.message = c->will_payload;
        wo.retained = 1;
        wo.qos = c->will_qos;
        co.will = &wo;
    }
    atomic_store(&c->state, 0);
    atomic_store(&c->disconnected, 0);
    rc = MQTTAsync_connect(c->h, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        snprintf(m->error, sizeof(m->error), "client '%s' could not start connecting: %s", c->id,
                 MQTTAsync_strerror(rc));
        atomic_store(&c->state, -1);
        return SIM_EINVAL;
    }
    return 0;
}

size_t sim_mqtt_wait_connected(sim_mqtt *m, int timeout_ms, volatile sig_atomic_t *stop)
{
    for (int waited = 0;; waited += 10) {
        size_t ok = 0, done = 0;
        for (size_t i = 0; i < m->n; i++) {
            int s = atomic_load(&m->clients[i].state);
            ok += s == 1;
            done += s != 0;
        }
        if (done == m->n || waited >= timeout_ms || (stop && *stop))
            return ok;
        sleep_ms(10);
    }
}

int sim_mqtt_take_connect_event(sim_mqtt *m, size_t i)
{
    return i < m->n && atomic_exchange(&m->clients[i].connect_event, 0);
}

int sim_mqtt_is_connected(const sim_mqtt *m, size_t i)
{
    return i < m->n && atomic_load(&m->clients[i].connected);
}

int sim_mqtt_publish(sim_mqtt *m, size_t i, const char *topic, const void *payload, size_t len,
                     int qos, int retained)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    sim_client *c;
    int rc;
    if (i >= m->n || len > 268435455u) {
        atomic_fetch_add(&m->rejected, 1);
        return SIM_EINVAL;
    }
    c = &m->clients[i];
    if (qos > 0) {
        ro.onSuccess = on_publish_ok;
        ro.onFailure = on_publish_fail;
        ro.context = c;
    }
    rc = MQTTAsync_send(c->h, topic, (int)len, payload, qos, retained, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        atomic_fetch_add(&m->rejected, 1);
        return SIM_EINVAL;
    }
    atomic_fetch_add(&m->sent, 1);
    if (qos == 0)
        atomic_fetch_add(&m->acked, 1); /* QoS 0 has no ack: done once queued */
    return 0;
}

uint64_t sim_mqtt_in_flight(const sim_mqtt *m)
{
    uint64_t s = atomic_load(&((sim_mqtt *)m)->sent);
    uint64_t done = atomic_load(&((sim_mqtt *)m)->acked) + atomic_load(&((sim_mqtt *)m)->failed);
    return s > done ? s - done : 0;
}

uint64_t sim_mqtt_drain(sim_mqtt *m, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 5) {
        if (sim_mqtt_in_flight(m) == 0)
            return 0;
        sleep_ms(5);
    }
    return sim_mqtt_in_flight(m);
}

int sim_mqtt_disconnect(sim_mqtt *m, size_t i, int timeout_ms)
{
    MQTTAsync_disconnectOptions dop = MQTTAsync_disconnectOptions_initializer;
    sim_client *c;
    if (i >= m->n)
        return SIM_EINVAL;
    c = &m->clients[i];
    dop.timeout = timeout_ms;
    dop.onSuccess = on_disconnect;
    dop.onFailure = on_disconnect_fail;
    dop.context = c;
    atomic_store(&c->disconnected, 0);
    atomic_store(&c->connected, 0);
    if (MQTTAsync_disconnect(c->h, &dop) != MQTTASYNC_SUCCESS)
        return SIM_EINVAL;
    for (int waited = 0; waited < timeout_ms + 500 && !atomic_load(&c->disconnected); waited += 5)
        sleep_ms(5);
    return 0;
}

void sim_mqtt_get_stats(const sim_mqtt *m, sim_mqtt_stats *out)
{
    sim_mqtt *mm = (sim_mqtt *)m;
    out->sent = atomic_load(&mm->sent);
    out->acked = atomic_load(&mm->acked);
    out->failed = atomic_load(&mm->failed) + atomic_load(&mm->rejected);
    out->connects = atomic_load(&mm->connects);
    out->lost = atomic_load(&mm->lost);
}

const char *sim_mqtt_last_error(const sim_mqtt *m)
{
    return m->error;
}
