"""The label grammar: the names `microgrant.nn` and the losses give values, and viz reads back.

Backprop itself never looks at a label; the pictures do.  A net's values are named by where
they sit, so a picture can group them by neuron, layer and sample:

* ``L1.n2.w1``: weight 1 of neuron 2 of layer 1; ``L1.n2.b`` its bias; ``L1.n2.z`` its weighted
  sum ``w·x + b``; ``L1.n2.a`` its activation.  A lone neuron's are ``w1``, ``b``, ``z``, ``a``;
  a lone layer's ``n2.w1`` and so on;
* ``mse[3]``: sample 3's term of a loss (1-based); the reduced loss is ``mse``;
* ``x1[3]``: sample 3's input 1 (the value weight ``w1`` multiplies), as pictures name it.

This module is the only place the grammar is written (`layer`, `neuron`, `weight`, `indexed`,
...) and read (`layer_of`, `weight_index`, `split_index`, ...): a change to it is a change
here.  It imports nothing of microgrant, so every floor can use it.

>>> name = layer(1) + neuron(2) + weight(1)
>>> name, layer_of(name), group_of(name), weight_index(name), part_of(name)
('L1.n2.w1', 1, 'L1.n2', 1, 'w1')
>>> split_index(indexed("mse", 3))
('mse', 3)
"""

from __future__ import annotations

import re

__all__ = ["BIAS", "SUM", "ACTIVATION", "INPUT", "layer", "neuron", "weight", "neuron_group",
           "indexed", "input_name", "split_index", "layer_of", "neuron_index", "weight_index",
           "group_of", "part_of", "is_bias", "is_net_value", "natural_key"]

BIAS = "b"
"""A neuron's bias, after its neuron's prefix: ``L1.n2.b``."""
SUM = "z"
"""A neuron's weighted sum ``w·x + b``: ``L1.n2.z``."""
ACTIVATION = "a"
"""A neuron's activation: ``L1.n2.a``."""
INPUT = "x"
"""How pictures name the net's inputs: ``x1`` (the value weight ``w1`` multiplies)."""

_SEPARATOR = "."
_INDEXED = re.compile(r"^(.+)\[([1-9][0-9]*)\]$")
_LAYER = re.compile(r"(?:^|\.)L([1-9][0-9]*)(?:\.|$)")
_NEURON = re.compile(r"(?:^|\.)n([1-9][0-9]*)$")
_WEIGHT = re.compile(r"\.w([1-9][0-9]*)$")
_DIGITS = re.compile(r"(\d+)")


# ---- writing ---------------------------------------------------------------------------------

def layer(k: int) -> str:
    """The prefix of layer ``k``'s labels (1-based): ``"L2."``."""
    return f"L{k}{_SEPARATOR}"


def neuron(j: int) -> str:
    """The prefix of neuron ``j``'s labels within its layer (1-based): ``"n3."``."""
    return f"n{j}{_SEPARATOR}"


def weight(i: int) -> str:
    """Weight ``i`` of a neuron (1-based), after the neuron's prefix: ``"w1"``."""
    return f"w{i}"


def neuron_group(k: int, j: int) -> str:
    """The name of neuron ``j`` of layer ``k`` (both 1-based), its labels' prefix: ``"L1.n2"``."""
    return (layer(k) + neuron(j))[: -len(_SEPARATOR)]


def indexed(name: str, k: int) -> str:
    """``name`` for sample ``k`` (1-based): a loss term ``mse[3]``, an input ``x1[3]``."""
    return f"{name}[{k}]"


def input_name(i: int, sample: int | None = None) -> str:
    """The net's input ``i`` (1-based), of one sample when given: ``x1``, ``x1[3]``.

    >>> input_name(1), input_name(2, 3)
    ('x1', 'x2[3]')
    """
    name = f"{INPUT}{i}"
    return name if sample is None else indexed(name, sample)


# ---- reading ---------------------------------------------------------------------------------

def split_index(label: str) -> tuple[str, int] | None:
    """``("mse", 3)`` for ``"mse[3]"``; None for a label without a sample index."""
    found = _INDEXED.match(label)
    return (found.group(1), int(found.group(2))) if found else None


def layer_of(label: str) -> int | None:
    """The layer a label (or a group, ``L2.n1``) names, 1-based; None when it names none."""
    found = _LAYER.search(label)
    return int(found.group(1)) if found else None


def neuron_index(group: str) -> int | None:
    """The neuron a group names within its layer: 2 for ``"L1.n2"``; None when none."""
    found = _NEURON.search(group)
    return int(found.group(1)) if found else None


def weight_index(label: str) -> int | None:
    """Which weight of its neuron a label names: 1 for ``"L1.n2.w1"``; None for others.

    >>> weight_index("L1.n2.w1"), weight_index("n1.w3"), weight_index("L1.n2.b")
    (1, 3, None)
    """
    found = _WEIGHT.search(label)
    return int(found.group(1)) if found else None


def group_of(label: str) -> str | None:
    """The neuron a label belongs to, its label up to the last dot: ``"L1.n2"``; or None."""
    return label.rsplit(_SEPARATOR, 1)[0] if _SEPARATOR in label else None


def part_of(label: str) -> str:
    """What a label names within its neuron: ``"w1"``, ``"b"``, ``"z"`` or ``"a"``."""
    return label.rsplit(_SEPARATOR, 1)[-1]


def is_bias(label: str) -> bool:
    """Whether a label names a neuron's bias (``L1.n2.b``)."""
    return group_of(label) is not None and part_of(label) == BIAS


def is_net_value(label: str) -> bool:
    """Whether a label names a neuron's weighted sum or activation (``L2.n1.z``, ``.a``)."""
    return part_of(label) in (SUM, ACTIVATION)


def natural_key(name: str) -> tuple:
    """Sorts names with their numbers by value: ``L1.n10`` after ``L1.n9``."""
    return tuple(int(p) if p.isdigit() else p for p in _DIGITS.split(name))
