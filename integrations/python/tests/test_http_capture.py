"""Outbound HTTP capture (the requests, urllib and httpx plugins) against a real HTTP server on
127.0.0.1 started by the test: one extcall per exchange, real statuses, errors, redirects,
streaming left unread, secrets redacted, and the program's behaviour unchanged."""

import http.server
import json
import os
import threading

import pytest

from tsutil import needs_native, run_launched, run_plain, strip_ours
from webapps import free_port

pytestmark = needs_native

SECRET = "tok-" + os.urandom(6).hex()  # reaches the program only through its environment


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self, code, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", f"session={SECRET}")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/missing"):
            self._reply(404, b"not here")
        elif self.path.startswith("/broken"):
            self._reply(500, b"broken")
        elif self.path.startswith("/big"):
            self._reply(200, b"x" * 100_000)
        else:
            self._reply(200, b"hello")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self._reply(201, self.rfile.read(length))

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def record(tmp_path, source, plugins=None, env=None):
    script = tmp_path / "prog.py"
    script.write_text(source)
    out = tmp_path / "trace.json"
    child_env = {"SECRET": SECRET, **(env or {})}
    plain = run_plain(script, cwd=tmp_path, env=child_env)
    traced = run_launched(script, cwd=tmp_path, env=child_env, out=str(out), plugins=plugins)
    assert traced.returncode == plain.returncode, traced.stderr.decode()
    assert traced.stdout == plain.stdout  # the program's behaviour is unchanged
    assert strip_ours(traced.stderr) == strip_ours(plain.stderr)
    text = out.read_text()
    assert SECRET not in text  # no secret byte reaches the trace
    trace = json.loads(text)
    return trace, [e for e in trace["events"] if e["type"] == "extcall"], traced


def test_urllib_statuses_errors_and_redirects(tmp_path, server):
    trace, calls, _ = record(tmp_path, f'''
import os, urllib.request, urllib.error
base = "{server}"
def get(path):
    with urllib.request.urlopen(base + path) as response:
        return response.status, len(response.read())
print(get("/ok?api_key=" + os.environ["SECRET"] + "&page=2"))
print(get("/redirect"))
try:
    get("/missing")
except urllib.error.HTTPError as err:
    print("http error", err.code)
try:
    urllib.request.urlopen("http://127.0.0.1:{free_port()}/")
except urllib.error.URLError as err:
    print("refused", type(err).__name__)
req = urllib.request.Request(base + "/orders", data=b"abc", headers={{"Authorization": "Bearer " + os.environ["SECRET"]}})
print(urllib.request.urlopen(req).status)
''')
    assert [(c["verb"], c["status"]) for c in calls] == [("GET", 200), ("GET", 200), ("GET", 404), ("GET", None), ("POST", 201)]
    ok, redirected, missing, refused, posted = calls
    assert ok["target"].endswith("/ok?api_key=<redacted>&page=2")
    assert ok["response_size"] == 5 and ok["response_headers"]["Set-Cookie"] == "<redacted>"
    assert ok["func"] == "get" and ok["kind"] == "http" and ok["duration_ms"] >= 0
    assert ok["ended_ts"] >= ok["started_ts"]
    line_events = {e["seq"]: e for e in trace["events"] if e["type"] == "line"}
    assert line_events[ok["call_seq"]]["line"] == ok["line"]  # the line that made the call
    assert redirected["target"].endswith("/redirect") and redirected["status"] == 200
    assert missing["status"] == 404 and missing["error"].startswith("HTTPError")
    assert refused["status"] is None and "refused" in refused["error"].lower()
    assert posted["request_headers"]["Authorization"] == "<redacted>"


def test_requests_send_and_stream(tmp_path, server):
    pytest.importorskip("requests")
    _, calls, _ = record(tmp_path, f'''
import os, requests
base = "{server}"
print(requests.get(base + "/ok", headers={{"X-Api-Key": os.environ["SECRET"]}}).status_code)
print(requests.post(base + "/orders", json={{"n": 1}}).status_code)
print(requests.get(base + "/redirect").status_code)
with requests.Session() as session:
    print(session.get(base + "/broken").status_code)
streamed = requests.get(base + "/big", stream=True)
print(streamed.status_code, streamed.raw.tell())
print(len(streamed.content))
try:
    requests.get("http://127.0.0.1:{free_port()}/", timeout=5)
except requests.ConnectionError:
    print("refused")
''')
    assert [(c["verb"], c["status"]) for c in calls] == [
        ("GET", 200), ("POST", 201), ("GET", 200), ("GET", 500), ("GET", 200), ("GET", None)]
    ok, posted, redirected, broken, streamed, refused = calls
    assert ok["request_headers"]["X-Api-Key"] == "<redacted>" and ok["response_size"] == 5
    assert redirected["target"].endswith("/redirect")  # one event for the exchange, final status
    assert streamed["response_size"] == 100_000  # from Content-Length: the capture read nothing
    assert refused["error"].startswith("ConnectionError")


def test_httpx_sync_and_async_when_enabled(tmp_path, server):
    pytest.importorskip("httpx")
    source = f'''
import asyncio, httpx
base = "{server}"
with httpx.Client() as client:
    print(client.get(base + "/ok?token=abc").status_code)
    print(client.get(base + "/redirect", follow_redirects=True).status_code)
    with client.stream("GET", base + "/big") as response:
        print(response.status_code)
async def main():
    async with httpx.AsyncClient() as client:
        results = await asyncio.gather(client.get(base + "/ok"), client.post(base + "/orders", content=b"x"))
        return [r.status_code for r in results]
print(asyncio.run(main()))
'''
    _, off, _ = record(tmp_path, source)
    assert off == []  # httpx is opt-in
    _, calls, _ = record(tmp_path, source, plugins=["httpx"])
    assert sorted((c["verb"], c["status"]) for c in calls) == sorted(
        [("GET", 200), ("GET", 200), ("GET", 200), ("GET", 200), ("POST", 201)])
    assert calls[0]["target"].endswith("/ok?token=<redacted>")
    assert calls[1]["target"].endswith("/redirect") and calls[1]["status"] == 200
    assert calls[2]["response_size"] == 100_000


def test_capture_imports_nothing_and_works_when_imported_later(tmp_path, server):
    pytest.importorskip("requests")
    _, calls, traced = record(tmp_path, f'''
import sys
print("requests" in sys.modules, "httpx" in sys.modules)
def late():
    import requests
    return requests.get("{server}/ok").status_code
print(late())
''')
    assert traced.stdout.decode().splitlines() == ["False False", "200"]
    assert [(c["func"], c["status"]) for c in calls] == [("late", 200)]


def test_a_default_capture_can_be_turned_off(tmp_path, server):
    _, calls, _ = record(tmp_path, f'''
import urllib.request
print(urllib.request.urlopen("{server}/ok").status)
''', plugins=["-urllib"])
    assert calls == []
