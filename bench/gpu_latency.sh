#!/usr/bin/env bash
# SWIN-T/S/B int8 latency on a GPU: SwinScope's CUDA plans (random weights, PTQ on random
# calibration data), batch 1/8/32/64/128, median of 100 runs after 10 warm-up (each run: pinned
# H2D copy + one graph replay + D2H + sync), interleaved per batch size:
#   cublaslt:  int8-gelu, int8-relu with --gemm cublaslt (cuBLASLt + the separate ops, three-stage attention)
#   fast:      int8-gelu, int8-relu with --gemm own --fused-attention (every block GEMM on gemm_s8)
#   tuned:     int8-gelu, int8-relu with --gemm tune --fused-attention (per shape the faster, timed at plan build)
#   fused:     int8-gelu-fused with --gemm own --fused-attention
#   ivit:      int8-ivit of the GELU and of the GELU-less model (integer-only; plain kernels, cuBLASLt GEMMs)
# and in the same run PyTorch FP16 eager (all sizes) and torch.compile (SWIN-T batch 128, the
# goal row). Every JSON line carries "arch" and "config".
# Usage: bench/gpu_latency.sh CLI OUTFILE [--quick]     (scripts/gpu-check calls it)
set -euo pipefail
cli=$1
out=$2
quick=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
archs=(swin_tiny swin_small swin_base)
batches=(1 8 32 64 128)
if [[ $quick == --quick ]]; then archs=(swin_tiny); batches=(1 128); fi
for arch in "${archs[@]}"; do
  for act in gelu relu; do
    "$cli" init --arch "$arch" --activation "$act" --num-classes 1000 --seed 0 --out "$work/$arch.$act.safetensors" >/dev/null
    "$cli" quantize --model "$work/$arch.$act.safetensors" --calib random --images 8 --out "$work/$arch.$act.int8.safetensors" >/dev/null
  done
  for b in "${batches[@]}"; do
    # The variants interleaved, so drift on the GPU hits them alike.
    for cfg in "gelu cublaslt" "relu cublaslt" "gelu fast" "relu fast" "gelu tuned" "relu tuned" "gelu fused" "gelu ivit" "relu ivit"; do
      read -r act kind <<<"$cfg"
      case $kind in
        cublaslt) flags=(--gemm cublaslt) ;;
        fast) flags=(--gemm own --fused-attention) ;;
        tuned) flags=(--gemm tune --fused-attention) ;;
        fused) flags=(--gemm own --fused-attention --variant int8-gelu-fused) ;;
        ivit) flags=(--variant int8-ivit) ;;
      esac
      "$cli" bench --backend cuda --model "$work/$arch.$act.int8.safetensors" --batch "$b" --runs 100 --warmup 10 --json \
        "${flags[@]}" | python3 -c "import json,sys; j=json.load(sys.stdin); j['arch']='$arch'; j['config']='$kind'; print(json.dumps(j))" >>"$out" ||
        echo "{\"arch\": \"$arch\", \"batch\": $b, \"config\": \"$act $kind\", \"error\": \"bench failed\"}" >>"$out"
    done
  done
done
py=bench/pytorch_swin_gpu.py
declare -A tv=([swin_tiny]=swin_t [swin_small]=swin_s [swin_base]=swin_b)
for arch in "${archs[@]}"; do
  python3 "$py" --arch "${tv[$arch]}" --batch "${batches[@]}" --modes eager >>"$out"
done
python3 "$py" --arch swin_t --batch 128 --modes compile >>"$out" || echo '{"impl":"pytorch","mode":"fp16-compile","error":"torch.compile failed"}' >>"$out"
