"""The explorer's live view: what `microgrant.train.fit` shows while a net trains.

A placeholder until the explorer lands: `live_view` returns a view whose ``update`` and
``finish`` do nothing, so ``fit(..., live=True)`` trains exactly as without it.
"""

from __future__ import annotations

__all__ = ["live_view"]


class _QuietView:
    """A live view that shows nothing."""

    def update(self, history) -> None:
        """Called after each recorded epoch."""

    def finish(self, history) -> None:
        """Called once when training ends."""


def live_view(model, X, y, history):
    """A view of ``model`` learning ``(X, y)``, updated from ``history`` as `fit` records it.

    >>> view = live_view(None, [], [], None)
    >>> view.update(None), view.finish(None)
    (None, None)
    """
    return _QuietView()
