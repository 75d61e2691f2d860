"""Figures averaged over images: BD-rates, bpp at a reference PSNR, and codec speeds."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mcz.bench.bdrate import bd_rate, cr_band_to_bpp
from mcz.bench.points import Point, pareto
from mcz.errors import UsageError

#: References of the BD-rate table: the DICOM reference and the strongest standard anchor.
REFERENCES = ("j2k", "avif")
#: The CR band radiology societies accept for CT/MR (docs/references.md).
CR_BAND = (5.0, 25.0)


def _by_image_codec(points: Iterable[Point]) -> dict[tuple[str, str], list[Point]]:
    out: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for p in points:
        out[(p.image_id, p.codec)].append(p)
    return out


# --- BD-rate ----------------------------------------------------------------------------------


def _bd(curve_a, curve_b, band: tuple[float, float] | None) -> tuple[float, str]:
    try:
        result = bd_rate(curve_a[0], curve_a[1], curve_b[0], curve_b[1], rate_band=band)
    except UsageError as exc:  # too few points on a curve
        return math.nan, str(exc)
    return result.percent, result.reason


def bd_rates(points: Sequence[Point], references: Sequence[str] = REFERENCES) -> list[dict[str, Any]]:
    """BD-rate (PSNR) of every lossy codec against each reference, per image, full range and CR band.

    Returns
    -------
    list of dict
        ``set, image_id, bits, codec, reference, range, percent, reason`` (``bits`` of the range R);
        ``range`` is ``"full"`` or ``"cr 5-25"``.
    """
    curves = {key: (pareto(ps), ps[0]) for key, ps in _by_image_codec(points).items()}
    out = []
    for (image, codec), (curve, sample) in curves.items():
        if sample.lossless:
            continue
        for ref in references:
            if ref == codec or (image, ref) not in curves:
                continue
            band = cr_band_to_bpp(*CR_BAND, sample.bits_stored, sample.dtype)
            for label, rate_band in (("full", None), (f"cr {CR_BAND[0]:g}-{CR_BAND[1]:g}", band)):
                percent, reason = _bd(curve, curves[(image, ref)][0], rate_band)
                out.append(
                    {
                        "set": sample.set,
                        "image_id": image,
                        "bits": sample.bits,
                        "codec": codec,
                        "reference": ref,
                        "range": label,
                        "percent": percent,
                        "reason": reason,
                    }
                )
    return out


@dataclass(frozen=True)
class Mean:
    """A mean over images and how many images it is defined on."""

    value: float
    defined: int
    total: int

    def text(self, fmt: str = "{:+.1f} %") -> str:
        """``"-12.3 % (5/6)"``, or ``"n/a (0/6)"``."""
        shown = fmt.format(self.value) if math.isfinite(self.value) else "n/a"
        return f"{shown} ({self.defined}/{self.total})"


def mean_of(values: Sequence[float]) -> Mean:
    """Mean of the finite values, with their count out of all."""
    finite = [v for v in values if math.isfinite(v)]
    return Mean(statistics.fmean(finite) if finite else math.nan, len(finite), len(values))


def mean_bd_rates(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str, str], Mean]:
    """``(set, codec, reference, range) -> Mean`` of per-image BD-rates."""
    groups: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        groups[(r["set"], r["codec"], r["reference"], r["range"])].append(r["percent"])
    return {key: mean_of(values) for key, values in groups.items()}


# --- rate at a reference PSNR, speed ----------------------------------------------------------


def reference_psnr(bits: int) -> float:
    """The PSNR at which rates are compared, by the bits of the value range R.

    40 dB up to 8 bits, 50 dB for 9-12 bits; deeper ranges keep the 12-bit error
    relative to the peak: ``50 + 20 log10((2**bits - 1) / 4095)`` dB.
    """
    if bits <= 8:
        return 40.0
    if bits <= 12:
        return 50.0
    return round(50.0 + 20.0 * math.log10(((1 << bits) - 1) / 4095), 1)


def bpp_at(curve: tuple[np.ndarray, np.ndarray], psnr: float) -> float:
    """bpp where a Pareto curve reaches ``psnr`` (log-rate linear in PSNR); NaN outside the curve."""
    rates, qualities = curve
    if rates.size == 0 or not qualities[0] <= psnr <= qualities[-1]:
        return math.nan
    return float(10 ** np.interp(psnr, qualities, np.log10(rates)))


def rates_at_reference(points: Sequence[Point]) -> dict[tuple[str, int, str], Mean]:
    """``(set, bits of R, codec) -> Mean`` bpp at :func:`reference_psnr` over the images."""
    groups: dict[tuple[str, int, str], list[float]] = defaultdict(list)
    for (_, codec), ps in _by_image_codec(points).items():
        if ps[0].lossless:
            continue
        bits = ps[0].bits
        groups[(ps[0].set, bits, codec)].append(bpp_at(pareto(ps), reference_psnr(bits)))
    return {key: mean_of(values) for key, values in groups.items()}


@dataclass(frozen=True)
class Speed:
    """Throughput of one codec over all its cells: megapixels / summed median seconds."""

    codec: str
    threads: int
    cells: int
    encode_mpps: float
    decode_mpps: float


def speeds(rows: Sequence[dict[str, Any]]) -> list[Speed]:
    """Pixel-weighted throughput per codec (each cell's time is the median of its repeats)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["codec"]].append(r)
    out = []
    for codec, rs in groups.items():
        mp = sum(r["rows"] * r["columns"] for r in rs) / 1e6
        enc, dec = sum(r["encode_s"] for r in rs), sum(r["decode_s"] for r in rs)
        out.append(
            Speed(
                codec,
                int(rs[0]["threads"]),
                len(rs),
                mp / enc if enc > 0 else math.inf,
                mp / dec if dec > 0 else math.inf,
            )
        )
    return out
