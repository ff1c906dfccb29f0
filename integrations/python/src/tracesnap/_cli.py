"""The ``tracesnap`` console script and ``python -m tracesnap``: run the bundled Swift binary.

The command-line tool is a Swift executable shipped inside the package (``tracesnap/bin``). This
shim replaces the Python process with it, telling it which interpreter to run scripts with.
"""

from __future__ import annotations

import os
import sys
from typing import List, NoReturn, Optional

__all__ = ["main", "binary_path"]

#: Set for the Swift CLI: the interpreter ``tracesnap record`` runs scripts with (this one).
ENV_PYTHON = "TRACESNAP_PYTHON"
#: Set for the Swift CLI when it is not the bundled one (a development build): where
#: ``_launch.py`` is. The bundled binary finds it as ``<exe dir>/..``.
ENV_PYTHON_PACKAGE = "TRACESNAP_PYTHON_PACKAGE"

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def binary_path() -> Optional[str]:
    """The bundled ``tracesnap`` executable, or in a source checkout the SwiftPM build's."""
    candidates = [os.path.join(_PACKAGE_DIR, "bin", "tracesnap")]
    # editable install from the repository: integrations/python/src/tracesnap -> repo root
    repo = os.path.abspath(os.path.join(_PACKAGE_DIR, "..", "..", "..", ".."))
    if os.path.isfile(os.path.join(repo, "Package.swift")):
        candidates += [os.path.join(repo, ".build", "release", "tracesnap"),
                       os.path.join(repo, ".build", "debug", "tracesnap")]
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def main(argv: Optional[List[str]] = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    binary = binary_path()
    if binary is None:
        sys.stderr.write(
            "tracesnap: error: the tracesnap executable is missing from this installation "
            f"(looked in {os.path.join(_PACKAGE_DIR, 'bin')}); reinstall the tracesnap wheel\n"
        )
        raise SystemExit(2)
    env = dict(os.environ)
    env[ENV_PYTHON] = sys.executable
    if os.path.dirname(os.path.dirname(binary)) != _PACKAGE_DIR:
        env.setdefault(ENV_PYTHON_PACKAGE, _PACKAGE_DIR)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    try:
        os.execve(binary, [binary] + args, env)
    except OSError as exc:
        sys.stderr.write(f"tracesnap: error: cannot run {binary}: {exc}\n")
        raise SystemExit(2)
