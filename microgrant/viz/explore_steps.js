/* Backprop on the network, neuron by neuron from the output back: each neuron's delta with its
   formula and numbers, each incoming weight's gradient on its edge (on a box of its own, by the
   input it multiplies), the edges its gradient came from in red; and the network's health drawn
   on the neurons (dead, saturated) and above each layer (the update-to-data ratio, explained and
   flagged outside its healthy range). */
(function (M) {
  "use strict";
  var MAX_TERMS = 6;
  M.stepList = function (P) {
    var list = [];
    for (var k = P.layers.length - 1; k >= 0; k--) for (var j = 0; j < P.layers_neurons[k].length; j++) list.push({ k: k, j: j });
    return list;
  };
  M.sumText = function (terms, digits) {  /* "0.5 × (-0.3) + ..." shortened past MAX_TERMS */
    var shown = terms.slice(0, MAX_TERMS).map(function (t) { return M.factor(t[0], digits) + " × " + M.factor(t[1], digits); });
    return shown.join(" + ") + (terms.length > MAX_TERMS ? " + … (" + terms.length + " terms)" : "");
  };
  M.deltaOf = function (view, k, j) { return view.sample === null ? M.meanDelta(view, view.si, k, j) : M.pass(view, view.si, view.sample).bw.dZ[k][j]; };
  M.neuronLines = function (view, k, j, i) {  /* sample i's chain rule at one neuron, as text lines */
    var P = view.P, d = P.digits, p = M.pass(view, view.si, i), name = P.layers_neurons[k][j], act = P.layers[k];
    var K = P.layers.length, z = p.fw.z[k][j], a = p.fw.a[k][j], dA = p.bw.dA[k][j], dZ = p.bw.dZ[k][j], lines = [];
    var input = M.inputOf(p, k), names = k === 0 ? P.input_names : P.layers_neurons[k - 1].map(function (n) { return n + ".a"; });
    var lab = P.labels[k][j], nin = input.length, W = P.snapshots[view.si].W[k];
    lines.push("forward: " + name + ".z = " + input.map(function (_, q) { return lab[q] + "·" + names[q]; }).join(" + ") + " + " + lab[nin]);
    lines.push("         = " + M.sumText(input.map(function (x, q) { return [W[j * nin + q], x]; }), d) + " + " + M.factor(P.snapshots[view.si].b[k][j], d) + " = " + M.fmt(z, d));
    if (act !== "linear") lines.push("         " + name + ".a = " + act + "(z) = " + M.fmt(a, d));
    if (k === K - 1) {
      lines.push("backward: loss L = " + M.fmt(p.bw.L, d) + " (" + P.loss + ", y = " + M.fmt(P.y[i], d) + "); " + p.bw.lossText);
      lines.push("         dL/d" + name + "." + (act === "linear" ? "z" : "a") + " = " + M.fmt(dA, d));
    } else {
      var nxt = P.layers_neurons[k + 1], Wn = P.snapshots[view.si].W[k + 1], nn = P.layers_neurons[k].length;
      lines.push("backward: dL/d" + name + ".a = Σ over " + "L" + (k + 2) + " of w·δ = " + nxt.slice(0, MAX_TERMS).map(function (n, q) { return P.labels[k + 1][q][j] + "·δ(" + n + ")"; }).join(" + ") + (nxt.length > MAX_TERMS ? " + …" : ""));
      lines.push("         = " + M.sumText(nxt.map(function (_, q) { return [Wn[q * nn + j], p.bw.dZ[k + 1][q]]; }), d) + " = " + M.fmt(dA, d));
    }
    if (act !== "linear") lines.push("         δ(" + name + ") = dL/dz = dL/da × " + act + "'(z) = " + M.factor(dA, d) + " × " + M.factor(M.dact(act, z, a), d) + " = " + M.fmt(dZ, d) + "   [" + act + "'(z) = " + M.dactText[act] + "]");
    else lines.push("         δ(" + name + ") = dL/dz = dL/da × 1 = " + M.fmt(dZ, d));
    lines.push("gradients: " + input.map(function (x, q) { return "dL/d" + lab[q] + " = δ × " + names[q] + " = " + M.factor(dZ, d) + " × " + M.factor(x, d) + " = " + M.fmt(dZ * x, d); }).join("; ") + "; dL/d" + lab[nin] + " = δ = " + M.fmt(dZ, d));
    return lines;
  };
  M.batchLines = function (view, k, j) {
    var P = view.P, d = P.digits, name = P.layers_neurons[k][j], lab = P.labels[k][j], N = P.X.length, nin = lab.length - 1, lines = [];
    lines.push("batch of " + N + " samples: the loss is their mean, so each gradient is the mean of the samples' gradients");
    lines.push("δ(" + name + ") averaged = " + M.fmt(M.meanDelta(view, view.si, k, j), d));
    for (var q = 0; q < nin; q++) lines.push("dL/d" + lab[q] + " = mean over samples of δ·input = " + M.fmt(M.weightGrad(view, view.si, k, j, q, null), d));
    lines.push("dL/d" + lab[nin] + " = mean of δ = " + M.fmt(M.weightGrad(view, view.si, k, j, null, null), d));
    return lines;
  };
  M.drawBackprop = function (view) {
    var P = view.P, d = P.digits, list = view.steps, s = view.step;
    view.units.forEach(function (col) { col.forEach(function (u) { u.el.classList.remove("mgx-active", "mgx-done"); u.delta.textContent = ""; }); });
    view.edges.forEach(function (e) { e.el.classList.remove("mgx-from"); });
    while (view.gradLayer.firstChild) view.gradLayer.removeChild(view.gradLayer.firstChild);
    if (view.mode !== "backprop") { view.stepText.textContent = ""; return; }
    for (var n = 0; n <= s && n < list.length; n++) {
      var st = list[n], u = view.units[st.k + 1][st.j];
      u.el.classList.add(n === s ? "mgx-active" : "mgx-done");
      u.delta.textContent = "δ " + M.fmt(M.deltaOf(view, st.k, st.j), 3);
    }
    var cur = list[s], labels = [];
    view.edges.forEach(function (e) {
      if (e.k === cur.k + 1 && e.i === cur.j) e.el.classList.add("mgx-from");
      if (e.k === cur.k && e.j === cur.j && view.edges.length < 400) labels.push(e);
    });
    M.gradLabels(view, labels);
    var head = "step " + (s + 1) + " of " + list.length + ": " + P.layers_neurons[cur.k][cur.j] + (view.sample === null ? " (batch)" : " (sample " + (view.sample + 1) + ")");
    view.stepText.textContent = head + "\n" + (view.sample === null ? M.batchLines(view, cur.k, cur.j) : M.neuronLines(view, cur.k, cur.j, view.sample).slice(-4)).join("\n");
  };
  M.gradLabels = function (view, edges) {  /* each weight's gradient on its edge, on a white box so no edge runs through it */
    var P = view.P, boxes = M.el("svg:g", "", view.gradLayer), texts = M.el("svg:g", "", view.gradLayer);
    var made = edges.map(function (e) {
      var t = M.el("svg:text", "mgx-grad", texts, M.fmt(M.weightGrad(view, view.si, e.k, e.j, e.i, view.sample), 3));
      t.setAttribute("x", e.near[0]); t.setAttribute("y", e.near[1]); t.setAttribute("text-anchor", "middle"); t.setAttribute("dominant-baseline", "central");
      M.el("svg:title", "", t, "dL/d" + P.labels[e.k][e.j][e.i] + (view.sample === null ? " (the batch's mean)" : " (sample " + (view.sample + 1) + ")"));
      return t;
    });
    made.map(function (t) { return t.getBBox(); }).forEach(function (b) {  /* every text measured first, then the boxes added: one layout */
      var r = M.el("svg:rect", "mgx-gradbox", boxes);
      r.setAttribute("x", (b.x - 2).toFixed(1)); r.setAttribute("y", (b.y - 1).toFixed(1));
      r.setAttribute("width", (b.width + 4).toFixed(1)); r.setAttribute("height", (b.height + 2).toFixed(1)); r.setAttribute("rx", 2);
    });
  };
  M.health = function (view, si) {  /* dead ReLUs, saturated tanh/sigmoid: the rules explore_data.health uses */
    var P = view.P, N = P.X.length, out = [];
    P.layers.forEach(function (act, k) {
      out.push(P.layers_neurons[k].map(function (_, j) {
        var dead = true, sat = 0;
        for (var n = 0; n < N; n++) {
          var fw = M.pass(view, si, n).fw, z = fw.z[k][j], a = fw.a[k][j];
          if (z > 0) dead = false;
          if ((act === "tanh" ? Math.abs(a) : Math.abs(2 * a - 1)) > 0.97) sat++;
        }
        if (act === "relu" && dead) return "dead";
        return (act === "tanh" || act === "sigmoid") && sat >= 0.9 * N ? "saturated" : "";
      }));
    });
    return out;
  };
  M.ratios = function (P, si) {  /* update-to-data ratio: std(change of W) / std(W), per layer */
    if (si === 0) return null;
    var std = function (v) { var m = 0; v.forEach(function (x) { m += x; }); m /= v.length; var s = 0; v.forEach(function (x) { s += (x - m) * (x - m); }); return Math.sqrt(s / v.length); };
    return P.snapshots[si].W.map(function (W, k) {
      var before = P.snapshots[si - 1].W[k], sd = std(W);
      return sd > 0 ? std(W.map(function (w, q) { return w - before[q]; })) / sd : null;
    });
  };
  M.drawHealth = function (view) {
    var flags = M.health(view, view.si), ratios = M.ratios(view.P, view.si);
    view.units.slice(1).forEach(function (col, k) {
      col.forEach(function (u, j) { u.el.classList.toggle("mgx-dead", flags[k][j] === "dead"); u.el.classList.toggle("mgx-saturated", flags[k][j] === "saturated"); u.el.title = u.name + (flags[k][j] ? " (" + flags[k][j] + ")" : ""); });
      M.ratioLabel(view, col.info, ratios ? ratios[k] : null);
    });
    return flags;
  };
  M.RATIO_HEALTHY = [-4, -2];  /* log10 of the update-to-data ratio: around -3 is healthy */
  M.ratioLabel = function (view, info, ratio) {  /* "update/data 10^-3.1", explained on hover, flagged outside the healthy range */
    var P = view.P, si = view.si, gap = si > 0 ? M.epochOf(P, si) - M.epochOf(P, si - 1) : 0;
    var what = "Update-to-data ratio of this layer's weights: std(ΔW) / std(W), the change since the previous snapshot relative to the weights' spread. Around 10^-3 is healthy; below 10^-4 the layer barely learns; above 10^-2 its updates are too big.";
    info.textContent = ""; info.classList.remove("mgx-flag");
    if (ratio === null || ratio === undefined) {
      info.textContent = si === 0 ? "update/data: —" : "update/data: no spread";
      info.title = what + (si === 0 ? " The first snapshot has no previous one." : " This layer's weights are all equal, so the ratio is undefined.");
      return;
    }
    var e = Math.log10(ratio), verdict = e < M.RATIO_HEALTHY[0] ? "too small: the layer barely learns" : e > M.RATIO_HEALTHY[1] ? "too big: the updates are large for these weights" : "healthy";
    M.el("span", "", info, "update/data "); M.pow10(info, e.toFixed(1));
    if (gap > 1) M.el("div", "", info, "(over " + gap + " epochs)");
    info.classList.toggle("mgx-flag", verdict !== "healthy");
    info.title = what + " Here: " + M.fmt(ratio, 3) + " (" + verdict + ")" + (gap > 1 ? "; measured over the " + gap + " epochs between these snapshots, not one step, so expect it larger than one step's" : "") + ".";
  };
})(window.MGX = window.MGX || {});
