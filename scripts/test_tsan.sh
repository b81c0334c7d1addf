#!/usr/bin/env bash
# ThreadSanitizer on the concurrent parts (scripts/test_sanitizer.sh). `make test-tsan`;
# TSAN_FILTER narrows the cases.
exec "$(dirname "$0")/test_sanitizer.sh" tsan
