"""Errors of the learner's own: sqrt's forward fails on every input, log's backward has a typo."""

import math

from lecture import Value as Lecture


class Value(Lecture):
    """The lecture's engine with a failing sqrt forward and a failing log backward."""

    def sqrt(self):
        return self._unary(math.sqrt(-self.data), lambda out: 0.5 / out.data, "sqrt")

    def log(self):
        out = self._out(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / slef.data  # noqa: F821 - the typo is the point
        out._backward = _backward
        return out
