"""Real test images for the benchmark tests (pydicom's own files and pydicom-data).

Frames are returned as ``(frame, intensity)``: stored values and their domain,
exactly what :func:`mcz.io.read_image` gives, cropped for speed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


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
