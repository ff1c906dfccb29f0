"""The SQLite trace form end to end: the `sqlite` sink recording real programs, the library
holding SQLite traces, `tracesnap convert` round trips, a killed recording, and the paged API of a
running `tracesnap view` server. The files are inspected independently with Python's sqlite3."""

import json
import sqlite3
import subprocess
import sys


from conftest import REFERENCE_TRACES, start_server, stop_server
from recorded import PACKAGE, e2e_env, needs_recorder, record_and_load  # noqa: F401  (fixture)

PROGRAM = '''\
import os, signal, sys

class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance

def interest(balance, rate, years):
    history = []
    for year in range(years):
        balance = balance + balance * rate
        if balance > 1500:
            history.append(round(balance, 2))
    return balance

def risky(n):
    try:
        if n % 3 == 0:
            raise ValueError("multiple of three: %d" % n)
        return n
    except ValueError as exc:
        return str(exc)

def numbers(n):
    for i in range(n):
        yield i * i

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
account = Account("ada", 1000)
total = 0
for r in range(rounds):
    account.balance = interest(account.balance, 0.01, 3)
    total += sum(numbers(4))
    label = risky(r)
print("total", total, flush=True)
if len(sys.argv) > 2:
    os.kill(os.getpid(), signal.SIGKILL)
'''


def _events_of(path):
    return json.loads(path.read_text())["events"]


@needs_recorder
def test_sqlite_sink_stores_the_same_events_as_the_json_sink(run, home, tmp_path, e2e_env):
    script = tmp_path / "bank.py"
    script.write_text(PROGRAM)
    result, reference = record_and_load(run, script, tmp_path / "bank.json", "--plugin", "sqlite", env=e2e_env)
    assert result.stdout.strip() == "total 280"
    db_path = tmp_path / "bank.sqlite"
    assert db_path.read_bytes()[:16] == b"SQLite format 3\x00"
    assert not (tmp_path / "bank.sqlite.partial").exists()

    # Independent look with Python's sqlite3: the schema, one row per event, interned strings.
    db = sqlite3.connect(str(db_path))
    meta = dict(db.execute("SELECT key, value FROM meta"))
    assert meta["format"] == "tracesnap-sqlite" and meta["trace_id"] == "bank" and meta["version"] == "0.2"
    assert int(meta["event_count"]) == len(reference["events"])
    assert db.execute("SELECT count(*), min(seq), max(seq) FROM events").fetchone() == (
        len(reference["events"]), 0, len(reference["events"]) - 1)
    files = [row[0] for row in db.execute("SELECT DISTINCT s.text FROM contexts c JOIN strings s ON s.id = c.file")]
    assert files == [str(script)]
    assert db.execute("SELECT count(*) FROM strings WHERE text = ?", ("interest",)).fetchone()[0] == 1
    session = json.loads(meta["session"])
    db.close()

    # What the reader decodes is exactly what the JSON sink wrote.
    back = tmp_path / "back.json"
    result = run("convert", db_path, back, cwd=tmp_path, env=e2e_env)
    assert result.returncode == 0, result.stderr
    converted = json.loads(back.read_text())
    assert converted["events"] == reference["events"]
    assert converted["session"] == reference["session"] == session
    assert {e["type"] for e in converted["events"]} >= {"call", "line", "assign", "branch", "loop", "return",
                                                       "exception", "yield", "resume"}
    # The Python package reads the SQLite form too (its own reader, tracesnap._sqlite_trace).
    probe = subprocess.run(
        [sys.executable, "-c", "import json, sys, tracesnap; print(json.dumps(tracesnap.load_trace(sys.argv[1])))",
         str(db_path)], capture_output=True, text=True, env=dict(__import__("os").environ, PYTHONPATH=str(PACKAGE.parent)),
        timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == reference


@needs_recorder
def test_out_extension_picks_the_sink(run, home, tmp_path, e2e_env):
    script = tmp_path / "ext.py"
    script.write_text(PROGRAM)
    out = tmp_path / "ext.sqlite"
    result = run("record", script, "--out", out, "--no-library", cwd=tmp_path, env=e2e_env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:16] == b"SQLite format 3\x00"
    db = sqlite3.connect(str(out))
    assert db.execute("SELECT value FROM meta WHERE key = 'trace_id'").fetchone() == ("ext",)
    db.close()


@needs_recorder
def test_python_api_writes_sqlite_by_extension(tmp_path, e2e_env):
    script = tmp_path / "api.py"
    script.write_text(
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
    env = dict(__import__("os").environ, PYTHONPATH=str(PACKAGE.parent), **e2e_env)
    out = tmp_path / "api.sqlite"
    result = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    count = int(result.stdout.strip())
    db = sqlite3.connect(str(out))
    assert db.execute("SELECT count(*) FROM events").fetchone() == (count,)
    assert count > 10
    db.close()


@needs_recorder
def test_library_holds_sqlite_traces(run, home, tmp_path, e2e_env):
    script = tmp_path / "lib.py"
    script.write_text(PROGRAM)
    result = run("record", script, "--plugin", "sqlite", "--name", "in sqlite", cwd=tmp_path, env=e2e_env,
                 timeout=120)
    assert result.returncode == 0, result.stderr
    index = json.loads((home / "index.json").read_text())
    entry = index["traces"][-1]
    assert entry["name"] == "in sqlite" and entry["format"] == "sqlite" and entry.get("partial") is not True
    stored = home / "traces" / f"{entry['id']}.sqlite"
    assert stored.exists() and not (home / "traces" / f"{entry['id']}.json").exists()
    assert entry["event_count"] == sqlite3.connect(str(stored)).execute("SELECT count(*) FROM events").fetchone()[0]

    listing = run("list", cwd=tmp_path, env=e2e_env)
    assert entry["id"] in listing.stdout
    assert run("rename", entry["id"], "renamed", cwd=tmp_path, env=e2e_env).returncode == 0
    assert json.loads((home / "index.json").read_text())["traces"][-1]["name"] == "renamed"

    server = start_server(run, cwd=tmp_path, env=e2e_env)
    try:
        status, headers, body = server.request("GET", f"/api/traces/{entry['id']}")
        assert status == 200, body
        assert body["trace_id"] == "lib" and len(body["events"]) == entry["event_count"]
        assert body["session"]["library_id"] == entry["id"]
        status, _, summary = server.request("GET", f"/api/traces/{entry['id']}/summary")
        assert status == 200 and summary["format"] == "sqlite" and summary["paged"] is True
        assert summary["event_count"] == entry["event_count"] and summary["partial"] is False
        assert sum(summary["event_types"].values()) == entry["event_count"]
        status, _, page = server.request("GET", f"/api/traces/{entry['id']}/events?offset=10&limit=7")
        assert status == 200 and page["events"] == body["events"][10:17] and page["total"] == entry["event_count"]
    finally:
        stop_server(server)

    assert run("delete", entry["id"], "-f", cwd=tmp_path, env=e2e_env).returncode == 0
    assert not stored.exists()


@needs_recorder
def test_killed_recording_leaves_a_readable_partial_sqlite(run, home, tmp_path, e2e_env):
    script = tmp_path / "killed.py"
    script.write_text(PROGRAM)
    # ~11 events per round: enough rounds that the sink has committed (every 65536 events)
    result = run("record", script, "9000", "kill", "--no-library", "--plugin", "sqlite", cwd=tmp_path,
                 env=e2e_env, timeout=300)
    assert result.returncode in (-9, 137), (result.returncode, result.stderr[-2000:])
    assert not (tmp_path / "killed.sqlite").exists()
    partial = tmp_path / "killed.sqlite.partial"
    assert partial.exists()
    converted = tmp_path / "killed.json"
    result = run("convert", partial, converted, cwd=tmp_path, env=e2e_env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "partial" in result.stderr
    trace = json.loads(converted.read_text())
    assert trace["session"]["partial"] is True
    events = trace["events"]
    assert len(events) >= 65536 and len(events) % 65536 == 0
    assert [e["seq"] for e in events[:1000]] == list(range(1000))


def test_convert_round_trips_reference_traces(run, home, tmp_path):
    fixtures = sorted(p for p in REFERENCE_TRACES.glob("*.json") if not p.name.endswith("structure.json"))
    assert fixtures
    checked = 0
    for fixture in fixtures:
        try:
            original = json.loads(fixture.read_text())
        except ValueError:
            continue  # deliberately broken fixtures
        if not isinstance(original, dict) or not isinstance(original.get("events"), list):
            continue
        db_path = tmp_path / (fixture.stem + ".sqlite")
        result = run("convert", fixture, db_path, cwd=tmp_path)
        assert result.returncode == 0, (fixture, result.stderr)
        back = tmp_path / (fixture.stem + ".back.json")
        result = run("convert", db_path, back, cwd=tmp_path)
        assert result.returncode == 0, (fixture, result.stderr)
        again = json.loads(back.read_text())
        assert again["events"] == original["events"], fixture
        if original.get("session") is not None:
            assert again["session"] == original["session"], fixture
        assert again.get("trace_id") == original.get("trace_id")
        checked += 1
    assert checked >= 1


def test_convert_bad_input_is_one_line(run, home, tmp_path):
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(str(other))
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    for bad, message in [(other, "not a tracesnap SQLite trace"), (tmp_path / "missing.sqlite", "no such file")]:
        result = run("convert", bad, tmp_path / "out.json", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = run("convert", text, tmp_path / "out.sqlite", cwd=tmp_path)
    assert result.returncode == 2 and "not a JSON file" in result.stderr
    assert not (tmp_path / "out.sqlite").exists() and not (tmp_path / "out.sqlite.partial").exists()
    result = run("convert", text, tmp_path / "out.csv", cwd=tmp_path)
    assert result.returncode == 2 and ".sqlite" in result.stderr


def _big_trace(count):
    events = []
    for seq in range(count):
        kind = ("line", "assign", "loop")[seq % 3]
        event = {"seq": seq, "ts": seq * 137, "depth": 1, "type": kind}
        if kind == "assign":
            event.update({"var": "x", "scope": "local",
                          "value": {"repr": str(seq), "type": "int", "id": 9000 + seq, "truncated": False,
                                    "redacted": False},
                          "prev": None, "change_index": seq // 3})
        elif kind == "loop":
            event.update({"node_id": "main.for3", "iteration": seq // 3})
        event.update({"line": 3 + seq % 5, "file": "/app/main.py", "func": "main", "parent_seq": None,
                      "frame_id": 1})
        events.append(event)
    return {"version": "0.2", "trace_id": "big", "events": events,
            "session": {"kind": "script", "event_count": count}}


def test_paged_api_over_a_large_sqlite_file(run, home, tmp_path):
    count = 120_000
    source = tmp_path / "big.json"
    source.write_text(json.dumps(_big_trace(count)))
    db_path = tmp_path / "big.sqlite"
    result = run("convert", source, db_path, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    expected = json.loads(source.read_text())["events"]
    server = start_server(run, db_path, cwd=tmp_path)
    try:
        status, _, session = server.request("GET", "/api/session")
        trace_id = session["trace"]
        status, _, summary = server.request("GET", f"/api/traces/{trace_id}/summary")
        assert status == 200 and summary["event_count"] == count and summary["paged"] is True
        assert summary["event_types"] == {"line": 40_000, "assign": 40_000, "loop": 40_000}
        for offset in (0, 1023, 1024, 65_535, 119_990):
            status, _, page = server.request("GET", f"/api/traces/{trace_id}/events?offset={offset}&limit=25")
            assert status == 200
            assert page["events"] == expected[offset:offset + 25], offset
        status, _, page = server.request("GET", f"/api/traces/{trace_id}/events?offset={count}&limit=10")
        assert status == 200 and page["events"] == [] and page["total"] == count
        for query in ("offset=-1", "limit=0", "limit=10001", "offset=x"):
            status, _, body = server.request("GET", f"/api/traces/{trace_id}/events?{query}")
            assert status == 400 and "error" in body, query
        status, _, body = server.request("GET", f"/api/traces/{trace_id}/session")
        assert status == 200 and body == {"kind": "script", "event_count": count}
        status, headers, whole = server.request("GET", f"/api/traces/{trace_id}")
        assert status == 200 and whole["events"] == expected
        status, _, body = server.request("POST", f"/api/traces/{trace_id}/events")
        assert status == 405
    finally:
        stop_server(server)


def test_paged_api_over_a_json_trace(run, home, tmp_path):
    source = tmp_path / "small.json"
    source.write_text(json.dumps(_big_trace(50)))
    server = start_server(run, source, cwd=tmp_path)
    try:
        _, _, session = server.request("GET", "/api/session")
        trace_id = session["trace"]
        status, _, summary = server.request("GET", f"/api/traces/{trace_id}/summary")
        assert status == 200 and summary["format"] == "json" and summary["paged"] is True   # read from checkpoints
        status, _, page = server.request("GET", f"/api/traces/{trace_id}/events?offset=45&limit=10")
        assert status == 200 and [e["seq"] for e in page["events"]] == list(range(45, 50))
        status, _, body = server.request("GET", "/api/traces/nosuchid/summary")
        assert status == 404
    finally:
        stop_server(server)
