"""The ``microgrant`` command: backprop from the terminal, with pictures.

Where this sits: the command is a front door to the rest of the package. It builds graphs
from numbers or from a typed expression (`microgrant.expr`), runs `Value.backward`, prints the
chain rule step by step (`microgrant.viz.explain`) and writes the forward and backward graphs,
a page that steps through backprop, and plots (`microgrant.plot`).

    microgrant demo                      # the whole tour on built-in numbers
    microgrant chain-rule --x1 2 --y 0   # note 004's two-neuron derivation, any numbers
    microgrant graph "tanh(x*w + b)" x=2 w=-0.5 b=0.25
    microgrant train moons --hidden 16,16 --epochs 100

Exit status: 0 on success; 2 for a usage error (a bad option, a malformed expression, a
missing or malformed value; the message goes to stderr, with a caret under the offending
character of an expression); 1 when something fails while running, such as log of a
negative number (a one-line message on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from pathlib import Path

from .notes import TWO_NEURONS

__all__ = ["main", "DATASETS", "UsageError"]

#: The datasets ``microgrant train`` knows, with what each one is.
DATASETS = {
    "xor": "the XOR truth table (4 points; no line separates it)",
    "and": "the AND truth table (4 points)",
    "or": "the OR truth table (4 points)",
    "nand": "the NAND truth table (4 points)",
    "moons": "two interleaving half moons (micrograd's demo)",
    "circles": "a small circle inside a large one",
    "blobs": "two Gaussian clusters",
    "admissions": "note 003's students: test score and grades, accepted or not",
}

OPTIMIZERS = ("sgd", "adam", "rmsprop")
DEFAULT_LR = {"sgd": 0.1, "adam": 0.05, "rmsprop": 0.01}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class UsageError(Exception):
    """Bad input from the command line: reported with the usage line, exit status 2.

    The checks that argparse cannot make (a ``name=value`` pair, an expression's names) raise
    it; `main` catches it, prints the command's usage and the message on stderr, and returns 2.

    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as stderr:
    ...     status = main(["graph", "x * w", "x=2", "w"])
    >>> status, stderr.getvalue().splitlines()[-1]
    (2, "microgrant graph: error: expected name=value, such as x=2.5; got 'w'")
    """


# ---- argument types -------------------------------------------------------------------------

def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _sizes(text: str) -> list[int]:
    if text.strip() in ("", "none"):
        return []  # no hidden layer: logistic regression
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected layer sizes separated by commas, such as 8,8; got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"every layer size must be >= 1; got {text!r}")
    return sizes


def _assignments(items: list[str]) -> dict[str, float]:
    """``["x=2", "w=-0.5"]`` -> ``{"x": 2.0, "w": -0.5}``; UsageError for anything else."""
    from .expr import FUNCTIONS

    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise UsageError(f"expected name=value, such as x=2.5; got {item!r}")
        if name in FUNCTIONS:
            raise UsageError(f"{name!r} is a function, so it cannot be given a value")
        if name in values:
            raise UsageError(f"{name!r} is given a value twice")
        try:
            values[name] = _finite(text.strip())
        except argparse.ArgumentTypeError as error:
            raise UsageError(f"the value of {name}: {error}") from None
    return values


# ---- shared pieces --------------------------------------------------------------------------

def _out_dir(path: str) -> Path:
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_graphs(root, folder: Path, stem: str, title: str, digits: int = 4) -> list[Path]:
    """Forward and backward graphs as SVG and PNG, and the stepper page."""
    from . import viz

    written = []
    for view in ("forward", "backward"):
        drawing = viz.draw(root, view=view, digits=digits)
        if drawing.omitted:
            print(f"note: the {view} graph shows the values nearest the output; "
                  f"{drawing.omitted} were left out")
        for fmt in ("svg", "png"):
            written.append(drawing.render(folder / f"{stem}_{view}.{fmt}"))
    written.append(viz.save_stepper(root, folder / f"{stem}_steps.html", digits=digits,
                                    title=title))
    return written


def _list_written(paths: list[Path]) -> None:
    print("\nwrote:")
    for path in paths:
        print(f"  {path}  ({path.stat().st_size:,} bytes)")


def _print_chain_rule(x1: float, y: float, w1: float, w2: float):
    """Prints the derivation with the note's factors next to backward's; returns J."""
    from . import viz
    from .notes import note_004_factors, two_neurons

    v = two_neurons(x1, y, w1, w2)
    J = v["J"]
    J.backward()
    f = note_004_factors(x1, y, w1, w2)
    printed, corrected = f["(2) dJ/dŷ, as printed"], f["(2) dJ/dŷ, corrected"]
    print("Note 004: two layers, one neuron each, no bias, binary cross-entropy")
    print(f"  x1 = {x1:g}, y = {y:g}, w1 = {w1:g}, w2 = {w2:g}")
    print("  z1 = w1 x1,  a1 = σ(z1),  z2 = w2 a1,  ŷ = σ(z2),\n"
          "  J = -y log ŷ - (1 - y) log(1 - ŷ)")
    print()
    print(viz.explain(J))
    print()
    print("The note's chain rule, factor by factor:")
    print(f"  (2) dJ/dŷ as printed, y/ŷ + (1-y)/(1-ŷ)    = {printed:+.6g}")
    print(f"  (2) corrected,        -y/ŷ + (1-y)/(1-ŷ)   = {corrected:+.6g}   "
          f"backward: {v['y_hat'].grad:+.6g}")
    print(f"  (3) dŷ/dz2 = σ(z2)(1 - σ(z2))             = {f['(3) dŷ/dz2']:+.6g}")
    print(f"  (4) dz2/dw2 = a1                          = {f['(4) dz2/dw2']:+.6g}")
    print(f"      dz2/da1 = w2, da1/dz1 = σ'(z1), dz1/dw1 = x1: "
          f"{f['dz2/da1']:+.6g}, {f['da1/dz1']:+.6g}, {f['dz1/dw1']:+.6g}")
    print(f"  {'':<7} {'(2) as printed':>15} {'(2) corrected':>15} {'backward':>12}")
    for w in ("w2", "w1"):
        print(f"  dJ/d{w:<3} {f[f'dJ/d{w}, as printed']:>+15.6g} "
              f"{f[f'dJ/d{w}, corrected']:>+15.6g} {v[w].grad:>+12.6g}")
    if abs(printed - corrected) > 1e-12 * max(1.0, abs(corrected)):
        print("  Equation (2) as printed has a sign error (d/dŷ of -y log ŷ is -y/ŷ); "
              "backward agrees with the corrected form.")
    else:
        print("  With y = 0 both forms of (2) agree; set y = 1 to see the note's sign error.")
    return J


def _plot_or_note(make_plot, what: str):
    """Runs a plotting call; if matplotlib is missing, says so and carries on."""
    try:
        return make_plot()
    except ImportError as error:
        print(f"skipped {what}: {error}", file=sys.stderr)
        return None


# ---- commands -------------------------------------------------------------------------------

def _cmd_demo(args) -> int:
    from . import plot
    from .data import logic_gate
    from .nn import MLP
    from .optim import Adam
    from .train import accuracy, fit

    started = time.perf_counter()
    folder = _out_dir(args.out)
    J = _print_chain_rule(**TWO_NEURONS)
    written = _write_graphs(J, folder, "two_neurons", "Note 004: backprop through two neurons")

    print("\nTraining a 2 -> 4 (tanh) -> 1 network on XOR, the problem one neuron cannot solve")
    X, y = logic_gate("xor")
    model = MLP(2, [4, 1], activation="tanh", seed=1)
    history = fit(model, X, y, loss="bce_logits", optimizer=Adam(model.parameters(), lr=0.1),
                  epochs=300, verbose=False)
    acc = accuracy(model, X, y, loss="bce_logits")
    print(f"  loss {history.loss[0]:.3f} -> {history.loss[-1]:.4f}, accuracy {acc:.0%}")
    path = folder / "xor_boundary.png"
    if _plot_or_note(lambda: plot.decision_boundary(
            model, X, y, title=f"XOR, 4 hidden tanh neurons: {acc:.0%}", resolution=60,
            path=path), "the XOR decision boundary"):
        written.append(path)
    print(f"\ndone in {time.perf_counter() - started:.1f} s; open "
          f"{folder / 'two_neurons_steps.html'} to step through backprop")
    _list_written(written)
    return 0


def _cmd_chain_rule(args) -> int:
    if not 0.0 <= args.y <= 1.0:
        raise UsageError(f"--y is a label (or a probability) in [0, 1]; got {args.y:g}")
    J = _print_chain_rule(args.x1, args.y, args.w1, args.w2)
    if args.out:
        _list_written(_write_graphs(J, _out_dir(args.out), "two_neurons",
                                    "Note 004: backprop through two neurons"))
    return 0


def _cmd_graph(args) -> int:
    from . import viz
    from .expr import ExpressionError, parse

    values = _assignments(args.values)
    try:
        expression = parse(args.expression)
    except ExpressionError as error:
        raise UsageError(str(error)) from None
    if not expression.names:
        raise UsageError(f"{args.expression!r} has no names, so there is nothing to "
                         "differentiate; write it with names and give them values, "
                         "such as x*x x=3")
    unused = [name for name in values if name not in expression.names]
    if unused:
        raise UsageError(f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not in "
                         f"the expression (its names: {', '.join(expression.names)})")
    try:
        root, leaves = expression.build(values)
    except ExpressionError as error:
        raise UsageError(str(error)) from None
    if root.inputs and not root.label:
        # The output's name in "df/dx": the first that no variable of the expression uses.
        root.label = next(name for name in ("f", "out", "result", "output", "y_out")
                          if name not in leaves)
    root.backward()
    name = root.label
    print(f"{name} = {args.expression} = {root.data:.10g}")
    for leaf_name, leaf in leaves.items():
        print(f"  d{name}/d{leaf_name} = {leaf.grad:.10g}")
    print()
    print(viz.explain(root, digits=args.digits))
    if root.inputs:
        _list_written(_write_graphs(root, _out_dir(args.out), "graph",
                                    f"Backprop through {args.expression}", args.digits))
    return 0


def _dataset(name: str, n: int, seed: int):
    from . import data

    if name in data.GATES:
        return data.logic_gate(name)
    if name == "blobs":
        return data.blobs(n=n, centers=[[-1.5, -1.0], [1.5, 1.0]], seed=seed)
    return getattr(data, name)(n=n, seed=seed)


def _cmd_train(args) -> int:
    from . import plot
    from .nn import MLP
    from .optim import SGD, Adam, RMSProp
    from .train import accuracy, fit

    X, y = _dataset(args.dataset, args.n, args.seed)
    if args.dataset == "admissions":
        X = (X - 5.0) / 2.5  # scores 0..10 -> about -2..2: one learning rate suits both
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    model = MLP(2, [*args.hidden, 1], activation=args.activation, seed=args.seed)
    optimizer = {"sgd": SGD, "adam": Adam, "rmsprop": RMSProp}[args.optimizer](
        model.parameters(), lr=lr)
    print(f"{model} on {args.dataset} ({len(y)} points), {args.optimizer} lr {lr:g}, "
          f"{args.epochs} epochs, binary cross-entropy on the output logit")
    history = fit(model, X, y, loss="bce_logits", optimizer=optimizer, epochs=args.epochs,
                  verbose=True, stream=sys.stdout)
    if not math.isfinite(history.loss[-1]):
        raise RuntimeError(f"training diverged (loss {history.loss[-1]}); try a smaller --lr")
    acc = accuracy(model, X, y, loss="bce_logits")
    # The progress lines measure each epoch before its step; this is the trained model.
    print(f"accuracy after training: {acc:.1%} ({round(acc * len(y))} of {len(y)} points)")
    folder = _out_dir(args.out)
    boundary = folder / f"{args.dataset}_boundary.png"
    curves = folder / f"{args.dataset}_curves.png"
    written = []
    if _plot_or_note(lambda: plot.decision_boundary(
            model, X, y, title=f"{args.dataset}: {acc:.0%}", path=boundary),
            "the decision-boundary plot"):
        written.append(boundary)
        plot.training_curves(history.loss, history.accuracy, path=curves)
        written.append(curves)
    if written:
        _list_written(written)
    return 0


# ---- the parser -----------------------------------------------------------------------------

def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    from . import __version__
    from .expr import FUNCTIONS

    parser = argparse.ArgumentParser(
        prog="microgrant",
        description="See backprop: build a graph, run the chain rule, draw every step.")
    parser.add_argument("--version", action="version", version=f"microgrant {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="the tour: note 004's derivation, its graphs, a trained XOR net",
        description="Runs note 004's two-neuron backprop step by step, writes its forward "
                    "and backward graphs (SVG, PNG) and a page that steps through the "
                    "backward pass, then trains a small network on XOR and plots its "
                    "decision boundary.")
    demo.add_argument("--out", default="microgrant-demo", metavar="DIR",
                      help="folder for the files (default: ./microgrant-demo)")
    demo.set_defaults(run=_cmd_demo)

    chain = commands.add_parser(
        "chain-rule", help="note 004's two-neuron derivation for any numbers",
        description="z1 = w1 x1, a1 = σ(z1), z2 = w2 a1, ŷ = σ(z2), J = binary "
                    "cross-entropy: prints the forward pass, every chain-rule step, and the "
                    "note's factors (with its sign error) next to backward's gradients.")
    for name, default in TWO_NEURONS.items():
        chain.add_argument(f"--{name}", type=_finite, default=default,
                           help=f"(default {default:g})")
    chain.add_argument("--out", metavar="DIR", help="also write the graphs to this folder")
    chain.set_defaults(run=_cmd_chain_rule)

    graph = commands.add_parser(
        "graph", help="differentiate an expression you type, and draw its graphs",
        description="Parses EXPR (numbers, names, + - * / **, parentheses, and the "
                    f"functions {', '.join(FUNCTIONS)}), gives each name its value, runs "
                    "backward, explains every step and writes the graphs. An expression "
                    "that starts with '-' goes after '--'.",
        epilog='example: microgrant graph "tanh(x*w + b)" x=2 w=-0.5 b=0.25')
    graph.add_argument("expression", metavar="EXPR", help='such as "tanh(x*w + b)"')
    graph.add_argument("values", nargs="*", metavar="NAME=VALUE",
                       help="a value for every name in EXPR")
    graph.add_argument("--out", default="microgrant-graph", metavar="DIR",
                       help="folder for the files (default: ./microgrant-graph)")
    graph.add_argument("--digits", type=_count, default=4,
                       help="significant digits in the explanation and the pictures "
                            "(default 4)")
    graph.set_defaults(run=_cmd_graph)

    train = commands.add_parser(
        "train", help="train an MLP on a toy dataset and plot its decision boundary",
        description="Trains a multi-layer perceptron by backprop on a 2-D dataset, showing "
                    "progress, then prints the accuracy and plots the decision boundary and "
                    "the training curves.",
        epilog="datasets: " + "; ".join(f"{k}: {v}" for k, v in DATASETS.items()))
    train.add_argument("dataset", choices=list(DATASETS), metavar="DATASET",
                       help=f"one of {', '.join(DATASETS)}")
    train.add_argument("--hidden", type=_sizes, default=[8, 8], metavar="SIZES",
                       help="hidden layer sizes, comma-separated (default 8,8)")
    train.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                       help="hidden-layer activation (default relu)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                       help="default adam")
    train.add_argument("--lr", type=_positive, default=None,
                       help="learning rate (default: sgd 0.1, adam 0.05, rmsprop 0.01)")
    train.add_argument("--epochs", type=_count, default=200, help="default 200")
    train.add_argument("--n", type=_count, default=100,
                       help="points to generate (not for the logic gates; default 100)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed for the data and the weights (default 0)")
    train.add_argument("--out", default="microgrant-train", metavar="DIR",
                       help="folder for the plots (default: ./microgrant-train)")
    train.set_defaults(run=_cmd_train)
    return parser, {"demo": demo, "chain-rule": chain, "graph": graph, "train": train}


def _expression_last(argv: list[str]) -> list[str]:
    """``graph``'s arguments with its options first and the rest after ``--``.

    An expression such as ``-x*x`` starts like an option, and argparse would refuse it;
    after ``--`` every word is taken as the expression or a ``name=value``.
    """
    if "graph" not in argv:
        return argv
    at = argv.index("graph") + 1
    options, positional = [], []
    words = iter(argv[at:])
    for word in words:
        if word == "--":
            positional.extend(words)
        elif word in ("--out", "--digits"):
            options += [word, next(words, "")]
        elif word.startswith(("--out=", "--digits=")) or word in ("-h", "--help"):
            options.append(word)
        else:
            positional.append(word)
    return argv[:at] + options + ["--"] + positional


def main(argv: list[str] | None = None) -> int:
    """Runs the ``microgrant`` command with ``argv`` (default: the process's arguments).

    Returns:
        The exit status: 0 on success, 2 for a usage error, 1 for an error while running.

    >>> main(["graph", "x * y", "x=2"])     # no value for y: a usage error, said on stderr
    2
    """
    parser, commands = _parser()
    argv = _expression_last(list(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help (0) and on usage errors (2)
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("microgrant: error: choose a command: demo, chain-rule, graph or train "
              "(microgrant --help says more)", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except UsageError as error:
        commands[args.command].print_usage(sys.stderr)
        print(f"microgrant {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`microgrant ... | head`): stop quietly, as Unix tools do.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 1
    except KeyboardInterrupt:
        print("microgrant: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # anything else: one line, no traceback
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"microgrant {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
