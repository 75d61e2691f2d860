"""Where batch work runs: one small interface, local worker processes (default) and Ray.

Batch users (``mcz encode``/``decode`` of folders) hand an :class:`Executor` a picklable
``work`` callable and a list of items; nothing else in mcz knows which executor runs.
"""

from mcz.executors.base import Executor, Outcome, get_executor, run_one

__all__ = ["Executor", "Outcome", "get_executor", "run_one"]
