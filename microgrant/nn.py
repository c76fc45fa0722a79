"""Neurons, layers and networks: the weights that backprop exists to train.

A neuron computes ``activation(w . x + b)``.  Every weight and bias is a `Value`, so a forward
pass records the whole network as one graph, and ``loss.backward()`` fills in ``.grad`` on every
parameter; a training step then nudges each parameter against its gradient (`microgrant.optim`).
Every part is a `Module` (`microgrant.module`, importable from here): it finds, names, resets,
saves and loads its parameters, and guards them against being replaced by accident.

Three families of the same idea, so code from each keeps working:

* micrograd's `Neuron`, `Layer` and `MLP`: the same arguments (``Neuron(nin, nonlin=True)``),
  defaults (relu hidden layers, a linear output, uniform(-1, 1) weights drawn from Python's
  `random` unless a seed is given, zero biases) and parameter order, so weights move between
  the two;
* PyTorch's `Linear`, `Sequential` and activation modules (`ReLU`, `Tanh`, `Sigmoid`,
  `LeakyReLU`, `Softmax`), with PyTorch's parameter names (``0.weight.1.0``), and a `Module`
  subclass that defines ``forward``;
* Keras's `Dense(units, activation)`, whose input size is fixed by its first call.

Every parameter, and every value a neuron makes, carries a short label the pictures show:
``L1.n2.w1`` is weight 1 of neuron 2 in layer 1, ``L1.n2.z`` its weighted sum and ``L1.n2.a``
its activation (a label the user set is kept).  The losses live in `microgrant.losses` and are
importable from here too; weights files are `microgrant.io`'s.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence

import numpy as np

from . import checks, labels
from .engine import Value

# `from microgrant.nn import hinge_loss` works, and nn's public names follow losses' own list.
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _LOSS_NAMES
from .losses import softmax
from .module import Module, ParameterList
from .parts import (
    ACTIVATIONS,
    INITS,
    activation_named,
    draw_weights,
    flag,
    init_named,
    micrograd_nonlin,
    one_sample,
    weight_source,
)

__all__ = ["Module", "Neuron", "Layer", "MLP", "Linear", "Dense", "Sequential", "Activation",
           "ReLU", "Tanh", "Sigmoid", "LeakyReLU", "Softmax", "ParameterList",
           "ACTIVATIONS", "INITS", *_LOSS_NAMES]


# ---- Neuron, Layer, MLP (micrograd's shapes) -------------------------------------------------

class Neuron(Module):
    """One unit: ``a = activation(z)`` with ``z = w . x + b``.

    Args:
        nin: number of inputs.
        activation: ``"relu"`` (default, as micrograd), ``"linear"``, ``"step"``,
            ``"sigmoid"``, ``"tanh"``, ``"leaky_relu"``, any function Value -> Value, or
            micrograd's flag: ``True`` (relu) or ``False`` (linear), so ``Neuron(3, False)``
            is linear as in micrograd.
        init: how to draw the weights: ``"uniform"`` in [-1, 1] (micrograd's), ``"normal"``
            (Keras's ``random_normal``: standard deviation 0.05), ``"xavier"`` (Glorot
            uniform), ``"he"`` (Kaiming uniform), or a function
            ``(rng, fan_in, fan_out) -> float``.  Biases start at 0.
        seed: ``None`` draws from Python's `random` module, as micrograd does (so
            ``random.seed(1337)`` repeats micrograd's weights); an int or a numpy Generator
            draws from numpy instead, apart from any global state (`microgrant.checks.rng`).
        nonlin: micrograd's keyword, the same as ``activation=True/False``.
        fan_out: the number of units in this neuron's layer, used by ``"xavier"``.

    Its parameters are labelled ``w1``, ``w2``, ..., ``b``, its weighted sum ``z`` and its
    activation ``a`` (in an MLP: ``L1.n2.w1`` and so on).

    >>> n = Neuron(2, activation="tanh", seed=0)
    >>> n
    Neuron(2 -> tanh)
    >>> n.w[0].data = 0.5; n.w[1].data = -1.0
    >>> out = n([2.0, 1.0])          # tanh(0.5*2 - 1*1 + 0)
    >>> out.data, out.label, out.inputs[0].label
    (0.0, 'a', 'z')
    """

    def __init__(self, nin: int, activation: Any = "relu", init: Any = "uniform",
                 seed: Any = None, *, nonlin: bool | None = None, fan_out: int = 1):
        nin = checks.count(nin, "nin")
        fan_out = checks.count(fan_out, "fan_out")
        self._activation_name, self._act = activation_named(micrograd_nonlin(activation, nonlin),
                                                       allow_softmax=False)
        (row,) = draw_weights(init, seed, nin, fan_out, 1, nin)
        self.w = [Value(v) for v in row]
        self.b = Value(0.0)
        self._prefix = ""
        self._relabel("")

    def _relabel(self, prefix: str) -> None:
        suffixes = [labels.weight(i + 1) for i in range(len(self.w))] + [labels.BIAS]
        _labelled([*self.w, self.b], prefix, self._prefix, suffixes)
        self._prefix = prefix
        # Built once here, so a forward pass pays one attribute store per label, no format.
        self._z, self._a = prefix + labels.SUM, prefix + labels.ACTIVATION

    def forward(self, x) -> Value:
        return self._forward(one_sample(x, len(self.w), self))

    def _forward(self, x: list[Value]) -> Value:
        # One node for z = w·x + b: n products and a sum would be n + 1 nodes, each a Python
        # call in the forward pass, a step in the backward pass and a box in the picture.
        z = Value.dot(self.w, x, self.b)
        z.label = self._z
        if self._act is None:
            return z
        a = self._act(z)
        a.label = self._a
        return a

    @property
    def activation(self) -> str:
        """The activation's name (a function's own name when one was given).

        >>> Neuron(2, seed=0).activation, Neuron(2, False, seed=0).activation
        ('relu', 'linear')
        """
        return self._activation_name

    @property
    def nonlin(self) -> bool:
        """micrograd's flag: True unless the neuron is linear."""
        return self._activation_name != "linear"

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)} -> {self._activation_name})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; calling it returns a list of outputs.

    Unlike micrograd's, a Layer always returns a list, even with one neuron, so code that
    loops over a layer's outputs never meets a bare Value.

    Args:
        nin: number of inputs.
        nout: number of neurons (outputs).
        activation: as for `Neuron`, plus ``"softmax"``, which normalises the layer's linear
            outputs into probabilities.
        init: as for `Neuron`.
        seed: as for `Neuron`; one generator draws every neuron's weights in turn.
        nonlin: micrograd's keyword, as for `Neuron`.

    >>> layer = Layer(3, 2, activation="softmax", seed=0)
    >>> layer
    Layer(3 -> 2 softmax)
    >>> out = layer([1.0, 2.0, 3.0])
    >>> round(sum(p.data for p in out), 12), out[1].label
    (1.0, 'n2.a')
    """

    def __init__(self, nin: int, nout: int, activation: Any = "relu", init: Any = "uniform",
                 seed: Any = None, *, nonlin: bool | None = None):
        nin, nout = checks.count(nin, "nin"), checks.count(nout, "nout")
        activation = micrograd_nonlin(activation, nonlin)
        self._activation_name, _ = activation_named(activation, allow_softmax=True)
        self._softmax = activation == "softmax"
        rng = weight_source(seed)
        neuron_activation = "linear" if self._softmax else activation
        self.neurons = [Neuron(nin, neuron_activation, init, rng, fan_out=nout)
                        for _ in range(nout)]
        self._relabel("")

    def _relabel(self, prefix: str) -> None:
        for j, n in enumerate(self.neurons):
            n._relabel(prefix + labels.neuron(j + 1))

    def forward(self, x) -> list[Value]:
        return self._forward(one_sample(x, len(self.neurons[0].w), self))

    def _forward(self, x: list[Value]) -> list[Value]:
        out = [n._forward(x) for n in self.neurons]
        if self._softmax:
            out = softmax(out)
            for n, a in zip(self.neurons, out):
                a.label = n._a
        return out

    @property
    def nin(self) -> int:
        """Number of inputs."""
        return len(self.neurons[0].w)

    @property
    def nout(self) -> int:
        """Number of neurons (outputs)."""
        return len(self.neurons)

    @property
    def activation(self) -> str:
        """The activation's name: the layer's, even when it is ``"softmax"``.

        A softmax layer's neurons are linear (softmax acts on the layer's outputs together),
        so this can differ from its neurons' own.

        >>> layer = Layer(3, 2, activation="softmax", seed=0)
        >>> layer.activation, layer.neurons[0].activation
        ('softmax', 'linear')
        """
        return self._activation_name

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout} {self._activation_name})"


class MLP(Module):
    """A multi-layer perceptron: layers of neurons, each layer feeding the next.

    Args:
        nin: number of inputs.
        nouts: the number of neurons in each layer, the last being the output layer
            (``[16, 16, 1]``: two hidden layers of 16 and one output).
        activation: the hidden layers' activation (default ``"relu"``, as micrograd).
        output: the output layer's activation (default ``"linear"``, as micrograd); use
            ``"sigmoid"`` for a probability or ``"softmax"`` for class probabilities.
        init: as for `Neuron`.
        seed: as for `Neuron`; one generator draws all the weights, layer by layer.

    Calling it returns a single Value when the last layer has one neuron, else a list.
    Parameters are labelled by layer and neuron, 1-based as the notes write them.

    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model
    MLP(2 -> [16 relu, 16 relu, 1 linear], 337 parameters)
    >>> type(model([1.0, -1.0])).__name__
    'Value'
    >>> name, w = model.named_parameters()[1]
    >>> name, w.label
    ('layers.0.neurons.0.w.1', 'L1.n1.w2')
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: Any = "relu",
                 output: Any = "linear", init: Any = "uniform", seed: Any = None):
        nin = checks.count(nin, "nin")
        if isinstance(nouts, (numbers.Integral, np.integer)):
            raise TypeError(f"nouts must be a list of layer sizes, e.g. [{nouts}]; got the "
                            f"int {nouts!r}")
        nouts = [checks.count(n, "each layer size in nouts") for n in nouts]
        if not nouts:
            raise ValueError("nouts must list at least one layer size (the output layer)")
        activation_named(activation, allow_softmax=True)
        activation_named(output, allow_softmax=True)
        rng = weight_source(seed)
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], output if i == last else activation,
                             init, rng) for i in range(len(nouts))]
        self._relabel("")

    def _relabel(self, prefix: str) -> None:
        for k, layer in enumerate(self.layers):
            layer._relabel(prefix + labels.layer(k + 1))

    def forward(self, x):
        x = one_sample(x, self.layers[0].nin, self)
        for layer in self.layers:
            x = layer._forward(x)
        return x[0] if len(x) == 1 else x

    @property
    def nin(self) -> int:
        """Number of inputs: the first layer's."""
        return self.layers[0].nin

    def __repr__(self) -> str:
        layers = ", ".join(f"{layer.nout} {layer.activation}" for layer in self.layers)
        return f"MLP({self.nin} -> [{layers}], {len(self.parameters())} parameters)"


# ---- Linear, Dense, activation modules, Sequential (PyTorch's and Keras's shapes) -----------

class Linear(Module):
    """``z = W x + b``: ``out_features`` weighted sums of ``in_features`` inputs (PyTorch's).

    Args:
        in_features: number of inputs.
        out_features: number of outputs.
        bias: whether each output adds a bias.
        init, seed: as for `Neuron` (micrograd's uniform weights by default; biases 0).

    ``weight[j][i]`` multiplies input ``i`` into output ``j`` (PyTorch's layout, so the state
    dict names ``weight.j.i`` and ``bias.j`` map onto ``torch.nn.Linear``).  Calling it on one
    sample returns a list of ``out_features`` Values.

    >>> lin = Linear(2, 3, seed=0)
    >>> lin
    Linear(in_features=2, out_features=3, bias=True)
    >>> [name for name, _ in lin.named_parameters()][:3], lin.weight[1][0].label
    (['weight.0.0', 'weight.0.1', 'weight.1.0'], 'n2.w1')
    >>> len(lin([1.0, 2.0]))
    3
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: Any = "uniform", seed: Any = None):
        self._out = checks.count(out_features, "out_features")
        self._has_bias = flag(bias, "bias")
        self._init, self._rng, self._prefix = init, weight_source(seed), ""
        self._activation_name = "linear"
        self._act: Callable | None = None
        init_named(init)  # an unknown name is refused now, not at the first call
        # None until built, as PyTorch's `bias` is None without a bias.
        self.weight: list | None = None
        self.bias: list | None = None
        if in_features is not None:
            self.build(in_features)

    def build(self, in_features: int) -> None:
        """Makes the weights for ``in_features`` inputs (a Dense layer's first call does it)."""
        if self.weight is not None:
            raise ValueError(f"{self!r} is built already")
        n_in = checks.count(in_features, "in_features")
        rows = draw_weights(self._init, self._rng, n_in, self._out, self._out, n_in)
        self.weight = [[Value(v) for v in row] for row in rows]
        if self._has_bias:
            self.bias = [Value(0.0) for _ in range(self._out)]
        self._relabel(self._prefix, built=True)

    def _relabel(self, prefix: str, built: bool = False) -> None:
        old, self._prefix = ("" if built else self._prefix), prefix
        for j, row in enumerate(self.weight or ()):
            n = labels.neuron(j + 1)
            _labelled(row, prefix, old, [n + labels.weight(i + 1) for i in range(len(row))])
            if self.bias is not None:
                _labelled([self.bias[j]], prefix, old, [n + labels.BIAS])
        self._z = [prefix + labels.neuron(j + 1) + labels.SUM for j in range(self._out)]
        self._a = [prefix + labels.neuron(j + 1) + labels.ACTIVATION for j in range(self._out)]

    def forward(self, x) -> list[Value]:
        x = one_sample(x, self.in_features, self)
        if self.in_features is None:
            self.build(len(x))
        return self._forward(x)

    def _forward(self, x: list[Value]) -> list[Value]:
        biases = self.bias or [None] * self._out
        out = []
        for row, b, z_label, a_label in zip(self.weight or (), biases, self._z, self._a):
            z = Value.dot(row, x, b)  # z = w·x + b, one node (see Neuron)
            z.label = z_label
            if self._act is not None:
                z = self._act(z)
                z.label = a_label
            out.append(z)
        if self._activation_name == "softmax":
            out = softmax(out)
            for a, label in zip(out, self._a):
                a.label = label
        return out

    @property
    def in_features(self) -> int | None:
        """Number of inputs (``None`` for a Dense layer not yet called)."""
        return len(self.weight[0]) if self.weight else None

    @property
    def out_features(self) -> int:
        """Number of outputs."""
        return self._out

    @property
    def activation(self) -> str:
        """The activation's name: ``"linear"`` for a Linear layer."""
        return self._activation_name

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self._out}, "
                f"bias={self.bias is not None})")


class Dense(Linear):
    """Keras's dense layer: ``activation(x W + b)`` with ``units`` outputs.

    Its input size is fixed by its first call (or by ``build(n)``), as in Keras: until then
    it has no weights, so ``parameters()`` is empty; build it (or call it once) before
    handing its parameters to an optimiser.  The weights are stored as `Linear`'s (one row
    per unit), so ``x W`` of the notes is ``weight[j] . x`` for unit ``j``.

    Args:
        units: number of outputs.
        activation: ``None`` (linear, Keras's default), a name from `ACTIVATIONS`
            (``"sigmoid"``, ``"softmax"``, ...) or a function Value -> Value.
        use_bias: whether each unit adds a bias.
        init, seed: as for `Neuron`.

    >>> layer = Dense(2, activation="sigmoid", seed=0)
    >>> layer.parameters()
    []
    >>> [round(a.data, 3) for a in layer([0.0, 0.0, 0.0])], len(layer.parameters())
    ([0.5, 0.5], 8)
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 init: Any = "uniform", seed: Any = None):
        units = checks.count(units, "units")
        super().__init__(None, units, use_bias, init, seed)  # type: ignore[arg-type]
        self._activation_name, self._act = activation_named(activation, allow_softmax=True)

    @property
    def units(self) -> int:
        """Number of outputs (Keras's name for ``out_features``)."""
        return self._out

    def __repr__(self) -> str:
        size = "" if self.in_features is None else f", input size {self.in_features}"
        return f"Dense({self._out}, activation={self._activation_name!r}{size})"


class Activation(Module):
    """An activation as a module: applies ``activation`` to each input of a sample.

    Args:
        activation: a name from `ACTIVATIONS` or a function Value -> Value.  ``"softmax"``
            normalises the whole sample instead.

    It has no parameters.  `ReLU`, `Tanh`, `Sigmoid`, `LeakyReLU` and `Softmax` are PyTorch's
    names for the common ones.

    >>> Activation("step")([-1.0, 2.0])
    [Value(data=0.0, grad=None), Value(data=1.0, grad=None)]
    """

    def __init__(self, activation: Any = "relu"):
        self._activation_name, self._act = activation_named(activation, allow_softmax=True)
        self._labels: list[str] = []
        self._prefix = ""

    def _relabel(self, prefix: str) -> None:
        self._prefix, self._labels = prefix, []

    def forward(self, x):
        if isinstance(x, Value):
            return self.forward([x])[0]
        x = one_sample(x, None, self)
        if self._activation_name == "softmax":
            out = softmax(x)
        elif self._act is None:
            return x
        else:
            out = [*map(self._act, x)]
        if self._prefix:
            # Labels are made once per output position and kept for the next calls.
            while len(self._labels) < len(out):
                self._labels.append(self._prefix + labels.neuron(len(self._labels) + 1) +
                                    labels.ACTIVATION)
            for a, label in zip(out, self._labels):
                a.label = label
        return out

    @property
    def activation(self) -> str:
        """The activation's name."""
        return self._activation_name

    def __repr__(self) -> str:
        if type(self) is Activation:
            return f"Activation({self._activation_name!r})"
        return f"{type(self).__name__}()"


class ReLU(Activation):
    """``max(0, x)`` on each input (PyTorch's ``nn.ReLU``).

    >>> ReLU()([-1.0, 2.0])[1].data
    2.0
    """

    def __init__(self):
        super().__init__("relu")


class Tanh(Activation):
    """``tanh(x)`` on each input (PyTorch's ``nn.Tanh``)."""

    def __init__(self):
        super().__init__("tanh")


class Sigmoid(Activation):
    """``1 / (1 + e^-x)`` on each input (PyTorch's ``nn.Sigmoid``)."""

    def __init__(self):
        super().__init__("sigmoid")


class Softmax(Activation):
    """The sample's inputs normalised into probabilities (PyTorch's ``nn.Softmax(dim=-1)``)."""

    def __init__(self):
        super().__init__("softmax")


class LeakyReLU(Activation):
    """``x`` for x > 0, else ``negative_slope * x``, on each input (PyTorch's ``nn.LeakyReLU``).

    >>> LeakyReLU(0.1)([-2.0])[0].data
    -0.2
    """

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = checks.finite(negative_slope, "negative_slope")
        slope = self.negative_slope
        super().__init__(lambda z: z.leaky_relu(slope))
        self._activation_name = "leaky_relu"

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(2, 4), ReLU(), Linear(4, 1))``
    as in PyTorch, or ``Sequential([Dense(4, "sigmoid"), Dense(2)])`` as in Keras.

    Calling it on one sample returns what the last module returns (a list for `Linear` and
    `Dense`).  Parameters are named by position as PyTorch names them (``0.weight.1.0``) and
    labelled by layer: the k-th module with weights labels them ``Lk.n{j}.w{i}``, and an
    activation module after it labels its outputs ``Lk.n{j}.a``.

    >>> model = Sequential(Linear(2, 3, seed=0), ReLU(), Linear(3, 1, seed=1))
    >>> len(model), model[1]
    (3, ReLU())
    >>> [name for name, _ in model.named_parameters()][-1], model[2].bias[0].label
    ('2.bias.0', 'L2.n1.b')
    >>> len(model([1.0, -1.0]))
    1
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes modules (Linear, Dense, ReLU, ...); item "
                                f"{i} is {checks.shown(m)}")
        for i, m in enumerate(modules):
            setattr(self, str(i), m)  # PyTorch's names: "0.weight", "2.bias"
        self._relabel("")

    def _modules(self) -> list[Module]:
        return [m for k, m in vars(self).items() if k.isdigit()]

    def _relabel(self, prefix: str) -> None:
        k = 0
        for m in self._modules():
            if isinstance(m, Activation):
                m._relabel(prefix + labels.layer(k) if k else "")
            else:
                k += 1
                m._relabel(prefix + labels.layer(k))

    def forward(self, x):
        for m in self._modules():
            x = m(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return self._modules()[index]

    def __len__(self) -> int:
        return len(self._modules())

    def __iter__(self):
        return iter(self._modules())

    def __repr__(self) -> str:
        lines = [f"  ({i}): {m!r}" for i, m in enumerate(self._modules())]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"


def _labelled(values: list, prefix: str, old: str, suffixes: Sequence[str]) -> None:
    """Labels ``values`` ``prefix + suffix``, keeping any label other than the old default."""
    for v, suffix in zip(values, suffixes):
        if v.label in ("", old + suffix):
            v.label = prefix + suffix
