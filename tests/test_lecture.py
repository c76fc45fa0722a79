"""The micrograd lecture's cells, run against microgrant with only their imports changed.

Each test does what one kind of cell does in the lecture's notebooks (nn-zero-to-hero's
``micrograd_lecture_first_half_roughly`` and ``..._second_half_roughly``, micrograd's ``demo`` and
``trace_graph``): build the lecture's expressions, ``draw_dot`` them, call ``_backward()`` by hand,
set grads by hand, print each node's ``"grad %.4f"``, train the small MLP.  The code is written
here, in the lecture's style; where the lecture defines ``Value`` or ``draw_dot`` itself, the test
imports microgrant's instead.

Some cells use micrograd's private habits (``_prev``, ``_op``, ``_backward()``, ``random.seed``
governing an unseeded model); microgrant has each.  One habit is micrograd's and not
microgrant's: a number in an expression takes a gradient, so the lecture's own ``draw_dot``
prints ``"grad %.4f"`` for every node.  Importing from ``microgrant.micrograd`` (the lecture's
``micrograd.engine`` and ``micrograd.nn`` paths, prefixed) brings that habit; those cells run in
a process of their own, with their imports as a learner changes them and nothing else.
"""

# The lecture's cells label a value on the line that makes it: ``e = a*b; e.label = 'e'``.
# ruff: noqa: E702

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from microgrant import Value
from microgrant.nn import MLP, Neuron
from microgrant.viz import draw, draw_dot

pytest.importorskip("pygraphviz")

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parent.parent


def texts(drawing) -> list[str]:
    root = ET.fromstring(drawing.pipe("svg"))
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def records(drawing) -> list[str]:
    """Each value's record label, from the DOT text: ``{ a | data 2.0000 | grad 0.0000 }``."""
    return [line.split('label="', 1)[1].rsplit('"', 1)[0]
            for line in drawing.source.splitlines() if 'shape="record"' in line]


# ---- the first half: L = (a*b + c) * f, drawn before any backward ----------------------------


def lecture_L():
    a = Value(2.0, label='a')
    b = Value(-3.0, label='b')
    c = Value(10.0, label='c')
    e = a*b; e.label = 'e'
    d = e + c; d.label = 'd'
    f = Value(-2.0, label='f')
    L = d * f; L.label = 'L'
    return a, b, c, d, e, f, L


def test_draw_dot_before_backward_shows_every_grad_as_zero():
    *_, L = lecture_L()
    drawing = draw_dot(L)
    labels = records(drawing)
    assert len(labels) == 7 and all(label.endswith("| grad 0.0000 }") for label in labels)
    assert "{ L | data -8.0000 | grad 0.0000 }" in labels
    shown = texts(drawing)
    assert shown.count("grad 0.0000") == 7 and "data -8.0000" in shown
    assert {"*", "+"} <= set(shown)  # the op nodes, as the lecture writes them
    # Arrows point forward: from each input to its op, from the op to its result.
    assert "n6_op -> n6;" in drawing.source and 'rankdir="LR"' in drawing.source


def test_grads_set_by_hand_show_up_as_in_the_lecture():
    a, b, c, d, e, f, L = lecture_L()
    L.grad = 1.0
    f.grad = 4.0
    d.grad = -2.0
    c.grad = -2.0
    e.grad = -2.0
    b.grad = -4.0
    a.grad = 6.0
    shown = texts(draw_dot(L))
    for grad in ("grad 1.0000", "grad 4.0000", "grad -2.0000", "grad -4.0000", "grad 6.0000"):
        assert grad in shown
    # microgrant's own backward view computes them instead, and says where .grad differs.
    assert "grad -2" in texts(draw(L, view="backward"))


def test_nudging_the_leaves_along_their_grads_raises_L():
    a, b, c, d, e, f, L = lecture_L()
    L.backward()
    before = L.data
    a.data += 0.01 * a.grad
    b.data += 0.01 * b.grad
    c.data += 0.01 * c.grad
    f.data += 0.01 * f.grad
    e = a * b
    d = e + c
    L = d * f
    assert L.data > before


def test_the_numerical_derivative_matches_backward():
    def lol(h):
        a, b, c, d, e, f, L = lecture_L()
        L1 = L.data
        a, b, c, d, e, f, L = lecture_L()
        b.data += h
        e = a*b
        d = e + c
        L2 = (d * f).data
        return (L2 - L1)/h

    *_, L = lecture_L()
    L.backward()
    b = L.inputs[0].inputs[0].inputs[1]
    assert b.label == "b" and lol(0.001) == pytest.approx(b.grad, abs=1e-6)


# ---- the neuron: drawn, then backpropagated by hand, node by node ----------------------------


def lecture_neuron(tanh_from_exp=False):
    # inputs x1,x2
    x1 = Value(2.0, label='x1')
    x2 = Value(0.0, label='x2')
    # weights w1,w2
    w1 = Value(-3.0, label='w1')
    w2 = Value(1.0, label='w2')
    # bias of the neuron
    b = Value(6.8813735870195432, label='b')
    # x1*w1 + x2*w2 + b
    x1w1 = x1*w1; x1w1.label = 'x1*w1'
    x2w2 = x2*w2; x2w2.label = 'x2*w2'
    x1w1x2w2 = x1w1 + x2w2; x1w1x2w2.label = 'x1*w1 + x2*w2'
    n = x1w1x2w2 + b; n.label = 'n'
    if tanh_from_exp:
        e = (2*n).exp()
        o = (e - 1) / (e + 1)
    else:
        o = n.tanh()
    o.label = 'o'
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, x1w1x2w2=x1w1x2w2,
                n=n, o=o)


def test_the_neuron_after_backward_shows_the_lectures_grads():
    v = lecture_neuron()
    v["o"].backward()
    labels = records(draw_dot(v["o"]))
    for expected in ("{ x1 | data 2.0000 | grad -1.5000 }", "{ w1 | data -3.0000 | grad 1.0000 }",
                     "{ x2 | data 0.0000 | grad 0.5000 }", "{ w2 | data 1.0000 | grad 0.0000 }",
                     "{ b | data 6.8814 | grad 0.5000 }", "{ n | data 0.8814 | grad 0.5000 }",
                     "{ o | data 0.7071 | grad 1.0000 }"):
        assert expected in labels


def test_the_grads_filled_in_by_hand_as_the_lecture_does():
    v = lecture_neuron()
    o, n = v["o"], v["n"]
    o.grad = 1.0
    n.grad = 1 - o.data**2
    v["x1w1x2w2"].grad = 0.5
    v["b"].grad = 0.5
    v["x1w1"].grad = 0.5
    v["x2w2"].grad = 0.5
    v["x2"].grad = v["w2"].data * v["x2w2"].grad
    v["w2"].grad = v["x2"].data * v["x2w2"].grad
    v["x1"].grad = v["w1"].data * v["x1w1"].grad
    v["w1"].grad = v["x1"].data * v["x1w1"].grad
    shown = texts(draw_dot(o))
    assert "grad 0.5000" in shown and "grad -1.5000" in shown and "grad 1.0000" in shown
    assert n.grad == pytest.approx(0.5)


def test_backward_one_node_at_a_time_with_underscore_backward():
    v = lecture_neuron()
    v["o"].grad = 1.0
    v["o"]._backward()
    v["n"]._backward()
    v["b"]._backward()
    v["x1w1x2w2"]._backward()
    v["x2w2"]._backward()
    v["x1w1"]._backward()
    grads = {k: v[k].grad for k in ("x1", "w1", "x2", "w2", "b", "n")}
    assert grads == pytest.approx(dict(x1=-1.5, w1=1.0, x2=0.5, w2=0.0, b=0.5, n=0.5))
    assert "{ x1 | data 2.0000 | grad -1.5000 }" in records(draw_dot(v["o"]))


def test_the_lectures_own_topological_sort_over_prev():
    v = lecture_neuron()
    topo = []
    visited = set()

    def build_topo(node):
        if node not in visited:
            visited.add(node)
            for child in node._prev:
                build_topo(child)
            topo.append(node)
    build_topo(v["o"])
    assert topo[-1] is v["o"] and len(topo) == 10
    assert topo.index(v["n"]) > topo.index(v["b"]) and {v["o"]._op, v["n"]._op} == {"tanh", "+"}


# The cells of micrograd's trace_graph notebook, in a process of their own, with only their imports
# changed: ``micrograd.engine`` -> ``microgrant.micrograd.engine``, ``from micrograd import nn``
# -> ``from microgrant.micrograd import nn``.  The notebook's own ``trace`` and ``draw_dot`` read
# ``_prev`` and ``_op`` and print every node's grad with ``%.4f``.  Its ``graphviz.Digraph`` is
# stood in for by one that keeps what it is given (graphviz's Python package is the notebook's
# own dependency, not microgrant's).
TRACE_GRAPH_CELLS = """
from microgrant.micrograd.engine import Value
from graphviz import Digraph

def trace(root):
    nodes, edges = set(), set()
    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges

def draw_dot(root, format='svg', rankdir='LR'):
    nodes, edges = trace(root)
    dot = Digraph(format=format, graph_attr={'rankdir': rankdir})
    for n in nodes:
        dot.node(name=str(id(n)), label="{ data %.4f | grad %.4f }" % (n.data, n.grad),
                 shape='record')
        if n._op:
            dot.node(name=str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot

x = Value(1.0)
y = (x * 2 + 1).relu()
y.backward()
dot = draw_dot(y)
print(sorted(dot.labels))

import random
from microgrant.micrograd import nn
random.seed(1337)
n = nn.Neuron(2)
x = [Value(1.0), Value(-2.0)]
y = n(x)
y.backward()
dot = draw_dot(y)
print(sum(label.startswith("{ data") for label in dot.labels))
"""

STAND_IN_GRAPHVIZ = """
class Digraph:
    def __init__(self, format='svg', graph_attr=None):
        self.labels = []
    def node(self, name, label, shape=None):
        self.labels.append(label)
    def edge(self, tail, head):
        pass
"""


def run_cells(cells: str, tmp_path) -> list[str]:
    (tmp_path / "graphviz.py").write_text(STAND_IN_GRAPHVIZ)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", cells], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_trace_graph_notebook_runs_with_only_its_imports_changed(tmp_path):
    first, second = run_cells(TRACE_GRAPH_CELLS, tmp_path)
    # x * 2 + 1 then relu: x, the 2, x*2, the 1, the sum, the relu, and the three ops' nodes.
    # The 2 and the 1 print their gradients, as in micrograd (d y/d 2 = x = 1, d y/d 1 = 1).
    assert first == str(sorted(["{ data 1.0000 | grad 2.0000 }", "{ data 2.0000 | grad 1.0000 }",
                                "{ data 2.0000 | grad 1.0000 }", "{ data 1.0000 | grad 1.0000 }",
                                "{ data 3.0000 | grad 1.0000 }", "{ data 3.0000 | grad 1.0000 }",
                                "*", "+", "ReLU"]))
    # The neuron: w1, w2, b, x1, x2, w·x + b (one node in microgrant) and its ReLU, each with
    # data and grad.
    assert second == "7"


def test_plain_microgrant_keeps_numbers_constant_where_the_lecture_prints_their_grad(tmp_path):
    cells = TRACE_GRAPH_CELLS.replace("microgrant.micrograd.engine", "microgrant")
    with pytest.raises(AssertionError, match="must be real number, not NoneType"):
        run_cells(cells, tmp_path)


# ---- the second half: tanh from exp, micrograd's bugs, the MLP --------------------------------


def test_tanh_written_with_exp_gives_the_same_grads():
    v = lecture_neuron(tanh_from_exp=True)
    v["o"].backward()
    assert v["o"].data == pytest.approx(math.sqrt(0.5))
    assert [v[k].grad for k in ("x1", "w1", "x2", "w2")] == pytest.approx([-1.5, 1.0, 0.5, 0.0])
    labels = records(draw_dot(v["o"]))
    assert any(label.startswith("{  | data 2.0000 | grad") for label in labels)  # the 2 in 2*n
    assert "{ o | data 0.7071 | grad 1.0000 }" in labels


def test_a_value_used_twice_gets_both_contributions():
    a = Value(3.0, label='a')
    b = a + a   ; b.label = 'b'
    b.backward()
    drawing = draw_dot(b)
    assert "{ a | data 3.0000 | grad 2.0000 }" in records(drawing)
    assert drawing.source.count("n0 -> n1_op;") == 2  # one arrow per use

    a = Value(-2.0, label='a')
    b = Value(3.0, label='b')
    d = a * b    ; d.label = 'd'
    e = a + b    ; e.label = 'e'
    f = d * e    ; f.label = 'f'
    f.backward()
    assert (a.grad, b.grad) == (-3.0, -8.0)  # e*b + d, e*a + d
    assert "{ b | data 3.0000 | grad -8.0000 }" in records(draw_dot(f))


class LectureNeuron:
    # The lecture's own classes, written on microgrant's Value.
    def __init__(self, nin):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x):
        act = sum((wi*xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh()

    def parameters(self):
        return self.w + [self.b]


class LectureLayer:
    def __init__(self, nin, nout):
        self.neurons = [LectureNeuron(nin) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for neuron in self.neurons for p in neuron.parameters()]


class LectureMLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [LectureLayer(sz[i], sz[i+1]) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def test_the_lectures_mlp_trains_with_grads_zeroed_by_hand():
    random.seed(42)
    n = LectureMLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]  # desired targets
    losses = []
    for _ in range(20):
        # forward pass
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))
        # backward pass
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        # update
        for p in n.parameters():
            p.data += -0.1 * p.grad
        losses.append(loss.data)
    assert len(n.parameters()) == 41
    assert losses[-1] < 0.2 * losses[0]
    assert all(isinstance(y, Value) for y in ypred)


# ---- micrograd's trace_graph and demo notebooks ---------------------------------------------


def test_trace_graph_draws_and_renders_gout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # a very simple example
    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    dot = draw_dot(y)
    assert {"*", "+", "ReLU"} <= set(texts(dot)) and "grad 2.0000" in texts(dot)
    # a simple 2D neuron
    random.seed(1337)
    n = Neuron(2)
    x = [Value(1.0), Value(-2.0)]
    y = n(x)
    y.backward()
    dot = draw_dot(y)
    path = dot.render('gout')
    assert str(path) == "gout.svg" and (tmp_path / "gout.svg").read_bytes().startswith(b"<?xml")
    assert (tmp_path / "gout").read_text() == dot.source
    assert draw_dot(y, format='png', rankdir='TB').pipe()[:4] == b"\x89PNG"


def test_random_seed_1337_builds_micrographs_neuron():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(1337)
    theirs = [p.data for p in micrograd_nn.Neuron(2).parameters()]
    random.seed(1337)
    ours = [p.data for p in Neuron(2).parameters()]
    assert ours == theirs


def test_the_demo_with_random_seed_follows_micrograds_numbers():
    micrograd_engine = pytest.importorskip("micrograd.engine")
    micrograd_nn = pytest.importorskip("micrograd.nn")
    X = [[1.0, 0.5], [-0.5, 1.0], [0.2, -1.2], [1.5, -0.3]]
    y = [1, -1, 1, -1]

    def run(value_class, mlp_class):
        random.seed(1337)
        model = mlp_class(2, [16, 16, 1])
        history = []
        for k in range(3):
            inputs = [list(map(value_class, xrow)) for xrow in X]
            scores = list(map(model, inputs))
            losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(y, scores)]
            data_loss = sum(losses) * (1.0 / len(losses))
            reg_loss = 1e-4 * sum((p*p for p in model.parameters()))
            total_loss = data_loss + reg_loss
            model.zero_grad()
            total_loss.backward()
            learning_rate = 1.0 - 0.9*k/100
            for p in model.parameters():
                p.data -= learning_rate * p.grad
            history.append(total_loss.data)
        return history

    theirs = run(micrograd_engine.Value, micrograd_nn.MLP)
    ours = run(Value, MLP)
    assert ours == pytest.approx(theirs, rel=1e-12)
