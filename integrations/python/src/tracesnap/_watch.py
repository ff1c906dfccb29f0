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
    """One watched callable: where it is, its reads, and how to report it."""

    def __init__(self, spec: Dict[str, Any], report) -> None:
        self.plugin = int(spec["plugin"])
        self.index = int(spec["watch"])
        self.module = str(spec["module"])
        self.qualname = str(spec["qualname"])
        self.reads = [str(r) for r in spec.get("reads", [])]
        self.report = report
        self.active = contextvars.ContextVar(f"tracesnap_watch_{self.plugin}_{self.index}", default=False)
        self.owner: Any = None
        self.attribute = ""
        self.original: Any = None
        self.wrapper: Any = None

    def _finish(self, started: int, args: tuple, kwargs: dict, result: Any, exception: Any) -> None:
        try:
            values = {path: read_path(path, args, kwargs, result, exception) for path in self.reads}
            self.report(self, started, time.monotonic_ns(), values, exception)
        except Exception:
            pass

    def make_wrapper(self, original: Any) -> Any:
        watch = self
        if inspect.iscoroutinefunction(original):
            @functools.wraps(original)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if watch.active.get():
                    return await original(*args, **kwargs)
                token = watch.active.set(True)
                started = time.monotonic_ns()
                try:
                    result = await original(*args, **kwargs)
                except BaseException as exc:
                    watch.active.reset(token)
                    watch._finish(started, args, kwargs, None, exc)
                    raise
                watch.active.reset(token)
                watch._finish(started, args, kwargs, result, None)
                return result

            return async_wrapper

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if watch.active.get():
                return original(*args, **kwargs)
            token = watch.active.set(True)
            started = time.monotonic_ns()
            try:
                result = original(*args, **kwargs)
            except BaseException as exc:
                watch.active.reset(token)
                watch._finish(started, args, kwargs, None, exc)
                raise
            watch.active.reset(token)
            watch._finish(started, args, kwargs, result, None)
            return result

        return wrapper

    def install(self, module: Any) -> bool:
        """Wraps the callable in ``module``; False when it is not there."""
        if self.wrapper is not None:
            return True
        owner = module
        parts = self.qualname.split(".")
        for part in parts[:-1]:
            owner = getattr(owner, part, None)
            if owner is None:
                return False
        attribute = parts[-1]
        namespace = getattr(owner, "__dict__", {})
        original = namespace.get(attribute, None) if isinstance(owner, type) else getattr(owner, attribute, None)
        if original is None or not callable(original):
            return False
        self.owner, self.attribute, self.original = owner, attribute, original
        self.wrapper = self.make_wrapper(original)
        setattr(owner, attribute, self.wrapper)
        return True

    def uninstall(self) -> None:
        if self.wrapper is None:
            return
        try:
            current = self.owner.__dict__.get(self.attribute) if isinstance(self.owner, type) else getattr(self.owner, self.attribute, None)
            if current is self.wrapper:
                setattr(self.owner, self.attribute, self.original)
        except Exception:
            pass
        self.wrapper = None


class _AfterImport:
    """Lets the normal finders and loaders import a watched module, then wraps its callables."""

    def __init__(self, watcher: "Watcher") -> None:
        self.watcher = watcher

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.watcher.pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
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
        self.watcher.module_loaded(module.__name__, module)

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
        if self.finder is not None:
            try:
                sys.meta_path.remove(self.finder)
            except ValueError:
                pass
            self.finder = None
        for watch in self.watches:
            watch.uninstall()
        self.pending.clear()


def reporter(lib, handle: int):
    """The report function for a session: hands a finished call to the core."""

    def report(watch: _Watch, started: int, ended: int, values: Dict[str, Any], exception: Any) -> None:
        exc_type = type(exception).__name__.encode() if exception is not None else None
        exc_message = str(exception).encode("utf-8", "replace")[:_MAX_TEXT] if exception is not None else None
        lib.ts_watch_report(handle, watch.plugin, watch.index, started, ended,
                            json.dumps(values, default=str).encode("utf-8"), exc_type, exc_message)

    return report
