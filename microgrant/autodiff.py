"""The chain rule, replayed once with every number kept: `backward_pass`, and `grad` on top.

`Value.backward` writes gradients into ``.grad`` as fast as it can and keeps nothing else.  A
learner (and a picture, and ``grad()``) wants more: for every op node, the gradient that
arrived at it, each local derivative and what each edge contributed.  `backward_pass` is that
one replay.  It does backward's arithmetic in backward's order, but keeps the gradients in a
dict keyed by node instead of in ``.grad``, so it works before ``backward`` was ever called and
leaves the graph untouched.  Everything that explains or draws backprop (`microgrant.viz`) and
`grad` read it; a test proves it agrees with ``backward`` on random graphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .engine import Value, is_grad_enabled, local_grads, topological_order

__all__ = ["ChainStep", "BackwardPass", "backward_pass", "grad", "local_grads"]


@dataclass(frozen=True, eq=False)
class ChainStep:
    """One op node passing its gradient to its inputs: one use of the chain rule.

    Attributes:
        index: position in the backward pass, from 0 (the output's own op).
        node: the op node passing its gradient on.
        upstream: d(root)/d(node), complete by the time the node is visited.
        local_grads: d(node)/d(input) for each input (``None`` where the input is a constant
            and the partial does not exist there).
        contributions: ``local_grad * upstream`` for each input; ``None`` for a constant,
            which takes no gradient.
    """

    index: int
    node: Value
    upstream: Any
    local_grads: tuple
    contributions: tuple


@dataclass(frozen=True, eq=False)
class BackwardPass:
    """The whole backward pass of ``root``, every number kept.

    Attributes:
        root: the output differentiated.
        order: its op nodes, each after its inputs (`topological_order`).
        steps: one `ChainStep` per op node, in the order backprop visits them (output first).
        grads: d(root)/d(value) for the root, every op node and every leaf that takes a
            gradient (constants are absent; a value root does not depend on is absent too).
    """

    root: Value
    order: list
    steps: list
    grads: dict

    def grad(self, value: Value, default: Any = 0.0) -> Any:
        """d(root)/d(value), or ``default`` when root does not depend on it."""
        return self.grads.get(value, default)


def backward_pass(root: Value, create_graph: bool = False, seed: Any = None) -> BackwardPass:
    """Replays backprop from ``root`` and keeps every number; ``.grad`` is not touched.

    Args:
        root: the output to differentiate.
        create_graph: compute with Values instead of floats, so that every gradient has a
            graph of its own (to differentiate again, or to draw).
        seed: d(root)/d(root), 1 by default.

    Raises:
        ValueError, ArithmeticError: a local derivative through which a gradient must flow
            does not exist (``sqrt`` at 0), with the same message as ``backward``.

    >>> x = Value(3.0, label="x")
    >>> y = x * x
    >>> p = backward_pass(y)
    >>> [(s.node is y, s.upstream, s.local_grads, s.contributions) for s in p.steps]
    [(True, 1.0, (3.0, 3.0), (3.0, 3.0))]
    >>> p.grads[x], x.grad                  # the dict has it; .grad is untouched
    (6.0, 0.0)
    """
    if create_graph:
        if not is_grad_enabled():
            raise RuntimeError("create_graph=True records a graph, which no_grad() forbids; "
                               "call it outside the no_grad block")
        one: Any = Value(1.0 if seed is None else seed, requires_grad=False)
    else:
        one = 1.0 if seed is None else float(seed)
    order = topological_order(root)
    grads: dict = {}
    if root.grad is not None:
        grads[root] = one
    steps: list[ChainStep] = []
    for node in reversed(order):
        g = grads.get(node)
        local = local_grads(node, as_values=create_graph)
        contributions: list[Any] = []
        for x, d in zip(node.inputs, local):
            if x.grad is None:
                contributions.append(None)  # a constant takes no gradient
                continue
            if g is None or (not create_graph and g == 0.0):
                c = 0.0  # nothing flows on from a zero gradient, as in backward
            elif not create_graph:
                c = d * g
            else:
                # A local derivative of exactly 1 (add, sum) passes g on as it is: this
                # keeps the gradient's own graph free of "× 1" nodes.
                c = g if (type(d) is float and d == 1.0) else d * g
            contributions.append(c)
            if g is not None:
                previous = grads.get(x)
                # `+`, accumulated: a value used twice (x * x) gets both contributions.  The
                # first starts from 0.0, as a grad does in backward: -0.0 becomes 0.0 there.
                if previous is not None:
                    grads[x] = previous + c
                else:
                    grads[x] = 0.0 + c if type(c) is float else c
        steps.append(ChainStep(len(steps), node, 0.0 if g is None else g, local,
                               tuple(contributions)))
    return BackwardPass(root, order, steps, grads)


def grad(output: Value, inputs, create_graph: bool = False):
    """d(output)/d(input) for each input; no ``.grad`` is touched.

    Args:
        output: the Value to differentiate.
        inputs: a Value, or a list of Values, to differentiate with respect to.
        create_graph: if True, the gradients are Values with graphs of their own, so they
            can be differentiated again (second derivatives) or drawn.

    Returns:
        A list with one gradient per input (a list of one for a single Value, as PyTorch's
        ``torch.autograd.grad`` returns a tuple of one): floats, or Values with
        ``create_graph=True``.  An input that ``output`` does not depend on gets 0.

    >>> x = Value(3.0)
    >>> y = x ** 3
    >>> (dy,) = grad(y, x, create_graph=True)
    >>> dy.data                     # 3x^2
    27.0
    >>> grad(dy, [x])               # 6x
    [18.0]
    """
    if not isinstance(output, Value):
        if isinstance(output, (list, tuple)) and all(isinstance(y, Value) for y in output):
            # tf.GradientTape.gradient takes a list of targets and differentiates their sum.
            raise TypeError(f"grad differentiates one Value; got a {type(output).__name__} of "
                            f"{len(output)} Values. For the gradient of their sum (what "
                            f"GradientTape.gradient does with a list), write "
                            f"grad(Value.sum([y1, y2, ...]), x); for each one's own gradient, "
                            f"call grad(y, x) for each y")
        raise TypeError(f"grad needs a Value output; got {type(output).__name__}")
    wanted = [inputs] if isinstance(inputs, Value) else list(inputs)
    for x in wanted:
        if not isinstance(x, Value):
            raise TypeError(f"grad needs a Value or a list of Values as inputs; got "
                            f"{type(x).__name__}")
    grads = backward_pass(output, create_graph).grads
    result = []
    for x in wanted:
        g = grads.get(x, 0.0)
        if create_graph and not isinstance(g, Value):
            g = Value(g, requires_grad=False)
        elif not create_graph and isinstance(g, Value):
            g = g.data
        result.append(g)
    return result
