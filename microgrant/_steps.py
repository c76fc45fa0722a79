"""Backprop replayed by hand, one chain-rule step at a time: as data and as text.

The engine's ``backward`` visits the op nodes from the output back to the leaves; at each one
the node's gradient (``upstream``) times each local derivative (``local_grads``) is added to
that input's gradient.  This module does the same arithmetic in the same order, but keeps every
number: `backward_steps` gives each step as a `BackwardStep` (which a drawing can highlight),
and `explain` writes the forward pass and every step out as the course notes do.  The
gradients are kept aside, so the graph's ``.grad`` is never touched and the steps are right
even before ``backward`` ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._graph import _check_digits, _check_value, _d, _factor, _Graph, format_number
from .engine import OPS, Value, _backward_error, local_grads

if TYPE_CHECKING:
    from ._dot import Drawing


# ---- backward steps -----------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One chain-rule step of backprop: an op node passes its gradient to its inputs.

    Attributes:
        index: position in the backward pass, from 0 (the output's own op).
        node: the op node passing its gradient on.
        node_id: its id in the drawings (``"n4"``).
        upstream: d(output)/d(node), complete by the time the node is visited.
        inputs: the node's inputs, in order (``x * x`` lists ``x`` twice).
        input_ids: their ids in the drawings.
        local_grads: d(node)/d(input) for each input, from the op table.
        contributions: ``local_grad * upstream`` for each input: what each edge adds.
        formulas: the op's formula for each input's local derivative.
        grads_after: each input's accumulated gradient once this step is done (``None`` for a
            constant, which takes no gradient).
        equation: the step written out as text, one line per edge.
        root: the output whose backward pass this step belongs to.

    >>> from microgrant import Value
    >>> x = Value(3.0, label="x")
    >>> y = x * x; y.label = "y"
    >>> (step,) = backward_steps(y)
    >>> step.local_grads, step.contributions, step.grads_after
    ((3.0, 3.0), (3.0, 3.0), (6.0, 6.0))
    >>> print(step.equation)
    step 1: y = x × x, with dy/dy = 1
      dy/dx += dy/dy * ∂y/∂x = 1 * 3 = 3   [d(a * b)/da = b]
      dy/dx += dy/dy * ∂y/∂x = 1 * 3 = 3, total so far 6   [d(a * b)/db = a]
    """

    index: int
    node: Value = field(repr=False)
    node_id: str
    upstream: float
    inputs: tuple = field(repr=False)
    input_ids: tuple[str, ...]
    local_grads: tuple[float, ...]
    contributions: tuple[float, ...]
    formulas: tuple[str, ...]
    grads_after: tuple
    equation: str = field(repr=False)
    root: Value = field(repr=False)

    @property
    def op(self):
        """The op (from `microgrant.engine.OPS`) this step differentiates.

        >>> from microgrant import Value
        >>> (step,) = backward_steps(Value(0.5).tanh())
        >>> step.op.name, step.op.formula
        ('tanh', 'd tanh(x)/dx = 1 - tanh(x)^2')
        """
        return OPS[self.node.op]

    def highlighted_ids(self) -> list[str]:
        """The ids of the drawing's elements this step touches: node, op, edges, inputs.

        The ids are those of `to_dot`: the op node's value ``n2``, its op ``n2_op``, the edge
        to its value ``n2_out``, the edge from each input ``n2_in0, n2_in1, ...``, and the
        inputs' own ids (once each, even when an input is used twice).

        >>> from microgrant import Value
        >>> x = Value(3.0, label="x")
        >>> (step,) = backward_steps(x * x)
        >>> step.highlighted_ids()
        ['n1', 'n1_op', 'n1_out', 'n1_in0', 'n1_in1', 'n0']
        """
        ids = [self.node_id, f"{self.node_id}_op", f"{self.node_id}_out"]
        ids += [f"{self.node_id}_in{i}" for i in range(len(self.inputs))]
        ids += [i for i in dict.fromkeys(self.input_ids)]
        return ids

    def draw(self, **options) -> Drawing:
        """The backward graph with this step's node and edges highlighted (see `draw`).

        Args:
            **options: passed on to `microgrant.viz.draw` (``view`` defaults to
                ``"backward"``).

        >>> from microgrant import Value
        >>> a = Value(2.0, label="a")
        >>> b = a * 3; b.label = "b"
        >>> c = b + 1; c.label = "c"
        >>> step = backward_steps(c)[1]            # b = a × 3, the second step back from c
        >>> drawing = step.draw()
        >>> red = [line.split('"')[1] for line in drawing.source.splitlines()
        ...        if "#d62728" in line]           # the elements drawn in the highlight red
        >>> sorted(red)                            # a is n0, the constant 3 is n1, b is n2
        ['n0', 'n1', 'n2', 'n2_in0', 'n2_in1', 'n2_op', 'n2_out']
        """
        # Imported here, not at the top: drawing checks that its highlight is a BackwardStep,
        # so the drawing code needs this module first, and this one needs it only when called.
        from .viz import draw
        options.setdefault("view", "backward")
        return draw(self.root, highlight=self, **options)


def _expression(node: Value, names: dict, digits: int, numbers_too: bool = False) -> str:
    """How ``node`` was computed: ``a × b``, ``tanh(z)``, ``x^2``; or with numbers in."""
    op = OPS[node.op]
    if numbers_too:
        args = [_factor(x.data, digits) for x in node.inputs]
    else:
        args = [_d(names[x]) for x in node.inputs]
    if node.op == "pow":
        return f"{args[0]}^{format_number(node.arg, digits)}"
    if node.op == "sum":
        return " + ".join(args)
    if node.op == "abs":
        return f"|{args[0]}|"
    if node.op == "leaky_relu":
        first = format_number(node.inputs[0].data, digits) if numbers_too else args[0]
        return f"{op.symbol}({first}, slope {format_number(node.arg, digits)})"
    if op.arity == 2:
        return f"{args[0]} {op.symbol} {args[1]}"
    if node.op == "neg":
        return f"{op.symbol}{args[0]}"
    if numbers_too:  # inside a function's own parentheses a sign needs no more of them
        args = [format_number(x.data, digits) for x in node.inputs]
    return f"{op.symbol}({args[0]})"


def _replay(graph: _Graph, digits: int, text: bool = True) -> tuple[list[BackwardStep], dict]:
    """Backprop done by hand: the steps, and d(root)/d(value) for every value that takes one.

    The gradients are kept in a dict, not in ``.grad``, so this works before ``backward`` was
    called and leaves the graph untouched.  The arithmetic is backward's own (same order, same
    ``+=``), so the numbers equal what ``backward`` puts in ``.grad`` on fresh values.
    """
    root, names, ids = graph.root, graph.names, graph.ids
    grads: dict[Value, float] = {}
    if root.grad is not None:
        grads[root] = 1.0
    steps = []
    r = _d(names[root])
    for node in reversed(graph.order):
        g = grads.get(node, 0.0)
        op = OPS[node.op]
        try:
            local = tuple(local_grads(node))
        except (ArithmeticError, ValueError) as error:
            # The same rule, and the same message, as backward and grad.
            raise _backward_error(op, node, error) from None
        contributions = tuple(d * g for d in local)
        formulas = op.formulas if len(op.formulas) == len(node.inputs) else \
            op.formulas[:1] * len(node.inputs)
        n = _d(names[node]) if text else ""
        lines = []
        if text:
            lines.append(f"step {len(steps) + 1}: {names[node]} = "
                         f"{_expression(node, names, digits)}, "
                         f"with d{r}/d{n} = {format_number(g, digits)}")
        for x, d, c, formula in zip(node.inputs, local, contributions, formulas):
            if x.grad is None:
                continue  # a constant takes no gradient
            before = grads.get(x)
            grads[x] = (0.0 if before is None else before) + c
            if not text:
                continue
            i = _d(names[x])
            # ∂ for the op's local derivative, d for the output's total derivative: in the
            # first step they would otherwise read alike (do/dn += do/do * do/dn).
            line = (f"  d{r}/d{i} += d{r}/d{n} * ∂{n}/∂{i} = {_factor(g, digits)} * "
                    f"{_factor(d, digits)} = {format_number(c, digits)}")
            if before is not None:
                line += f", total so far {format_number(grads[x], digits)}"
            lines.append(f"{line}   [{formula}]")
        grads_after = tuple(grads.get(x) if x.grad is not None else None for x in node.inputs)
        steps.append(BackwardStep(
            index=len(steps), node=node, node_id=ids[node], upstream=g,
            inputs=node.inputs, input_ids=tuple(ids[x] for x in node.inputs),
            local_grads=local, contributions=contributions, formulas=tuple(formulas),
            grads_after=grads_after, equation="\n".join(lines), root=root))
    return steps, grads


def _reveals(graph: _Graph, steps: list[BackwardStep]) -> list[list[str]]:
    """When each number of the backward picture is known, as the stepper page reveals them.

    Position 0 is the seed, position ``k`` the moment step ``k`` (``steps[k - 1]``) is done.
    Returns, for each position, the ids of the elements that become visible there:

    * an edge's label (``n4_in0``: its ``local × upstream = contribution``) at its own step;
    * a value's grad cell (``n0_grad``) once its gradient is complete: the output's at the
      seed, any other value's after the last step that adds to it.  Steps run in reverse
      topological order, so that is the step of the last of its consumers.

    Constants take no gradient: they have neither grad cell nor edge label.
    """
    reveals: list[list[str]] = [[] for _ in range(len(steps) + 1)]
    complete: dict[Value, int] = {}
    if graph.root.grad is not None:
        complete[graph.root] = 0
    for step in steps:
        for i, x in enumerate(step.inputs):
            if x.grad is None:
                continue
            reveals[step.index + 1].append(f"{step.node_id}_in{i}")
            complete[x] = step.index + 1  # a later step overrides: the last one completes it
    for v in graph.values:  # id order, so the page's data is the same every time
        if v in complete:
            reveals[complete[v]].append(f"{graph.ids[v]}_grad")
    return reveals


def backward_steps(root: Value, digits: int = 4) -> list[BackwardStep]:
    """Backprop as a list of chain-rule steps, one per op node, output first.

    The steps are computed from the graph and the op table, not read from ``.grad``: they
    are right before ``backward()`` was ever called, and agree with it afterwards.

    Args:
        root: the output to differentiate.
        digits: significant digits in each step's ``equation`` text.

    >>> from microgrant import Value
    >>> a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    >>> e = a * b; e.label = "e"
    >>> d = e + c; d.label = "d"
    >>> [(s.node.label, s.upstream, s.grads_after) for s in backward_steps(d)]
    [('d', 1.0, (1.0, 1.0)), ('e', 1.0, (-3.0, 2.0))]
    """
    _check_value(root, "backward_steps")
    _check_digits(digits)
    return _replay(_Graph(root, digits), digits)[0]


# ---- text ---------------------------------------------------------------------------------

def _path_counts(graph: _Graph) -> tuple[dict, dict]:
    """How many paths lead from the root to each value, and one consumer of each value.

    One pass in reverse topological order: a value's count is the sum of its consumers'.
    """
    paths = {graph.root: 1}
    consumer: dict[Value, Value] = {}
    for node in reversed(graph.order):
        count = paths.get(node, 0)
        for x in node.inputs:
            paths[x] = paths.get(x, 0) + count
            consumer.setdefault(x, node)
    return paths, consumer


def _single_path(graph: _Graph, leaf: Value, paths: dict, consumer: dict) -> list | None:
    """The chain root -> ... -> leaf when there is exactly one path between them, else None."""
    if paths.get(leaf) != 1:
        return None
    chain = [leaf]
    while chain[-1] is not graph.root:
        chain.append(consumer[chain[-1]])
    return chain[::-1]


def explain(root: Value, digits: int = 4) -> str:
    """The forward pass and the chain rule written out, one line per operation and per edge.

    Values are named by their labels; a value without one is named by its id in the
    drawings (``n3``), a constant by its number.

    Args:
        root: the output to differentiate.
        digits: significant digits for every number.

    >>> from microgrant import Value
    >>> x = Value(3.0, label="x")
    >>> z = x * 2; z.label = "z"
    >>> L = z * z; L.label = "L"
    >>> print(explain(L))
    Forward pass:
      z = x × 2 = 3 × 2 = 6
      L = z × z = 6 × 6 = 36
    Backward pass (the chain rule, from L back to the leaves):
      dL/dL = 1   (the seed: L with respect to itself)
    step 1: L = z × z, with dL/dL = 1
      dL/dz += dL/dL * ∂L/∂z = 1 * 6 = 6   [d(a * b)/da = b]
      dL/dz += dL/dL * ∂L/∂z = 1 * 6 = 6, total so far 12   [d(a * b)/db = a]
    step 2: z = x × 2, with dL/dz = 12
      dL/dx += dL/dz * ∂z/∂x = 12 * 2 = 24   [d(a * b)/da = b]
    Gradients of the leaves:
      dL/dx = 24
    """
    _check_value(root, "explain")
    _check_digits(digits)
    graph = _Graph(root, digits)
    names = graph.names
    r = _d(names[root])
    if root.grad is None:
        return f"{names[root]} = {format_number(root.data, digits)} is a constant: it has no " \
               f"gradient, so there is nothing to backpropagate."
    if not root.inputs:
        return f"{names[root]} = {format_number(root.data, digits)} is a leaf: d{r}/d{r} = 1, " \
               f"and there is nothing to backpropagate."
    steps, grads = _replay(graph, digits)
    lines = ["Forward pass:"]
    for node in graph.order:
        lines.append(f"  {names[node]} = {_expression(node, names, digits)} = "
                     f"{_expression(node, names, digits, numbers_too=True)} = "
                     f"{format_number(node.data, digits)}")
    lines.append(f"Backward pass (the chain rule, from {names[root]} back to the leaves):")
    lines.append(f"  d{r}/d{r} = 1   (the seed: {names[root]} with respect to itself)")
    lines += [step.equation for step in steps]
    lines.append("Gradients of the leaves:")
    paths, consumer = _path_counts(graph)
    for v in graph.values:
        if v.inputs or v.grad is None:
            continue
        total = format_number(grads.get(v, 0.0), digits)
        chain = _single_path(graph, v, paths, consumer)
        if chain is not None and 3 <= len(chain) <= 10:
            # One path: the whole chain rule fits on a line, as the notes write it.
            factors = [f"d{_d(names[a])}/d{_d(names[b])}" for a, b in zip(chain, chain[1:])]
            values = [_factor(local_grads(a)[a.inputs.index(b)], digits)
                      for a, b in zip(chain, chain[1:])]
            lines.append(f"  d{r}/d{_d(names[v])} = {' * '.join(factors)} = "
                         f"{' * '.join(values)} = {total}")
        else:
            lines.append(f"  d{r}/d{_d(names[v])} = {total}")
    return "\n".join(lines)
