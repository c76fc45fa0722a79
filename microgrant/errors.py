"""The engine's error messages: what went wrong, at which numbers, and what to do instead.

A learner meets these when an op is asked for a number it does not have (``log(-1)``), when a
local derivative does not exist where backprop needs it (``sqrt`` at 0), or when ``.data`` was
set to something that is not a number.  Every replay of the chain rule (`Value.backward`,
`microgrant.autodiff`, the pictures) raises them, so the same mistake reads the same
everywhere; each names the op as the learner wrote it (``a ** b``, ``log``, never the table's
identifier ``vpow``), its inputs' numbers and labels, and where the op is defined.
"""

from __future__ import annotations

from .checks import shown
from .ops import OPS, Op

__all__ = ["typed", "written", "describe", "forward_error", "result_error", "data_error",
           "undefined_grad_error"]

# The table's display symbols as Python spells them: a learner typed `a ** b`, not `a^b`
# (which Python reads as exclusive or) nor `a ÷ b`.
_TYPED = {"×": "*", "÷": "/", "−": "-", "^": " ** "}


def typed(text: str) -> str:
    """A formula in the op table's symbols (``x × w``, ``a^b``) as Python spells it.

    >>> typed("x × w"), typed("a^b − 1")
    ('x * w', 'a ** b - 1')
    """
    for symbol, python in _TYPED.items():
        text = text.replace(symbol, python)
    return text


def written(op: Op, count: int = 1) -> str:
    """The op as a learner writes it in Python, over the names its formulas use.

    A method is named as called (``log``); an operator is written out with its inputs, so
    the message reads as the line that failed.

    >>> written(OPS["vpow"], 2), written(OPS["pow"]), written(OPS["div"], 2), written(OPS["log"])
    ('a ** b', 'x ** n', 'a / b', 'log')
    """
    if op.method or op.arity == 0:  # `Value.sum` and a neuron's `dot`: named as called
        return op.method or op.name
    return typed(op.write(list(op.input_names(count)), op.arg_name))


def describe(op: Op, inputs: tuple, arg) -> str:
    """'x = -1.0' or 'a = 2.0, b = 0.0', with each input's label where it has one."""
    parts = []
    for name, v in zip(op.input_names(len(inputs)), inputs):
        label = f" ('{v.label}')" if v.label else ""
        parts.append(f"{name} = {v.data!r}{label}")
    if arg is not None:
        parts.append(f"{op.arg_name or 'arg'} = {arg!r}")
    return ", ".join(parts)


def forward_error(op: Op, inputs: tuple, arg, error: Exception) -> Exception:
    """Rewrites math's terse 'math domain error' into a message a learner can act on."""
    for v in inputs:
        if type(v.data) is not float:  # someone assigned .data by hand
            return data_error(v)
    what = describe(op, inputs, arg)
    if isinstance(error, OverflowError):
        return OverflowError(f"{written(op, len(inputs))} overflowed at {what}: the result is "
                             "beyond the largest float, about 1.8e308")
    needs = f": it needs {op.domain}" if op.domain else ""
    return type(error)(f"{written(op, len(inputs))} cannot be computed at {what}{needs} "
                       f"({error})")


def result_error(op: Op, inputs: tuple, result) -> TypeError:
    """The error for an op whose forward gave something that is not a real number."""
    return TypeError(f"{written(op, len(inputs))} gave {shown(result)} at "
                     f"{describe(op, inputs, None)}, not a real number")


def data_error(v) -> TypeError:
    """The error for a Value whose ``.data`` was set by hand to something not a number."""
    name = f"'{v.label}'" if v.label else "a Value"
    return TypeError(f"{name} has .data = {shown(v.data)}; .data must be a real number (a "
                     f"float). Assign a number: v.data = 3.0, or float(array[0]) for one "
                     f"element of an array")


def undefined_grad_error(node, index: int, error: Exception | None = None) -> Exception:
    """The error for a local derivative of ``node`` that does not exist where it was asked.

    Used by every replay of the chain rule (`Value.backward`, `microgrant.autodiff`, the
    pictures), so the same mistake reads the same everywhere.

    >>> from microgrant import Value
    >>> x = Value(0.0, label="x")
    >>> print(undefined_grad_error(x.sqrt(), 0))  # doctest: +NORMALIZE_WHITESPACE
    the local derivative of sqrt is undefined at x = 0.0 ('x'):
    d sqrt(x)/dx = 1 / (2 sqrt(x)); it exists for x > 0
    """
    op = OPS[node.op]
    inputs = node.inputs
    label = f" '{node.label}'" if node.label else ""
    exists = f"; it exists for {op.grad_domain}" if op.grad_domain else ""
    where = describe(op, inputs, node.arg)
    name = written(op, len(inputs))
    if isinstance(error, OverflowError):
        return OverflowError(f"the local derivative of {name}{label} overflowed at {where}: "
                             f"{op.formula_for(index)} is beyond the largest float")
    cause = f" ({error})" if error is not None else ""
    kind = type(error) if error is not None else ValueError
    return kind(f"the local derivative of {name}{label} is undefined at {where}: "
                f"{op.formula_for(index)}{exists}{cause}")
