/* The overview, laid out by the page: inputs, then each layer's neurons, each edge a weight
   (thickness its size, blue positive, orange negative), each neuron's activation over the
   input plane (2-D data) or per sample (bars), health marks, each layer's update ratio; and
   under it, how to read all that (the plane's extent, the colour scale, the ratio's meaning). */
(function (M) {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  /* A weight's gradient is written on its edge near the edge's input end: the edges into one
     neuron all meet at that neuron, but leave their inputs a whole neuron apart, so the labels
     stay apart too (and each sits by the input it multiplies). */
  var LABEL_AT = 0.3;
  var OUTPUT_WORK = 2e6;  /* multiply-adds for the decision boundary's grid: a few ms a frame */
  M.alongEdge = function (x0, y0, x1, y1, t) {  /* the point at t on an edge's curve (control points at mid-x) */
    var u = 1 - t, mx = (x0 + x1) / 2, a = u * u * u, b = 3 * u * u * t, c = 3 * u * t * t, d = t * t * t;
    return [a * x0 + (b + c) * mx + d * x1, (a + b) * y0 + (c + d) * y1];
  };
  M.el = function (tag, cls, parent, text) {
    var e = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    if (cls) e.setAttribute("class", cls);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  };
  M.put = function (data, q, v) {  /* -1 orange, 0 white, +1 blue (TensorFlow Playground's), into pixel q */
    v = v > 1 ? 1 : v < -1 ? -1 : v || 0;
    var t = v < 0 ? -v : v, r = v < 0 ? 245 : 8, g = v < 0 ? 147 : 119, b = v < 0 ? 34 : 189;
    data[4 * q] = 255 + (r - 255) * t; data[4 * q + 1] = 255 + (g - 255) * t; data[4 * q + 2] = 255 + (b - 255) * t; data[4 * q + 3] = 255;
  };
  M.colour = function (v) { var d = [0, 0, 0, 0]; M.put(d, 0, v); return d.slice(0, 3); };
  M.layoutNet = function (view, box) {
    var P = view.P, sizes = [P.inputs].concat(P.layers_neurons.map(function (n) { return n.length; }));
    var total = sizes.reduce(function (a, b) { return a + b; }, 0), RES = view.res = total > 24 ? 24 : 32;  /* big nets: fewer pixels, 30+ frames a second */
    var most = Math.max.apply(null, sizes), S = Math.max(22, Math.min(60, Math.floor(560 / most) - 6));
    var gap = 6, col = S < 40 ? 120 : 150, top = 46, units = [];  /* room for two lines above each layer */
    var W = 40 + (sizes.length - 1) * col + S + 60, H = top + most * (S + gap) + 10;
    box.style.width = W + "px"; box.style.height = H + "px";
    var svg = M.el("svg:svg", "", box); svg.setAttribute("width", W); svg.setAttribute("height", H);
    view.edgeLayer = M.el("svg:g", "", svg); view.gradLayer = M.el("svg:g", "", svg);
    sizes.forEach(function (n, c) {
      var x = 40 + c * col, y0 = top + (most - n) * (S + gap) / 2, column = [];
      var info = M.el("div", "mgx-layerinfo", box, c === 0 ? "inputs" : "L" + c + " (" + P.layers[c - 1] + ")");
      info.style.left = (x + S / 2 - (col - 10) / 2) + "px"; info.style.top = "2px"; info.style.width = (col - 10) + "px";
      if (c > 0) { column.info = M.el("div", "", info); }
      for (var j = 0; j < n; j++) {
        var u = M.el("div", "mgx-unit", box), name = c === 0 ? P.input_names[j] : P.layers_neurons[c - 1][j];
        u.style.left = x + "px"; u.style.top = (y0 + j * (S + gap)) + "px";
        u.style.width = S + "px"; u.style.height = S + "px"; u.title = name;
        u.dataset.layer = c - 1; u.dataset.neuron = j;
        var cv = M.el("canvas", "", u); cv.width = P.grid ? RES : 40; cv.height = P.grid ? RES : 20;
        var label = M.el("div", "mgx-name", box, S >= 40 || c === 0 ? name : name.split(".").pop());
        label.style.left = (x - 2) + "px"; label.style.top = (y0 + j * (S + gap) - 1) + "px";
        label.style.transform = "translate(-100%, 0)";
        var d = M.el("div", "mgx-delta", box); d.style.left = (x + S + 3) + "px";
        d.style.top = (y0 + j * (S + gap) + S / 2 - 6) + "px";
        column.push({ el: u, canvas: cv, delta: d, x: x, y: y0 + j * (S + gap), name: name });
      }
      units.push(column);
    });
    view.units = units; view.S = S; view.edges = [];
    for (var k = 1; k < units.length; k++) units[k].forEach(function (to, j) {
      units[k - 1].forEach(function (from, i) {
        var p = M.el("svg:path", "mgx-edge", view.edgeLayer), x0 = from.x + S, y0 = from.y + S / 2, x1 = to.x, y1 = to.y + S / 2;
        p.setAttribute("d", "M" + x0 + "," + y0 + " C" + (x0 + x1) / 2 + "," + y0 + " " + (x0 + x1) / 2 + "," + y1 + " " + x1 + "," + y1);
        view.edges.push({ el: p, k: k - 1, j: j, i: i, near: M.alongEdge(x0, y0, x1, y1, LABEL_AT) });
      });
    });
  };
  M.outputRes = function (P) {  /* the boundary's grid: as fine as OUTPUT_WORK allows, 48 to 120 points a side */
    var work = 0, nin = P.inputs;
    P.layers_neurons.forEach(function (n) { work += nin * n.length; nin = n.length; });
    return Math.max(48, Math.min(120, Math.floor(Math.sqrt(OUTPUT_WORK / Math.max(1, work)))));
  };
  M.planeText = function (P) {  /* where the heatmaps' plane runs, in the data's own numbers */
    var g = P.grid, f = function (v) { return M.fmt(v, 3); };
    return P.input_names[0] + " from " + f(g.x0) + " (left) to " + f(g.x1) + " (right), " + P.input_names[1] + " from " + f(g.y0) + " (bottom) to " + f(g.y1) + " (top)";
  };
  M.scaleBar = function (parent) {  /* the colour scale, orange through white to blue */
    var bar = M.el("span", "mgx-scale", parent);
    bar.style.background = "linear-gradient(to right, rgb(" + M.colour(-1).join(",") + "), #fff, rgb(" + M.colour(1).join(",") + "))";
    return bar;
  };
  M.netLegend = function (view, box) {  /* how to read the network: the squares' plane and colours, the edges, the ratio */
    var P = view.P, legend = M.el("div", "mgx-note mgx-netlegend", box), line = M.el("div", "", legend);
    M.el("span", "", line, P.grid ? "Each square: that neuron's activation over the input plane, " + M.planeText(P) + " (the output panel's plane). " :
      "Each box: that neuron's activation for each sample, one bar per sample (up positive, down negative). ");
    M.el("span", "", line, "Colour: negative "); M.scaleBar(line); M.el("span", "", line, " positive (white 0).");
    M.el("div", "", legend, "Edges: the weights (blue positive, orange negative; thicker is larger). A dark frame: a dead ReLU; a dashed red frame: a saturated tanh or sigmoid.");
    var help = M.el("div", "mgx-ratiohelp", legend);
    M.el("span", "", help, "update/data above each layer: how much the last update changed its weights relative to their size, std(ΔW) / std(W) between this snapshot and the one before " +
      "(the diagnostic Karpathy's lectures plot). Around "); M.pow10(help, "-3");
    M.el("span", "", help, " is healthy; below "); M.pow10(help, "-4"); M.el("span", "", help, " the layer barely learns; above "); M.pow10(help, "-2");
    M.el("span", "", help, " its updates are too big (then it is shown in red).");
  };
  M.pow10 = function (parent, exponent) {  /* 10 to a power, written as a power */
    M.el("span", "", parent, "10"); M.el("sup", "", parent, exponent.replace("-", "−"));
  };
  M.gridValues = function (view, si, res) {  /* every neuron over the input plane: the net run on a grid, layer by layer */
    var RES = res || view.res, caches = view.gridCache = view.gridCache || {}, kept = caches[RES];
    if (kept && kept.si === si) return kept.values;
    var P = view.P, g = P.grid, snap = P.snapshots[si], N = RES * RES, x1 = new Float64Array(N), x2 = new Float64Array(N);
    for (var r = 0; r < RES; r++) for (var c = 0; c < RES; c++) {
      x1[r * RES + c] = g.x0 + (c + 0.5) * (g.x1 - g.x0) / RES; x2[r * RES + c] = g.y1 - (r + 0.5) * (g.y1 - g.y0) / RES;
    }
    var prev = [x1, x2], layers = [];
    for (var k = 0; k < P.layers.length; k++) {
      var W = snap.W[k], b = snap.b[k], nin = prev.length, act = P.layers[k], cur = [];
      for (var j = 0; j < b.length; j++) {
        var out = new Float64Array(N).fill(b[j]), p;
        for (var i = 0; i < nin; i++) { var w = W[j * nin + i], src = prev[i]; for (p = 0; p < N; p++) out[p] += w * src[p]; }
        for (p = 0; p < N; p++) out[p] = M.act(act, out[p]);
        cur.push(out);
      }
      layers.push(cur); prev = cur;
    }
    caches[RES] = { si: si, values: { inputs: [x1, x2], layers: layers } };
    return caches[RES].values;
  };
  M.scaleOf = function (name, arr) {  /* activation to [-1, 1] for the colour scale */
    if (name === "tanh") return function (a) { return a; };
    if (name === "sigmoid" || name === "step") return function (a) { return 2 * a - 1; };
    var m = 1e-12; arr.forEach(function (a) { m = Math.max(m, Math.abs(a)); });
    return function (a) { return a / m; };
  };
  M.paint = function (canvas, values, scale) {  /* no allocation per pixel: scrubbing redraws every heatmap */
    var ctx = canvas.getContext("2d"), img = canvas.mgxImage || (canvas.mgxImage = ctx.createImageData(canvas.width, canvas.height));
    for (var p = 0; p < values.length; p++) M.put(img.data, p, scale(values[p]));
    ctx.putImageData(img, 0, 0);
  };
  M.bars = function (canvas, values, scale) {
    var ctx = canvas.getContext("2d"), n = Math.min(values.length, canvas.width), w = canvas.width / n, h = canvas.height;
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, h);
    for (var p = 0; p < n; p++) {
      var v = Math.max(-1, Math.min(1, scale(values[p]))), c = M.colour(v);
      ctx.fillStyle = "rgb(" + c.map(Math.round).join(",") + ")";
      ctx.fillRect(p * w, v >= 0 ? h / 2 - v * h / 2 : h / 2, Math.max(1, w - 0.3), Math.abs(v) * h / 2);
    }
  };
  M.drawUnits = function (view) {
    var P = view.P, si = view.si, K = P.layers.length, grid = P.grid ? M.gridValues(view, si) : null;
    var rows = grid ? null : P.X.map(function (_, n) { return M.pass(view, si, n).fw; });
    view.units.forEach(function (column, c) {
      column.forEach(function (u, j) {
        var vals = grid ? (c === 0 ? grid.inputs[j] : grid.layers[c - 1][j]) : rows.map(function (fw) { return c === 0 ? fw.x[j] : fw.a[c - 1][j]; });
        if (c === K && P.threshold !== null && column.length === 1) vals = vals.map(function (v) { return v - P.threshold; });
        var scale = c === 0 ? M.scaleOf("linear", vals) : M.scaleOf(c === K ? "linear" : P.layers[c - 1], vals);
        (grid ? M.paint : M.bars)(u.canvas, vals, scale);
      });
    });
  };
  M.drawEdges = function (view) {
    var snap = view.P.snapshots[view.si], most = snap.W.map(function (W) {
      var m = 1e-12; W.forEach(function (w) { m = Math.max(m, Math.abs(w)); }); return m;
    });
    view.edges.forEach(function (e) {
      var nin = snap.W[e.k].length / snap.b[e.k].length, w = snap.W[e.k][e.j * nin + e.i];
      e.el.setAttribute("stroke", w >= 0 ? "#0877bd" : "#f59322");
      e.el.setAttribute("stroke-width", (0.4 + 4.6 * Math.abs(w) / most[e.k]).toFixed(2));
      e.el.setAttribute("opacity", view.mode === "backprop" ? "0.35" : "0.8");
    });
  };
})(window.MGX = window.MGX || {});
