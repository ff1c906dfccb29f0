"""Measure the browser players against the real `tracesnap view` server at 10^4, 10^5, 10^6 events.

For every size it starts `tracesnap view --no-browser TRACE` (a fresh TRACESNAP_HOME, so the
server's column cache starts empty), opens every view in headless Chromium several times and
records:

- first render: navigation start -> the requested step is on screen (`__tracesnap.firstRenderAt`,
  or `readyAt` for players that have no progressive load);
- complete: navigation start -> the whole trace is indexed and every step is reachable;
- the longest main-thread task while loading (PerformanceObserver "longtask");
- the JS heap after the load;
- per operation (-> step, <- step, step over, Home/End, scrub jump, exception jump): key dispatch +
  synchronous render + forced layout, as in Players/tests/test_perf.py.

The first load after the server starts is the "cold" one (the server encodes the trace while it
streams it); later loads are "warm" (served from the server's column cache). Numbers are medians and
p90s. Screenshots of every view at the largest size go to --shots.

    python bench/players_scale.py --sizes 10000,100000,1000000 --loads 3 \
        --bin .build/release/tracesnap --out /tmp/players-scale.json

`--players DIR` measures another players directory (e.g. an older checkout) with the same server
(with `--settle 5`, so that the column encoding `view FILE` starts, which older players never ask
for, does not compete with them).
Traces are generated once with Players/tests/gen_trace.py into --cache.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Players" / "tests"))

VIEWS = ["text", "simulator", "graph", "events"]

MEASURE = r"""
const n = window.__tracesnap.events;
const out = {};
function key(k, shift) {
  document.body.dispatchEvent(new KeyboardEvent('keydown', {key: k, shiftKey: !!shift, bubbles: true, cancelable: true}));
}
function time(fn) { const t0 = performance.now(); fn(); void document.body.offsetHeight; document.querySelector('main').getBoundingClientRect(); return performance.now() - t0; }
function run(name, count, fn) { const a = []; for (let i = 0; i < count; i++) a.push(time(() => fn(i))); out[name] = a; }
window.__tracesnap.go(Math.floor(n / 2));
void document.body.offsetHeight;
run('forward', 40, () => key('ArrowRight'));
run('backward', 40, () => key('ArrowLeft'));
run('step_over', 20, (i) => key(i % 2 ? 'ArrowLeft' : 'ArrowRight', true));
run('end_home', 10, (i) => key(i % 2 ? 'Home' : 'End'));
const scr = document.getElementById('scrubber');
let seed = 7; const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
run('scrub', 30, () => { scr.value = String(Math.floor(rnd() * n)); scr.dispatchEvent(new Event('input', {bubbles: true})); });
run('exception_jump', 10, () => key('x'));
return out;
"""

LONGTASKS = r"""
window.__longtasks = [];
try {
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longtasks.push(e.duration); })
    .observe({type: 'longtask', buffered: true});
} catch (e) {}
"""

STATE = r"""
const t = window.__tracesnap;
if (!t) return null;
const done = t.ready && (t.complete === undefined ? true : t.complete);
return {
  ready: !!t.ready, done: !!done, events: t.events,
  first: t.firstRenderAt === undefined ? t.readyAt : t.firstRenderAt,
  complete: t.completeAt === undefined ? t.readyAt : t.completeAt,
  longest: Math.max(0, ...(window.__longtasks || [])),
  heap: performance.memory ? performance.memory.usedJSHeapSize : null,
  error: (document.getElementById('load-error') || {}).textContent || null,
};
"""


def pct(values, p):
    values = sorted(values)
    if not values:
        return None
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def stats(values):
    return {"median": round(statistics.median(values), 2), "p90": round(pct(values, 90), 2),
            "max": round(max(values), 2), "n": len(values)}


def trace_file(cache: Path, n: int) -> Path:
    path = cache / f"gen-{n}.json"
    if not path.exists():
        import gen_trace
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(gen_trace.generate(n), separators=(",", ":")))
        tmp.rename(path)
    return path


def start_server(binary: Path, trace: Path, players: Path, home: Path):
    env = dict(os.environ)
    env.update({"TRACESNAP_HOME": str(home), "TRACESNAP_NO_BROWSER": "1", "TRACESNAP_PLAYERS_DIR": str(players)})
    env.setdefault("LD_LIBRARY_PATH", "/opt/swift/usr/lib/swift/linux")
    proc = subprocess.Popen([str(binary), "view", "--no-browser", "--port", "0", str(trace)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    port = None
    trace_id = None
    for line in proc.stderr:
        m = re.search(r"open http://127\.0\.0\.1:(\d+)/\S*trace=([A-Za-z0-9._~+-]+)", line)
        if m:
            port, trace_id = int(m.group(1)), m.group(2)
        if "Ctrl-C" in line:
            break
    if port is None:
        proc.kill()
        raise SystemExit("server did not start")
    return proc, port, trace_id


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,860",
              "--disable-dev-shm-usage", "--js-flags=--max-old-space-size=4096"):
        opts.add_argument(a)
    if shutil.which("chromium"):
        opts.binary_location = shutil.which("chromium")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=opts)
    d.set_script_timeout(120)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LONGTASKS})
    return d


def load(d, url, timeout=180):
    d.get("about:blank")
    d.get(url)
    end = time.time() + timeout
    while time.time() < end:
        st = d.execute_script(STATE)
        if st and st["error"]:
            raise SystemExit("load failed: " + st["error"])
        if st and st["done"]:
            return st
        time.sleep(0.05)
    raise SystemExit("timed out loading " + url)


def cold_library(d, binary: Path, trace: Path, players: Path, views, loads):
    """First render / complete of a library trace nobody has encoded yet, per view."""
    out = {}
    for view in views:
        runs = []
        for _ in range(loads):
            home = Path(tempfile.mkdtemp(prefix="tscold-"))
            (home / "traces").mkdir()
            tid = "20260101-000000-c01d00"
            shutil.copyfile(trace, home / "traces" / f"{tid}.json")
            meta = {"id": tid, "name": "scale", "trace_id": "scale", "created": "2026-01-01T00:00:00", "created_ts": 1,
                    "event_count": 0, "source": "", "kind": "script", "project": "scale"}
            (home / "index.json").write_text(json.dumps({"version": 1, "traces": [meta]}))
            env = dict(os.environ, TRACESNAP_HOME=str(home), TRACESNAP_NO_BROWSER="1", TRACESNAP_PLAYERS_DIR=str(players))
            env.setdefault("LD_LIBRARY_PATH", "/opt/swift/usr/lib/swift/linux")
            proc = subprocess.Popen([str(binary), "view", "--no-browser", "--port", "0"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True, env=env)
            port = None
            for line in proc.stderr:
                m = re.search(r"open http://127\.0\.0\.1:(\d+)/", line)
                if m:
                    port = int(m.group(1))
                if "Ctrl-C" in line:
                    break
            try:
                time.sleep(0.5)
                st = load(d, f"http://127.0.0.1:{port}/index.html?trace={tid}&view={view}&step=0")
                runs.append(st)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
                shutil.rmtree(home, ignore_errors=True)
        out[view] = {"first_render_ms": stats([s["first"] for s in runs]),
                     "complete_ms": stats([s["complete"] for s in runs]),
                     "longest_task_ms": stats([s["longest"] for s in runs])}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--loads", type=int, default=3, help="page loads per view and size")
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "tracesnap"))
    ap.add_argument("--players", default=str(ROOT / "Players"))
    ap.add_argument("--cache", default="/tmp/tracesnap-scale-traces")
    ap.add_argument("--out", default="/tmp/players-scale.json")
    ap.add_argument("--shots", default="/tmp/players-shots-s3")
    ap.add_argument("--views", default=",".join(VIEWS))
    ap.add_argument("--cold-library", type=int, default=0, metavar="N",
                    help="also N loads per view of the trace as a library entry with an empty column cache "
                         "(a fresh TRACESNAP_HOME per load: the request itself encodes it, the slowest case)")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds to wait after the server starts (lets `view FILE` finish encoding first)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    views = args.views.split(",")
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    results = {"players": args.players, "sizes": {}}
    d = browser()
    try:
        for n in sizes:
            trace = trace_file(Path(args.cache), n)
            home = Path(tempfile.mkdtemp(prefix="tsscale-"))
            proc, port, trace_id = start_server(Path(args.bin), trace, Path(args.players), home)
            per = {"bytes": trace.stat().st_size, "views": {}}
            time.sleep(args.settle)
            try:
                base = f"http://127.0.0.1:{port}/index.html?trace={trace_id}"
                cold = None
                for view in views:
                    loads = []
                    ops: dict[str, list] = {}
                    for i in range(args.loads):
                        st = load(d, f"{base}&view={view}&step=0")
                        if cold is None:
                            cold = st
                        else:
                            loads.append(st)
                        res = d.execute_script(MEASURE)
                        for k, v in res.items():
                            ops.setdefault(k, []).extend(v)
                    if n == max(sizes):
                        d.execute_script("window.__tracesnap.go(Math.floor(window.__tracesnap.events / 2))")
                        time.sleep(0.6)
                        d.save_screenshot(str(shots / f"{view}-{n}.png"))
                    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
                    per["views"][view] = {
                        "first_render_ms": stats([s["first"] for s in loads]) if loads else None,
                        "complete_ms": stats([s["complete"] for s in loads]) if loads else None,
                        "longest_task_ms": stats([s["longest"] for s in loads]) if loads else None,
                        "heap_mb": round(max(s["heap"] or 0 for s in loads) / 1e6, 1) if loads else None,
                        "ops": {k: stats(v) for k, v in ops.items()},
                        "errors": [e["message"][:200] for e in errors],
                    }
                    print(n, view, json.dumps(per["views"][view]), flush=True)
                per["cold"] = {"first_render_ms": round(cold["first"]), "complete_ms": round(cold["complete"]),
                               "longest_task_ms": round(cold["longest"])}
                print(n, "cold", per["cold"], flush=True)
                if args.cold_library:
                    per["cold_library"] = cold_library(d, Path(args.bin), trace, Path(args.players), views,
                                                       args.cold_library)
                    print(n, "cold library", per["cold_library"], flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
                shutil.rmtree(home, ignore_errors=True)
            results["sizes"][str(n)] = per
    finally:
        d.quit()
    Path(args.out).write_text(json.dumps(results, indent=2))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
