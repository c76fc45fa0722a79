"""Expressions typed as text, such as ``tanh(x*w + b)``, turned into a graph of Values.

Where this sits: the ``microgrant graph`` command lets a learner type the formula from their
notes and see its forward and backward graphs. This module reads that text and builds the
same graph the Python expression would build, one `Value` per name, so backprop runs on it
unchanged.

It is a small parser of its own, never Python's ``eval``: the grammar knows numbers, names,
``+ - * / **``, unary minus and plus, parentheses and the engine's functions (`FUNCTIONS`),
and nothing else, so no text can reach an attribute, an import or a file. Precedence follows
Python: ``**`` binds tightest and to the right (``2**3**2`` is ``2**(3**2)``), unary minus
binds less tightly than ``**`` on its left (``-x**2`` is ``-(x**2)``) and more tightly than
``*``. Parsing and evaluation use explicit stacks (the shunting-yard algorithm), not
recursion, so deeply nested or very long input cannot overflow the interpreter's stack.

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

import math
import re
from dataclasses import dataclass
from typing import Mapping

from .engine import Value

__all__ = ["FUNCTIONS", "MAX_LENGTH", "ExpressionError", "Expression", "parse", "build"]

#: The functions an expression may call, each with what it computes.
FUNCTIONS: dict[str, str] = {
    "exp": "exp(x): e to the power x",
    "log": "log(x): natural logarithm, x > 0",
    "sqrt": "sqrt(x): square root, x >= 0",
    "tanh": "tanh(x): hyperbolic tangent",
    "sigmoid": "sigmoid(x): 1 / (1 + exp(-x))",
    "relu": "relu(x): max(0, x)",
    "leaky_relu": "leaky_relu(x) or leaky_relu(x, slope): x if x > 0 else slope * x "
                  "(slope 0.01 unless given; it must be a number)",
    "abs": "abs(x): |x|",
    "step": "step(x): 1 if x >= 0 else 0 (gradient 0)",
}

#: How many characters an expression may have; longer text is refused before parsing.
MAX_LENGTH = 10_000

# (min, max) number of arguments of each function
_ARITY = {name: (1, 1) for name in FUNCTIONS}
_ARITY["leaky_relu"] = (1, 2)

# name -> (precedence, right-associative)
_BINARY = {"+": (1, False), "-": (1, False), "*": (2, False), "/": (2, False),
           "**": (4, True)}
_UNARY_PRECEDENCE = 3  # tighter than * and /, looser than ** on its left
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/(),])
""", re.VERBOSE)


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
        shown = self.text[start:end]
        prefix = "..." if start > 0 else ""
        suffix = "..." if end < len(self.text) else ""
        # tabs and newlines would throw the caret off; show them as spaces
        shown = re.sub(r"\s", " ", shown)
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
        seen: dict[str, None] = {}
        for item in program:
            if item.kind == "name":
                seen.setdefault(item.text)
        self.names: tuple[str, ...] = tuple(seen)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __str__(self) -> str:
        stack: list[str] = []
        for item in self._program:
            if item.kind in ("number", "name"):
                stack.append(item.text)
            elif item.kind == "unary":
                stack.append(f"({item.text}{stack.pop()})")
            elif item.kind == "binary":
                right = stack.pop()
                stack.append(f"({stack.pop()} {item.text} {right})")
            else:
                args = stack[len(stack) - item.nargs:]
                del stack[len(stack) - item.nargs:]
                stack.append(f"{item.text}({', '.join(args)})")
        return stack[0]

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
            TypeError: a value is not a number.
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
            if isinstance(given, Value):
                leaves[name] = given
            elif isinstance(given, (int, float)) or hasattr(given, "__float__"):
                if isinstance(given, (str, bytes, complex)):
                    raise TypeError(f"the value of {name!r} must be a real number; got "
                                    f"{type(given).__name__} {given!r}")
                leaves[name] = Value(given, label=name)
            else:
                raise TypeError(f"the value of {name!r} must be a real number; got "
                                f"{type(given).__name__} {given!r}")

        stack: list[Value] = []
        for item in self._program:
            try:
                if item.kind == "number":
                    stack.append(Value(item.number, requires_grad=False))
                elif item.kind == "name":
                    stack.append(leaves[item.text])
                elif item.kind == "unary":
                    x = stack.pop()
                    stack.append(-x if item.text == "-" else x)
                elif item.kind == "binary":
                    b, a = stack.pop(), stack.pop()
                    stack.append(_apply_binary(item.text, a, b))
                else:
                    args = stack[len(stack) - item.nargs:]
                    del stack[len(stack) - item.nargs:]
                    stack.append(self._call(item, args))
            except (ArithmeticError, ValueError) as error:
                if isinstance(error, ExpressionError):
                    raise
                raise type(error)(f"{error} (at position {item.position} of "
                                  f"{self.text!r})") from None
        (root,) = stack
        return root, leaves

    def _call(self, item: _Item, args: list[Value]) -> Value:
        x = args[0]
        if item.text == "leaky_relu" and len(args) == 2:
            slope = args[1]
            if slope.requires_grad:
                raise ExpressionError("the slope of leaky_relu must be a number, not an "
                                      "expression with names", self.text, item.position)
            return x.leaky_relu(slope.data)
        # A fixed table of methods: the name came from FUNCTIONS, never from getattr on text.
        return _METHODS[item.text](x)


_METHODS = {
    "exp": Value.exp, "log": Value.log, "sqrt": Value.sqrt, "tanh": Value.tanh,
    "sigmoid": Value.sigmoid, "relu": Value.relu, "leaky_relu": Value.leaky_relu,
    "abs": Value.abs, "step": Value.step,
}


def _apply_binary(op: str, a: Value, b: Value) -> Value:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a ** b


def _tokens(text: str):
    """Yields (kind, token, position); raises ExpressionError at the first bad character."""
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            hint = ""
            if char == "^":
                hint = " (write powers as x ** 2)"
            elif char == ".":
                hint = " (attributes are not part of the language)"
            elif char in "'\"":
                hint = " (strings are not part of the language)"
            raise ExpressionError(f"unexpected character {char!r} at position {position}"
                                  f"{hint}", text, position)
        kind = match.lastgroup
        token = match.group()
        if kind == "number":
            after = match.end()
            if after < len(text) and (text[after].isalnum() or text[after] in "_."):
                hint = (f" (write {token} * {text[after]} for a product)"
                        if text[after].isalpha() and text[after] not in "eE" else "")
                raise ExpressionError(f"malformed number at position {position}: "
                                      f"{text[position:after + 1]!r}{hint}", text, position)
        if kind != "space":
            yield kind, token, position
        position = match.end()


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
        raise TypeError(f"parse needs the expression as a str; got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is "
                              f"{MAX_LENGTH}", text, MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("the expression is empty", text, 0)

    output: list[_Item] = []
    # The operator stack holds pending operators, open parentheses and function calls.
    # Entries: (kind, token, position); kind is "unary", "binary", "(" or "call".
    operators: list[tuple[str, str, int]] = []
    # One argument counter per open call, for arity checks.
    argcounts: list[int] = []
    expect_operand = True
    opens_call = False
    tokens = list(_tokens(text))
    tokens.append(("end", "", len(text)))

    def pop_operator() -> None:
        kind, token, position = operators.pop()
        output.append(_Item(kind, token, position))

    for index, (kind, token, position) in enumerate(tokens):
        if expect_operand:
            if kind == "number":
                number = float(token)
                if not math.isfinite(number):
                    raise ExpressionError(f"the number {token} is too large for a float",
                                          text, position)
                output.append(_Item("number", token, position, number=number))
                expect_operand = False
            elif kind == "name":
                following = tokens[index + 1][1]
                if following == "(":
                    if token not in FUNCTIONS:
                        raise ExpressionError(
                            f"unknown function {token!r} at position {position}; the known "
                            f"functions are {', '.join(FUNCTIONS)}", text, position)
                    operators.append(("call", token, position))
                    opens_call = True  # the '(' that comes next opens its argument list
                elif token in FUNCTIONS:
                    raise ExpressionError(f"{token!r} is a function: call it as {token}(...)",
                                          text, position)
                else:
                    output.append(_Item("name", token, position))
                    expect_operand = False
            elif token == "(":
                if opens_call:
                    argcounts.append(1)
                    operators.append(("(", "call", position))
                    opens_call = False
                else:
                    operators.append(("(", "(", position))
            elif token in ("-", "+"):
                operators.append(("unary", token, position))
            else:
                what = "the end" if kind == "end" else repr(token)
                raise ExpressionError(
                    f"expected a number, a name, a function or '(' at position {position}, "
                    f"found {what}", text, position)
            continue

        # expecting an operator, a ',' , a ')' or the end
        if token in _BINARY:
            precedence, right = _BINARY[token]
            while operators and operators[-1][0] in ("unary", "binary"):
                top_kind, top_token, _ = operators[-1]
                top = _UNARY_PRECEDENCE if top_kind == "unary" else _BINARY[top_token][0]
                if top > precedence or (top == precedence and not right):
                    pop_operator()
                else:
                    break
            operators.append(("binary", token, position))
            expect_operand = True
        elif token == ")" or token == ",":
            while operators and operators[-1][0] in ("unary", "binary"):
                pop_operator()
            if not operators and token == ",":
                raise ExpressionError(f"',' at position {position} is outside a function "
                                      "call's arguments", text, position)
            if not operators:
                raise ExpressionError(f"')' at position {position} has no matching '('",
                                      text, position)
            _, opened, open_position = operators[-1]
            if token == ",":
                if opened != "call":
                    raise ExpressionError(f"',' at position {position} is outside a function "
                                          "call's arguments", text, position)
                argcounts[-1] += 1
                expect_operand = True
                continue
            operators.pop()  # the '('
            if opened == "call":
                _, name, call_position = operators.pop()
                nargs = argcounts.pop()
                low, high = _ARITY[name]
                if not low <= nargs <= high:
                    wanted = str(low) if low == high else f"{low} or {high}"
                    raise ExpressionError(
                        f"{name} takes {wanted} argument{'s' if high > 1 else ''}; got "
                        f"{nargs}: {FUNCTIONS[name]}", text, call_position)
                output.append(_Item("call", name, call_position, nargs=nargs))
        elif kind == "end":
            while operators:
                kind_, token_, position_ = operators[-1]
                if kind_ == "(":
                    raise ExpressionError(f"the '(' at position {position_} is never closed",
                                          text, position_)
                pop_operator()
        else:
            raise ExpressionError(
                f"expected an operator, ',' , ')' or the end at position {position}, found "
                f"{token!r}", text, position)
    return Expression(text, tuple(output))


def build(text: str, values: Mapping[str, object] | None = None,
          ) -> tuple[Value, dict[str, Value]]:
    """Parses ``text`` and builds its graph with ``values``: ``parse(text).build(values)``.

    >>> root, leaves = build("x ** 2 + 1e-3", {"x": 3})
    >>> root.data
    9.001
    """
    return parse(text).build(values or {})
