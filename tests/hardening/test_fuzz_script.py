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
