"""compile: one training step's scalar graph, traced once and replayed as numpy array code.

A scalar engine pays Python's price for every node of every step, yet the graph is the same
every step; only the numbers change.  `compile` runs ``loss_fn`` on input Values, keeps the
graph it recorded, and replays it as array code, a tensor library's way (`plan`).  What a
replay cannot see is Python deciding something from a number; the trace watches for that
(`watch`) and guards it, or runs eagerly and says why (`step`).

**How the trace watches.**  While ``fn`` is traced, the number of every Value in play
(inputs, the Values ``fn`` reaches, every Value made in the run) is a float that
remembers where it came from.  A comparison (``x.data > 0``, ``a < b``, ``if x.data``)
becomes a guard on its outcome; any other look at a number (``int``, ``round``,
``float()``, printing, a constant made from numbers of several Values) a guard on those
exact numbers.  Every call checks its guards on the replayed numbers and traces again when
one fails.  A Value made from one input's or parameter's number (``Value(y.data)``,
``-y``, a target, ``copy.deepcopy(model)``, ``h.detach()``) reads that number at every
call, even when the graph uses that Value no other way.  A constant the engine folds from
Values that take no gradient (``h.detach() * 0.9``, ``side.exp()`` of a frozen Value) and
an op's argument taken from a number (``x ** gamma.data``, a slope) are guarded on the
numbers they came from (`microgrant.checks.folded` tells the trace of each fold).  The losses'
checks of their targets (`microgrant.checks.satisfies`) are applied to each call's numbers;
softmax's shift (`microgrant.checks.stabilizer`) is kept while the largest score stays
within `SHIFT_BAND` of it.

**C code.**  A function written in C reads a traced number as the plain float it is, unseen:
``math.exp(x.data)`` would be a constant in every replay.  The trace is told which C function
``fn`` calls (not on what), so a call of a function of ``math``, ``cmath`` or ``struct``
(`watch.C_READERS`) from ``fn``'s code, directly or through Python's library
(``statistics.fmean`` calls ``math.fsum``), runs every call with those shapes eagerly.  That
includes calls on constants alone (``math.sqrt(d)``, ``math.log(2)``): conservative, never
wrong; write ``d ** 0.5`` or compute such numbers outside ``fn``.  microgrant's own code
(the op table, the losses) calls ``math`` on traced numbers as the graph's own work.  The
functions of integers (``math.gcd``) and ``math.floor``, ``ceil`` and ``trunc`` (which ask
the number itself, a guard) do not count.

**What loss_fn reads besides its arguments.**  The parameters, Values, plain numbers, functions
and models ``fn`` names (its closure, the globals its code names, its default arguments, a bound
method's or a callable object's attributes, a ``functools.partial``'s arguments, what the helper
functions of its module name; then the items of a dict, list or tuple and the attributes of an
object of the user's own class among them; a model's own numbers and flags) are compared at
every call: a number changed, a Value, model, weight or function replaced or removed traces
again (so does any change to such a list or dict, a log appended to outside, a counter among
them).  A leaf Value it names (a threshold read through ``.data``) is watched as the parameters
are.  The call that traces runs ``fn`` twice (three times when it then runs eagerly; a log ``fn``
keeps gets those entries too); the two runs' graphs must have the same constants and op
arguments bit for bit, else (state ``fn`` changes itself, a random generator of its own,
``type(x.data) is float``) every call with those shapes runs eagerly.  A draw in the first run
alone is a lazy layer building its weights, and compiles.  The first replay after the parameters
or the input arrays moved from the traced numbers also runs ``fn`` eagerly once and compares the
losses by `compile`'s exactness rule; if they differ, that shape runs eagerly from then on.
"""

from __future__ import annotations

from typing import Callable

from ..checks import shown
from .plan import Tape, TapeGroup
from .report import TOLERANCE, CheckReport
from .step import MAX_PROGRAMS, CompiledStep
from .watch import SHIFT_BAND

__all__ = ["compile", "CompiledStep", "CheckReport", "Tape", "TapeGroup", "TOLERANCE",
           "SHIFT_BAND", "MAX_PROGRAMS"]


def compile(fn: Callable) -> CompiledStep:  # noqa: A001  (the public name, as in PyTorch)
    """Traces ``fn``'s scalar graph once per shape and replays forward and backward as arrays.

    ``step = compile(fn)``; ``step(X, y)`` with numpy arrays (or nested lists) hands ``fn``
    each array as nested lists of Values of the same shape, and on the first call with these
    shapes records the graph.  Every call then reads the parameters' current ``.data``, runs
    forward and backward as array code, returns the loss as a float and *adds* the gradients
    into the ``.grad`` of every parameter, as ``loss.backward()`` would.

    How the trace watches, and what ``fn`` reads besides its arguments: this module's
    documentation.

    **Run eagerly, said once** (a ``RuntimeWarning`` naming the reason): ``fn`` draws from
    Python's or numpy's global random generator, or one it names, on every call (their states
    are put back so the eager call draws what an eager step would); computes under
    ``no_grad()``; assigns a Value's ``.data``; runs ``backward()`` itself; calls a function of
    ``math``, ``cmath`` or ``struct`` (its own code, or Python's library on its behalf), even on
    constants alone (``math.sqrt(d)``: write ``d ** 0.5``), since the trace sees which C
    function is called but not on what; uses Values made in another thread or computed before
    the call; its two traced runs differ as above; a profiler written in C (cProfile) runs in
    the thread (only while it runs: stopping it would lose its profile).  A step keeps
    `MAX_PROGRAMS` programs (one per shape) and says when it drops one.  Domain errors are never
    hidden: a non-finite number runs that call eagerly, which raises eager's error.  Refused with
    an error: a compiled step called inside a loss_fn being traced; arrays with rows of
    different lengths; a loss that depends on the arrays alone (traced once; later calls say so
    without tracing).  Traces are isolated: one at a time in the process, each watching its own
    thread; other threads meanwhile read plain numbers, and their arithmetic and copies give
    plain floats.  After a trace, a traced number left in what ``fn`` names (``ema.data``,
    ``l.item()`` appended to a list or a deque, a global it assigns) is turned back into its
    float.  Called under ``no_grad()``, a step gives the loss and adds no gradient.  Its gradients
    are added under the lock ``backward()`` holds, so other threads' additions are kept.

    **Not seen** (caught only if it already changes the loss at the first replay after the
    parameters or the inputs moved, which is compared with an eager run): a number read
    straight from the float by C code other than a function call (``"%f" % x.data``,
    ``Decimal(x.data)``, ``array("d", ...)``, ``json.dumps``; numpy's functions,
    ``float()``, ``round``, f-strings and ``Fraction`` are seen), or by a ``math`` function
    that C code calls for ``fn`` (``map(math.exp, ...)``, ``functools.partial``,
    ``key=math.fabs``; ``np.vectorize`` is Python and seen); state nested deeper than one
    container or object (``cfg.opt.lam``), a class attribute, another module's attribute, a
    global read by a model's forward or by a helper's helper, which a replay keeps as
    traced; state ``fn`` changes itself that decides a branch without changing a constant;
    a traced number that escapes into an object ``fn`` does not name (or a namedtuple); a
    lazy layer's first draws in the same call as a per-call draw (the later draws shift);
    a ``.data`` holding a numpy float32, which eager computes in float32 where numpy does.
    Write ``x.exp()`` and other Value ops, and pass changing numbers and random masks in as
    arrays.

    **Exactness.**  Loss and gradients agree with the eager engine within ``TOLERANCE * M``,
    M the magnitude of the terms: for a gradient, the sum over its chain-rule paths of the
    magnitude of each path's product (a tanh or sigmoid partial, ``1 - t^2`` or
    ``s - s^2``, counts as the magnitude of its two terms); for the loss, the sum of the
    magnitudes of the graph's numbers.  numpy's exp, log, tanh and pow may differ from
    ``math``'s in the last bit, and a layer over a batch is a matrix product, which sums in
    its own order.  Graphs of ``+ - * /``, ``relu`` and sums (``Value.sum``, Python's
    ``sum``) outside matrix products are added in eager's order and give its loss and
    gradients bit for bit, but for the sign of a zero (eager starts each sum and gradient
    at 0.0, which turns a -0.0 into 0.0; the replay may keep it: the two are equal).
    `CompiledStep.check` applies the same rule.

    Args:
        fn: the loss function: takes one argument per array, returns a scalar Value.

    Returns:
        A `CompiledStep`: call it, ``check`` it against eager, ``describe`` its tape.

    >>> import numpy as np
    >>> from microgrant.nn import MLP, mse_loss
    >>> model = MLP(2, [4, 1], seed=0)
    >>> step = compile(lambda X, y: mse_loss([model(x) for x in X], y))
    >>> X, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1.0, -1.0])
    >>> model.zero_grad()
    >>> loss = step(X, y)
    >>> bool(step.check(X, y))
    True
    """
    if not callable(fn):
        raise TypeError(f"compile needs a function (the loss_fn to trace); got {shown(fn)}")
    return CompiledStep(fn)
