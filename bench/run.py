#!/usr/bin/env python3
"""tracesnap benchmark harness: plain vs recorded (vs the reference product), one command.

    python bench/run.py [--pythons 3.12,3.13|/path/to/python ...] [--quick] [--reference]
                        [--repeat N] [--workloads a,b] [--callgrind [WORKLOAD]] [--write-docs]

Every measurement is a fresh child process (bench/child.py) that imports the workload, then
times only ``run(n)`` with ``time.process_time()``; start-up, the recorder's set-up and its final
flush (``stop()``) are reported separately. Plain, recorded (and reference) runs alternate, the
order rotating every repetition, and each number is the median of N runs with the spread
(max-min)/median shown next to it.

Which recorder: by default this worktree in dev mode (TRACESNAP_LIB_DIR=<repo>/.build/release,
PYTHONPATH=<repo>/integrations/python/src). ``--lib-dir``/``--pythonpath`` (or the env variables
BENCH_LIB_DIR/BENCH_PYTHONPATH) override that; ``--installed`` uses whatever ``tracesnap`` the
interpreter imports (an installed wheel). Interpreters: ``--pythons`` or BENCH_PYTHONS
(comma-separated versions found under ``pyenv root`` or paths to executables).
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKLOAD_DIR = os.path.join(HERE, "workloads")
CHILD = os.path.join(HERE, "child.py")
DEFAULT_PYTHONS = "3.9,3.10,3.11,3.12,3.13"
WORKLOAD_ORDER = ["numeric_loop", "recursive_calls", "string_processing", "object_oriented", "library_heavy",
                  "scheduler", "nbody", "constraint_solver", "ray_tracer"]
# The pyperformance-style "real programs" of issue 6, summarised by their median slowdown.
SCALE_WORKLOAD = "million_iterations"
REAL_PROGRAMS = ["scheduler", "nbody", "constraint_solver", "ray_tracer"]
# The issue-6 target per workload (recorded ÷ plain), shown next to the measurements.
TARGETS = {"numeric_loop": "≤ 5×", "recursive_calls": "≤ 6×", "library_heavy": "≤ 1.3×",
           "real programs (median)": "≤ 6×"}
REFERENCE_SPEC = "tracesnap==0.2.2"


# -- discovery -----------------------------------------------------------------------------------

def pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root:
        return root
    try:
        return subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.path.expanduser("~/.pyenv")


def resolve_python(spec):
    if os.sep in spec or os.path.isfile(spec):
        return os.path.abspath(spec)
    versions = sorted(glob.glob(os.path.join(pyenv_root(), "versions", spec + "*")))
    exact = [v for v in versions if os.path.basename(v) == spec]
    chosen = exact[0] if exact else (versions[-1] if versions else None)
    if chosen and os.path.isfile(os.path.join(chosen, "bin", "python")):
        return os.path.join(chosen, "bin", "python")
    found = shutil.which(spec) or shutil.which("python" + spec)
    if found:
        return found
    raise SystemExit(f"bench: no interpreter for {spec!r}")


def python_version(exe):
    out = subprocess.run([exe, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def workload_sizes(name):
    namespace = {}
    with open(os.path.join(WORKLOAD_DIR, name + ".py"), encoding="utf-8") as handle:
        source = handle.read()
    # SIZES is a literal dict near the top of every workload; evaluate just that assignment.
    import ast

    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SIZES" for t in node.targets):
            namespace = ast.literal_eval(node.value)
    return namespace


# -- environments ------------------------------------------------------------------------------------

def base_env():
    env = dict(os.environ)
    for key in ("PYTHONPATH", "TRACESNAP_LIB_DIR", "TRACESNAP_DEBUG", "TRACESNAP_HOOK", "PYTHONSTARTUP"):
        env.pop(key, None)
    env["PYTHONHASHSEED"] = "0"
    env["SWIFT_BACKTRACE"] = "enable=no"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def ours_env(args):
    env = base_env()
    if not args.installed:
        env["TRACESNAP_LIB_DIR"] = args.lib_dir
        env["PYTHONPATH"] = args.pythonpath
    if args.hook:
        env["TRACESNAP_HOOK"] = args.hook
    return env


def reference_python(exe, version, args):
    venv = os.path.join(args.ref_venv_dir, f"ref-{version}")
    py = os.path.join(venv, "bin", "python")
    check = [py, "-c", "import tracesnap, sys; sys.exit(tracesnap.__version__ != '0.2.2')"]
    if os.path.isfile(py) and subprocess.run(check, capture_output=True, env=base_env()).returncode == 0:
        return py
    log(f"  creating reference venv {venv} ({REFERENCE_SPEC})")
    subprocess.run([exe, "-m", "venv", "--clear", venv], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", REFERENCE_SPEC], check=True, env=base_env())
    return py


# -- running --------------------------------------------------------------------------------------------

def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def run_child(exe, env, mode, workload, size, outdir, timeout):
    path = os.path.join(WORKLOAD_DIR, workload + ".py")
    proc = subprocess.run([exe, CHILD, mode, path, str(size), outdir], capture_output=True, text=True,
                          env=env, timeout=timeout)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{mode} {workload} failed (rc {proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def summarise(runs):
    """Median, min and spread of each numeric field over repeated runs of one mode."""
    out = {"n": len(runs)}
    for key in ("cpu", "wall", "total_wall", "start", "stop", "peak_rss", "maxrss", "rss_before", "bytes", "events"):
        values = [r[key] for r in runs if r.get(key) is not None]
        if not values:
            continue
        med = statistics.median(values)
        out[key] = int(med) if key in ("events", "bytes", "peak_rss", "maxrss", "rss_before") else med
        out[key + "_min"] = min(values)
        out[key + "_spread"] = (max(values) - min(values)) / med if med else 0.0
    for key in ("hook", "reference_version"):
        if key in runs[0]:
            out[key] = runs[0][key]
    return out


def measure(modes, exe_for, env_for, workload, size, repeat, outdir, timeout):
    """Runs every mode `repeat` times, alternating, the order rotating each repetition."""
    runs = {m: [] for m in modes}
    for rep in range(repeat):
        order = modes[rep % len(modes):] + modes[:rep % len(modes)]
        for mode in order:
            runs[mode].append(run_child(exe_for[mode], env_for[mode], mode, workload, size, outdir, timeout))
    stats = {m: summarise(r) for m, r in runs.items()}
    if "plain" in runs:
        # Each recorded run against the plain run of the same repetition (they ran next to each
        # other): a machine whose speed drifts between repetitions moves both, not the ratio.
        for mode in modes:
            pairs = [b["cpu"] / a["cpu"] for a, b in zip(runs["plain"], runs[mode]) if mode != "plain" and a["cpu"]]
            if pairs:
                stats[mode]["paired_ratio"] = statistics.median(pairs)
                stats[mode]["paired_ratio_min"] = min(pairs)
                stats[mode]["paired_ratio_max"] = max(pairs)
    return stats


def bench_python(exe, args, outdir):
    version = python_version(exe)
    log(f"== Python {version} ({exe})")
    result = {"python": version, "executable": exe, "main": {}, "reference": {}}
    exe_for = {"plain": exe, "ours": exe, "ours-compact": exe, "ours-nosink": exe}
    env_for = {"plain": base_env(), "ours": ours_env(args), "ours-compact": ours_env(args),
               "ours-nosink": ours_env(args)}
    if args.reference:
        exe_for["reference"] = reference_python(exe, version, args)
        env_for["reference"] = base_env()
    scale = "quick" if args.quick else "full"
    for workload in args.workloads:
        sizes = workload_sizes(workload)
        t0 = time.time()
        modes = ["plain", "ours", "ours-compact"] + (["ours-nosink"] if args.breakdown else [])
        stats = measure(modes, exe_for, env_for, workload, sizes[scale], args.repeat, outdir,
                        args.timeout)
        stats["size"] = sizes[scale]
        result["main"][workload] = stats
        log(f"  {workload:18} n={sizes[scale]:<6} plain {stats['plain']['cpu']*1e3:8.1f} ms  "
            f"ours {stats['ours']['cpu']*1e3:9.1f} ms  {ratio(stats, 'ours'):6.1f}x  "
            f"compact {ratio(stats, 'ours-compact'):6.1f}x  "
            f"({time.time()-t0:.0f}s)")
        if args.reference:
            t0 = time.time()
            try:
                rstats = measure(["plain", "ours", "reference"], exe_for, env_for, workload, sizes["reference"],
                                 args.ref_repeat, outdir, args.timeout)
            except RuntimeError as exc:
                # The reference can break the program it records (a __repr__ that raises while
                # __init__ runs propagates out of its tracer): keep the reason, go on.
                reason = str(exc).strip().splitlines()[-1]
                result["reference"][workload] = {"size": sizes["reference"], "error": reason}
                log(f"  {'':18} n={sizes['reference']:<6} reference FAILED: {reason}")
                continue
            rstats["size"] = sizes["reference"]
            result["reference"][workload] = rstats
            log(f"  {'':18} n={sizes['reference']:<6} plain {rstats['plain']['cpu']*1e3:8.2f} ms  "
                f"ours {ratio(rstats, 'ours'):6.1f}x  reference {ratio(rstats, 'reference'):8.1f}x  "
                f"({time.time()-t0:.0f}s)")
    if args.scale:
        t0 = time.time()
        size = workload_sizes(SCALE_WORKLOAD)["quick" if args.quick else "full"]
        stats = measure(["plain", "ours", "ours-compact"], exe_for, env_for, SCALE_WORKLOAD, size, 1, outdir,
                        max(args.timeout, 900))
        stats["size"] = size
        result["scale"] = stats
        for mode in ("ours", "ours-compact"):
            ours = stats[mode]
            log(f"  {SCALE_WORKLOAD:18} n={size:<8} {mode:12} total {ours['total_wall']:.2f} s  "
                f"{ours['events']:,} events  peak RSS {ours['peak_rss'] / 1024:.0f} MiB  "
                f"file {ours['bytes'] / 1e6:.1f} MB  ({time.time()-t0:.0f}s)")
    return result


def ratio(stats, mode):
    """Recorded ÷ plain: the median of the per-repetition ratios (median ÷ median for results
    written before those were kept)."""
    if "paired_ratio" in stats[mode]:
        return stats[mode]["paired_ratio"]
    plain = stats["plain"]["cpu"]
    return stats[mode]["cpu"] / plain if plain else float("nan")


# -- callgrind ------------------------------------------------------------------------------------------

def callgrind_total(outfile):
    with open(outfile, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {outfile}")


def annotate_self(outfile):
    """{function: self Ir} from callgrind_annotate (all functions)."""
    import re

    proc = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", outfile],
                          capture_output=True, text=True)
    costs = {}
    for line in proc.stdout.splitlines():
        match = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
        if match and ":" in match.group(2) and match.group(2).endswith("]") and not match.group(2).startswith(("=>", "<")):
            name = match.group(2)
            costs[name] = costs.get(name, 0) + int(match.group(1).replace(",", ""))
    return costs


def short_name(name):
    """'file:symbol [object]' -> 'symbol (object basename)', Swift symbols demangled when possible."""
    obj = ""
    if name.endswith("]") and " [" in name:
        name, obj = name[:-1].rsplit(" [", 1)
        obj = os.path.basename(obj)
    symbol = name.rsplit(":", 1)[-1]
    return symbol, obj


def marginal_functions(small_out, large_out, d_events, limit=None):
    limit = limit or int(os.environ.get("BENCH_CALLGRIND_TOP", "20"))
    if not shutil.which("callgrind_annotate"):
        return ""
    a, b = annotate_self(small_out), annotate_self(large_out)
    diff = sorted(((b.get(k, 0) - a.get(k, 0), k) for k in set(a) | set(b)), reverse=True)[:limit]
    symbols = [short_name(k) for _, k in diff]
    demangler = shutil.which("swift-demangle") or shutil.which("swift")
    names = [s for s, _ in symbols]
    if demangler:
        cmd = [demangler] + (["demangle"] if demangler.endswith("/swift") else []) + ["--simplified"]
        try:
            proc = subprocess.run(cmd, input="\n".join(names) + "\n", capture_output=True, text=True, timeout=60)
            out = proc.stdout.splitlines()
            if proc.returncode == 0 and len(out) == len(names):
                names = out
        except (OSError, subprocess.TimeoutExpired):
            pass
    rows = []
    for (cost, _), name, (_, obj) in zip(diff, names, symbols):
        if len(name) > 110:
            name = name[:107] + "..."
        rows.append(f"{cost / d_events:8.0f}  {name}  [{obj}]")
    return "\n".join(rows)


def run_callgrind(exe, args, outdir):
    """Marginal instructions per event: Ir(2n) - Ir(n) for recorded minus the same for plain,
    divided by the extra events. Start-up, library load, set-up and flush cancel out."""
    workload = args.callgrind
    sizes = workload_sizes(workload)
    small, large = sizes.get("callgrind", (sizes["reference"], sizes["reference"] * 2))
    version = python_version(exe)
    log(f"== callgrind: {workload} on Python {version}, n={small} and n={large}")
    totals, events = {}, {}
    recorded = {"json": "ours", "compact": "ours-compact", "none": "ours-nosink"}[args.callgrind_sink]
    for mode in ("plain", recorded):
        env = ours_env(args) if mode != "plain" else base_env()
        for size in (small, large):
            cg_out = os.path.join(outdir, f"callgrind.{mode}.{size}.out")
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg_out}", "--dump-instr=no",
                   exe, CHILD, mode, os.path.join(WORKLOAD_DIR, workload + ".py"), str(size), outdir]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
            lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"callgrind {mode} n={size} failed:\n{proc.stderr[-2000:]}")
            totals[(mode, size)] = callgrind_total(cg_out)
            events[(mode, size)] = json.loads(lines[-1])["events"]
            log(f"  {mode:5} n={size:<5} Ir={totals[(mode, size)]:,}  events={events[(mode, size)]}")
    d_events = events[(recorded, large)] - events[(recorded, small)]
    d_ours = totals[(recorded, large)] - totals[(recorded, small)]
    d_plain = totals[("plain", large)] - totals[("plain", small)]
    per_event = (d_ours - d_plain) / d_events
    top = marginal_functions(os.path.join(outdir, f"callgrind.{recorded}.{small}.out"),
                             os.path.join(outdir, f"callgrind.{recorded}.{large}.out"), d_events)
    kept = os.path.join(HERE, "results", f"callgrind.{workload}.{version}.out")
    os.makedirs(os.path.dirname(kept), exist_ok=True)
    shutil.copyfile(os.path.join(outdir, f"callgrind.{recorded}.{large}.out"), kept)
    log(f"  kept {kept} (open with callgrind_annotate or kcachegrind)")
    result = {"workload": workload, "python": version, "sink": args.callgrind_sink, "sizes": [small, large], "events": d_events,
              "ir_recorded": d_ours, "ir_plain": d_plain, "ir_per_event": per_event,
              "ir_total_recorded_per_event": d_ours / d_events, "top_self": top}
    print(f"\ncallgrind {workload} (Python {version}, {args.callgrind_sink} sink): {per_event:,.0f} instructions per event for the recorder "
          f"({d_events} extra events between n={small} and n={large}; plain {d_plain:,} Ir, recorded {d_ours:,} Ir)")
    if top:
        print("functions by marginal self cost, instructions per event (recorded, n=%d minus n=%d):\n%s"
              % (large, small, top))
    return result


# -- reporting -------------------------------------------------------------------------------------------

def ms(value):
    return f"{value * 1e3:.1f}" if value >= 0.01 else f"{value * 1e3:.2f}"


def pct(value):
    return f"±{value * 50:.0f}%"  # half the (max-min)/median range


def mib(kib):
    return f"{kib / 1024:.1f}"


def main_table(result):
    breakdown = any("ours-nosink" in s for s in result["main"].values())
    rows = ["| workload | n | plain ms | recorded ms | **slowdown** | compact sink × | events | events/s | B/event "
            "JSON / compact | peak RSS MiB plain → rec | start ms | stop ms |" + (" without sink × |" if breakdown else ""),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if breakdown else "")]
    for workload, s in result["main"].items():
        extra = f" {ratio(s, 'ours-nosink'):.1f}× |" if "ours-nosink" in s else (" – |" if breakdown else "")
        p, o = s["plain"], s["ours"]
        ev = o.get("events") or 0
        rows.append(
            f"| {workload} | {s['size']} | {ms(p['cpu'])} {pct(p['cpu_spread'])} | {ms(o['cpu'])} {pct(o['cpu_spread'])} "
            f"| **{ratio(s, 'ours'):.1f}×** | {compact_cell(s)} | {ev:,} | {ev / o['cpu'] / 1e6:.2f} M | "
            f"{o['bytes'] / ev if ev else 0:.0f} / {compact_bytes(s)} | {mib(p['peak_rss'])} → {mib(o['peak_rss'])} | "
            f"{ms(o['start'])} | {ms(o['stop'])} |" + extra)
    return "\n".join(rows)


def compact_cell(stats):
    return f"**{ratio(stats, 'ours-compact'):.1f}×**" if "ours-compact" in stats else "–"


def compact_bytes(stats):
    c = stats.get("ours-compact")
    return f"{c['bytes'] / c['events']:.1f}" if c and c.get("events") else "–"


def reference_table(result):
    rows = ["| workload | n | plain ms | ours × | reference × | ours events | ref events | ref events/s | "
            "ref B/event | peak RSS MiB ours / ref | stop ms ours / ref |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for workload, s in result["reference"].items():
        if "error" in s:
            rows.append(f"| {workload} | {s['size']} | – | – | **fails**: `{s['error'][:90]}` | – | – | – | – | – | – |")
            continue
        p, o, r = s["plain"], s["ours"], s["reference"]
        oev, rev = o.get("events") or 0, r.get("events") or 0
        rows.append(
            f"| {workload} | {s['size']} | {ms(p['cpu'])} {pct(p['cpu_spread'])} | {ratio(s, 'ours'):.1f}× | "
            f"**{ratio(s, 'reference'):,.0f}×** | {oev:,} | {rev:,} | {rev / r['cpu'] / 1e3:.0f} k | "
            f"{r['bytes'] / rev if rev else 0:.0f} | {mib(o['peak_rss'])} / {mib(r['peak_rss'])} | "
            f"{ms(o['stop'])} / {ms(r['stop'])} |")
    return "\n".join(rows)


def summary_table(results):
    names = [w for w in WORKLOAD_ORDER if any(w in r["main"] for r in results)]
    head = "| workload | target | " + " | ".join(r["python"] for r in results) + " |"
    rows = [head, "|---|---|" + "---:|" * len(results)]
    for w in names:
        cells = [TARGETS.get(w, "")]
        for r in results:
            if w not in r["main"]:
                cells.append("–")
                continue
            cell = f"{ratio(r['main'][w], 'ours'):.1f}× / {ratio(r['main'][w], 'ours-compact'):.1f}×" \
                if "ours-compact" in r["main"][w] else f"{ratio(r['main'][w], 'ours'):.1f}×"
            if w in r["reference"]:
                ref = r["reference"][w]
                cell += " (ref fails)" if "error" in ref else f" (ref {ratio(ref, 'reference'):,.0f}×)"
            cells.append(cell)
        rows.append(f"| {w} | " + " | ".join(cells) + " |")
    if any(w in r["main"] for w in REAL_PROGRAMS for r in results):
        cells = [TARGETS["real programs (median)"]]
        for r in results:
            ratios = [ratio(r["main"][w], "ours") for w in REAL_PROGRAMS if w in r["main"]]
            compact = [ratio(r["main"][w], "ours-compact") for w in REAL_PROGRAMS
                       if w in r["main"] and "ours-compact" in r["main"][w]]
            cell = f"**{statistics.median(ratios):.1f}×**" if ratios else "–"
            if compact:
                cell += f" / **{statistics.median(compact):.1f}×**"
            cells.append(cell)
        rows.append("| real programs (median) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def scale_table(results):
    """The 10^6-iteration scale target: one recorded run per Python, everything included."""
    rows = ["| Python | sink | iterations | events | total s (target ≤ 3) | plain s | peak RSS MiB (≤ 250) | "
            "file MB (≤ 60) | B/event |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        s = r.get("scale")
        if not s:
            continue
        plain = s["plain"]
        for mode, sink in (("ours", "JSON"), ("ours-compact", "compact")):
            if mode not in s:
                continue
            ours = s[mode]
            events = ours.get("events") or 0
            rows.append(f"| {r['python']} | {sink} | {s['size']:,} | {events:,} | **{ours['total_wall']:.2f}** | "
                        f"{plain['total_wall']:.2f} | {ours['peak_rss'] / 1024:.0f} | {ours['bytes'] / 1e6:.1f} | "
                        f"{ours['bytes'] / events if events else 0:.1f} |")
    return "\n".join(rows)


def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "loadavg": round(os.getloadavg()[0], 1),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def git_revision():
    out = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def render_docs(report):
    m = report["machine"]
    a = report["args"]
    lines = [
        "# Performance",
        "",
        "Generated by `bench/run.py --write-docs`; numbers are from a real run, not edited by hand.",
        "",
        "## Machine and run",
        "",
        f"- Date: {m['date']}; recorder at commit `{report['revision']}` ({report['recorder']})",
        f"- CPU: {m['cpu']}, `nproc` = {m['nproc']} (shared VM: other work ran concurrently"
        + (f"; 1-minute load average {m['loadavg']} when the run started" if m.get("loadavg") is not None else "")
        + f"), kernel {m['kernel']}",
        f"- Pythons: {', '.join(r['python'] for r in report['results'])}",
        f"- Command: `{report['command']}`",
        f"- Sizes: {'quick' if a['quick'] else 'full'}; {a['repeat']} runs per mode"
        + (f", {a['ref_repeat']} per mode at reference scale" if a["reference"] else "")
        + f"; wall time of the whole run {report['elapsed_s'] / 60:.1f} min",
        "",
        "What was done to the hot path, what it costs per event and what stands between these numbers and the "
        "targets: [performance-work.md](performance-work.md) (written by hand, with profiles).",
        "",
        "## Slowdown of the workload while recording (CPU time, recorded ÷ plain, median of paired runs)",
        "",
        "Each cell: with the JSON sink (the default trace file) / with the compact sink (`.tsnap`). In brackets: "
        "the reference product `tracesnap==0.2.2` at its (smaller) reference scale.",
        "",
        summary_table(report["results"]),
        "",
    ]
    if any(r.get("scale") for r in report["results"]):
        lines += ["## Scale: 10^6 loop iterations", "",
                  f"`bench/workloads/{SCALE_WORKLOAD}.py`, recorded once per sink; *total* is wall time "
                  "from before the recorder's set-up to after the trace file is written.", "",
                  scale_table(report["results"]), ""]
    for r in report["results"]:
        lines += [f"## Python {r['python']}", "", main_table(r), ""]
        if r["reference"]:
            lines += [f"Against the reference product (`{REFERENCE_SPEC}`, pure-Python `sys.settrace`) at "
                      "reference scale (n below; plain, ours and the reference all run at this size):", "",
                      reference_table(r), ""]
    if report.get("callgrind"):
        c = report["callgrind"]
        lines += [
            "## Instructions per event (callgrind)",
            "",
            f"`{c['workload']}` on Python {c['python']} with the {c.get('sink', 'json')} sink, "
            f"n = {c['sizes'][0]} and {c['sizes'][1]}: "
            f"**{c['ir_per_event']:,.0f} instructions per event** added by the recorder "
            f"({c['ir_total_recorded_per_event']:,.0f} per event including the interpreter's own work; "
            f"{c['events']:,} extra events). Deterministic: use it as the regression signal.",
            "",
        ]
        if c.get("top_self"):
            lines += ["Functions by marginal self cost (instructions per event, recorded run at the larger size "
                      "minus the smaller). Code linked into several plugins (PluginKit's `eventCallback`, "
                      "`JSONWriter`, …) is one entry whose `[object]` is whichever copy callgrind_annotate "
                      "named; do not read the object as the plugin that spent it.", "", "```", c["top_self"], "```", ""]
    lines += [
        "## Web requests",
        "",
        "Recording one web request (a traced Flask view: session set-up, the view's lines, trace file and "
        "library entry) is measured end to end by `bench/request_overhead.py` (200 sequential requests, "
        "recorded and not, alternating); results and the cost of concurrent request recordings are in "
        "[integrations.md](integrations.md#cost).",
        "",
        "## Method",
        "",
        "- Each measurement is a fresh child process (`bench/child.py`) that imports the workload module, "
        "then times only `run(n)` with `time.process_time()`. Interpreter start-up, loading the recorder and "
        "session set-up (*start*) and the final flush (`stop()`, *stop*; for the reference: leaving the "
        "`with tracesnap.record(...)` block, which writes the file) are measured separately and not in the ratio.",
        "- Plain and recorded (and reference) runs alternate; the order rotates every repetition. Times are "
        "medians; ± is half the min–max range relative to the median. Slowdown is the median of the "
        "per-repetition ratios (each recorded run ÷ the plain run of the same repetition, which ran next to it), "
        "so a drift of the machine's speed between repetitions moves both sides of a ratio, not the ratio.",
        "- Recorded = `tracesnap._recording.NativeSession` with the default plugins (annotator, redactor) and the "
        "JSON sink writing to a temporary directory (*compact sink ×*: the same with the compact sink writing a `.tsnap` "
        "file; *without sink*, with `--breakdown`: the same session with no "
        "sink, i.e. hook + value capture + annotator + redactor, no encoding or file); `source_files` is the workload file only, so library "
        "code is not recorded (the `library_heavy` workload measures that filtering).",
        "- events/s = events ÷ recorded CPU time; B/event = trace file size ÷ events; peak RSS = "
        "VmHWM of the child (includes the interpreter, ~10 MiB). `getrusage(RUSAGE_SELF).ru_maxrss` is kept in "
        "the raw JSON but not shown: on Linux it carries the parent's RSS at fork time across `execve`, so every "
        "child reported the harness's own ~17 MiB.",
        "- The reference is too slow for the full sizes (hundreds to thousands ×), so it runs at each "
        "workload's `SIZES['reference']`; plain and ours are re-measured at that size in the same rotation. "
        "At that scale plain times are fractions of a millisecond, so ratios there are coarser.",
        "- The machine is a shared 2-core VM; expect ±15 % between runs. For a deterministic signal use "
        "`--callgrind` (marginal instructions per event between two sizes, start-up and flush cancel out).",
        "- Workloads: `bench/workloads/*.py`, each standalone (`python bench/workloads/numeric_loop.py`).",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pythons", default=os.environ.get("BENCH_PYTHONS", DEFAULT_PYTHONS),
                        help="comma-separated versions (pyenv) or interpreter paths")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, 3 runs per mode")
    parser.add_argument("--reference", action="store_true", help=f"also measure {REFERENCE_SPEC} (own venv)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per mode (default 5, quick 3)")
    parser.add_argument("--ref-repeat", type=int, default=None, help="runs per mode at reference scale (default 3)")
    parser.add_argument("--workloads", default=",".join(WORKLOAD_ORDER))
    parser.add_argument("--scale", action="store_true",
                        help=f"also record {SCALE_WORKLOAD} (10^6 iterations; total time, peak RSS, file size)")
    parser.add_argument("--breakdown", action="store_true",
                        help="also run the recorder without a sink (hook + capture + transforms only)")
    parser.add_argument("--callgrind", nargs="?", const="numeric_loop", default=None, metavar="WORKLOAD",
                        help="run WORKLOAD under valgrind --tool=callgrind and print recorder instructions per event")
    parser.add_argument("--callgrind-python", default=None, help="interpreter for --callgrind (default: last of --pythons)")
    parser.add_argument("--callgrind-only", action="store_true", help="skip the timing runs")
    parser.add_argument("--callgrind-sink", choices=["json", "compact", "none"], default="json",
                        help="the sink recorded under callgrind (default json; none: hook, capture and transforms only)")
    parser.add_argument("--lib-dir", default=os.environ.get("BENCH_LIB_DIR", os.path.join(REPO, ".build", "release")))
    parser.add_argument("--pythonpath", default=os.environ.get("BENCH_PYTHONPATH",
                                                               os.path.join(REPO, "integrations", "python", "src")))
    parser.add_argument("--installed", action="store_true", help="use the installed tracesnap (wheel), not the worktree")
    parser.add_argument("--hook", choices=["settrace", "monitoring"], help="force TRACESNAP_HOOK")
    parser.add_argument("--ref-venv-dir", default=os.path.expanduser("~/.cache/tracesnap-bench"))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per child process")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"), help="raw results file")
    parser.add_argument("--write-docs", action="store_true", help="write docs/performance.md")
    parser.add_argument("--render", metavar="JSON", help="only re-render docs/performance.md from a results file")
    args = parser.parse_args()
    if args.render:
        with open(args.render, encoding="utf-8") as handle:
            report = json.load(handle)
        path = os.path.join(REPO, "docs", "performance.md")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(render_docs(report))
        log(f"wrote {path} from {args.render}")
        return
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.repeat = args.repeat or (3 if args.quick else 5)
    args.ref_repeat = args.ref_repeat or 3
    pythons = [resolve_python(p.strip()) for p in args.pythons.split(",") if p.strip()]
    if not args.installed and not os.path.isfile(os.path.join(args.lib_dir, "libTraceSnapCore.so")):
        raise SystemExit(f"bench: no libTraceSnapCore.so in {args.lib_dir} (swift build -c release, or --installed)")

    started = time.time()
    command = "python bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    report = {"machine": machine_info(), "command": command.strip(), "revision": git_revision(),
              "recorder": "installed package" if args.installed else f"dev build {os.path.relpath(args.lib_dir, REPO)}",
              "args": {"quick": args.quick, "repeat": args.repeat, "ref_repeat": args.ref_repeat,
                       "reference": args.reference}, "results": []}
    with tempfile.TemporaryDirectory(prefix="tracesnap-bench-") as outdir:
        if not args.callgrind_only:
            for exe in pythons:
                report["results"].append(bench_python(exe, args, outdir))
        if args.callgrind:
            report["callgrind"] = run_callgrind(resolve_python(args.callgrind_python) if args.callgrind_python
                                                else pythons[-1], args, outdir)
    report["elapsed_s"] = time.time() - started

    for r in report["results"]:
        print(f"\n### Python {r['python']}\n\n{main_table(r)}")
        if r["reference"]:
            print(f"\nreference scale:\n\n{reference_table(r)}")
    if report["results"]:
        print("\n### Slowdown summary\n\n" + summary_table(report["results"]))
    if any(r.get("scale") for r in report["results"]):
        print("\n### Scale\n\n" + scale_table(report["results"]))
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1, default=str)
    if args.write_docs:
        path = os.path.join(REPO, "docs", "performance.md")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(render_docs(report))
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
