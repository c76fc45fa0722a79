"""The explorer's numbers: a net read as layers of neurons, its recorded weights, its health.

The explorer (`microgrant.viz.explore`) shows a whole net at once, at every recorded epoch.
Its picture needs, per snapshot, every layer's weights as arrays; its heatmaps and health
marks are forward passes over many points, which numpy does from a state_dict in one matrix
product per layer instead of one graph per point.  The chain rule itself is never replayed
here: a neuron's exact chain-rule steps come from the engine, `backward_steps` on one sample's
loss graph (`neuron_steps`), with the snapshot's weights loaded into the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..engine import Value
from ..losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
)
from .steps import backward_steps

__all__ = ["Net", "read_net", "weights_of", "forward", "activate", "LOSSES", "choose_loss",
           "health", "update_ratios", "neuron_steps", "lines_of", "SATURATED", "ACTIVATIONS"]

ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "leaky_relu", "step")
"""The activations the explorer can replay over the input plane (by name)."""

LOSSES: dict[str, Callable] = {
    "hinge": hinge_loss,
    "bce": binary_cross_entropy,
    "bce_logits": binary_cross_entropy_with_logits,
    "mse": mse_loss,
    "cross_entropy": cross_entropy,
}
"""The losses whose per-sample derivative the page knows, by `microgrant.train.LOSSES` name."""

SATURATED = 0.97
"""tanh beyond +-0.97 (sigmoid beyond 0.03 and 0.97) passes on under 6% of its gradient."""


@dataclass(frozen=True)
class Net:
    """A net as the explorer draws it: inputs, then layers of neurons.

    Attributes:
        inputs: how many numbers one sample has.
        layers: each layer's activation name.
        neurons: each layer's neuron names (``L1.n2``).
        keys: each layer's parameter names, per neuron: its weights' state_dict keys, then
            its bias's.
        labels: the same parameters' labels (``L1.n2.w1``).
    """

    inputs: int
    layers: tuple[str, ...]
    neurons: tuple[tuple[str, ...], ...]
    keys: tuple[tuple[tuple[str, ...], ...], ...]
    labels: tuple[tuple[tuple[str, ...], ...], ...]


def _layers_of(model: Any) -> list[tuple[list, str]]:
    """(neurons, activation) per layer of a Neuron, a Layer or an MLP of `microgrant.nn`."""
    if isinstance(getattr(model, "b", None), Value):
        return [([model], getattr(model, "activation", ""))]
    if isinstance(getattr(model, "neurons", None), list):
        return [(model.neurons, getattr(model, "activation", ""))]
    layers = getattr(model, "layers", None)
    if isinstance(layers, list) and layers and all(
            isinstance(getattr(x, "neurons", None), list) for x in layers):
        return [(x.neurons, getattr(x, "activation", "")) for x in layers]
    raise TypeError(f"explore needs a microgrant.nn Neuron, Layer or MLP (layers of neurons "
                    f"with weights w and a bias b); got {type(model).__name__}")


def read_net(model: Any) -> Net:
    """The layers, neuron names and parameter names of ``model``.

    Raises:
        TypeError: ``model`` is not layers of neurons.
        ValueError: an activation the page cannot replay (a function, or softmax).

    >>> from microgrant.nn import MLP
    >>> net = read_net(MLP(2, [3, 1], seed=0))
    >>> net.layers, net.neurons[1], net.keys[1][0]
    (('relu', 'linear'), ('L2.n1',), ('layers.1.neurons.0.w.0', 'layers.1.neurons.0.w.1', \
'layers.1.neurons.0.w.2', 'layers.1.neurons.0.b'))
    """
    named = getattr(model, "named_parameters", None)
    if not callable(named):
        raise TypeError(f"explore needs a microgrant.nn Neuron, Layer or MLP (a Module with "
                        f"named_parameters()); got {type(model).__name__}")
    key_of = {id(p): name for name, p in named()}
    layers, neurons, keys, labels = [], [], [], []
    nin = None
    for k, (units, activation) in enumerate(_layers_of(model)):
        if activation not in ACTIVATIONS:
            raise ValueError(f"explore can draw the activations {', '.join(ACTIVATIONS)}; "
                             f"layer L{k + 1} uses {activation!r} (softmax: train with "
                             f"cross_entropy on a linear output layer instead)")
        nin = len(units[0].w) if nin is None else nin
        layers.append(activation)
        names, layer_keys, layer_labels = [], [], []
        for j, unit in enumerate(units):
            params = [*unit.w, unit.b]
            label = unit.b.label
            names.append(label[:-2] if label.endswith(".b") else f"L{k + 1}.n{j + 1}")
            layer_keys.append(tuple(key_of[id(p)] for p in params))
            layer_labels.append(tuple(p.label or f"{names[-1]}.{i}" for i, p in enumerate(params)))
        neurons.append(tuple(names))
        keys.append(tuple(layer_keys))
        labels.append(tuple(layer_labels))
    return Net(int(nin or 0), tuple(layers), tuple(neurons), tuple(keys), tuple(labels))


def _refuse(net: Net, state: dict, where: str) -> None:
    """Raises the error that says which parameter of ``state`` is missing or not a number."""
    for key in (k for layer in net.keys for neuron in layer for k in neuron):
        if key not in state:
            raise ValueError(f"{where} has no parameter {key!r}: was it recorded from this "
                             f"model?")
        x = state[key]
        if not isinstance(x, (int, float, np.integer, np.floating)):
            raise ValueError(f"{where} holds {key} = {x!r}, not a number (a state_dict maps "
                             f"each parameter's name to a float)")
        if not math.isfinite(x):
            raise ValueError(f"{where} holds {key} = {x!r}, not a finite number; explore the "
                             f"snapshots before training diverged")
    raise ValueError(f"{where} cannot be read as this model's weights")


def weights_of(net: Net, state: dict, where: str = "the state_dict") -> list[tuple]:
    """Each layer's ``(W, b)`` arrays (W: neurons x inputs) read from a state_dict.

    Raises:
        ValueError: a parameter is missing or not a finite number (``where`` says whose).
    """
    try:  # one array for the whole net: a hundred snapshots are read in a blink
        flat = np.array([state[k] for layer in net.keys for neuron in layer for k in neuron])
    except (KeyError, TypeError, ValueError):
        _refuse(net, state, where)
    # Numbers give a number array; a string, None or a list does not.
    if flat.ndim != 1 or flat.dtype.kind not in "fiub":
        _refuse(net, state, where)
    flat = flat.astype(float)
    if not np.all(np.isfinite(flat)):
        _refuse(net, state, where)
    out, start = [], 0
    for layer_keys in net.keys:
        rows, columns = len(layer_keys), len(layer_keys[0])
        table = flat[start:start + rows * columns].reshape(rows, columns)
        start += rows * columns
        out.append((table[:, :-1], table[:, -1]))
    return out


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """The activation ``name`` applied elementwise, as the engine's ops compute it."""
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z; equal to 1 / (1 + e^-z)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "step":
        return (z > 0).astype(float)
    return z


def forward(net: Net, weights: list[tuple], X: np.ndarray) -> list[tuple]:
    """Each layer's ``(z, a)`` for every row of ``X`` (arrays: samples x neurons).

    >>> from microgrant.nn import MLP
    >>> model = MLP(2, [2, 1], seed=0)
    >>> net = read_net(model)
    >>> (z1, a1), (z2, a2) = forward(net, weights_of(net, model.state_dict()), np.ones((1, 2)))
    >>> bool(abs(a2[0, 0] - model([1.0, 1.0]).data) < 1e-12)
    True
    """
    out, a = [], np.asarray(X, dtype=float)
    for activation, (W, b) in zip(net.layers, weights):
        z = a @ W.T + b
        a = activate(activation, z)
        out.append((z, a))
    return out


def choose_loss(net: Net, y: np.ndarray, loss: str | None) -> tuple[str, float | None]:
    """The loss's name and the output value that splits two classes (None: argmax or none).

    Without a name, the labels choose as `microgrant.train.fit` does: -1/+1 hinge, 0/1
    binary cross-entropy (of a logit, or of a sigmoid output), several outputs cross-entropy,
    anything else mean squared error.
    """
    outputs, last = len(net.neurons[-1]), net.layers[-1]
    if loss is None:
        labels = set(np.unique(y).tolist())
        if outputs > 1:
            loss = "cross_entropy"
        elif labels <= {-1.0, 1.0}:
            loss = "hinge"
        elif labels <= {0.0, 1.0}:
            loss = "bce" if last == "sigmoid" else "bce_logits"
        else:
            loss = "mse"
    if loss not in LOSSES:
        raise ValueError(f"explore steps backprop through the losses {', '.join(LOSSES)}; got "
                         f"{loss!r}")
    if (loss == "cross_entropy") != (outputs > 1):
        raise ValueError(f"the loss {loss!r} does not fit a net with {outputs} output(s)")
    if loss == "mse":
        values = np.unique(y)
        return loss, float(values.mean()) if len(values) == 2 else None
    return loss, {"hinge": 0.0, "bce_logits": 0.0, "bce": 0.5}.get(loss)


def health(net: Net, layers: list[tuple]) -> list[list[str]]:
    """Each neuron's state over the samples: ``"dead"``, ``"saturated"`` or ``""``.

    A ReLU that is 0 on every sample passes no gradient to its weights (it is dead); a tanh or
    sigmoid beyond `SATURATED` on at least 90% of the samples passes almost none.
    """
    out = []
    for activation, (z, a) in zip(net.layers, layers):
        flags = []
        for j in range(z.shape[1]):
            if activation == "relu" and np.all(z[:, j] <= 0):
                flags.append("dead")
            elif activation in ("tanh", "sigmoid"):
                edge = np.abs(a[:, j]) if activation == "tanh" else np.abs(2 * a[:, j] - 1)
                flags.append("saturated" if np.mean(edge > SATURATED) >= 0.9 else "")
            else:
                flags.append("")
        out.append(flags)
    return out


def update_ratios(before: list[tuple], after: list[tuple]) -> list[float | None]:
    """Each layer's update-to-data ratio: std(change of W) / std(W), as Karpathy computes it.

    Around 1e-3 is the usual healthy size; far below, the layer barely learns; far above, it
    jumps.  None where the weights have no spread.
    """
    out: list[float | None] = []
    for (w0, _), (w1, _) in zip(before, after):
        spread = float(np.std(w1))
        out.append(float(np.std(w1 - w0)) / spread if spread > 0 else None)
    return out


def _loss_of_sample(model: Any, loss: str, x: list, target: Any) -> Value:
    out = model(x)
    outs = out if isinstance(out, list) else [out]
    if loss == "cross_entropy":
        return LOSSES[loss]([outs], [int(target)])
    return LOSSES[loss](outs, [float(target)])


def _sample_steps(root: Value, outputs: dict, digits: int) -> dict:
    """One sample's steps, each written once, and which of them each neuron reads."""
    steps = backward_steps(root, digits=digits)
    texts = [s.equation for s in steps]
    per: dict = {name: {"from": [], "own": []} for name in outputs.values()}
    for n, step in enumerate(steps):
        owner = step.node.label.rsplit(".", 1)[0] if step.node.label.count(".") == 2 else ""
        if owner in per:
            per[owner]["own"].append(n)
        for line_no, line in enumerate(texts[n].splitlines()):
            target = line.split(" +=", 1)[0].rsplit("/d", 1)[-1] if " +=" in line else ""
            if target in outputs and outputs[target] != owner:
                per[outputs[target]]["from"].append([n, line_no])
    return {"steps": texts, "neurons": per}


def neuron_steps(model: Any, net: Net, state: dict, X: np.ndarray, y: np.ndarray, loss: str,
                 samples: list[int], digits: int = 4) -> dict:
    """The engine's chain-rule steps, and which belong to each neuron, for each of ``samples``.

    For each sample, its loss graph is built with ``state``'s weights loaded into ``model``
    (and the model's own weights put back after) and `backward_steps` run on it.  Each neuron
    reads the lines that pass a gradient to its output (where its gradient comes from), then
    its own steps (activation, then weighted sum), as the engine's explanation words them;
    `lines_of` puts them together.

    Returns:
        ``{sample: {"steps": [equation, ...], "neurons": {name: {"from": [[step, line],
        ...], "own": [step, ...]}}}}``.
    """
    outputs = {f"{name}.{'z' if layer == 'linear' else 'a'}": name
               for layer, names in zip(net.layers, net.neurons) for name in names}
    kept = model.state_dict()
    try:
        model.load_state_dict(state)
        return {i: _sample_steps(_loss_of_sample(model, loss, [float(v) for v in X[i]], y[i]),
                                 outputs, digits) for i in samples}
    finally:
        model.load_state_dict(kept)


def lines_of(sample_steps: dict, neuron: str) -> list[str]:
    """A neuron's chain-rule lines from `neuron_steps`' record of one sample.

    Raises:
        KeyError: no such neuron.
    """
    steps, per = sample_steps["steps"], sample_steps["neurons"][neuron]
    lines = [steps[n].splitlines()[k].strip() for n, k in per["from"]]
    return lines + [line for n in per["own"] for line in steps[n].splitlines()]
