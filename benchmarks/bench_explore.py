"""How fast the explorer is: recording a run, building its page, scrubbing and stepping it.

Two nets, as the targets name them:

* micrograd's moons net, ``MLP(2, [16, 16, 1])`` over 100 points of `microgrant.data.moons`,
  trained 100 epochs (full batch, hinge loss, SGD, each step compiled) with a snapshot every
  epoch.  Measured in Python: training alone, the extra time recording costs (a state_dict per
  epoch), building the page (`microgrant.viz.explore`) and saving it, its size; and what a
  live view costs during training (the notebook's display replaced by a stand-in that keeps
  what it is sent, so the cost measured is the explorer's own).
* note 001's XOR net at ``MLP(2, [4, 4, 1])``: every view at once.

In headless Chromium (driven over the DevTools protocol through a pipe by the tests' driver,
``tests/chromium.py``), with the page's own timer (``performance.now``): the load (navigation
to the explorer drawn), each frame's work while scrubbing every snapshot and while stepping
backprop (redraw and layout, forced by reading it), and frames a second over
``requestAnimationFrame`` while scrubbing.

Run: ``python benchmarks/bench_explore.py [--epochs 100] [--points 100]``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the browser driver
from chromium import Browser, Page, find_browser  # noqa: E402

from microgrant import compile as compile_step
from microgrant.data import logic_gate, moons
from microgrant.losses import binary_cross_entropy_with_logits, hinge_loss
from microgrant.nn import MLP
from microgrant.optim import SGD, Adam
from microgrant.viz import explore
from microgrant.viz.explore_data import forward, read_net, weights_of

explore_module = importlib.import_module("microgrant.viz.explore")


@dataclass
class Snapshot:
    epoch: int
    state_dict: dict
    loss: float
    accuracy: float


@dataclass
class History:
    snapshots: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    loss_name: str = "hinge"


def train(model, X, y, epochs, loss, opt, record: bool, live=None, name="hinge"):
    """Compiled full-batch training; with ``record``, a snapshot after every epoch.

    A step returns the loss of the weights before it, so each snapshot's loss is the next
    step's (one more forward for the last); accuracy comes from a numpy forward pass.
    """
    step = compile_step(lambda Xv, yv: loss([model(x) for x in Xv], yv))
    history, net, pending = History(loss_name=name), read_net(model), None
    for epoch in range(1, epochs + 2):
        value = step(X, y)
        if pending is not None:
            pending.loss = value
            history.snapshots.append(pending)
            if live is not None:
                live.update(history)
        if epoch > epochs:
            break
        history.loss.append(value)
        opt.step()
        opt.zero_grad()
        if record:
            state = model.state_dict()
            out = forward(net, weights_of(net, state), X)[-1][1][:, 0]
            right = float(np.mean((out > (0.0 if name != "bce" else 0.5)) == (y > 0)))
            pending = Snapshot(epoch, state, float("nan"), right)
    opt.zero_grad()
    if live is not None:
        live.finish(history)
    return history


class Html:
    def __init__(self, data):
        self.data = data


class Shown:
    """Stands in for the notebook: keeps what the live view sends."""

    def __init__(self):
        self.sent = []

    def display(self, obj, display_id=None):
        self.sent.append(obj.data)
        return self if display_id else None

    def update(self, obj):
        self.sent.append(obj.data)


def python_side(points: int, epochs: int, out: Path) -> tuple[dict, Path]:
    X, y = moons(points, noise=0.1, seed=0, labels="pm1")
    results = {}
    for record in (False, True):
        model = MLP(2, [16, 16, 1], seed=1)
        began = time.perf_counter()
        history = train(model, X, y, epochs, hinge_loss, SGD(model.parameters(), lr=0.05), record)
        results["record" if record else "train"] = time.perf_counter() - began
    began = time.perf_counter()
    page = explore(model, X, y, history)
    results["build"] = time.perf_counter() - began
    began = time.perf_counter()
    path = page.save(out / "moons.html")
    results["save"] = time.perf_counter() - began
    results["bytes"] = path.stat().st_size
    shown = Shown()
    explore_module.notebook_display = lambda: (shown.display, Html)
    model = MLP(2, [16, 16, 1], seed=1)
    began = time.perf_counter()
    view = explore_module.live_view(model, X, y)
    results["live_start"] = time.perf_counter() - began
    began = time.perf_counter()
    train(model, X, y, epochs, hinge_loss, SGD(model.parameters(), lr=0.05), True, live=view)
    results["live_train"] = time.perf_counter() - began
    results["live_spent"] = view._spent
    results["live_sends"] = len(shown.sent) - 2
    return results, path


TIMING = """(async function () {
  while (!window.micrograntExplore || !Object.keys(window.micrograntExplore).length)
    await new Promise(function (r) { setTimeout(r, 10); });
  var view = Object.values(window.micrograntExplore)[0], root = view.root, out = {};
  out.load = performance.now();
  var frame = function (fn) { var t = performance.now(); fn(); root.getBoundingClientRect();
    return performance.now() - t; };
  var n = view.P.snapshots.length, scrub = [], step = [];
  for (var i = 0; i < n; i++) scrub.push(frame(function () { view.show(i); }));
  view.sample = 0; view.setMode("backprop");
  for (i = 0; i < view.steps.length; i++) step.push(frame(function () { view.move(1); }));
  for (i = 0; i < view.steps.length; i++) step.push(frame(function () { view.move(-1); }));
  view.setMode("overview");
  out.scrub = scrub; out.step = step;
  out.drill = frame(function () { window.MGX.openNeuron(view, 0, 0); });
  out.sample = frame(function () { view.openSample(0); });
  view.back();
  out.fps = await new Promise(function (r) { view.bench(120, r); });
  return out;
})()"""


def browser_side(binary: str, path: Path) -> dict:
    # Not waiting for the load event: TIMING is sent at once and waits for the explorer itself.
    with Browser(binary, tempfile.mkdtemp(prefix="mg-bench-"), timeout=120.0) as browser:
        return Page(browser, path.as_uri(), wait_for_load=False).eval(TIMING)


def summary(ms: list) -> str:
    p95, median = sorted(ms)[int(0.95 * (len(ms) - 1))], statistics.median(ms)
    return (f"median {median:.1f} ms (= {1000 / max(median, 1e-9):.0f} frames/s), 95th "
            f"percentile {p95:.1f} ms (= {1000 / max(p95, 1e-9):.0f} frames/s)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--points", type=int, default=100)
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="mg-bench-explore-"))
    py, moons_page = python_side(args.points, args.epochs, out)
    print(f"moons MLP(2, [16, 16, 1]), {args.points} points, {args.epochs} recorded epochs")
    print(f"  training alone            {py['train']:.2f} s (compiled steps)")
    print(f"  recording costs           {py['record'] - py['train']:+.2f} s "
          f"(training with snapshots: {py['record']:.2f} s)")
    print(f"  building the page         {py['build']:.2f} s; saving {py['save']:.2f} s")
    print(f"  recording + building      {py['record'] - py['train'] + py['build']:.2f} s "
          f"(target < 5 s)")
    print(f"  page size                 {py['bytes'] / 1e6:.2f} MB (target < 5 MB)")
    print(f"  live view: start {py['live_start']:.2f} s, sends {py['live_spent'] * 1000:.0f} ms "
          f"in {py['live_sends']} updates = {100 * py['live_spent'] / py['live_train']:.1f}% of "
          f"{py['live_train']:.2f} s training (target < 10%)")
    X, y = logic_gate("xor")
    model = MLP(2, [4, 4, 1], activation="tanh", seed=1)
    began = time.perf_counter()
    history = train(model, X, y, args.epochs, binary_cross_entropy_with_logits,
                    Adam(model.parameters(), lr=0.1), True, name="bce_logits")
    xor_page = explore(model, X, y, history).save(out / "xor.html")
    print(f"XOR MLP(2, [4, 4, 1]): trained, recorded and built in "
          f"{time.perf_counter() - began:.2f} s")
    binary = find_browser()
    if binary is None:
        print("no Chromium found: install chromium for the browser measurements", file=sys.stderr)
        return
    # Timings in a shared machine vary with its load: it is printed so runs can be compared.
    print(f"machine load (1-minute average) {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, path in (("moons", moons_page), ("XOR", xor_page)):
        b = browser_side(binary, path)
        print(f"{name} in headless Chromium: loaded and drawn at {b['load']:.0f} ms")
        print(f"  scrubbing, per frame      {summary(b['scrub'])}")
        print(f"  stepping backprop         {summary(b['step'])}")
        print(f"  open a neuron {b['drill']:.1f} ms, a sample {b['sample']:.1f} ms; "
              f"requestAnimationFrame while scrubbing: {b['fps']:.0f} frames/s")


if __name__ == "__main__":
    main()
