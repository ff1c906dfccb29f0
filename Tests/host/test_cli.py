"""CLI behaviour of the `tracesnap` binary: every command, output format and error path."""

import json
import os
import pty
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from conftest import REFERENCE_TRACES, seed


def single_error_line(result, code=2):
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and "Fatal error" not in result.stderr
    return lines[0]


def display_width(text):
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


# MARK: - top level

def test_version(run):
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == "tracesnap 0.3.0"


def test_no_subcommand_prints_help(run):
    result = run()
    assert result.returncode == 0
    assert "USAGE" in result.stdout or "USAGE" in result.stderr
    for name in ("record", "view", "export", "list", "rename", "delete", "init", "project"):
        assert name in result.stdout + result.stderr


def test_unknown_subcommand_is_a_usage_error(run):
    line = single_error_line(run("frobnicate"))
    assert "frobnicate" in line


# MARK: - list

def test_list_empty(run, home):
    result = run("list")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"(no saved records yet in {home})",
        "Run `tracesnap record <file.py>` to create one.",
    ]
    result = run("list", "--project", "nope")
    assert f"(no saved records yet for project 'nope' in {home})" in result.stdout


def test_list_table_is_aligned_with_wide_names(run, home):
    seed(home, "calc", project="calculator", events=176)
    seed(home, "名前の長いトレース ✓", project="日本", events=5)
    seed(home, "emoji 🎉🎉 party", project="p", events=12345)
    seed(home, "combining e\u0301e\u0301", project="p", events=1)
    seed(home, "evil\nname\x1b[31m", project="p", events=2)
    result = run("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "PROJECT", "CREATED", "EVENTS", "KIND"]
    assert len(lines) == 6
    assert "\x1b" not in result.stdout
    # Every column starts at the same display column in every row.
    header = lines[0]
    starts = [header.index(h) for h in ("NAME", "PROJECT", "CREATED")]
    events_end = header.index("EVENTS") + len("EVENTS")
    for line in lines[1:]:
        for col in starts:
            prefix = ""
            width = 0
            for ch in line:
                if width >= col:
                    break
                prefix += ch
                width = display_width(prefix)
            assert width == col, (line, col)
            assert line[len(prefix) - 1] == " " and line[len(prefix)] != " ", (line, col)
        # EVENTS is right-aligned: the number ends where the header ends.
        number = re.search(r"(\d+)  script$", line)
        assert number, line
        assert display_width(line[: number.end(1)]) == events_end
    # Newest first.
    assert "combining" in lines[2] or "evil" in lines[1]


def test_list_project_filter(run, home):
    seed(home, "a", project="one")
    seed(home, "b", project="two")
    result = run("list", "--project", "two")
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 2
    assert " b " in result.stdout


def test_list_rebuilds_a_corrupt_index(run, home):
    a = seed(home, "alpha", events=7)
    b = seed(home, "beta", events=2)
    (home / "index.json").write_text('{"version": 1, "traces": [{"id": ')
    result = run("list")
    assert result.returncode == 0
    assert a["id"] in result.stdout and b["id"] in result.stdout
    assert "corrupt" in result.stderr
    kept = [p.name for p in home.iterdir() if p.name.startswith("index.json.corrupt-")]
    assert len(kept) == 1
    assert json.loads((home / "index.json").read_text())["version"] == 1


def test_list_rebuilds_a_missing_index(run, home):
    a = seed(home, "alpha")
    (home / "index.json").unlink()
    result = run("list")
    assert result.returncode == 0
    assert a["id"] in result.stdout


# MARK: - rename

def test_rename(run, home):
    meta = seed(home, "old")
    result = run("rename", meta["id"], "CLI test ✓ renamed")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tracesnap: renamed {meta['id']} -> 'CLI test ✓ renamed'"
    index = json.loads((home / "index.json").read_text())
    assert index["traces"][0]["name"] == "CLI test ✓ renamed"


def test_rename_unknown_and_blank(run, home):
    meta = seed(home, "old")
    assert single_error_line(run("rename", "nope", "x")) == "error: no record with id 'nope'"
    assert single_error_line(run("rename", "old", "x")) == "error: no record with id 'old'"
    line = single_error_line(run("rename", meta["id"], "   "))
    assert "empty" in line
    assert json.loads((home / "index.json").read_text())["traces"][0]["name"] == "old"
    single_error_line(run("rename", meta["id"]))


# MARK: - delete

def test_delete_force(run, home):
    meta = seed(home, "gone")
    trace_file = home / "traces" / f"{meta['id']}.json"
    assert trace_file.exists()
    result = run("delete", meta["id"], "-f")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tracesnap: deleted {meta['id']}"
    assert not trace_file.exists()
    assert json.loads((home / "index.json").read_text())["traces"] == []


def test_delete_without_tty_refuses(run, home):
    meta = seed(home, "kept")
    for stdin in (subprocess.DEVNULL, None):
        result = run("delete", meta["id"], stdin=stdin) if stdin is not None else run("delete", meta["id"], input="y\n")
        line = single_error_line(result, code=1)
        assert "-f" in line
    assert (home / "traces" / f"{meta['id']}.json").exists()


def run_with_tty(run, args, answer):
    """Runs the binary with a pseudo-terminal as stdin and answers the prompt."""
    pid, fd = pty.fork()
    if pid == 0:
        env = run.env()
        os.execve(str(run.tsbin), [str(run.tsbin), *args], env)
    output = b""
    if answer is None:
        os.write(fd, b"\x04")  # EOF
    else:
        os.write(fd, answer.encode())
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_delete_prompt_on_a_terminal(run, home):
    meta = seed(home, "maybe")
    code, out = run_with_tty(run, ["delete", meta["id"]], "n\n")
    assert code == 0
    assert f"delete '{meta['id']}'? [y/N]" in out
    assert "aborted" in out
    assert (home / "traces" / f"{meta['id']}.json").exists()
    code, out = run_with_tty(run, ["delete", meta["id"]], None)
    assert code == 1
    assert "error:" in out and "Traceback" not in out
    assert (home / "traces" / f"{meta['id']}.json").exists()
    code, out = run_with_tty(run, ["delete", meta["id"]], "y\n")
    assert code == 0
    assert f"tracesnap: deleted {meta['id']}" in out
    assert not (home / "traces" / f"{meta['id']}.json").exists()


def test_delete_unknown(run, home):
    assert single_error_line(run("delete", "nope", "-f")) == "error: no record with id 'nope'"
    assert single_error_line(run("delete", "nope")) == "error: no record with id 'nope'"
    line = single_error_line(run("delete", "../../etc/passwd", "-f"))
    assert "no record" in line


# MARK: - init / project

def test_init_and_project(run, tmp_path):
    work = tmp_path / "projA"
    work.mkdir()
    result = run("project", cwd=work)
    assert result.stdout.splitlines() == [
        "projA  (defaulted to folder name — no .tracesnap.toml found)",
        "Run `tracesnap init` to make it explicit.",
    ]
    result = run("init", cwd=work)
    assert result.returncode == 0, result.stderr
    config = work / ".tracesnap.toml"
    assert result.stdout.splitlines() == [
        "tracesnap: project 'projA'",
        f"tracesnap: wrote {config}",
        "New records made from this directory will be tagged with this project.",
    ]
    assert 'project = "projA"' in config.read_text()
    assert config.read_text().startswith("# tracesnap project config")
    # A second init without --name refuses to clobber.
    single_error_line(run("init", cwd=work), code=1)
    result = run("init", "--name", "shop api", cwd=work)
    assert result.returncode == 0
    sub = work / "deep" / "er"
    sub.mkdir(parents=True)
    result = run("project", cwd=sub)
    assert result.stdout.strip() == f"shop api  ({config})"


@pytest.mark.parametrize("name", ['we"ird', "back\\slash", "it's", "tab\tname", "ünï ✓"])
def test_project_set_with_awkward_names(run, tmp_path, name):
    work = tmp_path / "w"
    work.mkdir()
    run("init", cwd=work)
    # (other keys must be real ones: `project` reads the file with the resolver `record` uses)
    (work / ".tracesnap.toml").write_text('# keep me\nproject = "old"  # trailing comment\nredact = ["pin"]\n')
    result = run("project", name, cwd=work)
    assert result.returncode == 0, result.stderr
    assert "tracesnap: project set to" in result.stdout
    text = (work / ".tracesnap.toml").read_text()
    assert "# keep me" in text and 'redact = ["pin"]' in text and "# trailing comment" in text
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    assert tomllib.loads(text)["project"] == name
    result = run("project", cwd=work)
    assert result.stdout.startswith(name.replace("\t", "\\t") + "  (")


def test_project_empty_name(run, tmp_path):
    single_error_line(run("project", "  ", cwd=tmp_path))


# MARK: - record

def test_record_missing_file(run, tmp_path):
    line = single_error_line(run("record", "nope.py", cwd=tmp_path))
    assert line == f"error: {tmp_path}/nope.py not found"


def test_record_directory(run, tmp_path):
    line = single_error_line(run("record", str(tmp_path)))
    assert "is a directory" in line


def test_record_out_into_missing_directory(run, tmp_path):
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    line = single_error_line(run("record", script, "--out", tmp_path / "missing" / "t.json"))
    assert "does not exist" in line
    line = single_error_line(run("record", script, "--structure-out", tmp_path / "nope" / "s.json"))
    assert "does not exist" in line
    line = single_error_line(run("record", script, "--out", tmp_path))
    assert "is a directory" in line


def test_record_missing_package(run, tmp_path):
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    line = single_error_line(run("record", script, env={"TRACESNAP_PYTHON_PACKAGE": tmp_path / "none"}), code=1)
    assert "_launch.py" in line


def test_record_bad_python(run, tmp_path, fake_python_package):
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    env = {"TRACESNAP_PYTHON_PACKAGE": fake_python_package}
    single_error_line(run("record", script, "--python", tmp_path / "nopython", env=env))
    single_error_line(run("record", script, "--python", "no-such-python-xyz", env=env))


def test_record_execs_the_launcher_with_the_request(run, tmp_path, fake_python_package, home):
    project_dir = tmp_path / "myproj"
    project_dir.mkdir()
    (project_dir / ".tracesnap.toml").write_text('project = "from config"\n')
    script = project_dir / "calc.py"
    script.write_text("print(1)\n")
    dump = tmp_path / "dump.json"
    env = {"TRACESNAP_PYTHON_PACKAGE": fake_python_package, "TRACESNAP_PYTHON": sys.executable,
           "FAKE_LAUNCH_DUMP": dump, "FAKE_LAUNCH_MODE": "exit", "FAKE_LAUNCH_CODE": "7"}
    result = run("record", script, "a1", "--redact", "pin, cvv", "--redact", "ssn", "--plugin", "p1",
                 "--plugin", "p2", "--kind", "test", "--out", tmp_path / "o.json", "--", "--flag", "x",
                 cwd=tmp_path, env=env)
    # exec: the exit status is the script's.
    assert result.returncode == 7, result.stderr
    got = json.loads(dump.read_text())
    req = got["request"]
    assert got["argv"] == [str(fake_python_package / "_launch.py")]
    assert req == {
        "script": str(script), "argv": [str(script), "a1", "--flag", "x"], "trace_id": "calc", "name": "calc",
        "out": str(tmp_path / "o.json"), "structure_out": None, "library": True, "kind": "test",
        "redact": ["pin", "cvv", "ssn"], "project": None, "plugins": ["p1", "p2"], "home": str(home),
        "max_events": None, "last_events": None, "functions": [], "exclude_functions": [],
    }
    # The project comes from the config, resolved by the runner (tracesnap._config), not here.
    assert got["cwd"] == str(tmp_path)


def test_record_request_options(run, tmp_path, fake_python_package):
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    dump = tmp_path / "dump.json"
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    env = {"TRACESNAP_PYTHON_PACKAGE": fake_python_package, "FAKE_LAUNCH_DUMP": dump,
           "FAKE_LAUNCH_MODE": "exit", "VIRTUAL_ENV": venv}
    result = run("record", script, "--id", "myid", "--name", "My Name", "--no-library", "--project", "pp",
                 "--structure-out", tmp_path / "st.json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    req = json.loads(dump.read_text())["request"]
    assert req["trace_id"] == "myid" and req["name"] == "My Name" and req["library"] is False
    assert req["project"] == "pp" and req["structure_out"] == str(tmp_path / "st.json")
    assert req["argv"] == [str(script)]


def test_record_passes_stdin_and_output_through(run, tmp_path, fake_python_package, home):
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    env = {"TRACESNAP_PYTHON_PACKAGE": fake_python_package, "TRACESNAP_PYTHON": sys.executable}
    result = run("record", script, "arg", input="typed line\n", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "hello from s.py ['arg']" in result.stdout
    assert "got: typed line" in result.stdout
    assert "to stderr ✓" in result.stderr
    listing = run("list")
    assert " s " in listing.stdout


# MARK: - view (errors only; the server itself is in test_server.py)

def test_view_errors(run, home, tmp_path):
    line = single_error_line(run("view", "missing.json", cwd=tmp_path))
    assert line == "error: no library entry or file matching 'missing.json'"
    single_error_line(run("view", "--port", "99999"))
    single_error_line(run("view", "--port", "-1"))
    single_error_line(run("view", "--port", "abc"))
    single_error_line(run("view", "--view", "nonsense"))
    line = single_error_line(run("view", str(tmp_path)))
    assert "directory" in line
    (tmp_path / "corrupt.json").write_text('{"version": "0.2", "events": [1 2]}')
    line = single_error_line(run("view", tmp_path / "corrupt.json"))
    assert "not valid JSON" in line or "not a JSON" in line
    (tmp_path / "text.json").write_text("hello")
    assert "not a JSON file" in single_error_line(run("view", tmp_path / "text.json"))
    (tmp_path / "other.json").write_text('{"a": 1}')
    assert "not a tracesnap trace" in single_error_line(run("view", tmp_path / "other.json"))
    (tmp_path / "empty.json").write_text("")
    assert "empty" in single_error_line(run("view", tmp_path / "empty.json"))
    single_error_line(run("view", "--scan-root", tmp_path / "nope"))


def test_view_ambiguous_name_lists_candidates(run, home):
    a = seed(home, "dup", project="x")
    b = seed(home, "dup", project="y")
    result = run("view", "dup")
    assert result.returncode == 2
    assert result.stderr.startswith("error: 'dup' matches 2 library records")
    assert a["id"] in result.stderr and b["id"] in result.stderr
    assert "Traceback" not in result.stderr


# MARK: - export

def test_export_html(run, home, tmp_path, players):
    trace = json.loads((REFERENCE_TRACES / "sample_program.trace.json").read_text())
    trace["events"][0]["sneaky"] = "</script><script>alert(1)</script><!--"
    trace_file = tmp_path / "t.json"
    trace_file.write_text(json.dumps(trace))
    out = tmp_path / "out.html"
    result = run("export", "--html", out, trace_file, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert "__TRACESNAP_TOKEN__" not in html
    assert "data:text/javascript;base64," in html
    assert '"ts/main.js"' in html and '"ts/lib/load.js"' in html
    assert "rgb(1, 2, 3)" in html and 'rel="stylesheet"' not in html
    assert 'src="./src/main.js"' not in html
    match = re.search(r'<script type="application/json" id="tracesnap-inline-trace">(.*?)</script>', html, re.S)
    assert match
    inline = match.group(1)
    assert "</" not in inline
    assert json.loads(inline)["events"][0]["sneaky"] == trace["events"][0]["sneaky"]
    # Only one closing tag per script element: the payload cannot break out.
    assert html.count("<script") == html.count("</script>")


def test_export_opens_offline_in_a_browser(run, tmp_path):
    """The exported page runs its ES modules from file:// (import map of data: URLs)."""
    import shutil
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        pytest.skip("no headless browser")
    trace = json.loads((REFERENCE_TRACES / "sample_program.trace.json").read_text())
    trace["events"][0]["sneaky"] = "</script><!--<script>"
    trace_file = tmp_path / "t.json"
    trace_file.write_text(json.dumps(trace))
    out = tmp_path / "page.html"
    assert run("export", "--html", out, trace_file, cwd=tmp_path).returncode == 0
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    assert f'<div id="out">events:{len(trace["events"])}:sample_program</div>' in dom, dom[-500:]


def test_export_library_entry_and_errors(run, home, tmp_path):
    meta = seed(home, "exported", events=4)
    out = tmp_path / "e.html"
    result = run("export", "--html", out, "exported", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"trace_id": "exported"' in out.read_text() or '"trace_id":"exported"' in out.read_text()
    result = run("export", "--html", tmp_path / "newest.html", cwd=tmp_path)
    assert result.returncode == 0
    single_error_line(run("export", "--html", tmp_path / "x.html", "nope", cwd=tmp_path))
    single_error_line(run("export", "--html", tmp_path / "missing" / "x.html", meta["id"], cwd=tmp_path))
    single_error_line(run("export", meta["id"], cwd=tmp_path))


def test_export_truncated_trace_is_repaired(run, tmp_path):
    text = (REFERENCE_TRACES / "sample_complex.trace.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) * 2 // 3])
    out = tmp_path / "cut.html"
    result = run("export", "--html", out, cut, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "partial" in result.stderr
    inline = re.search(r'id="tracesnap-inline-trace">(.*?)</script>', out.read_text(), re.S).group(1)
    trace = json.loads(inline)
    assert trace["session"]["partial"] is True
    assert len(trace["events"]) > 10
