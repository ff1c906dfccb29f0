"""``tracesnap plugins``: every plugin tracesnap can find, each probed through the real handshake.

Where plugins are found: the built-ins (``_native.BUILTIN_PLUGINS``, in the library directory),
every ``*.so`` in the ``TRACESNAP_PLUGIN_PATH`` directories and in the configuration's
``plugin_path`` directories, and every entry of the configuration's ``plugins`` list (names or
paths). Each library is loaded by the core exactly as a recording would load it
(``ts_plugin_probe``: ELF check, ``dlopen``, ``tracesnap_plugin_init_v1``); nothing else in it
runs. A library that fails is listed with the reason.
"""

from __future__ import annotations

import os
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List

from . import _native

__all__ = ["survey"]

#: Plugins every recording loads (the transforms of ``_recording.DEFAULT_TRANSFORMS``).
_DEFAULTS = ("annotator", "redactor")


def _candidates(config) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    seen = set()

    def add(reference: str, path: str, source: str) -> None:
        key = os.path.realpath(path) if path else reference
        if key in seen:
            return
        seen.add(key)
        found.append({"reference": reference, "path": path, "source": source})

    for name, library in _native.BUILTIN_PLUGINS.items():
        add(name, os.path.join(_native.library_dir(), library), "built-in")
    env_dirs = [d for d in os.environ.get("TRACESNAP_PLUGIN_PATH", "").split(os.pathsep) if d]
    for directory in config.plugin_dirs:
        source = "TRACESNAP_PLUGIN_PATH" if directory in [os.path.abspath(d) for d in env_dirs] else "plugin_path"
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            if name.endswith(".so") and os.path.isfile(path):
                stem = name[:-3]
                add(stem[3:] if stem.startswith("lib") else stem, path, source)
    for reference in config.plugins:
        path = _native.find_plugin(reference, config.plugin_dirs)
        add(reference, path or "", "config")
    return found


def survey(config) -> List[Dict[str, Any]]:
    """One dict per plugin found: reference, path, source, loads, and name/version/abi/kind or error."""
    results = []
    try:
        _native.core()
        core_error = None
    except Exception as exc:
        core_error = str(exc)
    for candidate in _candidates(config):
        entry = dict(candidate)
        if not entry["path"]:
            entry.update(loads=False, error=f"plugin {entry['reference']!r} not found "
                                            "(not built in, not in TRACESNAP_PLUGIN_PATH or plugin_path)")
        elif core_error:
            entry.update(loads=False, error=core_error)
        else:
            entry.update(_native.probe_plugin(entry["path"]))
        entry["enabled"] = (entry["reference"] in config.plugins or entry["path"] in config.plugins
                            or entry["reference"] in _DEFAULTS or entry["reference"] == config.sink)
        results.append(entry)
    return results
