#!/usr/bin/env bash
# int8 SWIN-T 224 on the CPU, the paper's comparison: int8-relu (GELU-less) against
# int8-gelu (the FasterTransformer pipeline), against this project's FP32 plan, and against
# PyTorch FP32 eager (torchvision swin_t), at batch 8 and batch 1, all in one run.
#   bench/cpu_int8.sh [THREADS=2] [ROUNDS=5]
# - Models: `init` SWIN-T with random weights (GELU, and GELU-less: ReLU, no FC1 bias),
#   quantized with `quantize --calib random` (8 N(0,1) images, percentile 99.99, per-tensor).
# - Timing: ROUNDS rounds; each round runs bench/int8_paired.cpp (one process: 2 warm-ups,
#   then 5 iterations at batch 8 / 10 at batch 1 of int8-relu, int8-gelu, fp32 back to back
#   in ABC/CBA order; the speed-ups are medians of the per-iteration ratios, which a
#   neighbour's load barely moves) and PyTorch (1 warm-up + TORCH_RUNS timed runs), the two
#   in alternating order. The PyTorch ratio compares medians of separate runs.
# - Stage times: `profile` (CPU clock spans, 10 recorded runs) per variant.
# - Also: the oneDNN GEMM micro-benchmark (bench/int8_gemm_micro.cpp), model file sizes,
#   and the machine load (uptime) before and after. Each round first waits until no other
#   process has been runnable for 2 s (QUIET_WAIT seconds at most, default 600).
# Needs a release build (cmake --preset release && cmake --build --preset release), g++ and
# the -dev packages of oneDNN and OpenCV (bench/*.cpp are compiled here against that build),
# and /usr/bin/python3 with torchvision (scripts/bootstrap --dev).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
rounds=${2:-5}
torch_runs=${TORCH_RUNS:-2}
cli=${SWINSCOPE_CLI:-build/release/distill_cli/swinscope-cli}
[[ -x $cli ]] || { echo "no $cli: build the release preset first (or set SWINSCOPE_CLI)" >&2; exit 2; }
build=${SWINSCOPE_BUILD:-$(cd "$(dirname "$cli")/.." && pwd)}  # for the engine libraries int8_paired links
[[ -f $build/engine/libswinscope_engine.a ]] || { echo "no $build/engine/libswinscope_engine.a (set SWINSCOPE_BUILD)" >&2; exit 2; }
"$cli" quantize --help >/dev/null 2>&1 || { echo "$cli has no quantize command" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=$threads

# Waits (up to QUIET_WAIT seconds, default 600) until nothing else has been runnable for
# two seconds (/proc/stat procs_running counts the sampling process itself): 2 OpenMP
# threads on 2 shared cores slow down many-fold when another process takes a core.
wait_quiet() {
  local waited=0 calm=0
  while (( calm < 4 && waited < ${QUIET_WAIT:-600} * 2 )); do
    if (( $(awk '/procs_running/ {print $2}' /proc/stat) <= 1 )); then calm=$((calm + 1)); else calm=0; fi
    sleep 0.5
    waited=$((waited + 1))
  done
  (( waited > 4 )) && echo "  (waited $((waited / 2)) s for other work to finish)"
  return 0
}

echo "load before: $(uptime)"
echo "== models (SWIN-T 224, random weights)"
"$cli" init --arch swin_tiny --activation gelu --seed 0 --out "$work/gelu.safetensors" >/dev/null
"$cli" init --arch swin_tiny --activation relu --seed 0 --out "$work/relu.safetensors" >/dev/null
for a in gelu relu; do
  "$cli" quantize --model "$work/$a.safetensors" --calib random --images 8 --batch 8 --threads "$threads" \
    --out "$work/$a.int8.safetensors" 2>/dev/null
done
for f in gelu.safetensors relu.safetensors gelu.int8.safetensors relu.int8.safetensors; do
  printf '  %-24s %10d bytes\n' "$f" "$(stat -c %s "$work/$f")"
done | tee "$work/sizes.txt"

echo "== oneDNN matmul flavours on SWIN-T's GEMM shapes (batch 8, $threads threads)"
wait_quiet
if g++ -O2 -std=c++17 bench/int8_gemm_micro.cpp -ldnnl -o "$work/micro" 2>"$work/micro.log"; then
  "$work/micro" --batch 8 --runs 7
else
  echo "  (skipped: g++ / libdnnl-dev missing: $(head -c 200 "$work/micro.log"))"
fi

echo "== building bench/int8_paired.cpp against $build"
source bench/cuda_libs.sh  # a build with the CUDA backend needs the CUDA runtime too
set_cuda_libs "$build"
g++ -O2 -std=c++20 -I. bench/int8_paired.cpp "$build/engine/libswinscope_engine.a" "$build/profiler/libswinscope_profiler.a" \
  -ldnnl -lopencv_imgcodecs -lopencv_imgproc -lopencv_core -lz -lgomp -lpthread "${cuda_libs[@]}" -o "$work/paired"

for batch in 8 1; do
  iterations=$((batch == 1 ? 10 : 5))
  echo "== end to end, batch $batch: $rounds rounds of ($iterations paired iterations of int8-relu, int8-gelu, fp32) + PyTorch"
  for r in $(seq 0 $((rounds - 1))); do
    wait_quiet
    order=(ours pytorch)
    (( r % 2 )) && order=(pytorch ours)
    for w in "${order[@]}"; do
      if [[ $w == ours ]]; then
        "$work/paired" --batch "$batch" --iterations "$iterations" --warmup 2 "$work/relu.int8.safetensors:int8-relu" \
          "$work/gelu.int8.safetensors:int8-gelu" "$work/gelu.safetensors:fp32" >>"$work/ours.b$batch.jsonl"
      else
        /usr/bin/python3 bench/pytorch_swin.py --batch "$batch" --threads "$threads" --runs "$torch_runs" --warmup 1 \
          >>"$work/pytorch.b$batch.jsonl"
      fi
    done
    printf '  round %d done (%s)\n' "$((r + 1))" "$(uptime | sed 's/.*load/load/')"
  done
  for v in int8-relu int8-gelu fp32; do
    wait_quiet
    case $v in int8-relu) m=relu.int8.safetensors ;; int8-gelu) m=gelu.int8.safetensors ;; fp32) m=gelu.safetensors ;; esac
    "$cli" profile --model "$work/$m" --variant "$v" --batch "$batch" --threads "$threads" --backend cpu --runs 10 --warmup 2 \
      --json >"$work/$v.b$batch.profile.json" 2>/dev/null
  done
done
echo "load after: $(uptime)"

/usr/bin/python3 - "$work" "$threads" <<'PY'
import json, statistics, sys
d, threads = sys.argv[1], sys.argv[2]
def load(name, b):
    return [json.loads(l) for l in open(f"{d}/{name}.b{b}.jsonl") if l.strip()]
print()
for b in (8, 1):
    ours = load("ours", b)
    times, ratios = {}, {}
    for row in ours:
        for p in row["plans"]:
            times.setdefault(p["variant"], []).extend(p["runs_ms"])
            ratios.setdefault(p["variant"], []).extend(p["ratios_to_first"])
    torch_rows = load("pytorch", b)
    times["pytorch"] = [ms for r in torch_rows for ms in r["runs_ms"]]
    med = {w: statistics.median(v) for w, v in times.items()}
    for w in ("int8-relu", "int8-gelu", "fp32", "pytorch"):
        rs = times[w]
        extra = f", torch {torch_rows[0]['torch']}" if w == "pytorch" else ""
        print(f"batch {b}  {w:10s} median {med[w]:9.1f} ms  {1000*b/med[w]:7.2f} img/s  ({len(rs)} runs, "
              f"min {min(rs):.1f}, max {max(rs):.1f}{extra})")
    rg, rf = statistics.median(ratios["int8-gelu"]), statistics.median(ratios["fp32"])
    print(f"batch {b}  int8-relu speed-up, paired (median of {len(ratios['fp32'])} per-iteration ratios): vs int8-gelu "
          f"{rg:.3f}x (goal 1.11), vs SwinScope FP32 {rf:.2f}x (goal 1.6)")
    print(f"batch {b}  int8-relu speed-up vs PyTorch FP32 eager (medians of separate runs, alternating rounds): "
          f"{med['pytorch']/med['int8-relu']:.2f}x (goal 3); by the fastest runs {min(times['pytorch'])/min(times['int8-relu']):.2f}x")
    prof = {v: json.load(open(f"{d}/{v}.b{b}.profile.json")) for v in ("fp32", "int8-gelu", "int8-relu")}
    kinds = []  # the int8-gelu order first: it has every stage
    for v in (prof["int8-gelu"], prof["fp32"], prof["int8-relu"]):
        for k in v["kinds"]:
            if k["kind"] not in kinds:
                kinds.append(k["kind"])
    print(f"\nbatch {b}: per-stage time (median over 10 recorded runs, summed over blocks; ms, share of the forward)")
    print(f"  {'stage':26s} {'fp32':>16s} {'int8-gelu':>16s} {'int8-relu':>16s}")
    for k in kinds:
        cells = []
        for v in ("fp32", "int8-gelu", "int8-relu"):
            e = next((x for x in prof[v]["kinds"] if x["kind"] == k), None)
            cells.append(f"{e['us']['median']/1000:8.2f} {100*e['share']:5.1f}%" if e else f"{'-':>16s}")
        print(f"  {k:26s} " + " ".join(f"{c:>16s}" for c in cells))
    tot = [prof[v]["end_to_end_us_unrecorded"] / 1000 for v in ("fp32", "int8-gelu", "int8-relu")]
    print(f"  {'end to end (unrecorded)':26s} " + " ".join(f"{t:8.2f}{'':8s}" for t in tot))
    print()
sizes = {l.split()[0]: int(l.split()[1]) for l in open(f"{d}/sizes.txt")}
for a in ("gelu", "relu"):
    f, q = sizes[f"{a}.safetensors"], sizes[f"{a}.int8.safetensors"]
    print(f"model file {a}: FP32 {f/2**20:.1f} MiB, int8 {q/2**20:.1f} MiB ({q/f:.3f} of FP32)")
PY
