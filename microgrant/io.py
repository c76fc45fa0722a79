"""Files: weights saved and loaded, and every file microgrant writes, written all at once.

Every picture of a forward or backward graph, every page that steps through backprop, every
plot of training and every file of trained weights goes through `write_atomically` on its way
to disk.

A failed save must lose nothing: not the old file at that path, and not the disk space of a
half-written new one.  So the bytes go to a temporary file beside the target (same directory,
so same file system) and are renamed over it only when complete; a rename is atomic, a write
is not.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


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
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600): keep the mode of the file being replaced,
        # or give a new file the mode open() would.
        os.chmod(temporary, _mode_for(path))
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


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove(temporary) -> None:
    if temporary is not None:
        try:
            os.unlink(temporary)
        except OSError:
            pass
