"""The wheel's build hook (integrations/python/_build_native.py): bundling native libraries,
the Swift runtime they need, the CLI and the players, with RUNPATH $ORIGIN everywhere.

Uses a fake SwiftPM output (a tiny C library linked against the toolchain's libswiftCore), so
it runs in seconds without building the Swift package."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tsutil import HERE

HOOK_DIR = HERE.parent
pytestmark = pytest.mark.skipif(
    not (HOOK_DIR / "_build_native.py").is_file() or shutil.which("readelf") is None
    or shutil.which("cc") is None,
    reason="needs the repository's build hook, readelf and a C compiler",
)


@pytest.fixture
def hook():
    sys.path.insert(0, str(HOOK_DIR))
    try:
        import _build_native
        yield _build_native
    finally:
        sys.path.remove(str(HOOK_DIR))


@pytest.fixture
def swift(hook):
    try:
        path = hook.find_swift()
        runtime = hook.toolchain_runtime_dir(path)
    except hook.NativeBuildError as exc:
        pytest.skip(str(exc))
    if not os.path.isfile(os.path.join(runtime, "libswiftCore.so")):
        pytest.skip("no libswiftCore.so in the toolchain")
    return path, runtime


def fake_build(tmp_path, runtime):
    bin_dir = tmp_path / "repo" / ".build" / "release"
    bin_dir.mkdir(parents=True)
    c = tmp_path / "fake.c"
    c.write_text("int fake_entry(void) { return 42; }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(bin_dir / "libTraceSnapFake.so"), str(c),
                    f"-L{runtime}", "-Wl,--no-as-needed", "-lswiftCore", f"-Wl,-rpath,{runtime}"],
                   check=True)
    main = tmp_path / "main.c"
    main.write_text("int main(void) { return 0; }\n")
    subprocess.run(["cc", "-o", str(bin_dir / "tracesnap"), str(main)], check=True)
    players = tmp_path / "repo" / "Players"
    (players / "src").mkdir(parents=True)
    (players / "tests").mkdir()
    (players / "index.html").write_text("<!doctype html>")
    (players / "src" / "app.js").write_text("export {}")
    (players / "tests" / "test_x.py").write_text("")
    return bin_dir


def test_install_bundles_libraries_runtime_cli_and_players(hook, swift, tmp_path):
    swift_path, runtime = swift
    bin_dir = fake_build(tmp_path, runtime)
    assert any(runtime in e for e in hook.dynamic_section(str(bin_dir / "libTraceSnapFake.so"))["RUNPATH"]
               + hook.dynamic_section(str(bin_dir / "libTraceSnapFake.so"))["RPATH"])
    package = tmp_path / "pkg"
    bundle = hook.NativeBundle(str(tmp_path / "repo"), str(package))
    if shutil.which("patchelf") is None:
        pytest.skip("patchelf is needed to rewrite the fake library's absolute RUNPATH")
    bundle.install(str(bin_dir))

    libs = sorted(p.name for p in (package / "_lib").iterdir())
    assert "libTraceSnapFake.so" in libs and "libswiftCore.so" in libs
    for name in libs:
        section = hook.dynamic_section(str(package / "_lib" / name))
        assert section["RUNPATH"] + section["RPATH"] == ["$ORIGIN"], name
        for needed in section["NEEDED"]:
            # every Swift runtime library something needs is bundled
            if os.path.isfile(os.path.join(runtime, needed)):
                assert needed in libs, (name, needed)
    exe = package / "bin" / "tracesnap"
    assert exe.is_file() and os.access(exe, os.X_OK)
    assert (package / "players" / "index.html").is_file()
    assert (package / "players" / "src" / "app.js").is_file()
    assert not (package / "players" / "tests").exists()

    # the bundled library loads with nothing but its own directory
    env = {"PATH": "/usr/bin:/bin", "SWIFT_BACKTRACE": "enable=no"}
    code = ("import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); print(lib.fake_entry())")
    r = subprocess.run([sys.executable, "-c", code, str(package / "_lib" / "libTraceSnapFake.so")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.stdout.strip() == "42", r.stderr


def test_install_requires_products(hook, swift, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    bundle = hook.NativeBundle(str(tmp_path), str(tmp_path / "pkg"))
    with pytest.raises(hook.NativeBuildError, match="libTraceSnap"):
        bundle.install(str(empty))


def test_up_to_date_compares_products_with_sources(hook, swift, tmp_path):
    _, runtime = swift
    bin_dir = fake_build(tmp_path, runtime)
    repo = tmp_path / "repo"
    (repo / "Sources" / "Core").mkdir(parents=True)
    src = repo / "Sources" / "Core" / "A.swift"
    src.write_text("// a")
    (repo / "Package.swift").write_text("// package")
    old = time.time() - 100
    os.utime(src, (old, old))
    os.utime(repo / "Package.swift", (old, old))
    bundle = hook.NativeBundle(str(repo), str(tmp_path / "pkg"))
    assert bundle.up_to_date(str(bin_dir))
    os.utime(src, None)
    future = time.time() + 100
    os.utime(src, (future, future))
    assert not bundle.up_to_date(str(bin_dir))


def test_skip_native_env(hook, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACESNAP_SKIP_NATIVE", "1")
    hook.bundle_native(str(tmp_path / "nowhere"), str(tmp_path / "pkg"))   # no error, nothing built
    assert not (tmp_path / "pkg").exists()


def test_wheel_is_tagged_py3_none_linux():
    setup_py = (HOOK_DIR / "setup.py").read_text()
    assert '"py3", "none", f"linux_{machine}"' in setup_py
