"""Reading the SQLite form of a trace (the ``sqlite`` sink, docs/trace-format.md) into the same
dict :func:`tracesnap.load_trace` returns for a JSON trace. Imported only when such a file is
read, so ``sqlite3`` never loads into a recorded program that does not ask for it."""

from __future__ import annotations

import json
import sqlite3

TYPE_NAMES = {0: "assign", 1: "line", 2: "call", 3: "return", 4: "exception", 5: "branch", 6: "loop",
              7: "extcall", 8: "yield", 9: "resume", 10: "gap"}
RAW = 15
MODULE, MUTATION, DELETED, UNWIND = 1, 2, 4, 8
TRUNCATED, REDACTED, REPR_FAILED = 1, 2, 4

EVENTS = """
SELECT e.seq, e.dt, e.type, e.line, e.up, c.frame_id, c.thread, c.task, c.depth, fs.text, fn.text,
  nm.text, tx.text, mo.text, d.num, d.flags, d.value, d.prev, ex.text
FROM events e JOIN contexts c ON c.id = e.ctx
  LEFT JOIN strings fs ON fs.id = c.file LEFT JOIN strings fn ON fn.id = c.func
  LEFT JOIN details d ON d.seq = e.seq
  LEFT JOIN strings nm ON nm.id = d.name LEFT JOIN strings tx ON tx.id = d.text
  LEFT JOIN strings mo ON mo.id = d.more LEFT JOIN strings ex ON ex.id = d.extra
ORDER BY e.seq
"""


def load(path: str) -> dict:
    """The trace in ``path`` as a dict: ``version``, ``trace_id``, other members, ``events``,
    ``session`` (marked partial when the recording did not finish)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        if meta.get("format") != "tracesnap-sqlite":
            raise ValueError(f"{path} is not a tracesnap SQLite trace")
        base = int(meta.get("id_base", "0"))
        strings = {}

        def text(sid):
            if sid is None:
                return None
            if sid not in strings:
                strings[sid] = db.execute("SELECT text FROM strings WHERE id = ?", (sid,)).fetchone()[0]
            return strings[sid]

        def value(vid):
            if vid is None:
                return None
            repr_id, meta_bits, pyid = db.execute("SELECT repr, meta, pyid FROM vals WHERE id = ?", (vid,)).fetchone()
            flags = meta_bits & 7
            result = {"repr": text(repr_id), "type": text(meta_bits >> 3), "id": pyid + base,
                      "truncated": bool(flags & TRUNCATED), "redacted": bool(flags & REDACTED)}
            if flags & REPR_FAILED:
                result["repr_failed"] = True
            return result

        args = {}
        for seq, name, vid in db.execute("SELECT seq, name, value FROM args ORDER BY seq, pos"):
            args.setdefault(seq, {})[text(name)] = value(vid)
        session = json.loads(meta["session"]) if "session" in meta else None
        main_thread = (session or {}).get("main_thread", 0)
        events = []
        ts = 0
        for (seq, dt, code, line, up, frame_id, thread, task, depth, file, func, name, txt, more, num, flags,
             vid, pid, extra) in db.execute(EVENTS):
            ts += dt
            if code == RAW:
                events.append(json.loads(extra))
                continue
            flags = flags or 0
            kind = TYPE_NAMES.get(code, "unknown")
            event = {"seq": seq, "ts": ts, "depth": depth, "type": kind}
            if kind == "call":
                event["args"] = args.get(seq, {})
                if flags & MODULE:
                    event["module"] = True
            elif kind == "assign":
                event.update({"var": name, "scope": txt, "value": value(vid), "prev": value(pid),
                              "change_index": num or 0})
                if flags & MUTATION:
                    event["mutation"] = True
                if flags & DELETED:
                    event["deleted"] = True
            elif kind == "branch":
                event.update({"node_id": name, "taken": txt})
            elif kind == "loop":
                event.update({"node_id": name, "iteration": num or 0})
            elif kind == "return":
                event["value"] = value(vid)
                if flags & UNWIND:
                    event["unwind"] = True
            elif kind == "yield":
                event["value"] = value(vid)
            elif kind == "exception":
                event.update({"exc_type": name, "message": txt, "value": value(vid), "phase": more})
            event["line"] = line
            if file is not None:
                event["file"] = file
            if func is not None:
                event["func"] = func
            event["parent_seq"] = None if up is None else seq - up
            if frame_id:
                event["frame_id"] = frame_id
            if thread and thread != main_thread:
                event["thread"] = thread
            if task:
                event["task"] = task
            if extra:
                event.update(json.loads("{" + extra + "}"))
            events.append(event)
    finally:
        db.close()
    trace = {}
    if "version" in meta:
        trace["version"] = meta["version"]
    if "trace_id" in meta:
        trace["trace_id"] = meta["trace_id"]
    trace.update(json.loads(meta.get("members", "{}")))
    trace["events"] = events
    if session is None:
        session = {"partial": True, "partial_reason": "truncated", "event_count": len(events)}
    trace["session"] = session
    return trace
