"""microgrant's notebook outputs in VS Code's notebook view, driven by headless Chromium.

VS Code runs in the browser as code-server (``.ci/run`` installs it), with nothing but its
built-in notebook support: the ipynb format and the built-in output renderers, no Jupyter
extension and no kernel.  So it shows a notebook executed beforehand, as a learner sees one
shared through git: here a small notebook (a stepper, a Drawing, the explorer) and the tour.
VS Code draws each output in one webview below the cells; the test reads that webview's page
through the browser's frames and clicks and types through the browser's own input, as a
learner does.

What is checked:

* A folder VS Code has not been told to trust opens in Restricted Mode, where VS Code's
  renderer shows no HTML and no SVG at all (it returns before drawing them), while plain
  text and PNG do show: microgrant's pictures and pages are blank there until the learner
  trusts the folder.  Trusting it (VS Code's own dialog) brings them up at once.
* Trusted, the Drawing is its SVG, and the stepper and the explorer run their scripts.
* The stepper's keys act while it has the focus and none of them reaches VS Code: the webview
  hands VS Code every key that reaches its window, and VS Code's down arrow moves to the next
  cell.  Esc gives the keys back: the next down arrow is VS Code's again.
* The explorer's overview is drawn whole inside the output, heatmaps painted, and a neuron
  opens its chain rule; Esc comes back.
* Every output of the tour comes up, and its drawings scale down to an output narrower than
  they are declared wide (VS Code puts the SVG itself into the page).

Screenshots are written to the test's temporary folders.  The test skips, saying why, when
code-server or Chromium is not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from chromium import Browser, Page, free_port, serving, skip_without_chromium

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("pygraphviz")

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "examples" / "tour.ipynb"
WAIT = 60.0  # seconds for any one wait: code-server's start, the workbench, a notebook
CODE_SERVER_VERSION = "4.139.1"  # as pinned in .ci/run
WIDTH, HEIGHT = 1400, 1500  # tall enough that the first cell's stepper is in view

# The small notebook: a line of text (shown even in Restricted Mode), a stepper, a Drawing,
# the explorer.
NOTEBOOK = (
    "from microgrant import Value, viz\nfrom microgrant.data import logic_gate\n"
    "from microgrant.nn import MLP\nfrom microgrant.optim import Adam\n"
    "from microgrant.train import fit\n"
    "x1, x2 = Value(2.0, label='x1'), Value(0.0, label='x2')\n"
    "w1, w2 = Value(-3.0, label='w1'), Value(1.0, label='w2')\n"
    "b = Value(6.8814, label='b')\n"
    "o = (x1 * w1 + x2 * w2 + b).tanh()\nloss = (o - 1.0) ** 2\nloss.backward()\n"
    "print('a neuron, its backward pass done')\nviz.stepper(loss)",
    "viz.draw(loss)",
    "X, y = logic_gate('xor')\nnet = MLP(2, [3, 1], activation='tanh', seed=1)\n"
    "history = fit(net, X, y, loss='bce_logits', epochs=30, record=3, verbose=False,\n"
    "              optimizer=Adam(net.parameters(), lr=0.1))\nviz.explore(net, X, y, history)",
)
TOUR_DRAWINGS, TOUR_STEPPERS = 4, 3

# VS Code's own settings for the run: no welcome page, chat panel or tips over the notebook.
SETTINGS = {"workbench.startupEditor": "none", "chat.disableAIFeatures": True,
            "workbench.secondarySideBar.defaultVisibility": "hidden",
            "workbench.tips.enabled": False, "telemetry.telemetryLevel": "off",
            "update.mode": "none", "extensions.autoCheckUpdates": False,
            "security.workspace.trust.startupPrompt": "never"}


def find_code_server() -> str | None:
    """The code-server launcher: ``$MICROGRANT_CODE_SERVER`` (set by .ci/run), or on PATH."""
    named = os.environ.get("MICROGRANT_CODE_SERVER")
    if named and os.access(named, os.X_OK):
        return named
    return shutil.which("code-server")


class ThisInterpreter(KernelSpecManager):
    """Every kernel is an ipykernel on this test's Python, importing this checkout."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                "{connection_file}"], env={"PYTHONPATH": str(ROOT)},
                          display_name="Python 3", language="python")


def execute(nb, path: Path) -> None:
    """Runs ``nb`` in a kernel and saves it, outputs and all, at ``path``."""
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())
    nbclient.NotebookClient(nb, km=km, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder with the small notebook and the tour, both executed."""
    skip_without_chromium()
    if find_code_server() is None:
        pytest.skip(f"code-server is not installed (.ci/run installs code-server@"
                    f"{CODE_SERVER_VERSION} from npm, with Node 24; or set "
                    f"MICROGRANT_CODE_SERVER to a code-server launcher)")
    folder = tmp_path_factory.mktemp("workspace")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    execute(nb, folder / "viz.ipynb")
    execute(nbformat.read(TOUR, as_version=4), folder / "tour.ipynb")
    return folder


@contextlib.contextmanager
def code_server(folder: Path, home: Path):
    """code-server on 127.0.0.1 without a password, its settings and state all in ``home``."""
    user = home / "user"
    (user / "User").mkdir(parents=True)
    (user / "User" / "settings.json").write_text(json.dumps(SETTINGS))
    port = free_port()
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache")}
    base = f"http://127.0.0.1:{port}"
    command = [find_code_server(), f"--bind-addr=127.0.0.1:{port}", "--auth=none",
               f"--user-data-dir={user}", f"--extensions-dir={home / 'extensions'}",
               f"--config={home / 'config.yaml'}", "--disable-telemetry",
               "--disable-update-check", "--disable-getting-started-override", str(folder)]
    with serving(command, f"{base}/healthz", "code-server", WAIT,
                 log=home / "code-server.log", cwd=folder, env=env):
        yield f"{base}/?folder={folder}"


# VS Code's status bar says which cell has the focus: "Cell 2 of 3".
CELL_STATUS = ("Array.from(document.querySelectorAll('.statusbar-item')).map(e => e.innerText"
               ".trim()).find(t => /^Cell \\d+ of \\d+$/.test(t)) || ''")
# What the active editor shows: a notebook, or the file as text.
OPENED_AS = ("(e => !e ? '' : e.querySelector('.notebook-editor') ? 'notebook' :"
             " e.querySelector('.monaco-editor') ? 'text' : '')"
             "(document.querySelector('.editor-group-container.active .editor-container'))")
RESTRICTED = ("Array.from(document.querySelectorAll('.statusbar-item')).some(e =>"
              " /Restricted Mode/.test(e.getAttribute('aria-label') || e.innerText))")


class VSCodePage(Page):
    """A VS Code window in a tab, with its notebook's output webview within reach.

    VS Code's notebook outputs live in a frame two levels down (the webview's host frame,
    then its content frame).  Scripts are run there in an isolated world of their own: they
    see the same page and receive the same events, and touch none of its variables.
    """

    def __init__(self, browser: Browser, url: str, shots: Path):
        super().__init__(browser, url, width=WIDTH, height=HEIGHT)
        self.shots = shots
        self.worlds: dict[str, int] = {}

    def shot(self, name: str) -> Path:
        return self.screenshot(self.shots / f"{name}.png")

    def wait(self, check, what: str):
        """Polls ``check()`` until it is truthy and returns it; a screenshot on a timeout."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.25)
        path = self.shot("timeout")
        raise TimeoutError(f"waited {WAIT:g} s for {what} (see {path})")

    def output_frames(self) -> list[str]:
        """The ids of the webviews' content frames, the ones that hold outputs."""
        found: list[str] = []
        todo = [(self.send("Page.getFrameTree")["frameTree"], 0)]
        while todo:
            tree, depth = todo.pop()
            if depth == 2 and "/webview/browser/pre/" in tree["frame"].get("url", ""):
                found.append(tree["frame"]["id"])
            todo += [(child, depth + 1) for child in tree.get("childFrames", [])]
        return found

    def in_frame(self, frame: str, expression: str, by_value: bool = True):
        """Evaluates ``expression`` in ``frame``'s isolated world (made once per frame)."""
        for _ in range(2):
            if frame not in self.worlds:
                self.worlds[frame] = self.send("Page.createIsolatedWorld", {
                    "frameId": frame, "worldName": "microgrant-test"})["executionContextId"]
            try:
                result = self.send("Runtime.evaluate", {
                    "expression": expression, "contextId": self.worlds[frame],
                    "returnByValue": by_value, "awaitPromise": True})
            except RuntimeError:  # the frame was replaced: make its world again
                del self.worlds[frame]
                continue
            if "exceptionDetails" in result:
                raise RuntimeError(f"page error: {result['exceptionDetails']}")
            return result["result"].get("value") if by_value else result["result"]
        raise RuntimeError(f"frame {frame} is gone")

    def outputs(self, check: str) -> str | None:
        """The output frame where ``check`` is truthy, or None."""
        for frame in self.output_frames():
            with contextlib.suppress(RuntimeError):
                if self.in_frame(frame, check):
                    return frame
        return None

    def centre(self, frame: str, selector: str) -> tuple[float, float]:
        """The middle of ``selector``'s first element, in the window's coordinates."""
        node = self.in_frame(frame, f"document.querySelector({json.dumps(selector)})",
                             by_value=False)
        quad = self.send("DOM.getContentQuads", {"objectId": node["objectId"]})["quads"][0]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        assert 0 < x < WIDTH and 0 < y < HEIGHT, (selector, x, y, self.shot("off-screen"))
        return x, y

    def click_in(self, frame: str, selector: str) -> None:
        """A left click on ``selector`` in the outputs, then time for the page to act."""
        self.click_at(*self.centre(frame, selector))
        time.sleep(0.3)

    def press(self, key: str, code: int, typed: bool = False) -> None:
        """A key pressed and released, then time for the webview and VS Code to act."""
        self.key(key, code, typed=typed, physical="Space" if key == " " else None)
        time.sleep(0.4)

    def status(self) -> str:
        return self.eval(CELL_STATUS)

    def go_to_cell(self, number: int) -> None:
        """Moves VS Code's focus to cell ``number`` with its own keys (it scrolls there)."""
        self.eval("document.querySelector('.notebook-editor .monaco-list').focus() || true")
        for _ in range(20):
            now = int(self.status().split()[1])
            if now == number:
                time.sleep(0.5)  # the list has scrolled; let the outputs follow
                return
            self.press("ArrowDown" if now < number else "ArrowUp", 40 if now < number else 38)
        raise AssertionError(f"could not reach cell {number}: {self.status()}")

    def open_notebook(self, name: str) -> None:
        """Opens ``name`` from VS Code's file explorer, as a click there does.

        A click before VS Code has read its built-in extensions opens the file as JSON text:
        then the tab is closed and the click made again.
        """
        row = f'.monaco-list-row[aria-label^="{name}"]'
        self.wait(lambda: self.eval(f"!!document.querySelector({json.dumps(row)})"),
                  f"{name} in the file explorer")
        for _ in range(5):
            self.click(row)
            opened = self.wait(lambda: self.eval(OPENED_AS), f"{name} to open")
            if opened == "notebook":
                self.wait(self.status, f"{name} in the notebook editor")
                return
            self.click(".tab.active .tab-actions .action-label")
            time.sleep(2)
        raise AssertionError(f"VS Code opens {name} as text, not as a notebook")

    def trust_the_folder(self) -> None:
        """Trusts the folder through VS Code's own Workspace Trust editor."""
        self.click(".statusbar-item[aria-label*='Restricted Mode'] a, "
                   ".statusbar-item[aria-label*='Restricted Mode']")
        trust = ("Array.from(document.querySelectorAll('.monaco-button')).findIndex(b =>"
                 " b.getClientRects().length && b.innerText.trim() === 'Trust')")
        index = self.wait(lambda: self.eval(f"{trust} + 1"), "the Trust button") - 1
        self.click(".monaco-button", index)
        self.wait(lambda: not self.eval(RESTRICTED), "the folder to be trusted")
        close = "[aria-label^='Close Modal Editor']"
        if self.eval(f"!!document.querySelector({json.dumps(close)})"):
            self.click(close)


# What the small notebook's outputs hold, read in their webview.
SHOWN = """(() => {
  const outputs = Array.from(document.querySelectorAll('.output'));
  const stepper = document.querySelector('.mg-stepper');
  const explorer = document.querySelector('.mgx-root');
  return {outputs: outputs.length,
          heights: outputs.map(o => Math.round(o.getBoundingClientRect().height)),
          text: outputs.map(o => o.innerText).join('\\n'),
          images: document.querySelectorAll('.output img').length,
          drawing: Array.from(document.querySelectorAll('.output svg'))
            .filter(s => !s.closest('.mg-stepper, .mgx-root'))
            .map(s => s.querySelectorAll('g.node').length),
          stepper: !!(stepper && stepper.querySelector('.mg-body')),
          explorer: explorer ? explorer.getAttribute('data-state') : null,
          fallback: explorer ? getComputedStyle(explorer.querySelector('.mgx-fallback')).display
                             : null};
})()"""
TEXT_SHOWN = "/a neuron, its backward pass done/.test(document.body.innerText)"


@pytest.fixture(scope="module")
def browser(workspace, tmp_path_factory):
    with Browser(skip_without_chromium(), tmp_path_factory.mktemp("profile"),
                 timeout=WAIT) as driver:
        yield driver


@pytest.fixture(scope="module")
def server(workspace, tmp_path_factory):
    with code_server(workspace, tmp_path_factory.mktemp("code-server")) as url:
        yield url


@pytest.fixture(scope="module")
def restricted(server, browser, tmp_path_factory):
    """The small notebook as VS Code first opens it: the folder not trusted yet."""
    page = VSCodePage(browser, server, tmp_path_factory.mktemp("vscode-shots"))
    page.wait(lambda: page.eval(RESTRICTED), "VS Code's workbench, in Restricted Mode")
    page.open_notebook("viz.ipynb")
    frame = page.wait(lambda: page.outputs(TEXT_SHOWN), "the printed line, in Restricted Mode")
    time.sleep(1.0)  # the other outputs are drawn with the text; give them a moment more
    shown = page.in_frame(frame, SHOWN)
    page.shot("restricted")
    return page, shown


@pytest.fixture(scope="module")
def trusted(restricted):
    """The same window once the folder is trusted; returns it and its outputs' frame."""
    page, _ = restricted
    page.trust_the_folder()
    live = ("!!document.querySelector('.mg-stepper .mg-body') && "
            "!!document.querySelector('.mgx-root[data-state=ready]')")
    frame = page.wait(lambda: page.outputs(live), "the stepper and explorer, trusted")
    page.shot("trusted")
    return page, frame


def test_restricted_mode_shows_the_text_but_no_picture_or_page(restricted):
    _, shown = restricted
    # VS Code's renderer draws no text/html or image/svg+xml in an untrusted folder (and
    # prefers the SVG to the PNG): the stepper, the Drawing and the explorer stay empty.
    assert "a neuron, its backward pass done" in shown["text"], shown
    assert not shown["stepper"] and shown["explorer"] is None, shown
    assert shown["drawing"] == [] and shown["images"] == 0, shown
    assert shown["outputs"] == 4 and shown["heights"].count(0) == 3, shown


def saved_svg_nodes(path: Path) -> list[int]:
    """The node count of each SVG saved in the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    return [output["data"]["image/svg+xml"].count('class="node"') for cell in nb.cells
            for output in cell.get("outputs", []) if "image/svg+xml" in output.get("data", {})]


def test_trusted_every_output_is_live(trusted, workspace):
    page, frame = trusted
    shown = page.in_frame(frame, SHOWN)
    # The Drawing as its SVG, every node of it; the pages running their scripts, the
    # explorer's fallback hidden.
    assert shown["drawing"] == saved_svg_nodes(workspace / "viz.ipynb"), shown
    assert shown["drawing"][0] >= 5, shown
    assert shown["stepper"] and shown["explorer"] == "ready", shown
    assert shown["fallback"] == "none", shown
    assert min(shown["heights"]) > 0, shown


COUNTER = "document.querySelector('.mg-stepper .mg-counter').innerText"
FOCUS_IN = "!!document.activeElement.closest('{}')"
# Every key that reaches the webview's window is handed to VS Code; this records them.
RECORD_KEYS = ("(window.mgReached = [], window.addEventListener('keydown',"
               " e => window.mgReached.push(e.key)), true)")
REACHED = "window.mgReached.splice(0)"


def test_the_steppers_keys_stay_in_the_stepper_and_esc_gives_them_back(trusted):
    page, frame = trusted
    page.go_to_cell(1)
    page.in_frame(frame, RECORD_KEYS)
    page.click_in(frame, ".mg-stepper .mg-equation")  # as a learner does: a click inside
    assert page.in_frame(frame, FOCUS_IN.format(".mg-stepper"))
    cell, seen = page.status(), [page.in_frame(frame, COUNTER)]
    # The down arrow, the right arrow and Space each take a step; VS Code would move to the
    # next cell on the down arrow had it seen it.
    for key, code, typed in (("ArrowDown", 40, False), ("ArrowRight", 39, False),
                             (" ", 32, True)):
        page.press(key, code, typed)
        seen.append(page.in_frame(frame, COUNTER))
        assert seen[-1] != seen[-2], (key, seen)
    page.click_in(frame, ".mg-stepper button[aria-label='next step']")  # a click steps too
    seen.append(page.in_frame(frame, COUNTER))
    page.press("ArrowDown", 40)  # with the button focused, the key is still the stepper's
    seen.append(page.in_frame(frame, COUNTER))
    page.shot("stepper-keys")
    assert len(set(seen)) == len(seen), seen
    assert page.status() == cell
    assert page.in_frame(frame, REACHED) == []  # nothing of the stepper's reached VS Code
    page.press("Escape", 27)
    assert not page.in_frame(frame, FOCUS_IN.format(".mg-stepper"))
    page.press("ArrowDown", 40)  # now VS Code's: the next cell
    assert page.in_frame(frame, REACHED) == ["ArrowDown"]
    assert page.status() != cell and page.in_frame(frame, COUNTER) == seen[-1]


# The explorer's overview, measured: the network inside its output, each neuron's heatmap.
OVERVIEW = """(() => {
  const root = document.querySelector('.mgx-root[data-state=ready]');
  const box = e => e.getBoundingClientRect();
  const area = box(root.closest('.output')), net = box(root.querySelector('.mgx-net'));
  const units = Array.from(root.querySelectorAll('.mgx-net .mgx-unit canvas')).map(c => {
    const r = box(c), px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let painted = false;
    for (let i = 0; i < px.length && !painted; i += 4)
      painted = px[i + 3] > 0 && px[i] + px[i + 1] + px[i + 2] < 700;
    return {w: r.width, h: r.height, inside: r.left >= area.left - 1 &&
            r.right <= area.right + 1, painted}; });
  const edges = root.querySelectorAll('.mgx-net svg path, .mgx-net svg line').length;
  return {area: [area.width, area.height], edges, units,
          net: [net.left - area.left, net.right - area.left, net.width, net.height]};
})()"""


def test_the_explorers_overview_is_whole_and_a_neuron_opens_its_steps(trusted):
    page, frame = trusted
    page.go_to_cell(3)
    drawn = page.in_frame(frame, OVERVIEW)
    units, (width, _), (left, right, net_width, net_height) = (
        drawn["units"], drawn["area"], drawn["net"])
    # 2 inputs, 3 hidden neurons, 1 output, each a heatmap of a readable size, all painted
    # and all inside the output; the network no wider than the output, and not squeezed.
    assert len(units) == 6 and drawn["edges"] >= 9, drawn
    assert all(u["inside"] and u["painted"] and min(u["w"], u["h"]) >= 40 for u in units), drawn
    assert left >= 0 and right <= width + 1 and net_width >= 300 and net_height >= 150, drawn
    page.click_in(frame, '.mgx-root .mgx-unit[data-layer="0"][data-neuron="0"]')  # L1.n1
    title = page.wait(lambda: page.in_frame(
        frame, "document.querySelector('.mgx-root.mgx-drilled') && "
        "document.querySelector('.mgx-detail .mgx-title').innerText"), "the neuron's steps")
    page.shot("explorer-neuron")
    assert title.startswith("L1.n1"), title
    page.press("Escape", 27)  # back to the network
    assert not page.in_frame(frame, "!!document.querySelector('.mgx-root.mgx-drilled')")


# The tour's outputs, counted in their webview.
TOUR_SHOWN = """(() => ({
  drawings: Array.from(document.querySelectorAll('.output svg'))
    .filter(s => !s.closest('.mg-stepper, .mgx-root') && s.querySelector('g.node')).length,
  steppers: document.querySelectorAll('.mg-stepper .mg-body').length,
  explorers: document.querySelectorAll('.mgx-root[data-state=ready]').length,
  empty: Array.from(document.querySelectorAll('.output'))
    .filter(o => o.getBoundingClientRect().height === 0).length,
}))()"""


@pytest.fixture(scope="module")
def tour(trusted, server, browser):
    """The executed tour in a second VS Code window on the trusted folder."""
    page, _ = trusted
    window = VSCodePage(browser, server, page.shots)
    window.open_notebook("tour.ipynb")
    frame = window.wait(lambda: window.outputs(
        f"document.querySelectorAll('.mg-stepper .mg-body').length === {TOUR_STEPPERS}"),
        "the tour's steppers")
    return window, frame


def test_the_tour_shows_every_output(tour):
    window, frame = tour
    shown = window.wait(lambda: (lambda s: s["explorers"] and s)(
        window.in_frame(frame, TOUR_SHOWN)), "the tour's explorer")
    window.shot("tour")
    assert shown == {"drawings": TOUR_DRAWINGS, "steppers": TOUR_STEPPERS, "explorers": 1,
                     "empty": 0}, shown


# Each drawing's width against its output's, in a window where outputs are narrower than
# the widest drawings (as with VS Code's chat panel open beside a 1400-pixel window).
DRAWING_FITS = """Array.from(document.querySelectorAll('.output svg'))
  .filter(s => !s.closest('.mg-stepper, .mgx-root') && s.querySelector('g.node'))
  .map(s => [Math.round(s.getBoundingClientRect().width),
             Math.round(s.closest('.output').getBoundingClientRect().width)])"""


def test_the_tours_drawings_fit_a_narrow_output(tour):
    window, frame = tour
    window.send("Emulation.setDeviceMetricsOverride", {"width": 1000, "height": HEIGHT,
                                                       "deviceScaleFactor": 1, "mobile": False})
    try:
        time.sleep(1.0)  # VS Code lays the notebook out again
        widths = window.in_frame(frame, DRAWING_FITS)
        window.shot("tour-narrow")
    finally:
        window.send("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
    if len(widths) != TOUR_DRAWINGS or max(output for _, output in widths) >= 800:
        pytest.fail(f"not the narrow outputs this test needs: {widths}")
    assert all(drawing <= output for drawing, output in widths), widths
