"""The engine in one page (examples/00_engine_in_one_page.py) against microgrant.

The teaching copy is plain Python with no microgrant import; these tests hold its gradients to
microgrant's on random expressions, and check the three fixes it teaches: a repeated backward,
a value used twice, and a graph deeper than Python's recursion limit.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

from microgrant import OPS, Value

PATH = Path(__file__).resolve().parent.parent / "examples" / "00_engine_in_one_page.py"


def _load():
    spec = importlib.util.spec_from_file_location("engine_in_one_page", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


page = _load()


def _expression(make, seed: int):
    """A random expression over four leaves, built with the Value class ``make``.

    The same seed builds the same expression in both engines: values are reused often
    (x * x, diamonds), numbers appear on either side, and every op of the page is used.
    """
    rng = random.Random(seed)
    leaves = [make(rng.uniform(-1.5, 1.5)) for _ in range(4)]
    pool = list(leaves)
    for _ in range(rng.randint(1, 30)):
        a, b = rng.choice(pool), rng.choice(pool)
        c = rng.uniform(-2.0, 2.0)
        kind = rng.randrange(11)
        v = (a + b, a - b, a * b, a / (b * b + 1.0), c * a, c - a, a + c, c / (a * a + 1.0),
             a.tanh(), a.tanh().exp(), a.relu())[kind]
        pool.append(v)
    out = pool[-1]
    for v in pool[-4:-1]:
        out = out + v
    return out, leaves


@pytest.mark.parametrize("seed", range(150))
def test_its_gradients_are_microgrants_on_random_expressions(seed):
    theirs, their_leaves = _expression(page.Value, seed)
    ours, our_leaves = _expression(Value, seed)
    if ours.grad is None:
        pytest.skip("the expression came out constant")
    assert theirs.data == pytest.approx(ours.data, rel=1e-12, abs=1e-12)
    theirs.backward()
    ours.backward()
    assert [x.grad for x in their_leaves] == pytest.approx([x.grad for x in our_leaves],
                                                           rel=1e-9, abs=1e-12)


def test_its_table_has_the_local_derivatives_microgrants_table_has():
    # Each op's partials against microgrant's op table at a few points.
    for name, (forward, local_grads) in page.OPS.items():
        table = OPS[name]
        for xs in ((0.7, -1.3), (-0.4, 2.5), (1.9, 0.3)):
            xs = xs[:table.arity]
            out = forward(*xs)
            assert out == pytest.approx(table.forward(xs, None), rel=1e-15)
            assert local_grads(*xs, out) == pytest.approx(
                table.local_grads(xs, out, None), rel=1e-14), name


def test_a_second_backward_adds_to_the_leaves_once_more():
    x = page.Value(3.0)
    y = (x * x) * x
    y.backward()
    y.backward()
    assert x.grad == 54.0  # 27 + 27, as microgrant and PyTorch; micrograd's engine gives 72
    z = Value(3.0)
    w = (z * z) * z
    w.backward()
    w.backward()
    assert x.grad == z.grad


def test_a_value_used_twice_gets_both_shares():
    a = page.Value(-2.0)
    (a + a).backward()
    assert a.grad == 2.0
    b = page.Value(3.0)
    (b * b).backward()
    assert b.grad == 6.0


def test_a_graph_deeper_than_the_recursion_limit_backpropagates():
    n = 5 * sys.getrecursionlimit()
    x = page.Value(1.0)
    y = x
    for _ in range(n):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0
    order = page.topological_order(y)
    assert len(order) == 1 + 4 * n  # x, then per step: the 1.0, the product, the 0.0, the sum


def test_the_order_puts_every_value_after_its_inputs_once():
    out, _ = _expression(page.Value, 7)
    order = page.topological_order(out)
    assert len(order) == len(set(order))
    position = {v: i for i, v in enumerate(order)}
    assert all(position[x] < position[v] for v in order for x in v.inputs)


def test_the_page_stays_one_page_and_standalone():
    text = PATH.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 130
    assert "microgrant" not in "".join(
        line for line in text.splitlines() if line.startswith(("import", "from")))
