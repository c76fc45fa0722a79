"""Tests for microgrant.expr: parsed expressions build the same graph Python would build."""

import ast
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from microgrant import Value, expr
from microgrant.cli import main
from microgrant.expr import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_OPERATORS,
    ExpressionError,
    build,
    parse,
)

# Each case: the text, and the same expression written with Python operators on Values.
CASES = [
    ("tanh(x*w + b)", lambda x, w, b: (x * w + b).tanh()),
    ("-x**2 + w", lambda x, w, b: -(x ** 2) + w),
    ("2**-x * w", lambda x, w, b: (2 ** (-x)) * w),
    ("x**w", lambda x, w, b: x ** w),
    ("x - w - b", lambda x, w, b: (x - w) - b),
    ("x / w / b", lambda x, w, b: (x / w) / b),
    ("x ** 2 ** b", lambda x, w, b: x ** (2 ** b)),
    ("-x * w", lambda x, w, b: (-x) * w),
    ("+x - -w", lambda x, w, b: x - (-w)),
    ("sigmoid(x) * relu(w) + leaky_relu(b)", lambda x, w, b: x.sigmoid() * w.relu()
     + b.leaky_relu()),
    ("leaky_relu(b, 0.2) + leaky_relu(b, -1e-1)",
     lambda x, w, b: b.leaky_relu(0.2) + b.leaky_relu(-0.1)),
    ("exp(log(x)) * sqrt(abs(b))", lambda x, w, b: x.log().exp() * b.abs().sqrt()),
    ("step(b) + x * x * x", lambda x, w, b: b.step() + x * x * x),
    ("1e-3 * x + .5 * w + 2. * b + 1E+1", lambda x, w, b: 1e-3 * x + 0.5 * w + 2.0 * b + 10.0),
    ("((x))*((w)+(b))", lambda x, w, b: x * (w + b)),
]
POINT = {"x": 1.7, "w": 0.6, "b": -0.4}


@pytest.mark.parametrize("text, python", CASES, ids=[c[0] for c in CASES])
def test_parsed_expression_matches_values_built_directly(text, python):
    root, leaves = build(text, POINT)
    root.backward()
    direct = {name: Value(v) for name, v in POINT.items()}
    expected = python(**direct)
    expected.backward()
    assert root.data == pytest.approx(expected.data, rel=1e-12, abs=1e-15)
    for name in leaves:
        assert leaves[name].grad == pytest.approx(direct[name].grad, rel=1e-12, abs=1e-15)


# Random expressions in x and y, with parentheses sometimes left out, so that precedence and
# associativity decide their meaning. Python's own parser, running on Values, is the oracle.
_atoms = st.sampled_from(["x", "y", "2", "3", "0.5", "1e-1"])


def _grow(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children)
        .map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"-{c}"),
        st.tuples(children, st.sampled_from(["2", "3", "-1"]))
        .map(lambda t: f"{t[0]} ** {t[1]}"),
        st.tuples(st.sampled_from(["tanh", "sigmoid", "exp"]), children)
        .map(lambda t: f"{t[0]}({t[1]})"),
    )


@settings(max_examples=150, deadline=None)
@given(text=st.recursive(_atoms, _grow, max_leaves=8),
       x=st.floats(-3, 3), y=st.floats(-3, 3))
def test_precedence_and_gradients_match_python(text, x, y):
    def python():
        vx, vy = Value(x), Value(y)
        def constant(v):
            return v if isinstance(v, Value) else Value(v, requires_grad=False)

        def function(name):
            return lambda v: getattr(constant(v), name)()

        functions = {name: function(name) for name in ("tanh", "sigmoid", "exp")}
        out = eval(text, {"__builtins__": {}}, {"x": vx, "y": vy, **functions})  # oracle only
        return out, vx, vy

    try:
        expected, vx, vy = python()
        if not isinstance(expected, Value) or expected.grad is None:
            assume(False)
        expected.backward()
    except (ArithmeticError, ValueError):
        assume(False)
    root, leaves = build(text, {"x": x, "y": y})
    assert _same(root.data, expected.data, 1e-12)
    root.backward()
    for name, leaf in (("x", vx), ("y", vy)):
        if name in leaves:
            assert _same(leaves[name].grad, leaf.grad, 1e-9)


def _same(a: float, b: float, tol: float) -> bool:
    # The parse must build the same computation as Python's own precedence: the same numbers,
    # even where float arithmetic itself gives up (x / x at a subnormal x overflows 1/x, so
    # both sides get inf - inf = nan).
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol) or (math.isnan(a) and math.isnan(b))


def test_fully_parenthesised_form_shows_python_precedence():
    assert str(parse("a - b - c")) == "((a - b) - c)"
    assert str(parse("2 ** 3 ** 2")) == "(2 ** (3 ** 2))"
    assert str(parse("-x ** 2")) == "(-(x ** 2))"
    assert str(parse("2 ** -x")) == "(2 ** (-x))"
    assert str(parse("a + b * c / d")) == "(a + ((b * c) / d))"
    assert str(parse("exp(-a * b)")) == "exp(((-a) * b))"


def test_names_in_order_of_first_appearance_and_one_leaf_per_name():
    expression = parse("w1 * x1 + w1 * x2")
    assert expression.names == ("w1", "x1", "x2")
    root, leaves = expression.build({"w1": 3.0, "x1": 1.0, "x2": 2.0})
    root.backward()
    assert leaves["w1"].grad == 3.0  # x1 + x2: both uses reach the same leaf
    assert leaves["w1"].label == "w1"


def test_numbers_are_constants_and_given_values_may_be_values():
    w = Value(2.0, label="weight")
    root, leaves = build("3 * w", {"w": w, "unused": 1.0})
    root.backward()
    assert leaves["w"] is w and w.grad == 3.0
    constants = [x for x in root.inputs if x is not w]
    assert constants[0].grad is None and constants[0].data == 3.0


@pytest.mark.parametrize("text, position, words", [
    ("x + * y", 4, "expected a number, a name"),
    ("x +", 3, "found the end"),
    ("(x + y", 0, "never closed"),
    ("x + y)", 5, "no matching '('"),
    ("x y", 2, "expected an operator"),
    ("2x", 0, "write 2 * x"),
    ("1e", 0, "malformed number"),
    ("x ^ 2", 2, "write powers as x ** 2"),
    ("x.real", 1, "attributes are not part of the language"),
    ("'x'", 0, "strings are not part of the language"),
    ("foo(x)", 0, "known functions are exp, log"),
    ("exp", 0, "call it as exp(...)"),
    ("exp(x, y)", 0, "exp takes 1 argument; got 2"),
    ("leaky_relu(x, 1, 2)", 0, "takes 1 or 2 arguments"),
    ("x, y", 1, "outside a function call"),
    ("exp()", 4, "expected a number"),
    ("   ", 0, "empty"),
    ("x + 1e999", 4, "too large"),
    ("x # comment", 2, "unexpected character '#'"),
])
def test_bad_expressions_point_at_the_offending_character(text, position, words):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    error = info.value
    assert error.position == position
    assert words in str(error)
    # the message repeats the expression with a caret under that character
    lines = str(error).splitlines()
    assert lines[-2] == "  " + text
    assert lines[-1] == "  " + " " * position + "^"


def test_caret_stays_aligned_in_a_window_of_a_long_expression():
    text = "x + " * 100 + "* y"
    with pytest.raises(ExpressionError) as info:
        parse(text)
    *_, shown, caret = str(info.value).splitlines()
    assert shown[caret.index("^")] == "*"


def test_missing_name_lists_the_names_that_have_values():
    with pytest.raises(ExpressionError) as info:
        build("x * y + z", {"x": 1.0, "z": 2.0})
    assert info.value.position == 4
    assert "'y'" in str(info.value) and "names with values: x, z" in str(info.value)


def test_unknown_function_lists_every_known_function():
    with pytest.raises(ExpressionError) as info:
        parse("softplus(x)")
    for name in FUNCTIONS:
        assert name in str(info.value)


def test_the_slope_of_leaky_relu_must_be_a_number():
    with pytest.raises(ExpressionError, match="slope of leaky_relu"):
        build("leaky_relu(x, a)", {"x": 1.0, "a": 0.1})


def test_values_must_be_real_numbers():
    with pytest.raises(TypeError, match="'x' must be a real number"):
        build("x", {"x": "2"})
    with pytest.raises(TypeError, match="needs the expression as a str"):
        parse(b"x")


def test_domain_errors_are_the_engines_with_the_position():
    with pytest.raises(ValueError, match="log.*position 4"):
        build("1 + log(x)", {"x": -1.0})
    with pytest.raises(ZeroDivisionError, match="position 2"):
        build("x / (y - y)", {"x": 1.0, "y": 2.0})


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo hi')",
    "x.__class__.__bases__",
    "().__class__",
    "open('/etc/passwd')",
    "eval('1')",
    "exec",
    "lambda: 1",
    "x if x else x",
    "[x for x in x]",
    "x; import os",
    "`x`",
    "{x}",
    "x[0]",
    "getattr(x, 'data')",
])
def test_hostile_expressions_are_rejected_without_running_anything(text):
    import builtins

    calls = []
    names = ("eval", "exec", "compile", "__import__", "open")
    saved = {name: getattr(builtins, name) for name in names}

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the parser must never evaluate Python")

    def tree_only(source, filename, mode, flags=0, *args, **kwargs):
        # ast.parse is compile() asked for a tree: allowed; compiling to code is not.
        if not flags & ast.PyCF_ONLY_AST:
            return forbidden(source)
        return saved["compile"](source, filename, mode, flags, *args, **kwargs)

    for name in names:
        setattr(builtins, name, tree_only if name == "compile" else forbidden)
    try:
        with pytest.raises(ExpressionError):
            build(text, {"x": 1.0, "os": 1.0})
    finally:
        # restored before pytest reports anything: it needs these itself
        for name, original in saved.items():
            setattr(builtins, name, original)
    assert calls == []


def test_very_long_input_is_refused_before_parsing():
    with pytest.raises(ExpressionError, match=f"the limit is {MAX_LENGTH}"):
        parse("x+" * MAX_LENGTH + "x")


def test_deep_nesting_and_long_chains_within_the_limits_build():
    depth = MAX_DEPTH
    root, leaves = build("(" * depth + "x" + ")" * depth, {"x": 2.5})
    assert root is leaves["x"]
    terms = MAX_OPERATORS + 1
    root, leaves = build("x+" * (terms - 1) + "x", {"x": 1.0})
    root.backward()
    assert root.data == terms and leaves["x"].grad == terms
    root, leaves = build("-" * MAX_OPERATORS + "x", {"x": 1.0})
    assert root.data == (1.0 if MAX_OPERATORS % 2 == 0 else -1.0)
    root, _ = build("tanh(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH, {"x": 0.5})
    assert root.op == "tanh"


@pytest.mark.parametrize("text, position, words", [
    ("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), MAX_DEPTH, "nests parentheses"),
    ("tanh(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), 5 * MAX_DEPTH + 4,
     "nests parentheses"),
    ("x+" * (MAX_OPERATORS + 1) + "x", 2 * MAX_OPERATORS + 1, "more than 1000 operators"),
    ("-" * (MAX_OPERATORS + 1) + "x", MAX_OPERATORS, "more than 1000 operators"),
    ("x+" * ((MAX_LENGTH - 1) // 2) + "x", None, "the limit is"),
    ("-" * (MAX_LENGTH - 1) + "x", None, "the limit is"),
])
def test_deep_or_huge_input_is_refused_with_a_message_not_a_recursion_error(text, position,
                                                                               words):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert words in str(info.value)
    if position is not None:
        assert info.value.position == position


@pytest.mark.parametrize("text", ["-" * 3000 + "x", "(" * 300 + "x" + ")" * 300,
                                  "x+" * 4000 + "x"])
def test_what_pythons_own_parser_cannot_take_is_refused_before_it_sees_it(text):
    # Python's parser fails on these with RecursionError, MemoryError or SyntaxError ...
    with pytest.raises((RecursionError, MemoryError, SyntaxError)):
        ast.parse(text, mode="eval")
    # ... and the expression parser with its own message.
    with pytest.raises(ExpressionError, match="the limit is"):
        parse(text)


def test_a_failure_of_pythons_parser_within_the_limits_is_still_a_clear_error(monkeypatch):
    def overflow(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded during ast construction")

    monkeypatch.setattr(expr.ast, "parse", overflow)
    with pytest.raises(ExpressionError, match="Python's parser refused the expression"):
        parse("x + 1")


def test_the_command_refuses_deep_input_with_exit_2(capsys):
    assert main(["graph", "(" * 150 + "x" + ")" * 150, "x=1"]) == 2
    _, err = capsys.readouterr()
    assert "nests parentheses more than 100 deep" in err and "Traceback" not in err


def test_whitespace_and_line_breaks_inside_an_expression_keep_their_positions():
    root, _ = build("  x *\n y ", {"x": 2.0, "y": 3.0})
    assert root.data == 6.0
    with pytest.raises(ExpressionError) as info:
        parse("  x *\t* y")
    assert info.value.position == 6


# ---- what the language accepts: decided, documented in the module, and tested -----------------

def test_the_functions_are_the_op_tables_methods():
    from microgrant.ops import OPS

    assert list(FUNCTIONS) == [op.method for op in OPS.values() if op.method]
    for name in FUNCTIONS:
        op = next(op for op in OPS.values() if op.method == name)
        assert op.formula in FUNCTIONS[name]
        assert op.domain in FUNCTIONS[name]
        root, leaves = build(f"{name}(x)", {"x": 0.7})
        assert root.op == op.name and root.inputs == (leaves["x"],)


def test_an_ops_argument_is_its_second_argument_and_has_its_methods_default():
    root, _ = build("leaky_relu(x, 0.25)", {"x": -2.0})
    assert root.arg == 0.25 and root.data == -0.5
    assert build("leaky_relu(x)", {"x": -2.0})[0].arg == Value(-2.0).leaky_relu().arg


def test_the_argument_may_be_a_constant_expression_but_never_a_name():
    root, _ = build("leaky_relu(x, 1/4)", {"x": -2.0})
    assert root.arg == 0.25
    with pytest.raises(ExpressionError) as info:
        parse("leaky_relu(x, 2 * a)")
    assert info.value.position == 18 and "'a'" in str(info.value)


@pytest.mark.parametrize("text, position", [
    ("x+\u0661", 2),       # ARABIC-INDIC DIGIT ONE: Python's float() would read it as 1
    ("x+2\u0661", 2),
    ("\uff11 * x", 0),     # FULLWIDTH DIGIT ONE
    ("x + \u00b2", 4),     # SUPERSCRIPT TWO
])
def test_only_ascii_digits_make_numbers(text, position):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.position == position
    assert "ASCII digits 0-9" in str(info.value)


def test_names_are_ascii_and_unicode_spaces_are_refused():
    with pytest.raises(ExpressionError, match="letters A-Z, a-z"):
        parse("\u0177 * 2")   # ŷ, as the notes write it
    with pytest.raises(ExpressionError, match="ordinary spaces") as info:
        parse("x\u00a0+ 1")   # a no-break space, as copied from a web page
    assert info.value.position == 1


@pytest.mark.parametrize("name", ["lambda", "if", "True", "None", "not", "import", "yield"])
def test_python_keywords_cannot_be_names(name):
    with pytest.raises(ExpressionError) as info:
        parse(f"2 * {name}")
    assert info.value.position == 4
    assert f"{name!r} is a Python keyword" in str(info.value)
    assert f"{name}_" in str(info.value)
    assert parse(f"2 * {name}_").names == (f"{name}_",)


def test_soft_keywords_are_ordinary_names_as_in_python():
    assert parse("match * case + type + _").names == ("match", "case", "type", "_")


@pytest.mark.parametrize("text", ["007", "01 + x", "x * 0009"])
def test_a_whole_number_with_leading_zeros_is_refused_as_python_does(text):
    with pytest.raises(SyntaxError):
        compile(text, "<expression>", "eval")
    with pytest.raises(ExpressionError, match="cannot start with 0"):
        parse(text)


@pytest.mark.parametrize("text", ["00 * x", "01.5 * x", "007e1 * x", "0.25 * x", "0 * x"])
def test_numbers_python_reads_with_leading_zeros_are_read_the_same(text):
    x = 2.0
    expected = eval(text, {"__builtins__": {}}, {"x": x})  # the oracle: Python's own reading
    assert build(text, {"x": x})[0].data == expected
