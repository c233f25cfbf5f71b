/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the store unit tests: a temporary folder per test
 * (mkdtemp) holding a real SQLite file, and a direct query helper through
 * the private handle (store_int.h) to check rows.
 */
#ifndef STORE_TEST_UTIL_H
#define STORE_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

typedef struct tmpdb {
    char dir[64];   /* the mkdtemp folder */
    char path[128]; /* dir/store.db */
} tmpdb;

static inline int tmpdb_init(tmpdb *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/store-test-XXXXXX");
    if (!mkdtemp(t->dir))
        return -1;
    snprintf(t->path, sizeof(t->path), "%s/store.db", t->dir);
    return 0;
}

static inline void tmpdb_release(tmpdb *t)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[160];

    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s%s", t->path, sfx[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

/* A writer handle with default options on a new tmpdb file; NULL on failure. */
static inline store *tmpdb_store(tmpdb *t)
{
    return tmpdb_init(t) == 0 ? store_open(t->path, NULL, NULL, NULL, 0) : NULL;
}

/* One integer from a query; -999999 on error. */
static inline int64_t q_int(store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -999999;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* How often a cached statement of s ran (0 if never prepared). */
static inline int stmt_runs(store *s, enum store__stmt_id id)
{
    return s->stmt[id] ? sqlite3_stmt_status(s->stmt[id], SQLITE_STMTSTATUS_RUN, 0) : 0;
}

/* One text from a query into buf ("" if none). */
static inline const char *q_text(store *s, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *st = NULL;

    buf[0] = '\0';
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

#endif
