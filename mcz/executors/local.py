"""The default executor: worker processes on this machine (threads where processes cannot fork).

One worker runs the items in a thread of this process. Several workers are forked processes: the
default model codes in NumPy and Python (the wavelet family), which holds the GIL, so threads gave
no speed-up there (500 CT/MR slices: 68 s with one thread, 77 s with two; bench/results/executors).
A forked worker inherits ``work`` as it is in memory (nothing to pickle but the items and the
outcomes), calls its ``setup()`` once (load the model), and codes the items it is sent.

Several workers are threads instead where ``fork`` is unsafe: on Windows and macOS, and in a
process that has already imported torch, whose OpenMP thread pool does not survive a fork (a forked
child hangs in its first parallel operation; the test suite found it). Threads suit torch anyway:
its kernels release the GIL and the threads share one loaded model. ``mcz encode``/``decode`` do
not import torch before the workers start, so the CLI forks.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Executor as _Pool
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Any

from mcz.executors.base import Executor, Outcome, run_one

#: The work a forked worker runs: set in the parent just before the pool forks, inherited by the children.
_inherited: Callable[[Any], Any] | None = None


def can_fork() -> bool:
    """Whether worker processes can be forked here: on Linux, by a process that has not imported torch."""
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and "torch" not in sys.modules)


def _setup_inherited() -> None:
    setup = getattr(_inherited, "setup", None)
    if callable(setup):
        setup()


def _run_inherited(index: int, item: Any) -> Outcome:
    assert _inherited is not None  # set before the pool forked
    return run_one(_inherited, index, item)


class LocalExecutor(Executor):
    """``workers`` forked processes (one: a thread); outcomes are handed to ``done`` in the calling thread."""

    name = "local"

    def run(self, work: Callable[[Any], Any], items: Sequence[Any], done: Callable[[Outcome], None]) -> None:
        """See :meth:`Executor.run`."""
        if self.workers > 1 and len(items) > 1 and can_fork():
            self._run_forked(work, items, done)
            return
        setup = getattr(work, "setup", None)
        if callable(setup):
            setup()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            self._collect(pool, [pool.submit(run_one, work, i, item) for i, item in enumerate(items)], done)

    def _run_forked(self, work: Callable[[Any], Any], items: Sequence[Any], done: Callable[[Outcome], None]) -> None:
        global _inherited
        _inherited = work
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=min(self.workers, len(items)), mp_context=context,
                                     initializer=_setup_inherited) as pool:
                self._collect(pool, [pool.submit(_run_inherited, i, item) for i, item in enumerate(items)], done)
        finally:
            _inherited = None

    @staticmethod
    def _collect(pool: _Pool, futures: list, done: Callable[[Outcome], None]) -> None:
        for future in as_completed(futures):
            done(future.result())

    def describe(self) -> str:
        """See :meth:`Executor.describe`."""
        if self.workers > 1 and can_fork():
            return f"local ({self.workers} forked processes)"
        return f"local ({self.workers} thread{'s' if self.workers != 1 else ''})"
