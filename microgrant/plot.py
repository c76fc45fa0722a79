"""Plots of what backprop trained: decision boundaries, training curves, activation functions.

Where this sits: after `backward` has computed gradients and an optimiser has used them, these
pictures show the result the way the notes draw it: the line (or curve) a model puts between
two classes, the loss falling epoch by epoch, and each activation function next to its
derivative. The derivatives are computed by microgrant's own `backward`, never written out
by hand, so the pictures double as a check of the engine.

matplotlib is an optional extra: ``pip install "microgrant[plot]"``. It is imported only when
a plot is made. Figures are built as ``matplotlib.figure.Figure`` objects directly, without
``pyplot``: no window ever opens, no global backend is changed, and a notebook still shows a
returned figure. Every function returns its figure and, given ``path``, also saves it there
(atomically: a failed save leaves no half-written file).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Callable, Sequence

from . import checks
from .engine import Value, no_grad
from .io import write_atomically
from .ops import OPS

__all__ = ["ACTIVATIONS", "decision_boundary", "decision_boundaries", "training_curves",
           "activations", "activation_with_derivative", "save_figure"]

# An op's constant argument as the plots show it: leaky_relu's default slope, 0.01, would
# look like relu's flat zero.
_SHOWN_ARGS = {"slope": 0.1}


def _activation(method: str, arg_name: str) -> Callable[[Value], Value]:
    if arg_name:
        return lambda z: getattr(z, method)(_SHOWN_ARGS[arg_name])
    return lambda z: getattr(z, method)()


#: The activation functions `activations` can draw, by name: the op table's activations
#: (each a method of `Value`), and the identity.
ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    **{op.method: _activation(op.method, op.arg_name) for op in OPS.values() if op.activation},
    "linear": lambda z: z * 1.0,
}

# Class colours: points are drawn in the strong colour, regions in the light one.
_STRONG = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
_LIGHT = ["#c6dbef", "#fcbba1", "#c7e9c0", "#dadaeb", "#fdd0a2", "#e0cfc8", "#f7d1e8",
          "#e0e0e0", "#eeeeaa", "#c4ecf2"]


def _figure_class():
    """matplotlib's Figure, imported on first use; a clear message when it is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError('plotting needs matplotlib, an optional extra of microgrant: '
                          'pip install "microgrant[plot]"') from error
    return Figure


def save_figure(fig, path) -> Path:
    """Saves ``fig`` to ``path`` atomically; the format comes from the suffix (.png, .svg, .pdf).

    The figure is drawn in memory and then written with `microgrant.io.write_atomically`,
    so an interrupted or failed save never leaves a truncated file behind.

    Args:
        fig: a matplotlib figure.
        path: where to save; its folder must exist.

    Returns:
        The path, as a `pathlib.Path`.

    Raises:
        ValueError: the suffix is missing or not a format matplotlib can write.
        FileNotFoundError: the folder does not exist.

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_figure(training_curves([1.0, 0.5]), pathlib.Path(folder) / "loss.svg")
    ...     path.read_text().count("<svg") > 0
    True
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(f"cannot save a figure as {path.name!r}: the suffix must be one of "
                         f"{', '.join('.' + s for s in sorted(supported))}")
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save {path}: the folder {folder} does not exist")
    # Drawn in memory first: a failure while drawing leaves no file at all.
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, bbox_inches="tight")
    write_atomically(path, buffer.getvalue(), "save figure to")
    return path


def _as_points(X, y) -> tuple[list[tuple[float, ...]], list]:
    rows = [tuple(float(v) for v in row) for row in X]
    labels = list(y)
    if any(len(row) != 2 for row in rows):
        raise ValueError("a decision boundary needs points with exactly 2 features; got rows "
                         f"of length {sorted({len(r) for r in rows})}")
    if len(rows) != len(labels):
        raise ValueError(f"X has {len(rows)} rows but y has {len(labels)} labels")
    if not rows:
        raise ValueError("a decision boundary needs at least one point")
    return rows, labels


def _number(out) -> float:
    """A model's output as a float, whether it returned a Value or a plain number."""
    return out.data if isinstance(out, Value) else float(out)


def _grid_outputs(model, xs: list[float], ys: list[float]):
    """The model's output at every grid point: a score, or (for a list) the class index.

    Returns:
        ``(grid, n_classes)``: ``n_classes`` is None when the model returns one score.
    """
    grid = []
    n_classes = None
    # no_grad: the grid is thousands of forward passes and none needs a gradient.
    with no_grad():
        for y in ys:
            row: list[float] = []
            for x in xs:
                # Values, not floats, so a model written as a formula can call .sigmoid()
                out = model([Value(x, requires_grad=False), Value(y, requires_grad=False)])
                if isinstance(out, (list, tuple)):
                    scores = [_number(v) for v in out]
                    n_classes = max(n_classes or 0, len(scores))
                    row.append(max(range(len(scores)), key=scores.__getitem__))
                else:
                    row.append(_number(out))
            grid.append(row)
    return grid, n_classes


def _draw_boundary(ax, model, rows, labels, *, threshold, resolution, padding, title):
    from matplotlib.colors import ListedColormap

    x_low = min(r[0] for r in rows) - padding
    x_high = max(r[0] for r in rows) + padding
    y_low = min(r[1] for r in rows) - padding
    y_high = max(r[1] for r in rows) + padding
    xs = [x_low + (x_high - x_low) * i / (resolution - 1) for i in range(resolution)]
    ys = [y_low + (y_high - y_low) * i / (resolution - 1) for i in range(resolution)]
    grid, n_classes = _grid_outputs(model, xs, ys)
    classes = sorted(set(labels))
    n_colours = max(n_classes or 2, len(classes))
    if n_colours > len(_STRONG):
        raise ValueError(f"at most {len(_STRONG)} classes can be coloured; got {n_colours}")
    if n_classes is None:
        # One score: shade each side of the threshold, and draw the boundary where the
        # score crosses it (a smooth curve, since the score itself is contoured).
        low = min(min(row) for row in grid)
        high = max(max(row) for row in grid)
        levels = [min(low, threshold) - 1.0, threshold, max(high, threshold) + 1.0]
        ax.contourf(xs, ys, grid, levels=levels, cmap=ListedColormap(_LIGHT[:2]))
        if low < threshold < high:
            ax.contour(xs, ys, grid, levels=[threshold], colors="#333333", linewidths=1.2)
    else:
        levels = [k - 0.5 for k in range(n_colours + 1)]
        ax.contourf(xs, ys, grid, levels=levels, cmap=ListedColormap(_LIGHT[:n_colours]))
        ax.contour(xs, ys, grid, levels=levels[1:-1], colors="#333333", linewidths=1.0)
    # Labels are coloured in sorted order (0 before 1, -1 before +1), matching the regions:
    # the lower label's region is where the score is below the threshold.
    for index, label in enumerate(classes):
        px = [r[0] for r, lab in zip(rows, labels) if lab == label]
        py = [r[1] for r, lab in zip(rows, labels) if lab == label]
        ax.scatter(px, py, s=28, c=_STRONG[index], edgecolors="black", linewidths=0.5,
                   label=f"class {label}", zorder=3)
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)


def decision_boundary(model, X, y, *, threshold: float = 0.0, resolution: int = 80,
                      padding: float = 0.5, title: str | None = None, ax=None, path=None):
    """Draws where ``model`` puts each class over the plane, with the data points on top.

    Args:
        model: a callable taking one point ``[x1, x2]`` (two constant Values) and returning
            a score (a `Value` or a number: class 1 where it is ``>= threshold``) or a list
            of scores, one per class (the class is the largest). An `nn.MLP` is one.
        X: points, shape ``(n, 2)``.
        y: their labels (0/1, -1/+1, or 0..k-1), used to colour the points.
        threshold: the score that separates the two classes: 0 for a linear output or a
            logit (the default), 0.5 for a probability.
        resolution: grid points per axis; the model is called ``resolution ** 2`` times,
            under `no_grad`.
        padding: margin around the data, in data units.
        title: the panel's title.
        ax: an axes to draw into; by default a new figure is made.
        path: if given, the figure is also saved there (see `save_figure`).

    Returns:
        The matplotlib figure.

    >>> from microgrant.nn import MLP
    >>> fig = decision_boundary(MLP(2, [4, 1], seed=0), [[0, 0], [1, 1]], [0, 1], resolution=10)
    >>> len(fig.axes)
    1
    """
    rows, labels = _as_points(X, y)
    checks.count(resolution, "resolution", minimum=2)
    if ax is None:
        fig = _figure_class()(figsize=(5, 4.5))
        ax = fig.subplots()
    else:
        fig = ax.figure
    _draw_boundary(ax, model, rows, labels, threshold=threshold, resolution=resolution,
                   padding=padding, title=title)
    if path is not None:
        save_figure(fig, path)
    return fig


def decision_boundaries(models: Sequence, X, y, *, titles: Sequence[str] | None = None,
                        threshold: float = 0.0, resolution: int = 60, padding: float = 0.5,
                        columns: int = 4, path=None):
    """Several models' decision boundaries side by side on the same data (note 001, fig. 15).

    Args:
        models: the callables to compare (see `decision_boundary`).
        X, y: the data, drawn in every panel.
        titles: one title per model.
        threshold, resolution, padding: as for `decision_boundary`.
        columns: panels per row.
        path: if given, the figure is also saved there.

    Returns:
        The matplotlib figure.

    >>> from microgrant.nn import MLP
    >>> models = [MLP(2, [h, 1], seed=0) for h in (1, 2, 3)]
    >>> fig = decision_boundaries(models, [[0, 0], [1, 1]], [0, 1], resolution=8)
    >>> len([ax for ax in fig.axes if ax.get_visible()])
    3
    """
    models = list(models)
    if not models:
        raise ValueError("decision_boundaries needs at least one model")
    if titles is not None and len(titles) != len(models):
        raise ValueError(f"got {len(titles)} titles for {len(models)} models")
    rows, labels = _as_points(X, y)
    checks.count(resolution, "resolution", minimum=2)
    columns = min(checks.count(columns, "columns"), len(models))
    n_rows = math.ceil(len(models) / columns)
    fig = _figure_class()(figsize=(3.6 * columns, 3.4 * n_rows))
    axes = fig.subplots(n_rows, columns, squeeze=False)
    for index, model in enumerate(models):
        ax = axes[index // columns][index % columns]
        _draw_boundary(ax, model, rows, labels, threshold=threshold, resolution=resolution,
                       padding=padding, title=titles[index] if titles else None)
    for index in range(len(models), n_rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def training_curves(losses: Sequence[float],
                    accuracies: Sequence[float | None] | None = None, *,
                    title: str | None = None, path=None):
    """The loss (and, if given, the accuracy) after each epoch.

    Args:
        losses: one loss per epoch.
        accuracies: one accuracy in [0, 1] per epoch, drawn in a second panel, such as
            `microgrant.train.History.accuracy`; an epoch without one (``None``) is a gap,
            and no panel is drawn when no epoch has one.
        title: the figure's title.
        path: if given, the figure is also saved there.

    Returns:
        The matplotlib figure.

    >>> len(training_curves([0.9, 0.5, 0.2], [0.5, 0.75, 1.0]).axes)
    2
    """
    losses = [float(v) for v in losses]
    if not losses:
        raise ValueError("training_curves needs at least one loss")
    if accuracies is not None and all(v is None for v in accuracies):
        accuracies = None  # targets that are not class labels have no accuracy
    panels = 1 if accuracies is None else 2
    fig = _figure_class()(figsize=(5 * panels, 3.6))
    axes = fig.subplots(1, panels, squeeze=False)[0]
    epochs = range(1, len(losses) + 1)
    axes[0].plot(epochs, losses, color=_STRONG[0])
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].grid(alpha=0.3)
    if accuracies is not None:
        shown = [math.nan if v is None else float(v) for v in accuracies]
        axes[1].plot(range(1, len(shown) + 1), shown, color=_STRONG[2])
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("accuracy")
        axes[1].set_ylim(-0.02, 1.02)
        axes[1].grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def activation_with_derivative(name: str, zs: Sequence[float]) -> tuple[list[float],
                                                                          list[float]]:
    """g(z) and g'(z) at each z, the derivative from microgrant's `backward`.

    Args:
        name: a key of `ACTIVATIONS`.
        zs: the points.

    Returns:
        ``(values, derivatives)``, two lists of floats.

    >>> values, slopes = activation_with_derivative("sigmoid", [0.0, 2.0])
    >>> values[0], slopes[0]
    (0.5, 0.25)
    >>> round(values[1], 7)           # note 002: tf.math.sigmoid(2.0) = 0.8807971
    0.8807971
    """
    checks.one_of(name, ACTIVATIONS, "activation")
    values, derivatives = [], []
    for z in zs:
        leaf = Value(z)
        out = ACTIVATIONS[name](leaf)
        out.backward()
        values.append(out.data)
        derivatives.append(leaf.grad or 0.0)  # a leaf made here always has a float grad
    return values, derivatives


def activations(names: Sequence[str] = ("sigmoid", "tanh", "relu", "step"), *,
                low: float = -6.0, high: float = 6.0, points: int = 241, path=None):
    """Each activation function and its derivative, one panel per function.

    The derivative curves are computed by `backward` at every point, so a wrong local
    derivative in the engine would show up here as a wrong curve.

    Args:
        names: keys of `ACTIVATIONS`.
        low, high: the range of z.
        points: how many z values to evaluate, at least 2.
        path: if given, the figure is also saved there.

    Returns:
        The matplotlib figure.

    >>> len(activations(["sigmoid", "relu"], points=11).axes)
    2
    """
    names = list(names)
    if not names:
        raise ValueError("activations needs at least one name")
    for name in names:
        checks.one_of(name, ACTIVATIONS, "activation")
    checks.count(points, "points", minimum=2)
    if not checks.finite(low, "low") < checks.finite(high, "high"):
        raise ValueError(f"need low < high; got low={low}, high={high}")
    zs = [low + (high - low) * i / (points - 1) for i in range(points)]
    fig = _figure_class()(figsize=(3.6 * len(names), 3.2))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        values, derivatives = activation_with_derivative(name, zs)
        ax.plot(zs, values, color=_STRONG[0], label=f"{name}(z)")
        ax.plot(zs, derivatives, color=_STRONG[1], linestyle="--",
                label=f"{name}'(z) by backward")
        ax.axhline(0.0, color="#999999", linewidth=0.6)
        ax.axvline(0.0, color="#999999", linewidth=0.6)
        ax.set_title(name)
        ax.set_xlabel("z")
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
