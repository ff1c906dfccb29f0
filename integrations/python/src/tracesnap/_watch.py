"""Watching Python calls for plugins (plugin ABI 1.1; docs/plugin-abi.md, "Watching Python calls").

A plugin's descriptor names callables (``requests.sessions`` / ``Session.send``) and attribute
paths to read from each call. For the length of a recording this module wraps those callables:
at once when their module is imported already, otherwise when the program imports it (a
``sys.meta_path`` finder that only adds a step after the module's own loading; tracesnap never
imports the module itself). When an outermost call finishes, the paths are read and the core
hands them to the plugin (``ts_watch_report``), which emits events such as ``extcall``.

The wrapper returns what the call returns and raises what it raises; reading the paths never
raises and never calls anything but attribute access, ``len``, ``str`` and mapping iteration.
Calls nested in a watched call of the same callable (``requests`` redirects call ``send`` again)
are not reported separately: the outermost one carries the final answer.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import sys
import threading
import time
from typing import Any, Dict, List, Optional

_MAX_TEXT = 2000
_MISSING = object()


# -- reading paths -------------------------------------------------------------------------------

def _root(path: str, args: tuple, kwargs: dict, result: Any, exception: Any):
    """(value, rest of the path) for the path's root, or (_MISSING, "")."""
    if path.startswith("args["):
        close = path.find("]")
        try:
            index = int(path[5:close])
        except ValueError:
            return _MISSING, ""
        return (args[index] if 0 <= index < len(args) else _MISSING), path[close + 1:]
    for name, value in (("result", result), ("exception", exception)):
        if path == name or path.startswith(name + ".") or path.startswith(name + "#"):
            return (value if value is not None else _MISSING), path[len(name):]
    if path.startswith("kwargs."):
        rest = path[7:]
        cut = min([i for i in (rest.find("."), rest.find("#")) if i >= 0] or [len(rest)])
        return kwargs.get(rest[:cut], _MISSING), rest[cut:]
    return _MISSING, ""


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    return str(value)[:_MAX_TEXT]


def read_path(path: str, args: tuple, kwargs: dict, result: Any, exception: Any) -> Any:
    """The JSON-able value of one read path (None when missing or when reading it failed)."""
    try:
        value, rest = _root(path, args, kwargs, result, exception)
        suffix = ""
        if "#" in rest:
            rest, suffix = rest.split("#", 1)
        for step in [s for s in rest.split(".") if s]:
            if value is _MISSING:
                break
            value = getattr(value, step, _MISSING)
        if value is _MISSING:
            return None
        if suffix == "len":
            return len(value)
        if suffix == "dict":
            items = value.items() if hasattr(value, "items") else value
            return {str(k)[:_MAX_TEXT]: str(v)[:_MAX_TEXT] for k, v in list(items)[:200]}
        if suffix == "str":
            return str(value)[:_MAX_TEXT]
        return _plain(value)
    except Exception:
        return None


# -- wrapping ------------------------------------------------------------------------------------

class _Watch:
    """One watched callable of one recording: where it is, its reads, and how to report it."""

    def __init__(self, spec: Dict[str, Any], report) -> None:
        self.plugin = int(spec["plugin"])
        self.index = int(spec["watch"])
        self.module = str(spec["module"])
        self.qualname = str(spec["qualname"])
        self.reads = [str(r) for r in spec.get("reads", [])]
        self.report = report
        self.slot: Optional[_Slot] = None

    def _finish(self, started: int, args: tuple, kwargs: dict, result: Any, exception: Any) -> None:
        try:
            values = {path: read_path(path, args, kwargs, result, exception) for path in self.reads}
            self.report(self, started, time.monotonic_ns(), values, exception)
        except Exception:
            pass

    def install(self, module: Any) -> bool:
        """Wraps the callable in ``module`` (or joins its wrapper); False when it is not there."""
        if self.slot is not None:
            return True
        owner = module
        parts = self.qualname.split(".")
        for part in parts[:-1]:
            owner = getattr(owner, part, None)
            if owner is None:
                return False
        attribute = parts[-1]
        with _SLOTS_LOCK:
            current = _current(owner, attribute)
            if current is None or not callable(current):
                return False
            key = (id(owner), attribute)
            slot = _SLOTS.get(key)
            if slot is None or slot.wrapper is not current:
                slot = _Slot(owner, attribute, current)
                _SLOTS[key] = slot
                setattr(owner, attribute, slot.wrapper)
            slot.watches.append(self)
            self.slot = slot
        return True

    def uninstall(self) -> None:
        slot = self.slot
        if slot is None:
            return
        self.slot = None
        with _SLOTS_LOCK:
            try:
                slot.watches.remove(self)
            except ValueError:
                pass
            if slot.watches:
                return
            key = (id(slot.owner), slot.attribute)
            if _SLOTS.get(key) is slot:
                del _SLOTS[key]
            try:
                if _current(slot.owner, slot.attribute) is slot.wrapper:
                    setattr(slot.owner, slot.attribute, slot.original)
            except Exception:
                pass


def _current(owner: Any, attribute: str) -> Any:
    """What ``owner.attribute`` is now (a class's own attribute, not an inherited one)."""
    if isinstance(owner, type):
        return owner.__dict__.get(attribute, None)
    return getattr(owner, attribute, None)


class _Slot:
    """One wrapped callable, shared by every recording that watches it at the same time
    (concurrent web requests): a call is reported to each of them, and the core keeps it only
    in the recording that the calling thread or task belongs to. The original comes back when
    the last recording stops."""

    def __init__(self, owner: Any, attribute: str, original: Any) -> None:
        self.owner = owner
        self.attribute = attribute
        self.original = original
        self.watches: List[_Watch] = []
        self.active = contextvars.ContextVar(f"tracesnap_watch_{id(self)}", default=False)
        self.wrapper = self.make_wrapper(original)

    def _finish(self, started: int, args: tuple, kwargs: dict, result: Any, exception: Any) -> None:
        for watch in list(self.watches):
            watch._finish(started, args, kwargs, result, exception)

    def make_wrapper(self, original: Any) -> Any:
        slot = self
        if inspect.iscoroutinefunction(original):
            @functools.wraps(original)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with _Call(slot, args, kwargs) as call:
                    call.result = await original(*args, **kwargs)
                    return call.result

            return async_wrapper

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Call(slot, args, kwargs) as call:
                call.result = original(*args, **kwargs)
                return call.result

        return wrapper


class _Call:
    """One call of a wrapped callable (the body of both the sync and the async wrapper): an
    outermost call is timed and, when it returns or raises, reported to the slot's watches; a
    call nested in one is not. The exception, if any, goes on unchanged."""

    __slots__ = ("slot", "args", "kwargs", "result", "token", "started")

    def __init__(self, slot: _Slot, args: tuple, kwargs: dict) -> None:
        self.slot = slot
        self.args = args
        self.kwargs = kwargs
        self.result = None
        self.token = None

    def __enter__(self) -> "_Call":
        if not self.slot.active.get():
            self.token = self.slot.active.set(True)
            self.started = time.monotonic_ns()
        return self

    def __exit__(self, exc_type: Any, exception: Any, traceback: Any) -> bool:
        if self.token is not None:
            self.slot.active.reset(self.token)
            self.slot._finish(self.started, self.args, self.kwargs, self.result if exception is None else None,
                              exception)
        return False


# (id(owner), attribute) -> the slot wrapped there now.
_SLOTS: Dict[Any, _Slot] = {}
_SLOTS_LOCK = threading.RLock()


class _AfterImport:
    """Lets the normal finders and loaders import a watched module, then wraps its callables."""

    def __init__(self, watcher: "Watcher") -> None:
        self.watcher = watcher

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.watcher.pending:
            return None
        for finder in sys.meta_path:
            if isinstance(finder, _AfterImport) or not hasattr(finder, "find_spec"):
                continue  # (another recording's finder: one of them wraps, every watcher hears)
            try:
                spec = finder.find_spec(fullname, path, target)
            except Exception:
                continue
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _LoaderThenWatch(spec.loader, self.watcher)
                return spec
            if spec is not None:
                return None
        return None


class _LoaderThenWatch:
    """The module's own loader, then the wrapping; the module keeps its own loader afterwards."""

    def __init__(self, loader, watcher: "Watcher") -> None:
        self.loader = loader
        self.watcher = watcher

    def create_module(self, spec):
        return self.loader.create_module(spec) if hasattr(self.loader, "create_module") else None

    def exec_module(self, module):
        try:
            module.__loader__ = self.loader
            if getattr(module, "__spec__", None) is not None:
                module.__spec__.loader = self.loader
        except Exception:
            pass
        self.loader.exec_module(module)
        for watcher in list(_WATCHERS):  # every recording that waits for this module
            watcher.module_loaded(module.__name__, module)

    def __getattr__(self, name):  # get_resource_reader, is_package, ...
        return getattr(self.loader, name)


class Watcher:
    """All the watches of one recording session."""

    def __init__(self, specs: List[Dict[str, Any]], report) -> None:
        self.watches = [_Watch(spec, report) for spec in specs]
        self.pending: Dict[str, List[_Watch]] = {}
        self.finder: Optional[_AfterImport] = None
        self.lock = threading.Lock()

    def install(self) -> None:
        _WATCHERS.append(self)
        for watch in self.watches:
            module = sys.modules.get(watch.module)
            if module is not None and watch.install(module):
                continue
            self.pending.setdefault(watch.module, []).append(watch)
        if self.pending:
            self.finder = _AfterImport(self)
            sys.meta_path.insert(0, self.finder)

    def module_loaded(self, name: str, module: Any) -> None:
        with self.lock:
            waiting = self.pending.pop(name, [])
        for watch in waiting:
            try:
                watch.install(module)
            except Exception:
                pass

    def uninstall(self) -> None:
        try:
            _WATCHERS.remove(self)
        except ValueError:
            pass
        if self.finder is not None:
            try:
                sys.meta_path.remove(self.finder)
            except ValueError:
                pass
            self.finder = None
        for watch in self.watches:
            watch.uninstall()
        self.pending.clear()


# The watchers of the recordings active now.
_WATCHERS: List[Watcher] = []


def reporter(lib, handle: int):
    """The report function for a session: hands a finished call to the core."""

    def report(watch: _Watch, started: int, ended: int, values: Dict[str, Any], exception: Any) -> None:
        exc_type = type(exception).__name__.encode() if exception is not None else None
        exc_message = str(exception).encode("utf-8", "replace")[:_MAX_TEXT] if exception is not None else None
        lib.ts_watch_report(handle, watch.plugin, watch.index, started, ended,
                            json.dumps(values, default=str).encode("utf-8"), exc_type, exc_message)

    return report
