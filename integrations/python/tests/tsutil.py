"""Shared helpers of the tracesnap Python tests.

A module with a unique name (not conftest.py), so that other pytest suites cannot shadow it.
The suite runs against an installed tracesnap when there is one (the wheel, in
``scripts/test``), else against ``../src``.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

if importlib.util.find_spec("tracesnap") is None:
    sys.path.insert(0, str(SRC))

import tracesnap  # noqa: E402

PACKAGE_DIR = Path(tracesnap.__file__).resolve().parent
LAUNCHER = PACKAGE_DIR / "_launch.py"
FAKE_SITE = HERE / "fake_native"


def _native_available():
    if importlib.util.find_spec("tracesnap._recording") is None:
        return False, "the native recorder binding (tracesnap._recording) is not in this build yet"
    try:
        from tracesnap._recording import NativeSession  # noqa: F401
        from tracesnap import _native
        core = getattr(_native, "core", None)
        if core is not None:
            core()  # the Swift library itself (absent from a pure-Python build)
    except Exception as exc:  # pragma: no cover - depends on the build
        return False, f"the native recorder does not load: {type(exc).__name__}: {exc}"
    return True, ""


NATIVE_AVAILABLE, NATIVE_REASON = _native_available()
needs_native = pytest.mark.skipif(not NATIVE_AVAILABLE, reason=NATIVE_REASON)


def _child_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACESNAP_", "PYTEST_", "COV_")) and k != "PYTHONPATH"}
    if os.environ.get("TRACESNAP_LIB_DIR"):  # a development build of the native libraries
        env["TRACESNAP_LIB_DIR"] = os.environ["TRACESNAP_LIB_DIR"]
    env["PYTHONFAULTHANDLER"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    if extra:
        env.update(extra)
    return env


def _stdin(data):
    """Feed ``data`` to the child, or give it an empty stdin (CI runs without one)."""
    return {"input": data} if data is not None else {"stdin": subprocess.DEVNULL}


def run_plain(script, args=(), stdin=None, cwd=None, env=None, timeout=60):
    """``python SCRIPT ARGS`` with this interpreter."""
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, cwd=cwd,
                          env=_child_env(env), timeout=timeout, **_stdin(stdin))


def run_launched(script, args=(), stdin=None, cwd=None, env=None, timeout=60, fake=False,
                 python=None, **request):
    """What ``tracesnap record SCRIPT ARGS`` execs: ``python _launch.py`` with a request."""
    script = os.path.abspath(str(script))
    req = {"script": script, "argv": [script, *args], "trace_id": "t", "name": "t",
           "out": None, "structure_out": None, "library": False, "kind": "script",
           "redact": [], "project": "tests", "plugins": None, "home": None}
    req.update(request)
    child_env = dict(env or {})
    child_env["TRACESNAP_RECORD_REQUEST"] = json.dumps(req)
    if fake:
        child_env["PYTHONPATH"] = str(FAKE_SITE)
    return subprocess.run([python or sys.executable, str(LAUNCHER)], capture_output=True,
                          cwd=cwd, env=_child_env(child_env), timeout=timeout, **_stdin(stdin))


def strip_ours(stderr: bytes) -> bytes:
    """stderr without tracesnap's own lines."""
    return b"".join(line for line in stderr.splitlines(keepends=True)
                    if not line.startswith(b"tracesnap:"))


def ours(stderr: bytes):
    return [line.decode() for line in stderr.splitlines() if line.startswith(b"tracesnap:")]
