"""Per-project configuration: the one resolver of ``.tracesnap.toml`` and ``[tool.tracesnap]``.

Every part of tracesnap that needs the configuration gets it from here, in the Python that
records: the ``tracesnap record`` runner and the in-process API (``tracesnap.record(...)``) call
:func:`resolve`, and ``tracesnap plugins`` runs ``tracesnap._plugins`` in that interpreter, which
does too. ``python -m tracesnap._config [--start DIR]`` prints the resolved configuration as JSON.
The recorder itself and the plugins never parse TOML (they are Foundation-free native code);
they receive the result as JSON. The web integrations resolve it per request. The Swift host only
writes the file (``init``, ``project NAME``); ``tracesnap project`` and ``view`` run ``python -m
tracesnap._config`` for the project.

Where values come from, highest precedence first:

1. the command line (``tracesnap record --project/--plugin/--redact``) or the API's arguments;
2. the environment: ``TRACESNAP_PROJECT``, ``TRACESNAP_PLUGINS`` and ``TRACESNAP_REDACT``
   (comma-separated), ``TRACESNAP_OUTPUT_DIR``, ``TRACESNAP_SINK``,
   ``TRACESNAP_SOURCE_INCLUDE`` and ``TRACESNAP_SOURCE_EXCLUDE`` (comma-separated globs);
3. the nearest ``.tracesnap.toml`` walking up from the start directory (the script's);
4. the nearest ``pyproject.toml`` with a ``[tool.tracesnap]`` table, walking up likewise;
5. the defaults.

For each key the first source that sets it wins, except ``plugins`` and ``redact``, which add up
over all sources (lowest precedence first; ``-NAME`` in ``plugins`` removes NAME, and turns a
default plugin off), and the per-plugin option tables, which are taken per plugin. The built-in redaction names and the default
transforms are always on, whatever the configuration says.

TOML is parsed with ``tomllib`` (3.11+) or ``tomli`` (3.9/3.10, a declared dependency). Errors
(TOML syntax, unknown keys, bad values) are :class:`ConfigError`, whose text is one line
``FILE:LINE: message``.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time in every traced process
    from typing import Any, Dict, Iterable, List, Optional, Tuple

__all__ = ["ConfigError", "Config", "resolve", "load_file", "KEYS", "CONFIG_FILE", "PYPROJECT"]

CONFIG_FILE = ".tracesnap.toml"
PYPROJECT = "pyproject.toml"
DEFAULT_SINK = "library"

#: The keys of a config table, with a short description of the expected value.
KEYS = {
    "project": "a non-empty string",
    "plugins": "a list of plugin names or paths",
    "plugin_path": "a list of directories",
    "options": "a table of per-plugin option tables",
    "redact": "a list of variable names",
    "source": "a table with `include` and `exclude` glob lists",
    "output_dir": "a directory",
    "sink": "a sink plugin name",
}
SOURCE_KEYS = ("include", "exclude")

#: Environment variable per key (lists are comma-separated).
ENV = {
    "project": "TRACESNAP_PROJECT",
    "plugins": "TRACESNAP_PLUGINS",
    "redact": "TRACESNAP_REDACT",
    "output_dir": "TRACESNAP_OUTPUT_DIR",
    "sink": "TRACESNAP_SINK",
    "include": "TRACESNAP_SOURCE_INCLUDE",
    "exclude": "TRACESNAP_SOURCE_EXCLUDE",
}


class ConfigError(ValueError):
    """A configuration problem; ``str()`` is one line, ``FILE:LINE: message`` for files."""

    def __init__(self, message: str, path: Optional[str] = None, line: Optional[int] = None):
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(where + message)


# -- TOML ------------------------------------------------------------------------------------

def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
        return tomllib
    try:
        import tomli
    except ImportError:
        return None
    return tomli


def _parse_toml(path: str, text: str) -> Dict[str, Any]:
    toml = _toml()
    if toml is None:
        raise ConfigError("reading TOML on Python < 3.11 needs the tomli package "
                          "(pip install tomli)", path)
    try:
        return toml.loads(text)
    except toml.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)$", message)
        line = int(match.group(1)) if match else None
        message = message[:match.start()].strip() if match else message
        raise ConfigError(f"invalid TOML: {message}", path, line) from None


class _KeyLines:
    """Where each key of a TOML document is defined: ``("options", "csv", "path") -> line``.

    tomllib gives values without positions; this scanner finds the line of every key and table
    header (it understands comments, quoted and dotted keys, and values spanning lines).
    """

    _BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text: str):
        self.lines: Dict[Tuple[str, ...], int] = {}
        table: Tuple[str, ...] = ()
        state = _ValueState()
        for number, line in enumerate(text.splitlines(), start=1):
            if state.open:
                state.feed(line)
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("["):
                double = stripped.startswith("[[")
                keys, _ = self._keys(stripped[2 if double else 1:])
                if keys is not None:
                    table = tuple(keys)
                    self.lines.setdefault(table, number)
                continue
            keys, rest = self._keys(stripped)
            if keys is None or not rest.startswith("="):
                continue
            path = table + tuple(keys)
            self.lines.setdefault(path, number)
            state.feed(rest[1:])

    def _keys(self, text: str) -> Tuple[Optional[List[str]], str]:
        keys: List[str] = []
        rest = text.lstrip()
        while True:
            if rest.startswith('"'):
                end = 1
                while end < len(rest) and rest[end] != '"':
                    end += 2 if rest[end] == "\\" else 1
                try:
                    keys.append(json.loads(rest[:end + 1]))
                except ValueError:
                    keys.append(rest[1:end])
                rest = rest[end + 1:]
            elif rest.startswith("'"):
                end = rest.find("'", 1)
                if end < 0:
                    return None, ""
                keys.append(rest[1:end])
                rest = rest[end + 1:]
            else:
                match = self._BARE.match(rest)
                if not match:
                    return None, ""
                keys.append(match.group(0))
                rest = rest[match.end():]
            rest = rest.lstrip()
            if rest.startswith("."):
                rest = rest[1:].lstrip()
                continue
            return keys, rest

    def line(self, path: Tuple[str, ...]) -> Optional[int]:
        """The line of ``path``, else of its nearest enclosing key or table."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


class _ValueState:
    """Tracks whether a TOML value continues on the next line (open brackets or strings)."""

    def __init__(self):
        self.depth = 0
        self.multiline: Optional[str] = None

    @property
    def open(self) -> bool:
        return self.depth > 0 or self.multiline is not None

    def feed(self, text: str) -> None:
        i = 0
        n = len(text)
        while i < n:
            if self.multiline is not None:
                end = text.find(self.multiline, i)
                if end < 0:
                    return
                i = end + 3
                self.multiline = None
                continue
            c = text[i]
            if text.startswith('"""', i) or text.startswith("'''", i):
                self.multiline = text[i:i + 3]
                i += 3
            elif c == '"':
                i += 1
                while i < n and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
                i += 1
            elif c == "'":
                end = text.find("'", i + 1)
                i = n if end < 0 else end + 1
            elif c == "#":
                return
            elif c in "[{":
                self.depth += 1
                i += 1
            elif c in "]}":
                self.depth = max(0, self.depth - 1)
                i += 1
            else:
                i += 1


# -- one config file ---------------------------------------------------------------------------

class _Layer:
    """The validated settings of one source (a file, the environment or the command line)."""

    def __init__(self, origin: str, base: str):
        self.origin = origin  # a file path, "environment" or "command line"
        self.base = base      # directory that relative paths are relative to
        self.values: Dict[str, Any] = {}


#: Checked files by (path, inode, mtime_ns, size): a decorated function resolves on every call.
_cache: Dict[Tuple[str, int, int, int, bool], Optional[_Layer]] = {}


def load_file(path: str, pyproject: bool = False) -> Optional[_Layer]:
    """Reads and checks one config file; None for a pyproject.toml without [tool.tracesnap]."""
    try:
        status = os.stat(path)
        key = (os.path.abspath(path), status.st_ino, status.st_mtime_ns, status.st_size, pyproject)
        if key in _cache:
            return _cache[key]
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path) from None
    layer = _load_text(path, data, pyproject)
    if len(_cache) > 64:
        _cache.clear()
    _cache[key] = layer
    return layer


def _load_text(path: str, data: bytes, pyproject: bool) -> Optional[_Layer]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text", path) from None
    document = _parse_toml(path, text)
    prefix: Tuple[str, ...] = ()
    if pyproject:
        tool = document.get("tool")
        table = tool.get("tracesnap") if isinstance(tool, dict) else None
        if table is None:
            return None
        prefix = ("tool", "tracesnap")
        document = table
    lines = _KeyLines(text)
    layer = _Layer(path, os.path.dirname(os.path.abspath(path)))
    _Checker(path, lines, prefix).check(document, layer)
    return layer


class _Checker:
    """Validates a config table; errors name the file and the key's line."""

    def __init__(self, path: str, lines: _KeyLines, prefix: Tuple[str, ...]):
        self.path = path
        self.lines = lines
        self.prefix = prefix

    def fail(self, keys: Tuple[str, ...], message: str) -> ConfigError:
        return ConfigError(message, self.path, self.lines.line(self.prefix + keys))

    def check(self, table: Any, layer: _Layer) -> None:
        if not isinstance(table, dict):
            raise self.fail((), "[tool.tracesnap] must be a table")
        for key, value in table.items():
            if key not in KEYS:
                known = ", ".join(sorted(KEYS))
                raise self.fail((key,), f"unknown key {key!r} (known keys: {known})")
            layer.values[key] = getattr(self, "_" + key)(value, (key,))

    def _string(self, value: Any, keys: Tuple[str, ...], what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(keys, f"{'.'.join(keys)} must be {what}, not {_describe(value)}")
        return value.strip()

    def _strings(self, value: Any, keys: Tuple[str, ...], what: str) -> List[str]:
        if not isinstance(value, list):
            raise self.fail(keys, f"{'.'.join(keys)} must be {what}, not {_describe(value)}")
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(keys, f"{'.'.join(keys)}[{index}] must be a non-empty string, "
                                      f"not {_describe(item)}")
            result.append(item.strip())
        return result

    def _project(self, value, keys):
        return self._string(value, keys, KEYS["project"])

    def _plugins(self, value, keys):
        return self._strings(value, keys, KEYS["plugins"])

    def _plugin_path(self, value, keys):
        return self._strings(value, keys, KEYS["plugin_path"])

    def _redact(self, value, keys):
        return self._strings(value, keys, KEYS["redact"])

    def _output_dir(self, value, keys):
        return self._string(value, keys, "a directory (a non-empty string)")

    def _sink(self, value, keys):
        return self._string(value, keys, "a sink plugin name (a non-empty string)")

    def _options(self, value, keys):
        if not isinstance(value, dict):
            raise self.fail(keys, f"options must be a table of per-plugin tables, not {_describe(value)}")
        result = {}
        for name, options in value.items():
            if not isinstance(options, dict):
                raise self.fail(keys + (name,), f"options.{name} must be a table, not {_describe(options)}")
            result[name] = options
        return result

    def _source(self, value, keys):
        if not isinstance(value, dict):
            raise self.fail(keys, f"source must be a table with include/exclude lists, not {_describe(value)}")
        result = {}
        for key, globs in value.items():
            if key not in SOURCE_KEYS:
                raise self.fail(keys + (key,), f"unknown key 'source.{key}' (known keys: include, exclude)")
            result[key] = self._strings(globs, keys + (key,), "a list of glob patterns")
        return result


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


# -- environment and command line ---------------------------------------------------------------

def _split(text: str) -> List[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _env_layer(environ: Dict[str, str], cwd: str) -> _Layer:
    layer = _Layer("environment", cwd)
    for key in ("project", "output_dir", "sink"):
        value = environ.get(ENV[key])
        if value is None:
            continue
        if not value.strip():
            raise ConfigError(f"{ENV[key]} is set but empty")
        layer.values[key] = value.strip()
    for key in ("plugins", "redact"):
        value = environ.get(ENV[key])
        if value is not None:
            layer.values[key] = _split(value)
    source = {}
    for key in SOURCE_KEYS:
        value = environ.get(ENV[key])
        if value is not None:
            source[key] = _split(value)
    if source:
        layer.values["source"] = source
    return layer


def _cli_layer(cli: Dict[str, Any], cwd: str) -> _Layer:
    layer = _Layer("command line", cwd)
    for key, value in (cli or {}).items():
        if value is None:
            continue
        if key not in KEYS:
            raise ConfigError(f"unknown configuration key {key!r}")
        if key in ("project", "output_dir", "sink"):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{key} must be a non-empty string")
            value = value.strip()
        elif key in ("plugins", "redact", "plugin_path"):
            if isinstance(value, str):
                value = _split(value)
            value = [str(v).strip() for v in value if str(v).strip()]
        layer.values[key] = value
    return layer


# -- finding files -------------------------------------------------------------------------------

def find_files(start: str) -> Tuple[Optional[str], Optional[str]]:
    """The nearest ``.tracesnap.toml`` and the nearest ``pyproject.toml`` with a
    ``[tool.tracesnap]`` table, walking up from ``start``."""
    directory = os.path.abspath(start)
    config = pyproject = None
    while True:
        if config is None:
            candidate = os.path.join(directory, CONFIG_FILE)
            if os.path.isfile(candidate):
                config = candidate
        if pyproject is None:
            candidate = os.path.join(directory, PYPROJECT)
            if os.path.isfile(candidate) and _mentions_tool_table(candidate):
                pyproject = candidate
        parent = os.path.dirname(directory)
        if (config and pyproject) or parent == directory:
            return config, pyproject
        directory = parent


def _mentions_tool_table(path: str) -> bool:
    """Cheap pre-check so unrelated pyproject.toml files are not parsed (nor their errors shown)."""
    try:
        with open(path, "rb") as handle:
            return b"tracesnap" in handle.read()
    except OSError:
        return False


# -- resolution ------------------------------------------------------------------------------------

class Config:
    """The resolved configuration (see the module docstring for precedence)."""

    def __init__(self) -> None:
        self.start = ""
        self.project = "default"
        self.project_origin = "default"
        self.plugins: List[str] = []
        self.plugin_dirs: List[str] = []
        self.options: Dict[str, Dict[str, Any]] = {}
        self.redact: List[str] = []
        self.include: List[str] = []
        self.exclude: List[str] = []
        self.output_dir = ""
        self.sink = DEFAULT_SINK
        self.config_file: Optional[str] = None
        self.pyproject_file: Optional[str] = None
        self.root = ""
        self.origins: Dict[str, str] = {}

    def to_json(self) -> Dict[str, Any]:
        return {
            "start": self.start, "root": self.root, "project": self.project,
            "project_origin": self.project_origin, "plugins": self.plugins,
            "plugin_dirs": self.plugin_dirs, "options": self.options, "redact": self.redact,
            "source": {"include": self.include, "exclude": self.exclude},
            "output_dir": self.output_dir, "sink": self.sink, "config_file": self.config_file,
            "pyproject_file": self.pyproject_file, "origins": self.origins,
        }

    def options_for(self, reference: str) -> Dict[str, Any]:
        """The option table of a plugin, by the name it was listed under or its file's stem."""
        if reference in self.options:
            return dict(self.options[reference])
        stem = os.path.basename(reference)
        for suffix in (".so",):
            if stem.endswith(suffix):
                stem = stem[:-len(suffix)]
        if stem.startswith("lib"):
            stem = stem[3:]
        return dict(self.options.get(stem, {}))

    def sinks(self, library_sink: Dict[str, Any], library: bool = True,
              out: Optional[str] = None) -> Tuple[List[Dict[str, Any]], List[str]]:
        """The sinks of a recording and the plugins left, as ``tracesnap record`` chooses them
        (the runner and the web integrations use this): ``out`` (a file, its sink chosen by its
        extension), then the default sink — the library (``library_sink``, the library sink's
        options) or the configured ``sink`` plugin, which writes to its ``path`` option or
        ``<output_dir>/<trace id>.<name>``; ``library=False`` (``--no-library``) turns the default
        sink off. ``--plugin sqlite`` / ``--plugin compact`` files the library entry in that form,
        ``--plugin library`` adds the library sink. Returns ``(sinks, plugins)``."""
        plugins = list(self.plugins)
        sinks: List[Dict[str, Any]] = []
        if out:
            from ._native import sink_for_path

            sinks.append({"name": sink_for_path(out), "path": out})
        library_form = next((name for name in ("sqlite", "compact") if name in plugins), None)
        if library and library_form:
            # `--plugin sqlite` / `--plugin compact`: the library holds the trace in that form
            # (traces/<id>.sqlite, traces/<id>.tsnap)
            plugins.remove(library_form)
            sinks.append({"name": library_form, "library": {
                "home": library_sink["home"], "name": library_sink["name_"], "project": library_sink["project"],
                "source": library_sink["source"]}})
        elif library and self.sink == "library":
            sinks.append(library_sink)
        elif library:
            sinks.append(dict(self.options_for(self.sink), name=self.sink))
        if "library" in plugins:  # `--plugin library`: the library sink with its options
            plugins.remove("library")
            if not any(sink["name"] == "library" for sink in sinks):
                sinks.append(library_sink)
        return sinks, plugins

    def included_files(self) -> List[str]:
        """The ``.py`` files matched by the include globs (relative to the project root)."""
        added: List[str] = []
        for pattern in self.include:
            for path in sorted(glob.glob(os.path.join(self.root, pattern), recursive=True)):
                if path.endswith(".py") and os.path.isfile(path):
                    path = os.path.abspath(path)
                    if path not in added:
                        added.append(path)
        return added

    def excludes(self, path: str) -> bool:
        """True when ``path`` matches an exclude glob (relative to the project root)."""
        import fnmatch
        rel = os.path.relpath(os.path.abspath(path), self.root)
        return any(fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(path, pattern)
                   for pattern in self.exclude)


def resolve(start: str, cli: Optional[Dict[str, Any]] = None,
            environ: Optional[Dict[str, str]] = None) -> Config:
    """The configuration for records made from directory ``start``.

    ``cli`` holds command-line (or API) values by key; None values are "not given".
    Raises :class:`ConfigError`.
    """
    environ = os.environ if environ is None else environ
    start = os.path.abspath(start)
    config_path, pyproject_path = find_files(start)
    layers: List[_Layer] = [_cli_layer(cli or {}, os.getcwd()), _env_layer(environ, os.getcwd())]
    if config_path:
        layers.append(load_file(config_path))
    if pyproject_path:
        layer = load_file(pyproject_path, pyproject=True)
        if layer is not None:
            layers.append(layer)
        else:
            pyproject_path = None

    result = Config()
    result.start = start
    result.config_file = config_path
    result.pyproject_file = pyproject_path
    result.root = os.path.dirname(config_path or pyproject_path or os.path.join(start, "x"))

    def first(key: str) -> Optional[_Layer]:
        for layer in layers:
            if key in layer.values:
                return layer
        return None

    layer = first("project")
    if layer is not None:
        result.project = layer.values["project"]
        result.project_origin = layer.origin
    else:
        folder = os.path.basename(start)
        result.project = folder or "default"
        result.project_origin = "folder" if folder else "default"
    result.origins["project"] = result.project_origin

    # plugins and redact add up over the sources, lowest precedence first (a command line
    # `--redact` must not drop a name the project redacts); "-NAME" removes NAME.
    for layer in reversed(layers):
        for reference in layer.values.get("plugins", []):
            reference = _plugin_reference(reference, layer)
            if reference.startswith("-"):
                result.plugins = [p for p in result.plugins if p != reference[1:]]
            if reference not in result.plugins:
                result.plugins.append(reference)
            result.origins["plugins"] = layer.origin
        for name in layer.values.get("redact", []):
            if name.lower() not in result.redact:
                result.redact.append(name.lower())
            result.origins["redact"] = layer.origin

    # Directories searched for plugins by name: TRACESNAP_PLUGIN_PATH first, then every
    # config's plugin_path (relative to its file), nearest first.
    dirs = [d for d in environ.get("TRACESNAP_PLUGIN_PATH", "").split(os.pathsep) if d]
    for layer in layers:
        for directory in layer.values.get("plugin_path", []):
            dirs.append(os.path.normpath(os.path.join(layer.base, os.path.expanduser(directory))))
    result.plugin_dirs = []
    for directory in dirs:
        if directory not in result.plugin_dirs:
            result.plugin_dirs.append(os.path.abspath(directory))

    for layer in reversed(layers):  # per plugin: the higher layer's table replaces the lower one's
        for name, options in layer.values.get("options", {}).items():
            options = dict(options)
            path = options.get("path")
            if isinstance(path, str) and path and not os.path.isabs(path):
                # a file named in a config file is relative to that file
                options["path"] = os.path.normpath(os.path.join(layer.base, os.path.expanduser(path)))
            result.options[name] = options
            result.origins[f"options.{name}"] = layer.origin

    for key in SOURCE_KEYS:
        for layer in layers:
            if key in layer.values.get("source", {}):
                globs = layer.values["source"][key]
                if layer.origin not in ("environment", "command line"):
                    base = os.path.relpath(layer.base, result.root)
                    globs = [g if os.path.isabs(g) or base == "." else os.path.join(base, g) for g in globs]
                setattr(result, key, globs)
                result.origins[f"source.{key}"] = layer.origin
                break

    layer = first("output_dir")
    if layer is not None:
        result.output_dir = os.path.normpath(os.path.join(layer.base, os.path.expanduser(layer.values["output_dir"])))
        result.origins["output_dir"] = layer.origin
    else:
        result.output_dir = os.getcwd()

    layer = first("sink")
    if layer is not None:
        result.sink = layer.values["sink"]
        result.origins["sink"] = layer.origin
    return result


def _plugin_reference(reference: str, layer: _Layer) -> str:
    """A plugin as written: a name stays a name; a path becomes absolute (relative to the file
    that names it, or to the current directory for the command line and the environment)."""
    if os.sep in reference or reference.endswith(".so"):
        return os.path.normpath(os.path.join(layer.base, os.path.expanduser(reference)))
    return reference


# -- command line ----------------------------------------------------------------------------------

def main(argv: Optional[List[str]] = None) -> None:
    """``python -m tracesnap._config [--start DIR]``: the resolved configuration as JSON on stdout.
    A configuration error is one line ``tracesnap: error: FILE:LINE: message`` on stderr, exit 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    start = os.getcwd()
    if "--start" in args:
        index = args.index("--start")
        start = args[index + 1] if index + 1 < len(args) else start
    try:
        config = resolve(start)
    except ConfigError as exc:
        sys.stderr.write(f"tracesnap: error: {exc}\n")
        raise SystemExit(2)
    sys.stdout.write(json.dumps(config.to_json(), ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
