"""The stepper page, tried in a real browser: stepping, zoom, search, several on one page.

Headless Chromium is driven through the Chrome DevTools Protocol over a pipe by the tests'
shared driver (`chromium`), so no browser-automation package is needed.  The tests skip when
no Chromium is installed; every wait is bounded and the browser is always closed.

Pages come from `microgrant.viz.stepper`.  One test makes a `Stepper` from a payload of its
own, to show the page what a correct graph would not give: a gradient check that disagrees.
Pages are also opened with scripts off, as GitHub, nbviewer and an untrusted notebook show
them, and in practice mode, where the numbers must not be in the page before they are typed.
"""

from __future__ import annotations

import html
import importlib
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from chromium import Browser, Page, skip_without_chromium

from microgrant import Value, viz
from microgrant.losses import mse_loss
from microgrant.nn import MLP, Neuron
from microgrant.viz import steps as steps_module
from microgrant.viz import trace as trace_module
from microgrant.viz.steps import picture_img

# A laptop's window: the stepper's side panel sits beside the graph.
WIDTH, HEIGHT = 1280, 860

stepper_module = importlib.import_module("microgrant.viz.stepper")


class Stepper:
    """One stepper on a page, reached by its uid: its elements are ``uid + "-" + name``."""

    def __init__(self, page: Page, uid: str):
        self.page, self.uid = page, uid

    def id(self, name: str) -> str:
        return f"{self.uid}-{name}"

    def js(self, expression: str):
        """Evaluate ``expression`` with ``root`` (this stepper's element) and ``api`` bound."""
        return self.page.eval(f"(function () {{ var root = document.getElementById("
                              f"{self.uid!r}); var api = root.mgStepper; return ({expression});"
                              f" }})()")

    def equation(self) -> str:
        return self.page.eval(f"document.getElementById({self.id('equation')!r}).textContent")

    def counter(self) -> str:
        return self.page.eval(f"document.getElementById({self.id('counter')!r}).textContent")

    def position(self) -> int:
        return self.js("api.position()")

    def click(self, name: str) -> None:
        self.page.click_id(self.id(name))

    def go_to(self, position: int) -> None:
        self.page.eval(f"(function () {{ var s = document.getElementById({self.id('slider')!r});"
                       f" s.value = '{position}'; s.dispatchEvent(new Event('input')); }})()")

    def current_ids(self) -> list[str]:
        """The ids (without the uid) of the elements the current step highlights."""
        return self.js("Array.from(root.querySelectorAll('.mg-current')).map(function (e) {"
                       " return e.id.slice(root.id.length + 1); })")

    def transform(self) -> str:
        return self.js("root.querySelector('.mg-canvas svg').style.transform")

    def view_box(self) -> list[float]:
        """The part of the picture in the window, ``[x, y, width, height]`` in SVG units,
        from the SVG's transform and the window's size."""
        return self.js(
            "(function () { var svg = root.querySelector('.mg-canvas svg'),"
            " g = root.querySelector('.mg-graph'), box = svg.viewBox.baseVal,"
            " m = new DOMMatrix(getComputedStyle(svg).transform);"
            " return [box.x - m.e / m.a, box.y - m.f / m.d, g.clientWidth / m.a,"
            " g.clientHeight / m.d]; })()")

    def texts_of(self, element_id: str) -> list[dict]:
        """Each <text> of an element (a grad cell is found as Graphviz writes it, a_ + id)."""
        return self.js(
            f"(function () {{ var e = document.getElementById(root.id + '-' + {element_id!r})"
            f" || document.getElementById(root.id + '-a_' + {element_id!r});"
            " return Array.from(e.querySelectorAll('text')).map(function (t) {"
            " var r = t.getBoundingClientRect();"
            " return {text: t.textContent, visibility: getComputedStyle(t).visibility,"
            " width: r.width}; }); })()")

    def shown(self, element_id: str) -> bool | None:
        """True when all of the element's text is visible, False when all hidden, else None."""
        states = {t["visibility"] for t in self.texts_of(element_id)}
        assert states, f"{element_id} has no text"
        return True if states == {"visible"} else False if states == {"hidden"} else None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with Browser(skip_without_chromium(), tmp_path_factory.mktemp("profile")) as devtools:
        yield devtools


# ---- pages ------------------------------------------------------------------------------------

def uid_of(fragment: str) -> str:
    found = re.search(r'<div class="mg-stepper" id="([^"]+)"', fragment)
    assert found, "not a stepper fragment"
    return found.group(1)


def document(*fragments: str, between: str = "") -> str:
    """A page holding the fragments, and some text of the page's own around them."""
    body = f"\n<p id='outside'>{between}</p>\n".join(fragments)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>page</title>'
            f"</head><body><p id='before'>text of the page itself</p>\n{body}\n"
            f"<button id='outside-button' type='button'>the page's own button</button>"
            f"</body></html>\n")


def open_page(browser, tmp_path: Path, text: str, name: str = "page.html",
              hash: str = "", scripts: bool = True) -> Page:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Page(browser, path.resolve().as_uri() + hash, WIDTH, HEIGHT, scripts=scripts)


def fill(uid: str, svg: str, data: dict, title: str = "a stepper") -> str:
    """A stepper page of a payload of our own: ids in the SVG scoped, the picture as the
    fallback's <img>, as `stepper` makes them."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\bid="([^"]*)"', lambda m: f'id="{uid}-{m.group(1)}"', svg)
    texts = "\n\n".join(step["text"] for step in data["steps"])
    fallback = picture_img(svg, title) + (f'<pre class="mg-steps-text">{html.escape(texts)}'
                                          '</pre>')
    return viz.Stepper(uid, title, dict(data, uid=uid), svg, fallback).fragment()


def named(value: Value, label: str) -> Value:
    value.label = label
    return value


def two_neuron_chain():
    """Note 004's chain: z1 = w1*x1, a1 = sigmoid(z1), z2 = w2*a1, yhat = sigmoid(z2), BCE."""
    x1, y = Value(1.5, label="x1"), 1.0
    w1, w2 = Value(0.8, label="w1"), Value(-0.4, label="w2")
    z1 = named(w1 * x1, "z1")
    a1 = named(z1.sigmoid(), "a1")
    z2 = named(w2 * a1, "z2")
    yhat = named(z2.sigmoid(), "yhat")
    J = named(-(y * yhat.log() + (1 - y) * (1 - yhat).log()), "J")
    return J, {"w1": w1, "w2": w2, "z2": z2, "yhat": yhat}


def xor_mlp_loss(widths=(4, 4, 1)):
    model = MLP(2, list(widths), seed=0)
    X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0]
    return mse_loss([model(x) for x in X], y)


def stepper_page(browser, tmp_path, root, name="stepper.html", hash="", **options):
    """A saved stepper page of ``root`` opened in the browser, and its stepper."""
    path = viz.save_stepper(root, tmp_path / name, **options)
    page = Page(browser, path.resolve().as_uri() + hash, WIDTH, HEIGHT)
    return page, Stepper(page, uid_of(path.read_text("utf-8")))


# ---- the page files, without a browser -------------------------------------------------------

def test_every_css_rule_is_scoped_under_the_stepper():
    css = resources.files("microgrant.viz").joinpath("stepper.css").read_text("utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    assert "@" not in css  # no at-rules: nothing that could reach outside the stepper
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{[^{}]*\}", css)
                 for s in block.split(",")]
    assert len(selectors) > 40
    unscoped = [s for s in selectors if not re.match(r"\.mg-stepper(?![\w-])", s)]
    assert unscoped == []


def test_the_template_has_the_contract_markers_and_only_scoped_ids():
    files = resources.files("microgrant.viz")
    template = files.joinpath("stepper.html").read_text("utf-8")
    assert set(re.findall(r"@@([A-Z]+)@@", template)) == {"UID", "CSS", "FALLBACK", "DATA",
                                                           "JS", "TITLE"}
    for marker in ("CSS", "FALLBACK", "DATA", "JS", "TITLE"):
        assert template.count(f"@@{marker}@@") == 1, marker
    assert template.lstrip().startswith('<div class="mg-stepper" id="@@UID@@" tabindex="0"')
    assert not re.search(r"<(html|head|body|button|input|svg)\b", template)  # no dead controls
    shell = files.joinpath("stepper_shell.html").read_text("utf-8")
    ids = re.findall(r'\bid="([^"]*)"', template + shell)
    assert ids and all(i == "@@UID@@" or i.startswith("@@UID@@-") for i in ids)
    # Every control of the live page keeps the notebook's shortcuts off while focused.
    controls = re.findall(r"<(?:button|input)\b[^>]*>", shell)
    assert controls and all('data-lm-suppress-shortcuts="true"' in c for c in controls)
    css = files.joinpath("stepper.css").read_text("utf-8")
    assert "</style" not in css.lower()


def test_the_script_is_in_named_parts_none_over_150_lines_and_formats_no_number():
    files = resources.files("microgrant.viz")
    parts = stepper_module.SCRIPT_PARTS
    assert len(parts) >= 6 and not files.joinpath("stepper.js").is_file()
    for name in parts:
        script = files.joinpath(name).read_text("utf-8")
        assert len(script.splitlines()) <= 150, name
        assert script.startswith("/*"), name  # each part says what it does
        # Nothing in the inlined script may end its element early.
        assert "</script" not in script.lower() and "<!--" not in script, name
        # The script finds elements inside its own root only, never by a page-wide id.
        assert "document.getElementById" not in script, name
        # Numbers come formatted from Python (format_number): no second formatter here.
        assert "toExponential" not in script and "toPrecision" not in script, name
        assert "formatNumber" not in script, name


# ---- stepping ---------------------------------------------------------------------------------

def test_buttons_keys_and_slider_walk_the_backward_pass(browser, tmp_path):
    J, named = two_neuron_chain()
    steps = viz.backward_steps(J)
    page, s = stepper_page(browser, tmp_path, J)

    assert "the seed" in s.equation()
    assert page.eval(f"document.getElementById({s.id('prev')!r}).disabled") is True

    # A real mouse click on Next shows the first chain-rule step: J's own op.
    s.click("next")
    shown = s.equation()
    assert shown == steps[0].equation
    assert shown.startswith("step 1: J = ")
    assert steps[0].node_id in s.current_ids()
    assert page.eval(f"document.getElementById({s.id('slider')!r}).value") == "1"

    # The arrow key walks on to the step where yhat passes its gradient to z2: the page must
    # show the number the engine's own backward pass gives z2.
    J.backward()
    target = next(step for step in steps if step.node is named["yhat"])
    for _ in range(target.index):
        page.key("ArrowRight", 39)
    shown = s.equation()
    assert shown == target.equation
    assert viz.format_number(named["z2"].grad) in shown
    assert {target.node_id, f"{target.node_id}_op", *target.input_ids} <= set(s.current_ids())

    s.click("prev")
    assert s.equation() == steps[target.index - 1].equation

    # The slider jumps anywhere: its end is the last step, which gives w1 its gradient.
    s.go_to(len(steps))
    shown = s.equation()
    assert shown == steps[-1].equation
    assert "dJ/dw1 += " in shown
    assert re.search(r"= " + re.escape(viz.format_number(named["w1"].grad)) + r"\b", shown)
    assert page.eval(f"document.getElementById({s.id('next')!r}).disabled") is True
    page.key("Home", 36)
    assert s.position() == 0 and "the seed" in s.equation()
    page.key("End", 35)
    assert s.position() == len(steps)

    # Nothing was fetched from anywhere: the page is self-contained.
    assert page.eval("performance.getEntriesByType('resource').length") == 0


def test_the_stepper_survives_hostile_labels(browser, tmp_path):
    x = Value(2.0, label='</script><b>"x" & {y}|\\')
    y = (x * x).tanh()
    y.label = "é<out>"
    page, s = stepper_page(browser, tmp_path, y, name="hostile.html")
    s.click("next")
    assert s.equation() == viz.backward_steps(y)[0].equation
    s.click("next")
    assert '</script><b>"x" & {y}|\\' in s.equation()
    assert page.eval("document.querySelectorAll('.mg-stepper b').length") == 0


def test_a_link_can_open_the_stepper_at_a_step(browser, tmp_path):
    J, _ = two_neuron_chain()
    page, s = stepper_page(browser, tmp_path, J, name="linked.html", hash="#step=3")
    assert s.equation() == viz.backward_steps(J)[2].equation
    assert s.counter().startswith("step 3 of")


def test_grads_and_edge_labels_appear_when_backprop_reaches_them(browser, tmp_path):
    J, named = two_neuron_chain()
    steps = viz.backward_steps(J)
    page, s = stepper_page(browser, tmp_path, J, name="reveal.html")
    size = s.js("(function () { var r = root.querySelector('.mg-canvas svg')"
                ".getBoundingClientRect(); return [r.width, r.height]; })()")
    # w2 takes its gradient at one step only: z2 = w2 * a1 passes it on.
    z2_step = next(step for step in steps if step.node is named["z2"])
    w2_id = z2_step.input_ids[0]
    assert z2_step.inputs[0] is named["w2"]
    w2_edge = f"{z2_step.node_id}_in0"
    k = z2_step.index + 1  # its position on the page (0 is the seed)

    # The seed: only the output's grad shows; w2's grad and the edge's label are hidden but
    # keep their space (visibility, not display), and w2's data shows.
    J_id = steps[0].node_id
    assert s.shown(f"{J_id}_grad") is True
    assert [t["text"] for t in s.texts_of(f"{J_id}_grad")] == ["grad 1"]
    assert s.shown(f"{w2_id}_grad") is False
    assert s.shown(w2_edge) is False
    assert all(t["width"] > 0 for t in s.texts_of(f"{w2_id}_grad") + s.texts_of(w2_edge))
    data = [t for t in s.texts_of(w2_id) if t["text"].startswith("data ")]
    assert [t["visibility"] for t in data] == ["visible"]

    s.go_to(k - 1)  # one step before: still hidden
    assert s.shown(f"{w2_id}_grad") is False and s.shown(w2_edge) is False
    s.go_to(k)  # z2's step has run: w2's grad is complete and the edge says what it added
    assert s.shown(f"{w2_id}_grad") is True and s.shown(w2_edge) is True
    J.backward()
    assert [t["text"] for t in s.texts_of(f"{w2_id}_grad")] == \
        [f"grad {viz.format_number(named['w2'].grad)}"]
    edge_text = " ".join(t["text"] for t in s.texts_of(w2_edge))
    assert f"= {viz.format_number(named['w2'].grad)}" in edge_text
    w1_id = next(i for step in steps for x, i in zip(step.inputs, step.input_ids)
                 if x is named["w1"])
    assert s.shown(f"{w1_id}_grad") is False  # w1's grad needs the last step

    s.go_to(len(steps))  # the last step: every number is visible
    assert s.shown(f"{w1_id}_grad") is True
    assert s.js("root.querySelectorAll('.mg-pending').length") == 0
    hidden = s.js("Array.from(root.querySelectorAll('.mg-canvas text')).filter("
                  "function (t) { return getComputedStyle(t).visibility !== 'visible'; })"
                  ".length")
    assert hidden == 0
    assert s.js("(function () { var r = root.querySelector('.mg-canvas svg')"
                ".getBoundingClientRect(); return [r.width, r.height]; })()") == \
        pytest.approx(size, abs=0.01)

    s.go_to(0)  # and back at the start they are hidden again
    assert s.shown(f"{w1_id}_grad") is False and s.shown(w2_edge) is False


# What the classes must be at a position, worked out from the page's own data.
EXPECTED_CLASSES = """(function () {
  var data = JSON.parse(document.getElementById(root.id + '-data').textContent);
  var k = api.position(), own = function (e) { return e.id.slice(root.id.length + 1); };
  function element(id) { return document.getElementById(root.id + '-' + id) ||
                                document.getElementById(root.id + '-a_' + id); }
  function ids(list) { return list.filter(element).map(function (id) {
    return own(element(id)); }); }
  var done = [], current = ids(data.steps[k].ids), pending = [];
  for (var i = 1; i < k; i++) { done = done.concat(ids(data.steps[i].ids)); }
  for (var j = k + 1; j < data.steps.length; j++) {
    pending = pending.concat(ids(data.steps[j].reveal)); }
  function actual(name) { return Array.from(root.querySelectorAll('.' + name)).map(own); }
  function same(a, b) { a = Array.from(new Set(a)).sort(); b = Array.from(new Set(b)).sort();
    return JSON.stringify(a) === JSON.stringify(b); }
  return [same(done, actual('mg-done')), same(current, actual('mg-current')),
          same(pending, actual('mg-pending')), actual('mg-done').length];
})()"""


def test_moving_by_any_jump_leaves_the_same_classes_as_walking(browser, tmp_path):
    loss = xor_mlp_loss()
    page, s = stepper_page(browser, tmp_path, loss, name="jumps.html", max_nodes=None)
    count = s.js("api.count")
    assert count > 40
    # Walk, jump forward, jump back, step back: the kept state must equal a fresh count.
    for target in (1, 2, 3, count - 1, count // 2, count // 2 - 1, 5, count // 3 + 7, 0, 9):
        s.go_to(target)
        done, current, pending, done_count = s.js(EXPECTED_CLASSES)
        assert (done, current, pending) == (True, True, True), target
        assert (done_count > 0) == (target > 1)


def test_a_big_graph_opens_on_its_output_at_a_readable_size(browser, tmp_path):
    out = MLP(2, [16, 16, 1], seed=0)([1.0, -1.0])
    root_id = viz.backward_steps(out)[0].node_id
    page, s = stepper_page(browser, tmp_path, out, name="mlp.html")
    box = s.js("(function () { var g = root.querySelector('.mg-graph'),"
               " r = g.getBoundingClientRect(); return {left: r.left, top: r.top,"
               " right: r.right, bottom: r.bottom}; })()")
    node = s.js(f"(function () {{ var r = document.getElementById(root.id + '-' + "
                f"{root_id!r}).getBoundingClientRect(); return {{left: r.left, top: r.top,"
                f" right: r.right, bottom: r.bottom}}; }})()")
    assert box["left"] <= node["left"] and node["right"] <= box["right"], (node, box)
    assert box["top"] <= node["top"] and node["bottom"] <= box["bottom"], (node, box)
    # Framed with the first step's inputs, never below 60%: the numbers stay readable.
    assert 0.6 - 1e-9 <= s.js("api.view().zoom") <= 1.25
    inputs_in_view = s.js(
        "(function () { var g = root.querySelector('.mg-graph').getBoundingClientRect();"
        " return JSON.parse(document.getElementById(root.id + '-data').textContent).steps[1]"
        ".ids.filter(function (id) { var e = document.getElementById(root.id + '-' + id);"
        " if (!e) { return false; } var r = e.getBoundingClientRect(); return r.bottom > g.top"
        " && r.top < g.bottom && r.right > g.left && r.left < g.right; }).length; })()")
    assert inputs_in_view >= 8  # the output's op and many of its 17 inputs, not the output alone
    assert s.shown(f"{root_id}_grad") is True
    # The overview is shown, and the page itself did not scroll.
    assert s.js("root.querySelector('.mg-minimap').hidden") is False
    assert page.eval("window.scrollY") == 0
    assert "the seed" in s.equation()


# Every value and op of the picture outside the graph's window (by its text), and how many.
NODES_OUTSIDE = ("(function () { var g = root.querySelector('.mg-graph').getBoundingClientRect();"
                 " var nodes = Array.from(root.querySelectorAll('.mg-canvas svg g.node'));"
                 " return [nodes.length, nodes.filter(function (n) {"
                 " var r = n.getBoundingClientRect(); return r.left < g.left - 1 ||"
                 " r.right > g.right + 1 || r.top < g.top - 1 || r.bottom > g.bottom + 1; })"
                 ".map(function (n) { return n.textContent.trim(); })]; })()")


@pytest.mark.parametrize("width", [720, 1060])
def test_a_small_graph_opens_whole_in_a_narrow_column(browser, tmp_path, width):
    """The one-neuron graph (note 001's neuron, wide and short) in a notebook's narrow column
    (720: the side panel already below the graph) and in a column where the side panel would
    sit beside it (1060, marimo's): every value shows, inputs included, none cut off."""
    a = Neuron(2, activation="tanh", seed=0)([2.0, -1.0])
    a.backward()
    path = viz.save_stepper(a, tmp_path / "neuron.html")
    page = Page(browser, path.resolve().as_uri(), width, HEIGHT)
    s = Stepper(page, uid_of(path.read_text("utf-8")))
    page.screenshot(tmp_path / f"neuron-{width}.png")
    count, outside = s.js(NODES_OUTSIDE)
    assert count >= 9 and outside == [], (count, outside)
    # Shown whole, never so small that a small graph is a smear; in the wider column, with
    # the side panel moved below, at a readable size.
    zoom = s.js("api.view().zoom")
    assert zoom >= (0.6 if width > 1000 else 0.36) - 1e-9, zoom
    assert s.js("root.querySelector('.mg-graph').clientWidth") >= width - 120


# The current step's node wholly in the graph's window and not under the overview (its corner
# map); its op in the window too, unless the two are too far apart to show together at 60%:
# the problems found, as text ([] when there are none).
HEART_OUT_OF_VIEW = (
    "(function () { var g = root.querySelector('.mg-graph').getBoundingClientRect();"
    " var m = root.querySelector('.mg-minimap'), o = m.hidden ? null : m.getBoundingClientRect();"
    " var data = JSON.parse(document.getElementById(root.id + '-data').textContent);"
    " var k = api.position(), step = data.steps[k], node = step.node || step.ids[0];"
    " var zoom = api.view().zoom, at60 = 0.6 / zoom;"
    " if (step.drawn === false) { return []; }"
    " function rect(id) { var e = document.getElementById(root.id + '-' + id);"
    " return e ? e.getBoundingClientRect() : null; }"
    " function inside(r) { return r.left >= g.left - 1 && r.right <= g.right + 1"
    " && r.top >= g.top - 1 && r.bottom <= g.bottom + 1; }"
    " var n = rect(node), op = rect(node + '_op'), problems = [];"
    " var where = 'step ' + k + ' at zoom ' + zoom.toFixed(2) + ': ';"
    " if (!inside(n)) { problems.push(where + node + ' outside the window'); }"
    " if (o && n.right > o.left && n.left < o.right && n.bottom > o.top && n.top < o.bottom) {"
    " problems.push(where + node + ' under the overview'); }"
    " if (op && !inside(op)) { var w = Math.max(n.right, op.right) - Math.min(n.left, op.left),"
    " h = Math.max(n.bottom, op.bottom) - Math.min(n.top, op.top);"
    " if (w * at60 < g.width * 0.9 && h * at60 < g.height * 0.9) {"
    " problems.push(where + node + '_op outside the window, though it fits with its node'); } }"
    " return problems; })()")


@pytest.mark.parametrize("size", [(WIDTH, HEIGHT), (800, 700)])
def test_every_step_of_the_xor_net_keeps_its_node_in_view(browser, tmp_path, size):
    """The XOR net of the README (MLP(2, [4, 4, 1]) on four samples): a step's inputs may be
    shared weights far away, so a step can be taller than the window.  Stepped by Next, by
    jumps of the slider and by a link, every step's node is in the window, readable, and not
    under the overview, its op too wherever the two fit together; a step that fits shows
    whole, and the overview marks the step's inputs and edges where they are."""
    path = viz.save_stepper(xor_mlp_loss(), tmp_path / "xor.html")
    page = Page(browser, path.resolve().as_uri(), *size)
    s = Stepper(page, uid_of(path.read_text("utf-8")))
    last = s.js("api.count") - 1
    assert last == 78
    problems = s.js(HEART_OUT_OF_VIEW)
    for k in range(1, last + 1):  # Next, step by step
        s.js("api.next()")
        assert s.position() == k
        assert s.js("api.view().zoom") >= 0.6 - 1e-9
        problems += s.js(HEART_OUT_OF_VIEW)
    for k in (40, 12, 77, 3, 55, 20, 66, 1, 33, 70, 8, 45, 25, 60, 15, 38, 5, 50, 12, 40):
        s.go_to(k)  # jumps, either way
        assert s.position() == k
        problems += s.js(HEART_OUT_OF_VIEW)
    assert problems == [], problems
    # Step 40 (L1.n4.z[2], its inputs two samples' x and the neuron's shared weights, which are
    # drawn in full far away and as copies beside this op) fits the laptop's window: its node,
    # op, edges, inputs and copies all show; only the weights' full drawings are elsewhere.
    if size == (WIDTH, HEIGHT):
        s.go_to(40)
        assert s.js("api.view()").get("zoom") >= 0.6 - 1e-9
        page.screenshot(tmp_path / "xor-step40.png")
        step = s.js("JSON.parse(document.getElementById(root.id + '-data').textContent)"
                    ".steps[40]")
        assert step["name"] == "L1.n4.z[2]"
        at = "_at_" + step["node"]
        copies = [i for i in s.current_ids() if i.endswith(at)]
        assert len(copies) == 3  # w1, w2 and b of L1.n4, each lit beside the op
        outside = s.js("(function () { var g = root.querySelector('.mg-graph')"
                       ".getBoundingClientRect(); return Array.from(root.querySelectorAll("
                       "'.mg-current')).filter(function (e) { var r = e.getBoundingClientRect();"
                       " return r.left < g.left - 1 || r.right > g.right + 1 || r.top < g.top - 1"
                       " || r.bottom > g.bottom + 1; }).map(function (e) {"
                       " return e.id.slice(root.id.length + 1); }); })()")
        assert sorted(outside) == sorted(c[:-len(at)] for c in copies)
    # The overview marks the current step's nodes and edges, all of them.
    s.go_to(12)
    assert s.js("root.querySelectorAll('.mg-minimap .mg-mm-step').length") == \
        s.js("root.querySelectorAll('.mg-canvas .mg-current').length") >= 4
    # Opened by a link at step 40, the step is in view at once.
    linked = Page(browser, path.resolve().as_uri() + "#step=40", *size)
    t = Stepper(linked, s.uid)
    assert t.position() == 40
    assert t.js(HEART_OUT_OF_VIEW) == []


# ---- steppers -------------------------------------------------------------------------------

def fragment_of(root, **options) -> str:
    """A stepper of ``root`` as the HTML a notebook shows."""
    return viz.stepper(root, **options)._repr_html_()


# ---- several steppers on one page, and the focus ----------------------------------------------

def test_two_steppers_on_one_page_step_independently_and_keep_their_keys(browser, tmp_path):
    J, _ = two_neuron_chain()
    x = Value(3.0, label="x")
    y = named((x * 2).tanh(), "y")
    a_html, b_html = fragment_of(J), fragment_of(y)
    a_uid, b_uid = uid_of(a_html), uid_of(b_html)
    assert a_uid != b_uid
    page = open_page(browser, tmp_path, document(a_html, b_html, between="between them"))
    a, b = Stepper(page, a_uid), Stepper(page, b_uid)
    steps_a, steps_b = viz.backward_steps(J), viz.backward_steps(y)

    # Neither has the focus yet (two steppers: the page gives it to neither), so the keys
    # belong to the page and step nothing.
    assert page.eval("document.activeElement === document.body")
    page.key("ArrowRight", 39)
    assert (a.position(), b.position()) == (0, 0)

    a.click("next")
    a.click("next")
    b.click("next")
    assert a.equation() == steps_a[1].equation
    assert b.equation() == steps_b[0].equation
    assert steps_a[1].node_id in a.current_ids() and steps_a[0].node_id not in a.current_ids()
    assert steps_b[0].node_id in b.current_ids()

    # Clicking into a stepper (here its equation) gives it the focus, and the keys with it.
    page.click_id(b.id("equation"))
    assert page.eval("document.activeElement.id") == b_uid
    page.key("ArrowRight", 39)
    assert (a.position(), b.position()) == (2, 2)
    page.click_id(a.id("equation"))
    page.key("ArrowLeft", 37)
    assert (a.position(), b.position()) == (1, 2)
    # The page's own button takes the focus back: the keys stop stepping.
    page.click_id("outside-button")
    page.key("ArrowRight", 39)
    assert (a.position(), b.position()) == (1, 2)

    # The stepper's style stays inside it: the page's own text and buttons are untouched.
    outside = page.eval("(function () { var p = getComputedStyle(document.getElementById("
                        "'before')), b = getComputedStyle(document.getElementById("
                        "'outside-button')); return [p.fontFamily, b.borderTopLeftRadius,"
                        " b.fontSize]; })()")
    blank = open_page(browser, tmp_path, document(), name="blank.html").eval(
        "(function () { var p = getComputedStyle(document.getElementById('before')),"
        " b = getComputedStyle(document.getElementById('outside-button'));"
        " return [p.fontFamily, b.borderTopLeftRadius, b.fontSize]; })()")
    assert outside == blank


def test_the_same_stepper_shown_twice_still_works_in_both_places(browser, tmp_path):
    J, _ = two_neuron_chain()
    once = fragment_of(J)
    page = open_page(browser, tmp_path, document(once, once), name="twice.html")
    roots = page.eval("document.querySelectorAll('.mg-stepper[data-mg-ready]').length")
    assert roots == 2
    # Step the second copy by its own buttons: the first copy stays at the seed.
    page.eval("document.querySelectorAll('.mg-stepper')[1]"
              ".querySelector('button[aria-label=\"next step\"]').click()")
    positions = page.eval("Array.from(document.querySelectorAll('.mg-stepper')).map("
                          "function (r) { return r.mgStepper.position(); })")
    assert positions == [0, 1]


# ---- a picture cut by max_nodes --------------------------------------------------------------

def test_a_step_whose_node_is_not_drawn_says_so(browser, tmp_path):
    loss = xor_mlp_loss()
    made = viz.stepper(loss, max_nodes=40)
    html_text = made._repr_html_()
    page = open_page(browser, tmp_path, document(html_text), name="cut.html")
    s = Stepper(page, uid_of(html_text))
    data = made.data
    assert data["omitted"] > 0
    undrawn = [k for k, step in enumerate(data["steps"]) if step["node"] and not step["drawn"]]
    drawn = [k for k, step in enumerate(data["steps"]) if step["node"] and step["drawn"]]
    assert undrawn and drawn
    notice = f"document.getElementById({s.id('notice')!r})"

    s.go_to(drawn[0])
    assert page.eval(f"{notice}.hidden") is True
    k = undrawn[0]
    step = data["steps"][k]
    s.go_to(k)
    assert page.eval(f"{notice}.hidden") is False
    said = page.eval(f"{notice}.textContent")
    named = step["node"] if step["name"] == step["node"] else f"{step['node']} ({step['name']})"
    assert f"this step's node {named} is not in the picture: max_nodes left it out" in said
    assert s.equation() == step["text"]  # the step itself is still all there, as text
    s.go_to(drawn[0])
    assert page.eval(f"{notice}.hidden") is True


# ---- zoom, fit, pan, overview ----------------------------------------------------------------

def test_zoom_fit_wheel_and_drag_move_the_view(browser, tmp_path):
    loss = xor_mlp_loss()
    html_text, other_html = fragment_of(loss), fragment_of(loss)
    page = open_page(browser, tmp_path, document(html_text, other_html), name="zoom.html")
    s = Stepper(page, uid_of(html_text))
    full = [float(x) for x in s.js("(function () { var c = root.querySelector('.mg-minimap"
                                   " svg'); return c.getAttribute('viewBox'); })()").split()]

    # The whole net would show at a few percent: "fit" frames the current step instead,
    # readable, and says why.
    s.go_to(3)
    s.click("fit")
    fitted = s.view_box()
    assert fitted[2] < full[2] / 2
    assert s.js("api.view().zoom") >= 0.6 - 1e-9
    assert "the whole graph would show at" in s.js(
        f"document.getElementById({s.id('hint')!r}).textContent")
    step_box = s.js("(function () { var g = root.querySelector('.mg-graph')"
                    ".getBoundingClientRect(); return Array.from(root.querySelectorAll("
                    "'.mg-current')).every(function (e) { var r = e.getBoundingClientRect();"
                    " return r.left >= g.left - 1 && r.right <= g.right + 1 && r.top >= g.top - 1"
                    " && r.bottom <= g.bottom + 1; }); })()")
    assert step_box is True  # every element of the step, its inputs too, is in the window

    fitted_transform = s.transform()
    s.click("zoom-in")
    assert s.transform() != fitted_transform
    zoomed = s.view_box()
    assert zoomed[2] == pytest.approx(fitted[2] / 1.25, rel=1e-3)
    s.click("zoom-out")
    assert s.view_box()[2] == pytest.approx(fitted[2], rel=1e-3)
    s.click("actual")
    assert s.js("api.view().zoom") == pytest.approx(1.0)
    assert s.js(f"document.getElementById({s.id('zoom')!r}).textContent") == "100%"

    # The wheel zooms a focused stepper about the pointer; unfocused, it leaves the view be.
    centre = page.eval(f"(function () {{ var r = document.getElementById({s.id('graph')!r})"
                       ".getBoundingClientRect(); return [r.x + r.width / 2,"
                       " r.y + r.height / 2]; })()")
    page.click_id("outside-button")
    before = s.view_box()
    page.send("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": centre[0],
                                           "y": centre[1], "deltaX": 0, "deltaY": -300})
    assert s.view_box() == before
    page.click_id(s.id("equation"))
    page.send("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": centre[0],
                                           "y": centre[1], "deltaX": 0, "deltaY": -300})
    page.eval("new Promise(function (done) { requestAnimationFrame(function () { done(1); });"
              " })")
    after = s.view_box()
    assert after[2] < before[2]  # zoomed in
    # ... about the pointer: the middle of the view stays where it was.
    assert after[0] + after[2] / 2 == pytest.approx(before[0] + before[2] / 2, abs=1.0)

    # A drag pans: the view moves against the pointer, by the pointer's distance in units.
    start = s.view_box()
    x, y = centre
    page.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": y,
                                           "button": "left", "clickCount": 1})
    for step in range(1, 6):
        page.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x + 20 * step,
                                               "y": y + 8 * step, "button": "left"})
    page.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x + 100,
                                           "y": y + 40, "button": "left", "clickCount": 1})
    moved = s.view_box()
    zoom = s.js("api.view().zoom") * 4 / 3
    assert moved[0] == pytest.approx(start[0] - 100 / zoom, abs=0.5)
    assert moved[1] == pytest.approx(start[1] - 40 / zoom, abs=0.5)
    assert moved[2:] == pytest.approx(start[2:])

    # The keys zoom too, and the other stepper's view never moved.
    page.key("0", 48)
    assert s.view_box() == pytest.approx(fitted, abs=0.05)
    other = Stepper(page, uid_of(other_html))
    assert other.js("api.view().zoom") != s.js("api.view().zoom") or \
        other.view_box() != s.view_box()


def test_the_overview_marks_the_view_and_a_click_there_moves_it(browser, tmp_path):
    out = MLP(2, [8, 8, 1], seed=1)([0.5, -1.0])
    html_text = fragment_of(out)
    page = open_page(browser, tmp_path, document(html_text), name="overview.html")
    s = Stepper(page, uid_of(html_text))
    s.click("actual")
    assert s.js("root.querySelector('.mg-minimap').hidden") is False
    rect = s.js("(function () { var r = root.querySelector('.mg-mm-view'); return"
                " ['x', 'y', 'width', 'height'].map(function (a) {"
                " return parseFloat(r.getAttribute(a)); }); })()")
    box = s.view_box()
    assert rect == pytest.approx(box, abs=0.2)
    # Click the overview's top-left corner: the view centres there.
    corner = page.eval(f"(function () {{ var m = document.getElementById({s.id('minimap')!r});"
                       " m.scrollIntoView({block: 'nearest'});"
                       " var r = m.querySelector('svg').getBoundingClientRect();"
                       " return [r.x + 3, r.y + r.height / 2]; })()")
    for kind in ("mousePressed", "mouseReleased"):
        page.send("Input.dispatchMouseEvent", {"type": kind, "x": corner[0], "y": corner[1],
                                               "button": "left", "clickCount": 1})
    moved = s.view_box()
    assert moved != box
    # Its current-step mark sits where the step's node is.
    s.go_to(3)
    here = s.js("(function () { var r = root.querySelector('.mg-mm-here'); return"
                " parseFloat(r.getAttribute('width')); })()")
    assert here > 0


# ---- finding a value, the step list, the gradient check ----------------------------------------

def test_search_finds_a_value_and_the_step_that_completes_its_grad(browser, tmp_path):
    J, named = two_neuron_chain()
    steps = viz.backward_steps(J)
    page, s = stepper_page(browser, tmp_path, J, name="search.html")
    # w2's grad is complete after the step of z2 = w2 * a1.
    z2_step = next(step for step in steps if step.node is named["z2"])
    w2_id = z2_step.input_ids[0]

    page.click_id(s.id("search"))
    page.send("Input.insertText", {"text": "w"})
    results = s.js(f"Array.from(document.getElementById({s.id('results')!r})"
                   ".querySelectorAll('button')).map(function (b) { return b.textContent; })")
    assert any(r.startswith("w1") for r in results) and any(r.startswith("w2") for r in results)
    page.send("Input.insertText", {"text": "2"})
    page.key("Enter", 13)
    assert s.position() == z2_step.index + 1
    assert s.equation() == z2_step.equation
    assert s.js(f"document.getElementById(root.id + '-' + {w2_id!r})"
                ".classList.contains('mg-found')")
    said = s.js(f"document.getElementById({s.id('found')!r}).textContent")
    assert said.startswith("w2") and f"after step {z2_step.index + 1}" in said
    # Typing in the search box is not stepping: the arrow keys edit the text there.
    page.key("ArrowLeft", 37)
    assert s.position() == z2_step.index + 1

    # A click on a value in the picture goes there too: here the output, at the seed.
    s.click("fit")
    page.click_id(f"{s.uid}-{steps[0].node_id}")
    assert s.position() == 0


def test_search_says_when_the_value_found_is_not_drawn(browser, tmp_path):
    loss = xor_mlp_loss()
    html_text = fragment_of(loss, max_nodes=40)
    page = open_page(browser, tmp_path, document(html_text), name="search-cut.html")
    s = Stepper(page, uid_of(html_text))
    values = s.js("JSON.parse(document.getElementById(root.id + '-data').textContent).values")
    hidden = next(v for v in values if not v["drawn"] and v["kind"] == "leaf")
    k = s.js(f"api.find({hidden['name']!r})")
    assert k > 0 and s.position() == k
    said = s.js(f"document.getElementById({s.id('found')!r}).textContent")
    assert said.startswith(hidden["name"])
    assert "is not in the picture: max_nodes left it out" in said


def test_the_step_list_is_grouped_and_jumps(browser, tmp_path):
    loss = xor_mlp_loss()
    html_text = fragment_of(loss)
    page = open_page(browser, tmp_path, document(html_text), name="groups.html")
    s = Stepper(page, uid_of(html_text))
    data = s.js("JSON.parse(document.getElementById(root.id + '-data').textContent)")
    names = list(dict.fromkeys(step["group"] or "other steps" for step in data["steps"][1:]))
    assert len(names) >= 3  # a 2-4-4-1 net's loss: loss, output, layers
    summaries = s.js(f"Array.from(document.getElementById({s.id('groups')!r})"
                     ".querySelectorAll('summary')).map(function (e) { return e.textContent; })")
    counts = {n: sum(1 for step in data["steps"][1:] if (step["group"] or "other steps") == n)
              for n in names}
    assert summaries == [f"{n} · {counts[n]} step{'s' if counts[n] != 1 else ''}"
                         for n in names]
    # Open the last group and click its first step.
    group = names[-1]
    first = next(k for k, step in enumerate(data["steps"])
                 if k and (step["group"] or "other steps") == group)
    s.js(f"(function () {{ var d = document.getElementById({s.id('groups')!r})"
         f".querySelectorAll('details')[{len(names) - 1}]; d.open = true; return 1; }})()")
    page.eval("new Promise(function (done) { setTimeout(function () { done(1); }, 50); })")
    item = s.js(f"(function () {{ var d = document.getElementById({s.id('groups')!r})"
                f".querySelectorAll('details')[{len(names) - 1}];"
                " var b = d.querySelector('.mg-items button'); b.id = root.id + '-first-item';"
                " return b.textContent; })()")
    assert item.startswith(f"{first} · ")
    page.click_id(s.id("first-item"))
    assert s.position() == first
    assert s.js("root.querySelectorAll('.mg-groups .mg-here').length") == 2  # item + group


def test_the_gradient_check_is_shown_leaf_by_leaf(browser, tmp_path):
    J, named = two_neuron_chain()
    html_text = fragment_of(J)
    page = open_page(browser, tmp_path, document(html_text), name="checks.html")
    s = Stepper(page, uid_of(html_text))
    checks = s.js("JSON.parse(document.getElementById(root.id + '-data').textContent).checks")
    J.backward()
    assert {c["name"] for c in checks} >= {"w1", "w2"}
    for c in checks:
        leaf = named.get(c["name"])
        if leaf is not None:
            assert c["grad"] == pytest.approx(leaf.grad)
    summary = s.js(f"document.getElementById({s.id('checks-summary')!r}).textContent")
    agree = sum(1 for c in checks if c["agree"] is True)
    assert summary.startswith(f"Gradient check: {agree} of {len(checks)} leaves agree")
    rows = s.js("Array.from(root.querySelectorAll('.mg-checks tr')).slice(1).map("
                "function (r) { return Array.from(r.cells).map(function (c) {"
                " return c.textContent; }); })")
    assert [r[0] for r in rows] == [c["name"] for c in checks]
    for row, c in zip(rows, checks):
        # Python wrote the numbers, with the one formatter there is.
        assert row[1] == c["grad_text"] == viz.format_number(c["grad"], 6)
        assert row[2] == c["numeric_text"] == viz.format_number(c["numeric"], 6)
        assert row[3] == ("✓ agree" if c["agree"] else "✗ disagree" if c["agree"] is False
                          else "–")


def test_a_disagreeing_check_and_a_skipped_one_are_said_plainly(browser, tmp_path):
    x = Value(2.0, label="x")
    y = named(x.relu(), "y")
    svg = viz.draw(y, view="backward").pipe("svg").decode("utf-8")
    data = {"uid": "mgs-check", "title": "checks",
            "steps": [{"ids": ["n1"], "text": "seed", "reveal": [], "node": None, "name": "y",
                       "drawn": True, "group": ""},
                      {"ids": ["n1", "n1_op", "n1_out", "n1_in0", "n0"], "text": "step 1",
                       "reveal": ["n1_in0"], "node": "n1", "name": "y", "drawn": True,
                       "group": ""}],
            "values": [{"id": "n0", "name": "x", "kind": "leaf", "drawn": True},
                       {"id": "n1", "name": "y", "kind": "output", "drawn": True}],
            "checks": [{"id": "n0", "name": "x", "grad": 1.0, "numeric": 0.5, "agree": False,
                        "grad_text": "1", "numeric_text": "0.5", "reason": "no kink here"},
                       {"id": "n9", "name": "far", "grad": 2.5e-11, "numeric": None,
                        "agree": None, "grad_text": "2.5e-11",
                        "numeric_text": "not computed", "reason": ""}],
            "check_note": "", "omitted": 0, "legend": [["#d4efd4", "leaf"]]}
    page = open_page(browser, tmp_path, document(fill("mgs-check", svg, data)),
                     name="disagree.html")
    s = Stepper(page, "mgs-check")
    summary = s.js(f"document.getElementById({s.id('checks-summary')!r}).textContent")
    assert summary == "Gradient check: 0 of 2 leaves agree, 1 disagree, 1 not checked"
    assert s.js("root.querySelector('.mg-checks details').open") is True
    rows = s.js("Array.from(root.querySelectorAll('.mg-checks tr')).slice(1).map("
                "function (r) { return Array.from(r.cells).map(function (c) {"
                " return c.textContent; }); })")
    assert rows == [["x", "1", "0.5", "✗ disagree"], ["no kink here"],
                    ["far", "2.5e-11", "not computed", "–"]]
    legend = s.js(f"document.getElementById({s.id('legend')!r}).textContent")
    assert legend == "leaf"


# ---- where scripts do not run: a picture and the steps ----------------------------------------

def sanitized(fragment: str) -> str:
    """The fragment as untrusted JupyterLab and Notebook 7 keep it: scripts and styles gone
    with their text, ``<svg>`` tags gone with their text kept."""
    text = re.sub(r"<(script|style)\b.*?</\1>", "", fragment, flags=re.S)
    return re.sub(r"</?svg\b[^>]*>", "", text)


def test_without_scripts_the_page_shows_a_picture_and_the_steps(browser, tmp_path):
    J, named_values = two_neuron_chain()
    steps = viz.backward_steps(J)
    html_text = fragment_of(J)
    # What a sanitizer leaves: no label soup, no dead controls, the picture as an <img>.
    kept = sanitized(html_text)
    assert "<svg" not in html_text.split("<script", 1)[0]
    assert not re.search(r"<(button|input|select)\b", kept)
    assert kept.count("<img src='data:image/svg+xml;charset=utf-8,") == 1
    outside_details = re.sub(r"<details\b.*</details>", "", kept, flags=re.S)
    words = re.sub(r"<[^>]+>", " ", outside_details)
    assert "data 0.8" not in words and "grad" not in words  # no picture's text as a paragraph
    assert "run the cell" in words and "Trust Notebook" in words

    for name, text in (("plain.html", document(html_text)), ("kept.html", document(kept))):
        page = open_page(browser, tmp_path, text, name=name, scripts=False)
        assert page.eval("document.querySelector('.mg-stepper').mgStepper") is None
        assert page.eval("document.querySelectorAll('.mg-stepper button, .mg-stepper input')"
                         ".length") == 0
        image = page.eval("(function () { var i = document.querySelector('.mg-fallback img');"
                          " return [i.complete, i.naturalWidth, i.naturalHeight]; })()")
        assert image[0] is True and image[1] > 200 and image[2] > 200  # the SVG decoded
        visible = page.eval("document.body.innerText")
        assert "run the cell" in visible and "11 chain-rule steps, as text" in visible
        assert page.eval("document.body.scrollHeight") < 1200  # no 4,700-pixel paragraph
        # The steps, folded: open, every step's text is there.
        page.eval("document.querySelector('.mg-fallback details').open = true")
        steps_text = page.eval("document.querySelector('.mg-fallback details pre').innerText")
        assert all(step.equation in steps_text for step in steps)

    # With scripts, the live page replaces the fallback: nothing of it stays behind.
    page = open_page(browser, tmp_path, document(html_text), name="live.html")
    assert page.eval("document.querySelectorAll('.mg-fallback').length") == 0
    assert page.eval("document.querySelectorAll('.mg-stepper img').length") == 0
    assert page.eval("document.querySelectorAll('.mg-canvas svg').length") == 1


def test_a_backward_step_shows_a_picture_and_its_equation_without_scripts(browser, tmp_path):
    J, _ = two_neuron_chain()
    step = viz.backward_steps(J)[2]
    shown = step._repr_html_()
    assert "<svg" not in shown and "<script" not in shown and sanitized(shown) == shown
    page = open_page(browser, tmp_path, document(shown), name="step.html", scripts=False)
    image = page.eval("(function () { var i = document.querySelector('.mg-step img');"
                      " return [i.complete, i.naturalWidth, i.alt]; })()")
    assert image[0] is True and image[1] > 200 and "step 3" in image[2]
    assert page.eval("document.querySelector('.mg-step pre').textContent") == step.equation


# ---- the same stepper, the same bytes ----------------------------------------------------------

SAME_STEPPER = """
import sys
from microgrant import Value, viz
from microgrant.losses import mse_loss
from microgrant.nn import MLP
x = Value(0.5, label="x"); w = Value(-1.5, label="w")
y = (w * x).tanh(); y.label = "y"
viz.save_stepper(y, sys.argv[1])
"""


def test_the_same_stepper_saved_twice_gives_the_same_bytes(tmp_path):
    J, _ = two_neuron_chain()
    s = viz.stepper(J)
    a, b = s.save(tmp_path / "a.html"), s.save(tmp_path / "b.html")
    assert a.read_bytes() == b.read_bytes()
    # Two steppers of one graph on one page still get two ids.
    assert viz.stepper(J).uid != s.uid
    # A notebook run again from the top writes the same page: no random ids.
    pages = []
    for k in range(2):
        out = tmp_path / f"run{k}.html"
        subprocess.run([sys.executable, "-c", SAME_STEPPER, str(out)], check=True,
                       cwd=Path(__file__).resolve().parents[1], timeout=120)
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]


# ---- keys: the stepper's, not the notebook's ---------------------------------------------------

def test_keys_inside_the_stepper_never_reach_the_notebook(browser, tmp_path):
    J, _ = two_neuron_chain()
    html_text = fragment_of(J)
    tall = document(html_text) .replace("</body>", "<div style='height: 3000px'></div></body>")
    page = open_page(browser, tmp_path, tall, name="keys.html")
    s = Stepper(page, uid_of(html_text))
    # The notebook's stand-in: a listener on the document that records every key it sees.
    page.eval("window.seen = []; document.addEventListener('keydown', function (e) {"
              " window.seen.push(e.key); }); 1")
    unmarked = s.js("Array.from(root.querySelectorAll('button, input, summary, [tabindex]'))"
                    ".filter(function (e) { return !e.closest('[data-lm-suppress-shortcuts]');"
                    " }).length")
    assert unmarked == 0
    assert s.js("Array.from(root.querySelectorAll('button, input')).every(function (e) {"
                " return e.getAttribute('data-lm-suppress-shortcuts') === 'true'; })")

    page.click_id(s.id("next"))  # a button has the focus: letters do not reach the notebook
    assert s.position() == 1
    page.key("b", 66)
    page.key(" ", 32)  # Space on a button presses it: Next
    assert page.eval("window.seen") == []
    page.click_id(s.id("equation"))  # the stepper itself has the focus
    position = s.position()
    scrolled = page.eval("window.scrollY")
    page.key(" ", 32)
    assert s.position() == position + 1
    page.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": " ", "code": "Space",
                                         "windowsVirtualKeyCode": 32, "modifiers": 8})
    page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": " ", "code": "Space",
                                         "windowsVirtualKeyCode": 32, "modifiers": 8})
    assert s.position() == position  # Shift+Space steps back
    page.key("PageDown", 34)
    assert s.position() == position + 1
    assert page.eval("window.scrollY") == scrolled  # Space and PageDown did not scroll
    # The slider's own arrows step.
    page.eval(f"document.getElementById({s.id('slider')!r}).focus()")
    page.key("ArrowRight", 39)
    assert s.position() == position + 2
    assert page.eval("window.seen") == []
    # Esc gives the focus (and the keys) back to the page.
    page.key("Escape", 27)
    assert page.eval(f"document.getElementById({s.uid!r}).contains(document.activeElement)") \
        is False
    page.key("x", 88)
    assert page.eval("window.seen") == ["x"]
    # This page is no notebook: the help says where Esc gives the keys.
    assert "Esc gives the keys back to the page" in s.js("root.textContent")
    assert "notebook" not in s.js("root.querySelector('.mg-live').textContent")


def notebook_page(*fragments: str) -> str:
    """A page laid out as JupyterLab lays out a notebook: each stepper in a cell's output."""
    cells = "".join(f'<div class="jp-Cell" tabindex="-1"><div class="jp-OutputArea">{f}</div>'
                    "</div>" for f in fragments)
    return document(f'<div class="jp-Notebook" tabindex="-1">{cells}</div>')


# The help text about the overview beside whether the overview shows.
OVERVIEW_SAID = ("[root.querySelector('.mg-tools').textContent.indexOf('overview') >= 0,"
                 " !root.querySelector('.mg-minimap').hidden]")


def test_the_help_text_is_true_where_it_is_shown(browser, tmp_path):
    """Esc gives the keys back to the notebook inside a notebook, and to the page on a saved
    page; the overview is spoken of only while there is one (a small graph shown whole has
    none)."""
    J, _ = two_neuron_chain()
    saved, s = stepper_page(browser, tmp_path, J, name="saved.html")
    help_texts = s.js("Array.from(root.querySelectorAll('.mg-esc')).map(function (e) {"
                      " return e.textContent; })")
    assert help_texts == ["Esc gives the keys back to the page"] * 2
    assert "notebook" not in s.js("root.querySelector('.mg-live').textContent")
    # Shown whole, the small graph has no overview, and the help says none.
    assert s.js(OVERVIEW_SAID) == [False, False]
    assert "overview" not in s.js("root.querySelector('.mg-live').textContent")
    # Zoomed in, the overview appears, and so does the help about it; fitted again, both go.
    s.click("zoom-in")
    s.click("zoom-in")
    assert s.js(OVERVIEW_SAID) == [True, True]
    s.click("fit")
    assert s.js(OVERVIEW_SAID) == [False, False]

    fragment = fragment_of(J)
    page = open_page(browser, tmp_path, notebook_page(fragment), name="notebook.html")
    t = Stepper(page, uid_of(fragment))
    assert t.js("Array.from(root.querySelectorAll('.mg-esc')).map(function (e) {"
                " return e.textContent; })") == ["Esc gives the keys back to the notebook"] * 2
    assert "to the page" not in t.js("root.querySelector('.mg-live').textContent")
    # A big graph has its overview from the start, and the help says so.
    big = viz.save_stepper(xor_mlp_loss(), tmp_path / "big.html")
    b = Stepper(Page(browser, big.resolve().as_uri(), WIDTH, HEIGHT), uid_of(big.read_text()))
    assert b.js(OVERVIEW_SAID) == [True, True]


# The graph window's height, the page's height and the window's.
HEIGHTS = ("[root.querySelector('.mg-graph').getBoundingClientRect().height,"
           " document.documentElement.scrollHeight, window.innerHeight,"
           " root.getBoundingClientRect().bottom]")


def test_on_a_page_of_its_own_the_graph_takes_the_windows_height(browser, tmp_path):
    """A saved stepper in a large window (1900 x 1300) grows its graph window to the height
    the rest of the stepper leaves, the whole stepper still in the window; a smaller window
    shrinks it again (never below the fixed 520 pixels).  Inside a notebook the graph keeps
    its fixed height: the notebook scrolls past it."""
    loss = xor_mlp_loss()
    path = viz.save_stepper(loss, tmp_path / "tall.html")
    page = Page(browser, path.resolve().as_uri(), 1900, 1300)
    s = Stepper(page, uid_of(path.read_text("utf-8")))
    page.screenshot(tmp_path / "tall.png")
    graph, document_height, window, bottom = s.js(HEIGHTS)
    assert graph > 520 + 300, graph
    assert document_height <= window and window - 60 <= bottom <= window, (bottom, window)
    # The side panel grows with it (its step list is not left at its own 560 pixels).
    side = s.js("root.querySelector('.mg-side').getBoundingClientRect().height")
    assert side >= graph
    # A smaller window: the graph's window follows, the view keeps the current step in view.
    s.go_to(40)
    page.send("Emulation.setDeviceMetricsOverride", {"width": 1900, "height": 1000,
                                                     "deviceScaleFactor": 1, "mobile": False})
    page.wait_for(f"(function () {{ var root = document.getElementById({s.uid!r});"
                  " return root.getBoundingClientRect().bottom <= window.innerHeight; })()",
                  "the stepper to fit the smaller window")
    smaller, _, window, bottom = s.js(HEIGHTS)
    assert 520 <= smaller < graph - 200 and bottom <= window
    page.send("Emulation.setDeviceMetricsOverride", {"width": 1900, "height": 600,
                                                     "deviceScaleFactor": 1, "mobile": False})
    page.wait_for(f"document.getElementById({s.uid!r}).querySelector('.mg-graph')"
                  ".getBoundingClientRect().height < 600", "the graph to shrink")
    assert s.js(HEIGHTS)[0] == pytest.approx(520, abs=1)

    fragment = fragment_of(loss)
    notebook = open_page(browser, tmp_path, notebook_page(fragment), name="nb.html")
    notebook.send("Emulation.setDeviceMetricsOverride", {"width": 1900, "height": 1300,
                                                         "deviceScaleFactor": 1,
                                                         "mobile": False})
    t = Stepper(notebook, uid_of(fragment))
    assert t.js(HEIGHTS)[0] == pytest.approx(520, abs=1)


# ---- the payload, built once; the gradient check, from gradcheck --------------------------------

def test_the_page_is_built_from_one_trace_its_names_and_equations_once(monkeypatch):
    calls = {"names": 0, "equations": 0, "traces": 0}

    def counting(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    for module in (stepper_module, steps_module):
        monkeypatch.setattr(module, "display_names", counting("names", module.display_names))
        monkeypatch.setattr(module, "equations", counting("equations", module.equations))
    real_init = trace_module.Trace.__init__

    def init(self, root):
        calls["traces"] += 1
        real_init(self, root)

    monkeypatch.setattr(trace_module.Trace, "__init__", init)
    assert not hasattr(trace_module.Trace, "central_difference")  # gradcheck's is the one
    loss = xor_mlp_loss()
    data = viz.stepper(loss).data
    assert calls == {"names": 1, "equations": 1, "traces": 1}
    assert all(c["agree"] is True for c in data["checks"])


def test_a_check_at_a_kink_says_why_and_a_big_one_is_checked_or_says_why_not(monkeypatch):
    x, y = Value(0.0, label="x"), Value(2.0, label="y")
    data = viz.stepper(named(x.relu() * y, "out")).data
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["x"]["agree"] is False and checks["y"]["agree"] is True
    assert "kink" in checks["x"]["reason"] and "relu's input 'x' is 0.0" in \
        checks["x"]["reason"]
    # Every leaf of a net over a few points is checked, not skipped.
    loss = xor_mlp_loss((8, 8, 1))
    data = viz.stepper(loss).data
    assert len(data["checks"]) == 105 and all(c["agree"] is True for c in data["checks"])
    # Past the page's limit, the page says why nothing was checked.
    monkeypatch.setattr(stepper_module, "MAX_CHECKS", 3)
    data = viz.stepper(loss).data
    assert all(c["agree"] is None for c in data["checks"])
    assert data["check_note"].startswith("not checked: 105 leaves")


# ---- practice: predict, then reveal --------------------------------------------------------------

def answers_of(step) -> list[str]:
    """What a learner types at a step: each edge's local derivative, then its contribution."""
    typed = []
    for x, d, c in zip(step.inputs, step.local_grads, step.contributions):
        if x.grad is not None:
            typed += [viz.format_number(d), viz.format_number(c)]
    return typed


def type_answer(page: Page, s: Stepper, k: int, text: str) -> None:
    page.eval(f"(function () {{ var i = document.getElementById({s.id('blanks')!r})"
              f".querySelectorAll('input')[{k}]; i.focus(); i.value = ''; return 1; }})()")
    page.send("Input.insertText", {"text": text})
    page.key("Enter", 13)


def test_practice_hides_each_steps_numbers_until_they_are_typed(browser, tmp_path):
    J, named_values = two_neuron_chain()
    steps = viz.backward_steps(J)
    J.backward()
    secrets = [viz.format_number(named_values[n].grad) for n in ("w1", "w2")]
    secrets += [viz.format_number(c) for step in steps[2:] for c in step.contributions
                if c is not None and len(viz.format_number(c)) > 4]
    # Only numbers the forward pass does not show as well (the data stays on the page).
    shown = " ".join(viz.format_number(v.data) for step in steps for v in (step.node,
                                                                              *step.inputs))
    secrets = [n for n in secrets if n not in shown]
    assert len(secrets) > 4
    html_text = fragment_of(J, practice=True)
    # In the page's bytes only inside the fallback's folded answers (for viewers without
    # scripts; the live page removes them): the data and the picture carry none.
    answers = re.search(r"<details><summary[^>]*>Answers</summary>.*?</details>", html_text,
                        flags=re.S)
    assert answers and all(n in answers.group(0) for n in secrets)
    assert not [n for n in secrets if n in html_text.replace(answers.group(0), "")]

    page = open_page(browser, tmp_path, document(html_text), name="practice.html")
    s = Stepper(page, uid_of(html_text))
    dom = "document.documentElement.textContent + document.body.innerText"
    assert not [n for n in secrets if n in page.eval(dom)]
    table = s.js("Array.from(root.querySelectorAll('.mg-checks td')).map(function (c) {"
                 " return c.textContent; })")
    assert "?" in table and not [n for n in secrets if n in " ".join(table)]

    s.click("next")
    first = steps[0]
    assert s.position() == 1 and "[?1]" in s.equation()
    # A miss: the formula with the numbers in, and the blank waits.
    type_answer(page, s, 0, "12345")
    feedback = s.js(f"document.getElementById({s.id('feedback')!r}).textContent")
    assert "Try again" in feedback and first.formulas[0] in feedback
    assert s.position() == 1
    # Right answers (to the shown precision) reveal the step and move on.
    for k, text in enumerate(answers_of(first)):
        type_answer(page, s, k, text)
    assert s.position() == 2
    for step in steps[1:]:
        assert s.position() == step.index + 1
        for k, text in enumerate(answers_of(step)):
            type_answer(page, s, k, text)
    text = page.eval(dom)
    assert all(n in text for n in secrets[:2])  # the leaves' grads, now on the page
    s.go_to(1)
    assert s.equation() == first.equation
    score = s.js(f"document.getElementById({s.id('score')!r}).textContent")
    ops = [step.op.name for step in steps]
    assert f"{ops[0]}: 0 of {ops.count(ops[0])}" in score  # the miss at the first step
    assert f"mul: {ops.count('mul')} of {ops.count('mul')}" in score
    # Start again: the numbers are hidden again.
    s.click("reset")
    assert not [n for n in secrets[:2] if n in page.eval(dom)]
    assert s.position() == 0 and "none yet" in s.js(
        f"document.getElementById({s.id('score')!r}).textContent")


def test_practice_without_scripts_lists_exercises_and_folds_the_answers(browser, tmp_path):
    J, named_values = two_neuron_chain()
    J.backward()
    w1 = viz.format_number(named_values["w1"].grad)
    html_text = fragment_of(J, practice=True)
    page = open_page(browser, tmp_path, document(html_text), name="practice-plain.html",
                     scripts=False)
    assert w1 not in page.eval("document.body.innerText")
    page.eval("document.querySelector('.mg-fallback details').open = true")
    visible = page.eval("document.body.innerText")
    assert "[?1]" in visible and w1 not in visible  # exercises shown, answers still folded
    page.eval("document.querySelectorAll('.mg-fallback details')[1].open = true")
    assert w1 in page.eval("document.body.innerText")


def test_a_big_graph_cut_by_max_nodes_does_not_suggest_minutes_of_layout(monkeypatch):
    x = Value(0.5, label="x")
    v = x
    for _ in range(30):
        v = v.tanh()
    data = viz.stepper(v, max_nodes=10).data
    assert "max_nodes=None to draw all 31" in data["omitted_note"]
    monkeypatch.setattr(stepper_module, "LAYOUT_LIMIT", 20)
    data = viz.stepper(v, max_nodes=10).data
    cut = [step["text"] for step in data["steps"] if not step["drawn"]]
    for said in [data["omitted_note"], *cut]:
        assert "max_nodes=None" not in said and "busy for minutes" in said


def test_a_page_that_is_one_stepper_takes_the_keys_at_once(browser, tmp_path):
    x = Value(3.0, label="x")
    page, s = stepper_page(browser, tmp_path, named((x * 2).tanh(), "y"), name="alone.html")
    page.key("ArrowRight", 39)
    assert s.position() == 1
