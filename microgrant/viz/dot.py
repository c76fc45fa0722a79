"""The third stage of seeing backprop: a trace written as DOT text, Graphviz's language for graphs.

The forward view writes each value as a table ``[name | data]`` and each op as an ellipse
between its inputs and its result; the backward view adds every gradient and, on each edge,
the op's local derivative and what it contributed (``local × upstream grad``), with the arrows
turned to show gradients flowing back.  The collapsed view draws a net's neurons as one node
each (its weighted sum ``z``, activation ``a`` and their grads, per sample), each layer's
neurons in order, with the weights and their grads on the edges, and each sample's loss term
as one node named by its label or its formula (``(ŷ − y)² [3]``), so a small net's whole
backward pass fits a screen.

Every element carries an id from the trace (``n3``, ``n3_op``, ``n3_in0``, ``n3_out``, the grad
cell ``n3_grad``), so a step can be highlighted and the stepper page can find it in the SVG.
This module only writes strings: it reads the backward pass from the trace and never replays
it, and it needs nothing installed.  Every attribute goes through one helper, `attributes`,
and every piece of user text through `html` or `quote`, because a label may hold anything:
quotes, braces, ``<``, backslashes, newlines, control characters.

Pictures must lay out in a few seconds, so the DOT says what Graphviz can lay out quickly: a
value used by many ops is drawn once in full and as a small dashed copy at each further use
(long edges from one node to every rank are what make Graphviz's layout explode), many edges
from one value into one op are drawn as one.  The direction is chosen to bring the picture
near 1:2 to 2:1 (`plan_layout`), and a long chain is wrapped into columns rather than drawn
as a thin strip.  The picture says so where it does.
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
from .text import formula as write_formula
from .trace import SHARED, Trace, check_root, is_step_of

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
            chooses by the picture's shape (`plan_layout`: left to right for a short one,
            else what brings it nearest 1:2 to 2:1, a long chain wrapped into columns).
        highlight: a `BackwardStep` of this graph, drawn in red: its op node, value and
            edges; in the collapsed view, the neuron (or loss term) whose value the step
            passes its gradient from, that value's cell, and the edges the gradient takes.
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


ASPECT = (0.5, 2.0)
"""The width : height range `plan_layout` aims a picture at (1:2 to 2:1)."""
_WRAP_LIMIT = 8          # the most columns a long picture is wrapped into
_CHAR = 6.4              # points per character at the pictures' 11 pt Helvetica
_RANKSEP, _NODESEP = 36.0, 18.0   # Graphviz's defaults, in points
_SMALL = 1400.0          # points: a picture this wide fits a screen, whatever its shape


@dataclass(frozen=True)
class Layout:
    """How a picture is laid out: Graphviz's direction, and how many columns it wraps into.

    Attributes:
        rankdir: ``"LR"`` or ``"TB"`` (or what the caller asked for).
        columns: 1, or how many columns a tall picture drawn top to bottom is cut into,
            read like a newspaper's: down the first, then down the next.
        rank: element name (``n3``, ``n3_op``, ``n0_at_n5``) -> its rank (row) before
            wrapping; the column of an element is ``rank // rows``.
        rows: how many ranks one column holds (0: not wrapped).
        size: the estimated (width, height) in points.
    """

    rankdir: str
    columns: int = 1
    rank: dict = field(default_factory=dict)
    rows: int = 0
    size: tuple = (0.0, 0.0)

    def column(self, name: str) -> int:
        return self.rank.get(name, 0) // self.rows if self.rows else 0


def _aspect_miss(width: float, height: float) -> float:
    """How far (in log) ``width / height`` lies outside `ASPECT`; 0 inside it."""
    ratio = width / max(height, 1.0)
    low, high = ASPECT
    return max(math.log(low / ratio), math.log(ratio / high), 0.0)


def plan_layout(trace: Trace, keep=None, view: str = "forward", copied=frozenset(),
                names: dict | None = None) -> Layout:
    """The direction (and wrapping) that brings a picture nearest `ASPECT`, 1:2 to 2:1.

    The heuristic estimates the picture's size both ways from what Graphviz will draw: each
    value and op gets a rank (an op one after its highest input, a leaf just before its first
    consumer, as Graphviz places them), each node a size from its text (a value's table is
    several times as wide as it is tall), each rank of edge labels (the backward view's local
    derivatives) a rank of its own.  Left to right the ranks add up to the width and the
    busiest rank is the height; top to bottom the other way round.  The direction whose
    width : height lies nearer the range wins, left to right when both are inside it or
    equally far, and when it is at most 1400 points wide (a short expression fits a screen,
    and stays left to right as micrograd draws it).

    A long chain fits neither way (a 1:8 column or an 8:1 strip), so a picture still taller
    than 1:2 top to bottom is wrapped into columns, as many as bring it nearest 1:1 (at most
    8): Graphviz lays each column out from the top, and the edges from the foot of one
    column to the head of the next are the only long ones.  A picture gathered into boxes
    (``group=``) is never wrapped.  Broad pictures (a whole net over several samples) can
    miss the range both ways; ``view="collapsed"`` or ``sample=`` draw those smaller.

    Args:
        trace: the graph.
        keep: the values drawn (None: all).
        view: ``"forward"`` or ``"backward"`` (edge labels and grads make the latter bigger).
        copied: ``(value, consumer)`` pairs drawn as small copies (see `REUSE_LIMIT`).
        names: each value's shown name (`display_names`), for the width of its table.
    """
    levels = _levels(trace, keep)
    if not levels:
        return Layout("LR")
    names = names if names is not None else display_names(trace)
    backward = view == "backward"
    consumers: dict[Value, int] = {}
    for node in trace.order:
        if keep is not None and node not in keep:
            continue
        for x in node.inputs:
            if not x.inputs and (keep is None or x in keep):
                consumers[x] = min(consumers.get(x, levels[node]), levels[node])
    # Rank 2L is a value of level L, 2L - 1 its op; a leaf sits just before its first use.
    rank: dict[str, int] = {}
    size: dict[str, tuple] = {}
    labelled: set[int] = set()
    for v, lv in levels.items():
        vid = trace.ids[v]
        if v.inputs:
            rank[vid], rank[f"{vid}_op"] = 2 * lv, 2 * lv - 1
            size[f"{vid}_op"] = (54.0, 36.0)
            if backward:
                labelled.add(2 * lv - 1)
        else:
            rank[vid] = max(2 * consumers.get(v, 1) - 2, 0)
        chars = len(shorten(names[v], _NAME_LIMIT)) + 5 + len(format_number(v.data))
        cells = 2
        if backward and v.grad is not None:
            chars += 5 + len(format_number(trace.grads.get(v, 0.0)))
            cells += 1
        size[vid] = (chars * _CHAR + cells * 9.0, 26.0)
    for x, consumer in copied:
        name = f"{trace.ids[x]}_at_{trace.ids[consumer]}"
        rank[name] = 2 * levels[consumer] - 2
        size[name] = ((len(shorten(names[x], _NAME_LIMIT)) + 6) * _CHAR + 16.0, 28.0)

    ranks = max(rank.values()) + 1
    along = [0.0] * ranks    # each rank's extent in the direction of the edges
    across = [0.0] * ranks   # and across it, summed over the rank's nodes
    along_lr = [0.0] * ranks
    across_lr = [0.0] * ranks
    for name, r in rank.items():
        w, h = size[name]
        along[r] = max(along[r], h)
        across[r] += w + _NODESEP
        along_lr[r] = max(along_lr[r], w)
        across_lr[r] += h + _NODESEP
    label_w, label_h = 120.0, 30.0   # "local 0.9 / 0.9 × 0.0007 = 0.00063", two lines
    extra_tb = len(labelled) * (label_h + _RANKSEP)
    extra_lr = len(labelled) * (label_w + _RANKSEP)
    tb = (max(across), sum(along) + _RANKSEP * (ranks - 1) + extra_tb)
    lr = (sum(along_lr) + _RANKSEP * (ranks - 1) + extra_lr, max(across_lr))
    if lr[0] > _SMALL and _aspect_miss(*tb) < _aspect_miss(*lr):
        best = Layout("TB", rank=rank, size=tb)
    else:
        best = Layout("LR", rank=rank, size=lr)
    width, height = tb
    if best.rankdir == "LR" and _aspect_miss(*lr) == 0.0 or width / height >= ASPECT[0] \
            or ranks < 8:
        return best
    # Too tall even top to bottom: wrap into c columns, each about height / c tall.
    columns = min(_WRAP_LIMIT, max(2, round(math.sqrt(height / width))))
    rows = math.ceil(ranks / columns)
    rows += rows % 2  # each column starts at a value's rank, with the leaves its op reads
    columns = math.ceil(ranks / rows)
    wrapped = (width * columns + _RANKSEP * (columns - 1), height * rows / ranks)
    if columns < 2 or _aspect_miss(*wrapped) >= _aspect_miss(*best.size):
        return best
    return Layout("TB", columns=columns, rank=rank, rows=rows, size=wrapped)


def choose_rankdir(trace: Trace, keep=None, view: str = "forward") -> str:
    """The direction `plan_layout` chooses: ``"LR"`` or ``"TB"``."""
    return plan_layout(trace, keep, view).rankdir


def _sample_keep(trace: Trace, sample: int) -> set:
    samples = trace.samples()
    if trace.sample_count() < sample:
        raise ValueError(f"sample must be one of the loss's samples, 1 to "
                         f"{trace.sample_count()} (from loss terms labelled like 'mse[1]', "
                         f"or from the net's calls); got {sample}")
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
    layout: Layout | None = None   # set when the picture is wrapped into columns

    def across(self, tail: str, head: str) -> list:
        """``constraint=false`` for an edge from one column to the next: Graphviz then
        starts the next column at the top instead of below the end of this one."""
        if self.layout is None or self.layout.column(tail) == self.layout.column(head):
            return []
        return [("constraint", "false")]

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
        extra += p.across(tail, f"{vid}_op")
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
            return _collapsed(trace, digits, rankdir, keep, legend, highlight)
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
    if rankdir is None:
        layout = plan_layout(trace, keep, view, copies.keys(), names)
        if boxes and layout.columns > 1:  # boxes and columns would fight over the places
            layout = Layout(layout.rankdir)
        rankdir = layout.rankdir
        if layout.columns > 1:
            p.layout = layout
            notes.append(f"a long graph: drawn in {layout.columns} columns, read down each "
                         f"column, then on in the next one")

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
            head = vid
            if p.across(f"{vid}_op", vid):
                # The op ends one column and its value heads the next: the edge ends at a
                # note saying where the value is, instead of running back up the picture.
                head = f"{vid}_next"
                nodes.append("  " + _node(head, [
                    ("id", head), ("shape", "plaintext"), ("fontsize", "10"),
                    ("fontcolor", MUTED), ("width", "0"), ("height", "0"), ("margin", "0.02"),
                    ("label", Html(f"{html(shorten(names[v], _NAME_LIMIT))}: at the top of "
                                   f"the next column"))]))
            edges.append("  " + _edge(f"{vid}_op", head,
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
    if p.layout is not None:
        lines += _column_order(trace, p.layout, keep)
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


def _column_order(trace: Trace, layout: Layout, keep) -> list[str]:
    """The columns of a wrapped picture left to right: their first values side by side."""
    heads: dict[int, tuple[int, str]] = {}
    for v in trace.values:
        if keep is not None and v not in keep:
            continue
        vid = trace.ids[v]
        rank = layout.rank.get(vid, 0)
        column = layout.column(vid)
        if column not in heads or rank < heads[column][0]:
            heads[column] = (rank, vid)
    ids = [heads[c][1] for c in sorted(heads)]
    if len(ids) < 2:
        return []
    return [f'  {{ rank="same"; {" -> ".join(ids)} [style="invis"]; }}']


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
_NEURON = re.compile(r"(?:^|\.)n([1-9][0-9]*)$")
_MEAN_OPS = ("div", "mul")  # a sum's last step that makes it a mean: ÷ K, or × 1/K


def _unit_id(name: str) -> str:
    return "u_" + re.sub(r"[^A-Za-z0-9]", "_", name)


class _Units:
    """Which node of the collapsed picture each value is drawn in, and what each node is called.

    A node (a *unit*) is a neuron (its z, a and bias: the values labelled ``L1.n2.*``), one of
    the net's inputs (``x1``: the leaves a weight ``w1`` multiplies), one sample's loss term
    (the values made for sample k outside the net), the output with what reduces the terms
    into it, or a labelled leaf that takes a gradient.  Weights are drawn on the edges, and
    constants are written into the formulas that name the terms; neither has a unit.
    """

    def __init__(self, trace: Trace, keep, digits: int):
        self.trace, self.digits = trace, digits
        groups, samples = trace.groups(), trace.samples()
        self.groups, self.samples = groups, samples
        self.kept = [v for v in trace.values if keep is None or v in keep]
        self.inputs: dict[Value, int] = {}  # a net input -> its index i (x_i, weighted by w_i)
        for node in self.kept:
            if node in groups:
                for i, x in enumerate(node.inputs):
                    w = self.weight_for(node, i)
                    if w is not None and not x.inputs and x not in groups:
                        found = _WEIGHT.search(w.label)
                        assert found is not None
                        self.inputs.setdefault(x, int(found.group(1)))
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

    def is_weight(self, v: Value) -> bool:
        return not v.inputs and v in self.groups and _WEIGHT.search(v.label) is not None

    def is_bias(self, v: Value) -> bool:
        return not v.inputs and v in self.groups and v.label.endswith(".b")

    def weight_for(self, node: Value, i: int) -> Value | None:
        """The weight input ``i`` of ``node`` is multiplied by (w·x + b, or w × x)."""
        inputs = node.inputs
        if node.op == "dot":
            n = len(inputs) // 2
            partner = inputs[i - n] if n <= i < 2 * n else None
        elif node.op == "mul":
            partner = inputs[1 - i]
        else:
            partner = None
        return partner if partner is not None and self.is_weight(partner) else None

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
            layers = {self.trace.layer(m) for m in self.groups}
            last = max((x for x in layers if x is not None), default=None)
            outputs = sorted({g for m, g in self.groups.items() if self.trace.layer(m) == last},
                             key=_sort_key)
            if self.trace.layer(v) == last and v.label.rsplit(".", 1)[-1] in ("a", "z"):
                if len(outputs) == 1:
                    return "ŷ"
                found = _NEURON.search(self.groups[v])
                return f"ŷ{found.group(1)}" if found else v.label
            return v.label
        if u is not None and u[0] == "term":
            return self.titles.get(u, f"term [{u[1]}]")
        if u is not None and u[0] == "input":
            return f"x{u[1]}"
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
            return f"x{u[1]}"
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
                layer = _LAYER_OF.search(u[1])
                if layer is not None:
                    found.setdefault(("layer", int(layer.group(1))), []).append(u)
        return [sorted(us, key=lambda u: _sort_key(u[1])) for us in found.values()
                if len(us) > 1]


_LAYER_OF = re.compile(r"(?:^|\.)L([1-9][0-9]*)(?:\.|$)")


def _collapsed(trace: Trace, digits: int, rankdir: str | None, keep, legend: bool,
               highlight: Any = None) -> str:
    """Each neuron one node (z, a and their grads per sample), weights on the edges.

    A highlighted step marks in red the unit whose value the step passes its gradient from
    (and, in a neuron, that sample's z or a cell), and the edges its gradient flows along.
    """
    backward = trace.root.grad is not None
    grads = trace.grads if backward else {}
    units = _Units(trace, keep, digits)
    unit, members, samples = units.unit, units.members, units.samples

    marked_unit: tuple | None = None
    marked_values: set = set()  # the step's node, and its inputs drawn in the same unit
    marked_edges: set = set()
    note = ""
    if highlight is not None and highlight.node in unit:
        node = highlight.node
        marked_unit = unit[node]
        marked_values.add(node)
        for i, x in enumerate(node.inputs):
            ux = unit.get(x)
            if ux == marked_unit:
                marked_values.add(x)  # the bias of a neuron's z, the z of its a
            elif ux is not None:
                w = units.weight_for(node, i)
                marked_edges.add((ux, marked_unit, w.label if w else ""))
        names = display_names(trace, digits)
        shown = html(shorten(names[node], _NAME_LIMIT))
        note = f"<br/>in red: step {highlight.index + 1}, {shown} passing its gradient back"

    def num(x: float) -> str:
        return html(format_number(x, digits))

    def grad_text(v: Value) -> str:
        return f'<br/><font color="{MUTED}">grad {num(grads.get(v, 0.0))}</font>' \
            if backward else ""

    def mark(v: Value) -> str:
        return f' border="3" color="{HIGHLIGHT}"' if v in marked_values else ""

    lines = ["digraph microgrant {",
             # Closer layers and roomier neurons than the defaults: the weights' labels make
             # the picture wide, and 1:2 to 2:1 is what a screen shows whole.
             "  graph [" + attributes([("rankdir", rankdir or "LR"), ("fontname", "Helvetica"),
                                       ("tooltip", " "), ("ranksep", "0.6"),
                                       ("nodesep", "0.35")]) + "];",
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="10", arrowsize="0.7"];']
    for u, vs in members.items():
        uid = units.ids[u]
        title = units.titles[u]
        rows: list[tuple[str, int | None]] = []  # (cells, how many cells; None: one spanning)
        if u[0] == "neuron":
            for b in (v for v in vs if units.is_bias(v)):
                g = f" · grad {num(grads.get(b, 0.0))}" if backward else ""
                rows.append((f"<td{mark(b)}>b {num(b.data)}{g}</td>", None))
            by_sample: dict[int, list[Value]] = {}
            for v in vs:
                if v.inputs and v.label:
                    by_sample.setdefault(samples.get(v, 0), []).append(v)
            for k in sorted(by_sample):
                cells = [f"<td{mark(v)}>{html(v.label.rsplit('.', 1)[-1])} {num(v.data)}"
                         f"{grad_text(v)}</td>" for v in by_sample[k]]
                head = f"[{k}]" if k > 0 else ""
                rows.append((f"<td>{head}</td>{''.join(cells)}", 1 + len(cells)))
        elif u[0] == "input":
            for v in sorted(vs, key=lambda m: samples.get(m, 0)):
                k = samples.get(v, 0)
                head = f"[{k}]" if k and k != SHARED else ""
                rows.append((f"<td>{head}</td><td>{num(v.data)}</td>", 2))
        else:
            if u in units.notes:
                rows.append((f"<td>{html(shorten(units.notes[u], _NAME_LIMIT))}</td>", None))
            v = units.top(u)
            g = f" · grad {num(grads.get(v, 0.0))}" if backward and v.grad is not None else ""
            rows.append((f"<td{mark(v)}>{num(v.data)}{g}</td>", None))
        # Every row as wide as the widest, so no edge can end beside a short row.
        width = max([n for _, n in rows if n is not None] + [1])
        body = [f'<tr><td colspan="{width}" bgcolor="{OP_FILL}"><b>'
                f"{html(shorten(title, _NAME_LIMIT))}</b></td></tr>"]
        for row, n in rows:
            if n is None:
                row = row.replace("<td", f'<td colspan="{width}"', 1)
            elif n < width:  # the last cell takes up what the row lacks
                last = row.rfind("<td")
                row = row[:last] + f'<td colspan="{width - n + 1}"' + row[last + 3:]
            body.append(f"<tr>{row}</tr>")
        kind = "output" if trace.root in vs else ("leaf" if u[0] in ("input", "leaf")
                                                  else "value")
        border = f' border="3" color="{HIGHLIGHT}"' if u == marked_unit else ' border="0"'
        label = Html(f'<table{border} cellborder="1" cellspacing="0" cellpadding="3" '
                     f'bgcolor="{STYLE[kind][0]}">{"".join(body)}</table>')
        lines.append("  " + _node(uid, [("id", uid), ("shape", "plain"),
                                        ("tooltip", shorten(title, _TIP_LIMIT)),
                                        ("label", label)]))
    # Edges between units: one per (from, to, weight), however many samples share it.
    edges: dict[tuple, Value | None] = {}
    for node in units.kept:
        un = unit.get(node)
        if un is None or not node.inputs:
            continue
        for i, x in enumerate(node.inputs):
            ux = unit.get(x)
            if ux is None or ux == un:
                continue
            weight = units.weight_for(node, i)
            edges.setdefault((ux, un, weight.label if weight else ""), weight)
    for key, weight in edges.items():
        ux, un, _ = key
        pairs: list = [("id", f"{units.ids[ux]}__{units.ids[un]}")]
        if backward:
            pairs.append(("dir", "back"))
        if weight is not None:
            part = weight.label.rsplit(".", 1)[-1]
            text = f"{html(part)} {num(weight.data)}{grad_text(weight)}"
            pairs += [("label", Html(text)), ("tooltip", shorten(weight.label, _TIP_LIMIT))]
        if key in marked_edges:
            pairs += [("color", HIGHLIGHT), ("penwidth", "2.5"), ("fontcolor", HIGHLIGHT)]
        lines.append("  " + _edge(units.ids[ux], units.ids[un], pairs))
    # Each layer's neurons (and the inputs, and the terms) side by side in reading order:
    # invisible edges within a rank put n1 before n2.
    for side_by_side in units.ranks():
        ids = [units.ids[u] for u in side_by_side]
        lines.append("  { rank=\"same\"; " + " -> ".join(ids) + ' [style="invis"]; }')
    lines.append("  " + _node("layout_note", [
        ("id", "layout_note"), ("shape", "note"), ("fontsize", "10"),
        ("label", Html("collapsed: one node per neuron (its z, a and their grads, one row per "
                       "sample [k]);<br/>weights and their grads on the edges; constants "
                       f"written into the terms' formulas{note}"))]))
    if legend:
        lines += _legend_lines()
    lines.append("}")
    return "\n".join(lines) + "\n"
