"""The last stage of seeing backprop: a page that steps through the backward pass, one op at a time.

`stepper` traces the graph once and builds everything the page needs from that one trace: the
backward picture (DOT -> SVG, laid out once: one picture serves every step, and a few lines of
JavaScript highlight the current step by toggling classes on the SVG's ids), each step's
chain-rule text, which step reveals which number, and, for each leaf that takes a gradient, a
central finite difference of the output to hold the chain rule's answer against.  The page's
HTML, CSS and JavaScript are package files (``stepper.html``, ``.css``, ``.js``) filled in one
pass; nothing is loaded from the network, and several steppers can share one notebook page
(every id is prefixed with the stepper's own ``uid``; keys act only on the focused one).
"""

from __future__ import annotations

import html as _html_module
import json
import math
import re
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

from ..checks import count
from ..engine import Value
from ..io import write_atomically
from ..labels import split_index
from .dot import OP_FILL, STYLE
from .render import picture, svg_element
from .steps import steps_of
from .structure import structure_of
from .text import as_ratio_part, check_digits, display_names, equations
from .trace import DEFAULT_MAX_NODES, SHARED, Trace, check_root

__all__ = ["Stepper", "stepper", "save_stepper", "MAX_CHECKS"]

MAX_CHECKS = 300
"""The most leaves whose gradient the page checks by finite differences."""
_CHECK_WORK = 3_000_000  # leaves × ops re-run, at most: a few seconds of pure Python
_MARKER = re.compile(r"@@([A-Z]+)@@")
_ID = re.compile(r'\bid="([^"]*)"')
_FILES: dict[str, str] = {}


def _page_file(name: str) -> str:
    if name not in _FILES:
        _FILES[name] = (resources.files(__package__) / name).read_text(encoding="utf-8")
    return _FILES[name]


def _script_json(data: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in, whatever the labels say."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _number(x: Any) -> float | None:
    """A float for JSON, or None where JSON has no number (NaN, infinities)."""
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def _group_of(trace: Trace, v: Value, loss_part: set) -> str:
    layer = structure_of(trace).layer(v)
    if layer is not None:
        return f"layer {layer}"
    if v in loss_part:
        return "loss"
    return "output" if v is trace.root else ""


def _loss_part(trace: Trace) -> set:
    """The loss's own values: each sample's term and what it is made of outside the net,
    and everything after the terms (the reduction into the loss)."""
    samples = structure_of(trace).samples()
    groups = structure_of(trace).groups()
    terms = [v for v in trace.values if v in samples and v.inputs and split_index(v.label)
             and samples[v] != SHARED]
    if not terms:
        return set()
    part = {v for v in trace.values if v.inputs and v not in samples}  # after the terms
    for v in trace.values:
        if v.inputs and samples.get(v, SHARED) != SHARED and v not in groups:
            part.add(v)
    return part


def _checks(trace: Trace, names: dict) -> list[dict]:
    leaves = [v for v in trace.values if not v.inputs and v.grad is not None]
    affordable = len(leaves) <= MAX_CHECKS and len(leaves) * max(len(trace.order), 1) <= \
        _CHECK_WORK
    checks = []
    for v in leaves:
        g = trace.grads.get(v, 0.0)
        numeric = _number(trace.central_difference(v)) if affordable else None
        agree = None
        if numeric is not None and _number(g) is not None:
            agree = math.isclose(g, numeric, rel_tol=1e-4, abs_tol=1e-6)
        checks.append({"id": trace.ids[v], "name": names[v], "grad": _number(g),
                       "numeric": numeric, "agree": agree})
    return checks


class Stepper:
    """The backward pass of one graph as a page: shows itself in Jupyter, saves as HTML.

    Attributes:
        uid: this stepper's id, the prefix of every element id on its page (``mgs-3f2a9c``).
        title: the page's heading.
        data: what the page steps through (steps, values, checks, legend; see the module).
        svg: the backward picture's ``<svg>`` element, its ids prefixed with ``uid``.

    >>> from microgrant import Value
    >>> x = Value(2.0, label="x")
    >>> s = stepper((x * x).tanh())
    >>> len(s.data["steps"]), s.data["checks"][0]["name"], s.data["checks"][0]["agree"]
    (3, 'x', True)
    >>> "<script src" in s._repr_html_()
    False
    """

    def __init__(self, uid: str, title: str, data: dict, svg: str):
        self.uid = uid
        self.title = title
        self.data = data
        self.svg = svg

    def fragment(self) -> str:
        """The page as one ``<div>``, scoped by ``uid``, for inside any HTML page."""
        values = {"UID": self.uid, "CSS": _page_file("stepper.css"), "SVG": self.svg,
                  "DATA": _script_json(self.data), "JS": _page_file("stepper.js"),
                  "TITLE": _html_module.escape(self.title)}
        # One pass over the template: text inside a label that looks like a marker stays.
        return _MARKER.sub(lambda m: values.get(m.group(1), m.group(0)),
                           _page_file("stepper.html"))

    def _repr_html_(self) -> str:
        return self.fragment()

    def page(self) -> str:
        """The stepper as a whole HTML document."""
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>{_html_module.escape(self.title)}</title>\n</head>\n<body>\n"
                f"{self.fragment()}\n</body>\n</html>\n")

    def save(self, path) -> Path:
        """Writes the page to ``path`` (``.html``), whole or not at all; returns the path."""
        return write_atomically(path, self.page())

    def __repr__(self) -> str:
        return (f"<Stepper {self.uid}: {len(self.data['steps']) - 1} steps; .save(path) writes "
                f"the page>")


def stepper(root: Value, digits: int = 4, max_nodes: int | None = DEFAULT_MAX_NODES,
            title: str | None = None) -> Stepper:
    """A page that steps through the backward pass of ``root``, one op at a time.

    The page shows the backward graph with the current step in red, the step's chain rule as
    text, previous/next buttons, a slider and arrow keys (when it has focus).  Numbers appear
    as backprop reaches them: at the start only the output's grad (the seed) shows; an edge's
    ``local × upstream`` label appears at its step, and a value's grad once its last
    contribution is in.  Each leaf's grad is checked against a finite difference.

    Args:
        root: the output Value.
        digits: significant digits for every number.
        max_nodes: the most values to draw (see `draw`); every step is listed regardless,
            and a step whose node was left out of the picture says so.
        title: the page's heading (default: "Backprop through <root's label>", or
            "Backprop through the output" when it has none).

    Raises:
        RenderError: when no Graphviz layout engine is available.
    """
    check_root(root, "stepper")
    check_digits(digits)
    if max_nodes is not None:
        count(max_nodes, "max_nodes")
    trace = Trace(root)
    names = display_names(trace, digits)
    drawing = picture(trace, "backward", max_nodes, digits, None, mark_grads=True)
    keep = trace.nearest(max_nodes) if drawing.omitted and max_nodes else None
    uid = f"mgs-{secrets.token_hex(3)}"
    svg = _ID.sub(lambda m: f'id="{uid}-{m.group(1)}"', svg_element(drawing.pipe("svg")))
    if title is None:
        title = f"Backprop through {root.label or 'the output'}"
    return Stepper(uid, title, _payload(trace, names, digits, keep, drawing.omitted, uid,
                                        title), svg)


def _payload(trace: Trace, names: dict, digits: int, keep, omitted: int, uid: str,
             title: str) -> dict:
    root = trace.root
    name = names[root]
    r = as_ratio_part(name)
    if root.grad is None:
        seed = f"{name} is a constant: no gradient flows through it, so there are no steps."
    elif not root.inputs:
        seed = f"{name} is a leaf: d{r}/d{r} = 1, and there is nothing to backpropagate."
    else:
        seed = (f"Backprop starts at the output: d{r}/d{r} = 1 (the seed).\n"
                f"Press Next (or the right arrow) to pass gradients back, one op at a time.")
    texts = equations(trace, names, digits) if root.grad is not None else []
    reveals = trace.reveals() if root.grad is not None else [[]]
    loss_part = _loss_part(trace)

    def drawn(v: Value) -> bool:
        return keep is None or v in keep

    # The seed's first id is the output's: the page scrolls it into view at the start.
    steps = [{"ids": [trace.ids[root]], "text": seed, "reveal": reveals[0], "node": None,
              "name": name, "drawn": True, "group": ""}]
    chain_steps = steps_of(trace, digits) if root.grad is not None else []
    for step, text in zip(chain_steps, texts):
        node = step.node
        here = drawn(node)
        if not here:
            text += (f"\n({names[node]} is not in the picture: max_nodes left it out; "
                     f"pass max_nodes=None to draw every value)")
        steps.append({"ids": step.highlighted_ids(), "text": text,
                      "reveal": reveals[step.index + 1], "node": step.node_id,
                      "name": names[node], "drawn": here,
                      "group": _group_of(trace, node, loss_part)})
    values = [{"id": trace.ids[v], "name": names[v], "kind": trace.kind(v), "drawn": drawn(v)}
              for v in trace.values]
    legend = [[fill, meaning] for fill, meaning in STYLE.values()]
    legend.append([OP_FILL, "operation (hover: its local derivatives)"])
    return {"uid": uid, "title": title, "steps": steps, "values": values,
            "checks": _checks(trace, names) if root.grad is not None else [],
            "omitted": omitted, "legend": legend}


def save_stepper(root: Value, path, digits: int = 4,
                 max_nodes: int | None = DEFAULT_MAX_NODES, title: str | None = None) -> Path:
    """Writes one self-contained HTML page that steps through the backward pass of ``root``.

    The page is `stepper`'s, as a whole document: it loads nothing from anywhere (open it
    from disk, send it by mail), and it is written whole or not at all.

    Args:
        root: the output Value.
        path: where to write the page (``.html``).
        digits, max_nodes, title: as for `stepper`.

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
    >>> 'type="range"' in page and "<script src" not in page
    True
    """
    check_root(root, "save_stepper")
    return stepper(root, digits, max_nodes, title).save(path)
