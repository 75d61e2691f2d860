"""The package layers of docs/architecture.md: no import goes up a layer, so no package cycle exists.

Every ``import`` of an ``mcz`` module is read from the source (at module level or inside a
function: both count; only ``if TYPE_CHECKING:`` blocks are left out, since they never run).
A package imports only from its own layer or from the layers below it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "mcz"

#: Lowest first. A name is a top-level module (``mcz.errors``) or a package (``mcz.codec``).
LAYERS: list[set[str]] = [
    {"errors"},
    {"header_dictionary", "fsutil", "remote", "intensity", "metrics", "digests", "profiling", "numcodecs", "search"},
    {"container", "executors"},
    {"io"},
    {"metadata", "datasets"},
    {"codec"},  # with its GPU backends (mcz.codec.gpu)
    {"dicom"},
    {"ratecontrol", "gan"},
    {"api"},
    {"baselines"},
    {"training", "bench"},
    {"downstream"},
    {"hallucination", "demo"},
    {"cli"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _unit(module: str) -> str:
    """The layer unit of a dotted module name: ``mcz.codec.engine`` -> ``codec``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""  # "" is mcz/__init__ (the lazy facade)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(n) for n in ast.walk(node))
    return out


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported mcz module, line) of every import in ``path`` that can run."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("mcz")]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]) if node.level else node.module or ""
            base = base.rstrip(".")
            if base == "mcz":  # from mcz import errors -> the module errors
                out += [(f"mcz.{a.name}", node.lineno) for a in node.names]
            elif base.startswith("mcz"):
                out.append((base, node.lineno))
    return out


def upward_imports() -> list[str]:
    """Every import from a lower layer to a higher one, as 'file:line: from -> to'."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        source = _unit(_module_name(path))
        if source not in RANK:
            continue
        for target, line in _imports(path):
            unit = _unit(target)
            if unit in RANK and RANK[unit] > RANK[source]:
                found.append(f"{path.relative_to(ROOT.parent)}:{line}: {source} -> {unit}")
    return found


def test_every_package_and_module_has_a_layer():
    units = {_unit(_module_name(p)) for p in ROOT.rglob("*.py")} - {"", "__version__"}
    assert units <= set(RANK), f"not in LAYERS (add them where they belong): {sorted(units - set(RANK))}"


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    # A check that cannot fail proves nothing: plant an upward import and expect it reported.
    fake = tmp_path / "mcz"
    (fake / "io").mkdir(parents=True)
    (fake / "io" / "bad.py").write_text("def f():\n    from mcz.codec import engine\n")
    (fake / "io" / "fine.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mcz.codec import engine\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake)
    assert upward_imports() == ["mcz/io/bad.py:2: io -> codec"]


def test_no_import_goes_up_a_layer():
    found = upward_imports()
    if found:
        pytest.fail("imports that go up a layer (docs/architecture.md, 'Layers'):\n" + "\n".join(found))
