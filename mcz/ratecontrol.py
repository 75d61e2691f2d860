"""Per-image rate control: pick the quality that meets a bpp, ratio or PSNR target.

Every model has an integer ``quality`` range in which a higher quality never
gives fewer bits nor a lower PSNR.  For one image (one file: a volume is one
choice) the encoder bisects that range, encoding each quality at most once:

- ``bpp``: the highest quality whose whole-file bpp is at most the target;
- ``ratio``: the highest quality whose compression ratio (against the stored bit
  depth, :func:`mcz.metrics.compression_ratio`) is at least the target;
- ``psnr``: the lowest quality whose PSNR (with the image's explicit data range,
  :attr:`mcz.intensity.Intensity.data_range`) is at least the target.

When no quality meets the target, the nearest one is kept (the lowest for bpp
and ratio, the highest for PSNR) and the result says so (``met=False``, a
warning notice): a target is never missed silently.

Only the generic codec API is used (an ``encode_at(quality) -> bytes`` callable
and :func:`mcz.codec.engine.decode_bytes`), so every model family works.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np

from mcz import metrics
from mcz.codec import engine
from mcz.search import Notice, Outcome, bisect_quality
from mcz.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from mcz.codec.engine import Codec
    from mcz.io import MedicalImage

#: Target kinds, and the CLI flag of each.
KINDS = ("bpp", "ratio", "psnr")
_UNITS = {"bpp": " bpp", "ratio": ":1", "psnr": " dB"}


@dataclass(frozen=True)
class Target:
    """A rate or fidelity target for one image.

    Parameters
    ----------
    kind : str
        ``"bpp"`` (at most, whole file), ``"ratio"`` (at least, R:1) or
        ``"psnr"`` (at least, dB).
    value : float
        A positive, finite number.

    Raises
    ------
    UsageError
        Unknown kind, or a value that is not a positive finite number.
    """

    kind: str
    value: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"target kind {self.kind!r} is not known; expected one of {', '.join(KINDS)}")
        value = self.value
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise UsageError(f"--target-{self.kind} {value!r}; expected a positive number")
        if not (math.isfinite(value) and value > 0):
            raise UsageError(f"--target-{self.kind} {value!r}; expected a positive, finite number")
        object.__setattr__(self, "value", float(value))

    @classmethod
    def from_options(
        cls, bpp: float | None = None, ratio: float | None = None, psnr: float | None = None
    ) -> Target | None:
        """The one target given (CLI flags or keyword arguments), or None; two or more raise."""
        given = [(kind, v) for kind, v in zip(KINDS, (bpp, ratio, psnr)) if v is not None]
        if len(given) > 1:
            names = " and ".join(f"--target-{kind}" for kind, _ in given)
            raise UsageError(f"{names} were both given; give one target")
        return cls(*given[0]) if given else None

    @property
    def at_most(self) -> bool:
        """Whether the achieved value must not exceed the target (bpp) rather than reach it."""
        return self.kind == "bpp"

    @property
    def prefers_high_quality(self) -> bool:
        """Whether the answer is the highest quality that meets the target (bpp, ratio)."""
        return self.kind != "psnr"

    def met_by(self, achieved: float) -> bool:
        """Whether an achieved value meets the target."""
        return achieved <= self.value if self.at_most else achieved >= self.value

    def describe(self) -> str:
        """``"<= 0.5 bpp"``, ``">= 10:1"`` or ``">= 40 dB"``."""
        return f"{'<=' if self.at_most else '>='} {format_value(self.kind, self.value)}"


def format_value(kind: str, value: float) -> str:
    """A value of ``kind`` with its unit: ``0.41 bpp``, ``12.3:1``, ``41.20 dB``."""
    digits = {"bpp": 3, "ratio": 1, "psnr": 2}[kind]
    return f"{value:.{digits}f}{_UNITS[kind]}"


@dataclass(frozen=True)
class RateResult:
    """The quality chosen for a target and what it achieves.

    Attributes
    ----------
    target : Target
    quality : int
        The chosen quality.
    data : bytes
        The ``.mcz`` file at that quality.
    bpp, ratio, psnr : float
        Achieved whole-file bpp, compression ratio and PSNR (dB, ``inf`` if exact).
    met : bool
        Whether the target is met; False means no quality meets it and the
        nearest was kept.
    tried : tuple of int
        Qualities encoded, in order.
    message : str
        One line: ``"quality 5: achieved 0.410 bpp (target <= 0.500 bpp)"``, with
        the reason when the target is not met.
    """

    target: Target
    quality: int
    data: bytes = field(repr=False)
    bpp: float
    ratio: float
    psnr: float
    met: bool
    tried: tuple[int, ...]
    message: str

    @property
    def achieved(self) -> float:
        """The achieved value of the target's kind."""
        return float(getattr(self, self.target.kind))


@dataclass(frozen=True)
class RateNotice(Notice):
    """The notice that reports a target's outcome (``info`` if met, else ``warning``)."""

    rate: RateResult | None = None


@dataclass(frozen=True)
class TargetedOutcome(Outcome):
    """An :class:`~mcz.search.Outcome` of an encoding made for a target."""

    rate: RateResult | None = None


class Trials:
    """Encodings of one image at several qualities, each made once and measured on demand.

    Parameters
    ----------
    image : MedicalImage
        The image (its pixels are the PSNR reference).
    codec : Codec
        The model; its ``quality_range`` is searched and it decodes for PSNR.
    encode_at : callable, optional
        Quality -> complete ``.mcz`` bytes (default
        :func:`mcz.codec.engine.encode_image` without metadata).
    """

    def __init__(self, image: MedicalImage, codec: Codec, encode_at: Callable[[int], bytes] | None = None) -> None:
        self.image = image
        self.codec = codec
        self._encode_at = encode_at or self._plain_encode
        self._data: dict[int, bytes] = {}
        self._psnr: dict[int, float] = {}
        self.order: list[int] = []

    @property
    def quality_range(self) -> tuple[int, int]:
        """The model's inclusive quality range."""
        lo, hi = self.codec.spec.quality_range
        return int(lo), int(hi)

    def _plain_encode(self, quality: int) -> bytes:
        return engine.encode_image(self.image, self.codec, quality=quality)

    def encode(self, quality: int) -> bytes:
        """The ``.mcz`` bytes at ``quality`` (encoded on first use only)."""
        if quality not in self._data:
            self._data[quality] = self._encode_at(quality)
            self.order.append(quality)
        return self._data[quality]

    def bpp(self, quality: int) -> float:
        """Whole-file bits per pixel at ``quality``."""
        img = self.image
        return metrics.bpp(len(self.encode(quality)), img.rows * img.columns * img.frames)

    def ratio(self, quality: int) -> float:
        """Compression ratio against the stored bit depth at ``quality``."""
        img = self.image
        pixels = img.rows * img.columns * img.frames
        return metrics.compression_ratio(len(self.encode(quality)), pixels, img.intensity.bits_stored,
                                         img.intensity.dtype)

    def psnr(self, quality: int) -> float:
        """PSNR in dB of the decoded file at ``quality``, with the image's data range."""
        if quality not in self._psnr:
            decoded = engine.decode_bytes(self.encode(quality), verify=False, codec=self.codec)
            self._psnr[quality] = metrics.psnr(self.image.pixels, decoded, self.image.intensity.data_range)
        return self._psnr[quality]

    def measure(self, kind: str, quality: int) -> float:
        """The value of ``kind`` (``bpp``, ``ratio`` or ``psnr``) at ``quality``."""
        return float(getattr(self, kind)(quality))


def select(trials: Trials, target: Target) -> RateResult:
    """The quality ``target`` asks for (see the module docstring), and what it achieves."""
    lo, hi = trials.quality_range
    quality, _ = bisect_quality(
        lambda q: target.met_by(trials.measure(target.kind, q)), lo, hi, target.prefers_high_quality
    )
    return result_at(trials, target, quality)


def result_at(trials: Trials, target: Target, quality: int, note: str = "") -> RateResult:
    """The :class:`RateResult` of ``target`` at ``quality`` (already chosen), with an optional note."""
    achieved = trials.measure(target.kind, quality)
    met = target.met_by(achieved)
    message = f"quality {quality}: achieved {format_value(target.kind, achieved)} (target {target.describe()})"
    if not met:
        message += f"; target not met: {_miss_reason(trials, target, quality)}"
    if note:
        message += f"; {note}"
    return RateResult(
        target=target, quality=quality, data=trials.encode(quality), bpp=trials.bpp(quality),
        ratio=trials.ratio(quality), psnr=trials.psnr(quality), met=met, tried=tuple(trials.order),
        message=message,
    )


def _miss_reason(trials: Trials, target: Target, quality: int) -> str:
    lo, hi = trials.quality_range
    model = trials.codec.spec.id
    if quality == (lo if target.prefers_high_quality else hi):
        edge = "lowest" if target.prefers_high_quality else "highest"
        return f"even the {edge} quality of {model!r} ({lo}..{hi}) misses it, so the {edge} was kept"
    return f"quality {quality} was forced by another constraint"


def encode_to_target(image: MedicalImage, codec: Codec, target: Target) -> RateResult:
    """Encode ``image`` (no metadata) at the quality that meets ``target``.

    Parameters
    ----------
    image : MedicalImage
        The image or volume; a volume is one file and one choice.
    codec : Codec
        Any registered model (:func:`mcz.codec.engine.load_codec`).
    target : Target

    Returns
    -------
    RateResult
    """
    return select(Trials(image, codec), target)


def attach(outcome: Outcome, trials: Trials, target: Target | None, searched: int | None) -> Outcome:
    """Add the target's result and notice to a guarded ``outcome`` (unchanged without a target).

    ``searched`` is the quality the search chose; if the ratio cap moved the
    encoding to another quality, the result is reported for the kept one.
    """
    if target is None:
        return outcome
    note = "" if outcome.quality == searched else f"the ratio cap raised the quality from {searched}"
    rate = result_at(trials, target, outcome.quality, note)
    notice = RateNotice("info" if rate.met else "warning", rate.message, rate)
    values = {f.name: getattr(outcome, f.name) for f in fields(outcome)}
    values.pop("rate", None)
    values["notices"] = tuple(outcome.notices) + (notice,)
    return TargetedOutcome(**values, rate=rate)
