"""A Neuron, Layer or MLP drawn the way course notes draw perceptrons (`draw_network`).

The computation graph of even a small network has hundreds of values; the notes draw the
network instead: inputs on the left, then each layer's neurons in order, each with its weights,
bias and activation (and, after ``backward``, the gradients backprop left on them).  Each
neuron lists its weights, one row per incoming edge, and each edge ends at its weight's row:
written on the edges, a dozen numbers where many edges cross overlap past reading.  (A
network too big to list its weights is drawn with circles, the numbers shown on hover.)  This
is that picture, in the colours of the computation graphs, written as DOT by `microgrant.viz.dot`'s
helpers and laid out by `microgrant.viz.render`.  Any object shaped like a `microgrant.nn`
model will do: a neuron has weights ``w`` and a bias ``b`` (Values), a layer ``neurons``, an
MLP ``layers``.
"""

from __future__ import annotations

from typing import Any

from ..checks import count
from ..engine import Value
from ..labels import group_of, is_bias, neuron_group
from .dot import MUTED, OP_FILL, STYLE, Html, attributes, html
from .render import Drawing
from .text import check_digits, format_number
from .trace import DEFAULT_MAX_NODES

__all__ = ["draw_network", "LABELLED_EDGES", "LISTED_WEIGHTS"]

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


def _model_layers(model: Any) -> list[tuple[list, str]]:
    """(neurons, layer activation) for each layer of a Neuron, a Layer or an MLP."""
    if _is_neuron(model):
        return [([model], _activation_name(model))]
    if _is_layer(model):
        return [(list(model.neurons), _activation_name(model))]
    layers = getattr(model, "layers", None)
    if isinstance(layers, (list, tuple)) and layers and all(_is_layer(x) for x in layers):
        return [(list(x.neurons), _activation_name(x)) for x in layers]
    raise TypeError(f"draw_network needs a Neuron, a Layer or an MLP (an object with weights "
                    f"`w` and bias `b`, with `neurons`, or with `layers`); got "
                    f"{type(model).__name__}")


def draw_network(model: Any, digits: int = 3, grads: bool | None = None,
                 max_nodes: int | None = DEFAULT_MAX_NODES) -> Drawing:
    """A Neuron, Layer or MLP drawn as the notes draw perceptrons.

    Inputs on the left, then each layer's neurons top to bottom in order, each named as
    `microgrant.nn` names its parameters (``L2.n1``) and listing its activation, its weights
    (``w1`` on the row the edge from the first input ends at) and its bias.  Gradients are
    added when there are any (after ``backward``), each marked ``grad``.

    Args:
        model: a `microgrant.nn` Neuron, Layer or MLP (or anything shaped like one: a neuron
            has weights ``w`` and bias ``b``, a layer ``neurons``, an MLP ``layers``).
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
    layers = _model_layers(model)
    check_digits(digits)
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
    params = [p for neurons, _ in layers for n in neurons for p in (*n.w, n.b)]
    if grads is None:
        grads = any(p.grad for p in params)
    weights = sum(sizes[k] * sizes[k + 1] for k in range(len(sizes) - 1))
    labelled = weights <= LABELLED_EDGES and max(sizes[:-1]) <= LISTED_WEIGHTS

    def number(v: Value, what: str) -> str:
        text = f"{html(what)} {format_number(v.data, digits)}"
        if grads and v.grad is not None:
            text += (f'<br/><font color="{MUTED}">grad {html(what)} '
                     f"{format_number(v.grad, digits)}</font>")
        return text

    def tip(v: Value, what: str) -> str:
        text = f"{what} = {format_number(v.data, digits)}"
        if grads and v.grad is not None:
            text += f"; its grad (d loss / d {what}) = {format_number(v.grad, digits)}"
        return text

    lines = ["digraph network {",
             "  graph [" + attributes([("rankdir", "LR"), ("fontname", "Helvetica"),
                                       ("ranksep", "1.2"), ("nodesep", "0.3"),
                                       ("tooltip", " ")]) + "];",
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="9", arrowsize="0.6"];',
             "  subgraph cluster_inputs {",
             '    label="inputs"; color="#bbbbbb"; fontsize="10";']
    previous = [f"x{i + 1}" for i in range(sizes[0])]
    for name in previous:
        lines.append(f"    {name} [" + attributes([
            ("id", name), ("shape", "circle"), ("style", "filled"),
            ("fillcolor", STYLE["leaf"][0]), ("label", Html(name))]) + "];")
    lines += _in_order(previous, "    ")
    lines.append("  }")
    tails = list(previous)  # where an edge out of each value of the previous layer starts
    shown = list(previous)  # and what a tooltip calls it
    for k, (neurons, layer_act) in enumerate(layers):
        last = k == len(layers) - 1
        title = "output layer" if last else f"hidden layer {k + 1}"
        lines += [f"  subgraph cluster_layer{k + 1} {{",
                  f"    label=<{title}: {len(neurons)} {html(layer_act)}>; color=\"#bbbbbb\"; "
                  f'fontsize="10";']
        current, names = [], []
        for j, neuron in enumerate(neurons):
            nid = f"l{k + 1}n{j + 1}"
            act = html((layer_act if layer_act == "softmax" else _activation_name(neuron))
                       or "linear")
            name = _neuron_name(neuron, k, j, len(layers) == 1 and len(neurons) == 1)
            where = f"layer {k + 1}, neuron {j + 1}"
            if labelled:
                # The weights listed in the neuron, each on the row its edge comes in at:
                # dozens of numbers on crossing edges can never all be read, a list can.
                rows = [f'<tr><td port="out" bgcolor="{OP_FILL}"><b>{html(name)}</b> '
                        f"{act}(Σ w·x + b)</td></tr>"]
                for i, w in enumerate(neuron.w):
                    rows.append(f'<tr><td port="w{i + 1}" align="left" balign="left">'
                                f"{number(w, f'w{i + 1}')}</td></tr>")
                rows.append(f'<tr><td align="left" balign="left">{number(neuron.b, "b")}'
                            "</td></tr>")
                label = Html('<table border="0" cellborder="1" cellspacing="0" '
                             f'cellpadding="3" bgcolor="#ffffff">{"".join(rows)}</table>')
                pairs = [("id", nid), ("shape", "plain"),
                         ("tooltip", f"{where} ({name}): {tip(neuron.b, 'b')}"),
                         ("label", label)]
            else:
                label = Html(f"Σ + {number(neuron.b, 'b')}<br/><b>{act}</b>")
                pairs = [("id", nid), ("shape", "circle"), ("style", "filled"),
                         ("fillcolor", OP_FILL),
                         ("tooltip", f"{where}: {tip(neuron.b, 'b')}"), ("label", label)]
            lines.append(f"    {nid} [{attributes(pairs)}];")
            current.append(nid)
            names.append(name)
        lines += _in_order(current, "    ")
        lines.append("  }")
        for j, neuron in enumerate(neurons):
            for i, (source, tail, w) in enumerate(zip(previous, tails, neuron.w)):
                pairs = [("id", f"{source}_{current[j]}"),
                         ("tooltip", f"{shown[i]} to {names[j]}: {tip(w, f'w{i + 1}')}")]
                head = f"{current[j]}:w{i + 1}:w" if labelled else current[j]
                lines.append(f"  {tail} -> {head} [{attributes(pairs)}];")
        previous, shown = current, names
        tails = [f"{c}:out:e" if labelled else c for c in current]
    for j, (source, tail) in enumerate(zip(previous, tails)):
        out = "ŷ" if len(previous) == 1 else f"ŷ{j + 1}"
        # No margin: the arrow ends at the ŷ, not at an invisible box around it.
        lines.append(f'  y{j + 1} [id="y{j + 1}", shape="plaintext", width="0", height="0", '
                     f'margin="0.02", label=<{out}>];')
        lines.append(f'  {tail} -> y{j + 1} [id="{source}_y{j + 1}"];')
    lines += _in_order([f"y{j + 1}" for j in range(len(previous))], "  ")
    if not labelled:
        lines.append("  " + f"note [{attributes([('id', 'note'), ('shape', 'note'), ('fontsize', '10'), ('label', Html(f'{weights:,} weights: hover an edge for its weight (numbers for more than {LABELLED_EDGES} weights, or more than {LISTED_WEIGHTS} per neuron, would be unreadable)'))])}];")  # noqa: E501
    lines.append("}")
    return Drawing("\n".join(lines) + "\n")
