"""15: exercise: note 004's two-neuron derivation as a page that asks before it shows.

Note 004 derives dJ/dw2 and leaves dJ/dw1 as an exercise for the network

    z1 = w1 x1,  a1 = sigma(z1),  z2 = w2 a1,  y_hat = sigma(z2),
    J = -y log(y_hat) - (1 - y) log(1 - y_hat)

Here the derivation is the exercise, one chain-rule step at a time: the page written by
``viz.stepper(J, practice=True)`` hides the numbers each step computes (in the picture, in
the text and in the gradient-check table) until you type them. A right answer, to the shown
precision, reveals the step and moves on; a miss shows the formula with the numbers plugged
in and lets you try again; the page keeps a score per op ("sigma: 2 of 2 first try").

Open the page it writes in a browser (it works offline), or show ``practice_page(J)`` in a
notebook. The numbers are microgrant's for note 004's network (x1 = 1.5, y = 1, w1 = 0.8,
w2 = -0.6); choose your own to practise on another point.

    python examples/15_two_neuron_practice.py [--x1 1.5 --y 1 --w1 0.8 --w2 -0.6] [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

from microgrant import viz
from microgrant.notes import TWO_NEURONS, two_neurons


def practice_page(J):
    """The stepper over ``J`` in practice mode: every step's numbers wait for your answer."""
    return viz.stepper(J, practice=True, title="Note 004, two neurons: predict each gradient")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in TWO_NEURONS.items():
        parser.add_argument(f"--{name}", type=float, default=default,
                            help=f"(default {default:g})")
    parser.add_argument("--out", help="folder for the page (default: a new temporary folder)")
    args = parser.parse_args(argv)

    J = two_neurons(args.x1, args.y, args.w1, args.w2)["J"]
    steps = viz.backward_steps(J)
    print(f"Note 004's network at x1 = {args.x1:g}, y = {args.y:g}, w1 = {args.w1:g}, "
          f"w2 = {args.w2:g}: J = {J.data:.4f}")
    print(f"{len(steps)} chain-rule steps to predict, from J back to w1, each one a gradient "
          "you type before the page shows it.")
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-15-"))
    out.mkdir(parents=True, exist_ok=True)
    path = practice_page(J).save(out / "two_neurons_practice.html")
    print(f"open {path} in a browser to practise")


if __name__ == "__main__":
    main()
