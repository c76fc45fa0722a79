"""The gradient checker itself: it passes correct gradients and catches wrong ones.

A checker that never fails proves nothing, so most of this file makes it fail on purpose: an op
whose local derivative has been corrupted (swapped into the op table for one test), and the
relu kink at 0, where the engine's convention (PyTorch's, 0) differs from the finite
difference (0.5).  Each failure must name the input that disagrees.
"""

import dataclasses
import math

import pytest

from microgrant import GradcheckResult, Value, gradcheck
from microgrant.engine import OPS


def test_correct_gradients_pass():
    report = gradcheck(lambda a, b: (a * b).tanh() + a.exp() / b, [0.5, -1.5])
    assert isinstance(report, GradcheckResult)
    assert report.ok and bool(report)
    assert report.failures == []
    # the rows hold the real derivatives: d/da = b (1 - tanh(ab)^2) + e^a / b
    a, b = 0.5, -1.5
    t = math.tanh(a * b)
    assert report.rows[0].analytic == pytest.approx(b * (1 - t * t) + math.exp(a) / b, rel=1e-12)
    assert report.rows[1].analytic == pytest.approx(a * (1 - t * t) - math.exp(a) / b**2,
                                                    rel=1e-12)
    assert report.rows[0].numeric == pytest.approx(report.rows[0].analytic, rel=1e-7)
    assert report.output == pytest.approx(t + math.exp(a) / b, rel=1e-15)
    assert "all gradients agree" in str(report)


def test_a_wrong_local_derivative_fails_and_names_the_input(monkeypatch):
    mul = OPS["mul"]
    # d(a*b)/db deliberately wrong: 2a instead of a.
    broken = dataclasses.replace(mul, local_grads=lambda xs, out, arg: (xs[1], 2.0 * xs[0]))
    monkeypatch.setitem(OPS, "mul", broken)
    x, y = Value(1.5, label="x"), Value(-2.0, label="y")
    report = gradcheck(lambda a, b: a * b, [x, y])
    assert not report.ok and not bool(report)
    assert [row.label for row in report.failures] == ["y"]
    row = report.failures[0]
    assert row.analytic == pytest.approx(3.0)
    assert row.numeric == pytest.approx(1.5, rel=1e-8)
    assert row.error == pytest.approx(1.5, rel=1e-8)
    text = str(report)
    assert "y" in text.splitlines()[-1] and "disagree" in text
    # The first input's gradient was right and is reported as such.
    assert report.rows[0].ok and report.rows[0].label == "x"


def test_the_corruption_is_undone_after_the_test():
    # Runs after the monkeypatched test: the real table is back.
    assert gradcheck(lambda a, b: a * b, [1.5, -2.0]).ok


def test_a_wrong_derivative_deep_in_a_graph_is_caught(monkeypatch):
    tanh = OPS["tanh"]
    broken = dataclasses.replace(tanh, local_grads=lambda x, out, _: (1.0 - out,))
    monkeypatch.setitem(OPS, "tanh", broken)
    report = gradcheck(lambda a, b, c: (a * b).tanh() * c + c,
                       [Value(0.7, label="a"), Value(0.9, label="b"), Value(2.0, label="c")])
    # c reaches the output around tanh's derivative, a and b only through it.
    assert [row.label for row in report.failures] == ["a", "b"]


def test_the_relu_kink_at_zero_fails_the_check():
    # The engine takes relu'(0) = 0 (PyTorch); the central difference sees (h - 0) / 2h = 0.5.
    report = gradcheck(lambda x: x.relu(), [Value(0.0, label="x")])
    assert not report.ok
    assert [row.label for row in report.failures] == ["x"]
    assert report.rows[0].analytic == 0.0
    assert report.rows[0].numeric == pytest.approx(0.5)
    # Away from the kink the same function passes.
    assert gradcheck(lambda x: x.relu(), [0.3]).ok
    assert gradcheck(lambda x: x.relu(), [-0.3]).ok


def test_unlabelled_inputs_are_named_by_position():
    # abs at 0 would pass (the central difference of |x| at 0 is 0, the convention); relu fails.
    report = gradcheck(lambda a, b: a.relu() + b, [0.0, 1.0])
    assert [row.index for row in report.failures] == [0]
    assert "#0" in str(report)


def test_tolerances_are_honoured():
    # The central difference of exp at 0 with a huge step is visibly off (sinh(h)/h - 1).
    loose = gradcheck(lambda x: x.exp(), [0.0], eps=0.1, atol=1e-2, rtol=0)
    tight = gradcheck(lambda x: x.exp(), [0.0], eps=0.1, atol=1e-6, rtol=0)
    assert loose.ok and not tight.ok
    assert tight.rows[0].numeric == pytest.approx(math.sinh(0.1) / 0.1, rel=1e-12)


def test_gradcheck_leaves_its_inputs_alone():
    x = Value(2.0, label="x")
    gradcheck(lambda a: a * a, [x])
    assert x.data == 2.0 and x.grad == 0.0 and x.inputs == ()


def test_gradcheck_rejects_bad_arguments():
    with pytest.raises(TypeError, match="function"):
        gradcheck(42, [1.0])
    with pytest.raises(TypeError, match="float"):
        gradcheck(lambda x: x.data * 2, [1.0])
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(lambda: Value(1.0), [])
    with pytest.raises(TypeError, match="str"):
        gradcheck(lambda x: x, ["a"])


# ---- arguments (issue 11) --------------------------------------------------------------------

@pytest.mark.parametrize("eps", [0, 0.0, -1e-6, math.nan, math.inf])
def test_a_bad_eps_is_an_argument_error(eps):
    # eps=0 used to raise a bare ZeroDivisionError and eps=nan to fail silently.
    with pytest.raises(ValueError, match=r"eps must be a finite number > 0; got"):
        gradcheck(lambda x: x * x, [1.0], eps=eps)


def test_bad_tolerances_and_eps_types():
    with pytest.raises(TypeError, match="eps must be a real number"):
        gradcheck(lambda x: x * x, [1.0], eps="1e-6")
    with pytest.raises(ValueError, match="atol"):
        gradcheck(lambda x: x * x, [1.0], atol=-1.0)
    with pytest.raises(ValueError, match="rtol"):
        gradcheck(lambda x: x * x, [1.0], rtol=math.nan)


# ---- near the edge of a domain (issue 11) ------------------------------------------------------

@pytest.mark.parametrize("x", [1e-7, 3e-9, 1e-12])
def test_log_near_zero_steps_inside_the_domain(x):
    # x - eps < 0: the check used to report a domain error at a point the user never passed.
    report = gradcheck(lambda v: v.log(), [x])
    assert report.ok, str(report)
    row = report.rows[0]
    assert row.step < x and row.value - row.step > 0
    assert row.numeric == pytest.approx(1.0 / x, rel=1e-6)


def test_sqrt_near_zero_passes_and_the_usual_step_is_kept_away_from_edges():
    assert gradcheck(lambda v: v.sqrt(), [1e-8]).ok
    assert gradcheck(lambda v: v.log(), [2.0]).rows[0].step == 1e-6


def test_a_point_with_no_room_on_either_side_says_why():
    def only_at_two(x):
        # Defined at x = 2 only: any nudge raises a domain error.
        return x * 1.0 if x.data == 2.0 else Value(-1.0).log()

    with pytest.raises(ValueError, match=r"cannot take a central difference for input 'x' "
                                         r"at 2\.0.*edge of its domain.*log"):
        gradcheck(only_at_two, [Value(2.0, label="x")])


# ---- kinks (issue 13) ------------------------------------------------------------------------

@pytest.mark.parametrize("make, op", [
    (lambda x: x.relu(), "relu"),
    (lambda x: x.step(), "step"),
    (lambda x: x.leaky_relu(0.1), "leaky_relu"),
    (lambda x: x.abs() + x.relu(), "relu"),
])
def test_a_disagreement_on_a_kink_says_so(make, op):
    report = gradcheck(make, [Value(0.0, label="x")])
    assert not report.ok
    (row,) = report.failures
    assert f"{op}'s input 'x' is 0.0" in row.kinks
    text = str(report)
    assert "at a kink" in text and "not a wrong derivative" in text


def test_a_kink_deep_in_a_graph_is_found_through_its_input():
    # z = 3a - 6 is exactly 0 at a = 2; the step moves z by 3e-6 across relu's kink.
    def fn(a, b):
        z = a * 3.0 - 6.0
        z.label = "z"
        return z.relu() * b

    report = gradcheck(fn, [Value(2.0, label="a"), Value(1.5, label="b")])
    assert [row.label for row in report.failures] == ["a"]
    assert report.failures[0].kinks == ("relu's input 'z' is 0.0",)


def test_a_wrong_derivative_is_not_blamed_on_a_kink(monkeypatch):
    tanh = OPS["tanh"]
    broken = dataclasses.replace(tanh, local_grads=lambda xs, out, _: (1.0 - out,))
    monkeypatch.setitem(OPS, "tanh", broken)
    # relu's input is far from 0, so the disagreement is the derivative's fault alone.
    report = gradcheck(lambda a: a.tanh().relu(), [Value(0.8, label="a")])
    assert [row.label for row in report.failures] == ["a"]
    assert report.failures[0].kinks == ()
    assert "kink" not in str(report)
