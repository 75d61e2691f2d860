"""mcz.EncodeOptions: one definition of the encode options, checked once, behind every encode function."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import mcz
from mcz import api
from mcz.errors import UsageError
from mcz.ratecontrol import Target

#: A shipped model (no seeded zoo needed) and a small image it codes in milliseconds.
MODEL = "wavelet-ctx"


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return (np.add.outer(np.arange(40), np.arange(48)) * 37 % 4096).astype(np.uint16)


def test_options_and_keywords_give_the_same_bytes(image):
    options = mcz.EncodeOptions(model=MODEL, quality=30, bits_stored=12)
    by_object = mcz.encode(image, options)
    assert by_object == mcz.encode(image, model=MODEL, quality=30, bits_stored=12)
    assert mcz.decode(by_object).shape == image.shape


def test_keywords_override_the_options(image):
    options = mcz.EncodeOptions(model=MODEL, quality=30, bits_stored=12)
    overridden = mcz.encode(image, options, quality=20)
    assert overridden == mcz.encode(image, model=MODEL, quality=20, bits_stored=12)
    assert options.quality == 30  # frozen: the caller's object is unchanged
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.quality = 1  # type: ignore[misc]


def test_every_encode_function_takes_the_same_options(image, tmp_path):
    np.save(tmp_path / "img.npy", image)
    options = mcz.EncodeOptions(model=MODEL, quality=30, metadata="none")
    from_file = mcz.encode_file(tmp_path / "img.npy", tmp_path / "a.mcz", options).read_bytes()
    assert from_file == mcz.encode_file(tmp_path / "img.npy", tmp_path / "b.mcz", model=MODEL, quality=30,
                                        metadata="none").read_bytes()
    assert from_file == api.encode_with_report(tmp_path / "img.npy", options).data


def test_an_unknown_keyword_is_a_usage_error_naming_it_and_the_valid_ones(image):
    with pytest.raises(UsageError, match=r"unknown encode option qualty; expected model, quality, .*max_error"):
        mcz.encode(image, qualty=3)
    with pytest.raises(UsageError, match="unknown encode options"):
        mcz.encode_file("never-read.npy", bogus=1, other=2)


@pytest.mark.parametrize(("options", "message"), [
    ({"quality": "8"}, "quality is '8'"),
    ({"bits_stored": 8.0}, "bits_stored is 8.0"),
    ({"signed": 1}, "signed is 1"),
    ({"quality": 3, "target": Target("bpp", 1.0)}, "quality and target were both given"),
    ({"threads": 0}, "threads=0"),
    ({"max_ratio": 0.5}, "max_ratio 0.5"),
    ({"metadata": "all"}, "metadata mode 'all'"),
    ({"max_error": 2, "quality": 3}, "max_error alone"),
    ({"max_error": -1}, "max_error=-1"),
    ({"model": "nearlossless", "quality": -1}, "max_error=-1"),
])
def test_options_are_checked_when_made(options, message):
    with pytest.raises(UsageError, match=message):
        mcz.EncodeOptions(**options)


def test_the_older_keywords_keep_their_meaning():
    assert api.EncodeOptions.merge(None, {"keep_metadata": False}).metadata == "none"
    both = api.EncodeOptions.merge(None, {"keep_metadata": False, "metadata": "minimal"})
    assert both.metadata == "minimal"  # metadata wins, as it always has
    assert api.EncodeOptions.merge(None, {"metadata": None}).metadata == "keep"
    # -m nearlossless -q K is --max-error K
    assert mcz.EncodeOptions(model="nearlossless", quality=3).bound == 3
    assert mcz.EncodeOptions(model=MODEL).bound is None
