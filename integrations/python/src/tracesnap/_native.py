"""The ctypes binding to the Swift core (``libTraceSnapCore.so``).

The core is loaded with ``ctypes.PyDLL`` (libffi), which keeps the GIL held during every call:
the core calls the CPython C API of *this* interpreter directly (it is not linked to libpython),
so the same library serves CPython 3.9 to 3.13.

Where the libraries are found, in order: ``TRACESNAP_LIB_DIR`` (a development build, e.g.
``.build/debug``), then ``tracesnap/_lib`` inside the installed package.
"""

from __future__ import annotations

import ctypes
import os
import sys

# $TRACESNAP_LIB_DIR - directory holding libTraceSnapCore.so and the built-in plugins.
_ENV_LIB_DIR = "TRACESNAP_LIB_DIR"

CORE_LIBRARY = "libTraceSnapCore.so"

# Built-in plugins: name -> shared library file.
BUILTIN_PLUGINS = {
    "annotator": "libTraceSnapAnnotator.so",
    "redactor": "libTraceSnapRedactor.so",
    "json": "libTraceSnapJSONSink.so",
    "library": "libTraceSnapLibrarySink.so",
    "ndjson": "libTraceSnapNDJSONSink.so",
    "sqlite": "libTraceSnapSQLiteSink.so",
    "compact": "libTraceSnapCompactSink.so",
    "requests": "libTraceSnapRequestsCapture.so",
    "urllib": "libTraceSnapUrllibCapture.so",
    "httpx": "libTraceSnapHttpxCapture.so",
}

# Output file extensions that pick a sink other than the JSON one (`--out trace.sqlite`).
SINK_BY_EXTENSION = {
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".tsnap": "compact",
}


def sink_for_path(path: str) -> str:
    """The sink that writes an output file: ``sqlite`` for ``.sqlite``/``.sqlite3``/``.db``,
    ``ndjson`` for ``.ndjson``/``.jsonl``, ``compact`` for ``.tsnap``, else ``json``."""
    return SINK_BY_EXTENSION.get(os.path.splitext(str(path))[1].lower(), "json")


# Kinds of sys.monitoring callbacks the core provides (MonitoringHook.Kind in Swift).
MONITORING_KINDS = (
    "PY_START",
    "PY_RESUME",
    "PY_RETURN",
    "PY_YIELD",
    "LINE",
    "RAISE",
    "RERAISE",
    "EXCEPTION_HANDLED",
    "PY_UNWIND",
    "PY_THROW",
)


class NativeUnavailable(RuntimeError):
    """The Swift core could not be loaded (the message says why)."""


def library_dir() -> str:
    """The directory that holds the core and the built-in plugins."""
    configured = os.environ.get(_ENV_LIB_DIR)
    if configured:
        return os.path.abspath(configured)
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lib")


_core = None


def core():
    """The loaded core library (loaded once per process)."""
    global _core
    if _core is not None:
        return _core
    path = os.path.join(library_dir(), CORE_LIBRARY)
    if not os.path.exists(path):
        raise NativeUnavailable(
            f"the tracesnap core library is missing ({path}); reinstall tracesnap or set {_ENV_LIB_DIR}"
        )
    # The Swift runtime installs a crash backtracer for SIGSEGV unless told not to; a recorder
    # must not change how the host program crashes.
    os.environ.setdefault("SWIFT_BACKTRACE", "enable=no")
    try:
        lib = ctypes.PyDLL(path)
    except OSError as exc:
        raise NativeUnavailable(f"cannot load {path}: {exc}") from None
    lib.ts_core_version.restype = ctypes.c_char_p
    lib.ts_core_version.argtypes = []
    lib.ts_last_error.restype = ctypes.c_char_p
    lib.ts_last_error.argtypes = []
    lib.ts_free.restype = None
    lib.ts_free.argtypes = [ctypes.c_void_p]
    lib.ts_session_create.restype = ctypes.c_int64
    lib.ts_session_create.argtypes = [ctypes.c_char_p]
    lib.ts_session_start.restype = ctypes.c_int32
    lib.ts_session_start.argtypes = [ctypes.c_int64, ctypes.py_object, ctypes.py_object, ctypes.c_int32]
    lib.ts_attach_thread.restype = ctypes.c_int32
    lib.ts_attach_thread.argtypes = []
    lib.ts_monitoring_callable.restype = ctypes.py_object
    lib.ts_monitoring_callable.argtypes = [ctypes.c_int32]
    lib.ts_session_event_count.restype = ctypes.c_int64
    lib.ts_session_event_count.argtypes = [ctypes.c_int64]
    lib.ts_session_stop.restype = ctypes.c_void_p
    lib.ts_session_stop.argtypes = [ctypes.c_int64, ctypes.c_int32, ctypes.c_char_p, ctypes.c_char_p]
    lib.ts_session_watches.restype = ctypes.c_void_p
    lib.ts_session_watches.argtypes = [ctypes.c_int64]
    lib.ts_watch_report.restype = None
    lib.ts_watch_report.argtypes = [ctypes.c_int64, ctypes.c_int32, ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
                                    ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.ts_session_extcalls.restype = ctypes.c_void_p
    lib.ts_session_extcalls.argtypes = [ctypes.c_int64]
    lib.ts_plugin_probe.restype = ctypes.c_void_p
    lib.ts_plugin_probe.argtypes = [ctypes.c_char_p]
    _core = lib
    return lib


def last_error() -> str:
    message = core().ts_last_error()
    return message.decode("utf-8", "replace") if message else "unknown error"


def take_string(pointer) -> str:
    """Decodes and frees a malloc'ed C string returned by the core."""
    if not pointer:
        return ""
    try:
        return ctypes.string_at(pointer).decode("utf-8", "replace")
    finally:
        core().ts_free(pointer)


def plugin_search_dirs(extra_dirs=()) -> list:
    """Directories searched for plugins by name: ``TRACESNAP_PLUGIN_PATH`` (colon-separated),
    then ``extra_dirs`` (the configuration's ``plugin_path``)."""
    dirs = []
    # $TRACESNAP_PLUGIN_PATH - extra directories searched for third-party plugins.
    for directory in list(os.environ.get("TRACESNAP_PLUGIN_PATH", "").split(os.pathsep)) + list(extra_dirs):
        if directory and directory not in dirs:
            dirs.append(directory)
    return dirs


def is_plugin_file_reference(name: str) -> bool:
    """True when a plugin is named by a path rather than by a name."""
    return os.sep in name or name.endswith(".so")


def find_plugin(name: str, extra_dirs=()):
    """The library of a plugin name or path, or None when no such file exists.

    Built-in names map to the bundled libraries (``BUILTIN_PLUGINS``); other names are looked up
    as ``lib<name>.so`` / ``<name>.so`` in :func:`plugin_search_dirs`; a path is used as is.
    """
    if is_plugin_file_reference(name):
        path = os.path.abspath(name)
        return path if os.path.exists(path) else None
    builtin = BUILTIN_PLUGINS.get(name)
    if builtin:
        path = os.path.join(library_dir(), builtin)
        return path if os.path.exists(path) else None
    for directory in plugin_search_dirs(extra_dirs):
        for candidate in (f"lib{name}.so", f"{name}.so"):
            path = os.path.join(directory, candidate)
            if os.path.exists(path):
                return os.path.abspath(path)
    return None


def plugin_path(name: str, extra_dirs=()) -> str:
    """Resolves a plugin name or path to a shared library path (see :func:`find_plugin`); a
    name that is found nowhere gives ``<lib dir>/lib<name>.so``, whose loading then fails with
    a "no such file" message naming it."""
    found = find_plugin(name, extra_dirs)
    if found:
        return found
    if is_plugin_file_reference(name):
        return os.path.abspath(name)
    builtin = BUILTIN_PLUGINS.get(name)
    return os.path.join(library_dir(), builtin or f"lib{name}.so")


def monitoring_available() -> bool:
    return sys.version_info >= (3, 12) and hasattr(sys, "monitoring")
