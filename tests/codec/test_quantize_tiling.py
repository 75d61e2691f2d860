"""Min-max quantiser (paper Eq. 2-3), Brotli back end and the tile grid."""

from __future__ import annotations

import numpy as np
import pytest

from mcz.codec import lossless, quantize, tiling
from mcz.errors import FormatError


@pytest.mark.parametrize("bits", [1, 4, 6, 8, 12])
@pytest.mark.parametrize("rounding", ["nearest", "floor"])
def test_quantiser_error_is_bounded_by_one_step(bits, rounding):
    rng = np.random.default_rng(bits)
    latent = rng.normal(0, 3, (8, 5, 7)).astype(np.float32)
    q = quantize.quantise(latent, bits, rounding)
    step = (latent.max() - latent.min()) / (2**bits - 1)
    error = np.abs(quantize.dequantise(q) - latent)
    bound = step / 2 if rounding == "nearest" else step
    assert error.max() <= bound * (1 + 1e-5)
    assert q.symbols.max() <= 2**bits - 1
    assert q.symbols.dtype == (np.uint8 if bits <= 8 else np.uint16)


def test_quantiser_follows_the_paper_equations():
    latent = np.array([0.0, 0.3, 1.0], np.float32)
    q = quantize.quantise(latent, 8, "floor")
    assert q.symbols.tolist() == [0, 76, 255]  # floor(0.3 * 255) = 76 (Eq. 2)
    assert quantize.dequantise(q)[1] == pytest.approx(76 / 255)  # Eq. 3


def test_constant_latent_dequantises_to_itself():
    q = quantize.quantise(np.full((2, 3), 1.5, np.float32), 8)
    assert np.all(quantize.dequantise(q) == 1.5)


def test_brotli_round_trip_and_corruption():
    symbols = np.random.default_rng(0).integers(0, 2**12, (4, 6, 6)).astype(np.uint16)
    payload = lossless.pack(symbols)
    assert np.array_equal(lossless.unpack(payload, symbols.shape, symbols.dtype), symbols)
    with pytest.raises(FormatError, match="does not decompress"):
        lossless.unpack(payload[: len(payload) // 2], symbols.shape, symbols.dtype)
    with pytest.raises(FormatError, match="expected"):
        lossless.unpack(payload, (4, 6, 5), symbols.dtype)


@pytest.mark.parametrize("shape", [(1, 1), (31, 33), (512, 512), (1955, 1841), (600, 1100)])
def test_tile_grid_covers_every_pixel_once(shape):
    rows, cols = shape
    boxes = tiling.tile_grid(rows, cols, 512, 32)
    cover = np.zeros(shape, np.int32)
    for box in boxes:
        assert box.padded_rows % 32 == 0 and box.padded_columns % 32 == 0
        assert box.rows <= 512 and box.columns <= 512
        cover[box.top : box.top + box.rows, box.left : box.left + box.columns] += 1
    assert np.all(cover == 1)


def test_extract_and_place_round_trip():
    frame = np.arange(70 * 45, dtype=np.float32).reshape(70, 45)
    out = np.zeros_like(frame)
    for box in tiling.tile_grid(70, 45, 32, 16):
        part = tiling.extract(frame, box)
        assert part.shape == (box.padded_rows, box.padded_columns)
        tiling.place(out, box, part)
    assert np.array_equal(out, frame)
