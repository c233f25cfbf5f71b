/* SPDX-License-Identifier: MIT */
/*
 * asyncbridge: command dispatch. Each subcommand lives in its own cli_*.c
 * (see cli.h); this file only knows their names and one-line summaries.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    { "lint", bridge_cmd_lint, "load an AsyncAPI document and print its channels" },
    { "check", bridge_cmd_check, "validate one payload against a channel's messages" },
    { "run", bridge_cmd_run, "ingest MQTT messages into the event store (the daemon)" },
    { "rebuild", bridge_cmd_rebuild, "replay the event log into fresh projections" },
    { "docs", bridge_cmd_docs, "generate HTML/Markdown documentation from a spec" },
    { "serve", bridge_cmd_serve, "serve an existing store read-only over HTTP (REST, live replay)" },
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: asyncbridge <command> [options]\n"
            "       asyncbridge --help | --version\n"
            "\n"
            "MQTT device fleet -> validated event log -> API, driven by AsyncAPI.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'asyncbridge <command> --help' describes a command.\n");
}

void bridge_errorf(const char *fmt, ...)
{
    va_list ap;

    fputs("asyncbridge: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int bridge_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (bridge_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("asyncbridge %s\n", ASYNCBRIDGE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    bridge_errorf("unknown command '%s' (see 'asyncbridge --help')", argv[1]);
    return 2;
}
