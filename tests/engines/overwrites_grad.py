"""`=` where `+=` belongs: a value used twice keeps only its last use's gradient."""

from lecture import Value as Lecture


class Value(Lecture):
    """The lecture's engine with assignments in + and *."""

    def __add__(self, other):
        other = self._wrap(other)
        out = self._out(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad = out.grad
            other.grad = out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._wrap(other)
        out = self._out(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out
