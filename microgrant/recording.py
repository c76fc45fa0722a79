"""Recording a run: the `Snapshot`s `fit` keeps with ``record=``, at little cost.

Backprop moves the weights a little every step; a recorded run keeps them every few epochs,
each with the loss and accuracy of exactly those weights, so a picture can scrub through
the training afterwards (`microgrant.viz.explore`) or follow it live.

Measuring a snapshot's loss takes a forward pass over the data, as long as the forward half
of a training step.  In full-batch training that pass is already made: the next epoch's
forward pass runs on exactly the snapshot's weights (they change only at its step), so
its loss and accuracy are the snapshot's.  A `Recorder` therefore keeps the weights at once
and fills in their numbers one epoch later, from that measurement; only the last snapshot
takes a pass of its own.  With minibatches, an epoch's passes run on weights that change
batch by batch, so each snapshot takes one forward pass over the data (without a graph).

A live view (``fit(..., live=True)`` without ``record=``) asks for every epoch, but a compiled
epoch can be faster than keeping a snapshot: then the recorder keeps one whenever its time
so far is within `LIVE_SHARE` of the run's, so watching never slows training by more.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import checks
from .history import History, Snapshot
from .viz.explore import live_view

__all__ = ["Recorder", "recording", "LIVE_SHARE"]

LIVE_SHARE = 0.03
"""The most of a run's time a live view's recording takes, when ``record=`` was not given."""


@dataclass
class Recorder:
    """Keeps a `Snapshot` every ``every`` epochs and tells the live view about each.

    Attributes:
        every: a snapshot after every this many epochs (and before the first, after the last).
        watcher: an object with ``update(history)`` and ``finish(history)``, or None.
        history: the `History` the snapshots go into.
        state: () -> the parameters as they stand, name -> float.
        measure: () -> (loss, accuracy) of the parameters as they stand: a pass of its own.
        reuse: whether the next epoch's measurement is the pending snapshot's (full batch).
        accuracy_of: state -> accuracy, for steps that measure the loss but not the
            accuracy (compiled ones), or None when the epoch measures both.
        budget: keep a due snapshot only while recording has taken at most this share of
            the run's time (the last is always kept), or None to keep every due one.
    """

    every: int
    watcher: Any
    history: History
    state: Callable[[], dict]
    measure: Callable[[], tuple[float, float | None]]
    reuse: bool
    accuracy_of: Callable[[dict], float | None] | None = None
    budget: float | None = None
    pending: tuple[int, dict] | None = None
    spent: float = 0.0
    began: float = field(default_factory=time.perf_counter)

    def start(self) -> None:
        """Keeps the weights before training (epoch 0)."""
        self._keep(0)
        if not self.reuse:
            self._complete(*self.measure())

    def after_epoch(self, epoch: int, loss: float, acc: float | None, stepped: bool,
                    last: bool) -> None:
        """Called after epoch ``epoch`` (from 0) measured ``loss`` and ``acc``.

        ``stepped`` is False when the epoch measured the weights but did not change them
        (full-batch training that reached its target accuracy): the weights it measured are
        then the last snapshot's, kept once, not twice.
        """
        started = time.perf_counter()
        try:
            self._after_epoch(epoch, loss, acc, stepped, last)
        finally:
            self.spent += time.perf_counter() - started

    def _after_epoch(self, epoch: int, loss: float, acc: float | None, stepped: bool,
                     last: bool) -> None:
        if not stepped:
            if self.pending is None or self.pending[0] != epoch:
                self._flush()
                self._keep(epoch)
            self._complete(loss, acc)
            return
        if self.reuse and self.pending is not None and self.pending[0] == epoch \
                and math.isfinite(loss):
            self._complete(loss, acc)
        due = last or (epoch + 1) % self.every == 0
        if due and not last and self.budget is not None:
            due = self.spent < self.budget * (time.perf_counter() - self.began)
        if due:
            self._flush()
            self._keep(epoch + 1)
            if not self.reuse:
                self._complete(*self.measure())

    def finish(self) -> None:
        """Measures the last snapshot (a pass of its own) and closes the live view."""
        self._flush()
        if self.watcher is not None:
            self.watcher.finish(self.history)

    def _keep(self, epoch: int) -> None:
        self.pending = (epoch, self.state())

    def _flush(self) -> None:
        """A snapshot no measurement will fill in gets a pass of its own (the weights are
        still those it holds: it is the latest)."""
        if self.pending is not None:
            self._complete(*self.measure())

    def _complete(self, loss: float, acc: float | None) -> None:
        assert self.pending is not None
        epoch, state = self.pending
        self.pending = None
        if acc is None and self.accuracy_of is not None:
            acc = self.accuracy_of(state)
        self.history.snapshots.append(Snapshot(epoch, state, loss, acc))
        if self.watcher is not None:
            self.watcher.update(self.history)


def recording(record, live, model, X, y,
              history: History) -> tuple[int | None, Any, float | None]:
    """(a snapshot every this many epochs or None, the live view or None, the time budget
    of a `Recorder`), checked.

    ``live=True`` is the explorer's live view; outside a notebook it shows nothing, and then
    it does not turn recording on.  A live view of one's own needs the snapshots it is sent:
    ``record=False`` with it is refused; without ``record=`` it gets every epoch (the
    explorer's: every epoch that fits in `LIVE_SHARE` of the run's time).
    """
    explorer, budget = live is True, None
    if live is not None and live is not False:
        if live is True:
            live = live_view(model, X, y, history)
            if not getattr(live, "active", True):
                live = None  # nothing to show: record only what was asked for
        elif not (callable(getattr(live, "update", None))
                  and callable(getattr(live, "finish", None))):
            raise TypeError(f"live must be True or an object with update(history) and "
                            f"finish(history) methods; got {checks.shown(live)}")
        if live is not None and record is False:
            raise ValueError("live shows the snapshots fit records, and record=False records "
                             "none: leave record out (live records every epoch) or give "
                             "record=k")
        if live is not None and record is None:
            record, budget = True, (LIVE_SHARE if explorer else None)
    else:
        live = None
    if record is None or record is False:
        return None, live, None
    if record is True:
        return 1, live, budget
    return checks.count(record, "record"), live, None
