"""Module: what every network part is, and the rules that keep its parameters trainable.

Backprop fills in ``.grad`` on every Value a loss depends on; training needs the ones it may
change, the parameters.  A `Module` finds them: it walks its attributes (Values, lists of
Values, other Modules) and lists every parameter once, in a fixed order, each named by its
path (``layers.0.neurons.3.w.1``).  ``zero_grad``, the state dict and the weights files all
come from that list.  The network parts built on it (`microgrant.nn`'s `Neuron`, `Layer`,
`MLP`, `Linear`, ...) share the helpers of `microgrant.parts`: activations and
initialisations by name, and one sample's inputs checked once.

Last come the parameter guards.  A parameter is a leaf Value that takes a gradient, and it is
trained only while it stays the same leaf: ``n.w[0] = 3.0`` would swap it for a number, and
``n.w[0] += 0.1`` (or ``n.w[0:1] = [...]``, ``n.w = [w * 0.5 for w in n.w]``) for the result of
an op (an interior node of a graph, which no gradient reaches).  These are errors that say
what to write instead (``n.w[0].data += 0.1``), as PyTorch refuses an in-place change of a
leaf.  As PyTorch tells parameters from plain attributes, the results of ops (a running total,
an RNN's hidden state) are not parameters and may be replaced, and a parameter may be set to
``None``.  Values kept in a dict are not parameters (as in PyTorch); assigning such a dict
warns.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Sequence, TypeGuard

from . import checks, io
from .engine import Value

__all__ = ["Module", "ParameterList"]


# ---- Module ---------------------------------------------------------------------------------

class Module:
    """The base of every network part: it calls ``forward``, and finds, names, resets, saves
    and loads parameters.

    A subclass defines ``forward(x)`` (as in PyTorch; calling the module calls it) and keeps
    its parameters in attributes: a `Value`, a list of Values, another Module or a list of
    Modules.  `named_parameters` finds them all, in the order the attributes were set, and
    names each by its path (``layers.0.neurons.3.w.1``).  A parameter is a leaf Value; the
    results of ops (state a forward pass keeps, such as a running total) are not, as plain
    tensors are not in PyTorch.  A parameter attribute only takes another leaf Value or
    ``None``: ``n.b = 3.0`` is an error that says to write ``n.b.data = 3.0``.  Values (or
    Modules) kept in a dict are not found, as in PyTorch: keep them in a list or an
    attribute each (assigning a dict holding some warns).

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
        if name.startswith("_"):  # not searched for parameters, so not guarded
            object.__setattr__(self, name, value)
            return
        old = self.__dict__.get(name)
        where = f"{type(self).__name__}.{name}"
        if _is_parameter(old) and value is not None:
            if not isinstance(value, Value):
                raise TypeError(f"{where} is a parameter (a Value); assigning "
                                f"{checks.shown(value)} would stop it from being trained. Set "
                                f"its number instead: {_hint(name, value)}{_STATE_HINT}")
            _check_replacement(where, name, old, value, _STATE_HINT)
        if value is not None and (_holds_parameters(old) or _holds_parameters(value)):
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{where} is a list of parameters; assigning "
                                f"{checks.shown(value)} would stop them from being trained. "
                                f"Assign a list of Values, or set each number: "
                                f"{name}[i].data = ...")
            if isinstance(old, (list, tuple)):
                _check_items(name, old, value)
            value = ParameterList(value, name)
        elif isinstance(value, dict) and any(isinstance(v, (Value, Module))
                                             for v in value.values()):
            warnings.warn(f"{where} is a dict holding Values or Modules; parameters() does "
                          f"not look inside dicts, so they are not trained or saved. Keep "
                          f"them in a list, or as attributes of their own", UserWarning,
                          stacklevel=2)
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
                    if id(value) not in seen and not value.inputs:  # results of ops are not
                        # parameters (a forward pass's state or outputs), as in PyTorch
                        seen.add(id(value))
                        found.append((f"{prefix}{key}", value) if named else value)
                elif isinstance(value, (Module, list, tuple)) and id(value) not in seen:
                    seen.add(id(value))
                    if type(value) is not ParameterList and not isinstance(value, Module):
                        _check_list(value, f"{prefix}{key}")
                    stack.append((f"{prefix}{key}." if named else "", _children(value)))
                    break  # visit the child now; this iterator resumes after it
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
        return {name: float(p.data) for name, p in self.named_parameters()}

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
            item = list(item)
            start = index.indices(len(self))[0]
            _check_items(self._name, self[index], item, start)
            item = [self._checked(start + i, v) for i, v in enumerate(item)]
        else:
            _check_items(self._name, [self[index]], [item], index)
            item = self._checked(index, item)
        super().__setitem__(index, item)

    def __reduce__(self):
        # pickle and copy.deepcopy rebuild the list through __init__, so the name is set first
        return (ParameterList, (list(self), self._name))

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


def _check_replacement(where: str, name: str, old: Value, value, state: str = "") -> None:
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
                        f"{in_place} {number}{state}")
    if value.op or value.inputs:
        raise TypeError(f"{where} is a parameter: assigning it the result of an op "
                        f"({value.op or 'an op'}) would make it an interior node of a graph, "
                        f"which no gradient reaches. Change its number instead: {name}.data "
                        f"= <a number>{state}")
    if not value.requires_grad:
        raise TypeError(f"{where} is a parameter; assigning a constant Value (one that takes "
                        f"no gradient, as no_grad() makes) would stop it from being trained. "
                        f"Set its number instead: {name}.data = {format(value.data, 'g')}{state}")


_STATE_HINT = (". (If it is state a forward pass replaces, such as a running total or a "
               "hidden state, rather than a parameter, start it as a float, self.h = 0.0: "
               "numbers and the results of ops are not parameters, and may be replaced)")


def _is_parameter(value) -> TypeGuard[Value]:
    """Whether ``value`` is a parameter: a leaf Value that takes a gradient."""
    return isinstance(value, Value) and value.requires_grad and not value.inputs \
        and value.op == ""


def _check_items(name: str, old: Sequence, new: Sequence, start: int = 0) -> None:
    """Refuses to replace, item by item, a parameter of ``old`` by a Value no gradient
    would train (rows of parameters are compared row by row)."""
    for i, (before, after) in enumerate(zip(old, new), start):
        where = f"{name}[{i}]"
        if _is_parameter(before):
            if isinstance(after, Value):
                _check_replacement(where, where, before, after)
        elif isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
            _check_items(where, before, after)


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
