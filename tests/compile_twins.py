"""What the compile tests share: one compiled call and one eager call of the same loss.

A compiled step is right when its loss and the gradients it adds are the eager engine's on
the same arrays; these run the two side by side, every gradient zeroed before and after.
"""

from __future__ import annotations

import numpy as np
import pytest

from microgrant import Value


def eager_loss(loss_fn, *arrays) -> Value:
    """``loss_fn`` run eagerly on the arrays as nested lists of constant Values."""
    nested = [np.vectorize(lambda x: Value(float(x), requires_grad=False), otypes=[object])(
        np.asarray(a, dtype=float)).tolist() for a in arrays]
    return loss_fn(*nested)


def _added(run, params) -> tuple:
    for p in params:
        p.grad = 0.0
    loss = run()
    found = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return loss, found


def eager(loss_fn, params, *arrays) -> tuple:
    """The eager engine's loss and the gradients it adds to ``params``."""
    def run():
        loss = eager_loss(loss_fn, *arrays)
        loss.backward()
        return loss.data
    return _added(run, params)


def compiled(step, params, *arrays) -> tuple:
    """One compiled call: its loss and the gradients it adds to ``params``."""
    return _added(lambda: step(*arrays), params)


def agrees(step, loss_fn, params, *arrays, rel: float = 1e-12, abs: float = 1e-15) -> None:
    """One compiled call and one eager call give the same loss and gradients."""
    got, got_grads = compiled(step, params, *arrays)
    want, want_grads = eager(loss_fn, params, *arrays)
    assert got == pytest.approx(want, rel=rel, abs=abs)
    assert got_grads == pytest.approx(want_grads, rel=rel, abs=abs)
