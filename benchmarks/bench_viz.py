"""How long pictures of backprop take to lay out, and how long DOT text takes to write.

Graphviz's layout is what a learner waits for.  Each case builds a graph, writes its DOT text
(`microgrant.viz.draw`) and lays it out as SVG; the table gives the layout's seconds for the
forward, backward and collapsed pictures, and the picture's size in points.  The cases are the
ones that used to hang: values reused by many ops (``x * x * ... * x``, ``x + x + ... + x``)
and small MLPs over a few samples.  Last, `to_dot` of a 20,000-node chain (no layout).

Run: ``python benchmarks/bench_viz.py`` (each layout runs in a child process with a time
limit, so a case that hangs is reported as such instead of stopping the table).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time

VIEWS = ("forward", "backward", "collapsed")
LIMIT = 120.0  # seconds a child may take before the case is reported as timed out


def _fan_out(n: int, op: str):
    from microgrant import Value
    x = Value(0.9, label="x")
    v = x
    for _ in range(n):
        v = v * x if op == "mul" else v + x
    return v


def _mlp(hidden: int):
    from microgrant import Value, labels, losses
    from microgrant.nn import MLP
    model = MLP(2, [hidden, hidden, 1], seed=0)
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    y = [0.0, 1.0, 1.0, 0.0]
    terms = losses.mse_loss([model(x) for x in X], y, reduction="none")
    for k, term in enumerate(terms):
        term.label = term.label or labels.indexed("mse", k + 1)  # as the losses label them
    loss = Value.sum(terms) / len(terms)
    loss.label = loss.label or "mse"
    loss.backward()
    return loss


CASES = {
    "x*x*...*x, 70 products": lambda: _fan_out(70, "mul"),
    "x*x*...*x, 80 products": lambda: _fan_out(80, "mul"),
    "x+x+...+x, 60 terms": lambda: _fan_out(60, "add"),
    "x+x+...+x, 150 terms": lambda: _fan_out(150, "add"),
    "MLP(2,[4,4,1]), 4 XOR points, mse": lambda: _mlp(4),
    "MLP(2,[8,8,1]), 4 points, mse": lambda: _mlp(8),
}


def child(case: str, view: str) -> None:
    """Lays one picture out and prints its numbers as JSON (run in a child process)."""
    from microgrant import viz
    root = CASES[case]()
    start = time.perf_counter()
    drawing = viz.draw(root, view=view)
    written = time.perf_counter() - start
    start = time.perf_counter()
    svg = drawing.pipe("svg")
    laid_out = time.perf_counter() - start
    size = re.search(rb'width="([0-9.]+)pt" height="([0-9.]+)pt"', svg)
    assert size is not None
    print(json.dumps({"dot_s": written, "layout_s": laid_out,
                      "size": [float(size.group(1)), float(size.group(2))]}))


def run(case: str, view: str, limit: float = LIMIT) -> dict:
    try:
        done = subprocess.run([sys.executable, __file__, "--child", case, view],
                              capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"error": f"over {limit:.0f} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout)


def to_dot_chain(n: int = 20_000) -> dict:
    from microgrant import Value, viz
    x = Value(0.5, label="x")
    v = x
    for _ in range(n):
        v = -v
    times = {}
    for view in ("forward", "backward"):
        start = time.perf_counter()
        viz.to_dot(v, view=view)
        times[view] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("CASE", "VIEW"), help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=float, default=LIMIT,
                        help="seconds a picture may take before it is reported as timed out")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"{'case':38} " + " ".join(f"{v:>22}" for v in VIEWS))
    print(f"{'':38} " + " ".join(f"{'layout s (w x h pt)':>22}" for _ in VIEWS))
    for case in CASES:
        cells = []
        for view in VIEWS:
            r = run(case, view, args.limit)
            if "error" in r:
                cells.append(f"{r['error'][:22]:>22}")
            else:
                w, h = r["size"]
                cells.append(f"{r['layout_s']:>6.2f} ({w:>6.0f} x {h:>5.0f})")
        print(f"{case:38} " + " ".join(cells), flush=True)
    times = to_dot_chain()
    print(f"\nto_dot of a 20,000-node chain: forward {times['forward'] * 1000:.0f} ms, "
          f"backward {times['backward'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
