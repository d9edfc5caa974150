# strata — top-level entry points. See README.md.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all build deps test unit e2e demo bench stress clean

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
# layer, 120 kill -9 rounds on one store (E2E_STRESS=1), and two million mutated inputs for
# every fuzz target.
stress: deps build
	@E2E_STRESS=1 E2E_TIMEOUT=1800 bash tests/e2e/run.sh registry_server
	@E2E_STRESS=1 E2E_TIMEOUT=1800 bash tests/e2e/run.sh crash
	@for f in $(BUILD_DIR)/*_fuzz; do echo "== $$f"; $$f -runs=2000000 tests/fuzz/corpus/$$(basename $$f _fuzz) || exit 1; done

bench: deps build
	@bash bench/run.sh

clean:
	rm -rf $(BUILD_DIR)
