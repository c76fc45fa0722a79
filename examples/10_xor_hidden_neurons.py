"""10: an MLP learns XOR, with 1, 2, 3 and more hidden neurons, and the boundaries it draws.

From note 001 (its figure 15) and the XOR argument of notes 000, 003 and 004. One hidden layer
of tanh neurons and one output neuron, trained by backprop (Adam on the binary cross-entropy of
the output logit): `microgrant.notes.train_xor`, the recipe the demo and the README use.
With one hidden neuron the network still draws a single straight line, so it gets at most 3
of the 4 points right, however long it trains; from two hidden neurons on it can bend the
boundary around the XOR points, and more neurons draw more complex boundaries.
The figure with one panel per network goes to the output folder.

    python examples/10_xor_hidden_neurons.py [--hidden 1,2,3,4,8] [--epochs 300] [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

from microgrant.data import logic_gate
from microgrant.notes import train_xor


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", default="1,2,3,4,8",
                        help="hidden-layer sizes to compare, comma-separated (default 1,2,3,4,8)")
    parser.add_argument("--epochs", type=int, default=300, help="training epochs (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="weight initialisation seed")
    parser.add_argument("--out", help="folder for the figure (default: a new temporary folder)")
    args = parser.parse_args(argv)
    try:
        sizes = [int(part) for part in args.hidden.split(",")]
    except ValueError:
        parser.error(f"--hidden must be whole numbers separated by commas; got {args.hidden!r}")

    X, y = logic_gate("xor")
    models, titles = [], []
    print(f"XOR with one hidden layer of tanh neurons, Adam, {args.epochs} epochs")
    for hidden in sizes:
        model, history, acc = train_xor(hidden, args.epochs, args.seed)
        models.append(model)
        titles.append(f"{hidden} hidden: {acc:.0%}")
        print(f"  {hidden:>2} hidden neuron{'s' if hidden > 1 else ' '}: loss "
              f"{history.loss[0]:.3f} -> {history.loss[-1]:.4f}, accuracy {acc:.0%}")
    print("  (one hidden neuron is still one line: 3 of 4 points at best)")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-10-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        from microgrant import plot
        path = out / "xor_hidden_neurons.png"
        plot.decision_boundaries(models, X, y, titles=titles, columns=len(models), path=path)
        print(f"\nwrote {path}")
    except ImportError as error:
        print(f"\nno plot: {error}")


if __name__ == "__main__":
    main()
