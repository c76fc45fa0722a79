"""The battery behind check_engine: small graphs run on a learner's Value class and on microgrant's.

Where this sits: `microgrant.enginecheck` is the public face (the report, the command's
loader); this module holds what it runs. Each op is run forward and backward at points that
tell the usual mistakes apart; then graphs built from ``+`` and ``*`` check what backward
itself must get right (a value used twice, the order of the walk, the root's seed, a second
backward, a deep chain). The same graph is built with microgrant's `Value` for the numbers
it should give. Every call into the learner's code goes through `bounded`: a worker thread
with a time limit, so a loop that never ends or an exception becomes a finding.
"""

from __future__ import annotations

import math
import sys
import threading
import traceback
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from .engine import Value
from .ops import OPS

__all__ = ["Finding", "Failed", "bounded", "OpProbe", "PROBES", "check_op", "check_seed",
           "check_reused", "check_order", "check_repeat", "check_deep"]

_STACK_SIZE = 256 * 1024 * 1024  # room for a learner who raised the recursion limit


@dataclass(frozen=True)
class Finding:
    """One misconception found in the engine.

    Attributes:
        name: what it is, such as ``"overwrites-grad"`` or ``"wrong-derivative:exp"``.
        explanation: why it is wrong and what to write instead, with the numbers seen.
        example: the smallest graph that shows it, as code the learner can paste.
    """

    name: str
    explanation: str
    example: str


# ---- running the learner's code, bounded ----------------------------------------------------

class Failed(Exception):
    """The learner's code raised or ran out of time; ``str`` says which, where and how."""


def _where(error: BaseException) -> str:
    """`` (file.py, line 12, in _backward)`` for the innermost frame of the traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" ({Path(last.filename).name}, line {last.lineno}, in {last.name})"


def bounded(fn: Callable[[], Any], timeout: float) -> Any:
    """``fn()`` in a worker thread; its result, or `Failed` if it raised or took too long.

    A thread cannot be stopped from outside, so one that runs past ``timeout`` is left
    behind as a daemon: the check moves on and says so.
    """
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = fn()
        except BaseException as error:  # the learner's code may raise anything, even SystemExit
            box["error"] = error

    try:
        previous = threading.stack_size(_STACK_SIZE)
    except (ValueError, RuntimeError):  # a platform that cannot set it: the default will do
        previous = None
    try:
        worker = threading.Thread(target=work, name="check_engine", daemon=True)
        worker.start()
    finally:
        if previous is not None:
            threading.stack_size(previous)
    worker.join(timeout)
    if worker.is_alive():
        raise Failed(f"did not finish within {timeout:g} s (a loop that never ends?)")
    if "error" in box:
        error = box["error"]
        message = " ".join(str(error).split())[:200]
        raise Failed(f"raised {type(error).__name__}"
                     f"{': ' + message if message else ''}{_where(error)}")
    return box.get("result")


def _number(value: Any) -> float:
    """A learner's ``.data`` or ``.grad`` as a float (an int, a numpy scalar ...)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{value!r} is not a number") from None


def _close(got: float, want: float) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    return math.isclose(got, want, rel_tol=1e-7, abs_tol=1e-9)


def _show(number: float) -> str:
    return f"{number:.6g}"


# ---- the ops, one probe each ----------------------------------------------------------------

@dataclass(frozen=True)
class OpProbe:
    """One op, written as the learner would write it, at points that tell mistakes apart."""

    name: str                      # the finding's suffix and microgrant's op, if it has one
    needs: str                     # the attribute the class must have
    code: str                      # the op as code over the leaves a (and b)
    build: Callable[..., Any]
    points: tuple[tuple[float, ...], ...]


_TWO = ((1.5, -0.8), (-0.6, 2.5))
_ONE = ((1.5,), (-0.6,))
_POSITIVE = ((0.7,), (2.5,))
PROBES = (
    OpProbe("add", "__add__", "a + b", lambda a, b: a + b, _TWO),
    OpProbe("mul", "__mul__", "a * b", lambda a, b: a * b, _TWO),
    OpProbe("sub", "__sub__", "a - b", lambda a, b: a - b, _TWO),
    OpProbe("div", "__truediv__", "a / b", lambda a, b: a / b, _TWO),
    OpProbe("neg", "__neg__", "-a", lambda a: -a, _ONE),
    OpProbe("pow", "__pow__", "a ** 3", lambda a: a ** 3, _ONE),
    OpProbe("exp", "exp", "a.exp()", lambda a: a.exp(), _ONE),
    OpProbe("log", "log", "a.log()", lambda a: a.log(), _POSITIVE),
    OpProbe("sqrt", "sqrt", "a.sqrt()", lambda a: a.sqrt(), _POSITIVE),
    OpProbe("tanh", "tanh", "a.tanh()", lambda a: a.tanh(), _ONE),
    OpProbe("sigmoid", "sigmoid", "a.sigmoid()", lambda a: a.sigmoid(), _ONE),
    OpProbe("relu", "relu", "a.relu()", lambda a: a.relu(), ((1.5,), (-0.7,))),
    OpProbe("radd", "__radd__", "2 + a", lambda a: 2 + a, _ONE),
    OpProbe("rsub", "__rsub__", "2 - a", lambda a: 2 - a, _ONE),
    OpProbe("rmul", "__rmul__", "2 * a", lambda a: 2 * a, _ONE),
    OpProbe("rdiv", "__rtruediv__", "2 / a", lambda a: 2 / a, _ONE),
)


def _leaves_code(point: Sequence[float]) -> str:
    return "\n".join(f"{name} = Value({x})" for name, x in zip("ab", point))


def _run_op(value_class: type, probe: OpProbe, point: Sequence[float]):
    """(output's number, each leaf's grad) for the op at the point, with the root seeded.

    The root is seeded here as well as by backward: a missing seed is a finding of its own
    (`root-not-seeded`), and every derivative would read 0 without it.
    """
    leaves = [value_class(x) for x in point]
    out = probe.build(*leaves)
    data = _number(out.data)
    out.grad = 1.0
    out.backward()
    return data, [_number(leaf.grad) for leaf in leaves]


def _formula(name: str) -> str:
    op = OPS.get(name)
    return f" ({'; '.join(op.formulas)})" if op is not None else ""


def _failed_op(value_class: type, probe: OpProbe, point: Sequence[float], failure: Failed,
               timeout: float) -> Finding:
    """The finding for an op whose run raised or hung: its forward, or else its backward."""
    kind, when = "wrong-derivative", "its backward"
    try:  # the forward alone says which of the two failed
        bounded(partial(_forward, value_class, probe, point), timeout)
    except Failed as forward_failure:
        failure, kind, when = forward_failure, "wrong-forward", "its forward"
    where = ", ".join(f"{name} = {x}" for name, x in zip("ab", point))
    last = "out.backward()" if kind == "wrong-derivative" else "print(out.data)"
    return Finding(f"{kind}:{probe.name}",
                   f"`{probe.code}` at {where}: {when} {failure}. Every op must work for any "
                   "input in its domain.",
                   f"{_leaves_code(point)}\nout = {probe.code}\n{last}")


def _forward(value_class: type, probe: OpProbe, point: Sequence[float]) -> float:
    return _number(probe.build(*[value_class(x) for x in point]).data)


def check_op(value_class: type, probe: OpProbe, timeout: float) -> list[Finding]:
    """wrong-forward:OP and wrong-derivative:OP for one op, at each of its points."""
    findings: dict[str, Finding] = {}
    for point in probe.points:
        want_data, want_grads = _run_op(Value, probe, point)
        where = ", ".join(f"{name} = {x}" for name, x in zip("ab", point))
        setup = _leaves_code(point)
        try:
            data, grads = bounded(partial(_run_op, value_class, probe, point), timeout)
        except Failed as failure:
            found = _failed_op(value_class, probe, point, failure, timeout)
            findings.setdefault(found.name.partition(":")[0], found)
            break  # one failure per op is enough, and a second timeout would only wait
        if not _close(data, want_data) and "wrong-forward" not in findings:
            findings["wrong-forward"] = Finding(
                f"wrong-forward:{probe.name}",
                f"`{probe.code}` at {where} should be {_show(want_data)}; yours gives "
                f"{_show(data)}. Check the number the op stores in its output's data.",
                f"{setup}\nout = {probe.code}\nprint(out.data)   # expected {_show(want_data)}"
                f", yours {_show(data)}")
        wrong = [(name, got, want) for name, got, want in zip("ab", grads, want_grads)
                 if not _close(got, want)]
        if wrong and "wrong-derivative" not in findings:
            name, got, want = wrong[0]
            findings["wrong-derivative"] = Finding(
                f"wrong-derivative:{probe.name}",
                f"d({probe.code})/d{name} at {where} should be {_show(want)}"
                f"{_formula(probe.name)}; yours gives {_show(got)}. Check the local "
                "derivative this op multiplies by out.grad: which number it uses (the "
                "input's data or the output's) and its formula.",
                f"{setup}\nout = {probe.code}\nout.backward()\n"
                f"print({name}.grad)   # expected {_show(want)}, yours {_show(got)}")
    return [findings[kind] for kind in ("wrong-forward", "wrong-derivative") if kind in findings]


# ---- the graphs that test backward itself ---------------------------------------------------

@dataclass(frozen=True)
class _Graph:
    """A small graph over the leaves a, b, c: its code and a function that builds it."""

    code: str
    build: Callable[..., Any]
    point: tuple[float, ...]

    def setup(self) -> str:
        return "\n".join(f"{name} = Value({x})" for name, x in zip("abc", self.point))


def _grads(value_class: type, graph: _Graph, calls: int = 1, seed: bool = True) -> list[float]:
    """Each leaf's grad after ``calls`` backward passes over the graph."""
    leaves = [value_class(x) for x in graph.point]
    out = graph.build(*leaves)
    for _ in range(calls):
        if seed:
            out.grad = 1.0
        out.backward()
    return [_number(leaf.grad) for leaf in leaves]


def _first_wrong(names: str, got: Sequence[float], want: Sequence[float]):
    return next(((n, g, w) for n, g, w in zip(names, got, want) if not _close(g, w)), None)


_REUSED = (
    _Graph("out = a + a", lambda a: a + a, (1.5,)),
    _Graph("out = a * a", lambda a: a * a, (1.5,)),
    _Graph("out = a * b + a", lambda a, b: a * b + a, (1.5, -0.8)),
)


def _diamond(a, b, short_first):
    c = a * b
    f = (c * b) * a           # c reaches out directly and through two more nodes
    return c + f if short_first else f + c


def _two_users(a, b, p_first):
    c = a * b
    p = c * b                 # c's users p and r sit at different depths below out
    q = (c + b) * a
    return p + q if p_first else q + p


# Both orders of each graph: a walk whose order depends on the order of a node's inputs
# fails one of them whichever order it takes.
_ORDERED = (
    _Graph("c = a * b\nf = (c * b) * a\nout = c + f",
           lambda a, b: _diamond(a, b, True), (1.5, -0.8)),
    _Graph("c = a * b\nf = (c * b) * a\nout = f + c",
           lambda a, b: _diamond(a, b, False), (1.5, -0.8)),
    _Graph("c = a * b\np = c * b\nq = (c + b) * a\nout = p + q",
           lambda a, b: _two_users(a, b, True), (1.5, -0.8)),
    _Graph("c = a * b\np = c * b\nq = (c + b) * a\nout = q + p",
           lambda a, b: _two_users(a, b, False), (1.5, -0.8)),
)
_SEED = _Graph("out = a * b", lambda a, b: a * b, (1.5, -0.8))
_REPEAT = _Graph("y = a * b\nout = y * c", lambda a, b, c: (a * b) * c, (1.5, -0.8, 2.0))

_PLUS_EQUALS = {
    "micrograd": "In every `_backward`, add: `self.grad += ...` and `other.grad += ...`.",
    "microgpt": "In backward's loop, add: `child.grad += local_grad * v.grad`.",
    "other": "Add each contribution to `.grad` with `+=`.",
}


def _verdict(value_class: type, graph: _Graph, names: str, want: Sequence[float],
             timeout: float) -> tuple[str, list[str]] | None:
    """None when the learner's grads match; else what was seen, and "yours" for the example."""
    try:
        got = bounded(partial(_grads, value_class, graph), timeout)
    except Failed as failure:
        return f"backward {failure}", []
    wrong = _first_wrong(names, got, want)
    if wrong is None:
        return None
    shown = [_show(g) for g in got]
    return (f"{wrong[0]}.grad is {_show(wrong[1])}, not {_show(wrong[2])}",
            [f", yours {shown[0]}", *shown[1:]])


def check_reused(value_class: type, shape: str, timeout: float) -> list[Finding]:
    """overwrites-grad: a value used twice must collect a gradient from each use."""
    for graph in _REUSED:
        names = "abc"[:len(graph.point)]
        want = _grads(Value, graph)
        verdict = _verdict(value_class, graph, names, want, timeout)
        if verdict is None:
            continue
        seen, yours = verdict
        return [Finding(
            "overwrites-grad",
            f"In `{graph.code}` a value is used twice, and {seen}. The chain rule sums "
            "over every path from the output to a value, so each use must add its share "
            "to the gradient; assigning it (`=`) keeps only the last use. "
            f"{_PLUS_EQUALS[shape]}",
            f"{graph.setup()}\n{graph.code}\nout.backward()\n"
            f"print({names[0]}.grad)   # expected {_show(want[0])}{''.join(yours[:1])}")]
    return []


def check_order(value_class: type, timeout: float) -> list[Finding]:
    """no-topological-order: a node passes its gradient on only once it is complete."""
    for graph in _ORDERED:
        want = _grads(Value, graph)
        verdict = _verdict(value_class, graph, "ab", want, timeout)
        if verdict is None:
            continue
        seen, yours = verdict
        return [Finding(
            "no-topological-order",
            f"Here c has two users, one closer to out than the other, and {seen}. A node "
            "may pass its gradient on to its inputs only once, after every node that uses "
            "it has added its share: that is what walking the graph in reverse topological "
            "order guarantees. A walk from the output that visits c as soon as it reaches "
            "it (recursion into the inputs, a queue, a stack) sends c's gradient on before "
            "it is complete, or sends it twice. Build the order first (a depth-first search "
            "that appends a node after all of its inputs), then run the nodes' backward "
            "steps in the reverse of that order.",
            f"{graph.setup()}\n{graph.code}\nout.backward()\n"
            f"print(a.grad, b.grad)   # expected {_show(want[0])} {_show(want[1])}"
            f"{' '.join(yours)}")]
    return []


def check_seed(value_class: type, timeout: float) -> list[Finding]:
    """root-not-seeded: backward alone must start from d out/d out = 1."""
    want = _grads(Value, _SEED)
    try:
        got = bounded(lambda: _grads(value_class, _SEED, seed=False), timeout)
    except Failed as failure:
        seen = f"backward alone {failure}"
    else:
        if _first_wrong("ab", got, want) is None:
            return []
        seen = f"a.grad and b.grad are {_show(got[0])} and {_show(got[1])}"
    return [Finding(
        "root-not-seeded",
        f"After `out.backward()` on `out = a * b`, {seen}; with out.grad set to 1 first they "
        "are right. Backprop starts from d out/d out = 1: backward() must set "
        "`self.grad = 1.0` on the output before it walks the graph, or every gradient it "
        "passes on is a multiple of 0.",
        f"{_SEED.setup()}\n{_SEED.code}\nout.backward()\n"
        f"print(a.grad)   # expected {_show(want[0])}")]


def check_repeat(value_class: type, timeout: float) -> list[Finding]:
    """backward-not-repeatable: a second backward adds the leaves' share once more."""
    once = _grads(Value, _REPEAT)
    twice = _grads(Value, _REPEAT, calls=2)
    try:
        got = bounded(lambda: _grads(value_class, _REPEAT, calls=2), timeout)
    except Failed as failure:
        seen, yours = f"the second backward {failure}", ""
    else:
        # Adding once more (PyTorch's way) or starting afresh are both consistent.
        if _first_wrong("abc", got, twice) is None or _first_wrong("abc", got, once) is None:
            return []
        name, value, _ = _first_wrong("abc", got, twice) or ("a", got[0], 0.0)
        seen = f"{name}.grad is {_show(value)}"
        yours = f", yours {_show(got[0])}"
    return [Finding(
        "backward-not-repeatable",
        f"After two calls of out.backward(), {seen}; it should be {_show(twice[0])} for a "
        f"(the first call's {_show(once[0])} added once more, as PyTorch does). The "
        "interior node y kept its gradient from the first call, so the second call added "
        "to it and sent the doubled sum on: a got two shares from the second call instead "
        "of one. "
        "Gradients of interior nodes belong to one backward pass: set them to 0 before "
        "the pass (every node but the leaves), or zero every node of the graph, not only "
        "the parameters, before calling backward again.",
        f"{_REPEAT.setup()}\n{_REPEAT.code}\nout.backward()\nout.backward()\n"
        f"print(a.grad)   # expected {_show(twice[0])}{yours}")]


def _chain(value_class: type, depth: int) -> float:
    x = value_class(0.5)
    out = x
    for _ in range(depth):
        out = out + value_class(0.001)
    out.grad = 1.0
    out.backward()
    return _number(x.grad)


def check_deep(value_class: type, depth: int, timeout: float) -> list[Finding]:
    """recursion-limit: a chain as deep as ``depth`` must go through backward."""
    # The shortest of a few chains that fails is the example: near the recursion limit
    # when that is the cause.
    limit = sys.getrecursionlimit()
    for length in sorted({min(depth, limit * k) for k in (1, 2, 5)} | {depth}):
        try:
            got = bounded(partial(_chain, value_class, length), timeout)
        except Failed as failure:
            seen = f"backward {failure}"
            break
        if not _close(got, 1.0):
            seen = f"x.grad is {_show(got)}"
            break
    else:
        return []
    depth = length
    return [Finding(
        "recursion-limit",
        f"On a chain of {depth:,} additions, {seen}. A recursive walk (a `build_topo` "
        "that calls itself for each input) needs one Python frame per node along the "
        f"longest path, and Python stops at {sys.getrecursionlimit():,} frames "
        "(sys.getrecursionlimit()); a loss summed over a few thousand samples is that "
        "deep. Build the topological order with a loop and an explicit stack of "
        "(node, visited-its-inputs) pairs instead of recursion.",
        f"x = Value(0.5)\nout = x\nfor _ in range({depth}):\n    out = out + Value(0.001)\n"
        "out.backward()\nprint(x.grad)   # expected 1.0")]
