"""A Neuron, Layer or MLP drawn the way course notes draw perceptrons (`draw_network`).

The computation graph of even a small network has hundreds of values; the notes draw the
network instead: inputs on the left, each neuron a circle with its bias and activation, each
edge carrying its weight (and, after ``backward``, its gradient).  This is that picture, in
the same colours as the computation graphs.  Any object shaped like a `microgrant.nn` model
will do: a neuron has weights ``w`` and a bias ``b`` (Values), a layer ``neurons``, an MLP
``layers``.
"""

from __future__ import annotations

from ._dot import Drawing, _html
from ._graph import (_MUTED, _OP_FILL, _STYLE, DEFAULT_MAX_NODES, _check_digits,
                     _check_max_nodes, format_number)
from .engine import Value


def _is_neuron(obj) -> bool:
    w, b = getattr(obj, "w", None), getattr(obj, "b", None)
    return (isinstance(b, Value) and isinstance(w, (list, tuple)) and len(w) > 0
            and all(isinstance(v, Value) for v in w))


def _is_layer(obj) -> bool:
    neurons = getattr(obj, "neurons", None)
    return isinstance(neurons, (list, tuple)) and len(neurons) > 0 and \
        all(_is_neuron(n) for n in neurons)


def _activation_name(obj) -> str:
    act = getattr(obj, "activation", None)
    if isinstance(act, str):
        return act
    if callable(act):
        return getattr(act, "__name__", type(act).__name__)
    nonlin = getattr(obj, "nonlin", None)  # micrograd's Neuron: relu or nothing
    if isinstance(nonlin, bool):
        return "relu" if nonlin else "linear"
    return ""


def _model_layers(model) -> list[tuple[list, str]]:
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


def draw_network(model, digits: int = 3, grads: bool | None = None,
                 max_nodes: int | None = DEFAULT_MAX_NODES) -> Drawing:
    """A Neuron, Layer or MLP drawn as the notes draw perceptrons.

    Inputs on the left; each neuron shows its bias and activation; each edge carries its
    weight.  Gradients are added when there are any (after ``backward``).

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
      x1 -> l1n1 [id="x1_l1n1", label=<...>];
    ...
    """
    layers = _model_layers(model)
    _check_digits(digits)
    _check_max_nodes(max_nodes)
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

    def number(v: Value, what: str) -> str:
        text = f"{what} {format_number(v.data, digits)}"
        if grads and v.grad is not None:
            text += f"<br/><font color=\"{_MUTED}\">grad {format_number(v.grad, digits)}</font>"
        return text

    lines = ["digraph network {",
             '  graph [rankdir="LR", fontname="Helvetica", ranksep="1.4", nodesep="0.3", '
             'tooltip=" "];',
             '  node [fontname="Helvetica", fontsize="11"];',
             '  edge [fontname="Helvetica", fontsize="9", arrowsize="0.6"];',
             '  subgraph cluster_inputs {',
             '    label="inputs"; color="#bbbbbb"; fontsize="10";']
    previous = [f"x{i + 1}" for i in range(sizes[0])]
    for name in previous:
        lines.append(f'    {name} [id="{name}", shape="circle", style="filled", '
                     f'fillcolor="{_STYLE["leaf"][0]}", label=<{name}>];')
    lines.append("  }")
    for k, (neurons, layer_act) in enumerate(layers):
        last = k == len(layers) - 1
        title = "output layer" if last else f"hidden layer {k + 1}"
        lines += [f"  subgraph cluster_layer{k + 1} {{",
                  f'    label=<{title}: {len(neurons)} {_html(layer_act)}>; color="#bbbbbb"; '
                  f'fontsize="10";']
        current = []
        for j, neuron in enumerate(neurons):
            nid = f"l{k + 1}n{j + 1}"
            act = layer_act if layer_act == "softmax" else _activation_name(neuron)
            label = f"Σ + {number(neuron.b, 'b')}<br/><b>{_html(act or 'linear')}</b>"
            lines.append(f'    {nid} [id="{nid}", shape="circle", style="filled", '
                         f'fillcolor="{_OP_FILL}", label=<{label}>];')
            current.append(nid)
        lines.append("  }")
        for j, neuron in enumerate(neurons):
            for i, (source, w) in enumerate(zip(previous, neuron.w)):
                lines.append(f'  {source} -> {current[j]} [id="{source}_{current[j]}", '
                             f'label=<{number(w, "w")}>];')
        previous = current
    for j, source in enumerate(previous):
        out = "ŷ" if len(previous) == 1 else f"ŷ{j + 1}"
        lines.append(f'  y{j + 1} [id="y{j + 1}", shape="plaintext", label=<{out}>];')
        lines.append(f'  {source} -> y{j + 1} [id="{source}_y{j + 1}"];')
    lines.append("}")
    return Drawing("\n".join(lines) + "\n")
