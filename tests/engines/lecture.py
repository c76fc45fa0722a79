"""A correct engine in the lecture's shape: `_prev`, `_op` and a `_backward` closure per node.

The reference the other engines in this folder change in one place each. Outputs are made with
``type(self)``, so a subclass that overrides one op still builds every node from its own class.
"""

import math


class Value:
    """A scalar with a gradient, micrograd's way, with an iterative walk and interior resets."""

    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op

    def _out(self, data, children, op):
        return type(self)(data, children, op)

    def _wrap(self, other):
        return other if isinstance(other, Value) else type(self)(other)

    def __add__(self, other):
        other = self._wrap(other)
        out = self._out(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._wrap(other)
        out = self._out(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        out = self._out(self.data ** n, (self,), f"**{n}")

        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def _unary(self, data, local, op):
        out = self._out(data, (self,), op)

        def _backward():
            self.grad += local(out) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        return self._unary(math.exp(self.data), lambda out: out.data, "exp")

    def log(self):
        return self._unary(math.log(self.data), lambda out: 1 / self.data, "log")

    def sqrt(self):
        return self._unary(math.sqrt(self.data), lambda out: 0.5 / out.data, "sqrt")

    def tanh(self):
        return self._unary(math.tanh(self.data), lambda out: 1 - out.data ** 2, "tanh")

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        return self._unary(s, lambda out: out.data * (1 - out.data), "sigmoid")

    def relu(self):
        return self._unary(max(0.0, self.data), lambda out: float(out.data > 0), "relu")

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-self._wrap(other))

    def __truediv__(self, other):
        return self * self._wrap(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return self._wrap(other) + (-self)

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return self._wrap(other) * self ** -1

    def topological_order(self):
        """Every node after all of its inputs, found with a stack instead of recursion."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev if child not in seen)
        return order

    def backward(self):
        order = self.topological_order()
        for node in order:
            if node._prev:
                node.grad = 0.0  # interior grads belong to one pass
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
