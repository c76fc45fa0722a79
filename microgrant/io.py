"""Files: weights saved and loaded, and every file microgrant writes, written all at once.

Training is the point of backprop, and its result is a set of numbers worth keeping.  A weights
file is JSON (never pickle: loading a file must not run code)::

    {"format": "microgrant.weights", "version": 1, "model": "MLP(2 -> [...])",
     "parameters": {"layers.0.neurons.0.w.0": 0.5, ...}}

`load` checks the whole file before a caller changes one weight: a file that is not UTF-8, not
JSON, nested absurdly deep, of another format, or holding a name or a number that does not fit
raises a `ValueError` or `TypeError` that names the file and the parameter, and quotes what it
found only in part (a megabyte-long string makes a one-line message).  `check_state` is the
same check for a state dict in memory (`microgrant.nn.Module.load_state_dict`).

Every picture, stepper page, plot and weights file goes to disk through `write_atomically`: a
failed save must lose nothing, neither the old file at that path nor the disk space of a
half-written new one.  So the bytes go to a temporary file beside the target (same directory,
so same file system) and are renamed over it only when complete; a rename is atomic, a write
is not.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from pathlib import Path
from typing import Any, Sequence

from . import checks

__all__ = ["save", "load", "check_state", "write_atomically", "FORMAT", "VERSION"]

#: The tag written into weights files, so a loader can tell one from any other JSON.
FORMAT = "microgrant.weights"
#: The version of the weights file format this microgrant writes and reads.
VERSION = 1


def _cut(text: str, limit: int = 120) -> str:
    """``text`` for a message: whole when short, else its start and its length."""
    return text if len(text) <= limit else f"{text[:limit - 30]}... ({len(text)} characters)"


def _name(value: Any) -> str:
    """A name (or a format tag, a version) as a message quotes it: its repr, cut when long."""
    return _cut(repr(value), 80)


def _some(names: Sequence, limit: int = 5) -> str:
    listed = ", ".join(_name(n) for n in names[:limit])
    return listed + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def check_state(state: Any, names: Sequence[str] | None = None,
                model: str = "the model") -> dict[str, float]:
    """``state`` (parameter name -> number) checked and converted to floats, in ``names`` order.

    Args:
        state: the weights, as `microgrant.nn.Module.state_dict` gives them.
        names: the names the model has; the state must hold exactly these.  ``None`` accepts
            any (string) names.
        model: how messages name the model.

    Raises:
        TypeError: ``state`` is not a dict, or a weight is not a real number.
        ValueError: names are missing or unexpected, or a weight is NaN, infinite or too large
            for a float.

    >>> check_state({"w.0": 1, "b": 0.5}, ["w.0", "b"])
    {'w.0': 1.0, 'b': 0.5}
    >>> check_state({"w.0": float("nan"), "b": 0.5}, ["w.0", "b"])
    Traceback (most recent call last):
    ...
    ValueError: parameter 'w.0' must be a finite number; got nan
    """
    if not isinstance(state, dict):
        raise TypeError(f"a state dict must be a dict of parameter name -> number; got "
                        f"{checks.shown(state)}")
    if names is None:
        names = list(state)
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"parameter names must be strings; got {checks.shown(name)}")
    expected = set(names)
    missing = [n for n in names if n not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} parameter(s): {_some(missing)}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} name(s): {_some(unexpected)}")
        raise ValueError(f"the state does not fit {model}: {'; '.join(parts)} (expected "
                         "exactly the names of model.state_dict())")
    for name in names:
        if isinstance(state[name], bool):  # `true` in a file is a typo, not the weight 1.0
            raise TypeError(f"parameter {_name(name)} must be a real number; got bool "
                            f"{state[name]!r}")
    # `finite` refuses strings and containers (TypeError), and NaN, infinities and integers
    # too large for a float (ValueError), quoting the value cut short.
    return {name: checks.finite(state[name], f"parameter {_name(name)}") for name in names}


def save(state: Any, path, model: str = "") -> Path:
    """Writes the weights ``state`` (name -> number) to ``path`` as a JSON weights file.

    The file is written to a temporary file beside ``path`` and then renamed over it, so a
    failed save never leaves a half-written file.

    Args:
        state: a state dict, or anything with a ``state_dict()`` method (a model).
        path: where to write.
        model: a description of the model (its repr), kept in the file so a mismatched load
            can say what the file was saved from.

    Returns:
        ``path`` as a `pathlib.Path`.

    Raises:
        ValueError: a weight is NaN or infinite (JSON has no such numbers), or the model has
            no parameters yet (a Dense layer not called): its file would hold nothing.
        TypeError: a weight is not a number.
        OSError: the file cannot be written; the message names the path.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = save({"w": 0.5}, pathlib.Path(d) / "w.json")
    ...     load(p)
    {'w': 0.5}
    """
    if hasattr(state, "state_dict") and not isinstance(state, dict):
        model = model or repr(state)
        state = state.state_dict()
        if not state:
            raise ValueError(f"cannot save {model} to {str(path)!r}: it has no parameters "
                             "yet, so the file would hold no weights. Build it first (call "
                             "it on one sample, or build(n_inputs) for a Dense layer)")
    try:
        weights = check_state(state)
    except (TypeError, ValueError) as error:
        hint = " (training probably diverged; try a smaller learning rate)" if \
            isinstance(error, ValueError) and "finite" in str(error) else ""
        raise type(error)(f"cannot save weights to {str(path)!r}: {error}{hint}") from None
    document = {"format": FORMAT, "version": VERSION, "model": str(model),
                "parameters": weights}
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    return write_atomically(path, text, "save weights to")


def load(path, names: Sequence[str] | None = None, model: str = "the model") -> dict[str, float]:
    """Reads a weights file written by `save` (or a JSON state dict) and checks all of it.

    Args:
        path: the file.
        names: the parameter names the model has; the file must hold exactly these.
            ``None`` accepts any names.
        model: how messages name the model being loaded into.

    Returns:
        The weights, name -> float (in the order of ``names`` when given).

    Raises:
        OSError: the file cannot be read; the message names it.
        ValueError: the file is not UTF-8 JSON, is nested too deeply, is not a weights file,
            or its names or numbers do not fit.
        TypeError: a weight in the file is not a number.
    """
    where = f"cannot load weights from {os.fspath(path)!r}"
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as error:
        raise type(error)(error.errno, f"{where}: {error.strerror}") from None
    try:
        # utf-8-sig: a byte-order mark some editors add is skipped, not an error.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        guess = " (it looks like UTF-16)" if utf16 else ""
        raise ValueError(f"{where}: it is not UTF-8 text{guess}: byte {error.start} is "
                         f"{raw[error.start:error.start + 1]!r}; a weights file is JSON saved "
                         "as UTF-8") from None
    try:
        document = json.loads(text)
    except RecursionError:
        raise ValueError(f"{where}: its JSON is nested too deeply to be a weights file (a "
                         "weights file is one object of name -> number)") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: it is not valid JSON ({error.msg} at line {error.lineno} "
                         f"column {error.colno}); the file may be truncated or not a weights "
                         "file") from None
    except ValueError as error:  # an integer longer than Python converts (4300 digits)
        raise ValueError(f"{where}: it is not valid JSON for a weights file: a number in it "
                         f"is too long to read ({_cut(str(error), 200)})") from None
    saved_from = ""
    if isinstance(document, dict) and "format" in document:
        if document["format"] != FORMAT:
            raise ValueError(f"{where}: its format is {_name(document['format'])}, "
                             f"expected {FORMAT!r}")
        if document.get("version") != VERSION:
            raise ValueError(f"{where}: format version {_name(document.get('version'))} "
                             f"is not supported (this microgrant reads version {VERSION})")
        if "parameters" not in document:
            raise ValueError(f"{where}: it has no 'parameters' entry")
        if isinstance(document.get("model"), str) and document["model"]:
            saved_from = f" (the file was saved from {_cut(document['model'])})"
        document = document["parameters"]
    try:
        return check_state(document, names, model)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{where}: {error}{saved_from}") from None


def write_atomically(path, data: bytes | str, what: str = "write") -> Path:
    """Writes ``data`` (bytes, or text as UTF-8) to ``path``; a failure leaves any old file.

    Args:
        path: the file to write; its directory must exist.
        data: the whole contents.
        what: the verb for error messages ("save weights to" gives "cannot save weights
            to 'w.json': ...").

    Returns:
        ``path`` as a `pathlib.Path`.

    Raises:
        OSError: of the original kind (PermissionError, FileNotFoundError, ...), with a
            message that names ``path``; no temporary file is left behind.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_atomically(pathlib.Path(d) / "hello.txt", "hi")
    ...     p.read_text()
    'hi'
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    temporary = None
    try:
        fd, temporary = _create_beside(path)
        with os.fdopen(fd, "wb") as file:
            # Created with mode 0o666, so the process umask applies exactly as for open();
            # a file being replaced keeps its own mode.  The umask itself is never changed:
            # setting it, even for a moment, is process-wide, and files other threads create
            # meanwhile would get the wrong mode.
            mode = _existing_mode(path)
            if mode is not None:
                os.chmod(temporary, mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        reason = error.strerror or str(error)
        raise type(error)(error.errno, f"cannot {what} {str(path)!r}: {reason} (in directory "
                                       f"{str(path.parent)!r})", str(path)) from error
    except BaseException:
        _remove(temporary)
        raise
    return path


def _create_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s directory, opened for writing: (fd, its path)."""
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
             | getattr(os, "O_CLOEXEC", 0))
    for _ in range(100):
        name = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name")


def _existing_mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return None


def _remove(temporary) -> None:
    if temporary is not None:
        try:
            os.unlink(temporary)
        except OSError:
            pass
