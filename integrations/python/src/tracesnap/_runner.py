"""Run a script exactly as ``python SCRIPT ARGS`` would, while the native recorder records it.

``tracesnap record`` (Swift) execs ``<python> <pkgdir>/_launch.py`` with the environment variable
``TRACESNAP_RECORD_REQUEST`` holding a JSON object:

    {"script": abs path, "argv": [script, args...], "trace_id": str, "name": str,
     "out": path | null, "structure_out": path | null, "library": bool, "kind": str,
     "redact": [names], "project": str | null, "plugins": [names] | null, "home": library root}

``project``, ``plugins`` and ``redact`` are what the command line gave (null or empty: not
given); the runner resolves them with the project configuration (``tracesnap._config``:
command line > ``TRACESNAP_*`` > ``.tracesnap.toml`` > ``pyproject.toml`` > defaults), and a
configuration error ends the process with one line before the script runs.

What "exactly as python" means here, and how it is done:

* stdin/stdout/stderr are inherited untouched; tracesnap writes only to stderr, after the
  script has finished, every line starting with ``tracesnap:``.
* ``sys.argv`` is the request's argv; ``sys.path[0]`` is the script's (real) directory, and the
  launcher's directory is gone from ``sys.path``.
* the script runs as ``__main__`` in a fresh module object registered in
  ``sys.modules['__main__']`` (so pickling its classes works) with the globals CPython gives a
  script: ``__file__``, ``__cached__``, ``__loader__``, ``__spec__ = None``, ``__builtins__``...
* the code is compiled from bytes, so PEP 263 coding cookies and BOMs work, with
  ``dont_inherit=True`` so none of this module's ``__future__`` flags leak in.
* an uncaught exception prints the usual traceback (without tracesnap's own frame) through
  ``sys.excepthook`` and exits 1; ``SystemExit`` is re-raised unchanged, so Python itself
  prints its message and picks the exit status; an uncaught ``KeyboardInterrupt`` is re-raised
  at the top so the interpreter exits through SIGINT just like a plain run.
* non-daemon threads are joined before the recording stops, as the interpreter would.
* SIGTERM (and SIGHUP) finalise the trace as partial, then the process dies of the signal.
"""

from __future__ import annotations

import json
import os
import signal
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time in every traced process
    from typing import Any, Dict, List, Optional

__all__ = ["main", "run", "RecordRequest"]

#: The record request, JSON, set by ``tracesnap record`` (read once, then removed).
ENV_REQUEST = "TRACESNAP_RECORD_REQUEST"

_PREFIX = "tracesnap:"


def _note(message: str) -> None:
    """One ``tracesnap:`` line on file descriptor 2, whatever the script did to ``sys.stderr``."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    data = f"{_PREFIX} {message}\n".encode("utf-8", "backslashreplace")
    try:
        while data:
            written = os.write(2, data)
            data = data[written:]
    except OSError:
        pass


class RecordRequest:
    """The parsed ``TRACESNAP_RECORD_REQUEST``."""

    def __init__(self, data: Dict[str, Any]) -> None:
        script = data.get("script")
        if not isinstance(script, str) or not script:
            raise ValueError("the record request has no 'script'")
        self.script: str = script
        argv = data.get("argv")
        self.argv: List[str] = [str(a) for a in argv] if isinstance(argv, list) and argv else [script]
        self.trace_id: str = str(data.get("trace_id") or "trace")
        self.name: str = str(data.get("name") or self.trace_id)
        self.out: Optional[str] = data.get("out") or None
        self.structure_out: Optional[str] = data.get("structure_out") or None
        self.library: bool = bool(data.get("library", True))
        self.kind: str = str(data.get("kind") or "script")
        self.redact: List[str] = [str(n) for n in (data.get("redact") or [])]
        self.project: Optional[str] = data.get("project") or None
        plugins = data.get("plugins")
        self.plugins: Optional[List[str]] = [str(p) for p in plugins] if plugins else None
        self.home: Optional[str] = data.get("home") or None
        max_events = data.get("max_events")
        self.max_events: Optional[int] = int(max_events) if max_events else None
        last_events = data.get("last_events")
        self.last_events: Optional[int] = int(last_events) if last_events else None
        self.functions: List[str] = [str(p) for p in (data.get("functions") or [])]
        self.exclude_functions: List[str] = [str(p) for p in (data.get("exclude_functions") or [])]

    def limits(self) -> Dict[str, Any]:
        """The bounded-recording options that were given (none: an unbounded recording)."""
        given: Dict[str, Any] = {}
        if self.max_events:
            given["max_events"] = self.max_events
        if self.last_events:
            given["last_events"] = self.last_events
        if self.functions:
            given["functions"] = self.functions
        if self.exclude_functions:
            given["exclude_functions"] = self.exclude_functions
        return given

    @classmethod
    def from_env(cls) -> "RecordRequest":
        raw = os.environ.pop(ENV_REQUEST, None)
        if raw is None:
            raise ValueError(f"{ENV_REQUEST} is not set (this file is run by `tracesnap record`)")
        return cls(json.loads(raw))


def main(launcher: Optional[str] = None, preloaded: Optional[frozenset] = None) -> None:
    """Entry point used by ``_launch.py``. Never returns normally: ends the process."""
    try:
        request = RecordRequest.from_env()
    except (ValueError, TypeError) as exc:
        _note(f"error: {exc}")
        raise SystemExit(2)
    run(request, launcher=launcher, preloaded=preloaded)


def _unshadow(script_dir: str, preloaded: Optional[frozenset]) -> None:
    """Forget modules tracesnap imported that the script's directory shadows.

    Under ``python SCRIPT`` a ``json.py`` next to the script is what ``import json`` gives. The
    runner imported the stdlib ``json`` before the script's directory went onto ``sys.path``;
    dropping it from ``sys.modules`` lets the script import its own, as Python would. Only
    shadowed names go (the runner keeps its own references); everything else stays shared.
    """
    if preloaded is None:
        return
    added = {name for name in sys.modules if name not in preloaded}
    shadowed = set()
    for name in {n.split(".", 1)[0] for n in added}:
        if (os.path.isfile(os.path.join(script_dir, name + ".py"))
                or os.path.isdir(os.path.join(script_dir, name))):
            shadowed.add(name)
    for name in added:
        if name.split(".", 1)[0] in shadowed:
            sys.modules.pop(name, None)


_deps: Dict[str, Any] = {}


def _preimport() -> None:
    """Import everything the runner will need *before* the script's directory is on sys.path.

    Anything imported later could be shadowed by a module next to the script (a ``json.py``,
    a ``types.py``): the runner keeps its own references and never imports after that.
    """
    import builtins
    import threading
    import traceback
    import types
    from importlib.machinery import SourceFileLoader

    from tracesnap import _config, _discovery, _structure

    _deps.update(builtins=builtins, threading=threading, traceback=traceback, types=types,
                 SourceFileLoader=SourceFileLoader, discovery=_discovery, structure=_structure,
                 config=_config)


def _fix_sys_path(script: str, launcher: Optional[str]) -> None:
    """Make ``sys.path`` what ``python SCRIPT`` would have made it."""
    launcher_dir = os.path.dirname(os.path.realpath(launcher)) if launcher else None
    if sys.path and launcher_dir and sys.path[0] and os.path.realpath(sys.path[0]) == launcher_dir:
        del sys.path[0]
    if getattr(sys.flags, "safe_path", False) or sys.flags.isolated:
        return  # -P / -I: Python adds no script directory either
    sys.path.insert(0, os.path.dirname(os.path.realpath(script)))


def _fix_orig_argv(argv: List[str], launcher: Optional[str]) -> None:
    """``sys.orig_argv`` (3.10+) as for ``python [options] SCRIPT ARGS``."""
    orig = getattr(sys, "orig_argv", None)
    if not orig or not launcher:
        return
    for i in range(len(orig) - 1, 0, -1):
        if os.path.abspath(orig[i]) == launcher:
            sys.orig_argv = list(orig[:i]) + list(argv)
            return


def _main_module(script: str) -> Any:
    builtins = _deps["builtins"]
    previous = sys.modules.get("__main__")
    module = _deps["types"].ModuleType("__main__")
    namespace = module.__dict__
    namespace["__loader__"] = _deps["SourceFileLoader"]("__main__", script)
    namespace["__spec__"] = None
    namespace["__package__"] = None
    if previous is not None and "__annotations__" in vars(previous):
        namespace["__annotations__"] = {}
    namespace["__builtins__"] = builtins
    namespace["__file__"] = script
    namespace["__cached__"] = None
    sys.modules["__main__"] = module
    return module


def _python_exit_status(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int) and not isinstance(code, bool):
        return code & 0xFF
    if isinstance(code, bool):
        return int(code)
    return 1


def _print_exception(exc: BaseException) -> None:
    """Print an uncaught exception as the interpreter does: through ``sys.excepthook``."""
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, exc.__traceback__
    if sys.version_info >= (3, 12):
        sys.last_exc = exc
    try:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    except BaseException as hook_exc:  # as PyErr_Print: report both, carry on
        try:
            traceback = _deps["traceback"]
            sys.stderr.write("Error in sys.excepthook:\n")
            traceback.print_exception(type(hook_exc), hook_exc, hook_exc.__traceback__)
            sys.stderr.write("\nOriginal exception was:\n")
            traceback.print_exception(type(exc), exc, exc.__traceback__)
        except BaseException:
            pass
    try:
        sys.stderr.flush()
    except Exception:
        pass


def _execute(code: Any, recorder: "_Recorder", prepare: Any) -> Optional[BaseException]:
    """Start recording, make the process look like ``python SCRIPT`` (``prepare``), run.

    The recorder starts *before* the script's directory goes on ``sys.path``, so whatever it
    imports while starting cannot be shadowed by the script's modules.
    """
    recorder.start()
    namespace = prepare()
    try:
        exec(code, namespace)
    except BaseException as exc:
        tb = exc.__traceback__
        if tb is not None and tb.tb_frame.f_code is _execute.__code__:
            exc.__traceback__ = tb.tb_next
        return exc
    return None


def _join_threads() -> Optional[str]:
    """Wait for non-daemon threads like interpreter shutdown does. Returns a partial reason."""
    threading = _deps.get("threading")
    if threading is None:
        return None
    try:
        current = threading.current_thread()
        while True:
            pending = [t for t in threading.enumerate()
                       if t is not current and not t.daemon and t.is_alive()]
            if not pending:
                return None
            for thread in pending:
                thread.join()
    except KeyboardInterrupt:
        return "KeyboardInterrupt"


class _Recorder:
    """The native session around the script, or nothing when recording is unavailable."""

    def __init__(self, request: RecordRequest, files: List[str], config: Any) -> None:
        self.request = request
        self.files = files
        self.session: Any = None
        self.started = False
        self.result: Optional[Dict[str, Any]] = None
        self.error: Optional[str] = None
        self._finished = False
        self.project = config.project
        try:
            from tracesnap._recording import NativeSession
        except Exception as exc:  # ImportError until the native binding lands, OSError, ...
            self.error = f"the native recorder is unavailable ({type(exc).__name__}: {exc})"
            return
        project = config.project
        library_sink = {
            "name": "library",
            "home": request.home,
            "name_": request.name,
            "project": project,
            "source": request.script,
            "copies": [],
        }
        # --out (its sink chosen by extension), then the default sink (config `sink`,
        # TRACESNAP_SINK): the library unless set otherwise; --no-library turns it off.
        sinks, plugins = config.sinks(library_sink, library=request.library, out=request.out)
        session_extra: Dict[str, Any] = {"argv": list(request.argv)}
        if project:
            session_extra["project"] = project
        try:
            self.session = NativeSession(
                trace_id=request.trace_id,
                kind=request.kind,
                source_files=list(files),
                entry=f"{request.script}:<module>",
                redact_names=list(config.redact),
                plugins=plugins,
                sinks=sinks,
                session=session_extra,
                plugin_dirs=config.plugin_dirs,
                plugin_options={ref: config.options_for(ref)
                                for ref in ["annotator", "redactor", *plugins]},
                output_dir=config.output_dir,
                **request.limits(),
            )
        except Exception as exc:
            self.error = f"could not set up the recorder ({type(exc).__name__}: {exc})"

    def start(self) -> None:
        if self.session is None:
            return
        try:
            self.session.start()
            self.started = True
        except Exception as exc:
            self.error = f"could not start recording ({type(exc).__name__}: {exc})"

    def stop(self, partial: bool, reason: Optional[str], exit_code: int) -> None:
        if self._finished:
            return
        self._finished = True
        if not self.started:
            return
        try:
            self.result = self.session.stop(
                partial=partial, partial_reason=reason, session={"exit_code": exit_code}
            )
        except Exception as exc:
            self.error = f"could not finalise the trace ({type(exc).__name__}: {exc})"


def _summary(request: RecordRequest, recorder: _Recorder, raised: Optional[BaseException],
             partial: bool) -> None:
    project = recorder.project
    files = recorder.files
    if len(files) > 1:
        _note(f"traced {len(files)} files (entrypoint + {len(files) - 1} sibling)")
    if len(request.argv) > 1:
        _note(f"script argv {request.argv[1:]!r}")
    if recorder.error:
        _note(recorder.error)
    result = recorder.result
    if raised is not None:
        message = str(raised)
        _note(f"traced code raised {type(raised).__name__}: {message}" if message
              else f"traced code raised {type(raised).__name__}")
    if result is None:
        if recorder.started or recorder.error:
            _note("nothing was recorded")
        return
    count = result.get("event_count", 0)
    if partial:
        _note(f"partial trace saved ({count} events)")
    else:
        _note(f"recorded {count} events")
    types = result.get("event_types")
    if types is not None:
        _note(f"event types: {dict(types)!r}")
    library_id = None
    wrote_json = False
    for sink in result.get("sinks") or []:
        if not isinstance(sink, dict):
            continue
        if sink.get("id"):  # the library sink (its "name" is the entry's display name)
            library_id = sink["id"]
        elif sink.get("path"):
            _note(f"wrote {sink['path']}")
            wrote_json = True
        if sink.get("error"):
            _note(f"{sink.get('name')} sink failed: {sink['error']}")
    if request.out and not wrote_json and os.path.isfile(request.out):
        _note(f"wrote {request.out}")
    if request.structure_out:
        _note(f"wrote {request.structure_out}")
    if library_id:
        _note(f"library id  {library_id}")
        _note(f"library name {request.name!r}")
        if project:
            _note(f"project      {project}")
        _note(f"open it with:  tracesnap view {library_id}")


def _resolve_config(request: RecordRequest) -> Any:
    """The project configuration for this recording (``tracesnap._config``); the request's
    values are the command line's. A bad config ends the process before the script runs:
    one line ``tracesnap: error: FILE:LINE: message``, exit 2."""
    _config = _deps["config"]
    cli = {"project": request.project, "plugins": request.plugins or None,
           "redact": request.redact or None}
    try:
        return _config.resolve(os.path.dirname(os.path.abspath(request.script)), cli)
    except _config.ConfigError as exc:
        _note(f"error: {exc}")
        raise SystemExit(2)


def _write_structure(path: str, script: str, source: str) -> Optional[str]:
    build_structure = _deps["structure"].build_structure
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(build_structure(script, source), f, ensure_ascii=False)
        os.replace(tmp, path)
        return None
    except Exception as exc:
        return f"could not write {path} ({type(exc).__name__}: {exc})"


class _sigint_ignored:
    """Ignore SIGINT for a moment (main thread only; elsewhere a no-op)."""

    def __enter__(self) -> None:
        self.previous = None
        try:
            self.previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except (ValueError, OSError, TypeError):
            self.previous = None

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            try:
                signal.signal(signal.SIGINT, self.previous)
            except (ValueError, OSError, TypeError):
                pass


def _install_signal_handlers(finish: Any) -> None:
    """SIGTERM/SIGHUP: finalise the trace as partial, then die of the signal as Python would."""
    threading = _deps["threading"]
    if threading.current_thread() is not threading.main_thread():
        return
    owner = os.getpid()

    def handler(signum: int, frame: Any) -> None:
        if os.getpid() == owner:
            try:
                finish(signal.Signals(signum).name, 128 + signum)
            except BaseException:
                pass
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, handler)
        except (OSError, ValueError):
            pass


def run(request: RecordRequest, launcher: Optional[str] = None,
        preloaded: Optional[frozenset] = None) -> None:
    """Run the requested script under the recorder and end the process like Python would."""
    script = request.script
    try:
        with open(script, "rb") as f:
            data = f.read()
    except OSError as exc:
        program = os.path.basename(sys.executable) or "python"
        sys.stderr.write(f"{sys.executable or program}: can't open file {script!r}: "
                         f"[Errno {exc.errno}] {exc.strerror}\n")
        raise SystemExit(2)

    _preimport()
    config = _resolve_config(request)
    discovery = _deps["discovery"]
    source = discovery.decode_source(data)
    if request.out:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(request.out)), exist_ok=True)
        except OSError:
            pass
    structure_error = None
    if request.structure_out:
        structure_error = _write_structure(request.structure_out, script, source)

    try:
        code = compile(data, script, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        exc.__traceback__ = None
        _print_exception(exc)
        _note(f"traced code raised {type(exc).__name__}: {exc}")
        _note("nothing was recorded")
        raise SystemExit(1)

    try:
        files = discovery.discover(script)
    except Exception:
        files = [os.path.abspath(script)]
    entry = os.path.abspath(script)
    for path in config.included_files():
        if path not in files:
            files.append(path)
    files = [path for path in files if path == entry or not config.excludes(path)]

    # the native recorder loads (and imports what it needs) before sys.path changes, too
    recorder = _Recorder(request, files, config)
    if structure_error:
        _note(structure_error)


    state: Dict[str, Any] = {"summarised": False}

    def finish(reason: Optional[str], exit_code: int, raised: Optional[BaseException] = None) -> None:
        if state["summarised"]:
            return
        state["summarised"] = True
        partial = reason is not None
        with _sigint_ignored():  # a second Ctrl-C must not cut the trace's finalisation short
            recorder.stop(partial=partial, reason=reason, exit_code=exit_code)
            _summary(request, recorder, raised, partial)

    _install_signal_handlers(lambda reason, code: finish(reason, code))

    def prepare() -> Dict[str, Any]:
        sys.argv = list(request.argv)
        _fix_orig_argv(request.argv, launcher)
        _fix_sys_path(script, launcher)
        module = _main_module(script)
        if sys.path and not (getattr(sys.flags, "safe_path", False) or sys.flags.isolated):
            _unshadow(sys.path[0], preloaded)
        return module.__dict__

    exc = _execute(code, recorder, prepare)

    if exc is None:
        interrupted = _join_threads()
        finish(interrupted, 130 if interrupted else 0)
        if interrupted:
            _exit_like_keyboard_interrupt()
        raise SystemExit(0)
    if isinstance(exc, SystemExit):
        interrupted = _join_threads()
        status = _python_exit_status(exc)
        finish(interrupted, 130 if interrupted else status)
        raise exc
    if isinstance(exc, KeyboardInterrupt):
        _print_exception(exc)
        _join_threads()
        finish("KeyboardInterrupt", 130, raised=exc)
        _exit_like_keyboard_interrupt()
    _print_exception(exc)
    _join_threads()
    finish(type(exc).__name__, 1, raised=exc)
    raise SystemExit(1)


def _exit_like_keyboard_interrupt() -> None:
    """Leave the interpreter as after an uncaught Ctrl-C: it re-raises SIGINT at exit.

    The traceback has been printed already, so the hook that would print it again is muted.
    CPython only does this for an exact ``KeyboardInterrupt`` escaping the main module.
    """
    sys.excepthook = lambda *args: None
    raise KeyboardInterrupt
