"""encode -> decode through the public API with real checkpoint loading (seeded weights)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from pydicom.data import get_testdata_file

import mcz
from mcz import digests
from mcz.codec import engine
from mcz.container import read_container, write_container
from mcz.errors import ChecksumError, FormatError, ModelError, UsageError


def _roundtrip(array, **kw):
    data = mcz.encode(array, **kw)
    return data, mcz.decode(data)


@pytest.mark.parametrize(
    ("dtype", "bits", "low", "high"),
    [(np.uint8, 8, 0, 255), (np.uint16, 12, 0, 4095), (np.uint16, 16, 0, 65535), (np.int16, 16, -32768, 32767)],
)
def test_round_trip_keeps_dtype_shape_and_value_domain(seeded_zoo, dtype, bits, low, high):
    rng = np.random.default_rng(bits)
    image = rng.integers(low, high + 1, (3, 40, 70)).astype(dtype)
    data, out = _roundtrip(image, model="cae-compact", bits_stored=bits)
    assert out.dtype == image.dtype and out.shape == image.shape
    assert out.min() >= low and out.max() <= high
    info = mcz.read_info(data)
    assert info.header.bits_stored == bits and info.header.frames == 3
    assert info.bpp == pytest.approx(8 * len(data) / image.size)
    assert info.compression_ratio == pytest.approx(image.size * (1 if bits <= 8 else 2) / len(data))


def test_cae_seed_codes_a_real_ct_and_the_digest_matches(seeded_zoo):
    ct = get_testdata_file("CT_small.dcm")
    data = mcz.encode(ct, model="cae-seed")
    image = mcz.decode_image(data)
    container = read_container(data)
    assert container.header.digest == digests.shorten(engine.digest(image.pixels))
    assert image.pixels.dtype == np.int16 and image.pixels.shape == (1, 128, 128)
    assert image.intensity.signed and container.header.codec_id == "cae-seed"
    assert image.dicom is not None and "PixelData" not in image.dicom
    assert str(image.dicom.PatientName) == "CompressedSamples^CT1"
    assert container.header.quantiser == {"method": "minmax", "bits": 8, "rounding": "floor", "backend": "brotli"}


def test_odd_sizes_are_padded_and_large_frames_tiled(seeded_zoo):
    image = (np.add.outer(np.arange(600), np.arange(1100)) % 256).astype(np.uint8)
    data, out = _roundtrip(image, model="cae-compact")
    container = read_container(data)
    assert len(container.tiles) == 2 * 3  # 600x1100 in tiles of at most 512x512
    assert out.shape == (600, 1100)
    assert container.header.tiling == {"tile": 512, "pad_multiple": 16, "pad_mode": "edge"}


def test_quality_selects_the_latent_bits_and_the_rate(seeded_zoo):
    image = np.random.default_rng(1).integers(0, 256, (64, 64)).astype(np.uint8)
    sizes = [len(mcz.encode(image, model="cae-compact", quality=q)) for q in (2, 6, 8)]
    assert sizes[0] < sizes[1] < sizes[2]
    with pytest.raises(UsageError, match="1..8"):
        mcz.encode(image, model="cae-compact", quality=9)


def test_other_weights_are_refused_and_a_wrong_reconstruction_is_caught(seeded_zoo, tmp_path):
    from tests.zoo import write_checkpoint

    image = np.random.default_rng(2).integers(0, 256, (32, 32)).astype(np.uint8)
    data = mcz.encode(image, model="cae-compact")
    other = write_checkpoint(tmp_path, "cae-compact", seed=1)
    codec = engine.codec_from_state(
        engine.load_codec("cae-compact").spec,
        __import__("safetensors.torch", fromlist=["load_file"]).load_file(str(tmp_path / other["file"])),
        other["sha256"],
    )
    with pytest.raises(ModelError, match="encoded with"):
        engine.decode_bytes(data, codec=codec)
    # Same hash but different weights: only the reconstruction digest can tell.
    impostor = engine.Codec(codec.spec, codec.model, read_container(data).header.checkpoint_sha256)
    with pytest.raises(ChecksumError, match="digest"):
        engine.decode_bytes(data, codec=impostor)
    assert engine.decode_bytes(data, codec=impostor, verify=False).shape == (1, 32, 32)


def test_missing_tiles_are_a_format_error(seeded_zoo):
    data = mcz.encode(np.zeros((3, 16, 16), np.uint8), model="cae-compact")
    container = read_container(data)
    damaged = write_container(type(container)(container.header, container.tiles[:-1], container.metadata))
    with pytest.raises(FormatError, match="tiles"):
        mcz.decode(damaged)


def test_missing_weights_name_the_model_and_the_way_out(monkeypatch, tmp_path):
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(tmp_path))
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "models": []}))
    monkeypatch.setattr("mcz.codec.zoo._PACKAGE_DIR", tmp_path / "nowhere")
    (tmp_path / "nowhere").mkdir()
    monkeypatch.chdir(tmp_path / "nowhere")  # no ./checkpoints
    monkeypatch.setenv("MCZ_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match=r"'cae-seed'.*mcz train"):
        mcz.encode(np.zeros((32, 32), np.uint8), model="cae-seed")
    with pytest.raises(ModelError, match="unknown model id 'nope'"):
        mcz.encode(np.zeros((32, 32), np.uint8), model="nope")


def test_corrupt_weights_file_is_refused(seeded_zoo):
    folder, entries = seeded_zoo
    path = folder / entries["cae-compact"]["file"]
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="sha256"):
        mcz.encode(np.zeros((32, 32), np.uint8), model="cae-compact")


def test_codec_threads_are_restored(seeded_zoo):
    import torch

    torch.set_num_threads(1)
    mcz.encode(np.zeros((32, 32), np.uint8), model="cae-compact")
    assert torch.get_num_threads() == 1


def test_import_mcz_and_read_info_do_not_import_torch(seeded_zoo, tmp_path):
    path = tmp_path / "x.mcz"
    path.write_bytes(mcz.encode(np.zeros((32, 32), np.uint8), model="cae-compact"))
    code = (
        "import sys, mcz; from mcz.cli.main import main; "
        f"info = mcz.read_info({str(path)!r}); assert main(['info', {str(path)!r}]) == 0; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
