"""mcz: learned compression of medical images, measured honestly against standard codecs.

The public API is loaded lazily so that ``import mcz`` (and ``mcz info``) never
imports torch::

    import mcz
    data = mcz.encode(array_or_path)      # default model for its bit depth
    pixels = mcz.decode(data)            # original dtype and shape
    info = mcz.read_info(data)           # header, bpp, compression ratio
    options = mcz.EncodeOptions(quality=30, metadata="minimal")
    data = mcz.encode(array_or_path, options)   # or the same as keywords: mcz.encode(x, quality=30, ...)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = {
    "encode", "decode", "decode_image", "read_info", "encode_file", "decode_file",
    "list_models", "FileInfo", "ModelInfo", "DEFAULT_MODEL", "default_model", "EncodeOptions",
}
_LAZY_MODULES = {"MedicalImage": "mcz.io", "read_image": "mcz.io", "write_image": "mcz.io", "from_array": "mcz.io"}

if TYPE_CHECKING:  # pragma: no cover
    from mcz.api import (  # noqa: F401
        DEFAULT_MODEL, EncodeOptions, FileInfo, ModelInfo, decode, decode_file, decode_image, default_model,
        encode, encode_file, list_models, read_info,
    )
    from mcz.io import MedicalImage, from_array, read_image, write_image  # noqa: F401

from mcz.errors import McZError  # noqa: E402  (light: stdlib only)

__all__ = sorted(_API | set(_LAZY_MODULES) | {"McZError", "__version__"})


def __getattr__(name: str) -> Any:
    """Import the API module on first use (PEP 562)."""
    if name in _API:
        return getattr(importlib.import_module("mcz.api"), name)
    if name in _LAZY_MODULES:
        return getattr(importlib.import_module(_LAZY_MODULES[name]), name)
    raise AttributeError(f"module 'mcz' has no attribute {name!r}")
