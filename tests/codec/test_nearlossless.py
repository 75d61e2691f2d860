"""Lossless and near-lossless coding (mcz.codec.nearlossless): the bound |x - x̂| <= K holds by construction."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mcz
from mcz.codec import nearlossless
from mcz.container import Container, read_container, write_container
from mcz.errors import ChecksumError, FormatError, McZError, UnsupportedError, UsageError
from mcz.io import from_array, read_image

KS = (0, 1, 2, 4, 8)
DTYPES = (np.uint8, np.uint16, np.int16)


def _max_error(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


@st.composite
def _images(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    info = np.iinfo(dtype)
    shape = draw(st.tuples(st.integers(1, 2), st.integers(1, 24), st.integers(1, 24)))
    smooth = draw(st.booleans())  # smooth gradients (where a base can pay) or arbitrary values
    if smooth:
        rows, cols = np.meshgrid(np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
        start = draw(st.integers(int(info.min), int(info.max)))
        ramp = start + draw(st.integers(-200, 200)) * rows + draw(st.integers(-200, 200)) * cols
        return np.broadcast_to(np.clip(ramp, info.min, info.max), shape).astype(dtype)
    return draw(hnp.arrays(dtype, shape, elements=st.integers(int(info.min), int(info.max))))


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(pixels=_images(), k=st.sampled_from(KS), base=st.sampled_from(("none", "wavelet", "auto")),
       backend=st.sampled_from(("torch", "onnxruntime")))
def test_bound_holds_for_every_dtype_and_k(pixels: np.ndarray, k: int, base: str, backend: str) -> None:
    signed = pixels.dtype.kind == "i"
    image = from_array(pixels, bits_stored=pixels.dtype.itemsize * 8, signed=signed)
    data = nearlossless.encode_image(image, k, base=base)
    decoded = mcz.decode(data, backend=backend)
    assert decoded.dtype == pixels.dtype and decoded.shape == pixels.shape
    assert _max_error(decoded, pixels) <= k
    if k == 0:
        assert np.array_equal(decoded, pixels)
    assert mcz.read_info(data).header.extra["measured_max_error"] == _max_error(decoded, pixels)


@pytest.mark.parametrize("k", KS)
def test_quantiser_reaches_the_bound_and_no_further(k: int) -> None:
    r = np.arange(-300, 301, dtype=np.int64)
    q = nearlossless.quantise(r, k)
    assert int(np.abs(r - (2 * k + 1) * q).max()) == k


def test_wavelet_base_round_trips_and_is_recorded() -> None:
    rows, cols = np.meshgrid(np.arange(96), np.arange(96), indexing="ij")
    pixels = (2000 + 900 * np.sin(rows / 9.0) * np.cos(cols / 7.0)).astype(np.int16)[None]
    data = nearlossless.encode_image(from_array(pixels, bits_stored=13, signed=True), 0, base="wavelet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one tile per frame, as the header's tiling says: nothing suspicious
        header = mcz.read_info(data).header
    assert header.extra["base"] == {"model": "wavelet-ctx", "quality": nearlossless.BASE_QUALITY, "frames": 1}
    assert header.checkpoint_sha256 != nearlossless.NO_WEIGHTS
    assert np.array_equal(mcz.decode(data), pixels)


def test_volume_round_trip_through_the_api() -> None:
    rng = np.random.default_rng(1)
    volume = (rng.normal(1000, 300, (3, 40, 33))).clip(0, 4095).astype(np.uint16)
    for k in (0, 3):
        out = mcz.decode(mcz.encode(volume, max_error=k, bits_stored=12))
        assert out.shape == volume.shape and _max_error(out, volume) <= k
    assert np.array_equal(mcz.decode(mcz.encode(volume, max_error=0), frames=[2]), volume[2:3])


def test_smaller_k_never_needs_fewer_bits_on_a_noisy_image() -> None:
    rng = np.random.default_rng(2)
    pixels = rng.normal(2000, 200, (64, 64)).clip(0, 4095).astype(np.uint16)
    sizes = [len(mcz.encode(pixels, max_error=k)) for k in KS]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("bad", [-1, 1001, 1.5, True, "2"])
def test_invalid_bound_is_a_usage_error(bad: object) -> None:
    with pytest.raises(UsageError, match="max_error"):
        mcz.encode(np.zeros((8, 8), np.uint8), max_error=bad)  # type: ignore[arg-type]


def test_bound_excludes_model_quality_and_target() -> None:
    with pytest.raises(UsageError, match="max_error alone"):
        mcz.encode(np.zeros((8, 8), np.uint8), max_error=1, quality=10)


def test_float_images_are_refused_with_a_reason() -> None:
    with pytest.raises(UnsupportedError, match="16 stored bits"):
        mcz.encode(np.zeros((8, 8), np.float32), max_error=0)


def test_altered_residual_fails_the_digest() -> None:
    pixels = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 4096
    parsed = read_container(mcz.encode(pixels, max_error=1))
    tile = parsed.tiles[0]
    shifted = type(tile)(tile.frame, tile.index, (tile.params[0] + 1, *tile.params[1:]), tile.side, tile.payload)
    damaged = write_container(Container(parsed.header, (shifted,), parsed.metadata))
    with pytest.raises(ChecksumError, match="cannot be confirmed"):
        mcz.decode(damaged)


def test_unknown_tile_format_is_refused() -> None:
    parsed = read_container(mcz.encode(np.zeros((8, 8), np.uint8), max_error=0))
    tile = parsed.tiles[0]
    other = type(tile)(tile.frame, tile.index, tile.params, b"\x09\x00\x00", tile.payload)
    with pytest.raises(FormatError, match="format 9"):
        mcz.decode(write_container(Container(parsed.header, (other,), parsed.metadata)))


def _dicom_files() -> list[str]:
    data = pytest.importorskip("pydicom.data")
    return sorted(data.get_testdata_files("*.dcm"))


def _readable(path: str):  # noqa: ANN202 - a MedicalImage or None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read_image(path)
        except McZError:
            return None  # compressed syntaxes mcz does not read, colour, float, over the pixel budget


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "emri_small.dcm"])
def test_lossless_is_bit_exact_on_real_dicom(name: str) -> None:
    from pydicom.data import get_testdata_file

    image = read_image(get_testdata_file(name, download=False))
    decoded = mcz.decode_image(mcz.encode(image, max_error=0))
    assert decoded.pixels.dtype == image.pixels.dtype
    assert np.array_equal(decoded.pixels, image.pixels)


@pytest.mark.slow
def test_lossless_is_bit_exact_on_every_bundled_real_dicom() -> None:
    coded = 0
    for path in _dicom_files():
        image = _readable(path)
        if image is None or image.intensity.is_float or image.intensity.bits_stored > 16:
            continue
        decoded = mcz.decode_image(mcz.encode(image, max_error=0))
        assert np.array_equal(decoded.pixels, image.pixels), path
        coded += 1
    assert coded >= 40  # 56 of pydicom 3's test files read today


def test_model_nearlossless_with_quality_is_the_same_as_max_error() -> None:
    pixels = (np.arange(40 * 40).reshape(40, 40) * 7 % 4096).astype(np.uint16)
    assert mcz.encode(pixels, model="nearlossless", quality=2) == mcz.encode(pixels, max_error=2)
    assert np.array_equal(mcz.decode(mcz.encode(pixels, model="nearlossless")), pixels)


def test_a_jpegxl_stream_claiming_another_size_is_refused_before_decoding():
    """A crafted residual stream may declare a huge image: its size is read and refused first."""
    import imagecodecs

    from mcz.codec import nearlossless
    from mcz.container import Tile
    from mcz.errors import FormatError

    big = imagecodecs.jpegxl_encode(np.zeros((4000, 3000), np.uint16), lossless=True, effort=1)
    tile = Tile(frame=0, index=0, params=(), side=b"", payload=b"")
    with pytest.raises(FormatError, match=r"declared size \(4000, 3000\), expected \(48, 40\)"):
        nearlossless._decode_q(tile, big, (48, 40))


@pytest.mark.parametrize("shape", [(1, 1), (8, 8), (37, 53), (512, 384), (720, 960), (3, 4000)])
def test_the_declared_jpegxl_size_is_read_as_libjxl_writes_it(shape):
    import imagecodecs

    from mcz.io.codestream import jpegxl_size

    data = imagecodecs.jpegxl_encode(np.ones(shape, np.uint16), lossless=True, effort=1)
    assert jpegxl_size(data) == shape
    assert jpegxl_size(b"not a jpeg xl stream") is None
