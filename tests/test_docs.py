"""Every module says its place in backprop, and every public function and class shows itself
in a doctest (which `--doctest-modules` then runs)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import microgrant

MODULES = sorted(["microgrant"] + [f"microgrant.{m.name}"
                                   for m in pkgutil.iter_modules(microgrant.__path__)])


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_a_docstring(name):
    module = importlib.import_module(name)
    assert module.__doc__ and len(module.__doc__.split()) >= 8, name


def _public(name):
    module = importlib.import_module(name)
    for public in getattr(module, "__all__", ()):
        obj = getattr(module, public)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                obj.__module__.startswith("microgrant"):
            yield f"{obj.__module__}.{obj.__qualname__}", obj


PUBLIC = dict(item for name in MODULES if not name.split(".")[-1].startswith("_")
              for item in _public(name))


def test_public_modules_declare_their_names():
    for name in MODULES:
        if not name.split(".")[-1].startswith("_") and name != "microgrant.__main__":
            assert hasattr(importlib.import_module(name), "__all__"), name


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_every_public_name_has_a_doctest(qualname):
    doc = inspect.getdoc(PUBLIC[qualname]) or ""
    assert ">>>" in doc, f"{qualname} has no doctest"
