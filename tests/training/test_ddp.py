"""`mcz train --devices 2 --strategy ddp`: two CPU processes over gloo, the same state and export format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lightning")


ROOT = Path(__file__).parents[2]


def _train(folder: Path, run: Path, export: Path, devices: int, steps: int) -> dict:
    argv = [sys.executable, "-m", "mcz.cli.main", "train", "--model", "cae-compact", "--id", "cae-ddp-test",
            "--data", str(folder), "--max-steps", str(steps), "--patch", "32", "--batch-size", "2",
            "--out", str(run), "--export", str(export), "--threads", "1", "--accelerator", "cpu",
            "--devices", str(devices), "--strategy", "ddp" if devices > 1 else "auto", "--quiet"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout  # rank 0 reports; rank 1 stays quiet
    return json.loads(lines[0])


def _format(run: Path, export: Path) -> tuple:
    from safetensors import safe_open

    manifest = json.loads((export / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["id"] == "cae-ddp-test")
    with safe_open(str(export / entry["file"]), "np") as f:
        weights = {k: (f.get_tensor(k).shape, f.get_tensor(k).dtype.str) for k in f.keys()}
    with safe_open(str(run / "state.safetensors"), "np") as f:
        state = {k: (f.get_tensor(k).shape, f.get_tensor(k).dtype.str) for k in f.keys()}
    return sorted(entry), entry["weights_dtype"], weights, state


@pytest.mark.slow  # two runs plus a DDP launch: ~1-2 minutes on 2 loaded cores
def test_ddp_on_two_cpu_processes_exports_what_one_process_exports_and_resumes_on_one(tiny_folder, tmp_path):
    one = _train(tiny_folder, tmp_path / "run1", tmp_path / "zoo1", devices=1, steps=2)
    two = _train(tiny_folder, tmp_path / "run2", tmp_path / "zoo2", devices=2, steps=2)
    assert one["step"] == two["step"] == 2
    assert _format(tmp_path / "run1", tmp_path / "zoo1") == _format(tmp_path / "run2", tmp_path / "zoo2")
    state = json.loads((tmp_path / "run2" / "state.json").read_text())
    assert state["world_size"] == 2 and state["config"]["strategy"] == "ddp"
    assert json.loads((tmp_path / "run1" / "state.json").read_text())["world_size"] == 1
    # The state of the 2-process run resumes in one process: the step count goes on.
    resumed = _train(tiny_folder, tmp_path / "run2", tmp_path / "zoo3", devices=1, steps=1)
    assert resumed["step"] == 3
