"""End to end with the real Python side: `tracesnap record` execs the installed package's
`_launch.py`, the Swift recorder writes the trace, the library sink files it, and the view server's
record jobs see it. Skipped when the tracesnap Python package with its native recorder is not
importable by this interpreter (the wheel is installed in `scripts/test`).

A development build can be used with `TRACESNAP_PYTHON_PACKAGE=<checkout>/integrations/python/src/tracesnap`
and `TRACESNAP_LIB_DIR=<checkout>/.build/debug`.
"""

import json
import subprocess
import time
from pathlib import Path

import pytest

from conftest import start_server, stop_server
from recorded import e2e_env, needs_recorder, record_and_load  # noqa: F401  (fixture)


pytestmark = needs_recorder


SCRIPT = '''\
import sys

def add(a, b):
    total = a + b
    return total

line = sys.stdin.readline().strip()
print("sum", add(int(line or "1"), 2), sys.argv[1:])
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
'''


def test_record_cli_end_to_end(run, home, tmp_path, e2e_env):
    script = tmp_path / "adder.py"
    script.write_text(SCRIPT)
    out = tmp_path / "copy.json"
    result = run("record", script, "--out", out, "--name", "e2e adder", input="40\n", cwd=tmp_path, env=e2e_env,
                 timeout=120)
    assert result.returncode == 0, result.stderr
    assert "sum 42 []" in result.stdout
    index = json.loads((home / "index.json").read_text())
    assert len(index["traces"]) == 1
    meta = index["traces"][0]
    assert meta["trace_id"] == "adder"
    assert meta["source"] == str(script)
    trace = json.loads((home / "traces" / f"{meta['id']}.json").read_text())
    assert any(e.get("type") == "call" and e.get("func") == "add" for e in trace["events"])
    assert json.loads(out.read_text())["trace_id"] == "adder"
    listing = run("list", env=e2e_env)
    assert meta["id"] in listing.stdout


def test_record_cli_name_reaches_the_library(run, home, tmp_path, e2e_env):
    script = tmp_path / "adder.py"
    script.write_text(SCRIPT)
    result = run("record", script, "--name", "e2e adder", input="1\n", cwd=tmp_path, env=e2e_env, timeout=120)
    assert result.returncode == 0, result.stderr
    index = json.loads((home / "index.json").read_text())
    assert index["traces"][0]["name"] == "e2e adder"


def test_record_cli_exit_status_is_the_scripts(run, home, tmp_path, e2e_env):
    script = tmp_path / "adder.py"
    script.write_text(SCRIPT)
    result = run("record", script, "--", "3", input="1\n", cwd=tmp_path, env=e2e_env, timeout=120)
    assert result.returncode == 3, result.stderr
    assert "sum 3 ['3']" in result.stdout


def test_record_job_end_to_end(run, home, tmp_path, e2e_env):
    scan = tmp_path / "scan"
    scan.mkdir()
    (scan / "adder.py").write_text(SCRIPT)
    server = start_server(run, "--scan-root", scan, cwd=tmp_path, env=e2e_env)
    try:
        status, _, body = server.request("POST", "/api/run/script/start", body={"path": "adder.py", "name": "job"})
        assert status == 200, body
        job = body["job_id"]
        server.request("POST", f"/api/run/script/stdin/{job}", body={"data": "5\n"})
        from test_server import read_sse
        raw, events = read_sse(server, job, timeout=120)
        out = "".join(d["text"] for e, d in events if e == "out")
        assert "sum 7" in out, raw
        payload = events[-1][1]
        assert events[-1][0] == "exit" and payload["returncode"] == 0, raw
        assert payload["new_id"]
        status, _, trace = server.request("GET", f"/api/traces/{payload['new_id']}")
        assert status == 200 and trace["events"]
    finally:
        stop_server(server)


KILLED = '''\
import os, time
x = 0
for i in range(2000):
    x += i
time.sleep(0.6)
os.kill(os.getpid(), 9)
'''


def test_a_killed_recording_leaves_a_readable_partial_trace(run, home, tmp_path, e2e_env):
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    result = run("record", script, cwd=tmp_path, env=e2e_env, timeout=120)
    assert result.returncode == -9 or result.returncode == 137
    index = json.loads((home / "index.json").read_text())
    assert len(index["traces"]) == 1, "the entry is filed when recording starts"
    meta = index["traces"][0]
    assert meta.get("partial") is True
    leftover = home / "traces" / f"{meta['id']}.json.partial"
    assert leftover.exists()
    html = tmp_path / "killed.html"
    exported = run("export", "--html", html, meta["id"], env=e2e_env)
    assert exported.returncode == 0, exported.stderr
    assert "partial" in exported.stderr
    recovered = int(exported.stderr.split("exporting ")[1].split(" events")[0])
    assert recovered > 1000, "events written before the kill are recovered"


LIMITS_SCRIPT = '''\
def helper(x):
    return x + 1

def busy(n):
    total = 0
    for i in range(n):
        total = helper(total)
    return total

def _private(x):
    return x * 2

print(busy(50), _private(3))
'''


def test_record_max_events_ends_with_a_gap_and_says_partial(run, home, tmp_path, e2e_env):
    script = tmp_path / "limits.py"
    script.write_text(LIMITS_SCRIPT)
    result, trace = record_and_load(run, script, tmp_path / "limits.json", "--max-events", "40", env=e2e_env)
    assert result.stdout.startswith("50 6")  # the program ran to the end, unchanged
    events = trace["events"]
    assert len(events) == 41 and [e["seq"] for e in events] == list(range(41))
    assert events[-1]["type"] == "gap" and events[-1]["reason"] == "max-events" and events[-1]["dropped"] > 0
    assert trace["session"]["partial"] is True and trace["session"]["partial_reason"] == "max-events"
    assert trace["session"]["limits"] == {"max_events": 40}


def _projection(event):
    """What a recording of the same deterministic program repeats exactly (not times, ids or seqs)."""
    keys = ("type", "line", "func", "depth", "frame_id", "var", "scope", "change_index", "node_id", "iteration",
            "taken", "mutation")
    picked = {key: event.get(key) for key in keys}
    for key in ("value", "prev"):
        value = event.get(key)
        picked[key] = value["repr"] if isinstance(value, dict) else value
    picked["args"] = {k: v["repr"] for k, v in (event.get("args") or {}).items()}
    return picked


@pytest.mark.parametrize("suffix", [".json", ".tsnap"])
def test_record_last_keeps_exactly_the_tail(run, home, tmp_path, e2e_env, suffix):
    script = tmp_path / "limits.py"
    script.write_text(LIMITS_SCRIPT)
    full = tmp_path / ("full" + suffix)
    result = run("record", script, "--out", full, "--no-library", cwd=tmp_path, env=e2e_env, timeout=120)
    assert result.returncode == 0, result.stderr
    tail = tmp_path / ("tail" + suffix)
    result = run("record", script, "--out", tail, "--no-library", "--last", "60", cwd=tmp_path, env=e2e_env,
                 timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("50 6")  # the program ran to the end, unchanged
    if suffix == ".tsnap":
        for path in (full, tail):
            assert run("convert", path, path.with_suffix(".json"), cwd=tmp_path, env=e2e_env).returncode == 0
        full, tail = full.with_suffix(".json"), tail.with_suffix(".json")
    everything = json.loads(full.read_text())["events"]
    trace = json.loads(tail.read_text())
    events = trace["events"]
    assert len(events) == 61 and [e["seq"] for e in events] == list(range(61))
    gap = events[0]
    assert gap["type"] == "gap" and gap["reason"] == "ring" and gap["limit"] == 60
    assert gap["dropped"] == len(everything) - 60
    assert [_projection(e) for e in events[1:]] == [_projection(e) for e in everything[-60:]]
    # parent_seq follows the renumbering; a parent that was dropped becomes null.
    shift = gap["dropped"] - 1
    for kept, original in zip(events[1:], everything[-60:]):
        parent = original["parent_seq"]
        expected = parent - shift if parent is not None and parent - shift >= 1 else None
        assert kept["parent_seq"] == expected, (kept, original)
    session = trace["session"]
    assert session["partial"] is True and session["partial_reason"] == "ring"
    assert session["limits"] == {"last_events": 60} and session["event_count"] == 61
    assert sum(session["event_types"].values()) == 61


def test_record_last_larger_than_the_run_keeps_everything(run, home, tmp_path, e2e_env):
    script = tmp_path / "limits.py"
    script.write_text(LIMITS_SCRIPT)
    _, trace = record_and_load(run, script, tmp_path / "all.json", "--last", "100000", env=e2e_env)
    events = trace["events"]
    assert events[0]["type"] == "call" and not any(e["type"] == "gap" for e in events)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert trace["session"]["partial"] is False and trace["session"]["limits"] == {"last_events": 100000}


def test_record_function_filters(run, home, tmp_path, e2e_env):
    script = tmp_path / "limits.py"
    script.write_text(LIMITS_SCRIPT)
    _, trace = record_and_load(run, script, tmp_path / "only.json", "--function", "bus?", env=e2e_env)
    assert {e["func"] for e in trace["events"]} == {"busy"}
    assert trace["session"]["limits"] == {"functions": ["bus?"]}

    _, trace = record_and_load(run, script, tmp_path / "without.json", "--exclude-function", "helper",
                               "--exclude-function", "_*", env=e2e_env)
    assert {e["func"] for e in trace["events"]} == {"<module>", "busy"}
    assert trace["session"]["limits"] == {"exclude_functions": ["helper", "_*"]}


@pytest.mark.parametrize("args, message", [
    (["--max-events", "0"], "--max-events must be at least 1"),
    (["--max-events", "many"], "--max-events"),
    (["--last", "0"], "--last must be at least 1"),
    (["--function", " "], "non-empty pattern"),
])
def test_record_bad_limits_are_one_line_errors(run, home, tmp_path, e2e_env, args, message):
    script = tmp_path / "limits.py"
    script.write_text(LIMITS_SCRIPT)
    result = run("record", script, *args, cwd=tmp_path, env=e2e_env, timeout=60)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def _fixture_plugin(tmp_path, variant, name):
    """The C fixture plugin (Tests/TraceSnapPluginTests/Fixtures) built with `cc`."""
    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / name
    subprocess.run(["cc", "-shared", "-fPIC", f"-DFIXTURE={variant}", "-I", str(repo / "Sources/Core/PluginABI/include"),
                    str(repo / "Tests/TraceSnapPluginTests/Fixtures/fixture_plugin.c"), "-o", str(out)], check=True)
    return out


def test_plugins_lists_built_ins_and_reports_broken_plugins(run, home, tmp_path, e2e_env):
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    _fixture_plugin(plugin_dir, 0, "good.so")
    _fixture_plugin(plugin_dir, 3, "major2.so")
    good = (plugin_dir / "good.so").read_bytes()
    (plugin_dir / "truncated.so").write_bytes(good[:2000])
    (plugin_dir / "notaplugin.so").write_bytes(Path("/bin/true").read_bytes())  # an ELF file, not a plugin
    env = dict(e2e_env, TRACESNAP_PLUGIN_PATH=str(plugin_dir))

    result = run("plugins", "--json", cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 1, result.stderr  # some plugins fail to load
    rows = {Path(r["path"]).name: r for r in json.loads(result.stdout)["plugins"]}
    builtin = {r["name"] for r in rows.values() if r["source"] == "built-in" and r["ok"]}
    assert {"annotator", "redactor", "json", "library"} <= builtin
    for r in rows.values():
        if r["ok"]:
            assert r["abi"].startswith("1.") and r["kind"] and r["version"]
    assert rows["good.so"]["ok"] and rows["good.so"]["name"] == "c-fixture" and rows["good.so"]["kind"] == ["transform"]
    assert "plugin ABI v2" in rows["major2.so"]["error"]
    assert "truncated" in rows["truncated.so"]["error"] or "not" in rows["truncated.so"]["error"]
    assert not rows["notaplugin.so"]["ok"]

    table = run("plugins", cwd=tmp_path, env=env, timeout=120)
    assert table.returncode == 1
    assert "c-fixture" in table.stdout and "FAILS" in table.stdout and "reason: " in table.stdout
    assert "Traceback" not in table.stdout + table.stderr


def test_plugins_all_built_ins_load(run, home, tmp_path, e2e_env):
    result = run("plugins", cwd=tmp_path, env=dict(e2e_env, TRACESNAP_PLUGIN_PATH=""), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILS" not in result.stdout


def test_plugins_missing_path_is_a_usage_error(run, home, tmp_path, e2e_env):
    result = run("plugins", str(tmp_path / "nope.so"), cwd=tmp_path, env=e2e_env, timeout=60)
    assert result.returncode == 2 and "not found" in result.stderr


NDJSON_SCRIPT = '''\
import os, signal, sys

def work(n):
    total = 0
    for i in range(n):
        total += i
    return total

print(work(200), flush=True)
marker = "last words"
if len(sys.argv) > 1:
    if sys.argv[1] == "exit":
        os._exit(3)
    elif sys.argv[1] == "segfault":
        import ctypes
        ctypes.string_at(0)
    os.kill(os.getpid(), signal.SIGKILL)
'''


def test_ndjson_sink_matches_the_json_file(run, home, tmp_path, e2e_env):
    script = tmp_path / "streamed.py"
    script.write_text(NDJSON_SCRIPT)
    _, trace = record_and_load(run, script, tmp_path / "streamed.json", "--plugin", "ndjson", env=e2e_env)
    stream = tmp_path / "streamed.ndjson"
    lines = [json.loads(l) for l in stream.read_text().splitlines()]
    assert lines[0]["tracesnap"] == "ndjson" and lines[0]["trace_id"] == "streamed"
    assert lines[-1]["end"] is True and lines[-1]["session"]["partial"] is False
    assert lines[1:-1] == trace["events"]
    converted = tmp_path / "back.json"
    result = run("convert", stream, converted, cwd=tmp_path, env=e2e_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(converted.read_text())["events"] == lines[1:-1]
    again = tmp_path / "again.ndjson"
    assert run("convert", converted, again, cwd=tmp_path, env=e2e_env).returncode == 0
    assert [json.loads(l) for l in again.read_text().splitlines()][1:-1] == lines[1:-1]


@pytest.mark.parametrize("how, codes", [("kill", (-9, 137)), ("exit", (3,)), ("segfault", (-11, 139))])
def test_ndjson_sink_keeps_every_event_when_the_process_is_killed(run, home, tmp_path, e2e_env, how, codes):
    script = tmp_path / "killed.py"
    script.write_text(NDJSON_SCRIPT)
    result = run("record", script, how, "--no-library", "--plugin", "ndjson", cwd=tmp_path, env=e2e_env,
                 timeout=120)
    assert result.returncode in codes, (result.returncode, result.stderr)
    assert result.stdout.strip() == "19900"
    assert not (tmp_path / "killed.ndjson").exists()
    partial = tmp_path / "killed.ndjson.partial"
    converted = tmp_path / "killed.json"
    result = run("convert", partial, converted, cwd=tmp_path, env=e2e_env)
    assert result.returncode == 0, result.stderr
    assert "partial" in result.stderr
    trace = json.loads(converted.read_text())
    events = trace["events"]
    # everything up to the kill: all 200 loop iterations, the return, and the assignment just before it
    assert len([e for e in events if e["type"] == "loop"]) == 200
    assert [e["value"]["repr"] for e in events if e["type"] == "return" and e["func"] == "work"] == ["19900"]
    assert any(e["type"] == "assign" and e["var"] == "marker" for e in events)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert trace["session"]["partial"] is True


def test_convert_errors_are_one_line(run, home, tmp_path, e2e_env):
    bad = tmp_path / "bad.ndjson"
    bad.write_text("{\"tracesnap\":\"ndjson\",\"version\":\"0.2\",\"trace_id\":\"x\",\"session\":{}}\nnot json\n{}\n")
    result = run("convert", bad, tmp_path / "out.json", cwd=tmp_path, env=e2e_env)
    assert result.returncode != 0 and "line 2" in result.stderr and "Traceback" not in result.stderr
    result = run("convert", tmp_path / "missing.json", tmp_path / "out.json", cwd=tmp_path, env=e2e_env)
    assert result.returncode != 0 and "no such file" in result.stderr
    result = run("convert", bad, tmp_path / "out.txt", cwd=tmp_path, env=e2e_env)
    assert result.returncode == 2 and ".json" in result.stderr and ".ndjson" in result.stderr
