"""Fixtures for the host tests: they run the built `tracesnap` binary with a temporary library.

The binary is `$TRACESNAP_BIN`, else `.build/debug/tracesnap` in the repository. Build it first:
`swift build --product tracesnap`.
"""

import fcntl
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE_TRACES = REPO / "Tests" / "TraceSnapTraceTests" / "Fixtures"


def binary() -> Path:
    path = Path(os.environ.get("TRACESNAP_BIN", REPO / ".build" / "debug" / "tracesnap"))
    if not path.is_absolute():
        path = REPO / path
    if not path.exists():
        pytest.exit(f"tracesnap binary not found at {path}; run `swift build --product tracesnap`", 2)
    return path


@pytest.fixture(scope="session")
def tsbin() -> Path:
    return binary()


@pytest.fixture
def home(tmp_path) -> Path:
    path = tmp_path / "home"
    return path


@pytest.fixture
def players(tmp_path) -> Path:
    """A tiny players directory following the contract with the player engineer."""
    root = tmp_path / "players"
    (root / "src" / "lib").mkdir(parents=True)
    (root / "index.html").write_text(textwrap.dedent("""\
        <!doctype html>
        <html><head><meta charset="utf-8"><title>fixture</title>
        <meta name="tracesnap-token" content="__TRACESNAP_TOKEN__">
        <script type="importmap">{"imports": {"ts/": "./src/"}}</script>
        <link rel="stylesheet" href="./style.css">
        </head><body><div id="out"></div>
        <script type="module" src="./src/main.js"></script>
        </body></html>
        """))
    (root / "style.css").write_text("body { color: rgb(1, 2, 3); }\n")
    (root / "src" / "main.js").write_text(
        'import { load } from "ts/lib/load.js";\n'
        'document.getElementById("out").textContent = load();\n')
    (root / "src" / "lib" / "load.js").write_text(
        'export function load() {\n'
        '  const el = document.getElementById("tracesnap-inline-trace");\n'
        '  const trace = JSON.parse(el.textContent);\n'
        '  return "events:" + trace.events.length + ":" + trace.trace_id;\n'
        '}\n')
    (root / "secret.txt").write_text("inside players\n")
    return root


@pytest.fixture
def fake_python_package(tmp_path) -> Path:
    """A stand-in for the Python package: `_launch.py` records the request it got and behaves
    like a recording (prints, reads stdin, adds a trace to the library, honours SIGTERM)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "_launch.py").write_text(textwrap.dedent('''\
        import fcntl, json, os, signal, sys, time
        request = json.loads(os.environ["TRACESNAP_RECORD_REQUEST"])
        dump = os.environ.get("FAKE_LAUNCH_DUMP")
        if dump:
            with open(dump, "w") as f:
                json.dump({"request": request, "argv": sys.argv, "cwd": os.getcwd()}, f)
        mode = os.environ.get("FAKE_LAUNCH_MODE", "echo")

        def add_trace(partial=False):
            home = request["home"]
            os.makedirs(os.path.join(home, "traces"), exist_ok=True)
            tid = time.strftime("%Y%m%d-%H%M%S-") + os.urandom(3).hex()
            trace = {"version": "0.2", "trace_id": request["trace_id"],
                     "events": [{"seq": 0, "type": "call"}],
                     "session": {"kind": request["kind"], "project": request["project"], "partial": partial}}
            with open(os.path.join(home, "traces", tid + ".json"), "w") as f:
                json.dump(trace, f)
            with open(os.path.join(home, "index.lock"), "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                path = os.path.join(home, "index.json")
                data = json.load(open(path)) if os.path.exists(path) else {"version": 1, "traces": []}
                data["traces"].append({"id": tid, "name": request["name"], "trace_id": request["trace_id"],
                    "created": "2026-01-01T00:00:00", "created_ts": time.time(), "event_count": 1,
                    "source": request["script"], "kind": request["kind"], "project": request["project"]})
                tmp = path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(data, f)
                os.replace(tmp, path)
            return tid

        if mode == "exit":
            sys.exit(int(os.environ.get("FAKE_LAUNCH_CODE", "0")))
        if mode == "echo":
            print("hello from", os.path.basename(request["script"]), request["argv"][1:], flush=True)
            print("to stderr \u2713", file=sys.stderr, flush=True)
            line = sys.stdin.readline()
            print("got:", line.strip(), flush=True)
            tid = add_trace()
            print("saved", tid, flush=True)
            sys.exit(0)
        if mode == "loop":
            def on_term(signum, frame):
                add_trace(partial=True)
                print("partial trace saved", flush=True)
                sys.exit(143)
            signal.signal(signal.SIGTERM, on_term)
            print("looping", flush=True)
            while True:
                time.sleep(0.05)
        '''))
    return pkg


class Runner:
    def __init__(self, tsbin, home, env_extra):
        self.tsbin = tsbin
        self.home = home
        self.env_extra = env_extra

    def env(self, **extra):
        env = dict(os.environ)
        env["TRACESNAP_HOME"] = str(self.home)
        env["TRACESNAP_NO_BROWSER"] = "1"
        env.update(self.env_extra)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def __call__(self, *args, input=None, cwd=None, env=None, timeout=30, stdin=None):
        kwargs = {}
        if stdin is not None:
            kwargs["stdin"] = stdin
        else:
            kwargs["input"] = input if input is not None else ""
        return subprocess.run(
            [str(self.tsbin), *map(str, args)], capture_output=True, text=True, cwd=cwd,
            env=self.env(**(env or {})), timeout=timeout, **kwargs)


@pytest.fixture
def run(tsbin, home, players):
    return Runner(tsbin, home, {"TRACESNAP_PLAYERS_DIR": str(players)})


def seed(home: Path, name: str, project: str = "proj", events: int = 3, trace_id=None, kind="script",
         body: str = None) -> dict:
    """Adds a trace to the library the way the recorder's sink does (file, then index entry)."""
    (home / "traces").mkdir(parents=True, exist_ok=True)
    tid = time.strftime("%Y%m%d-%H%M%S-") + os.urandom(3).hex()
    trace = {"version": "0.2", "trace_id": trace_id or name,
             "events": [{"seq": i, "ts": i, "depth": 1, "type": "line", "line": i + 1} for i in range(events)],
             "session": {"kind": kind, "project": project, "entry": f"/x/{name}.py:<module>"}}
    (home / "traces" / f"{tid}.json").write_text(body if body is not None else json.dumps(trace))
    meta = {"id": tid, "name": name, "trace_id": trace_id or name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "created_ts": time.time(), "event_count": events, "source": f"/x/{name}.py", "kind": kind,
            "project": project}
    index = home / "index.json"
    with open(home / "index.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(index.read_text()) if index.exists() else {"version": 1, "traces": []}
        data["traces"].append(meta)
        index.write_text(json.dumps(data))
    return meta


class Server:
    """A running `tracesnap view` process and a small HTTP client for it."""

    def __init__(self, proc, port, stderr_lines):
        self.proc = proc
        self.port = port
        self.stderr_lines = stderr_lines
        self._token = None

    @property
    def origin(self):
        return f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, headers=None, host=None, token=True, origin=None,
                content_type="application/json"):
        headers = dict(headers or {})
        headers.setdefault("Host", host or f"127.0.0.1:{self.port}")
        if method not in ("GET", "HEAD") and token:
            headers.setdefault("X-Tracesnap-Token", self.token if token is True else token)
        if origin:
            headers["Origin"] = origin
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            if content_type:
                headers.setdefault("Content-Type", content_type)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        ctype = resp.getheader("Content-Type") or ""
        payload = raw
        if "json" in ctype:
            try:
                payload = json.loads(raw)
            except ValueError:
                pass
        return resp.status, dict(resp.getheaders()), payload

    @property
    def token(self):
        if self._token is None:
            status, _, body = self.request("GET", "/index.html")
            assert status == 200
            match = re.search(rb'name="tracesnap-token" content="([0-9a-f]+)"', body)
            assert match, body[:300]
            self._token = match.group(1).decode()
        return self._token


def start_server(runner: Runner, *args, cwd=None, env=None):
    if "--port" not in map(str, args):
        args = (*args, "--port", "0")
    proc = subprocess.Popen(
        [str(runner.tsbin), "view", "--no-browser", *map(str, args)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=cwd, env=runner.env(**(env or {})))
    lines = []
    port = None
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        match = re.search(r"open http://127\.0\.0\.1:(\d+)/", line)
        if match:
            port = int(match.group(1))
        if "press Ctrl-C to stop" in line:
            break
    if port is None:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("server did not start:\n" + "\n".join(lines) + err)
    # Wait until it accepts connections.
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/session", headers={"Host": f"127.0.0.1:{port}"})
            conn.getresponse().read()
            conn.close()
            break
        except OSError:
            time.sleep(0.05)
    return Server(proc, port, lines)


def stop_server(server: Server, sig=signal.SIGTERM):
    if server.proc.poll() is None:
        server.proc.send_signal(sig)
        try:
            out, err = server.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            out, err = server.proc.communicate()
        return server.proc.returncode, out, err
    out, err = server.proc.communicate()
    return server.proc.returncode, out, err


@pytest.fixture
def server_factory(run):
    servers = []

    def factory(*args, cwd=None, env=None):
        server = start_server(run, *args, cwd=cwd, env=env)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        stop_server(server)
