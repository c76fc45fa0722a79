"""The engine's behaviour as a user meets it: graph structure, backward, constants, errors.

Proves that reused nodes get every contribution (``x * x``, diamonds), that a second
``backward()`` adds to the leaves exactly once more (as PyTorch), that graphs hundreds of
thousands of nodes deep backprop without recursion, that the kink conventions are PyTorch's,
that ``no_grad`` and constants record nothing, and that bad input is refused with an error
naming the op, its operands and their labels instead of a silent wrong (or complex) number.
"""

import linecache
import math
import random
import re
import signal
import sys

import numpy as np
import pytest

from microgrant import (
    Value,
    backward_pass,
    engine,
    is_grad_enabled,
    local_grads,
    no_grad,
    topological_order,
)

# ---- structure ----------------------------------------------------------------------------


def test_x_times_x_has_two_inputs_both_x_and_grad_2x():
    x = Value(3.0, label="x")
    y = x * x
    assert y.op == "mul"
    assert len(y.inputs) == 2
    assert y.inputs[0] is x and y.inputs[1] is x
    y.backward()
    assert x.grad == 6.0


def test_reused_sums_give_four():
    a = Value(-2.0)
    b = a + a
    c = b + b
    c.backward()
    assert c.data == -8.0
    assert a.grad == 4.0
    assert b.grad == 2.0


def test_second_backward_adds_to_leaves_once_more_as_pytorch():
    x = Value(3.0)
    xx = x * x
    y = xx * x
    y.backward()
    assert x.grad == 27.0  # 3x^2
    assert xx.grad == 3.0
    y.backward()
    assert x.grad == 54.0  # not 72: the interior node was reset, not accumulated
    assert xx.grad == 3.0
    assert y.grad == 1.0


def test_a_leaf_is_its_own_derivative():
    x = Value(5.0)
    x.backward()
    assert x.grad == 1.0
    x.backward()
    assert x.grad == 2.0


def test_diamond():
    a = Value(0.7)
    b = a * 2.0
    c = a.exp()
    d = b * c  # a reaches d along two paths
    d.backward()
    assert a.grad == pytest.approx(2.0 * math.exp(0.7) + 2.0 * 0.7 * math.exp(0.7), rel=1e-14)


def test_stacked_diamonds():
    x = Value(0.3)
    y, expected, data = x, 1.0, 0.3
    for _ in range(40):
        t, s = math.tanh(data), 1.0 / (1.0 + math.exp(-data))
        expected *= (1.0 - t * t) + s * (1.0 - s)
        data = t + s
        y = y.tanh() + y.sigmoid()
    assert y.data == pytest.approx(data, rel=1e-12)
    y.backward()
    assert x.grad == pytest.approx(expected, rel=1e-10)


def test_a_300_000_node_chain_backprops_without_recursion():
    n, c = 150_000, 1.000001
    x = Value(0.5)
    y = x
    for _ in range(n):
        y = y * c + 1.0  # two nodes per step: 300,000 op nodes in one chain
    assert len(topological_order(y)) == 2 * n
    y.backward()
    assert x.grad == pytest.approx(math.pow(c, n), rel=1e-9)


def test_builtin_sum_of_100_000_values_backprops():
    values = [Value(i * 0.001) for i in range(100_000)]
    total = sum(values)  # 0 + v0 + v1 + ...: a chain of 100,000 additions
    assert total.data == pytest.approx(math.fsum(v.data for v in values), rel=1e-12)
    total.backward()
    assert all(v.grad == 1.0 for v in values)


def test_value_sum_is_one_node():
    a, b = Value(1.0), Value(2.0)
    s = Value.sum([a, b, a, 3])
    assert s.op == "sum" and s.data == 7.0
    assert len(s.inputs) == 4 and s.inputs[0] is a and s.inputs[2] is a
    assert s.inputs[3].grad is None and s.inputs[3].data == 3.0
    (s * s).backward()
    assert a.grad == 2.0 * 7.0 * 2  # a appears twice
    assert b.grad == 2.0 * 7.0
    assert s.inputs[3].grad is None


def test_value_sum_of_a_generator_and_of_nothing():
    xs = [Value(float(i)) for i in range(5)]
    s = Value.sum(x * x for x in xs)
    s.backward()
    assert [x.grad for x in xs] == [0.0, 2.0, 4.0, 6.0, 8.0]
    empty = Value.sum([])
    assert empty.data == 0.0 and empty.grad is None


def test_value_sum_of_100_000_values():
    xs = [Value(1.0) for _ in range(100_000)]
    s = Value.sum(xs)
    s.backward()
    assert s.data == 100_000.0
    assert all(x.grad == 1.0 for x in xs)


# ---- kinks follow PyTorch -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["relu", "abs"])
def test_relu_and_abs_have_derivative_0_at_0(method):
    x = Value(0.0)
    getattr(x, method)().backward()
    assert x.grad == 0.0


@pytest.mark.parametrize("point", [-3.0, -1e-12, 0.0, 1e-12, 2.0])
def test_step_has_derivative_0_everywhere(point):
    x = Value(point)
    y = x.step() * 5.0 + x.step().exp()
    y.backward()
    assert x.grad == 0.0


def test_step_is_1_at_0():
    assert Value(0.0).step().data == 1.0
    assert Value(-1e-300).step().data == 0.0


@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu_has_derivative_slope_at_0(slope):
    x = Value(0.0)
    x.leaky_relu(slope).backward()
    assert x.grad == slope


def test_leaky_relu_default_slope():
    x = Value(-2.0)
    y = x.leaky_relu()
    y.backward()
    assert y.data == pytest.approx(-0.02) and x.grad == 0.01
    z = Value(2.0)
    z.leaky_relu().backward()
    assert z.grad == 1.0


def test_dunder_abs():
    x = Value(-1.5)
    y = abs(x)
    assert y.op == "abs" and y.data == 1.5


# ---- zero_grad, no_grad, constants -----------------------------------------------------------


def test_zero_grad_clears_the_whole_graph_but_not_constants():
    a, b = Value(2.0), Value(3.0)
    k = Value(4.0, requires_grad=False)
    mid = a * b
    out = mid * k + a
    out.backward()
    assert a.grad == 13.0 and b.grad == 8.0
    out.zero_grad()
    assert a.grad == 0.0 and b.grad == 0.0 and mid.grad == 0.0 and out.grad == 0.0
    assert k.grad is None
    out.backward()
    assert a.grad == 13.0


def test_no_grad_records_nothing():
    x = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = (x * x).exp() + 1
        s = Value.sum([x, x])
    assert is_grad_enabled()
    for v in (y, s):
        assert v.inputs == () and v.op == "" and v.grad is None and not v.requires_grad
    assert y.data == pytest.approx(math.exp(4.0) + 1)
    with pytest.raises(RuntimeError, match="constant"):
        y.backward()
    # Recording works again afterwards.
    z = x * x
    assert z.op == "mul" and z.inputs == (x, x)


def test_no_grad_restores_state_after_an_exception_and_nests():
    with pytest.raises(ValueError):
        with no_grad():
            Value(-1.0).log()
    assert is_grad_enabled()
    with no_grad():
        with no_grad():
            pass
        assert not is_grad_enabled()  # the inner block restores "disabled", not "enabled"
    assert is_grad_enabled()


def test_constants_get_no_gradient():
    x = Value(2.0)
    k = Value(5.0, requires_grad=False)
    assert k.grad is None and not k.requires_grad
    y = x * k + 3
    assert y.inputs[1].grad is None and y.inputs[1].data == 3.0 and y.inputs[1].op == ""
    y.backward()
    assert x.grad == 5.0
    assert k.grad is None
    assert y.inputs[1].grad is None


def test_an_expression_of_constants_is_a_constant():
    k = Value(5.0, requires_grad=False)
    y = k * 2 + k.exp()
    assert y.grad is None and y.inputs == ()


@pytest.mark.parametrize("make", [lambda: Value(1.0, requires_grad=False),
                                  lambda: Value(1.0, requires_grad=False) * 3])
def test_backward_on_a_constant_raises(make):
    with pytest.raises(RuntimeError, match="constant"):
        make().backward()


def test_requires_grad_can_be_switched_on_a_leaf_only():
    k = Value(2.0, requires_grad=False)
    k.requires_grad = True
    assert k.grad == 0.0
    (k * k).backward()
    assert k.grad == 4.0
    k.requires_grad = False
    assert k.grad is None
    y = Value(1.0) * 2
    with pytest.raises(ValueError, match="leaf"):
        y.requires_grad = False


# ---- powers -------------------------------------------------------------------------------


def test_power_with_a_constant_value_exponent_is_pow():
    x = Value(2.0)
    y = x ** Value(3.0, requires_grad=False)
    assert y.op == "pow" and y.arg == 3.0 and y.inputs == (x,)
    y.backward()
    assert x.grad == 12.0


def test_power_with_a_value_exponent():
    a, b = Value(2.0), Value(3.0)
    y = a ** b
    assert y.op == "vpow" and y.inputs == (a, b) and y.data == 8.0
    y.backward()
    assert a.grad == pytest.approx(12.0)
    assert b.grad == pytest.approx(8.0 * math.log(2.0))


def test_number_to_the_power_of_a_value():
    x = Value(3.0)
    y = 2 ** x
    assert y.op == "vpow" and y.data == 8.0
    assert y.inputs[0].data == 2.0 and y.inputs[0].grad is None and y.inputs[1] is x
    y.backward()
    assert x.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-15)


def test_x_to_the_zero_at_zero():
    x = Value(0.0)
    y = x ** 0
    y.backward()
    assert y.data == 1.0 and x.grad == 0.0


def test_zero_to_the_power_of_a_value_zero_is_like_x_to_the_zero():
    # a ** b at a = b = 0 is 1, and d/da = b * a^(b-1) is 0 at b = 0, exactly as for the
    # constant exponent x ** 0 above (and as PyTorch); d/db = a^b ln a is taken as 0 at a = 0.
    a, b = Value(0.0), Value(0.0)
    y = a ** b
    assert y.op == "vpow" and y.data == 1.0
    y.backward()
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_negative_base_with_whole_exponent():
    x = Value(-2.0)
    y = x ** 3
    y.backward()
    assert y.data == -8.0 and x.grad == 12.0


# ---- comparisons, hashing, numpy ------------------------------------------------------------


def test_comparisons_compare_data_and_record_nothing():
    a, b = Value(2.0), Value(3.0)
    assert a < b and a <= b and b > a and b >= a
    assert a < 2.5 and a <= 2.0 and a >= 2 and not a > 2
    assert 1 < a and 3 > a  # reflected through the other operand
    assert max([a, b]) is b and sorted([b, a]) == [a, b]
    assert a != Value(2.0)  # == is identity
    assert a == a


def test_values_are_dict_keys_by_identity():
    a, b = Value(1.0), Value(1.0)
    d = {a: "a", b: "b"}
    assert len(d) == 2 and d[a] == "a" and d[b] == "b"
    assert len({a, a, b}) == 2


def test_numpy_scalars_in_and_out():
    x = Value(2.0)
    for y in (np.float64(2.0) * x, x * np.float64(2.0), np.float32(2.0) * x,
              np.int64(2) * x):
        assert isinstance(y, Value)
        assert y.op == "mul" and y.data == 4.0 and type(y.data) is float
    y = np.float64(3.0) + x - np.int32(1)
    y.backward()
    assert y.data == 4.0 and x.grad == 1.0
    v = Value(np.int64(3))
    assert v.data == 3.0 and type(v.data) is float
    assert type(Value(np.float32(0.5)).data) is float
    assert Value(True).data == 1.0
    assert np.float64(x.data) == 2.0
    z = x ** np.float64(2.0)
    z.backward()
    assert type(x.grad) is float


def test_math_functions_refuse_a_value_instead_of_leaving_the_graph():
    # With a __float__, math.exp(x) * x would backprop to e instead of 2e, silently.
    x = Value(1.0)
    with pytest.raises(TypeError):
        math.exp(x)
    with pytest.raises(TypeError):
        float(x)


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, type_name", [("a", "str"), (None, "NoneType"), (1j, "complex"),
                                            ([1], "list"), ({1: 2}, "dict")])
def test_value_of_a_non_number_is_a_type_error_naming_the_type(bad, type_name):
    with pytest.raises(TypeError, match=type_name):
        Value(bad)


@pytest.mark.parametrize("combine", [lambda x: x + "a", lambda x: "a" + x, lambda x: x * "a",
                                     lambda x: x ** "a", lambda x: x / None])
def test_operating_with_a_non_number_is_a_type_error(combine):
    with pytest.raises(TypeError, match="str|NoneType"):
        combine(Value(1.0))


def test_a_value_of_a_value_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="Value"):
        Value(Value(1.0))


_BAD = [
    (lambda v: v.log(), 0.0, ValueError, "log", ["0.0"]),
    (lambda v: v.log(), -1.0, ValueError, "log", ["-1.0"]),
    (lambda v: v.sqrt(), -4.0, ValueError, "sqrt", ["-4.0"]),
    (lambda v: v ** -1, 0.0, ValueError, "x ** n", ["0.0", "-1"]),
    (lambda v: v ** (1 / 3), -8.0, ValueError, "x ** n", ["-8.0", "0.333"]),
    (lambda v: v / 0, 2.0, ZeroDivisionError, "div", ["2.0", "0"]),
    (lambda v: v / Value(0.0), -3.0, ZeroDivisionError, "div", ["-3.0", "0.0"]),
    (lambda v: v.exp(), 1000.0, OverflowError, "exp", ["1000.0"]),
    (lambda v: 2 ** v, 5000.0, OverflowError, "a ** b", ["2", "5000.0"]),
    (lambda v: v ** Value(-1.0), 0.0, ValueError, "a ** b", ["0.0", "-1.0"]),
    (lambda v: v ** Value(0.5), -8.0, ValueError, "a ** b", ["-8.0", "0.5"]),
]


@pytest.mark.parametrize("make, point, error, op, shown", _BAD)
def test_domain_errors_name_the_op_operands_and_label(make, point, error, op, shown):
    x = Value(point, label="my_input")
    with pytest.raises(error) as info:
        make(x)
    message = str(info.value)
    assert op in message
    for text in shown:
        assert text in message, f"{text!r} missing from {message!r}"
    assert "my_input" in message


@pytest.mark.parametrize("make, point, error, op, shown", _BAD)
def test_domain_errors_are_raised_inside_no_grad_too(make, point, error, op, shown):
    with no_grad():
        with pytest.raises(error, match=re.escape(op)):
            make(Value(point))


def test_a_failed_op_changes_nothing():
    x = Value(-1.0, label="x")
    with pytest.raises(ValueError):
        x.log()
    assert x.data == -1.0 and x.grad == 0.0 and x.inputs == ()


def test_an_undefined_local_derivative_raises_in_backward_naming_the_op():
    x = Value(0.0, label="root_in")
    y = x.sqrt()  # sqrt(0) = 0 is fine, its derivative 1 / (2 sqrt(0)) is not
    assert y.data == 0.0
    with pytest.raises(ValueError) as info:
        y.backward()
    assert "sqrt" in str(info.value) and "0.0" in str(info.value)


def test_a_failed_backward_leaves_the_gradients_as_they_were():
    # The mul node passes its gradient to x before the sqrt node finds its derivative
    # undefined; a failed backward must not leave x with half of a gradient.
    x = Value(0.0, label="x")
    y = x * 2 + x.sqrt()
    with pytest.raises(ValueError, match="sqrt"):
        y.backward()
    assert x.grad == 0.0


def _tanh_ladder(n: int):
    x = Value(0.5, label="x")
    y = x
    for _ in range(n):
        y = (y * x).tanh() + y
    return x, y


# The functions a backward runs through: the walk, the reset of interior grads, the loop.
_BACKWARD = {"topological_order", "backward", "_backward_loop"}


def test_ctrl_c_at_any_line_of_backward_leaves_numbers_in_every_grad():
    # Interrupted at each line backward runs in turn, every grad must hold a number, and the
    # next backward (the leaves zeroed) must be right: nothing stays locked or half-marked.
    expected_x, expected_y = _tanh_ladder(5)
    expected_y.backward()
    stop = 0
    while True:
        stop += 1
        x, y = _tanh_ladder(5)
        lines = 0

        def interrupt(frame, event, _, stop=stop):
            nonlocal lines
            # Not at the `with` line of backward's lock: a trace can raise there between
            # taking the lock and entering the block (or before leaving it); Ctrl-C cannot,
            # as the lock is taken and released by single C calls.
            if (frame.f_code.co_name in _BACKWARD and event == "line" and "GRADS_LOCK"
                    not in linecache.getline(frame.f_code.co_filename, frame.f_lineno)):
                lines += 1
                if lines == stop:
                    raise KeyboardInterrupt
            return interrupt

        sys.settrace(interrupt)
        try:
            y.backward()
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
        if lines < stop:  # backward ran to its end: every point has been tried
            break
        assert type(x.grad) is float, stop
        assert all(type(node.grad) is float for node in topological_order(y)), stop
        x.grad = 0.0
        y.backward()
        assert x.grad == expected_x.grad, stop
    assert stop > 100


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_a_real_interrupt_in_backward_leaves_numbers_in_every_grad():
    # A signal raises where the interpreter checks for one (loop back edges among them), not
    # only at a line: a timer whose handler raises KeyboardInterrupt, as Python's SIGINT
    # handler does, but only once it lands inside backward.
    landed = 0
    armed = False  # only while backward runs: a late signal must not re-arm the timer

    def handler(signum, frame):
        nonlocal landed
        if not armed:
            return
        if frame.f_code.co_name in _BACKWARD:
            landed += 1
            raise KeyboardInterrupt
        signal.setitimer(signal.ITIMER_REAL, 0.0002)  # not in backward yet: again shortly

    previous = signal.signal(signal.SIGALRM, handler)
    rng = random.Random(0)
    try:
        for _ in range(200):
            x, y = _tanh_ladder(2000)
            armed = True
            signal.setitimer(signal.ITIMER_REAL, rng.uniform(0.0001, 0.003))
            try:
                y.backward()
            except KeyboardInterrupt:
                pass
            finally:
                armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
            assert type(x.grad) is float
            assert all(type(node.grad) is float for node in topological_order(y))
            if landed >= 20:
                break
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert landed > 0  # the test interrupted backward at least once
    x.grad = 0.0
    y.backward()  # and backward still runs afterwards (its lock was released)
    assert type(x.grad) is float


def test_no_complex_number_from_a_negative_base():
    x = Value(-8.0)
    with pytest.raises(ValueError):
        x ** 0.5
    y = x ** 2.0  # a whole exponent is fine for a negative base
    y.backward()
    assert type(y.data) is float and y.data == 64.0 and x.grad == -16.0


@pytest.mark.parametrize("point", [1000.0, -1000.0, 1e308, -1e308, 710.0, -746.0])
@pytest.mark.parametrize("method", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_are_stable_for_any_finite_input(method, point):
    x = Value(point)
    y = getattr(x, method)()
    assert math.isfinite(y.data)
    expected = {"sigmoid": 1.0 if point > 0 else 0.0, "tanh": math.copysign(1.0, point)}
    assert y.data == pytest.approx(expected[method], abs=1e-300)
    y.backward()
    assert math.isfinite(x.grad) and x.grad == pytest.approx(0.0, abs=1e-300)


# ---- graph walking and local derivatives ----------------------------------------------------


def test_topological_order_puts_every_op_node_after_its_inputs_once():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    t = c.tanh()
    m = t * d
    e = m + c
    order = topological_order(e)
    assert len(order) == 5 and set(order) == {c, d, t, m, e}  # each once, c used thrice
    assert all(n.inputs for n in order)  # leaves excluded
    position = {n: i for i, n in enumerate(order)}
    for n in order:
        for x in n.inputs:
            if x.inputs:
                assert position[x] < position[n]
    assert order[-1] is e
    assert topological_order(a) == []


def test_a_node_reached_first_directly_and_later_through_a_longer_path():
    # The root's first input is used again deeper in its second: a depth-first walk meets
    # `x` early, but must still emit it before `y`, or backward passes on a partial grad.
    a = Value(2.0)
    x = a.exp()
    y = x * 3.0
    r = x + y
    order = topological_order(r)
    assert order.index(x) < order.index(y) < order.index(r)
    r.backward()
    assert a.grad == pytest.approx(4.0 * math.exp(2.0), rel=1e-14)


@pytest.mark.parametrize("seed", range(20))
def test_topological_order_of_random_graphs(seed):
    rng = random.Random(seed)
    nodes = [Value(rng.uniform(0.5, 1.5)) for _ in range(5)]
    for _ in range(200):
        a, b = rng.choice(nodes), rng.choice(nodes[-20:])
        nodes.append((a * b).tanh() if rng.random() < 0.5 else a + b)
    root = Value.sum(nodes[-10:])
    order = topological_order(root)
    position = {n: i for i, n in enumerate(order)}
    assert len(position) == len(order)
    for n in order:
        for x in n.inputs:
            if x.inputs:
                assert position[x] < position[n]


def test_local_grads_of_a_node():
    a, b = Value(3.0), Value(4.0)
    assert local_grads(a * b) == (4.0, 3.0)
    assert local_grads(a / b) == pytest.approx((0.25, -3.0 / 16.0))
    assert local_grads(a.tanh()) == pytest.approx((1 - math.tanh(3.0) ** 2,))
    assert local_grads(a) == ()


def test_repr_shows_data_grad_label_and_op():
    x = Value(2.0, label="x")
    assert repr(x) == "Value(data=2.0, grad=0.0, label='x')"
    assert "op='mul'" in repr(x * x)


# ---- grad mode is per thread --------------------------------------------------------------

import threading  # noqa: E402


def test_another_thread_records_while_one_is_inside_no_grad():
    inside, done = threading.Event(), threading.Event()

    def metrics():
        with no_grad():
            inside.set()
            done.wait(5)

    t = threading.Thread(target=metrics)
    t.start()
    inside.wait(5)
    try:
        x = Value(2.0)
        y = x * x
        assert is_grad_enabled() and y.requires_grad
        y.backward()
        assert x.grad == 4.0
    finally:
        done.set()
        t.join()


def test_overlapping_no_grad_blocks_leave_recording_on_everywhere():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with no_grad():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with no_grad():
            b_in.set()
            a_out.wait(5)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert is_grad_enabled()
    assert (Value(1.0) * 2).requires_grad
    flags = []
    t = threading.Thread(target=lambda: flags.append(is_grad_enabled()))
    t.start()
    t.join()
    assert flags == [True]


def _train(seed: int, metrics_in_no_grad: bool, steps: int = 150):
    """A linear model trained by SGD; optionally measuring itself inside no_grad each step."""
    rng = random.Random(seed)
    data = [([rng.uniform(-1, 1), rng.uniform(-1, 1)], rng.choice((-1.0, 1.0)))
            for _ in range(16)]
    w = [Value(rng.uniform(-1, 1)), Value(rng.uniform(-1, 1))]
    b = Value(0.0)
    for _ in range(steps):
        loss = Value.sum([(1 - y * (w[0] * x[0] + w[1] * x[1] + b)).relu() for x, y in data])
        for p in (*w, b):
            p.grad = 0.0
        loss.backward()
        for p in (*w, b):
            p.data -= 0.05 * p.grad
        if metrics_in_no_grad:
            with no_grad():
                sum(1 for x, y in data if (w[0] * x[0] + w[1] * x[1] + b).data * y > 0)
    return [p.data for p in (*w, b)]


def test_two_threads_train_two_models_as_if_one_after_the_other():
    expected = [_train(1, True), _train(2, False)]
    results: dict[int, list] = {}
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so the two really interleave
    try:
        threads = [threading.Thread(target=lambda: results.__setitem__(0, _train(1, True))),
                   threading.Thread(target=lambda: results.__setitem__(1, _train(2, False)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    assert [results[0], results[1]] == expected


# ---- PyTorch's habits -----------------------------------------------------------------------

def test_item_format_and_round_give_the_number():
    v = Value(2.71828, label="e")
    assert v.item() == 2.71828
    assert f"{v:.3f}" == "2.718" and format(v, "e") == format(2.71828, "e")
    assert f"{v}" == repr(v)
    assert round(v) == 3 and round(v, 2) == 2.72


def test_float_of_a_value_is_refused_saying_what_to_write():
    with pytest.raises(TypeError, match=r"item\(\)"):
        float(Value(1.0))
    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        math.exp(Value(1.0))


def test_detach_is_a_constant_with_the_same_number():
    x = Value(3.0, label="x")
    d = x.detach()
    assert d.data == 3.0 and d.grad is None and d.label == "x" and not d.inputs
    y = x * x.detach()
    y.backward()
    assert x.grad == 3.0


def test_backward_with_a_gradient_seeds_the_output():
    x = Value(3.0)
    y = x * x
    y.backward(gradient=0.5)
    assert y.grad == 0.5 and x.grad == 3.0
    x.backward(2.0)
    assert x.grad == 5.0
    with pytest.raises(TypeError, match="gradient"):
        y.backward("1")


# ---- guard rails on .data -------------------------------------------------------------------

def test_an_array_assigned_to_data_is_named_at_the_next_op():
    w = Value(1.0, label="w")
    w.data = np.array([3.0])
    with pytest.raises(TypeError, match=r"'w' has \.data = ndarray"):
        w * 2
    w.data = "x"
    with pytest.raises(TypeError, match=r"'w' has \.data = str 'x'"):
        w + 1


def test_an_int_assigned_to_data_still_computes_in_floats():
    w = Value(1.0)
    w.data = 3
    y = w * 2
    assert y.data == 6.0 and type(y.data) is float


@pytest.mark.parametrize("number", [3, np.float64(3.0)])
def test_a_number_of_another_type_in_data_computes_in_floats_in_every_kind_of_op(number):
    # dot and sum take their inputs' numbers as plain floats first (see _variadic): an int,
    # or a numpy float among them must still compute, first or not.
    w, x, b = Value(2.0), Value(0.5), Value(1.0)
    for leaf in (w, x):
        leaf.data = number
        got = [Value.dot([w], [x], b), Value.sum([w, x, b]), w.relu(), w.exp(), w * x]
        want = [float(w.data) * float(x.data) + 1.0, float(w.data) + float(x.data) + 1.0,
                float(w.data), math.exp(float(w.data)), float(w.data) * float(x.data)]
        assert [v.data for v in got] == want
        assert all(type(v.data) is float for v in got)
        leaf.data = 2.0



def test_constants_are_told_to_compile_only_while_a_trace_watches(monkeypatch):
    told = []
    monkeypatch.setattr(engine, "folded", told.append)
    x = Value(2.0)
    with no_grad():  # inference: every op makes a constant, and nothing is watching
        (x * x + 1.0).exp()
    assert told == []
    monkeypatch.setattr(engine, "WATCHING", [1])
    with no_grad():
        x * x
    assert len(told) == 1 and told[0][0] is x


def test_an_overflowing_power_says_it_overflowed():
    with pytest.raises(OverflowError, match=r"a \*\* b overflowed") as info:
        2 ** Value(5000.0)
    assert "needs" not in str(info.value)


@pytest.mark.parametrize("exponent", [0.5, -0.5, 1.5])
def test_a_negative_base_with_a_fractional_exponent_is_refused_even_at_infinity(exponent):
    for base in (-1.0, -math.inf):
        with pytest.raises(ValueError, match=r"x \*\* n"):
            Value(base) ** exponent


def test_zero_to_a_value_power_backprops_to_the_exponent_only():
    e = Value(0.5)
    y = 0.0 ** e
    y.backward()
    assert y.data == 0.0 and e.grad == 0.0


def test_two_threads_backward_through_one_graph_each_add_their_share():
    # Two threads calling backward on the same graph: each call adds the leaf's gradient
    # once, as if one ran after the other; no internal error, no mixed interior grads.
    x, y = _tanh_ladder(300)
    once = backward_pass(y)
    expected_x, expected_y = _tanh_ladder(300)
    for _ in range(2 * 15):  # the same calls, one after the other, in this thread
        expected_y.backward()
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(15):
                y.backward()
        except BaseException as error:  # noqa: BLE001  (the test reports whatever happened)
            errors.append(error)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so the two really interleave
    try:
        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    assert errors == []
    assert x.grad == expected_x.grad
    assert all(node.grad == once.grads[node] for node in once.order)  # the last call's


# ---- micrograd's habits: the lecture's cells, with only the import changed ---------------------

def _lecture_neuron():
    """The lecture's neuron: o = tanh(x1 w1 + x2 w2 + b), its values named as in the lecture."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1x2w2 = x1w1 + x2w2
    n = x1w1x2w2 + b
    o = n.tanh()
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, x1w1x2w2=x1w1x2w2, n=n,
                o=o)


def test_the_lectures_manual_backward_cells_give_backwards_gradients():
    # o.grad = 1.0; o._backward(); n._backward(); b._backward(); ... as the lecture does.
    v = _lecture_neuron()
    v["o"].grad = 1.0
    for name in ("o", "n", "b", "x1w1x2w2", "x2w2", "x1w1"):
        v[name]._backward()  # b is a leaf: nothing to pass on, as in micrograd
    by_hand = {name: value.grad for name, value in v.items()}
    w = _lecture_neuron()
    w["o"].backward()
    assert by_hand == {name: value.grad for name, value in w.items()}
    assert by_hand["x1"] == pytest.approx(-1.5) and by_hand["w1"] == pytest.approx(1.0)


def _trace(root):
    """The lecture's trace(): every node and edge, found through _prev (recursively)."""
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges


def test_prev_and_op_read_as_the_lectures_trace_and_draw_dot_read_them():
    a = Value(3.0, label="a")
    b = a + a
    x = Value(2.0)
    assert b._prev == {a} and a._prev == set()
    # micrograd's names, not the op table's symbols (``*`` not ``×``, ``**2`` not ``^2``); the
    # lecture's own Value names tanh and exp as here.
    assert (b._op, (a * x)._op, a.tanh()._op, a.exp()._op, (a ** 2)._op, a._op) == (
        "+", "*", "tanh", "exp", "**2", "")
    micrograd = pytest.importorskip("micrograd.engine")
    m, y = micrograd.Value(3.0), Value(3.0)
    theirs = [v._op for v in (m + m, m * m, m ** 2, m ** 0.5, m.relu(), m)]
    assert [v._op for v in (y + y, y * y, y ** 2, y ** 0.5, y.relu(), y)] == theirs
    nodes, edges = _trace((a * x + a).tanh())
    assert len(nodes) == 5 and len(edges) == 5  # a feeds the product and the sum
    for attribute in ("_prev", "_op"):
        with pytest.raises(AttributeError):
            setattr(b, attribute, None)  # read-only: the graph is what ran


def test_numbers_take_grad_lets_the_lectures_draw_dot_print_every_grad():
    # The lecture's second half: e = (2 * n).exp(); o = (e - 1) / (e + 1), then its draw_dot
    # formats "grad %.4f" for every node, the numbers 2, 1 and 1 among them.
    from microgrant import engine

    def second_half():
        x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
        w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
        b = Value(6.8813735870195432, label="b")
        n = x1 * w1 + x2 * w2 + b
        two_n = 2 * n
        e = two_n.exp()
        o = (e - 1) / (e + 1)
        o.backward()
        return n, two_n.inputs[0], o

    n, two, o = second_half()
    assert two.grad is None  # by default a number is a constant: the lecture's cell fails
    with pytest.raises(TypeError):
        ["grad %.4f" % v.grad for v in _trace(o)[0]]
    before = engine.numbers_take_grad(True)
    try:
        assert before is False and engine.numbers_take_grad(True) is True  # says what it was
        n, two, o = second_half()
        labels = ["{ %s | data %.4f | grad %.4f }" % (v.label, v.data, v.grad)
                  for v in _trace(o)[0]]
    finally:
        engine.numbers_take_grad(before)
    assert len(labels) == 17  # 5 leaves, 3 numbers, 9 op nodes
    # o = tanh(c n / 2) with c = 2: d o / d c = (1 - o^2) n / 2, as micrograd computes it.
    assert two.grad == pytest.approx((1 - o.data ** 2) * n.data / 2, rel=1e-12)
    constant = Value(2.0, requires_grad=False)  # made a constant: stays one, switch or not
    engine.numbers_take_grad(True)
    try:
        assert (constant * Value(1.0)).inputs[0].grad is None
    finally:
        engine.numbers_take_grad(False)
    assert (2 * Value(1.0)).inputs[0].grad is None  # off again


def test_values_take_no_attributes_of_their_own():
    # Every node would pay for a __dict__; optimizer state lives in the optimizer, keyed by
    # Value (Values hash by identity).
    v = Value(1.0)
    with pytest.raises(AttributeError):
        v.m = 0.0
    m = {v: 0.0}
    m[v] += 0.1
    assert m[v] == 0.1
