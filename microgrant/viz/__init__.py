"""Seeing backprop: the forward and backward graphs, drawn, explained and stepped through.

Backprop is easiest to believe when every number is on the page.  This package shows a
computation graph several ways:

* as a picture (`to_dot` gives DOT text; `draw` lays it out as SVG or PNG).  The *forward*
  view shows each value and the op that made it; the *backward* view adds every gradient and,
  on each edge, the op's local derivative and what it contributed: ``local × upstream grad``;
  the *collapsed* view draws each neuron of a net as one node;
* as a list of chain-rule steps (`backward_steps`), one per op node, in the order backprop
  visits them, each with its numbers, each drawable with its edges highlighted;
* as text (`explain`), and as a page that steps through the backward pass (`stepper`, which
  shows itself in Jupyter, and `save_stepper`);
* `draw_network` draws a Neuron, Layer or MLP the way course notes draw perceptrons.

The modules are the pipeline, data flowing one way: `trace` (the graph numbered, its one
replay of the chain rule, and whether it is stale) -> `structure` (what a net's labels say:
neurons, layers, samples, inputs) -> `text` (numbers, names, equations) -> `quoting` (the one
way text gets into DOT; colours) -> `layout` (direction, size, columns) -> `collapsed` (one
node per neuron) and `dot` (the forward and backward views) -> `render` (Graphviz,
`Drawing`) -> `steps` (drawable steps) -> `stepper` (the page); `network` draws models.  The
label grammar itself is `microgrant.labels`'.  Import everything from here:
``from microgrant import viz; viz.draw(...)``.

>>> from microgrant import Value
>>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
>>> c = a * b; c.label = "c"
>>> print(explain(c).splitlines()[-2])
  dc/da = -3
"""

from .dot import VIEWS, to_dot
from .explore import Explorer, explore
from .network import draw_network
from .render import FORMATS, Drawing, RenderError, draw, draw_dot
from .stepper import Stepper, save_stepper, stepper
from .steps import BackwardStep, backward_steps
from .text import explain, format_number
from .trace import DEFAULT_MAX_NODES

__all__ = ["format_number", "to_dot", "draw", "draw_dot", "Drawing", "backward_steps",
           "BackwardStep", "explain", "stepper", "Stepper", "save_stepper", "draw_network",
           "RenderError", "VIEWS", "FORMATS", "DEFAULT_MAX_NODES", "explore", "Explorer"]
