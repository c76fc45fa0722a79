"""Every module says its place in backprop, and what a learner calls first teaches by example.

Every module (subpackages included) has a docstring of a sentence or more; every public module
declares its names in ``__all__`` (tests/test_structure.py checks each public function and class
has a docstring).  The names a learner meets first, on the README's tour and in the notes, carry
a doctest (``>>>``), which ``--doctest-modules`` runs.  Properties and small methods need none: a
doctest there should teach something, not fill a rule.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import microgrant

MODULES = sorted(["microgrant"] + [m.name for m in pkgutil.walk_packages(microgrant.__path__,
                                                                          "microgrant.")])

# What a learner calls first: each shows itself in a doctest.
TEACHING = [
    "microgrant.Value", "microgrant.Value.backward", "microgrant.Value.zero_grad",
    "microgrant.grad", "microgrant.backward_pass", "microgrant.no_grad",
    "microgrant.topological_order", "microgrant.local_grads", "microgrant.gradcheck",
    "microgrant.nn.Neuron", "microgrant.nn.Layer", "microgrant.nn.MLP", "microgrant.nn.Module",
    "microgrant.losses.mse_loss", "microgrant.losses.hinge_loss", "microgrant.losses.softmax",
    "microgrant.optim.SGD",
    "microgrant.viz.to_dot", "microgrant.viz.draw", "microgrant.viz.backward_steps",
    "microgrant.viz.explain", "microgrant.viz.format_number", "microgrant.viz.draw_network",
    "microgrant.checks.rng",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_a_docstring(name):
    if name == "microgrant.plot":
        pytest.importorskip("matplotlib")
    module = importlib.import_module(name)
    assert module.__doc__ and len(module.__doc__.split()) >= 8, name


@pytest.mark.parametrize("name", [m for m in MODULES
                                  if not any(p.startswith("_") for p in m.split("."))])
def test_public_modules_declare_their_names(name):
    if name == "microgrant.plot":
        pytest.importorskip("matplotlib")
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), name
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("name", TEACHING)
def test_what_a_learner_calls_first_has_a_doctest(name):
    doc = inspect.getdoc(_resolve(name)) or ""
    assert ">>>" in doc, f"{name} should teach by example: give it a doctest"
