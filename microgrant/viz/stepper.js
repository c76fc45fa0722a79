/* The stepper's script: walks a backward pass one chain-rule step at a time.
 *
 * Python did the backprop: it drew the backward graph once (the SVG in this stepper, every id
 * prefixed with the stepper's uid) and wrote the steps as data (the JSON next to this script):
 * for each position, the elements to highlight, the chain-rule text, and the numbers that
 * become known there.  This script only moves between positions, toggling CSS classes.
 *
 * Moving one step costs the size of that step, never the number of steps: the classes of
 * the steps already done are kept and changed where they change (a count per element says
 * how many done steps touch it), so stepping through 2,500 steps is as quick at the end as
 * at the start.
 *
 * Each stepper works inside its own root element only (several can share a page or a
 * notebook), and its keys act only while it has the focus.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var NATURAL = 4 / 3;  // CSS pixels per SVG unit at natural size: Graphviz's units are points

  // Numbers as microgrant's Python side writes them: a few significant digits, float noise
  // gone, tiny numbers in exponent form (3.1e-11, never 0.0000).
  function formatNumber(x, digits) {
    if (x === null || x === undefined) { return "n/a"; }
    if (typeof x !== "number") { return String(x); }
    if (isNaN(x)) { return "nan"; }
    if (!isFinite(x)) { return x > 0 ? "inf" : "-inf"; }
    if (x === 0) { return "0"; }
    var parts = x.toExponential(digits - 1).split("e");
    var exponent = parseInt(parts[1], 10);
    if (exponent < -4 || exponent >= digits) {
      return parts[0].replace(/\.?0+$/, "") + "e" + exponent;
    }
    var fixed = x.toFixed(Math.max(0, digits - 1 - exponent));
    return fixed.indexOf(".") < 0 ? fixed : fixed.replace(/\.?0+$/, "");
  }

  function node(tag, className, text) {
    var element = document.createElement(tag);
    if (className) { element.className = className; }
    if (text !== undefined) { element.textContent = text; }
    return element;
  }

  function start(root) {
    var uid = root.id;
    var prefix = uid + "-";
    // Every element of this stepper by its own id (without the uid): looked up once, inside
    // this root only, so a second copy of the same stepper on the page cannot steal them.
    var byId = new Map();
    Array.prototype.forEach.call(root.querySelectorAll("[id]"), function (element) {
      if (element.id.lastIndexOf(prefix, 0) === 0) {
        var own = element.id.slice(prefix.length);
        if (!byId.has(own)) { byId.set(own, element); }
      }
    });
    // A grad cell's group is written by Graphviz as "a_" + the cell's id.
    function find(id) { return byId.get(id) || byId.get("a_" + id) || null; }

    var data = JSON.parse(find("data").textContent);
    var steps = data.steps || [];
    var values = data.values || [];
    var last = Math.max(0, steps.length - 1);
    var ui = {};
    ["prev", "next", "slider", "counter", "where", "notice", "equation", "graph", "canvas",
     "zoom-in", "zoom-out", "fit", "actual", "zoom", "minimap", "hint", "search", "results",
     "found", "groups", "checks", "legend"].forEach(function (name) { ui[name] = find(name); });
    var svg = ui.canvas.querySelector("svg");
    var valueById = new Map();
    values.forEach(function (v) { valueById.set(v.id, v); });

    // ---- the elements each position touches, found once and remembered ------------------
    var stepElements = new Array(steps.length);
    function elementsOf(k) {
      if (!stepElements[k]) {
        var seen = new Set();
        (steps[k].ids || []).forEach(function (id) {
          var element = find(id);
          if (element) { seen.add(element); }
        });
        stepElements[k] = Array.from(seen);
      }
      return stepElements[k];
    }
    var revealAt = steps.map(function (step) {
      var found = [];
      (step.reveal || []).forEach(function (id) {
        var element = find(id);
        if (element) { found.push(element); }
      });
      return found;
    });

    // ---- which step completes each value's grad, for search and clicks ------------------
    var completes = new Map();
    steps.forEach(function (step, k) {
      (step.reveal || []).forEach(function (id) {
        if (/_grad$/.test(id)) { completes.set(id.slice(0, -5), k); }
      });
    });
    function completingStep(id) {
      if (completes.has(id)) { return completes.get(id); }
      var used = -1, own = -1;
      for (var k = 0; k < steps.length; k++) {
        if (steps[k].node === id) { own = k; }
        else if ((steps[k].ids || []).indexOf(id) >= 0) { used = k; }
      }
      return used >= 0 ? used : (own >= 0 ? own : 0);
    }

    // ---- incremental state: done counts, pending numbers, the current step --------------
    var doneCount = new Map();
    var current = [];
    var position = 0;

    function markDone(k, on) {
      elementsOf(k).forEach(function (element) {
        var count = (doneCount.get(element) || 0) + (on ? 1 : -1);
        doneCount.set(element, count);
        if (on && count === 1) { element.classList.add("mg-done"); }
        else if (!on && count === 0) { element.classList.remove("mg-done"); }
      });
    }

    // Everything not known at the seed starts hidden.
    for (var k0 = 1; k0 < revealAt.length; k0++) {
      revealAt[k0].forEach(function (element) { element.classList.add("mg-pending"); });
    }

    function move(target) {
      var i;
      // Steps 1 .. position-1 are done (the seed, position 0, is never "done").
      if (target > position) {
        for (i = Math.max(1, position); i < target; i++) { markDone(i, true); }
        for (i = position + 1; i <= target; i++) {
          revealAt[i].forEach(function (element) { element.classList.remove("mg-pending"); });
        }
      } else if (target < position) {
        for (i = position - 1; i >= Math.max(1, target); i--) { markDone(i, false); }
        for (i = position; i > target; i--) {
          revealAt[i].forEach(function (element) { element.classList.add("mg-pending"); });
        }
      }
      current.forEach(function (element) { element.classList.remove("mg-current"); });
      current = elementsOf(target);
      current.forEach(function (element) { element.classList.add("mg-current"); });
      position = target;
    }

    // ---- the view: zoom and pan move the picture by a CSS transform ----------------------
    // The SVG keeps its own size and viewBox; a transform places it in the window.  Changing
    // a transform lays nothing out again, where changing the viewBox would lay out every
    // element of the picture (tens of milliseconds at a few hundred values).
    var full = (function () {
      var box = svg.viewBox && svg.viewBox.baseVal;
      if (box && box.width > 0 && box.height > 0) {
        return {x: box.x, y: box.y, w: box.width, h: box.height};
      }
      var w = parseFloat(svg.getAttribute("width")) || 100;
      var h = parseFloat(svg.getAttribute("height")) || 100;
      return {x: 0, y: 0, w: w, h: h};
    }());
    // One SVG unit is one CSS pixel before the transform; the transform's scale is view.k.
    svg.setAttribute("viewBox", [full.x, full.y, full.w, full.h].join(" "));
    svg.setAttribute("width", String(full.w));
    svg.setAttribute("height", String(full.h));
    svg.setAttribute("preserveAspectRatio", "none");
    // Inline, so that a notebook's own rule for SVGs (max-width: 100%) cannot squeeze it.
    svg.style.width = full.w + "px";
    svg.style.height = full.h + "px";
    var view = {cx: full.x + full.w / 2, cy: full.y + full.h / 2, k: NATURAL};
    var viewReady = false;

    function size() { return {w: ui.graph.clientWidth, h: ui.graph.clientHeight}; }
    function fitScale() {
      var s = size();
      if (!s.w || !s.h) { return NATURAL; }
      return Math.min(s.w / full.w, s.h / full.h) * 0.97;
    }
    function limits() {
      var low = Math.min(fitScale(), NATURAL) * 0.5;
      return {low: low, high: NATURAL * 8};
    }
    function applyView() {
      var s = size();
      if (!s.w || !s.h) { return; }
      var range = limits();
      view.k = Math.min(range.high, Math.max(range.low, view.k));
      // The view may not wander off the picture: a picture bigger than the view fills it
      // to its edges, a smaller one sits in its middle.
      var w = s.w / view.k, h = s.h / view.k;
      view.cx = w >= full.w ? full.x + full.w / 2
        : Math.min(full.x + full.w - w / 2, Math.max(full.x + w / 2, view.cx));
      view.cy = h >= full.h ? full.y + full.h / 2
        : Math.min(full.y + full.h - h / 2, Math.max(full.y + h / 2, view.cy));
      var tx = s.w / 2 - (view.cx - full.x) * view.k, ty = s.h / 2 - (view.cy - full.y) * view.k;
      svg.style.transform = "matrix(" + [view.k, 0, 0, view.k, tx, ty].map(function (n) {
        return +n.toFixed(4);
      }).join(", ") + ")";
      ui.zoom.textContent = Math.round(view.k / NATURAL * 100) + "%";
      drawViewport();
    }
    // From the screen to the picture's own units (its viewBox's).
    function toGraph(clientX, clientY) {
      var box = ui.graph.getBoundingClientRect(), s = size();
      return {x: view.cx + (clientX - box.left - ui.graph.clientLeft - s.w / 2) / view.k,
              y: view.cy + (clientY - box.top - ui.graph.clientTop - s.h / 2) / view.k};
    }
    function boxOf(element) {
      var r = element.getBoundingClientRect();
      var a = toGraph(r.left, r.top), b = toGraph(r.right, r.bottom);
      return {x: a.x, y: a.y, w: b.x - a.x, h: b.y - a.y};
    }
    function fit() {
      view = {cx: full.x + full.w / 2, cy: full.y + full.h / 2, k: fitScale()};
      applyView();
    }
    function zoomBy(factor, clientX, clientY) {
      var s = size(), box = ui.graph.getBoundingClientRect();
      if (clientX === undefined) {
        clientX = box.left + ui.graph.clientLeft + s.w / 2;
        clientY = box.top + ui.graph.clientTop + s.h / 2;
      }
      // The point under the pointer stays where it is.
      var at = toGraph(clientX, clientY);
      var range = limits();
      var k = Math.min(range.high, Math.max(range.low, view.k * factor));
      view.cx = at.x - (at.x - view.cx) * view.k / k;
      view.cy = at.y - (at.y - view.cy) * view.k / k;
      view.k = k;
      applyView();
    }
    function centreOn(element, readable) {
      var b = boxOf(element);
      view.cx = b.x + b.w / 2;
      view.cy = b.y + b.h / 2;
      if (readable && view.k < NATURAL * 0.75) { view.k = NATURAL; }
      applyView();
    }
    // Pan only when the step is out of sight: a learner's chosen zoom and place stay.  The
    // whole step (its node, op, edges and inputs) is brought into view when it fits, else
    // its node.
    function bringIntoView(element, others) {
      var s = size(), w = s.w / view.k, h = s.h / view.k, margin = 12 / view.k;
      var b = boxOf(element), all = {x0: b.x, y0: b.y, x1: b.x + b.w, y1: b.y + b.h};
      others.forEach(function (e) {
        var o = boxOf(e);
        all.x0 = Math.min(all.x0, o.x); all.y0 = Math.min(all.y0, o.y);
        all.x1 = Math.max(all.x1, o.x + o.w); all.y1 = Math.max(all.y1, o.y + o.h);
      });
      if (all.x1 - all.x0 > w - 2 * margin || all.y1 - all.y0 > h - 2 * margin) {
        all = {x0: b.x, y0: b.y, x1: b.x + b.w, y1: b.y + b.h};
      }
      var left = view.cx - w / 2, top = view.cy - h / 2;
      if (all.x0 < left + margin || all.x1 > left + w - margin ||
          all.y0 < top + margin || all.y1 > top + h - margin) {
        view.cx = (all.x0 + all.x1) / 2;
        view.cy = (all.y0 + all.y1) / 2;
        applyView();
      }
    }
    function initialView() {
      var s = size();
      if (!s.w || !s.h) { return; }
      viewReady = true;
      // A short picture gets a shorter window, without a band of white above and below.
      var byWidth = Math.min(NATURAL, s.w * 0.97 / full.w);
      if (byWidth >= NATURAL * 0.5 && full.h * byWidth / 0.97 + 16 < s.h) {
        ui.graph.style.height = Math.max(180, Math.ceil(full.h * byWidth / 0.97 + 16)) + "px";
      }
      // A picture that is readable when fitted is fitted; a big one opens at natural size
      // on the output, and the overview shows where that is.
      if (fitScale() >= NATURAL * 0.5) {
        fit();
        if (view.k > NATURAL * 1.5) { view.k = NATURAL * 1.5; applyView(); }
      } else {
        view.k = NATURAL;
        var first = elementsOf(position)[0];
        if (first) { applyView(); centreOn(first, false); } else { applyView(); }
      }
    }

    // ---- the overview (minimap): the picture's outline, one shape per node and edge -------
    // Only each node's outer shape and each edge's line are copied (no text, no table cells,
    // no ids): an overview a few times lighter than the picture, drawn once.
    var mini = document.createElementNS(SVG_NS, "svg");
    mini.setAttribute("viewBox", [full.x, full.y, full.w, full.h].join(" "));
    mini.setAttribute("preserveAspectRatio", "xMidYMid meet");
    mini.setAttribute("aria-hidden", "true");
    var picture = svg.querySelector("g.graph") || svg.querySelector("g");
    if (picture) {
      var outline = document.createElementNS(SVG_NS, "g");
      var transform = picture.getAttribute("transform");
      if (transform) { outline.setAttribute("transform", transform); }
      Array.prototype.forEach.call(picture.querySelectorAll("g.node, g.edge, g.cluster"),
        function (group) {
          var shape = group.querySelector(group.classList.contains("edge") ? "path"
            : "polygon, ellipse, path");
          if (!shape) { return; }
          var copy = shape.cloneNode(false);
          copy.removeAttribute("id");
          copy.removeAttribute("class");
          if (group.classList.contains("cluster")) { copy.setAttribute("fill", "none"); }
          outline.appendChild(copy);
        });
      mini.appendChild(outline);
    }
    var miniView = document.createElementNS(SVG_NS, "rect");
    miniView.setAttribute("class", "mg-mm-view");
    var miniHere = document.createElementNS(SVG_NS, "rect");
    miniHere.setAttribute("class", "mg-mm-here");
    mini.appendChild(miniView);
    mini.appendChild(miniHere);
    ui.minimap.appendChild(mini);
    (function shapeMinimap() {
      // The overview keeps the picture's proportions, within 210 x 140 pixels.
      var w = 210, h = Math.round(210 * full.h / full.w);
      if (h > 140) { h = 140; w = Math.max(40, Math.round(140 * full.w / full.h)); }
      ui.minimap.style.width = w + "px";
      ui.minimap.style.height = Math.max(24, h) + "px";
    }());

    function drawViewport() {
      var s = size();
      var w = s.w / view.k, h = s.h / view.k;
      miniView.setAttribute("x", (view.cx - w / 2).toFixed(1));
      miniView.setAttribute("y", (view.cy - h / 2).toFixed(1));
      miniView.setAttribute("width", w.toFixed(1));
      miniView.setAttribute("height", h.toFixed(1));
      // A view that shows everything needs no overview.
      ui.minimap.hidden = w >= full.w && h >= full.h;
    }
    function markHere(element) {
      if (!element) { miniHere.setAttribute("width", "0"); return; }
      var b = boxOf(element);
      // At least a few pixels of the overview, so a small node stays visible in a big map.
      var least = full.w / 60;
      miniHere.setAttribute("x", (b.x + b.w / 2 - Math.max(b.w, least) / 2).toFixed(1));
      miniHere.setAttribute("y", (b.y + b.h / 2 - Math.max(b.h, least) / 2).toFixed(1));
      miniHere.setAttribute("width", Math.max(b.w, least).toFixed(1));
      miniHere.setAttribute("height", Math.max(b.h, least).toFixed(1));
    }
    function miniToGraph(event) {
      var point = mini.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      var matrix = mini.getScreenCTM();
      return matrix ? point.matrixTransform(matrix.inverse()) : {x: view.cx, y: view.cy};
    }

    // ---- the step list, grouped by layer; each group's items are built when opened ------
    var groups = [], groupOf = new Array(steps.length), itemOf = new Array(steps.length);
    (function buildGroups() {
      var index = new Map();
      var seed = node("button", "", "start: the seed");
      seed.type = "button";
      seed.addEventListener("click", function () { show(0); });
      itemOf[0] = seed;
      ui.groups.appendChild(seed);
      for (var k = 1; k < steps.length; k++) {
        var name = steps[k].group || "other steps";
        if (!index.has(name)) {
          var details = node("details"), summary = node("summary");
          details.appendChild(summary);
          var group = {name: name, steps: [], details: details, summary: summary, built: false};
          index.set(name, group);
          groups.push(group);
          ui.groups.appendChild(details);
          details.addEventListener("toggle", buildItems.bind(null, group));
        }
        index.get(name).steps.push(k);
        groupOf[k] = index.get(name);
      }
      groups.forEach(function (group) {
        var n = group.steps.length;
        group.summary.textContent = group.name + " \u00b7 " + n + (n === 1 ? " step" : " steps");
      });
    }());
    function buildItems(group) {
      if (group.built || !group.details.open) { return; }
      group.built = true;
      var box = node("div", "mg-items");
      group.steps.forEach(function (k) {
        var step = steps[k];
        var item = node("button", step.drawn === false ? "mg-undrawn" : "",
                        k + " \u00b7 " + (step.name || step.node || ""));
        item.type = "button";
        item.title = step.drawn === false ? "not in the picture (max_nodes)" : "";
        item.addEventListener("click", function () { show(k); });
        itemOf[k] = item;
        box.appendChild(item);
      });
      group.details.appendChild(box);
      markListed(position, true);
    }
    // Scroll the list's own box, never the page: a notebook must not jump.
    function keepListed(item) {
      var list = ui.groups;
      var top = item.offsetTop - list.offsetTop, bottom = top + item.offsetHeight;
      if (top < list.scrollTop) { list.scrollTop = top; }
      else if (bottom > list.scrollTop + list.clientHeight) {
        list.scrollTop = bottom - list.clientHeight;
      }
    }
    function markListed(k, on) {
      var item = itemOf[k];
      if (item) {
        item.classList.toggle("mg-here", on);
        if (on && item.offsetParent) { keepListed(item); }
      }
      if (groupOf[k]) { groupOf[k].summary.classList.toggle("mg-here", on); }
    }

    // ---- showing a position ---------------------------------------------------------------
    function describe(step) {
      return step.node + (step.name && step.name !== step.node ? " (" + step.name + ")" : "");
    }
    function show(k) {
      k = Math.max(0, Math.min(last, Math.round(Number(k)) || 0));
      markListed(position, false);
      move(k);
      markListed(k, true);
      var step = steps[k] || {ids: [], text: ""};
      ui.equation.textContent = step.text || "";
      ui.counter.textContent = k === 0 ? "start (the seed)" : "step " + k + " of " + last;
      ui.where.textContent = k === 0 ? "" : (step.name || step.node || "") +
        (step.group ? " \u00b7 " + step.group : "");
      ui.slider.value = String(k);
      // A button about to be disabled would drop the focus (and the keys) to the page.
      if ((k === 0 && document.activeElement === ui.prev) ||
          (k === last && document.activeElement === ui.next)) {
        root.focus({preventScroll: true});
      }
      ui.prev.disabled = k === 0;
      ui.next.disabled = k === last;
      if (step.node && step.drawn === false) {
        ui.notice.textContent = "this step's node " + describe(step) + " is not in the " +
          "picture: max_nodes left it out" + (data.omitted ? " (" + data.omitted +
          " values are not drawn; make the stepper with max_nodes=None to draw them all)" : "") +
          ". The equation above is still the whole step.";
        ui.notice.hidden = false;
      } else {
        ui.notice.hidden = true;
      }
      var first = step.drawn === false ? null : find((step.ids || [])[0]);
      if (first && viewReady) { bringIntoView(first, current); }
      if (viewReady) { markHere(first); }
      return k;
    }

    // ---- finding a value by name ----------------------------------------------------------
    var found = null;
    function matches(query) {
      var q = query.trim().toLowerCase();
      if (!q) { return []; }
      var exact = [], starts = [], contains = [];
      for (var i = 0; i < values.length; i++) {
        var v = values[i], name = String(v.name).toLowerCase();
        if (name === q || v.id === q) { exact.push(v); }
        else if (name.lastIndexOf(q, 0) === 0) { starts.push(v); }
        else if (name.indexOf(q) >= 0) { contains.push(v); }
        if (exact.length + starts.length >= 40) { break; }
      }
      return exact.concat(starts, contains).slice(0, 40);
    }
    function pick(value) {
      var k = completingStep(value.id);
      show(k);
      if (found) { found.classList.remove("mg-found"); found = null; }
      var element = value.drawn === false ? null : find(value.id);
      var said = value.name + (value.name !== value.id ? " (" + value.id + ")" : "");
      var when = value.kind === "constant" ? "a constant (no grad); used at step " + k
        : k === 0 ? "the output: its grad is the seed, 1"
        : "its grad is complete after step " + k;
      if (element) {
        found = element;
        element.classList.add("mg-found");
        centreOn(element, true);
        ui.found.textContent = said + ": " + when + ".";
      } else {
        ui.found.textContent = said + " is not in the picture: max_nodes left it out; " +
          when + ".";
      }
      return k;
    }
    function listMatches() {
      var list = matches(ui.search.value);
      ui.results.textContent = "";
      list.slice(0, 12).forEach(function (v) {
        var item = node("button", v.drawn === false ? "mg-undrawn" : "",
                        v.name + (v.name !== v.id ? "  \u00b7 " + v.id : "") + "  \u00b7 " +
                        v.kind + (v.drawn === false ? ", not drawn" : ""));
        item.type = "button";
        item.setAttribute("role", "option");
        item.addEventListener("click", function () { pick(v); });
        ui.results.appendChild(item);
      });
      if (ui.search.value.trim() && !list.length) {
        ui.results.appendChild(node("span", "mg-muted", "no value is named like that"));
      }
      return list;
    }
    ui.search.addEventListener("input", listMatches);
    ui.search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        var list = matches(ui.search.value);
        if (list.length) { pick(list[0]); }
        event.preventDefault();
      } else if (event.key === "Escape") {
        ui.search.value = "";
        listMatches();
        root.focus({preventScroll: true});
      }
      event.stopPropagation();  // typing is not stepping, and not the notebook's either
    });

    // ---- the gradient check: chain rule beside the finite difference ---------------------
    (function buildChecks() {
      var checks = data.checks || [];
      if (!checks.length) { ui.checks.hidden = true; return; }
      var agree = 0, disagree = 0, skipped = 0;
      checks.forEach(function (c) {
        if (c.agree === true) { agree++; } else if (c.agree === false) { disagree++; }
        else { skipped++; }
      });
      var details = node("details");
      var summary = node("summary", "", "Gradient check: " + agree + " of " + checks.length +
        " leaves agree" + (disagree ? ", " + disagree + " disagree" : "") +
        (skipped ? ", " + skipped + " not checked" : ""));
      summary.id = prefix + "checks-summary";
      details.appendChild(summary);
      details.appendChild(node("div", "mg-muted",
        "each leaf's grad by the chain rule, and by a finite difference " +
        "(nudge the leaf by \u00b1h, run forward again)"));
      var table = node("table"), head = node("tr");
      ["leaf", "chain rule", "finite diff.", ""].forEach(function (t) {
        head.appendChild(node("th", "", t));
      });
      table.appendChild(head);
      checks.forEach(function (c) {
        var row = node("tr");
        row.appendChild(node("td", "", c.name));
        row.appendChild(node("td", "", formatNumber(c.grad, 6)));
        row.appendChild(node("td", "", c.numeric === null ? "not computed"
                                                          : formatNumber(c.numeric, 6)));
        row.appendChild(c.agree === true ? node("td", "mg-agree", "\u2713 agree")
          : c.agree === false ? node("td", "mg-disagree", "\u2717 disagree")
          : node("td", "mg-muted", "\u2013"));
        row.title = "go to the step that completes " + c.name + "'s grad";
        row.addEventListener("click", function () {
          pick(valueById.get(c.id) || {id: c.id, name: c.name, kind: "leaf", drawn: true});
        });
        table.appendChild(row);
      });
      var scroll = node("div", "mg-check-table");
      scroll.appendChild(table);
      details.appendChild(scroll);
      // Open when there is something to look at: a disagreement, or few enough to read.
      details.open = disagree > 0 || checks.length <= 12;
      ui.checks.appendChild(details);
    }());

    (function buildLegend() {
      (data.legend || []).forEach(function (pair) {
        var swatch = node("span", "mg-swatch");
        swatch.style.background = pair[0];
        ui.legend.appendChild(swatch);
        ui.legend.appendChild(document.createTextNode(pair[1]));
      });
    }());

    // ---- controls, keys, mouse ----------------------------------------------------------
    ui.slider.max = String(last);
    ui.prev.addEventListener("click", function () { show(position - 1); });
    ui.next.addEventListener("click", function () { show(position + 1); });
    ui.slider.addEventListener("input", function () { show(parseInt(ui.slider.value, 10)); });
    ui["zoom-in"].addEventListener("click", function () { zoomBy(1.25); });
    ui["zoom-out"].addEventListener("click", function () { zoomBy(0.8); });
    ui.fit.addEventListener("click", fit);
    ui.actual.addEventListener("click", function () { view.k = NATURAL; applyView(); });

    // Keys reach this listener only from inside the stepper: the root (tabindex 0) or one
    // of its controls has the focus.  The notebook keeps its keys everywhere else.
    root.addEventListener("keydown", function (event) {
      if (event.target === ui.slider && /^Arrow/.test(event.key)) { return; }  // moves itself
      if (event.altKey || event.metaKey || event.ctrlKey) { return; }
      var key = event.key;
      if (key === "ArrowRight" || key === "ArrowDown") { show(position + 1); }
      else if (key === "ArrowLeft" || key === "ArrowUp") { show(position - 1); }
      else if (key === "Home") { show(0); }
      else if (key === "End") { show(last); }
      else if (key === "+" || key === "=") { zoomBy(1.25); }
      else if (key === "-" || key === "_") { zoomBy(0.8); }
      else if (key === "0") { fit(); }
      else if (key === "1") { view.k = NATURAL; applyView(); }
      else if (key === "/") { ui.search.focus({preventScroll: true}); }
      else { return; }
      event.preventDefault();
      event.stopPropagation();
    });

    var hintTimer = null, hinted = false;
    function hint(text) {
      ui.hint.textContent = text;
      ui.hint.hidden = false;
      clearTimeout(hintTimer);
      hintTimer = setTimeout(function () { ui.hint.hidden = true; }, 1800);
    }
    function focused() { return root.contains(document.activeElement); }
    // The wheel zooms only a stepper that has the focus (or with Ctrl): scrolling past it in
    // a notebook still scrolls the notebook.
    ui.graph.addEventListener("wheel", function (event) {
      if (!focused() && !event.ctrlKey) {
        if (!hinted) { hint("click the stepper first: then the wheel zooms"); }
        hinted = true;  // once: scrolling past a stepper should not keep flashing at you
        return;
      }
      event.preventDefault();
      zoomBy(Math.pow(1.0015, -event.deltaY * (event.deltaMode === 1 ? 16 : 1)),
             event.clientX, event.clientY);
    }, {passive: false});

    var drag = null;
    ui.graph.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 || event.target.closest(".mg-tools, .mg-minimap")) { return; }
      root.focus({preventScroll: true});
      drag = {x: event.clientX, y: event.clientY, cx: view.cx, cy: view.cy, moved: false,
              target: event.target};
      ui.graph.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    ui.graph.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
      drag.moved = true;
      ui.graph.classList.add("mg-dragging");
      view.cx = drag.cx - dx / view.k;
      view.cy = drag.cy - dy / view.k;
      applyView();
    });
    function endDrag(event) {
      if (!drag) { return; }
      var was = drag;
      drag = null;
      ui.graph.classList.remove("mg-dragging");
      if (ui.graph.hasPointerCapture(event.pointerId)) {
        ui.graph.releasePointerCapture(event.pointerId);
      }
      if (was.moved || event.type === "pointercancel") { return; }
      // A click on a value goes to the step that completes its grad.
      var hit = was.target.closest && was.target.closest("g.node");
      var id = hit && hit.id.slice(prefix.length).replace(/_op$/, "");
      if (id && valueById.has(id)) { pick(valueById.get(id)); }
    }
    ui.graph.addEventListener("pointerup", endDrag);
    ui.graph.addEventListener("pointercancel", endDrag);

    var miniDrag = false;
    function miniMove(event) {
      var at = miniToGraph(event);
      view.cx = at.x;
      view.cy = at.y;
      applyView();
    }
    ui.minimap.addEventListener("pointerdown", function (event) {
      root.focus({preventScroll: true});
      miniDrag = true;
      ui.minimap.setPointerCapture(event.pointerId);
      miniMove(event);
      event.preventDefault();
    });
    ui.minimap.addEventListener("pointermove", function (event) {
      if (miniDrag) { miniMove(event); }
    });
    ui.minimap.addEventListener("pointerup", function () { miniDrag = false; });
    ui.minimap.addEventListener("pointercancel", function () { miniDrag = false; });

    // Clicking anywhere inside gives the stepper the focus (and so its keys).
    root.addEventListener("mousedown", function (event) {
      if (!event.target.closest("input, button, select, textarea, summary, a")) {
        root.focus({preventScroll: true});
      }
    });
    // The classic notebook's own keys stand aside while the stepper has the focus.
    try {
      var jupyter = window.Jupyter;
      if (jupyter && jupyter.keyboard_manager && jupyter.keyboard_manager.register_events) {
        jupyter.keyboard_manager.register_events(root);
      }
    } catch (ignored) { /* not the classic notebook */ }

    if (typeof ResizeObserver === "function") {
      new ResizeObserver(function () {
        if (!viewReady) { initialView(); show(position); } else { applyView(); }
      }).observe(ui.graph);
    }

    // ---- start: at the seed, or at the step a link asks for (#step=3) ------------------
    var linked = /^#(?:([\w-]+)-)?step=([0-9]+)$/.exec(window.location.hash);
    var first = linked && (!linked[1] || linked[1] === uid) ? parseInt(linked[2], 10) : 0;
    move(0);
    initialView();
    show(first);
    // A page that is this stepper alone gives it the focus, so its keys work at once.
    // Decided once the page is read: a second stepper may follow this one.
    function focusIfAlone() {
      if (root.parentElement === document.body &&
          document.querySelectorAll(".mg-stepper").length === 1 &&
          (!document.activeElement || document.activeElement === document.body)) {
        root.focus({preventScroll: true});
      }
    }
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", focusIfAlone);
    } else {
      focusIfAlone();
    }

    var api = {
      show: show,
      next: function () { return show(position + 1); },
      prev: function () { return show(position - 1); },
      position: function () { return position; },
      count: steps.length,
      zoomBy: function (factor) { zoomBy(factor); return view.k / NATURAL; },
      fit: fit,
      view: function () { return {cx: view.cx, cy: view.cy, zoom: view.k / NATURAL}; },
      find: function (query) {
        var list = matches(query);
        return list.length ? pick(list[0]) : -1;
      },
      formatNumber: formatNumber
    };
    root.setAttribute("data-mg-ready", "true");
    return api;
  }

  function startOnce(root) {
    if (root.mgStepper) { return; }
    try {
      root.mgStepper = start(root);
    } catch (error) {
      root.mgStepper = {error: error};
      var message = node("p", "mg-notice", "The stepper could not start: " + error);
      root.insertBefore(message, root.firstChild);
    }
  }

  // The script sits inside its stepper; front ends that run scripts elsewhere (no
  // currentScript inside a stepper) start every stepper on the page not yet started.
  var script = document.currentScript;
  var own = script && script.closest ? script.closest(".mg-stepper") : null;
  if (own) {
    startOnce(own);
  } else {
    Array.prototype.forEach.call(document.querySelectorAll(".mg-stepper"), startOnce);
  }
}());
