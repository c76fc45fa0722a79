"""The third stage of seeing backprop: the trace's numbers and names, as a learner reads them.

Everything a picture, a step or the stepper page *says* is written here, from a
`microgrant.viz.trace.Trace`, so that it reads the same everywhere:

* `format_number`: ``-1.4999999999999993`` reads ``-1.5`` and a tiny gradient ``3.1e-11``,
  never ``0.0000``;
* `display_names`: each value's name in text: its label (``L1.n2.z``), with the sample it was
  made for where labels repeat (``L1.n2.z[3]``), a net's input as ``x1[3]``, a constant's
  number, a short expression (``x × w``), or ``out``, ``v1``, ``v2``, ...; worked out once
  per trace and digits;
* `expression` and `equations`: how a value was computed (``a × b``) and each chain-rule step
  written out, one line per edge, as the course notes do;
* `explain`: the forward pass and the whole backward pass as text;
* `stale_lines`: what to say instead when the graph is stale (`Trace.stale`): which value
  changed, and which recorded number no longer follows from its inputs.

Text uses one minus sign, ``-``, as the labels, the numbers and the op table's formulas do.
Nothing here draws, and nothing replays backprop: the numbers come from the trace.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from ..engine import OPS, Value
from ..errors import typed
from ..labels import indexed
from .structure import SHARED, structure_of
from .trace import Trace, check_root

__all__ = ["format_number", "factor", "as_ratio_part", "display_names", "expression",
           "formula", "defined", "equations", "explain", "shorten", "check_digits", "stale_lines"]


def format_number(x, digits: int = 4) -> str:
    """A number written the way a learner reads it: a few significant digits, nothing hidden.

    Rounds to ``digits`` significant digits and drops trailing zeros, so float noise vanishes;
    very small and very large numbers switch to exponent form, so a tiny gradient is never
    shown as zero.

    Args:
        x: a real number (int, float, numpy scalar).
        digits: significant digits to keep (at least 1).

    >>> format_number(-1.4999999999999993)
    '-1.5'
    >>> format_number(3.14159e-11), format_number(2.0), format_number(-0.0)
    ('3.142e-11', '2', '0')
    >>> format_number(123456.7), format_number(2 / 3, digits=2), format_number(float("nan"))
    ('1.235e5', '0.67', 'nan')
    """
    if type(digits) is not int or digits < 1:  # type(), not isinstance: True is no digit count
        raise ValueError(f"digits must be a whole number >= 1; got {digits!r}")
    if type(x) is not float:
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"format_number needs a real number; got {type(x).__name__} {x!r}")
        x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0.0:
        return "0"  # -0.0 too: a minus sign on zero only puzzles
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"  # 1e-05 -> 1e-5, 1.2e+06 -> 1.2e6
    return text


def check_digits(digits: Any) -> int:
    """``digits`` when it is a whole number >= 1, else the ValueError `format_number` gives."""
    format_number(0.0, digits)
    return digits


def factor(x: float, digits: int = 4) -> str:
    """A number as a factor in a product: negatives in parentheses, ``2 × (-3)``.

    >>> factor(-3.0), factor(2.0)
    ('(-3)', '2')
    """
    text = format_number(x, digits)
    return f"({text})" if text.startswith("-") else text


_ONE_WORD = re.compile(r"[\w.\[\]']+")


def as_ratio_part(name: str) -> str:
    """``name`` as the top or bottom of ``d/d``: parenthesised unless it is one word.

    >>> as_ratio_part("L1.n2.z[3]"), as_ratio_part("a + b")
    ('L1.n2.z[3]', '(a + b)')
    """
    return name if _ONE_WORD.fullmatch(name) else f"({name})"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked with an ellipsis.

    Pictures show labels of any length this way: Graphviz refuses strings of more than
    16,384 characters, and nobody reads a 4,000-character node.

    >>> shorten("a" * 10, 6), shorten("abc", 6)
    ('aaaaa…', 'abc')
    """
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def display_names(trace: Trace, digits: int = 4) -> dict[Value, str]:
    """Value -> the name text uses for it, unambiguous within the trace.

    A label names its value.  Where several values share a label (a net's ``L1.n2.z`` is made
    once per sample), each is told apart by the sample it was made for, ``L1.n2.z[3]``, or,
    without samples, by its id, ``x[n0]``.  A net's unlabelled input is named as the weight
    that multiplies it says (``x1``, ``x1[3]`` for sample 3's), an unlabelled constant by its
    number.  Any other unlabelled value is named by its expression where that is short and
    unique (``x × w``); else the output is ``out`` and the rest ``v1``, ``v2``, ... in the
    order they are shown (the drawings' ids, ``n7``, are left to the drawings).  Worked out
    once per trace and ``digits`` (kept in ``trace.derived``): every stage of one call reads
    the same dict.

    >>> from microgrant import Value
    >>> a, b = Value(1.0, label="x"), Value(2.0, label="x")
    >>> sorted(display_names(Trace(a * b * 3)).values())
    ['3', 'out', 'x[n0]', 'x[n0] × x[n1]', 'x[n1]']
    >>> w, x = Value(0.5, label="w"), Value(2.0, label="x")
    >>> h = ((w * x).tanh() + w).exp() + 1
    >>> t = Trace(h)
    >>> [display_names(t)[v] for v in t.order]
    ['w × x', 'tanh(w × x)', 'tanh(w × x) + w', 'v1', 'out']
    """
    key = ("names", digits)
    found = trace.derived.get(key)
    if found is None:
        found = trace.derived[key] = _names(trace, digits)
    return found


def _names(trace: Trace, digits: int) -> dict[Value, str]:
    structure = structure_of(trace)
    given: dict[Value, str] = {}  # a label, or an input's derived name
    for v in trace.values:
        if v.label:
            given[v] = v.label
        elif not v.inputs:
            name = structure.input_name(v)
            if name is not None:
                given[v] = name
    uses: dict[str, int] = {}
    for name in given.values():
        uses[name] = uses.get(name, 0) + 1
    samples = structure.samples() if any(n > 1 for n in uses.values()) else {}
    names: dict[Value, str] = {}
    wanted: dict[str, int] = {}
    for v in trace.values:
        if v in given:
            if uses[given[v]] == 1:
                names[v] = given[v]
            else:
                k = samples.get(v, SHARED)
                names[v] = indexed(given[v], k) if k != SHARED else ""
                wanted[names[v]] = wanted.get(names[v], 0) + 1
        elif v.grad is None and not v.inputs:
            names[v] = format_number(v.data, digits)
        else:
            names[v] = ""  # named below, once every labelled value has its name
    for v in given:
        # Two values of one sample, or of none, still share a name: their ids tell them apart.
        if uses[given[v]] > 1 and (not names[v] or wanted[names[v]] > 1):
            names[v] = f"{given[v]}[{trace.ids[v]}]"
    _name_unlabelled(trace, names, digits)
    return names


EXPRESSION_NAME_LIMIT = 16
"""The longest expression an unlabelled value is named by (``x × w``); a longer one would
crowd every ``dL/d(...)`` it appears in, so the value gets a short name instead."""


def _name_unlabelled(trace: Trace, names: dict[Value, str], digits: int) -> None:
    """Names each value still without one: by its expression when that is short, unique and
    made of names a learner reads (``x × w``); else the output ``out``, any other ``v1``,
    ``v2``, ... numbered in the order the values are shown (the ids' order)."""
    taken = set(names.values())
    numbered: set[Value] = set()  # named by a number: no name is written from theirs
    count = 0
    for v in trace.values:
        if names[v]:
            continue
        name = ""
        if v.inputs and not any(x in numbered for x in v.inputs):
            name = expression(v, names, digits)
            if len(name) > EXPRESSION_NAME_LIMIT or name in taken:
                name = ""
        if not name and v is trace.root and "out" not in taken:
            name = "out"
        if not name:
            numbered.add(v)
            count += 1
            while f"v{count}" in taken:
                count += 1  # a label already says v3: the next free number
            name = f"v{count}"
        names[v] = name
        taken.add(name)


_OWN_PARENTHESES: dict[tuple[str, int], bool] = {}


def _in_own_parentheses(op, count: int) -> bool:
    """Whether ``op`` writes each input inside parentheses of its own: ``log(x)``, ``tanh(x)``."""
    key = (op.name, count)
    found = _OWN_PARENTHESES.get(key)
    if found is None:  # written once with a marker for the input, to see where the op puts it
        found = _OWN_PARENTHESES[key] = "(\x00" in op.write(["\x00"] * count, "")
    return found


def expression(node: Value, names: dict, digits: int = 4, numbers_too: bool = False) -> str:
    """How ``node`` was computed: ``a × b``, ``tanh(z)``, ``x^2``; or with the numbers in.

    A name is parenthesised only where it is more than one piece (``(-y) × (log ŷ)``, but
    ``2 × log(1 - ŷ)``), an input the op writes inside parentheses of its own gets no more
    of them (``log(1 - ŷ)``, not ``log((1 - ŷ))``), and a minus sign is ``-``, as in the
    labels.

    >>> from microgrant import Value
    >>> a = Value(-2.0, label="a")
    >>> t = Trace(a.tanh() * a)
    >>> names = display_names(t)
    >>> expression(t.root, names), expression(t.root, names, numbers_too=True)
    ('tanh(a) × a', '(-0.964) × (-2)')
    >>> y_hat = Value(0.25, label="ŷ")
    >>> d = 1 - y_hat; d.label = "1 - ŷ"
    >>> expression(d, display_names(Trace(d))), expression(d.log(), {d: "1 - ŷ"})
    ('1 - ŷ', 'log(1 - ŷ)')
    """
    op = OPS[node.op]
    arg = format_number(node.arg, digits) if node.arg is not None else ""
    plain = _in_own_parentheses(op, len(node.inputs))
    if numbers_too:
        args = [format_number(x.data, digits) if plain else factor(x.data, digits)
                for x in node.inputs]
    else:
        args = [names[x] if plain else _grouped(names[x]) for x in node.inputs]
    return op.write(args, arg).replace("\u2212", "-")


def _compact(formula: str) -> str:
    # What two ways of writing one formula may differ in: Python's symbols, and spacing.
    return typed(formula).replace(" ", "")


def defined(node: Value, names: dict, digits: int = 4) -> str:
    """``name = expression``, how ``node`` was made, with the name said once where it is the
    expression itself (a label ``1 - ŷ`` on ``1 - ŷ``, ``x1*w1`` on ``x1 × w1``).

    Every equation that defines a value starts with this: the forward pass, each backward
    step, a stale graph's lines.

    >>> from microgrant import Value
    >>> y_hat = Value(0.25, label="ŷ")
    >>> d = 1 - y_hat; d.label = "1 - ŷ"
    >>> e = d * 2; e.label = "e"
    >>> names = display_names(Trace(e))
    >>> defined(d, names), defined(e, names)
    ('1 - ŷ', 'e = (1 - ŷ) × 2')
    """
    name, written = names[node], expression(node, names, digits)
    if _compact(name) == _compact(written):
        return name
    return f"{name} = {written}"


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _grouped(text: str) -> str:
    """An operand as it sits inside a larger formula: parenthesised unless it is one piece
    (a name, a number, ``(ŷ − y)²``: nothing outside its own parentheses but a power)."""
    depth, compound = 0, text.startswith(("-", "−")) or "^" in text
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        compound = compound or (ch == " " and depth == 0)
    return f"({text})" if compound else text


def formula(top: Value, inside, name, digits: int = 4, limit: int = 8) -> str | None:
    """How ``top`` was computed from the values outside ``inside``: ``(ŷ − 1)²``.

    Writes the ops of ``top`` and of its inputs that are in ``inside``, one formula, with
    every other value written as ``name(value)`` says.  A whole number power is written as
    a superscript.  Returns None when more than ``limit`` ops would be written: a formula
    nobody can read at a glance names nothing.

    >>> from microgrant import Value
    >>> y_hat = Value(0.5, label="out")
    >>> d = y_hat - 1.0
    >>> t = d ** 2
    >>> formula(t, {t, d}, lambda v: "ŷ" if v is y_hat else format_number(v.data))
    '(ŷ − 1)²'
    """
    texts: dict[Value, str] = {}
    written = 0
    stack: list[tuple[Value, bool]] = [(top, False)]
    while stack:  # inputs written before the op that uses them, without recursion
        v, ready = stack.pop()
        if v in texts:
            continue
        if v is not top and v not in inside:
            texts[v] = name(v)
            continue
        if not ready:
            written += 1
            if written > limit:
                return None
            stack.append((v, True))
            stack.extend((x, False) for x in reversed(v.inputs))
            continue
        op = OPS[v.op]
        # Inside a function's own parentheses an operand needs no more of them.
        plain = _in_own_parentheses(op, len(v.inputs))
        args = [texts[x] if plain else _grouped(texts[x]) for x in v.inputs]
        arg = ""
        if v.arg is not None:
            arg = format_number(v.arg, digits)
        if v.op == "pow" and re.fullmatch(r"-?[0-9]+", arg):
            texts[v] = f"{args[0]}{arg.translate(_SUPERSCRIPT)}"
        else:
            texts[v] = op.write(args, arg)
    return texts[top]


def equations(trace: Trace, names: dict, digits: int = 4) -> list[str]:
    """Each chain-rule step of ``trace`` written out, one line per edge, in backprop's order.

    ∂ marks an op's local derivative and d the output's total derivative: in the first step
    they would otherwise read alike (do/dn += do/do * do/dn).  With the names of
    `display_names` the texts are written once per trace and kept.  On a stale trace (see
    `Trace.stale`) each step says so first: its numbers are worked out from the numbers the
    graph holds now, not the ones ``backward()`` saw.
    """
    key = ("equations", digits)
    cached = names is trace.derived.get(("names", digits))
    if cached and key in trace.derived:
        return trace.derived[key]
    texts = _equations(trace, names, digits)
    if cached:
        trace.derived[key] = texts
    return texts


def _equations(trace: Trace, names: dict, digits: int) -> list[str]:
    r = as_ratio_part(names[trace.root])
    warning = ""
    if trace.stale is not None:
        warning = f"\n  ({_stale_headline(trace, names)}: these numbers may not be backward()'s)"
    seen: set = set()
    running: dict[Value, Any] = {}
    texts = []
    for step in trace.steps:
        node = step.node
        op = OPS[node.op]
        n = as_ratio_part(names[node])
        g = step.upstream
        lines = [f"step {step.index + 1}: {defined(node, names, digits)}, "
                 f"with d{r}/d{n} = {format_number(g, digits)}{warning}"]
        for i, (x, d, c) in enumerate(zip(node.inputs, step.local_grads, step.contributions)):
            if c is None:
                continue  # a constant takes no gradient
            before = x in seen
            seen.add(x)
            running[x] = c if not before else running[x] + c
            xi = as_ratio_part(names[x])
            line = (f"  d{r}/d{xi} += d{r}/d{n} * ∂{n}/∂{xi} = {factor(g, digits)} * "
                    f"{factor(d, digits)} = {format_number(c, digits)}")
            if before:
                line += f", total so far {format_number(running[x], digits)}"
            lines.append(f"{line}   [{op.formula_for(i, len(node.inputs))}]")
        texts.append("\n".join(lines))
    return texts


# ---- a stale graph: said plainly, instead of arithmetic that does not hold --------------------

def _stale_headline(trace: Trace, names: dict) -> str:
    stale = trace.stale
    assert stale is not None
    shown = [names[v] for v in stale.changed[:4]]
    if len(stale.changed) > 4:
        shown.append(f"one of {len(stale.changed) - 4} more values")
    return f"stale graph: {' or '.join(shown)} changed after it was computed"


def stale_lines(trace: Trace, names: dict, digits: int = 4, limit: int = 5) -> list[str]:
    """What a stale graph says instead of its arithmetic: which value changed, and which
    recorded numbers no longer follow from their inputs (at most ``limit`` of them).

    >>> from microgrant import Value
    >>> w, x = Value(2.0, label="w"), Value(3.0, label="x")
    >>> y = w * x; y.label = "y"
    >>> w.data = 1.7
    >>> t = Trace(y)
    >>> print("\\n".join(stale_lines(t, display_names(t))))
    stale graph: w or x changed after it was computed
      y = 6 was computed before; y = w × x now gives 1.7 × 3 = 5.1
    To see numbers that add up, compute y again from its leaves (run the forward pass).
    """
    stale = trace.stale
    assert stale is not None, "stale_lines is for a stale trace"
    lines = [_stale_headline(trace, names)]
    for node, now in stale.nodes[:limit]:
        lines.append(f"  {names[node]} = {format_number(node.data, digits)} was computed "
                     f"before; {defined(node, names, digits)} now gives "
                     f"{expression(node, names, digits, numbers_too=True)} = "
                     f"{format_number(now, digits)}")
    if len(stale.nodes) > limit:
        lines.append(f"  ... and {len(stale.nodes) - limit} more values like these")
    lines.append(f"To see numbers that add up, compute {names[trace.root]} again from its "
                 f"leaves (run the forward pass).")
    return lines


# ---- explain ---------------------------------------------------------------------------------

def _single_path(trace: Trace, leaf: Value, paths: dict, consumer: dict) -> list | None:
    """The chain root -> ... -> leaf when there is exactly one path between them, else None."""
    if paths.get(leaf) != 1:
        return None
    chain = [leaf]
    while chain[-1] is not trace.root:
        chain.append(consumer[chain[-1]])
    return chain[::-1]


def _leaf_lines(trace: Trace, names: dict, digits: int) -> list[str]:
    """Each leaf's gradient; with one path to it, the whole chain rule on one line."""
    root = trace.root
    r = as_ratio_part(names[root])
    # How many paths lead from the root to each value, and one consumer of each: one pass
    # in reverse topological order (a value's count is the sum of its consumers').
    paths = {root: 1}
    consumer: dict[Value, Value] = {}
    for node in reversed(trace.order):
        count = paths.get(node, 0)
        for x in node.inputs:
            paths[x] = paths.get(x, 0) + count
            consumer.setdefault(x, node)
    lines = []
    for v in trace.values:
        if v.inputs or v.grad is None:
            continue
        total = format_number(trace.grads.get(v, 0.0), digits)
        chain = _single_path(trace, v, paths, consumer)
        if chain is not None and 3 <= len(chain) <= 10:
            # One path: the whole chain rule fits on a line, as the notes write it.
            ratios = [f"d{as_ratio_part(names[a])}/d{as_ratio_part(names[b])}"
                      for a, b in zip(chain, chain[1:])]
            locals_ = []
            for a, b in zip(chain, chain[1:]):
                step = trace.step_of(a)
                assert step is not None  # a is an op node on the path
                locals_.append(factor(step.local_grads[a.inputs.index(b)], digits))
            lines.append(f"  d{r}/d{as_ratio_part(names[v])} = {' * '.join(ratios)} = "
                         f"{' * '.join(locals_)} = {total}")
        else:
            lines.append(f"  d{r}/d{as_ratio_part(names[v])} = {total}")
    return lines


def explain(root: Value, digits: int = 4) -> str:
    """The forward pass and the chain rule written out, one line per operation and per edge.

    Values are named by their labels; a value without one by its expression where that is
    short (``x × w``), else ``out`` for the output and ``v1``, ``v2``, ... for the rest; a
    constant by its number.  A value whose label is its expression (``1 - ŷ``) is written
    once: ``1 - ŷ = 1 - 0.25 = 0.75``.

    A graph whose numbers changed after it was computed (``w.data -= lr * w.grad`` after
    ``backward()``) no longer adds up: its ``y`` was computed from a ``w`` that is gone.
    Then `explain` writes no equations at all; it says which value changed, which recorded
    numbers no longer follow from their inputs, and what to do (see `stale_lines`).

    Args:
        root: the output to differentiate.
        digits: significant digits for every number.

    >>> from microgrant import Value
    >>> x = Value(3.0, label="x")
    >>> z = x * 2; z.label = "z"
    >>> L = z * z; L.label = "L"
    >>> print(explain(L))
    Forward pass:
      z = x × 2 = 3 × 2 = 6
      L = z × z = 6 × 6 = 36
    Backward pass (the chain rule, from L back to the leaves):
      dL/dL = 1   (the seed: L with respect to itself)
    step 1: L = z × z, with dL/dL = 1
      dL/dz += dL/dL * ∂L/∂z = 1 * 6 = 6   [d(a * b)/da = b]
      dL/dz += dL/dL * ∂L/∂z = 1 * 6 = 6, total so far 12   [d(a * b)/db = a]
    step 2: z = x × 2, with dL/dz = 12
      dL/dx += dL/dz * ∂z/∂x = 12 * 2 = 24   [d(a * b)/da = b]
    Gradients of the leaves:
      dL/dx = 24
    """
    check_root(root, "explain")
    check_digits(digits)
    trace = Trace(root)
    names = display_names(trace, digits)
    r = as_ratio_part(names[root])
    if root.grad is None:
        return f"{names[root]} = {format_number(root.data, digits)} is a constant: it has no " \
               f"gradient, so there is nothing to backpropagate."
    if not root.inputs:
        return f"{names[root]} = {format_number(root.data, digits)} is a leaf: d{r}/d{r} = 1, " \
               f"and there is nothing to backpropagate."
    if trace.stale is not None:
        return "\n".join(stale_lines(trace, names, digits))
    lines = ["Forward pass:"]
    for node in trace.order:
        lines.append(f"  {defined(node, names, digits)} = "
                     f"{expression(node, names, digits, numbers_too=True)} = "
                     f"{format_number(node.data, digits)}")
    lines.append(f"Backward pass (the chain rule, from {names[root]} back to the leaves):")
    lines.append(f"  d{r}/d{r} = 1   (the seed: {names[root]} with respect to itself)")
    lines += equations(trace, names, digits)
    lines.append("Gradients of the leaves:")
    lines += _leaf_lines(trace, names, digits)
    return "\n".join(lines)
