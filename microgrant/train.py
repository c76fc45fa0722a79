"""A small training loop: forward, loss, backward, step, over and over.

Everything the engine does comes together here.  Each step runs the model on a batch of
samples (the forward pass records one graph for the whole batch), turns the outputs into one
loss, calls ``loss.backward()`` to put d(loss)/d(weight) on every weight, and lets the
optimiser move the weights.  `fit` does that for a number of epochs and keeps a `History` of
the loss and accuracy; `predict` and `accuracy` run the model without recording a graph.

How `fit` decides, in detail:

* **The loss.**  Without ``loss=``, the labels choose: -1/+1 labels train with ``"hinge"``;
  0/1 labels with ``"bce_logits"`` (the output is read as a logit), or ``"bce"`` when the
  model ends in a sigmoid; a model with several outputs with ``"cross_entropy"``, or
  ``"cross_entropy_probs"`` when it ends in a softmax; other targets with ``"mse"``.  What
  the model ends in is read from the model (`microgrant.scoring.output_activation`), for a module
  of your own from the graph its output recorded.  ``History.loss_name`` says which it was.
* **Accuracy, one rule.**  One output is split into two classes at its loss's threshold
  (`LOSSES`): 0 for scores and logits, 0.5 for probabilities, midway between the labels for
  ``"mse"``.  `accuracy` follows the same rule (without ``loss=``, the loss `fit` would
  choose), so the two agree on the same model.  ``History.accuracy`` (and ``loss``) is
  measured on each epoch's own forward passes: in full-batch training, on the weights
  before the epoch's one update; with ``batch_size``, each batch on the weights before its
  own step, so the weights change during the epoch and the result mixes them.
* **The learning rate** is checked as the optimisers check theirs (a finite number >= 0); a
  schedule is called for every epoch before training starts, so a bad rate changes no weight.
* **Divergence.**  When the loss or a parameter stops being finite (usually too large a
  learning rate), training stops with a warning and ``History.stop_reason``, and the
  parameters are put back as they were before the step that broke them.
* **Compiled steps** (``compile=True``) trace the batch's graph once and replay it as array
  code: the same numbers as eager training, many times faster.  Accuracy then takes an eager
  forward pass (no graph), so it is measured only where training may end: every epoch with
  ``target_accuracy``, the last, those ``patience`` may stop after (``None`` for others).
  One trace serves every batch of the same size, except with ``cross_entropy``, whose class
  index picks a node: batches with other labels are traced again (full batches keep one).
* **Early stopping.**  ``target_accuracy``: in full-batch training the step after the
  measurement that reached it is skipped, so the model returned is the one that reached it.
  ``patience``: stop after that many epochs without the loss falling by more than
  ``min_delta``.
* **Recording.**  ``record=k`` keeps a `Snapshot` before training (epoch 0), after every k-th
  epoch and after the last one: the weights after that epoch's updates, with the loss and
  accuracy of exactly those weights.  In full-batch training the next epoch's forward pass
  measures them (the same weights), so recording costs almost nothing; with ``batch_size``
  each snapshot costs one forward pass over the data (see `microgrant.recording`).  When
  training stops before a step (a target accuracy reached), the last snapshot is the
  weights that epoch measured, kept once.  ``live`` gets ``update(history)`` as each
  snapshot is measured and ``finish(history)`` at the end; ``live=True`` is
  `microgrant.viz.explore`'s live view, which records only in a notebook, where it shows
  something.  Neither changes a weight.

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
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from . import checks
from .compile import compile as compile_step
from .engine import Value, is_grad_enabled, no_grad
from .history import History, Progress, Snapshot
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    cross_entropy_probs,
    hinge_loss,
    mse_loss,
)
from .optim import SGD
from .recording import Recorder, recording
from .scoring import (
    check_finite,
    class_labels,
    hits,
    numbers_of,
    output_activation,
    output_data,
    sample_rows,
    scorer,
    targets_of,
)
from .viz.explore_data import forward as net_forward
from .viz.explore_data import read_net, weights_of

__all__ = ["fit", "predict", "accuracy", "History", "Snapshot", "LOSSES"]

#: Loss names `fit` knows, with the loss function and the output value that separates the
#: two classes (scores and logits split at 0, probabilities at 0.5; None: from the labels).
LOSSES: dict[str, tuple[Callable, float | None]] = {
    "hinge": (hinge_loss, 0.0),
    "bce": (binary_cross_entropy, 0.5),
    "bce_logits": (binary_cross_entropy_with_logits, 0.0),
    "mse": (mse_loss, None),
    "cross_entropy": (cross_entropy, None),
    "cross_entropy_probs": (cross_entropy_probs, None),
}


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
        outputs = [output_data(model(row)) for row in sample_rows(X)]
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
    rows = sample_rows(X)
    targets = targets_of(y, len(rows))
    if threshold is not None:
        threshold = checks.finite(threshold, "threshold")
    else:
        threshold = _threshold(loss, targets, model, rows[0])
    score = scorer(targets, threshold)
    if score is None:
        raise ValueError("accuracy needs class labels (-1/+1, 0/1 or class indices); got "
                         f"targets such as {targets[:3]!r}")
    with no_grad():
        correct = hits(score, (model(row) for row in rows), targets)
    return correct / len(rows)


# ---- training -------------------------------------------------------------------------------

def _loss_fn(loss) -> tuple[Callable, float | None]:
    if callable(loss) and not isinstance(loss, str):
        return loss, None
    if loss not in LOSSES:
        valid = ", ".join(repr(name) for name in LOSSES)
        raise ValueError(f"unknown loss {loss!r}; valid losses are {valid}, or a function "
                         "(outputs, targets) -> Value")
    return LOSSES[loss]


def _default_loss(targets: list, model, output) -> str:
    """The loss the labels call for: what `fit` trains with when it is given none.

    -1/+1 labels are scores for the hinge loss; 0/1 labels are probabilities for ``"bce"``
    when the model ends in a sigmoid, else logits for ``"bce_logits"``; a model with several
    outputs is scored by ``"cross_entropy"``, or ``"cross_entropy_probs"`` when it ends in a
    softmax; anything else is a regression for ``"mse"``.  What the model ends in is read
    from the model (`microgrant.scoring.output_activation`); for a module of your own, from the
    graph its output recorded.
    """
    ending = _ending(model, output)
    if isinstance(output, (list, tuple)):
        return "cross_entropy_probs" if ending == "softmax" else "cross_entropy"
    labels = class_labels(targets)
    if labels == (-1.0, 1.0):
        return "hinge"
    if labels == (0.0, 1.0):
        return "bce" if ending == "sigmoid" else "bce_logits"
    return "mse"


def _ending(model, output) -> str | None:
    """The activation the model's output passes through last, or None when unknown."""
    ending = output_activation(model)
    if ending is None and isinstance(output, Value) and output.op:
        ending = output.op
    return ending


def _threshold(loss, targets: list, model, row) -> float | None:
    """Where one output splits two classes: the loss's threshold, for the loss given or the
    one `fit` would choose (None: midway between the labels)."""
    if loss is None:
        output = model(row)
        if (not is_grad_enabled() and isinstance(output, Value)
                and output_activation(model) is None and class_labels(targets) == (0.0, 1.0)):
            # A module of one's own is read from its graph, and no_grad records none.
            raise ValueError(f"accuracy cannot tell whether {type(model).__name__}'s output "
                             "is a probability (split at 0.5) or a logit (split at 0) inside "
                             "no_grad(), which records no graph to read; pass loss='bce' "
                             "(probabilities) or loss='bce_logits' (logits), or call it "
                             "outside no_grad()")
        loss = _default_loss(targets, model, output)
    return _loss_fn(loss)[1]


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

    Each epoch runs forward, loss, backward and an optimiser step for each batch (shuffled
    when there are several).  This module's documentation says what each choice does: the
    default loss, divergence, compiled steps, early stopping and recording.

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
            and ``finish(history)``; an active one records every epoch (the explorer's: as
            many as fit in `recording.LIVE_SHARE` of the time); ``record=False`` is refused.
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
    run = _prepare(model, X, y, loss=loss, optimizer=optimizer, epochs=epochs,
                   batch_size=batch_size, lr=lr, l2=l2, seed=seed, compile=compile)
    stopping = _Stopping.checked(target_accuracy, patience, min_delta, run.score)
    every, watcher, budget = recording(record, live, model, X, y, run.history)
    progress = Progress(stream if stream is not None else sys.stdout, run.epochs,
                        None if log_every is None else checks.count(log_every, "log_every")) \
        if verbose else None
    history = run.history
    recorder = None if every is None else _recorder(run, model, every, watcher, budget)
    if recorder is not None:
        recorder.start()
    for epoch in range(run.epochs):
        outcome = _run_epoch(run, model, epoch, stopping)
        if outcome.diverged is not None:
            _diverged(history, epoch, outcome.diverged)
            break
        history.loss.append(outcome.loss)
        history.accuracy.append(outcome.accuracy)
        history.lr.append(run.optimizer.lr)
        stop = outcome.stop or stopping.after(outcome.loss, outcome.accuracy)
        last = stop is not None or epoch == run.epochs - 1
        if recorder is not None:
            recorder.after_epoch(epoch, outcome.loss, outcome.accuracy,
                                 stepped=outcome.stop is None, last=last)
        if progress is not None:
            progress.update(epoch, outcome.loss, outcome.accuracy, run.optimizer.lr, last)
        if stop is not None:
            history.stop_reason = f"stopped after epoch {epoch + 1}: {stop}"
            break
    if progress is not None:
        progress.close(history.stop_reason)
    if recorder is not None:
        recorder.finish()
    return history


def _diverged(history: History, epoch: int, reason: str) -> None:
    history.diverged = True
    history.stop_reason = (f"stopped in epoch {epoch + 1}: training diverged, {reason}; the "
                           "parameters are as they were before that step (try a smaller "
                           "learning rate)")
    warnings.warn(f"fit {history.stop_reason}", RuntimeWarning, stacklevel=3)


@dataclass(kw_only=True)
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


def _prepare(model, X, y, *, loss, optimizer, epochs, batch_size, lr, l2, seed,
             compile: bool) -> _Run:
    """Every argument checked and the data converted, before any weight changes."""
    epochs = checks.count(epochs, "epochs")
    rows = sample_rows(X)
    targets = targets_of(y, len(rows))
    if loss is not None:
        _loss_fn(loss)  # an unknown name is reported before the data is looked at
    check_finite(rows, targets)
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
        loss = _default_loss(targets, model, model(inputs[0]))
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
                batch_targets = numbers_of(batch_targets)
            return _penalised(loss_fn([model(row) for row in batch_rows], batch_targets),
                              l2, params)
        step = compile_step(batch_loss)
    return _Run(epochs=epochs, rows=rows, targets=targets, inputs=inputs, params=params,
                loss_fn=loss_fn, score=scorer(targets, threshold), l2=l2, optimizer=optimizer,
                rates=rates, size=size, rng=checks.rng(seed), step=step,
                history=History(loss_name=loss if isinstance(loss, str) else None))


def _penalised(value: Value, l2: float, params: list[Value]) -> Value:
    """The loss with the l2 penalty ``l2 * sum(p * p)`` added (unchanged for l2 = 0)."""
    return value + l2 * Value.sum([p * p for p in params]) if l2 else value


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
        patience = None if patience is None else checks.count(patience, "patience")
        return cls(target_accuracy, patience, checks.nonnegative(min_delta, "min_delta"))

    def after(self, loss: float, acc: float | None) -> str | None:
        """Why to stop after an epoch with this loss and accuracy, or None."""
        if acc is not None and self.target_accuracy is not None and \
                acc >= self.target_accuracy:
            return f"accuracy {acc:.1%} reached the target {self.target_accuracy:.1%}"
        if self.patience is not None:
            improved = loss < self.best - self.min_delta
            self.best, self.waited = (loss, 0) if improved else (self.best, self.waited + 1)
            if self.stalled(more=0):
                return f"the loss did not improve for {self.patience} epochs"
        return None

    def stalled(self, more: int) -> bool:
        """Whether ``more`` epochs without improvement would make patience stop training."""
        return self.patience is not None and self.waited + more >= self.patience


@dataclass
class _Epoch:
    """What one epoch measured, and why training must stop (or None)."""

    loss: float = math.nan
    accuracy: float | None = None
    stop: str | None = None
    diverged: str | None = None


def _run_epoch(run: _Run, model, epoch: int, stopping: _Stopping) -> _Epoch:
    """One pass over the data in batches: forward, loss, backward, step for each."""
    target_accuracy = stopping.target_accuracy
    n = len(run.rows)
    if run.rates is not None:
        run.optimizer.lr = run.rates[epoch]
    order = range(n) if run.size == n else run.rng.permutation(n).tolist()
    # Compiled steps take an eager forward pass for accuracy only where it is needed.
    measure = run.score is not None and (run.step is None or target_accuracy is not None
                                         or stopping.stalled(more=1) or epoch == run.epochs - 1)
    total_loss, correct, outcome = 0.0, 0, _Epoch()
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
                    correct += hits(run.score, outputs, batch_targets)  # type: ignore[arg-type]
                if run.size == n and target_accuracy is not None and \
                        correct / n >= target_accuracy:
                    outcome.stop = (f"accuracy {correct / n:.1%} reached the target "
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
    outcome.accuracy = correct / n if measure else None
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
    value = _penalised(run.loss_fn(outputs, batch_targets), run.l2, run.params)
    return value.data, outputs, value


def _recorder(run: _Run, model, every: int, watcher, budget: float | None) -> Recorder:
    """The recorder of ``fit(record=...)``, measuring each snapshot as cheaply as it can.

    In full-batch training the next epoch's forward pass measures a snapshot.  A compiled
    step measures only the loss: the accuracy then comes from the weights by array code,
    and the last snapshot's loss from one more replay.  A model the array code cannot read
    (not layers of neurons) is measured by a forward pass of its own, per snapshot.
    """
    # The parameters do not change during fit, only their numbers: named once, read often.
    named = model.named_parameters() if hasattr(model, "named_parameters") else \
        [(str(i), p) for i, p in enumerate(run.params)]
    full_batch = run.size == len(run.rows)
    accuracy_of, measure = None, (lambda: _measure(run, model))
    if run.step is not None:
        accuracy_of = _array_accuracy(run, model)
        if accuracy_of is None:
            full_batch = False  # each snapshot measured by a pass of its own, at once
        elif full_batch:
            measure = (lambda: _replayed(run))
    return Recorder(every=every, watcher=watcher, history=run.history,
                    state=lambda: {name: p.data for name, p in named},
                    measure=measure, reuse=full_batch, accuracy_of=accuracy_of, budget=budget)


def _replayed(run: _Run) -> tuple[float, None]:
    """(loss, None) of the parameters as they stand, by one replay of the compiled step
    (the step adds gradients: those of the last training step are put back)."""
    grads = [p.grad for p in run.params]
    try:
        number = run.step(run.rows, run.targets)
    finally:
        for p, grad in zip(run.params, grads):
            p.grad = grad
    return (number if math.isfinite(number) else math.inf), None


def _array_accuracy(run: _Run, model) -> Callable[[dict], float | None] | None:
    """state -> accuracy of those weights as array code (one matrix product per layer),
    or None when ``model`` is not layers of neurons the array code can read."""
    if run.score is None:
        return lambda state: None
    try:
        net = read_net(model)
    except (TypeError, ValueError):
        return None
    X = np.array(run.rows, dtype=np.float64)

    def accuracy_of(state: dict) -> float | None:
        with np.errstate(over="ignore", invalid="ignore"):
            out = net_forward(net, weights_of(net, state), X)[-1][1]
        if not np.isfinite(out).all():
            return None
        outputs = out[:, 0].tolist() if out.shape[1] == 1 else out.tolist()
        return hits(run.score, outputs, run.targets) / len(run.rows)  # type: ignore[arg-type]

    return accuracy_of


def _measure(run: _Run, model) -> tuple[float, float | None]:
    """(loss, accuracy) of the parameters as they stand: one forward pass, without a graph.

    Weights that grew past what a forward pass can hold (training about to diverge) score a
    loss of ``inf``, and no accuracy when even their outputs overflow.
    """
    number, acc = math.inf, None
    with no_grad():
        try:
            outputs = [model(inputs) for inputs in run.inputs]
        except OverflowError:
            return number, acc
        if run.score is not None:
            acc = hits(run.score, outputs, run.targets) / len(run.rows)
        try:
            number = float(_penalised(run.loss_fn(outputs, run.targets), run.l2,
                                      run.params).data)
        except OverflowError:
            pass
    return number, acc
