"""14: exercise: note 004's perceptron rule by hand, and your answer checked.

Note 004 asks you to simulate one pass of the perceptron learning rule over three samples,
top to bottom, with the rate r = 0.1, the weights W = [0, 0, 0] and the bias b = 0.5:

    x = [3, 2, 1] -> y = 0,   x = [1, 1, 1] -> y = 1,   x = [1, 2, 3] -> y = 1
    error = y - g(W.x + b),   W = W + r * error * x,   b = b + r * error

where g is the Heaviside step (g(z) = 1 when z >= 0, else 0). Work it on paper first, one
sample at a time, then give your final W and b to have them checked:

    python examples/14_perceptron_exercise.py --answer W1 W2 W3 B

A wrong answer is compared with the usual slips (the error taken as g - y, the x left out of
the weight update, the bias left out of the score) and the one it matches is named. When you
are done (or stuck), --solution prints the worked pass, one line per sample as on paper, in
plain arithmetic, checked against microgrant's `Perceptron`, and where each slip leads.
Without arguments the script states the exercise and waits for your answer.
"""

import argparse

from microgrant.classic import Perceptron

X = [[3.0, 2.0, 1.0], [1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]
Y = [0, 1, 1]
RATE, W0, B0 = 0.1, [0.0, 0.0, 0.0], 0.5


def one_pass(error_sign=1, use_x=True, use_bias=True):
    """The pass by hand; the flags make the usual slips. Returns (lines, W, b), rounded."""
    w, b, lines = list(W0), B0, []
    for x, y in zip(X, Y):
        z = sum(wi * xi for wi, xi in zip(w, x)) + (b if use_bias else 0.0)
        g = 1 if z >= 0 else 0
        error = error_sign * (y - g)
        w = [round(wi + RATE * error * (xi if use_x else 1.0), 10) for wi, xi in zip(w, x)]
        b = round(b + RATE * error, 10)
        lines.append(f"x = {x}, y = {y}: W.x + b = {round(z, 10):g}, g = {g}, "
                     f"error = {error:+d} -> W = {w}, b = {b:g}")
    return lines, w, b


SLIPS = {
    "the error taken as g - y instead of y - g": {"error_sign": -1},
    "the weight update without x (W = W + r * error)": {"use_x": False},
    "the score without the bias (W.x instead of W.x + b)": {"use_bias": False},
}


def check_answer(weights, bias):
    """What to tell a learner whose final answer is ``weights`` and ``bias``."""
    _, w, b = one_pass()
    if _same(weights, w) and abs(bias - b) < 1e-9:
        return "right: W = [-0.2, -0.1, 0.0], b = 0.5 after one pass"
    for slip, flags in SLIPS.items():
        _, sw, sb = one_pass(**flags)
        if _same(weights, sw) and abs(bias - sb) < 1e-9:
            return f"not yet: that is the answer you get with {slip}"
    return ("not yet: redo the pass one sample at a time (W.x + b, then g, then the error); "
            "--solution shows it worked")


def _same(a, b):
    return len(a) == len(b) and all(abs(p - q) < 1e-9 for p, q in zip(a, b))


def checked_by_microgrant():
    """The pass by microgrant's Perceptron, to hold the hand computation to."""
    p = Perceptron(3, weights=list(W0), bias=B0)
    for x, y in zip(X, Y):
        p.step(x, y, lr=RATE)
    return [round(w, 10) for w in p.weights], round(p.bias, 10)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--answer", type=float, nargs=4, metavar=("W1", "W2", "W3", "B"),
                       help="your final weights and bias, to check")
    given.add_argument("--solution", action="store_true",
                       help="print the worked pass (try the exercise first)")
    parser.add_argument("--out", metavar="DIR", help="accepted as by the other examples; "
                        "this exercise only prints, so nothing is written there")
    args = parser.parse_args(argv)
    if args.out:
        print(f"nothing is written to {args.out}: this exercise only prints")
    if args.answer:
        print(check_answer(args.answer[:3], args.answer[3]))
    elif args.solution:
        print_solution()
    else:
        print(problem())


def problem() -> str:
    """The exercise as the learner meets it: the numbers to start from, and how to answer."""
    samples = ",   ".join(f"x = {[int(v) for v in x]} -> y = {y}" for x, y in zip(X, Y))
    return (f"Note 004's exercise: one pass of the perceptron rule, top to bottom, from "
            f"r = {RATE}, W = {[int(w) for w in W0]}, b = {B0}\n"
            f"  {samples}\n"
            "  error = y - g(W.x + b),   W = W + r * error * x,   b = b + r * error\n"
            "  (g(z) = 1 when z >= 0, else 0)\n\n"
            "Work it on paper, then give your final W and b to have them checked:\n"
            "  python examples/14_perceptron_exercise.py --answer W1 W2 W3 B\n"
            "The worked pass, once you have tried: --solution")


def print_solution() -> None:
    """The worked pass, microgrant's Perceptron beside it, and where each slip leads."""
    print(f"Note 004's exercise: r = {RATE}, W = {W0}, b = {B0}, one pass, top to bottom")
    lines, w, b = one_pass()
    for number, line in enumerate(lines, 1):
        print(f"  sample {number}: {line}")
    print(f"  by hand: W = {w}, b = {b:g}")
    machine_w, machine_b = checked_by_microgrant()
    print(f"  microgrant's Perceptron: W = {machine_w}, b = {machine_b:g}")
    print("  they agree" if (w, b) == (machine_w, machine_b) else "  THEY DISAGREE")
    print("\nThe usual slips, and where they lead:")
    for slip, flags in SLIPS.items():
        _, sw, sb = one_pass(**flags)
        print(f"  {slip}: W = {sw}, b = {sb:g}")


if __name__ == "__main__":
    main()
