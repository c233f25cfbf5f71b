/* SPDX-License-Identifier: MIT */
/*
 * The ingest pipeline (topic -> channel -> message -> validate -> event or
 * dead letter -> commit) and its durability: sync commits per message, or
 * an append-only journal plus a group-committing writer thread. Contract in
 * ingest.h; guarantees and the journal format in docs/ingest.md.
 */
#include "ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asyncapi/router.h"
#include "devices/devices.h"
#include "log.h"

/*
 * Journal segment file "seg-<16 hex>.jnl": a sequence of records
 *
 *   offset size  field
 *   0      4     magic "ABJ2"
 *   4      4     FNV-1a 32 of bytes 8..end of record (little endian)
 *   8      8     segment number N of the file it was written to (little endian)
 *   16     8     received_at, ms since the epoch (little endian)
 *   24     4     topic length T (little endian)
 *   28     4     payload length P (little endian)
 *   32     T     topic bytes
 *   32+T   P     payload bytes
 *
 * Segments are preallocated and mapped MAP_SHARED; each record is copied in
 * (body, then header, then the magic) before the message is acknowledged.
 * A record with a bad magic or checksum, or cut short, ends the segment on
 * replay (a torn tail: its message was never acknowledged); a zero tail is
 * the unused preallocation. Segment files are reused (see "Journal"): a
 * record whose segment number is not the file's is left from an earlier
 * use and also ends the segment. Records of the first format ("ABJ1", no
 * segment number, header 24 bytes) are still replayed.
 */
#define JOURNAL_MAGIC "ABJ2"
#define JOURNAL_HDR 32
#define JOURNAL_MAGIC_V1 "ABJ1"
#define JOURNAL_HDR_V1 24
#define JOURNAL_POOL 4                    /* committed segments kept mapped for reuse */
#define JOURNAL_SEG_RECORDS 2048          /* < store dedupe window (replay bound) */
#define JOURNAL_SEG_BYTES (8u << 20)      /* mapped size of a segment (bigger for a bigger record) */
#define DL_PAYLOAD_CAP_SIZE (64u * 1024)  /* bytes kept of an oversize payload */
#define NOTIFY_MIN_US 100000              /* projector wake-ups at most every 100 ms */
#define LINGER_US 2000                    /* under load, let a batch fill for up to 2 ms ... */
#define LINGER_MIN_GAIN 64                /* ... if the arrival rate would bring this many */
#define LINGER_WINDOW_US 10000            /* the rate is measured over this long at least */
#define PROJECTOR_DEFER_MS 250            /* while lingering, renewed every LINGER_WINDOW_US */
#define INDEX_MOVE_MIN 256                /* idle on a light stream: correlation ids and device
                                             index entries are written once this many wait ... */
#define INDEX_MOVE_MAX 1024               /* ... at most this many per transaction (2-6 ms) */
#define INDEX_QUIET_US 20000              /* after a burst: only once no message came this long */
#define INDEX_STOP_MAX 65536              /* per transaction when a clean stop writes them all */

enum outcome {
    OUT_NONE = 0,
    OUT_EVENT,    /* new event */
    OUT_DUP,      /* duplicate event or dead letter */
    OUT_DEAD,     /* new dead letter (kind in item) */
    OUT_DROPPED,  /* unknown topic dropped, or unstorable dead letter */
};

/* One message on its way through the pipeline; one allocation. */
typedef struct item {
    struct item *next;   /* FIFO link */
    int64_t received_ms; /* arrival time */
    uint64_t segment;    /* journal segment holding it (journal mode) */
    size_t topic_len;
    size_t len;
    char *topic;         /* NUL-terminated copy (points into this allocation) */
    char *payload;       /* NUL-terminated copy */
    enum outcome outcome;/* set by process_one */
    int dl_kind;         /* enum bridge_dl_kind when OUT_DEAD */
    long chan;           /* channel index or -1 */
    int64_t seq;         /* event seq for OUT_EVENT */
} item;

/* One captured event (direct live push): strings are offsets into cap_mem. */
typedef struct cap_ev {
    const item *it;            /* topic, payload, seq, received_ms */
    const char *channel;       /* channel id (the document's) */
    const char *message;       /* message id (the document's) or NULL */
    size_t dev_off;            /* device id in cap_mem, or SIZE_MAX for none */
    size_t corr_off;           /* correlation id in cap_mem, or SIZE_MAX for none */
    size_t params_off;         /* params JSON in cap_mem */
} cap_ev;

/* Per receiving channel: compiled rules. */
typedef struct chan_info {
    const asyncapi_channel *ch;
    size_t index;              /* in asyncapi_doc_channels */
    devices_identity *ident;   /* device rule */
    devices_expr **corr;       /* per channel message, NULL = no correlation id */
} chan_info;

struct bridge_ingest {
    bridge_ingest_options opt;  /* copy; journal_dir points to jdir */
    char *jdir;                 /* owned copy of the journal folder */
    asyncapi_router *router;
    chan_info *chans;           /* n_chans receiving channels */
    size_t n_chans;
    asyncapi_schema *any_json;  /* the "true" schema: strict JSON parse only */
    asyncapi_json_buf *tree_buf; /* the writer's payload trees (one at a time) */
    bridge_ingest_stats stats;

    pthread_mutex_t mu;         /* guards the queue fields below */
    pthread_cond_t cv_items;    /* queue got items or stopping */
    pthread_cond_t cv_space;    /* queue got room */
    item *head, *tail;
    size_t queued;
    int stopping;               /* no more submits; writer drains and exits */
    int thread_running;
    pthread_t thread;
    int stop_rc;                /* writer's verdict: 0 all committed, -1 not */

    /* journal, touched by the submitting thread only (segments < the one of
     * the last committed item are unlinked by the writer) */
    int jfd;                    /* current segment, -1 if none open */
    unsigned char *jmap;        /* its shared mapping, NULL if none */
    size_t jmap_size;           /* mapped (= preallocated file) size */
    uint64_t jseg;              /* current segment number */
    unsigned refused;           /* submits refused in a row: the journal (or in sync
                                   mode the store) failed; submitting thread only */
    size_t jseg_records;
    size_t jseg_bytes;
    uint64_t oldest_seg;        /* writer: lowest segment that may still exist */
    int jslot;                  /* the current segment's pool slot, -1 if not pooled */
    /* pool of mapped segment files (mu): the submitting thread retires a
     * full segment into a slot, the writer turns it into a spare once all
     * its messages are committed, the submitting thread reuses a spare */
    struct jpool {
        enum { SLOT_FREE, SLOT_CURRENT, SLOT_RETIRED, SLOT_SPARE } state;
        int fd;
        unsigned char *map;     /* JOURNAL_SEG_BYTES, mapped shared */
        uint64_t seg;           /* RETIRED: its segment number */
    } jpool[JOURNAL_POOL];
    int64_t last_notify_us;     /* committing thread: last projector wake-up (monotonic) */
    int writer_waiting;         /* mu: 1 while the writer waits and nobody has signalled it yet */
    int writer_lingering;       /* mu: 1 while the writer lets a batch fill (linger) */
    int index_catch_up;         /* writer: moving a burst's index entries (move_index_entries) */

    /* direct live capture (committing thread only), reset for every batch */
    int cap_on;                 /* this batch's events are being kept */
    int cap_bad;                /* keeping them ran out of memory: no on_events */
    char *cap_mem;              /* device ids and params JSON texts */
    size_t cap_len, cap_size;
    cap_ev *cap;                /* n_cap events of cap_max */
    bridge_ingest_event *cap_out; /* cap_max, filled after the commit */
    size_t n_cap, cap_max;
};

static const char *const dl_kind_names[BRIDGE_DL_KINDS] = {
    "schema", "parse", "size", "no_channel", "device", "store",
};

const char *bridge_dl_kind_name(enum bridge_dl_kind kind)
{
    if ((int)kind < 0 || kind >= BRIDGE_DL_KINDS)
        return "unknown";
    return dl_kind_names[kind];
}

static void set_err(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errsize == 0)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(err, errsize, fmt, ap); /* truncation is fine for a message */
    va_end(ap);
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint32_t fnv32_update(uint32_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static item *item_new(const char *topic, size_t topic_len, const void *payload,
                      size_t len, int64_t received_ms)
{
    item *it = malloc(sizeof(*it) + topic_len + 1 + len + 1);

    if (it == NULL)
        return NULL;
    memset(it, 0, sizeof(*it));
    it->topic = (char *)(it + 1);
    it->payload = it->topic + topic_len + 1;
    memcpy(it->topic, topic, topic_len);
    it->topic[topic_len] = '\0';
    if (len > 0)
        memcpy(it->payload, payload, len);
    it->payload[len] = '\0';
    it->topic_len = topic_len;
    it->len = len;
    it->received_ms = received_ms;
    it->chan = -1;
    return it;
}

/* ------------------------------------------------------------------------ */
/* Reasons and dead letters                                                 */
/* ------------------------------------------------------------------------ */

static cJSON *error_obj(const char *pointer, const char *schema_path, const char *keyword,
                        const char *message)
{
    cJSON *e = cJSON_CreateObject();

    if (e == NULL)
        return NULL;
    if (!cJSON_AddStringToObject(e, "pointer", pointer) ||
        !cJSON_AddStringToObject(e, "schema_path", schema_path) ||
        !cJSON_AddStringToObject(e, "keyword", keyword) ||
        !cJSON_AddStringToObject(e, "message", message)) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

/*
 * Appends a dead letter for it. res: schema/parse errors, or NULL with
 * keyword/message describing the one error. msg_id: the message whose
 * errors are reported, or NULL.
 * Returns 0 (outcome set) or a negative STORE_E* code for a transient error.
 */
static int dead_letter(bridge_ingest *ing, item *it, const chan_info *ci,
                       enum bridge_dl_kind kind, const asyncapi_schema_result *res,
                       const char *msg_id, const char *keyword, const char *message)
{
    cJSON *reason = cJSON_CreateObject(), *errors;
    char *text = NULL;
    store_dead_letter dl;
    int64_t id = 0;
    size_t cap;
    int rc = STORE_ENOMEM;

    if (reason == NULL)
        return STORE_ENOMEM;
    if (!cJSON_AddStringToObject(reason, "kind", bridge_dl_kind_name(kind)))
        goto out;
    if (msg_id != NULL && !cJSON_AddStringToObject(reason, "message", msg_id))
        goto out;
    errors = cJSON_AddArrayToObject(reason, "errors");
    if (errors == NULL)
        goto out;
    if (res != NULL) {
        for (unsigned i = 0; i < res->n_errors; i++) {
            const asyncapi_schema_error *e = &res->errors[i];
            cJSON *o = error_obj(e->pointer, e->schema_path, e->keyword, e->message);

            if (o == NULL)
                goto out;
            cJSON_AddItemToArray(errors, o);
        }
        if (!cJSON_AddNumberToObject(reason, "total", res->total))
            goto out;
    } else {
        cJSON *o = error_obj("", "", keyword, message);

        if (o == NULL)
            goto out;
        cJSON_AddItemToArray(errors, o);
    }
    text = cJSON_PrintUnformatted(reason);
    if (text == NULL)
        goto out;
    cap = kind == BRIDGE_DL_SIZE ? DL_PAYLOAD_CAP_SIZE : STORE_MAX_PAYLOAD;
    dl = (store_dead_letter){
        .topic = it->topic,
        .channel = ci ? ci->ch->id : NULL,
        .payload = it->payload,
        .payload_len = it->len < cap ? it->len : cap,
        .reason_json = text,
        .received_at = it->received_ms,
    };
    rc = store_append_dead_letter(ing->opt.writer, &dl, &id);
    if (rc == 0) {
        it->outcome = OUT_DEAD;
        it->dl_kind = (int)kind;
    } else if (rc == STORE_DUP) {
        it->outcome = OUT_DUP;
        rc = 0;
    } else if (rc == STORE_EINVAL) {
        /* not storable even as a dead letter (e.g. a topic the store refuses):
         * counted, logged, never blocks the pipeline */
        bridge_log_error("dead letter for topic '%.200s' refused by the store: %s",
                         it->topic, store_errmsg(ing->opt.writer));
        it->outcome = OUT_DROPPED;
        rc = 0;
    }
out:
    free(text);
    cJSON_Delete(reason);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Direct live capture                                                      */
/* ------------------------------------------------------------------------ */

/* Room for more bytes in cap_mem. Returns 0 or -1 (out of memory). */
static int cap_reserve(bridge_ingest *ing, size_t more)
{
    size_t want = ing->cap_len + more, size = ing->cap_size ? ing->cap_size : 4096;
    char *p;

    if (want <= ing->cap_size)
        return 0;
    while (size < want)
        size *= 2;
    p = realloc(ing->cap_mem, size);
    if (p == NULL)
        return -1;
    ing->cap_mem = p;
    ing->cap_size = size;
    return 0;
}

/* The same escaping as the store's params JSON, so live and log agree byte for byte. */
static void cap_escape(bridge_ingest *ing, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *buf = ing->cap_mem;
    size_t j = ing->cap_len;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            buf[j++] = '\\';
            buf[j++] = (char)c;
        } else if (c < 0x20) {
            buf[j++] = '\\';
            buf[j++] = 'u';
            buf[j++] = '0';
            buf[j++] = '0';
            buf[j++] = hex[c >> 4];
            buf[j++] = hex[c & 15];
        } else {
            buf[j++] = (char)c;
        }
    }
    ing->cap_len = j;
}

/*
 * Keeps a copy of a stored event for on_events. On out of memory the
 * batch's copy is abandoned (cap_bad): the receiver notices the missing
 * seqs from on_commit's last_seq.
 */
static void cap_add(bridge_ingest *ing, const item *it, const chan_info *ci,
                    const asyncapi_message *msg, const char *dev, const char *corr,
                    const asyncapi_route_param *params, size_t n_params)
{
    size_t need = 3, dl = dev[0] ? strlen(dev) + 1 : 0, cl = corr ? strlen(corr) + 1 : 0;
    cap_ev *e;

    if (ing->cap_bad)
        return;
    if (ing->n_cap == ing->cap_max) {
        size_t max = ing->cap_max ? ing->cap_max * 2 : 64;
        cap_ev *c = realloc(ing->cap, max * sizeof(*c));
        bridge_ingest_event *o;

        if (c == NULL)
            goto fail;
        ing->cap = c;
        o = realloc(ing->cap_out, max * sizeof(*o));
        if (o == NULL)
            goto fail;
        ing->cap_out = o;
        ing->cap_max = max;
    }
    for (size_t i = 0; i < n_params; i++)
        need += 6 * ((params[i].name ? strlen(params[i].name) : 0) + params[i].len) + 6;
    if (cap_reserve(ing, dl + cl + need) < 0)
        goto fail;
    e = &ing->cap[ing->n_cap++];
    e->it = it;
    e->channel = ci->ch->id;
    e->message = msg ? msg->id : NULL;
    e->dev_off = SIZE_MAX;
    if (dl) {
        e->dev_off = ing->cap_len;
        memcpy(ing->cap_mem + ing->cap_len, dev, dl);
        ing->cap_len += dl;
    }
    e->corr_off = SIZE_MAX;
    if (cl) {
        e->corr_off = ing->cap_len;
        memcpy(ing->cap_mem + ing->cap_len, corr, cl);
        ing->cap_len += cl;
    }
    e->params_off = ing->cap_len;
    ing->cap_mem[ing->cap_len++] = '{';
    for (size_t i = 0; i < n_params; i++) {
        if (i)
            ing->cap_mem[ing->cap_len++] = ',';
        ing->cap_mem[ing->cap_len++] = '"';
        cap_escape(ing, params[i].name ? params[i].name : "",
                   params[i].name ? strlen(params[i].name) : 0);
        ing->cap_mem[ing->cap_len++] = '"';
        ing->cap_mem[ing->cap_len++] = ':';
        ing->cap_mem[ing->cap_len++] = '"';
        cap_escape(ing, params[i].value ? params[i].value : "",
                   params[i].value ? params[i].len : 0);
        ing->cap_mem[ing->cap_len++] = '"';
    }
    ing->cap_mem[ing->cap_len++] = '}';
    ing->cap_mem[ing->cap_len++] = '\0';
    return;
fail:
    ing->cap_bad = 1;
}

/* After the commit: hands the kept events to on_events. */
static void cap_flush(bridge_ingest *ing)
{
    for (size_t k = 0; k < ing->n_cap; k++) {
        const cap_ev *e = &ing->cap[k];

        ing->cap_out[k] = (bridge_ingest_event){
            .seq = e->it->seq,
            .channel = e->channel,
            .message = e->message,
            .device_id = e->dev_off == SIZE_MAX ? NULL : ing->cap_mem + e->dev_off,
            .topic = e->it->topic,
            .params_json = ing->cap_mem + e->params_off,
            .payload_json = e->it->payload,
            .payload_len = e->it->len,
            .correlation_id = e->corr_off == SIZE_MAX ? NULL : ing->cap_mem + e->corr_off,
            .received_at = e->it->received_ms,
        };
    }
    ing->opt.on_events(ing->opt.on_commit_ctx, ing->cap_out, ing->n_cap);
}

/* ------------------------------------------------------------------------ */
/* The pipeline for one message, inside an open batch                       */
/* ------------------------------------------------------------------------ */

static int process_one(bridge_ingest *ing, item *it)
{
    asyncapi_route_match m;
    asyncapi_schema_result res, best;
    const chan_info *ci;
    const asyncapi_message *msg = NULL;
    const cJSON *tree = NULL; /* in ing->tree_buf: valid until the next message */
    char dev[DEVICES_ID_MAX + 1], corr[DEVICES_CORR_MAX + 1], text[160];
    const char *corr_id = NULL;
    long best_idx = -1;
    size_t n_msgs, i;
    int64_t seq = 0;
    int rc;

    it->outcome = OUT_NONE;
    it->chan = -1;
    rc = asyncapi_router_match(ing->router, it->topic, it->topic_len, &m);
    ci = rc == 0 ? m.value : NULL;
    if (ci != NULL)
        it->chan = (long)ci->index;
    if (it->len > ing->opt.max_payload) {
        /* checked first: an oversize payload is never parsed, whatever its topic */
        if (snprintf(text, sizeof(text), "payload of %zu bytes exceeds the limit of %zu",
                     it->len, ing->opt.max_payload) >= (int)sizeof(text))
            text[sizeof(text) - 1] = '\0';
        return dead_letter(ing, it, ci, BRIDGE_DL_SIZE, NULL, NULL, "size", text);
    }
    if (ci == NULL) {
        if (ing->opt.drop_unknown) {
            it->outcome = OUT_DROPPED;
            return 0;
        }
        return dead_letter(ing, it, NULL, BRIDGE_DL_NO_CHANNEL, NULL, NULL, "topic",
                           rc == ASYNCAPI_ETOPIC ? "topic is not routable"
                                                 : "topic matches no receiving channel");
    }
    n_msgs = ci->ch->n_messages;
    for (i = 0; i < (n_msgs ? n_msgs : 1); i++) {
        const asyncapi_message *cand = n_msgs ? ci->ch->messages[i] : NULL;
        const asyncapi_schema *schema =
            cand && cand->payload_schema ? cand->payload_schema : ing->any_json;

        /* verdict first (no result: stops at the first failure, no error texts) */
        if (tree == NULL)
            rc = asyncapi_schema_validate_json_in(schema, ing->tree_buf, it->payload,
                                                  it->len, NULL, &tree);
        else
            rc = asyncapi_schema_validate(schema, tree, NULL);
        if (rc == ASYNCAPI_ESYNTAX)
            (void)asyncapi_schema_validate_json(schema, it->payload, it->len, &res, NULL);
        else if (rc == 1)
            rc = asyncapi_schema_validate(schema, tree, &res); /* now with the errors */
        if (rc == ASYNCAPI_ESYNTAX) {
            return dead_letter(ing, it, ci, BRIDGE_DL_PARSE, &res, NULL, NULL, NULL);
        }
        if (rc == ASYNCAPI_ELIMIT) {
            return dead_letter(ing, it, ci, BRIDGE_DL_PARSE, NULL, NULL, "depth",
                               "payload nests deeper than the validator allows");
        }
        if (rc < 0) {
            return STORE_ENOMEM;
        }
        if (rc == 0) {
            msg = cand;
            break;
        }
        if (best_idx < 0 || res.total < best.total) {
            best = res;
            best_idx = (long)i;
        }
    }
    if (rc != 0) {
        rc = dead_letter(ing, it, ci, BRIDGE_DL_SCHEMA, &best, ci->ch->messages[best_idx]->id,
                         NULL, NULL);
        return rc;
    }
    rc = devices_identity_eval(ci->ident, m.params, m.n_params, tree, dev, sizeof(dev));
    if (rc < 0) {
        if (snprintf(text, sizeof(text), "device id: %s", devices_strerror(rc)) >=
            (int)sizeof(text))
            text[sizeof(text) - 1] = '\0';
        return dead_letter(ing, it, ci, BRIDGE_DL_DEVICE, NULL, NULL, "device", text);
    }
    if (msg != NULL && ci->corr[i] != NULL &&
        devices_expr_eval(ci->corr[i], tree, NULL, corr, sizeof(corr)) > 0)
        corr_id = corr;
    {
        store_event ev = {
            .channel = ci->ch->id,
            .message = msg ? msg->id : NULL,
            .device_id = dev[0] ? dev : NULL,
            .topic = it->topic,
            .params = m.params,
            .n_params = m.n_params,
            .payload = it->payload,
            .payload_len = it->len,
            .correlation_id = corr_id,
            .received_at = it->received_ms,
        };

        rc = store_append_event(ing->opt.writer, &ev, &seq);
    }
    if (rc == 0) {
        it->outcome = OUT_EVENT;
        it->seq = seq;
        if (ing->cap_on)
            cap_add(ing, it, ci, msg, dev, corr_id, m.params, m.n_params);
        return 0;
    }
    if (rc == STORE_DUP) {
        it->outcome = OUT_DUP;
        return 0;
    }
    if (rc == STORE_EINVAL)
        return dead_letter(ing, it, ci, BRIDGE_DL_STORE, NULL, NULL, "store",
                           store_errmsg(ing->opt.writer));
    return rc;
}

/* Counts the outcomes of a committed batch. */
static void count_batch(bridge_ingest *ing, item *first, size_t n)
{
    bridge_ingest_stats *st = &ing->stats;
    item *it = first;

    for (size_t k = 0; k < n && it != NULL; k++, it = it->next) {
        bridge_channel_stats *cs = it->chan >= 0 ? &st->channels[it->chan] : NULL;

        atomic_fetch_add(&st->received, 1);
        if (cs)
            atomic_fetch_add(&cs->received, 1);
        switch (it->outcome) {
        case OUT_EVENT:
            atomic_fetch_add(&st->events, 1);
            atomic_store(&st->last_seq, it->seq);
            if (cs)
                atomic_fetch_add(&cs->valid, 1);
            break;
        case OUT_DUP:
            atomic_fetch_add(&st->duplicates, 1);
            if (cs)
                atomic_fetch_add(&cs->duplicates, 1);
            break;
        case OUT_DEAD:
            atomic_fetch_add(&st->dead_letters, 1);
            atomic_fetch_add(&st->dead_by_kind[it->dl_kind], 1);
            if (cs)
                atomic_fetch_add(&cs->invalid, 1);
            break;
        case OUT_DROPPED:
        case OUT_NONE:
            atomic_fetch_add(&st->dropped, 1);
            break;
        }
    }
}

/*
 * Runs n items (linked from first) through the pipeline in one transaction.
 * Returns 0 (committed, counted) or a negative STORE_E* code (rolled back).
 */
static int process_batch(bridge_ingest *ing, item *first, size_t n)
{
    store *s = ing->opt.writer;
    item *it = first;
    int64_t t0 = now_us(), dt;
    uint64_t prev;
    int rc;

    ing->n_cap = 0;
    ing->cap_len = 0;
    ing->cap_bad = 0;
    ing->cap_on = ing->opt.capture != NULL && ing->opt.on_events != NULL &&
                  ing->opt.capture(ing->opt.on_commit_ctx);
    rc = store_begin(s);
    if (rc != 0)
        return rc;
    for (size_t k = 0; k < n && it != NULL; k++, it = it->next) {
        rc = process_one(ing, it);
        if (rc < 0)
            goto fail;
    }
    rc = store_commit(s);
    if (rc != 0)
        return rc; /* store_commit rolled back */
    dt = now_us() - t0;
    atomic_fetch_add(&ing->stats.commits, 1);
    atomic_fetch_add(&ing->stats.commit_us_total, (uint64_t)dt);
    prev = atomic_load(&ing->stats.commit_us_max);
    while ((uint64_t)dt > prev &&
           !atomic_compare_exchange_weak(&ing->stats.commit_us_max, &prev, (uint64_t)dt)) {
    }
    count_batch(ing, first, n);
    if (ing->cap_on && !ing->cap_bad && ing->n_cap > 0)
        cap_flush(ing);
    if (ing->opt.on_commit != NULL) {
        int64_t last_seq = 0;

        size_t k = 0;

        for (it = first; k < n && it != NULL; k++, it = it->next)
            if (it->outcome == OUT_EVENT)
                last_seq = it->seq;
        if (last_seq > 0)
            ing->opt.on_commit(ing->opt.on_commit_ctx, last_seq);
    }
    /*
     * Wake the projector at most every NOTIFY_MIN_US: each fold takes the
     * write lock, and a writer waiting in SQLite's busy handler sleeps in
     * coarse steps, so fewer, larger folds keep ingest fast. The projector's
     * own timer (interval_ms) folds the tail of a burst.
     */
    if (t0 + dt - ing->last_notify_us >= NOTIFY_MIN_US) {
        ing->last_notify_us = t0 + dt;
        store_projector_notify(ing->opt.projector);
    }
    return 0;
fail:
    (void)store_rollback(s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Journal                                                                  */
/* ------------------------------------------------------------------------ */

static int seg_path(const bridge_ingest *ing, uint64_t seg, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/seg-%016" PRIx64 ".jnl", ing->jdir, seg);

    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* A committed segment file waiting in pool slot k to be reused. */
static int spare_path(const bridge_ingest *ing, int k, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/spare-%d.jnl", ing->jdir, k);

    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* Unmaps and closes pool slot k's file and frees the slot (not the file). */
static void pool_slot_free(bridge_ingest *ing, int k)
{
    munmap(ing->jpool[k].map, JOURNAL_SEG_BYTES);
    close(ing->jpool[k].fd);
    pthread_mutex_lock(&ing->mu);
    ing->jpool[k].state = SLOT_FREE;
    pthread_mutex_unlock(&ing->mu);
}

/* Makes (fd, map) of size bytes, pool slot (or -1), the empty segment seg. */
static void journal_use_segment(bridge_ingest *ing, int fd, unsigned char *map, size_t size,
                                int slot, uint64_t seg)
{
    ing->jfd = fd;
    ing->jmap = map;
    ing->jmap_size = size;
    ing->jslot = slot;
    ing->jseg = seg;
    ing->jseg_records = 0;
    ing->jseg_bytes = 0;
}

/*
 * Leaves the current segment. A pooled one stays mapped and sized (retired:
 * the writer makes it a spare once its messages are committed); any other
 * is unmapped, cut to what was used, and closed.
 */
static void journal_close_segment(bridge_ingest *ing)
{
    if (ing->jslot >= 0) {
        pthread_mutex_lock(&ing->mu);
        ing->jpool[ing->jslot].state = SLOT_RETIRED;
        ing->jpool[ing->jslot].seg = ing->jseg;
        pthread_mutex_unlock(&ing->mu);
        ing->jslot = -1;
        ing->jmap = NULL;
        ing->jfd = -1;
        return;
    }
    if (ing->jmap != NULL) {
        munmap(ing->jmap, ing->jmap_size);
        ing->jmap = NULL;
    }
    if (ing->jfd >= 0) {
        /* best effort: the zero tail is skipped on replay anyway */
        if (ftruncate(ing->jfd, (off_t)ing->jseg_bytes) != 0)
            bridge_log_debug("cannot trim journal segment: %s", strerror(errno));
        close(ing->jfd);
        ing->jfd = -1;
    }
}

/*
 * A journal (in sync mode: a store) that fails keeps failing while the
 * receive thread retries the message (cli_run.c): the first failure of a
 * run is logged at level, the retries' only at debug level, and the
 * recovery once (bridge_ingest_submit).
 */
#define LOG_FIRST_REFUSAL(ing, level, ...)                                  \
    ((ing)->refused == 0 ? bridge_log_##level(__VA_ARGS__) : bridge_log_debug(__VA_ARGS__))

/*
 * Takes a spare segment file from the pool and names it segment seg.
 * Returns 0, or -1 when there is none (or the rename failed: the slot is
 * then let go). Its pages are mapped and allocated already: no page fault
 * or block allocation per page, no open/ftruncate/mmap per segment. The
 * records left in it carry their old segment number, so replay stops at
 * the first of them.
 */
static int journal_reuse_segment(bridge_ingest *ing, uint64_t seg)
{
    char from[4200], to[4200];
    int k;

    pthread_mutex_lock(&ing->mu);
    for (k = 0; k < JOURNAL_POOL && ing->jpool[k].state != SLOT_SPARE; k++) {
    }
    if (k < JOURNAL_POOL)
        ing->jpool[k].state = SLOT_CURRENT;
    pthread_mutex_unlock(&ing->mu);
    if (k == JOURNAL_POOL)
        return -1;
    if (spare_path(ing, k, from, sizeof(from)) != 0 || seg_path(ing, seg, to, sizeof(to)) != 0 ||
        rename(from, to) != 0) {
        LOG_FIRST_REFUSAL(ing, warn, "cannot reuse journal segment '%s': %s", from,
                          strerror(errno));
        (void)unlink(from);
        pool_slot_free(ing, k);
        return -1;
    }
    journal_use_segment(ing, ing->jpool[k].fd, ing->jpool[k].map, JOURNAL_SEG_BYTES, k, seg);
    return 0;
}

/*
 * Opens segment seg, preallocated to size bytes and mapped shared: records
 * are then copied in with memcpy, no system call per message. A store to a
 * MAP_SHARED page is in the page cache at once, so it survives the death of
 * the process exactly like write(2) (not a power loss: no msync/fsync).
 * A segment of the standard size takes a free pool slot when there is one.
 */
static int journal_open_segment(bridge_ingest *ing, uint64_t seg, size_t size)
{
    char path[4200];
    void *map;
    int fd, k = JOURNAL_POOL;

    if (size == JOURNAL_SEG_BYTES && journal_reuse_segment(ing, seg) == 0)
        return 0;
    if (seg_path(ing, seg, path, sizeof(path)) != 0)
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOG_FIRST_REFUSAL(ing, error, "cannot open journal segment '%s': %s", path,
                          strerror(errno));
        return -1;
    }
    if (ftruncate(fd, (off_t)size) != 0) {
        LOG_FIRST_REFUSAL(ing, error, "cannot size journal segment '%s': %s", path,
                          strerror(errno));
        goto fail;
    }
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        LOG_FIRST_REFUSAL(ing, error, "cannot map journal segment '%s': %s", path,
                          strerror(errno));
        goto fail;
    }
    if (size == JOURNAL_SEG_BYTES) {
        pthread_mutex_lock(&ing->mu);
        for (k = 0; k < JOURNAL_POOL && ing->jpool[k].state != SLOT_FREE; k++) {
        }
        if (k < JOURNAL_POOL)
            ing->jpool[k] = (struct jpool){ .state = SLOT_CURRENT, .fd = fd, .map = map };
        pthread_mutex_unlock(&ing->mu);
    }
    journal_use_segment(ing, fd, map, size, k < JOURNAL_POOL ? k : -1, seg);
    return 0;
fail:
    close(fd);
    unlink(path);
    return -1;
}

static int journal_append(bridge_ingest *ing, const item *it)
{
    unsigned char *p;
    uint32_t h = 2166136261u;
    size_t total = JOURNAL_HDR + it->topic_len + it->len;

    if (it->topic_len > UINT32_MAX || it->len > UINT32_MAX)
        return -1;
    if (ing->jmap == NULL || ing->jseg_records >= JOURNAL_SEG_RECORDS ||
        ing->jseg_bytes + total > ing->jmap_size) {
        journal_close_segment(ing);
        if (journal_open_segment(ing, ing->jseg + 1,
                                 total > JOURNAL_SEG_BYTES ? total : JOURNAL_SEG_BYTES) != 0)
            return -1;
    }
    /* body first, magic last: a record without its magic was never acknowledged */
    p = ing->jmap + ing->jseg_bytes;
    memcpy(p + JOURNAL_HDR, it->topic, it->topic_len);
    if (it->len > 0)
        memcpy(p + JOURNAL_HDR + it->topic_len, it->payload, it->len);
    put_le64(p + 8, ing->jseg);
    put_le64(p + 16, (uint64_t)it->received_ms);
    put_le32(p + 24, (uint32_t)it->topic_len);
    put_le32(p + 28, (uint32_t)it->len);
    h = fnv32_update(h, p + 8, total - 8);
    put_le32(p + 4, h);
    /* a reused file holds old bytes after this record: clear where the
     * next magic goes first, so replay ends cleanly after this record */
    if (ing->jseg_bytes + total + 4 <= ing->jmap_size)
        memset(p + total, 0, 4);
    atomic_signal_fence(memory_order_release); /* the magic is stored last */
    memcpy(p, JOURNAL_MAGIC, 4);
    ing->jseg_records++;
    ing->jseg_bytes += total;
    return 0;
}

/*
 * Segments [oldest_seg, below) are committed: a pooled one is renamed to
 * its slot's spare name (its messages can no longer be replayed) and
 * becomes a spare, the others are unlinked. Writer thread (or start/stop).
 */
static void journal_drop_below(bridge_ingest *ing, uint64_t below)
{
    char path[4200], spare[4200];

    for (; ing->oldest_seg < below; ing->oldest_seg++) {
        int k;

        if (seg_path(ing, ing->oldest_seg, path, sizeof(path)) != 0)
            continue;
        pthread_mutex_lock(&ing->mu);
        for (k = 0; k < JOURNAL_POOL; k++)
            if (ing->jpool[k].state == SLOT_RETIRED && ing->jpool[k].seg == ing->oldest_seg)
                break;
        pthread_mutex_unlock(&ing->mu);
        if (k < JOURNAL_POOL && spare_path(ing, k, spare, sizeof(spare)) == 0 &&
            rename(path, spare) == 0) {
            pthread_mutex_lock(&ing->mu);
            ing->jpool[k].state = SLOT_SPARE;
            pthread_mutex_unlock(&ing->mu);
            continue;
        }
        if (k < JOURNAL_POOL)
            pool_slot_free(ing, k); /* no rename: let the slot go */
        if (unlink(path) != 0 && errno != ENOENT)
            bridge_log_warn("cannot remove journal segment '%s': %s", path, strerror(errno));
    }
}

/*
 * Stop: unmaps and closes every pooled segment; spares are removed, a
 * retired one (messages not all committed) stays for the next start.
 */
static void journal_pool_release(bridge_ingest *ing)
{
    char path[4200];

    for (int k = 0; k < JOURNAL_POOL; k++) {
        if (ing->jpool[k].state == SLOT_FREE)
            continue;
        if (ing->jpool[k].state == SLOT_SPARE && spare_path(ing, k, path, sizeof(path)) == 0)
            (void)unlink(path);
        pool_slot_free(ing, k);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * Reads segment seg into a list of items. Returns 0 or -1 (I/O, memory).
 * Stops where no magic starts the next record (the normal end), at a
 * record left from an earlier use of the file (another segment number),
 * or at a torn one (bad checksum or length: warned about).
 */
static int journal_read_segment(const char *path, uint64_t seg, item **head, size_t *count)
{
    unsigned char *buf = NULL;
    struct stat st;
    size_t off = 0, len;
    item *tail = NULL;
    int fd, rc = -1, stale = 0;
    ssize_t r;

    *head = NULL;
    *count = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    if (fstat(fd, &st) != 0)
        goto out;
    len = (size_t)st.st_size;
    buf = malloc(len ? len : 1);
    if (buf == NULL)
        goto out;
    while (off < len) {
        r = read(fd, buf + off, len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    len = off;
    off = 0;
    while (len - off >= JOURNAL_HDR_V1) {
        const unsigned char *p = buf + off;
        int v1 = memcmp(p, JOURNAL_MAGIC_V1, 4) == 0;
        size_t hdr = v1 ? JOURNAL_HDR_V1 : JOURNAL_HDR;
        const unsigned char *f = v1 ? p + 8 : p + 16; /* received_at, T, P */
        uint32_t tl, pl, h = 2166136261u;
        item *it;

        if ((!v1 && memcmp(p, JOURNAL_MAGIC, 4) != 0) || len - off < hdr)
            break;
        tl = get_le32(f + 8);
        pl = get_le32(f + 12);
        if ((uint64_t)tl + pl > len - off - hdr)
            break;
        h = fnv32_update(h, p + 8, hdr - 8 + tl + pl);
        if (h != get_le32(p + 4))
            break;
        if (!v1 && get_le64(p + 8) != seg) {
            stale = 1; /* left from the file's earlier use: not a torn tail */
            break;
        }
        it = item_new((const char *)p + hdr, tl, p + hdr + tl, pl, (int64_t)get_le64(f));
        if (it == NULL)
            goto out;
        if (tail)
            tail->next = it;
        else
            *head = it;
        tail = it;
        (*count)++;
        off += hdr + tl + pl;
    }
    if (off != len && !stale) {
        size_t z = off;

        while (z < len && z < off + 4 && buf[z] == 0)
            z++;
        /*
         * No magic where the next record starts is the normal end: the
         * zero preallocation, or a record whose magic was not stored yet
         * (never acknowledged). A magic with a bad checksum is reported.
         */
        if (z != len && z != off + 4)
            bridge_log_warn("journal segment '%s': ignoring %zu bytes of a torn tail", path,
                            len - off);
    }
    rc = 0;
out:
    free(buf);
    close(fd);
    if (rc != 0) {
        while (*head) {
            item *n = (*head)->next;

            free(*head);
            *head = n;
        }
        *count = 0;
    }
    return rc;
}

static void free_items(item *it)
{
    while (it != NULL) {
        item *n = it->next;

        free(it);
        it = n;
    }
}

/*
 * Replays every leftover segment in order, committing in batches, then
 * unlinks them. Sets jseg so new segments continue the numbering.
 */
static int journal_replay(bridge_ingest *ing, char *err, size_t errsize)
{
    DIR *d;
    struct dirent *de;
    uint64_t *segs = NULL, seg;
    size_t n = 0, cap = 0, total = 0;
    int rc = -1;

    if (mkdir(ing->jdir, 0700) != 0 && errno != EEXIST) {
        set_err(err, errsize, "cannot create journal folder '%s': %s", ing->jdir,
                strerror(errno));
        return -1;
    }
    d = opendir(ing->jdir);
    if (d == NULL) {
        set_err(err, errsize, "cannot open journal folder '%s': %s", ing->jdir,
                strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char tail[8];
        int k;

        if (sscanf(de->d_name, "spare-%d%4s", &k, tail) == 2 && strcmp(tail, ".jnl") == 0) {
            char path[4200];

            /* committed messages: a spare left by a run that did not stop */
            if (k >= 0 && k < JOURNAL_POOL && spare_path(ing, k, path, sizeof(path)) == 0)
                (void)unlink(path);
            continue;
        }
        if (sscanf(de->d_name, "seg-%16" SCNx64 "%4s", &seg, tail) != 2 ||
            strcmp(tail, ".jnl") != 0)
            continue;
        if (n == cap) {
            uint64_t *g = realloc(segs, (cap ? cap * 2 : 16) * sizeof(*segs));

            if (g == NULL) {
                set_err(err, errsize, "out of memory");
                goto out;
            }
            segs = g;
            cap = cap ? cap * 2 : 16;
        }
        segs[n++] = seg;
    }
    if (n > 1)
        qsort(segs, n, sizeof(*segs), cmp_u64);
    for (size_t i = 0; i < n; i++) {
        char path[4200];
        item *head, *it;
        size_t count;

        if (seg_path(ing, segs[i], path, sizeof(path)) != 0 ||
            journal_read_segment(path, segs[i], &head, &count) != 0) {
            set_err(err, errsize, "cannot read journal segment '%s'", path);
            goto out;
        }
        it = head;
        while (it != NULL) {
            size_t k = 0;
            item *last = it, *next;
            int prc;

            while (k + 1 < ing->opt.batch_max && last->next != NULL) {
                last = last->next;
                k++;
            }
            next = last->next;
            prc = process_batch(ing, it, k + 1);
            if (prc != 0) {
                set_err(err, errsize, "replaying the journal failed: %s: %s",
                        store_strerror(prc), store_errmsg(ing->opt.writer));
                free_items(head);
                goto out;
            }
            atomic_fetch_add(&ing->stats.replayed, k + 1);
            total += k + 1;
            it = next;
        }
        free_items(head);
        if (unlink(path) != 0 && errno != ENOENT)
            bridge_log_warn("cannot remove journal segment '%s': %s", path, strerror(errno));
    }
    if (n > 0)
        bridge_log_info("replayed %zu journaled messages from %zu segments", total, n);
    ing->jseg = n > 0 ? segs[n - 1] + 1 : 1;
    ing->oldest_seg = ing->jseg;
    rc = 0;
out:
    free(segs);
    closedir(d);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Writer thread                                                            */
/* ------------------------------------------------------------------------ */

/*
 * Under load (see worth_lingering), waits up to LINGER_US for the queue to
 * fill a whole batch (mu held). A
 * commit rewrites every page it touches (the events leaf, and a leaf of each
 * index per device and channel) into the WAL, so 30-message commits write
 * ~10 times the bytes of 500-message ones; in a backlog drain this halves
 * the writer's and the checkpointer's CPU. It never delays an acknowledgement
 * (the journal does those) and a light stream never lingers (its batches
 * stay small), so its commit latency is unchanged.
 */
/* The CLOCK_REALTIME time us (< 1 s) from now: a deadline for cv_items. */
static struct timespec deadline_in_us(long us)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += us * 1000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return until;
}

static void linger(bridge_ingest *ing)
{
    struct timespec until = deadline_in_us(LINGER_US);

    ing->writer_lingering = 1;
    while (ing->queued < ing->opt.batch_max && !ing->stopping)
        if (pthread_cond_timedwait(&ing->cv_items, &ing->mu, &until) == ETIMEDOUT)
            break;
    ing->writer_lingering = 0;
}

/*
 * Whether batches should linger: only when messages arrive fast enough that
 * LINGER_US brings LINGER_MIN_GAIN or more of them (32,000 msg/s), measured
 * over the batches detached in the last LINGER_WINDOW_US or more (n
 * messages in dt_us). A size rule ("the last batch was big") also fired on a live
 * stream after any hiccup: a 3 ms stall at 10,000 msg/s leaves a
 * 30-message batch, and the 2 ms linger it triggered delayed the next
 * batches too (publish -> WebSocket p99). One batch is too short a sample
 * (two messages 100 us apart look like 20,000 msg/s), and so is 2 ms (the
 * burst a short stall releases).
 */
static int worth_lingering(size_t n, int64_t dt_us)
{
    return (double)n * LINGER_US >= (double)LINGER_MIN_GAIN * (double)dt_us;
}

/*
 * The queue is empty (mu held): writes the index entries appends no longer
 * write (store_corr_flush: correlation ids the store keeps in memory;
 * store_device_flush: the device index), sorted and in bulk. On a light
 * stream at once, INDEX_MOVE_MIN or more at a time. After a burst
 * (lingering) only once the stream has been quiet for INDEX_QUIET_US, so a
 * backlog drain does this work after the drain, not during it; then
 * everything pending, INDEX_MOVE_MAX of each per transaction, between
 * messages. Returns 1 if it moved entries or the queue may have changed
 * while waiting (worth calling again once the queue is re-checked), 0
 * otherwise. Either way it may have released mu, so a submit in between
 * found no waiting writer and sent no signal: the caller re-checks the
 * queue before it waits.
 */
static int move_index_entries(bridge_ingest *ing, int *lingering)
{
    int n, d, min;

    if (*lingering) {
        struct timespec until = deadline_in_us(INDEX_QUIET_US);

        ing->writer_waiting = 1;
        pthread_cond_timedwait(&ing->cv_items, &ing->mu, &until);
        ing->writer_waiting = 0;
        if (ing->head != NULL || ing->stopping)
            return 1;
        *lingering = 0;
        ing->index_catch_up = 1;
    }
    pthread_mutex_unlock(&ing->mu);
    min = ing->index_catch_up ? 1 : INDEX_MOVE_MIN;
    n = store_corr_flush(ing->opt.writer, (size_t)min, INDEX_MOVE_MAX);
    if (n < 0)
        bridge_log_debug("indexing correlation ids failed: %s", store_errmsg(ing->opt.writer));
    d = store_device_flush(ing->opt.writer, (size_t)min, INDEX_MOVE_MAX);
    if (d < 0)
        bridge_log_debug("indexing device events failed: %s", store_errmsg(ing->opt.writer));
    pthread_mutex_lock(&ing->mu);
    if (n < INDEX_MOVE_MAX && d < INDEX_MOVE_MAX)
        ing->index_catch_up = 0; /* caught up, or failed: the next idle moment retries */
    return n > 0 || d > 0;
}

/*
 * Writes every pending index entry (correlation ids, device index), e.g. at
 * a clean stop, so readers of the file (asyncbridge serve) find a device's
 * events in the index rather than by scanning the log after it.
 */
static void flush_indexes(store *w)
{
    while (store_corr_flush(w, 1, INDEX_STOP_MAX) > 0)
        ;
    while (store_device_flush(w, 1, INDEX_STOP_MAX) > 0)
        ;
}

static void *writer_main(void *arg)
{
    bridge_ingest *ing = arg;
    item *first = NULL, *last = NULL; /* the batch in hand, detached from the queue */
    size_t n = 0;
    int lingering = 0;         /* batches linger (worth_lingering) */
    int64_t win_start = 0;     /* rate window: since when ... */
    size_t win_n = 0;          /* ... how many messages were detached */
    int failing = 0;
    unsigned backoff_ms = 50;

    prctl(PR_SET_NAME, "ab-writer", 0, 0, 0); /* thread name for top/perf */

    for (;;) {
        int rc;

        if (first == NULL) {
            pthread_mutex_lock(&ing->mu);
            if (lingering)
                linger(ing);
            while (ing->head == NULL && !ing->stopping) {
                if (move_index_entries(ing, &lingering))
                    continue;
                /* it may have released mu: a submit then saw no waiter */
                if (ing->head != NULL || ing->stopping)
                    break;
                ing->writer_waiting = 1;
                pthread_cond_wait(&ing->cv_items, &ing->mu);
                ing->writer_waiting = 0;
            }
            if (ing->head == NULL) {
                pthread_mutex_unlock(&ing->mu);
                break;
            }
            /*
             * Adaptive group commit: no lingering. Everything queued so far
             * (up to batch_max) goes into this transaction; what arrives
             * while it commits forms the next batch. An idle stream commits
             * each message at once (lowest latency), a busy one commits in
             * batches as large as the commit time lets the queue grow.
             */
            /* detach up to batch_max items: the submitter only touches the tail */
            first = last = ing->head;
            n = 1;
            while (n < ing->opt.batch_max && last->next != NULL) {
                last = last->next;
                n++;
            }
            ing->head = last->next;
            if (ing->head == NULL)
                ing->tail = NULL;
            last->next = NULL;
            pthread_mutex_unlock(&ing->mu);
            {
                int64_t now = now_us();

                win_n += n;
                if (now - win_start >= LINGER_WINDOW_US) {
                    lingering = win_start > 0 && worth_lingering(win_n, now - win_start);
                    win_start = now;
                    win_n = 0;
                    /*
                     * Ingest first: while messages pour in this fast (a
                     * backlog drain) the projector waits, up to its cap,
                     * and folds the burst PROJECTOR_DEFER_MS after it,
                     * instead of taking CPU from the receive thread and
                     * this one. No early release: a short slow window in
                     * the middle of a drain must not start a fold.
                     */
                    if (lingering)
                        store_projector_defer(ing->opt.projector, PROJECTOR_DEFER_MS);
                }
            }
        }

        rc = process_batch(ing, first, n);
        if (rc != 0) {
            int give_up;

            atomic_fetch_add(&ing->stats.commit_errors, 1);
            if (!failing)
                bridge_log_error("committing %zu messages failed: %s: %s (retrying)", n,
                                 store_strerror(rc), store_errmsg(ing->opt.writer));
            failing++;
            pthread_mutex_lock(&ing->mu);
            give_up = ing->stopping && failing > 20;
            if (give_up)
                ing->stop_rc = -1; /* the journal keeps them for the next start */
            pthread_mutex_unlock(&ing->mu);
            if (give_up)
                break;
            {
                struct timespec ts = { .tv_sec = backoff_ms / 1000,
                                       .tv_nsec = (long)(backoff_ms % 1000) * 1000000L };

                nanosleep(&ts, NULL);
            }
            if (backoff_ms < 2000)
                backoff_ms *= 2;
            continue; /* retry the same batch */
        }
        if (failing) {
            bridge_log_info("store commits work again after %d failures", failing);
            failing = 0;
            backoff_ms = 50;
        }
        /* every segment below the last committed item's is fully committed */
        journal_drop_below(ing, last->segment);

        pthread_mutex_lock(&ing->mu);
        ing->queued -= n;
        atomic_store(&ing->stats.queue_depth, ing->queued);
        pthread_cond_broadcast(&ing->cv_space);
        pthread_mutex_unlock(&ing->mu);
        free_items(first);
        first = last = NULL;
        n = 0;
    }
    free_items(first); /* gave up: still in the journal */
    flush_indexes(ing->opt.writer);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

bridge_ingest *bridge_ingest_new(const bridge_ingest_options *opt, char *err,
                                 size_t errsize)
{
    bridge_ingest *ing;
    const asyncapi_channel *chs;
    size_t n_ch = 0;
    cJSON *t = NULL;
    asyncapi_diag diag;

    if (opt == NULL || opt->doc == NULL || opt->writer == NULL ||
        (opt->mode == BRIDGE_INGEST_JOURNAL && opt->journal_dir == NULL)) {
        set_err(err, errsize, "ingest: missing document, store or journal folder");
        return NULL;
    }
    ing = calloc(1, sizeof(*ing));
    if (ing == NULL)
        goto nomem;
    pthread_mutex_init(&ing->mu, NULL);
    pthread_cond_init(&ing->cv_items, NULL);
    pthread_cond_init(&ing->cv_space, NULL);
    ing->opt = *opt;
    ing->jfd = -1;
    ing->jslot = -1;
    if (ing->opt.batch_max == 0)
        ing->opt.batch_max = 512;
    if (ing->opt.queue_max == 0)
        ing->opt.queue_max = 20000;
    if (ing->opt.max_payload == 0)
        ing->opt.max_payload = 256 * 1024;
    if (opt->journal_dir) {
        ing->jdir = strdup(opt->journal_dir);
        if (ing->jdir == NULL)
            goto nomem;
        ing->opt.journal_dir = ing->jdir;
    }
    ing->router = asyncapi_router_new();
    ing->tree_buf = asyncapi_json_buf_new();
    if (ing->router == NULL || ing->tree_buf == NULL)
        goto nomem;
    t = cJSON_CreateTrue();
    if (t == NULL)
        goto nomem;
    memset(&diag, 0, sizeof(diag));
    ing->any_json = asyncapi_schema_compile(t, NULL, NULL, 0, &diag);
    cJSON_Delete(t);
    if (ing->any_json == NULL) {
        set_err(err, errsize, "ingest: compiling the 'true' schema: %s", diag.message);
        goto fail;
    }
    chs = asyncapi_doc_channels(opt->doc, &n_ch);
    ing->stats.n_channels = n_ch;
    ing->stats.channels = calloc(n_ch ? n_ch : 1, sizeof(*ing->stats.channels));
    ing->chans = calloc(n_ch ? n_ch : 1, sizeof(*ing->chans));
    if (ing->stats.channels == NULL || ing->chans == NULL)
        goto nomem;
    for (size_t i = 0; i < n_ch; i++) {
        const asyncapi_channel *ch = &chs[i];
        chan_info *ci = &ing->chans[ing->n_chans];
        int rc;

        if (!asyncapi_channel_receives(opt->doc, ch) || ch->address == NULL)
            continue;
        ci->ch = ch;
        ci->index = i;
        memset(&diag, 0, sizeof(diag));
        rc = devices_identity_compile(ch, asyncapi_doc_root(opt->doc), &ci->ident, &diag);
        if (rc != 0) {
            set_err(err, errsize, "channel '%s': device identity: %s%s%s", ch->id,
                    devices_strerror(rc), diag.message[0] ? ": " : "", diag.message);
            goto fail;
        }
        ci->corr = calloc(ch->n_messages ? ch->n_messages : 1, sizeof(*ci->corr));
        if (ci->corr == NULL)
            goto nomem_ci;
        ing->n_chans++;
        for (size_t k = 0; k < ch->n_messages; k++) {
            const char *loc = ch->messages[k]->correlation_id;

            if (loc == NULL)
                continue;
            memset(&diag, 0, sizeof(diag));
            rc = devices_expr_compile(loc, &ci->corr[k], &diag);
            if (rc != 0) {
                /* a correlation id the bridge cannot evaluate: hash dedupe instead */
                bridge_log_warn("channel '%s' message '%s': correlationId '%s' not usable "
                                "(%s), using the hash dedupe window",
                                ch->id, ch->messages[k]->id, loc, devices_strerror(rc));
                ci->corr[k] = NULL;
            }
        }
        rc = asyncapi_router_add(ing->router, ch->address, ci);
        if (rc == ASYNCAPI_EEXIST) {
            bridge_log_warn("channel '%s': address '%s' duplicates another channel's; "
                            "messages go to the first", ch->id, ch->address);
        } else if (rc != 0) {
            set_err(err, errsize, "channel '%s': address '%s' cannot be routed: %s", ch->id,
                    ch->address, asyncapi_strerror(rc));
            goto fail;
        }
    }
    return ing;
nomem_ci:
    ing->n_chans++; /* so fail frees its identity */
nomem:
    set_err(err, errsize, "out of memory");
fail:
    bridge_ingest_free(ing);
    return NULL;
}

int bridge_ingest_start(bridge_ingest *ing, char *err, size_t errsize)
{
    if (ing->opt.mode == BRIDGE_INGEST_SYNC)
        return 0;
    if (journal_replay(ing, err, errsize) != 0)
        return -1;
    if (pthread_create(&ing->thread, NULL, writer_main, ing) != 0) {
        set_err(err, errsize, "cannot start the writer thread");
        return -1;
    }
    ing->thread_running = 1;
    return 0;
}

int bridge_ingest_submit(bridge_ingest *ing, const char *topic, size_t topic_len,
                         const void *payload, size_t len, int64_t received_ms)
{
    item *it;
    int rc;

    if (ing->opt.mode == BRIDGE_INGEST_SYNC) {
        it = item_new(topic, topic_len, payload, len, received_ms);
        if (it == NULL)
            return -1;
        rc = process_batch(ing, it, 1);
        if (rc != 0) {
            atomic_fetch_add(&ing->stats.commit_errors, 1);
            LOG_FIRST_REFUSAL(ing, error, "committing a message failed: %s: %s",
                              store_strerror(rc), store_errmsg(ing->opt.writer));
            ing->refused++;
        } else { /* no idle writer here: index entries go once INDEX_MOVE_MAX wait */
            if (ing->refused > 0) {
                bridge_log_info("store commits work again after %u failed attempts", ing->refused);
                ing->refused = 0;
            }
            (void)store_corr_flush(ing->opt.writer, INDEX_MOVE_MAX, INDEX_MOVE_MAX);
            (void)store_device_flush(ing->opt.writer, INDEX_MOVE_MAX, INDEX_MOVE_MAX);
        }
        free(it);
        return rc == 0 ? 0 : -1;
    }
    if (!ing->thread_running)
        return -1;
    pthread_mutex_lock(&ing->mu);
    while (ing->queued >= ing->opt.queue_max && !ing->stopping)
        pthread_cond_wait(&ing->cv_space, &ing->mu);
    rc = ing->stopping;
    pthread_mutex_unlock(&ing->mu);
    if (rc)
        return -1;
    it = item_new(topic, topic_len, payload, len, received_ms);
    if (it == NULL)
        return -1;
    if (journal_append(ing, it) != 0) {
        free(it);
        ing->refused++;
        return -1;
    }
    if (ing->refused > 0) {
        bridge_log_info("the journal works again after %u refused attempts", ing->refused);
        ing->refused = 0;
    }
    it->segment = ing->jseg;
    pthread_mutex_lock(&ing->mu);
    if (ing->tail)
        ing->tail->next = it;
    else
        ing->head = it;
    ing->tail = it;
    ing->queued++;
    atomic_store(&ing->stats.queue_depth, ing->queued);
    if (ing->writer_waiting ||
        (ing->writer_lingering && ing->queued >= ing->opt.batch_max)) {
        /*
         * One wake-up per idle period: later submits find the flag cleared
         * (the writer takes the whole queue when it runs), so a burst costs
         * one futex wake, not one per message.
         */
        ing->writer_waiting = 0;
        ing->writer_lingering = 0;
        pthread_cond_signal(&ing->cv_items);
    }
    pthread_mutex_unlock(&ing->mu);
    return 0;
}

int bridge_ingest_stop(bridge_ingest *ing)
{
    int rc;

    if (ing == NULL)
        return 0;
    pthread_mutex_lock(&ing->mu);
    ing->stopping = 1;
    pthread_cond_broadcast(&ing->cv_items);
    pthread_cond_broadcast(&ing->cv_space);
    pthread_mutex_unlock(&ing->mu);
    if (ing->thread_running) {
        pthread_join(ing->thread, NULL);
        ing->thread_running = 0;
    }
    journal_close_segment(ing);
    rc = ing->stop_rc;
    if (ing->opt.mode == BRIDGE_INGEST_JOURNAL && rc == 0 && ing->head == NULL)
        journal_drop_below(ing, ing->jseg + 1);
    journal_pool_release(ing);
    /* items left (the writer gave up) stay in the journal for the next start */
    free_items(ing->head);
    ing->head = ing->tail = NULL;
    ing->queued = 0;
    return rc;
}

void bridge_ingest_free(bridge_ingest *ing)
{
    if (ing == NULL)
        return;
    (void)bridge_ingest_stop(ing);
    for (size_t i = 0; i < ing->n_chans; i++) {
        chan_info *ci = &ing->chans[i];

        devices_identity_free(ci->ident);
        if (ci->corr) {
            for (size_t k = 0; k < ci->ch->n_messages; k++)
                devices_expr_free(ci->corr[k]);
            free(ci->corr);
        }
    }
    free(ing->chans);
    free(ing->stats.channels);
    asyncapi_schema_free(ing->any_json);
    asyncapi_json_buf_free(ing->tree_buf);
    asyncapi_router_free(ing->router);
    pthread_cond_destroy(&ing->cv_space);
    pthread_cond_destroy(&ing->cv_items);
    pthread_mutex_destroy(&ing->mu);
    free(ing->jdir);
    free(ing->cap_mem);
    free(ing->cap);
    free(ing->cap_out);
    free(ing);
}

const bridge_ingest_stats *bridge_ingest_get_stats(const bridge_ingest *ing)
{
    return &ing->stats;
}

int bridge_status_channels(const asyncapi_doc *doc, const char ***out, size_t *n)
{
    const asyncapi_channel *chs;
    size_t n_ch = 0, k = 0;
    const char **ids;

    chs = asyncapi_doc_channels(doc, &n_ch);
    ids = calloc(n_ch ? n_ch : 1, sizeof(*ids));
    if (ids == NULL)
        return -1;
    for (size_t i = 0; i < n_ch; i++)
        if (devices_channel_is_status(&chs[i], asyncapi_doc_root(doc)))
            ids[k++] = chs[i].id;
    *out = ids;
    *n = k;
    return 0;
}
