"""The explorer as a newcomer reads it: what each colour means, where the plane runs, what the
update-to-data ratio is, labels that stay apart when backprop is stepped, a smooth boundary.

Measured in headless Chromium through the tests' shared driver (`chromium`), on pages built
from histories recorded as `test_explore` records them; the browser tests skip without
Chromium.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from chromium import Browser, skip_without_chromium
from test_explore import open_page, record

from microgrant import viz
from microgrant.data import logic_gate, moons
from microgrant.losses import hinge_loss
from microgrant.nn import MLP
from microgrant.viz.explore import explore
from microgrant.viz.explore_data import forward, read_net, update_ratios, weights_of


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with Browser(skip_without_chromium(), tmp_path_factory.mktemp("profile")) as devtools:
        yield devtools


@pytest.fixture(scope="module")
def xor_331():
    """Note 001's XOR net (three tanh neurons), a snapshot every second epoch."""
    X, y = logic_gate("xor")
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    return model, X, y, record(model, X, y, epochs=30, every=2)


def test_the_fallback_names_the_classes_and_the_plane(xor_331):
    model, X, y, history = xor_331
    fragment = explore(model, X, y, history)._repr_html_()
    fallback = fragment.split('<div class="mgx-live"')[0]
    assert "Points: blue y = 1, orange y = 0" in fallback
    assert "x1 from -0.25 (left) to 1.25 (right), x2 from -0.25 (bottom) to 1.25 (top)" \
        in fallback  # XOR's corners with the page's margin of 0.25


def test_the_legend_names_each_class_by_the_colour_its_points_are_drawn(browser, tmp_path,
                                                                         xor_331):
    model, X, y, history = xor_331
    for labels, names in (("01", ["y = 1", "y = 0"]), ("pm1", ["y = 1", "y = -1"])):
        targets = y if labels == "01" else 2 * y - 1
        page = open_page(browser, tmp_path, explore(model, X, targets, history,
                                                    loss="hinge" if labels == "pm1" else None))
        shown = page.view("Array.from(document.querySelectorAll('.mgx-class')).map(function (c)"
                          " { return [c.textContent, getComputedStyle(c.firstChild)"
                          ".backgroundColor]; })")
        assert [name for name, _ in shown] == names
        # The colour of each class's dot is the colour its data points are painted in.
        for sample in (1, 0):  # XOR's sample 2 is y = 1, sample 1 is y = 0
            pixel = page.view(f"(function () {{ var p = M.toCanvas(view, view.P.X[{sample}], "
                              f"{sample}); return Array.from(view.outCanvas.getContext('2d')"
                              f".getImageData(Math.round(p[0]), Math.round(p[1]), 1, 1).data)"
                              f".slice(0, 3); }})()")
            colour = shown[0 if targets[sample] > 0 else 1][1]
            assert colour == "rgb({}, {}, {})".format(*pixel)


def test_the_plane_is_labelled_with_its_extent(browser, tmp_path, xor_331):
    model, X, y, history = xor_331
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    legend = page.text(".mgx-netlegend")
    assert "x1 from -0.25 (left) to 1.25 (right), x2 from -0.25 (bottom) to 1.25 (top)" in legend
    assert "negative" in legend and "positive" in legend
    ticks = page.view("Array.from(document.querySelectorAll('.mgx-xtick')).map(function (t) {"
                      " var r = t.getBoundingClientRect();"
                      " return [t.textContent, (r.left + r.right) / 2]; })")
    assert [text for text, _ in ticks] == ["0", "0.5", "1"]
    # Each tick stands where its value is on the canvas: under the XOR points at 0 and 1.
    for text, at in ticks:
        x = page.view(f"(function () {{ var c = view.outCanvas; return c.getBoundingClientRect()"
                      f".left + c.clientLeft + M.toCanvas(view, [{text}, 0], 0)[0] * c.clientWidth"
                      f" / c.width; }})()")
        assert at == pytest.approx(x, abs=1.0)
    yticks = page.view("Array.from(document.querySelectorAll('.mgx-ytick')).map(function (t) {"
                       " var r = t.getBoundingClientRect();"
                       " return [t.textContent, (r.top + r.bottom) / 2]; })")
    canvas_top, canvas_height = page.view("(function () { var c = view.outCanvas; return ["
                                          "c.getBoundingClientRect().top + c.clientTop,"
                                          " c.clientHeight]; })()")
    assert [text for text, _ in yticks] == ["0", "0.5", "1"]
    for text, at in yticks:  # up is x2 growing
        assert at == pytest.approx(canvas_top + (1.25 - float(text)) / 1.5 * canvas_height, abs=1.0)


def test_the_update_ratio_is_explained_and_flagged_where_it_is_shown(browser, tmp_path, xor_331):
    model, X, y, history = xor_331
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    help_text = page.text(".mgx-ratiohelp")
    assert "std(ΔW) / std(W)" in help_text and "healthy" in help_text
    assert "10−3 is healthy" in help_text  # 10 with the exponent -3 set as a power
    net = read_net(model)
    for si in (0, 1, 5, len(history.snapshots) - 1):
        page.view(f"view.show({si})")
        shown = page.view("Array.from(document.querySelectorAll('.mgx-layerinfo > div')).map("
                          "function (d) { return [d.textContent, d.title, d.classList.contains("
                          "'mgx-flag')]; })")
        assert len(shown) == 2
        if si == 0:
            assert all(text == "update/data: —" and "no previous" in title
                       for text, title, _ in shown)
            continue
        ratios = update_ratios(weights_of(net, history.snapshots[si - 1].state_dict),
                               weights_of(net, history.snapshots[si].state_dict))
        for (text, title, flagged), ratio in zip(shown, ratios):
            exponent = f"{math.log10(ratio):.1f}".replace("-", "−")
            assert text == f"update/data 10{exponent}(over 2 epochs)"
            assert "std(ΔW) / std(W)" in title and "Around 10^-3 is healthy" in title
            assert f"Here: {viz.format_number(ratio, 3)} " in title
            assert flagged == (not -4 <= math.log10(ratio) <= -2)
    assert any(f for si in range(1, 4) for f in page.view(
        f"(view.show({si}), Array.from(document.querySelectorAll('.mgx-layerinfo > div'))"
        f".map(function (d) {{ return d.classList.contains('mgx-flag'); }}))"))  # Adam's jumps


LABELS = """(function () {
  var boxes = function () {
    var list = [];
    document.querySelectorAll('.mgx-grad, .mgx-delta, .mgx-name, .mgx-unit').forEach(function (e) {
      if (e.classList.contains('mgx-unit') || e.textContent) {
        var r = e.getBoundingClientRect();
        list.push([e.getAttribute('class') + ' ' + e.textContent,
                   r.left, r.top, r.right, r.bottom]);
      }
    });
    return list;
  };
  var out = { overlaps: [], unboxed: [], labels: 0 };
  view.setMode('backprop');
  for (var s = 0; s < view.steps.length; s++, view.move(1)) {
    var b = boxes();
    for (var i = 0; i < b.length; i++) for (var j = i + 1; j < b.length; j++) {
      var p = b[i], q = b[j], units = /mgx-unit/.test(p[0]) + /mgx-unit/.test(q[0]);
      var meet = p[1] < q[3] && q[1] < p[3] && p[2] < q[4] && q[2] < p[4];
      if (units !== 2 && meet) out.overlaps.push([s, p[0], q[0]]);
    }
    var texts = document.querySelectorAll('text.mgx-grad');
    var rects = document.querySelectorAll('rect.mgx-gradbox');
    out.labels += texts.length;
    texts.forEach(function (t, n) {
      var a = t.getBoundingClientRect(), r = rects[n] && rects[n].getBoundingClientRect();
      var inside = r && r.left <= a.left && r.top <= a.top && r.right >= a.right
        && r.bottom >= a.bottom;
      if (!inside) out.unboxed.push([s, t.textContent]);
    });
  }
  return out;
})()"""


@pytest.mark.parametrize("hidden", [[3, 1], [4, 4, 1], [16, 16, 1]])
def test_stepped_labels_stay_apart_and_on_their_own_background(browser, tmp_path, hidden):
    if hidden[0] == 16:  # micrograd's moons net: dense edges, small neurons
        X, y = moons(40, noise=0.1, seed=0, labels="pm1")
        model = MLP(2, hidden, seed=1)
        history = record(model, X, y, epochs=2, loss=hinge_loss, name="hinge")
    else:
        X, y = logic_gate("xor")
        model = MLP(2, hidden, activation="tanh", seed=1)
        history = record(model, X, y, epochs=20, every=2)
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    for sample in ("null", "0"):  # the batch's mean gradients, then one sample's
        page.view(f"view.sample = {sample}")
        found = page.view(LABELS)
        assert found["labels"] > 0
        assert found["overlaps"] == [], found["overlaps"][:5]  # no label over another or a neuron
        assert found["unboxed"] == [], found["unboxed"][:5]  # edges never run through one
    assert not page.errors()


def test_the_boundary_is_drawn_where_the_net_puts_it(browser, tmp_path, xor_331):
    """Every pixel painted on the wrong side lies within 2 pixels of the net's own boundary."""
    model, X, y, history = xor_331
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    size, g = page.view("[view.outCanvas.width, view.P.grid]")
    rgba = np.array(page.view("Array.from(view.outCanvas.getContext('2d').getImageData(0, 0, "
                              "view.outCanvas.width, view.outCanvas.height).data)"), float)
    rgba = rgba.reshape(size, size, 4)
    painted = np.sign(rgba[:, :, 2] - rgba[:, :, 0])  # blue over red: the positive side
    net = read_net(model)
    centres = (np.arange(size) + 0.5) / size
    gx, gy = np.meshgrid(g["x0"] + centres * (g["x1"] - g["x0"]),
                         g["y1"] - centres * (g["y1"] - g["y0"]))
    score = forward(net, weights_of(net, history.snapshots[-1].state_dict),
                    np.column_stack([gx.ravel(), gy.ravel()]))[-1][1].reshape(size, size)
    truth = np.sign(score)
    near = np.zeros_like(truth, bool)  # within 2 pixels of a pixel on the other side
    padded = np.pad(truth, 2, mode="edge")
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            if dx * dx + dy * dy <= 4:
                near |= padded[2 + dy:2 + dy + size, 2 + dx:2 + dx + size] != truth
    rows, columns = np.mgrid[0:size, 0:size]
    dots = np.zeros_like(near)
    for x1, x2 in X:  # the data points are painted over the regions
        px = (x1 - g["x0"]) / (g["x1"] - g["x0"]) * size
        py = (g["y1"] - x2) / (g["y1"] - g["y0"]) * size
        dots |= (columns - px) ** 2 + (rows - py) ** 2 <= 10 ** 2
    wrong = (painted != 0) & (painted != truth) & ~dots
    assert np.any(truth > 0) and np.any(truth < 0)  # a boundary to draw
    assert not np.any(wrong & ~near), f"{int(np.sum(wrong & ~near))} pixels far off the boundary"
