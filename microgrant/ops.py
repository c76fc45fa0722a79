"""The op table: every operation a `Value` can record, each defined once, in one convention.

This is where backprop's arithmetic lives.  An op knows, about itself:

* its **forward** function, which turns the inputs' numbers into the output's number;
* its **local derivatives** (``local_grads``): the partial derivative of its output with respect
  to each input, ``d out / d input_i``, evaluated at the inputs' and output's numbers;
* its **formulas**, the same derivatives written as text, and its **notation**, how a line of
  an explanation writes it (``a × b``, ``tanh(z)``), so pictures show where each number comes
  from;
* where it is defined (``domain``) and where its derivatives are (``grad_domain``);
* its counterparts for arrays (numpy, used by `microgrant.compile`) and in PyTorch (used by
  `microgrant.pytorch.check`), given only where the scalar expression does not already work
  on arrays and tensors, and the Value method that applies it.

Every op takes its inputs the same way, whatever their number:

* ``forward(xs, arg)``: ``xs`` holds the inputs' numbers (one for ``tanh``, two for ``mul``, any
  number for ``sum``); ``arg`` is the op's constant argument (the exponent ``n`` of ``x ** n``,
  the slope of ``leaky_relu``), or ``None``;
* ``local_grads(xs, out, arg)`` returns one partial per input.  It is written once and works
  on floats (``backward``) and on Values (``grad(..., create_graph=True)``, where the
  derivatives are recorded so they can be differentiated again).  That is why the formulas use
  only arithmetic, comparisons and `log`, which work on both.  Where a partial does not exist
  at the point (``sqrt`` at 0), the op returns `UNDEFINED` in its place: backprop raises only
  when a gradient must flow through it.

``Value.backward`` writes the partials of the ops a training step uses most out in its loop,
with these expressions (a test holds the two to the last bit); ``microgrant.autodiff``,
`microgrant.viz`, the expression parser and the tests read this table, so an op added here is
drawn, explained, parsed and checked against finite differences at once.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["Op", "OPS", "UNDEFINED", "log", "sigmoid"]


class _Undefined:
    """The marker for a partial derivative that does not exist at the point asked."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()
"""Returned by ``local_grads`` in place of a partial that does not exist (``sqrt'(0)``)."""


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: its forward function, local derivatives and everything said about them.

    Attributes:
        name: identifier stored in ``Value.op`` (``"mul"``).
        symbol: what a picture shows in the op's node (``"×"``).
        arity: number of inputs; ``0`` means any number (``sum``).
        forward: ``forward(xs, arg)``, the output's number from the inputs' numbers.
        local_grads: ``local_grads(xs, out, arg)``, the partials ``d out / d input_i``.
        formulas: those partials as text, one per input (one for all inputs of ``sum``).
        notation: how an equation writes the op: a template over the inputs ``{0}``, ``{1}``
            and the argument ``{arg}``; for an op of any number of inputs, a function from
            the inputs' texts to the equation's.
        domain: where the op is defined, in words, or ``""`` when it is defined everywhere.
        grad_domain: where its local derivatives exist, when that is worth checking before
            backward changes any grad: narrower than ``domain`` (sqrt's), or a condition
            on an input the partials read (pick's index).
        method: the name of the Value method (and of the expression function) that applies
            it, or ``""`` for an operator such as ``*``.
        activation: whether a neuron can use it as its activation, by ``method`` name.
        arg_name: what its argument is called in messages (``"n"``, ``"slope"``).
        formula_index: for an op of any number of inputs, which formula belongs to input
            ``i`` of ``count``, as ``formula_index(i, count)``; else ``None``.
        array_forward, array_local_grads: the same functions on numpy arrays, elementwise;
            when not given, ``forward`` and ``local_grads`` themselves (their arithmetic works
            on arrays as written).
        torch: ``torch(torch_module, xs, arg)``, the same op on PyTorch tensors; when not
            given, ``forward`` applied to the tensors.

    >>> OPS["mul"].local_grads((3.0, 4.0), 12.0, None)
    (4.0, 3.0)
    >>> OPS["tanh"].formulas
    ('d tanh(x)/dx = 1 - tanh(x)^2',)
    >>> OPS["pow"].write(["x"], "2"), OPS["sum"].write(["a", "b", "c"])
    ('x^2', 'a + b + c')
    """

    name: str
    symbol: str
    arity: int
    forward: Callable
    local_grads: Callable
    formulas: tuple[str, ...]
    notation: str | Callable[[list[str]], str]
    domain: str = ""
    grad_domain: str = ""
    method: str = ""
    activation: bool = False
    arg_name: str = ""
    formula_index: Callable[[int, int], int] | None = None
    array_forward: Any = None
    array_local_grads: Any = None
    torch: Any = None

    def __post_init__(self) -> None:
        # Kernels not given are the scalar ones: `xs[0] * xs[1]` multiplies arrays and
        # tensors elementwise as it multiplies floats.
        if self.array_forward is None:
            object.__setattr__(self, "array_forward", self.forward)
        if self.array_local_grads is None:
            object.__setattr__(self, "array_local_grads", self.local_grads)
        if self.torch is None:
            forward = self.forward
            object.__setattr__(self, "torch", lambda t, xs, arg: forward(xs, arg))

    @property
    def formula(self) -> str:
        """All of the op's local-derivative formulas as one line of text.

        >>> OPS["mul"].formula
        'd(a * b)/da = b; d(a * b)/db = a'
        """
        return "; ".join(self.formulas)

    def input_names(self, count: int) -> tuple[str, ...]:
        """What the formulas call the inputs: ``x``; ``a, b``; or ``x1 ... xn`` for ``sum``.

        >>> OPS["div"].input_names(2), OPS["sum"].input_names(3)
        (('a', 'b'), ('x1', 'x2', 'x3'))
        """
        if self.arity == 1:
            return ("x",)
        if self.arity == 2:
            return ("a", "b")
        return tuple(f"x{i + 1}" for i in range(count))

    def formula_for(self, i: int, count: int = 0) -> str:
        """The formula of the partial with respect to input ``i`` (of ``count`` inputs).

        >>> OPS["sum"].formula_for(4), OPS["dot"].formula_for(3, count=5)
        ('d(x1 + x2 + ... + xn)/dxi = 1', 'd(w·x + b)/dxi = wi')
        """
        if self.formula_index is not None:
            return self.formulas[self.formula_index(i, count)]
        return self.formulas[min(i, len(self.formulas) - 1)]

    def write(self, inputs: list[str], arg: str = "") -> str:
        """The op applied to ``inputs`` (already written as text), as an equation shows it.

        >>> OPS["leaky_relu"].write(["z"], "0.01"), OPS["sub"].write(["a", "b"])
        ('LeakyReLU(z, slope 0.01)', 'a − b')
        """
        if callable(self.notation):
            return self.notation(inputs)
        return self.notation.format(*inputs, arg=arg)


# ---- the formulas' helpers (they work on floats and on Values) ------------------------------

def log(x):
    """Natural log of a float or of a Value: the one formula that needs a function call.

    >>> log(1.0)
    0.0
    """
    return x.log() if hasattr(x, "log") else math.log(x)


def sigmoid(x: float) -> float:
    """The logistic function on a float, finite for every finite ``x``.

    ``1 / (1 + e^-x)`` overflows ``e^-x`` for x < -709; this form only ever exponentiates a
    non-positive number.

    >>> sigmoid(0.0), sigmoid(-1000.0), sigmoid(1000.0)
    (0.5, 0.0, 1.0)
    """
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    if x < 0.0:
        e = math.exp(x)
        return e / (1.0 + e)
    return x  # NaN stays NaN


def _number(x) -> float:
    # `x == 0` would compare a Value by identity; compare its number instead.
    return getattr(x, "data", x)


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0


def _power(a: float, b: float) -> float:
    # math.pow(-inf, 0.5) is inf by C's rules, while math.pow(-1, 0.5) raises: a negative base
    # with a fractional exponent has no real power, however large the base.
    if a < 0.0 and b != math.floor(b) and math.isfinite(b):
        raise ValueError("math domain error")
    return math.pow(a, b)


def _pow_grads(xs, out, n):
    x = xs[0]
    if n == 0:  # 0 * x^-1 would divide by zero at x = 0, yet d(x^0)/dx = 0
        return (0.0,)
    if _number(x) == 0 and n < 1:
        return (UNDEFINED,)
    return (n * x ** (n - 1),)


def _vpow_grads(xs, out, _):
    a, b = xs
    av, bv = _number(a), _number(b)
    d_base = 0.0 if bv == 0 else UNDEFINED if av == 0 and bv < 1 else b * a ** (b - 1)
    # d(a^b)/db = a^b ln a exists only for a > 0.  At a = 0 the limit from the right is 0 (for
    # b > 0), which is also PyTorch's choice; for a < 0 the real power is not differentiable
    # in b at all.
    d_exponent = out * log(a) if av > 0 else 0.0 if av == 0 else UNDEFINED
    return (d_base, d_exponent)


# A neuron's weighted sum, z = w1 x1 + ... + wn xn + b, as one node: its inputs are the
# weights, then the inputs, then (when there is one) the bias.  One node instead of n products
# and a sum keeps a network's graph small: fewer values to draw, and less to do per step.

def _dot(xs, _):
    n = len(xs) // 2
    z = sum(map(operator.mul, xs[:n], xs[n:2 * n]))
    return z + xs[-1] if len(xs) % 2 else z


def _dot_grads(xs, out, _):
    n = len(xs) // 2
    local = tuple(xs[n:2 * n]) + tuple(xs[:n])  # d/dwi = xi, d/dxi = wi
    return local + (1.0,) if len(xs) % 2 else local


def _write_dot(inputs: list[str]) -> str:
    n = len(inputs) // 2
    terms = [f"{w}·{x}" for w, x in zip(inputs[:n], inputs[n:2 * n])]
    return " + ".join(terms + inputs[2 * n:])


def _torch_dot(t, xs, _):
    n = len(xs) // 2
    z = t.dot(t.stack(list(xs[:n])), t.stack(list(xs[n:2 * n])))
    return z + xs[-1] if len(xs) % 2 else z


# Picking one of several Values by an index Value (the last input): the score of a sample's
# true class, where the class is a number of the data.  The index stays an input of the graph,
# so a graph traced once (`microgrant.compile`) picks by each call's index; as PyTorch's
# gather, the index takes no gradient (its partial is 0: it picks, it scales nothing).

def _index(xs) -> int:
    """A pick's index (its last input) as an int, checked: a whole number from 0 to n - 1."""
    i, n = _number(xs[-1]), len(xs) - 1
    if not (0.0 <= i < n and i == math.floor(i)):  # NaN fails
        raise ValueError(f"the index {i!r} is not a whole number from 0 to {n - 1}" if n
                         else "there is no value to pick from")
    return int(i)


def _pick_grads(xs, out, _):
    i = _index(xs)
    return tuple(1.0 if j == i else 0.0 for j in range(len(xs) - 1)) + (0.0,)


def _write_pick(inputs: list[str]) -> str:
    return f"[{', '.join(inputs[:-1])}][{inputs[-1]}]"


def _torch_pick(t, xs, _):
    return t.stack(list(xs[:-1]))[xs[-1].long()]


# ---- array versions, for microgrant.compile -------------------------------------------------
# Elementwise and with the same float arithmetic as the scalar versions, so a compiled step
# gives the scalar engine's numbers to the last bit or two.

def _array_sigmoid(xs, _):
    x = xs[0]
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _array_pick(xs, _):
    # Node by node (columns), the row its index names.  An index that is no whole number in
    # range gives NaN, never another row's number: a compiled step then runs eagerly, and
    # the eager engine raises the error.
    index, n = xs[-1], len(xs) - 1
    ok = (index >= 0.0) & (index < n) & (index == np.floor(index))
    rows = np.where(ok, index, 0.0).astype(np.intp)
    picked = np.take_along_axis(np.array(xs[:-1]), rows[None, :], axis=0)[0]
    return np.where(ok, picked, np.nan)


def _array_pick_grads(xs, out, _):
    index = xs[-1]
    picked = tuple((index == j) + 0.0 for j in range(len(xs) - 1))
    return picked + (np.zeros_like(index, dtype=np.float64),)


def _array_pow_grads(xs, out, n):
    return (np.where(n == 0, 0.0, n * np.power(xs[0], n - 1)),)


def _array_vpow_grads(xs, out, _):
    a, b = xs
    d_base = np.where(b == 0, 0.0, b * np.power(a, b - 1))
    d_exponent = np.where(a > 0, out * np.log(np.where(a > 0, a, 1.0)), 0.0)
    return (d_base, d_exponent)


# ---- the table ------------------------------------------------------------------------------
# One row per op.  Its partials are written as `Value.backward` writes them out in its loop.

_TABLE = (
    Op(name="add", symbol="+", arity=2, notation="{0} + {1}",
       forward=lambda xs, _: xs[0] + xs[1], local_grads=lambda xs, out, _: (1.0, 1.0),
       formulas=("d(a + b)/da = 1", "d(a + b)/db = 1")),
    Op(name="sub", symbol="−", arity=2, notation="{0} − {1}",
       forward=lambda xs, _: xs[0] - xs[1], local_grads=lambda xs, out, _: (1.0, -1.0),
       formulas=("d(a - b)/da = 1", "d(a - b)/db = -1")),
    Op(name="mul", symbol="×", arity=2, notation="{0} × {1}",
       forward=lambda xs, _: xs[0] * xs[1], local_grads=lambda xs, out, _: (xs[1], xs[0]),
       formulas=("d(a * b)/da = b", "d(a * b)/db = a")),
    Op(name="div", symbol="÷", arity=2, notation="{0} ÷ {1}", domain="b != 0",
       forward=lambda xs, _: xs[0] / xs[1],
       local_grads=lambda xs, out, _: (1.0 / xs[1], -out / xs[1]),
       formulas=("d(a / b)/da = 1 / b", "d(a / b)/db = -a / b^2")),
    Op(name="sum", symbol="Σ", arity=0, notation=" + ".join,
       forward=lambda xs, _: functools.reduce(operator.add, xs, 0),  # left to right
       local_grads=lambda xs, out, _: (1.0,) * len(xs),
       formulas=("d(x1 + x2 + ... + xn)/dxi = 1",),
       array_forward=lambda xs, _: sum(xs[1:], xs[0]),
       torch=lambda t, xs, _: t.stack(list(xs)).sum()),
    Op(name="dot", symbol="Σw·x", arity=0, notation=_write_dot,
       forward=_dot, local_grads=_dot_grads,
       formulas=("d(w·x + b)/dwi = xi", "d(w·x + b)/dxi = wi", "d(w·x + b)/db = 1"),
       # input i of count is a weight, an input or the bias
       formula_index=lambda i, count: 0 if i < count // 2 else 1 if i < count // 2 * 2 else 2,
       torch=_torch_dot),
    Op(name="pick", symbol="pick", arity=0, notation=_write_pick,
       domain="its last input, the index, to be a whole number from 0 to n - 1 for n values",
       # (so backward computes its partials before it adds to any grad: an index whose .data
       # was set to 2.5 since the forward is refused with no leaf changed)
       grad_domain="a whole-number index from 0 to n - 1",
       forward=lambda xs, _: xs[_index(xs)], local_grads=_pick_grads,
       formulas=("d xs[i]/dxs[j] = 1 if j == i else 0", "d xs[i]/di = 0"),
       formula_index=lambda i, count: 1 if count and i == count - 1 else 0,  # value, index
       array_forward=_array_pick, array_local_grads=_array_pick_grads, torch=_torch_pick),
    Op(name="neg", symbol="−", arity=1, notation="−{0}",
       forward=lambda xs, _: -xs[0], local_grads=lambda xs, out, _: (-1.0,),
       formulas=("d(-x)/dx = -1",)),
    Op(name="pow", symbol="^", arity=1, notation="{0}^{arg}", arg_name="n",
       domain="x != 0 when n < 0, and x >= 0 when n is not a whole number",
       grad_domain="x != 0 when n < 1 (n = 0 excepted)",
       forward=lambda xs, n: _power(xs[0], n), local_grads=_pow_grads,
       formulas=("d(x^n)/dx = n * x^(n-1)",),
       array_forward=lambda xs, n: np.power(xs[0], n), array_local_grads=_array_pow_grads,
       torch=lambda t, xs, n: xs[0] ** n),
    Op(name="vpow", symbol="^", arity=2, notation="{0}^{1}",
       domain="a != 0 when b < 0, and a >= 0 when b is not a whole number",
       grad_domain="a > 0, or a = 0 with b = 0 or b >= 1",
       forward=lambda xs, _: _power(xs[0], xs[1]), local_grads=_vpow_grads,
       formulas=("d(a^b)/da = b * a^(b-1)", "d(a^b)/db = a^b * ln(a)"),
       array_forward=lambda xs, _: np.power(xs[0], xs[1]), array_local_grads=_array_vpow_grads,
       torch=lambda t, xs, _: xs[0] ** xs[1]),
    Op(name="exp", symbol="exp", arity=1, notation="exp({0})", method="exp",
       domain="x <= 709.78 (beyond it exp(x) overflows a float)",
       forward=lambda xs, _: math.exp(xs[0]), local_grads=lambda xs, out, _: (out,),
       formulas=("d exp(x)/dx = exp(x)",),
       array_forward=lambda xs, _: np.exp(xs[0]), torch=lambda t, xs, _: t.exp(xs[0])),
    Op(name="log", symbol="log", arity=1, notation="log({0})", method="log", domain="x > 0",
       forward=lambda xs, _: math.log(xs[0]), local_grads=lambda xs, out, _: (1.0 / xs[0],),
       formulas=("d log(x)/dx = 1 / x",),
       array_forward=lambda xs, _: np.log(xs[0]), torch=lambda t, xs, _: t.log(xs[0])),
    Op(name="sqrt", symbol="√", arity=1, notation="√{0}", method="sqrt",
       domain="x >= 0", grad_domain="x > 0",
       forward=lambda xs, _: math.sqrt(xs[0]),
       local_grads=lambda xs, out, _: (UNDEFINED,) if _number(out) == 0 else (0.5 / out,),
       formulas=("d sqrt(x)/dx = 1 / (2 sqrt(x))",),
       array_forward=lambda xs, _: np.sqrt(xs[0]),
       array_local_grads=lambda xs, out, _: (0.5 / out,),
       torch=lambda t, xs, _: t.sqrt(xs[0])),
    Op(name="tanh", symbol="tanh", arity=1, notation="tanh({0})", method="tanh",
       activation=True,
       forward=lambda xs, _: math.tanh(xs[0]), local_grads=lambda xs, out, _: (1.0 - out * out,),
       formulas=("d tanh(x)/dx = 1 - tanh(x)^2",),
       array_forward=lambda xs, _: np.tanh(xs[0]), torch=lambda t, xs, _: t.tanh(xs[0])),
    Op(name="sigmoid", symbol="σ", arity=1, notation="σ({0})", method="sigmoid",
       activation=True,
       forward=lambda xs, _: sigmoid(xs[0]), local_grads=lambda xs, out, _: (out * (1.0 - out),),
       formulas=("d σ(x)/dx = σ(x) * (1 - σ(x))",),
       array_forward=_array_sigmoid, torch=lambda t, xs, _: t.sigmoid(xs[0])),
    # Kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope.  At NaN the
    # values stay NaN (a diverged weight must not turn into a finite number), and the local
    # derivatives are PyTorch's: relu'(nan) = 1, leaky_relu'(nan) = slope, abs'(nan) = 0.
    Op(name="relu", symbol="ReLU", arity=1, notation="ReLU({0})", method="relu",
       activation=True,
       forward=lambda xs, _: 0.0 if xs[0] <= 0.0 else xs[0],
       local_grads=lambda xs, out, _: (0.0 if xs[0] <= 0.0 else 1.0,),
       formulas=("d relu(x)/dx = 1 if x > 0 else 0",),
       # (max's zero may keep x's sign; + 0.0 makes it 0.0 as above.  np.where is slower.)
       array_forward=lambda xs, _: np.maximum(xs[0], 0.0) + 0.0,
       array_local_grads=lambda xs, out, _: (1.0 - (xs[0] <= 0.0),),
       torch=lambda t, xs, _: t.relu(xs[0])),
    Op(name="leaky_relu", symbol="LeakyReLU", arity=1, notation="LeakyReLU({0}, slope {arg})",
       method="leaky_relu", activation=True, arg_name="slope",
       forward=lambda xs, slope: xs[0] if xs[0] > 0.0 else slope * xs[0],
       local_grads=lambda xs, out, slope: (1.0 if xs[0] > 0.0 else slope,),
       formulas=("d leaky_relu(x)/dx = 1 if x > 0 else slope",),
       array_forward=lambda xs, slope: np.where(xs[0] > 0.0, xs[0], slope * xs[0]),
       array_local_grads=lambda xs, out, slope: (np.where(xs[0] > 0.0, 1.0, slope),),
       torch=lambda t, xs, slope: t.nn.functional.leaky_relu(xs[0], slope)),
    Op(name="abs", symbol="|x|", arity=1, notation="|{0}|", method="abs",
       forward=lambda xs, _: abs(xs[0]), local_grads=lambda xs, out, _: (_sign(_number(xs[0])),),
       formulas=("d|x|/dx = sign(x), 0 at x = 0",),
       array_local_grads=lambda xs, out, _: (np.where(xs[0] == xs[0], np.sign(xs[0]), 0.0),)),
    # The step's derivative is 0 wherever it exists: no gradient flows through it.  That is
    # why the perceptron learns by its own rule, and why backprop needed smooth activations.
    Op(name="step", symbol="step", arity=1, notation="step({0})", method="step",
       activation=True,
       # step(0) = 1: the notes' "fires when the sum >= threshold".
       forward=lambda xs, _: 1.0 if xs[0] >= 0.0 else 0.0 if xs[0] < 0.0 else xs[0],
       local_grads=lambda xs, out, _: (0.0,),
       formulas=("d step(x)/dx = 0",),
       array_forward=lambda xs, _: np.where(xs[0] >= 0.0, 1.0,
                                            np.where(xs[0] < 0.0, 0.0, xs[0])),
       # heaviside has no backward in PyTorch; a comparison does, with gradient 0.  NaN
       # passes through as x * 0, which is NaN with gradient 0, as the table's.
       torch=lambda t, xs, _: t.where(t.isnan(xs[0]), xs[0] * 0.0,
                                      (xs[0] >= 0).to(xs[0].dtype))),
    # The identity whose derivative is 0 by definition: a target computed from data (2y - 1)
    # keeps its place in the graph, so a replay recomputes it, and passes no gradient back.
    Op(name="stop_gradient", symbol="stop", arity=1, notation="stop_gradient({0})",
       method="stop_gradient",
       forward=lambda xs, _: xs[0], local_grads=lambda xs, out, _: (0.0,),
       formulas=("d stop_gradient(x)/dx = 0",),
       # (a copy: a replay keeps an op's results apart from the inputs it read, maybe a view)
       array_forward=lambda xs, _: np.array(xs[0], dtype=np.float64),
       # detach, still asked for its own gradient (as this node is), passing none back
       torch=lambda t, xs, _: xs[0].detach().requires_grad_(xs[0].requires_grad)),
)

OPS: dict[str, Op] = {op.name: op for op in _TABLE}
"""Every op, by name. ``Value.op`` holds one of these keys (``""`` for a leaf)."""
