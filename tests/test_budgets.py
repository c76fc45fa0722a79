"""The house's budgets, held by a test so they stay held.

A learner opens `engine.py` first and reads down through the op table; a maintainer opens any
module and should be able to hold it in mind.  So:

* no module over 600 lines, `engine.py` (the one file a learner reads whole) included;
* `engine.py` and `ops.py`, the code a learner reads to follow `Value` and `backward`, at most
  600 lines of code together (docstrings, comments and blank lines aside);
* no function over 80 lines, the op table's rows aside (a row is data, not logic);
* no code generated from text (`exec`, `eval`, `compile` of source) anywhere in the package;
* no look at the interpreter's frames or profiler (`sys._getframe`, `sys.setprofile`,
  `f_locals`, `f_back`) outside `microgrant/compile/watch.py`, the one module whose job it is.

The counting helpers are tested on small sources of their own, so a budget that passes is one
that could have failed.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

import microgrant

PACKAGE = Path(microgrant.__file__).parent
MODULE_LINES = 600
FUNCTION_LINES = 80
LEARNERS_PATH = ("engine.py", "ops.py")
LEARNERS_CODE_LINES = 600
FRAME_NAMES = frozenset({"_getframe", "setprofile", "settrace", "f_locals", "f_back",
                         "currentframe"})
WATCHER = "compile/watch.py"


def _sources() -> list[tuple[str, str]]:
    return [(p.relative_to(PACKAGE).as_posix(), p.read_text(encoding="utf-8"))
            for p in sorted(PACKAGE.rglob("*.py"))]


def long_functions(source: str, limit: int = FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, length) of every function or method longer than ``limit`` lines.

    The length runs from the ``def`` line (decorators aside) to the function's last line, so
    its docstring counts: a function too long to read is too long whatever it holds.

    >>> body = "\\n".join(f"    x{i} = {i}" for i in range(81))
    >>> long_functions("def f():\\n" + body + "\\n")
    [('f', 82)]
    >>> long_functions("def g():\\n    return 1\\n")
    []
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append((node.name, length))
    return found


def generated_code(source: str) -> list[int]:
    """Lines that run code made from text: ``exec(...)``, ``eval(...)`` or ``compile(...)``.

    A method or a name imported under another name (``step = compile(loss)`` of microgrant's
    own `compile`) is not the builtin; only a bare call of the builtin's name is flagged, with
    microgrant's `compile` recognised by its import.

    >>> generated_code("exec('x = 1')\\n")
    [1]
    >>> generated_code("from microgrant import compile\\nstep = compile(f)\\n")
    []
    """
    tree = ast.parse(source)
    shadowed = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                for a in n.names}
    return [n.lineno for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            and n.func.id in {"exec", "eval", "compile"} - shadowed]


def frame_looks(source: str) -> list[int]:
    """Lines that look at the interpreter's frames or install a profiler or tracer.

    >>> frame_looks("import sys\\nf = sys._getframe(1)\\n")
    [2]
    >>> frame_looks("x = obj.frame\\n")
    []
    """
    return [n.lineno for n in ast.walk(ast.parse(source))
            if (isinstance(n, ast.Attribute) and n.attr in FRAME_NAMES)
            or (isinstance(n, ast.Name) and n.id in FRAME_NAMES)]


def code_lines(source: str) -> int:
    """Lines that hold code: not blank, not only a comment, not part of a docstring.

    >>> code_lines("'''A module.\\n\\nIts docstring.'''\\n\\n# a comment\\nx = 1  # code\\n")
    1
    """
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    lines: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            lines.update(n for n in range(token.start[0], token.end[0] + 1)
                         if n not in docstrings)
    return len(lines)


def test_the_learners_path_is_at_most_600_lines_of_code():
    sources = dict(_sources())
    total = sum(code_lines(sources[name]) for name in LEARNERS_PATH)
    assert total <= LEARNERS_CODE_LINES, f"engine.py + ops.py: {total} lines of code"


def test_no_module_is_over_its_line_budget():
    over = []
    for rel, source in _sources():
        lines = source.count("\n")
        if lines > MODULE_LINES:
            over.append(f"{rel}: {lines} lines (at most {MODULE_LINES})")
    assert not over, "\n".join(over)


def test_no_function_is_over_80_lines():
    over = []
    for rel, source in _sources():
        for name, length in long_functions(source):
            if rel == "ops.py" and name == "_table":
                continue  # the op table's rows: one keyword row per op, data rather than logic
            over.append(f"{rel}: {name} has {length} lines")
    assert not over, "\n".join(over)


def test_no_code_is_generated_from_text():
    found = [f"{rel}:{line}" for rel, source in _sources() for line in generated_code(source)]
    assert not found, "exec/eval/compile of source text at " + ", ".join(found)


def test_only_the_compile_watcher_looks_at_frames():
    found = [f"{rel}:{line}" for rel, source in _sources() if rel != WATCHER
             for line in frame_looks(source)]
    assert not found, "frame inspection outside compile/watch.py at " + ", ".join(found)


@pytest.mark.parametrize("check, source", [
    (long_functions, "def f():\n" + "    pass\n" * 90),
    (generated_code, "eval('1 + 1')\n"),
    (frame_looks, "import sys\nsys.setprofile(None)\n"),
    (code_lines, "x = 1\n"),
])
def test_each_check_can_fail(check, source):
    assert check(source)
