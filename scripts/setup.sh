#!/usr/bin/env bash
# Installs the Debian packages Touchpoint builds with, and the web assets (web/: npm ci). Idempotent:
# what is installed is skipped, and apt and npm are not touched when nothing is missing.
# Usage: scripts/setup.sh [--bench]   (--bench adds the tools the benchmark scripts use)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git curl ca-certificates python3
  tzdata
  nlohmann-json3-dev libsimdjson-dev libxxhash-dev libsqlite3-dev sqlite3 zlib1g-dev libzstd-dev libjemalloc-dev
  libboost-dev libcpp-httplib-dev libpq-dev postgresql
  libicu-dev libfriso-dev friso-dict libopencc-dev opencc python3-jieba
  libfasttext-dev liblinear-dev libxgboost-dev libeigen3-dev
  libsodium-dev libssl-dev libcurl4-openssl-dev libzip-dev unzip libgmime-3.0-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk bc time python3-sklearn python3-scipy python3-numpy hyperfine)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm (the front-end assets under web/: ECharts for the HTML reports): Debian's, unless
# a node with npm is already on the PATH (e.g. from NodeSource, whose nodejs conflicts with Debian's npm).
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} Debian packages are installed"
else
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# web/node_modules from web/package-lock.json (npm's registry), again only when the lock changed.
web="$(dirname "$0")/../web"
stamp="$web/node_modules/.touchpoint-lock"
if ! cmp -s "$web/package-lock.json" "$stamp" 2>/dev/null; then
  echo "setup: installing the web assets (npm ci in web/)"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$web/package-lock.json" "$stamp"
fi
echo "setup: done"
