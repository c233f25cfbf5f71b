/* SPDX-License-Identifier: MIT */
/*
 * The asyncbridge subcommands. main.c parses the command word and hands the
 * rest of argv (argv[0] is the command word) to one of these. Each returns
 * the process exit code: 0 success, 1 the check failed (bad spec, invalid
 * payload), 2 usage or setup error. Each prints its own --help.
 */
#ifndef BRIDGE_CLI_H
#define BRIDGE_CLI_H

#include <stdio.h>

/* `asyncbridge lint SPEC` (cli_lint.c). */
int bridge_cmd_lint(int argc, char **argv);
/* `asyncbridge check SPEC CHANNEL FILE` (cli_check.c). */
int bridge_cmd_check(int argc, char **argv);
/* `asyncbridge run --spec SPEC [...]` (cli_run.c): the ingest daemon. */
int bridge_cmd_run(int argc, char **argv);
/* `asyncbridge rebuild --db FILE --spec SPEC` (cli_rebuild.c). */
int bridge_cmd_rebuild(int argc, char **argv);
/* `asyncbridge docs SPEC -o DIR [--format html|markdown|both]` (cli_docs.c). */
int bridge_cmd_docs(int argc, char **argv);
/* `asyncbridge serve --db FILE --spec SPEC [--http ADDR:PORT]` (cli_serve.c): read-only HTTP. */
int bridge_cmd_serve(int argc, char **argv);

/*
 * Prints "asyncbridge: " + the formatted text + "\n" to stderr.
 * Log text is lowercase, says what failed first, no final period.
 */
void bridge_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Is arg "--help" or "-h"? */
int bridge_is_help(const char *arg);

#endif
