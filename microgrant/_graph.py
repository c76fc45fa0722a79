"""The groundwork for seeing backprop: numbers as a learner reads them, and the graph numbered.

Every picture and every line of text about a backward pass is built on three things kept
here, so that they agree everywhere:

* `format_number`, through which every number is written: ``-1.4999999999999993`` reads
  ``-1.5`` and a tiny gradient reads ``3.1e-11``, never ``0.0000``;
* `_Graph`, which gives each value of a computation a stable id (``n0, n1, ...``, each value
  after its inputs) and a name for text (its label, a constant's number, or its id);
* the colour scheme and the checks of the arguments that the public functions share.

Like the engine, nothing here recurses over the graph: a chain of a million values is fine.
"""

from __future__ import annotations

import math
import numbers
import re
from collections import deque

from .engine import Value, topological_order

DEFAULT_MAX_NODES = 300
"""How many values `draw` lays out before it leaves the rest out (Graphviz slows down fast)."""

# One colour scheme everywhere (pictures, legend, stepper page, networks).
_STYLE = {
    "output": ("#ffe08a", "output (the value being differentiated)"),
    "leaf": ("#d4efd4", "leaf with a gradient (an input or a parameter)"),
    "constant": ("#ececec", "constant (no gradient flows into it)"),
    "value": ("#ffffff", "intermediate value"),
}
_OP_FILL = "#dfe8f6"
_HIGHLIGHT = "#d62728"
_MUTED = "#777777"


# ---- numbers ------------------------------------------------------------------------------

def format_number(x, digits: int = 4) -> str:
    """A number written the way a learner reads it: a few significant digits, nothing hidden.

    Rounds to ``digits`` significant digits and drops trailing zeros, so float noise vanishes;
    very small and very large numbers switch to exponent form, so a tiny gradient is never
    shown as zero.

    Args:
        x: a real number (int, float, numpy scalar).
        digits: significant digits to keep (at least 1).

    >>> format_number(-1.4999999999999993)
    '-1.5'
    >>> format_number(3.14159e-11), format_number(2.0), format_number(-0.0)
    ('3.142e-11', '2', '0')
    >>> format_number(123456.7), format_number(2 / 3, digits=2), format_number(float("nan"))
    ('1.235e5', '0.67', 'nan')
    """
    if type(digits) is not int or digits < 1:  # type(), not isinstance: True is no digit count
        raise ValueError(f"digits must be a whole number >= 1; got {digits!r}")
    if type(x) is not float:
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"format_number needs a real number; got {type(x).__name__} {x!r}")
        x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0.0:
        return "0"  # -0.0 too: a minus sign on zero only puzzles
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"  # 1e-05 -> 1e-5, 1.2e+06 -> 1.2e6
    return text


def _factor(x: float, digits: int) -> str:
    """A number as a factor in a product: negatives in parentheses, ``2 × (-3)``."""
    text = format_number(x, digits)
    return f"({text})" if text.startswith("-") else text


# ---- the graph, numbered ------------------------------------------------------------------

class _Graph:
    """Every value ``root`` depends on, numbered n0, n1, ... so that inputs come first.

    Attributes:
        root: the output.
        order: the op nodes in topological order (from the engine).
        values: all values, leaves included, in id order.
        ids: value -> "n<k>".
        names: value -> the name used in text: its label, a constant's number, or its id.
    """

    def __init__(self, root: Value, digits: int):
        self.root = root
        self.order = topological_order(root)
        self.values: list[Value] = []
        self.ids: dict[Value, str] = {}
        for node in self.order:
            # Leaves get their ids just before the first op that uses them, in input order:
            # the engine's order is deterministic, so these ids are too.
            for x in node.inputs:
                if not x.inputs and x not in self.ids:
                    self._number(x)
            self._number(node)
        if not self.order:
            self._number(root)
        self.names = self._name_values(digits)

    def _number(self, value: Value) -> None:
        self.ids[value] = f"n{len(self.values)}"
        self.values.append(value)

    def _name_values(self, digits: int) -> dict[Value, str]:
        uses: dict[str, int] = {}
        for v in self.values:
            if v.label:
                uses[v.label] = uses.get(v.label, 0) + 1
        names = {}
        for v in self.values:
            if v.label:
                # Two different values both labelled "x" would make the text ambiguous.
                names[v] = v.label if uses[v.label] == 1 else f"{v.label}[{self.ids[v]}]"
            elif v.grad is None and not v.inputs:
                names[v] = format_number(v.data, digits)
            else:
                names[v] = self.ids[v]
        return names

    def kind(self, v: Value) -> str:
        if v is self.root:
            return "output"
        if v.inputs:
            return "value"
        return "constant" if v.grad is None else "leaf"


def _d(name: str) -> str:
    """``name`` as the denominator or numerator of d/d: parenthesised unless it is one word."""
    return name if re.fullmatch(r"[\w.\[\]']+", name) else f"({name})"


def _nearest(root: Value, limit: int) -> set:
    """The ``limit`` values nearest the output, breadth first (the ones a reader looks at)."""
    keep = {root}
    queue = deque([root])
    while queue and len(keep) < limit:
        node = queue.popleft()
        for x in node.inputs:
            if x not in keep:
                if len(keep) >= limit:
                    break
                keep.add(x)
                queue.append(x)
    return keep


# ---- argument checks ----------------------------------------------------------------------

def _check_value(root, caller: str) -> Value:
    if not isinstance(root, Value):
        hint = ""
        if isinstance(root, (list, tuple)):
            hint = " (a layer returns a list: pick one output, or combine them into a loss)"
        raise TypeError(f"{caller} needs a microgrant Value (the output of a computation); got "
                        f"{type(root).__name__}{hint}")
    return root


def _check_digits(digits) -> int:
    format_number(0.0, digits)  # raises the error message for a bad value
    return digits


def _check_max_nodes(max_nodes):
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise ValueError(f"max_nodes must be a whole number >= 1, or None for no limit; "
                         f"got {max_nodes!r}")
