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

This module is the front door; the work is done in smaller modules, one job each:
``_graph`` (numbers, the numbered graph, shared checks and colours), ``_steps`` (the backward
pass replayed as steps and as text), ``_dot`` (DOT text and the `Drawing`), ``_network``
(network pictures) and ``_stepper_page`` (the stepper page's HTML).  Import everything from
here: ``from microgrant import viz; viz.to_dot(...)``.
"""

from __future__ import annotations

from pathlib import Path

from . import _stepper_page
from ._dot import VIEWS, Drawing, _prepare, _emit, to_dot
from .io import write_atomically
from ._graph import (_STYLE, DEFAULT_MAX_NODES, _check_max_nodes, _check_value, _d, _Graph,
                     _nearest, format_number)
from ._network import draw_network
from ._render import FORMATS, RenderError
from ._steps import BackwardStep, _replay, _reveals, backward_steps, explain
from .engine import Value

__all__ = ["format_number", "to_dot", "draw", "Drawing", "backward_steps", "BackwardStep",
           "explain", "save_stepper", "draw_network", "RenderError", "VIEWS", "FORMATS",
           "DEFAULT_MAX_NODES"]


# ---- drawings -----------------------------------------------------------------------------

def draw(root: Value, view: str = "forward", max_nodes: int | None = DEFAULT_MAX_NODES,
         digits: int = 4, rankdir: str = "LR", highlight: BackwardStep | None = None,
         legend: bool = False) -> Drawing:
    """Draws the graph of ``root``: in a notebook it shows itself; ``.render(path)`` saves it.

    Graphviz takes minutes on thousands of nodes, so a graph of more than ``max_nodes``
    values is drawn in part: the ``max_nodes`` values nearest the output, and a note saying
    how many were left out (``max_nodes=None`` draws everything).

    The backward view's grads are computed from the graph (d root / d value, what one
    ``backward()`` would give), not read from ``.grad``; where a leaf's ``.grad`` differs from
    them (before any backward, or after several without ``zero_grad``) it is shown beside
    them in red, ``.grad 12``, and its tooltip says why.

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
    >>> y.backward(); y.backward()   # x.grad is now twice d tanh(x)/dx
    >>> svg = draw(y, view="backward").pipe("svg").decode()
    >>> "grad 0.7864" in svg, ".grad 1.573" in svg
    (True, True)
    """
    _check_max_nodes(max_nodes)
    graph = _prepare(root, "draw", view, digits, rankdir, highlight)
    return _draw(graph, view, max_nodes, digits, rankdir, highlight, legend)


def _draw(graph: _Graph, view: str, max_nodes: int | None, digits: int, rankdir: str,
          highlight: BackwardStep | None, legend: bool = False,
          mark_grads: bool = False) -> Drawing:
    """`draw` once the arguments are checked and the graph numbered."""
    if max_nodes is None or len(graph.values) <= max_nodes:
        return Drawing(_emit(graph, view, digits, rankdir, highlight, legend=legend,
                             mark_grads=mark_grads))
    keep = _nearest(graph.root, max_nodes)
    source = _emit(graph, view, digits, rankdir, highlight, keep=keep, legend=legend,
                   mark_grads=mark_grads)
    return Drawing(source, omitted=len(graph.values) - len(keep))


# ---- the stepper page ---------------------------------------------------------------------

def save_stepper(root: Value, path, digits: int = 4,
                 max_nodes: int | None = DEFAULT_MAX_NODES, title: str | None = None) -> Path:
    """Writes one self-contained HTML page that steps through the backward pass of ``root``.

    The page shows the backward graph with the current step in red, the step's chain rule as
    text, previous/next buttons, a slider, and arrow-key control.  Numbers appear as backprop
    reaches them: at the start only the output's grad (the seed) shows; an edge's
    ``local × upstream`` label appears at its step, and a value's grad once its last
    contribution is in.  The page opens scrolled to the output, however big the graph.  It
    loads nothing from anywhere: open it from disk, send it by mail.  It is written whole or
    not at all.

    Args:
        root: the output Value.
        path: where to write the page (``.html``).
        digits: significant digits for every number.
        max_nodes: the most values to draw (see `draw`); every step is listed regardless.
        title: the page's heading (default: "Backprop through <root's label>", or
            "Backprop through the output" when it has none).

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
    _check_max_nodes(max_nodes)
    graph = _prepare(root, "save_stepper", "backward", digits, "LR", None)
    drawing = _draw(graph, "backward", max_nodes, digits, "LR", None, mark_grads=True)
    name = graph.names[root]
    r = _d(name)
    if root.grad is None:
        seed = f"{name} is a constant: no gradient flows through it, so there are no steps."
    elif not root.inputs:
        seed = f"{name} is a leaf: d{r}/d{r} = 1, and there is nothing to backpropagate."
    else:
        seed = (f"Backprop starts at the output: d{r}/d{r} = 1 (the seed).\n"
                f"Press Next (or the right arrow) to pass gradients back, one op at a time.")
    replayed = _replay(graph, digits)[0]
    reveals = _reveals(graph, replayed)
    # The seed's first id is the output's: the page scrolls it into view at the start.
    steps = [{"ids": [graph.ids[root]], "text": seed, "reveal": reveals[0]}]
    for step in replayed:
        steps.append({"ids": step.highlighted_ids(), "text": step.equation,
                      "reveal": reveals[step.index + 1]})
    svg = drawing.pipe("svg").decode("utf-8")
    if title is None:
        title = f"Backprop through {root.label or 'the output'}"
    text = _stepper_page.page(title, svg, steps,
                              [(fill, meaning) for fill, meaning in _STYLE.values()])
    return write_atomically(path, text)
