"""named: what a compiled loss_fn reads besides its arguments, compared call by call.

A replay takes as fixed what the trace found outside ``loss_fn``'s arguments: the plain
numbers it names, the Values, and which parameters its models hold.  Each compiled call asks
whether any of that changed since the trace (`NamedState`), and traces again if it did.

Asking must cost far less than a step.  The answer is a function of the objects ``loss_fn``
names and, for a model, of the containers its parameter walk reads (each `Module`'s
attributes, each list or tuple of parameters or modules): while every one of them holds the
very same objects in the same order, ``parameters()`` gives the same Values, and the floats
and ints named (immutable) the same numbers.  So a call compares identities first, a few
C-level passes over the objects, and lists the parameters again only when something moved.
"""

from __future__ import annotations

import functools
import types
from functools import lru_cache
from itertools import chain
from operator import is_
from typing import Callable

import numpy as np

from ..engine import Value
from ..module import Module

__all__ = ["reachable", "values_named", "state_named", "NamedState"]


@lru_cache(maxsize=256)
def _code_names(code) -> tuple:
    """The names a code object and those nested in it (a generator expression, a lambda
    inside) read: fixed with the code, so found once per code object."""
    found, stack = [], [code]
    while stack:
        c = stack.pop()
        found.extend(c.co_names)
        stack.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    return tuple(found)


def reachable(fn: Callable) -> list:
    """What ``fn`` names: its closure cells, the globals its code (and the code nested in it)
    names, its default arguments, and the attributes of a bound method's object (a callable
    object's ``__call__`` and a ``functools.partial``'s function and arguments count as
    ``fn``'s); then one level into each: a dict's values, a list's or tuple's items, a plain
    object's attributes (``cfg.lam``, ``agent.target``), and what a helper function of the
    same module names (its globals and closure)."""
    if isinstance(fn, functools.partial):
        return reachable(fn.func) + _opened([*fn.args, *fn.keywords.values()], None)
    call = next((vars(k)["__call__"] for k in type(fn).__mro__ if "__call__" in vars(k)), None)
    if isinstance(call, types.FunctionType):  # a callable object: its __call__, bound to it
        fn = types.MethodType(call, fn)
    owner = getattr(fn, "__self__", None)
    target = getattr(fn, "__func__", fn)
    found: list = list(getattr(owner, "__dict__", {}).values()) if owner is not None else []
    if owner is not None:
        found.append(owner)
    found.extend(_named_by(target))
    return _opened(found, getattr(target, "__globals__", None))


def _named_by(function) -> list:
    """The closure cells' contents, defaults and the globals ``function``'s code names."""
    found: list = []
    for cell in getattr(function, "__closure__", None) or ():
        try:
            found.append(cell.cell_contents)
        except ValueError:  # an empty cell
            continue
    found.extend(getattr(function, "__defaults__", None) or ())
    found.extend((getattr(function, "__kwdefaults__", None) or {}).values())
    code = getattr(function, "__code__", None)
    names = getattr(function, "__globals__", {})
    if code is not None:
        found.extend(names[n] for n in _code_names(code) if n in names)
    return found


def _opened(found: list, module_globals: dict | None) -> list:
    opened: list = []
    for obj in found:
        opened.append(obj)
        if isinstance(obj, dict):
            opened.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            opened.extend(obj)
        elif isinstance(obj, types.FunctionType):
            if module_globals is not None and obj.__globals__ is module_globals:
                opened.extend(_named_by(obj))  # a helper the loss calls reads these too
        elif _is_plain(obj):
            opened.extend(vars(obj).values())
    return opened


def _is_plain(obj) -> bool:
    """An object of the user's own class holding settings or models (not a Value, a model,
    a module, a class or a function, whose attributes are compared otherwise or not at all)."""
    return (hasattr(obj, "__dict__") and type(obj) is not Value and not _is_model(obj)
            and not isinstance(obj, (type, types.ModuleType, types.FunctionType,
                                     types.MethodType, types.BuiltinFunctionType,
                                     functools.partial)))


def _is_model(obj) -> bool:
    return (not isinstance(obj, type) and callable(getattr(obj, "parameters", None))
            and callable(getattr(obj, "named_parameters", None)))


def _parameters(model) -> list | None:
    """A model's parameters, or ``None`` for one that cannot list them (it is not followed)."""
    try:
        return list(model.parameters())
    except Exception:  # noqa: BLE001  (any failure: the model's own code)
        return None


def values_named(fn: Callable, models: bool = False) -> list:
    """The leaf Values ``fn`` names (a weight, a ``requires_grad=False`` threshold), and with
    ``models`` the parameters of the models it names."""
    found = reachable(fn)
    if models:
        for obj in list(found):
            if _is_model(obj):
                found.extend(_parameters(obj) or ())
    return list({id(v): v for v in found if type(v) is Value and not v.op}.values())


def _state(objects: list) -> tuple[tuple, list | None]:
    """The state of `state_named` for these objects, and the skeletons of their models
    (``None`` when a model's parameters cannot be told from its containers)."""
    state: list = []
    skeletons: list | None = []
    for obj in objects:
        if type(obj) is Value:
            state.append(id(obj))
        elif isinstance(obj, (float, np.floating)):
            state.append(float(obj).hex())
        elif isinstance(obj, (int, np.integer)):
            state.append(int(obj))
        elif isinstance(obj, np.ndarray):  # its numbers, bit for bit: changed in place too
            state.append((obj.shape, obj.dtype.str, obj.tobytes()))
        elif _is_model(obj):
            shape = _skeleton(obj)
            params = _parameters(obj)
            state.append(None if params is None else tuple(map(id, params)))
            if shape is None:
                skeletons = None
            else:
                state.append(_settings(shape))
                if skeletons is not None:
                    skeletons.extend(shape)
        else:  # any other object: the same one (a helper function redefined is another)
            state.append(id(obj))
    return tuple(state), skeletons


def _settings(shape: list) -> tuple:
    """The numbers, flags and names a model's modules hold beside their parameters (a scale,
    ``training``), by module and attribute: a forward may read them."""
    return tuple((i, name, v.hex() if isinstance(v, float) else v)
                 for i, (module, _, _) in enumerate(shape) if module is not None
                 for name, v in vars(module).items()
                 if isinstance(v, (bool, int, float, str)))


def state_named(fn: Callable) -> tuple:
    """What a replay takes as fixed from what ``fn`` names, to compare call by call: the
    plain numbers (bit for bit), which Values and which models' parameters."""
    return _state(reachable(fn))[0]


def _skeleton(model) -> list | None:
    """Every container `Module.parameters` reads for ``model``, as (its Module or ``None``
    for a list or tuple, the live items, the items it holds now).

    Its walk reads each Module's attributes and each list or tuple among them (nothing
    else), so while each of these holds the same objects in the same order (and each Module
    keeps its class and its attribute dict), it lists the same parameters.  ``None`` for a
    model whose ``parameters`` is its own, not Module's.
    """
    if not isinstance(model, Module) or type(model).parameters is not Module.parameters:
        return None
    found: list = []
    seen = {id(model)}
    stack: list = [model]
    while stack:
        obj = stack.pop()
        module = obj if isinstance(obj, Module) else None
        try:
            items = vars(obj).values() if module is not None else obj
        except TypeError:  # a Module without a __dict__: its parameters are listed each call
            return None
        found.append((module, items, tuple(items)))
        for v in items:
            if isinstance(v, (Module, list, tuple)) and id(v) not in seen:
                seen.add(id(v))
                stack.append(v)
    return found


class _Identities:
    """A list of objects, to ask quickly whether another list holds the very same ones.

    A Value compares equal only to itself (it has no ``__eq__``), so a list's ``==``, in C,
    tests the Values among the items by identity; the other items are tested by identity
    one by one.  Thousands of weights cost a few microseconds.
    """

    def __init__(self, items: list):
        self.items = items
        self.others = [i for i, x in enumerate(items) if type(x) is not Value]
        self.other_items = [items[i] for i in self.others]

    def held_by(self, now: list) -> bool:
        try:
            if now != self.items:  # identity first, then __eq__ (an array's may raise)
                return False
        except Exception:  # noqa: BLE001  (an item that cannot say: not the same)
            return False
        return all(map(is_, map(now.__getitem__, self.others), self.other_items))


class _Skeleton:
    """The containers of `_skeleton` (of every model named), their lengths and items."""

    def __init__(self, found: list):
        self.containers = [items for _, items, _ in found]
        self.lengths = [len(before) for _, _, before in found]
        self.items = _Identities([x for _, _, before in found for x in before])
        self.modules = [m for m, _, _ in found if m is not None]
        self.dicts = list(map(vars, self.modules))
        self.types = list(map(type, self.modules))

    def unmoved(self) -> bool:
        """Whether every container still holds the same objects in the same order.

        Lengths first: with each the same, the items of all containers in a row line up.
        """
        return (list(map(len, self.containers)) == self.lengths
                and self.items.held_by(list(chain.from_iterable(self.containers)))
                and all(map(is_, map(vars, self.modules), self.dicts))
                and all(map(is_, map(type, self.modules), self.types)))


class NamedState:
    """`state_named` of ``fn``, kept, with a cheap test of whether it changed.

    ``changed()`` finds what ``fn`` names again (a default argument or a global may have
    been rebound) and compares identities: the same objects, and each model's containers
    (their skeleton) holding the same objects, give the same state.  Only otherwise is the
    state built again and compared, parameters listed and numbers read bit for bit.

    >>> w = Value(1.0)
    >>> lam = [0.5]
    >>> named = NamedState(lambda x: w * x[0] + lam[0])
    >>> named.changed()
    False
    >>> lam[0] = 0.25
    >>> named.changed(), named.changed()
    (True, False)
    >>> scale = np.array([1.0, 2.0])
    >>> named = NamedState(lambda x: w * x[0] * scale[1])
    >>> scale[1] = 3.0                     # in place: the same array, other numbers
    >>> named.changed(), named.changed()
    (True, False)
    """

    def __init__(self, fn: Callable):
        self.fn = fn
        self.state: tuple = ()
        self._objects = _Identities([])
        self._skeleton: _Skeleton | None = None
        self.take()

    def take(self) -> tuple:
        """Keeps the state as it is now (after a trace, or an eager call that changed it)."""
        self._keep(reachable(self.fn))
        return self.state

    def _keep(self, objects: list) -> None:
        self.state, found = _state(objects)
        self._skeleton = None if found is None else _Skeleton(found)
        self._objects = _Identities(objects)
        # An array keeps its identity when its numbers change in place: those are compared.
        self._arrays = [(a, a.tobytes()) for a in objects if isinstance(a, np.ndarray)]

    def changed(self) -> bool:
        """Whether the state differs from the one kept; the new one is kept if it does."""
        objects = reachable(self.fn)
        if (self._skeleton is not None and self._objects.held_by(objects)
                and self._skeleton.unmoved()
                and all(a.tobytes() == kept for a, kept in self._arrays)):
            return False
        before = self.state
        self._keep(objects)
        return self.state != before
