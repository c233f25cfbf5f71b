/* SPDX-License-Identifier: MIT */
/*
 * Projections: fold the event log after the checkpoint into devices,
 * device_state and rollups, batch + checkpoint in one transaction; rebuild
 * from scratch; the projector thread. Folding is per event in seq order so
 * an incremental fold in any batch sizes equals a rebuild bit for bit
 * (same float additions in the same order). Notes: docs/store.md.
 */
#include "store_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "devices/devices.h"

typedef struct fold_opts {
    size_t batch_max;
    int64_t bucket_ms;
    const char *const *status_channels;
    size_t n_status_channels;
} fold_opts;

static int fold_opts_get(const store_projector_options *opt, fold_opts *fo)
{
    fo->batch_max = (opt && opt->batch_max) ? opt->batch_max : STORE_PROJECTOR_BATCH_DEFAULT;
    fo->bucket_ms = (opt && opt->bucket_ms) ? opt->bucket_ms : STORE_ROLLUP_BUCKET_DEFAULT;
    fo->status_channels = opt ? opt->status_channels : NULL;
    fo->n_status_channels = opt ? opt->n_status_channels : 0;
    if (fo->bucket_ms < 0 || fo->batch_max > 1000000 ||
        (fo->n_status_channels && !fo->status_channels))
        return STORE_EINVAL;
    return 0;
}

static int is_status_channel(const fold_opts *fo, const char *channel)
{
    if (!fo->status_channels)
        return devices_channel_name_is_status(channel);
    for (size_t i = 0; i < fo->n_status_channels; i++)
        if (fo->status_channels[i] && strcmp(fo->status_channels[i], channel) == 0)
            return 1;
    return 0;
}

static int64_t bucket_of(int64_t t, int64_t width)
{
    int64_t b = t / width;

    if (t % width != 0 && t < 0)
        b--;
    return b * width;
}

static int fold_rollups(store *s, const char *device, const char *channel, const cJSON *root,
                        int64_t bucket)
{
    const cJSON *f;
    int rc = 0;

    if (!cJSON_IsObject(root))
        return 0;
    cJSON_ArrayForEach(f, root) {
        sqlite3_stmt *st;
        if (!cJSON_IsNumber(f) || !f->string || !isfinite(f->valuedouble))
            continue;
        st = store__stmt(s, STORE__PJ_ROLLUP);
        if (!st)
            return STORE_EIO;
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, channel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, f->string, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, bucket);
        sqlite3_bind_double(st, 5, f->valuedouble);
        rc = store__step_done(s, st, "cannot fold rollup");
        if (rc != 0)
            return rc;
    }
    return rc;
}

/* Folds one event row of the scan statement. */
static int fold_event(store *s, const fold_opts *fo, sqlite3_stmt *scan)
{
    int64_t seq = sqlite3_column_int64(scan, 0);
    const char *channel = (const char *)sqlite3_column_text(scan, 1);
    const char *message = (const char *)sqlite3_column_text(scan, 2);
    const char *device = (const char *)sqlite3_column_text(scan, 3);
    const char *payload = (const char *)sqlite3_column_text(scan, 4);
    int plen = sqlite3_column_bytes(scan, 4);
    int64_t at = sqlite3_column_int64(scan, 5);
    cJSON *root = NULL;
    sqlite3_stmt *st;
    int rc = 0;

    if (!channel || !payload)
        return store__error(s, STORE_ECORRUPT, "event %lld has no channel or payload",
                            (long long)seq);
    root = cJSON_ParseWithLength(payload, (size_t)plen);
    if (device && *device) {
        int is_status = is_status_channel(fo, channel);
        devices_status st_new = DEVICES_STATUS_ONLINE;
        if (is_status)
            st_new = devices_status_from_payload(root);

        st = store__stmt(s, STORE__PJ_DEVICE);
        if (!st) {
            rc = STORE_EIO;
            goto out;
        }
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, at);
        sqlite3_bind_int64(st, 3, seq);
        /* NULL keeps the stored status: a status message we cannot read */
        if (st_new != DEVICES_STATUS_UNKNOWN)
            sqlite3_bind_text(st, 4, devices_status_name(st_new), -1, SQLITE_STATIC);
        rc = store__step_done(s, st, "cannot fold device");
        if (rc != 0)
            goto out;

        st = store__stmt(s, STORE__PJ_STATE);
        if (!st) {
            rc = STORE_EIO;
            goto out;
        }
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, channel, -1, SQLITE_STATIC);
        if (message)
            sqlite3_bind_text(st, 3, message, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, seq);
        sqlite3_bind_int64(st, 5, at);
        sqlite3_bind_text(st, 6, payload, plen, SQLITE_STATIC);
        rc = store__step_done(s, st, "cannot fold device state");
        if (rc != 0)
            goto out;
    }
    rc = fold_rollups(s, (device && *device) ? device : "", channel, root,
                      bucket_of(at, fo->bucket_ms));
out:
    cJSON_Delete(root);
    return rc;
}

static int checkpoint_get(store *s, int64_t *cp)
{
    sqlite3_stmt *st = store__stmt(s, STORE__CP_GET);
    int rc;

    if (!st)
        return STORE_EIO;
    rc = sqlite3_step(st);
    *cp = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : store__fail(s, rc, "cannot read checkpoint");
}

/* Folds one batch inside the caller's transaction. */
static int fold_batch(store *s, const fold_opts *fo, size_t *folded, int64_t *cp_out)
{
    sqlite3_stmt *scan;
    int64_t cp, last;
    size_t n = 0;
    int rc;

    rc = checkpoint_get(s, &cp);
    if (rc != 0)
        return rc;
    last = cp;
    scan = store__stmt(s, STORE__PJ_SCAN);
    if (!scan)
        return STORE_EIO;
    sqlite3_bind_int64(scan, 1, cp);
    sqlite3_bind_int64(scan, 2, (sqlite3_int64)fo->batch_max);
    while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
        rc = fold_event(s, fo, scan);
        if (rc != 0) {
            sqlite3_reset(scan);
            return rc;
        }
        last = sqlite3_column_int64(scan, 0);
        n++;
    }
    if (rc != SQLITE_DONE) {
        rc = store__fail(s, rc, "cannot scan events");
        sqlite3_reset(scan);
        return rc;
    }
    sqlite3_reset(scan);
    if (n > 0) {
        sqlite3_stmt *st = store__stmt(s, STORE__CP_SET);
        if (!st)
            return STORE_EIO;
        sqlite3_bind_int64(st, 1, last);
        rc = store__step_done(s, st, "cannot write checkpoint");
        if (rc != 0)
            return rc;
    }
    *folded = n;
    *cp_out = last;
    return 0;
}

static int project(store *s, const fold_opts *fo, size_t *folded, int64_t *cp)
{
    size_t n = 0;
    int rc;

    rc = store_begin(s);
    if (rc != 0)
        return rc;
    rc = fold_batch(s, fo, &n, cp);
    if (rc != 0) {
        store_rollback(s);
        return rc;
    }
    rc = store_commit(s);
    if (rc == 0 && folded)
        *folded = n;
    return rc;
}

int store_project(store *s, const store_projector_options *opt, size_t *folded)
{
    fold_opts fo;
    int64_t cp;

    if (!s)
        return STORE_EINVAL;
    if (fold_opts_get(opt, &fo) != 0)
        return store__error(s, STORE_EINVAL, "bad projector options");
    if (s->in_batch)
        return store__error(s, STORE_ESTATE, "batch open");
    return project(s, &fo, folded, &cp);
}

static void copy_diag(char *diag, size_t size, const char *msg)
{
    if (!diag || size == 0)
        return;
    if (snprintf(diag, size, "%s", msg) >= (int)size)
        diag[size - 1] = '\0';
}

int store_rebuild(const char *path, const store_projector_options *opt, char *diag,
                  size_t diag_size)
{
    store_options so = {0};
    fold_opts fo;
    store *s;
    size_t n;
    int64_t cp;
    int rc;

    copy_diag(diag, diag_size, "");
    if (fold_opts_get(opt, &fo) != 0) {
        copy_diag(diag, diag_size, "bad projector options");
        return STORE_EINVAL;
    }
    so.flags = (opt ? opt->open_flags : 0) & ~(unsigned)STORE_OPEN_READONLY;
    so.busy_timeout_ms = opt ? opt->busy_timeout_ms : 0;
    s = store_open(path, &so, &rc, diag, diag_size);
    if (!s)
        return rc;
    rc = store_begin(s);
    if (rc != 0)
        goto out;
    rc = sqlite3_exec(s->db, "DELETE FROM devices; DELETE FROM device_state;"
                             " DELETE FROM rollups; DELETE FROM projection_checkpoints;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = store__fail(s, rc, "cannot clear projections");
        goto fail_rollback;
    }
    do {
        rc = fold_batch(s, &fo, &n, &cp);
        if (rc != 0)
            goto fail_rollback;
    } while (n > 0);
    rc = store_commit(s);
    goto out;

fail_rollback:
    store_rollback(s);
out:
    if (rc != 0)
        copy_diag(diag, diag_size, store_errmsg(s));
    store_close(s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The projector thread                                                     */
/* ------------------------------------------------------------------------ */

struct store_projector {
    store *s;                 /* the projector's own connection, owned */
    fold_opts fo;             /* folding options; status names point into names */
    char **names;             /* copies of the status channel ids, owned */
    int interval_ms;          /* timer wake-up */
    pthread_t thread;         /* the folding thread */
    pthread_mutex_t mu;       /* guards everything below */
    pthread_cond_t wake;      /* signalled by notify and stop */
    pthread_cond_t progress;  /* broadcast after each committed batch */
    int notified;             /* notify called since the last fold round */
    int stopping;             /* stop requested */
    int64_t checkpoint;       /* last committed checkpoint */
    uint64_t errors;          /* failed fold attempts */
};

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *projector_main(void *arg)
{
    store_projector *p = arg;

    for (;;) {
        size_t n = 0;
        int64_t cp = 0;
        int rc;
        struct timespec ts;

        pthread_mutex_lock(&p->mu);
        p->notified = 0;
        if (p->stopping) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        pthread_mutex_unlock(&p->mu);

        rc = project(p->s, &p->fo, &n, &cp);

        pthread_mutex_lock(&p->mu);
        if (rc == 0 && n > 0) {
            p->checkpoint = cp;
            pthread_cond_broadcast(&p->progress);
        } else if (rc != 0) {
            p->errors++;
        }
        if (rc == 0 && n == p->fo.batch_max) {
            /* more may be waiting: go again at once */
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        deadline_after(&ts, p->interval_ms);
        while (!p->notified && !p->stopping) {
            if (pthread_cond_timedwait(&p->wake, &p->mu, &ts) == ETIMEDOUT)
                break;
        }
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

static void projector_free(store_projector *p)
{
    if (!p)
        return;
    store_close(p->s);
    for (size_t i = 0; p->names && i < p->fo.n_status_channels; i++)
        free(p->names[i]);
    free(p->names);
    free(p);
}

store_projector *store_projector_start(const char *path, const store_projector_options *opt,
                                       int *err, char *diag, size_t diag_size)
{
    store_options so = {0};
    pthread_condattr_t ca;
    store_projector *p;
    int rc = STORE_ENOMEM;

    copy_diag(diag, diag_size, "");
    p = calloc(1, sizeof(*p));
    if (!p)
        goto fail;
    if (fold_opts_get(opt, &p->fo) != 0) {
        rc = STORE_EINVAL;
        copy_diag(diag, diag_size, "bad projector options");
        goto fail_free;
    }
    if (p->fo.status_channels) {
        p->names = calloc(p->fo.n_status_channels + 1, sizeof(*p->names));
        if (!p->names)
            goto fail_free;
        for (size_t i = 0; i < p->fo.n_status_channels; i++) {
            p->names[i] = strdup(p->fo.status_channels[i] ? p->fo.status_channels[i] : "");
            if (!p->names[i])
                goto fail_free;
        }
        p->fo.status_channels = (const char *const *)p->names;
    }
    p->interval_ms = (opt && opt->interval_ms > 0) ? opt->interval_ms
                                                   : STORE_PROJECTOR_INTERVAL_DEFAULT;
    so.flags = (opt ? opt->open_flags : 0) & ~(unsigned)STORE_OPEN_READONLY;
    so.busy_timeout_ms = opt ? opt->busy_timeout_ms : 0;
    p->s = store_open(path, &so, &rc, diag, diag_size);
    if (!p->s)
        goto fail_free;
    rc = checkpoint_get(p->s, &p->checkpoint);
    if (rc != 0)
        goto fail_free;
    rc = STORE_ENOMEM;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        goto fail_free;
    if (pthread_condattr_init(&ca) != 0)
        goto fail_mutex;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&p->wake, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        goto fail_mutex;
    }
    if (pthread_cond_init(&p->progress, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        goto fail_wake;
    }
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, projector_main, p) != 0) {
        copy_diag(diag, diag_size, "cannot start projector thread");
        goto fail_progress;
    }
    if (err)
        *err = 0;
    return p;

fail_progress:
    pthread_cond_destroy(&p->progress);
fail_wake:
    pthread_cond_destroy(&p->wake);
fail_mutex:
    pthread_mutex_destroy(&p->mu);
fail_free:
    projector_free(p);
fail:
    if (rc == STORE_ENOMEM && diag && diag_size && !diag[0])
        copy_diag(diag, diag_size, "out of memory");
    if (err)
        *err = rc;
    return NULL;
}

void store_projector_notify(store_projector *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->notified = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

int store_projector_wait(store_projector *p, int64_t seq, int timeout_ms)
{
    struct timespec ts;
    int rc = 0;

    if (!p || timeout_ms < 0)
        return STORE_EINVAL;
    deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&p->mu);
    while (p->checkpoint < seq) {
        p->notified = 1;
        pthread_cond_signal(&p->wake);
        if (pthread_cond_timedwait(&p->progress, &p->mu, &ts) == ETIMEDOUT) {
            rc = p->checkpoint >= seq ? 0 : STORE_EBUSY;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int64_t store_projector_checkpoint(store_projector *p)
{
    int64_t cp;

    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    cp = p->checkpoint;
    pthread_mutex_unlock(&p->mu);
    return cp;
}

uint64_t store_projector_errors(store_projector *p)
{
    uint64_t n;

    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    n = p->errors;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void store_projector_stop(store_projector *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->progress);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    projector_free(p);
}
