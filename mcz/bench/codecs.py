"""Standard codecs behind one contract, for side-by-side comparisons.

Each adapter codes a 2-D integer frame at its stored bit depth and returns the
whole codestream; the rate is measured on those bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mcz.errors import require


@dataclass(frozen=True)
class StandardCodec:
    """A codec with one numeric setting; larger ``setting`` = higher quality."""

    name: str
    encode: Callable[[np.ndarray, int, float], bytes]  # (frame, bits_stored, setting) -> bytes
    decode: Callable[[bytes], np.ndarray]
    setting_range: tuple[float, float]

    @property
    def version(self) -> str:
        """Version of the library behind it."""
        return require("imagecodecs", "bench").__version__


def _j2k_encode(frame: np.ndarray, bits: int, psnr_target: float) -> bytes:
    ic = require("imagecodecs", "bench")
    # OpenJPEG's `level` is a PSNR target against 2^bitspersample - 1, so the
    # stored bit depth must be passed (a 12-bit image in uint16 is not 16-bit).
    return ic.jpeg2k_encode(frame, level=psnr_target, bitspersample=bits, codecformat="j2k", numthreads=1)


def _j2k_decode(data: bytes) -> np.ndarray:
    return require("imagecodecs", "bench").jpeg2k_decode(data, numthreads=1)


JPEG2000 = StandardCodec("jpeg2000", _j2k_encode, _j2k_decode, (20.0, 110.0))


def match_size(codec: StandardCodec, frame: np.ndarray, bits: int, target_bytes: int, iterations: int = 18) -> bytes:
    """The largest codestream not above ``target_bytes`` (bisection over the setting).

    Falls back to the smallest codestream the codec can make when even that is
    larger than the target.
    """
    lo, hi = codec.setting_range
    best = codec.encode(frame, bits, lo)
    if len(best) > target_bytes:
        return best
    for _ in range(iterations):
        mid = (lo + hi) / 2
        data = codec.encode(frame, bits, mid)
        if len(data) <= target_bytes:
            best, lo = data, mid
        else:
            hi = mid
    return best
