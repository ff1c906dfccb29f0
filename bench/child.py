"""One measured run in a fresh process: ``python child.py MODE WORKLOAD SIZE OUTDIR``.

MODE is ``plain`` (no recorder), ``ours`` (tracesnap's NativeSession, the JSON sink), ``ours-compact``
(the same with the compact binary sink), ``ours-nosink``
(the same without any sink: hook, capture and transforms only) or ``reference``
(tracesnap 0.2.2's ``tracesnap.record`` context manager). Prints one JSON line on stdout:
cpu (``time.process_time`` around the workload only), wall, total_wall (wall time from before the
recorder's set-up to after its final write), start (set-up before the workload),
stop (finalisation: ``stop()`` / leaving the ``with`` block, which writes the file), events,
trace bytes on disk, peak_rss (KiB, VmHWM), maxrss (KiB, ``getrusage``) and rss_before (KiB, VmHWM before the run).
The workload module is imported before recording starts, so only ``run(n)`` is measured.
"""

import importlib.util
import json
import os
import resource
import sys
import time


def peak_rss_kib():
    """VmHWM of this process (KiB): the peak RSS of the current address space. getrusage's ru_maxrss
    also counts the parent's RSS at fork time (Linux keeps it across execve), which would hide a
    small recorder under the harness's own size; it is reported too, as maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def load(path):
    spec = importlib.util.spec_from_file_location("bench_workload", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_workload"] = module
    spec.loader.exec_module(module)
    return module


def main():
    mode, path, size, outdir = sys.argv[1], os.path.abspath(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    module = load(path)
    out = os.path.join(outdir, f"{mode}-{os.getpid()}" + (".tsnap" if mode == "ours-compact" else ".json"))
    rss_before = peak_rss_kib()
    result = {"mode": mode, "python": sys.version.split()[0], "size": size}
    events = None
    total0 = time.perf_counter()
    if mode == "plain":
        s0 = time.process_time()
        w0, c0 = time.perf_counter(), time.process_time()
        module.run(size)
        c1, w1 = time.process_time(), time.perf_counter()
        start = stop = 0.0
    elif mode in ("ours", "ours-nosink", "ours-compact"):
        from tracesnap._recording import NativeSession

        s0 = time.process_time()
        sinks = {
            "ours": [{"name": "json", "path": out}],
            "ours-compact": [{"name": "compact", "path": out}],
        }.get(mode, [])
        session = NativeSession(trace_id="bench", source_files=[path], sinks=sinks)
        session.start()
        w0, c0 = time.perf_counter(), time.process_time()
        module.run(size)
        c1, w1 = time.process_time(), time.perf_counter()
        info = session.stop()
        s1 = time.process_time()
        events = info.get("event_count")
        start, stop = c0 - s0, s1 - c1
        result["hook"] = getattr(session, "_hook", None)
    elif mode == "reference":
        import tracesnap

        s0 = time.process_time()
        with tracesnap.record("bench", source_files=[path], output=out) as rec:
            w0, c0 = time.perf_counter(), time.process_time()
            module.run(size)
            c1, w1 = time.process_time(), time.perf_counter()
        s1 = time.process_time()
        events = rec.event_count
        start, stop = c0 - s0, s1 - c1
        result["reference_version"] = getattr(tracesnap, "__version__", "?")
    else:
        raise SystemExit(f"unknown mode {mode}")
    total_wall = time.perf_counter() - total0
    result.update(
        total_wall=total_wall,
        cpu=c1 - c0,
        wall=w1 - w0,
        start=start,
        stop=stop,
        events=events,
        bytes=os.path.getsize(out) if os.path.exists(out) else 0,
        peak_rss=peak_rss_kib(),
        maxrss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        rss_before=rss_before,
    )
    if os.path.exists(out):
        os.unlink(out)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
