"""A dropped graph is freed by reference counting alone: the engine makes no reference cycles.

micrograd stored a closure on every node that referred back to the node, so each graph was a
web of cycles that only Python's cyclic garbage collector could free.  Here the collector is
switched off while a large graph is built, backpropagated and dropped; tracemalloc must see the
memory come back, and a collection afterwards must find nothing unreachable.
"""

import gc
import tracemalloc

from microgrant import Value, grad, no_grad

NODES = 100_000


def _big_graph(nodes: int = NODES):
    leaves = [Value(0.001 * i, label=f"w{i}") for i in range(1_000)]
    y = Value(0.5, label="x")
    for i in range(nodes // 2):
        y = (y * leaves[i % 1_000]).tanh() if i % 2 else y + leaves[i % 1_000] * 0.5
    return leaves, y


def _measure(build_and_use):
    """(bytes held while the graph lived, bytes still held after dropping it), gc disabled."""
    gc.collect()  # start from a clean slate, so the final collect counts only our garbage
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        held = build_and_use()
        during = tracemalloc.get_traced_memory()[0] - baseline
        del held
        after = tracemalloc.get_traced_memory()[0] - baseline
        unreachable = gc.collect()
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
    return during, after, unreachable


def _assert_freed(during, after, unreachable, nodes):
    # The graph itself was seen: at least ~50 bytes a node (a Value is well over that).
    assert during > 50 * nodes, during
    # A little may stay allocated for good reason: CPython keeps up to 2,000 freed tuples of
    # each small size for reuse (about 0.2 MB here), still counted by tracemalloc.  A leaked
    # graph would keep all of it.
    assert after < 0.05 * during, f"{after} of {during} bytes still held after dropping"
    assert unreachable == 0, f"{unreachable} objects in reference cycles"


def test_a_dropped_graph_is_freed_without_the_cycle_collector():
    def build_and_use():
        leaves, y = _big_graph()
        y.backward()
        assert leaves[1].grad != 0.0
        return leaves, y

    _assert_freed(*_measure(build_and_use), NODES)


def test_a_graph_never_backpropagated_is_freed_too():
    _assert_freed(*_measure(_big_graph), NODES)


def test_builtin_sum_of_many_values_is_freed():
    def build_and_use():
        xs = [Value(float(i)) for i in range(NODES // 2)]  # and as many products
        total = sum(x * x for x in xs)
        total.backward()
        return xs, total

    _assert_freed(*_measure(build_and_use), NODES)


def test_a_gradient_graph_from_create_graph_is_freed():
    # The gradient's graph is several times larger than the function's: keep this one small.
    def build_and_use():
        leaves, y = _big_graph(NODES // 5)
        (dy,) = grad(y, [leaves[3]], create_graph=True)
        (d2,) = grad(dy, [leaves[3]])
        return leaves, y, dy, d2

    _assert_freed(*_measure(build_and_use), NODES // 5)


def test_no_grad_holds_no_graph():
    def build_and_use():
        x = Value(1.0)
        with no_grad():
            y = x
            for _ in range(NODES):
                y = y * 1.0000001 + 0.0
        # Only the last result is alive: a constant with no inputs, so nothing accumulated.
        assert y.inputs == ()
        return x, y

    during, after, unreachable = _measure(build_and_use)
    assert during < 10_000, during  # a handful of Values, not a chain of 200,000
    assert unreachable == 0
