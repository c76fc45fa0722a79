"""Checking gradients against finite differences: the referee for every derivative.

Backprop computes d(output)/d(input) from local derivatives and the chain rule.  A finite
difference computes the same number with no calculus at all, by nudging one input and watching
the output move::

    d f / d x  ≈  (f(x + h) - f(x - h)) / (2 h)

The central difference is accurate to O(h²), so with h around 1e-6 in float64 the two
numbers should agree to many digits.  When they do not, either a derivative is wrong (in
microgrant, or in the notes you are reading) or the function has a kink at that point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .engine import Value, grad, no_grad

__all__ = ["gradcheck", "GradcheckResult", "GradcheckRow"]


@dataclass(frozen=True)
class GradcheckRow:
    """The two gradients of one input, side by side.

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

    @property
    def error(self) -> float:
        """|analytic - numeric|.

        >>> row = gradcheck(lambda x: x.relu(), [Value(0.0, label="x")]).rows[0]
        >>> row.analytic, round(row.numeric, 6), round(row.error, 6)  # relu'(0) taken as 0
        (0.0, 0.5, 0.5)
        """
        return abs(self.analytic - self.numeric)


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
            name = row.label or f"#{row.index}"
            flag = "" if row.ok else "   <-- disagree"
            lines.append(f"{name:<12} {row.value:>12.6g} {row.analytic:>14.8g} "
                         f"{row.numeric:>14.8g} {row.error:>10.2e}{flag}")
        if self.ok:
            lines.append("all gradients agree")
        else:
            names = ", ".join(row.label or f"#{row.index}" for row in self.failures)
            lines.append(f"gradients disagree for: {names}")
        return "\n".join(lines)


def gradcheck(fn: Callable[..., Value], inputs: Sequence, *, eps: float = 1e-6,
              atol: float = 1e-6, rtol: float = 1e-4) -> GradcheckResult:
    """Compares backprop's gradient of ``fn`` with central finite differences.

    Args:
        fn: a function of as many Values as there are ``inputs``, returning one Value.
        inputs: the point to check at: numbers or Values (only their ``data`` and ``label``
            are used; they are not modified).
        eps: the finite-difference step h.
        atol, rtol: an input passes when |backprop - finite diff| <= atol + rtol * |finite diff|.

    Returns:
        A `GradcheckResult`: truthy when all inputs agree; ``print`` it for a table that
        names each input whose gradients disagree.

    >>> result = gradcheck(lambda a, b: (a * b).tanh(), [0.5, -1.5])
    >>> result.ok
    True
    >>> kink = gradcheck(lambda x: x.relu(), [Value(0.0, label="x")])
    >>> kink.ok                # relu'(0) is taken as 0; the finite difference sees 0.5
    False
    >>> [row.label for row in kink.failures]
    ['x']
    """
    if not callable(fn):
        raise TypeError(f"gradcheck needs a function of Values; got {type(fn).__name__}")
    points = [x.data if isinstance(x, Value) else Value(x).data for x in inputs]
    labels = [x.label if isinstance(x, Value) else "" for x in inputs]
    if not points:
        raise ValueError("gradcheck needs at least one input")

    leaves = [Value(p, label=name) for p, name in zip(points, labels)]
    out = _call(fn, leaves)
    analytic = grad(out, leaves)

    def at(shifted: list[float]) -> float:
        with no_grad():
            return _call(fn, [Value(p) for p in shifted]).data

    rows = []
    for i, point in enumerate(points):
        up, down = list(points), list(points)
        up[i], down[i] = point + eps, point - eps
        numeric = (at(up) - at(down)) / (2.0 * eps)
        ok = abs(analytic[i] - numeric) <= atol + rtol * abs(numeric)
        rows.append(GradcheckRow(i, labels[i], point, analytic[i], numeric, ok))
    return GradcheckResult(tuple(rows), out.data)


def _call(fn, leaves: list[Value]) -> Value:
    out = fn(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck's function must return a Value; it returned "
                        f"{type(out).__name__}")
    return out
