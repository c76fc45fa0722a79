"""A Neuron, Layer or MLP drawn the way course notes draw perceptrons (`draw_network`).

The computation graph of even a small network has hundreds of values; the notes draw the
network instead: inputs on the left, then each layer's neurons in order, each with its weights,
bias and activation (and, after ``backward``, the gradients backprop left on them).  Each
neuron lists its weights, one row per incoming edge, and each edge ends at its weight's row:
written on the edges, a dozen numbers where many edges cross overlap past reading.  (A
network too big to list its weights is drawn with circles, the numbers shown on hover.)  This
is that picture, in the colours of the computation graphs, written as DOT by `microgrant.viz.dot`'s
helpers and laid out by `microgrant.viz.render`.  This module reads the models itself:
`microgrant.nn`'s Neuron, Layer, MLP, Linear, Dense and Sequential (each Linear or Dense with
the activation module after it), and any object shaped like micrograd's (a neuron has weights
``w`` and a bias ``b``, a layer ``neurons``, an MLP ``layers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checks import count
from ..engine import Value
from ..labels import group_of, is_bias, neuron_group
from ..nn import Activation, Linear, Sequential
from .dot import MUTED, OP_FILL, STYLE, Html, attributes, html
from .render import Drawing
from .text import check_digits, format_number
from .trace import DEFAULT_MAX_NODES

__all__ = ["draw_network", "network_layers", "LABELLED_EDGES", "LISTED_WEIGHTS"]

LABELLED_EDGES = 400
"""Above this many weights a network picture leaves the numbers off its edges (hover shows
them): thousands of labels are unreadable, and each one costs Graphviz layout time."""

LISTED_WEIGHTS = 16
"""The most weights a neuron lists in its picture (more: the numbers are left off, as above)."""


def _is_neuron(obj: Any) -> bool:
    w, b = getattr(obj, "w", None), getattr(obj, "b", None)
    return (isinstance(b, Value) and isinstance(w, (list, tuple)) and len(w) > 0
            and all(isinstance(v, Value) for v in w))


def _is_layer(obj: Any) -> bool:
    neurons = getattr(obj, "neurons", None)
    return isinstance(neurons, (list, tuple)) and len(neurons) > 0 and \
        all(_is_neuron(n) for n in neurons)


def _activation_name(obj: Any) -> str:
    act = getattr(obj, "activation", None)
    if isinstance(act, str):
        return act
    if callable(act):
        return getattr(act, "__name__", type(act).__name__)
    nonlin = getattr(obj, "nonlin", None)  # micrograd's Neuron: relu or nothing
    if isinstance(nonlin, bool):
        return "relu" if nonlin else "linear"
    return ""


def _neuron_name(neuron: Any, k: int, j: int, alone: bool) -> str:
    """``L2.n1``: the name `microgrant.nn` gives the neuron's parameters, or its place."""
    label = getattr(neuron.b, "label", "")
    group = group_of(label) if isinstance(label, str) and is_bias(label) else None
    if group:
        return group
    return "neuron" if alone else neuron_group(k + 1, j + 1)


def _in_order(ids: list[str], indent: str) -> list[str]:
    """Keeps ``ids`` top to bottom in this order (invisible edges within one rank)."""
    if len(ids) < 2:
        return []
    return [f'{indent}{{ rank="same"; {" -> ".join(ids)} [style="invis"]; }}']


@dataclass(frozen=True)
class _Unit:
    """One output of a Linear or Dense layer read as a neuron: its weights, bias, activation.

    A layer without bias gets a constant 0 bias, drawn as ``b 0``.
    """

    w: list
    b: Value
    activation: str


def _no_bias(neuron: Any) -> bool:
    """A Linear layer made with ``bias=False``: its constant 0 is no parameter."""
    return isinstance(neuron, _Unit) and not neuron.b.requires_grad


def _linear_units(layer: Linear, activation: str) -> list[_Unit]:
    if layer.weight is None:
        raise ValueError(f"draw_network cannot draw {layer!r} yet: it has no weights until its "
                         "first call (or build(n_inputs))")
    biases = layer.bias or [Value(0.0, requires_grad=False) for _ in layer.weight]
    return [_Unit(list(row), b, activation) for row, b in zip(layer.weight, biases)]


def _sequential_layers(model: Sequential) -> list[tuple[list, str]]:
    """Each Linear or Dense (or Layer) of ``model``, with the activation module after it."""
    layers: list[tuple[list, str]] = []
    for k, m in enumerate(model):
        if isinstance(m, Activation) and layers and layers[-1][1] == "linear":
            units = [_Unit(list(u.w), u.b, m.activation) for u in layers[-1][0]]
            layers[-1] = (units, m.activation)
        elif isinstance(m, Linear):
            layers.append((_linear_units(m, m.activation), m.activation))
        elif _is_layer(m):
            layers.append((list(m.neurons), _activation_name(m)))
        else:
            raise TypeError(f"draw_network draws a Sequential of Linear or Dense layers, each "
                            f"followed by at most one activation module; module {k} "
                            f"({type(m).__name__}) does not fit that picture")
    if not layers:
        raise TypeError("draw_network needs at least one layer with weights; this Sequential "
                        "has none")
    return layers


def network_layers(model: Any) -> list[tuple[list, str]]:
    """The model read as the notes draw it: (neurons, the layer's activation) per layer.

    Each neuron has ``w`` (its weights, Values) and ``b`` (its bias: a Value, a constant 0
    for a layer without bias).  Reads `microgrant.nn`'s Neuron, Layer, MLP, Linear, Dense
    and Sequential (each Linear or Dense with the activation module after it) and anything
    shaped like micrograd's models.

    >>> from microgrant.nn import Linear, ReLU, Sequential
    >>> [(len(neurons), act) for neurons, act in
    ...  network_layers(Sequential(Linear(2, 3, seed=0), ReLU(), Linear(3, 1, seed=0)))]
    [(3, 'relu'), (1, 'linear')]
    """
    if isinstance(model, Sequential):
        return _sequential_layers(model)
    if isinstance(model, Linear):
        return [(_linear_units(model, model.activation), model.activation)]
    if _is_neuron(model):
        return [([model], _activation_name(model))]
    if _is_layer(model):
        return [(list(model.neurons), _activation_name(model))]
    layers = getattr(model, "layers", None)
    if isinstance(layers, (list, tuple)) and layers and all(_is_layer(x) for x in layers):
        return [(list(x.neurons), _activation_name(x)) for x in layers]
    raise TypeError(f"draw_network needs a Neuron, a Layer or an MLP, a Linear or Dense layer, or "
                    f"a Sequential of them (or an object with weights `w` and bias `b`, with "
                    f"`neurons`, or with `layers`); got {type(model).__name__}")


class _Numbers:
    """How the picture writes a weight or bias: its number and, when shown, its grad."""

    def __init__(self, digits: int, grads: bool):
        self.digits, self.grads = digits, grads

    def cell(self, v: Value, what: str) -> str:
        text = f"{html(what)} {format_number(v.data, self.digits)}"
        if self.grads and v.grad is not None:
            text += (f'<br/><font color="{MUTED}">grad {html(what)} '
                     f"{format_number(v.grad, self.digits)}</font>")
        return text

    def tip(self, v: Value, what: str) -> str:
        text = f"{what} = {format_number(v.data, self.digits)}"
        if self.grads and v.grad is not None:
            text += f"; its grad (d loss / d {what}) = {format_number(v.grad, self.digits)}"
        return text


def _sizes(layers: list[tuple[list, str]], max_nodes: int | None) -> list[int]:
    """Inputs, then neurons per layer, checked: each neuron has one weight per value in."""
    if max_nodes is not None:
        count(max_nodes, "max_nodes")
    sizes = [len(layers[0][0][0].w)] + [len(neurons) for neurons, _ in layers]
    if max_nodes is not None and sum(sizes) > max_nodes:
        raise ValueError(f"this network has {sum(sizes)} inputs and neurons, more than "
                         f"max_nodes={max_nodes}; Graphviz would take very long. Pass "
                         f"max_nodes=None (or a bigger number) to draw it anyway")
    for k, (neurons, _) in enumerate(layers):
        for neuron in neurons:
            if len(neuron.w) != sizes[k]:
                raise ValueError(f"layer {k + 1} has a neuron with {len(neuron.w)} weights, "
                                 f"but {sizes[k]} values feed it")
    return sizes


def draw_network(model: Any, digits: int = 3, grads: bool | None = None,
                 max_nodes: int | None = DEFAULT_MAX_NODES) -> Drawing:
    """A network drawn as the notes draw perceptrons.

    Inputs on the left, then each layer's neurons top to bottom in order, each named as
    `microgrant.nn` names its parameters (``L2.n1``) and listing its activation, its weights
    (``w1`` on the row the edge from the first input ends at) and its bias.  Gradients are
    added when there are any (after ``backward``), each marked ``grad``.

    Args:
        model: a `microgrant.nn` Neuron, Layer, MLP, Linear, Dense (after its first call) or
            Sequential of those and activation modules (or anything shaped like micrograd's:
            a neuron has weights ``w`` and bias ``b``, a layer ``neurons``, an MLP ``layers``).
        digits: significant digits for weights, biases and gradients.
        grads: show gradients: True, False, or None to show them when any is non-zero.
        max_nodes: the most inputs plus neurons to draw; a bigger network raises a ValueError
            (pass None to draw it anyway).

    >>> from microgrant.nn import Neuron
    >>> n = Neuron(2, activation="tanh", seed=0)
    >>> print(draw_network(n).source)  # doctest: +ELLIPSIS
    digraph network {
    ...
      x1 -> l1n1:w1:w [id="x1_l1n1", tooltip="x1 to neuron: w1 = 0.274"];
    ...
    """
    layers = network_layers(model)
    check_digits(digits)
    sizes = _sizes(layers, max_nodes)
    params = [p for neurons, _ in layers for n in neurons for p in (*n.w, n.b)]
    numbers = _Numbers(digits, any(p.grad for p in params) if grads is None else grads)
    weights = sum(sizes[k] * sizes[k + 1] for k in range(len(sizes) - 1))
    labelled = weights <= LABELLED_EDGES and max(sizes[:-1]) <= LISTED_WEIGHTS
    lines = _input_lines(sizes[0])
    previous = [f"x{i + 1}" for i in range(sizes[0])]
    tails = list(previous)  # where an edge out of each value of the previous layer starts
    shown = list(previous)  # and what a tooltip calls it
    for k, (neurons, layer_act) in enumerate(layers):
        current, names = _layer_lines(lines, k, neurons, layer_act, len(layers), numbers,
                                      labelled)
        for j, neuron in enumerate(neurons):
            for i, (source, tail, w) in enumerate(zip(previous, tails, neuron.w)):
                pairs = [("id", f"{source}_{current[j]}"),
                         ("tooltip", f"{shown[i]} to {names[j]}: {numbers.tip(w, f'w{i + 1}')}")]
                head = f"{current[j]}:w{i + 1}:w" if labelled else current[j]
                lines.append(f"  {tail} -> {head} [{attributes(pairs)}];")
        previous, shown = current, names
        tails = [f"{c}:out:e" if labelled else c for c in current]
    _output_lines(lines, previous, tails)
    if not labelled:
        note = Html(f"{weights:,} weights: hover an edge for its weight (numbers for more "
                    f"than {LABELLED_EDGES} weights, or more than {LISTED_WEIGHTS} per neuron, "
                    "would be unreadable)")
        lines.append("  note [" + attributes([("id", "note"), ("shape", "note"),
                                              ("fontsize", "10"), ("label", note)]) + "];")
    lines.append("}")
    return Drawing("\n".join(lines) + "\n")


def _input_lines(n_inputs: int) -> list[str]:
    """The graph's settings and the inputs, ``x1`` to ``xn``, in their own box."""
    lines = ["digraph network {",
             "  graph [" + attributes([("rankdir", "LR"), ("fontname", "Helvetica"),
                                       ("ranksep", "1.2"), ("nodesep", "0.3"),
                                       ("tooltip", " ")]) + "];",
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="9", arrowsize="0.6"];',
             "  subgraph cluster_inputs {",
             '    label="inputs"; color="#bbbbbb"; fontsize="10";']
    names = [f"x{i + 1}" for i in range(n_inputs)]
    for name in names:
        lines.append(f"    {name} [" + attributes([
            ("id", name), ("shape", "circle"), ("style", "filled"),
            ("fillcolor", STYLE["leaf"][0]), ("label", Html(name))]) + "];")
    lines += _in_order(names, "    ")
    lines.append("  }")
    return lines


def _layer_lines(lines: list[str], k: int, neurons: list, layer_act: str, n_layers: int,
                 numbers: _Numbers, labelled: bool) -> tuple[list[str], list[str]]:
    """Adds layer ``k``'s box of neurons to ``lines``; returns their node ids and names."""
    title = "output layer" if k == n_layers - 1 else f"hidden layer {k + 1}"
    lines += [f"  subgraph cluster_layer{k + 1} {{",
              f"    label=<{title}: {len(neurons)} {html(layer_act)}>; color=\"#bbbbbb\"; "
              f'fontsize="10";']
    current, names = [], []
    for j, neuron in enumerate(neurons):
        nid = f"l{k + 1}n{j + 1}"
        act = html((layer_act if layer_act == "softmax" else _activation_name(neuron))
                   or "linear")
        name = _neuron_name(neuron, k, j, n_layers == 1 and len(neurons) == 1)
        where = f"layer {k + 1}, neuron {j + 1}"
        if labelled:
            # The weights listed in the neuron, each on the row its edge comes in at:
            # dozens of numbers on crossing edges can never all be read, a list can.
            rows = [f'<tr><td port="out" bgcolor="{OP_FILL}"><b>{html(name)}</b> '
                    f"{act}(Σ w·x + b)</td></tr>"]
            for i, w in enumerate(neuron.w):
                rows.append(f'<tr><td port="w{i + 1}" align="left" balign="left">'
                            f"{numbers.cell(w, f'w{i + 1}')}</td></tr>")
            bias = "no bias" if _no_bias(neuron) else numbers.cell(neuron.b, "b")
            rows.append(f'<tr><td align="left" balign="left">{bias}</td></tr>')
            label = Html('<table border="0" cellborder="1" cellspacing="0" '
                         f'cellpadding="3" bgcolor="#ffffff">{"".join(rows)}</table>')
            pairs = [("id", nid), ("shape", "plain"),
                     ("tooltip", f"{where} ({name}): {numbers.tip(neuron.b, 'b')}"),
                     ("label", label)]
        else:
            label = Html(f"Σ + {numbers.cell(neuron.b, 'b')}<br/><b>{act}</b>")
            pairs = [("id", nid), ("shape", "circle"), ("style", "filled"),
                     ("fillcolor", OP_FILL),
                     ("tooltip", f"{where}: {numbers.tip(neuron.b, 'b')}"), ("label", label)]
        lines.append(f"    {nid} [{attributes(pairs)}];")
        current.append(nid)
        names.append(name)
    lines += _in_order(current, "    ")
    lines.append("  }")
    return current, names


def _output_lines(lines: list[str], previous: list[str], tails: list[str]) -> None:
    """Adds an arrow from each output neuron to its ``ŷ``."""
    for j, (source, tail) in enumerate(zip(previous, tails)):
        out = "ŷ" if len(previous) == 1 else f"ŷ{j + 1}"
        # No margin: the arrow ends at the ŷ, not at an invisible box around it.
        lines.append(f'  y{j + 1} [id="y{j + 1}", shape="plaintext", width="0", height="0", '
                     f'margin="0.02", label=<{out}>];')
        lines.append(f'  {tail} -> y{j + 1} [id="{source}_y{j + 1}"];')
    lines += _in_order([f"y{j + 1}" for j in range(len(previous))], "  ")
