"""Trained models are found without environment variables."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("lightning")

import mcz  # noqa: E402
from mcz.cli.main import main  # noqa: E402
from mcz.codec import zoo  # noqa: E402
from mcz.errors import ModelError  # noqa: E402
from mcz.io import from_array, write_image  # noqa: E402


@pytest.fixture
def bare_home(tmp_path, monkeypatch):
    """A fresh HOME and working directory, and none of mcz's environment variables."""
    for name in ("MCZ_CHECKPOINTS", "MCZ_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield home


def _images(folder):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        ramp = (np.add.outer(np.arange(48), np.arange(40)) * (i + 1) + rng.integers(0, 50, (48, 40))) % 4096
        write_image(folder / f"img{i}.png", from_array(ramp.astype(np.uint16), bits_stored=12))
    return folder


def test_trained_model_round_trip_without_environment_variables(bare_home, tmp_path, capsys):
    argv = ["train", "--model", "cae-compact", "--id", "cae-compact-mymod", "--data", str(_images(tmp_path / "im")),
            "--max-steps", "1", "--patch", "32", "--batch-size", "2", "--out", str(tmp_path / "run"),
            "--threads", "1", "--val-images", "1"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    user = bare_home / ".local" / "share" / "mcz" / "models"
    assert "mcz encode -m cae-compact-mymod" in err and str(user) in err and "MCZ_CHECKPOINTS" not in err
    assert main(["models"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("cae-compact-mymod "))
    assert "installed" in line and " user " in line
    image = np.random.default_rng(1).integers(0, 4096, (40, 48)).astype(np.uint16)
    data = mcz.encode(image, model="cae-compact-mymod", bits_stored=12)
    assert mcz.decode(data).shape == image.shape
    sha = json.loads((user / "manifest.json").read_text())["models"][0]["sha256"]
    # Another machine without the weights: the error names them and how to install them.
    shutil.move(str(user), str(tmp_path / "elsewhere"))
    with pytest.raises(ModelError, match=rf"sha256 {sha[:16]}.*copy the weights file cae-compact-mymod-{sha[:8]}"):
        mcz.decode(data)


def test_checkpoints_in_the_working_directory_are_searched(bare_home, seeded_zoo, monkeypatch):
    folder, _ = seeded_zoo
    monkeypatch.delenv("MCZ_CHECKPOINTS")
    shutil.copytree(folder, "checkpoints")
    sources = dict((origin, path) for path, origin in zoo.checkpoint_sources())
    assert "./checkpoints" in sources
    assert zoo.find_checkpoint("cae-seed").path.parent.resolve() == (sources["./checkpoints"]).resolve()


def test_mcz_home_names_the_user_model_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("MCZ_HOME", str(tmp_path))
    assert zoo.user_model_dir() == tmp_path / "models"


def test_a_file_finds_its_own_weights_when_another_folder_has_other_weights_under_its_id(seeded_zoo, tmp_path,
                                                                                          monkeypatch):
    from tests.zoo import write_checkpoint

    folder, _ = seeded_zoo
    data = mcz.encode(np.zeros((32, 32), np.uint8), model="cae-compact")
    other = tmp_path / "other"
    other.mkdir()
    write_checkpoint(other, "cae-compact", seed=99)  # same id, other weights, searched first
    monkeypatch.setenv("MCZ_CHECKPOINTS", f"{other}{__import__('os').pathsep}{folder}")
    assert mcz.decode(data).shape == (32, 32)
