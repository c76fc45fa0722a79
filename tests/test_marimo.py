"""The drawings, the stepper and the explorer in a marimo notebook, driven by headless Chromium.

marimo runs no inline script of a cell's HTML in its own page: it puts such HTML in an iframe
400 pixels high, whose height it could not measure on a page without a doctype, so the stepper
and the explorer were cropped to 400 pixels.  They now give marimo (through ``_mime_``) their
whole page in an iframe that takes the page's height.  Here a marimo notebook of note 001's
neuron and XOR net is served by ``marimo edit`` on 127.0.0.1 and opened in the tests' shared
headless Chromium (``chromium.py``): the drawing and the backward step show their pictures, the
stepper and the explorer show whole (the one-neuron graph whole in its window), Next steps,
the explorer scrubs, and ``fit(..., live=True)`` says once that its live view needs Jupyter.

Without marimo installed (``pip install marimo==0.25.2``) the browser tests skip; the tests of
``_mime_`` and of the live view's message need neither marimo nor a browser.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
import types
from pathlib import Path

import pytest
from chromium import Browser, Page, free_port, serving, skip_without_chromium

from microgrant import Value, viz
from microgrant.data import logic_gate
from microgrant.nn import MLP
from microgrant.optim import Adam
from microgrant.train import fit
from microgrant.viz.embed import MAKE_LIVE, framed
from microgrant.viz.explore import MARIMO_LIVE

ROOT = Path(__file__).resolve().parents[1]
WAIT = 40.0  # seconds for any one wait: the server's start, the notebook's run

# The notebook: note 001's neuron (its drawing, stepper and first backward step), its XOR net
# trained with snapshots and explored, and a training with live=True.
APP = '''import marimo

app = marimo.App(width="medium")


@app.cell
def _():
    from microgrant import viz
    from microgrant.data import logic_gate
    from microgrant.nn import MLP, Neuron
    from microgrant.optim import Adam
    from microgrant.train import fit
    return Adam, MLP, Neuron, fit, logic_gate, viz


@app.cell
def _(Neuron):
    neuron = Neuron(2, activation="tanh", seed=0)
    a = neuron([2.0, -1.0])
    a.backward()
    return (a,)


@app.cell
def _(a, viz):
    viz.draw(a)
    return


@app.cell
def _(a, viz):
    viz.stepper(a, title="the neuron's backprop")
    return


@app.cell
def _(a, viz):
    viz.backward_steps(a)[0]
    return


@app.cell
def _(Adam, MLP, fit, logic_gate, viz):
    X, y = logic_gate("xor")
    xor_net = MLP(2, [3, 1], activation="tanh", seed=1)
    history = fit(xor_net, X, y, loss="bce_logits", epochs=150, record=3, verbose=False,
                  optimizer=Adam(xor_net.parameters(), lr=0.1))
    viz.explore(xor_net, X, y, history, title="note 001's XOR net")
    return X, y


@app.cell
def _(MLP, X, fit, y):
    live_net = MLP(2, [3, 1], activation="tanh", seed=1)
    live_history = fit(live_net, X, y, loss="bce_logits", epochs=5, verbose=False, live=True)
    return


if __name__ == "__main__":
    app.run()
'''

STEPPER_TITLE, EXPLORER_TITLE = "the neuron's backprop", "note 001's XOR net"
# An element inside the iframe titled T: its box in the notebook's window, and the iframe's.
IN_FRAME = """((title, selector) => {
  const frame = Array.from(document.querySelectorAll('iframe')).find(f => f.title === title);
  if (!frame || !frame.contentDocument) return null;
  const e = frame.contentDocument.querySelector(selector);
  if (!e) return null;
  const f = frame.getBoundingClientRect(), r = e.getBoundingClientRect();
  return {x: f.x + r.x, y: f.y + r.y, width: r.width, height: r.height,
          top: r.top, bottom: r.bottom, frameHeight: f.height,
          pageHeight: frame.contentDocument.documentElement.getBoundingClientRect().height,
          text: e.textContent};
})"""


@contextlib.contextmanager
def marimo_edit(folder: Path):
    """``marimo edit app.py`` on 127.0.0.1, its cells run as the page opens, no token."""
    config = folder / "config" / "marimo"
    config.mkdir(parents=True)
    # Its own settings, not the user's: cells run when the notebook opens.
    (config / "marimo.toml").write_text("[runtime]\nauto_instantiate = true\n")
    (folder / "app.py").write_text(APP, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(folder / "config"),
           "MARIMO_SKIP_UPDATE_CHECK": "1"}
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "marimo", "-y", "edit", "app.py", "--headless", "--host",
               "127.0.0.1", "--port", str(port), "--no-token", "--no-sandbox"]
    with serving(command, f"{base}/health", "marimo", WAIT, cwd=folder, env=env):
        yield base


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    """The notebook open in headless Chromium, every cell run, both pages ready."""
    pytest.importorskip("marimo", reason="marimo is not installed (pip install marimo==0.25.2)")
    pytest.importorskip("pygraphviz")
    binary = skip_without_chromium()
    folder = tmp_path_factory.mktemp("marimo")
    with marimo_edit(folder) as base, \
            Browser(binary, tmp_path_factory.mktemp("profile"), timeout=WAIT) as browser:
        page = Page(browser, base + "/", width=1280, height=1000, wait_for_load=False)
        ready = (f"{IN_FRAME}({STEPPER_TITLE!r}, '.mg-stepper[data-mg-ready]') && "
                 f"{IN_FRAME}({EXPLORER_TITLE!r}, '.mgx-root[data-state=ready]') && "
                 f"document.body.innerText.includes({MARIMO_LIVE.splitlines()[0]!r})")
        page.wait_for(ready, "the notebook to run", shot=folder / "timeout.png")
        page.shots = folder  # type: ignore[attr-defined]
        yield page


def frame_box(page: Page, title: str, selector: str) -> dict:
    """The element's box in the window, after scrolling it into view (across the iframe)."""
    page.eval(f"(() => {{ const f = Array.from(document.querySelectorAll('iframe')).find("
              f"f => f.title === {title!r}); f.contentDocument.querySelector({selector!r})"
              f".scrollIntoView({{block: 'center'}}); return true; }})()")
    time.sleep(0.2)
    box = page.eval(f"{IN_FRAME}({title!r}, {selector!r})")
    assert box is not None, (title, selector)
    return box


def test_the_drawing_and_the_backward_step_show_their_pictures(notebook):
    shown = notebook.eval("""(() => {
      const svgs = Array.from(document.querySelectorAll('.output-area svg'))
        .filter(s => s.textContent.includes('tanh')).map(s => s.getBoundingClientRect().width);
      const step = document.querySelector('.mg-step'), img = step && step.querySelector('img');
      return {svgs, step: step && step.querySelector('pre').textContent,
              img: img && {alt: img.alt, width: img.getBoundingClientRect().width,
                           loaded: img.complete && img.naturalWidth > 0}};
    })()""")
    assert shown["svgs"] and max(shown["svgs"]) > 300, shown
    assert shown["step"].startswith("step 1: a = tanh(z)"), shown
    assert shown["img"]["loaded"] and shown["img"]["width"] > 300, shown
    assert "step 1 in red" in shown["img"]["alt"], shown


def test_the_stepper_shows_whole_and_next_steps(notebook):
    graph = frame_box(notebook, STEPPER_TITLE, ".mg-graph")
    notebook.screenshot(notebook.shots / "stepper.png")
    # The iframe is as high as the page in it (not cropped at marimo's 400 pixels), and the
    # graph's window is a sensible size.
    assert abs(graph["frameHeight"] - graph["pageHeight"]) <= 2, graph
    assert graph["frameHeight"] > 600, graph
    assert graph["width"] >= 600 and graph["height"] >= 170, graph
    # The static fallback beside each iframe is hidden once its page has loaded.
    assert notebook.eval("Array.from(document.querySelectorAll('.mg-framed-fallback'))"
                         ".map(e => getComputedStyle(e).display)") == ["none", "none"]
    # The one-neuron graph opens whole: every value and op inside the window.
    outside = notebook.eval(f"""(() => {{
      const f = Array.from(document.querySelectorAll('iframe')).find(f => f.title ===
        {STEPPER_TITLE!r}), d = f.contentDocument, g = d.querySelector('.mg-graph')
        .getBoundingClientRect();
      const nodes = Array.from(d.querySelectorAll('.mg-canvas svg g.node'));
      return [nodes.length, nodes.filter(n => {{ const r = n.getBoundingClientRect();
        return r.left < g.left - 1 || r.right > g.right + 1 || r.top < g.top - 1 ||
          r.bottom > g.bottom + 1; }}).map(n => n.textContent.trim())];
    }})()""")
    assert outside[0] >= 9 and outside[1] == [], outside
    counter = frame_box(notebook, STEPPER_TITLE, ".mg-counter")["text"]
    assert counter == "start (the seed)"
    button = frame_box(notebook, STEPPER_TITLE, "button[aria-label='next step']")
    notebook.click_at(button["x"] + button["width"] / 2, button["y"] + button["height"] / 2)
    shown = notebook.wait_for(f"(({IN_FRAME}({STEPPER_TITLE!r}, '.mg-counter') || {{}}).text"
                              f" || '').startsWith('step 1')", "Next to show step 1")
    assert shown
    assert frame_box(notebook, STEPPER_TITLE, ".mg-equation")["text"].startswith("step 1:")


def test_the_explorer_shows_its_network_whole_and_scrubs(notebook):
    net = frame_box(notebook, EXPLORER_TITLE, ".mgx-main")
    notebook.screenshot(notebook.shots / "explorer.png")
    assert abs(net["frameHeight"] - net["pageHeight"]) <= 2, net
    assert net["bottom"] <= net["frameHeight"] and net["height"] >= 240, net
    last = frame_box(notebook, EXPLORER_TITLE, ".mgx-epoch")["text"]
    assert last.startswith("epoch 150"), last
    slider = frame_box(notebook, EXPLORER_TITLE, ".mgx-slider")
    notebook.click_at(slider["x"] + 2, slider["y"] + slider["height"] / 2)  # its left end
    first = notebook.wait_for(f"(t => t.startsWith('epoch 0') && t)(({IN_FRAME}("
                              f"{EXPLORER_TITLE!r}, '.mgx-epoch') || {{}}).text || '')",
                              "the slider to scrub to the first snapshot")
    assert first.startswith("epoch 0 (1/51)"), first
    notebook.key("ArrowRight", 39)  # the slider has the focus: one snapshot on
    after = notebook.wait_for(f"(t => t.startsWith('epoch 3') && t)(({IN_FRAME}("
                              f"{EXPLORER_TITLE!r}, '.mgx-epoch') || {{}}).text || '')",
                              "the right arrow to show the next snapshot")
    assert after.startswith("epoch 3 (2/51)"), after


def test_fit_live_in_marimo_says_once_what_to_do(notebook):
    text = notebook.eval("document.body.innerText")
    assert text.count(MARIMO_LIVE.splitlines()[0]) == 1
    assert "viz.explore(model, X, y, history)" in text


# ---- without marimo or a browser -------------------------------------------------------------

def small_stepper():
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    y.label = "y"
    y.backward()
    return viz.stepper(y)


def test_marimo_gets_the_whole_page_in_an_iframe_and_the_fallback_beside_it():
    pytest.importorskip("pygraphviz")
    s = small_stepper()
    mime, text = s._mime_()
    assert mime == "text/html"
    assert text.startswith('<div class="mg-framed"><iframe srcdoc="&lt;!DOCTYPE html&gt;')
    assert s.fallback in text and "onload=" in text
    assert f'title="{s.title}"' in text
    assert text == s._mime_()[1]  # the same bytes each time
    # Jupyter is given the fragment, as before: no iframe.
    assert "<iframe" not in s._repr_html_()
    with pytest.raises(ValueError, match="DOCTYPE"):
        framed("<p>a fragment</p>", "", "a page")


def test_the_fallbacks_say_how_to_make_the_page_live_in_every_host():
    pytest.importorskip("pygraphviz")
    s = small_stepper()
    for host in ("JupyterLab's command palette", "Notebook 7's File menu", "VS Code",
                 "run the cell", ".save(path)"):
        assert host in MAKE_LIVE
    assert MAKE_LIVE in s.fallback.replace("&#x27;", "'")
    X, y = logic_gate("xor")
    page = viz.explore(MLP(2, [2, 1], activation="tanh", seed=0), X, y)
    assert MAKE_LIVE in page._mime_()[1].split('<div class="mg-framed-fallback">')[1] \
        .replace("&#x27;", "'")


def test_fit_live_in_a_marimo_kernel_says_so_once_and_trains_the_same(monkeypatch):
    X, y = logic_gate("xor")

    def trained(live):
        model = MLP(2, [3, 1], activation="tanh", seed=1)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            fit(model, X, y, loss="bce_logits", epochs=20, verbose=False, live=live,
                optimizer=Adam(model.parameters(), lr=0.1))
        return model.state_dict(), err.getvalue()

    plain, said_plain = trained(None)
    monkeypatch.setitem(sys.modules, "marimo",
                        types.SimpleNamespace(running_in_notebook=lambda: True))
    live, said = trained(True)
    assert said.count(MARIMO_LIVE) == 1 and said_plain == ""
    assert json.dumps(live, sort_keys=True) == json.dumps(plain, sort_keys=True)
    # Outside a notebook, marimo imported or not, nothing is said.
    monkeypatch.setitem(sys.modules, "marimo",
                        types.SimpleNamespace(running_in_notebook=lambda: False))
    assert trained(True)[1] == ""
