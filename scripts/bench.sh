#!/usr/bin/env bash
# Builds and runs the benchmarks (never part of CI). Each prints its baseline,
# measured in the same run; docs/performance.md and the module docs hold the
# numbers measured so far.
#
#   bash scripts/bench.sh                 # every benchmark
#   bash scripts/bench.sh bench_ingest    # one: bench_ingest tokenizer_bench qwen3_bench sim_bench embedding_quality
#                                         #      serve_bench
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || bash scripts/setup.sh --no-demo
cmake -S . -B build -DRSLICER_BUILD_BENCH=ON >/dev/null
cmake --build build -j "$(nproc)" --target benchmarks
names=("$@")
((${#names[@]})) || names=(bench_ingest tokenizer_bench sim_bench qwen3_bench embedding_quality serve_bench)
for b in "${names[@]}"; do
  echo "==> build/bench/$b"
  case "$b" in
    bench_ingest)
      data=../shared/data/trainticket
      [ -d "$data" ] || data=data/trainticket-sample
      "./build/bench/$b" "$data" ;;
    serve_bench)
      # a model trained on a fault-free simulated run, replayed against the next day with faults
      d=build/bench/serve_data
      if [ ! -f "$d/model/manifest.json" ]; then
        rm -rf "$d" && mkdir -p "$d"
        ./build/bin/rslicer -q simulate --out "$d/normal" --services 12 --hours 6 --faults 0 --seed 3 --format otlp
        ./build/bin/rslicer -q simulate --out "$d/faulty" --services 12 --hours 6 --faults 4 --seed 3 --format otlp \
          --set start=2024-01-02T00:00:00Z
        ./build/bin/rslicer -q train --data "$d/normal" --out "$d/model" --minutes 2
      fi
      "./build/bench/$b" "$d/model" "$d/faulty"
      "./build/bench/$b" "$d/model" "$d/faulty" --json ;;
    *) "./build/bench/$b" ;;
  esac
done
