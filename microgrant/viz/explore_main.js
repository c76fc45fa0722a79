/* The explorer's state and controls: the snapshot shown (slider, play, live updates), the mode
   (overview or backprop), the sample (one or the batch), drill-down and back; keys act only
   while the explorer has focus, and Esc hands focus back to the page or notebook. */
(function (M) {
  "use strict";
  var registry = window.micrograntExplore = window.micrograntExplore || {};
  function button(bar, text, title, fn) { var b = M.el("button", "", bar, text); b.title = title; b.addEventListener("click", fn); return b; }
  function build(root) {
    var P = JSON.parse(root.querySelector("script.mgx-data").textContent);
    var live = root.querySelector(".mgx-live"), view = { root: root, P: P, si: P.snapshots.length - 1, sample: null, mode: "overview", step: 0, pin: null, cache: {}, following: true };
    view.steps = M.stepList(P);
    var bar = M.el("div", "mgx-bar", live);
    view.playBtn = button(bar, "▶ Play", "play the recorded training (Space)", function () { view.play(!view.timer); });
    button(bar, "◀", "previous snapshot (←)", function () { view.show(view.si - 1); });
    view.slider = M.el("input", "mgx-slider", bar); view.slider.type = "range"; view.slider.min = 0;
    view.slider.addEventListener("input", function () {  /* drawn once per frame, however fast the slider moves */
      view.following = false; view.wanted = +view.slider.value;
      if (!view.frame) view.frame = requestAnimationFrame(function () { view.frame = 0; view.show(view.wanted); });
    });
    button(bar, "▶|", "next snapshot (→)", function () { view.show(view.si + 1); });
    view.epochText = M.el("span", "mgx-epoch", bar);
    view.modeBtn = button(bar, "Step backprop", "step backprop through the network (b)", function () { view.setMode(view.mode === "backprop" ? "overview" : "backprop"); });
    view.sampleSel = M.el("select", "mgx-sample", bar);
    M.el("option", "", view.sampleSel, "the batch").value = "batch";
    P.X.forEach(function (_, n) { M.el("option", "", view.sampleSel, "sample " + (n + 1)).value = n; });
    view.sampleSel.addEventListener("change", function () { view.sample = view.sampleSel.value === "batch" ? null : +view.sampleSel.value; view.redraw(); });
    button(bar, "Pin for comparing", "compare the shown snapshot with another", function () { view.pin = view.si; view.redraw(); });
    var main = M.el("div", "mgx-main", live), left = M.el("div", "mgx-left", main), net = M.el("div", "mgx-net", left), side = M.el("div", "mgx-side", main);
    M.layoutNet(view, net); M.netLegend(view, left); M.buildSide(view, side);
    var sp = M.el("div", "mgx-panel mgx-stepbox", side); M.el("h4", "", sp, "Backprop, neuron by neuron");
    var sb = M.el("div", "mgx-bar", sp);
    button(sb, "◀ back a step", "previous neuron (p)", function () { view.move(-1); }); button(sb, "next neuron ▶", "next neuron (n)", function () { view.move(1); });
    view.stepText = M.el("pre", "mgx-formula mgx-steptext", sp);
    var cp = M.el("div", "mgx-panel", side); M.el("h4", "", cp, "Compare two snapshots"); view.compareBox = M.el("pre", "mgx-compare", cp);
    M.el("div", "mgx-note", live, "Click a neuron for its chain rule (for the chosen sample, or sample 1 with the batch); click a data point for its forward and backward pass. Keys when focused: ← → snapshots, Space play, b backprop, n/p next/previous neuron, Esc back or leave.");
    view.detail = M.el("div", "mgx-detail mgx-panel", live);
    view.units.forEach(function (col, c) { col.forEach(function (u, j) { if (c > 0) u.el.addEventListener("click", function () { M.openNeuron(view, c - 1, j); }); }); });
    view.show = function (si) {
      si = Math.max(0, Math.min(P.snapshots.length - 1, si)); view.si = si; view.slider.max = P.snapshots.length - 1; view.slider.value = si;
      var s = P.snapshots[si];
      view.epochText.textContent = (s.epoch === null || s.epoch === undefined ? "the model now" : "epoch " + s.epoch) + " (" + (si + 1) + "/" + P.snapshots.length + ")";
      view.redraw();
    };
    view.redraw = function () {
      M.drawUnits(view); M.drawEdges(view); M.drawHealth(view); M.drawOutput(view); M.drawCurve(view); M.drawBackprop(view); M.compare(view);
      if (view.drilled) { if (view.drilled.kind === "neuron") M.openNeuron(view, view.drilled.k, view.drilled.j); else M.openSample(view, view.drilled.i); }
      root.dataset.shown = view.si;
    };
    view.setMode = function (mode) { view.mode = mode; view.step = 0; view.modeBtn.classList.toggle("mgx-on", mode === "backprop"); view.redraw(); };
    view.move = function (by) { if (view.mode !== "backprop") view.setMode("backprop"); view.step = Math.max(0, Math.min(view.steps.length - 1, view.step + by)); M.drawBackprop(view); };
    view.openSample = function (i) { M.openSample(view, i); view.sampleSel.value = i; };
    view.back = function () { view.drilled = null; root.classList.remove("mgx-drilled"); view.redraw(); root.focus(); };
    view.play = function (on) {
      clearInterval(view.timer); view.timer = null; view.playBtn.textContent = on ? "❚❚ Pause" : "▶ Play";
      if (on) { if (view.si >= P.snapshots.length - 1) view.show(0); view.timer = setInterval(function () { if (view.si >= P.snapshots.length - 1) view.play(false); else view.show(view.si + 1); }, 60); }
    };
    root.addEventListener("keydown", function (ev) {
      if (ev.target.tagName === "SELECT" && /Arrow/.test(ev.key)) { ev.stopPropagation(); return; }
      var keys = { ArrowLeft: function () { view.following = false; view.show(view.si - 1); }, ArrowRight: function () { view.show(view.si + 1); },
        " ": function () { view.play(!view.timer); }, b: function () { view.setMode(view.mode === "backprop" ? "overview" : "backprop"); },
        n: function () { view.move(1); }, p: function () { view.move(-1); },
        Escape: function () { if (view.drilled) view.back(); else root.blur(); } };
      if (ev.ctrlKey || ev.metaKey || ev.altKey || (ev.shiftKey && ev.key === "Enter")) return;  /* the host's own shortcuts */
      ev.stopPropagation();  /* plain keys never reach the notebook while the explorer has focus */
      if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); }
    });
    view.push = function (snaps, curve) {  /* live: snapshots sent by fit as it trains */
      var recorded = P.snapshots.filter(function (s) { return s.epoch !== null && s.epoch !== undefined; });
      if (recorded.length !== P.snapshots.length) P.steps = {};  /* they belonged to the model before training */
      P.snapshots = recorded.concat(snaps); view.cache = {}; view.gridCache = {};  /* a snapshot's index may now hold another */
      P.curve = curve; if (view.following) view.show(P.snapshots.length - 1); else view.show(view.si);
    };
    view.bench = function (frames, done) {  /* frames a second while scrubbing, measured by the page itself */
      var n = 0, t0 = performance.now(), alsoSteps = view.mode === "backprop";
      (function frame() {
        if (n >= frames) { var fps = frames * 1000 / (performance.now() - t0); root.dataset.fps = fps.toFixed(1); if (done) done(fps); return; }
        view.show(n % P.snapshots.length); if (alsoSteps) view.move(1); n++; requestAnimationFrame(frame);
      })();
    };
    if (P.live) {
      var pause = button(bar, "Pause view", "stop following training (the view only: training goes on)", function () { view.following = !view.following; pause.textContent = view.following ? "Pause view" : "Follow training"; });
      button(bar, "Single step", "show the next snapshot received", function () { view.following = false; pause.textContent = "Follow training"; view.show(view.si + 1); }).classList.add("mgx-single");
      pause.classList.add("mgx-pause");
    }
    registry[root.dataset.mgx] = view;
    root.querySelector(".mgx-fallback").style.display = "none"; live.style.display = "";
    root.dataset.state = "ready";
    view.show(view.si);
    return view;
  }
  var me = document.currentScript, root = me && me.closest ? me.closest(".mgx-root") : null;
  if (!root || root.dataset.state !== "pending") root = document.querySelector('.mgx-root[data-state="pending"]');
  if (root) { root.dataset.state = "building"; try { build(root); } catch (err) { root.dataset.state = "failed"; root.querySelector(".mgx-live").textContent = "The explorer could not start: " + err; throw err; } }
})(window.MGX = window.MGX || {});
