"""17: exercise: fix a broken engine with check_engine's help.

The `Value` class below is the engine the lecture builds, written the way a learner often
writes it the first time. It runs, and its first gradients look plausible, but it has three
mistakes. ``microgrant.check_engine(Value)`` runs it on small graphs against microgrant, and
names each mistake with the smallest graph that shows it and why it is wrong.

    python examples/17_fix_a_broken_engine.py             # the report on the class below
    python examples/17_fix_a_broken_engine.py --solution  # the report on the fixed class

It only prints: ``--out DIR``, which the examples that draw take, is accepted and writes nothing.

Edit the class (or a copy of this file) and run it again until the report says "Well done".
The same check runs on a file of your own from the command line:

    microgrant check-engine my_engine.py:Value
"""

import argparse
import math

from microgrant import check_engine


class Value:
    """A scalar and its gradient, micrograd's way: ``_prev`` and a ``_backward`` per node."""

    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        out = type(self)(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - self.data ** 2) * out.grad
        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        # the order: every node after its inputs, found with a stack (no recursion)
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack += [(node, True)] + [(child, False) for child in node._prev]
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


class SolvedValue(Value):
    """The three fixes: ``+=`` in ``*``, tanh's derivative from its output, interior resets."""

    def __mul__(self, other):
        other = other if isinstance(other, Value) else type(self)(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad  # += : a value used twice gets both shares
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        out = type(self)(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - out.data ** 2) * out.grad  # 1 - tanh(x)^2, not 1 - x^2
        out._backward = _backward
        return out

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack += [(node, True)] + [(child, False) for child in node._prev]
        for node in order:
            if node._prev:
                node.grad = 0.0  # an interior grad belongs to one backward pass
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solution", action="store_true", help="check the fixed class")
    parser.add_argument("--out", metavar="DIR", help="accepted as by the other examples; "
                        "this exercise only prints, so nothing is written there")
    args = parser.parse_args(argv)
    if args.out:
        print(f"nothing is written to {args.out}: this exercise only prints")
    report = check_engine(SolvedValue if args.solution else Value)
    print(report)
    if not report.ok:
        print("\nFix the class in this file, one finding at a time, and run it again.")


if __name__ == "__main__":
    main()
