"""Every module says its place in backprop, and every public function, class, method and
property shows itself in a doctest (which `--doctest-modules` then runs).

Public names are those in a public module's ``__all__`` that microgrant defines.  For each
public class, its public methods and properties are checked too: those defined on the class
itself or on a microgrant base class it inherits them from (a private base class may give
`Perceptron` its ``predict``), never those of ``object``, ``Exception`` or what
``dataclass`` generates; dunder names and names starting with ``_`` are skipped.

The rule for methods and properties: every one has a docstring, and every one shows a
doctest (``>>>``), except a *trivial accessor*: one whose docstring is a single line and
whose body, after that docstring, is a single ``return`` of one of its own object's
attributes, ``return self.<name>`` (``return self._activation_name``).  Anything else (a
call, an index, an attribute of another object, an expression, a loop) does real work and
needs its doctest.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap

import pytest

import microgrant

MODULES = sorted(["microgrant"] + [f"microgrant.{m.name}"
                                   for m in pkgutil.iter_modules(microgrant.__path__)])


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_a_docstring(name):
    module = importlib.import_module(name)
    assert module.__doc__ and len(module.__doc__.split()) >= 8, name


def _ours(obj) -> bool:
    return getattr(obj, "__module__", "").startswith("microgrant")


def _public(name):
    module = importlib.import_module(name)
    for public in getattr(module, "__all__", ()):
        obj = getattr(module, public)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and _ours(obj):
            yield f"{obj.__module__}.{obj.__qualname__}", obj


PUBLIC = dict(item for name in MODULES if not name.split(".")[-1].startswith("_")
              for item in _public(name))


def _function(attr):
    """The function behind a class attribute that is a method or a property, else None."""
    if isinstance(attr, (staticmethod, classmethod)):
        return attr.__func__
    if isinstance(attr, property):
        return attr.fget
    if inspect.isfunction(attr):
        return attr
    return None


def _members():
    """(qualname, documented object, function) for each public method and property."""
    members = {}
    for cls in (obj for obj in PUBLIC.values() if inspect.isclass(obj)):
        for owner in cls.__mro__:
            if not _ours(owner):
                continue  # object, Exception, ...: not ours to document
            for name, attr in vars(owner).items():
                function = _function(attr)
                if name.startswith("_") or function is None or not _ours(function):
                    continue
                members[f"{owner.__module__}.{owner.__qualname__}.{name}"] = (attr, function)
    return members


MEMBERS = _members()


def _is_trivial_accessor(function, doc: str) -> bool:
    """One-line docstring, and a body that is only ``return self.<name>``."""
    if "\n" in doc:
        return False
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return False
    value = body[0].value
    return isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) \
        and value.value.id == "self"


def test_public_modules_declare_their_names():
    for name in MODULES:
        if not name.split(".")[-1].startswith("_") and name != "microgrant.__main__":
            assert hasattr(importlib.import_module(name), "__all__"), name


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_every_public_name_has_a_doctest(qualname):
    doc = inspect.getdoc(PUBLIC[qualname]) or ""
    assert ">>>" in doc, f"{qualname} has no doctest"


def test_methods_and_properties_are_found():
    # The collection itself: methods, properties and inherited-from-microgrant members are
    # found; dunders, private names and what dataclass or Exception provide are not.
    assert {"microgrant.engine.Value.backward", "microgrant.engine.Value.requires_grad",
            "microgrant.optim.Optimizer.step", "microgrant.gradcheck.GradcheckResult.ok",
            "microgrant.nn.Module.zero_grad"} <= set(MEMBERS)
    from microgrant.classic import Perceptron
    owners = {f"{c.__module__}.{c.__qualname__}" for c in Perceptron.__mro__}
    assert any(q.rsplit(".", 1)[0] in owners for q in MEMBERS if q.endswith(".predict"))
    assert not any(q.rsplit(".", 1)[1].startswith("_") for q in MEMBERS)
    assert not any(".RenderError." in q or ".ExpressionError." in q for q in MEMBERS)


@pytest.mark.parametrize("qualname", sorted(MEMBERS))
def test_every_public_method_and_property_has_a_doctest(qualname):
    attr, function = MEMBERS[qualname]
    doc = inspect.getdoc(attr) or inspect.getdoc(function) or ""
    assert doc.strip(), f"{qualname} has no docstring"
    assert ">>>" in doc or _is_trivial_accessor(function, doc), f"{qualname} has no doctest"


def test_the_trivial_accessor_rule():
    # The exemption must not grow: a one-line docstring alone is not enough.
    class Example:
        @property
        def plain(self):
            """One line."""
            return self._plain

        @property
        def computed(self):
            """One line."""
            return len(self._items)

        @property
        def reached_through(self):
            """One line."""
            return self.layers[0].nin

        def two_lines(self):
            """First line.

            Second paragraph."""
            return self._x

    assert _is_trivial_accessor(Example.plain.fget, "One line.")
    assert not _is_trivial_accessor(Example.computed.fget, "One line.")
    assert not _is_trivial_accessor(Example.reached_through.fget, "One line.")
    assert not _is_trivial_accessor(Example.two_lines, inspect.getdoc(Example.two_lines))
