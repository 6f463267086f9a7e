#!/usr/bin/env bash
# FP32 SWIN-T 224 on the CPU: SwinScope vs PyTorch eager (torchvision swin_t), side by side
# in one run. Each round runs both, alternating which goes first, so load from others on
# this shared machine hits both alike; the ratio is taken from the medians over all rounds.
#   bench/cpu_fp32.sh [BATCH=8] [THREADS=2] [ROUNDS=3]
# Needs: a release build (scripts/run or cmake --preset release && cmake --build --preset release)
# and `scripts/bootstrap --dev` (python3-torchvision, OpenBLAS).
set -euo pipefail
cd "$(dirname "$0")/.."
batch=${1:-8}
threads=${2:-2}
rounds=${3:-3}
cli=${SWINSCOPE_CLI:-build/release/distill_cli/swinscope-cli}
[[ -x $cli ]] || { echo "no $cli: build the release preset first" >&2; exit 2; }
out=$(mktemp -d)
for r in $(seq 1 "$rounds"); do
  if (( r % 2 )); then order="ours torch"; else order="torch ours"; fi
  for who in $order; do
    if [[ $who == ours ]]; then
      OMP_NUM_THREADS=$threads "$cli" bench --arch swin_tiny --batch "$batch" --threads "$threads" --runs 5 --warmup 2 --json \
        --backend cpu >>"$out/ours.jsonl"
    else
      /usr/bin/python3 bench/pytorch_swin.py --batch "$batch" --threads "$threads" --runs 5 --warmup 2 >>"$out/torch.jsonl"
    fi
  done
done
/usr/bin/python3 - "$out" "$batch" "$threads" <<'PY'
import json, statistics, sys
d, batch, threads = sys.argv[1], sys.argv[2], sys.argv[3]
def load(name):
    rows = [json.loads(l) for l in open(f"{d}/{name}.jsonl") if l.strip()]
    runs = [ms for r in rows for ms in r["runs_ms"]]
    return rows, statistics.median(runs), runs
ours_rows, ours, ours_runs = load("ours")
torch_rows, torch_med, torch_runs = load("torch")
print(f"SWIN-T 224, batch {batch}, {threads} threads, FP32 CPU ({ours_rows[0]['device']})")
print(f"  swinscope: median {ours:8.1f} ms  {1000*int(batch)/ours:6.2f} img/s  (runs {len(ours_runs)}, "
      f"peak RSS {max(r['peak_rss_mib'] for r in ours_rows):.0f} MiB)")
print(f"  pytorch  : median {torch_med:8.1f} ms  {1000*int(batch)/torch_med:6.2f} img/s  (runs {len(torch_runs)}, "
      f"torch {torch_rows[0]['torch']}, BLAS {torch_rows[0].get('blas_library', torch_rows[0].get('blas'))})")
print(f"  throughput ratio swinscope/pytorch: {torch_med/ours:.2f}x")
PY
rm -rf "$out"
