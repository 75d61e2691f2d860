"""The package type-checks: mypy on ``mcz`` with the repository's configuration (pyproject.toml, [tool.mypy]).

A cold run takes about 30 s and 1 GiB here (torch's stubs); mypy's cache (.mypy_cache) makes later runs quick.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_error_in_the_package(monkeypatch):
    mypy_api = pytest.importorskip("mypy.api", reason="mypy is not installed (pip install 'mcz[dev]' has it)")
    monkeypatch.chdir(ROOT)  # the configuration's paths, and the cache, are relative to the repository root
    stdout, stderr, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), "mcz"])
    if status != 0:
        pytest.fail(f"mypy mcz exited with status {status}:\n{stdout}{stderr}")
