# The README's two commands: `make demo` and `make check`. Everything else
# here serves them. CMake does the building; this file only sequences it.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_DATA  ?= var/demo
FUZZ_SECONDS ?= 20
PYTEST     ?= /usr/bin/python3 -m pytest

.PHONY: all deps build demo check unit asan integration fuzz fuzz-build bench clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Builds and runs a node in the foreground with demo data.
demo: build
	./$(BUILD)/ciipd --demo --data $(DEMO_DATA)

# Builds and runs every test: unit tests, the same under ASan+UBSan,
# integration tests against the real daemon, and a short fuzzing run.
check: build unit asan integration fuzz
	@echo "make check: all suites passed"

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
		-DCIIP_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

integration: build
	CIIPD=$(CURDIR)/$(BUILD)/ciipd CIIP=$(CURDIR)/$(BUILD)/ciip \
		$(PYTEST) -q -p no:cacheprovider tests/integration

fuzz-build: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
		-DCIIP_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Each fuzz target runs for FUZZ_SECONDS from its seed corpus; a crash fails.
fuzz: fuzz-build
	@./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	@echo "benchmarks: see docs/BENCHMARKS.md for each command"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
