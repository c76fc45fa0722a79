"""The stepper page, tried in a real browser: buttons, keys and slider walk the backward pass.

Headless Chromium is driven through the Chrome DevTools Protocol over a pipe (file
descriptors 3 and 4, NUL-separated JSON), so no browser-automation package is needed.  The
test skips when no Chromium is installed; every wait is bounded and the browser is always
killed.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import time

import pytest

from microgrant import Value, viz

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 30.0  # seconds for any single wait; the page is tiny and local


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
        box = self.eval(f"(function () {{ var r = document.getElementById({element_id!r})"
                        f".getBoundingClientRect(); return [r.x + r.width / 2, "
                        f"r.y + r.height / 2]; }})()")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                   "button": "left", "clickCount": 1})

    def key(self, key: str, code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key,
                                                 "windowsVirtualKeyCode": code})

    def equation(self) -> str:
        return self.eval("document.getElementById('equation').textContent")

    def current_ids(self) -> list[str]:
        return self.eval("Array.from(document.querySelectorAll('.current'))"
                         ".map(function (e) { return e.id; })")


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


def two_neuron_chain():
    """Note 004's chain: z1 = w1*x1, a1 = sigmoid(z1), z2 = w2*a1, yhat = sigmoid(z2), BCE."""
    x1, y = Value(1.5, label="x1"), 1.0
    w1, w2 = Value(0.8, label="w1"), Value(-0.4, label="w2")
    z1 = w1 * x1; z1.label = "z1"
    a1 = z1.sigmoid(); a1.label = "a1"
    z2 = w2 * a1; z2.label = "z2"
    yhat = z2.sigmoid(); yhat.label = "yhat"
    J = -(y * yhat.log() + (1 - y) * (1 - yhat).log()); J.label = "J"
    return J, {"w1": w1, "w2": w2, "z2": z2, "yhat": yhat}


def test_stepper_buttons_keys_and_slider_walk_the_backward_pass(browser, tmp_path):
    J, named = two_neuron_chain()
    path = viz.save_stepper(J, tmp_path / "stepper.html")
    steps = viz.backward_steps(J)
    page = Page(browser, path.resolve().as_uri())

    assert "the seed" in page.equation()
    assert page.eval("document.getElementById('prev').disabled") is True

    # A real mouse click on Next shows the first chain-rule step: J's own op.
    page.click("next")
    shown = page.equation()
    assert shown == steps[0].equation
    assert shown.startswith("step 1: J = ")
    assert steps[0].node_id in page.current_ids()
    assert page.eval("document.getElementById('slider').value") == "1"

    # Walk on with the arrow key to the step where yhat passes its gradient to z2: the page
    # must show the number the engine's own backward pass gives z2.
    J.backward()
    target = next(s for s in steps if s.node is named["yhat"])
    for _ in range(target.index):
        page.key("ArrowRight", 39)
    shown = page.equation()
    assert shown == target.equation
    assert viz.format_number(named["z2"].grad) in shown
    highlighted = set(page.current_ids())
    assert {target.node_id, f"{target.node_id}_op", *target.input_ids} <= highlighted

    # Clicking Previous goes back one step.
    page.click("prev")
    assert page.equation() == steps[target.index - 1].equation

    # The slider jumps anywhere: its end is the last step, which gives w1 its gradient.
    page.eval("(function () { var s = document.getElementById('slider');"
              f" s.value = '{len(steps)}'; s.dispatchEvent(new Event('input')); }})()")
    shown = page.equation()
    assert shown == steps[-1].equation
    assert f"dJ/dw1 += " in shown
    assert re.search(r"= " + re.escape(viz.format_number(named["w1"].grad)) + r"\b", shown)
    assert page.eval("document.getElementById('next').disabled") is True

    # Nothing was fetched from anywhere: the page is self-contained.
    assert page.eval("performance.getEntriesByType('resource').length") == 0


def test_stepper_survives_hostile_labels_in_the_browser(browser, tmp_path):
    x = Value(2.0, label='</script><b>"x" & {y}|\\')
    y = (x * x).tanh()
    y.label = "é<out>"
    path = viz.save_stepper(y, tmp_path / "hostile.html")
    page = Page(browser, path.resolve().as_uri())
    page.click("next")
    assert page.equation() == viz.backward_steps(y)[0].equation
    page.click("next")
    assert '</script><b>"x" & {y}|\\' in page.equation()


def test_a_link_can_open_the_stepper_at_a_step(browser, tmp_path):
    J, _ = two_neuron_chain()
    path = viz.save_stepper(J, tmp_path / "linked.html")
    page = Page(browser, path.resolve().as_uri() + "#step=3")
    assert page.equation() == viz.backward_steps(J)[2].equation
    assert page.eval("document.getElementById('counter').textContent").startswith("step 3 of")


# ---- numbers appear as backprop reaches them -------------------------------------------------

def go_to(page: Page, position: int) -> None:
    page.eval("(function () { var s = document.getElementById('slider');"
              f" s.value = '{position}'; s.dispatchEvent(new Event('input')); }})()")


def texts_of(page: Page, element_id: str) -> list[dict]:
    """Each <text> in an element (a grad cell is found as Graphviz writes it, "a_" + id)."""
    return page.eval(
        f"(function () {{ var e = document.getElementById({element_id!r}) ||"
        f" document.getElementById('a_' + {element_id!r});"
        " return Array.from(e.querySelectorAll('text')).map(function (t) {"
        " var r = t.getBoundingClientRect();"
        " return {text: t.textContent, visibility: getComputedStyle(t).visibility,"
        " width: r.width}; }); })()")


def shown(page: Page, element_id: str) -> bool | None:
    """True when all of the element's text is visible, False when all hidden, else None."""
    states = {t["visibility"] for t in texts_of(page, element_id)}
    assert states, f"{element_id} has no text"
    return True if states == {"visible"} else False if states == {"hidden"} else None


def svg_size(page: Page) -> list[float]:
    return page.eval("(function () { var r = document.querySelector('#graph svg')"
                     ".getBoundingClientRect(); return [r.width, r.height]; })()")


def test_grads_and_edge_labels_appear_when_backprop_reaches_them(browser, tmp_path):
    J, named = two_neuron_chain()
    steps = viz.backward_steps(J)
    page = Page(browser, viz.save_stepper(J, tmp_path / "reveal.html").resolve().as_uri())
    size = svg_size(page)
    # w2 takes its gradient at one step only: z2 = w2 * a1 passes it on.
    z2_step = next(s for s in steps if s.node is named["z2"])
    w2_id = z2_step.input_ids[0]
    assert z2_step.inputs[0] is named["w2"]
    w2_edge = f"{z2_step.node_id}_in0"
    k = z2_step.index + 1  # its position on the page (0 is the seed)

    # The seed: only the output's grad shows; w2's grad and the edge's label are hidden,
    # but they keep their space (visibility, not display), and w2's data shows.
    J_id = steps[0].node_id
    assert shown(page, f"{J_id}_grad") is True
    assert [t["text"] for t in texts_of(page, f"{J_id}_grad")] == ["grad 1"]
    assert shown(page, f"{w2_id}_grad") is False
    assert shown(page, w2_edge) is False
    assert all(t["width"] > 0 for t in texts_of(page, f"{w2_id}_grad") + texts_of(page, w2_edge))
    data = [t for t in texts_of(page, w2_id) if t["text"].startswith("data ")]
    assert [t["visibility"] for t in data] == ["visible"]

    go_to(page, k - 1)  # one step before: still hidden
    assert shown(page, f"{w2_id}_grad") is False and shown(page, w2_edge) is False
    go_to(page, k)  # z2's step has run: w2's grad is complete and the edge says what it added
    assert shown(page, f"{w2_id}_grad") is True and shown(page, w2_edge) is True
    J.backward()
    assert [t["text"] for t in texts_of(page, f"{w2_id}_grad")] == \
        [f"grad {viz.format_number(named['w2'].grad)}"]
    edge_text = " ".join(t["text"] for t in texts_of(page, w2_edge))
    assert f"= {viz.format_number(named['w2'].grad)}" in edge_text
    # w1's grad needs the last step, so it is still hidden here.
    w1_id = next(i for s in steps for x, i in zip(s.inputs, s.input_ids) if x is named["w1"])
    assert shown(page, f"{w1_id}_grad") is False

    go_to(page, len(steps))  # the last step: every number is visible
    assert shown(page, f"{w1_id}_grad") is True
    assert page.eval("document.querySelectorAll('.pending').length") == 0
    hidden = page.eval("Array.from(document.querySelectorAll('#graph text')).filter("
                       "function (t) { return getComputedStyle(t).visibility !== 'visible'; })"
                       ".length")
    assert hidden == 0
    assert svg_size(page) == size  # nothing moved while numbers came and went

    go_to(page, 0)  # and back at the start they are hidden again
    assert shown(page, f"{w1_id}_grad") is False and shown(page, w2_edge) is False


def test_a_big_graph_opens_on_its_output(browser, tmp_path):
    from microgrant.nn import MLP
    out = MLP(2, [16, 16, 1], seed=0)([1.0, -1.0])
    root_id = viz.backward_steps(out)[0].node_id
    page = Page(browser, viz.save_stepper(out, tmp_path / "mlp.html").resolve().as_uri())
    assert page.eval("document.querySelector('h1').textContent") == "Backprop through the output"
    box = page.eval("(function () { var g = document.getElementById('graph'),"
                    " r = g.getBoundingClientRect(), s = g.querySelector('svg')"
                    ".getBoundingClientRect(); return {left: r.left + g.clientLeft,"
                    " top: r.top + g.clientTop, right: r.left + g.clientLeft + g.clientWidth,"
                    " bottom: r.top + g.clientTop + g.clientHeight, width: s.width,"
                    " height: s.height}; })()")
    # The picture is far bigger than its box both ways, so the box has to scroll both ways.
    assert box["width"] > 2 * (box["right"] - box["left"])
    assert box["height"] > 4 * (box["bottom"] - box["top"])
    root = page.eval(f"(function () {{ var r = document.getElementById({root_id!r})"
                     ".getBoundingClientRect(); return {left: r.left, top: r.top,"
                     " right: r.right, bottom: r.bottom}; })()")
    assert box["left"] <= root["left"] and root["right"] <= box["right"], (root, box)
    assert box["top"] <= root["top"] and root["bottom"] <= box["bottom"], (root, box)
    assert shown(page, f"{root_id}_grad") is True
    # The graph's box scrolled, not the page: the buttons and the equation are still in view.
    assert page.eval("window.scrollY") == 0
    assert "the seed" in page.equation()
