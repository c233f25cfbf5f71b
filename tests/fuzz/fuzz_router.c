/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: channel addresses and MQTT topics through
 * asyncapi_router_add/match and asyncapi_topic_filter, checked against a
 * naive matcher. Body: fuzz_bodies.h; docs/fuzzing.md.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_router_one(data, size))
        abort();
    return 0;
}
