"""The executor contract: run ``work(item)`` for every item, report each outcome once."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mcz.errors import McZError, OutputError, UsageError

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class Outcome:
    """What became of one item: ``value`` returned by the work, or the ``error`` that stopped it."""

    index: int
    value: Any = None
    error: McZError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the work returned."""
        return self.error is None


def run_one(work: Callable[[Any], Any], index: int, item: Any) -> Outcome:
    """Run ``work(item)`` and turn any exception into that item's failure.

    Every executor calls this, so a failure reads the same whichever one ran it:
    an mcz error as raised, an ``OSError`` as an :class:`OutputError`, anything else
    as an internal error (one file's bug must not abort the others).
    """
    start = time.perf_counter()
    try:
        value = work(item)
    except McZError as exc:
        return Outcome(index, error=_plain(exc), seconds=time.perf_counter() - start)
    except OSError as exc:
        return Outcome(index, error=OutputError(f"{exc}"), seconds=time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - one item's bug must not abort the others
        return Outcome(index, error=internal_error(exc), seconds=time.perf_counter() - start)
    return Outcome(index, value=value, seconds=time.perf_counter() - start)


def _plain(exc: McZError) -> McZError:
    """The error without its traceback chain, so that it pickles across processes (Ray)."""
    try:
        clean = type(exc)(str(exc))
    except TypeError:  # a subclass with another constructor: keep its class's exit code
        clean = McZError(str(exc))
        clean.exit_code = exc.exit_code
    return clean


def internal_error(exc: BaseException) -> McZError:
    """An unexpected exception of one item as that item's failure (exit code INTERNAL)."""
    return McZError(
        f"internal error {type(exc).__name__}: {exc}; this is a bug in mcz, please report it with the file"
    )


class Executor(ABC):
    """Runs one callable over many items, in parallel, and reports every outcome to the caller.

    ``done`` is always called in the caller's thread, one outcome at a time, in
    completion order, so callers may print, write manifests and update progress bars
    without locks.
    """

    name: str = "?"

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise UsageError(f"found {workers} workers; expected at least 1 (-j/--jobs)")
        self.workers = workers

    @abstractmethod
    def run(self, work: Callable[[Any], Any], items: Sequence[Any], done: Callable[[Outcome], None]) -> None:
        """Call ``work`` on every item; call ``done`` with each :class:`Outcome`.

        Parameters
        ----------
        work : callable
            A picklable callable (cloudpickle for Ray: closures are fine); if it has a
            ``setup()`` method, a stateful worker calls it once before its first item
            (e.g. to load a model).
        items : sequence
            The items, each passed to ``work`` as is.
        done : callable
            Receives every outcome exactly once.
        """

    def describe(self) -> str:
        """One line for logs and benchmark tables."""
        return f"{self.name} ({self.workers} worker{'s' if self.workers != 1 else ''})"


def get_executor(engine: str = "local", workers: int | None = None, **options: Any) -> Executor:
    """The executor called ``engine`` (``"local"`` or ``"ray"``).

    Parameters
    ----------
    engine : str
        ``"local"`` (forked worker processes on this machine; :mod:`mcz.executors.local`) or ``"ray"`` (stateful Ray actors;
        needs ``mcz[ray]``).
    workers : int, optional
        Items in flight at once: threads for local (default 1), actors for Ray (default:
        the cluster's CPUs divided by the CPUs per actor).
    **options
        Engine options: for Ray ``address``, ``gpus_per_worker``, ``cpus_per_worker``.
    """
    if engine == "local":
        if options:
            raise UsageError(f"found {', '.join(sorted(options))} with --engine local; these apply to --engine ray")
        from mcz.executors.local import LocalExecutor  # lazy: cycle executors.base <-> executors.local

        return LocalExecutor(1 if workers is None else workers)
    if engine == "ray":
        from mcz.executors.ray import RayExecutor  # lazy: cycle executors.base <-> executors.ray

        return RayExecutor(workers, **options)
    raise UsageError(f"found engine {engine!r}; expected one of {', '.join(ENGINES)}")
