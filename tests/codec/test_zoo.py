"""Checkpoint lookup: manifest hashes, search order, and the installed-wheel layout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mcz import digests
from mcz.codec import zoo

REPO = Path(__file__).resolve().parents[2]


def test_every_shipped_manifest_entry_matches_its_file():
    entries = zoo.read_manifest(REPO / "checkpoints")
    for entry in entries:
        path = REPO / "checkpoints" / entry["file"]
        assert path.is_file(), f"{entry['id']}: {path} missing"
        assert zoo.sha256_file(path) == entry["sha256"], f"{entry['id']}: hash differs"
        assert entry["file"] == f"{entry['id']}-{entry['sha256'][:8]}.safetensors"


def test_installed_layout_is_searched(seeded_zoo, monkeypatch, tmp_path):
    folder, _ = seeded_zoo
    package = tmp_path / "site" / "mcz"
    shutil.copytree(folder, package / "_checkpoints")
    monkeypatch.delenv("MCZ_CHECKPOINTS")
    monkeypatch.setenv("HOME", str(tmp_path))  # no user model folder, no ./checkpoints
    monkeypatch.delenv("MCZ_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(zoo, "_PACKAGE_DIR", package)
    assert zoo.checkpoint_dirs() == [package / "_checkpoints"]
    assert zoo.find_checkpoint("cae-compact").path.parent == package / "_checkpoints"


def test_unreadable_manifest_is_a_model_error(tmp_path, monkeypatch):
    (tmp_path / "manifest.json").write_text("{not json")
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(tmp_path))
    with pytest.raises(zoo.ModelError, match="unreadable"):
        zoo.find_checkpoint("cae-seed")


@pytest.mark.slow
def test_wheel_carries_the_checkpoints(tmp_path):
    """Builds the wheel (needs the build backend from the registry) and checks its contents."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True)
    wheel = next(tmp_path.glob("mcz-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    manifest = json.loads((REPO / "checkpoints" / "manifest.json").read_text())
    assert "mcz/_checkpoints/manifest.json" in names
    assert {f"mcz/_checkpoints/{m['file']}" for m in manifest["models"]} <= names
    assert "mcz/datasets/splits/br35h.json" in names


def _shipped():
    # Superseded weights stay listed only so that files coded with them decode (tests/data/format2).
    return [e for e in zoo.read_manifest(REPO / "checkpoints") if "superseded_by" not in e]


@pytest.mark.parametrize("entry", _shipped(), ids=lambda e: e["id"])
def test_every_shipped_model_codes_a_real_image_at_its_stated_bits(entry, monkeypatch, tmp_path):
    """A real bundled DICOM, rescaled into the model's stated bit depth, round-trips through it.

    "Trained, not noise" is checked against untrained (seeded) weights of the same
    architecture: an absolute bar would say more about how long a model trained
    (factorized-compact, 300 steps, is at 18.8 dB here) than about whether it did.
    """
    import numpy as np
    from pydicom.data import get_testdata_file

    import mcz
    from mcz.io import read_image
    from mcz.metrics import psnr

    monkeypatch.setenv("MCZ_CHECKPOINTS", str(REPO / "checkpoints"))
    ct = read_image(get_testdata_file("CT_small.dcm", download=False)).pixels[0].astype(np.float64)
    bits = entry["bits_stored"]
    image = np.rint((ct - ct.min()) / (ct.max() - ct.min()) * (2**bits - 1)).astype(np.uint8 if bits <= 8 else np.uint16)
    data = mcz.encode(image, model=entry["id"], bits_stored=bits)
    decoded = mcz.decode(data)
    assert decoded.dtype == image.dtype and decoded.shape == image.shape
    shipped = psnr(image, decoded, 2**bits - 1)
    assert mcz.read_info(data).header.checkpoint_sha256 == digests.shorten_weights(entry["sha256"])
    from tests.zoo import write_checkpoint

    write_checkpoint(tmp_path, entry["id"])
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(tmp_path))
    if entry["family"] == "wavelet":
        # The transform is fixed; what is learned is the context model, the quantiser's
        # choices and the reconstruction offsets. So at the shipped file's size the fitted model
        # must beat the untrained one's rate-distortion curve (measured 2.7 dB on this image before
        # the block-DCT tile mode, 0.96 dB since: the untrained model falls back on the block mode
        # where its wavelet coding is poor, while the fitted one keeps the wavelet here).
        quality = mcz.read_info(data).header.quality
        sizes, curve = [], []
        for q in range(quality - 10, quality + 11, 2):
            coded = mcz.encode(image, model=entry["id"], bits_stored=bits, quality=q)
            sizes.append(len(coded))
            curve.append(psnr(image, mcz.decode(coded), 2**bits - 1))
        # The untrained model's sizes need not rise with the quality: at a step of 16 stored units
        # its poor wavelet coding loses to the pixel tile mode, which is smaller. Compare with the
        # best PSNR it reaches within each size (its rate-distortion envelope).
        order = np.argsort(sizes)
        sizes, curve = list(np.asarray(sizes)[order]), list(np.maximum.accumulate(np.asarray(curve)[order]))
        assert sizes[0] < len(data) < sizes[-1]
        untrained_at_size = float(np.interp(len(data), sizes, curve))
        assert shipped > untrained_at_size + 0.5, (shipped, untrained_at_size)
    else:
        untrained = psnr(image, mcz.decode(mcz.encode(image, model=entry["id"], bits_stored=bits)), 2**bits - 1)
        assert shipped > max(15.0, untrained + 6.0), (shipped, untrained)


def test_changing_the_checkpoint_folders_loads_the_other_weights(monkeypatch, tmp_path):
    """The loaded-model cache follows the folders in force, not the id alone (no cache_clear here)."""
    from mcz.codec import engine
    from tests.zoo import write_checkpoint

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    sha_a = write_checkpoint(first, "cae-compact", seed=1)["sha256"]
    sha_b = write_checkpoint(second, "cae-compact", seed=2)["sha256"]
    assert sha_a != sha_b
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(first))
    assert engine.load_codec("cae-compact").checkpoint_sha256 == sha_a
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(second))
    assert engine.load_codec("cae-compact").checkpoint_sha256 == sha_b
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(first))
    assert engine.load_codec("cae-compact") is engine.load_codec("cae-compact")  # still cached


def _renamed(folder: Path, old: str, new: str) -> None:
    """List ``folder``'s weights of ``old`` under the id ``new`` too (a model only that folder defines)."""
    manifest = json.loads((folder / zoo.MANIFEST_NAME).read_text())
    manifest["models"].append({**next(m for m in manifest["models"] if m["id"] == old), "id": new})
    (folder / zoo.MANIFEST_NAME).write_text(json.dumps(manifest))


def test_a_zoo_of_its_own_shares_no_folder_spec_or_loaded_model(tmp_path):
    import numpy as np

    from mcz.codec import engine, registry
    from mcz.io import from_array
    from tests.zoo import write_checkpoint

    sha = write_checkpoint(tmp_path, "cae-compact", seed=5)["sha256"]
    _renamed(tmp_path, "cae-compact", "cae-compact-own")
    own = zoo.Zoo([tmp_path])
    codec = own.load("cae-compact")
    assert codec.checkpoint_sha256 == sha and own.load("cae-compact") is codec  # cached in this zoo
    assert zoo.Zoo([tmp_path]).load("cae-compact") is not codec  # another zoo, another cache
    assert own.available_ids() == {"cae-compact", "cae-compact-own"}
    assert "cae-compact-own" in own.registry and "cae-compact-own" not in registry.registered_ids()
    assert [origin for _, origin in own.sources()] == ["folder"]
    image = from_array(np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8))
    data = engine.encode_image(image, own.load("cae-compact-own"))
    assert engine.decode_bytes(data, codec=own.load("cae-compact-own")).shape == (1, 32, 32)
    own.clear()
    assert own.load("cae-compact") is not codec


def test_a_zoo_without_the_weights_says_where_it_searched(tmp_path):
    with pytest.raises(zoo.ModelError, match="no checkpoint folder with a manifest.json"):
        zoo.Zoo([tmp_path / "empty"]).load("cae-compact")
    with pytest.raises(zoo.ModelError, match="unknown model id 'nope'"):
        zoo.Zoo([]).find("nope")
