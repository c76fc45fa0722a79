"""`grad`: gradients as return values, and higher derivatives through ``create_graph=True``.

Proves that ``grad`` returns the same numbers as ``backward`` without touching any ``.grad``,
gives 0 for an input the output does not depend on, and that with ``create_graph=True`` the
gradients are Values which differentiate again to the closed-form second (and third)
derivatives: x^3, tanh, sigmoid, exp, log, a two-variable Hessian, and, for every op in the
op table, finite differences of the first derivative.
"""

import math
import random

import pytest
from test_ops import ALL_OPS, DOMAINS

from microgrant import Value, grad, no_grad
from microgrant.engine import OPS


def _second(f, point: float) -> tuple[float, float, Value]:
    """(f'(x), f''(x), f'(x) as a Value) at ``point``, through create_graph."""
    x = Value(point)
    (d1,) = grad(f(x), [x], create_graph=True)
    assert isinstance(d1, Value)
    (d2,) = grad(d1, [x])
    return d1.data, d2, d1


POINTS = [-2.1, -0.7, -0.1, 0.3, 1.2, 2.5]


@pytest.mark.parametrize("p", POINTS)
def test_cube(p):
    d1, d2, _ = _second(lambda x: x ** 3, p)
    assert d1 == pytest.approx(3 * p * p, rel=1e-14)
    assert d2 == pytest.approx(6 * p, rel=1e-14)


@pytest.mark.parametrize("p", POINTS)
def test_cube_written_as_products(p):
    d1, d2, _ = _second(lambda x: x * x * x, p)
    assert d1 == pytest.approx(3 * p * p, rel=1e-14)
    assert d2 == pytest.approx(6 * p, rel=1e-14)


@pytest.mark.parametrize("p", POINTS)
def test_tanh(p):
    t = math.tanh(p)
    d1, d2, _ = _second(lambda x: x.tanh(), p)
    assert d1 == pytest.approx(1 - t * t, rel=1e-14)
    assert d2 == pytest.approx(-2 * t * (1 - t * t), rel=1e-12)


@pytest.mark.parametrize("p", POINTS)
def test_sigmoid(p):
    s = 1 / (1 + math.exp(-p))
    d1, d2, _ = _second(lambda x: x.sigmoid(), p)
    assert d1 == pytest.approx(s * (1 - s), rel=1e-14)
    assert d2 == pytest.approx(s * (1 - s) * (1 - 2 * s), rel=1e-12)


@pytest.mark.parametrize("p", POINTS)
def test_exp(p):
    d1, d2, _ = _second(lambda x: x.exp(), p)
    assert d1 == pytest.approx(math.exp(p), rel=1e-15)
    assert d2 == pytest.approx(math.exp(p), rel=1e-15)


@pytest.mark.parametrize("p", [0.1, 0.5, 1.0, 3.0])
def test_log(p):
    d1, d2, _ = _second(lambda x: x.log(), p)
    assert d1 == pytest.approx(1 / p, rel=1e-15)
    assert d2 == pytest.approx(-1 / p ** 2, rel=1e-14)


def test_third_derivative_of_x_to_the_fourth():
    for p in POINTS:
        x = Value(p)
        (d1,) = grad(x ** 4, [x], create_graph=True)
        (d2,) = grad(d1, [x], create_graph=True)
        (d3,) = grad(d2, [x])
        assert (d1.data, d2.data, d3) == pytest.approx((4 * p ** 3, 12 * p ** 2, 24 * p),
                                                       rel=1e-13)


def test_hessian_of_a_two_variable_function():
    # f = x^2 y + e^(xy)
    px, py = 0.6, -1.3
    x, y = Value(px), Value(py)
    f = x * x * y + (x * y).exp()
    fx, fy = grad(f, [x, y], create_graph=True)
    e = math.exp(px * py)
    assert fx.data == pytest.approx(2 * px * py + py * e, rel=1e-14)
    assert fy.data == pytest.approx(px * px + px * e, rel=1e-14)
    fxx, fxy = grad(fx, [x, y])
    fyx, fyy = grad(fy, [x, y])
    assert fxx == pytest.approx(2 * py + py * py * e, rel=1e-13)
    assert fxy == pytest.approx(2 * px + e + px * py * e, rel=1e-13)
    assert fyx == pytest.approx(fxy, rel=1e-13)
    assert fyy == pytest.approx(px * px * e, rel=1e-13)


def test_a_value_exponent_differentiates_twice():
    # f = a^b: f_ab = a^(b-1) (1 + b ln a)
    pa, pb = 1.7, 2.3
    a, b = Value(pa), Value(pb)
    fa, fb = grad(a ** b, [a, b], create_graph=True)
    assert grad(fa, [b])[0] == pytest.approx(pa ** (pb - 1) * (1 + pb * math.log(pa)),
                                             rel=1e-13)
    assert grad(fb, [a])[0] == pytest.approx(pa ** (pb - 1) * (1 + pb * math.log(pa)),
                                             rel=1e-13)
    assert grad(fb, [b])[0] == pytest.approx(pa ** pb * math.log(pa) ** 2, rel=1e-13)


def test_the_gradient_is_a_real_graph():
    x = Value(2.0, label="x")
    (d1,) = grad(x.tanh() * x, [x], create_graph=True)
    assert d1.op != "" and d1.inputs
    d1.backward()  # a gradient can itself be backpropagated
    assert x.grad == pytest.approx(grad(grad(x.tanh() * x, [x], create_graph=True)[0], [x])[0])


def test_an_input_the_output_does_not_depend_on_gets_zero():
    x, y, z = Value(1.0), Value(2.0), Value(3.0)
    assert grad(x * y, [x, z, y]) == [2.0, 0.0, 1.0]
    d = grad(x * y, [z], create_graph=True)[0]
    assert isinstance(d, Value) and d.data == 0.0
    (d1,) = grad(x * 3, [x], create_graph=True)  # a constant first derivative
    assert d1.data == 3.0
    assert grad(d1, [x]) == [0.0]


def test_grad_of_a_leaf_and_of_a_repeated_input():
    x = Value(1.5)
    assert grad(x, [x]) == [1.0]
    assert grad(x * x, [x, x]) == [3.0, 3.0]


def test_grad_agrees_with_backward_and_touches_no_grad():
    a, b = Value(0.4), Value(-1.1)
    mid = a * b
    out = mid.tanh() + a.exp() * b
    a.grad, b.grad, mid.grad = 7.0, 8.0, 9.0
    floats = grad(out, [a, b])
    values = grad(out, [a, b], create_graph=True)
    assert (a.grad, b.grad, mid.grad, out.grad) == (7.0, 8.0, 9.0, 0.0)
    a.grad = b.grad = 0.0
    out.backward()
    assert floats == pytest.approx([a.grad, b.grad], rel=1e-15)
    assert [v.data for v in values] == pytest.approx(floats, rel=1e-15)


def test_grad_rejects_non_values_and_no_grad_with_create_graph():
    x = Value(1.0)
    with pytest.raises(TypeError, match="float"):
        grad(2.0, [x])
    with pytest.raises(TypeError, match="int"):
        grad(x * x, [1])
    y = x * x
    with no_grad():
        assert grad(y, [x]) == [2.0]
        with pytest.raises(RuntimeError, match="no_grad"):
            grad(y, [x], create_graph=True)


def test_grad_through_a_300_000_node_chain():
    x = Value(0.5)
    y = x
    for _ in range(300_000):
        y = y + 0.5
    assert grad(y, [x]) == [1.0]


@pytest.mark.parametrize("name", ALL_OPS)
def test_second_derivatives_of_every_op_match_finite_differences(name):
    """d/dx_j of (d out/dx_i from create_graph) against central differences of d out/dx_i."""
    domain = DOMAINS[name]
    assert name in OPS
    rng = random.Random(f"second-{name}")
    h = 1e-6
    for _ in range(15):
        xs, arg = domain.sample(rng)

        def first(point, arg=arg):
            leaves = [Value(p) for p in point]
            return grad(domain.apply(leaves, arg), leaves)

        leaves = [Value(p) for p in xs]
        firsts = grad(domain.apply(leaves, arg), leaves, create_graph=True)
        for i, d in enumerate(firsts):
            seconds = grad(d, leaves)
            for j in range(len(xs) - domain.discrete):  # an index is not nudged
                up, down = list(xs), list(xs)
                up[j] += h
                down[j] -= h
                numeric = (first(up)[i] - first(down)[i]) / (2 * h)
                assert seconds[j] == pytest.approx(numeric, rel=1e-6, abs=1e-6), (
                    f"{name} at {xs}, arg {arg}: d2 out / d in{i} d in{j}")


def test_value_power_at_a_zero_base_differentiates_twice_as_once():
    # At a = 0 the exponent's partial is 0 (the limit from the right, as PyTorch); the same
    # rule must hold when the partials are built as Values for a second derivative.
    x, y = Value(0.0), Value(2.0)
    z = x ** y
    z.backward()
    first = [x.grad, y.grad]
    dx, dy = grad(x ** y, [x, y], create_graph=True)
    assert [dx.data, dy.data] == first == [0.0, 0.0]
    assert grad(dx, [x])[0] == 2.0  # d2/dx2 x^2 = 2


def test_a_list_of_outputs_is_refused_with_the_sum_to_write_instead():
    # The tape.gradient habit: grad([y1, y2], x).  It differentiates one Value; the message
    # says how to get the gradient of the sum, and that way works.
    x = Value(2.0, label="x")
    y1, y2 = x * x, x.exp()
    with pytest.raises(TypeError, match=r"grad\(Value\.sum\(\[y1, y2, \.\.\.\]\), x\)"):
        grad([y1, y2], x)
    with pytest.raises(TypeError, match="tuple of 2 Values"):
        grad((y1, y2), [x])
    (total,) = grad(Value.sum([y1, y2]), x)
    assert total == pytest.approx(2 * 2.0 + math.exp(2.0), rel=1e-15)
