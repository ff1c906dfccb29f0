#!/usr/bin/env python3
"""The storage sinks side by side: bytes per event on disk and recording cost per event.

    python bench/sinks.py [--python PY] [--lib-dir DIR] [--workloads a,b] [--size full|quick]
                          [--repeat N]

Each real workload (bench/workloads) is recorded in fresh child processes, once per sink: ``none``
(no sink: hook, capture and transforms only), ``json``, ``sqlite`` and ``ndjson``. For every sink it
prints the trace size, the bytes per event, and the sink's own cost per event: the median CPU time
of the recorded ``run(n)`` minus that of ``none``, divided by the number of events (the final
write, ``stop()``, is shown separately). The SQLite file's bytes are split per table with
SQLite's ``dbstat`` view when it is available. This is a measurement to read, not a test.

Defaults: this worktree's release build (``.build/release``; ``--lib-dir .build/debug`` works but
measures unoptimised plugins) and the ``quick`` sizes (10^5 - 10^6 events per workload).
"""

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SINKS = ("none", "json", "sqlite", "ndjson")
DEFAULT_WORKLOADS = "million_iterations,scheduler,nbody,constraint_solver,ray_tracer,object_oriented"


def child(sink, workload, size, out):
    """Runs in the child: records ``run(size)`` of the workload with one sink, prints one JSON line."""
    import importlib.util
    import time

    spec = importlib.util.spec_from_file_location("bench_workload", workload)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_workload"] = module
    spec.loader.exec_module(module)
    from tracesnap._recording import NativeSession

    sinks = [] if sink == "none" else [{"name": sink, "path": out}]
    session = NativeSession(trace_id="bench", source_files=[workload], sinks=sinks)
    session.start()
    c0 = time.process_time()
    module.run(size)
    c1 = time.process_time()
    info = session.stop()
    c2 = time.process_time()
    print(json.dumps({"cpu": c1 - c0, "stop": c2 - c1, "events": info.get("event_count"),
                      "bytes": os.path.getsize(out) if os.path.exists(out) else 0}))


def table_bytes(path):
    """Bytes per table (and its indexes) of a SQLite file, or None without ``dbstat``."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return rows


def measure(args, workload, size, sink, tmp):
    out = os.path.join(tmp, f"{os.path.basename(workload)}.{sink}")
    env = dict(os.environ, TRACESNAP_LIB_DIR=args.lib_dir,
               PYTHONPATH=os.path.join(REPO, "integrations", "python", "src"))
    results = []
    for _ in range(args.repeat):
        for leftover in (out, out + ".partial"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        proc = subprocess.run([args.python, __file__, "--child", sink, workload, str(size), out],
                              capture_output=True, text=True, env=env, timeout=1800)
        if proc.returncode != 0:
            raise SystemExit(f"{sink} on {workload} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {"cpu": statistics.median(r["cpu"] for r in results), "stop": statistics.median(r["stop"] for r in results),
            "events": results[-1]["events"], "bytes": results[-1]["bytes"], "path": out}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--lib-dir", default=os.path.join(REPO, ".build", "release"))
    parser.add_argument("--workloads", default=DEFAULT_WORKLOADS)
    parser.add_argument("--size", default="quick", choices=("full", "quick", "reference"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    print(f"Python {version}, libraries {args.lib_dir}, median of {args.repeat}\n")
    header = f"{'workload':<20} {'events':>9} {'sink':<7} {'bytes':>12} {'B/event':>8} {'ns/event':>9} {'stop s':>7}"
    print(header)
    print("-" * len(header))
    totals = {sink: [0, 0] for sink in SINKS}
    with tempfile.TemporaryDirectory(prefix="tracesnap-sinks-") as tmp:
        for name in args.workloads.split(","):
            workload = os.path.join(HERE, "workloads", name + ".py")
            scope = {}
            with open(workload, encoding="utf-8") as handle:
                exec(compile(handle.read().split("\ndef ", 1)[0], workload, "exec"), scope)
            size = scope["SIZES"][args.size]
            base = measure(args, workload, size, "none", tmp)
            for sink in SINKS[1:]:
                m = measure(args, workload, size, sink, tmp)
                events = m["events"] or 1
                cost = (m["cpu"] - base["cpu"]) / events * 1e9
                totals[sink][0] += m["bytes"]
                totals[sink][1] += events
                print(f"{name:<20} {events:>9} {sink:<7} {m['bytes']:>12} {m['bytes'] / events:>8.1f} {cost:>9.0f}"
                      f" {m['stop']:>7.2f}")
                if sink == "sqlite" and name == args.workloads.split(",")[0]:
                    split = table_bytes(m["path"])
                    if split:
                        print("    " + ", ".join(f"{table} {size_ / events:.1f}" for table, size_ in split) + "  (B/event)")
    print()
    for sink in SINKS[1:]:
        size_, events = totals[sink]
        print(f"all workloads, {sink:<7}: {size_ / max(events, 1):.1f} bytes/event over {events} events")


if __name__ == "__main__":
    main()
