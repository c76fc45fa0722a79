"""compile: numbers a replay would keep as constants are followed, or guarded, never frozen.

A traced graph keeps some numbers as they were: a constant the engine folds from Values that
take no gradient (``h.detach() * 0.9``, ``side.exp()`` of a frozen Value), an op's constant
argument (the exponent of ``x ** gamma``, a slope), a leaf copied from a Value the graph does
not otherwise use (``Value(h.data)``).  Each test changes such a number between calls, as a
schedule or a soft-updated target network does, and holds every call to the eager engine.
Also here: a guard on an exact number computed by a matrix product holds on the same numbers,
and a layer that draws its weights on its first call is not taken for a loss that draws every
call.
"""

import random
import warnings

import numpy as np
import pytest
from compile_twins import agrees

from microgrant import Value
from microgrant.compile import compile
from microgrant.data import moons
from microgrant.losses import mse_loss
from microgrant.nn import MLP, Dense, Sequential

X = np.array([1.0, 2.0])


def _calls(make, change, calls=5):
    """A loss over w and two Values it names, h (takes a gradient) and side (does not);
    ``change`` moves h and side before the fourth call.  Every call is held to eager's."""
    w = Value(0.5, label="w")
    h = Value(1.5, label="h")
    side = Value(2.0, label="side", requires_grad=False)
    loss_fn = make(w, h, side)
    step = compile(loss_fn)
    for k in range(calls):
        if k == 3:
            change(h, side)
        agrees(step, loss_fn, [w, h], X)
        w.data -= 0.05
    return step


def _move(h, side):
    h.data, side.data = -1.0, 3.0


@pytest.mark.parametrize("make", [
    lambda w, h, s: lambda x: (w * x[0] - h.detach() * 0.9) ** 2,
    lambda w, h, s: lambda x: (w * x[0] - ((h * x[1]).detach() + 1)) ** 2,
    lambda w, h, s: lambda x: (w * x[0] * (1 / s) - 1) ** 2,
    lambda w, h, s: lambda x: (w * x[0] - s * s) ** 2,
    lambda w, h, s: lambda x: (w * x[0] - s.exp()) ** 2,
    lambda w, h, s: lambda x: (w * x[0] - Value(h.data, requires_grad=False) ** 2) ** 2,
], ids=["detach-times-number", "detach-of-a-node", "one-over-frozen", "frozen-squared",
        "exp-of-frozen", "copy-squared"])
def test_a_constant_folded_from_values_that_take_no_gradient_follows_them(make):
    step = _calls(make, _move)
    assert step.eager_calls == 0


@pytest.mark.parametrize("make", [
    lambda w, h, s: lambda x: (w * x[0] - h.detach()) ** 2,
    lambda w, h, s: lambda x: (w * x[0] - Value(h.data)) ** 2,
    lambda w, h, s: lambda x: (w * x[0] - Value(s.data)) ** 2,
    lambda w, h, s: lambda x: (w * x[0] - s.data * x[1]) ** 2,
    lambda w, h, s: lambda x: (w * x[0] - h.data * x[1]) ** 2,
], ids=["detach", "copy", "copy-of-frozen", "frozen-number-times-input", "number-times-input"])
def test_a_value_read_only_through_its_number_is_read_every_call(make):
    step = _calls(make, _move)
    assert (step.traces, step.eager_calls) == (1, 0)  # a copy of its number, not a guard


def test_an_exponent_taken_from_a_value_is_guarded():
    model = MLP(2, [4, 1], output="sigmoid", seed=0)
    gamma = Value(0.0, label="gamma", requires_grad=False)
    Xm, y = moons(12, seed=0, labels="01")

    def focal(X, y):  # (1 - pt) ** gamma: a schedule raises gamma after a warm-up
        terms = []
        for x, t in zip(X, y):
            p = model(x)
            pt = t * p + (1 - t) * (1 - p)
            terms.append(-((1 - pt) ** gamma) * pt.log())
        return Value.sum(terms) / len(terms)
    step = compile(focal)
    for k in range(5):
        gamma.data = 0.0 if k < 3 else 2.0
        agrees(step, focal, model.parameters(), Xm, y)
    assert step.traces == 2
    assert "argument of its op pow the number of 'gamma'" in step.describe()


def test_a_slope_and_an_exponent_read_through_data_are_guarded():
    w = Value(-0.5, label="w")
    slope = Value(0.01, label="slope", requires_grad=False)

    def loss_fn(x):
        return (w * x[0]).leaky_relu(slope.data) + (w * x[1]) ** (slope.data * 200)
    step = compile(loss_fn)
    for k in range(4):
        if k == 2:
            slope.data = 0.02
        agrees(step, loss_fn, [w], X)
    assert step.traces == 2


def test_a_number_printed_from_a_matrix_product_replays_on_the_same_numbers():
    model = MLP(2, [16, 16, 1], seed=0)
    Xm, y = moons(32, seed=0, labels="pm1")

    def loss_fn(X, y):
        loss = mse_loss([model(x) for x in X], y)
        print(f"loss {loss.data:.4f}")  # an exact guard on a number a product computes
        return loss
    step = compile(loss_fn)
    for _ in range(4):  # the weights do not move: nothing to trace again
        agrees(step, loss_fn, model.parameters(), Xm, y)
    assert (step.traces, step.eager_calls) == (1, 0)
    model.parameters()[0].data += 0.25
    agrees(step, loss_fn, model.parameters(), Xm, y)
    assert step.traces == 2  # a moved weight changes the printed number: the guard still holds


def test_a_layer_that_draws_its_weights_on_its_first_call_compiles_and_draws_as_eager():
    Xs = np.random.default_rng(0).normal(size=(6, 2))
    ys = np.sin(Xs[:, 0])

    def run(compiled):
        random.seed(0)
        net = Sequential([Dense(4, "relu"), Dense(1)])  # built on the first call, unseeded

        def loss_fn(X, Y):
            return mse_loss([net(x)[0] for x in X], Y)
        step = compile(loss_fn)
        losses = []
        for _ in range(4):
            for p in net.parameters():
                p.grad = 0.0
            if compiled:
                losses.append(step(Xs, ys))
            else:
                loss = loss_fn(Xs.tolist(), ys.tolist())
                loss.backward()
                losses.append(loss.data)
            for p in net.parameters():
                p.data -= 0.1 * p.grad
        return losses, random.random(), step
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "draws random numbers" warning
        got, drawn, step = run(True)
    want, eager_drawn, _ = run(False)
    assert got == pytest.approx(want, rel=1e-12)
    assert drawn == eager_drawn and step.eager_calls == 0


def test_a_loss_that_draws_on_every_call_still_runs_eagerly():
    w = Value(0.5, label="w")

    def loss_fn(x):
        return (w * x[0] * random.random()) ** 2
    step = compile(loss_fn)
    random.seed(1)
    with pytest.warns(RuntimeWarning, match="draws random numbers"):
        got = step(X)
    random.seed(1)
    assert got == loss_fn([1.0, 2.0]).data and step.eager_calls == 1


def test_a_value_computed_before_the_call_is_named_as_such():
    w, w0 = Value(0.5, label="w"), Value(0.5, label="w0")
    scale = w0 * 2  # computed once, outside the loss

    def loss_fn(x):
        return (w * x[0] * scale - 1) ** 2
    step = compile(loss_fn)
    with pytest.warns(RuntimeWarning, match=r"uses a Value computed before the call \(op mul\)"):
        agrees(step, loss_fn, [w, w0], X)


class _Agent:
    """Two networks held as attributes, as reinforcement-learning code holds them."""

    def __init__(self):
        self.online, self.target = MLP(2, [8, 1], seed=0), MLP(2, [8, 1], seed=1)


@pytest.mark.parametrize("reached", ["named", "through-an-attribute"])
def test_a_target_network_behind_detach_is_followed_when_it_is_updated(reached):
    agent = _Agent()
    online, target = agent.online, agent.target
    Xs = np.random.default_rng(0).normal(size=(8, 2))
    rewards = np.random.default_rng(1).normal(size=8)

    if reached == "named":
        def loss_fn(X, R):  # a temporal-difference target: r + 0.9 * target(x), no gradient
            terms = [(online(x) - (r + 0.9 * target(x).detach())) ** 2 for x, r in zip(X, R)]
            return Value.sum(terms) / len(terms)
    else:
        def loss_fn(X, R):
            terms = [(online(x) - (r + 0.9 * agent.target(x).detach())) ** 2
                     for x, r in zip(X, R)]
            return Value.sum(terms) / len(terms)
    step = compile(loss_fn)
    for k in range(5):
        if k == 3:  # a soft update of the target network
            for t, o in zip(target.parameters(), online.parameters()):
                t.data = 0.5 * t.data + 0.5 * o.data
        agrees(step, loss_fn, online.parameters() + target.parameters(), Xs, rewards)
        for p in online.parameters():
            p.data -= 0.05
    assert (step.traces, step.eager_calls) == (2, 0)  # traced again once, when it moved


@pytest.mark.parametrize("make", [lambda: np.random.default_rng(7), lambda: random.Random(7),
                                  lambda: np.random.RandomState(7)],
                         ids=["Generator", "Random", "RandomState"])
def test_a_generator_the_loss_names_draws_as_eager_draws(make):
    def run(compiled):
        w = Value(0.5, label="w")
        rng = make()

        def loss_fn(x):  # a dropout mask of its own generator, drawn every call
            keep = [float(u < 0.7) for u in (rng.random() for _ in x)]
            return Value.sum([w * xi * k for xi, k in zip(x, keep)]) ** 2
        step = compile(loss_fn)
        out = []
        for _ in range(3):
            w.grad = 0.0
            if compiled:
                out.append((step(np.arange(1.0, 9.0)), w.grad))
            else:
                loss = loss_fn([Value(x) for x in np.arange(1.0, 9.0)])
                loss.backward()
                out.append((loss.data, w.grad))
        return out
    with pytest.warns(RuntimeWarning, match="a generator it names"):
        got = run(True)
    assert got == run(False)
