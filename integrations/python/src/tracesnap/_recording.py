"""One recording session, driven from Python and carried out by the Swift core.

``NativeSession`` builds the session description (sources, static structure, redaction rules),
chooses the plugins (the branch/loop annotator and the redactor by default, then any extra
plugins, then the sinks), hands everything to the core as JSON, and installs the interpreter hook:
``sys.monitoring`` with the core's native callbacks on 3.12+, ``PyEval_SetTrace`` (from inside the
core) before that. The choice is made in one place, ``_choose_hook``, and a fallback is logged with
its reason.

Environment:
  TRACESNAP_HOOK   - force "settrace" or "monitoring" (default: the best available).
  TRACESNAP_DEBUG  - "1" prints the recorder's debug messages (hook choice, plugin loading).
"""

from __future__ import annotations

import datetime
import dis
import json
import os
import sys
import threading
import tokenize
from typing import Any

from . import _codeinfo, _native, _sharedhooks

DEFAULT_REDACT_NAMES = ("password", "token", "secret", "authorization", "api_key")
# Outbound HTTP capture that is on by default, as in the reference (httpx is opt-in). They come
# first so that their extcall events pass the annotator (parent_seq) and the redactor.
DEFAULT_CAPTURE = ("requests", "urllib")
DEFAULT_TRANSFORMS = DEFAULT_CAPTURE + ("annotator", "redactor")
CAPTURE_PLUGINS = DEFAULT_CAPTURE + ("httpx",)


def _debug(message: str) -> None:
    if os.environ.get("TRACESNAP_DEBUG") == "1":
        sys.stderr.write(f"tracesnap: debug: {message}\n")


def _read_source(path: str) -> str:
    """The file's text, decoded as Python does (PEP 263 coding cookies)."""
    try:
        with tokenize.open(path) as handle:
            return handle.read()
    except (OSError, SyntaxError, UnicodeDecodeError):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""


# (path, mtime_ns, size) -> (text, structure): a web app records the same files on every request.
_FILE_FACTS: dict = {}


def _file_facts(path: str):
    """The file's text and static structure, computed once per version of the file."""
    try:
        info = os.stat(path)
        key = (path, info.st_mtime_ns, info.st_size)
    except OSError:
        key = None
    if key is not None and key in _FILE_FACTS:
        return _FILE_FACTS[key]
    text = _read_source(path)
    facts = (text, _structure_for(path, text))
    if key is not None:
        if len(_FILE_FACTS) > 256:
            _FILE_FACTS.clear()
        _FILE_FACTS[key] = facts
    return facts


def _structure_for(path: str, source: str) -> list:
    try:
        from ._structure import build_structure
    except ImportError:
        return []
    try:
        return build_structure(path, source)
    except Exception as exc:  # a file that does not parse has no structure, and that is all
        _debug(f"no structure for {path}: {exc}")
        return []


def _choose_hook() -> str:
    """The interpreter hook to use: "monitoring" (3.12+) or "settrace", with the reason logged."""
    forced = os.environ.get("TRACESNAP_HOOK", "").strip().lower()
    if forced in ("settrace", "monitoring"):
        if forced == "monitoring" and not _native.monitoring_available():
            _debug("TRACESNAP_HOOK=monitoring but sys.monitoring needs Python 3.12+; using settrace [no-sysmon]")
            return "settrace"
        return forced
    if not _native.monitoring_available():
        _debug(f"sys.monitoring needs Python 3.12+ (this is {sys.version_info[0]}.{sys.version_info[1]}); "
               "using PyEval_SetTrace [no-sysmon]")
        return "settrace"
    return "monitoring"


class RecordingError(RuntimeError):
    """The recording could not start (the message is one line for the user)."""


class NativeSession:
    """A recording session backed by the Swift core. See the module docstring."""

    def __init__(
        self,
        trace_id: str = "trace",
        kind: str = "script",
        source_files=(),
        entry: str | None = None,
        redact_names=None,
        plugins=None,
        sinks=(),
        session: dict | None = None,
        max_events: int | None = None,
        last_events: int | None = None,
        plugin_dirs=(),
        plugin_options: dict | None = None,
        output_dir: str | None = None,
        functions=(),
        exclude_functions=(),
        thread_scope: bool = False,
        task_scope: bool = False,
    ):
        self.trace_id = str(trace_id)
        self.kind = kind
        self.source_files = [os.path.abspath(p) for p in source_files]
        self.entry = entry or (f"{self.source_files[0]}:<module>" if self.source_files else "")
        extra_names = [n.strip() for n in (redact_names or ()) if n and n.strip()]
        names = {n.lower() for n in DEFAULT_REDACT_NAMES} | {n.lower() for n in extra_names}
        self.redact_names = sorted(names)
        self.plugins = list(plugins) if plugins is not None else []
        self.sinks = list(sinks)
        self.extra_session = dict(session or {})
        self.max_events = max_events
        # Keep only the last N events (a flight recorder): they reach the sinks when recording stops.
        self.last_events = int(last_events) if last_events else None
        if self.last_events is not None and self.last_events < 1:
            raise ValueError("last_events must be a positive number of events")
        # From the project configuration (tracesnap._config): where plugins are searched by
        # name, their option tables, and where a sink without a "path" option writes.
        self.plugin_dirs = list(plugin_dirs)
        self.plugin_options = dict(plugin_options or {})
        self.output_dir = output_dir or os.getcwd()
        self.functions = [str(p) for p in (functions or ()) if str(p).strip()]
        self.exclude_functions = [str(p) for p in (exclude_functions or ()) if str(p).strip()]
        # Record only the thread that calls start() (a web request); other threads, even running
        # the same code, are not part of this recording.
        self.thread_scope = bool(thread_scope)
        # ... and only the asyncio task that calls start() (an async view): coroutines of other
        # requests that the event loop runs on the same thread meanwhile are left out.
        self.task_scope = bool(task_scope)
        self._handle = 0
        self._watcher = None
        self._hook = None
        self._tool_id = None
        self._previous_trace = None
        self._previous_thread_trace = None
        self._started = False
        self._stopped = False

    # -- configuration -----------------------------------------------------------------

    def _session_object(self) -> dict:
        sources = {}
        structures = {}
        for path in self.source_files:
            sources[path], structures[path] = _file_facts(path)
        primary = sources.get(self.source_files[0], "") if self.source_files else ""
        session = {
            "kind": self.kind,
            "granularity": "line",
            "entry": self.entry,
            "source": primary,
            "sources_by_file": sources,
            "redaction": {"key_rules": self.redact_names},
            "structure_by_file": structures,
            "started_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        limits = {}
        if self.max_events:
            limits["max_events"] = int(self.max_events)
        if self.last_events:
            limits["last_events"] = self.last_events
        if self.functions:
            limits["functions"] = list(self.functions)
        if self.exclude_functions:
            limits["exclude_functions"] = list(self.exclude_functions)
        if limits:
            # what was left out on purpose, so that a reader knows the trace is not everything
            session["limits"] = limits
        session.update(self.extra_session)
        return session

    def _plugin_entries(self) -> list:
        entries = []
        requested = [p for p in self.plugins if p]
        # "-NAME" turns a default plugin off (`--plugin=-requests`); the annotator and the
        # redactor stay: they make the trace correct and keep secrets out of it.
        turned_off = {p[1:] for p in requested if isinstance(p, str) and p.startswith("-")} & set(DEFAULT_CAPTURE)
        requested = [p for p in requested if not (isinstance(p, str) and p.startswith("-"))]
        names = [n for n in DEFAULT_TRANSFORMS if n not in turned_off]
        names += [p for p in requested if isinstance(p, str) and p not in names and p not in turned_off]
        for name in names:
            options: dict[str, Any] = dict(self.plugin_options.get(name, {}))
            if name == "redactor":
                options["names"] = self.redact_names
            elif name in CAPTURE_PLUGINS:
                options["redact_names"] = self.redact_names
            elif name == "ndjson" and "path" not in options:
                # `--plugin ndjson`: the stream goes to the output directory (default: where the
                # user ran the command)
                stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.trace_id) or "trace"
                options["path"] = os.path.join(self.output_dir, f"{stem}.ndjson")
            entries.append({"name": name, "path": _native.plugin_path(name, self.plugin_dirs), "options": options,
                            "default_path": self._default_output(name)})
        for plugin in requested:
            if isinstance(plugin, dict):
                name = plugin.get("name", "")
                path = plugin.get("path") or _native.plugin_path(name, self.plugin_dirs)
                entries.append({"name": name, "path": path, "options": plugin.get("options", {}),
                                "default_path": self._default_output(name)})
        for sink in self.sinks:
            sink = dict(sink)
            name = sink.pop("name")
            path = sink.pop("plugin_path", None) or _native.plugin_path(name, self.plugin_dirs)
            if "name_" in sink:  # the display name (``name`` itself selects the plugin)
                sink["name"] = sink.pop("name_")
            entries.append({"name": name, "path": path, "options": sink, "required": True,
                            "default_path": self._default_output(name)})
        return entries

    def _default_output(self, reference: str) -> str:
        """Where a sink named without a "path" option writes: ``<output_dir>/<trace_id>.<name>``
        (``.json`` for the json sink, ``.tsnap`` for the compact one)."""
        stem = os.path.basename(reference)
        stem = stem[:-3] if stem.endswith(".so") else stem
        stem = stem[3:] if stem.startswith("lib") else stem
        extension = {"compact": "tsnap"}.get(stem, stem)
        return os.path.join(self.output_dir, f"{self.trace_id}.{extension}")

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Starts recording on this thread (and on threads started later)."""
        if self._started:
            raise RecordingError("this session was already started")
        lib = _native.core()
        config = {
            "trace_id": self.trace_id,
            "session": self._session_object(),
            "plugins": self._plugin_entries(),
        }
        if self.max_events:
            config["max_events"] = int(self.max_events)
        if self.last_events:
            config["last_events"] = self.last_events
        if self.thread_scope:
            config["thread_scope"] = True
        if self.task_scope:
            config["task_scope"] = True
        config["return_opcodes"] = [dis.opmap[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in dis.opmap]
        handle = lib.ts_session_create(json.dumps(config).encode("utf-8"))
        if not handle:
            raise RecordingError(_native.last_error())
        self._handle = handle
        analyzer = _codeinfo.make_analyzer(self.source_files, self.functions, self.exclude_functions)
        hook = _choose_hook()
        if hook == "monitoring":
            self._start_monitoring(lib, analyzer)
        else:
            self._start_settrace(lib, analyzer)
        self._hook = hook
        self._started = True
        self._install_watches(lib)
        _debug(f"recording {self.trace_id!r} with {hook}")

    def _start_monitoring(self, lib, analyzer) -> None:
        monitoring = sys.monitoring
        if not _sharedhooks.acquire_monitoring(lib, _native.MONITORING_KINDS):
            _debug("every sys.monitoring tool id is taken; using PyEval_SetTrace [no-sysmon-tool]")
            self._start_settrace(lib, analyzer)
            self._hook = "settrace"
            return
        if not lib.ts_session_start(self._handle, analyzer, monitoring.DISABLE, 2):
            _sharedhooks.release_monitoring(_native.MONITORING_KINDS)
            raise RecordingError(_native.last_error())
        self._tool_id = True
        _sharedhooks.enable_for((tuple(self.source_files), tuple(self.functions), tuple(self.exclude_functions)))

    def _start_settrace(self, lib, analyzer) -> None:
        self._previous_trace = sys.gettrace()
        self._previous_thread_trace = _get_thread_trace()
        if self.thread_scope:
            _sharedhooks.enter_thread()
        if not lib.ts_session_start(self._handle, analyzer, None, 1):
            if self.thread_scope:
                _sharedhooks.leave_thread()
            raise RecordingError(_native.last_error())
        if not self.thread_scope:
            threading.settrace(_attach_new_thread)

    def _install_watches(self, lib) -> None:
        """Wraps the Python callables the plugins watch (outbound HTTP capture, ...)."""
        try:
            specs = json.loads(_native.take_string(lib.ts_session_watches(self._handle)) or "[]")
            if specs:
                from . import _watch

                self._watcher = _watch.Watcher(specs, _watch.reporter(lib, self._handle))
                self._watcher.install()
        except Exception as exc:  # capture is optional; the recording goes on without it
            self._watcher = None
            sys.stderr.write(f"tracesnap: warning: outbound call capture is off ({type(exc).__name__}: {exc})\n")

    def extcalls(self) -> list:
        """The outbound calls captured so far (``extcall`` members with their ``seq``)."""
        if not self._handle or self._stopped:
            return []
        try:
            return json.loads(_native.take_string(_native.core().ts_session_extcalls(self._handle)) or "[]")
        except Exception:
            return []

    def event_count(self) -> int:
        if not self._handle:
            return 0
        return max(0, _native.core().ts_session_event_count(self._handle))

    def stop(self, partial: bool = False, partial_reason: str | None = None, session: dict | None = None) -> dict:
        """Stops recording, finalises the sinks and returns their results."""
        if self._stopped or not self._started:
            raise RecordingError("no active recording")
        self._stopped = True
        lib = _native.core()
        if self._watcher is not None:
            self._watcher.uninstall()
            self._watcher = None
        if self._tool_id is not None:
            _sharedhooks.release_monitoring(_native.MONITORING_KINDS)
            self._tool_id = None
        extra = json.dumps(session or {}, default=repr).encode("utf-8")
        reason = partial_reason.encode("utf-8") if partial_reason else None
        result_pointer = lib.ts_session_stop(self._handle, 1 if partial else 0, reason, extra)
        if self._hook == "settrace":
            if self.thread_scope:
                _sharedhooks.leave_thread()
            else:
                threading.settrace(self._previous_thread_trace)
                if self._previous_trace is not None:
                    sys.settrace(self._previous_trace)
        text = _native.take_string(result_pointer)
        if not text:
            raise RecordingError(_native.last_error())
        return json.loads(text)


def _get_thread_trace():
    getter = getattr(threading, "gettrace", None)
    if getter is not None:
        return getter()
    return getattr(threading, "_trace_hook", None)


def _attach_new_thread(frame, event, arg):
    """`threading.settrace` hook: installs the core's C-level hook on a new thread."""
    _native.core().ts_attach_thread()
    return None
