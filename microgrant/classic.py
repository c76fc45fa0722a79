"""The models the notes build before backprop: McCulloch-Pitts, the perceptron, Adaline.

Where this sits: everything else in microgrant trains by gradient descent, with the gradients
that `Value.backward` computes. The models here come first, historically and in the notes
(000, 003, 004), and they learn *without* gradients:

* a **McCulloch-Pitts neuron** (1943) does not learn at all: a person sets its weights and
  threshold, and it fires (1) when the weighted sum of its 0/1 inputs reaches the threshold;
* the **Rosenblatt perceptron** (1958) learns its weights and bias with the perceptron rule,
  ``w += lr * (y - y_hat) * x``: it nudges the line toward every misclassified point and
  ignores the rest. Its output goes through the Heaviside step, whose derivative is 0
  everywhere it exists, so backprop would see a gradient of 0 and never move. That does not
  matter here, because the rule never asks for a gradient: it uses the error ``y - y_hat``
  directly. (`Value.step` has gradient 0 for exactly this reason.)
* **Adaline** (Widrow and Hoff, 1960) applies the same kind of update to the *linear* output
  before the threshold. That error is differentiable, and the delta rule turns out to be
  gradient descent on the squared error: the bridge to everything after it.

A single layer of any of these draws one straight line, so none of them can compute XOR;
two layers of hand-set threshold units can (`xor_network`), but the step function left no way
to *train* such a network, until backprop and smooth activations.

Plain Python floats throughout; inputs may be lists, tuples or numpy arrays.

>>> p = Perceptron(2, weights=[1.0, 1.0], bias=-1.2)   # note 000's AND perceptron
>>> p.predict([[0, 0], [0, 1], [1, 0], [1, 1]])
[0, 0, 0, 1]
"""

from __future__ import annotations

import math
from typing import Sequence

from . import checks

# The label conventions (LABELS: (negative class, positive class)) are the datasets' own, so a
# model and its data can never disagree on them.
from .data import LABELS

__all__ = ["McCullochPitts", "Perceptron", "Adaline", "ThresholdNetwork", "perceptron_trick",
           "heaviside", "xor_network", "LABELS"]


def heaviside(z: float) -> int:
    """The step function of the notes: 1 when ``z >= 0``, else 0.

    ``heaviside(0) == 1``, as in notes 000 and 004 ("1 if W^T X + b >= 0").

    >>> heaviside(2.0), heaviside(0.0), heaviside(-0.1)
    (1, 1, 0)
    """
    return 1 if z >= 0 else 0


# --------------------------------------------------------------------------- input helpers

def _as_vector(x, n: int | None = None, name: str = "x") -> list[float]:
    """One sample as a list of floats, checking its length against ``n``."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of numbers; got {type(x).__name__}")
    try:
        items = list(x)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of numbers; got {checks.shown(x)}") from None
    values = [checks.finite(v, f"{name}[{i}]") for i, v in enumerate(items)]
    if n is not None and len(values) != n:
        raise ValueError(f"{name} has {len(values)} values; this model takes {n} inputs")
    return values


def _is_batch(x) -> bool:
    """True for a 2-D input (a list of samples), False for a single sample."""
    try:
        first = x[0]
    except (TypeError, IndexError, KeyError):
        return False
    return not isinstance(first, (str, bytes)) and hasattr(first, "__len__")


def _dot(weights: Sequence[float], x: Sequence[float]) -> float:
    return math.fsum(w * v for w, v in zip(weights, x))


def _init_weights(n_inputs: int, weights, seed, scale: float) -> list[float]:
    if weights is not None:
        return _as_vector(weights, n_inputs, name="weights")
    # The notes start from random weights; small ones, so the first line passes near the data.
    return checks.rng(seed).uniform(-scale, scale, size=n_inputs).tolist()


def _rows_and_targets(X, y, n_inputs: int, allowed: tuple[int, int], labels: str):
    rows = [_as_vector(x, n_inputs, name=f"X[{i}]") for i, x in enumerate(X)]
    targets = [checks.finite(t, f"y[{i}]") for i, t in enumerate(y)]
    if len(rows) != len(targets):
        raise ValueError(f"X has {len(rows)} rows but y has {len(targets)} labels")
    if not rows:
        raise ValueError("X is empty: nothing to fit")
    bad = sorted({t for t in targets if t not in allowed})
    if bad:
        raise ValueError(
            f'labels="{labels}" means y must be {allowed[0]} or {allowed[1]}; got {bad[:5]}. '
            'Pass labels="01" or labels="pm1" to match your data (data.py makes either).'
        )
    return rows, targets


# --------------------------------------------------------------------------- McCulloch-Pitts

class McCullochPitts:
    """A McCulloch-Pitts neuron: fixed weights, fires when the weighted sum reaches a threshold.

    ``g(x) = sum(w_i * x_i)``; the neuron outputs 1 if ``g(x) >= threshold``, else 0 (note 004).
    Nothing is learned: the weights and threshold are set by hand. With weights ``[1, 1]``,
    threshold 2 gives AND and threshold 1 gives OR.

    The 1943 neuron had only unit (excitatory) weights plus inhibitory inputs that veto firing;
    as note 004 does, this one allows any weights, so a weight of -1 plays the inhibitory
    part (``x2 and not x1`` is weights ``[-1, 1]``, threshold 1).

    Args:
        weights: one weight per input.
        threshold: the value the weighted sum must reach for the neuron to fire.

    >>> AND = McCullochPitts([1, 1], threshold=2)
    >>> OR = McCullochPitts([1, 1], threshold=1)
    >>> [AND(x) for x in [(0, 0), (0, 1), (1, 0), (1, 1)]]
    [0, 0, 0, 1]
    >>> OR.predict([(0, 0), (0, 1), (1, 0), (1, 1)])
    [0, 1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], threshold: float):
        self.weights = _as_vector(weights, name="weights")
        if not self.weights:
            raise ValueError("a McCulloch-Pitts neuron needs at least one weight")
        self.threshold = checks.finite(threshold, "threshold")

    @property
    def n_inputs(self) -> int:
        """Number of inputs: one per weight.

        >>> McCullochPitts([1, 1, -1], threshold=1).n_inputs
        3
        """
        return len(self.weights)

    def weighted_sum(self, x: Sequence[float]) -> float:
        """The aggregation ``g(x) = sum(w_i * x_i)`` for one sample of 0/1 inputs.

        >>> McCullochPitts([1, 1], threshold=2).weighted_sum([1, 1])
        2.0
        """
        values = _as_vector(x, self.n_inputs)
        # "MCP neuron can not treat non-boolean inputs" (note 004): it is a logic unit.
        if any(v not in (0.0, 1.0) for v in values):
            raise ValueError(f"McCulloch-Pitts inputs must be 0 or 1; got {values}")
        return _dot(self.weights, values)

    def predict(self, x):
        """1 if the neuron fires for sample ``x``, else 0; a list of these for a list of samples.

        >>> McCullochPitts([1, 1], threshold=2).predict([1, 0])
        0
        """
        if _is_batch(x):
            return [self.predict(row) for row in x]
        return 1 if self.weighted_sum(x) >= self.threshold else 0

    __call__ = predict

    def __repr__(self) -> str:
        return f"McCullochPitts(weights={self.weights}, threshold={self.threshold})"


class ThresholdNetwork:
    """Layers of hand-set McCulloch-Pitts units: each layer's outputs are the next one's inputs.

    Args:
        layers: a list of layers, each a list of `McCullochPitts` units.

    >>> net = xor_network()
    >>> net.predict([[0, 0], [0, 1], [1, 0], [1, 1]])
    [0, 1, 1, 0]
    """

    def __init__(self, layers: Sequence[Sequence[McCullochPitts]]):
        self.layers = [list(layer) for layer in layers]
        if not self.layers or any(not layer for layer in self.layers):
            raise ValueError("a ThresholdNetwork needs at least one layer, each with a unit")
        for i in range(1, len(self.layers)):
            width = len(self.layers[i - 1])
            for unit in self.layers[i]:
                if unit.n_inputs != width:
                    raise ValueError(
                        f"layer {i} has a unit with {unit.n_inputs} inputs, but layer {i - 1}"
                        f" has {width} units"
                    )

    def layer_outputs(self, x: Sequence[float]) -> list[list[int]]:
        """Every layer's outputs for one sample, first hidden layer first.

        >>> xor_network().layer_outputs([1, 0])     # [h1, h2], then [y]
        [[0, 1], [1]]
        """
        outputs: list[list[int]] = []
        signal: list = list(x)
        for layer in self.layers:
            signal = [unit.predict(signal) for unit in layer]
            outputs.append(signal)
        return outputs

    def predict(self, x):
        """The network's output for one sample (an int if the last layer has one unit, else a
        list), or a list of outputs for a list of samples.

        >>> xor_network().predict([1, 1])
        0
        """
        if _is_batch(x):
            return [self.predict(row) for row in x]
        out = self.layer_outputs(x)[-1]
        return out[0] if len(out) == 1 else out

    __call__ = predict


def xor_network() -> ThresholdNetwork:
    """The two-layer Heaviside network of note 004 that computes XOR.

    ``h1 = x2 and not x1``, ``h2 = x1 and not x2``, ``y = h1 or h2``. Each is one threshold
    unit; a single unit cannot do it, because no one line puts (0,1) and (1,0) on one side and
    (0,0) and (1,1) on the other. The hidden layer bends the problem: in (h1, h2) coordinates
    the four inputs become (0,0), (1,0), (0,1), (0,0), and OR separates those with one line.

    >>> net = xor_network()
    >>> [net(x) for x in [(0, 0), (0, 1), (1, 0), (1, 1)]]
    [0, 1, 1, 0]
    """
    h1 = McCullochPitts([-1, 1], threshold=1)  # x2 and not x1: fires only for (0, 1)
    h2 = McCullochPitts([1, -1], threshold=1)  # x1 and not x2: fires only for (1, 0)
    y = McCullochPitts([1, 1], threshold=1)  # h1 or h2
    return ThresholdNetwork([[h1, h2], [y]])


# --------------------------------------------------------------------------- perceptron

def perceptron_trick(
    weights: Sequence[float], bias: float, point: Sequence[float], label: int, lr: float = 0.1
) -> tuple[list[float], float]:
    """Move the line ``w . x + b = 0`` toward one misclassified point (notes 000 and 003).

    If the point is on the wrong side, add ``lr * (x_1, ..., x_n, 1)`` to ``(w, b)`` for a
    positive point, subtract it for a negative one; a correctly classified point leaves the
    line alone. "On the positive side" means ``w . x + b >= 0``.

    Args:
        weights: the line's weights ``w_1 .. w_n``.
        bias: the line's bias ``b`` (the constant term, -10 in ``3x1 + 4x2 - 10``).
        point: the point's coordinates.
        label: its true class: 1 for positive; 0 or -1 for negative (note 000 writes the
            negative class as -1, note 003 as 0; both are accepted).
        lr: the learning rate, > 0.

    Returns:
        ``(new_weights, new_bias)``; the inputs are not modified.

    >>> w, b = perceptron_trick([3, 4], -10, point=(4, 5), label=0, lr=0.1)
    >>> [round(v, 10) for v in w], round(b, 10)
    ([2.6, 3.5], -10.1)
    """
    w = _as_vector(weights, name="weights")
    x = _as_vector(point, len(w), name="point")
    if label not in (0, 1, -1):
        raise ValueError(f"label must be 1 (positive) or 0 / -1 (negative); got {label!r}")
    target = 1 if label == 1 else 0
    lr = checks.positive(lr, "lr")
    bias = checks.finite(bias, "bias")
    # error = y - y_hat is +1 (positive point below the line: add the point), -1 (negative
    # point above it: subtract) or 0 (already right: change nothing)
    error = target - heaviside(_dot(w, x) + bias)
    return [wi + lr * error * xi for wi, xi in zip(w, x)], bias + lr * error


class _LinearUnit:
    """What the perceptron and Adaline share: a line ``w . x + b`` and a threshold on it.

    Subclasses set ``_init_scale`` (the range of random initial weights) and say, in
    ``_threshold``, where on the linear output the positive class starts; they differ in how
    they learn (`step`, `fit`).
    """

    _init_scale = 1.0

    def __init__(self, n_inputs: int, weights: Sequence[float] | None = None,
                 bias: float = 0.0, *, labels: str = "01", seed=None):
        self.n_inputs = checks.count(n_inputs, "n_inputs")
        self.labels = checks.one_of(labels, LABELS, "labels")
        self.classes = LABELS[labels]
        self.weights = _init_weights(self.n_inputs, weights, seed, self._init_scale)
        self.bias = checks.finite(bias, "bias")
        self.history: list[tuple[list[float], float]] = []

    def _threshold(self) -> float:
        return 0.0

    def decision_function(self, x: Sequence[float]) -> float:
        """The linear output ``w . x + b`` of one sample.

        >>> Perceptron(2, weights=[2, 1], bias=-18).decision_function([7, 6])  # note 003
        2.0
        """
        return self._output(_as_vector(x, self.n_inputs))

    def _output(self, values: list[float]) -> float:
        return _dot(self.weights, values) + self.bias

    def _class(self, values: list[float]) -> int:
        negative, positive = self.classes
        return positive if self._output(values) >= self._threshold() else negative

    def predict(self, x):
        """The class of one sample, or a list of classes for a list of samples.

        >>> Perceptron(2, weights=[2, 1], bias=-18).predict([[7, 6], [3, 4]])
        [1, 0]
        """
        if _is_batch(x):
            return [self.predict(row) for row in x]
        return self._class(_as_vector(x, self.n_inputs))

    def score(self, X, y) -> float:
        """Accuracy: the fraction of samples classified correctly.

        >>> Perceptron(2, weights=[1, 1], bias=-1.2).score([[0, 0], [1, 1]], [0, 1])
        1.0
        """
        predictions = self.predict([list(row) for row in X])
        targets = list(y)
        if len(predictions) != len(targets):
            raise ValueError(f"X has {len(predictions)} rows but y has {len(targets)} labels")
        return sum(p == t for p, t in zip(predictions, targets)) / len(targets)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n_inputs={self.n_inputs}, weights={self.weights}, "
                f"bias={self.bias})")


class Perceptron(_LinearUnit):
    """Rosenblatt's perceptron, trained by the perceptron learning rule (note 004).

    Prediction: ``y_hat = heaviside(w . x + b)``, that is 1 when ``w . x + b >= 0``.
    Learning, one sample at a time::

        error = y - y_hat        # 0 when right, +1 or -1 when wrong
        w = w + lr * error * x
        b = b + lr * error       # the bias is a weight on a constant input 1

    Right answers change nothing, so this is the perceptron trick applied to each
    misclassified point in turn. On linearly separable data it stops making mistakes after
    finitely many updates (the perceptron convergence theorem); on XOR it never does.

    Args:
        n_inputs: number of features.
        weights: initial weights; if ``None``, drawn uniformly from [-1, 1) using ``seed``.
        bias: initial bias (the negative of the threshold).
        labels: ``"01"`` (classes 0/1, the notes' convention) or ``"pm1"`` (classes -1/+1:
            predictions are -1/+1, and the update is the same step, ``w += lr * y * x`` on a
            mistake; see `step`).
        seed: None, an int or a ``numpy.random.Generator`` (`microgrant.checks.rng`); used
            only to draw the initial weights.

    Attributes:
        weights, bias: the current line ``w . x + b = 0``.
        history: after `fit`, the ``(weights, bias)`` after every epoch (copies), so the moving
            line can be drawn as note 000 does.
        mistakes: after `fit`, the number of misclassified samples (updates) in every epoch.

    >>> p = Perceptron(2, weights=[0.0, 0.0], bias=0.0)
    >>> X, y = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1]    # AND
    >>> p.fit(X, y, lr=0.1, epochs=20).predict(X)
    [0, 0, 0, 1]
    >>> p.mistakes[-1]      # the last epoch made no mistake: it has converged
    0
    """

    def __init__(self, n_inputs: int, weights: Sequence[float] | None = None,
                 bias: float = 0.0, *, labels: str = "01", seed=None):
        super().__init__(n_inputs, weights, bias, labels=labels, seed=seed)
        self.mistakes: list[int] = []

    def step(self, x: Sequence[float], y: int, lr: float = 0.1) -> int:
        """One perceptron-rule update on one sample; returns the error ``y - y_hat``, scaled
        to -1, 0 or +1 (0 means the sample was already right and nothing changed).

        >>> p = Perceptron(2, weights=[3, 4], bias=-10)
        >>> p.step([4, 5], 0, lr=0.1)                 # the perceptron trick of note 000
        -1
        >>> [round(w, 10) for w in p.weights], round(p.bias, 10)
        ([2.6, 3.5], -10.1)
        """
        values = _as_vector(x, self.n_inputs)
        negative, positive = self.classes
        if y not in (negative, positive):
            raise ValueError(f'labels="{self.labels}" means y must be {negative} or {positive}')
        return self._update(values, y, checks.positive(lr, "lr"))

    def _update(self, values: list[float], y: float, lr: float) -> int:
        negative, positive = self.classes
        # With 0/1 labels y - y_hat is already -1, 0 or 1. With -1/+1 it is -2, 0 or 2, so
        # divide by the gap between the classes: the same step either way, and for -1/+1 it
        # is the textbook "on a mistake, w += lr * y * x".
        error = round((y - self._class(values)) / (positive - negative))
        if error:
            self.weights = [w + lr * error * v for w, v in zip(self.weights, values)]
            self.bias += lr * error
        return error

    def fit(self, X, y, lr: float = 0.1, epochs: int = 100) -> "Perceptron":
        """Train with the perceptron rule, starting from the current weights and bias.

        Each epoch visits the samples in order (as note 004's exercise does) and calls `step`
        on each. Training stops early after an epoch without a mistake: nothing can change
        after that. `history` and `mistakes` are reset and then get one entry per epoch.

        Args:
            X: samples, shape ``(m, n_inputs)``.
            y: labels in this perceptron's convention.
            lr: learning rate, > 0.
            epochs: maximum number of passes over the data, >= 1.

        Returns:
            self, so ``Perceptron(2).fit(X, y).predict(X)`` works.

        >>> p = Perceptron(3, weights=[0, 0, 0], bias=0.5)             # note 004's exercise
        >>> X, y = [[3, 2, 1], [1, 1, 1], [1, 2, 3]], [0, 1, 1]
        >>> _ = p.fit(X, y, lr=0.1, epochs=1)
        >>> [round(w, 10) for w in p.weights], round(p.bias, 10)
        ([-0.2, -0.1, 0.0], 0.5)
        """
        rows, targets = _rows_and_targets(X, y, self.n_inputs, self.classes, self.labels)
        lr = checks.positive(lr, "lr")
        epochs = checks.count(epochs, "epochs")
        self.history, self.mistakes = [], []
        for _ in range(epochs):
            wrong = sum(self._update(x, t, lr) != 0 for x, t in zip(rows, targets))
            self.history.append((list(self.weights), self.bias))
            self.mistakes.append(wrong)
            if wrong == 0:
                break
        return self


# --------------------------------------------------------------------------- Adaline

class Adaline(_LinearUnit):
    """Adaline, trained by the delta rule (Widrow-Hoff, least mean squares; note 004).

    Adaline learns from the *linear* output ``F(x) = w . x + b``, not from the thresholded
    class. For each sample::

        error = y - F(x)           # a real number: it says by how much, not just whether
        w = w + lr * error * x
        b = b + lr * error

    This is a gradient-descent step on the squared error ``(y - F(x))^2 / 2``, whose
    derivative with respect to ``w_j`` is ``-(y - F(x)) * x_j``: the first model in the notes
    that learns by following a gradient. Classification thresholds ``F(x)`` halfway between
    the two class values (0.5 for 0/1 labels, 0 for -1/+1).

    Too large a learning rate makes the updates overshoot and diverge; the safe size shrinks
    as the features grow (roughly ``lr < 1 / sum(x_j^2)``), so scale large features first.
    With a fixed learning rate the one-sample-at-a-time updates settle *near* the
    least-squares weights, not exactly on them, so late epochs can wobble by tiny amounts.
    Unlike the perceptron, Adaline minimises squared error, not mistakes: on separable data
    that usually, but not always, classifies every point correctly.

    Args:
        n_inputs: number of features.
        weights: initial weights; if ``None``, drawn uniformly from [-0.1, 0.1) using ``seed``.
        bias: initial bias.
        labels: ``"01"`` or ``"pm1"``: the two values the linear output is trained toward.
        seed: None, an int or a ``numpy.random.Generator`` (`microgrant.checks.rng`); used
            only to draw the initial weights.

    Attributes:
        weights, bias: the current linear unit.
        losses: after `fit`, the cost ``J = 1/(2m) * sum((y - F(x))^2)`` over the whole training
            set at the end of each epoch (note 004's cost).
        history: after `fit`, the ``(weights, bias)`` after every epoch.

    >>> a = Adaline(2, weights=[0, 0])
    >>> X, y = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1]    # AND
    >>> a.fit(X, y, lr=0.1, epochs=200).predict(X)
    [0, 0, 0, 1]
    >>> a.losses[-1] < a.losses[0]
    True
    """

    _init_scale = 0.1

    def __init__(self, n_inputs: int, weights: Sequence[float] | None = None,
                 bias: float = 0.0, *, labels: str = "01", seed=None):
        super().__init__(n_inputs, weights, bias, labels=labels, seed=seed)
        self.losses: list[float] = []

    def _threshold(self) -> float:
        # Halfway between the two class values the linear output is trained toward.
        negative, positive = self.classes
        return (negative + positive) / 2

    def loss(self, X, y) -> float:
        """The cost ``J = 1/(2m) * sum((y - F(x))^2)`` of the linear output on a dataset.

        >>> Adaline(1, weights=[1.0], bias=0.0).loss([[1], [2]], [1, 0])
        1.0
        """
        rows, targets = _rows_and_targets(X, y, self.n_inputs, self.classes, self.labels)
        return self._loss(rows, targets)

    def _loss(self, rows: list[list[float]], targets: list[float]) -> float:
        squared = ((t - _dot(self.weights, x) - self.bias) ** 2 for x, t in zip(rows, targets))
        return math.fsum(squared) / (2 * len(rows))

    def step(self, x: Sequence[float], y: float, lr: float = 0.01) -> float:
        """One delta-rule update on one sample; returns the error ``y - F(x)`` before it.

        >>> a = Adaline(1, weights=[0.0])
        >>> a.step([2.0], 1, lr=0.1), a.weights, a.bias
        (1.0, [0.2], 0.1)
        """
        return self._update(_as_vector(x, self.n_inputs), checks.finite(y, "y"),
                            checks.positive(lr, "lr"))

    def _update(self, values: list[float], y: float, lr: float) -> float:
        error = y - self._output(values)
        self.weights = [w + lr * error * v for w, v in zip(self.weights, values)]
        self.bias += lr * error
        return error

    def fit(self, X, y, lr: float = 0.01, epochs: int = 50) -> "Adaline":
        """Train with the delta rule, one sample at a time, starting from the current weights.

        Args:
            X: samples, shape ``(m, n_inputs)``.
            y: labels in this model's convention.
            lr: learning rate, > 0.
            epochs: number of passes over the data, >= 1 (no early stop: the error keeps
                shrinking toward the least-squares fit long after the classes are right).

        Returns:
            self.

        Raises:
            FloatingPointError: if the weights blow up (the learning rate is too large).
                The model is then put back as it was before the call: weights, bias,
                `losses` and `history`.

        One sample, one epoch, by hand: the error is ``1 - (0 * 2 + 0) = 1``, so
        ``w = 0 + 0.1 * 1 * 2 = 0.2`` and ``b = 0 + 0.1 * 1 = 0.1``.

        >>> a = Adaline(1, weights=[0.0])
        >>> a.fit([[2.0]], [1], lr=0.1, epochs=1).weights, a.bias
        ([0.2], 0.1)

        Too large a step diverges: with ``lr=10`` each update multiplies the error by
        ``1 - 10 * (2^2 + 1) = -49``, until the squared error passes the largest float.  The
        model keeps the weights it had:

        >>> a.fit([[2.0]], [1], lr=10.0, epochs=100)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        FloatingPointError: Adaline diverged in epoch 92 (lr=10.0): the updates overshoot. ...
        >>> a.weights, a.bias, len(a.losses)
        ([0.2], 0.1, 1)
        """
        rows, targets = _rows_and_targets(X, y, self.n_inputs, self.classes, self.labels)
        lr = checks.positive(lr, "lr")
        epochs = checks.count(epochs, "epochs")
        before = (self.weights, self.bias, self.losses, self.history)
        self.losses, self.history = [], []
        for epoch in range(epochs):
            try:
                for x, t in zip(rows, targets):
                    self._update(x, t, lr)
                loss = self._loss(rows, targets)
            except OverflowError:  # float ** 2 past 1e308 raises instead of giving inf
                loss = math.inf
            if not math.isfinite(loss):
                # A failed fit loses nothing: `step` builds new weight lists rather than
                # changing them in place, so the saved ones are still the old numbers.
                self.weights, self.bias, self.losses, self.history = before
                raise FloatingPointError(
                    f"Adaline diverged in epoch {epoch + 1} (lr={lr}): the updates overshoot."
                    " Use a smaller lr or scale the features."
                )
            self.losses.append(loss)
            self.history.append((list(self.weights), self.bias))
        return self
