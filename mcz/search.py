"""Choosing a quality or a setting: the one place mcz searches a codec's range, and what it chose.

Every search here assumes what holds for every codec mcz drives: more quality never gives fewer
bytes nor a lower PSNR.  Three questions are asked of that monotone range:

* :func:`bisect_quality`: the highest (or lowest) integer quality meeting a condition, e.g. the
  rate control's "highest quality whose bpp is at most 0.5"; :func:`gallop_quality` the same
  from a starting quality upwards, e.g. the ratio guard's "lowest quality, not below the requested
  one, whose compression ratio is at most the cap";
* :func:`narrow`: a setting whose measured value comes within a relative tolerance of a target
  (the benchmark's matching of a baseline codec to a CR, bpp or PSNR);
* :func:`largest_within`: the largest setting whose measure stays within a limit (a codestream
  that fits a byte budget).

:class:`Outcome` and :class:`Notice` record what an encoding chose and why, for the user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcz.dicom.guidelines import Guideline


@dataclass(frozen=True)
class Notice:
    """A line for the user: ``level`` is ``"warning"`` or ``"info"``."""

    level: str
    text: str


@dataclass(frozen=True)
class Outcome:
    """The encoding kept, and why.

    Attributes
    ----------
    data : bytes
        The ``.mcz`` file.
    quality : int
        Quality it was encoded with.
    ratio : float
        Its achieved compression ratio.
    guideline : Guideline or None
        The row of the ratio guidelines that applies to the image.
    cap : float or None
        The ratio cap in force.
    tried : tuple of (int, float)
        (quality, ratio) of every encoding made, in order.
    notices : tuple of Notice
    """

    data: bytes
    quality: int
    ratio: float
    guideline: Guideline | None
    cap: float | None
    tried: tuple[tuple[int, float], ...]
    notices: tuple[Notice, ...] = field(default=())


def bisect_quality(meets: Callable[[int], bool], lo: int, hi: int, highest: bool) -> tuple[int, bool]:
    """Bisect a monotone predicate over the integers ``lo..hi``.

    Parameters
    ----------
    meets : callable
        Quality -> whether it meets the target; true on a prefix of the range
        (``highest``) or on a suffix (not ``highest``).
    lo, hi : int
        Inclusive range.
    highest : bool
        Look for the highest quality that meets (else the lowest).

    Returns
    -------
    (int, bool)
        The quality found and True, or the nearest quality (``lo`` if
        ``highest``, else ``hi``) and False when none meets.
    """
    nearest = lo if highest else hi
    if not meets(nearest):
        return nearest, False
    # invariant: good meets, bad does not (or is outside the range)
    return _close_gap(meets, nearest, hi + 1 if highest else lo - 1), True


def _close_gap(meets: Callable[[int], bool], good: int, bad: int) -> int:
    """Bisect between a quality that meets and one that does not (either order); the one next to the edge."""
    while abs(bad - good) > 1:
        mid = (good + bad) // 2
        if meets(mid):
            good = mid
        else:
            bad = mid
    return good


def gallop_quality(meets: Callable[[int], bool], start: int, top: int) -> tuple[int, bool]:
    """The lowest quality of ``start..top`` that meets a predicate true on a suffix of the range.

    Probes ``start``, ``start + 1``, ``start + 3``, ``start + 7``, ... (so a target met a step or two
    above ``start`` costs as many probes as a linear scan, and the high, slow qualities are probed
    only when needed), then bisects the last gap. Returns ``(top, False)`` when even ``top`` misses.
    """
    bad, step, quality = start - 1, 1, start
    while not meets(quality):
        if quality >= top:
            return top, False
        bad, quality, step = quality, min(top, quality + step), step * 2
    return _close_gap(meets, quality, bad), True


def relative_error(value: float, target: float) -> float:
    """|value - target| / |target| (0 when both are infinite, e.g. two lossless PSNRs)."""
    if value == target:
        return 0.0
    return abs(value - target) / abs(target)


def narrow(probe: Callable[[float], float], lo: float, hi: float, target: float, *, rising: bool,
           integer: bool, tolerance: float, iterations: int) -> None:
    """Bisect ``[lo, hi]`` towards a setting whose ``probe`` is within ``tolerance`` of ``target``.

    ``probe`` is called on each midpoint (it keeps what it measured: the caller picks the best
    of its evaluations); ``rising``: the measured value grows with the setting; ``integer``: the
    setting takes integer values. Stops early at a value within the tolerance.
    """
    for _ in range(iterations):
        if integer and hi - lo <= 1:
            return
        mid = float((lo + hi) // 2) if integer else (lo + hi) / 2
        value = probe(mid)
        if relative_error(value, target) <= tolerance:
            return
        if (value < target) == rising:
            lo = mid
        else:
            hi = mid


def largest_within(within: Callable[[float], bool], lo: float, hi: float, iterations: int) -> float | None:
    """The largest setting of ``[lo, hi]`` (to ``iterations`` halvings) for which ``within`` holds.

    ``within`` must hold on a prefix of the range (e.g. "the codestream fits the budget").
    Returns None when it does not hold even at ``lo``.
    """
    if not within(lo):
        return None
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if within(mid):
            lo = mid
        else:
            hi = mid
    return lo
