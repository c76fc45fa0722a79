"""The wheel a plain ``pip install .`` builds carries every file of the package.

The tests and CI install the project editable (``pip install -e``), which reads the source tree
itself, so a subpackage or a page's script left out of the wheel would pass them all and fail
every user who installs it normally.  This builds the wheel (from a copy of the tree, so the
checkout gets no build folder) and compares its files with the package's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {".py", ".js", ".css", ".html", ".conf", ".typed"}


def test_the_wheel_carries_every_module_page_and_script(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT / "microgrant", source / "microgrant",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                            "-q", "-w", str(tmp_path / "wheel")],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel, = (tmp_path / "wheel").glob("microgrant-*.whl")
    in_wheel = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("microgrant/")}
    package = {p.relative_to(source).as_posix() for p in (source / "microgrant").rglob("*")
               if p.is_file() and p.suffix in SHIPPED}
    assert package - in_wheel == set(), "files a normal install would not have"
    assert {"microgrant/micrograd/engine.py", "microgrant/viz/stepper_start.js"} <= in_wheel
