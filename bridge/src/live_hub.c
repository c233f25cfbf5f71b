/* SPDX-License-Identifier: MIT */
/*
 * The live hub: the publish queue from the ingest thread, fan-out to the
 * matching subscriptions on the service thread, per-connection bounded
 * queues, replay from the log, and the stall/heartbeat timer. The rules are
 * in live_int.h; the wire formats in live_ws.c and live_sse.c.
 */
#include "live_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rest.h"

#define TIMER_US (250 * LWS_US_PER_MS)

int64_t live__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int live__parse_seq(const char *s, int64_t *out)
{
    return bridge_parse_u63(s, out);
}

/* ------------------------------------------------------------------ */
/* messages                                                            */

static live_msg *msg_from_row(const store_event_row *r)
{
    bridge_buf b;
    size_t cl = strlen(r->channel), dl = r->device_id ? strlen(r->device_id) : 0;
    live_msg *m;

    bridge_buf_init(&b, 0);
    bridge_rest_event_json(&b, r);
    if (b.oom) {
        bridge_buf_release(&b);
        return NULL;
    }
    m = malloc(sizeof(*m) + cl + 1 + dl + 1 + b.len + 1);
    if (!m) {
        bridge_buf_release(&b);
        return NULL;
    }
    memset(m, 0, sizeof(*m));
    m->refs = 1;
    m->seq = r->seq;
    memcpy(m->mem, r->channel, cl + 1);
    m->channel = m->mem;
    if (r->device_id) {
        memcpy(m->mem + cl + 1, r->device_id, dl + 1);
        m->device = m->mem + cl + 1;
    }
    m->json = m->mem + cl + 1 + dl + 1;
    memcpy(m->json, bridge_buf_str(&b), b.len + 1);
    m->json_len = b.len;
    bridge_buf_release(&b);
    return m;
}

static live_msg *msg_ctl(const char *json, size_t len)
{
    live_msg *m = malloc(sizeof(*m) + len + 1);

    if (!m)
        return NULL;
    memset(m, 0, sizeof(*m));
    m->refs = 1;
    m->json = m->mem;
    memcpy(m->json, json, len);
    m->json[len] = '\0';
    m->json_len = len;
    return m;
}

void live__msg_unref(live_msg *m)
{
    if (m && --m->refs == 0) {
        free(m->sse);
        free(m);
    }
}

const char *live__msg_sse(live_msg *m, size_t *len)
{
    if (!m->sse) {
        bridge_buf b;

        bridge_buf_init(&b, 0);
        bridge_buf_printf(&b, "id: %lld\nevent: ", (long long)m->seq);
        /* channel ids are single-line in practice; never let one break the frame */
        for (const char *p = m->channel; p && *p; p++)
            bridge_buf_putc(&b, *p == '\n' || *p == '\r' ? ' ' : *p);
        bridge_buf_puts(&b, "\ndata: ");
        bridge_buf_append(&b, m->json, m->json_len); /* JSON text has no raw newlines */
        bridge_buf_puts(&b, "\n\n");
        if (b.oom) {
            bridge_buf_release(&b);
            return NULL;
        }
        m->sse_len = b.len;
        m->sse = malloc(b.len + 1);
        if (!m->sse) {
            bridge_buf_release(&b);
            return NULL;
        }
        memcpy(m->sse, bridge_buf_str(&b), b.len + 1);
        bridge_buf_release(&b);
    }
    *len = m->sse_len;
    return m->sse;
}

/* ------------------------------------------------------------------ */
/* publish (any thread) and drain (service thread)                      */

int bridge_live_publish(bridge_http *h, const bridge_live_event *ev)
{
    bridge_live_hub *hub;
    store_event_row row;
    live_msg *m;
    int gap = 0, wake;

    if (!h || !ev || !ev->channel || !ev->payload_json)
        return -1;
    hub = h->hub;
    row = (store_event_row){
        .seq = ev->seq, .channel = ev->channel, .message = ev->message,
        .device_id = ev->device_id, .topic = ev->topic, .params = ev->params_json,
        .payload = ev->payload_json,
        .payload_len = ev->payload_len ? ev->payload_len : strlen(ev->payload_json),
        .correlation_id = ev->correlation_id,
        .received_at = ev->received_at,
    };
    m = msg_from_row(&row);
    pthread_mutex_lock(&hub->lock);
    /*
     * Wake the service thread only when the inbox goes from empty (and no
     * gap flagged) to not empty: the drain takes the whole inbox under this
     * lock, so a non-empty inbox means a wake-up is already on its way and
     * its drain will take this message too. One lws_cancel_service (a pipe
     * write plus a loop wake-up) per burst instead of per event.
     */
    wake = hub->inbox_head == NULL && !hub->inbox_gap;
    if (ev->seq > hub->pub_seq)
        hub->pub_seq = ev->seq;
    if (!m || hub->inbox_len >= LIVE_INBOX_MAX) {
        hub->inbox_gap = 1; /* subscribers resync from the log: nothing is lost */
        gap = 1;
    } else {
        if (hub->inbox_tail)
            hub->inbox_tail->next = m;
        else
            hub->inbox_head = m;
        hub->inbox_tail = m;
        hub->inbox_len++;
    }
    pthread_mutex_unlock(&hub->lock);
    if (gap)
        live__msg_unref(m);
    if (wake)
        lws_cancel_service(h->lws);
    return gap ? -1 : 0;
}

int bridge_http_live_wanted(const bridge_http *h)
{
    return h && atomic_load(&h->live_clients) > 0;
}

void bridge_live_committed(bridge_http *h, int64_t last_seq)
{
    bridge_live_hub *hub;
    int wake = 0;

    if (!h || !h->hub)
        return;
    hub = h->hub;
    pthread_mutex_lock(&hub->lock);
    if (last_seq > hub->pub_seq) {
        hub->pub_seq = last_seq;
        /*
         * Not published. Read the client count AFTER the commit: a client
         * counted here may have taken its "from now" position before the
         * commit, so resync it from the log; a client not counted yet
         * registers later and reads a log that already holds these events.
         */
        if (atomic_load(&h->live_clients) > 0) {
            wake = hub->inbox_head == NULL && !hub->inbox_gap;
            hub->inbox_gap = 1;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    if (wake)
        lws_cancel_service(h->lws);
}

static int matches(const live_sub *s, const live_msg *m)
{
    if (s->channel && strcmp(s->channel, m->channel) != 0)
        return 0;
    if (s->device && (!m->device || strcmp(s->device, m->device) != 0))
        return 0;
    return 1;
}

static int ring_push(bridge_live_conn *c, live_msg *m, int sub)
{
    if (c->count == c->cap)
        return -1;
    c->ring[(c->head + c->count) % c->cap] =
        (live_entry){ .msg = m, .sub = sub, .gen = sub >= 0 ? c->subs[sub].gen : 0 };
    c->count++;
    if (sub >= 0 || c->is_sse)
        c->data_count++;
    m->refs++;
    return 0;
}

static int data_room(const bridge_live_conn *c)
{
    return c->data_count < c->h->opts.live_queue_max && c->count < c->cap;
}

int live__pop(bridge_live_conn *c, live_entry *out)
{
    if (!c->count)
        return 0;
    *out = c->ring[c->head];
    c->head = (c->head + 1) % c->cap;
    c->count--;
    if (out->sub >= 0 || (c->is_sse && out->msg->seq))
        c->data_count--;
    return 1;
}

static void deliver(bridge_live_conn *c, live_msg *m)
{
    int queued = 0;

    for (size_t i = 0; i < c->n_subs_max; i++) {
        live_sub *s = &c->subs[i];

        if (!s->used || s->replay || m->seq <= s->last_seq || !matches(s, m))
            continue;
        if (!data_room(c) || ring_push(c, m, c->is_sse ? -1 : (int)i) < 0) {
            /* full: fall back to the log for this subscription */
            s->replay = 1;
            if (!c->full_since_ms)
                c->full_since_ms = live__now_ms();
            continue;
        }
        s->last_seq = m->seq;
        queued = 1;
    }
    if (queued)
        lws_callback_on_writable(c->wsi);
}

void bridge_live_hub_drain(bridge_live_hub *hub)
{
    live_msg *list, *m, *next;
    int gap;

    pthread_mutex_lock(&hub->lock);
    list = hub->inbox_head;
    gap = hub->inbox_gap;
    hub->inbox_head = hub->inbox_tail = NULL;
    hub->inbox_len = 0;
    hub->inbox_gap = 0;
    pthread_mutex_unlock(&hub->lock);
    /*
     * A gap first: every subscription goes back to the log BEFORE this
     * list is delivered, since the list may hold seqs after the missing
     * ones (delivering them first would move last_seq past the hole). The
     * list's events are committed, so the replay finds them all.
     */
    if (gap) {
        for (bridge_live_conn *c = hub->conns; c; c = c->next) {
            for (size_t i = 0; i < c->n_subs_max; i++)
                if (c->subs[i].used)
                    c->subs[i].replay = 1;
            lws_callback_on_writable(c->wsi);
        }
    }
    for (m = list; m; m = next) {
        next = m->next;
        hub->h->metrics.live_published++;
        for (bridge_live_conn *c = hub->conns; c; c = c->next)
            if (!c->closing)
                deliver(c, m);
        live__msg_unref(m);
    }
}

/* ------------------------------------------------------------------ */
/* replay                                                              */

typedef struct fill_ctx {
    bridge_live_conn *c;
    int slot;
    size_t n;
    int err;
} fill_ctx;

static int on_replay_row(void *ctx, const store_event_row *r)
{
    fill_ctx *f = ctx;
    live_sub *s = &f->c->subs[f->slot];
    live_msg *m = msg_from_row(r);

    if (!m) {
        f->err = 1;
        return 1;
    }
    if (ring_push(f->c, m, f->c->is_sse ? -1 : f->slot) < 0) {
        live__msg_unref(m);
        f->err = 1;
        return 1;
    }
    live__msg_unref(m); /* the ring holds the reference */
    s->last_seq = r->seq;
    f->n++;
    f->c->h->metrics.live_replayed++;
    return 0;
}

int live__fill(bridge_live_conn *c)
{
    bridge_http *h = c->h;

    for (size_t i = 0; i < c->n_subs_max; i++) {
        live_sub *s = &c->subs[i];
        size_t room;
        fill_ctx f = { .c = c, .slot = (int)i };
        int rc;

        if (!s->used || !s->replay || !data_room(c))
            continue;
        room = h->opts.live_queue_max - c->data_count;
        if (room > c->cap - c->count)
            room = c->cap - c->count;
        if (room > LIVE_REPLAY_BATCH)
            room = LIVE_REPLAY_BATCH;
        rc = store_read_events(h->reader,
                               &(store_event_query){ .channel = s->channel, .device_id = s->device,
                                                     .after_seq = s->last_seq, .limit = room },
                               on_replay_row, &f);
        if (rc < 0 || f.err)
            return -1;
        if (f.n < room)
            s->replay = 0; /* the log is exhausted: live from here, no gap */
    }
    /*
     * Still behind with a full queue: the stall clock runs until the client
     * reads (a WRITEABLE that drains resets it).
     */
    for (size_t i = 0; i < c->n_subs_max; i++) {
        if (c->subs[i].used && c->subs[i].replay && !data_room(c)) {
            if (!c->full_since_ms)
                c->full_since_ms = live__now_ms();
            return 0;
        }
    }
    if (c->full_since_ms && data_room(c))
        c->full_since_ms = 0;
    return 0;
}

/* ------------------------------------------------------------------ */
/* connections and subscriptions                                       */

static void timer_cb(lws_sorted_usec_list_t *sul);

static void timer_arm(bridge_live_hub *hub)
{
    lws_sul_schedule(hub->h->lws, 0, &hub->sul, timer_cb, TIMER_US);
    hub->timer_on = 1;
}

static void timer_cb(lws_sorted_usec_list_t *sul)
{
    bridge_live_hub *hub = lws_container_of(sul, bridge_live_hub, sul);
    bridge_http *h = hub->h;
    int64_t now = live__now_ms();

    hub->timer_on = 0;
    for (bridge_live_conn *c = hub->conns; c; c = c->next) {
        if (!c->closing && c->full_since_ms &&
            now - c->full_since_ms > (int64_t)h->opts.live_stall_ms) {
            c->closing = 1;
            c->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
            h->metrics.live_dropped_clients++;
            lws_callback_on_writable(c->wsi);
            /* a client that never reads never becomes writeable: kill it soon */
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE + 1, 1);
        }
        if (c->is_sse && !c->closing &&
            now - c->last_write_ms >= (int64_t)h->opts.sse_heartbeat_s * 1000) {
            c->heartbeat_due = 1;
            lws_callback_on_writable(c->wsi);
        }
        if (!c->closing) {
            for (size_t i = 0; i < c->n_subs_max; i++)
                if (c->subs[i].used && c->subs[i].replay) {
                    /*
                     * Behind: top the queue up from the log here too, so a
                     * client that stopped reading (no WRITEABLE any more)
                     * ends up with a full queue and starts the stall clock.
                     */
                    if (live__fill(c) < 0) {
                        c->closing = 1;
                        c->close_code = LWS_CLOSE_STATUS_UNEXPECTED_CONDITION;
                    }
                    lws_callback_on_writable(c->wsi);
                    break;
                }
        }
    }
    if (hub->conns)
        timer_arm(hub);
}

bridge_live_conn *live__conn_new(bridge_http *h, struct lws *wsi, int is_sse)
{
    bridge_live_hub *hub = h->hub;
    bridge_live_conn *c;

    if (hub->n_conns >= h->opts.max_connections) {
        h->metrics.live_rejected++;
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->h = h;
    c->wsi = wsi;
    c->is_sse = is_sse;
    c->n_subs_max = is_sse ? 1 : h->opts.live_max_subs;
    c->cap = h->opts.live_queue_max + LIVE_CTL_EXTRA;
    c->subs = calloc(c->n_subs_max, sizeof(*c->subs));
    c->ring = calloc(c->cap, sizeof(*c->ring));
    if (!c->subs || !c->ring) {
        free(c->subs);
        free(c->ring);
        free(c);
        return NULL;
    }
    bridge_buf_init(&c->rx, 0);
    bridge_buf_init(&c->tx, LWS_PRE);
    c->last_write_ms = live__now_ms();
    c->next = hub->conns;
    if (hub->conns)
        hub->conns->prev = c;
    hub->conns = c;
    hub->n_conns++;
    atomic_store(&h->live_clients, (unsigned)hub->n_conns);
    h->metrics.live_connections = hub->n_conns;
    h->metrics.live_connections_total++;
    if (!hub->timer_on)
        timer_arm(hub);
    return c;
}

void live__conn_free(bridge_live_conn *c)
{
    bridge_live_hub *hub;
    live_entry e;

    if (!c)
        return;
    hub = c->h->hub;
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hub->n_conns--;
    atomic_store(&c->h->live_clients, (unsigned)hub->n_conns);
    c->h->metrics.live_connections = hub->n_conns;
    while (live__pop(c, &e))
        live__msg_unref(e.msg);
    for (size_t i = 0; i < c->n_subs_max; i++)
        live__sub_remove(c, (int)i);
    free(c->subs);
    free(c->ring);
    bridge_buf_release(&c->rx);
    bridge_buf_release(&c->tx);
    free(c);
}

int live__sub_find(bridge_live_conn *c, const char *id)
{
    for (size_t i = 0; i < c->n_subs_max; i++)
        if (c->subs[i].used && strcmp(c->subs[i].id, id) == 0)
            return (int)i;
    return -1;
}

int live__sub_add(bridge_live_conn *c, const char *id, const char *channel, const char *device,
                  int64_t since)
{
    for (size_t i = 0; i < c->n_subs_max; i++) {
        live_sub *s = &c->subs[i];

        if (s->used)
            continue;
        memset(s, 0, sizeof(*s));
        snprintf(s->id, sizeof(s->id), "%s", id);
        s->channel = channel ? strdup(channel) : NULL;
        s->device = device ? strdup(device) : NULL;
        if ((channel && !s->channel) || (device && !s->device)) {
            free(s->channel);
            free(s->device);
            return -1;
        }
        s->used = 1;
        s->gen = ++c->gen_counter;
        if (since >= 0) {
            s->replay = 1;
            s->last_seq = since;
            lws_callback_on_writable(c->wsi);
        } else {
            /* live from now: what the log holds now is the past */
            int64_t head = 0;

            if (store_read_heads(c->h->reader, &head, NULL) < 0)
                head = 0;
            s->last_seq = head;
        }
        return (int)i;
    }
    return -1;
}

void live__sub_remove(bridge_live_conn *c, int slot)
{
    live_sub *s;

    if (slot < 0 || (size_t)slot >= c->n_subs_max)
        return;
    s = &c->subs[slot];
    if (!s->used)
        return;
    free(s->channel);
    free(s->device);
    memset(s, 0, sizeof(*s));
}

int live__queue_ctl(bridge_live_conn *c, const char *json, size_t len)
{
    live_msg *m;
    int rc;

    if (c->count >= c->cap)
        return -1;
    m = msg_ctl(json, len);
    if (!m)
        return -1;
    rc = ring_push(c, m, -1);
    live__msg_unref(m);
    if (rc == 0)
        lws_callback_on_writable(c->wsi);
    return rc;
}

/* ------------------------------------------------------------------ */

bridge_live_hub *bridge_live_hub_new(bridge_http *h)
{
    bridge_live_hub *hub = calloc(1, sizeof(*hub));

    if (!hub)
        return NULL;
    hub->h = h;
    if (pthread_mutex_init(&hub->lock, NULL) != 0) {
        free(hub);
        return NULL;
    }
    return hub;
}

void bridge_live_hub_free(bridge_live_hub *hub)
{
    live_msg *m, *next;

    if (!hub)
        return;
    while (hub->conns)
        live__conn_free(hub->conns);
    for (m = hub->inbox_head; m; m = next) {
        next = m->next;
        live__msg_unref(m);
    }
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

void bridge_live_close(bridge_http *h, bridge_session *s)
{
    (void)h;
    live__conn_free(s->live);
    s->live = NULL;
}
