"""Per-project configuration and third-party plugins, end to end through the `tracesnap` binary.

`init` output, recordings that take their project, plugins and options from `.tracesnap.toml` /
`[tool.tracesnap]` with the documented precedence, one-line errors with FILE:LINE, `tracesnap
plugins` over the config's plugins, plugins that must be refused (C fixtures, a truncated file, a
non-plugin library) or disabled, and the out-of-tree example plugins in `examples/plugins`, built
from scratch with `swift build` (once per test run: the build is cached by a hash of its sources).

Recordings need the Python package with its native recorder (the wheel in `scripts/test`; a
development build with TRACESNAP_PYTHON_PACKAGE and TRACESNAP_LIB_DIR, see test_end_to_end.py).
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, start_server, stop_server
from recorded import PACKAGE, recorder_env

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

needs_recorder = pytest.mark.skipif(
    PACKAGE is None, reason="the tracesnap Python package with its native recorder is not installed")

ABI_INCLUDE = REPO / "Sources" / "Core" / "PluginABI" / "include"
FIXTURE_SOURCE = REPO / "Tests" / "TraceSnapPluginTests" / "Fixtures" / "fixture_plugin.c"

SCRIPT = '''\
def noisy_helper(n):
    total = 0
    for i in range(n):
        total += i
    return total


def main(seed):
    items = []
    for k in range(3):
        items.append(k * seed)
    label = 'a,"b"'
    pin = 1234
    return items, noisy_helper(4), label


print("result", main(2))
'''


@pytest.fixture
def env():
    """Environment for real recordings (the installed package, this interpreter)."""
    return recorder_env()


def library_entries(home):
    index = home / "index.json"
    return json.loads(index.read_text())["traces"] if index.exists() else []


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def warnings_of(stderr):
    return [line for line in stderr.splitlines() if "warning:" in line]


# MARK: - init

def test_init_writes_a_commented_config_that_parses(run, tmp_path):
    work = tmp_path / "shop"
    work.mkdir()
    result = run("init", cwd=work)
    assert result.returncode == 0, result.stderr
    text = (work / ".tracesnap.toml").read_text()
    # only the project is set; every other key is there, commented, with an example
    assert tomllib.loads(text) == {"project": "shop"}
    for key in ("plugins", "plugin_path", "redact", "sink", "output_dir", "[source]", "include",
                "exclude", "[options.json]"):
        assert any(line.startswith("# ") and key in line for line in text.splitlines()), key
    # the commented examples are valid settings once uncommented
    uncommented = "\n".join(line[2:] if line.startswith("# ") and ("=" in line or line.startswith("# [")) else line
                            for line in text.splitlines())
    assert set(tomllib.loads(uncommented)) == {"project", "plugins", "plugin_path", "redact", "sink",
                                                "output_dir", "source", "options"}


# MARK: - recordings that follow the configuration

@needs_recorder
def test_project_precedence_cli_env_config_pyproject(run, tmp_path, home, env):
    root = tmp_path / "repo"
    write(root / "pyproject.toml", '[project]\nname = "x"\n\n[tool.tracesnap]\nproject = "from-pyproject"\n')
    script = write(root / "app" / "deep" / "s.py", "x = 1\n")

    def project_of(*args, **extra):
        result = run("record", script, *args, cwd=tmp_path, env={**env, **extra})
        assert result.returncode == 0, result.stderr
        return library_entries(home)[-1]["project"]

    assert project_of() == "from-pyproject"
    write(root / "app" / ".tracesnap.toml", 'project = "from-toml"\n')  # found walking up
    assert project_of() == "from-toml"
    assert project_of(TRACESNAP_PROJECT="from-env") == "from-env"
    assert project_of("--project", "from-cli", TRACESNAP_PROJECT="from-env") == "from-cli"
    trace = json.loads((home / "traces" / f"{library_entries(home)[-1]['id']}.json").read_text())
    assert trace["session"]["project"] == "from-cli"


@needs_recorder
def test_project_and_view_resolve_the_project_as_record_does(run, tmp_path, env):
    """`tracesnap project` and `view` use the one resolver (tracesnap/_config.py): pyproject's
    [tool.tracesnap], TRACESNAP_PROJECT and .tracesnap.toml, with record's precedence."""
    root = tmp_path / "repo"
    pyproject = write(root / "pyproject.toml", '[tool.tracesnap]\nproject = "from-pyproject"\n')
    work = root / "app" / "deep"
    work.mkdir(parents=True)

    def shown(**extra):
        result = run("project", cwd=work, env={**env, **extra})
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    assert shown() == [f"from-pyproject  ({pyproject} [tool.tracesnap])"]
    assert shown(TRACESNAP_PROJECT="from-env") == ["from-env  (TRACESNAP_PROJECT)"]
    config = write(root / "app" / ".tracesnap.toml", 'redact = ["pin"]\n')  # no project: pyproject's
    assert shown() == [f"from-pyproject  ({pyproject} [tool.tracesnap])"]
    config.write_text('project = "from-toml"\n')
    assert shown() == [f"from-toml  ({config})"]
    assert shown(TRACESNAP_PROJECT="from-env") == ["from-env  (TRACESNAP_PROJECT)"]
    pyproject.unlink()
    config.write_text('plugins = []\n')
    assert shown() == [f"deep  (defaulted to folder name — {config} has no project key)"]

    def served():
        """(project, startup lines) of `view` with `work` as its scan root."""
        server = start_server(run, "--scan-root", work, "--port", "0", cwd=tmp_path, env=env)
        try:
            status, _, body = server.request("GET", "/api/session")
        finally:
            stop_server(server)
        assert status == 200
        return body["project"], server.stderr_lines

    # `view` serves the same project (its scan root's)
    pyproject.write_text('[tool.tracesnap]\nproject = "from-pyproject"\n')
    config.unlink()
    assert served()[0] == "from-pyproject"

    # a broken configuration: one line, as `record` says it, exit 2; `view` still serves
    config = write(root / "app" / ".tracesnap.toml", 'project = "p"\nredact = "pin"\n')
    result = run("project", cwd=work, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"tracesnap: error: {config}:2: redact must be a list of variable names, not a string ('pin')"]
    project, lines = served()
    assert project == "p"
    assert any(line.startswith(f"tracesnap: warning: {config}:2: redact must be a list") for line in lines)


@needs_recorder
def test_config_error_is_one_line_with_file_and_line(run, tmp_path, env):
    config = write(tmp_path / ".tracesnap.toml", """\
        project = "p"
        plugins = [
            "json",
        ]
        [source]
        include = ["*.py"]
        exclud = ["x"]
        """)
    script = write(tmp_path / "sub" / "s.py", 'print("ran")\n')
    result = run("record", script, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stdout == ""  # the script never ran
    assert result.stderr.splitlines() == [
        f"tracesnap: error: {config}:7: unknown key 'source.exclud' (known keys: include, exclude)"]
    config.write_text('project = "p"\nredact = "pin"\n')
    result = run("record", script, cwd=tmp_path, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"tracesnap: error: {config}:2: redact must be a list of variable names, not a string ('pin')"]
    # `tracesnap plugins` reports the same error the same way
    result = run("plugins", cwd=tmp_path / "sub", env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"tracesnap: error: {config}:2: redact must be a list of variable names, not a string ('pin')"]


@needs_recorder
def test_plugin_flag_works_for_builtin_sinks_and_paths(run, tmp_path, home, env):
    script = write(tmp_path / "calc.py", SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    result = run("record", script, "--plugin", "json", "--plugin", "ndjson", "--no-library", cwd=out,
                 env=env)
    assert result.returncode == 0, result.stderr
    assert "result" in result.stdout
    assert json.loads((out / "calc.json").read_text())["trace_id"] == "calc"
    assert (out / "calc.ndjson").exists()
    # output_dir from the config decides where a named sink writes
    write(tmp_path / ".tracesnap.toml", 'output_dir = "traces"\n')
    (tmp_path / "traces").mkdir()
    result = run("record", script, "--plugin", "json", cwd=out, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "traces" / "calc.json").exists()
    assert len(library_entries(home)) == 1  # and the library still got its copy
    # every built-in name is accepted
    for name in ("annotator", "redactor", "library", "requests", "urllib", "httpx"):
        result = run("record", script, "--plugin", name, "--no-library", "--out", out / "t.json", cwd=out,
                     env=env)
        assert result.returncode == 0 and not warnings_of(result.stderr), (name, result.stderr)


# MARK: - plugins that must be refused or disabled

def build_fixture(variant, directory):
    output = directory / f"fixture{variant}.so"
    subprocess.run(["cc", "-shared", "-fPIC", f"-DFIXTURE={variant}", "-I", str(ABI_INCLUDE), str(FIXTURE_SOURCE),
                    "-o", str(output)], check=True)
    return output


@pytest.fixture(scope="module")
def bad_plugins(tmp_path_factory):
    """Every kind of library the loader must refuse or disable, plus one built for ABI 1.0."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    directory = tmp_path_factory.mktemp("plugins")
    libm = next(p for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6",
                            "/lib64/libm.so.6", "/usr/lib64/libm.so.6") if os.path.exists(p))
    truncated = directory / "libtruncated.so"
    truncated.write_bytes(build_fixture(0, directory).read_bytes()[:3000])
    return {
        "old-minor": build_fixture(6, directory),     # good, built against ABI 1.0
        "failing": build_fixture(4, directory),       # on_event fails on the 3rd event
        "v2-symbol": build_fixture(1, directory),     # exports only tracesnap_plugin_init_v2
        "major-2": build_fixture(3, directory),       # descriptor says ABI major 2
        "truncated": truncated,
        "not-a-plugin": Path(libm),
    }


@needs_recorder
def test_broken_plugins_in_the_config_are_refused_and_recording_continues(run, tmp_path, env, bad_plugins):
    names = ["v2-symbol", "major-2", "truncated", "not-a-plugin", "failing", "old-minor"]
    write(tmp_path / ".tracesnap.toml",
          "plugins = [\n" + "".join(f'    "{bad_plugins[n]}",\n' for n in names) + "]\n")
    script = write(tmp_path / "calc.py", SCRIPT)
    out = tmp_path / "t.json"
    result = run("record", script, "--out", out, "--no-library", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "result ([0, 2, 4], 6, 'a,\"b\"')" in result.stdout  # the program is unchanged
    warnings = warnings_of(result.stderr)
    expected = {
        "v2-symbol": "was built for plugin ABI v2",
        "major-2": "uses plugin ABI v2",
        "truncated": "is truncated",
        "not-a-plugin": "is not a tracesnap plugin",
        "failing": "plugin 'c-fixture' failed: fixture failure on purpose; it is disabled and recording continues",
    }
    assert len(warnings) == len(expected), result.stderr  # one each, nothing for the 1.0 plugin
    for name, fragment in expected.items():
        assert sum(fragment in w for w in warnings) == 1, (name, result.stderr)
    trace = json.loads(out.read_text())
    assert trace["session"]["event_count"] == len(trace["events"]) > 10
    plugins = {p["name"]: p for p in trace["session"]["recorder"]["plugins"]}
    assert "c-fixture" in plugins


@needs_recorder
def test_plugins_lists_the_config_plugins_with_reasons(run, tmp_path, env, bad_plugins):
    write(tmp_path / ".tracesnap.toml", 'plugins = ["{}", "{}", "{}", "nosuchplugin"]\n'.format(
        bad_plugins["major-2"], bad_plugins["truncated"], bad_plugins["old-minor"]))
    result = run("plugins", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr  # some do not load
    rows = json.loads(result.stdout)["plugins"]
    by_path = {row["path"]: row for row in rows}
    builtin = [row for row in rows if row["source"] == "built-in"]
    assert {row["name"] for row in builtin} >= {"annotator", "redactor", "json", "library"}
    assert all(row["ok"] for row in builtin)
    old = by_path[str(bad_plugins["old-minor"])]
    assert old["ok"] and old["abi"] == "1.0" and old["source"] == "config" and old["enabled"]
    assert "uses plugin ABI v2" in by_path[str(bad_plugins["major-2"])]["error"]
    assert "is truncated" in by_path[str(bad_plugins["truncated"])]["error"]
    missing = [row for row in rows if "nosuchplugin" in row["path"]]
    assert len(missing) == 1 and not missing[0]["ok"] and "no such file" in missing[0]["error"]
    table = run("plugins", cwd=tmp_path, env=env).stdout
    assert "ENABLED" in table and "reason: " in table and "is truncated" in table


# MARK: - the out-of-tree example plugins

def _sources_hash():
    digest = hashlib.sha256()
    roots = [REPO / "examples" / "plugins", REPO / "Sources" / "Plugins" / "PluginKit",
             REPO / "Sources" / "Core" / "PluginABI", REPO / "Sources" / "Core" / "JSON"]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and ".build" not in path.parts and path.name != "Package.resolved":
                digest.update(str(path.relative_to(REPO)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_example(name, cache):
    """`swift build` of examples/plugins/NAME with a scratch path in `cache` (reused when the
    sources did not change, so the five Python runs of scripts/test build each example once)."""
    scratch = cache / name
    product = scratch / "debug" / f"lib{name}.so"
    if not product.exists():
        swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
        result = subprocess.run([swift, "build", "--package-path", str(REPO / "examples" / "plugins" / name),
                                 "--scratch-path", str(scratch)], capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert product.exists()
    return product


@pytest.fixture(scope="session")
def example_plugins():
    if shutil.which("swift") is None and not os.path.exists("/opt/swift/usr/bin/swift"):
        pytest.skip("no Swift toolchain to build the example plugins")
    base = Path(os.environ.get("TRACESNAP_TEST_DIR") or tempfile.gettempdir())
    cache = base / f"tracesnap-example-plugins-{_sources_hash()}"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:  # parallel runs wait for one build
        fcntl.flock(lock, fcntl.LOCK_EX)
        return {name: build_example(name, cache) for name in ("csv-history", "drop-functions")}


@needs_recorder
def test_example_plugins_from_the_config(run, tmp_path, home, env, example_plugins):
    project = tmp_path / "proj"
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    for library in example_plugins.values():
        shutil.copy(library, plugin_dir / library.name)
    write(project / ".tracesnap.toml", f"""\
        project = "examples"
        plugin_path = ["{plugin_dir}"]
        plugins = ["drop-functions", "csv-history"]
        redact = ["pin"]

        [options.drop-functions]
        functions = ["noisy_*"]

        [options.csv-history]
        path = "histories/calc.csv"
        """)
    (project / "histories").mkdir()
    script = write(project / "src" / "calc.py", SCRIPT)
    result = run("record", script, "--out", tmp_path / "t.json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert not warnings_of(result.stderr), result.stderr
    assert "result ([0, 2, 4], 6, 'a,\"b\"')" in result.stdout

    # the transform: no event of the dropped function is left, and it said how many it dropped
    trace = json.loads((tmp_path / "t.json").read_text())
    functions = {event.get("func") for event in trace["events"]}
    assert "main" in functions and "noisy_helper" not in functions
    assert trace["session"]["dropped_by_drop_functions"] > 10
    assert library_entries(home)[-1]["project"] == "examples"

    # the sink: the CSV file (relative to the config file) holds every variable's history
    import csv
    with open(project / "histories" / "calc.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    history = [(r["function"], r["variable"], r["kind"], r["change_index"], r["value"]) for r in rows]
    assert ("main", "seed", "arg", "0", "2") in history
    assert [h[4] for h in history if h[1] == "items"] == ["[]", "[0]", "[0, 2]", "[0, 2, 4]"]
    assert [h[2] for h in history if h[1] == "items"] == ["assign", "mutation", "mutation", "mutation"]
    assert [h[4] for h in history if h[1] == "k"] == ["0", "1", "2"]
    assert ("main", "label", "assign", "0", "'a,\"b\"'") in history  # CSV quoting round-trips
    assert [h[4] for h in history if h[1] == "pin"] == ["<redacted>"]  # redacted before any sink
    assert not any(h[0] == "noisy_helper" for h in history)  # dropped before the sinks
    # both are listed as enabled by `tracesnap plugins`
    rows = json.loads(run("plugins", "--json", cwd=project / "src", env=env).stdout)["plugins"]
    listed = {row.get("name"): row for row in rows if row["source"] == "plugin_path"}
    assert listed["csv-history"]["enabled"] and listed["csv-history"]["kind"] == ["sink"]
    assert listed["drop-functions"]["enabled"] and listed["drop-functions"]["kind"] == ["transform"]


@needs_recorder
def test_example_plugin_with_bad_options_is_skipped_with_one_warning(run, tmp_path, env, example_plugins):
    write(tmp_path / ".tracesnap.toml", f"""\
        plugins = ["{example_plugins['drop-functions']}"]
        [options.drop-functions]
        functions = []
        """)
    script = write(tmp_path / "calc.py", SCRIPT)
    result = run("record", script, "--out", tmp_path / "t.json", "--no-library", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    warnings = warnings_of(result.stderr)
    assert len(warnings) == 1 and "drop-functions needs a \"functions\" option" in warnings[0], result.stderr
    functions = {event.get("func") for event in json.loads((tmp_path / "t.json").read_text())["events"]}
    assert "noisy_helper" in functions


@needs_recorder
def test_source_include_and_exclude_decide_the_traced_files(run, tmp_path, env):
    write(tmp_path / ".tracesnap.toml", """\
        [source]
        include = ["lib/*.py"]
        exclude = ["app/helpers.py"]
        """)
    write(tmp_path / "lib" / "extra.py", "def triple(x):\n    y = x * 3\n    return y\n")
    write(tmp_path / "app" / "helpers.py", "def double(x):\n    y = x * 2\n    return y\n")
    script = write(tmp_path / "app" / "main.py", """\
        import importlib, os, sys
        import helpers
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
        extra = importlib.import_module("ex" + "tra")  # invisible to import discovery
        print(helpers.double(2), extra.triple(2))
        """)
    out = tmp_path / "t.json"
    result = run("record", script, "--out", out, "--no-library", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "4 6\n"
    trace = json.loads(out.read_text())
    files = set(trace["session"]["sources_by_file"])
    assert files == {str(script), str(tmp_path / "lib" / "extra.py")}
    functions = {event.get("func") for event in trace["events"]}
    assert "triple" in functions and "double" not in functions
