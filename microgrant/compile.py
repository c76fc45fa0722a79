"""compile: one training step's scalar graph, traced once and replayed as numpy array code.

A scalar engine pays Python's price for every node of every step: a forward pass of the moons
MLP makes about 38,000 Values, and backward visits each of them again.  Yet the graph is the
same every step; only the numbers change.  `compile` runs ``loss_fn`` once on stand-in inputs,
keeps the graph it recorded, and sorts its nodes into *levels* (a node's level is one more than
its deepest input's) and, within a level, into *groups* of nodes doing the same op.  Every
group is then one numpy operation over all of its nodes at once:

* forward, level by level: gather each group's inputs by index, apply the op's array kernel
  (``OPS[name].array_forward``, the op table's own), store the results;
* backward, level by level from the top: a node's gradient is the sum of the contributions of
  the edges leaving it, added in exactly the order ``Value.backward`` adds them, then the op's
  ``array_local_grads`` times that gradient are the contributions its inputs receive.

That is what a tensor library does: thousands of scalar multiplications become one call of a
loop written in C.  The answers are ``Value.backward``'s (the same kernels, and sums taken in
the same order), to a few units in the last place.

What a replay cannot see is Python code that *decides* something from a number: ``if
x.data > 0``, a comparison ``a < b`` of two Values, ``max(z.data for z in zs)``.  Such a
decision was taken once, at the trace; the replay would keep it for numbers that decide
otherwise.  So the trace watches: while ``loss_fn`` runs, every Value's ``.data`` is a
stand-in number that notes how it is used outside the op table.  A comparison becomes a
*guard* on its outcome, any other use (arithmetic, ``float()``, printing) a guard on the exact
number; every call checks its guards on the replayed numbers (a few array comparisons), and
when one fails the step traces again at the new numbers.  A check that only decides whether
to raise (`microgrant.checks.satisfies`: a loss refusing a label 0 for hinge) is no decision
about the graph: the trace keeps the check itself, and every call applies it to all of its
numbers at once, running eagerly (which raises the error) when one fails.  softmax's shift
(the max it subtracts to keep exp in range, `microgrant.checks.stabilizer`) is kept from the
trace while the largest score stays near it.  See `compile` for exactly what is guaranteed.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import operator
import os
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import checks, engine, ops
from .checks import shown
from .engine import Value, topological_order
from .ops import OPS

__all__ = ["compile", "CompiledStep", "Tape", "TapeGroup", "CheckReport"]

#: How close a compiled step must be to the eager engine for `CompiledStep.check` to pass:
#: ``|compiled - eager| <= TOLERANCE * max(1, |eager|)`` for the loss and every gradient.
TOLERANCE = 1e-12


# ---- tracing: stand-in numbers that note how they are used ------------------------------------

_ENGINE = vars(engine)
_OPS = vars(ops)
_INIT = Value.__init__.__code__
_SATISFIES = checks.satisfies.__code__
_STABILIZER = checks.stabilizer.__code__
SHIFT_BAND = 50.0
"""How far the largest of some numbers may move from the shift traced as their max
(`checks.stabilizer`) before the step traces again.  Within it, exp of a shifted score
never overflows or loses precision, and log-sum-exp loses at most about 50 units of 2^-52,
relative to its terms, to the shift (see `compile` for when that matters)."""
_HERE = os.path.dirname(os.path.abspath(__file__))
# The files of the engine's own frames (the generated functions are "<microgrant. ...>").
_CORE = {os.path.join(_HERE, name) for name in ("engine.py", "ops.py", "compile.py")}
_COMPARISONS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"}
_COMPARE = {"__eq__": np.equal, "__ne__": np.not_equal, "__lt__": np.less,
            "__le__": np.less_equal, "__gt__": np.greater, "__ge__": np.greater_equal}
_SYMBOL = {"__eq__": "==", "__ne__": "!=", "__lt__": "<", "__le__": "<=", "__gt__": ">",
           "__ge__": ">="}


class _Traced:
    """A Value's number during a trace: it behaves as the float, and tells the trace its uses.

    Uses inside the op table (an op computing its result from its inputs) are the graph
    itself and need no note; every other use is a decision or a constant taken from the
    number, which the replay must guard.
    """

    __slots__ = ("value", "node", "trace")

    def __init__(self, value: float, node: Value, trace: _Trace):
        self.value = value
        self.node = node
        self.trace = trace


def _traced_method(name: str):
    method = getattr(float, name)

    def use(self, *args):
        self.trace.used(self, name, args)
        return method(self.value, *[a.value if type(a) is _Traced else a for a in args])
    use.__name__ = name
    return use


for _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__",
              "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
              "__rmod__", "__divmod__", "__rdivmod__", "__pow__", "__rpow__", "__neg__",
              "__pos__", "__abs__", "__float__", "__int__", "__trunc__", "__floor__",
              "__ceil__", "__round__", "__hash__", "__repr__", "__str__", "__format__",
              "is_integer", "hex", "as_integer_ratio", "conjugate"):
    setattr(_Traced, _name, _traced_method(_name))
_Traced.real = property(lambda self: float(self))  # type: ignore[attr-defined]
_Traced.imag = property(lambda self: 0.0 * float(self))  # type: ignore[attr-defined]
# The engine takes any numbers.Real for a Value's number (Value(x.data) calls float() on it).
numbers.Real.register(_Traced)


def _outside() -> str:
    """Where user code is: the innermost frame outside microgrant's core modules."""
    frame: Any = sys._getframe(3)
    while frame is not None and (frame.f_code.co_filename in _CORE
                                 or frame.f_code.co_filename.startswith("<microgrant.")):
        frame = frame.f_back
    if frame is None:
        return "?"
    code = frame.f_code
    return f"{code.co_name} ({os.path.basename(code.co_filename)}:{frame.f_lineno})"


class _Trace:
    """What one traced run of ``loss_fn`` did with numbers, beyond the graph it recorded."""

    def __init__(self) -> None:
        self.open = True
        self.tainted: list[Value] = []
        self.pending: list[Value] = []          # inputs an op read to compute its result
        self.outcomes: dict = {}                # (node, name, other) -> outcome
        self.exact: dict = {}                   # node -> where its number was first used
        self.checked: dict = {}                 # ok -> {node: None}: checks.satisfies(node, ok)
        self.shifts: list = []                  # (the nodes, their max): checks.stabilizer
        self.reasons: list[str] = []

    def taint(self, v: Value) -> None:
        d = v.data
        if type(d) is float:
            v.data = _Traced(d, v, self)  # type: ignore[assignment]
            self.tainted.append(v)

    def restore(self) -> None:
        self.open = False
        for v in self.tainted:
            if type(v.data) is _Traced:
                v.data = v.data.value
        self.tainted = []

    def used(self, t: _Traced, name: str, args: tuple) -> None:
        if not self.open:
            return
        # The caller of the float method, skipping op-table frames: if an op's forward
        # function, called by the engine, is using the number, it is the graph at work.
        frame: Any = sys._getframe(2)
        in_ops = False
        while frame is not None and frame.f_globals is _OPS:
            frame, in_ops = frame.f_back, True
        if in_ops and frame is not None and frame.f_globals is _ENGINE:
            self.pending.append(t.node)
            return
        # softmax's shift (checks.stabilizer): the comparisons that find the max decide
        # nothing, and the max itself is kept while the largest of those numbers stays near.
        if frame is not None and frame.f_code is _STABILIZER:
            if name == "__float__":
                taken = frame.f_locals["numbers"]
                nodes = [u.node for u in taken if type(u) is _Traced]
                if nodes:
                    self.shifts.append((nodes, t.value))
                    self._reason(f"softmax's shift, the max of {len(taken)} scores, is kept "
                                 f"while the largest stays within {SHIFT_BAND:g} of it")
            return
        # A number checked only to decide whether to raise (checks.satisfies: the losses'
        # checks of their targets), against plain numbers: each call applies the same check
        # to its own numbers.  (One that came out False was a decision: see _Program.)
        if not any(type(a) is _Traced for a in args):
            check = frame
            for _ in range(3):
                if check is None:
                    break
                if check.f_code is _SATISFIES and check.f_locals.get("value") is t:
                    self.checked.setdefault(check.f_locals["ok"], {})[t.node] = None
                    return
                check = check.f_back
        if (name == "__float__" and frame is not None and frame.f_globals is _ENGINE
                and t.node in self.pending):
            # An op whose result is one of its inputs' numbers as it is (relu of a positive
            # x returns x): the engine turns that result into a float.  Still the graph.
            return
        other = args[0] if args else None
        if name == "__bool__":
            name, other = "__ne__", 0.0
        if name in _COMPARISONS:
            if type(other) is _Traced:
                rhs: Any = other.node
            elif isinstance(other, (numbers.Real, np.bool_)) and not isinstance(other, Value):
                rhs = float(other)
            else:
                rhs = None
            if rhs is not None:
                key = (t.node, name, rhs)
                if key not in self.outcomes:
                    value = other.value if type(other) is _Traced else rhs
                    self.outcomes[key] = bool(getattr(float, name)(t.value, value))
                    self._reason(f"{_outside()} compares {_named(t.node)} {_SYMBOL[name]} "
                                 f"{_named(rhs) if isinstance(rhs, Value) else rhs!r}")
                return
        for u in (t, other):
            if type(u) is _Traced and u.node not in self.exact:
                self.exact[u.node] = True
                self._reason(f"{_outside()} uses the number of {_named(u.node)} ({name})")

    def returned(self, v: Value) -> None:
        """An engine function returned ``v``: a new Value gets a stand-in number too."""
        if self.pending:
            if v.grad is None and not v.op:
                # A constant computed from traced numbers (an op none of whose inputs takes
                # a gradient, or one under no_grad): the replay keeps it, so its inputs'
                # exact numbers are guarded.
                for node in self.pending:
                    if node not in self.exact:
                        self.exact[node] = True
                        self._reason(f"{_outside()} makes a constant from {_named(node)}")
            self.pending = []
        self.taint(v)

    def _reason(self, text: str) -> None:
        if len(self.reasons) < 20:
            self.reasons.append(text)

    def profile(self, frame, event, arg):
        # sys.setprofile hook: every Value an engine function returns (or initialises) gets
        # a stand-in number before user code can see it.
        if event == "return" and frame.f_globals is _ENGINE:
            if type(arg) is Value:
                self.returned(arg)
            elif frame.f_code is _INIT:
                self.taint(frame.f_locals["self"])


def _named(v: Value) -> str:
    return f"'{v.label}'" if v.label else f"a Value ({v.op or 'leaf'})"


# ---- the tape ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TapeGroup:
    """One array operation of the tape: every node of one op at one level.

    Attributes:
        level: 1 + the deepest level among the nodes' inputs (leaves are level 0).
        op: the op's name.
        nodes: how many scalar nodes the group computes at once.
        inputs_each: inputs per node.
        in_loss: False for nodes computed only for a guard (not part of the loss).
    """

    level: int
    op: str
    nodes: int
    inputs_each: int
    in_loss: bool = True


@dataclass(frozen=True)
class Tape:
    """What a compiled step replays, in numbers: `CompiledStep.tape`.

    Attributes:
        nodes: scalar op nodes of the traced graph (each a Value in an eager step).
        leaves: leaves it reads: ``parameters`` + ``inputs`` + constants.
        parameters: leaves that take a gradient, read from ``.data`` at every call.
        inputs: the stand-ins for the arrays' elements.
        edges: input-to-node connections (one contribution each in backward).
        levels: the number of levels; the graph's depth.
        groups: one `TapeGroup` per array operation, in forward order.
        numpy_calls: about how many numpy calls one step makes (forward and backward).
        outcome_guards: comparisons whose outcome every call checks.
        exact_guards: numbers every call checks are unchanged.
        guard_reasons: where the trace saw ``loss_fn`` decide from a number.
        eager_reason: why every call runs eagerly instead (``""`` when it is compiled).
        input_checks: numbers every call checks as ``loss_fn`` does (`checks.satisfies`),
            such as a loss's targets; they decide nothing about the graph.
        shift_guards: shifts kept from the trace (`checks.stabilizer`: softmax's max), each
            checked to stay within `SHIFT_BAND` of the max of the numbers it was taken of.
    """

    nodes: int
    leaves: int
    parameters: int
    inputs: int
    edges: int
    levels: int
    groups: tuple[TapeGroup, ...]
    numpy_calls: int
    outcome_guards: int
    exact_guards: int
    guard_reasons: tuple[str, ...]
    eager_reason: str = ""
    input_checks: int = 0
    shift_guards: int = 0


_SUM, _DOT, _TABLE, _GRID = 0, 1, 2, 3
_DATA, _GRAD = operator.attrgetter("data"), operator.attrgetter("grad")


class _Group:
    """One group's plan: its nodes' slots, how to gather their inputs and where its edges go."""

    __slots__ = ("op", "arg", "kind", "k", "n", "half", "bias", "level", "in_loss", "start",
                 "stop", "gather", "e0", "e1", "gidx", "bin_ids", "bin_slots", "xs", "out",
                 "root", "rows", "cols", "w_idx", "x_idx", "b_idx", "targets")
    op: Any
    arg: Any
    kind: int
    k: int
    n: int
    half: int
    bias: bool
    level: int
    in_loss: bool
    start: int
    stop: int
    gather: Any
    e0: int
    e1: int
    gidx: Any
    bin_ids: Any
    bin_slots: Any
    xs: Any
    out: Any
    root: bool
    rows: Any
    cols: Any
    w_idx: Any
    x_idx: Any
    b_idx: Any
    targets: Any


def _grid(nodes: list, k: int):
    """A dot group as a matrix product, when it is one: (rows, columns, node order) or None.

    A layer of neurons applied to a batch of samples is n = J x S weighted sums, each pairing
    one neuron's weights (and bias) with one sample's inputs.  Computed as one (J, h) @
    (h, S) product instead of gathering J x S copies of the weights, it is a tensor
    library's dense layer, found in the scalar graph.
    """
    h = k // 2
    rows: dict = {}
    cols: dict = {}
    pairs = []
    for node in nodes:
        inputs = node.inputs
        w = inputs[:h] + inputs[2 * h:]
        x = inputs[h:2 * h]
        pairs.append((rows.setdefault(w, len(rows)), cols.setdefault(x, len(cols)), node))
    if len(rows) * len(cols) != len(nodes) or len(rows) == len(nodes) == 1 or len(
            {(j, s) for j, s, _ in pairs}) != len(nodes):
        return None
    pairs.sort(key=lambda p: (p[0], p[1]))
    return list(rows), list(cols), [node for _, _, node in pairs]


def _column_sums(block: np.ndarray) -> np.ndarray:
    # Sums down each column, adding rows one after another as Python's sum() and +=
    # do: numpy reduces a (k, n) block row by row, except for a single column, which it
    # would sum pairwise (a different order of additions), so that one is a running sum.
    if block.shape[1] == 1 and block.shape[0] > 2:
        return np.cumsum(block[:, 0])[-1:]
    return np.add.reduce(block, axis=0)


class _Program:
    """The arrays and index plans of one trace, and the replay of forward and backward."""

    def __init__(self, loss: Value, placeholders: list[Value], preexisting: set,
                 trace: _Trace):
        # A kept check must have held for every number it saw (one that came out False let
        # loss_fn decide something: a skipped row, say), and must work on an array as it did
        # on each float, since every call applies it to one.  Else its numbers are guarded.
        for ok, nodes in list(trace.checked.items()):
            if nodes and not _works_on_arrays(ok, [v.data for v in nodes]):
                del trace.checked[ok]
                for v in nodes:
                    trace.exact.setdefault(v, True)
                trace._reason(f"a check of {_named(next(iter(nodes)))} failed at the trace "
                              "or does not work on an array: its numbers are guarded")
        order = topological_order(loss)
        in_loss = set(order)
        # Values a guard watches are computed too, even where the loss does not use them.
        extra = list(dict.fromkeys([*trace.exact, *(
            n for key in trace.outcomes for n in (key[0], key[2]) if isinstance(n, Value)),
            *(n for nodes in trace.checked.values() for n in nodes),
            *(n for nodes, _ in trace.shifts for n in nodes)]))
        for root in extra:
            if root.op and root not in in_loss:
                seen = set(order)
                order += [n for n in topological_order(root) if n not in seen]
        rank = {node: i for i, node in enumerate(order)}

        # Leaves: inputs, then parameters and other Values that existed before the call
        # (read at every call), then constants made during the trace (fixed).
        leaves: dict = {}
        for node in order:
            for x in node.inputs:
                if not x.op:
                    leaves[x] = None
        for v in extra:
            if not v.op:
                leaves[v] = None
        if not loss.op:
            leaves[loss] = None
        slot: dict = {}
        self.input_slots = np.array([_slot(slot, v) for v in placeholders], dtype=np.intp)
        outer = [v for v in leaves if v in preexisting and v not in slot]
        self.outer = outer
        self.outer_slots = np.array([_slot(slot, v) for v in outer], dtype=np.intp)
        constants = [v for v in leaves if v not in slot]
        for v in constants:
            _slot(slot, v)
        loss_leaves = {x for node in in_loss for x in node.inputs}
        self.params = [v for v in outer if v.grad is not None and v in loss_leaves]
        params = set(self.params)
        self.fixed = [v for v in outer if v.grad is None]

        # Levels, then groups of one op (and one argument and arity) per level.
        level: dict = {}
        for node in order:
            level[node] = 1 + max((level.get(x, 0) for x in node.inputs), default=0)
        keyed: dict = {}
        for node in order:
            arg = node.arg
            key = (level[node], node in in_loss, node.op, len(node.inputs),
                   None if arg is None else float(arg))
            keyed.setdefault(key, []).append(node)
        groups = []
        for key in sorted(keyed, key=lambda k: (k[0], not k[1], k[2], k[3], k[4] or 0.0)):
            nodes = keyed[key]
            g = _Group()
            g.level, g.in_loss, name, g.k, g.arg = key
            g.op = OPS[name]
            g.n = len(nodes)
            g.kind = _SUM if name == "sum" else _DOT if name == "dot" else _TABLE
            g.half, g.bias = g.k // 2, bool(g.k % 2)
            grid = _grid(nodes, g.k) if g.kind == _DOT else None
            if grid is not None:
                g.kind, (g.rows, g.cols, nodes) = _GRID, grid
            g.start = len(slot)
            for node in nodes:
                _slot(slot, node)
            g.stop = len(slot)
            g.gather = np.array([[slot[node.inputs[j]] for node in nodes]
                                 for j in range(g.k)], dtype=np.intp).reshape(g.k, g.n)
            g.root = loss in nodes
            if g.kind == _GRID:
                h = g.half
                g.w_idx = np.array([[slot[v] for v in w[:h]] for w in g.rows],
                                   dtype=np.intp).reshape(len(g.rows), h)
                g.x_idx = np.array([[slot[v] for v in x] for x in g.cols],
                                   dtype=np.intp).reshape(len(g.cols), h)
                g.b_idx = np.array([slot[w[h]] for w in g.rows] if g.bias else [],
                                   dtype=np.intp)
                # Its edges: one per weight, input and bias of the product (not per node).
                g.targets = ([v for w in g.rows for v in w[:h]] + [v for x in g.cols for v in x]
                             + ([w[h] for w in g.rows] if g.bias else []))
            groups.append((g, nodes))

        # Guards read the replayed numbers; a comparison with a number keeps it in a slot.
        def guard_slot(v):
            if isinstance(v, Value):
                return slot[v]
            _slot(slot, ("constant", v))
            return slot[("constant", v)]
        by_name: dict = {}
        for (node, name, other), outcome in trace.outcomes.items():
            entry = by_name.setdefault(name, ([], [], []))
            entry[0].append(slot[node])
            entry[1].append(guard_slot(other))
            entry[2].append(outcome)
        self.outcome_guards = [(_COMPARE[name], np.array(a, dtype=np.intp),
                                np.array(b, dtype=np.intp), np.array(c, dtype=bool))
                               for name, (a, b, c) in by_name.items()]
        self.reasons = tuple(trace.reasons)
        self.exact_slots = np.array([slot[v] for v in trace.exact], dtype=np.intp)
        self.exact_values = np.array([v.data for v in trace.exact], dtype=np.float64)
        self.checks = [(ok, np.array([slot[v] for v in nodes], dtype=np.intp))
                       for ok, nodes in trace.checked.items()]
        # One row per shift, the slots of the numbers it is the max of (a short row repeats
        # its first: the max is the same).
        width = max((len(nodes) for nodes, _ in trace.shifts), default=1)
        self.shift_slots = np.array([[slot[v] for v in nodes] + [slot[nodes[0]]] * (
            width - len(nodes)) for nodes, _ in trace.shifts], dtype=np.intp).reshape(-1, width)
        self.shift_values = np.array([c for _, c in trace.shifts], dtype=np.float64)

        self.V = np.zeros(len(slot))
        for v in constants:
            self.V[slot[v]] = v.data
        for key in slot:
            if isinstance(key, tuple):
                self.V[slot[key]] = key[1]
        self.loss_slot = slot[loss]
        self.op_start = groups[0][0].start if groups else len(slot)
        self.op_stop = groups[-1][0].stop if groups else len(slot)

        # Edges: the contribution of each (group, input position, node) has one place in C,
        # group by group, row by row.  A node's gradient is the sum of the contributions of
        # the edges into its inputs from its consumers, in the order backward visits them.
        edges_of: dict = {}
        offset = 0
        for g, nodes in groups:
            if not g.in_loss:
                continue
            if g.kind == _GRID:
                g.e0, g.e1 = offset, offset + len(g.targets)
                r = -rank[nodes[-1]]
                for i, x in enumerate(g.targets):
                    if x.grad is not None and (x.op or x in params):
                        edges_of.setdefault(x, []).append((r, 0, offset + i))
                offset = g.e1
                continue
            g.e0, g.e1 = offset, offset + g.k * g.n
            for i, node in enumerate(nodes):
                r = -rank[node]
                for j, x in enumerate(node.inputs):
                    if x.grad is not None and (x.op or x in params):
                        edges_of.setdefault(x, []).append((r, j, offset + j * g.n + i))
            offset = g.e1
        self.edge_count = offset
        self.C = np.zeros(offset + 1)  # the last slot stays 0.0: padding for uneven sums
        self.forward_groups = [g for g, _ in groups]
        self.backward_groups = [g for g, _ in reversed(groups) if g.in_loss]
        for g, nodes in groups:
            g.gidx = g.bin_ids = g.bin_slots = None
            if g.in_loss and not g.root:
                self._plan(g, [edges_of.get(node, []) for node in nodes])
        self.pplan = _Group()
        self.pplan.n = len(self.params)
        self.pplan.gidx = self.pplan.bin_ids = self.pplan.bin_slots = None
        self._plan(self.pplan, [edges_of.get(p, []) for p in self.params])

        self.groups = tuple(TapeGroup(g.level, g.op.name, g.n, g.k, g.in_loss)
                            for g, _ in groups)
        self.levels = max((g.level for g, _ in groups), default=0)
        self.nodes = len(order)
        self.leaf_count = len(leaves)
        calls = (4 + 3 * len(self.outcome_guards) + (2 if len(self.exact_slots) else 0)
                 + 3 * len(self.checks) + (4 if len(self.shift_slots) else 0))
        for g, _ in groups:
            calls += {_GRID: 6, _DOT: 5, _SUM: 3}.get(g.kind, 2 + g.k)
            if g.in_loss:
                calls += {_GRID: 5, _DOT: 6, _SUM: 3}.get(g.kind, 3 + 2 * g.k)
        self.numpy_calls = calls

    def _plan(self, g, edge_lists: list) -> None:
        """How to sum each node's incoming contributions, in backward's order."""
        n = len(edge_lists)
        lists = [[s for _, _, s in sorted(edges)] for edges in edge_lists]
        total = sum(len(s) for s in lists)
        m = max((len(s) for s in lists), default=0)
        zero = self.edge_count
        if m * n <= 2 * total + 64:
            g.gidx = np.array([[s[i] if i < len(s) else zero for s in lists]
                               for i in range(m)], dtype=np.intp).reshape(m, n)
        else:  # very uneven: one bincount, which adds in array order, node by node
            g.bin_ids = np.array([i for i, s in enumerate(lists) for _ in s], dtype=np.intp)
            g.bin_slots = np.array([x for s in lists for x in s], dtype=np.intp)

    def gradient(self, g) -> np.ndarray:
        if g.gidx is not None:
            if g.gidx.shape[0] == 1:  # one consumer each: the gradient is that contribution
                return self.C[g.gidx[0]]
            if g.gidx.shape[0] == 0:
                return np.zeros(g.n)
            return _column_sums(self.C[g.gidx])
        return np.bincount(g.bin_ids, weights=self.C[g.bin_slots], minlength=g.n)

    def forward(self, flat_inputs: np.ndarray) -> str:
        """Loads the numbers and runs forward; returns why it must not be used, or ""."""
        V = self.V
        V[self.input_slots] = flat_inputs
        outer = self.outer
        if None in map(_GRAD, self.params) or any(v.grad is not None for v in self.fixed):
            return "retrace"  # a parameter was frozen or unfrozen: the graph differs
        try:
            V[self.outer_slots] = np.fromiter(map(_DATA, outer), np.float64, len(outer))
        except (TypeError, ValueError):
            return "eager"  # a .data that is not a number: the engine says what is wrong
        with np.errstate(all="ignore"):
            for g in self.forward_groups:
                if g.kind == _GRID:
                    w, x = V[g.w_idx], V[g.x_idx]
                    z = w @ x.T
                    if g.bias:
                        z += V[g.b_idx][:, None]
                    V[g.start:g.stop] = z.ravel()
                    g.xs = (w, x)
                    continue
                xs = V[g.gather]
                if g.kind == _SUM:
                    out = _column_sums(xs)
                elif g.kind == _DOT:
                    out = _column_sums(xs[:g.half] * xs[g.half:2 * g.half])
                    if g.bias:
                        out = out + xs[-1]
                else:
                    out = g.op.array_forward(tuple(xs), g.arg)
                V[g.start:g.stop] = out
                g.xs, g.out = xs, out
        # First: a stale shift can itself overflow exp, which a new trace would not.
        if len(self.shift_slots):
            with np.errstate(all="ignore"):  # a NaN score fails the test, quietly
                near = np.abs(V[self.shift_slots].max(axis=1) - self.shift_values) <= SHIFT_BAND
            if not near.all():
                return "retrace"  # the scores moved far from the traced shift: take a new one
        if not np.isfinite(V[self.op_start:self.op_stop]).all():
            return "eager"  # a domain error or overflow: the eager engine raises it
        with np.errstate(all="ignore"):
            for ok, idx in self.checks:
                if not np.all(ok(V[idx])):
                    return "eager"  # numbers loss_fn refuses (a label 0 for hinge): eager says so
        for compare, a, b, outcome in self.outcome_guards:
            if not np.array_equal(compare(V[a], V[b]), outcome):
                return "retrace"
        if len(self.exact_slots) and not np.array_equal(
                V[self.exact_slots].view(np.int64), self.exact_values.view(np.int64)):
            return "retrace"
        return ""

    def backward(self) -> np.ndarray | None:
        """Fills the contributions; returns the parameters' gradients, or None to go eager."""
        C = self.C
        with np.errstate(all="ignore"):
            for g in self.backward_groups:
                G = np.ones(1) if g.root else self.gradient(g)
                if g.kind == _GRID:
                    # d z[j, s] / d w[j, i] = x[s, i], d z[j, s] / d x[s, i] = w[j, i]: summed
                    # over the batch, these are the two matrix products of a dense layer.
                    w, x = g.xs
                    rows, cols, h = w.shape[0], x.shape[0], g.half
                    grid = G.reshape(rows, cols)
                    e = g.e0
                    np.matmul(grid, x, out=C[e:e + rows * h].reshape(rows, h))
                    e += rows * h
                    np.matmul(grid.T, w, out=C[e:e + cols * h].reshape(cols, h))
                    if g.bias:
                        e += cols * h
                        np.add.reduce(grid, axis=1, out=C[e:e + rows])
                    continue
                block = C[g.e0:g.e1].reshape(g.k, g.n)
                if g.kind == _SUM:
                    block[:] = G
                elif g.kind == _DOT:
                    # The table's dot partials (d/dw_i = x_i, d/dx_i = w_i, d/db = 1) on the
                    # whole block at once, each times the node's gradient as backward does.
                    h = g.half
                    np.multiply(g.xs[h:2 * h], G, out=block[:h])
                    np.multiply(g.xs[:h], G, out=block[h:2 * h])
                    if g.bias:
                        block[-1] = G
                else:
                    if g.op.name == "vpow" and (g.xs[0] < 0).any():
                        return None  # d(a^b)/db does not exist for a < 0: eager says so
                    local = g.op.array_local_grads(tuple(g.xs), g.out, g.arg)
                    for j, d in enumerate(local):
                        np.multiply(d, G, out=block[j])
            if not np.isfinite(C).all():
                return None  # an undefined derivative (or 0 * inf): eager decides
            return self.gradient(self.pplan)


def _works_on_arrays(ok: Callable, numbers: list[float]) -> bool:
    """Whether ``ok`` on an array of ``numbers`` gives True for each, as it did one by one."""
    try:
        with np.errstate(all="ignore"):
            result = np.asarray(ok(np.array(numbers, dtype=np.float64)))
    except Exception:  # noqa: BLE001  (any failure means: not an array check)
        return False
    return result.shape == (len(numbers),) and result.dtype == bool and bool(result.all())


def _slot(slot: dict, key) -> int:
    if key not in slot:
        slot[key] = len(slot)
    return slot[key]


# ---- the step ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckReport:
    """A compiled call compared with an eager forward and backward: `CompiledStep.check`.

    Truthy when the loss and every gradient agree to `TOLERANCE` (relative, or absolute
    below 1).

    Attributes:
        loss: the compiled loss.
        eager_loss: the eager engine's loss.
        loss_difference: their absolute difference.
        grad_difference: the largest absolute difference over the parameters' gradients.
        worst: the label (or index) of the parameter where that difference is.
        parameters: how many gradients were compared.
        compiled: False when the compiled call itself ran eagerly (a guard or domain error).
    """

    loss: float
    eager_loss: float
    loss_difference: float
    grad_difference: float
    worst: str
    parameters: int
    compiled: bool

    @property
    def ok(self) -> bool:
        """Whether the loss and every gradient agree to `TOLERANCE`."""
        def close(diff, ref):
            return diff <= TOLERANCE * max(1.0, abs(ref))
        return bool(close(self.loss_difference, self.eager_loss) and self.grad_difference
                    <= TOLERANCE * max(1.0, self._scale))

    _scale: float = 1.0

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "agree" if self.ok else "DISAGREE"
        how = "" if self.compiled else " (this call ran eagerly)"
        return (f"compiled and eager {verdict} to {TOLERANCE:g}{how}: loss {self.loss!r} vs "
                f"{self.eager_loss!r} (difference {self.loss_difference:.3g}); "
                f"{self.parameters} gradients, largest difference {self.grad_difference:.3g}"
                f" at {self.worst}")


class CompiledStep:
    """``loss_fn`` traced once and replayed as array code; made by `compile`.

    Call it as ``loss_fn`` would be called, with arrays: it returns the loss as a float and
    adds the gradients into the parameters' ``.grad``.

    Attributes:
        fn: the function compiled.
        calls: how many times the step was called.
        traces: how many times ``loss_fn`` was traced (once per shape, and again when a
            guard failed).
        eager_calls: calls that ran the eager engine instead (a domain error, an undefined
            derivative, or a graph compile cannot replay).
    """

    def __init__(self, fn: Callable):
        self.fn = fn
        self.calls = 0
        self.traces = 0
        self.eager_calls = 0
        self._programs: dict = {}
        self._last: _Program | None = None
        self._eager_reason: dict = {}
        self._lock = threading.Lock()
        self._warned = False
        try:
            names = [p.name for p in inspect.signature(fn).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            names = []
        self._names = names
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"<compiled {name}: {self.calls} calls, {self.traces} traces>"

    # ---- arguments ------------------------------------------------------------------------

    def _arrays(self, args: tuple) -> list[np.ndarray]:
        arrays = []
        for i, a in enumerate(args):
            try:
                array = np.asarray(a, dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise TypeError(f"a compiled step takes arrays (or nested lists) of real "
                                f"numbers; argument {i + 1} is {shown(a)} ({error})") from None
            if np.iscomplexobj(a):
                raise TypeError(f"a compiled step takes real numbers; argument {i + 1} is "
                                f"complex")
            arrays.append(array)
        return arrays

    def _name(self, i: int) -> str:
        return self._names[i] if i < len(self._names) else f"arg{i + 1}"

    def _stand_ins(self, arrays: list[np.ndarray]) -> tuple[list, list[Value]]:
        """Each array as nested lists of constant Values of the same shape."""
        nested, flat = [], []
        for i, array in enumerate(arrays):
            name = self._name(i)
            cells = np.empty(array.shape, dtype=object)
            for index, x in np.ndenumerate(array):
                where = "".join(f"[{k}]" for k in index)
                v = Value(float(x), label=f"{name}{where}", requires_grad=False)
                cells[index] = v
                flat.append(v)
            nested.append(cells.tolist())
        return nested, flat

    # ---- running ----------------------------------------------------------------------------

    def _loss(self, nested: list) -> Value:
        loss = self.fn(*nested)
        if not isinstance(loss, Value):
            raise TypeError(f"a compiled loss_fn must return one Value, the scalar loss; "
                            f"got {shown(loss)}")
        if loss.grad is None:
            raise RuntimeError("the loss is a constant: it depends on nothing with a "
                               "gradient (loss_fn's parameters have requires_grad=False, or "
                               "it ran under no_grad()), so there is nothing to compile")
        return loss

    def _eager(self, arrays: list[np.ndarray]) -> float:
        nested, _ = self._stand_ins(arrays)
        loss = self._loss(nested)
        loss.backward()
        self.eager_calls += 1
        return loss.data

    def _trace(self, arrays: list[np.ndarray], key) -> _Program | None:
        self.traces += 1
        nested1, _ = self._stand_ins(arrays)
        first = self._loss(nested1)
        order1 = topological_order(first)
        known = {x for node in order1 for x in node.inputs if not x.op}
        if not first.op:
            known.add(first)
        known.difference_update(_flatten(nested1))
        interior1 = set(order1)
        del nested1

        # The second run is the one compiled: every number is a stand-in that notes its uses.
        trace = _Trace()
        nested2, flat2 = self._stand_ins(arrays)
        for v in flat2:
            trace.taint(v)
        for v in known:
            trace.taint(v)
        previous = sys.getprofile()
        sys.setprofile(trace.profile)
        try:
            loss = self._loss(nested2)
        finally:
            sys.setprofile(previous)
            trace.restore()
        order2 = topological_order(loss)
        if [n.op for n in order1] != [n.op for n in order2]:
            raise RuntimeError("loss_fn built different graphs on two runs with the same "
                               "inputs, so no trace of it can be replayed: compile needs a "
                               "function whose graph depends only on its arguments and "
                               "parameters (no random choices, no state changed per call)")
        stale = [n for n in order2 if n in interior1]
        reason = ""
        if not loss.op:
            reason = "loss_fn returned a leaf"
        elif stale:
            reason = (f"loss_fn uses {_named(stale[0])}, computed before the call: its number "
                      "is not recomputed from its inputs, which a replay would do. Compute it "
                      "inside loss_fn to compile")
        if reason:
            self._eager_reason[key] = reason
            return None
        program = _Program(loss, flat2, known, trace)
        self._programs[key] = program
        return program

    def __call__(self, *args) -> float:
        arrays = self._arrays(args)
        key = tuple(a.shape for a in arrays)
        with self._lock:
            self.calls += 1
            if key in self._eager_reason:
                return self._eager(arrays)
            flat = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)
            program = self._programs.get(key)
            traced = False
            if program is None:
                program = self._trace(arrays, key)
                traced = True
                if program is None:
                    return self._eager(arrays)
            self._last = program
            verdict = program.forward(flat)
            if verdict == "retrace" and not traced:
                program = self._trace(arrays, key)
                if program is None:
                    return self._eager(arrays)
                self._last = program
                self._warn()
                verdict = program.forward(flat)
            if verdict:  # still failing right after a trace, or a domain error: eager
                return self._eager(arrays)
            grads = program.backward()
            if grads is None:
                return self._eager(arrays)
            for p, g in zip(program.params, grads.tolist()):
                p.grad += g
            return float(program.V[program.loss_slot])

    def _warn(self) -> None:
        if not self._warned and self.calls >= 10 and self.traces > self.calls // 2:
            self._warned = True
            reasons = "; ".join(self._last.reasons[:3]) if self._last else ""
            warnings.warn(f"compiled {getattr(self.fn, '__name__', 'loss_fn')} traced again on "
                          f"{self.traces} of {self.calls} calls, because the numbers it decides "
                          f"from keep changing ({reasons}): it is slower than the eager engine "
                          f"this way. Where those decisions are your code's, write them with "
                          f"Value ops (relu, abs, step) instead", RuntimeWarning, stacklevel=3)

    # ---- looking at it ------------------------------------------------------------------------

    @property
    def tape(self) -> Tape | None:
        """The most recent trace's `Tape`, or ``None`` before the first call."""
        program = self._last
        if program is None:
            if self._eager_reason:
                reason = next(iter(self._eager_reason.values()))
                return Tape(0, 0, 0, 0, 0, 0, (), 0, 0, 0, (), reason)
            return None
        return Tape(program.nodes, program.leaf_count, len(program.params),
                    len(program.input_slots), program.edge_count, program.levels,
                    program.groups, program.numpy_calls, sum(len(g[1]) for g in
                                                              program.outcome_guards),
                    len(program.exact_slots), program.reasons,
                    input_checks=sum(len(idx) for _, idx in program.checks),
                    shift_guards=len(program.shift_slots))

    def describe(self) -> str:
        """The tape as text: its levels and groups, and how many scalar nodes each replaces.

        >>> import numpy as np
        >>> from microgrant import Value
        >>> w = Value(0.5, label="w")
        >>> step = compile(lambda x: Value.sum([(w * xi).tanh() for xi in x]))
        >>> round(step(np.array([1.0, 2.0, 3.0])), 6)     # tanh(0.5) + tanh(1) + tanh(1.5)
        2.12886
        >>> print(step.describe())  # doctest: +NORMALIZE_WHITESPACE
        7 scalar nodes in 3 levels became 3 array operations (about 29 numpy calls a step):
          level   op          nodes  inputs each
              1   mul             3            2
              2   tanh            3            1
              3   sum             1            3
        1 parameter, 3 inputs, 0 constants; no guards: the graph does not depend on the data.
        """
        tape = self.tape
        if tape is None:
            return "not traced yet: call the step once (step(X, y)) and describe it then"
        if tape.eager_reason:
            return f"every call runs eagerly: {tape.eager_reason}"
        lines = [f"{tape.nodes:,} scalar nodes in {tape.levels} levels became "
                 f"{len(tape.groups)} array operations (about {tape.numpy_calls} numpy calls "
                 f"a step):",
                 f"  {'level':>5}   {'op':<10} {'nodes':>6}  inputs each"]
        for g in tape.groups:
            note = "" if g.in_loss else "   (for a guard only)"
            lines.append(f"  {g.level:>5}   {g.op:<10} {g.nodes:>6,}  {g.inputs_each:>11}{note}")
        constants = tape.leaves - tape.parameters - tape.inputs
        plural = "" if tape.parameters == 1 else "s"
        summary = (f"{tape.parameters:,} parameter{plural}, {tape.inputs:,} inputs, "
                   f"{constants:,} constants; ")
        guards = tape.outcome_guards + tape.exact_guards + tape.shift_guards
        if guards:
            kinds = [f"{n:,} {what}" for n, what in (
                (tape.outcome_guards, "comparison"), (tape.exact_guards, "exact-number"),
                (tape.shift_guards, "softmax-shift")) if n]
            summary += (f"{' and '.join(kinds)} guard{'' if guards == 1 else 's'}, checked "
                        f"every call (a failing one traces again):")
            lines.append(summary)
            lines.extend(f"  - {reason}" for reason in tape.guard_reasons[:5])
            if len(tape.guard_reasons) > 5:
                lines.append(f"  - ... ({max(guards, len(tape.guard_reasons)) - 5} more)")
        else:
            lines.append(summary + "no guards: the graph does not depend on the data.")
        if tape.input_checks:
            lines.append(f"Each call also checks {tape.input_checks:,} numbers as loss_fn "
                         f"does (a loss's targets), all at once.")
        return "\n".join(lines)

    def check(self, *args) -> CheckReport:
        """Runs one compiled call and one eager forward and backward, and compares them.

        The parameters' ``.grad`` are left as they were.

        Returns:
            A `CheckReport`, truthy when the two agree to `TOLERANCE`.
        """
        arrays = self._arrays(args)
        key = tuple(a.shape for a in arrays)
        with self._lock:
            if key not in self._programs and key not in self._eager_reason:
                self._trace(arrays, key)
            program = self._programs.get(key)
            params = program.params if program is not None else self._leaves(arrays)
        saved = [p.grad for p in params]
        try:
            for p in params:
                p.grad = 0.0
            before = self.eager_calls
            loss = self(*arrays)
            compiled = self.eager_calls == before
            mine = [float(p.grad or 0.0) for p in params]
            for p in params:
                p.grad = 0.0
            nested, _ = self._stand_ins(arrays)
            reference = self._loss(nested)
            reference.backward()
            theirs = [float(p.grad or 0.0) for p in params]
        finally:
            for p, g in zip(params, saved):
                p.grad = g
        diffs = [abs(a - b) for a, b in zip(mine, theirs)]
        worst = max(range(len(diffs)), key=diffs.__getitem__, default=None)
        label = "-" if worst is None else (params[worst].label or f"parameter {worst}")
        scale = max((abs(b) for b in theirs), default=1.0)
        return CheckReport(loss, reference.data, abs(loss - reference.data),
                           max(diffs, default=0.0), label, len(params), compiled, scale)

    def _leaves(self, arrays: list[np.ndarray]) -> list[Value]:
        """The leaves that take a gradient in an eager graph of ``fn``, stand-ins aside."""
        nested, flat = self._stand_ins(arrays)
        loss = self._loss(nested)
        mine = set(flat)
        found = {x: None for node in topological_order(loss) for x in node.inputs
                 if not x.op and x.grad is not None and x not in mine}
        if not loss.op and loss.grad is not None:
            found[loss] = None
        return list(found)


def _flatten(nested) -> list:
    out, stack = [], [nested]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, Value):
            out.append(item)
    return out


def compile(fn: Callable) -> CompiledStep:  # noqa: A001  (the public name, as in PyTorch)
    """Traces ``fn``'s scalar graph once and replays forward and backward as numpy array code.

    ``fn(*arrays)`` builds a scalar loss from Values as usual (model calls, microgrant's
    losses).  ``step = compile(fn)``; then ``step(X, y)`` with numpy arrays (or nested lists)
    hands ``fn`` each array as nested lists of constant Values of the same shape, so
    ``model(x)`` works on a row, and on the first call (and the first call with new shapes)
    records the graph.  Every call then reads the parameters' current ``.data``, runs forward
    and backward as array code, returns the loss as a float and *adds* the gradients into the
    ``.grad`` of every parameter (every Value that existed before the call and takes a
    gradient), as ``loss.backward()`` would: ``zero_grad()`` and every optimizer work as
    before.

    What is guaranteed.  A call gives the eager engine's loss and gradients (to a few units in
    the last place, `TOLERANCE` at worst) when ``fn`` is deterministic: its graph depends only
    on its arguments' and its Values' numbers, and on no other state (no random choices per
    call, no Value changed in place by ``fn``).  Decisions from numbers are allowed and
    watched: while tracing, every Value in play (the inputs, every Value ``fn`` reaches, and
    every Value made during the trace) carries a stand-in number that records each use
    outside the op table.  A comparison (``x.data > 0``, ``a < b`` of Values, ``if x.data``)
    becomes a guard on its outcome; any other use (arithmetic on ``.data``, ``float()``,
    ``Value(x.data)``, printing) a guard on the exact number.  Every call checks its guards
    on the replayed numbers before backward and, if one fails, traces again at the current
    numbers.  Two reads are kept as what they are, for microgrant's own losses:

    * a check through `microgrant.checks.satisfies` of a number against plain numbers (a
      loss's check of its targets) that passed is applied to every call's numbers at once;
      when it fails, the call runs eagerly (which raises the loss's error).  A check that
      failed at the trace, or that does not work on an array, is guarded like any decision;
    * softmax's shift (`microgrant.checks.stabilizer`, the max of its scores) is kept from
      the trace while the largest of those scores stays within `SHIFT_BAND` of it.  softmax
      does not depend on the shift, but its rounding does: where a loss cancels large terms
      (an expectation of huge payoffs), compiled and eager can then differ by more than
      `TOLERANCE` relative to the result, though not relative to the terms.

    Domain errors are never hidden: a non-finite result in forward or backward runs that
    call eagerly, which raises the eager engine's error (or gives its answer).

    Not seen: numbers read from a Value that ``fn`` does not reach through the graph's
    leaves (a Value used only as ``lr.data``, never in an op), and reads that bypass Python
    (a C extension reading a float's memory).  ``fn`` runs twice when traced (the first run
    finds the Values to watch; the two graphs must agree).  A Value computed before the call
    and used inside ``fn`` makes every call run eagerly (`describe` says why).

    Args:
        fn: the loss function: takes one argument per array, returns a scalar Value.

    Returns:
        A `CompiledStep`: call it, ``check`` it against eager, ``describe`` its tape.

    >>> import numpy as np
    >>> from microgrant.nn import MLP, mse_loss
    >>> model = MLP(2, [4, 1], seed=0)
    >>> step = compile(lambda X, y: mse_loss([model(x) for x in X], y))
    >>> X, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1.0, -1.0])
    >>> model.zero_grad()
    >>> loss = step(X, y)
    >>> bool(step.check(X, y))
    True
    """
    if not callable(fn):
        raise TypeError(f"compile needs a function (the loss_fn to trace); got {shown(fn)}")
    return CompiledStep(fn)
