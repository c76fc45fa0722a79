"""Losses and softmax: the last nodes of a graph, where backprop starts.

Training turns "how wrong is the network?" into one number, the loss, and ``loss.backward()``
sends d(loss)/d(weight) to every weight.  Everything here is built from ordinary `Value` ops,
so each loss is a small graph you can draw, and its gradient comes from the same op table as
everything else: there is no hand-written backward pass to get wrong.

Every loss is called as PyTorch's are, ``loss(input, target, reduction="mean")``: ``input`` is
the model's output for one sample or a list of them, ``target`` what it should have been.
``reduction="mean"`` averages the per-sample losses, ``"sum"`` adds them and ``"none"`` returns
the list.  The reduced loss is labelled with the loss's short name (``mse``, ``hinge``,
``bce``, ``bce_logits``, ``cross_entropy``, ...) and each per-sample term ``name[k]`` (k from 1), so
a drawing of the graph says which node is which.  The numbers match float64 PyTorch's.

Stability is the subtle part.  ``exp(1000)`` overflows a float, and ``log(1 + u)`` loses every
digit of a tiny ``u``.  The formulas below never exponentiate a large positive number, and they
take ``log(1 + u)`` as ``log(w) + (u - (w - 1)) / w`` with ``w = 1 + u``: ``u - (w - 1)`` is
exactly the digits of ``u`` that rounding ``1 + u`` threw away, and the second term puts them
back.  So inputs of +-1000 give finite, accurate losses and gradients.

No loss branches on a Value's ``.data``: the graph has the same shape whatever the numbers,
which is what `microgrant.compile` needs to trace it once and replay it.  mse, hinge and both
binary cross-entropies are traceable as they are; softmax, log_softmax and cross_entropy read
one number from the data (see `softmax`).  Targets given as Values stay in the graph: a class
index picks its score with `Value.pick`, a computed target passes `Value.stop_gradient`.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from . import checks, labels
from .engine import Value, is_grad_enabled

__all__ = ["softmax", "log_softmax", "mse_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "cross_entropy", "cross_entropy_probs",
           "hinge_loss", "REDUCTIONS"]

REDUCTIONS = ("mean", "sum", "none")
"""The ``reduction`` every loss takes: average the per-sample losses, add them, or keep them."""

# PyTorch clamps log(p) at -100 in binary cross-entropy, so p = 0 or 1 costs 100, not infinity.
# Here the clamp is on p itself, log(max(p, e^-100)), written max(p, c) = c + relu(p - c) so
# that it is an op of the graph rather than an `if` on p's number.  For p above about 1e-27,
# c + (p - c) rounds back to p exactly, so the clamp changes nothing where it does not bite.
_FLOOR = math.exp(-100.0)  # log(_FLOOR) is exactly -100.0


# ---- one sample or many: the skeleton every loss shares ------------------------------------

def _is_one(x) -> bool:
    return isinstance(x, (Value, numbers.Real, np.generic)) or (
        isinstance(x, np.ndarray) and x.ndim == 0)


def _listed(x, what: str) -> list:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (str, bytes, dict)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{what} must be a Value, a number or a list of them; got "
                        f"{checks.shown(x)}")
    return list(x)


def _as_value(x, what: str) -> Value:
    """A Value as it is; a real number as a constant Value (no gradient)."""
    if isinstance(x, Value):
        return x
    return Value(checks.real(x, what), requires_grad=False)


def _target(t, what: str) -> Any:
    """A target as the formulas take it (no gradient, as in PyTorch): a constant Value, a
    leaf's number, a computed Value (``2 * y - 1``) through `Value.stop_gradient`, all of which
    a graph traced with placeholder targets replays with new ones; a number as a float."""
    if isinstance(t, Value):
        if not checks.satisfies(t.data, checks.isfinite):  # a check a compiled step repeats
            checks.finite(t.data, what)  # raises, with the message every check gives
        return t if t.grad is None else t.stop_gradient() if t.op else t.data
    return checks.finite(t, what)


def _number(t) -> float | None:
    """A target's number, or None when it is not one (the pairing errors come first)."""
    if isinstance(t, Value):
        return t.data
    if isinstance(t, (numbers.Real, np.generic)) and not isinstance(t, (bool, np.bool_)):
        return float(t)
    return None


def _pairs(name: str, input, target) -> tuple[list, list, bool]:
    """(inputs, targets, single): one pair, or two lists of the same non-zero length."""
    if _is_one(input):
        if not _is_one(target):
            raise ValueError(f"{name}: one input needs one target; got a target of "
                             f"{checks.shown(target)}")
        one = (lambda v: v.item() if isinstance(v, np.ndarray) else v)
        return [one(input)], [one(target)], True
    inputs = _listed(input, f"{name}'s input")
    if _is_one(target):
        raise ValueError(f"{name}: input is a list of {len(inputs)} values, so target must be a "
                         f"list of as many; got a single target {checks.shown(target)}")
    targets = _listed(target, f"{name}'s target")
    if len(inputs) != len(targets):
        raise ValueError(f"{name}: input has {len(inputs)} values but target has "
                         f"{len(targets)}; they must pair up one to one")
    if not inputs:
        raise ValueError(f"{name}: input is empty (an empty list has no mean)")
    return inputs, targets, False


def _refuse_swapped(name: str, inputs: list, targets: list, classes: tuple) -> None:
    """A clear error for ``loss(labels, outputs)``, the PyTorch order reversed.

    The model's outputs are Values; labels are plain numbers.  When the input holds only plain
    numbers (all of them class labels, for a classification loss) while the target holds
    Values, or numbers that are no class label, the two were almost surely swapped.
    """
    if any(isinstance(x, Value) for x in inputs):
        return
    has_values = any(isinstance(t, Value) for t in targets)
    looks_like_labels = bool(classes) and all(_number(x) in classes for x in inputs)
    if has_values or (looks_like_labels and any(_number(t) not in classes for t in targets)):
        held = "Values" if has_values else f"numbers such as {checks.shown(targets)}"
        raise ValueError(f"{name}(input, target): input holds plain numbers "
                         f"{checks.shown(inputs)} and target holds {held}; the arguments look "
                         "swapped. The model's outputs come first and the labels second, as "
                         "in PyTorch")


def _named(v: Value, label: str) -> Value:
    if not v.label:  # a label the user set is kept
        v.label = label
    return v


def _reduce(short: str, terms: list, reduction: str, single: bool):
    if single:
        return _named(terms[0], short)
    for k, term in enumerate(terms, 1):
        _named(term, labels.indexed(short, k))
    if reduction == "none":
        return terms
    total = Value.sum(terms)
    return _named(total / len(terms) if reduction == "mean" else total, short)


@dataclass(frozen=True)
class _Rule:
    """Which numbers a loss accepts, and how its message says so (``hint`` follows it).

    ``ok`` joins comparisons with ``&`` and ``|``, so it also works on arrays (see
    `checks.satisfies`): a compiled step checks each call's targets with it at once.
    """

    ok: Callable[[float], bool]
    expected: str
    hint: str = ""


def _elementwise(name: str, short: str, term: Callable, input, target, reduction: str,
                 classes: tuple = (), inputs_rule: _Rule | None = None,
                 targets_rule: _Rule | None = None):
    """The loop every per-sample loss shares: pair up, check, compute each term, reduce.

    Args:
        name, short: the loss's function name (for messages) and short name (for labels).
        term: ``term(x, t)``, the loss of one input Value ``x`` against one target ``t``.
        classes: the class labels of a classification loss (used to spot swapped arguments).
        inputs_rule, targets_rule: which input and target numbers are valid.  The checks
            raise errors; they never choose between formulas, so the graph's shape does not
            depend on the numbers.
    """
    checks.one_of(reduction, REDUCTIONS, "reduction")
    inputs, targets, single = _pairs(name, input, target)
    _refuse_swapped(name, inputs, targets, classes)
    terms = []
    for k, (x, t) in enumerate(zip(inputs, targets)):
        at = "" if single else f" at index {k}"
        x = _as_value(x, f"{name}'s input{at}")
        t = _target(t, f"{name}'s target{at}")
        for rule, number in ((inputs_rule, x.data), (targets_rule, getattr(t, "data", t))):
            if rule is not None and not checks.satisfies(number, rule.ok):  # NaN fails all
                raise ValueError(f"{name} needs {rule.expected}; got {number!r}{at}"
                                 f"{rule.hint}")
        terms.append(term(x, t))
    return _reduce(short, terms, reduction, single)


# ---- pieces of the formulas ----------------------------------------------------------------

def _log1p(u: Value) -> Value:
    """log(1 + u) to full precision for any u in [0, 1], from op-table ops only.

    ``(1 + u).log()`` first rounds 1 + u to a float, which throws away u's low digits: for
    u = 1e-10 the result is wrong in the 8th digit, and for u < 1e-16 it is 0.  The rounding
    error of ``w = 1 + u`` is exactly ``u - (w - 1)`` (both subtractions are exact for
    |u| <= 1), and ``log(1 + u) = log(w) + log(1 + err / w) ≈ log(w) + err / w``, with the
    dropped term below 1e-32.
    """
    w = 1.0 + u
    return w.log() + (u - (w - 1.0)) / w


def _clamped_log(p: Value) -> Value:
    """log(p) clamped below at -100, as PyTorch's binary cross-entropy does.

    Past the clamp the result is -100 whatever p is, and its gradient is 0 (a clamp's).
    """
    return (_FLOOR + (p - _FLOOR).relu()).log()


def _clamped_log1p(u: Value) -> Value:
    """log(1 + u) clamped below at -100: the log(1 - p) term, with u = -p.

    The same correction as `_log1p`, with the clamp of `_clamped_log` on ``w = 1 - p``.  The
    correction is exactly 0 wherever the clamp can bite (for p >= 1/2, 1 - p is exact).
    """
    w = 1.0 + u
    floor = _FLOOR + (w - _FLOOR).relu()
    return floor.log() + (u - (w - 1.0)) / floor


def _unit(x):
    return (x >= 0.0) & (x <= 1.0)


_UNIT_TARGETS = _Rule(_unit, "targets in [0, 1]")


def _max_data(zs: list[Value]) -> float:
    # A stabilizer, not a decision: a compiled replay may keep the traced max (see checks).
    return checks.stabilizer([z.data for z in zs])


# ---- softmax --------------------------------------------------------------------------------

def _scores(values, name: str) -> list[Value]:
    zs = [_as_value(z, f"{name} input") for z in _listed(values, f"{name}'s input")]
    if not zs:
        raise ValueError(f"{name} needs at least one value; got an empty list")
    return zs


def softmax(values: Sequence) -> list[Value]:
    """exp(z_i) / sum_j exp(z_j): turns scores into probabilities that add up to 1.

    Stable for any finite scores: every score is first shifted by the largest one, which makes
    every exponent <= 0, so nothing overflows.  softmax(z) = softmax(z - c) for every constant
    c, so the shift changes neither the result nor its gradient, and it is a plain number, not
    a Value.  It is the one number read from the data (`checks.stabilizer`): a graph traced
    once and replayed on other scores (`microgrant.compile`) computes softmax with the traced
    shift (the same softmax, rounded a little differently), and traces again once the
    largest score moves `microgrant.compile.SHIFT_BAND` away from it.

    Args:
        values: a non-empty list of Values (or numbers, treated as constants).

    Returns:
        A list of Values, one probability per input.

    >>> [round(p.data, 4) for p in softmax([Value(1.0), Value(2.0), Value(3.0)])]
    [0.09, 0.2447, 0.6652]
    >>> [p.data for p in softmax([Value(1000.0), Value(-1000.0)])]
    [1.0, 0.0]
    """
    zs = _scores(values, "softmax")
    shift = _max_data(zs)
    exps = [(z - shift).exp() for z in zs]
    total = Value.sum(exps)
    return [e / total for e in exps]


def log_softmax(values: Sequence) -> list[Value]:
    """log(softmax(z))_i = z_i - log(sum_j exp(z_j)), computed without overflow.

    Taking the log of `softmax` would turn a probability that underflowed to 0 into -inf;
    this form keeps z_i - max(z) - log(sum_j exp(z_j - max(z))), which is finite for every
    finite input.  The shift by max(z) is a constant, as in `softmax`.

    Args:
        values: a non-empty list of Values (or numbers, treated as constants).

    Returns:
        A list of Values, one log-probability per input.

    >>> [round(v.data, 4) for v in log_softmax([Value(1.0), Value(2.0), Value(3.0)])]
    [-2.4076, -1.4076, -0.4076]
    >>> [v.data for v in log_softmax([Value(0.0), Value(-1000.0)])]
    [0.0, -1000.0]
    """
    zs = _scores(values, "log_softmax")
    shift = _max_data(zs)
    log_total = Value.sum([(z - shift).exp() for z in zs]).log()
    return [z - shift - log_total for z in zs]


# ---- losses ---------------------------------------------------------------------------------

def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error: the average of (input - target)^2.

    Args:
        input: a Value, or a list of Values (numbers are treated as constants).
        target: a number for each input (targets get no gradient, as in every loss here).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (a list of per-sample losses).

    Returns:
        A Value labelled ``mse`` (or, with ``reduction="none"`` and a list, a list of Values
        labelled ``mse[1]``, ``mse[2]``, ...).

    >>> loss = mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0])
    >>> loss.data, loss.label          # ((1 - 0)^2 + (3 - 1)^2) / 2
    (2.5, 'mse')
    """
    return _elementwise("mse_loss", "mse", lambda x, t: (x - t) ** 2, input, target,
                        reduction)


def binary_cross_entropy(input, target, reduction: str = "mean"):
    """-(y log p + (1 - y) log(1 - p)): the loss of a predicted probability p of class 1.

    As in PyTorch, each log is clamped at -100, so a confident wrong answer (p = 0 for y = 1)
    costs 100 instead of infinity, and the gradient there is 0.  Gradients equal PyTorch's
    wherever p (1 - p) > 1e-12; closer to 0 or 1 PyTorch caps its derivative, while this
    function gives the derivative of what it computes.  For raw scores (logits) use
    `binary_cross_entropy_with_logits`, which is stable where sigmoid-then-log is not.

    Args:
        input: a probability p in [0, 1] (a Value, e.g. a sigmoid output), or a list of them.
        target: the label y of each: 0 or 1 (or a soft label in between).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> round(binary_cross_entropy(Value(0.8), 1).data, 6)     # -log(0.8)
    0.223144
    >>> binary_cross_entropy(Value(0.0), 1).data               # clamped, not inf
    100.0
    """
    def term(p: Value, y) -> Value:
        # y log p + (1 - y) log(1 - p), with y only ever multiplying a node of p: 1 - y on its
        # own would fold into a new constant when y is a constant Value, and a graph traced
        # with placeholder targets would keep the first ones.
        log_q = _clamped_log1p(-p)
        # 0 - (...) rather than -(...): a perfect prediction costs 0.0, not -0.0.
        # (log_q - y log_q) is exactly 0 for y = 1 and log_q for y = 0: no digits lost.
        return 0.0 - (y * _clamped_log(p) + (log_q - y * log_q))

    return _elementwise("binary_cross_entropy", "bce", term, input, target, reduction,
                        classes=(0.0, 1.0),
                        inputs_rule=_Rule(_unit, "probabilities in [0, 1]",
                                          " (for raw scores use "
                                          "binary_cross_entropy_with_logits)"),
                        targets_rule=_UNIT_TARGETS)


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean"):
    """Binary cross-entropy of sigmoid(z), computed from the logit z without a sigmoid.

    The loss is ``relu(z) - z*y + log(1 + exp(-|z|))``, which equals
    ``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))`` but never exponentiates a positive
    number, so it is finite and exact for z = +-1000, where sigmoid rounds to 0 or 1 and the
    log would be -inf.  Its gradient is ``sigmoid(z) - y``, the tidy result the notes derive
    for logistic regression.

    It is written ``z/2 - z y + (|z|/2 + log(1 + exp(-|z|)))``, using relu(z) = (z + |z|)/2.
    The bracket is an even function of z whose slope at 0 is 0, so abs's kink at 0 adds
    nothing there and the gradient at z = 0 is the true 1/2 - y (a bare relu(z) would give
    -y).  Gradients agree with PyTorch's to 1e-16 (absolute).

    Args:
        input: a logit z (a Value, e.g. a linear output), or a list of them.
        target: the label y of each: 0 or 1 (or a soft label in between).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> z = Value(0.0)
    >>> loss = binary_cross_entropy_with_logits(z, 1)
    >>> round(loss.data, 6), loss.label          # log 2
    (0.693147, 'bce_logits')
    >>> loss.backward(); z.grad                  # sigmoid(0) - 1
    -0.5
    >>> binary_cross_entropy_with_logits(Value(-1000.0), 1).data
    1000.0
    """
    def term(z: Value, y) -> Value:
        a = z.abs()
        # z * 0.5 - z * y, not z * (0.5 - y): y stays an input of the graph (see
        # binary_cross_entropy).
        return ((z * 0.5 - z * y) + 0.5 * a) + _log1p((-a).exp())

    return _elementwise("binary_cross_entropy_with_logits", "bce_logits", term, input,
                        target, reduction, classes=(0.0, 1.0), targets_rule=_UNIT_TARGETS)


def hinge_loss(input, target, reduction: str = "mean"):
    """max(0, 1 - y s): the SVM loss micrograd's moons demo trains with.

    A sample scores 0 loss once it is on the right side of the boundary by a margin of 1
    (y s >= 1); inside the margin, or on the wrong side, the loss grows linearly.  A NaN score
    gives a NaN loss (relu(nan) is nan), never a silent 0.

    Args:
        input: a score s (a Value), or a list of them; its sign is the predicted class.
        target: the label y of each: -1 or +1.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> hinge_loss([Value(2.0), Value(0.5), Value(1.0)], [1, 1, 1]).data   # (0 + 0.5 + 0) / 3
    0.16666666666666666
    >>> hinge_loss(Value(0.5), -1).data
    1.5
    """
    return _elementwise("hinge_loss", "hinge", lambda s, y: (1.0 - y * s).relu(), input,
                        target, reduction, classes=(-1.0, 1.0),
                        targets_rule=_Rule(lambda y: (y == -1.0) | (y == 1.0), "labels -1 or +1",
                                           " (for 0/1 labels use 2 * y - 1, or the "
                                           "datasets' labels='pm1')"))


@functools.cache  # one check per count: a compiled step applies each to its numbers at once
def _class_rule(n: int) -> Callable:
    return lambda y: (y >= 0.0) & (y < n) & (y == np.floor(y))  # works on arrays too


def _class_index(name: str, t, n_classes: int, at: str) -> int | Value:
    """A class index, checked: an int, or a Value (a label `microgrant.compile` hands in),
    which the loss picks by in the graph (`Value.pick`), so a replay picks by each label."""
    if isinstance(t, Value) and checks.satisfies(t.data, _class_rule(n_classes)):
        return t
    what = f"{name}'s target{at} (a class index)"
    if isinstance(t, Value):  # refused below: its number says why
        if not float(t.data).is_integer():
            raise TypeError(f"{what} must be a whole number; got {t.data!r}")
        t = int(t.data)
    index = checks.count(t, what, minimum=0)
    if index >= n_classes:
        raise ValueError(f"{name}: class index {index}{at} is out of range for "
                         f"{n_classes} classes (valid: 0 to {n_classes - 1})")
    return index


def _one_hot_hint(target) -> str:
    numbers_ = [_number(t) for t in target] if isinstance(target, (list, tuple)) else []
    if numbers_ and set(numbers_) <= {0.0, 1.0} and numbers_.count(1.0) == 1:
        return (f"; if it is one-hot, pass the index of its 1 instead: "
                f"{numbers_.index(1.0)}")
    return ""


def _is_softmax_output(zs: list[Value]) -> bool:
    """Whether ``zs`` are exactly the outputs of one `softmax` (read from the graph's shape:
    each ``exp / total``, with ``total`` the sum of those exps, in order)."""
    first = zs[0]
    if first.op != "div" or len(first.inputs) != 2:
        return False
    total = first.inputs[1]
    if total.op != "sum" or len(total.inputs) != len(zs):
        return False
    return all(p.op == "div" and p.inputs[1] is total and p.inputs[0] is e and e.op == "exp"
               for p, e in zip(zs, total.inputs))


def _refuse_softmax_output(zs: list[Value], at: str) -> None:
    if not is_grad_enabled():
        # no_grad records no graph to read: flag what looks like probabilities instead.
        data = [z.data for z in zs]
        if all(0.0 <= p <= 1.0 for p in data) and abs(sum(data) - 1.0) < 1e-9:
            warnings.warn(f"cross_entropy's input{at} looks like probabilities (each in "
                          "[0, 1], adding up to 1): cross_entropy applies softmax itself, so "
                          "pass the scores before softmax, or use cross_entropy_probs",
                          UserWarning, stacklevel=4)
        return
    if _is_softmax_output(zs):
        raise ValueError(f"cross_entropy takes class scores (logits) and applies softmax "
                         f"itself; its input{at} is already the output of a softmax, so "
                         "softmax would be applied twice and the loss would be wrong. Pass the "
                         "scores before softmax: cross_entropy(z, target) (for a model, end it "
                         "with a linear layer: MLP(..., output='linear'), no Softmax module); "
                         "from probabilities, use cross_entropy_probs(p, target)")


def cross_entropy(input, target, reduction: str = "mean"):
    """-log softmax(z)[target]: the loss of class scores against the true class.

    Computed as ``-log_softmax(z)[target]``, that is ``logsumexp(z) - z[target]`` with the
    max shifted out first, so scores of +-1000 are fine.  Its gradient with respect to z_i is
    ``softmax(z)_i - [i == target]``.  A class index given as a Value (`microgrant.compile`
    hands labels in so) picks the score in the graph (`Value.pick`).  It applies softmax, so
    the output of `softmax` (or of a model ending in one) is refused: softmax twice would
    give a wrong loss without a word (0.802 instead of 0.417 in the example below).  Inside
    `no_grad` no graph says where an input came from: inputs that look like probabilities
    get a warning there instead.

    Args:
        input: the scores z of one sample (a list of Values, one per class), or a list of
            such lists, one per sample.
        target: the true class (an int in 0..k-1), or a list of them, one per sample.  A
            one-hot vector is not a class index: pass the index of its 1.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> z = [Value(2.0), Value(1.0), Value(0.1)]
    >>> loss = cross_entropy(z, 0)
    >>> round(loss.data, 4)
    0.417
    >>> loss.backward(); [round(v.grad, 4) for v in z]
    [-0.341, 0.2424, 0.0986]
    """
    checks.one_of(reduction, REDUCTIONS, "reduction")
    samples, single = _class_samples("cross_entropy", input, target)
    terms = []
    for at, zs, t in samples:
        _refuse_softmax_output(zs, at)
        index = _class_index("cross_entropy", t, len(zs), at)
        logs = log_softmax(zs)
        # 0 - x rather than -x: the same number, except that a perfect prediction (x = 0)
        # gives a loss of 0.0, where -x would give -0.0.
        terms.append(0.0 - (logs[index] if isinstance(index, int) else Value.pick(logs, index)))
    return _reduce("cross_entropy", terms, reduction, single)


def cross_entropy_probs(input, target, reduction: str = "mean"):
    """-log p[target]: the loss of class probabilities (a softmax's outputs) against the true
    class.

    `cross_entropy` for a model that applies softmax itself (``MLP(..., output="softmax")``
    or a `Softmax` module last); from scores, `cross_entropy` is stabler.  ``log p`` is
    clamped at -100 as in `binary_cross_entropy` (p = 0 costs 100, not infinity).  Keras's
    ``sparse_categorical_crossentropy``; not PyTorch's ``NLLLoss``, which takes log p.

    Args:
        input: one sample's probabilities (a list of Values in [0, 1], one per class), or a
            list of such lists, one per sample.
        target: the true class (an int in 0..k-1), or a list of them.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> p = softmax([Value(2.0), Value(1.0), Value(0.1)])
    >>> round(cross_entropy_probs(p, 0).data, 4)     # cross_entropy of the scores: the same
    0.417
    """
    checks.one_of(reduction, REDUCTIONS, "reduction")
    name, terms = "cross_entropy_probs", []
    samples, single = _class_samples(name, input, target)
    for at, ps, t in samples:
        for p in ps:
            if not checks.satisfies(p.data, _unit):  # NaN fails too
                raise ValueError(f"{name} needs probabilities in [0, 1]; got {p.data!r}{at} "
                                 "(for class scores (logits) use cross_entropy)")
        index = _class_index(name, t, len(ps), at)
        p = ps[index] if isinstance(index, int) else Value.pick(ps, index)
        terms.append(0.0 - _clamped_log(p))
    return _reduce(name, terms, reduction, single)


def _class_samples(name: str, input, target) -> tuple[list[tuple[str, list[Value], Any]], bool]:
    """(where, class values, target) per sample: one sample's list (one Value per class)
    with a class index, or a batch of lists with a list of class indices; checked."""
    what = "class probabilities" if name == "cross_entropy_probs" else "class scores"
    if _is_one(input):
        raise ValueError(f"{name} needs a list of {what} per sample (one Value per "
                         f"class); got a single value {checks.shown(input)}")
    rows = _listed(input, f"{name}'s input")
    if rows and all(_is_one(z) for z in rows):
        if not _is_one(target):
            listed = _listed(target, f"{name}'s target")
            raise ValueError(
                f"{name}: input is one sample's list of {what} ({len(rows)} "
                f"classes), so target must be its class index (an int); got a list "
                f"{checks.shown(listed)}{_one_hot_hint(listed)}. For a batch, input is a "
                "list of lists, one per sample")
        return [("", _scores(rows, name), target)], True
    if _is_one(target):
        raise ValueError(f"{name}: input is a batch of {len(rows)} samples, so target must "
                         f"be a list of {len(rows)} class indices; got {checks.shown(target)}")
    targets = _listed(target, f"{name}'s target")
    if len(rows) != len(targets):
        raise ValueError(f"{name}: input has {len(rows)} samples but target has "
                         f"{len(targets)} class indices; they must pair up one to one")
    if not rows:
        raise ValueError(f"{name}: input is empty (an empty list has no mean)")
    samples = []
    for k, (z, t) in enumerate(zip(rows, targets)):
        at = f" at index {k}"
        if _is_one(z):
            raise ValueError(f"{name} needs a list of {what} per sample; got a single "
                             f"value {checks.shown(z)}{at}")
        if not _is_one(t):
            raise ValueError(f"{name}: the target{at} must be a class index (an int); got "
                             f"{checks.shown(t)}{_one_hot_hint(t)}")
        samples.append((at, _scores(z, name), t))
    return samples, False
