"""backward walks the graph without setting the output's grad to 1 first."""

from lecture import Value as Lecture


class Value(Lecture):
    """The lecture's engine without the seed."""

    def backward(self):
        order = self.topological_order()
        for node in order:
            if node._prev and node is not self:
                node.grad = 0.0
        for node in reversed(order):
            node._backward()
