"""The explorer: a recorded training scrubs, a neuron opens its steps, the page stands alone.

Histories are recorded by a small training loop here (`record`), in the shape ``fit(...,
record=k)`` gives: ``snapshots``, each with ``epoch``, ``state_dict`` (after that epoch),
``loss`` and ``accuracy``.  The page's own arithmetic (its forward and backward replay in
JavaScript) is held to the engine's gradients in headless Chromium, driven through the
DevTools protocol over a pipe by the tests' shared driver (`chromium`); those tests skip when
no Chromium is installed.
"""

from __future__ import annotations

import html
import importlib
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from chromium import Browser, Page, skip_without_chromium

from microgrant import Value, no_grad, viz
from microgrant.data import logic_gate
from microgrant.losses import binary_cross_entropy_with_logits, hinge_loss, mse_loss
from microgrant.nn import MLP, Layer
from microgrant.optim import Adam
from microgrant.viz.embed import MAKE_LIVE
from microgrant.viz.explore import LiveView, explore, live_view
from microgrant.viz.explore_data import forward, health, read_net, weights_of

# viz.explore is the function; the module behind it (whose IPython hooks the tests replace):
explore_module = importlib.import_module("microgrant.viz.explore")


# ---- a recorded history, as fit(..., record=k) keeps it ----------------------------------------

@dataclass
class Snapshot:
    epoch: int
    state_dict: dict
    loss: float
    accuracy: float


@dataclass
class History:
    snapshots: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    loss_name: str = "bce_logits"


def record(model, X, y, epochs=30, every=1, lr=0.1, loss=binary_cross_entropy_with_logits,
           name="bce_logits"):
    """Full-batch Adam, a snapshot every ``every`` epochs, with the loss of those weights."""
    opt = Adam(model.parameters(), lr=lr)
    history = History(loss_name=name)
    rows, targets = [list(map(float, x)) for x in X], [float(t) for t in y]
    for epoch in range(1, epochs + 1):
        value = loss([model(x) for x in rows], targets)
        opt.zero_grad()
        value.backward()
        opt.step()
        history.loss.append(value.data)
        if epoch % every == 0:
            with no_grad():
                outs = [model(x).data for x in rows]
                after = loss([Value(o) for o in outs], targets).data
            right = sum((o > 0) == (t > 0.5) for o, t in zip(outs, targets)) / len(rows)
            history.snapshots.append(Snapshot(epoch, model.state_dict(), after, right))
    return history


@pytest.fixture(scope="module")
def xor_run():
    X, y = logic_gate("xor")
    model = MLP(2, [4, 4, 1], activation="tanh", seed=1)
    history = record(model, X, y, epochs=40, every=2)
    return model, X, y, history


# ---- the page's data, in Python -----------------------------------------------------------------

def test_every_recorded_snapshot_is_on_the_page_with_its_weights(xor_run):
    model, X, y, history = xor_run
    page = explore(model, X, y, history)
    assert page.snapshots == len(history.snapshots) == 20
    net = read_net(model)
    for snap, shown in zip(history.snapshots, page.payload["snapshots"]):
        assert shown["epoch"] == snap.epoch and shown["loss"] == snap.loss
        (W1, b1), *_ = weights_of(net, snap.state_dict)
        assert shown["W"][0] == W1.reshape(-1).tolist() and shown["b"][0] == b1.tolist()
    assert page.payload["snapshots"][0]["W"] != page.payload["snapshots"][-1]["W"]
    assert page.payload["layers_neurons"][1] == ["L2.n1", "L2.n2", "L2.n3", "L2.n4"]
    assert page.payload["labels"][0][1] == ["L1.n2.w1", "L1.n2.w2", "L1.n2.b"]


def engine_grads(model, state, x, t, loss=binary_cross_entropy_with_logits):
    """The engine's d(loss)/d(parameter) by label, for one sample, at ``state``."""
    kept = model.state_dict()
    model.load_state_dict(state)
    try:
        model.zero_grad()
        loss([model(list(map(float, x)))], [float(t)]).backward()
        return {p.label: p.grad for p in model.parameters()}
    finally:
        model.load_state_dict(kept)
        model.zero_grad()


def test_a_neuron_opens_the_engines_own_chain_rule_steps(xor_run):
    model, X, y, history = xor_run
    page = explore(model, X, y, history)
    kept = sorted(map(int, page.payload["steps"]))
    assert kept[-1] == 19 and len(kept) == 6 and kept[0] == 0  # spread over the training
    early = engine_grads(model, history.snapshots[kept[1]].state_dict, X[3], y[3])
    want = viz.format_number(early["L2.n4.b"])
    assert page.steps(3, "L2.n4", kept[1])[-1].endswith(f"* 1 = {want}   [d(w·x + b)/db = 1]")
    grads = engine_grads(model, history.snapshots[-1].state_dict, X[1], y[1])
    lines = page.steps(1, "L1.n2")
    text = "\n".join(lines)
    assert lines[0].startswith("dbce_logits/dL1.n2.a +=")  # where its gradient comes from
    assert "L1.n2.a = tanh(L1.n2.z)" in text and "L1.n2.z = L1.n2.w1·" in text
    want = viz.format_number(grads["L1.n2.w1"])
    assert re.search(rf"dbce_logits/dL1\.n2\.w1 \+= .* = {re.escape(want)}\b", text), text
    with pytest.raises(KeyError):
        page.steps(1, "L9.n9")
    with pytest.raises(KeyError):
        page.steps(1, "L1.n1", kept[1] + 1)  # not a snapshot whose steps were kept


def test_the_numpy_forward_pass_is_the_engines(xor_run):
    for activation in ("relu", "tanh", "sigmoid", "leaky_relu"):
        model = MLP(3, [5, 2], activation=activation, seed=3)
        net = read_net(model)
        X = np.random.default_rng(0).normal(size=(6, 3))
        (_, _), (_, out) = forward(net, weights_of(net, model.state_dict()), X)
        for x, row in zip(X, out):
            assert [v.data for v in model(list(x))] == pytest.approx(row.tolist(), abs=1e-12)


def test_health_names_a_dead_relu_and_a_saturated_tanh():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    relu = MLP(2, [2, 1], seed=0)
    relu.layers[0].neurons[0].b.data = -10.0  # z < 0 on every sample: no gradient ever
    relu.layers[0].neurons[1].b.data = 3.0
    tanh = MLP(2, [2, 1], activation="tanh", seed=0)
    tanh.layers[0].neurons[1].b.data = 10.0
    for model, want in ((relu, ["dead", ""]), (tanh, ["", "saturated"])):
        net = read_net(model)
        assert health(net, forward(net, weights_of(net, model.state_dict()), X))[0] == want


def test_the_saved_page_is_self_contained_deterministic_and_atomic(xor_run, tmp_path):
    model, X, y, history = xor_run
    first, second = explore(model, X, y, history), explore(model, X, y, history)
    a, b = first.save(tmp_path / "a.html"), second.save(tmp_path / "b.html")
    data = a.read_bytes()
    assert data == b.read_bytes()
    text = data.decode()
    assert not re.search(r"https?://", text.replace("http://www.w3.org/2000/svg", ""))
    assert not re.search(r"""\b(src|href)=["'](?!data:)""", text)
    with pytest.raises(OSError):
        first.save(tmp_path / "missing" / "c.html")
    assert list(tmp_path.iterdir()) == [a, b] or sorted(tmp_path.iterdir()) == sorted([a, b])


def test_the_fallback_survives_a_sanitizer(xor_run):
    model, X, y, history = xor_run
    fragment = explore(model, X, y, history)._repr_html_()
    # What untrusted JupyterLab does: scripts, styles and SVG tags go; inline styles stay.
    stripped = re.sub(r"<(script|style)\b.*?</\1>", "", fragment, flags=re.S)
    stripped = re.sub(r"</?svg\b[^>]*>", "", stripped)
    assert re.search(r'<img alt="[^"]+" style="[^"]*" src="data:image/png;base64,', stripped)
    assert html.escape(MAKE_LIVE) in stripped and "<details>" in stripped  # how to make it live
    assert "L2.n3: w1=" in stripped  # the weights as text
    live = re.search(r'<div class="mgx-live" style="display:none"></div>', stripped)
    assert live, "the interactive part must be hidden (and empty) until its script runs"


@pytest.mark.parametrize("change, message, epoch", [
    (lambda s: s.update({"layers.0.neurons.0.w.0": float("nan")}), "finite", 7),
    (lambda s: s.pop("layers.1.neurons.0.b"), "no parameter", 7),
    (lambda s: s.update({"layers.1.neurons.0.b": "0.5"}), "not a number", 7),
    (lambda s: None, "whole number", "<b>7</b>"),
])
def test_a_bad_snapshot_is_refused_with_what_to_do(xor_run, change, message, epoch):
    model, X, y, history = xor_run
    state = dict(history.snapshots[3].state_dict)
    change(state)
    bad = History([Snapshot(epoch, state, 0.1, 1.0)])
    with pytest.raises(ValueError, match=message):
        explore(model, X, y, bad)


def test_bad_models_and_data_get_clear_errors(xor_run):
    model, X, y, _ = xor_run
    with pytest.raises(ValueError, match="record="):
        explore(model, X, y, History())
    with pytest.raises(ValueError, match="samples x 2"):
        explore(model, np.ones((4, 3)), y)
    with pytest.raises(ValueError, match="one target per sample"):
        explore(model, X, y[:3])
    with pytest.raises(ValueError, match="softmax"):
        explore(MLP(2, [3, 2], output="softmax", seed=0), X, y)
    with pytest.raises(TypeError, match="Neuron, Layer or MLP"):
        explore(object(), X, y)
    with pytest.raises(ValueError, match="steps_for"):
        explore(model, X, y, steps_for=-1)


def test_live_view_does_nothing_outside_a_notebook(xor_run):
    model, X, y, history = xor_run
    view = live_view(model, X, y)
    assert isinstance(view, LiveView) and not view.active
    view.update(history)
    view.finish(history)
    assert view.sent == 0


class FakeHTML:
    def __init__(self, data):
        self.data = data


class FakeHandle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, obj):
        self.shown.append(("update", obj.data))


def test_live_view_in_a_notebook_shows_once_then_sends_snapshots(xor_run, monkeypatch):
    model, X, y, history = xor_run
    shown = []

    def fake_display(obj, display_id=None):
        shown.append(("display", obj.data))
        return FakeHandle(shown) if display_id else None

    monkeypatch.setattr(explore_module, "notebook_display", lambda: (fake_display, FakeHTML))
    view = live_view(model, X, y)
    assert view.active and [k for k, _ in shown] == ["display", "display"]
    assert '"live":true' in shown[0][1] and 'class="mgx-root"' in shown[0][1]
    partial = History(history.snapshots[:3], history.loss[:6])
    view.update(partial)
    view.finish(history)
    decoder = json.JSONDecoder()
    sent = [decoder.raw_decode(text, text.index(".push(") + 6)[0]
            for kind, text in shown if kind == "update"]
    assert [s["epoch"] for batch in sent for s in batch] == [s.epoch for s in history.snapshots]
    assert sent[-1][-1]["W"][2] == weights_of(read_net(model), history.snapshots[-1].state_dict
                                             )[2][0].reshape(-1).tolist()
    assert all(kind == "update" for kind, _ in shown[2:])  # the page itself is never redrawn


# ---- the page in a browser ----------------------------------------------------------------------

class ExplorerPage(Page):
    """A tab showing an explorer."""

    def view(self, expression: str):
        """``expression`` with ``view`` (the first explorer's state) and ``M`` bound."""
        return self.eval(f"(function () {{ var view = Object.values(window.micrograntExplore)[0],"
                         f" M = window.MGX; return ({expression}); }})()")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with Browser(skip_without_chromium(), tmp_path_factory.mktemp("profile")) as devtools:
        yield devtools


def open_page(browser, tmp_path: Path, page_obj, name="explore.html") -> ExplorerPage:
    path = page_obj.save(tmp_path / name)
    page = ExplorerPage(browser, path.as_uri())
    page.send("Runtime.enable")
    assert page.eval("document.querySelector('.mgx-root').dataset.state") == "ready"
    return page


def test_the_page_formats_numbers_as_microgrant_does(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    numbers = [-1.4999999999999993, 3.14159e-11, 2.0, -0.0, 123456.7, 2 / 3, 0.0001234,
               99999.5, 1e-5, -0.00012345, 1234.5, 0.5]
    for digits in (4, 2):
        shown = page.view(f"{json.dumps(numbers)}.map(function (x) {{ return M.fmt(x, "
                          f"{digits}); }})")
        assert shown == [viz.format_number(x, digits) for x in numbers]


def test_the_pages_backprop_is_the_engines(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    last = len(history.snapshots) - 1
    labels = [p.label for p in model.parameters()]
    for sample in range(4):
        want = engine_grads(model, history.snapshots[-1].state_dict, X[sample], y[sample])
        got = page.view(f"""(function () {{ var out = {{}};
            view.P.labels.forEach(function (layer, k) {{ layer.forEach(function (ps, j) {{
              ps.forEach(function (label, i) {{ out[label] = M.weightGrad(view, {last}, k, j,
                i === ps.length - 1 ? null : i, {sample}); }}); }}); }}); return out; }})()""")
        assert [got[name] for name in labels] == pytest.approx([want[n] for n in labels],
                                                               rel=1e-9, abs=1e-12)
    # The batch: the loss is the mean, so its gradients are the samples' mean.
    kept = model.state_dict()
    model.load_state_dict(history.snapshots[-1].state_dict)
    model.zero_grad()
    binary_cross_entropy_with_logits([model(list(map(float, x))) for x in X],
                                     [float(t) for t in y]).backward()
    want = {p.label: p.grad for p in model.parameters()}
    model.load_state_dict(kept)
    got = page.view(f"M.weightGrad(view, {last}, 0, 1, 0, null)")
    assert got == pytest.approx(want["L1.n2.w1"], rel=1e-9, abs=1e-12)


def test_a_recorded_history_scrubs(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    assert page.eval("document.querySelector('.mgx-fallback').style.display") == "none"
    assert page.view("view.si") == len(history.snapshots) - 1  # opens at the last snapshot
    pixels = ("Array.from(view.units[1][0].canvas.getContext('2d')"
              ".getImageData(0, 0, view.res, view.res).data.slice(0, 400))")
    end = page.view(pixels)
    page.eval("(function () { var s = document.querySelector('.mgx-slider'); s.value = '0';"
              " s.dispatchEvent(new Event('input')); })()")
    page.eval("new Promise(function (r) { requestAnimationFrame(function () { r(1); }); })")
    assert page.view("view.si") == 0
    assert page.eval("document.querySelector('.mgx-epoch').textContent").startswith("epoch 2 ")
    assert page.view(pixels) != end  # the heatmap is that snapshot's
    page.eval("document.querySelector('.mgx-root').focus()")
    page.key("ArrowRight", 39)
    page.key("ArrowRight", 39)
    assert page.view("view.si") == 2
    assert page.eval("document.querySelector('.mgx-epoch').textContent").startswith("epoch 6 ")
    assert not page.errors()


def test_a_neuron_click_opens_its_steps_and_back_keeps_the_state(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    explorer = explore(model, X, y, history)
    page = open_page(browser, tmp_path, explorer)
    page.eval("(function () { var s = document.querySelector('.mgx-sample'); s.value = '2';"
              " s.dispatchEvent(new Event('change')); })()")
    page.click(".mgx-unit", 2 + 1)  # inputs x1, x2 first: the fourth unit is L1.n2
    assert "mgx-drilled" in page.eval("document.querySelector('.mgx-root').className")
    title = page.eval("document.querySelector('.mgx-detail .mgx-title').textContent")
    assert title.startswith("L1.n2 (tanh), sample 3")
    engine = page.eval("document.querySelector('.mgx-engine-steps').textContent")
    assert engine.splitlines() == "\n".join(explorer.steps(2, "L1.n2")).splitlines()
    mine = page.eval("document.querySelector('.mgx-page-steps').textContent")
    grads = engine_grads(model, history.snapshots[-1].state_dict, X[2], y[2])
    assert f"= {viz.format_number(grads['L1.n2.w1'])};" in mine
    page.key("Escape", 27)
    assert "mgx-drilled" not in page.eval("document.querySelector('.mgx-root').className")
    assert page.view("view.sample") == 2 and page.view("view.si") == len(history.snapshots) - 1
    assert not page.errors()


def test_a_data_point_opens_its_forward_and_backward(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    x, y0 = page.view("(function () { var r = view.outCanvas.getBoundingClientRect(),"
                      " p = M.toCanvas(view, view.P.X[3], 3); return [r.x + p[0] * r.width /"
                      " view.outCanvas.width, r.y + p[1] * r.height / view.outCanvas.height]; })()")
    page.click_at(x, y0)
    assert page.eval("document.querySelector('.mgx-detail .mgx-title').textContent"
                     ).startswith("Sample 4: x = (1, 1), y = 0")
    rows = page.eval("document.querySelectorAll('.mgx-detail tr').length")
    assert rows == 1 + 4 + 4 + 1
    page.click(".mgx-detail tr", 2)  # the row of L1.n2 opens its chain rule
    assert page.eval("document.querySelector('.mgx-detail .mgx-title').textContent"
                     ).startswith("L1.n2 (tanh), sample 4")
    page.click(".mgx-back")
    assert "mgx-drilled" not in page.eval("document.querySelector('.mgx-root').className")


def test_backprop_steps_through_the_network_neuron_by_neuron(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    page.eval("(function () { var s = document.querySelector('.mgx-sample'); s.value = '0';"
              " s.dispatchEvent(new Event('change')); })()")
    page.eval("document.querySelector('.mgx-root').focus()")
    page.key("b", 66, typed=True)
    active = "document.querySelector('.mgx-unit.mgx-active').title"
    assert page.eval(active).startswith("L3.n1")
    page.key("n", 78, typed=True)
    assert page.eval(active).startswith("L2.n1")
    text = page.eval("document.querySelector('.mgx-steptext').textContent")
    assert "δ(L2.n1) = dL/dz = dL/da × tanh'(z)" in text
    assert page.eval("document.querySelectorAll('text.mgx-grad').length") == 4  # its inputs
    assert page.eval("document.querySelectorAll('path.mgx-from').length") == 1  # from L3.n1
    page.key("p", 80, typed=True)
    assert page.eval(active).startswith("L3.n1")


def test_two_snapshots_compare(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    page.eval("view = Object.values(window.micrograntExplore)[0]; view.show(0); view.pin = 0;"
              " view.show(19)")
    text = page.eval("document.querySelector('.mgx-compare').textContent")
    first, last = history.snapshots[0].state_dict, history.snapshots[-1].state_dict
    net = read_net(model)
    moved = max(((abs(last[k] - first[k]), lab) for keys, labs in zip(net.keys, net.labels)
                 for ks, ls in zip(keys, labs) for k, lab in zip(ks, ls)))
    assert text.startswith("epoch 2 → 40: the weights that moved most")
    assert text.splitlines()[1].strip().startswith(moved[1] + ":")
    assert page.eval("document.querySelectorAll('path.mgx-moved').length") >= 1


def test_other_input_sizes_get_bars_and_the_model_alone_works(browser, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    model = MLP(3, [4, 1], seed=2)
    page = open_page(browser, tmp_path, explore(model, X, y))
    assert page.view("view.P.loss") == "hinge" and page.view("view.P.grid") is None
    assert page.eval("document.querySelector('.mgx-epoch').textContent").startswith("the model now")
    got = page.view("M.weightGrad(view, 0, 0, 0, 0, 5)")
    model.zero_grad()
    hinge_loss([model(list(X[5]))], [y[5]]).backward()
    assert got == pytest.approx(model.layers[0].neurons[0].w[0].grad, abs=1e-12)
    assert not page.errors()


def test_a_layer_with_mse_explores(browser, tmp_path):
    X = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 0.5]])
    y = np.array([0.3, 1.5, -0.2])
    layer = Layer(2, 1, activation="linear", seed=0)
    page = open_page(browser, tmp_path, explore(layer, X, y))
    assert page.view("view.P.loss") == "mse"
    got = page.view("M.weightGrad(view, 0, 0, 0, 1, null)")
    layer.zero_grad()
    mse_loss([layer(list(x))[0] for x in X], list(y)).backward()
    assert got == pytest.approx(layer.neurons[0].w[1].grad, rel=1e-12)
    assert math.isfinite(got)


def test_a_neuron_away_from_the_kept_steps_offers_to_go_there(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    explorer = explore(model, X, y, history)
    page = open_page(browser, tmp_path, explorer)
    page.view("view.show(2)")  # epoch 6: the engine's steps are kept at snapshots 0 and 4
    page.click(".mgx-unit", 2)  # L1.n1
    assert page.eval("document.querySelector('.mgx-engine-steps')") is None
    page.click(".mgx-goto")
    assert page.view("view.si") in (0, 4)
    shown = page.eval("document.querySelector('.mgx-engine-steps').textContent")
    assert shown.splitlines() == "\n".join(explorer.steps(0, "L1.n1", page.view("view.si"))
                                           ).splitlines()


def test_the_live_page_follows_training_and_pauses(browser, tmp_path, xor_run, monkeypatch):
    model, X, y, history = xor_run
    shown = []

    def fake_display(obj, display_id=None):
        shown.append(obj.data)
        return FakeHandle([]) if display_id is None else type(
            "Handle", (), {"update": lambda self, o: shown.append(o.data)})()

    monkeypatch.setattr(explore_module, "notebook_display", lambda: (fake_display, FakeHTML))
    view = live_view(model, X, y)
    view.update(History(history.snapshots[:5], history.loss[:10]))
    view.finish(History(history.snapshots[:8], history.loss[:16]))
    path = tmp_path / "live.html"
    # The notebook runs each update's script after the page: here, one after another.
    path.write_text("<!DOCTYPE html><meta charset='utf-8'><body>" + shown[0] + shown[2] +
                    "<script>document.querySelector('.mgx-root').dataset.step = '1'</script>"
                    + shown[3] + "</body>", encoding="utf-8")
    page = ExplorerPage(browser, path.as_uri())
    assert page.view("view.P.snapshots.length") == 8 and page.view("view.si") == 7
    assert page.eval("document.querySelector('.mgx-epoch').textContent").startswith("epoch 16 ")
    page.click(".mgx-pause")  # the view stays while snapshots arrive
    assert page.eval("document.querySelector('.mgx-pause').textContent") == "Follow training"
    page.view("view.show(3), view.push([view.P.snapshots[7]], view.P.curve)")
    assert page.view("view.si") == 3 and page.view("view.P.snapshots.length") == 9
    page.click(".mgx-single")  # one snapshot on
    assert page.view("view.si") == 4
    page.click(".mgx-pause")
    page.view("view.push([view.P.snapshots[2]], view.P.curve)")
    assert page.view("view.si") == 9  # following again: the newest
    assert not page.errors()


def test_keys_act_only_while_focused_and_host_shortcuts_pass(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    page.eval("window.reached = []; document.addEventListener('keydown', function (e) {"
              " window.reached.push((e.shiftKey ? 'Shift+' : '') + e.key); })")
    page.eval("document.body.focus()")
    page.key("ArrowLeft", 37)  # not focused: the explorer does not move
    assert page.view("view.si") == len(history.snapshots) - 1
    page.eval("document.querySelector('.mgx-root').focus()")
    page.key("ArrowLeft", 37)
    page.key("b", 66, typed=True)
    assert page.view("view.si") == len(history.snapshots) - 2
    assert page.view("view.mode") == "backprop"
    page.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Enter", "code": "Enter",
                                         "windowsVirtualKeyCode": 13, "modifiers": 8})
    page.key("Escape", 27)  # leaves the explorer: focus goes back to the page
    assert page.eval("window.reached") == ["ArrowLeft", "Shift+Enter"]
    assert not page.eval("document.querySelector('.mgx-root').contains(document.activeElement)")


# ---- in a real kernel -------------------------------------------------------------------------

NOTEBOOK_CELLS = [
    "import numpy as np\n"
    "from microgrant import viz\n"
    "from microgrant.data import logic_gate\n"
    "from microgrant.nn import MLP\n"
    "from microgrant.viz.explore import live_view\n"
    "from test_explore import record\n"
    "X, y = logic_gate('xor')\n"
    "model = MLP(2, [3, 1], activation='tanh', seed=1)",
    "viz.explore(model, X, y)",
    "view = live_view(model, X, y)\n"
    "history = record(model, X, y, epochs=12, every=3)\n"
    "for k in range(1, 5):\n"
    "    view.update(type('H', (), {'snapshots': history.snapshots[:k], 'loss': []})())\n"
    "view.finish(history)\n"
    "print(view.active, view.sent)",
]


def test_in_a_real_kernel_the_page_shows_and_the_live_view_updates_in_place(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    root = Path(__file__).resolve().parents[1]  # this checkout's microgrant, with `record`

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                    "{connection_file}"], display_name="tests", language="python",
                              resource_dir=str(tmp_path),
                              env={"PYTHONPATH": f"{root}{os.pathsep}{root / 'tests'}"})

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())
    nbclient.NotebookClient(nb, km=km, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = nb.cells[1].outputs[0]
    assert 'class="mgx-root"' in shown.data["text/html"]
    assert "data:image/png;base64," in shown.data["text/html"]  # the static fallback
    page, channel, printed = nb.cells[2].outputs
    assert '"live":true' in page.data["text/html"]
    # One output, updated in place: it holds the last send, with every snapshot not sent before.
    assert ".push(" in channel.data["text/html"] and '"epoch":12,' in channel.data["text/html"]
    assert printed.text.strip() == "True 4"


def test_practice_hides_each_number_until_it_is_predicted(browser, tmp_path, xor_run):
    model, X, y, history = xor_run
    page = open_page(browser, tmp_path, explore(model, X, y, history))
    page.eval("(function () { var s = document.querySelector('.mgx-sample'); s.value = '1';"
              " s.dispatchEvent(new Event('change')); })()")
    page.click(".mgx-unit", 3)  # L1.n2, sample 2
    page.click(".mgx-practise")
    grads = engine_grads(model, history.snapshots[-1].state_dict, X[1], y[1])
    answers = page.view("M.questions(view, 0, 1, 1).map(function (q) { return q.value; })")
    kinds = page.view("M.questions(view, 0, 1, 1).map(function (q) { return q.kind; })")
    assert kinds == ["z", "a", "dL/da", "δ", "dL/dw", "dL/dw", "dL/db"]
    assert answers[-1] == pytest.approx(grads["L1.n2.b"], rel=1e-9, abs=1e-15)
    visible = "document.querySelector('.mgx-root').innerText"
    # (z = a weight times 1 plus a bias is new too, but 0, a gradient times x = 0, is on the page)
    hidden = [viz.format_number(v) for v in answers if viz.format_number(v) != "0"]
    text = page.eval(visible)
    assert not [h for h in hidden if re.search(rf"(?<![\d.]){re.escape(h)}(?![\d.])", text)], text
    assert page.eval("document.querySelectorAll('.mgx-answer').length") == 1

    def answer(value: str) -> None:
        page.eval(f"(function () {{ var i = document.querySelector('.mgx-answer');"
                  f" i.value = {value!r}; i.dispatchEvent(new KeyboardEvent('keydown',"
                  f" {{key: 'Enter', bubbles: true}})); }})()")

    answer("12345")  # a miss: the formula comes, the same question stays
    assert "Not quite" in page.eval("document.querySelector('.mgx-hint').textContent")
    answer(viz.format_number(answers[0]))
    assert page.eval("document.querySelectorAll('.mgx-practice b').length") == 1
    assert viz.format_number(answers[1]) not in page.eval(visible).split("= ")[-1]
    for value in answers[1:]:
        answer(viz.format_number(value))
    assert page.eval("document.querySelectorAll('.mgx-answer').length") == 0
    assert "z: 0 of 1 first try" in page.eval("document.querySelector('.mgx-score').textContent")
    assert "δ: 1 of 1 first try" in page.eval("document.querySelector('.mgx-score').textContent")
    assert page.eval("document.querySelector('.mgx-engine-steps')") is not None  # now shown
    assert not page.errors()


def test_hostile_labels_and_titles_stay_text(browser, tmp_path):
    X, y = logic_gate("xor")
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    model.layers[0].neurons[0].w[0].label = "<img src=x onerror=alert(1)>"
    explorer = explore(model, X, y, title="</script><b>title</b>")
    assert "</script><b>" not in explorer.html()
    page = open_page(browser, tmp_path, explorer)
    page.view("view.setMode('backprop'), view.move(1)")  # L1.n1's step names its weights
    assert "<img src=x" in page.eval("document.querySelector('.mgx-steptext').textContent")
    assert page.eval("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert not page.errors()
