"""Find the setting at which a codec reaches a target CR, bpp, PSNR or byte budget on a frame.

Bisection over the codec's setting, assuming the quantity is monotone in it
(larger setting = more bytes and higher PSNR: true of every standard codec up to
small wiggles).  Every evaluated point is kept, and the one nearest to the target
is returned, so a non-monotone step can cost precision but never a wrong answer
about what was reached.  Definitions (docs/references.md):

* ``"cr"``: :func:`mcz.metrics.compression_ratio`, against the storage width of
  the *stored* bit depth (1 byte up to 8 bits, 2 bytes up to 16), never float32;
* ``"bpp"``: :func:`mcz.metrics.bpp` of the whole codestream;
* ``"psnr"``: :func:`mcz.metrics.psnr` with ``R = intensity.data_range``.

:func:`match_size` and :func:`code_at_size` instead find the largest codestream
within a byte budget (mcz's own file size, for a side-by-side at equal size).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mcz import metrics, search
from mcz.baselines.contract import BaselineCodec, coding_bits, from_unsigned, to_unsigned
from mcz.errors import UsageError
from mcz.intensity import Intensity
from mcz.io import MedicalImage

Quantity = Literal["cr", "bpp", "psnr"]
QUANTITIES = ("cr", "bpp", "psnr")


@dataclass(frozen=True)
class Match:
    """The outcome of a search.

    Attributes
    ----------
    quantity : str
        ``"cr"``, ``"bpp"`` or ``"psnr"``.
    target, achieved : float
        What was asked and what the returned codestream gives.
    setting : float
        The codec setting that produced ``data``.
    data : bytes
        The whole codestream.
    reached : bool
        ``|achieved - target| <= tolerance * target``; false when the target lies
        outside what the codec can reach (``data`` is then its nearest end).
    evaluations : int
        Encodes performed.
    trace : tuple of (setting, achieved)
        Every evaluated point, in order: a free rate-quality curve.
    """

    quantity: str
    target: float
    achieved: float
    setting: float
    data: bytes
    reached: bool
    evaluations: int
    trace: tuple[tuple[float, float], ...]


class _Probe:
    """Encodes (and decodes when needed) at a setting; remembers every result."""

    def __init__(self, codec: BaselineCodec, frame: np.ndarray, intensity: Intensity, quantity: str):
        self.codec, self.intensity, self.quantity = codec, intensity, quantity
        self.original = np.asarray(frame)
        self.unsigned, self.offset = to_unsigned(frame, intensity)
        self.bits = coding_bits(intensity)
        self.seen: dict[float, tuple[float, bytes]] = {}

    def __call__(self, setting: float) -> float:
        if setting not in self.seen:
            data = self.codec.encode(self.unsigned, self.bits, setting)
            self.seen[setting] = (self._value(data), data)
        return self.seen[setting][0]

    def _value(self, data: bytes) -> float:
        n, it = self.original.size, self.intensity
        if self.quantity == "cr":
            return metrics.compression_ratio(len(data), n, it.bits_stored, it.dtype)
        if self.quantity == "bpp":
            return metrics.bpp(len(data), n)
        decoded = from_unsigned(self.codec.decode(data, self.bits), self.offset, it)
        return metrics.psnr(self.original, decoded, it.data_range)


def match(codec: BaselineCodec, frame: np.ndarray, intensity: Intensity, quantity: Quantity, target: float, *,
          tolerance: float = 0.01, iterations: int = 30) -> Match:
    """Code ``frame`` at the setting that gives ``target`` of ``quantity``.

    Parameters
    ----------
    codec : BaselineCodec
        A lossy codec (lossless ones have a single operating point).
    frame : numpy.ndarray
        2-D stored values inside ``[intensity.low, intensity.high]`` (signed
        allowed; they are shifted with :func:`~mcz.baselines.contract.to_unsigned`).
    intensity : Intensity
        The image's value domain: storage width for CR, ``R`` for PSNR.
    quantity : {"cr", "bpp", "psnr"}
        What to match.
    target : float
        The wanted value (e.g. 10.0 for 10:1, 40.0 dB).
    tolerance : float
        Relative error at which the search stops early and counts as reached.
    iterations : int
        Upper bound on bisection steps (after the two ends).

    Returns
    -------
    Match
    """
    if quantity not in QUANTITIES:
        raise UsageError(f"found quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}")
    if not (math.isfinite(target) and target > 0):
        raise UsageError(f"found target {target!r}; expected a positive finite number")
    if codec.lossless:
        raise UsageError(f"{codec.name} is lossless: it has one operating point; use measure() instead")
    probe = _Probe(codec, frame, intensity, quantity)
    lo, hi = probe.codec.span(probe.bits)
    rising = quantity != "cr"  # more quality = more bytes = lower CR
    ends = probe(lo), probe(hi)
    inside = min(ends) <= target <= max(ends)
    if inside:
        search.narrow(probe, lo, hi, target, rising=rising, integer=codec.settings.integer,
                      tolerance=tolerance, iterations=iterations)
    return _best(probe, quantity, target, tolerance)


def _best(probe: _Probe, quantity: str, target: float, tolerance: float) -> Match:
    setting, (value, data) = min(probe.seen.items(), key=lambda kv: (search.relative_error(kv[1][0], target), len(kv[1][1])))
    return Match(quantity=quantity, target=float(target), achieved=float(value), setting=setting, data=data,
                 reached=search.relative_error(value, target) <= tolerance, evaluations=len(probe.seen),
                 trace=tuple((s, v) for s, (v, _) in probe.seen.items()))


def match_ratio(
    codec: BaselineCodec, frame: np.ndarray, intensity: Intensity, ratio: float, **kwargs
) -> Match:
    """:func:`match` of a compression ratio (e.g. ``10.0`` for 10:1)."""
    return match(codec, frame, intensity, "cr", ratio, **kwargs)


def match_bpp(codec: BaselineCodec, frame: np.ndarray, intensity: Intensity, bpp: float, **kwargs) -> Match:
    """:func:`match` of bits per pixel of the whole codestream."""
    return match(codec, frame, intensity, "bpp", bpp, **kwargs)


def match_psnr(codec: BaselineCodec, frame: np.ndarray, intensity: Intensity, psnr: float, **kwargs) -> Match:
    """:func:`match` of PSNR in dB with ``R = intensity.data_range``."""
    return match(codec, frame, intensity, "psnr", psnr, **kwargs)


def match_size(
    codec: BaselineCodec, frame: np.ndarray, bits: int, target_bytes: int, iterations: int = 18
) -> bytes:
    """The largest codestream not above ``target_bytes`` (bisection over the setting).

    Falls back to the smallest codestream the codec can make when even that is
    larger than the target. See :func:`match` for ratio, bpp and PSNR
    targets with a report of what was reached.
    """
    lo, hi = codec.span(bits)
    made: dict[float, bytes] = {}

    def fits(setting: float) -> bool:
        made[setting] = codec.encode(frame, bits, setting)
        return len(made[setting]) <= target_bytes

    best = search.largest_within(fits, lo, hi, iterations)
    return made[lo] if best is None else made[best]


def code_at_size(codec: BaselineCodec, image: MedicalImage, target_bytes: int) -> tuple[np.ndarray, int]:
    """Code every frame of ``image`` within an equal share of ``target_bytes``.

    Returns the decoded stored values (same shape and dtype as ``image.pixels``)
    and the total codestream bytes, which never exceed the budget unless even the
    codec's smallest codestream does.
    """
    bits = coding_bits(image.intensity)
    per_frame = target_bytes // image.frames
    frames, total = [], 0
    for frame in image.pixels:
        unsigned, offset = to_unsigned(frame, image.intensity)
        data = match_size(codec, unsigned, bits, per_frame)
        frames.append(from_unsigned(codec.decode(data, bits), offset, image.intensity))
        total += len(data)
    return np.stack(frames), total
