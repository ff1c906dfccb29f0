"""Reading and writing trace files."""

from __future__ import annotations

import json
import os
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time in every traced process
    from typing import Any, Dict, Union

__all__ = ["write_trace", "load_trace"]

def write_trace(trace: Dict[str, Any], path: Union[str, os.PathLike[str]]) -> str:
    """Write ``trace`` as JSON to ``path`` atomically; return the absolute path.

    The JSON goes to a temporary file next to ``path`` that then replaces it, so a reader never
    sees half a trace and a crash never leaves one. Missing parent directories are created.
    """
    target = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(target)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            json.dump(trace, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


SQLITE_MAGIC = b"SQLite format 3\x00"
COMPACT_MAGICS = (b"TSNAPv2\n", b"TSNAPv1\n")


def load_trace(path: Union[str, os.PathLike[str]]) -> Dict[str, Any]:
    """Read a trace file (format 0.1 or 0.2) into a dict: a JSON trace, or the SQLite form the
    ``sqlite`` sink writes (``output="trace.sqlite"``) or the compact form of the ``compact`` sink
    (``output="trace.tsnap"``), which give the same dict."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        from . import _sqlite_trace

        return _sqlite_trace.load(path)
    if head[:8] in COMPACT_MAGICS:
        from . import _compact_trace

        return _compact_trace.load(path)
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)
