"""The FastAPI integration against a real FastAPI app served by uvicorn on 127.0.0.1."""

import concurrent.futures
import textwrap

import pytest

from tsutil import needs_native
from webapps import AppServer, traces_in

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


if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
'''


@pytest.fixture
def app(tmp_path):
    path = tmp_path / "fastapi_shop.py"
    path.write_text(textwrap.dedent(APP))
    servers = []

    def start(**env):
        server = AppServer(path, {"TRACESNAP_HOME": tmp_path / "home", **env}, cwd=tmp_path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


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
