"""The tour notebook in the front-ends learners open it in, driven by headless Chromium.

A real JupyterLab server on 127.0.0.1 serves two copies of ``examples/tour.ipynb``: one run in
the browser (trusted, as for the learner who runs it), and one executed on the command line
beforehand (untrusted when opened, as a notebook from git or a classmate is: Lab then shows no
``image/svg+xml`` at all, so a drawing must bring its PNG).  The same executed notebook's
nbconvert HTML export is viewed with JavaScript off, as GitHub and nbviewer show it.  The
explorer and the steppers must show their static fallback where scripts do not run (a picture
and text, no controls that do nothing, no script or label text), and come alive where they do:
the explorer's network drawn and a neuron opening its steps, the stepper's keys acting while it
has the focus and never reaching the notebook.  Notebook 7 gets the stepper's keys once more, on
a one-cell notebook.  The browser is the tests' shared headless Chromium (``chromium.py``).

Screenshots of each view are written to the test's temporary folder.
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
EXPLORER_CELL = "viz.explore(xor_net, X, y, history)"
STEPPER_CELLS = ("viz.stepper(a)", "viz.stepper(loss)", "viz.stepper(o, practice=True)")
PAGE_CELLS = (EXPLORER_CELL, *STEPPER_CELLS)
# A notebook of one stepper, for Notebook 7.
KEYS_NOTEBOOK = ("from microgrant import Value, viz", "x = Value(2.0, label='x')\n"
                 "y = (x * x + 1).tanh()\ny.backward()\nviz.stepper(y)")


class JupyterPage(Page):
    """A tab showing a notebook in JupyterLab or Notebook 7, whose own code acts on each
    click and key a moment later: every click and key is given time to land."""

    def __init__(self, browser: Browser, url: str):
        # The notebook is polled with wait_for (its load event comes long before its cells).
        super().__init__(browser, url, height=1000, wait_for_load=False)

    def click_at(self, x: float, y: float) -> None:
        """A left click at ``x``, ``y``, once the scroll has painted, and then time to act."""
        time.sleep(0.2)
        super().click_at(x, y)
        time.sleep(0.2)

    def key(self, key: str, code: int, typed: bool = False, physical: str | None = None) -> None:
        """A key pressed and released (see `Page.key`), then time for the page to act on it."""
        super().key(key, code, typed, physical)
        time.sleep(0.15)

    def scroll_to_cell(self, source: str) -> None:
        """Scrolls the cell whose source ends with the line ``source`` into view."""
        self.eval(f"{CELL_OF}({source!r}).scrollIntoView() || true")
        time.sleep(0.3)  # let the panel repaint after the scroll

    def screenshots(self, folder: Path, stem: str) -> None:
        """One screenshot per drawing cell, scrolled into view (Lab scrolls inside itself)."""
        for k, source in enumerate(DRAWING_CELLS + PAGE_CELLS):
            self.scroll_to_cell(source)
            self.screenshot(folder / f"{stem}-{k + 1}.png")


# The code cell whose source ends with a given line (Lab and Notebook 7 alike).
CELL_OF = """(source => Array.from(document.querySelectorAll('.jp-CodeCell')).find(c =>
  ((c.querySelector('.jp-InputArea .cm-content') || {}).innerText || '').trim()
  .split('\\n').pop() === source))"""


# What each cell's output area holds, in the page: its images, its text, and the controls a
# reader sees (a visible button, field or slider; dead where no script runs).
CELL_OUTPUTS = """
(() => Array.from(document.querySelectorAll('.jp-CodeCell')).map(cell => ({
  source: ((cell.querySelector('.jp-InputArea .cm-content') || {}).innerText || '').trim()
    .split('\\n').pop(),
  images: Array.from(cell.querySelectorAll('.jp-OutputArea-output img'))
    .filter(img => img.complete && img.naturalWidth > 0).map(img => img.src.split(',')[0]),
  svgs: cell.querySelectorAll('.jp-OutputArea-output svg').length,
  text: Array.from(cell.querySelectorAll('.jp-OutputArea-output'))
    .map(o => o.innerText).join('\\n'),
  controls: Array.from(cell.querySelectorAll('.jp-OutputArea-output :is(button, input, select,'
    + ' textarea)')).filter(e => e.getClientRects().length).length,
  overflow: Array.from(cell.querySelectorAll('.jp-OutputArea-output img')).some(img =>
    img.getBoundingClientRect().width > img.closest('.jp-OutputArea-output')
      .getBoundingClientRect().width + 1),
  prompt: (cell.querySelector('.jp-InputPrompt') || {}).innerText || '',
})))()
"""


def cells(page: JupyterPage, sources: tuple[str, ...]) -> dict[str, dict]:
    found = page.eval(CELL_OUTPUTS)
    return {cell["source"].strip(): cell for cell in found if cell["source"].strip() in sources}


def drawings(page: JupyterPage) -> dict[str, dict]:
    return cells(page, DRAWING_CELLS)


class ThisInterpreter(KernelSpecManager):
    """Every kernel is an ipykernel on this test's Python, importing this checkout."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                "{connection_file}"], env={"PYTHONPATH": str(ROOT)},
                          display_name="Python 3", language="python")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The folder Lab serves: the tour, the tour executed elsewhere, and its HTML export."""
    binary = skip_without_chromium()
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


@contextlib.contextmanager
def serve(module: str, folder: Path, tmp_path_factory, app: str):
    """``python -m module`` (JupyterLab or Notebook 7) serving ``folder`` on 127.0.0.1."""
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
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", f"--IdentityProvider.token={TOKEN}",
               f"--ServerApp.root_dir={folder}", f"--{app}.expose_app_in_browser=True",
               "--allow-root"]
    with serving(command, f"{base}/api/status?token={TOKEN}", module, WAIT, cwd=folder,
                 env=env):
        yield base


@pytest.fixture(scope="module")
def lab(site, tmp_path_factory):
    folder, _ = site
    with serve("jupyterlab", folder, tmp_path_factory, "LabApp") as base:
        yield base


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    _, binary = site
    with Browser(binary, tmp_path_factory.mktemp("profile"), timeout=WAIT) as driver:
        yield driver




def images_in(n: int) -> str:
    """The page shows loaded images in at least ``n`` cells."""
    return (f"(() => {{ const d = ({CELL_OUTPUTS.strip()}); return d.filter(c => "
            f"c.images.length).length >= {n}; }})()")

KERNEL_IDLE = ("(() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
               " const k = w && w.sessionContext && w.sessionContext.session &&"
               " w.sessionContext.session.kernel; return !!(k && k.status === 'idle' &&"
               " document.querySelector('.jp-CodeCell')); })()")
CELL_COUNT = "document.querySelectorAll('.jp-Notebook .jp-Cell').length"
INSIDE = "!!document.activeElement.closest('{}')"


@pytest.fixture(scope="module")
def untrusted(lab, browser, tmp_path_factory):
    """The notebook executed on the command line, opened in Lab: untrusted."""
    page = JupyterPage(browser, f"{lab}/lab/tree/executed.ipynb?token={TOKEN}")
    page.wait_for(images_in(len(DRAWING_CELLS) + len(PAGE_CELLS)),
                  "the untrusted notebook's pictures")
    page.screenshots(tmp_path_factory.mktemp("shots"), "lab-untrusted")
    return page


@pytest.fixture(scope="module")
def ran(lab, browser, tmp_path_factory):
    """The tour run in the browser, cell by cell, by Lab's Run All."""
    shots = tmp_path_factory.mktemp("shots")
    page = JupyterPage(browser, f"{lab}/lab/tree/tour.ipynb?token={TOKEN}")
    page.wait_for(KERNEL_IDLE, "the notebook and its kernel", shot=shots / "start-timeout.png")
    page.eval("window.jupyterapp.commands.execute('notebook:run-all-cells') && true")
    page.wait_for(f"{images_in(len(DRAWING_CELLS))} && ({CELL_OUTPUTS.strip()}).every(c => "
                  f"!c.prompt.includes('*')) && document.querySelectorAll("
                  f"'.mg-stepper .mg-body').length === {len(STEPPER_CELLS)} && "
                  f"!!document.querySelector('.mgx-root[data-state=ready]')",
                  "the tour to run", shot=shots / "run-timeout.png")
    page.screenshots(shots, "lab-run")
    return page


def test_opened_untrusted_every_drawing_is_an_image(untrusted):
    shown = drawings(untrusted)
    assert set(shown) == set(DRAWING_CELLS)
    for source, cell in shown.items():
        # Lab shows no SVG from an untrusted notebook: the PNG is the picture, and no label
        # text leaks out as a paragraph.
        assert cell["images"] == ["data:image/png;base64"], (source, cell)
        assert cell["svgs"] == 0 and cell["text"].strip() == "", (source, cell["text"][:200])
        assert not cell["overflow"], source


def test_opened_untrusted_the_explorer_and_steppers_show_their_fallback(untrusted):
    shown = cells(untrusted, PAGE_CELLS)
    assert set(shown) == set(PAGE_CELLS)
    for source, cell in shown.items():
        text = cell["text"]
        assert len(cell["images"]) == 1 and cell["images"][0].startswith("data:image/"), (
            source, cell["images"])
        assert cell["controls"] == 0, (source, cell["controls"])  # no button that does nothing
        assert "trust" in text.lower(), (source, text[:300])  # says how to make it live
        # No script or style as text, and no paragraph of the picture's labels: what shows
        # is a few sentences (the steps stay folded in their <details>).
        for leak in ("function", "{", "@@", "mgx-", "mg-"):
            assert leak not in text, (source, leak, text[:300])
        assert len(text) < 1500, (source, len(text), text[:300])


def test_run_in_the_browser_every_drawing_is_the_svg(ran):
    shown = drawings(ran)
    assert set(shown) == set(DRAWING_CELLS)
    for source, cell in shown.items():
        assert cell["images"] == ["data:image/svg+xml"], (source, cell)
        assert cell["text"].strip() == "", (source, cell["text"][:200])
        # Lab shows an SVG at the width it declares: none may run off the cell.
        assert not cell["overflow"], source


NET_DRAWN = """(() => {
  const root = document.querySelector('.mgx-root[data-state=ready]');
  const area = root.closest('.jp-OutputArea-output').getBoundingClientRect();
  const live = root.querySelector('.mgx-live'), net = root.querySelector('.mgx-net');
  const edges = net.querySelectorAll('svg line, svg path').length;
  const painted = Array.from(net.querySelectorAll('canvas')).filter(c => {
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < px.length; i += 4) if (px[i + 3] && px[i] + px[i + 1] + px[i + 2] < 700)
      return true;
    return false; }).length;
  return {edges, painted, units: net.querySelectorAll('.mgx-unit').length,
          fallback: getComputedStyle(root.querySelector('.mgx-fallback')).display,
          liveWidth: live.getBoundingClientRect().width, areaWidth: area.width,
          liveHeight: live.getBoundingClientRect().height};
})()"""


def test_run_in_the_browser_the_explorer_is_live_and_a_neuron_opens_its_steps(ran, tmp_path):
    drawn = ran.eval(NET_DRAWN)
    # 2 inputs, 3 hidden neurons, 1 output; 2*3 + 3*1 weights, each an edge; every neuron's
    # heatmap painted with more than white.
    assert drawn["units"] == 6 and drawn["edges"] >= 9 and drawn["painted"] >= 4, drawn
    assert drawn["fallback"] == "none", drawn
    assert drawn["liveWidth"] <= drawn["areaWidth"] + 1, drawn  # inside the output area
    ran.click('.mgx-root .mgx-unit[data-layer="0"][data-neuron="0"]')  # L1.n1
    title = ran.wait_for("document.querySelector('.mgx-root.mgx-drilled') && "
                         "document.querySelector('.mgx-detail .mgx-title').innerText",
                         "the neuron's steps", shot=tmp_path / "explorer-click.png")
    ran.screenshot(tmp_path / "explorer-neuron.png")
    assert title.startswith("L1.n1"), title
    assert ran.eval(INSIDE.format(".mgx-root"))
    ran.key("Escape", 27)  # back to the network, its state kept
    assert not ran.eval("!!document.querySelector('.mgx-root.mgx-drilled')")


def stepper_keys(page: JupyterPage, source: str, shots: Path, stem: str) -> None:
    """The stepper of ``source``'s cell steps with its keys while focused, keeps ``b`` from
    the notebook (on itself and on its Next button), and Esc gives the keys back: then ``b``
    does insert a cell, which shows the keys were the notebook's to take."""
    root = f"{CELL_OF}({source!r}).querySelector('.mg-stepper')"
    counter = f"{root}.querySelector('.mg-counter').innerText"
    page.eval(f"{root}.setAttribute('data-test-keys', '') || true")
    page.click("[data-test-keys] .mg-equation")  # as a learner does: a click in the stepper
    active = "document.activeElement.tagName + '.' + document.activeElement.className"
    assert page.eval(INSIDE.format(".mg-stepper")), page.eval(active)
    before, cells_before = page.eval(counter), page.eval(CELL_COUNT)
    page.key("ArrowRight", 39)
    page.key(" ", 32, typed=True, physical="Space")
    after = page.eval(counter)
    assert after != before, (before, after)
    page.key("b", 66, typed=True, physical="KeyB")
    page.screenshot(shots / f"{stem}-keys.png")
    assert page.eval(CELL_COUNT) == cells_before
    assert page.eval(INSIDE.format(".mg-stepper"))
    page.eval(f"{root}.querySelector('button[aria-label=\"next step\"]').focus() || true")
    page.key("b", 66, typed=True, physical="KeyB")
    assert page.eval(CELL_COUNT) == cells_before
    page.key("Escape", 27)
    assert not page.eval(INSIDE.format(".mg-stepper"))
    page.key("b", 66, typed=True, physical="KeyB")
    page.wait_for(f"{CELL_COUNT} === {cells_before + 1}", "b to insert a cell after Esc")


def test_run_in_the_browser_the_steppers_keys_stay_in_the_stepper(ran, tmp_path):
    stepper_keys(ran, "viz.stepper(a)", tmp_path, "lab")


def test_run_in_the_browser_the_neurons_stepper_opens_whole_and_keeps_its_look(ran):
    """The one-neuron stepper in Lab's column: every value in its window, inputs included, and
    its equation box drawn as the stepper draws it, not as Lab draws a pre."""
    shown = ran.eval(f"""(() => {{
      const root = {CELL_OF}('viz.stepper(a)').querySelector('.mg-stepper');
      const g = root.querySelector('.mg-graph').getBoundingClientRect();
      const nodes = Array.from(root.querySelectorAll('.mg-canvas svg g.node'));
      const eq = getComputedStyle(root.querySelector('.mg-equation'));
      return {{nodes: nodes.length, outside: nodes.filter(n => {{
                 const r = n.getBoundingClientRect(); return r.left < g.left - 1 ||
                   r.right > g.right + 1 || r.top < g.top - 1 || r.bottom > g.bottom + 1; }})
                 .map(n => n.textContent.trim()),
               border: eq.borderLeftWidth, background: eq.backgroundColor}};
    }})()""")
    assert shown["nodes"] >= 9 and shown["outside"] == [], shown
    assert shown["border"] == "4px" and shown["background"] == "rgb(246, 246, 242)", shown


def test_run_in_the_browser_typing_an_answer_stays_in_the_practice_stepper(ran, tmp_path):
    root = f"{CELL_OF}('viz.stepper(o, practice=True)').querySelector('.mg-stepper')"
    ran.eval(f"{root}.setAttribute('data-test-practice', '') || true")
    ran.click("[data-test-practice] .mg-equation")
    cells_before = ran.eval(CELL_COUNT)
    ran.key("ArrowRight", 39)  # the first step: its numbers are blanks
    blank = ran.wait_for(f"!!{root}.querySelector('.mg-blanks input:not([disabled])')",
                         "a blank to fill in", shot=tmp_path / "practice.png")
    assert blank
    ran.eval(f"{root}.querySelector('.mg-blanks input:not([disabled])').focus() || true")
    for key, code, key_code in (("b", "KeyB", 66), ("a", "KeyA", 65), ("1", "Digit1", 49)):
        ran.key(key, key_code, typed=True, physical=code)
    ran.screenshot(tmp_path / "practice-typed.png")
    # The letters went into the answer, not to the notebook (b: insert a cell, a: above).
    assert ran.eval(f"{root}.querySelector('.mg-blanks input:not([disabled])').value") == "ba1"
    assert ran.eval(CELL_COUNT) == cells_before


def test_the_html_export_shows_every_picture_without_javascript(site, browser, tmp_path):
    folder, _ = site
    page = Page(browser, (folder / "executed.html").as_uri(), height=1000, scripts=False,
                wait_for_load=False)
    page.wait_for("document.readyState === 'complete'", "the exported page")
    page.screenshot(tmp_path / "export-no-js.png")
    shown = page.eval("""Array.from(document.querySelectorAll('.jp-OutputArea-output')).map(o =>
      ({svgs: o.querySelectorAll(':scope > svg, :scope > div > svg, img[src^="data:image/svg"]')
          .length,
        images: Array.from(o.querySelectorAll('img')).filter(i => i.naturalWidth > 0).length,
        page: !!o.querySelector('.mg-stepper, .mgx-root'),
        controls: Array.from(o.querySelectorAll('button, input, select, textarea'))
          .filter(e => e.getClientRects().length).length}))""")
    pages = [o for o in shown if o["page"]]
    # Each drawing as its SVG, inline, which needs no script; no drawing as text.
    assert sum(1 for o in shown if o["svgs"] and not o["page"]) >= len(DRAWING_CELLS)
    assert "<Drawing" not in page.eval("document.body.innerText")
    # The explorer and each stepper: their fallback picture, and no control that does nothing.
    assert len(pages) == len(PAGE_CELLS)
    assert all(o["images"] >= 1 and o["controls"] == 0 for o in pages), pages


@pytest.fixture(scope="module")
def notebook7(site, tmp_path_factory):
    """Notebook 7's server on 127.0.0.1, serving a notebook of one stepper."""
    pytest.importorskip("notebook")
    folder = tmp_path_factory.mktemp("nb7")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in KEYS_NOTEBOOK]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / "keys.ipynb")
    with serve("notebook", folder, tmp_path_factory, "JupyterNotebookApp") as base:
        yield base


def test_notebook7_the_steppers_keys_stay_in_the_stepper(notebook7, browser, tmp_path):
    page = JupyterPage(browser, f"{notebook7}/notebooks/keys.ipynb?token={TOKEN}")
    page.wait_for(KERNEL_IDLE, "the notebook and its kernel", shot=tmp_path / "start.png")
    page.eval("window.jupyterapp.commands.execute('notebook:run-all-cells') && true")
    page.wait_for("!!document.querySelector('.mg-stepper .mg-body')", "the stepper",
                  shot=tmp_path / "run-timeout.png")
    stepper_keys(page, KEYS_NOTEBOOK[1].split("\n")[-1], tmp_path, "notebook7")
