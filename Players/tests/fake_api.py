"""TEST-ONLY stand-in for the tracesnap Swift web server.

This is **not** the product server. It implements just enough of the HTTP
contract the players code against (see docs/players.md, "Server API") so
that the browser tests can run before (and independently of) the Swift
server: static files from ``Players/`` with the token injected into
``index.html``, the library API, sources, session, and a scripted fake
record job with SSE. Contract tests: if the Swift server and this file
disagree, the contract in docs/players.md wins and both must follow it.

Run by hand: ``python fake_api.py [port]`` then open http://127.0.0.1:port/.
"""
from __future__ import annotations

import json
import os
import queue
import re
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

HERE = Path(__file__).resolve().parent
PLAYERS = HERE.parent
REFERENCE = Path(os.environ.get("TRACESNAP_REFERENCE", "/work/shared/reference/traces"))
if not REFERENCE.exists():
    # CI runs in a fresh clone with shared/ beside it
    alt = PLAYERS.parent.parent / "shared" / "reference" / "traces"
    REFERENCE = alt if alt.exists() else REFERENCE
TOKEN = "test-token-" + uuid.uuid4().hex[:8]
MIME = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
        ".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json"}


COLUMNS_CACHE: dict = {}   # id -> (trace bytes, encoded stream): encoded once, like the server's cache


def encode_columns(trace: dict, first_chunk: int = 2048, chunk: int = 16384) -> bytes:
    """The columns stream of a parsed trace (docs/players.md, "Wire format"), the way the Swift
    server encodes it, but simply: integer columns as i32, everything else as string ids. A second,
    independent writer of the format, so the players' reader is checked against the spec."""
    import struct

    def frame(kind: int, payload: bytes) -> bytes:
        out = struct.pack("<II", kind, len(payload)) + payload
        return out + b"\0" * (-len(out) % 8)

    def pad(b: bytearray) -> None:
        b.extend(b"\0" * (-len(b) % 8))

    strings: dict[str, int] = {}
    new_strings: list[bytes] = []

    def sid(text: str) -> int:
        if text not in strings:
            strings[text] = len(strings) + 1
            new_strings.append(text.encode())
        return strings[text]

    shapes: dict[tuple, int] = {}
    new_shapes: list[tuple] = []
    events = trace["events"]
    members = {k: v for k, v in trace.items() if k not in ("events", "session")}
    session = trace.get("session")
    out = [frame(1, json.dumps({"format": "tracesnap-columns", "format_version": 1, "members": members,
                               "session": session, "event_count": len(events), "bytes": None}).encode())]
    at = 0
    while at < len(events):
        size = first_chunk if at == 0 else chunk
        part = events[at: at + size]
        shape_of = []
        groups: dict[int, list] = {}
        for i, e in enumerate(part):
            if not isinstance(e, dict):
                e = {"type": "unknown", "seq": at + i}
            keys = tuple(sid(json.dumps(k)) for k in e)
            if keys not in shapes:
                shapes[keys] = len(shapes)
                new_shapes.append(keys)
            shape_of.append(shapes[keys])
            groups.setdefault(shapes[keys], []).append(list(e.values()))
        body = bytearray()
        for rows in groups.values():
            for row in rows:
                for v in row:
                    if not (isinstance(v, int) and not isinstance(v, bool) and -2 ** 31 < v < 2 ** 31):
                        sid(json.dumps(v, separators=(",", ":")))
        for shape, rows in groups.items():
            body += struct.pack("<II", shape, len(rows))
            for k in range(len(rows[0])):
                col = [r[k] for r in rows]
                if all(isinstance(v, int) and not isinstance(v, bool) and -2 ** 31 < v < 2 ** 31 for v in col):
                    body += struct.pack("<II", 0, 0) + struct.pack("<%di" % len(col), *col)
                else:
                    ids = [sid(json.dumps(v, separators=(",", ":"))) for v in col]
                    body += struct.pack("<II", 2, 0) + struct.pack("<%dI" % len(ids), *ids)
                pad(body)
        head = bytearray(struct.pack("<8I", at, len(part), len(new_strings), len(new_shapes), len(groups), 0, 0, 0))
        head += struct.pack("<%dI" % len(new_strings), *[len(b) for b in new_strings])
        head += b"".join(new_strings)
        pad(head)
        for keys in new_shapes:
            head += struct.pack("<I%dI" % len(keys), len(keys), *keys)
        pad(head)
        head += struct.pack("<%dH" % len(shape_of), *shape_of)
        pad(head)
        out.append(frame(2, bytes(head + body)))
        new_strings.clear()
        new_shapes.clear()
        at += len(part)
    out.append(frame(3, json.dumps({"members": {}, "session": session if session is not None else {},
                                    "event_count": len(events), "partial": False, "partial_reason": None}).encode()))
    return b"".join(out)


class Library:
    """In-memory library: id -> (meta, path-or-bytes)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, dict] = {}
        self.blobs: dict[str, bytes | Path] = {}
        self.counter = 0

    def add(self, id_: str, blob: bytes | Path, name: str | None = None, project: str = "examples",
            event_count: int | None = None, source: str = "", kind: str = "script") -> dict:
        with self.lock:
            self.counter += 1
            meta = {"id": id_, "name": name or id_, "trace_id": id_, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "created_ts": time.time() - 3600 + self.counter, "event_count": event_count or 0,
                    "source": source, "kind": kind, "project": project}
            self.entries[id_] = meta
            self.blobs[id_] = blob
            return meta

    def add_file(self, id_: str, path: Path, **kw) -> dict:
        try:
            data = json.loads(path.read_text())
            kw.setdefault("event_count", len(data.get("events", [])))
            kw.setdefault("source", str(data.get("session", {}).get("entry", "")).rsplit(":", 1)[0])
        except (ValueError, OSError):
            pass
        return self.add(id_, path, **kw)


class Job:
    """A scripted fake recording: asks for a number on stdout, echoes stdin, exits."""

    def __init__(self, server: "FakeServer", body: dict) -> None:
        self.server = server
        self.body = body
        self.q: queue.Queue = queue.Queue()
        self.alive = True
        self.stdin: queue.Queue = queue.Queue()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self) -> None:
        self.q.put(("out", {"text": "tracesnap: recording %s\n" % self.body.get("path")}))
        self.q.put(("out", {"text": "Enter a number: "}))
        self.q.put(("err", {"text": "warning: <b>not bold</b>\n"}))
        try:
            data = self.stdin.get(timeout=20)
        except queue.Empty:
            data = None
        if data is None or not self.alive:
            self.q.put(("exit", {"returncode": -9, "added": [], "new_id": None}))
            self.alive = False
            return
        self.q.put(("in", {"text": data}))
        self.q.put(("out", {"text": "you said %s" % data}))
        name = self.body.get("name") or "from-record-page"
        new_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self.server.library.add_file(new_id, REFERENCE / "sample_program.trace.json", name=name)
        self.q.put(("exit", {"returncode": 0, "added": [new_id], "new_id": new_id}))
        self.alive = False


class FakeServer:
    def __init__(self, port: int = 0) -> None:
        self.library = Library()
        self.jobs: dict[str, Job] = {}
        for p in sorted(REFERENCE.glob("*.trace.json")):
            self.library.add_file(p.name.replace(".trace.json", ""), p, project="examples")
        self.library.add("corrupt", b'{"version": "0.1", "events": [ {"seq": 0', name="corrupt json")
        self.library.add("notatrace", b'[1, 2, 3]', name="not a trace")
        self.library.add("empty", b'{"version": "0.2", "events": [], "session": {"partial": true}}', name="empty")
        # structurally odd but readable: the players must not throw on it
        weird = {"version": "9.9", "events": [
            None, 5, "x", {"type": "call"}, {"type": "assign", "var": {"x": 1}, "value": "plain string", "prev": 7},
            {"type": "line", "line": "abc"}, {"type": "branch"}, {"type": "loop", "iteration": "z"},
            {"type": "exception", "message": None}, {"type": "extcall", "target": 5, "status": "oops"},
            {"type": "return", "value": {"repr": None}}, {"type": "return"}, {"type": "return", "depth": -4},
            {"type": "yield"}, {"type": "resume", "frame_id": 99}, {"type": "gap"}, {"type": "mystery", "func": "<b>f</b>"},
            {"type": "call", "func": 12, "args": [1, 2], "file": 3, "line": 1, "frame_id": {"a": 1}},
            {"type": "line", "line": 2, "frame_id": {"a": 1}}],
            "session": {"sources_by_file": {"/x.py": "print(1)\n"}, "structure_by_file": {"/x.py": [None, {"id": "f", "kind": "function"}]}, "entry": 5}}
        self.library.add("weird", json.dumps(weird).encode(), name="weird")
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread: threading.Thread | None = None

    def start(self) -> "FakeServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        srv = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def send_json(self, obj, status=200):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def body(self) -> dict:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    return json.loads(raw or b"{}")
                except ValueError:
                    return {}

            def authorized(self) -> bool:
                if self.headers.get("X-Tracesnap-Token") != TOKEN:
                    self.body()
                    self.send_json({"error": "missing or wrong X-Tracesnap-Token"}, 403)
                    return False
                if "application/json" not in (self.headers.get("Content-Type") or ""):
                    self.body()
                    self.send_json({"error": "Content-Type must be application/json"}, 415)
                    return False
                return True

            # ---------------------------------------------------------- GET
            def do_GET(self):
                u = urlparse(self.path)
                path = u.path
                if path.startswith("/api/"):
                    return self.api_get(path, parse_qs(u.query))
                if path == "/export.html":
                    # stand-in for `tracesnap export --html`: the trace inlined in the page
                    id_ = parse_qs(u.query).get("trace", [""])[0]
                    blob = srv.library.blobs.get(id_)
                    if blob is None:
                        return self.send_error(404)
                    data = blob.read_bytes() if isinstance(blob, Path) else blob
                    page = (PLAYERS / "index.html").read_text()
                    inline = data.decode().replace("</", "<\\/")
                    page = page.replace("</body>", '<script type="application/json" id="tracesnap-inline-trace">%s</script>\n</body>' % inline)
                    out = page.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
                if path in ("/", ""):
                    path = "/index.html"
                f = (PLAYERS / path.lstrip("/")).resolve()
                if PLAYERS not in f.parents or not f.is_file() or "tests" in f.relative_to(PLAYERS).parts:
                    self.send_error(404)
                    return
                data = f.read_bytes()
                if f.name == "index.html":
                    data = data.replace(b"__TRACESNAP_TOKEN__", TOKEN.encode())
                self.send_response(200)
                self.send_header("Content-Type", MIME.get(f.suffix, "application/octet-stream"))
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def api_get(self, path, q):
                lib = srv.library
                if path in ("/api/traces", "/api/traces/"):
                    items = sorted(lib.entries.values(), key=lambda m: -m["created_ts"])
                    if q.get("project"):
                        items = [m for m in items if m["project"] == q["project"][0]]
                    return self.send_json(items)
                m = re.fullmatch(r"/api/traces/([^/]+)/columns", path)
                if m:
                    id_ = m.group(1)
                    if id_ not in lib.blobs:
                        return self.send_json({"error": "trace not in library"}, 404)
                    blob = lib.blobs[id_]
                    raw = blob.read_bytes() if isinstance(blob, Path) else blob
                    cached = COLUMNS_CACHE.get(id_)
                    if cached and cached[0] == raw:
                        data = cached[1]
                    else:
                        try:
                            trace = json.loads(raw)
                            assert isinstance(trace, dict) and isinstance(trace.get("events"), list)
                            data = encode_columns(trace)
                        except (ValueError, AssertionError):
                            return self.send_json({"error": "not a trace"}, 422)
                        COLUMNS_CACHE[id_] = (raw, data)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("X-Tracesnap-Columns", "1")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                m = re.fullmatch(r"/api/traces/([^/]+)", path)
                if m:
                    id_ = m.group(1)
                    if id_ not in lib.blobs:
                        return self.send_json({"error": "trace not in library"}, 404)
                    blob = lib.blobs[id_]
                    data = blob.read_bytes() if isinstance(blob, Path) else blob
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if path == "/api/projects":
                    counts: dict[str, int] = {}
                    for e in lib.entries.values():
                        counts[e["project"]] = counts.get(e["project"], 0) + 1
                    return self.send_json({"current": "examples", "total": len(lib.entries),
                                           "projects": [{"name": k, "count": v} for k, v in sorted(counts.items())]})
                if path == "/api/sources":
                    return self.send_json({"cwd": "/home/dev/demo/examples", "files": [
                        {"path": "/home/dev/demo/examples/sample.py", "rel": "sample.py", "size": 812, "mtime": time.time() - 60},
                        {"path": "/home/dev/demo/examples/calculator/main_calc.py", "rel": "calculator/main_calc.py", "size": 2401, "mtime": time.time() - 600},
                        {"path": "/home/dev/demo/examples/<b>odd</b>.py", "rel": "<b>odd</b>.py", "size": 10, "mtime": time.time()},
                    ]})
                if path == "/api/session":
                    return self.send_json({"version": "0.3.0-test", "library": "/tmp/fake-library", "project": "examples",
                                           "scan_root": "/home/dev/demo/examples", "default_redactions": ["api_key", "authorization", "password", "secret", "token"]})
                m = re.fullmatch(r"/api/run/script/stream/([^/]+)", path)
                if m:
                    job = srv.jobs.get(m.group(1))
                    if not job:
                        return self.send_json({"error": "no such job"}, 404)
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-store")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    try:
                        self.wfile.write(b"retry: 2000\n\n")
                        self.wfile.flush()
                        while True:
                            try:
                                ev, payload = job.q.get(timeout=2)
                            except queue.Empty:
                                self.wfile.write(b": keep-alive\n\n")
                                self.wfile.flush()
                                continue
                            self.wfile.write(("event: %s\ndata: %s\n\n" % (ev, json.dumps(payload))).encode())
                            self.wfile.flush()
                            if ev == "exit":
                                return
                    except (BrokenPipeError, ConnectionResetError):
                        return
                return self.send_json({"error": "not found"}, 404)

            # ---------------------------------------------------- mutations
            def do_PATCH(self):
                if not self.authorized():
                    return
                m = re.fullmatch(r"/api/traces/([^/]+)", urlparse(self.path).path)
                body = self.body()
                if not m or m.group(1) not in srv.library.entries:
                    return self.send_json({"error": "trace not in library"}, 404)
                meta = srv.library.entries[m.group(1)]
                name = str(body.get("name") or "").strip()
                if name:
                    meta["name"] = name
                return self.send_json(meta)

            def do_DELETE(self):
                if not self.authorized():
                    return
                m = re.fullmatch(r"/api/traces/([^/]+)", urlparse(self.path).path)
                self.body()
                if not m or m.group(1) not in srv.library.entries:
                    return self.send_json({"error": "trace not in library"}, 404)
                srv.library.entries.pop(m.group(1))
                srv.library.blobs.pop(m.group(1))
                return self.send_json({"ok": True})

            def do_POST(self):
                if not self.authorized():
                    return
                path = urlparse(self.path).path
                body = self.body()
                if path == "/api/run/script/start":
                    if not body.get("path"):
                        return self.send_json({"error": "path is required"}, 400)
                    jid = uuid.uuid4().hex[:12]
                    srv.jobs[jid] = Job(srv, body)
                    return self.send_json({"job_id": jid})
                m = re.fullmatch(r"/api/run/script/(stdin|eof|kill)/([^/]+)", path)
                if m:
                    job = srv.jobs.get(m.group(2))
                    if not job:
                        return self.send_json({"error": "no such job"}, 404)
                    if m.group(1) == "stdin":
                        if not isinstance(body.get("data"), str):
                            return self.send_json({"error": "data must be a string"}, 400)
                        if not job.alive:
                            return self.send_json({"ok": False, "alive": False})
                        job.stdin.put(body["data"])
                        return self.send_json({"ok": True, "alive": True})
                    job.alive = m.group(1) != "kill" and job.alive
                    job.stdin.put(None)
                    return self.send_json({"ok": True})
                return self.send_json({"error": "not found"}, 404)

        return H


if __name__ == "__main__":
    s = FakeServer(int(sys.argv[1]) if len(sys.argv) > 1 else 8777)
    for extra in sys.argv[2:]:
        p = Path(extra)
        s.library.add_file(p.stem, p, project="gen")
    print("fake tracesnap API (test stand-in) on", s.url, "token", TOKEN)
    s.httpd.serve_forever()
