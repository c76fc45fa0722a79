"""Headless Chromium for the tests and benchmarks that look at the pages backprop is shown in.

The stepper, the explorer and the notebook's drawings are pages: their arithmetic and their
keys run in JavaScript, so they are tried in a real browser.  This module is the one driver
they share.  Chromium is spoken to through the Chrome DevTools Protocol over
``--remote-debugging-pipe``: the browser reads commands on file descriptor 3 and writes
replies and events on 4, each a JSON message ended by a NUL byte.  So nothing beyond the
standard library and a Chromium binary is needed.

* `find_browser` finds the binary; `skip_without_chromium` skips a test when there is none.
* `Browser` launches it (one headless process with its own profile folder), sends commands
  and waits for replies and events, every wait bounded by its ``timeout``.  Used as a context
  manager it is always closed, and killed when it does not close.
* `Page` is one tab: load, evaluate JavaScript, click, press keys, take screenshots.
* `serving` runs the server a page comes from (JupyterLab, marimo, code-server) on a free
  port of 127.0.0.1, until it answers, and stops it afterwards.

A test module's fixture::

    @pytest.fixture(scope="module")
    def browser(tmp_path_factory):
        with Browser(skip_without_chromium(), tmp_path_factory.mktemp("profile")) as b:
            yield b
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

try:  # the tests skip through pytest; the benchmarks use the driver without it
    import pytest
except ImportError:  # pragma: no cover
    pytest = None

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 30.0  # seconds for any single wait; the pages tested are small and local
READ_SIZE = 1 << 20  # a screenshot's reply is a few megabytes of base64
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions")


def find_browser() -> str | None:
    """The path of the first Chromium or Chrome binary on ``PATH``, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def skip_without_chromium() -> str:
    """The browser's path; skips the calling test (or fixture) when none is installed."""
    binary = find_browser()
    if binary is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    return binary


class Browser:
    """One headless Chromium, spoken to over ``--remote-debugging-pipe``.

    Args:
        binary: the browser's path (`find_browser`).
        profile: an empty folder for the browser's profile, so no user's settings apply.
        timeout: seconds to wait for any one reply or event.
    """

    def __init__(self, binary: str, profile: str | Path, timeout: float = TIMEOUT):
        self.timeout = timeout
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def plumb():
            # In the child: the browser reads fd 3 and writes fd 4.  Both ends are moved out
            # of the way first, so that neither dup2 can clobber the other.
            r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
            w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # close_fds=False: the pipes are close-on-exec anyway, and fds 3 and 4, made by
            # dup2 in plumb(), must survive the exec.
            preexec_fn=plumb, close_fds=False)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []  # every event not yet waited for, in arrival order

    def __enter__(self) -> Browser:
        try:
            self.send("Browser.getVersion")  # up and answering before any test relies on it
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Asks the browser to close, kills it if it does not within 5 s, frees the pipes."""
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass  # already gone, or not answering: killed below
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
                chunk = os.read(self._from_browser, READ_SIZE)
                if not chunk:
                    raise ConnectionError("the browser closed its DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float | None = None) -> dict:
        """Sends one command and returns its result; events read meanwhile are kept.

        Raises:
            RuntimeError: the browser answered with an error.
            TimeoutError: no answer within ``timeout`` (default: the browser's).
        """
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for_event(self, method: str, session: str | None = None,
                       timeout: float | None = None) -> dict:
        """The first event ``method`` (of ``session``, when given), taken off `events`."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and session in (None, event.get("sessionId")):
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))


class Page:
    """One tab of ``browser``, attached with a flat session, opened on ``url``.

    Args:
        browser: the `Browser`.
        url: the page to open.
        width, height: the window's size in CSS pixels.
        scripts: False opens the page with JavaScript off, as GitHub, nbviewer and an
            untrusted notebook show it.
        wait_for_load: wait for the page's load event; False returns once navigation has
            started (for pages that are polled with `wait_for`, or timed from inside).
    """

    def __init__(self, browser: Browser, url: str, width: int = 1280, height: int = 900,
                 scripts: bool = True, wait_for_load: bool = True):
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget",
                                    {"targetId": target, "flatten": True})["sessionId"]
        if wait_for_load:
            self.send("Page.enable")  # the load event is sent only once Page is enabled
        if not scripts:
            self.send("Emulation.setScriptExecutionDisabled", {"value": True})
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1,
                                                         "mobile": False})
        self.send("Page.navigate", {"url": url})
        if wait_for_load:
            browser.wait_for_event("Page.loadEventFired", self.session)

    def send(self, method: str, params: dict | None = None) -> dict:
        """Sends one command to this tab (see `Browser.send`)."""
        return self.browser.send(method, params, session=self.session)

    def eval(self, expression: str):
        """The value of a JavaScript expression (a promise's, once it settles), as JSON gives it.

        Raises:
            RuntimeError: the expression threw; the message holds the page's exception.
        """
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, shot: Path | None = None):
        """Polls ``expression`` until it is truthy and returns it.

        Raises:
            TimeoutError: not within the browser's timeout, saying ``what`` was awaited; the
                window is saved to ``shot`` first, when given, to see why.
        """
        deadline = time.monotonic() + self.browser.timeout
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.25)
        if shot is not None:
            self.screenshot(shot)
        raise TimeoutError(f"waited {self.browser.timeout:g} s for {what}")

    def screenshot(self, path: Path) -> Path:
        """The window as a PNG at ``path``."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def click(self, selector: str, index: int = 0) -> None:
        """A left click at the middle of the ``index``-th element matching ``selector``."""
        self._click_element(f"document.querySelectorAll({json.dumps(selector)})[{index}]")

    def click_id(self, element_id: str) -> None:
        """A left click at the middle of the element with id ``element_id``."""
        self._click_element(f"document.getElementById({json.dumps(element_id)})")

    def _click_element(self, element: str) -> None:
        # Scrolled into the window first: a click outside it reaches nothing.
        x, y = self.eval(f"(function () {{ var e = {element};"
                         " e.scrollIntoView({block: 'nearest', inline: 'nearest'});"
                         " var r = e.getBoundingClientRect();"
                         " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        self.click_at(x, y)

    def click_at(self, x: float, y: float) -> None:
        """A left click (press and release) at window coordinates ``x``, ``y``."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                   "button": "left", "clickCount": 1})

    def key(self, key: str, code: int, typed: bool = False, physical: str | None = None) -> None:
        """Presses and releases a key: its DOM name (``"ArrowRight"``, ``"b"``) and key code.

        With ``typed``, a one-character key also types its character (a keypress, text into
        a focused input), as a real keyboard does; without, only keydown and keyup are sent.
        ``physical`` is the event's ``code`` (``"KeyB"``, ``"Space"``) for pages whose
        shortcuts read it; without, the key's name stands in.
        """
        params: dict = {"key": key, "code": physical or key, "windowsVirtualKeyCode": code}
        if typed:
            params["text"] = key if len(key) == 1 else ""
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, **params})

    def text(self, selector: str) -> str:
        """The text content of the first element matching ``selector``."""
        return self.eval(f"document.querySelector({json.dumps(selector)}).textContent")

    def errors(self) -> list[dict]:
        """Every uncaught page error the browser has reported so far, from any of its tabs.

        Only reported for tabs where ``Runtime.enable`` was sent.  Tabs share the list, so a
        check that there are none also catches an earlier page's error left unchecked.
        """
        return [e for e in self.browser.events if e.get("method") == "Runtime.exceptionThrown"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(command: list, health: str, name: str, wait: float, log: Path | None = None,
            **popen):
    """Runs ``command`` (a server) until ``health`` (a URL) answers, then yields; the server is
    stopped afterwards, killed if it does not stop.  ``log`` takes its output (else dropped);
    its end is in the error when the server does not start within ``wait`` seconds."""
    out = log.open("w") if log is not None else subprocess.DEVNULL
    server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **popen)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                urllib.request.urlopen(health, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    tail = f":\n{log.read_text()[-2000:]}" if log is not None else ""
                    raise RuntimeError(f"{name} did not start{tail}") from None
                time.sleep(0.25)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        if log is not None:
            out.close()
