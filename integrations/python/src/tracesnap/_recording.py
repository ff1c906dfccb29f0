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

from . import _codeinfo, _native

DEFAULT_REDACT_NAMES = ("password", "token", "secret", "authorization", "api_key")
DEFAULT_TRANSFORMS = ("annotator", "redactor")

_MONITORING_TOOL_NAME = "tracesnap"


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
        plugin_dirs=(),
        plugin_options: dict | None = None,
        output_dir: str | None = None,
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
        # From the project configuration (tracesnap._config): where plugins are searched by
        # name, their option tables, and where a sink without a "path" option writes.
        self.plugin_dirs = list(plugin_dirs)
        self.plugin_options = dict(plugin_options or {})
        self.output_dir = output_dir or os.getcwd()
        self._handle = 0
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
            text = _read_source(path)
            sources[path] = text
            structures[path] = _structure_for(path, text)
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
        session.update(self.extra_session)
        return session

    def _plugin_entries(self) -> list:
        entries = []
        requested = [p for p in self.plugins if p]
        names = list(DEFAULT_TRANSFORMS) + [p for p in requested if isinstance(p, str) and p not in DEFAULT_TRANSFORMS]
        for name in names:
            options: dict[str, Any] = dict(self.plugin_options.get(name, {}))
            if name == "redactor":
                options["names"] = self.redact_names
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
        (``.json`` for the json sink)."""
        stem = os.path.basename(reference)
        stem = stem[:-3] if stem.endswith(".so") else stem
        stem = stem[3:] if stem.startswith("lib") else stem
        return os.path.join(self.output_dir, f"{self.trace_id}.{stem}")

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
        config["return_opcodes"] = [dis.opmap[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in dis.opmap]
        handle = lib.ts_session_create(json.dumps(config).encode("utf-8"))
        if not handle:
            raise RecordingError(_native.last_error())
        self._handle = handle
        analyzer = _codeinfo.make_analyzer(self.source_files)
        hook = _choose_hook()
        if hook == "monitoring":
            self._start_monitoring(lib, analyzer)
        else:
            self._start_settrace(lib, analyzer)
        self._hook = hook
        self._started = True
        _debug(f"recording {self.trace_id!r} with {hook}")

    def _start_monitoring(self, lib, analyzer) -> None:
        monitoring = sys.monitoring
        tool_id = None
        for candidate in (monitoring.PROFILER_ID, 3, 4, 5, monitoring.OPTIMIZER_ID):
            if monitoring.get_tool(candidate) is None:
                tool_id = candidate
                break
        if tool_id is None:
            _debug("every sys.monitoring tool id is taken; using PyEval_SetTrace [no-sysmon-tool]")
            self._start_settrace(lib, analyzer)
            self._hook = "settrace"
            return
        if not lib.ts_session_start(self._handle, analyzer, monitoring.DISABLE, 2):
            raise RecordingError(_native.last_error())
        monitoring.use_tool_id(tool_id, _MONITORING_TOOL_NAME)
        events = monitoring.events
        mask = 0
        for index, name in enumerate(_native.MONITORING_KINDS):
            event = getattr(events, name)
            monitoring.register_callback(tool_id, event, lib.ts_monitoring_callable(index))
            mask |= event
        monitoring.restart_events()
        monitoring.set_events(tool_id, mask)
        self._tool_id = tool_id

    def _start_settrace(self, lib, analyzer) -> None:
        self._previous_trace = sys.gettrace()
        self._previous_thread_trace = _get_thread_trace()
        if not lib.ts_session_start(self._handle, analyzer, None, 1):
            raise RecordingError(_native.last_error())
        threading.settrace(_attach_new_thread)

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
        if self._tool_id is not None:
            monitoring = sys.monitoring
            monitoring.set_events(self._tool_id, 0)
            for name in _native.MONITORING_KINDS:
                monitoring.register_callback(self._tool_id, getattr(monitoring.events, name), None)
            monitoring.free_tool_id(self._tool_id)
            self._tool_id = None
        extra = json.dumps(session or {}, default=repr).encode("utf-8")
        reason = partial_reason.encode("utf-8") if partial_reason else None
        result_pointer = lib.ts_session_stop(self._handle, 1 if partial else 0, reason, extra)
        if self._hook == "settrace":
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
