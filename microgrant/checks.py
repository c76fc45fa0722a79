"""Argument checks shared by every module: one rule, one message, one exception type each.

Backprop's numbers come from users' hands (a learning rate, a layer size, a seed, a weights
file), and a wrong one should stop at the door with a message that says what was given and
what is expected, not deep inside an op.  Every public function that takes such an argument
calls one of these, so the same mistake reads the same everywhere:

* a value of the wrong *type* raises `TypeError`; a value of the right type that is out of
  range raises `ValueError`;
* every message names the argument, and quotes what was given through `shown`, which cuts it
  short: a megabyte-long string in a weights file makes a one-line message, not a megabyte.

>>> count(3, "nin")
3
>>> count(0, "nin")
Traceback (most recent call last):
...
ValueError: nin must be a whole number >= 1; got 0
"""

from __future__ import annotations

import math
import numbers
import reprlib
from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["shown", "real", "finite", "positive", "nonnegative", "fraction", "count", "one_of",
           "rng", "satisfies", "isfinite", "stabilizer", "folded", "KEEP", "CHECK", "SHIFT",
           "FOLD"]

#: The hooks by which `microgrant.compile` cooperates with these checks, by attribute of a
#: number's type (nothing is registered anywhere; a plain float has none of them):
#: ``KEEP``: a function of the number; when it says True (the number's trace is watching this
#: thread), `real` returns the number as it is, so a Value made from a traced number keeps
#: where that number came from; ``CHECK``: `satisfies` hands the number and the check to it;
#: ``SHIFT``: `stabilizer` hands its numbers to it; ``FOLD``: `folded` hands it the numbers
#: the engine computed a constant from.
KEEP, CHECK, SHIFT = "__microgrant_keep__", "__microgrant_check__", "__microgrant_shift__"
FOLD = "__microgrant_fold__"


def folded(inputs: tuple) -> None:
    """The engine computed a constant from ``inputs`` (Values, and an op's constant argument):
    an op none of whose inputs takes a gradient.  A traced number among their numbers is told,
    through its type's ``FOLD`` hook: a replay would keep the constant as it is now."""
    for x in inputs:
        hook = getattr(type(getattr(x, "data", x)), FOLD, None)
        if hook is not None:
            hook([getattr(v, "data", v) for v in inputs])
            return


_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60
_SHORT.maxlong = 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6


def shown(value: Any) -> str:
    """``value`` as a message quotes it: its type and a repr cut to a few dozen characters.

    >>> len(shown("x" * 1_000_000))
    64
    >>> shown(10 ** 5000)
    'int <16,610 bits>'
    >>> shown(2.5), shown(10 ** 400)
    ('float 2.5', 'int 100000000000000000...0000000000000000000')
    """
    try:
        text = _SHORT.repr(value)
    except ValueError:  # an int past Python's 4300-digit limit for str()
        text = f"<{value.bit_length():,} bits>"
    return f"{type(value).__name__} {text}"


def _is_real(value: Any) -> bool:
    # numpy's bool_ is not a numbers.Real, yet Python's bool is: accept both, as Value does.
    return isinstance(value, (numbers.Real, np.bool_)) and not hasattr(value, "grad")


def real(value: Any, name: str) -> float:
    """``value`` as a float: an int, float, bool or numpy scalar, else a `TypeError`.

    An integer too large for a float is a `ValueError` that says so.

    >>> real(3, "lr"), real(np.float32(0.5), "lr"), real(np.True_, "x")
    (3.0, 0.5, 1.0)
    >>> real("0.1", "lr")
    Traceback (most recent call last):
    ...
    TypeError: lr must be a real number (int, float, bool or numpy scalar); got str '0.1'
    """
    keep = getattr(type(value), KEEP, None)
    if keep is not None and keep(value):
        return value  # a traced number (microgrant.compile): it keeps where it came from
    if not _is_real(value):
        if hasattr(value, "grad") and hasattr(value, "data"):  # a microgrant Value
            raise TypeError(f"{name} must be a real number, not a Value (use .data for its "
                            f"number, or the Value itself in the expression)")
        raise TypeError(f"{name} must be a real number (int, float, bool or numpy scalar); "
                        f"got {shown(value)}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large for a float (over about 1.8e308); got "
                         f"{shown(value)}") from None


def finite(value: Any, name: str) -> float:
    """``value`` as a float that is neither NaN nor infinite.

    >>> finite(float("nan"), "loss")
    Traceback (most recent call last):
    ...
    ValueError: loss must be a finite number; got nan
    """
    x = real(value, name)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number; got {x!r}")
    return x


def positive(value: Any, name: str) -> float:
    """``value`` as a finite float > 0 (a learning rate, a step size).

    >>> positive(0.1, "lr")
    0.1
    >>> positive(0, "lr")
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number > 0; got 0.0
    """
    x = real(value, name)
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {x!r}")
    return x


def nonnegative(value: Any, name: str) -> float:
    """``value`` as a finite float >= 0 (a momentum, a weight decay, a noise level).

    >>> nonnegative(0, "momentum")
    0.0
    """
    x = real(value, name)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {x!r}")
    return x


def fraction(value: Any, name: str, zero: bool = True, one: bool = True) -> float:
    """``value`` as a float from 0 to 1 (a decay rate, a share of the samples, an accuracy).

    ``zero=False`` or ``one=False`` leaves that end out: Adam's betas must be < 1, a test
    share of the samples > 0 and < 1.

    >>> fraction(0.9, "alpha"), fraction(1, "target_accuracy", zero=False)
    (0.9, 1.0)
    >>> fraction(1.0, "betas[0]", one=False)
    Traceback (most recent call last):
    ...
    ValueError: betas[0] must be a finite number >= 0 and < 1; got 1.0
    """
    x = real(value, name)
    low_ok = x >= 0.0 if zero else x > 0.0
    high_ok = x <= 1.0 if one else x < 1.0
    if not (low_ok and high_ok):  # NaN fails both
        low = ">= 0" if zero else "> 0"
        high = "<= 1" if one else "< 1"
        raise ValueError(f"{name} must be a finite number {low} and {high}; got {x!r}")
    return x


def satisfies(value: Any, ok: Callable[[Any], Any]) -> bool:
    """Whether ``ok(value)`` holds: a check of a number that only decides whether to raise.

    A loss checks its targets this way (``ok`` tells a valid label).  Used so, the check
    does not shape the graph, and `microgrant.compile` does not tie a trace to the numbers
    it read: it records ``ok`` and applies it to each later call's numbers at once, as an
    array.  ``ok`` is therefore written with comparisons against plain numbers, joined by
    ``&`` and ``|``, which work on a float and, elementwise, on a numpy array alike.  (A
    check that comes out False, or that does not work on an array, is traced as any other
    decision.)  A traced number's type may take the check over through the ``CHECK`` hook.

    >>> satisfies(1.0, lambda y: (y == -1.0) | (y == 1.0)), satisfies(0.0, isfinite)
    (True, True)
    >>> import numpy as np
    >>> isfinite(np.array([0.5, np.nan, np.inf]))
    array([ True, False, False])
    """
    hook = getattr(type(value), CHECK, None)
    if hook is not None:
        return bool(hook(value, ok))
    return bool(ok(value))


def stabilizer(numbers: Iterable) -> float:
    """``max(numbers)`` as a float: softmax's shift, which it subtracts to keep exp in range.

    softmax(z) = softmax(z - c) for every c; softmax takes c = max(z) so that no exponent is
    positive.  Any c near max(z) would do as well, so `microgrant.compile` lets a replay keep
    the number it traced instead of deciding anew from each call's numbers which is largest:
    it only checks that the largest stays within `microgrant.compile.SHIFT_BAND` of it, and
    traces again when it does not.  Use the result for nothing else: a compiled replay would
    keep it as it was traced.

    >>> stabilizer([1.0, 3.0, 2.0])
    3.0
    """
    numbers = list(numbers)
    for number in numbers:
        hook = getattr(type(number), SHIFT, None)
        if hook is not None:  # traced numbers: compile keeps the shift and says how far
            return float(hook(numbers))
    return float(max(numbers))


def isfinite(x: Any) -> Any:
    """Neither NaN nor infinite, for `satisfies`: on a float, or elementwise on an array."""
    return (x > -math.inf) & (x < math.inf)


def count(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (a layer size, a number of epochs or samples).

    Bools are refused: ``True`` is no layer size.

    >>> count(np.int64(4), "nout"), count(0, "epochs", minimum=0)
    (4, 0)
    >>> count(2.0, "nin")
    Traceback (most recent call last):
    ...
    TypeError: nin must be a whole number >= 1; got float 2.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral,
                                                                     np.integer)):
        raise TypeError(f"{name} must be a whole number >= {minimum}; got {shown(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {value}")
    return int(value)


def one_of(value: Any, options: Iterable, name: str) -> Any:
    """``value`` itself when it is one of ``options``, else a `ValueError` listing them.

    >>> one_of("tb", ("lr", "tb"), "rankdir")
    'tb'
    >>> one_of("up", ("lr", "tb"), "rankdir")
    Traceback (most recent call last):
    ...
    ValueError: unknown rankdir 'up'; valid ones are 'lr', 'tb'
    """
    options = tuple(options)
    try:
        known = value in options
    except TypeError:  # an unhashable value in a dict's keys
        known = False
    if not known:
        raise ValueError(f"unknown {name} {_SHORT.repr(value)}; valid ones are "
                         f"{', '.join(repr(o) for o in options)}")
    return value


def rng(seed: Any = None, name: str = "seed") -> np.random.Generator:
    """The one way microgrant takes randomness: ``None``, an int >= 0, or a numpy Generator.

    An int gives the same numbers every run; a Generator is used as it is (so one generator
    can be threaded through several calls); ``None`` draws fresh entropy.  The global random
    state (``random`` or ``numpy.random``) is never touched.

    >>> rng(0).uniform() == rng(0).uniform()
    True
    >>> g = rng(1); rng(g) is g
    True
    >>> rng(-1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be None, a whole number >= 0 or a numpy Generator; got -1
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral,
                                                                   np.integer)):
        raise TypeError(f"{name} must be None, a whole number >= 0 or a numpy Generator "
                        f"(numpy.random.default_rng(...)); got {shown(seed)}")
    if seed < 0:
        raise ValueError(f"{name} must be None, a whole number >= 0 or a numpy Generator; "
                         f"got {seed}")
    return np.random.default_rng(int(seed))
