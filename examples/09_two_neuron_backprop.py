"""09: note 004's backpropagation through two neurons, factor by factor, and its sign error.

From note 004. The network has two layers of one neuron each and no biases:

    z1 = w1 x1,  a1 = sigma(z1),  z2 = w2 a1,  y_hat = sigma(z2),
    J = -y log(y_hat) - (1 - y) log(1 - y_hat)          (binary cross-entropy, n = 1)

The note computes dJ/dw2 = dJ/dy_hat * dy_hat/dz2 * dz2/dw2 (its equation (1)) from
(2) dJ/dy_hat = y/y_hat + (1 - y)/(1 - y_hat), (3) dy_hat/dz2 = sigma(z2)(1 - sigma(z2)) and
(4) dz2/dw2 = a1, and leaves dJ/dw1 = dJ/dy_hat * dy_hat/dz2 * dz2/da1 * da1/dz1 * dz1/dw1 as an
exercise. This script evaluates every factor exactly as written, multiplies them, and puts
the products next to microgrant's ``backward()`` and a finite difference.

Equation (2) has a sign error: the derivative of -y log(y_hat) is -y/y_hat, so
dJ/dy_hat = -y/y_hat + (1 - y)/(1 - y_hat). Backward and the finite difference agree with the
corrected form; with y = 1 the note's version even has the wrong sign, so a gradient-descent
step with it makes J larger. (With y = 0 both forms agree, which is how such a slip survives.)

The graph is `microgrant.notes.two_neurons`, the one `microgrant demo` draws. Its forward and
backward graphs (SVG and PNG) and a page that steps through the backward pass are written to
the output folder.

    python examples/09_two_neuron_backprop.py [--x1 1.5 --y 1 --w1 0.8 --w2 -0.6] [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

from microgrant import Value, gradcheck, viz
from microgrant.notes import note_004_factors, two_neurons


def compare(x1: float, y: float, w1: float, w2: float) -> dict[str, float]:
    """The note's products, backward's gradients and finite differences, side by side."""
    v = two_neurons(x1, y, w1, w2)
    v["J"].backward()
    f = note_004_factors(x1, y, w1, w2)

    check = gradcheck(lambda a, b: _loss(x1, y, a, b),
                      [Value(w1, label="w1"), Value(w2, label="w2")])
    return {
        **f,
        "J": v["J"].data, "y_hat": v["y_hat"].data,
        "backward dJ/dŷ": v["y_hat"].grad, "backward dJ/dz2": v["z2"].grad,
        "backward dJ/da1": v["a1"].grad, "backward dJ/dz1": v["z1"].grad,
        "backward dJ/dw1": v["w1"].grad, "backward dJ/dw2": v["w2"].grad,
        "finite difference dJ/dw1": check.rows[0].numeric,
        "finite difference dJ/dw2": check.rows[1].numeric,
        "gradcheck ok": float(check.ok),
    }


def _loss(x1: float, y: float, w1: Value, w2: Value) -> Value:
    """J as a function of the two weights (for the finite-difference check)."""
    y_hat = (w2 * (w1 * x1).sigmoid()).sigmoid()
    return -y * y_hat.log() - (1 - y) * (1 - y_hat).log()


def one_step(x1, y, w1, w2, lr: float, which: str) -> float:
    """J after one step w <- w - lr dJ/dw, with the note's (2) or the corrected one."""
    f = note_004_factors(x1, y, w1, w2)
    new_w1 = w1 - lr * f[f"dJ/dw1, {which}"]
    new_w2 = w2 - lr * f[f"dJ/dw2, {which}"]
    return _loss(x1, y, Value(new_w1), Value(new_w2)).data


def render(J: Value, out: Path) -> list[Path]:
    """The forward and backward graphs (SVG, PNG) and the stepper page; returns the paths."""
    written = []
    for view in ("forward", "backward"):
        drawing = viz.draw(J, view=view)
        for fmt in ("svg", "png"):
            written.append(drawing.render(out / f"two_neurons_{view}.{fmt}"))
    written.append(viz.save_stepper(J, out / "two_neurons_steps.html",
                                    title="Note 004: backprop through two neurons"))
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x1", type=float, default=1.5)
    parser.add_argument("--y", type=float, default=1.0, help="the label, 0 or 1 (default 1)")
    parser.add_argument("--w1", type=float, default=0.8)
    parser.add_argument("--w2", type=float, default=-0.6)
    parser.add_argument("--lr", type=float, default=0.5, help="step size for the update demo")
    parser.add_argument("--out", help="folder for the pictures (default: a new temporary "
                                      "folder)")
    args = parser.parse_args(argv)
    x1, y, w1, w2 = args.x1, args.y, args.w1, args.w2

    r = compare(x1, y, w1, w2)
    print(f"Note 004's two-neuron network at x1 = {x1:g}, y = {y:g}, w1 = {w1:g}, w2 = {w2:g}")
    print(f"  y_hat = {r['y_hat']:.6f}, J = {r['J']:.6f}\n")
    print("Each factor as the note writes it:")
    for name in ("(2) dJ/dŷ, as printed", "(2) dJ/dŷ, corrected", "(3) dŷ/dz2",
                 "(4) dz2/dw2", "dz2/da1", "da1/dz1", "dz1/dw1"):
        print(f"  {name:<23} = {r[name]:+.6f}")
    print(f"  backward's dJ/dŷ (the grad on node ŷ) = {r['backward dJ/dŷ']:+.6f}"
          " -> agrees with the corrected (2)")

    print("\nThe products, against backward() and a finite difference:")
    print(f"  {'':<8} {'note (2) as printed':>20} {'(2) corrected':>14} {'backward':>11} "
          f"{'finite diff':>12}")
    for w in ("w2", "w1"):
        print(f"  dJ/d{w:<4} {r[f'dJ/d{w}, as printed']:>+20.6f} "
              f"{r[f'dJ/d{w}, corrected']:>+14.6f} {r[f'backward dJ/d{w}']:>+11.6f} "
              f"{r[f'finite difference dJ/d{w}']:>+12.6f}")
    agree = all(abs(r[f"dJ/d{w}, corrected"] - r[f"backward dJ/d{w}"]) < 1e-12
                for w in ("w1", "w2"))
    printed_agrees = all(abs(r[f"dJ/d{w}, as printed"] - r[f"backward dJ/d{w}"]) < 1e-9
                         for w in ("w1", "w2"))
    print(f"  the corrected chain {'equals' if agree else 'DIFFERS FROM'} backward; the chain as "
          f"printed {'also agrees (y = 0 hides the error)' if printed_agrees else 'does not'}; "
          f"gradcheck: {'ok' if r['gradcheck ok'] else 'FAILED'}")

    print(f"\nOne step of w <- w - {args.lr:g} dJ/dw (the note's update rule):")
    print(f"  J before: {r['J']:.6f}")
    for which, text in (("corrected", "with the corrected gradient"),
                        ("as printed", "with (2) as printed")):
        print(f"  {text + ':':<29} J = {one_step(x1, y, w1, w2, args.lr, which):.6f}")

    print("\nmicrogrant's own account (viz.explain):")
    v = two_neurons(x1, y, w1, w2)
    print(viz.explain(v["J"]))

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-09-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        written = render(v["J"], out)
    except viz.RenderError as error:
        print(f"\nno pictures: {error}")
    else:
        print("\nwrote:")
        for path in written:
            print(f"  {path}")


if __name__ == "__main__":
    main()
