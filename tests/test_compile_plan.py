"""compile's plan: the array program a trace becomes, held to its rules written plainly.

`microgrant.compile.plan.Program` builds its slots, groups, grids and edge plans with passes
made fast (C loops over many inputs at once, a dense layer's rows and columns looked into
once).  Here the same rules are written the plain way, one Python loop per rule, and every
index plan the program holds must be the one they give: the same slots, groups, node order,
gathers, grids and order of the contributions each gradient sums.  Then every replay adds
the same numbers in the same order.  The graphs are the ones the fast passes shortcut: dense
layers (grids), chains of ``+`` (Python's ``sum``, ``+=``), guarded nodes off the loss,
reused nodes, and gradients with very uneven numbers of contributions.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from microgrant import Value, topological_order
from microgrant.compile import TOLERANCE, compile
from microgrant.compile import step as step_module
from microgrant.compile.levels import group_keys
from microgrant.compile.plan import Program
from microgrant.compile.strides import even_steps
from microgrant.data import blobs, moons
from microgrant.nn import MLP, Layer, Neuron, cross_entropy, hinge_loss

# ---- the rules, written plainly ----------------------------------------------------------------

def plain_order(loss, trace, walked):
    """The nodes (the loss's, then those guards watch), chains of + as sums, each's inputs."""
    order = list(walked)
    in_loss = set(order)
    extra = list(dict.fromkeys(
        [*trace.exact, *(n for key in trace.outcomes for n in (key[0], key[2])
                         if isinstance(n, Value)),
         *(n for nodes in trace.checked.values() for n in nodes),
         *(n for nodes, _ in trace.shifts for n in nodes)]))
    for root in extra:
        if root.op:
            order += [n for n in topological_order(root) if n not in set(order)]
    watched = set(extra) | {loss}
    uses = Counter(x for node in order for x in node.inputs if x.op)
    terms: dict = {}
    inner = set()
    for node in order:  # an add continues the chain of its first input, used by it only
        if node.op == "add":
            a, b = node.inputs
            if a.op == "add" and uses[a] == 1 and a not in watched and a is not b:
                terms[node] = terms.pop(a, list(a.inputs)) + [b]
                inner.add(a)
    order = [n for n in order if n not in inner]
    ins = {n: tuple(terms[n]) if n in terms else n.inputs for n in order}
    return order, in_loss, extra, ins, terms


def plain_grid(nodes, k, ins):
    """Rows (weights and bias) x columns (inputs) covering the nodes once each, or None."""
    h = k // 2
    rows: list = []
    cols: list = []
    where = []
    for node in nodes:
        w, x = ins[node][:h] + ins[node][2 * h:], ins[node][h:2 * h]
        if w not in rows:
            rows.append(w)
        if x not in cols:
            cols.append(x)
        where.append((rows.index(w), cols.index(x), node))
    if len(rows) * len(cols) != len(nodes) or len(rows) == len(nodes) == 1 or len(
            {(j, s) for j, s, _ in where}) != len(nodes):
        return None
    return rows, cols, [node for _, _, node in sorted(where, key=lambda t: t[:2])]


def plain_groups(order, in_loss, ins, terms, slot):
    """Levels; groups by (level, in loss, op, arity, argument); each group's slots."""
    level: dict = {}
    keyed: dict = {}
    for node in order:
        level[node] = 1 + max((level.get(x, 0) for x in ins[node]), default=0)
        arg = None if node in terms else node.arg
        key = (level[node], node in in_loss, "sum" if node in terms else node.op,
               len(ins[node]), None if arg is None else float(arg))
        keyed.setdefault(key, []).append(node)
    groups = []
    for key in sorted(keyed, key=lambda k: (k[0], not k[1], k[2], k[3], k[4] or 0.0)):
        at, loss_side, op, k, _ = key
        nodes, h = keyed[key], k // 2
        grid = plain_grid(nodes, k, ins) if op == "dot" else None
        g = {"level": at, "in_loss": loss_side, "op": op, "k": k, "grid": grid is not None}
        if grid is not None:
            rows, cols, nodes = grid
            if len(cols[0]) > 1 and slot[cols[0][1]] < slot[cols[0][0]]:
                rows = [w[:h][::-1] + w[h:] for w in rows]
                cols = [x[::-1] for x in cols]
            g["w_idx"] = np.array([[slot[v] for v in w[:h]] for w in rows]).reshape(-1, h)
            g["x_idx"] = np.array([[slot[v] for v in x] for x in cols]).reshape(-1, h)
            g["b_idx"] = np.array([slot[w[h]] for w in rows] if k % 2 else [])
            flat = g["x_idx"].ravel()
            g["x_dense"] = bool(len(flat) > 1 and even_steps(g["x_idx"]) is not None and (
                sorted(flat) == list(range(flat.min(), flat.min() + len(flat)))))
            xs = [v for x in cols for v in x]
            if g["x_dense"]:
                xs = [xs[i] for i in np.argsort(flat, kind="stable")]
            g["targets"] = [v for w in rows for v in w[:h]] + xs + (
                [w[h] for w in rows] if k % 2 else [])
        elif op not in ("sum", "dot"):
            nodes = sorted(nodes, key=lambda node: slot[ins[node][0]])
        g["start"] = len(slot)
        for node in nodes:
            slot[node] = len(slot)
        g["stop"], g["nodes"] = len(slot), nodes
        if grid is None:
            g["gather"] = np.array([[slot[x] for x in ins[n]] for n in nodes]).reshape(-1, k).T
        groups.append(g)
    return groups


def plain_sums(edge_lists, zero):
    """Each node's contributions in backward's order: (gidx, bin_ids, bin_slots)."""
    lists = [[place for *_, place in sorted(edges)] for edges in edge_lists]
    n, m = len(lists), max(map(len, lists), default=0)
    total = sum(map(len, lists))
    if n and all(len(s) == 1 for s in lists):
        return np.array([s[0] for s in lists]).reshape(1, n), None, None
    if m * n <= 2 * total + 64:
        return np.array([[s[i] if i < len(s) else zero for s in lists]
                         for i in range(m)]).reshape(m, n), None, None
    return None, [i for i, s in enumerate(lists) for _ in s], [x for s in lists for x in s]


def plain_plan(loss, placeholders, preexisting, trace, aliases, walked):
    """Everything `Program` plans, by the rules above, as plain lists and dicts."""
    order, in_loss, extra, ins, terms = plain_order(loss, trace, walked)
    leaves = list(dict.fromkeys([*(x for n in order for x in ins[n] if not x.op),
                                 *(v for v in extra if not v.op), *([loss] * (not loss.op))]))
    slot: dict = {}
    for v in placeholders:
        slot.setdefault(v, len(slot))
    plan = {"input_slots": [slot[v] for v in placeholders]}
    plan["outer"] = outer = [v for v in leaves if v in preexisting and v not in slot]
    for v in outer:
        slot[v] = len(slot)
    linked = [v for v in leaves if v in aliases and aliases[v] in slot and v not in slot]
    for v in linked:
        slot[v] = len(slot)
    plan["alias_slots"] = [slot[v] for v in linked]
    plan["alias_sources"] = [slot[aliases[v]] for v in linked]
    constants = [v for v in leaves if v not in slot]
    for v in constants:
        slot[v] = len(slot)
    loss_inputs = {x for n in order if n in in_loss for x in ins[n]}
    plan["params"] = params = [v for v in outer if v.grad is not None and v in loss_inputs]
    plan["groups"] = groups = plain_groups(order, in_loss, ins, terms, slot)
    for (_, _, other), _ in trace.outcomes.items():  # a number a guard compares with
        if not isinstance(other, Value):
            slot.setdefault(("constant", other), len(slot))
    fixed = set(constants)
    plan["V"] = [float(v.data) if isinstance(v, Value) and v in fixed else
                 v[1] if isinstance(v, tuple) else 0.0 for v in slot]
    plan["loss_slot"] = slot[loss]
    rank = {node: i for i, node in enumerate(order)}
    edges: dict = {}
    offset = 0
    for g in (g for g in groups if g["in_loss"]):
        n = len(g["nodes"])
        if g["grid"]:  # one edge per weight, input and bias, from the product's last node
            pairs = [(-rank[g["nodes"][-1]], 0, i, x) for i, x in enumerate(g["targets"])]
        else:  # input j of node i at place j * n + i
            pairs = [(-rank[node], j, j * n + i, x) for i, node in enumerate(g["nodes"])
                     for j, x in enumerate(ins[node])]
        for r, j, place, x in pairs:
            if x.grad is not None and (x.op or x in params):
                edges.setdefault(x, []).append((r, j, offset + place))
        g["e0"] = offset
        offset = g["e1"] = offset + len(pairs)
    plan["edge_count"] = offset
    for g in groups:
        if g["in_loss"] and loss not in g["nodes"]:
            g["sums"] = plain_sums([edges.get(n, []) for n in g["nodes"]], offset)
    plan["params_sums"] = plain_sums([edges.get(p, []) for p in params], offset)
    return plan


# ---- the program against the rules --------------------------------------------------------------

def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(np.asarray(a), np.asarray(b))


def assert_planned_plainly(program, plan):
    assert same(program.input_slots, plan["input_slots"])
    assert [id(v) for v in program.outer] == [id(v) for v in plan["outer"]]
    assert [id(v) for v in program.params] == [id(v) for v in plan["params"]]
    assert same(program.alias_slots, plan["alias_slots"])
    assert same(program.alias_sources, plan["alias_sources"])
    assert program.V.tobytes() == np.array(plan["V"], dtype=np.float64).tobytes()
    assert program.loss_slot == plan["loss_slot"] and program.edge_count == plan["edge_count"]
    assert len(program.forward_groups) == len(plan["groups"])
    for g, p in zip(program.forward_groups, plan["groups"]):
        assert (g.level, g.in_loss, g.op.name, g.k, g.n, g.start, g.stop) == (
            p["level"], p["in_loss"], p["op"], p["k"], len(p["nodes"]), p["start"], p["stop"])
        if p["grid"]:
            assert g.gather is None and g.x_dense == p["x_dense"]
            assert same(g.w_idx, p["w_idx"]) and same(g.x_idx, p["x_idx"])
            assert same(g.b_idx, p["b_idx"])
        else:
            assert same(g.gather, p["gather"])
        if g.in_loss:
            assert (g.e0, g.e1) == (p["e0"], p["e1"])
        sums = p.get("sums", (None, None, None))  # (the loss's group sums nothing)
        assert all(same(a, b) for a, b in zip((g.gidx, g.bin_ids, g.bin_slots), sums))
    pplan = program.pplan
    assert all(same(a, b) for a, b in zip((pplan.gidx, pplan.bin_ids, pplan.bin_slots),
                                          plan["params_sums"]))


@pytest.fixture
def programs(monkeypatch):
    """The arguments of every Program a compiled step builds, as a list that fills up."""
    built = []

    def recording(*args):
        built.append(args)
        return Program(*args)
    monkeypatch.setattr(step_module, "Program", recording)
    return built


def eager(loss_fn, params, *arrays):
    for p in params:
        p.grad = 0.0
    nested = [np.vectorize(lambda x: Value(float(x), requires_grad=False), otypes=[object])(
        np.asarray(a, dtype=float)).tolist() for a in arrays]
    loss = loss_fn(*nested)
    loss.backward()
    return loss.data, [p.grad for p in params]


def compiled(loss_fn, params, *arrays):
    for p in params:
        p.grad = 0.0
    loss = compile(loss_fn)(*arrays)
    return loss, [p.grad for p in params]


def check(programs, loss_fn, params, *arrays, exact=False):
    """The step's program is the plain rules' one, and it replays as eager runs."""
    loss, grads = compiled(loss_fn, params, *arrays)
    expected, expected_grads = eager(loss_fn, params, *arrays)
    if exact:  # + - * /, relu and sums outside products: eager's order, eager's bits
        assert (loss, grads) == (expected, expected_grads)
    else:
        assert math.isclose(loss, expected, rel_tol=0, abs_tol=TOLERANCE * max(1, abs(loss)))
    assert len(programs) == 1
    assert_planned_plainly(Program(*programs[0]), plain_plan(*programs[0]))
    return programs[0]


# ---- the graphs --------------------------------------------------------------------------------

def moons_losses(model):
    params = model.parameters()

    def microgrant_way(X, y):
        return hinge_loss([model(x) for x in X], y) + 1e-4 * Value.sum([p * p for p in params])

    def micrograd_way(X, y):  # Python's sum: chains of +, and -yi an op on an input
        scores = [model(x) for x in X]
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(y))
        return data_loss + 1e-4 * sum((p * p for p in model.parameters()))
    return {"microgrant's way": microgrant_way, "micrograd's way": micrograd_way}


@pytest.mark.parametrize("way", ["microgrant's way", "micrograd's way"])
def test_moons_both_ways_are_planned_by_the_rules(programs, way):
    X, y = moons(24, seed=2, labels="pm1")
    model = MLP(2, [6, 6, 1], seed=3)
    check(programs, moons_losses(model)[way], model.parameters(), X, y)
    groups = Program(*programs[0]).forward_groups
    assert sum(g.gather is None for g in groups) == 3  # each layer one matrix product


def test_a_softmax_cross_entropy_net_is_planned_by_the_rules(programs):
    X, y = blobs(n=12, centers=3, seed=0)
    model = MLP(2, [5, 3], seed=1)
    args = check(programs, lambda X, y: cross_entropy([model(x) for x in X], y),
                 model.parameters(), X / 10.0, y)
    assert args[3].shifts  # its shifts are watched: nodes a guard needs, planned too


def test_chains_of_additions_and_reused_nodes_are_planned_by_the_rules(programs):
    w = [Value(0.1 * (i + 1), label=f"w{i}") for i in range(5)]

    def loss_fn(X):
        total = 0
        for row in X:
            for wi, x in zip(w, row):
                total += wi * x                          # one chain of +=
        h = w[0] * X[0][0]
        per_row = [sum(wi * x for wi, x in zip(w, row)) for row in X]  # chains of sum()
        return total * total + h * h + h * per_row[0] - sum(per_row) / len(per_row)

    X = np.arange(12.0).reshape(3, 4) / 7.0
    check(programs, loss_fn, w, X, exact=True)


def test_guarded_nodes_off_the_loss_and_a_watched_chain_are_planned_by_the_rules(programs):
    a, b = Value(0.5, label="a"), Value(-1.5, label="b")

    def loss_fn(x):
        partial = a * x[0] + b * x[1]
        if partial > 0:                          # the chain's inner node is watched
            partial = partial + a
        side = (b * x[2]).relu()
        scale = 2.0 if side > 0.25 else 3.0      # a node the loss never uses, guarded
        return (partial + b * x[2] + a * x[1]) * scale

    check(programs, loss_fn, [a, b], np.array([1.0, 2.0, 3.0]), exact=True)


def test_uneven_contributions_and_dots_that_are_no_grid_are_planned_by_the_rules(programs):
    n1, n2 = Neuron(2, activation="linear", seed=1), Neuron(2, activation="linear", seed=2)
    ws = [Value(0.01 * i, label=f"v{i}") for i in range(40)]

    def loss_fn(X):
        products = [wi * X[0][0] for wi in ws]  # one group; its first node used 200 times
        busy = Value.sum([products[0] * (j + 1) for j in range(200)])
        # Two neurons, each on its own sample: dot nodes that are no matrix product.
        return busy + Value.sum(products[1:]) + n1(X[0]) * n2(X[1])

    params = [*ws, *n1.parameters(), *n2.parameters()]
    check(programs, loss_fn, params, np.array([[0.5, -1.0], [2.0, 0.25]]), exact=True)
    groups = Program(*programs[0]).forward_groups
    assert any(g.op.name == "mul" and g.bin_ids is not None for g in groups)  # a bincount
    assert any(g.op.name == "dot" and g.gather is not None for g in groups)  # no product


def test_a_dense_layers_dots_are_read_as_rows_and_columns():
    # J neurons over S samples: J rows (weights and bias) and S columns (a sample's inputs).
    # A node after the first sample and the first neuron brings no input not seen before.
    layer = Layer(3, 4, seed=0)
    X = [[Value(float(s + i)) for i in range(3)] for s in range(5)]
    outputs = Value.sum([z for x in X for z in layer(x)])
    order = topological_order(outputs)
    _, dots = group_keys({n: n.inputs for n in order}, {}, set(order))
    assert len(dots.rows) == 4 and len(dots.cols) == 5
    assert all(len(w) == 4 for w in dots.rows) and all(len(x) == 3 for x in dots.cols)
    firsts = {n for n in dots.row if dots.row[n] == 0 or dots.col[n] == 0}
    assert dots.repeats == set(dots.row) - firsts and len(dots.repeats) == 3 * 4
