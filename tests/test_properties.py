"""Algebraic identities that gradients must satisfy, for any inputs hypothesis can find.

Sum and product rules, gradients of expressions that are identically constant (x - x, x / x),
linearity, the product, quotient and chain rules, inverse functions, and the agreement of
``backward`` with ``grad``: each stated as a property of arbitrary real inputs, not of a few
hand-picked points.
"""

import math

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from microgrant import Value, grad

# Few examples each, so the file runs in seconds; no deadline, as timings vary on CI.
fast = settings(max_examples=60, deadline=None)

reals = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False, allow_infinity=False)
nonzero = reals.filter(lambda x: abs(x) > 1e-3)
positive = st.floats(min_value=1e-3, max_value=50.0)

# Smooth functions of one Value, with their derivatives written by hand.
FUNCTIONS = {
    "square": (lambda x: x * x, lambda p: 2 * p),
    "cube": (lambda x: x ** 3, lambda p: 3 * p * p),
    "tanh": (lambda x: x.tanh(), lambda p: 1 - math.tanh(p) ** 2),
    "sigmoid": (lambda x: x.sigmoid(),
                lambda p: math.exp(-abs(p)) / (1 + math.exp(-abs(p))) ** 2),
    "half_exp": (lambda x: (x * 0.5).exp(), lambda p: 0.5 * math.exp(0.5 * p)),
    "x_abs_x": (lambda x: x.abs() * x, lambda p: 2 * abs(p)),
    "softplus": (lambda x: (x.exp() + 1).log(), lambda p: 1 / (1 + math.exp(-p))),
}
names = st.sampled_from(sorted(FUNCTIONS))

close = dict(rel=1e-11, abs=1e-11)


@fast
@given(reals, reals)
def test_sum_rule(a, b):
    x, y = Value(a), Value(b)
    assert grad(x + y, [x, y]) == [1.0, 1.0]
    assert grad(x - y, [x, y]) == [1.0, -1.0]


@fast
@given(reals, reals)
def test_product_of_two_leaves(a, b):
    x, y = Value(a), Value(b)
    assert grad(x * y, [x, y]) == [b, a]


@fast
@given(reals)
def test_x_minus_x_has_gradient_zero(a):
    x = Value(a)
    assert grad(x - x, [x]) == [0.0]
    (x - x).backward()
    assert x.grad == 0.0


@fast
@given(nonzero)
def test_x_over_x_has_gradient_zero(a):
    x = Value(a)
    # 1/x - x/x^2 with x/x == 1 exactly: the two contributions cancel exactly.
    assert grad(x / x, [x]) == [0.0]


@fast
@given(names, names, reals, reals)
def test_linearity(f_name, g_name, p, c):
    f, g = FUNCTIONS[f_name][0], FUNCTIONS[g_name][0]
    x = Value(p)
    (df,), (dg,) = grad(f(x), [x]), grad(g(x), [x])
    (dsum,) = grad(f(x) + g(x), [x])
    (dscaled,) = grad(c * f(x) - g(x), [x])
    assert dsum == pytest.approx(df + dg, **close)
    assert dscaled == pytest.approx(c * df - dg, **close)


@fast
@given(names, reals)
def test_each_function_matches_its_hand_derivative(f_name, p):
    f, df = FUNCTIONS[f_name]
    x = Value(p)
    assert grad(f(x), [x])[0] == pytest.approx(df(p), **close)


@fast
@given(names, names, reals)
def test_product_rule(f_name, g_name, p):
    (f, df), (g, dg) = FUNCTIONS[f_name], FUNCTIONS[g_name]
    x = Value(p)
    fx, gx = f(x), g(x)
    assert grad(fx * gx, [x])[0] == pytest.approx(df(p) * gx.data + fx.data * dg(p), **close)


@fast
@given(names, names, reals)
def test_quotient_rule(f_name, g_name, p):
    (f, df), (g, dg) = FUNCTIONS[f_name], FUNCTIONS[g_name]
    x = Value(p)
    fx, gx = f(x), g(x)
    assume(abs(gx.data) > 1e-2)
    expected = (df(p) * gx.data - fx.data * dg(p)) / gx.data ** 2
    assert grad(fx / gx, [x])[0] == pytest.approx(expected, rel=1e-10, abs=1e-10)


@fast
@given(reals, reals)
def test_chain_rule_through_tanh_of_a_product(a, b):
    x, y = Value(a), Value(b)
    t = math.tanh(a * b)
    da, db = grad((x * y).tanh(), [x, y])
    assert da == pytest.approx((1 - t * t) * b, **close)
    assert db == pytest.approx((1 - t * t) * a, **close)


@fast
@given(names, names, reals)
def test_chain_rule_for_a_composition(f_name, g_name, p):
    (f, df), (g, dg) = FUNCTIONS[f_name], FUNCTIONS[g_name]
    x = Value(p)
    inner = g(x)
    assume(abs(inner.data) < 50)
    assert grad(f(inner), [x])[0] == pytest.approx(df(inner.data) * dg(p), **close)


@fast
@given(positive)
def test_inverse_functions_have_gradient_one(p):
    x = Value(p)
    assert grad(x.log().exp(), [x])[0] == pytest.approx(1.0, rel=1e-12)
    assert grad(x.sqrt() ** 2, [x])[0] == pytest.approx(1.0, rel=1e-12)
    assert grad((x * x).sqrt(), [x])[0] == pytest.approx(1.0, rel=1e-12)


@fast
@given(nonzero, st.integers(min_value=-4, max_value=5))
def test_power_rule(p, n):
    x = Value(p)
    expected = 0.0 if n == 0 else n * p ** (n - 1)
    assert grad(x ** n, [x])[0] == pytest.approx(expected, rel=1e-12, abs=1e-300)


@fast
@given(st.lists(reals, min_size=1, max_size=30))
def test_value_sum_equals_chained_additions(points):
    xs = [Value(p) for p in points]
    s = Value.sum(xs)
    chained = xs[0]
    for x in xs[1:]:
        chained = chained + x
    assert s.data == pytest.approx(chained.data, rel=1e-12, abs=1e-12)
    assert grad(s * s, xs) == pytest.approx(grad(chained * chained, xs), rel=1e-12, abs=1e-12)


@fast
@given(reals, reals, reals)
@example(4.0, 0.984375, 0.0)  # x's three contributions cancel: 2 * grad is off in the last bits
def test_backward_equals_grad_and_a_second_call_adds_the_same_contributions_again(a, b, c):
    x, y, z = Value(a), Value(b), Value(c)

    def f():
        u = x * y + z
        return u.tanh() * (u - x).sigmoid() + (y * z).relu()

    out = f()
    leaves = [x, y, z]
    expected = grad(out, leaves)
    out.backward()
    assert [v.grad for v in leaves] == pytest.approx(expected, rel=1e-15, abs=0)
    first = [v.grad for v in leaves]
    out.backward()
    # The second call adds each leaf's contributions once more, in the same order: exactly
    # what a fresh graph gives whose leaves start at the first call's grads.  (Twice the first
    # grad holds only up to rounding relative to the contributions, which may cancel: x gets
    # three.)  A second call that counted interior nodes again would differ.
    x, y, z = fresh = [Value(a), Value(b), Value(c)]
    for leaf, g in zip(fresh, first):
        leaf.grad = g
    f().backward()
    assert [v.grad for v in leaves] == [v.grad for v in fresh]


@fast
@given(reals, reals)
def test_second_mixed_derivatives_are_symmetric(a, b):
    x, y = Value(a), Value(b)
    f = (x * y).tanh() + x * x * y
    fx, fy = grad(f, [x, y], create_graph=True)
    assert grad(fx, [y])[0] == pytest.approx(grad(fy, [x])[0], rel=1e-12, abs=1e-12)
