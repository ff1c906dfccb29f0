"""The framework integrations honour the project's configuration (.tracesnap.toml,
[tool.tracesnap], TRACESNAP_*) as `tracesnap record` does: project, plugins, redactions,
output_dir and sink, with the framework settings first. Driven through the shared
RequestRecording (what every shim uses), in a child process per case; one Flask case end to end."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tsutil import PACKAGE_DIR, needs_native
from webapps import AppServers, library_entries

pytestmark = needs_native

VIEW = '''
import json
import os
import sys
from tracesnap.integrations._request import RequestRecording


def checkout(items):
    pin = 4321
    total = sum(items)
    return total


settings = json.loads(sys.argv[1])
recording = RequestRecording(checkout, None, settings)
recording.begin()
result = checkout([2, 3])
recording.end({"method": "GET", "path": "/checkout"}, 200)
print(json.dumps({"result": result, "trace_id": recording.trace_id, "path": recording.path}))
'''


def _serve_one(tmp_path, settings=None, toml=None, env=None):
    app = tmp_path / "shop" / "views.py"
    app.parent.mkdir(parents=True, exist_ok=True)
    app.write_text(textwrap.dedent(VIEW))
    if toml is not None:
        (app.parent / ".tracesnap.toml").write_text(textwrap.dedent(toml))
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACESNAP_", "PYTEST_"))}
    child_env.update({"PYTHONPATH": str(PACKAGE_DIR.parent), "TRACESNAP_ENABLED": "1",
                      "TRACESNAP_HOME": str(tmp_path / "home")})
    if os.environ.get("TRACESNAP_LIB_DIR"):
        child_env["TRACESNAP_LIB_DIR"] = os.environ["TRACESNAP_LIB_DIR"]
    child_env.update(env or {})
    done = subprocess.run([sys.executable, str(app), json.dumps(settings or {})], capture_output=True, text=True,
                          cwd=str(tmp_path), env=child_env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def _assign(trace, name):
    return [e for e in trace["events"] if e["type"] == "assign" and e["var"] == name][0]["value"]["repr"]


def test_project_redact_plugins_output_dir_and_sink_come_from_the_project(tmp_path):
    out, stderr = _serve_one(tmp_path, toml='''
        project = "shop"
        redact = ["pin"]
        plugins = ["-requests", "-urllib"]
        output_dir = "recorded"
        sink = "ndjson"
    ''')
    assert out["result"] == 5 and "tracesnap:" not in stderr
    folder = tmp_path / "shop" / "recorded"  # output_dir, relative to the config file
    assert out["path"] == str(folder / f"{out['trace_id']}.json")
    trace = json.loads((folder / f"{out['trace_id']}.json").read_text())
    assert trace["session"]["project"] == "shop"
    assert _assign(trace, "pin") == "<redacted>" and _assign(trace, "total") == "5"
    plugins = {p["name"] for p in trace["session"]["recorder"]["plugins"]}
    assert "requests" not in plugins and "urllib" not in plugins and {"annotator", "redactor", "ndjson"} <= plugins
    # the configured sink instead of the library, next to the JSON file
    stream = [json.loads(line) for line in (folder / f"{out['trace_id']}.ndjson").read_text().splitlines()]
    assert stream[1:-1] == trace["events"]
    assert library_entries(tmp_path / "home") == []


def test_framework_settings_come_first(tmp_path):
    out, _ = _serve_one(tmp_path, settings={"output_dir": str(tmp_path / "mine"), "project": "web",
                                            "redact_names": ["total"]},
                        toml='project = "shop"\nredact = ["pin"]\noutput_dir = "recorded"\n')
    trace = json.loads((tmp_path / "mine" / f"{out['trace_id']}.json").read_text())
    assert trace["session"]["project"] == "web"
    # redactions add up: the project's and the framework's
    assert _assign(trace, "pin") == "<redacted>" and _assign(trace, "total") == "<redacted>"
    (entry,) = library_entries(tmp_path / "home")
    assert entry["project"] == "web" and entry["kind"] == "request"


def test_pyproject_and_environment(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.tracesnap]\nproject = "from-pyproject"\nredact = ["pin"]\n')
    out, _ = _serve_one(tmp_path, env={"TRACESNAP_REDACT": "total"})
    trace = json.loads((tmp_path / "traces" / f"{out['trace_id']}.json").read_text())
    assert trace["session"]["project"] == "from-pyproject"
    assert _assign(trace, "pin") == "<redacted>" and _assign(trace, "total") == "<redacted>"
    (entry,) = library_entries(tmp_path / "home")
    assert entry["project"] == "from-pyproject"


def test_without_a_configuration_the_folder_is_the_project(tmp_path):
    out, _ = _serve_one(tmp_path)
    trace = json.loads((tmp_path / "traces" / f"{out['trace_id']}.json").read_text())
    assert trace["session"]["project"] == "shop"  # the view's folder, as `tracesnap record` says
    (entry,) = library_entries(tmp_path / "home")
    assert entry["project"] == "shop"


def test_a_bad_configuration_leaves_the_request_unrecorded(tmp_path):
    out, stderr = _serve_one(tmp_path, toml='redact = "pin"\n')
    assert out["result"] == 5
    assert ".tracesnap.toml:1: redact must be a list" in stderr and "request served unrecorded" in stderr
    assert not (tmp_path / "traces").exists() or not list((tmp_path / "traces").iterdir())


FLASK_APP = '''
import sys
from flask import Flask
from tracesnap.integrations.flask import traced

app = Flask(__name__)
app.config["TRACESNAP"] = {"source_files": [__file__]}


@app.route("/pin")
@traced
def show_pin():
    pin = 1234
    return {"ok": True}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]))
'''


def test_flask_view_uses_the_project_sink_and_redactions(tmp_path):
    pytest.importorskip("flask")
    toml = 'project = "pins"\nredact = ["pin"]\nsink = "sqlite"\noutput_dir = "out"\n'
    with AppServers(tmp_path, "app/pins.py", FLASK_APP, files={"app/.tracesnap.toml": toml}) as start:
        server = start(TRACESNAP_ENABLED="1")
        assert server.get("/pin") == (200, '{"ok":true}\n')
    (trace_file,) = (tmp_path / "app" / "out").glob("*.json")
    trace = json.loads(trace_file.read_text())
    assert trace["session"]["project"] == "pins" and _assign(trace, "pin") == "<redacted>"
    assert trace_file.with_suffix(".sqlite").read_bytes()[:16] == b"SQLite format 3\x00"
    assert library_entries(tmp_path / "home") == []
