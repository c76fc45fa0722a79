"""The engine: `Value` records a computation as a graph, and `backward` runs the chain rule on it.

Every arithmetic operation on a `Value` makes a new `Value` that remembers its ``inputs`` and
the name of its ``op``: the graph *is* the computation, written down as it ran.  Backprop
walks it from the output back to the leaves (`topological_order`, reversed); at each op it
multiplies the gradient arriving from above by the op's local derivatives (the op table,
`microgrant.ops`) and adds each product to that input's gradient.

A node holds its number, gradient, label, op name and at most two references (its inputs, or
an input and the op's constant argument): no closure, no reference to its consumers, so a
graph has no cycles and is freed when its output is dropped.  Nothing here recurses.

`Value.backward`'s loop is plain Python (`BACKWARD_LOOP` is its source): the ops a training
step uses most are written out with the op table's expressions, the others asked of the table.
`microgrant.autodiff` replays the same arithmetic keeping every number, for the pictures and
``grad()``; a test holds the two to the last bit.  Whether ops record (`no_grad`) is
`microgrant.gradmode`'s; a node's partials (`local_grads`) and micrograd's ``_backward()`` are
`microgrant.partials`'.
"""

from __future__ import annotations

import inspect
import numbers
from typing import Any, Iterable

from .checks import folded, real
from .errors import data_error, forward_error, result_error, undefined_grad_error
from .gradmode import (
    GRADS_ADDED,
    GRADS_LOCK,
    NUMBER_GRAD,
    OPEN_BLOCKS,
    THIS_THREAD,
    WATCHING,
    is_grad_enabled,
    no_grad,
    numbers_take_grad,
)
from .ops import OPS, Op
from .partials import LectureHabits, local_grads

__all__ = ["Value", "Op", "OPS", "BACKWARD_LOOP", "local_grads", "no_grad", "is_grad_enabled",
           "numbers_take_grad", "topological_order", "undefined_grad_error"]


# ---- Value ----------------------------------------------------------------------------------

class Value(LectureHabits):
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
        """The Values this one was computed from, in order; ``x * x`` has two, both ``x``."""
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
        """The number, as PyTorch's ``tensor.item()``: the same as ``.data``."""
        return self.data

    def __format__(self, spec: str) -> str:
        # f"{loss:.3f}" formats the number; f"{loss}" shows the whole Value.
        return format(self.data, spec) if spec else repr(self)

    def __round__(self, ndigits: int | None = None):
        return round(self.data, ndigits)

    def __float__(self) -> float:
        raise TypeError("float(Value) is refused: math.exp(x), math.log(x) and float(x) would "
                        "take the number out of the graph and backward would miss that path. "
                        "Use x.exp(), x.log(), ... to stay in the graph, or x.item() (or "
                        "x.data) for the number")

    def detach(self) -> Value:
        """A constant with the same number (and label): gradients stop there.

        >>> x = Value(3.0); y = x * x.detach()     # d/dx of x * (a constant 3) is 3, not 2x
        >>> y.backward(); x.grad
        3.0
        """
        return Value(self.data, self.label, requires_grad=False)

    # ---- comparisons (on data; they record nothing) --------------------------------------
    # `==` keeps its default meaning, identity, so Values can be dict keys and set members.

    def __lt__(self, other) -> bool: return self.data < _data(other)
    def __le__(self, other) -> bool: return self.data <= _data(other)
    def __gt__(self, other) -> bool: return self.data > _data(other)
    def __ge__(self, other) -> bool: return self.data >= _data(other)

    # ---- arithmetic: each operator records one op of the table; `2 * x` comes to __rmul__ ---
    def __add__(self, other): return _binary(_ADD, self, other)
    def __radd__(self, other): return _binary(_ADD, other, self)
    def __sub__(self, other): return _binary(_SUB, self, other)
    def __rsub__(self, other): return _binary(_SUB, other, self)
    def __mul__(self, other): return _binary(_MUL, self, other)
    def __rmul__(self, other): return _binary(_MUL, other, self)
    def __truediv__(self, other): return _binary(_DIV, self, other)
    def __rtruediv__(self, other): return _binary(_DIV, other, self)
    def __neg__(self): return _unary(_NEG, self)

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            if exponent.grad is not None:
                return _binary(_VPOW, self, exponent)
            exponent = exponent.data  # a constant exponent is just a number
        return _unary(_POW, self, real(exponent, "an exponent"))

    def __rpow__(self, base): return _binary(_VPOW, base, self)
    def __abs__(self): return _unary(_ABS, self)

    # ---- functions -------------------------------------------------------------------------

    def exp(self) -> Value:
        """e to the power of this value; beyond x = 709.78 it overflows, an error."""
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
        """The logistic function 1 / (1 + e^-x), in (0, 1), stable for any finite x."""
        return _unary(_SIGMOID, self)

    def relu(self) -> Value:
        """max(0, x); its derivative at 0 is taken to be 0, as in PyTorch."""
        return _unary(_RELU, self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x for x > 0, else slope * x; its derivative at 0 is the slope, as in PyTorch."""
        return _unary(_LEAKY_RELU, self, real(slope, "the slope"))

    def abs(self) -> Value:
        """|x|; its derivative at 0 is taken to be 0, as in PyTorch."""
        return _unary(_ABS, self)

    def step(self) -> Value:
        """The Heaviside step: 1 for x >= 0, else 0.  Its gradient is 0 everywhere."""
        return _unary(_STEP, self)

    def stop_gradient(self) -> Value:
        """This number, with derivative 0 (JAX's ``stop_gradient``): backward passes 0 times
        the gradient on (NaN only if that gradient is infinite).  Unlike `detach` it keeps
        ``self`` as its input, so a replay (`microgrant.compile`) recomputes it."""
        return _unary(_STOP_GRADIENT, self)

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

        ``Value.sum([w1 * x1, ..., wn * xn, b])`` in one node instead of n + 1, so a net's
        graph stays small enough to draw; its inputs are the weights, the inputs, the bias.

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

    @staticmethod
    def pick(values: Iterable, index) -> Value:
        """``values[index]`` as a node (PyTorch's gather): the index, an int or a Value such as
        a label, stays an input, so a replay (`microgrant.compile`) picks anew; no gradient.

        >>> z = [Value(2.0), Value(-1.0)]; p = Value.pick(z, Value(1.0)); p.backward()
        >>> p.data, [v.grad for v in z]
        (-1.0, [0.0, 1.0])
        """
        return _variadic(_PICK, (*values, index))

    # ---- backprop ----------------------------------------------------------------------------

    def backward(self, gradient=None) -> None:
        """Fills ``.grad`` of every Value this one depends on with d(self)/d(that value).

        Leaf gradients *accumulate* (``+=``), as in PyTorch and micrograd: zero them between
        training steps.  Interior gradients are recomputed on every call, so two calls add
        each leaf's gradient exactly twice.  A backward that fails on an undefined derivative
        changes no leaf's gradient (unless a ``.data`` was changed after the forward pass);
        one interrupted (Ctrl-C) leaves numbers in every grad, the leaves' partly added.  One
        backward runs at a time: threads on one graph add their shares one after another.

        Args:
            gradient: d(final)/d(self), the seed; 1.0 by default.  Pass it when this Value
                feeds a larger computation whose gradient you already have (PyTorch's
                ``backward(gradient=...)``).

        >>> x = Value(3.0); y = (x * x) * x
        >>> y.backward(); y.backward(); x.grad      # 27 twice (interior grads reset), not 72
        54.0
        """
        seed = 1.0 if gradient is None else real(gradient, "backward's gradient")
        if self.grad is None:
            raise RuntimeError("backward() needs a Value that depends on something with a "
                               "gradient; this one is a constant (made from numbers only, "
                               "from requires_grad=False leaves, or inside no_grad())")
        with GRADS_LOCK:  # one backward at a time: two would mix their interior grads
            GRADS_ADDED[0] += 1  # (a compiled step that read the grads reads them again)
            if self._a is None:  # a leaf differentiates to 1 with respect to itself
                self.grad += seed
                return
            order = topological_order(self)
            fragile: dict[Value, tuple] = {}
            for node in reversed(order):  # output first: the error grad() would name
                # Every interior grad is a sum of contributions from the nodes that use it
                # (`+=` in the loop), so it starts from zero: a previous backward's share
                # would otherwise be counted again ((x * x) * x gives 54 after two calls,
                # not 72).  Leaves keep theirs: their gradients accumulate, as in PyTorch.
                node.grad = 0.0
                if node.op in _FRAGILE:
                    # Derivatives that do not exist everywhere (sqrt at 0) are computed now,
                    # so a backward that fails on one has changed no leaf.
                    fragile[node] = local_grads(node)
            self.grad = seed
            _backward_loop(order, fragile)

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
        for node in topological_order(self):  # every Value reached is an input of one of them
            for x in node.inputs:
                if x.grad is not None:
                    x.grad = 0.0


def _data(other) -> float:
    return other.data if isinstance(other, Value) else other


# Nodes are made with object.__new__ and plain stores: every op makes one, and Value()'s
# checks of a number already known to be a float are a good part of an op's cost.
_new = object.__new__


def _constant(number) -> Value:
    """A Python number met in an expression (the 2 in ``2 * x``) becomes a constant leaf."""
    out = _new(Value)
    out.data = number if type(number) is float else real(number, "an input of an op")
    out.grad, out.label, out.op, out._a, out._b = NUMBER_GRAD[0], "", "", None, None
    return out


def _record(op: Op, inputs, arg, data) -> Value:
    """An op's result: a node keeping ``inputs`` in ``_a`` and ``arg`` in ``_b``, or a constant."""
    if type(data) is not float:
        data = _float_result(op, inputs, arg, data)
    out = _new(Value)
    out.data = data
    out.label = ""
    if OPEN_BLOCKS[0] == 0 or getattr(THIS_THREAD, "enabled", True):  # is_grad_enabled()
        # Record the inputs only if one takes a gradient; else the result is a constant too.
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
    out.grad, out.op, out._a, out._b = None, "", None, None  # a constant
    if WATCHING[0]:  # microgrant.compile watches numbers: it is told (see checks.folded)
        folded(inputs if inputs.__class__ is tuple else (inputs, arg))
    return out


def _float_result(op: Op, inputs, arg, data) -> float:
    """An int result (from .data assigned an int) becomes a float; anything else is an error."""
    values = inputs if inputs.__class__ is tuple else (inputs, arg)
    for v in values:
        if isinstance(v, Value) and type(v.data) is not float and not (
                isinstance(v.data, numbers.Real) and not isinstance(v.data, bool)):
            raise data_error(v)
    if isinstance(data, numbers.Real):
        return float(data)
    raise result_error(op, tuple(v for v in values if isinstance(v, Value)), data)


def _variadic(op: Op, inputs: tuple) -> Value:
    for v in inputs:
        if v.__class__ is not Value:  # numbers among them become constants, once
            inputs = tuple(x if isinstance(x, Value) else _constant(x) for x in inputs)
            break
    if not inputs:
        return Value(0.0, requires_grad=False)
    numbers = [v.data for v in inputs]
    if type(numbers[0]) is not float:
        # An int in .data, or a number microgrant.compile watches (a float that notes each
        # use): the op's own arithmetic is no use to note, so it computes on plain floats.
        try:
            numbers = list(map(float.__float__, numbers))
        except TypeError:  # an int among them: floats only
            numbers = [float.__float__(x) if isinstance(x, float) else x for x in numbers]
    try:
        data = op.forward(numbers, None)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise forward_error(op, inputs, None, error) from None
    return _record(op, inputs, None, data)


def _unary(op: Op, x: Value, arg=None) -> Value:
    number = x.data
    if type(number) is not float and isinstance(number, float):  # plain, as in _variadic
        number = float.__float__(number)
    try:
        data = op.forward((number,), arg)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise forward_error(op, (x,), arg, error) from None
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
        raise forward_error(op, (a, b), None, error) from None
    return _record(op, a, b, data)


_ADD, _SUB, _MUL, _DIV, _SUM = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"], OPS["sum"]
_DOT, _NEG, _POW, _VPOW, _EXP = OPS["dot"], OPS["neg"], OPS["pow"], OPS["vpow"], OPS["exp"]
_LOG, _SQRT, _TANH, _SIGMOID = OPS["log"], OPS["sqrt"], OPS["tanh"], OPS["sigmoid"]
_RELU, _LEAKY_RELU, _ABS, _STEP = OPS["relu"], OPS["leaky_relu"], OPS["abs"], OPS["step"]
_PICK, _STOP_GRADIENT = OPS["pick"], OPS["stop_gradient"]


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
    # A node is opened when first reached: it goes on the stack under the marker _EMIT, its
    # inputs above.  When the marker comes off, everything above it has been emitted, so the
    # node under it can be.  A node reached again before it was opened is skipped then.
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
        while True:  # open the node; go on down at once while one input is left to walk
            mark(node)
            push(node)
            push(_EMIT)
            a, b = node._a, node._b
            if a.__class__ is tuple:  # sum, dot: any number of inputs
                for x in a:
                    if x._a is not None and x not in seen:
                        push(x)
                break
            # The second input is walked first (it would be pushed last): the same order as
            # pushing both, without the trip through the stack.  A chain is walked this way.
            if b.__class__ is Value and b._a is not None and b not in seen:
                if a._a is not None and a not in seen:
                    push(a)
                node = b
            elif a._a is not None and a not in seen:
                node = a
            else:
                break
    return order


_EMIT = object()


# ---- the backward loop ------------------------------------------------------------------------

def _backward_loop(order: list[Value], fragile: dict[Value, tuple]) -> None:
    """Passes each node's gradient to its inputs, from the output down: the chain rule.

    ``order`` is `topological_order` of the output, whose grad is seeded; every other node
    in it starts at 0.0.  ``fragile`` holds the local derivatives computed before the loop
    for ops whose derivatives do not exist everywhere (sqrt at 0).  Every training step
    spends its time here, so the ops it uses most have their partials written out, with the
    op table's expressions (a call to the table per node is several times slower); the
    others ask the table.  A test holds this to `microgrant.autodiff.backward_pass` bit for
    bit.
    """
    node: Any = None
    a: Any  # the slots hold a Value, a tuple of them (sum, dot), a number or None
    b: Any
    try:
        # Reversed topological order: a node is reached only after every node that uses it
        # has added its share, so its grad is complete when it is passed on.
        for node in reversed(order):
            g = node.grad
            if g == 0.0:
                continue  # nothing to pass on (a dead relu, a step): saves the arithmetic
            op = node.op
            a, b = node._a, node._b  # the inputs; b is the constant argument of a unary op
            # `+=`, never `=`: a value used twice (x * x, or by two nodes) gets a share from
            # each use.  A constant (grad None) is skipped: no gradient is wanted for it.
            if op == "mul":  # d/da = b, d/db = a
                if a.grad is not None:
                    a.grad += b.data * g
                if b.grad is not None:
                    b.grad += a.data * g
            elif op == "add":  # d/da = d/db = 1 (and 1.0 * g is g)
                if a.grad is not None:
                    a.grad += g
                if b.grad is not None:
                    b.grad += g
            elif op == "relu":  # d/dx = 0 if x <= 0 else 1
                if a.grad is not None:
                    a.grad += (0.0 if a.data <= 0.0 else 1.0) * g
            elif op == "dot":  # z = w1 x1 + ... + wn xn (+ b): d/dwi = xi, d/dxi = wi, d/db = 1
                n = len(a) // 2
                for w, x in zip(a[:n], a[n:2 * n]):
                    if w.grad is not None:
                        w.grad += x.data * g
                for w, x in zip(a[:n], a[n:2 * n]):
                    if x.grad is not None:
                        x.grad += w.data * g
                if len(a) % 2 and a[-1].grad is not None:
                    a[-1].grad += g
            elif op == "tanh":  # d/dx = 1 - out^2
                if a.grad is not None:
                    a.grad += (1.0 - node.data * node.data) * g
            elif op == "sub":  # d/da = 1, d/db = -1
                if a.grad is not None:
                    a.grad += g
                if b.grad is not None:
                    b.grad += -1.0 * g
            elif op == "sigmoid":  # d/dx = out (1 - out)
                if a.grad is not None:
                    a.grad += (node.data * (1.0 - node.data)) * g
            elif op == "sum":  # d/dxi = 1
                for x in a:
                    if x.grad is not None:
                        x.grad += g
            elif fragile and node in fragile:  # computed before the loop (see backward)
                for x, d in zip(node.inputs, fragile[node]):
                    if x.grad is not None:
                        x.grad += d * g
            elif b.__class__ is Value:  # any other op of two inputs: ask the op table
                da, db = OPS[op].local_grads((a.data, b.data), node.data, None)
                if a.grad is not None:
                    a.grad += da * g
                if b.grad is not None:
                    b.grad += db * g
            elif a.grad is not None:  # any other op of one input
                a.grad += OPS[op].local_grads((a.data,), node.data, b)[0] * g
    except (ArithmeticError, ValueError) as error:
        # Undefined derivatives were caught before the loop, and float arithmetic overflows
        # to inf rather than raising: only a number changed since the forward pass (a divisor
        # set to 0) gets here, with the leaves' grads partly added.
        raise undefined_grad_error(node, 0, error) from None


try:
    BACKWARD_LOOP = inspect.getsource(_backward_loop)
except OSError:  # installed without its .py files (a frozen application)
    BACKWARD_LOOP = "the source of microgrant.engine._backward_loop was not installed"
"""The source of `Value.backward`'s loop: ``print(BACKWARD_LOOP)`` to read it."""

# Ops whose derivatives do not exist everywhere their forward does (sqrt at 0): backward
# computes theirs before it touches any grad.
_FRAGILE = frozenset(op.name for op in OPS.values() if op.grad_domain)
