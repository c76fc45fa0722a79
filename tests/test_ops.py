"""Every op in the op table, checked against finite differences.

Each op declares a sample domain below: a sampler of valid inputs away from kinks and poles,
and the way a user writes the op with the `Value` API.  For every op the suite then proves:

* its ``local_grads`` agree with central finite differences of its ``forward``;
* an end-to-end ``backward()`` (and ``grad``) through a small expression using it agrees with
  finite differences (`microgrant.gradcheck`), and a deliberately wrong local derivative is
  caught;
* its table entry is complete (one formula per input, a symbol), and the Value operator or
  method records a node with the op's name;
* finite inputs never give a NaN or a complex number: an op either succeeds with real numbers
  or raises an error that names it as the learner wrote it (``a ** b``, never ``vpow``).

An op added to `OPS` without a domain here fails the suite.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import math
import random
import re
from typing import Callable, NamedTuple

import numpy as np
import pytest

from microgrant import Value, backward_pass, gradcheck
from microgrant.engine import BACKWARD_LOOP, OPS, local_grads
from microgrant.errors import result_error, written
from microgrant.nn import cross_entropy, hinge_loss
from microgrant.pytorch import check


def _away(rng: random.Random, low: float, high: float) -> float:
    """A number with |x| in [low, high] and a random sign: away from a kink or pole at 0."""
    return rng.choice((-1.0, 1.0)) * rng.uniform(low, high)


def _pow_sample(rng: random.Random):
    n = rng.choice((0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1.5, 2.5, -0.5))
    if n == int(n):
        return [_away(rng, 0.3, 3.0)], n  # a whole exponent allows a negative base
    return [rng.uniform(0.3, 3.0)], n


class Domain(NamedTuple):
    """Where to sample an op, and how a user writes it.

    ``discrete`` counts the last inputs that are whole numbers which select rather than scale
    (pick's index): a nudge leaves the op's domain, so finite differences skip them, and
    their partial is 0.  ``frozen`` marks an op whose result takes no gradient by definition
    (stop_gradient): its partials are 0, which is the derivative of its result held fixed,
    not of its forward.
    """

    sample: Callable[[random.Random], tuple[list[float], object]]  # -> (input numbers, arg)
    apply: Callable[[list, object], Value]  # (input Values, arg) -> the op's result
    discrete: int = 0
    frozen: bool = False


def _pick_sample(rng: random.Random):
    values = [rng.uniform(-3, 3) for _ in range(rng.randint(1, 5))]
    return values + [float(rng.randrange(len(values)))], None


DOMAINS: dict[str, Domain] = {
    "add": Domain(lambda r: ([r.uniform(-3, 3), r.uniform(-3, 3)], None),
                  lambda v, _: v[0] + v[1]),
    "sub": Domain(lambda r: ([r.uniform(-3, 3), r.uniform(-3, 3)], None),
                  lambda v, _: v[0] - v[1]),
    "mul": Domain(lambda r: ([r.uniform(-3, 3), r.uniform(-3, 3)], None),
                  lambda v, _: v[0] * v[1]),
    "div": Domain(lambda r: ([r.uniform(-3, 3), _away(r, 0.3, 3.0)], None),
                  lambda v, _: v[0] / v[1]),
    "sum": Domain(lambda r: ([r.uniform(-3, 3) for _ in range(r.randint(1, 6))], None),
                  lambda v, _: Value.sum(v)),
    "dot": Domain(lambda r: ([r.uniform(-3, 3) for _ in range(r.choice((2, 3, 4, 5, 7)))],
                             None),
                  lambda v, _: Value.dot(v[:len(v) // 2], v[len(v) // 2:2 * (len(v) // 2)],
                                         v[-1] if len(v) % 2 else None)),
    "neg": Domain(lambda r: ([r.uniform(-3, 3)], None), lambda v, _: -v[0]),
    "pow": Domain(_pow_sample, lambda v, n: v[0] ** n),
    "vpow": Domain(lambda r: ([r.uniform(0.3, 3.0), r.uniform(-2.0, 2.0)], None),
                   lambda v, _: v[0] ** v[1]),
    "exp": Domain(lambda r: ([r.uniform(-5, 5)], None), lambda v, _: v[0].exp()),
    "log": Domain(lambda r: ([r.uniform(0.05, 10)], None), lambda v, _: v[0].log()),
    "sqrt": Domain(lambda r: ([r.uniform(0.05, 10)], None), lambda v, _: v[0].sqrt()),
    "tanh": Domain(lambda r: ([r.uniform(-4, 4)], None), lambda v, _: v[0].tanh()),
    "sigmoid": Domain(lambda r: ([r.uniform(-6, 6)], None), lambda v, _: v[0].sigmoid()),
    "relu": Domain(lambda r: ([_away(r, 0.1, 3.0)], None), lambda v, _: v[0].relu()),
    "leaky_relu": Domain(lambda r: ([_away(r, 0.1, 3.0)], r.uniform(0.01, 0.5)),
                         lambda v, slope: v[0].leaky_relu(slope)),
    "abs": Domain(lambda r: ([_away(r, 0.1, 3.0)], None), lambda v, _: v[0].abs()),
    "step": Domain(lambda r: ([_away(r, 0.1, 3.0)], None), lambda v, _: v[0].step()),
    "pick": Domain(_pick_sample, lambda v, _: Value.pick(v[:-1], v[-1]), discrete=1),
    "stop_gradient": Domain(lambda r: ([r.uniform(-3, 3)], None),
                            lambda v, _: v[0].stop_gradient(), frozen=True),
}

SAMPLES_PER_OP = 60
H = 1e-6


def _forward(op, xs: list[float], arg) -> float:
    return op.forward(tuple(xs), arg)


def _table_local_grads(op, xs: list[float], out: float, arg) -> tuple:
    return op.local_grads(tuple(xs), out, arg)


def _samples(name: str, count: int = SAMPLES_PER_OP):
    rng = random.Random(f"samples-{name}")
    return [DOMAINS[name].sample(rng) for _ in range(count)]


def test_every_op_has_a_domain():
    missing = sorted(set(OPS) - set(DOMAINS))
    assert not missing, f"ops without a sample domain in tests/test_ops.py: {missing}"
    stale = sorted(set(DOMAINS) - set(OPS))
    assert not stale, f"domains for ops that no longer exist: {stale}"


# Parametrise over the union, so an op without a domain also shows up as a failing case.
ALL_OPS = sorted(set(OPS) | set(DOMAINS))


def _domain(name: str) -> Domain:
    if name not in DOMAINS:
        pytest.fail(f"op {name!r} has no sample domain in tests/test_ops.py")
    if name not in OPS:
        pytest.fail(f"a domain is declared for {name!r}, which is not in OPS")
    return DOMAINS[name]


@pytest.mark.parametrize("name", ALL_OPS)
def test_table_entry_is_complete(name):
    _domain(name)
    op = OPS[name]
    assert op.name == name
    assert isinstance(op.symbol, str) and op.symbol.strip()
    assert op.arity in (0, 1, 2)
    if op.arity:
        assert len(op.formulas) == op.arity, op.formulas
    else:  # any number of inputs: a formula for each, or one for all
        count = 7
        assert {op.formula_for(i, count) for i in range(count)} == set(op.formulas)
    assert all(isinstance(f, str) and f.strip() for f in op.formulas)
    assert op.formula == "; ".join(op.formulas)


@pytest.mark.parametrize("name", ALL_OPS)
def test_value_api_records_a_node_named_after_the_op(name):
    domain = _domain(name)
    xs, arg = domain.sample(random.Random(name))
    leaves = [Value(x) for x in xs]
    out = domain.apply(leaves, arg)
    assert isinstance(out, Value)
    assert out.op == name
    assert out.inputs == tuple(leaves)
    assert all(a is b for a, b in zip(out.inputs, leaves))
    assert out.data == _forward(OPS[name], xs, arg)
    if OPS[name].arity == 1 and arg is not None:
        assert out.arg == arg


@pytest.mark.parametrize("name", ALL_OPS)
def test_local_grads_match_central_differences_of_forward(name):
    domain = _domain(name)
    op = OPS[name]
    for xs, arg in _samples(name):
        out = _forward(op, xs, arg)
        analytic = _table_local_grads(op, xs, out, arg)
        assert len(analytic) == len(xs)
        for i, x in enumerate(xs):
            if domain.frozen or i >= len(xs) - domain.discrete:
                assert analytic[i] == 0.0, (name, xs, i)  # by definition: no gradient
                continue
            h = H * max(1.0, abs(x))
            up, down = list(xs), list(xs)
            up[i], down[i] = x + h, x - h
            numeric = (_forward(op, up, arg) - _forward(op, down, arg)) / (2.0 * h)
            assert analytic[i] == pytest.approx(numeric, rel=1e-6, abs=1e-7), (
                f"{name}: d out / d input {i} at inputs {xs}, arg {arg}: "
                f"table says {analytic[i]}, finite difference {numeric}")


@pytest.mark.parametrize("name", ALL_OPS)
def test_engine_local_grads_of_a_node_read_the_table(name):
    domain = _domain(name)
    op = OPS[name]
    for xs, arg in _samples(name, 10):
        node = domain.apply([Value(x) for x in xs], arg)
        expected = _table_local_grads(op, xs, node.data, arg)
        assert local_grads(node) == pytest.approx(expected, rel=1e-15, abs=0)


@pytest.mark.parametrize("name", ALL_OPS)
def test_backward_multiplies_the_tables_partials_by_the_gradient_exactly(name):
    # Value.backward inlines most ops' partials (BACKWARD_LOOP); it must do the table's
    # arithmetic to the last bit: each leaf gets local_grads(node)[i] * seed.
    domain = _domain(name)
    op = OPS[name]
    for xs, arg in _samples(name, 10):
        leaves = [Value(x) for x in xs]
        node = domain.apply(leaves, arg)
        seed = 0.7310585786300049
        node.backward(seed)
        expected = _table_local_grads(op, xs, node.data, arg)
        # A leaf's grad starts at 0.0, so it ends at 0.0 + d * seed (-0.0 becomes 0.0).
        assert [float.hex(leaf.grad) for leaf in leaves] == [
            float.hex(0.0 + d * seed) for d in expected], (name, xs, arg)


def test_the_backward_loop_is_plain_python_whose_inline_ops_are_in_the_table():
    # BACKWARD_LOOP is the loop's own source, as a debugger steps through it.
    assert BACKWARD_LOOP.startswith("def _backward_loop(")
    assert not any(word in BACKWARD_LOOP for word in ("exec(", "eval(", "compile("))
    inline = re.findall(r'op == "(\w+)"', BACKWARD_LOOP)
    assert {"add", "mul", "tanh", "relu", "sub", "sigmoid"} <= set(inline)
    assert set(inline) <= set(OPS), "a branch of the loop names no op of the table"


# ---- backward and the explaining replay agree to the last bit, wherever the numbers are ---------

SPECIAL = (0.0, -0.0, float("nan"), float("inf"), float("-inf"))
ARGS = {"pow": (0.0, 1.0, 2.0, -1.0, 0.5, -0.5, *SPECIAL), "leaky_relu": (0.01, *SPECIAL)}


def _special_points(name: str):
    """(input numbers, arg) at every combination of the special values the op can take."""
    op = OPS[name]
    counts = (2, 3) if op.arity == 0 else (op.arity,)
    for count in counts:
        for xs in itertools.product(SPECIAL, repeat=count):
            for arg in ARGS.get(name, (None,)):
                yield list(xs), arg


def _outcome(run) -> tuple:
    try:
        return ("ok", run())
    except (ArithmeticError, ValueError) as error:
        return (type(error).__name__, str(error))


@pytest.mark.parametrize("name", ALL_OPS)
def test_backward_equals_the_replay_bit_for_bit_at_zero_minus_zero_nan_and_infinities(name):
    # backward writes most ops' partials out in its loop; backward_pass asks the table.  At
    # every special value (and with a constant among the inputs, and through an expression
    # that uses the op's result twice) the two give the same bits, or the same error.
    domain = _domain(name)
    checked = 0
    for xs, arg in _special_points(name):
        for constant_last in (False, True):
            for seed in (1.0, -0.0, float("inf"), float("nan"), -2.5):
                for through_expression in (False, True):
                    leaves = [Value(x, label=f"in{i}") for i, x in enumerate(xs)]
                    if constant_last:
                        leaves[-1].requires_grad = False
                    try:
                        y = domain.apply(leaves, arg)
                        out = y * y + leaves[0] * y if through_expression else y
                    except (ArithmeticError, ValueError):
                        continue  # no graph to differentiate
                    if out.grad is None:
                        continue
                    wanted = [x for x in leaves if x.requires_grad]

                    def replay(out=out, wanted=wanted, seed=seed):
                        p = backward_pass(out, seed=seed)
                        return [float.hex(p.grad(x)) for x in wanted]

                    def run(out=out, wanted=wanted, seed=seed):
                        out.backward(seed)
                        return [float.hex(x.grad) for x in wanted]

                    expected = _outcome(replay)
                    assert _outcome(run) == expected, (name, xs, arg, seed, constant_last,
                                                       through_expression)
                    checked += 1
    assert checked > 0


def _expression(domain: Domain, arg, xs: list):
    """A small expression around the op (its result used twice, its first input twice), as a
    function of the inputs finite differences can nudge, and the function whose finite
    differences its gradient must match: itself, or for a frozen op the same expression with
    the op's result held at its number."""
    point, fixed = xs[:len(xs) - domain.discrete], xs[len(xs) - domain.discrete:]

    def f(*leaves):
        y = domain.apply([*leaves, *(Value(x, requires_grad=False) for x in fixed)], arg)
        return y * y + leaves[0] * y
    if not domain.frozen:
        return point, f, f
    held = domain.apply([Value(x) for x in xs], arg).data
    return point, f, lambda *leaves: held * held + leaves[0] * held


@pytest.mark.parametrize("name", ALL_OPS)
def test_backward_through_an_expression_matches_finite_differences(name):
    domain = _domain(name)
    for xs, arg in _samples(name, 25):
        point, f, reference = _expression(domain, arg, xs)
        report = gradcheck(reference, point, eps=1e-6, atol=1e-6, rtol=1e-6)
        assert report.ok, f"{name} at {xs}, arg {arg}:\n{report}"
        # backward() must give the same numbers as grad(), which gradcheck used.
        leaves = [Value(x) for x in point]
        f(*leaves).backward()
        for leaf, row in zip(leaves, report.rows):
            assert leaf.grad == pytest.approx(row.analytic, rel=1e-12, abs=1e-12)
            assert leaf.grad == pytest.approx(row.numeric, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("name", ALL_OPS)
def test_a_wrong_local_derivative_is_caught(name, monkeypatch):
    """The finite-difference check can fail: a corrupted op is caught, for every op."""
    domain = _domain(name)
    op = OPS[name]

    def wrong(xs, out, arg):
        return tuple(1.5 * g + 0.25 for g in op.local_grads(xs, out, arg))

    monkeypatch.setitem(OPS, name, dataclasses.replace(op, local_grads=wrong))
    xs, arg = domain.sample(random.Random(f"wrong-{name}"))
    count = len(xs) - domain.discrete  # a discrete input is held: it cannot be nudged
    leaves = [Value(x, label=f"in{i}") for i, x in enumerate(xs[:count])]
    fixed = [Value(x, requires_grad=False) for x in xs[count:]]
    if domain.frozen:  # the right gradient is 0 (the result held fixed), not the forward's
        domain.apply(leaves, arg).backward()
        assert all(leaf.grad != 0.0 for leaf in leaves)
        return
    report = gradcheck(lambda *v: domain.apply([*v, *fixed], arg), leaves)
    assert not report.ok
    assert [row.label for row in report.failures] == [leaf.label for leaf in leaves]
    assert "in0" in str(report)


# ---- finite inputs never give NaN or complex numbers ------------------------------------------

_SPECIAL = (0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -8.0, 1e-308, -1e-308, 5e-324,
            1e308, -1e308, 709.0, 710.0, -745.0, 1e-8, 1000.0, -1000.0, 1 / 3)


def _wild(rng: random.Random) -> float:
    """Any finite float: special values, ordinary ones, tiny and huge magnitudes."""
    kind = rng.random()
    if kind < 0.3:
        return rng.choice(_SPECIAL)
    if kind < 0.7:
        return rng.uniform(-5.0, 5.0)
    return rng.choice((-1.0, 1.0)) * 10.0 ** rng.uniform(-320.0, 308.0)


def _wild_inputs(name: str, rng: random.Random):
    op = OPS[name]
    if name == "pow":
        return [_wild(rng)], rng.choice((0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1 / 3, -0.5,
                                         _wild(rng)))
    if name == "leaky_relu":
        return [_wild(rng)], rng.uniform(0.0, 1.0)
    count = rng.randint(2, 5) if op.arity == 0 else op.arity
    return [_wild(rng) for _ in range(count)], None


def _assert_names_the_op(name: str, count: int, error: Exception) -> None:
    message = str(error)
    assert written(OPS[name], count) in message, f"{message!r} does not name the op {name}"
    if name != written(OPS[name], count):  # the table's identifier is not what was typed
        assert not re.search(rf"\b{name}\b", message), f"{message!r} names the op {name!r}"


@pytest.mark.parametrize("name", ALL_OPS)
def test_finite_inputs_never_give_nan_or_complex(name):
    domain = _domain(name)
    rng = random.Random(f"wild-{name}")
    for _ in range(400):
        xs, arg = _wild_inputs(name, rng)
        leaves = [Value(x, label=f"in{i}") for i, x in enumerate(xs)]
        try:
            out = domain.apply(leaves, arg)
        except (ArithmeticError, ValueError) as error:
            _assert_names_the_op(name, len(xs), error)
            continue
        assert type(out.data) is float, f"{name} at {xs}, {arg} gave {out.data!r}"
        assert not math.isnan(out.data), f"{name} at {xs}, arg {arg} gave NaN silently"
        try:
            out.backward()
        except (ArithmeticError, ValueError) as error:
            _assert_names_the_op(name, len(xs), error)
            continue
        for leaf in leaves:
            assert type(leaf.grad) is float, f"{name} at {xs}, {arg}: grad {leaf.grad!r}"
            assert not math.isnan(leaf.grad), (
                f"{name} at {xs}, arg {arg}: NaN gradient {[v.grad for v in leaves]}")


# ---- the table's other columns: arrays, PyTorch, notation, NaN ---------------------------------

@pytest.mark.parametrize("name", ALL_OPS)
def test_array_versions_give_the_scalar_numbers(name):
    """microgrant.compile replays graphs with these; they must be the scalar op, elementwise."""
    _domain(name)
    op = OPS[name]
    for xs, arg in _samples(name, 20):
        out = _forward(op, xs, arg)
        columns = tuple(np.array([x, x]) for x in xs)
        array_out = op.array_forward(columns, arg)
        assert np.allclose(array_out, out, rtol=1e-15, atol=0), (name, xs, arg)
        array_local = op.array_local_grads(columns, np.array([out, out]), arg)
        for d, a in zip(_table_local_grads(op, xs, out, arg), array_local):
            assert np.allclose(np.broadcast_to(a, (2,)), d, rtol=1e-15, atol=0), (name, xs)


_EDGES = (-0.0, 0.0, -1.5, 2.5, math.nan, -math.nan, math.inf, -math.inf, 5e-324, -5e-324)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "abs", "step"])
def test_kinked_array_versions_give_the_scalar_bits_at_zeros_nans_and_infinities(name):
    """The kinks are where a faster kernel (max, a comparison) can differ from the scalar
    op: in the sign of a zero or a NaN, which a compiled step must not change."""
    op = OPS[name]
    arg = 0.01 if name == "leaky_relu" else None
    column = np.array(_EDGES)
    out = np.asarray(op.array_forward((column,), arg), dtype=np.float64)
    want = np.array([op.forward((x,), arg) for x in _EDGES])
    assert out.view(np.int64).tolist() == want.view(np.int64).tolist()
    if op.array_local_grads is None:
        return
    local = np.broadcast_to(op.array_local_grads((column,), out, arg)[0], column.shape)
    want = np.array([op.local_grads((x,), y, arg)[0] for x, y in zip(_EDGES, want)])
    assert local.view(np.int64).tolist() == want.view(np.int64).tolist()


@pytest.mark.parametrize("name", ALL_OPS)
def test_the_pytorch_counterpart_gives_the_same_number(name):
    torch = pytest.importorskip("torch")
    _domain(name)
    op = OPS[name]
    for xs, arg in _samples(name, 10):
        tensors = tuple(torch.tensor(x, dtype=torch.float64) for x in xs)
        assert op.torch(torch, tensors, arg).item() == pytest.approx(_forward(op, xs, arg),
                                                                    rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("name", ALL_OPS)
def test_every_op_can_be_written_as_an_equation(name):
    _domain(name)
    op = OPS[name]
    names = list(op.input_names(3 if op.arity == 0 else op.arity))
    text = op.write(names, "7")
    assert all(n in text for n in names), text
    assert ("7" in text) == bool(op.arg_name), text


@pytest.mark.parametrize("name", ALL_OPS)
def test_an_op_is_written_in_messages_as_python_spells_it(name):
    _domain(name)
    op = OPS[name]
    text = written(op, 3 if op.arity == 0 else op.arity)
    if op.method or op.arity == 0:
        assert text == (op.method or name)  # called by that name: x.log(), Value.sum(...)
    else:  # an operator: the expression as typed, over the names the message's numbers use
        ast.parse(text, mode="eval")
        assert not re.search(rf"\b{name}\b", text) and not set(text) & set("×÷−^"), text
        assert all(n in text for n in op.input_names(op.arity)), text


@pytest.mark.parametrize("make, error, message", [
    (lambda: Value(-2.0, label="a") ** Value(0.5), ValueError,
     "a ** b cannot be computed at a = -2.0 ('a'), b = 0.5: it needs a != 0 when b < 0, "
     "and a >= 0 when b is not a whole number"),
    (lambda: Value(-8.0) ** 0.5, ValueError, "x ** n cannot be computed at x = -8.0, n = 0.5"),
    (lambda: Value(2.0) / 0, ZeroDivisionError, "a / b cannot be computed at a = 2.0, b = 0.0"),
    (lambda: 2 ** Value(5000.0), OverflowError, "a ** b overflowed at a = 2.0, b = 5000.0"),
    (lambda: (Value(0.0) ** Value(0.5)).backward(), ValueError,
     "the local derivative of a ** b is undefined at a = 0.0, b = 0.5"),
    (lambda: (Value(0.0) ** 0.5).backward(), ValueError,
     "the local derivative of x ** n is undefined at x = 0.0, n = 0.5"),
    (lambda: Value(-1.0, label="a").log(), ValueError,
     "log cannot be computed at x = -1.0 ('a'): it needs x > 0"),
], ids=["vpow", "pow", "div", "vpow-overflow", "vpow-grad", "pow-grad", "log"])
def test_an_error_names_the_op_as_the_learner_wrote_it(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert str(info.value).startswith(message), str(info.value)
    assert not re.search(r"\b(vpow|pow|div)\b", str(info.value)), str(info.value)


@pytest.mark.parametrize("method, expected_grad", [("relu", 1.0), ("abs", 0.0),
                                                   ("leaky_relu", 0.01), ("tanh", None),
                                                   ("sigmoid", None), ("exp", None)])
def test_nan_stays_nan_with_pytorch_derivatives(method, expected_grad):
    x = Value(float("nan"))
    y = getattr(x, method)()
    assert math.isnan(y.data)
    y.backward()
    if expected_grad is None:
        assert math.isnan(x.grad)
    else:
        assert x.grad == expected_grad


def test_step_of_nan_is_nan_not_a_firing_neuron():
    assert math.isnan(Value(float("nan")).step().data)


def test_a_diverged_input_reaches_the_output_of_a_relu_net():
    from microgrant.nn import MLP
    model = MLP(2, [4, 1], seed=0)
    assert math.isnan(model([float("nan"), 1.0]).data)


def test_a_result_that_is_not_a_number_is_named_as_the_learner_wrote_the_op():
    a, b = Value(-8.0, label="a"), Value(0.5)
    message = str(result_error(OPS["vpow"], (a, b), complex(0.0, 2.8)))
    assert message.startswith("a ** b gave complex") and "a = -8.0 ('a'), b = 0.5" in message


# ---- pick and stop_gradient: an index that selects, a result that takes no gradient ------------

@pytest.mark.parametrize("index, why", [
    (1.5, "the index 1.5 is not a whole number from 0 to 2"),
    (3.0, "the index 3.0 is not a whole number from 0 to 2"),
    (-1.0, "the index -1.0 is not a whole number from 0 to 2"),
    (math.nan, "the index nan is not a whole number from 0 to 2"),
    (math.inf, "the index inf is not a whole number from 0 to 2"),
])
def test_pick_refuses_an_index_that_is_no_whole_number_in_range(index, why):
    values = [Value(1.0), Value(2.0), Value(3.0)]
    with pytest.raises(ValueError) as info:
        Value.pick(values, Value(index, label="y"))
    message = str(info.value)
    assert message.startswith("pick cannot be computed at x1 = 1.0, x2 = 2.0, x3 = 3.0, x4 = ")
    assert "('y'): it needs its last input, the index, to be a whole number" in message
    assert why in message
    with pytest.raises(ValueError, match="there is no value to pick from"):
        Value.pick([], 0)


def test_pick_takes_an_int_index_and_passes_the_gradient_to_the_picked_value_only():
    values = [Value(1.0), Value(-2.0), Value(3.0)]
    index = Value(2.0)
    out = Value.pick(values, 1) * Value.pick(values, index)
    out.backward()
    assert out.data == -6.0
    assert [v.grad for v in values] == [0.0, 3.0, -2.0] and index.grad == 0.0
    assert OPS["pick"].write(["z1", "z2", "z3", "y"]) == "[z1, z2, z3][y]"


def test_a_pick_whose_index_changed_after_the_forward_fails_before_any_grad_is_added():
    values = [Value(1.0), Value(2.0)]
    index = Value(1.0, label="y")
    out = Value.pick(values, index) * 3.0
    index.data = 2.0  # no value 2 among two
    with pytest.raises(ValueError, match=r"local derivative of pick is undefined at .*\('y'\)"):
        out.backward()
    assert [v.grad for v in values] == [0.0, 0.0]


def test_pick_array_kernel_picks_exact_numbers_and_gives_nan_for_an_invalid_index():
    # Forty values (beyond np.choose's 32): each column picks the row its index names.
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(40, 6))
    index = np.array([0.0, 39.0, 17.0, 2.5, 40.0, math.nan])
    op = OPS["pick"]
    out = op.array_forward((*rows, index), None)
    assert out[:3].tolist() == [rows[0, 0], rows[39, 1], rows[17, 2]]
    assert np.isnan(out[3:]).all()  # never another row's number: compile then runs eagerly
    local = op.array_local_grads((*rows, index), out, None)
    assert [d[1] for d in local] == [0.0] * 39 + [1.0, 0.0]


def test_stop_gradient_is_the_identity_to_the_bit_and_detach_inside_the_graph():
    for x in (-0.0, 0.0, 1.5, math.inf, -math.inf):
        assert float.hex(Value(x).stop_gradient().data) == float.hex(x)
        column = np.array([x])
        assert float.hex(OPS["stop_gradient"].array_forward((column,), None)[0]) == float.hex(x)
    assert math.isnan(Value(math.nan).stop_gradient().data)
    x, y = Value(3.0), Value(3.0)
    inside = x.stop_gradient()
    (x * inside + inside).backward()
    (y * y.detach() + y.detach()).backward()
    assert x.grad == y.grad == 3.0
    assert inside.inputs == (x,)  # kept in the graph, where detach makes a new leaf


def test_pytorch_check_agrees_through_pick_and_stop_gradient():
    pytest.importorskip("torch")
    z = [Value(2.0, label="z1"), Value(1.0, label="z2"), Value(0.1, label="z3")]
    s, t = Value(0.25, label="s"), Value(0.0, label="t")
    for root in (cross_entropy(z, Value(2.0, label="y")), hinge_loss(s, 2 * t - 1)):
        report = check(root)
        assert report, str(report)
