/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: MQTT payloads through asyncapi_schema_validate_json
 * against a fixed set of compiled schemas (data[0] picks one).
 * Body: fuzz_bodies.h; docs/fuzzing.md.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_bodies.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static asyncapi_schema *schemas[FUZZ_VALIDATE_N];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fuzz_validate_init(schemas))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_validate_one(schemas, data, size))
        abort();
    return 0;
}
