"""Decoding from any buffer, single frames, and the numcodecs/zarr codec."""

from __future__ import annotations

import numpy as np
import pytest

import mcz
from mcz.errors import UsageError


def _volume(frames: int = 4) -> np.ndarray:
    y, x = np.mgrid[:48, :40]
    return np.stack([np.rint(1500 + 900 * np.sin(x / (5.0 + f)) * np.cos(y / 7.0)) for f in range(frames)]).astype(np.uint16)


@pytest.fixture(scope="module")
def coded() -> bytes:
    return mcz.encode(_volume(), model="wavelet-ctx", bits_stored=12, quality=32)


def test_decode_accepts_any_buffer(coded):
    expected = mcz.decode(coded)
    as_array = np.frombuffer(coded, np.uint8)  # what HDF5 and zarr hand back
    for data in (as_array, bytearray(coded), memoryview(coded), as_array.reshape(1, -1), np.array(as_array)[::1]):
        assert np.array_equal(mcz.decode(data), expected)
    strided = np.zeros(2 * len(coded), np.uint8)
    strided[::2] = as_array
    assert np.array_equal(mcz.decode(strided[::2]), expected)  # a non-contiguous view is copied, not misread


def test_decode_refuses_what_is_not_a_buffer():
    with pytest.raises(UsageError, match="bytes-like"):
        mcz.decode(12345)


def test_single_frames_decode_alone(coded, monkeypatch):
    from mcz.codec.wavelet import tiles

    full = mcz.decode(coded)
    calls = []
    original = tiles.decode_tile
    monkeypatch.setattr(tiles, "decode_tile", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert np.array_equal(mcz.decode(coded, frames=[2]), full[2:3])
    assert len(calls) == 1  # one frame's tile, not the volume's four
    assert np.array_equal(mcz.decode(coded, frames=[3, 0]), full[[3, 0]])


@pytest.mark.parametrize("bad", [[4], [-1], [], [1.0], [True]])
def test_frames_outside_the_file_are_refused(coded, bad):
    with pytest.raises(UsageError, match="frames="):
        mcz.decode(coded, frames=bad)


def test_single_frames_of_a_bounded_model_are_checked(seeded_zoo):
    import base64

    from mcz.codec import pixelcheck
    from mcz.container import Container, read_container, write_container
    from mcz.errors import ChecksumError

    volume = (_volume(3) // 16).astype(np.uint8)
    data = mcz.encode(volume, model="cae-compact")
    assert np.array_equal(mcz.decode(data, frames=[1]), mcz.decode(data)[1:2])
    parsed = read_container(data)
    means = pixelcheck.block_means(mcz.decode(data))
    means[1] += 9
    extra = {**parsed.header.extra}
    extra["pixel_check"] = {**extra["pixel_check"], "block_means": base64.b64encode(means.astype("<f4").tobytes()).decode()}
    damaged = write_container(Container(type(parsed.header)(**{**parsed.header.__dict__, "extra": extra}),
                                        parsed.tiles, parsed.metadata))
    mcz.decode(damaged, frames=[0])
    with pytest.raises(ChecksumError, match="block mean"):
        mcz.decode(damaged, frames=[1])


def test_numcodecs_round_trip_and_registry():
    numcodecs = pytest.importorskip("numcodecs")
    from mcz.numcodecs import Mcz

    codec = Mcz(model="wavelet-ctx", quality=32, bits_stored=12)
    volume = _volume(2)
    data = codec.encode(volume)
    assert np.array_equal(codec.decode(data), mcz.decode(data))
    out = np.empty_like(volume)
    codec.decode(np.frombuffer(data, np.uint8), out=out)
    assert np.abs(out.astype(int) - volume).max() < 40
    again = numcodecs.get_codec(codec.get_config())
    assert isinstance(again, Mcz) and again.get_config() == codec.get_config()


def test_zarr_array_of_slices_stored_with_mcz(tmp_path):
    zarr = pytest.importorskip("zarr")
    from mcz.numcodecs import Mcz

    volume = _volume(5)
    stored = zarr.open(str(tmp_path / "v.zarr"), mode="w", shape=volume.shape, chunks=(1, 48, 40),
                       dtype=volume.dtype, compressor=Mcz(quality=32, bits_stored=12))
    stored[:] = volume
    back = zarr.open(str(tmp_path / "v.zarr"), mode="r")
    assert back.shape == volume.shape and back.dtype == volume.dtype
    assert np.abs(back[:].astype(int) - volume).max() < 40
    chunk = (tmp_path / "v.zarr" / "3.0.0").read_bytes()  # every chunk is a complete .mcz file
    assert np.array_equal(mcz.decode(chunk), back[3:4])
