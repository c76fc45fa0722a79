"""The fourth stage of seeing backprop: DOT text laid out as the SVG or PNG picture a learner sees.

`microgrant.viz.dot` describes the forward and backward graphs as DOT text, which needs nothing
installed; this module turns that text into pictures (`render_dot`, `Drawing`, `draw`).  Laying
a graph out needs Graphviz's ``dot`` engine, found here in this order:

1. ``pygraphviz``, whose wheels bundle Graphviz, so a plain ``pip install`` is enough;
2. a ``dot`` executable on PATH (a system Graphviz);
3. otherwise a `RenderError` that says exactly what to install.

Every layout runs in a child process (``layout_job.py``: for pygraphviz, one long-lived child
per process on POSIX, so a picture costs no interpreter start), for two reasons.
Graphviz's C code cannot be interrupted from Python: a long chain whose edge labels make the
spline router run away would hang a notebook for good, deaf to Ctrl-C.  In a child process a
layout is bounded in time: after `LAYOUT_TIMEOUT` seconds it is stopped and the graph is laid
out the quick way (straight edges, capped passes), and the picture says so in red at its top;
should even that run out of time, the picture is a note saying what to draw instead.  Ctrl-C
stops the child at once.  And rendering is quiet: what Graphviz and fontconfig print goes to
the child's stderr, which is caught and shown only when the layout fails.  Unless the user
chose a ``FONTCONFIG_FILE`` of their own, the child reads a small configuration shipped with
microgrant (``fonts.conf``, elements every fontconfig knows).

A `Drawing` shows itself wherever a notebook is opened: its mime bundle carries the SVG and,
beside it, a size-capped PNG (untrusted notebooks do not show SVG), and a text/plain that
describes the graph in words.  Pictures are saved with `microgrant.io.write_atomically`, so a
failed render leaves no file.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import threading
import webbrowser
from importlib import resources
from pathlib import Path
from typing import Any

from ..checks import count, positive
from ..engine import Value
from ..io import write_atomically
from .dot import prepare, write
from .layout import capped_width
from .layout_job import (
    CAPTION_COLOUR,
    NO_PYGRAPHVIZ,
    QUICK,
    JobError,
    Worker,
    run_once,
    split_frames,
)
from .lecture import lecture_dot
from .text import display_names, expression, format_number
from .trace import DEFAULT_MAX_NODES, Trace

try:
    import pygraphviz
except ImportError:  # a `dot` on PATH is tried instead
    pygraphviz = None

__all__ = ["FORMATS", "INSTALL_HINT", "LAYOUT_TIMEOUT", "PNG_MAX_INCHES", "NOTEBOOK_PNG_INCHES",
           "RenderError", "Drawing", "draw", "draw_dot", "load_pygraphviz", "find_dot",
           "render_dot", "lay_out", "check_format", "format_from_path", "svg_element", "picture",
           "describe"]

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

LAYOUT_TIMEOUT = 15.0
"""Seconds one layout may take before it is stopped and the graph laid out the quick way.

Graphs of the default ``max_nodes`` lay out in well under a second; a chain of a few hundred
labelled edges can make Graphviz's spline router run for hours.
"""

PNG_MAX_INCHES = 60
"""The largest PNG saved to a file, in inches at 96 dpi (5760 px a side): bigger drawings are
scaled down.  A 150-term sum lays out 12,000 x 32,000 px; rasterising that takes seconds and
gives a file no viewer shows whole.  The SVG, which scales, is never capped.
"""

NOTEBOOK_PNG_INCHES = 16
"""The largest PNG in a notebook's mime bundle (1536 px a side), kept small because it is
stored in the notebook beside the SVG; untrusted notebooks and static pages show it."""

_JOB = Path(__file__).with_name("layout_job.py")


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
    """The pygraphviz module, or None where it is not installed (or cannot load its library);
    a layout then looks for a ``dot`` on PATH."""
    return pygraphviz


def find_dot() -> str | None:
    """The path of a ``dot`` executable on PATH, or None."""
    return shutil.which("dot")


def _environment() -> dict:
    """The child's environment: microgrant's quiet font configuration unless the user chose one."""
    env = dict(os.environ)
    env.setdefault("FONTCONFIG_FILE", str(resources.files(__package__) / "fonts.conf"))
    return env


def _picture(command: list[str], dot: str, timeout: float) -> bytes:
    """The stdout of a layout command that succeeded, or a RenderError with its stderr."""
    try:
        status, out, err = run_once(command, dot, timeout, _environment())
    except OSError as error:
        raise RenderError(f"could not run {command[0]}: {error}\n\n{INSTALL_HINT}") from error
    if status == NO_PYGRAPHVIZ and command[0] == sys.executable:
        raise ImportError("pygraphviz cannot be loaded in a child process")
    if status != 0 or not out:
        said = err.decode("utf-8", "replace").strip()
        raise RenderError(f"Graphviz could not lay out this graph (exit {status}): {said}")
    return out


def _with_dot(executable: str, dot: str, formats: list[str], caption: str,
              timeout: float) -> dict[str, bytes]:
    """The pictures from a ``dot`` executable: one run per format, the quick way when asked."""
    quick = [f"-G{k}={v}" for k, v in QUICK.items()] if caption else []
    if caption:
        quick += [f"-Glabel={caption}", "-Glabelloc=t", "-Glabeljust=l",
                  f"-Gfontcolor={CAPTION_COLOUR}"]
    pictures = {}
    for fmt in formats:
        kind, _, inches = fmt.partition("@")
        size = [f"-Gsize={inches},{inches}"] if inches else []
        pictures[fmt] = _picture([executable, f"-T{kind}", *quick, *size], dot, timeout)
    return pictures


# One layout child per process, used by one thread at a time.
_WORKERS: dict[int, Worker] = {}
_WORKER_LOCK = threading.Lock()


def _in_worker(dot: str, formats: list[str], caption: str, timeout: float) -> dict[str, bytes]:
    """One layout by this process's long-lived layout child (started on first need)."""
    with _WORKER_LOCK:
        worker = _WORKERS.get(os.getpid())
        if worker is None or not worker.alive():
            worker = _WORKERS[os.getpid()] = Worker(_environment())
        try:
            return worker.run(dot, formats, caption, timeout)
        except JobError as error:
            raise RenderError(f"Graphviz could not lay out this graph: {error}") from None
        except (ConnectionError, BrokenPipeError) as error:
            raise RenderError(f"Graphviz stopped while laying out this graph: {error}") from None


def _once(dot: str, formats: list[str], caption: str, timeout: float) -> dict[str, bytes]:
    """One layout of ``dot`` (the quick one when ``caption`` is given), by the first backend."""
    if load_pygraphviz() is not None:
        try:
            if os.name == "posix":  # where select() can wait on a pipe
                return _in_worker(dot, formats, caption, timeout)
            command = [sys.executable, str(_JOB), ",".join(formats)] + ([caption] if caption
                                                                           else [])
            return split_frames(_picture(command, dot, timeout), formats)
        except ImportError:
            pass  # pygraphviz imports here but not in a fresh interpreter: try `dot`
    executable = find_dot()
    if executable is None:
        raise RenderError(INSTALL_HINT)
    return _with_dot(executable, dot, formats, caption, timeout)


def _note_graph(dot: str, timeout: float) -> str:
    """A picture that is only a note: what to draw when no layout of ``dot`` fits the time."""
    nodes = dot.count(" [id=")
    text = (f"Graphviz could not lay out this graph ({nodes} elements) within {timeout:g} s, "
            f"even with straight edges.<br/>Draw fewer values (max_nodes=100), the collapsed "
            f"view of a net (view=\"collapsed\"), or pass timeout= to wait longer.")
    return ('digraph microgrant {\n  graph [fontname="Helvetica"];\n  note [shape="box", '
            f'fontname="Helvetica", fontcolor="{CAPTION_COLOUR}", label=<{text}>];\n}}\n')


def lay_out(dot: str, formats: list[str], timeout: float | None = None,
            start: int = 0) -> tuple[dict[str, bytes], int]:
    """Lays ``dot`` out once and makes every picture in ``formats``, bounded in time.

    Args:
        dot: a graph in the DOT language.
        formats: ``"svg"``, ``"png"`` (capped at `PNG_MAX_INCHES`) or ``"png@INCHES"``.
        timeout: seconds each attempt may take (`LAYOUT_TIMEOUT` when None).
        start: the attempt to start from (what an earlier call returned): 0 the full layout,
            1 the quick one, 2 the note.

    Returns:
        the pictures by format, and which attempt made them.

    Raises:
        RenderError: when no Graphviz is available, or Graphviz rejects the DOT text.
        KeyboardInterrupt: on Ctrl-C, with the layout's process already stopped.
    """
    seconds = LAYOUT_TIMEOUT if timeout is None else positive(timeout, "timeout")
    wanted = sorted({f"png@{PNG_MAX_INCHES}" if f == "png" else f for f in formats},
                    key=lambda f: (f != "svg", f))
    caption = (f"Laid out the quick way (straight edges): the full layout took more than "
               f"{seconds:g} s. Pass max_nodes= to draw fewer values, or timeout= to wait "
               f"longer.")
    for attempt in range(start, 3):
        source, said = (dot, caption if attempt == 1 else "") if attempt < 2 else (
            _note_graph(dot, seconds), "")
        try:
            pictures = _once(source, wanted, said, seconds)
        except subprocess.TimeoutExpired:
            if attempt < 2:
                continue
            raise RenderError(f"Graphviz did not lay out even a one-node note within "
                              f"{seconds:g} s: the machine is too busy") from None
        pictures.update({f: pictures[f"png@{PNG_MAX_INCHES}"] for f in formats if f == "png"})
        return {f: pictures[f] for f in formats}, attempt
    raise AssertionError("unreachable: the last attempt returns or raises")


def render_dot(dot: str, fmt: str = "svg", timeout: float | None = None) -> bytes:
    """Lays out DOT text with Graphviz's ``dot`` and returns the picture's bytes.

    The layout is bounded in time (see `lay_out`): a graph that would take longer than
    ``timeout`` seconds comes back laid out the quick way, saying so in the picture.

    Args:
        dot: a graph in the DOT language.
        fmt: ``"svg"`` or ``"png"``.
        timeout: seconds a layout may take (`LAYOUT_TIMEOUT` when None).

    Raises:
        ValueError: for a format other than those in `FORMATS`.
        RenderError: when neither pygraphviz nor a ``dot`` on PATH is available, or when
            Graphviz fails.

    >>> render_dot('digraph { a -> b }', "svg").startswith(b"<?xml")
    True
    """
    fmt = check_format(fmt)
    return lay_out(dot, [fmt], timeout)[0][fmt]


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


_ATTEMPTS = ("", "laid out the quick way (straight edges): the full layout ran out of time",
             "not laid out: even the quick layout ran out of time; the picture says what to do")

# Picture formats Graphviz knows but microgrant does not make: a file named so is refused,
# not taken for a DOT source file to which ".svg" is appended.
_OTHER_PICTURES = {"pdf", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "ps", "eps"}


class Drawing:
    """A laid-out graph: shows itself in Jupyter, and saves as SVG or PNG.

    In a notebook its mime bundle holds the SVG, a PNG of at most `NOTEBOOK_PNG_INCHES` a
    side (what untrusted notebooks and static pages show) and the description as text;
    ``format="png"`` leaves the SVG out.

    Attributes:
        source: the DOT text.
        omitted: how many values were left out to keep the drawing small (0 when none).
        format: the format `pipe`, `render` and a notebook use unless told otherwise.
        description: the graph in words: the notebook's text/plain, a picture's alt text.
        timeout: seconds a layout may take before the quick layout is used (None:
            `LAYOUT_TIMEOUT`).
        note: ``""``, or what the pictures made so far say about how they were laid out.

    >>> from microgrant import Value
    >>> from microgrant.viz import to_dot
    >>> d = Drawing(to_dot(Value(2.0, label="x") * 3))
    >>> d.pipe("svg").startswith(b"<?xml")
    True
    >>> d.pipe("png")[:4]
    b'\\x89PNG'
    """

    def __init__(self, source: str, omitted: int = 0, format: str = "svg",
                 description: str = "", timeout: float | None = None):
        self.source = source
        self.omitted = omitted
        self.format = check_format(format)
        self.description = description or (
            f"A graph of {source.count(' [id=')} elements (its DOT text is in .source)")
        self.timeout = None if timeout is None else positive(timeout, "timeout")
        self._pictures: dict[str, bytes] = {}
        self._attempt = 0

    @property
    def note(self) -> str:
        """``""`` when laid out in full, else how the pictures were laid out, and why."""
        return _ATTEMPTS[self._attempt]

    def _made(self, formats: list[str]) -> dict[str, bytes]:
        """The pictures in ``formats``, laid out together (once) for those not made yet."""
        missing = [f for f in formats if f not in self._pictures]
        if missing:
            pictures, self._attempt = lay_out(self.source, missing, self.timeout,
                                              start=self._attempt)
            self._pictures.update(pictures)
        return {f: self._pictures[f] for f in formats}

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
        return self._made([fmt])[fmt]

    def save(self, filename: Any = "graph.gv", directory: Any = None) -> Path:
        """Writes the DOT text to a file, whole or not at all, as graphviz's ``save`` does."""
        path = Path(directory or "") / filename
        return write_atomically(path, self.source)

    def render(self, filename: Any = None, directory: Any = None, view: bool = False,
               cleanup: bool = False, format: str | None = None, *,
               outfile: Any = None) -> Path:
        """Writes the picture, as graphviz's ``render`` does; returns the picture's path.

        ``render("gout")`` writes the DOT text to ``gout`` and the picture to ``gout.svg``
        (in `format`); ``render("graph.png")``, a name ending in a picture's suffix, writes
        only that picture, in the format the suffix names.  Nothing is written until the
        picture is made, so a failed layout leaves no file, and each file is written whole.

        Args:
            filename: where the DOT text goes (``"graph.gv"`` when None), or the picture's
                name when it ends in ``.svg`` or ``.png``.
            directory: a folder to put the files in (made if need be).
            view: open the picture afterwards with the system's viewer.
            cleanup: delete the DOT file once the picture is written.
            format: ``"svg"`` or ``"png"``, overriding `Drawing.format` and any suffix.
            outfile: the picture's name, its format from its suffix; the DOT text then goes
                to ``filename``, or beside it with the suffix ``.gv``.

        Raises:
            ValueError: for an unknown format, or a picture suffix other than .svg or .png.
            RenderError: when no Graphviz layout engine is available (nothing is written).
            OSError: when a file cannot be written (nothing half-written is left behind).

        >>> import os, pathlib, tempfile
        >>> from microgrant import Value
        >>> from microgrant.viz import to_dot
        >>> d = Drawing(to_dot(Value(2.0, label="x") * 3))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = d.render(pathlib.Path(folder) / "graph.png")
        ...     head = path.read_bytes()[:4]
        ...     gout = d.render("gout", directory=folder)
        ...     files = sorted(os.listdir(folder))
        >>> path.name, head, gout.name, files     # no temporary file is left
        ('graph.png', b'\\x89PNG', 'gout.svg', ['gout', 'gout.svg', 'graph.png'])
        """
        folder = Path(directory or "")
        source_path, picture_path, fmt = _render_paths(folder, filename, outfile, format,
                                                       self.format)
        data = self.pipe(fmt)
        if directory is not None:  # graphviz makes the folder it is given
            folder.mkdir(parents=True, exist_ok=True)
        if source_path is not None:
            write_atomically(source_path, self.source)
        written = write_atomically(picture_path, data)
        if cleanup and source_path is not None:
            source_path.unlink()
        if view:
            webbrowser.open(written.resolve().as_uri())
        return written

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The SVG (unless ``format="png"``), a capped PNG and the description, for Jupyter."""
        def wanted(mime: str) -> bool:
            return (include is None or mime in include) and (exclude is None
                                                             or mime not in exclude)
        png = f"png@{NOTEBOOK_PNG_INCHES}"
        kinds = {"image/svg+xml": "svg", "image/png": png}
        if self.format == "png":
            del kinds["image/svg+xml"]
        kinds = {mime: fmt for mime, fmt in kinds.items() if wanted(mime)}
        text = self.alt_text()
        try:
            pictures = self._made(list(kinds.values()))
        except RenderError as error:
            return {"text/plain": f"{text}\n{error}"}
        bundle: dict[str, Any] = {}
        if "image/svg+xml" in kinds:
            bundle["image/svg+xml"] = capped_width(pictures["svg"].decode("utf-8"), alt=text)
        if "image/png" in kinds:
            bundle["image/png"] = base64.b64encode(pictures[png]).decode("ascii")
        if wanted("text/plain"):
            bundle["text/plain"] = self.alt_text()  # says how it was laid out, once it was
        return bundle

    def alt_text(self) -> str:
        """The description, with what was left out and how it was laid out: the alt text."""
        extra = [f"{self.omitted} values farthest from the output are left out"] * bool(
            self.omitted) + [self.note] * bool(self.note)
        return self.description + "".join(f" ({e})" for e in extra)

    def __repr__(self) -> str:
        return f"<Drawing: {self.alt_text()}. .render(path) saves it, .source is the DOT>"


def _render_paths(folder: Path, filename: Any, outfile: Any, format: str | None,
                  default: str) -> tuple[Path | None, Path, str]:
    """Where `Drawing.render` writes the DOT text (or nowhere) and the picture, and in what."""
    if outfile is not None:
        picture_path = folder / outfile
        fmt = format_from_path(picture_path, format)
        source = folder / filename if filename is not None else picture_path.with_suffix(".gv")
        return source, picture_path, fmt
    path = folder / (filename if filename is not None else "graph.gv")
    suffix = path.suffix.lstrip(".").lower()
    if suffix in FORMATS or suffix in _OTHER_PICTURES:
        return None, path, format_from_path(path, format)
    fmt = check_format(default if format is None else format)
    return path, path.with_name(f"{path.name}.{fmt}"), fmt


def describe(trace: Trace, view: str, digits: int = 4, listed: int = 8) -> str:
    """The graph of ``trace`` in words, for those who cannot see the picture.

    >>> from microgrant import Value
    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> y = x * w; y.label = "y"
    >>> describe(Trace(y), "backward")
    'Backward graph of y = x × w = -6: 3 values, 1 op; gradients of y: x -3, w 2'
    """
    names = display_names(trace, digits)
    root = trace.root
    head = f"{view.capitalize()} graph of {names[root]}"
    if root.inputs:
        head += f" = {expression(root, names, digits)}"
    ops = len(trace.order)
    head += (f" = {format_number(root.data, digits)}: {len(trace.values)} values, {ops} "
             f"op{'s' * (ops != 1)}")
    leaves = [v for v in trace.values if not v.inputs and v.grad is not None]
    if view == "backward":
        grads = trace.grads
        items = [f"{names[v]} {format_number(grads.get(v, 0.0), digits)}" for v in leaves]
        what = f"gradients of {names[root]}"
    else:
        items = [f"{names[v]} = {format_number(v.data, digits)}" for v in leaves]
        what = "inputs and parameters"
    if not items:
        return head
    more = f", and {len(items) - listed} more" if len(items) > listed else ""
    return f"{head}; {what}: {', '.join(items[:listed])}{more}"


def picture(trace: Trace, view: str, max_nodes: int | None, digits: int = 4,
            rankdir: str | None = None, highlight: Any = None, legend: bool = False,
            mark_grads: bool = False, group: Any = None, sample: int | None = None,
            format: str = "svg", timeout: float | None = None) -> Drawing:
    """A `Drawing` of ``trace`` (arguments already checked), cut to ``max_nodes`` values."""
    keep = None
    if max_nodes is not None and len(trace.values) > max_nodes:
        keep = trace.nearest(max_nodes)
    source = write(trace, view, digits, rankdir, highlight, keep=keep, legend=legend,
                   mark_grads=mark_grads, group=group, sample=sample)
    omitted = len(trace.values) - len(keep) if keep is not None else 0
    return Drawing(source, omitted=omitted, format=format,
                   description=describe(trace, view, digits), timeout=timeout)


def draw(root: Value, view: str = "forward", max_nodes: int | None = DEFAULT_MAX_NODES,
         digits: int = 4, rankdir: str | None = None, highlight: Any = None,
         legend: bool = False, *, group: Any = None, sample: int | None = None,
         format: str = "svg", timeout: float | None = None) -> Drawing:
    """Draws the graph of ``root``: in a notebook it shows itself; ``.render(path)`` saves it.

    Graphviz takes minutes on thousands of nodes, so a graph of more than ``max_nodes``
    values is drawn in part: the ``max_nodes`` values nearest the output, and a note saying
    how many were left out (``max_nodes=None`` draws everything).  Whatever its shape, a
    graph is laid out within ``timeout`` seconds: a layout that runs longer is stopped and
    replaced by the quick one (straight edges), and the picture says so.

    The backward view's grads are computed from the graph (d root / d value, what one
    ``backward()`` would give), not read from ``.grad``; where a leaf's ``.grad`` differs from
    them (before any backward, or after several without ``zero_grad``) it is shown beside
    them in red, ``.grad 12``, and its tooltip says why.  (`draw_dot` draws micrograd's
    picture instead, with the stored ``.grad`` alone.)

    Args:
        root: the output Value.
        view: ``"forward"``, ``"backward"`` or ``"collapsed"`` (see `to_dot`).
        max_nodes: the most values to draw, or None for no limit.
        digits, rankdir, highlight, legend, group, sample: as for `to_dot`.
        format: ``"svg"`` or ``"png"``: what a notebook shows and ``pipe()`` returns.
        timeout: seconds the layout may take (`LAYOUT_TIMEOUT` when None).

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
    if timeout is not None:
        positive(timeout, "timeout")
    return picture(trace, view, max_nodes, digits, rankdir, highlight, legend, group=group,
                   sample=sample, format=format, timeout=timeout)


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR") -> Drawing:
    """micrograd's picture of ``root``: as the lecture's ``draw_dot`` draws it.

    Values are record boxes ``label | data %.4f | grad %.4f`` showing the stored ``.grad``
    (zeros before ``backward()``, and whatever a cell set by hand), each op a small node
    between its inputs and its result, arrows pointing forward (left to right).  The result
    shows itself in a notebook, and ``draw_dot(root).render('gout')`` writes ``gout`` (the
    DOT text) and ``gout.svg`` as graphviz's does.  microgrant's own views, with every
    gradient computed and each edge's chain-rule factors, are
    ``draw(root, view="backward")`` and ``draw(root)``.

    Args:
        root: the output Value.
        format: ``"svg"`` or ``"png"``.
        rankdir: ``"LR"`` (left to right, micrograd's default) or ``"TB"``.

    >>> from microgrant import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a * b; c.label = "c"
    >>> drawing = draw_dot(c)
    >>> [line.strip() for line in drawing.source.splitlines() if "grad" in line][0]
    'n0 [id="n0", shape="record", label="{ a | data 2.0000 | grad 0.0000 }"];'
    >>> draw_dot(c, format="png").pipe()[:4]
    b'\\x89PNG'
    """
    source, description = lecture_dot(root, rankdir)
    return Drawing(source, format=check_format(format), description=description)
