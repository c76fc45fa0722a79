"""Values and gradients equal PyTorch's (float64), for every op, on hundreds of random graphs.

Each op name maps to its PyTorch counterpart in `TORCH`, which must cover the whole op table.
Fixed expressions, then 300 random expression graphs (seeded, with shared subexpressions and
reused nodes, each op applied only where its domain allows) are built side by side in
microgrant and in PyTorch; every node's value and every leaf's gradient must agree to 1e-9
relative.  The kinks where PyTorch documents its convention (relu, abs, leaky_relu at 0; powers
at 0) are compared too.  The whole file skips when torch is not installed.
"""

import math
import random

import pytest

from microgrant import Value
from microgrant.engine import OPS

torch = pytest.importorskip("torch")
F = torch.nn.functional

DTYPE = torch.float64
REL, ABS = 1e-9, 1e-12


def _heaviside(x):
    # torch.heaviside has no derivative; microgrant's step passes a gradient of 0, which is
    # what a constant of the same value gives in PyTorch.
    return torch.heaviside(x.detach(), torch.tensor(1.0, dtype=DTYPE)) + 0.0 * x


TORCH = {
    "add": lambda xs, _: xs[0] + xs[1],
    "sub": lambda xs, _: xs[0] - xs[1],
    "mul": lambda xs, _: xs[0] * xs[1],
    "div": lambda xs, _: xs[0] / xs[1],
    "sum": lambda xs, _: torch.stack(list(xs)).sum(),
    # weights, inputs, then a bias when the count is odd
    "dot": lambda xs, _: (torch.dot(torch.stack(list(xs[:len(xs) // 2])),
                                    torch.stack(list(xs[len(xs) // 2:2 * (len(xs) // 2)])))
                          + (xs[-1] if len(xs) % 2 else 0.0)),
    "neg": lambda xs, _: -xs[0],
    "pow": lambda xs, n: torch.pow(xs[0], n),
    "vpow": lambda xs, _: torch.pow(xs[0], xs[1]),
    "exp": lambda xs, _: torch.exp(xs[0]),
    "log": lambda xs, _: torch.log(xs[0]),
    "sqrt": lambda xs, _: torch.sqrt(xs[0]),
    "tanh": lambda xs, _: torch.tanh(xs[0]),
    "sigmoid": lambda xs, _: torch.sigmoid(xs[0]),
    "relu": lambda xs, _: torch.relu(xs[0]),
    "leaky_relu": lambda xs, slope: F.leaky_relu(xs[0], slope),
    "abs": lambda xs, _: torch.abs(xs[0]),
    "step": lambda xs, _: _heaviside(xs[0]),
    "pick": lambda xs, _: torch.stack(list(xs))[len(xs) // 2],
    "stop_gradient": lambda xs, _: xs[0].detach(),
}

MICROGRANT = {
    "add": lambda v, _: v[0] + v[1],
    "sub": lambda v, _: v[0] - v[1],
    "mul": lambda v, _: v[0] * v[1],
    "div": lambda v, _: v[0] / v[1],
    "sum": lambda v, _: Value.sum(v),
    "dot": lambda v, _: Value.dot(v[:len(v) // 2], v[len(v) // 2:2 * (len(v) // 2)],
                                  v[-1] if len(v) % 2 else None),
    "neg": lambda v, _: -v[0],
    "pow": lambda v, n: v[0] ** n,
    "vpow": lambda v, _: v[0] ** v[1],
    "exp": lambda v, _: v[0].exp(),
    "log": lambda v, _: v[0].log(),
    "sqrt": lambda v, _: v[0].sqrt(),
    "tanh": lambda v, _: v[0].tanh(),
    "sigmoid": lambda v, _: v[0].sigmoid(),
    "relu": lambda v, _: v[0].relu(),
    "leaky_relu": lambda v, slope: v[0].leaky_relu(slope),
    "abs": lambda v, _: v[0].abs(),
    "step": lambda v, _: v[0].step(),
    "pick": lambda v, _: Value.pick(v, len(v) // 2),
    "stop_gradient": lambda v, _: v[0].stop_gradient(),
}


def test_the_torch_table_covers_every_op():
    assert set(TORCH) == set(OPS)
    assert set(MICROGRANT) == set(OPS)


def _leaf(x: float):
    return torch.tensor(x, dtype=DTYPE, requires_grad=True)


def _close(ours: float, theirs: float, rel: float = REL, abs_: float = ABS) -> bool:
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=abs_)


def _compare_grads(leaves, tleaves, context):
    for i, (v, t) in enumerate(zip(leaves, tleaves)):
        theirs = 0.0 if t.grad is None else t.grad.item()
        assert _close(v.grad, theirs), f"{context}: leaf {i} grad {v.grad} vs torch {theirs}"


# ---- fixed expressions ------------------------------------------------------------------------
# Written once with operators and methods that Value and torch.Tensor share.

FIXED = [
    ("neuron", lambda a, b, c: (a * b + c).tanh(), (2.0, -0.8, 0.6)),
    ("polynomial", lambda a, b, c: a ** 3 - 2 * a * b + b ** 2 / c + 1, (1.5, -2.0, 3.0)),
    ("reuse", lambda a, b, c: (a * a + a).relu() * (b - a).abs() + (a * b).sigmoid(),
     (-1.2, 0.7, 0.0)),
    ("diamond", lambda a, b, c: a.exp() * (a * 2 + b) / c + a.exp().tanh(), (0.4, -1.0, 2.5)),
    ("logs", lambda a, b, c: (a * a + 1).log() + (c + b * b).sqrt() - 1 / a, (0.7, 1.3, 0.2)),
    ("powers", lambda a, b, c: a ** b + 2 ** c + (a + 3) ** -1.5, (1.7, -0.6, 0.9)),
    ("deep", lambda a, b, c: ((a - b).tanh() * c + a.sigmoid()).exp() / (1 + (b * c) ** 2),
     (0.3, -0.5, 1.1)),
]


@pytest.mark.parametrize("name, f, point", FIXED, ids=[case[0] for case in FIXED])
def test_fixed_expressions(name, f, point):
    leaves = [Value(p) for p in point]
    tleaves = [_leaf(p) for p in point]
    out = f(*leaves)
    tout = f(*tleaves)
    assert _close(out.data, tout.item()), f"{name}: {out.data} vs {tout.item()}"
    out.backward()
    tout.backward()
    _compare_grads(leaves, tleaves, name)


# ---- kinks with a documented PyTorch convention -----------------------------------------------

KINKS = [
    ("relu at 0", lambda v: v.relu(), lambda t: torch.relu(t), 0.0),
    ("abs at 0", lambda v: v.abs(), lambda t: torch.abs(t), 0.0),
    ("leaky_relu at 0", lambda v: v.leaky_relu(0.1), lambda t: F.leaky_relu(t, 0.1), 0.0),
    ("x ** 0 at 0", lambda v: v ** 0, lambda t: t ** 0.0, 0.0),
    ("x ** 2 at 0", lambda v: v ** 2, lambda t: t ** 2.0, 0.0),
    ("step at 0", lambda v: v.step(), _heaviside, 0.0),
]


@pytest.mark.parametrize("name, ours, theirs, point", KINKS, ids=[k[0] for k in KINKS])
def test_kinks_follow_pytorch(name, ours, theirs, point):
    x, t = Value(point), _leaf(point)
    y, ty = ours(x), theirs(t)
    assert y.data == ty.item()
    y.backward()
    ty.backward()
    assert x.grad == (0.0 if t.grad is None else t.grad.item())


@pytest.mark.parametrize("exponent", [2.0, 1.0, 0.0])
def test_value_exponent_at_zero_base_follows_pytorch(exponent):
    # d(a^b)/db at a = 0, b >= 0: PyTorch takes the limit 0 (not 0 * log 0 = NaN); and
    # d(a^b)/da at b = 0 is 0, as for the constant exponent x ** 0.
    a, b = Value(0.0), Value(exponent)
    ta, tb = _leaf(0.0), _leaf(exponent)
    (a ** b).backward()
    torch.pow(ta, tb).backward()
    assert (a.grad, b.grad) == (ta.grad.item(), tb.grad.item())


# ---- random expression graphs -----------------------------------------------------------------

POW_EXPONENTS = (0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1.5, -0.5, 2.5)


def _allowed(name: str, xs: list[float], arg) -> bool:
    """Whether the op is defined (and well away from overflow) at these inputs."""
    if name == "div":
        return abs(xs[1]) > 0.2
    if name == "pow":
        if arg < 0 and abs(xs[0]) < 0.2:
            return False
        return arg == int(arg) or xs[0] > 0.2
    if name == "vpow":
        return 0.2 < xs[0] < 5.0 and abs(xs[1]) < 3.0
    if name == "exp":
        return xs[0] < 4.0
    if name in ("log", "sqrt"):
        return xs[0] > 0.1
    return True


def _pick(rng: random.Random, pool: list) -> int:
    # Favour recent nodes (deep graphs) but reuse old ones often (shared subexpressions).
    if rng.random() < 0.6:
        return rng.randrange(max(0, len(pool) - 4), len(pool))
    return rng.randrange(len(pool))


def _random_graph(seed: int, used: dict):
    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-2.0, 2.0), label=f"x{i}") for i in range(rng.randint(1, 4))]
    tleaves = [_leaf(v.data) for v in leaves]
    pool = list(zip(leaves, tleaves))
    names = sorted(OPS)
    for _ in range(rng.randint(4, 25)):
        for _attempt in range(20):
            name = rng.choice(names)
            op = OPS[name]
            count = rng.randint(2, 5) if op.arity == 0 else op.arity
            picks = [pool[_pick(rng, pool)] for _ in range(count)]
            arg = (rng.choice(POW_EXPONENTS) if name == "pow"
                   else rng.uniform(0.01, 0.3) if name == "leaky_relu" else None)
            if _allowed(name, [v.data for v, _ in picks], arg):
                break
        else:
            continue
        node = MICROGRANT[name]([v for v, _ in picks], arg)
        tnode = TORCH[name]([t for _, t in picks], arg)
        assert node.op == name
        assert type(node.data) is float
        assert _close(node.data, tnode.item()), (
            f"seed {seed}: {name} of {[v.data for v, _ in picks]} (arg {arg}) gave "
            f"{node.data}, torch {tnode.item()}")
        if abs(node.data) < 1e3:  # keep the graph's numbers moderate
            pool.append((node, tnode))
            used[name] = used.get(name, 0) + 1
    # The output mixes several nodes, so the leaves are reached along many paths.
    tail = pool[-3:] + [pool[rng.randrange(len(pool))]]
    out = Value.sum([v for v, _ in tail]) * pool[0][0] + pool[-1][0] * pool[-1][0]
    tout = torch.stack([t for _, t in tail]).sum() * pool[0][1] + pool[-1][1] * pool[-1][1]
    return leaves, tleaves, out, tout


GRAPHS = 300


def test_random_graphs_match_pytorch():
    used: dict[str, int] = {}
    for seed in range(GRAPHS):
        leaves, tleaves, out, tout = _random_graph(seed, used)
        assert _close(out.data, tout.item()), f"seed {seed}: {out.data} vs {tout.item()}"
        out.backward()
        tout.backward()
        _compare_grads(leaves, tleaves, f"seed {seed}")
    # Every op took part, many times over.
    assert set(used) == set(OPS), f"ops never used: {set(OPS) - set(used)}"
    assert min(used.values()) >= 50, used
