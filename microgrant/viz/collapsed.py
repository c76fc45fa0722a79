"""Seeing backprop at net scale: the collapsed view, one node per neuron.

The computation graph of a small net over a few samples has hundreds of values; the collapsed
view draws each neuron as one node (its weighted sum ``z``, activation ``a`` and their grads,
one row per sample, and its bias), each of the net's inputs as one node (``x1``, one row per
sample), each layer's neurons in order, and each sample's loss term as one node named by its
label or its formula (``(ŷ − y)² [3]``), so a small net's whole backward pass fits a screen.

Each weight is listed in the neuron it feeds, on the row its edge ends at (``w1 0.5``, and its
grad), as `microgrant.viz.network` lists them: a weight's number written on its edge cannot be
told from its neighbours' where a dozen edges cross.  A neuron with more than `LISTED_WEIGHTS`
weights writes each one's name on its edge instead.  Structure comes from
`microgrant.viz.structure`, text from `microgrant.viz.quoting`.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..engine import Value
from ..labels import input_name, is_net_value, layer_of, natural_key, neuron_index, part_of
from .quoting import (
    HIGHLIGHT,
    MUTED,
    NAME_LIMIT,
    OP_FILL,
    STYLE,
    TIP_LIMIT,
    Html,
    attributes,
    edge_line,
    html,
    legend_lines,
    node_line,
)
from .structure import SHARED, structure_of
from .text import display_names, format_number, shorten
from .text import formula as write_formula
from .trace import Trace

__all__ = ["Units", "write_collapsed", "LISTED_WEIGHTS"]

LISTED_WEIGHTS = 16
"""The most weights a neuron lists, each on its edge's row; more are named on their edges."""
_MEAN_OPS = ("div", "mul")  # a sum's last step that makes it a mean: ÷ K, or × 1/K


def _unit_id(name: str) -> str:
    return "u_" + re.sub(r"[^A-Za-z0-9]", "_", name)


class Units:
    """Which node of the collapsed picture each value is drawn in, and what each node is called.

    A node (a *unit*) is a neuron (its z, a and bias: the values labelled ``L1.n2.*``), one of
    the net's inputs (``x1``: the leaves a weight ``w1`` multiplies), one sample's loss term
    (the values made for sample k outside the net), the output with what reduces the terms
    into it, or a labelled leaf that takes a gradient.  Weights are listed in the neuron they
    feed, each edge ending at its weight's row, and constants are written into the formulas
    that name the terms; neither has a unit of its own.
    """

    def __init__(self, trace: Trace, keep, digits: int):
        self.trace, self.digits = trace, digits
        self.structure = structure_of(trace)
        self.groups, self.samples = self.structure.groups(), self.structure.samples()
        self.kept = [v for v in trace.values if keep is None or v in keep]
        # a net input -> its index i (x_i, weighted by w_i)
        self.inputs: dict[Value, int] = self.structure.inputs()
        self.weight_for = self.structure.weight_for
        self.is_weight = self.structure.is_weight
        self.is_bias = self.structure.is_bias
        self.unit: dict[Value, tuple | None] = {}
        for v in self.kept:
            self.unit[v] = self._unit_of(v)
        self.members: dict[tuple, list[Value]] = {}
        for v in self.kept:
            u = self.unit[v]
            if u is not None:
                self.members.setdefault(u, []).append(v)
        self.titles: dict[tuple, str] = {}
        self.notes: dict[tuple, str] = {}   # a formula or description under a unit's title
        self.ids: dict[tuple, str] = {}
        self._name_terms()
        for u in self.members:
            if u not in self.titles:
                self.titles[u] = self._plain_title(u)
            uid = _unit_id(self.titles[u] if u[0] != "term" or u in self._labelled
                           else f"term_{u[1]}")
            while uid in self.ids.values():  # two titles that differ only in punctuation
                uid += "_"
            self.ids[u] = uid

    # -- what each value is --------------------------------------------------------------

    def _unit_of(self, v: Value) -> tuple | None:
        if self.is_weight(v):
            return None
        if v in self.groups:
            return ("neuron", self.groups[v])
        if v in self.inputs:
            return ("input", self.inputs[v])
        if v.inputs:
            k = self.samples.get(v)
            if k is not None and k != SHARED and v is not self.trace.root:
                return ("term", k)
            return ("output",)
        if v.grad is not None and v.label:
            return ("leaf", v.label)
        return None  # a constant, or an unlabelled leaf: written into a formula

    # -- names -----------------------------------------------------------------------------

    def top(self, u: tuple) -> Value:
        """The value a unit shows: the output, a term's value, or its last member."""
        vs = self.members[u]
        if u == ("output",):
            return self.trace.root if self.trace.root in vs else vs[-1]
        return vs[-1]  # ids follow the topological order: the last is nearest the output

    def _outside(self, v: Value, slots: list) -> str:
        """How a formula writes a value outside its unit; constants as numbered slots."""
        u = self.unit.get(v)
        if u is not None and u[0] == "neuron":
            layer = self.structure.layer
            layers = {layer(m) for m in self.groups}
            last = max((x for x in layers if x is not None), default=None)
            outputs = {g for m, g in self.groups.items() if layer(m) == last}
            if layer(v) == last and is_net_value(v.label):
                if len(outputs) == 1:
                    return "ŷ"
                j = neuron_index(self.groups[v])
                return f"ŷ{j}" if j is not None else v.label
            return v.label
        if u is not None and u[0] == "term":
            return self.titles.get(u, f"term [{u[1]}]")
        if u is not None and u[0] == "input":
            return input_name(u[1])
        if v.label:
            return v.label
        slots.append(format_number(v.data, self.digits))
        return f"\x01{len(slots) - 1}\x02"

    def _formula(self, u: tuple) -> tuple[str, list[str]] | None:
        slots: list[str] = []
        inside = set(self.members[u])
        text = write_formula(self.top(u), inside, lambda v: self._outside(v, slots), self.digits)
        return None if text is None else (text, slots)

    def _name_terms(self) -> None:
        """Each term is named by its label (``mse[3]``), or by its formula: ``(ŷ − y)² [3]``.

        Where every sample's term has the same formula but for its constants, a constant that
        differs from sample to sample is the target: it is written ``y``.
        """
        terms = sorted((u for u in self.members if u[0] == "term"), key=lambda u: u[1])
        self._labelled = {u for u in terms if self.top(u).label}
        written = {u: self._formula(u) for u in terms}
        shapes = {w[0] for w in written.values() if w is not None}
        same = len(shapes) == 1 and None not in written.values() and len(terms) > 1
        targets: list[int] = []
        if same:
            columns = list(zip(*(w[1] for w in written.values() if w is not None)))
            targets = [i for i, column in enumerate(columns) if len(set(column)) > 1]
        for u in terms:
            w = written[u]
            text = None
            if w is not None:
                text = w[0]
                for i, number in enumerate(w[1]):
                    if i in targets:
                        number = "y" if len(targets) == 1 else f"y{targets.index(i) + 1}"
                    elif number.startswith("-"):
                        number = f"({number})"
                    text = text.replace(f"\x01{i}\x02", number)
            top = self.top(u)
            if top.label:
                self.titles[u] = top.label
                if text is not None:
                    self.notes[u] = text
            else:
                self.titles[u] = f"{text or 'term'} [{u[1]}]"
        if ("output",) in self.members:
            self._name_output(terms)

    def _name_output(self, terms: list) -> None:
        u = ("output",)
        root = self.trace.root
        ops = [v for v in self.members[u] if v.inputs]
        said = None
        if terms:
            last = ops[-1] if ops and ops[-1] is root else None
            body = [v for v in ops if v is not last]
            summing = all(v.op in ("add", "sum") for v in body)
            k = len(terms)
            if summing and last is not None and last.op in ("add", "sum"):
                said = f"sum of the {k} terms"
            elif summing and last is not None and last.op in _MEAN_OPS and any(
                    not x.inputs and x.grad is None and
                    math.isclose(x.data, k if last.op == "div" else 1 / k)
                    for x in last.inputs):
                said = f"mean of the {k} terms"
            else:
                said = f"made from the {k} terms"
        else:
            w = self._formula(u)
            if w is not None:
                text, slots = w
                for i, number in enumerate(slots):
                    text = text.replace(f"\x01{i}\x02",
                                        f"({number})" if number.startswith("-") else number)
                said = text
        if root.label or said is None:
            self.titles[u] = root.label or ("loss" if terms else "output")
            if said is not None:
                self.notes[u] = said
        else:
            self.titles[u] = said

    def _plain_title(self, u: tuple) -> str:
        if u[0] == "neuron":
            return u[1]
        if u[0] == "input":
            return input_name(u[1])
        if u[0] == "leaf":
            return u[1]
        return "output"

    # -- reading order ------------------------------------------------------------------------

    def ranks(self) -> list[list[tuple]]:
        """Units drawn side by side, in reading order: the inputs, each layer's neurons, the
        terms (so ``L2.n1`` is drawn above ``L2.n2``, not wherever the layout finds room)."""
        found: dict[tuple, list[tuple]] = {}
        for u in self.members:
            if u[0] == "input":
                found.setdefault(("input",), []).append(u)
            elif u[0] == "term":
                found.setdefault(("term",), []).append(u)
            elif u[0] == "neuron":
                layer = layer_of(u[1])
                if layer is not None:
                    found.setdefault(("layer", layer), []).append(u)
        return [sorted(us, key=lambda u: natural_key(str(u[1]))) for us in found.values()
                if len(us) > 1]



class _Marks:
    """What a highlighted step marks in red: its unit, its values there, the edges it feeds."""

    def __init__(self, units: Units, highlight: Any, digits: int):
        self.unit: tuple | None = None
        self.values: set = set()  # the step's node, and its inputs drawn in the same unit
        self.edges: set = set()
        self.note = ""
        if highlight is None or highlight.node not in units.unit:
            return
        node = highlight.node
        self.unit = units.unit[node]
        self.values.add(node)
        for i, x in enumerate(node.inputs):
            ux = units.unit.get(x)
            if ux == self.unit:
                self.values.add(x)  # the bias of a neuron's z, the z of its a
            elif ux is not None:
                w = units.weight_for(node, i)
                self.edges.add((ux, self.unit, w.label if w else ""))
        shown = html(shorten(display_names(units.trace, digits)[node], NAME_LIMIT))
        self.note = f"<br/>in red: step {highlight.index + 1}, {shown} passing its gradient back"

    def cell(self, v: Value) -> str:
        return f' border="3" color="{HIGHLIGHT}"' if v in self.values else ""


class _Writer:
    """The collapsed picture's text, piece by piece: numbers, grads, rows, nodes, edges."""

    def __init__(self, trace: Trace, units: Units, marks: _Marks, digits: int, rankdir: str):
        self.trace, self.units, self.marks, self.digits = trace, units, marks, digits
        # The side of a weight's row an edge comes in at: the side facing the inputs.
        self.side = {"LR": "w", "RL": "e", "TB": "n", "BT": "s"}[rankdir]
        self.out = {"w": "e", "e": "w", "n": "s", "s": "n"}[self.side]
        self.backward = trace.root.grad is not None
        self.grads = trace.grads if self.backward else {}
        # Each neuron's weights, in input order: listed in its node, one row (port) each.
        self.weights: dict[tuple, list[Value]] = {}
        for (_, un, _), w in _edges(units).items():
            if w is not None and w not in self.weights.get(un, ()):
                self.weights.setdefault(un, []).append(w)
        for listed in self.weights.values():
            listed.sort(key=lambda w: natural_key(w.label))

    def num(self, x: float) -> str:
        return html(format_number(x, self.digits))

    def grad_text(self, v: Value, inline: bool = False) -> str:
        if not self.backward:
            return ""
        g = self.num(self.grads.get(v, 0.0))
        return f" · grad {g}" if inline else f'<br/><font color="{MUTED}">grad {g}</font>'

    def listed(self, u: tuple) -> bool:
        return 0 < len(self.weights.get(u, ())) <= LISTED_WEIGHTS

    def neuron_rows(self, u: tuple, vs: list) -> list[tuple[str, int | None]]:
        units, mark = self.units, self.marks.cell
        rows: list[tuple[str, int | None]] = []
        if self.listed(u):
            for w in self.weights[u]:
                part = html(part_of(w.label))
                rows.append((f'<td port="{part}"{mark(w)}>{part} {self.num(w.data)}'
                             f"{self.grad_text(w, inline=True)}</td>", None))
        for b in (v for v in vs if units.is_bias(v)):
            rows.append((f"<td{mark(b)}>b {self.num(b.data)}{self.grad_text(b, True)}</td>",
                         None))
        by_sample: dict[int, list[Value]] = {}
        for v in vs:
            if v.inputs and v.label:
                by_sample.setdefault(units.samples.get(v, 0), []).append(v)
        for k in sorted(by_sample):
            cells = [f"<td{mark(v)}>{html(part_of(v.label))} {self.num(v.data)}"
                     f"{self.grad_text(v)}</td>" for v in by_sample[k]]
            head = f"[{k}]" if k > 0 else ""
            rows.append((f"<td>{head}</td>{''.join(cells)}", 1 + len(cells)))
        return rows

    def rows(self, u: tuple, vs: list) -> list[tuple[str, int | None]]:
        """The rows of a unit's table: (cells, how many cells; None: one spanning cell)."""
        if u[0] == "neuron":
            return self.neuron_rows(u, vs)
        rows: list[tuple[str, int | None]] = []
        samples = self.units.samples
        if u[0] == "input":
            for v in sorted(vs, key=lambda m: samples.get(m, 0)):
                k = samples.get(v, 0)
                head = f"[{k}]" if k and k != SHARED else ""
                rows.append((f"<td>{head}</td><td>{self.num(v.data)}</td>", 2))
            return rows
        if u in self.units.notes:
            rows.append((f"<td>{html(shorten(self.units.notes[u], NAME_LIMIT))}</td>", None))
        v = self.units.top(u)
        g = self.grad_text(v, inline=True) if v.grad is not None else ""
        rows.append((f"<td{self.marks.cell(v)}>{self.num(v.data)}{g}</td>", None))
        return rows

    def node(self, u: tuple, vs: list) -> str:
        units = self.units
        uid, title = units.ids[u], units.titles[u]
        rows = self.rows(u, vs)
        # Every row as wide as the widest, so no edge can end beside a short row.
        width = max([n for _, n in rows if n is not None] + [1])
        body = [f'<tr><td colspan="{width}" bgcolor="{OP_FILL}"><b>'
                f"{html(shorten(title, NAME_LIMIT))}</b></td></tr>"]
        for row, n in rows:
            if n is None:
                row = row.replace("<td", f'<td colspan="{width}"', 1)
            elif n < width:  # the last cell takes up what the row lacks
                last = row.rfind("<td")
                row = row[:last] + f'<td colspan="{width - n + 1}"' + row[last + 3:]
            body.append(f"<tr>{row}</tr>")
        kind = "output" if self.trace.root in vs else (
            "leaf" if u[0] in ("input", "leaf") else "value")
        border = f' border="3" color="{HIGHLIGHT}"' if u == self.marks.unit else ' border="0"'
        label = Html(f'<table{border} cellborder="1" cellspacing="0" cellpadding="3" '
                     f'bgcolor="{STYLE[kind][0]}">{"".join(body)}</table>')
        return "  " + node_line(uid, [("id", uid), ("shape", "plain"),
                                      ("tooltip", shorten(title, TIP_LIMIT)), ("label", label)])

    def edge(self, key: tuple, weight: Value | None) -> str:
        ux, un, _ = key
        ids = self.units.ids
        head = ids[un]
        pairs: list = [("id", f"{ids[ux]}__{ids[un]}")]
        if self.backward:
            pairs.append(("dir", "back"))
        if weight is not None:
            if self.listed(un):
                # It ends at the weight's own row, on the side facing the inputs.
                head = f"{ids[un]}:{part_of(weight.label)}:{self.side}"
            else:
                text = f"{html(weight.label)} {self.num(weight.data)}{self.grad_text(weight)}"
                pairs.append(("label", Html(text)))
            pairs.append(("tooltip", shorten(f"{weight.label} = {format_number(weight.data)}",
                                             TIP_LIMIT)))
        if key in self.marks.edges:
            pairs += [("color", HIGHLIGHT), ("penwidth", "2.5"), ("fontcolor", HIGHLIGHT)]
        return "  " + edge_line(f"{ids[ux]}:{self.out}", head, pairs)


def _edges(units: Units) -> dict[tuple, Value | None]:
    """Edges between units: one per (from, to, weight), however many samples share it."""
    edges: dict[tuple, Value | None] = {}
    for node in units.kept:
        un = units.unit.get(node)
        if un is None or not node.inputs:
            continue
        for i, x in enumerate(node.inputs):
            ux = units.unit.get(x)
            if ux is None or ux == un:
                continue
            weight = units.weight_for(node, i)
            edges.setdefault((ux, un, weight.label if weight else ""), weight)
    return edges


def write_collapsed(trace: Trace, digits: int, rankdir: str | None, keep, legend: bool,
                    highlight: Any = None, notes: tuple = ()) -> str:
    """Each neuron one node (z, a and their grads per sample), weights listed where they feed.

    A highlighted step marks in red the unit whose value the step passes its gradient from
    (and, in a neuron, that sample's z or a cell), and the edges its gradient flows along.
    ``notes`` are said under the view's own note (a stale graph, a big picture).
    """
    units = Units(trace, keep, digits)
    marks = _Marks(units, highlight, digits)
    rankdir = rankdir or "LR"
    writer = _Writer(trace, units, marks, digits, rankdir)
    lines = ["digraph microgrant {",
             # Closer layers and roomier neurons than the defaults: the weights' labels make
             # the picture wide, and 1:2 to 2:1 is what a screen shows whole.
             "  graph [" + attributes([("rankdir", rankdir), ("fontname", "Helvetica"),
                                       ("tooltip", " "), ("ranksep", "1.0"),
                                       ("nodesep", "0.35")]) + "];",
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="10", arrowsize="0.7"];']
    lines += [writer.node(u, vs) for u, vs in units.members.items()]
    lines += [writer.edge(key, weight) for key, weight in _edges(units).items()]
    # Each layer's neurons (and the inputs, and the terms) side by side in reading order:
    # invisible edges within a rank put n1 before n2.
    for side_by_side in units.ranks():
        ids = [units.ids[u] for u in side_by_side]
        lines.append("  { rank=\"same\"; " + " -> ".join(ids) + ' [style="invis"]; }')
    said = "".join(f"<br/>{html(n)}" for n in notes)
    lines.append("  " + node_line("layout_note", [
        ("id", "layout_note"), ("shape", "note"), ("fontsize", "10"),
        ("label", Html("collapsed: one node per neuron (its weights and bias, its z, a and "
                       "their grads, one row per sample [k]);<br/>each edge ends at the "
                       "weight it is multiplied by; constants written into the terms' "
                       f"formulas{marks.note}{said}"))]))
    if legend:
        lines += legend_lines()
    lines.append("}")
    return "\n".join(lines) + "\n"
