"""Expressions typed as text, such as ``tanh(x*w + b)``, turned into a graph of Values.

Where this sits: the ``microgrant graph`` command lets a learner type the formula from their
notes and see its forward and backward graphs. This module reads that text and builds the
same graph the Python expression would build, one `Value` per name, so backprop runs on it
unchanged.

It is read by Python's own parser (`ast`), never run: a whitelist walk over Python's tree
accepts numbers, names, ``+ - * / **``, unary minus and plus, and calls of `FUNCTIONS`, and
nothing else, so no text can reach an attribute, an import or a file. Before that, a scan of
the tokens names each mistake at its own character (Python would say "invalid syntax").
The functions are the op table's (`microgrant.ops.OPS`): every op with a Value method, under
the method's name, so an op added there can be typed here at once. An op with a constant
argument takes it as a second argument, a plain number (``leaky_relu(z, 0.2)``).

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

Python builds its tree by recursion, so the scan refuses, with a message, an expression longer
than `MAX_LENGTH` characters, with more than `MAX_OPERATORS` operators and calls, or with
parentheses nested more than `MAX_DEPTH` deep, before Python's parser sees it. The walk and
the evaluation use explicit stacks, not recursion.

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

import ast
import inspect
import keyword
import operator
import re
from dataclasses import dataclass
from typing import Callable, Mapping

from . import checks
from .engine import Value
from .ops import OPS, Op

__all__ = ["FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH", "MAX_OPERATORS", "ExpressionError", "Expression",
           "parse", "build"]

#: How many characters an expression may have; longer text is refused before parsing.
MAX_LENGTH = 10_000
#: How deeply parentheses (a call's included) may nest; Python's own parser stops at 200.
MAX_DEPTH = 100
#: How many operators and calls an expression may have. Each one nests Python's tree one
#: level deeper (``x+x+x`` is ``(x+x)+x``), and Python builds that tree by recursion.
MAX_OPERATORS = 1000

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

_BINARY = ("+", "-", "*", "/", "**")
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


def _check_tokens(text: str, tokens: list[tuple[str, str, int]]) -> None:
    """Today's grammar, token by token, so each mistake is named at its own character.

    Python's parser would refuse the same texts, but with messages written for programs
    ("invalid syntax"); this scan says what was expected instead, and enforces the limits
    that keep Python's parser away from its recursion limit.
    """
    def fail(reason: str, at: int) -> ExpressionError:
        return ExpressionError(reason, text, at)

    opens: list[tuple[bool, int]] = []  # per open '(': (opens a call's arguments, position)
    operators = 0
    expect_operand = True
    for index, (kind, token, position) in enumerate(tokens):
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if token in _BINARY or (kind == "name" and token in FUNCTIONS):
            operators += 1
            if operators > MAX_OPERATORS:
                raise fail(f"the expression has more than {MAX_OPERATORS} operators and "
                           f"calls; the limit is {MAX_OPERATORS}", position)
        if expect_operand:
            if kind == "number":
                if float(token) == float("inf"):
                    raise fail(f"the number {token} is too large for a float", position)
                expect_operand = False
            elif kind == "name" and token in FUNCTIONS and following != "(":
                raise fail(f"{token!r} is a function: call it as {token}(...)", position)
            elif kind == "name" and following == "(" and token not in FUNCTIONS:
                raise fail(f"unknown function {token!r} at position {position}; the known "
                           f"functions are {', '.join(FUNCTIONS)}", position)
            elif kind == "name":
                expect_operand = token in FUNCTIONS
            elif token == "(":
                opens.append((index > 0 and tokens[index - 1][1] in FUNCTIONS, position))
                if len(opens) > MAX_DEPTH:
                    raise fail(f"the expression nests parentheses more than {MAX_DEPTH} "
                               f"deep; the limit is {MAX_DEPTH}", position)
            elif token not in ("-", "+"):
                what = "the end" if kind == "end" else repr(token)
                raise fail(f"expected a number, a name, a function or '(' at position "
                           f"{position}, found {what}", position)
        elif token in _BINARY:
            expect_operand = True
        elif token == "," and not (opens and opens[-1][0]):
            raise fail(f"',' at position {position} is outside a function call's "
                       "arguments", position)
        elif token == ",":
            expect_operand = True
        elif token == ")" and not opens:
            raise fail(f"')' at position {position} has no matching '('", position)
        elif token == ")":
            opens.pop()
        elif kind == "end" and opens:
            raise fail(f"the '(' at position {opens[-1][1]} is never closed", opens[-1][1])
        elif kind != "end":
            raise fail(f"expected an operator, ',' , ')' or the end at position {position}, "
                       f"found {token!r}", position)


# What the walk accepts from Python's tree, and the text of each operator.
_AST_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_AST_UNARY = {ast.USub: "-", ast.UAdd: "+"}


def _postfix(text: str, tree: ast.expr) -> list[_Item]:
    """The whitelist walk: Python's tree as the postfix program, refusing anything else.

    Iterative (a stack, not recursion), so a deep tree cannot overflow the interpreter.
    Binary operators take their position from their own symbol, which lies between the
    operands (Python's tree gives where the left operand starts).
    """
    program: list[_Item] = []
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, children_done = stack.pop()
        value = node.value if isinstance(node, ast.Constant) else None
        if type(value) in (int, float):  # not bool, complex or str
            start = _at(node)
            program.append(_Item("number", text[start:_end(node)], start,
                                 number=float(value)))  # type: ignore[arg-type]
        elif isinstance(node, ast.Name):
            program.append(_Item("name", node.id, _at(node)))
        elif children_done:
            program.append(_item(text, node))
        elif isinstance(node, ast.BinOp) and type(node.op) in _AST_BINARY:
            stack += [(node, True), (node.right, False), (node.left, False)]
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _AST_UNARY:
            stack += [(node, True), (node.operand, False)]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in FUNCTIONS and not node.keywords
              and not any(isinstance(arg, ast.Starred) for arg in node.args)):
            _check_call(text, node)
            stack += [(node, True), *((arg, False) for arg in reversed(node.args))]
        else:
            raise ExpressionError(f"{type(node).__name__} is not part of the language",
                                  text, max(0, getattr(node, "col_offset", 1) - 1))
    return program


def _item(text: str, node: ast.AST) -> _Item:
    """The apply-instruction for an operator or call whose operands are already in place."""
    if isinstance(node, ast.BinOp):
        symbol = _AST_BINARY[type(node.op)]
        return _Item("binary", symbol, text.index(symbol, _end(node.left) - 1))
    if isinstance(node, ast.UnaryOp):
        return _Item("unary", _AST_UNARY[type(node.op)], _at(node))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    return _Item("call", node.func.id, _at(node), nargs=len(node.args))


# Positions in the text from positions in the parsed source, which opens with "(".
def _at(node: ast.AST) -> int:
    return int(vars(node)["col_offset"]) - 1


def _end(node: ast.AST) -> int:
    return int(vars(node)["end_col_offset"]) - 1


def _check_call(text: str, node: ast.Call) -> None:
    """A call's argument count, and that an op's constant argument names no variable."""
    assert isinstance(node.func, ast.Name)
    name, position = node.func.id, _at(node)
    low, high, _ = _SIGNATURES[name]
    if not low <= len(node.args) <= high:
        wanted = str(low) if low == high else f"{low} or {high}"
        raise ExpressionError(f"{name} takes {wanted} argument{'s' if high > 1 else ''}; got "
                              f"{len(node.args)}: {FUNCTIONS[name]}", text, position)
    op = _OPS[name]
    # The op's argument is a constant of the op, not an input: it has no gradient.
    named = [n for arg in node.args[op.arity:] for n in ast.walk(arg) if isinstance(n, ast.Name)]
    if named:
        first = min(named, key=_at)
        raise ExpressionError(f"the {op.arg_name} of {name} must be a number, not an "
                              f"expression with names (found {first.id!r})", text, _at(first))


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
    _check_tokens(text, [*_tokens(text), ("end", "", len(text))])
    # Inside parentheses, leading spaces and line breaks are what they are in the text;
    # every white-space character becomes a space, so positions stay the text's (it is
    # ASCII: the tokens checked it, and Python's offsets count bytes).
    source = "(" + re.sub(r"\s", " ", text) + ")"
    try:
        tree = ast.parse(source, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError) as error:
        # Not expected within the limits above; said plainly if it ever happens.
        raise ExpressionError(f"Python's parser refused the expression "
                              f"({type(error).__name__}: {error}); write it shorter or "
                              "less nested", text, 0) from None
    return Expression(text, tuple(_postfix(text, tree)))


def build(text: str, values: Mapping[str, object] | None = None,
          ) -> tuple[Value, dict[str, Value]]:
    """Parses ``text`` and builds its graph with ``values``: ``parse(text).build(values)``.

    >>> root, leaves = build("x ** 2 + 1e-3", {"x": 3})
    >>> root.data
    9.001
    """
    return parse(text).build(values or {})
