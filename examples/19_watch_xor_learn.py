"""19: watch note 001's XOR net learn: one page from the network to a neuron's chain rule.

Note 001 solves XOR with one hidden layer of three neurons (its figure 14).  This trains that
net as `microgrant.notes.train_xor` does (tanh hidden neurons, Adam on the binary cross-entropy
of the output logit), keeps a snapshot of the weights every few epochs, and saves
`microgrant.viz.explore`'s page: open it in a browser, drag the slider to any epoch and watch
each hidden neuron's heatmap turn into a line across the input plane and the output's boundary
bend around the XOR points; press "Step backprop" to follow each neuron's delta back from the
output; click a neuron for its chain-rule steps, a data point for its forward and backward pass.
The page needs no kernel and no network.

    python examples/19_watch_xor_learn.py [--hidden 3] [--epochs 300] [--every 3] [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

from microgrant import viz
from microgrant.data import logic_gate
from microgrant.nn import MLP
from microgrant.optim import Adam
from microgrant.train import fit


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=3, help="hidden neurons (note 001: 3)")
    parser.add_argument("--epochs", type=int, default=300, help="training epochs (default 300)")
    parser.add_argument("--every", type=int, default=3, help="keep a snapshot every N epochs")
    parser.add_argument("--seed", type=int, default=1, help="weight initialisation seed")
    parser.add_argument("--out", help="folder for the page (default: a new temporary folder)")
    args = parser.parse_args(argv)
    if min(args.hidden, args.epochs, args.every) < 1:
        parser.error("--hidden, --epochs and --every must be whole numbers >= 1")

    X, y = logic_gate("xor")
    model = MLP(2, [args.hidden, 1], activation="tanh", seed=args.seed)
    history = fit(model, X, y, loss="bce_logits", epochs=args.epochs, verbose=False,
                  optimizer=Adam(model.parameters(), lr=0.1), record=args.every)
    first, last = history.snapshots[0], history.snapshots[-1]
    print(f"XOR, 2 -> {args.hidden} tanh -> 1, Adam: {len(history.snapshots)} snapshots; "
          f"loss {first.loss:.3f} at epoch {first.epoch} -> {last.loss:.4f} at epoch "
          f"{last.epoch}, accuracy {last.accuracy:.0%}")

    page = viz.explore(model, X, y, history, title="note 001's XOR net learning")
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-19-"))
    out.mkdir(parents=True, exist_ok=True)
    path = page.save(out / "xor_explorer.html")
    print(f"wrote {path} ({path.stat().st_size // 1024} KB): open it in a browser")


if __name__ == "__main__":
    main()
