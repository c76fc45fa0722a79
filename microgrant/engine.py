"""The engine: `Value` records a computation as a graph, and `backward` runs the chain rule on it.

Every arithmetic operation on a `Value` makes a new `Value` that remembers its ``inputs`` and
the name of its ``op``.  The graph therefore *is* the computation, written down as it ran.
Backprop walks that graph from the output back to the leaves; at each op it multiplies the
gradient arriving from above by the op's local derivative (looked up in the op table,
`microgrant.ops`) and adds the product to each input's gradient.

No node holds a closure or a reference to its consumers, so a graph contains no reference
cycles: it is freed by reference counting the moment the last name for its output goes, and
Python's cyclic garbage collector never has to look at it.  Nothing here recurses, so graphs a
million nodes deep are fine.
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager
from typing import Iterable, Iterator, Sequence

from .ops import OPS, Op

__all__ = ["Value", "Op", "OPS", "grad", "local_grads", "no_grad", "is_grad_enabled",
           "topological_order"]

_grad_enabled = True


@contextmanager
def no_grad() -> Iterator[None]:
    """A context in which operations record no graph: results are constants.

    Use it for inference, plotting and metrics, where no gradient is wanted; it saves the time
    and memory of recording.

    >>> x = Value(2.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.inputs, y.requires_grad
    ((), False)
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph (False inside `no_grad`).

    >>> with no_grad():
    ...     inside = is_grad_enabled()
    >>> inside, is_grad_enabled()
    (False, True)
    """
    return _grad_enabled


def _check_number(data, needs: str = "Value() needs a real number") -> float:
    """Converts ``data`` to float, or raises a TypeError that names what was given."""
    if isinstance(data, numbers.Real) and not isinstance(data, Value):
        return float(data)
    hint = " (use .data for its number)" if isinstance(data, Value) else ""
    raise TypeError(f"{needs} (int, float, bool or numpy scalar); got {type(data).__name__} "
                    f"{data!r}{hint}")


def _describe(values: Sequence["Value"], names: str) -> str:
    """'x = -1.0' or 'a = 2.0, b = 0.0', with each input's label where it has one."""
    parts = []
    for name, v in zip(names.split(), values):
        label = f" ('{v.label}')" if v.label else ""
        parts.append(f"{name} = {v.data!r}{label}")
    return ", ".join(parts)


def _input_names(op: Op, count: int) -> str:
    if op.arity == 1:
        return "x"
    if op.arity == 2:
        return "a b"
    return " ".join(f"x{i + 1}" for i in range(count))


def _forward_error(op: Op, inputs: Sequence["Value"], arg, error: Exception) -> Exception:
    """Rewrites math's terse 'math domain error' into a message a learner can act on."""
    what = _describe(inputs, _input_names(op, len(inputs)))
    if arg is not None:
        what += f", {'n' if op.name == 'pow' else 'arg'} = {arg!r}"
    needs = f": it needs {op.domain}" if op.domain else ""
    return type(error)(f"{op.name} cannot be computed at {what}{needs} ({error})")


def _backward_error(op: Op, node: "Value", error: Exception) -> Exception:
    inputs = node.inputs
    what = _describe(inputs, _input_names(op, len(inputs)))
    if node.arg is not None:
        what += f", {'n' if op.name == 'pow' else 'arg'} = {node.arg!r}"
    label = f" '{node.label}'" if node.label else ""
    exists = f"; it exists for {op.grad_domain}" if op.grad_domain else ""
    return type(error)(f"the local derivative of {op.name}{label} is undefined at {what}: "
                       f"{op.formula}{exists} ({error})")


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back through it.

    Args:
        data: the number (int, float, bool or a numpy scalar; stored as a float).
        label: a name to show in pictures, explanations and error messages.
        requires_grad: False makes a constant: no gradient is computed for it, and its
            ``grad`` is ``None``.

    Attributes:
        data: the number, a Python float.
        grad: d(output)/d(this value) after ``output.backward()``; ``None`` for a constant.
        label: the name given, or ``""``.
        op: the name of the op that made this value (a key of `OPS`), ``""`` for a leaf.
        inputs: the Values this one was computed from, in order; ``x * x`` has two inputs,
            both ``x``.
        arg: the op's constant argument (the exponent of ``x ** 2``), else ``None``.

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a * b + 10
    >>> c
    Value(data=4.0, grad=0.0, op='add')
    >>> c.backward()
    >>> a.grad, b.grad
    (-3.0, 2.0)
    """

    __slots__ = ("data", "grad", "label", "op", "inputs", "arg")

    # Make numpy hand `numpy_scalar * value` to Value.__rmul__ instead of building an array.
    __array_ufunc__ = None

    def __init__(self, data, label: str = "", requires_grad: bool = True):
        self.data = data if type(data) is float else _check_number(data)
        self.grad = 0.0 if requires_grad else None
        self.label = label
        self.op = ""
        self.inputs = ()
        self.arg = None

    @property
    def requires_grad(self) -> bool:
        """True unless this Value is a constant (its ``grad`` is then ``None``).

        >>> x = Value(2.0)
        >>> y = x * 3                      # the number 3 becomes a constant leaf
        >>> x.requires_grad, y.requires_grad, y.inputs[1].requires_grad
        (True, True, False)
        >>> Value(1.0, requires_grad=False).requires_grad
        False
        """
        return self.grad is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self.inputs:
            raise ValueError("requires_grad can only be changed on a leaf (a Value made "
                             "directly, not by an op)")
        if flag and self.grad is None:
            self.grad = 0.0
        elif not flag:
            self.grad = None

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label}{op})"

    # No __float__, on purpose: math.exp(x) would quietly take x.data and leave the graph,
    # and backward would then miss that path.  Use x.exp(), or x.data for the number.

    # ---- comparisons (on data; they record nothing) --------------------------------------
    # `==` keeps its default meaning, identity, so Values can be dict keys and set members.

    def __lt__(self, other) -> bool:
        return self.data < _data(other)

    def __le__(self, other) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other) -> bool:
        return self.data > _data(other)

    def __ge__(self, other) -> bool:
        return self.data >= _data(other)

    # ---- arithmetic ------------------------------------------------------------------------

    def __add__(self, other):
        return _binary(_ADD, self, other)

    def __radd__(self, other):
        return _binary(_ADD, other, self)

    def __sub__(self, other):
        return _binary(_SUB, self, other)

    def __rsub__(self, other):
        return _binary(_SUB, other, self)

    def __mul__(self, other):
        return _binary(_MUL, self, other)

    def __rmul__(self, other):
        return _binary(_MUL, other, self)

    def __truediv__(self, other):
        return _binary(_DIV, self, other)

    def __rtruediv__(self, other):
        return _binary(_DIV, other, self)

    def __neg__(self):
        return _unary(_NEG, self)

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            if exponent.grad is not None:
                return _binary(_VPOW, self, exponent)
            exponent = exponent.data  # a constant exponent is just a number
        return _unary(_POW, self, _check_number(exponent))

    def __rpow__(self, base):
        return _binary(_VPOW, base, self)

    # ---- functions -------------------------------------------------------------------------

    def exp(self) -> "Value":
        """e to the power of this value.

        >>> Value(0.0).exp().data
        1.0
        """
        return _unary(_EXP, self)

    def log(self) -> "Value":
        """Natural logarithm; needs a positive value.

        >>> Value(1.0).log().data
        0.0
        """
        return _unary(_LOG, self)

    def sqrt(self) -> "Value":
        """Square root; needs a non-negative value.

        >>> Value(9.0).sqrt().data
        3.0
        """
        return _unary(_SQRT, self)

    def tanh(self) -> "Value":
        """Hyperbolic tangent, in (-1, 1).

        >>> Value(0.0).tanh().data
        0.0
        """
        return _unary(_TANH, self)

    def sigmoid(self) -> "Value":
        """The logistic function 1 / (1 + e^-x), in (0, 1), stable for any finite x.

        >>> Value(0.0).sigmoid().data
        0.5
        """
        return _unary(_SIGMOID, self)

    def relu(self) -> "Value":
        """max(0, x); its derivative at 0 is taken to be 0, as in PyTorch.

        >>> Value(-2.0).relu().data, Value(3.0).relu().data
        (0.0, 3.0)
        """
        return _unary(_RELU, self)

    def leaky_relu(self, slope: float = 0.01) -> "Value":
        """x for x > 0, else slope * x.

        >>> Value(-2.0).leaky_relu(0.1).data
        -0.2
        """
        return _unary(_LEAKY_RELU, self, _check_number(slope))

    def abs(self) -> "Value":
        """|x|; its derivative at 0 is taken to be 0, as in PyTorch.

        >>> Value(-2.5).abs().data
        2.5
        """
        return _unary(_ABS, self)

    def __abs__(self):
        return self.abs()

    def step(self) -> "Value":
        """The Heaviside step: 1 for x >= 0, else 0.  Its gradient is 0 everywhere.

        >>> Value(0.0).step().data, Value(-0.1).step().data
        (1.0, 0.0)
        """
        return _unary(_STEP, self)

    @staticmethod
    def sum(values: Iterable) -> "Value":
        """Adds many Values in one node (faster and flatter than a chain of ``+``).

        >>> s = Value.sum([Value(1.0), Value(2.0), 3])
        >>> s.data, s.op, len(s.inputs)
        (6.0, 'sum', 3)
        """
        inputs = tuple(v if isinstance(v, Value) else _constant(v) for v in values)
        if not inputs:
            return Value(0.0, requires_grad=False)
        return _record(_SUM, inputs, None, _SUM.forward([v.data for v in inputs]))

    # ---- backprop ----------------------------------------------------------------------------

    def backward(self) -> None:
        """Fills ``.grad`` of every Value this one depends on with d(self)/d(that value).

        Leaf gradients *accumulate* (``+=``), as in PyTorch and micrograd: call
        ``zero_grad`` (or set ``grad = 0.0``) between training steps.  Gradients of interior
        nodes are recomputed from scratch on every call, so calling ``backward`` twice adds
        each leaf's gradient exactly twice.

        >>> x = Value(3.0)
        >>> y = (x * x) * x
        >>> y.backward(); x.grad
        27.0
        >>> y.backward(); x.grad
        54.0
        """
        if self.grad is None:
            raise RuntimeError("backward() needs a Value that depends on something with a "
                               "gradient; this one is a constant (made from numbers only, "
                               "from requires_grad=False leaves, or inside no_grad())")
        order = topological_order(self)
        # One pass before any leaf is touched:
        # - interior grads start from zero: they are sums of contributions from every
        #   consumer (`+=` below), and a previous backward would otherwise be counted again;
        # - the few local derivatives that do not exist everywhere their op does (sqrt at 0)
        #   are checked, so a backward that fails leaves every leaf's grad as it was.
        for node in order:
            node.grad = 0.0
            if node.op in _FRAGILE:
                try:
                    local_grads(node)
                except (ArithmeticError, ValueError) as error:
                    raise _backward_error(OPS[node.op], node, error) from None
        if not self.inputs:  # a leaf differentiates to 1 with respect to itself
            self.grad += 1.0
            return
        self.grad = 1.0
        # Reverse topological order: a node is visited only after every node that uses it
        # has added its contribution, so its grad is complete when it is passed on.
        # (This is `local_grads(node)` unrolled by arity: the loop runs once per node of
        # every training step, and the call and tuple building it saves are most of its cost.)
        for node in reversed(order):
            g = node.grad
            if g == 0.0:
                continue  # nothing to pass on (a dead relu, a step); saves the whole subtree
            op = OPS[node.op]
            inputs = node.inputs
            try:
                if op.arity == 1:
                    x = inputs[0]
                    if x.grad is not None:
                        x.grad += op.local_grads(x.data, node.data, node.arg)[0] * g
                elif op.arity == 2:
                    a, b = inputs
                    da, db = op.local_grads(a.data, b.data, node.data)
                    # `+=`, not `=`: a Value used twice (x * x) gets both contributions.
                    if a.grad is not None:
                        a.grad += da * g
                    if b.grad is not None:
                        b.grad += db * g
                else:
                    local = op.local_grads([x.data for x in inputs], node.data)
                    for x, d in zip(inputs, local):
                        if x.grad is not None:
                            x.grad += d * g
            except (ArithmeticError, ValueError) as error:
                raise _backward_error(op, node, error) from None

    def zero_grad(self) -> None:
        """Sets ``grad`` to 0 on this Value and every Value it depends on that takes one.

        >>> x = Value(3.0)
        >>> y = x * x + 1
        >>> y.backward()
        >>> x.grad
        6.0
        >>> y.zero_grad()
        >>> x.grad, y.grad, y.inputs[1].grad   # the constant 1 takes no gradient: still None
        (0.0, 0.0, None)
        """
        if self.grad is not None:
            self.grad = 0.0
        for node in _walk(self):
            if node.grad is not None:
                node.grad = 0.0


def _data(other) -> float:
    return other.data if isinstance(other, Value) else other


def _constant(number) -> Value:
    """A Python number met in an expression (the 2 in ``2 * x``) becomes a constant leaf."""
    # _new and plain attribute stores, not Value(...): ops make a node per arithmetic
    # operation, and skipping __init__'s checks and call is a good part of their cost.
    v = _new(Value)
    v.data = number if type(number) is float else _check_number(
        number, "an input of an op must be a Value or a real number")
    v.grad = None
    v.label = ""
    v.op = ""
    v.inputs = ()
    v.arg = None
    return v


def _record(op: Op, inputs: tuple, arg, data: float) -> Value:
    """The result of an op: a node remembering its inputs, or a constant when none needs grad.

    Nothing is recorded under `no_grad`, or when no input takes a gradient: such a result is
    a constant, and backward has nothing to do there.
    """
    out = _new(Value)
    out.data = data
    out.label = ""
    out.arg = arg
    if _grad_enabled:
        for x in inputs:
            if x.grad is not None:
                out.grad = 0.0
                out.op = op.name
                out.inputs = inputs
                return out
    out.grad = None
    out.op = ""
    out.inputs = ()
    return out


def _unary(op: Op, x: Value, arg=None) -> Value:
    try:
        data = op.forward(x.data, arg)
    except (ArithmeticError, ValueError) as error:
        raise _forward_error(op, (x,), arg, error) from None
    return _record(op, (x,), arg, data)


def _binary(op: Op, a, b) -> Value:
    # `type(...) is Value` first: it is the common case and much cheaper than isinstance.
    if type(a) is not Value and not isinstance(a, Value):
        a = _constant(a)
    if type(b) is not Value and not isinstance(b, Value):
        b = _constant(b)
    try:
        data = op.forward(a.data, b.data)
    except (ArithmeticError, ValueError) as error:
        raise _forward_error(op, (a, b), None, error) from None
    return _record(op, (a, b), None, data)


_new = object.__new__
_FRAGILE = frozenset(op.name for op in OPS.values() if op.grad_domain)


_ADD, _SUB, _MUL, _DIV, _SUM = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"], OPS["sum"]
_NEG, _POW, _VPOW, _EXP, _LOG = OPS["neg"], OPS["pow"], OPS["vpow"], OPS["exp"], OPS["log"]
_SQRT, _TANH, _SIGMOID = OPS["sqrt"], OPS["tanh"], OPS["sigmoid"]
_RELU, _LEAKY_RELU, _ABS, _STEP = OPS["relu"], OPS["leaky_relu"], OPS["abs"], OPS["step"]


# ---- walking the graph ----------------------------------------------------------------------

def topological_order(root: Value) -> list[Value]:
    """The op nodes that ``root`` depends on, each after all of its inputs (leaves left out).

    Iterative depth-first search: a chain a million nodes long needs no recursion.

    >>> x = Value(2.0, label="x")
    >>> y = (x * x).exp()
    >>> [node.op for node in topological_order(y)]
    ['mul', 'exp']
    """
    order = []
    if not root.inputs:
        return order
    seen = set()
    # Each stack entry is (node, done).  A node is pushed once to be expanded and, when it
    # is, once more beneath its inputs, to be emitted after all of them.  It is marked seen
    # when expanded, not when pushed: a node reached again later must still come out after
    # everything it depends on.
    stack = [(root, False)]
    pop, push, emit, mark = stack.pop, stack.append, order.append, seen.add
    while stack:
        node, done = pop()
        if done:
            emit(node)
        elif node not in seen:
            mark(node)
            push((node, True))
            for x in node.inputs:
                if x.inputs and x not in seen:
                    push((x, False))
    return order


def _walk(root: Value) -> Iterator[Value]:
    """Every Value that ``root`` depends on, leaves included, each once, in no fixed order."""
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for x in node.inputs:
            if x not in seen:
                seen.add(x)
                stack.append(x)
                yield x


# ---- local derivatives and functional gradients ----------------------------------------------

def local_grads(node: Value, as_values: bool = False) -> tuple:
    """The partials d(node)/d(input) for each of ``node``'s inputs, from the op table.

    These are the numbers written on the edges of a backward graph: backprop multiplies each
    by ``node.grad`` and adds the product to that input's grad.

    Args:
        node: a Value made by an op (a leaf has no inputs, and so no local gradients).
        as_values: return Values built from ``node``'s graph instead of floats, so that the
            derivatives can be differentiated again (used by ``grad(create_graph=True)``).

    >>> a, b = Value(3.0), Value(4.0)
    >>> local_grads(a * b)
    (4.0, 3.0)
    """
    ins = node.inputs
    if not ins:
        return ()
    op = OPS[node.op]
    if as_values:
        # The same formulas, applied to Values instead of floats, record their own graph.
        if op.arity == 1:
            return op.local_grads(ins[0], node, node.arg)
        if op.arity == 2:
            return op.local_grads(ins[0], ins[1], node)
        return op.local_grads(list(ins), node)
    if op.arity == 1:
        return op.local_grads(ins[0].data, node.data, node.arg)
    if op.arity == 2:
        return op.local_grads(ins[0].data, ins[1].data, node.data)
    return op.local_grads([x.data for x in ins], node.data)


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list:
    """d(output)/d(input) for each input, returned as a list; no ``.grad`` is touched.

    Args:
        output: the Value to differentiate.
        inputs: the Values to differentiate with respect to.
        create_graph: if True, the gradients are Values with graphs of their own, so they
            can be differentiated again (second derivatives) or drawn.

    Returns:
        One gradient per input: floats, or Values with ``create_graph=True``.  An input that
        ``output`` does not depend on gets 0.

    >>> x = Value(3.0)
    >>> y = x ** 3
    >>> (dy,) = grad(y, [x], create_graph=True)
    >>> dy.data                     # 3x^2
    27.0
    >>> grad(dy, [x])               # 6x
    [18.0]
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad needs a Value output; got {type(output).__name__}")
    inputs = list(inputs)
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"grad needs Values as inputs; got {type(x).__name__} {x!r}")
    if create_graph:
        if not _grad_enabled:
            raise RuntimeError("grad(..., create_graph=True) records a graph, which no_grad() "
                               "forbids; call it outside the no_grad block")
        one = Value(1.0, requires_grad=False)
    else:
        one = 1.0
    # Gradients live in this dict, keyed by node, instead of in `.grad`.
    grads = {output: one}
    for node in reversed(topological_order(output)):
        g = grads.get(node)
        if g is None:
            continue
        try:
            local = local_grads(node, as_values=create_graph)
        except (ArithmeticError, ValueError) as error:
            raise _backward_error(OPS[node.op], node, error) from None
        ins = node.inputs
        for x, d in zip(ins, local):
            # A local derivative of exactly 1 (add, sum) passes g on as it is: with
            # create_graph this keeps the gradient's own graph free of "× 1" nodes.
            contribution = g if (type(d) is float and d == 1.0) else d * g
            previous = grads.get(x)
            grads[x] = contribution if previous is None else previous + contribution
    zero = Value(0.0, requires_grad=False) if create_graph else 0.0
    result = []
    for x in inputs:
        g = grads.get(x, zero)
        if create_graph and not isinstance(g, Value):
            g = Value(g, requires_grad=False)
        elif not create_graph and isinstance(g, Value):
            g = g.data
        result.append(g)
    return result
