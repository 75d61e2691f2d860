"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# No per-example deadline: on a loaded 2-core machine (training in the background,
# CI's fresh install) a 200 ms deadline fails tests that are correct.
settings.register_profile("mcz", deadline=None)
settings.load_profile("mcz")


@pytest.fixture
def seeded_zoo(tmp_path_factory, monkeypatch):
    """MCZ_CHECKPOINTS pointing at seeded (untrained) cae-seed and cae-compact weights."""
    from tests.zoo import write_checkpoint

    folder = tmp_path_factory.mktemp("zoo")
    entries = {mid: write_checkpoint(folder, mid) for mid in ("cae-seed", "cae-compact")}
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(folder))
    yield folder, entries


@pytest.fixture
def learned_zoo(tmp_path_factory, monkeypatch):
    """MCZ_CHECKPOINTS with seeded, finalised tiny factorized and hyperprior models (tests.zoo.TINY_LEARNED)."""
    pytest.importorskip("compressai")
    from tests.zoo import TINY_LEARNED, write_checkpoint

    folder = tmp_path_factory.mktemp("learned-zoo")
    for spec in TINY_LEARNED.values():
        write_checkpoint(folder, spec.id, seed=3)
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(folder))
    yield folder


# --- real test images of the codec and benchmark tests (pydicom's own files and pydicom-data) ---
# Frames are returned as ``(frame, intensity)``: stored values and their domain,
# exactly what :func:`mcz.io.read_image` gives, cropped for speed.


def _path(name: str) -> Path:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)  # never the network
    if not path:
        pytest.skip(f"{name} is not installed (pip install pydicom-data==1.0.0)")
    return Path(path)


def _read(name: str, grey: bool = False):
    from mcz.io import read_image

    return read_image(_path(name), grey=grey)


@pytest.fixture(scope="session")
def mr12():
    """256x256 crop of the 1024x1024 12-bit MR (uint16, bits stored 12)."""
    image = _read("MR2_UNCR.dcm")
    assert image.intensity.bits_stored == 12
    return np.ascontiguousarray(image.pixels[0, 384:640, 384:640]), image.intensity


@pytest.fixture(scope="session")
def us8():
    """256x256 crop of the ultrasound, converted to 8-bit grey (BT.601 luma)."""
    image = _read("US1_UNCR.dcm", grey=True)
    assert image.intensity.bits_stored == 8 and image.pixels.dtype == np.uint8
    return np.ascontiguousarray(image.pixels[0, 100:356, 150:406]), image.intensity


@pytest.fixture(scope="session")
def ct16():
    """The 128x128 CT: int16, 16 bits stored, signed."""
    image = _read("CT_small.dcm")
    assert image.intensity.signed and image.intensity.bits_stored == 16
    return np.ascontiguousarray(image.pixels[0]), image.intensity


@pytest.fixture(scope="session")
def mr_small():
    """The 64x64 MR (int16, signed 16-bit): smaller than MS-SSIM's minimum."""
    image = _read("MR_small.dcm")
    return np.ascontiguousarray(image.pixels[0]), image.intensity


@pytest.fixture
def image_folder(tmp_path):
    """A folder of small real images in formats whose encode is deterministic (no DICOM UIDs drawn):
    ``ct.npy`` (pydicom's 128x128 CT), ``sub/mr.npy`` (its 64x64 MR), ``sub/ct8.png`` (the CT as 8 bits)."""
    import pydicom
    from PIL import Image
    from pydicom.data import get_testdata_file

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False)).pixel_array
    np.save(folder / "ct.npy", ct)
    np.save(folder / "sub" / "mr.npy", pydicom.dcmread(get_testdata_file("MR_small.dcm", download=False)).pixel_array)
    scaled = (ct.astype(np.float64) - ct.min()) * 255 / max(int(ct.max()) - int(ct.min()), 1)
    Image.fromarray(scaled.round().astype(np.uint8)).save(folder / "sub" / "ct8.png")
    return folder
