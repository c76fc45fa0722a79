"""microgrant.viz: DOT text, backward steps, explanations, drawing limits and network drawings."""

# ruff: noqa: E501  (the DOT text written out by hand is compared line by line)

from __future__ import annotations

import json
import math
import re
import sys
import urllib.parse

import pytest

from microgrant import Value, cli, topological_order, viz
from microgrant.nn import MLP
from microgrant.viz import format_number
from microgrant.viz.text import display_names
from microgrant.viz.trace import Trace

# ---- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("x, digits, text", [
    (-1.4999999999999993, 4, "-1.5"),
    (0.30000000000000004, 4, "0.3"),
    (3.1e-11, 4, "3.1e-11"),
    (-2.5e-300, 4, "-2.5e-300"),
    (1e-5, 4, "1e-5"),
    (0.00012346, 4, "0.0001235"),
    (123456.7, 4, "1.235e5"),
    (1234.0, 4, "1234"),
    (2.0, 4, "2"),
    (7, 4, "7"),
    (0.0, 4, "0"),
    (-0.0, 4, "0"),
    (2 / 3, 2, "0.67"),
    (2 / 3, 8, "0.66666667"),
    (math.inf, 4, "inf"),
    (-math.inf, 4, "-inf"),
    (math.nan, 4, "nan"),
])
def test_format_number_reads_like_a_person_writes(x, digits, text):
    assert format_number(x, digits) == text


def test_format_number_never_hides_a_tiny_gradient():
    for exponent in range(-320, 0, 7):
        x = 3.0 * 10.0 ** exponent
        if x == 0.0:
            continue
        assert format_number(x) != "0"
        assert float(format_number(x)) == pytest.approx(x, rel=1e-3)


def test_format_number_rejects_bad_arguments():
    with pytest.raises(ValueError, match="digits"):
        format_number(1.0, 0)
    with pytest.raises(ValueError, match="digits"):
        format_number(1.0, 2.5)
    with pytest.raises(TypeError, match="str"):
        format_number("1.0")


# ---- DOT text, compared with text written out by hand ---------------------------------------

LEAF = "leaf with a gradient (an input or a parameter)"
TABLE = 'cellborder="1" cellspacing="0" cellpadding="4"'
HEADER = """digraph microgrant {
  graph [rankdir="LR", fontname="Helvetica", tooltip=" "];
  node [fontname="Helvetica", fontsize="11"];
  edge [fontname="Helvetica", fontsize="10", arrowsize="0.7"];
"""
MUL = ('shape="ellipse", style="filled", fillcolor="#dfe8f6", '
       'tooltip="mul: d(a * b)/da = b; d(a * b)/db = a", label=<×>')
ADD = ('shape="ellipse", style="filled", fillcolor="#dfe8f6", '
       'tooltip="add: d(a + b)/da = 1; d(a + b)/db = 1", label=<+>')
# A leaf whose .grad differs from the picture's grad gets one more cell, and says why: red
# for a real difference, grey for a .grad no backward pass has filled in yet.
WHY = ("differs from the grad shown: the picture shows d(output)/d(this value) for one "
       "backward pass, computed from the graph; .grad holds what backward() calls have "
       "accumulated (several, or not zeroed between steps).")
NOT_YET = ("not computed yet: no backward() has reached this value since it was made or "
           "zeroed. The grad shown is what backward() will put here.")


def accumulated(number: str) -> str:
    return (f'<td bgcolor="#fdeeee" tooltip=".grad = {number} {WHY}"><font color="#b03a2e">'
            f".grad {number}</font></td>")


def not_yet() -> str:
    return (f'<td bgcolor="#f4f4f4" tooltip=".grad = 0 {NOT_YET}"><font color="#777777">'
            f".grad 0</font></td>")


def abc():
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    return d


def test_forward_dot_of_a_times_b_plus_c():
    expected = HEADER + f"""\
  n0 [id="n0", shape="plain", tooltip="{LEAF}: a = 2", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>a</b></td><td>data 2</td></tr></table>>];
  n1 [id="n1", shape="plain", tooltip="{LEAF}: b = -3", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>b</b></td><td>data -3</td></tr></table>>];
  n2_op [id="n2_op", {MUL}];
  n0 -> n2_op [id="n2_in0"];
  n1 -> n2_op [id="n2_in1"];
  n2_op -> n2 [id="n2_out"];
  n2 [id="n2", shape="plain", tooltip="intermediate value: e = -6", label=<<table border="0" {TABLE} bgcolor="#ffffff"><tr><td><b>e</b></td><td>data -6</td></tr></table>>];
  n3 [id="n3", shape="plain", tooltip="{LEAF}: c = 10", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>c</b></td><td>data 10</td></tr></table>>];
  n4_op [id="n4_op", {ADD}];
  n2 -> n4_op [id="n4_in0"];
  n3 -> n4_op [id="n4_in1"];
  n4_op -> n4 [id="n4_out"];
  n4 [id="n4", shape="plain", tooltip="output (the value being differentiated): d = 4", label=<<table border="2" {TABLE} bgcolor="#ffe08a"><tr><td><b>d</b></td><td>data 4</td></tr></table>>];
}}
"""
    assert viz.to_dot(abc()) == expected


def test_backward_dot_of_a_times_b_plus_c():
    after_backward = HEADER + f"""\
  n0 [id="n0", shape="plain", tooltip="{LEAF}: a = 2, dd/da = -3", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>a</b></td><td>data 2</td><td>grad -3</td></tr></table>>];
  n1 [id="n1", shape="plain", tooltip="{LEAF}: b = -3, dd/db = 2", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>b</b></td><td>data -3</td><td>grad 2</td></tr></table>>];
  n2_op [id="n2_op", {MUL}];
  n0 -> n2_op [id="n2_in0", dir="back", label=<local -3<br/>(-3) × 1 = -3>, tooltip="d(a * b)/da = b; contributes local -3 × upstream grad 1 = -3 to the grad of a"];
  n1 -> n2_op [id="n2_in1", dir="back", label=<local 2<br/>2 × 1 = 2>, tooltip="d(a * b)/db = a; contributes local 2 × upstream grad 1 = 2 to the grad of b"];
  n2_op -> n2 [id="n2_out", dir="back"];
  n2 [id="n2", shape="plain", tooltip="intermediate value: e = -6, dd/de = 1", label=<<table border="0" {TABLE} bgcolor="#ffffff"><tr><td><b>e</b></td><td>data -6</td><td>grad 1</td></tr></table>>];
  n3 [id="n3", shape="plain", tooltip="{LEAF}: c = 10, dd/dc = 1", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>c</b></td><td>data 10</td><td>grad 1</td></tr></table>>];
  n4_op [id="n4_op", {ADD}];
  n2 -> n4_op [id="n4_in0", dir="back", label=<local 1<br/>1 × 1 = 1>, tooltip="d(a + b)/da = 1; contributes local 1 × upstream grad 1 = 1 to the grad of e"];
  n3 -> n4_op [id="n4_in1", dir="back", label=<local 1<br/>1 × 1 = 1>, tooltip="d(a + b)/db = 1; contributes local 1 × upstream grad 1 = 1 to the grad of c"];
  n4_op -> n4 [id="n4_out", dir="back"];
  n4 [id="n4", shape="plain", tooltip="output (the value being differentiated): d = 4, dd/dd = 1", label=<<table border="2" {TABLE} bgcolor="#ffe08a"><tr><td><b>d</b></td><td>data 4</td><td>grad 1</td></tr></table>>];
}}
"""
    # Before backward every leaf's .grad is still 0: the picture says so beside the grads it
    # computes (the interior value e gets no such cell).
    before_backward = HEADER + f"""\
  n0 [id="n0", shape="plain", tooltip="{LEAF}: a = 2, dd/da = -3; a.grad = 0 {NOT_YET}", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>a</b></td><td>data 2</td><td>grad -3</td>{not_yet()}</tr></table>>];
  n1 [id="n1", shape="plain", tooltip="{LEAF}: b = -3, dd/db = 2; b.grad = 0 {NOT_YET}", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>b</b></td><td>data -3</td><td>grad 2</td>{not_yet()}</tr></table>>];
  n2_op [id="n2_op", {MUL}];
  n0 -> n2_op [id="n2_in0", dir="back", label=<local -3<br/>(-3) × 1 = -3>, tooltip="d(a * b)/da = b; contributes local -3 × upstream grad 1 = -3 to the grad of a"];
  n1 -> n2_op [id="n2_in1", dir="back", label=<local 2<br/>2 × 1 = 2>, tooltip="d(a * b)/db = a; contributes local 2 × upstream grad 1 = 2 to the grad of b"];
  n2_op -> n2 [id="n2_out", dir="back"];
  n2 [id="n2", shape="plain", tooltip="intermediate value: e = -6, dd/de = 1", label=<<table border="0" {TABLE} bgcolor="#ffffff"><tr><td><b>e</b></td><td>data -6</td><td>grad 1</td></tr></table>>];
  n3 [id="n3", shape="plain", tooltip="{LEAF}: c = 10, dd/dc = 1; c.grad = 0 {NOT_YET}", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>c</b></td><td>data 10</td><td>grad 1</td>{not_yet()}</tr></table>>];
  n4_op [id="n4_op", {ADD}];
  n2 -> n4_op [id="n4_in0", dir="back", label=<local 1<br/>1 × 1 = 1>, tooltip="d(a + b)/da = 1; contributes local 1 × upstream grad 1 = 1 to the grad of e"];
  n3 -> n4_op [id="n4_in1", dir="back", label=<local 1<br/>1 × 1 = 1>, tooltip="d(a + b)/db = 1; contributes local 1 × upstream grad 1 = 1 to the grad of c"];
  n4_op -> n4 [id="n4_out", dir="back"];
  n4 [id="n4", shape="plain", tooltip="output (the value being differentiated): d = 4, dd/dd = 1", label=<<table border="2" {TABLE} bgcolor="#ffe08a"><tr><td><b>d</b></td><td>data 4</td><td>grad 1</td></tr></table>>];
}}
"""
    root = abc()
    assert viz.to_dot(root, view="backward") == before_backward
    # The grads are computed from the graph, not read from .grad: once one backward has
    # filled .grad with the same numbers, the extra cells go and nothing else changes.
    root.backward()
    assert viz.to_dot(root, view="backward") == after_backward


def test_backward_dot_of_x_times_x_has_two_edges():
    x = Value(3.0, label="x")
    y = x * x
    expected = HEADER + f"""\
  n0 [id="n0", shape="plain", tooltip="{LEAF}: x = 3, d(x × x)/dx = 6; x.grad = 0 {NOT_YET}", label=<<table border="0" {TABLE} bgcolor="#d4efd4"><tr><td><b>x</b></td><td>data 3</td><td>grad 6</td>{not_yet()}</tr></table>>];
  n1_op [id="n1_op", {MUL}];
  n0 -> n1_op [id="n1_in0", dir="back", label=<local 3<br/>3 × 1 = 3>, tooltip="d(a * b)/da = b; contributes local 3 × upstream grad 1 = 3 to the grad of x"];
  n0 -> n1_op [id="n1_in1", dir="back", label=<local 3<br/>3 × 1 = 3>, tooltip="d(a * b)/db = a; contributes local 3 × upstream grad 1 = 3 to the grad of x"];
  n1_op -> n1 [id="n1_out", dir="back"];
  n1 [id="n1", shape="plain", tooltip="output (the value being differentiated): x × x = 9, d(x × x)/d(x × x) = 1", label=<<table border="2" {TABLE} bgcolor="#ffe08a"><tr><td><font color="#777777">x × x</font></td><td>data 9</td><td>grad 1</td></tr></table>>];
}}
"""
    assert viz.to_dot(y, view="backward") == expected


def cells(dot: str, node_id: str) -> list[str]:
    """The text of each cell of a value node's table, tags stripped."""
    line = next(line for line in dot.splitlines() if line.startswith(f"  {node_id} [id="))
    table = line.split("label=<", 1)[1]
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", table)]


def x_squared_times_w():
    x, w = Value(3.0, label="x"), Value(2.0, label="w")
    y = x * x
    y.label = "y"
    z = y * w
    z.label = "z"
    return z, x, w  # dz/dx = 2 x w = 12, dz/dw = x^2 = 9, dz/dy = w = 2


def test_before_backward_a_leafs_grad_cell_shows_zero():
    z, x, w = x_squared_times_w()
    dot = viz.to_dot(z, view="backward")
    assert cells(dot, "n0") == ["x", "data 3", "grad 12", ".grad 0"]
    assert cells(dot, "n2") == ["w", "data 2", "grad 9", ".grad 0"]
    # Interior values get no such cell, though their .grad (0) differs from dz/dy = 2 too.
    assert cells(dot, "n1") == ["y", "data 9", "grad 2"]
    assert cells(dot, "n3") == ["z", "data 18", "grad 1"]
    # Not computed yet is no warning: grey, not the red of a real difference or of the
    # stepper's current step, and the legend says what it means.
    assert dot.count('<font color="#777777">.grad 0</font>') == 2
    assert "#b03a2e" not in dot and "#d62728" not in dot
    legend = viz.to_dot(z, view="backward", legend=True)
    assert "not computed yet: backward() has not reached this leaf" in legend
    assert "differs from one backward pass" not in legend  # only the marks it uses
    assert viz.to_dot(z, view="forward").count(".grad") == 0  # the forward view has no grads


def test_after_one_backward_there_is_no_extra_cell():
    z, x, w = x_squared_times_w()
    z.backward()
    assert (x.grad, w.grad) == (12.0, 9.0)
    dot = viz.to_dot(z, view="backward")
    assert ".grad" not in dot
    assert cells(dot, "n0") == ["x", "data 3", "grad 12"]


def test_after_two_backwards_the_cell_shows_twice_the_value():
    z, x, w = x_squared_times_w()
    z.backward()
    z.backward()
    dot = viz.to_dot(z, view="backward")
    assert cells(dot, "n0") == ["x", "data 3", "grad 12", ".grad 24"]
    assert cells(dot, "n2") == ["w", "data 2", "grad 9", ".grad 18"]
    assert cells(dot, "n1") == ["y", "data 9", "grad 2"]
    x_line = next(line for line in dot.splitlines() if line.startswith("  n0 [id="))
    # Red text on its own background, and a tooltip on the cell and the node saying why.
    assert '<td bgcolor="#fdeeee" tooltip=".grad = 24 differs from the grad shown' in x_line
    assert '<font color="#b03a2e">.grad 24</font>' in x_line
    assert "x.grad = 24 differs from the grad shown" in x_line.split("label=")[0]
    for why in ("for one backward pass", "accumulated", "several",
                "not zeroed between steps"):
        assert why in x_line
    assert "differs from one backward pass" in viz.to_dot(z, view="backward", legend=True)
    # zero_grad brings .grad back to 0: not computed yet, in grey, as before any backward.
    x.zero_grad()
    dot = viz.to_dot(z, view="backward")
    assert cells(dot, "n0")[-1] == ".grad 0"
    assert '<font color="#777777">.grad 0</font>' in dot


def test_the_grad_cell_ignores_float_noise_but_not_a_real_difference():
    z, x, w = x_squared_times_w()
    z.backward()
    x.grad = 12.0 * (1 + 1e-12)  # the same number, as far as rel_tol=1e-9 goes
    assert ".grad" not in viz.to_dot(z, view="backward")
    x.grad = 12.0 * (1 + 1e-6)  # a real difference, but 4 digits would write both as "12"
    shown = cells(viz.to_dot(z, view="backward"), "n0")
    assert shown[2] == "grad 12"
    assert shown[3] == ".grad 12.00001"  # digits enough to tell them apart, no more
    # A leaf backprop does not reach (a dead relu) has grad 0 and .grad 0: they agree.
    v = Value(-1.0, label="v")
    out = v.relu() * 2
    assert ".grad" not in viz.to_dot(out, view="backward")
    out.backward()
    assert ".grad" not in viz.to_dot(out, view="backward")


def test_constants_never_get_a_grad_cell():
    x = Value(3.0, label="x")
    c = Value(5.0, label="c", requires_grad=False)
    y = x * c
    y.backward()
    y.backward()
    dot = viz.to_dot(y, view="backward")
    assert cells(dot, "n1") == ["c", "data 5"]
    assert cells(dot, "n0") == ["x", "data 3", "grad 5", ".grad 10"]


def test_constants_are_grey_and_take_no_gradient_edge_label():
    x = Value(3.0, label="x")
    y = 2 * x
    dot = viz.to_dot(y, view="backward")
    assert 'bgcolor="#ececec"><tr><td><i>const</i></td><td>data 2</td></tr>' in dot
    assert ('n0 -> n2_op [id="n2_in0", dir="back", style="dashed", '
            'tooltip="constant: takes no gradient"];') in dot
    assert "label=<local 2<br/>2 × 1 = 2>" in dot


def test_a_leaf_alone_and_a_constant_alone():
    x = Value(1.5, label="x")
    assert 'n0 [id="n0"' in viz.to_dot(x)
    assert "grad 1" in viz.to_dot(x, view="backward")
    c = Value(4.0, requires_grad=False)
    assert "grad" not in viz.to_dot(c, view="backward").split("label=")[-1]


def test_same_graph_same_text_and_digits_option():
    def build():
        x = Value(1.0 / 3.0, label="x")
        return (x * x + x.exp()).tanh()
    assert viz.to_dot(build(), "backward") == viz.to_dot(build(), "backward")
    assert "data 0.3333" in viz.to_dot(build())
    assert "data 0.33333333" in viz.to_dot(build(), digits=8)
    assert 'rankdir="TB"' in viz.to_dot(build(), rankdir="TB")


def test_ids_number_each_value_after_its_inputs():
    x, w = Value(1.0, label="x"), Value(2.0, label="w")
    y = (x * w).relu() + w
    dot = viz.to_dot(y)
    ids = {}
    for line in dot.splitlines():
        if line.startswith("  n") and "shape=\"plain\"" in line:
            node_id = line.split()[0]
            ids[line.split("<b>")[1].split("</b>")[0] if "<b>" in line else node_id] = node_id
    assert list(ids) == ["x", "w", "n2", "n3", "n4"]
    assert list(ids.values()) == ["n0", "n1", "n2", "n3", "n4"]


def test_long_chain_converts_without_recursion():
    x = Value(0.5, label="x")
    v = x
    for _ in range(20_000):
        v = -v
    assert sys.getrecursionlimit() < 20_000
    dot = viz.to_dot(v, view="backward")
    assert len(re.findall(r"^  n\d+ \[id=", dot, flags=re.M)) == 20_001
    assert 'n20000 [id="n20000"' in dot
    steps = viz.backward_steps(v)
    assert len(steps) == 20_000
    assert steps[-1].grads_after == (1.0,)  # (-1)^20000
    assert len(viz.explain(v).splitlines()) > 40_000
    drawing = viz.draw(v, max_nodes=40)
    assert drawing.omitted == 20_001 - 40
    assert "19,961 more values not drawn" in drawing.source
    assert drawing.pipe("svg").startswith(b"<?xml")


def test_draw_keeps_the_values_nearest_the_output_and_says_what_it_left_out():
    xs = [Value(float(i), label=f"x{i}") for i in range(600)]
    total = Value.sum(x * x for x in xs)
    drawing = viz.draw(total, max_nodes=100)
    # the sum and its 99 nearest inputs (products) are drawn, nothing else
    assert drawing.omitted == 1 + 600 + 600 - 100
    assert f"{drawing.omitted:,} more values not drawn" in drawing.source
    assert "max_nodes=None" in drawing.source
    assert "<b>x0</b>" not in drawing.source  # the leaves are furthest from the output
    svg = drawing.pipe("svg").decode()
    assert "more values not drawn" in svg
    everything = viz.draw(total, max_nodes=None)
    assert everything.omitted == 0
    assert everything.source == viz.to_dot(total)
    with pytest.raises(ValueError, match="max_nodes"):
        viz.draw(total, max_nodes=0)


# ---- backward steps ------------------------------------------------------------------------


def reused_and_diamond():
    """a is used twice (c = a*b, d = c + a) and c reaches e by two paths (a diamond)."""
    a, b = Value(1.5, label="a"), Value(-2.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    e = (c * d).tanh() * c + a ** 2
    e.label = "e"
    return e, [a, b]


def test_backward_steps_replay_backward_exactly():
    root, leaves = reused_and_diamond()
    steps = viz.backward_steps(root)  # before backward was ever called
    order = topological_order(root)
    assert len(steps) == len(order)
    assert [s.node for s in steps] == order[::-1]
    assert [s.index for s in steps] == list(range(len(steps)))
    assert steps[0].node is root and steps[0].upstream == 1.0
    last_seen = {}
    for step in steps:
        assert step.contributions == tuple(d * step.upstream for d in step.local_grads)
        for x, g in zip(step.inputs, step.grads_after):
            last_seen[x] = g
    root.backward()
    for leaf in leaves:
        assert last_seen[leaf] == leaf.grad  # exactly, not approximately
    # every interior grad a step passes on is the grad backward computed
    for step in steps:
        assert step.upstream == step.node.grad
    # and the steps still agree once .grad is filled
    assert [s.grads_after for s in viz.backward_steps(root)] == [s.grads_after for s in steps]


def test_backward_steps_of_x_times_x():
    x = Value(3.0, label="x")
    (step,) = viz.backward_steps(x * x)
    assert step.inputs == (x, x)
    assert step.local_grads == (3.0, 3.0)
    assert step.contributions == (3.0, 3.0)
    assert step.grads_after == (6.0, 6.0)
    assert step.formulas == ("d(a * b)/da = b", "d(a * b)/db = a")
    assert "total so far 6" in step.equation


def test_a_step_draws_itself_highlighted():
    root, _ = reused_and_diamond()
    steps = viz.backward_steps(root)
    step = steps[2]
    dot = viz.to_dot(root, view="backward", highlight=step)
    op_line = next(line for line in dot.splitlines() if line.startswith(f"  {step.node_id}_op "))
    assert 'color="#d62728", penwidth="3"' in op_line
    for i in range(len(step.inputs)):
        edge = next(line for line in dot.splitlines() if f'id="{step.node_id}_in{i}"' in line)
        assert 'color="#d62728"' in edge
    other = steps[0]
    other_op = next(line for line in dot.splitlines() if line.startswith(f"  {other.node_id}_op "))
    assert "#d62728" not in other_op
    assert step.draw().source == dot
    with pytest.raises(ValueError, match="another graph"):
        viz.to_dot(abc(), highlight=step)
    with pytest.raises(TypeError, match="BackwardStep"):
        viz.to_dot(root, highlight=3)


def test_a_dead_relu_passes_zero_and_matches_backward():
    x = Value(-1.0, label="x")
    y = (x * 3).relu() * 2
    steps = viz.backward_steps(y)
    y.backward()
    assert steps[-1].grads_after[0] == x.grad == 0.0


# ---- explain -------------------------------------------------------------------------------


def note_004_chain():
    """Note 004: z1 = w1 x1, a1 = σ(z1), z2 = w2 a1, ŷ = σ(z2), J = BCE(ŷ, y) for one sample."""
    x1, y = Value(1.5, label="x1"), 1.0
    w1, w2 = Value(0.8, label="w1"), Value(-0.4, label="w2")
    z1 = w1 * x1
    z1.label = "z1"
    a1 = z1.sigmoid()
    a1.label = "a1"
    z2 = w2 * a1
    z2.label = "z2"
    yhat = z2.sigmoid()
    yhat.label = "yhat"
    J = -(y * yhat.log() + (1 - y) * (1 - yhat).log())
    J.label = "J"
    return J, w1, w2


def test_explain_the_two_neuron_chain_of_note_004():
    J, w1, w2 = note_004_chain()
    text = viz.explain(J)
    # The derivation by hand, in plain floats.
    sig = lambda z: 1.0 / (1.0 + math.exp(-z))  # noqa: E731
    a1 = sig(0.8 * 1.5)
    yhat = sig(-0.4 * a1)
    dJ_dyhat = -1.0 / yhat          # -y/ŷ + (1-y)/(1-ŷ) with y = 1
    dyhat_dz2 = yhat * (1 - yhat)
    dJ_dw2 = dJ_dyhat * dyhat_dz2 * a1
    dJ_dw1 = dJ_dyhat * dyhat_dz2 * -0.4 * a1 * (1 - a1) * 1.5
    f = format_number
    assert "z1 = w1 × x1 = 0.8 × 1.5 = 1.2" in text
    assert f"a1 = σ(z1) = σ(1.2) = {f(a1)}" in text
    assert f"yhat = σ(z2) = σ({f(-0.4 * a1)}) = {f(yhat)}" in text
    assert f"with dJ/dyhat = {f(dJ_dyhat)}" in text
    assert (f"dJ/dz2 += dJ/dyhat * ∂yhat/∂z2 = ({f(dJ_dyhat)}) * {f(dyhat_dz2)} = "
            f"{f(dJ_dyhat * dyhat_dz2)}") in text
    assert "dJ/dw2 += dJ/dz2 * ∂z2/∂w2 = " in text
    assert f"  dJ/dw2 = {f(dJ_dw2)}" in text
    assert f"  dJ/dw1 = {f(dJ_dw1)}" in text
    # The hand derivation agrees with the engine (the note's own dJ/dŷ = y/ŷ + (1-y)/(1-ŷ)
    # has the wrong sign on its first term and would give +1/ŷ here).
    J.backward()
    assert w2.grad == pytest.approx(dJ_dw2, rel=1e-12)
    assert w1.grad == pytest.approx(dJ_dw1, rel=1e-12)


def test_explain_writes_each_chain_rule_step():
    text = viz.explain(abc())
    assert text.splitlines() == [
        "Forward pass:",
        "  e = a × b = 2 × (-3) = -6",
        "  d = e + c = (-6) + 10 = 4",
        "Backward pass (the chain rule, from d back to the leaves):",
        "  dd/dd = 1   (the seed: d with respect to itself)",
        "step 1: d = e + c, with dd/dd = 1",
        "  dd/de += dd/dd * ∂d/∂e = 1 * 1 = 1   [d(a + b)/da = 1]",
        "  dd/dc += dd/dd * ∂d/∂c = 1 * 1 = 1   [d(a + b)/db = 1]",
        "step 2: e = a × b, with dd/de = 1",
        "  dd/da += dd/de * ∂e/∂a = 1 * (-3) = -3   [d(a * b)/da = b]",
        "  dd/db += dd/de * ∂e/∂b = 1 * 2 = 2   [d(a * b)/db = a]",
        "Gradients of the leaves:",
        "  dd/da = dd/de * de/da = 1 * (-3) = -3",
        "  dd/db = dd/de * de/db = 1 * 2 = 2",
        "  dd/dc = 1",
    ]


def test_explain_names_unlabelled_values_by_expression_and_keeps_tiny_numbers():
    x = Value(-30.0, label="x")
    y = x.sigmoid()
    text = viz.explain(y)
    assert "  σ(x) = σ(-30) = 9.358e-14" in text
    assert "d(σ(x))/dx = 9.358e-14" in text
    assert "0.0000" not in text


def test_explain_leaf_and_constant():
    assert "is a leaf" in viz.explain(Value(2.0, label="x"))
    assert "is a constant" in viz.explain(Value(2.0, requires_grad=False))


def test_duplicate_labels_are_told_apart():
    a, b = Value(1.0, label="x"), Value(2.0, label="x")
    text = viz.explain(a * b)
    assert "x[n0] × x[n1]" in text


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("function", [viz.to_dot, viz.draw, viz.backward_steps, viz.explain])
@pytest.mark.parametrize("bad, type_name", [(3.0, "float"), ([Value(1.0)], "list"),
                                            (None, "NoneType")])
def test_non_values_get_a_type_error_naming_the_type(function, bad, type_name):
    with pytest.raises(TypeError, match=type_name):
        function(bad)


def test_save_stepper_rejects_non_values(tmp_path):
    with pytest.raises(TypeError, match="str"):
        viz.save_stepper("x", tmp_path / "page.html")
    assert not (tmp_path / "page.html").exists()


def test_unknown_view_and_rankdir_list_the_valid_ones():
    with pytest.raises(ValueError, match="'forward', 'backward'"):
        viz.to_dot(abc(), view="sideways")
    with pytest.raises(ValueError, match="'forward', 'backward'"):
        viz.draw(abc(), view="grads")
    with pytest.raises(ValueError, match="'LR'"):
        viz.to_dot(abc(), rankdir="up")


# ---- the stepper page (its contents; test_stepper.py clicks through it in a browser) --------


def test_stepper_page_is_self_contained(tmp_path):
    root, _ = reused_and_diamond()
    path = viz.save_stepper(root, tmp_path / "steps.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    for external in ("<script src", "<link", "@import", "url(", "<iframe"):
        assert external not in page
    # The one picture is an <img> whose data URI is the SVG itself (a fallback that notebook
    # sanitizers keep; the script takes the live picture out of it).
    assert page.count("<img") == 1 and page.count("<img src='data:image/svg+xml;") == 1
    without_namespaces = page.replace("http://www.w3.org/2000/svg", "").replace(
        "http://www.w3.org/1999/xlink", "")
    assert "http" not in without_namespaces
    uid = stepper_data(page)["uid"]
    assert re.fullmatch(r"mgs-[0-9a-f]{6}", uid)
    assert f'<div class="mg-stepper" id="{uid}" tabindex="0"' in page
    for step in viz.backward_steps(root):
        assert f'id="{uid}-{step.node_id}_op"' in picture_of(page)
        for i in range(len(step.inputs)):
            assert f'id="{uid}-{step.node_id}_in{i}"' in picture_of(page)
    # The live page's controls travel in the data, so that no viewer shows dead ones.
    shell = stepper_data(page)["shell"]
    for name in ("prev", "next", "slider", "equation"):
        assert f'id="{uid}-{name}"' in shell and f'id="{uid}-{name}"' not in page
    assert 'type="range"' in shell
    # Every id inside the picture carries the stepper's prefix, so two can share a page.
    svg = picture_of(page)
    ids = re.findall(r'\bid="([^"]*)"', svg)
    assert ids and all(i.startswith(uid + "-") for i in ids)
    assert not [p for p in tmp_path.iterdir() if p.name != "steps.html"]


def test_stepper_cannot_be_broken_out_of_by_a_label(tmp_path):
    x = Value(1.0, label="</script><script>alert(1)</script>@@SVG@@ @@DATA@@")
    page = viz.save_stepper(x * 2, tmp_path / "p.html").read_text(encoding="utf-8")
    assert page.count("<script") == 2  # the data block and the page's own script
    assert "alert(1)</script>" not in page
    assert page.count("<img") == 1 and picture_of(page).count("<svg") == 1


def picture_of(page: str) -> str:
    """The stepper's picture: the SVG inside its <img>'s data URI."""
    found = re.search(r"<img src='data:image/svg\+xml;charset=utf-8,([^']+)'", page)
    return urllib.parse.unquote(found.group(1))


def stepper_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="(mgs-[0-9a-f]+)-data">(.*?)'
                      r"</script>", page, flags=re.S)
    return json.loads(found.group(2))


def test_stepper_reveals_each_number_when_backprop_reaches_it(tmp_path):
    page = viz.save_stepper(abc(), tmp_path / "p.html").read_text(encoding="utf-8")
    steps = stepper_data(page)["steps"]
    # d = e + c is step 1 (n4), e = a * b is step 2 (n2); written out by hand.
    assert [step["reveal"] for step in steps] == [
        ["n4_grad"],                                    # the seed: dd/dd = 1
        ["n4_in0", "n4_in1", "n2_grad", "n3_grad"],     # step 1 completes e and c
        ["n2_in0", "n2_in1", "n0_grad", "n1_grad"],     # step 2 completes a and b
    ]
    assert steps[0]["ids"][0] == "n4"  # the seed step starts at the output, scrolled to
    assert [s["node"] for s in steps] == [None, "n4", "n2"]
    assert [s["name"] for s in steps] == ["d", "d", "e"]
    # Graphviz carries each grad cell's id into the SVG (as "a_" + id) for the page to find.
    uid = stepper_data(page)["uid"]
    for k in range(5):
        assert f'id="{uid}-a_n{k}_grad"' in picture_of(page)


def test_a_value_used_several_times_is_revealed_after_its_last_consumer(tmp_path):
    root, (a, b) = reused_and_diamond()
    steps = viz.backward_steps(root)
    data = stepper_data(viz.save_stepper(root, tmp_path / "p.html").read_text("utf-8"))["steps"]
    assert len(data) == len(steps) + 1
    revealed_at = {i: k for k, step in enumerate(data) for i in step["reveal"]}
    consumers = {}
    for step in steps:
        for x_id in step.input_ids:
            consumers.setdefault(x_id, []).append(step.index + 1)
    assert sorted(len(v) for v in consumers.values())[-1] >= 3  # a feeds three ops
    for x_id, positions in consumers.items():
        assert revealed_at[f"{x_id}_grad"] == max(positions)
    for step in steps:
        for i in range(len(step.inputs)):
            assert revealed_at[f"{step.node_id}_in{i}"] == step.index + 1
    # The grad a value shows once revealed is the one its last consumer's step left it.
    final = {x: g for step in steps for x, g in zip(step.inputs, step.grads_after)}
    root.backward()
    assert final[a] == a.grad and final[b] == b.grad


def test_constants_have_nothing_to_reveal(tmp_path):
    x = Value(3.0, label="x")
    data = stepper_data(viz.save_stepper(2 * x, tmp_path / "p.html").read_text("utf-8"))
    ids = [i for step in data["steps"] for i in step["reveal"]]
    assert ids == ["n2_grad", "n2_in1", "n1_grad"]  # n0 is the constant 2
    assert [v["kind"] for v in data["values"]] == ["constant", "leaf", "output"]
    assert [c["id"] for c in data["checks"]] == ["n1"]  # constants take no check either


def test_stepper_title_is_the_outputs_label_or_the_output(tmp_path):
    x = Value(2.0, label="x")
    y = x * x
    page = viz.save_stepper(y, tmp_path / "a.html").read_text("utf-8")
    assert stepper_data(page)["title"] == "Backprop through the output"
    assert "<title>Backprop through the output</title>" in page
    y.label = "loss"
    page = viz.save_stepper(y, tmp_path / "b.html").read_text("utf-8")
    assert ">Backprop through loss</div>" in page
    page = viz.save_stepper(y, tmp_path / "c.html", title="Mine <&>").read_text("utf-8")
    assert ">Mine &lt;&amp;&gt;</div>" in page and "<title>Mine &lt;&amp;&gt;</title>" in page


# ---- networks ------------------------------------------------------------------------------


def edges_into(source: str, prefix: str) -> int:
    """How many drawn edges end at a node whose name starts with ``prefix`` (not the invisible
    ones that keep a layer's neurons in order)."""
    return len(re.findall(rf"^  \w+(?::\w+:e)? -> {prefix}\w*(?::\w+:w)? \[id=", source,
                          flags=re.M))


def test_draw_network_of_a_neuron_layer_and_mlp():
    nn = pytest.importorskip("microgrant.nn")
    neuron = nn.Neuron(3, activation="tanh", seed=1)
    source = viz.draw_network(neuron).source
    for i, w in enumerate(neuron.w):
        # each edge ends at the row of the neuron that lists its weight
        assert f'x{i + 1} -> l1n1:w{i + 1}:w [id="x{i + 1}_l1n1"' in source
        assert (f'<td port="w{i + 1}" align="left" balign="left">w{i + 1} '
                f"{format_number(w.data, 3)}</td>") in source
    assert "tanh(Σ w·x + b)" in source and "grad" not in source

    layer = nn.Layer(2, 3, activation="sigmoid", seed=2)
    source = viz.draw_network(layer).source
    assert edges_into(source, "l1n") == 6
    assert "ŷ3" in source

    mlp = nn.MLP(2, [4, 3, 1], seed=3)
    source = viz.draw_network(mlp).source
    assert edges_into(source, "l1n") == 2 * 4
    assert edges_into(source, "l2n") == 4 * 3
    assert edges_into(source, "l3n") == 3 * 1
    assert "hidden layer 1: 4 relu" in source and "output layer: 1 linear" in source
    assert "<b>L2.n3</b>" in source  # named as nn names its parameters
    out = mlp([1.0, -2.0])
    out.backward()
    with_grads = viz.draw_network(mlp).source
    w = mlp.layers[2].neurons[0].w[0]
    assert f"w1 {format_number(w.data, 3)}<br/><font color=\"#777777\">grad w1 " \
           f"{format_number(w.grad, 3)}</font>" in with_grads
    assert "grad" not in viz.draw_network(mlp, grads=False).source
    svg = viz.draw_network(mlp).pipe("svg").decode()
    assert "hidden layer 2" in svg


def test_draw_network_rejects_what_is_not_a_model():
    with pytest.raises(TypeError, match="Neuron, a Layer or an MLP.*got int"):
        viz.draw_network(3)
    with pytest.raises(TypeError, match="got Value"):
        viz.draw_network(Value(1.0))


def test_draw_network_with_a_stand_in_shaped_like_micrograds():
    class Neuron:
        def __init__(self, n, nonlin=True):
            self.w = [Value(0.5) for _ in range(n)]
            self.b = Value(0.1)
            self.nonlin = nonlin

    class Layer:
        def __init__(self, nin, nout, **kw):
            self.neurons = [Neuron(nin, **kw) for _ in range(nout)]

    class MLP:
        def __init__(self):
            self.layers = [Layer(2, 2), Layer(2, 1, nonlin=False)]

    source = viz.draw_network(MLP()).source
    assert "relu(Σ w·x + b)" in source and "linear(Σ w·x + b)" in source
    assert "<b>L1.n2</b>" in source  # unlabelled parameters: named by their place
    broken = MLP()
    broken.layers[1].neurons[0].w.append(Value(1.0))
    with pytest.raises(ValueError, match="3 weights, but 2 values feed it"):
        viz.draw_network(broken)
    with pytest.raises(ValueError, match="max_nodes=None"):
        viz.draw_network(MLP(), max_nodes=3)


def test_an_undefined_local_derivative_stops_every_replay_of_backprop_alike():
    # sqrt'(0) is undefined; its branch is multiplied by 0, yet backward, grad, explain and
    # backward_steps must agree on what that means: a clear error, not a NaN somewhere.
    from microgrant import grad

    x, w = Value(0.0, label="x"), Value(3.0, label="w")
    y = x.sqrt() * 0.0 + w * 2
    messages = []
    for attempt in (y.backward, lambda: grad(y, [x, w]), lambda: viz.explain(y),
                    lambda: viz.backward_steps(y), lambda: viz.to_dot(y, view="backward")):
        with pytest.raises((ValueError, ArithmeticError)) as error:
            attempt()
        messages.append((type(error.value), str(error.value)))
    assert len(set(messages)) == 1
    assert "sqrt" in messages[0][1] and "x = 0.0" in messages[0][1]
    assert "sqrt" in viz.to_dot(y)  # the forward view needs no derivative


# ---- a stale graph: the weights moved after the graph was computed ---------------------------


def updated_after_backward():
    """The usual order of a training loop: forward, backward, then the update."""
    w, x = Value(2.0, label="w"), Value(3.0, label="x", requires_grad=False)
    y = w * x
    y.label = "y"
    y.backward()
    w.data -= 0.1 * w.grad  # 2 - 0.3
    return y, w, x


def test_explain_never_prints_arithmetic_that_does_not_hold_after_an_update():
    y, w, x = updated_after_backward()
    text = viz.explain(y)
    assert "1.7 × 3 = 6" not in text and "= 6\n" not in text
    assert text.splitlines()[0] == "stale graph: w or x changed after it was computed"
    assert "y = 6 was computed before; y = w × x now gives 1.7 × 3 = 5.1" in text
    assert "run the forward pass" in text
    # every equation it does print holds
    for a, b, c in re.findall(r"= ([\d.]+) × ([\d.]+) = ([\d.]+)", text):
        assert math.isclose(float(a) * float(b), float(c), rel_tol=1e-3)
    # computed again, the graph is fresh and explained as usual
    y2 = w * x
    assert "Forward pass:" in viz.explain(y2) and "stale" not in viz.explain(y2)


def test_a_stale_graph_names_the_one_leaf_that_can_have_changed():
    w, x = Value(2.0, label="w"), Value(3.0, label="x")
    y = w * x + x  # x is read by the sum too, which still adds up: only w can have changed
    y.label = "y"
    w.data = 1.0
    assert viz.explain(y).startswith("stale graph: w changed after it was computed")
    dot = viz.to_dot(y)
    assert cells(dot, "n0")[-1] == "changed since"
    assert cells(dot, "n1") == ["x", "data 3"]


@pytest.mark.parametrize("view", ["forward", "backward", "collapsed"])
def test_every_view_of_a_stale_graph_says_so_and_marks_what_no_longer_adds_up(view):
    y, w, x = updated_after_backward()
    dot = viz.to_dot(y, view=view, legend=True)
    assert "stale graph: w or x changed after it was computed" in dot
    assert "y = 6 was computed before; y = w × x now gives 1.7 × 3 = 5.1" in dot
    assert cells(dot, "n2")[:2] == ["y", "data 6"]
    assert cells(dot, "n2")[-1] == "stale: inputs now give 5.1"
    assert cells(dot, "n0")[-1] == "changed since?"
    assert "recorded before a value it was computed from changed" in dot  # the legend
    # a fresh graph has none of it
    fresh = viz.to_dot(w * x, view=view, legend=True)
    assert "stale" not in fresh and "changed since" not in fresh


def test_a_stale_graphs_grad_cell_blames_the_change_not_zeroing():
    w = Value(0.5, label="w")
    y = (w * w).tanh()
    y.label = "y"
    y.backward()
    w.data += 1.0
    dot = viz.to_dot(y, view="backward")
    x_line = next(line for line in dot.splitlines() if line.startswith("  n0 [id="))
    assert ".grad " in x_line and "a value changed since (the graph is stale)" in x_line
    assert "not zeroed" not in x_line and "#b03a2e" not in x_line


def test_the_steps_and_the_stepper_of_a_stale_graph_say_so():
    y, w, x = updated_after_backward()
    (step,) = viz.backward_steps(y)
    assert "stale graph: w or x changed after it was computed" in step.equation
    assert "stale: inputs now give 5.1" in step.draw().source
    page = viz.stepper(y)
    assert "stale graph" in page.data["steps"][1]["text"]
    assert "stale: inputs now give 5.1" in page.svg


def test_a_graph_whose_number_now_fails_is_stale_too():
    x = Value(2.0, label="x")
    y = x.log()
    x.data = -1.0
    assert "log(x) now gives log(-1) = nan" in viz.explain(y)


def test_staleness_is_checked_once_per_trace(monkeypatch):
    from microgrant.viz import trace as trace_module
    calls = []
    real = trace_module._find_stale

    def counting(t):
        calls.append(t)
        return real(t)

    monkeypatch.setattr(trace_module, "_find_stale", counting)
    y, w, x = updated_after_backward()
    steps = viz.backward_steps(y)
    for s in steps:
        s.draw()
    assert len(calls) == 1


# ---- one minus sign, and no doubled parentheses ------------------------------------------------


def test_explain_writes_one_minus_sign_and_no_doubled_parentheses():
    y_hat = Value(0.25, label="ŷ")
    d = 1 - y_hat
    d.label = "1 - ŷ"
    loss = -d.log()
    loss.label = "J"
    text = viz.explain(loss)
    assert "  1 - ŷ = 1 - 0.25 = 0.75" in text
    assert "log(1 - ŷ)" in text and "((" not in text
    assert "\u2212" not in text
    assert "J = -log(1 - ŷ) = -(-0.2877) = 0.2877" in text


def test_a_name_that_is_one_piece_is_not_parenthesised_as_an_operand():
    y_hat = Value(0.25, label="ŷ")
    d = 1 - y_hat
    d.label = "1 - ŷ"
    log_d = d.log()
    log_d.label = "log(1 - ŷ)"
    minus_y = Value(-1.0, label="-y")
    out = (log_d * 2) + minus_y * y_hat.log()
    text = viz.explain(out)
    assert "  log(1 - ŷ) × 2 = (-0.2877) × 2 = " in text
    assert "(-y) × log(ŷ)" in text  # a leading minus is parenthesised, as a negative is


# ---- each thing said once, and names a learner can read ------------------------------------


def lecture_neuron():
    """micrograd's lecture neuron, each piece labelled with the text that made it."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def test_a_value_labelled_as_its_own_expression_is_written_once():
    y_hat = Value(0.25, label="ŷ")
    d = 1 - y_hat
    d.label = "1 - ŷ"
    log_d = d.log()
    log_d.label = "log(1 - ŷ)"
    J = -log_d
    J.label = "J"
    text = viz.explain(J)
    assert "\n  1 - ŷ = 1 - 0.25 = 0.75\n" in text
    assert "\n  log(1 - ŷ) = log(0.75) = -0.2877\n" in text
    assert "step 3: 1 - ŷ, with dJ/d(1 - ŷ) = " in text
    assert "1 - ŷ = 1 - ŷ" not in text and "log(1 - ŷ) = log(1 - ŷ)" not in text
    # A label that says something else keeps both: name = expression = numbers.
    assert "\n  J = -log(1 - ŷ) = -(-0.2877) = 0.2877\n" in text
    assert "step 1: J = -log(1 - ŷ), with dJ/dJ = 1" in text


def test_a_label_written_with_ascii_operators_is_its_expression_too():
    o = lecture_neuron()
    equations = [s.equation.splitlines()[0] for s in viz.backward_steps(o)]
    assert equations[:2] == ["step 1: o = tanh(n), with do/do = 1",
                             "step 2: n = (x1*w1 + x2*w2) + b, with do/dn = 0.5"]
    assert equations[2] == "step 3: x1*w1 + x2*w2, with do/d(x1*w1 + x2*w2) = 0.5"
    assert sorted(equations[3:]) == ["step 4: x1*w1, with do/d(x1*w1) = 0.5",
                                     "step 5: x2*w2, with do/d(x2*w2) = 0.5"]
    text = viz.explain(o)
    assert "\n  x1*w1 = 2 × (-3) = -6\n" in text
    assert "x1*w1 + x2*w2 = x1*w1 + x2*w2" not in text
    # The stepper's steps are those same texts.
    texts = [step["text"] for step in viz.stepper(o).data["steps"]]
    assert texts[3].startswith("step 3: x1*w1 + x2*w2, with")
    assert not any("x1*w1 + x2*w2 = x1*w1 + x2*w2" in t for t in texts)


def test_a_stale_graph_says_a_self_named_value_once():
    w = Value(2.0, label="w")
    y = w * 3
    y.label = "w × 3"
    w.data = 1.0
    lines = viz.explain(y).splitlines()
    assert "  w × 3 = 6 was computed before; w × 3 now gives 1 × 3 = 3" in lines


def test_unlabelled_values_are_named_by_their_expression_when_it_is_short():
    x, w, b = Value(2.0, label="x"), Value(-0.5, label="w"), Value(0.25, label="b")
    f = (x * w + b).tanh()
    f.label = "f"
    text = viz.explain(f)
    assert "\n  x × w = 2 × (-0.5) = -1\n" in text
    assert "\n  (x × w) + b = (-1) + 0.25 = -0.75\n" in text
    assert "df/d(x × w) += " in text
    assert re.search(r"\bn\d", text) is None  # no drawing ids in the text


def test_the_other_unlabelled_values_are_numbered_in_the_order_shown():
    # As the command line builds "tanh(x1*w1 + x2*w2 + b)": only the names are labelled.
    x1, w1, x2, w2 = (Value(v, label=k) for k, v in
                      (("x1", 2.0), ("w1", -3.0), ("x2", 0.0), ("w2", 1.0)))
    b = Value(6.88, label="b")
    f = (x1 * w1 + x2 * w2 + b).tanh()
    text = viz.explain(f)
    forward = text.split("Backward pass")[0]
    assert "  v1 = (x1 × w1) + (x2 × w2) = (-6) + 0 = -6\n" in forward
    assert "  v2 = v1 + b = (-6) + 6.88 = 0.88\n" in forward
    assert "  out = tanh(v2) = tanh(0.88) = 0.7064\n" in forward
    assert re.search(r"\bn\d", text) is None
    trace = Trace(f)
    names = display_names(trace)
    made = [names[v] for v in trace.values if re.fullmatch(r"v\d+", names[v])]
    assert made == ["v1", "v2"]
    assert len(set(names.values())) == len(names)  # every value told apart
    # The drawings keep their ids; only what they show changed.
    dot = viz.to_dot(f)
    assert [trace.ids[v] for v in trace.values] == [f"n{i}" for i in range(len(trace.values))]
    assert f'{trace.ids[f]} [id="{trace.ids[f]}"' in dot
    assert cells(dot, trace.ids[f])[0] == "out"


def test_generated_names_stay_unique_and_never_take_a_users_label():
    a = Value(1.0, label="a")
    first, second = a * a, a * a  # the same expression twice
    v1 = Value(2.0, label="v1")  # a user's own label that looks generated
    out = (first + second + v1).tanh().tanh().tanh()
    trace = Trace(out)
    names = display_names(trace)
    # One is a × a, the other numbered: v1 is the user's, so it is v2.
    assert {names[first], names[second]} == {"a × a", "v2"}
    assert names[v1] == "v1"
    assert len(set(names.values())) == len(names)
    assert names[out] == "out"


def test_a_net_with_an_unlabelled_loss_opens_on_a_readable_name(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.5, 0.5]]
    y = [1.0, 0.0, 1.0, 0.0, 1.0]
    loss = sum((model(x) - t) ** 2 for x, t in zip(X, y))
    trace = Trace(loss)
    names = display_names(trace)
    assert names[loss] == "out"
    assert not any(re.fullmatch(r"n\d+", n) for n in names.values())
    data = stepper_data(viz.save_stepper(loss, tmp_path / "s.html").read_text("utf-8"))
    assert data["steps"][0]["name"] == "out"
    # A weight used by every sample is drawn once in full and copied; a copy shows the
    # weight's name, not the drawing's id.
    dot = viz.to_dot(loss, view="backward")
    copies = [line for line in dot.splitlines() if "_at_n" in line and "label=" in line]
    assert copies
    assert not any(re.search(r"\(n\d+\)", line.split("label=")[1]) for line in copies)


def test_the_command_line_graph_names_what_it_made_readably(capsys, tmp_path):
    assert cli.main(["graph", "tanh(x*w + b)", "x=2", "w=-0.5", "b=0.25",
                     "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "\n  x × w = 2 × (-0.5) = -1\n" in printed
    assert "\n  (x × w) + b = (-1) + 0.25 = -0.75\n" in printed
    assert re.search(r"\bn\d", printed) is None  # no drawing ids (n2, n4) as names
