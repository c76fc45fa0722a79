"""Checking gradients against finite differences: the referee for every derivative.

Backprop computes d(output)/d(input) from local derivatives and the chain rule.  A finite
difference computes the same number with no calculus at all, by nudging one input and watching
the output move::

    d f / d x  ≈  (f(x + h) - f(x - h)) / (2 h)

The central difference is accurate to O(h²), so with h around 1e-6 in float64 the two
numbers should agree to many digits.  When they do not, either a derivative is wrong (in
microgrant, or in the notes you are reading) or the function has a kink between x - h and
x + h, where the two sides have different slopes.  `gradcheck` says which: it walks the graph
for relu, abs, step and leaky_relu nodes whose input the nudge moves across 0.

>>> print(gradcheck(lambda w, x: (w * x).relu(), [Value(0.5, label="w"), Value(0.0, label="x")]))
... # doctest: +NORMALIZE_WHITESPACE
input               value       backprop    finite diff      error
w                     0.5              0              0   0.00e+00
x                       0              0           0.25   2.50e-01   <-- disagree at a kink:
    relu's input is 0.0
gradients disagree for: x
At a kink the two sides have different slopes: backprop takes one of them (relu'(0) = 0,
abs'(0) = 0, as PyTorch), the central difference their average. That is a kink, not a wrong
derivative: check at a point away from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from . import checks
from .autodiff import grad
from .engine import Value, no_grad, topological_order

__all__ = ["gradcheck", "GradcheckResult", "GradcheckRow", "KINKS"]

KINKS = ("relu", "abs", "step", "leaky_relu")
"""The ops whose slope jumps at 0, where backprop takes one side (PyTorch's convention)."""

# When x - h or x + h falls outside fn's domain (log near 0), the step is cut by 10 at a time,
# at most this many times; once both sides can be computed it is cut by _MARGIN more, so that
# the step is small next to the distance to the domain's edge and the O(h²) error stays small.
_SHRINKS = 8
_MARGIN = 1e-3


@dataclass(frozen=True)
class GradcheckRow:
    """The two gradients of one input, side by side.

    Attributes:
        index, label, value: which input, its name and its number.
        analytic: backprop's gradient.  numeric: the central difference's.
        ok: whether they agree within the tolerances.
        step: the finite-difference step used (smaller than ``eps`` near a domain's edge).
        kinks: for a disagreeing input, the kinks the step straddles, as text
            (``"relu's input 'z' is 0.0"``); empty when there is none.

    >>> row = gradcheck(lambda x: x * x, [Value(3.0, label="x")]).rows[0]
    >>> row.label, row.analytic, round(row.numeric, 6), row.ok
    ('x', 6.0, 6.0, True)
    """

    index: int
    label: str
    value: float
    analytic: float
    numeric: float
    ok: bool
    step: float = 0.0
    kinks: tuple[str, ...] = ()

    @property
    def error(self) -> float:
        """|analytic - numeric|.

        >>> row = gradcheck(lambda x: x.relu(), [Value(0.0, label="x")]).rows[0]
        >>> row.analytic, round(row.numeric, 6), round(row.error, 6)  # relu'(0) taken as 0
        (0.0, 0.5, 0.5)
        """
        return abs(self.analytic - self.numeric)

    @property
    def name(self) -> str:
        """The input's label, or ``#i`` for an unlabelled one."""
        return self.label or f"#{self.index}"


@dataclass(frozen=True)
class GradcheckResult:
    """What `gradcheck` found: one row per input.  True when every input agrees.

    >>> result = gradcheck(lambda a, b: a / b, [1.0, 4.0])
    >>> bool(result), len(result.rows), result.failures
    (True, 2, [])
    """

    rows: tuple[GradcheckRow, ...]
    output: float

    @property
    def ok(self) -> bool:
        """True when every input's two gradients agree (``bool(result)`` says the same).

        >>> gradcheck(lambda x: x.relu(), [1.0]).ok
        True
        >>> gradcheck(lambda x: x.relu(), [0.0]).ok      # the kink: 0 against 0.5
        False
        """
        return all(row.ok for row in self.rows)

    @property
    def failures(self) -> list[GradcheckRow]:
        """The rows whose analytic and numeric gradients disagree.

        >>> a, b = Value(0.0, label="a"), Value(2.0, label="b")
        >>> result = gradcheck(lambda a, b: a.relu() * b, [a, b])
        >>> [(row.label, row.analytic, round(row.numeric, 6)) for row in result.failures]
        [('a', 0.0, 1.0)]
        """
        return [row for row in self.rows if not row.ok]

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        lines = [f"{'input':<12} {'value':>12} {'backprop':>14} {'finite diff':>14} "
                 f"{'error':>10}"]
        for row in self.rows:
            flag = "" if row.ok else "   <-- disagree"
            if row.kinks:
                flag += " at a kink: " + ", ".join(row.kinks)
            lines.append(f"{row.name:<12} {row.value:>12.6g} {row.analytic:>14.8g} "
                         f"{row.numeric:>14.8g} {row.error:>10.2e}{flag}")
        if self.ok:
            lines.append("all gradients agree")
            return "\n".join(lines)
        lines.append(f"gradients disagree for: {', '.join(r.name for r in self.failures)}")
        if any(row.kinks for row in self.failures):
            lines.append("At a kink the two sides have different slopes: backprop takes one "
                         "of them (relu'(0) = 0, abs'(0) = 0,\nas PyTorch), the central "
                         "difference their average. That is a kink, not a wrong derivative:\n"
                         "check at a point away from it.")
        return "\n".join(lines)


def gradcheck(fn: Callable[..., Value], inputs: Sequence, *, eps: float = 1e-6,
              atol: float = 1e-6, rtol: float = 1e-4) -> GradcheckResult:
    """Compares backprop's gradient of ``fn`` with central finite differences.

    Args:
        fn: a function of as many Values as there are ``inputs``, returning one Value.
        inputs: the point to check at: numbers or Values (only their ``data`` and ``label``
            are used; they are not modified).
        eps: the finite-difference step h, a number > 0.  Near the edge of fn's domain
            (``log`` at 1e-7) a smaller step is taken, so both nudges stay inside it.
        atol, rtol: an input passes when |backprop - finite diff| <= atol + rtol * |finite diff|.

    Returns:
        A `GradcheckResult`: truthy when all inputs agree; ``print`` it for a table that
        names each input whose gradients disagree, and any kink that explains it.

    Raises:
        ValueError: a bad argument, or a point so close to the edge of fn's domain that no
            step keeps both nudges inside it.

    >>> result = gradcheck(lambda a, b: (a * b).tanh(), [0.5, -1.5])
    >>> result.ok
    True
    >>> kink = gradcheck(lambda x: x.relu(), [Value(0.0, label="x")])
    >>> kink.ok                # relu'(0) is taken as 0; the finite difference sees 0.5
    False
    >>> kink.failures[0].kinks
    ("relu's input 'x' is 0.0",)
    """
    if not callable(fn):
        raise TypeError(f"gradcheck needs a function of Values; got {checks.shown(fn)}")
    eps = checks.positive(eps, "eps")
    atol = checks.nonnegative(atol, "atol")
    rtol = checks.nonnegative(rtol, "rtol")
    points = [x.data if isinstance(x, Value) else checks.real(x, "each input")
              for x in inputs]
    labels = [x.label if isinstance(x, Value) else "" for x in inputs]
    if not points:
        raise ValueError("gradcheck needs at least one input")

    leaves = [Value(p, label=name) for p, name in zip(points, labels)]
    out = _call(fn, leaves)
    analytic = grad(out, leaves)

    rows = []
    for i, point in enumerate(points):
        numeric, step = _central_difference(fn, points, i, eps, labels[i])
        ok = abs(analytic[i] - numeric) <= atol + rtol * abs(numeric)
        kinks = () if ok else _kinks(out, leaves[i], step)
        rows.append(GradcheckRow(i, labels[i], point, analytic[i], numeric, ok, step, kinks))
    return GradcheckResult(tuple(rows), out.data)


def _call(fn, leaves: list[Value]) -> Value:
    out = fn(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck's function must return a Value; it returned "
                        f"{checks.shown(out)}")
    return out


def _central_difference(fn, points: list[float], i: int, eps: float,
                        label: str) -> tuple[float, float]:
    """(f(x + h) - f(x - h)) / 2h for input ``i``, and the step h that could be taken."""
    def at(shift: float) -> float:
        shifted = list(points)
        shifted[i] += shift
        with no_grad():
            return _call(fn, [Value(p) for p in shifted]).data

    step, error = eps, None
    for shrink in range(_SHRINKS + 1):
        try:
            at(step), at(-step)
        except (ArithmeticError, ValueError) as e:  # a nudge left fn's domain
            error, step = e, step / 10.0
            continue
        if shrink:  # keep well inside the domain: the edge is within about 10 steps
            step *= _MARGIN
        return (at(step) - at(-step)) / (2.0 * step), step
    name = f"'{label}'" if label else f"#{i}"
    raise ValueError(f"gradcheck cannot take a central difference for input {name} at "
                     f"{points[i]!r}: fn is not defined on both sides even {eps:g} / 10^"
                     f"{_SHRINKS} away (the point is on the edge of its domain); the last "
                     f"error: {error}") from error


def _kinks(out: Value, leaf: Value, step: float) -> tuple[str, ...]:
    """Kink nodes (relu, abs, step, leaky_relu) whose input x ± step moves across 0."""
    found = []
    for node in topological_order(out):
        if node.op not in KINKS:
            continue
        (u,) = node.inputs
        # First order: nudging the leaf by `step` moves u by about |du/dleaf| * step.
        slope = grad(u, leaf)[0] if u.grad is not None else 0.0
        if u.data == 0.0 or abs(u.data) <= abs(slope) * step:
            name = f" '{u.label}'" if u.label else ""
            found.append(f"{node.op}'s input{name} is {u.data!r}")
    return tuple(found)
