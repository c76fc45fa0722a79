"""The ``microgrant`` command: backprop from the terminal, with pictures.

Where this sits: the command is a front door to the rest of the package. It builds graphs
from numbers or from a typed expression (`microgrant.expr`), runs `Value.backward`, prints the
chain rule step by step (`microgrant.viz.explain`) and writes the forward and backward graphs,
a page that steps through backprop, and plots (`microgrant.plot`).

    microgrant demo                      # the whole tour on built-in numbers
    microgrant chain-rule --x1 2 --y 0   # note 004's two-neuron derivation, any numbers
    microgrant graph "tanh(x*w + b)" x=2 w=-0.5 b=0.25
    microgrant train moons --hidden 16,16 --epochs 100
    microgrant check-engine my_engine.py:Value   # your own Value class, held to microgrant

Exit status: 0 on success; 2 for a usage error (a bad option, a malformed expression, a
missing or malformed value; the message goes to stderr, says what is allowed, and puts a
caret under the offending character of an expression); 1 when something fails while running,
such as log of a negative number or training that diverges (a one-line message on stderr, no
traceback); ``check-engine`` also exits 1 when it finds something to fix in the engine.
Besides those messages, stderr only ever says that a plot was skipped because matplotlib is
missing: Graphviz and warnings stay quiet.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import __version__, checks, data, plot, viz
from .engine import no_grad
from .enginecheck import check_engine, load_value_class
from .expr import FUNCTIONS, ExpressionError, parse
from .losses import binary_cross_entropy_with_logits
from .nn import MLP
from .notes import TWO_NEURONS, note_004_table, train_xor, two_neurons
from .ops import OPS
from .optim import SGD, Adam, RMSprop
from .train import accuracy, fit, predict

__all__ = ["main", "DATASETS", "ACTIVATIONS", "MAX_WORK", "UsageError"]

#: The datasets ``microgrant train`` knows, with what each one is.
DATASETS = {
    "xor": "the XOR truth table (4 points; no line separates it)",
    "and": "the AND truth table (4 points)",
    "or": "the OR truth table (4 points)",
    "nand": "the NAND truth table (4 points)",
    "not": "the NOT truth table (2 points of one input)",
    "moons": "two interleaving half moons (micrograd's demo)",
    "circles": "a small circle inside a large one",
    "blobs": "two Gaussian clusters",
    "admissions": "note 003's students: test score and grades, accepted or not",
}

#: The hidden-layer activations ``microgrant train`` offers: the op table's, and none.
ACTIVATIONS = (*(op.method for op in OPS.values() if op.activation), "linear")

#: The most training ``microgrant train`` takes on, counted as parameters x points x epochs:
#: the scalar engine gets through about half a million of these a second, so this is about a
#: minute. Bigger nets belong to `microgrant.compile` or PyTorch.
MAX_WORK = 25_000_000

OPTIMIZERS = ("sgd", "adam", "rmsprop")
DEFAULT_LR = {"sgd": 0.1, "adam": 0.05, "rmsprop": 0.01}
TWO_NEURONS_TITLE = "Note 004: backprop through two neurons"


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


# ---- argument types: microgrant.checks, with argparse's error type -------------------------

def _checked(convert: type, check: Callable, name: str, **limits) -> Callable[[str], Any]:
    """An argparse ``type=``: the text as a ``convert`` (int or float), then ``check``-ed.

    The digits must be ASCII, as in an expression: Python's int() and float() would also
    read other scripts' digits.
    """
    what = "a whole number" if convert is int else "a number"

    def parse(text: str):
        try:
            if not text.isascii():
                raise ValueError(text)
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {what}, written with the "
                                             f"digits 0-9; got {text!r}") from None
        try:
            return check(value, name, **limits)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name  # argparse names the type in some messages
    return parse


def _sizes(text: str) -> list[int]:
    if text.strip() in ("", "none"):
        return []  # no hidden layer: logistic regression
    size = _checked(int, checks.count, "every layer size")
    try:
        return [size(part) for part in text.split(",")]
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(
            f"expected layer sizes separated by commas, such as 8,8; got {text!r} "
            f"({error})") from None


def _assignments(items: list[str]) -> dict[str, float]:
    """``["x=2", "w=-0.5"]`` -> ``{"x": 2.0, "w": -0.5}``; UsageError for anything else."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not (sep and name.isidentifier() and name.isascii()):
            raise UsageError(f"expected name=value, such as x=2.5; got {item!r}")
        if name in FUNCTIONS:
            raise UsageError(f"{name!r} is a function, so it cannot be given a value")
        if name in values:
            raise UsageError(f"{name!r} is given a value twice")
        try:
            values[name] = _checked(float, checks.finite, f"the value of {name}")(text.strip())
        except argparse.ArgumentTypeError as error:
            raise UsageError(str(error)) from None
    return values


# ---- shared pieces --------------------------------------------------------------------------

def _check_out(path: str) -> None:
    """Refuses, before any work, an --out that cannot be a folder."""
    folder = Path(path)
    for place in (folder, *folder.parents):
        if place.exists():
            if not place.is_dir():
                raise UsageError(f"--out {path}: {place} is a file, not a folder; give a "
                                 "folder (it is created if it does not exist)")
            return


def _out_dir(path: str) -> Path:
    _check_out(path)
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RuntimeError(f"cannot create the folder {path}: "
                           f"{error.strerror or error}") from None
    return folder


def _write_graphs(root, folder: Path, stem: str, title: str, digits: int = 4) -> list[Path]:
    """Forward and backward graphs as SVG and PNG, and the stepper page.

    The layout's direction is viz's choice (``rankdir=None``): it draws a long chain top to
    bottom, so the pictures stay readable instead of becoming a strip twenty times as wide
    as it is high.
    """

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

    J = two_neurons(x1, y, w1, w2)["J"]
    J.backward()
    print("Note 004: two layers, one neuron each, no bias, binary cross-entropy")
    print(f"  x1 = {x1:g}, y = {y:g}, w1 = {w1:g}, w2 = {w2:g}")
    print("  z1 = w1 x1,  a1 = σ(z1),  z2 = w2 a1,  ŷ = σ(z2),\n"
          "  J = -y log ŷ - (1 - y) log(1 - ŷ)\n")
    print(viz.explain(J), end="\n\n")
    print(note_004_table(x1, y, w1, w2))
    return J


def _plot(make_plot: Callable[[], object], path: Path, what: str) -> list[Path]:
    """Runs a plotting call that saves to ``path``; if matplotlib is missing, says so."""
    try:
        make_plot()
    except ImportError as error:
        print(f"skipped {what}: {error}", file=sys.stderr)
        return []
    return [path]


# ---- commands -------------------------------------------------------------------------------

def _cmd_demo(args) -> int:
    folder = _out_dir(args.out)  # first: a bad --out is said before any work
    J = _print_chain_rule(**TWO_NEURONS)
    written = _write_graphs(J, folder, "two_neurons", TWO_NEURONS_TITLE)

    print("\nTraining a 2 -> 4 (tanh) -> 1 network on XOR, the problem one neuron cannot solve")
    model, history, acc = train_xor(4)
    print(f"  loss {history.loss[0]:.3f} -> {history.loss[-1]:.4f}, accuracy {acc:.0%}")
    path = folder / "xor_boundary.png"
    X, y = data.logic_gate("xor")
    written += _plot(lambda: plot.decision_boundary(
        model, X, y, title=f"XOR, 4 hidden tanh neurons: {acc:.0%}", resolution=60,
        path=path), path, "the XOR decision boundary")
    print(f"\nopen {folder / 'two_neurons_steps.html'} to step through backprop")
    _list_written(written)
    return 0


def _cmd_chain_rule(args) -> int:
    if not 0.0 <= args.y <= 1.0:
        raise UsageError(f"--y is a label (or a probability) in [0, 1]; got {args.y:g}")
    if args.out:
        _check_out(args.out)
    J = _print_chain_rule(args.x1, args.y, args.w1, args.w2)
    if args.out:
        _list_written(_write_graphs(J, _out_dir(args.out), "two_neurons", TWO_NEURONS_TITLE))
    return 0


def _cmd_graph(args) -> int:
    _check_out(args.out)
    values = _assignments(args.values)
    try:
        expression = parse(args.expression)
        if not expression.names:
            raise UsageError(f"{args.expression!r} has no names, so there is nothing to "
                             "differentiate; write it with names and give them values, "
                             "such as x*x x=3")
        unused = [name for name in values if name not in expression.names]
        if unused:
            raise UsageError(f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not "
                             f"in the expression (its names: {', '.join(expression.names)})")
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
    if name in data.GATES or name in data.ONE_INPUT_GATES:
        return data.logic_gate(name)
    if name == "blobs":
        return data.blobs(n=n, centers=[[-1.5, -1.0], [1.5, 1.0]], seed=seed)
    X, y = getattr(data, name)(n=n, seed=seed)
    if name == "admissions":
        X = (X - 5.0) / 2.5  # scores 0..10 -> about -2..2: one learning rate suits both
    return X, y


def _check_work(sizes: list[int], points: int, epochs: int, inputs: int = 2) -> None:
    """Refuses a run beyond `MAX_WORK` before the model is even built, saying what to cut."""
    parameters, fan_in = 0, inputs
    for size in [*sizes, 1]:
        parameters += (fan_in + 1) * size
        fan_in = size
    work = parameters * points * epochs
    if work > MAX_WORK:
        hidden = ",".join(map(str, sizes)) or "none"
        raise UsageError(f"--hidden {hidden} makes {parameters:,} parameters; x {points} points "
                         f"x {epochs} epochs is {work:,} parameter updates, and the limit is "
                         f"{MAX_WORK:,} (about a minute of scalar backprop): choose smaller "
                         "layers, fewer --epochs or a smaller --n")


def _cmd_train(args) -> int:
    X, y = _dataset(args.dataset, args.n, args.seed)
    inputs = X.shape[1]
    _check_work(args.hidden, len(y), args.epochs, inputs)
    _check_out(args.out)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    model = MLP(inputs, [*args.hidden, 1], activation=args.activation, seed=args.seed)
    optimizer = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}[args.optimizer](
        model.parameters(), lr=lr)
    print(f"{model} on {args.dataset} ({len(y)} points), {args.optimizer} lr {lr:g}, "
          f"{args.epochs} epochs, binary cross-entropy on the output logit")
    print("(each epoch's line measures the model as the epoch starts, on the forward pass "
          "its step uses)")
    with warnings.catch_warnings():
        # fit warns when training diverges; the progress lines and the error below say it.
        warnings.filterwarnings("ignore", message="fit stopped", category=RuntimeWarning)
        history = fit(model, X, y, loss="bce_logits", optimizer=optimizer,
                      epochs=args.epochs, verbose=True, stream=sys.stdout)
    # A diverged run (fit puts back the weights from before the bad step) or outputs that
    # overflow can neither be scored nor plotted: say so, and write nothing.
    if history.diverged or not np.isfinite(predict(model, X)).all():
        raise RuntimeError(f"{history.stop_reason or 'training diverged'}; pass a smaller --lr")
    acc = accuracy(model, X, y, loss="bce_logits")
    with no_grad():
        loss = binary_cross_entropy_with_logits([model(row) for row in X.tolist()],
                                                y.tolist()).data
    # The last epoch line is the model before the last step; this is the model after it.
    print(f"accuracy after training: {acc:.1%} ({round(acc * len(y))} of {len(y)} points), "
          f"loss {loss:.6g}: the trained model, after epoch {len(history.loss)}'s step")
    folder = _out_dir(args.out)
    boundary = folder / f"{args.dataset}_boundary.png"
    curves = folder / f"{args.dataset}_curves.png"
    # A decision boundary is drawn over the plane of two inputs; one input has none to draw.
    written = _plot(lambda: plot.decision_boundary(
        model, X, y, title=f"{args.dataset}: {acc:.0%}", path=boundary), boundary,
        "the decision-boundary plot") if inputs == 2 else []
    if written or inputs != 2:
        written += _plot(lambda: plot.training_curves(history.loss, history.accuracy,
                                                      path=curves), curves, "the curves")
        _list_written(written)
    return 0


def _cmd_check_engine(args) -> int:
    try:
        value_class = load_value_class(args.engine)
    except (ValueError, FileNotFoundError) as error:
        raise UsageError(str(error)) from None
    report = check_engine(value_class, timeout=args.timeout)
    print(report)
    return 0 if report.ok else 1


# ---- the parser -----------------------------------------------------------------------------

def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
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
        chain.add_argument(f"--{name}", type=_checked(float, checks.finite, name),
                           default=default, help=f"(default {default:g})")
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
    graph.add_argument("--digits", type=_checked(int, checks.count, "digits"), default=4,
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
                       help="hidden layer sizes, comma-separated, such as 16,16 (default "
                            f"8,8); parameters x points x epochs at most {MAX_WORK:,}, "
                            "about a minute")
    train.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                       help="hidden-layer activation (default relu)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                       help="default adam")
    train.add_argument("--lr", type=_checked(float, checks.positive, "lr"), default=None,
                       help="learning rate (default: sgd 0.1, adam 0.05, rmsprop 0.01)")
    train.add_argument("--epochs", type=_checked(int, checks.count, "epochs"), default=200,
                       help="default 200")
    train.add_argument("--n", type=_checked(int, checks.count, "n"), default=100,
                       help="points to generate (not for the logic gates; default 100)")
    train.add_argument("--seed", type=_checked(int, checks.count, "seed", minimum=0),
                       default=0, help="seed for the data and the weights, a whole number "
                                       ">= 0 (default 0)")
    train.add_argument("--out", default="microgrant-train", metavar="DIR",
                       help="folder for the plots (default: ./microgrant-train)")
    train.set_defaults(run=_cmd_train)
    return parser, {"demo": demo, "chain-rule": chain, "graph": graph, "train": train,
                    "check-engine": _check_engine_parser(commands)}


def _check_engine_parser(commands) -> argparse.ArgumentParser:
    engine = commands.add_parser(
        "check-engine", help="check your own micrograd-style Value class against microgrant",
        description="Imports CLASS from FILE.py (its __main__ block does not run), runs it on "
                    "small graphs op by op against microgrant, and names each mistake with "
                    "the smallest graph that shows it. Exit status 0 when everything agrees, "
                    "1 when there is something to fix.",
        epilog="example: microgrant check-engine my_engine.py:Value")
    engine.add_argument("engine", metavar="FILE.py:CLASS", help="such as my_engine.py:Value")
    engine.add_argument("--timeout", type=_checked(float, checks.positive, "timeout"),
                        default=10.0, help="seconds each run of your code may take (default 10)")
    engine.set_defaults(run=_cmd_check_engine)
    return engine


def _expression_last(argv: list[str]) -> list[str]:
    """``graph``'s arguments with its options first and the rest after ``--``.

    An expression such as ``-x*x`` starts like an option, and argparse would refuse it;
    after ``--`` every word is taken as the expression or a ``name=value``.
    """
    if "graph" not in argv:
        return argv
    at = argv.index("graph") + 1
    options: list[str] = []
    positional: list[str] = []
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


def _spaced_sizes(argv: list[str]) -> str | None:
    """The hint for ``train ... --hidden 16 16``, which argparse would call an unknown ``16``."""
    if "train" not in argv or "--hidden" not in argv[:-1]:
        return None
    at = argv.index("--hidden") + 1
    sizes = [argv[at]]
    for word in argv[at + 1:]:
        if not word.replace(",", "").isdigit():
            break
        sizes.append(word)
    if len(sizes) == 1:
        return None
    return (f"--hidden takes the layer sizes as one word, joined by commas: write "
            f"--hidden {','.join(sizes)}, not --hidden {' '.join(sizes)}")


def main(argv: list[str] | None = None) -> int:
    """Runs the ``microgrant`` command with ``argv`` (default: the process's arguments).

    Returns:
        The exit status: 0 on success, 2 for a usage error, 1 for an error while running.

    >>> main(["graph", "x * y", "x=2"])     # no value for y: a usage error, said on stderr
    2
    """
    parser, commands = _parser()
    argv = _expression_last(list(sys.argv[1:] if argv is None else argv))
    hint = _spaced_sizes(argv)
    if hint:
        commands["train"].print_usage(sys.stderr)
        print(f"microgrant train: error: {hint}", file=sys.stderr)
        return 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help (0) and on usage errors (2)
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("microgrant: error: choose a command: demo, chain-rule, graph, train or "
              "check-engine "
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
