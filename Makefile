# strata — top-level entry points. See README.md.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

# make test SANITIZE=1: everything built with AddressSanitizer and UBSan in build-sanitize/, and
# the end-to-end tests run against that binary. A sanitizer report fails the test it occurs in.
ifeq ($(SANITIZE),1)
BUILD_DIR := build-sanitize
BUILD_TYPE := Sanitize
export STRATA_BIN := $(CURDIR)/build-sanitize/strata
export ASAN_OPTIONS := abort_on_error=0:exitcode=99:detect_leaks=0
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1:exitcode=99
endif

.PHONY: all build deps test unit e2e demo bench stress fuzz clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSTRATA_WERROR=ON >/dev/null

build: $(BUILD_DIR)/CMakeCache.txt
	@bash scripts/install-deps.sh --build-only
	@cmake --build $(BUILD_DIR) -j $(JOBS)

unit: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

e2e: build
	@bash tests/e2e/run.sh

test: deps build
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e

demo: deps build
	@bash scripts/demo.sh

# Longer and heavier than make test: the registry server under 16 parallel pulls of a 300 MB
# layer, 120 kill -9 rounds on one store (E2E_STRESS=1), and every fuzz target for ten minutes
# under AddressSanitizer and UBSan (make fuzz).
stress: deps build
	@E2E_STRESS=1 E2E_TIMEOUT=1800 bash tests/e2e/run.sh registry_server
	@E2E_STRESS=1 E2E_TIMEOUT=1800 bash tests/e2e/run.sh crash
	@$(MAKE) --no-print-directory fuzz

# Each fuzz target for FUZZ_SECONDS under clang's coverage-guided libFuzzer with ASan and UBSan
# (built in build-libfuzzer/), starting from its corpus (tests/fuzz/corpus/<name>); new inputs
# go to build-libfuzzer/corpus-<name>, so the kept corpus is only added to by hand; the log of
# each run is build-libfuzzer/<name>.log. A crash or a sanitizer report stops the run with the
# input saved as build-libfuzzer/crash-*.
FUZZ_SECONDS ?= 600
fuzz:
	@bash scripts/install-deps.sh --fuzz
	@cmake -S . -B build-libfuzzer -DCMAKE_CXX_COMPILER=clang++-16 -DSTRATA_FUZZ_ENGINE=libfuzzer >/dev/null
	@cmake --build build-libfuzzer -j $(JOBS)
	@for f in build-libfuzzer/*_fuzz; do n=$$(basename $$f _fuzz); echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  rm -rf build-libfuzzer/corpus-$$n && mkdir -p build-libfuzzer/corpus-$$n && \
	  ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build-libfuzzer/ -print_final_stats=1 \
	    build-libfuzzer/corpus-$$n tests/fuzz/corpus/$$n >build-libfuzzer/$$n.log 2>&1 \
	  || { tail -40 build-libfuzzer/$$n.log; exit 1; }; \
	  grep -E "DONE|^stat::new_units_added" build-libfuzzer/$$n.log; done

bench: deps build
	@bash bench/run.sh

clean:
	rm -rf $(BUILD_DIR)
