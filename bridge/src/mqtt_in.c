/* SPDX-License-Identifier: MIT */
/*
 * MQTT ingest connection over Paho's async client: persistent session,
 * subscriptions, reconnect with backoff, MQTT 5 -> 3.1.1 fallback, and the
 * messageArrived glue that acknowledges only what the handler made
 * durable. Contract in mqtt_in.h; design in docs/ingest.md.
 */
#include "mqtt_in.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include <MQTTAsync.h>

#include "log.h"
#include "sockio.h"
#include "thread_wake.h"

#define WAKE_TRIES 120 /* connect in progress: look for a napping Paho receiver every 1 ms, ... */
#define WAKE_EVERY_MS 1 /* ... for at most ~120 ms (Paho's nap is 100 ms) */

enum conn_state {
    ST_DISCONNECTED = 0, /* waiting for next_attempt */
    ST_CONNECTING = 1,   /* connect issued, waiting for a callback */
    ST_CONNECTED = 2,    /* connected, subscribe issued or done */
};

struct bridge_mqtt_in {
    char *uri;                 /* Paho server URI */
    char *client_id;
    char *persist_dir;
    char *username, *password;
    char *tls_ca, *tls_cert, *tls_key;
    int tls;
    int keepalive;
    long long session_expiry;
    int receive_max;
    int reconnect_min, reconnect_max;
    enum bridge_mqtt_version want_version;
    int version;               /* MQTTVERSION_5 or MQTTVERSION_3_1_1 in use */
    char **filters;            /* n_subs filters, with $share prefix if configured */
    int *qos;
    MQTTSubscribe_options *sub_opts; /* n_subs MQTT 5 options */
    size_t n_subs;
    bridge_mqtt_handler handler;
    void *ctx;

    MQTTAsync client;          /* NULL until created */
    pthread_t thread;
    int thread_running;

    pthread_mutex_t mu;        /* guards everything below */
    pthread_cond_t cv;         /* state changes, stop, callbacks finishing */
    enum conn_state state;
    int ready;                 /* subscribed */
    int stopping;
    int recreate;              /* fall back to 3.1.1: thread recreates the client */
    int backoff;               /* current delay, seconds */
    struct timespec next_attempt; /* CLOCK_MONOTONIC */
    int failures;              /* consecutive failed attempts (logs the first only) */
    int was_connected;         /* a connection existed before (lost vs never made) */
    int cb_active;             /* handler calls in progress */
    char tls_err[256];         /* last OpenSSL error of the current attempt ("" = none) */
    char last_fail[300];       /* kind of the last logged connect failure (see fail_kind) */
};

static void set_err(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errsize == 0)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(err, errsize, fmt, ap); /* a truncated message is fine */
    va_end(ap);
}

static char *dup_or_null(const char *s, int *fail)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *fail = 1;
    return d;
}

static void mono_in(struct timespec *ts, int seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += seconds;
}

static int mono_passed(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Waits on m->cv for at most ms (m->mu held). */
static void wait_ms(bridge_mqtt_in *m, int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(&m->cv, &m->mu, &ts);
}

/* A connect attempt failed or a connection was lost: schedule the next (mu held). */
static void schedule_retry(bridge_mqtt_in *m)
{
    m->state = ST_DISCONNECTED;
    m->ready = 0;
    mono_in(&m->next_attempt, m->backoff);
    m->backoff = m->backoff * 2 > m->reconnect_max ? m->reconnect_max : m->backoff * 2;
    pthread_cond_broadcast(&m->cv);
}

/* ------------------------------------------------------------------------ */
/* Paho callbacks                                                           */
/* ------------------------------------------------------------------------ */

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *msg)
{
    bridge_mqtt_in *m = context;
    size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    int rc;

    pthread_mutex_lock(&m->mu);
    if (m->stopping) {
        pthread_mutex_unlock(&m->mu);
        return 0; /* not taken: Paho keeps it (persisted) for the next run */
    }
    m->cb_active++;
    pthread_mutex_unlock(&m->mu);

    rc = m->handler(m->ctx, topic, tl, msg->payload,
                    msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0, msg->qos);

    pthread_mutex_lock(&m->mu);
    /* only a stopping bridge waits for cb_active to reach 0: waking the
     * connection thread for every message would cost a futex wake and a
     * context switch per message */
    if (--m->cb_active == 0 && m->stopping)
        pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (rc != 0)
        return 0;
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void on_connection_lost(void *context, char *cause)
{
    bridge_mqtt_in *m = context;

    pthread_mutex_lock(&m->mu);
    if (!m->stopping) {
        bridge_log_warn("mqtt connection to %s lost%s%s", m->uri, cause ? ": " : "",
                        cause ? cause : "");
        m->backoff = m->reconnect_min;
        m->failures = 1; /* the loss was logged: retries stay quiet ... */
        memcpy(m->last_fail, "net ", 5); /* ... unless they fail another way */
        schedule_retry(m);
    }
    pthread_mutex_unlock(&m->mu);
}

static void on_subscribed(bridge_mqtt_in *m, const int *granted, int n)
{
    int bad = 0;

    for (int i = 0; i < n && i < (int)m->n_subs; i++) {
        if (granted[i] >= 0x80) {
            bridge_log_error("subscription to '%s' refused by the broker (code 0x%02x)",
                             m->filters[i], granted[i]);
            bad = 1;
        } else if (granted[i] < m->qos[i]) {
            bridge_log_warn("subscription to '%s' granted qos %d instead of %d",
                            m->filters[i], granted[i], m->qos[i]);
        }
    }
    pthread_mutex_lock(&m->mu);
    m->ready = 1; /* refusals were logged; the other filters work */
    (void)bad;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    bridge_log_info("subscribed to %zu topic filters", m->n_subs);
}

static void on_subscribe5(void *context, MQTTAsync_successData5 *resp)
{
    bridge_mqtt_in *m = context;
    int codes[64];
    int n = 0;

    if (resp->alt.sub.reasonCodeCount > 0 && resp->alt.sub.reasonCodes != NULL) {
        for (n = 0; n < resp->alt.sub.reasonCodeCount && n < 64; n++)
            codes[n] = (int)resp->alt.sub.reasonCodes[n];
    } else {
        codes[0] = (int)resp->reasonCode;
        n = 1;
    }
    on_subscribed(m, codes, n);
}

static void on_subscribe3(void *context, MQTTAsync_successData *resp)
{
    bridge_mqtt_in *m = context;

    if (m->n_subs == 1)
        on_subscribed(m, &resp->alt.qos, 1);
    else
        on_subscribed(m, resp->alt.qosList, (int)m->n_subs);
}

static void on_subscribe_failed5(void *context, MQTTAsync_failureData5 *resp)
{
    bridge_mqtt_in *m = context;

    bridge_log_error("subscribing failed: %s (code %d, reason 0x%02x)",
                     resp->message ? resp->message : "no detail", resp->code,
                     (unsigned)resp->reasonCode);
    (void)m;
}

static void on_subscribe_failed3(void *context, MQTTAsync_failureData *resp)
{
    bridge_mqtt_in *m = context;

    bridge_log_error("subscribing failed: %s (code %d)",
                     resp->message ? resp->message : "no detail", resp->code);
    (void)m;
}

static void subscribe_all(bridge_mqtt_in *m)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc;

    ro.context = m;
    if (m->version == MQTTVERSION_5) {
        /*
         * Retain handling 1: retained messages only for a subscription that
         * did not exist yet, so resubscribing on a resumed session does not
         * replay retained status messages into the log on every restart.
         * (3.1.1 has no such option: those replays fall to the dedupe window.)
         */
        ro.subscribeOptions.retainHandling = 1;
        for (size_t i = 0; i < m->n_subs; i++)
            m->sub_opts[i].retainHandling = 1;
        ro.subscribeOptionsList = m->sub_opts;
        ro.subscribeOptionsCount = (int)m->n_subs;
        ro.onSuccess5 = on_subscribe5;
        ro.onFailure5 = on_subscribe_failed5;
    } else {
        ro.onSuccess = on_subscribe3;
        ro.onFailure = on_subscribe_failed3;
    }
    rc = MQTTAsync_subscribeMany(m->client, (int)m->n_subs, m->filters, m->qos, &ro);
    if (rc != MQTTASYNC_SUCCESS)
        bridge_log_error("subscribing failed: %s", MQTTAsync_strerror(rc));
}

static void connected(bridge_mqtt_in *m, int version, int session_present)
{
    pthread_mutex_lock(&m->mu);
    m->state = ST_CONNECTED;
    m->backoff = m->reconnect_min;
    m->failures = 0;
    m->last_fail[0] = '\0';
    m->was_connected = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    bridge_log_info("mqtt connected to %s as '%s' (MQTT %s, session %s)", m->uri,
                    m->client_id, version == MQTTVERSION_5 ? "5" : "3.1.1",
                    session_present ? "resumed" : "new");
    subscribe_all(m);
}

static void on_connect5(void *context, MQTTAsync_successData5 *resp)
{
    connected(context, MQTTVERSION_5, resp->alt.connect.sessionPresent);
}

static void on_connect3(void *context, MQTTAsync_successData *resp)
{
    connected(context, MQTTVERSION_3_1_1, resp->alt.connect.sessionPresent);
}

/*
 * Paho's TLS error hook (Paho thread): keeps the last OpenSSL error line of
 * this attempt, so a failed handshake says why ("certificate verify
 * failed") instead of only "TCP/TLS connect failure".
 */
static int on_ssl_error(const char *str, size_t len, void *u)
{
    bridge_mqtt_in *m = u;
    size_t n = len;
    const char *p;

    /*
     * OpenSSL 3 lines are "thread:error:code:lib:func:reason:file:line:data";
     * keep only the reason ("certificate verify failed") when it has that shape.
     */
    p = memchr(str, ':', len);
    for (int field = 1; p != NULL && field < 5; field++)
        p = memchr(p + 1, ':', len - (size_t)(p + 1 - str));
    if (p != NULL) {
        const char *end = memchr(p + 1, ':', len - (size_t)(p + 1 - str));

        if (end != NULL && end > p + 1) {
            str = p + 1;
            n = (size_t)(end - str);
        }
    }
    while (n > 0 && (str[n - 1] == '\n' || str[n - 1] == '\r'))
        n--;
    pthread_mutex_lock(&m->mu);
    if (n >= sizeof(m->tls_err))
        n = sizeof(m->tls_err) - 1;
    memcpy(m->tls_err, str, n);
    m->tls_err[n] = '\0';
    pthread_mutex_unlock(&m->mu);
    return 0;
}

/* The text of a refusing CONNACK: MQTT 5 reason code or 3.1.1 return code. */
static const char *connack_text(int version, int code, int reason)
{
    static const char *const v3[] = {
        NULL,
        "unacceptable protocol version",
        "client identifier rejected",
        "server unavailable",
        "bad user name or password",
        "not authorized",
    };

    if (reason >= 0x80)
        return MQTTReasonCode_toString((enum MQTTReasonCodes)reason);
    if (version == MQTTVERSION_5 && code >= 0x80)
        return MQTTReasonCode_toString((enum MQTTReasonCodes)code);
    if (code >= 1 && code <= 5)
        return v3[code];
    return NULL;
}

static void connect_failed(bridge_mqtt_in *m, int code, int reason, const char *message)
{
    char cause[600], kind[300];
    const char *refused;
    int n;

    pthread_mutex_lock(&m->mu);
    refused = connack_text(m->version, code, reason);
    if (refused != NULL)
        n = snprintf(cause, sizeof(cause), "refused by the broker: %s (MQTT %s, code %d)",
                     refused, m->version == MQTTVERSION_5 ? "5" : "3.1.1",
                     reason ? reason : code);
    else if (m->tls_err[0])
        n = snprintf(cause, sizeof(cause), "%s (code %d); tls: %s",
                     message ? message : "no detail", code, m->tls_err);
    else
        n = snprintf(cause, sizeof(cause), "%s (code %d)%s", message ? message : "no detail",
                     code,
                     m->tls ? "; no tls error on our side: the broker closed the connection "
                              "(does it require a client certificate, or not trust ours?)"
                            : "");
    if (n < 0 || (size_t)n >= sizeof(cause))
        cause[sizeof(cause) - 1] = '\0'; /* a truncated cause is still useful */
    /*
     * The kind of failure decides whether to log: a refusal by its code, a
     * TLS failure by its OpenSSL reason, everything else (refused or reset
     * TCP, whose Paho text varies between attempts) as one kind.
     */
    if (refused != NULL)
        n = snprintf(kind, sizeof(kind), "refused %d", reason ? reason : code);
    else
        n = snprintf(kind, sizeof(kind), "net %s", m->tls_err);
    if (n < 0 || (size_t)n >= sizeof(kind))
        kind[sizeof(kind) - 1] = '\0';
    if (m->version == MQTTVERSION_5 && m->want_version == BRIDGE_MQTT_AUTO &&
        /*
         * Paho 1.3.12 reports a refusing MQTT 5 CONNACK in code (reasonCode
         * stays 0), so 0x84 is looked for in both; 1 is the 3.1.1 CONNACK.
         */
        (reason == MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION ||
         code == MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION || code == 1 ||
         code == MQTTASYNC_WRONG_MQTT_VERSION)) {
        bridge_log_info("broker %s refused MQTT 5, falling back to 3.1.1", m->uri);
        m->recreate = 1;
        m->state = ST_DISCONNECTED;
        clock_gettime(CLOCK_MONOTONIC, &m->next_attempt);
        pthread_cond_broadcast(&m->cv);
        pthread_mutex_unlock(&m->mu);
        return;
    }
    /* once per cause: a retry failing the same way stays quiet */
    if (m->failures == 0 || strcmp(kind, m->last_fail) != 0)
        bridge_log_warn("mqtt connect to %s failed: %s; retrying with backoff up to %ds",
                        m->uri, cause, m->reconnect_max);
    else
        bridge_log_debug("mqtt connect to %s failed again: %s", m->uri, cause);
    memcpy(m->last_fail, kind, sizeof(kind));
    m->failures++;
    schedule_retry(m);
    pthread_mutex_unlock(&m->mu);
}

static void on_connect_failed5(void *context, MQTTAsync_failureData5 *resp)
{
    connect_failed(context, resp->code, (int)resp->reasonCode, resp->message);
}

static void on_connect_failed3(void *context, MQTTAsync_failureData *resp)
{
    connect_failed(context, resp->code, 0, resp->message);
}

/* ------------------------------------------------------------------------ */
/* Client lifecycle                                                         */
/* ------------------------------------------------------------------------ */

static int create_client(bridge_mqtt_in *m, char *err, size_t errsize)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    const char *batch_io = getenv("ASYNCBRIDGE_PAHO_BATCH_IO");
    int rc;

    co.MQTTVersion = m->version;
    /*
     * Paho formats a trace line (vsnprintf, a clock read, a global mutex)
     * for every packet at its default level, into a buffer nobody reads
     * here: ~3 us of the receive thread per message. Errors only, unless
     * Paho's own debugging variable asks for its trace.
     */
    if (getenv("MQTT_C_CLIENT_TRACE") == NULL)
        MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
    /*
     * Paho's socket reads and acknowledgements in batches (sockio.h): ~5
     * fewer system calls per message. TLS connections are never batched;
     * ASYNCBRIDGE_PAHO_BATCH_IO=0 turns it off (to compare).
     */
    if (batch_io != NULL && strcmp(batch_io, "0") != 0 && strcmp(batch_io, "1") != 0)
        bridge_log_warn("ASYNCBRIDGE_PAHO_BATCH_IO='%s' is neither 0 nor 1: batching stays on",
                        batch_io);
    if (!m->tls && !(batch_io != NULL && strcmp(batch_io, "0") == 0))
        bridge_sockio_enable();
    rc = MQTTAsync_createWithOptions(&m->client, m->uri, m->client_id,
                                     MQTTCLIENT_PERSISTENCE_DEFAULT, m->persist_dir, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        m->client = NULL;
        set_err(err, errsize, "cannot create mqtt client for %s: %s", m->uri,
                MQTTAsync_strerror(rc));
        return -1;
    }
    rc = MQTTAsync_setCallbacks(m->client, m, on_connection_lost, on_message, NULL);
    if (rc != MQTTASYNC_SUCCESS) {
        set_err(err, errsize, "cannot set mqtt callbacks: %s", MQTTAsync_strerror(rc));
        MQTTAsync_destroy(&m->client);
        m->client = NULL;
        return -1;
    }
    return 0;
}

static void start_connect(bridge_mqtt_in *m)
{
    MQTTAsync_connectOptions o5 = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_connectOptions o3 = MQTTAsync_connectOptions_initializer;
    MQTTAsync_connectOptions *o = m->version == MQTTVERSION_5 ? &o5 : &o3;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    MQTTProperties props = MQTTProperties_initializer;
    int rc;

    o->keepAliveInterval = m->keepalive;
    o->connectTimeout = 10;
    o->automaticReconnect = 0; /* our thread reconnects (also after a failed first connect) */
    o->username = m->username;
    o->password = m->password;
    o->context = m;
    o->MQTTVersion = m->version;
    if (m->tls) {
        ssl.trustStore = m->tls_ca;
        ssl.keyStore = m->tls_cert;
        ssl.privateKey = m->tls_key;
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1;
        ssl.ssl_error_cb = on_ssl_error;
        ssl.ssl_error_context = m;
        o->ssl = &ssl;
    }
    if (m->version == MQTTVERSION_5) {
        MQTTProperty p;

        o->cleanstart = 0;
        memset(&p, 0, sizeof(p));
        p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
        p.value.integer4 = (unsigned int)m->session_expiry;
        MQTTProperties_add(&props, &p);
        memset(&p, 0, sizeof(p));
        p.identifier = MQTTPROPERTY_CODE_RECEIVE_MAXIMUM;
        p.value.integer2 = (unsigned short)m->receive_max;
        MQTTProperties_add(&props, &p);
        o->connectProperties = &props;
        o->onSuccess5 = on_connect5;
        o->onFailure5 = on_connect_failed5;
    } else {
        o->cleansession = 0;
        o->onSuccess = on_connect3;
        o->onFailure = on_connect_failed3;
    }
    bridge_sockio_reset(); /* the last connection's socket is gone */
    rc = MQTTAsync_connect(m->client, o);
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS)
        connect_failed(m, rc, 0, MQTTAsync_strerror(rc));
}

static void *conn_main(void *arg)
{
    bridge_mqtt_in *m = arg;

    prctl(PR_SET_NAME, "ab-mqtt-conn", 0, 0, 0); /* thread name for top/perf */

    pthread_mutex_lock(&m->mu);
    while (!m->stopping) {
        if (m->state == ST_DISCONNECTED && mono_passed(&m->next_attempt)) {
            if (m->recreate) {
                char err[256];

                m->recreate = 0;
                m->version = MQTTVERSION_3_1_1;
                pthread_mutex_unlock(&m->mu);
                MQTTAsync_destroy(&m->client);
                m->client = NULL;
                if (create_client(m, err, sizeof(err)) != 0)
                    bridge_log_error("%s", err);
                pthread_mutex_lock(&m->mu);
                if (m->client == NULL) {
                    schedule_retry(m);
                    continue;
                }
            }
            m->state = ST_CONNECTING;
            m->tls_err[0] = '\0';
            pthread_mutex_unlock(&m->mu);
            start_connect(m);
            pthread_mutex_lock(&m->mu);
            /*
             * Paho's receive thread naps 100 ms whenever it has no socket to
             * poll, which is often the case when the connect starts: wake
             * it (thread_wake.h) until it has taken the new socket. (On a
             * reconnect Paho 1.3 then still waits in a 1 s poll before it
             * sees the TCP connect complete; that wait is not a sleep.)
             */
            {
                int wakes = 0;

                for (int i = 0; i < WAKE_TRIES && m->state == ST_CONNECTING && !m->stopping;
                     i++) {
                    wait_ms(m, WAKE_EVERY_MS);
                    if (m->state != ST_CONNECTING || m->stopping)
                        break;
                    pthread_mutex_unlock(&m->mu);
                    if (bridge_thread_wake("MQTTAsync_rcv") > 0)
                        wakes++;
                    pthread_mutex_lock(&m->mu);
                }
                if (wakes > 0)
                    bridge_log_debug("mqtt: woke paho's receive thread %d time%s during the connect",
                                     wakes, wakes == 1 ? "" : "s");
            }
            continue;
        }
        wait_ms(m, 200);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

bridge_mqtt_in *bridge_mqtt_in_new(const bridge_config *cfg, const bridge_mqtt_sub *subs,
                                   size_t n_subs, bridge_mqtt_handler handler, void *ctx,
                                   char *err, size_t errsize)
{
    bridge_mqtt_in *m;
    int fail = 0;

    if (cfg->broker_uri == NULL || cfg->client_id == NULL || cfg->persist_dir == NULL ||
        handler == NULL || n_subs == 0) {
        set_err(err, errsize, "mqtt: missing broker, client id, handler or subscriptions");
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        goto nomem;
    pthread_mutex_init(&m->mu, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_cond_init(&m->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    m->uri = dup_or_null(cfg->broker_uri, &fail);
    m->client_id = dup_or_null(cfg->client_id, &fail);
    m->persist_dir = dup_or_null(cfg->persist_dir, &fail);
    m->username = dup_or_null(cfg->username, &fail);
    m->password = dup_or_null(cfg->password, &fail);
    m->tls_ca = dup_or_null(cfg->tls_ca, &fail);
    m->tls_cert = dup_or_null(cfg->tls_cert, &fail);
    m->tls_key = dup_or_null(cfg->tls_key, &fail);
    m->tls = cfg->broker_tls;
    m->keepalive = cfg->keepalive;
    m->session_expiry = cfg->session_expiry;
    m->receive_max = cfg->receive_max;
    m->reconnect_min = cfg->reconnect_min;
    m->reconnect_max = cfg->reconnect_max;
    m->backoff = cfg->reconnect_min;
    m->want_version = cfg->mqtt_version;
    m->version = cfg->mqtt_version == BRIDGE_MQTT_311 ? MQTTVERSION_3_1_1 : MQTTVERSION_5;
    m->handler = handler;
    m->ctx = ctx;
    m->filters = calloc(n_subs, sizeof(*m->filters));
    m->qos = calloc(n_subs, sizeof(*m->qos));
    m->sub_opts = calloc(n_subs, sizeof(*m->sub_opts));
    if (fail || m->filters == NULL || m->qos == NULL || m->sub_opts == NULL)
        goto nomem;
    m->n_subs = n_subs;
    for (size_t i = 0; i < n_subs; i++) {
        size_t n = strlen(subs[i].filter) + 1;

        if (cfg->share_group)
            n += strlen(cfg->share_group) + 8;
        m->filters[i] = malloc(n);
        if (m->filters[i] == NULL)
            goto nomem;
        if (cfg->share_group) {
            if (snprintf(m->filters[i], n, "$share/%s/%s", cfg->share_group,
                         subs[i].filter) >= (int)n)
                goto nomem;
        } else {
            memcpy(m->filters[i], subs[i].filter, n);
        }
        /*
         * At most QoS 1. Paho C 1.3.12 (MQTTProtocol_handlePubrels) sends the
         * PUBCOMP of an inbound QoS 2 message *before* calling messageArrived;
         * a crash while the handler commits loses the message (the broker is
         * done with it and never sends the PUBREL that would make Paho
         * deliver its persisted copy: 07-mqtt-qos2.py lost messages so).
         * A QoS 1 subscription is acknowledged after the handler, and the
         * store's dedupe turns the redeliveries into exactly once.
         */
        m->qos[i] = subs[i].qos < 0 ? 1 : subs[i].qos > 1 ? 1 : subs[i].qos;
        if (subs[i].qos > 1)
            bridge_log_info("'%s': the spec asks for qos %d; subscribing with qos 1 (acknowledged "
                            "after the commit; the store's dedupe makes it exactly once)",
                            subs[i].filter, subs[i].qos);
        m->sub_opts[i] = (MQTTSubscribe_options)MQTTSubscribe_options_initializer;
    }
    if (mkdir(m->persist_dir, 0700) != 0 && errno != EEXIST) {
        set_err(err, errsize, "cannot create mqtt persistence folder '%s': %s",
                m->persist_dir, strerror(errno));
        goto fail;
    }
    if (create_client(m, err, errsize) != 0)
        goto fail;
    return m;
nomem:
    set_err(err, errsize, "out of memory");
fail:
    bridge_mqtt_in_free(m);
    return NULL;
}

int bridge_mqtt_in_start(bridge_mqtt_in *m, char *err, size_t errsize)
{
    clock_gettime(CLOCK_MONOTONIC, &m->next_attempt);
    if (bridge_thread_wake_init() != 0)
        bridge_log_debug("mqtt: SIGURG is in use; paho's receive thread is not woken at connect");
    if (pthread_create(&m->thread, NULL, conn_main, m) != 0) {
        set_err(err, errsize, "cannot start the mqtt connection thread");
        return -1;
    }
    m->thread_running = 1;
    return 0;
}

int bridge_mqtt_in_is_ready(const bridge_mqtt_in *m)
{
    bridge_mqtt_in *mm = (bridge_mqtt_in *)m;
    int r;

    pthread_mutex_lock(&mm->mu);
    r = mm->state == ST_CONNECTED && mm->ready;
    pthread_mutex_unlock(&mm->mu);
    return r;
}

int bridge_mqtt_in_wait_ready(bridge_mqtt_in *m, int timeout_ms)
{
    struct timespec end;
    int r;

    mono_in(&end, 0);
    end.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock(&m->mu);
    while (!(r = (m->state == ST_CONNECTED && m->ready)) && !m->stopping &&
           !mono_passed(&end))
        wait_ms(m, 100);
    pthread_mutex_unlock(&m->mu);
    return r;
}

void bridge_mqtt_in_stop(bridge_mqtt_in *m)
{
    int was_connected;

    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->stopping = 1;
    pthread_cond_broadcast(&m->cv);
    while (m->cb_active > 0)
        wait_ms(m, 100);
    was_connected = m->was_connected;
    pthread_mutex_unlock(&m->mu);
    if (m->thread_running) {
        pthread_join(m->thread, NULL);
        m->thread_running = 0;
    }
    if (m->client != NULL) {
        if (MQTTAsync_isConnected(m->client)) {
            MQTTAsync_disconnectOptions d5 = MQTTAsync_disconnectOptions_initializer5;
            MQTTAsync_disconnectOptions d3 = MQTTAsync_disconnectOptions_initializer;
            MQTTAsync_disconnectOptions *d = m->version == MQTTVERSION_5 ? &d5 : &d3;

            d->timeout = 1000;
            if (MQTTAsync_disconnect(m->client, d) == MQTTASYNC_SUCCESS) {
                for (int i = 0; i < 30 && MQTTAsync_isConnected(m->client); i++) {
                    struct timespec ts = { 0, 50 * 1000000L };

                    nanosleep(&ts, NULL);
                }
            }
        }
        MQTTAsync_destroy(&m->client);
        m->client = NULL;
        if (was_connected)
            bridge_log_info("mqtt disconnected from %s", m->uri);
    }
}

void bridge_mqtt_in_free(bridge_mqtt_in *m)
{
    if (m == NULL)
        return;
    bridge_mqtt_in_stop(m);
    if (m->filters)
        for (size_t i = 0; i < m->n_subs; i++)
            free(m->filters[i]);
    free(m->filters);
    free(m->qos);
    free(m->sub_opts);
    free(m->uri);
    free(m->client_id);
    free(m->persist_dir);
    free(m->username);
    free(m->password);
    free(m->tls_ca);
    free(m->tls_cert);
    free(m->tls_key);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
