/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging for the daemon: timestamped lines on stderr, one write(2)
 * per line so concurrent threads never interleave. See log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The only process-wide state of the logger: the level. A daemon has one
 * stderr, so a context pointer would buy nothing here.
 */
static atomic_int log_level = BRIDGE_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void bridge_log_set_level(enum bridge_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum bridge_log_level bridge_log_get_level(void)
{
    return (enum bridge_log_level)atomic_load(&log_level);
}

int bridge_log_parse_level(const char *text, enum bridge_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum bridge_log_level)i;
            return 0;
        }
    }
    return -1;
}

void bridge_log(enum bridge_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t off;
    int n;
    va_list ap;

    if ((int)level > atomic_load(&log_level) || (int)level < 0)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line + off, sizeof(line) - off, ".%03ldZ %-5s ",
                 ts.tv_nsec / 1000000L, level_names[level]);
    if (n < 0)
        return;
    off += (size_t)n;
    va_start(ap, fmt);
    n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line) - off) {
        /* truncated: mark it and keep room for the newline */
        off = sizeof(line) - 5;
        memcpy(line + off, "...", 3);
        off += 3;
    } else {
        off += (size_t)n;
    }
    line[off++] = '\n';
    /* best effort: a failing stderr has nowhere else to be reported */
    if (write(STDERR_FILENO, line, off) < 0)
        return;
}
