"""The graph as DOT text (`to_dot`), and the `Drawing` that lays DOT text out as a picture.

DOT is Graphviz's language for graphs.  The forward view writes each value as a table
``[name | data]`` and each op as an ellipse between its inputs and its result; the backward
view adds every gradient and, on each edge, the op's local derivative and what it contributed
(``local × upstream grad``), with the arrows turned to show gradients flowing back.  Those
grads are computed from the graph, one backward pass's worth; a leaf whose ``.grad`` holds
something else (nothing yet, or several passes) shows it beside them in red.  Every
element carries an id from the numbered graph (``n3``, ``n3_op``, ``n3_in0``), so a
`BackwardStep` can be highlighted and the stepper page can find it in the SVG.

Labels come from users (any label may hold ``<``, ``&``, a backslash or a newline), so all text
passes through the escaping here.  Writing DOT needs nothing installed; laying it out needs
Graphviz (see `microgrant._render`).
"""

from __future__ import annotations

import html
import math
import unicodedata
from pathlib import Path

from . import _render
from .io import write_atomically
from ._graph import (_HIGHLIGHT, _MUTED, _OP_FILL, _STYLE, _check_digits, _check_value, _d,
                     _factor, _Graph, format_number)
from ._render import RenderError
from ._steps import BackwardStep, _replay
from .engine import OPS, Value

VIEWS = ("forward", "backward")
"""The views `to_dot` and `draw` know: values only, or values with their gradients."""

_RANKDIRS = ("LR", "RL", "TB", "BT")

# A leaf's .grad, when it differs from the computed grad: red on pink, apart from the numbers
# the picture computes.
_ACCUMULATED = "#b03a2e"
_ACCUMULATED_FILL = "#fdeeee"


# ---- escaping -----------------------------------------------------------------------------

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


# ---- DOT ----------------------------------------------------------------------------------

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


def _value_node(graph: _Graph, v: Value, view: str, digits: int, grads: dict,
                highlighted: bool, mark_grads: bool = False) -> str:
    vid = graph.ids[v]
    kind = graph.kind(v)
    fill, meaning = _STYLE[kind]
    if v.label:
        name = f"<b>{_html(v.label)}</b>"
    elif kind == "constant":
        name = "<i>const</i>"
    else:
        name = f'<font color="{_MUTED}">{vid}</font>'
    cells = [f"<td>{name}</td>", f"<td>data {format_number(v.data, digits)}</td>"]
    tooltip = f"{graph.names[v]} = {format_number(v.data, digits)}"
    if kind == "constant" and not v.label:
        tooltip = format_number(v.data, digits)  # its name is its number
    if view == "backward" and v.grad is not None:
        computed = grads.get(v, 0.0)
        g = format_number(computed, digits)
        if mark_grads:
            # Graphviz writes a cell's id into the SVG only when the cell has a tooltip
            # (as the group "a_<id>"); the stepper page finds the grad text there.
            cells.append(f'<td id="{vid}_grad" tooltip="grad: d(output)/d(this value), '
                         f'complete once every step that adds to it has run">grad {g}</td>')
        else:
            cells.append(f"<td>grad {g}</td>")
        tooltip += f", d{_d(graph.names[graph.root])}/d{_d(graph.names[v])} = {g}"
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
            tooltip += f"; {graph.names[v]}.grad = {acc} {_ACCUMULATED_NOTE}"
    border = "3" if highlighted else ("2" if kind == "output" else "0")
    colour = f' color="{_HIGHLIGHT}"' if highlighted else ""
    row = "".join(cells)
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
          keep: set | None = None, legend: bool = False, mark_grads: bool = False) -> str:
    """The DOT text of ``graph``, or of the values in ``keep`` and a note on the rest.

    ``mark_grads`` gives each grad cell an id (``n3_grad``), for the stepper page to find.
    """
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
        lines.append(_value_node(graph, v, view, digits, grads, vid in marked, mark_grads))
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

    The backward view's grads are computed from the graph: d(root)/d(value), the numbers one
    ``backward()`` on fresh values would produce, whatever ``.grad`` holds now.  ``.grad``
    holds what backward calls have accumulated (0 before the first, the sum of several, or
    leftovers from a step that was not zeroed), so where a leaf's ``.grad`` differs from the
    computed grad it is shown beside it, in red (``.grad 12``), with a tooltip saying why.

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


def _check_view(view) -> str:
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; valid views are "
                         f"{', '.join(repr(v) for v in VIEWS)}")
    return view


# ---- drawings -----------------------------------------------------------------------------

class Drawing:
    """A laid-out graph: shows itself in Jupyter, and saves as SVG or PNG.

    Attributes:
        source: the DOT text.
        omitted: how many values were left out to keep the drawing small (0 when none).

    >>> from microgrant import Value
    >>> d = Drawing(to_dot(Value(2.0, label="x") * 3))
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
        """The picture's bytes, ``"svg"`` or ``"png"`` (laid out once, then remembered).

        Raises:
            ValueError: for an unknown format.
            RenderError: when no Graphviz layout engine is available.

        >>> from microgrant import Value
        >>> d = Drawing(to_dot(Value(2.0, label="x") * 3))
        >>> svg = d.pipe()                        # "svg" unless told otherwise
        >>> svg.startswith(b"<?xml"), b">x</text>" in svg, d.pipe("svg") is svg
        (True, True, True)
        """
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

        >>> import pathlib, tempfile
        >>> from microgrant import Value
        >>> d = Drawing(to_dot(Value(2.0, label="x") * 3))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = d.render(pathlib.Path(folder) / "graph.png")
        ...     files = sorted(p.name for p in pathlib.Path(folder).iterdir())
        ...     head = path.read_bytes()[:4]
        >>> path.name, head, files               # the whole PNG, and no temporary file left
        ('graph.png', b'\\x89PNG', ['graph.png'])
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
