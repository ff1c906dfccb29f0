"""Generate synthetic v0.2 traces for the player tests.

The trace describes a small fixed program (``SOURCE`` below) run for as many
rounds as needed to reach ``n_events`` events. It exercises every v0.2
feature the players read: ``frame_id``/``thread`` on every event, recursion,
loops and branches with per-entry iterations, a raised + handled exception
with ``phase``, in-place mutations, a generator (``yield``/``resume``), an
extcall, a ``gap`` and, on purpose, an XSS probe in values, an argument,
an exception message and the source text.

Usage: ``python gen_trace.py N out.json``.
"""
from __future__ import annotations

import json
import sys

XSS = "<img src=x onerror=alert(1)><script>window.__xss=1</script>"
FILE = "/home/dev/demo/gen/program.py"

SOURCE = '''import json
# probe in the source: <script>window.__xss=2</script>
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

def gen(k):
    for i in range(k):
        yield i * 2

def work(items, label):
    total = 0
    for x in items:
        if x % 3 == 0:
            total += x
        else:
            total -= 1
    try:
        risky(total)
    except ValueError as exc:
        total = 0
    return total

def risky(v):
    if v > 2:
        raise ValueError("too big: %d" % v)
    return v

def main():
    probe = "<img src=x onerror=alert(1)>"
    for rnd in range(ROUNDS):
        r = work(list(range(7)), probe)
        f = fib(3)
        seen.append(r)
    for g in gen(2):
        pass
    return r

main()
'''


def node(id_, kind, lo, hi, parent, subkind=None, **extra):
    d = {"id": id_, "kind": kind, "subkind": subkind, "lineno": lo, "end_lineno": hi, "parent": parent}
    d.update(extra)
    return d


STRUCTURE = [
    node("s1", "statement", 1, 1, None, "Import"),
    node("fib", "function", 3, 6, None, name="fib", params=["n"]),
    node("fib.if4", "branch", 4, 5, "fib", "if"),
    node("fib.if4.s5", "statement", 5, 5, "fib.if4", "Return"),
    node("fib.s6", "statement", 6, 6, "fib", "Return"),
    node("gen", "function", 8, 10, None, name="gen", params=["k"]),
    node("gen.for9", "loop", 9, 10, "gen", "for"),
    node("gen.for9.s10", "statement", 10, 10, "gen.for9", "Expr"),
    node("work", "function", 12, 23, None, name="work", params=["items", "label"]),
    node("work.s13", "statement", 13, 13, "work", "Assign"),
    node("work.for14", "loop", 14, 18, "work", "for"),
    node("work.for14.if15", "branch", 15, 18, "work.for14", "if"),
    node("work.for14.if15.s16", "statement", 16, 16, "work.for14.if15", "AugAssign"),
    node("work.for14.if15.s18", "statement", 18, 18, "work.for14.if15", "AugAssign"),
    node("work.s19", "statement", 19, 22, "work", "Try"),
    node("work.s20", "statement", 20, 20, "work", "Expr"),
    node("work.s22", "statement", 22, 22, "work", "Assign"),
    node("work.s23", "statement", 23, 23, "work", "Return"),
    node("risky", "function", 25, 28, None, name="risky", params=["v"]),
    node("risky.if26", "branch", 26, 27, "risky", "if"),
    node("risky.if26.s27", "statement", 27, 27, "risky.if26", "Raise"),
    node("risky.s28", "statement", 28, 28, "risky", "Return"),
    node("main", "function", 30, 38, None, name="main", params=[]),
    node("main.s31", "statement", 31, 31, "main", "Assign"),
    node("main.for32", "loop", 32, 35, "main", "for"),
    node("main.for32.s33", "statement", 33, 33, "main.for32", "Assign"),
    node("main.for32.s34", "statement", 34, 34, "main.for32", "Assign"),
    node("main.for32.s35", "statement", 35, 35, "main.for32", "Expr"),
    node("main.for36", "loop", 36, 37, "main", "for"),
    node("main.for36.s37", "statement", 37, 37, "main.for36", "Pass"),
    node("main.s38", "statement", 38, 38, "main", "Return"),
    node("s40", "statement", 40, 40, None, "Expr"),
]


def val(v, typ=None):
    r = v if isinstance(v, str) and typ == "raw" else repr(v)
    t = typ if typ and typ != "raw" else type(v).__name__
    return {"repr": r[:120], "type": t, "id": 1000 + (hash(r) & 0xFFFF), "truncated": len(r) > 120, "redacted": False}


class Emitter:
    def __init__(self, limit: int):
        self.events: list[dict] = []
        self.limit = limit
        self.stack: list[tuple[int, str]] = []   # (frame_id, func)
        self.next_fid = 1
        self.ts = 0
        self.change: dict[tuple[int, str], int] = {}
        self.locals: dict[int, dict] = {}

    @property
    def full(self) -> bool:
        return len(self.events) >= self.limit

    def emit(self, type_, line, **fields):
        self.ts += 1500
        fid, func = self.stack[-1] if self.stack else (0, "<module>")
        e = {"seq": len(self.events), "ts": self.ts, "depth": len(self.stack), "type": type_}
        e.update(fields)
        e.update({"line": line, "file": FILE, "func": func, "parent_seq": None, "frame_id": fid, "thread": 1})
        self.events.append(e)
        return e

    def call(self, func, line, args):
        fid = self.next_fid
        self.next_fid += 1
        self.stack.append((fid, func))
        self.locals[fid] = dict(args)
        self.emit("call", line, args={k: val(v) for k, v in args.items()})
        return fid

    def ret(self, line, value, unwind=False):
        if unwind:
            self.emit("return", line, value=None, unwind=True)
        else:
            self.emit("return", line, value=val(value))
        self.stack.pop()

    def line(self, n):
        self.emit("line", n)

    def assign(self, var, value, line, mutation=False, typ=None):
        fid = self.stack[-1][0]
        prev = self.locals[fid].get(var)
        k = (fid, var)
        ci = self.change.get(k, -1) + 1
        self.change[k] = ci
        self.locals[fid][var] = value
        fields = {"var": var, "scope": "local", "value": val(value, typ), "prev": None if prev is None else val(prev, typ), "change_index": ci}
        if mutation:
            fields["mutation"] = True
        self.emit("assign", line, **fields)


def fib(em: Emitter, n: int) -> int:
    em.call("fib", 3, {"n": n})
    em.line(4)
    if n < 2:
        em.emit("branch", 5, node_id="fib.if4", taken="if")
        em.line(5)
        em.ret(5, n)
        return n
    em.line(6)
    r = fib(em, n - 1) + fib(em, n - 2)
    em.ret(6, r)
    return r


def risky(em: Emitter, v: int) -> int:
    em.call("risky", 25, {"v": v})
    em.line(26)
    if v > 2:
        em.emit("branch", 27, node_id="risky.if26", taken="if")
        em.line(27)
        msg = "too big: %d %s" % (v, XSS)
        em.emit("exception", 27, exc_type="ValueError", message=msg, value=val("ValueError(%r)" % msg, "raw"), phase="raised")
        em.ret(27, None, unwind=True)
        raise ValueError(msg)
    em.line(28)
    em.ret(28, v)
    return v


def work(em: Emitter, items: list, label: str) -> int:
    em.call("work", 12, {"items": items, "label": label})
    em.line(13)
    total = 0
    em.assign("total", total, 13)
    for it, x in enumerate(items):
        em.line(14)
        em.assign("x", x, 14)
        em.emit("loop", 15, node_id="work.for14", iteration=it)
        em.line(15)
        if x % 3 == 0:
            em.emit("branch", 16, node_id="work.for14.if15", taken="if")
            em.line(16)
            total += x
        else:
            em.emit("branch", 18, node_id="work.for14.if15", taken="else")
            em.line(18)
            total -= 1
        em.assign("total", total, 16 if x % 3 == 0 else 18)
    em.line(14)
    em.line(19)
    em.line(20)
    try:
        risky(em, total)
    except ValueError as exc:
        m = em.events[-2]["message"]
        em.emit("exception", 20, exc_type="ValueError", message=m, value=val("ValueError(%r)" % m, "raw"), phase="handled")
        em.line(21)
        em.assign("exc", "ValueError(%r)" % str(exc), 21, typ="raw")
        em.line(22)
        total = 0
        em.assign("total", total, 22)
    em.line(23)
    em.ret(23, total)
    return total


def generate(n_events: int) -> dict:
    em = Emitter(n_events)
    em.call("<module>", 0, {})
    em.line(1)
    em.assign("json", "<module 'json'>", 1, typ="raw")
    em.line(40)
    em.call("main", 30, {})
    em.line(31)
    em.assign("probe", XSS, 31)
    seen: list = []
    em.assign("seen", list(seen), 31)
    rnd = 0
    r = 0
    while not em.full:
        em.line(32)
        em.assign("rnd", rnd, 32)
        em.emit("loop", 33, node_id="main.for32", iteration=rnd)
        em.line(33)
        r = work(em, list(range(7)), XSS if rnd == 0 else "round")
        em.assign("r", r, 33)
        em.line(34)
        f = fib(em, 3)
        em.assign("f", f, 34)
        em.line(35)
        seen.append(r)
        em.assign("seen", list(seen[-8:]), 35, mutation=True)
        if rnd == 1:
            em.emit("extcall", 35, kind="http", verb="GET", target="https://api.example.test/items?q=" + XSS,
                    started_ts=em.ts - 900, ended_ts=em.ts, duration_ms=12.5, status=200, error=None)
        if rnd == 2:
            em.emit("gap", 35, reason="max-repr-budget", dropped=3)
        rnd += 1
    em.line(32)
    em.line(36)
    # generator: call, yield, resume, yield, resume, return
    gfid = em.call("gen", 8, {"k": 2})
    em.stack.pop()
    em.stack.append((gfid, "gen"))
    for i in range(2):
        em.line(9)
        em.assign("i", i, 9)
        em.emit("loop", 10, node_id="gen.for9", iteration=i)
        em.line(10)
        em.emit("yield", 10, value=val(i * 2))
        saved = em.stack.pop()
        em.assign("g", i * 2, 36)
        em.line(37)
        em.line(36)
        em.stack.append(saved)
        em.emit("resume", 10)
    em.line(9)
    em.ret(9, None)
    em.line(38)
    em.ret(38, r)
    em.ret(40, None)
    for i, e in enumerate(em.events):
        e["seq"] = i
    counts: dict = {}
    for e in em.events:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    return {
        "version": "0.2",
        "trace_id": "generated-%d" % n_events,
        "structure_ref": "structure.json",
        "events": em.events,
        "session": {
            "kind": "script", "granularity": "line", "entry": FILE + ":<module>",
            "source": SOURCE, "sources_by_file": {FILE: SOURCE},
            "redaction": {"key_rules": ["api_key", "password", "secret", "token"]},
            "structure_by_file": {FILE: STRUCTURE},
            "partial": False, "exit_code": 0, "argv": [FILE],
            "event_count": len(em.events), "event_types": counts, "project": "gen",
        },
    }


def write_large(n_events: int, path) -> int:
    """Write a trace like ``generate(n_events)`` quickly (10^6 events in a few seconds): the
    rounds of the main loop are stamped from templates of one round (fresh seq, ts and frame ids,
    the round number) instead of being emitted and dumped one event at a time. Returns the number
    of events written."""
    small = generate(2000)
    ev = small["events"]
    starts = [i for i, e in enumerate(ev) if e["type"] == "line" and e["line"] == 32 and e["func"] == "main"]
    # a steady round (no extcall/gap), the events before the loop and those after it
    a, b = starts[5], starts[6]
    head, body, tail = ev[:starts[0]], ev[a:b], ev[starts[-1]:]
    fid_base = min(e["frame_id"] for e in body if e["func"] not in ("main", "<module>"))
    fids_per_round = max(e["frame_id"] for e in body) - fid_base + 1
    rnd0 = next(e for e in body if e["type"] == "assign" and e["var"] == "rnd")["value"]["repr"]

    def template(e, fields):
        e = dict(e)
        e["seq"], e["ts"] = "@SEQ@", "@TS@"
        if e["func"] not in ("main", "<module>"):
            e["frame_id"] = "@FID%d@" % (e["frame_id"] - fid_base)
        if e["type"] == "loop" and e["node_id"] == "main.for32":
            e["iteration"] = "@RND@"
        if e["type"] == "assign" and e["var"] == "rnd":
            e["value"] = dict(e["value"], repr="@RNDREPR@")
        text = json.dumps(e, separators=(",", ":")).replace("{", "{{").replace("}", "}}")
        text = text.replace('"@SEQ@"', "{seq}").replace('"@TS@"', "{ts}").replace('"@RND@"', "{rnd}")
        text = text.replace("@RNDREPR@", "{rnd}")
        for k in range(fids_per_round):
            text = text.replace('"@FID%d@"' % k, "{f%d}" % k)
        return text

    body_t = [template(e, None) for e in body]
    rounds = max(1, -(-(n_events - len(head) - len(tail)) // len(body)))
    seq = 0
    ts = 0
    with open(path, "w") as fh:
        fh.write('{"version":"0.2","trace_id":"generated-large-%d","events":[\n' % n_events)
        parts = []
        for e in head:
            e = dict(e, seq=seq, ts=ts)
            parts.append(json.dumps(e, separators=(",", ":")))
            seq += 1
            ts += 1500
        fh.write(",\n".join(parts))
        fid = 1000
        for r in range(rounds):
            fids = {"f%d" % k: fid + k for k in range(fids_per_round)}
            fid += fids_per_round
            out = []
            for t in body_t:
                out.append(t.format(seq=seq, ts=ts, rnd=r, **fids))
                seq += 1
                ts += 1500
            fh.write(",\n" + ",\n".join(out))
        for e in tail:
            e = dict(e, seq=seq, ts=ts)
            if e.get("frame_id", 0) > 2:
                e["frame_id"] = fid + 1
            fh.write(",\n" + json.dumps(e, separators=(",", ":")))
            seq += 1
            ts += 1500
        session = dict(small["session"], event_count=seq)
        session.pop("event_types", None)
        fh.write('\n],"session":%s}\n' % json.dumps(session, separators=(",", ":")))
    return seq


def main() -> None:
    n = int(sys.argv[1])
    out = sys.argv[2]
    if len(sys.argv) > 3 and sys.argv[3] == "--fast":
        write_large(n, out)
        return
    with open(out, "w") as fh:
        json.dump(generate(n), fh, separators=(",", ":"))


if __name__ == "__main__":
    main()


DEEP_FILE = "/home/dev/demo/gen/deep.py"
DEEP_SOURCE = '''def down(n):
    if n == 0:
        return 0
    return down(n - 1) + 1

down(DEPTH)
'''


def generate_deep(depth: int = 3000) -> dict:
    """A 0.1-style trace (no file/frame_id/parent_seq) of deep recursion,
    cut short while unwinding (a partial trace: later returns are missing)."""
    ev: list[dict] = []

    def add(d, **kw):
        e = {"seq": len(ev), "ts": len(ev) * 1000, "depth": d}
        e.update(kw)
        ev.append(e)

    add(1, type="call", func="<module>", line=0, args={})
    add(1, type="line", line=6, func="<module>")
    for k in range(depth + 1):
        n = depth - k
        add(k + 2, type="call", func="down", line=1, args={"n": val(n)})
        add(k + 2, type="line", line=2, func="down")
        if n == 0:
            add(k + 2, type="branch", node_id="down.if2", line=3, taken="if")
            add(k + 2, type="line", line=3, func="down")
        else:
            add(k + 2, type="line", line=4, func="down")
    # unwind half of the frames, then stop (partial)
    for k in range(depth + 1, depth // 2, -1):
        add(k + 1, type="return", value=val(depth + 1 - k), line=4 if k != depth + 1 else 3, func="down")
    # a line event in an outer frame without the matching returns: depth resync
    add(depth // 2 - 1, type="line", line=4, func="down")
    structure = [
        node("down", "function", 1, 4, None, name="down", params=["n"]),
        node("down.if2", "branch", 2, 3, "down", "if"),
        node("down.if2.s3", "statement", 3, 3, "down.if2", "Return"),
        node("down.s4", "statement", 4, 4, "down", "Return"),
        node("s6", "statement", 6, 6, None, "Expr"),
    ]
    return {"version": "0.1", "trace_id": "deep", "structure_ref": "structure.json",
            "session": {"kind": "script", "granularity": "line", "entry": DEEP_FILE + ":<module>", "source": DEEP_SOURCE,
                        "sources_by_file": {DEEP_FILE: DEEP_SOURCE}, "redaction": {"key_rules": []},
                        "structure_by_file": {DEEP_FILE: structure}},
            "events": ev}


def generate_threads() -> dict:
    """A 0.2 trace with two interleaved threads and a generator suspended in
    one thread and resumed in the other."""
    ev: list[dict] = []
    fid = {"main": 1, "worker": 2, "gen": 3}

    def add(th, frame, func, depth, type_, line, **kw):
        e = {"seq": len(ev), "ts": len(ev) * 1000, "depth": depth, "type": type_}
        e.update(kw)
        e.update({"line": line, "file": FILE, "func": func, "parent_seq": None, "frame_id": frame, "thread": th})
        ev.append(e)

    add(1, fid["main"], "main", 1, "call", 30, args={})
    add(1, fid["main"], "main", 1, "line", 31)
    add(2, fid["worker"], "work", 1, "call", 12, args={"items": val([1, 2]), "label": val("w")})
    add(1, fid["gen"], "gen", 2, "call", 8, args={"k": val(2)})
    add(2, fid["worker"], "work", 1, "line", 13)
    add(1, fid["gen"], "gen", 2, "line", 9)
    add(1, fid["gen"], "gen", 2, "yield", 10, value=val(0))
    add(2, fid["worker"], "work", 1, "assign", 13, var="total", scope="local", value=val(0), prev=None, change_index=0)
    add(2, fid["gen"], "gen", 2, "resume", 10)
    add(2, fid["gen"], "gen", 2, "line", 9)
    add(2, fid["gen"], "gen", 2, "return", 9, value=val(None))
    add(1, fid["main"], "main", 1, "assign", 31, var="probe", scope="local", value=val(XSS), prev=None, change_index=0)
    add(2, fid["worker"], "work", 1, "gap", 14, reason="max-events", dropped=1000)
    add(2, fid["worker"], "work", 1, "return", 23, value=val(3))
    add(1, fid["main"], "main", 1, "return", 38, value=val(None))
    return {"version": "0.2", "trace_id": "threads", "structure_ref": "structure.json", "events": ev,
            "session": {"kind": "script", "granularity": "line", "entry": FILE + ":<module>", "source": SOURCE,
                        "sources_by_file": {FILE: SOURCE}, "structure_by_file": {FILE: STRUCTURE},
                        "partial": True, "partial_reason": "max-events"}}


def generate_tasks() -> dict:
    """A 0.2 trace of one thread running three asyncio tasks: `main` gathers two `work`
    coroutines that interleave (yield/resume), each frame tagged with its task."""
    ev: list[dict] = []
    task = {"main": 0x7F0000001000, "a": 0x7F0000002000, "b": 0x7F0000003000}

    def add(frame, func, depth, type_, line, t, **kw):
        e = {"seq": len(ev), "ts": len(ev) * 1000, "depth": depth, "type": type_}
        e.update(kw)
        e.update({"line": line, "file": FILE, "func": func, "parent_seq": None, "frame_id": frame, "task": task[t]})
        ev.append(e)

    add(1, "main", 1, "call", 30, "main", args={})
    add(1, "main", 1, "line", 31, "main")
    add(1, "main", 1, "yield", 31, "main", value=val(None))
    add(2, "work", 1, "call", 12, "a", args={"items": val([1]), "label": val("a")})
    add(2, "work", 1, "line", 13, "a")
    add(2, "work", 1, "yield", 13, "a", value=val(None))
    add(3, "work", 1, "call", 12, "b", args={"items": val([2]), "label": val("b")})
    add(3, "work", 1, "line", 13, "b")
    add(3, "work", 1, "yield", 13, "b", value=val(None))
    add(2, "work", 1, "resume", 13, "a")
    add(2, "work", 1, "return", 23, "a", value=val(1))
    add(3, "work", 1, "resume", 13, "b")
    add(3, "work", 1, "return", 23, "b", value=val(2))
    add(1, "main", 1, "resume", 31, "main")
    add(1, "main", 1, "return", 38, "main", value=val([1, 2]))
    return {"version": "0.2", "trace_id": "tasks", "events": ev,
            "session": {"kind": "script", "granularity": "line", "entry": FILE + ":<module>", "source": SOURCE,
                        "sources_by_file": {FILE: SOURCE}, "structure_by_file": {FILE: STRUCTURE}}}


def generate_wide(n_vars: int = 300) -> dict:
    """A module frame with many variables (the text view caps the rows)."""
    ev: list[dict] = [{"seq": 0, "ts": 0, "depth": 1, "type": "call", "func": "<module>", "line": 0, "file": FILE, "args": {}}]
    for i in range(n_vars):
        ev.append({"seq": len(ev), "ts": len(ev), "depth": 1, "type": "line", "line": 1, "file": FILE, "func": "<module>"})
        ev.append({"seq": len(ev), "ts": len(ev), "depth": 1, "type": "assign", "var": "v%03d" % i, "scope": "local", "line": 1,
                   "file": FILE, "value": val(i), "prev": None, "change_index": 0})
    ev.append({"seq": len(ev), "ts": len(ev), "depth": 1, "type": "return", "line": 1, "file": FILE, "func": "<module>", "value": val(None)})
    return {"version": "0.2", "trace_id": "wide", "events": ev,
            "session": {"entry": FILE + ":<module>", "sources_by_file": {FILE: SOURCE}, "structure_by_file": {FILE: STRUCTURE}}}
