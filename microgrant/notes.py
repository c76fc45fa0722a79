"""The notes' worked computations, built as labelled graphs ready to backprop and draw.

Two graphs come back again and again in microgrant's pictures, command line and examples:

* `neuron`: the single tanh neuron of micrograd's introduction,
  ``o = tanh(x1*w1 + x2*w2 + b)``, whose bias makes every gradient a round number;
* `two_neurons`: note 004's backprop example, two layers of one neuron each and no bias,
  ``z1 = w1 x1, a1 = σ(z1), z2 = w2 a1, ŷ = σ(z2)`` with binary cross-entropy
  ``J = -y log ŷ - (1 - y) log(1 - ŷ)``.

For the second, `note_004_factors` evaluates each factor of the note's chain-rule equations
exactly as the note prints them, and as corrected: the note's equation (2) has a sign error,
and ``backward()`` is the referee.

One training recipe recurs too: `train_xor`, note 001's XOR problem learned by a network with
one hidden layer, which the demo, example 10 and the README's pictures all show.
"""

from __future__ import annotations

from typing import NamedTuple

from .data import logic_gate
from .engine import Value
from .nn import MLP
from .ops import sigmoid
from .optim import Adam
from .train import History, accuracy, fit

__all__ = ["neuron", "two_neurons", "note_004_factors", "note_004_table", "TWO_NEURONS",
           "train_xor", "TrainedXor"]

TWO_NEURONS = {"x1": 1.5, "y": 1.0, "w1": 0.8, "w2": -0.6}
"""The numbers microgrant uses for note 004's network (the note itself gives none)."""


def _named(value: Value, label: str) -> Value:
    value.label = label
    return value


def neuron() -> Value:
    """micrograd's neuron, every value labelled: returns ``o`` (call ``o.backward()``).

    x1 = 2, x2 = 0, w1 = -3, w2 = 1, and b = 6.8813735870195432, chosen so that
    n = x1*w1 + x2*w2 + b = 0.8814, o = tanh(n) = 0.7071 and do/dn = 1 - o^2 = 0.5.

    >>> o = neuron()
    >>> o.backward()
    >>> round(o.data, 4), [round(v.grad, 4) for v in o.inputs[0].inputs]
    (0.7071, [0.5, 0.5])
    """
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = _named(x1 * w1, "x1*w1")
    x2w2 = _named(x2 * w2, "x2*w2")
    total = _named(x1w1 + x2w2, "x1*w1 + x2*w2")
    n = _named(total + b, "n")
    return _named(n.tanh(), "o")


def two_neurons(x1: float = TWO_NEURONS["x1"], y: float = TWO_NEURONS["y"],
                w1: float = TWO_NEURONS["w1"], w2: float = TWO_NEURONS["w2"]) -> dict:
    """Note 004's network and loss, every value labelled; ``x1`` and ``y`` are constants.

    Returns:
        The Values by name: ``x1, y, w1, w2, z1, a1, z2, y_hat, J`` (no backward run yet).

    >>> v = two_neurons()
    >>> v["J"].backward()
    >>> round(v["w2"].grad, 5), round(v["w1"].grad, 5)
    (-0.47132, 0.09819)
    """
    v = {"x1": Value(x1, label="x1", requires_grad=False),
         "y": Value(y, label="y", requires_grad=False),
         "w1": Value(w1, label="w1"), "w2": Value(w2, label="w2")}
    v["z1"] = _named(v["w1"] * v["x1"], "z1")
    v["a1"] = _named(v["z1"].sigmoid(), "a1")
    v["z2"] = _named(v["w2"] * v["a1"], "z2")
    y_hat = v["y_hat"] = _named(v["z2"].sigmoid(), "ŷ")
    # Binary cross-entropy, each piece named so the pictures and explanations read like the
    # note: J = -y log ŷ - (1 - y) log(1 - ŷ).
    log_y_hat = _named(y_hat.log(), "log ŷ")
    one_minus = _named(1 - y_hat, "1 - ŷ")
    log_one_minus = _named(one_minus.log(), "log(1 - ŷ)")
    positive = _named(_named(-v["y"], "-y") * log_y_hat, "-y log ŷ")
    negative = _named(_named(1 - v["y"], "1 - y") * log_one_minus, "(1 - y) log(1 - ŷ)")
    v["J"] = _named(positive - negative, "J")
    return v


def note_004_factors(x1: float = TWO_NEURONS["x1"], y: float = TWO_NEURONS["y"],
                     w1: float = TWO_NEURONS["w1"], w2: float = TWO_NEURONS["w2"]) -> dict:
    """Each factor of note 004's chain rule as printed, equation (2) also corrected.

    dJ/dw2 = dJ/dŷ · dŷ/dz2 · dz2/dw2 (the note's (1) to (4)), and
    dJ/dw1 = dJ/dŷ · dŷ/dz2 · dz2/da1 · da1/dz1 · dz1/dw1.  The note prints (2) as
    dJ/dŷ = y/ŷ + (1 - y)/(1 - ŷ); the derivative of -y log ŷ is -y/ŷ, so the correct form is
    -y/ŷ + (1 - y)/(1 - ŷ).  With y = 0 the two agree, which is how such a slip survives.

    Returns:
        The factors by name, and the products ``dJ/dw2`` and ``dJ/dw1`` with each form of (2).

    >>> f = note_004_factors()
    >>> round(f["dJ/dw2, as printed"], 5), round(f["dJ/dw2, corrected"], 5)
    (0.47132, -0.47132)
    """
    z1 = w1 * x1
    a1 = sigmoid(z1)
    z2 = w2 * a1
    y_hat = sigmoid(z2)
    f = {
        "(2) dJ/dŷ, as printed": y / y_hat + (1 - y) / (1 - y_hat),
        "(2) dJ/dŷ, corrected": -y / y_hat + (1 - y) / (1 - y_hat),
        "(3) dŷ/dz2": y_hat * (1 - y_hat),  # the note's 1/(1+e^-z2) (1 - 1/(1+e^-z2))
        "(4) dz2/dw2": a1,
        "dz2/da1": w2,
        "da1/dz1": a1 * (1 - a1),
        "dz1/dw1": x1,
    }
    for which in ("as printed", "corrected"):
        d_y_hat = f[f"(2) dJ/dŷ, {which}"]
        f[f"dJ/dw2, {which}"] = d_y_hat * f["(3) dŷ/dz2"] * f["(4) dz2/dw2"]
        f[f"dJ/dw1, {which}"] = (d_y_hat * f["(3) dŷ/dz2"] * f["dz2/da1"] * f["da1/dz1"]
                                 * f["dz1/dw1"])
    return f



def note_004_table(x1: float = TWO_NEURONS["x1"], y: float = TWO_NEURONS["y"],
                   w1: float = TWO_NEURONS["w1"], w2: float = TWO_NEURONS["w2"]) -> str:
    """Note 004's chain rule factor by factor, as printed and corrected, next to backward's.

    The text ``microgrant chain-rule`` prints after the derivation: every factor of
    `note_004_factors`, the two products for each weight, the gradient ``backward()`` puts
    on it, and a last line that says whether the printed equation (2) is wrong at this point.

    >>> print(note_004_table(y=0.0).splitlines()[-1])
      With y = 0 both forms of (2) agree; set y = 1 to see the note's sign error.
    """
    v = two_neurons(x1, y, w1, w2)
    v["J"].backward()
    f = note_004_factors(x1, y, w1, w2)
    printed, corrected = f["(2) dJ/dŷ, as printed"], f["(2) dJ/dŷ, corrected"]
    lines = [
        "The note's chain rule, factor by factor:",
        f"  (2) dJ/dŷ as printed, y/ŷ + (1-y)/(1-ŷ)    = {printed:+.6g}",
        f"  (2) corrected,        -y/ŷ + (1-y)/(1-ŷ)   = {corrected:+.6g}   "
        f"backward: {v['y_hat'].grad:+.6g}",
        f"  (3) dŷ/dz2 = σ(z2)(1 - σ(z2))             = {f['(3) dŷ/dz2']:+.6g}",
        f"  (4) dz2/dw2 = a1                          = {f['(4) dz2/dw2']:+.6g}",
        f"      dz2/da1 = w2, da1/dz1 = σ'(z1), dz1/dw1 = x1: "
        f"{f['dz2/da1']:+.6g}, {f['da1/dz1']:+.6g}, {f['dz1/dw1']:+.6g}",
        f"  {'':<7} {'(2) as printed':>15} {'(2) corrected':>15} {'backward':>12}",
    ]
    for w in ("w2", "w1"):
        lines.append(f"  dJ/d{w:<3} {f[f'dJ/d{w}, as printed']:>+15.6g} "
                     f"{f[f'dJ/d{w}, corrected']:>+15.6g} {v[w].grad:>+12.6g}")
    if abs(printed - corrected) > 1e-12 * max(1.0, abs(corrected)):
        lines.append("  Equation (2) as printed has a sign error (d/dŷ of -y log ŷ is -y/ŷ); "
                     "backward agrees with the corrected form.")
    else:
        lines.append("  With y = 0 both forms of (2) agree; set y = 1 to see the note's sign "
                     "error.")
    return "\n".join(lines)


class TrainedXor(NamedTuple):
    """What `train_xor` returns: the network, its training history and its final accuracy."""

    model: MLP
    history: History
    accuracy: float


def train_xor(hidden: int = 4, epochs: int = 300, seed: int = 1, lr: float = 0.1) -> TrainedXor:
    """A 2 -> ``hidden`` (tanh) -> 1 network trained on XOR by backprop.

    The recipe the pictures use: Adam on the binary cross-entropy of the output logit.  With
    one hidden neuron the network still draws one straight line, so 3 of the 4 points is the
    best it can do; two or more can bend the boundary around the points.

    Args:
        hidden: neurons in the hidden layer.
        epochs: passes over the four points.
        seed: seeds the initial weights.
        lr: Adam's learning rate.

    Returns:
        ``(model, history, accuracy)``, accuracy measured after the last step.

    >>> model, history, acc = train_xor(3, epochs=200)
    >>> acc, history.loss[-1] < history.loss[0]
    (1.0, True)
    """
    X, y = logic_gate("xor")
    model = MLP(2, [hidden, 1], activation="tanh", seed=seed)
    history = fit(model, X, y, loss="bce_logits", optimizer=Adam(model.parameters(), lr=lr),
                  epochs=epochs, verbose=False)
    return TrainedXor(model, history, accuracy(model, X, y, loss="bce_logits"))
