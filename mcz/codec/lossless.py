"""Brotli as the lossless back end of the autoencoder family."""

from __future__ import annotations

import brotli
import numpy as np

from mcz.errors import FormatError

#: Brotli quality used by the encoder; 11 is the paper's "maximum" setting.
BROTLI_QUALITY = 11


def pack(symbols: np.ndarray, quality: int = BROTLI_QUALITY) -> bytes:
    """Brotli-compress quantised symbols (C order, little-endian)."""
    raw = np.ascontiguousarray(symbols).astype(symbols.dtype.newbyteorder("<"), copy=False).tobytes()
    return brotli.compress(raw, quality=quality)


def _bounded_decompress(payload: bytes, limit: int) -> bytes:
    """Brotli-decompress at most ``limit + 1`` bytes, so a crafted payload cannot balloon."""
    decompressor = brotli.Decompressor()
    raw = decompressor.process(payload, output_buffer_limit=limit + 1)
    if not decompressor.is_finished() and len(raw) <= limit:
        raise brotli.error("stream ends before the end of the Brotli data")
    return raw


def unpack(payload: bytes, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Inverse of :func:`pack`, checking that the size matches ``shape``.

    Raises
    ------
    FormatError
        If the payload is not valid Brotli or decodes to the wrong size.
    """
    expected = int(np.prod(shape)) * np.dtype(dtype).itemsize
    try:
        raw = _bounded_decompress(payload, expected)
    except brotli.error as exc:
        raise FormatError(
            f"a tile's Brotli payload ({len(payload)} bytes) does not decompress: {exc}; "
            "the file is corrupt — re-copy it from its source"
        ) from exc
    if len(raw) != expected:
        raise FormatError(
            f"a tile's payload decompresses to {len(raw)} bytes, expected {expected} for a latent "
            f"of shape {shape}; the file is corrupt or was written by an incompatible encoder"
        )
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).astype(dtype)
