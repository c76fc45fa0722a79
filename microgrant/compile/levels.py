"""levels: each node's level and group key, and the rows and columns of the dense layers.

The replay (`plan`) computes a traced graph level by level: a node's level is one more than
its deepest input's, and the nodes of one level doing the same op are one array operation.
Finding the levels reads every input of every node once, and a dense layer has many: each
weighted sum (a ``dot`` node) takes a neuron's weights and bias and one sample's inputs, a
*row* and a *column* that many other nodes share.  So a ``dot`` node is read as its row and
its column: each distinct one is looked into once, for its deepest level and for the leaves
it brings, and a group of such nodes is a matrix product when its rows and columns make a
full grid (`grid`).
"""

from __future__ import annotations

from itertools import repeat
from operator import attrgetter

import numpy as np

__all__ = ["Dots", "group_keys", "grid"]

_ARG = attrgetter("arg")


class Dots:
    """The ``dot`` nodes of a graph as rows (weights and bias) and columns (inputs).

    A ``dot`` node of ``k`` inputs ``w_1..w_h, x_1..x_h[, b]`` (``h = k // 2``) has the row
    ``w_1..w_h[, b]`` and the column ``x_1..x_h``; equal rows (and columns) get one number.

    Attributes:
        row, col: {dot node: its row's number}, {dot node: its column's number}.
        rows, cols: every distinct row and column, by number, in order of first use.
        repeats: the dot nodes whose row and column were both used by an earlier node: every
            input of theirs is an input of a node before them.
    """

    def __init__(self) -> None:
        self.row: dict = {}
        self.col: dict = {}
        self.rows: list = []
        self.cols: list = []
        self.repeats: set = set()


def group_keys(ins: dict, chains: dict, in_loss: set) -> tuple[dict, Dots]:
    """{(level, in loss, op, arity, argument): its nodes, in order}, the replay's groups, and
    the graph's `Dots`.

    ``ins`` holds each node's inputs, in topological order.  A chain of additions
    (``chains``: its last node and its terms) is one ``sum``.

    >>> from microgrant import Value
    >>> x, y = Value(1.0), Value(2.0)
    >>> a, b = x * y, x + y
    >>> c = a * b
    >>> keyed, _ = group_keys({n: n.inputs for n in (a, b, c)}, {}, {a, b, c})
    >>> for key, nodes in keyed.items():
    ...     print(key, len(nodes))
    (1, True, 'mul', 2, None) 1
    (1, True, 'add', 2, None) 1
    (2, True, 'mul', 2, None) 1
    """
    level: dict = {}
    depth, zeros = level.get, repeat(0)
    dots = Dots()
    row, col, repeats = dots.row, dots.col, dots.repeats
    rows: dict = {}
    cols: dict = {}
    row_depth: list = []
    col_depth: list = []
    keyed: dict = {}  # by (level, op, arity) first; in loss and argument split it after
    for node, inputs in ins.items():
        op = node.op
        if op == "dot":  # its row's and its column's deepest, each looked into once
            h, new_j, new_s = len(inputs) // 2, len(rows), len(cols)
            w, x = inputs[:h] + inputs[2 * h:], inputs[h:2 * h]
            j = row[node] = rows.setdefault(w, new_j)
            s = col[node] = cols.setdefault(x, new_s)
            if j == new_j:
                row_depth.append(max(map(depth, w, zeros), default=0))
            if s == new_s:
                col_depth.append(max(map(depth, x, zeros), default=0))
            elif j != new_j:
                repeats.add(node)
            a, b = row_depth[j], col_depth[s]
            at = 1 + (a if a > b else b)
        elif len(inputs) == 1:
            at = 1 + depth(inputs[0], 0)
        elif len(inputs) == 2:  # most nodes: spelled out, it is twice as fast
            a, b = depth(inputs[0], 0), depth(inputs[1], 0)
            at = 1 + (a if a > b else b)
        else:
            at = 1 + max(map(depth, inputs, zeros), default=0)
        level[node] = at
        key = (at, "sum" if chains and node in chains else op, len(inputs))
        nodes = keyed.get(key)
        if nodes is None:
            keyed[key] = [node]
        else:
            nodes.append(node)
    dots.rows, dots.cols = list(rows), list(cols)
    split: dict = {}
    for (at, op, k), nodes in keyed.items():
        args = list(map(_ARG, nodes)) if op != "sum" else [None] * len(nodes)
        if all(map(in_loss.__contains__, nodes)) and args.count(None) == len(nodes):
            split[at, True, op, k, None] = nodes
            continue
        for node, arg in zip(nodes, args):
            split.setdefault((at, node in in_loss, op, k, None if arg is None else float(arg)),
                             []).append(node)
    return split, dots


def _in_order_of_use(ids: list) -> tuple[list, list]:
    """The distinct numbers of ``ids`` in order of first use, and each one's place there."""
    distinct = list(dict.fromkeys(ids))
    place = dict(zip(distinct, range(len(distinct))))
    return distinct, list(map(place.__getitem__, ids))


def grid(nodes: list, dots: Dots):
    """A group of dot nodes as a matrix product, when it is one: (rows, columns, node order)
    or None.

    A layer of neurons applied to a batch of samples is n = J x S weighted sums, each pairing
    one neuron's weights (and bias) with one sample's inputs.  Computed as one (J, h) @
    (h, S) product instead of gathering J x S copies of the weights, it is a tensor
    library's dense layer, found in the scalar graph.  Rows and columns are in the order the
    group first uses them; the nodes, row by row and column by column.
    """
    n = len(nodes)
    rows, j = _in_order_of_use(list(map(dots.row.__getitem__, nodes)))
    cols, s = _in_order_of_use(list(map(dots.col.__getitem__, nodes)))
    if len(rows) * len(cols) != n or len(rows) == n == 1:
        return None
    place = np.array(j, dtype=np.intp) * len(cols) + np.array(s, dtype=np.intp)
    if np.bincount(place, minlength=n).max() > 1:  # a (row, column) pair twice
        return None
    return ([dots.rows[r] for r in rows], [dots.cols[c] for c in cols],
            list(map(nodes.__getitem__, np.argsort(place).tolist())))
