"""The explorer: one linked view of a net, from the network to a neuron to a chain-rule step.

`explore` gathers what the page needs once, in Python: the net's layers and names
(`microgrant.viz.explore_data`), every recorded snapshot's weights, the loss curve, and for a
few samples the engine's own chain-rule steps of every neuron (`backward_steps` on that
sample's loss graph).  The page (``explore.html``, ``explore.css``, ``explore_*.js``, package
files) lays the network out itself, with no Graphviz: neurons in layers, each edge a weight,
each neuron's activation over the input plane as a heatmap, the output's decision boundary
with the data.  It replays the forward and backward pass of the shown snapshot in the
browser (a few hundred weights, so scrubbing is instant) with the formulas `fit` trains by,
and steps backprop through the network neuron by neuron.  Before any script runs, a static
fallback (a PNG overview and text, from `microgrant.viz.explore_static`) stands in, so
sanitizing viewers show a picture, not dead controls.

`live_view` is what ``fit(..., live=True)`` calls: in a notebook it shows the page once and
sends each recorded snapshot to it (no page redraw, so no flicker).  In marimo, which shows a
cell's output only once the cell has run, it says so once (`MARIMO_LIVE`); elsewhere it does
nothing.
"""

from __future__ import annotations

import hashlib
import html as _html_module
import json
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..io import write_atomically
from .embed import framed
from .explore_data import (
    choose_loss,
    lines_of,
    neuron_steps,
    read_net,
    weights_of,
)
from .explore_static import fallback_html
from .text import check_digits

__all__ = ["Explorer", "explore", "live_view", "LiveView", "notebook_display", "in_marimo",
           "MARIMO_LIVE", "SCRIPTS",
           "MAX_STEP_SAMPLES", "MAX_STEP_GRAPHS", "STEPS_BUDGET"]

SCRIPTS = ("explore_math.js", "explore_draw.js", "explore_curve.js", "explore_steps.js",
           "explore_detail.js", "explore_practice.js", "explore_main.js")
"""The page's script parts, in the order they are joined."""

MAX_STEP_SAMPLES = 4
"""By default, the samples (the first ones) whose engine chain-rule steps the page carries."""

MAX_STEP_GRAPHS = 24
"""The most sample graphs whose steps the page carries, over evenly spaced snapshots."""

STEPS_BUDGET = 1_000_000
"""Characters of chain-rule text after which no more snapshots get steps (the last always)."""

LIVE_SHARE = 0.05
"""The share of training time the live view may spend sending snapshots (the rest wait)."""

_FILES: dict[str, str] = {}


def _package_file(name: str) -> str:
    if name not in _FILES:
        _FILES[name] = (resources.files(__package__) / name).read_text(encoding="utf-8")
    return _FILES[name]


def _script_json(data: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in, whatever the labels say."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _finite_or_none(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def _snapshots_of(model: Any, history: Any) -> list[tuple[Any, dict, Any, Any]]:
    """(epoch, state_dict, loss, accuracy) per snapshot; the model as it is without history."""
    if history is None:
        return [(None, model.state_dict(), None, None)]
    snapshots = getattr(history, "snapshots", None)
    if not snapshots:
        raise ValueError("history has no snapshots to explore: train with "
                         "fit(..., record=1) (or record=k for every k-th epoch)")
    return [(_epoch_of(s, i), s.state_dict, getattr(s, "loss", None),
             getattr(s, "accuracy", None)) for i, s in enumerate(snapshots)]


def _epoch_of(snapshot: Any, i: int) -> int:
    epoch = getattr(snapshot, "epoch", i)
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
        raise ValueError(f"snapshot {i} has epoch {epoch!r}; an epoch is a whole number")
    return int(epoch)


def _curve(history: Any) -> list[float | None]:
    losses = getattr(history, "losses", None)
    if losses is None:
        losses = getattr(history, "loss", None)
    return [_finite_or_none(v) for v in (losses or [])]


def _grid(X: np.ndarray) -> dict | None:
    """The input plane the heatmaps cover: the data's box with a margin (2-D inputs only)."""
    if X.shape[1] != 2:
        return None
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum((hi - lo) * 0.15, 0.25)
    lo, hi = lo - pad, hi + pad
    return {"x0": float(lo[0]), "x1": float(hi[0]), "y0": float(lo[1]), "y1": float(hi[1])}


def _check_data(X: Any, y: Any, nin: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    if X.ndim != 2 or X.shape[1] != nin:
        raise ValueError(f"X must be samples x {nin} inputs for this model; got shape {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"y must hold one target per sample: {len(X)}; got {len(y)}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite numbers (found NaN or infinity)")
    return X, y


def _arrays(net: Any, weights: Any) -> dict:
    """A snapshot's weights as the page reads them: per layer, W row by row, and b."""
    if isinstance(weights, dict):
        weights = weights_of(net, weights, "the recorded snapshot")
    return {"W": [w.reshape(-1).tolist() for w, _ in weights],
            "b": [b.tolist() for _, b in weights]}


class Explorer:
    """A net, its data and its recorded training, as one page (see `explore`).

    Jupyter shows `fragment` (``_repr_html_``); marimo, which runs no script of a cell's HTML,
    the whole page in an iframe as high as the page (``_mime_``, see `microgrant.viz.embed`).

    Attributes:
        key: a short hash of the page's content (the same explorer, the same key).
        payload: everything the page shows, as plain data.
    """

    def __init__(self, payload: dict, fallback: str):
        self.payload = payload
        self._fallback = fallback
        self.key = hashlib.sha256(_script_json(payload).encode()).hexdigest()[:12]

    @property
    def snapshots(self) -> int:
        """How many snapshots the page can scrub through."""
        return len(self.payload["snapshots"])

    def steps(self, sample: int, neuron: str, snapshot: int = -1) -> list[str]:
        """The engine's chain-rule lines for ``neuron`` on ``sample`` at ``snapshot``.

        The lines that pass the neuron its gradient, then its own steps, as `backward_steps`
        words them on that sample's loss graph.

        Raises:
            KeyError: no steps were kept for that snapshot, sample or neuron (they are kept
                for the first `MAX_STEP_SAMPLES` samples at a few snapshots, the last always).
        """
        snapshot = range(self.snapshots)[snapshot]
        return lines_of(self.payload["steps"][str(snapshot)][str(sample)], neuron)

    def fragment(self) -> str:
        """The page as one HTML fragment (fallback, styles, data, script), for notebooks."""
        script = "\n".join(_package_file(name) for name in SCRIPTS)
        body = _package_file("explore.html")
        parts = {"@@KEY@@": self.key, "@@FALLBACK@@": self._fallback,
                 "@@CSS@@": _package_file("explore.css"),
                 "@@DATA@@": _script_json(self.payload), "@@JS@@": script,
                 "@@TITLE@@": _html_module.escape(self.payload["title"])}
        for marker, text in parts.items():
            body = body.replace(marker, text)
        return body

    def html(self) -> str:
        """The whole self-contained page: nothing is loaded from the network."""
        title = _html_module.escape(self.payload["title"])
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>'
                f'{title}</title></head>\n<body style="margin:12px">\n{self.fragment()}\n'
                f'</body></html>\n')

    def save(self, path) -> Path:
        """Writes the page to ``path`` (atomically: a failure leaves any old file as it was).

        The same explorer saved twice gives the same bytes.
        """
        return write_atomically(path, self.html(), "save the explorer to")

    def _repr_html_(self) -> str:
        return self.fragment()

    def _mime_(self) -> tuple[str, str]:
        """For marimo: the whole page in an iframe that grows to its height (see `framed`)."""
        return "text/html", framed(self.html(), self._fallback, self.payload["title"],
                                   height=700)

    def __repr__(self) -> str:
        layers = " -> ".join(str(len(n)) for n in self.payload["layers_neurons"])
        return (f"<Explorer: {self.payload['inputs']} -> {layers}, {len(self.payload['X'])} "
                f"samples, {self.snapshots} snapshot(s)>")


def _payload(model: Any, X: np.ndarray, y: np.ndarray, history: Any, loss: Any, digits: int,
             title: str | None, steps_for: int) -> tuple[dict, list]:
    net = read_net(model)
    X, y = _check_data(X, y, net.inputs)
    loss_name = loss or getattr(history, "loss_name", None)
    loss_name, threshold = choose_loss(net, y, loss_name)
    if type(steps_for) is not int or steps_for < 0:
        raise ValueError(f"steps_for must be a whole number >= 0; got {steps_for!r}")
    recorded = _snapshots_of(model, history)
    snaps, weights = [], []
    for epoch, state, snap_loss, snap_acc in recorded:
        where = "the model" if epoch is None else f"the snapshot of epoch {epoch}"
        w = weights_of(net, state, where)
        weights.append(w)
        snaps.append({"epoch": epoch, "loss": _finite_or_none(snap_loss),
                      "accuracy": _finite_or_none(snap_acc), **_arrays(net, w)})
    states = [state for _, state, _, _ in recorded]
    samples = list(range(min(steps_for, len(X))))
    kept = max(1, MAX_STEP_GRAPHS // max(1, len(samples)))
    chosen = sorted({round(q) for q in np.linspace(len(states) - 1, 0, min(kept, len(states)))})
    steps: dict = {}
    size = 0
    for si in reversed(chosen):  # the last snapshot first: it always gets its steps
        if size > STEPS_BUDGET or not samples:
            break
        found = neuron_steps(model, net, states[si], X, y, loss_name, samples, digits)
        steps[str(si)] = {str(i): per for i, per in found.items()}
        size += sum(len(text) for per in found.values() for text in per["steps"])
    payload = {
        "title": title or "microgrant explorer", "digits": digits, "inputs": net.inputs,
        "input_names": [f"x{i + 1}" for i in range(net.inputs)],
        "layers": list(net.layers), "layers_neurons": [list(n) for n in net.neurons],
        "labels": [[list(p) for p in layer] for layer in net.labels],
        "X": X.tolist(), "y": y.tolist(), "loss": loss_name, "threshold": threshold,
        "grid": _grid(X), "curve": _curve(history), "snapshots": snaps,
        "steps": steps,
    }
    return payload, weights


def explore(model: Any, X: Any, y: Any, history: Any = None, *, loss: str | None = None,
            digits: int = 4, title: str | None = None,
            steps_for: int = MAX_STEP_SAMPLES) -> Explorer:
    """One linked view of a net: the network, its neurons, its data and its training.

    The overview is the network: inputs, then each layer's neurons, each edge a weight
    (thickness its size, blue positive, orange negative).  With two inputs each neuron shows
    its activation over the input plane and the output its decision boundary with the data;
    with other input sizes, each neuron's activation per sample as bars.  The loss (and
    accuracy) curve sits beside it, with each neuron marked dead or saturated and each layer's
    update-to-data ratio.  Backprop steps through the network neuron by neuron, for one sample
    or the batch; a neuron opens its chain-rule steps, a data point its forward and backward.

    Args:
        model: a `microgrant.nn` MLP, Layer or Neuron (named activations).
        X: the samples (rows of numbers), as given to `fit`.
        y: the targets, one per sample.
        history: a `fit` history recorded with ``record=`` (anything with ``snapshots``, each
            with ``epoch``, ``state_dict``, ``loss`` and ``accuracy``); every snapshot can be
            scrubbed.  ``None`` shows the model as it is.
        loss: the loss's name (see `microgrant.train.LOSSES`); default the history's, or the
            one `fit` would choose from the labels.
        digits: significant digits of the numbers shown.
        title: the page's title.
        steps_for: how many samples (the first ones) carry the engine's own chain-rule steps.

    Returns:
        An `Explorer`: ``.save(path)`` writes one self-contained page; in a notebook it shows
        itself (with a static picture where scripts do not run).

    >>> from microgrant.nn import MLP
    >>> from microgrant.data import logic_gate
    >>> X, y = logic_gate("xor")
    >>> page = explore(MLP(2, [4, 1], activation="tanh", seed=1), X, y)
    >>> page.snapshots, page.payload["loss"], page.steps(0, "L1.n2")[0].split(" +=")[0]
    (1, 'bce_logits', 'dbce_logits/dL1.n2.a')
    """
    digits = check_digits(digits)
    payload, weights = _payload(model, X, y, history, loss, digits, title, steps_for)
    return Explorer(payload, fallback_html(payload, weights[-1]))


class LiveView:
    """The explorer shown while a net trains (in Jupyter; marimo is told, elsewhere nothing).

    `fit` calls ``update(history)`` after each recorded epoch and ``finish(history)`` at the
    end.  Snapshots are sent to the page shown at the start, never redrawing it, and at most
    `LIVE_SHARE` of the training time goes to sending them: the rest wait for the next send.
    """

    def __init__(self, model: Any, X: Any, y: Any, history: Any = None, **options: Any):
        tools = notebook_display()
        self.active = tools is not None
        self.sent = 0
        self._spent = 0.0
        self._start: float | None = None
        self._channel = None
        if tools is None:
            if in_marimo():  # a notebook, but not one this view can update: say so, once
                print(MARIMO_LIVE, file=sys.stderr)
            return
        display, self._html = tools
        self._net = read_net(model)
        # The start is kept light: no engine steps (they would be the untrained net's) and no
        # PNG (the kernel is running, so the page's script runs).
        options.setdefault("steps_for", 0)
        digits = check_digits(options.pop("digits", 4))
        payload, weights = _payload(model, X, y, None, options.pop("loss", None), digits,
                                    options.pop("title", None), options.pop("steps_for"))
        if options:
            raise TypeError(f"live_view takes loss, digits, title and steps_for; got "
                            f"{', '.join(sorted(options))}")
        payload["live"] = True
        page = Explorer(payload, fallback_html(payload, weights[-1], picture=False))
        self.key = page.key
        display(self._html(page.fragment()))
        self._channel = display(self._html(""), display_id=True)

    def _send(self, history: Any, force: bool) -> None:
        snapshots = list(getattr(history, "snapshots", None) or [])
        if self._start is None:  # the budget counts from the first update: training time
            self._start = time.perf_counter()
        elapsed = time.perf_counter() - self._start
        if (not self.active or len(snapshots) <= self.sent or
                (not force and self._spent > LIVE_SHARE * elapsed)):
            return
        began = time.perf_counter()
        new = [{"epoch": _epoch_of(s, self.sent + n), **_arrays(self._net, s.state_dict),
                "loss": _finite_or_none(getattr(s, "loss", None)),
                "accuracy": _finite_or_none(getattr(s, "accuracy", None))}
               for n, s in enumerate(snapshots[self.sent:])]
        self.sent = len(snapshots)
        script = (f"<script>(window.micrograntExplore||{{}})[{json.dumps(self.key)}]"
                  f"&&window.micrograntExplore[{json.dumps(self.key)}].push("
                  f"{_script_json(new)},{_script_json(_curve(history))});</script>")
        if self._channel is not None:
            self._channel.update(self._html(script))
        self._spent += time.perf_counter() - began

    def update(self, history: Any) -> None:
        """Sends the snapshots recorded since the last send (unless sending is over budget)."""
        self._send(history, force=False)

    def finish(self, history: Any) -> None:
        """Sends every snapshot not sent yet."""
        self._send(history, force=True)


def notebook_display() -> tuple[Any, Any] | None:
    """IPython's ``(display, HTML)`` when this runs in a notebook's kernel, else None.

    Read from ``sys.modules``: in a kernel IPython has been imported already, and anywhere
    else importing it would only spend time (a fifth of a second) finding no kernel.
    """
    ipython: Any = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return ipython.display.display, ipython.display.HTML


MARIMO_LIVE = ("fit(..., live=True): the live view needs a Jupyter notebook (JupyterLab, "
               "Notebook 7);\nmarimo shows a cell's output once the cell has run, so this "
               "training is not shown as it runs.\nTo see it afterwards, train with fit(..., "
               "record=1) (or record=k: every k-th epoch)\nand show viz.explore(model, X, y, "
               "history).")
"""What ``fit(..., live=True)`` says in a marimo notebook, where no live view is shown."""


def in_marimo() -> bool:
    """True when this runs in a marimo notebook's kernel (read from ``sys.modules``, as
    `notebook_display` reads IPython: marimo is imported there already)."""
    marimo: Any = sys.modules.get("marimo")
    running = getattr(marimo, "running_in_notebook", None)
    return bool(running()) if callable(running) else False


def live_view(model: Any, X: Any, y: Any, history: Any = None, **options: Any) -> LiveView:
    """The live explorer `fit(..., live=True)` updates while it trains (see `LiveView`).

    In a notebook it shows the model as it is, then each snapshot as ``update(history)``
    receives it (pause and single-step act on the view; training goes on).  In marimo it says
    once that the live view needs Jupyter, and how to see the run afterwards (`MARIMO_LIVE`);
    elsewhere it does nothing.  ``options``: ``loss``, ``digits``, ``title``, as for `explore`.

    >>> from microgrant.nn import MLP
    >>> live_view(MLP(2, [1], seed=0), [[0.0, 1.0]], [1.0]).active   # not in a notebook
    False
    """
    return LiveView(model, X, y, history, **options)
