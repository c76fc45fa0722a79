"""07: logistic regression by gradient descent, and the gradient dE/dw_j = -(y - y_hat) x_j.

From notes 000 and 003. For one point, y_hat = sigmoid(w . x + b) and the log-loss is
E = -y ln(y_hat) - (1 - y) ln(1 - y_hat). Note 000 derives dE/dw_j = -(y - y_hat) x_j and
dE/db = -(y - y_hat), hence the update w_j <- w_j + a (y - y_hat) x_j. Here backward computes
the same gradient from the graph, point by point, and training with backward's gradient
follows exactly the path the note's update rule takes.

One step of note 000's derivation is misprinted: it writes d/dw_j sigma(Wx + b) as
"(Wx + b)(1 - (Wx + b)) x_j"; the derivative is sigma(Wx + b)(1 - sigma(Wx + b)) x_j. Both are
printed below next to backward's number. The data are note 003's admissions (test score and
grades, accepted when 2 test + grades - 18 >= 0); the boundary and the loss curve are drawn
into the output folder.

    python examples/07_logistic_regression.py [--n 60] [--epochs 50] [--out DIR]
"""

import argparse
import math
import tempfile
from pathlib import Path

from microgrant import Value
from microgrant.data import admissions


def log_loss(w, b, x, y) -> Value:
    """E = -y ln(y_hat) - (1 - y) ln(1 - y_hat), y_hat = sigmoid(w . x + b)."""
    y_hat = (Value.sum([wj * xj for wj, xj in zip(w, x)]) + b).sigmoid()
    return -y * y_hat.log() - (1 - y) * (1 - y_hat).log()


def point_gradients(weights, bias, x, y):
    """For one point: (backward's [dE/dw_1, ..., dE/db], the note's -(y - y_hat)[x_1, ..., 1],
    the misprinted step's (z)(1 - z) x_j for each weight, y_hat)."""
    w = [Value(v, label=f"w{j + 1}") for j, v in enumerate(weights)]
    b = Value(bias, label="b")
    E = log_loss(w, b, x, y)
    E.backward()
    z = sum(wj * xj for wj, xj in zip(weights, x)) + bias
    y_hat = 1.0 / (1.0 + math.exp(-z))
    note = [-(y - y_hat) * xj for xj in x] + [-(y - y_hat)]
    misprint = [z * (1 - z) * xj for xj in x]
    return [v.grad for v in w] + [b.grad], note, misprint, y_hat


def train(X, Y, epochs: int, lr: float, by_backward: bool):
    """Per-point gradient descent from w = 0, b = 0, with backward's gradient or the note's rule.

    Returns:
        ``(weights, bias, losses, accuracies)``, the last two one per epoch.
    """
    weights, bias = [0.0] * len(X[0]), 0.0
    losses, accuracies = [], []
    for _ in range(epochs):
        for x, y in zip(X, Y):
            if by_backward:
                w = [Value(v) for v in weights]
                b = Value(bias)
                log_loss(w, b, x, y).backward()
                weights = [v.data - lr * v.grad for v in w]
                bias = b.data - lr * b.grad
            else:  # note 000: w_j <- w_j + a (y - y_hat) x_j,  b <- b + a (y - y_hat)
                z = sum(wj * xj for wj, xj in zip(weights, x)) + bias
                y_hat = 1.0 / (1.0 + math.exp(-z))
                weights = [wj + lr * (y - y_hat) * xj for wj, xj in zip(weights, x)]
                bias = bias + lr * (y - y_hat)
        total, right = 0.0, 0
        for x, y in zip(X, Y):
            z = sum(wj * xj for wj, xj in zip(weights, x)) + bias
            y_hat = 1.0 / (1.0 + math.exp(-z))
            total += -y * math.log(y_hat) - (1 - y) * math.log(1 - y_hat)
            right += int((y_hat >= 0.5) == (y == 1))
        losses.append(total / len(X))
        accuracies.append(right / len(X))
    return weights, bias, losses, accuracies


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="number of students (default 60)")
    parser.add_argument("--epochs", type=int, default=50, help="passes over the data")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate a")
    parser.add_argument("--out", help="folder for the plots (default: a new temporary folder)")
    args = parser.parse_args(argv)

    print("dE/dw_j for one point, x = (7, 6) (note 003's student), y = 1, w = (0.2, -0.1), "
          "b = -0.5:")
    ours, note, misprint, y_hat = point_gradients([0.2, -0.1], -0.5, [7.0, 6.0], 1)
    for name, a, n in zip(["dE/dw1", "dE/dw2", "dE/db"], ours, note):
        print(f"  {name:<6}: backward {a:+.6f}   -(y - y_hat) x_j {n:+.6f}")
    print(f"  dy_hat/dw1: sigma'(z) x1 = {y_hat * (1 - y_hat) * 7.0:.6f}; note 000's misprinted "
          f"step (z)(1 - z) x1 = {misprint[0]:.6f}")

    X, Y = admissions(n=args.n, seed=0)
    X, Y = X.tolist(), [int(v) for v in Y]
    print(f"\nTraining on {args.n} admissions, rate {args.lr}, {args.epochs} epochs")
    w1, b1, losses, accuracies = train(X, Y, args.epochs, args.lr, by_backward=True)
    w2, b2, _, _ = train(X, Y, args.epochs, args.lr, by_backward=False)
    gap = max(abs(a - b) for a, b in zip(w1 + [b1], w2 + [b2]))
    print(f"  with backward's gradient: w = [{w1[0]:.5f}, {w1[1]:.5f}], b = {b1:.5f}")
    print(f"  with note 000's update:   w = [{w2[0]:.5f}, {w2[1]:.5f}], b = {b2:.5f}   "
          f"(largest difference {gap:.1e})")
    print(f"  loss {losses[0]:.4f} -> {losses[-1]:.4f}, accuracy {accuracies[-1]:.0%}")
    print(f"  the learned line: {w1[0]:.3f} test + {w1[1]:.3f} grades {b1:+.3f} = 0\n"
          "  (the rule that made the data: 2 test + 1 grades - 18 = 0; any multiple of it is "
          "the same line)")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-07-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        from microgrant import plot
        boundary = out / "logistic_boundary.png"
        plot.decision_boundary(lambda p: (w1[0] * p[0] + w1[1] * p[1] + b1).sigmoid(), X, Y,
                               threshold=0.5, title="logistic regression, admissions",
                               path=boundary)
        plot.training_curves(losses, accuracies, path=out / "logistic_curves.png")
        print(f"\nwrote {boundary} and {out / 'logistic_curves.png'}")
    except ImportError as error:
        print(f"\nno plots: {error}")


if __name__ == "__main__":
    main()
