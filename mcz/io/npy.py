"""NPY: a single NumPy array, never unpickled."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mcz.errors import UnsupportedError
from mcz.intensity import intensity_for
from mcz.io.image import MedicalImage, frames_view, native

if TYPE_CHECKING:  # pragma: no cover
    from mcz.io.dispatch import Writer

def read_npy(path: Path, grey: bool) -> MedicalImage:
    """Read a single NumPy array, never unpickled (``grey`` is not used: an array has no colour)."""
    arr = np.load(path, allow_pickle=False)  # never unpickle: an .npy may come from anywhere
    if not isinstance(arr, np.ndarray):
        raise UnsupportedError(f"{path}: an archive of arrays; expected a single .npy array")
    arr = native(arr)
    if arr.ndim < 2:
        raise UnsupportedError(f"{path}: array of shape {arr.shape}; expected at least 2-D")
    intensity = intensity_for(arr)
    return MedicalImage(frames_view(arr, "frames-first"), intensity, "npy", arr.shape, "frames-first")


def npy_writer(image: MedicalImage, fmt: str) -> Writer:
    """The :data:`~mcz.io.Writer` of ``image``'s source array as NPY."""
    data = image.source_array()
    return lambda f: np.save(f, data, allow_pickle=False)
