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
"""

from __future__ import annotations

from .engine import Value
from .ops import _sigmoid

__all__ = ["neuron", "two_neurons", "note_004_factors", "TWO_NEURONS"]

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
    a1 = _sigmoid(z1)
    z2 = w2 * a1
    y_hat = _sigmoid(z2)
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
