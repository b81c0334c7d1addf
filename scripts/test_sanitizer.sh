#!/usr/bin/env bash
# Builds the concurrent and byte-parsing parts with a sanitizer and runs their tests; the
# PostgreSQL adapter's cases (in tp_store_test) run against a throwaway server, as in ctest.
# Usage: scripts/test_sanitizer.sh asan|tsan (scripts/test_asan.sh and test_tsan.sh call it).
#   asan — AddressSanitizer + UBSan over core, http, identity, ingest, store (PostgreSQL's
#          adapter included), profile, pipeline, privacy, service, insight (its job runner),
#          server, calendar, outbox. Part of `make test`. ASAN_FILTER narrows the cases.
#   tsan — ThreadSanitizer over the engine's write path and post-commit hook, the service desk's
#          feed and timers, the outbox's delivery workers, the HTTP server, the job runner.
#          `make test-tsan`. TSAN_FILTER narrows the cases.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
case "$kind" in
  asan)
    wanted=(tp_core_test tp_http_test tp_identity_test tp_ingest_test tp_store_test tp_profile_test tp_pipeline_test
            tp_privacy_test tp_service_test tp_insight_test tp_server_test tp_calendar_test tp_outbox_test)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    filter=${ASAN_FILTER:-*}
    passed="all sanitizer tests passed" ;;
  tsan)
    wanted=(tp_core_test tp_http_test tp_pipeline_test tp_service_test tp_outbox_test tp_insight_test tp_server_test)
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp  # scripts/tsan.supp says why
    filter=${TSAN_FILTER:-*}
    passed="all ThreadSanitizer tests passed" ;;
  *) echo "usage: $0 asan|tsan" >&2; exit 2 ;;
esac
cmake --preset "$kind" >/dev/null
available=$(ninja -C "build/$kind" -t targets all 2>/dev/null | cut -d: -f1)
targets=()
for t in "${wanted[@]}"; do
  if grep -qx "$t" <<<"$available"; then targets+=("$t"); fi
done
cmake --build --preset "$kind" -j "${JOBS:-2}" --target "${targets[@]}"
scripts/pgtest.sh start "build/$kind/pgtest"
trap 'scripts/pgtest.sh stop "build/$kind/pgtest"' EXIT
# The binaries run JOBS (2) at a time, longest first, each into its own log, printed when it
# fails (ctest runs binaries side by side against the same PostgreSQL server too).
logs="build/$kind/sanitizer-logs"
mkdir -p "$logs"
run_one() {
  local t=$1 bin
  bin=$(find "build/$KIND/tests" -type f -name "$t" | head -n 1)
  if "$bin" --gtest_brief=1 --gtest_filter="$FILTER" >"$LOGS/$t.log" 2>&1; then
    echo "$KIND: $t passed ($(grep -o '[0-9]* tests\? from' "$LOGS/$t.log" | head -n 1 | cut -d' ' -f1) tests)"
  else
    echo "$KIND: $t FAILED — its output:"; cat "$LOGS/$t.log"; return 1
  fi
}
export -f run_one
export KIND=$kind FILTER=$filter LOGS=$logs
order=(tp_server_test tp_store_test tp_insight_test tp_pipeline_test tp_privacy_test)
sorted=()
for t in "${order[@]}"; do if [[ " ${targets[*]} " == *" $t "* ]]; then sorted+=("$t"); fi; done
for t in "${targets[@]}"; do if [[ " ${sorted[*]} " != *" $t "* ]]; then sorted+=("$t"); fi; done
if ! printf '%s\n' "${sorted[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c 'run_one "$1"' _ {}; then
  echo "$kind: FAILED"; exit 1
fi
echo "$kind: $passed"
