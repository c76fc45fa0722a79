"""strides: an index plan of the replay read as a view, when it is a regular block.

The replay (`plan`) gathers each group's inputs from its array of numbers by index, which
copies them.  A layer's outputs are a block of J x S numbers, and the next layer reads them
back in a fixed pattern: an index array that steps evenly along each axis.  Such a gather is
a strided view of the same array, read (or written) in place at no cost.

>>> import numpy as np
>>> A = np.arange(10.0)
>>> even_steps(np.array([[7, 5], [8, 6]]))
[1, -2]
>>> strided(A, np.array([[7, 5], [8, 6]])).tolist()
[[7.0, 5.0], [8.0, 6.0]]
>>> strided(A, np.array([3, 1, 4])) is None
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["even_steps", "strided"]


def even_steps(idx: np.ndarray) -> list[int] | None:
    """The step along each axis when ``idx`` steps evenly along each
    (``idx[i, j] = idx[0, 0] + i * s0 + j * s1``), else ``None``."""
    if idx.size == 0 or idx.ndim == 0:
        return None
    start = int(idx.flat[0])
    steps = []
    for axis, n in enumerate(idx.shape):
        one = tuple(1 if a == axis and n > 1 else 0 for a in range(idx.ndim))
        steps.append(int(idx[one]) - start)
    expected = start + sum(np.arange(n).reshape([-1 if a == axis else 1
                                                 for a in range(idx.ndim)]) * s
                           for axis, (n, s) in enumerate(zip(idx.shape, steps)))
    return steps if np.array_equal(expected, idx) else None


def strided(A: np.ndarray, idx: np.ndarray, writeable: bool = False) -> np.ndarray | None:
    """``A[idx]`` as a view of ``A`` when ``idx`` steps evenly along each axis, else ``None``.

    Every index of ``idx`` is in ``A`` (A's start is ``A[0]``), so the view reads (or, when
    ``writeable``, writes) only A's own numbers, though a step may be negative.
    """
    steps = even_steps(idx)
    if steps is None:
        return None
    return np.lib.stride_tricks.as_strided(A[int(idx.flat[0]):], shape=idx.shape,
                                           strides=[s * A.itemsize for s in steps],
                                           writeable=writeable)
