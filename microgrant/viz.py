"""Seeing backprop: the forward and backward graphs, drawn and explained step by step.

Backprop is easiest to believe when every number is on the page.  This module shows a
computation graph three ways:

* as a picture (`to_dot` gives DOT text; `draw` lays it out as SVG or PNG).  The *forward*
  view shows each value and the op that made it; the *backward* view adds every gradient and,
  on each edge, the op's local derivative and what it contributed: ``local × upstream grad``;
* as a list of chain-rule steps (`backward_steps`), one per op node, in the order backprop
  visits them, each with its numbers, each drawable with its edges highlighted;
* as text (`explain`) and as a self-contained web page that steps through the backward pass
  (`save_stepper`).

`draw_network` draws a Neuron, Layer or MLP the way course notes draw perceptrons.

Every number goes through `format_number`, so ``-1.4999999999999993`` reads ``-1.5`` and a tiny
gradient reads ``3.1e-11``, never ``0.0000``.  Node ids are ``n0, n1, ...`` in topological order
(each value after its inputs), so the same graph always gives the same text.  Like the engine,
nothing here recurses over the graph: a chain of a million values is fine.
"""

from __future__ import annotations

import html
import math
import numbers
import re
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from . import _render, _stepper_page
from ._files import write_atomically
from ._render import FORMATS, RenderError
from .engine import OPS, Value, local_grads, topological_order

__all__ = ["format_number", "to_dot", "draw", "Drawing", "backward_steps", "BackwardStep",
           "explain", "save_stepper", "draw_network", "RenderError", "VIEWS", "FORMATS"]

VIEWS = ("forward", "backward")
"""The views `to_dot` and `draw` know: values only, or values with their gradients."""

_RANKDIRS = ("LR", "RL", "TB", "BT")
DEFAULT_MAX_NODES = 300
"""How many values `draw` lays out before it leaves the rest out (Graphviz slows down fast)."""

# One colour scheme everywhere (pictures, legend, stepper page).
_STYLE = {
    "output": ("#ffe08a", "output (the value being differentiated)"),
    "leaf": ("#d4efd4", "leaf with a gradient (an input or a parameter)"),
    "constant": ("#ececec", "constant (no gradient flows into it)"),
    "value": ("#ffffff", "intermediate value"),
}
_OP_FILL = "#dfe8f6"
_HIGHLIGHT = "#d62728"
_MUTED = "#777777"


# ---- numbers -----------------------------------------------------------------------------

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


def _check_value(root, caller: str) -> Value:
    if not isinstance(root, Value):
        hint = ""
        if isinstance(root, (list, tuple)):
            hint = " (a layer returns a list: pick one output, or combine them into a loss)"
        raise TypeError(f"{caller} needs a microgrant Value (the output of a computation); got "
                        f"{type(root).__name__}{hint}")
    return root


def _check_view(view) -> str:
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; valid views are "
                         f"{', '.join(repr(v) for v in VIEWS)}")
    return view


def _check_digits(digits) -> int:
    format_number(0.0, digits)  # raises the error message for a bad value
    return digits


# ---- backward steps --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One chain-rule step of backprop: an op node passes its gradient to its inputs.

    Attributes:
        index: position in the backward pass, from 0 (the output's own op).
        node: the op node passing its gradient on.
        node_id: its id in the drawings (``"n4"``).
        upstream: d(output)/d(node), complete by the time the node is visited.
        inputs: the node's inputs, in order (``x * x`` lists ``x`` twice).
        input_ids: their ids in the drawings.
        local_grads: d(node)/d(input) for each input, from the op table.
        contributions: ``local_grad * upstream`` for each input: what each edge adds.
        formulas: the op's formula for each input's local derivative.
        grads_after: each input's accumulated gradient once this step is done (``None`` for a
            constant, which takes no gradient).
        equation: the step written out as text, one line per edge.
        root: the output whose backward pass this step belongs to.

    >>> from microgrant import Value
    >>> x = Value(3.0, label="x")
    >>> y = x * x; y.label = "y"
    >>> (step,) = backward_steps(y)
    >>> step.local_grads, step.contributions, step.grads_after
    ((3.0, 3.0), (3.0, 3.0), (6.0, 6.0))
    >>> print(step.equation)
    step 1: y = x × x, with dy/dy = 1
      dy/dx += dy/dy * dy/dx = 1 * 3 = 3   [d(a * b)/da = b]
      dy/dx += dy/dy * dy/dx = 1 * 3 = 3, total so far 6   [d(a * b)/db = a]
    """

    index: int
    node: Value = field(repr=False)
    node_id: str
    upstream: float
    inputs: tuple = field(repr=False)
    input_ids: tuple[str, ...]
    local_grads: tuple[float, ...]
    contributions: tuple[float, ...]
    formulas: tuple[str, ...]
    grads_after: tuple
    equation: str = field(repr=False)
    root: Value = field(repr=False)

    @property
    def op(self):
        """The op (from `microgrant.engine.OPS`) this step differentiates."""
        return OPS[self.node.op]

    def highlighted_ids(self) -> list[str]:
        """The ids of the drawing's elements this step touches: node, op, edges, inputs."""
        ids = [self.node_id, f"{self.node_id}_op", f"{self.node_id}_out"]
        ids += [f"{self.node_id}_in{i}" for i in range(len(self.inputs))]
        ids += [i for i in dict.fromkeys(self.input_ids)]
        return ids

    def draw(self, **options) -> "Drawing":
        """The backward graph with this step's node and edges highlighted (see `draw`)."""
        options.setdefault("view", "backward")
        return draw(self.root, highlight=self, **options)


def _d(name: str) -> str:
    """``name`` as the denominator or numerator of d/d: parenthesised unless it is one word."""
    return name if re.fullmatch(r"[\w.\[\]']+", name) else f"({name})"


def _expression(node: Value, names: dict, digits: int, numbers_too: bool = False) -> str:
    """How ``node`` was computed: ``a × b``, ``tanh(z)``, ``x^2``; or with numbers in."""
    op = OPS[node.op]
    if numbers_too:
        args = [_factor(x.data, digits) for x in node.inputs]
    else:
        args = [_d(names[x]) for x in node.inputs]
    if node.op == "pow":
        return f"{args[0]}^{format_number(node.arg, digits)}"
    if node.op == "sum":
        return " + ".join(args)
    if node.op == "abs":
        return f"|{args[0]}|"
    if node.op == "leaky_relu":
        first = format_number(node.inputs[0].data, digits) if numbers_too else args[0]
        return f"{op.symbol}({first}, slope {format_number(node.arg, digits)})"
    if op.arity == 2:
        return f"{args[0]} {op.symbol} {args[1]}"
    if node.op == "neg":
        return f"{op.symbol}{args[0]}"
    if numbers_too:  # inside a function's own parentheses a sign needs no more of them
        args = [format_number(x.data, digits) for x in node.inputs]
    return f"{op.symbol}({args[0]})"


def _replay(graph: _Graph, digits: int, text: bool = True) -> tuple[list[BackwardStep], dict]:
    """Backprop done by hand: the steps, and d(root)/d(value) for every value that takes one.

    The gradients are kept in a dict, not in ``.grad``, so this works before ``backward`` was
    called and leaves the graph untouched.  The arithmetic is backward's own (same order, same
    ``+=``), so the numbers equal what ``backward`` puts in ``.grad`` on fresh values.
    """
    root, names, ids = graph.root, graph.names, graph.ids
    grads: dict[Value, float] = {}
    if root.grad is not None:
        grads[root] = 1.0
    steps = []
    r = _d(names[root])
    for node in reversed(graph.order):
        g = grads.get(node, 0.0)
        op = OPS[node.op]
        if g == 0.0:
            # backward skips such a node (nothing to pass on); a local derivative that is
            # undefined here therefore does no harm, and every contribution is 0.
            try:
                local = tuple(local_grads(node))
            except (ArithmeticError, ValueError):
                local = (math.nan,) * len(node.inputs)
            contributions = (0.0,) * len(node.inputs)
        else:
            local = tuple(local_grads(node))
            contributions = tuple(d * g for d in local)
        formulas = op.formulas if len(op.formulas) == len(node.inputs) else \
            op.formulas[:1] * len(node.inputs)
        n = _d(names[node]) if text else ""
        lines = []
        if text:
            lines.append(f"step {len(steps) + 1}: {names[node]} = "
                         f"{_expression(node, names, digits)}, "
                         f"with d{r}/d{n} = {format_number(g, digits)}")
        for x, d, c, formula in zip(node.inputs, local, contributions, formulas):
            if x.grad is None:
                continue  # a constant takes no gradient
            before = grads.get(x)
            grads[x] = (0.0 if before is None else before) + c
            if not text:
                continue
            i = _d(names[x])
            line = (f"  d{r}/d{i} += d{r}/d{n} * d{n}/d{i} = {_factor(g, digits)} * "
                    f"{_factor(d, digits)} = {format_number(c, digits)}")
            if before is not None:
                line += f", total so far {format_number(grads[x], digits)}"
            lines.append(f"{line}   [{formula}]")
        grads_after = tuple(grads.get(x) if x.grad is not None else None for x in node.inputs)
        steps.append(BackwardStep(
            index=len(steps), node=node, node_id=ids[node], upstream=g,
            inputs=node.inputs, input_ids=tuple(ids[x] for x in node.inputs),
            local_grads=local, contributions=contributions, formulas=tuple(formulas),
            grads_after=grads_after, equation="\n".join(lines), root=root))
    return steps, grads


def backward_steps(root: Value, digits: int = 4) -> list[BackwardStep]:
    """Backprop as a list of chain-rule steps, one per op node, output first.

    The steps are computed from the graph and the op table, not read from ``.grad``: they
    are right before ``backward()`` was ever called, and agree with it afterwards.

    Args:
        root: the output to differentiate.
        digits: significant digits in each step's ``equation`` text.

    >>> from microgrant import Value
    >>> a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    >>> e = a * b; e.label = "e"
    >>> d = e + c; d.label = "d"
    >>> [(s.node.label, s.upstream, s.grads_after) for s in backward_steps(d)]
    [('d', 1.0, (1.0, 1.0)), ('e', 1.0, (-3.0, 2.0))]
    """
    _check_value(root, "backward_steps")
    _check_digits(digits)
    return _replay(_Graph(root, digits), digits)[0]


# ---- text ----------------------------------------------------------------------------------

def _path_counts(graph: _Graph) -> tuple[dict, dict]:
    """How many paths lead from the root to each value, and one consumer of each value.

    One pass in reverse topological order: a value's count is the sum of its consumers'.
    """
    paths = {graph.root: 1}
    parent: dict[Value, Value] = {}
    for node in reversed(graph.order):
        count = paths.get(node, 0)
        for x in node.inputs:
            paths[x] = paths.get(x, 0) + count
            parent.setdefault(x, node)
    return paths, parent


def _single_path(graph: _Graph, leaf: Value, paths: dict, parent: dict) -> list | None:
    """The chain root -> ... -> leaf when there is exactly one path between them, else None."""
    if paths.get(leaf) != 1:
        return None
    chain = [leaf]
    while chain[-1] is not graph.root:
        chain.append(parent[chain[-1]])
    return chain[::-1]


def explain(root: Value, digits: int = 4) -> str:
    """The forward pass and the chain rule written out, one line per operation and per edge.

    Values are named by their labels; a value without one is named by its id in the
    drawings (``n3``), a constant by its number.

    Args:
        root: the output to differentiate.
        digits: significant digits for every number.

    >>> from microgrant import Value
    >>> x = Value(3.0, label="x")
    >>> z = x * 2; z.label = "z"
    >>> L = z * z; L.label = "L"
    >>> print(explain(L))
    Forward pass:
      z = x × 2 = 3 × 2 = 6
      L = z × z = 6 × 6 = 36
    Backward pass (the chain rule, from L back to the leaves):
      dL/dL = 1   (the seed: L with respect to itself)
    step 1: L = z × z, with dL/dL = 1
      dL/dz += dL/dL * dL/dz = 1 * 6 = 6   [d(a * b)/da = b]
      dL/dz += dL/dL * dL/dz = 1 * 6 = 6, total so far 12   [d(a * b)/db = a]
    step 2: z = x × 2, with dL/dz = 12
      dL/dx += dL/dz * dz/dx = 12 * 2 = 24   [d(a * b)/da = b]
    Gradients of the leaves:
      dL/dx = 24
    """
    _check_value(root, "explain")
    _check_digits(digits)
    graph = _Graph(root, digits)
    names = graph.names
    r = _d(names[root])
    if root.grad is None:
        return f"{names[root]} = {format_number(root.data, digits)} is a constant: it has no " \
               f"gradient, so there is nothing to backpropagate."
    if not root.inputs:
        return f"{names[root]} = {format_number(root.data, digits)} is a leaf: d{r}/d{r} = 1, " \
               f"and there is nothing to backpropagate."
    steps, grads = _replay(graph, digits)
    lines = ["Forward pass:"]
    for node in graph.order:
        lines.append(f"  {names[node]} = {_expression(node, names, digits)} = "
                     f"{_expression(node, names, digits, numbers_too=True)} = "
                     f"{format_number(node.data, digits)}")
    lines.append(f"Backward pass (the chain rule, from {names[root]} back to the leaves):")
    lines.append(f"  d{r}/d{r} = 1   (the seed: {names[root]} with respect to itself)")
    lines += [step.equation for step in steps]
    lines.append("Gradients of the leaves:")
    paths, parent = _path_counts(graph)
    for v in graph.values:
        if v.inputs or v.grad is None:
            continue
        total = format_number(grads.get(v, 0.0), digits)
        chain = _single_path(graph, v, paths, parent)
        if chain is not None and 3 <= len(chain) <= 10:
            # One path: the whole chain rule fits on a line, as the notes write it.
            factors = [f"d{_d(names[a])}/d{_d(names[b])}" for a, b in zip(chain, chain[1:])]
            values = [_factor(local_grads(a)[a.inputs.index(b)], digits)
                      for a, b in zip(chain, chain[1:])]
            lines.append(f"  d{r}/d{_d(names[v])} = {' * '.join(factors)} = "
                         f"{' * '.join(values)} = {total}")
        else:
            lines.append(f"  d{r}/d{_d(names[v])} = {total}")
    return "\n".join(lines)


# ---- DOT -----------------------------------------------------------------------------------

def _clean(text: str) -> str:
    """Text safe for Graphviz: control characters and lone surrogates become visible marks."""
    text = str(text)
    if text.isprintable():  # the usual case, and far quicker than looking at each character
        return text
    out = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")  # Graphviz drops tabs; a space keeps the words apart
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _html(text: str) -> str:
    """Text for inside an HTML-like label: entities escaped, newlines as line breaks.

    Graphviz reads backslash escapes even in HTML-like labels (``\\N`` becomes the node's
    name), so a backslash is doubled to stay one backslash.
    """
    text = html.escape(_clean(text), quote=True).replace("\\", "\\\\")
    return text.replace("\n", "<br/>")


def _quote(text: str) -> str:
    """A DOT quoted string for a tooltip, which Graphviz copies into the SVG.

    Graphviz takes a tooltip's backslashes through two rounds of un-escaping (the second
    also turns ``\\N`` into the node's name), so each backslash goes in as four.  An ``&``
    goes in as ``&amp;``: the SVG writer keeps anything that looks like a character
    reference as it is.
    """
    text = _clean(text).replace("&", "&amp;").replace("\\", "\\" * 4)
    return '"' + text.replace('"', '\\"').replace("\n", "\\n") + '"'


def _value_node(graph: _Graph, v: Value, view: str, digits: int, grads: dict,
                highlighted: bool) -> str:
    vid = graph.ids[v]
    kind = graph.kind(v)
    fill, meaning = _STYLE[kind]
    if v.label:
        name = f"<b>{_html(v.label)}</b>"
    elif kind == "constant":
        name = "<i>const</i>"
    else:
        name = f'<font color="{_MUTED}">{vid}</font>'
    cells = [name, f"data {format_number(v.data, digits)}"]
    tooltip = f"{graph.names[v]} = {format_number(v.data, digits)}"
    if kind == "constant" and not v.label:
        tooltip = format_number(v.data, digits)  # its name is its number
    if view == "backward" and v.grad is not None:
        g = format_number(grads.get(v, 0.0), digits)
        cells.append(f"grad {g}")
        tooltip += f", d{_d(graph.names[graph.root])}/d{_d(graph.names[v])} = {g}"
    border = "3" if highlighted else ("2" if kind == "output" else "0")
    colour = f' color="{_HIGHLIGHT}"' if highlighted else ""
    row = "".join(f"<td>{c}</td>" for c in cells)
    label = (f'<<table border="{border}" cellborder="1" cellspacing="0" cellpadding="4" '
             f'bgcolor="{fill}"{colour}><tr>{row}</tr></table>>')
    return (f'  {vid} [id="{vid}", shape="plain", tooltip={_quote(f"{meaning}: {tooltip}")}, '
            f"label={label}];")


def _op_node(graph: _Graph, node: Value, highlighted: bool) -> str:
    op = OPS[node.op]
    oid = f"{graph.ids[node]}_op"
    extra = f', color="{_HIGHLIGHT}", penwidth="3"' if highlighted else ""
    return (f'  {oid} [id="{oid}", shape="ellipse", style="filled", fillcolor="{_OP_FILL}", '
            f'tooltip={_quote(f"{op.name}: {op.formula}")}, label=<{_html(op.symbol)}>{extra}];')


def _edge_attributes(edge_id: str, extra: list[str], highlighted: bool) -> str:
    attributes = [f'id="{edge_id}"'] + extra
    if highlighted:
        attributes += [f'color="{_HIGHLIGHT}"', 'penwidth="2.5"', f'fontcolor="{_HIGHLIGHT}"']
    return ", ".join(attributes)


def _emit(graph: _Graph, view: str, digits: int, rankdir: str, highlight,
          keep: set | None = None, legend: bool = False) -> str:
    """The DOT text of ``graph``, or of the values in ``keep`` and a note on the rest."""
    steps, grads = _replay(graph, digits, text=False) if view == "backward" else ([], {})
    by_node = {step.node: step for step in steps}
    marked: set[str] = set(highlight.highlighted_ids()) if highlight is not None else set()
    lines = ["digraph microgrant {",
             f'  graph [rankdir="{rankdir}", fontname="Helvetica", tooltip=" "];',
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="10", arrowsize="0.7"];']
    cut = []
    for v in graph.values:
        if keep is not None and v not in keep:
            continue
        vid = graph.ids[v]
        if v.inputs:
            lines.append(_op_node(graph, v, f"{vid}_op" in marked))
            step = by_node.get(v)
            for i, x in enumerate(v.inputs):
                if keep is not None and x not in keep:
                    cut.append(f"{vid}_op")
                    continue
                edge_id = f"{vid}_in{i}"
                extra = []
                if view == "backward" and step is not None:
                    extra.append('dir="back"')  # arrows show the gradient flowing back
                    if x.grad is None:
                        extra += ['style="dashed"', 'tooltip="constant: takes no gradient"']
                    else:
                        d, c = step.local_grads[i], step.contributions[i]
                        extra.append(f"label=<local {_html(format_number(d, digits))}<br/>"
                                     f"{_html(_factor(d, digits))} × "
                                     f"{_html(_factor(step.upstream, digits))} = "
                                     f"{_html(format_number(c, digits))}>")
                        extra.append("tooltip=" + _quote(
                            f"{step.formulas[i]}; contributes local {format_number(d, digits)}"
                            f" × upstream grad {format_number(step.upstream, digits)} = "
                            f"{format_number(c, digits)} to the grad of {graph.names[x]}"))
                lines.append(f"  {graph.ids[x]} -> {vid}_op "
                             f"[{_edge_attributes(edge_id, extra, edge_id in marked)}];")
            out_extra = ['dir="back"'] if view == "backward" else []
            lines.append(f"  {vid}_op -> {vid} "
                         f"[{_edge_attributes(f'{vid}_out', out_extra, f'{vid}_out' in marked)}];")
        lines.append(_value_node(graph, v, view, digits, grads, vid in marked))
    if keep is not None and len(keep) < len(graph.values):
        left_out = len(graph.values) - len(keep)
        lines.append(f'  omitted [id="omitted", shape="note", style="filled", '
                     f'fillcolor="#fff4f4", label=<{left_out:,} more values not drawn<br/>'
                     f'(pass max_nodes=None, or a bigger number, to draw them all)>];')
        for target in dict.fromkeys(cut):
            lines.append(f'  omitted -> {target} [style="dashed"];')
    if legend:
        lines += _legend_lines()
    lines.append("}")
    return "\n".join(lines) + "\n"


def _legend_lines() -> list[str]:
    rows = "".join(f'<tr><td bgcolor="{fill}" border="1">  </td><td align="left">'
                   f"{_html(meaning)}</td></tr>" for fill, meaning in _STYLE.values())
    rows += (f'<tr><td bgcolor="{_OP_FILL}" border="1" style="rounded">op</td>'
             f'<td align="left">operation (hover: its local derivatives)</td></tr>')
    return ["  subgraph cluster_legend {",
            '    label="legend"; fontsize="10"; color="#bbbbbb";',
            f'    legend [id="legend", shape="plain", label=<<table border="0" cellspacing="2">'
            f"{rows}</table>>];",
            "  }"]


def to_dot(root: Value, view: str = "forward", digits: int = 4, rankdir: str = "LR",
           highlight: BackwardStep | None = None, legend: bool = False) -> str:
    """The graph of ``root`` as DOT text: every value, every op, and in the backward view
    every gradient and every edge's local derivative and contribution.

    Needs no Graphviz; converts any graph, however large (`draw` is the one that limits size).

    Value nodes are tables ``[name | data | grad]``; the name is the label, or the node's id
    in grey.  Colours tell values apart: the output gold, leaves that take a gradient (inputs,
    parameters) green, constants grey, intermediate values white; ops are blue ellipses.  In
    the backward view each edge ``input -> op`` says ``local d`` and ``d × upstream = its
    contribution``, arrows point the way gradients flow, and hovering shows the formula.

    Args:
        root: the output Value.
        view: ``"forward"`` (values) or ``"backward"`` (values, gradients, local derivatives).
        digits: significant digits for every number (see `format_number`).
        rankdir: Graphviz's direction: ``"LR"``, ``"RL"``, ``"TB"`` or ``"BT"``.
        highlight: a `BackwardStep` of this graph, drawn in red.
        legend: add a small legend of the colours.

    >>> from microgrant import Value
    >>> x = Value(2.0, label="x")
    >>> print(to_dot(x * x))  # doctest: +ELLIPSIS
    digraph microgrant {
    ...
      n0 -> n1_op [id="n1_in0"];
      n0 -> n1_op [id="n1_in1"];
      n1_op -> n1 [id="n1_out"];
    ...
    """
    graph = _prepare(root, "to_dot", view, digits, rankdir, highlight)
    return _emit(graph, view, digits, rankdir, highlight, legend=legend)


def _prepare(root, caller: str, view, digits, rankdir, highlight) -> _Graph:
    """Checks the arguments shared by `to_dot` and `draw`, and numbers the graph."""
    _check_value(root, caller)
    _check_view(view)
    _check_digits(digits)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"unknown rankdir {rankdir!r}; valid ones are "
                         f"{', '.join(repr(r) for r in _RANKDIRS)}")
    if highlight is not None:
        if not isinstance(highlight, BackwardStep):
            raise TypeError(f"highlight must be a BackwardStep from backward_steps(root); got "
                            f"{type(highlight).__name__}")
        if highlight.root is not root:
            raise ValueError("highlight is a step of another graph's backward pass; take it "
                             "from backward_steps(root) with this root")
    return _Graph(root, digits)


# ---- drawings ------------------------------------------------------------------------------

class Drawing:
    """A laid-out graph: shows itself in Jupyter, and saves as SVG or PNG.

    Attributes:
        source: the DOT text.
        omitted: how many values were left out to keep the drawing small (0 when none).

    >>> from microgrant import Value
    >>> d = draw(Value(2.0, label="x") * 3)
    >>> d.pipe("svg").startswith(b"<?xml")
    True
    >>> d.pipe("png")[:4]
    b'\\x89PNG'
    """

    def __init__(self, source: str, omitted: int = 0):
        self.source = source
        self.omitted = omitted
        self._pictures: dict[str, bytes] = {}

    def pipe(self, format: str = "svg") -> bytes:
        """The picture's bytes, ``"svg"`` or ``"png"`` (laid out once, then remembered)."""
        fmt = _render.check_format(format)
        if fmt not in self._pictures:
            self._pictures[fmt] = _render.render_dot(self.source, fmt)
        return self._pictures[fmt]

    def render(self, path, format: str | None = None) -> Path:
        """Writes the picture to ``path``, whole or not at all; returns the path.

        Args:
            path: where to write; its suffix (``.svg``, ``.png``) gives the format.
            format: ``"svg"`` or ``"png"``, overriding the suffix.

        Raises:
            ValueError: for an unknown format.
            RenderError: when no Graphviz layout engine is available (nothing is written).
            OSError: when ``path`` cannot be written (nothing is left behind).
        """
        fmt = _render.format_from_path(path, format)
        return write_atomically(path, self.pipe(fmt))

    def _repr_svg_(self) -> str | None:
        try:
            return self.pipe("svg").decode("utf-8")
        except RenderError:
            return None

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        try:
            return {"image/svg+xml": self.pipe("svg").decode("utf-8"), "text/plain": repr(self)}
        except RenderError as error:
            return {"text/plain": f"{self!r}\n{error}"}

    def __repr__(self) -> str:
        nodes = self.source.count(" [id=")
        note = f", {self.omitted} values left out" if self.omitted else ""
        return f"<Drawing: {nodes} elements{note}; .render(path) saves it, .source is the DOT>"


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


def _check_max_nodes(max_nodes):
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise ValueError(f"max_nodes must be a whole number >= 1, or None for no limit; "
                         f"got {max_nodes!r}")


def draw(root: Value, view: str = "forward", max_nodes: int | None = DEFAULT_MAX_NODES,
         digits: int = 4, rankdir: str = "LR", highlight: BackwardStep | None = None,
         legend: bool = False) -> Drawing:
    """Draws the graph of ``root``: in a notebook it shows itself; ``.render(path)`` saves it.

    Graphviz takes minutes on thousands of nodes, so a graph of more than ``max_nodes``
    values is drawn in part: the ``max_nodes`` values nearest the output, and a note saying
    how many were left out (``max_nodes=None`` draws everything).

    Args:
        root: the output Value.
        view: ``"forward"`` or ``"backward"`` (see `to_dot`).
        max_nodes: the most values to draw, or None for no limit.
        digits, rankdir, highlight, legend: as for `to_dot`.

    >>> from microgrant import Value
    >>> x = Value(0.5, label="x")
    >>> y = x.tanh()
    >>> b"tanh" in draw(y, view="backward").pipe("svg")
    True
    """
    _check_max_nodes(max_nodes)
    graph = _prepare(root, "draw", view, digits, rankdir, highlight)
    if max_nodes is None or len(graph.values) <= max_nodes:
        return Drawing(_emit(graph, view, digits, rankdir, highlight, legend=legend))
    keep = _nearest(root, max_nodes)
    source = _emit(graph, view, digits, rankdir, highlight, keep=keep, legend=legend)
    return Drawing(source, omitted=len(graph.values) - len(keep))


# ---- the stepper page ----------------------------------------------------------------------

def save_stepper(root: Value, path, digits: int = 4,
                 max_nodes: int | None = DEFAULT_MAX_NODES, title: str | None = None) -> Path:
    """Writes one self-contained HTML page that steps through the backward pass of ``root``.

    The page shows the backward graph with the current step in red, the step's chain rule as
    text, previous/next buttons, a slider, and arrow-key control.  It loads nothing from
    anywhere: open it from disk, send it by mail.  It is written whole or not at all.

    Args:
        root: the output Value.
        path: where to write the page (``.html``).
        digits: significant digits for every number.
        max_nodes: the most values to draw (see `draw`); every step is listed regardless.
        title: the page's heading (default: "Backprop through <root's name>").

    Returns:
        The path written.

    Raises:
        RenderError: when no Graphviz layout engine is available (nothing is written).
        OSError: when ``path`` cannot be written.

    >>> import tempfile, pathlib
    >>> from microgrant import Value
    >>> x = Value(2.0, label="x")
    >>> y = (x * x).tanh()
    >>> with tempfile.TemporaryDirectory() as d:
    ...     page = save_stepper(y, pathlib.Path(d) / "steps.html").read_text()
    >>> 'id="equation"' in page and 'type="range"' in page and "<script src" not in page
    True
    """
    _check_value(root, "save_stepper")
    drawing = draw(root, view="backward", max_nodes=max_nodes, digits=digits, rankdir="LR")
    graph = _Graph(root, digits)
    name = graph.names[root]
    r = _d(name)
    if root.grad is None:
        seed = f"{name} is a constant: no gradient flows through it, so there are no steps."
    elif not root.inputs:
        seed = f"{name} is a leaf: d{r}/d{r} = 1, and there is nothing to backpropagate."
    else:
        seed = (f"Backprop starts at the output: d{r}/d{r} = 1 (the seed).\n"
                f"Press Next (or the right arrow) to pass gradients back, one op at a time.")
    steps = [{"ids": [graph.ids[root]], "text": seed}]
    for step in _replay(graph, digits)[0]:
        steps.append({"ids": step.highlighted_ids(), "text": step.equation})
    svg = drawing.pipe("svg").decode("utf-8")
    text = _stepper_page.page(title if title is not None else f"Backprop through {name}",
                              svg, steps, [(fill, meaning) for fill, meaning in _STYLE.values()])
    return write_atomically(path, text)


# ---- networks ------------------------------------------------------------------------------

def _is_neuron(obj) -> bool:
    w, b = getattr(obj, "w", None), getattr(obj, "b", None)
    return (isinstance(b, Value) and isinstance(w, (list, tuple)) and len(w) > 0
            and all(isinstance(v, Value) for v in w))


def _is_layer(obj) -> bool:
    neurons = getattr(obj, "neurons", None)
    return isinstance(neurons, (list, tuple)) and len(neurons) > 0 and \
        all(_is_neuron(n) for n in neurons)


def _activation_name(obj) -> str:
    act = getattr(obj, "activation", None)
    if isinstance(act, str):
        return act
    if callable(act):
        return getattr(act, "__name__", type(act).__name__)
    nonlin = getattr(obj, "nonlin", None)  # micrograd's Neuron: relu or nothing
    if isinstance(nonlin, bool):
        return "relu" if nonlin else "linear"
    return ""


def _model_layers(model) -> list[tuple[list, str]]:
    """(neurons, layer activation) for each layer of a Neuron, a Layer or an MLP."""
    if _is_neuron(model):
        return [([model], _activation_name(model))]
    if _is_layer(model):
        return [(list(model.neurons), _activation_name(model))]
    layers = getattr(model, "layers", None)
    if isinstance(layers, (list, tuple)) and layers and all(_is_layer(x) for x in layers):
        return [(list(x.neurons), _activation_name(x)) for x in layers]
    raise TypeError(f"draw_network needs a Neuron, a Layer or an MLP (an object with weights "
                    f"`w` and bias `b`, with `neurons`, or with `layers`); got "
                    f"{type(model).__name__}")


def draw_network(model, digits: int = 3, grads: bool | None = None,
                 max_nodes: int | None = DEFAULT_MAX_NODES) -> Drawing:
    """A Neuron, Layer or MLP drawn as the notes draw perceptrons.

    Inputs on the left; each neuron shows its bias and activation; each edge carries its
    weight.  Gradients are added when there are any (after ``backward``).

    Args:
        model: a `microgrant.nn` Neuron, Layer or MLP (or anything shaped like one: a neuron
            has weights ``w`` and bias ``b``, a layer ``neurons``, an MLP ``layers``).
        digits: significant digits for weights, biases and gradients.
        grads: show gradients: True, False, or None to show them when any is non-zero.
        max_nodes: the most inputs plus neurons to draw; a bigger network raises a ValueError
            (pass None to draw it anyway).

    >>> from microgrant.nn import Neuron
    >>> n = Neuron(2, activation="tanh", seed=0)
    >>> print(draw_network(n).source)  # doctest: +ELLIPSIS
    digraph network {
    ...
      x1 -> l1n1 [id="x1_l1n1", label=<...>];
    ...
    """
    layers = _model_layers(model)
    _check_digits(digits)
    _check_max_nodes(max_nodes)
    sizes = [len(layers[0][0][0].w)] + [len(neurons) for neurons, _ in layers]
    if max_nodes is not None and sum(sizes) > max_nodes:
        raise ValueError(f"this network has {sum(sizes)} inputs and neurons, more than "
                         f"max_nodes={max_nodes}; Graphviz would take very long. Pass "
                         f"max_nodes=None (or a bigger number) to draw it anyway")
    for k, (neurons, _) in enumerate(layers):
        for neuron in neurons:
            if len(neuron.w) != sizes[k]:
                raise ValueError(f"layer {k + 1} has a neuron with {len(neuron.w)} weights, "
                                 f"but {sizes[k]} values feed it")
    params = [p for neurons, _ in layers for n in neurons for p in (*n.w, n.b)]
    if grads is None:
        grads = any(p.grad for p in params)

    def number(v: Value, what: str) -> str:
        text = f"{what} {format_number(v.data, digits)}"
        if grads and v.grad is not None:
            text += f"<br/><font color=\"{_MUTED}\">grad {format_number(v.grad, digits)}</font>"
        return text

    lines = ["digraph network {",
             '  graph [rankdir="LR", fontname="Helvetica", ranksep="1.4", nodesep="0.3", '
             'tooltip=" "];',
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="9", arrowsize="0.6"];',
             '  subgraph cluster_inputs {',
             '    label="inputs"; color="#bbbbbb"; fontsize="10";']
    previous = [f"x{i + 1}" for i in range(sizes[0])]
    for name in previous:
        lines.append(f'    {name} [id="{name}", shape="circle", style="filled", '
                     f'fillcolor="{_STYLE["leaf"][0]}", label=<{name}>];')
    lines.append("  }")
    for k, (neurons, layer_act) in enumerate(layers):
        last = k == len(layers) - 1
        title = "output layer" if last else f"hidden layer {k + 1}"
        lines += [f"  subgraph cluster_layer{k + 1} {{",
                  f'    label=<{title}: {len(neurons)} {_html(layer_act)}>; color="#bbbbbb"; '
                  f'fontsize="10";']
        current = []
        for j, neuron in enumerate(neurons):
            nid = f"l{k + 1}n{j + 1}"
            act = layer_act if layer_act == "softmax" else _activation_name(neuron)
            label = f"Σ + {number(neuron.b, 'b')}<br/><b>{_html(act or 'linear')}</b>"
            lines.append(f'    {nid} [id="{nid}", shape="circle", style="filled", '
                         f'fillcolor="{_OP_FILL}", label=<{label}>];')
            current.append(nid)
        lines.append("  }")
        for j, neuron in enumerate(neurons):
            for i, (source, w) in enumerate(zip(previous, neuron.w)):
                lines.append(f'  {source} -> {current[j]} [id="{source}_{current[j]}", '
                             f'label=<{number(w, "w")}>];')
        previous = current
    for j, source in enumerate(previous):
        out = "ŷ" if len(previous) == 1 else f"ŷ{j + 1}"
        lines.append(f'  y{j + 1} [id="y{j + 1}", shape="plaintext", label=<{out}>];')
        lines.append(f'  {source} -> y{j + 1} [id="{source}_y{j + 1}"];')
    lines.append("}")
    return Drawing("\n".join(lines) + "\n")
