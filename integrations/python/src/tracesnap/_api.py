"""The public recording API: ``record`` (context manager and decorator), ``start_recording``,
``stop_recording``. The recording itself is done by the native session
(``tracesnap._recording.NativeSession``); this module only configures it and keeps track of
which recording is active in the current context (a :class:`contextvars.ContextVar`, so each
thread and each asyncio task has its own).

Nothing here calls ``sys.settrace``: a tracer installed before (coverage, a debugger) is left to
the native session, which restores it when it stops.
"""

from __future__ import annotations

import contextvars
import functools
import os
import sys
import warnings
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time in every traced process
    from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, TypeVar, Union

    F = TypeVar("F", bound=Callable[..., Any])

from . import redaction
from ._io import load_trace

__all__ = ["record", "start_recording", "stop_recording", "Recording", "RecorderUnavailableError"]



class RecorderUnavailableError(RuntimeError):
    """The native recorder could not be loaded (not built, wrong platform, missing runtime)."""


class _Handle:
    """An active recording started through this API."""

    def __init__(self, native: Any, trace_id: str, path: str, temporary: bool) -> None:
        self.native = native
        self.trace_id = trace_id
        self.path = path
        self.temporary = temporary
        self.context_token: Optional[contextvars.Token] = None

    # Looks like the reference's session object where it matters to callers.
    def __repr__(self) -> str:
        return f"<tracesnap recording {self.trace_id!r} -> {self.path}>"


_ACTIVE: "contextvars.ContextVar[Optional[_Handle]]" = contextvars.ContextVar(
    "tracesnap_active_recording", default=None
)


def _native_session_class() -> Any:
    try:
        from ._recording import NativeSession
    except Exception as exc:
        raise RecorderUnavailableError(
            f"the tracesnap native recorder is not available: {type(exc).__name__}: {exc}"
        ) from exc
    return NativeSession


def _resolve_files(source_files: Optional[Iterable[Union[str, "os.PathLike[str]"]]]) -> List[str]:
    if source_files is None or isinstance(source_files, (str, bytes)) and not source_files:
        raise ValueError("source_files is required: pass the .py files to trace, "
                         "e.g. source_files=[__file__]")
    if isinstance(source_files, (str, bytes, os.PathLike)):
        source_files = [source_files]  # type: ignore[list-item]
    files: List[str] = []
    for item in source_files:
        path = os.path.abspath(os.fsdecode(os.fspath(item)))
        if not os.path.isfile(path):
            raise FileNotFoundError(2, "source file not found", path)
        if path not in files:
            files.append(path)
    if not files:
        raise ValueError("source_files is required: pass the .py files to trace, "
                         "e.g. source_files=[__file__]")
    return files


def _native_sink_for(path: str) -> str:
    """The sink for an output path: by extension (``.sqlite`` -> sqlite, ``.ndjson`` -> ndjson)."""
    from ._native import sink_for_path

    return sink_for_path(path)


def _start(trace_id: str, kind: str, source_files: Any, redact_names: Any,
           output: Optional[str], entry: Optional[str] = None,
           max_events: Optional[int] = None, last_events: Optional[int] = None) -> _Handle:
    if _ACTIVE.get() is not None:
        raise RuntimeError("recording already active in this context")
    files = _resolve_files(source_files)
    native_cls = _native_session_class()
    temporary = output is None
    if temporary:
        import tempfile

        fd, path = tempfile.mkstemp(prefix="tracesnap-", suffix=".json")
        os.close(fd)
    else:
        path = os.path.abspath(os.fspath(output))  # type: ignore[arg-type]
        os.makedirs(os.path.dirname(path), exist_ok=True)
    limits: Dict[str, int] = {}
    if max_events:
        limits["max_events"] = int(max_events)
    if last_events:
        limits["last_events"] = int(last_events)
    try:
        # The project configuration of the (first) recorded file's directory: its plugins,
        # their options, extra redactions and project (tracesnap._config; arguments win).
        from . import _config

        names = redaction.normalize(redact_names)
        config = _config.resolve(os.path.dirname(files[0]), {"redact": names or None})
        native = native_cls(
            trace_id=str(trace_id),
            kind=str(kind),
            source_files=files,
            entry=entry or f"{files[0]}:<module>",
            redact_names=config.redact,
            plugins=[p for p in config.plugins if p != "library"],
            sinks=[{"name": _native_sink_for(path), "path": path}],
            session={"project": config.project},
            plugin_dirs=config.plugin_dirs,
            plugin_options={ref: config.options_for(ref) for ref in ["annotator", "redactor", *config.plugins]},
            output_dir=config.output_dir,
            **limits,
        )
        native.start()
    except BaseException:
        if temporary:
            _unlink(path)
        raise
    handle = _Handle(native, str(trace_id), path, temporary)
    handle.context_token = _ACTIVE.set(handle)
    return handle


def _stop(handle: _Handle, session_extra: Dict[str, Any]) -> Dict[str, Any]:
    """Stop ``handle``'s native session; returns the native result dict."""
    try:
        _ACTIVE.reset(handle.context_token)  # type: ignore[arg-type]
    except (ValueError, RuntimeError):  # stopped from another context
        _ACTIVE.set(None)
    return handle.native.stop(partial=False, partial_reason=None, session=dict(session_extra))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def start_recording(trace_id: str = "trace", kind: str = "script",
                    source_files: Optional[Sequence[str]] = None,
                    redact_names: Optional[Iterable[str]] = None, *,
                    max_events: Optional[int] = None, last_events: Optional[int] = None) -> _Handle:
    """Start recording the given source files on this thread (and threads it starts later).

    Raises ``RuntimeError("recording already active in this context")`` when this context is
    already recording, ``ValueError`` when ``source_files`` is empty, ``FileNotFoundError`` for a
    missing file, and :class:`RecorderUnavailableError` when the native recorder cannot load.
    End it with :func:`stop_recording`, which returns the trace. ``max_events`` stops recording
    after that many events (the trace ends with a ``gap`` event and is marked partial).
    ``last_events`` keeps only the last that many events (a flight recorder: they are held in
    memory, compactly, and reach the trace when recording stops, after a ``gap`` event that says
    how many came before them).
    """
    return _start(trace_id, kind, source_files, redact_names, output=None, max_events=max_events,
                  last_events=last_events)


def stop_recording(**session_extra: Any) -> Dict[str, Any]:
    """Stop the recording of this context and return the trace as a dict.

    Keyword arguments are merged into the trace's ``session`` (e.g. ``request={...}``).
    Raises ``RuntimeError("no active recording in this context")`` when nothing is recording.
    """
    handle = _ACTIVE.get()
    if handle is None:
        raise RuntimeError("no active recording in this context")
    try:
        _stop(handle, session_extra)
        return load_trace(handle.path)
    finally:
        if handle.temporary:
            _unlink(handle.path)


class Recording:
    """What ``with tracesnap.record(...) as rec`` gives: filled in when the block ends.

    ``trace_id``; ``path`` (the written file, or None when ``output=None``); ``event_count``;
    ``trace`` (the trace dict, read from ``path`` the first time it is asked for);
    ``result`` (what the native session reported: counts per type, sinks).
    """

    def __init__(self, trace_id: str, path: Optional[str] = None) -> None:
        self.trace_id = trace_id
        self.path = path
        self.event_count = 0
        self.result: Optional[Dict[str, Any]] = None
        self._trace: Optional[Dict[str, Any]] = None

    @property
    def trace(self) -> Optional[Dict[str, Any]]:
        if self._trace is None and self.path and os.path.exists(self.path):
            self._trace = load_trace(self.path)
        return self._trace

    @trace.setter
    def trace(self, value: Optional[Dict[str, Any]]) -> None:
        self._trace = value

    def _fill(self, handle: _Handle, result: Any) -> None:
        self.result = result if isinstance(result, dict) else None
        count = self.result.get("event_count") if self.result else None
        self.event_count = int(count) if isinstance(count, int) else 0
        if handle.temporary:
            try:
                self._trace = load_trace(handle.path)
            except (OSError, ValueError):
                self._trace = None
            finally:
                _unlink(handle.path)
            self.path = None
        else:
            self.path = handle.path

    def __repr__(self) -> str:
        return (f"Recording(trace_id={self.trace_id!r}, path={self.path!r}, "
                f"event_count={self.event_count})")


class _Record:
    """Returned by :func:`record`: a context manager and a decorator."""

    def __init__(self, trace_id: str, source_files: Optional[Sequence[str]], output: Optional[str],
                 kind: str, redact_names: Optional[Iterable[str]], session_extra: Dict[str, Any],
                 caller_file: Optional[str], limits: Optional[Dict[str, Optional[int]]] = None) -> None:
        self.trace_id = trace_id
        self.source_files = source_files
        self.output = output
        self.kind = kind
        self.redact_names = redact_names
        self.session_extra = session_extra
        self.caller_file = caller_file
        self.limits = dict(limits or {})
        self._stack: List["tuple[_Handle, Recording]"] = []

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self) -> Recording:
        files = self.source_files
        if files is None:
            files = [self.caller_file] if self.caller_file else None
        handle = _start(self.trace_id, self.kind, files, self.redact_names, self.output, **self.limits)
        rec = Recording(self.trace_id, handle.path if not handle.temporary else None)
        self._stack.append((handle, rec))
        return rec

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        handle, rec = self._stack.pop()
        result = _stop(handle, self.session_extra)
        rec._fill(handle, result)
        return False

    # -- decorator ---------------------------------------------------------------------------

    def __call__(self, fn: F) -> F:
        if not callable(fn):
            raise TypeError("tracesnap.record(...) decorates a function")
        import inspect

        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                handle = self._start_for(fn)
                if handle is None:
                    return (yield from fn(*args, **kwargs))
                try:
                    return (yield from fn(*args, **kwargs))
                finally:
                    self._finish_for(gen_wrapper, handle)

            gen_wrapper.last_recording = None  # type: ignore[attr-defined]
            return gen_wrapper  # type: ignore[return-value]

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                handle = self._start_for(fn)
                if handle is None:
                    return await fn(*args, **kwargs)
                try:
                    return await fn(*args, **kwargs)
                finally:
                    self._finish_for(async_wrapper, handle)

            async_wrapper.last_recording = None  # type: ignore[attr-defined]
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            handle = self._start_for(fn)
            if handle is None:
                return fn(*args, **kwargs)
            try:
                return fn(*args, **kwargs)
            finally:
                self._finish_for(wrapper, handle)

        wrapper.last_recording = None  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    def _start_for(self, fn: Callable[..., Any]) -> Optional[_Handle]:
        # A call made while this context is already recording (recursion into the decorated
        # function, or a decorated function called from a recorded block) is just recorded.
        if _ACTIVE.get() is not None:
            return None
        files = self.source_files
        if files is None:
            import inspect

            try:
                source = inspect.getsourcefile(fn)
            except TypeError:
                source = None
            files = [source or getattr(getattr(fn, "__code__", None), "co_filename", None)]
            files = [f for f in files if f]
        entry = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"
        try:
            return _start(self.trace_id, self.kind, files, self.redact_names, self.output, entry, **self.limits)
        except Exception as exc:  # never turn a call into a failed one because of tracesnap
            warnings.warn(f"tracesnap: not recording {entry}: {exc}", RuntimeWarning, stacklevel=3)
            return None

    def _finish_for(self, wrapper: Any, handle: _Handle) -> None:
        rec = Recording(self.trace_id)
        try:
            result = _stop(handle, self.session_extra)
            rec._fill(handle, result)
        except Exception as exc:  # never turn a finished call into a failed one
            warnings.warn(f"tracesnap: could not finish the recording: {exc}", RuntimeWarning,
                          stacklevel=3)
        wrapper.last_recording = rec


def record(trace_id: Any = "trace", source_files: Optional[Sequence[str]] = None,
           output: Optional[str] = "trace.json", kind: str = "script",
           redact_names: Optional[Iterable[str]] = None, *, max_events: Optional[int] = None,
           last_events: Optional[int] = None, **session_extra: Any) -> Any:
    """Record a block (``with tracesnap.record(...) as rec:``) or every call of a function
    (``@tracesnap.record(...)``; ``@tracesnap.record`` works too).

    ``source_files`` defaults to the calling file (context manager) or the function's file
    (decorator). ``output`` is the trace file to write (``None``: keep it in memory only, as
    ``rec.trace``). ``redact_names`` are added to :data:`tracesnap.redaction.DEFAULT_NAMES`.
    ``max_events`` stops recording after that many events; ``last_events`` keeps only the last
    that many (see :func:`start_recording`). Extra keyword arguments are merged into the trace's
    ``session``.

    The decorator records one trace per outermost call (for a generator function: from the
    first ``next()`` until it is exhausted or closed); a call of the decorated function made
    while a recording is active (recursion) is recorded as part of it, never an error. If the
    recording cannot start, the function still runs, with a ``RuntimeWarning``. The latest
    :class:`Recording` is available as ``wrapped.last_recording``.
    """
    caller = sys._getframe(1)
    caller_file = caller.f_code.co_filename
    del caller
    limits = {"max_events": max_events, "last_events": last_events}
    if callable(trace_id) and not isinstance(trace_id, str):
        fn = trace_id
        return _Record("trace", source_files, output, kind, redact_names, session_extra,
                       caller_file, limits)(fn)
    return _Record(str(trace_id), source_files, output, kind, redact_names, session_extra,
                   caller_file, limits)
