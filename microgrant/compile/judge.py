"""judge: whether one watched run of a loss can be replayed, read from what it left behind.

A trace runs ``loss_fn`` twice, the second time watched (`microgrant.compile.watch`).  Before
a program is built from it, the two runs are compared (the same ops, the same constants, bit
for bit), the gradients it wrote and the Values it made from traced numbers are looked at,
and each thing a replay could not repeat is named: `refusal` gives the reason, or ``""``.
"""

from __future__ import annotations

from itertools import chain
from operator import attrgetter

import numpy as np

from ..engine import Value
from .watch import Number, Trace

__all__ = ["refusal", "leaves", "first_difference", "grads_written", "arguments", "aliases"]

_OP, _INPUTS = attrgetter("op"), attrgetter("inputs")
_ARG, _DATA = attrgetter("arg"), attrgetter("data")


def refusal(loss: Value, order1: list, order2: list, leaves1: list, leaves2: list,
            trace: Trace, drew: bool) -> str:
    """Why no replay of this trace can be trusted, or ``""``: ``order1``, ``leaves1`` are
    the first run's (`topological_order`, `leaves`), ``order2``, ``leaves2`` the watched's."""
    if drew:
        return ("loss_fn draws random numbers (from Python's random, numpy's global "
                "generator or a generator it names), which a replay would freeze. Draw them "
                "outside and pass them in as an array argument (a dropout mask: step(X, y, "
                "mask))")
    if list(map(_OP, order1)) != list(map(_OP, order2)):
        raise RuntimeError("loss_fn built different graphs on two runs with the same "
                           "inputs, so no trace of it can be replayed: compile needs a "
                           "function whose graph depends only on its arguments and "
                           "parameters (no random choices, no state changed per call)")
    if trace.unwatched:
        return trace.unwatched
    moved = first_difference(order1, order2, leaves1, leaves2)
    if moved:
        return (f"loss_fn's constants differ between two runs with the same inputs "
                f"({moved}): it changes state it reads (a counter, a list, a dict "
                f"entry) or draws from a random generator of its own, which a replay "
                f"would freeze. Keep such state outside loss_fn, or pass it in as an "
                f"array argument")
    interior1 = set(order1)
    if not interior1.isdisjoint(order2):
        op = next(n.op for n in order2 if n in interior1)
        return (f"loss_fn uses a Value computed before the call (op {op}): its "
                "number is not recomputed from its inputs, which a replay would do. "
                "Compute it inside loss_fn to compile")
    if not trace.own.issuperset(map(id, order2)):
        return ("loss_fn computes Values the trace did not watch (made in another "
                "thread, or before the call and changed since): a replay could not "
                "follow decisions on them")
    if not loss.op:
        return "loss_fn returned a leaf"
    return ""


def _bits(x) -> str:
    return float.hex(float.__float__(x)) if isinstance(x, float) else repr(x)


def _bits_of(values: list) -> np.ndarray:
    return np.fromiter(map(_DATA, values), np.float64, len(values)).view(np.int64)


def leaves(order: list) -> list:
    """The leaves the nodes of ``order`` take in, each once, in the order they are met (one
    pass in C over every input: a weight is an input of every sample's node)."""
    return [x for x in dict.fromkeys(chain.from_iterable(map(_INPUTS, order))) if not x.op]


def first_difference(order1: list, order2: list, leaves1: list, leaves2: list) -> str:
    """Where two runs' graphs (of the same ops) differ in a constant or an op's argument, by
    position, bit for bit; ``""`` when they do not.

    Asked first all at once: the same arguments, and the leaves (`leaves`, met in the same
    order when the graphs are the same) holding the same bits.  Only when that fails are
    the nodes walked one by one, to name the difference.
    """
    try:
        if (list(map(_ARG, order1)) == list(map(_ARG, order2)) and len(leaves1) == len(leaves2)
                and np.array_equal(_bits_of(leaves1), _bits_of(leaves2))):
            return ""
    except (TypeError, ValueError):  # a .data that is not a number: walked below
        pass
    for n1, n2 in zip(order1, order2):
        if _bits(n1.arg) != _bits(n2.arg):
            return f"op {n1.op}'s argument {_bits(n1.arg)} then {_bits(n2.arg)}"
        for a, b in zip(n1.inputs, n2.inputs):
            if a is b or a.op:
                continue
            x, y = a.data, b.data
            if type(x) is float and type(y) is float and x == y and x != 0.0:
                continue  # the same number (the bits of a zero's sign are asked below)
            if _bits(x) != _bits(y):
                return (f"an input of op {n1.op}: {float.__float__(a.data)!r} then "
                        f"{float.__float__(b.data)!r}")
    return "a constant used by several ops in one run and one op each in the other"


def grads_written(ordered: list, marks: list, grads: dict, trace: Trace) -> str:
    """Why the gradients written during the watched run keep it from being replayed, or
    ``""``; every grad gets a plain float back.

    Each of ``ordered``'s grads held its mark (`Trace.mark`) in the watched run; ``grads``
    holds the grads of the Values loss_fn names (and its models' parameters) before either
    run.  A grad computed in this thread (loss_fn's own ``backward()``, ``p.grad *= 0.5``)
    is a Number of the trace: both runs wrote it, so it gets its number from before them
    back (for a Value not named, both runs' additions are taken back).  A grad assigned a
    plain float (``zero_grad()``, or another thread) is left as it is.
    """
    written = False
    for v, mark in zip(ordered, marks):
        g = v.grad
        if g is mark:
            if isinstance(g, Number):
                v.grad = float.__float__(g)
            continue
        written = True
        if isinstance(g, Number):  # nothing of the trace stays in a grad
            if g.trace is not trace or mark is None:
                v.grad = float.__float__(g)
            elif v in grads:
                v.grad = grads[v]
            else:  # added the same twice: taken back twice
                v.grad = 2.0 * float.__float__(mark) - float.__float__(g)
    if not written:
        return ""
    return ("loss_fn writes gradients itself (backward(), zero_grad(), p.grad = ...), or "
            "another thread changed them while it was traced; a replay would not repeat "
            "that: a compiled step runs backward for you and adds to .grad as backward does. "
            "Call zero_grad() before the step, outside loss_fn (and use grad(..., "
            "create_graph=True) for a gradient inside the loss)")


def arguments(order: list, trace: Trace) -> None:
    """An op's constant argument computed from traced numbers (``x ** gamma.data``, a slope
    read from a Value) is guarded exactly: a replay keeps each op's argument as traced."""
    for node, arg in zip(order, map(_ARG, order)):
        if type(arg) is Number and arg.trace is trace:
            trace.exactly(arg.roots, f"takes as the argument of its op {node.op} the number of",
                          "loss_fn")


def aliases(loss: Value, order: list, found_leaves: list, trace: Trace,
            outside: list) -> dict:
    """Leaves made in the run from a traced number: {leaf: the Value that number is}.

    A number computed from several (``Value(a.data * 2)``), or an interior node's, is guarded
    exactly instead.  Every such leaf gets its plain float back.  The walk covers the loss
    and every Value a guard watches (and what those guards add).  Leaves it meets that the
    run did not watch (the weights of a target network loss_fn reaches through an attribute,
    used only behind ``.detach()``) are added to ``outside``: they existed before the call,
    so a replay reads them every call.
    """
    found: dict = {}
    own = trace.own
    # Every Value reached, over all roots at once; each leaf once (a weight feeds every sample).
    seen: set = set(order)
    todo = [*found_leaves, loss]
    done: set = set()
    behind_guards = False  # the loss's own leaves were all watched (the first run found them)
    while True:
        for x in todo:
            d = getattr(x, "data", None)
            if x.op or not isinstance(d, Number) or d.node is x:
                if behind_guards and not x.op and id(x) not in own:
                    outside.append(x)
                continue
            if d.trace is trace and d.node is not None and not d.node.op:
                found[x] = d.node
            elif d.trace is trace:
                trace.exactly(d.roots, "makes a constant (.detach(), Value(x.data); "
                              ".stop_gradient() is replayed instead) from the number of",
                              "loss_fn")
            x.data = float.__float__(d)
        roots = [r for r in [*trace.exact, *(n for key in trace.outcomes
                                             for n in (key[0], key[2]) if isinstance(n, Value)),
                             *(n for nodes in trace.checked.values() for n in nodes),
                             *(n for nodes, _ in trace.shifts for n in nodes
                               if isinstance(n, Value))] if r not in done]
        if not roots:
            return found
        done.update(roots)
        behind_guards = True
        todo, stack = [], roots
        while stack:
            x = stack.pop()
            if x not in seen:
                seen.add(x)
                todo.append(x)
                stack.extend(x.inputs)
