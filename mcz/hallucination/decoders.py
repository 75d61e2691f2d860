"""The decoders a hallucination run compares, on one 2-D frame at one rate.

``mse`` and ``realistic`` decode the *same* ``.mcz`` file (the same latent); ``j2k`` is
OpenJPEG at the largest codestream that fits the whole ``.mcz`` file's bytes (equal bpp,
the project's convention: whole files).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

import mcz
from mcz.baselines.matching import code_at_size
from mcz.baselines.standard import JPEG2000
from mcz.dicom.guard import GuidelineWarning
from mcz.io import from_array

#: The base model of the realistic decoder, and the decoders compared.
BASE_MODEL = "wavelet-ctx"
NAMES = ("mse", "realistic", "j2k")


@dataclass(frozen=True)
class Coded:
    """One frame through every decoder: float64 pixels by name, and the bytes each codestream took."""

    pixels: dict[str, np.ndarray]
    nbytes: dict[str, int]


def code_frame(frame: np.ndarray, bits_stored: int, quality: int, model: str = BASE_MODEL) -> Coded:
    """Code ``frame`` with ``model`` at ``quality`` and decode it with both decoders, and JPEG 2000 at equal bytes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GuidelineWarning)  # research rates, far beyond clinical guidance
        data = mcz.encode(frame, bits_stored=bits_stored, model=model, quality=quality)
    mse = mcz.decode(data)
    real = mcz.decode(data, decoder="realistic")
    j2k, j2k_bytes = code_at_size(JPEG2000, from_array(frame, bits_stored=bits_stored), len(data))
    as64 = {"mse": mse, "realistic": real, "j2k": j2k[0]}
    return Coded({k: np.asarray(v, np.float64).reshape(frame.shape) for k, v in as64.items()},
                 {"mse": len(data), "realistic": len(data), "j2k": int(j2k_bytes)})
