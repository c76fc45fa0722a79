"""``from microgrant.micrograd.engine import Value``: micrograd's path to microgrant's `Value`.

Importing it (through `microgrant.micrograd`) makes numbers in expressions take a gradient, as
in micrograd, so every node has a grad to print::

    from microgrant.micrograd.engine import Value
    x = Value(3.0)
    y = 2 * x + 1
    y.backward()
    "grad %.4f" % y.inputs[1].grad      # the 1: 'grad 1.0000' (None in plain microgrant)
"""

from ..engine import Value

__all__ = ["Value"]
