"""The first stage of seeing backprop: the graph numbered, and its one replay of the chain rule.

A `Trace` is made once per call to a drawing or text function and handed down the pipeline
(``trace -> structure -> text -> dot -> render -> steps -> stepper``).  It holds what is *about
the graph* and nothing about how it is shown (no labels read, no number formatting, no colours):

* every value ``root`` depends on, with a stable id: ``n0, n1, ...`` in topological order, each
  value after its inputs, so the same graph always gives the same ids;
* the backward pass, replayed once by `microgrant.autodiff.backward_pass` (never by a replay of
  its own), and what follows from it: each step's grads after it ran, and the step at which
  each number of the backward picture is complete;
* whether the graph is *stale* (`Trace.stale`): a value's number changed after the values made
  from it were computed (``w.data -= 0.1 * w.grad`` after ``backward()``, the usual order in a
  training loop), so the recorded numbers no longer add up.  Every later stage reads this and
  says so instead of writing arithmetic that does not hold;
* `Trace.derived`: what later stages work out from the trace (structure, names), kept so that
  one call works each out once.

Like the engine, nothing here recurses over the graph: a chain of a million values is fine.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from ..autodiff import BackwardPass, ChainStep, backward_pass
from ..engine import OPS, Value, topological_order

__all__ = ["Trace", "Stale", "DEFAULT_MAX_NODES", "SHARED", "check_root", "is_step_of"]

DEFAULT_MAX_NODES = 300
"""How many values `draw` lays out before it leaves the rest out (Graphviz slows down fast)."""

SHARED = -1
"""The sample of a value that several samples' loss terms depend on (a parameter)."""


@dataclass(frozen=True)
class Stale:
    """What makes a graph stale: numbers changed after the values made from them were computed.

    Attributes:
        nodes: ``(node, now)`` for each op node whose recorded number differs from what its
            op gives from its inputs' numbers today (``now``; NaN where the op now fails).
        changed: the values whose change is the likely cause: the leaves those nodes read
            that no up-to-date node reads too (or, when that leaves none, every input they
            read); those that take a gradient first, each in id order.
    """

    nodes: tuple
    changed: tuple


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
        derived: what later stages derived from this trace, by key (``"structure"``,
            ``("names", digits)``): worked out once per trace, however many stages ask.

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
        self._uses: dict[Value, int] | None = None
        self._stale: Stale | None | bool = False  # False: not looked at yet
        self.derived: dict[Any, Any] = {}

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

    # ---- staleness: do the recorded numbers still add up? ---------------------------------

    @property
    def stale(self) -> Stale | None:
        """Why the recorded numbers no longer add up, or None while they do.

        Each op node's number is recomputed by its op (from `microgrant.engine.OPS`) from its
        inputs' numbers as they are now, once per trace, and compared with the number
        recorded when the node was made.  They differ when a number was changed in place
        afterwards (an optimizer step on ``w.data``): the graph then shows a ``y`` computed
        from a ``w`` that is no longer there.  The pictures, `explain` and the steps read
        this and say so plainly instead of printing arithmetic that does not hold.

        >>> from microgrant import Value
        >>> w, x = Value(2.0, label="w"), Value(3.0, label="x")
        >>> y = w * x
        >>> Trace(y).stale is None
        True
        >>> w.data -= 0.5
        >>> stale = Trace(y).stale
        >>> [(v.data, now) for v, now in stale.nodes], [v.label for v in stale.changed]
        ([(6.0, 4.5)], ['w', 'x'])
        """
        if self._stale is False:
            self._stale = _find_stale(self)
        assert self._stale is not True
        return self._stale

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


def _same(recorded: float, now: float) -> bool:
    if recorded == now or (math.isnan(recorded) and math.isnan(now)):
        return True
    # The engine computes each number by the same op-table expression, so they agree to the
    # last bit; the tolerance only keeps a harmless reordering of a sum from reading stale.
    return math.isclose(recorded, now, rel_tol=1e-9, abs_tol=0.0)


def _find_stale(trace: Trace) -> Stale | None:
    """Each op node recomputed from its inputs' numbers now (see `Trace.stale`)."""
    nodes = []
    fresh_readers: set = set()
    for node in trace.order:
        try:
            now = OPS[node.op].forward(tuple(x.data for x in node.inputs), node.arg)
        except (ArithmeticError, ValueError):
            now = math.nan
        if _same(node.data, now):
            fresh_readers.update(node.inputs)
        else:
            nodes.append((node, now))
    if not nodes:
        return None
    read = {x for node, _ in nodes for x in node.inputs}
    suspects = {x for x in read if not x.inputs and x not in fresh_readers} or \
        {x for x in read if not x.inputs} or read
    # Parameters first: an optimizer's step is what usually changes a graph's numbers.
    changed = sorted((v for v in trace.values if v in suspects), key=lambda v: v.grad is None)
    return Stale(nodes=tuple(nodes), changed=tuple(changed))
