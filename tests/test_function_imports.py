"""Imports inside functions only where they must be, each with a comment that says why.

An import inside a function hides a dependency: it is there to keep torch, pydicom or an optional
extra out of ``import mcz`` and the ``mcz`` command's start-up (``mcz.cli.main``), or to break an
import cycle, and says so (``# lazy: ...``, ``# optional: ...``).  Anything else belongs at the top
of its module.  This test reads every module under ``mcz/`` and fails on an import inside a
function (or method) with no comment on its own lines or on a comment line just above it (a
comment ending the line of code above is about that code); a run of consecutive imports may
share the comment above its first one.  A comment that is only a linter pragma
(``# noqa``, ``# type: ignore``) does not say why.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "mcz"

#: Files being changed by other work when this test was written; their function-level imports are
#: pending (hoisted or explained there). Remove an entry once its file passes.
PENDING: tuple[str, ...] = ()

_PRAGMA = re.compile(r"#\s*(noqa|type:|pragma|pylint|fmt:)")


def _reasons(source: str) -> tuple[set[int], set[int]]:
    """Lines with a comment that is more than a linter pragma, and those of them with nothing else."""
    lines = source.split("\n")
    found = {token.start[0] for token in tokenize.generate_tokens(io.StringIO(source).readline)
             if token.type == tokenize.COMMENT and not _PRAGMA.match(token.string)}
    return found, {n for n in found if lines[n - 1].lstrip().startswith("#")}


def _function_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found: dict[int, ast.Import | ast.ImportFrom] = {}
    for func in ast.walk(tree):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.update((id(n), n) for n in ast.walk(func) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return sorted(found.values(), key=lambda n: n.lineno)


def unexplained_imports(root: Path = ROOT, pending: tuple[str, ...] = PENDING) -> list[str]:
    """Every import inside a function with no comment saying why, as 'file:line: statement'."""
    out = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).as_posix()
        if relative.startswith(pending):
            continue
        source = path.read_text(encoding="utf-8")
        reasons, alone = _reasons(source)
        explained_ends: set[int] = set()  # last lines of explained imports: the next line may share it
        for node in _function_imports(ast.parse(source)):
            own = range(node.lineno, node.end_lineno + 1)
            above = node.lineno - 1
            if any(line in reasons for line in own) or above in alone or above in explained_ends:
                explained_ends.add(node.end_lineno)
            else:
                out.append(f"{relative}:{node.lineno}: {ast.unparse(node)}")
    return out


def test_the_checker_sees_an_unexplained_import(tmp_path):
    # A check that cannot fail proves nothing: plant imports with and without a reason.
    fake = tmp_path / "mcz"
    fake.mkdir()
    (fake / "mod.py").write_text(
        "def f():\n"
        "    import json\n"                                  # no reason: reported
        "    import os  # noqa: F401\n"                      # a pragma is no reason: reported
        "    # lazy: torch stays out of import mcz\n"
        "    import torch\n"
        "    from torch import nn\n"                          # shares the comment above the run
        "\n"
        "    import pydicom  # lazy: keeps pydicom out of import mcz\n"
        "    x = 1  # about x\n"
        "    import numpy as np\n"                         # the comment above is about x: reported
        "    class C:\n"
        "        def g(self):\n"
        "            import numpy\n"                          # a method's import: reported
    )
    assert unexplained_imports(fake, pending=()) == ["mcz/mod.py:2: import json", "mcz/mod.py:3: import os",
                                                     "mcz/mod.py:10: import numpy as np",
                                                     "mcz/mod.py:13: import numpy"]


def test_every_import_inside_a_function_says_why():
    found = unexplained_imports()
    if found:
        pytest.fail("imports inside functions without a comment saying why (hoist them to the module top, or "
                    "add '# lazy: <why>' on the line or the line above):\n" + "\n".join(found))


def test_pending_files_still_need_their_exemption():
    everywhere = unexplained_imports(pending=())
    clean = [entry for entry in PENDING if not any(line.startswith(entry) for line in everywhere)]
    assert not clean, f"nothing left to exempt in {clean}: remove them from PENDING"
