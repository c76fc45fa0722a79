"""A small training loop: forward, loss, backward, step, over and over.

Everything the engine does comes together here.  Each step runs the model on a batch of
samples (the forward pass records one graph for the whole batch), turns the outputs into one
loss, calls ``loss.backward()`` to put d(loss)/d(weight) on every weight, and lets the
optimiser move the weights.  `fit` does that for a number of epochs and keeps a `History` of
the loss and accuracy; `predict` and `accuracy` run the model without recording a graph.

How `fit` decides, in detail:

* **The loss.**  Without ``loss=``, the labels choose: -1/+1 labels train with ``"hinge"``;
  0/1 labels with ``"bce_logits"`` (the output is read as a logit), or ``"bce"`` when the
  model ends in a sigmoid; a model with several outputs with ``"cross_entropy"``; other
  targets with ``"mse"``.  ``History.loss_name`` says which it was.
* **Accuracy, one rule.**  One output is split into two classes at its loss's threshold
  (`LOSSES`): 0 for scores and logits, 0.5 for probabilities, midway between the labels for
  ``"mse"``.  `accuracy` follows the same rule (without ``loss=``, the loss `fit` would
  choose), so the two agree on the same model.  ``History.accuracy`` is measured on each
  epoch's own forward passes, before that epoch's updates.
* **The learning rate** is checked as the optimisers check theirs (a finite number >= 0); a
  schedule is called for every epoch before training starts, so a bad rate changes no weight.
* **Divergence.**  When the loss or a parameter stops being finite (usually too large a
  learning rate), training stops with a warning and ``History.stop_reason``, and the
  parameters are put back as they were before the step that broke them.
* **Compiled steps** (``compile=True``) trace the batch's graph once and replay it as array
  code: the same numbers as eager training, many times faster.  Accuracy then takes an eager
  forward pass (no graph), so it is measured only where needed: every epoch with
  ``target_accuracy``, else at the last epoch (``None`` for the others).  One trace serves
  every batch of the same size, except with ``cross_entropy``, whose class index picks a node:
  batches with other labels are traced again (full batches keep one trace).
* **Early stopping.**  ``target_accuracy``: in full-batch training the step after the
  measurement that reached it is skipped, so the model returned is the one that reached it.
  ``patience``: stop after that many epochs without the loss falling by more than
  ``min_delta``.
* **Recording.**  ``record=k`` keeps a `Snapshot` before training (epoch 0), after every k-th
  epoch and after the last one: the weights after that epoch's updates, with the loss and
  accuracy of exactly those weights (one forward pass over the data, without a graph, each).
  ``live`` gets ``update(history)`` after each snapshot and ``finish(history)`` at the end;
  ``live=True`` is `microgrant.viz.explore`'s live view.  Neither changes a weight.

    >>> from microgrant.nn import MLP
    >>> from microgrant.data import logic_gate
    >>> X, y = logic_gate("xor", labels="pm1")
    >>> model = MLP(2, [8, 1], seed=1)
    >>> history = fit(model, X, y, lr=0.1, epochs=200, record=50, verbose=False)
    >>> history.loss_name, accuracy(model, X, y)         # -1/+1 labels: the hinge loss
    ('hinge', 1.0)
    >>> [s.epoch for s in history.snapshots], history.snapshots[-1].accuracy
    ([0, 50, 100, 150, 200], 1.0)
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from . import checks
from .compile import compile as compile_step
from .engine import Value, no_grad
from .history import History, Progress, Snapshot
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
)
from .optim import SGD
from .viz.explore import live_view

__all__ = ["fit", "predict", "accuracy", "History", "Snapshot", "LOSSES"]

#: Loss names `fit` knows, with the loss function and the output value that separates the
#: two classes (scores and logits split at 0, probabilities at 0.5; None: from the labels).
LOSSES: dict[str, tuple[Callable, float | None]] = {
    "hinge": (hinge_loss, 0.0),
    "bce": (binary_cross_entropy, 0.5),
    "bce_logits": (binary_cross_entropy_with_logits, 0.0),
    "mse": (mse_loss, None),
    "cross_entropy": (cross_entropy, None),
}


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

    For one output, the output at or above a threshold means the positive class.  The
    threshold follows one rule, the one `fit` scores with: the loss's (`LOSSES`), 0 for
    ``"hinge"`` and ``"bce_logits"`` (scores and logits), 0.5 for ``"bce"`` (probabilities),
    midway between the labels for ``"mse"``.  Without ``loss`` it is the loss `fit` would
    choose for these labels and this model: -1/+1 labels are scores split at 0; 0/1 labels
    are probabilities split at 0.5 when the model ends in a sigmoid, else logits split at 0.
    For several outputs the predicted class is the index of the largest, compared with
    integer class labels.

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
    >>> X, y = [[0.3], [-0.2]], [1, 0]    # a linear output with 0/1 labels: logits, split at 0
    >>> accuracy(n, X, y), accuracy(n, X, y, loss="mse")
    (1.0, 0.5)
    """
    rows = _rows(X)
    targets = _targets(y, len(rows))
    if threshold is not None:
        threshold = checks.finite(threshold, "threshold")
    else:
        # Run with the graph recorded: the output's op says whether the model ends in a sigmoid.
        threshold = _threshold(loss, targets, model(rows[0]))
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


def _threshold(loss, targets: list, output) -> float | None:
    """Where one output splits two classes: the loss's threshold, for the loss given or the
    one `fit` would choose (None: midway between the labels)."""
    return _loss_fn(_default_loss(targets, output) if loss is None else loss)[1]


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


def fit(model, X, y, loss=None, optimizer=None, epochs: int = 100, *,
        batch_size: int | None = None, lr: float | Callable[[int], float] | None = None,
        l2: float = 0.0, seed=None, compile: bool = False,
        target_accuracy: float | None = None, patience: int | None = None,
        min_delta: float = 0.0, record: bool | int | None = None, live=None,
        verbose: bool = True, stream=None, log_every: int | None = None) -> History:
    """Trains ``model`` on ``(X, y)`` by gradient descent and returns its `History`.

    Each epoch runs forward, loss, backward and an optimiser step for each batch (the samples
    shuffled when there is more than one).  What each choice does, in detail, is in this
    module's documentation: the default loss, divergence, compiled steps, early stopping and
    recording.

    Args:
        model, X, y: a `microgrant.nn.Module`; samples (rows of finite numbers); targets.
        loss: a name from `LOSSES`, a function ``(outputs, targets) -> Value``, or ``None``
            to let the labels choose.
        optimizer: default ``SGD(model.parameters(), lr)``.
        epochs: the most passes over the data.
        batch_size: samples per step (``None``: all of them).
        lr: a learning rate, or a function epoch -> rate (epochs from 0); ``None`` keeps the
            optimiser's (0.1 for the default SGD).
        l2: weight of the penalty ``sum(p * p)`` added to the loss.
        seed: seeds the shuffling (None, an int or a numpy Generator).
        compile: run each step as array code (`microgrant.compile`): the same numbers.
        target_accuracy: stop once an epoch's accuracy reaches this.
        patience, min_delta: stop after ``patience`` epochs without the loss falling by
            more than ``min_delta``.
        record: keep a `Snapshot` every ``record`` epochs (``True``: every epoch).
        live: ``True`` (the explorer, in a notebook) or an object with ``update(history)``
            and ``finish(history)``; it implies ``record=True``.
        verbose, stream, log_every: print progress to ``stream`` (default stdout) every
            ``log_every`` epochs (a terminal's line is rewritten in place).

    Raises:
        ValueError: a bad argument, or NaN or infinite numbers in ``X``, ``y`` or the
            parameters (nothing is trained then).  TypeError: an argument of the wrong type.

    >>> from microgrant.nn import MLP
    >>> from microgrant.data import logic_gate
    >>> X, y = logic_gate("and")
    >>> model = MLP(2, [1], output="sigmoid", seed=0)
    >>> h = fit(model, X, y, lr=1.0, epochs=300, target_accuracy=1.0, verbose=False)
    >>> h.loss_name, h.accuracy[-1], h.stop_reason is not None
    ('bce', 1.0, True)
    """
    run = _prepare(model, X, y, loss, optimizer, epochs, batch_size, lr, l2, seed, compile)
    stopping = _Stopping.checked(target_accuracy, patience, min_delta, run.score)
    every, watcher = _recording(record, live, model, X, y, run.history)
    progress = Progress(stream if stream is not None else sys.stdout, run.epochs,
                         None if log_every is None else checks.count(log_every, "log_every")) \
        if verbose else None
    history = run.history
    if every is not None:
        _snapshot(run, model, 0)
    for epoch in range(run.epochs):
        outcome = _run_epoch(run, model, epoch, stopping.target_accuracy)
        if outcome.diverged is not None:
            _diverged(history, epoch, outcome.diverged)
            break
        history.loss.append(outcome.loss)
        history.accuracy.append(outcome.accuracy)
        history.lr.append(run.optimizer.lr)
        stop = outcome.stop or stopping.after(outcome.loss, outcome.accuracy)
        last = stop is not None or epoch == run.epochs - 1
        if every is not None and (last or (epoch + 1) % every == 0):
            _snapshot(run, model, epoch + 1)
            if watcher is not None:
                watcher.update(history)
        if progress is not None:
            progress.update(epoch, outcome.loss, outcome.accuracy, run.optimizer.lr, last)
        if stop is not None:
            history.stop_reason = f"stopped after epoch {epoch + 1}: {stop}"
            break
    if progress is not None:
        progress.close(history.stop_reason)
    if watcher is not None:
        watcher.finish(history)
    return history


def _diverged(history: History, epoch: int, reason: str) -> None:
    history.diverged = True
    history.stop_reason = (f"stopped in epoch {epoch + 1}: training diverged, {reason}; the "
                           "parameters are as they were before that step (try a smaller "
                           "learning rate)")
    warnings.warn(f"fit {history.stop_reason}", RuntimeWarning, stacklevel=3)


@dataclass
class _Run:
    """What `fit` prepares once, before the first epoch: the data, the loss, the step."""

    epochs: int
    rows: list[list]
    targets: list
    inputs: list[list[Value]]  # each sample's inputs as constant Values, made once
    params: list[Value]
    loss_fn: Callable
    score: Callable | None
    l2: float
    optimizer: Any
    rates: list[float] | None  # a schedule's rate for every epoch, checked up front
    size: int
    rng: np.random.Generator
    step: Any  # the compiled step, or None for eager training
    history: History


def _prepare(model, X, y, loss, optimizer, epochs, batch_size, lr, l2, seed,
             compile: bool) -> _Run:
    """Every argument checked and the data converted, before any weight changes."""
    epochs = checks.count(epochs, "epochs")
    rows = _rows(X)
    targets = _targets(y, len(rows))
    if loss is not None:
        _loss_fn(loss)  # an unknown name is reported before the data is looked at
    _check_finite(rows, targets)
    size = len(rows) if batch_size is None else \
        min(checks.count(batch_size, "batch_size"), len(rows))
    l2 = checks.nonnegative(l2, "l2")
    # Every epoch's rate is checked before training starts, so a schedule that goes
    # negative late in the run is caught before any weight has changed.
    rates = [_scheduled_lr(lr, epoch) for epoch in range(epochs)] if callable(lr) else None
    rate = None if lr is None or callable(lr) else checks.nonnegative(lr, "lr")
    params = model.parameters()
    broken = _non_finite(params)
    if broken is not None:
        raise ValueError(f"the model's parameter {broken} is not a finite number; training "
                         "would spread it to every weight (initialise or load the weights "
                         "again)")
    inputs = [[Value(v, requires_grad=False) for v in row] for row in rows]
    if loss is None:
        loss = _default_loss(targets, model(inputs[0]))
    loss_fn, threshold = _loss_fn(loss)
    if optimizer is None:
        optimizer = SGD(params, lr=0.1 if rate is None else rate)
    elif rate is not None:
        optimizer.lr = rate
    step = None
    if compile:
        custom = callable(loss) and not isinstance(loss, str)

        def batch_loss(batch_rows, batch_targets):
            if custom:  # the user's loss gets numbers as targets, as it does eagerly
                batch_targets = _numbers(batch_targets)
            value = loss_fn([model(row) for row in batch_rows], batch_targets)
            return value + l2 * Value.sum([p * p for p in params]) if l2 else value
        step = compile_step(batch_loss)
    return _Run(epochs, rows, targets, inputs, params, loss_fn, _scorer(targets, threshold),
                l2, optimizer, rates, size, checks.rng(seed), step,
                History(loss_name=loss if isinstance(loss, str) else None))


@dataclass
class _Stopping:
    """The early-stopping rules: a target accuracy, or patience with a stalled loss."""

    target_accuracy: float | None
    patience: int | None
    min_delta: float
    best: float = math.inf
    waited: int = 0

    @classmethod
    def checked(cls, target_accuracy, patience, min_delta, score) -> _Stopping:
        if target_accuracy is not None:
            target_accuracy = checks.fraction(target_accuracy, "target_accuracy", zero=False)
            if score is None:
                raise ValueError("target_accuracy needs class labels as targets, and these "
                                 "targets are not (-1/+1, 0/1 or class indices)")
        if patience is not None:
            patience = checks.count(patience, "patience")
        return cls(target_accuracy, patience, checks.nonnegative(min_delta, "min_delta"))

    def after(self, loss: float, acc: float | None) -> str | None:
        """Why to stop after an epoch with this loss and accuracy, or None."""
        if acc is not None and self.target_accuracy is not None and \
                acc >= self.target_accuracy:
            return f"accuracy {acc:.1%} reached the target {self.target_accuracy:.1%}"
        if self.patience is not None:
            if loss < self.best - self.min_delta:
                self.best, self.waited = loss, 0
            else:
                self.waited += 1
                if self.waited >= self.patience:
                    return f"the loss did not improve for {self.patience} epochs"
        return None


def _recording(record, live, model, X, y, history: History) -> tuple[int | None, Any]:
    """(snapshot every this many epochs or None, the live view or None)."""
    if live is not None and live is not False:
        if live is True:
            live = live_view(model, X, y, history)
        elif not (callable(getattr(live, "update", None))
                  and callable(getattr(live, "finish", None))):
            raise TypeError(f"live must be True or an object with update(history) and "
                            f"finish(history) methods; got {checks.shown(live)}")
        if record is None:
            record = True
    else:
        live = None
    if record is None or record is False:
        return None, live
    if record is True:
        return 1, live
    return checks.count(record, "record"), live


@dataclass
class _Epoch:
    """What one epoch measured, and why training must stop (or None)."""

    loss: float = math.nan
    accuracy: float | None = None
    stop: str | None = None
    diverged: str | None = None


def _run_epoch(run: _Run, model, epoch: int, target_accuracy: float | None) -> _Epoch:
    """One pass over the data in batches: forward, loss, backward, step for each."""
    n = len(run.rows)
    if run.rates is not None:
        run.optimizer.lr = run.rates[epoch]
    order = range(n) if run.size == n else run.rng.permutation(n).tolist()
    # Compiled steps take an eager forward pass for accuracy only where it is needed.
    measure = run.score is not None and (run.step is None or target_accuracy is not None
                                         or epoch == run.epochs - 1)
    total_loss, hits, outcome = 0.0, 0, _Epoch()
    for start in range(0, n, run.size):
        batch = order[start:start + run.size]
        batch_targets = [run.targets[i] for i in batch]
        before = [p.data for p in run.params]
        try:
            number, outputs, value = _forward(run, model, batch, batch_targets, measure)
            if not math.isfinite(number):
                outcome.diverged = f"the loss became {number!r}"
            else:
                total_loss += number * len(batch)
                if measure:
                    hits += sum(run.score(_output_data(o), t)  # type: ignore[misc]
                                for o, t in zip(outputs, batch_targets))
                if run.size == n and target_accuracy is not None and \
                        hits / n >= target_accuracy:
                    outcome.stop = (f"accuracy {hits / n:.1%} reached the target "
                                    f"{target_accuracy:.1%}")
                    break  # no step: keep the model that was just measured
                if value is not None:
                    run.optimizer.zero_grad()
                    value.backward()
                run.optimizer.step()
        except OverflowError as error:  # a number beyond the largest float
            outcome.diverged = str(error)
        broken = _non_finite(run.params)
        if outcome.diverged is not None or broken is not None:
            # A diverged step loses nothing: the weights go back to those before it.
            for p, data in zip(run.params, before):
                p.data = data
            outcome.diverged = outcome.diverged or f"a step made {broken}"
            return outcome
    outcome.loss = total_loss / n
    outcome.accuracy = hits / n if measure else None
    return outcome


def _forward(run: _Run, model, batch: Sequence[int], batch_targets: list, measure: bool):
    """(loss number, outputs, loss Value to backward or None when compiled) for one batch."""
    if run.step is not None:
        outputs = []
        if measure:
            with no_grad():
                outputs = [model(run.inputs[i]) for i in batch]
        run.optimizer.zero_grad()  # the compiled step adds its gradients into .grad
        return run.step([run.rows[i] for i in batch], batch_targets), outputs, None
    outputs = [model(run.inputs[i]) for i in batch]
    value = run.loss_fn(outputs, batch_targets)
    if run.l2:
        value = value + run.l2 * Value.sum([p * p for p in run.params])
    return value.data, outputs, value


def _snapshot(run: _Run, model, epoch: int) -> None:
    """Keeps the parameters as they stand, with the loss and accuracy of exactly these.

    Weights that grew past what a forward pass can hold (training about to diverge) score a
    loss of ``inf``, and no accuracy when even their outputs overflow.
    """
    loss, acc = math.inf, None
    with no_grad():
        try:
            outputs = [model(inputs) for inputs in run.inputs]
        except OverflowError:
            outputs = None
        if outputs is not None:
            if run.score is not None:
                acc = sum(run.score(_output_data(o), t)
                          for o, t in zip(outputs, run.targets)) / len(run.rows)
            try:
                value = run.loss_fn(outputs, run.targets)
                if run.l2:
                    value = value + run.l2 * Value.sum([p * p for p in run.params])
                loss = float(value.data)
            except OverflowError:
                pass
    state = model.state_dict() if hasattr(model, "state_dict") else \
        {str(i): p.data for i, p in enumerate(run.params)}
    run.history.snapshots.append(Snapshot(epoch, state, loss, acc))
