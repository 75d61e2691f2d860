"""The downstream pipeline end to end on a handful of synthetic images, with tiny settings."""

import dataclasses
import json

import numpy as np
import pytest

pytest.importorskip("torchvision")
pytest.importorskip("matplotlib")

from mcz.downstream import report, run


def _payload():
    names = {"train": [f"t{i}" for i in range(16)], "val": [], "test": [f"s{i}" for i in range(8)]}
    labels = {n: int(n[1:]) % 2 for part in names.values() for n in part}
    groups = {n: (100 if n[0] == "t" else 200) + int(n[1:]) // 2 * 2 + int(n[1:]) % 2 for n in labels}
    return {"splits": names, "labels": labels, "groups": groups}


def _loader(name: str) -> np.ndarray:
    rng = np.random.default_rng(sum(map(ord, name)))
    img = rng.normal(70, 10, (80, 80))
    if int(name[1:]) % 2:  # "tumour": a bright blob
        y, x = rng.integers(20, 60, 2)
        yy, xx = np.mgrid[:80, :80]
        img += 120 * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / 60.0)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_quick_preset_end_to_end(tmp_path):
    cfg = dataclasses.replace(
        run.QUICK,
        codecs=("jpeg", "j2k"),
        ratios=(8.0, 20.0),
        train_ratios=(8.0,),
        protocols=("a", "b", "c"),
        resolution=16,
        source=64,
        train_limit=None,
        test_limit=None,
        epochs=2,
        bootstrap=50,
        task_aware=False,
        cache=tmp_path / "cache",
    )
    out = tmp_path / "out"
    summary = run.run(cfg, out, payload=_payload(), loader=_loader, log=lambda m: None)

    cells = summary["cells"]
    keys = {(c["protocol"], c["codec"], c["target_ratio"]) for c in cells}
    for codec in cfg.codecs:
        for r in cfg.ratios:
            assert ("a", codec, r) in keys
    assert ("b", "j2k", 8.0) in keys and ("c", "jpeg", 8.0) in keys
    for c in cells:
        assert c["test_images"] == 8 and np.sum(c["confusion"]) == 8
        low, high = c["ci95"]["accuracy"]
        assert low <= c["metrics"]["accuracy"] <= high
        if c["codec"] != "original":
            # ratio measured on the whole file against 64*64 bytes of 8-bit raw
            assert c["rate"]["bpp_mean"] == pytest.approx(
                8.0 * np.mean([1 / r for r in [c["rate"]["achieved_ratio_mean"]]]), rel=0.5
            )
    j2k = next(c for c in cells if c["codec"] == "j2k" and c["target_ratio"] == 8.0 and c["protocol"] == "a")
    assert j2k["reached"] and abs(j2k["rate"]["achieved_ratio_mean"] - 8.0) < 0.4
    assert "highest_safe_ratio" in summary and "a" in summary["highest_safe_ratio"]
    for name in (
        "results.json",
        "results.md",
        "plots/accuracy-a-tinycnn.png",
        "plots/heatmap-a-tinycnn.png",
        "plots/confusion-a-tinycnn.png",
    ):
        assert (out / name).is_file()

    # resumable: a second run recomputes nothing and gives the same cells
    before = {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*.json")}
    again = run.run(cfg, out, payload=_payload(), loader=_loader, log=lambda m: None, plot=False)
    assert {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*.json")} == before
    assert json.dumps(again["cells"]) == json.dumps(summary["cells"])


def test_task_aware_mcz_codec(tmp_path):
    """mcz and its task-aware fine-tune (2 steps) code real frames through the downstream cache."""
    import torch

    from mcz.downstream import classifiers, compress, taskaware

    torch.set_num_threads(1)
    frames = np.stack([_loader(f"t{i}")[:32, :32] for i in range(2)])
    frozen = classifiers.build("smallcnn", 16).eval()
    state = taskaware.finetune("cae-compact", frozen, frames, steps=2, weight=0.02, resolution=16)
    codec = taskaware.task_codec("cae-compact", state)
    assert codec.name == "mcz:cae-compact+task"
    base = compress.resolve("mcz:cae-compact")
    for c in (base, codec):
        d = compress.decoded_set(compress.memoised(c), 12.0, ["t0", "t1"], frames, tmp_path)
        assert d.frames.shape == (2, 32, 32) and d.frames.dtype == np.uint8
        # whole .mcz file against 32*32 bytes of 8-bit raw
        assert np.allclose(d.achieved, 32 * 32 / d.nbytes)
        assert np.all(d.psnr > 5)
    assert not np.array_equal(
        *(compress.decoded_set(c, 12.0, ["t0", "t1"], frames, tmp_path).frames for c in (base, codec))
    )


def test_safe_ratio_rule():
    def cell(r, low, achieved=None, roc_low=0.0):
        return {
            "target_ratio": r,
            "rate": {"achieved_ratio_mean": achieved or r},
            "vs_original": {
                "accuracy": {"difference": 0.0, "low": low, "high": 0.02},
                "auroc": {"difference": 0.0, "low": roc_low, "high": 0.01},
            },
        }

    cells = [cell(4, -0.005), cell(8, -0.009), cell(16, -0.02), cell(32, 0.0)]
    assert report.safe_ratio(cells) == 8  # 16 may lose 2 pp: 32 is not credited
    assert report.safe_ratio([cell(4, 0.0, roc_low=-0.03)]) is None  # AUROC may drop by 3 points
    assert report.safe_ratio([cell(4, -0.005, achieved=14.0), cell(16, 0.0)]) == 16  # unreached skipped
    assert report.safe_ratio(cells, qualified=False) == report.NOT_QUALIFIED


def test_quick_preset_fits_its_time_budget():
    """The quick preset's cost items: one small classifier, protocol a only, 3 ratios, ~120 test images."""
    q = run.QUICK
    assert q.classifiers == ("tinycnn",) and q.protocols == ("a",) and not q.task_aware
    assert len(q.ratios) <= 3 and q.test_limit <= 150 and q.train_limit <= 400 and q.resolution <= 64
    assert q.epochs * q.train_limit <= 4000  # image-steps of the one training (~50 s on one core here)
    # codecs whose 224 px test sets code in about a minute each here; wavelet-ctx (~2.5 s per image
    # and ratio) is left to an explicit run
    assert set(q.codecs) <= {"jpeg", "j2k", "jxl", "webp", "mcz:cae-compact"}
    assert "mobilenet_v2" not in run.FULL.classifiers and "mobilenet_v2" not in q.classifiers


def test_cli_parses_downstream(tmp_path):
    from mcz.cli.downstream import config_from
    from mcz.cli.main import build_parser

    args = build_parser().parse_args(
        [
            "bench",
            "--downstream",
            "--quick",
            "--codecs",
            "jpeg,j2k",
            "--targets",
            "8,16",
            "--epochs",
            "1",
            "--task-steps",
            "0",
            "--out",
            str(tmp_path),
        ]
    )
    assert args.downstream
    cfg = config_from(args)
    assert cfg.codecs == ("jpeg", "j2k") and cfg.ratios == (8.0, 16.0) and cfg.epochs == 1
    assert cfg.resolution == 64 and not cfg.task_aware
    with pytest.raises(ValueError):
        config_from(build_parser().parse_args(["bench", "--downstream", "--resolution", "50"]))
    # "mcz" is every installed model, as in the rate bench (protocol a for all of them)
    from mcz.codec import zoo

    every = config_from(build_parser().parse_args(["bench", "--downstream", "--codecs", "j2k,mcz"]))
    assert every.codecs == ("j2k", *(f"mcz:{i}" for i in sorted(zoo.available_ids())))
    assert "mcz:wavelet-ctx" in every.codecs
