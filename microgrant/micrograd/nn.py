"""``from microgrant.micrograd.nn import Neuron, Layer, MLP``: micrograd's path to microgrant's nn.

They are `microgrant.nn`'s classes, which take micrograd's arguments, defaults and parameter
order; without a seed their weights come from Python's `random` in micrograd's order, so
``random.seed(1337)`` before ``MLP(2, [16, 16, 1])`` gives micrograd's demo its own weights.
One difference stays: a `Layer` always returns a list (micrograd's returns a bare Value when it
has one neuron); an `MLP` with one output returns a Value, as micrograd's does.
"""

from ..nn import MLP, Layer, Module, Neuron

__all__ = ["Module", "Neuron", "Layer", "MLP"]
