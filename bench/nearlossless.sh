#!/usr/bin/env bash
# Regenerate the committed lossless / near-lossless tables (bench/results/nearlossless-*):
# bpp at K = 0, 1, 2, 4, 8 for mcz --max-error K, JPEG-LS NEAR=K, quantise+JPEG-XL lossless,
# and JPEG 2000 / JPEG-XL lossless at K = 0, with the measured maximum error of each.
# Bounded subsets (about 5 minutes each on 2 CPU cores): 4 slices per CT/MR test volume,
# at most 2 frames per pydicom-data image centre-cropped to 512x512, 8 Br35H test images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/fetch_data.sh br35h pydicom-data pyradiomics
mcz --quiet bench ctmr:test --max-frames 4 --max-error 0,1,2,4,8 --out bench/results/nearlossless-ctmr-12bit
mcz --quiet bench pydicom-data --crop 512 --max-frames 2 --max-error 0,1,2,4,8 --out bench/results/nearlossless-pydicom-data
mcz --quiet bench br35h:test --limit 8 --max-error 0,1,2,4,8 --out bench/results/nearlossless-br35h-8bit
