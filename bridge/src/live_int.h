/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the live hub (live_hub.c, live_ws.c, live_sse.c).
 *
 * Per subscription, gap-free and duplicate-free delivery rests on one
 * number, last_seq (the highest seq queued for it), and two modes:
 *   REPLAY  read the log after last_seq in batches as the connection's
 *           queue has room; live events are ignored (they are in the log:
 *           the ingest publishes only after commit). A batch shorter than
 *           asked means the log is exhausted: switch to LIVE.
 *   LIVE    every published event with seq > last_seq that matches is
 *           queued. If the queue is full, the subscription falls back to
 *           REPLAY (nothing is lost; memory stays bounded) and the
 *           connection's full_since starts; a connection full for longer
 *           than live_stall_ms is closed (WS 1008, SSE end of stream).
 * Events are published in seq order and drained on the service thread,
 * so live and replay never race.
 */
#ifndef BRIDGE_LIVE_INT_H
#define BRIDGE_LIVE_INT_H

#include <pthread.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "live.h"

#define LIVE_SUB_ID_MAX 64
#define LIVE_CTL_EXTRA 64          /* control frames allowed beyond the queue bound */
#define LIVE_REPLAY_BATCH 256      /* events read from the log per replay step */
#define LIVE_INBOX_MAX 200000      /* published, not yet drained; beyond: resync via replay */

/* One event (or control frame), shared by every connection that queues it. */
typedef struct live_msg {
    struct live_msg *next;       /* inbox list link (publish -> drain) */
    unsigned refs;               /* queue entries + inbox holding it (service thread) */
    int64_t seq;                 /* event seq; 0 for control frames */
    const char *channel;         /* into mem; NULL for control frames */
    const char *device;          /* into mem, or NULL */
    char *json;                  /* {"seq":...} event object, or the whole control frame */
    size_t json_len;
    char *sse;                   /* "id: ..\nevent: ..\ndata: ..\n\n", built on first use */
    size_t sse_len;
    char mem[];                  /* channel, device, json */
} live_msg;

typedef struct live_sub {
    char id[LIVE_SUB_ID_MAX + 1]; /* client's id ("default" for URL filters / SSE) */
    char *channel;               /* filter, owned, or NULL = any */
    char *device;                /* filter, owned, or NULL = any */
    int replay;                  /* 1: REPLAY mode, 0: LIVE */
    int64_t last_seq;            /* highest seq queued for this subscription */
    int used;                    /* slot in use */
    unsigned gen;                /* changes when the slot is reused */
} live_sub;

typedef struct live_entry {
    live_msg *msg;               /* a reference */
    int sub;                     /* subscription slot, -1 for control frames */
    unsigned gen;                /* the slot's gen when queued */
} live_entry;

struct bridge_live_conn {
    bridge_http *h;
    struct lws *wsi;
    int is_sse;                  /* 1 SSE, 0 WebSocket */
    struct bridge_live_conn *prev, *next; /* hub's connection list */
    live_sub *subs;              /* live_max_subs slots (1 for SSE) */
    size_t n_subs_max;
    live_entry *ring;            /* queue: cap entries */
    size_t cap, head, count;     /* ring geometry */
    size_t data_count;           /* event entries in the ring (bounded by live_queue_max) */
    int64_t full_since_ms;       /* 0, or when the queue was first found full */
    unsigned errors;             /* bad frames so far */
    int closing;                 /* 1: close as soon as possible */
    int close_after_flush;       /* 1: close once the queue is written */
    int close_code;              /* WS close status when closing */
    bridge_buf rx;               /* incoming message being assembled (WS) */
    int rx_skip;                 /* 1: current message too large, skipping its fragments */
    bridge_buf tx;               /* outgoing frame, LWS_PRE headroom */
    size_t tx_off;               /* SSE: bytes of tx already written */
    int64_t last_write_ms;       /* SSE heartbeat bookkeeping */
    int heartbeat_due;           /* SSE: write a comment line */
    int sse_started;             /* SSE: opening comment written */
    unsigned gen_counter;        /* source of live_sub.gen */
};

struct bridge_live_hub {
    bridge_http *h;
    pthread_mutex_t lock;        /* guards inbox_* (any thread) */
    live_msg *inbox_head, *inbox_tail;
    size_t inbox_len;
    int inbox_gap;               /* events were refused or skipped: resync every sub via replay */
    int64_t pub_seq;             /* highest seq published or reported committed (lock) */
    struct bridge_live_conn *conns; /* service thread */
    size_t n_conns;
    lws_sorted_usec_list_t sul;  /* periodic timer: stalls, heartbeats */
    int timer_on;
};

/* Milliseconds, monotonic. */
int64_t live__now_ms(void);
/* Creates and registers a connection (service thread). NULL when out of memory or over the limit. */
bridge_live_conn *live__conn_new(bridge_http *h, struct lws *wsi, int is_sse);
/* Unregisters and frees a connection and its queue. */
void live__conn_free(bridge_live_conn *c);
/*
 * Adds a subscription. since < 0: live from now; else replay after since.
 * Returns the slot, or -1 (no free slot / out of memory).
 */
int live__sub_add(bridge_live_conn *c, const char *id, const char *channel, const char *device,
                  int64_t since);
/* Finds a subscription slot by id, or -1. */
int live__sub_find(bridge_live_conn *c, const char *id);
/* Frees a subscription slot; its queued events are skipped when written. */
void live__sub_remove(bridge_live_conn *c, int slot);
/* Queues a control frame (JSON text). Returns 0 or -1 (out of memory / too many). */
int live__queue_ctl(bridge_live_conn *c, const char *json, size_t len);
/*
 * Tops the queue up from the log for subscriptions in REPLAY mode. Returns
 * 0 or -1 (store error: the caller closes).
 */
int live__fill(bridge_live_conn *c);
/* Takes the oldest entry (the caller owns the reference), or returns 0 when empty. */
int live__pop(bridge_live_conn *c, live_entry *out);
/* Drops one reference. */
void live__msg_unref(live_msg *m);
/* The SSE text of an event message (built and cached on first use), or NULL. */
const char *live__msg_sse(live_msg *m, size_t *len);
/* Parses since/Last-Event-ID text. Returns 0 or -1. */
int live__parse_seq(const char *s, int64_t *out);

#endif
