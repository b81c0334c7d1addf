#!/usr/bin/env bash
# AddressSanitizer + UBSan on the concurrent and byte-parsing parts (scripts/test_sanitizer.sh).
# Part of `make test`; ASAN_FILTER narrows the cases.
exec "$(dirname "$0")/test_sanitizer.sh" asan
