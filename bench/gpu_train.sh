#!/usr/bin/env bash
# Issue 11: train a learned model for a fixed time on a lent GPU; state and weights land in $OUT.
#
#   device run:  OUT=$OUT MODEL=hyperprior-compact-ctmr BUDGET=9m bash bench/gpu_train.sh
#
# The device image has python3 with torch and lightning but not compressai, imagecodecs or pydicom,
# and it reaches no registry: carry wheels for what is missing (device README: pip download
# --no-deps --only-binary=:all: into a git-excluded folder, then carry it) and the training data
# (a folder of images, --data; the named sets need ~/.cache/mcz/data). mcz itself runs from the
# checkout (PYTHONPATH), so nothing of it is installed there. A previous run's state, carried in
# as $RESUME, continues (the step count grows across lent machines). Untested on a device so far:
# no GPU was lent while it was written; the CPU path of the same command is tested
# (tests/training/test_train.py, --time-budget).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu-train}
MODEL=${MODEL:-hyperprior-compact-ctmr}
BUDGET=${BUDGET:-9m}
DATA=${DATA:-ctmr}
mkdir -p "$OUT"
if [ -d "${WHEELS:-wheels}" ]; then
    python3 -m pip install --no-index --no-deps --find-links "${WHEELS:-wheels}" "${WHEELS:-wheels}"/*.whl \
        > "$OUT/pip.log" 2>&1 || { echo "wheel install failed: see $OUT/pip.log"; exit 1; }
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
python3 - <<'PY' | tee "$OUT/preflight.txt"
import importlib, torch
print("cuda:", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
for name in ("lightning", "compressai", "safetensors", "imagecodecs", "pydicom"):
    try:
        importlib.import_module(name); print(name, "ok")
    except ImportError as exc:
        print(name, "MISSING:", exc)
PY
RUN="$OUT/run"
if [ -n "${RESUME:-}" ] && [ -d "$RESUME" ]; then cp -r "$RESUME" "$RUN"; fi
python3 -m mcz.cli.main train --model "$MODEL" --data "$DATA" --out "$RUN" --export "$OUT/checkpoints" \
    --accelerator gpu --devices 1 --threads 8 --batch-size 32 --patch 256 --max-steps 1000000 \
    --time-budget "$BUDGET" --val-every 2000 --save-every 1000 2>&1 | tee "$OUT/train.log"
python3 -c "import json; s = json.load(open('$RUN/state.json')); print('step', s['step'], 'seconds', s['seconds_total'])" \
    | tee "$OUT/summary.txt"
