"""leftovers: the traced numbers a loss left in what it names, given back as plain floats.

A watched run hands ``loss_fn`` `Number` objects (floats that remember where they came from),
and a loss may keep one: in a log list, a deque, a tuple, an attribute, its own function's
attribute.  After a trace every such number within reach is made the plain float it is
(`unescape_named`): three levels into what ``loss_fn`` names, which a namedtuple or a frozen
dataclass does not let it change.
"""

from __future__ import annotations

import collections
import types
from typing import Any, Callable

from ..engine import Value
from .named import reachable
from .watch import Number

__all__ = ["unescape_named"]


def unescape_named(fn: Callable) -> None:
    """Gives back a plain float wherever a traced number was left in what ``fn`` names (a
    global or a closure variable it assigned; a Value's ``.data``; an item of a list, deque
    or dict, a tuple's, an object's attribute, the function's own; three levels deep)."""
    seen: set = set()
    for obj in (*reachable(fn), fn, getattr(fn, "__func__", None)):
        _unescape(obj, 3, seen)
    function = getattr(fn, "__func__", fn)  # a name it assigned: ``global last; last = ...``
    names, code = getattr(function, "__globals__", {}), getattr(function, "__code__", None)
    for name in code.co_names if code is not None else ():
        if isinstance(names.get(name), Number):
            names[name] = float.__float__(names[name])
    for cell in getattr(function, "__closure__", None) or ():  # and ``nonlocal last``
        try:
            if isinstance(cell.cell_contents, Number):
                cell.cell_contents = float.__float__(cell.cell_contents)
        except ValueError:  # an empty cell
            continue


def _unescape(obj, depth: int, seen: set) -> None:
    if depth == 0 or id(obj) in seen or isinstance(obj, (type, types.ModuleType)):
        return
    seen.add(id(obj))
    if type(obj) is Value:
        if isinstance(obj.data, Number):
            obj.data = float.__float__(obj.data)
        return
    if isinstance(obj, dict):
        items: Any = list(obj.items())
    elif isinstance(obj, (list, collections.deque)):
        items = list(enumerate(list(obj)))  # a copy: another thread may be appending
    else:
        items = list(getattr(obj, "__dict__", {}).items())
    for key, x in items:
        plain = _plain_of(x)
        if plain is x:
            _unescape(x, depth - 1, seen)
            continue
        try:
            if isinstance(obj, (dict, list, collections.deque)):
                obj[key] = plain
            else:
                setattr(obj, key, plain)
        except (IndexError, KeyError, AttributeError, TypeError):  # changed meanwhile
            continue


def _plain_of(x):
    """``x`` with no traced number in it: a Number as its float, a tuple of them rebuilt."""
    if isinstance(x, Number):
        return float.__float__(x)
    if type(x) is tuple and any(isinstance(y, Number) for y in x):
        return tuple(float.__float__(y) if isinstance(y, Number) else y for y in x)
    return x
