"""check_engine: a learner's own Value class, run on small graphs and held to microgrant.

Where this sits: a learner who follows the lecture (a ``Value`` with ``_prev``, ``_op`` and a
``_backward`` closure per node) or microgpt (``_children`` and ``_local_grads``, one loop in
``backward``) writes the engine that `microgrant.engine` is. This module runs their class on a
battery of small graphs, builds the same graphs with microgrant's `Value`, and compares the
numbers op by op. A disagreement is named after the misconception that causes it, with the
smallest graph that shows it written as code and a teacher's explanation of why it is wrong.

Only the public face of the class is used: ``Value(number)``, ``.data``, ``.grad``, the
operators and methods, and ``.backward()``. Every call into the learner's code runs in a worker
thread and is bounded in time, so a loop that never ends is a finding, not a hang, and the
learner's exceptions become findings, not tracebacks.

>>> from microgrant import Value
>>> check_engine(Value).ok
True
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from .engineprobes import (
    PROBES,
    Failed,
    Finding,
    bounded,
    check_deep,
    check_op,
    check_order,
    check_repeat,
    check_reused,
    check_seed,
)

__all__ = ["check_engine", "EngineReport", "Finding", "FINDINGS", "CHAIN_DEPTH",
           "load_value_class"]

#: How deep the chain is that tests a recursive walk: a loss summed over a few thousand
#: samples, or a long sequence, is a graph this deep.
CHAIN_DEPTH = 10_000

#: The names of the findings about backward itself (``wrong-derivative:OP`` and
#: ``wrong-forward:OP`` name an op after the colon).
FINDINGS = ("overwrites-grad", "no-topological-order", "recursion-limit", "root-not-seeded",
            "backward-not-repeatable")


@dataclass(frozen=True)
class EngineReport:
    """What `check_engine` found: ``ok``, the findings, and what was checked and skipped.

    ``str(report)`` is the feedback a teacher would write: what was checked, what was not and
    why, then each finding with its explanation and its example.

    Attributes:
        class_name: the class that was checked.
        shape: ``"micrograd"`` (``_prev``, ``_backward``), ``"microgpt"`` (``_children``,
            ``_local_grads``) or ``"other"``.
        findings: one `Finding` per misconception, in the order a learner should fix them.
        checked: the ops that were run (``"add"``, ``"exp"``, ``"radd"`` for ``2 + a`` ...).
        skipped: the ops the class lacks, each with the method it would need.
        notes: checks that could not run, and why.
    """

    class_name: str
    shape: str
    findings: tuple[Finding, ...]
    checked: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when no finding was made."""
        return not self.findings

    @property
    def names(self) -> list[str]:
        """The findings' names, in order."""
        return [finding.name for finding in self.findings]

    def __str__(self) -> str:
        lines = [f"Your {self.class_name} ({_SHAPES[self.shape]}), checked against microgrant.",
                 f"Ops checked: {', '.join(self.checked) or 'none'}."]
        if self.skipped:
            missing = ", ".join(_CODE.get(op, method) for op, method in self.skipped)
            lines.append(f"Skipped, because your class does not have them: {missing}. "
                         "Add them and check again.")
        lines += self.notes
        lines = [wrapped for line in lines for wrapped in _wrap(line, 92)]
        if self.ok and self.notes:
            lines.append("\nNo mistakes in what could be checked; the rest waits, as said "
                         "above.")
        if self.ok and not self.notes:
            lines.append("\nEverything agrees with microgrant: forward values, derivatives, "
                         "reused values, deep graphs and repeated backward. Well done.")
        if self.ok:
            return "\n".join(lines)
        count = len(self.findings)
        lines.append(f"\n{count} things to fix, in the order to fix them:" if count > 1
                     else "\nOne thing to fix:")
        for number, finding in enumerate(self.findings, 1):
            lines.append(f"\n{number}. {finding.name}")
            lines += [f"   {line}" for line in _wrap(finding.explanation, 88)]
            lines.append("   The smallest graph that shows it:")
            lines += [f"       {line}" for line in finding.example.splitlines()]
        return "\n".join(lines)


_CODE = {probe.name: probe.code for probe in PROBES}
_SHAPES = {"micrograd": "the lecture's shape: _prev and a _backward per node",
           "microgpt": "microgpt's shape: _children and _local_grads",
           "other": "a Value class"}


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


# ---- the check ------------------------------------------------------------------------------

def _shape(value_class: type, timeout: float) -> str:
    """Which lecture the class follows; TypeError when ``Value(1.5)`` cannot be used at all."""
    try:
        sample = bounded(lambda: value_class(1.5), timeout)
    except Failed as failure:
        raise TypeError(f"check_engine makes values as {value_class.__name__}(1.5), and "
                        f"{failure}") from None
    missing = [name for name in ("data", "grad", "backward") if not hasattr(sample, name)]
    if missing:
        raise TypeError(f"check_engine needs a Value class with .data, .grad and "
                        f".backward(); {value_class.__name__}(1.5) has no "
                        f"{', '.join(missing)}")
    if hasattr(sample, "_prev") and hasattr(sample, "_backward"):
        return "micrograd"
    if hasattr(sample, "_children") and hasattr(sample, "_local_grads"):
        return "microgpt"
    return "other"


def check_engine(value_class: type, *, timeout: float = 10.0,
                 depth: int = CHAIN_DEPTH) -> EngineReport:
    """Runs a learner's own Value class on a battery of small graphs against microgrant.

    Each op the class has is checked forward and backward at two points; the ops it lacks
    are skipped and listed. Then graphs built from ``+`` and ``*`` check what backward
    itself must get right: a value used twice (``+=``), topological order, the root's seed,
    a second backward, and a deep chain.

    Args:
        value_class: the class, made as ``value_class(number)`` with ``.data``, ``.grad``,
            the operators and methods, and ``.backward()`` (micrograd's or microgpt's shape).
        timeout: seconds each run of the learner's code may take before it counts as a
            loop that never ends.
        depth: the length of the chain that tests a recursive walk.

    Returns:
        An `EngineReport`: ``report.ok``, ``report.findings``, and ``str(report)`` to read.

    Raises:
        TypeError: ``value_class`` is not a class, or ``value_class(1.5)`` fails or lacks
            ``.data``, ``.grad`` or ``.backward``.

    >>> from micrograd.engine import Value as MicrogradValue   # doctest: +SKIP
    >>> check_engine(MicrogradValue).names                     # doctest: +SKIP
    ['backward-not-repeatable', 'recursion-limit']
    """
    if not isinstance(value_class, type):
        raise TypeError(f"check_engine needs a class, such as check_engine(Value); got "
                        f"{type(value_class).__name__}")
    shape = _shape(value_class, timeout)
    findings: list[Finding] = []
    checked: list[str] = []
    skipped: list[tuple[str, str]] = []
    broken: set[str] = set()
    for probe in PROBES:
        if not callable(getattr(value_class, probe.needs, None)):
            skipped.append((probe.name, probe.needs))
            continue
        checked.append(probe.name)
        found = check_op(value_class, probe, timeout)
        if found:
            broken.add(probe.name)
        findings += found
    notes: list[str] = []
    if {"add", "mul"} - set(checked) or {"add", "mul"} & broken:
        notes.append("The checks of backward itself (a value used twice, the order of the "
                     "walk, the root's seed, a second backward, a deep chain) build graphs "
                     "from + and *, so they wait until both work.")
    else:
        seed = check_seed(value_class, timeout)
        reused = check_reused(value_class, shape, timeout)
        # A value whose grad is overwritten makes the order and a second pass look right or
        # wrong by accident: those wait for `+=`.
        later = [] if reused else (check_order(value_class, timeout)
                                   + check_repeat(value_class, timeout))
        if reused:
            notes.append("The order of the walk and a second backward are checked once every "
                         "use adds to .grad.")
        findings = seed + findings + reused + later + check_deep(value_class, depth, timeout)
    return EngineReport(value_class.__name__, shape, tuple(findings), tuple(checked),
                        tuple(skipped), tuple(notes))


def load_value_class(spec: str, timeout: float = 30.0) -> type:
    """The class named by ``"path/to/file.py:Value"``, imported from that file.

    The file runs as an imported module (its ``if __name__ == "__main__":`` block does not),
    with its folder first on ``sys.path`` while it is imported, as ``python file.py`` would
    have it, so it may import the files beside it.

    Raises:
        ValueError: ``spec`` is not ``FILE.py:CLASS``, or the file has no such class.
        FileNotFoundError: there is no such file.
        RuntimeError: importing the file raised an error or did not finish (the message says
            which, and where).
    """
    path_text, sep, name = spec.rpartition(":")
    if not sep or not path_text.endswith(".py") or not name.isidentifier():
        raise ValueError(f"expected FILE.py:CLASS, such as my_engine.py:Value; got {spec!r}")
    path = Path(path_text)
    if not path.is_file():
        raise FileNotFoundError(f"no file {path_text!r}")
    folder = str(path.resolve().parent)
    module_spec = importlib.util.spec_from_file_location(f"learner_engine_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"{path_text!r} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    loader = module_spec.loader
    sys.modules[module.__name__] = module  # as an import would: dataclasses look it up
    sys.path.insert(0, folder)
    try:
        bounded(lambda: loader.exec_module(module), timeout)
    except Failed as failure:
        raise RuntimeError(f"importing {path.name} {failure}") from None
    finally:
        sys.path.remove(folder)
    found = getattr(module, name, None)
    if not isinstance(found, type):
        classes = sorted(key for key, value in vars(module).items()
                         if isinstance(value, type) and value.__module__ == module.__name__)
        raise ValueError(f"{path.name} has no class {name!r} (its classes: "
                         f"{', '.join(classes) or 'none'})")
    return found
