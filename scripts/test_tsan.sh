#!/usr/bin/env bash
# Builds the concurrent parts — the engine's write path and post-commit hook, the service desk's
# feed and timers, the outbox's delivery workers, the HTTP server, the job runner — with
# ThreadSanitizer and runs their tests. `make test-tsan`; TSAN_FILTER narrows the cases.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset tsan >/dev/null
wanted=(tp_core_test tp_http_test tp_pipeline_test tp_service_test tp_outbox_test tp_insight_test tp_server_test)
available=$(ninja -C build/tsan -t targets all 2>/dev/null | cut -d: -f1)
targets=()
for t in "${wanted[@]}"; do
  if grep -qx "$t" <<<"$available"; then targets+=("$t"); fi
done
cmake --build --preset tsan -j "${JOBS:-2}" --target "${targets[@]}"
scripts/pgtest.sh start build/tsan/pgtest
trap 'scripts/pgtest.sh stop build/tsan/pgtest' EXIT
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
failed=0
for t in "${targets[@]}"; do
  bin=$(find build/tsan/tests -type f -name "$t" | head -n 1)
  echo "tsan: $t"
  if ! "$bin" --gtest_brief=1 --gtest_filter="${TSAN_FILTER:-*}"; then failed=1; fi
done
if [[ $failed -ne 0 ]]; then echo "tsan: FAILED"; exit 1; fi
echo "tsan: all ThreadSanitizer tests passed"
