"""13: from scalars to tensors: the moons step compiled into a handful of array operations.

Example 11 trains micrograd's moons MLP one scalar at a time: every step builds about 7,000
Value nodes in Python and walks them back again.  Yet the graph is the same every step; only
its numbers change.  `microgrant.compile` traces the step once, sorts the nodes into levels
(how deep each sits in the graph) and groups (nodes of one op at one level), and replays each
group as one numpy operation, forward and backward: 1,600 relus become one `np.where`, a
layer's 1,600 weighted sums one matrix product.  That is all a tensor library does, and this
example shows the tape, checks it against the eager engine, and times one training step for
eager microgrant, the compiled step, micrograd and (when installed) PyTorch's batched
`nn.Linear` network. An engine that is not installed is listed as such, not left out. The
tape's description and the timings are written to the output folder (results.json).

    python examples/13_compile_bridge_to_tensors.py [--n 100] [--steps 20] [--out DIR]
"""

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from microgrant import Value
from microgrant.compile import compile
from microgrant.data import moons
from microgrant.nn import MLP, hinge_loss


def moons_step(n: int = 100, seed: int = 1337):
    """(model, loss_fn, X, y): the MLP(2, [16, 16, 1]) moons problem, hinge loss + 1e-4 L2."""
    X, y = moons(n=n, noise=0.1, seed=seed, labels="pm1")
    model = MLP(2, [16, 16, 1], seed=seed)
    params = model.parameters()

    def loss_fn(X, y):
        scores = [model(x) for x in X]
        return hinge_loss(scores, y) + 1e-4 * Value.sum([p * p for p in params])
    return model, loss_fn, X, y


def time_step(step, repeats: int) -> float:
    """The median time of ``step()`` in milliseconds (the first call, a warm-up, is dropped)."""
    step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def sgd(params, lr: float = 0.05) -> None:
    for p in params:
        p.data -= lr * p.grad
        p.grad = 0.0


def micrograd_step(X, y):
    """micrograd's own step on the same problem, or None when micrograd is not installed."""
    try:
        from micrograd.engine import Value as MValue
        from micrograd.nn import MLP as MMLP
    except ImportError:
        return None
    random.seed(1337)
    model = MMLP(2, [16, 16, 1])
    params = model.parameters()
    rows, labels = X.tolist(), y.tolist()

    def step():
        scores = [model([MValue(a), MValue(b)]) for a, b in rows]
        losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in params)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= 0.05 * p.grad
    return step


def torch_step(X, y):
    """PyTorch's batched step (float64, one thread), or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(1337)
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                              torch.nn.ReLU(), torch.nn.Linear(16, 1)).double()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)

    def step():
        loss = torch.relu(1 - yt * net(Xt).squeeze(1)).mean() + 1e-4 * sum(
            (p * p).sum() for p in net.parameters())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


# What to install for each engine that is timed when it is there.
OPTIONAL = {"micrograd 0.1.0": "pip install micrograd==0.1.0",
            "PyTorch batched": "pip install torch==2.13.0 (the CPU build)"}


def main(n: int = 100, steps: int = 20, out: Path | None = None) -> dict:
    model, loss_fn, X, y = moons_step(n)
    params = model.parameters()
    step = compile(loss_fn)
    step(X, y)                       # the first call traces the graph
    sgd(params)
    print(step.describe())
    report = step.check(X, y)
    print(f"\ncheck against the eager engine: {report}\n")

    def eager():
        loss = loss_fn(X.tolist(), y.tolist())
        loss.backward()
        sgd(params)

    def compiled():
        step(X, y)
        sgd(params)

    timings = {"microgrant eager": time_step(eager, max(2, steps // 5)),
               "microgrant compiled": time_step(compiled, steps * 10)}
    others = {"micrograd 0.1.0": micrograd_step(X, y), "PyTorch batched": torch_step(X, y)}
    missing = [name for name, other in others.items() if other is None]
    for name, other in others.items():
        if other is not None:
            timings[name] = time_step(other, 2 if name.startswith("micrograd") else steps * 10)
    fastest = timings["microgrant compiled"]
    print(f"one training step on {n} points (forward, backward, SGD):")
    for name, ms in timings.items():
        print(f"  {name:<20} {ms:10.3f} ms   {ms / fastest:8.1f} x the compiled step")
    for name in missing:
        print(f"  {name:<20} not installed, so not timed ({OPTIONAL[name]})")
    result = {"timings": timings, "not_installed": missing, "agrees": bool(report),
              "levels": step.tape.levels, "groups": len(step.tape.groups),
              "nodes": step.tape.nodes}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "results.json"
        path.write_text(json.dumps({**result, "tape": step.describe()}, indent=2) + "\n")
        print(f"\nwrote {path}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="number of points")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (scaled per engine)")
    parser.add_argument("--out", help="folder for results.json (default: a new temporary "
                                      "folder)")
    args = parser.parse_args()
    main(args.n, args.steps,
         Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="microgrant-13-")))
