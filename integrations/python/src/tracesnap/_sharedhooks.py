"""The interpreter hooks, shared by the recordings that run at the same time.

Several recordings can be active in one process (concurrent web requests, each scoped to its
thread or asyncio task; see ``ActiveRecording`` in the core). They share one set of hooks:

- ``sys.monitoring`` (3.12+): one tool id with the core's callbacks, taken by the first recording
  and given back by the last. The core routes each callback to the recorders it belongs to.
  Code that no active recording traces is disabled; a recording whose files or function filters
  were not in use yet re-enables those locations (``restart_events``) so that it sees them.
- ``PyEval_SetTrace`` (3.9-3.11): per thread. A thread keeps the core's hook while any recording
  uses it; the tracer it had before (coverage, a debugger) is restored when the last one stops.
"""

from __future__ import annotations

import sys
import threading

_TOOL_NAME = "tracesnap"

_lock = threading.Lock()

# sys.monitoring: the tool id in use, how many recordings use it, and the recording
# configurations (files and function filters) whose code it has been enabled for.
_tool_id = None
_tool_users = 0
_tool_configs: set = set()

# PyEval_SetTrace: thread ident -> [recordings using the thread, the thread's previous tracer].
_thread_users: dict = {}


def acquire_monitoring(lib, kinds) -> bool:
    """Takes (or shares) the tracesnap tool id. False when every tool id is taken."""
    global _tool_id, _tool_users
    monitoring = sys.monitoring
    with _lock:
        if _tool_id is None:
            tool_id = None
            for candidate in (monitoring.PROFILER_ID, 3, 4, 5, monitoring.OPTIMIZER_ID):
                if monitoring.get_tool(candidate) is None:
                    tool_id = candidate
                    break
            if tool_id is None:
                return False
            monitoring.use_tool_id(tool_id, _TOOL_NAME)
            events = monitoring.events
            mask = 0
            for index, name in enumerate(kinds):
                event = getattr(events, name)
                monitoring.register_callback(tool_id, event, lib.ts_monitoring_callable(index))
                mask |= event
            monitoring.restart_events()
            monitoring.set_events(tool_id, mask)
            _tool_id = tool_id
            _tool_configs.clear()
        _tool_users += 1
        return True


def enable_for(config_key) -> None:
    """A recording with ``config_key`` (files, function filters) has started: code that was
    disabled because no recording traced it is enabled again if this configuration is new."""
    with _lock:
        if _tool_id is None or config_key in _tool_configs:
            return
        _tool_configs.add(config_key)
        if len(_tool_configs) > 1:
            sys.monitoring.restart_events()


def release_monitoring(kinds) -> None:
    """Gives the tool id back when the last recording that uses it stops."""
    global _tool_id, _tool_users
    monitoring = sys.monitoring
    with _lock:
        _tool_users -= 1
        if _tool_users > 0 or _tool_id is None:
            return
        monitoring.set_events(_tool_id, 0)
        for name in kinds:
            monitoring.register_callback(_tool_id, getattr(monitoring.events, name), None)
        monitoring.free_tool_id(_tool_id)
        _tool_id = None
        _tool_configs.clear()


def enter_thread() -> None:
    """A scoped recording starts hooking the calling thread (settrace)."""
    ident = threading.get_ident()
    with _lock:
        entry = _thread_users.get(ident)
        if entry is None:
            _thread_users[ident] = [1, sys.gettrace()]
        else:
            entry[0] += 1


def leave_thread() -> None:
    """A scoped recording on the calling thread stopped (the core has removed its hook when no
    other recording uses the thread); the last one gives the thread its previous tracer back."""
    ident = threading.get_ident()
    with _lock:
        entry = _thread_users.get(ident)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] > 0:
            return
        del _thread_users[ident]
        previous = entry[1]
    if previous is not None:
        sys.settrace(previous)
