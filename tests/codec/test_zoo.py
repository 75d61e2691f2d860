"""Checkpoint lookup: manifest hashes, search order, and the installed-wheel layout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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
