"""The wavelet family's pixel tile mode: stored integers near-lossless through JPEG-XL at high rates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("compressai")
pytest.importorskip("imagecodecs")

from mcz.codec.wavelet import coder, pixel, tiles  # noqa: E402
from mcz.errors import FormatError  # noqa: E402
from tests.hardening import mutate  # noqa: E402


@pytest.fixture(scope="module")
def shipped():
    from mcz.codec.engine import load_codec
    from mcz.codec.families.wavelet import tables

    return tables(load_codec("wavelet-ctx"))


def _ct(size: int = 96, seed: int = 3) -> np.ndarray:
    return np.rint(mutate.ct_like(size, seed=seed) * 4095).astype(np.int64)


@pytest.mark.parametrize("k", [0, 1, 2, 7])
def test_a_pixel_tile_is_within_k_and_decodes_to_the_encoders_pixels(k):
    x = _ct()
    low, span = int(x.min()), int(x.max() - x.min())
    unit = ((x - low) / span).astype(np.float32)
    chunk, recon, symbols = pixel.encode(unit, span, k, 0, 0)
    assert pixel.is_pixel(chunk.params) and chunk.params == (1.0, float(k))
    assert np.abs(np.rint(recon * span) - (x - low)).max() <= k
    decoded, decoded_symbols = pixel.decode(chunk, x.shape, span)
    assert np.array_equal(decoded, recon) and np.array_equal(decoded_symbols[0], symbols[0])
    if k == 0:
        assert np.array_equal(np.rint(recon * span), x - low), "K = 0 is lossless"


def test_the_encoder_takes_the_pixel_mode_at_small_steps_only(shipped):
    x = _ct(128, seed=5)
    low, span = int(x.min()), int(x.max() - x.min())
    unit = ((x - low) / span).astype(np.float32)
    scale = 4095 / span
    fine = tiles.encode_tile(shipped, unit, 48, scale, 0, 0, span=span)[0]  # a step of 1 stored unit
    coarse = tiles.encode_tile(shipped, unit, 24, scale, 0, 0, span=span)[0]  # 64 units: never tried
    assert pixel.is_pixel(fine.params) and not pixel.is_pixel(coarse.params)
    # Without the span (a float image, or callers that predate the mode) it is never used.
    assert not pixel.is_pixel(tiles.encode_tile(shipped, unit, 48, scale, 0, 0)[0].params)
    # It is chosen because it costs less by the quantiser's own measure.
    step = coder.step_size(48, scale)
    wavelet = tiles.encode_tile(shipped, unit, 48, scale, 0, 0)
    chosen = tiles.encode_tile(shipped, unit, 48, scale, 0, 0, span=span)
    assert tiles.cost(shipped, chosen, unit, step) < tiles.cost(shipped, wavelet, unit, step)


def test_engine_round_trip_of_a_12_bit_ct_in_the_pixel_mode_is_exact_and_bounded():
    import mcz
    from mcz.container import read_container

    image = (_ct(96, seed=7) + 1000).astype(np.uint16)
    data = mcz.encode(image, model="wavelet-ctx", bits_stored=12, quality=40)
    tile = read_container(data).tiles[0]
    assert pixel.is_pixel(tile.params)
    k = int(tile.params[1])
    for backend in ("torch", "onnxruntime"):  # the same NumPy and libjxl path: identical pixels
        decoded = mcz.decode(data, backend=backend)  # verify=True: the pixel digest must match
        assert np.abs(decoded.astype(int) - image.astype(int)).max() <= k


def test_hostile_pixel_tiles_raise_format_errors():
    x = _ct(64)
    span = int(x.max() - x.min())
    chunk, _, _ = pixel.encode(((x - x.min()) / span).astype(np.float32), span, 1, 0, 0)
    bad = [
        dataclasses.replace(chunk, params=(1.0,)),
        dataclasses.replace(chunk, params=(1.0, 1.5)),
        dataclasses.replace(chunk, params=(1.0, -1.0)),
        dataclasses.replace(chunk, params=(1.0, float(2**40))),
        dataclasses.replace(chunk, side=chunk.side + b"\0"),
        dataclasses.replace(chunk, payload=chunk.payload[: len(chunk.payload) // 2]),
        dataclasses.replace(chunk, payload=b"\xff\x0a" + bytes(40)),
    ]
    for tile in bad:
        with pytest.raises(FormatError, match="corrupt"):
            pixel.decode(tile, x.shape, span)
    with pytest.raises(FormatError, match="shape|holds"):
        pixel.decode(chunk, (64, 65), span)
    with pytest.raises(FormatError, match="float"):
        pixel.decode(chunk, x.shape, None)
