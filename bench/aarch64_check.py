"""Does mcz install on a Jetson (aarch64, JetPack 6: Ubuntu 22.04, Python 3.10)? A check that needs no GPU.

Two parts:

* ``markers``: evaluates every requirement of ``pyproject.toml`` (core and the extras
  a Jetson uses) under the JetPack 6 environment markers, and checks that TensorRT is
  *not* requested from PyPI there (JetPack's own TensorRT must be used) but is on x86_64.
* ``wheels`` (needs PyPI): asks pip to resolve those requirements as binary wheels for
  glibc 2.35 aarch64 (``manylinux_2_35`` and older tags) / CPython 3.10 (``pip install --dry-run --only-binary=:all:``),
  so a dependency without an aarch64 wheel shows up before anyone is at the board.

Usage: ``python bench/aarch64_check.py [markers|wheels|all]``; exit status 0 when it passes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10, JetPack 6's own
    import tomli as tomllib
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
#: What a Jetson with JetPack 6 reports to pip.
JETPACK6 = {**default_environment(), "platform_machine": "aarch64", "sys_platform": "linux",
            "platform_system": "Linux", "python_version": "3.10", "python_full_version": "3.10.12",
            "implementation_name": "cpython"}
X86_64 = {**JETPACK6, "platform_machine": "x86_64"}
#: Wheel tags Ubuntu 22.04 (glibc 2.35) on aarch64 accepts; pip does not expand --platform to older glibcs itself.
PLATFORM_ARGS = [arg for tag in ("manylinux_2_35_aarch64", "manylinux_2_28_aarch64", "manylinux_2_17_aarch64",
                                 "manylinux2014_aarch64", "linux_aarch64") for arg in ("--platform", tag)]
#: Found by this check: no aarch64 wheel on PyPI, so pip builds them from source on the board
#: (compressai 1.2.8: a C++ extension; needs build-essential and the JetPack torch first; docs/jetson.md).
SOURCE_BUILDS = ("compressai",)
#: Extras a Jetson installs (torch comes from NVIDIA's JetPack wheel; see docs/jetson.md).
JETSON_EXTRAS = ("entropy", "export", "gpu")


def requirements(extras: tuple[str, ...] = JETSON_EXTRAS) -> list[Requirement]:
    """The core requirements and those of ``extras`` (self-references ``mcz[...]`` expanded)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    out, todo, seen = [Requirement(r) for r in project["dependencies"]], list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in optional[extra]:
            req = Requirement(text)
            if req.name == "mcz":
                todo.extend(req.extras)
            else:
                out.append(req)
    return out


def active(reqs: list[Requirement], env: dict) -> list[Requirement]:
    """The requirements whose marker holds in ``env``."""
    return [r for r in reqs if r.marker is None or r.marker.evaluate(env)]


def check_markers() -> list[str]:
    """Problems found by evaluating the markers (empty: none)."""
    problems = []
    jetson = {r.name for r in active(requirements(), JETPACK6)}
    x86 = {r.name for r in active(requirements(), X86_64)}
    if any(name.startswith("tensorrt") for name in jetson):
        problems.append("a tensorrt wheel is requested on aarch64; JetPack's TensorRT must be used there")
    if "tensorrt-cu13" not in x86:
        problems.append("the gpu extra does not request tensorrt-cu13 on x86_64")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    from packaging.specifiers import SpecifierSet

    if "3.10" not in SpecifierSet(requires):
        problems.append(f"requires-python {requires} excludes JetPack 6's Python 3.10")
    return problems


def check_wheels() -> subprocess.CompletedProcess:
    """pip's dry-run resolution of the Jetson requirements as aarch64 wheels (torch left to JetPack)."""
    reqs = [str(r) for r in active(requirements(), JETPACK6) if r.name not in ("torch", *SOURCE_BUILDS)]
    with tempfile.TemporaryDirectory() as target:
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                   "--only-binary=:all:", *PLATFORM_ARGS, "--python-version", "3.10",
                   "--implementation", "cp", "--target", target, *reqs]
        return subprocess.run(command, capture_output=True, text=True, timeout=600)


def main(argv: list[str]) -> int:
    part = argv[0] if argv else "all"
    status = 0
    if part in ("markers", "all"):
        problems = check_markers()
        print("markers:", "ok" if not problems else "; ".join(problems))
        status |= bool(problems)
    if part in ("wheels", "all"):
        result = check_wheels()
        print("wheels:", "ok" if result.returncode == 0 else result.stderr.strip()[-2000:],
              f"(from source on the board: {', '.join(SOURCE_BUILDS)}; torch: JetPack's wheel)")
        status |= result.returncode != 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
