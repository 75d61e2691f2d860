"""Integer probability tables of the wavelet family: discretised Laplace laws, one per scale.

Everything the rANS decoder depends on is an integer computed once, when a
model is built, and stored in its checkpoint (``WaveletModel`` buffers): a
decoder never re-derives a table from ``exp``, whose last bit may differ
between machines.  A symbol's scale is picked by comparing an integer context
sum with integer thresholds (:func:`scale_thresholds`), so the choice of table
is exact too.
"""

from __future__ import annotations

import numpy as np

from mcz.codec import native

#: Fixed-point unit of context sums and scales (scale 1.0 == 2**FRAC_BITS).
FRAC_BITS = 12
#: rANS probability precision of CompressAI's coder.
PRECISION = 16


def scale_table(count: int, low: float, high: float) -> np.ndarray:
    """Geometric Laplace scales (symbol units) from ``low`` to ``high``."""
    return np.exp(np.linspace(np.log(low), np.log(high), count))


def scale_thresholds(scales: np.ndarray) -> np.ndarray:
    """Integer boundaries between neighbouring scales (geometric midpoints, fixed point)."""
    mid = np.sqrt(scales[:-1] * scales[1:])
    return np.rint(mid * 2**FRAC_BITS).astype(np.int64)


def laplace_pmf(scale: float, rho: float, half_width: int) -> np.ndarray:
    """Probabilities of integers -half_width..half_width for a deadzone-quantised Laplace.

    The value u (in steps) is quantised to n = sign(u) * floor(|u| + rho), so the
    zero bin is |u| < 1 - rho and bin n >= 1 is [n - rho, n + 1 - rho).
    """
    n = np.arange(1, half_width + 1, dtype=np.float64)
    zero = 1.0 - np.exp(-(1.0 - rho) / scale)
    side = 0.5 * (np.exp(-(n - rho) / scale) - np.exp(-(n + 1.0 - rho) / scale))
    return np.concatenate([side[::-1], [zero], side])


def build_cdfs(scales: np.ndarray, rho: float, width_factor: float = 12.0) -> tuple[np.ndarray, ...]:
    """Quantised CDFs for every scale, in the layout CompressAI's rANS coder takes.

    Returns
    -------
    cdfs : int32 array (scales, max_length)
        One CDF per scale (last entry 2**16), padded with zeros.
    lengths : int32 array
        Entries used in each row (symbols + escape + 1).
    offsets : int32 array
        The value of each table's first symbol (-half_width).
    bits : float32 array (scales, max_length - 1)
        Code length in bits of each symbol (for the encoder's rate-distortion choice).
    """
    pmf_to_quantized_cdf = native.extension("_CXX").pmf_to_quantized_cdf

    rows, lengths, offsets = [], [], []
    for scale in scales:
        # The guard keeps the width independent of the last bit of ``exp`` (which differs
        # between NumPy builds: 48 came out as 47.99999999999999 on one, 48.00000000000001 on another).
        half = int(np.ceil(width_factor * scale - 1e-6)) + 2
        pmf = laplace_pmf(float(scale), rho, half)
        tail = max(0.0, 1.0 - float(pmf.sum()))
        cdf = pmf_to_quantized_cdf([*pmf.tolist(), tail], PRECISION)
        rows.append(cdf)
        lengths.append(len(cdf))
        offsets.append(-half)
    width = max(lengths)
    cdfs = np.zeros((len(rows), width), np.int32)
    for i, cdf in enumerate(rows):
        cdfs[i, : len(cdf)] = cdf
    return cdfs, np.asarray(lengths, np.int32), np.asarray(offsets, np.int32), code_lengths(cdfs)


def code_lengths(cdfs: np.ndarray) -> np.ndarray:
    """Bits of every symbol of every table (64 where a padding entry has no probability)."""
    freq = np.diff(cdfs.astype(np.float64), axis=1)
    bits = np.where(freq > 0, -np.log2(np.maximum(freq, 1) / 2**PRECISION), 64.0)
    return bits.astype(np.float32)
