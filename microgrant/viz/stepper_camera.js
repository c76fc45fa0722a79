/* The camera: where the view goes by itself (the start, a step out of sight, "fit").
 *
 * A step is framed whole, zoomed out no further than its text stays readable.  A step too big
 * for the window at that size (wide, or tall: its inputs may include shared weights far away)
 * is framed by its node and op, with as many of its inputs as fit, nearest first; the
 * overview marks where the others are.  A graph too big to read whole is never shown whole by
 * "fit" (a net at 5% is a grey smear): fit frames the current step instead.
 */
var READABLE = 0.6;  // below 60% of its natural size a picture's text is hard to read
// A graph that shows whole at 36% of its size or more is small: a learner reads its labels
// (a one-neuron graph in a narrow notebook column) and sees where each number comes from.
var WHOLE = READABLE * 0.6;

function mgCamera(S) {
  var ui = S.ui, full = S.full, view = S.view, size = S.size, scaleFor = S.scaleFor;
  var MARGIN = 24;  // units kept around what is framed
  function union(a, b) {
    if (!a) { return b; }
    return {x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0),
            x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1)};
  }
  function boxOf(element) {
    var o = S.boxOf(element);
    return {x0: o.x, y0: o.y, x1: o.x + o.w, y1: o.y + o.h};
  }
  function bounds(elements) { return elements.map(boxOf).reduce(union, null); }
  function scaleOf(box) { return scaleFor(box.x1 - box.x0 + MARGIN, box.y1 - box.y0 + MARGIN); }
  // A step's first element is its node: always in view.  Its op and the edge between them
  // join it as the step's heart when the two fit the window together at scale k (a layout
  // can put them far apart; then the edge shows the way to the op).
  function isHeart(e, first) {
    return e === first || e.id === first.id + "_op" || e.id === first.id + "_out";
  }
  function heartOf(elements, k) {
    var both = bounds(elements.filter(function (e) { return isHeart(e, elements[0]); }));
    return scaleOf(both) >= k ? both : boxOf(elements[0]);
  }
  // The part of a step the window holds at scale k: its heart, then the rest (inputs and
  // their edges, shared weights perhaps far away) nearest first, each only while all taken
  // still fits.  The overview shows where the others are.
  function within(elements, k) {
    var heart = heartOf(elements, k);
    var cx = (heart.x0 + heart.x1) / 2, cy = (heart.y0 + heart.y1) / 2;
    var rest = elements.filter(function (e) { return !isHeart(e, elements[0]); }).map(boxOf);
    function distance(b) { return Math.hypot((b.x0 + b.x1) / 2 - cx, (b.y0 + b.y1) / 2 - cy); }
    rest.sort(function (a, b) { return distance(a) - distance(b); });
    return rest.reduce(function (taken, box) {
      var more = union(taken, box);
      return scaleOf(more) >= k ? more : taken;
    }, heart);
  }
  // What of the step to frame at scale k: all of it when it fits, else the part that does.
  function framing(elements, k) {
    var all = bounds(elements);
    return !all || scaleOf(all) >= k ? all : within(elements, k);
  }
  // Frames a step: all of it at a readable size when it fits; else its node and op with as
  // many of its nearest inputs as fit, at the smallest readable size (the most of it shows).
  S.frame = function (elements, zoomIn) {
    var readable = NATURAL * READABLE, all = bounds(elements);
    if (!all) { return; }
    var whole = scaleOf(all) >= readable, box = whole ? all : within(elements, readable);
    view.k = !whole ? readable
      : Math.max(readable, Math.min(zoomIn ? NATURAL * 1.25 : view.k, scaleOf(box)));
    view.cx = (box.x0 + box.x1) / 2;
    view.cy = (box.y0 + box.y1) / 2;
    S.applyView();
    S.uncover(heartOf(elements, view.k));  // the step's node not under the overview
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
  // Move only when the step is out of sight: a learner's chosen zoom and place stay.  Out
  // of sight is what would be framed at a readable size (all of the step, or its node, op
  // and nearest inputs) not all in the window; then the step is framed.
  S.bringIntoView = function (elements) {
    var s = size(), w = s.w / view.k, h = s.h / view.k, margin = 12 / view.k;
    var box = framing(elements, NATURAL * READABLE);
    if (!box) { return; }
    var left = view.cx - w / 2, top = view.cy - h / 2;
    if (box.x0 < left + margin || box.x1 > left + w - margin ||
        box.y0 < top + margin || box.y1 > top + h - margin) {
      S.frame(elements, false);
    }
  };
  S.initialView = function () {
    var s = size();
    if (!s.w || !s.h) { return; }
    S.viewReady = true;
    sizeWindow();
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
  // A browser window resized: the graph's window follows, the view keeps its place.
  S.resized = function () {
    if (S.viewReady && S.onPage) { sizeWindow(); }
  };
  // The graph window's size for this picture, in this place.
  function sizeWindow() {
    S.fillPage();
    var s = size();
    // A wide graph that the window shows only small, with the side panel beside it, gets the
    // stepper's whole width (the panel goes below) when that shows it whole, larger.
    var body = S.root.querySelector(".mg-body"), wide = body ? body.clientWidth - 4 : 0;
    var small = s.w * 0.97 / full.w < NATURAL * READABLE && full.w > full.h * 1.5;
    if (small && wide > s.w * 1.15 && wide * 0.97 / full.w >= NATURAL * WHOLE) {
      S.root.classList.add("mg-stacked");
      S.fillPage();  // the side panel is below now: less height is left for the graph
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
        needed <= 860 && needed > s.h) {
      ui.graph.style.height = Math.ceil(needed) + "px";
    }
    S.applyView();
  }
}
