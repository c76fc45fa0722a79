"""micrograd's picture of a graph, as the lecture draws it: the DOT text behind `draw_dot`.

The lecture (and micrograd's ``trace_graph`` notebook) draws every value as a record box
``label | data 2.0000 | grad 0.0000`` and every op as a small node between its inputs and its
result, arrows pointing forward, left to right.  The ``grad`` is the value's stored ``.grad``,
whatever put it there: zeros before ``backward()`` (so the lecture's "before" pictures do not
give the answers away), the numbers a cell set by hand, or what ``backward()`` accumulated.
microgrant's own views (`microgrant.viz.dot`) compute every gradient from the graph instead and
label each edge with its chain-rule factors; this one stays as the lecture shows it.

It sits beside `microgrant.viz.dot` in the pipeline: trace -> DOT text -> `render`.
Two things differ from micrograd's picture, on purpose: ids are stable (``n0, n1, ...`` in
topological order, so the DOT text is the same every run), and a value used twice by one op
(``a + a``) has two arrows, one per input, so the picture shows why its gradient is 2.
"""

from __future__ import annotations

from ..checks import one_of
from ..engine import Value
from ..partials import LECTURE_SYMBOLS, lecture_symbol
from .quoting import attributes, clean
from .text import format_number
from .trace import Trace, check_root

__all__ = ["RANKDIRS", "SYMBOLS", "lecture_dot", "lecture_number", "record_text"]

RANKDIRS = ("LR", "TB")
"""The directions micrograd's ``draw_dot`` accepts."""

SYMBOLS = LECTURE_SYMBOLS
"""An op's name in the lecture's pictures, where it differs from the op table's symbol (the
lecture writes ``*``, not ``×``); ``pow`` is written with its exponent, ``**2``, as micrograd
writes it (`microgrant.partials.lecture_symbol`)."""


def lecture_number(x: float | None) -> str:
    """A number as the lecture prints it, ``%.4f``; a constant's missing grad as ``—``.

    A nonzero number that ``%.4f`` would show as ``0.0000`` is written in full instead: a
    picture that says a gradient is zero when it is not would mislead.

    >>> lecture_number(-3.0), lecture_number(3.1e-11), lecture_number(None)
    ('-3.0000', '3.1e-11', '—')
    """
    if x is None:
        return "—"
    text = "%.4f" % x
    if x != 0 and float(text) == 0:
        return format_number(x, 2)
    return text


def record_text(text: str) -> str:
    """Text for one field of a record label inside a quoted DOT string.

    The record parser reads ``{ } | < >`` as structure and a backslash as an escape, and the
    label writer reads ``\\n`` as a line break; each is escaped so a label shows as typed.

    >>> record_text('a|b {c} "d"')
    'a\\\\|b \\\\{c\\\\} \\\\"d\\\\"'
    """
    out = []
    for ch in clean(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch in '{}|<>"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "&":
            out.append("&amp;")  # the SVG writer keeps "&lt;" as an entity: keep it as text
        else:
            out.append(ch)
    return "".join(out).strip()


def lecture_dot(root: Value, rankdir: str = "LR") -> tuple[str, str]:
    """The DOT text of micrograd's picture of ``root``, and the picture in words.

    >>> from microgrant import Value
    >>> a = Value(3.0, label="a")
    >>> b = a + a; b.label = "b"
    >>> print(lecture_dot(b)[0])  # doctest: +NORMALIZE_WHITESPACE
    digraph microgrant {
      graph [rankdir="LR", fontname="Helvetica"];
      node [fontname="Helvetica", fontsize="11"];
      n0 [id="n0", shape="record", label="{ a | data 3.0000 | grad 0.0000 }"];
      n1 [id="n1", shape="record", label="{ b | data 6.0000 | grad 0.0000 }"];
      n1_op [id="n1_op", label="+"];
      n1_op -> n1;
      n0 -> n1_op;
      n0 -> n1_op;
    }
    """
    check_root(root, "draw_dot")
    one_of(rankdir, RANKDIRS, "rankdir")
    trace = Trace(root)
    lines = ["digraph microgrant {",
             f"  graph [{attributes([('rankdir', rankdir), ('fontname', 'Helvetica')])}];",
             f"  node [{attributes([('fontname', 'Helvetica'), ('fontsize', '11')])}];"]
    for v in trace.values:
        uid = trace.ids[v]
        # Written here rather than by `attributes`: a record label has escapes of its own.
        label = (f"{{ {record_text(v.label)} | data {lecture_number(v.data)} | "
                 f"grad {lecture_number(v.grad)} }}")
        lines.append(f'  {uid} [{attributes([("id", uid), ("shape", "record")])}, '
                     f'label="{label}"];')
        if v.inputs:
            op = attributes([("id", f"{uid}_op"), ("label", lecture_symbol(v))])
            lines.append(f"  {uid}_op [{op}];")
            lines.append(f"  {uid}_op -> {uid};")
            lines.extend(f"  {trace.ids[x]} -> {uid}_op;" for x in v.inputs)
    lines.append("}")
    return "\n".join(lines) + "\n", _describe(trace)


def _describe(trace: Trace) -> str:
    """The lecture's picture in words: each value with its data and stored grad."""
    parts = []
    for v in trace.values[:12]:
        name = v.label or trace.ids[v]
        made = f" = {lecture_symbol(v)}" if v.inputs else ""
        parts.append(f"{name}{made} (data {lecture_number(v.data)}, grad "
                     f"{lecture_number(v.grad)})")
    more = f", and {len(trace.values) - 12} more" if len(trace.values) > 12 else ""
    return (f"micrograd's picture of {trace.root.label or trace.ids[trace.root]}: "
            f"{len(trace.values)} values, {len(trace.order)} ops; " + ", ".join(parts) + more)
