"""Backprop as a list of chain-rule steps, each one drawable: `backward_steps` and `BackwardStep`.

The engine's ``backward`` visits the op nodes from the output back to the leaves; at each one
the node's gradient (``upstream``) times each local derivative (``local_grads``) is added to
that input's gradient.  `backward_steps` gives each visit as a `BackwardStep` with every number
kept, its equation written out, and the trace it came from: drawing a step (``step.draw()``, or
showing it in a notebook) reuses that trace, so stepping through N steps traces the graph and
replays backprop once, not N times.  Nothing here touches ``.grad``.
"""

from __future__ import annotations

import html as _html_module
from dataclasses import dataclass, field
from typing import Any

from ..engine import OPS, Op, Value
from .render import Drawing, RenderError, draw, svg_element
from .text import check_digits, display_names, equations
from .trace import Trace, check_root

__all__ = ["BackwardStep", "backward_steps", "steps_of", "picture_img"]


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
        contributions: ``local_grad * upstream`` for each input: what each edge adds
            (``None`` where the input is a constant whose partial does not exist).
        formulas: the op's formula for each input's local derivative.
        grads_after: each input's accumulated gradient once this step is done (``None`` for a
            constant, which takes no gradient).
        equation: the step written out as text, one line per edge.
        root: the output whose backward pass this step belongs to.
        trace: the traced graph the step was read from (drawing the step reuses it).

    >>> from microgrant import Value
    >>> x = Value(3.0, label="x")
    >>> y = x * x; y.label = "y"
    >>> (step,) = backward_steps(y)
    >>> step.local_grads, step.contributions, step.grads_after
    ((3.0, 3.0), (3.0, 3.0), (6.0, 6.0))
    >>> print(step.equation)
    step 1: y = x × x, with dy/dy = 1
      dy/dx += dy/dy * ∂y/∂x = 1 * 3 = 3   [d(a * b)/da = b]
      dy/dx += dy/dy * ∂y/∂x = 1 * 3 = 3, total so far 6   [d(a * b)/db = a]
    """

    index: int
    node: Value = field(repr=False)
    node_id: str
    upstream: float
    inputs: tuple = field(repr=False)
    input_ids: tuple[str, ...]
    local_grads: tuple
    contributions: tuple
    formulas: tuple[str, ...]
    grads_after: tuple
    equation: str = field(repr=False)
    root: Value = field(repr=False)
    trace: Trace = field(repr=False)

    @property
    def op(self) -> Op:
        """The op (from `microgrant.engine.OPS`) this step differentiates.

        >>> from microgrant import Value
        >>> (step,) = backward_steps(Value(0.5).tanh())
        >>> step.op.name, step.op.formula
        ('tanh', 'd tanh(x)/dx = 1 - tanh(x)^2')
        """
        return OPS[self.node.op]

    def highlighted_ids(self) -> list[str]:
        """The ids of the drawing's elements this step touches: node, op, edges, inputs.

        The ids are those of `to_dot`: the op node's value ``n2``, its op ``n2_op``, the edge
        to its value ``n2_out``, the edge from each input ``n2_in0, n2_in1, ...``, and the
        inputs' own ids (once each, even when an input is used twice).

        >>> from microgrant import Value
        >>> x = Value(3.0, label="x")
        >>> (step,) = backward_steps(x * x)
        >>> step.highlighted_ids()
        ['n1', 'n1_op', 'n1_out', 'n1_in0', 'n1_in1', 'n0']
        """
        ids = [self.node_id, f"{self.node_id}_op", f"{self.node_id}_out"]
        ids += [f"{self.node_id}_in{i}" for i in range(len(self.inputs))]
        ids += list(dict.fromkeys(self.input_ids))
        return ids

    def draw(self, **options: Any) -> Drawing:
        """The backward graph with this step's node and edges highlighted (see `draw`).

        Args:
            **options: passed on to `microgrant.viz.draw` (``view`` defaults to
                ``"backward"``).

        >>> from microgrant import Value
        >>> a = Value(2.0, label="a")
        >>> b = a * 3; b.label = "b"
        >>> c = b + 1; c.label = "c"
        >>> step = backward_steps(c)[1]            # b = a × 3, the second step back from c
        >>> drawing = step.draw()
        >>> red = [line.split('"')[1] for line in drawing.source.splitlines()
        ...        if "#d62728" in line]           # the elements drawn in the highlight red
        >>> sorted(red)                            # a is n0, the constant 3 is n1, b is n2
        ['n0', 'n1', 'n2', 'n2_in0', 'n2_in1', 'n2_op', 'n2_out']
        """
        options.setdefault("view", "backward")
        return draw(self.root, highlight=self, **options)

    def _repr_html_(self) -> str:
        """In a notebook: the step's equation above the graph with the step in red.

        Plain HTML that every notebook viewer keeps: the equation in a ``<pre>``, the picture
        as an ``<img>`` (an SVG data URI: sanitizers that strip ``<svg>`` keep it), no script.
        """
        text = (f'<pre style="white-space: pre-wrap; margin: 0 0 6px 0">'
                f"{_html_module.escape(self.equation)}</pre>")
        try:
            picture = picture_img(self.draw().pipe("svg"),
                                  f"the backward graph, step {self.index + 1} in red")
        except RenderError as error:
            picture = f"<pre>{_html_module.escape(str(error))}</pre>"
        return f'<div class="mg-step">{text}{picture}</div>'


# What a data URI in a single-quoted attribute must not hold as it is; the rest of the SVG
# (its quotes, spaces, any letter) stays as it is, so the picture grows by a few percent
# rather than base64's third.
_URI_ESCAPES = str.maketrans({"%": "%25", "#": "%23", "'": "%27", "&": "%26", "<": "%3C",
                              ">": "%3E", "\n": "%0A", "\r": "%0D", "\t": "%09"})


def picture_img(svg: bytes | str, alt: str) -> str:
    """An SVG as an ``<img>`` whose source is the picture itself (a data URI).

    Notebook sanitizers (untrusted JupyterLab and Notebook 7) strip ``<svg>`` elements but
    keep their text, which reads as a soup of labels; they keep an ``<img>`` and its data.

    >>> picture_img("<svg><text>a & b</text></svg>", "a picture")[:68]
    "<img src='data:image/svg+xml;charset=utf-8,%3Csvg%3E%3Ctext%3Ea %26 "
    """
    data = svg_element(svg).translate(_URI_ESCAPES)
    return (f"<img src='data:image/svg+xml;charset=utf-8,{data}' "
            f'alt="{_html_module.escape(alt)}" '
            f'style="max-width: 100%; height: auto; background: #fff">')


def steps_of(trace: Trace, digits: int = 4, names: dict | None = None,
             texts: list[str] | None = None) -> list[BackwardStep]:
    """The `BackwardStep` list of an already-made trace (one replay, shared by every step).

    ``names`` (from `display_names`) and ``texts`` (from `equations`), when the caller has
    them already, are used rather than written again.
    """
    if names is None:
        names = display_names(trace, digits)
    if texts is None:
        texts = equations(trace, names, digits)
    ids = trace.ids
    steps = []
    for chain, text in zip(trace.steps, texts):
        node = chain.node
        g = chain.upstream
        # A constant's edge still has a local derivative where it exists: show what it would
        # contribute, though no gradient flows into a constant.
        contributions = tuple(
            c if c is not None else (d * g if d is not None else None)
            for c, d in zip(chain.contributions, chain.local_grads))
        op = OPS[node.op]
        steps.append(BackwardStep(
            index=chain.index, node=node, node_id=ids[node], upstream=g, inputs=node.inputs,
            input_ids=tuple(ids[x] for x in node.inputs), local_grads=chain.local_grads,
            contributions=contributions,
            formulas=tuple(op.formula_for(i, len(node.inputs)) for i in range(len(node.inputs))),
            grads_after=trace.grads_after(chain.index), equation=text, root=trace.root,
            trace=trace))
    return steps


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
    check_root(root, "backward_steps")
    check_digits(digits)
    return steps_of(Trace(root), digits)
