"""The engine: `Value` records a computation as a graph, and `backward` runs the chain rule on it.

Every arithmetic operation on a `Value` makes a new `Value` that remembers its ``inputs`` and
the name of its ``op``.  The graph therefore *is* the computation, written down as it ran.
Backprop walks that graph from the output back to the leaves; at each op it multiplies the
gradient arriving from above by the op's local derivative (looked up in the op table,
`microgrant.ops`) and adds the product to each input's gradient.

A node is one small object: its number, its gradient, its label, its op's name and at most two
references (its two inputs; or one input and the op's constant argument; or, for ``sum``, a
tuple of inputs).  No node holds a closure or a reference to its consumers, so a graph has no
reference cycles: it is freed by reference counting the moment the last name for its output
goes.  Nothing here recurses, so graphs a million nodes deep are fine.

`Value.backward` is the loop every training step pays for, so it is tuned: it walks the graph
with marks kept in ``grad``, and its loop is written out at import from the op table, each op's
partials pasted in (`BACKWARD_LOOP` holds the source).  The one general replay of the chain
rule, which keeps every number for pictures and ``grad()``, is `microgrant.autodiff`; a test
proves the two agree to the last bit.
"""

from __future__ import annotations

import ast
import numbers
import threading
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

from .checks import real, shown
from .ops import OPS, UNDEFINED, Op, function_from_source

__all__ = ["Value", "Op", "OPS", "BACKWARD_LOOP", "local_grads", "no_grad", "is_grad_enabled",
           "topological_order", "undefined_grad_error"]


# ---- grad mode, per thread --------------------------------------------------------------------
# Recording is on unless the current thread is inside `no_grad`, as in PyTorch.  Every op asks,
# so the question must be cheap: `_closed` counts the no_grad blocks open in any thread, and only
# while one is open does an op look at its own thread's flag.

_local = threading.local()
_closed = 0
_closed_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """Whether operations in this thread record the graph (False inside `no_grad`).

    >>> with no_grad():
    ...     inside = is_grad_enabled()
    >>> inside, is_grad_enabled()
    (False, True)
    """
    return _closed == 0 or getattr(_local, "enabled", True)


@contextmanager
def no_grad() -> Iterator[None]:
    """A context in which this thread's operations record no graph: results are constants.

    Use it for inference, plotting and metrics, where no gradient is wanted; it saves the time
    and memory of recording.  Other threads keep recording.

    >>> x = Value(2.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.inputs, y.requires_grad
    ((), False)
    """
    global _closed
    previous = getattr(_local, "enabled", True)
    with _closed_lock:
        _closed += 1
    _local.enabled = False
    try:
        yield
    finally:
        _local.enabled = previous
        with _closed_lock:
            _closed -= 1


# ---- error messages -------------------------------------------------------------------------

def _describe(op: Op, inputs: tuple, arg) -> str:
    """'x = -1.0' or 'a = 2.0, b = 0.0', with each input's label where it has one."""
    parts = []
    for name, v in zip(op.input_names(len(inputs)), inputs):
        label = f" ('{v.label}')" if v.label else ""
        parts.append(f"{name} = {v.data!r}{label}")
    if arg is not None:
        parts.append(f"{op.arg_name or 'arg'} = {arg!r}")
    return ", ".join(parts)


def _forward_error(op: Op, inputs: tuple, arg, error: Exception) -> Exception:
    """Rewrites math's terse 'math domain error' into a message a learner can act on."""
    for v in inputs:
        if type(v.data) is not float:  # someone assigned .data by hand
            return _data_error(v)
    what = _describe(op, inputs, arg)
    if isinstance(error, OverflowError):
        return OverflowError(f"{op.name} overflowed at {what}: the result is beyond the "
                             f"largest float, about 1.8e308")
    needs = f": it needs {op.domain}" if op.domain else ""
    return type(error)(f"{op.name} cannot be computed at {what}{needs} ({error})")


def _data_error(v: Value) -> TypeError:
    name = f"'{v.label}'" if v.label else "a Value"
    return TypeError(f"{name} has .data = {shown(v.data)}; .data must be a real number (a "
                     f"float). Assign a number: v.data = 3.0, or float(array[0]) for one "
                     f"element of an array")


def undefined_grad_error(node: Value, index: int, error: Exception | None = None) -> Exception:
    """The error for a local derivative of ``node`` that does not exist where it was asked.

    Used by every replay of the chain rule (`Value.backward`, `microgrant.autodiff`, the
    pictures), so the same mistake reads the same everywhere.

    >>> x = Value(0.0, label="x")
    >>> print(undefined_grad_error(x.sqrt(), 0))  # doctest: +NORMALIZE_WHITESPACE
    the local derivative of sqrt is undefined at x = 0.0 ('x'):
    d sqrt(x)/dx = 1 / (2 sqrt(x)); it exists for x > 0
    """
    op = OPS[node.op]
    inputs = node.inputs
    label = f" '{node.label}'" if node.label else ""
    exists = f"; it exists for {op.grad_domain}" if op.grad_domain else ""
    where = _describe(op, inputs, node.arg)
    if isinstance(error, OverflowError):
        return OverflowError(f"the local derivative of {op.name}{label} overflowed at {where}: "
                             f"{op.formula_for(index)} is beyond the largest float")
    cause = f" ({error})" if error is not None else ""
    kind = type(error) if error is not None else ValueError
    return kind(f"the local derivative of {op.name}{label} is undefined at {where}: "
                f"{op.formula_for(index)}{exists}{cause}")


# ---- Value ----------------------------------------------------------------------------------

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

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a * b + 10
    >>> c
    Value(data=4.0, grad=0.0, op='add')
    >>> c.backward()
    >>> a.grad, b.grad
    (-3.0, 2.0)
    """

    # _a, _b hold the inputs: (input, input) for a binary op, (input, constant argument or
    # None) for a unary one, (tuple of inputs, None) for sum, (None, None) for a leaf.  Two
    # slots instead of a tuple save an allocation per node: a third of a node's memory.
    __slots__ = ("data", "grad", "label", "op", "_a", "_b")

    # Make numpy hand `numpy_scalar * value` to Value.__rmul__ instead of building an array.
    __array_ufunc__ = None

    def __init__(self, data, label: str = "", requires_grad: bool = True):
        self.data = data if type(data) is float else real(data, "a Value's data")
        self.grad = 0.0 if requires_grad else None
        self.label = label
        self.op = ""
        self._a = self._b = None

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in order; ``x * x`` has two, both ``x``.

        >>> x = Value(2.0)
        >>> y = x * x
        >>> y.inputs == (x, x), x.inputs
        (True, ())
        """
        a = self._a
        if a is None:
            return ()
        if a.__class__ is tuple:
            return a
        b = self._b
        return (a, b) if isinstance(b, Value) else (a,)

    @property
    def arg(self) -> Any:
        """The op's constant argument (the exponent of ``x ** 2``, a slope), else ``None``."""
        a, b = self._a, self._b
        return None if a is None or a.__class__ is tuple or isinstance(b, Value) else b

    @property
    def requires_grad(self) -> bool:
        """True unless this Value is a constant (its ``grad`` is then ``None``).

        >>> x = Value(2.0)
        >>> y = x * 3                      # the number 3 becomes a constant leaf
        >>> x.requires_grad, y.requires_grad, y.inputs[1].requires_grad
        (True, True, False)
        """
        return self.grad is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self._a is not None:
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

    # ---- the number, as PyTorch users ask for it ------------------------------------------

    def item(self) -> float:
        """The number, as PyTorch's ``tensor.item()``: the same as ``.data``.

        >>> Value(2.5).item()
        2.5
        """
        return self.data

    def __format__(self, spec: str) -> str:
        # f"{loss:.3f}" formats the number; f"{loss}" shows the whole Value.
        return format(self.data, spec) if spec else repr(self)

    def __round__(self, ndigits: int | None = None):
        return round(self.data, ndigits)

    def __float__(self) -> float:
        # float(x) would let math.exp(x) quietly take the number and leave the graph, and
        # backward would then miss that path; so it is refused, saying what to write instead.
        raise TypeError("float(Value) is refused: math.exp(x), math.log(x) and float(x) would "
                        "take the number out of the graph and backward would miss that path. "
                        "Use x.exp(), x.log(), ... to stay in the graph, or x.item() (or "
                        "x.data) for the number")

    def detach(self) -> Value:
        """A constant with the same number (and label): gradients stop there.

        >>> x = Value(3.0)
        >>> y = x * x.detach()     # d/dx of x * (a constant 3) is 3, not 2x
        >>> y.backward(); x.grad
        3.0
        """
        return Value(self.data, self.label, requires_grad=False)

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
        return _unary(_POW, self, real(exponent, "an exponent"))

    def __rpow__(self, base):
        return _binary(_VPOW, base, self)

    def __abs__(self):
        return _unary(_ABS, self)

    # ---- functions -------------------------------------------------------------------------

    def exp(self) -> Value:
        """e to the power of this value.

        >>> Value(0.0).exp().data
        1.0
        """
        return _unary(_EXP, self)

    def log(self) -> Value:
        """Natural logarithm; needs a positive value."""
        return _unary(_LOG, self)

    def sqrt(self) -> Value:
        """Square root; needs a non-negative value."""
        return _unary(_SQRT, self)

    def tanh(self) -> Value:
        """Hyperbolic tangent, in (-1, 1)."""
        return _unary(_TANH, self)

    def sigmoid(self) -> Value:
        """The logistic function 1 / (1 + e^-x), in (0, 1), stable for any finite x.

        >>> Value(0.0).sigmoid().data
        0.5
        """
        return _unary(_SIGMOID, self)

    def relu(self) -> Value:
        """max(0, x); its derivative at 0 is taken to be 0, as in PyTorch.

        >>> Value(-2.0).relu().data, Value(3.0).relu().data
        (0.0, 3.0)
        """
        return _unary(_RELU, self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x for x > 0, else slope * x.

        >>> Value(-2.0).leaky_relu(0.1).data
        -0.2
        """
        return _unary(_LEAKY_RELU, self, real(slope, "the slope"))

    def abs(self) -> Value:
        """|x|; its derivative at 0 is taken to be 0, as in PyTorch."""
        return _unary(_ABS, self)

    def step(self) -> Value:
        """The Heaviside step: 1 for x >= 0, else 0.  Its gradient is 0 everywhere.

        >>> Value(0.0).step().data, Value(-0.1).step().data
        (1.0, 0.0)
        """
        return _unary(_STEP, self)

    @staticmethod
    def sum(values: Iterable) -> Value:
        """Adds many Values in one node (faster and flatter than a chain of ``+``).

        >>> s = Value.sum([Value(1.0), Value(2.0), 3])
        >>> s.data, s.op, len(s.inputs)
        (6.0, 'sum', 3)
        """
        return _variadic(_SUM, tuple(values))

    @staticmethod
    def dot(weights: Iterable, inputs: Iterable, bias=None) -> Value:
        """``w1 x1 + ... + wn xn (+ b)`` in one node: a neuron's weighted sum, ``z = w·x + b``.

        The same number and gradients as ``Value.sum([w1 * x1, ..., wn * xn, b])``, in one
        node instead of n + 1: a network's graph stays small enough to draw and to step
        through.  The node's inputs are the weights, then the inputs, then the bias.

        >>> w, x, b = [Value(2.0), Value(-1.0)], [Value(3.0), Value(4.0)], Value(0.5)
        >>> z = Value.dot(w, x, b)
        >>> z.data, z.op, len(z.inputs)
        (2.5, 'dot', 5)
        >>> z.backward(); w[0].grad, x[1].grad, b.grad     # d z/dw1 = x1, d z/dx2 = w2
        (3.0, -1.0, 1.0)
        """
        weights, inputs = tuple(weights), tuple(inputs)
        if len(weights) != len(inputs):
            raise ValueError(f"dot needs as many weights as inputs; got {len(weights)} weights "
                             f"and {len(inputs)} inputs")
        if not weights:
            raise ValueError("dot needs at least one weight and one input")
        return _variadic(_DOT, weights + inputs + (() if bias is None else (bias,)))

    # ---- backprop ----------------------------------------------------------------------------

    def backward(self, gradient=None) -> None:
        """Fills ``.grad`` of every Value this one depends on with d(self)/d(that value).

        Leaf gradients *accumulate* (``+=``), as in PyTorch and micrograd: call
        ``zero_grad`` (or set ``grad = 0.0``) between training steps.  Gradients of interior
        nodes are recomputed from scratch on every call, so calling ``backward`` twice adds
        each leaf's gradient exactly twice.  A backward that fails on an undefined derivative
        changes no leaf's gradient (interior ones are left at 0); one interrupted midway
        (Ctrl-C) leaves the leaves' gradients partly added, so zero them before the next step.
        Threads may run backward at once on graphs that share only leaves (a model's
        parameters, each thread with its own batch); two backwards through the same interior
        nodes at once would mix their gradients, as they would with any two writers.

        Args:
            gradient: d(final)/d(self), the seed; 1.0 by default.  Pass it when this Value
                feeds a larger computation whose gradient you already have (PyTorch's
                ``backward(gradient=...)``).

        >>> x = Value(3.0)
        >>> y = (x * x) * x
        >>> y.backward(); x.grad
        27.0
        >>> y.backward(); x.grad
        54.0
        """
        seed = 1.0 if gradient is None else real(gradient, "backward's gradient")
        if self.grad is None:
            raise RuntimeError("backward() needs a Value that depends on something with a "
                               "gradient; this one is a constant (made from numbers only, "
                               "from requires_grad=False leaves, or inside no_grad())")
        if self._a is None:  # a leaf differentiates to 1 with respect to itself
            self.grad += seed
            return
        # Before any leaf is touched, the walk sets every interior grad to zero: they are sums
        # of contributions from every consumer (`+=` in the loop), and a previous backward
        # would otherwise be counted again.  The few ops whose derivatives do not exist
        # everywhere they do (sqrt at 0) have theirs computed now, so a backward that fails
        # leaves every leaf as it was.
        order, fragile_nodes = _walk_for_backward(self)
        fragile = {node: local_grads(node) for node in fragile_nodes}
        self.grad = seed
        _propagate(order, fragile)

    def zero_grad(self) -> None:
        """Sets ``grad`` to 0 on this Value and every Value it depends on that takes one.

        >>> x = Value(3.0)
        >>> y = x * x + 1
        >>> y.backward()
        >>> y.zero_grad()
        >>> x.grad, y.grad, y.inputs[1].grad   # the constant 1 takes no gradient: still None
        (0.0, 0.0, None)
        """
        if self.grad is not None:
            self.grad = 0.0
        seen = {self}
        stack = [self]
        while stack:
            for x in stack.pop().inputs:
                if x not in seen:
                    seen.add(x)
                    stack.append(x)
                    if x.grad is not None:
                        x.grad = 0.0


def _data(other) -> float:
    return other.data if isinstance(other, Value) else other


_new = object.__new__


def _constant(number) -> Value:
    """A Python number met in an expression (the 2 in ``2 * x``) becomes a constant leaf."""
    # _new and plain attribute stores, not Value(...): ops make a node per arithmetic
    # operation, and skipping __init__'s checks and call is a good part of their cost.
    v = _new(Value)
    v.data = number if type(number) is float else real(
        number, "an input of an op (a Value or a number)")
    v.grad = None
    v.label = ""
    v.op = ""
    v._a = v._b = None
    return v


def _record(op: Op, inputs, arg, data) -> Value:
    """The result of an op: a node remembering its inputs, or a constant when none needs grad.

    ``inputs`` is what goes in the ``_a`` slot (an input, or sum's tuple) and ``arg`` what
    goes in ``_b`` (the second input, or the constant argument).  Nothing is recorded under
    `no_grad`, or when no input takes a gradient: such a result is a constant.
    """
    if type(data) is not float:
        data = _float_result(op, inputs, arg, data)
    out = _new(Value)
    out.data = data
    out.label = ""
    if _closed == 0 or getattr(_local, "enabled", True):
        if inputs.__class__ is tuple:
            needs = False
            for x in inputs:
                if x.grad is not None:
                    needs = True
                    break
        else:
            needs = inputs.grad is not None or (arg.__class__ is Value and arg.grad is not None)
        if needs:
            out.grad = 0.0
            out.op = op.name
            out._a = inputs
            out._b = arg
            return out
    out.grad = None
    out.op = ""
    out._a = out._b = None
    return out


def _float_result(op: Op, inputs, arg, data) -> float:
    """An int result (from .data assigned an int) becomes a float; anything else is an error."""
    values = inputs if inputs.__class__ is tuple else (inputs, arg)
    for v in values:
        if isinstance(v, Value) and type(v.data) is not float and not (
                isinstance(v.data, numbers.Real) and not isinstance(v.data, bool)):
            raise _data_error(v)
    if isinstance(data, numbers.Real):
        return float(data)
    raise TypeError(f"{op.name} gave {shown(data)}, not a number")


def _variadic(op: Op, inputs: tuple) -> Value:
    for v in inputs:
        if v.__class__ is not Value:  # numbers among them become constants, once
            inputs = tuple(x if isinstance(x, Value) else _constant(x) for x in inputs)
            break
    if not inputs:
        return Value(0.0, requires_grad=False)
    try:
        data = op.forward([v.data for v in inputs], None)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise _forward_error(op, inputs, None, error) from None
    return _record(op, inputs, None, data)


def _unary(op: Op, x: Value, arg=None) -> Value:
    try:
        data = op.forward((x.data,), arg)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise _forward_error(op, (x,), arg, error) from None
    return _record(op, x, arg, data)


def _binary(op: Op, a, b) -> Value:
    # `type(...) is Value` first: it is the common case and much cheaper than isinstance.
    if type(a) is not Value and not isinstance(a, Value):
        a = _constant(a)
    if type(b) is not Value and not isinstance(b, Value):
        b = _constant(b)
    try:
        data = op.forward((a.data, b.data), None)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise _forward_error(op, (a, b), None, error) from None
    return _record(op, a, b, data)


_FRAGILE = frozenset(op.name for op in OPS.values() if op.grad_domain)
_ADD, _SUB, _MUL, _DIV, _SUM = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"], OPS["sum"]
_DOT = OPS["dot"]
_NEG, _POW, _VPOW, _EXP, _LOG = OPS["neg"], OPS["pow"], OPS["vpow"], OPS["exp"], OPS["log"]
_SQRT, _TANH, _SIGMOID = OPS["sqrt"], OPS["tanh"], OPS["sigmoid"]
_RELU, _LEAKY_RELU, _ABS, _STEP = OPS["relu"], OPS["leaky_relu"], OPS["abs"], OPS["step"]


# ---- walking the graph ----------------------------------------------------------------------

def topological_order(root: Value) -> list[Value]:
    """The op nodes that ``root`` depends on, each after all of its inputs (leaves left out).

    Backprop needs this order reversed: a node may pass its gradient on only once every node
    that uses it has added its share.  An iterative depth-first search: a chain a million
    nodes long needs no recursion.

    >>> x = Value(2.0, label="x")
    >>> y = (x * x).exp()
    >>> [node.op for node in topological_order(y)]
    ['mul', 'exp']
    """
    order: list[Value] = []
    if root._a is None:
        return order
    # A node is expanded when first popped: it goes back on the stack under a marker, with its
    # inputs above.  When the marker comes off again, everything above it (the node's inputs,
    # and theirs) has been emitted, so the node under it can be.  A node pushed twice before
    # it was expanded is skipped the second time.
    seen: set[Value] = set()
    stack: list = [root]
    push, pop, emit, mark = stack.append, stack.pop, order.append, seen.add
    while stack:
        node = pop()
        if node is _EMIT:
            emit(pop())
            continue
        if node in seen:
            continue
        mark(node)
        push(node)
        push(_EMIT)
        a, b = node._a, node._b
        if a.__class__ is tuple:
            for x in a:
                if x._a is not None and x not in seen:
                    push(x)
        else:
            if a._a is not None and a not in seen:
                push(a)
            if b.__class__ is Value and b._a is not None and b not in seen:
                push(b)
    return order


_EMIT = object()


def _walk_for_backward(root: Value) -> tuple[list[Value], list[Value]]:
    """`topological_order(root)` of an op node, found faster, with every grad set to 0 on the way.

    Also returns the nodes among them whose op's derivatives do not exist everywhere
    (``_FRAGILE``), for backward to check before it changes anything.

    Backward zeroes interior grads anyway, so the walk keeps its marks in that slot: an
    attribute test instead of a set, the costliest part of a walk.  A node's grad is
    ``opened`` while its inputs are walked, then ``zero``: a float 0.0 made for this walk,
    so ``grad is zero`` tells a node already in the order from one whose grad was 0 before
    (see ``_FLOATS_ARE_DISTINCT``).  A node with one input still to walk goes on to it
    without a trip through the stack: a chain, the deepest graph, is walked with one push
    per node.  The visiting order is `topological_order`'s, so both give the same list (a
    test checks it).
    """
    order: list[Value] = []
    fragile: list[Value] = []
    opened: Any = object()
    zero: Any = float("0") if _FLOATS_ARE_DISTINCT else object()
    stack = [root]
    push, pop, emit = stack.append, stack.pop, order.append
    node: Any
    a: Any
    try:
        # Not the loop first: CPython 3.11 and 3.12 can let an exception raised at the back
        # edge of a `while` that opens a `try` skip its `except`.
        node = root
        while stack:
            node = pop()
            mark = node.grad
            if mark is opened:  # back from its inputs: all of them are in the order
                node.grad = zero
                emit(node)
                if node.op in _FRAGILE:
                    fragile.append(node)
                continue
            if mark is zero:  # pushed twice before it was reached; once is enough
                continue
            while True:  # open the node; go on down while it has one input left to walk
                node.grad = opened
                push(node)
                b = node._b
                if b.__class__ is Value:
                    a = node._a
                    if b._a is not None and b.grad is not zero:
                        if a._a is not None and a.grad is not zero:
                            push(a)
                        node = b
                    elif a._a is not None and a.grad is not zero:
                        node = a
                    else:
                        break
                else:
                    a = node._a
                    if a.__class__ is tuple:
                        for x in a:
                            if x._a is not None and x.grad is not zero:
                                push(x)
                        break
                    if a._a is not None and a.grad is not zero:
                        node = a
                    else:
                        break
        if not _FLOATS_ARE_DISTINCT:
            for node in order:
                node.grad = 0.0
    except BaseException:  # interrupted (Ctrl-C): no mark may stay in a grad
        # Anywhere: the node in hand may be on no list, so look at the whole graph again.
        for node in topological_order(root):
            if node.grad is opened or node.grad is zero:
                node.grad = 0.0
        raise
    return order, fragile


# `float("0")` is a new object in CPython, so no grad holds it before the walk sets it.  An
# interpreter whose `is` compares floats by value (PyPy) would take every zero grad for it:
# there the mark is a plain object, and the grads are zeroed after the walk.
_FLOATS_ARE_DISTINCT = float("0") is not float("0")


# ---- the backward loop, written from the op table ---------------------------------------------
# `Value.backward` spends its time here: once per node of every training step.  A call to the
# op's local_grads per node would make it about a third slower (on a chain of products), so
# the loop is generated once, at import, with the partials of every op that writes them as
# one expression (`Op.local_grads_source`: most of them) pasted into a branch of its own.  The
# other ops (sum, dot, pow, ...) are called through the table.  `print(BACKWARD_LOOP)` shows
# the result; its arithmetic is `microgrant.autodiff`'s, in the same order, so the two agree to
# the last bit.

_LOOP = """\
def _propagate(order, fragile):
    node = None
    try:
        # Reverse topological order: a node is visited only after every node that uses it has
        # added its share, so its grad is complete when it is passed on.
        for node in reversed(order):
            g = node.grad
            if g == 0.0:
                continue  # nothing to pass on (a dead relu, a step): saves the arithmetic
            A, B = node._a, node._b  # the input nodes (B: the argument, for a unary op)
            op = node.op
            if fragile and node in fragile:
                for x, d in zip(node.inputs, fragile[node]):
                    if x.grad is not None:
                        x.grad += d * g
            elif A.__class__ is tuple:  # sum, dot: any number of inputs
                local = OPS[op].local_grads([x.data for x in A], node.data, B)
                for x, d in zip(A, local):
                    if x.grad is not None:
                        x.grad += d * g
{branches}
            elif B.__class__ is Value:
                da, db = OPS[op].local_grads((A.data, B.data), node.data, None)
                # `+=`, not `=`: a Value used twice (x * x) gets both contributions.
                if A.grad is not None:
                    A.grad += da * g
                if B.grad is not None:
                    B.grad += db * g
            elif A.grad is not None:
                A.grad += OPS[op].local_grads((A.data,), node.data, B)[0] * g
    except (ArithmeticError, ValueError) as error:
        # Undefined derivatives were caught before the loop, and float arithmetic overflows
        # to inf rather than raising: only a number changed since the forward pass (a divisor
        # set to 0) gets here.  The leaves' grads are then partly added: as after an
        # interrupted backward, zero them.
        raise undefined_grad_error(node, 0, error) from None
"""


def _branch(op: Op) -> str:
    """The loop's branch for one op: its partials, as the table writes them, inlined."""
    tree = ast.parse(op.local_grads_source, mode="eval").body
    partials = tree.elts if isinstance(tree, ast.Tuple) else [tree]  # one per input (Op checks)
    # The names the table's formulas use, as the loop reaches their numbers.
    where = dict(zip(op.input_names(op.arity), ("A.data", "B.data")), out="node.data", arg="B")
    lines = [f'            elif op == "{op.name}":']
    for i, partial in enumerate(partials):
        node, grad = ("A", "ga") if i == 0 else ("B", "gb")
        # B.grad is read after A's is written: x * x passes both contributions to x.
        lines += [f"                {grad} = {node}.grad",
                  f"                if {grad} is not None:",
                  f"                    {node}.grad = {grad} + {_times_g(partial, where)}"]
    return "\n".join(lines)


class _Rename(ast.NodeTransformer):
    def __init__(self, where: dict[str, str]):
        self.where = where

    def visit_Name(self, name: ast.Name) -> ast.AST:
        return ast.parse(self.where[name.id], mode="eval").body


def _times_g(partial: ast.expr, where: dict[str, str]) -> str:
    text = ast.unparse(_Rename(where).visit(partial))
    # d * g, with the same rounding as the table's partial times g: 1.0 * g is g exactly.
    return "g" if text == "1.0" else f"({text}) * g"


# The ops a training step uses most are tested first: a branch costs a comparison per node.
_FIRST = ("mul", "add", "relu", "tanh", "sub", "sigmoid")


def _write_loop() -> str:
    inline = sorted((op for op in OPS.values() if op.local_grads_source),
                    key=lambda op: _FIRST.index(op.name) if op.name in _FIRST else len(_FIRST))
    return _LOOP.format(branches="\n".join(_branch(op) for op in inline))


BACKWARD_LOOP = _write_loop()
"""The source of `Value.backward`'s loop, as generated from the op table at import."""

# With this module's globals, so Value, OPS and undefined_grad_error resolve.
_propagate = function_from_source(BACKWARD_LOOP, "_propagate",
                                  "<microgrant.engine: BACKWARD_LOOP>", globals())


def local_grads(node: Value, as_values: bool = False) -> tuple:
    """The partials d(node)/d(input) for each of ``node``'s inputs, from the op table.

    These are the numbers written on the edges of a backward graph: backprop multiplies each
    by ``node.grad`` and adds the product to that input's grad.  Where a partial does not
    exist at this point it is an error if that input takes a gradient, and ``None`` if it is
    a constant (no gradient needs it).

    Args:
        node: a Value made by an op (a leaf has no inputs, and so no local gradients).
        as_values: return Values built from ``node``'s graph instead of floats, so that the
            derivatives can be differentiated again (used by ``grad(create_graph=True)``).

    >>> a, b = Value(3.0), Value(4.0)
    >>> local_grads(a * b)
    (4.0, 3.0)
    """
    inputs = node.inputs
    if not inputs:
        return ()
    op = OPS[node.op]
    try:
        if as_values:
            # The same formulas, applied to Values instead of floats, record their own graph.
            local = op.local_grads(inputs, node, node.arg)
        else:
            local = op.local_grads(tuple(x.data for x in inputs), node.data, node.arg)
    except (ArithmeticError, ValueError) as error:
        raise undefined_grad_error(node, 0, error) from None
    if UNDEFINED in local:
        local = tuple(local)
        for i, (x, d) in enumerate(zip(inputs, local)):
            if d is UNDEFINED:
                if x.grad is not None:
                    raise undefined_grad_error(node, i)
                local = local[:i] + (None,) + local[i + 1:]
    return tuple(local)

