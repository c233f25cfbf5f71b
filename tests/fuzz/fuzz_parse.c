/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: AsyncAPI/JSON Schema text from the outside world through
 * asyncapi_parse_buffer and, for documents with an "asyncapi" key,
 * asyncapi_load (via a scratch file). Body: fuzz_bodies.h; docs/fuzzing.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_bodies.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char load_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* one scratch file per process; the name is what $refs resolve against */
    if (snprintf(load_path, sizeof(load_path), "/tmp/asyncbridge-fuzz-%ld.yaml",
                 (long)getpid()) >= (int)sizeof(load_path))
        load_path[0] = '\0';
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_parse_one(data, size, load_path[0] ? load_path : NULL))
        abort();
    return 0;
}
