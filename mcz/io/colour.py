"""Colour to grey: lossless when the channels are equal, else ITU-R BT.601 luma on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcz.errors import UnsupportedError

# ITU-R BT.601 luma weights, used whenever colour is converted to grey on request.
_LUMA = (0.299, 0.587, 0.114)


def colour_to_grey(arr: np.ndarray, has_alpha: bool, grey: bool, what: str, path: Path) -> np.ndarray:
    """Grey from ``(..., channels)``: lossless when channels are equal and opaque, else luma if ``grey``."""
    colour = arr[..., :-1] if has_alpha else arr
    first = colour[..., 0]
    equal = all(np.array_equal(first, colour[..., c]) for c in range(1, colour.shape[-1]))
    opaque = not has_alpha or bool((arr[..., -1] == _full_scale(arr.dtype)).all())
    if equal and opaque:
        return np.ascontiguousarray(first)
    if not grey:
        why = "colour channels that differ" if not equal else "transparent pixels"
        raise UnsupportedError(
            f"{path}: {what} with {why}; expected greyscale. Pass grey=True (--grey) to convert it to "
            "luma (ITU-R BT.601 weights; transparency is dropped)"
        )
    return np.ascontiguousarray(first) if colour.shape[-1] == 1 or equal else luma(colour)


def _full_scale(dtype: np.dtype) -> float:
    return float(np.iinfo(dtype).max) if dtype.kind in "ui" else 1.0


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of ``(..., 3)`` RGB, rounded (half to even) and clipped to the source dtype."""
    y = rgb[..., 0] * _LUMA[0] + rgb[..., 1] * _LUMA[1] + rgb[..., 2] * _LUMA[2]
    if rgb.dtype.kind in "ui":
        info = np.iinfo(rgb.dtype)
        y = np.clip(np.rint(y), info.min, info.max)
    return np.ascontiguousarray(y.astype(rgb.dtype))
