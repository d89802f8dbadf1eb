# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over CMake. `make run` and `make test` are the two commands
# the README promises work on a fresh Debian 12 machine as root.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ARGS ?=
# `make install PREFIX=/opt/tracewire` (DESTDIR=... for packaging, as usual)
PREFIX ?= /usr/local

.PHONY: all deps configure build run test unit integration bench asan fuzz clean install kernels test-kernels
FUZZ_SECONDS ?= 60

all: build

deps:
	@bash docker/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Trace with the defaults (every event type) until Ctrl-C; extra flags via ARGS="...".
run: build
	$(BUILD)/non-GPL/EventsTrace/EventsTrace $(ARGS)

test: build
	cd $(BUILD) && ctest --output-on-failure $(CTEST_ARGS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# Every benchmark in one run (~20 min on 2 CPUs): exec/file/tty in four configurations
# (none, floor, tracewire, bpftrace), the synthetic ring-buffer maximum, decode + NDJSON,
# then sched, net and netacct; figures and PASS/FAIL per target into docs/benchmarks.md.
# Always exits 0 when the benchmarks ran, even with targets missed (testing/bench/run_all.sh).
bench: build
	bash testing/bench/run_all.sh $(BUILD)

# Everything built with AddressSanitizer and UBSan: the unit tests, and EventsTrace and the
# library end to end.
asan: deps
	cmake -S . -B $(BUILD)-asan -DTW_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -L unit
	# EventsTrace and the library under the sanitizers on real probes and a real collector
	cd $(BUILD)-asan && ctest --output-on-failure \
	  -R 'integration_(eventstrace|network|ship_faults|metrics)$$'

# Every libFuzzer target for FUZZ_SECONDS each (the whole userspace instrumented).
fuzz: deps
	CC=clang cmake -S . -B $(BUILD)-fuzz -DTW_FUZZ=ON \
	  -DCMAKE_C_FLAGS="-g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_decode fuzz_replay fuzz_cli fuzz_dns fuzz_ship_response fuzz_ship_spool
	bash testing/fuzz/run_fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

# The kernel matrix (testing/kernels/README.md): every kernel of testing/kernels/kernels.list
# booted under qemu with the guest test binary and the Criterion integration suite
# (about 6 min per kernel, two at once); results into docs/kernels.md.
# KERNELS_ARGS e.g. "--repeat 3" or "--only 6.1,7.2" or '--suite-tests "file tty"'.
KERNELS_ARGS ?= --jobs 2
kernels: build
	cmake --build $(BUILD) -j $(JOBS) --target twk_guest
	bash testing/kernels/run-matrix.sh --guest $(BUILD)/testing/kernels/twk_guest --suite $(BUILD) \
	  --out $(BUILD)/testing/kernels/matrix --doc docs/kernels.md $(KERNELS_ARGS)
test-kernels: kernels

# Library (shared and static), headers, tracewire.pc, CMake package, EventsTrace, its man page
# and bash completion (docs/library.md). The prefix is chosen here, not at configure time.
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz
