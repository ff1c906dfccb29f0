"""Build hook: bundle the native parts of tracesnap into the Python package.

Metadata lives in pyproject.toml; this file only customises two commands.

``build_py`` first runs ``swift build -c release --static-swift-stdlib -Xswiftc
-no-toolchain-stdlib-rpath`` at the repository root (two levels up), unless the build there is
newer than every Swift source, then copies into ``src/tracesnap/``:

* ``_lib/``: the ``libTraceSnap*.so`` dynamic libraries (recorder core and plugins) and the
  Swift runtime libraries they need, found by following ``DT_NEEDED`` (``readelf -d``) into the
  toolchain's ``usr/lib/swift/linux``; every library gets RUNPATH ``$ORIGIN`` and no absolute
  toolchain path may remain (``patchelf`` fixes them when needed);
* ``bin/tracesnap``: the command-line tool (RUNPATH ``$ORIGIN/../_lib`` if it needs any);
* ``players/``: the browser players (the repository's ``Players/`` without its tests).

``bdist_wheel`` tags the wheel ``py3-none-linux_<arch>``: the native code is loaded with
ctypes, not built against a Python ABI, so one wheel serves CPython 3.9 to 3.13.

Environment:
  TRACESNAP_SKIP_NATIVE=1      build a pure-Python package (tests of the Python layer only)
  TRACESNAP_SWIFT_REBUILD=1    always run ``swift build``, even if the build looks up to date
  TRACESNAP_SWIFT=/path/swift  the swift driver to use (default: ``swift`` on PATH, /opt/swift)
"""

from __future__ import annotations

import os
import platform
import sys

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _build_native import bundle_native  # noqa: E402


class build_py(_build_py):
    def run(self) -> None:
        bundle_native()
        # package_data globs are expanded when build_py is finalised: refresh them now that
        # the native files exist
        self.data_files = self._get_data_files()
        super().run()


class bdist_wheel(_bdist_wheel):
    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):  # type: ignore[override]
        machine = platform.machine().lower() or "x86_64"
        return "py3", "none", f"linux_{machine}"


class BinaryDistribution(Distribution):
    """Native files inside: install into platlib, never as a pure-Python wheel."""

    def has_ext_modules(self) -> bool:
        return True


setup(distclass=BinaryDistribution, cmdclass={"build_py": build_py, "bdist_wheel": bdist_wheel})
