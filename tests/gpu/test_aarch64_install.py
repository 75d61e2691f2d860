"""The Jetson install check (bench/aarch64_check.py): markers here, wheel resolution with -m slow."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from packaging.requirements import Requirement

_PATH = Path(__file__).resolve().parents[2] / "bench" / "aarch64_check.py"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("aarch64_check", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_jetson_markers_keep_tensorrt_to_jetpack_and_python_310(check):
    assert check.check_markers() == []
    jetson = {r.name for r in check.active(check.requirements(), check.JETPACK6)}
    assert {"torch", "compressai", "onnx", "onnxruntime", "numpy"} <= jetson
    assert not any(name.startswith("tensorrt") for name in jetson)


def test_the_marker_check_would_catch_an_unguarded_tensorrt(check):
    unguarded = Requirement("tensorrt-cu13>=10.8")
    assert check.active([unguarded], check.JETPACK6) == [unguarded]
    guarded = Requirement("tensorrt-cu13>=10.8; platform_machine == 'x86_64'")
    assert check.active([guarded], check.JETPACK6) == [] and check.active([guarded], check.X86_64) == [guarded]


def test_the_gpu_extra_is_not_in_all(check):
    import tomllib

    optional = tomllib.loads((_PATH.parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "gpu" not in optional["all"][0] and not any("tensorrt" in r for r in optional["all"])


@pytest.mark.slow
def test_every_jetson_requirement_has_an_aarch64_wheel(check):
    result = check.check_wheels()
    if "Could not fetch URL" in result.stderr or "NewConnectionError" in result.stderr:
        pytest.skip("PyPI is not reachable")
    assert result.returncode == 0, result.stderr[-2000:]
