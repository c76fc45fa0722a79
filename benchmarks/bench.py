"""Speed and memory of microgrant, side by side with micrograd 0.1.0 and PyTorch scalar tensors.

Backprop's cost in a scalar engine is a cost per node: making it in the forward pass, visiting
it in the backward pass, and keeping it in memory in between.  This script measures exactly
that, on the same computations written for each engine, and prints medians and ratios:

* chain      a 2,000-node chain x = x * c: forward and backward ns/node
* wide       20,000 leaves summed pairwise (19,999 additions): forward and backward ns/node
* moons      micrograd's moons training step, MLP(2, [16, 16, 1]) on 100 points, hinge loss
             + 1e-4 L2, forward + backward + SGD: ms/step; also eager microgrant with torch
             imported first, microgrant.compile's step, and PyTorch's batched step (nn.Linear
             layers, float64, one thread)
* memory     bytes per node of a 100,000-node chain (tracemalloc for the Python engines; the
             process's resident memory for all three)
* depth      the deepest chain each engine can backprop through with default settings
* to_dot     microgrant's conversion of a 20,000-node graph to DOT text (ms)

Every measurement runs in a fresh Python process, so one engine's heap and garbage collector
never slow another down.  The short per-node cases (chain, wide) run five times, alternating
the engines, and report each engine's median.  Run it with

    pip install -e ".[bench]"
    python benchmarks/bench.py            # about two minutes
    python benchmarks/bench.py --quick    # fewer repeats, for a smoke test

An engine that is not installed is reported as missing; the others still run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time

ENGINES = ("microgrant", "micrograd", "torch")

# ---- the measurements, run inside a child process ------------------------------------------


def _engine(name):
    """A function that makes a leaf scalar with a gradient, in the given engine."""
    if name == "microgrant":
        from microgrant import Value
        return Value
    if name == "micrograd":
        from micrograd.engine import Value
        return Value
    import torch
    torch.set_num_threads(1)

    def make(x):
        return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    return make


def _grad_of(v) -> float:
    return float(v.grad)  # a torch tensor, or a Python number


def case_chain(name, n=2000, repeats=30):
    make = _engine(name)
    if name == "micrograd":
        # micrograd's backward recurses once per node; 2,000 deep needs a higher limit.
        sys.setrecursionlimit(10 * n)
    forward, backward = [], []
    for _ in range(repeats):
        c = make(1.0001)
        x = make(1.0)
        t0 = time.perf_counter()
        y = x
        for _ in range(n):
            y = y * c
        t1 = time.perf_counter()
        y.backward()
        t2 = time.perf_counter()
        forward.append((t1 - t0) / n * 1e9)
        backward.append((t2 - t1) / n * 1e9)
        expected = n * 1.0001 ** (n - 1)
        assert abs(_grad_of(c) - expected) < 1e-6 * expected, "wrong gradient"
    return {"forward_ns_per_node": statistics.median(forward),
            "backward_ns_per_node": statistics.median(backward)}


def case_wide(name, leaves=20000, repeats=10):
    make = _engine(name)
    forward, backward = [], []
    for _ in range(repeats):
        xs = [make(i * 1e-4) for i in range(leaves)]
        t0 = time.perf_counter()
        level = xs
        while len(level) > 1:  # pairwise: a shallow tree of leaves - 1 additions
            nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        t1 = time.perf_counter()
        level[0].backward()
        t2 = time.perf_counter()
        ops = leaves - 1
        forward.append((t1 - t0) / ops * 1e9)
        backward.append((t2 - t1) / ops * 1e9)
        assert _grad_of(xs[123]) == 1.0, "wrong gradient"
    return {"forward_ns_per_node": statistics.median(forward),
            "backward_ns_per_node": statistics.median(backward)}


def _moons(n=100, seed=1337):
    import numpy as np
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    half = n // 2
    X = np.concatenate([np.c_[np.cos(t[:half]), np.sin(t[:half])],
                        np.c_[1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])]])
    X += rng.normal(0, 0.1, X.shape)
    y = np.array([1.0] * half + [-1.0] * (n - half))
    return X.tolist(), y.tolist()


def case_moons(name, steps=8, torch_first=False):
    """micrograd's demo step for each engine; the maths is identical, the idioms native.

    Steps run back to back, as a training loop runs them (no gc.collect() in between).
    ``torch_first`` imports torch before anything else, as a notebook that also uses PyTorch
    would: its import must not slow the scalar engine down.
    """
    import random
    if torch_first:
        import torch  # noqa: F401
    X, y = _moons()
    times = []
    if name == "microgrant-compiled":
        import numpy as np

        import microgrant
        from microgrant import Value
        from microgrant.nn import MLP, hinge_loss
        model = MLP(2, [16, 16, 1], seed=1337)
        params = model.parameters()

        def loss_fn(X, y):
            scores = [model(x) for x in X]
            return hinge_loss(scores, y) + 1e-4 * Value.sum([p * p for p in params])
        # microgrant.compile once the package exports it; the module's function until then.
        compile_ = getattr(microgrant, "compile", None)
        if not callable(compile_):
            from microgrant.compile import compile as compile_
        step = compile_(loss_fn)
        Xa, ya = np.array(X), np.array(y)
        for k in range(steps):
            t0 = time.perf_counter()
            for p in params:  # as optimizer.zero_grad() does: Module.zero_grad walks the model
                p.grad = 0.0
            step(Xa, ya)
            lr = 1.0 - 0.9 * min(k, 99) / 100
            for p in params:
                p.data -= lr * p.grad
            times.append(time.perf_counter() - t0)
        assert step.traces == 1 and step.eager_calls == 0, "the compiled step fell back"
    elif name == "torch-batched":
        import torch
        torch.set_num_threads(1)
        torch.manual_seed(1337)
        model = torch.nn.Sequential(
            torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
            torch.nn.ReLU(), torch.nn.Linear(16, 1)).double()
        params = list(model.parameters())
        optimizer = torch.optim.SGD(params, lr=1.0)
        Xt = torch.tensor(X, dtype=torch.float64)
        yt = torch.tensor(y, dtype=torch.float64)
        for k in range(steps):
            t0 = time.perf_counter()
            scores = model(Xt).squeeze(1)
            loss = torch.relu(1 - yt * scores).mean() + 1e-4 * sum((p * p).sum()
                                                                    for p in params)
            optimizer.zero_grad()
            loss.backward()
            for group in optimizer.param_groups:
                group["lr"] = 1.0 - 0.9 * min(k, 99) / 100
            optimizer.step()
            times.append(time.perf_counter() - t0)
    elif name == "micrograd":
        from micrograd.engine import Value
        from micrograd.nn import MLP
        random.seed(1337)
        model = MLP(2, [16, 16, 1])
        params = model.parameters()
        for k in range(steps):
            t0 = time.perf_counter()
            scores = [model([Value(a), Value(b)]) for a, b in X]
            losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
            loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in params)
            model.zero_grad()
            loss.backward()
            for p in params:
                p.data -= (1.0 - 0.9 * k / 100) * p.grad
            times.append(time.perf_counter() - t0)
    elif name == "microgrant":
        from microgrant import Value
        from microgrant.nn import MLP, hinge_loss
        model = MLP(2, [16, 16, 1], seed=1337)
        params = model.parameters()
        for k in range(steps):
            t0 = time.perf_counter()
            scores = [model(x) for x in X]
            loss = hinge_loss(scores, y) + 1e-4 * Value.sum([p * p for p in params])
            model.zero_grad()
            loss.backward()
            for p in params:
                p.data -= (1.0 - 0.9 * k / 100) * p.grad
            times.append(time.perf_counter() - t0)
    else:
        import torch
        torch.set_num_threads(1)
        gen = torch.Generator().manual_seed(1337)

        def param():
            v = torch.rand((), generator=gen, dtype=torch.float64) * 2 - 1
            return v.requires_grad_()
        sizes = [2, 16, 16, 1]
        layers = [[([param() for _ in range(sizes[i])], torch.zeros((), dtype=torch.float64,
                                                                     requires_grad=True))
                   for _ in range(sizes[i + 1])] for i in range(3)]
        params = [p for layer in layers for w, b in layer for p in w + [b]]

        def forward(x):
            for i, layer in enumerate(layers):
                x = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
                if i < 2:
                    x = [v.relu() for v in x]
            return x[0]
        for k in range(steps):
            t0 = time.perf_counter()
            scores = [forward([torch.tensor(a, dtype=torch.float64),
                               torch.tensor(b, dtype=torch.float64)]) for a, b in X]
            losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
            loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in params)
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= (1.0 - 0.9 * k / 100) * p.grad
            times.append(time.perf_counter() - t0)
    # The first step of each engine warms caches; the median ignores it.
    return {"ms_per_step": statistics.median(times[1:]) * 1e3}


def _rss_bytes() -> int:
    import os
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def case_memory(name, n=100_000):
    import gc
    import tracemalloc
    make = _engine(name)
    gc.collect()
    c = make(1.0001)
    x = make(1.0)
    rss0 = _rss_bytes()
    tracemalloc.start()
    y = x
    for _ in range(n):
        y = y * c
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = _rss_bytes()
    result = {"rss_bytes_per_node": (rss1 - rss0) / n}
    if name != "torch":  # torch's nodes live in C++ memory, which tracemalloc cannot see
        result["traced_bytes_per_node"] = traced / n
    return result


def case_depth(name, n):
    make = _engine(name)
    c = make(1.0)
    y = make(1.0)
    for _ in range(n):
        y = y * c
    y.backward()
    assert _grad_of(c) == float(n)
    return {"ok": True}


def case_to_dot(name, n=20000):
    from microgrant import Value
    from microgrant.viz import to_dot
    x = Value(0.5, label="x")
    for _ in range(n):
        x = x * 1.0
    x.backward()
    times = []
    for view in ("forward", "backward"):
        t0 = time.perf_counter()
        to_dot(x, view=view)
        times.append(time.perf_counter() - t0)
    return {"forward_ms": times[0] * 1e3, "backward_ms": times[1] * 1e3}


BEFORE = "microgrant-before"
AGAINST = (("chain backward ns/node", "chain", "backward_ns_per_node", 1.15),
           ("moons step ms", "moons", "ms_per_step", 1.03))
"""What --against compares, with the most this tree may cost relative to the other."""

CASES = {"chain": case_chain, "wide": case_wide, "moons": case_moons, "memory": case_memory,
         "depth": case_depth, "to_dot": case_to_dot}

# ---- the driver, in the parent process -----------------------------------------------------


def run_child(engine: str, case: str, source: str = "", **kwargs) -> dict:
    """Runs one case for one engine in a fresh interpreter; returns its JSON result.

    ``source``, when given, is the folder of another microgrant source tree (an earlier
    version, say) that the child imports instead of the installed one.
    """
    code = (f"import json, sys; sys.path.insert(0, {repr(sys.path[0])}); import bench; "
            + (f"sys.path.insert(0, {source!r}); " if source else "")
            + f"print(json.dumps(bench.CASES[{case!r}]({engine!r}, **{kwargs!r})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict]) -> dict:
    """Each number's median over the runs of one case; an error if any run failed."""
    for run in runs:
        if "error" in run:
            return run
    if len(runs) == 1:
        return runs[0]
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def available(engine: str) -> bool:
    module = {"microgrant": "microgrant", "micrograd": "micrograd.engine", "torch": "torch"}
    proc = subprocess.run([sys.executable, "-c", f"import {module[engine]}"],
                          capture_output=True)
    return proc.returncode == 0


def fmt(x, unit="") -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{x:,.0f}{unit}" if abs(x) >= 100 else f"{x:,.2f}{unit}"


def ratio(a, b) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    parser.add_argument("--against", metavar="TREE",
                        help="also time another microgrant source tree (e.g. an earlier "
                             "commit, from git archive) on the chain and moons cases, in "
                             "the same alternating rounds, and print this tree's ratios")
    # Exit status: 1 when a case failed to run; a missed target is reported, not an error.
    args = parser.parse_args(argv)

    engines = [e for e in ENGINES if available(e)]
    missing = [e for e in ENGINES if e not in engines]
    if "microgrant" not in engines:
        print("microgrant is not importable: install it first (pip install -e .)")
        return 1
    quick = {"chain": {"repeats": 5}, "wide": {"repeats": 3}, "moons": {"steps": 3}}
    results: dict = {}
    for case in ("chain", "wide", "moons", "memory"):
        # The per-node cases take a few milliseconds each: a moment's load on the machine
        # would move one engine's number and not the other's.  They run in rounds that
        # alternate the engines, and each engine keeps its median round.
        rounds = 1 if args.quick or case not in ("chain", "wide") else 5
        racers = engines + ([BEFORE] if args.against and case in ("chain", "moons") else [])
        if args.against and case == "moons":
            rounds = 1 if args.quick else 5
        runs: dict = {engine: [] for engine in racers}
        for round_ in range(rounds):
            for engine in racers:
                kwargs = quick.get(case, {}) if args.quick else {}
                print(f"  {case:<7} {engine} ({round_ + 1}/{rounds}) ...", file=sys.stderr,
                      flush=True)
                if engine == BEFORE:
                    runs[engine].append(run_child("microgrant", case, args.against, **kwargs))
                else:
                    runs[engine].append(run_child(engine, case, **kwargs))
        results[case] = {engine: _median_run(runs[engine]) for engine in racers}
    # The batched side: microgrant's compiled step against PyTorch's nn.Linear step, and
    # the eager step again with torch imported first in the same process.
    fast_steps = {"steps": 20 if args.quick else 300}
    eager_steps = quick["moons"] if args.quick else {}
    extra = [("microgrant-compiled", fast_steps),
             ("microgrant-torch-first", {**eager_steps, "torch_first": True})]
    if "torch" in engines:
        extra.append(("torch-batched", fast_steps))
    for engine, kwargs in extra:
        print(f"  moons   {engine} ...", file=sys.stderr, flush=True)
        child = "microgrant" if engine == "microgrant-torch-first" else engine
        if engine == "microgrant-torch-first" and "torch" not in engines:
            continue
        results["moons"][engine] = run_child(child, "moons", **kwargs)
    depths = (100, 500, 900, 1_000, 10_000, 100_000, 1_000_000)
    results["depth"] = {}
    for engine in engines:
        deepest = 0
        for n in depths:
            print(f"  depth   {engine} {n:,} ...", file=sys.stderr, flush=True)
            if "error" in run_child(engine, "depth", n=n):
                break
            deepest = n
        results["depth"][engine] = deepest
    results["to_dot"] = run_child("microgrant", "to_dot")

    def get(case, engine, key):
        value = results.get(case, {}).get(engine, {})
        return value.get(key) if isinstance(value, dict) else None

    print(f"\nmicrograd 0.1.0 and PyTorch scalar tensors vs microgrant, "
          f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
          f"{platform.machine()}, {platform.processor() or platform.system()}")
    if missing:
        print(f"not installed, so not measured: {', '.join(missing)}")
    rows = [
        ("chain forward ns/node", "chain", "forward_ns_per_node", None),
        ("chain backward ns/node", "chain", "backward_ns_per_node", 0.45),
        ("wide forward ns/node", "wide", "forward_ns_per_node", None),
        ("wide backward ns/node", "wide", "backward_ns_per_node", 0.5),
        ("moons step ms", "moons", "ms_per_step", 1 / 25),
        ("bytes/node (tracemalloc)", "memory", "traced_bytes_per_node", 1 / 6),
        ("bytes/node (resident)", "memory", "rss_bytes_per_node", None),
    ]
    header = (f"| {'measure':<31} | {'microgrant':>10} | {'micrograd':>10} | {'torch':>10} | "
              f"{'÷ micrograd':>11} | {'÷ torch':>8} | {'target':>12} |")
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    verdicts = []
    for title, case, key, target in rows:
        mine, theirs, torch_ = (get(case, e, key) for e in ENGINES)
        r = ratio(mine, theirs)
        goal = "-"
        if target is not None and r != "-":
            met = float(r) <= target
            goal = f"<= {target:.3g} {'met' if met else 'MISSED'}"
            verdicts.append((title, met))
        print(f"| {title:<31} | {fmt(mine):>10} | {fmt(theirs):>10} | {fmt(torch_):>10} | "
              f"{r:>11} | {ratio(mine, torch_):>8} | {goal:>12} |")
    moons = results.get("moons", {})

    def ms(engine):
        value = moons.get(engine, {})
        return value.get("ms_per_step") if isinstance(value, dict) else None
    compiled, batched, eager_ms = ms("microgrant-compiled"), ms("torch-batched"), ms("microgrant")
    first = ms("microgrant-torch-first")
    batched_rows = [
        ("moons ms, torch imported first", first, eager_ms, "without", "<=", 1.25),
        ("moons ms compiled, torch nn", compiled, batched, "batched", "<=", 1.0),
        ("moons ms eager, compiled", eager_ms, compiled, "compiled", ">=", 50.0),
    ]
    for title, a, b, versus, sense, target in batched_rows:
        r = ratio(a, b)
        goal = "-"
        if r != "-":
            met = float(r) <= target if sense == "<=" else float(r) >= target
            goal = f"{sense} {target:g} {'met' if met else 'MISSED'}"
            verdicts.append((title, met))
        print(f"| {title:<31} | {fmt(a, ' ms'):>10} | {fmt(b, ' ms'):>10} | "
              f"{'÷ ' + versus:>10} | {r:>11} | {'':>8} | {goal:>12} |")
    d = results["depth"]
    deep_ok = d.get("microgrant", 0) >= 1_000_000
    verdicts.append(("1,000,000-node chain", deep_ok))
    print(f"| {'deepest chain backprop':<31} | {fmt(d.get('microgrant')):>10} | "
          f"{fmt(d.get('micrograd')):>10} | {fmt(d.get('torch')):>10} | {'':>11} | {'':>8} | "
          f"{'>= 1e6 ' + ('met' if deep_ok else 'MISSED'):>12} |")
    td = results["to_dot"]
    if "error" in td:
        print(f"\nto_dot of a 20,000-node chain: failed ({td['error']})")
    else:
        print(f"\nto_dot of a 20,000-node chain: forward view {td['forward_ms']:.0f} ms, "
              f"backward view {td['backward_ms']:.0f} ms")
    errors = [(c, e, v["error"]) for c, per in results.items() if isinstance(per, dict)
              for e, v in per.items() if isinstance(v, dict) and "error" in v]
    for case, engine, message in errors:
        print(f"{case} / {engine} failed: {message}")
    if args.against:
        print(f"\nthis tree against {args.against}, same rounds:")
        for title, case, key, target in AGAINST:
            r = ratio(get(case, "microgrant", key), get(case, BEFORE, key))
            met = r != "-" and float(r) <= target
            verdicts.append((f"{title} against {args.against}", met))
            print(f"  {title}: {fmt(get(case, 'microgrant', key))} against "
                  f"{fmt(get(case, BEFORE, key))}, ratio {r} "
                  f"(<= {target:g} {'met' if met else 'MISSED'})")
    missed = [t for t, met in verdicts if not met]
    print("\nall targets met" if not missed else f"\ntargets missed: {', '.join(missed)}")
    if args.json:
        from microgrant.io import write_atomically
        write_atomically(args.json, json.dumps(results, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
