"""Shared fixtures of the training tests."""

from __future__ import annotations

import numpy as np
import pytest

from mcz.io import from_array, write_image


@pytest.fixture
def tiny_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        ramp = np.add.outer(np.arange(48), np.arange(40)) * (i + 1) % 4096
        image = (ramp + rng.integers(0, 50, ramp.shape)).astype(np.uint16) % 4096
        write_image(folder / f"img{i}.png", from_array(image, bits_stored=12))
    return folder
