"""Optimisers: two steps worked from the formulas, 20 steps against torch.optim, and errors."""

import math

import pytest

from microgrant import Value
from microgrant.nn import MLP
from microgrant.optim import SGD, Adam, RMSProp, RMSprop

G1, G2 = 2.0, -1.0  # the gradients of the two hand-worked steps


def two_steps(optimizer_class, p0=1.0, **settings):
    """p starts at p0; the first step sees gradient G1, the second G2."""
    p = Value(p0)
    opt = optimizer_class([p], **settings)
    after = []
    for g in (G1, G2):
        opt.zero_grad()
        p.grad = g
        opt.step()
        after.append(p.data)
    return after


# ---- two steps by hand -------------------------------------------------------------------

def test_sgd_plain_by_hand():
    assert two_steps(SGD, lr=0.1) == pytest.approx([1 - 0.1 * 2, 0.8 - 0.1 * -1], rel=1e-15)


def test_sgd_momentum_by_hand():
    # buf1 = g1 = 2 -> p = 1 - 0.1*2 = 0.8;  buf2 = 0.9*2 + (-1) = 0.8 -> p = 0.8 - 0.08 = 0.72
    assert two_steps(SGD, lr=0.1, momentum=0.9) == pytest.approx([0.8, 0.72], rel=1e-15)


def test_sgd_nesterov_by_hand():
    # step 1: buf = 2, g = 2 + 0.9*2 = 3.8, p = 1 - 0.38 = 0.62
    # step 2: buf = 0.9*2 - 1 = 0.8, g = -1 + 0.9*0.8 = -0.28, p = 0.62 + 0.028 = 0.648
    assert two_steps(SGD, lr=0.1, momentum=0.9, nesterov=True) == \
        pytest.approx([0.62, 0.648], rel=1e-15)


def test_sgd_dampening_and_weight_decay_by_hand():
    # step 1: g = 2 + 0.5*1 = 2.5, buf = 2.5, p = 1 - 0.25 = 0.75
    # step 2: g = -1 + 0.5*0.75 = -0.625, buf = 0.9*2.5 + (1 - 0.3)*(-0.625) = 1.8125,
    #         p = 0.75 - 0.18125 = 0.56875
    assert two_steps(SGD, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.5) == \
        pytest.approx([0.75, 0.56875], rel=1e-15)


def test_rmsprop_by_hand():
    lr, alpha, eps = 0.01, 0.99, 1e-8
    v1 = (1 - alpha) * G1 ** 2
    p1 = 1.0 - lr * G1 / (math.sqrt(v1) + eps)
    v2 = alpha * v1 + (1 - alpha) * G2 ** 2
    p2 = p1 - lr * G2 / (math.sqrt(v2) + eps)
    assert two_steps(RMSprop, lr=lr) == pytest.approx([p1, p2], rel=1e-15)
    assert p1 == pytest.approx(0.9, rel=1e-7)  # the first step is lr / sqrt(1 - alpha)


def test_rmsprop_centered_with_momentum_by_hand():
    lr, alpha, eps, mu = 0.01, 0.9, 1e-8, 0.5
    v1, a1 = (1 - alpha) * G1 ** 2, (1 - alpha) * G1
    b1 = G1 / (math.sqrt(v1 - a1 ** 2) + eps)
    p1 = 1.0 - lr * b1
    v2, a2 = alpha * v1 + (1 - alpha) * G2 ** 2, alpha * a1 + (1 - alpha) * G2
    b2 = mu * b1 + G2 / (math.sqrt(v2 - a2 ** 2) + eps)
    p2 = p1 - lr * b2
    got = two_steps(RMSprop, lr=lr, alpha=alpha, momentum=mu, centered=True)
    assert got == pytest.approx([p1, p2], rel=1e-14)


def test_rmsprop_centered_survives_a_steady_gradient():
    # With the same gradient every step, v - ga^2 is 0 in exact arithmetic, but rounding
    # can make it a hair negative; the square root must not fail (or return NaN) then.
    params = [Value(1.0), Value(1.0)]
    opt = RMSprop(params, lr=1e-12, alpha=0.5, centered=True)
    trace = []
    for _ in range(200):
        for p in params:
            p.grad = 0.7
        opt.step()
        trace.append(params[0].data)
        assert params[0].data == params[1].data  # both moved: none left half-updated
    assert all(math.isfinite(v) for v in trace)
    assert all(b < a for a, b in zip(trace, trace[1:]))  # always downhill


def test_adam_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    m1, v1 = (1 - b1) * G1, (1 - b2) * G1 ** 2
    p1 = 1.0 - lr * (m1 / (1 - b1)) / (math.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * G2, b2 * v1 + (1 - b2) * G2 ** 2
    p2 = p1 - lr * (m2 / (1 - b1 ** 2)) / (math.sqrt(v2 / (1 - b2 ** 2)) + eps)
    got = two_steps(Adam, lr=lr)
    assert got == pytest.approx([p1, p2], rel=1e-14)
    assert got[0] == pytest.approx(0.9, rel=1e-8)  # Adam's first step has size lr


def test_adam_weight_decay_by_hand():
    lr, b1, b2, eps, wd = 0.1, 0.8, 0.99, 1e-6, 0.5
    g1 = G1 + wd * 1.0
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1 ** 2
    p1 = 1.0 - lr * (m1 / (1 - b1)) / (math.sqrt(v1 / (1 - b2)) + eps)
    g2 = G2 + wd * p1
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2 ** 2
    p2 = p1 - lr * (m2 / (1 - b1 ** 2)) / (math.sqrt(v2 / (1 - b2 ** 2)) + eps)
    got = two_steps(Adam, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    assert got == pytest.approx([p1, p2], rel=1e-14)


def test_defaults_are_pytorchs():
    p = [Value(0.0)]
    assert SGD(p).lr == 0.001
    r = RMSprop(p)
    assert (r.lr, r.alpha, r.eps, r.momentum, r.centered) == (0.01, 0.99, 1e-8, 0.0, False)
    a = Adam(p)
    assert (a.lr, a.betas, a.eps, a.weight_decay) == (0.001, (0.9, 0.999), 1e-8, 0.0)
    assert RMSProp is RMSprop  # the earlier spelling still imports
    assert RMSprop.__name__ == "RMSprop"


# ---- behaviour ----------------------------------------------------------------------------

def test_training_a_model_lowers_its_loss():
    model = MLP(1, [8, 1], activation="tanh", seed=0)
    xs, ys = [-1.0, -0.5, 0.0, 0.5, 1.0], [1.0, 0.25, 0.0, 0.25, 1.0]
    opt = Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        loss = Value.sum([(model([x]) - y) ** 2 for x, y in zip(xs, ys)]) / len(xs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    assert losses[-1] < 0.1 * losses[0]


def test_zero_grad_clears_the_gradients():
    a, b = Value(1.0), Value(2.0)
    opt = SGD([a, b], lr=0.1)
    (a * b).backward()
    assert (a.grad, b.grad) == (2.0, 1.0)
    opt.zero_grad()
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_a_parameter_made_constant_later_is_skipped():
    a, b = Value(1.0), Value(2.0)
    opt = Adam([a, b], lr=0.1)
    (a * b).backward()
    b.requires_grad = False
    opt.step()
    assert b.data == 2.0 and a.data < 1.0


def test_repr():
    assert repr(SGD([Value(1.0)], lr=0.1, momentum=0.9)) == \
        "SGD(1 parameters, lr=0.1, momentum=0.9)"


# ---- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [SGD, RMSprop, Adam])
def test_bad_parameter_lists(cls):
    with pytest.raises(ValueError, match="empty list of parameters"):
        cls([])
    with pytest.raises(ValueError, match=r"params\[1\] \('c'\) is a constant"):
        cls([Value(1.0), Value(2.0, label="c", requires_grad=False)])
    with pytest.raises(TypeError, match=r"params\[0\] must be a Value; got float"):
        cls([1.0])
    with pytest.raises(TypeError, match="single Value: wrap it in a list"):
        cls(Value(1.0))
    x = Value(1.0)
    with pytest.raises(ValueError, match="more than once"):
        cls([x, x])
    with pytest.raises(ValueError, match="made by an op"):
        cls([x * 2])


@pytest.mark.parametrize("cls", [SGD, RMSprop, Adam])
def test_bad_learning_rates(cls):
    with pytest.raises(ValueError, match="lr must be a finite number >= 0; got -0.1"):
        cls([Value(1.0)], lr=-0.1)
    with pytest.raises(ValueError, match="lr"):
        cls([Value(1.0)], lr=float("nan"))
    with pytest.raises(TypeError, match=r"lr must be a real number \(int, float, bool or "
                                        r"numpy scalar\); got str"):
        cls([Value(1.0)], lr="0.1")


def test_bad_hyperparameters():
    p = [Value(1.0)]
    with pytest.raises(ValueError, match="nesterov"):
        SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="momentum"):
        SGD(p, lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match=r"betas\[1\] must be a finite number >= 0 and < 1; "
                                         r"got 1.0"):
        Adam(p, betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="betas must be a pair"):
        Adam(p, betas=0.9)
    with pytest.raises(ValueError, match="alpha"):
        RMSprop(p, alpha=1.5)
    with pytest.raises(ValueError, match="eps"):
        Adam(p, eps=-1e-8)


# ---- PyTorch parity -----------------------------------------------------------------------

def bumpy(x, y, tanh):
    """A Rosenbrock valley with a tanh ripple: non-convex, with curved, uneven slopes."""
    return (1 - x) ** 2 + 5 * (y - x * x) ** 2 + 0.5 * tanh(3 * x * y)


CASES = [
    (SGD, "SGD", dict(lr=0.01)),
    (SGD, "SGD", dict(lr=0.01, momentum=0.9)),
    (SGD, "SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (SGD, "SGD", dict(lr=0.01, momentum=0.5, dampening=0.3)),
    (RMSprop, "RMSprop", dict()),
    (RMSprop, "RMSprop", dict(lr=0.01, momentum=0.9)),
    (RMSprop, "RMSprop", dict(lr=0.01, centered=True, weight_decay=0.05)),
    (RMSprop, "RMSprop", dict(lr=0.02, alpha=0.9, eps=1e-6, momentum=0.5, centered=True)),
    (Adam, "Adam", dict()),
    (Adam, "Adam", dict(lr=0.05)),
    (Adam, "Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]


@pytest.mark.parametrize("ours_cls, torch_name, settings", CASES)
def test_twenty_steps_match_torch_optim(ours_cls, torch_name, settings):
    torch = pytest.importorskip("torch")
    start = (-1.2, 1.0)
    x, y = Value(start[0]), Value(start[1])
    opt = ours_cls([x, y], **settings)
    tx = torch.tensor(start[0], dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(start[1], dtype=torch.float64, requires_grad=True)
    topt = getattr(torch.optim, torch_name)([tx, ty], **settings)
    for _ in range(20):
        opt.zero_grad()
        bumpy(x, y, Value.tanh).backward()
        opt.step()
        topt.zero_grad()
        bumpy(tx, ty, torch.tanh).backward()
        topt.step()
        assert x.data == pytest.approx(tx.item(), rel=1e-10, abs=1e-12)
        assert y.data == pytest.approx(ty.item(), rel=1e-10, abs=1e-12)
    assert (x.data, y.data) != start  # the optimiser really moved
