/* The camera: where the view goes by itself (the start, a step out of sight, "fit").
 *
 * A step is framed whole, zoomed out no further than its text stays readable; a graph too big
 * to read whole is never shown whole by "fit" (a net at 5% is a grey smear): fit frames the
 * current step instead, and the overview shows where it is.
 */
var READABLE = 0.6;  // below 60% of its natural size a picture's text is hard to read
// A graph that shows whole at 36% of its size or more is small: a learner reads its labels
// (a one-neuron graph in a narrow notebook column) and sees where each number comes from.
var WHOLE = READABLE * 0.6;

function mgCamera(S) {
  var ui = S.ui, full = S.full, view = S.view, size = S.size, scaleFor = S.scaleFor;
  function bounds(elements) {
    var all = null;
    elements.forEach(function (e) {
      var o = S.boxOf(e);
      if (!all) { all = {x0: o.x, y0: o.y, x1: o.x + o.w, y1: o.y + o.h}; return; }
      all.x0 = Math.min(all.x0, o.x); all.y0 = Math.min(all.y0, o.y);
      all.x1 = Math.max(all.x1, o.x + o.w); all.y1 = Math.max(all.y1, o.y + o.h);
    });
    return all;
  }
  // Frames the elements: all of them at a readable size when they fit, else their middle.
  S.frame = function (elements, zoomIn) {
    var all = bounds(elements);
    if (!all) { return; }
    var margin = 24, s = size();
    var k = scaleFor(all.x1 - all.x0 + margin, all.y1 - all.y0 + margin);
    view.k = Math.max(NATURAL * READABLE, Math.min(zoomIn ? NATURAL * 1.25 : view.k, k));
    view.cx = (all.x0 + all.x1) / 2;
    view.cy = (all.y0 + all.y1) / 2;
    if (s.w && (all.x1 - all.x0) * view.k > s.w) {  // too wide still: its first element
      var first = S.boxOf(elements[0]);
      view.cx = first.x + first.w / 2;
    }
    S.applyView();
  };
  // The whole graph when it is readable so; else the current step, framed.
  S.fit = function () {
    var k = scaleFor(full.w, full.h);
    if (k >= NATURAL * WHOLE || !S.current().length) {
      S.view.cx = full.x + full.w / 2; S.view.cy = full.y + full.h / 2; view.k = k;
      S.applyView();
      return true;
    }
    S.frame(S.current(), true);
    if (S.hint) {
      S.hint("the whole graph would show at " + Math.round(k / NATURAL * 100) + "%: this is " +
             "the step; the overview (corner) moves the view");
    }
    return false;
  };
  // Move only when the step is out of sight: a learner's chosen zoom and place stay.  The
  // whole step (node, op, edges, inputs) is framed, zoomed out as far as readable if need be.
  S.bringIntoView = function (elements) {
    var s = size(), w = s.w / view.k, h = s.h / view.k, margin = 12 / view.k;
    var all = bounds(elements);
    if (!all) { return; }
    var left = view.cx - w / 2, top = view.cy - h / 2;
    if (all.x0 < left + margin || all.x1 > left + w - margin ||
        all.y0 < top + margin || all.y1 > top + h - margin) {
      S.frame(elements, false);
    }
  };
  S.initialView = function () {
    var s = size();
    if (!s.w || !s.h) { return; }
    S.viewReady = true;
    // A wide graph that the window shows only small, with the side panel beside it, gets the
    // stepper's whole width (the panel goes below) when that shows it whole, larger.
    var body = S.root.querySelector(".mg-body"), wide = body ? body.clientWidth - 4 : 0;
    var small = s.w * 0.97 / full.w < NATURAL * READABLE && full.w > full.h * 1.5;
    if (small && wide > s.w * 1.15 && wide * 0.97 / full.w >= NATURAL * WHOLE) {
      S.root.classList.add("mg-stacked");
      s = size();
    }
    S.applyView();  // the picture placed by the view, before anything is measured on it
    // A short picture gets a shorter window, without a band of white above and below.
    var byWidth = Math.min(NATURAL, s.w * 0.97 / full.w);
    if (byWidth >= NATURAL * WHOLE && full.h * byWidth / 0.97 + 16 < s.h) {
      ui.graph.style.height = Math.max(180, Math.ceil(full.h * byWidth / 0.97 + 16)) + "px";
    }
    // A tall picture readable at full width gets a taller window (up to 860 pixels), so that
    // a neuron shows whole, its inputs too, where a notebook's column is narrow.
    var needed = full.h * NATURAL * READABLE / 0.97 + 16;
    if (scaleFor(full.w, full.h) < NATURAL * READABLE && byWidth >= NATURAL * READABLE &&
        needed <= 860) {
      ui.graph.style.height = Math.ceil(needed) + "px";
    }
    // A small graph shows whole, fitted (to the width, in a narrow column).  Else the output
    // and the first step's inputs, framed at a readable size.
    if (scaleFor(full.w, full.h) >= NATURAL * WHOLE) {
      S.view.cx = full.x + full.w / 2; S.view.cy = full.y + full.h / 2;
      view.k = Math.min(scaleFor(full.w, full.h), NATURAL * 1.5);
      S.applyView();
    } else {
      S.frame(S.elementsOf(Math.min(1, S.last)), true);
    }
  };
}
