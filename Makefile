# asyncbridge — the usual steps. See README.md.
#   make deps   install missing Debian packages (apt-get; root or sudo)
#   make        configure + build (build/, optimised)
#   make test   deps + build + sanitizer build + the full ctest run
#   make demo   a private mosquitto, the bridge on examples/ and a simulated fleet
#   make bench  benchmarks (print figures, assert nothing; installs wrk)

BUILD      ?= build
BUILD_SAN  ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

# Build and runtime packages (Debian 12 names).
PACKAGES = gcc make cmake pkg-config libc6-dev \
	libpaho-mqtt-dev libwebsockets-dev libcjson-dev libyaml-dev \
	libpcre2-dev libsqlite3-dev mosquitto \
	python3 python3-paho-mqtt python3-websockets python3-jsonschema python3-yaml curl openssl \
	chromium

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build deps test test-unit demo bench clean

all: build

# Benchmarks also need a load generator for HTTP.
BENCH_PACKAGES = wrk

deps:
	@missing=$$(for p in $(PACKAGES) $(EXTRA_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing" $$missing; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# A failed configure leaves CMakeCache.txt behind; it is removed so that the
# next 'make' configures again instead of failing with "No rule to make
# target 'Makefile'".
$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) || { rm -f $@; exit 1; }

$(BUILD_SAN)/CMakeCache.txt:
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) || { rm -f $@; exit 1; }

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-san: $(BUILD_SAN)/CMakeCache.txt
	cmake --build $(BUILD_SAN) -j $(JOBS)

# Unit tests on the optimised build, then everything (unit, conformance,
# integration) on the ASan+UBSan build.
test: deps
	$(MAKE) build build-san
	cd $(BUILD) && ctest -L unit --output-on-failure
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure

demo: deps build
	@./examples/demo.sh $(BUILD)

bench:
	@$(MAKE) --no-print-directory deps EXTRA_PACKAGES="$(BENCH_PACKAGES)"
	@$(MAKE) --no-print-directory build
	@./bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
