"""What every network part shares: activations and initialisations by name, one sample's inputs.

Backprop runs through whatever ops a network is built from; `microgrant.nn`'s `Neuron`,
`Layer`, `MLP`, `Linear` and `Dense` take their activation (an op of the table, by name) and
their initial weights from here, so every part names them the same way, and each sample's
inputs are checked and made constant Values once, before any neuron reads them.
"""

from __future__ import annotations

import numbers
import random
from typing import Any, Callable

import numpy as np

from . import checks
from .engine import Value
from .ops import OPS

__all__ = ["ACTIVATIONS", "INITS", "GlobalRandom", "activation_named", "init_named",
           "micrograd_nonlin", "flag", "weight_source", "draw_weights", "one_sample"]


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


# What to write instead of passing a batch: the scalar engine's nets take one sample a call.
_ONE_AT_A_TIME = "call it on each sample, e.g. [model(x) for x in X]"
_ROW = (list, tuple, np.ndarray)


def one_sample(x, expected: int | None, who) -> list[Value]:
    """One sample's inputs as a list of Values, checked once per call (not once per neuron).

    Numbers become constant Values here, once: each neuron then multiplies two Values instead
    of converting the same number again.  A batch (rows of samples) is refused with the loop
    to write instead: a scalar net runs one sample at a time.
    """
    inputs = "inputs" if expected is None else f"{expected} inputs"
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            each = f": {_ONE_AT_A_TIME}" if x.ndim == 2 else ""
            raise ValueError(f"{who!r} takes one sample, a 1-D array of {inputs}; got an "
                             f"array of shape {x.shape}{each}")
        x = x.tolist()
    elif isinstance(x, (Value, numbers.Real)):
        raise TypeError(f"{who!r} takes one sample, a list of {inputs}; got a single "
                        f"{checks.shown(x)}")
    else:
        x = list(x)
    # x[0] first: the common call, a list of numbers, pays one isinstance for this check.
    if x and isinstance(x[0], _ROW) and all(isinstance(row, _ROW) for row in x):
        size = "a list of numbers" if expected is None else f"{expected} numbers"
        rows = "1 row" if len(x) == 1 else f"{len(x)} rows"
        raise ValueError(f"{who!r} takes one sample ({size}); got a list of {rows}: "
                         f"{_ONE_AT_A_TIME}")
    if expected is not None and len(x) != expected:
        raise ValueError(f"{who!r} expects {expected} inputs; got {len(x)}")
    return [v if isinstance(v, Value) else Value(v, requires_grad=False) for v in x]
