"""06: softmax, maximum likelihood and cross-entropy, with the numbers of note 003.

From notes 000 and 003. Softmax turns scores into probabilities, P(class i) = e^z_i / sum_j
e^z_j; its gradient, dP_i/dz_j = P_i (delta_ij - P_j), comes out of backward. Note 003 scores
a model by the probabilities it gives four points of their own colour, P = .1, .6, .2, .7:
the likelihood is their product and the cross-entropy is -sum(ln P).

Where the note is wrong: it says .1 * .6 * .2 * .7 = .084; the product is 0.0084. Its
cross-entropy, 4.8, is right (4.7795), and equals -ln(0.0084), not -ln(.084) = 2.48: the two
numbers of the note cannot both be right.

The binary cross-entropy of 000 and 003, -sum(y ln p + (1 - y) ln(1 - p)), gives the same
4.7795 when P(red) = .1, .6, .8, .3 for two red (y = 1) and two blue (y = 0) points; backward
gives dCE/dp = -y/p + (1 - y)/(1 - p), the derivative note 004 gets with the wrong sign.

    python examples/06_softmax_cross_entropy.py
"""

import math

from microgrant import Value, gradcheck
from microgrant.losses import binary_cross_entropy, softmax

P_003 = [0.1, 0.6, 0.2, 0.7]
NOTE_LIKELIHOOD = 0.084
NOTE_CROSS_ENTROPY = 4.8


def note_softmax(scores):
    """Note 003's formula, as written: e^z_i / (e^z_1 + ... + e^z_n)."""
    exps = [z.exp() for z in scores]
    total = Value.sum(exps)
    return [e / total for e in exps]


def likelihood_and_cross_entropy(probabilities=P_003):
    """(product of P, -sum ln P, and d(cross-entropy)/dP_i by backward)."""
    ps = [Value(p, label=f"p{i + 1}") for i, p in enumerate(probabilities)]
    likelihood = ps[0]
    for p in ps[1:]:
        likelihood = likelihood * p
    cross_entropy = -Value.sum([p.log() for p in ps])
    cross_entropy.backward()
    return likelihood.data, cross_entropy.data, [p.grad for p in ps]


def softmax_jacobian(scores):
    """dP_i/dz_j by backward (one backward per output), and the formula P_i(delta_ij - P_j)."""
    by_backward, by_formula = [], []
    for i in range(len(scores)):
        zs = [Value(z) for z in scores]
        ps = softmax(zs)
        ps[i].backward()
        by_backward.append([z.grad for z in zs])
        p = [q.data for q in ps]
        by_formula.append([p[i] * ((i == j) - p[j]) for j in range(len(scores))])
    return by_backward, by_formula


def main() -> None:
    scores = [2.0, 1.0, 0.1]
    ours = [p.data for p in softmax([Value(z) for z in scores])]
    note = [p.data for p in note_softmax([Value(z) for z in scores])]
    print(f"Softmax of scores {scores}:")
    print(f"  note 003's formula: {[round(p, 6) for p in note]}")
    print(f"  microgrant (shifted by the max, stable for any scores): "
          f"{[round(p, 6) for p in ours]}, sum {sum(ours):.12g}")
    by_backward, by_formula = softmax_jacobian(scores)
    worst = max(abs(a - b) for ra, rb in zip(by_backward, by_formula) for a, b in zip(ra, rb))
    print("  dP_i/dz_j by backward:")
    for row in by_backward:
        print("    " + "  ".join(f"{v:+.6f}" for v in row))
    print(f"  largest difference from P_i (delta_ij - P_j): {worst:.1e}")
    check = gradcheck(lambda a, b, c: softmax([a, b, c])[0], scores)
    print(f"  finite differences agree: {bool(check)}")

    likelihood, ce, grads = likelihood_and_cross_entropy()
    print(f"\nNote 003's four points, P = {P_003}:")
    print(f"  likelihood .1 * .6 * .2 * .7: note {NOTE_LIKELIHOOD}, microgrant {likelihood:.6g}"
          f"  <- the note is off by a factor of 10")
    print(f"  cross-entropy -(ln .1 + ln .6 + ln .2 + ln .7): note {NOTE_CROSS_ENTROPY}, "
          f"microgrant {ce:.6g}")
    print(f"  -ln(likelihood) = {-math.log(likelihood):.6g} = the cross-entropy; "
          f"-ln(note's .084) = {-math.log(NOTE_LIKELIHOOD):.4g} is not")
    print(f"  d(cross-entropy)/dp_i by backward: {[round(g, 4) for g in grads]} (= -1/p_i)")

    y = [1, 1, 0, 0]
    p_red = [0.1, 0.6, 0.8, 0.3]
    ps = [Value(p, label=f"p{i + 1}") for i, p in enumerate(p_red)]
    bce = binary_cross_entropy(ps, y, reduction="sum")
    bce.backward()
    print(f"\nThe same points as binary labels: y = {y}, P(red) = {p_red}")
    print(f"  -sum(y ln p + (1 - y) ln(1 - p)) = {bce.data:.6g}")
    for p, yi in zip(ps, y):
        formula = -yi / p.data + (1 - yi) / (1 - p.data)
        print(f"  dCE/d{p.label}: backward {p.grad:+.4f}, -y/p + (1 - y)/(1 - p) "
              f"{formula:+.4f}")


if __name__ == "__main__":
    main()
