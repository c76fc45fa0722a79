"""exp's local derivative taken from the input (x) instead of the output (exp(x))."""

import math

from lecture import Value as Lecture


class Value(Lecture):
    """The lecture's engine with the classic exp mistake."""

    def exp(self):
        return self._unary(math.exp(self.data), lambda out: self.data, "exp")
