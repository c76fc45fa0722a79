"""step: the compiled step a user calls: trace (watched), cache, replay, or run eagerly.

`CompiledStep` turns each call's arrays into input Values, traces ``loss_fn`` once per shape
under `watch` (its numbers watched, its randomness and its models' parameters compared), builds
the `plan.Program` and replays it; whatever a replay cannot follow runs eagerly, said once.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import threading
import warnings
from collections import OrderedDict
from operator import attrgetter
from typing import Callable

import numpy as np

from ..checks import shown
from ..engine import Value, is_grad_enabled, topological_order
from ..gradmode import GRADS_ADDED, GRADS_LOCK
from .judge import aliases, arguments, grads_written, leaves, refusal
from .leftovers import unescape_named
from .named import NamedState, values_named
from .plan import Program, Tape
from .randomness import generators_named, random_state, restore_random, saved_random
from .report import TOLERANCE, CheckReport, checked, describe_tape
from .watch import Trace, profiler_in_the_way, user_depth, user_line, watching

__all__ = ["CompiledStep", "MAX_PROGRAMS"]

_GRAD = attrgetter("grad")

#: Programs a step keeps (one per shape of its arrays); the least recently used goes first.
MAX_PROGRAMS = 8

# One trace at a time in the process: a trace gives Values it reaches a watched number, and
# two traces of one model at once would each see the other's.
_TRACING = threading.Lock()
# Which threads are tracing now: a compiled step called inside a traced loss_fn is refused
# (its result would be a number the outer trace cannot follow, and the lock would never free).
_HERE = threading.local()


class CompiledStep:
    """``loss_fn`` traced once per shape and replayed as array code; made by `compile`.

    Attributes:
        fn: the function compiled.
        calls: how many times the step was called.
        traces: how many times ``loss_fn`` was traced.
        eager_calls: calls that ran the eager engine instead.
        evictions: programs dropped from the cache (more than `MAX_PROGRAMS` shapes).
    """

    def __init__(self, fn: Callable):
        self.fn = fn
        self.calls = self.traces = self.eager_calls = self.evictions = 0
        self._programs: OrderedDict = OrderedDict()
        self._last: Program | None = None
        self._eager_reason: dict = {}
        self._unverified: dict = {}
        self._fresh: float | None = None
        self._changes = 0
        self._lock = threading.RLock()
        self._warned: set = set()
        self._named = NamedState(fn)
        try:
            names = [p.name for p in inspect.signature(fn).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            names = []
        self._names = names
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"<compiled {name}: {self.calls} calls, {self.traces} traces>"

    # ---- arguments ------------------------------------------------------------------------

    def _arrays(self, args: tuple) -> list[np.ndarray]:
        arrays = []
        for i, a in enumerate(args):
            try:
                if np.iscomplexobj(a):
                    raise TypeError(f"a compiled step takes real numbers; argument {i + 1} is "
                                    f"complex")
                array = np.asarray(a, dtype=np.float64)
            except ValueError as error:
                raise TypeError(f"a compiled step takes arrays (or nested lists) of real "
                                f"numbers with rows of one length; argument {i + 1} has rows "
                                f"of different lengths, or is not numbers: {shown(a)} "
                                f"({error})") from None
            except TypeError as error:
                if "complex" in str(error):
                    raise
                raise TypeError(f"a compiled step takes arrays (or nested lists) of real "
                                f"numbers; argument {i + 1} is {shown(a)} ({error})") from None
            arrays.append(array)
        return arrays

    def _stand_ins(self, arrays: list[np.ndarray], requires_grad: bool = False):
        """Each array as nested lists of Values of the same shape, and all of them flat.

        Traced, they take a gradient, so an op on them alone (``-y``) is a node the replay
        recomputes from each call's arrays, not a constant.
        """
        nested, flat = [], []
        for i, array in enumerate(arrays):
            name = self._names[i] if i < len(self._names) else f"arg{i + 1}"
            cells = np.empty(array.shape, dtype=object)
            for index, x in np.ndenumerate(array):
                where = "".join(f"[{k}]" for k in index)
                v = Value(float(x), label=f"{name}{where}", requires_grad=requires_grad)
                cells[index] = v
                flat.append(v)
            nested.append(cells.tolist())
        return nested, flat

    # ---- running ----------------------------------------------------------------------------

    def _loss(self, nested: list, constant: bool = False) -> Value:
        loss = self.fn(*nested)
        if not isinstance(loss, Value):
            raise TypeError(f"a compiled loss_fn must return one Value, the scalar loss; "
                            f"got {shown(loss)}")
        if loss.grad is None and not constant:
            raise RuntimeError("the loss is a constant: it depends on nothing with a "
                               "gradient (loss_fn's parameters have requires_grad=False, or "
                               "it ran under no_grad()), so there is nothing to compile")
        return loss

    def _eager(self, arrays: list[np.ndarray], backward: bool = True) -> float:
        """The eager engine's call; without ``backward`` (under `no_grad`), the loss alone."""
        nested, _ = self._stand_ins(arrays)
        loss = self._loss(nested, constant=not backward)
        if backward:
            loss.backward()
        self.eager_calls += 1
        self._named.take()  # what loss_fn changed itself is no news
        return float(loss.data)

    def _evaluated(self, arrays: list[np.ndarray], key) -> float:
        """Under `no_grad`: the loss alone, as ``loss_fn`` gives it there, and no gradient.

        A program traced and confirmed on these shapes computes it; else the eager engine.
        """
        program = self._programs.get(key)
        if (program is not None and key not in self._unverified and self._fresh is None
                and not program.forward(np.concatenate([a.ravel() for a in arrays]
                                                       or [np.zeros(0)]))):
            return float(program.V[program.loss_slot])
        return self._eager(arrays, backward=False)

    def _say(self, reason: str, kind: str = "") -> None:
        if (kind or reason) not in self._warned:
            self._warned.add(kind or reason)
            name = getattr(self.fn, "__name__", "loss_fn")
            warnings.warn(f"compiled {name}: {reason}", RuntimeWarning,
                          stacklevel=user_depth())

    def __call__(self, *args) -> float:
        if getattr(_HERE, "tracing", False):
            raise RuntimeError(f"{user_line()} calls a compiled step inside the loss_fn of a "
                               f"compiled step being traced: its number would be a constant "
                               f"the outer trace cannot follow. Call the inner loss function "
                               f"itself (uncompiled) inside, and compile only the outer one")
        arrays = self._arrays(args)
        key = tuple(a.shape for a in arrays)
        with self._lock:
            self.calls += 1
            if self._named.changed():
                # A number, Value, model or parameter loss_fn names was changed or replaced
                # since the trace, which took it as fixed: trace anew.
                self._programs.clear()
                self._eager_reason.clear()
                self._changes += 1
                if self.calls >= 10 and self._changes > self.calls // 2:
                    self._say("what loss_fn names (a number, list or dict in its closure, "
                              "globals or defaults; an attribute of an object or a model it "
                              "names, a counter or a log included) changes between most "
                              "calls, so it is traced again each time: pass such numbers in "
                              "as an array argument, and keep counters out of what it names",
                              "state")
            if not is_grad_enabled():
                return self._evaluated(arrays, key)
            if key in self._eager_reason:
                return self._eager(arrays)
            flat = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)
            program = self._programs.get(key)
            traced = program is None
            if program is None:
                program = self._trace(arrays, key)
                if program is None:
                    return self._eager(arrays)
            self._programs.move_to_end(key)
            self._last = program
            verdict, added = _forward(program, flat)
            if verdict == "retrace" and not traced:
                program = self._trace(arrays, key)
                if program is None:
                    return self._eager(arrays)
                self._last = program
                self._warn_retraces()
                verdict, added = _forward(program, flat)
            fresh, self._fresh = self._fresh, None  # the traced run's loss, after a trace
            if verdict:  # still failing right after a trace, or a domain error: eager
                return self._eager(arrays)
            if fresh is not None and not _agrees(program, fresh):
                return self._refuse(key, arrays, f"the replay's loss differs from the traced "
                                                 f"run's ({fresh!r}) on the same numbers")
            ran_on = self._unverified.get(key)  # (the parameters' numbers, the inputs) traced
            if ran_on is not None and not (np.array_equal(flat, ran_on[1]) and np.array_equal(
                    program.V[program.outer_slots], ran_on[0])):
                refused = self._confirm(key, program, arrays)
                del self._unverified[key]  # (once it has run: Ctrl-C in it leaves it to do)
                if refused is not None:
                    return refused
            grads = program.backward()
            if grads is None:
                return self._eager(arrays)
            _add(program.params, grads, program.grads_before, added)
            return float(program.V[program.loss_slot])

    def _warn_retraces(self) -> None:
        if self.calls >= 10 and self.traces > self.calls // 2:
            reasons = "; ".join(self._last.reasons[:3]) if self._last else ""
            self._say(f"traced again on {self.traces} of {self.calls} calls, because the "
                      f"numbers it decides from keep changing ({reasons}): it is slower than "
                      f"the eager engine this way. Where those decisions are your code's, "
                      f"write them with Value ops (relu, abs, step) instead", "retrace")

    def _keep(self, key, program) -> None:
        self._programs[key] = program
        self._programs.move_to_end(key)
        while len(self._programs) > MAX_PROGRAMS:
            self._programs.popitem(last=False)
            self.evictions += 1
            self._say(f"called with more than {MAX_PROGRAMS} shapes of arrays: it keeps the "
                      f"programs of the {MAX_PROGRAMS} used last and traces the others again "
                      f"when they come back (use one batch size, or pad the last batch)", "evict")

    def _trace(self, arrays: list[np.ndarray], key) -> Program | None:
        blocked = profiler_in_the_way()
        if blocked:  # this call only: a later one, the profiler stopped, traces
            self._say(f"runs eagerly: {blocked}", "profiler")
            return None
        with _collector_paused():
            return self._trace_locked(arrays, key)

    def _trace_locked(self, arrays: list[np.ndarray], key) -> Program | None:
        with _TRACING:
            _HERE.tracing = True
            try:
                loss, order, flat2, known, trace, reason, found = self._watched_runs(arrays)
            finally:
                _HERE.tracing = False
                unescape_named(self.fn)
                self._named.take()
        if reason:
            self._eager_reason[key] = reason
            self._say(f"every call with these shapes runs eagerly: {reason}")
            return None
        if not any(v.grad is not None for v in known):
            # Said once: later calls with these shapes run eagerly, where the engine says it.
            self._eager_reason[key] = "the loss depends on nothing with a gradient"
            raise RuntimeError("the loss is a constant: it depends on nothing with a gradient "
                               "but the arrays (loss_fn's parameters have requires_grad=False, "
                               "or it ran under no_grad()), so there is nothing to compile")
        program = Program(loss, flat2, known, trace, found, order)
        self._fresh = float(loss.data)  # what the first replay, on these numbers, must give
        self._keep(key, program)
        self._unverified[key] = _numbers(program), np.concatenate(
            [a.ravel() for a in arrays] or [np.zeros(0)])
        return program

    def _confirm(self, key, program: Program, arrays: list[np.ndarray]) -> float | None:
        """The first replay after the parameters or the inputs moved from the traced numbers,
        next to an eager run.

        What the trace could not see (a number read by C code, ``"%f" % x.data``; an
        attribute of an object loss_fn reaches) shows as a different loss: that call and every
        later one with these shapes runs eagerly, said once.  Returns the eager loss then.
        """
        nested, _ = self._stand_ins(arrays)
        reference = self._loss(nested)
        eager = float(reference.data)
        if _agrees(program, eager):
            return None
        return self._refuse(key, arrays, f"the replay's loss differs from eager's ({eager!r}) "
                                         f"once the numbers moved", reference)

    def _refuse(self, key, arrays: list[np.ndarray], what: str, reference=None) -> float:
        """This call and every later one with these shapes run eagerly, said once: the
        replay's loss was not eager's (``reference``, an eager run of this call, if made)."""
        replayed = float(self._last.V[self._last.loss_slot]) if self._last else float("nan")
        self._eager_reason[key] = (
            f"{what} ({replayed!r}): loss_fn decides from a number the trace did not see "
            f"(read by C code such as \"%f\" % x.data or Decimal(x.data), or from an object "
            f"it reaches); write it with Value ops (x.exp()) to compile")
        self._programs.pop(key, None)
        self._say(f"every call with these shapes runs eagerly: {self._eager_reason[key]}")
        if reference is None:
            return self._eager(arrays)
        reference.backward()
        self.eager_calls += 1
        self._named.take()
        return float(reference.data)

    def _watched_runs(self, arrays: list[np.ndarray]):
        """Runs ``fn`` twice, the second time watched, and judges whether it can be replayed."""
        self.traces += 1
        nested1, flat1 = self._stand_ins(arrays, requires_grad=True)
        grads = {v: v.grad for v in values_named(self.fn, models=True)}  # before either run
        generators = generators_named(self.fn)
        saved = saved_random(generators)
        first = self._loss(nested1)
        built = random_state(generators)  # a draw in the first run alone builds (a lazy layer)
        order1 = topological_order(first)
        leaves1 = leaves(order1)
        known = set(leaves1)
        if not first.op:
            known.add(first)
        known.difference_update(flat1)
        del nested1, flat1, first
        trace = Trace()
        nested2, flat2 = self._stand_ins(arrays, requires_grad=True)
        # Leaves loss_fn names are watched too: a threshold read through .data, a target
        # network's weights reached only through .detach() (asked again: a lazy layer may
        # have built its weights in the first run).
        known.update(values_named(self.fn, models=True))
        ordered = list(known)
        # Each grad as a watched number of its own: whatever is written to a grad, even
        # zero_grad()'s 0.0 over a 0.0, is then another object (see judge.grads_written).
        marks = [trace.mark(v.grad) for v in ordered]
        for v, mark in zip(ordered, marks):
            v.grad = mark
        for v in (*flat2, *known):
            trace.taint(v)
        try:
            with watching(trace):
                loss = self._loss(nested2)
        finally:
            trace.restore()
            written = grads_written(ordered, marks, grads, trace)  # plain grads, even on error
        drew = random_state(generators) != built  # drawing again on the same inputs: each call
        if drew:  # the eager run that follows draws as an eager call would have
            restore_random(saved)
        if written:
            trace.refuse(written)
        order2 = topological_order(loss)  # walked once, for the judgement and the program
        leaves2 = leaves(order2)
        reason = refusal(loss, order1, order2, leaves1, leaves2, trace, drew)
        found: dict = {}
        if not reason:
            arguments(order2, trace)  # before aliases: it walks what the guards watch
            outside: list = []
            found = aliases(loss, order2, leaves2, trace, outside)
            known.update(outside)
        reason = reason or trace.unwatched  # (a gradient read, found there)
        trace.forget()
        return loss, order2, flat2, known, trace, reason, found

    # ---- looking at it ------------------------------------------------------------------------

    @property
    def tape(self) -> Tape | None:
        """The most recent trace's `Tape`, or ``None`` before the first call."""
        return describe_tape(self._last, self._eager_reason)

    def describe(self) -> str:
        """The tape as text: its levels and groups, and how many scalar nodes each replaces.

        >>> import numpy as np
        >>> from microgrant import Value
        >>> from microgrant.compile import compile
        >>> w = Value(0.5, label="w")
        >>> step = compile(lambda x: Value.sum([(w * xi).tanh() for xi in x]))
        >>> round(step(np.array([1.0, 2.0, 3.0])), 6)     # tanh(0.5) + tanh(1) + tanh(1.5)
        2.12886
        >>> print(step.describe())  # doctest: +NORMALIZE_WHITESPACE
        7 scalar nodes in 3 levels became 3 array operations (about 29 numpy calls a step):
          level   op          nodes  inputs each
              1   mul             3            2
              2   tanh            3            1
              3   sum             1            3
        1 parameter, 3 inputs, 0 constants; no guards: the graph does not depend on the data.
        """
        tape = self.tape
        if tape is None:
            return "not traced yet: call the step once (step(X, y)) and describe it then"
        if tape.eager_reason:
            return f"every call runs eagerly: {tape.eager_reason}"
        lines = [f"{tape.nodes:,} scalar nodes in {tape.levels} levels became "
                 f"{len(tape.groups)} array operations (about {tape.numpy_calls} numpy calls "
                 f"a step):",
                 f"  {'level':>5}   {'op':<10} {'nodes':>6}  inputs each"]
        for g in tape.groups:
            note = "" if g.in_loss else "   (for a guard only)"
            lines.append(f"  {g.level:>5}   {g.op:<10} {g.nodes:>6,}  {g.inputs_each:>11}{note}")
        constants = tape.leaves - tape.parameters - tape.inputs
        plural = "" if tape.parameters == 1 else "s"
        summary = (f"{tape.parameters:,} parameter{plural}, {tape.inputs:,} inputs, "
                   f"{constants:,} constants; ")
        guards = tape.outcome_guards + tape.exact_guards + tape.shift_guards
        if guards:
            kinds = [f"{n:,} {what}" for n, what in (
                (tape.outcome_guards, "comparison"), (tape.exact_guards, "exact-number"),
                (tape.shift_guards, "softmax-shift")) if n]
            lines.append(summary + f"{' and '.join(kinds)} guard{'' if guards == 1 else 's'}, "
                         f"checked every call (a failing one traces again):")
            lines.extend(f"  - {reason}" for reason in tape.guard_reasons[:5])
            if len(tape.guard_reasons) > 5:
                lines.append(f"  - ... ({max(guards, len(tape.guard_reasons)) - 5} more)")
        else:
            lines.append(summary + "no guards: the graph does not depend on the data.")
        if tape.input_checks:
            lines.append(f"Each call also repeats loss_fn's {tape.input_checks:,} checks of its "
                         f"numbers (a loss checks each target: finite, a valid label), all "
                         f"at once.")
        return "\n".join(lines)

    def check(self, *args) -> CheckReport:
        """Runs one compiled call and one eager forward and backward, and compares them.

        The rule is `TOLERANCE` times the magnitude of the terms (see `compile`).  The
        parameters' ``.grad`` are left as they were.
        """
        arrays = self._arrays(args)
        key = tuple(a.shape for a in arrays)
        with self._lock:
            if key not in self._programs and key not in self._eager_reason:
                self._trace(arrays, key)
            program = self._programs.get(key)
            params = program.params if program is not None else self._leaves(arrays)
            saved = [p.grad for p in params]
            try:
                for p in params:
                    p.grad = 0.0
                before = self.eager_calls
                loss = self(*arrays)
                compiled = self.eager_calls == before and program is not None
                mine = [float(p.grad or 0.0) for p in params]
                scales = [abs(g) for g in mine]
                loss_scale = abs(loss)
                if compiled and program is not None:
                    loss_scale = float(np.abs(program.V[program.op_start:program.op_stop]).sum())
                    absolute = program.backward(absolute=True)
                    if absolute is not None:
                        scales = absolute.tolist()
                for p in params:
                    p.grad = 0.0
                nested, _ = self._stand_ins(arrays)
                reference = self._loss(nested)
                reference.backward()
                theirs = [float(p.grad or 0.0) for p in params]
            finally:
                for p, g in zip(params, saved):
                    p.grad = g
        return checked(loss, float(reference.data), mine, theirs, scales, loss_scale, params,
                       compiled)

    def _leaves(self, arrays: list[np.ndarray]) -> list[Value]:
        """The leaves that take a gradient in an eager graph of ``fn``, stand-ins aside."""
        nested, flat = self._stand_ins(arrays)
        loss = self._loss(nested)
        mine = set(flat)
        found = {x: None for node in topological_order(loss) for x in node.inputs
                 if not x.op and x.grad is not None and x not in mine}
        if not loss.op and loss.grad is not None:
            found[loss] = None
        return list(found)


def _forward(program: Program, flat: np.ndarray) -> tuple[str, int]:
    """``program.forward``, and the count of gradient additions when it read the grads."""
    with GRADS_LOCK:
        return program.forward(flat), GRADS_ADDED[0]


def _add(params: list, grads: np.ndarray, before: np.ndarray, added: int) -> None:
    """Adds ``grads`` to the parameters' ``.grad``, as ``p.grad += g`` adds, to ``before``:
    the grads the replay read when the count of additions was ``added``.

    Under the lock `Value.backward` holds; if gradients were added since (an eager backward,
    another compiled step of the same model, in another thread), they are read again.
    """
    with GRADS_LOCK:
        if GRADS_ADDED[0] != added:
            try:
                before = np.fromiter(map(_GRAD, params), np.float64, len(params))
            except (TypeError, ValueError):  # a grad made None meanwhile: as read before
                pass
        for p, g in zip(params, (before + grads).tolist()):
            p.grad = g
        GRADS_ADDED[0] += 1


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector paused while a trace runs, as `timeit` pauses it.

    A trace makes a few million objects that all live until it ends, so each pass of the
    collector walks them all for nothing: a sixth to a quarter of a trace's time at 1,600
    points.  The pause is process-wide (other threads' cycles wait for the trace to end), and
    a collector the user had turned off stays off.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _agrees(program: Program, eager: float) -> bool:
    """Whether the loss just replayed is ``eager`` within `TOLERANCE` of the terms' size."""
    scale = max(float(np.abs(program.V[program.op_start:program.op_stop]).sum()), abs(eager))
    return abs(float(program.V[program.loss_slot]) - eager) <= TOLERANCE * scale


def _numbers(program: Program) -> np.ndarray:
    """The parameters' (and other outer leaves') numbers a replay starts from, to compare."""
    return np.fromiter((float(v.data) for v in program.outer), np.float64, len(program.outer))
