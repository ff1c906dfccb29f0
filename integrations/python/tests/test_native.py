"""End-to-end tests with the real native recorder. Skipped until ``tracesnap._recording``
(the native binding) is part of the build; they then run automatically.

Each traced program runs in a child process (a crash must not take pytest down).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tsutil import PACKAGE_DIR, needs_native, ours, run_launched, run_plain, strip_ours

pytestmark = needs_native


def run_py(code, tmp_path, timeout=120):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code).lstrip("\n"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESNAP_")}
    env["PYTHONPATH"] = str(PACKAGE_DIR.parent)
    env["PYTHONFAULTHANDLER"] = "1"
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       cwd=str(tmp_path), env=env, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return script, r


def events(trace, type_=None):
    return [e for e in trace["events"] if type_ is None or e["type"] == type_]


def test_module_level_context_manager_records_the_block(tmp_path):
    script, _ = run_py('''
        import tracesnap
        with tracesnap.record(trace_id="block", output="t.json") as rec:
            a = 1
            b = a + 41
        print(rec.event_count)
    ''', tmp_path)
    trace = json.loads((tmp_path / "t.json").read_text())
    lines = {e["line"] for e in events(trace, "line") if e.get("file") == str(script)}
    assert {3, 4} <= lines
    assert trace["trace_id"] == "block"


def test_decorator_on_a_recursive_function(tmp_path):
    _, r = run_py('''
        import tracesnap

        @tracesnap.record(trace_id="fib", output="fib.json")
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        print(fib(7))
    ''', tmp_path)
    assert r.stdout.strip() == "13"
    trace = json.loads((tmp_path / "fib.json").read_text())
    calls = [e for e in events(trace, "call") if e["func"] == "fib"]
    assert len(calls) == 41


def test_previous_tracer_is_restored(tmp_path):
    _, r = run_py('''
        import sys, tracesnap
        def mytracer(frame, event, arg):
            return None
        sys.settrace(mytracer)
        with tracesnap.record(output="t.json"):
            x = 1
        print(sys.gettrace() is mytracer)
    ''', tmp_path)
    assert r.stdout.strip() == "True"


def test_extra_redact_names_add_to_the_defaults(tmp_path):
    run_py('''
        import tracesnap
        def login(user, password, pin):
            token = "t-" + pin
            return len(token)
        with tracesnap.record(output="t.json", redact_names=["PIN"]):
            login("ann", "hunter2", "1234")
    ''', tmp_path)
    trace = json.loads((tmp_path / "t.json").read_text())
    call = [e for e in events(trace, "call") if e["func"] == "login"][0]
    assert call["args"]["password"]["redacted"] is True
    assert call["args"]["pin"]["redacted"] is True
    assert call["args"]["user"]["redacted"] is False
    assert set(trace["session"]["redaction"]["key_rules"]) >= {"password", "pin", "api_key"}


def test_stop_recording_returns_the_trace(tmp_path):
    _, r = run_py('''
        import json, tracesnap
        def work(n):
            total = 0
            for i in range(n):
                total += i
            return total
        tracesnap.start_recording("imp", source_files=[__file__])
        try:
            work(3)
        finally:
            trace = tracesnap.stop_recording(request={"status": 201})
        tracesnap.write_trace(trace, "t.json")
        print(trace["session"]["request"]["status"], len(trace["events"]) > 0)
    ''', tmp_path)
    assert r.stdout.split() == ["201", "True"]


def test_recorded_run_is_identical_and_writes_the_trace(tmp_path):
    script = tmp_path / "calc.py"
    script.write_text("import sys\nx = 2\ny = x * 21\nprint(y)\nsys.exit(3)\n")
    out = tmp_path / "out" / "calc.json"
    plain = run_plain(script)
    launched = run_launched(script, out=str(out))
    assert launched.stdout == plain.stdout
    assert strip_ours(launched.stderr) == plain.stderr
    assert launched.returncode == 3
    trace = json.loads(out.read_text())
    assert trace["session"]["exit_code"] == 3
    assert any(e["type"] == "line" for e in trace["events"])
    assert any(line.startswith("tracesnap: recorded ") for line in ours(launched.stderr))


def test_runner_summary_with_the_library(tmp_path):
    script = tmp_path / "lib.py"
    script.write_text("x = 1\nprint(x)\n")
    home = tmp_path / "home"
    r = run_launched(script, library=True, home=str(home), name="lib demo", project="proj",
                     out=str(tmp_path / "lib.json"))
    assert r.returncode == 0, r.stderr
    lines = ours(r.stderr)
    ids = [line.split()[-1] for line in lines if line.startswith("tracesnap: library id")]
    assert len(ids) == 1
    assert "tracesnap: library name 'lib demo'" in lines
    assert "tracesnap: project      proj" in lines
    assert f"tracesnap: open it with:  tracesnap view {ids[0]}" in lines
    assert (home / "traces" / f"{ids[0]}.json").is_file()


def test_start_recording_last_events_keeps_the_tail(tmp_path):
    _, r = run_py('''
        import json, tracesnap

        def count(n):
            total = 0
            for i in range(n):
                total += i
            return total

        tracesnap.start_recording("tail", source_files=[__file__], last_events=30)
        result = count(100)
        trace = tracesnap.stop_recording()
        with tracesnap.record("deco", output="tail.json", last_events=10) as rec:
            count(20)
        print(result)
        print(json.dumps({"events": trace["events"], "session": trace["session"], "deco": rec.event_count}))
    ''', tmp_path)
    result, payload = r.stdout.strip().splitlines()
    assert result == "4950"  # the program is unchanged
    data = json.loads(payload)
    events = data["events"]
    assert len(events) == 31 and [e["seq"] for e in events] == list(range(31))
    assert events[0]["type"] == "gap" and events[0]["reason"] == "ring" and events[0]["dropped"] > 0
    # the tail: count's last iterations and its return, then the module's stop_recording line
    returns = [e for e in events if e["type"] == "return"]
    assert returns and returns[-1]["func"] == "count" and returns[-1]["value"]["repr"] == "4950"
    assert events[-1]["type"] == "line" and events[-1]["func"] == "<module>"
    assert data["session"]["partial"] is True and data["session"]["limits"] == {"last_events": 30}
    assert data["deco"] == 11
    saved = json.loads((tmp_path / "tail.json").read_text())
    assert saved["events"][0]["reason"] == "ring" and len(saved["events"]) == 11


def test_start_recording_max_events_stops_with_a_gap(tmp_path):
    _, r = run_py('''
        import json, tracesnap

        def count(n):
            total = 0
            for i in range(n):
                total += i
            return total

        tracesnap.start_recording("capped", source_files=[__file__], max_events=25)
        result = count(100)
        trace = tracesnap.stop_recording()
        print(result)
        print(json.dumps({"n": len(trace["events"]), "last": trace["events"][-1], "session": trace["session"]}))
    ''', tmp_path)
    result, payload = r.stdout.strip().splitlines()
    assert result == "4950"  # the program is unchanged
    data = json.loads(payload)
    assert data["n"] == 26 and data["last"]["type"] == "gap" and data["last"]["reason"] == "max-events"
    assert data["session"]["partial"] is True and data["session"]["limits"] == {"max_events": 25}
