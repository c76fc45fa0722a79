"""Compiled steps side by side, in one run, as ratios: eager, compiled (two ways), PyTorch.

The moons step (MLP(2, [16, 16, 1]) on 100 points, hinge loss + 1e-4 L2, forward, backward
and an SGD update) written two ways:

* microgrant's way: ``hinge_loss(scores, y) + 1e-4 * Value.sum([p * p ...])``;
* micrograd's way, as its demo notebook writes it: Python's ``sum`` over
  ``(1 + -yi * scorei).relu()`` and over ``p * p``;

each compiled and eager, against PyTorch's batched step (``nn.Linear``, float64, one thread).
Then the time compiling costs (the trace, and the next call's one comparison with an eager
run), and the scale (MLP(2, [w, w, 1]) over more points).  Beside the trace, its floor: a
trace runs the loss's forward twice, once while a profile function watches it, and the mere
presence of one (even ``slice``, a C function that does nothing) puts Python 3.11 on its
slow tracing path for every instruction.  Times are this
process's CPU time (the best of several runs), so other work on the machine does not skew the
ratios.  numpy's BLAS runs on one thread, as PyTorch does.

    PYTHONPATH=. python benchmarks/bench_compile.py           # short: seconds
    PYTHONPATH=. python benchmarks/bench_compile.py --full    # up to [64, 64, 1] on 1,600
"""

from __future__ import annotations

import os

# One thread for numpy's BLAS, as for PyTorch (torch.set_num_threads(1)): the same footing,
# and no BLAS threads spinning against each other on a busy machine.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from microgrant import Value  # noqa: E402
from microgrant.compile import compile  # noqa: E402
from microgrant.data import moons  # noqa: E402
from microgrant.nn import MLP, hinge_loss  # noqa: E402


def losses(model):
    params = model.parameters()

    def microgrant_way(X, y):
        return hinge_loss([model(x) for x in X], y) + 1e-4 * Value.sum([p * p for p in params])

    def micrograd_way(X, y):
        scores = [model(x) for x in X]
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(y))
        return data_loss + 1e-4 * sum((p * p for p in model.parameters()))

    return {"microgrant's way": microgrant_way, "micrograd's way": micrograd_way}


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def sgd(params, lr=0.05):
    for p in params:
        p.data -= lr * p.grad
        p.grad = 0.0


def time_compiled(model, loss_fn, X, y, repeats):
    """The best step time, and what compiling cost: the first call (the trace) and the
    second's excess over a step (its one comparison with an eager run, on moved numbers)."""
    params = model.parameters()
    step = compile(loss_fn)

    def one():
        step(X, y)
        sgd(params)
    start = time.process_time()
    one()
    traced = time.process_time() - start
    start = time.process_time()
    one()
    compared = time.process_time() - start
    best = best_of(one, repeats)
    return best, traced + max(0.0, compared - best), step


def time_eager(model, loss_fn, X, y, repeats):
    params = model.parameters()
    nested = [[Value(v, requires_grad=False) for v in row] for row in X.tolist()]
    targets = y.tolist()

    def one():
        loss_fn(nested, targets).backward()
        sgd(params)
    return best_of(one, repeats)


def time_forwards(loss_fn, X, y, repeats):
    """The loss's forward alone (on inputs that take a gradient, as a trace makes them), and
    the same forward while a profile function that does nothing is set: the two runs a trace
    makes, and the least either can cost."""
    def forward(profile=None):
        nested = [[Value(v) for v in row] for row in X.tolist()]
        targets = [Value(v) for v in y.tolist()]
        gc.disable()  # as a trace runs it
        start = time.process_time()
        sys.setprofile(profile)
        try:
            loss_fn(nested, targets)
        finally:
            sys.setprofile(None)
            gc.enable()
        return time.process_time() - start
    return (min(forward() for _ in range(repeats)),
            min(forward(slice) for _ in range(repeats)))


def time_torch(sizes, X, y, repeats):
    try:
        import torch
    except ImportError:
        return float("nan")
    torch.set_num_threads(1)
    layers: list = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def one():
        opt.zero_grad()
        scores = model(Xt).squeeze(1)
        loss = torch.relu(1 - yt * scores).mean() + 1e-4 * sum((p * p).sum()
                                                                for p in model.parameters())
        loss.backward()
        opt.step()
    return best_of(one, repeats)


def run(width: int, n: int, repeats: int, eager_repeats: int) -> None:
    X, y = moons(n, seed=0, labels="pm1")
    sizes = [2, width, width, 1]
    torch_s = time_torch(sizes, X, y, repeats)
    print(f"\nMLP(2, [{width}, {width}, 1]) on {n} points; PyTorch batched step "
          f"{torch_s * 1e3:.3f} ms")
    for name in ("microgrant's way", "micrograd's way"):
        model = MLP(2, [width, width, 1], seed=1)
        loss_fn = losses(model)[name]
        compiled, traced, step = time_compiled(model, loss_fn, X, y, repeats)
        eager = time_eager(model, loss_fn, X, y, eager_repeats)
        print(f"  {name:<17} compiled {compiled * 1e3:8.3f} ms = {compiled / torch_s:5.2f}x "
              f"PyTorch; eager {eager * 1e3:8.1f} ms = {eager / compiled:6.1f}x compiled; "
              f"trace {traced:6.2f} s = {traced / eager:4.1f} eager steps; "
              f"{step.tape.levels} levels, {len(step.tape.groups)} array ops")
        if name == "microgrant's way":
            plain, profiled = time_forwards(loss_fn, X, y, eager_repeats)
            print(f"    the trace's floor: a forward {plain / eager:4.2f} eager steps; under "
                  f"a profile function that does nothing {profiled / eager:4.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="scale up to [64, 64, 1] on 1,600")
    args = parser.parse_args()
    run(16, 100, repeats=30, eager_repeats=3)
    sizes = [(8, 1600), (16, 1600), (64, 1600)] if args.full else [(16, 400)]
    for width, n in sizes:
        # The best of three eager steps: one alone swings by 2x on a busy machine, and it is
        # the unit the trace time is given in.
        run(width, n, repeats=10, eager_repeats=3)


if __name__ == "__main__":
    main()
