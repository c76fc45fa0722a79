"""Samples, targets and the accuracy rule: what training and scoring read from the data.

Backprop needs numbers in and a target to compare with; these helpers turn a user's ``X`` and
``y`` (numpy arrays or lists) into rows of floats once, check them (NaN or inf would train on
garbage), read which class labels they hold, and score a model's output against its target
by one rule, the one `microgrant.train.fit` and `microgrant.train.accuracy` share.
"""

from __future__ import annotations

import numbers
from typing import Callable

import numpy as np

from . import checks, nn
from .engine import Value

__all__ = ["numbers_of", "sample_rows", "check_finite", "targets_of", "class_labels", "scorer",
           "output_data", "hits", "output_activation"]


# ---- samples and targets ----------------------------------------------------------------------

def numbers_of(nested):
    """Values, nested in lists, as their numbers: what a loss is handed as targets eagerly.

    >>> numbers_of([Value(1.0), [Value(2.0), 3.0]])
    [1.0, [2.0, 3.0]]
    """
    if isinstance(nested, list):
        return [numbers_of(x) for x in nested]
    return nested.data if isinstance(nested, Value) else nested


def sample_rows(X) -> list[list]:
    """The samples as lists of Python floats (converted from numpy once, not every epoch)."""
    if isinstance(X, np.ndarray):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, one row per sample; got shape {X.shape}")
        rows = X.tolist()
    else:
        rows = [list(row.tolist() if isinstance(row, np.ndarray) else row) for row in X]
    if not rows:
        raise ValueError("X has no samples")
    return rows


def check_finite(rows: list[list], targets: list) -> None:
    """NaN or inf in the data would train on garbage: say where, before anything changes."""
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            checks.finite(v, f"X[{i}][{j}]")
    for i, t in enumerate(targets):
        if not isinstance(t, (list, tuple)):
            checks.finite(t, f"y[{i}]")


def targets_of(y, n: int) -> list:
    """The targets as a list, one per sample, checked to pair up with the ``n`` samples."""
    targets = y.tolist() if isinstance(y, np.ndarray) else list(y)
    if len(targets) != n:
        raise ValueError(f"X has {n} samples but y has {len(targets)} targets; they must "
                         "pair up one to one")
    return targets


def class_labels(targets: list) -> tuple[float, float] | None:
    """(negative, positive) class labels for a two-class problem, or None."""
    values = set()
    for t in targets:
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            return None
        values.add(float(t))
    if values <= {-1.0, 1.0} and -1.0 in values:
        return (-1.0, 1.0)
    if values <= {0.0, 1.0}:
        return (0.0, 1.0)
    return None


def scorer(targets: list, threshold: float | None):
    """A function (output data, target) -> correct?, or None when accuracy means nothing."""
    labels: tuple | None = class_labels(targets)
    if labels is None:
        if all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in targets):
            labels = ()  # class indices: only list outputs (argmax) can be scored
        else:
            return None
    if threshold is None and labels:
        threshold = (labels[0] + labels[1]) / 2.0
    positive = 1.0

    def correct(out, target) -> bool:
        if isinstance(out, list):  # class scores: the predicted class is the largest
            return max(range(len(out)), key=out.__getitem__) == target
        if not labels:
            raise ValueError("the targets are class indices, so the model must output a list "
                             "of class scores; it gave a single number")
        # At or above the threshold is the positive class.
        return (out >= threshold) == (target == positive)

    return correct


def output_data(out):
    """A model's output as plain numbers: a float, or a list of them for several outputs."""
    if isinstance(out, Value):
        return out.data
    if isinstance(out, (list, tuple)):
        return [v.data if isinstance(v, Value) else float(v) for v in out]
    return float(out)


def hits(score: Callable, outputs, targets) -> int:
    """How many of ``outputs`` (Values or numbers) score as their targets say."""
    return sum(score(output_data(o), t) for o, t in zip(outputs, targets))


def output_activation(model) -> str | None:
    """The activation a model's outputs pass through last, read from the model itself.

    An `MLP`'s output layer's, a `Sequential`'s last module's, a `Neuron`'s, a layer's or an
    activation module's own; ``None`` for a module of your own (its ``forward`` could end in
    anything).  Training and accuracy read it to tell probabilities from logits: it does not
    depend on whether a graph is being recorded.

    >>> from microgrant.nn import MLP, Linear, Sequential, Softmax
    >>> output_activation(MLP(2, [3, 1], output="sigmoid", seed=0))
    'sigmoid'
    >>> output_activation(Sequential(Linear(2, 3, seed=0), Softmax()))
    'softmax'
    """
    if isinstance(model, nn.MLP):
        return model.layers[-1].activation
    if isinstance(model, nn.Sequential):
        return output_activation(model[-1]) if len(model) else None
    if isinstance(model, (nn.Neuron, nn.Layer, nn.Linear, nn.Activation)):
        return model.activation
    return None
