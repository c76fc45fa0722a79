"""Module: what every network part is, and the rules that keep its parameters trainable.

Backprop fills in ``.grad`` on every Value a loss depends on; training needs the ones it may
change, the parameters.  A `Module` finds them: it walks its attributes (Values, lists of
Values, other Modules) and lists every parameter once, in a fixed order, each named by its
path (``layers.0.neurons.3.w.1``).  ``zero_grad``, the state dict and the weights files all
come from that list.  The network parts built on it (`microgrant.nn`'s `Neuron`, `Layer`,
`MLP`, `Linear`, ...) share the helpers that follow it: activations and initialisations by
name, and one sample's inputs checked once.

Last come the parameter guards.  A parameter is trained only while it stays the same leaf
Value: ``n.w[0] = 3.0`` would swap it for a number, and ``n.w[0] += 0.1`` for the result of an
op (an interior node of a graph, which no gradient reaches).  Both are errors that say what to
write instead (``n.w[0].data += 0.1``), as PyTorch refuses an in-place change of a leaf.
Values kept in a dict are not parameters (as in PyTorch); the walk warns when it meets some.
"""

from __future__ import annotations

import numbers
import random
import warnings
from typing import Any, Callable

import numpy as np

from . import checks, io
from .engine import Value
from .ops import OPS

__all__ = ["Module", "ParameterList", "ACTIVATIONS", "INITS", "GlobalRandom",
           "activation_named", "init_named", "micrograd_nonlin", "flag", "weight_source",
           "draw_weights", "one_sample"]


# ---- Module ---------------------------------------------------------------------------------

class Module:
    """The base of every network part: it calls ``forward``, and finds, names, resets, saves
    and loads parameters.

    A subclass defines ``forward(x)`` (as in PyTorch; calling the module calls it) and keeps
    its parameters in attributes: a `Value`, a list of Values, another Module or a list of
    Modules.  `named_parameters` finds them all, in the order the attributes were set, and
    names each by its path (``layers.0.neurons.3.w.1``).  A parameter attribute only takes a
    trainable Value: ``n.b = 3.0`` is an error that says to write ``n.b.data = 3.0``.  Values
    (or Modules) kept in a dict are not found, as in PyTorch: keep them in a list or an
    attribute each (`parameters` warns when it meets a dict holding some).

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
        if isinstance(old, Value):
            _check_replacement(f"{type(self).__name__}.{name}", name, old, value)
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

        >>> from microgrant.nn import Neuron
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

        >>> from microgrant.nn import MLP
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
                elif isinstance(value, dict):
                    _warn_dict(value, f"{prefix}{key}")
            else:
                stack.pop()
        return found

    def zero_grad(self) -> None:
        """Sets every parameter's ``grad`` to 0: call it before each ``backward``.

        >>> from microgrant.nn import Neuron
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

        >>> from microgrant.nn import Neuron
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

        >>> from microgrant.nn import Neuron
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

        A model with no parameters (a Keras-style ``Dense`` not called yet) is refused: its
        file would hold no weights, and loading it could restore nothing.

        >>> import json, os, tempfile
        >>> from microgrant.nn import Neuron
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "neuron.json")
        ...     Neuron(1, seed=0).save(path)
        ...     with open(path) as f:
        ...         print(sorted(json.load(f)))
        ['format', 'model', 'parameters', 'version']
        """
        io.save(self, path)

    def load(self, path) -> Module:
        """Reads weights saved by `save` (or a JSON ``state_dict``); see `microgrant.io.load`.

        The whole file is checked before any weight changes: a bad or mismatched file raises
        an error naming the file, and the model keeps its weights.

        Returns:
            The model itself, so ``model = MLP(...).load(path)`` works.

        >>> import os, tempfile
        >>> from microgrant.nn import MLP
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


# ---- what every part shares: activations, initialisations, one sample's inputs -------------

#: Activations by name: the op table's activations, plus the identity (``None``) and softmax,
#: which acts on a whole layer at once.
ACTIVATIONS: dict[str, Callable | None] = {
    "linear": None,
    **{op.method: getattr(Value, op.method) for op in OPS.values() if op.activation},
    "softmax": None,
}

#: Weight initialisations by name: each draws one weight from (rng, fan_in, fan_out), where
#: rng has numpy Generator's ``uniform(low, high)`` and ``normal(loc, scale)`` (a seeded
#: numpy Generator, or `GlobalRandom` when no seed was given).
INITS: dict[str, Callable[[Any, int, int], float]] = {
    # micrograd's choice: every weight uniform in [-1, 1], whatever the layer's size.
    "uniform": lambda rng, fan_in, fan_out: rng.uniform(-1.0, 1.0),
    # Keras's "random_normal" (note 002's initializer): mean 0, standard deviation 0.05.
    "normal": lambda rng, fan_in, fan_out: rng.normal(0.0, 0.05),
    # Glorot & Bengio (2010), Keras's default: keeps the variance of signals about the same in
    # both directions through a layer of tanh or sigmoid units.
    "xavier": lambda rng, fan_in, fan_out: rng.uniform(-1.0, 1.0) * (6.0 / (fan_in + fan_out))
    ** 0.5,
    # He et al. (2015): relu zeroes half its inputs, so the variance is doubled to make up.
    "he": lambda rng, fan_in, fan_out: rng.uniform(-1.0, 1.0) * (6.0 / fan_in) ** 0.5,
}
_INIT_ALIASES = {"glorot": "xavier", "kaiming": "he", "random_normal": "normal"}


class GlobalRandom:
    """Python's `random` module with numpy Generator's method names: the weights' source
    when no seed is given, so ``random.seed(1337)`` before ``MLP(...)`` repeats the weights, as
    in micrograd (``uniform(-1, 1)`` is ``random.uniform(-1, 1)``, drawn in the same order).

    >>> random.seed(0); a = GlobalRandom().uniform(-1.0, 1.0)
    >>> random.seed(0); a == random.uniform(-1, 1)
    True
    """

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        """A number drawn uniformly from [low, high] by ``random.uniform``."""
        return random.uniform(low, high)

    def normal(self, loc: float = 0.0, scale: float = 1.0) -> float:
        """A number drawn from the normal distribution by ``random.gauss``."""
        return random.gauss(loc, scale)

    def __repr__(self) -> str:
        return "GlobalRandom()"


def weight_source(seed: Any) -> Any:
    """Where weights come from: Python's `random` module (`GlobalRandom`) for ``None``, as
    in micrograd; else a numpy Generator (`microgrant.checks.rng`: an int, or a Generator)."""
    if seed is None or isinstance(seed, GlobalRandom):
        return seed or GlobalRandom()
    return checks.rng(seed)


def activation_named(activation, allow_softmax: bool) -> tuple[str, Callable | None]:
    """(name, function) for an activation given by name, as a function Value -> Value, as
    ``None`` (Keras's "no activation") or as micrograd's ``nonlin`` flag."""
    if activation is None or activation is False:
        return "linear", None
    if activation is True:
        return "relu", ACTIVATIONS["relu"]
    if callable(activation) and not isinstance(activation, str):
        name = getattr(activation, "__name__", type(activation).__name__)
        if name in ACTIVATIONS and activation is not ACTIVATIONS[name]:
            # A function of your own that shares a built-in's name is named by where it
            # lives, so no picture or converter mistakes it for the built-in.
            where = getattr(activation, "__module__", None) or type(activation).__module__
            name = f"{where}.{getattr(activation, '__qualname__', name)}"
        return name, activation
    checks.one_of(activation, ACTIVATIONS, "activation")
    if activation == "softmax" and not allow_softmax:
        raise ValueError("softmax normalises over a whole layer's outputs, so a single Neuron "
                         "cannot have it; use Layer(..., activation='softmax'), "
                         "MLP(..., output='softmax') or the Softmax module")
    return activation, ACTIVATIONS[activation]


def init_named(init) -> Callable[[Any, int, int], float]:
    """The weight initialisation ``init`` names (see `INITS`), or ``init`` itself if callable."""
    if callable(init) and not isinstance(init, str):
        return init
    name = _INIT_ALIASES.get(init, init) if isinstance(init, str) else init
    checks.one_of(name, (*INITS, *_INIT_ALIASES), "init")
    return INITS[name]


def draw_weights(init, seed, fan_in: int, fan_out: int, rows: int,
                 columns: int) -> list[list[float]]:
    """``rows`` x ``columns`` weights drawn by ``init`` (a name or a function), row by row."""
    rng, draw = weight_source(seed), init_named(init)
    return [[checks.real(draw(rng, fan_in, fan_out), "a drawn weight")
             for _ in range(columns)] for _ in range(rows)]


def micrograd_nonlin(activation, nonlin):
    """micrograd's ``nonlin=`` flag, given by keyword: True is relu, False linear."""
    if nonlin is None:
        return activation
    if not isinstance(nonlin, (bool, np.bool_)):
        raise TypeError(f"nonlin must be True (relu) or False (linear); got {checks.shown(nonlin)}")
    if activation not in ("relu", True):
        raise TypeError(f"give activation= or micrograd's nonlin=, not both (got activation="
                        f"{activation!r} and nonlin={nonlin!r})")
    return bool(nonlin)


def flag(value, name: str) -> bool:
    """``value`` as a bool, refusing anything but True and False (and numpy's bools)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {checks.shown(value)}")
    return bool(value)


def one_sample(x, expected: int | None, who) -> list[Value]:
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


# ---- parameter guards: a weight that cannot quietly stop being trained ----------------------

class ParameterList(list):
    """A list of parameters (Values, or rows of them) that refuses anything else.

    ``n.w[0] = 3.0`` on a plain list would swap a weight for a constant, and ``n.w[0] += 0.1``
    for the result of an op: either way ``parameters()`` would quietly stop training it.  Here
    both are errors that say what to write instead.

    >>> from microgrant.nn import Neuron
    >>> n = Neuron(2, seed=0)
    >>> n.w[0] = 3.0
    Traceback (most recent call last):
    ...
    TypeError: w[0] holds a parameter (a Value); got float 3.0, which would stop it from being \
trained. Set its number instead: w[0].data = 3.0
    >>> n.w[0] += 0.1
    Traceback (most recent call last):
    ...
    TypeError: w[0] is a parameter: assigning it the result of an op (w[0] + 0.1) would make \
it an interior node of a graph, which no gradient reaches. Change its number instead: \
w[0].data += 0.1
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
            old = self[index]
            if isinstance(old, Value):
                name = f"{self._name}[{index}]"
                _check_replacement(name, name, old, item)
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


# The in-place operators that make `p op= c` a new node: the same change, made on p's number.
_IN_PLACE = {"add": ("+", "+="), "sub": ("-", "-="), "mul": ("*", "*="), "div": ("/", "/=")}


def _check_replacement(where: str, name: str, old: Value, value) -> None:
    """Refuses to replace the trainable leaf ``old`` by a Value no gradient would train.

    ``p += 0.1`` on a parameter makes ``p`` the result of an op: the old leaf, which the
    optimiser holds, stays behind, and the new interior node is never trained.  A constant
    (made under ``no_grad``, or with ``requires_grad=False``) would not be trained either.
    """
    if not (isinstance(value, Value) and old.requires_grad and not old.inputs
            and old.op == "" and value is not old):
        return
    if value.op and value.op in _IN_PLACE and len(value.inputs) == 2 and \
            value.inputs[0] is old and not value.inputs[1].requires_grad:
        symbol, in_place = _IN_PLACE[value.op]
        number = format(value.inputs[1].data, "g")
        raise TypeError(f"{where} is a parameter: assigning it the result of an op ({name} "
                        f"{symbol} {number}) would make it an interior node of a graph, which "
                        f"no gradient reaches. Change its number instead: {name}.data "
                        f"{in_place} {number}")
    if value.op:
        raise TypeError(f"{where} is a parameter: assigning it the result of an op "
                        f"({value.op}) would make it an interior node of a graph, which no "
                        f"gradient reaches. Change its number instead: {name}.data = "
                        "<a number>")
    if not value.requires_grad:
        raise TypeError(f"{where} is a parameter; assigning a constant Value (one that takes "
                        f"no gradient, as no_grad() makes) would stop it from being trained. "
                        f"Set its number instead: {name}.data = {format(value.data, 'g')}")


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


def _warn_dict(items: dict, name: str) -> None:
    """A dict of Values or Modules is not searched for parameters (as in PyTorch): say so."""
    if any(isinstance(v, (Value, Module)) for v in items.values()):
        warnings.warn(f"{name} is a dict holding Values or Modules; parameters() does not "
                      f"look inside dicts, so they are not trained or saved. Keep them in a "
                      f"list, or as attributes of their own", UserWarning, stacklevel=4)
