/* SPDX-License-Identifier: MIT */
/*
 * A write-combining shim over SQLite's default VFS for the WAL of a writing
 * connection. SQLite writes each WAL frame with two pwrite(2) calls (the
 * 24-byte frame header, then the page), so a commit that touched 30 pages
 * costs 60 system calls; where system calls are dear (a virtual machine)
 * that is most of the commit. The shim collects the contiguous frame
 * writes of a transaction in a buffer and hands them to the file in one
 * write when the commit frame (a frame header whose "database size after
 * commit" field is not zero) and its page have arrived; that write's result
 * is the result SQLite sees for the commit frame, so a failed write fails
 * the commit exactly as before.
 *
 * Nothing becomes visible earlier or later than without the shim: other
 * connections only read frames up to the end recorded in the WAL index
 * header, which SQLite publishes after the commit frame's write returned.
 * As a second line, every other operation on the WAL file (read, sync,
 * size, truncate, close, file controls) and every shared-memory barrier of
 * the connection's database file first writes what is buffered. A crash
 * loses only frames of a commit that had not returned: recovery ignores
 * them (their checksums chain breaks), as it does for a torn stock write.
 * Notes: docs/store.md "Write path".
 */
#include "store_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_MAX (8u << 20) /* a larger transaction is written through in parts */
#define WAL_FRAME_HDR 24
#define WRITE_CHUNK (124u * 1024) /* < 0x1ffff, the unix VFS's limit per write */

typedef struct walbuf_file {
    sqlite3_file base;       /* pMethods = &walbuf_io (or NULL if the open failed) */
    sqlite3_file *real;      /* the default VFS's file, allocated right after this */
    int is_wal;              /* a WAL file: writes are combined */
    int commit_pending;      /* the last frame header was a commit frame's */
    int sticky_rc;           /* a write-back that failed where no caller could hear it */
    pthread_mutex_t mu;      /* guards the buffer (barriers may come from any thread) */
    unsigned char *buf;
    size_t len, cap;
    sqlite3_int64 off;       /* file offset of buf[0] */
    struct walbuf_file *next; /* registry of open WAL files */
} walbuf_file;

static sqlite3_vfs walbuf_vfs;
static sqlite3_vfs *real_vfs;
static sqlite3_io_methods walbuf_io;
static pthread_once_t walbuf_once = PTHREAD_ONCE_INIT;
static int walbuf_ok;
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static walbuf_file *registry;
static _Atomic unsigned long wal_writes; /* writes handed to the real WAL files (tests) */

/* Writes the buffer back (f->mu held). */
static int flush_locked(walbuf_file *f)
{
    int rc = SQLITE_OK;

    /* in pieces: the unix VFS writes at most 128 KiB - 1 bytes per call */
    for (size_t done = 0; done < f->len && rc == SQLITE_OK; done += WRITE_CHUNK) {
        size_t n = f->len - done < WRITE_CHUNK ? f->len - done : WRITE_CHUNK;

        rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
                                       f->off + (sqlite3_int64)done);
        atomic_fetch_add(&wal_writes, 1);
    }
    f->len = 0;
    if (rc == SQLITE_OK && f->sticky_rc != SQLITE_OK) {
        rc = f->sticky_rc;
        f->sticky_rc = SQLITE_OK;
    }
    return rc;
}

static int flush(walbuf_file *f)
{
    int rc;

    if (!f->is_wal)
        return SQLITE_OK;
    pthread_mutex_lock(&f->mu);
    rc = flush_locked(f);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* Appends to the buffer; 0, or -1 when it cannot grow (write through). */
static int buffer_append(walbuf_file *f, const void *p, size_t n, sqlite3_int64 off)
{
    if (f->len == 0)
        f->off = off;
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 64u * 1024;
        unsigned char *nb;

        while (cap < f->len + n)
            cap *= 2;
        if (cap > WALBUF_MAX)
            return -1;
        nb = realloc(f->buf, cap);
        if (nb == NULL)
            return -1;
        f->buf = nb;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
    return 0;
}

static int x_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
    walbuf_file *f = (walbuf_file *)file;
    int rc = SQLITE_OK, commit_now;

    if (!f->is_wal)
        return f->real->pMethods->xWrite(f->real, p, n, off);
    pthread_mutex_lock(&f->mu);
    if (f->len > 0 && off != f->off + (sqlite3_int64)f->len)
        rc = flush_locked(f); /* not contiguous (a rewrite, a new WAL header) */
    commit_now = f->commit_pending;
    f->commit_pending = 0;
    if (n == WAL_FRAME_HDR) {
        const unsigned char *h = p;
        /* bytes 4..7: database size in pages after a commit, 0 otherwise */
        f->commit_pending = (h[4] | h[5] | h[6] | h[7]) != 0;
    }
    if (rc == SQLITE_OK && (n <= 0 || buffer_append(f, p, (size_t)n, off) != 0)) {
        rc = flush_locked(f);
        if (rc == SQLITE_OK) {
            rc = f->real->pMethods->xWrite(f->real, p, n, off);
            atomic_fetch_add(&wal_writes, 1);
        }
    }
    if (rc == SQLITE_OK && commit_now)
        rc = flush_locked(f); /* the commit frame's page: the transaction is whole */
    if (rc != SQLITE_OK)
        f->len = 0;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int x_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, n, off);
}

static int x_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int x_sync(sqlite3_file *file, int flags)
{
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int x_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int x_close(sqlite3_file *file)
{
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f), rc2;

    if (f->is_wal) {
        pthread_mutex_lock(&registry_mu);
        for (walbuf_file **pp = &registry; *pp; pp = &(*pp)->next)
            if (*pp == f) {
                *pp = f->next;
                break;
            }
        pthread_mutex_unlock(&registry_mu);
        pthread_mutex_destroy(&f->mu);
        free(f->buf);
    }
    rc2 = f->real->pMethods->xClose(f->real);
    return rc != SQLITE_OK ? rc : rc2;
}

static int x_lock(sqlite3_file *file, int lock)
{
    return ((walbuf_file *)file)->real->pMethods->xLock(((walbuf_file *)file)->real, lock);
}

static int x_unlock(sqlite3_file *file, int lock)
{
    return ((walbuf_file *)file)->real->pMethods->xUnlock(((walbuf_file *)file)->real, lock);
}

static int x_check_reserved(sqlite3_file *file, int *out)
{
    walbuf_file *f = (walbuf_file *)file;

    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int x_file_control(sqlite3_file *file, int op, void *arg)
{
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);

    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int x_sector_size(sqlite3_file *file)
{
    return ((walbuf_file *)file)->real->pMethods->xSectorSize(((walbuf_file *)file)->real);
}

static int x_device_characteristics(sqlite3_file *file)
{
    walbuf_file *f = (walbuf_file *)file;

    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int x_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
    walbuf_file *f = (walbuf_file *)file;

    return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int x_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    walbuf_file *f = (walbuf_file *)file;

    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

/*
 * A barrier on a database file precedes every WAL index header update:
 * write back whatever a WAL file of this process still buffers (normally
 * nothing: commit frames flush themselves). A failure here cannot be
 * returned; it is kept and returned by that file's next operation.
 */
static void x_shm_barrier(sqlite3_file *file)
{
    walbuf_file *f = (walbuf_file *)file;

    pthread_mutex_lock(&registry_mu);
    for (walbuf_file *w = registry; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        if (w->len > 0) {
            int rc = flush_locked(w);

            if (rc != SQLITE_OK)
                w->sticky_rc = rc;
        }
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_unlock(&registry_mu);
    f->real->pMethods->xShmBarrier(f->real);
}

static int x_shm_unmap(sqlite3_file *file, int del)
{
    return ((walbuf_file *)file)->real->pMethods->xShmUnmap(((walbuf_file *)file)->real, del);
}

static int x_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **pp)
{
    walbuf_file *f = (walbuf_file *)file;

    return f->real->pMethods->xFetch(f->real, off, n, pp);
}

static int x_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    walbuf_file *f = (walbuf_file *)file;

    return f->real->pMethods->xUnfetch(f->real, off, p);
}

static int x_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                  int *out_flags)
{
    walbuf_file *f = (walbuf_file *)file;
    int rc;

    (void)vfs;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    if (f->real->pMethods == NULL)
        return rc; /* base.pMethods stays NULL: SQLite will not call xClose */
    if (f->real->pMethods->iVersion < 3) { /* no shared memory to forward */
        f->real->pMethods->xClose(f->real);
        return SQLITE_CANTOPEN;
    }
    f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    if (f->is_wal) {
        pthread_mutex_init(&f->mu, NULL);
        pthread_mutex_lock(&registry_mu);
        f->next = registry;
        registry = f;
        pthread_mutex_unlock(&registry_mu);
    }
    f->base.pMethods = &walbuf_io;
    return rc;
}

static void walbuf_register(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (real_vfs == NULL || real_vfs->iVersion < 1)
        return;
    /* the default VFS's own methods, but files of our size opened through us */
    walbuf_vfs = *real_vfs;
    walbuf_vfs.zName = STORE__VFS_NAME;
    walbuf_vfs.szOsFile = (int)sizeof(walbuf_file) + real_vfs->szOsFile;
    walbuf_vfs.pNext = NULL;
    walbuf_vfs.xOpen = x_open;
    walbuf_io = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = x_close,
        .xRead = x_read,
        .xWrite = x_write,
        .xTruncate = x_truncate,
        .xSync = x_sync,
        .xFileSize = x_file_size,
        .xLock = x_lock,
        .xUnlock = x_unlock,
        .xCheckReservedLock = x_check_reserved,
        .xFileControl = x_file_control,
        .xSectorSize = x_sector_size,
        .xDeviceCharacteristics = x_device_characteristics,
        .xShmMap = x_shm_map,
        .xShmLock = x_shm_lock,
        .xShmBarrier = x_shm_barrier,
        .xShmUnmap = x_shm_unmap,
        .xFetch = x_fetch,
        .xUnfetch = x_unfetch,
    };
    walbuf_ok = sqlite3_vfs_register(&walbuf_vfs, 0) == SQLITE_OK;
}

const char *store__vfs(void)
{
    pthread_once(&walbuf_once, walbuf_register);
    return walbuf_ok ? STORE__VFS_NAME : NULL;
}

unsigned long store__vfs_wal_writes(void)
{
    return atomic_load(&wal_writes);
}
