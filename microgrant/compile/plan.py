"""plan: a traced graph as an array program: levels, groups, grids, and their replay.

A node's *level* is one more than its deepest input's; within a level, nodes doing the same op
form a *group*, and every group is one numpy operation over all of its nodes:

* forward, level by level: gather each group's inputs by index, apply the op's array kernel
  (``OPS[name].array_forward``, the op table's own), store the results;
* backward, level by level from the top: a node's gradient is the sum of the contributions of
  the edges leaving it, added in the order ``Value.backward`` adds them, then the op's
  ``array_local_grads`` times that gradient are the contributions its inputs receive.

A layer of neurons over a batch (a group of ``dot`` nodes that pair every weight row with every
input row) becomes one matrix product: a *grid*, a tensor library's dense layer found in the
scalar graph.  Its outputs are one block of the numbers, and the op applied to them next keeps
their order, so the next layer reads them, and their gradients are read back, in place
(`strides`: a view instead of a gather).  The guards the trace noted
(`microgrant.compile.watch`) are checked on the replayed numbers before backward.  Levels,
groups and grids are found by `levels`, each gradient's order of contributions by `edges`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from itertools import chain, compress, filterfalse, islice, repeat
from typing import Any

import numpy as np

from ..engine import Value, topological_order
from ..ops import OPS
from .chains import collapse
from .edges import Incoming
from .levels import Dots, group_keys
from .levels import grid as _grid
from .strides import even_steps, strided
from .watch import SHIFT_BAND, Trace

__all__ = ["Tape", "TapeGroup", "Program"]

_COMPARE = {"__eq__": np.equal, "__ne__": np.not_equal, "__lt__": np.less,
            "__le__": np.less_equal, "__gt__": np.greater, "__ge__": np.greater_equal}


def _named(v: Value) -> str:
    return f"'{v.label}'" if v.label else f"a Value ({v.op or 'leaf'})"


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
# Ops whose derivative is a difference of terms near 1 (1 - tanh^2, s - s^2): the magnitude of
# its terms, not of the difference, is what its rounding is relative to.
_CANCELLING = frozenset({"tanh", "sigmoid"})
_GRAD, _DATA = operator.attrgetter("grad"), operator.attrgetter("data")
_OP, _INPUTS = operator.attrgetter("op"), operator.attrgetter("inputs")


class _Group:
    """One group's plan: its nodes' slots, how to gather their inputs and where its edges go."""

    __slots__ = ("op", "arg", "kind", "k", "n", "half", "bias", "level", "in_loss", "start",
                 "stop", "gather", "e0", "e1", "gidx", "bin_ids", "bin_slots", "xs", "out",
                 "root", "rows", "cols", "w_idx", "x_idx", "b_idx", "targets", "v_gather",
                 "v_w", "v_x", "v_b", "v_grad", "x_dense", "v_dx")
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
    v_gather: Any
    v_w: Any
    v_x: Any
    v_b: Any
    v_grad: Any
    x_dense: bool
    v_dx: Any


def _grid_indices(g: _Group, slot: dict) -> None:
    """A product's index plans: its weights, inputs and biases in V, and its edges' targets."""
    h, rows, cols = g.half, g.rows, g.cols
    g.w_idx = np.fromiter(map(slot.__getitem__, chain.from_iterable(w[:h] for w in rows)),
                          np.intp, len(rows) * h).reshape(len(rows), h)
    g.x_idx = np.fromiter(map(slot.__getitem__, chain.from_iterable(cols)),
                          np.intp, len(cols) * h).reshape(len(cols), h)
    g.b_idx = np.array([slot[w[h]] for w in rows] if g.bias else [], dtype=np.intp)
    # Inputs that are one block of V (the previous layer's outputs) get their gradients in
    # the same order, a block the layer before reads in place.
    flat = g.x_idx.ravel()
    g.x_dense = (len(flat) > 1 and even_steps(g.x_idx) is not None and np.array_equal(
        np.sort(flat), np.arange(flat.min(), flat.min() + len(flat))))
    if g.x_dense:
        flat = flat[np.argsort(flat, kind="stable")]
    # Its edges: one per weight, input and bias of the product (not per node), by slot.
    g.targets = np.concatenate([g.w_idx.ravel(), flat, g.b_idx])


def _column_sums(block: np.ndarray) -> np.ndarray:
    # Sums down each column, adding rows one after another as Python's sum() and +=
    # do: numpy reduces a (k, n) block row by row when its columns sit side by side in
    # memory; a single column, or a strided view whose rows sit side by side, it would sum
    # pairwise (a different order of additions): a running sum, or a copy in row order.
    if block.shape[1] == 1 and block.shape[0] > 2:
        return np.cumsum(block[:, 0])[-1:]
    if block.shape[1] > 1 and abs(block.strides[1]) != block.itemsize:
        block = np.ascontiguousarray(block)
    return np.add.reduce(block, axis=0)


class Program:
    """The arrays and index plans of one trace, and the replay of forward and backward.

    Args:
        loss: the traced loss.
        placeholders: the inputs' Values, in the order of the flattened arrays.
        preexisting: Values that existed before the call (read at every call).
        trace: what the watched run noted (`watch.Trace`).
        aliases: leaves made during the run from another leaf's number (``Value(y.data)``,
            a copy of a model): each call copies that leaf's number into them.
    """

    def __init__(self, loss: Value, placeholders: list[Value], preexisting: set,
                 trace: Trace, aliases: dict, order: list | None = None):
        order, in_loss, extra = self._order(loss, trace, order)
        keyed, dots = group_keys(self.ins, self.chains, in_loss)
        leaves, loss_leaves = self._leaves(order, in_loss, extra, loss, dots.repeats)
        slot: dict = {}
        self.input_slots = np.array([_slot(slot, v) for v in placeholders], dtype=np.intp)
        # The Values from before the call: the graph's, and those an alias copies (a
        # ``Value(h.data)`` of a weight the graph does not use), each read every call.
        sources = [aliases[v] for v in leaves if v in aliases]
        outer = [v for v in dict.fromkeys(chain(leaves, sources))
                 if v in preexisting and v not in slot]
        self.outer = outer
        self.outer_slots = np.array([_slot(slot, v) for v in outer], dtype=np.intp)
        linked = [v for v in leaves if v in aliases and aliases[v] in slot and v not in slot]
        self.alias_slots = np.array([_slot(slot, v) for v in linked], dtype=np.intp)
        self.alias_sources = np.array([slot[aliases[v]] for v in linked], dtype=np.intp)
        constants = [v for v in leaves if v not in slot]
        for v in constants:
            _slot(slot, v)
        self.params = [v for v in outer if v.grad is not None and v in loss_leaves]
        self.fixed = [v for v in outer if v.grad is None]
        self.grads_before = np.zeros(len(self.params))
        groups = self._groups(keyed, slot, loss, dots)
        guarded = len(slot)  # the numbers guards compare with take the slots from here on
        self._guards(trace, slot)
        self.op_start = groups[0][0].start if groups else len(slot)
        self.op_stop = groups[-1][0].stop if groups else len(slot)
        self.V = np.zeros(len(slot))
        self.V[np.fromiter(map(slot.__getitem__, constants), np.intp, len(constants))] = (
            np.fromiter(map(float, map(_DATA, constants)), np.float64, len(constants)))
        for key in islice(slot, guarded, None):
            self.V[slot[key]] = key[1]
        self.loss_slot = slot[loss]
        self._edges(groups, order, slot, guarded)
        self.groups = tuple(TapeGroup(g.level, g.op.name, g.n, g.k, g.in_loss)
                            for g, _ in groups)
        self.levels = max((g.level for g, _ in groups), default=0)
        self.leaf_count = len(leaves)
        calls = (4 + 3 * len(self.outcome_guards) + (2 if len(self.exact_slots) else 0)
                 + 3 * len(self.checks) + (4 if len(self.shift_slots) else 0))
        for g, _ in groups:
            calls += {_GRID: 6, _DOT: 5, _SUM: 3}.get(g.kind, 2 + g.k)
            if g.in_loss:
                calls += {_GRID: 5, _DOT: 6, _SUM: 3}.get(g.kind, 3 + 2 * g.k)
        self.numpy_calls = calls
        self._views()

    def _order(self, loss: Value, trace: Trace, walked: list | None):
        """The nodes to compute (the loss's, and those a guard watches), each node's inputs
        (``self.ins``) and the chains of additions among them (``self.chains``)."""
        order = topological_order(loss) if walked is None else list(walked)
        in_loss = set(order)
        # Values a guard watches are computed too, even where the loss does not use them.
        extra = list(dict.fromkeys([*trace.exact, *(
            n for key in trace.outcomes for n in (key[0], key[2]) if isinstance(n, Value)),
            *(n for nodes in trace.checked.values() for n in nodes),
            *(n for nodes, _ in trace.shifts for n in nodes if isinstance(n, Value))]))
        seen = in_loss.copy()
        for root in extra:
            if root.op and root not in seen:
                more = [n for n in topological_order(root) if n not in seen]
                order += more
                seen.update(more)
        self.nodes = len(order)  # as eager makes them; chains are computed as fewer
        # Each node's inputs, read once (``inputs`` builds a tuple on every read).
        ins = dict(zip(order, map(_INPUTS, order)))
        order, self.chains = collapse(order, ins, set(extra) | {loss})  # (updates ins)
        self.ins = ins
        return order, in_loss, extra

    def _leaves(self, order: list, in_loss: set, extra: list, loss: Value, repeats: set):
        """The leaves, in order of first use, and the inputs of the loss's nodes."""
        ins = self.ins
        # Every input once, in order of first use (a pass in C, not one per input in Python),
        # leaving out the nodes whose inputs are all some earlier node's.
        used = dict.fromkeys(chain.from_iterable(map(ins.__getitem__, filterfalse(
            repeats.__contains__, order))))
        leaves = dict.fromkeys(compress(used, map(operator.not_, map(_OP, used))))
        for v in extra:
            if not v.op:
                leaves[v] = None
        if not loss.op:
            leaves[loss] = None
        loss_inputs = used if len(in_loss) == self.nodes else set(chain.from_iterable(
            map(ins.__getitem__, filter(in_loss.__contains__, order))))
        return leaves, loss_inputs

    def _groups(self, keyed: dict, slot: dict, loss: Value, dots: Dots) -> list:
        """Groups of one op (and one argument and arity) per level (`levels.group_keys`)."""
        ins = self.ins
        groups = []
        for key in sorted(keyed, key=lambda k: (k[0], not k[1], k[2], k[3], k[4] or 0.0)):
            nodes = keyed[key]
            g = _Group()
            g.level, g.in_loss, name, g.k, g.arg = key
            g.op = OPS[name]
            g.n = len(nodes)
            g.kind = _SUM if name == "sum" else _DOT if name == "dot" else _TABLE
            g.half, g.bias = g.k // 2, bool(g.k % 2)
            grid = _grid(nodes, dots) if g.kind == _DOT else None
            if grid is not None:
                g.kind, (g.rows, g.cols, nodes) = _GRID, grid
                first = g.cols[0]
                if len(first) > 1 and slot[first[1]] < slot[first[0]]:
                    # A product sums over i in its own order either way: taking the inputs
                    # in the order they sit in V reads a layer's outputs in place (a view).
                    g.rows = [w[:g.half][::-1] + w[g.half:] for w in g.rows]
                    g.cols = [x[::-1] for x in g.cols]
            g.gather = None  # a product reads its weights and inputs by w_idx, x_idx
            if g.kind != _GRID:  # (its inputs, of lower levels, have their slots)
                read = np.fromiter(map(slot.__getitem__, chain.from_iterable(map(
                    ins.__getitem__, nodes))), np.intp, g.n * g.k).reshape(g.n, g.k)
                if g.kind == _TABLE:
                    # In the order of their first inputs: an op applied to a layer's outputs
                    # then reads them, and the next layer reads it, as one block (_views).
                    by = np.argsort(read[:, 0], kind="stable")
                    nodes, read = list(map(nodes.__getitem__, by.tolist())), read[by]
                g.gather = read.T.copy()
            g.start = len(slot)
            slot.update(zip(nodes, range(g.start, g.start + g.n)))  # new nodes, in order
            g.stop = len(slot)
            g.root = g.start <= slot.get(loss, -1) < g.stop
            if g.kind == _GRID:
                _grid_indices(g, slot)
            groups.append((g, nodes))
        return groups

    def _guards(self, trace: Trace, slot: dict) -> None:
        """Guards read the replayed numbers; a comparison with a number keeps it in a slot."""
        def guard_slot(v):
            if isinstance(v, Value):
                return slot[v]
            return _slot(slot, ("constant", v))
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
        self.exact_values = np.array([float(v.data) for v in trace.exact], dtype=np.float64)
        self.exact_unsettled = True  # (see forward)
        self.checks = [(ok, np.array([slot[v] for v in nodes], dtype=np.intp))
                       for ok, nodes in trace.checked.items()]
        # One row per shift, the slots of the numbers it is the max of (a short row repeats
        # its first: the max is the same).
        width = max((len(nodes) for nodes, _ in trace.shifts), default=1)
        self.shift_slots = np.array([[guard_slot(v) for v in nodes] + [guard_slot(nodes[0])] * (
            width - len(nodes)) for nodes, _ in trace.shifts], dtype=np.intp).reshape(-1, width)
        self.shift_values = np.array([c for _, c in trace.shifts], dtype=np.float64)

    def _edges(self, groups: list, order: list, slot: dict, values: int) -> None:
        """Edges: each (group, input position, node) contribution has one place in C.

        A node's gradient is the sum of the contributions of the edges into its inputs from
        its consumers, in the order backward visits them (`edges.Incoming`).
        """
        # Which slots take a gradient through an edge: nodes and parameters, not constants.
        keys = list(islice(slot, values))  # (the slots of Values: leaves, then nodes)
        takes = np.fromiter(map(operator.is_not, map(_GRAD, keys), repeat(None)), bool,
                            len(keys))
        takes[:self.op_start] = False  # leaves: only the parameters
        params = np.fromiter(map(slot.__getitem__, self.params), np.intp, len(self.params))
        takes[params] = True  # (a parameter's grad is a number)
        # Each node's position in topological order, by slot.
        rank = np.zeros(len(keys), dtype=np.intp)
        rank[np.fromiter(map(slot.__getitem__, order), np.intp, len(order))] = np.arange(
            len(order))
        targets, ranks, places = [], [], []
        offset = 0
        for g, _ in groups:
            if not g.in_loss:
                continue
            if g.kind == _GRID:  # one edge per weight, input and bias, from the last node
                into = g.targets
                by = np.full(len(into), rank[g.stop - 1], dtype=np.intp)
            else:  # input j of node i: place j * n + i of the block
                into = g.gather.ravel()
                by = np.tile(rank[g.start:g.stop], g.k)
            g.e0, g.e1 = offset, offset + len(into)
            kept = takes[into]
            targets.append(into[kept])
            ranks.append(by[kept])
            places.append(np.arange(offset, g.e1, dtype=np.intp)[kept])
            offset = g.e1
        self.edge_count = offset
        self.C = np.zeros(offset + 1)  # the last slot stays 0.0: padding for uneven sums
        self.forward_groups = [g for g, _ in groups]
        self.backward_groups = [g for g, _ in reversed(groups) if g.in_loss]
        into, by, at = (np.concatenate(a) if a else np.zeros(0, dtype=np.intp)
                        for a in (targets, ranks, places))
        incoming = Incoming(into, by, at, len(keys))
        for g, _ in groups:
            g.gidx = g.bin_ids = g.bin_slots = None
            if g.in_loss and not g.root:
                g.gidx, g.bin_ids, g.bin_slots = incoming.sum_plan(
                    np.arange(g.start, g.stop), offset)
        self.pplan = _Group()
        self.pplan.n = len(self.params)
        self.pplan.gidx, self.pplan.bin_ids, self.pplan.bin_slots = incoming.sum_plan(
            params, offset)

    def _views(self) -> None:
        """Index plans that read a regular block of V or C, kept as views of it instead.

        Gathering by index copies; a layer's outputs (a product's block of J x S numbers)
        read by the next op, and its gradients read back, are blocks with a fixed step
        between rows and columns, which a strided view reads in place, at no cost.
        """
        V, C = self.V, self.C
        for g in (*self.forward_groups, self.pplan):
            g.v_gather = g.v_w = g.v_x = g.v_b = None
            g.v_grad = None if g.gidx is None else strided(C, g.gidx)
            if g is self.pplan:
                continue
            if g.kind == _GRID:
                g.v_w, g.v_x = strided(V, g.w_idx), strided(V, g.x_idx)
                g.v_b = strided(V, g.b_idx)
                g.v_dx = None
                if g.x_dense and g.in_loss:  # d z / d x[s, i] goes at x[s, i]'s place
                    place = g.x_idx - int(g.x_idx.min()) + g.e0 + len(g.rows) * g.half
                    g.v_dx = strided(C, place, writeable=True)
            else:
                g.v_gather = strided(V, g.gather)

    def gradient(self, g) -> np.ndarray:
        if g.v_grad is not None:
            return g.v_grad[0] if g.v_grad.shape[0] == 1 else _column_sums(g.v_grad)
        if g.gidx is not None:
            if g.gidx.shape[0] == 1:  # one consumer each: the gradient is that contribution
                return self.C[g.gidx[0]]
            if g.gidx.shape[0] == 0:
                return np.zeros(g.n)
            return _column_sums(self.C[g.gidx])
        return np.bincount(g.bin_ids, weights=self.C[g.bin_slots], minlength=g.n)

    def forward(self, flat_inputs: np.ndarray) -> str:
        """Loads the numbers and runs forward; returns why it must not be used, or "".

        The first call is on the numbers traced (`microgrant.compile.step` makes it so).
        """
        V = self.V
        V[self.input_slots] = flat_inputs
        outer = self.outer
        settle, self.exact_unsettled = self.exact_unsettled, False  # (see the exact guards)
        try:  # kept: backward's gradients are added to these
            before = np.fromiter(map(_GRAD, self.params), np.float64, len(self.params))
        except (TypeError, ValueError):
            return "eager"  # a .grad that is not a number: the engine says what is wrong
        self.grads_before = before
        # (fromiter reads None as NaN: only then are the grads looked at one by one)
        if (np.isnan(before).any() and None in map(_GRAD, self.params)) or any(
                v.grad is not None for v in self.fixed):
            return "retrace"  # a parameter was frozen or unfrozen: the graph differs
        try:
            V[self.outer_slots] = np.fromiter(map(_DATA, outer), np.float64, len(outer))
        except (TypeError, ValueError):
            return "eager"  # a .data that is not a number: the engine says what is wrong
        V[self.alias_slots] = V[self.alias_sources]
        with np.errstate(all="ignore"):
            for g in self.forward_groups:
                if g.kind == _GRID:
                    w = V[g.w_idx] if g.v_w is None else g.v_w
                    x = V[g.x_idx] if g.v_x is None else g.v_x
                    z = V[g.start:g.stop].reshape(w.shape[0], x.shape[0])
                    np.matmul(w, x.T, out=z)
                    if g.bias:
                        z += (V[g.b_idx] if g.v_b is None else g.v_b)[:, None]
                    g.xs = (w, x)
                    continue
                xs = V[g.gather] if g.v_gather is None else g.v_gather
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
        if not _all_finite(V[self.op_start:self.op_stop]):
            return "eager"  # a domain error or overflow: the eager engine raises it
        with np.errstate(all="ignore"):
            for ok, idx in self.checks:
                if not np.all(ok(V[idx])):
                    return "eager"  # numbers loss_fn refuses (a label 0 for hinge): eager says so
        for compare, a, b, outcome in self.outcome_guards:
            if not np.array_equal(compare(V[a], V[b]), outcome):
                return "retrace"
        if len(self.exact_slots):
            now = V[self.exact_slots]
            if settle and np.allclose(now, self.exact_values, rtol=1e-9, atol=0.0):
                # The first replay runs on the traced numbers.  Where its matrix product or a
                # numpy kernel rounds a last bit otherwise than eager's, the numbers to hold
                # from now on are its own.
                self.exact_values = now
            elif not np.array_equal(now.view(np.int64), self.exact_values.view(np.int64)):
                return "retrace"
        return ""

    def backward(self, absolute: bool = False) -> np.ndarray | None:
        """Fills the contributions; returns the parameters' gradients, or None to go eager.

        With ``absolute``, every local derivative is taken by its magnitude: each gradient is
        then the sum of the magnitudes of its chain-rule terms, the scale of `TOLERANCE`.
        """
        C = self.C
        mag = np.abs if absolute else _same
        with np.errstate(all="ignore"):
            for g in self.backward_groups:
                G = np.ones(1) if g.root else self.gradient(g)
                if g.kind == _GRID:
                    # d z[j, s] / d w[j, i] = x[s, i], d z[j, s] / d x[s, i] = w[j, i]: summed
                    # over the batch, these are the two matrix products of a dense layer.
                    w, x = mag(g.xs[0]), mag(g.xs[1])
                    rows, cols, h = w.shape[0], x.shape[0], g.half
                    grid = G.reshape(rows, cols)
                    e = g.e0
                    np.matmul(grid, x, out=C[e:e + rows * h].reshape(rows, h))
                    e += rows * h
                    if g.v_dx is None:
                        np.matmul(grid.T, w, out=C[e:e + cols * h].reshape(cols, h))
                    elif g.v_dx.T.flags.c_contiguous:  # (BLAS writes only a plain block)
                        np.matmul(w.T, grid, out=g.v_dx.T)
                    else:
                        g.v_dx[...] = grid.T @ w
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
                    np.multiply(mag(g.xs[h:2 * h]), G, out=block[:h])
                    np.multiply(mag(g.xs[:h]), G, out=block[h:2 * h])
                    if g.bias:
                        block[-1] = G
                else:
                    if g.op.name == "vpow" and (g.xs[0] < 0).any():
                        return None  # d(a^b)/db does not exist for a < 0: eager says so
                    local = g.op.array_local_grads(tuple(g.xs), g.out, g.arg)
                    if absolute and g.op.name in _CANCELLING:
                        local = [np.abs(d) + 1.0 for d in local]
                    for j, d in enumerate(local):
                        np.multiply(mag(d), G, out=block[j])
            if not _all_finite(C):
                return None  # an undefined derivative (or 0 * inf): eager decides
            return self.gradient(self.pplan)


def _same(x):
    return x


def _all_finite(a: np.ndarray) -> bool:
    """Whether every number of ``a`` is finite.  First one dot product, which reads ``a``
    once and allocates nothing: a NaN or an infinity makes the sum of squares NaN or
    infinite.  Only when it is not finite (large but finite numbers can overflow it) is every
    number tested."""
    with np.errstate(all="ignore"):
        if np.isfinite(a @ a):
            return True
    return bool(np.isfinite(a).all())


def _slot(slot: dict, key) -> int:
    if key not in slot:
        slot[key] = len(slot)
    return slot[key]

