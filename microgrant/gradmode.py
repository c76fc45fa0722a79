"""Grad mode: whether operations record the graph, per thread, as in PyTorch.

Recording is on unless the current thread is inside `no_grad`.  Every op asks, so the question
must be cheap: `OPEN_BLOCKS` counts the no_grad blocks open in any thread, and only while one
is open does an op look at its own thread's flag (`THIS_THREAD.enabled`).  `microgrant.engine`
reads both inline on its hot path; everyone else asks `is_grad_enabled`.  Whether the numbers
met in an expression take a gradient too, as micrograd's do, is `numbers_take_grad`'s (for the
whole program: a habit of notebooks that follow the lecture).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["is_grad_enabled", "no_grad", "OPEN_BLOCKS", "THIS_THREAD", "numbers_take_grad",
           "NUMBER_GRAD", "GRADS_LOCK", "GRADS_ADDED", "WATCHING"]

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


NUMBER_GRAD: list = [None]
"""What the grad of a number met in an expression starts as: ``None`` (a constant), or 0.0
while `numbers_take_grad` is on.  A list, so `microgrant.engine` reads the current one."""


def numbers_take_grad(enabled: bool = True) -> bool:
    """Whether numbers met in an expression (the 2 in ``2 * x``) take a gradient, as in micrograd.

    Off by default: such a number is a constant (``grad`` None, skipped by backward).  On,
    it is a leaf that backward fills, as micrograd's ``Value(other)``, so the lecture's
    ``draw_dot`` prints ``"grad %.4f" % n.grad`` for every node.  It holds for the whole
    program and every thread (a habit for notebooks that follow the lecture), and returns the
    setting it replaced.  ``requires_grad=False`` Values stay constants.

    >>> from microgrant import Value
    >>> x = Value(3.0)
    >>> before = numbers_take_grad(True); y = 2 * x; numbers_take_grad(before)
    True
    >>> y.backward(); y.inputs[0].grad, (2 * x).inputs[0].grad
    (3.0, None)
    """
    before = NUMBER_GRAD[0] is not None
    NUMBER_GRAD[0] = 0.0 if enabled else None
    return before


GRADS_LOCK = threading.Lock()
"""Held while gradients are added: by `Value.backward` for its whole loop, and by a compiled
step for its additions, so that two threads adding to the same leaves lose nothing."""

GRADS_ADDED = [0]
"""How many times gradients were added (counted under `GRADS_LOCK`): a compiled step that
read the grads before the count moved reads them again before it adds to them."""

WATCHING = [0]
"""How many `microgrant.compile` traces are watching numbers now (one at most): while one
is, the engine tells it of each constant it computes (`microgrant.checks.folded`)."""
