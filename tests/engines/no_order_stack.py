"""A depth-first walk that runs each node's step as soon as it is reached."""

from lecture import Value as Lecture


class Value(Lecture):
    """The lecture's engine walking the graph in pre-order with a stack."""

    def backward(self):
        for node in self.topological_order():
            if node._prev:
                node.grad = 0.0  # interior grads reset, as they should be
        self.grad = 1.0
        stack, seen = [self], {self}
        while stack:
            node = stack.pop()
            node._backward()
            for child in node._prev:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
