# convexlite: the two commands a newcomer types are `make dev` and `make test`.
# Everything wraps CMake + Ninja; missing Debian packages are installed on first use.

BUILD_TYPE ?= RelWithDebInfo
BUILD_DIR  ?= build
JOBS       ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build test dev bench asan tsan fuzz clean format

all: build

deps:
	@tools/setup/install-deps.sh

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

dev: build
	$(BUILD_DIR)/tools/convexlite/convexlite dev $(ARGS)

bench: build
	tools/bench/run.sh $(BUILD_DIR)

asan:
	$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_FLAGS="-DCVX_SANITIZE=asan -DCVX_BUILD_BENCH=OFF"

tsan:
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
	$(MAKE) test BUILD_DIR=build-tsan BUILD_TYPE=Debug CMAKE_FLAGS="-DCVX_SANITIZE=tsan -DCVX_BUILD_BENCH=OFF"

# libFuzzer on every target in tests/fuzz for FUZZ_SECONDS each (clang; not part of CI).
FUZZ_SECONDS ?= 60
fuzz:
	@tools/setup/install-deps.sh --fuzz
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DCVX_SANITIZE=fuzz -DCVX_BUILD_BENCH=OFF -DCVX_BUILD_EXAMPLES=OFF
	cmake --build build-fuzz -j $(JOBS) --target cvx_fuzzers
	tools/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-tsan build-fuzz
