"""microgrant: a scalar autograd engine for seeing backprop.

`Value` records every operation as a graph; `Value.backward` runs the chain rule through it.
`microgrant.nn` builds neurons, layers and MLPs from Values, and `microgrant.viz` draws the
forward and backward graphs and walks backprop one chain-rule step at a time.

The other modules are imported by name: `microgrant.nn` (Neuron, Layer, MLP, losses),
`microgrant.optim`, `microgrant.train`, `microgrant.viz`, `microgrant.classic` (the models
before backprop), `microgrant.data`, `microgrant.notes` (the notes' worked graphs) and
`microgrant.plot`.

>>> from microgrant import Value
>>> x = Value(2.0, label="x")
>>> y = x * x + x
>>> y.backward()
>>> x.grad          # d(x^2 + x)/dx = 2x + 1
5.0
"""

from importlib import metadata as _metadata

from .autodiff import backward_pass, grad
from .compile import compile
from .engine import OPS, Op, Value, is_grad_enabled, local_grads, no_grad, topological_order
from .enginecheck import EngineReport, check_engine
from .gradcheck import GradcheckResult, GradcheckRow, gradcheck

__all__ = [
    "Value",
    "grad",
    "backward_pass",
    "local_grads",
    "no_grad",
    "is_grad_enabled",
    "topological_order",
    "gradcheck",
    "compile",
    "check_engine",
    "EngineReport",
    "GradcheckResult",
    "GradcheckRow",
    "Op",
    "OPS",
]

try:
    __version__ = _metadata.version("microgrant")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
