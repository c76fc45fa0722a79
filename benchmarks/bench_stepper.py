"""How fast the stepper page is on a big backward pass: load time and time per step.

The graph is micrograd's moons demo at a small size: ``MLP(2, [16, 16, 1])`` and the hinge loss
over 20 points of `microgrant.data.moons`, about 2,500 chain-rule steps.  The page is built by
`microgrant.viz.stepper`, then opened in headless Chromium with a timing script after it; the
script walks every step through the stepper's own API and writes what it measured into the
page, which ``chromium --dump-dom`` prints.  So nothing beyond Chromium is needed.

What is measured (all in the browser, milliseconds):

* load: from navigation start to the stepper started and laid out (HTML parse of the SVG and
  the data, the script's start-up, the first layout);
* per step: one ``next`` (class changes, text, the view following the node) and the style and
  layout it causes, forced by reading the layout; painting is not included;
* the same for a step back, and for jumps (slider to the end and back to the start).

``max_nodes`` (default: the package's `DEFAULT_MAX_NODES`) cuts the picture: most of the 2,500
steps then belong to values that are not drawn, and the page says so at each of them.  Pass
``--max-nodes N`` to draw more (layout time grows fast; ``--max-nodes 0`` means no limit).

Run: ``python benchmarks/bench_stepper.py [--points 20] [--max-nodes 300]``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the browser driver
from chromium import find_browser  # noqa: E402

from microgrant import viz
from microgrant.data import moons
from microgrant.losses import hinge_loss
from microgrant.nn import MLP

# Runs after the stepper's own script: times every step, then writes the numbers into the page.
TIMING = """
<script>
(function () {
  var root = document.querySelector(".mg-stepper");
  root.getBoundingClientRect();
  var load = performance.now();
  var api = root.mgStepper;
  function timed(action) {
    var t = performance.now();
    action();
    root.offsetHeight;  // forces the style and layout the action caused
    return performance.now() - t;
  }
  var forward = [], backward = [];
  for (var k = 1; k < api.count; k++) { forward.push(timed(api.next)); }
  var toStart = timed(function () { api.show(0); });
  var toEnd = timed(function () { api.show(api.count - 1); });
  for (var j = 1; j < api.count; j++) { backward.push(timed(api.prev)); }
  var slowEnd = [], slowStart = [];
  api.show(0);
  for (var i = 0; i < 50; i++) { slowStart.push(timed(api.next)); }
  api.show(api.count - 51);
  for (var m = 0; m < 50; m++) { slowEnd.push(timed(api.next)); }
  var out = document.createElement("pre");
  out.id = "bench-result";
  out.textContent = JSON.stringify({load: load, forward: forward, backward: backward,
    toStart: toStart, toEnd: toEnd, first50: slowStart, last50: slowEnd,
    elements: root.querySelectorAll("*").length, steps: api.count - 1});
  document.body.appendChild(out);
}());
</script>
"""


def moons_loss(points: int):
    X, y = moons(n=points, noise=0.1, seed=0, labels="pm1")
    model = MLP(2, [16, 16, 1], seed=0)
    return hinge_loss([model(list(x)) for x in X], [int(t) for t in y])


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def run_page(browser: str, page: Path, profile: str) -> dict:
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--disable-background-networking", "--window-size=1400,900",
         f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=600)
    found = re.search(r'<pre id="bench-result">(.*?)</pre>', result.stdout, flags=re.S)
    if not found:
        raise RuntimeError(f"the page did not report: {result.stderr[-2000:]}")
    text = found.group(1).replace("&quot;", '"').replace("&amp;", "&")
    return json.loads(text.replace("&lt;", "<").replace("&gt;", ">"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20, help="moons points (default 20)")
    parser.add_argument("--max-nodes", type=int, default=viz.DEFAULT_MAX_NODES,
                        help="values drawn (0: all; default %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="page loads to take the median of")
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print("no Chromium found: install chromium to run this benchmark", file=sys.stderr)
        return 1
    loss = moons_loss(args.points)
    max_nodes = args.max_nodes or None
    t = time.perf_counter()
    stepper = viz.stepper(loss, max_nodes=max_nodes)
    build = time.perf_counter() - t
    steps = len(stepper.data["steps"]) - 1
    undrawn = sum(1 for s in stepper.data["steps"] if s["node"] and not s["drawn"])
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "stepper.html"
        page.write_text(stepper.page().replace("</body>", TIMING + "</body>"), encoding="utf-8")
        size = page.stat().st_size
        runs = [run_page(browser, page, str(Path(folder) / f"profile{i}"))
                for i in range(args.runs)]
    loads = [r["load"] for r in runs]
    r = runs[len(runs) // 2]
    print(f"moons, {args.points} points, MLP(2, [16, 16, 1]), hinge loss: {steps} steps; "
          f"max_nodes={max_nodes}: {stepper.data['omitted']} values not drawn, "
          f"{undrawn} steps on undrawn nodes")
    print(f"  stepper built in Python:      {build * 1000:9.1f} ms  (page {size / 1e6:.2f} MB, "
          f"{r['elements']} elements in the stepper)")
    checks = stepper.data["checks"]
    agree = sum(1 for c in checks if c["agree"] is True)
    unchecked = sum(1 for c in checks if c["agree"] is None)
    print(f"  gradient check:               {agree} of {len(checks)} leaves agree, "
          f"{unchecked} not checked {stepper.data.get('check_note', '')}".rstrip())
    print(f"  page load (median of {len(loads)}):     {median(loads):9.1f} ms")
    print(f"  next, median per step:        {median(r['forward']):9.3f} ms  "
          f"(max {max(r['forward']):.2f})")
    print(f"  prev, median per step:        {median(r['backward']):9.3f} ms  "
          f"(max {max(r['backward']):.2f})")
    print(f"  first 50 steps vs last 50:    {median(r['first50']):9.3f} ms vs "
          f"{median(r['last50']):.3f} ms")
    print(f"  jump to the start / the end:  {r['toStart']:9.1f} ms / {r['toEnd']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
