/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition for /metrics (metrics.h): HTTP counters of the
 * service thread, the ingest's atomic counters, store heads, process RSS.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http_route.h"
#include "sockio.h"

static const int slot_status[BRIDGE_METRICS_STATUS_SLOTS] = {
    200, 400, 403, 404, 405, 414, 426, 431, 500, 503, 101, 0,
};

size_t bridge_metrics_status_slot(int status)
{
    for (size_t i = 0; i + 1 < BRIDGE_METRICS_STATUS_SLOTS; i++)
        if (slot_status[i] == status)
            return i;
    return BRIDGE_METRICS_STATUS_SLOTS - 1;
}

int bridge_metrics_slot_status(size_t slot)
{
    return slot < BRIDGE_METRICS_STATUS_SLOTS ? slot_status[slot] : 0;
}

uint64_t bridge_metrics_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0;
    long page = sysconf(_SC_PAGESIZE);

    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return page > 0 ? (uint64_t)rss * (uint64_t)page : 0;
}

static void help(bridge_buf *b, const char *name, const char *type, const char *text)
{
    bridge_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* Prometheus label value escaping: backslash, quote, newline. */
static void label(bridge_buf *b, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            bridge_buf_putc(b, '\\');
        if (*v == '\n') {
            bridge_buf_puts(b, "\\n");
            continue;
        }
        bridge_buf_putc(b, *v);
    }
}

static unsigned long long ld(const atomic_uint_fast64_t *v)
{
    return (unsigned long long)atomic_load(v);
}

static void render_ingest(bridge_buf *b, const bridge_metrics_input *in)
{
    const bridge_ingest_stats *st = in->ingest;
    size_t nch = 0;
    const asyncapi_channel *chs = in->doc ? asyncapi_doc_channels(in->doc, &nch) : NULL;

    help(b, "asyncbridge_messages_received_total", "counter", "MQTT messages taken by the ingest");
    bridge_buf_printf(b, "asyncbridge_messages_received_total %llu\n", ld(&st->received));
    help(b, "asyncbridge_messages_channel_total", "counter",
         "messages per channel and outcome (valid = new event, duplicate, invalid = dead letter)");
    for (size_t i = 0; i < st->n_channels && chs && i < nch; i++) {
        const bridge_channel_stats *c = &st->channels[i];
        const struct { const char *name; const atomic_uint_fast64_t *v; } o[] = {
            { "received", &c->received }, { "valid", &c->valid },
            { "duplicate", &c->duplicates }, { "invalid", &c->invalid },
        };
        for (size_t k = 0; k < sizeof(o) / sizeof(o[0]); k++) {
            bridge_buf_puts(b, "asyncbridge_messages_channel_total{channel=\"");
            label(b, chs[i].id);
            bridge_buf_printf(b, "\",outcome=\"%s\"} %llu\n", o[k].name, ld(o[k].v));
        }
    }
    help(b, "asyncbridge_events_stored_total", "counter", "new events stored by this process");
    bridge_buf_printf(b, "asyncbridge_events_stored_total %llu\n", ld(&st->events));
    help(b, "asyncbridge_duplicates_total", "counter", "duplicates acknowledged without a row");
    bridge_buf_printf(b, "asyncbridge_duplicates_total %llu\n", ld(&st->duplicates));
    help(b, "asyncbridge_dead_letters_total", "counter", "dead letters stored, by reason kind");
    for (int k = 0; k < BRIDGE_DL_KINDS; k++)
        bridge_buf_printf(b, "asyncbridge_dead_letters_total{kind=\"%s\"} %llu\n",
                          bridge_dl_kind_name((enum bridge_dl_kind)k), ld(&st->dead_by_kind[k]));
    help(b, "asyncbridge_messages_ignored_total", "counter",
         "unknown-topic messages counted and dropped (policy drop)");
    bridge_buf_printf(b, "asyncbridge_messages_ignored_total %llu\n", ld(&st->dropped));
    help(b, "asyncbridge_commits_total", "counter", "store transactions committed");
    bridge_buf_printf(b, "asyncbridge_commits_total %llu\n", ld(&st->commits));
    help(b, "asyncbridge_commit_errors_total", "counter", "failed commits (retried)");
    bridge_buf_printf(b, "asyncbridge_commit_errors_total %llu\n", ld(&st->commit_errors));
    help(b, "asyncbridge_commit_latency_seconds", "summary", "commit latency (sum, count, max)");
    bridge_buf_printf(b, "asyncbridge_commit_latency_seconds_sum %.6f\n",
                      (double)ld(&st->commit_us_total) / 1e6);
    bridge_buf_printf(b, "asyncbridge_commit_latency_seconds_count %llu\n", ld(&st->commits));
    help(b, "asyncbridge_commit_latency_max_seconds", "gauge", "slowest commit so far");
    bridge_buf_printf(b, "asyncbridge_commit_latency_max_seconds %.6f\n",
                      (double)ld(&st->commit_us_max) / 1e6);
    help(b, "asyncbridge_ingest_queue_depth", "gauge", "messages journaled but not committed");
    bridge_buf_printf(b, "asyncbridge_ingest_queue_depth %llu\n", ld(&st->queue_depth));
}

/* Paho's batched socket I/O (sockio.h): how many system calls it saved. */
static void render_sockio(bridge_buf *b)
{
    bridge_sockio_stats io;

    bridge_sockio_get_stats(&io);
    {
        const struct { const char *name, *text; uint64_t v; } c[] = {
            { "asyncbridge_mqtt_socket_reads_total",
              "system calls that read the MQTT socket for Paho (with read-ahead)", io.reads },
            { "asyncbridge_mqtt_reads_buffered_total",
              "Paho socket reads answered from that buffer (no system call)", io.served },
            { "asyncbridge_mqtt_writes_buffered_total",
              "acknowledgements buffered and sent in batches", io.writes },
            { "asyncbridge_mqtt_socket_sends_total",
              "system calls that sent buffered acknowledgements", io.sends },
        };

        for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
            help(b, c[i].name, "counter", c[i].text);
            bridge_buf_printf(b, "%s %llu\n", c[i].name, (unsigned long long)c[i].v);
        }
    }
}

static void render_http(bridge_buf *b, const bridge_http_metrics *m)
{
    size_t nroutes = 0;

    while (bridge_routes[nroutes].pattern)
        nroutes++;
    help(b, "asyncbridge_http_requests_total", "counter", "HTTP requests by route and status");
    for (size_t r = 0; r <= nroutes && r < BRIDGE_METRICS_MAX_ROUTES; r++) {
        for (size_t sl = 0; sl < BRIDGE_METRICS_STATUS_SLOTS; sl++) {
            int code = bridge_metrics_slot_status(sl);

            if (!m->requests[r][sl])
                continue;
            bridge_buf_printf(b, "asyncbridge_http_requests_total{route=\"%s\",status=\"",
                              r < nroutes ? bridge_routes[r].pattern : "unmatched");
            if (code)
                bridge_buf_int(b, code);
            else
                bridge_buf_puts(b, "other");
            bridge_buf_printf(b, "\"} %llu\n", (unsigned long long)m->requests[r][sl]);
        }
    }
    help(b, "asyncbridge_live_connections", "gauge", "WebSocket and SSE clients connected");
    bridge_buf_printf(b, "asyncbridge_live_connections %llu\n",
                      (unsigned long long)m->live_connections);
    help(b, "asyncbridge_live_connections_total", "counter", "live clients accepted");
    bridge_buf_printf(b, "asyncbridge_live_connections_total %llu\n",
                      (unsigned long long)m->live_connections_total);
    help(b, "asyncbridge_live_events_published_total", "counter", "events handed to the live hub");
    bridge_buf_printf(b, "asyncbridge_live_events_published_total %llu\n",
                      (unsigned long long)m->live_published);
    help(b, "asyncbridge_live_events_delivered_total", "counter", "events written to live clients");
    bridge_buf_printf(b, "asyncbridge_live_events_delivered_total %llu\n",
                      (unsigned long long)m->live_delivered);
    help(b, "asyncbridge_live_events_replayed_total", "counter",
         "events replayed from the log to resuming clients");
    bridge_buf_printf(b, "asyncbridge_live_events_replayed_total %llu\n",
                      (unsigned long long)m->live_replayed);
    help(b, "asyncbridge_live_clients_dropped_total", "counter",
         "live clients dropped because their queue stayed full");
    bridge_buf_printf(b, "asyncbridge_live_clients_dropped_total %llu\n",
                      (unsigned long long)m->live_dropped_clients);
    help(b, "asyncbridge_connections_rejected_total", "counter",
         "connections refused over max_connections");
    bridge_buf_printf(b, "asyncbridge_connections_rejected_total %llu\n",
                      (unsigned long long)m->live_rejected);
    help(b, "asyncbridge_live_bad_frames_total", "counter", "malformed or unknown client frames");
    bridge_buf_printf(b, "asyncbridge_live_bad_frames_total %llu\n",
                      (unsigned long long)m->live_bad_frames);
}

void bridge_metrics_render(bridge_buf *b, const bridge_metrics_input *in)
{
    if (in->ingest)
        render_ingest(b, in);
    if (in->store_known) {
        int64_t lag = in->last_seq - in->projected_seq;

        help(b, "asyncbridge_events_total", "gauge", "events in the log (highest seq)");
        bridge_buf_printf(b, "asyncbridge_events_total %lld\n", (long long)in->last_seq);
        help(b, "asyncbridge_dead_letters_stored", "gauge", "dead letters in the store");
        bridge_buf_printf(b, "asyncbridge_dead_letters_stored %lld\n",
                          (long long)in->dead_letters);
        help(b, "asyncbridge_projection_checkpoint", "gauge", "last seq folded into projections");
        bridge_buf_printf(b, "asyncbridge_projection_checkpoint %lld\n",
                          (long long)in->projected_seq);
        help(b, "asyncbridge_projection_lag_events", "gauge", "events not yet folded");
        bridge_buf_printf(b, "asyncbridge_projection_lag_events %lld\n",
                          (long long)(lag > 0 ? lag : 0));
    }
    if (in->broker_known) {
        help(b, "asyncbridge_mqtt_connected", "gauge", "1 when connected to the broker");
        bridge_buf_printf(b, "asyncbridge_mqtt_connected %d\n", in->broker_connected ? 1 : 0);
        render_sockio(b);
    }
    if (in->http)
        render_http(b, in->http);
    help(b, "process_resident_memory_bytes", "gauge", "resident set size");
    bridge_buf_printf(b, "process_resident_memory_bytes %llu\n",
                      (unsigned long long)bridge_metrics_rss_bytes());
}
