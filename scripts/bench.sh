#!/usr/bin/env bash
# Builds and runs the benchmarks (never part of CI). Each prints its baseline,
# measured in the same run; docs/performance.md and the module docs hold the
# numbers measured so far.
#
#   bash scripts/bench.sh                 # every benchmark
#   bash scripts/bench.sh bench_ingest    # one: bench_ingest tokenizer_bench qwen3_bench sim_bench embedding_quality
#                                         #      train_step_bench serve_bench product
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || bash scripts/setup.sh --no-demo
cmake -S . -B build -DRSLICER_BUILD_BENCH=ON >/dev/null
cmake --build build -j "$(nproc)" --target benchmarks
names=("$@")
((${#names[@]})) || names=(bench_ingest tokenizer_bench sim_bench qwen3_bench embedding_quality train_step_bench serve_bench product)
for b in "${names[@]}"; do
  echo "==> build/bench/$b"
  case "$b" in
    bench_ingest)
      data=../shared/data/trainticket
      [ -d "$data" ] || data=data/trainticket-sample
      "./build/bench/$b" "$data" ;;
    serve_bench)
      # two systems, each a model trained on a fault-free simulated run and replayed against a later run with faults:
      #   sparse: 6 h of a quiet system (25 requests/s, 4 % of traces kept: 13 spans/s of data time), so replaying
      #           it at 100k spans/s runs data time ~7,000 x faster than real and charges each slice's fixed work
      #           (encoder, ranker) that many times over;
      #   dense:  15 min of a busy one (100 requests/s, every trace kept: ~1,300 spans/s of data time).
      local_sim() {  # local_sim DIR HOURS FAULTS [--set ...]
        local d=$1 h=$2 f=$3; shift 3
        if [ ! -f "$d/model/manifest.json" ]; then
          rm -rf "$d" && mkdir -p "$d"
          ./build/bin/rslicer -q simulate --out "$d/normal" --services 12 --hours "$h" --faults 0 --seed 3 --format otlp "$@"
          ./build/bin/rslicer -q simulate --out "$d/faulty" --services 12 --hours "$h" --faults "$f" --seed 3 \
            --format otlp --set start=2024-01-02T00:00:00Z "$@"
          ./build/bin/rslicer -q train --data "$d/normal" --out "$d/model" --minutes 2
        fi
      }
      local_sim build/bench/serve_data 6 4
      local_sim build/bench/serve_dense 0.25 1 --set requests_per_s=100 --set trace_sample_rate=1 \
        --set fault_gap_s=300 --set fault_duration_s=240
      echo "-- sparse, protobuf, as fast as the server answers"
      "./build/bench/$b" build/bench/serve_data/model build/bench/serve_data/faulty
      echo "-- sparse, JSON, as fast as the server answers"
      "./build/bench/$b" build/bench/serve_data/model build/bench/serve_data/faulty --json
      echo "-- dense, protobuf, as fast as the server answers"
      "./build/bench/$b" build/bench/serve_dense/model build/bench/serve_dense/faulty
      echo "-- dense, protobuf, paced at 100,000 spans/s"
      "./build/bench/$b" build/bench/serve_dense/model build/bench/serve_dense/faulty --rate 100000 ;;
    product)
      # rslicer train / embed as a user runs them: the whole train command against 10 minutes, embedding against
      # 500 slices/s, the model folder against 50 MB; then the same with the simulator mix (the entity head)
      bash bench/product_bench.sh
      bash bench/product_bench.sh "" -- --config examples/simulator-mix.json ;;
    *) "./build/bench/$b" ;;
  esac
done
