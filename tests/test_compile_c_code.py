"""microgrant.compile and C code that reads a traced number: never a silently frozen constant.

A traced number is a float subclass; ``math.exp(x.data)`` reads its value inside C, where the
trace cannot see it, and the result would be a constant in every replay.  A call of a
``math``, ``cmath`` or ``struct`` function from the user's code (directly, or through Python's
library: ``statistics.fmean`` calls ``math.fsum``) makes that trace run eagerly, with one
warning naming the line; microgrant's own losses use ``math`` on traced numbers on purpose and
still compile.  Every number is compared with the eager engine on the same inputs.
"""

import cmath
import inspect
import math
import statistics
import struct
import sys
import warnings
from array import array
from decimal import Decimal
from math import exp as imported_exp

import numpy as np
import pytest
from compile_twins import agrees

from microgrant import Value, checks
from microgrant.compile import compile
from microgrant.nn import (
    MLP,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
)


def line_of(fn, text: str) -> int:
    """The line number in this file of the first line of ``fn`` that contains ``text``."""
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_math_exp_of_a_traced_number_runs_eagerly_with_one_warning_naming_the_line():
    w = Value(0.5, label="w")

    def loss(x, y):
        out = w * x[0][0]
        k = math.exp(out.data)      # a plain float from a traced number
        return out * k

    step = compile(loss)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x in ([[1.0]], [[1.0]], [[2.0]]):     # the input moves on the third call
            agrees(step, loss, [w], x, [0.0])
    said = [str(c.message) for c in caught if issubclass(c.category, RuntimeWarning)]
    assert len(said) == 1, said
    assert f"test_compile_c_code.py:{line_of(loss, 'math.exp')} in loss calls math.exp" \
        in said[0]
    assert "out.exp()" in said[0] and "array argument" in said[0]
    assert step.traces == 1 and step.eager_calls == 3
    assert "runs eagerly" in step.describe()


@pytest.mark.parametrize("name, of", [
    ("math.sqrt", lambda d: math.sqrt(d)),
    ("math.log", lambda d: math.log(d)),
    ("math.tanh", lambda d: math.tanh(d)),
    ("math.fsum", lambda d: math.fsum([d, 0.25])),
    ("math.isclose", lambda d: 2.0 if math.isclose(d, 0.5) else 3.0),
    ("math.exp", lambda d: imported_exp(d)),                 # from math import exp
    ("cmath.exp", lambda d: cmath.exp(d).real),
    ("statistics.fmean (which calls math.fsum)", lambda d: statistics.fmean([d, 0.25])),
    ("vectorize.__call__ (which calls math.exp)", lambda d: float(np.vectorize(math.exp)(d))),
    ("struct.pack", lambda d: struct.unpack("d", struct.pack("d", d))[0]),
])
def test_each_c_reader_of_a_traced_number_runs_eagerly(name, of):
    w = Value(0.5, label="w")

    def loss(x):
        out = w * x[0]
        return out * of(out.data)

    step = compile(loss)
    with pytest.warns(RuntimeWarning) as caught:
        for x in ([1.0], [1.0], [2.0], [1.5]):
            agrees(step, loss, [w], x)
    said = [str(c.message) for c in caught]
    assert len(said) == 1 and f"{name}, C code" in said[0], said
    # The line named is the one that calls math (or the library function that does).
    assert f"test_compile_c_code.py:{inspect.getsourcelines(of)[1]} in <lambda> calls " \
        in said[0]


def test_math_on_a_constant_runs_eagerly_too_with_eagers_numbers():
    # The profile function sees which C function is called, not on what: conservative.
    w = Value(0.5, label="w")

    def loss(x):
        return w * x[0] * math.log(2.0)

    step = compile(loss)
    with pytest.warns(RuntimeWarning, match=r"calls math\.log, C code .* outside loss_fn"):
        agrees(step, loss, [w], [3.0])
    w.data = 1.25
    agrees(step, loss, [w], [-2.0])
    assert step.eager_calls == 2 and step.traces == 1


@pytest.mark.parametrize("of", [
    lambda d: statistics.mean([d, 0.25]),      # through as_integer_ratio, then math.gcd
    lambda d: statistics.median([d, 0.25, 4.0]),
    lambda d: math.floor(d) + 0.5,              # through the number's own __floor__
    lambda d: float(math.trunc(d)) + math.ceil(d),
])
def test_math_that_asks_the_number_itself_is_a_guard_not_an_eager_run(of):
    w = Value(0.5, label="w")

    def loss(x):
        out = w * x[0]
        return out * of(out.data)

    step = compile(loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in ([1.0], [1.0], [2.5], [-1.5]):
            agrees(step, loss, [w], x)
    assert step.eager_calls == 0 and step.traces == 3   # the same numbers replay


def _regression(model, X, y):
    return mse_loss([model(x) for x in X], y)


def _hinge(model, X, y):
    return hinge_loss([model(x) for x in X], y)


def _probabilities(model, X, y):
    return binary_cross_entropy([model(x).sigmoid() for x in X], y)


def _logits(model, X, y):
    return binary_cross_entropy_with_logits([model(x) for x in X], y)


def _classes(model, X, y):
    return cross_entropy([model(x) for x in X], y)


@pytest.mark.parametrize("loss_of, outputs, y", [
    (_regression, 1, [0.5, -1.0, 2.0, 0.0, 1.5, -0.25]),
    (_hinge, 1, [1.0, -1.0, -1.0, 1.0, 1.0, -1.0]),
    (_probabilities, 1, [1.0, 0.0, 0.0, 1.0, 0.25, 0.75]),
    (_logits, 1, [1.0, 0.0, 0.0, 1.0, 0.25, 0.75]),
    (_classes, 3, [0.0, 2.0, 1.0, 1.0, 0.0, 2.0])])
def test_microgrants_own_losses_still_compile_and_replay(loss_of, outputs, y):
    # The losses (and the op table's forwards) call math on traced numbers themselves.
    model = MLP(2, [4, outputs], seed=0)
    params = model.parameters()
    rng = np.random.default_rng(0)

    def loss_fn(X, y):
        return loss_of(model, X, y)

    step = compile(loss_fn)
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # any warning fails the test
        for _ in range(4):                        # new inputs, moved weights: one trace
            X = rng.normal(size=(6, 2))
            agrees(step, loss_fn, params, X, y)
            for p in params:
                p.data += 0.01
    assert step.traces == 1 and step.eager_calls == 0


def test_a_users_check_may_call_math_on_the_plain_floats_it_is_handed():
    # satisfies hands the check a plain float (and an array, to try it on): not a frozen read.
    w = Value(0.5, label="w")

    def loss_fn(y):
        for t in y:
            if not checks.satisfies(t.data, lambda u: math.isfinite(u)):
                raise ValueError("bad target")
        return Value.sum([(w - t) ** 2 for t in y])

    step = compile(loss_fn)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agrees(step, loss_fn, [w], [1.0, 0.0])
        agrees(step, loss_fn, [w], [2.0, -1.0])   # guarded: traced again, not eager
    assert step.eager_calls == 0 and step.tape.exact_guards == 2


def test_a_math_call_is_seen_while_a_users_profiler_runs_too():
    w = Value(0.5, label="w")
    events = []

    def profiler(frame, event, arg):
        events.append(event)

    def loss(x):
        out = w * x[0]
        return out * math.exp(out.data)

    step = compile(loss)
    sys.setprofile(profiler)
    try:
        with pytest.warns(RuntimeWarning, match=r"calls math\.exp"):
            agrees(step, loss, [w], [1.0])
            agrees(step, loss, [w], [2.0])
    finally:
        sys.setprofile(None)
    assert "c_call" in events and step.eager_calls == 2


@pytest.mark.parametrize("of", [lambda d: float("%.17g" % d), lambda d: float(Decimal(d)),
                                lambda d: array("d", [d])[0], lambda d: sum(map(math.exp, [d])),
                                lambda d: max([d, -0.7], key=math.fabs)])
def test_c_code_the_trace_cannot_see_shows_at_the_first_call_with_new_inputs(of):
    # %-formatting, Decimal and array read the float inside C, and map and max call math
    # from C, without a call the profile function is told of; the first replay on new
    # inputs (the weights unmoved) is compared with an eager run, which shows the frozen
    # number.
    w = Value(0.5, label="w")

    def loss(x):
        out = w * x[0]
        return out * of(out.data)

    step = compile(loss)
    agrees(step, loss, [w], [1.0])
    agrees(step, loss, [w], [1.0])
    with pytest.warns(RuntimeWarning, match="differs from eager's"):
        agrees(step, loss, [w], [2.0])
    agrees(step, loss, [w], [3.0])
    assert step.eager_calls == 2
