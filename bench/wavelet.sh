#!/usr/bin/env bash
# Benchmark the wavelet family against JPEG 2000, AVIF and JPEG-XL in one run per set
# (bench/results/wavelet-*). Resumable: an interrupted run continues where it stopped, and
# re-running after a new checkpoint adds its cells beside the standard codecs' ones.
# Bounded subsets as in bench/reference.sh (about an hour on 2 cores in all).
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/fetch_data.sh br35h pydicom-data pyradiomics
CODECS="${CODECS:-j2k,avif,jxl,mcz:wavelet-ctx}"
mcz --quiet bench pydicom-data --crop 512 -j 1 --codecs "$CODECS" --out bench/results/wavelet-pydicom-data
mcz --quiet bench ctmr:test --max-frames 8 -j 1 --codecs "$CODECS" --out bench/results/wavelet-ctmr-12bit
mcz --quiet bench br35h:test --limit 40 -j 1 --codecs "$CODECS" --out bench/results/wavelet-br35h-8bit
