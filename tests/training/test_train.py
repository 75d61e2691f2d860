"""A real (tiny) training run through `mcz train`: weights that load and code."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("lightning")

import mcz  # noqa: E402
from mcz.cli.main import main  # noqa: E402
from mcz.codec import engine, zoo  # noqa: E402


def test_two_step_training_exports_weights_that_load_and_round_trip(tiny_folder, tmp_path, monkeypatch):
    run, out = tmp_path / "run", tmp_path / "zoo"
    argv = ["train", "--model", "cae-compact", "--id", "cae-compact-test", "--data", str(tiny_folder),
            "--max-steps", "2", "--patch", "32", "--batch-size", "2", "--out", str(run), "--export", str(out),
            "--threads", "1"]
    assert main(argv) == 0
    state = json.loads((run / "state.json").read_text())
    assert state["step"] == 2 and state["config"]["data"] == str(tiny_folder)
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["id"] == "cae-compact-test")
    assert zoo.sha256_file(out / entry["file"]) == entry["sha256"]
    assert entry["steps"] == 2 and entry["recipe"]["patch"] == 32 and entry["weights_dtype"] == "float16"
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(out))
    image = np.random.default_rng(1).integers(0, 4096, (2, 50, 60)).astype(np.uint16)
    decoded = mcz.decode(mcz.encode(image, model="cae-compact-test", bits_stored=12))
    assert decoded.shape == image.shape and decoded.dtype == np.uint16 and decoded.max() <= 4095
    # A second run resumes from the saved state: the step count continues.
    assert main(argv) == 0
    assert json.loads((run / "state.json").read_text())["step"] == 4


def test_a_new_run_can_start_from_installed_weights(seeded_zoo, tiny_folder, tmp_path):
    folder, entries = seeded_zoo
    run, out = tmp_path / "run", tmp_path / "zoo2"
    argv = ["train", "--model", "cae-compact", "--id", "cae-compact-init", "--data", str(tiny_folder),
            "--max-steps", "1", "--patch", "32", "--batch-size", "2", "--out", str(run), "--export", str(out),
            "--threads", "1", "--init", "cae-compact", "--lr", "0"]
    assert main(argv) == 0
    entry = json.loads((out / "manifest.json").read_text())["models"][0]
    assert entry["recipe"]["init"] == "cae-compact"
    # With a zero learning rate the exported weights are the initial ones (rounded to fp16).
    import torch
    from safetensors.torch import load_file

    start = load_file(str(folder / entries["cae-compact"]["file"]))
    end = load_file(str(out / entry["file"]))
    assert all(torch.allclose(start[k].half().float(), end[k].float()) for k in start)


def test_a_learned_entropy_model_trains_exports_exact_tables_and_codes(tiny_folder, tmp_path, monkeypatch):
    pytest.importorskip("compressai")
    from safetensors.torch import load_file

    from mcz.codec import registry
    from tests.zoo import TINY_LEARNED

    spec = registry.register(TINY_LEARNED["hyperprior"])
    run, out = tmp_path / "run", tmp_path / "zoo"
    argv = ["train", "--model", spec.id, "--data", str(tiny_folder), "--max-steps", "2", "--patch", "64",
            "--batch-size", "2", "--out", str(run), "--export", str(out), "--threads", "1", "--val-images", "2"]
    assert main(argv) == 0
    entry = json.loads((out / "manifest.json").read_text())["models"][0]
    tensors = load_file(str(out / entry["file"]))
    # entropy-coder tables and fixed-point weights are stored exactly, not as fp16
    assert tensors["y_model._quantized_cdf"].dtype.is_floating_point is False
    assert tensors["h_s.up1.weight_int"].dtype.is_floating_point is False
    assert str(tensors["h_s.scale.multiplier"].dtype) == "torch.float32"
    assert str(tensors["g_s.0.0.weight"].dtype) == "torch.float16"
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(out))
    image = np.random.default_rng(1).integers(0, 4096, (70, 90)).astype(np.uint16)
    decoded = mcz.decode(mcz.encode(image, model=spec.id, bits_stored=12, quality=3))
    assert decoded.shape == image.shape and decoded.max() <= 4095


def test_a_factorized_model_can_borrow_a_hyperprior_s_transforms(learned_zoo, tiny_folder, tmp_path):
    import torch
    from safetensors.torch import load_file

    from tests.zoo import TINY_LEARNED

    hyper, factorized = TINY_LEARNED["hyperprior"].id, TINY_LEARNED["factorized"].id
    run, out = tmp_path / "run", tmp_path / "zoo2"
    argv = ["train", "--model", factorized, "--data", str(tiny_folder), "--max-steps", "1", "--patch", "32",
            "--batch-size", "2", "--out", str(run), "--export", str(out), "--threads", "1", "--init", hyper,
            "--lr", "0", "--val-images", "1"]
    assert main(argv) == 0
    entry = json.loads((out / "manifest.json").read_text())["models"][0]
    start = load_file(str(next(learned_zoo.glob(f"{hyper}-*.safetensors"))))
    end = load_file(str(out / entry["file"]))
    assert torch.allclose(start["g_a.0.weight"].half().float(), end["g_a.0.weight"].float())
    assert "z_model._quantized_cdf" not in end  # a factorized model has no hyper latent


def test_cae_training_with_an_entropy_regulariser_logs_its_rate(tiny_folder, tmp_path):
    pytest.importorskip("compressai")
    run = tmp_path / "run"
    argv = ["train", "--model", "cae-compact", "--id", "cae-compact-rate", "--data", str(tiny_folder),
            "--max-steps", "2", "--patch", "32", "--batch-size", "2", "--out", str(run), "--export", "",
            "--threads", "1", "--rate-weight", "0.01"]
    assert main(argv) == 0
    state = json.loads((run / "state.json").read_text())
    assert state["config"]["rate_weight"] == 0.01
    assert state["metrics"]["train_bpp_estimate"] > 0


def test_the_entropy_regulariser_is_refused_for_learned_families(tiny_folder, tmp_path, capsys):
    from mcz.codec import registry
    from tests.zoo import TINY_LEARNED

    spec = registry.register(TINY_LEARNED["factorized"])
    argv = ["train", "--model", spec.id, "--data", str(tiny_folder), "--max-steps", "1", "--patch", "32",
            "--out", str(tmp_path / "r"), "--export", "", "--rate-weight", "0.01"]
    assert main(argv) != 0
    assert "has its own rate term" in capsys.readouterr().err


def test_wavelet_training_refits_the_installed_model_on_a_new_folder(tiny_folder, tmp_path, monkeypatch):
    """`mcz train` on the wavelet family: fitting rounds from the shipped model, exported, usable."""
    pytest.importorskip("compressai")
    from mcz.codec.wavelet.model import WaveletWeights

    run, out = tmp_path / "run", tmp_path / "zoo"
    argv = ["train", "--model", "wavelet-ctx", "--id", "wavelet-ctx-pngs", "--data", str(tiny_folder),
            "--rounds", "1", "--bits", "12", "--out", str(run), "--export", str(out)]
    assert main(argv) == 0
    state = json.loads((run / "state.json").read_text())
    assert state["step"] == 1 and "bits/symbol" in state["metrics"]["fit"]
    entry = json.loads((out / "manifest.json").read_text())["models"][0]
    assert entry["id"] == "wavelet-ctx-pngs" and entry["recipe"]["init"] == "wavelet-ctx"
    assert zoo.sha256_file(out / entry["file"]) == entry["sha256"]
    shipped = engine.load_codec("wavelet-ctx").model.state_dict()
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(out))
    fitted = engine.load_codec("wavelet-ctx-pngs").model
    assert isinstance(fitted, WaveletWeights)
    assert not np.array_equal(fitted.arrays["weights"], shipped["weights"])
    assert not np.array_equal(fitted.arrays["packet_weights"], shipped["packet_weights"])  # children refitted too
    image = np.random.default_rng(1).integers(0, 4096, (50, 60)).astype(np.uint16)
    decoded = mcz.decode(mcz.encode(image, model="wavelet-ctx-pngs", bits_stored=12, quality=60))
    assert decoded.dtype == np.uint16 and np.abs(decoded.astype(int) - image).max() <= 2


def test_a_time_budget_stops_training_and_saves_a_resumable_state(tiny_folder, tmp_path):
    """``--time-budget`` (fixed-time runs on a lent GPU) ends long before --max-steps and keeps the state."""
    run = tmp_path / "run"
    argv = ["train", "--model", "cae-compact", "--id", "cae-compact-budget", "--data", str(tiny_folder),
            "--max-steps", "100000", "--patch", "32", "--batch-size", "2", "--out", str(run), "--export", "",
            "--threads", "1", "--val-every", "100000", "--time-budget", "3s"]
    assert main(argv) == 0
    state = json.loads((run / "state.json").read_text())
    assert 0 < state["step"] < 100000 and state["config"]["time_budget"] == "3s"


@pytest.mark.parametrize("budget", ["abc", "-5m", "0", "5x"])
def test_a_bad_time_budget_is_a_usage_error(budget, tmp_path, capsys):
    argv = ["train", "--model", "cae-compact", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
            "--export", "", "--time-budget", budget]
    assert main(argv) == 2
    assert "--time-budget" in capsys.readouterr().err


def test_durations_are_read_with_their_unit():
    from mcz.training.config import parse_duration

    assert [parse_duration(t) for t in ("90", "90s", "9m", "2h")] == [90.0, 90.0, 540.0, 7200.0]
