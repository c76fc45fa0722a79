/* The view: zoom and pan move the picture by a CSS transform.
 *
 * The SVG keeps its own size and viewBox; a transform places it in the window.  Changing a
 * transform lays nothing out again, where changing the viewBox would lay out every element of
 * the picture (tens of milliseconds at a few hundred values).
 */

function mgView(S) {
  var svg = S.svg, ui = S.ui;
  var full = (function () {
    var box = svg.viewBox && svg.viewBox.baseVal;
    if (box && box.width > 0 && box.height > 0) {
      return {x: box.x, y: box.y, w: box.width, h: box.height};
    }
    var w = parseFloat(svg.getAttribute("width")) || 100;
    var h = parseFloat(svg.getAttribute("height")) || 100;
    return {x: 0, y: 0, w: w, h: h};
  }());
  S.full = full;
  // One SVG unit is one CSS pixel before the transform; the transform's scale is view.k.
  svg.setAttribute("viewBox", [full.x, full.y, full.w, full.h].join(" "));
  svg.setAttribute("width", String(full.w));
  svg.setAttribute("height", String(full.h));
  svg.setAttribute("preserveAspectRatio", "none");
  // Inline, so that a notebook's own rule for SVGs (max-width: 100%) cannot squeeze it.
  svg.style.width = full.w + "px";
  svg.style.height = full.h + "px";
  var view = S.view = {cx: full.x + full.w / 2, cy: full.y + full.h / 2, k: NATURAL};

  function size() { return {w: ui.graph.clientWidth, h: ui.graph.clientHeight}; }
  S.size = size;
  function scaleFor(w, h) {  // the scale at which w x h units fill the window
    var s = size();
    if (!s.w || !s.h) { return NATURAL; }
    return Math.min(s.w / w, s.h / h) * 0.97;
  }
  S.scaleFor = scaleFor;
  function limits() {
    return {low: Math.min(scaleFor(full.w, full.h), NATURAL) * 0.5, high: NATURAL * 8};
  }
  S.applyView = function () {
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
    // The scale as it is: toGraph divides by view.k, and a scale rounded here would put a
    // box thousands of units away off by a fraction of a unit.
    svg.style.transform = "matrix(" + [view.k, 0, 0, view.k, +tx.toFixed(4), +ty.toFixed(4)]
      .join(", ") + ")";
    ui.zoom.textContent = Math.round(view.k / NATURAL * 100) + "%";
    if (S.drawViewport) { S.drawViewport(); }
  };
  // From the screen to the picture's own units (its viewBox's).
  S.toGraph = function (clientX, clientY) {
    var box = ui.graph.getBoundingClientRect(), s = size();
    return {x: view.cx + (clientX - box.left - ui.graph.clientLeft - s.w / 2) / view.k,
            y: view.cy + (clientY - box.top - ui.graph.clientTop - s.h / 2) / view.k};
  };
  S.boxOf = function (element) {
    var r = element.getBoundingClientRect();
    var a = S.toGraph(r.left, r.top), b = S.toGraph(r.right, r.bottom);
    return {x: a.x, y: a.y, w: b.x - a.x, h: b.y - a.y};
  };
  S.zoomBy = function (factor, clientX, clientY) {
    var s = size(), box = ui.graph.getBoundingClientRect();
    if (clientX === undefined) {
      clientX = box.left + ui.graph.clientLeft + s.w / 2;
      clientY = box.top + ui.graph.clientTop + s.h / 2;
    }
    // The point under the pointer stays where it is.
    var at = S.toGraph(clientX, clientY), range = limits();
    var k = Math.min(range.high, Math.max(range.low, view.k * factor));
    view.cx = at.x - (at.x - view.cx) * view.k / k;
    view.cy = at.y - (at.y - view.cy) * view.k / k;
    view.k = k;
    S.applyView();
  };
  // A page of its own (saved and opened in a browser): not in a frame (marimo, VS Code,
  // Colab) nor inside a notebook's page (JupyterLab, Notebook 7, the classic notebook).
  S.onPage = window.self === window.top && !window.Jupyter &&
    !S.root.closest(".jp-Notebook, .jp-Cell, .jp-OutputArea, #notebook, .cell, .output_area");
  // On a page of its own the graph's window takes the window's height that the rest of the
  // stepper leaves, never less than its fixed height (a notebook's, where it scrolls past).
  S.fillPage = function () {
    if (!S.onPage) { return; }
    var side = S.root.querySelector(".mg-side"), main = S.root.querySelector(".mg-main");
    ui.graph.style.height = "";
    side.style.maxHeight = "";
    var fixed = ui.graph.offsetHeight, rest = S.root.offsetHeight - fixed;
    var height = Math.floor(window.innerHeight - rest - 24);
    if (height > fixed) {
      ui.graph.style.height = height + "px";
      side.style.maxHeight = main.offsetHeight + "px";  // the side panel as tall as the graph
    }
  };
  if (S.onPage) {
    window.addEventListener("resize", function () { if (S.resized) { S.resized(); } });
  }
  S.centreOn = function (element, readable) {
    var b = S.boxOf(element);
    view.cx = b.x + b.w / 2;
    view.cy = b.y + b.h / 2;
    if (readable && view.k < NATURAL * 0.75) { view.k = NATURAL; }
    S.applyView();
  };
}
