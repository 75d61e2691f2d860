"""Torch's intra-op thread count for one call, changed only when the caller asks.

torch is imported inside the functions: :func:`check_threads` runs for every encode and decode,
including those of families that never load torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from mcz.errors import UsageError


def check_threads(threads: int | None) -> int | None:
    """Validate an explicit ``threads=`` argument (None: use the caller's setting)."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise UsageError(
            f"threads={threads!r} is not valid; expected a positive integer, or None to use "
            "torch.get_num_threads() as set by the caller"
        )
    return int(threads)


@contextlib.contextmanager
def torch_threads(count: int | None = None) -> Iterator[None]:
    """Run with ``count`` intra-op threads, then restore the caller's setting; None changes nothing.

    The engine never changes the process-wide thread count on its own: a forked
    DataLoader worker (one thread, set by PyTorch) that is switched to several
    threads can deadlock in OpenMP.  Only an explicit ``threads=`` does so, for
    the duration of the call.  The thread count can change the last bits of a
    network's float output; :mod:`mcz.codec.pixelcheck` accounts for that.
    """
    count = check_threads(count)
    import torch  # here, not at the top: see the module docstring

    previous = torch.get_num_threads()
    if count is None or count == previous:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
