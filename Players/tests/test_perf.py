"""Scale: load time and per-step time of every view on generated traces of
10^4 and 10^5 events. Steps are measured in the page: dispatch the key (the
player renders synchronously) and force a layout, so the number includes
DOM work and style/layout, not just JS. Results go to /tmp/players-perf.json.
"""
from __future__ import annotations

import statistics

import pytest

VIEWS = ["text", "simulator", "graph", "events"]
LIMIT_MS = 50.0

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


@pytest.mark.parametrize("size", ["gen-10k", "gen-100k"])
@pytest.mark.parametrize("view", VIEWS)
def test_scale(page, perf_log, view, size):
    page.open("?trace=%s&view=%s&step=0" % (size, view), timeout=60)
    n = page.js("return window.__tracesnap.events")
    assert n >= (10_000 if size == "gen-10k" else 100_000)
    ready_ms = page.js("return window.__tracesnap.readyAt")
    index_ms = page.js("return window.__tracesnap.loadMs")
    res = page.js(MEASURE)
    summary = {"events": n, "first_render_ms": round(ready_ms), "fetch_parse_index_ms": round(index_ms)}
    worst = 0.0
    for k, arr in res.items():
        arr = sorted(arr)
        p90 = arr[int(len(arr) * 0.9) - 1]
        summary[k] = {"median": round(statistics.median(arr), 2), "p90": round(p90, 2), "max": round(arr[-1], 2)}
        worst = max(worst, p90)
    perf_log["%s/%s" % (size, view)] = summary
    print(size, view, summary)
    assert page.errors() == []
    worst_median = max(v["median"] for k, v in summary.items() if isinstance(v, dict))
    assert worst_median <= LIMIT_MS, summary
