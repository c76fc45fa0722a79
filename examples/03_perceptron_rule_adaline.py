"""03: the perceptron learning rule by hand, and Adaline's delta rule as a gradient.

From note 004. The exercise: three samples ([3,2,1] -> 0, [1,1,1] -> 1, [1,2,3] -> 1), rate
r = 0.1, W = [0, 0, 0], b = 0.5, one pass from top to bottom with
``error = y - g(W.x + b); W = W + r * error * x; b = b + r * error``. Every step is printed, as
you would write it on paper; the pass ends at W = [-0.2, -0.1, 0.0], b = 0.5.

Then Adaline (Widrow-Hoff): the same kind of update, but on the linear output F(x) = W.x + b.
Its rule is gradient descent on the squared error, and microgrant's backward confirms it: the
gradient of 1/2 (y - F(x))^2 is -(y - F(x)) x_j for each weight and -(y - F(x)) for the bias.
Note 004 writes the bias update twice; the first version, ``b = b - a (y - F(x))``, has the
wrong sign (backward says so); the second, ``b = b - a (y - F(x)) (-1)``, is right.

Adaline's cost per epoch is plotted into the output folder.

    python examples/03_perceptron_rule_adaline.py [--epochs 20] [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

from microgrant import Value, gradcheck
from microgrant.classic import Adaline, Perceptron

X = [[3.0, 2.0, 1.0], [1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]
Y = [0, 1, 1]


def exercise(lr: float = 0.1):
    """One pass of the perceptron rule over note 004's samples, from W = 0, b = 0.5.

    Returns:
        ``(steps, weights, bias)``: one dict per sample (its score, prediction, error and the
        weights after it), then the final weights and bias, rounded to 10 decimals so that
        0.1 steps read as the numbers on paper.
    """
    p = Perceptron(3, weights=[0.0, 0.0, 0.0], bias=0.5)
    steps = []
    for x, y in zip(X, Y):
        score = p.decision_function(x)
        prediction = p.predict(x)
        error = p.step(x, y, lr=lr)
        steps.append({"x": x, "y": y, "score": round(score, 10), "prediction": prediction,
                      "error": error, "weights": [round(w, 10) for w in p.weights],
                      "bias": round(p.bias, 10)})
    return steps, [round(w, 10) for w in p.weights], round(p.bias, 10)


def adaline_gradients(weights, bias, x, y):
    """d/dw_j and d/db of 1/2 (y - F(x))^2 by backward, and the note's formulas.

    Returns:
        ``(by_backward, by_formula, note_bias_first)``: two lists (weights then bias), and
        the bias gradient implied by note 004's first bias update, ``+(y - F(x))``.
    """
    w = [Value(v, label=f"w{j + 1}") for j, v in enumerate(weights)]
    b = Value(bias, label="b")
    F = Value.sum([wj * xj for wj, xj in zip(w, x)] + [b])
    J = 0.5 * (y - F) ** 2
    J.backward()
    error = y - F.data
    by_formula = [-error * xj for xj in x] + [-error]
    return [v.grad for v in w] + [b.grad], by_formula, error


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="Adaline epochs (default 20)")
    parser.add_argument("--out", help="folder for the plot (default: a new temporary folder)")
    args = parser.parse_args(argv)

    print("Note 004's exercise: r = 0.1, W = [0, 0, 0], b = 0.5, one pass, top to bottom")
    steps, weights, bias = exercise()
    for i, s in enumerate(steps, 1):
        print(f"  sample {i}: x = {s['x']}, y = {s['y']}: W.x + b = {s['score']:g} -> "
              f"g = {s['prediction']}, error = {s['error']:+d}")
        print(f"            W = {s['weights']}, b = {s['bias']:g}")
    print(f"  after one pass: W = {weights}, b = {bias:g}   (expected W = [-0.2, -0.1, 0.0], "
          "b = 0.5)")
    p = Perceptron(3, weights=[0.0, 0.0, 0.0], bias=0.5).fit(X, Y, lr=0.1, epochs=100)
    print(f"  trained to the end: mistakes per epoch {p.mistakes}, predictions "
          f"{p.predict(X)} for labels {Y}")

    print("\nAdaline's update is gradient descent on J = 1/2 (y - F(x))^2, F(x) = W.x + b,")
    print(f"  at W = [0.1, -0.2, 0.3], b = 0.05 and sample 3 (x = {X[2]}, y = {Y[2]}):")
    by_backward, by_formula, error = adaline_gradients([0.1, -0.2, 0.3], 0.05, X[2], Y[2])
    names = ["dJ/dw1", "dJ/dw2", "dJ/dw3", "dJ/db"]
    for name, ours, formula in zip(names, by_backward, by_formula):
        print(f"  {name:<6}: backward {ours:+.6f}   note's -(y - F(x)) x_j {formula:+.6f}")
    print(f"  note 004's first bias update, b = b - a (y - F(x)), steps b along -(y - F(x)) = "
          f"{-error:+.6f},\n  as if dJ/db were +(y - F(x)) = {error:+.6f}: backward says "
          f"dJ/db = {by_backward[-1]:+.6f}, so that update climbs\n  the error. The note's "
          "second version, b = b - a (y - F(x))(-1), agrees with backward.")
    x, y = X[2], Y[2]
    check = gradcheck(lambda w1, w2, w3, b: 0.5 * (y - (w1 * x[0] + w2 * x[1] + w3 * x[2]
                                                      + b)) ** 2, [0.1, -0.2, 0.3, 0.05])
    print(f"  finite differences agree with backward: {bool(check)}")

    a = Adaline(3, weights=[0.0, 0.0, 0.0], bias=0.5).fit(X, Y, lr=0.05, epochs=args.epochs)
    print(f"\nAdaline on the same samples, rate 0.05, {args.epochs} epochs: cost "
          f"{a.losses[0]:.4f} -> {a.losses[-1]:.4f}, predictions {a.predict(X)} for "
          f"labels {Y}")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-03-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        from microgrant import plot
        path = out / "adaline_cost.png"
        plot.training_curves(a.losses, title="Adaline: J = 1/(2m) sum (y - F(x))^2 per epoch",
                             path=path)
        print(f"\nwrote {path}")
    except ImportError as error:
        print(f"\nno plot: {error}")


if __name__ == "__main__":
    main()
