"""One regression test per reproducer of the fuzzing campaign.

Every file here is CRC-valid: the mutation reaches header validation or the tile
decoder, as a crafted file would.
"""

from __future__ import annotations

import dataclasses
import time
import tracemalloc
import warnings

import numpy as np
import pytest

import mcz
from mcz.api import SuspiciousFileWarning
from mcz.cli.main import main
from mcz.container import read_container
from mcz.errors import ChecksumError, ExitCode, FormatError, UsageError
from tests.hardening import mutate

FACTORIZED = "factorized-compact"


@pytest.fixture(scope="module")
def factorized() -> bytes:
    pytest.importorskip("compressai")
    return mutate.good_file(FACTORIZED)


@pytest.fixture(scope="module")
def cae() -> bytes:
    return mutate.good_file("cae-compact")


def _tiling(data: bytes, **changes) -> bytes:
    record = dict(read_container(data).header.tiling)
    for key, value in changes.items():
        if value is _MISSING:
            record.pop(key)
        else:
            record[key] = value
    return mutate.with_header(data, tiling=record)


_MISSING = object()


# -- tiling values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tile", [0, 15, -512, True, "abc", None, [512], 70000, _MISSING],
                         ids=["0", "15", "-512", "True", "abc", "None", "list", "70000", "missing"])
def test_bad_tile_values_are_format_errors_in_decode_info_and_the_cli(factorized, tile, tmp_path):
    bad = _tiling(factorized, tile=tile)
    with pytest.raises(FormatError, match="tiling"):
        mcz.decode(bad)
    with pytest.raises(FormatError, match="tiling"):
        mcz.read_info(bad)
    path = tmp_path / "bad.mcz"
    path.write_bytes(bad)
    assert main(["info", str(path)]) == ExitCode.CORRUPT_INPUT


def test_a_tile_other_than_the_models_is_refused(factorized):
    with pytest.raises(FormatError, match="codes tiles of 512"):
        mcz.decode(_tiling(factorized, tile=1024))


def test_bad_pad_multiple_is_refused(factorized):
    with pytest.raises(FormatError, match="pad_multiple"):
        mcz.read_info(_tiling(factorized, pad_multiple=0))
    with pytest.raises(FormatError, match="not a multiple"):
        mcz.read_info(_tiling(factorized, pad_multiple=7))


# -- a header that claims far more than the file holds ---------------------------------------------


def _bomb(data: bytes, tile: int) -> bytes:
    shape = [32, 16384, 16384]
    header = read_container(data).header.to_json_dict()
    header.update(rows=16384, columns=16384, frames=32, original_shape=shape,
                  tiling={**header["tiling"], "tile": tile})
    return mutate.raw_header_file(header, read_container(data).tiles[:1])


@pytest.mark.parametrize("tile", [16, 48, 512])
def test_a_header_only_bomb_is_refused_in_under_a_second_and_100_mb(factorized, tile):
    bomb = _bomb(factorized, tile)
    assert len(bomb) <= 2048
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(FormatError):
            mcz.decode(bomb)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0 and peak < 100 * 2**20, (elapsed, peak)


def test_read_info_warns_about_a_header_only_bomb(factorized):
    with pytest.warns(SuspiciousFileWarning, match="holds 1 TILE chunks, its header needs 32768"):
        info = mcz.read_info(_bomb(factorized, 512))
    assert info.compression_ratio > 1e6


def test_read_info_of_a_good_file_does_not_warn(factorized):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mcz.read_info(factorized)


# -- corrupt input is corrupt input (exit 4), not a usage error ------------------------------------


def test_a_corrupt_learned_string_is_a_checksum_error_before_synthesis(factorized):
    bad = mutate.with_rans_string(factorized, "factorized", __import__("random").Random(5).randbytes(2**16))
    with pytest.raises(ChecksumError, match="latents"):
        mcz.decode(bad)


def test_a_cae_tile_that_decodes_to_nan_is_a_checksum_error(cae):
    container = read_container(cae)
    tile = dataclasses.replace(container.tiles[0], params=(-1e38, 1e38))
    with pytest.raises(ChecksumError, match="NaN or infinite"):
        mcz.decode(mutate.with_tiles(cae, (tile,)), verify=False)


@pytest.mark.parametrize("params", [(-1e308, 1e308), (1.0, 0.0)])
def test_a_cae_latent_range_no_encoder_writes_is_a_format_error(cae, params):
    tile = dataclasses.replace(read_container(cae).tiles[0], params=params)
    with pytest.raises(FormatError, match="latent range"):
        mcz.decode(mutate.with_tiles(cae, (tile,)), verify=False)


@pytest.mark.parametrize("shape,layout", [([4096], "frames-first"), ([64, 1, 64], "frames-first"),
                                          ([1, 64, 64], "frames-last")])
def test_an_original_shape_that_does_not_fit_is_a_format_error(factorized, shape, layout):
    with pytest.raises(FormatError, match="original_shape"):
        mcz.decode(mutate.with_header(factorized, original_shape=shape, layout=layout))
    with pytest.raises(FormatError, match="original_shape"):
        mcz.read_info(mutate.with_header(factorized, original_shape=shape, layout=layout))


def test_a_fractional_window_for_an_integer_dtype_is_a_format_error(factorized):
    extra = {**read_container(factorized).header.extra, "window": [0.5, 0.6]}
    with pytest.raises(FormatError, match="window"):
        mcz.decode(mutate.with_header(factorized, extra=extra))


def test_a_dtype_intensity_mismatch_is_a_format_error(factorized):
    with pytest.raises(FormatError, match="intensity"):
        mcz.decode(mutate.with_header(factorized, dtype="uint16"))
    intensity = {**read_container(factorized).header.intensity, "bits_stored": 7, "high": 127}
    with pytest.raises(FormatError, match="intensity"):
        mcz.read_info(mutate.with_header(factorized, intensity=intensity))


def test_the_cli_exits_4_for_corrupt_payloads(factorized, tmp_path):
    path = tmp_path / "bad.mcz"
    path.write_bytes(mutate.with_rans_string(factorized, "factorized", b"\x00\x01" * 5000))
    assert main(["decode", str(path), "-o", str(tmp_path / "out.npy")]) == ExitCode.CORRUPT_INPUT


# -- no unwritten memory, strict encode arguments, usage errors for unfit images -------------------


def test_no_tiles_and_a_negative_tile_never_decode(factorized):
    bad = mutate.with_tiles(_tiling(factorized, tile=-512), ())
    with pytest.raises(FormatError):
        mcz.decode(bad, verify=False)


def test_missing_tiles_are_refused_even_without_verification(factorized):
    with pytest.raises(FormatError, match="holds 0 TILE chunks, the header needs 1"):
        mcz.decode(mutate.with_tiles(factorized, ()), verify=False)


@pytest.mark.parametrize("arguments", [{"bits_stored": "8"}, {"bits_stored": 8.0}, {"bits_stored": True},
                                       {"quality": True}, {"quality": 2.0}, {"signed": 1}])
def test_encode_refuses_coercible_arguments(arguments):
    with pytest.raises(UsageError):
        mcz.encode(mutate.ramp(), model="cae-compact", **arguments)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1, 8, 8), (1, 70000), (70000, 2)])
def test_images_the_format_cannot_hold_are_usage_errors(shape):
    with pytest.raises(UsageError, match="at most"):
        mcz.encode(np.zeros(shape, np.uint8), model="cae-compact")


# -- one bad file never aborts a CLI batch ---------------------------------------------------------


@pytest.fixture
def batch_dir(cae, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "d"):
        (folder / f"{name}.mcz").write_bytes(cae)
    (folder / "c.mcz").write_bytes(_tiling(cae, tile=0))
    return folder


def test_a_corrupt_file_fails_alone_and_the_batch_exits_8(batch_dir, tmp_path):
    out = tmp_path / "out"
    code = main(["decode", str(batch_dir), "-o", str(out), "-j", "1", "--to", "npy"])
    assert code == ExitCode.PARTIAL_BATCH
    assert sorted(p.name for p in out.iterdir()) == ["a.npy", "b.npy", "d.npy"]


def test_an_untyped_exception_fails_its_file_only(batch_dir, tmp_path, monkeypatch, capsys):
    from mcz import api

    real = api.decode_file

    def flaky(src, *args, **kwargs):
        if str(src).endswith("b.mcz"):
            raise TypeError("a bug")
        return real(src, *args, **kwargs)

    monkeypatch.setattr(api, "decode_file", flaky)
    (batch_dir / "c.mcz").unlink()
    out = tmp_path / "out"
    code = main(["decode", str(batch_dir), "-o", str(out), "-j", "1", "--to", "npy"])
    assert code == ExitCode.PARTIAL_BATCH
    assert sorted(p.name for p in out.iterdir()) == ["a.npy", "d.npy"]
    assert "internal error TypeError: a bug" in capsys.readouterr().err


# -- found by bench/fuzz.py: a JPEG 2000 frame larger than the DICOM header ------------------------


def _j2k_bomb(tmp_path, rows_claimed: int):
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.encaps import encapsulate, generate_frames

    ds = pydicom.dcmread(get_testdata_file("JPEG2000.dcm"))
    frame = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
    assert frame[:4] == b"\xff\x4f\xff\x51"
    frame[12:16] = rows_claimed.to_bytes(4, "big")  # Ysiz of the SIZ marker
    ds.PixelData = encapsulate([bytes(frame)])
    path = tmp_path / "bomb.dcm"
    ds.save_as(path)
    return path, ds


def test_a_jpeg2000_frame_that_claims_more_pixels_than_the_header_is_refused_before_decoding(tmp_path):
    from mcz.errors import ImageReadError
    from mcz.io import read_image

    path, ds = _j2k_bomb(tmp_path, 16_778_240)  # the fuzzer's input: 4 G pixels; it exhausted the memory
    start = time.perf_counter()
    with pytest.raises(ImageReadError, match=f"declares 16778240 x {ds.Columns} pixels"):
        read_image(path)
    assert time.perf_counter() - start < 5


def test_a_jpeg2000_frame_of_the_headers_size_still_reads(tmp_path):
    from mcz.io import read_image

    path, ds = _j2k_bomb(tmp_path, 1024)  # the size the frame really has
    assert read_image(path).pixels.shape == (1, ds.Rows, ds.Columns)


def test_codestream_sizes_of_jpeg_and_jpeg2000():
    from mcz.io.codestream import declared_size

    size = (300).to_bytes(4, "big") + (200).to_bytes(4, "big")
    j2k = b"\xff\x4f\xff\x51" + b"\x00\x29\x00\x00" + size + bytes(8)
    assert declared_size(j2k) == (200, 300)
    jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x0b\x08" + (64).to_bytes(2, "big") + (48).to_bytes(2, "big")
    assert declared_size(jpeg) == (64, 48)
    assert declared_size(b"\x00\x01rest") is None


@pytest.mark.parametrize("change", [{"original_shape": (1, 48, 40)}, {"layout": "frames-last", "original_shape": (48, 40, 1)}])
def test_an_edited_geometry_is_a_checksum_error_not_a_silent_reshape(change):
    """The header's geometry is covered by a tag, so (R, C) cannot silently become (R, C, 1)."""
    import numpy as np

    import mcz
    from mcz import container as mc
    from mcz.errors import ChecksumError

    image = (np.indices((48, 40)).sum(0) * 3).astype(np.uint8)
    data = mcz.encode(image)
    parsed = mc.read_container(data)
    edited = mc.write_container(dataclasses.replace(parsed, header=parsed.header.replace(**change)))
    with pytest.raises(ChecksumError, match="geometry"):
        mcz.decode(edited)
    assert mcz.decode(data).shape == (48, 40)


def test_an_edited_quality_is_refused_by_the_realistic_decoder_too():
    """fuzz-q: a hyperprior file whose header quality was edited (2 -> 1) decoded with the realistic
    decoder to another image without an error (the latent digest covers symbols, not how to read them)."""
    pytest.importorskip("torch")
    good = mutate.good_file("hyperprior-compact", quality=2)
    edited = mutate.with_header(good, quality=1)
    assert mcz.decode(good, decoder="realistic").shape == (64, 64)
    with pytest.raises(ChecksumError):
        mcz.decode(edited, decoder="realistic")
    with pytest.raises(ChecksumError):
        mcz.decode(edited)
