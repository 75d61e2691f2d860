"""Bjøntegaard delta rate (BD-rate) of codec A against a reference codec B.

Method (VCEG-M33, with the interpolation of the JCT-VC/JVET common test
conditions): for each codec, ``log10(rate)`` is interpolated as a function of
PSNR, here by a piecewise cubic Hermite interpolant (PCHIP: shape-preserving, no
overshoot between points; ``method="cubic"`` gives VCEG-M33's single cubic
polynomial fit).  Both interpolants are integrated exactly over the PSNR interval
both curves cover, and

    BD-rate = (10 ** (mean(log10 rate_A - log10 rate_B)) - 1) * 100 %

so a negative value means that A needs fewer bits than B for the same PSNR.
Nothing is extrapolated: curves without a common PSNR interval give NaN with the
reason.

Cross-checked against the ``bjontegaard`` package (FAU LMS, 1.3.0; its
``bd_rate(rate_anchor, dist_anchor, rate_test, dist_test, method=...)`` with B as
the anchor and A as the test) in ``tests/bench/test_bdrate_reference.py``: the
same value to 1e-9 percentage points with ``"pchip"`` and to 1e-6 with
``"cubic"``.  Differences of method, not of result: bjontegaard's third
interpolation, ``"akima"``, is not offered here (on the test curves it differs
from PCHIP by at most 0.04 percentage points); bjontegaard takes points in rate
order (it only flips a reversed list) and warns below 75 % PSNR overlap, where mcz
sorts the points by PSNR itself, refuses repeated PSNRs and reports the interval
it integrated over; the rate band below is mcz's own.

The band variant (docs/references.md: "the 5:1-25:1 CR band radiology societies
accept") narrows the interval to the PSNR that the *reference* reaches inside a
rate band; :func:`cr_band_to_bpp` turns a CR band into that rate band for the
image's storage width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mcz import metrics
from mcz.errors import UsageError

METHODS = ("pchip", "cubic")


@dataclass(frozen=True)
class BDRate:
    """A BD-rate and how it was obtained.

    Attributes
    ----------
    percent : float
        Rate of A relative to B in percent (negative = A needs fewer bits), or NaN.
    reason : str
        Why ``percent`` is NaN (empty otherwise).
    method : str
        ``"pchip"`` or ``"cubic"``.
    psnr_low, psnr_high : float
        The PSNR interval integrated over (NaN when there is none).
    """

    percent: float
    reason: str
    method: str
    psnr_low: float
    psnr_high: float


def cr_band_to_bpp(cr_low: float, cr_high: float, bits_stored: int,
                   dtype: str = "uint16") -> tuple[float, float]:
    """Rate band in bpp of a compression-ratio band.

    Parameters
    ----------
    cr_low, cr_high : float
        The band, e.g. ``5`` and ``25`` for 5:1-25:1.
    bits_stored, dtype : int, str
        The image's stored bit depth and dtype: CR is against their storage width
        (:func:`mcz.metrics.storage_bytes_per_pixel`).

    Returns
    -------
    (float, float)
        ``(bpp_low, bpp_high)``: the highest ratio gives the lowest rate.
    """
    if not 0 < cr_low < cr_high:
        raise UsageError(f"found CR band {cr_low}..{cr_high}; expected 0 < low < high")
    bits = 8 * metrics.storage_bytes_per_pixel(bits_stored, dtype)
    return bits / cr_high, bits / cr_low


def _curve(rate, psnr, name: str, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(psnr, log10 rate)`` sorted by PSNR."""
    r, q = np.asarray(rate, np.float64).ravel(), np.asarray(psnr, np.float64).ravel()
    need = 4 if method == "cubic" else 2
    if r.shape != q.shape or r.size < need:
        raise UsageError(f"curve {name}: found {r.size} rates and {q.size} PSNRs; expected {need}+ pairs")
    if not (np.isfinite(r).all() and (r > 0).all()):
        raise UsageError(f"curve {name}: found rates {r.tolist()}; expected positive finite numbers")
    if not np.isfinite(q).all():
        raise UsageError(f"curve {name}: found PSNRs {q.tolist()}; expected finite values "
                         "(drop lossless points, PSNR = inf, first)")
    order = np.argsort(q)
    q, logr = q[order], np.log10(r[order])
    if np.any(np.diff(q) <= 0):
        raise UsageError(f"curve {name}: found repeated PSNR values {q.tolist()}; expected distinct ones")
    return q, logr


def _interpolant(x: np.ndarray, y: np.ndarray, method: str):
    """Callable with ``.integrate(a, b)`` / ``__call__`` through the points."""
    from scipy.interpolate import PchipInterpolator  # lazy: keeps scipy out of import mcz.bench.bdrate

    if method == "pchip":
        return PchipInterpolator(x, y, extrapolate=False)
    poly = np.polynomial.Polynomial.fit(x, y, 3)

    class _Cubic:
        def __call__(self, v):
            return poly(v)

        def integrate(self, a, b):
            anti = poly.integ()
            return anti(b) - anti(a)

    return _Cubic()


def _band_interval(q_b: np.ndarray, logr_b: np.ndarray, band: tuple[float, float], method: str):
    """PSNR interval of the reference inside a rate band, or a reason it has none."""
    lo, hi = (math.log10(v) if v > 0 else -math.inf for v in band)
    if not lo < hi:
        raise UsageError(f"found rate band {band}; expected 0 < low < high")
    by_rate = np.argsort(logr_b)
    x, y = logr_b[by_rate], q_b[by_rate]
    lo, hi = max(lo, x[0]), min(hi, x[-1])
    if lo >= hi:
        return None, (f"the reference's rates {10 ** x[0]:.4g}..{10 ** x[-1]:.4g} do not reach into the "
                      f"band {band[0]:.4g}..{band[1]:.4g}")
    if np.any(np.diff(x) <= 0):
        return None, "the reference repeats a rate, so its PSNR at the band's edges is undefined"
    quality = _interpolant(x, y, method)
    ends = sorted((float(quality(lo)), float(quality(hi))))
    return (ends[0], ends[1]), ""


def bd_rate(rate_a, psnr_a, rate_b, psnr_b, *, method: str = "pchip",
            rate_band: tuple[float, float] | None = None) -> BDRate:
    """BD-rate of codec A against reference B from (rate, PSNR) points.

    Parameters
    ----------
    rate_a, psnr_a : array-like
        Codec A: rates (any positive unit, e.g. bpp) and PSNR in dB, same length.
    rate_b, psnr_b : array-like
        Reference B, same rate unit.
    method : {"pchip", "cubic"}
        Interpolation of log-rate over PSNR (see module docstring).
    rate_band : (float, float), optional
        Restrict to the PSNR the reference reaches between these rates (same
        unit as the rates, e.g. from :func:`cr_band_to_bpp`).

    Returns
    -------
    BDRate
        ``percent`` is NaN, with ``reason``, when the intervals do not overlap.
    """
    if method not in METHODS:
        raise UsageError(f"found method {method!r}; expected one of {', '.join(METHODS)}")
    q_a, lr_a = _curve(rate_a, psnr_a, "A", method)
    q_b, lr_b = _curve(rate_b, psnr_b, "B", method)
    low, high = max(q_a[0], q_b[0]), min(q_a[-1], q_b[-1])
    if low >= high:
        return _nan(method, f"PSNR ranges {q_a[0]:.3f}..{q_a[-1]:.3f} (A) and {q_b[0]:.3f}..{q_b[-1]:.3f} "
                            "(B) do not overlap")
    if rate_band is not None:
        interval, why = _band_interval(q_b, lr_b, rate_band, method)
        if interval is None:
            return _nan(method, why)
        low, high = max(low, interval[0]), min(high, interval[1])
        if low >= high:
            return _nan(method, f"the reference's PSNR {interval[0]:.3f}..{interval[1]:.3f} in the rate "
                                "band lies outside the PSNR range both curves cover")
    f_a, f_b = _interpolant(q_a, lr_a, method), _interpolant(q_b, lr_b, method)
    mean_diff = (f_a.integrate(low, high) - f_b.integrate(low, high)) / (high - low)
    return BDRate(float((10.0 ** mean_diff - 1.0) * 100.0), "", method, float(low), float(high))


def _nan(method: str, reason: str) -> BDRate:
    return BDRate(math.nan, reason, method, math.nan, math.nan)
