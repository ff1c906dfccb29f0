"""Real recordings for the host tests: the installed tracesnap package (or a development one, see
test_end_to_end.py), the environment that makes `tracesnap record` use it with this interpreter,
and `record_and_load`, the record-then-read-the-trace step that many tests share."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _package_dir():
    probe = ("import os, tracesnap\n"
             "from tracesnap._recording import NativeSession\n"
             "print(os.path.dirname(os.path.abspath(tracesnap.__file__)))\n")
    env = dict(os.environ)
    package = os.environ.get("TRACESNAP_PYTHON_PACKAGE")
    if package:
        env["PYTHONPATH"] = os.path.dirname(package)
    try:
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    path = Path(result.stdout.strip().splitlines()[-1])
    return path if (path / "_launch.py").exists() else None


# The tracesnap package `tracesnap record` runs, or None when it cannot record here.
PACKAGE = _package_dir()
needs_recorder = pytest.mark.skipif(
    PACKAGE is None, reason="the tracesnap Python package with its native recorder is not installed")


def recorder_env() -> dict:
    """What `tracesnap record` needs to record with PACKAGE and this interpreter."""
    env = {"TRACESNAP_PYTHON_PACKAGE": str(PACKAGE), "TRACESNAP_PYTHON": sys.executable}
    if os.environ.get("TRACESNAP_LIB_DIR"):  # a development build of the native libraries
        env["TRACESNAP_LIB_DIR"] = os.environ["TRACESNAP_LIB_DIR"]
    return env


@pytest.fixture
def e2e_env():
    return recorder_env()


def record_and_load(run, script, out, *args, env=None, cwd=None, timeout=120):
    """`tracesnap record SCRIPT --out OUT --no-library ARGS...`, which must succeed; returns the
    command's result and the JSON trace it wrote."""
    result = run("record", script, "--out", out, "--no-library", *args, cwd=cwd or Path(script).parent,
                 env=env if env is not None else recorder_env(), timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result, json.loads(Path(out).read_text())
