"""The public Python API, against a fake native session (the real one: test_native.py)."""

import asyncio
import json
import os
import subprocess
import sys
import threading
import warnings

import pytest

import tracesnap
from tracesnap import redaction
from tracesnap._api import RecorderUnavailableError

from tsutil import FAKE_SITE

sys.path.insert(0, str(FAKE_SITE))
import tracesnap_fake_recording as fake  # noqa: E402
sys.path.remove(str(FAKE_SITE))


@pytest.fixture
def native(monkeypatch):
    monkeypatch.setitem(sys.modules, "tracesnap._recording", fake)
    fake.LOG.clear()
    fake.ACTIVE.clear()
    yield fake
    fake.ACTIVE.clear()


@pytest.fixture
def no_native(monkeypatch):
    monkeypatch.setitem(sys.modules, "tracesnap._recording", None)  # import raises ImportError


def test_public_surface():
    assert tracesnap.__all__ == ["record", "start_recording", "stop_recording", "write_trace",
                                 "load_trace", "Recording", "redaction", "__version__"]
    assert tracesnap.__version__ == "0.3.0"
    for name in tracesnap.__all__:
        assert hasattr(tracesnap, name)


def test_importing_tracesnap_loads_no_native_code():
    code = "import sys, tracesnap; print(any(m.startswith('tracesnap._rec') for m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert r.stdout.strip() == "False", r.stderr


def test_start_and_stop_return_the_trace(native, tmp_path):
    handle = tracesnap.start_recording("x", source_files=[__file__], redact_names=["PIN", "pin"])
    assert handle is not None
    trace = tracesnap.stop_recording(request={"status": 200}, extra_field=1)
    assert trace["trace_id"] == "x"
    assert trace["session"]["request"] == {"status": 200}
    assert trace["session"]["extra_field"] == 1
    init = native.LOG[0]
    assert init["source_files"] == [os.path.abspath(__file__)]
    assert init["redact_names"] == ["pin"]
    assert init["entry"] == f"{os.path.abspath(__file__)}:<module>"
    temp = init["sinks"][0]["path"]
    assert not os.path.exists(temp)


def test_start_errors(native, tmp_path):
    with pytest.raises(ValueError, match="source_files is required"):
        tracesnap.start_recording("x")
    with pytest.raises(ValueError):
        tracesnap.start_recording("x", source_files=[])
    with pytest.raises(FileNotFoundError):
        tracesnap.start_recording("x", source_files=[str(tmp_path / "missing.py")])
    tracesnap.start_recording("x", source_files=[__file__])
    try:
        with pytest.raises(RuntimeError, match="recording already active in this context"):
            tracesnap.start_recording("y", source_files=[__file__])
    finally:
        tracesnap.stop_recording()
    with pytest.raises(RuntimeError, match="no active recording in this context"):
        tracesnap.stop_recording()


def test_start_without_native_recorder(no_native):
    with pytest.raises(RecorderUnavailableError):
        tracesnap.start_recording("x", source_files=[__file__])
    with pytest.raises(RuntimeError, match="no active recording"):
        tracesnap.stop_recording()


def test_context_manager_writes_output(native, tmp_path):
    out = tmp_path / "sub" / "t.json"
    with tracesnap.record(trace_id="cm", output=str(out), tag="v1") as rec:
        assert isinstance(rec, tracesnap.Recording)
        x = 1 + 1  # noqa: F841
    assert rec.trace_id == "cm"
    assert rec.path == str(out)
    assert rec.event_count == 2
    assert rec.trace["session"]["tag"] == "v1"
    init = native.LOG[0]
    assert init["source_files"] == [os.path.abspath(__file__)]   # the caller's file by default
    assert init["sinks"] == [{"name": "json", "path": str(out)}]


def test_context_manager_output_none_keeps_the_trace_in_memory(native):
    with tracesnap.record(trace_id="mem", output=None) as rec:
        pass
    assert rec.path is None
    assert rec.trace["trace_id"] == "mem"
    assert not os.path.exists(native.LOG[0]["sinks"][0]["path"])


def test_context_manager_does_not_swallow_exceptions(native, tmp_path):
    with pytest.raises(KeyError):
        with tracesnap.record(output=str(tmp_path / "e.json")):
            raise KeyError("k")
    assert native.LOG[-1]["op"] == "stop"
    assert not native.ACTIVE


def test_context_manager_without_native_recorder_raises(no_native, tmp_path):
    with pytest.raises(RecorderUnavailableError):
        with tracesnap.record(output=str(tmp_path / "t.json")):
            pass


def test_decorator_records_each_outermost_call(native, tmp_path):
    out = tmp_path / "fib.json"

    @tracesnap.record(trace_id="fib", output=str(out))
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(6) == 8            # recursion while recording: recorded, never an error
    assert [e["op"] for e in native.LOG] == ["init", "start", "stop"]
    assert fib.last_recording.event_count == 2
    assert fib.last_recording.path == str(out)
    assert fib.__name__ == "fib"
    assert fib(3) == 2
    assert [e["op"] for e in native.LOG].count("start") == 2
    assert native.LOG[0]["entry"].endswith("fib")


def test_bare_decorator(native, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    @tracesnap.record
    def f():
        return 7

    assert f() == 7
    assert (tmp_path / "trace.json").exists()


def test_decorator_on_a_coroutine(native, tmp_path):
    @tracesnap.record(trace_id="co", output=str(tmp_path / "co.json"))
    async def co(x):
        await asyncio.sleep(0)
        return x * 2

    assert asyncio.run(co(4)) == 8
    assert co.last_recording.event_count == 2


def test_decorator_inside_a_recorded_block_is_just_recorded(native, tmp_path):
    @tracesnap.record(output=str(tmp_path / "inner.json"))
    def inner():
        return 1

    with tracesnap.record(output=str(tmp_path / "outer.json")):
        assert inner() == 1
    assert [e["op"] for e in native.LOG] == ["init", "start", "stop"]


def test_decorator_without_native_recorder_warns_and_runs(no_native, tmp_path):
    @tracesnap.record(output=str(tmp_path / "t.json"))
    def f():
        return "ran"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert f() == "ran"
    assert any("not recording" in str(w.message) for w in caught)


def test_decorator_function_exception_propagates_and_recording_stops(native, tmp_path):
    @tracesnap.record(output=str(tmp_path / "t.json"))
    def f():
        raise ValueError("x")

    with pytest.raises(ValueError):
        f()
    assert not native.ACTIVE


def test_each_thread_has_its_own_context(native):
    tracesnap.start_recording("main", source_files=[__file__])
    errors = []

    def other():
        try:
            tracesnap.start_recording("thread", source_files=[__file__])
            tracesnap.stop_recording()
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    tracesnap.stop_recording()
    assert errors == []


def test_previous_tracer_is_left_alone(native, tmp_path):
    def tracer(frame, event, arg):
        return None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        with tracesnap.record(output=str(tmp_path / "t.json")):
            pass
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(old)


def test_redaction_defaults_and_extras():
    assert redaction.DEFAULT_NAMES == {"password", "token", "secret", "authorization", "api_key"}
    assert redaction.normalize(" PIN ,ssn,pin") == ["pin", "ssn"]
    assert redaction.normalize(["Card", "card", ""]) == ["card"]
    assert redaction.key_rules(["pin"]) == ["api_key", "authorization", "password", "pin",
                                            "secret", "token"]
    assert redaction.is_redacted("API_KEY")
    assert redaction.is_redacted("pin", ["PIN"])
    assert not redaction.is_redacted("password_hint")
    v = redaction.redact_value({"repr": "'x'", "type": "str", "id": 1, "truncated": True,
                                "redacted": False})
    assert v == {"repr": "<redacted>", "type": "str", "id": 1, "truncated": False, "redacted": True}


def test_write_and_load_trace(tmp_path):
    trace = {"version": "0.2", "trace_id": "w", "events": [{"seq": 0, "type": "line"}],
             "session": {"source": "caf\u00e9 \u2713"}}
    path = tmp_path / "new" / "dir" / "t.json"
    written = tracesnap.write_trace(trace, path)
    assert written == str(path)
    assert tracesnap.load_trace(path) == trace
    assert os.listdir(path.parent) == ["t.json"]        # no temp file left behind
    tracesnap.write_trace({"trace_id": "second"}, str(path))
    assert tracesnap.load_trace(str(path)) == {"trace_id": "second"}


def test_write_trace_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "t.json"
    tracesnap.write_trace({"ok": 1}, path)
    with pytest.raises(TypeError):
        tracesnap.write_trace({"bad": object()}, path)
    assert json.loads(path.read_text()) == {"ok": 1}
    assert os.listdir(tmp_path) == ["t.json"]


def test_console_script_shim(tmp_path):
    from tracesnap import _cli
    r = subprocess.run([sys.executable, "-m", "tracesnap", "--help"], capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                       timeout=60)
    if _cli.binary_path() is None:
        assert r.returncode == 2
        assert "tracesnap executable is missing" in r.stderr
    else:
        assert r.returncode == 0, r.stderr
        assert "record" in r.stdout + r.stderr


def test_decorator_on_a_generator_function(native, tmp_path):
    @tracesnap.record(output=str(tmp_path / "g.json"))
    def gen(n):
        for i in range(n):
            yield i

    assert list(gen(3)) == [0, 1, 2]
    assert [e["op"] for e in native.LOG] == ["init", "start", "stop"]
    assert gen.last_recording.event_count == 2


def test_decorator_with_an_unusable_source_file_warns_and_runs(native, tmp_path):
    namespace = {}
    exec(compile("def f():\n    return 5\n", "<generated>", "exec"), namespace)
    wrapped = tracesnap.record(output=str(tmp_path / "t.json"))(namespace["f"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert wrapped() == 5
    assert any("not recording" in str(w.message) for w in caught)
