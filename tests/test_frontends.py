"""The tour notebook in the front-ends learners open it in, driven by headless Chromium.

A real JupyterLab server on 127.0.0.1 serves two copies of ``examples/tour.ipynb``: one run in
the browser (trusted, as for the learner who runs it), and one executed on the command line
beforehand (untrusted when opened, as a notebook from git or a classmate is: Lab then shows no
``image/svg+xml`` at all, so a drawing must bring its PNG).  The same executed notebook's
nbconvert HTML export is viewed with JavaScript off, as GitHub and nbviewer show it.  The
browser is driven over the DevTools protocol through a pipe, with the standard library only.

Screenshots of each view are written to the test's temporary folder.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
nbconvert = pytest.importorskip("nbconvert")
pytest.importorskip("jupyterlab")
pytest.importorskip("pygraphviz")

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "examples" / "tour.ipynb"
TOKEN = "microgrant-test"
WAIT = 45.0  # seconds for any one wait: a server start, a page, the tour's run
# The tour's drawings, by the last line of their cells.
DRAWING_CELLS = ("viz.draw(a)", 'viz.draw(a, view="backward")', "viz.draw_dot(a)",
                 'viz.draw(loss, view="collapsed")')


def find_browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class Browser:
    """Headless Chromium, spoken to over ``--remote-debugging-pipe`` (fds 3 and 4)."""

    def __init__(self, binary: str, profile: Path):
        to_browser_r, self._out = os.pipe()
        self._in, from_browser_w = os.pipe()
        fds = (to_browser_r, from_browser_w)

        def plumb():  # in the child: the browser reads fd 3 and writes fd 4
            import fcntl
            moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds]
            os.dup2(moved[0], 3)
            os.dup2(moved[1], 4)

        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--disable-extensions", f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=plumb, close_fds=False)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the browser did not answer in time")
            if select.select([self._in], [], [], left)[0]:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise ConnectionError("the browser closed its DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + WAIT
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait(timeout=10)
        for fd in (self._in, self._out):
            os.close(fd)


class Page:
    """One tab."""

    def __init__(self, browser: Browser, url: str, javascript: bool = True):
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget",
                                    {"targetId": target, "flatten": True})["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 1000,
                                                         "deviceScaleFactor": 1,
                                                         "mobile": False})
        if not javascript:
            self.send("Emulation.setScriptExecutionDisabled", {"value": True})
        self.send("Page.navigate", {"url": url})

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.browser.send(method, params, session=self.session)

    def eval(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, shot: Path | None = None):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.25)
        if shot is not None:
            self.screenshot(shot)
        raise TimeoutError(f"waited {WAIT:g} s for {what}")

    def screenshot(self, path: Path) -> Path:
        """The window as a PNG."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def screenshots(self, folder: Path, stem: str) -> None:
        """One screenshot per drawing cell, scrolled into view (Lab scrolls inside itself)."""
        for k, source in enumerate(DRAWING_CELLS):
            self.eval(f"Array.from(document.querySelectorAll('.jp-CodeCell')).find(c => "
                      f"((c.querySelector('.cm-content') || {{}}).innerText || '').trim()"
                      f".split('\\n').pop() === {source!r})"
                      f".scrollIntoView()")
            time.sleep(0.3)  # let the panel repaint after the scroll
            self.screenshot(folder / f"{stem}-{k + 1}.png")


# What each drawing cell's output area holds, in the page: its images and its text.
CELL_OUTPUTS = """
(() => Array.from(document.querySelectorAll('.jp-CodeCell')).map(cell => ({
  source: ((cell.querySelector('.jp-InputArea .cm-content') || {}).innerText || '').trim()
    .split('\\n').pop(),
  images: Array.from(cell.querySelectorAll('.jp-OutputArea-output img'))
    .filter(img => img.complete && img.naturalWidth > 0).map(img => img.src.split(',')[0]),
  svgs: cell.querySelectorAll('.jp-OutputArea-output svg').length,
  text: Array.from(cell.querySelectorAll('.jp-OutputArea-output'))
    .map(o => o.innerText).join('\\n'),
  prompt: (cell.querySelector('.jp-InputPrompt') || {}).innerText || '',
})))()
"""


def drawings(page: Page) -> dict[str, dict]:
    cells = page.eval(CELL_OUTPUTS)
    return {cell["source"].strip(): cell for cell in cells
            if cell["source"].strip() in DRAWING_CELLS}


class ThisInterpreter(KernelSpecManager):
    """Every kernel is an ipykernel on this test's Python, importing this checkout."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                "{connection_file}"], env={"PYTHONPATH": str(ROOT)},
                          display_name="Python 3", language="python")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The folder Lab serves: the tour, the tour executed elsewhere, and its HTML export."""
    binary = find_browser()
    if binary is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("site")
    shutil.copy(TOUR, folder / "tour.ipynb")
    nb = nbformat.read(TOUR, as_version=4)
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())
    nbclient.NotebookClient(nb, km=km, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    nbformat.write(nb, folder / "executed.ipynb")
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    (folder / "executed.html").write_text(body, encoding="utf-8")
    return folder, binary


@pytest.fixture(scope="module")
def lab(site, tmp_path_factory):
    folder, _ = site
    home = tmp_path_factory.mktemp("jupyter")  # no trust database, settings or workspaces
    # Every cell in the page (Lab otherwise renders only those in view), and no news popup.
    # Start the notebook's own kernel without asking which.
    for plugin, settings in (("notebook-extension/tracker", {"windowingMode": "none",
                                                             "autoStartDefaultKernel": True}),
                             ("apputils-extension/notification", {"fetchNews": "false"})):
        path = home / "settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "run"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}",
         "--LabApp.expose_app_in_browser=True", "--allow-root"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT
    try:
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("JupyterLab did not start") from None
                time.sleep(0.25)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    _, binary = site
    driver = Browser(binary, tmp_path_factory.mktemp("profile"))
    try:
        driver.send("Browser.getVersion")
        yield driver
    finally:
        driver.close()


def test_opened_untrusted_every_drawing_is_an_image(lab, browser, tmp_path):
    page = Page(browser, f"{lab}/lab/tree/executed.ipynb?token={TOKEN}")
    page.wait_for(f"(() => {{ const d = ({CELL_OUTPUTS.strip()}); return d.filter(c => "
                  f"c.images.length).length >= {len(DRAWING_CELLS)}; }})()",
                  "the untrusted notebook's pictures")
    page.screenshots(tmp_path, "lab-untrusted")
    shown = drawings(page)
    assert set(shown) == set(DRAWING_CELLS)
    for source, cell in shown.items():
        # Lab shows no SVG from an untrusted notebook: the PNG is the picture, and no label
        # text leaks out as a paragraph.
        assert cell["images"] == ["data:image/png;base64"], (source, cell)
        assert cell["svgs"] == 0 and cell["text"].strip() == "", (source, cell["text"][:200])


def test_run_in_the_browser_every_drawing_is_the_svg(lab, browser, tmp_path):
    page = Page(browser, f"{lab}/lab/tree/tour.ipynb?token={TOKEN}")
    page.wait_for("(() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                  " const k = w && w.sessionContext && w.sessionContext.session &&"
                  " w.sessionContext.session.kernel; return !!(k && k.status === 'idle' &&"
                  " document.querySelector('.jp-CodeCell')); })()",
                  "the notebook and its kernel", shot=tmp_path / "lab-start-timeout.png")
    page.eval("window.jupyterapp.commands.execute('notebook:run-all-cells') && true")
    page.wait_for(f"(() => {{ const d = ({CELL_OUTPUTS.strip()}); return d.filter(c => "
                  f"c.images.length).length >= {len(DRAWING_CELLS)} && d.every(c => "
                  f"!c.prompt.includes('*')); }})()", "the tour to run",
                  shot=tmp_path / "lab-run-timeout.png")
    page.screenshots(tmp_path, "lab-run")
    shown = drawings(page)
    assert set(shown) == set(DRAWING_CELLS)
    for source, cell in shown.items():
        assert cell["images"] == ["data:image/svg+xml"], (source, cell)
        assert cell["text"].strip() == "", (source, cell["text"][:200])


def test_the_html_export_shows_every_drawing_without_javascript(site, browser, tmp_path):
    folder, _ = site
    page = Page(browser, (folder / "executed.html").as_uri(), javascript=False)
    count = page.wait_for("document.readyState === 'complete' && "
                          "document.querySelectorAll('.jp-OutputArea-output svg, "
                          ".jp-OutputArea-output img').length", "the exported page")
    page.screenshot(tmp_path / "export-no-js.png")
    # Each drawing as its SVG, inline, which needs no script; no drawing as text.
    assert count >= len(DRAWING_CELLS)
    assert "<Drawing" not in page.eval("document.body.innerText")
