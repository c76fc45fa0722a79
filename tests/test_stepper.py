"""The stepper page, tried in a real browser: stepping, zoom, search, several on one page.

Headless Chromium is driven through the Chrome DevTools Protocol over a pipe (file
descriptors 3 and 4, NUL-separated JSON), so no browser-automation package is needed.  The
tests skip when no Chromium is installed; every wait is bounded and the browser is always
killed.

Pages come from `microgrant.viz.stepper`.  One test fills the page template itself, exactly
as ``stepper.py`` does (markers, scoped ids, JSON data), to show the page a payload a correct
graph would not give: a gradient check that disagrees.
"""

from __future__ import annotations

import html
import json
import os
import re
import select
import shutil
import subprocess
import time
from importlib import resources
from pathlib import Path

import pytest

from microgrant import Value, viz

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 30.0  # seconds for any single wait; the pages are small and local
PAGE_FILES = ("stepper.html", "stepper.css", "stepper.js")


def _find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str, profile: str):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def plumb():
            # The browser reads commands from fd 3 and writes replies to fd 4.  Move both ends
            # out of the way first, so that neither dup2 can clobber the other.
            import fcntl
            r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
            w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # close_fds=False: the pipes are close-on-exec anyway, and fds 3 and 4, made by
            # dup2 in plumb(), must survive the exec.
            preexec_fn=plumb, close_fds=False)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the browser did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 16)
                if not chunk:
                    raise ConnectionError("the browser closed its DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = TIMEOUT) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_for_event(self, method: str, timeout: float = TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method:
                    return self._events.pop(i)
            self._events.append(self._read_message(deadline))


class Page:
    """One browser tab attached with a flat session."""

    def __init__(self, devtools: DevTools, url: str):
        self.dt = devtools
        target = devtools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = devtools.send("Target.attachToTarget",
                                     {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        # A laptop's window: the stepper's side panel sits beside the graph.
        self.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 860,
                                                         "deviceScaleFactor": 1,
                                                         "mobile": False})
        self.send("Page.navigate", {"url": url})
        self.dt.wait_for_event("Page.loadEventFired")

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.dt.send(method, params, session=self.session)

    def eval(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, element_id: str) -> None:
        # Scrolled into the window first: a click outside it reaches nothing.
        box = self.eval(f"(function () {{ var e = document.getElementById({element_id!r});"
                        f" e.scrollIntoView({{block: 'nearest', inline: 'nearest'}});"
                        f" var r = e.getBoundingClientRect(); return [r.x + r.width / 2, "
                        f"r.y + r.height / 2]; }})()")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                   "button": "left", "clickCount": 1})

    def key(self, key: str, code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key,
                                                 "windowsVirtualKeyCode": code})

    def text(self, selector: str) -> str:
        return self.eval(f"document.querySelector({selector!r}).textContent")


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
        self.page.click(self.id(name))

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
    binary = _find_browser()
    if binary is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    devtools = DevTools(binary, str(tmp_path_factory.mktemp("profile")))
    try:
        devtools.send("Browser.getVersion")
        yield devtools
    finally:
        devtools.close()
        if devtools.process.poll() is None:
            devtools.process.kill()


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
              hash: str = "") -> Page:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Page(browser, path.resolve().as_uri() + hash)


def fill(uid: str, svg: str, data: dict, title: str = "a stepper") -> str:
    """The page template filled as the contract says: one pass, ids in the SVG scoped."""
    parts = {name: resources.files("microgrant.viz").joinpath(name).read_text("utf-8")
             for name in PAGE_FILES}
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\bid="([^"]*)"', lambda m: f'id="{uid}-{m.group(1)}"', svg)
    text = json.dumps(data, ensure_ascii=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    values = {"UID": uid, "CSS": parts["stepper.css"], "SVG": svg, "DATA": text,
              "JS": parts["stepper.js"], "TITLE": html.escape(title)}
    return re.sub(r"@@([A-Z]+)@@", lambda m: values[m.group(1)], parts["stepper.html"])


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
    from microgrant.losses import mse_loss
    from microgrant.nn import MLP
    model = MLP(2, list(widths), seed=0)
    X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0]
    return mse_loss([model(x) for x in X], y)


def stepper_page(browser, tmp_path, root, name="stepper.html", hash="", **options):
    """A saved stepper page of ``root`` opened in the browser, and its stepper."""
    path = viz.save_stepper(root, tmp_path / name, **options)
    page = Page(browser, path.resolve().as_uri() + hash)
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
    assert set(re.findall(r"@@([A-Z]+)@@", template)) == {"UID", "CSS", "SVG", "DATA", "JS",
                                                           "TITLE"}
    for marker in ("CSS", "SVG", "DATA", "JS", "TITLE"):
        assert template.count(f"@@{marker}@@") == 1, marker
    assert template.lstrip().startswith('<div class="mg-stepper" id="@@UID@@" tabindex="0"')
    assert not re.search(r"<(html|head|body)\b", template)
    ids = re.findall(r'\bid="([^"]*)"', template)
    assert ids and all(i == "@@UID@@" or i.startswith("@@UID@@-") for i in ids)
    script = files.joinpath("stepper.js").read_text("utf-8")
    # Nothing in the inlined script or style may end its element early.
    assert "</script" not in script.lower() and "<!--" not in script
    css = files.joinpath("stepper.css").read_text("utf-8")
    assert "</style" not in css.lower()
    # The script finds elements inside its own root only, never by a page-wide id.
    assert "document.getElementById" not in script


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
    from microgrant.nn import MLP
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
    assert s.js("api.view().zoom") == pytest.approx(1.0)  # natural size: numbers readable
    assert s.shown(f"{root_id}_grad") is True
    # The overview is shown, and the page itself did not scroll.
    assert s.js("root.querySelector('.mg-minimap').hidden") is False
    assert page.eval("window.scrollY") == 0
    assert "the seed" in s.equation()


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
    page.click(b.id("equation"))
    assert page.eval("document.activeElement.id") == b_uid
    page.key("ArrowRight", 39)
    assert (a.position(), b.position()) == (2, 2)
    page.click(a.id("equation"))
    page.key("ArrowLeft", 37)
    assert (a.position(), b.position()) == (1, 2)
    # The page's own button takes the focus back: the keys stop stepping.
    page.click("outside-button")
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
    html_text = fragment_of(loss, max_nodes=40)
    page = open_page(browser, tmp_path, document(html_text), name="cut.html")
    s = Stepper(page, uid_of(html_text))
    data = s.js("JSON.parse(document.getElementById(root.id + '-data').textContent)")
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
    html_text = fragment_of(loss)
    page = open_page(browser, tmp_path, document(html_text, html_text.replace(
        uid_of(html_text), uid_of(html_text) + "b")), name="zoom.html")
    s = Stepper(page, uid_of(html_text))
    full = [float(x) for x in s.js("(function () { var c = root.querySelector('.mg-minimap"
                                   " svg'); return c.getAttribute('viewBox'); })()").split()]

    s.click("fit")
    fitted = s.view_box()
    # Fitted, the whole picture is in the view.
    assert fitted[0] <= full[0] + 1e-6 and fitted[1] <= full[1] + 1e-6
    assert fitted[0] + fitted[2] >= full[0] + full[2] - 1e-6
    assert fitted[1] + fitted[3] >= full[1] + full[3] - 1e-6

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
    page.click("outside-button")
    before = s.view_box()
    page.send("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": centre[0],
                                           "y": centre[1], "deltaX": 0, "deltaY": -300})
    assert s.view_box() == before
    page.click(s.id("equation"))
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
    other = Stepper(page, uid_of(html_text) + "b")
    assert other.js("api.view().zoom") != s.js("api.view().zoom") or \
        other.view_box() != s.view_box()


def test_the_overview_marks_the_view_and_a_click_there_moves_it(browser, tmp_path):
    from microgrant.nn import MLP
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

    page.click(s.id("search"))
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
    page.click(f"{s.uid}-{steps[0].node_id}")
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
    page.click(s.id("first-item"))
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
    format_number = "function (x) { return api.formatNumber(x, 6); }"
    for row, c in zip(rows, checks):
        assert row[1] == s.js(f"({format_number})({c['grad']!r})")
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
            "checks": [{"id": "n0", "name": "x", "grad": 1.0, "numeric": 0.5, "agree": False},
                       {"id": "n9", "name": "far", "grad": 2.5e-11, "numeric": None,
                        "agree": None}],
            "omitted": 0, "legend": [["#d4efd4", "leaf"]]}
    page = open_page(browser, tmp_path, document(fill("mgs-check", svg, data)),
                     name="disagree.html")
    s = Stepper(page, "mgs-check")
    summary = s.js(f"document.getElementById({s.id('checks-summary')!r}).textContent")
    assert summary == "Gradient check: 0 of 2 leaves agree, 1 disagree, 1 not checked"
    assert s.js("root.querySelector('.mg-checks details').open") is True
    rows = s.js("Array.from(root.querySelectorAll('.mg-checks tr')).slice(1).map("
                "function (r) { return Array.from(r.cells).map(function (c) {"
                " return c.textContent; }); })")
    assert rows == [["x", "1", "0.5", "✗ disagree"], ["far", "2.5e-11", "not computed", "–"]]
    legend = s.js(f"document.getElementById({s.id('legend')!r}).textContent")
    assert legend == "leaf"
