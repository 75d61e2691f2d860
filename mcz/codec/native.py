"""CompressAI's two C++ extensions (``ans``, ``_CXX``) without importing the ``compressai`` package.

The wavelet family needs only CompressAI's rANS coder and its CDF quantiser, both small C++
extension modules. ``import compressai`` also imports its datasets, models and registry (point
clouds, torchvision transforms...): about 5 s on 2 cores, which was most of the time of
``mcz encode``/``mcz decode`` on one file. This module loads the extension files themselves,
under their own names (``compressai.ans``, ``compressai._CXX``) and from the installed package,
so CPython's cache of extension modules hands the same module to a later ``import compressai``
(never a second initialisation). If the package was imported already, it is used as is.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from mcz.errors import MissingDependencyError

__all__ = ["extension"]


@functools.lru_cache(maxsize=None)
def extension(name: str) -> ModuleType:
    """The compiled CompressAI module ``compressai.<name>`` (``"ans"`` or ``"_CXX"``).

    Raises
    ------
    MissingDependencyError
        CompressAI is not installed (or has no such extension).
    """
    full = f"compressai.{name}"
    if "compressai" in sys.modules:
        return importlib.import_module(full)
    path = _extension_file(name)
    if path is None:  # an unusual installation (e.g. a zip): the normal, slower import
        return importlib.import_module(full)
    spec = importlib.util.spec_from_file_location(full, path)
    if spec is None or spec.loader is None:
        return importlib.import_module(full)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # A single-phase extension enters sys.modules as it initialises; without its package, a later
    # `import compressai.ans` would find it there and never bind it as the package's attribute.
    # CPython keeps the initialised module by (name, path), so that import reuses it.
    if sys.modules.get(full) is module:
        del sys.modules[full]
    return module


def _extension_file(name: str) -> Path | None:
    package = importlib.util.find_spec("compressai")  # finds, does not run, the package
    if package is None:
        raise MissingDependencyError(
            f"the wavelet codec needs CompressAI's rANS coder (compressai.{name}), which is not "
            "installed; expected the compressai package. Install it: pip install 'compressai==1.2.8'"
        )
    for folder in package.submodule_search_locations or ():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = Path(folder) / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None
