"""02: perceptrons as logical operators, why XOR needs two layers, and the perceptron trick.

From notes 000, 003 and 004. A perceptron with a step activation is a logic gate: the notes
build AND (000: w = 1, 1 and b = -1.2; 003: b = -2), OR and NAND, and McCulloch-Pitts AND and
OR neurons with thresholds 2 and 1 (004). No single one of them can compute XOR, because no
straight line puts (0,1) and (1,0) on one side and (0,0) and (1,1) on the other; two layers
can (004's network, and 003's "NAND and OR make XOR"). The perceptron trick (000, 003) moves
the line 3 x1 + 4 x2 - 10 = 0 toward the misclassified point (4, 5).

The gates are built from microgrant Values, so you can see the step's gradient: it is 0 for
every weight, which is why the perceptron cannot learn by backprop and uses its own rule.

    python examples/02_logic_gates.py
"""

import itertools

from microgrant import Value
from microgrant.classic import McCullochPitts, perceptron_trick, xor_network

INPUTS = [(0, 0), (0, 1), (1, 0), (1, 1)]
TRUTH = {
    "AND": [0, 0, 0, 1],
    "OR": [0, 1, 1, 1],
    "NAND": [1, 1, 1, 0],
    "XOR": [0, 1, 1, 0],
}
# (w1, w2, b) for each gate; AND is note 000's, the others are one choice among many.
GATES = {
    "AND (note 000)": ((1.0, 1.0, -1.2), "AND"),
    "AND (note 003)": ((1.0, 1.0, -2.0), "AND"),
    "OR": ((1.0, 1.0, -1.0), "OR"),
    "NAND": ((-1.0, -1.0, 1.5), "NAND"),
}


def perceptron(weights, x) -> Value:
    """step(w1 x1 + w2 x2 + b) as a graph of Values; fires when the sum is >= 0."""
    w1, w2, b = (Value(w, label=name) for w, name in zip(weights, ("w1", "w2", "b")))
    out = (w1 * x[0] + w2 * x[1] + b).step()
    return out


def truth_table(weights) -> list[int]:
    """The perceptron's output for (0,0), (0,1), (1,0), (1,1)."""
    return [int(perceptron(weights, x).data) for x in INPUTS]


def step_gradients(weights, x) -> list[float]:
    """d(output)/d(w1, w2, b) by backward: always 0, the step has no slope."""
    w = [Value(v) for v in weights]
    out = (w[0] * x[0] + w[1] * x[1] + w[2]).step()
    out.backward()
    return [v.grad for v in w]


def separating_lines(target, grid=None) -> int:
    """How many (w1, w2, b) on a grid compute ``target`` with one step unit."""
    grid = grid or [i / 4 for i in range(-12, 13)]  # -3 .. 3 in steps of 0.25
    # Plain floats here: 15,625 candidate lines need no graph, only their truth tables.
    return sum([int(w1 * a + w2 * b + c >= 0) for a, b in INPUTS] == target
               for w1, w2, c in itertools.product(grid, repeat=3))


def xor_from_nand_and_or(x) -> int:
    """Note 003: XOR = AND(NAND(x), OR(x)), three perceptrons in two layers."""
    h1 = perceptron(GATES["NAND"][0], x).data
    h2 = perceptron(GATES["OR"][0], x).data
    return int(perceptron(GATES["AND (note 000)"][0], (h1, h2)).data)


def trick_000():
    """Note 000: 3 x1 + 4 x2 - 10, point (4, 5) in the negative class, rate 0.1."""
    return perceptron_trick([3, 4], -10, point=(4, 5), label=0, lr=0.1)


def main() -> None:
    print("Perceptrons as logic gates: output = step(w1 x1 + w2 x2 + b), step(0) = 1")
    for name, (weights, gate) in GATES.items():
        table = truth_table(weights)
        verdict = "matches" if table == TRUTH[gate] else "DIFFERS from"
        print(f"  {name:<15} w1, w2, b = {weights}: {table} {verdict} the truth table "
              f"{TRUTH[gate]}")

    print("\nMcCulloch-Pitts neurons (note 004): weights 1, 1; fire when the sum >= threshold")
    for gate, threshold in (("AND", 2), ("OR", 1)):
        table = McCullochPitts([1, 1], threshold=threshold).predict(INPUTS)
        print(f"  {gate} at threshold {threshold}: {table}  (note 004: {TRUTH[gate]})")

    print("\nThe step has no slope: d(output)/d(w1, w2, b) from backward, for AND at (1, 1):")
    print(f"  {step_gradients(GATES['AND (note 000)'][0], (1, 1))}  -> gradient descent "
          "cannot move these weights")

    print("\nXOR with one unit: search w1, w2, b over -3..3 in steps of 0.25 (15,625 lines)")
    for gate in ("AND", "OR", "NAND", "XOR"):
        print(f"  lines computing {gate:<4}: {separating_lines(TRUTH[gate])}")
    print("  None computes XOR, and none can: XOR needs b < 0 (for 0,0), w2 + b >= 0 and\n"
          "  w1 + b >= 0; adding those two gives w1 + w2 + b >= -b > 0, so (1,1) would fire.")

    print("\nXOR with two layers:")
    print(f"  note 004's network (h1 = x2 and not x1, h2 = x1 and not x2, y = h1 or h2): "
          f"{xor_network().predict(INPUTS)}")
    print(f"  note 003's AND(NAND, OR): {[xor_from_nand_and_or(x) for x in INPUTS]}  "
          f"(truth table {TRUTH['XOR']})")

    print("\nThe perceptron trick (notes 000 and 003): line 3 x1 + 4 x2 - 10 = 0, point (4, 5)")
    print(f"  the point scores 3*4 + 4*5 - 10 = {3 * 4 + 4 * 5 - 10} >= 0: on the positive "
          "side, but it belongs\n  to the negative class, so subtract rate * (4, 5, 1)")
    w, b = trick_000()
    print(f"  note 000: 2.6, 3.5, -10.1    microgrant: {w[0]:.10g}, {w[1]:.10g}, {b:.10g}")
    w, b = perceptron_trick([3, 4], -10, point=(4, 5), label=0, lr=1.0)
    print(f"  without a rate (note 003): -1, -1, -11    microgrant: {w[0]:g}, {w[1]:g}, {b:g}")
    print("  (note 003 prints the step as '3-(4.1)=2.6': it means 3 - 4 * 0.1.)")

    score = 2 * 7 + 1 * 6 - 18
    print(f"\nNote 003's admissions perceptron: 2*7 + 1*6 - 18 = {score} (note: 2) -> "
          f"prediction {int(Value(score).step().data)} (accepted)")


if __name__ == "__main__":
    main()
