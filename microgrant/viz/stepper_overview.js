/* The overview (minimap): the picture's outline, one shape per node and edge.
 *
 * Only each node's outer shape and each edge's line are copied (no text, no table cells, no
 * ids): an overview a few times lighter than the picture, drawn once.  A rectangle shows the
 * view, a red mark the current step's node, and the step's inputs and edges are drawn red
 * there too: where a step is too big for the window, the overview shows where the rest is.
 * A click or a drag there moves the view.
 */
function mgOverview(S) {
  var ui = S.ui, full = S.full, view = S.view;
  var mini = document.createElementNS(SVG_NS, "svg");
  mini.setAttribute("viewBox", [full.x, full.y, full.w, full.h].join(" "));
  mini.setAttribute("preserveAspectRatio", "xMidYMid meet");
  mini.setAttribute("aria-hidden", "true");
  var picture = S.svg.querySelector("g.graph") || S.svg.querySelector("g");
  var copies = new Map();  // each node's and edge's group in the picture -> its outline
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
        copies.set(group, copy);
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
  // The overview keeps the picture's proportions, within 210 x 140 pixels.
  var w0 = 210, h0 = Math.round(210 * full.h / full.w);
  if (h0 > 140) { h0 = 140; w0 = Math.max(40, Math.round(140 * full.w / full.h)); }
  ui.minimap.style.width = w0 + "px";
  ui.minimap.style.height = Math.max(24, h0) + "px";

  var overviewHidden = null;
  S.drawViewport = function () {
    var s = S.size();
    var w = s.w / view.k, h = s.h / view.k;
    miniView.setAttribute("x", (view.cx - w / 2).toFixed(1));
    miniView.setAttribute("y", (view.cy - h / 2).toFixed(1));
    miniView.setAttribute("width", w.toFixed(1));
    miniView.setAttribute("height", h.toFixed(1));
    // A view that shows everything needs no overview, nor a word about it.
    var hidden = w >= full.w && h >= full.h;
    if (hidden !== overviewHidden) {
      overviewHidden = ui.minimap.hidden = hidden;
      ui.pan.textContent = hidden ? "drag to pan"
        : "drag to pan; the overview (corner) moves the view too";
    }
  };
  // Moves the view so that a box (in the picture's units) is not under the overview, when
  // there is room for it above the overview or to its left.
  S.uncover = function (box) {
    if (ui.minimap.hidden || !box) { return; }
    var s = S.size(), k = view.k, gap = 6;
    var x0 = (box.x0 - view.cx) * k + s.w / 2, x1 = (box.x1 - view.cx) * k + s.w / 2;
    var y0 = (box.y0 - view.cy) * k + s.h / 2, y1 = (box.y1 - view.cy) * k + s.h / 2;
    var up = y1 - (ui.minimap.offsetTop - gap), left = x1 - (ui.minimap.offsetLeft - gap);
    if (up <= 0 || left <= 0) { return; }
    if (up < y0 - gap && (up <= left || left >= x0 - gap)) { view.cy += up / k; }
    else if (left < x0 - gap) { view.cx += left / k; }
    S.applyView();
  };
  var marked = [];
  S.markHere = function (element) {
    marked.forEach(function (copy) { copy.classList.remove("mg-mm-step"); });
    marked = S.current().map(function (e) { return copies.get(e); }).filter(Boolean);
    marked.forEach(function (copy) { copy.classList.add("mg-mm-step"); });
    if (!element) { miniHere.setAttribute("width", "0"); return; }
    var b = S.boxOf(element);
    // At least a few pixels of the overview, so a small node stays visible in a big map.
    var least = full.w / 60;
    miniHere.setAttribute("x", (b.x + b.w / 2 - Math.max(b.w, least) / 2).toFixed(1));
    miniHere.setAttribute("y", (b.y + b.h / 2 - Math.max(b.h, least) / 2).toFixed(1));
    miniHere.setAttribute("width", Math.max(b.w, least).toFixed(1));
    miniHere.setAttribute("height", Math.max(b.h, least).toFixed(1));
  };
  function miniMove(event) {
    var point = mini.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var matrix = mini.getScreenCTM();
    var at = matrix ? point.matrixTransform(matrix.inverse()) : {x: view.cx, y: view.cy};
    view.cx = at.x;
    view.cy = at.y;
    S.applyView();
  }
  var miniDrag = false;
  ui.minimap.addEventListener("pointerdown", function (event) {
    S.root.focus({preventScroll: true});
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
}
