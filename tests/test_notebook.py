"""The tour notebook runs top to bottom in a real kernel, and shows what it promises.

`examples/tour.ipynb` is executed with nbclient and an ipykernel started from this very
interpreter (a kernel spec made here, so that no kernel needs installing and no other Python
on the machine is picked up).  Its pictures must come out as SVG with a PNG beside it (what an
untrusted notebook or a static page shows) and a description in words, its steppers as HTML that
holds a whole stepper, and nothing may land on stderr: a learner's first notebook should not
open on warnings.
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
             and "mg-stepper" in out.data["text/html"]]
    # The neuron forward and backward, micrograd's picture of it, the XOR net collapsed.
    assert len(svgs) == 4
    assert all(svg.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in svg for svg in svgs)
    assert len(pages) == 2  # the neuron's stepper and the network's
    found = [re.search(r'<div class="mg-stepper" id="([^"]+)"', page) for page in pages]
    uids = [match.group(1) for match in found if match]
    assert len(set(uids)) == 2  # two steppers, two scopes: both work on one page
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
