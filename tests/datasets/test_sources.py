"""Real data loaders (slow: need the fetched packages, see bench/fetch_data.sh)."""

from __future__ import annotations

import numpy as np
import pytest

from mcz.datasets import br35h, volumes
from mcz.errors import DatasetMissingError


def test_missing_volume_data_names_the_fetch_command(monkeypatch, tmp_path):
    monkeypatch.setenv("MCZ_DATA", str(tmp_path))
    with pytest.raises(DatasetMissingError, match="bench/fetch_data.sh pyradiomics"):
        volumes.load_volume("lung1")


def test_ctmr_splits_are_disjoint_by_volume():
    sides = [set(v) for v in volumes.CTMR_SPLITS.values()]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert set().union(*sides) == set(volumes.LOADERS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(volumes.LOADERS))
def test_every_volume_loads_in_its_12_bit_range(name):
    volume = volumes.load_volume(name)
    low, high = volume.intensity.low, volume.intensity.high
    assert volume.pixels.ndim == 3 and volume.frames >= 20
    assert high - low == 4095
    assert low <= volume.pixels.min() and volume.pixels.max() <= high


@pytest.mark.slow
def test_br35h_loader_gives_grey_uint8_and_all_3000_items():
    items = br35h.items()
    assert len(items) == 3000 and sum(it.label for it in items) == 1500
    image = br35h.load_grey(items[0].name)
    assert image.dtype == np.uint8 and image.ndim == 2
