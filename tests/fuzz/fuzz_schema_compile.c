/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: JSON Schemas as a spec would hold them (YAML or JSON)
 * through asyncapi_schema_compile, then the compiled schema on fixed
 * instances and on itself. Body: fuzz_bodies.h; docs/fuzzing.md.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_schema_compile_one(data, size))
        abort();
    return 0;
}
