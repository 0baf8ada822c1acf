#!/usr/bin/env bash
# Builds and runs the benchmarks (never part of CI). Each prints its baseline,
# measured in the same run; docs/performance.md and the module docs hold the
# numbers measured so far.
#
#   bash scripts/bench.sh                 # every benchmark
#   bash scripts/bench.sh bench_ingest    # one: bench_ingest tokenizer_bench qwen3_bench sim_bench embedding_quality
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || bash scripts/setup.sh --no-demo
cmake -S . -B build -DRSLICER_BUILD_BENCH=ON >/dev/null
cmake --build build -j "$(nproc)" --target benchmarks
names=("$@")
((${#names[@]})) || names=(bench_ingest tokenizer_bench sim_bench qwen3_bench embedding_quality)
for b in "${names[@]}"; do
  echo "==> build/bench/$b"
  case "$b" in
    bench_ingest)
      data=../shared/data/trainticket
      [ -d "$data" ] || data=data/trainticket-sample
      "./build/bench/$b" "$data" ;;
    *) "./build/bench/$b" ;;
  esac
done
