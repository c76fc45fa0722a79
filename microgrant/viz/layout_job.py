"""One Graphviz layout, run in a child process so that it can be stopped: the last step of drawing.

`microgrant.viz.render` runs this file as a script (``python layout_job.py ...``), never imports
it for its work.  Graphviz's layout is C code that Python cannot interrupt: inside the drawing
process a graph whose edge routing explodes would hang the notebook, deaf to Ctrl-C.  In a child
process the parent can wait with a timeout, kill it on Ctrl-C, and fall back to a quicker layout.

The child imports only the standard library and pygraphviz.  Where the parent can wait on a
pipe with a timeout (POSIX), one child serves the layouts of a process in turn (`serve`, driven
by `Worker`); elsewhere a child is started per layout, reading DOT text on stdin and told on its
command line which pictures to make, all from one layout::

    layout_job.py FORMATS [CAPTION]

``FORMATS`` is a comma-separated list of ``svg`` and ``png@INCHES`` (a PNG scaled down to fit
``INCHES`` a side); a ``CAPTION`` asks for the quick layout (straight edges, bounded rank and
crossing work) with that sentence written over the picture.  Stdout carries, per format, a
header line ``FORMAT LENGTH`` and then the picture's bytes.  A DOT syntax error exits with 1
and Graphviz's message on stderr; a missing pygraphviz exits with `NO_PYGRAPHVIZ`.
"""

from __future__ import annotations

import atexit
import os
import select
import subprocess
import sys
import tempfile
import time

# Run as a script, Python puts this file's folder first on the module path, and viz's own
# modules there (trace.py, text.py) would shadow the standard library's: take it off first.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

try:
    import pygraphviz  # noqa: E402
except ImportError:  # the parent then tries a `dot` on PATH
    pygraphviz = None

__all__ = ["QUICK", "NO_PYGRAPHVIZ", "CAPTION_COLOUR", "main", "serve", "run_once",
           "split_frames", "JobError", "Worker"]

QUICK = {"nslimit": "1", "nslimit1": "1", "mclimit": "0.1", "searchsize": "10",
         "splines": "line"}
"""Graph attributes of the quick layout.  Routing curved edges around edge labels is what runs
away on long chains; straight edges and capped network-simplex and crossing passes keep a
graph of a thousand nodes to seconds."""

CAPTION_COLOUR = "#b03a2e"
"""The colour of the sentence that says a picture was laid out the quick way."""

NO_PYGRAPHVIZ = 3
"""The exit status that tells the parent pygraphviz cannot be loaded here."""


def _job(dot: str, formats: list[str], caption: str) -> list[tuple[str, bytes]]:
    """Lays ``dot`` out once (the quick way under a ``caption``); each picture asked for."""
    graph = pygraphviz.AGraph(string=dot)
    if caption:
        graph.graph_attr.update(QUICK)
        graph.graph_attr.update(label=caption, labelloc="t", labeljust="l",
                                fontcolor=CAPTION_COLOUR)
    graph.layout(prog="dot")
    pictures = []
    for fmt in formats:
        kind, _, inches = fmt.partition("@")
        # The size only scales the rendering, so one layout serves every picture.
        # (The parent lists the SVG before any PNG, so the SVG is never scaled.)
        if inches:
            graph.graph_attr["size"] = f"{inches},{inches}"
        pictures.append((fmt, graph.draw(format=kind)))
    return pictures


def _frames(pictures: list[tuple[str, bytes]]) -> bytes:
    return b"".join(f"{fmt} {len(data)}\n".encode("ascii") + data for fmt, data in pictures)


def main(argv: list[str]) -> int:
    """Lays out the DOT text on stdin and writes the pictures ``argv`` asks for to stdout."""
    if pygraphviz is None:
        return NO_PYGRAPHVIZ
    dot = sys.stdin.buffer.read().decode("utf-8")
    try:
        pictures = _job(dot, argv[0].split(","), argv[1] if len(argv) > 1 else "")
    except Exception as error:  # pygraphviz raises DotError, ValueError, OSError, ...
        sys.stderr.write(f"{error}\n")
        return 1
    sys.stdout.buffer.write(_frames(pictures))
    sys.stdout.buffer.flush()
    return 0


def serve() -> int:
    """Lays out one request after another (``--serve``), until stdin closes.

    A request is a line ``FORMATS<TAB>CAPTION_LENGTH<TAB>DOT_LENGTH`` and then the caption and
    the DOT text; the answer is ``ok COUNT`` and the frames, or ``error LENGTH`` and Graphviz's
    message (what it printed included: stderr goes to a file, read back on failure).
    """
    if pygraphviz is None:
        sys.stdout.buffer.write(b"nopygraphviz\n")
        sys.stdout.buffer.flush()
        return NO_PYGRAPHVIZ
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        while True:
            header = requests.readline()
            if not header:
                return 0
            formats, caption_length, dot_length = header.decode("ascii").split("\t")
            caption = requests.read(int(caption_length)).decode("utf-8")
            dot = requests.read(int(dot_length)).decode("utf-8")
            caught.seek(0)
            caught.truncate()
            try:
                pictures = _job(dot, formats.split(","), caption)
            except Exception as error:
                caught.seek(0)
                said = f"{error}\n{caught.read().decode('utf-8', 'replace')}".strip().encode()
                answers.write(f"error {len(said)}\n".encode("ascii") + said)
            else:
                answers.write(f"ok {len(pictures)}\n".encode("ascii") + _frames(pictures))
            answers.flush()


def run_once(command: list[str], dot: str, timeout: float, env: dict) -> tuple[int, bytes, bytes]:
    """Runs one layout command on ``dot``: its exit status, stdout and stderr.

    The child is killed and reaped on any exception, Ctrl-C's KeyboardInterrupt included,
    and on a timeout (raising `subprocess.TimeoutExpired`), so no layout outlives its caller.
    """
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    with process:
        try:
            out, err = process.communicate(dot.encode("utf-8"), timeout=timeout)
        except BaseException:
            process.kill()
            process.wait()
            raise
    return process.returncode, out, err


def split_frames(out: bytes, formats: list[str]) -> dict[str, bytes]:
    """The pictures in a layout job's output: per format a header line, then the bytes."""
    pictures, at = {}, 0
    for _ in formats:
        end = out.index(b"\n", at)
        fmt, size = out[at:end].decode("ascii").split(" ")
        pictures[fmt] = out[end + 1:end + 1 + int(size)]
        at = end + 1 + int(size)
    return pictures


class JobError(Exception):
    """Graphviz refused a graph (its message says why); the worker goes on serving."""


class Worker:
    """The parent's handle on a ``--serve`` child, kept for the next layouts.

    Starting Python and pygraphviz takes a tenth of a second or more, so one child serves a
    process's layouts in turn.  A layout that runs out of time, Ctrl-C, or any other exception
    while waiting kills the child (the next layout starts a new one).  The child has a session
    of its own, so a Ctrl-C at the terminal reaches only the parent, which decides.
    """

    def __init__(self, env: dict):
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env, bufsize=0,
                                        start_new_session=True)
        self.owner = os.getpid()
        self._buffer = b""
        atexit.register(self.stop)  # no child outlives the interpreter

    def alive(self) -> bool:
        """Whether this process started the child (not a fork of it) and the child runs."""
        return self.owner == os.getpid() and self.process.poll() is None

    def run(self, dot: str, formats: list[str], caption: str, timeout: float) -> dict:
        """The pictures of one layout; `subprocess.TimeoutExpired` after ``timeout`` seconds.

        Raises:
            JobError: Graphviz refused the graph.
            ImportError: the child cannot load pygraphviz.
            ConnectionError: the child died (Graphviz crashed).
        """
        deadline = time.monotonic() + timeout
        try:
            body = caption.encode("utf-8"), dot.encode("utf-8")
            header = f"{','.join(formats)}\t{len(body[0])}\t{len(body[1])}\n".encode("ascii")
            assert self.process.stdin is not None
            self.process.stdin.write(header + body[0] + body[1])
            status = self._line(deadline).split(" ")
            if status[0] == "nopygraphviz":
                raise ImportError("pygraphviz cannot be loaded in a child process")
            if status[0] == "error":
                raise JobError(self._take(int(status[1]), deadline).decode("utf-8", "replace"))
            pictures = {}
            for _ in range(int(status[1])):
                fmt, size = self._line(deadline).split(" ")
                pictures[fmt] = self._take(int(size), deadline)
            return pictures
        except JobError:
            raise
        except BaseException:
            self.stop()
            raise

    def _fill(self, deadline: float) -> None:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise subprocess.TimeoutExpired(self.process.args, left)
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise ConnectionError("the layout process ended while laying out the graph")
        self._buffer += chunk

    def _line(self, deadline: float) -> str:
        while b"\n" not in self._buffer:
            self._fill(deadline)
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("ascii")

    def _take(self, size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            self._fill(deadline)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def stop(self) -> None:
        """Kills the child and waits for it, so that no process is left behind."""
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv[1:]))
