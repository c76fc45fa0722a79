"""04: sigmoid, tanh and relu with their derivatives, checked against note 002's table.

From notes 001 and 002. Note 002 states g'(z) = g(z)(1 - g(z)) for the sigmoid,
1 - g(z)^2 for tanh, and 1 for z > 0 else 0 for relu, and prints TensorFlow's table of
sigmoid'(z) for z = -6, ..., 6. Here every derivative comes from microgrant's ``backward``
and is compared with the note's formula, with a finite difference, and with each number of
the table. The table is float32, so it agrees to about 1e-7 and no better; note 002's
asymmetric entries (0.00664812 at z = -5, 0.00664809 at z = 5; the exact value is
0.0066480567 at both) are float32 rounding, not a property of the sigmoid.

Note 001's "vanishing gradient": sigmoid' is at most 0.25, so a chain of n sigmoids passes
back at most 0.25^n; backward shows it shrinking. The plot of each function with its
derivative (computed by backward) goes to the output folder.

    python examples/04_activations.py [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

from microgrant import Value, gradcheck

# Note 002: tf.GradientTape, d sigmoid / dz at z = -6, -5, ..., 6 (float32).
NOTE_002_TABLE = [0.00246653, 0.00664812, 0.01766273, 0.04517666, 0.10499357, 0.19661194,
                  0.25, 0.19661193, 0.10499357, 0.04517666, 0.01766273, 0.00664809,
                  0.00246653]
FLOAT32_TOLERANCE = 1e-7

# The note's formulas for g'(z), written in terms of g(z) as note 002 does.
FORMULAS = {
    "sigmoid": ("g(z)(1 - g(z))", lambda z, g: g * (1 - g)),
    "tanh": ("1 - g(z)^2", lambda z, g: 1 - g * g),
    "relu": ("1 if z > 0 else 0", lambda z, g: 1.0 if z > 0 else 0.0),
}


def derivative(name: str, z: float) -> tuple[float, float]:
    """(g(z), g'(z)), the derivative by microgrant's backward."""
    leaf = Value(z, label="z")
    out = getattr(leaf, name)()
    out.backward()
    return out.data, leaf.grad


def sigmoid_table() -> list[tuple[int, float, float]]:
    """(z, note 002's number, microgrant's backward) for z = -6 .. 6."""
    return [(z, note, derivative("sigmoid", z)[1])
            for z, note in zip(range(-6, 7), NOTE_002_TABLE)]


def chain_of_sigmoids(n: int, z: float = 0.0) -> float:
    """d/dz of sigmoid(sigmoid(...sigmoid(z))) with n sigmoids, by backward."""
    leaf = Value(z)
    out = leaf
    for _ in range(n):
        out = out.sigmoid()
    out.backward()
    return leaf.grad


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the plot (default: a new temporary folder)")
    args = parser.parse_args(argv)

    print("Derivatives by backward vs note 002's formulas (and a finite difference):")
    for name, (text, formula) in FORMULAS.items():
        for z in (-2.0, 0.5, 3.0):
            g, ours = derivative(name, z)
            note = formula(z, g)
            ok = gradcheck(lambda v, name=name: getattr(v, name)(), [z]).ok
            flag = "agree" if abs(ours - note) < 1e-12 else "DIFFER"
            print(f"  {name}'({z:+.1f}): backward {ours:.10f}, note's {text} {note:.10f}: "
                  f"{flag}; finite difference {'agrees' if ok else 'DISAGREES'}")
    print(f"  relu'(0) = {derivative('relu', 0.0)[1]} by backward (PyTorch's convention; the "
          "note's 'otherwise' agrees)")
    g2 = derivative("sigmoid", 2.0)[0]
    print(f"  sigmoid(2) = {g2:.7f} (note 002: tf.math.sigmoid(2.0) = 0.8807971)")

    print("\nNote 002's table of sigmoid'(z), float32 from TensorFlow:")
    print(f"  {'z':>3} {'note 002':>12} {'microgrant':>14} {'difference':>12}")
    worst = 0.0
    for z, note, ours in sigmoid_table():
        worst = max(worst, abs(note - ours))
        print(f"  {z:>3} {note:>12.8f} {ours:>14.10f} {note - ours:>+12.1e}")
    verdict = "within" if worst <= FLOAT32_TOLERANCE else "OUTSIDE"
    print(f"  largest difference {worst:.1e}: {verdict} float32 precision ({FLOAT32_TOLERANCE:g})")
    print("  (the note's 0.00664812 at z = -5 vs 0.00664809 at z = 5 is float32 rounding: "
          "sigmoid' is symmetric)")

    print("\nVanishing gradients (note 001): d/dz of n stacked sigmoids at z = 0")
    for n in (1, 2, 5, 10):
        print(f"  n = {n:>2}: {chain_of_sigmoids(n):.3e}   (bound 0.25^n = {0.25 ** n:.3e})")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-04-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        from microgrant import plot
        path = out / "activations.png"
        plot.activations(("sigmoid", "tanh", "relu", "leaky_relu", "step"), path=path)
        print(f"\nwrote {path}")
    except ImportError as error:
        print(f"\nno plot: {error}")


if __name__ == "__main__":
    main()
