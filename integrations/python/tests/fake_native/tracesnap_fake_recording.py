"""A fake ``NativeSession`` with the contract of ``tracesnap._recording.NativeSession``."""

import json
import os
import sys

ACTIVE = []
LOG = []


def _log(entry):
    LOG.append(entry)
    path = os.environ.get("FAKE_NATIVE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


class NativeSession:
    def __init__(self, trace_id, kind="script", source_files=(), entry=None, redact_names=None,
                 plugins=None, sinks=(), session=None, max_events=None, functions=(), exclude_functions=(),
                 thread_scope=False, task_scope=False, plugin_dirs=(), plugin_options=None, output_dir=None):
        self.args = {"trace_id": trace_id, "kind": kind, "source_files": list(source_files),
                     "entry": entry, "redact_names": list(redact_names or []),
                     "plugins": plugins, "sinks": list(sinks), "session": dict(session or {}),
                     "plugin_dirs": list(plugin_dirs), "plugin_options": dict(plugin_options or {}),
                     "output_dir": output_dir}
        _log({"op": "init", **self.args})
        self.started = False

    def start(self):
        if os.environ.get("FAKE_NATIVE_REFUSE_NESTED") and ACTIVE:
            raise RuntimeError("another recording is active")
        self.started = True
        self.previous_trace = sys.gettrace()
        ACTIVE.append(self)
        _log({"op": "start"})

    def stop(self, partial=False, partial_reason=None, session=None):
        if self in ACTIVE:
            ACTIVE.remove(self)
        _log({"op": "stop", "partial": partial, "partial_reason": partial_reason,
              "session": dict(session or {})})
        merged = dict(self.args["session"])
        merged.update(session or {})
        merged.update({"kind": self.args["kind"], "entry": self.args["entry"]})
        if partial:
            merged.update({"partial": True, "partial_reason": partial_reason})
        trace = {"version": "0.2", "trace_id": self.args["trace_id"],
                 "events": [{"seq": 0, "type": "call"}, {"seq": 1, "type": "return"}],
                 "session": merged}
        sinks = []
        for sink in self.args["sinks"]:
            if sink["name"] == "json":
                with open(sink["path"], "w", encoding="utf-8") as f:
                    json.dump(trace, f)
                sinks.append({"name": "json", "path": sink["path"]})
            elif sink["name"] == "library":
                # like the real sink: the result's "name" is the entry's display name
                sinks.append({"name": sink.get("name_", "library"), "id": "20260101-000000-abcdef",
                              "path": "/nowhere/traces/20260101-000000-abcdef.json"})
        return {"event_count": 2, "event_types": {"call": 1, "return": 1}, "sinks": sinks}
