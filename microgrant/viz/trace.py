"""The first stage of seeing backprop: the graph numbered, and its one replay of the chain rule.

A `Trace` is made once per call to a drawing or text function and handed down the pipeline
(``trace -> text -> dot -> render -> stepper``).  It holds everything that is *about the graph*
and nothing about how it is shown (no number formatting, no colours):

* every value ``root`` depends on, with a stable id: ``n0, n1, ...`` in topological order, each
  value after its inputs, so the same graph always gives the same ids;
* the backward pass, replayed once by `microgrant.autodiff.backward_pass` (never by a replay of
  its own), and what follows from it: each step's grads after it ran, and the step at which
  each number of the backward picture is complete;
* the structure a net gives its values through their labels (``L1.n2.z``): each value's group
  (its neuron), and for values made for one sample of a loss (ancestors of the loss term
  ``mse[3]`` that no other term shares, or, where the terms are unlabelled, the values of one
  call of the net and what the loss makes of its output alone) that sample;
* the forward pass re-run through the op table with one leaf nudged, for finite differences.

Like the engine, nothing here recurses over the graph: a chain of a million values is fine.
"""

from __future__ import annotations

import math
import re
from collections import deque
from typing import Any

from ..autodiff import BackwardPass, ChainStep, backward_pass
from ..engine import OPS, Value, topological_order

__all__ = ["Trace", "DEFAULT_MAX_NODES", "SHARED", "check_root", "is_step_of"]

DEFAULT_MAX_NODES = 300
"""How many values `draw` lays out before it leaves the rest out (Graphviz slows down fast)."""

SHARED = -1
"""The sample of a value that several samples' loss terms depend on (a parameter)."""

# A per-sample loss term, as the losses label them: "mse[3]" (1-based).
_TERM = re.compile(r"^(.+)\[([1-9][0-9]*)\]$")
# A layer's group, as nn labels it: "L2.n1" (layer 2, neuron 1), possibly with a prefix.
_LAYER = re.compile(r"(?:^|\.)L([1-9][0-9]*)(?:\.|$)")


def check_root(root: Any, caller: str) -> Value:
    """``root`` itself when it is a Value, else a TypeError that names what was given.

    >>> check_root([1], "draw")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: draw needs a microgrant Value (the output of a computation); got list (a layer...
    """
    if not isinstance(root, Value):
        hint = ""
        if isinstance(root, (list, tuple)):
            hint = " (a layer returns a list: pick one output, or combine them into a loss)"
        raise TypeError(f"{caller} needs a microgrant Value (the output of a computation); got "
                        f"{type(root).__name__}{hint}")
    return root


def is_step_of(step: Any) -> bool:
    """Whether ``step`` is a chain-rule step that carries its trace (a `BackwardStep`)."""
    return isinstance(getattr(step, "trace", None), Trace) and \
        isinstance(getattr(step, "index", None), int) and callable(
            getattr(step, "highlighted_ids", None))


class Trace:
    """Every value ``root`` depends on, numbered so that inputs come first, and its backprop.

    Attributes:
        root: the output.
        order: the op nodes in topological order (from the engine).
        values: all values, leaves included, in id order.
        ids: value -> ``"n<k>"``.

    >>> from microgrant import Value
    >>> x = Value(3.0, label="x")
    >>> t = Trace(x * x + 1)
    >>> [t.ids[v] for v in t.values], [t.kind(v) for v in t.values]
    (['n0', 'n1', 'n2', 'n3'], ['leaf', 'value', 'constant', 'output'])
    >>> t.grads[x]            # replayed once, kept for every stage below
    6.0
    """

    def __init__(self, root: Value):
        self.root = root
        self.order: list[Value] = topological_order(root)
        self.values: list[Value] = []
        self.ids: dict[Value, str] = {}
        for node in self.order:
            # Leaves get their ids just before the first op that uses them, in input order:
            # the engine's order is deterministic, so these ids are too.
            for x in node.inputs:
                if not x.inputs and x not in self.ids:
                    self._number(x)
            self._number(node)
        if not self.order:
            self._number(root)
        self._pass: BackwardPass | None = None
        self._after: list[tuple] | None = None
        self._samples: dict[Value, int] | None = None
        self._groups: dict[Value, str] | None = None
        self._uses: dict[Value, int] | None = None

    def _number(self, value: Value) -> None:
        self.ids[value] = f"n{len(self.values)}"
        self.values.append(value)

    def kind(self, v: Value) -> str:
        """``"output"``, ``"value"`` (made by an op), ``"leaf"`` or ``"constant"``."""
        if v is self.root:
            return "output"
        if v.inputs:
            return "value"
        return "constant" if v.grad is None else "leaf"

    # ---- the backward pass: replayed once, on first need ---------------------------------

    @property
    def backward(self) -> BackwardPass:
        """The backward pass of ``root`` (`microgrant.autodiff.backward_pass`), made once.

        Raises:
            ValueError, ArithmeticError: a local derivative a gradient must flow through does
                not exist, with the message `Value.backward` gives.
        """
        if self._pass is None:
            self._pass = backward_pass(self.root)
        return self._pass

    @property
    def steps(self) -> list[ChainStep]:
        """One `ChainStep` per op node, the output's first (the order backprop visits them)."""
        return self.backward.steps

    @property
    def grads(self) -> dict:
        """d(root)/d(value) for every value that takes a gradient and that root depends on."""
        return self.backward.grads

    def step_of(self, node: Value) -> ChainStep | None:
        """The step at which ``node`` passes its gradient on (None for a leaf)."""
        if not node.inputs:
            return None
        # The steps run in reverse topological order, and ids follow that order.
        return self._step_by_node().get(node)

    def _step_by_node(self) -> dict:
        found = getattr(self, "_by_node", None)
        if found is None:
            found = self._by_node = {s.node: s for s in self.steps}
        return found

    def grads_after(self, index: int) -> tuple:
        """Each input's accumulated gradient once step ``index`` is done (None: a constant)."""
        if self._after is None:
            running: dict[Value, Any] = {}
            after = []
            for step in self.steps:
                for x, c in zip(step.node.inputs, step.contributions):
                    if c is not None:
                        before = running.get(x)
                        running[x] = c if before is None else before + c
                after.append(tuple(running.get(x) if x.grad is not None else None
                                   for x in step.node.inputs))
            self._after = after
        return self._after[index]

    def reveals(self) -> list[list[str]]:
        """When each number of the backward picture is known, as the stepper page reveals them.

        Position 0 is the seed, position ``k`` the moment step ``k`` (``steps[k - 1]``) is done.
        Returns, for each position, the ids of the elements that become visible there: an
        edge's label (``n4_in0``) at its own step, and a value's grad cell (``n0_grad``) once
        its gradient is complete (the output's at the seed, any other value's after the last
        step that adds to it: steps run in reverse topological order, so that is the step of
        its last consumer).  Constants take no gradient: they have neither.
        """
        steps = self.steps
        reveals: list[list[str]] = [[] for _ in range(len(steps) + 1)]
        complete: dict[Value, int] = {}
        if self.root.grad is not None:
            complete[self.root] = 0
        for step in steps:
            node_id = self.ids[step.node]
            for i, x in enumerate(step.node.inputs):
                if x.grad is None:
                    continue
                reveals[step.index + 1].append(f"{node_id}_in{i}")
                complete[x] = step.index + 1  # a later step overrides: the last completes it
        for v in self.values:  # id order, so the page's data is the same every time
            if v in complete:
                reveals[complete[v]].append(f"{self.ids[v]}_grad")
        return reveals

    # ---- size: what a picture keeps ---------------------------------------------------------

    def nearest(self, limit: int) -> set:
        """The ``limit`` values nearest the output, breadth first (the ones a reader sees)."""
        keep = {self.root}
        queue = deque([self.root])
        while queue and len(keep) < limit:
            node = queue.popleft()
            for x in node.inputs:
                if x not in keep:
                    if len(keep) >= limit:
                        break
                    keep.add(x)
                    queue.append(x)
        return keep

    def uses(self, v: Value) -> int:
        """How many input slots of op nodes hold ``v`` (``x * x`` counts two)."""
        if self._uses is None:
            uses: dict[Value, int] = {}
            for node in self.order:
                for x in node.inputs:
                    uses[x] = uses.get(x, 0) + 1
            self._uses = uses
        return self._uses.get(v, 0)

    def depth(self) -> int:
        """The number of ops on the longest path from a leaf to the output."""
        level: dict[Value, int] = {}
        for node in self.order:
            level[node] = 1 + max(level.get(x, 0) for x in node.inputs)
        return level.get(self.root, 0)

    # ---- structure a net gives through its labels --------------------------------------------

    def samples(self) -> dict[Value, int]:
        """Value -> the sample (1-based) it was made for; `SHARED` for values several share.

        Samples are read from the loss terms' labels: an op node labelled ``name[k]``
        (``mse[3]``) is sample k's term, and its ancestors that no other term reaches belong
        to sample k.  Values no term reaches (the reduction into the loss) are absent.

        >>> from microgrant import Value
        >>> w = Value(0.5, label="w")
        >>> terms = [(w * x) ** 2 for x in (1.0, 2.0)]
        >>> terms[0].label, terms[1].label = "mse[1]", "mse[2]"
        >>> t = Trace(Value.sum(terms))
        >>> t.samples()[terms[1].inputs[0]], t.samples()[w]
        (2, -1)

        Without such labels a net's own labels still tell the samples apart: each call of the
        net makes its output (``L3.n1.a``) once, so the k-th output the loss reaches (reading
        its inputs left to right, as ``sum`` adds them) is sample k's; see `_net_samples`.
        """
        if self._samples is None:
            sample: dict[Value, int] = {}
            for v in self.values:
                found = _TERM.match(v.label) if v.inputs and v.label else None
                if found is None:
                    continue
                k = int(found.group(2))
                stack = [v]
                while stack:
                    u = stack.pop()
                    had = sample.get(u)
                    if had is None:
                        sample[u] = k
                    elif had == k or had == SHARED:
                        continue
                    else:
                        # Reached from two terms: shared, and so is everything it depends on.
                        _mark_shared(u, sample)
                        continue
                    stack.extend(u.inputs)
            self._samples = sample if sample else self._net_samples()
        return self._samples

    def _net_samples(self) -> dict[Value, int]:
        """Samples read from a net's repeated labels, for a loss whose terms are unlabelled.

        The net's output value (the first op node of the highest layer, ``L3.n1.a``) is made
        once per sample.  Numbered in the order the loss reads them, the k-th output and every
        value that depends on it alone is sample k (the rest of the net, the term); then,
        consumers before inputs, a value all of whose consumers belong to sample k is sample
        k too (the net's inner values, the inputs, the targets), and one that several
        samples use is `SHARED` (the parameters).  Values that depend on several outputs are
        the reduction into the loss: absent.  Fewer than two outputs: no samples.
        """
        best: tuple[int, str] | None = None
        for v in self.values:
            found = _LAYER.search(v.label) if v.inputs and v.label else None
            if found is not None and (best is None or int(found.group(1)) > best[0]):
                best = (int(found.group(1)), v.label)
        if best is None:
            return {}
        outputs = {v for v in self.values if v.inputs and v.label == best[1]}
        if len(outputs) < 2:
            return {}
        numbers: dict[Value, int] = {}
        seen = {self.root}
        stack = [self.root]
        while stack:  # depth first, inputs left to right: the order the loss reads them
            u = stack.pop()
            if u in outputs:
                numbers[u] = len(numbers) + 1
                continue
            for x in reversed(u.inputs):
                if x not in seen:
                    seen.add(x)
                    stack.append(x)
        many = 0  # depends on several outputs
        below: dict[Value, int] = {}
        for node in self.order:
            if node in numbers:
                below[node] = numbers[node]
                continue
            found_k = {below[x] for x in node.inputs if x in below}
            if len(found_k) == 1 and not _starts_a_sum(node):
                below[node] = found_k.pop()
            elif found_k:
                below[node] = many
        sample = {v: k for v, k in below.items() if k != many}
        consumers: dict[Value, list[Value]] = {}
        for node in self.order:
            for x in node.inputs:
                consumers.setdefault(x, []).append(node)
        for v in reversed(self.values):
            if v in below:
                continue
            used: set[int] = set()
            outside = False  # also used by a value of no sample (the reduction)
            for c in consumers.get(v, ()):
                k = sample.get(c)
                if k is None:
                    outside = True
                else:
                    used.add(k)
            if len(used) == 1 and not outside:
                sample[v] = used.pop()
            elif used:
                sample[v] = SHARED
        return sample

    def sample_count(self) -> int:
        """How many samples the loss terms' labels number (0 when there are none)."""
        found = [k for k in self.samples().values() if k != SHARED]
        return max(found) if found else 0

    def groups(self) -> dict[Value, str]:
        """Value -> its group (neuron), ``"L1.n2"``: its label up to the last dot.

        An unlabelled op node whose consumers all belong to one group joins it (the products
        ``w * x`` inside a neuron's weighted sum); anything else has no group (absent).
        """
        if self._groups is None:
            group: dict[Value, str] = {}
            consumers: dict[Value, set] = {}
            for node in self.order:
                for x in node.inputs:
                    consumers.setdefault(x, set()).add(node)
            for v in reversed(self.values):  # consumers before their inputs
                if v.label:
                    if "." in v.label:
                        group[v] = v.label.rsplit(".", 1)[0]
                    continue
                if not v.inputs:
                    continue
                found = {group.get(c, "") for c in consumers.get(v, ())}
                if len(found) == 1 and "" not in found:
                    group[v] = found.pop()
            self._groups = group
        return self._groups

    def layer(self, v: Value) -> int | None:
        """The layer (1-based) of ``v``'s group, from a label such as ``L2.n1.z``."""
        found = _LAYER.search(self.groups().get(v, ""))
        return int(found.group(1)) if found else None

    # ---- finite differences -------------------------------------------------------------------

    def rerun(self, leaf: Value, data: float) -> float:
        """The output's number with ``leaf``'s set to ``data``: the forward pass re-run.

        Runs each op's ``forward`` from the op table over the topological order, reading the
        other values' numbers as they are; nothing is recorded and no Value changes.

        >>> from microgrant import Value
        >>> x = Value(3.0)
        >>> Trace(x * x + 1).rerun(x, 4.0)
        17.0
        """
        if leaf is self.root:
            return data
        numbers: dict[Value, float] = {leaf: data}
        get = numbers.get
        for node in self.order:
            xs = tuple(get(x, x.data) for x in node.inputs)
            numbers[node] = OPS[node.op].forward(xs, node.arg)
        return numbers[self.root]

    def central_difference(self, leaf: Value, h: float = 1e-6) -> float:
        """d(root)/d(leaf) by a central difference, ``(f(x + h') - f(x - h')) / 2h'``.

        ``h'`` is ``h`` scaled by the size of the leaf's number, so large and small numbers
        are nudged alike.  An op undefined at a nudged point gives NaN.
        """
        x = leaf.data
        step = h * max(1.0, abs(x))
        try:
            up, down = self.rerun(leaf, x + step), self.rerun(leaf, x - step)
        except (ArithmeticError, ValueError):
            return math.nan
        return (up - down) / (2.0 * step)


def _starts_a_sum(node: Value) -> bool:
    """Whether ``node`` is ``0 + term``: Python's ``sum`` starts from 0, so its first step is
    the reduction's, not part of the first sample's term."""
    return node.op == "add" and any(not x.inputs and x.grad is None and x.data == 0.0
                                    for x in node.inputs)


def _mark_shared(start: Value, sample: dict) -> None:
    """Marks ``start`` and everything it depends on as shared by several samples."""
    stack = [start]
    while stack:
        u = stack.pop()
        if sample.get(u) == SHARED:
            continue
        sample[u] = SHARED
        stack.extend(u.inputs)
