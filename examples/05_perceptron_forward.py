"""05: note 002's perceptron example, y_hat = g(1 + 3 x1 - 2 x2) at X = [-2, 2].

From note 002. With w0 = 1 and W = [3, -2], the perceptron computes g(w0 + X^T W), "just a
line in 2D": 1 + 3 x1 - 2 x2 = 0 splits the plane, and the sigmoid g turns the distance from
it into a probability. At X = [-2, 2] the note gets g(-9) ~ 0.00012338161; the sigmoid of -9
is in fact 0.000123394576 (1 / (1 + e^9)), so the note's last digits are off by about 1e-8
(a relative error of 1e-4). Backward then gives the gradient of y_hat with respect to each
weight, dy_hat/dw_j = g'(z) x_j, checked with a finite difference; and the line is drawn with
the sigmoid's 0.5 boundary into the output folder.

    python examples/05_perceptron_forward.py [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

from microgrant import Value, gradcheck

NOTE_002_YHAT = 0.00012338161


def perceptron(w0, w1, w2, x1, x2) -> Value:
    """y_hat = sigmoid(w0 + x1 w1 + x2 w2)."""
    return (w0 + x1 * w1 + x2 * w2).sigmoid()


def example(x1: float = -2.0, x2: float = 2.0):
    """Note 002's numbers: returns (z, y_hat, {name: dy_hat/dname})."""
    w0, w1, w2 = Value(1.0, label="w0"), Value(3.0, label="w1"), Value(-2.0, label="w2")
    z = w0 + x1 * w1 + x2 * w2
    y_hat = z.sigmoid()
    y_hat.backward()
    return z.data, y_hat.data, {"w0": w0.grad, "w1": w1.grad, "w2": w2.grad}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the plot (default: a new temporary folder)")
    args = parser.parse_args(argv)

    z, y_hat, grads = example()
    print("Note 002: w0 = 1, W = [3, -2], X = [-2, 2]")
    print(f"  z = 1 + 3*(-2) - 2*2 = {z:g}   (note: -9)")
    print(f"  y_hat = g(-9): note {NOTE_002_YHAT}, microgrant {y_hat:.11g}")
    gap = NOTE_002_YHAT - y_hat
    print(f"  difference {gap:+.2e} (relative {abs(gap) / y_hat:.1e}): the note's value is "
          "slightly off;\n  1 / (1 + e^9) is the referee")

    slope = y_hat * (1 - y_hat)
    print("\nGradients by backward, and g'(z) x_j with g'(z) = g(z)(1 - g(z)):")
    for name, x in (("w0", 1.0), ("w1", -2.0), ("w2", 2.0)):
        print(f"  dy_hat/d{name} = {grads[name]:.6e}   g'(z) * {x:+g} = {slope * x:.6e}")
    check = gradcheck(lambda w0, w1, w2: perceptron(w0, w1, w2, -2.0, 2.0), [1.0, 3.0, -2.0],
                      atol=1e-10)
    print(f"  finite differences agree: {bool(check)}")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-05-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        from microgrant import plot
        # a few points on each side of the line, and note 002's X = [-2, 2]
        X = [[-2.0, 2.0], [2.0, 1.0], [0.0, 2.0], [1.0, -1.0], [-1.0, -2.0], [-1.5, 0.5]]
        y = [int(1 + 3 * a - 2 * b >= 0) for a, b in X]
        path = out / "perceptron_line.png"
        plot.decision_boundary(lambda p: perceptron(1.0, 3.0, -2.0, p[0], p[1]), X, y,
                               threshold=0.5, title="g(1 + 3 x1 - 2 x2) = 0.5", path=path)
        print(f"\nwrote {path}")
    except ImportError as error:
        print(f"\nno plot: {error}")


if __name__ == "__main__":
    main()
