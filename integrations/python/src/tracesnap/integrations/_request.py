"""What the Flask, Django and FastAPI shims share: one recording per request.

A request is recorded when ``TRACESNAP_ENABLED=1`` (checked when the view is decorated *and* when
it runs; otherwise the decorator returns the view itself, untouched). The recording covers the
thread that serves the request only (``NativeSession(thread_scope=True)``; for an ``async`` view
also only its asyncio task, ``task_scope=True``), writes
``<output_dir>/<trace_id>.json`` and files the trace in the library (``kind: "request"``).
``session.request`` holds the method, path, route, query, the real status, the duration and the
outbound calls.

The project's configuration applies as it does to ``tracesnap record`` (``tracesnap._config``,
resolved from the directory of the first recorded file: ``.tracesnap.toml``,
``[tool.tracesnap]``, ``TRACESNAP_*``): its project, plugins and their options, redactions,
``output_dir`` and ``sink``. The framework settings (``app.config["TRACESNAP"]``,
``settings.TRACESNAP``, ``configure()``) come first, as the command line does for ``record``.

A shim never raises into the application: a recording that cannot start or stop is reported once
on stderr (``tracesnap: …``) and the request is served as if tracesnap were not there. Concurrent
requests are recorded side by side, each into its own trace (the core routes every event to the
recording of its thread or task; see ``ActiveRecording`` and docs/architecture.md).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import itertools
import os
import sys
import threading
import time
from typing import Any, Callable, Dict, Optional

ENV_ENABLED = "TRACESNAP_ENABLED"
_KEYS = ("output_dir", "source_files", "redact_names", "trace_id_prefix", "library", "project")
_counter = itertools.count(1)
# Where the request recording of this context runs: (thread ident, asyncio task id). A traced
# function called inside a recorded request on the same thread and task is part of that trace;
# one that runs in a task of its own (asyncio.gather) gets its own trace.
_RECORDING_HERE: "contextvars.ContextVar[Optional[tuple]]" = contextvars.ContextVar(
    "tracesnap_request_recording", default=None)


def _where() -> tuple:
    task = None
    try:
        import asyncio

        task = asyncio.current_task()
    except RuntimeError:  # no running event loop
        pass
    return (threading.get_ident(), id(task) if task is not None else 0)


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
        self._token = None

    def begin(self) -> bool:
        if not enabled():
            return False
        try:
            here = _where()
            if _RECORDING_HERE.get() == here:
                return False  # already recorded as part of the enclosing request
            self._start()
            self._token = _RECORDING_HERE.set(here)
            return True
        except Exception as exc:
            note(f"{self.view.__qualname__}: recording could not start ({type(exc).__name__}: {exc}); request served unrecorded")
            self.session = None
            return False

    def _start(self) -> None:
        from .. import _config
        from .._recording import NativeSession

        view_file = inspect.getsourcefile(self.view) or getattr(self.view.__code__, "co_filename", "")
        files = [os.path.abspath(os.fspath(f)) for f in (self.config.get("source_files") or [view_file]) if f]
        prefix = self.config.get("trace_id_prefix") or self.name or self.view.__name__
        self.trace_id = f"{prefix}-{int(time.time() * 1000)}-{os.getpid()}-{next(_counter)}"
        # The project's configuration, as `tracesnap record` resolves it from the script's
        # directory: here from the (first) recorded file's. The framework settings are the
        # command line: their project wins, their redact_names add to the project's.
        config = _config.resolve(os.path.dirname(files[0] if files else os.path.abspath(view_file)), {
            "project": self.config.get("project") or None,
            "redact": [str(n) for n in self.config.get("redact_names") or []] or None})
        output_dir = self.config.get("output_dir") or (config.output_dir if "output_dir" in config.origins
                                                        else "traces")
        output_dir = os.path.abspath(os.fspath(output_dir))
        os.makedirs(output_dir, exist_ok=True)
        self.path = os.path.join(output_dir, f"{self.trace_id}.json")
        library_sink = {"name": "library", "home": _library_home(), "name_": self.name or self.trace_id,
                        "project": config.project, "source": files[0] if files else "", "copies": []}
        # The request's JSON file, then the project's default sink (the library unless `sink`
        # says otherwise; `library: False` turns it off, like --no-library).
        sinks, plugins = config.sinks(library_sink, library=bool(self.config.get("library", True)))
        if not any(sink["name"] == "json" and "path" not in sink for sink in sinks):  # (sink = "json" writes it)
            sinks.insert(0, {"name": "json", "path": self.path})
        self.session = NativeSession(
            trace_id=self.trace_id, kind="request", source_files=files, entry=self.view.__qualname__,
            redact_names=list(config.redact), plugins=plugins, sinks=sinks, session={"project": config.project},
            plugin_dirs=config.plugin_dirs,
            plugin_options={ref: config.options_for(ref) for ref in ["annotator", "redactor", *plugins]},
            output_dir=output_dir, thread_scope=True, task_scope=self.is_async)
        self.started = time.perf_counter()
        self.session.start()

    def end(self, request: Dict[str, Any], status: int, error: Optional[BaseException] = None) -> None:
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
            if self._token is not None:
                try:
                    _RECORDING_HERE.reset(self._token)
                except (ValueError, RuntimeError):  # ended in another context
                    pass
                self._token = None


def status_of_exception(exc: BaseException) -> int:
    """The HTTP status a framework answers an exception with (500 when it has none)."""
    for attribute in ("status_code", "code"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    return 500


def _no_request(args: tuple, kwargs: dict) -> Any:
    return None


def wrap_view(view: Callable[..., Any], name: Optional[str], *, config: Callable[[], Dict[str, Any]],
              request_info: Callable[[Any], Dict[str, Any]], status_of: Callable[[Any], int],
              find_request: Callable[[tuple, dict], Any] = _no_request,
              exception_status: Callable[[BaseException], int] = status_of_exception) -> Callable[..., Any]:
    """A view wrapped to record each request it serves; what a framework shim hands in:

    - ``config()``: the integration settings (``check_config``'s result), read per request;
    - ``find_request(args, kwargs)``: the framework's request among the view's arguments (or None);
    - ``request_info(request)``: method, path, route and query of it, for ``session.request``;
    - ``status_of(result)``: the HTTP status of what the view returned;
    - ``exception_status(exc)``: the status the framework answers an exception with.

    The wrapper returns what the view returns and raises what it raises; a failure of any of
    these callables only costs the request its details (or its recording), never the request.
    An ``async def`` view gets an ``async def`` wrapper (recording its own task only).
    """
    is_async = inspect.iscoroutinefunction(view)

    def begin(args: tuple, kwargs: dict) -> Optional[tuple]:
        """(recording, request) when this request is recorded, else None."""
        try:
            recording = RequestRecording(view, name, config(), is_async)
        except Exception:
            return None
        if not recording.begin():
            return None
        try:
            request = find_request(args, kwargs)
        except Exception:
            request = None
        return recording, request

    def end(started: Optional[tuple], result: Any, error: Optional[BaseException] = None) -> None:
        if started is None:
            return
        recording, request = started
        try:
            status = exception_status(error) if error is not None else status_of(result)
        except Exception:
            status = 500 if error is not None else 200
        try:
            info = request_info(request)
        except Exception:
            info = {}
        recording.end(info, status, error)

    if is_async:
        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            started = begin(args, kwargs)
            try:
                result = await view(*args, **kwargs)
            except BaseException as exc:
                end(started, None, exc)
                raise
            end(started, result)
            return result

        return async_wrapper

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = begin(args, kwargs)
        try:
            result = view(*args, **kwargs)
        except BaseException as exc:
            end(started, None, exc)
            raise
        end(started, result)
        return result

    return wrapper


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
