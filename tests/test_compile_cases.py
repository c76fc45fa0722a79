"""microgrant.compile is never silently wrong: each way a replay could drift from eager.

Every test compares a compiled call with the eager engine on the same numbers, after the
thing that could make them drift (a weight that moved, another thread, a new label): the
answer is eager's, or the step says (one warning) that it runs eagerly, or an error says what
to write instead.
"""

import collections
import copy
import cProfile
import functools
import json
import pstats
import random
import statistics
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from compile_twins import agrees, compiled
from compile_twins import eager_loss as eager

from microgrant import Value, grad, local_grads, no_grad
from microgrant.compile import MAX_PROGRAMS, TOLERANCE, compile
from microgrant.compile.named import NamedState, state_named
from microgrant.data import moons
from microgrant.module import Module
from microgrant.nn import MLP, Layer, Linear, Neuron, hinge_loss, mse_loss
from microgrant.train import fit


def compare(step, loss_fn, params, *arrays):
    """One compiled call and one eager call agree (loss and gradients)."""
    agrees(step, loss_fn, params, *arrays, rel=1e-9, abs=1e-12)


# ---- the numbered cases --------------------------------------------------------------------

def test_case1_grad_and_local_grads_inside_the_loss_follow_the_weight():
    w = Value(1.5, label="w")

    def with_grad(x):
        y = w * w * w * x[0]
        (g,) = grad(y, [w])           # a number: 3 w^2 x
        return w * g

    def with_local_grads(x):
        partials = local_grads(w * x[0])
        return w * partials[1] * x[0]

    def as_a_constant(x):
        (g,) = grad(w ** 2, w)         # 2 w, made a constant Value
        return w * Value(g, requires_grad=False) * x[0]

    for fn in (with_grad, with_local_grads, as_a_constant):
        w.data = 1.5
        step = compile(fn)
        compare(step, fn, [w], [2.0])
        w.data = 4.0                  # the weight moved: the number from grad moved too
        compare(step, fn, [w], [2.0])


def test_case2_two_steps_tracing_at_once_in_two_threads_keep_their_guards():
    w = Value(3.0, label="w")

    def loss_fn(x):
        time.sleep(0.02)              # both traces overlap
        return (w * x[0]) ** 2 if w.data > 0 else -2.0 * w * x[0]

    steps = [compile(loss_fn), compile(loss_fn)]
    threads = [threading.Thread(target=s, args=([1.0],)) for s in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.data = -3.0
    for s in steps:
        compare(s, loss_fn, [w], [1.0])    # the other branch: each step's guard sees it


def test_case3_a_deep_copy_of_the_model_inside_the_loss_follows_the_model():
    model = MLP(2, [3, 1], seed=0)
    X, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([1.0, -1.0])

    def loss_fn(X, y):
        teacher = copy.deepcopy(model)            # a target network, the model as it is
        return Value.sum([(model(x) - teacher(x).detach()) ** 2 + (model(x) - t) ** 2
                          for x, t in zip(X, y)])

    step = compile(loss_fn)
    compare(step, loss_fn, model.parameters(), X, y)
    for p in model.parameters():
        p.data += 0.25
    compare(step, loss_fn, model.parameters(), X, y)


def test_case4_a_parameter_replaced_after_the_trace_gets_its_gradient():
    model = MLP(2, [3, 1], seed=0)
    X, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([1.0, -1.0])

    def loss_fn(X, y):
        return mse_loss([model(x) for x in X], y)

    step = compile(loss_fn)
    step(X, y)
    model.layers[0].neurons[0].w[0] = Value(0.7, label="new")
    compare(step, loss_fn, model.parameters(), X, y)
    assert model.parameters()[0].label == "new"
    assert compiled(step, model.parameters(), X, y)[1][0] != 0.0   # it gets its gradient
    del model.layers[0].neurons[1:]                   # a neuron removed
    model.layers[1].neurons[0].w[1:] = []
    compare(step, loss_fn, model.parameters(), X, y)


def test_case5_a_random_mask_drawn_per_call_runs_eagerly_with_one_warning():
    w = Value(1.0, label="w")

    def loss_fn(x):
        return Value.sum([w * xi * (random.random() > 0.5) for xi in x])

    step = compile(loss_fn)
    with pytest.warns(RuntimeWarning, match="random"):
        step([1.0, 2.0, 3.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # said once
        for seed in range(5):
            random.seed(seed)
            got = step([1.0, 2.0, 3.0, 4.0])
            random.seed(seed)
            assert got == eager(loss_fn, [1.0, 2.0, 3.0, 4.0]).data


def test_case6_data_is_a_float_while_tracing():
    w = Value(2.0, label="w")

    def loss_fn(x):
        return w * x[0] if isinstance(w.data, float) else w * 100.0 * x[0]

    compare(compile(loss_fn), loss_fn, [w], [3.0])


def test_case7_a_comparison_with_an_int_no_float_holds_is_exact():
    w = Value(1.0, label="w")
    big = 2 ** 53 + 1

    def loss_fn(x):
        return w * 2.0 if x[0].data < big else w * 3.0

    step = compile(loss_fn)
    compare(step, loss_fn, [w], [float(2 ** 53 + 2)])
    compare(step, loss_fn, [w], [float(2 ** 53)])    # 2**53 < 2**53 + 1, as Python says


def test_case8_values_made_in_worker_threads_are_not_replayed_blindly():
    w = Value(1.0, label="w")

    def loss_fn(x):
        def term(xi):
            z = w * xi
            return z if z.data > 0 else -3.0 * z
        with ThreadPoolExecutor(2) as pool:
            return Value.sum(list(pool.map(term, x)))

    step = compile(loss_fn)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        compare(step, loss_fn, [w], [1.0, 2.0])
        w.data = -1.0
        compare(step, loss_fn, [w], [1.0, 2.0])
    assert len([s for s in said if "thread" in str(s.message)]) == 1


def test_case9_fit_compiled_hands_a_custom_loss_numbers_as_targets():
    def my_loss(outputs, targets):
        terms = [(o - 1.0) ** 2 if t == 1 else (o + float(t) * -1.0) ** 2
                 for o, t in zip(outputs, targets)]
        return Value.sum(terms) / len(terms)

    X = np.array([[0.5, -1.0], [1.0, 2.0], [-1.0, 0.5], [2.0, 1.0]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    a, b = MLP(2, [4, 1], seed=2), MLP(2, [4, 1], seed=2)
    fit(a, X, y, loss=my_loss, epochs=5, lr=0.1, batch_size=2, seed=1, verbose=False)
    with pytest.warns(RuntimeWarning, match="decides from"):  # t == 1 is a decision
        fit(b, X, y, loss=my_loss, epochs=5, lr=0.1, batch_size=2, seed=1, verbose=False,
            compile=True)
    assert [p.data for p in b.parameters()] == pytest.approx(
        [p.data for p in a.parameters()], rel=1e-9, abs=1e-12)


def test_case10_check_passes_on_linear_regression_at_its_optimum():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * 1000.0       # large terms, a tiny gradient: the optimum
    y = X @ [0.5, -2.0, 3.0] + 1.5 + rng.normal(scale=100.0, size=200)
    A = np.hstack([X, np.ones((200, 1))])
    best = np.linalg.lstsq(A, y, rcond=None)[0]
    model = Linear(3, 1)
    for p, v in zip(model.parameters(), best):
        p.data = float(v)
    step = compile(lambda X, y: mse_loss([model(x)[0] for x in X], y))
    report = step.check(X, y)
    assert report, str(report)
    tanh_model = MLP(3, [8, 1], activation="tanh", seed=0)
    step = compile(lambda X, y: mse_loss([tanh_model(x) for x in X], y))
    assert step.check(X, y)


# ---- nothing internal escapes ------------------------------------------------------------------

def test_other_threads_see_plain_numbers_while_a_trace_runs():
    model = MLP(2, [3, 1], seed=0)
    saved, failed = [], []

    def save():
        try:
            saved.append(json.dumps(model.state_dict()))
        except TypeError as error:
            failed.append(error)

    def loss_fn(X):
        other = threading.Thread(target=save)   # another thread, while this one traces
        other.start()
        other.join()
        return model(X[0])

    compile(loss_fn)([[1.0, 2.0]])
    assert not failed and saved
    assert all(json.loads(text) == model.state_dict() for text in saved)
    assert all(type(p.data) is float for p in model.parameters())


def test_numbers_kept_from_inside_the_loss_are_plain_floats_after():
    w = Value(2.0, label="w")
    kept = []

    def loss_fn(x):
        loss = w * x[0]
        kept.append(loss.item())
        kept.append(float(np.exp(w.data)) + float(np.isnan(w.data)))
        kept.append(statistics.mean([w.data, x[0].data]))
        return loss

    step = compile(loss_fn)
    step([3.0])
    assert json.loads(json.dumps(kept)) == kept
    assert all(isinstance(k, float) for k in kept)
    assert type(kept[0] + 1.0) is float and kept[0] == 6.0
    assert all(type(p.data) is float for p in [w])



class _Log:
    """A training log kept as people keep one: attributes, a list, a nested holder."""

    def __init__(self):
        self.last, self.items, self.inner = None, [], None


def test_numbers_a_traced_loss_logs_come_out_plain_floats_wherever_it_keeps_them():
    w = Value(2.0, label="w")
    recent, pairs, log = collections.deque(maxlen=3), [], _Log()

    def loss_fn(x):
        loss = w * x[0]
        recent.append(loss.data)
        pairs.append((loss.data, len(x)))
        log.last = loss.data
        log.items.append(loss.data)
        loss_fn.last = loss.data
        return loss

    compile(loss_fn)([3.0])
    kept = [*recent, *(p[0] for p in pairs), log.last, *log.items, loss_fn.last]
    assert len(kept) == 8  # the call that traces runs the loss twice: two entries each
    assert [type(k) for k in kept] == [float] * 8 and kept == [6.0] * 8



LAST_LOSS = None


def test_a_global_or_a_closure_variable_the_loss_assigns_comes_out_a_plain_float():
    w = Value(2.0, label="w")
    kept = None

    def loss_fn(x):
        global LAST_LOSS
        nonlocal kept
        loss = w * x[0]
        LAST_LOSS = kept = loss.data
        return loss
    compile(loss_fn)([3.0])
    assert (type(LAST_LOSS), type(kept)) == (float, float) and LAST_LOSS == kept == 6.0


def test_a_state_dict_taken_in_another_thread_during_a_trace_holds_plain_floats():
    model = MLP(2, [8, 1], seed=0)
    X, y = moons(8, seed=0, labels="pm1")
    taken = []

    def loss_fn(X, y):  # a checkpoint taken by another thread while the loss runs
        worker = threading.Thread(target=lambda: taken.append(model.state_dict()))
        worker.start()
        worker.join()
        return hinge_loss([model(x) for x in X], y)
    compile(loss_fn)(X, y)
    assert len(taken) == 2  # one in each run of the trace, the watched one included
    assert all(type(v) is float for state in taken for v in state.values())


def test_the_program_cache_is_bounded_and_says_when_it_drops_one():
    w = Value(1.0, label="w")
    step = compile(lambda x: Value.sum([w * xi for xi in x]))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        for n in range(1, MAX_PROGRAMS + 5):
            step(np.ones(n))
    assert len(step._programs) == MAX_PROGRAMS and step.evictions == 4
    assert len([s for s in said if "shapes" in str(s.message)]) == 1


def test_an_interrupted_trace_leaves_every_number_a_plain_float():
    w = Value(2.0, label="w")

    def loss_fn(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compile(loss_fn)([1.0])
    assert type(w.data) is float


def test_ctrl_c_while_a_trace_is_undone_still_undoes_all_of_it():
    from microgrant.compile.watch import Trace

    class Interrupted:
        """Reading its .data is interrupted once, as Ctrl-C would between two Values."""
        reads = 0

        @property
        def data(self):
            Interrupted.reads += 1
            if Interrupted.reads == 1:
                raise KeyboardInterrupt
            return 0.0

    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    trace = Trace()
    trace.taint(a)
    trace.tainted.append(Interrupted())
    trace.taint(b)
    with pytest.raises(KeyboardInterrupt):
        trace.restore()
    assert type(a.data) is float and type(b.data) is float and (a.data, b.data) == (1.0, 2.0)


def test_a_users_profiler_keeps_running_during_a_trace():
    w = Value(2.0, label="w")
    seen = []

    def loss_fn(x):
        return w * x[0]

    def profiler(frame, event, arg):
        if frame.f_code is loss_fn.__code__:
            seen.append(event)

    sys.setprofile(profiler)
    try:
        compile(loss_fn)([1.0])
    finally:
        sys.setprofile(None)
    assert seen.count("call") >= 2  # both runs of the trace, watched by the user's profiler


def test_under_cprofile_calls_run_eagerly_with_one_warning_then_compile():
    w = Value(2.0, label="w")

    def loss_fn(x):
        return (w * x[0] - 1.0) ** 2

    step = compile(loss_fn)
    profile = cProfile.Profile()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        profile.enable()
        try:
            for _ in range(2):
                compare(step, loss_fn, [w], [1.5])
        finally:
            profile.disable()
    assert step.traces == 0 and step.eager_calls >= 2
    assert len([m for m in said if "profiler written in C" in str(m.message)]) == 1
    assert any("loss_fn" in str(key) for key in pstats.Stats(profile).stats)  # still profiled
    compare(step, loss_fn, [w], [1.5])
    assert step.traces == 1


# ---- the losses people write -------------------------------------------------------------------

def micrograd_moons():
    """micrograd's demo loss, written as its notebook writes it (built-in sum, -yi)."""
    from microgrant.data import moons
    model = MLP(2, [16, 16, 1], seed=1)
    X, y = moons(40, seed=0, labels="pm1")

    def loss_fn(X, y):
        scores = [model(x) for x in X]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        return data_loss + 1e-4 * sum((p * p for p in model.parameters()))
    return model, loss_fn, X, y


def test_builtin_sum_becomes_one_ordered_sum_and_gives_eagers_bits():
    model, loss_fn, X, y = micrograd_moons()
    step = compile(loss_fn)
    compare(step, loss_fn, model.parameters(), X, y)
    assert step.tape.levels <= 12          # not one level per term of the sums
    sums = [g for g in step.tape.groups if g.op == "sum"]
    assert sorted(g.inputs_each for g in sums) == [len(X) + 1, len(model.parameters()) + 1]
    w = Value(0.5, label="w")

    def exact(x):
        return sum((w * xi - xi / 3.0).relu() for xi in x)
    xs = np.random.default_rng(1).normal(size=50)
    step = compile(exact)
    w.grad = 0.0
    got = step(xs)
    mine, w.grad = w.grad, 0.0
    loss = eager(exact, xs)
    loss.backward()
    assert (got, mine) == (loss.data, w.grad)   # + - * / relu in eager's order: same bits


def test_shuffled_minibatches_replay_one_trace():
    model, loss_fn, X, y = micrograd_moons()
    step = compile(loss_fn)
    rng = np.random.default_rng(0)
    for _ in range(4):
        order = rng.permutation(len(y))[:20]
        compare(step, loss_fn, model.parameters(), X[order], y[order])
    assert step.traces == 1


# ---- run eagerly, said once ---------------------------------------------------------------------

@pytest.mark.parametrize("body, said", [
    ("no_grad", "no_grad"),
    ("assign", "assigns"),
    ("backward", "backward"),
])
def test_what_a_replay_cannot_follow_runs_eagerly_with_one_warning(body, said):
    from microgrant import no_grad
    w = Value(2.0, label="w")

    def loss_fn(x):
        if body == "no_grad":
            with no_grad():
                scale = w * 3.0
            return w * x[0] * scale
        if body == "assign":
            w.data = w.data * 1.0          # changes state: eager does it on every call
            return w * x[0]
        inner = w * w
        inner.backward()
        return w * x[0] * w.grad

    step = compile(loss_fn)
    with pytest.warns(RuntimeWarning, match=said):
        compare(step, loss_fn, [w], [1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.data = 3.0
        compare(step, loss_fn, [w], [2.5])
    assert step.eager_calls >= 2


def test_compile_reads_no_locals_and_registers_nothing_process_wide():
    # Frames outside compile/watch.py are held by tests/test_budgets.py for the whole package;
    # here: compile reads no other function's locals and registers nothing (no
    # numbers.Real.register, no atexit or codec hooks) that would outlive a step.
    from pathlib import Path

    import microgrant
    for path in (Path(microgrant.__file__).parent / "compile").rglob("*.py"):
        text = path.read_text()
        assert "f_locals" not in text and ".register(" not in text, path


# ---- state the loss reads, beyond its arguments and parameters --------------------------------

LAM = 1.0
_W = Value(1.0, label="w")


def _regularised(x):
    return (_W * x[0] - 1) ** 2 + LAM * _W * _W


def test_a_global_number_changed_between_calls_is_read_again():
    global LAM
    LAM = 1.0
    step = compile(_regularised)
    step([2.0])
    LAM = 0.0                        # annealed outside the loss
    try:
        compare(step, _regularised, [_W], [2.0])
    finally:
        LAM = 1.0


def test_a_closure_number_and_a_threshold_value_changed_between_calls_are_read_again():
    w = Value(1.0)
    scale = [0.5]
    margin = Value(0.0, requires_grad=False)   # read only through .data

    def loss(x):
        k = scale[0]
        return sum((w * xi) ** 2 * k if (w * xi).data > margin.data else -(w * xi)
                   for xi in x)
    step = compile(loss)
    step([0.3, 0.7, -1.0])
    margin.data, scale[0] = 0.5, 2.0
    compare(step, loss, [w], [0.3, 0.7, -1.0])



def _penalty(w):
    return LAM * w * w  # a helper of the loss's module, reading a global of its own


def test_a_global_a_helper_reads_and_a_helper_redefined_are_read_again():
    global LAM, _penalty
    w = Value(1.0, label="w")

    def loss(x):
        return (w * x[0] - 1) ** 2 + _penalty(w)
    step = compile(loss)
    saved = LAM, _penalty
    try:
        LAM = 1.0
        step([2.0])
        LAM = 0.25
        compare(step, loss, [w], [2.0])

        def _penalty(w):  # a notebook cell edited and run again
            return 3.0 * w * w
        compare(step, loss, [w], [2.0])
        assert step.traces == 3
    finally:
        LAM, _penalty = saved


class _Objective:
    """A loss as an object: its settings and its model are attributes."""

    def __init__(self):
        self.model, self.lam = MLP(2, [3, 1], seed=0), 0.0

    def __call__(self, X, y):
        reg = Value.sum([p * p for p in self.model.parameters()])
        return mse_loss([self.model(x) for x in X], y) + self.lam * reg


@pytest.mark.parametrize("form", ["callable object", "partial", "closure over it"])
def test_settings_and_models_held_as_attributes_are_read_again(form):
    objective = _Objective()

    def through(X, y, of):
        return of(X, y)
    fn = {"callable object": objective,
          "partial": functools.partial(through, of=objective),
          "closure over it": lambda X, y: objective(X, y)}[form]
    X, y = moons(6, seed=0, labels="pm1")
    step = compile(fn)
    step(X, y)
    objective.lam = 0.5  # a setting changed
    compare(step, objective, objective.model.parameters(), X, y)
    objective.model = MLP(2, [3, 1], seed=1)  # the model replaced
    compare(step, objective, objective.model.parameters(), X, y)
    assert step.traces == 3

def test_state_changed_inside_the_loss_runs_eagerly_with_one_warning():
    w = Value(1.0)
    st = {"lam": 1.0}

    def loss(x):
        st["lam"] *= 0.5
        return (w * x[0] - 1) ** 2 + st["lam"] * w * w
    step = compile(loss)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        step([2.0])
        for _ in range(3):
            lam = st["lam"] * 0.5    # what this call's loss will use
            w.grad = 0.0
            got = step([2.0])
            assert got == (2 * w.data - 1) ** 2 + lam * w.data ** 2
            assert w.grad == 4 * (2 * w.data - 1) + 2 * lam * w.data
    assert len([m for m in said if "differ between two runs" in str(m.message)]) == 1
    assert step.traces == 1


def test_the_losss_own_random_generator_runs_eagerly():
    w = Value(1.0)
    rng = np.random.default_rng(0)

    def loss(x):
        mask = rng.random(len(x)) > 0.5
        return sum(w * xi * float(m) for xi, m in zip(x, mask))
    step = compile(loss)
    with pytest.warns(RuntimeWarning, match="a generator it names"):
        got = [step([1.0, 2.0, 3.0, 4.0]) for _ in range(6)]
    assert len(set(got)) > 1


@pytest.mark.parametrize("how", ["dict", "bound", "default", "list"])
def test_a_model_or_weight_replaced_where_the_loss_finds_it_is_traced_again(how):
    X, y = [[0.5, -1.0], [1.0, 2.0]], [1.0, -1.0]
    holder = {"net": MLP(2, [3, 1], seed=0)}
    weights = [Value(0.5), Value(-1.0)]

    class Trainer:
        def __init__(self):
            self.model = holder["net"]

        def loss(self, X, y):
            return sum((self.model(x) - t) ** 2 for x, t in zip(X, y))

    trainer = Trainer()
    fns = {"dict": lambda X, y: sum((holder["net"](x) - t) ** 2 for x, t in zip(X, y)),
           "bound": trainer.loss,
           "default": lambda X, y, m=holder["net"]: sum((m(x) - t) ** 2 for x, t in zip(X, y)),
           "list": lambda X, y: sum((weights[0] * x[0] + weights[1] * x[1] - t) ** 2
                                    for x, t in zip(X, y))}
    fn = fns[how]
    step = compile(fn)
    step(X, y)
    new = MLP(2, [3, 1], seed=7)
    if how == "dict":
        holder["net"] = new
    elif how == "bound":
        trainer.model = new
    elif how == "default":
        fn.__defaults__ = (new,)
    else:
        weights[0] = Value(2.0)
    params = [weights[0]] if how == "list" else new.parameters()
    compare(step, fn, params, X, y)


def test_a_compiled_step_inside_a_traced_loss_is_refused_not_a_hang():
    w = Value(0.5)
    inner = compile(lambda x: (w * x[0]) ** 2)
    outer = compile(lambda x: w * x[0] * inner([float(x[0].data)]))
    box: list = []
    t = threading.Thread(target=lambda: box.append(_raised(outer, [2.0])), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "a nested compiled step deadlocked"
    assert isinstance(box[0], RuntimeError) and "inside the loss_fn" in str(box[0])
    assert "test_compile_cases.py" in str(box[0])
    assert inner([1.0]) == 0.25      # the lock is free again


def test_zero_grad_inside_the_loss_runs_eagerly_and_says_to_move_it_out():
    # The replay adds to .grad as backward does and does not repeat loss_fn's zero_grad():
    # compiled, the gradients used to pile up over calls while eager's were fresh each time.
    model = MLP(2, [3, 1], seed=0)
    X, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([1.0, -1.0])

    def loss_fn(X, y):
        model.zero_grad()
        return mse_loss([model(x) for x in X], y)

    step = compile(loss_fn)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        got = [(step(X, y), [p.grad for p in model.parameters()]) for _ in range(3)]
    eager = loss_fn([[Value(v, requires_grad=False) for v in r] for r in X.tolist()],
                    y.tolist())
    eager.backward()
    want = (eager.data, [p.grad for p in model.parameters()])
    assert got == [want] * 3
    assert ["zero_grad() before the step" in str(m.message) for m in said] == [True]


def test_backward_inside_the_loss_leaves_the_gradients_eager_gives():
    w = Value(2.0)

    def loss_fn(x):
        y = w * w * x[0]
        y.backward()                  # adds 2 w x to w.grad, which the loss then reads
        return w * w.grad

    w.grad = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = compile(loss_fn)([1.0])
    compiled_grad = w.grad
    w.grad = 0.5
    eager = loss_fn([Value(1.0, requires_grad=False)])
    eager.backward()
    assert (got, compiled_grad) == (eager.data, w.grad)


def test_a_gradient_another_thread_adds_during_a_trace_is_kept():
    # The trace takes back what the loss's own backward() added in its two runs; what
    # another thread adds to the same grad meanwhile is that thread's, and stays.
    w = Value(1.5)
    go, done = threading.Event(), threading.Event()
    runs: list = []

    def loss_fn(x):
        runs.append(1)
        if len(runs) == 2:          # the watched run
            go.set()
            done.wait(5)
        return (w * x[0]) ** 2

    def worker():
        go.wait(5)
        w.grad += 100.0
        done.set()

    w.grad = 0.25
    t = threading.Thread(target=worker)
    t.start()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        loss = compile(loss_fn)([2.0])
    t.join()
    assert loss == 9.0
    assert w.grad == 0.25 + 100.0 + 2 * 1.5 * 2.0 ** 2 and type(w.grad) is float
    assert any("another thread changed them" in str(m.message) for m in said)


def test_a_constant_that_changes_each_run_is_seen_even_where_no_number_shows_it():
    # A penalty weight that doubles each call, on a term that is 0 at the trace (relu at
    # w <= 1): no node's number differs between the two runs, the constant does.
    class Penalty:
        mu = 1.0

        def __call__(self, w):
            self.mu *= 2.0
            return self.mu * (w - 1.0).relu() ** 2

    w, penalty = Value(-3.0), Penalty()
    step = compile(lambda X: Value.sum([(w - x[0]) ** 2 for x in X]) + penalty(w))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        step(np.array([[3.0], [3.0]]))
    assert step.eager_calls == 1 and step.tape.groups == ()
    assert any("constants differ between two runs" in str(m.message) for m in said)


def _compiled_and_eager(make, calls=3, X=((1.0, 2.0), (3.0, -1.0))):
    """The losses and gradients of ``calls`` calls, compiled and eager, each on a fresh model
    from ``make()`` -> (loss_fn, params); gradients accumulate between calls (never zeroed)."""
    runs = []
    for compiling in (True, False):
        loss_fn, params = make()
        step, out = compile(loss_fn), []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(calls):
                if compiling:
                    loss = step(np.array(X))
                else:
                    value = loss_fn([[Value(x, requires_grad=False) for x in row] for row in X])
                    value.backward()
                    loss = value.data
                out.append((loss, [p.grad for p in params]))
                for p in params:
                    p.data -= 0.1 * p.grad
        runs.append(out)
    return runs


def _one_weight(body):
    def make():
        w = Value(2.0)
        w.grad = 0.5

        def loss_fn(X):
            loss = Value.sum([(w * x[0] - x[1]) ** 2 for x in X])
            body(w)
            return loss
        return loss_fn, [w]
    return make


@pytest.mark.parametrize("body", [
    lambda w: setattr(w, "grad", w.grad + 1.0),         # a gradient term added by hand
    lambda w: setattr(w, "grad", w.grad * 0.5),         # a gradient scaled
    lambda w: setattr(w, "grad", min(w.grad, 0.4)),     # clipped (0.4 stays 0.4: a read)
], ids=["added", "scaled", "clipped"])
def test_gradients_the_loss_changes_by_hand_come_out_as_eagers(body):
    compiled, eager = _compiled_and_eager(_one_weight(body))
    assert compiled == eager


def test_a_loss_that_reads_the_gradients_so_far_follows_them():
    def make():
        w = Value(1.0)

        def loss_fn(X):   # a look-ahead at w + 0.1 * (the gradient accumulated so far)
            ahead = w + 0.1 * w.grad
            return Value.sum([(ahead * x[0] - 2.0) ** 2 for x in X])
        return loss_fn, [w]
    compiled, eager = _compiled_and_eager(make, calls=4)
    assert compiled == eager


@pytest.mark.parametrize("number", [np.float64(1.0), 1])
def test_a_weight_whose_data_is_a_numpy_float_or_an_int_is_watched_and_given_back(number):
    w = Value(1.0)
    w.data = number               # loaded from an array: p.data = W[i]
    fn = lambda X: Value.sum([(w * x[0] - 3.0) ** 2 for x in X]) * (  # noqa: E731
        1.0 if w.data < 2 else 10.0)
    step = compile(fn)
    step(np.array([[1.0], [2.0]]))
    assert type(w.data) is type(number) and w.data == number
    for _ in range(5):
        w.data += 0.25
        assert step(np.array([[1.0], [2.0]])) == fn([[Value(1.0)], [Value(2.0)]]).data


def test_data_assigned_inside_the_loss_runs_eagerly():
    w = Value(0.7)

    def loss_fn(X):
        zs = [w * x[0] for x in X]
        for z in zs:
            z.data = max(z.data, 0.0)          # a clamp written on .data
        return Value.sum([z * z for z in zs])
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        got = compile(loss_fn)(np.array([[1.0], [-2.0]]))
    assert got == loss_fn([[Value(1.0)], [Value(-2.0)]]).data == 0.7 * 0.7
    assert any("assigns" in str(m.message) for m in said)


def test_a_loss_that_fails_in_the_watched_run_leaves_plain_numbers_everywhere():
    w = Value(0.5)
    w.grad = 0.25
    runs: list = []

    def loss_fn(x):
        runs.append(1)
        if len(runs) == 2:
            raise ValueError("only the second run fails")
        return (w * x[0]) ** 2

    with pytest.raises(ValueError, match="only the second run"):
        compile(loss_fn)([2.0])
    assert type(w.grad) is float and w.grad == 0.25
    assert type(w.data) is float and w.data == 0.5


def _raised(fn, *args):
    try:
        fn(*args)
    except Exception as error:  # noqa: BLE001
        return error
    return None


def test_a_running_statistic_and_items_kept_in_the_loss_are_plain_floats():
    model = MLP(2, [4, 1], seed=1)
    ema = Value(0.0, requires_grad=False)
    kept: list = []

    def loss(X, y):
        total = sum((model(x) - t) ** 2 for x, t in zip(X, y))
        ema.data = 0.9 * ema.data + 0.1 * total.data
        kept.append(total.item())
        return total
    step = compile(loss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            step(np.ones((4, 2)), np.zeros(4))
    assert type(ema.data) is float
    assert all(type(k) is float for k in kept)


def test_a_deep_copy_made_in_another_thread_during_a_trace_holds_plain_floats():
    model = MLP(2, [8, 1], seed=1)
    go, done = threading.Event(), threading.Event()
    copies: list = []
    runs: list = []

    def loss(X, y):
        runs.append(1)
        s = [model(x) for x in X]
        if len(runs) == 2:           # the watched run of the trace
            go.set()
            done.wait(5)
        return sum((si - t) ** 2 for si, t in zip(s, y))

    def worker():
        go.wait(5)
        copies.append(copy.deepcopy(model))
        copies.append(model.parameters()[0].data * 2.0)
        done.set()
    t = threading.Thread(target=worker)
    t.start()
    compile(loss)(np.ones((2, 2)), np.zeros(2))
    t.join()
    assert all(type(p.data) is float for p in copies[0].parameters())
    assert type(copies[1]) is float


def test_ragged_rows_are_a_clear_error():
    w = Value(0.5)
    step = compile(lambda X: sum(w * xi for row in X for xi in row))
    with pytest.raises(TypeError, match="rows of different lengths"):
        step([[1.0, 2.0], [3.0]])


def test_a_seeded_draw_inside_the_loss_matches_eager():
    w = Value(1.0)

    def loss(x):
        return w * x[0] * random.random()
    random.seed(3)
    with pytest.warns(RuntimeWarning, match="draws random numbers"):
        got = compile(loss)([2.0])
    random.seed(3)
    assert got == eager(loss, [2.0]).data


def test_a_loss_of_the_arrays_alone_is_an_error_once_not_a_trace_per_call():
    step = compile(lambda x: Value(1.0, requires_grad=False) * x[0] + 1)
    for _ in range(3):
        with pytest.raises(RuntimeError, match="constant"):
            step([2.0])
    assert step.traces == 1


def test_a_number_read_by_c_code_is_caught_at_the_first_replay_that_moves():
    # %-formatting reads the float inside C, unseen (math's functions are seen: see
    # test_compile_c_code.py); the first replay after the weight moved is compared with eager.
    w = Value(1.0)

    def loss(x):
        s = [w * xi for xi in x]
        return sum(si * float("%.17g" % si.data) for si in s)
    step = compile(loss)
    step([0.3, 0.7, -1.0])
    w.data = 1.5
    with pytest.warns(RuntimeWarning, match="differs from eager"):
        compare(step, loss, [w], [0.3, 0.7, -1.0])
    w.data = 0.5
    compare(step, loss, [w], [0.3, 0.7, -1.0])


def test_asking_type_is_float_while_tracing_runs_eagerly():
    w = Value(1.0)

    def loss(x):
        s = w * x[0]
        return s * (2 if type(s.data) is float else 1)
    step = compile(loss)
    with pytest.warns(RuntimeWarning, match="differ between two runs"):
        compare(step, loss, [w], [1.0])


def test_value_sum_adds_left_to_right_as_its_replay_does_on_every_python():
    # Python 3.12's sum() of floats is compensated: 1e16 + 1 - 1e16 would be 1.0 there.
    w = Value(1.0)
    terms = [1e16, 1.0, -1e16]
    assert Value.sum([Value(t) for t in terms]).data == (1e16 + 1.0) - 1e16 == 0.0

    def loss(x):
        return Value.sum([w * xi for xi in x])
    step = compile(loss)
    w.grad = 0.0
    got = step(terms)
    assert got == eager(loss, terms).data == 0.0


def test_a_global_changed_before_every_call_is_followed_and_said_once():
    global LAM
    try:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            step = compile(_regularised)
            for k in range(12):
                LAM = 1.0 / (k + 1)
                compare(step, _regularised, [_W], [2.0])
        assert len([m for m in said if "changes between most calls" in str(m.message)]) == 1
    finally:
        LAM = 1.0


# ---- what loss_fn names is compared cheaply, and nothing slips past ------------------------

class _TwoLists(Module):
    """Two lists of weights side by side: a weight moved from one to the other keeps the
    items of both in a row, only their lengths tell."""

    def __init__(self):
        self.a = [Value(0.5), Value(-0.25)]
        self.b = [Value(2.0)]

    def forward(self, x):
        return sum(w * x[0] for w in self.a) + sum(w * x[1] for w in self.b)


class _FirstLayerOnly(MLP):
    def parameters(self):
        return self.layers[0].parameters()


def _weight_moved(m):
    m.a.insert(0, m.b.pop())


_CHANGES = {
    "weight replaced in a ParameterList": lambda m: m.layers[0].neurons[0].w.__setitem__(
        0, Value(0.7)),
    "neuron and its weight popped": lambda m: (m.layers[0].neurons.pop(),
                                               m.layers[1].neurons[0].w.pop()),
    "neuron and its weight deleted": lambda m: (m.layers[0].neurons.__delitem__(1),
                                                m.layers[1].neurons[0].w.__delitem__(1)),
    "weights reversed": lambda m: m.layers[0].neurons[1].w.reverse(),
    "neurons reordered": lambda m: m.layers[0].neurons.reverse(),
    "neuron replaced": lambda m: m.layers[0].neurons.__setitem__(1, Neuron(2, seed=9)),
    "bias replaced": lambda m: setattr(m.layers[0].neurons[2], "b", Value(0.3)),
    "layer's attributes swapped": lambda m: setattr(m.layers[0], "__dict__",
                                                    dict(vars(Layer(2, 3, seed=5)))),
    "model's class changed": lambda m: setattr(m, "__class__", _FirstLayerOnly),
    "weight moved between lists": _weight_moved,
}


@pytest.mark.parametrize("change", sorted(_CHANGES))
def test_every_change_to_a_models_parameters_is_seen_by_the_cheap_comparison(change):
    model = _TwoLists() if change == "weight moved between lists" else MLP(2, [3, 1], seed=0)
    X, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([1.0, -1.0])

    def loss_fn(X, y):
        return mse_loss([model(x) for x in X], y)

    named = NamedState(loss_fn)
    before = state_named(loss_fn)
    step = compile(loss_fn)
    step(X, y)
    _CHANGES[change](model)
    assert state_named(loss_fn) != before      # the full comparison sees it ...
    assert named.changed()                      # ... and so does the cheap one
    assert not named.changed()                  # which then keeps the new state
    compare(step, loss_fn, model.parameters(), X, y)
    assert step.traces == 2


def test_the_cheap_comparison_tells_equal_objects_from_the_same_ones():
    # It compares lists with == (Values are equal only to themselves); items that can be
    # equal without being the same (0.0 and -0.0, two arrays) must still be told apart.
    w = Value(0.5)
    named_list = [0.0, w, np.array([1.0, 2.0])]

    def loss_fn(x):
        return w * x[0] + named_list[0] + named_list[2][1]

    named = NamedState(loss_fn)
    named_list[0] = -0.0                         # equal, another number: a change
    assert named.changed() and not named.changed()
    named_list[2] = np.array([1.0, 2.0])         # another array, the same numbers
    assert not named.changed()
    named_list[2] = np.array([1.0, 3.0])
    assert named.changed()
    named_list[1] = Value(0.5)                   # another Value of the same number
    assert named.changed()


def test_training_moves_no_part_of_what_the_loss_names():
    model = MLP(2, [4, 4, 1], seed=0)
    params = model.parameters()
    X, y = moons(20, seed=0, labels="pm1")

    def loss_fn(X, y):
        return hinge_loss([model(x) for x in X], y) + 1e-4 * sum(p * p for p in params)

    named = NamedState(loss_fn)
    step = compile(loss_fn)
    for _ in range(5):
        step(X, y)
        for p in params:
            p.data -= 0.1 * p.grad
            p.grad = 0.0
        assert not named.changed()
    assert step.traces == 1


def test_an_array_the_loss_names_changed_in_place_is_seen():
    # The same array object, other numbers: the trace took scale[1] as a constant.
    w = Value(0.5)
    scale = np.array([1.0, 2.0])

    def loss_fn(x):
        return (w * x[0] * scale[1]) ** 2

    step = compile(loss_fn)
    x = np.array([1.5])
    step(x)
    scale[1] = 4.0
    w.grad = 0.0
    got = step(x)
    compiled = w.grad
    w.grad = 0.0
    eager = loss_fn([Value(1.5)])
    eager.backward()
    assert (got, compiled) == (eager.data, w.grad) and step.traces == 2


def test_a_step_called_under_no_grad_gives_the_loss_and_touches_no_gradient():
    model = MLP(2, [6, 1], seed=1)
    X, y = moons(8, seed=0, labels="pm1")
    Xv, yv = moons(8, seed=1, labels="pm1")
    scale = [1.0]

    def loss_fn(X, y):
        return hinge_loss([model(x) for x in X], y) * scale[0]
    step = compile(loss_fn)
    params = model.parameters()
    for k in range(5):  # untraced, traced, confirmed, replayed, a number it names changed
        scale[0] = 2.0 if k == 4 else 1.0
        for p in params:
            p.grad = 0.25
        with no_grad():
            got = step(Xv, yv)
            want = loss_fn(Xv.tolist(), yv.tolist())
        assert got == pytest.approx(want.data, rel=TOLERANCE) and want.grad is None
        assert all(p.grad == 0.25 for p in params)
        step(X, y)
        for p in params:
            p.data -= 0.1 * p.grad
    assert step.traces == 2


def test_ctrl_c_during_the_first_comparison_with_eager_leaves_it_to_do():
    w = Value(0.5, label="w")

    class Settings:  # class attributes the loss reads: only the comparison with eager sees them
        scale = 1.0
        interrupt = False

    def loss_fn(x):
        if Settings.interrupt:
            Settings.interrupt = False
            raise KeyboardInterrupt
        return w * x[0] * Settings.scale
    step = compile(loss_fn)
    step([2.0])
    w.data, Settings.scale, Settings.interrupt = 0.75, 3.0, True
    with pytest.raises(KeyboardInterrupt):
        step([2.0])  # interrupted in its eager run, beside the first replay on moved numbers
    w.grad = 0.0
    with pytest.warns(RuntimeWarning, match="differs from eager's"):
        got = step([2.0])  # the comparison, run now: that shape runs eagerly from here on
    assert got == 0.75 * 2.0 * 3.0 and w.grad == 6.0 and step.traces == 1


@pytest.mark.parametrize("other", ["compiled step", "eager backward"])
def test_two_threads_adding_to_one_models_gradients_lose_nothing(other):
    w = Value(0.5, label="w")
    first, second = compile(lambda x: w * x[0]), compile(lambda x: w * x[0] * 2.0)
    first([1.0])
    second([1.0])
    adds = second if other == "compiled step" else lambda x: (w * x[0] * 2.0).backward()
    program = first._last
    replayed = program.backward

    def backward_while_the_other_adds(*args, **kwargs):  # the other one, all of it, in between
        thread = threading.Thread(target=adds, args=([1.0],))
        thread.start()
        thread.join()
        return replayed(*args, **kwargs)
    program.backward = backward_while_the_other_adds
    w.grad = 0.0
    first([1.0])
    assert w.grad == 1.0 + 2.0



def test_a_warning_names_the_users_line_as_it_is_said():
    w = Value(1.0, label="w")

    def loss(x):
        return w * x[0] * random.random()  # draws every call: runs eagerly, said once
    with pytest.warns(RuntimeWarning, match="draws random numbers") as said:
        compile(loss)([1.0])
    assert said[0].filename == __file__
    with pytest.warns(RuntimeWarning, match="draws random numbers") as said:
        fit(MLP(1, [1], seed=0), [[1.0]], [1.0], loss=lambda s, t: s[0] * random.random(),
            epochs=1, compile=True, verbose=False)
    assert said[0].filename == __file__



class _Tempered(Module):
    """A model whose forward reads a number and a flag it holds beside its parameters."""

    def __init__(self):
        self.neuron, self.temperature, self.training = Neuron(2, seed=1), 1.0, True

    def forward(self, x):
        z = self.neuron(x) / self.temperature
        return z.tanh() if self.training else z


@pytest.mark.parametrize("change", ["temperature", "training"])
def test_a_number_or_flag_a_model_holds_is_read_again(change):
    model = _Tempered()
    X, y = moons(6, seed=0, labels="pm1")

    def loss_fn(X, y):
        return mse_loss([model(x) for x in X], y)
    step = compile(loss_fn)
    compare(step, loss_fn, model.parameters(), X, y)
    setattr(model, change, 0.5 if change == "temperature" else False)
    compare(step, loss_fn, model.parameters(), X, y)
    assert step.traces == 2
