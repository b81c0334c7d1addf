#!/usr/bin/env bash
# Builds the concurrent and byte-parsing parts (core, http, identity, ingest, store — PostgreSQL's
# adapter included —, profile, pipeline,
# privacy, insight — its job runner —, server) with AddressSanitizer and
# UBSan and runs their tests. Part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset asan >/dev/null
wanted=(tp_core_test tp_http_test tp_identity_test tp_ingest_test tp_store_test tp_profile_test tp_pipeline_test tp_privacy_test tp_service_test tp_insight_test tp_server_test tp_calendar_test tp_outbox_test)
available=$(ninja -C build/asan -t targets all 2>/dev/null | cut -d: -f1)
targets=()
for t in "${wanted[@]}"; do
  if grep -qx "$t" <<<"$available"; then targets+=("$t"); fi
done
cmake --build --preset asan -j "${JOBS:-2}" --target "${targets[@]}"
# The PostgreSQL adapter's cases (in tp_store_test) run against a throwaway server, as in ctest.
scripts/pgtest.sh start build/asan/pgtest
trap 'scripts/pgtest.sh stop build/asan/pgtest' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
failed=0
for t in "${targets[@]}"; do
  bin=$(find build/asan/tests -type f -name "$t" | head -n 1)
  echo "asan: $t"
  if ! "$bin" --gtest_brief=1 --gtest_filter="${ASAN_FILTER:-*}"; then failed=1; fi
done
if [[ $failed -ne 0 ]]; then echo "asan: FAILED"; exit 1; fi
echo "asan: all sanitizer tests passed"
