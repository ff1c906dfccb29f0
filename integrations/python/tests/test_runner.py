"""The script runner (`_launch.py` + `_runner.py`) behaves exactly like `python SCRIPT ARGS`.

Every test runs the script twice, once plainly and once through the launcher the way
`tracesnap record` does, and compares stdout, stderr (without tracesnap's own lines) and the
exit status. With the native recorder present the second run is really recorded.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tsutil import LAUNCHER, ours, run_launched, run_plain, strip_ours


def same_as_python(script, args=(), stdin=None, **kw):
    plain = run_plain(script, args, stdin=stdin)
    launched = run_launched(script, args, stdin=stdin, **kw)
    assert launched.stdout == plain.stdout
    assert strip_ours(launched.stderr) == plain.stderr
    assert launched.returncode == plain.returncode
    return plain, launched


def src(text):
    return textwrap.dedent(text).lstrip("\n")


def test_exit_code_from_sys_exit(write):
    s = write("exit3.py", "print('bye')\nimport sys\nsys.exit(3)\n")
    plain, _ = same_as_python(s)
    assert plain.returncode == 3


@pytest.mark.parametrize("code,expected", [("None", 0), ("0", 0), ("'message'", 1), ("256 + 7", 7),
                                           ("True", 1)])
def test_sys_exit_variants(write, code, expected):
    s = write("exitv.py", f"raise SystemExit({code})\n")
    plain, launched = same_as_python(s)
    assert plain.returncode == expected


def test_uncaught_exception_prints_the_same_traceback(write):
    s = write("boom.py", src('''
        def inner(x):
            return 1 / x

        def outer():
            try:
                inner(0)
            except ZeroDivisionError as e:
                raise ValueError("wrapped") from e

        print("before", flush=True)
        outer()
    '''))
    plain, launched = same_as_python(s)
    assert plain.returncode == 1
    assert b"ValueError: wrapped" in plain.stderr
    assert b"_runner.py" not in launched.stderr and b"_launch.py" not in launched.stderr


def test_syntax_error_in_the_entry_file(write):
    s = write("bad.py", "print('x')\ndef (:\n")
    plain, launched = same_as_python(s)
    assert plain.returncode == 1 and b"SyntaxError" in plain.stderr


def test_keyboard_interrupt_exits_like_python(write):
    s = write("ki.py", "print('start', flush=True)\nraise KeyboardInterrupt\n")
    plain, launched = same_as_python(s)
    assert plain.returncode == -signal.SIGINT
    assert b"KeyboardInterrupt" in plain.stderr


def test_main_module_globals_and_pickle(write):
    s = write("main_mod.py", src('''
        """The docstring."""
        import pickle, sys

        class Point:
            def __init__(self, x, y):
                self.x, self.y = x, y

        p = pickle.loads(pickle.dumps(Point(1, 2)))
        print(p.x, p.y, type(p).__module__)
        import __main__
        print(__main__ is sys.modules["__main__"], __main__.Point is Point)
        print(sorted(globals()))
        print(__name__, __doc__, __spec__, __package__, __file__, __cached__)
        print(type(__loader__).__name__, __loader__.name, __loader__.path)
        print(type(__builtins__).__name__)
        print(sys.argv)
    '''))
    same_as_python(s, args=("one", "two words"))


def test_sys_path_is_identical(write):
    s = write("paths.py", "import sys\nprint('\\n'.join(sys.path))\n")
    plain, launched = same_as_python(s)
    assert plain.stdout.splitlines()[0].decode() == str(s.parent)


def test_no_future_flags_leak_into_the_script(write):
    s = write("ann.py", "def f(x: int) -> str: pass\nprint(f.__annotations__)\n")
    same_as_python(s)


def test_pep263_latin1_source(write):
    s = write("latin.py", "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\nprint(name.encode('utf-8'))\n",
              encoding="latin-1")
    plain, _ = same_as_python(s)
    assert b"caf\\xc3\\xa9" in plain.stdout


def test_sibling_with_a_syntax_error_fails_only_where_python_fails(write):
    write("broken.py", "def (:\n")
    write("good.py", "VALUE = 42\n")
    s = write("lazy.py", src('''
        import good
        print("good", good.VALUE)

        def use_broken():
            import broken

        try:
            use_broken()
        except SyntaxError as e:
            print("caught", type(e).__name__, e.lineno)
        print("done")
    '''))
    plain, _ = same_as_python(s)
    assert b"caught SyntaxError" in plain.stdout and plain.returncode == 0


def test_sibling_with_a_syntax_error_uncaught(write):
    write("broken2.py", "x = (\n")
    s = write("imports_broken.py", "print('start')\nimport broken2\n")
    plain, _ = same_as_python(s)
    assert plain.returncode == 1


def test_stdin_is_piped_through(write):
    s = write("ask.py", "a = input('a? ')\nb = input('b? ')\nprint(int(a) + int(b))\n"
                        "import sys\nprint(repr(sys.stdin.read()))\n")
    plain, _ = same_as_python(s, stdin=b"12\n30\nrest\n")
    assert b"42" in plain.stdout


def test_stdin_eof(write):
    s = write("eof.py", "input()\n")
    plain, _ = same_as_python(s, stdin=b"")
    assert b"EOFError" in plain.stderr


def test_non_daemon_threads_finish(write):
    s = write("threads.py", src('''
        import threading, time
        def work():
            time.sleep(0.2)
            print("worker done", flush=True)
        threading.Thread(target=work).start()
        print("main done", flush=True)
    '''))
    plain, _ = same_as_python(s)
    assert plain.stdout == b"main done\nworker done\n"


def test_warnings_point_at_the_script(write):
    s = write("warn.py", "import warnings\nwarnings.warn('old', DeprecationWarning)\n")
    plain, _ = same_as_python(s)
    assert b"DeprecationWarning: old" in plain.stderr


def test_atexit_handlers_run(write):
    s = write("atx.py", "import atexit\natexit.register(print, 'at exit')\nprint('main')\n")
    same_as_python(s)


def test_unicode_output_and_binary_stdout(write):
    s = write("uni.py", "import sys\nprint('h\u00e9llo \u2713')\nsys.stdout.flush()\n"
                        "sys.stdout.buffer.write(bytes(range(256)))\n")
    same_as_python(s)


def test_spawned_multiprocessing_child_can_import_main(write):
    s = write("mp.py", src('''
        import multiprocessing as mp

        def square(x):
            return x * x

        if __name__ == "__main__":
            with mp.get_context("spawn").Pool(1) as pool:
                print(pool.map(square, [1, 2, 3]))
    '''))
    plain, _ = same_as_python(s, timeout=120)
    assert plain.stdout == b"[1, 4, 9]\n"


def test_missing_script(tmp_path):
    r = run_launched(tmp_path / "nope.py")
    assert r.returncode == 2
    assert b"can't open file" in r.stderr


def test_request_is_required():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESNAP_")}
    r = subprocess.run([sys.executable, str(LAUNCHER)], capture_output=True, env=env, timeout=60)
    assert r.returncode == 2
    assert b"TRACESNAP_RECORD_REQUEST" in r.stderr


def test_request_is_removed_from_the_environment(write):
    # (TRACESNAP_LIB_DIR is the tests' own pointer to a development build, not the runner's)
    s = write("env.py", "import os\nprint(sorted(k for k in os.environ\n"
                        "             if k.startswith('TRACESNAP') and k != 'TRACESNAP_LIB_DIR'))\n")
    r = run_launched(s)
    assert r.stdout == b"[]\n"


def test_tracesnap_lines_go_to_stderr_only(write):
    s = write("out.py", "print('only this')\n")
    r = run_launched(s, fake=True)
    assert r.stdout == b"only this\n"
    assert ours(r.stderr)


# -- with the fake native session: what the runner asks of the recorder and what it prints ----

def fake_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_request_maps_onto_the_native_session(tmp_path, write):
    write("sib.py", "X = 1\n")
    s = write("prog.py", "import sib\nprint(sib.X)\n")
    log = tmp_path / "native.log"
    out = tmp_path / "deep" / "dir" / "trace.json"
    r = run_launched(s, args=("a1",), fake=True, env={"FAKE_NATIVE_LOG": str(log)},
                     out=str(out), library=True, home=str(tmp_path / "home"), name="My run",
                     trace_id="prog", redact=["pin"], plugins=["redactor"], project="demo",
                     kind="script", structure_out=str(tmp_path / "prog.structure.json"))
    assert r.returncode == 0, r.stderr
    init, start, stop = fake_log(log)
    assert init["op"] == "init" and start["op"] == "start" and stop["op"] == "stop"
    assert init["trace_id"] == "prog" and init["kind"] == "script"
    assert init["source_files"] == [str(s), str(tmp_path / "sib.py")]
    assert init["entry"] == f"{s}:<module>"
    assert init["redact_names"] == ["pin"]
    assert init["plugins"] == ["redactor"]
    assert init["sinks"] == [
        {"name": "json", "path": str(out)},
        {"name": "library", "home": str(tmp_path / "home"), "name_": "My run", "project": "demo",
         "source": str(s), "copies": []},
    ]
    assert init["session"] == {"argv": [str(s), "a1"], "project": "demo"}
    assert stop == {"op": "stop", "partial": False, "partial_reason": None,
                    "session": {"exit_code": 0}}
    assert out.exists()
    structure = json.loads((tmp_path / "prog.structure.json").read_text())
    assert [n["id"] for n in structure] == ["s1", "s2"]
    assert ours(r.stderr) == [
        "tracesnap: traced 2 files (entrypoint + 1 sibling)",
        "tracesnap: script argv ['a1']",
        "tracesnap: recorded 2 events",
        "tracesnap: event types: {'call': 1, 'return': 1}",
        f"tracesnap: wrote {out}",
        f"tracesnap: wrote {tmp_path / 'prog.structure.json'}",
        "tracesnap: library id  20260101-000000-abcdef",
        "tracesnap: library name 'My run'",
        "tracesnap: project      demo",
        "tracesnap: open it with:  tracesnap view 20260101-000000-abcdef",
    ]


def test_exit_code_is_passed_to_the_session(tmp_path, write):
    s = write("ex.py", "import sys\nsys.exit(5)\n")
    log = tmp_path / "n.log"
    r = run_launched(s, fake=True, env={"FAKE_NATIVE_LOG": str(log)})
    assert r.returncode == 5
    assert fake_log(log)[-1]["session"] == {"exit_code": 5}
    assert fake_log(log)[-1]["partial"] is False


def test_uncaught_exception_saves_a_partial_trace(tmp_path, write):
    s = write("raises.py", "raise ValueError('bad input')\n")
    log = tmp_path / "n.log"
    r = run_launched(s, fake=True, env={"FAKE_NATIVE_LOG": str(log)}, library=True)
    assert r.returncode == 1
    stop = fake_log(log)[-1]
    assert stop["partial"] is True and stop["partial_reason"] == "ValueError"
    assert stop["session"] == {"exit_code": 1}
    lines = ours(r.stderr)
    assert "tracesnap: traced code raised ValueError: bad input" in lines
    assert "tracesnap: partial trace saved (2 events)" in lines
    # the traceback comes first, then tracesnap's summary
    err = r.stderr.decode()
    assert err.index("ValueError: bad input") < err.index("tracesnap: traced code raised")


def test_keyboard_interrupt_saves_a_partial_trace(tmp_path, write):
    s = write("ki2.py", "raise KeyboardInterrupt\n")
    log = tmp_path / "n.log"
    r = run_launched(s, fake=True, env={"FAKE_NATIVE_LOG": str(log)})
    assert r.returncode == -signal.SIGINT
    stop = fake_log(log)[-1]
    assert stop["partial"] is True and stop["partial_reason"] == "KeyboardInterrupt"
    assert "tracesnap: partial trace saved (2 events)" in ours(r.stderr)


def _wait_for(proc, marker, timeout=30):
    deadline = time.time() + timeout
    line = b""
    while time.time() < deadline:
        line = proc.stdout.readline()
        if marker in line:
            return
    raise AssertionError(f"never saw {marker!r}")


def _spawn_launched(script, env):
    req = {"script": str(script), "argv": [str(script)], "trace_id": "t", "name": "t",
           "library": False, "kind": "script", "redact": [], "project": "p", "out": None}
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESNAP_")}
    child_env.update(env)
    child_env["TRACESNAP_RECORD_REQUEST"] = json.dumps(req)
    # A shell that starts jobs in the background ignores SIGINT for them, and an ignored SIGINT
    # is inherited; give the child the default disposition a terminal would.
    return subprocess.Popen([sys.executable, str(LAUNCHER)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=child_env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_sigterm_finalises_a_partial_trace_and_dies_of_the_signal(tmp_path, write):
    from tsutil import FAKE_SITE
    s = write("sleepy.py", "import time\nprint('ready', flush=True)\ntime.sleep(30)\n")
    log = tmp_path / "n.log"
    proc = _spawn_launched(s, {"FAKE_NATIVE_LOG": str(log), "PYTHONPATH": str(FAKE_SITE)})
    try:
        _wait_for(proc, b"ready")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGTERM
    stop = fake_log(log)[-1]
    assert stop["partial"] is True and stop["partial_reason"] == "SIGTERM"
    assert stop["session"] == {"exit_code": 128 + signal.SIGTERM}
    assert b"tracesnap: partial trace saved" in err


def test_sigint_while_running(tmp_path, write):
    from tsutil import FAKE_SITE
    s = write("sleepy2.py", "import time\nprint('ready', flush=True)\ntime.sleep(30)\n")
    log = tmp_path / "n.log"
    proc = _spawn_launched(s, {"FAKE_NATIVE_LOG": str(log), "PYTHONPATH": str(FAKE_SITE)})
    try:
        _wait_for(proc, b"ready")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGINT
    assert b"KeyboardInterrupt" in err
    assert fake_log(log)[-1]["partial_reason"] == "KeyboardInterrupt"


def test_runner_without_a_recorder_says_so(write):
    s = write("plain.py", "print(1)\n")
    r = run_launched(s)
    lines = ours(r.stderr)
    from tsutil import NATIVE_AVAILABLE
    if not NATIVE_AVAILABLE:
        assert any("unavailable" in line or "could not" in line for line in lines), lines
    assert r.returncode == 0 and r.stdout == b"1\n"


def test_summary_survives_a_replaced_or_closed_stderr(tmp_path, write):
    s = write("quiet.py", "import sys, io\nsys.stderr.write('partial line')\nsys.stderr.close()\n"
                          "sys.stderr = io.StringIO()\n")
    r = run_launched(s, fake=True)
    assert r.returncode == 0
    assert b"partial line" in r.stderr
    assert "tracesnap: recorded 2 events" in ours(r.stderr.replace(b"partial line", b""))


def test_launcher_works_without_tracesnap_installed(write):
    # -S: no site-packages, so only the launcher's own path trick can find the package
    s = write("nosite.py", "import sys\nprint(sys.argv[1:], 'tracesnap' in sys.modules)\n"
                           "print([p for p in sys.path if 'tracesnap' in p])\n")
    req = {"script": str(s), "argv": [str(s), "x"], "library": False}
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESNAP_") and k != "PYTHONPATH"}
    plain = subprocess.run([sys.executable, "-S", str(s), "x"], capture_output=True, env=env, timeout=60)
    env["TRACESNAP_RECORD_REQUEST"] = json.dumps(req)
    launched = subprocess.run([sys.executable, "-S", str(LAUNCHER)], capture_output=True, env=env,
                              timeout=60)
    assert launched.returncode == 0, launched.stderr
    assert plain.stdout == b"['x'] False\n[]\n"
    assert launched.stdout == b"['x'] True\n[]\n"   # imported, but nothing of ours on sys.path


def test_cli_record_end_to_end(tmp_path, write):
    """`python -m tracesnap record` -> Swift CLI -> this interpreter's _launch.py."""
    from tracesnap import _cli
    if _cli.binary_path() is None:
        pytest.skip("no tracesnap executable in this build")
    s = write("e2e.py", "import sys\nprint('args', sys.argv[1:])\nsys.exit(4)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESNAP_")}
    env["TRACESNAP_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    r = subprocess.run([sys.executable, "-m", "tracesnap", "record", str(s), "--no-library",
                        "--out", str(tmp_path / "out.json"), "--", "a", "b"],
                       capture_output=True, env=env, timeout=300, cwd=str(tmp_path))
    assert r.stdout == b"args ['a', 'b']\n", r.stderr
    assert r.returncode == 4, r.stderr
    assert "tracesnap: script argv ['a', 'b']" in ours(r.stderr)


def test_orig_argv_and_unittest_main(write):
    s = write("ut.py", src('''
        import sys, unittest

        class T(unittest.TestCase):
            def test_ok(self):
                self.assertEqual(1 + 1, 2)

        print(getattr(sys, "orig_argv", None) == ([sys.executable, __file__] + sys.argv[1:])
              if hasattr(sys, "orig_argv") else "n/a", flush=True)
        unittest.main(argv=[sys.argv[0]], exit=True)
    '''))
    import re
    plain = run_plain(s, ["x"])
    launched = run_launched(s, ["x"])
    timing = re.compile(rb"in \d+\.\d+s")
    assert launched.stdout == plain.stdout
    assert timing.sub(b"", strip_ours(launched.stderr)) == timing.sub(b"", plain.stderr)
    assert plain.stdout.startswith(b"True") or plain.stdout.startswith(b"n/a")
    assert plain.returncode == launched.returncode == 0
    assert b"Ran 1 test" in plain.stderr


def test_modules_next_to_the_script_shadow_the_stdlib_as_under_python(write):
    write("json.py", "VALUE = 'the local json'\n")
    write("tokenize.py", "VALUE = 'the local tokenize'\n")
    write("signal.py", "VALUE = 'the local signal'\n")
    write("types.py", "VALUE = 'the local types'\n")
    write("ast.py", "VALUE = 'the local ast'\n")
    s = write("shadow.py", "import json, tokenize, signal, types, ast\n"
                           "print(json.VALUE, tokenize.VALUE, signal.VALUE, types.VALUE, ast.VALUE)\n")
    plain, _ = same_as_python(s)
    assert plain.stdout == (b"the local json the local tokenize the local signal the local types "
                            b"the local ast\n")


def test_symlinked_script_gets_the_real_directory_on_sys_path(tmp_path, write):
    write("real/helper.py", "WHERE = 'real'\n")
    real = write("real/s.py", "import sys, helper\nprint(sys.path[0], __file__, helper.WHERE)\n")
    (tmp_path / "other").mkdir()
    link = tmp_path / "other" / "s.py"
    link.symlink_to(real)
    plain, _ = same_as_python(link)
    assert plain.stdout.split()[0].decode() == str(tmp_path / "real")
