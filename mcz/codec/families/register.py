"""The family registry: family classes by name, like timm's ``@register_model`` + factory.

A family module decorates its class with :func:`register_family`; :data:`BUILTIN` lists
the modules of mcz's own families, imported on the first lookup (none of them imports
torch).  Adding a family is one new module plus its line in :data:`BUILTIN`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, TypeVar

from mcz.codec.families.base import Family, ModelFamily
from mcz.errors import ModelError, UsageError

if TYPE_CHECKING:
    from mcz.codec.registry import ModelSpec

#: Modules that define mcz's families; importing one registers its classes.
BUILTIN = (
    "mcz.codec.families.cae",
    "mcz.codec.families.learned",
    "mcz.codec.families.wavelet",
    "mcz.codec.families.nearlossless",
    "mcz.codec.families.hvae",
)

_FAMILIES: dict[str, Family] = {}
_loaded = False
F = TypeVar("F", bound=type[Family])


def register_family(cls: F) -> F:
    """Class decorator: register one instance of a family class under ``cls.name``.

    Raises
    ------
    UsageError
        Another class already holds the name (a name must always mean one family).
    """
    known = _FAMILIES.get(cls.name)
    if known is not None and type(known) is not cls:
        raise UsageError(f"model family {cls.name!r} is already registered by {type(known).__qualname__}")
    _FAMILIES[cls.name] = cls()
    return cls


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        for module in BUILTIN:
            importlib.import_module(module)
        _loaded = True


def family_names() -> tuple[str, ...]:
    """Names of every registered family, in registration order."""
    _load_builtin()
    return tuple(_FAMILIES)


def family_for(spec: ModelSpec | str) -> Family:
    """The family of a model spec (or a family name).

    Raises
    ------
    UsageError
        The family is not registered.
    """
    _load_builtin()
    name = spec if isinstance(spec, str) else spec.family
    try:
        return _FAMILIES[name]
    except KeyError:
        raise UsageError(f"unknown model family {name!r}; known: {', '.join(_FAMILIES)}") from None


def model_family_for(spec: ModelSpec) -> ModelFamily:
    """The family of ``spec``, refused unless it codes with a model of its own (not a standalone codec).

    Raises
    ------
    ModelError
        The family is standalone (near-lossless): there is no model to build, load or train.
    """
    family = family_for(spec)
    if not isinstance(family, ModelFamily):
        raise ModelError(f"model {spec.id!r} ({spec.family}) has no weights to load; "
                         "it codes without a model")
    return family


def onnx_families() -> list[str]:
    """Names of the families whose decoder networks export to ONNX."""
    return [name for name in family_names() if _FAMILIES[name].onnx_export]
