"""The one replay of the chain rule (`backward_pass`, `grad`) against the hot loop (`backward`).

`Value.backward` is hand-tuned; `microgrant.autodiff.backward_pass` keeps every number for the
pictures and `grad()`.  They are two codings of one algorithm, so on any graph they must give the
same gradients, bit for bit.
"""

from __future__ import annotations

import math
import random

import pytest

from microgrant import Value, backward_pass, grad, no_grad, topological_order
from microgrant.autodiff import ChainStep

UNARY = ("exp", "tanh", "sigmoid", "relu", "abs", "neg", "square", "leaky_relu", "step", "log",
         "sqrt")


def bits(x: float) -> str:
    """A float to the last bit, sign of zero included (0.0 == -0.0, but not here)."""
    return float.hex(x)


def _random_graph(rng: random.Random, size: int):
    """A random DAG over a few leaves, reusing values often (diamonds, x * x)."""
    leaves = [Value(rng.uniform(-1.5, 1.5), label=f"x{i}") for i in range(rng.randint(1, 4))]
    pool = list(leaves) + [Value(rng.uniform(-1, 1), requires_grad=False)]
    for _ in range(size):
        kind = rng.random()
        a, b = rng.choice(pool), rng.choice(pool)
        if kind < 0.35:
            v = rng.choice((a + b, a - b, a * b, a * 0.5 + b, a / (b * b + 1.0)))
        elif kind < 0.45:
            v = Value.sum(rng.sample(pool, min(len(pool), rng.randint(2, 5))))
        else:
            name = rng.choice(UNARY)
            if name == "neg":
                v = -a
            elif name == "square":
                v = a ** 2
            elif name == "leaky_relu":
                v = a.leaky_relu(0.1)
            elif name in ("log", "sqrt"):
                v = getattr(a * a + 0.5, name)()
            else:
                v = getattr(a.tanh(), name)()  # tanh first keeps exp finite
        pool.append(v)
    out = Value.sum(pool[-3:]) * pool[-1]
    return out, leaves


def _graph(seed: int, sizes: tuple[int, int]):
    """The random graph of ``seed``, of a size in ``sizes``; skipped when it is a constant."""
    rng = random.Random(seed)
    out, leaves = _random_graph(rng, rng.randint(*sizes))
    if out.grad is None:
        pytest.skip("the random graph came out constant")
    return out, leaves


def _plain_depth_first_order(root: Value) -> list[Value]:
    """The order of a depth-first search that pushes every input: no shortcut, no cleverness."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen or not node.inputs:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((x, False) for x in dict.fromkeys(node.inputs) if x not in seen)
    return order


@pytest.mark.parametrize("seed", range(40))
def test_the_walks_one_input_shortcut_keeps_the_plain_depth_first_order(seed):
    # topological_order goes straight on to a node's one remaining input instead of a trip
    # through its stack; the order (and so every picture's node ids) must stay the plain one.
    out, _ = _graph(seed, (1, 60))
    assert topological_order(out) == _plain_depth_first_order(out)


@pytest.mark.parametrize("seed", range(10))
def test_a_second_backward_after_zeroing_the_leaves_gives_the_same_bits(seed):
    # The first backward's interior grads must have been reset, not counted again.
    out, leaves = _graph(seed, (5, 40))
    replayed = backward_pass(out)
    out.backward()
    for leaf in leaves:
        leaf.grad = 0.0
    out.backward()
    assert [bits(leaf.grad) for leaf in leaves] == [bits(replayed.grad(leaf)) for leaf in leaves]


@pytest.mark.parametrize("seed", range(60))
def test_backward_pass_and_backward_agree_exactly_on_random_graphs(seed):
    out, leaves = _graph(seed, (1, 40))
    replayed = backward_pass(out)
    out.backward()
    for leaf in leaves:
        assert bits(leaf.grad) == bits(replayed.grad(leaf)), (seed, leaf.label)
    for node in replayed.order:  # interior grads too
        assert bits(node.grad) == bits(replayed.grads[node])


def test_the_replay_keeps_every_step_and_touches_no_grad():
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    p = backward_pass(y)
    assert x.grad == 0.0
    assert [s.node.op for s in p.steps] == ["tanh", "mul"]
    tanh_step, mul_step = p.steps
    assert isinstance(tanh_step, ChainStep) and tanh_step.upstream == 1.0
    assert mul_step.upstream == pytest.approx(1 - math.tanh(4.0) ** 2, rel=1e-15)
    assert mul_step.local_grads == (2.0, 2.0)
    assert mul_step.contributions == (2.0 * mul_step.upstream,) * 2


def test_constants_take_no_contribution():
    x = Value(3.0)
    p = backward_pass(x * 2)
    (step,) = p.steps
    assert step.contributions[1] is None
    assert len(p.grads) == 2  # the output and x, not the constant 2


def test_grad_takes_a_single_value_as_pytorch_does():
    w = Value(0.5)
    E = (w * 3.0) ** 2
    assert grad(E, w) == [2 * 1.5 * 3.0]
    assert grad(E, [w, Value(1.0)]) == [9.0, 0.0]


def test_second_derivatives_through_create_graph():
    x = Value(0.7)
    (dy,) = grad(x.tanh(), x, create_graph=True)
    (d2y,) = grad(dy, x)
    t = math.tanh(0.7)
    assert d2y == pytest.approx(-2 * t * (1 - t * t), rel=1e-14)


def test_create_graph_inside_no_grad_is_refused():
    x = Value(1.0)
    y = x * x
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        backward_pass(y, create_graph=True)


def test_an_undefined_derivative_is_refused_with_backwards_message():
    x = Value(0.0, label="x")
    y = x.sqrt()
    with pytest.raises(ValueError) as replay_error:
        backward_pass(y)
    with pytest.raises(ValueError) as backward_error:
        y.backward()
    assert str(replay_error.value) == str(backward_error.value)
    assert "sqrt" in str(replay_error.value) and "x > 0" in str(replay_error.value)
