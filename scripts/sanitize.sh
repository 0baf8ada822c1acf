#!/usr/bin/env bash
# Builds the torch-free modules and their tests with AddressSanitizer +
# UndefinedBehaviorSanitizer (gcc, build-asan/) and runs them with CTest; any
# sanitizer report fails its test. .ci/run runs it after the main suite
# (docs/fuzzing.md: what it covers, how long it takes).
#
#   bash scripts/sanitize.sh                 # build + every torch-free test
#   bash scripts/sanitize.sh -L unit         # extra arguments go to ctest
#
# SANITIZE_JOBS sets the build and test parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan
jobs=${SANITIZE_JOBS:-$(nproc)}
# -O1: ASan's usual trade-off (readable stacks, tolerable speed); assertions
# stay on. -fno-sanitize-recover: a UBSan report aborts the test instead of
# printing a line nobody reads.
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
echo "==> configuring and building ${build}/ (ASan + UBSan, torch-free, ${jobs} jobs)"
cmake -S . -B "$build" -DRSLICER_WITH_TORCH=OFF -DRSLICER_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" "-DCMAKE_CXX_FLAGS=${flags}" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" >/dev/null
cmake --build "$build" -j "$jobs"

# detect_leaks: a leak is a finding too. halt_on_error/abort: the first
# report fails the test with a stack trace in CTest's output.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j "$jobs" "$@"
