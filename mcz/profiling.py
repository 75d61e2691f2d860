"""Per-stage wall-clock times of a decode (``mcz decode --profile``), and what the decoder chose.

A :class:`Report` is made current with :func:`recording`; code on the decode path
wraps its stages in :func:`stage` (entropy decoding, synthesis, digest checks, writing)
and records facts with :func:`note` (the backend ``auto`` chose).  Without a current
report both cost one context-variable lookup, so the path is not slowed.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

#: The stages a decode reports, in pipeline order.
STAGES = ("read", "entropy", "synthesis", "digest", "write")

_current: contextvars.ContextVar[Report | None] = contextvars.ContextVar("mcz_profile", default=None)


@dataclass
class Report:
    """Seconds spent per stage, and notes (``backend``, ``backend_reason``, ...)."""

    seconds: dict[str, float] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        """Add ``seconds`` to stage ``name``."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def as_dict(self) -> dict:
        """Stage times in milliseconds (pipeline order, then any others) and the notes."""
        order = [s for s in STAGES if s in self.seconds] + [s for s in self.seconds if s not in STAGES]
        return {"ms": {s: round(1000 * self.seconds[s], 3) for s in order}, **self.notes}

    def line(self) -> str:
        """One human-readable line: ``entropy 12.1 ms, synthesis 40.2 ms, ... (total 60.0 ms)``."""
        ms = self.as_dict()["ms"]
        parts = ", ".join(f"{k} {v:.1f} ms" for k, v in ms.items())
        return f"{parts} (total {sum(ms.values()):.1f} ms)"


@contextlib.contextmanager
def recording(report: Report | None = None) -> Iterator[Report]:
    """Make ``report`` (a new one by default) current in this context; yields it."""
    report = report or Report()
    token = _current.set(report)
    try:
        yield report
    finally:
        _current.reset(token)


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block into the current report's stage ``name`` (nothing without a report)."""
    report = _current.get()
    if report is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        report.add(name, time.perf_counter() - start)


def note(name: str, value: object) -> None:
    """Record a fact in the current report (nothing without one)."""
    report = _current.get()
    if report is not None:
        report.notes[name] = value
