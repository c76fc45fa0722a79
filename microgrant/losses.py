"""Losses and softmax: the last nodes of a graph, where backprop starts.

Training turns "how wrong is the network?" into one number, the loss, and ``loss.backward()``
sends d(loss)/d(weight) to every weight.  Everything here is built from ordinary `Value` ops,
so each loss is a small graph you can draw, and its gradient comes from the same op table as
everything else: there is no hand-written backward pass to get wrong.

Each loss takes one prediction or a list of them (with a target or a list of targets) and,
as in PyTorch, a ``reduction``: ``"mean"`` (the default) averages the per-sample losses,
``"sum"`` adds them, ``"none"`` returns the list.  The numbers match float64 PyTorch's.

Stability is the one subtle part.  ``exp(1000)`` overflows a float, and ``log(1 + e)`` loses
every digit of a tiny ``e``.  The functions below never exponentiate a large positive number
(softmax shifts by the maximum first; the logistic losses split on the sign of the logit), and
they compute ``log(1 + u)`` for small ``u`` from its series, so inputs of +-1000 give finite,
accurate losses and gradients.
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import numpy as np

from .engine import Value

__all__ = [
    "softmax",
    "log_softmax",
    "mse_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "REDUCTIONS",
]

REDUCTIONS = ("mean", "sum", "none")
"""The ``reduction`` every loss takes: average the per-sample losses, add them, or keep them."""

# PyTorch clamps log(p) at -100 in binary cross-entropy, so p = 0 or 1 costs 100, not infinity.
_LOG_CLAMP = -100.0


# ---- small helpers ------------------------------------------------------------------------

def _as_value(x, what: str) -> Value:
    """A Value as it is; a real number as a constant Value (no gradient)."""
    if isinstance(x, Value):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return Value(float(x), requires_grad=False)
    raise TypeError(f"{what} must be a Value or a real number; got {type(x).__name__} {x!r}")


def _as_number(y, what: str) -> float:
    """A target: a real number (a Value's data is used, targets get no gradient)."""
    if isinstance(y, Value):
        return y.data
    if isinstance(y, numbers.Real) and not isinstance(y, bool):
        return float(y)
    raise TypeError(f"{what} must be a real number; got {type(y).__name__} {y!r}")


def _is_scalar(x) -> bool:
    return isinstance(x, (Value, numbers.Real)) or (isinstance(x, np.ndarray) and x.ndim == 0)


def _as_list(x) -> list:
    return x.tolist() if isinstance(x, np.ndarray) else list(x)


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        valid = ", ".join(repr(r) for r in REDUCTIONS)
        raise ValueError(f"reduction must be one of {valid}; got {reduction!r}")


def _pairs(name: str, pred, target) -> tuple[list, list, bool]:
    """(predictions, targets, single): one pair, or two lists of the same non-zero length."""
    if _is_scalar(pred):
        if not _is_scalar(target):
            raise ValueError(f"{name}: one prediction needs one target; got a target of "
                             f"type {type(target).__name__}")
        if isinstance(pred, np.ndarray):
            pred = pred.item()
        if isinstance(target, np.ndarray):
            target = target.item()
        return [pred], [target], True
    if _is_scalar(target):
        raise ValueError(f"{name}: a list of {len(pred)} predictions needs a list of as many "
                         f"targets; got a single target {target!r}")
    preds, targets = _as_list(pred), _as_list(target)
    if len(preds) != len(targets):
        raise ValueError(f"{name}: got {len(preds)} predictions but {len(targets)} targets; "
                         "they must pair up one to one")
    if not preds:
        raise ValueError(f"{name}: got no predictions (an empty list has no mean)")
    return preds, targets, False


def _reduce(losses: list, reduction: str, single: bool):
    if single:
        return losses[0]
    if reduction == "none":
        return losses
    total = Value.sum(losses)
    return total / len(losses) if reduction == "mean" else total


def _log1p(u: Value) -> Value:
    """log(1 + u), accurate even when u is tiny.

    ``(1 + u).log()`` first rounds 1 + u to a float, which throws away u's low digits: for
    u = 1e-10 the result is wrong in the 8th digit, and for u < 1e-16 it is 0.  For small u
    the series u - u^2/2 + u^3/3 - u^4/4 + u^5/5 is exact to float precision instead.
    """
    if abs(u.data) < 1e-3:
        # Horner's form of the series; the next term, u^6/6, is below 2e-16 relative here.
        return u * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * (0.25 - u * 0.2))))
    return (1.0 + u).log()


def _clamped_log(x: Value) -> Value:
    """log(x) clamped below at -100, as PyTorch's binary cross-entropy does.

    Past the clamp the result is -100 whatever x is, so its gradient is 0 (as a clamp's is).
    """
    if x.data > 0.0 and math.log(x.data) >= _LOG_CLAMP:
        return x.log()
    return _clamped(x)


def _clamped(x: Value) -> Value:
    # -100 as `0 * x - 100` rather than a bare constant: the loss stays connected to x, so
    # backward() still runs (and gives x the clamp's gradient, 0) when every sample is clamped.
    return x * 0.0 + _LOG_CLAMP


def _clamped_log1p(u: Value) -> Value:
    """log(1 + u) clamped below at -100 (u = -p, for the log(1 - p) term)."""
    one_plus = 1.0 + u.data
    if one_plus > 0.0 and math.log1p(u.data) >= _LOG_CLAMP:
        return _log1p(u)
    return _clamped(u)


# ---- softmax --------------------------------------------------------------------------------

def softmax(values: Sequence) -> list[Value]:
    """exp(z_i) / sum_j exp(z_j): turns scores into probabilities that add up to 1.

    Stable for any finite scores: every score is first shifted by the largest one, which
    leaves the result unchanged (softmax(z) = softmax(z - c) for any constant c) and makes
    every exponent <= 0, so nothing overflows.  The shift is a plain number, not a Value,
    because it changes neither the result nor its gradient.

    Args:
        values: a non-empty list of Values (or numbers, treated as constants).

    Returns:
        A list of Values, one probability per input.

    >>> [round(p.data, 4) for p in softmax([Value(1.0), Value(2.0), Value(3.0)])]
    [0.09, 0.2447, 0.6652]
    >>> [p.data for p in softmax([Value(1000.0), Value(-1000.0)])]
    [1.0, 0.0]
    """
    zs = [_as_value(z, "softmax input") for z in _as_list(values)]
    if not zs:
        raise ValueError("softmax needs at least one value; got an empty list")
    shift = max(z.data for z in zs)
    exps = [(z - shift).exp() for z in zs]
    total = Value.sum(exps)
    return [e / total for e in exps]


def log_softmax(values: Sequence) -> list[Value]:
    """log(softmax(z))_i = z_i - log(sum_j exp(z_j)), computed without overflow.

    Taking the log of `softmax` would turn a probability that underflowed to 0 into -inf;
    this form keeps z_i - max(z) - log(sum_j exp(z_j - max(z))), which is finite for every
    finite input.

    Args:
        values: a non-empty list of Values (or numbers, treated as constants).

    Returns:
        A list of Values, one log-probability per input.

    >>> [round(v.data, 4) for v in log_softmax([Value(1.0), Value(2.0), Value(3.0)])]
    [-2.4076, -1.4076, -0.4076]
    >>> [v.data for v in log_softmax([Value(0.0), Value(-1000.0)])]
    [0.0, -1000.0]
    """
    zs = [_as_value(z, "log_softmax input") for z in _as_list(values)]
    if not zs:
        raise ValueError("log_softmax needs at least one value; got an empty list")
    shift = max(z.data for z in zs)
    log_total = Value.sum([(z - shift).exp() for z in zs]).log()
    return [z - shift - log_total for z in zs]


# ---- losses ---------------------------------------------------------------------------------

def mse_loss(pred, target, reduction: str = "mean"):
    """Mean squared error: the average of (prediction - target)^2.

    Args:
        pred: a Value, or a list of Values (numbers are treated as constants).
        target: a number for each prediction (a Value's data is used: targets get no
            gradient, as in every loss here).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (a list of per-sample losses).

    Returns:
        A Value (or, with ``reduction="none"`` and a list, a list of Values).

    >>> loss = mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0])
    >>> loss.data            # ((1 - 0)^2 + (3 - 1)^2) / 2
    2.5
    >>> loss.backward()
    """
    _check_reduction(reduction)
    preds, targets, single = _pairs("mse_loss", pred, target)
    losses = []
    for i, (p, t) in enumerate(zip(preds, targets)):
        p = _as_value(p, f"mse_loss prediction {i}")
        t = _as_number(t, f"mse_loss target {i}")
        losses.append((p - t) ** 2)
    return _reduce(losses, reduction, single)


def binary_cross_entropy(p, y, reduction: str = "mean"):
    """-(y log p + (1 - y) log(1 - p)): the loss of a predicted probability p of class 1.

    As in PyTorch, each log is clamped at -100, so a confident wrong answer (p = 0 for y = 1)
    costs 100 instead of infinity, and the gradient there is 0.  Gradients equal PyTorch's
    wherever p (1 - p) > 1e-12; closer to 0 or 1 PyTorch caps its derivative, while this
    function gives the derivative of what it computes.  For raw scores (logits) use
    `binary_cross_entropy_with_logits`, which is stable where sigmoid-then-log is not.

    Args:
        p: a probability in [0, 1] (a Value, e.g. a sigmoid output), or a list of them.
        y: the target for each: 0 or 1 (or a soft label in between).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> round(binary_cross_entropy(Value(0.8), 1).data, 6)     # -log(0.8)
    0.223144
    >>> binary_cross_entropy(Value(0.0), 1).data               # clamped, not inf
    100.0
    """
    _check_reduction(reduction)
    preds, targets, single = _pairs("binary_cross_entropy", p, y)
    losses = []
    for i, (pi, yi) in enumerate(zip(preds, targets)):
        pi = _as_value(pi, f"binary_cross_entropy probability {i}")
        yi = _as_number(yi, f"binary_cross_entropy target {i}")
        if not 0.0 <= pi.data <= 1.0:
            raise ValueError(f"binary_cross_entropy needs probabilities in [0, 1]; got "
                             f"p = {pi.data!r} at index {i} (for raw scores use "
                             "binary_cross_entropy_with_logits)")
        if not 0.0 <= yi <= 1.0:
            raise ValueError(f"binary_cross_entropy needs targets in [0, 1]; got "
                             f"y = {yi!r} at index {i}")
        # log(1 - p) as log1p(-p): for small p, 1 - p would round away p's digits.
        terms = []
        if yi != 0.0:
            terms.append(yi * _clamped_log(pi))
        if yi != 1.0:
            terms.append((1.0 - yi) * _clamped_log1p(-pi))
        losses.append(-Value.sum(terms))
    return _reduce(losses, reduction, single)


def binary_cross_entropy_with_logits(z, y, reduction: str = "mean"):
    """Binary cross-entropy of sigmoid(z), computed from the logit z without a sigmoid.

    The loss is ``relu(z) - z*y + log(1 + exp(-|z|))``, which equals
    ``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))`` but never exponentiates a positive
    number, so it is finite and exact for z = +-1000, where sigmoid rounds to 0 or 1 and the
    log would be -inf.  Its gradient is ``sigmoid(z) - y``, the tidy result the notes
    derive for logistic regression.

    The formula is applied in its two halves, ``z (1 - y) + log(1 + exp(-z))`` for z >= 0 and
    ``-z y + log(1 + exp(z))`` for z < 0: the same smooth function, but without relu and
    abs, whose kinks at z = 0 would give a gradient of -y instead of 0.5 - y there.

    Args:
        z: a logit (a Value, e.g. a linear output), or a list of them.
        y: the target for each: 0 or 1 (or a soft label in between).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> z = Value(0.0)
    >>> loss = binary_cross_entropy_with_logits(z, 1)
    >>> round(loss.data, 6)                    # log 2
    0.693147
    >>> loss.backward(); z.grad                # sigmoid(0) - 1
    -0.5
    >>> binary_cross_entropy_with_logits(Value(-1000.0), 1).data
    1000.0
    """
    _check_reduction(reduction)
    preds, targets, single = _pairs("binary_cross_entropy_with_logits", z, y)
    losses = []
    for i, (zi, yi) in enumerate(zip(preds, targets)):
        zi = _as_value(zi, f"binary_cross_entropy_with_logits logit {i}")
        yi = _as_number(yi, f"binary_cross_entropy_with_logits target {i}")
        if not 0.0 <= yi <= 1.0:
            raise ValueError(f"binary_cross_entropy_with_logits needs targets in [0, 1]; got "
                             f"y = {yi!r} at index {i}")
        if zi.data >= 0.0:
            losses.append(zi * (1.0 - yi) + _log1p((-zi).exp()))
        else:
            losses.append(_log1p(zi.exp()) - zi * yi)
    return _reduce(losses, reduction, single)


def _class_index(t, n_classes: int, i: int | None) -> int:
    where = "" if i is None else f" at index {i}"
    if isinstance(t, np.generic):
        t = t.item()
    if not isinstance(t, numbers.Integral) or isinstance(t, bool):
        raise TypeError(f"cross_entropy needs a class index (an int){where}; got "
                        f"{type(t).__name__} {t!r}")
    if not 0 <= t < n_classes:
        raise ValueError(f"cross_entropy: class index {t}{where} is out of range for "
                         f"{n_classes} classes (valid: 0 to {n_classes - 1})")
    return int(t)


def cross_entropy(logits, target_index, reduction: str = "mean"):
    """-log softmax(logits)[target]: the loss of class scores against the true class.

    Computed as ``-log_softmax(z)[target]``, that is ``logsumexp(z) - z[target]`` with the
    max shifted out first, so scores of +-1000 are fine.  Its gradient with respect to z_i is
    ``softmax(z)_i - [i == target]``.

    Args:
        logits: the scores of one sample (a list of Values), or a list of such lists.
        target_index: the true class (an int in 0..k-1), or a list of them, one per sample.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> z = [Value(2.0), Value(1.0), Value(0.1)]
    >>> loss = cross_entropy(z, 0)
    >>> round(loss.data, 4)
    0.417
    >>> loss.backward(); [round(v.grad, 4) for v in z]
    [-0.341, 0.2424, 0.0986]
    """
    _check_reduction(reduction)
    if isinstance(target_index, (numbers.Integral, np.integer)) or _is_scalar(target_index):
        samples, targets, single = [logits], [target_index], True
    else:
        samples, targets = _as_list(logits), _as_list(target_index)
        single = False
        if len(samples) != len(targets):
            raise ValueError(f"cross_entropy: got {len(samples)} samples of logits but "
                             f"{len(targets)} target indices; they must pair up one to one")
        if not samples:
            raise ValueError("cross_entropy: got no samples (an empty list has no mean)")
    losses = []
    for i, (z, t) in enumerate(zip(samples, targets)):
        if _is_scalar(z):
            raise ValueError("cross_entropy needs a list of class scores per sample; got a "
                             f"single score {z!r}" + ("" if single else f" at index {i}"))
        zs = [_as_value(v, "cross_entropy logit") for v in _as_list(z)]
        if not zs:
            raise ValueError("cross_entropy needs at least one class score per sample")
        t = _class_index(t, len(zs), None if single else i)
        # 0 - x rather than -x: the same number, except that a perfect prediction (x = 0)
        # gives a loss of 0.0, where -x would give -0.0.
        losses.append(0.0 - log_softmax(zs)[t])
    return _reduce(losses, reduction, single)


def hinge_loss(scores, labels, reduction: str = "mean"):
    """max(0, 1 - y s): the SVM loss micrograd's moons demo trains with.

    A sample scores 0 loss once it is on the right side of the boundary by a margin of 1
    (y s >= 1); inside the margin, or on the wrong side, the loss grows linearly.

    Args:
        scores: a score (a Value), or a list of them; its sign is the predicted class.
        labels: the class of each: -1 or +1.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> hinge_loss([Value(2.0), Value(0.5), Value(1.0)], [1, 1, 1]).data   # (0 + 0.5 + 0) / 3
    0.16666666666666666
    >>> hinge_loss(Value(0.5), -1).data
    1.5
    """
    _check_reduction(reduction)
    preds, targets, single = _pairs("hinge_loss", scores, labels)
    losses = []
    for i, (s, y) in enumerate(zip(preds, targets)):
        s = _as_value(s, f"hinge_loss score {i}")
        y = _as_number(y, f"hinge_loss label {i}")
        if y not in (-1.0, 1.0):
            raise ValueError(f"hinge_loss needs labels -1 or +1; got {y!r} at index {i} (for "
                             "0/1 labels use 2 * y - 1, or the datasets' labels='pm1')")
        losses.append((1.0 - y * s).relu())
    return _reduce(losses, reduction, single)
