"""Shared fixtures."""

from __future__ import annotations

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
    from mcz.codec import engine

    engine.load_codec.cache_clear()


@pytest.fixture
def learned_zoo(tmp_path_factory, monkeypatch):
    """MCZ_CHECKPOINTS with seeded, finalised tiny factorized and hyperprior models (tests.zoo.TINY_LEARNED)."""
    pytest.importorskip("compressai")
    from mcz.codec import engine
    from tests.zoo import TINY_LEARNED, write_checkpoint

    folder = tmp_path_factory.mktemp("learned-zoo")
    for spec in TINY_LEARNED.values():
        write_checkpoint(folder, spec.id, seed=3)
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(folder))
    yield folder
    engine.load_codec.cache_clear()
