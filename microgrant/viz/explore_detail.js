/* Drill down and back: a neuron opens its chain-rule steps for one sample (this page's replay
   and microgrant's own backward_steps), a data point its whole forward and backward pass;
   and two snapshots compared (the weights that moved most, the neurons whose health changed). */
(function (M) {
  "use strict";
  M.engineLines = function (view, k, j, i) {
    var P = view.P, at = P.steps[String(view.si)], per = at && at[String(i)], name = P.layers_neurons[k][j];
    if (!per || !per.neurons[name]) return null;
    var from = per.neurons[name].from.map(function (r) { return per.steps[r[0]].split("\n")[r[1]].trim(); });
    return from.concat(per.neurons[name].own.map(function (n) { return per.steps[n]; }).join("\n").split("\n"));
  };
  M.openNeuron = function (view, k, j) {
    var P = view.P, i = view.sample === null ? 0 : view.sample, box = view.detail, d = P.digits;
    view.drilled = { kind: "neuron", k: k, j: j, i: i };
    box.innerHTML = "";
    var bar = M.el("div", "mgx-bar", box), back = M.el("button", "mgx-back", bar, "← Back to the network (Esc)");
    back.addEventListener("click", function () { view.back(); });
    [["◀ sample", -1], ["sample ▶", 1]].forEach(function (b) {
      M.el("button", "", bar, b[0]).addEventListener("click", function () { view.sample = (i + b[1] + P.X.length) % P.X.length; M.openNeuron(view, k, j); });
    });
    var practise = M.el("button", "mgx-practise" + (view.practising ? " mgx-on" : ""), bar, view.practising ? "Show every number" : "Practice: predict each number");
    practise.addEventListener("click", function () { view.practising = !view.practising; M.openNeuron(view, k, j); });
    var x = P.X[i].map(function (v) { return M.fmt(v, d); }).join(", ");
    M.el("h4", "mgx-title", box, P.layers_neurons[k][j] + " (" + P.layers[k] + "), sample " + (i + 1) + ": x = (" + x + "), y = " + M.fmt(P.y[i], d) + ", epoch " + M.epochOf(P, view.si));
    var big = M.el("canvas", "", box); big.width = 140; big.height = 140; big.style.border = "1px solid #888"; big.style.float = "right";
    big.getContext("2d").drawImage(view.units[k + 1][j].canvas, 0, 0, 140, 140);
    if (view.practising) {
      M.el("div", "mgx-note", box, "Predict each number of this neuron's chain rule for this sample (to " + d + " significant digits), then press Enter:");
      if (!M.practice(view, box, k, j, i)) { view.root.classList.add("mgx-drilled"); return; }
    } else {
      M.el("div", "mgx-note", box, "This neuron's chain rule for this sample, replayed by the page at the shown snapshot:");
      M.el("pre", "mgx-formula mgx-page-steps", box, M.neuronLines(view, k, j, i).join("\n"));
    }
    var engine = M.engineLines(view, k, j, i), kept = Object.keys(P.steps).map(Number).sort(function (a, b) { return a - b; });
    M.el("div", "mgx-note", box, engine ? "microgrant's own chain-rule steps (backward_steps on this sample's loss graph): the lines that pass this neuron its gradient, then its own steps:" :
      "microgrant's own steps are kept for the first " + Object.keys(P.steps[kept[0]] || {}).length + " samples at epochs " + kept.map(function (si) { return M.epochOf(P, si); }).join(", ") + ": go to one to see them beside the page's.");
    if (engine) M.el("pre", "mgx-engine-steps", box, engine.join("\n"));
    else if (kept.length && i < Object.keys(P.steps[kept[0]]).length) {
      var near = kept.reduce(function (a, b) { return Math.abs(b - view.si) < Math.abs(a - view.si) ? b : a; });
      M.el("button", "mgx-goto", box, "Go to epoch " + M.epochOf(P, near)).addEventListener("click", function () { view.show(near); });
    }
    view.root.classList.add("mgx-drilled");
  };
  M.openSample = function (view, i) {
    var P = view.P, d = P.digits, box = view.detail, p = M.pass(view, view.si, i);
    view.drilled = { kind: "sample", i: i }; view.sample = i;
    box.innerHTML = "";
    M.el("button", "mgx-back", M.el("div", "mgx-bar", box), "← Back to the network (Esc)").addEventListener("click", function () { view.back(); });
    M.el("h4", "mgx-title", box, "Sample " + (i + 1) + ": x = (" + P.X[i].map(function (v) { return M.fmt(v, d); }).join(", ") + "), y = " + M.fmt(P.y[i], d) +
      ", loss " + M.fmt(p.bw.L, d) + " (" + P.loss + "), epoch " + M.epochOf(P, view.si));
    var t = M.el("table", "mgx-table", box), head = M.el("tr", "", t);
    ["neuron", "z (forward)", "a = f(z)", "dL/da (backward)", "δ = dL/dz"].forEach(function (h) { M.el("th", "", head, h); });
    P.layers.forEach(function (_, k) {
      P.layers_neurons[k].forEach(function (name, j) {
        var tr = M.el("tr", "", t);
        [name, p.fw.z[k][j], p.fw.a[k][j], p.bw.dA[k][j], p.bw.dZ[k][j]].forEach(function (v, c) { M.el("td", "", tr, c === 0 ? v : M.fmt(v, d)); });
        tr.style.cursor = "pointer"; tr.title = "open " + name + "'s chain rule";
        tr.addEventListener("click", function () { M.openNeuron(view, k, j); });
      });
    });
    M.el("div", "mgx-note", box, "Click a row to open that neuron's chain-rule steps for this sample.");
    view.root.classList.add("mgx-drilled");
  };
  M.compare = function (view) {
    var P = view.P, box = view.compareBox, d = P.digits;
    view.edges.forEach(function (e) { e.el.classList.remove("mgx-moved"); });
    if (view.pin === null || view.pin === view.si) { box.textContent = view.pin === null ? "Pin a snapshot (button “Pin for comparing”), then move to another to compare them." : "Pinned here: move to another snapshot to compare."; return; }
    var A = P.snapshots[view.pin], B = P.snapshots[view.si], moved = [];
    B.W.forEach(function (W, k) {
      var nin = W.length / B.b[k].length;
      W.forEach(function (w, q) { moved.push({ k: k, j: Math.floor(q / nin), i: q % nin, a: A.W[k][q], b: w }); });
      B.b[k].forEach(function (w, j) { moved.push({ k: k, j: j, i: nin, a: A.b[k][j], b: w }); });
    });
    moved.sort(function (u, v) { return Math.abs(v.b - v.a) - Math.abs(u.b - u.a); });
    var lines = ["epoch " + M.epochOf(P, view.pin) + " → " + M.epochOf(P, view.si) + ": the weights that moved most"];
    moved.slice(0, 5).forEach(function (m) {
      lines.push("  " + P.labels[m.k][m.j][m.i] + ": " + M.fmt(m.a, d) + " → " + M.fmt(m.b, d) + " (" + (m.b >= m.a ? "+" : "") + M.fmt(m.b - m.a, d) + ")");
      view.edges.forEach(function (e) { if (e.k === m.k && e.j === m.j && e.i === m.i) e.el.classList.add("mgx-moved"); });
    });
    var fa = M.health(view, view.pin), fb = M.health(view, view.si), changed = [];
    fb.forEach(function (col, k) { col.forEach(function (f, j) { if (f !== fa[k][j]) changed.push("  " + P.layers_neurons[k][j] + ": " + (fa[k][j] || "healthy") + " → " + (f || "healthy")); }); });
    box.textContent = lines.concat(changed.length ? ["neurons whose health changed:"].concat(changed) : ["no neuron died, saturated or recovered"]).join("\n");
  };
})(window.MGX = window.MGX || {});
