"""What the Flask, Django and FastAPI shims share: one recording per request.

A request is recorded when ``TRACESNAP_ENABLED=1`` (checked when the view is decorated *and* when
it runs; otherwise the decorator returns the view itself, untouched). The recording covers the
thread that serves the request only (``NativeSession(thread_scope=True)``; for an ``async`` view
also only its asyncio task, ``task_scope=True``), writes
``<output_dir>/<trace_id>.json`` and files the trace in the library (``kind: "request"``, the
project of the view's file). ``session.request`` holds the method, path, route, query, the real
status, the duration and the outbound calls.

A shim never raises into the application: a recording that cannot start or stop is reported once
on stderr (``tracesnap: …``) and the request is served as if tracesnap were not there. One request
is recorded at a time per process; a request that arrives while another is being recorded is
served unrecorded (with a notice).
"""

from __future__ import annotations

import inspect
import itertools
import os
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

ENV_ENABLED = "TRACESNAP_ENABLED"
_KEYS = ("output_dir", "source_files", "redact_names", "trace_id_prefix", "library", "project")
_counter = itertools.count(1)
_lock = threading.Lock()
_busy = False


def enabled() -> bool:
    """Whether request recording is switched on (``TRACESNAP_ENABLED=1``)."""
    return os.environ.get(ENV_ENABLED) == "1"


def note(message: str) -> None:
    try:
        sys.stderr.write(f"tracesnap: {message}\n")
        sys.stderr.flush()
    except Exception:
        pass


def check_config(config: Any, where: str) -> Dict[str, Any]:
    """The integration settings as a dict; unknown keys are reported once and ignored."""
    if not config:
        return {}
    if not isinstance(config, dict):
        note(f"{where} must be a dict; ignoring it")
        return {}
    unknown = sorted(k for k in config if k not in _KEYS)
    if unknown:
        note(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_KEYS)})")
    return {k: v for k, v in config.items() if k in _KEYS}


def _project_for(path: str) -> Optional[str]:
    """``project = "..."`` of the nearest ``.tracesnap.toml`` above ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    while True:
        candidate = os.path.join(directory, ".tracesnap.toml")
        if os.path.isfile(candidate):
            try:
                try:
                    import tomllib as toml  # 3.11+
                except ImportError:  # pragma: no cover - 3.9/3.10
                    import tomli as toml  # type: ignore
                with open(candidate, "rb") as handle:
                    value = toml.load(handle).get("project")
                return str(value) if value else None
            except Exception:
                return None
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _library_home() -> str:
    return os.environ.get("TRACESNAP_HOME") or os.path.join(os.path.expanduser("~"), ".tracesnap")


class RequestRecording:
    """One request's recording; ``begin`` and ``end`` never raise."""

    def __init__(self, view: Callable[..., Any], name: Optional[str], config: Dict[str, Any],
                 is_async: bool = False) -> None:
        self.view = view
        # an async view shares its thread with every other request the event loop runs: record
        # its own asyncio task only
        self.is_async = is_async
        self.name = name
        self.config = config
        self.session = None
        self.started = 0.0
        self.trace_id = ""
        self.path = ""

    def begin(self) -> bool:
        global _busy
        if not enabled():
            return False
        with _lock:
            if _busy:
                note(f"{self.view.__qualname__}: not recorded (another request is being recorded in this process)")
                return False
            _busy = True
        try:
            self._start()
            return True
        except Exception as exc:
            note(f"{self.view.__qualname__}: recording could not start ({type(exc).__name__}: {exc}); request served unrecorded")
            self.session = None
            with _lock:
                _busy = False
            return False

    def _start(self) -> None:
        from .._recording import NativeSession

        view_file = inspect.getsourcefile(self.view) or getattr(self.view.__code__, "co_filename", "")
        files = [os.path.abspath(os.fspath(f)) for f in (self.config.get("source_files") or [view_file]) if f]
        prefix = self.config.get("trace_id_prefix") or self.name or self.view.__name__
        self.trace_id = f"{prefix}-{int(time.time() * 1000)}-{os.getpid()}-{next(_counter)}"
        output_dir = os.path.abspath(os.fspath(self.config.get("output_dir") or "traces"))
        os.makedirs(output_dir, exist_ok=True)
        self.path = os.path.join(output_dir, f"{self.trace_id}.json")
        project = self.config.get("project") or _project_for(files[0] if files else view_file)
        sinks: List[Dict[str, Any]] = [{"name": "json", "path": self.path}]
        if self.config.get("library", True):
            sinks.append({"name": "library", "home": _library_home(), "name_": self.name or self.trace_id,
                          "project": project or "", "source": files[0] if files else "", "copies": []})
        session_extra: Dict[str, Any] = {}
        if project:
            session_extra["project"] = project
        self.session = NativeSession(
            trace_id=self.trace_id, kind="request", source_files=files, entry=self.view.__qualname__,
            redact_names=list(self.config.get("redact_names") or []), sinks=sinks, session=session_extra,
            thread_scope=True, task_scope=self.is_async)
        self.started = time.perf_counter()
        self.session.start()

    def end(self, request: Dict[str, Any], status: int, error: Optional[BaseException] = None) -> None:
        global _busy
        if self.session is None:
            return
        try:
            info = dict(request)
            info["status"] = int(status)
            info["duration_ms"] = round((time.perf_counter() - self.started) * 1000, 3)
            if error is not None:
                info["error"] = f"{type(error).__name__}: {error}"[:500]
            info["outbound"] = [{key: call.get(key) for key in ("seq", "verb", "target", "status", "duration_ms", "error")}
                                for call in self.session.extcalls()]
            result = self.session.stop(session={"request": info})
            for sink in result.get("sinks", []):
                if sink.get("error"):
                    note(f"{self.view.__qualname__}: the {sink.get('name')} sink failed: {sink['error']}")
        except Exception as exc:
            note(f"{self.view.__qualname__}: recording could not be saved ({type(exc).__name__}: {exc})")
        finally:
            self.session = None
            with _lock:
                _busy = False


def status_of_exception(exc: BaseException) -> int:
    """The HTTP status a framework answers an exception with (500 when it has none)."""
    for attribute in ("status_code", "code"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    return 500


def decorator(make_wrapper: Callable[[Callable[..., Any], Optional[str]], Callable[..., Any]]):
    """Builds ``traced`` / ``traced(name=...)`` from a framework's wrapper factory."""

    def traced(view: Optional[Callable[..., Any]] = None, *, name: Optional[str] = None):
        def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
            if not enabled():
                return function  # a true no-op: the view itself
            return make_wrapper(function, name)

        if view is not None and callable(view):
            return wrap(view)
        return wrap

    return traced
