/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging for the daemon (bridge/ only; libraries never log).
 * One line per call on stderr: "2026-11-23T10:15:00.123Z info  text".
 * Text is lowercase, says what failed first, no final period (STYLE.md 4).
 */
#ifndef BRIDGE_LOG_H
#define BRIDGE_LOG_H

enum bridge_log_level {
    BRIDGE_LOG_ERROR = 0,
    BRIDGE_LOG_WARN = 1,
    BRIDGE_LOG_INFO = 2,
    BRIDGE_LOG_DEBUG = 3,
};

/*
 * Sets the most verbose level printed (default BRIDGE_LOG_INFO).
 * Thread: call before other threads start; reads are atomic.
 */
void bridge_log_set_level(enum bridge_log_level level);

/* Returns the current level. */
enum bridge_log_level bridge_log_get_level(void);

/*
 * Parses "error", "warn", "info" or "debug" into *out.
 * Returns 0, or -1 for any other text (*out untouched).
 */
int bridge_log_parse_level(const char *text, enum bridge_log_level *out);

/*
 * Prints one line at level if the level is enabled. Thread-safe: each line
 * is written with a single write so lines of threads never interleave.
 */
void bridge_log(enum bridge_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define bridge_log_error(...) bridge_log(BRIDGE_LOG_ERROR, __VA_ARGS__)
#define bridge_log_warn(...) bridge_log(BRIDGE_LOG_WARN, __VA_ARGS__)
#define bridge_log_info(...) bridge_log(BRIDGE_LOG_INFO, __VA_ARGS__)
#define bridge_log_debug(...) bridge_log(BRIDGE_LOG_DEBUG, __VA_ARGS__)

#endif
