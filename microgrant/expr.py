"""Expressions typed as text, such as ``tanh(x*w + b)``, turned into a graph of Values.

Where this sits: the ``microgrant graph`` command lets a learner type the formula from their
notes and see its forward and backward graphs. This module reads that text and builds the
same graph the Python expression would build, one `Value` per name, so backprop runs on it
unchanged.

It is a small parser of its own, never Python's ``eval``: the language has numbers, names,
``+ - * / **``, unary minus and plus, parentheses and calls of `FUNCTIONS`, and nothing else,
so no text can reach an attribute, an import or a file. The functions are the op table's
(`microgrant.ops.OPS`): every op with a Value method, under the method's name, so an op
added there can be typed here at once. An op with a constant argument takes it as a second
argument, a plain number (``leaky_relu(z, 0.2)``).

Everything that parses is read the way Python reads it:

* precedence: ``**`` binds tightest and to the right (``2**3**2`` is ``2**(3**2)``), unary
  minus binds less tightly than ``**`` on its left (``-x**2`` is ``-(x**2)``) and more
  tightly than ``*``;
* numbers: ``3``, ``0.5``, ``.5``, ``2.``, ``1e-3``, written with the ASCII digits 0-9 only
  (Python also reads ``١`` as a digit; a formula copied from a page should not hide one);
  a whole number may not start with a zero (``007``), as in Python, where other languages
  read it as octal; ``0``, ``00`` and ``01.5`` are fine;
* names: ASCII letters, digits and ``_``, not starting with a digit; Python's keywords
  (``lambda``, ``if``, ``True`` ...) are refused, so an expression that parses here is also
  valid Python with the same meaning.

Parsing and evaluation use explicit stacks (the shunting-yard algorithm), not recursion, so
deeply nested or very long input cannot overflow the interpreter's stack.

>>> root, leaves = build("tanh(x*w + b)", {"x": 2.0, "w": -0.5, "b": 0.25})
>>> round(root.data, 6)
-0.635149
>>> root.backward()
>>> round(leaves["w"].grad, 6)     # (1 - tanh^2) * x
1.193172
>>> str(parse("-x**2 + 2**-y"))
'((-(x ** 2)) + (2 ** (-y)))'
"""

from __future__ import annotations

import inspect
import keyword
import operator
import re
from dataclasses import dataclass
from typing import Callable, Mapping

from . import checks
from .engine import Value
from .ops import OPS, Op

__all__ = ["FUNCTIONS", "MAX_LENGTH", "ExpressionError", "Expression", "parse", "build"]

#: How many characters an expression may have; longer text is refused before parsing.
MAX_LENGTH = 10_000

_OPS: dict[str, Op] = {op.method: op for op in OPS.values() if op.method}


def _signature(op: Op) -> tuple[int, int, str]:
    """(fewest arguments, most, how to call it) for the op called by its method's name."""
    inputs = ", ".join(op.input_names(op.arity))
    low, high, call = op.arity, op.arity, f"{op.method}({inputs})"
    if op.arg_name:
        # The op's constant argument comes last; its Value method says if it may be left out.
        method = inspect.signature(getattr(Value, op.method))
        default = list(method.parameters.values())[1].default
        high += 1
        call += f" or {op.method}({inputs}, {op.arg_name}), {op.arg_name} a number"
        if default is inspect.Parameter.empty:
            low += 1
        else:
            call += f" ({default} unless given)"
    where = f", for {op.domain}" if op.domain else ""
    return low, high, f"{call}{where}; {op.formula}"


_SIGNATURES = {name: _signature(op) for name, op in _OPS.items()}
#: The functions an expression may call, by name, each with how to call it and its derivative.
FUNCTIONS: dict[str, str] = {name: text for name, (_, _, text) in _SIGNATURES.items()}

# name -> (precedence, right-associative)
_BINARY = {"+": (1, False), "-": (1, False), "*": (2, False), "/": (2, False),
           "**": (4, True)}
_UNARY_PRECEDENCE = 3  # tighter than * and /, looser than ** on its left
_APPLY: dict[str, Callable] = {"+": operator.add, "-": operator.sub, "*": operator.mul,
                               "/": operator.truediv, "**": operator.pow}
# re.ASCII: \s is ASCII white space only, like the digits and letters spelled out below.
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/(),])
""", re.VERBOSE | re.ASCII)
_HINTS = {"^": " (write powers as x ** 2)", ".": " (attributes are not part of the language)",
          "'": " (strings are not part of the language)",
          '"': " (strings are not part of the language)"}
_DIGITS_HINT = " (numbers are written with the ASCII digits 0-9)"


class ExpressionError(ValueError):
    """A problem with an expression's text, with the position (0-based) it was found at.

    ``str(error)`` repeats the expression with a caret under the offending character:

    >>> try:
    ...     parse("x + * y")
    ... except ExpressionError as error:
    ...     print(error)
    expected a number, a name, a function or '(' at position 4, found '*'
      x + * y
          ^
    """

    def __init__(self, reason: str, text: str, position: int):
        self.reason = reason
        self.text = text
        self.position = position
        super().__init__(reason)

    def __str__(self) -> str:
        # Long expressions are shown as a window around the position, so the caret still
        # lines up under the right character.
        start = max(0, self.position - 60)
        end = min(len(self.text), self.position + 20)
        prefix = "..." if start > 0 else ""
        suffix = "..." if end < len(self.text) else ""
        # tabs and newlines would throw the caret off; show them as spaces
        shown = re.sub(r"\s", " ", self.text[start:end])
        caret = " " * (len(prefix) + self.position - start) + "^"
        return f"{self.reason}\n  {prefix}{shown}{suffix}\n  {caret}"


@dataclass(frozen=True)
class _Item:
    """One instruction of the postfix (RPN) program: push a number or a name, or apply."""

    kind: str            # "number", "name", "unary", "binary", "call"
    text: str            # the number's or name's text, the operator, the function name
    position: int
    nargs: int = 0       # for "call"
    number: float = 0.0  # for "number"


class Expression:
    """A parsed expression: its text, its names and a postfix program that builds it.

    Make one with `parse`. ``str(expression)`` shows it fully parenthesised, which is how to
    check what the precedence rules did.

    Attributes:
        text: the expression as typed.
        names: the variable names it uses, in order of first appearance.

    >>> e = parse("tanh(x*w + b)")
    >>> e.names
    ('x', 'w', 'b')
    >>> root, leaves = e.build({"x": 2.0, "w": -0.5, "b": 1.0})
    >>> root.data, sorted(leaves)
    (0.0, ['b', 'w', 'x'])
    """

    def __init__(self, text: str, program: tuple[_Item, ...]):
        self.text = text
        self._program = program
        self.names: tuple[str, ...] = tuple(dict.fromkeys(
            item.text for item in program if item.kind == "name"))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __str__(self) -> str:
        return self._run(lambda item: item.text,
                         lambda item, x: f"({item.text}{x})",
                         lambda item, a, b: f"({a} {item.text} {b})",
                         lambda item, args: f"{item.text}({', '.join(args)})")

    def build(self, values: Mapping[str, object]) -> tuple[Value, dict[str, Value]]:
        """Builds the graph: one leaf Value per name, labelled with the name.

        Args:
            values: a number (or a `Value`, used as it is) for every name in the expression;
                extra entries are ignored.

        Returns:
            ``(root, leaves)``: the expression's Value and a dict from each name to its leaf.
            Numbers in the text become constants (no gradient). ``x*x`` uses the one leaf
            ``x`` twice, exactly as Python would.

        Raises:
            ExpressionError: a name has no value (the message lists the names that have one).
            TypeError: a value is not a real number.
            ValueError, ZeroDivisionError, OverflowError: the engine's own errors for a
                computation outside its domain (``log(x)`` at ``x = -1``), with the position.

        >>> root, leaves = parse("x * x").build({"x": 3})
        >>> root.backward(); root.data, leaves["x"].grad
        (9.0, 6.0)
        """
        leaves: dict[str, Value] = {}
        for name in self.names:
            if name not in values:
                position = next(i.position for i in self._program
                                if i.kind == "name" and i.text == name)
                known = ", ".join(sorted(values)) or "none"
                raise ExpressionError(
                    f"no value given for the name {name!r}; give it one as {name}=NUMBER "
                    f"(names with values: {known})", self.text, position)
            given = values[name]
            leaves[name] = (given if isinstance(given, Value) else
                            Value(checks.real(given, f"the value of {name!r}"), label=name))

        def leaf(item: _Item) -> Value:
            if item.kind == "name":
                return leaves[item.text]
            return Value(item.number, requires_grad=False)

        def call(item: _Item, args: list[Value]) -> Value:
            # The method comes from the op table, looked up by a name the parser checked.
            method = getattr(Value, _OPS[item.text].method)
            extra = [arg.data for arg in args[_OPS[item.text].arity:]]
            return method(*args[:_OPS[item.text].arity], *extra)

        root = self._run(leaf, lambda item, x: -x if item.text == "-" else x,
                         lambda item, a, b: _APPLY[item.text](a, b), call)
        return root, leaves

    def _run(self, leaf, unary, binary, call):
        """Replays the postfix program on a stack, with one function per kind of item."""
        stack: list = []
        for item in self._program:
            try:
                if item.kind in ("number", "name"):
                    stack.append(leaf(item))
                elif item.kind == "unary":
                    stack.append(unary(item, stack.pop()))
                elif item.kind == "binary":
                    b = stack.pop()
                    stack.append(binary(item, stack.pop(), b))
                else:
                    args = stack[len(stack) - item.nargs:]
                    del stack[len(stack) - item.nargs:]
                    stack.append(call(item, args))
            except (ArithmeticError, ValueError) as error:
                raise type(error)(f"{error} (at position {item.position} of "
                                  f"{self.text!r})") from None
        (result,) = stack
        return result


def _tokens(text: str):
    """Yields (kind, token, position); raises ExpressionError at the first bad token."""
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            hint = _HINTS.get(char, "")
            if char.isdigit():
                hint = _DIGITS_HINT
            elif char.isspace():
                hint = " (write spaces as ordinary spaces)"
            elif char.isalpha():
                hint = " (names are written with the letters A-Z, a-z, digits and _)"
            raise ExpressionError(f"unexpected character {char!r} at position {position}"
                                  f"{hint}", text, position)
        kind, token, after = match.lastgroup, match.group(), match.end()
        if kind == "number":
            if after < len(text) and (text[after].isalnum() or text[after] in "_."):
                hint = (_DIGITS_HINT if text[after].isdigit() else
                        f" (write {token} * {text[after]} for a product)"
                        if text[after].isalpha() and text[after] not in "eE" else "")
                raise ExpressionError(f"malformed number at position {position}: "
                                      f"{text[position:after + 1]!r}{hint}", text, position)
            if token.isdigit() and token[0] == "0" and token.strip("0"):
                raise ExpressionError(f"a whole number cannot start with 0, as in Python: "
                                      f"write {token.lstrip('0')}, not {token}", text, position)
        if kind == "name" and keyword.iskeyword(token):
            raise ExpressionError(f"{token!r} is a Python keyword, so it cannot be a name in "
                                  f"an expression; choose another, such as {token}_",
                                  text, position)
        if kind != "space":
            yield kind, token, position
        position = after


def parse(text: str) -> Expression:
    """Parses ``text`` into an `Expression`, or raises `ExpressionError` at the first problem.

    Args:
        text: e.g. ``"sigmoid(w2 * sigmoid(w1 * x1))"``. Numbers (``3``, ``0.5``, ``1e-3``),
            names, ``+ - * / **``, unary ``-`` and ``+``, parentheses, and calls of `FUNCTIONS`.

    Raises:
        ExpressionError: with the position of the offending character (``error.position``);
            ``str(error)`` shows a caret under it.
        TypeError: ``text`` is not a string.

    >>> str(parse("a - b - c")), str(parse("2 ** 3 ** 2")), str(parse("-x * y"))
    ('((a - b) - c)', '(2 ** (3 ** 2))', '((-x) * y)')
    >>> parse("w1 * x1 + w1").names
    ('w1', 'x1')
    """
    if not isinstance(text, str):
        raise TypeError(f"parse needs the expression as a str; got {checks.shown(text)}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is "
                              f"{MAX_LENGTH}", text, MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("the expression is empty", text, 0)

    output: list[_Item] = []
    # Pending operators, open parentheses and calls: (kind, token, position), kind one of
    # "unary", "binary", "(" (token "call" when it opens a call's arguments) or "call".
    operators: list[tuple[str, str, int]] = []
    # Per open call: [arguments so far, where the last one starts in `output`].
    calls: list[list[int]] = []
    expect_operand = True
    tokens = [*_tokens(text), ("end", "", len(text))]

    def fail(reason: str, at: int):
        return ExpressionError(reason, text, at)

    for index, (kind, token, position) in enumerate(tokens):
        if expect_operand:
            if kind == "number":
                number = float(token)
                if number == float("inf"):
                    raise fail(f"the number {token} is too large for a float", position)
                output.append(_Item("number", token, position, number=number))
                expect_operand = False
            elif kind == "name" and token in FUNCTIONS:
                if tokens[index + 1][1] != "(":
                    raise fail(f"{token!r} is a function: call it as {token}(...)", position)
                operators.append(("call", token, position))
            elif kind == "name" and tokens[index + 1][1] == "(":
                raise fail(f"unknown function {token!r} at position {position}; the known "
                           f"functions are {', '.join(FUNCTIONS)}", position)
            elif kind == "name":
                output.append(_Item("name", token, position))
                expect_operand = False
            elif token == "(":
                opens_call = bool(operators) and operators[-1][0] == "call"
                if opens_call:
                    calls.append([1, len(output)])
                operators.append(("(", "call" if opens_call else "(", position))
            elif token in ("-", "+"):
                operators.append(("unary", token, position))
            else:
                what = "the end" if kind == "end" else repr(token)
                raise fail(f"expected a number, a name, a function or '(' at position "
                           f"{position}, found {what}", position)
            continue

        # expecting an operator, a ',', a ')' or the end
        if token in _BINARY:
            precedence, right = _BINARY[token]
            while operators and operators[-1][0] in ("unary", "binary"):
                top_kind, top_token, _ = operators[-1]
                top = _UNARY_PRECEDENCE if top_kind == "unary" else _BINARY[top_token][0]
                if not (top > precedence or (top == precedence and not right)):
                    break
                output.append(_Item(*operators.pop()))
            operators.append(("binary", token, position))
            expect_operand = True
        elif token in (")", ","):
            while operators and operators[-1][0] in ("unary", "binary"):
                output.append(_Item(*operators.pop()))
            opened = operators[-1][1] if operators else ""
            if token == ",":
                if opened != "call":
                    raise fail(f"',' at position {position} is outside a function call's "
                               "arguments", position)
                calls[-1] = [calls[-1][0] + 1, len(output)]
                expect_operand = True
                continue
            if not operators:
                raise fail(f"')' at position {position} has no matching '('", position)
            operators.pop()  # the '('
            if opened == "call":
                output.append(_close_call(operators.pop(), calls.pop(), output, fail))
        elif kind == "end":
            while operators:
                if operators[-1][0] == "(":
                    raise fail(f"the '(' at position {operators[-1][2]} is never closed",
                               operators[-1][2])
                output.append(_Item(*operators.pop()))
        else:
            raise fail(f"expected an operator, ',' , ')' or the end at position {position}, "
                       f"found {token!r}", position)
    return Expression(text, tuple(output))


def _close_call(call: tuple[str, str, int], arguments: list[int], output: list[_Item],
                fail) -> _Item:
    """The call's item, once its arguments are counted and its constant argument checked."""
    _, name, position = call
    nargs, last = arguments
    low, high, _ = _SIGNATURES[name]
    if not low <= nargs <= high:
        wanted = str(low) if low == high else f"{low} or {high}"
        raise fail(f"{name} takes {wanted} argument{'s' if high > 1 else ''}; got {nargs}: "
                   f"{FUNCTIONS[name]}", position)
    op = _OPS[name]
    if nargs > op.arity:
        # The op's argument is a constant of the op, not an input: it has no gradient.
        named = next((item for item in output[last:] if item.kind == "name"), None)
        if named is not None:
            raise fail(f"the {op.arg_name} of {name} must be a number, not an expression "
                       f"with names (found {named.text!r})", named.position)
    return _Item("call", name, position, nargs=nargs)


def build(text: str, values: Mapping[str, object] | None = None,
          ) -> tuple[Value, dict[str, Value]]:
    """Parses ``text`` and builds its graph with ``values``: ``parse(text).build(values)``.

    >>> root, leaves = build("x ** 2 + 1e-3", {"x": 3})
    >>> root.data
    9.001
    """
    return parse(text).build(values or {})
