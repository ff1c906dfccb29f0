"""Runs real web apps for the integration tests: each app is a file written by the test and
served on 127.0.0.1 by a real server in a child process (werkzeug for Flask, wsgiref for Django,
uvicorn for FastAPI), with the tracesnap under test importable."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

from tsutil import PACKAGE_DIR


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``python APP PORT`` in a child process, until ``stop``."""

    def __init__(self, app_file: Path, env: dict, cwd: Path, args=()):
        self.port = free_port()
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACESNAP_", "PYTEST_"))}
        child_env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_DIR.parent), str(app_file.parent)])
        if os.environ.get("TRACESNAP_LIB_DIR"):  # a development build
            child_env["TRACESNAP_LIB_DIR"] = os.environ["TRACESNAP_LIB_DIR"]
        child_env.update({k: str(v) for k, v in env.items()})
        self.proc = subprocess.Popen([sys.executable, str(app_file), str(self.port), *map(str, args)], cwd=str(cwd),
                                     env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("the app exited:\n" + self.proc.stderr.read())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("the app did not start")

    def get(self, path, method="GET", body=None, headers=None):
        """(status, body text) of one request."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stop(self):
        """Stops the server; returns its stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.stderr.read()


class AppServers:
    """The ``app`` fixture of the integration tests: writes an app (``source``, dedented) to
    ``tmp_path / relative`` with any extra ``files`` ({relative path: text}), and
    ``start(args=(), **env)`` serves it (TRACESNAP_HOME in ``tmp_path / "home"``, working directory
    ``tmp_path``); every server started is stopped when the ``with`` block ends.

        @pytest.fixture
        def app(tmp_path):
            with AppServers(tmp_path, "flask_shop.py", APP) as start:
                yield start
    """

    def __init__(self, tmp_path: Path, relative: str, source: str, files=None):
        self.tmp_path = tmp_path
        self.path = self._write(relative, textwrap.dedent(source))
        for name, text in (files or {}).items():
            self._write(name, text)
        self.servers = []

    def _write(self, relative: str, text: str) -> Path:
        path = self.tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def start(self, args=(), **env) -> AppServer:
        server = AppServer(self.path, {"TRACESNAP_HOME": self.tmp_path / "home", **env}, cwd=self.tmp_path,
                           args=args)
        self.servers.append(server)
        return server

    def __enter__(self):
        return self.start

    def __exit__(self, *exc_info):
        for server in self.servers:
            server.stop()


def traces_in(directory: Path):
    """The request traces written to ``directory``, oldest first."""
    files = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return [json.loads(p.read_text()) for p in files]


def library_entries(home: Path):
    index = home / "index.json"
    return json.loads(index.read_text())["traces"] if index.exists() else []
