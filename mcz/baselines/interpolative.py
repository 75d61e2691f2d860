"""Interpolative coding: downsize by 2, code, decode, interpolate back.

Zeng & Venetsanopoulos (ICASSP 1993), revisited for medical classification in
paper 001 (``docs/references.md``) ("JPEG and JPEG 2000 with and without downsizing").  The
frame is reduced to ``ceil(rows/2) x ceil(columns/2)`` with an anti-aliased
bilinear resize (scikit-image), rounded to the stored integers, coded by an inner
codec at the same bit depth, and after decoding interpolated back to the original
size with bicubic splines.  The original size cannot be recovered from the half
size (``2n`` or ``2n - 1``), so a 12-byte header carries it and is counted in
the rate::

    magic 'MZI1' | rows u32 | columns u32 | inner codestream   (big-endian)
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from mcz.errors import FormatError, require

FACTOR = 2
DOWN_ORDER = 1  # bilinear after the Gaussian anti-aliasing filter
UP_ORDER = 3  # bicubic: the "interpolation" of interpolative coding
_HEAD = struct.Struct(">4sII")
_MAGIC = b"MZI1"

Encoder = Callable[[np.ndarray, int, float], bytes]
Decoder = Callable[[bytes, int | None], np.ndarray]


def downsize(frame: np.ndarray, bits: int) -> np.ndarray:
    """Anti-aliased half-size frame, rounded and clipped to ``0 .. 2**bits - 1``."""
    transform = require("skimage.transform", "bench")
    rows, cols = frame.shape
    shape = (-(-rows // FACTOR), -(-cols // FACTOR))
    small = transform.resize(frame.astype(np.float64), shape, order=DOWN_ORDER, anti_aliasing=True,
                             preserve_range=True)
    return np.clip(np.rint(small), 0, (1 << bits) - 1).astype(frame.dtype)


def upsize(small: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bicubic interpolation back to ``shape`` (float; the BaselineCodec wrapper rounds and clips)."""
    transform = require("skimage.transform", "bench")
    big = transform.resize(np.asarray(small, np.float64), shape, order=UP_ORDER, anti_aliasing=False,
                           preserve_range=True)
    return np.rint(big)


def interpolative(encode: Encoder, decode: Decoder) -> tuple[Encoder, Decoder]:
    """Wrap an inner codec's encode/decode pair into the interpolative scheme.

    Parameters
    ----------
    encode, decode : callable
        The inner codec's ``encode(frame, bits, setting) -> bytes`` and
        ``decode(data, bits) -> ndarray``.

    Returns
    -------
    tuple of callable
        ``(encode, decode)`` with the same signatures; ``setting`` is passed to
        the inner codec unchanged.
    """

    def encode_interp(frame: np.ndarray, bits: int, setting: float) -> bytes:
        inner = encode(downsize(frame, bits), bits, setting)
        return _HEAD.pack(_MAGIC, *frame.shape) + inner

    def decode_interp(data: bytes, bits: int | None) -> np.ndarray:
        if len(data) < _HEAD.size or data[:4] != _MAGIC:
            raise FormatError(f"found {data[:4]!r}, expected an interpolative codestream starting {_MAGIC!r}")
        _, rows, cols = _HEAD.unpack_from(data)
        small = decode(data[_HEAD.size:], bits)
        if bits is not None:
            small = np.clip(small, 0, (1 << bits) - 1)
        return upsize(small, (rows, cols))

    return encode_interp, decode_interp
