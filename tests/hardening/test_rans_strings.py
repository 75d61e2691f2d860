"""Hostile rANS strings never crash the process (CompressAI's decoder reads unchecked).

Each family decodes its hostile strings in a child process, so a segmentation
fault fails the test with the signal instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("compressai")

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import os, sys
import mcz
from mcz.errors import McZError
from tests.hardening import mutate

family = sys.argv[1]
good = mutate.good_file(mutate.FAMILY_MODELS[family])
rng = __import__("random").Random(13)
strings = {"ff-1MiB": b"\\xff" * 2**20, "random-64KiB": rng.randbytes(2**16), "ff-3": b"\\xff\\xff\\xff",
           "zeros-8": bytes(8), "empty": b""}
parts = ("y", "z") if family in ("hyperprior", "hvae") else ("y",)
for part in parts:
    for name, string in strings.items():
        print(part, name, flush=True)
        try:
            mcz.decode(mutate.with_rans_string(good, family, string, part))
        except McZError as exc:
            assert exc.exit_code == 4, (part, name, type(exc).__name__)
        else:
            raise SystemExit(f"{part} {name}: a hostile string decoded without an error")
print("done", flush=True)
"""


@pytest.mark.parametrize("family", ["factorized", "hyperprior", "wavelet", "hvae"])
def test_hostile_rans_strings_give_typed_errors_not_a_crash(family):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _CHILD, family], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    last = proc.stdout.strip().splitlines()[-1:] or ["(nothing)"]
    assert proc.returncode == 0, (
        f"{family}: child exited {proc.returncode} (negative = killed by that signal) after {last[0]!r}\n"
        f"{proc.stderr[-2000:]}"
    )
    assert last == ["done"]


def test_padding_covers_escape_runs_and_symbols():
    from mcz.codec import rans

    out = rans.padded(b"\xff" * 100, 10)
    assert out[:100] == b"\xff" * 100 and not any(out[100:])
    assert len(out) - 100 >= 15 * 100 + 8 * 10


_TINY = """
import numpy as np
import mcz

for shape in [(1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (5, 1, 1), (2, 2)]:
    print(shape, flush=True)
    image = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape) * 50
    decoded = mcz.decode(mcz.encode(image, model="wavelet-ctx", quality=40))
    assert decoded.shape == image.shape and np.abs(decoded.astype(int) - image).max() <= 1, shape
print("done", flush=True)
"""


def test_tiles_of_a_few_pixels_encode_without_corrupting_the_heap():
    # Found by the encode fuzz target: a 1-pixel wavelet tile aborted the process
    # ("double free or corruption") in CompressAI's BufferedRansEncoder.flush.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _TINY], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    last = proc.stdout.strip().splitlines()[-1:] or ["(nothing)"]
    assert proc.returncode == 0 and last == ["done"], (proc.returncode, last, proc.stderr[-2000:])
