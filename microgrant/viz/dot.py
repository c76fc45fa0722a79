"""The third stage of seeing backprop: a trace written as DOT text, Graphviz's language for graphs.

The forward view writes each value as a table ``[name | data]`` and each op as an ellipse
between its inputs and its result; the backward view adds every gradient and, on each edge,
the op's local derivative and what it contributed (``local × upstream grad``), with the arrows
turned to show gradients flowing back.  The collapsed view draws a net's neurons as one node
each (its weighted sum ``z``, activation ``a`` and their grads, per sample), with the weights
and their grads on the edges, so a small net's whole backward pass fits a screen.

Every element carries an id from the trace (``n3``, ``n3_op``, ``n3_in0``, ``n3_out``, the grad
cell ``n3_grad``), so a step can be highlighted and the stepper page can find it in the SVG.
This module only writes strings: it reads the backward pass from the trace and never replays
it, and it needs nothing installed.  Every attribute goes through one helper, `attributes`,
and every piece of user text through `html` or `quote`, because a label may hold anything:
quotes, braces, ``<``, backslashes, newlines, control characters.

Pictures must lay out in a few seconds, so the DOT says what Graphviz can lay out quickly: a
value used by many ops is drawn once in full and as a small dashed copy at each further use
(long edges from one node to every rank are what make Graphviz's layout explode), many edges
from one value into one op are drawn as one, and a long chain is laid out top to bottom
rather than as a thin strip.  The picture says so where it does.
"""

from __future__ import annotations

import html as _html_module
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..checks import count, one_of
from ..engine import OPS, Value
from .text import as_ratio_part, check_digits, display_names, factor, format_number, shorten
from .trace import SHARED, Trace, check_root, is_step_of

__all__ = ["VIEWS", "RANKDIRS", "GROUPS", "STYLE", "OP_FILL", "HIGHLIGHT", "MUTED",
           "REUSE_LIMIT", "Html", "clean", "html", "quote", "attributes", "to_dot",
           "prepare", "write", "choose_rankdir"]

VIEWS = ("forward", "backward", "collapsed")
"""The views `to_dot` and `draw` know: values; values with their gradients; one node per
neuron."""

RANKDIRS = ("LR", "RL", "TB", "BT")
"""Graphviz's directions; ``None`` lets the picture choose by its shape."""

GROUPS = ("neuron", "layer", "sample")
"""How `to_dot` can gather a net's values into boxes (``group=True`` means ``"neuron"``)."""

# One colour scheme everywhere (pictures, legend, stepper page, networks).
STYLE = {
    "output": ("#ffe08a", "output (the value being differentiated)"),
    "leaf": ("#d4efd4", "leaf with a gradient (an input or a parameter)"),
    "constant": ("#ececec", "constant (no gradient flows into it)"),
    "value": ("#ffffff", "intermediate value"),
}
OP_FILL = "#dfe8f6"
HIGHLIGHT = "#d62728"
MUTED = "#777777"
# A leaf's .grad, when it differs from the computed grad: red on pink, apart from the numbers
# the picture computes.
_ACCUMULATED = "#b03a2e"
_ACCUMULATED_FILL = "#fdeeee"

REUSE_LIMIT = 3
"""A value used by more ops than this is drawn once in full and as a copy at its other uses."""
_PARALLEL_LIMIT = 3   # more edges than this from one value into one op are drawn as one
_NAME_LIMIT = 80      # characters of a name a node shows
_TIP_LIMIT = 400      # characters of a name a tooltip quotes (Graphviz stops at 16,384)


# ---- escaping: the one way user text gets into DOT ------------------------------------------

class Html(str):
    """Text that is already an HTML-like label's body: `attributes` wraps it in ``<...>``."""


def _noncharacter(ch: str) -> bool:
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def clean(text: str) -> str:
    """Text safe for Graphviz and for XML: control characters, lone surrogates and
    noncharacters (U+FFFE, U+FFFF, ...) become U+FFFD; a tab becomes a space.

    >>> clean("tab\\there\\x07 \\ufffe")
    'tab here\\ufffd \\ufffd'
    """
    text = str(text)
    if text.isprintable():  # the usual case, and far quicker than looking at each character
        return text
    out = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")  # Graphviz drops tabs; a space keeps the words apart
        elif unicodedata.category(ch) in ("Cc", "Cs") or _noncharacter(ch):
            out.append("\ufffd")  # none of these may appear in an SVG (XML) at all
        else:
            out.append(ch)
    return "".join(out)


def html(text: str) -> str:
    """Text for inside an HTML-like label: entities escaped, newlines as line breaks.

    Graphviz reads backslash escapes even in HTML-like labels (``\\N`` becomes the node's
    name), so a backslash is doubled to stay one backslash.

    >>> html('a < "b"')
    'a &lt; &quot;b&quot;'
    """
    text = _html_module.escape(clean(text), quote=True).replace("\\", "\\\\")
    return text.replace("\n", "<br/>")


def quote(text: str) -> str:
    """A DOT quoted string (a tooltip, an id), which Graphviz copies into the SVG.

    Graphviz takes a tooltip's backslashes through two rounds of un-escaping (the second
    also turns ``\\N`` into the node's name), so each backslash goes in as four.  An ``&``
    goes in as ``&amp;``: the SVG writer keeps anything that looks like a character
    reference as it is.

    >>> quote('say "hi"')
    '"say \\\\"hi\\\\""'
    """
    text = clean(text).replace("&", "&amp;").replace("\\", "\\" * 4)
    return '"' + text.replace('"', '\\"').replace("\n", "\\n") + '"'


def attributes(pairs) -> str:
    """``[(name, value), ...]`` as DOT attributes: ``id="n3", label=<...>``.

    A value that is `Html` becomes an HTML-like label ``<...>``; any other is quoted by
    `quote`.  The one place attributes are written, so every one is quoted alike.

    >>> attributes([("id", "n3"), ("label", Html("<b>x</b>"))])
    'id="n3", label=<<b>x</b>>'
    """
    parts = []
    for name, value in pairs:
        text = f"<{value}>" if isinstance(value, Html) else quote(str(value))
        parts.append(f"{name}={text}")
    return ", ".join(parts)


def _node(name: str, pairs) -> str:
    return f"{name} [{attributes(pairs)}];"


def _edge(tail: str, head: str, pairs) -> str:
    return f"{tail} -> {head} [{attributes(pairs)}];"


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
    leaf's ``.grad`` differs (0 before the first backward, the sum of several, or leftovers
    from a step that was not zeroed) it is shown beside it, in red (``.grad 12``), with a
    tooltip saying why.

    Args:
        root: the output Value.
        view: ``"forward"`` (values), ``"backward"`` (values, gradients, local derivatives)
            or ``"collapsed"`` (a net's neurons as one node each, weights on the edges).
        digits: significant digits for every number (see `format_number`).
        rankdir: Graphviz's direction, ``"LR"``, ``"RL"``, ``"TB"`` or ``"BT"``; ``None``
            chooses left to right, or top to bottom for a long chain.
        highlight: a `BackwardStep` of this graph, drawn in red.
        legend: add a small legend of the colours.
        group: gather a net's values into boxes: ``"neuron"`` (or True), ``"layer"`` or
            ``"sample"``.
        sample: draw only what sample ``sample`` (1-based) makes, with the parameters it
            shares with the others.

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
    """
    trace = prepare(root, "to_dot", view, digits, rankdir, highlight, group, sample)
    return write(trace, view, digits, rankdir, highlight, legend=legend, group=group,
                 sample=sample)


# ---- what a picture keeps ----------------------------------------------------------------

def _levels(trace: Trace, keep) -> dict:
    """Each kept value's level: 0 for a leaf, else one more than its highest input."""
    level: dict[Value, int] = {}
    for node in trace.order:
        level[node] = 1 + max((level.get(x, 0) for x in node.inputs), default=0)
    return {v: level.get(v, 0) for v in trace.values if keep is None or v in keep}


def choose_rankdir(trace: Trace, keep=None) -> str:
    """Left to right, unless that makes a strip far wider than it is tall: then top to bottom.

    A value's table is about three times as wide as it is tall, so a chain of ten ops drawn
    left to right is a 20:1 strip, and top to bottom a readable column.
    """
    levels = _levels(trace, keep)
    if not levels:
        return "LR"
    depth = max(levels.values()) + 1
    per_level: dict[int, int] = {}
    for lv in levels.values():
        per_level[lv] = per_level.get(lv, 0) + 1
    breadth = max(per_level.values())
    # Rough sizes in points: a value plus its op is ~230 wide and ~50 tall laid out left to
    # right; ~160 wide and ~110 tall top to bottom.
    wide = (depth * 230) / (breadth * 50)
    tall = (breadth * 160) / (depth * 110)
    if depth * 230 <= 1400 or wide <= 4.0:  # a short picture is fine either way
        return "LR"
    return "TB" if abs(math.log(tall / 1.6)) < abs(math.log(wide / 1.6)) else "LR"


def _sample_keep(trace: Trace, sample: int) -> set:
    samples = trace.samples()
    if trace.sample_count() < sample:
        raise ValueError(f"sample must be one of the loss's samples, 1 to "
                         f"{trace.sample_count()} (from loss terms labelled like 'mse[1]'); "
                         f"got {sample}")
    return {v for v in trace.values if samples.get(v, sample) in (sample, SHARED)}


# ---- the forward and backward views ----------------------------------------------------------

def _agrees(accumulated: float, computed: float) -> bool:
    """Whether a leaf's ``.grad`` says what the picture's computed grad says."""
    if math.isnan(accumulated) and math.isnan(computed):
        return True
    return math.isclose(accumulated, computed, rel_tol=1e-9, abs_tol=1e-12)


# Why a leaf's .grad can differ from the picture: said on the cell itself, where it is seen.
_ACCUMULATED_NOTE = (
    "differs from the grad shown: the picture shows d(output)/d(this value) for one backward "
    "pass, computed from the graph; .grad holds what backward() calls have accumulated (none "
    "yet, several, or not zeroed between steps).")


@dataclass
class _Picture:
    """What one call draws: the trace and the options, checked."""

    trace: Trace
    view: str
    digits: int
    names: dict
    marked: set = field(default_factory=set)
    mark_grads: bool = False

    def tip_name(self, v: Value) -> str:
        return shorten(self.names[v], _TIP_LIMIT)


def _value_node(p: _Picture, v: Value, highlighted: bool) -> str:
    trace, digits = p.trace, p.digits
    vid = trace.ids[v]
    kind = trace.kind(v)
    fill, meaning = STYLE[kind]
    if v.label:
        name = f"<b>{html(shorten(p.names[v], _NAME_LIMIT))}</b>"
    elif kind == "constant":
        name = "<i>const</i>"
    else:
        name = f'<font color="{MUTED}">{vid}</font>'
    cells = [f"<td>{name}</td>", f"<td>data {format_number(v.data, digits)}</td>"]
    tooltip = f"{p.tip_name(v)} = {format_number(v.data, digits)}"
    if kind == "constant" and not v.label:
        tooltip = format_number(v.data, digits)  # its name is its number
    if p.view == "backward" and v.grad is not None:
        computed = trace.grads.get(v, 0.0)
        g = format_number(computed, digits)
        if p.mark_grads:
            # Graphviz writes a cell's id into the SVG only when the cell has a tooltip
            # (as the group "a_<id>"); the stepper page finds the grad text there.
            cells.append(f'<td id="{vid}_grad" tooltip="grad: d(output)/d(this value), '
                         f'complete once every step that adds to it has run">grad {g}</td>')
        else:
            cells.append(f"<td>grad {g}</td>")
        tooltip += f", d{as_ratio_part(p.tip_name(trace.root))}/d" \
                   f"{as_ratio_part(p.tip_name(v))} = {g}"
        if not v.inputs and not _agrees(v.grad, computed):
            # The picture is one backward pass; .grad is whatever the calls so far added up
            # to (0 before the first, twice as much after two).  Show both, and say why.
            shown = digits
            while shown < 17 and format_number(v.grad, shown) == format_number(computed, shown):
                shown += 1  # a difference hidden by rounding would read "grad 6, .grad 6"
            acc = format_number(v.grad, shown)
            cells.append(f'<td bgcolor="{_ACCUMULATED_FILL}" tooltip=".grad = {acc} '
                         f'{_ACCUMULATED_NOTE}"><font color="{_ACCUMULATED}">.grad {acc}'
                         f"</font></td>")
            tooltip += f"; {p.tip_name(v)}.grad = {acc} {_ACCUMULATED_NOTE}"
    border = "3" if highlighted else ("2" if kind == "output" else "0")
    colour = f' color="{HIGHLIGHT}"' if highlighted else ""
    label = Html(f'<table border="{border}" cellborder="1" cellspacing="0" cellpadding="4" '
                 f'bgcolor="{fill}"{colour}><tr>{"".join(cells)}</tr></table>')
    return _node(vid, [("id", vid), ("shape", "plain"), ("tooltip", f"{meaning}: {tooltip}"),
                       ("label", label)])


def _copy_node(p: _Picture, v: Value, copy_id: str, highlighted: bool) -> str:
    """A small stand-in for a value used by many ops, at one of its further uses."""
    vid = p.trace.ids[v]
    fill = STYLE[p.trace.kind(v)][0]
    name = html(shorten(p.names[v], _NAME_LIMIT))
    pairs = [("id", copy_id), ("shape", "box"), ("style", "dashed,filled,rounded"),
             ("fillcolor", fill), ("fontsize", "10"),
             ("tooltip", f"{p.tip_name(v)} again: drawn in full once ({vid}); it is used by "
                         f"{p.trace.uses(v)} ops, so each further use points to a copy"),
             ("label", Html(f"{name} <font color=\"{MUTED}\">({vid})</font>"))]
    if highlighted:
        pairs += [("color", HIGHLIGHT), ("penwidth", "2.5")]
    return _node(copy_id, pairs)


def _op_node(p: _Picture, node: Value, highlighted: bool) -> str:
    op = OPS[node.op]
    oid = f"{p.trace.ids[node]}_op"
    pairs = [("id", oid), ("shape", "ellipse"), ("style", "filled"), ("fillcolor", OP_FILL),
             ("tooltip", f"{op.name}: {op.formula}"), ("label", Html(html(op.symbol)))]
    if highlighted:
        pairs += [("color", HIGHLIGHT), ("penwidth", "3")]
    return _node(oid, pairs)


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
        highlighted = edge_id in p.marked
        lines.append("  " + _edge(tail, f"{vid}_op", _edge_pairs(edge_id, extra, highlighted)))
    return lines


def _clusters(trace: Trace, keep, level: str) -> dict:
    """Value -> its boxes, outermost first: ``[("sample", 3), ("layer", 1), ("neuron", g)]``."""
    samples = trace.samples()
    groups = trace.groups()
    paths: dict[Value, tuple] = {}
    for v in trace.values:
        if keep is not None and v not in keep:
            continue
        path: list[tuple] = []
        k = samples.get(v)
        if k is not None and k != SHARED:
            path.append(("sample", k))
        if level in ("layer", "neuron"):
            layer = trace.layer(v)
            if layer is not None:
                path.append(("layer", layer))
            if level == "neuron" and v in groups:
                path.append(("neuron", groups[v]))
        if path:
            paths[v] = tuple(path)
    return paths


def _cluster_label(part: tuple) -> str:
    kind, what = part
    if kind == "sample":
        return f"sample {what}"
    if kind == "layer":
        return f"layer {what}"
    return str(what)


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
        chosen = _sample_keep(trace, sample)
        keep = chosen if keep is None else keep & chosen
    notes = []
    if view == "collapsed":
        if trace.groups():
            return _collapsed(trace, digits, rankdir, keep, legend)
        # Nothing is labelled as a net labels its neurons (L1.n2.z): nothing to collapse.
        view = "backward" if trace.root.grad is not None else "forward"
        notes.append(f"collapsed: no neurons here (values labelled like L1.n2.z) to draw as "
                     f"one node each, so this is the {view} view")
    names = display_names(trace, digits)
    p = _Picture(trace, view, digits, names, mark_grads=mark_grads)
    if highlight is not None:
        p.marked = set(highlight.highlighted_ids())
    if view == "backward":
        trace.backward  # noqa: B018  (replayed here, once, before anything is written)
    if rankdir is None:
        rankdir = choose_rankdir(trace, keep)
    level = _group_level(group)
    boxes = _clusters(trace, keep, level) if level else {}

    # Values used by many drawn ops: the first use keeps the real edge, the others get copies.
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

    lines = ["digraph microgrant {",
             f"  graph [{attributes([('rankdir', rankdir), ('fontname', 'Helvetica'), ('tooltip', ' ')])}];",  # noqa: E501
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="10", arrowsize="0.7"];']
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
            out = [("dir", "back")] if view == "backward" else []
            edges.append("  " + _edge(f"{vid}_op", vid,
                                      _edge_pairs(f"{vid}_out", out, f"{vid}_out" in p.marked)))
        value_line = "  " + _value_node(p, v, vid in p.marked)
        if not boxes:
            lines += nodes + edges + [value_line]  # each value's text together, in id order
        else:
            node_chunks.append((boxes.get(v, ()), nodes + [value_line]))
            edge_lines += edges
    if boxes or node_chunks:
        lines += _nest(node_chunks)
        lines += edge_lines
    if keep is not None and len(keep) < len(trace.values):
        left_out = len(trace.values) - len(keep)
        why = (f"(sample={sample} draws one sample's values and the shared parameters)"
               if sample is not None else
               "(pass max_nodes=None, or a bigger number, to draw them all)")
        lines.append("  " + _node("omitted", [
            ("id", "omitted"), ("shape", "note"), ("style", "filled"), ("fillcolor", "#fff4f4"),
            ("label", Html(f"{left_out:,} more values not drawn<br/>{why}"))]))
        for target in dict.fromkeys(cut):
            lines.append(f'  omitted -> {target} [style="dashed"];')
    if reused:
        notes.append(f"{reused} value{'s' if reused > 1 else ''} used by more than "
                     f"{REUSE_LIMIT} ops {'are' if reused > 1 else 'is'} drawn once in full; "
                     f"each further use points to a dashed copy")
    if notes:
        lines.append("  " + _node("layout_note", [
            ("id", "layout_note"), ("shape", "note"), ("fontsize", "10"),
            ("label", Html("<br/>".join(html(n) for n in notes)))]))
    if legend:
        lines += _legend_lines()
    lines.append("}")
    return "\n".join(lines) + "\n"


def _nest(chunks: list[tuple[tuple, list[str]]]) -> list[str]:
    """Node lines inside nested ``subgraph cluster_...`` blocks, one per box path."""
    tree: dict = {}
    order: list[tuple] = []
    for path, lines in chunks:
        for depth in range(len(path) + 1):
            prefix = path[:depth]
            if prefix not in tree:
                tree[prefix] = []
                order.append(prefix)
        tree[path].extend(lines)
    children: dict[tuple, list[tuple]] = {}
    for prefix in order:
        if prefix:
            children.setdefault(prefix[:-1], []).append(prefix)
    out: list[str] = []
    stack: list[tuple[tuple, bool]] = [((), False)]
    numbers: dict[tuple, int] = {}
    while stack:
        prefix, closing = stack.pop()
        indent = "  " * len(prefix)
        if closing:
            out.append(f"  {indent[2:]}}}")
            continue
        if prefix:
            numbers[prefix] = len(numbers)
            name = f"cluster_{numbers[prefix]}"
            label = html(shorten(_cluster_label(prefix[-1]), _NAME_LIMIT))
            out.append(f"  {indent[2:]}subgraph {name} {{")
            out.append(f"  {indent}{attributes([('id', name)])}; label=<{label}>; "
                       f'color="#bbbbbb"; fontsize="10";')
            stack.append((prefix, True))
        out += [indent + line for line in tree[prefix]]
        # Boxes in reading order: sample 1 before sample 2, layer 1 before layer 2.
        kids = sorted(children.get(prefix, []), key=lambda c: (str(c[-1][0]),
                                                               _sort_key(c[-1][1])))
        for child in reversed(kids):
            stack.append((child, False))
    return out


def _sort_key(what: Any) -> tuple:
    """Numbers by value, names with their numbers by value (L1.n10 after L1.n9)."""
    if isinstance(what, int):
        return (what,)
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(what)))


def _legend_lines() -> list[str]:
    rows = "".join(f'<tr><td bgcolor="{fill}" border="1">  </td><td align="left">'
                   f"{html(meaning)}</td></tr>" for fill, meaning in STYLE.values())
    rows += (f'<tr><td bgcolor="{OP_FILL}" border="1" style="rounded">op</td>'
             f'<td align="left">operation (hover: its local derivatives)</td></tr>')
    return ["  subgraph cluster_legend {",
            '    label="legend"; fontsize="10"; color="#bbbbbb";',
            f'    legend [id="legend", shape="plain", label=<<table border="0" cellspacing="2">'
            f"{rows}</table>>];",
            "  }"]


# ---- the collapsed view: a neuron per node ---------------------------------------------------

_WEIGHT = re.compile(r"\.w([1-9][0-9]*)$")


def _unit_id(name: str) -> str:
    return "u_" + re.sub(r"[^A-Za-z0-9]", "_", name)


def _collapsed(trace: Trace, digits: int, rankdir: str | None, keep, legend: bool) -> str:
    """Each neuron one node (z, a and their grads per sample), weights on the edges."""
    backward = trace.root.grad is not None
    grads = trace.grads if backward else {}
    names = display_names(trace, digits)
    groups = trace.groups()
    samples = trace.samples()
    terms: dict[int, Value] = {}
    for v in trace.values:
        k = samples.get(v)
        if k is not None and k != SHARED and v.inputs and v.label.endswith(f"[{k}]"):
            terms.setdefault(k, v)
    kept = [v for v in trace.values if keep is None or v in keep]

    def is_weight(v: Value) -> bool:
        return not v.inputs and v in groups and _WEIGHT.search(v.label) is not None

    def is_bias(v: Value) -> bool:
        return not v.inputs and v in groups and v.label.endswith(".b")

    # Which unit (node of the collapsed picture) each value is drawn in, or None (folded).
    unit: dict[Value, str | None] = {}
    inputs_of: dict[str, str] = {}   # an input unit -> its name, x1, x2, ...
    for v in reversed(kept):  # consumers first: an input learns its index from its weight
        if v in groups and not is_weight(v):
            unit[v] = groups[v]
        elif is_weight(v):
            unit[v] = None
        elif v.inputs:
            k = samples.get(v)
            if v is trace.root:
                unit[v] = names[v]
            elif k is None and terms and not v.label:
                unit[v] = names[trace.root]  # the reduction of the terms into the loss
            elif k is None or k == SHARED or k not in terms:
                unit[v] = names[v]
            else:
                unit[v] = names[terms[k]]
    def weight_for(node: Value, i: int) -> Value | None:
        """The weight input ``i`` of ``node`` is multiplied by (w·x + b, or w × x)."""
        inputs = node.inputs
        if node.op == "dot":
            n = len(inputs) // 2
            partner = inputs[i - n] if n <= i < 2 * n else None
        elif node.op == "mul":
            partner = inputs[1 - i]
        else:
            partner = None
        return partner if partner is not None and is_weight(partner) else None

    for node in kept:
        if not node.inputs or node not in groups:
            continue
        for i, x in enumerate(node.inputs):
            w = weight_for(node, i)
            if x in unit or x.inputs or w is None:
                continue
            found = _WEIGHT.search(w.label)
            assert found is not None
            name = f"x{found.group(1)}"
            unit[x] = name
            inputs_of[name] = name
    for v in kept:
        if v not in unit:
            unit[v] = names[v] if (v.grad is not None and not v.inputs) else None

    members: dict[str, list[Value]] = {}
    for v in kept:
        u = unit[v]
        if u is not None:
            members.setdefault(u, []).append(v)

    def num(x: float) -> str:
        return html(format_number(x, digits))

    lines = ["digraph microgrant {",
             "  graph [" + attributes([("rankdir", rankdir or "LR"), ("fontname", "Helvetica"),
                                       ("tooltip", " "), ("ranksep", "0.9")]) + "];",
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="10", arrowsize="0.7"];']
    for u, vs in members.items():
        uid = _unit_id(u)
        rows = [f'<tr><td colspan="3" bgcolor="{OP_FILL}"><b>{html(shorten(u, _NAME_LIMIT))}'
                f"</b></td></tr>"]
        if u in groups.values():
            for b in (v for v in trace.values if is_bias(v) and groups[v] == u):
                g = f" · grad {num(grads.get(b, 0.0))}" if backward else ""
                rows.append(f'<tr><td colspan="3">b {num(b.data)}{g}</td></tr>')
            shown = [v for v in vs if v.label and not is_bias(v) and v.inputs]
            by_sample: dict[int, list[Value]] = {}
            for v in shown:
                by_sample.setdefault(samples.get(v, 0), []).append(v)
            for k in sorted(by_sample):
                cells = []
                for v in by_sample[k]:
                    part = v.label.rsplit(".", 1)[-1]
                    text = f"{html(part)} {num(v.data)}"
                    if backward:
                        text += f'<br/><font color="{MUTED}">grad {num(grads.get(v, 0.0))}</font>'
                    cells.append(f"<td>{text}</td>")
                head = f"[{k}]" if k > 0 else ""
                rows.append(f"<tr><td>{head}</td>{''.join(cells)}</tr>")
        else:
            vs_drawn = [v for v in vs if v.inputs or v.grad is not None or u in inputs_of]
            if u in inputs_of:
                for v in sorted(vs_drawn, key=lambda m: samples.get(m, 0)):
                    k = samples.get(v, 0)
                    head = f"[{k}]" if k and k != SHARED else ""
                    rows.append(f"<tr><td>{head}</td><td colspan=\"2\">{num(v.data)}</td></tr>")
            else:
                v = next((m for m in vs if names[m] == u), vs[-1])
                g = f" · grad {num(grads.get(v, 0.0))}" if backward and v.grad is not None \
                    else ""
                rows.append(f'<tr><td colspan="3">{num(v.data)}{g}</td></tr>')
        kind = "output" if trace.root in vs else ("leaf" if u in inputs_of else "value")
        fill = STYLE[kind][0]
        label = Html(f'<table border="0" cellborder="1" cellspacing="0" cellpadding="3" '
                     f'bgcolor="{fill}">{"".join(rows)}</table>')
        lines.append("  " + _node(uid, [("id", uid), ("shape", "plain"),
                                        ("tooltip", shorten(u, _TIP_LIMIT)), ("label", label)]))
    # Edges between units: one per (from, to, weight), however many samples share it.
    edges: dict[tuple, Value | None] = {}
    for node in kept:
        un = unit.get(node)
        if un is None or not node.inputs:
            continue
        for i, x in enumerate(node.inputs):
            ux = unit.get(x)
            if ux is None or ux == un or (keep is not None and x not in keep):
                continue
            weight = weight_for(node, i)
            edges.setdefault((ux, un, weight.label if weight else ""), weight)
    for (ux, un, _), weight in edges.items():
        pairs: list = [("id", f"{_unit_id(ux)}__{_unit_id(un)}")]
        if backward:
            pairs.append(("dir", "back"))
        if weight is not None:
            part = weight.label.rsplit(".", 1)[-1]
            text = f"{html(part)} {num(weight.data)}"
            if backward:
                text += f'<br/><font color="{MUTED}">grad {num(grads.get(weight, 0.0))}</font>'
            pairs += [("label", Html(text)), ("tooltip", shorten(weight.label, _TIP_LIMIT))]
        lines.append("  " + _edge(_unit_id(ux), _unit_id(un), pairs))
    lines.append("  " + _node("layout_note", [
        ("id", "layout_note"), ("shape", "note"), ("fontsize", "10"),
        ("label", Html("collapsed: one node per neuron (its z, a and their grads, one row per "
                       "sample [k]);<br/>weights and their grads on the edges; constants "
                       "folded in"))]))
    if legend:
        lines += _legend_lines()
    lines.append("}")
    return "\n".join(lines) + "\n"
