# The two commands of the README:
#   make demo   set up, build a release binary, generate demo data, ingest it, serve on :8080
#   make test   set up, build the dev preset, run the whole test suite, then the concurrent and
#               byte-parsing parts' tests under AddressSanitizer + UBSan
# Everything else is a convenience around CMake presets (see CONTRIBUTING.md).

.PHONY: setup demo test test-asan test-tsan build release bench clean

JOBS ?= 2

setup:
	@scripts/setup.sh

build: setup
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

release: setup
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target touchpoint

demo: release
	scripts/demo.sh

test: setup
	python3 tools/check_layering_test.py && python3 tools/check_layering.py
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)
	ctest --preset dev
	scripts/test_asan.sh

test-asan: setup
	scripts/test_asan.sh

test-tsan: setup
	scripts/test_tsan.sh

bench: setup
	scripts/setup.sh --bench
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	@echo "benchmarks built under build/release/bench; end-to-end scripts under bench/"

clean:
	rm -rf build
