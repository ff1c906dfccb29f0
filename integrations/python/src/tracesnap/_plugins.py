"""``tracesnap plugins``: every recorder plugin this installation can find, and whether it loads.

    python -m tracesnap._plugins [--json] [PATH ...]

Candidates, in order: the built-in plugins (``BUILTIN_PLUGINS`` in the library directory), every
``*.so`` in the directories of ``TRACESNAP_PLUGIN_PATH`` (colon-separated; a file there is taken as
is), then the paths given on the command line. Each candidate is loaded and handshaken by the Swift
core (``ts_plugin_probe``: ELF check, ``dlopen``, the v1 entry point, descriptor checks) in a child
process of its own, so a plugin that crashes while loading is reported, not fatal. Nothing is
instantiated and no recording starts.

Exit status: 0 when every candidate loads, 1 when one does not, 2 for bad usage.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

from . import _native

PROBE_TIMEOUT_S = 30


def candidates(extra: List[str], config=None) -> List[Tuple[str, str]]:
    """(source, path) pairs: built-in, TRACESNAP_PLUGIN_PATH, the project configuration's
    ``plugin_path`` directories and ``plugins`` entries, or given; each path once."""
    env_dirs = [d for d in os.environ.get("TRACESNAP_PLUGIN_PATH", "").split(os.pathsep) if d]
    found: List[Tuple[str, str]] = []
    seen = set()

    def add(source: str, path: str) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            found.append((source, os.path.abspath(path)))

    for file_name in _native.BUILTIN_PLUGINS.values():
        add("built-in", os.path.join(_native.library_dir(), file_name))
    for entry in os.environ.get("TRACESNAP_PLUGIN_PATH", "").split(os.pathsep):
        if not entry:
            continue
        if os.path.isdir(entry):
            for name in sorted(os.listdir(entry)):
                if name.endswith(".so"):
                    add("TRACESNAP_PLUGIN_PATH", os.path.join(entry, name))
        else:
            add("TRACESNAP_PLUGIN_PATH", entry)
    if config is not None:
        for directory in config.plugin_dirs:
            if directory in [os.path.abspath(d) for d in env_dirs] or not os.path.isdir(directory):
                continue
            for name in sorted(os.listdir(directory)):
                if name.endswith(".so"):
                    add("plugin_path", os.path.join(directory, name))
        for reference in config.plugins:
            if reference.startswith("-"):
                continue
            add("config", _native.find_plugin(reference, config.plugin_dirs) or reference)
    for path in extra:
        add("argument", path)
    return found


def probe_here(path: str) -> Dict[str, object]:
    """Handshakes with the plugin in this process (the child's side of ``probe``)."""
    try:
        lib = _native.core()
    except _native.NativeUnavailable as exc:
        return {"ok": False, "error": str(exc), "path": path}
    return json.loads(_native.take_string(lib.ts_plugin_probe(path.encode("utf-8"))))


def probe(path: str) -> Dict[str, object]:
    """Handshakes with the plugin in a child process; a crash or a hang is a failed probe."""
    command = [sys.executable, "-m", "tracesnap._plugins", "--probe", path]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"loading it did not finish within {PROBE_TIMEOUT_S} s", "path": path}
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode == 0 and lines:
        return json.loads(lines[-1])
    if result.returncode < 0:
        return {"ok": False, "error": f"the process crashed while loading it (signal {-result.returncode})",
                "path": path}
    detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return {"ok": False, "error": f"the probe failed: {detail}", "path": path}


def _enabled(row: Dict[str, object], config) -> bool:
    """Whether a recording made from here loads this plugin (a default or named in the config)."""
    from ._recording import DEFAULT_TRANSFORMS
    defaults = list(DEFAULT_TRANSFORMS) + [config.sink]
    turned_off = {p[1:] for p in config.plugins if p.startswith("-")}
    path = os.path.realpath(str(row.get("path", "")))
    for reference in defaults + config.plugins:
        if reference in turned_off or reference.startswith("-"):
            continue
        found = _native.find_plugin(reference, config.plugin_dirs)
        if found and os.path.realpath(found) == path:
            return True
    return False


def _table(rows: List[Dict[str, object]]) -> str:
    header = ("NAME", "VERSION", "ABI", "KIND", "SOURCE", "ENABLED", "STATUS")
    cells = [header]
    for row in rows:
        enabled = "yes" if row.get("enabled") else "no"
        if row.get("ok"):
            status = "loads"
            cells.append((str(row["name"]), str(row["version"]), str(row["abi"]),
                          "+".join(row.get("kind") or []), str(row["source"]), enabled, status))
        else:
            cells.append((os.path.basename(str(row["path"])), "-", "-", "-", str(row["source"]), enabled,
                          "FAILS"))
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    out = []
    for index, row_cells in enumerate(cells):
        out.append("  ".join(c.ljust(w) for c, w in zip(row_cells, widths)).rstrip())
        if index == 0:
            continue
        row = rows[index - 1]
        out.append(f"    {row['path']}")
        if not row.get("ok"):
            out.append(f"    reason: {row['error']}")
    return "\n".join(out)


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--probe"]:
        if len(args) != 2:
            sys.stderr.write("usage: python -m tracesnap._plugins --probe PATH\n")
            return 2
        sys.stdout.write(json.dumps(probe_here(args[1])) + "\n")
        return 0
    as_json = "--json" in args
    paths = [a for a in args if a != "--json"]
    unknown = [a for a in paths if a.startswith("-")]
    if unknown:
        sys.stderr.write(f"tracesnap: error: unknown option {unknown[0]} (usage: tracesnap plugins [--json] [PATH...])\n")
        return 2
    from . import _config

    try:
        config = _config.resolve(os.getcwd())
    except _config.ConfigError as exc:
        sys.stderr.write(f"tracesnap: error: {exc}\n")
        return 2
    rows = []
    for source, path in candidates(paths, config):
        row = probe(path)
        row["source"] = source
        row["enabled"] = _enabled(row, config)
        rows.append(row)
    if as_json:
        sys.stdout.write(json.dumps({"plugins": rows}, indent=2) + "\n")
    else:
        sys.stdout.write(_table(rows) + "\n")
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
