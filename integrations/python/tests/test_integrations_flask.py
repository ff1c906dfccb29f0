"""The Flask integration against a real Flask app served by werkzeug on 127.0.0.1."""

import concurrent.futures

import pytest

from tsutil import needs_native
from webapps import AppServers, library_entries, traces_in

pytest.importorskip("flask")
pytestmark = needs_native

APP = '''
import sys
import threading
from flask import Flask, abort, request
from tracesnap.integrations.flask import traced

app = Flask(__name__)
app.config["TRACESNAP"] = {"output_dir": sys.argv[2] if len(sys.argv) > 2 else "traces", "source_files": [__file__]}


def total_of(items):
    total = 0
    for item in items:
        total += item
    return total


@app.route("/checkout")
@traced
def checkout():
    items = [int(x) for x in request.args.get("items", "1,2,3").split(",")]
    total = total_of(items)
    return {"total": total}


@app.route("/orders", methods=["POST"])
@traced(name="create-order")
def create_order():
    order = request.get_json()
    return {"id": 7, "order": order}, 201


@app.route("/missing/<int:item>")
@traced
def missing(item):
    abort(404)


@app.route("/boom")
@traced
def boom():
    value = 1
    raise ValueError("broken on purpose")


@app.route("/async")
@traced
async def async_view():
    doubled = total_of([1, 2]) * 2
    return {"doubled": doubled}


@app.route("/fetch")
@traced
def fetch():
    import urllib.request
    with urllib.request.urlopen(request.args["url"]) as response:
        body = response.read()
    return {"fetched": len(body)}


BARRIER = threading.Barrier(8)


def tally(n):
    seen = []
    for step in range(3):
        seen = seen + [n * 10 + step]
    return seen


@app.route("/together/<int:n>")
@traced
def together(n):
    first = tally(n)
    BARRIER.wait(timeout=30)  # all eight requests are in flight at once
    second = tally(n + 100)
    return {"n": n, "last": second[-1], "first": first[-1]}


@app.route("/fetch-together/<int:n>")
@traced
def fetch_together(n):
    import urllib.request
    BARRIER.wait(timeout=30)
    with urllib.request.urlopen(f"{request.args['base']}/checkout?items={n},{n}") as response:
        body = response.read()
    return {"n": n, "fetched": len(body)}


@traced
def inner_step(x):
    doubled = x * 2
    return doubled


@app.route("/nested")
@traced
def nested():
    value = inner_step(21)
    return {"value": value}


@app.route("/probe")
def probe():
    return {"wrapped": hasattr(checkout, "__wrapped__"), "native": "tracesnap._recording" in sys.modules}


if __name__ == "__main__":
    from werkzeug.serving import make_server
    make_server("127.0.0.1", int(sys.argv[1]), app, threaded=True).serve_forever()
'''


@pytest.fixture
def app(tmp_path):
    with AppServers(tmp_path, "shop/flask_shop.py", APP,
                    files={"shop/.tracesnap.toml": 'project = "shop \\"web\\""\n'}) as start:
        yield start


def test_a_request_is_recorded_with_its_real_status(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    assert server.get("/checkout?items=4,5") == (200, '{"total":9}\n')
    (trace,) = traces_in(tmp_path / "traces")
    session = trace["session"]
    assert session["kind"] == "request" and session["entry"] == "checkout"
    request = session["request"]
    assert {k: request[k] for k in ("method", "path", "route", "query", "status")} == {
        "method": "GET", "path": "/checkout", "route": "/checkout", "query": "items=4,5", "status": 200}
    assert request["duration_ms"] > 0
    calls = [e["func"] for e in trace["events"] if e["type"] == "call"]
    assert calls == ["checkout", "<listcomp>", "total_of"] or calls == ["checkout", "total_of"]
    total = [e for e in trace["events"] if e["type"] == "assign" and e["var"] == "total" and e["func"] == "total_of"]
    assert total[-1]["value"]["repr"] == "9"
    assert trace["trace_id"].startswith("checkout-")


def test_statuses_are_the_ones_the_client_gets(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    assert server.get("/orders", method="POST", body={"sku": "A1"})[0] == 201
    assert server.get("/missing/3")[0] == 404
    assert server.get("/boom")[0] == 500
    traces = {t["session"]["entry"]: t for t in traces_in(tmp_path / "traces")}
    assert traces["create_order"]["session"]["request"]["status"] == 201
    assert traces["create_order"]["trace_id"].startswith("create-order-")
    assert traces["missing"]["session"]["request"]["status"] == 404
    boom = traces["boom"]["session"]["request"]
    assert boom["status"] == 500 and "broken on purpose" in boom["error"]
    assert any(e["type"] == "exception" and e["func"] == "boom" for e in traces["boom"]["events"])


def test_async_views_are_recorded(app, tmp_path):
    pytest.importorskip("asgiref")
    server = app(TRACESNAP_ENABLED="1")
    assert server.get("/async")[0] == 200
    (trace,) = traces_in(tmp_path / "traces")
    assert trace["session"]["request"]["status"] == 200
    assert [e["func"] for e in trace["events"] if e["type"] == "call"][:2] == ["async_view", "total_of"]


def test_traces_land_in_the_library_with_unique_ids(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    for _ in range(5):
        assert server.get("/checkout")[0] == 200
    traces = traces_in(tmp_path / "traces")
    assert len({t["trace_id"] for t in traces}) == 5
    entries = library_entries(tmp_path / "home")
    assert len(entries) == 5 and {e["kind"] for e in entries} == {"request"}
    assert {e["project"] for e in entries} == {'shop "web"'}


def test_disabled_is_a_true_no_op(app, tmp_path):
    server = app()
    assert server.get("/checkout")[0] == 200
    assert server.get("/probe") == (200, '{"native":false,"wrapped":false}\n')
    assert not (tmp_path / "traces").exists()
    assert library_entries(tmp_path / "home") == []


def test_a_recording_failure_never_fails_the_request(app, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the output directory should be")
    server = app(args=[blocker], TRACESNAP_ENABLED="1")
    assert server.get("/checkout") == (200, '{"total":6}\n')
    stderr = server.stop()
    assert "tracesnap: checkout: recording could not start" in stderr
    assert "Traceback" not in stderr


def test_outbound_calls_appear_in_the_request(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    other = app()  # an unrecorded app instance to call out to
    status, _ = server.get(f"/fetch?url=http://127.0.0.1:{other.port}/checkout")
    assert status == 200
    (trace,) = traces_in(tmp_path / "traces")
    (call,) = [e for e in trace["events"] if e["type"] == "extcall"]
    assert call["func"] == "fetch" and call["status"] == 200 and call["verb"] == "GET"
    (outbound,) = trace["session"]["request"]["outbound"]
    assert outbound["seq"] == call["seq"] and outbound["target"].endswith("/checkout") and outbound["status"] == 200


def test_eight_concurrent_requests_give_eight_complete_separate_traces(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: server.get(f"/together/{n}"), range(8)))
    assert [status for status, _ in answers] == [200] * 8
    traces = traces_in(tmp_path / "traces")
    assert len(traces) == 8 and len({t["trace_id"] for t in traces}) == 8
    by_n = {}
    for trace in traces:
        events = trace["events"]
        assert [e["seq"] for e in events] == list(range(len(events)))
        assert trace["session"]["partial"] is False
        calls = [e for e in events if e["type"] == "call"]
        returns = [e for e in events if e["type"] == "return"]
        assert [c["func"] for c in calls] == ["together", "tally", "tally"]
        assert [r["func"] for r in returns] == ["tally", "tally", "together"]
        n = int(calls[0]["args"]["n"]["repr"])
        assert {c["frame_id"] for c in calls} | {r["frame_id"] for r in returns} == {c["frame_id"] for c in calls}
        # no cross-talk: every value seen belongs to this request
        assert [c["args"]["n"]["repr"] for c in calls[1:]] == [str(n), str(n + 100)]
        steps = {e["value"]["repr"] for e in events if e["type"] == "assign" and e["var"] == "step"}
        assert steps == {"0", "1", "2"}
        tallies = [int(r["value"]["repr"].strip("[]").split(", ")[-1]) for r in returns if r["func"] == "tally"]
        assert tallies == [n * 10 + 2, (n + 100) * 10 + 2]
        request = trace["session"]["request"]
        assert request["path"] == f"/together/{n}" and request["status"] == 200 and request["route"] == "/together/<int:n>"
        by_n[n] = trace
    assert sorted(by_n) == list(range(8))
    entries = library_entries(tmp_path / "home")
    assert len(entries) == 8 and {e["kind"] for e in entries} == {"request"}
    assert {e["trace_id"] for e in entries} == {t["trace_id"] for t in traces}


def test_concurrent_requests_each_list_only_their_own_outbound_calls(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    other = app()  # an unrecorded app instance to call out to
    base = f"http://127.0.0.1:{other.port}"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: server.get(f"/fetch-together/{n}?base={base}"), range(8)))
    assert [status for status, _ in answers] == [200] * 8
    traces = traces_in(tmp_path / "traces")
    assert len(traces) == 8
    for trace in traces:
        (call,) = [e for e in trace["events"] if e["type"] == "call" and e["func"] == "fetch_together"]
        n = int(call["args"]["n"]["repr"])
        (extcall,) = [e for e in trace["events"] if e["type"] == "extcall"]
        assert extcall["target"] == f"{base}/checkout?items={n},{n}" and extcall["status"] == 200
        (outbound,) = trace["session"]["request"]["outbound"]
        assert outbound["seq"] == extcall["seq"] and outbound["target"] == extcall["target"]


def test_a_traced_function_inside_a_recorded_request_is_part_of_its_trace(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    assert server.get("/nested") == (200, '{"value":42}\n')
    (trace,) = traces_in(tmp_path / "traces")
    assert [e["func"] for e in trace["events"] if e["type"] == "call"] == ["nested", "inner_step"]
