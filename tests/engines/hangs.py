"""relu's backward never returns (it waits for an event nothing sets)."""

import threading

from lecture import Value as Lecture

NEVER = threading.Event()


class Value(Lecture):
    """The lecture's engine whose relu backward blocks."""

    def relu(self):
        out = self._out(max(0.0, self.data), (self,), "relu")

        def _backward():
            NEVER.wait(60)
            self.grad += float(out.data > 0) * out.grad
        out._backward = _backward
        return out
