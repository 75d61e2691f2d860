"""Operating points of a run: the default quality sweep of each codec and the targets of ``--match``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from mcz.baselines.contract import BaselineCodec
from mcz.baselines.mcz_codec import MCZ_QUALITIES, is_mcz
from mcz.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from mcz.baselines.matching import Quantity

#: Compression ratios of the seed paper's JPEG 2000 table (paper 000 in docs/references.md, Table 2), lossy ones.
PAPER_RATIOS = (1.72, 2.58, 3.45, 4.33, 6.42, 8.67, 12.78, 16.99, 25.35, 33.99, 41.88, 59.14, 81.94)

#: ``--match`` names and the quantity :func:`mcz.baselines.matching.match` calls them.
MATCH_QUANTITIES: dict[str, Quantity] = {"ratio": "cr", "bpp": "bpp", "psnr": "psnr"}

#: Default bpp targets of ``--match bpp``.
BPP_TARGETS = (0.1, 0.25, 0.5, 1.0, 2.0)
#: Default PSNR targets of ``--match psnr`` for 8-bit data; deeper data add the 40 -> 50 dB step.
PSNR_TARGETS_8BIT = (30.0, 35.0, 40.0, 45.0)



# Relative-quality settings: the same list at every bit depth (the libraries scale them).
_QUALITY_SWEEPS: dict[str, tuple[float, ...]] = {
    "jpeg": (3, 5, 10, 20, 30, 50, 70, 85, 95),
    "jpeg-interp": (3, 5, 10, 20, 30, 50, 70, 85, 95),
    "avif": (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99),
    "jxl": (0, 10, 30, 50, 70, 80, 85, 90, 95, 98, 99.9),
    "webp": (0, 10, 30, 50, 70, 85, 95, 100),
}
# PSNR targets (dB against 2**bits - 1) for 8-bit data, every 4 dB; deeper data see _raw_sweep.
_PSNR_LOW, _PSNR_HIGH, _PSNR_STEP = 20.0, 56.0, 4.0
_PSNR_CODECS = ("j2k", "j2k-interp")
# Precision p (quantisation step 2**(bits - p)): the step relative to the peak matters.
_PRECISION_CODECS = ("htj2k", "wavelet")
# JPEG-LS NEAR for 8-bit data; deeper data scale it by 2**(bits - 8) and add small NEARs.
_NEAR_8BIT = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96)


def _raw_sweep(codec: BaselineCodec, bits: int) -> list[float]:
    name = codec.name
    if codec.sweep is not None:
        return list(codec.sweep(bits))
    if is_mcz(codec):
        return list(range(MCZ_QUALITIES[0], MCZ_QUALITIES[1] + 1))
    if name in _QUALITY_SWEEPS:
        return list(_QUALITY_SWEEPS[name])
    if name in _PSNR_CODECS:
        # 20-56 dB spans ~0.05-4 bpp at 8 bits. Deeper data reach further at both ends: the
        # near-lossless end by the whole peak ratio, the low end by half of it (measured: a 12-bit
        # CT slice codes at 0.23 bpp at 48 dB and 4 bpp at 86 dB).
        shift = 20 * math.log10(((1 << bits) - 1) / 255)
        return [round(t, 1) for t in np.arange(_PSNR_LOW + shift / 2, _PSNR_HIGH + shift + 1e-9, _PSNR_STEP)]
    if name in _PRECISION_CODECS:
        return list(range(1, max(9, bits - 1)))
    if name == "jpegls":
        scale = 1 << max(0, bits - 8)
        nears = {n * scale for n in _NEAR_8BIT} | {1 << k for k in range(max(0, bits - 8))}
        return sorted(-float(n) for n in nears)
    low, high = codec.span(bits)  # an unlisted codec: 9 points across its range
    return list(np.linspace(low, high, 9))


_T = TypeVar("_T")


def thin(values: Sequence[_T], points: int | None) -> list[_T]:
    """At most ``points`` of ``values``, evenly spaced and keeping both ends."""
    if points is None or points >= len(values):
        return list(values)
    if points < 1:
        raise UsageError(f"found points={points}; expected at least 1")
    if points == 1:
        return [values[len(values) // 2]]
    return [values[i] for i in sorted({round(k * (len(values) - 1) / (points - 1)) for k in range(points)})]


def sweep(codec: BaselineCodec, bits: int, points: int | None = None) -> list[float | None]:
    """Default settings of ``codec`` for ``bits``-bit frames, lowest quality first.

    The lists span about 0.05-4 bpp on 8-bit images and the equivalent on deeper
    ones: relative-quality settings (JPEG, AVIF, JPEG XL, WebP, mcz) are the same at
    every depth; PSNR targets (JPEG 2000) run every 4 dB from ``20 + s/2`` to
    ``56 + s`` dB with ``s = 20 log10((2**bits - 1) / 255)``; precision (HTJ2K,
    wavelet) runs from 1 to ``max(8, bits - 2)`` and JPEG-LS NEAR scales with
    ``2**(bits - 8)``.  Values outside :meth:`BaselineCodec.span` are dropped.

    Parameters
    ----------
    codec : BaselineCodec
        Any codec (a lossless one has the single point None).
    bits : int
        Coded bit depth (:func:`~mcz.baselines.contract.coding_bits`).
    points : int, optional
        At most this many settings (:func:`thin`).

    Returns
    -------
    list of float or None
    """
    if codec.lossless:
        return [None]
    low, high = codec.span(bits)
    values = sorted(
        {float(round(v)) if codec.settings.integer else float(v) for v in _raw_sweep(codec, bits)}
    )
    kept: list[float | None] = [v for v in values if low <= v <= high]
    return thin(kept, points)


def default_targets(quantity: str, bits: int) -> tuple[float, ...]:
    """Targets of ``--match`` when none are given.

    ``ratio``: :data:`PAPER_RATIOS`; ``bpp``: :data:`BPP_TARGETS`; ``psnr``:
    :data:`PSNR_TARGETS_8BIT` for up to 8 bits, 10 dB higher for deeper data
    (as :func:`mcz.bench.aggregate.reference_psnr` goes from 40 to 50 dB).
    """
    if quantity == "ratio":
        return PAPER_RATIOS
    if quantity == "bpp":
        return BPP_TARGETS
    if quantity == "psnr":
        return PSNR_TARGETS_8BIT if bits <= 8 else tuple(t + 10 for t in PSNR_TARGETS_8BIT)
    raise UsageError(f"found match {quantity!r}; expected one of {', '.join(MATCH_QUANTITIES)}")
