"""The compact binary trace form (`.tsnap`, the `compact` sink) end to end: the same events as the
JSON sink in one recording, read back by the Swift reader (`tracesnap convert`, the view server) and
by the Python package's independent reader (`tracesnap._compact_trace`); the library holding compact
traces; a killed recording; files cut at every kind of place; and its size per event."""

import json
import os
import subprocess
import sys


from conftest import REFERENCE_TRACES, start_server, stop_server
from recorded import PACKAGE, e2e_env, needs_recorder  # noqa: F401  (fixture)
from test_sqlite_traces import PROGRAM

MAGIC = b"TSNAPv2\n"


def _python_load(path):
    """The trace as the Python package's own reader gives it (in a fresh interpreter)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import json, sys, tracesnap; print(json.dumps(tracesnap.load_trace(sys.argv[1])))",
         str(path)], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(PACKAGE.parent)),
        timeout=120)
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout)


@needs_recorder
def test_compact_sink_stores_the_same_events_as_the_json_sink(run, home, tmp_path, e2e_env):
    script = tmp_path / "bank.py"
    script.write_text(PROGRAM)
    out = tmp_path / "bank.json"
    result = run("record", script, "--out", out, "--no-library", "--plugin", "compact", cwd=tmp_path, env=e2e_env,
                 timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "total 280"
    compact = tmp_path / "bank.tsnap"
    assert compact.read_bytes()[:8] == MAGIC
    assert not (tmp_path / "bank.tsnap.partial").exists()
    reference = json.loads(out.read_text())
    assert {e["type"] for e in reference["events"]} >= {"call", "line", "assign", "branch", "loop", "return",
                                                       "exception", "yield", "resume"}

    # The Swift reader (convert) gives exactly what the JSON sink wrote.
    back = tmp_path / "back.json"
    result = run("convert", compact, back, cwd=tmp_path, env=e2e_env)
    assert result.returncode == 0, result.stderr
    converted = json.loads(back.read_text())
    assert converted["events"] == reference["events"]
    assert converted["session"] == reference["session"]
    assert converted["trace_id"] == "bank" and converted["version"] == "0.2"
    # So does the Python package's independent reader.
    assert _python_load(compact) == reference
    # And it is far smaller.
    assert compact.stat().st_size * 5 < out.stat().st_size


EDGES = '''\
import threading

def fact(n):
    result = 1
    if n > 1:
        result = n * fact(n - 1)
    return result

def edges():
    x = 1
    x = 2
    del x
    x = 2
    xs = []
    for _ in range(3):
        xs.append(len(xs))
        xs.append(len(xs))
    a_variable_whose_name_is_far_too_long_to_be_numbered_by_the_string_table_of_the_compact_form_ok = 1
    a_variable_whose_name_is_far_too_long_to_be_numbered_by_the_string_table_of_the_compact_form_ok += 1
    class AClassWhoseNameIsFarTooLongToBeNumberedByTheStringTableOfTheCompactFormSoItIsWrittenInlineOk:
        def __repr__(self):
            return "same"
    y = AClassWhoseNameIsFarTooLongToBeNumberedByTheStringTableOfTheCompactFormSoItIsWrittenInlineOk()
    y = AClassWhoseNameIsFarTooLongToBeNumberedByTheStringTableOfTheCompactFormSoItIsWrittenInlineOk()
    for i in range(2):
        for j in range(2):
            x = i + j
    return x

barrier = threading.Barrier(3)

def worker(k):
    if k >= 0:
        barrier.wait()
    total = 0
    for step in range(50):
        total += step * k
    return total

counter = 0
def bump():
    global counter
    counter += 1
    counter += 1

threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(fact(6), edges(), worker(-1))
bump()
bump()
'''


@needs_recorder
def test_variable_slots_reproduce_every_event(run, home, tmp_path, e2e_env):
    """Version 2 leaves out what a frame's variables and loops repeat (index + 1, the prev that
    is the last value, the scope) and masks seen just before: recursion, deleted and re-bound
    names, in-place changes, names and types too long to be numbered, nested and re-entered loops,
    threads interleaving, globals: both readers give exactly the JSON sink's events."""
    script = tmp_path / "edges.py"
    script.write_text(EDGES)
    out = tmp_path / "edges.json"
    result = run("record", script, "--out", out, "--no-library", "--plugin", "compact", cwd=tmp_path, env=e2e_env,
                 timeout=120)
    assert result.returncode == 0, result.stderr
    compact = tmp_path / "edges.tsnap"
    reference = json.loads(out.read_text())
    assert len({e.get("thread") for e in reference["events"]}) >= 3
    back = tmp_path / "back.json"
    assert run("convert", compact, back, cwd=tmp_path, env=e2e_env).returncode == 0
    assert json.loads(back.read_text())["events"] == reference["events"]
    assert _python_load(compact) == reference


def test_version_1_files_still_read(run, tmp_path):
    """Files written before variable slots (magic TSNAPv1) decode as they did: absent index 0,
    every prev and mask written."""
    fixtures = os.path.join(os.path.dirname(__file__), "fixtures")
    expected = json.load(open(os.path.join(fixtures, "loops.v1.json")))
    v1 = os.path.join(fixtures, "loops.v1.tsnap")
    assert open(v1, "rb").read(8) == b"TSNAPv1\n"
    assert _python_load(v1)["events"] == expected["events"]
    back = tmp_path / "back.json"
    assert run("convert", v1, back, cwd=tmp_path).returncode == 0
    assert json.loads(back.read_text())["events"] == expected["events"]
    assert any(e.get("change_index", 0) > 1 for e in expected["events"])
    reference = json.loads((REFERENCE_TRACES / "sample_program.trace.json").read_text())
    assert _python_load(os.path.join(fixtures, "sample_program.v1.tsnap"))["events"] == reference["events"]


@needs_recorder
def test_out_extension_picks_the_compact_sink_and_the_api_reads_it(run, home, tmp_path, e2e_env):
    script = tmp_path / "ext.py"
    script.write_text(PROGRAM)
    out = tmp_path / "ext.tsnap"
    result = run("record", script, "--out", out, "--no-library", cwd=tmp_path, env=e2e_env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == MAGIC
    assert _python_load(out)["trace_id"] == "ext"

    api = tmp_path / "api.py"
    api.write_text(
        "import sys, tracesnap\n"
        "def f(n):\n"
        "    s = 0\n"
        "    for i in range(n):\n"
        "        s += i\n"
        "    return s\n"
        "with tracesnap.record('api', source_files=[__file__], output=sys.argv[1]) as rec:\n"
        "    f(10)\n"
        "events = rec.trace['events']\n"
        "assert len(events) == rec.event_count and events[0]['type'] == 'call', events[:2]\n"
        "assert [e['seq'] for e in events] == list(range(len(events)))\n"
        "print(rec.event_count)\n")
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent), **e2e_env)
    target = tmp_path / "api.tsnap"
    result = subprocess.run([sys.executable, str(api), str(target)], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == len(_python_load(target)["events"]) > 10


@needs_recorder
def test_library_holds_compact_traces(run, home, tmp_path, e2e_env):
    script = tmp_path / "lib.py"
    script.write_text(PROGRAM)
    result = run("record", script, "--plugin", "compact", "--name", "in compact", cwd=tmp_path, env=e2e_env,
                 timeout=120)
    assert result.returncode == 0, result.stderr
    index = json.loads((home / "index.json").read_text())
    entry = index["traces"][-1]
    assert entry["name"] == "in compact" and entry["format"] == "compact" and entry.get("partial") is not True
    stored = home / "traces" / f"{entry['id']}.tsnap"
    assert stored.exists() and not (home / "traces" / f"{entry['id']}.json").exists()
    trace = _python_load(stored)
    assert entry["event_count"] == len(trace["events"])
    assert trace["session"]["library_id"] == entry["id"]

    listing = run("list", cwd=tmp_path, env=e2e_env)
    assert entry["id"] in listing.stdout
    assert run("rename", entry["id"], "renamed", cwd=tmp_path, env=e2e_env).returncode == 0
    assert json.loads((home / "index.json").read_text())["traces"][-1]["name"] == "renamed"

    server = start_server(run, cwd=tmp_path, env=e2e_env)
    try:
        status, headers, body = server.request("GET", f"/api/traces/{entry['id']}")
        assert status == 200, body
        assert body["events"] == trace["events"] and body["session"] == trace["session"]
        status, _, summary = server.request("GET", f"/api/traces/{entry['id']}/summary")
        assert status == 200 and summary["format"] == "compact"
        assert summary["event_count"] == entry["event_count"] and summary["partial"] is False
        status, _, page = server.request("GET", f"/api/traces/{entry['id']}/events?offset=10&limit=7")
        assert status == 200 and page["events"] == trace["events"][10:17] and page["total"] == entry["event_count"]
    finally:
        stop_server(server)

    exported = tmp_path / "page.html"
    result = run("export", entry["id"], "--html", exported, cwd=tmp_path, env=e2e_env)
    assert result.returncode == 0, result.stderr
    assert "in compact" in exported.read_text() or entry["id"] in exported.read_text()

    assert run("delete", entry["id"], "-f", cwd=tmp_path, env=e2e_env).returncode == 0
    assert not stored.exists()


@needs_recorder
def test_killed_recording_leaves_a_readable_partial_compact_trace(run, home, tmp_path, e2e_env):
    script = tmp_path / "killed.py"
    script.write_text(PROGRAM)
    result = run("record", script, "300", "kill", "--no-library", "--plugin", "compact", cwd=tmp_path,
                 env=e2e_env, timeout=300)
    assert result.returncode in (-9, 137), (result.returncode, result.stderr[-2000:])
    assert not (tmp_path / "killed.tsnap").exists()
    partial = tmp_path / "killed.tsnap.partial"
    assert partial.exists()
    # Every event delivered before the kill is there (the sink writes through a shared mapping):
    # the program printed its total, so all 300 rounds ran.
    converted = tmp_path / "killed.json"
    result = run("convert", partial, converted, cwd=tmp_path, env=e2e_env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "partial" in result.stderr
    trace = json.loads(converted.read_text())
    assert trace["session"]["partial"] is True
    events = trace["events"]
    assert sum(1 for e in events if e["type"] == "call" and e.get("func") == "interest") == 300
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert _python_load(partial)["events"] == events


@needs_recorder
def test_cut_files_give_a_prefix_of_the_events(run, home, tmp_path, e2e_env):
    script = tmp_path / "cut.py"
    script.write_text(PROGRAM)
    full = tmp_path / "cut.tsnap"
    result = run("record", script, "4", "--out", full, "--no-library", cwd=tmp_path, env=e2e_env, timeout=120)
    assert result.returncode == 0, result.stderr
    data = full.read_bytes()
    complete = _python_load(full)["events"]
    # The header record: magic, kind byte, varint length, the JSON.
    length, shift, position = 0, 0, len(MAGIC) + 1
    while True:
        byte = data[position]
        position += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    header_end = position + length
    sizes = sorted({len(data) - 1, len(data) * 3 // 4, len(data) // 2, header_end + 3, header_end, 40, 12})
    for size in sizes:
        piece = tmp_path / f"piece-{size}.tsnap"
        piece.write_bytes(data[:size])
        target = tmp_path / f"piece-{size}.json"
        result = run("convert", piece, target, cwd=tmp_path, env=e2e_env)
        assert "Traceback" not in result.stderr and "Fatal" not in result.stderr
        if result.returncode != 0:  # only a cut inside the header is unreadable, with one line
            assert size < header_end and len(result.stderr.strip().splitlines()) == 1, result.stderr
            continue
        events = json.loads(target.read_text())["events"]
        assert events == complete[:len(events)], size
        assert _python_load(piece)["events"] == events
    # Zero bytes after the data (a mapping's unwritten tail) end it cleanly.
    padded = tmp_path / "padded.tsnap"
    padded.write_bytes(data[: len(data) // 2] + bytes(4096))
    assert run("convert", padded, tmp_path / "padded.json", cwd=tmp_path, env=e2e_env).returncode == 0


@needs_recorder
def test_compact_form_is_a_few_bytes_per_event(run, home, tmp_path, e2e_env):
    script = tmp_path / "loop.py"
    script.write_text(
        "def run(n):\n"
        "    s = 0\n"
        "    for i in range(n):\n"
        "        for j in range(n):\n"
        "            s = (s + i * j) % 1000003\n"
        "    return s\n"
        "print(run(150))\n")
    out = tmp_path / "loop.tsnap"
    result = run("record", script, "--out", out, "--no-library", cwd=tmp_path, env=e2e_env, timeout=300)
    assert result.returncode == 0, result.stderr
    count = len(_python_load(out)["events"])
    assert count > 100_000
    assert out.stat().st_size / count <= 25, out.stat().st_size / count


def test_convert_round_trips_reference_traces_through_the_compact_form(run, home, tmp_path):
    fixtures = sorted(p for p in REFERENCE_TRACES.glob("*.json") if not p.name.endswith("structure.json"))
    checked = 0
    for fixture in fixtures:
        try:
            original = json.loads(fixture.read_text())
        except ValueError:
            continue  # deliberately broken fixtures
        if not isinstance(original, dict) or not isinstance(original.get("events"), list):
            continue
        compact = tmp_path / (fixture.stem + ".tsnap")
        result = run("convert", fixture, compact, cwd=tmp_path)
        assert result.returncode == 0, (fixture, result.stderr)
        assert compact.read_bytes()[:8] == MAGIC
        back = tmp_path / (fixture.stem + ".back.json")
        result = run("convert", compact, back, cwd=tmp_path)
        assert result.returncode == 0, (fixture, result.stderr)
        again = json.loads(back.read_text())
        assert again["events"] == original["events"], fixture
        if original.get("session") is not None:
            assert again["session"] == original["session"], fixture
        assert again.get("trace_id") == original.get("trace_id")
        checked += 1
    assert checked >= 1


def test_convert_keeps_events_the_fields_cannot_hold_as_raw_records(run, home, tmp_path):
    source = tmp_path / "odd.json"
    value = {"repr": "1", "type": "int", "id": 5, "truncated": False, "redacted": False, "colour": "red"}
    original = {"version": "0.2", "trace_id": "odd", "events": [
        {"seq": 0, "ts": 1, "depth": 1, "type": "line", "line": 1, "file": "/a.py", "func": "f", "parent_seq": None},
        {"seq": 1, "ts": 2, "depth": 1, "type": "assign", "var": "x", "scope": "local", "value": value, "prev": None,
         "change_index": 0, "line": 1, "file": "/a.py", "func": "f", "parent_seq": None},
        {"seq": 2, "ts": 3, "depth": 1, "type": "teleport", "line": 2, "file": "/a.py", "func": "f", "parent_seq": 0},
        {"seq": 3, "ts": 4, "depth": 1, "type": "line", "line": 3, "file": "/a.py", "func": "f", "parent_seq": None}],
        "session": {"kind": "script"}}
    source.write_text(json.dumps(original))
    target = tmp_path / "odd.tsnap"
    result = run("convert", source, target, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    back = tmp_path / "back.json"
    assert run("convert", target, back, cwd=tmp_path).returncode == 0
    assert json.loads(back.read_text())["events"] == original["events"]
    assert _python_load(target)["events"] == original["events"]


def test_convert_keeps_frames_whose_names_have_the_same_length_apart(run, home, tmp_path):
    # Consecutive events in files and functions whose names differ only in content (same length):
    # the encoder must not take the second for "the same frame as before".
    events = []
    for seq in range(12):
        name = "xy"[seq % 2]
        events.append({"seq": seq, "ts": seq * 10, "depth": 1 + seq % 2, "type": "line", "line": 3 + seq % 3,
                       "file": f"/src/{name}.py", "func": f"f_{name}", "parent_seq": None, "frame_id": 1 + seq % 2})
    source = tmp_path / "alt.json"
    source.write_text(json.dumps({"version": "0.2", "trace_id": "alt", "events": events, "session": {}}))
    compact = tmp_path / "alt.tsnap"
    assert run("convert", source, compact, cwd=tmp_path).returncode == 0
    back = tmp_path / "back.json"
    assert run("convert", compact, back, cwd=tmp_path).returncode == 0
    assert json.loads(back.read_text())["events"] == events
    assert _python_load(compact)["events"] == events


def test_not_a_compact_trace_is_one_line(run, home, tmp_path):
    bad = tmp_path / "bad.tsnap"
    bad.write_bytes(MAGIC + b"\x05garbage")
    result = run("convert", bad, tmp_path / "out.json", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
