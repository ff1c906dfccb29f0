"""The native part of the tracesnap build: run SwiftPM and lay its products out inside the
Python package. Used by setup.py's ``build_py``; importable on its own for tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Dict, Iterable, List, Optional, Set

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PACKAGE = os.path.join(HERE, "src", "tracesnap")

SWIFT_BUILD_ARGS = ["build", "-c", "release", "--static-swift-stdlib",
                    "-Xswiftc", "-no-toolchain-stdlib-rpath"]
LIBRARY_PATTERN = re.compile(r"^libTraceSnap\w*\.so$")
EXECUTABLE = "tracesnap"
PLAYERS_IGNORE = shutil.ignore_patterns("tests", "node_modules", "__pycache__", "*.pyc", ".*")


class NativeBuildError(RuntimeError):
    pass


def log(message: str) -> None:
    sys.stderr.write(f"tracesnap build: {message}\n")
    sys.stderr.flush()


def find_swift() -> str:
    explicit = os.environ.get("TRACESNAP_SWIFT")
    if explicit:
        return explicit
    found = shutil.which("swift")
    if found:
        return found
    for candidate in ("/opt/swift/usr/bin/swift", "/usr/bin/swift"):
        if os.path.isfile(candidate):
            return candidate
    raise NativeBuildError("no swift toolchain found (set TRACESNAP_SWIFT or put swift on PATH)")


def toolchain_runtime_dir(swift: str) -> str:
    usr = os.path.dirname(os.path.dirname(os.path.realpath(swift)))
    path = os.path.join(usr, "lib", "swift", "linux")
    if not os.path.isdir(path):
        raise NativeBuildError(f"no Swift runtime directory at {path}")
    return path


def newest_mtime(paths: Iterable[str]) -> float:
    newest = 0.0
    for root in paths:
        if os.path.isfile(root):
            newest = max(newest, os.path.getmtime(root))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                newest = max(newest, os.path.getmtime(os.path.join(dirpath, name)))
    return newest


def dynamic_section(path: str) -> Dict[str, List[str]]:
    """NEEDED / RUNPATH / RPATH entries of an ELF file, from ``readelf -d``."""
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    result: Dict[str, List[str]] = {"NEEDED": [], "RUNPATH": [], "RPATH": []}
    for line in out.splitlines():
        m = re.search(r"\((NEEDED|RUNPATH|RPATH)\)\s+[^\[]*\[(.*)\]", line)
        if m:
            result[m.group(1)].append(m.group(2))
    return result


def set_runpath(path: str, runpath: str) -> None:
    current = dynamic_section(path)
    entries = current["RUNPATH"] + current["RPATH"]
    if entries == [runpath]:
        return
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        raise NativeBuildError(
            f"{os.path.basename(path)} has RUNPATH {entries or '(none)'}, needs {runpath!r}: "
            "install patchelf (apt-get install patchelf) to fix it"
        )
    subprocess.run([patchelf, "--set-rpath", runpath, path], check=True)
    after = dynamic_section(path)
    if after["RUNPATH"] + after["RPATH"] != [runpath]:
        raise NativeBuildError(f"patchelf did not set RUNPATH of {path}: {after}")


class NativeBundle:
    """Builds the Swift products and lays them out inside the Python package."""

    def __init__(self, repo: str, package: str) -> None:
        self.repo = repo
        self.package = package
        self.swift = find_swift()

    # -- build -----------------------------------------------------------------------------

    def bin_path(self) -> str:
        out = subprocess.run([self.swift, *SWIFT_BUILD_ARGS, "--show-bin-path"], cwd=self.repo,
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().splitlines()[-1]
        return os.path.join(self.repo, ".build", "release")

    def up_to_date(self, bin_dir: str) -> bool:
        if os.environ.get("TRACESNAP_SWIFT_REBUILD") == "1":
            return False
        products = [os.path.join(bin_dir, EXECUTABLE)] + self.libraries(bin_dir)
        if not self.libraries(bin_dir) or not all(os.path.isfile(p) for p in products):
            return False
        sources = [os.path.join(self.repo, name) for name in ("Package.swift", "Package.resolved", "Sources")]
        sources = [s for s in sources if os.path.exists(s)]
        oldest_product = min(os.path.getmtime(p) for p in products)
        return oldest_product >= newest_mtime(sources)

    def build(self) -> str:
        bin_dir = self.bin_path()
        if self.up_to_date(bin_dir):
            log(f"reusing the Swift build in {bin_dir} (newer than every source)")
            return bin_dir
        cmd = [self.swift, *SWIFT_BUILD_ARGS]
        log(f"running {' '.join(cmd)} in {self.repo}")
        result = subprocess.run(cmd, cwd=self.repo)
        if result.returncode != 0:
            raise NativeBuildError(f"swift build failed (exit {result.returncode})")
        return self.bin_path()

    @staticmethod
    def libraries(bin_dir: str) -> List[str]:
        if not os.path.isdir(bin_dir):
            return []
        return sorted(os.path.join(bin_dir, n) for n in os.listdir(bin_dir) if LIBRARY_PATTERN.match(n))

    # -- bundle ----------------------------------------------------------------------------

    def install(self, bin_dir: str) -> None:
        runtime_dir = toolchain_runtime_dir(self.swift)
        lib_dir = os.path.join(self.package, "_lib")
        exe_dir = os.path.join(self.package, "bin")
        for d in (lib_dir, exe_dir):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)

        libraries = self.libraries(bin_dir)
        if not libraries:
            raise NativeBuildError(f"no libTraceSnap*.so in {bin_dir}")
        copied: Set[str] = set()
        queue: List[str] = []
        for lib in libraries:
            dest = os.path.join(lib_dir, os.path.basename(lib))
            shutil.copy2(lib, dest)
            copied.add(os.path.basename(lib))
            queue.append(dest)

        exe = os.path.join(bin_dir, EXECUTABLE)
        if not os.path.isfile(exe):
            raise NativeBuildError(f"no {EXECUTABLE} executable in {bin_dir}")
        exe_dest = os.path.join(exe_dir, EXECUTABLE)
        shutil.copy2(exe, exe_dest)
        os.chmod(exe_dest, 0o755)
        queue.append(exe_dest)

        # Follow DT_NEEDED into the toolchain's runtime directory.
        exe_needs_runtime = False
        while queue:
            current = queue.pop()
            for needed in dynamic_section(current)["NEEDED"]:
                source = os.path.join(runtime_dir, needed)
                if needed in copied:
                    if current == exe_dest:
                        exe_needs_runtime = True
                    continue
                if os.path.isfile(source):
                    dest = os.path.join(lib_dir, needed)
                    shutil.copy2(os.path.realpath(source), dest)
                    os.chmod(dest, 0o755)
                    copied.add(needed)
                    queue.append(dest)
                    if current == exe_dest:
                        exe_needs_runtime = True
                elif os.path.isfile(os.path.join(bin_dir, needed)) and needed.endswith(".so"):
                    dest = os.path.join(lib_dir, needed)
                    shutil.copy2(os.path.join(bin_dir, needed), dest)
                    copied.add(needed)
                    queue.append(dest)
                    if current == exe_dest:
                        exe_needs_runtime = True

        for name in sorted(copied):
            set_runpath(os.path.join(lib_dir, name), "$ORIGIN")
        if exe_needs_runtime:
            set_runpath(exe_dest, "$ORIGIN/../_lib")
        self.check_no_toolchain_paths([os.path.join(lib_dir, n) for n in copied] + [exe_dest])
        log(f"bundled {len(copied)} libraries into {lib_dir} and {EXECUTABLE} into {exe_dir}")

        players = os.path.join(self.repo, "Players")
        players_dest = os.path.join(self.package, "players")
        shutil.rmtree(players_dest, ignore_errors=True)
        if os.path.isdir(players):
            shutil.copytree(players, players_dest, ignore=PLAYERS_IGNORE)
            log(f"bundled the players into {players_dest}")
        else:
            log("no Players/ directory in the repository: the wheel has no players")

    def check_no_toolchain_paths(self, files: List[str]) -> None:
        toolchain = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(self.swift))))
        for path in files:
            section = dynamic_section(path)
            for entry in section["RUNPATH"] + section["RPATH"]:
                for part in entry.split(":"):
                    if part and not part.startswith("$ORIGIN"):
                        raise NativeBuildError(f"{path} still has an absolute RUNPATH entry {part!r}")
                    if toolchain and toolchain != "/" and toolchain in part:
                        raise NativeBuildError(f"{path} points into the toolchain: {part!r}")


def bundle_native(repo: str = REPO, package: str = PACKAGE) -> None:
    if os.environ.get("TRACESNAP_SKIP_NATIVE") == "1":
        log("TRACESNAP_SKIP_NATIVE=1: building without the native recorder, CLI and players")
        return
    if not os.path.isfile(os.path.join(repo, "Package.swift")):
        have = os.path.isdir(os.path.join(package, "_lib")) and os.path.isfile(
            os.path.join(package, "bin", EXECUTABLE))
        if have:
            log("no Swift package here; using the native files already in the package")
            return
        raise NativeBuildError(f"no Package.swift at {repo} and no prebuilt native files")
    bundle = NativeBundle(repo, package)
    bundle.install(bundle.build())
