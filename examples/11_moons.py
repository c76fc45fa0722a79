"""11: micrograd's moons demo: an MLP, the hinge loss, and the decision boundary it learns.

The demo that closes micrograd, rebuilt with microgrant: 100 points in two interleaving half
moons (labels -1 and +1), a 2 -> 16 -> 16 -> 1 relu network, the SVM hinge loss
max(0, 1 - y score) plus a small L2 penalty, and full-batch gradient descent with a learning
rate falling from 1.0 to 0.1. The notes (001, 003) argue that stacking neurons lets a network
draw curved boundaries; this is that argument on a problem no line can solve. The boundary
and the loss curve go to the output folder.

    python examples/11_moons.py [--n 100] [--epochs 100] [--hidden 16,16] [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

from microgrant.data import moons
from microgrant.nn import MLP
from microgrant.train import accuracy, fit


def train_moons(n: int = 100, epochs: int = 100, hidden=(16, 16), seed: int = 1337):
    """micrograd's recipe; returns (model, history, X, y)."""
    X, y = moons(n=n, noise=0.1, seed=seed, labels="pm1")
    model = MLP(2, [*hidden, 1], seed=seed)
    # micrograd's schedule: 1.0 at the start, falling linearly toward 0.1
    history = fit(model, X, y, loss="hinge", l2=1e-4, epochs=epochs,
                  lr=lambda epoch: 1.0 - 0.9 * epoch / epochs, verbose=False)
    return model, history, X, y


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="number of points (default 100)")
    parser.add_argument("--epochs", type=int, default=100, help="training steps (default 100)")
    parser.add_argument("--hidden", default="16,16", help="hidden layer sizes (default 16,16)")
    parser.add_argument("--out", help="folder for the plots (default: a new temporary folder)")
    args = parser.parse_args(argv)
    try:
        hidden = [int(part) for part in args.hidden.split(",")]
    except ValueError:
        parser.error(f"--hidden must be whole numbers separated by commas; got {args.hidden!r}")

    model, history, X, y = train_moons(args.n, args.epochs, hidden)
    print(f"{model} on {args.n} moons points, hinge loss, {args.epochs} steps")
    for epoch in sorted({0, len(history.loss) // 2, len(history.loss) - 1}):
        print(f"  step {epoch + 1:>3}: loss {history.loss[epoch]:.4f}, accuracy "
              f"{history.accuracy[epoch]:.0%}")
    print(f"  final accuracy: {accuracy(model, X, y):.0%}")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-11-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        from microgrant import plot
        boundary, curves = out / "moons_boundary.png", out / "moons_curves.png"
        plot.decision_boundary(model, X, y, title="moons: MLP with hinge loss", path=boundary)
        plot.training_curves(history.loss, history.accuracy, path=curves)
        print(f"\nwrote {boundary} and {curves}")
    except ImportError as error:
        print(f"\nno plots: {error}")


if __name__ == "__main__":
    main()
