#!/usr/bin/env bash
# The product's budget targets, measured as a user runs them (issue 11):
#   training (`rslicer train`, the whole command: reading, training, heads) under 10 minutes on 2 cores,
#   embedding (`rslicer embed`) at 500 slices/s or more, the model folder under 50 MB.
# Baseline, measured in the same run: reading and featurising the same data (what `rslicer embed` reports
# before the encoder runs), so the ratios say what the learned parts cost on top of the reader.
#
#   bash bench/product_bench.sh [DATA_DIR] [-- extra train flags, e.g. --config examples/simulator-mix.json]
#
# Writes its model and embeddings under build/bench/product/ and prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/trainticket/nezha}
[ -d "$data" ] || data=data/trainticket-sample
shift || true
[ "${1:-}" = "--" ] && shift
R=./build/bin/rslicer
out=build/bench/product
rm -rf "$out" && mkdir -p "$out"
now() { date +%s.%N; }

echo "data: $data; train flags: ${*:-(defaults)}; $(nproc) cores"
t0=$(now)
$R train --data "$data" --out "$out/model" "$@" 2>"$out/train.log" | tee "$out/train.out"
t1=$(now)
$R embed --model "$out/model" --data "$data" --out "$out/embeddings.csv" 2>"$out/embed.log"
embed_line=$(grep -E "slices embedded in" "$out/embed.log" | tail -1)
echo "$embed_line"
model_bytes=$(du -sb "$out/model" | cut -f1)
# the folder includes the resume checkpoint that train leaves; the table shows its share
ckpt_bytes=$( [ -d "$out/model/checkpoint" ] && du -sb "$out/model/checkpoint" | cut -f1 || echo 0)

/usr/bin/env python3 - "$t0" "$t1" "$model_bytes" "$ckpt_bytes" "$embed_line" "$out/train.log" <<'EOF'
import re, sys
t0, t1, model_b, ckpt_b, line, train_log = sys.argv[1:7]
train_s = float(t1) - float(t0)
m = re.search(r"(\d+) slices embedded in ([\d.]+) s \((\d+) slices/s; reading and featurising took ([\d.]+) s\)", line)
if not m:
    sys.exit("could not read rslicer embed's summary line: " + line)
n, embed_s, rate, read_s = int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))
cuts = [l.strip() for l in open(train_log) if "time budget" in l]
mb, ck = int(model_b) / 1e6, int(ckpt_b) / 1e6
print()
print("| measure | value | target | value / target | baseline (same run) | value / baseline |")
print("|---|---|---|---|---|---|")
print(f"| train, whole command | {train_s:.0f} s | 600 s | {train_s / 600:.2f} | reading + featurising {read_s:.1f} s | {train_s / read_s:.1f} |")
print(f"| embed, encoder only | {rate:.0f} slices/s ({n} slices in {embed_s:.2f} s) | 500 slices/s | {rate / 500:.2f} | "
      f"reading + featurising {n / read_s:.0f} slices/s | {rate / (n / read_s):.2f} |")
print(f"| model folder | {mb:.2f} MB (checkpoint {ck:.2f} MB of it) | 50 MB | {mb / 50:.2f} | | |")
print()
print("budget:", "; ".join(cuts) if cuts else "not reached (stopped by patience or max_epochs)")
EOF
