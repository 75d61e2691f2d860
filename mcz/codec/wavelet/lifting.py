"""CDF 9/7 lifting wavelet (the JPEG 2000 irreversible transform), any size, float64.

The transform runs in NumPy float64 with element-wise operations only, so the
inverse gives the same bits on every machine and at every thread count: a
wavelet file's pixel digest is exact everywhere.  Odd lengths are handled by
whole-sample symmetric extension (as JPEG 2000 does), so images need no
padding: a 225 x 225 slice codes 225 x 225 coefficients.

Band layout of a ``levels``-level decomposition::

    [LL_J, (HL_J, LH_J, HH_J), ..., (HL_1, LH_1, HH_1)]

``HL`` is high-pass along columns (horizontal detail), ``LH`` along rows, level 1 is
the finest.  :func:`band_gains` gives each band's synthesis energy gain, used to
normalise coefficients so that a quantisation error costs the same pixel MSE in
every band.
"""

from __future__ import annotations

import functools

import numpy as np

# Lifting constants of the CDF 9/7 wavelet (Daubechies & Sweldens 1998; JPEG 2000 Part 1, Annex F).
ALPHA = -1.586134342059924
BETA = -0.052980118572961
GAMMA = 0.882911075530934
DELTA = 0.443506852043971

Bands = list  # [LL, (HL, LH, HH) per level, coarsest first]


def _right(s: np.ndarray, count: int) -> np.ndarray:
    """s[i + 1] for i < count, the last sample mirrored (x[n] = x[n - 2])."""
    r = s[1 : count + 1]
    return r if len(r) == count else np.concatenate([r, s[-1:]])


def _around(d: np.ndarray, count: int) -> np.ndarray:
    """d[i - 1] + d[i] for i < count, mirrored at both ends (x[-1] = x[1], x[n] = x[n - 2])."""
    left = np.concatenate([d[:1], d[: count - 1]])
    cur = d[:count]
    if len(cur) < count:
        cur = np.concatenate([cur, d[-1:]])
    return left + cur


def _forward_1d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One lifting level along axis 0: (low, high) of lengths ceil(n/2), floor(n/2)."""
    s, d = x[0::2].copy(), x[1::2].copy()
    if len(d) == 0:
        return s, d
    d += ALPHA * (s[: len(d)] + _right(s, len(d)))
    s += BETA * _around(d, len(s))
    d += GAMMA * (s[: len(d)] + _right(s, len(d)))
    s += DELTA * _around(d, len(s))
    return s, d


def _inverse_1d(s: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_forward_1d`."""
    s, d = s.copy(), d.copy()
    if len(d):
        s -= DELTA * _around(d, len(s))
        d -= GAMMA * (s[: len(d)] + _right(s, len(d)))
        s -= BETA * _around(d, len(s))
        d -= ALPHA * (s[: len(d)] + _right(s, len(d)))
    x = np.empty((len(s) + len(d),) + s.shape[1:], np.float64)
    x[0::2], x[1::2] = s, d
    return x


def _forward_2d(x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    low, high = _forward_1d(x.T)  # along columns (axis 1)
    ll, lh = _forward_1d(low.T)
    hl, hh = _forward_1d(high.T)
    return ll, (hl, lh, hh)


def _inverse_2d(ll: np.ndarray, details: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    hl, lh, hh = details
    low = _inverse_1d(ll, lh)
    high = _inverse_1d(hl, hh)
    return _inverse_1d(low.T, high.T).T


def levels_for(rows: int, columns: int, max_levels: int = 6) -> int:
    """Decomposition depth: as deep as keeps the coarsest band at least 8 pixels a side."""
    size = min(rows, columns)
    levels = 0
    while levels < max_levels and size >= 16:
        size = (size + 1) // 2
        levels += 1
    return levels


def forward(x: np.ndarray, levels: int) -> Bands:
    """Multi-level 2-D analysis of a float image; returns bands coarsest first."""
    ll = np.asarray(x, np.float64)
    details = []
    for _ in range(levels):
        ll, d = _forward_2d(ll)
        details.append(d)
    return [ll, *reversed(details)]


def inverse(bands: Bands) -> np.ndarray:
    """Multi-level 2-D synthesis, inverse of :func:`forward`."""
    ll = bands[0]
    for details in bands[1:]:
        ll = _inverse_2d(ll, details)
    return ll


@functools.lru_cache(maxsize=16)
def _gains_1d(levels: int) -> tuple[tuple[float, ...], ...]:
    """Synthesis energy of a 1-D impulse in (low, high) at each level 1..levels (interior of a long signal)."""
    n = 2 ** (levels + 5)
    gains = []
    for level in range(1, levels + 1):
        pair = []
        for which in (0, 1):
            parts = [np.zeros(n // 2**k) for k in range(1, level + 1)]
            low = np.zeros(n // 2**level)
            target = low if which == 0 else parts[level - 1]
            target[len(target) // 2] = 1.0
            signal = low
            for k in range(level, 0, -1):
                signal = _inverse_1d(signal, parts[k - 1] if not (k == level and which == 1) else target)
            pair.append(float(np.sum(signal**2)))
        gains.append(tuple(pair))
    return tuple(gains)


def band_gains(levels: int) -> list:
    """Synthesis energy gain of each band, in the layout of :func:`forward`.

    Returns ``[g_LL, (g_HL, g_LH, g_HH) per level coarsest first]``; the pixel MSE
    of an error e in one coefficient of band b is about g_b * e**2 / pixels.
    """
    g = _gains_1d(levels)
    if levels == 0:
        return [1.0]
    low_j = g[levels - 1][0]
    out: list = [low_j * low_j]
    for level in range(levels, 0, -1):
        lo, hi = g[level - 1]
        # HL: high along columns (axis 1), low along rows; LH the other way.
        out.append((lo * hi, hi * lo, hi * hi))
    return out
