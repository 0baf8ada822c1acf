#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, RSLICER_FUZZ=ON: clang, ASan + UBSan,
# torch-free) in build-fuzz/ and runs each for a bounded time, one after the
# other. Not part of CI's default run (docs/fuzzing.md).
#
#   bash scripts/fuzz.sh                    # every target, 60 s each
#   bash scripts/fuzz.sh 600 csv otlp       # these targets, 10 minutes each
#
# Targets: csv log_line otlp aiops22 nezha tokenizer_json model_files.
# Seeds come from fuzz/make_seeds.py (and fuzz/otlp_seed_tool); the corpus
# grows in build-fuzz/corpus/<target>/ across runs. A finding (crash,
# sanitizer report, uncaught non-project exception, timeout, out-of-memory)
# stops its target and lands in build-fuzz/findings/<target>/; reproduce it
# with build-fuzz/fuzz/<target>_fuzz FILE, fix it, and keep the file in
# tests/fuzz_regressions/<target>/ (test_fuzz replays them). Prints one line a
# target: executions, coverage (libFuzzer's cov/ft), findings; exits 1 when
# any target has a finding.
# Everything runs under nice with at most FUZZ_JOBS (2) build jobs, so that
# other work on the machine keeps priority.
set -euo pipefail
cd "$(dirname "$0")/.."
all_targets=(csv log_line otlp aiops22 nezha wide tokenizer_json model_files)
seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 1; }
shift || true
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "unknown target '$t' (known: ${all_targets[*]})" >&2; exit 1; }
done

# libFuzzer ships with clang's runtime libraries (Debian: libclang-rt-14-dev);
# the other build dependencies are scripts/setup.sh's.
if ! command -v clang++ >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "==> installing clang and libFuzzer (clang libclang-rt-14-dev)"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq clang libclang-rt-14-dev
fi

build=build-fuzz
jobs=${FUZZ_JOBS:-2}
echo "==> configuring and building ${build}/ (clang, libFuzzer + ASan + UBSan, ${jobs} jobs)"
# -O1 with assertions kept: assert() guards the readers' internal invariants.
nice -n 19 cmake -S . -B "$build" -DRSLICER_WITH_TORCH=OFF -DRSLICER_FUZZ=ON -DRSLICER_BUILD_TESTS=OFF \
  -DRSLICER_BUILD_BENCH=OFF -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" >/dev/null
nice -n 19 cmake --build "$build" -j "$jobs" --target "${targets[@]/%/_fuzz}" otlp_seed_tool

rm -rf "$build/seeds"
python3 fuzz/make_seeds.py "$build/seeds" ../shared/data
mkdir -p "$build/seeds/otlp"
"$build/fuzz/otlp_seed_tool" "$build/seeds/otlp" "$build"/seeds/otlp/* >/dev/null

summary=()
found=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  log="$build/logs/$t.log"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  echo "==> fuzzing $t for ${seconds} s (log: $log)"
  # -timeout: an input taking 10 s is a hang; -rss_limit_mb also caps single
  # allocations (malloc_limit_mb defaults to it), so a tiny input asking for
  # gigabytes is a finding rather than a slow success.
  start=$SECONDS
  set +e
  nice -n 19 "$build/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$build/seeds/$t" >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$((SECONDS - start))  # less than asked when a finding stopped the target
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  n=$(find "$findings" -type f | wc -l)
  ((rc == 0 && n == 0)) || found=1
  line=$(printf '%-15s %6ss  execs %-10s cov %-6s ft %-7s corpus %-5s findings %s' "$t" "$elapsed" "${execs:-?}" \
    "${cov:-?}" "${ft:-?}" "$(find "$corpus" -type f | wc -l)" "$n")
  ((rc == 0)) || line+="  (exit $rc: see $log)"
  summary+=("$line")
  echo "$line"
done
echo "==> summary"
printf '%s\n' "${summary[@]}"
exit "$found"
