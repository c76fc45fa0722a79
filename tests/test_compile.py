"""microgrant.compile: a traced step replayed as array code gives the eager engine's numbers.

Every test compares a compiled call with the eager engine on the same numbers (never with a
number copied from an output): the moons MLP over 100 SGD steps, every op of the table, the
graphs whose structure depends on the data (which must be caught, by a guard, and never give
a stale answer), domain errors (raised as eager raises them, with no gradient touched), new
shapes, frozen parameters, and bad arguments.
"""

import gc
import math

import numpy as np
import pytest

from microgrant import Value, checks, grad, topological_order
from microgrant.compile import TOLERANCE, CompiledStep, compile
from microgrant.data import blobs, moons
from microgrant.nn import MLP, Layer, cross_entropy, hinge_loss, log_softmax, mse_loss
from microgrant.ops import OPS
from microgrant.optim import SGD


def close(a, b):
    return abs(a - b) <= TOLERANCE * max(1.0, abs(b))


def eager(loss_fn, *arrays):
    """The eager engine's loss, on stand-ins made as compile makes them."""
    nested = [np.vectorize(lambda x: Value(float(x), requires_grad=False), otypes=[object])(
        np.asarray(a, dtype=float)).tolist() for a in arrays]
    loss = loss_fn(*nested)
    loss.backward()
    return loss.data


def grads(params):
    return [p.grad for p in params]


def matches_eager(step, loss_fn, params, *arrays) -> float:
    """One compiled call against the eager engine on the same numbers; returns its loss.

    ``params`` start from zero grads for both; they are left holding eager's gradients.
    """
    for p in params:
        p.grad = 0.0
    loss = step(*arrays)
    mine = grads(params)
    for p in params:
        p.grad = 0.0
    expected = eager(loss_fn, *arrays)
    assert close(loss, expected), (loss, expected)
    assert all(close(a, b) for a, b in zip(mine, grads(params))), (mine, grads(params))
    return loss


def moons_model(seed=1337):
    model = MLP(2, [16, 16, 1], seed=seed)

    def loss_fn(X, y):
        scores = [model(x) for x in X]
        return hinge_loss(scores, y) + 1e-4 * Value.sum([p * p for p in model.parameters()])
    return model, loss_fn


# ---- exactness --------------------------------------------------------------------------------

def test_moons_mlp_100_sgd_steps_match_eager_every_step():
    X, y = moons(100, seed=3, labels="pm1")
    eager_model, eager_fn = moons_model()
    compiled_model, compiled_fn = moons_model()
    step = compile(compiled_fn)
    worst = 0.0
    for k in range(100):
        eager_model.zero_grad()
        compiled_model.zero_grad()
        expected = eager(eager_fn, X, y)
        loss = step(X, y)
        assert close(loss, expected), (k, loss, expected)
        for a, b in zip(compiled_model.parameters(), eager_model.parameters()):
            assert close(a.grad, b.grad), (k, a.label, a.grad, b.grad)
            worst = max(worst, abs(a.grad - b.grad))
        lr = 1.0 - 0.9 * k / 100
        for model in (eager_model, compiled_model):
            for p in model.parameters():
                p.data -= lr * p.grad
    # Trained for real: the loss fell, so relu's where() saw its inputs change sign.
    assert loss < 0.5 * eager(moons_model()[1], X, y)
    assert step.traces == 1 and step.eager_calls == 0


# A layer reads the previous layer's outputs in place when they are one block in its order;
# each way of wiring layers that is not that block must be read (and given its gradients) by
# index, and all of them must give eager's numbers.
_WIRINGS = {
    "in order": lambda h, x: h,
    "reversed": lambda h, x: h[::-1],
    "one twice": lambda h, x: [h[0], h[0], h[2], h[3]],
    "a subset": lambda h, x: h[1:],
    "with the inputs": lambda h, x: h[:2] + list(x),
    "every other": lambda h, x: h[::2] + h[1::2],
}


@pytest.mark.parametrize("wiring", sorted(_WIRINGS))
def test_layers_wired_any_way_match_eager_as_they_train(wiring):
    first = Layer(2, 4, activation="relu", seed=1)
    second = Layer(len(_WIRINGS[wiring]([0] * 4, [0, 0])), 3, activation="tanh", seed=2)
    also = Layer(4, 1, activation="linear", seed=3)     # a second reader of the same block
    params = first.parameters() + second.parameters() + also.parameters()
    X, y = moons(24, seed=5, labels="pm1")

    def loss_fn(X, y):
        total = []
        for x, t in zip(X, y):
            h = first(x)
            out = second(_WIRINGS[wiring](h, x))
            total.append((Value.sum(out) + also(h)[0] - t) ** 2)
        return Value.sum(total)

    step = compile(loss_fn)
    for _ in range(4):
        matches_eager(step, loss_fn, params, X, y)
        for p in params:
            p.data -= 0.05 * p.grad
    assert step.traces == 1 and step.eager_calls == 0


def _op_loss(name):
    """A small loss using op `name` on parameters and inputs, inside its domain."""
    w = [Value(0.7, label="w1"), Value(1.3, label="w2")]

    def loss_fn(x):
        terms = []
        for xi in x:
            a = w[0] * xi + 2.0          # positive for the inputs below
            b = w[1] * xi
            if name in ("add", "sub", "mul", "div", "vpow"):
                out = {"add": a + b, "sub": a - b, "mul": a * b, "div": b / a,
                       "vpow": a ** w[1]}[name]
            elif name == "pow":
                out = a ** 2.5
            elif name == "sum":
                out = Value.sum([a, b, a * b])
            elif name == "dot":
                out = Value.dot([w[0], w[1]], [a, b], w[0])
            elif name == "neg":
                out = -b
            elif name == "pick":
                out = Value.pick([a, b, a * b], 1)
            elif name == "leaky_relu":
                out = b.leaky_relu(0.1)
            else:
                out = getattr(a if name in ("log", "sqrt") else b, OPS[name].method)()
            terms.append(out * (xi + 1.5))
        return Value.sum(terms)
    return w, loss_fn


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_matches_eager(name):
    w, loss_fn = _op_loss(name)
    step = compile(loss_fn)
    for x in (np.array([-1.0, 0.5, 1.0]), np.array([0.25, -0.75, 1.5])):
        matches_eager(step, loss_fn, w, x)
    stand_ins = [Value(v) for v in x]  # traced inputs take part in the graph
    assert step.tape.nodes == len(topological_order(loss_fn(stand_ins)))


def test_gradients_add_up_as_backward_does_and_optimizers_work():
    model = MLP(2, [3, 1], seed=0)
    step = compile(lambda X, y: mse_loss([model(x) for x in X], y))
    X, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([1.0, 0.0])
    model.zero_grad()
    step(X, y)
    once = grads(model.parameters())
    step(X, y)
    assert grads(model.parameters()) == [2 * g for g in once]
    optimizer = SGD(model.parameters(), lr=0.1)
    before = [p.data for p in model.parameters()]
    optimizer.zero_grad()
    step(X, y)
    optimizer.step()
    assert [p.data for p in model.parameters()] == [b - 0.1 * g for b, g in zip(before, once)]


def test_parameters_are_read_at_every_call():
    w = Value(2.0)
    step = compile(lambda x: Value.sum([w * xi for xi in x]) ** 2)
    x = np.array([1.0, 2.0])
    first = step(x)
    w.data = -1.0
    assert step(x) == eager(lambda x: Value.sum([w * xi for xi in x]) ** 2, x) != first


def test_check_agrees_and_leaves_grads_alone():
    model, loss_fn = moons_model(seed=1)
    X, y = moons(20, seed=0, labels="pm1")
    step = compile(loss_fn)
    for p in model.parameters():
        p.grad = 0.25
    report = step.check(X, y)
    assert report and report.ok and report.parameters == 337
    assert report.grad_difference <= TOLERANCE
    assert all(p.grad == 0.25 for p in model.parameters())
    assert "agree" in str(report)


def test_describe_and_tape_count_the_graph():
    model, loss_fn = moons_model()
    X, y = moons(10, seed=0, labels="pm1")
    step = compile(loss_fn)
    assert step.tape is None and "not traced yet" in step.describe()
    step(X, y)
    tape = step.tape
    nodes = topological_order(loss_fn(X.tolist(), y.tolist()))
    assert tape.nodes == len(nodes)
    assert sum(g.nodes for g in tape.groups) == len(nodes)
    assert tape.levels == max(g.level for g in tape.groups)
    assert len(tape.groups) < tape.levels + 6 < len(nodes)
    assert tape.parameters == 337 and tape.inputs == 30
    text = step.describe()
    assert f"{tape.levels} levels" in text and "relu" in text and "dot" in text


def test_new_shapes_trace_again():
    model, loss_fn = moons_model()
    step = compile(loss_fn)
    for n in (10, 12, 10):
        X, y = moons(n, seed=n, labels="pm1")
        matches_eager(step, loss_fn, model.parameters(), X, y)
    assert step.traces == 2



@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_pauses_for_a_trace_and_comes_back_as_it_was(enabled):
    model, loss_fn = moons_model()
    seen, fail = [], []

    def watched(X, y):
        seen.append(gc.isenabled())
        if fail:
            raise ValueError("stop")
        return loss_fn(X, y)
    X, y = moons(8, seed=0, labels="pm1")
    (gc.enable if enabled else gc.disable)()
    try:
        step = compile(watched)
        step(X, y)
        assert seen == [False, False] and gc.isenabled() is enabled  # both runs of the trace
        model.layers[0].neurons[0].w[0].data += 0.5
        step(X, y)  # the first replay on moved numbers, beside an eager run
        assert seen[2:] == [enabled] and step.traces == 1 and gc.isenabled() is enabled
        fail.append(True)
        with pytest.raises(ValueError, match="stop"):
            step(X[:4], y[:4])  # a new shape: a trace, which fails
        assert len(seen) == 4 and gc.isenabled() is enabled
    finally:
        gc.enable()

# ---- graphs that depend on the data --------------------------------------------------------

def _agrees_every_call(loss_fn, params, inputs):
    step = compile(loss_fn)
    for x in inputs:
        matches_eager(step, loss_fn, params, np.asarray(x, dtype=float))
    return step


def test_python_branch_on_data_is_guarded():
    w = Value(1.0, label="w")

    def loss_fn(x):
        z = w * x[0]
        return z * z if z.data > 0 else -3.0 * z     # a branch compile cannot record
    step = _agrees_every_call(loss_fn, [w], [[2.0], [1.0], [-2.0], [-1.0], [3.0]])
    assert step.traces == 3  # traced again each time the branch flipped, and only then
    assert step.tape.outcome_guards == 1 and "compares 'w'" not in step.describe()


def test_comparison_of_values_is_guarded():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")

    def loss_fn(x):
        u, v = a * x[0], b * x[1]
        return (u if u > v else v) * x[0]              # Value.__gt__ decides
    step = _agrees_every_call(loss_fn, [a, b], [[1.0, 1.0], [5.0, 1.0], [6.0, 1.0],
                                                    [5.0, 3.0]])
    assert step.traces == 3  # v, then u (twice: no new trace), then v again


def test_numbers_taken_from_data_are_guarded():
    w = Value(0.5, label="w")

    def loss_fn(x):
        shift = max(v.data for v in x)                 # a constant made from the data
        scale = Value(x[0].data * 2.0, requires_grad=False)
        return Value.sum([(w * (v - shift)).exp() for v in x]) * scale
    step = _agrees_every_call(loss_fn, [w], [[1.0, 2.0], [1.0, 2.0], [3.0, -1.0]])
    assert step.traces == 2 and step.tape.exact_guards >= 1


def test_a_branch_on_the_real_part_of_data_is_guarded():
    w = Value(1.0, label="w")

    def loss_fn(x):  # float's .real hands C the number itself
        return w * x[0] if w.data.real > 0 else w * x[0] * 3
    step = compile(loss_fn)
    for x in ([2.0], [2.0], [2.0]):
        matches_eager(step, loss_fn, [w], np.array(x))
        w.data -= 0.7
    assert step.traces == 3


def test_numbers_computed_from_inputs_alone_stay_inputs():
    w = Value(0.5, label="w")
    # x[0] * x[1] takes no gradient eagerly; traced, it is recomputed from every call's x.
    step = _agrees_every_call(lambda x: w * (x[0] * x[1]), [w], [[1.0, 2.0], [3.0, 4.0]])
    assert step.traces == 1


def test_the_imaginary_part_of_data_is_no_look_at_the_number():
    w = Value(1.0, label="w")

    def loss_fn(x):  # a float's .imag is 0.0 whatever the number: nothing to guard
        return w * x[0] if w.data.imag == 0.0 else w * x[0] * 3
    step = compile(loss_fn)
    for _ in range(3):
        matches_eager(step, loss_fn, [w], np.array([2.0]))
        w.data -= 0.7
    assert step.traces == 1


def test_new_labels_replay_without_tracing_again():
    # hinge_loss checks every label (-1 or +1) through checks.satisfies: a check, not a
    # decision about the graph, so other labels replay the same trace, and stay exact.
    model, loss_fn = moons_model()
    X, y = moons(10, seed=0, labels="pm1")
    step = compile(loss_fn)
    shuffled = y[np.random.default_rng(0).permutation(len(y))]
    for labels in (y, -y, shuffled, y):
        matches_eager(step, loss_fn, model.parameters(), X, labels)
    assert step.traces == 1
    assert step.tape.input_checks == 2 * len(y)  # each label: finite, and -1 or +1
    assert step.tape.outcome_guards == step.tape.exact_guards == 0
    assert "repeats loss_fn's 20 checks of its numbers" in step.describe()


@pytest.mark.parametrize("bad, message", [
    (0.0, r"hinge_loss needs labels -1 or \+1; got 0.0 at index 3"),
    (math.nan, "hinge_loss's target at index 3 must be a finite number; got nan"),
])
def test_a_label_the_loss_refuses_raises_its_error_after_the_trace(bad, message):
    model, loss_fn = moons_model()
    X, y = moons(10, seed=0, labels="pm1")
    step = compile(loss_fn)
    step(X, y)
    model.zero_grad()
    wrong = y.astype(float)
    wrong[3] = bad
    with pytest.raises(ValueError, match=message):
        step(X, wrong)
    assert all(g == 0.0 for g in grads(model.parameters()))
    assert step.traces == 1


def test_softmax_keeps_its_traced_shift_while_training_moves_the_scores():
    # softmax subtracts max(z) only to keep exp in range: the replay keeps the traced max
    # (no guard on which score is largest, or on its exact number) and stays exact.
    X, y = blobs(n=12, centers=3, seed=0)
    X = X / 10.0  # scores of a few units, moving by less than SHIFT_BAND in a step
    model = MLP(2, [8, 3], seed=1)

    def loss_fn(X, y):
        return cross_entropy([model(x) for x in X], y)

    step = compile(loss_fn)
    optimizer = SGD(model.parameters(), lr=0.5)
    for _ in range(20):
        matches_eager(step, loss_fn, model.parameters(), X, y)
        optimizer.step()  # with eager's gradients, which the compiled ones match
    assert step.traces == 1
    assert step.tape.shift_guards == len(y) and step.tape.outcome_guards == 0
    assert "12 softmax-shift guards, checked every call" in step.describe()


def test_scores_far_from_the_traced_shift_trace_again_and_stay_exact():
    w = Value(1.0, label="w")

    def loss_fn(x):
        return log_softmax([w * x[0], w * x[1]])[0]

    step = compile(loss_fn)
    for scale in (1.0, 2.0, 400.0, 401.0):  # the max moves by 1, then by 398 (past 50)
        w.data = scale
        matches_eager(step, loss_fn, [w], np.array([1.0, 0.5]))
    assert step.traces == 2


def test_a_check_that_failed_at_the_trace_is_a_decision_and_guarded():
    # Rows skipped where satisfies() said no: later numbers that pass must not replay the
    # graph without them.
    w = Value(0.5, label="w")

    def loss_fn(X, y):
        return Value.sum([(w * x[0] - t) ** 2 for x, t in zip(X, y)
                          if checks.satisfies(t.data, checks.isfinite)])
    X = np.array([[1.0], [2.0], [3.0]])
    step = compile(loss_fn)
    step(X, np.array([1.0, np.nan, 2.0]))
    matches_eager(step, loss_fn, [w], X, np.array([1.0, 5.0, 2.0]))
    assert step.traces == 2


def test_a_check_against_another_traced_number_guards_that_number():
    # The cap is an input too: a check comparing two traced numbers is a decision on both.
    w = Value(1.0, label="w")

    def loss_fn(y):
        cap = y[1]
        if not checks.satisfies(y[0].data, lambda t: t <= cap.data):
            raise ValueError(f"target {y[0].data} exceeds its cap {cap.data}")
        return (w - y[0]) ** 2
    step = compile(loss_fn)
    step(np.array([0.5, 10.0]))
    with pytest.raises(ValueError, match="target 0.5 exceeds its cap 0.25"):
        step(np.array([0.5, 0.25]))


@pytest.mark.parametrize("ok", [lambda t: 0.0 <= t <= 1.0, math.isfinite,
                                lambda t: float(t).is_integer()])
def test_a_check_that_works_on_floats_only_is_guarded_instead(ok):
    # Each call applies a kept check to an array; one that cannot be is an ordinary guard.
    w = Value(0.5, label="w")

    def loss_fn(y):
        for t in y:
            if not checks.satisfies(t.data, ok):
                raise ValueError("bad target")
        return Value.sum([(w - t) ** 2 for t in y])
    step = compile(loss_fn)
    step(np.array([1.0, 0.0]))
    matches_eager(step, loss_fn, [w], np.array([0.0, 1.0]))
    assert step.tape.input_checks == 0 and step.tape.exact_guards == 2


@pytest.mark.parametrize("rise", [100.0, 1000.0])
def test_a_score_that_was_not_the_largest_rising_far_traces_again(rise):
    # The band is on the largest score, whichever it is now: another score passing the
    # traced max by 100 (or by 1000, where exp(z - shift) would overflow) takes a new shift.
    w, v = Value(1.0, label="w"), Value(0.0, label="v")

    def loss_fn(x):
        return log_softmax([w * x[0], v + x[1]])[0]

    step = compile(loss_fn)
    x = np.array([2.0, 1.0])
    step(x)
    v.data = rise
    matches_eager(step, loss_fn, [w, v], x)
    assert step.traces == 2 and step.eager_calls == 0


def test_a_guard_names_the_users_line_not_microgrants():
    # A gradient penalty differentiates inside the loss: relu's partial (generated from the
    # op table's text) compares its input.  The guard's reason names the user's line.
    w = Value(0.3, label="w")

    def loss_fn(X):
        y = (w * X[0]).relu() * w
        (g,) = grad(y, w, create_graph=True)
        return g * g + y

    step = compile(loss_fn)
    step(np.array([2.0]))
    reasons = step.tape.guard_reasons
    assert reasons and all("<microgrant." not in r for r in reasons)
    assert any("test_compile.py:" in r for r in reasons)


def test_a_frozen_parameter_gets_no_gradient():
    w, b = Value(2.0), Value(1.0)
    step = compile(lambda x: (w * x[0] + b) ** 2)
    step(np.array([3.0]))
    b.requires_grad = False
    w.grad = 0.0
    loss = step(np.array([3.0]))
    assert b.grad is None and w.grad == 2 * (2.0 * 3.0 + 1.0) * 3.0 and loss == 49.0


def test_a_function_with_random_structure_is_refused():
    w = Value(1.0)
    calls = []

    def loss_fn(x):
        calls.append(1)
        z = w * x[0]
        return z.tanh() if len(calls) % 2 else z.exp()
    with pytest.raises(RuntimeError, match="different graphs"):
        compile(loss_fn)(np.array([1.0]))


def test_huge_finite_numbers_are_replayed_not_taken_for_overflow():
    # Squares of these overflow (the replay's quick test of finiteness), the numbers do not.
    w = Value(1e200, label="w")

    def loss_fn(x):
        return Value.sum([(w * xi).relu() * 1e100 for xi in x])

    step = compile(loss_fn)
    for _ in range(3):
        matches_eager(step, loss_fn, [w], [1.0, 2.0, -1.0])
        w.data *= 1.5
    assert step.eager_calls == 0 and step.traces == 1


# ---- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, x", [
    (lambda w, x: (w * x[0]).log(), [-1.0]),       # log of a negative
    (lambda w, x: (w * x[0]).exp(), [1000.0]),     # overflow
    (lambda w, x: 1.0 / (w * x[0]), [0.0]),        # division by zero
    (lambda w, x: (w * x[0]).sqrt(), [0.0]),       # sqrt'(0) does not exist
])
def test_domain_errors_raise_as_eager_and_touch_no_grad(fn, x):
    w = Value(1.0, label="w")
    step = compile(lambda x: fn(w, x))
    step(np.array([1.0]))                          # traced where it is defined
    w.grad = 0.5
    with pytest.raises((ValueError, ArithmeticError)) as compiled:
        step(np.array(x))
    assert w.grad == 0.5
    with pytest.raises(type(compiled.value)) as expected:
        eager(lambda x: fn(w, x), x)
    assert str(compiled.value) == str(expected.value)


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(TypeError, match="needs a function"):
        compile(3)
    w = Value(1.0)
    step = compile(lambda x: w * x[0])
    with pytest.raises(TypeError, match="arrays .* of real numbers"):
        step(["a", "b"])
    with pytest.raises(TypeError, match="must return one Value"):
        compile(lambda x: [w * x[0]])(np.array([1.0]))
    with pytest.raises(RuntimeError, match="constant"):
        compile(lambda x: x[0] * 2.0)(np.array([1.0]))
    assert isinstance(step, CompiledStep) and math.isfinite(step(np.array([2.0])))


def test_sums_read_through_strided_views_add_in_eagers_order_bit_for_bit():
    # A per-feature scale computed from parameters, used by every sample of a batch: each
    # scale has many consumers, so its gradient is a column sum over a strided view of the
    # contributions; a block of products summed in slices is one on the way forward.  Only
    # + - * / and sums: the rule promises eager's numbers bit for bit, whatever the layout.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 3)), rng.standard_normal(32)
    sigma = [Value(v) for v in (0.7, 1.3, 2.1)]
    cs = (rng.uniform(-1, 1, 120) * 10.0 ** rng.uniform(-8, 8, 120)).tolist()

    def loss_fn(X, y):
        inv = [1 / s for s in sigma]
        d = [Value.sum([inv[i] * x[i] for i in range(3)]) - t for x, t in zip(X, y)]
        h = [sigma[0] * c for c in cs]
        parts = [Value.sum(h[j * 40:(j + 1) * 40]) for j in range(3)]
        return Value.sum([e * e for e in d]) + Value.sum(parts)

    step = compile(loss_fn)
    for _ in range(3):
        for p in sigma:
            p.grad = 0.0
        got = step(X, y)
        compiled = [p.grad for p in sigma]
        for p in sigma:
            p.grad = 0.0
        eager = loss_fn([[Value(v) for v in r] for r in X], [Value(v) for v in y])
        eager.backward()
        assert got == eager.data and compiled == [p.grad for p in sigma]
        for p in sigma:
            p.data *= 1.01
