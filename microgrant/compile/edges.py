"""edges: where backward's chain-rule contributions go, and the order each node sums its own.

In backward, every edge (an input of a node) receives one contribution, ``local_grad x the
node's gradient``, and every node's gradient is the sum of the contributions on the edges that
leave it.  ``Value.backward`` visits nodes in reverse topological order, so a node adds up its
contributions in the order of its consumers, the latest first; one consumer with the node as
several inputs (``x * x``) adds them by position.  The replay (`plan`) stores each group's
contributions as one block of an array ``C``; this module finds, for every node, the places in
``C`` of its contributions in that order, and turns them into an index plan: a small matrix of
places to sum down its columns, or, when the counts are very uneven, one ``bincount``.

>>> import numpy as np
>>> # Two edges into node 0 (from consumers of rank 5 and 7), one into node 1 (rank 6).
>>> into = Incoming(np.array([0, 1, 0]), np.array([5, 6, 7]), np.array([10, 11, 12]), 2)
>>> gidx, _, _ = into.sum_plan(np.array([0, 1]), zero=99)
>>> gidx.tolist()  # node 0 adds the contribution from rank 7 first, as backward does
[[12, 11], [10, 99]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["Incoming"]


class Incoming:
    """Every node's incoming contributions, in the order backward adds them.

    Args:
        targets: for each edge, the slot of the node (or leaf) it carries a gradient to.
        ranks: for each edge, the position in topological order of the node that uses it.
        places: for each edge, where its contribution is stored; edges of one consumer come
            in the order backward adds them (by input position), and every array is in the
            order of ``places`` for edges of one consumer.
        size: one more than the largest slot any target may have.
    """

    def __init__(self, targets: np.ndarray, ranks: np.ndarray, places: np.ndarray,
                 size: int):
        # Sorted by target, then by consumer, the latest first; a stable sort keeps one
        # consumer's edges in the order they came.
        span = int(ranks.max()) + 1 if len(ranks) else 1
        key = targets.astype(np.int64) * span + (span - 1 - ranks)
        by = np.argsort(key, kind="stable")
        self.places = places[by]
        self.count = np.bincount(targets, minlength=size)
        self.first = np.cumsum(self.count) - self.count

    def sum_plan(self, slots: np.ndarray, zero: int):
        """How the nodes at ``slots`` sum their contributions: ``(gidx, bin_ids, bin_slots)``.

        ``gidx`` is an (m, n) matrix of places, a node's contributions down its column padded
        with ``zero`` (a place that holds 0.0); a row of it when every node has exactly one.
        When the counts are very uneven, ``gidx`` is None and ``bin_ids`` (the node of each
        contribution) and ``bin_slots`` (its place), node by node, make one ``bincount``.
        """
        n = len(slots)
        count = self.count[slots]
        first = self.first[slots]
        if n and bool((count == 1).all()):  # one consumer each
            return self.places[first][None, :], None, None
        total = int(count.sum())
        m = int(count.max()) if n else 0
        node = np.repeat(np.arange(n, dtype=np.intp), count)
        within = np.arange(total, dtype=np.intp) - np.repeat(np.cumsum(count) - count, count)
        taken = self.places[np.repeat(first, count) + within]
        if m * n <= 2 * total + 64:
            gidx = np.full(m * n, zero, dtype=np.intp).reshape(m, n)
            gidx[within, node] = taken
            return gidx, None, None
        return None, node, taken  # very uneven: bincount adds in array order, node by node
