"""Turning DOT text into pictures: the last step of seeing backprop.

`microgrant.viz` describes the forward and backward graphs as DOT text, which needs nothing
installed; this module turns that text into the SVG and PNG pictures of backprop a learner
looks at.  Laying a graph out needs Graphviz's ``dot`` engine, found here in this order:

1. ``pygraphviz``, whose wheels bundle Graphviz, so a plain ``pip install`` is enough;
2. a ``dot`` executable on PATH (a system Graphviz);
3. otherwise a `RenderError` that says exactly what to install.

The pictures are saved with `microgrant.io.write_atomically`, so a failed render leaves no
file behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FORMATS = ("svg", "png")
"""The picture formats that `render_dot` produces."""

INSTALL_HINT = (
    "Drawing needs Graphviz's layout engine, and none was found. Install one of:\n"
    "  * pygraphviz, which bundles Graphviz:  pip install 'pygraphviz>=2.0.4'\n"
    "    (wheels for Linux x86_64/aarch64, macOS arm64 and Windows x64), or\n"
    "  * Graphviz itself, so that `dot` is on PATH:  apt-get install graphviz,\n"
    "    brew install graphviz, conda install graphviz, or https://graphviz.org/download/\n"
    "to_dot() needs neither: it returns the DOT text, which any Graphviz can lay out."
)


class RenderError(RuntimeError):
    """No Graphviz layout engine could be found, or the one found failed.

    A `RuntimeError`, so code that treats any drawing failure alike can catch that:

    >>> issubclass(RenderError, RuntimeError)
    True
    """


def check_format(fmt: str) -> str:
    """Returns ``fmt`` in lower case, or raises a ValueError that lists the valid formats."""
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ValueError(f"unknown picture format {fmt!r}; valid formats are "
                         f"{', '.join(repr(f) for f in FORMATS)}")
    return fmt.lower()


def _load_pygraphviz():
    """The pygraphviz module, or None where it is not installed (or cannot load its library)."""
    try:
        import pygraphviz
    except ImportError:
        return None
    return pygraphviz


def _find_dot() -> str | None:
    """The path of a ``dot`` executable on PATH, or None."""
    return shutil.which("dot")


def render_dot(dot: str, fmt: str = "svg") -> bytes:
    """Lays out DOT text with Graphviz's ``dot`` and returns the picture's bytes.

    Args:
        dot: a graph in the DOT language.
        fmt: ``"svg"`` or ``"png"``.

    Raises:
        ValueError: for a format other than those in `FORMATS`.
        RenderError: when neither pygraphviz nor a ``dot`` on PATH is available, or when
            Graphviz fails.

    >>> render_dot('digraph { a -> b }', "svg").startswith(b"<?xml")
    True
    """
    fmt = check_format(fmt)
    pygraphviz = _load_pygraphviz()
    if pygraphviz is not None:
        try:
            return pygraphviz.AGraph(string=dot).draw(format=fmt, prog="dot")
        except Exception as error:  # pygraphviz raises DotError, ValueError, OSError, ...
            raise RenderError(f"Graphviz could not lay out this graph: {error}") from error
    executable = _find_dot()
    if executable is not None:
        try:
            done = subprocess.run([executable, f"-T{fmt}"], input=dot.encode("utf-8"),
                                  capture_output=True, check=False)
        except OSError as error:
            raise RenderError(f"could not run {executable}: {error}\n\n{INSTALL_HINT}") from error
        if done.returncode != 0 or not done.stdout:
            message = done.stderr.decode("utf-8", "replace").strip()
            raise RenderError(f"{executable} -T{fmt} failed (exit {done.returncode}): {message}")
        return done.stdout
    raise RenderError(INSTALL_HINT)


def format_from_path(path, fmt: str | None) -> str:
    """The format to write ``path`` in: ``fmt`` when given, else the file's suffix."""
    if fmt is not None:
        return check_format(fmt)
    suffix = Path(path).suffix.lstrip(".")
    valid = ", ".join(repr(f) for f in FORMATS)
    if not suffix:
        raise ValueError(f"cannot tell the picture format from {str(path)!r}: give the file a "
                         f"suffix or pass format=, one of {valid}")
    if suffix.lower() not in FORMATS:
        raise ValueError(f"cannot draw {str(path)!r}: the picture formats are {valid}, not "
                         f"{suffix!r} (convert the SVG for anything else)")
    return suffix.lower()
