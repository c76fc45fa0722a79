"""Two mistakes in powers: the forward raises n to x, and the derivative forgets n - 1."""

from lecture import Value as Lecture


class Value(Lecture):
    """The lecture's engine with `n ** x` forward and `n * x ** n` as its derivative."""

    def __pow__(self, n):
        out = self._out(n ** self.data, (self,), f"**{n}")

        def _backward():
            self.grad += n * self.data ** n * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):  # division written out, so only ** is wrong
        other = self._wrap(other)
        out = self._out(self.data / other.data, (self, other), "/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad += -self.data / other.data ** 2 * out.grad
        out._backward = _backward
        return out

    def __rtruediv__(self, other):
        return self._wrap(other) / self
