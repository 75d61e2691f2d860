#!/usr/bin/env bash
# Regenerate the committed reference benchmark results (bench/results/reference-*).
# Each command is resumable: an interrupted run continues where it stopped.
# The committed runs are bounded subsets so that they finish in about half an hour on
# 2 CPU cores: 40 Br35H test images, 8 slices per CT/MR test volume, pydicom-data
# frames centre-cropped to 512x512.  Drop --limit/--max-frames/--crop for the full sets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/fetch_data.sh br35h pydicom-data pyradiomics
mcz --quiet bench br35h:test --limit 40 -j 1 --out bench/results/reference-br35h-8bit
mcz --quiet bench ctmr:test --max-frames 8 -j 1 --out bench/results/reference-ctmr-12bit
mcz --quiet bench pydicom-data --crop 512 -j 1 --out bench/results/reference-pydicom-data
