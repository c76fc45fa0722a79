"""00: the engine in one page.

The whole idea of microgrant in plain Python, with nothing imported from it: a `Value` that
records how it was computed, a small table of ops (each op's forward function and its local
derivatives), a topological order, and `backward`, the chain rule run from the output down.

It keeps the lecture's ``+=`` (a value used twice gets both shares) and adds the two fixes
microgrant makes to the engine of Karpathy's micrograd lecture:

1. a second ``backward()`` adds to the leaves exactly once more: interior gradients are reset
   first, so for y = (x * x) * x at x = 3 two calls give 54 (PyTorch's answer), not 72;
2. deep graphs need no recursion: the topological order is found with a stack of our own.

A test (tests/test_engine_in_one_page.py) holds its gradients to microgrant's.

    python examples/00_engine_in_one_page.py
"""

import math

# The op table: for each op, its forward function and its local derivatives, one per input:
# d out / d input, from the inputs' numbers and the output's number.  Backprop needs nothing else.
OPS = {
    "add": (lambda a, b: a + b, lambda a, b, out: (1.0, 1.0)),
    "sub": (lambda a, b: a - b, lambda a, b, out: (1.0, -1.0)),
    "mul": (lambda a, b: a * b, lambda a, b, out: (b, a)),
    "div": (lambda a, b: a / b, lambda a, b, out: (1.0 / b, -a / (b * b))),
    "tanh": (math.tanh, lambda x, out: (1.0 - out * out,)),
    "exp": (math.exp, lambda x, out: (out,)),
    "relu": (lambda x: x if x > 0.0 else 0.0, lambda x, out: (1.0 if x > 0.0 else 0.0,)),
}


class Value:
    """A number that remembers the op and the inputs it was computed from."""

    def __init__(self, data, op="", inputs=()):
        self.data = float(data)
        self.grad = 0.0
        self.op = op          # a key of OPS, "" for a leaf
        self.inputs = inputs  # in order: x * x has two inputs, both x

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def apply(self, op, *others):
        """``op`` on this value and ``others``; numbers become Values (microgrant's: constants)."""
        inputs = (self, *(x if isinstance(x, Value) else Value(x) for x in others))
        forward, _ = OPS[op]
        return Value(forward(*(x.data for x in inputs)), op, inputs)

    def __add__(self, other): return self.apply("add", other)
    def __radd__(self, other): return Value(other).apply("add", self)
    def __sub__(self, other): return self.apply("sub", other)
    def __rsub__(self, other): return Value(other).apply("sub", self)
    def __mul__(self, other): return self.apply("mul", other)
    def __rmul__(self, other): return Value(other).apply("mul", self)
    def __truediv__(self, other): return self.apply("div", other)
    def __rtruediv__(self, other): return Value(other).apply("div", self)
    def tanh(self): return self.apply("tanh")
    def exp(self): return self.apply("exp")
    def relu(self): return self.apply("relu")

    def backward(self):
        """Fills every ``.grad`` this value depends on with d(self) / d(that value)."""
        order = topological_order(self)
        # Fix 1: an interior grad is a sum of shares from the nodes that use it, so it must
        # start from zero, or a second backward would add the first one's shares again.
        # Leaves keep theirs: their gradients accumulate, as in PyTorch.
        for node in order:
            if node.inputs:
                node.grad = 0.0
        self.grad += 1.0  # d self / d self, added: a leaf's grad accumulates
        # Reversed order: a node passes its grad on only after every node that uses it has
        # added its share, so its grad is complete by then.
        for node in reversed(order):
            if not node.inputs:
                continue  # a leaf: nothing to pass on
            _, local_grads = OPS[node.op]
            partials = local_grads(*(x.data for x in node.inputs), node.data)
            for x, d in zip(node.inputs, partials):
                x.grad += d * node.grad  # Fix 2: `+=`: x * x gives x both shares


def topological_order(root):
    """Every value ``root`` depends on (itself included), each after all of its inputs.

    Fix 3: a depth-first search with a stack of our own instead of recursion, so a chain a
    million values long is fine (Python stops recursing at about a thousand).
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)  # every input is already in the order
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))  # come back to it once its inputs are done
            stack.extend((x, False) for x in node.inputs)
    return order


def main():
    # One neuron, as in the lecture: o = tanh(x1 w1 + x2 w2 + b).
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    print(f"o = {o.data:.4f}; do/dx1 = {x1.grad:.4f}, do/dw1 = {w1.grad:.4f}, "
          f"do/dx2 = {x2.grad:.4f}, do/dw2 = {w2.grad:.4f}")

    x = Value(3.0)
    y = (x * x) * x
    y.backward()
    y.backward()
    print(f"y = x^3 at x = 3, backward twice: x.grad = {x.grad} (27 + 27, not 72)")

    a = Value(-2.0)
    (a + a).backward()
    print(f"a + a: a.grad = {a.grad} (both shares, thanks to +=)")

    z = start = Value(1.0)
    for _ in range(100_000):
        z = z * 1.0
    z.backward()
    print(f"a chain of 100,000 products, no recursion: d z / d start = {start.grad}")


if __name__ == "__main__":
    main()
