"""The op table: every operation a `Value` can record, each defined once.

This is the heart of backprop. An op knows three things about itself:

* its **forward** function, which turns the inputs' numbers into the output's number;
* its **local derivatives** (``local_grads``): the partial derivative of its output with respect
  to each input, ``d out / d input_i``, evaluated at the inputs' and output's numbers;
* its **formulas**, the same derivatives written out as text, so that pictures and
  explanations can show where each number comes from.

``Value.backward`` reads ``local_grads`` and applies the chain rule: every input receives
``local_grad * out.grad``.  The visualiser reads ``symbol`` and ``formulas``.  The tests read the
whole table, so an op added here is checked against finite differences at once.

Calling conventions, by ``arity``:

* unary ops (``arity=1``): ``forward(x, arg)`` and ``local_grads(x, out, arg)``, where ``arg``
  is the op's constant argument (the exponent ``n`` of ``x ** n``, the slope of
  ``leaky_relu``) and ``None`` for ops that take none;
* binary ops (``arity=2``): ``forward(a, b)`` and ``local_grads(a, b, out)``;
* variadic ops (``arity=0``, only ``sum``): ``forward(xs)`` and ``local_grads(xs, out)``.

``local_grads`` returns a tuple with one partial per input.  It is written once and works on
plain floats (the fast path of ``backward``) and on ``Value`` objects (``grad(...,
create_graph=True)``, where the derivatives are themselves recorded so that they can be
differentiated again).  That is why the formulas use only arithmetic, comparisons and
``_log``, all of which work on both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

__all__ = ["Op", "OPS"]


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: its forward function, local derivatives and their formulas.

    Attributes:
        name: identifier stored in ``Value.op`` (``"mul"``).
        symbol: what a picture shows in the op's node (``"×"``).
        arity: number of inputs; ``0`` means any number (``sum``).
        forward: computes the output's number from the inputs' numbers.
        local_grads: the partials ``d out / d input_i``, one per input.
        formulas: those partials as text, one per input (one for all inputs of ``sum``).
        domain: where the op is defined, in words, or ``""`` when it is defined everywhere.
        grad_domain: where its local derivatives exist, when that is narrower than
            ``domain`` (``sqrt`` is defined at 0, its derivative is not), else ``""``.

    >>> OPS["mul"].local_grads(3.0, 4.0, 12.0)
    (4.0, 3.0)
    >>> OPS["tanh"].formulas
    ('d tanh(x)/dx = 1 - tanh(x)^2',)
    """

    name: str
    symbol: str
    arity: int
    forward: Callable
    local_grads: Callable
    formulas: tuple[str, ...]
    domain: str = ""
    grad_domain: str = ""

    @property
    def formula(self) -> str:
        """All of the op's local-derivative formulas as one line of text.

        >>> OPS["mul"].formula
        'd(a * b)/da = b; d(a * b)/db = a'
        """
        return "; ".join(self.formulas)


def _log(x):
    """Natural log of a float or of a Value (the one formula that needs a function call)."""
    return x.log() if hasattr(x, "log") else math.log(x)


def _sigmoid(x: float) -> float:
    # 1 / (1 + e^-x) overflows e^-x for x < -709; this branch only ever exponentiates a
    # non-positive number, so it is finite for every finite x.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _is_zero(x) -> bool:
    # `x == 0` would compare a Value by identity; compare its number instead.
    return getattr(x, "data", x) == 0


def _pow_local_grads(a, b, out):
    # b == 0 is separate: 0 * a^-1 would divide by zero at a = 0, yet d(a^0)/da = 0.
    d_base = 0.0 if _is_zero(b) else b * a ** (b - 1)
    # d(a^b)/db = a^b ln a exists only for a > 0.  At a = 0 the limit from the right is 0
    # (for b > 0), which is also PyTorch's choice; for a < 0 the real power is not
    # differentiable in b at all, so saying so beats returning NaN.
    if a > 0:
        d_exponent = out * _log(a)
    elif _is_zero(a):
        d_exponent = 0.0
    else:
        raise ValueError("d(a ** b)/db = a ** b * ln(a) is undefined for a < 0")
    return (d_base, d_exponent)


def _step(x, _):
    # Heaviside step; step(0) = 1, matching the notes' "fires when the sum >= threshold".
    return 1.0 if x >= 0.0 else 0.0


_TABLE = (
    # name, symbol, arity, forward, local_grads, formulas, domain
    Op("add", "+", 2,
       lambda a, b: a + b,
       lambda a, b, out: (1.0, 1.0),
       ("d(a + b)/da = 1", "d(a + b)/db = 1")),
    Op("sub", "−", 2,
       lambda a, b: a - b,
       lambda a, b, out: (1.0, -1.0),
       ("d(a - b)/da = 1", "d(a - b)/db = -1")),
    Op("mul", "×", 2,
       lambda a, b: a * b,
       lambda a, b, out: (b, a),
       ("d(a * b)/da = b", "d(a * b)/db = a")),
    Op("div", "÷", 2,
       lambda a, b: a / b,
       lambda a, b, out: (1.0 / b, -out / b),
       ("d(a / b)/da = 1 / b", "d(a / b)/db = -a / b^2"),
       "b != 0"),
    Op("sum", "Σ", 0,
       lambda xs: sum(xs),
       lambda xs, out: (1.0,) * len(xs),
       ("d(x1 + x2 + ... + xn)/dxi = 1",)),
    Op("neg", "−", 1,
       lambda x, _: -x,
       lambda x, out, _: (-1.0,),
       ("d(-x)/dx = -1",)),
    Op("pow", "^", 1,
       math.pow,
       # n == 0 is separate: 0 * x^-1 would divide by zero at x = 0, yet d(x^0)/dx = 0.
       lambda x, out, n: (n * x ** (n - 1) if n != 0 else 0.0,),
       ("d(x^n)/dx = n * x^(n-1)",),
       "x != 0 when n < 0, and x >= 0 when n is not a whole number",
       "x != 0 when n < 1 (n = 0 excepted)"),
    Op("vpow", "^", 2,
       math.pow,
       _pow_local_grads,
       ("d(a^b)/da = b * a^(b-1)", "d(a^b)/db = a^b * ln(a)"),
       "a != 0 when b < 0, and a >= 0 when b is not a whole number",
       "a > 0, or a = 0 with b = 0 or b >= 1"),
    Op("exp", "exp", 1,
       lambda x, _: math.exp(x),
       lambda x, out, _: (out,),
       ("d exp(x)/dx = exp(x)",),
       "x <= 709.78 (beyond it exp(x) overflows a float)"),
    Op("log", "log", 1,
       lambda x, _: math.log(x),
       lambda x, out, _: (1.0 / x,),
       ("d log(x)/dx = 1 / x",),
       "x > 0"),
    Op("sqrt", "√", 1,
       lambda x, _: math.sqrt(x),
       lambda x, out, _: (0.5 / out,),
       ("d sqrt(x)/dx = 1 / (2 sqrt(x))",),
       "x >= 0",
       "x > 0"),
    Op("tanh", "tanh", 1,
       lambda x, _: math.tanh(x),
       lambda x, out, _: (1.0 - out * out,),
       ("d tanh(x)/dx = 1 - tanh(x)^2",)),
    Op("sigmoid", "σ", 1,
       lambda x, _: _sigmoid(x),
       lambda x, out, _: (out * (1.0 - out),),
       ("d σ(x)/dx = σ(x) * (1 - σ(x))",)),
    # Kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope.
    Op("relu", "ReLU", 1,
       lambda x, _: x if x > 0.0 else 0.0,
       lambda x, out, _: (1.0 if x > 0.0 else 0.0,),
       ("d relu(x)/dx = 1 if x > 0 else 0",)),
    Op("leaky_relu", "LeakyReLU", 1,
       lambda x, slope: x if x > 0.0 else slope * x,
       lambda x, out, slope: (1.0 if x > 0.0 else slope,),
       ("d leaky_relu(x)/dx = 1 if x > 0 else slope",)),
    Op("abs", "|x|", 1,
       lambda x, _: abs(x),
       lambda x, out, _: (1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0,),
       ("d|x|/dx = sign(x), 0 at x = 0",)),
    # The step's derivative is 0 wherever it exists: no gradient flows through it.  That is
    # why the perceptron learns by its own rule, and why backprop needed smooth activations.
    Op("step", "step", 1,
       _step,
       lambda x, out, _: (0.0,),
       ("d step(x)/dx = 0",)),
)

OPS: dict[str, Op] = {op.name: op for op in _TABLE}
"""Every op, by name. ``Value.op`` holds one of these keys (``""`` for a leaf)."""
