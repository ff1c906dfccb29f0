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

BEHAVIOUR_XFAIL = {}
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
