"""The default executor: a thread pool in this process (mcz's coders release the GIL in torch,
imagecodecs and NumPy, and threads share one loaded model)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from mcz.executors.base import Executor, Outcome, run_one


class LocalExecutor(Executor):
    """``workers`` threads; outcomes are handed to ``done`` in the calling thread."""

    name = "local"

    def run(self, work: Callable[[Any], Any], items: Sequence[Any], done: Callable[[Outcome], None]) -> None:
        """See :meth:`Executor.run`."""
        setup = getattr(work, "setup", None)
        if callable(setup):
            setup()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = [pool.submit(run_one, work, i, item) for i, item in enumerate(items)]
            for future in as_completed(futures):
                done(future.result())
