"""`GET /api/traces/<id>/columns` on the real server: the stream decodes (with the independent
reader in columns_format.py) to exactly the trace's events, session and members for every storage
form, odd values survive, errors get a status, and the encoding is cached and shared.
"""

import json
import math
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from columns_format import Decoder, frames
from conftest import REFERENCE_TRACES, seed

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Players" / "tests"))
import gen_trace  # noqa: E402

REFERENCES = sorted(p.name for p in REFERENCE_TRACES.glob("*.trace.json"))


def columns(server, trace_id):
    status, headers, body = server.request("GET", f"/api/traces/{trace_id}/columns")
    assert status == 200, body
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["X-Tracesnap-Columns"] == "1"
    return Decoder().feed(body), headers, body


def same(a, b, path="$"):
    """Equal as JSON values, with numbers compared by value and bools never equal to numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        assert a is b, path
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        assert a == b or (math.isnan(a) and math.isnan(b)), (path, a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (path, list(a), b)
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b and type(a) is type(b), (path, a, b)


def served_id(server):
    _, _, session = server.request("GET", "/api/session")
    return session["trace"]


@pytest.mark.parametrize("name", REFERENCES)
def test_reference_traces_round_trip(server_factory, tmp_path, name):
    path = tmp_path / name
    shutil.copy(REFERENCE_TRACES / name, path)
    original = json.loads(path.read_text())
    server = server_factory(path, cwd=tmp_path)
    decoded, _, body = columns(server, served_id(server))
    # a 0.1 trace has its session before the events: the head carries it
    same(decoded.head["session"], original["session"])
    same(decoded.trace()["events"], original["events"])
    same(decoded.tail["session"], original["session"])
    assert decoded.head["members"] == {k: v for k, v in original.items() if k not in ("events", "session")}
    assert decoded.tail["partial"] is False and decoded.tail["event_count"] == len(original["events"])
    assert decoded.error is None


def test_odd_values_and_shapes_round_trip(server_factory, tmp_path):
    events = []
    odd = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), -(2 ** 31) + 1, 2 ** 31, 2 ** 53, 2 ** 53 + 1, 2 ** 63 - 1, -(2 ** 63),
           2 ** 70, -(2 ** 70), 1.5, -0.25, 1e300, 1e-300, 3.0, None, True, False, "", "é \u2028 \"quoted\" \\ </script>",
           "\U0001f600", [], {}, [1, [2, {"a": None}]], {"k": {"z": [True]}}]
    for i in range(5000):
        v = odd[i % len(odd)]
        e = {"seq": i, "ts": i * 1000, "type": "assign", "var": "v%d" % (i % 7), "value": {"repr": repr(v), "type": "x"},
             "odd": v, "line": i % 50}
        if i % 3 == 0:
            e = {"type": "line", "seq": i, "line": i % 50, "odd": v}             # another shape, keys reordered
        if i % 11 == 0:
            e["ünïcode key"] = {"x": i}
        if i % 13 == 0:
            e["mixed"] = i if i % 2 else "text %d" % i                            # int or string in one column
        events.append(e)
    events[17] = 42                  # not an object: shown as {"type": "unknown", "seq": i}
    events[18] = "a string"
    events[19] = {}
    trace = {"version": "0.2", "trace_id": "odd", "events": events, "session": {"kind": "script", "note": "x"}}
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(trace, ensure_ascii=False))
    server = server_factory(path, cwd=tmp_path)
    decoded, _, _ = columns(server, served_id(server))
    expected = [e if isinstance(e, dict) else {"type": "unknown", "seq": i} for i, e in enumerate(events)]
    same(decoded.events, expected)
    # the session comes last in the file: it was found at its end and sent in the head
    assert decoded.head["session"] == trace["session"]
    # chunks: a small first one (first render), then big ones
    assert [c[1] for c in decoded.chunks] == [2048, 2952]
    assert [c[0] for c in decoded.chunks] == [0, 2048]
    # strings are sent once: the table is much smaller than the events
    assert len(decoded.strings) < len(events) / 3


def test_sqlite_and_ndjson_forms_stream_the_same_trace(server_factory, run, tmp_path):
    reference = REFERENCE_TRACES / "sample_complex.trace.json"
    original = json.loads(reference.read_text())
    db = tmp_path / "t.sqlite"
    assert run("convert", reference, db, cwd=tmp_path).returncode == 0
    server = server_factory(db, cwd=tmp_path)
    trace_id = served_id(server)
    decoded, _, _ = columns(server, trace_id)
    _, _, document = server.request("GET", f"/api/traces/{trace_id}")
    same(decoded.events, document["events"])
    same(decoded.tail["session"], document["session"])
    assert len(decoded.events) == len(original["events"])
    assert decoded.head["event_count"] == len(original["events"])   # known up front

    stream = tmp_path / "s.ndjson"
    lines = [{"tracesnap": "ndjson", "version": "0.2", "trace_id": "streamed", "session": {"kind": "script"}}]
    lines += original["events"]
    lines.append({"end": True, "session": {"kind": "script", "partial": False}})
    stream.write_text("".join(json.dumps(line) + "\n" for line in lines))
    server = server_factory(stream, cwd=tmp_path)
    decoded, _, _ = columns(server, served_id(server))
    same(decoded.events, original["events"])
    assert decoded.head["members"]["trace_id"] == "streamed"


def test_compact_form_streams_the_same_trace_and_a_cut_one_its_prefix(server_factory, run, tmp_path):
    reference = REFERENCE_TRACES / "sample_complex.trace.json"
    original = json.loads(reference.read_text())
    packed = tmp_path / "t.tsnap"
    assert run("convert", reference, packed, cwd=tmp_path).returncode == 0
    server = server_factory(packed, cwd=tmp_path)
    trace_id = served_id(server)
    decoded, _, _ = columns(server, trace_id)
    _, _, document = server.request("GET", f"/api/traces/{trace_id}")
    same(decoded.events, document["events"])
    assert decoded.events == original["events"]   # the compact form keeps values, not key order
    same(decoded.tail["session"], document["session"])
    assert decoded.tail["partial"] is False and decoded.error is None

    data = packed.read_bytes()
    cut = tmp_path / "cut.tsnap"
    cut.write_bytes(data[: len(data) // 4])   # the events end before half of the file
    server = server_factory(cut, cwd=tmp_path)
    decoded, _, _ = columns(server, served_id(server))
    assert 0 < len(decoded.events) < len(original["events"])
    assert decoded.events == original["events"][: len(decoded.events)]
    assert decoded.tail["partial"] is True and decoded.tail["partial_reason"] == "truncated"


def test_truncated_trace_streams_its_complete_events(server_factory, tmp_path):
    text = json.dumps(gen_trace.generate(3000))
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2])
    server = server_factory(cut, cwd=tmp_path)
    trace_id = served_id(server)
    decoded, _, _ = columns(server, trace_id)
    _, _, repaired = server.request("GET", f"/api/traces/{trace_id}")
    same(decoded.events, repaired["events"])
    assert decoded.tail["partial"] is True and decoded.tail["partial_reason"] == "truncated"
    assert decoded.tail["session"]["partial"] is True
    assert decoded.error is None


def test_errors_have_a_status(server_factory, home, tmp_path):
    bad = seed(home, "bad", body='{"version": "0.2", "events": [{"seq": 0,, }]}')
    scalar = seed(home, "scalar", body="[1, 2, 3]")
    good = seed(home, "good", events=3)
    server = server_factory(cwd=tmp_path)
    status, _, body = server.request("GET", f"/api/traces/{bad['id']}/columns")
    # the broken event comes after the head: the stream ends with an error frame
    assert status == 200
    kinds = [k for k, _ in frames(body)]
    assert kinds == [1, 4], kinds
    assert "expected a key" in json.loads(list(frames(body))[-1][1])["error"]
    assert not list((home / "cache" / "columns").glob("*.tscol"))   # failures are not cached
    status, _, body = server.request("GET", f"/api/traces/{scalar['id']}/columns")
    assert status == 422 and "not" in body["error"]
    assert server.request("GET", "/api/traces/nosuchtrace/columns")[0] == 404
    assert server.request("GET", "/api/traces/.hidden/columns")[0] == 400
    assert server.request("GET", "/api/traces/..%2F..%2Fetc/columns")[0] in (400, 404)
    status, headers, _ = server.request("POST", f"/api/traces/{good['id']}/columns")
    assert status == 405 and headers["Allow"] == "GET"
    # a foreign Host is refused here too
    assert server.request("GET", f"/api/traces/{good['id']}/columns", host="evil.example:80")[0] in (400, 403, 421)


def test_encoded_once_cached_and_shared(server_factory, home, tmp_path):
    path = tmp_path / "big.json"
    gen_trace.write_large(150_000, path)
    server = server_factory(path, cwd=tmp_path)   # `view FILE` starts encoding at once
    trace_id = served_id(server)
    results = [None] * 3

    def get(k):
        results[k] = server.request("GET", f"/api/traces/{trace_id}/columns")

    threads = [threading.Thread(target=get, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bodies = [r[2] for r in results]
    assert all(r[0] == 200 for r in results)
    assert bodies[0] == bodies[1] == bodies[2]
    decoded = Decoder().feed(bodies[0])
    assert len(decoded.events) == json.loads(path.read_text())["session"]["event_count"]
    assert len(bodies[0]) < path.stat().st_size / 6     # values sent once, numbers as binary
    cache = home / "cache" / "columns"
    deadline = time.time() + 30
    while time.time() < deadline and not list(cache.glob("*.tscol")):
        time.sleep(0.05)
    files = list(cache.glob("*.tscol"))
    assert len(files) == 1 and files[0].read_bytes() == bodies[0]
    assert not list(cache.glob("*.partial"))
    status, headers, again = server.request("GET", f"/api/traces/{trace_id}/columns")
    assert headers["X-Tracesnap-Columns-Cache"] == "hit" and again == bodies[0]
    # a changed file is a new version: encoded again
    trace = json.loads(path.read_text())
    trace["events"][5]["line"] = 999
    path.write_text(json.dumps(trace))
    os.utime(path, (time.time() + 5, time.time() + 5))
    decoded, headers, _ = columns(server, trace_id)
    assert decoded.events[5]["line"] == 999
    assert headers["X-Tracesnap-Columns-Cache"] == "miss"


def test_json_pages_session_and_summary_read_no_whole_trace(server_factory, tmp_path):
    """The paged API of a JSON trace: pages from the nearest checkpoint (every 1024th event)."""
    trace = gen_trace.generate(5000)
    path = tmp_path / "paged.json"
    path.write_text(json.dumps(trace))
    server = server_factory(path, cwd=tmp_path)
    trace_id = served_id(server)
    events = trace["events"]
    for offset, limit in [(0, 1), (0, 1000), (1023, 3), (1024, 1), (1025, 2048), (4990, 100), (len(events) - 1, 1)]:
        status, _, page = server.request("GET", f"/api/traces/{trace_id}/events?offset={offset}&limit={limit}")
        assert status == 200
        assert page["total"] == len(events) and page["offset"] == offset
        same(page["events"], events[offset: offset + limit])
    status, _, page = server.request("GET", f"/api/traces/{trace_id}/events?offset={len(events)}&limit=10")
    assert status == 200 and page["events"] == []
    status, _, session = server.request("GET", f"/api/traces/{trace_id}/session")
    assert status == 200 and session == trace["session"]
    status, _, summary = server.request("GET", f"/api/traces/{trace_id}/summary")
    assert summary["event_count"] == len(events) and summary["partial"] is False
    # a truncated file: its complete events, and a partial session
    text = json.dumps(trace)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) * 2 // 3])
    server = server_factory(cut, cwd=tmp_path)
    trace_id = served_id(server)
    _, _, document = server.request("GET", f"/api/traces/{trace_id}")
    n = len(document["events"])
    status, _, page = server.request("GET", f"/api/traces/{trace_id}/events?offset={n - 5}&limit=100")
    assert page["total"] == n
    same(page["events"], document["events"][n - 5:])
    status, _, session = server.request("GET", f"/api/traces/{trace_id}/session")
    assert session["partial"] is True and session["event_count"] == n
