/* The explorer's arithmetic: numbers written as microgrant writes them, and one sample's
   forward and backward pass through the shown snapshot (the formulas fit trains by). */
(function (M) {
  "use strict";
  M.fmt = function (x, digits) {  /* microgrant.viz.text.format_number: Python's %g */
    if (x === null || x === undefined || Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    var ax = Math.abs(x), e = ax.toExponential(digits - 1).split("e"), m = e[0].replace(".", ""), exp = parseInt(e[1], 10);
    var full = ax.toExponential(99).split("e"), fd = full[0].replace(".", "");
    if (fd[digits] === "5" && /^0*$/.test(fd.slice(digits + 1)) && +fd[digits - 1] % 2 === 0) {
      m = fd.slice(0, digits); exp = parseInt(full[1], 10);  /* an exact tie: Python rounds to even */
    }
    m = m.replace(/0+$/, "") || "0";
    var s;
    if (exp < -4 || exp >= digits) s = m[0] + (m.length > 1 ? "." + m.slice(1) : "") + "e" + exp;
    else if (exp >= 0) s = m.length > exp + 1 ? m.slice(0, exp + 1) + "." + m.slice(exp + 1) : m + "0".repeat(exp + 1 - m.length);
    else s = "0." + "0".repeat(-exp - 1) + m;
    return (x < 0 ? "-" : "") + s;
  };
  M.factor = function (x, digits) { var t = M.fmt(x, digits); return x < 0 ? "(" + t + ")" : t; };
  var sigmoid = function (z) { return 0.5 * (1 + Math.tanh(0.5 * z)); };
  M.act = function (name, z) {
    if (name === "relu") return z > 0 ? z : 0;
    if (name === "tanh") return Math.tanh(z);
    if (name === "sigmoid") return sigmoid(z);
    if (name === "leaky_relu") return z > 0 ? z : 0.01 * z;
    if (name === "step") return z > 0 ? 1 : 0;
    return z;
  };
  M.dact = function (name, z, a) {  /* kinks as PyTorch: relu'(0) = 0 */
    if (name === "relu") return z > 0 ? 1 : 0;
    if (name === "tanh") return 1 - a * a;
    if (name === "sigmoid") return a * (1 - a);
    if (name === "leaky_relu") return z > 0 ? 1 : 0.01;
    if (name === "step") return 0;
    return 1;
  };
  M.dactText = { relu: "1 if z > 0 else 0", tanh: "1 - a²", sigmoid: "a·(1 - a)",
    leaky_relu: "1 if z > 0 else 0.01", step: "0", linear: "1" };
  M.forward = function (P, snap, x) {
    var z = [], a = [], input = x;
    for (var k = 0; k < P.layers.length; k++) {
      var W = snap.W[k], b = snap.b[k], n = b.length, nin = input.length, zk = [], ak = [];
      for (var j = 0; j < n; j++) {
        var s = b[j];
        for (var i = 0; i < nin; i++) s += W[j * nin + i] * input[i];
        zk.push(s); ak.push(M.act(P.layers[k], s));
      }
      z.push(zk); a.push(ak); input = ak;
    }
    return { x: x, z: z, a: a };
  };
  var FLOOR = Math.exp(-100);  /* binary cross-entropy clamps log(p) at -100, as PyTorch */
  M.loss = function (P, out, t) {  /* one sample's loss and dL/d(output) */
    var s = out[0];
    if (P.loss === "hinge") { var m = 1 - t * s; return { L: Math.max(0, m), g: [m > 0 ? -t : 0], text: "dL/ds = -y if 1 - y·s > 0 else 0" }; }
    if (P.loss === "bce_logits") return { L: Math.max(s, 0) - s * t + Math.log1p(Math.exp(-Math.abs(s))), g: [sigmoid(s) - t], text: "dL/ds = σ(s) - y" };
    if (P.loss === "bce") {
      var L = -(t * Math.log(Math.max(s, FLOOR)) + (1 - t) * Math.log(Math.max(1 - s, FLOOR)));
      var g = (s > FLOOR ? -t / s : 0) + (1 - s > FLOOR ? (1 - t) / (1 - s) : 0);
      return { L: L, g: [g], text: "dL/dp = -y/p + (1 - y)/(1 - p)" };
    }
    if (P.loss === "mse") return { L: (s - t) * (s - t), g: [2 * (s - t)], text: "dL/ds = 2·(s - y)" };
    var mx = Math.max.apply(null, out), sum = 0, i;
    for (i = 0; i < out.length; i++) sum += Math.exp(out[i] - mx);
    var grads = [];
    for (i = 0; i < out.length; i++) grads.push(Math.exp(out[i] - mx) / sum - (i === t ? 1 : 0));
    return { L: mx + Math.log(sum) - out[t], g: grads, text: "dL/ds_i = softmax(s)_i - [i = y]" };
  };
  M.backward = function (P, snap, fw, t) {
    var K = P.layers.length, last = M.loss(P, fw.a[K - 1], t), dA = [], dZ = [];
    var up = last.g;
    for (var k = K - 1; k >= 0; k--) {
      var n = fw.z[k].length, dz = [];
      for (var j = 0; j < n; j++) dz.push(up[j] * M.dact(P.layers[k], fw.z[k][j], fw.a[k][j]));
      dA[k] = up; dZ[k] = dz;
      if (k === 0) break;
      var nin = fw.a[k - 1].length, W = snap.W[k], prev = [];
      for (var i = 0; i < nin; i++) { var s = 0; for (j = 0; j < n; j++) s += W[j * nin + i] * dz[j]; prev.push(s); }
      up = prev;
    }
    return { L: last.L, lossText: last.text, dA: dA, dZ: dZ };
  };
  M.pass = function (view, si, i) {  /* sample i at snapshot si, kept while that snapshot shows */
    var c = view.cache;
    if (c.si !== si) { view.cache = c = { si: si, samples: {} }; }
    if (!c.samples[i]) {
      var snap = view.P.snapshots[si], fw = M.forward(view.P, snap, view.P.X[i]);
      c.samples[i] = { fw: fw, bw: M.backward(view.P, snap, fw, view.P.y[i]) };
    }
    return c.samples[i];
  };
  M.inputOf = function (p, k) { return k === 0 ? p.fw.x : p.fw.a[k - 1]; };
  M.weightGrad = function (view, si, k, j, i, sample) {  /* dL/dw for one sample or the batch mean */
    var list = sample === null ? view.P.X.map(function (_, n) { return n; }) : [sample], s = 0;
    for (var n = 0; n < list.length; n++) {
      var p = M.pass(view, si, list[n]);
      s += p.bw.dZ[k][j] * (i === null ? 1 : M.inputOf(p, k)[i]);
    }
    return s / list.length;
  };
  M.meanDelta = function (view, si, k, j) {
    var s = 0, N = view.P.X.length;
    for (var n = 0; n < N; n++) s += M.pass(view, si, n).bw.dZ[k][j];
    return s / N;
  };
})(window.MGX = window.MGX || {});
