"""08: forward propagation, a^(2) = sigmoid(Theta1 a^(1)^T), and combining two linear models.

From notes 004 and 003. Note 004 feeds three examples, each with a bias input x0 = 1, through
Theta1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]] and asks to "compute a^(2) and define the values
of biases". The biases are Theta1's first column (0.1 and 0.2), the weights on the constant
x0 = 1; the same layer is built here as a microgrant `nn.Layer` with those biases and weights,
and both ways agree with numpy.

Note 003 combines two linear models into a non-linear one: predictions .4 and .8, weighted 7
and 5, plus a bias of -3, then a sigmoid. It writes the sum as ".4 * 8 + .8 * 5 = 7.2" (a
weight of 8, not the 7 it set) and then sigma(4.2) = .9852. With the weight 7 the sum is
6.8 - 3 = 3.8 and sigma(3.8) = 0.9781; both are computed here, with backward's gradient of the
output with respect to each weight.

    python examples/08_forward_propagation.py
"""

import numpy as np

from microgrant import Value
from microgrant.nn import Layer

THETA1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]
A1 = [[1.0, 0.5403, -0.4161], [1.0, -0.9900, -0.6536], [1.0, 0.2837, 0.9602]]


def forward_by_hand(theta=THETA1, a1=A1) -> list[list[float]]:
    """a^(2)[k][i] = sigmoid(sum_j Theta1[k][j] a^(1)[i][j]), one Value graph per unit."""
    weights = [[Value(t) for t in row] for row in theta]
    return [[Value.sum([w * x for w, x in zip(unit, example)]).sigmoid().data
             for example in a1] for unit in weights]


def forward_by_layer(theta=THETA1, a1=A1) -> list[list[float]]:
    """The same with an nn.Layer: biases from Theta1's first column, weights from the rest."""
    layer = Layer(2, 2, activation="sigmoid", seed=0)
    for neuron, row in zip(layer.neurons, theta):
        neuron.b.data = row[0]
        for w, t in zip(neuron.w, row[1:]):
            w.data = t
    outputs = [layer(example[1:]) for example in a1]  # x0 = 1 is the bias's job now
    return [[outputs[i][k].data for i in range(len(a1))] for k in range(len(theta))]


def combine(weight1: float, weight2: float = 5.0, bias: float = -3.0, p1: float = 0.4,
            p2: float = 0.8):
    """Note 003: sigmoid(weight1 * p1 + weight2 * p2 + bias), with backward's gradients."""
    w1, w2, b = Value(weight1, label="w1"), Value(weight2, label="w2"), Value(bias, label="b")
    z = w1 * p1 + w2 * p2 + b
    out = z.sigmoid()
    out.backward()
    return z.data, out.data, {"w1": w1.grad, "w2": w2.grad, "b": b.grad}


def main() -> None:
    reference = 1.0 / (1.0 + np.exp(-(np.array(THETA1) @ np.array(A1).T)))
    by_hand, by_layer = forward_by_hand(), forward_by_layer()
    print("Note 004: a2 = Sigmoid(Theta1 x a1^T); rows are the 2 units, columns the 3 examples")
    for k in range(2):
        print(f"  unit {k + 1}: " + "  ".join(f"{v:.6f}" for v in by_hand[k]))
    gap_hand = float(np.max(np.abs(reference - np.array(by_hand))))
    gap_layer = float(np.max(np.abs(reference - np.array(by_layer))))
    print(f"  largest difference from numpy: Values by hand {gap_hand:.1e}, nn.Layer "
          f"{gap_layer:.1e}")
    print(f"  the biases: Theta1's first column, {[row[0] for row in THETA1]} (the weights on "
          "x0 = 1)")

    print("\nNote 003: combining two linear models (predictions .4 and .8, bias -3)")
    for weight, source in ((8.0, "the weight the note's arithmetic uses"),
                           (7.0, "the weight the note sets")):
        z, out, grads = combine(weight)
        print(f"  w1 = {weight:g} ({source}): z = {z:.4g}, sigma(z) = {out:.4f}; "
              f"d out/d(w1, w2, b) = {grads['w1']:.4f}, {grads['w2']:.4f}, {grads['b']:.4f}")
    print("  note 003: .4 * 8 + .8 * 5 - 3 = 4.2, sigma(4.2) = .9852: right for a weight of 8,"
          "\n  but the weight it set was 7 (which gives 3.8 and 0.9781)")


if __name__ == "__main__":
    main()
