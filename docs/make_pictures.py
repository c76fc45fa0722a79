"""Draws the README's pictures with microgrant itself.

* ``neuron_forward`` and ``neuron_backward`` (SVG and PNG): micrograd's tanh neuron
  (`microgrant.notes.neuron`), whose bias makes do/dn = 0.5 a round number to follow;
* ``two_neurons_backward.svg`` and ``two_neurons_steps.html``: note 004's two-neuron network
  with binary cross-entropy (`microgrant.notes.two_neurons`), and its stepper page;
* ``xor_collapsed.png``: the backward pass of MLP(2, [4, 4, 1]) on XOR with mse, a node per
  neuron (the README's tour, section 9);
* ``xor_hidden_neurons.png``: XOR learned with 1, 2, 3 and 4 hidden neurons (note 001);
* ``moons.png``: micrograd's moons, learned by MLP(2, [16, 16, 1]).

Run it from anywhere (Graphviz comes with pygraphviz; the plots need the ``plot`` extra):

    python docs/make_pictures.py
"""

from __future__ import annotations

from pathlib import Path

from microgrant import plot, viz
from microgrant.data import logic_gate, moons
from microgrant.losses import mse_loss
from microgrant.nn import MLP
from microgrant.notes import neuron, train_xor, two_neurons
from microgrant.train import accuracy, fit

HERE = Path(__file__).resolve().parent


def graphs() -> list[Path]:
    # The backward pictures compute every gradient from the graph itself; backward() puts
    # the same numbers in .grad (where they differ, a leaf shows its .grad beside them).
    written = []
    o = neuron()
    o.backward()
    for view, legend in (("forward", True), ("backward", False)):
        drawing = viz.draw(o, view=view, legend=legend)
        for fmt in ("svg", "png"):
            written.append(drawing.render(HERE / f"neuron_{view}.{fmt}"))
    J = two_neurons()["J"]
    J.backward()
    # viz picks the direction: this chain of fifteen values reads top to bottom, where side
    # by side it would be a strip too wide for a page.
    written.append(viz.draw(J, view="backward").render(HERE / "two_neurons_backward.svg"))
    written.append(viz.save_stepper(J, HERE / "two_neurons_steps.html",
                                    title="Note 004: backprop through two neurons"))
    return written


def nets() -> list[Path]:
    X, y = logic_gate("xor")
    model = MLP(2, [4, 4, 1], seed=0)
    loss = mse_loss([model(x) for x in X], list(y))
    loss.backward()
    return [viz.draw(loss, view="collapsed").render(HERE / "xor_collapsed.png")]


def boundaries() -> list[Path]:
    X, y = logic_gate("xor")
    sizes = (1, 2, 3, 4)
    runs = [train_xor(hidden) for hidden in sizes]
    plot.decision_boundaries([run.model for run in runs], X, y,
                             titles=[f"{hidden} hidden: {run.accuracy:.0%}"
                                     for hidden, run in zip(sizes, runs)],
                             columns=4, resolution=80, path=HERE / "xor_hidden_neurons.png")

    X, y = moons(100, noise=0.1, seed=0, labels="pm1")
    model = MLP(2, [16, 16, 1], seed=1337)
    fit(model, X, y, loss="hinge", l2=1e-4, epochs=100, target_accuracy=1.0,
        lr=lambda k: 1.0 - 0.9 * k / 100, verbose=False)
    title = f"moons, MLP(2, [16, 16, 1]): {accuracy(model, X, y):.0%}"
    plot.decision_boundary(model, X, y, title=title, resolution=100, path=HERE / "moons.png")
    return [HERE / "xor_hidden_neurons.png", HERE / "moons.png"]


if __name__ == "__main__":
    for path in graphs() + nets() + boundaries():
        print(path)
