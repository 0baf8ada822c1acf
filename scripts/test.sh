#!/usr/bin/env bash
# Installs and builds what is missing, then runs the whole test suite with
# CTest. Prints CTest's closing line ("100% tests passed, 0 tests failed out of N").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-demo
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
