"""Small seeded datasets: the points the course notes draw before (and while) they train.

Every model in microgrant is first tried on a toy problem you can plot on paper: the logic
gates (NOT, AND, OR, NAND are linearly separable, XOR is not, which is the notes' whole argument for
hidden layers), the university admissions example of note 003 (test score and grades), and the
classic non-linear sets used to show what an MLP trained by backprop can do (moons, circles,
blobs).

Conventions shared by every function here:

* ``X`` is a ``float64`` array of shape ``(n, 2)``: one row per sample, one column per feature.
* ``y`` is an ``int64`` array of shape ``(n,)``.  ``labels="01"`` (the default) gives classes
  0 and 1, as the notes' Heaviside perceptron outputs; ``labels="pm1"`` gives -1 and +1, as the
  hinge loss (micrograd's moons demo) and the sign-based perceptron write them.  Class 0 and
  class -1 are the same class: ``pm1`` is just ``2 * y01 - 1``.
* Randomness comes only from the ``seed`` argument, never from numpy's global state: pass an
  int for the same data every run, a ``numpy.random.Generator`` to draw from it (it advances),
  or ``None`` for fresh, unrepeatable data.

>>> X, y = moons(n=6, seed=0)
>>> X.shape, X.dtype, y.shape
((6, 2), dtype('float64'), (6,))
"""

from __future__ import annotations

import math

import numpy as np

from . import checks

__all__ = ["LABELS", "GATES", "ONE_INPUT_GATES", "logic_gate", "moons", "circles", "blobs",
           "admissions", "split"]

#: The label conventions every generator accepts, and what they mean.
LABELS = {"01": (0, 1), "pm1": (-1, 1)}

#: The 4-row truth tables, as the notes print them: rows (0,0), (0,1), (1,0), (1,1).
GATES = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "xor": (0, 1, 1, 0),
}

#: Gates of one input, as note 003 builds them from a perceptron: rows (0,), (1,).
ONE_INPUT_GATES = {
    "not": (1, 0),
}


# --------------------------------------------------------------------------- helpers


def _classes(labels: str) -> tuple[int, int]:
    """(negative, positive) for a label convention, checked against `LABELS`."""
    return LABELS[checks.one_of(labels, LABELS, "labels")]


def _relabel(y01: np.ndarray, labels: str) -> np.ndarray:
    """Map 0/1 class indices to the requested convention (0/1 or -1/+1) as int64."""
    negative, positive = _classes(labels)
    return np.where(y01 == 1, positive, negative).astype(np.int64)


def _shuffled(rng: np.random.Generator, X: np.ndarray, y01: np.ndarray):
    # Generators build the classes one after the other; shuffling means a prefix of the data
    # (or a train/test split of it) holds both classes.
    order = rng.permutation(len(y01))
    return X[order], y01[order]


# --------------------------------------------------------------------------- datasets


def logic_gate(name: str, *, labels: str = "01") -> tuple[np.ndarray, np.ndarray]:
    """The truth table of a logic gate: 4 samples of two inputs, or NOT's 2 of one.

    Args:
        name: ``"and"``, ``"or"``, ``"nand"``, ``"xor"`` or ``"not"`` (any case).
        labels: ``"01"`` for outputs 0/1, ``"pm1"`` for -1/+1. The inputs stay 0/1 either way.

    Returns:
        ``(X, y)``: ``X`` is float64 ``(4, 2)`` with rows (0,0), (0,1), (1,0), (1,1), or
        ``(2, 1)`` with rows (0,), (1,) for ``"not"``; ``y`` is the gate's output for each row.

    Raises:
        ValueError: for an unknown gate name (the message lists the valid ones) or labels.

    >>> X, y = logic_gate("xor")
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    >>> logic_gate("and", labels="pm1")[1].tolist()
    [-1, -1, -1, 1]
    >>> X, y = logic_gate("not")
    >>> X.tolist(), y.tolist()
    ([[0.0], [1.0]], [1, 0])
    """
    key = name.lower() if isinstance(name, str) else None
    if key not in GATES and key not in ONE_INPUT_GATES:
        valid = ", ".join(repr(g) for g in (*GATES, *ONE_INPUT_GATES))
        raise ValueError(f"unknown logic gate {name!r}; valid gates are {valid}")
    _classes(labels)
    if key in ONE_INPUT_GATES:
        X = np.array([[0], [1]], dtype=np.float64)
        return X, _relabel(np.array(ONE_INPUT_GATES[key]), labels)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return X, _relabel(np.array(GATES[key]), labels)


def _two_classes(rng, negative: np.ndarray, positive: np.ndarray, noise: float, labels: str):
    """The points of both classes, with Gaussian noise on every coordinate, shuffled."""
    X = np.vstack([negative, positive]).astype(np.float64)
    y01 = np.concatenate([np.zeros(len(negative), dtype=np.int64),
                          np.ones(len(positive), dtype=np.int64)])
    X = X + rng.normal(scale=noise, size=X.shape) if noise > 0 else X
    X, y01 = _shuffled(rng, X, y01)
    return X, _relabel(y01, labels)


def moons(
    n: int = 100, noise: float = 0.1, seed=None, *, labels: str = "01"
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: micrograd's demo problem, not linearly separable.

    The upper moon (class 0 / -1) is the half circle of radius 1 around (0, 0); the lower moon
    (class 1 / +1) is the same arc flipped and shifted to (1, 0.5). Gaussian noise is added to
    every coordinate. Rows are shuffled.

    Args:
        n: number of samples, at least 1 (``n // 2`` in the upper moon, the rest in the lower).
        noise: standard deviation of the Gaussian noise, >= 0.
        seed: int, ``numpy.random.Generator`` or ``None`` (see the module docstring).
        labels: ``"01"`` or ``"pm1"``.

    Returns:
        ``(X, y)``, float64 ``(n, 2)`` and int64 ``(n,)``.

    >>> X, y = moons(n=100, noise=0.0, seed=1)
    >>> sorted(set(y.tolist())), round(float(X[:, 0].min()), 6), round(float(X[:, 0].max()), 6)
    ([0, 1], -1.0, 2.0)
    """
    n = checks.count(n, "n")
    noise = checks.nonnegative(noise, "noise")
    _classes(labels)
    rng = checks.rng(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    return _two_classes(rng, upper, lower, noise, labels)


def circles(
    n: int = 100, noise: float = 0.05, factor: float = 0.5, seed=None, *, labels: str = "01"
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle inside a large one: separable by a curve, never by a line.

    The outer circle (radius 1) is class 0 / -1, the inner circle (radius ``factor``) is
    class 1 / +1. Gaussian noise is added to every coordinate. Rows are shuffled.

    Args:
        n: number of samples, at least 1 (``n // 2`` on the outer circle, the rest inside).
        noise: standard deviation of the Gaussian noise, >= 0.
        factor: radius of the inner circle relative to the outer one, ``0 < factor < 1``.
        seed: int, ``numpy.random.Generator`` or ``None`` (see the module docstring).
        labels: ``"01"`` or ``"pm1"``.

    Returns:
        ``(X, y)``, float64 ``(n, 2)`` and int64 ``(n,)``.

    >>> X, y = circles(n=8, noise=0.0, factor=0.5, seed=0)
    >>> radius = (X ** 2).sum(axis=1) ** 0.5
    >>> sorted(set(zip(y.tolist(), radius.round(6).tolist())))
    [(0, 1.0), (1, 0.5)]
    """
    n = checks.count(n, "n")
    noise = checks.nonnegative(noise, "noise")
    factor = checks.fraction(factor, "factor", zero=False, one=False)
    _classes(labels)
    rng = checks.rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    # endpoint=False: angle 2*pi is angle 0 again, and would put two points on top of each other
    t_outer = np.linspace(0.0, 2 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * np.pi, n_inner, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    return _two_classes(rng, outer, inner, noise, labels)


def blobs(
    n: int = 100,
    centers=2,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    seed=None,
    *,
    labels: str = "01",
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters, one class per cluster (usually linearly separable when far apart).

    Args:
        n: number of samples, at least 1, shared as evenly as possible between the clusters.
        centers: how many clusters (their centres drawn uniformly in ``center_box``), or an
            array-like of shape ``(k, 2)`` giving the centres themselves.
        cluster_std: standard deviation of every cluster, >= 0.
        center_box: ``(low, high)`` bounds for randomly drawn centres.
        seed: int, ``numpy.random.Generator`` or ``None`` (see the module docstring).
        labels: ``"01"`` gives class indices 0 .. k-1 (0/1 for two clusters); ``"pm1"`` gives
            -1/+1 and needs exactly two clusters.

    Returns:
        ``(X, y)``, float64 ``(n, 2)`` and int64 ``(n,)``. Rows are shuffled.

    Raises:
        ValueError: for n < 1, fewer than 1 cluster, a bad centres array, ``cluster_std < 0``,
            or ``labels="pm1"`` with other than two clusters.

    >>> X, y = blobs(n=6, centers=[[0, 0], [5, 5]], cluster_std=0.0, seed=0)
    >>> sorted(set(zip(y.tolist(), map(tuple, X.tolist()))))
    [(0, (0.0, 0.0)), (1, (5.0, 5.0))]
    """
    n = checks.count(n, "n")
    cluster_std = checks.nonnegative(cluster_std, "cluster_std")
    _classes(labels)
    rng = checks.rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = checks.count(centers, "centers")
        low, high = (float(v) for v in center_box)
        if not low < high:
            raise ValueError(f"center_box must be (low, high) with low < high; got {center_box}")
        centre_points = rng.uniform(low, high, size=(k, 2))
    else:
        centre_points = np.asarray(centers, dtype=np.float64)
        if centre_points.ndim != 2 or centre_points.shape[1] != 2 or len(centre_points) < 1:
            raise ValueError(
                "centers must be a positive int or an array of shape (k, 2); "
                f"got shape {centre_points.shape}"
            )
        k = len(centre_points)
    if labels == "pm1" and k != 2:
        raise ValueError(f'labels="pm1" needs exactly 2 centers (two classes); got {k}')
    # n = 7 with 3 centres gives 3, 2, 2 points: the first n % k clusters get one more
    counts = [n // k + (1 if i < n % k else 0) for i in range(k)]
    y_idx = np.repeat(np.arange(k, dtype=np.int64), counts)
    X = centre_points[y_idx] + rng.normal(scale=cluster_std, size=(n, 2))
    X, y_idx = _shuffled(rng, X.astype(np.float64), y_idx)
    if labels == "pm1":
        return X, _relabel(y_idx, labels)
    return X, y_idx


def admissions(
    n: int = 100, noise: float = 0.0, seed=None, *, labels: str = "01"
) -> tuple[np.ndarray, np.ndarray]:
    """Students with a test score and grades (both 0..10), accepted (1) or rejected (0).

    This is the example of note 003: a student is accepted when
    ``2 * test + 1 * grades - 18 >= 0`` (so test 7, grades 6 scores 2 and is accepted).
    Students whose score lies within 1 of the boundary are not generated, so with
    ``noise=0`` the set is linearly separable *with a margin*, and the perceptron rule
    converges on it in a modest number of epochs. With ``noise > 0`` Gaussian noise of that
    standard deviation is added to each student's score before deciding, so a few students
    land on the "wrong" side: separable-ish, as real admissions are.

    Args:
        n: number of students, at least 1.
        noise: standard deviation of the noise added to the score, >= 0.
        seed: int, ``numpy.random.Generator`` or ``None`` (see the module docstring).
        labels: ``"01"`` (rejected 0, accepted 1) or ``"pm1"`` (rejected -1, accepted +1).

    Returns:
        ``(X, y)``: float64 ``(n, 2)`` with columns (test score, grades), and int64 ``(n,)``.

    >>> X, y = admissions(n=50, seed=0)
    >>> bool(((2 * X[:, 0] + X[:, 1] - 18 >= 0) == (y == 1)).all())
    True
    """
    n = checks.count(n, "n")
    noise = checks.nonnegative(noise, "noise")
    _classes(labels)
    rng = checks.rng(seed)
    rows = []
    have = 0
    # Rejection sampling: draw students, drop those too close to the line, keep going until
    # there are n. About 1/9 of the square is dropped, so this loop runs once or twice.
    while have < n:
        batch = rng.uniform(0.0, 10.0, size=(2 * (n - have) + 8, 2))
        score = 2.0 * batch[:, 0] + batch[:, 1] - 18.0
        batch = batch[np.abs(score) >= 1.0][: n - have]
        rows.append(batch)
        have += len(batch)
    X = np.vstack(rows).astype(np.float64)
    score = 2.0 * X[:, 0] + X[:, 1] - 18.0
    if noise > 0:
        score = score + rng.normal(scale=noise, size=n)
    y01 = (score >= 0).astype(np.int64)
    return X, _relabel(y01, labels)


def split(X, y, test_fraction: float = 0.25, seed=None):
    """Shuffle and split a dataset into a training part and a test part.

    Args:
        X: array-like of shape ``(n, ...)``.
        y: array-like of shape ``(n,)``.
        test_fraction: share of samples for the test part, ``0 < test_fraction < 1``; the test
            part gets ``ceil(test_fraction * n)`` samples and both parts must be non-empty.
        seed: int, ``numpy.random.Generator`` or ``None`` (see the module docstring).

    Returns:
        ``(X_train, X_test, y_train, y_test)``, in scikit-learn's ``train_test_split`` order.

    >>> X, y = moons(n=20, seed=0)
    >>> X_train, X_test, y_train, y_test = split(X, y, test_fraction=0.25, seed=0)
    >>> X_train.shape, X_test.shape, y_train.shape, y_test.shape
    ((15, 2), (5, 2), (15,), (5,))
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 1 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"X and y must have the same number of rows and y must be 1-D; got X shape {X.shape}"
            f" and y shape {y.shape}"
        )
    fraction = checks.fraction(test_fraction, "test_fraction", zero=False, one=False)
    n = len(y)
    # Round away the last-bit error of the product first: 0.07 * 100 is 7.000000000000001
    # in floating point, and its ceiling would give 8 test samples instead of 7.  A tiny
    # fraction still gets one test sample: the ceiling of anything above 0 is at least 1.
    n_test = max(1, math.ceil(round(fraction * n, 9)))
    if n_test >= n:
        raise ValueError(
            f"test_fraction={test_fraction} of n={n} samples leaves no training samples"
        )
    order = checks.rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]
