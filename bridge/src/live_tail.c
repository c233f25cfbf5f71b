/* SPDX-License-Identifier: MIT */
/*
 * The log follower: a thread with its own read-only connection that hands
 * every newly committed event to the live hub in seq order, for a read
 * replica (`asyncbridge serve`) following another process's commits. Woken
 * by bridge_http_notify (or every tail_poll_ms). Not started in direct mode
 * (bridge_http_options.live_direct, `asyncbridge run`), where the writer
 * publishes its own events. It starts at the log head: earlier events are
 * replay, not live.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "http_int.h"

#define TAIL_BATCH 1000

static int tail_row(void *ctx, const store_event_row *r)
{
    bridge_http *h = ctx;

    (void)bridge_live_publish(h, &(bridge_live_event){
                                     .seq = r->seq, .channel = r->channel,
                                     .message = r->message, .device_id = r->device_id,
                                     .topic = r->topic, .params_json = r->params,
                                     .payload_json = r->payload, .payload_len = r->payload_len,
                                     .correlation_id = r->correlation_id,
                                     .received_at = r->received_at });
    h->tail_last = r->seq;
    return 0;
}

static void *tail_main(void *arg)
{
    bridge_http *h = arg;

    prctl(PR_SET_NAME, "ab-live-tail", 0, 0, 0); /* thread name for top/perf */

    while (!atomic_load(&h->stopping)) {
        int n;
        struct timespec until;

        if (atomic_load(&h->live_clients) == 0) {
            /*
             * Nobody listens: move to the log head without reading the
             * events. The head is read BEFORE the second look at the
             * client count, so a client that registered in between reads
             * the log (replay, or its "from now" position) at or after
             * this head: skipping up to it leaves that client no gap.
             */
            int64_t head = 0;

            if (store_read_heads(h->tail_reader, &head, NULL) == 0 &&
                atomic_load(&h->live_clients) == 0 && head > h->tail_last)
                h->tail_last = head;
            if (atomic_load(&h->live_clients) == 0)
                goto wait;
        }
        n = store_read_events(h->tail_reader,
                                  &(store_event_query){ .after_seq = h->tail_last,
                                                        .limit = TAIL_BATCH },
                                  tail_row, h);
        if (n == TAIL_BATCH)
            continue; /* more waiting */
wait:
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)h->opts.tail_poll_ms * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&h->tail_lock);
        while (!h->tail_wake && !atomic_load(&h->stopping))
            if (pthread_cond_timedwait(&h->tail_cond, &h->tail_lock, &until) == ETIMEDOUT)
                break;
        h->tail_wake = 0;
        pthread_mutex_unlock(&h->tail_lock);
    }
    return NULL;
}

int bridge_live_tail_start(bridge_http *h, char *err, size_t errsize)
{
    char diag[256];
    int e = 0;

    h->tail_reader = store_reader_open(h->opts.db_path, &e, diag, sizeof(diag));
    if (!h->tail_reader) {
        snprintf(err, errsize, "http: open store '%s' for the live follower: %s",
                 h->opts.db_path, diag);
        return -1;
    }
    if (store_read_heads(h->tail_reader, &h->tail_last, NULL) != 0) {
        snprintf(err, errsize, "http: read the log head: %s",
                 store_reader_errmsg(h->tail_reader));
        goto fail_reader;
    }
    if (pthread_mutex_init(&h->tail_lock, NULL) != 0)
        goto fail_reader;
    if (pthread_cond_init(&h->tail_cond, NULL) != 0)
        goto fail_mutex;
    if (pthread_create(&h->tail_thread, NULL, tail_main, h) != 0) {
        snprintf(err, errsize, "http: cannot start the live follower thread");
        goto fail_cond;
    }
    h->tail_started = 1;
    return 0;
fail_cond:
    pthread_cond_destroy(&h->tail_cond);
fail_mutex:
    pthread_mutex_destroy(&h->tail_lock);
fail_reader:
    store_reader_close(h->tail_reader);
    h->tail_reader = NULL;
    return -1;
}

void bridge_live_tail_stop(bridge_http *h)
{
    if (!h->tail_started) {
        return;
    }
    atomic_store(&h->stopping, 1);
    pthread_mutex_lock(&h->tail_lock);
    h->tail_wake = 1;
    pthread_cond_signal(&h->tail_cond);
    pthread_mutex_unlock(&h->tail_lock);
    pthread_join(h->tail_thread, NULL);
    h->tail_started = 0;
    pthread_cond_destroy(&h->tail_cond);
    pthread_mutex_destroy(&h->tail_lock);
    store_reader_close(h->tail_reader);
    h->tail_reader = NULL;
}

void bridge_http_notify(bridge_http *h)
{
    if (!h || !h->tail_started)
        return;
    pthread_mutex_lock(&h->tail_lock);
    h->tail_wake = 1;
    pthread_cond_signal(&h->tail_cond);
    pthread_mutex_unlock(&h->tail_lock);
}
