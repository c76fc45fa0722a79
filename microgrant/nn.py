"""Neurons, layers and MLPs: the weights that backprop exists to train.

A `Neuron` computes ``activation(w . x + b)``; a `Layer` is a list of neurons that read the
same inputs; an `MLP` feeds each layer's outputs to the next.  Every weight and bias is a
`Value`, so a forward pass records the whole network as one graph, and ``loss.backward()``
fills in ``.grad`` on every parameter.  A training step then nudges each parameter against
its gradient (see `microgrant.optim`).

The classes follow micrograd's: the same constructor arguments, the same defaults (relu hidden
layers, a linear output, uniform(-1, 1) weights, zero biases) and the same parameter order,
so weights move between the two.  On top of that: chosen activations and initialisations,
seeded construction, readable names for every parameter, and saving and loading as JSON.

The losses and softmax live in `microgrant.losses` and are importable from here too.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import random
from typing import Callable, Sequence

import numpy as np

from .io import write_atomically
from .engine import Value
# DESIGN puts the losses in nn: `from microgrant.nn import hinge_loss` works, and nn's public
# names follow losses' own list, so the two cannot drift apart.
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _LOSS_NAMES

__all__ = ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS", "INITS", *_LOSS_NAMES]

#: Activations by name.  ``None`` means the identity; softmax acts on a whole layer at once.
ACTIVATIONS: dict[str, Callable | None] = {
    "linear": None,
    "step": Value.step,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
    "leaky_relu": Value.leaky_relu,
    "softmax": None,
}

#: Weight initialisations by name: each draws one weight from (rng, fan_in, fan_out).
INITS: dict[str, Callable[[random.Random, int, int], float]] = {
    # micrograd's choice: every weight uniform in [-1, 1], whatever the layer's size.
    "uniform": lambda rng, fan_in, fan_out: rng.uniform(-1.0, 1.0),
    # Glorot & Bengio (2010): keeps the variance of signals about the same in both directions
    # through a layer of tanh or sigmoid units.
    "xavier": lambda rng, fan_in, fan_out: rng.uniform(-1.0, 1.0) * math.sqrt(
        6.0 / (fan_in + fan_out)),
    # He et al. (2015): relu zeroes half its inputs, so the variance is doubled to make up for
    # it (PyTorch's kaiming_uniform_ with a = 0).
    "he": lambda rng, fan_in, fan_out: rng.uniform(-1.0, 1.0) * math.sqrt(6.0 / fan_in),
}
_INIT_ALIASES = {"glorot": "xavier", "kaiming": "he"}

# The tag written into saved files, so a loader can tell a weights file from any other JSON.
_FORMAT = "microgrant.weights"
_FORMAT_VERSION = 1


# ---- argument checks ------------------------------------------------------------------------

def _count(n, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be a positive int; got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"{name} must be a positive int; got {n}")
    return int(n)


def _make_rng(seed) -> random.Random:
    """A private random number generator: never the global one, so runs are repeatable."""
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"seed must be None, an int or a random.Random; got "
                        f"{type(seed).__name__} {seed!r}")
    return random.Random(int(seed))


def _activation(activation, allow_softmax: bool) -> tuple[str, Callable | None]:
    """(name, function) for an activation given by name or as a callable Value -> Value."""
    if callable(activation) and not isinstance(activation, str):
        return getattr(activation, "__name__", type(activation).__name__), activation
    if activation not in ACTIVATIONS:
        valid = ", ".join(repr(a) for a in ACTIVATIONS)
        raise ValueError(f"unknown activation {activation!r}; valid activations are {valid}, "
                         "or any function from a Value to a Value")
    if activation == "softmax" and not allow_softmax:
        raise ValueError("softmax normalises over a whole layer's outputs, so a single Neuron "
                         "cannot have it; use Layer(..., activation='softmax') or "
                         "MLP(..., output='softmax')")
    return activation, ACTIVATIONS[activation]


def _init(init) -> Callable[[random.Random, int, int], float]:
    if callable(init) and not isinstance(init, str):
        return init
    name = _INIT_ALIASES.get(init, init)
    if name not in INITS:
        valid = ", ".join(repr(i) for i in (*INITS, *_INIT_ALIASES))
        raise ValueError(f"unknown init {init!r}; valid inits are {valid}, or a function "
                         "(rng, fan_in, fan_out) -> weight")
    return INITS[name]


def _inputs(x, expected: int, who: "Module") -> list:
    """The inputs as a list of Values, checked once per call (not once per neuron).

    Numbers become constant Values here, once: each neuron then multiplies two Values
    instead of converting the same number again.
    """
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(f"{who!r} takes one sample, a 1-D array of {expected} numbers; got "
                             f"an array of shape {x.shape}")
        x = x.tolist()
    elif isinstance(x, (Value, numbers.Real)):
        raise TypeError(f"{who!r} takes a list of {expected} inputs; got a single "
                        f"{type(x).__name__} {x!r}")
    else:
        x = list(x)
    if len(x) != expected:
        raise ValueError(f"{who!r} expects {expected} inputs; got {len(x)}")
    return [v if isinstance(v, Value) else Value(v, requires_grad=False) for v in x]


# ---- Module ---------------------------------------------------------------------------------

class Module:
    """The base of every network part: it finds, names, resets, saves and loads parameters.

    A subclass keeps its parameters in attributes: a `Value`, a list of Values, another
    Module or a list of Modules.  `named_parameters` finds them all, in the order the
    attributes were set, and names each by its path (``layers.0.neurons.3.w.1``).

    >>> class Line(Module):
    ...     def __init__(self):
    ...         self.w = Value(2.0)
    ...         self.b = Value(0.5)
    ...     def __call__(self, x):
    ...         return self.w * x + self.b
    >>> line = Line()
    >>> line.state_dict()
    {'w': 2.0, 'b': 0.5}
    """

    def __call__(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(x)")

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with its name, in a fixed order; a shared Value is listed once.

        >>> Neuron(2, seed=0).named_parameters()[2]
        ('b', Value(data=0.0, grad=0.0))
        """
        return self._walk(named=True)

    def parameters(self) -> list[Value]:
        """Every parameter (the Values a training step changes), in a fixed order.

        The same Values, in the same order, as `named_parameters`: for `MLP`, `Layer` and
        `Neuron` that is micrograd's order (layer by layer, neuron by neuron, each neuron's
        weights then its bias), and a subclass's own parameters are listed too, in the order
        its attributes were set.

        >>> len(MLP(2, [16, 16, 1]).parameters())
        337
        """
        return self._walk(named=False)

    def _walk(self, named: bool) -> list:
        """The one walk behind `parameters` and `named_parameters`.

        Depth first, attributes in the order they were set, without recursion: a stack holds
        one iterator per Module or list being visited, and a child Module or list is pushed
        and visited at once, before its parent's later attributes.  `seen` lists a shared
        Value or Module once (under its first name) and stops a module that refers back to
        its parent from looping.  Names are only built when asked for (``named=True``).
        """
        found, seen = [], {id(self)}
        stack = [("", _children(self))]
        while stack:
            prefix, children = stack[-1]
            for key, value in children:
                if isinstance(value, Value):
                    if id(value) not in seen:
                        seen.add(id(value))
                        found.append((f"{prefix}{key}", value) if named else value)
                elif isinstance(value, (Module, list, tuple)) and id(value) not in seen:
                    seen.add(id(value))
                    stack.append((f"{prefix}{key}." if named else "", _children(value)))
                    break  # visit the child now; this iterator resumes after it
            else:
                stack.pop()
        return found

    def zero_grad(self) -> None:
        """Sets every parameter's ``grad`` to 0: call it before each ``backward``.

        >>> n = Neuron(1, activation="linear", seed=0)
        >>> n([3.0]).backward(); n.w[0].grad
        3.0
        >>> n.zero_grad(); n.w[0].grad
        0.0
        """
        for p in self.parameters():
            if p.grad is not None:
                p.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """The weights as plain data, name -> float, ready for ``json.dumps``.

        >>> n = Neuron(1, seed=0)
        >>> n.w[0].data = 0.5
        >>> n.state_dict()
        {'w.0': 0.5, 'b': 0.0}
        """
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict) -> None:
        """Sets the weights from ``state`` (as `state_dict` returns), checking it all first.

        Every name must be there, with no others, and every value must be a finite real
        number.  Nothing changes unless all of it is right, so a bad state leaves the model as
        it was.

        Raises:
            TypeError: ``state`` is not a dict, or a value is not a real number.
            ValueError: names are missing or unexpected, or a value is NaN or infinite.

        >>> a, b = Neuron(2, seed=0), Neuron(2, seed=1)
        >>> b.load_state_dict(a.state_dict())
        >>> b.state_dict() == a.state_dict()
        True
        """
        named = self.named_parameters()
        values = _check_state(state, [name for name, _ in named], self)
        for (_, p), value in zip(named, values):
            p.data = value

    def save(self, path) -> None:
        """Writes the weights to ``path`` as JSON (never pickle: loading runs no code).

        The file is written to a temporary file beside ``path`` and then renamed over it, so
        a failed save never leaves a half-written file.

        Raises:
            ValueError: a weight is NaN or infinite (JSON has no such numbers).
            OSError: the file cannot be written; the message names the path.

        >>> import json, os, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "neuron.json")
        ...     Neuron(1, seed=0).save(path)
        ...     with open(path) as f:
        ...         print(sorted(json.load(f)))
        ['format', 'model', 'parameters', 'version']
        """
        for name, p in self.named_parameters():
            if not math.isfinite(p.data):
                raise ValueError(f"cannot save {self!r}: parameter {name!r} is {p.data!r}, "
                                 "and a weights file holds only finite numbers (training "
                                 "probably diverged; try a smaller learning rate)")
        document = {"format": _FORMAT, "version": _FORMAT_VERSION, "model": repr(self),
                    "parameters": self.state_dict()}
        text = json.dumps(document, indent=1, allow_nan=False) + "\n"
        write_atomically(path, text, "save weights to")

    def load(self, path) -> "Module":
        """Reads weights saved by `save` (or a JSON ``state_dict``) from ``path``.

        The whole file is checked before any weight changes: a missing, truncated or
        mismatched file raises an error that says what is wrong, and the model keeps its
        weights.

        Returns:
            The model itself, so ``model = MLP(...).load(path)`` works.

        Raises:
            OSError: the file cannot be read.
            ValueError: the file is not valid JSON, not a weights file, or its names or
                numbers do not fit this model.
            TypeError: a weight in the file is not a number.

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "xor.json")
        ...     MLP(2, [2, 1], seed=0).save(path)
        ...     model = MLP(2, [2, 1], seed=1).load(path)
        >>> model.state_dict() == MLP(2, [2, 1], seed=0).state_dict()
        True
        """
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as error:
            raise type(error)(error.errno, f"cannot load weights from {path!r}: "
                                           f"{error.strerror}") from None
        try:
            document = json.loads(text)
        except ValueError as error:  # JSONDecodeError, and UnicodeDecodeError
            raise ValueError(f"cannot load weights from {path!r}: it is not valid JSON "
                             f"({error}); the file may be truncated or not a weights "
                             "file") from None
        saved_from = ""
        if isinstance(document, dict) and "format" in document:
            if document.get("format") != _FORMAT:
                raise ValueError(f"cannot load weights from {path!r}: its format is "
                                 f"{document.get('format')!r}, expected {_FORMAT!r}")
            if document.get("version") != _FORMAT_VERSION:
                raise ValueError(f"cannot load weights from {path!r}: format version "
                                 f"{document.get('version')!r} is not supported (this "
                                 f"microgrant reads version {_FORMAT_VERSION})")
            if "parameters" not in document:
                raise ValueError(f"cannot load weights from {path!r}: it has no "
                                 "'parameters' entry")
            saved_from = f" (the file was saved from {document.get('model')})"
            document = document["parameters"]
        try:
            self.load_state_dict(document)
        except (TypeError, ValueError) as error:
            raise type(error)(f"cannot load weights from {path!r}: {error}{saved_from}") from None
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.parameters())} parameters)"


def _children(obj):
    """An iterator over (name, value) of a Module's public attributes or a list's items."""
    if isinstance(obj, Module):
        return iter([(k, v) for k, v in vars(obj).items() if not k.startswith("_")])
    return enumerate(obj)


def _check_state(state, names: list[str], model: Module) -> list[float]:
    """The numbers of ``state`` in the order of ``names``, or an error saying what is wrong."""
    if not isinstance(state, dict):
        raise TypeError(f"a state dict must be a dict of parameter name -> number; got "
                        f"{type(state).__name__}")
    expected = set(names)
    missing = [n for n in names if n not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} parameter(s): {_some(missing)}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} name(s): {_some(unexpected)}")
        raise ValueError(f"the state does not fit {model!r}: {'; '.join(parts)} (expected "
                         "exactly the names of model.state_dict())")
    values = []
    for name in names:
        v = state[name]
        if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.floating, np.integer)):
            raise TypeError(f"parameter {name!r} must be a real number; got "
                            f"{type(v).__name__} {v!r}")
        v = float(v)
        if not math.isfinite(v):
            raise ValueError(f"parameter {name!r} must be a finite number; got {v!r}")
        values.append(v)
    return values


def _some(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


# ---- Neuron, Layer, MLP ------------------------------------------------------------------------

class Neuron(Module):
    """One unit: ``activation(w . x + b)``.

    Args:
        nin: number of inputs.
        activation: ``"relu"`` (default, as micrograd), ``"linear"``, ``"step"``,
            ``"sigmoid"``, ``"tanh"``, ``"leaky_relu"``, or any function Value -> Value.
        init: how to draw the weights: ``"uniform"`` in [-1, 1] (micrograd's), ``"xavier"``
            (Glorot uniform), ``"he"`` (Kaiming uniform), or a function
            ``(rng, fan_in, fan_out) -> float``.  Biases start at 0.
        seed: ``None`` (fresh randomness), an int, or a ``random.Random`` to draw from.
            The global ``random`` state is never used.
        fan_out: the number of units in this neuron's layer, used by ``"xavier"``.

    >>> n = Neuron(2, activation="tanh", seed=0)
    >>> n
    Neuron(2 -> tanh)
    >>> n.w[0].data = 0.5; n.w[1].data = -1.0
    >>> n([2.0, 1.0]).data        # tanh(0.5*2 - 1*1 + 0)
    0.0
    """

    def __init__(self, nin: int, activation="relu", init="uniform", seed=None, *,
                 fan_out: int = 1):
        nin = _count(nin, "nin")
        fan_out = _count(fan_out, "fan_out")
        self._activation_name, self._act = _activation(activation, allow_softmax=False)
        rng, draw = _make_rng(seed), _init(init)
        self.w = [Value(float(draw(rng, nin, fan_out))) for _ in range(nin)]
        self.b = Value(0.0)

    def __call__(self, x) -> Value:
        return self._forward(_inputs(x, len(self.w), self))

    def _forward(self, x: list[Value]) -> Value:
        # One n-ary sum node for w . x + b: a chain of `+` would add n nodes, each a Python
        # call in the forward pass and a step in the backward pass.
        act = Value.sum([*map(Value.__mul__, self.w, x), self.b])
        f = self._act
        return act if f is None else f(act)

    @property
    def activation(self) -> str:
        """The activation's name (a function's own name when one was given).

        >>> Neuron(2, seed=0).activation, Neuron(2, Value.sigmoid, seed=0).activation
        ('relu', 'sigmoid')
        """
        return self._activation_name

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

    >>> layer = Layer(3, 2, activation="softmax", seed=0)
    >>> layer
    Layer(3 -> 2 softmax)
    >>> round(sum(p.data for p in layer([1.0, 2.0, 3.0])), 12)
    1.0
    """

    def __init__(self, nin: int, nout: int, activation="relu", init="uniform", seed=None):
        nin, nout = _count(nin, "nin"), _count(nout, "nout")
        name, _ = _activation(activation, allow_softmax=True)
        self._activation_name = name
        self._softmax = activation == "softmax"
        rng = _make_rng(seed)
        neuron_activation = "linear" if self._softmax else activation
        self.neurons = [Neuron(nin, neuron_activation, init, rng, fan_out=nout)
                        for _ in range(nout)]

    def __call__(self, x) -> list[Value]:
        return self._forward(_inputs(x, len(self.neurons[0].w), self))

    def _forward(self, x: list[Value]) -> list[Value]:
        out = [n._forward(x) for n in self.neurons]
        return softmax(out) if self._softmax else out

    @property
    def nin(self) -> int:
        """Number of inputs.

        >>> Layer(3, 2, seed=0).nin
        3
        """
        return len(self.neurons[0].w)

    @property
    def nout(self) -> int:
        """Number of neurons (outputs).

        >>> Layer(3, 2, seed=0).nout
        2
        """
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

    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model
    MLP(2 -> [16 relu, 16 relu, 1 linear], 337 parameters)
    >>> type(model([1.0, -1.0])).__name__
    'Value'
    >>> model.named_parameters()[0][0], model.named_parameters()[2][0]
    ('layers.0.neurons.0.w.0', 'layers.0.neurons.0.b')
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation="relu", output="linear",
                 init="uniform", seed=None):
        nin = _count(nin, "nin")
        if isinstance(nouts, (numbers.Integral, np.integer)):
            raise TypeError(f"nouts must be a list of layer sizes, e.g. [{nouts}]; got the "
                            f"int {nouts!r}")
        nouts = [_count(n, "each layer size in nouts") for n in nouts]
        if not nouts:
            raise ValueError("nouts must list at least one layer size (the output layer)")
        _activation(activation, allow_softmax=True)
        _activation(output, allow_softmax=True)
        rng = _make_rng(seed)
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], output if i == last else activation,
                             init, rng) for i in range(len(nouts))]

    def __call__(self, x):
        x = _inputs(x, self.layers[0].nin, self)
        for layer in self.layers:
            x = layer._forward(x)
        return x[0] if len(x) == 1 else x

    @property
    def nin(self) -> int:
        """Number of inputs: the first layer's.

        >>> MLP(3, [4, 1], seed=0).nin
        3
        """
        return self.layers[0].nin

    def __repr__(self) -> str:
        layers = ", ".join(f"{layer.nout} {layer.activation}" for layer in self.layers)
        return f"MLP({self.nin} -> [{layers}], {len(self.parameters())} parameters)"

