"""Seeing backprop, written as DOT: the forward and backward views of a trace.

The forward view writes each value as a table ``[name | data]`` and each op as an ellipse
between its inputs and its result; the backward view adds every gradient and, on each edge,
the op's local derivative and what it contributed (``local × upstream grad``), with the arrows
turned to show gradients flowing back.  ``view="collapsed"`` (one node per neuron) is
`microgrant.viz.collapsed`'s.

Every element carries an id from the trace (``n3``, ``n3_op``, ``n3_in0``, ``n3_out``, the grad
cell ``n3_grad``), so a step can be highlighted and the stepper page can find it in the SVG.
This module only writes strings: it reads the backward pass from the trace and never replays
it, and it needs nothing installed.  Text and attributes get into DOT one way
(`microgrant.viz.quoting`); the direction, size and columns are `microgrant.viz.layout`'s.

Pictures must lay out in a few seconds, so the DOT says what Graphviz can lay out quickly: a
value used by many ops is drawn once in full and as a small dashed copy at each further use
(long edges from one node to every rank are what make Graphviz's layout explode), many edges
from one value into one op are drawn as one.  The picture says so where it does.

A picture never shows arithmetic that does not hold without saying so: a stale graph (a value
changed after the values made from it were computed, `Trace.stale`) is drawn with the numbers
it recorded, the numbers that no longer follow from their inputs and the values that changed
marked, and a note that says which changed and what to do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..checks import count, one_of
from ..engine import OPS, Value
from .collapsed import write_collapsed
from .layout import ASPECT, Layout, choose_rankdir, column_order, nest, plan_layout, png_hint
from .quoting import (
    ACCUMULATED,
    ACCUMULATED_FILL,
    HIGHLIGHT,
    MUTED,
    NAME_LIMIT,
    NOT_YET,
    NOT_YET_FILL,
    OP_FILL,
    STALE,
    STALE_FILL,
    STYLE,
    TIP_LIMIT,
    Html,
    attributes,
    clean,
    edge_line,
    html,
    legend_lines,
    node_line,
    quote,
)
from .structure import SHARED, structure_of
from .text import (
    as_ratio_part,
    check_digits,
    display_names,
    factor,
    format_number,
    shorten,
    stale_lines,
)
from .trace import Trace, check_root, is_step_of

__all__ = ["VIEWS", "RANKDIRS", "GROUPS", "STYLE", "OP_FILL", "HIGHLIGHT", "MUTED",
           "REUSE_LIMIT", "Html", "clean", "html", "quote", "attributes", "to_dot",
           "prepare", "write", "choose_rankdir", "plan_layout", "Layout", "ASPECT"]

VIEWS = ("forward", "backward", "collapsed")
"""The views `to_dot` and `draw` know: values; values with their gradients; one node per
neuron."""

RANKDIRS = ("LR", "RL", "TB", "BT")
"""Graphviz's directions; ``None`` lets the picture choose by its shape."""

GROUPS = ("neuron", "layer", "sample")
"""How `to_dot` can gather a net's values into boxes (``group=True`` means ``"neuron"``)."""

REUSE_LIMIT = 3
"""A value used by more ops than this is drawn once in full and as a copy at its other uses."""
_PARALLEL_LIMIT = 3   # more edges than this from one value into one op are drawn as one


# ---- arguments -----------------------------------------------------------------------------

def _group_level(group: Any) -> str | None:
    if group is None or group is False:
        return None
    if group is True:
        return "neuron"
    return one_of(group, GROUPS, "group")


def prepare(root: Any, caller: str, view: Any, digits: Any, rankdir: Any, highlight: Any,
            group: Any = None, sample: Any = None) -> Trace:
    """Checks the arguments `to_dot` and `draw` share; returns the trace to draw.

    A highlighted step carries the trace it came from: drawing it reuses that trace instead
    of tracing and replaying the graph again.
    """
    check_root(root, caller)
    one_of(view, VIEWS, "view")
    check_digits(digits)
    if rankdir is not None:
        one_of(rankdir, RANKDIRS, "rankdir")
    _group_level(group)
    if sample is not None:
        count(sample, "sample")
    if highlight is not None:
        if not is_step_of(highlight):
            raise TypeError(f"highlight must be a BackwardStep from backward_steps(root); got "
                            f"{type(highlight).__name__}")
        if highlight.trace.root is not root:
            raise ValueError("highlight is a step of another graph's backward pass; take it "
                             "from backward_steps(root) with this root")
        return highlight.trace
    return Trace(root)


def to_dot(root: Value, view: str = "forward", digits: int = 4, rankdir: str | None = None,
           highlight: Any = None, legend: bool = False, *, group: Any = None,
           sample: int | None = None) -> str:
    """The graph of ``root`` as DOT text: every value, every op, and in the backward view
    every gradient and every edge's local derivative and contribution.

    Needs no Graphviz; converts any graph, however large (`draw` is the one that limits size).

    Value nodes are tables ``[name | data | grad]``; the name is the label (with the sample
    where a net's labels repeat: ``L1.n2.z[3]``), or the node's id in grey.  Colours tell
    values apart: the output gold, leaves that take a gradient (inputs, parameters) green,
    constants grey, intermediate values white; ops are blue ellipses.  In the backward view
    each edge ``input -> op`` says ``local d`` and ``d × upstream = its contribution``, arrows
    point the way gradients flow, and hovering shows the formula.

    The backward view's grads are computed from the graph: d(root)/d(value), the numbers one
    ``backward()`` on fresh values would produce, whatever ``.grad`` holds now.  Where a
    leaf's ``.grad`` differs it is shown beside it: in grey (``.grad 0``) when no backward
    pass has filled it in yet, which is no mistake; in red (``.grad 12``) when it holds
    something else (the sum of several backward calls, leftovers not zeroed), with a tooltip
    saying why.  A stale graph (see `Trace.stale`: a value changed after the graph was
    computed, as an optimizer step does) keeps its recorded numbers, marks in orange each
    number that no longer follows from its inputs and each value that changed, and says so
    in a note, in every view.

    Args:
        root: the output Value.
        view: ``"forward"`` (values), ``"backward"`` (values, gradients, local derivatives)
            or ``"collapsed"`` (a net's neurons as one node each, each edge ending at the row
            of the weight it is multiplied by).
        digits: significant digits for every number (see `format_number`).
        rankdir: Graphviz's direction, ``"LR"``, ``"RL"``, ``"TB"`` or ``"BT"``; ``None``
            chooses by the picture's shape (`plan_layout`: left to right for a short one,
            else what brings it nearest 1:2 to 2:1, a long chain wrapped into columns).
        highlight: a `BackwardStep` of this graph, drawn in red: its op node, value and
            edges; in the collapsed view, the neuron (or loss term) whose value the step
            passes its gradient from, that value's cell, and the edges the gradient takes.
        legend: add a small legend of the colours.
        group: gather a net's values into boxes: ``"neuron"`` (or True), ``"layer"`` or
            ``"sample"``.
        sample: draw only what sample ``sample`` (1-based) makes, with the parameters it
            shares with the others (whose grads, summed over every sample, say so).

    >>> from microgrant import Value
    >>> x = Value(2.0, label="x")
    >>> print(to_dot(x * x))  # doctest: +ELLIPSIS
    digraph microgrant {
    ...
      n0 -> n1_op [id="n1_in0"];
      n0 -> n1_op [id="n1_in1"];
      n1_op -> n1 [id="n1_out"];
    ...

    Two backward calls accumulate twice the gradient in ``x.grad``; the picture still shows
    d(x*x)/dx = 2x = 4, and ``.grad 8`` beside it:

    >>> y = x * x
    >>> y.backward(); y.backward()
    >>> x.grad
    8.0
    >>> dot = to_dot(y, view="backward")
    >>> "<td>grad 4</td>" in dot, ">.grad 8</font>" in dot
    (True, True)

    After an update the graph is stale, and the picture says so instead of ``4 = 2.5 × 2.5``:

    >>> x.data = 2.5
    >>> "stale graph: x changed after it was computed" in to_dot(y)
    True
    """
    trace = prepare(root, "to_dot", view, digits, rankdir, highlight, group, sample)
    return write(trace, view, digits, rankdir, highlight, legend=legend, group=group,
                 sample=sample)


# ---- the forward and backward views ----------------------------------------------------------

def _agrees(accumulated: float, computed: float) -> bool:
    """Whether a leaf's ``.grad`` says what the picture's computed grad says."""
    if math.isnan(accumulated) and math.isnan(computed):
        return True
    return math.isclose(accumulated, computed, rel_tol=1e-9, abs_tol=1e-12)


# Why a leaf's .grad can differ from the picture: said on the cell itself, where it is seen.
_ACCUMULATED_NOTE = (
    "differs from the grad shown: the picture shows d(output)/d(this value) for one backward "
    "pass, computed from the graph; .grad holds what backward() calls have accumulated "
    "(several, or not zeroed between steps).")
_NOT_YET_NOTE = (
    "not computed yet: no backward() has reached this value since it was made or zeroed. The "
    "grad shown is what backward() will put here.")
_STALE_GRAD_NOTE = (
    "differs from the grad shown: .grad was computed by backward() from the numbers the graph "
    "held then; a value changed since (the graph is stale), and the picture's grads are worked "
    "out from the numbers it holds now.")


@dataclass
class _Picture:
    """What one call draws: the trace and the options, checked."""

    trace: Trace
    view: str
    digits: int
    names: dict
    marked: set = field(default_factory=set)
    mark_grads: bool = False
    layout: Layout | None = None   # set when the picture is wrapped into columns
    sample: int | None = None
    marks: set = field(default_factory=set)  # the legend's marks this picture uses
    cut: list = field(default_factory=list)  # ops with an input left out of the picture

    def across(self, tail: str, head: str) -> list:
        """``constraint=false`` for an edge from one column to the next: Graphviz then
        starts the next column at the top instead of below the end of this one."""
        if self.layout is None or self.layout.column(tail) == self.layout.column(head):
            return []
        return [("constraint", "false")]

    def tip_name(self, v: Value) -> str:
        return shorten(self.names[v], TIP_LIMIT)

    def cell(self, mark: str, text: str, tip: str) -> str:
        """A marked cell: ``"not_yet"`` (grey), ``"accumulated"`` (red), ``"stale"``."""
        self.marks.add(mark)
        colour, fill = {"not_yet": (NOT_YET, NOT_YET_FILL),
                        "accumulated": (ACCUMULATED, ACCUMULATED_FILL),
                        "stale": (STALE, STALE_FILL)}[mark]
        return (f'<td bgcolor="{fill}" tooltip="{html(tip)}"><font color="{colour}">'
                f"{html(text)}</font></td>")


def _name_cell(p: _Picture, v: Value, kind: str) -> str:
    if v.label or structure_of(p.trace).input_name(v) is not None:
        return f"<td><b>{html(shorten(p.names[v], NAME_LIMIT))}</b></td>"
    if kind == "constant":
        return "<td><i>const</i></td>"
    # A name text made up (``x × w``, ``v3``), in grey: the user gave this value none.
    return f'<td><font color="{MUTED}">{html(shorten(p.names[v], NAME_LIMIT))}</font></td>'


def _grad_cells(p: _Picture, v: Value) -> tuple[list[str], str]:
    """The backward view's grad cell of ``v``, and ``.grad`` beside it where that differs."""
    trace, digits = p.trace, p.digits
    vid = trace.ids[v]
    computed = trace.grads.get(v, 0.0)
    g = format_number(computed, digits)
    text = f"grad {g}"
    if p.sample is not None and structure_of(trace).samples().get(v) == SHARED:
        text += " (all samples)"  # a parameter's grad sums every sample's, not this one's
    if p.mark_grads:
        # Graphviz writes a cell's id into the SVG only when the cell has a tooltip
        # (as the group "a_<id>"); the stepper page finds the grad text there.
        cells = [f'<td id="{vid}_grad" tooltip="grad: d(output)/d(this value), '
                 f'complete once every step that adds to it has run">{html(text)}</td>']
    else:
        cells = [f"<td>{html(text)}</td>"]
    tip = f", d{as_ratio_part(p.tip_name(trace.root))}/d{as_ratio_part(p.tip_name(v))} = {g}"
    if v.inputs or v.grad is None or _agrees(v.grad, computed):
        return cells, tip
    # The picture is one backward pass; .grad is whatever the calls so far added up to.
    shown = digits
    while shown < 17 and format_number(v.grad, shown) == format_number(computed, shown):
        shown += 1  # a difference hidden by rounding would read "grad 6, .grad 6"
    acc = format_number(v.grad, shown)
    if trace.stale is not None:
        mark, why = "stale", _STALE_GRAD_NOTE
    elif v.grad == 0.0:
        mark, why = "not_yet", _NOT_YET_NOTE
    else:
        mark, why = "accumulated", _ACCUMULATED_NOTE
    cells.append(p.cell(mark, f".grad {acc}", f".grad = {acc} {why}"))
    return cells, tip + f"; {p.tip_name(v)}.grad = {acc} {why}"


def _stale_cell(p: _Picture, v: Value) -> tuple[str, str] | None:
    """The cell that marks ``v`` as recorded before an input changed, or as changed."""
    stale = p.trace.stale
    if stale is None:
        return None
    for node, now in stale.nodes:
        if node is v:
            text = f"stale: inputs now give {format_number(now, p.digits)}"
            why = ("recorded before a value it was computed from changed: its inputs now give "
                   f"{format_number(now, p.digits)}")
            return p.cell("stale", text, why), why
    if v in stale.changed:
        if len(stale.changed) == 1:
            why = "changed after the values made from it were computed"
            return p.cell("stale", "changed since", why), why
        others = ", ".join(p.tip_name(u) for u in stale.changed[:5] if u is not v)
        why = (f"this value or one of its partners ({others}) changed after the values made "
               f"from them were computed: the graph cannot tell which")
        return p.cell("stale", "changed since?", why), why
    return None


def _value_node(p: _Picture, v: Value, highlighted: bool) -> str:
    trace, digits = p.trace, p.digits
    vid = trace.ids[v]
    kind = trace.kind(v)
    fill, meaning = STYLE[kind]
    cells = [_name_cell(p, v, kind), f"<td>data {format_number(v.data, digits)}</td>"]
    tooltip = f"{p.tip_name(v)} = {format_number(v.data, digits)}"
    if kind == "constant" and p.names[v] == format_number(v.data, digits):
        tooltip = p.names[v]  # its name is its number
    if p.view == "backward" and v.grad is not None:
        more, tip = _grad_cells(p, v)
        cells += more
        tooltip += tip
    stale = _stale_cell(p, v)
    if stale is not None:
        cells.append(stale[0])
        tooltip += f"; {stale[1]}"
    border = "3" if highlighted else ("2" if kind == "output" else "0")
    colour = f' color="{HIGHLIGHT}"' if highlighted else ""
    label = Html(f'<table border="{border}" cellborder="1" cellspacing="0" cellpadding="4" '
                 f'bgcolor="{fill}"{colour}><tr>{"".join(cells)}</tr></table>')
    return node_line(vid, [("id", vid), ("shape", "plain"), ("tooltip", f"{meaning}: {tooltip}"),
                           ("label", label)])


def _copy_node(p: _Picture, v: Value, copy_id: str, highlighted: bool) -> str:
    """A small stand-in for a value used by many ops, at one of its further uses."""
    fill = STYLE[p.trace.kind(v)][0]
    name = html(shorten(p.names[v], NAME_LIMIT))
    pairs = [("id", copy_id), ("shape", "box"), ("style", "dashed,filled,rounded"),
             ("fillcolor", fill), ("fontsize", "10"),
             ("tooltip", f"{p.tip_name(v)} again: drawn in full once; it is used by "
                         f"{p.trace.uses(v)} ops, so each further use points to a copy"),
             ("label", Html(name))]
    if highlighted:
        pairs += [("color", HIGHLIGHT), ("penwidth", "2.5")]
    return node_line(copy_id, pairs)


def _op_node(p: _Picture, node: Value, highlighted: bool) -> str:
    op = OPS[node.op]
    oid = f"{p.trace.ids[node]}_op"
    symbol = op.symbol
    if node.op == "pow":  # the exponent is part of the op: x^2, not x^
        symbol += format_number(node.arg, p.digits)
    pairs = [("id", oid), ("shape", "ellipse"), ("style", "filled"), ("fillcolor", OP_FILL),
             ("tooltip", f"{op.name}: {op.formula}"), ("label", Html(html(symbol)))]
    if highlighted:
        pairs += [("color", HIGHLIGHT), ("penwidth", "3")]
    return node_line(oid, pairs)


def _edge_pairs(edge_id: str, extra: list, highlighted: bool) -> list:
    pairs = [("id", edge_id)] + extra
    if highlighted:
        pairs += [("color", HIGHLIGHT), ("penwidth", "2.5"), ("fontcolor", HIGHLIGHT)]
    return pairs


def _input_edges(p: _Picture, v: Value, keep, copies: dict, cut: list) -> list[str]:
    """The edges into ``v``'s op: one per input slot, parallel ones merged when many."""
    trace, digits = p.trace, p.digits
    vid = trace.ids[v]
    step = trace.step_of(v) if p.view == "backward" else None
    slots: dict[Value, list[int]] = {}
    for i, x in enumerate(v.inputs):
        slots.setdefault(x, []).append(i)
    lines = []
    for i, x in enumerate(v.inputs):
        if keep is not None and x not in keep:
            cut.append(f"{vid}_op")
            continue
        same = slots[x]
        merged = len(same) > _PARALLEL_LIMIT
        if merged and i != same[0]:
            continue  # drawn as part of the first slot's edge
        edge_id = f"{vid}_in{i}"
        extra: list = []
        if step is not None:
            extra.append(("dir", "back"))  # arrows show the gradient flowing back
            if x.grad is None:
                extra += [("style", "dashed"), ("tooltip", "constant: takes no gradient")]
            elif merged:
                d = sum(step.local_grads[j] for j in same)
                c = sum(step.contributions[j] for j in same)
                extra.append(("label", Html(
                    f"{len(same)} uses, local {html(format_number(d, digits))} in all<br/>"
                    f"{html(factor(d, digits))} × {html(factor(step.upstream, digits))} = "
                    f"{html(format_number(c, digits))}")))
                extra.append(("tooltip", f"{len(same)} inputs of this op are "
                                         f"{p.tip_name(x)}, drawn as one edge; together "
                                         f"they contribute {format_number(c, digits)} to "
                                         f"its grad"))
            else:
                d, c = step.local_grads[i], step.contributions[i]
                extra.append(("label", Html(
                    f"local {html(format_number(d, digits))}<br/>"
                    f"{html(factor(d, digits))} × {html(factor(step.upstream, digits))} = "
                    f"{html(format_number(c, digits))}")))
                formula = OPS[v.op].formula_for(i, len(v.inputs))
                extra.append(("tooltip", f"{formula}; contributes local "
                                         f"{format_number(d, digits)} × upstream grad "
                                         f"{format_number(step.upstream, digits)} = "
                                         f"{format_number(c, digits)} to the grad of "
                                         f"{p.tip_name(x)}"))
        elif merged:
            extra.append(("label", Html(f"× {len(same)}")))
        tail = copies.get((x, v), trace.ids[x])
        extra += p.across(tail, f"{vid}_op")
        highlighted = edge_id in p.marked
        lines.append("  " + edge_line(tail, f"{vid}_op", _edge_pairs(edge_id, extra, highlighted)))
    return lines


def write(trace: Trace, view: str, digits: int = 4, rankdir: str | None = None,
          highlight: Any = None, keep: set | None = None, legend: bool = False,
          mark_grads: bool = False, group: Any = None, sample: int | None = None) -> str:
    """The DOT text of ``trace`` (the arguments already checked by `prepare`).

    Args:
        keep: draw only these values, and a note on the rest (``None``: all of them).
        mark_grads: give each grad cell an id (``n3_grad``), for the stepper page to find.
        Others as for `to_dot`.
    """
    if sample is not None:
        chosen = structure_of(trace).sample_values(sample)
        keep = chosen if keep is None else keep & chosen
    names = display_names(trace, digits)
    notes = stale_lines(trace, names, digits, limit=3) if trace.stale is not None else []
    if view == "collapsed":
        if structure_of(trace).groups():
            return write_collapsed(trace, digits, rankdir, keep, legend, highlight,
                                   tuple(notes))
        # Nothing is labelled as a net labels its neurons (L1.n2.z): nothing to collapse.
        view = "backward" if trace.root.grad is not None else "forward"
        notes.append(f"collapsed: no neurons here (values labelled like L1.n2.z) to draw as "
                     f"one node each, so this is the {view} view")
    p = _Picture(trace, view, digits, names, mark_grads=mark_grads, sample=sample)
    if highlight is not None:
        p.marked = set(highlight.highlighted_ids())
    if view == "backward":
        trace.backward  # noqa: B018  (replayed here, once, before anything is written)
    level = _group_level(group)
    boxes = structure_of(trace).boxes(keep, level) if level else {}
    copies, copy_lines, reused = _copies(p, keep)
    layout = plan_layout(trace, keep, view, copies.keys(), names)
    hint = png_hint(layout.size)
    if rankdir is None:
        if boxes and layout.columns > 1:  # boxes and columns would fight over the places
            layout = Layout(layout.rankdir, size=layout.size)
        rankdir = layout.rankdir
        if layout.columns > 1:
            p.layout = layout
            notes.append(f"a long graph: drawn in {layout.columns} columns, read down each "
                         f"column, then on in the next one")
    lines = ["digraph microgrant {",
             f"  graph [{attributes([('rankdir', rankdir), ('fontname', 'Helvetica'), ('tooltip', ' ')])}];",  # noqa: E501
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="10", arrowsize="0.7"];']
    lines += _body(p, keep, boxes, copies, copy_lines)
    if p.layout is not None:
        lines += column_order(trace, p.layout, keep)
    lines += _omitted(trace, keep, sample, p)
    if reused:
        notes.append(f"{reused} value{'s' if reused > 1 else ''} used by more than "
                     f"{REUSE_LIMIT} ops {'are' if reused > 1 else 'is'} drawn once in full; "
                     f"each further use points to a dashed copy")
    if hint is not None:
        notes.append(hint)
    if notes:
        lines.append("  " + node_line("layout_note", [
            ("id", "layout_note"), ("shape", "note"), ("fontsize", "10"),
            ("label", Html("<br/>".join(html(n) for n in notes)))]))
    if legend:
        lines += legend_lines(sorted(p.marks))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _copies(p: _Picture, keep) -> tuple[dict, dict, int]:
    """Values used by many drawn ops: the first use keeps the real edge, the others get
    copies.  Returns ``(value, consumer) -> copy id``, each consumer's copy lines, and how
    many values are copied."""
    trace = p.trace
    copies: dict[tuple, str] = {}
    copy_lines: dict[Value, list[str]] = {}
    uses: dict[Value, list[Value]] = {}
    for node in trace.order:
        if keep is not None and node not in keep:
            continue
        for x in dict.fromkeys(node.inputs):
            if keep is None or x in keep:
                uses.setdefault(x, []).append(node)
    reused = 0
    for x, consumers in uses.items():
        if len(consumers) <= REUSE_LIMIT:
            continue
        reused += 1
        for consumer in consumers[1:]:
            copy_id = f"{trace.ids[x]}_at_{trace.ids[consumer]}"
            copies[(x, consumer)] = copy_id
            copy_lines.setdefault(consumer, []).append(
                "  " + _copy_node(p, x, copy_id, trace.ids[x] in p.marked))
    return copies, copy_lines, reused


def _body(p: _Picture, keep, boxes: dict, copies: dict, copy_lines: dict) -> list[str]:
    """Every kept value and op, with their edges: in id order, or nested in their boxes."""
    trace, names = p.trace, p.names
    lines: list[str] = []
    node_chunks: list[tuple[tuple, list[str]]] = []
    edge_lines: list[str] = []
    cut: list[str] = []
    for v in trace.values:
        if keep is not None and v not in keep:
            continue
        vid = trace.ids[v]
        nodes: list[str] = []
        edges: list[str] = []
        if v.inputs:
            nodes.append("  " + _op_node(p, v, f"{vid}_op" in p.marked))
            nodes += copy_lines.get(v, [])
            edges += _input_edges(p, v, keep, copies, cut)
            out = [("dir", "back")] if p.view == "backward" else []
            head = vid
            if p.across(f"{vid}_op", vid):
                # The op ends one column and its value heads the next: the edge ends at a
                # note saying where the value is, instead of running back up the picture.
                head = f"{vid}_next"
                nodes.append("  " + node_line(head, [
                    ("id", head), ("shape", "plaintext"), ("fontsize", "10"),
                    ("fontcolor", MUTED), ("width", "0"), ("height", "0"), ("margin", "0.02"),
                    ("label", Html(f"{html(shorten(names[v], NAME_LIMIT))}: at the top of "
                                   f"the next column"))]))
            edges.append("  " + edge_line(f"{vid}_op", head,
                                          _edge_pairs(f"{vid}_out", out,
                                                      f"{vid}_out" in p.marked)))
        value_line = "  " + _value_node(p, v, vid in p.marked)
        if not boxes:
            lines += nodes + edges + [value_line]  # each value's text together, in id order
        else:
            node_chunks.append((boxes.get(v, ()), nodes + [value_line]))
            edge_lines += edges
    if boxes or node_chunks:
        lines += nest(node_chunks)
        lines += edge_lines
    p.cut = cut
    return lines


def _omitted(trace: Trace, keep, sample: int | None, p: _Picture) -> list[str]:
    """A note on the values a picture leaves out, with a dashed edge to where each was cut."""
    if keep is None or len(keep) >= len(trace.values):
        return []
    left_out = len(trace.values) - len(keep)
    why = (f"(sample={sample} draws one sample's values and the shared parameters, whose grads "
           f"are summed over all samples)" if sample is not None else
           "(pass max_nodes=None, or a bigger number, to draw them all)")
    lines = ["  " + node_line("omitted", [
        ("id", "omitted"), ("shape", "note"), ("style", "filled"), ("fillcolor", "#fff4f4"),
        ("label", Html(f"{left_out:,} more values not drawn<br/>{html(why)}"))])]
    for target in dict.fromkeys(p.cut):
        lines.append(f'  omitted -> {target} [style="dashed"];')
    return lines



