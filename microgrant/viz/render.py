"""The fourth stage of seeing backprop: DOT text laid out as the SVG or PNG picture a learner sees.

`microgrant.viz.dot` describes the forward and backward graphs as DOT text, which needs nothing
installed; this module turns that text into pictures (`render_dot`, `Drawing`, `draw`).  Laying
a graph out needs Graphviz's ``dot`` engine, found here in this order:

1. ``pygraphviz``, whose wheels bundle Graphviz, so a plain ``pip install`` is enough;
2. a ``dot`` executable on PATH (a system Graphviz);
3. otherwise a `RenderError` that says exactly what to install.

Rendering is quiet.  The fontconfig inside pygraphviz's wheels is older than many systems'
configuration and warns about every element it does not know, on the process's own stderr, at
the first picture.  So, unless the user chose a ``FONTCONFIG_FILE`` of their own, the layout
reads a small configuration shipped with microgrant (``fonts.conf``, elements every fontconfig
knows); and whatever Graphviz itself still prints during a layout is caught and, when the
layout fails, put in the error message instead.

Pictures are saved with `microgrant.io.write_atomically`, so a failed render leaves no file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from ..checks import count
from ..engine import Value
from ..io import write_atomically
from .dot import prepare, write
from .trace import DEFAULT_MAX_NODES, Trace

__all__ = ["FORMATS", "INSTALL_HINT", "RenderError", "Drawing", "draw", "draw_dot",
           "load_pygraphviz", "find_dot", "render_dot", "check_format", "format_from_path",
           "svg_element", "picture"]

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


def check_format(fmt: Any) -> str:
    """Returns ``fmt`` in lower case, or raises a ValueError that lists the valid formats."""
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ValueError(f"unknown picture format {fmt!r}; valid formats are "
                         f"{', '.join(repr(f) for f in FORMATS)}")
    return fmt.lower()


def load_pygraphviz():
    """The pygraphviz module, or None where it is not installed (or cannot load its library)."""
    try:
        import pygraphviz
    except ImportError:
        return None
    return pygraphviz


def find_dot() -> str | None:
    """The path of a ``dot`` executable on PATH, or None."""
    return shutil.which("dot")


# One layout at a time: Graphviz's in-process library is not thread-safe, and stderr is one
# file descriptor for the whole process.
_LAYOUT = threading.Lock()


def _quiet_fonts() -> None:
    """Points fontconfig at microgrant's small configuration, unless the user chose one."""
    if "FONTCONFIG_FILE" not in os.environ:
        os.environ["FONTCONFIG_FILE"] = str(resources.files(__package__) / "fonts.conf")


def _in_process(pygraphviz, dot: str, fmt: str) -> bytes:
    """Lays ``dot`` out with pygraphviz, catching what Graphviz writes to file descriptor 2."""
    with _LAYOUT, tempfile.TemporaryFile() as caught:
        _quiet_fonts()
        saved = os.dup(2)
        try:
            os.dup2(caught.fileno(), 2)
            try:
                graph = pygraphviz.AGraph(string=dot)
                if fmt == "png":
                    graph.graph_attr["size"] = PNG_MAX_INCHES
                return graph.draw(format=fmt, prog="dot")
            except Exception as error:  # pygraphviz raises DotError, ValueError, OSError, ...
                os.dup2(saved, 2)
                caught.seek(0)
                said = caught.read().decode("utf-8", "replace").strip()
                extra = f"\n{said}" if said else ""
                raise RenderError(f"Graphviz could not lay out this graph: {error}{extra}") \
                    from error
        finally:
            os.dup2(saved, 2)
            os.close(saved)


PNG_MAX_INCHES = "60,60"
"""The largest PNG, in inches at 96 dpi (5760 px a side): bigger drawings are scaled down.

A 150-term sum lays out 12,000 x 32,000 px; rasterising that takes seconds and gives a file
no viewer shows whole.  The SVG, which scales, is never capped.
"""


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
    pygraphviz = load_pygraphviz()
    if pygraphviz is not None:
        return _in_process(pygraphviz, dot, fmt)
    executable = find_dot()
    if executable is not None:
        env = dict(os.environ)
        env.setdefault("FONTCONFIG_FILE", str(resources.files(__package__) / "fonts.conf"))
        try:
            size = [f"-Gsize={PNG_MAX_INCHES}"] if fmt == "png" else []
            done = subprocess.run([executable, f"-T{fmt}", *size], input=dot.encode("utf-8"),
                                  capture_output=True, check=False, env=env)
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


def svg_element(svg: bytes | str) -> str:
    """The ``<svg>`` element alone: the XML prolog and DOCTYPE do not belong inside HTML."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    start = text.find("<svg")
    if start < 0:
        raise ValueError("the rendered graph is not an SVG document")
    return text[start:]


class Drawing:
    """A laid-out graph: shows itself in Jupyter, and saves as SVG or PNG.

    Attributes:
        source: the DOT text.
        omitted: how many values were left out to keep the drawing small (0 when none).
        format: the format `pipe` and a notebook use unless told otherwise.

    >>> from microgrant import Value
    >>> from microgrant.viz import to_dot
    >>> d = Drawing(to_dot(Value(2.0, label="x") * 3))
    >>> d.pipe("svg").startswith(b"<?xml")
    True
    >>> d.pipe("png")[:4]
    b'\\x89PNG'
    """

    def __init__(self, source: str, omitted: int = 0, format: str = "svg"):
        self.source = source
        self.omitted = omitted
        self.format = check_format(format)
        self._pictures: dict[str, bytes] = {}

    def pipe(self, format: str | None = None) -> bytes:
        """The picture's bytes, ``"svg"`` or ``"png"`` (laid out once, then remembered).

        Raises:
            ValueError: for an unknown format.
            RenderError: when no Graphviz layout engine is available.

        >>> from microgrant import Value
        >>> from microgrant.viz import to_dot
        >>> d = Drawing(to_dot(Value(2.0, label="x") * 3))
        >>> svg = d.pipe()                        # "svg" unless told otherwise
        >>> svg.startswith(b"<?xml"), b">x</text>" in svg, d.pipe("svg") is svg
        (True, True, True)
        """
        fmt = check_format(self.format if format is None else format)
        if fmt not in self._pictures:
            self._pictures[fmt] = render_dot(self.source, fmt)
        return self._pictures[fmt]

    def render(self, path, format: str | None = None) -> Path:
        """Writes the picture to ``path``, whole or not at all; returns the path.

        Args:
            path: where to write; its suffix (``.svg``, ``.png``) gives the format.
            format: ``"svg"`` or ``"png"``, overriding the suffix.

        Raises:
            ValueError: for an unknown format.
            RenderError: when no Graphviz layout engine is available (nothing is written).
            OSError: when ``path`` cannot be written (nothing is left behind).

        >>> import pathlib, tempfile
        >>> from microgrant import Value
        >>> from microgrant.viz import to_dot
        >>> d = Drawing(to_dot(Value(2.0, label="x") * 3))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = d.render(pathlib.Path(folder) / "graph.png")
        ...     files = sorted(p.name for p in pathlib.Path(folder).iterdir())
        ...     head = path.read_bytes()[:4]
        >>> path.name, head, files               # the whole PNG, and no temporary file left
        ('graph.png', b'\\x89PNG', ['graph.png'])
        """
        fmt = format_from_path(path, format)
        return write_atomically(path, self.pipe(fmt))

    def _repr_svg_(self) -> str | None:
        try:
            return self.pipe("svg").decode("utf-8")
        except RenderError:
            return None

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        try:
            if self.format == "png":
                return {"image/png": self.pipe("png"), "text/plain": repr(self)}
            return {"image/svg+xml": self.pipe("svg").decode("utf-8"), "text/plain": repr(self)}
        except RenderError as error:
            return {"text/plain": f"{self!r}\n{error}"}

    def __repr__(self) -> str:
        nodes = self.source.count(" [id=")
        note = f", {self.omitted} values left out" if self.omitted else ""
        return f"<Drawing: {nodes} elements{note}; .render(path) saves it, .source is the DOT>"


def picture(trace: Trace, view: str, max_nodes: int | None, digits: int = 4,
            rankdir: str | None = None, highlight: Any = None, legend: bool = False,
            mark_grads: bool = False, group: Any = None, sample: int | None = None,
            format: str = "svg") -> Drawing:
    """A `Drawing` of ``trace`` (arguments already checked), cut to ``max_nodes`` values."""
    keep = None
    if max_nodes is not None and len(trace.values) > max_nodes:
        keep = trace.nearest(max_nodes)
    source = write(trace, view, digits, rankdir, highlight, keep=keep, legend=legend,
                   mark_grads=mark_grads, group=group, sample=sample)
    omitted = len(trace.values) - len(keep) if keep is not None else 0
    return Drawing(source, omitted=omitted, format=format)


def draw(root: Value, view: str = "forward", max_nodes: int | None = DEFAULT_MAX_NODES,
         digits: int = 4, rankdir: str | None = None, highlight: Any = None,
         legend: bool = False, *, group: Any = None, sample: int | None = None,
         format: str = "svg") -> Drawing:
    """Draws the graph of ``root``: in a notebook it shows itself; ``.render(path)`` saves it.

    Graphviz takes minutes on thousands of nodes, so a graph of more than ``max_nodes``
    values is drawn in part: the ``max_nodes`` values nearest the output, and a note saying
    how many were left out (``max_nodes=None`` draws everything).

    The backward view's grads are computed from the graph (d root / d value, what one
    ``backward()`` would give), not read from ``.grad``; where a leaf's ``.grad`` differs from
    them (before any backward, or after several without ``zero_grad``) it is shown beside
    them in red, ``.grad 12``, and its tooltip says why.

    Args:
        root: the output Value.
        view: ``"forward"``, ``"backward"`` or ``"collapsed"`` (see `to_dot`).
        max_nodes: the most values to draw, or None for no limit.
        digits, rankdir, highlight, legend, group, sample: as for `to_dot`.
        format: ``"svg"`` or ``"png"``: what a notebook shows and ``pipe()`` returns.

    >>> from microgrant import Value
    >>> x = Value(0.5, label="x")
    >>> y = x.tanh()
    >>> b"tanh" in draw(y, view="backward").pipe("svg")
    True
    >>> y.backward(); y.backward()   # x.grad is now twice d tanh(x)/dx
    >>> svg = draw(y, view="backward").pipe("svg").decode()
    >>> "grad 0.7864" in svg, ".grad 1.573" in svg
    (True, True)
    """
    if max_nodes is not None:
        count(max_nodes, "max_nodes")
    trace = prepare(root, "draw", view, digits, rankdir, highlight, group, sample)
    check_format(format)
    return picture(trace, view, max_nodes, digits, rankdir, highlight, legend, group=group,
                   sample=sample, format=format)


def draw_dot(root: Value, format: str = "svg", rankdir: str | None = "LR",
             **options) -> Drawing:
    """micrograd's name for `draw`: the backward view (data and grad of every value).

    ``draw_dot(root)`` and ``draw_dot(root, format="svg", rankdir="LR")`` work as in
    micrograd's notebooks; in Jupyter the result shows itself.

    Args:
        root: the output Value.
        format: ``"svg"`` or ``"png"``.
        rankdir: as for `to_dot` (micrograd's default, ``"LR"``).
        **options: anything else `draw` takes (``view`` defaults to ``"backward"``).

    >>> from microgrant import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> draw_dot(a * b, format="png").pipe()[:4]
    b'\\x89PNG'
    """
    options.setdefault("view", "backward")
    return draw(root, rankdir=rankdir, format=format, **options)
