"""Min-max scalar quantisation of a latent (founding paper, Eq. 2 and 3).

``q = R(y) = round_or_floor((y - min) / (max - min) * (2^b - 1))`` and
``D(q) = q / (2^b - 1) * (max - min) + min``.  The paper floors (Eq. 2);
``rounding="nearest"`` halves the quantisation error for the same bits.
Everything runs in float32 numpy so encoder and decoder agree bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Quantised:
    """Integer symbols plus the two parameters needed to undo them."""

    symbols: np.ndarray  # uint8 for bits <= 8, else uint16
    low: float
    high: float
    bits: int


def symbol_dtype(bits: int) -> np.dtype:
    """Smallest unsigned dtype that holds ``bits``-bit symbols."""
    if not 1 <= bits <= 16:
        raise ValueError(f"quantiser bits must be 1..16, got {bits}")
    return np.dtype(np.uint8 if bits <= 8 else np.uint16)


def quantise(latent: np.ndarray, bits: int, rounding: str = "nearest") -> Quantised:
    """Quantise a float latent to ``bits``-bit symbols over its own min-max range."""
    y = np.asarray(latent, dtype=np.float32)
    low, high = np.float32(y.min()), np.float32(y.max())
    levels = np.float32(2**bits - 1)
    span = high - low
    if span <= 0:  # a constant latent: every symbol 0, dequantises to `low`
        return Quantised(np.zeros(y.shape, symbol_dtype(bits)), float(low), float(high), bits)
    scaled = (y - low) / span * levels
    scaled = np.floor(scaled) if rounding == "floor" else np.rint(scaled)
    symbols = np.clip(scaled, 0, levels).astype(symbol_dtype(bits))
    return Quantised(symbols, float(low), float(high), bits)


def dequantise(q: Quantised) -> np.ndarray:
    """Float32 latent from symbols (Eq. 3)."""
    low, high = np.float32(q.low), np.float32(q.high)
    levels = np.float32(2**q.bits - 1)
    return (q.symbols.astype(np.float32) / levels * (high - low) + low).astype(np.float32)
