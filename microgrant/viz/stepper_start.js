/* Start: the live page takes the place of the plain one.
 *
 * The plain page (a sentence, the picture as an image, the steps as text) is what viewers
 * without scripts show.  Here the picture's SVG is taken out of that image (its data URI is
 * the SVG itself, so the picture travels once), the controls are built from the data, and
 * the plain page is removed.  Each stepper works inside its own root element only.
 */
function decodeBase64(text) {
  var bytes = Uint8Array.from(atob(text), function (c) { return c.charCodeAt(0); });
  return new TextDecoder("utf-8").decode(bytes);
}

function start(root) {
  var S = {root: root, prefix: root.id + "-"};
  var data = S.data = JSON.parse(root.querySelector("script[type='application/json']")
                                 .textContent);
  var fallback = root.querySelector(".mg-fallback");
  var img = fallback.querySelector("img");
  var source = img.getAttribute("src");
  var svgText = decodeURIComponent(source.slice(source.indexOf(",") + 1));
  // Each step's text travels once, in the fallback's list, one blank line between two.
  var list = fallback.querySelector(".mg-steps-text");
  var texts = list ? list.textContent.split("\n\n") : [];
  (data.steps || []).forEach(function (step, k) {
    if (step.text === undefined) { step.text = texts[k] || ""; }
  });
  var live = node("div", "mg-live");
  live.innerHTML = data.shell;
  var svg = new DOMParser().parseFromString(svgText, "image/svg+xml").documentElement;
  live.querySelector(".mg-canvas").appendChild(document.importNode(svg, true));
  root.replaceChild(live, fallback);  // the plain page goes: none of its text stays behind
  S.svg = live.querySelector(".mg-canvas svg");
  S.secret = data.secret ? JSON.parse(decodeBase64(data.secret)) : null;
  S.steps = data.steps || [];
  S.values = data.values || [];
  S.last = Math.max(0, S.steps.length - 1);
  S.valueById = new Map();
  S.values.forEach(function (v) { S.valueById.set(v.id, v); });
  S.limit = function () { return S.last; };
  mgState(S);
  S.ui = {};
  ["prev", "next", "slider", "counter", "where", "notice", "equation", "graph", "canvas",
   "zoom-in", "zoom-out", "fit", "actual", "zoom", "minimap", "hint", "search", "results",
   "found", "groups", "checks", "legend", "practice", "blanks", "feedback", "score", "reset",
   "pan"].forEach(function (name) { S.ui[name] = S.find(name); });
  mgView(S);
  mgCamera(S);
  mgOverview(S);
  S.show = function (k, quiet) { return show(S, k, quiet); };
  mgPanels(S);
  mgKeys(S);
  mgPractice(S);
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(function () {
      if (!S.viewReady) { S.initialView(); S.show(S.position); } else { S.applyView(); }
    }).observe(S.ui.graph);
  }
  // At the seed, or at the step a link asks for (#step=3).
  var linked = /^#(?:([\w-]+)-)?step=([0-9]+)$/.exec(window.location.hash);
  var first = linked && (!linked[1] || linked[1] === root.id) ? parseInt(linked[2], 10) : 0;
  S.move(0);
  S.initialView();
  S.show(first);
  root.setAttribute("data-mg-ready", "true");
  // A page that is this stepper alone gives it the focus, so that its keys work at once;
  // decided once the page is read (a second stepper may follow).  Not inside a frame (a
  // marimo cell): the focus would leave the notebook's page for it.
  function focusIfAlone() {
    var alone = document.querySelectorAll(".mg-stepper").length === 1;
    if (root.parentElement === document.body && alone && window.self === window.top &&
        (!document.activeElement || document.activeElement === document.body)) {
      root.focus({preventScroll: true});
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusIfAlone);
  } else { focusIfAlone(); }
  return {
    show: S.show,
    next: function () { return S.show(S.position + 1); },
    prev: function () { return S.show(S.position - 1); },
    position: function () { return S.position; },
    count: S.steps.length,
    zoomBy: function (factor) { S.zoomBy(factor); return S.view.k / NATURAL; },
    fit: function () { return S.fit(); },
    view: function () { return {cx: S.view.cx, cy: S.view.cy, zoom: S.view.k / NATURAL}; },
    find: function (query) {
      var list = S.matches(query);
      return list.length ? S.pick(list[0]) : -1;
    },
    release: function () { S.release(); }
  };

}

function show(S, k, quiet) {
  var ui = S.ui, steps = S.steps;
  k = Math.max(0, Math.min(S.limit(), Math.round(Number(k)) || 0));
  S.markListed(S.position, false);
  S.move(k);
  S.markListed(k, true);
  var step = steps[k] || {ids: [], text: ""};
  ui.equation.textContent = step.text || "";
  if (S.onShow) { S.onShow(k); }
  ui.counter.textContent = k === 0 ? "start (the seed)" : "step " + k + " of " + S.last;
  ui.where.textContent = k === 0 ? "" : (step.name || step.node || "") +
    (step.group ? " \u00b7 " + step.group : "");
  ui.slider.value = String(k);
  // A button about to be disabled would drop the focus (and the keys) to the page.
  if ((k === 0 && document.activeElement === ui.prev) ||
      (k >= S.limit() && document.activeElement === ui.next)) {
    S.root.focus({preventScroll: true});
  }
  ui.prev.disabled = k === 0;
  ui.next.disabled = k >= S.limit();
  if (!quiet && S.secret && ui.feedback) { ui.feedback.textContent = ""; }
  if (step.node && step.drawn === false) {
    var named = step.node + (step.name && step.name !== step.node ? " (" + step.name + ")" : "");
    ui.notice.textContent = "this step's node " + named + " is not in the picture: " + (S.data.omitted_note || "max_nodes left it out") +
      ". The equation above is still the whole step.";
    ui.notice.hidden = false;
  } else {
    ui.notice.hidden = true;
  }
  var first = step.drawn === false ? null : S.find((step.ids || [])[0]);
  if (first && S.viewReady) { S.bringIntoView(S.elementsOf(k)); }
  if (S.viewReady) { S.markHere(first); }
  return k;
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
