"""The stepper page: one self-contained HTML file that walks through a backward pass.

`microgrant.viz.save_stepper` fills this template with the backward graph (one inline SVG, whose
nodes and edges carry ids from the DOT text) and the chain-rule steps (JSON).  A few lines of
JavaScript highlight the current step by toggling CSS classes on those ids: one picture
serves every step, so the page stays small.  The same way, each grad and each edge label is
hidden until the step that computes it: Python works out which step reveals what, and the
script only toggles a class.  Nothing is loaded from the network: no scripts,
fonts, styles or images from anywhere else.
"""

from __future__ import annotations

import html
import json
import re

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
         margin: 1.2em; color: #222; }
  h1 { font-size: 1.25em; margin: 0 0 .6em 0; }
  #controls { display: flex; gap: .6em; align-items: center; flex-wrap: wrap;
              margin-bottom: .6em; }
  #controls button { font-size: 1em; padding: .3em .9em; cursor: pointer; }
  #slider { flex: 1 1 16em; max-width: 40em; }
  #counter { min-width: 8em; font-variant-numeric: tabular-nums; }
  #equation { background: #f6f6f2; border-left: 4px solid #d62728; padding: .7em 1em;
              margin: 0 0 1em 0; white-space: pre-wrap; font-size: .95em; min-height: 3em; }
  /* the graph scrolls inside its own box, so the buttons and the equation stay in view */
  #graph { overflow: auto; border: 1px solid #ddd; padding: .4em; max-height: 75vh; }
  /* natural size, scrolled when wider than the window: shrunk to fit, the numbers on a
     graph of any size would be too small to read */
  #graph svg { display: block; }
  /* .current after .done: a value both finished and in the current step shows red */
  .done path, .done polygon, .done ellipse { stroke: #1f77b4 !important; stroke-width: 2px; }
  .done text { fill: #1f77b4; }
  .current path, .current polygon, .current ellipse { stroke: #d62728 !important;
                                                     stroke-width: 3px; }
  .current text { fill: #d62728; font-weight: bold; }
  /* a number backprop has not reached yet: hidden, but keeping its place, so nothing moves */
  .pending text { visibility: hidden; }
  #help { color: #666; font-size: .85em; margin-top: .8em; }
  .swatch { display: inline-block; width: .9em; height: .9em; border: 1px solid #888;
            vertical-align: middle; margin: 0 .25em 0 .8em; }
</style>
</head>
<body>
<h1>@@TITLE@@</h1>
<div id="controls">
  <button id="prev" type="button" aria-label="previous step">&#9664; Previous</button>
  <button id="next" type="button" aria-label="next step">Next &#9654;</button>
  <input id="slider" type="range" min="0" max="@@LAST@@" value="0" step="1"
         aria-label="step">
  <span id="counter"></span>
</div>
<pre id="equation" aria-live="polite"></pre>
<div id="graph">
@@SVG@@
</div>
<p id="help">Arrow keys step backward and forward; Home and End jump to the ends;
a link ending in #step=3 opens the page at step 3.
Red: the current step (the node passing its gradient on, and its edges).
Blue: steps already done. Each edge says its local derivative, and
local &times; upstream grad = what it adds to the input's grad; each number appears
when backprop reaches it.<br>
@@LEGEND@@</p>
<script type="application/json" id="steps-data">@@STEPS@@</script>
<script>
(function () {
  "use strict";
  var steps = JSON.parse(document.getElementById("steps-data").textContent);
  var slider = document.getElementById("slider");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var equation = document.getElementById("equation");
  var counter = document.getElementById("counter");
  var graph = document.getElementById("graph");
  var position = 0;

  // Which step reveals each number was worked out in Python; find the elements once.
  // Graphviz writes an edge's id as given, and a table cell's id as "a_" + id.
  var numbers = [];
  steps.forEach(function (step, k) {
    (step.reveal || []).forEach(function (id) {
      var element = document.getElementById(id) || document.getElementById("a_" + id);
      if (element) { numbers.push({element: element, from: k}); }
    });
  });

  // Scroll the graph's box (never the page) so that the element is in sight, on both axes:
  // a big graph is thousands of pixels each way, and its output far from the top left.
  function bringIntoView(element) {
    var box = graph.getBoundingClientRect();
    var left = box.left + graph.clientLeft, top = box.top + graph.clientTop;
    var right = left + graph.clientWidth, bottom = top + graph.clientHeight;
    var r = element.getBoundingClientRect();
    if (r.left < left || r.right > right) {
      graph.scrollLeft += (r.left + r.right) / 2 - (left + right) / 2;
    }
    if (r.top < top || r.bottom > bottom) {
      graph.scrollTop += (r.top + r.bottom) / 2 - (top + bottom) / 2;
    }
  }

  function mark(k, name) {
    steps[k].ids.forEach(function (id) {
      var element = document.getElementById(id);
      if (element) { element.classList.add(name); }
    });
  }

  function show(k) {
    position = Math.max(0, Math.min(steps.length - 1, k));
    document.querySelectorAll(".current, .done").forEach(function (element) {
      element.classList.remove("current", "done");
    });
    for (var i = 1; i < position; i++) { mark(i, "done"); }
    mark(position, "current");
    numbers.forEach(function (n) { n.element.classList.toggle("pending", n.from > position); });
    // Bring the step's node into view (the output's, at the seed): a big graph is scrolled,
    // not shrunk.
    var first = steps[position].ids.length && document.getElementById(steps[position].ids[0]);
    if (first) { bringIntoView(first); }
    equation.textContent = steps[position].text;
    counter.textContent = position === 0 ? "start (the seed)"
      : "step " + position + " of " + (steps.length - 1);
    slider.value = String(position);
    prev.disabled = position === 0;
    next.disabled = position === steps.length - 1;
  }

  prev.addEventListener("click", function () { show(position - 1); });
  next.addEventListener("click", function () { show(position + 1); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider) { return; }  // the slider moves itself with the arrows
    if (event.key === "ArrowRight" || event.key === "ArrowDown") { show(position + 1); }
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") { show(position - 1); }
    else if (event.key === "Home") { show(0); }
    else if (event.key === "End") { show(steps.length - 1); }
    else { return; }
    event.preventDefault();
  });
  // A link can open the page at a step: page.html#step=3
  var linked = /^#step=([0-9]+)$/.exec(window.location.hash);
  show(linked ? parseInt(linked[1], 10) : 0);
}());
</script>
</body>
</html>
"""


def _svg_body(svg: str) -> str:
    """The ``<svg>`` element alone: the XML prolog and DOCTYPE do not belong inside HTML."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("the rendered graph is not an SVG document")
    return svg[start:]


def _script_json(data) -> str:
    """JSON that cannot end the ``<script>`` element it sits in, whatever the labels say."""
    text = json.dumps(data, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(title: str, svg: str, steps: list[dict], legend: list[tuple[str, str]]) -> str:
    """The stepper page's HTML.

    Args:
        title: the page's heading.
        svg: the rendered backward graph (an SVG document).
        steps: one dict per position, ``{"ids": [...], "text": "...", "reveal": [...]}``;
            position 0 is the seed, then one per chain-rule step.  ``ids`` are highlighted
            (the first is scrolled into view); ``reveal`` lists the elements whose numbers
            appear from this position on (optional: without it, everything shows).
        legend: ``(colour, meaning)`` pairs for the node colours.

    >>> html_text = page("demo", "<svg></svg>", [{"ids": [], "text": "x</script>"}], [])
    >>> "x</script>" in html_text, 'id="equation"' in html_text
    (False, True)
    """
    swatches = "".join(f'<span class="swatch" style="background:{html.escape(colour)}"></span>'
                       f"{html.escape(meaning)}" for colour, meaning in legend)
    values = {"TITLE": html.escape(title), "LAST": str(len(steps) - 1), "LEGEND": swatches,
              "STEPS": _script_json(steps), "SVG": _svg_body(svg)}
    # One pass over the template: text inside a label that looks like a marker stays as it is.
    return re.sub(r"@@([A-Z]+)@@", lambda m: values[m.group(1)], _TEMPLATE)
