"""DICOM pixel padding survives lossy coding exactly."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.data import get_testdata_file

import mcz
from mcz import container as mc
from mcz.codec import padding
from mcz.errors import FormatError
from mcz.io import read_image


@pytest.fixture(scope="module")
def head_ct():
    path = get_testdata_file("693_UNCR.dcm", download=False)
    return path, read_image(path)


def test_every_padding_pixel_of_the_bundled_ct_comes_back_exactly(head_ct):
    path, image = head_ct
    data = mcz.encode(path)
    decoded = mcz.decode(data).reshape(image.pixels.shape)
    pad = image.pixels == -2000
    assert pad.sum() == 55772  # the count measured before padding was kept
    assert np.array_equal(decoded[pad], image.pixels[pad])
    assert not np.any(decoded[~pad] == -2000)  # and nothing else became padding
    assert padding.META_NAME in mc.read_container(data).metadata


def test_without_declared_padding_nothing_is_added():
    path = get_testdata_file("CT_small.dcm", download=False)
    assert padding.mask_of(read_image(path)) is None
    assert padding.META_NAME not in mc.read_container(mcz.encode(path)).metadata


def test_restore_puts_values_back_per_frame_and_refuses_a_damaged_record():
    pixels = np.arange(2 * 4 * 5, dtype=np.int16).reshape(2, 4, 5)
    mask = pixels % 7 == 0
    blob = padding.pack(mask, pixels[mask] - 100)
    out = np.zeros((1, 4, 5), np.int16)
    padding.restore(out, blob, [1], 2)  # only frame 1 was decoded
    assert np.array_equal(out[0][mask[1]], pixels[1][mask[1]] - 100)
    with pytest.raises(FormatError, match="padding"):
        padding.restore(out, blob[:-2], [1], 2)
    with pytest.raises(FormatError, match="describes"):
        padding.restore(np.zeros((1, 5, 4), np.int16), blob, [0], 2)
