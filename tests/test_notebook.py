"""The tour notebook runs top to bottom in a real kernel, and shows what it promises.

`examples/tour.ipynb` is executed with nbclient and an ipykernel started from this very
interpreter (a kernel spec made here, so that no kernel needs installing and no other Python
on the machine is picked up).  Its pictures must come out as SVG with a PNG beside it (what an
untrusted notebook or a static page shows) and a description in words, its steppers as HTML that
holds a whole stepper, and nothing may land on stderr: a learner's first notebook should not
open on warnings.  The explorer of a recorded XOR run, a practice stepper and `check_engine`'s
report on a broken engine come last.  The notebook is stored without outputs, so it stays small
and does not change when it is run.
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

from microgrant.viz.layout import NOTEBOOK_SVG_PT  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "tour.ipynb"
CELL_TIMEOUT = 120  # seconds for any one cell; the whole tour takes a few seconds


class ThisInterpreter(KernelSpecManager):
    """Every kernel name means an ipykernel on ``sys.executable`` (this test's Python), which
    imports microgrant from this checkout."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                "{connection_file}"], env={"PYTHONPATH": str(ROOT)},
                          display_name="Python 3 (the tests' interpreter)", language="python",
                          resource_dir=str(Path(__file__).parent))


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())
    client = nbclient.NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    return nb


def outputs(nb) -> list[Any]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def test_the_tour_runs_quietly(executed):
    streams = [out for out in outputs(executed) if out.output_type == "stream"]
    assert [out.text for out in streams if out.name == "stderr"] == []
    errors = [out for out in outputs(executed) if out.output_type == "error"]
    assert errors == []
    # Every code cell did something visible: a picture, a stepper or a printed line.
    for cell in executed.cells:
        if cell.cell_type == "code" and "import" not in cell.source:
            assert cell.outputs, cell.source


def test_the_pictures_are_svg_and_the_steppers_html(executed):
    shown = [out for out in outputs(executed) if out.output_type == "execute_result"]
    svgs = [out.data["image/svg+xml"] for out in shown if "image/svg+xml" in out.data]
    pages = [out.data["text/html"] for out in shown if "text/html" in out.data
             and 'class="mg-stepper"' in out.data["text/html"]]
    # The neuron forward and backward, micrograd's picture of it, the XOR net collapsed.
    assert len(svgs) == 4
    assert all(svg.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in svg for svg in svgs)
    assert len(pages) == 3  # the neuron's stepper, the network's, the practice one
    found = [re.search(r'<div class="mg-stepper" id="([^"]+)"', page) for page in pages]
    uids = [match.group(1) for match in found if match]
    assert len(set(uids)) == 3  # three steppers, three scopes: all work on one page
    for page, uid in zip(pages, uids):
        assert "data:image/svg+xml;charset=utf-8," in page and f'id="{uid}-data"' in page
        assert "<script src" not in page
        assert "http://" not in page.replace("http://www.w3.org/2000/svg", "").replace(
            "http://www.w3.org/1999/xlink", "")
    # The network's stepper names the weights as the notebook tells the reader to search.
    assert '"L1.n2.w1"' in pages[1]
    printed = "".join(out.text for out in outputs(executed) if out.output_type == "stream")
    assert re.search(r"loss \d+\.\d{4} over 4 points, 37 parameters", printed)


def test_each_picture_carries_a_png_and_words_and_no_html(executed):
    pictures = [out.data for out in outputs(executed) if out.output_type == "execute_result"
                and "image/svg+xml" in out.data]
    for data in pictures:
        assert "text/html" not in data  # it would outrank the PNG where SVG is not shown
        assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG")
    words = [data["text/plain"] for data in pictures]
    assert words[0].startswith("Forward graph of a = tanh(z) = ")
    assert words[1].startswith("Backward graph of a = tanh(z) = ")
    assert words[2].startswith("micrograd's picture of a: ")
    assert words[3].startswith("Collapsed graph of ")
    assert not any("<Drawing" in text for text in words)


def test_the_pictures_fit_a_notebook_and_scale_with_it(executed):
    # JupyterLab and Notebook 7 show an SVG at the width it declares; a wider one runs off
    # the cell.  Each declares at most NOTEBOOK_SVG_PT and keeps its viewBox, so it scales.
    svgs = [out.data["image/svg+xml"] for out in outputs(executed)
            if out.output_type == "execute_result" and "image/svg+xml" in out.data]
    for svg in svgs:
        head = re.search(r"<svg[^>]*>", svg).group(0)
        width = float(re.search(r'width="([\d.]+)pt"', head).group(1))
        box = [float(v) for v in re.search(r'viewBox="([^"]+)"', head).group(1).split()]
        assert width <= NOTEBOOK_SVG_PT and box[2] > 0, head
        assert 'height="' not in head or box[2] <= NOTEBOOK_SVG_PT, head  # follows the box
    assert any(width_of > NOTEBOOK_SVG_PT for width_of in
               (float(re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+)', s).group(1))
                for s in svgs))  # the tour has a drawing wider than a notebook, scaled


def test_the_explorer_practice_and_engine_check_show_themselves(executed):
    html = [out.data["text/html"] for out in outputs(executed)
            if out.output_type == "execute_result" and "text/html" in out.data]
    explorers = [page for page in html if 'class="mgx-root"' in page]
    assert len(explorers) == 1
    page = explorers[0]
    # The live page's data (51 snapshots: 150 epochs recorded every 3, and the first) and
    # its static fallback: a picture as a data URI, and the numbers as text.
    data = re.search(r'<script type="application/json" class="mgx-data">(.*?)</script>', page,
                     re.S).group(1)
    assert data.count('"epoch":') == 51
    fallback = page.split('class="mgx-fallback"', 1)[1].split('class="mgx-live"', 1)[0]
    assert re.search(r'<img [^>]*src="data:image/', fallback) and "<script" not in fallback
    practice = [p for p in html if 'class="mg-stepper"' in p and "Practise backprop" in p]
    assert len(practice) == 1
    printed = "".join(out.text for out in outputs(executed) if out.output_type == "stream")
    # The broken engine's two mistakes, named, and nothing said of what it does right.
    assert re.findall(r"^\d+\. (\S+)$", printed, re.M) == ["wrong-derivative:tanh",
                                                           "overwrites-grad"]
    assert "Skipped, because your class does not have them" in printed


def test_the_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert NOTEBOOK.stat().st_size < 30_000
