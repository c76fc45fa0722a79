"""Rendering: SVG and PNG through pygraphviz, the `dot`-on-PATH fallback, the error when neither
exists, hostile labels, files written whole or not at all, layouts bounded in time and stopped by
Ctrl-C, and the mime bundle a notebook stores (SVG, a capped PNG, a description in words)."""

from __future__ import annotations

import base64
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from microgrant import Value, viz
from microgrant.viz import render

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"

pytest.importorskip("pygraphviz")


def neuron():
    x1, w1, b = (Value(2.0, label="x1"), Value(-3.0, label="w1"),
                 Value(6.8813735870195432, label="b"))
    n = x1 * w1 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def svg_texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def svg_tooltips(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return [a.get("{http://www.w3.org/1999/xlink}title") for a in root.iter(f"{SVG}a")]


# ---- formats ---------------------------------------------------------------------------------


def test_svg_parses_and_shows_every_value_and_gradient():
    svg = viz.draw(neuron(), view="backward").pipe("svg")
    texts = svg_texts(svg)
    for label in ("x1", "w1", "b", "n", "o", "tanh", "data 0.7071", "grad 1"):
        assert label in texts
    assert "local 0.5" in texts  # d tanh/dn = 1 - 0.7071^2 on the tanh edge


def test_svg_shows_a_leafs_accumulated_grad_beside_the_computed_one():
    x = Value(3.0, label="x")
    y = x * x
    y.backward()
    y.backward()
    svg = viz.draw(y, view="backward").pipe("svg")
    texts = svg_texts(svg)
    assert "grad 6" in texts and ".grad 12" in texts
    cell = [t for t in svg_tooltips(svg) if t.startswith(".grad = 12 ")]
    assert len(cell) == 1 and "for one backward pass" in cell[0]
    fills = [t.get("fill") for t in ET.fromstring(svg).iter(f"{SVG}text")
             if t.text == ".grad 12"]
    assert fills == ["#b03a2e"]


def test_png_is_a_png():
    png = viz.draw(neuron()).pipe("png")
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 1000


def test_render_takes_the_format_from_the_suffix_or_the_argument(tmp_path):
    drawing = viz.draw(neuron())
    assert drawing.render(tmp_path / "a.svg").read_bytes().startswith(b"<?xml")
    assert drawing.render(tmp_path / "a.PNG").read_bytes().startswith(PNG_SIGNATURE)
    # A name without a picture's suffix is graphviz's: the DOT text there, the picture beside.
    assert drawing.render(tmp_path / "picture", format="png").read_bytes().startswith(
        PNG_SIGNATURE)
    assert (tmp_path / "picture").read_text() == drawing.source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.PNG", "a.svg", "picture",
                                                           "picture.png"]


def test_unknown_formats_list_the_valid_ones(tmp_path):
    drawing = viz.draw(neuron())
    with pytest.raises(ValueError, match="'svg', 'png'"):
        drawing.render(tmp_path / "a.jpg")
    with pytest.raises(ValueError, match="'svg', 'png'"):
        drawing.render(tmp_path / "a", format="pdf")
    with pytest.raises(ValueError, match="'svg', 'png'"):
        drawing.pipe("gif")
    assert list(tmp_path.iterdir()) == []


def test_notebook_display():
    drawing = viz.draw(neuron())
    bundle = drawing._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    assert set(bundle) == {"image/svg+xml", "image/png", "text/plain"}


# ---- hostile labels ------------------------------------------------------------------------

HOSTILE = [
    'say "hi"',
    "{braces} and [brackets]",
    "a < b > c",
    "x | y || z",
    "back\\slash \\N \\n \\\\",
    "two\nlines",
    "é ñ ü 日本語 ∂ σ → 😀",
    "",
    "&amp; &lt; &#65; & ;",
    "<b>not bold</b> <br/>",
    "]]> -->",
    "tab\there",
    "bell\x07 nul\x00",
    "@@SVG@@ \\\"",
    "ends with a backslash\\",
    'ends with a quote"',
]


@pytest.mark.parametrize("label", HOSTILE)
@pytest.mark.parametrize("view", ["forward", "backward"])
def test_hostile_labels_render_to_svg(label, view):
    x = Value(1.5, label=label)
    y = (x * 2.0).tanh()
    y.label = f"out {label}"
    svg = viz.draw(y, view=view).pipe("svg")
    texts = svg_texts(svg)
    # Graphviz writes each line of a label as its own <text>; control characters are shown
    # as U+FFFD and a tab as a space, everything else exactly as given.
    for line in label.split("\n"):
        if line.strip():
            shown = line.replace("\x07", "\ufffd").replace("\x00", "\ufffd")
            shown = shown.replace("\t", " ")
            assert any(shown.strip() in t for t in texts), (line, texts)
    assert "data 1.5" in texts
    # Tooltips (the value's, and in the backward view each edge's) keep the label exactly.
    exact = label.replace("\t", " ").replace("\x07", "\ufffd").replace("\x00", "\ufffd") or "v1"
    tooltips = svg_tooltips(svg)
    assert any(f"): {exact} = 1.5" in t for t in tooltips), (exact, tooltips)
    if view == "backward":
        assert any(t.endswith(f"to the grad of {exact}") for t in tooltips), tooltips


def test_hostile_labels_render_in_networks_and_steps(tmp_path):
    x = Value(1.0, label='"q" <a> {b|c}\\')
    y = x * x
    (step,) = viz.backward_steps(y)
    assert viz.to_dot(y, view="backward", highlight=step)
    assert step.draw().pipe("svg").startswith(b"<?xml")
    assert viz.draw(y, legend=True).pipe("png").startswith(PNG_SIGNATURE)


# ---- backends ------------------------------------------------------------------------------


def fake_dot(directory, body: str):
    """An executable called `dot` in ``directory``, written in Python."""
    path = directory / "dot"
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


def test_falls_back_to_a_dot_executable_on_path(tmp_path, monkeypatch):
    # A stand-in for Graphviz's command-line `dot`: reads DOT on stdin, writes the picture
    # (laid out by pygraphviz, so the bytes are real) to stdout.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_dot(bin_dir, "import sys, pygraphviz\n"
                      "fmt = sys.argv[1][2:]\n"
                      "sys.stdout.buffer.write(pygraphviz.AGraph(string=sys.stdin.read())"
                      ".draw(format=fmt, prog='dot'))\n")
    monkeypatch.setattr(render, "load_pygraphviz", lambda: None)
    monkeypatch.setenv("PATH", str(bin_dir))
    drawing = viz.draw(neuron())
    assert b"tanh" in drawing.pipe("svg")
    assert drawing.render(tmp_path / "o.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_failing_dot_executable_is_reported(tmp_path, monkeypatch):
    fake_dot(tmp_path, "import sys\nsys.stderr.write('syntax error in line 1')\nsys.exit(1)\n")
    monkeypatch.setattr(render, "load_pygraphviz", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(viz.RenderError, match="syntax error in line 1"):
        viz.draw(neuron()).render(tmp_path / "o.svg")
    assert not (tmp_path / "o.svg").exists()


def test_without_any_graphviz_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "load_pygraphviz", lambda: None)
    monkeypatch.setattr(render, "find_dot", lambda: None)
    drawing = viz.draw(neuron())
    with pytest.raises(viz.RenderError) as caught:
        drawing.render(tmp_path / "o.svg")
    message = str(caught.value)
    assert "pip install 'pygraphviz" in message
    assert "apt-get install graphviz" in message and "`dot` is on PATH" in message
    assert list(tmp_path.iterdir()) == []
    # DOT text still works, and a notebook shows the reason instead of a traceback.
    assert viz.to_dot(neuron()).startswith("digraph")
    assert drawing._repr_mimebundle_().keys() == {"text/plain"}
    assert "pip install" in drawing._repr_mimebundle_()["text/plain"]
    with pytest.raises(viz.RenderError):
        drawing.render("gout", directory=tmp_path)
    with pytest.raises(viz.RenderError):
        viz.save_stepper(neuron(), tmp_path / "page.html")
    assert list(tmp_path.iterdir()) == []


# ---- atomic writing --------------------------------------------------------------------------


def test_a_missing_directory_is_a_clear_os_error(tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "o.svg"
    with pytest.raises(OSError, match="cannot write .*o.svg"):
        viz.draw(neuron()).render(target)
    assert not (tmp_path / "no").exists()


def test_a_file_in_the_way_of_the_directory_is_a_clear_os_error(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(OSError, match="cannot write"):
        viz.save_stepper(neuron(), tmp_path / "file" / "page.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions, which root ignores")
def test_a_read_only_directory_is_a_clear_os_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(PermissionError, match="cannot write"):
            viz.draw(neuron()).render(locked / "o.svg")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(stat.S_IRWXU)


def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "o.svg"
    target.write_bytes(b"the old picture")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(render.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        viz.draw(neuron()).render(target)
    assert target.read_bytes() == b"the old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["o.svg"]


def test_a_failed_render_leaves_an_existing_file_alone(tmp_path, monkeypatch):
    target = tmp_path / "o.svg"
    target.write_bytes(b"the old picture")
    monkeypatch.setattr(render, "load_pygraphviz", lambda: None)
    monkeypatch.setattr(render, "find_dot", lambda: None)
    with pytest.raises(viz.RenderError):
        viz.draw(neuron()).render(target)
    assert target.read_bytes() == b"the old picture"


def test_written_files_are_readable_like_any_other(tmp_path):
    path = viz.draw(neuron()).render(tmp_path / "o.svg")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o664)
    viz.draw(neuron()).render(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o664


def test_an_unsupported_suffix_is_named_as_such(tmp_path):
    with pytest.raises(ValueError, match=r"'svg', 'png', not 'pdf'"):
        viz.draw(Value(1.0) * 2).render(tmp_path / "g.pdf")
    with pytest.raises(ValueError, match="'svg', 'png'"):
        viz.draw(Value(1.0) * 2).render(tmp_path / "g", format="jpg")
    assert list(tmp_path.iterdir()) == []


def test_graphviz_failures_are_render_errors():
    pytest.importorskip("pygraphviz")
    with pytest.raises(viz.RenderError, match="could not lay out"):
        render.render_dot("digraph { a -> }")


def test_a_huge_png_is_scaled_down_to_a_size_a_viewer_can_show():
    from microgrant import Value
    from microgrant.viz import draw
    x = Value(1.0, label="x")
    y = x
    for _ in range(149):
        y = y + x
    png = draw(y, view="backward").pipe("png")
    width, height = struct.unpack(">II", png[16:24])
    assert max(width, height) <= 5760 and min(width, height) > 100


# ---- graphviz's render('gout') ---------------------------------------------------------------


def test_render_without_a_picture_suffix_works_as_graphviz_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    drawing = viz.draw_dot(neuron())
    path = drawing.render("gout")
    assert path == Path("gout.svg") and path.read_bytes().startswith(b"<?xml")
    assert Path("gout").read_text() == drawing.source
    assert drawing.render("gout", format="png").read_bytes().startswith(PNG_SIGNATURE)
    assert drawing.render("kept", cleanup=True) == Path("kept.svg")
    assert drawing.render(outfile="out.png").read_bytes().startswith(PNG_SIGNATURE)
    assert Path("out.gv").read_text() == drawing.source
    sub = drawing.render("g.gv", directory="pictures")
    assert sub == Path("pictures/g.gv.svg") and Path("pictures/g.gv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gout", "gout.png", "gout.svg", "kept.svg", "out.gv", "out.png", "pictures"]


def test_a_failed_render_in_graphviz_style_writes_neither_file(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "load_pygraphviz", lambda: None)
    monkeypatch.setattr(render, "find_dot", lambda: None)
    with pytest.raises(viz.RenderError):
        viz.draw_dot(neuron()).render(tmp_path / "gout")
    assert list(tmp_path.iterdir()) == []


# ---- the notebook's mime bundle ------------------------------------------------------------


def test_the_bundle_carries_a_capped_png_beside_the_svg_and_no_html():
    x = Value(1.0, label="x")
    y = x
    for _ in range(149):
        y = y + x  # lays out 12,000 x 32,000 px uncapped
    bundle = viz.draw(y, view="backward")._repr_mimebundle_()
    assert "text/html" not in bundle  # it would outrank the PNG where SVG is not shown
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    assert max(width, height) <= render.NOTEBOOK_PNG_INCHES * 96 and min(width, height) > 10


def test_the_bundles_svg_is_named_by_its_alt_text_and_scales_to_its_output():
    drawing = viz.draw(neuron())
    bundle = drawing._repr_mimebundle_()
    root = ET.fromstring(bundle["image/svg+xml"])
    assert root.get("role") == "img" and root.get("aria-label") == drawing.alt_text()
    assert drawing.alt_text() == bundle["text/plain"] and "max-width:100%" in root.get("style")


def test_format_png_is_what_ipython_shows():
    formatters = pytest.importorskip("IPython.core.formatters")
    data, _ = formatters.DisplayFormatter().format(viz.draw(neuron(), format="png"))
    assert set(data) == {"image/png", "text/plain"}
    data, _ = formatters.DisplayFormatter().format(viz.draw(neuron()))
    assert set(data) == {"image/svg+xml", "image/png", "text/plain"}


def test_the_bundle_honours_include_and_exclude():
    drawing = viz.draw(neuron())
    assert set(drawing._repr_mimebundle_(include={"image/png"})) == {"image/png"}
    assert set(drawing._repr_mimebundle_(exclude={"image/png", "text/plain"})) == {
        "image/svg+xml"}
    formatters = pytest.importorskip("IPython.core.formatters")
    data, _ = formatters.DisplayFormatter().format(drawing, exclude={"image/svg+xml"})
    assert set(data) == {"image/png", "text/plain"}


def test_the_text_describes_the_graph_for_those_who_cannot_see_it():
    forward = viz.draw(neuron())._repr_mimebundle_()["text/plain"]
    assert forward.startswith("Forward graph of o = tanh(n) = 0.7071: ")
    assert "x1 = 2" in forward and "w1 = -3" in forward and "elements" not in forward
    backward = viz.draw(neuron(), view="backward")._repr_mimebundle_()["text/plain"]
    assert "gradients of o: x1 -1.5, w1 1, b 0.5" in backward
    big = Value(1.0, label="x")
    for _ in range(400):
        big = big * 1.001
    cut = viz.draw(big, max_nodes=50)._repr_mimebundle_(include={"text/plain"})["text/plain"]
    assert "751 values farthest from the output are left out" in cut


# ---- layouts bounded in time, and stopped by Ctrl-C ------------------------------------------

# A product of 400 factors (x - 1): its backward view makes Graphviz's edge router run for hours.
RUNAWAY = "*".join(["(x-1)"] * 400)
ROOT = Path(__file__).resolve().parents[1]


def run_python(script: str, tmp_path):
    """Runs ``script`` in a fresh interpreter on this checkout: the test's own time limit."""
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(path)], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_runaway_layout_is_stopped_and_the_graph_drawn_the_quick_way(tmp_path):
    # Through `microgrant graph`, which draws both views and the stepper. Before layouts ran in
    # a child process this never returned, so the test's own time limit would fail it.
    process = run_python(f"""
        from microgrant import cli
        from microgrant.viz import render
        render.LAYOUT_TIMEOUT = 2
        cli.main(["graph", "{RUNAWAY}", "x=1.001", "--out", "out"])
        """, tmp_path)
    try:
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err
    svg = (tmp_path / "out" / "graph_backward.svg").read_text()
    assert "Laid out the quick way" in svg or "could not lay out this graph" in svg
    assert (tmp_path / "out" / "graph_backward.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "data:image/svg+xml" in (tmp_path / "out" / "graph_steps.html").read_text()


def slow_dot(directory, hurry_when: str):
    """A `dot` that lays out (with pygraphviz) only when ``hurry_when`` is in its arguments or
    its input, and otherwise takes a minute."""
    return fake_dot(directory, f"""import sys, time, pygraphviz
dot = sys.stdin.read()
if {hurry_when!r} not in " ".join(sys.argv) + dot:
    time.sleep(60)
graph = pygraphviz.AGraph(string=dot)
for arg in sys.argv[2:]:
    name, _, value = arg[2:].partition("=")
    graph.graph_attr[name] = value
sys.stdout.buffer.write(graph.draw(format=sys.argv[1][2:], prog="dot"))
""")


def test_a_slow_layout_falls_back_to_the_quick_one_and_says_so(tmp_path, monkeypatch):
    slow_dot(tmp_path, hurry_when="-Gsplines=line")
    monkeypatch.setattr(render, "load_pygraphviz", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    drawing = viz.draw(neuron(), timeout=3)
    texts = svg_texts(drawing.pipe("svg"))
    assert any(t.startswith("Laid out the quick way (straight edges)") for t in texts), texts
    assert "tanh" in texts and drawing.note.startswith("laid out the quick way")
    assert drawing.note in drawing._repr_mimebundle_()["text/plain"]


def test_when_even_the_quick_layout_is_too_slow_the_picture_says_what_to_do(tmp_path,
                                                                           monkeypatch):
    slow_dot(tmp_path, hurry_when="note [")
    monkeypatch.setattr(render, "load_pygraphviz", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(render, "LAYOUT_TIMEOUT", 2)
    drawing = viz.draw(neuron())
    text = " ".join(svg_texts(drawing.pipe("svg")))
    assert "could not lay out this graph" in text and "max_nodes=100" in text
    assert drawing.note.startswith("not laid out")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find children")
def test_ctrl_c_stops_a_layout_and_leaves_no_process(tmp_path):
    process = run_python(f"""
        import os
        from microgrant.expr import build
        from microgrant import viz
        from microgrant.viz import render
        render.LAYOUT_TIMEOUT = 600
        root, _ = build("{RUNAWAY}", {{"x": 1.001}})
        drawing = viz.draw(root, view="backward")
        print("drawing", flush=True)
        try:
            drawing.pipe("svg")
        except KeyboardInterrupt:
            children = []
            for entry in filter(str.isdigit, os.listdir("/proc")):
                try:
                    stat = open(f"/proc/{{entry}}/stat").read()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                    children.append(entry)
            print("stopped; children left:", children, flush=True)
        """, tmp_path)
    try:
        assert process.stdout.readline() == "drawing\n"
        # Sent while the layout runs (it runs for hours); Python only acts on a signal
        # between bytecodes, which a layout inside the drawing process never reaches.
        time.sleep(1.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert out == "stopped; children left: []\n", err


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_in_micrograds_picture(label):
    x = Value(1.5, label=label)
    y = x * 2.0
    y.label = label
    svg = viz.draw_dot(y).pipe("svg")
    texts = svg_texts(svg)
    for line in label.split("\n"):
        if line.strip():
            shown = line.replace("\x07", "\ufffd").replace("\x00", "\ufffd").replace("\t", " ")
            assert any(shown.strip() in t for t in texts), (line, texts)
    assert texts.count("data 1.5000") == 1 and "*" in texts
