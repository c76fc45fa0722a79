"""A recorded node's local derivatives, and micrograd's per-node step built on them.

Backprop multiplies the gradient arriving at a node by that node's partials, d(node)/d(input)
for each input, read from the op table (`microgrant.ops`): `local_grads`.  `Value.backward`
computes the partials of ops that can fail (sqrt at 0) with it before touching any grad;
`microgrant.autodiff` and the pictures use it for every edge.  micrograd's lecture calls one
node's step by hand (``v._backward()``) and reads ``_prev`` and ``_op``: `LectureHabits` gives
`microgrant.engine.Value` those, from the same table.
"""

from __future__ import annotations

from typing import Any

from .errors import undefined_grad_error
from .ops import OPS, UNDEFINED

__all__ = ["local_grads", "LectureHabits", "LECTURE_SYMBOLS", "lecture_symbol"]

LECTURE_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "neg": "-", "vpow": "**",
                   "sum": "+", "relu": "ReLU", "sqrt": "sqrt", "abs": "abs",
                   "sigmoid": "sigmoid"}
"""An op's name as the lecture writes it (``*``, not the table's ``×``), where the two differ."""


def local_grads(node: Any, as_values: bool = False) -> tuple:
    """The partials d(node)/d(input) for each of ``node``'s inputs, from the op table.

    The numbers on the edges of a backward graph: backprop adds each times ``node.grad`` to
    that input's grad.  A partial that does not exist here is an error if that input takes a
    gradient, and ``None`` for a constant (no gradient needs it).

    Args:
        node: a Value made by an op (a leaf has none).
        as_values: Values with graphs of their own instead of floats, to differentiate again.

    >>> from microgrant import Value
    >>> a, b = Value(3.0), Value(4.0)
    >>> local_grads(a * b)
    (4.0, 3.0)
    """
    inputs = node.inputs
    if not inputs:
        return ()
    op = OPS[node.op]
    try:
        # The same formulas, applied to Values instead of floats, record their own graph.
        xs, out = (inputs, node) if as_values else (tuple(x.data for x in inputs), node.data)
        local = op.local_grads(xs, out, node.arg)
    except (ArithmeticError, ValueError) as error:
        raise undefined_grad_error(node, 0, error) from None
    if UNDEFINED in local:  # fine where no gradient must flow: a constant's partial
        for i, (x, d) in enumerate(zip(inputs, local)):
            if d is UNDEFINED and x.grad is not None:
                raise undefined_grad_error(node, i)
        local = [None if d is UNDEFINED else d for d in local]
    return tuple(local)


def lecture_symbol(node: Any) -> str:
    """The op that made ``node`` as micrograd names it: ``*``, ``+``, ``**2``, ``ReLU``, ``tanh``
    (``""`` for a leaf); an op micrograd does not have keeps the op table's symbol.

    >>> from microgrant import Value
    >>> x = Value(3.0)
    >>> [lecture_symbol(v) for v in (x * x, x ** 2, x ** 0.5, (x - 1).relu(), x.tanh(), x)]
    ['*', '**2', '**0.5', 'ReLU', 'tanh', '']
    """
    op: str = node.op
    if op == "pow":
        arg = node.arg
        return f"**{int(arg) if float(arg).is_integer() else arg}"
    return LECTURE_SYMBOLS.get(op, OPS[op].symbol) if op else ""


class LectureHabits:
    """micrograd's habits, so the lecture's cells run on microgrant's Values.

    A base of `microgrant.engine.Value` with no slots of its own: it costs a node nothing.
    """

    __slots__ = ()

    @property
    def _prev(self) -> set:
        """The inputs as a set, as micrograd keeps them (``inputs`` keeps their order)."""
        return set(self.inputs)  # type: ignore[attr-defined]

    @property
    def _op(self) -> str:
        """The op's name as micrograd's ``_op`` holds it (see `lecture_symbol`).

        >>> from microgrant import Value
        >>> x = Value(3.0)
        >>> (x * x)._op, (x ** 2)._op, x.tanh()._op, x._op
        ('*', '**2', 'tanh', '')
        """
        return lecture_symbol(self)

    def _backward(self) -> None:
        """This node's chain-rule step, as micrograd's: each input's grad += local_grad * grad.

        >>> from microgrant import Value
        >>> a, b = Value(2.0), Value(-3.0)
        >>> c = a * b; c.grad = 1.0; c._backward()
        >>> a.grad, b.grad
        (-3.0, 2.0)
        """
        g = self.grad  # type: ignore[attr-defined]
        if g is not None:
            for x, d in zip(self.inputs, local_grads(self)):  # type: ignore[attr-defined]
                if x.grad is not None:
                    x.grad += d * g
