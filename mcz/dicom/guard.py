"""The ratio guard of ``mcz encode``: warn, cap or refuse compression beyond a guideline.

Three settings (:class:`RatioPolicy`):

- always: a file whose achieved compression ratio exceeds the most permissive
  guideline of its modality and body part (:mod:`mcz.dicom.guidelines`) gets a
  one-line warning naming the guideline and the ratio;
- ``max_ratio``: ``"auto"`` caps the ratio at that guideline, a number caps it
  there.  The encoder starts at the requested quality (the model's default when
  none is given) and searches the model's quality range above it
  (:func:`mcz.search.gallop_quality`) for the lowest quality whose ratio is at or
  below the cap: the highest ratio not above the cap that is no worse than the
  requested quality.  A cap never lowers
  the quality below what was asked.  If even the highest quality exceeds the cap,
  that encoding is kept with a warning;
- ``strict``: exceeding the guideline (or an unreachable cap) is an error
  (:class:`GuidelineExceededError`) and nothing is written.

The ratio is the achieved one of the whole ``.mcz`` file against the stored bit
depth (:func:`mcz.metrics.compression_ratio`), headers included.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from mcz.dicom.guidelines import SOURCE, Guideline
from mcz.errors import UsageError
from mcz.search import Notice, Outcome, gallop_quality


class GuidelineExceededError(UsageError):
    """``--strict``: the achieved ratio exceeds the guideline or the cap."""


class GuidelineWarning(UserWarning):
    """The achieved ratio exceeds the guideline, or a cap could not be met."""


@dataclass(frozen=True)
class RatioPolicy:
    """How the guard treats the compression ratio.

    Attributes
    ----------
    max_ratio : float, "auto" or None
        Cap on the achieved ratio: a number, the guideline's (``"auto"``) or none.
    strict : bool
        Make exceeding the guideline or the cap an error instead of a warning.
    """

    max_ratio: float | str | None = None
    strict: bool = False

    def __post_init__(self) -> None:
        cap = self.max_ratio
        if cap is None or cap == "auto":
            return
        if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not math.isfinite(cap) or cap < 1:
            raise UsageError(f"max_ratio {cap!r}; expected 'auto' or a number >= 1 (e.g. 15 for 15:1)")

    @classmethod
    def parse(cls, text: str | None, strict: bool = False) -> RatioPolicy:
        """From the CLI: ``"auto"``, ``"15"``, ``"15:1"`` or None."""
        if text is None or text.strip().lower() == "auto":
            return cls(None if text is None else "auto", strict)
        value = text.strip().removesuffix(":1")
        try:
            return cls(float(value), strict)
        except ValueError:
            raise UsageError(f"--max-ratio {text!r}; expected 'auto' or a ratio such as 15 or 15:1") from None


def resolve_cap(policy: RatioPolicy, guideline: Guideline | None) -> tuple[float | None, list[Notice]]:
    """The numeric cap of ``policy`` for an image whose guideline is ``guideline``."""
    if policy.max_ratio != "auto":
        return policy.max_ratio, []  # type: ignore[return-value]
    if guideline is None:
        note = Notice("info", "--max-ratio auto: no guideline for this modality; the ratio is not capped")
        return None, [note]
    return float(guideline.high), []


def encode_guarded(
    encode_at: Callable[[int], bytes],
    ratio_of: Callable[[bytes], float],
    start: int,
    top: int,
    guideline: Guideline | None,
    policy: RatioPolicy,
) -> Outcome:
    """Encode at ``start``, or at the lowest quality up to ``top`` within the cap; then check.

    Parameters
    ----------
    encode_at : callable
        Quality -> the complete ``.mcz`` bytes.
    ratio_of : callable
        ``.mcz`` bytes -> achieved compression ratio.
    start, top : int
        Requested quality and the model's highest.
    guideline : Guideline or None
        The image's row of the table.
    policy : RatioPolicy

    Returns
    -------
    Outcome

    Raises
    ------
    GuidelineExceededError
        ``policy.strict`` and the kept ratio exceeds the guideline or the cap.
    """
    cap, notices = resolve_cap(policy, guideline)
    made: dict[int, tuple[bytes, float]] = {}  # quality -> (file, ratio), in the order tried

    def ratio_at(q: int) -> float:
        if q not in made:
            data = encode_at(q)
            made[q] = data, ratio_of(data)
        return made[q][1]

    if cap is None:
        quality = start
    else:  # the ratio falls as the quality rises: the lowest quality from ``start`` within the cap
        quality, _ = gallop_quality(lambda q: ratio_at(q) <= cap, start, max(start, top))
    ratio = ratio_at(quality)
    data = made[quality][0]
    tried = [(q, r) for q, (_, r) in made.items()]
    notices += _cap_notices(cap, policy, tried)
    capped = cap is not None
    notices += _guideline_notices(ratio, guideline, capped)
    _enforce(policy, notices, capped)
    return Outcome(data, quality, ratio, guideline, cap, tuple(tried), tuple(notices))


def _cap_notices(cap: float | None, policy: RatioPolicy, tried: list[tuple[int, float]]) -> list[Notice]:
    if cap is None:
        return []
    quality, ratio = tried[-1]
    steps = ", ".join(f"quality {q}: {r:.1f}:1" for q, r in tried)
    source = "the guideline" if policy.max_ratio == "auto" else "--max-ratio"
    if ratio <= cap:
        return [Notice("info", f"quality {quality} chosen for a cap of {cap:g}:1 ({source}); tried {steps}")]
    return [Notice(
        "warning",
        f"no quality reaches the cap of {cap:g}:1 ({source}): the highest, {quality}, gives {ratio:.1f}:1 "
        f"(tried {steps}); {_BOUNDED}",
    )]


#: What meets any cap: the lossless and bounded-error (``--max-error``) modes.
_BOUNDED = "use --lossless, or --max-error K for a stated bound on every pixel, or a model that codes finer"


def _advice(capped: bool) -> str:
    """What to do about a ratio above the guideline; --max-ratio auto only where it was not in force."""
    return _BOUNDED if capped else "use --max-ratio auto, a higher --quality, or --lossless / --max-error K"


def _guideline_notices(ratio: float, guideline: Guideline | None, capped: bool = False) -> list[Notice]:
    if guideline is None or ratio <= guideline.high:
        return []
    return [Notice(
        "warning",
        f"achieved compression ratio {ratio:.1f}:1 exceeds the {SOURCE} guideline {guideline.describe()} "
        f"(most permissive: {guideline.most_permissive}); {_advice(capped)}",
    )]


def _enforce(policy: RatioPolicy, notices: list[Notice], capped: bool = False) -> None:
    warnings = [n.text for n in notices if n.level == "warning"]
    if policy.strict and warnings:
        raise GuidelineExceededError(
            f"{warnings[0]}. --strict makes this an error, so nothing was written; {_advice(capped)}, "
            "or drop --strict"
        )
