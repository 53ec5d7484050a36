# Thin wrapper over scripts/setup, CMake and CTest.
#   make demo   install what is missing, build, train + evaluate the date translator, plot
#   make test   install what is missing, build, run the whole test suite (TEST_JOBS at once)
#   make fuzz   libFuzzer over every reader of outside bytes (clang, ASan + UBSan)
#   make sanitize  the unit and CLI error tests built with ASan + UBSan (build-sanitize/)
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all setup build test demo bench fuzz sanitize clean format

all: build

setup:
	@scripts/setup

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# One thread per test (ATen and OpenBLAS alike: OMP_NUM_THREADS) and one test
# per core; two-thread tests side by side would fight over the cores.
TEST_JOBS ?= $(JOBS)
test: build
	cd $(BUILD) && OMP_NUM_THREADS=1 ctest --output-on-failure --timeout 900 -j $(TEST_JOBS)

demo: build
	@scripts/demo $(BUILD)

bench: build
	@scripts/bench $(BUILD)

# FUZZ_SECONDS per target (default 60); build-fuzz/ holds the clang build
fuzz: setup
	@scripts/fuzz

# build-sanitize/ holds the gcc ASan + UBSan build; extra ctest arguments: scripts/sanitize -R PATTERN
sanitize: setup
	@scripts/sanitize

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)
