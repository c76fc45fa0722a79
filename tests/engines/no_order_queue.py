"""A breadth-first walk from the output: each node runs its step when the queue reaches it."""

from collections import deque

from lecture import Value as Lecture


class Value(Lecture):
    """The lecture's engine walking the graph with a queue instead of a topological order."""

    def backward(self):
        for node in self.topological_order():
            if node._prev:
                node.grad = 0.0  # interior grads reset, as they should be
        self.grad = 1.0
        queue, seen = deque([self]), {self}
        while queue:
            node = queue.popleft()
            node._backward()
            for child in node._prev:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
