"""The FastAPI integration against a real FastAPI app served by uvicorn on 127.0.0.1."""

import concurrent.futures
import json
import os
import subprocess
import sys

import pytest

from tsutil import PACKAGE_DIR, needs_native
from webapps import AppServers, traces_in

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytestmark = needs_native

APP = '''
import asyncio
import sys
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from tracesnap.integrations.fastapi import configure, traced

app = FastAPI()
configure(output_dir="traces", source_files=[__file__], trace_id_prefix=None)


def price_of(items):
    total = 0
    for item in items:
        total += item
    return total


@app.get("/checkout")
@traced
async def checkout(request: Request, items: str = "1,2,3"):
    numbers = [int(x) for x in items.split(",")]
    await asyncio.sleep(0.05)
    total = price_of(numbers)
    return {"total": total}


@app.get("/sync")
@traced(name="sync-view")
def sync_view(request: Request):
    total = price_of([4, 5])
    return JSONResponse({"total": total}, status_code=202)


@app.get("/teapot")
@traced
async def teapot(request: Request):
    raise HTTPException(status_code=418, detail="short and stout")


@app.get("/plain")
async def plain():
    await asyncio.sleep(0.05)
    total = price_of([100])
    return {"total": total}


ARRIVED = []
ALL_HERE = None


def step_total(n, step):
    value = n * 10 + step
    return value


@app.get("/together/{n}")
@traced
async def together(request: Request, n: int):
    global ALL_HERE
    if ALL_HERE is None:
        ALL_HERE = asyncio.Event()
    ARRIVED.append(n)
    if len(ARRIVED) == 8:
        ALL_HERE.set()
    await asyncio.wait_for(ALL_HERE.wait(), 30)  # all eight requests are in flight on the loop
    total = 0
    for step in range(3):
        total += step_total(n, step)
        await asyncio.sleep(0.01)
    return {"n": n, "total": total}


if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
'''


@pytest.fixture
def app(tmp_path):
    with AppServers(tmp_path, "fastapi_shop.py", APP) as start:
        yield start


def test_async_and_sync_endpoints(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    assert server.get("/checkout?items=2,5") == (200, '{"total":7}')
    assert server.get("/sync")[0] == 202
    assert server.get("/teapot")[0] == 418
    traces = {t["session"]["entry"]: t for t in traces_in(tmp_path / "traces")}
    request = traces["checkout"]["session"]["request"]
    assert {k: request[k] for k in ("method", "path", "route", "query", "status")} == {
        "method": "GET", "path": "/checkout", "route": "/checkout", "query": "items=2,5", "status": 200}
    assert any(e["type"] == "return" and e["func"] == "price_of" and e["value"]["repr"] == "7"
               for e in traces["checkout"]["events"])
    assert traces["sync_view"]["session"]["request"]["status"] == 202
    assert traces["sync_view"]["trace_id"].startswith("sync-view-")
    assert traces["teapot"]["session"]["request"]["status"] == 418


def test_an_async_trace_leaves_out_other_requests_on_the_loop(app, tmp_path):
    """While the traced endpoint awaits, the event loop serves an untraced request that runs the
    same code (price_of): none of it may appear in the trace."""
    server = app(TRACESNAP_ENABLED="1")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        traced = pool.submit(server.get, "/checkout?items=1,1")
        others = [pool.submit(server.get, "/plain") for _ in range(3)]
        assert traced.result()[0] == 200 and all(f.result()[0] == 200 for f in others)
    (trace,) = traces_in(tmp_path / "traces")
    returns = [e["value"]["repr"] for e in trace["events"] if e["type"] == "return" and e["func"] == "price_of"]
    assert returns == ["2"]
    assert not any(e["func"] == "plain" for e in trace["events"])


def _complete(trace, function):
    """The calls of ``function`` in ``trace``, after checking that every frame that starts or
    resumes also returns or suspends (a complete trace, nothing cut off by another request)."""
    events = trace["events"]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert trace["session"]["partial"] is False
    open_frames = {}
    for event in events:
        if event["type"] in ("call", "resume"):
            open_frames[event["frame_id"]] = event["func"]
        elif event["type"] in ("return", "yield"):
            assert open_frames.pop(event["frame_id"]) == event["func"]
    assert open_frames == {}
    return [e for e in events if e["type"] == "call" and e["func"] == function]


def test_eight_concurrent_async_requests_on_one_loop_give_eight_traces(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: server.get(f"/together/{n}"), range(8)))
    assert [status for status, _ in answers] == [200] * 8
    traces = [t for t in traces_in(tmp_path / "traces") if t["session"]["entry"] == "together"]
    assert len(traces) == 8 and len({t["trace_id"] for t in traces}) == 8
    seen = set()
    for trace in traces:
        (call,) = _complete(trace, "together")
        n = int(call["args"]["n"]["repr"])
        seen.add(n)
        steps = [e for e in trace["events"] if e["func"] == "step_total"]
        assert [e["args"]["n"]["repr"] for e in steps if e["type"] == "call"] == [str(n)] * 3
        returns = [e["value"]["repr"] for e in steps if e["type"] == "return"]
        assert returns == [str(n * 10), str(n * 10 + 1), str(n * 10 + 2)]
        (final,) = [e for e in trace["events"] if e["type"] == "return" and e["func"] == "together"]
        assert final["value"]["repr"] == repr({"n": n, "total": 30 * n + 3})
        request = trace["session"]["request"]
        assert request["path"] == f"/together/{n}" and request["status"] == 200
    assert seen == set(range(8))


GATHER = '''
import asyncio
import sys
from tracesnap.integrations.fastapi import configure, traced

configure(output_dir=sys.argv[1], source_files=[__file__])


def square(x):
    result = x * x
    return result


@traced
async def job(n):
    total = 0
    for step in range(4):
        total += square(n + step)
        await asyncio.sleep(0)  # hand the loop to the other jobs
    return total


async def main():
    results = await asyncio.gather(*(job(n) for n in range(5)))
    print(results)


asyncio.run(main())
'''


def test_asyncio_gather_of_traced_coroutines_gives_separate_traces(tmp_path):
    script = tmp_path / "gather_jobs.py"
    script.write_text(GATHER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACESNAP_", "PYTEST_"))}
    env.update({"PYTHONPATH": str(PACKAGE_DIR.parent), "TRACESNAP_ENABLED": "1",
                "TRACESNAP_HOME": str(tmp_path / "home")})
    if os.environ.get("TRACESNAP_LIB_DIR"):
        env["TRACESNAP_LIB_DIR"] = os.environ["TRACESNAP_LIB_DIR"]
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), timeout=120)
    expected = [sum((n + s) ** 2 for s in range(4)) for n in range(5)]
    assert done.returncode == 0 and done.stdout == f"{expected}\n", done.stderr
    assert "tracesnap:" not in done.stderr
    traces = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")]
    assert len(traces) == 5
    totals = set()
    for trace in traces:
        (call,) = _complete(trace, "job")
        n = int(call["args"]["n"]["repr"])
        squares = [e["args"]["x"]["repr"] for e in trace["events"] if e["type"] == "call" and e["func"] == "square"]
        assert squares == [str(n + s) for s in range(4)]
        assert sum(1 for e in trace["events"] if e["type"] == "yield" and e["func"] == "job") == 4
        (final,) = [e for e in trace["events"] if e["type"] == "return" and e["func"] == "job"]
        totals.add(int(final["value"]["repr"]))
    assert totals == set(expected)
    entries = json.loads((tmp_path / "home" / "index.json").read_text())["traces"]
    assert len(entries) == 5 and {e["kind"] for e in entries} == {"request"}
