"""The view server: every API route, the security checks and clean shutdown."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import REFERENCE_TRACES, seed, start_server, stop_server


@pytest.fixture
def library(home):
    a = seed(home, "alpha", project="one", events=4)
    b = seed(home, "beta", project="two", events=2)
    c = seed(home, "gamma", project="one", events=9)
    return a, b, c


@pytest.fixture
def server(server_factory, library, tmp_path):
    scan = tmp_path / "scan"
    scan.mkdir()
    return server_factory("--scan-root", scan, cwd=tmp_path)


# MARK: - startup and shutdown

def test_startup_lines(server, home, tmp_path):
    lines = server.stderr_lines
    assert lines[0] == "tracesnap: serving the player library"
    assert lines[1] == f"tracesnap: open http://127.0.0.1:{server.port}/index.html?view=home"
    assert lines[2] == f"tracesnap: library at {home}"
    assert lines[3] == "tracesnap: project 'scan' (new records land here)"
    assert lines[4] == f"tracesnap: script scan root {tmp_path / 'scan'}"
    assert lines[-1] == "tracesnap: press Ctrl-C to stop"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_cleanly(run, library, sig, tmp_path):
    server = start_server(run, "--port", "0", cwd=tmp_path)
    status, _, _ = server.request("GET", "/api/traces")
    assert status == 200
    code, out, err = stop_server(server, sig)
    assert code == 0
    assert err.strip().endswith("tracesnap: stopped")
    assert "Traceback" not in err and "Fatal" not in err
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1)


def test_binds_loopback_only(server):
    # Not reachable on another local address of this machine.
    addresses = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addresses.add(info[4][0])
    except OSError:
        pass
    for address in addresses - {"127.0.0.1"}:
        if address.startswith("127."):
            continue
        with pytest.raises(OSError):
            socket.create_connection((address, server.port), timeout=1)
    out = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout if os.path.exists("/usr/bin/ss") or os.path.exists("/bin/ss") else ""
    if out:
        listening = [line for line in out.splitlines() if f":{server.port} " in line]
        assert listening and all("127.0.0.1:" in line for line in listening), listening


def test_taken_port_falls_back(run, library, tmp_path):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]
    try:
        server = start_server(run, "--port", taken, cwd=tmp_path)
        try:
            assert server.port != taken
            notice = [l for l in server.stderr_lines if "unavailable" in l]
            assert notice == [
                f"tracesnap: port {taken} unavailable (Address already in use); falling back to a random free port"]
            assert server.request("GET", "/api/session")[0] == 200
        finally:
            stop_server(server)
    finally:
        blocker.close()


# MARK: - pages

def test_root_redirects(server):
    status, headers, _ = server.request("GET", "/")
    assert status == 302
    assert headers["Location"] == "/index.html?view=home"


def test_index_gets_the_token(server):
    status, headers, body = server.request("GET", "/index.html")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"__TRACESNAP_TOKEN__" not in body
    assert len(server.token) == 32


def test_static_files(server):
    status, headers, body = server.request("GET", "/src/lib/load.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert b"export function load" in body
    assert server.request("GET", "/style.css")[1]["Content-Type"].startswith("text/css")
    assert server.request("GET", "/nope.html")[0] == 404


@pytest.mark.parametrize("path", [
    "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/src/..%2f..%2f..%2fetc%2fpasswd",
    "/..%5c..%5cetc%5cpasswd", "/.hidden", "/src/../../players-outside", "//etc/passwd",
    "/%00index.html",
])
def test_path_traversal_is_refused(server, path):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", f"127.0.0.1:{server.port}")
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    assert resp.status in (400, 404)
    assert b"root:" not in body


def test_symlink_out_of_players_is_refused(server, players, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret outside\n")
    (players / "link.txt").symlink_to(outside)
    status, _, body = server.request("GET", "/link.txt")
    assert status == 404
    assert b"secret outside" not in body


def test_static_wrong_method(server):
    status, headers, _ = server.request("POST", "/index.html", body={})
    assert status == 405


# MARK: - security

@pytest.mark.parametrize("host", ["evil.example:80", "evil.example", "127.0.0.1", "127.0.0.1:1", "localhost",
                                  "attacker.com:{port}", ""])
def test_wrong_host_is_refused(server, host):
    host = host.replace("{port}", str(server.port))
    for method, path in [("GET", "/api/traces"), ("GET", "/index.html"), ("GET", "/")]:
        status, _, body = server.request(method, path, host=host or " ")
        assert status == 403, (host, path)


def test_localhost_host_is_accepted(server):
    status, _, body = server.request("GET", "/api/projects", host=f"localhost:{server.port}")
    assert status == 200


def test_writes_need_the_token(server, library):
    a = library[0]
    for token in (False, "wrong", "0" * 32):
        status, _, body = server.request("PATCH", f"/api/traces/{a['id']}", body={"name": "x"}, token=token)
        assert status == 403
        assert "token" in body["error"].lower()
        status, _, _ = server.request("DELETE", f"/api/traces/{a['id']}", token=token)
        assert status == 403
        status, _, _ = server.request("POST", "/api/run/script/start", body={"path": "x.py"}, token=token)
        assert status == 403
    status, _, body = server.request("GET", f"/api/traces/{a['id']}")
    assert status == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1:{port}"])
def test_cross_origin_writes_are_refused(server, library, origin):
    a = library[0]
    origin = origin.replace("{port}", str(server.port))
    status, _, body = server.request("PATCH", f"/api/traces/{a['id']}", body={"name": "x"}, origin=origin)
    assert status == 403
    status, _, _ = server.request("DELETE", f"/api/traces/{a['id']}", origin=origin)
    assert status == 403
    status, _, _ = server.request("GET", "/api/traces")
    assert status == 200


def test_same_origin_write_is_accepted(server, library):
    a = library[0]
    status, _, body = server.request("PATCH", f"/api/traces/{a['id']}", body={"name": "same origin"},
                                     origin=server.origin)
    assert status == 200
    assert body["name"] == "same origin"


def test_writes_need_json(server, library):
    a = library[0]
    status, _, _ = server.request("PATCH", f"/api/traces/{a['id']}", body='name=x',
                                  content_type="application/x-www-form-urlencoded")
    assert status == 415
    status, _, _ = server.request("PATCH", f"/api/traces/{a['id']}", body='{"name": "x"}', content_type="text/plain")
    assert status == 415


def test_body_too_large(server, library):
    a = library[0]
    status, _, body = server.request("PATCH", f"/api/traces/{a['id']}", body=json.dumps({"name": "x" * (2 << 20)}))
    assert status == 413


def test_no_proxy_and_no_file_fetching(server):
    for path in ("/api/run/request", "/api/proxy"):
        status, _, _ = server.request("POST", path, body={"method": "GET", "url": "file:///etc/hostname"})
        assert status == 404
    status, _, _ = server.request("GET", "/api/run/request")
    assert status == 404


# MARK: - library API

def test_api_traces(server, library):
    a, b, c = library
    status, headers, body = server.request("GET", "/api/traces")
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert [m["id"] for m in body] == [c["id"], b["id"], a["id"]]
    assert set(body[0]) >= {"id", "name", "trace_id", "created", "created_ts", "event_count", "source", "kind", "project"}
    status, _, body = server.request("GET", "/api/traces?project=one")
    assert [m["id"] for m in body] == [c["id"], a["id"]]
    status, _, body = server.request("GET", "/api/traces/")
    assert status == 200 and len(body) == 3


def test_api_projects(server, library):
    status, headers, body = server.request("GET", "/api/projects")
    assert status == 200
    assert body == {"current": "scan", "projects": [{"name": "one", "count": 2}, {"name": "two", "count": 1}],
                    "total": 3}


def test_api_session(server, home, tmp_path):
    status, headers, body = server.request("GET", "/api/session")
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert body["version"] == "0.3.0"
    assert body["library"] == str(home)
    assert body["project"] == "scan"
    assert body["scan_root"] == str(tmp_path / "scan")
    assert body["default_redactions"] == ["password", "token", "secret", "authorization", "api_key"]


def test_api_trace_get(server, library, home):
    a = library[0]
    status, headers, body = server.request("GET", f"/api/traces/{a['id']}")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert body["trace_id"] == "alpha"
    assert len(body["events"]) == 4
    # Served from disk byte for byte.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", f"/api/traces/{a['id']}", headers={"Host": f"127.0.0.1:{server.port}"})
    raw = conn.getresponse().read()
    assert raw == (home / "traces" / f"{a['id']}.json").read_bytes()


@pytest.mark.parametrize("bad", ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", ".hidden", "a%00b", "x" * 200])
def test_api_bad_ids(server, bad):
    status, _, body = server.request("GET", f"/api/traces/{bad}")
    assert status in (400, 404)
    assert "error" in body
    status, _, body = server.request("DELETE", f"/api/traces/{bad}")
    assert status in (400, 404)


def test_api_unknown_ids(server):
    status, _, body = server.request("GET", "/api/traces/20990101-000000-abcdef")
    assert status == 404 and "error" in body
    assert server.request("PATCH", "/api/traces/20990101-000000-abcdef", body={"name": "x"})[0] == 404
    assert server.request("DELETE", "/api/traces/20990101-000000-abcdef")[0] == 404


def test_api_rename(server, library, home):
    a = library[0]
    status, _, body = server.request("PATCH", f"/api/traces/{a['id']}", body={"name": "new ✓ name"})
    assert status == 200
    assert body["name"] == "new ✓ name" and body["id"] == a["id"]
    index = json.loads((home / "index.json").read_text())
    assert [m["name"] for m in index["traces"] if m["id"] == a["id"]] == ["new ✓ name"]
    assert server.request("PATCH", f"/api/traces/{a['id']}", body={"name": "  "})[0] == 400
    assert server.request("PATCH", f"/api/traces/{a['id']}", body={"name": 5})[0] == 400
    assert server.request("PATCH", f"/api/traces/{a['id']}", body={})[0] == 400
    assert server.request("PATCH", f"/api/traces/{a['id']}", body="[1]")[0] == 400
    assert server.request("PATCH", f"/api/traces/{a['id']}", body="{nope")[0] == 400


def test_api_delete(server, library, home):
    a = library[0]
    status, _, body = server.request("DELETE", f"/api/traces/{a['id']}")
    assert status == 200
    assert body == {"ok": True}
    assert not (home / "traces" / f"{a['id']}.json").exists()
    assert server.request("GET", f"/api/traces/{a['id']}")[0] == 404
    assert server.request("DELETE", f"/api/traces/{a['id']}")[0] == 404


def test_api_unknown_routes_and_methods(server, library):
    assert server.request("GET", "/api/nope")[0] == 404
    assert server.request("GET", "/api")[0] == 404
    status, headers, body = server.request("POST", "/api/traces", body={})
    assert status == 405 and "error" in body
    assert server.request("PUT", f"/api/traces/{library[0]['id']}", body={})[0] == 405
    assert server.request("DELETE", "/api/session")[0] == 405
    assert server.request("GET", "/api/run/script/start")[0] == 405
    assert server.request("GET", "/api/run/script/stdin/abc")[0] == 405
    assert server.request("POST", "/api/run/script/stream/abc", body={})[0] == 405
    for action in ("stdin", "eof", "kill"):
        assert server.request("POST", f"/api/run/script/{action}/nojob", body={"data": "x"})[0] == 404
    assert server.request("GET", "/api/run/script/stream/nojob")[0] == 404


def test_api_sources(server, tmp_path):
    scan = tmp_path / "scan"
    (scan / "pkg").mkdir()
    (scan / "main.py").write_text("print(1)\n")
    (scan / "pkg" / "mod.py").write_text("x = 1\n")
    (scan / "notes.txt").write_text("no\n")
    for skipped in (".git", ".venv", "venv", "node_modules", "build", "dist", "__pycache__", "myenv"):
        (scan / skipped).mkdir()
        (scan / skipped / "hidden.py").write_text("x\n")
    (scan / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    status, headers, body = server.request("GET", "/api/sources")
    assert status == 200
    assert body["cwd"] == str(scan)
    rels = sorted(f["rel"] for f in body["files"])
    assert rels == ["main.py", "pkg/mod.py"]
    main = [f for f in body["files"] if f["rel"] == "main.py"][0]
    assert main["path"] == str(scan / "main.py") and main["size"] == 9 and main["mtime"] > 0


def test_api_sources_cap(server, tmp_path):
    scan = tmp_path / "scan"
    for i in range(2100):
        (scan / f"f{i:04}.py").write_text("")
    status, _, body = server.request("GET", "/api/sources")
    assert len(body["files"]) == 2000


# MARK: - a trace file given on the command line

def test_file_argument_served_under_a_stable_id(server_factory, tmp_path):
    trace = tmp_path / "my trace.json"
    trace.write_bytes((REFERENCE_TRACES / "sample_program.trace.json").read_bytes())
    first = server_factory(trace, cwd=tmp_path)
    status, _, session = first.request("GET", "/api/session")
    tid = session["trace"]
    assert tid and "/" not in tid
    assert first.stderr_lines[1] == f"tracesnap: open http://127.0.0.1:{first.port}/index.html?view=graph&trace={tid}"
    status, headers, _ = first.request("GET", "/")
    assert headers["Location"] == f"/index.html?view=graph&trace={tid}"
    status, _, body = first.request("GET", f"/api/traces/{tid}")
    assert status == 200 and body["trace_id"] == "sample_program"
    assert first.request("DELETE", f"/api/traces/{tid}")[0] == 400
    assert trace.exists()
    second = server_factory(trace, "--view", "text", cwd=tmp_path)
    assert second.request("GET", "/api/session")[2]["trace"] == tid
    assert second.request("GET", "/")[1]["Location"] == f"/index.html?view=text&trace={tid}"


def test_library_id_and_name_arguments(server_factory, library, tmp_path):
    a = library[0]
    by_id = server_factory(a["id"], cwd=tmp_path)
    assert by_id.request("GET", "/api/session")[2]["trace"] == a["id"]
    by_name = server_factory("beta", "--view", "events", cwd=tmp_path)
    assert by_name.request("GET", "/api/session")[2]["trace"] == library[1]["id"]
    assert [l for l in by_name.stderr_lines if "open http" in l][0].endswith(f"/index.html?view=events&trace={library[1]['id']}")


def test_truncated_trace_is_served_repaired(server_factory, tmp_path):
    text = (REFERENCE_TRACES / "sample_complex.trace.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2])
    server = server_factory(cut, cwd=tmp_path)
    assert any("truncated" in line for line in server.stderr_lines)
    tid = server.request("GET", "/api/session")[2]["trace"]
    status, headers, body = server.request("GET", f"/api/traces/{tid}")
    assert status == 200
    assert body["session"]["partial"] is True
    assert len(body["events"]) > 5


# MARK: - record jobs

def read_sse(server, job_id, timeout=20):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    conn.request("GET", f"/api/run/script/stream/{job_id}", headers={"Host": f"127.0.0.1:{server.port}"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("text/event-stream")
    events = []
    raw = resp.read().decode()
    for block in raw.split("\n\n"):
        lines = block.split("\n")
        name = [l[7:] for l in lines if l.startswith("event: ")]
        data = [l[6:] for l in lines if l.startswith("data: ")]
        if name:
            events.append((name[0], json.loads(data[0])))
    conn.close()
    return raw, events


@pytest.fixture
def job_server(server_factory, library, tmp_path, fake_python_package):
    scan = tmp_path / "scan"
    scan.mkdir(exist_ok=True)
    (scan / "script.py").write_text("print('hi')\n")
    env = {"TRACESNAP_PYTHON_PACKAGE": fake_python_package, "TRACESNAP_PYTHON": sys.executable}
    return server_factory("--scan-root", scan, cwd=tmp_path, env=env), scan


def test_record_job_validation(job_server, tmp_path):
    server, scan = job_server
    outside = tmp_path / "outside.py"
    outside.write_text("print(1)\n")
    status, _, body = server.request("POST", "/api/run/script/start", body={"path": str(outside)})
    assert status == 403 and "scan root" in body["error"]
    status, _, body = server.request("POST", "/api/run/script/start", body={"path": "../outside.py"})
    assert status == 403
    (scan / "link.py").symlink_to(outside)
    status, _, body = server.request("POST", "/api/run/script/start", body={"path": "link.py"})
    assert status == 403
    assert server.request("POST", "/api/run/script/start", body={})[0] == 400
    assert server.request("POST", "/api/run/script/start", body={"path": 3})[0] == 400
    assert server.request("POST", "/api/run/script/start", body={"path": "missing.py"})[0] == 404
    (scan / "dir.py").mkdir()
    assert server.request("POST", "/api/run/script/start", body={"path": "dir.py"})[0] == 400
    assert server.request("POST", "/api/run/script/start", body={"path": "script.py", "args": [1]})[0] == 400
    assert server.request("POST", "/api/run/script/start", body={"path": "script.py", "args": "'open"})[0] == 400
    assert server.request("POST", "/api/run/script/start", body={"path": "script.py", "redact": 5})[0] == 400


def test_record_job_end_to_end(job_server, home):
    server, scan = job_server
    status, _, body = server.request("POST", "/api/run/script/start",
                                     body={"path": "script.py", "name": "from page", "args": "one 'two words'",
                                           "redact": "pin,cvv"})
    assert status == 200, body
    job = body["job_id"]
    time.sleep(0.5)
    status, _, body = server.request("POST", f"/api/run/script/stdin/{job}", body={"data": "7\n"})
    assert status == 200 and body == {"ok": True, "alive": True} or body["ok"] is True
    assert server.request("POST", f"/api/run/script/stdin/{job}", body={"data": 7})[0] == 400
    raw, events = read_sse(server, job)
    assert raw.startswith("retry: 2000")
    kinds = [e for e, _ in events]
    assert kinds[-1] == "exit"
    out = "".join(d["text"] for e, d in events if e == "out")
    err = "".join(d["text"] for e, d in events if e == "err")
    assert "hello from script.py ['one', 'two words']" in out
    assert "got: 7" in out
    assert "to stderr ✓" in err
    assert ("in", {"text": "7\n"}) in events
    exit_payload = events[-1][1]
    assert exit_payload["returncode"] == 0
    assert len(exit_payload["added"]) == 1 and exit_payload["new_id"] == exit_payload["added"][0]
    status, _, meta = server.request("GET", f"/api/traces/{exit_payload['new_id']}")
    assert status == 200
    index = json.loads((home / "index.json").read_text())
    entry = [m for m in index["traces"] if m["id"] == exit_payload["new_id"]][0]
    assert entry["name"] == "from page" and entry["project"] == "scan"
    # A late consumer gets the replay and the exit, and the stream ends.
    raw2, events2 = read_sse(server, job)
    assert events2 == events
    status, _, body = server.request("POST", f"/api/run/script/stdin/{job}", body={"data": "x\n"})
    assert body == {"ok": False, "alive": False}


def test_record_job_eof(job_server):
    server, scan = job_server
    job = server.request("POST", "/api/run/script/start", body={"path": "script.py"})[2]["job_id"]
    assert server.request("POST", f"/api/run/script/eof/{job}", body={})[2] == {"ok": True}
    raw, events = read_sse(server, job)
    out = "".join(d["text"] for e, d in events if e == "out")
    assert "got: \n" in out or "got:" in out
    assert events[-1][0] == "exit" and events[-1][1]["returncode"] == 0


def _endless_script(scan, fake_python_package):
    """A scan root with `loop.py`, which never ends, and the environment whose fake recorder
    runs it (FAKE_LAUNCH_MODE=loop): for the tests that stop record jobs."""
    scan.mkdir()
    (scan / "loop.py").write_text("while True: pass\n")
    return scan, {"TRACESNAP_PYTHON_PACKAGE": fake_python_package, "TRACESNAP_PYTHON": sys.executable,
                  "FAKE_LAUNCH_MODE": "loop"}


def test_record_job_kill(server_factory, library, tmp_path, fake_python_package):
    scan, env = _endless_script(tmp_path / "scan2", fake_python_package)
    server = server_factory("--scan-root", scan, cwd=tmp_path, env=env)
    job = server.request("POST", "/api/run/script/start", body={"path": "loop.py"})[2]["job_id"]
    time.sleep(0.8)
    assert server.request("POST", f"/api/run/script/kill/{job}", body={})[2] == {"ok": True}
    raw, events = read_sse(server, job)
    out = "".join(d["text"] for e, d in events if e == "out")
    assert "partial trace saved" in out
    payload = events[-1][1]
    assert payload["returncode"] == 143
    assert payload["new_id"] is not None


def test_shutdown_stops_running_jobs(run, library, tmp_path, fake_python_package):
    scan, env = _endless_script(tmp_path / "scan3", fake_python_package)
    server = start_server(run, "--scan-root", scan, "--port", "0", cwd=tmp_path, env=env)
    job = server.request("POST", "/api/run/script/start", body={"path": "loop.py"})[2]["job_id"]
    time.sleep(0.8)
    ps = processes_running(str(fake_python_package))
    assert ps
    code, out, err = stop_server(server, signal.SIGINT)
    assert code == 0
    assert "tracesnap: stopped" in err
    time.sleep(0.3)
    assert processes_running(str(fake_python_package)) == []


def processes_running(needle):
    """Pids of live (not zombie) processes whose command line contains `needle`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":
            pids.append(int(entry))
    return pids


def test_stream_keep_alive_and_live_events(server_factory, library, tmp_path, fake_python_package):
    scan, env = _endless_script(tmp_path / "scan4", fake_python_package)
    server = server_factory("--scan-root", scan, cwd=tmp_path, env=env)
    job = server.request("POST", "/api/run/script/start", body={"path": "loop.py"})[2]["job_id"]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(f"GET /api/run/script/stream/{job} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
    received = b""
    deadline = time.time() + 6
    while time.time() < deadline and b"keep-alive" not in received:
        received += sock.recv(4096)
    assert b"retry: 2000" in received
    assert b": keep-alive" in received
    assert b"looping" in received
    server.request("POST", f"/api/run/script/kill/{job}", body={})
    deadline = time.time() + 10
    while time.time() < deadline and b"event: exit" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    assert b"event: exit" in received
    sock.close()


def _ndjson(path, events, finished):
    lines = [{"tracesnap": "ndjson", "version": "0.2", "trace_id": "streamed", "session": {"kind": "script"}}]
    lines += [{"seq": i, "ts": i, "depth": 1, "type": "line", "line": i + 1} for i in range(events)]
    if finished:
        lines.append({"end": True, "session": {"kind": "script", "partial": False}})
    text = "".join(json.dumps(l) + "\n" for l in lines)
    path.write_bytes(text.encode() + (b"" if finished else b"\0" * 64))


@pytest.mark.parametrize("finished", [True, False])
def test_view_serves_an_ndjson_stream_as_a_trace(server_factory, tmp_path, finished):
    stream = tmp_path / ("s.ndjson" if finished else "s.ndjson.partial")
    _ndjson(stream, 5, finished)
    server = server_factory(stream, cwd=tmp_path)
    _, _, session = server.request("GET", "/api/session")
    status, headers, body = server.request("GET", f"/api/traces/{session['trace']}")
    assert status == 200
    assert body["trace_id"] == "streamed" and [e["seq"] for e in body["events"]] == list(range(5))
    assert body["session"]["partial"] is (not finished)
    assert ("X-Tracesnap-Partial" in headers) is (not finished)
