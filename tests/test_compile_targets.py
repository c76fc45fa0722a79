"""compile: labels and targets from the arrays stay inputs, so minibatches replay one trace.

A loss that picks each sample's score by its class label (`cross_entropy`,
`cross_entropy_probs`) or computes its targets from the labels (``2 * t - 1`` for
`hinge_loss`) is traced once and replayed on every shuffled minibatch of the same size.  Every
call is compared with the eager engine on the same numbers, as a user's eager step computes
them (labels as plain numbers): bit for bit where the graph is ``+ - * /``, relu and sums
outside matrix products (as the README promises), within compile's `TOLERANCE` otherwise.  A
label that is no valid class (or no -1/+1 for hinge) in a later batch raises the error the
eager engine raises, and changes no gradient.
"""

import math
import warnings

import numpy as np
import pytest

from microgrant import Value
from microgrant.compile import TOLERANCE, compile
from microgrant.data import blobs
from microgrant.nn import MLP, cross_entropy, cross_entropy_probs, hinge_loss, softmax
from microgrant.train import fit

BATCHES, BATCH = 6, 16


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(b))


def _eager(loss_fn, params, *arrays):
    """The eager step's loss and gradients, the arrays as plain numbers (ints stay ints)."""
    for p in params:
        p.grad = 0.0
    loss = loss_fn(*(a.tolist() for a in arrays))
    loss.backward()
    return loss.data, [p.grad for p in params]


def _compiled(step, params, *arrays):
    for p in params:
        p.grad = 0.0
    loss = step(*arrays)
    return loss, [p.grad for p in params]


def _minibatches(seed: int, n: int = 64):
    rng = np.random.default_rng(seed)
    return [rng.choice(n, BATCH, replace=False) for _ in range(BATCHES)]


def _assert_every_call_gives_eagers(step, loss_fn, params, X, y, seed: int, check=False):
    """Each minibatch's compiled loss and gradients are eager's, within `TOLERANCE`."""
    for idx in _minibatches(seed):
        loss, got = _compiled(step, params, X[idx], y[idx])
        want_loss, want = _eager(loss_fn, params, X[idx], y[idx])
        assert _close(loss, want_loss), (loss, want_loss)
        assert all(_close(a, b) for a, b in zip(got, want)), (got, want)
        if check:
            assert step.check(X[idx], y[idx])  # compile's own exactness rule, on a replay


def _three_classes(seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(64, 2)), rng.integers(0, 3, size=64)


@pytest.mark.parametrize("probs", [False, True], ids=["cross_entropy", "cross_entropy_probs"])
def test_class_labels_replay_one_trace_and_give_eagers_numbers_every_call(probs):
    X, y = _three_classes()
    model = MLP(2, [8, 3], seed=0)
    if probs:
        def loss_fn(X, y):
            return cross_entropy_probs([softmax(model(x)) for x in X], y)
    else:
        def loss_fn(X, y):
            return cross_entropy([model(x) for x in X], y)
    step = compile(loss_fn)
    _assert_every_call_gives_eagers(step, loss_fn, model.parameters(), X, y, 1, check=True)
    assert (step.traces, step.calls, step.eager_calls) == (1, 2 * BATCHES, 0)
    assert step.tape.exact_guards == 0  # no label's number was read


def _linear_hinge(seed: int = 0):
    """A linear classifier written with + and * (no matrix product), and its hinge loss on
    0/1 labels turned into -1/+1 inside the loss, as micrograd's demo writes them."""
    rng = np.random.default_rng(seed)
    w1, w2, b = (Value(float(v), label=name) for v, name in zip(rng.normal(size=3),
                                                                  ("w1", "w2", "b")))

    def loss_fn(X, t):
        scores = [w1 * x[0] + w2 * x[1] + b for x in X]
        return hinge_loss(scores, [2 * ti - 1 for ti in t])
    return [w1, w2, b], loss_fn


def test_computed_hinge_labels_replay_one_trace_bit_for_bit():
    rng = np.random.default_rng(2)
    X, t = rng.normal(size=(64, 2)), rng.integers(0, 2, size=64).astype(float)
    params, loss_fn = _linear_hinge()
    step = compile(loss_fn)
    for idx in _minibatches(3):
        loss, got = _compiled(step, params, X[idx], t[idx])
        want_loss, want = _eager(loss_fn, params, X[idx], t[idx])
        assert float.hex(loss) == float.hex(want_loss)
        assert [float.hex(g) for g in got] == [float.hex(g) for g in want]
    assert (step.traces, step.calls, step.eager_calls) == (1, BATCHES, 0)
    assert step.tape.exact_guards == 0


def test_computed_hinge_labels_of_an_mlp_replay_one_trace():
    rng = np.random.default_rng(4)
    X, t = rng.normal(size=(64, 2)), rng.integers(0, 2, size=64).astype(float)
    model = MLP(2, [8, 1], seed=0)

    def loss_fn(X, t):
        return hinge_loss([model(x) for x in X], [2 * ti - 1 for ti in t])
    step = compile(loss_fn)
    _assert_every_call_gives_eagers(step, loss_fn, model.parameters(), X, t, 5)
    assert (step.traces, step.calls, step.eager_calls) == (1, BATCHES, 0)


def _error(run) -> tuple[type, str]:
    with pytest.raises((ValueError, TypeError)) as info:
        run()
    return type(info.value), str(info.value)


def _as_values(a: np.ndarray) -> list:
    return [Value(float(v), requires_grad=False) for v in a]


@pytest.mark.parametrize("bad", [3, -1, 1.5, math.nan], ids=["3", "-1", "1.5", "nan"])
def test_a_bad_class_label_in_a_later_batch_raises_eagers_error(bad):
    X, y = _three_classes()
    model = MLP(2, [8, 3], seed=0)

    def loss_fn(X, y):
        return cross_entropy([model(x) for x in X], y)
    step = compile(loss_fn)
    step(X[:BATCH], y[:BATCH])
    labels = y[BATCH:2 * BATCH].astype(type(bad))
    labels[5] = bad
    before = [p.grad for p in model.parameters()]
    compiled = _error(lambda: step(X[BATCH:2 * BATCH], labels))
    # A user's eager step: ints as ints; a float label as compile hands it, a Value (plain
    # floats are refused before any label is read, as they are without compile).
    eager_labels = labels.tolist() if isinstance(bad, int) else _as_values(labels)
    assert compiled == _error(lambda: loss_fn(X[BATCH:2 * BATCH].tolist(), eager_labels))
    assert "at index 5" in compiled[1]
    assert [p.grad for p in model.parameters()] == before  # nothing added
    step(X[:BATCH], y[:BATCH])  # good labels again: the same trace
    assert step.traces == 1


def test_a_bad_hinge_label_in_a_later_batch_raises_eagers_error():
    rng = np.random.default_rng(6)
    X, t = rng.normal(size=(32, 2)), rng.integers(0, 2, size=32).astype(float)
    params, loss_fn = _linear_hinge()
    step = compile(loss_fn)
    step(X[:BATCH], t[:BATCH])
    bad = t[BATCH:].copy()
    bad[3] = 0.5  # 2 * 0.5 - 1 = 0: no -1/+1 label
    before = [p.grad for p in params]
    compiled = _error(lambda: step(X[BATCH:], bad))
    assert compiled == _error(lambda: loss_fn(X[BATCH:].tolist(), bad.tolist()))
    assert "labels -1 or +1" in compiled[1] and "at index 3" in compiled[1]
    assert [p.grad for p in params] == before
    assert step.traces == 1


def test_eager_cross_entropy_with_value_labels_gives_the_int_labels_bits():
    # A label handed in as a Value picks the score in the graph (Value.pick); the numbers are
    # those of the plain int label, loss and gradients, to the last bit.
    X, y = _three_classes(7)
    model = MLP(2, [8, 3], seed=1)
    params = model.parameters()
    results = []
    for labels in (y[:BATCH].tolist(), _as_values(y[:BATCH])):
        for p in params:
            p.grad = 0.0
        loss = cross_entropy([model(x) for x in X[:BATCH].tolist()], labels)
        loss.backward()
        results.append([float.hex(loss.data)] + [float.hex(p.grad) for p in params])
    assert results[0] == results[1]


def test_a_target_that_takes_a_gradient_gets_none_and_stays_in_the_graph():
    # As PyTorch: no gradient flows into a target.  A computed target stays a node (so a
    # replay recomputes it) and its leaves get 0.
    s, t = Value(0.25, label="s"), Value(0.0, label="t")
    label = 2 * t - 1
    loss = hinge_loss([s], [label])
    loss.backward()
    assert (s.grad, t.grad) == (1.0, 0.0)  # relu(1 - (-1) s): d/ds = 1
    assert any(node.op == "stop_gradient" and node.inputs == (label,)
               for node in _walk(loss))


def _walk(root: Value) -> list:
    seen, stack = [], [root]
    while stack:
        v = stack.pop()
        if all(v is not w for w in seen):
            seen.append(v)
            stack.extend(v.inputs)
    return seen


def test_value_pick_by_an_index_array_replays_and_an_index_out_of_range_raises_picks_error():
    # Value.pick written by hand (no loss's check of the labels): a replay whose index is no
    # whole number in range gives no number; the call runs eagerly, which raises pick's error.
    w = [Value(0.5, label="w1"), Value(-1.5, label="w2"), Value(2.0, label="w3")]

    def loss_fn(X, k):
        return Value.sum([Value.pick([wj * x[0] for wj in w], ki) for x, ki in zip(X, k)])
    step = compile(loss_fn)
    X = np.array([[1.0], [2.0], [-1.0]])
    for k in ([0, 1, 2], [2, 2, 0], [1, 0, 1]):
        loss, got = _compiled(step, w, X, np.array(k))
        want_loss, want = _eager(loss_fn, w, X, np.array(k))
        assert float.hex(loss) == float.hex(want_loss)
        assert [float.hex(g) for g in got] == [float.hex(g) for g in want]
    assert (step.traces, step.eager_calls) == (1, 0)
    before = [p.grad for p in w]
    with pytest.raises(ValueError, match=r"^pick cannot be computed at .*the index 3\.0 is not"):
        step(X, np.array([0, 3, 1]))
    assert [p.grad for p in w] == before


def test_fit_compiled_on_shuffled_class_batches_gives_eagers_losses_without_retracing():
    # fit(compile=True) hands the labels in as Values; a retrace on every batch warns.
    X, y = blobs(96, centers=3, seed=0)
    histories = []
    for compiled in (False, True):
        model = MLP(2, [8, 3], seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            histories.append(fit(model, X, y, loss="cross_entropy", epochs=5, batch_size=16,
                                 seed=0, compile=compiled, verbose=False))
    eager_losses, compiled_losses = (h.loss for h in histories)
    assert len(compiled_losses) == len(eager_losses) == 5
    assert all(_close(a, b) for a, b in zip(compiled_losses, eager_losses))


def test_softmax_over_scores_with_a_constant_logit_replays_one_trace():
    # A fixed logit (a reference class at 0) among the scores: softmax's shift is their max,
    # the constant's number included, kept while the largest stays near it.
    X, y = _three_classes(1)
    model = MLP(2, [4, 2], seed=3)

    def loss_fn(X, y):
        return cross_entropy([model(x) + [Value(0.0, requires_grad=False)] for x in X], y)

    step = compile(loss_fn)
    _assert_every_call_gives_eagers(step, loss_fn, model.parameters(), X, y, 6)
    assert (step.traces, step.calls, step.eager_calls) == (1, BATCHES, 0)
