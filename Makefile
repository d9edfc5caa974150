# strata — top-level entry points. See README.md.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all build deps test unit e2e demo bench clean

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

bench: deps build
	@bash bench/run.sh

clean:
	rm -rf $(BUILD_DIR)
