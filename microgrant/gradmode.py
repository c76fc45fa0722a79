"""Grad mode: whether operations record the graph, per thread, as in PyTorch.

Recording is on unless the current thread is inside `no_grad`.  Every op asks, so the question
must be cheap: `OPEN_BLOCKS` counts the no_grad blocks open in any thread, and only while one
is open does an op look at its own thread's flag (`THIS_THREAD.enabled`).  `microgrant.engine`
reads both inline on its hot path; everyone else asks `is_grad_enabled`.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["is_grad_enabled", "no_grad", "OPEN_BLOCKS", "THIS_THREAD"]

THIS_THREAD = threading.local()
"""This thread's flag: ``THIS_THREAD.enabled`` is False inside `no_grad` (unset: True)."""
OPEN_BLOCKS = [0]
"""How many `no_grad` blocks are open, in any thread (a list, so readers share the count)."""
_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """Whether operations in this thread record the graph (False inside `no_grad`)."""
    return OPEN_BLOCKS[0] == 0 or getattr(THIS_THREAD, "enabled", True)


@contextmanager
def no_grad() -> Iterator[None]:
    """A context in which this thread's operations record no graph: results are constants.

    Use it for inference, plotting and metrics, where no gradient is wanted; it saves the time
    and memory of recording.  Other threads keep recording.

    >>> from microgrant import Value
    >>> x = Value(2.0)
    >>> with no_grad():
    ...     y, inside = x * x, is_grad_enabled()
    >>> y.inputs, y.requires_grad, inside, is_grad_enabled()
    ((), False, False, True)
    """
    previous = getattr(THIS_THREAD, "enabled", True)
    with _lock:
        OPEN_BLOCKS[0] += 1
    THIS_THREAD.enabled = False
    try:
        yield
    finally:
        THIS_THREAD.enabled = previous
        with _lock:
            OPEN_BLOCKS[0] -= 1
