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
  `microgrant.pytorch.check`), and the Value method that applies it.

Every op takes its inputs the same way, whatever their number:

* ``forward(xs, arg)``: ``xs`` holds the inputs' numbers (one for ``tanh``, two for ``mul``, any
  number for ``sum``); ``arg`` is the op's constant argument (the exponent ``n`` of ``x ** n``,
  the slope of ``leaky_relu``), or ``None``;
* ``local_grads(xs, out, arg)`` returns one partial per input.  It is written once and works
  on floats (``backward``) and on Values (``grad(..., create_graph=True)``, where the
  derivatives are recorded so they can be differentiated again).  That is why the formulas use
  only arithmetic, comparisons and `log`, which work on both.  Where a partial does not exist
  at the point (``sqrt`` at 0), the op returns `UNDEFINED` in its place: backprop raises only
  when a gradient must flow through it.  Most ops write their partials as one expression,
  ``_grads("b, a")`` for ``mul``: that text is both the function and what `Value.backward`
  pastes into its loop (`Op.local_grads_source`), so the fast path has no copy of its own.

``Value.backward``, `microgrant.autodiff`, `microgrant.viz`, the expression parser and the tests
all read this table, so an op added here is drawn, explained, parsed and checked against finite
differences at once.
"""

from __future__ import annotations

import ast
import linecache
import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["Op", "OPS", "UNDEFINED", "log", "sigmoid", "function_from_source"]


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
        grad_domain: where its local derivatives exist, when narrower than ``domain``.
        method: the name of the Value method (and of the expression function) that applies
            it, or ``""`` for an operator such as ``*``.
        activation: whether a neuron can use it as its activation, by ``method`` name.
        arg_name: what its argument is called in messages (``"n"``, ``"slope"``).
        formula_index: for an op of any number of inputs, which formula belongs to input
            ``i`` of ``count``, as ``formula_index(i, count)``; else ``None``.
        array_forward, array_local_grads: the same functions on numpy arrays, elementwise.
        torch: ``torch(torch_module, xs, arg)``, the same op on PyTorch tensors.

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
    array_forward: Callable
    array_local_grads: Callable
    torch: Callable
    domain: str = ""
    grad_domain: str = ""
    method: str = ""
    activation: bool = False
    arg_name: str = ""
    formula_index: Callable[[int, int], int] | None = None

    def __post_init__(self) -> None:
        source = self.local_grads_source
        if source:  # partials pasted into Value.backward's loop must fit the op and the loop
            partials = ast.parse(source, mode="eval").body
            count = len(partials.elts) if isinstance(partials, ast.Tuple) else 1
            names = {n.id for n in ast.walk(partials) if isinstance(n, ast.Name)}
            allowed = {*self.input_names(self.arity), "out", "arg"}
            if count != self.arity or not names <= allowed:
                raise ValueError(
                    f"op {self.name!r}: its partials {source!r} must be {self.arity} "
                    f"expression(s) of {', '.join(sorted(allowed))} only (a partial that "
                    "needs a function, such as log or abs, is written as a function)")

    @property
    def local_grads_source(self) -> str:
        """``local_grads`` as one Python expression, or ``""`` when it is a function of its own.

        The expression is over the inputs' numbers (``x``; or ``a`` and ``b``), the output's
        number ``out`` and the constant argument ``arg``.  `Value.backward` pastes it into its
        loop, so the hot path reads its arithmetic from this table without a call per node.

        >>> [OPS[name].local_grads_source for name in ("mul", "tanh", "dot")]
        ['b, a', '1.0 - out * out', '']
        """
        return getattr(self.local_grads, "source", "")

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

def function_from_source(text: str, name: str, filename: str, namespace: dict) -> Callable:
    """The function ``name`` that Python ``text`` defines, with ``namespace`` as its globals.

    The op table writes the local_grads of most ops as text (`_grads`), and `Value.backward`
    writes its loop from them.  ``text`` is registered as the file ``filename``, so a
    traceback through the function shows its lines.
    """
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope: dict[str, Any] = {}
    exec(compile(text, filename, "exec"), namespace, scope)
    return scope[name]


def _grads(source: str) -> Callable:
    """The ``local_grads`` function of an op whose partials are one expression, one per input.

    ``source`` names a single input ``x`` and two inputs ``a`` and ``b``, as the formulas do;
    ``out`` is the output's number and ``arg`` the op's constant argument (`Op` checks that
    it uses nothing else).  The text is kept on the function (`Op.local_grads_source`) for
    `Value.backward`, which pastes it into its loop.
    """
    names = "a, b" if isinstance(ast.parse(source, mode="eval").body, ast.Tuple) else "x,"
    text = f"def local_grads(xs, out, arg):\n    {names} = xs\n    return ({source},)\n"
    # This module's globals: compile's tracer knows the op table's frames by them.
    function = function_from_source(text, "local_grads",
                                    f"<microgrant.ops: local_grads {source}>", globals())
    function.source = source  # type: ignore[attr-defined]
    return function


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
    if bv == 0:
        d_base = 0.0
    elif av == 0 and bv < 1:
        d_base = UNDEFINED
    else:
        d_base = b * a ** (b - 1)
    # d(a^b)/db = a^b ln a exists only for a > 0.  At a = 0 the limit from the right is 0 (for
    # b > 0), which is also PyTorch's choice; for a < 0 the real power is not differentiable
    # in b at all.
    if av > 0:
        d_exponent = out * log(a)
    elif av == 0:
        d_exponent = 0.0
    else:
        d_exponent = UNDEFINED
    return (d_base, d_exponent)


def _sqrt_grads(xs, out, _):
    return (UNDEFINED,) if _number(out) == 0 else (0.5 / out,)


# Kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope.  At NaN the values
# stay NaN (a diverged weight must not turn into a finite number), and the local derivatives
# are PyTorch's: relu'(nan) = 1, leaky_relu'(nan) = slope, abs'(nan) = 0.

def _relu(xs, _):
    x = xs[0]
    return 0.0 if x <= 0.0 else x


def _leaky_relu(xs, slope):
    x = xs[0]
    return x if x > 0.0 else slope * x


def _step(xs, _):
    # Heaviside step; step(0) = 1, the notes' "fires when the sum >= threshold".
    x = xs[0]
    return 1.0 if x >= 0.0 else 0.0 if x < 0.0 else x


def _abs_grads(xs, out, _):
    x = _number(xs[0])
    return (1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0,)


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


def _dot_formula(i: int, count: int) -> int:
    n = count // 2
    return 0 if i < n else 1 if i < 2 * n else 2


def _array_dot(xs, _):
    n = len(xs) // 2
    z = sum(w * x for w, x in zip(xs[:n], xs[n:2 * n]))
    return z + xs[-1] if len(xs) % 2 else z


def _array_dot_grads(xs, out, _):
    n = len(xs) // 2
    local = tuple(xs[n:2 * n]) + tuple(xs[:n])
    return local + (np.ones_like(out),) if len(xs) % 2 else local


def _torch_dot(t, xs, _):
    n = len(xs) // 2
    z = t.dot(t.stack(list(xs[:n])), t.stack(list(xs[n:2 * n])))
    return z + xs[-1] if len(xs) % 2 else z


# ---- array versions, for microgrant.compile -------------------------------------------------
# Elementwise and with the same float arithmetic as the scalar versions, so a compiled step
# gives the scalar engine's numbers to the last bit or two.

def _array_sigmoid(xs, _):
    x = xs[0]
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _array_power(xs, _):
    return np.power(xs[0], xs[1])


def _array_pow_grads(xs, out, n):
    x = xs[0]
    return (np.where(n == 0, 0.0, n * np.power(x, n - 1)),)


def _array_vpow_grads(xs, out, _):
    a, b = xs
    d_base = np.where(b == 0, 0.0, b * np.power(a, b - 1))
    d_exponent = np.where(a > 0, out * np.log(np.where(a > 0, a, 1.0)), 0.0)
    return (d_base, d_exponent)


def _table() -> tuple[Op, ...]:
    ops = (
        Op("add", "+", 2,
           lambda xs, _: xs[0] + xs[1],
           _grads("1.0, 1.0"),
           ("d(a + b)/da = 1", "d(a + b)/db = 1"), "{0} + {1}",
           lambda xs, _: xs[0] + xs[1],
           lambda xs, out, _: (np.ones_like(out), np.ones_like(out)),
           lambda t, xs, _: xs[0] + xs[1]),
        Op("sub", "−", 2,
           lambda xs, _: xs[0] - xs[1],
           _grads("1.0, -1.0"),
           ("d(a - b)/da = 1", "d(a - b)/db = -1"), "{0} − {1}",
           lambda xs, _: xs[0] - xs[1],
           lambda xs, out, _: (np.ones_like(out), -np.ones_like(out)),
           lambda t, xs, _: xs[0] - xs[1]),
        Op("mul", "×", 2,
           lambda xs, _: xs[0] * xs[1],
           _grads("b, a"),
           ("d(a * b)/da = b", "d(a * b)/db = a"), "{0} × {1}",
           lambda xs, _: xs[0] * xs[1],
           lambda xs, out, _: (xs[1], xs[0]),
           lambda t, xs, _: xs[0] * xs[1]),
        Op("div", "÷", 2,
           lambda xs, _: xs[0] / xs[1],
           _grads("1.0 / b, -out / b"),
           ("d(a / b)/da = 1 / b", "d(a / b)/db = -a / b^2"), "{0} ÷ {1}",
           lambda xs, _: xs[0] / xs[1],
           lambda xs, out, _: (1.0 / xs[1], -out / xs[1]),
           lambda t, xs, _: xs[0] / xs[1],
           domain="b != 0"),
        Op("sum", "Σ", 0,
           lambda xs, _: sum(xs),
           lambda xs, out, _: (1.0,) * len(xs),
           ("d(x1 + x2 + ... + xn)/dxi = 1",), " + ".join,
           lambda xs, _: sum(xs[1:], xs[0]),
           lambda xs, out, _: tuple(np.ones_like(out) for _ in xs),
           lambda t, xs, _: t.stack(list(xs)).sum()),
        Op("dot", "Σw·x", 0,
           _dot,
           _dot_grads,
           ("d(w·x + b)/dwi = xi", "d(w·x + b)/dxi = wi", "d(w·x + b)/db = 1"), _write_dot,
           _array_dot,
           _array_dot_grads,
           _torch_dot,
           formula_index=_dot_formula),
        Op("neg", "−", 1,
           lambda xs, _: -xs[0],
           _grads("-1.0"),
           ("d(-x)/dx = -1",), "−{0}",
           lambda xs, _: -xs[0],
           lambda xs, out, _: (-np.ones_like(out),),
           lambda t, xs, _: -xs[0]),
        Op("pow", "^", 1,
           lambda xs, n: _power(xs[0], n),
           _pow_grads,
           ("d(x^n)/dx = n * x^(n-1)",), "{0}^{arg}",
           lambda xs, n: np.power(xs[0], n),
           _array_pow_grads,
           lambda t, xs, n: xs[0] ** n,
           domain="x != 0 when n < 0, and x >= 0 when n is not a whole number",
           grad_domain="x != 0 when n < 1 (n = 0 excepted)", arg_name="n"),
        Op("vpow", "^", 2,
           lambda xs, _: _power(xs[0], xs[1]),
           _vpow_grads,
           ("d(a^b)/da = b * a^(b-1)", "d(a^b)/db = a^b * ln(a)"), "{0}^{1}",
           _array_power,
           _array_vpow_grads,
           lambda t, xs, _: xs[0] ** xs[1],
           domain="a != 0 when b < 0, and a >= 0 when b is not a whole number",
           grad_domain="a > 0, or a = 0 with b = 0 or b >= 1"),
        Op("exp", "exp", 1,
           lambda xs, _: math.exp(xs[0]),
           _grads("out"),
           ("d exp(x)/dx = exp(x)",), "exp({0})",
           lambda xs, _: np.exp(xs[0]),
           lambda xs, out, _: (out,),
           lambda t, xs, _: t.exp(xs[0]),
           domain="x <= 709.78 (beyond it exp(x) overflows a float)", method="exp"),
        Op("log", "log", 1,
           lambda xs, _: math.log(xs[0]),
           _grads("1.0 / x"),
           ("d log(x)/dx = 1 / x",), "log({0})",
           lambda xs, _: np.log(xs[0]),
           lambda xs, out, _: (1.0 / xs[0],),
           lambda t, xs, _: t.log(xs[0]),
           domain="x > 0", method="log"),
        Op("sqrt", "√", 1,
           lambda xs, _: math.sqrt(xs[0]),
           _sqrt_grads,
           ("d sqrt(x)/dx = 1 / (2 sqrt(x))",), "√{0}",
           lambda xs, _: np.sqrt(xs[0]),
           lambda xs, out, _: (0.5 / out,),
           lambda t, xs, _: t.sqrt(xs[0]),
           domain="x >= 0", grad_domain="x > 0", method="sqrt"),
        Op("tanh", "tanh", 1,
           lambda xs, _: math.tanh(xs[0]),
           _grads("1.0 - out * out"),
           ("d tanh(x)/dx = 1 - tanh(x)^2",), "tanh({0})",
           lambda xs, _: np.tanh(xs[0]),
           lambda xs, out, _: (1.0 - out * out,),
           lambda t, xs, _: t.tanh(xs[0]),
           method="tanh", activation=True),
        Op("sigmoid", "σ", 1,
           lambda xs, _: sigmoid(xs[0]),
           _grads("out * (1.0 - out)"),
           ("d σ(x)/dx = σ(x) * (1 - σ(x))",), "σ({0})",
           _array_sigmoid,
           lambda xs, out, _: (out * (1.0 - out),),
           lambda t, xs, _: t.sigmoid(xs[0]),
           method="sigmoid", activation=True),
        Op("relu", "ReLU", 1,
           _relu,
           _grads("0.0 if x <= 0.0 else 1.0"),
           ("d relu(x)/dx = 1 if x > 0 else 0",), "ReLU({0})",
           lambda xs, _: np.where(xs[0] <= 0.0, 0.0, xs[0]),
           lambda xs, out, _: (np.where(xs[0] <= 0.0, 0.0, 1.0),),
           lambda t, xs, _: t.relu(xs[0]),
           method="relu", activation=True),
        Op("leaky_relu", "LeakyReLU", 1,
           _leaky_relu,
           _grads("1.0 if x > 0.0 else arg"),
           ("d leaky_relu(x)/dx = 1 if x > 0 else slope",), "LeakyReLU({0}, slope {arg})",
           lambda xs, slope: np.where(xs[0] > 0.0, xs[0], slope * xs[0]),
           lambda xs, out, slope: (np.where(xs[0] > 0.0, 1.0, slope),),
           lambda t, xs, slope: t.nn.functional.leaky_relu(xs[0], slope),
           method="leaky_relu", activation=True, arg_name="slope"),
        Op("abs", "|x|", 1,
           lambda xs, _: abs(xs[0]),
           _abs_grads,
           ("d|x|/dx = sign(x), 0 at x = 0",), "|{0}|",
           lambda xs, _: np.abs(xs[0]),
           lambda xs, out, _: (np.sign(xs[0]),),
           lambda t, xs, _: t.abs(xs[0]),
           method="abs"),
        # The step's derivative is 0 wherever it exists: no gradient flows through it.  That is
        # why the perceptron learns by its own rule, and why backprop needed smooth activations.
        Op("step", "step", 1,
           _step,
           _grads("0.0"),
           ("d step(x)/dx = 0",), "step({0})",
           lambda xs, _: np.where(xs[0] >= 0.0, 1.0, np.where(xs[0] < 0.0, 0.0, xs[0])),
           lambda xs, out, _: (np.zeros_like(out),),
           # heaviside has no backward in PyTorch; a comparison does, with gradient 0.  NaN
           # passes through as x * 0, which is NaN with gradient 0, as the table's.
           lambda t, xs, _: t.where(t.isnan(xs[0]), xs[0] * 0.0, (xs[0] >= 0).to(xs[0].dtype)),
           method="step", activation=True),
    )
    return ops


OPS: dict[str, Op] = {op.name: op for op in _table()}
"""Every op, by name. ``Value.op`` holds one of these keys (``""`` for a leaf)."""
