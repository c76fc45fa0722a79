"""What training leaves behind: the `History` of a run, its `Snapshot`s, the progress line.

Backprop's result is a set of weights; how they got there is the lesson.  `microgrant.train.fit`
appends one entry per epoch to a `History` (the loss, the accuracy, the learning rate) and, when
asked to record, a `Snapshot` of the weights with the loss and accuracy they score, so a
picture (`microgrant.viz.explore`, `microgrant.plot`) can scrub through the run afterwards.
`Progress` writes the one line a terminal shows while it trains.

>>> h = History(loss=[0.9, 0.4], accuracy=[0.5, 1.0], lr=[0.1, 0.1])
>>> h.epochs, h.snapshots
(2, [])
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["History", "Snapshot", "Progress"]


@dataclass(frozen=True)
class Snapshot:
    """The model as it stood after an epoch: what `fit` keeps with ``record=``.

    Attributes:
        epoch: how many epochs had run (0: the weights before training).
        state_dict: the parameters after that epoch's updates, name -> float (as
            `microgrant.nn.Module.state_dict`; `load_state_dict` puts them back).
        loss: the mean loss over all training samples of exactly these parameters, with the
            ``l2`` penalty, measured after the epoch's updates (`History.loss` is measured
            during the epoch, before its updates, so the two differ by one epoch's steps);
            ``inf`` when it is beyond the largest float (training is about to diverge).
        accuracy: the fraction of training samples these parameters classify correctly, by
            `accuracy`'s rule (``None`` when the targets are not class labels).
    """

    epoch: int
    state_dict: dict[str, float]
    loss: float
    accuracy: float | None


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
        snapshots: with ``fit(..., record=k)``, a `Snapshot` before training and after every
            k-th epoch (and after the last one that finished: an epoch that diverged leaves
            none, and one that stopped before its step, at a target accuracy, keeps the
            weights it measured once, under the epoch before it); empty without ``record``.

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
    snapshots: list[Snapshot] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """How many epochs ran: one loss is recorded per epoch.

        >>> History(loss=[0.9, 0.4, 0.2]).epochs, History().epochs
        (3, 0)
        """
        return len(self.loss)


class Progress:
    """One progress line: rewritten in place on a terminal, printed now and then elsewhere."""

    def __init__(self, stream, epochs: int, every: int | None):
        """Progress of ``epochs`` epochs written to ``stream``, a line every ``every``."""
        self.stream = stream
        self.epochs = epochs
        try:
            self.tty = bool(stream.isatty())
        except (AttributeError, ValueError):  # no isatty, or a closed stream
            self.tty = False
        self.every = every if every is not None else (1 if self.tty else max(1, epochs // 10))
        self.width = 0

    def line(self, epoch: int, loss: float, acc: float | None, lr: float) -> str:
        """The progress line of ``epoch`` (counted from 0)."""
        digits = len(str(self.epochs))
        text = f"epoch {epoch + 1:>{digits}}/{self.epochs}  loss {loss:.6g}"
        if acc is not None:
            text += f"  accuracy {acc:.1%}"
        return text + f"  lr {lr:.4g}"

    def update(self, epoch: int, loss: float, acc: float | None, lr: float,
               last: bool) -> None:
        """Shows ``epoch``'s line when it is due (always for the first and the ``last``)."""
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
        """Ends the line, then writes ``message`` (why training stopped), if any."""
        if self.tty and self.width:
            self.stream.write("\n")
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()
