#!/usr/bin/env bash
# int8-ivit (integer-only, issue 16) beside int8-gelu and int8-relu on the CPU, per stage, paired:
# the four configurations interleaved for ROUNDS rounds (`swinscope-cli profile --json`, each a
# median over RUNS recorded runs), then the median over rounds per stage.
#   bench/ivit_cpu.sh CLI GELU.int8 RELU.int8 [BATCH=8] [ROUNDS=3] [RUNS=10] [THREADS=1]
# One thread by default: on this shared 2-core machine OpenMP barriers under load swamp the
# small model's stages.
# GELU.int8 / RELU.int8 must hold int8-ivit's ranges (quantize writes them; `quantize --model
# X.int8.safetensors` adds them to an older file).
set -euo pipefail
cli=$1 gelu=$2 relu=$3 batch=${4:-8} rounds=${5:-3} runs=${6:-10} threads=${7:-1}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= rounds; ++r)); do
  for cfg in "$gelu int8-gelu" "$gelu int8-ivit" "$relu int8-relu" "$relu int8-ivit"; do
    read -r m v <<<"$cfg"
    OMP_NUM_THREADS=$threads "$cli" profile --model "$m" --variant "$v" --backend cpu --threads "$threads" --batch "$batch" --runs "$runs" --warmup 2 --json 2>/dev/null |
      python3 -c "import json,sys; j=json.load(sys.stdin); j['cfg']='$(basename "$m") $v'; print(json.dumps(j))" >>"$out"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cfgs = list(dict.fromkeys(r['cfg'] for r in rows))
print('columns: ' + '; '.join('%d = %s' % (i + 1, c) for i, c in enumerate(cfgs)))
def stages(r):
    return {k['kind']: k['us']['median'] for k in r.get('kinds', [])}
names = list(dict.fromkeys(n for r in rows for n in stages(r)))
print('median over rounds of each profile\'s median, microseconds per forward; forward = end to end, recording off')
print('%-26s' % 'stage' + ''.join('%12d' % (i + 1) for i in range(len(cfgs))))
for n in names + ['forward']:
    line = '%-26s' % n
    for c in cfgs:
        vals = [stages(r).get(n) if n != 'forward' else r.get('end_to_end_us_unrecorded') for r in rows if r['cfg'] == c]
        vals = [v for v in vals if v is not None]
        line += '%12s' % ('%.0f' % statistics.median(vals) if vals else '-')
    print(line)
PY
