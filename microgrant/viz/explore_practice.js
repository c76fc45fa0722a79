/* Practice at a neuron: predict each number of its chain rule before it is shown.  One question
   at a time (each needs the answers before it); a right answer, to the shown precision, reveals
   it and moves on; a miss shows the formula with the numbers plugged in and lets the learner try
   again; a score per kind of number is kept until reset. */
(function (M) {
  "use strict";
  M.questions = function (view, k, j, i) {
    var P = view.P, d = P.digits, p = M.pass(view, view.si, i), act = P.layers[k], name = P.layers_neurons[k][j];
    var z = p.fw.z[k][j], a = p.fw.a[k][j], dA = p.bw.dA[k][j], dZ = p.bw.dZ[k][j], lab = P.labels[k][j];
    var input = M.inputOf(p, k), nin = input.length, W = P.snapshots[view.si].W[k], b = P.snapshots[view.si].b[k][j], qs = [];
    var names = k === 0 ? P.input_names : P.layers_neurons[k - 1].map(function (n) { return n + ".a"; });
    qs.push({ kind: "z", ask: name + ".z = " + M.sumText(input.map(function (x, q) { return [W[j * nin + q], x]; }), d) + " + " + M.factor(b, d), value: z,
      hint: "z = Σ w·x + b: multiply each weight by its input, add them and the bias" });
    if (act !== "linear") qs.push({ kind: "a", ask: name + ".a = " + act + "(" + M.fmt(z, d) + ")", value: a, hint: act + "(z) with z = " + M.fmt(z, d) });
    if (k === P.layers.length - 1) {
      qs.push({ kind: "dL/da", ask: "dL/d" + name + "." + (act === "linear" ? "z" : "a") + " for the loss " + P.loss + ", output " + M.fmt(p.fw.a[k][j], d) + ", y = " + M.fmt(P.y[i], d), value: dA, hint: p.bw.lossText });
    } else {
      var nn = P.layers_neurons[k].length, Wn = P.snapshots[view.si].W[k + 1];
      var terms = P.layers_neurons[k + 1].map(function (_, q) { return [Wn[q * nn + j], p.bw.dZ[k + 1][q]]; });
      qs.push({ kind: "dL/da", ask: "dL/d" + name + ".a = Σ w·δ over the next layer = " + M.sumText(terms, d), value: dA, hint: "each weight out of this neuron times the δ of the neuron it feeds, added up" });
    }
    if (act !== "linear") qs.push({ kind: "δ", ask: "δ(" + name + ") = dL/da × " + act + "'(z) = " + M.factor(dA, d) + " × " + act + "'(" + M.fmt(z, d) + ")", value: dZ,
      hint: act + "'(z) = " + M.dactText[act] + " = " + M.fmt(M.dact(act, z, a), d) + " (a = " + M.fmt(a, d) + "), so δ = " + M.factor(dA, d) + " × " + M.factor(M.dact(act, z, a), d) });
    input.forEach(function (x, q) {
      qs.push({ kind: "dL/dw", ask: "dL/d" + lab[q] + " = δ × " + names[q] + " = " + M.factor(dZ, d) + " × " + M.factor(x, d), value: dZ * x, hint: "the weight's gradient is δ times the input it multiplies" });
    });
    qs.push({ kind: "dL/db", ask: "dL/d" + lab[nin] + " = δ × 1", value: dZ, hint: "the bias multiplies 1, so its gradient is δ itself" });
    return qs;
  };
  M.close = function (answer, value, digits) {  /* right to the shown precision */
    if (!Number.isFinite(answer)) return false;
    if (M.fmt(answer, digits) === M.fmt(value, digits)) return true;
    var unit = value === 0 ? 1e-12 : Math.pow(10, Math.floor(Math.log10(Math.abs(value))) - digits + 1);
    return Math.abs(answer - value) <= unit / 2 + 1e-15;
  };
  M.practice = function (view, box, k, j, i) {
    var P = view.P, key = [view.si, k, j, i].join(","), score = view.score = view.score || {};
    if (!view.drill || view.drill.key !== key) view.drill = { key: key, done: 0, missed: false };
    var st = view.drill, qs = M.questions(view, k, j, i), list = M.el("div", "mgx-practice", box);
    qs.slice(0, st.done + 1).forEach(function (q, n) {
      var row = M.el("div", "mgx-formula", list);
      M.el("span", "", row, q.ask + " = ");
      if (n < st.done) { M.el("b", "", row, M.fmt(q.value, P.digits)); return; }
      var input = M.el("input", "mgx-answer", row); input.size = 10; input.setAttribute("aria-label", q.ask);
      var hint = M.el("div", "mgx-note mgx-hint", list);
      var check = function () {
        var right = M.close(parseFloat(input.value), q.value, P.digits), s = score[q.kind] = score[q.kind] || [0, 0];
        if (!st.missed) { s[1]++; if (right) s[0]++; }
        if (right) { st.done++; st.missed = false; M.openNeuron(view, k, j); var next = view.detail.querySelector(".mgx-answer"); if (next) next.focus(); }
        else { st.missed = true; hint.textContent = "Not quite: " + q.hint + ". Try again."; M.showScore(view); }
      };
      input.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { ev.preventDefault(); check(); } ev.stopPropagation(); });
      M.el("button", "", row, "Check").addEventListener("click", check);
    });
    if (st.done >= qs.length) M.el("div", "mgx-note", list, "All of this neuron's numbers found. The engine's steps below say the same.");
    view.scoreLine = M.el("div", "mgx-note mgx-score", box); M.showScore(view);
    M.el("button", "", box, "Reset the score").addEventListener("click", function () { view.score = {}; view.drill = null; M.openNeuron(view, k, j); });
    return st.done >= qs.length;
  };
  M.showScore = function (view) {
    var s = view.score || {}, kinds = Object.keys(s);
    view.scoreLine.textContent = kinds.length ? "Score: " + kinds.map(function (kd) { return kd + ": " + s[kd][0] + " of " + s[kd][1] + " first try"; }).join(" · ") : "Score: nothing answered yet";
  };
})(window.MGX = window.MGX || {});
