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

`gradcheck` nudges the inputs of a function and calls it again; `check_graph` nudges the
leaves of a graph already recorded and replays it through the op table (the stepper page
checks the graph it shows this way).  Both take the one central difference written here.

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

import numpy as np

from . import checks
from .autodiff import grad
from .engine import OPS, Value, no_grad, topological_order

__all__ = ["gradcheck", "check_graph", "GradcheckResult", "GradcheckRow", "KINKS"]

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
        numeric, step = _central_difference(_nudged(fn, points, i), point, eps,
                                            f"'{labels[i]}'" if labels[i] else f"#{i}")
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


def _nudged(fn, points: list[float], i: int) -> Callable[[float], float]:
    """f with input ``i`` moved by a shift: ``at(shift)``, run without recording."""
    def at(shift: float) -> float:
        shifted = list(points)
        shifted[i] += shift
        with no_grad():
            return _call(fn, [Value(p) for p in shifted]).data
    return at


def _central_difference(at: Callable[[float], float], point: float, eps: float,
                        name: str) -> tuple[float, float]:
    """(f(x + h) - f(x - h)) / 2h, from ``at(shift) = f(x + shift)``, and the step h taken.

    The one central difference of microgrant: `gradcheck` nudges a function's inputs,
    `check_graph` a recorded graph's leaves.
    """
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
    raise ValueError(f"gradcheck cannot take a central difference for input {name} at "
                     f"{point!r}: fn is not defined on both sides even {eps:g} / 10^"
                     f"{_SHRINKS} away (the point is on the edge of its domain); the last "
                     f"error: {error}") from error


# ---- a recorded graph, its leaves nudged --------------------------------------------------

_COLUMNS = 128  # leaves nudged together in one replay over numpy arrays


def check_graph(root: Value, leaves: Sequence[Value], analytic: Sequence[float] | None = None,
                *, eps: float = 1e-6, atol: float = 1e-6, rtol: float = 1e-4,
                kink_limit: int = 50) -> GradcheckResult:
    """`gradcheck` for a graph already recorded: each leaf of ``root`` nudged in turn.

    The forward pass is re-run through the op table, with nothing recorded and no Value
    changed, so there is no function to call again: the stepper checks the graph it shows.
    Leaves are nudged a block at a time over numpy arrays (one replay serves 128 leaves);
    a leaf whose nudged replay leaves an op's domain is taken alone, by the same shrinking
    step as `gradcheck`.

    Args:
        root: the output.
        leaves: the leaves to check (Values ``root`` may or may not depend on).
        analytic: backprop's d root / d leaf for each, when already known (else computed).
        eps, atol, rtol: as for `gradcheck`.
        kink_limit: the most disagreeing leaves whose kinks are looked for.

    >>> x, y = Value(0.0, label="x"), Value(3.0, label="y")
    >>> result = check_graph(x.relu() + x * y, [x, y])
    >>> [(row.label, row.ok) for row in result.rows], result.rows[0].kinks
    ([('x', False), ('y', True)], ("relu's input 'x' is 0.0",))
    """
    eps = checks.positive(eps, "eps")
    leaves = list(leaves)
    order = topological_order(root)
    if analytic is None:
        analytic = grad(root, leaves) if leaves else []
    numeric = _graph_differences(root, order, leaves, eps)
    rows, disagreeing = [], 0
    for i, (leaf, g, (d, step)) in enumerate(zip(leaves, analytic, numeric)):
        ok = abs(g - d) <= atol + rtol * abs(d)
        kinks: tuple[str, ...] = ()
        if not ok:
            disagreeing += 1
            if disagreeing <= kink_limit:
                kinks = _kinks(root, leaf, step)
        rows.append(GradcheckRow(i, leaf.label, leaf.data, g, d, ok, step, kinks))
    return GradcheckResult(tuple(rows), root.data)


def _replay(order: list[Value], start: dict, forward: str) -> dict:
    """Every value that depends on the keys of ``start`` (numbers, or numpy arrays with
    ``forward="array_forward"``), recomputed through the op table; the others keep their
    recorded numbers and are not listed."""
    numbers = dict(start)
    for node in order:
        if not any(x in numbers for x in node.inputs):
            continue
        args = tuple(numbers.get(x, x.data) for x in node.inputs)
        numbers[node] = getattr(OPS[node.op], forward)(args, node.arg)
    return numbers


def _graph_differences(root: Value, order: list[Value], leaves: list[Value],
                       eps: float) -> list[tuple[float, float]]:
    """(central difference, step) of ``root`` for each leaf: arrays first, alone if need be."""
    found: list[tuple[float, float] | None] = [None] * len(leaves)
    with np.errstate(all="ignore"):  # a column that leaves a domain is redone alone below
        for first in range(0, len(leaves), _COLUMNS):
            block = leaves[first:first + _COLUMNS]
            n = len(block)
            start: dict = {}
            for j, leaf in enumerate(block):
                column = start.get(leaf)
                if column is None:
                    column = start[leaf] = np.full(2 * n, leaf.data)
                column[j] += eps
                column[n + j] -= eps
            out = _replay(order, start, "array_forward").get(root)
            if out is None:  # root depends on none of them
                found[first:first + n] = [(0.0, eps)] * n
                continue
            out = np.broadcast_to(np.asarray(out, dtype=float), (2 * n,))
            for j in range(n):
                up, down = out[j], out[n + j]
                if np.isfinite(up) and np.isfinite(down):
                    found[first + j] = (float(up - down) / (2.0 * eps), eps)
    for i, leaf in enumerate(leaves):
        if found[i] is None:  # outside a domain, or an overflow: the scalar way, which says
            def at(shift: float, leaf: Value = leaf) -> float:
                return _replay(order, {leaf: leaf.data + shift}, "forward").get(root, root.data)
            name = f"'{leaf.label}'" if leaf.label else f"#{i}"
            found[i] = _central_difference(at, leaf.data, eps, name)
    return [f for f in found if f is not None]


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
