"""watch: what a traced run of a loss does with its numbers, beyond the graph it records.

A replay of a recorded graph is right only if the graph did not depend on the numbers.  While
``loss_fn`` is traced, every Value in play (the inputs, the parameters it reaches, and every
Value returned during the run) holds a `Number` in ``.data``: a real ``float`` (so
``isinstance``, numpy, json, ``statistics`` and other threads see the number itself) that
remembers which Values it came from.  Arithmetic on it gives another `Number`; every use that
*looks* at it (a comparison, ``bool``, ``int``, ``round``, ``hash``, printing, ``float()``
outside the engine) is noted as a guard by the `Trace`.  microgrant's own checks cooperate
through the hooks of `microgrant.checks` (``KEEP``, ``CHECK``, ``SHIFT``).

This is the one module that looks at frames: a watched run sets a per-thread profile function
(calling on to any profiler already set, so a user's profiler keeps working) that gives each
Value returned by a function a `Number`, and it names the user's line in messages.

C functions read a float subclass's value directly, unseen: ``math.exp(x.data)`` gives a
plain float the replay would keep as a constant.  The profile function is told of every call
of a function written in C (its ``c_call`` event names the function, not its arguments), so a
call of a function of a `C_READERS` module from outside microgrant makes the trace unreplayable
(`Trace.c_called`).  Calls from microgrant's own code (the op table's forwards use ``math`` on
traced numbers on purpose) are the graph at work.
"""

from __future__ import annotations

import cmath
import math
import os
import struct
import sys
import sysconfig
import threading
import types
from typing import Any, Callable

import numpy as np

from .. import checks, engine, ops
from ..engine import Value, is_grad_enabled
from ..gradmode import WATCHING

__all__ = ["Number", "Trace", "watching", "profiler_in_the_way", "user_line", "user_depth",
           "SHIFT_BAND", "C_READERS"]

SHIFT_BAND = 50.0
"""How far the largest of some scores may move from the shift traced as their max
(`microgrant.checks.stabilizer`) before the step traces again.  Within it, exp of a shifted
score never overflows, and log-sum-exp loses at most about 50 units of 2^-52, relative to its
terms, to the shift."""

C_READERS = (math, cmath, struct)
"""Modules whose C functions, called from outside microgrant while a trace runs, make that
trace unreplayable: they read a traced number as the plain float it is (``math.exp(x.data)``,
``math.fsum``, ``struct.pack``), and the profile function sees which function is called but
not on what, so a call on plain constants counts too."""
# Not among them: the functions of integers (a float argument is a TypeError), and floor,
# ceil and trunc, which ask the number's own method for a float subclass (a guard, as round).
_READING = frozenset(f for module in C_READERS for f in vars(module).values()
                     if isinstance(f, types.BuiltinFunctionType)) - {
    math.gcd, math.lcm, math.comb, math.perm, math.factorial, math.isqrt, math.floor,
    math.ceil, math.trunc}

_PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
# Python's own library and installed packages: a math call from there (statistics.fmean calls
# math.fsum) is made on behalf of the code that called into it.
_LIBRARY = tuple({os.path.join(os.path.abspath(path), "") for key, path in
                  sysconfig.get_paths().items() if key in ("stdlib", "platstdlib", "purelib",
                                                          "platlib")})
_OP_TABLE = vars(ops)  # the op table's functions run with these globals
_ENGINE_CODE = vars(engine)  # and the engine's with these
_SYMBOL = {"__eq__": "==", "__ne__": "!=", "__lt__": "<", "__le__": "<=", "__gt__": ">",
           "__ge__": ">="}
_EXACT_INT = 2 ** 53


def _ours(frame) -> bool:
    """Whether ``frame`` runs microgrant's own code."""
    return frame.f_code.co_filename.startswith((_PACKAGE, "<microgrant"))


def _where(frame) -> str:
    code = frame.f_code
    return f"{os.path.basename(code.co_filename)}:{frame.f_lineno} in {code.co_name}"


def _user_frame() -> tuple[Any, int]:
    """The innermost frame outside the microgrant package (``None`` if there is none), and
    how far up it is from the caller of the function that asks (its own frame is 1)."""
    frame: Any = sys._getframe(2)
    depth = 1
    while frame is not None and _ours(frame):
        frame, depth = frame.f_back, depth + 1
    return frame, depth


def user_line() -> str:
    """Where the user's code is: the innermost frame outside the microgrant package."""
    frame, _ = _user_frame()
    return "loss_fn" if frame is None else _where(frame)


def user_depth() -> int:
    """The ``stacklevel`` of a warning that names the user's line, for its caller."""
    return _user_frame()[1]


def _in_op() -> bool:
    """Whether the number is being used by an op's forward, called by the engine: the graph
    at work, not a decision (frames: the dunder, then the op table's, then the engine's)."""
    frame: Any = sys._getframe(3)
    inside = False
    while frame is not None and (frame.f_globals is _OP_TABLE
                                 or frame.f_code.co_filename.startswith("<microgrant")):
        frame, inside = frame.f_back, True
    return inside and frame is not None and frame.f_globals is _ENGINE_CODE


def _plain(x):
    return float.__float__(x) if isinstance(x, Number) else x


class Number(float):
    """A Value's number while a trace watches it: the float itself, remembering its roots.

    ``node`` is the Value whose number this is (``None`` for a number computed from such
    numbers); ``parts`` the Numbers it was computed from, and `roots` the Values they come
    from (found only when asked: arithmetic stays cheap).  Once its trace is over it behaves
    as the float it is and notes nothing.
    """

    __slots__ = ("node", "parts", "trace")
    node: Any
    parts: tuple
    trace: Any

    def __new__(cls, value=0.0):
        # Code that rebuilds a number through its type (statistics, copy) gets a plain float.
        return float(value)

    @staticmethod
    def make(value: float, node, parts: tuple, trace: Trace) -> Number:
        n = float.__new__(Number, value)
        n.node, n.parts, n.trace = node, parts, trace
        return n

    @property
    def roots(self) -> tuple:
        """The Values this number was computed from."""
        found: dict = {}
        stack, seen = [self], set()
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            if n.node is not None:
                found[n.node] = None
            else:
                stack.extend(n.parts)
        return tuple(found)

    def __deepcopy__(self, memo):
        # A copy made in the traced run reads the same number (an alias); one made in another
        # thread, or after the trace, gets the plain float.
        return self if self.trace.mine() else float.__float__(self)

    def __copy__(self):
        return self if self.trace.mine() else float.__float__(self)

    def __reduce__(self):  # pickling takes the number
        self.trace.looked(self, "pickles")
        return (float, (float.__float__(self),))

    def __float__(self):
        # The engine turns an op's result into a float; the new Value gets its own Number.
        if sys._getframe(1).f_globals is _ENGINE_CODE:
            self.trace.converted(self)
        else:
            self.trace.looked(self, "float()")
        return float.__float__(self)


_new, _getframe = float.__new__, sys._getframe


def _arith(name: str):
    method = getattr(float, name)  # float's own methods take a Number as the float it is

    def arith(self, other=None):
        result = method(self) if other is None else method(self, other)
        trace = self.trace
        # (Trace.mine written out, and no builtin called where it can be helped: the profile
        # function runs for every call of a builtin, and this runs for every op's forward.)
        try:
            mine = trace.open and trace.here.mine
        except AttributeError:  # another thread
            mine = False
        if type(result) is not float or not mine:
            if mine and result is not NotImplemented:
                trace.looked(self, name)
            return result
        if _getframe(1).f_globals is _OP_TABLE:
            # The op table at work: a forward's result becomes a node (its own Number); a
            # partial's (local_grads) is judged when the engine returns it (see profile).
            trace.tentative += ((trace.looked_now, (self, name)),)
            return result
        n = _new(Number, result)
        n.node, n.trace = None, trace
        n.parts = (self, other) if type(other) is Number and other.trace is trace else (self,)
        return n
    arith.__name__ = name
    return arith


def _look(name: str):
    method = getattr(float, name)

    def look(self, *args):
        self.trace.looked(self, name)
        return method(float.__float__(self), *map(_plain, args))
    look.__name__ = name
    return look


def _part(name: str) -> property:
    def part(self):
        self.trace.looked(self, name)
        return getattr(float.__float__(self), name)
    return property(part)


def _compare(name: str):
    method = getattr(float, name)

    def compare(self, other):
        result = method(self, other)
        if result is not NotImplemented and self.trace.mine():
            self.trace.compared(self, name, other, result)
        return result
    compare.__name__ = name
    return compare


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
              "__rmod__", "__pow__", "__rpow__", "__neg__", "__pos__", "__abs__"):
    setattr(Number, _name, _arith(_name))
for _name in ("__divmod__", "__rdivmod__", "__int__", "__trunc__", "__floor__", "__ceil__",
              "__round__", "__hash__", "__repr__", "__str__", "__format__", "is_integer",
              "hex", "as_integer_ratio", "conjugate"):
    setattr(Number, _name, _look(_name))
for _name in _SYMBOL:
    setattr(Number, _name, _compare(_name))
# float's own descriptor would hand C the number unseen (imag is 0.0 whatever the number)
Number.real = _part("real")  # type: ignore[method-assign, assignment]
Number.__bool__ = lambda self: self.__ne__(0.0)  # type: ignore[method-assign]
setattr(Number, checks.KEEP, lambda self: self.trace.mine())
setattr(Number, checks.CHECK, lambda self, ok: self.trace.check(self, ok))
setattr(Number, checks.SHIFT, staticmethod(lambda numbers: _shift(numbers)))
setattr(Number, checks.FOLD, staticmethod(lambda numbers: _folded(numbers)))


def _shift(numbers: list) -> float:
    trace = next(n.trace for n in numbers if isinstance(n, Number))
    return trace.shift(numbers)


def _folded(numbers: list) -> None:
    for n in numbers:
        if isinstance(n, Number) and n.trace.mine():
            n.trace.folded(numbers)
            return


_GRADIENT = "a gradient"  # the root of the numbers read from a .grad (see Trace.mark)


def _named(v) -> str:
    if not isinstance(v, Value):
        return repr(v)
    return f"'{v.label}'" if v.label else f"a Value ({v.op or 'leaf'})"


class Trace:
    """What one watched run of ``loss_fn`` did with numbers, beyond the graph it recorded."""

    def __init__(self) -> None:
        self.open = True
        self.here = threading.local()  # set in the tracing thread only
        self.here.mine = True
        self.tainted: list[Value] = []
        self.restored = 0
        self.own: set[int] = set()            # ids of Values given their Number here
        self.outcomes: dict = {}              # (node, name, other) -> outcome
        self.exact: dict = {}                 # node -> None: numbers checked unchanged
        self.checked: dict = {}               # ok -> {node: None}: checks.satisfies
        self.shifts: list = []                # (nodes, max): checks.stabilizer
        self.reasons: list[str] = []
        self.unwatched = ""                   # why no replay can follow this run (see refuse)
        self.pending: Number | None = None    # the engine's last float() of a Number
        self.tentative: list = []             # uses inside the op table, not yet judged
        self.previous: Callable | None = None
        self.quiet = False                    # running a check on plain floats (see check)
        self.gradient: Number | None = None   # what every mark is computed from (see mark)
        self.originals: dict = {}             # id -> a .data that was not a float (see taint)

    def mine(self) -> bool:
        """Whether the trace is open and this is its thread (others see plain floats)."""
        try:
            return self.open and self.here.mine
        except AttributeError:  # another thread
            return False

    # ---- the numbers ---------------------------------------------------------------------

    def taint(self, v: Value) -> None:
        d = getattr(v, "data", None)  # a Value being rebuilt (copy) has none yet
        if type(d) is not float:
            if isinstance(d, Number):
                if d.trace is self:  # watched already (a copy of a traced number: an alias)
                    return
                d = float.__float__(d)  # left over from an earlier trace: the float it is
            elif not isinstance(d, (int, float, np.integer, np.floating)) or isinstance(
                    d, (bool, np.bool_)):
                return
            else:
                self.originals[id(v)] = d  # an int or numpy number, given back as it was
        n = _new(Number, d)  # (Number.make written out: it runs for every node)
        n.node, n.parts, n.trace = v, (), self
        v.data = n
        self.tainted.append(v)
        self.own.add(id(v))

    def mark(self, grad):
        """A watched number of ``grad``'s value, standing for it while the trace runs.

        What this thread computes from it is a Number of this trace, what another thread
        computes a plain float (`microgrant.compile.judge.grads_written` tells them apart);
        a use of it (``min(p.grad, 0.4)``, ``w * p.grad``) is a gradient read, which no
        replay can follow.
        """
        if type(grad) is not float:
            return grad
        if self.gradient is None:
            self.gradient = Number.make(0.0, _GRADIENT, (), self)
        n = _new(Number, grad)
        n.node, n.parts, n.trace = None, (self.gradient,), self
        return n

    def restore(self) -> None:
        """Every Value given a Number gets its plain float back (Ctrl-C cannot stop it).

        The Values stay listed (and alive) until `forget`: while they are, no other Value
        can take one's id, which tells the Values this run watched.
        """
        self.open = False
        interrupted = None
        while self.restored < len(self.tainted):
            try:
                while self.restored < len(self.tainted):
                    v = self.tainted[self.restored]
                    d = v.data
                    if not isinstance(d, Number) or d.node is not v:
                        self.refuse(f"loss_fn (or another thread, while it was traced) "
                                    f"assigns {_named(v)}.data, which a replay would not "
                                    f"repeat")
                    if isinstance(d, Number):
                        v.data = (self.originals.get(id(v), float.__float__(d))
                                  if d.node is v else float.__float__(d))
                    self.restored += 1
            except KeyboardInterrupt as error:  # finish first, then stop as asked
                interrupted = error
        if interrupted is not None:
            raise interrupted

    def forget(self) -> None:
        """Lets go of the Values the run made (once the trace has been judged)."""
        self.tainted, self.own = [], set()

    # ---- what the numbers were used for -----------------------------------------------------

    def _reason(self, text: str) -> None:
        if len(self.reasons) < 20 and text not in self.reasons:
            self.reasons.append(text)

    def refuse(self, why: str) -> None:
        """Notes why no replay can follow this run; the first reason is the one said."""
        if not self.unwatched:
            self.unwatched = why

    def exactly(self, roots: tuple, why: str, where: str = "") -> None:
        for node in roots:
            if node is _GRADIENT:  # a number read from a gradient (see mark)
                self.refuse(f"{where or user_line()} reads a gradient (.grad), which a replay "
                            f"would keep as it was; call zero_grad() and clip gradients "
                            f"outside loss_fn, or take a gradient inside it with grad(..., "
                            f"create_graph=True)")
                continue
            if node not in self.exact:
                self.exact[node] = None
                self._reason(f"{where or user_line()} {why} {_named(node)}")

    def looked(self, n: Number, what: str) -> None:
        if not self.mine():
            return
        if _in_op():  # decided when the engine returns (see profile)
            self.tentative.append((self.looked_now, (n, what)))
            return
        self.looked_now(n, what)

    def looked_now(self, n: Number, what: str, where: str = "") -> None:
        self.exactly(n.roots, f"uses the number ({what}) of", where)

    def folded(self, numbers: list) -> None:
        """The engine computed a constant from ``numbers`` (an op on Values that take no
        gradient): a replay would keep it, so the numbers it came from are guarded exactly."""
        roots = tuple(r for n in numbers if isinstance(n, Number) and n.trace is self
                      for r in n.roots)
        self.exactly(roots, "computes a constant (an op whose inputs take no gradient, as "
                            "after .detach(); .stop_gradient() is replayed instead) from")

    def converted(self, n: Number) -> None:
        if self.mine():
            self.pending = n

    def compared(self, n: Number, name: str, other, outcome) -> None:
        if not self.mine():
            return
        if _in_op():  # decided when the engine returns (see profile)
            self.tentative.append((self.compared_now, (n, name, other, outcome)))
            return
        self.compared_now(n, name, other, outcome)

    def compared_now(self, n: Number, name: str, other, outcome, where: str = "") -> None:
        rhs: Any = None
        if isinstance(other, Number) and other.trace is self:
            rhs = other.node
        elif isinstance(other, (int, float, np.integer, np.floating, np.bool_)) and not (
                isinstance(other, Number)):
            if isinstance(other, (int, np.integer)) and abs(int(other)) > _EXACT_INT \
                    and float(other) != int(other):
                rhs = None  # no float holds it: the number itself is guarded instead
            else:
                rhs = float(other)
        if n.node is None or rhs is None:
            roots = n.roots + (other.roots if isinstance(other, Number) else ())
            self.exactly(roots, f"compares ({_SYMBOL[name]}) the number of", where)
            return
        key = (n.node, name, rhs)
        if key not in self.outcomes:
            self.outcomes[key] = bool(outcome)
            self._reason(f"{where or user_line()} compares {_named(n.node)} {_SYMBOL[name]} "
                         f"{_named(rhs)}")

    def check(self, n: Number, ok: Callable) -> bool:
        """`checks.satisfies` on a traced number: kept as a check when it can be one."""
        plain = float.__float__(n)
        self.quiet = True  # ``ok`` sees plain floats and arrays: its math calls are harmless
        try:
            result = bool(ok(plain))
            works = self.open and result and n.node is not None and _works_on_arrays(ok, plain)
        finally:
            self.quiet = False
        if works:
            self.checked.setdefault(ok, {})[n.node] = None
        elif self.open:
            self.exactly(n.roots, "checks (and the check decides) the number of")
        return result

    def shift(self, numbers: list) -> float:
        """`checks.stabilizer` on traced numbers: the max, kept while the largest stays near."""
        plain = [_plain(x) for x in numbers]
        top = float(max(plain))
        # Each score a Value this run watches, or a plain float: a constant (a fixed logit).
        nodes = [x.node if isinstance(x, Number) and x.trace is self else float(x)
                 for x in numbers]
        if self.open and any(isinstance(n, Value) for n in nodes):
            if all(n is not None for n in nodes):
                self.shifts.append((nodes, top))
                self._reason(f"softmax's shift, the max of {len(nodes)} scores, is kept "
                             f"while the largest stays within {SHIFT_BAND:g} of it")
            else:
                roots = tuple(r for x in numbers if isinstance(x, Number) for r in x.roots)
                self.exactly(roots, "takes softmax's shift from")
        return top

    # ---- the profile function --------------------------------------------------------------

    def profile(self, frame, event, arg):
        if event == "return":
            if type(arg) is Value:
                # Most returns pass on a Value watched already (an op's result on its way up
                # from the engine to the user's code): nothing to do, and asked first.
                if id(arg) not in self.own or self.tentative or self.pending is not None:
                    self.returned(frame, arg)
            elif self.tentative:
                self.returned(frame, arg)
        elif event == "c_call" and arg in _READING:
            self.c_called(frame, arg)

    def chained(self, frame, event, arg):
        self.previous(frame, event, arg)  # type: ignore[misc]
        self.profile(frame, event, arg)

    def c_called(self, frame, fn) -> None:
        """``frame`` calls ``fn``, a function of a `C_READERS` module: unless microgrant's own
        code is the caller (directly or through Python's library), no replay of this run can
        be trusted."""
        caller, through = frame, None
        while caller is not None and not _ours(caller) and (
                caller.f_code.co_filename.startswith(_LIBRARY)):
            caller, through = caller.f_back, caller
        if caller is None or _ours(caller) or self.quiet or self.unwatched or not self.mine():
            return
        name = f"{fn.__module__.lstrip('_')}.{fn.__name__}"
        if through is not None:
            module = through.f_globals.get("__name__", "")
            function = getattr(through.f_code, "co_qualname", through.f_code.co_name)
            name = f"{module}.{function} (which calls {name})"
        self.refuse(
            f"{_where(caller)} calls {name}, C code that reads a Value's number as a plain "
            f"float where the trace cannot see it, so a replay would keep its result as a "
            f"constant. To compile, write it with Value ops (out.exp(), .log(), .sqrt(), "
            f".tanh(), ** 0.5), or compute the number outside loss_fn and pass it in as an "
            f"array argument. The trace cannot tell a call on constants (math.sqrt(d)) from "
            f"one on a Value's number: write those as d ** 0.5, or compute them outside loss_fn")

    def returned(self, frame, arg) -> None:
        """A function returned ``arg``: an engine-made Value gets its Number."""
        engine = frame.f_globals is _ENGINE_CODE
        if self.tentative and engine and (arg is None or type(arg) in (Value, tuple)):
            # An op's forward computing a node: the graph at work, which the replay repeats.
            # Anything else the engine returns (local_grads' numbers, backward's gradients)
            # was computed from those uses: they were decisions and constants after all.
            tentative, self.tentative = self.tentative, []
            if type(arg) is not Value:
                # Named only now (most uses are the graph at work): the user's line is the
                # one still calling the engine.
                where = user_line()
                for note, args in tentative:
                    note(*args, where)
        if type(arg) is Value and engine:
            # The engine made (or passed on) this Value in this thread: it is watched from
            # now on.  One made elsewhere (another thread) stays unwatched, and is refused.
            pending, self.pending = self.pending, None
            if id(arg) in self.own:
                return
            if not is_grad_enabled():
                self.refuse(f"{user_line()} computes under no_grad(): a replay would keep "
                            f"that number; use .detach() instead")
            elif pending is not None and arg.grad is None and not arg.op:
                self.exactly(pending.roots, "makes a constant from")
            self.taint(arg)


def profiler_in_the_way() -> str:
    """Why this thread cannot be watched now, or ``""``: a profiler written in C (cProfile)
    cannot be called on from Python, and stopping it would lose the user's profile."""
    previous = sys.getprofile()
    if previous is None or callable(previous):
        return ""
    return (f"a profiler written in C ({type(previous).__name__}, as cProfile installs) is "
            f"running in this thread; watching a trace would stop it, so calls run eagerly "
            f"while it runs (the eager engine's numbers), and compile once it stops")


class watching:
    """Runs the profile function of ``trace`` in this thread, after any profiler already set,
    and has the engine tell it of the constants it computes (`gradmode.WATCHING`)."""

    def __init__(self, trace: Trace):
        self.trace = trace

    def __enter__(self) -> Trace:
        self.trace.previous = sys.getprofile()
        sys.setprofile(self.trace.profile if self.trace.previous is None
                       else self.trace.chained)
        WATCHING[0] += 1
        return self.trace

    def __exit__(self, *exc) -> None:
        WATCHING[0] -= 1
        sys.setprofile(self.trace.previous)


def _works_on_arrays(ok: Callable, number: float) -> bool:
    """Whether ``ok`` on an array gives an elementwise bool array (so a replay can apply it)."""
    try:
        with np.errstate(all="ignore"):
            result = np.asarray(ok(np.array([number, number], dtype=np.float64)))
    except Exception:  # noqa: BLE001  (any failure means: not an array check)
        return False
    return result.shape == (2,) and result.dtype == bool and bool(result.all())
