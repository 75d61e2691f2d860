"""The wavelet family's block-DCT tile mode: exact transform, lattice detection, mode choice, bad input."""

from __future__ import annotations

import dataclasses
import io
import zlib

import numpy as np
import pytest
from PIL import Image
from scipy.fft import dctn

import mcz
from mcz import container
from mcz.codec import engine
from mcz.codec.families import wavelet as wavelet_family
from mcz.codec.wavelet import blockdct, coder, dctcoder, tiles
from mcz.errors import FormatError


def _tables():
    return wavelet_family.tables(engine.load_codec("wavelet-ctx"))


def _smooth(rows: int = 96, cols: int = 112, seed: int = 0) -> np.ndarray:
    """A smooth 8-bit image with edges (no JPEG history)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols]
    field = 100 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + 40 * (np.hypot(yy - 40, xx - 50) < 25)
    return np.clip(field + rng.normal(0, 2, field.shape), 0, 255).astype(np.uint8)


def _jpeg_sourced(image: np.ndarray, quality: int = 75) -> np.ndarray:
    """``image`` after a round trip through a greyscale JPEG file (what web-sourced sets hold)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))


def test_block_dct_is_the_orthonormal_dct_and_inverts() -> None:
    x = np.random.default_rng(1).random((37, 45))
    c = blockdct.forward(x)
    padded = np.pad(x, ((0, 3), (0, 3)), mode="edge").reshape(5, 8, 6, 8).transpose(0, 2, 1, 3)
    assert np.abs(c - dctn(padded, axes=(2, 3), norm="ortho")).max() < 1e-12
    assert np.abs(blockdct.inverse(c, x.shape) - x).max() < 1e-12
    assert blockdct.grid(37, 45) == (5, 6)


def test_lattice_is_found_where_there_is_one_and_not_elsewhere() -> None:
    rng = np.random.default_rng(2)
    multiples = rng.laplace(0, 2.0, 4000).round()
    on = multiples * 6.3 + rng.normal(0, 0.2, multiples.size)
    assert dctcoder.lattice(on) == pytest.approx(6.3, rel=0.01)
    assert dctcoder.lattice(rng.laplace(0, 8.0, 4000)) == 0.0
    assert dctcoder.lattice(np.zeros(4000)) == 0.0


@pytest.mark.parametrize("quality", [24, 36])
def test_the_block_mode_is_tried_only_where_the_probed_frequencies_show_a_lattice(quality) -> None:
    """A JPEG-sourced image shows a lattice at the probed frequencies; the same image without JPEG
    history none. (At coarse steps, quality <= 20 here, the JPEG steps fall below the lattice
    search's 1.5 steps and nothing is found: there the wavelet wins on real Br35H images too.)"""
    smooth = _smooth(256, 256)
    for image, expected in ((_jpeg_sourced(smooth), True), (smooth, False)):
        unit = (image - float(image.min())) / float(image.max() - image.min())
        step = coder.step_size(quality, 255.0 / float(image.max() - image.min()))
        assert dctcoder.on_a_lattice(dctcoder.coefficients(unit, step)) is expected
    chunk, _, _ = tiles.encode_tile(_tables(), (smooth - 0.0) / 255.0, quality, 1.0, 0, 0)
    assert chunk.params != dctcoder.PARAMS  # no lattice: a wavelet mode, without trying the block mode


def test_jpeg_sourced_image_takes_the_block_mode_and_decodes_exactly() -> None:
    t = _tables()
    image = _jpeg_sourced(_smooth(256, 256))
    unit = (image - float(image.min())) / float(image.max() - image.min())
    rpu = 255.0 / float(image.max() - image.min())
    chunk, recon, symbols = tiles.encode_tile(t, unit, 24, rpu, 0, 0)
    assert chunk.params == dctcoder.PARAMS
    step = coder.step_size(24, rpu)
    block = dctcoder.encode(t, unit, step, 0, 0)
    wavelet = coder.encode_wavelet(t, unit, 24, rpu, 0, 0)
    assert tiles.cost(t, block, unit, step) < tiles.cost(t, wavelet, unit, step)
    decoded, decoded_symbols = tiles.decode_tile(t, chunk, unit.shape, 24, rpu)
    assert np.array_equal(decoded, recon)
    assert all(np.array_equal(a, b) for a, b in zip(symbols, decoded_symbols))
    data = mcz.encode(image)
    assert np.array_equal(mcz.decode(data), mcz.decode(data))  # verified decode: digests hold
    assert container.read_container(data).tiles[0].params == dctcoder.PARAMS


def test_native_image_keeps_the_wavelet() -> None:
    t = _tables()
    image = _smooth(128, 128).astype(np.float64)
    unit = (image - image.min()) / (image.max() - image.min())
    chunk, _, _ = tiles.encode_tile(t, unit, 24, 255.0 / (image.max() - image.min()), 0, 0)
    assert chunk.params == ()


def test_contexts_count_the_earlier_ac_of_each_block_in_zigzag_order() -> None:
    assert dctcoder.ZIGZAG[:6] == (0, 1, 8, 16, 9, 2) and sorted(dctcoder.ZIGZAG) == list(range(64))
    columns = np.zeros((64, 3), np.int64)
    columns[1] = [0, 1, 5]  # the first AC frequency in zigzag order
    columns[8] = [0, 2, 20]
    ctx = dctcoder.contexts(columns)
    assert ctx[1].tolist() == [0, 0, 0]  # nothing coded before it
    assert ctx[8].tolist() == [0, 1, 2]  # sums 0, 1, 5 against edges 1, 3, 7, 16
    assert ctx[16].tolist() == [0, 2, 4]  # sums 0, 3, 25
    assert not ctx[0].any()


def test_small_tiles_never_try_the_block_mode() -> None:
    assert not dctcoder.worth_trying((15, 200)) and dctcoder.worth_trying((16, 16))


def _block_file() -> bytes:
    data = mcz.encode(_jpeg_sourced(_smooth(128, 128)))
    assert container.read_container(data).tiles[0].params == dctcoder.PARAMS
    return data


def _with_side(data: bytes, side: bytes) -> bytes:
    c = container.read_container(data)
    tile = dataclasses.replace(c.tiles[0], side=side)
    return container.write_container(dataclasses.replace(c, tiles=(tile,)))


#: (table, shift) pairs in a block tile's side information: per frequency and context bin.
PAIRS = 64 * dctcoder.BINS


def _side_of(choice: bytes, spacing: np.ndarray, length: int = 0) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return length.to_bytes(4, "big") + packer.compress(choice + spacing.astype(">f4").tobytes()) + packer.flush()


@pytest.mark.parametrize(
    ("side", "match"),
    [
        (b"\x00\x00", "side bytes"),
        (b"\x00\x00\x00\x00" + b"not deflate at all \xff\xff", "inflate|take"),
        (_side_of(bytes(PAIRS), np.zeros(64))[:-3], "take|inflate"),
        (_side_of(bytes([60, 0] * PAIRS), np.zeros(64)), "names tables"),
        (_side_of(bytes([1, 99] * PAIRS), np.zeros(64)), "shifts"),
        (_side_of(bytes([1, 0] * PAIRS), np.r_[0.0, np.full(63, np.nan)]), "lattice spacings"),
        (_side_of(bytes([1, 0] * PAIRS), np.r_[3.0, np.zeros(63)]), "lattice spacings"),
        (_side_of(bytes([1, 0] * PAIRS), np.zeros(64), length=2**31), "rANS string"),
        (_side_of(bytes([1, 0] * 64), np.zeros(64)), "take"),  # the pre-context layout
    ],
    ids=["short", "not-deflate", "truncated", "table", "shift", "nan-spacing", "dc-spacing", "length", "old-size"],
)
def test_corrupt_block_side_information_is_a_format_error(side: bytes, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        mcz.decode(_with_side(_block_file(), side))
