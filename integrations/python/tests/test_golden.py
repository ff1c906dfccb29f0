"""Golden event-stream tests of the native recorder (see golden/README.md).

Every program in golden/programs runs twice in child processes: plainly and under the recorder
(through tracesnap/_launch.py, what ``tracesnap record`` execs), with each hook this Python has
(settrace on 3.9-3.11; sys.monitoring and settrace on 3.12+). For each run we check:

* the program behaves the same (stdout, stderr minus tracesnap's lines, exit status);
* the stream's structural invariants (dense seq, depth = stack, frame ids, yield/resume,
  change_index per frame and variable, bounded reprs, parent_seq backwards);
* the normalised stream equals golden/expected/NAME[@pyXY[-hook]].txt
  (TRACESNAP_UPDATE_GOLDEN=1 rewrites them);
* the semantics the brief asks for, asserted directly (test_semantics_*), so that a golden file
  regenerated from a buggy recorder cannot hide a regression.

Known recorder bugs are strict xfails whose reason names the bug.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tsutil import needs_native, strip_ours

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import harness  # noqa: E402

pytestmark = [needs_native,
              pytest.mark.skipif(not harness.core_library_present(),
                                 reason="libTraceSnapCore.so not found (set TRACESNAP_LIB_DIR or install the wheel)")]

HOOKS = harness.hooks_for_this_python()
PY = sys.version_info[:2]
UPDATE = os.environ.get("TRACESNAP_UPDATE_GOLDEN") == "1"

PROGRAMS = sorted(p.name for p in harness.PROGRAMS.glob("*.py") if not p.name.startswith("sib_"))


def _applicable(program):
    if program == "match_stmt.py" and sys.version_info < (3, 10):
        return False
    return True


_cache = {}


def recorded(program, hook):
    """One recording per (program, hook) per pytest run."""
    key = (program, hook)
    if key not in _cache:
        _cache[key] = harness.record(program, hook)
    return _cache[key]


def _params(programs=PROGRAMS, xfails=None):
    out = []
    for prog in programs:
        if not _applicable(prog):
            continue
        for hook in HOOKS:
            marks = []
            reason = (xfails or {}).get((prog, hook)) or (xfails or {}).get((prog, "*"))
            if reason and callable(reason):
                reason = reason()
            if reason:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            out.append(pytest.param(prog, hook, id=f"{prog[:-3]}-{hook}", marks=marks))
    return out


# -- invariants ----------------------------------------------------------------------------


def invariant_problems(trace):
    problems = []
    events = trace["events"]
    stacks = {}        # thread -> [frame_id]
    seen_frames = set()
    suspended = set()
    change = {}        # (frame_id, var) -> last change_index
    for i, e in enumerate(events):
        where = f"seq {e.get('seq')} ({e['type']} {e.get('func')}:{e.get('line')})"
        if e.get("seq") != i:
            problems.append(f"{where}: seq != index {i}")
        p = e.get("parent_seq")
        if p is not None and not (0 <= p < i):
            problems.append(f"{where}: parent_seq {p} does not point backwards")
        th = e.get("thread", "main")
        stack = stacks.setdefault(th, [])
        t = e["type"]
        fid = e.get("frame_id")
        if t == "call":
            if fid in seen_frames:
                problems.append(f"{where}: frame_id {fid} reused by a new call")
            seen_frames.add(fid)
            stack.append(fid)
            for name in e.get("args") or {}:   # an argument's binding is its change 0
                change[(fid, name)] = 0
            if e["depth"] != len(stack):
                problems.append(f"{where}: call depth {e['depth']} != stack {len(stack)}")
        elif t == "resume":
            if fid not in suspended:
                problems.append(f"{where}: resume of frame {fid} that is not suspended")
            suspended.discard(fid)
            stack.append(fid)
            if e["depth"] != len(stack):
                problems.append(f"{where}: resume depth {e['depth']} != stack {len(stack)}")
        elif t in ("return", "yield"):
            if not stack or stack[-1] != fid:
                problems.append(f"{where}: {t} of frame {fid} but top of stack is {stack[-1:] }")
            if e["depth"] != len(stack):
                problems.append(f"{where}: {t} depth {e['depth']} != stack {len(stack)}")
            if stack and stack[-1] == fid:
                stack.pop()
            if t == "yield":
                suspended.add(fid)
            if t == "return" and e.get("unwind") and e.get("value") is not None:
                problems.append(f"{where}: unwind return with a value")
        elif t in ("gap",):
            pass
        else:
            if not stack:
                problems.append(f"{where}: event outside any frame")
            elif fid is not None and stack[-1] != fid:
                problems.append(f"{where}: frame_id {fid} is not the current frame {stack[-1]}")
            if stack and e["depth"] != len(stack):
                problems.append(f"{where}: depth {e['depth']} != stack {len(stack)}")
        if t == "assign":
            key = (fid, e["var"])
            expect = change.get(key, -1) + 1
            if e.get("change_index") != expect:
                problems.append(f"{where}: change_index {e.get('change_index')} for {e['var']}, expected {expect}")
            change[key] = e.get("change_index")
        for k in ("value", "prev"):
            v = e.get(k)
            if isinstance(v, dict) and len(v.get("repr", "")) > 120:
                problems.append(f"{where}: {k} repr longer than 120")
        for name, v in (e.get("args") or {}).items():
            if len(v.get("repr", "")) > 120:
                problems.append(f"{where}: arg {name} repr longer than 120")
    return problems


# -- the golden streams --------------------------------------------------------------------

_PY312_MONITORING_THROW = (
    "3.12 + sys.monitoring: the PY_THROW callback returns DISABLE for untraced code; CPython prints "
    "'Exception ignored ... ValueError: Cannot disable PY_THROW events. Callback removed.' to stderr")
BEHAVIOUR_XFAIL = {}  # fixed: _PY312_MONITORING_THROW (PY_THROW never returns DISABLE now)
INVARIANT_XFAIL = {}
GOLDEN_XFAIL = {}


@pytest.mark.parametrize("program,hook", _params(xfails=BEHAVIOUR_XFAIL))
def test_behaviour_unchanged(program, hook):
    run = recorded(program, hook)
    assert run.traced.returncode == run.plain.returncode, run.traced.stderr.decode(errors="replace")
    assert run.traced.stdout == run.plain.stdout
    assert strip_ours(run.traced.stderr) == run.plain.stderr
    assert run.trace is not None, "no trace written"


@pytest.mark.parametrize("program,hook", _params(xfails=INVARIANT_XFAIL))
def test_stream_invariants(program, hook):
    run = recorded(program, hook)
    assert run.trace is not None, run.traced.stderr.decode(errors="replace")
    assert invariant_problems(run.trace) == []


@pytest.mark.parametrize("program,hook", _params(xfails=GOLDEN_XFAIL))
def test_golden_stream(program, hook):
    run = recorded(program, hook)
    assert run.trace is not None, run.traced.stderr.decode(errors="replace")
    got = harness.normalise(run.trace, run.workdir)
    name = program[:-3]
    if UPDATE:
        harness.update_expected(name, hook, got)
        return
    path, expected = harness.load_expected(name, hook)
    assert expected is not None, f"no golden file for {name}; run with TRACESNAP_UPDATE_GOLDEN=1"
    assert got == expected, f"stream differs from {path.name}"


# -- semantics, asserted directly ------------------------------------------------------------

def _when(cond, reason):
    """An xfail(strict) mark for the (program, hook) cases where COND(hook) holds."""
    return cond, reason


def _fixed(bug):
    """A bug that was fixed: its test guards against a regression and is no longer expected to fail."""
    return (lambda hook: False), bug[1]


def _semantic_params(program, *known_bugs):
    out = []
    if not _applicable(program):
        return out
    for hook in HOOKS:
        marks = [pytest.mark.xfail(strict=True, reason=reason)
                 for cond, reason in known_bugs if cond(hook)]
        out.append(pytest.param(hook, id=hook, marks=marks[:1]))
    return out


def trace_of(program, hook):
    run = recorded(program, hook)
    assert run.trace is not None, run.traced.stderr.decode(errors="replace")
    return run.trace


def evs(trace, type_=None, func=None, **fields):
    out = []
    for e in trace["events"]:
        if type_ is not None and e["type"] != type_:
            continue
        if func is not None and e.get("func") != func:
            continue
        if any(e.get(k) != v for k, v in fields.items()):
            continue
        out.append(e)
    return out


def frame_events(trace, frame_id):
    return [e for e in trace["events"] if e.get("frame_id") == frame_id]


def rep(v):
    return None if v is None else v["repr"]


def phases(trace, func):
    return [e["phase"] for e in evs(trace, "exception", func)]


SETTRACE = lambda hook: hook == "settrace"  # noqa: E731
MONITORING = lambda hook: hook == "monitoring"  # noqa: E731

BUG_GEN_313_SETTRACE = _fixed(_when(
    lambda hook: hook == "settrace" and PY == (3, 13),
    "3.13 + settrace: a generator's yield is recorded as return and its resume as a new call (new frame_id)"))
BUG_YIELD_FROM_OLD_SETTRACE = _fixed(_when(
    lambda hook: hook == "settrace" and PY in ((3, 9), (3, 10), (3, 13)),
    "settrace on 3.9/3.10/3.13: a suspension in `yield from`/`await` is a return and the resume a new call"))
BUG_AWAIT_STOPITERATION = _fixed(_when(
    lambda hook: hook == "monitoring",
    "sys.monitoring: awaiting a Future (asyncio.gather) records StopIteration raised+handled in the awaiting coroutine"))
BUG_FINALLY_HANDLED = _fixed(_when(
    lambda hook: True,
    "an exception passing through a finally block is recorded as phase 'handled' (then 'raised' again)"))
BUG_BARE_RAISE_HANDLED = _fixed(_when(
    MONITORING,
    "sys.monitoring: a bare `raise` in an except clause is recorded raised, handled, raised (cleanup handler)"))
BUG_RERAISE_PHASE_SETTRACE = _fixed(_when(
    SETTRACE,
    "settrace: an exception re-raised by finally/bare raise arrives in the caller as phase 'raised', not 'propagated'"))
BUG_FINALLY_NO_UNWIND_312_SETTRACE = _fixed(_when(
    lambda hook: hook == "settrace" and PY == (3, 12),
    "3.12 + settrace: a frame left by a finally re-raise returns with value None and no unwind"))
BUG_ATTR_MUTATION = _fixed(_when(
    lambda hook: True,
    "obj.attr = v (object with default repr) records no assign/mutation event"))


@pytest.mark.parametrize("hook", _semantic_params("recursion.py"))
def test_semantics_recursion_frames_and_depth(hook):
    t = trace_of("recursion.py", hook)
    calls = evs(t, "call", "fact")
    assert [rep(c["args"]["n"]) for c in calls] == ["3", "2", "1"]
    assert [c["depth"] for c in calls] == [2, 3, 4]
    assert len({c["frame_id"] for c in calls}) == 3
    rets = evs(t, "return", "fact")
    assert [rep(r["value"]) for r in rets] == ["1", "2", "6"]
    assert [r["frame_id"] for r in rets] == [c["frame_id"] for c in reversed(calls)]
    assert len(evs(t, "call", "fib")) == 5


@pytest.mark.parametrize("hook", _semantic_params("generators.py", BUG_GEN_313_SETTRACE))
def test_semantics_generator_yield_resume(hook):
    t = trace_of("generators.py", hook)
    calls = evs(t, "call", "count_up")
    assert len(calls) == 2, "one call per generator object, resumes are not calls"
    first = calls[0]["frame_id"]
    kinds = [(e["type"], rep(e.get("value"))) for e in frame_events(t, first)
             if e["type"] in ("call", "yield", "resume", "return")]
    assert kinds == [("call", None), ("yield", "0"), ("resume", None), ("yield", "1"),
                     ("resume", None), ("return", "'done'")]
    assert evs(t, "exception") == [], "no StopIteration noise"


@pytest.mark.parametrize("hook", _semantic_params("generators.py", BUG_YIELD_FROM_OLD_SETTRACE))
def test_semantics_yield_from(hook):
    t = trace_of("generators.py", hook)
    relay = evs(t, "call", "relay")
    assert len(relay) == 1
    fid = relay[0]["frame_id"]
    kinds = [e["type"] for e in frame_events(t, fid) if e["type"] in ("call", "yield", "resume", "return")]
    assert kinds == ["call", "yield", "resume", "yield", "resume", "return"]
    assigns = [e for e in frame_events(t, fid) if e["type"] == "assign" and e["var"] == "result"]
    assert [rep(a["value"]) for a in assigns] == ["'done'"]


@pytest.mark.parametrize("hook", _semantic_params("async_gather.py", BUG_YIELD_FROM_OLD_SETTRACE))
def test_semantics_async_await_is_yield_resume(hook):
    t = trace_of("async_gather.py", hook)
    assert len(evs(t, "call", "main")) == 1
    works = evs(t, "call", "work")
    assert [rep(w["args"]["name"]) for w in works] == ["'a'", "'b'", "'c'"]
    rets = {e["frame_id"]: rep(e["value"]) for e in evs(t, "return", "work")}
    assert [rets.get(w["frame_id"]) for w in works] == ["'a0'", "'b1'", "'c3'"]
    assert [rep(e["value"]) for e in evs(t, "return", "main")] == ["['a0', 'b1', 'c3']"]
    assert not any(e.get("unwind") for e in evs(t, "return"))
    assert evs(t, "yield", "main") and evs(t, "resume", "main")


@pytest.mark.parametrize("hook", _semantic_params("async_gather.py"))
def test_semantics_async_events_carry_their_task(hook):
    t = trace_of("async_gather.py", hook)
    main_call = evs(t, "call", "main")[0]
    a, b, c = evs(t, "call", "work")
    # awaited directly: main's task; run by gather: a task each; every event of a frame has its task
    assert main_call["task"] and a["task"] == main_call["task"]
    assert len({main_call["task"], b["task"], c["task"]}) == 3
    for call in (main_call, a, b, c):
        assert {e.get("task") for e in t["events"] if e.get("frame_id") == call["frame_id"]} == {call["task"]}
    # the module body runs before any task exists
    assert all("task" not in e for e in t["events"] if e["func"] == "<module>")


@pytest.mark.parametrize("hook", _semantic_params("async_gather.py", BUG_AWAIT_STOPITERATION))
def test_semantics_async_no_stopiteration_noise(hook):
    t = trace_of("async_gather.py", hook)
    assert [(e["func"], e["exc_type"], e["phase"]) for e in evs(t, "exception")] == []


@pytest.mark.parametrize("hook", _semantic_params("threads.py"))
def test_semantics_thread_events_carry_their_thread(hook):
    t = trace_of("threads.py", hook)
    calls = evs(t, "call", "worker")
    assert len(calls) == 2
    in_thread, in_main = calls
    assert "thread" in in_thread and in_thread["thread"] != t["session"]["main_thread"]
    assert in_thread["depth"] == 1
    assert "thread" not in in_main and in_main["depth"] == 2
    thread_events = [e for e in t["events"] if e.get("thread") == in_thread["thread"]]
    assert [e["type"] for e in thread_events] == ["call", "line", "assign", "line", "assign", "return"]
    assert rep(thread_events[2]["value"]) == "40"
    # the module-level list the worker appended to is recorded as changed, on the worker's thread
    assert thread_events[4]["var"] == "results" and thread_events[4].get("mutation") is True


@pytest.mark.parametrize("hook", _semantic_params("exc_caught.py"))
def test_semantics_caught_exception_phases_and_real_return(hook):
    t = trace_of("exc_caught.py", hook)
    exc = [(e["func"], e["phase"]) for e in evs(t, "exception")]
    assert exc == [("parse", "raised"), ("safe", "propagated"), ("safe", "handled")]
    parse_rets = evs(t, "return", "parse")
    assert parse_rets[0].get("unwind") is True and parse_rets[0]["value"] is None
    assert not parse_rets[1].get("unwind") and rep(parse_rets[1]["value"]) == "7"
    safe_rets = evs(t, "return", "safe")
    assert [rep(r["value"]) for r in safe_rets] == ["-1", "7"]
    assert not any(r.get("unwind") for r in safe_rets)


@pytest.mark.parametrize("hook", _semantic_params("exc_uncaught.py"))
def test_semantics_uncaught_exception_unwinds(hook):
    run = recorded("exc_uncaught.py", hook)
    t = run.trace
    assert run.traced.returncode == 1
    assert [(e["func"], e["phase"]) for e in evs(t, "exception")] == [
        ("inner", "raised"), ("outer", "propagated"), ("<module>", "propagated")]
    rets = evs(t, "return")
    assert [(r["func"], r.get("unwind"), r["value"]) for r in rets] == [
        ("inner", True, None), ("outer", True, None), ("<module>", True, None)]
    assert t["session"]["exit_code"] == 1
    assert t["session"]["partial"] is True


@pytest.mark.parametrize("hook", _semantic_params("try_finally.py", BUG_FINALLY_HANDLED))
def test_semantics_finally_is_not_a_handler(hook):
    t = trace_of("try_finally.py", hook)
    assert "handled" not in phases(t, "risky")


@pytest.mark.parametrize("hook", _semantic_params("try_finally.py", BUG_RERAISE_PHASE_SETTRACE))
def test_semantics_finally_reraise_propagates_to_caller(hook):
    t = trace_of("try_finally.py", hook)
    assert phases(t, "caller") == ["propagated", "handled"]


@pytest.mark.parametrize("hook", _semantic_params("try_finally.py", BUG_FINALLY_NO_UNWIND_312_SETTRACE))
def test_semantics_finally_reraise_unwinds_and_caller_returns(hook):
    t = trace_of("try_finally.py", hook)
    (risky,) = evs(t, "return", "risky")
    assert risky.get("unwind") is True and risky["value"] is None
    assert [rep(e["value"]) for e in evs(t, "assign", "risky", var="cleanup")] == ["True"]
    (caller,) = evs(t, "return", "caller")
    assert not caller.get("unwind") and rep(caller["value"]) == "'caught boom'"


@pytest.mark.parametrize("hook", _semantic_params("reraise.py", BUG_BARE_RAISE_HANDLED))
def test_semantics_bare_raise_is_not_handled(hook):
    t = trace_of("reraise.py", hook)
    ph = phases(t, "reraiser")
    # The except clause runs, but its bare `raise` lets the exception leave the frame: it was
    # never handled here (the caller records it as propagated, then handled).
    assert ph == ["raised"], ph


@pytest.mark.parametrize("hook", _semantic_params("reraise.py", BUG_RERAISE_PHASE_SETTRACE))
def test_semantics_bare_raise_propagates_to_caller(hook):
    t = trace_of("reraise.py", hook)
    mod = [e["phase"] for e in evs(t, "exception", "<module>") if e["exc_type"] == "ValueError"]
    assert mod == ["propagated", "handled"]


@pytest.mark.parametrize("hook", _semantic_params(
    "reraise.py", _fixed(_when(MONITORING, "sys.monitoring: an exception leaving a generator is recorded raised, "
                                    "handled, raised (the generator's implicit handler)")),
    BUG_GEN_313_SETTRACE))
def test_semantics_generator_exception_not_handled_inside(hook):
    t = trace_of("reraise.py", hook)
    assert phases(t, "gen_raises") == ["raised"]
    (ret,) = evs(t, "return", "gen_raises")
    assert ret.get("unwind") is True


@pytest.mark.parametrize("hook", _semantic_params("mutation.py"))
def test_semantics_container_mutation(hook):
    t = trace_of("mutation.py", hook)
    xs = [(e["line"], rep(e["prev"]), rep(e["value"]), e.get("mutation", False))
          for e in evs(t, "assign", "main", var="xs")]
    assert xs == [(10, None, "[1]", False), (11, "[1]", "[1, 2]", True),
                  (16, "[1, 2]", "[1, 2, 99]", True), (17, "[1, 2, 99]", "[1, 2, 99, 3]", True)]
    d = [(rep(e["prev"]), rep(e["value"]), e.get("mutation", False)) for e in evs(t, "assign", "main", var="d")]
    assert d == [(None, "{}", False), ("{}", "{'k': 1}", True)]
    target = [(rep(e["prev"]), rep(e["value"]), e.get("mutation")) for e in evs(t, "assign", "fill")]
    assert target == [("[1, 2]", "[1, 2, 99]", True)]
    for e in evs(t, "assign"):
        if e.get("mutation"):
            assert e["value"]["id"] == e["prev"]["id"], "a mutation is the same object"


@pytest.mark.parametrize("hook", _semantic_params("mutation.py", BUG_ATTR_MUTATION))
def test_semantics_attribute_assignment_is_a_mutation(hook):
    t = trace_of("mutation.py", hook)
    at15 = [e for e in evs(t, "assign", "main") if e["line"] == 15]
    assert at15 and all(e.get("mutation") for e in at15)


@pytest.mark.parametrize("hook", _semantic_params("classes.py", BUG_ATTR_MUTATION))
def test_semantics_self_attribute_in_init_is_a_mutation(hook):
    t = trace_of("classes.py", hook)
    assert {e["line"] for e in evs(t, "assign", "__init__") if e.get("mutation")} >= {5, 6}


@pytest.mark.parametrize("hook", _semantic_params("classes.py"))
def test_semantics_methods(hook):
    t = trace_of("classes.py", hook)
    (init,) = evs(t, "call", "__init__")
    assert list(init["args"]) == ["self", "step"] and rep(init["args"]["step"]) == "2"
    (make,) = evs(t, "call", "make")
    assert rep(make["args"]["cls"]) == "<class '__main__.Counter'>"
    assert [rep(r["value"]) for r in evs(t, "return", "bump")] == ["12", "14"]
    assert [rep(r["value"]) for r in evs(t, "return", "double")] == ["28"]


@pytest.mark.parametrize("hook", _semantic_params("del_var.py"))
def test_semantics_del(hook):
    t = trace_of("del_var.py", hook)
    x = [(e["line"], rep(e["prev"]), rep(e["value"]), e.get("deleted", False), e["change_index"])
         for e in evs(t, "assign", "main", var="x")]
    assert x == [(2, None, "1", False, 0), (4, "1", None, True, 1), (5, None, "5", False, 2)]


@pytest.mark.parametrize("hook", _semantic_params("repr_raises.py"))
def test_semantics_failing_repr(hook):
    t = trace_of("repr_raises.py", hook)
    (use,) = evs(t, "call", "use")
    v = use["args"]["obj"]
    assert v["repr_failed"] is True and "ValueError" in v["repr"] and v["type"] == "Bad"
    held = evs(t, "assign", "use", var="held")[0]["value"]
    assert held["repr_failed"] is True
    # the recorder's own repr() calls are not traced: __repr__ runs (traced) only for the
    # program's explicit repr(b) on line 14
    assert [c["line"] for c in evs(t, "call", "__repr__")] == [2]
    assert len(evs(t, "exception", "__repr__")) == 1


@pytest.mark.parametrize("hook", _semantic_params(
    "repr_raises.py", _fixed(_when(lambda hook: True, "repr_failed text lacks the exception message; "
                                               "trace-format.md documents '<repr failed: ValueError: boom>'"))))
def test_semantics_failing_repr_text_as_documented(hook):
    t = trace_of("repr_raises.py", hook)
    (use,) = evs(t, "call", "use")
    assert use["args"]["obj"]["repr"] == "<repr failed: ValueError: boom>"


@pytest.mark.parametrize("hook", _semantic_params("huge_values.py"))
def test_semantics_bounded_reprs(hook):
    t = trace_of("huge_values.py", hook)
    by = {e["var"]: e["value"] for e in evs(t, "assign", "main") if not e.get("mutation")}
    for name in ("big", "text", "mapping", "loud"):
        assert by[name]["truncated"] is True, name
        assert 0 < len(by[name]["repr"]) <= 120, name
    assert by["big"]["repr"].startswith("[0, 1, 2, ")
    assert by["mapping"]["repr"].startswith("{0: 0, 1: 0, ")
    me = [rep(e["value"]) for e in evs(t, "assign", "main", var="me")]
    assert me == ["[1]", "[1, [...]]"]


@pytest.mark.parametrize("hook", _semantic_params("sys_exit.py"))
def test_semantics_sys_exit(hook):
    run = recorded("sys_exit.py", hook)
    assert run.plain.returncode == 3 and run.traced.returncode == 3
    t = run.trace
    assert t["session"]["exit_code"] == 3
    assert [(e["func"], e["exc_type"], e["phase"]) for e in evs(t, "exception")] == [
        ("leave", "SystemExit", "raised"), ("<module>", "SystemExit", "propagated")]


@pytest.mark.parametrize("hook", _semantic_params("siblings_main.py"))
def test_semantics_sibling_module(hook):
    t = trace_of("siblings_main.py", hook)
    files = {Path(f).name for f in t["session"]["sources_by_file"]}
    assert files == {"siblings_main.py", "sib_helper.py"}
    funcs = [(Path(e["file"]).name, e["func"]) for e in evs(t, "call")]
    assert ("sib_helper.py", "double") in funcs and ("sib_helper.py", "triple") in funcs
    (y,) = evs(t, "assign", "triple", var="y")
    assert rep(y["value"]) == "3"


@pytest.mark.parametrize("hook", _semantic_params("comprehensions.py"))
def test_semantics_comprehensions_make_no_loop_events(hook):
    t = trace_of("comprehensions.py", hook)
    assert evs(t, "loop") == [] and evs(t, "branch") == []
    assert [rep(r["value"]) for r in evs(t, "return", "main")] == [
        "([0, 1, 4], [0, 2], {'a': 1, 'b': 2}, 5)"]


@pytest.mark.parametrize("hook", _semantic_params("loops.py"))
def test_semantics_loops(hook):
    t = trace_of("loops.py", hook)
    assert [e["iteration"] for e in evs(t, "loop", "until_three")] == [0, 1, 2]
    outer = [e["iteration"] for e in evs(t, "loop", "grid", node_id="grid.for22")]
    inner = [e["iteration"] for e in evs(t, "loop", "grid", node_id="grid.for22.for23")]
    assert outer == [0, 1] and inner == [0, 1, 2, 0, 1, 2]
    # every inner loop event hangs under the outer iteration that contains it
    outer_seqs = [e["seq"] for e in evs(t, "loop", "grid", node_id="grid.for22")]
    parents = [e["parent_seq"] for e in evs(t, "loop", "grid", node_id="grid.for22.for23")]
    assert parents == [outer_seqs[0]] * 3 + [outer_seqs[1]] * 3
    search = evs(t, "call", "search")
    first, second = (frame_events(t, c["frame_id"]) for c in search)
    assert [e["iteration"] for e in first if e["type"] == "loop"] == [0, 1]
    assert not [e for e in first if e["type"] == "branch" and e.get("arm") == "loop-else"]
    els = [e for e in second if e["type"] == "branch" and e["node_id"] == "search.for11"]
    assert len(els) == 1 and els[0]["line"] == 16
    assert [rep(r["value"]) for r in evs(t, "return", "search")] == ["True", "False"]


@pytest.mark.parametrize("hook", _semantic_params(
    "loops.py", _when(lambda hook: True, "for/else branch is written taken='else' arm='loop-else'; "
                                         "trace-format.md says taken='loop-else' with arm = the arm's node id")))
def test_semantics_loop_else_as_documented(hook):
    t = trace_of("loops.py", hook)
    (els,) = [e for e in evs(t, "branch", "search") if e["node_id"] == "search.for11"]
    assert els["taken"] == "loop-else"


@pytest.mark.parametrize("hook", _semantic_params("branches.py"))
def test_semantics_if_elif_else_and_parent_chain(hook):
    t = trace_of("branches.py", hook)
    calls = evs(t, "call", "classify")
    per_call = []
    for c in calls:
        fe = frame_events(t, c["frame_id"])
        per_call.append([(e["node_id"], e["taken"], e.get("arm")) for e in fe if e["type"] == "branch"])
    assert per_call == [
        [("classify.if2", "if", "if")],
        [("classify.if2", "else", "else"), ("classify.if4", "if", "elif")],
        [("classify.if2", "else", "else"), ("classify.if4", "else", "else")],
    ]
    # the elif's branch event hangs under the outer else, the assignment under the elif
    fe = frame_events(t, calls[1]["frame_id"])
    b_else, b_elif = [e for e in fe if e["type"] == "branch"]
    assert b_elif["parent_seq"] == b_else["seq"]
    (kind,) = [e for e in fe if e["type"] == "assign"]
    assert kind["parent_seq"] == b_elif["seq"]
    assert [rep(r["value"]) for r in evs(t, "return", "classify")] == ["'neg'", "'zero'", "'pos'"]


@pytest.mark.parametrize("hook", _semantic_params("match_stmt.py"))
def test_semantics_match(hook):
    t = trace_of("match_stmt.py", hook)
    br = [(e["taken"], e.get("arm_index"), e["line"]) for e in evs(t, "branch", "describe")]
    assert br == [("case", 0, 4), ("case", 1, 6), ("case", 2, 8), ("case", 3, 10)]


SECRETS = ("hunter2-literal", "upper-key-literal", "s3cr3t-value", "nested-pw-value",
           "pw-123456", "key-abcdef", "kw-pw-value", "kw-key-value")


@pytest.mark.parametrize("hook", _semantic_params("redaction.py"))
def test_semantics_redaction(hook):
    run = recorded("redaction.py", hook)
    t = run.trace
    events_text = json.dumps(t["events"])
    assert [s for s in SECRETS if s in events_text] == []
    for call in evs(t, "call", "login"):
        assert call["args"]["password"]["redacted"] is True
        assert call["args"]["api_key"]["redacted"] is True
        assert call["args"]["user"]["redacted"] is False
    for src in [t["session"]["source"], *t["session"]["sources_by_file"].values()]:
        # positional call-site literals cannot be attributed to a name; everything else goes
        assert [s for s in SECRETS if s in src] == ["pw-123456", "key-abcdef"]
    assert run.traced.stdout == run.plain.stdout


@pytest.mark.parametrize("hook", _semantic_params("untraced_throw.py", _fixed(_when(
    lambda hook: hook == "monitoring" and PY == (3, 12),
    "3.12 + sys.monitoring: after an untraced generator is closed the PY_THROW callback is gone, so "
    "gen.throw() into a traced generator is a new call (new frame_id, line 0), not a resume")),
    BUG_GEN_313_SETTRACE))
def test_semantics_throw_into_generator_is_a_resume(hook):
    t = trace_of("untraced_throw.py", hook)
    calls = evs(t, "call", "gen")
    assert len(calls) == 1
    fe = frame_events(t, calls[0]["frame_id"])
    assert [e["type"] for e in fe if e["type"] in ("call", "yield", "resume", "return")] == [
        "call", "yield", "resume", "yield"]
    assert [(e["phase"], e["line"]) for e in fe if e["type"] == "exception"] == [
        ("raised", 8), ("handled", 8)]


@pytest.mark.parametrize("hook", _semantic_params("scopes.py", _fixed(_when(
    lambda hook: True, "assign to a global inside a function has prev=None instead of the global's "
                       "previous value"))))
def test_semantics_global_rebind_has_prev(hook):
    t = trace_of("scopes.py", hook)
    (a,) = evs(t, "assign", "bump_global", var="counter")
    assert a["scope"] == "global" and rep(a["value"]) == "1" and rep(a["prev"]) == "0"


@pytest.mark.parametrize("hook", _semantic_params("scopes.py", _when(
    lambda hook: True, "a cell variable changed by an inner function (nonlocal) is not recorded in the "
                       "outer frame; the inner frame's assign has prev=None")))
def test_semantics_nonlocal_change_is_visible(hook):
    t = trace_of("scopes.py", hook)
    (inner,) = evs(t, "assign", "inc", var="n")
    assert rep(inner["prev"]) == "0"
    outer = [rep(e["value"]) for e in evs(t, "assign", "closure", var="n")]
    assert outer == ["0", "1"]


@pytest.mark.parametrize("hook", _semantic_params("loop_recursion.py", _fixed(_when(
    lambda hook: PY <= (3, 11),
    "3.9-3.11: a comprehension on the first line of a loop/if body fires a spurious loop/branch event "
    "(for the enclosing function's node) inside the <listcomp>/<setcomp> frame"))))
def test_semantics_structure_events_belong_to_their_function(hook):
    t = trace_of("loop_recursion.py", hook)
    wrong = [(e["seq"], e["func"], e["node_id"]) for e in t["events"]
             if e["type"] in ("loop", "branch") and e["node_id"].split(".")[0] != e["func"]]
    assert wrong == []
    assert [e["iteration"] for e in evs(t, "loop", "pairs")] == [0, 1]
    assert len(evs(t, "branch", "pick")) == 1


@pytest.mark.parametrize("hook", _semantic_params("loop_recursion.py"))
def test_semantics_loop_iterations_per_frame_under_recursion(hook):
    t = trace_of("loop_recursion.py", hook)
    for call in evs(t, "call", "walk"):
        its = [e["iteration"] for e in frame_events(t, call["frame_id"]) if e["type"] == "loop"]
        assert its == [0, 1], (rep(call["args"]["n"]), its)
    assert [rep(r["value"]) for r in evs(t, "return", "walk")][-1] == "14"


@pytest.mark.parametrize("hook", _semantic_params("scopes.py", _fixed(_when(
    lambda hook: True, "a global container mutated inside a function (log.append(x)) is not recorded in "
                       "that frame; it surfaces later as one merged module-level assign at a later line"))))
def test_semantics_global_container_mutation_in_function(hook):
    t = trace_of("scopes.py", hook)
    got = [(e["func"], e["line"], rep(e["prev"]), rep(e["value"]), e.get("mutation"))
           for e in evs(t, "assign") if e["var"] == "log"]
    assert got == [("<module>", 2, None, "[]", None),
                   ("remember", 23, "[]", "['a']", True),
                   ("remember", 23, "['a']", "['a', 'b']", True)]


@pytest.mark.parametrize("hook", _semantic_params("redaction_leaks.py", _fixed(_when(
    lambda hook: True, "a redacted argument's value leaks through the return value, another variable "
                       "holding it, and the exception message/value (reference defect G21)"))))
def test_semantics_redacted_values_do_not_leak(hook):
    t = trace_of("redaction_leaks.py", hook)
    text = json.dumps(t["events"])
    assert [s for s in ("tok-SECRET-1", "key-SECRET-2", "pw-SECRET-3") if s in text] == []


@pytest.mark.parametrize("hook", _semantic_params("redaction_leaks.py"))
def test_semantics_redacted_arguments(hook):
    t = trace_of("redaction_leaks.py", hook)
    for func, arg in (("echo", "token"), ("wrap", "api_key"), ("check", "password")):
        (call,) = evs(t, "call", func)
        assert call["args"][arg]["redacted"] is True and call["args"][arg]["repr"] == "<redacted>"
