"""Pixel checks that do not depend on the thread count.

The latent digest is exact everywhere; the pixel digest is exact where the
encoder's arithmetic is reproduced, else within a tolerance recorded in the header.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mcz
from mcz.codec import pixelcheck
from mcz.container import read_container
from mcz.errors import ChecksumError
from mcz.intensity import Intensity

ROOT = Path(__file__).resolve().parents[2]

_DECODE = (
    "import sys, numpy as np, torch, mcz; torch.set_num_threads(int(sys.argv[2])); "
    "np.save(sys.argv[3], mcz.decode(sys.argv[1]))"  # verify=True: raises if the check fails
)

#: Two different digests in the stored (format 3) form.
DIGEST_A = "sha256:" + "a" * 32
DIGEST_B = "sha256:" + "b" * 32


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:256, :256]
    return np.clip(127 + 80 * np.sin(x / 13.0) * np.cos(y / 17.0) + rng.normal(0, 8, x.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("model", ["cae-compact", "hyperprior-compact"])
def test_decode_at_1_2_and_4_threads_passes_the_check(model, tmp_path):
    pytest.importorskip("compressai")
    path = tmp_path / "x.mcz"
    path.write_bytes(mcz.encode(_image(), model=model, threads=2))
    decoded = []
    for threads in (1, 2, 4):
        out = tmp_path / f"{threads}.npy"
        done = subprocess.run([sys.executable, "-c", _DECODE, str(path), str(threads), str(out)], cwd=ROOT,
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, f"{threads} thread(s): {done.stderr[-1500:]}"
        decoded.append(np.load(out).astype(int))
    header = read_container(path.read_bytes()).header
    check = header.extra["pixel_check"]
    assert check["policy"] == "bounded" and check["tolerance"] == 1 and check["units"] == "stored"
    assert header.extra["latent_digest"].startswith("sha256:")
    assert max(np.abs(d - decoded[0]).max() for d in decoded) <= check["tolerance"]


def test_wavelet_files_keep_the_exact_policy():
    data = mcz.encode(_image()[:64, :64], model="wavelet-ctx")
    assert "pixel_check" not in read_container(data).header.extra  # absent = exact, as in old files


def _window() -> Intensity:
    return mcz.io.from_array(np.array([[0, 255]], np.uint8)).intensity


def test_bounded_check_accepts_float_noise_and_rejects_real_differences():
    recon = _image()[None].astype(np.uint8)
    entry = pixelcheck.record(recon, _window(), exact=False)
    noisy = recon.copy()
    noisy[0, ::7, ::5] += 1  # a rounding flip of one unit at many pixels
    assert pixelcheck.check(noisy, DIGEST_B, DIGEST_A, json.loads(json.dumps(entry))) == "bounded"
    wrong = recon.copy()
    wrong[0, :64, :64] //= 2  # a faulty synthesis in one block
    with pytest.raises(ChecksumError, match="allows 1 "):
        pixelcheck.check(wrong, DIGEST_B, DIGEST_A, entry)


def test_exact_policy_and_old_files_refuse_any_difference():
    recon = _image()[None]
    with pytest.raises(ChecksumError, match="exactly"):
        pixelcheck.check(recon, DIGEST_B, DIGEST_A, {"policy": "exact"})
    with pytest.raises(ChecksumError, match="exactly"):
        pixelcheck.check(recon, DIGEST_B, DIGEST_A, None)
    assert pixelcheck.check(recon, DIGEST_A, DIGEST_A, None) == "exact"


def test_tolerance_scales_with_the_window():
    narrow = _window()
    wide = mcz.io.from_array(np.array([[0, 65535]], np.uint16), bits_stored=16).intensity
    assert pixelcheck.tolerance(narrow) == 1 and pixelcheck.tolerance(wide) == 1
    huge = mcz.io.from_array(np.array([[0.0, 1e6]], np.float32)).intensity
    assert pixelcheck.tolerance(huge) == pytest.approx(10.0)


def test_tampered_block_means_fail_a_cae_decode(seeded_zoo):
    from mcz.container import Container, write_container

    data = mcz.encode(_image()[:64, :64], model="cae-compact")
    parsed = read_container(data)
    extra = dict(parsed.header.extra)
    means = pixelcheck.block_means(mcz.decode(data)[None]) + 5
    extra["pixel_check"] = {**extra["pixel_check"], "block_means": base64.b64encode(means.astype("<f4").tobytes()).decode()}
    header = type(parsed.header)(**{**parsed.header.__dict__, "extra": extra, "digest": "sha256:" + "0" * 64})
    damaged = write_container(Container(header, parsed.tiles, parsed.metadata))
    with pytest.raises(ChecksumError, match="block mean"):
        mcz.decode(damaged)
    assert mcz.decode(damaged, verify=False).shape == (64, 64)
