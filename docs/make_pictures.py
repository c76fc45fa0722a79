"""Draws the README's pictures of one neuron, forward and backward, with microgrant itself.

The neuron is the classic one from micrograd's introduction:

    o = tanh(x1*w1 + x2*w2 + b),  x1 = 2, x2 = 0, w1 = -3, w2 = 1, b = 6.8813735870195432

The bias is chosen so that n = x1*w1 + x2*w2 + b = 0.8814 and o = tanh(n) = 0.7071, which
makes do/dn = 1 - o^2 = 0.5 a round number to follow through the backward picture.

Run it from anywhere (it needs Graphviz, which pygraphviz bundles):

    python docs/make_pictures.py

It writes neuron_forward.svg/.png and neuron_backward.svg/.png next to itself.
"""

from __future__ import annotations

from pathlib import Path

from microgrant import Value, viz

HERE = Path(__file__).resolve().parent


def neuron() -> Value:
    """The neuron's graph, every value labelled as it is named in the text."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def main() -> list[Path]:
    o = neuron()
    # The backward picture computes every gradient from the graph itself; backward() would
    # put the same numbers in .grad.
    written = []
    for view, legend in (("forward", True), ("backward", False)):
        drawing = viz.draw(o, view=view, legend=legend)
        for fmt in ("svg", "png"):
            written.append(drawing.render(HERE / f"neuron_{view}.{fmt}"))
    return written


if __name__ == "__main__":
    for path in main():
        print(path)
