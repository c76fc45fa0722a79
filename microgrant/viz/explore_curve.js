/* Beside the network: the output's decision boundary with the data points (a point opens its
   sample), on axes in the data's numbers, with a legend naming each class by its colour; and the
   loss and accuracy curves with the shown snapshot marked (a click jumps). */
(function (M) {
  "use strict";
  M.epochOf = function (P, si) { var e = P.snapshots[si].epoch; return e === null || e === undefined ? si : e; };
  M.buildSide = function (view, side) {
    var P = view.P, out = M.el("div", "mgx-panel mgx-output", side);
    M.el("h4", "", out, P.grid ? "Output: decision boundary and the data" : "Output per sample (bars) and the targets");
    var plot = M.el("div", P.grid ? "mgx-plot mgx-withaxes" : "mgx-plot", out), cv = M.el("canvas", "", plot); cv.width = 240; cv.height = P.grid ? 240 : 80;
    view.outCanvas = cv;
    if (P.grid) M.axes(P, plot, cv);
    M.legend(P, out);
    cv.addEventListener("click", function (ev) {
      var r = cv.getBoundingClientRect(), best = null, bd = 1e9;
      P.X.forEach(function (x, n) {
        var p = M.toCanvas(view, x, n), d = Math.hypot(p[0] - (ev.clientX - r.left) * cv.width / r.width, p[1] - (ev.clientY - r.top) * cv.height / r.height);
        if (d < bd) { bd = d; best = n; }
      });
      if (best !== null && bd < 14) view.openSample(best);
    });
    M.el("div", "mgx-note", out, "Click a point to open that sample's forward and backward pass.");
    var cp = M.el("div", "mgx-panel mgx-curve", side);
    M.el("h4", "", cp, "Loss (blue) and accuracy (green) per epoch");
    view.curveSvg = M.el("svg:svg", "", cp);
    view.curveSvg.setAttribute("width", 300); view.curveSvg.setAttribute("height", 130);
    view.curveSvg.addEventListener("click", function (ev) {
      var r = view.curveSvg.getBoundingClientRect(), x = ev.clientX - r.left, best = 0, bd = 1e9;
      P.snapshots.forEach(function (_, si) { var d = Math.abs(view.curveX(M.epochOf(P, si)) - x); if (d < bd) { bd = d; best = si; } });
      view.show(best);
    });
  };
  M.ticks = function (lo, hi) {  /* round values across an axis, 1, 2 or 5 times a power of ten apart: [fraction, value] */
    var rough = (hi - lo) / 4, unit = Math.pow(10, Math.floor(Math.log10(rough))), out = [];
    var step = [1, 2, 5, 10].map(function (m) { return m * unit; }).filter(function (st) { return st >= rough; })[0];
    for (var v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push([(v - lo) / (hi - lo), Math.abs(v) < step / 1e6 ? 0 : v]);
    return out;
  };
  M.axes = function (P, plot, cv) {  /* the plane's extent, in the data's numbers, on both axes */
    var g = P.grid, left = 45, top = 1, f = function (v) { return M.fmt(v, 3); };  /* the canvas's content box: inside the padding and its 1px border */
    M.ticks(g.x0, g.x1).forEach(function (t) {
      var tx = M.el("div", "mgx-tick mgx-xtick", plot, f(t[1])), x = left + t[0] * cv.width;
      tx.style.left = x + "px"; tx.style.top = (cv.height + 6) + "px"; tx.style.transform = "translateX(-50%)";
      var mark = M.el("div", "mgx-mark", plot); mark.style.left = x + "px"; mark.style.top = (cv.height + 2) + "px"; mark.style.width = "1px"; mark.style.height = "4px";
    });
    M.ticks(g.y0, g.y1).forEach(function (t) {
      var ty = M.el("div", "mgx-tick mgx-ytick", plot, f(t[1])), y = top + (1 - t[0]) * cv.height;
      ty.style.right = (cv.width + 8) + "px"; ty.style.top = y + "px"; ty.style.transform = "translateY(-50%)";
      var mark = M.el("div", "mgx-mark", plot); mark.style.left = (left - 5) + "px"; mark.style.top = y + "px"; mark.style.width = "4px"; mark.style.height = "1px";
    });
    cv.title = "the input plane: " + M.planeText(P);
    var ax = M.el("div", "mgx-axis", plot, P.input_names[0] + " →"); ax.style.left = (left + cv.width / 2) + "px"; ax.style.top = (cv.height + 17) + "px"; ax.style.transform = "translateX(-50%)";
    var ay = M.el("div", "mgx-axis", plot, P.input_names[1] + " →"); ay.style.left = "2px"; ay.style.top = (cv.height / 2) + "px"; ay.style.transform = "translate(-25%, -50%) rotate(-90deg)";
  };
  M.classNames = function (P) {  /* [the blue class, the orange class] in the targets' own values */
    var seen = {}, pos = [], neg = [], f = function (v) { return M.fmt(v, P.digits); };
    P.y.forEach(function (v) { if (!seen[v]) { seen[v] = true; ((P.threshold === null ? v === 0 : v > P.threshold) ? pos : neg).push(v); } });
    pos.sort(function (a, b) { return a - b; }); neg.sort(function (a, b) { return a - b; });
    var name = function (vals, other) { return vals.length <= 3 ? "y = " + vals.map(f).join(" or ") : other; };
    return P.threshold === null ? [name(pos, "y = 0"), name(neg, "y ≠ 0")] : [name(pos, "y > " + f(P.threshold)), name(neg, "y ≤ " + f(P.threshold))];
  };
  M.legend = function (P, out) {  /* which colour is which class, and what the background and rings say */
    var names = M.classNames(P), row = M.el("div", "mgx-legend", out);
    [[names[0], "#0877bd"], [names[1], "#f59322"]].forEach(function (c) {
      var item = M.el("span", "mgx-class", row), dot = M.el("span", "mgx-dot", item); dot.style.background = c[1]; M.el("span", "", item, c[0]);
    });
    var wrong = M.el("span", "", row), ring = M.el("span", "mgx-dot", wrong); ring.style.background = "#ddd"; ring.style.borderColor = "#000"; M.el("span", "", wrong, "black ring: the net gets it wrong");
    M.el("div", "mgx-note", out, P.grid ? "Background: the net's prediction at each point of the plane (blue: " + names[0] + ", orange: " + names[1] + "; deeper colour, surer); the decision boundary is where it turns." :
      "Bars: the net's output score per sample (up: " + names[0] + ", down: " + names[1] + "); dots: the targets.");
  };
  M.toCanvas = function (view, x, n) {
    var g = view.P.grid, cv = view.outCanvas;
    if (!g) return [(n + 0.5) * cv.width / view.P.X.length, cv.height / 2];
    return [(x[0] - g.x0) / (g.x1 - g.x0) * cv.width, (g.y1 - x[1]) / (g.y1 - g.y0) * cv.height];
  };
  M.score = function (P, a) {  /* the output as a signed score: > 0 is the positive class */
    if (a.length > 1) { var m = Math.max.apply(null, a.slice(1)); return a[0] - m; }
    return a[0] - (P.threshold === null ? 0 : P.threshold);
  };
  M.drawOutput = function (view) {
    var P = view.P, cv = view.outCanvas, ctx = cv.getContext("2d");
    var positive = function (n) { return P.threshold === null ? P.y[n] === 0 : P.y[n] > P.threshold; };
    if (P.grid) {
      var RES = view.outRes || (view.outRes = M.outputRes(P)), out = M.gridValues(view, view.si, RES).layers[P.layers.length - 1], m = 1e-12, scores = new Float64Array(RES * RES), p;
      var tmp = view.tmpCanvas || (view.tmpCanvas = document.createElement("canvas"));  /* a fine grid, drawn smoothed: no blocks */
      if (!view.tmpImage) { tmp.width = RES; tmp.height = RES; view.tmpImage = tmp.getContext("2d").createImageData(RES, RES); }
      for (p = 0; p < scores.length; p++) {
        var s = out[0][p] - (P.threshold === null ? 0 : P.threshold);
        for (var c = 1; c < out.length; c++) s = c === 1 ? out[0][p] - out[1][p] : Math.min(s, out[0][p] - out[c][p]);
        scores[p] = s; m = Math.max(m, Math.abs(s));
      }
      for (p = 0; p < scores.length; p++) M.put(view.tmpImage.data, p, (scores[p] > 0 ? 0.25 : -0.25) + 0.55 * scores[p] / m);  /* the boundary is where the colour flips */
      tmp.getContext("2d").putImageData(view.tmpImage, 0, 0);
      ctx.imageSmoothingEnabled = true; ctx.imageSmoothingQuality = "high"; ctx.drawImage(tmp, 0, 0, cv.width, cv.height);
    } else { ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, cv.width, cv.height); }
    P.X.forEach(function (x, n) {
      var p = M.toCanvas(view, x, n), pass = M.pass(view, view.si, n), s = M.score(P, pass.fw.a[pass.fw.a.length - 1]);
      if (!P.grid) { ctx.fillStyle = s > 0 ? "#0877bd" : "#f59322"; ctx.fillRect(p[0] - 1, p[1] - Math.max(-30, Math.min(30, s * 10)), 2, Math.max(-30, Math.min(30, s * 10))); }
      ctx.beginPath(); ctx.arc(p[0], p[1], n === view.sample ? 7 : 4.5, 0, 2 * Math.PI);
      ctx.fillStyle = positive(n) ? "#0877bd" : "#f59322"; ctx.fill();
      ctx.lineWidth = n === view.sample ? 3 : 1.2; ctx.strokeStyle = (s > 0) === positive(n) ? "#fff" : "#000"; ctx.stroke();
    });
  };
  M.drawCurve = function (view) {  /* the curves are drawn when snapshots arrive; a frame moves the marker */
    var P = view.P, svg = view.curveSvg, W = 300, H = 130, pad = 24, key = P.snapshots.length + ":" + P.curve.length;
    if (view.curveKey !== key) {
      view.curveKey = key;
      var full = P.curve.map(function (v, e) { return [e + 1, v]; }).filter(function (p) { return p[1] !== null; });
      var snaps = P.snapshots.map(function (s, si) { return [M.epochOf(P, si), s.loss, s.accuracy]; });
      var xs = full.map(function (p) { return p[0]; }).concat(snaps.map(function (p) { return p[0]; }));
      var ls = full.map(function (p) { return p[1]; }).concat(snaps.map(function (p) { return p[1]; })).filter(function (v) { return v !== null; });
      var x0 = Math.min.apply(null, xs.concat([0])), x1 = Math.max.apply(null, xs.concat([1]));
      view.curveTop = Math.max.apply(null, ls.concat([1e-9]));
      view.curveX = function (e) { return pad + (e - x0) / Math.max(1e-9, x1 - x0) * (W - 2 * pad); };
      var y = function (v) { return H - pad - v / view.curveTop * (H - 2 * pad); }, ya = function (v) { return H - pad - v * (H - 2 * pad); };
      var line = function (pts, f) { return pts.filter(function (p) { return p[1] !== null && p[1] !== undefined; }).map(function (p) { return view.curveX(p[0]).toFixed(1) + "," + f(p[1]).toFixed(1); }).join(" "); };
      var acc = snaps.map(function (p) { return [p[0], p[2]]; });
      svg.innerHTML = '<polyline fill="none" stroke="#9cc3e6" stroke-width="1" points="' + line(full, y) + '"/>' +
        '<polyline fill="none" stroke="#1f5f99" stroke-width="1.5" points="' + line(snaps, y) + '"/>' +
        '<polyline fill="none" stroke="#2ca02c" stroke-width="1.2" points="' + line(acc, ya) + '"/>' +
        '<line class="mgx-mark" y1="' + pad / 2 + '" y2="' + (H - pad) + '" stroke="#d62728"/><text class="mgx-curvetext" x="' + pad + '" y="12" font-size="10"></text>' +
        '<text x="' + pad + '" y="' + (H - 6) + '" font-size="10">epoch ' + x0 + '</text><text x="' + (W - pad) + '" y="' + (H - 6) + '" font-size="10" text-anchor="end">' + x1 + '</text>';
    }
    var here = view.curveX(M.epochOf(P, view.si)), cur = P.snapshots[view.si], mark = svg.querySelector(".mgx-mark");
    mark.setAttribute("x1", here); mark.setAttribute("x2", here);
    svg.querySelector(".mgx-curvetext").textContent = "loss " + (cur.loss === null ? "—" : M.fmt(cur.loss, P.digits)) +
      (cur.accuracy === null ? "" : ", accuracy " + M.fmt(cur.accuracy, P.digits)) + " (max loss " + M.fmt(view.curveTop, 3) + ")";
  };
})(window.MGX = window.MGX || {});
