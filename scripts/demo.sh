#!/usr/bin/env bash
# `make demo`: generate the demo data set (once), ingest it into ./touchpoint-data, create keys,
# print what to try, and serve on 127.0.0.1:8080 until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
exec build/release/bin/touchpoint demo --data "${TOUCHPOINT_DATA:-./touchpoint-data}" \
  --listen "${TOUCHPOINT_LISTEN:-127.0.0.1:8080}" "$@"
