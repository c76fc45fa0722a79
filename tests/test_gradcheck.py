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
    broken = dataclasses.replace(mul, local_grads=lambda a, b, out: (b, 2.0 * a))
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
