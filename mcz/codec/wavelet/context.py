"""Integer context features of the wavelet family's entropy model.

Every feature is a sum of magnitudes of symbols the decoder already has, in
int64, so encoder and decoder pick the same probability table bit for bit.
Coding order: the coarsest band first; within a level HL, LH, HH; within a band
two checkerboard passes (anchors, then the rest), so whole passes decode as
NumPy vectors instead of symbol by symbol.
"""

from __future__ import annotations

import numpy as np

from mcz.codec.wavelet import tables


def anchors(shape: tuple[int, int]) -> np.ndarray:
    """Boolean checkerboard mask of the first pass ((row + column) even)."""
    rows, cols = np.indices(shape, sparse=True)
    return (rows + cols) % 2 == 0


def detail_passes(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks of a detail band's three passes: (even, even), (odd, odd), the rest.

    The second pass sees its four diagonal neighbours, the third its four direct ones.
    """
    rows, cols = np.indices(shape, sparse=True)
    first = (rows % 2 == 0) & (cols % 2 == 0)
    second = (rows % 2 == 1) & (cols % 2 == 1)
    return first, second, ~(first | second)


def _ring(a: np.ndarray) -> np.ndarray:
    """Sum of the 8 neighbours of every element (zeros outside)."""
    p = np.pad(a, 1)
    h, w = a.shape
    total = np.zeros_like(a)
    for dy in range(3):
        for dx in range(3):
            if dy != 1 or dx != 1:
                total += p[dy : dy + h, dx : dx + w]
    return total


def _take(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return a[np.minimum(rows, a.shape[0] - 1)][:, np.minimum(cols, a.shape[1] - 1)]


def static_features(shape: tuple[int, int], parent: np.ndarray | None,
                    siblings: list[np.ndarray], parent_scale: int = 2) -> np.ndarray:
    """Features known before a band is coded: (4, rows, cols) int64.

    ``parent`` holds the magnitudes of the same orientation one level coarser
    (``parent_scale`` times smaller: 2 in the dyadic tree, 1 for a wavelet-packet child),
    ``siblings`` those of the bands of the same level coded before this one.
    """
    h, w = shape
    out = np.zeros((4, h, w), np.int64)
    rows, cols = np.arange(h), np.arange(w)
    if parent is not None and parent.size:
        out[0] = _take(parent, rows // parent_scale, cols // parent_scale)
        out[1] = _take(_ring(parent), rows // parent_scale, cols // parent_scale)
    for sib in siblings:
        if sib.size:
            out[2] += _take(sib, rows, cols)
            out[3] += _take(_ring(sib), rows, cols)
    return out


def spatial_features(decoded: np.ndarray) -> np.ndarray:
    """(3, rows, cols): vertical, horizontal and diagonal neighbour magnitude sums (0 = not yet decoded)."""
    p = np.pad(decoded, 1)
    vertical = p[:-2, 1:-1] + p[2:, 1:-1]
    horizontal = p[1:-1, :-2] + p[1:-1, 2:]
    diagonal = p[:-2, :-2] + p[:-2, 2:] + p[2:, :-2] + p[2:, 2:]
    return np.stack([vertical, horizontal, diagonal])


def scale_index(sigma_fp: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Table index and raw-bit shift of fixed-point scales.

    A scale above the table's top is halved ``shift`` times until it fits; the
    symbol's ``shift`` low bits are then sent raw and its top bits use the table.
    """
    top = int(thresholds[-1]) * 2
    shift = np.zeros(sigma_fp.shape, np.int64)
    big = sigma_fp > top
    while big.any():
        shift += big
        big = (sigma_fp >> shift) > top
    index = np.searchsorted(thresholds, sigma_fp >> shift, side="right")
    return index.astype(np.int64), shift


def ll_prediction(ll: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the 4 anchor neighbours (rounded) and their range, for the LL band's second pass."""
    decoded = np.where(first, ll, 0)
    p = np.pad(decoded, 1, mode="reflect")
    h, w = ll.shape
    near = np.stack([p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]])
    mean = np.floor_divide(2 * near.sum(axis=0) + 4, 8)
    return mean, near.max(axis=0) - near.min(axis=0)


def fixed(value: float) -> int:
    """A float in fixed point (2**FRAC_BITS)."""
    return int(np.rint(value * 2**tables.FRAC_BITS))
