/* SPDX-License-Identifier: MIT */
/*
 * WAL checkpoints off the append path. SQLite's default autocheckpoint runs
 * in the committing thread: every ~1000 WAL pages a commit also copies the
 * WAL into the database file and waits for two fsyncs (the only fsyncs
 * with synchronous=NORMAL), stalling the ingest for milliseconds. An
 * appending handle on a file instead gets a checkpointer thread with its
 * own connection: the writer's WAL hook wakes it at STORE__WAL_BG_PAGES;
 * it runs PASSIVE checkpoints (never blocks the writer). Because a WAL
 * only restarts from its beginning when a write transaction starts with
 * every frame copied, the writer runs a PASSIVE checkpoint itself (copying
 * only what the thread has not yet) once the WAL reaches
 * STORE__WAL_MAX_PAGES: this bounds the file. The thread fsyncs the
 * database file after each pass and is woken ever closer together before
 * that mark, so the writer's checkpoint has few pages to copy and little
 * to fsync. Durability is unchanged: a commit is durable by its WAL
 * frames; checkpoints only move them.
 * Notes: docs/store.md "Write path".
 */
#include "store_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

struct store__ckpt {
    pthread_t thread;          /* the checkpointer, joined by store__ckpt_stop */
    pthread_mutex_t mu;        /* guards pending, stop */
    pthread_cond_t cv;         /* signalled when pending or stop is set */
    int pending;               /* a checkpoint was requested */
    int stop;                  /* the thread must exit */
    sqlite3 *db;               /* its own connection; used only by the thread */
    int woken_at;              /* WAL size at the last wake-up (writer's thread only) */
    unsigned wakes;            /* wake-ups so far (writer's thread only; tests) */
    _Atomic unsigned db_syncs; /* database file syncs after passes (tests) */
};

/*
 * Flushes the database file after a pass. SQLite syncs it only at the end
 * of a checkpoint that copied the whole WAL, which under a steady stream
 * only the writer's own checkpoint does (the WAL grows during the thread's
 * passes): that fsync then wrote back every page the thread had copied
 * since the last restart, 3-10 ms on the ingest's thread at 10,000 msg/s.
 * Synced here, it finds little left. An extra fsync changes no guarantee.
 */
static void sync_db(store__ckpt *c)
{
    sqlite3_file *f = NULL;

    if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK &&
        f != NULL && f->pMethods != NULL && f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK)
        c->db_syncs++;
}

static void *ckpt_main(void *arg)
{
    store__ckpt *c = arg;

    prctl(PR_SET_NAME, "ab-checkpoint", 0, 0, 0); /* thread name for top/perf */

    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->pending && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop)
            break;
        c->pending = 0;
        pthread_mutex_unlock(&c->mu);
        /* BUSY (another checkpoint running) or I/O errors: the next request retries */
        if (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) ==
            SQLITE_OK)
            sync_db(c);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/*
 * Wake-up spacing in the last STORE__WAL_BG_PAGES before the writer's own
 * checkpoint: a quarter of the distance to it, at most an eighth of
 * STORE__WAL_BG_PAGES, at least STORE__WAL_STEP_MIN. With a fixed eighth
 * (500 pages) the writer was left up to ~500 pages to copy (the thread
 * needs 2-3 ms for such a pass at 10,000 msg/s); now a few dozen.
 */
static int near_max_step(int frames)
{
    int step = (STORE__WAL_MAX_PAGES - frames) / 4;

    if (step > STORE__WAL_BG_PAGES / 8)
        step = STORE__WAL_BG_PAGES / 8;
    return step < STORE__WAL_STEP_MIN ? STORE__WAL_STEP_MIN : step;
}

/* Runs on the writer's thread after each commit (sqlite3_wal_hook). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    store__ckpt *c = arg;

    if (frames < c->woken_at)
        c->woken_at = 0; /* the WAL restarted from its beginning */
    if (frames >= STORE__WAL_MAX_PAGES) {
        /*
         * Let the WAL restart: copy the rest here. SQLITE_BUSY while the
         * thread is at it: no more wake-ups from here, so it finishes and
         * a later commit copies what is left.
         */
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (frames - c->woken_at >= STORE__WAL_BG_PAGES ||
               (frames >= STORE__WAL_MAX_PAGES - STORE__WAL_BG_PAGES &&
                frames - c->woken_at >= near_max_step(frames))) {
        /*
         * Once per STORE__WAL_BG_PAGES of new WAL, not after every commit
         * past the mark: a WAL that has not restarted yet (a checkpoint
         * copies the frames, the restart waits for the next write
         * transaction without older readers) would otherwise cost a
         * checkpoint with its two fsyncs per commit. In the last
         * STORE__WAL_BG_PAGES before the writer's own checkpoint, ever
         * more often (near_max_step): the thread then runs back to back
         * in ever shorter passes, so what is left for the writer (pages
         * to copy, dirty data to fsync) is what its last, short pass let
         * accumulate.
         */
        c->woken_at = frames;
        c->wakes++;
        pthread_mutex_lock(&c->mu);
        c->pending = 1;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

void store__ckpt_start(store *s)
{
    const char *path;
    store__ckpt *c;
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

    if (s->ckpt_tried)
        return;
    s->ckpt_tried = 1;
    path = sqlite3_db_filename(s->db, "main");
    if (!path || !*path || (s->flags & STORE_OPEN_READONLY))
        return; /* :memory: or temp: no WAL */
    c = calloc(1, sizeof(*c));
    if (!c)
        return; /* SQLite's autocheckpoint stays on: slower, not wrong */
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        goto fail_free;
    if (pthread_cond_init(&c->cv, NULL) != 0)
        goto fail_mutex;
    if (sqlite3_open_v2(path, &c->db, oflags, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, (s->flags & STORE_OPEN_SYNC_FULL) ? "PRAGMA synchronous=FULL"
                                                                : "PRAGMA synchronous=NORMAL",
                     NULL, NULL, NULL) != SQLITE_OK)
        goto fail_db;
    if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0)
        goto fail_db;
    s->ckpt = c;
    sqlite3_wal_hook(s->db, wal_hook, c); /* replaces the autocheckpoint */
    return;

fail_db:
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cv);
fail_mutex:
    pthread_mutex_destroy(&c->mu);
fail_free:
    free(c);
}

unsigned store__ckpt_wakes(const store *s)
{
    return s->ckpt ? s->ckpt->wakes : 0;
}

unsigned store__ckpt_db_syncs(const store *s)
{
    return s->ckpt ? atomic_load(&s->ckpt->db_syncs) : 0;
}

void store__ckpt_stop(store *s)
{
    store__ckpt *c = s->ckpt;

    if (!c)
        return;
    sqlite3_wal_hook(s->db, NULL, NULL);
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    s->ckpt = NULL;
}
