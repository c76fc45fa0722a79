"""Neurons, layers and networks: the weights that backprop exists to train.

A neuron computes ``activation(w . x + b)``.  Every weight and bias is a `Value`, so a forward
pass records the whole network as one graph, and ``loss.backward()`` fills in ``.grad`` on every
parameter; a training step then nudges each parameter against its gradient (`microgrant.optim`).

Three families of the same idea, so code from each keeps working:

* micrograd's `Neuron`, `Layer` and `MLP`: the same arguments (``Neuron(nin, nonlin=True)``),
  defaults (relu hidden layers, a linear output, uniform(-1, 1) weights, zero biases) and
  parameter order, so weights move between the two;
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
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np

from . import checks, io, labels
from .engine import Value

# `from microgrant.nn import hinge_loss` works, and nn's public names follow losses' own list.
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _LOSS_NAMES
from .losses import softmax
from .ops import OPS

__all__ = ["Module", "Neuron", "Layer", "MLP", "Linear", "Dense", "Sequential", "Activation",
           "ReLU", "Tanh", "Sigmoid", "LeakyReLU", "Softmax", "ParameterList",
           "ACTIVATIONS", "INITS", *_LOSS_NAMES]

#: Activations by name: the op table's activations, plus the identity (``None``) and softmax,
#: which acts on a whole layer at once.
ACTIVATIONS: dict[str, Callable | None] = {
    "linear": None,
    **{op.method: getattr(Value, op.method) for op in OPS.values() if op.activation},
    "softmax": None,
}

#: Weight initialisations by name: each draws one weight from (rng, fan_in, fan_out), where
#: rng is a numpy Generator.
INITS: dict[str, Callable[[np.random.Generator, int, int], float]] = {
    # micrograd's choice: every weight uniform in [-1, 1], whatever the layer's size.
    "uniform": lambda rng, fan_in, fan_out: rng.uniform(-1.0, 1.0),
    # Glorot & Bengio (2010), Keras's default: keeps the variance of signals about the same in
    # both directions through a layer of tanh or sigmoid units.
    "xavier": lambda rng, fan_in, fan_out: rng.uniform(-1.0, 1.0) * (6.0 / (fan_in + fan_out))
    ** 0.5,
    # He et al. (2015): relu zeroes half its inputs, so the variance is doubled to make up.
    "he": lambda rng, fan_in, fan_out: rng.uniform(-1.0, 1.0) * (6.0 / fan_in) ** 0.5,
}
_INIT_ALIASES = {"glorot": "xavier", "kaiming": "he"}


# ---- argument checks ------------------------------------------------------------------------

def _activation(activation, allow_softmax: bool) -> tuple[str, Callable | None]:
    """(name, function) for an activation given by name, as a function Value -> Value, as
    ``None`` (Keras's "no activation") or as micrograd's ``nonlin`` flag."""
    if activation is None or activation is False:
        return "linear", None
    if activation is True:
        return "relu", ACTIVATIONS["relu"]
    if callable(activation) and not isinstance(activation, str):
        return getattr(activation, "__name__", type(activation).__name__), activation
    checks.one_of(activation, ACTIVATIONS, "activation")
    if activation == "softmax" and not allow_softmax:
        raise ValueError("softmax normalises over a whole layer's outputs, so a single Neuron "
                         "cannot have it; use Layer(..., activation='softmax'), "
                         "MLP(..., output='softmax') or the Softmax module")
    return activation, ACTIVATIONS[activation]


def _init(init) -> Callable[[np.random.Generator, int, int], float]:
    if callable(init) and not isinstance(init, str):
        return init
    name = _INIT_ALIASES.get(init, init) if isinstance(init, str) else init
    checks.one_of(name, (*INITS, *_INIT_ALIASES), "init")
    return INITS[name]


def _nonlin(activation, nonlin):
    """micrograd's ``nonlin=`` flag, given by keyword: True is relu, False linear."""
    if nonlin is None:
        return activation
    if not isinstance(nonlin, (bool, np.bool_)):
        raise TypeError(f"nonlin must be True (relu) or False (linear); got {checks.shown(nonlin)}")
    if activation not in ("relu", True):
        raise TypeError(f"give activation= or micrograd's nonlin=, not both (got activation="
                        f"{activation!r} and nonlin={nonlin!r})")
    return bool(nonlin)


def _inputs(x, expected: int | None, who) -> list[Value]:
    """One sample's inputs as a list of Values, checked once per call (not once per neuron).

    Numbers become constant Values here, once: each neuron then multiplies two Values instead
    of converting the same number again.
    """
    inputs = "inputs" if expected is None else f"{expected} inputs"
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(f"{who!r} takes one sample, a 1-D array of {inputs}; got an "
                             f"array of shape {x.shape}")
        x = x.tolist()
    elif isinstance(x, (Value, numbers.Real)):
        raise TypeError(f"{who!r} takes one sample, a list of {inputs}; got a single "
                        f"{checks.shown(x)}")
    else:
        x = list(x)
    if expected is not None and len(x) != expected:
        raise ValueError(f"{who!r} expects {expected} inputs; got {len(x)}")
    return [v if isinstance(v, Value) else Value(v, requires_grad=False) for v in x]


def _draw(init, seed, fan_in: int, fan_out: int, rows: int, columns: int) -> list[list[float]]:
    rng, draw = checks.rng(seed), _init(init)
    return [[checks.real(draw(rng, fan_in, fan_out), "a drawn weight")
             for _ in range(columns)] for _ in range(rows)]


# ---- parameter lists: a weight list that cannot quietly lose a weight ------------------------

class ParameterList(list):
    """A list of parameters (Values, or rows of them) that refuses anything else.

    ``n.w[0] = 3.0`` on a plain list would swap a weight for a constant, and ``parameters()``
    would quietly stop training it; here it is an error that says what to write instead.

    >>> n = Neuron(2, seed=0)
    >>> n.w[0] = 3.0
    Traceback (most recent call last):
    ...
    TypeError: w[0] holds a parameter (a Value); got float 3.0, which would stop it from being \
trained. Set its number instead: w[0].data = 3.0
    """

    __slots__ = ("_name",)

    def __init__(self, items=(), name: str = "parameters"):
        self._name = name
        super().__init__(self._checked(i, item) for i, item in enumerate(items))

    def _checked(self, index, item):
        if isinstance(item, Value):
            return item
        if (isinstance(item, (list, tuple)) and item
                and all(isinstance(v, (Value, list, tuple)) for v in item)):
            return ParameterList(item, f"{self._name}[{index}]")
        raise TypeError(f"{self._name}[{index}] holds a parameter (a Value); got "
                        f"{checks.shown(item)}, which would stop it from being trained. "
                        f"Set its number instead: {_hint(f'{self._name}[{index}]', item)}")

    def __setitem__(self, index, item):
        if isinstance(index, slice):
            item = [self._checked(index.start or 0, v) for v in item]
        else:
            item = self._checked(index, item)
        super().__setitem__(index, item)

    def append(self, item) -> None:
        super().append(self._checked(len(self), item))

    def insert(self, index, item) -> None:
        super().insert(index, self._checked(index, item))

    def extend(self, items) -> None:
        super().extend([self._checked(len(self) + i, v) for i, v in enumerate(items)])

    def __iadd__(self, items):  # type: ignore[misc]  # list's own would skip the checks
        self.extend(items)
        return self


def _hint(name: str, value) -> str:
    """What to write instead of replacing the parameter ``name`` by ``value``."""
    if isinstance(value, numbers.Real):
        return f"{name}.data = {checks.shown(value).split(' ', 1)[1]}"
    return f"{name}.data = <a number>"


def _holds_parameters(value) -> bool:
    """Whether ``value`` is a list of Values (or of rows of Values), as weights are kept."""
    if isinstance(value, ParameterList):
        return True
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(v, Value) or (isinstance(v, (list, tuple)) and len(v) > 0
                                 and all(isinstance(u, Value) for u in v)) for v in value)


# ---- Module ---------------------------------------------------------------------------------

class Module:
    """The base of every network part: it calls ``forward``, and finds, names, resets, saves
    and loads parameters.

    A subclass defines ``forward(x)`` (as in PyTorch; calling the module calls it) and keeps
    its parameters in attributes: a `Value`, a list of Values, another Module or a list of
    Modules.  `named_parameters` finds them all, in the order the attributes were set, and
    names each by its path (``layers.0.neurons.3.w.1``).  A parameter attribute only takes a
    Value: ``n.b = 3.0`` is an error that says to write ``n.b.data = 3.0``.

    >>> class Line(Module):
    ...     def __init__(self):
    ...         self.w = Value(2.0)
    ...         self.b = Value(0.5)
    ...     def forward(self, x):
    ...         return self.w * x + self.b
    >>> line = Line()
    >>> line(3.0).data, line.state_dict()
    (6.5, {'w': 2.0, 'b': 0.5})
    """

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, x):
        """The module's computation; a subclass defines it (calling the module calls it)."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(x) (calling the "
                                  "module calls it)")

    def __setattr__(self, name: str, value) -> None:
        old = self.__dict__.get(name)
        if isinstance(old, Value) and not isinstance(value, Value):
            raise TypeError(f"{type(self).__name__}.{name} is a parameter (a Value); assigning "
                            f"{checks.shown(value)} would stop it from being trained. Set its "
                            f"number instead: {_hint(name, value)}")
        if _holds_parameters(old) or _holds_parameters(value):
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{type(self).__name__}.{name} is a list of parameters; "
                                f"assigning {checks.shown(value)} would stop them from being "
                                f"trained. Assign a list of Values, or set each number: "
                                f"{name}[i].data = ...")
            value = ParameterList(value, name)
        object.__setattr__(self, name, value)

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with its name, in a fixed order; a shared Value is listed once.

        >>> Neuron(2, seed=0).named_parameters()[2]
        ('b', Value(data=0.0, grad=0.0, label='b'))
        """
        return self._walk(named=True)

    def parameters(self) -> list[Value]:
        """Every parameter (the Values a training step changes), in a fixed order.

        The same Values, in the same order, as `named_parameters`: for `MLP`, `Layer` and
        `Neuron` that is micrograd's order (layer by layer, neuron by neuron, each neuron's
        weights then its bias); a subclass's own parameters are listed too, in the order its
        attributes were set.

        >>> len(MLP(2, [16, 16, 1]).parameters())
        337
        """
        return self._walk(named=False)

    def _walk(self, named: bool) -> list:
        """The one walk behind `parameters` and `named_parameters`.

        Depth first, attributes in the order they were set, without recursion: a stack holds
        one iterator per Module or list being visited, and a child is pushed and visited at
        once, before its parent's later attributes.  `seen` lists a shared Value or Module
        once (under its first name) and stops a module that refers back to its parent from
        looping.  A list that mixes Values with numbers is an error: a weight was replaced.
        """
        found: list = []
        seen = {id(self)}
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
                    if type(value) is not ParameterList and not isinstance(value, Module):
                        _check_list(value, f"{prefix}{key}")
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
        number.  Nothing changes unless all of it is right.

        Raises:
            TypeError: ``state`` is not a dict, or a value is not a real number.
            ValueError: names are missing or unexpected, or a value is NaN, infinite or too
                large for a float.

        >>> a, b = Neuron(2, seed=0), Neuron(2, seed=1)
        >>> b.load_state_dict(a.state_dict())
        >>> b.state_dict() == a.state_dict()
        True
        """
        named = self.named_parameters()
        values = io.check_state(state, [name for name, _ in named], repr(self))
        for name, p in named:
            p.data = values[name]

    def save(self, path) -> None:
        """Writes the weights to ``path`` as a JSON weights file (see `microgrant.io.save`).

        >>> import json, os, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "neuron.json")
        ...     Neuron(1, seed=0).save(path)
        ...     with open(path) as f:
        ...         print(sorted(json.load(f)))
        ['format', 'model', 'parameters', 'version']
        """
        io.save(self.state_dict(), path, model=repr(self))

    def load(self, path) -> Module:
        """Reads weights saved by `save` (or a JSON ``state_dict``); see `microgrant.io.load`.

        The whole file is checked before any weight changes: a bad or mismatched file raises
        an error naming the file, and the model keeps its weights.

        Returns:
            The model itself, so ``model = MLP(...).load(path)`` works.

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "xor.json")
        ...     MLP(2, [2, 1], seed=0).save(path)
        ...     model = MLP(2, [2, 1], seed=1).load(path)
        >>> model.state_dict() == MLP(2, [2, 1], seed=0).state_dict()
        True
        """
        named = self.named_parameters()
        values = io.load(path, [name for name, _ in named], repr(self))
        for name, p in named:
            p.data = values[name]
        return self

    def _relabel(self, prefix: str) -> None:
        """Puts ``prefix`` before the labels this module gave (a container's own name)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.parameters())} parameters)"


def _children(obj):
    """An iterator over (name, value) of a Module's public attributes or a list's items."""
    if isinstance(obj, Module):
        return iter([(k, v) for k, v in vars(obj).items() if not k.startswith("_")])
    return enumerate(obj)


def _check_list(items, name: str) -> None:
    if any(isinstance(v, Value) for v in items):
        for i, v in enumerate(items):
            if isinstance(v, numbers.Real):
                raise TypeError(f"{name}[{i}] is {checks.shown(v)} in a list of parameters: "
                                f"a weight was replaced by a number, so it is no longer "
                                f"trained. Set a weight's number with {name}[{i}].data = ...")


def _labelled(values: list, prefix: str, old: str, suffixes: Sequence[str]) -> None:
    """Labels ``values`` ``prefix + suffix``, keeping any label other than the old default."""
    for v, suffix in zip(values, suffixes):
        if v.label in ("", old + suffix):
            v.label = prefix + suffix


# ---- Neuron, Layer, MLP (micrograd's shapes) -------------------------------------------------

class Neuron(Module):
    """One unit: ``a = activation(z)`` with ``z = w . x + b``.

    Args:
        nin: number of inputs.
        activation: ``"relu"`` (default, as micrograd), ``"linear"``, ``"step"``,
            ``"sigmoid"``, ``"tanh"``, ``"leaky_relu"``, any function Value -> Value, or
            micrograd's flag: ``True`` (relu) or ``False`` (linear), so ``Neuron(3, False)``
            is linear as in micrograd.
        init: how to draw the weights: ``"uniform"`` in [-1, 1] (micrograd's), ``"xavier"``
            (Glorot uniform), ``"he"`` (Kaiming uniform), or a function
            ``(rng, fan_in, fan_out) -> float``.  Biases start at 0.
        seed: ``None`` (fresh randomness), an int, or a numpy Generator to draw from (see
            `microgrant.checks.rng`); the global random state is never used.
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
        self._activation_name, self._act = _activation(_nonlin(activation, nonlin),
                                                       allow_softmax=False)
        (row,) = _draw(init, seed, nin, fan_out, 1, nin)
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
        return self._forward(_inputs(x, len(self.w), self))

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
        activation = _nonlin(activation, nonlin)
        self._activation_name, _ = _activation(activation, allow_softmax=True)
        self._softmax = activation == "softmax"
        rng = checks.rng(seed)
        neuron_activation = "linear" if self._softmax else activation
        self.neurons = [Neuron(nin, neuron_activation, init, rng, fan_out=nout)
                        for _ in range(nout)]
        self._relabel("")

    def _relabel(self, prefix: str) -> None:
        for j, n in enumerate(self.neurons):
            n._relabel(prefix + labels.neuron(j + 1))

    def forward(self, x) -> list[Value]:
        return self._forward(_inputs(x, len(self.neurons[0].w), self))

    def _forward(self, x: list[Value]) -> list[Value]:
        out = [n._forward(x) for n in self.neurons]
        if self._softmax:
            out = softmax(out)
            for n, a in zip(self.neurons, out):
                a.label = n._a
        return out

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
        _activation(activation, allow_softmax=True)
        _activation(output, allow_softmax=True)
        rng = checks.rng(seed)
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], output if i == last else activation,
                             init, rng) for i in range(len(nouts))]
        self._relabel("")

    def _relabel(self, prefix: str) -> None:
        for k, layer in enumerate(self.layers):
            layer._relabel(prefix + labels.layer(k + 1))

    def forward(self, x):
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
        self._has_bias = _flag(bias, "bias")
        self._init, self._rng, self._prefix = init, checks.rng(seed), ""
        self._activation_name = "linear"
        self._act: Callable | None = None
        _init(init)
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
        rows = _draw(self._init, self._rng, n_in, self._out, self._out, n_in)
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
        x = _inputs(x, self.in_features, self)
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

    @property
    def neurons(self) -> list:
        """Each output as a neuron-like view with ``w`` (its weights) and ``b`` (its bias, a
        constant 0 without bias): what `microgrant.viz.draw_network` draws."""
        weight = self.weight or []
        biases = self.bias or [Value(0.0, requires_grad=False) for _ in weight]
        return [SimpleNamespace(w=row, b=b, activation=self._activation_name)
                for row, b in zip(weight, biases)]

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self._out}, "
                f"bias={self.bias is not None})")


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {checks.shown(value)}")
    return bool(value)


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
        self._activation_name, self._act = _activation(activation, allow_softmax=True)

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
        self._activation_name, self._act = _activation(activation, allow_softmax=True)
        self._labels: list[str] = []
        self._prefix = ""

    def _relabel(self, prefix: str) -> None:
        self._prefix, self._labels = prefix, []

    def forward(self, x):
        if isinstance(x, Value):
            return self.forward([x])[0]
        x = _inputs(x, None, self)
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

    @property
    def layers(self) -> list:
        """The network as layers of neurons, for `microgrant.viz.draw_network`: each Linear
        or Dense with the activation module that follows it (empty when some module is not
        drawable that way, or a Dense layer is not built yet)."""
        layers: list = []
        for m in self._modules():
            if isinstance(m, Activation) and layers and layers[-1].activation == "linear":
                neurons = [SimpleNamespace(w=n.w, b=n.b, activation=m.activation)
                           for n in layers[-1].neurons]
                layers[-1] = SimpleNamespace(neurons=neurons, activation=m.activation)
            elif isinstance(m, (Linear, Layer)) and m.neurons:
                layers.append(SimpleNamespace(neurons=m.neurons, activation=m.activation))
            else:
                return []
        return layers

    def __repr__(self) -> str:
        lines = [f"  ({i}): {m!r}" for i, m in enumerate(self._modules())]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"

