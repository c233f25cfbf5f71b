#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the libFuzzer targets one after the other for a bounded time each
# (docs/fuzzing.md). Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
# Needs a build dir configured with CC=clang -DBRIDGE_FUZZ=ON (BUILD=...).
# New corpus entries go to $BUILD/fuzz-work/corpus/<target> (not the repo);
# seeds: tests/fuzz/corpus/<target>, tests/fixtures, and seeds derived at
# run time from ../shared/testdata (never copied into the repo).
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-fuzz}
TESTDATA=${ASYNCBRIDGE_TESTDATA:-$SRC/../shared/testdata}
SECS=${1:-300}
[ $# -gt 0 ] && shift
TARGETS=${*:-fuzz_parse fuzz_validate fuzz_router fuzz_schema_compile}
WORK=$BUILD/fuzz-work
mkdir -p "$WORK/seeds" "$WORK/artifacts"

# Seeds from the shared test data: every "schema" of the JSON-Schema-Test-Suite
# for fuzz_schema_compile, every instance (behind schema selector byte 7 = the
# meta-schema, 8 = true) for fuzz_validate.
if [ -d "$TESTDATA/json-schema-test-suite/tests/draft7" ] && [ ! -d "$WORK/seeds/suite_schemas" ]; then
  /usr/bin/python3 - "$TESTDATA/json-schema-test-suite/tests/draft7" "$WORK/seeds" <<'PY'
import json, os, sys, glob
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out + "/suite_schemas", exist_ok=True)
os.makedirs(out + "/suite_instances", exist_ok=True)
n = 0
for path in sorted(glob.glob(src + "/**/*.json", recursive=True)):
    for group in json.load(open(path, encoding="utf-8")):
        n += 1
        with open("%s/suite_schemas/%05d.json" % (out, n), "w", encoding="utf-8") as f:
            json.dump(group["schema"], f)
        for k, t in enumerate(group["tests"]):
            with open("%s/suite_instances/%05d-%d" % (out, n, k), "wb") as f:
                f.write(bytes([7 if k % 2 else 8]) + json.dumps(t["data"]).encode())
PY
fi

for t in $TARGETS; do
  mkdir -p "$WORK/corpus/$t"
  case $t in
    fuzz_parse) extra="$SRC/tests/fixtures/asyncapi $SRC/examples $TESTDATA/asyncapi-examples" ;;
    fuzz_validate) extra="$WORK/seeds/suite_instances" ;;
    fuzz_schema_compile) extra="$WORK/seeds/suite_schemas" ;;
    *) extra="" ;;
  esac
  dirs=""
  for d in $extra; do [ -d "$d" ] && dirs="$dirs $d"; done
  echo "== $t for ${SECS}s"
  # shellcheck disable=SC2086
  "$BUILD/tests/fuzz/$t" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=5 \
    -report_slow_units=1 -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$t-" \
    "$WORK/corpus/$t" "$SRC/tests/fuzz/corpus/$t" $dirs > "$WORK/$t.log" 2>&1 || true
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)|ERROR|Slow unit|Test unit written' \
    "$WORK/$t.log" | sort | uniq -c | sort -rn | head -20
done
