/* SPDX-License-Identifier: MIT */
/*
 * `asyncbridge run`: load the spec, open the store, start the projector,
 * the ingest and the MQTT connection, then wait for SIGINT/SIGTERM and shut
 * down in order (stop taking messages, commit what is in flight, close the
 * store). Design: docs/ingest.md.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asyncapi/asyncapi.h"
#include "cli.h"
#include "config.h"
#include "http_server.h"
#include "ingest.h"
#include "log.h"
#include "mqtt_in.h"
#include "sockio.h"
#include "store/store.h"

/* What the MQTT handler, the commit hook and /readyz need. */
struct run_ctx {
    bridge_ingest *ing;   /* the pipeline */
    bridge_mqtt_in *mqtt; /* the connection (readiness) */
    bridge_http *http;    /* the HTTP side (woken after commits), may be NULL */
    atomic_int stopping;  /* set on SIGINT/SIGTERM: handlers stop retrying */
};

/*
 * Ingest hooks (writer thread), direct live push: capture the batch only
 * while a live client listens; publish its events after the commit; report
 * every commit so that skipped seqs become a resync from the log.
 */
static int on_capture(void *ctx)
{
    struct run_ctx *rc = ctx;

    return bridge_http_live_wanted(rc->http);
}

static void on_events(void *ctx, const bridge_ingest_event *ev, size_t n)
{
    struct run_ctx *rc = ctx;

    for (size_t i = 0; i < n; i++)
        (void)bridge_live_publish(rc->http, &(bridge_live_event){
                                                .seq = ev[i].seq, .channel = ev[i].channel,
                                                .message = ev[i].message,
                                                .device_id = ev[i].device_id,
                                                .topic = ev[i].topic,
                                                .params_json = ev[i].params_json,
                                                .payload_json = ev[i].payload_json,
                                                .payload_len = ev[i].payload_len,
                                                .correlation_id = ev[i].correlation_id,
                                                .received_at = ev[i].received_at });
}

static void on_commit(void *ctx, int64_t last_seq)
{
    struct run_ctx *rc = ctx;

    bridge_live_committed(rc->http, last_seq);
}

/* /readyz (HTTP service thread): the broker side of readiness. */
static int write_side_ready(void *ctx, int *broker_connected, char *why, size_t why_size)
{
    struct run_ctx *rc = ctx;
    int ok = rc->mqtt != NULL && bridge_mqtt_in_is_ready(rc->mqtt);

    *broker_connected = ok;
    if (!ok && why_size > 0)
        (void)snprintf(why, why_size, "not connected to the mqtt broker");
    return ok;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Paho receive thread: hand the message to the ingest; while the store or
 * journal fails, hold the message (back-pressure) and retry, unless we are
 * shutting down: then leave it to Paho's persistence / the broker.
 */
static int on_mqtt_message(void *ctx, const char *topic, size_t topic_len,
                           const void *payload, size_t len, int qos)
{
    struct run_ctx *rc = ctx;
    int64_t at = now_ms();
    unsigned delay_ms = 50;

    (void)qos;
    for (;;) {
        if (bridge_ingest_submit(rc->ing, topic, topic_len, payload, len, at) == 0)
            return 0;
        if (atomic_load(&rc->stopping))
            return -1;
        bridge_sockio_flush(); /* the earlier messages' acknowledgements go now */
        {
            struct timespec ts = { .tv_sec = delay_ms / 1000,
                                   .tv_nsec = (long)(delay_ms % 1000) * 1000000L };

            nanosleep(&ts, NULL);
        }
        if (delay_ms < 2000)
            delay_ms *= 2;
    }
}

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: asyncbridge run --spec SPEC [--broker mqtt://host:port|mqtts://...]\n"
            "                       [--db FILE] [--http ADDR:PORT] [--config FILE] [...]\n"
            "\n"
            "Subscribes to every channel the application receives on, validates each\n"
            "message and appends it to the event log (or dead letters), durably before\n"
            "the MQTT acknowledgement. SIGINT/SIGTERM stop it cleanly (exit 0).\n"
            "\n");
    bridge_config_usage(out);
}

static void log_stats(const bridge_ingest_stats *st)
{
    uint64_t commits = atomic_load(&st->commits);

    bridge_log_info("ingest: %llu received, %llu events, %llu duplicates, %llu dead letters, "
                    "%llu dropped, %llu commits (avg %llu us), %llu replayed",
                    (unsigned long long)atomic_load(&st->received),
                    (unsigned long long)atomic_load(&st->events),
                    (unsigned long long)atomic_load(&st->duplicates),
                    (unsigned long long)atomic_load(&st->dead_letters),
                    (unsigned long long)atomic_load(&st->dropped),
                    (unsigned long long)commits,
                    (unsigned long long)(commits ? atomic_load(&st->commit_us_total) / commits
                                                 : 0),
                    (unsigned long long)atomic_load(&st->replayed));
}

int bridge_cmd_run(int argc, char **argv)
{
    bridge_config cfg;
    asyncapi_doc *doc = NULL;
    asyncapi_diag diag;
    store *writer = NULL;
    store_projector *proj = NULL;
    bridge_ingest *ing = NULL;
    bridge_mqtt_in *mqtt = NULL;
    bridge_http *http = NULL;
    bridge_mqtt_sub *subs = NULL;
    const char **status_ids = NULL;
    size_t n_status = 0, n_subs = 0, n_ch = 0;
    const asyncapi_channel *chs;
    struct run_ctx ctx = { 0 };
    char err[1024], *jdir = NULL;
    sigset_t sigs;
    int rc, exit_code = 2, serr = 0;

    if (bridge_config_init(&cfg) != 0) {
        bridge_errorf("run: out of memory");
        return 2;
    }
    rc = bridge_config_parse_args(&cfg, argc, argv, 1, err, sizeof(err));
    if (rc == 1) {
        run_usage(stdout);
        exit_code = 0;
        goto out_cfg;
    }
    if (rc != 0) {
        bridge_errorf("run: %s", err);
        goto out_cfg;
    }
    if (cfg.spec == NULL) {
        bridge_errorf("run: --spec is required (see 'asyncbridge run --help')");
        goto out_cfg;
    }
    bridge_log_set_level((enum bridge_log_level)cfg.log_level);

    memset(&diag, 0, sizeof(diag));
    doc = asyncapi_load(cfg.spec, NULL, &rc, &diag);
    if (doc == NULL) {
        if (diag.line > 0)
            bridge_errorf("run: %s:%d:%d: %s", diag.file[0] ? diag.file : cfg.spec, diag.line,
                          diag.column, diag.message);
        else
            bridge_errorf("run: %s: %s%s%s", diag.file[0] ? diag.file : cfg.spec,
                          diag.pointer[0] ? diag.pointer : "",
                          diag.pointer[0] ? ": " : "",
                          diag.message[0] ? diag.message : asyncapi_strerror(rc));
        goto out_cfg;
    }
    if (bridge_config_resolve(&cfg, doc, err, sizeof(err)) != 0) {
        bridge_errorf("run: %s", err);
        goto out_doc;
    }

    /* subscriptions: the receiving channels */
    chs = asyncapi_doc_channels(doc, &n_ch);
    subs = calloc(n_ch ? n_ch : 1, sizeof(*subs));
    if (subs == NULL) {
        bridge_errorf("run: out of memory");
        goto out_doc;
    }
    for (size_t i = 0; i < n_ch; i++) {
        if (!asyncapi_channel_receives(doc, &chs[i]) || chs[i].topic_filter == NULL)
            continue;
        subs[n_subs].filter = chs[i].topic_filter;
        subs[n_subs].qos = asyncapi_channel_qos(doc, &chs[i]);
        n_subs++;
    }
    if (n_subs == 0) {
        bridge_errorf("run: %s: the application receives on no channel; nothing to subscribe",
                      cfg.spec);
        goto out_subs;
    }

    /* every thread started from here on inherits the blocked signals */
    /* a peer closing a socket must be an error return, not a dead daemon */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    writer = store_open(cfg.db, NULL, &serr, err, sizeof(err));
    if (writer == NULL) {
        bridge_errorf("run: cannot open store '%s': %s: %s", cfg.db, store_strerror(serr), err);
        goto out_subs;
    }
    if (bridge_status_channels(doc, &status_ids, &n_status) != 0) {
        bridge_errorf("run: out of memory");
        goto out_store;
    }
    {
        store_projector_options popt = {
            .status_channels = status_ids,
            .n_status_channels = n_status,
        };

        proj = store_projector_start(cfg.db, &popt, &serr, err, sizeof(err));
        if (proj == NULL) {
            bridge_errorf("run: cannot start the projector: %s: %s", store_strerror(serr), err);
            goto out_store;
        }
    }
    {
        size_t n = strlen(cfg.db) + 9;

        jdir = malloc(n);
        if (jdir == NULL || snprintf(jdir, n, "%s.journal", cfg.db) >= (int)n) {
            bridge_errorf("run: out of memory");
            goto out_proj;
        }
    }
    {
        bridge_ingest_options iopt = {
            .doc = doc,
            .writer = writer,
            .projector = proj,
            .mode = cfg.ingest_sync ? BRIDGE_INGEST_SYNC : BRIDGE_INGEST_JOURNAL,
            .journal_dir = jdir,
            .max_payload = cfg.max_payload,
            .drop_unknown = cfg.unknown_topic == BRIDGE_UNKNOWN_DROP,
            .on_commit = on_commit,
            .on_commit_ctx = &ctx,
            .capture = on_capture,
            .on_events = on_events,
        };

        ing = bridge_ingest_new(&iopt, err, sizeof(err));
        if (ing == NULL) {
            bridge_errorf("run: %s", err);
            goto out_proj;
        }
    }
    if (bridge_ingest_start(ing, err, sizeof(err)) != 0) {
        bridge_errorf("run: %s", err);
        goto out_ing;
    }
    ctx.ing = ing;
    mqtt = bridge_mqtt_in_new(&cfg, subs, n_subs, on_mqtt_message, &ctx, err, sizeof(err));
    if (mqtt == NULL) {
        bridge_errorf("run: %s", err);
        goto out_ing;
    }
    ctx.mqtt = mqtt;
    {
        bridge_http_options hopt = {
            .listen = cfg.http,
            .db_path = cfg.db,
            .doc = doc,
            .spec_path = cfg.spec,
            .ingest_stats = bridge_ingest_get_stats(ing),
            .ready = write_side_ready,
            .ready_ctx = &ctx,
            .live_direct = 1,
        };

        http = bridge_http_start(&hopt, err, sizeof(err));
        if (http == NULL) {
            bridge_errorf("run: %s", err);
            goto out_mqtt;
        }
        ctx.http = http;
    }
    bridge_log_info("asyncbridge %s: spec '%s' (%zu receiving channels), store '%s', "
                    "broker %s, ingest %s, http %s (port %d)",
                    ASYNCBRIDGE_VERSION, cfg.spec, n_subs, cfg.db, cfg.broker_uri,
                    cfg.ingest_sync ? "sync" : "journal", cfg.http, bridge_http_port(http));
    if (bridge_mqtt_in_start(mqtt, err, sizeof(err)) != 0) {
        bridge_errorf("run: %s", err);
        goto out_mqtt;
    }

    for (;;) {
        struct timespec ts = { .tv_sec = 10, .tv_nsec = 0 };
        int sig = sigtimedwait(&sigs, NULL, &ts);

        if (sig == SIGINT || sig == SIGTERM) {
            bridge_log_info("%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            bridge_log_error("waiting for signals failed: %s", strerror(errno));
            break;
        }
        if (bridge_log_get_level() >= BRIDGE_LOG_DEBUG)
            log_stats(bridge_ingest_get_stats(ing));
    }
    exit_code = 0;
out_mqtt:
    /* stop taking messages: no handler call after this (NULL is fine) */
    atomic_store(&ctx.stopping, 1);
    bridge_mqtt_in_stop(mqtt);
out_ing:
    if (bridge_ingest_stop(ing) != 0) {
        bridge_log_error("some messages could not be committed; they stay in the journal "
                         "'%s' for the next start", jdir);
        if (exit_code == 0)
            exit_code = 1;
    }
    if (ing != NULL)
        log_stats(bridge_ingest_get_stats(ing));
    /*
     * The writer is gone (nothing publishes to the hub any more); the
     * HTTP side borrows the ingest counters until it has stopped.
     */
    bridge_http_stop(http);
    bridge_ingest_free(ing);
    bridge_mqtt_in_free(mqtt);
out_proj:
    store_projector_stop(proj);
    free(jdir);
out_store:
    store_close(writer);
    free(status_ids);
out_subs:
    free(subs);
out_doc:
    asyncapi_free(doc);
out_cfg:
    bridge_config_release(&cfg);
    return exit_code;
}
