#!/usr/bin/env bash
# The GPU check: one command, at most 8 minutes on one GPU, recording to benchmarks/results/gpu.json
#   1. training throughput of the paper's backbone (ConvNeXtV2-Tiny, pretrained=false: no hub needed) at 224 px,
#      bf16 autocast and fp32, channels_last on and off (benchmarks/train_speed.py, batches of 70 + 140);
#   2. a 2-epoch smoke of `torchrun --nproc_per_node 1 -m sbka_lite.train --smoke` on the synthetic benchmark;
#   3. the metrics engine at QuickDraw Ext size on the GPU (wall time, peak GPU memory), beside the CPU figure
#      committed in benchmarks/results/eval_speed.json (benchmarks/eval_speed.py --device cuda --sizes quickdraw).
#
#   bash benchmarks/gpu_check.sh             # on a machine with a CUDA GPU
#   bash benchmarks/gpu_check.sh --dry-run   # the same steps at tiny sizes on the CPU, to check the script
#                                            # (writes outputs/gpu_check/gpu_dry_run.json, not gpu.json)
#
# Everything it writes stays in the repository: caches, temporary files and logs go to outputs/gpu_check/.
# Each step has a time limit (all of them together: 8 minutes); a step that fails or runs out of time is
# recorded as such and the others still run. Exit status 0 only when every step succeeded.
# PYTHON=/path/to/python picks the interpreter (default: .venv/bin/python, else python3).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
DRY=0
case "${1:-}" in
  --dry-run) DRY=1 ;;
  "") ;;
  *) echo "usage: bash benchmarks/gpu_check.sh [--dry-run]" >&2; exit 2 ;;
esac
PY=${PYTHON:-$REPO/.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)

WORK=$REPO/outputs/gpu_check
PARTS=$WORK/parts
rm -rf "$PARTS" "$WORK/torchrun-smoke"
mkdir -p "$PARTS" "$WORK/tmp" "$WORK/logs"
# keep every cache and temporary file inside the repository
export TMPDIR=$WORK/tmp XDG_CACHE_HOME=$WORK/cache TORCH_HOME=$WORK/cache/torch \
       HF_HOME=$WORK/cache/hf HF_HUB_OFFLINE=1 MPLCONFIGDIR=$WORK/cache/mpl NUMBA_CACHE_DIR=$WORK/cache/numba \
       CUDA_CACHE_PATH=$WORK/cache/nv TRITON_CACHE_DIR=$WORK/cache/triton \
       TORCHINDUCTOR_CACHE_DIR=$WORK/cache/inductor PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1

fail() { echo "gpu_check: $*" >&2; exit 1; }

if [ "$DRY" = 1 ]; then
  DEVICE=cpu
  OUT=$WORK/gpu_dry_run.json
  DATA=$("$PY" -c "from sbka_lite.data.presets import synthetic_benchmark as b; from sbka_lite.paths import synthetic_root as r; b(True, progress=False); print(r(True))") \
    || fail "could not generate the smoke benchmark for the dry run"
  SPEED=(--set "data_root=$DATA" --set image_size=32 --set sketches_per_batch=2 --set photos_per_batch=2
         --batches 1 --rounds 1 --steps 1 --threads 2)
  SMOKE=(--set "data_root=$DATA" --set device=cpu)
  EVAL=(--device cpu --sizes quickdraw --quick)
  BUDGET=900  # the CPU is slow; the limits below are the GPU's
else
  DEVICE=cuda
  OUT=${GPU_JSON:-$REPO/benchmarks/results/gpu.json}
  command -v nvidia-smi >/dev/null || fail "no nvidia-smi on PATH: this check needs a machine with an NVIDIA GPU (try --dry-run)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$PARTS/nvidia-smi.txt" \
    || fail "nvidia-smi found no usable GPU"
  "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || fail "torch.cuda.is_available() is False in $PY (a CPU-only torch build?)"
  SPEED=(--batches 3 --rounds 3 --steps 2)
  SMOKE=(--set device=cuda)
  EVAL=(--device cuda --sizes quickdraw)
  BUDGET=480
fi
echo "gpu_check: device $DEVICE, python $PY, results -> $OUT"
STARTED=$(date +%s)

# run NAME LIMIT_S CMD...: one step under its own limit and what is left of the budget; never aborts the check
run() {
  local name=$1 limit=$2; shift 2
  local left=$((BUDGET - ($(date +%s) - STARTED)))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -le 5 ]; then
    printf '%s\t%s\t%s\n' "$name" 124 0 >> "$PARTS/steps.tsv"
    echo "gpu_check: $name skipped: the time budget is spent" >&2
    return
  fi
  echo "gpu_check: $name (limit ${limit}s) ..."
  local tick rc
  tick=$(date +%s%N)
  timeout --kill-after=10 "$limit" "$@" > "$WORK/logs/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(( ($(date +%s%N) - tick) / 1000000 ))" >> "$PARTS/steps.tsv"
  [ "$rc" = 0 ] || echo "gpu_check: $name failed (exit $rc); see outputs/gpu_check/logs/$name.log" >&2
}

PAPER=(--set backbone=convnextv2_tiny.fcmae_ft_in1k --set pretraining=imagenet --set pretrained=false --set image_size=224
       --set sketches_per_batch=70 --set photos_per_batch=140)
[ "$DRY" = 1 ] && PAPER=(--set backbone=convnextv2_tiny.fcmae_ft_in1k --set pretraining=imagenet --set pretrained=false)
# the demo benchmark the training steps read (generated once, reused afterwards)
[ "$DRY" = 1 ] || run benchmark 90 "$PY" -c "from sbka_lite.train import TrainConfig, open_training_benchmark; open_training_benchmark(TrainConfig(), progress=False)"
run train_speed 200 "$PY" benchmarks/train_speed.py --device "$DEVICE" "${PAPER[@]}" "${SPEED[@]}" \
    --precision amp fp32 --layout channels_last contiguous --out "$PARTS/train_speed.json"
run torchrun_smoke 90 "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 -m sbka_lite.train --smoke \
    --evaluate --no-progress --set "run_dir=$WORK/torchrun-smoke" "${SMOKE[@]}"
run eval_quickdraw 120 "$PY" benchmarks/eval_speed.py "${EVAL[@]}" --out "$PARTS/eval_speed.json"

"$PY" - "$PARTS" "$WORK" "$OUT" "$DRY" <<'PYEOF'
"""Merge the steps' outputs into one JSON (benchmarks/results/gpu.json)."""
import json
import re
import sys
import time
from pathlib import Path

from sbka_lite.paths import repo_root, write_json_atomic

parts, work, out, dry = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "1"
root = repo_root()


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def last_json_object(text):
    """The JSON summary sbka_lite.train prints last (rank 0): the last object opened at a line start."""
    for match in reversed(list(re.finditer(r"(?m)^\{", text))):
        try:
            return json.loads(text[match.start():])
        except ValueError:
            continue
    return None


steps = {}
for line in (parts / "steps.tsv").read_text().splitlines():
    name, rc, seconds = line.split("\t")
    steps[name] = {"ok": rc == "0", "exit": int(rc), "seconds": round(int(seconds) / 1000, 1),
                   "log": str((work / "logs" / f"{name}.log").relative_to(root))}
speed = read_json(parts / "train_speed.json") or {}
def label(variant):
    """e.g. "bf16, channels_last"; "fp32 (asked amp)" where the device has no autocast (the CPU)."""
    asked, got = variant.get("precision_requested", variant["precision"]), variant["precision"]
    precision = got if (asked == "fp32") == (got == "fp32") else f"{got} (asked {asked})"
    return f"{precision}, {'channels_last' if variant['channels_last'] else 'contiguous'}"


throughput = {label(v):
              {arm: {"images_per_s": round(f["images_per_s"], 1), "peak_gpu_memory_mib": f["peak_gpu_memory_mib"]}
               for arm, f in v["arms"].items()} for v in speed.get("variants", [])}
smoke_log = work / "logs" / "torchrun_smoke.log"
cpu = read_json(root / "benchmarks" / "results" / "eval_speed.json") or {}
cpu_quickdraw = next((s["ours"] for s in cpu.get("sizes", []) if s.get("name") == "quickdraw_ext"), None)
nvidia = parts / "nvidia-smi.txt"
report = {
    "what": "GPU check: training throughput of the paper's backbone, a torchrun smoke, the metrics engine on the GPU",
    "dry_run": dry,
    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    "gpu": nvidia.read_text().strip() if nvidia.is_file() else None,
    "steps": steps,
    "train_throughput": {"device": speed.get("device"), "backbone": speed.get("backbone"),
                         "pretrained": speed.get("pretrained"), "image_size": speed.get("image_size"),
                         "batch": speed.get("batch"), "tf32": speed.get("tf32"), "torch": speed.get("torch"),
                         "cuda": speed.get("cuda"), "images_per_s": throughput, "full": speed or None},
    "torchrun_smoke": {"ok": steps.get("torchrun_smoke", {}).get("ok", False),
                       "seconds": steps.get("torchrun_smoke", {}).get("seconds"),
                       "summary": last_json_object(smoke_log.read_text()) if smoke_log.is_file() else None},
    "metrics_engine_quickdraw": {
        "gpu": read_json(parts / "eval_speed.json"),
        "cpu": {"source": "benchmarks/results/eval_speed.json (the project's 2-core CPU machine)",
                "seconds": cpu_quickdraw and cpu_quickdraw.get("seconds"),
                "peak_rss_mb": cpu_quickdraw and cpu_quickdraw.get("peak_rss_mb")},
    },
}
write_json_atomic(out, report)
failed = [name for name, step in steps.items() if not step["ok"]]
print(f"gpu_check: wrote {out}" + (f"; failed: {', '.join(failed)}" if failed else "; every step passed"))
for label, arms in throughput.items():
    print(f"  {label:>26}: " + ", ".join(f"{arm} {f['images_per_s']} img/s" for arm, f in arms.items()))
sys.exit(1 if failed else 0)
PYEOF
