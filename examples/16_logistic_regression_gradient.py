"""16: exercise: note 000's logistic-regression gradient by hand, then by the engine.

Note 000 turns the perceptron into logistic regression, y_hat = sigma(w . x + b) with the
log-loss E = -y log(y_hat) - (1 - y) log(1 - y_hat), and derives the gradient of E in closed
form. Here you derive it yourself, at one point, with the chain rule.

The exercise: take w = [0.75, -0.5], b = 0.25 and the sample x = [1, 2] with y = 1 (the
numbers are chosen so that every step works out on paper). Compute the three gradients by
hand, factor by factor (dE/dy_hat, dy_hat/dz, dz/dw_j), then have them checked:

    python examples/16_logistic_regression_gradient.py --answer DW1 DW2 DB

A wrong answer is told which gradients differ, or that every sign is flipped. When you are
done (or stuck), --solution works the chain rule factor by factor in plain arithmetic, puts
the note's closed form and microgrant's backward beside it, and shows where one line of the
note's derivation goes astray: it writes d/dw_j sigma(Wx + b) as (Wx + b)(1 - (Wx + b)) x_j,
where the derivative of sigma is sigma(z)(1 - sigma(z)). Without arguments the script states
the exercise and waits for your answer.
"""

import argparse
import math

from microgrant import Value

W, B, X, Y = [0.75, -0.5], 0.25, [1.0, 2.0], 1.0


def by_hand(w=W, b=B, x=X, y=Y):
    """The chain rule in plain arithmetic: (factors, gradients [dE/dw1, dE/dw2, dE/db])."""
    z = sum(wj * xj for wj, xj in zip(w, x)) + b
    y_hat = 1.0 / (1.0 + math.exp(-z))
    dE_dyhat = -y / y_hat + (1 - y) / (1 - y_hat)
    dyhat_dz = y_hat * (1 - y_hat)
    factors = {"z": z, "y_hat": y_hat, "dE/dy_hat": dE_dyhat, "dy_hat/dz": dyhat_dz}
    return factors, [dE_dyhat * dyhat_dz * xj for xj in x] + [dE_dyhat * dyhat_dz]


def by_formula(w=W, b=B, x=X, y=Y):
    """Note 000's closed form, -(y - y_hat) x_j and -(y - y_hat)."""
    y_hat = 1.0 / (1.0 + math.exp(-(sum(wj * xj for wj, xj in zip(w, x)) + b)))
    return [-(y - y_hat) * xj for xj in x] + [-(y - y_hat)]


def by_engine(w=W, b=B, x=X, y=Y):
    """microgrant's backward over the same graph."""
    weights = [Value(wj, label=f"w{j + 1}") for j, wj in enumerate(w)]
    bias = Value(b, label="b")
    y_hat = (Value.sum([wj * xj for wj, xj in zip(weights, x)]) + bias).sigmoid()
    E = -y * y_hat.log() - (1 - y) * (1 - y_hat).log()
    E.backward()
    return [v.grad for v in weights] + [bias.grad]


def note_misprint(w=W, b=B, x=X):
    """d/dw_j y_hat as the note's line writes it, (Wx + b)(1 - (Wx + b)) x_j."""
    z = sum(wj * xj for wj, xj in zip(w, x)) + b
    return [z * (1 - z) * xj for xj in x]


def check_answer(answer):
    """What to tell a learner whose three gradients are ``answer``."""
    right = by_engine()
    wrong = [name for name, a, r in zip(("dE/dw1", "dE/dw2", "dE/db"), answer, right)
             if abs(a - r) > 1e-6]
    if not wrong:
        return "right: dE/dw1 = -0.5, dE/dw2 = -1, dE/db = -0.5"
    if all(abs(a + r) < 1e-6 for a, r in zip(answer, right)):
        return ("not yet: every sign is flipped; the gradient is -(y - y_hat) x_j, "
                "not (y - y_hat) x_j")
    return (f"not yet: {', '.join(wrong)} differ; multiply dE/dy_hat = -y/y_hat + "
            "(1 - y)/(1 - y_hat), dy_hat/dz = y_hat (1 - y_hat) and dz/dw_j = x_j; "
            "--solution shows them worked")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--answer", type=float, nargs=3, metavar=("DW1", "DW2", "DB"),
                       help="your dE/dw1, dE/dw2 and dE/db, to check")
    given.add_argument("--solution", action="store_true",
                       help="print the worked chain rule (try the exercise first)")
    parser.add_argument("--out", metavar="DIR", help="accepted as by the other examples; "
                        "this exercise only prints, so nothing is written there")
    args = parser.parse_args(argv)
    if args.out:
        print(f"nothing is written to {args.out}: this exercise only prints")
    if args.answer:
        print(check_answer(args.answer))
    elif args.solution:
        print_solution()
    else:
        print(problem())


def problem() -> str:
    """The exercise as the learner meets it: the numbers to start from, and how to answer."""
    return ("Note 000's exercise: logistic regression's gradient for one sample\n"
            "  y_hat = sigma(w . x + b),   E = -y log(y_hat) - (1 - y) log(1 - y_hat)\n"
            f"  w = {W}, b = {B}, x = {[int(v) for v in X]}, y = {Y:g}\n\n"
            "Compute dE/dw1, dE/dw2 and dE/db by hand, factor by factor\n"
            "(dE/dy_hat, dy_hat/dz, dz/dw_j), then have them checked:\n"
            "  python examples/16_logistic_regression_gradient.py --answer DW1 DW2 DB\n"
            "The worked chain rule, once you have tried: --solution")


def print_solution() -> None:
    """The chain rule factor by factor, the note's closed form and backward side by side."""
    factors, hand = by_hand()
    engine = by_engine()
    print(f"w = {W}, b = {B}, x = {X}, y = {Y:g}")
    print(f"  z = w . x + b = {factors['z']:g},  y_hat = sigma(z) = {factors['y_hat']:g}")
    print(f"  dE/dy_hat = -y/y_hat + (1 - y)/(1 - y_hat) = {factors['dE/dy_hat']:g}")
    print(f"  dy_hat/dz = y_hat (1 - y_hat) = {factors['dy_hat/dz']:g},  dz/dw_j = x_j")
    print("               by hand    note's -(y - y_hat) x_j    backward")
    for name, h, f, e in zip(("dE/dw1", "dE/dw2", "dE/db"), hand, by_formula(), engine):
        print(f"  {name:<8} {h:>12g} {f:>20g} {e:>18g}")
    agree = all(abs(h - e) < 1e-12 for h, e in zip(hand, engine))
    print("  all three agree" if agree else "  THEY DISAGREE")
    misprint = ", ".join(f"{v:g}" for v in note_misprint())
    right = ", ".join(f"{factors['dy_hat/dz'] * xj:g}" for xj in X)
    print(f"\nThe note's line (Wx + b)(1 - (Wx + b)) x_j gives dy_hat/dw = [{misprint}] here;"
          f"\n  sigma(z)(1 - sigma(z)) x_j gives [{right}]: the note's next line uses the "
          "latter.")


if __name__ == "__main__":
    main()
