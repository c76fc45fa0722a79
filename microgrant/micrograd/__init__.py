"""micrograd's import paths, with micrograd's habit for numbers: code from the lecture runs with
only its imports changed.

``from micrograd.engine import Value`` becomes ``from microgrant.micrograd.engine import Value``,
and ``from micrograd.nn import MLP`` becomes ``from microgrant.micrograd.nn import MLP``.  The
classes are microgrant's own (`microgrant.Value`, `microgrant.nn.MLP`); what importing this
package adds is micrograd's habit for a number met in an expression (the 2 of ``2 * x``): it
becomes a leaf that backward fills, so the lecture's ``draw_dot``, which prints
``"grad %.4f" % n.grad`` for every node, prints the 2's gradient too.  In plain microgrant that
number is a constant whose ``grad`` is None (see `microgrant.engine.numbers_take_grad`).

The habit holds for the whole program from the first import on, as a notebook following the
lecture wants; ``microgrant.engine.numbers_take_grad(False)`` turns it off again, and
``numbers_take_grad(True)`` back on (running the import again does not: Python imports a module
once).  It changes no gradient of anything else: the same numbers, the constants' grads filled
in besides.  One refusal goes with it: `microgrant.compile` refuses a loss that depends on no
parameter only when its numbers are constants, so under the habit such a loss compiles.
"""

from ..engine import numbers_take_grad
from . import engine, nn

__all__ = ["engine", "nn"]

numbers_take_grad(True)
