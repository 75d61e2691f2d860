"""bench/fuzz.py: the long-run driver reports counts and finds nothing on a short container run."""

from __future__ import annotations

import importlib
import json
import os

import pytest


def _fuzz_module():
    # Imported by name (bench/ is a namespace package) so the spawned worker can import it too.
    return importlib.import_module("bench.fuzz")


def test_cpu_seconds_reads_this_process():
    fuzz = _fuzz_module()
    sum(i * i for i in range(200_000))
    assert fuzz._cpu_seconds(os.getpid()) > 0
    assert fuzz._cpu_seconds(2**22 + 12345) == 0.0  # no such process


@pytest.mark.slow
def test_a_short_run_writes_a_summary(tmp_path):
    fuzz = _fuzz_module()
    code = fuzz.main(["--targets", "container", "--inputs", "200", "--seconds", "0", "--out", str(tmp_path)])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert code == 0 and summary[0]["attempts"] == 200
    assert sum(summary[0]["typed_errors"].values()) + summary[0]["ok"] == 200


class _ScriptedDog:
    """Stands in for the watchdog: each input's outcomes, in the order its runs ask for them."""

    script: dict = {}

    def __init__(self, target, seed, timeout):
        self.runs = {k: list(v) for k, v in self.script.items()}
        self.starts = 0

    def start(self):
        self.starts += 1
        return 100.0

    def run(self, index):
        return self.runs[index].pop(0), 100.0

    def alive(self):
        return True

    def stop(self):
        pass


@pytest.mark.parametrize("first", ["hang", "stalled"])
def test_an_input_over_the_limit_once_runs_again_and_only_twice_is_a_hang(tmp_path, monkeypatch, first):
    import argparse

    fuzz = _fuzz_module()
    _ScriptedDog.script = {0: ["ok"], 1: [first, "FormatError"], 2: [first, "hang"], 3: [first, "stalled"]}
    monkeypatch.setattr(fuzz, "Watchdog", _ScriptedDog)
    monkeypatch.setattr(fuzz, "_save", lambda *a: None)
    args = argparse.Namespace(seconds=0, inputs=4, seed=1, timeout=5.0, memory_mb=2048.0, out=tmp_path)
    result = fuzz.fuzz_target("container", args)
    assert result["attempts"] == 4 and result["ok"] == 1
    assert result["typed_errors"] == {"FormatError": 1}
    assert result["hangs"] == 2  # over the limit on the retry too: a hang, whichever limit
    retried = result["stalled_then_retried"] + result["over_cpu_limit_then_retried"]
    assert retried == 3
