"""The examples in the repository run the same plainly and under the runner, and (with the
native recorder) produce sensible traces."""

import json
from pathlib import Path

import pytest

from tsutil import HERE, needs_native, ours, run_launched, run_plain, strip_ours
from tracesnap._discovery import discover

EXAMPLES = HERE.parent.parent.parent / "examples"
SCRIPTS = ["sample_program.py", "sample_complex.py", "sample_pipeline.py", "sample_backtrace.py",
           "calculator/calc.py"]

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="no examples/ directory here")


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs_the_same_under_the_runner(name):
    script = EXAMPLES / name
    plain = run_plain(script, cwd=str(script.parent))
    launched = run_launched(script, cwd=str(script.parent))
    assert plain.returncode == 0, plain.stderr
    assert launched.stdout == plain.stdout
    assert strip_ours(launched.stderr) == plain.stderr
    assert launched.returncode == 0


def test_calculator_reads_stdin():
    script = EXAMPLES / "calculator" / "calc.py"
    plain = run_plain(script, args=["-"], stdin=b"6 * 7\n2 ^ 5\n")
    launched = run_launched(script, args=["-"], stdin=b"6 * 7\n2 ^ 5\n")
    assert b"= 42" in plain.stdout and b"= 32" in plain.stdout
    assert launched.stdout == plain.stdout


def test_calculator_siblings_are_discovered():
    found = [Path(p).relative_to(EXAMPLES / "calculator").as_posix()
             for p in discover(str(EXAMPLES / "calculator" / "calc.py"))]
    assert found[0] == "calc.py"
    assert set(found) == {"calc.py", "history.py", "tokens.py", "operations/__init__.py",
                          "operations/basic.py", "operations/advanced.py"}


@needs_native
@pytest.mark.parametrize("name", SCRIPTS)
def test_example_trace(name, tmp_path):
    script = EXAMPLES / name
    out = tmp_path / "trace.json"
    r = run_launched(script, out=str(out), trace_id=Path(name).stem, timeout=300)
    assert r.returncode == 0, r.stderr
    trace = json.loads(out.read_text())
    types = {e["type"] for e in trace["events"]}
    assert {"call", "line", "return"} <= types
    assert trace["session"]["exit_code"] == 0
    assert any(line.startswith("tracesnap: recorded") for line in ours(r.stderr))
    if name == "sample_complex.py":
        calls = [e for e in trace["events"] if e["type"] == "call" and e["func"] == "login"]
        assert calls and all(c["args"]["password"]["redacted"] for c in calls)
        assert all(c["args"]["api_key"]["redacted"] for c in calls)
    if name.startswith("calculator"):
        assert len(trace["session"]["sources_by_file"]) == 6
