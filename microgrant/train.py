"""A small training loop: forward, loss, backward, step, over and over.

Everything the engine does comes together here.  Each step runs the model on a batch of
samples (the forward pass records one graph for the whole batch), turns the outputs into one
loss, calls ``loss.backward()`` to put d(loss)/d(weight) on every weight, and lets the
optimiser move the weights.  `fit` does that for a number of epochs and keeps a `History` of
the loss and accuracy; `predict` and `accuracy` run the model without recording a graph.

    >>> from microgrant.nn import MLP
    >>> from microgrant.data import logic_gate
    >>> X, y = logic_gate("xor", labels="pm1")
    >>> model = MLP(2, [8, 1], seed=1)
    >>> history = fit(model, X, y, lr=0.1, epochs=200, verbose=False)
    >>> history.loss_name, accuracy(model, X, y)         # -1/+1 labels: the hinge loss
    ('hinge', 1.0)
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import checks
from .compile import compile as compile_step
from .engine import Value, no_grad
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
)
from .optim import SGD

__all__ = ["fit", "predict", "accuracy", "History", "LOSSES"]

#: Loss names `fit` knows, with the loss function and the output value that separates the
#: two classes (scores and logits split at 0, probabilities at 0.5; None: from the labels).
LOSSES: dict[str, tuple[Callable, float | None]] = {
    "hinge": (hinge_loss, 0.0),
    "bce": (binary_cross_entropy, 0.5),
    "bce_logits": (binary_cross_entropy_with_logits, 0.0),
    "mse": (mse_loss, None),
    "cross_entropy": (cross_entropy, None),
}


@dataclass
class History:
    """What happened during `fit`, one entry per epoch.

    Attributes:
        loss: the mean training loss of each epoch (including the ``l2`` penalty).
        accuracy: the fraction of training samples classified correctly in each epoch, as
            measured on that epoch's forward passes (``None`` when the targets are not class
            labels).
        lr: the learning rate used in each epoch.
        stop_reason: why training stopped before ``epochs`` ran out, or ``None``.
        diverged: whether it stopped because the loss or a parameter stopped being finite
            (the parameters are then those from before the step that broke them).
        loss_name: the name of the loss `fit` trained with (see `LOSSES`), the one it chose
            when none was given; ``None`` for a loss function of your own.  Pass it to
            `accuracy` as ``loss=`` to score the model as `fit` did.

    >>> h = History(loss=[0.9, 0.4], accuracy=[0.5, 1.0], lr=[0.1, 0.1])
    >>> h.epochs, h.loss[-1]
    (2, 0.4)
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stop_reason: str | None = None
    loss_name: str | None = None
    diverged: bool = False

    @property
    def epochs(self) -> int:
        """How many epochs ran: one loss is recorded per epoch.

        >>> History(loss=[0.9, 0.4, 0.2]).epochs, History().epochs
        (3, 0)
        """
        return len(self.loss)


# ---- data -----------------------------------------------------------------------------------

def _rows(X) -> list[list]:
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


def _check_finite(rows: list[list], targets: list) -> None:
    """NaN or inf in the data would train on garbage: say where, before anything changes."""
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            checks.finite(v, f"X[{i}][{j}]")
    for i, t in enumerate(targets):
        if not isinstance(t, (list, tuple)):
            checks.finite(t, f"y[{i}]")


def _targets(y, n: int) -> list:
    targets = y.tolist() if isinstance(y, np.ndarray) else list(y)
    if len(targets) != n:
        raise ValueError(f"X has {n} samples but y has {len(targets)} targets; they must "
                         "pair up one to one")
    return targets


def _labels(targets: list) -> tuple[float, float] | None:
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


def _scorer(targets: list, threshold: float | None):
    """A function (output data, target) -> correct?, or None when accuracy means nothing."""
    labels: tuple | None = _labels(targets)
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


def _output_data(out):
    if isinstance(out, Value):
        return out.data
    if isinstance(out, (list, tuple)):
        return [v.data if isinstance(v, Value) else float(v) for v in out]
    return float(out)


# ---- inference ------------------------------------------------------------------------------

def predict(model, X) -> np.ndarray:
    """The model's raw outputs for every sample, computed without recording a graph.

    Args:
        model: a `microgrant.nn.Module` (or any callable taking one sample).
        X: samples, a 2-D array or a list of rows.

    Returns:
        A float64 array: shape ``(n,)`` for a model with one output, ``(n, k)`` for k outputs.

    >>> from microgrant.nn import Neuron
    >>> n = Neuron(2, activation="linear", seed=0)
    >>> n.w[0].data, n.w[1].data = 1.0, -1.0
    >>> predict(n, [[3.0, 1.0], [0.0, 2.0]]).tolist()
    [2.0, -2.0]
    """
    with no_grad():
        outputs = [_output_data(model(row)) for row in _rows(X)]
    return np.array(outputs, dtype=np.float64)


def accuracy(model, X, y, threshold: float | None = None, *, loss=None) -> float:
    """The fraction of samples the model classifies correctly.

    For one output, the output at or above a threshold means the positive class.  Pass the
    ``loss`` the model was trained with, and the threshold is the one `fit` scores with
    (`LOSSES`): 0 for ``"hinge"`` and ``"bce_logits"`` (scores and logits), 0.5 for
    ``"bce"`` (probabilities).  Without it the threshold is midway between the labels: 0 for
    -1/+1, 0.5 for 0/1, which agrees with every loss but ``"bce_logits"``: a model that
    outputs logits with 0/1 labels needs ``loss="bce_logits"`` (or ``threshold=0``); after
    `fit` chose the loss itself, pass ``loss=history.loss_name``.  For
    several outputs the predicted class is the index of the largest, compared with integer
    class labels.

    Args:
        model: a `microgrant.nn.Module` (or any callable taking one sample).
        X: samples, a 2-D array or a list of rows.
        y: class labels: -1/+1, 0/1, or class indices 0..k-1 for a model with k outputs.
        threshold: where a single output splits the two classes; overrides ``loss``.
        loss: the loss the model was trained with, as named for `fit`; it sets the threshold.

    >>> from microgrant.nn import Neuron
    >>> n = Neuron(1, activation="linear", seed=0)
    >>> n.w[0].data = 1.0
    >>> accuracy(n, [[2.0], [-1.0], [3.0]], [1, -1, -1])
    0.6666666666666666
    >>> X, y = [[0.3], [-0.2]], [1, 0]           # outputs 0.3 and -0.2, read as logits
    >>> accuracy(n, X, y), accuracy(n, X, y, loss="bce_logits")
    (0.5, 1.0)
    """
    from_loss = None if loss is None else _loss_fn(loss)[1]
    threshold = from_loss if threshold is None else checks.finite(threshold, "threshold")
    rows = _rows(X)
    targets = _targets(y, len(rows))
    score = _scorer(targets, threshold)
    if score is None:
        raise ValueError("accuracy needs class labels (-1/+1, 0/1 or class indices); got "
                         f"targets such as {targets[:3]!r}")
    with no_grad():
        hits = sum(score(_output_data(model(row)), t) for row, t in zip(rows, targets))
    return hits / len(rows)


# ---- training -------------------------------------------------------------------------------

def _numbers(nested):
    """Values (nested in lists) as their numbers: a compiled step's targets as eager's."""
    if isinstance(nested, list):
        return [_numbers(x) for x in nested]
    return nested.data if isinstance(nested, Value) else nested


def _loss_fn(loss) -> tuple[Callable, float | None]:
    if callable(loss) and not isinstance(loss, str):
        return loss, None
    if loss not in LOSSES:
        valid = ", ".join(repr(name) for name in LOSSES)
        raise ValueError(f"unknown loss {loss!r}; valid losses are {valid}, or a function "
                         "(outputs, targets) -> Value")
    return LOSSES[loss]


def _default_loss(targets: list, output) -> str:
    """The loss the labels call for: what `fit` trains with when it is given none.

    -1/+1 labels are scores for the hinge loss; 0/1 labels are probabilities for ``"bce"``
    when the model ends in a sigmoid, else logits for ``"bce_logits"``; a model with several
    outputs is scored by ``"cross_entropy"``; anything else is a regression for ``"mse"``.
    """
    if isinstance(output, (list, tuple)):
        return "cross_entropy"
    labels = _labels(targets)
    if labels == (-1.0, 1.0):
        return "hinge"
    if labels == (0.0, 1.0):
        return "bce" if isinstance(output, Value) and output.op == "sigmoid" else "bce_logits"
    return "mse"


def _scheduled_lr(schedule: Callable[[int], float], epoch: int) -> float:
    """The learning rate a schedule gives for ``epoch``, checked as the optimisers check lr."""
    value = schedule(epoch)
    try:
        return checks.nonnegative(value, "lr")
    except (TypeError, ValueError) as error:
        raise type(error)(f"the learning-rate schedule gave lr({epoch}) = {value!r}: "
                          f"{error}") from None


def _non_finite(params: list[Value]) -> str | None:
    """The first parameter that is NaN or infinite, named, or None when all are finite."""
    for i, p in enumerate(params):
        if not math.isfinite(p.data):
            return f"{p.label or f'parameters()[{i}]'} = {p.data!r}"
    return None


class _Progress:
    """One progress line: rewritten in place on a terminal, printed now and then elsewhere."""

    def __init__(self, stream, epochs: int, every: int | None):
        self.stream = stream
        self.epochs = epochs
        try:
            self.tty = bool(stream.isatty())
        except (AttributeError, ValueError):  # no isatty, or a closed stream
            self.tty = False
        self.every = every if every is not None else (1 if self.tty else max(1, epochs // 10))
        self.width = 0

    def line(self, epoch: int, loss: float, acc: float | None, lr: float) -> str:
        digits = len(str(self.epochs))
        text = f"epoch {epoch + 1:>{digits}}/{self.epochs}  loss {loss:.6g}"
        if acc is not None:
            text += f"  accuracy {acc:.1%}"
        return text + f"  lr {lr:.4g}"

    def update(self, epoch: int, loss: float, acc: float | None, lr: float,
               last: bool) -> None:
        if not (last or epoch == 0 or (epoch + 1) % self.every == 0):
            return
        text = self.line(epoch, loss, acc, lr)
        if self.tty:
            # '\r' returns to the start of the line; spaces wipe a longer previous line.
            self.stream.write("\r" + text + " " * max(0, self.width - len(text)))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, message: str | None) -> None:
        if self.tty and self.width:
            self.stream.write("\n")
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()


def fit(model, X, y, loss=None, optimizer=None, epochs: int = 100,
        batch_size: int | None = None, lr: float | Callable[[int], float] | None = None,
        l2: float = 0.0, seed=None, target_accuracy: float | None = None,
        patience: int | None = None, min_delta: float = 0.0, verbose: bool = True,
        stream=None, log_every: int | None = None, compile: bool = False) -> History:
    """Trains ``model`` on ``(X, y)`` by gradient descent and returns its `History`.

    Each epoch shuffles the samples (when there is more than one batch), and for each batch
    runs the forward pass, computes the loss (plus ``l2`` times the sum of squared
    parameters), clears the gradients, runs ``backward`` and takes an optimiser step.

    Without a ``loss`` the labels choose one: -1/+1 labels train with ``"hinge"``; 0/1
    labels with ``"bce_logits"`` (the model's output is read as a logit), or ``"bce"`` when
    the model ends in a sigmoid; a model with several outputs with ``"cross_entropy"``; any
    other targets with ``"mse"``.  ``History.loss_name`` says which it was.

    Training stops, with a warning and in ``History.stop_reason``, when the loss or a
    parameter becomes NaN or infinite (diverged, usually from too large a learning rate):
    the parameters are put back as they were before the step that broke them.

    Args:
        model: a `microgrant.nn.Module`: callable on one sample, with ``parameters()``.
        X: samples, a 2-D array or a list of rows, all finite numbers.
        y: targets, one per sample (labels -1/+1 for ``"hinge"``, 0/1 for ``"bce"`` and
            ``"bce_logits"``, class indices for ``"cross_entropy"``, numbers for ``"mse"``).
        loss: ``"hinge"``, ``"bce"`` (the model outputs probabilities), ``"bce_logits"``,
            ``"mse"``, ``"cross_entropy"``, a function ``(outputs, targets) -> Value``, or
            ``None`` to follow the labels (above).
        optimizer: an optimiser over ``model.parameters()``; default ``SGD`` with ``lr``.
        epochs: the most passes over the data.
        batch_size: samples per step; ``None`` uses all of them (full-batch descent).
        lr: the learning rate, or a function epoch -> learning rate (a schedule; epochs count
            from 0).  ``None`` keeps the optimiser's, or 0.1 for the default SGD.  It is
            checked as the optimisers check theirs (a finite number >= 0); a schedule is
            called for every epoch before training starts, so a bad rate changes no weight.
        l2: weight of the L2 penalty ``sum(p * p)`` added to the loss.
        seed: seeds the shuffling (None, an int or a ``numpy.random.Generator``).
        target_accuracy: stop once an epoch's accuracy reaches this.  In full-batch training
            the step after that measurement is skipped, so the model returned is the one
            that reached it.
        patience: stop after this many epochs without the loss improving by ``min_delta``.
        min_delta: the smallest decrease of the loss that counts as improving.
        verbose: print progress (``False`` prints nothing).
        stream: where progress goes (default ``sys.stdout``).  On a terminal one line is
            updated in place; elsewhere a line is printed every ``log_every`` epochs
            (default: about ten lines in all).
        log_every: print every this many epochs.
        compile: run each step as array code (`microgrant.compile`): the batch's graph is
            traced once and replayed, the same numbers as eager training, many times
            faster.  Accuracy then takes an eager forward pass (no graph), so it is measured
            only where it is needed: every epoch with ``target_accuracy``, else at the last
            epoch (``History.accuracy`` holds ``None`` for the others).  One trace serves
            every batch of the same size, whatever its labels, except with
            ``cross_entropy``: its class index picks the score the loss takes, so batches
            with other labels are traced again (full batches keep one trace).

    Returns:
        A `History` with each epoch's loss, accuracy and learning rate.

    Raises:
        ValueError: bad arguments, NaN or infinite numbers in ``X``, ``y`` or the model's
            parameters (nothing is trained then).

    >>> from microgrant.nn import MLP
    >>> from microgrant.data import logic_gate
    >>> X, y = logic_gate("and")
    >>> model = MLP(2, [1], output="sigmoid", seed=0)
    >>> h = fit(model, X, y, lr=1.0, epochs=300, target_accuracy=1.0, verbose=False)
    >>> h.loss_name, h.accuracy[-1], h.stop_reason is not None
    ('bce', 1.0, True)
    """
    epochs = checks.count(epochs, "epochs")
    rows = _rows(X)
    n = len(rows)
    targets = _targets(y, n)
    if loss is not None:
        _loss_fn(loss)  # an unknown name is reported before the data is looked at
    _check_finite(rows, targets)
    if batch_size is not None:
        batch_size = checks.count(batch_size, "batch_size")
    l2 = checks.nonnegative(l2, "l2")
    min_delta = checks.nonnegative(min_delta, "min_delta")
    if target_accuracy is not None:
        target_accuracy = checks.fraction(target_accuracy, "target_accuracy", zero=False)
    if patience is not None:
        patience = checks.count(patience, "patience")
    if log_every is not None:
        log_every = checks.count(log_every, "log_every")
    schedule = lr if callable(lr) else None
    rate = None  # a fixed learning rate given to fit
    if schedule is not None:
        # Every epoch's rate is checked before training starts, so a schedule that goes
        # negative late in the run is caught before any weight has changed.
        rates = [_scheduled_lr(schedule, epoch) for epoch in range(epochs)]
    elif lr is not None:
        rate = checks.nonnegative(lr, "lr")  # the check the optimisers apply to their own lr
    params = model.parameters()
    broken = _non_finite(params)
    if broken is not None:
        raise ValueError(f"the model's parameter {broken} is not a finite number; training "
                         "would spread it to every weight (initialise or load the weights "
                         "again)")
    # Each sample's inputs become constant Values once, here, instead of on every forward.
    inputs = [[Value(v, requires_grad=False) for v in row] for row in rows]
    if loss is None:
        loss = _default_loss(targets, model(inputs[0]))
    loss_fn, threshold = _loss_fn(loss)
    score = _scorer(targets, threshold)
    if target_accuracy is not None and score is None:
        raise ValueError("target_accuracy needs class labels as targets, and these targets "
                         "are not (-1/+1, 0/1 or class indices)")
    if optimizer is None:
        optimizer = SGD(params, lr=0.1 if rate is None else rate)
    elif rate is not None:
        optimizer.lr = rate
    rng = checks.rng(seed)
    size = n if batch_size is None else min(batch_size, n)
    full_batch = size == n

    step = None
    if compile:
        custom = callable(loss) and not isinstance(loss, str)

        def batch_loss(batch_rows, batch_targets):
            if custom:  # the user's loss gets numbers as targets, as it does eagerly
                batch_targets = _numbers(batch_targets)
            value = loss_fn([model(row) for row in batch_rows], batch_targets)
            return value + l2 * Value.sum([p * p for p in params]) if l2 else value
        step = compile_step(batch_loss)

    history = History(loss_name=loss if isinstance(loss, str) else None)
    progress = _Progress(stream if stream is not None else sys.stdout, epochs, log_every) \
        if verbose else None
    best, waited = math.inf, 0
    for epoch in range(epochs):
        if schedule is not None:
            optimizer.lr = rates[epoch]
        order = range(n) if full_batch else rng.permutation(n).tolist()
        total_loss, hits, stop, diverged = 0.0, 0, None, None
        for start in range(0, n, size):
            batch = order[start:start + size]
            batch_targets = [targets[i] for i in batch]
            before = [p.data for p in params]
            try:
                if step is not None:
                    measure = score is not None and (target_accuracy is not None
                                                     or epoch == epochs - 1)
                    if measure:
                        with no_grad():
                            outputs = [model(inputs[i]) for i in batch]
                    optimizer.zero_grad()
                    number = step([rows[i] for i in batch], batch_targets)
                else:
                    measure = score is not None
                    outputs = [model(inputs[i]) for i in batch]
                    value = loss_fn(outputs, batch_targets)
                    if l2:
                        value = value + l2 * Value.sum([p * p for p in params])
                    number = value.data
                if not math.isfinite(number):
                    diverged = f"the loss became {number!r}"
                    break
                total_loss += number * len(batch)
                if measure:
                    hits += sum(score(_output_data(o), t)
                                for o, t in zip(outputs, batch_targets))
                if full_batch and target_accuracy is not None and hits / n >= target_accuracy:
                    stop = f"accuracy {hits / n:.1%} reached the target {target_accuracy:.1%}"
                    break  # no step: keep the model that was just measured
                if step is None:
                    optimizer.zero_grad()
                    value.backward()
                optimizer.step()
            except OverflowError as error:  # a number beyond the largest float
                diverged = str(error)
            broken = _non_finite(params)
            if diverged is not None or broken is not None:
                # A diverged step loses nothing: the weights go back to those before it.
                for p, data in zip(params, before):
                    p.data = data
                diverged = diverged or f"a step made {broken}"
                break
        if diverged is not None:
            history.diverged = True
            history.stop_reason = (f"stopped in epoch {epoch + 1}: training diverged, "
                                   f"{diverged}; the parameters are as they were before that "
                                   "step (try a smaller learning rate)")
            warnings.warn(f"fit {history.stop_reason}", RuntimeWarning, stacklevel=2)
            break
        epoch_loss = total_loss / n
        measured = score is not None and (step is None or target_accuracy is not None
                                          or epoch == epochs - 1)
        epoch_acc = hits / n if measured else None
        history.loss.append(epoch_loss)
        history.accuracy.append(epoch_acc)
        history.lr.append(optimizer.lr)
        if stop is None and epoch_acc is not None and target_accuracy is not None \
                and epoch_acc >= target_accuracy:
            stop = f"accuracy {epoch_acc:.1%} reached the target {target_accuracy:.1%}"
        if stop is None and patience is not None:
            if epoch_loss < best - min_delta:
                best, waited = epoch_loss, 0
            else:
                waited += 1
                if waited >= patience:
                    stop = f"the loss did not improve for {patience} epochs"
        if progress is not None:
            progress.update(epoch, epoch_loss, epoch_acc, optimizer.lr,
                            last=stop is not None or epoch == epochs - 1)
        if stop is not None:
            history.stop_reason = f"stopped after epoch {epoch + 1}: {stop}"
            break
    if progress is not None:
        progress.close(history.stop_reason)
    return history
