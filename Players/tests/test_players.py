"""Browser tests of the players (real headless Chromium via selenium)
against the test-only fake API server."""
from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

VIEWS = ["text", "simulator", "graph", "events"]
# a marker element that each view renders
MARKERS = {"text": "#now-text", "simulator": "#sim-flow .fc-node", "graph": "#call-graph .cg-node", "events": "#events-list .ev-row"}
TRACES = ["sample_complex", "calculator_multifile", "flask_request", "sample_program", "gen-small"]
XSS = "<img src=x onerror=alert(1)><script>window.__xss=1</script>"


@pytest.mark.parametrize("trace", TRACES)
@pytest.mark.parametrize("view", VIEWS)
def test_view_loads_and_steps(page, view, trace):
    page.open("?trace=%s&view=%s&step=5" % (trace, view))
    assert page.step == 5
    page.wait(lambda: page.js("return !!document.querySelector(arguments[0])", MARKERS[view]), msg=MARKERS[view])
    assert page.key("ArrowRight") == 6
    assert page.key("ArrowRight") == 7
    assert page.key("ArrowLeft") == 6
    assert page.js("return document.getElementById('step-num').textContent") == "6"
    # the source panel highlights the current line for line events
    page.key("End")
    n = page.js("return window.__tracesnap.events")
    assert page.step == n - 1
    page.key("Home")
    assert page.step == 0
    assert page.errors() == []


def test_keyboard_shortcuts(page):
    page.open("?trace=calculator_multifile&view=text&step=0")
    page.key("x")                       # next raised exception
    assert page.step == 143
    assert page.js("return document.querySelector('.line.current.error') !== null")
    page.key("X")                       # none before: stays
    assert page.step == 143
    page.key("Home")
    page.key("ArrowRight", shift=True)  # step over within <module>
    s1 = page.step
    assert s1 >= 1
    page.key("?")
    assert page.js("return !!document.getElementById('help-overlay')")
    page.key("Escape")
    assert not page.js("return !!document.getElementById('help-overlay')")
    # play, then pause
    page.key("]"); page.key("]"); page.key("]")
    page.key(" ")
    page.wait(lambda: page.step > s1 + 2, msg="playback advances")
    page.key(" ")
    s2 = page.step
    import time
    time.sleep(0.3)
    assert page.step == s2
    # step out forward/backward
    page.js("window.__tracesnap.go(140)")
    page.key("o")
    assert page.step == 144             # compute's (unwinding) return
    page.key("u")
    assert page.step == 139             # compute's call
    assert page.errors() == []
    page.js("localStorage.removeItem('tracesnap-speed')")


def test_view_switch_keeps_step_and_back_works(page):
    page.open("?trace=sample_complex&view=text&step=37")
    for view, label in (("simulator", "Simulator"), ("graph", "Call graph"), ("events", "Events"), ("text", "Text")):
        page.d.find_element(By.CSS_SELECTOR, ".tab[data-view=%s]" % view).click()
        page.wait(lambda: page.js("return window.__tracesnap.view") == view)
        assert page.step == 37
        assert "step=37" in page.d.current_url and "view=%s" % view in page.d.current_url
    page.key("3")
    assert page.js("return window.__tracesnap.view") == "graph"
    page.d.back()
    page.wait(lambda: page.js("return window.__tracesnap.view") == "text")
    assert page.step == 37
    assert page.errors() == []


def test_step_is_shareable_in_url(page):
    page.open("?trace=sample_complex&view=events&step=12")
    page.key("ArrowRight")
    page.wait(lambda: "step=13" in page.d.current_url, msg="url updated")
    page.open("?trace=sample_complex&view=simulator&step=13")
    assert page.step == 13


@pytest.mark.parametrize("view", VIEWS)
def test_xss_probe_is_inert(page, view):
    # step 7 is the assign of `probe`; the call to work has it as an argument
    page.open("?trace=gen-small&view=%s&step=7" % view)
    for s in (7, 8, 12, 40, 60):
        page.js("window.__tracesnap.go(arguments[0])", s)
    page.key("x")  # exception message contains the probe too
    assert page.js("return window.__xss === undefined")
    assert page.js("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.js("return [...document.querySelectorAll('script')].filter(s => s.id !== 'tracesnap-inline-trace' && s.textContent.includes('__xss')).length") == 0
    if view in ("text", "events"):
        page.js("window.__tracesnap.go(7)")
        assert XSS in page.text() or XSS[:40] in page.text()
    # search palette renders hits as text
    page.key("/")
    inp = page.d.find_element(By.ID, "search-input")
    inp.send_keys("onerror")
    page.wait(lambda: page.js("return document.querySelectorAll('#search-results li').length > 0"), msg="search hits")
    assert page.js("return window.__xss === undefined")
    inp.send_keys(Keys.ENTER)
    assert page.js("return window.__xss === undefined")
    assert page.errors() == []


def test_exceptions_menu(page):
    page.open("?trace=gen-small&view=text&step=0")
    page.d.find_element(By.ID, "exc-btn").click()
    items = page.d.find_elements(By.CSS_SELECTOR, "#exc-list .exc-item")
    assert len(items) >= 1
    items[0].click()
    assert page.js("return window.__tracesnap.step") > 0
    assert page.js("return document.querySelector('#now-panel.error') !== null")
    assert page.js("return window.__xss === undefined")


@pytest.mark.parametrize("query,needle", [
    ("?trace=does-not-exist&view=text", "No trace with id"),
    ("?trace=..%2F..%2Fetc&view=graph", "not a valid trace id"),
    ("?trace=corrupt&view=simulator", "not valid JSON"),
    ("?trace=notatrace&view=events", "not a trace"),
    ("?trace=empty&view=text", "no events"),
    ("?view=text", "No trace selected"),
])
def test_failed_loads_show_message(page, query, needle):
    page.open(query, wait_ready=False)
    page.wait(lambda: page.js("return !!document.getElementById('load-error')"), msg="error message")
    assert needle in page.js("return document.getElementById('load-error').innerText")


def test_home_library(page):
    page.s.library.add("to-delete", b'{"events": []}', name="to delete", project="examples")
    page.open("")
    page.wait(lambda: page.js("return document.querySelectorAll('.lib-row').length") >= 6, msg="library rows")
    # starts on the current project
    assert page.js("return document.getElementById('lib-project').value") == "examples"
    assert "gen-small" not in page.text()
    search = page.d.find_element(By.ID, "lib-search")
    search.send_keys("calc")
    assert page.js("return document.querySelectorAll('.lib-row').length") == 1
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.BACKSPACE)
    page.wait(lambda: page.js("return document.querySelectorAll('.lib-row').length") >= 6)
    # rename in place
    row = page.d.find_element(By.CSS_SELECTOR, ".lib-row[data-id=sample_program]")
    row.find_element(By.CSS_SELECTOR, ".icon-btn").click()
    inp = row.find_element(By.CSS_SELECTOR, ".lib-rename")
    inp.send_keys(Keys.CONTROL, "a")
    inp.send_keys("renamed <b>program</b>" + Keys.ENTER)
    page.wait(lambda: "renamed <b>program</b>" in page.text(), msg="renamed")
    assert page.s.library.entries["sample_program"]["name"] == "renamed <b>program</b>"
    # delete with confirmation
    row = page.d.find_element(By.CSS_SELECTOR, ".lib-row[data-id=to-delete]")
    row.find_element(By.CSS_SELECTOR, ".btn.danger").click()
    row.find_element(By.CSS_SELECTOR, ".confirm .btn.danger").click()
    page.wait(lambda: "to-delete" not in page.s.library.entries, msg="deleted")
    # all projects
    from selenium.webdriver.support.ui import Select
    Select(page.d.find_element(By.ID, "lib-project")).select_by_value("")
    page.wait(lambda: "gen-small" in page.text(), msg="all projects")
    # open a view from the library
    page.d.find_element(By.CSS_SELECTOR, ".lib-row[data-id=sample_complex] a.btn[href*='view=graph']").click()
    page.wait(lambda: page.js("return window.__tracesnap.view") == "graph" and page.js("return window.__tracesnap.events") > 0)
    assert page.errors() == []


def test_record_flow(page):
    page.open("?view=record")
    page.wait(lambda: page.js("return document.querySelectorAll('.src-item').length") == 3, msg="sources")
    assert "<b>odd</b>.py" in page.text()          # rendered as text
    page.d.find_elements(By.CSS_SELECTOR, ".src-item")[0].click()
    page.d.find_element(By.ID, "rec-name").send_keys("from-test")
    page.d.find_element(By.ID, "rec-args").send_keys('--n 3 "two words"')
    page.d.find_element(By.ID, "rec-start").click()
    page.wait(lambda: "Enter a number" in page.js("return document.getElementById('rec-term').innerText"), msg="stdout")
    stdin = page.d.find_element(By.ID, "rec-stdin")
    stdin.send_keys("7" + Keys.ENTER)
    page.wait(lambda: page.js("return !!document.querySelector('#rec-result a[data-view=text]')"), msg="result links")
    assert "you said 7" in page.js("return document.getElementById('rec-term').innerText")
    page.d.find_element(By.CSS_SELECTOR, "#rec-result a[data-view=simulator]").click()
    page.wait(lambda: page.js("return window.__tracesnap.view") == "simulator" and page.js("return window.__tracesnap.events") == 40)
    assert page.errors() == []


def test_mutations_send_token(page):
    page.open("")
    status = page.js("""
        return fetch('/api/traces/sample_complex', {method: 'PATCH', headers: {'Content-Type': 'application/json'}, body: '{"name":"x"}'}).then(r => r.status);
    """)
    assert status == 403   # the fake enforces the token, so the UI's success above proves it sends it


def test_run_to_line_and_variable_changes(page):
    page.open("?trace=sample_complex&view=text&step=0")
    # click line number 51 (inside the categorize loop) -> runs there
    page.js("window.__tracesnap.go(60)")
    page.d.find_element(By.CSS_SELECTOR, ".line .ln[data-line='51']").click()
    s = page.step
    assert s > 60
    assert page.js("return document.querySelector('.line.current .ln').dataset.line") == "51"
    # run backwards with shift-click from later
    page.js("window.__tracesnap.go(200)")
    page.js("const b = document.querySelector(\".line .ln[data-line='51']\"); b.dispatchEvent(new MouseEvent('click', {bubbles: true, shiftKey: true}));")
    assert 60 < page.step < 200
    # select a variable and jump between its changes
    page.js("window.__tracesnap.go(75)")
    page.d.find_element(By.CSS_SELECTOR, "#call-stack .frame.top [data-selvar=buckets]").click()
    before = page.step
    page.key(".")
    after = page.step
    assert after > before
    assert page.js("return window.__tracesnap.step") == after
    page.key(",")
    assert page.step < after
    assert page.errors() == []


def test_theme_toggle(page):
    page.open("?trace=sample_program&view=text")
    first = page.js("return document.documentElement.dataset.theme")
    for _ in range(3):
        page.d.find_element(By.ID, "theme-btn").click()
        if page.js("return document.documentElement.dataset.theme") != first:
            break
    assert page.js("return document.documentElement.dataset.theme") != first
    page.js("localStorage.removeItem('tracesnap-theme')")


def test_export_mode(page):
    page.d.get(page.s.url + "/export.html?trace=gen-small")
    page.wait(lambda: page.js("return !!(window.__tracesnap && window.__tracesnap.ready)"), msg="export ready")
    assert page.js("return window.__tracesnap.events") > 1000
    assert page.js("return document.body.classList.contains('export-mode')")
    assert not page.js("return !!document.querySelector('.tab[data-view=home]')")
    page.key("2")
    page.key("ArrowRight")
    assert page.js("return window.__xss === undefined")
    assert page.errors() == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots(page, theme):
    page.open("")
    page.js("localStorage.setItem('tracesnap-theme', arguments[0])", theme)
    shots = [("home", ""), ("text", "?trace=sample_complex&view=text&step=80"),
             ("simulator", "?trace=sample_complex&view=simulator&step=80"),
             ("graph", "?trace=calculator_multifile&view=graph&step=100"),
             ("events", "?trace=calculator_multifile&view=events&step=143"),
             ("record", "?view=record")]
    for name, q in shots:
        page.open(q)
        page.wait(lambda: page.js("return document.documentElement.dataset.theme") == theme)
        import time
        time.sleep(0.5)
        page.shot("%s-%s" % (name, theme))
    page.js("localStorage.removeItem('tracesnap-theme')")
    assert page.errors() == []


@pytest.mark.parametrize("view", VIEWS)
def test_edge_traces(page, view):
    """Deep recursion in a 0.1 trace cut short while unwinding, and a 0.2
    trace with two threads and a generator resumed on another thread."""
    page.open("?trace=edge-deep&view=%s&step=0" % view)
    n = page.js("return window.__tracesnap.events")
    for s in (n // 4, n // 2, n - 3, n - 1, 5):
        page.js("window.__tracesnap.go(arguments[0])", s)
    page.js("window.__tracesnap.go(arguments[0])", n // 2)
    if view == "text":
        assert "more frames below" in page.text()
    if view == "graph":
        assert page.js("return document.querySelectorAll('.cg-edge.self').length") == 1
        assert "3001 deep" in page.js("return document.getElementById('call-graph').textContent")
    assert page.errors() == []
    page.open("?trace=edge-threads&view=%s&step=0" % view)
    for s in range(page.js("return window.__tracesnap.events")):
        page.key("ArrowRight")
    assert page.js("return window.__xss === undefined")
    assert page.errors() == []
    page.open("?trace=edge-wide&view=%s&step=0" % view)
    page.key("End"); page.key("ArrowLeft"); page.key("Home")
    assert page.errors() == []


@pytest.mark.parametrize("view", ["text", "simulator"])
def test_asyncio_tasks_are_told_apart(page, view):
    """Frames of concurrent asyncio tasks on one thread are labelled with their task."""
    # step 7 runs in the second `work` coroutine (task 3), step 4 in the first (task 2)
    page.open("?trace=edge-tasks&view=%s&step=7" % view)
    labels = page.js("return [...document.querySelectorAll('#main .task')].map(e => e.textContent)")
    assert "task 3" in labels
    page.js("window.__tracesnap.go(4)")
    labels = page.js("return [...document.querySelectorAll('#main .task')].map(e => e.textContent)")
    assert "task 2" in labels and "task 3" not in labels
    assert page.errors() == []


def test_open_local_file(page, tmp_path):
    import json as _json
    import gen_trace
    p = tmp_path / "local.json"
    p.write_text(_json.dumps(gen_trace.generate(300)))
    page.open("")
    page.d.find_element(By.ID, "open-file").send_keys(str(p))
    page.wait(lambda: page.js("return window.__tracesnap.events") > 300 and page.js("return window.__tracesnap.view") == "text", msg="local trace")
    page.key("ArrowRight")
    page.key("2")
    assert page.js("return window.__tracesnap.view") == "simulator"
    assert page.step == 1
    assert "trace=" not in page.d.current_url
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    page.open("")
    page.d.find_element(By.ID, "open-file").send_keys(str(bad))
    page.wait(lambda: page.js("return !!document.getElementById('load-error')"), msg="error")
    assert "not valid JSON" in page.js("return document.getElementById('load-error').innerText")


@pytest.mark.parametrize("view", VIEWS)
def test_odd_trace_does_not_throw(page, view):
    page.open("?trace=weird&view=%s&step=0" % view)
    n = page.js("return window.__tracesnap.events")
    for _ in range(n + 1):
        page.key("ArrowRight")
    page.key("x")
    page.key("o"); page.key("u")
    page.key("Home")
    assert page.errors() == []
def test_console_error_detection_works(page):
    page.open("?trace=sample_program&view=text")
    page.js("setTimeout(() => { throw new Error('boom') }, 0)")
    time.sleep(0.3)
    errs = page.errors()
    assert errs and "boom" in errs[0]["message"]


def test_events_filters_and_row_keys(page):
    page.open("?trace=sample_complex&view=events&step=0")
    total = page.js("return document.getElementById('events-count').textContent")
    assert "297" in total
    # keep only call events
    for t in ("return", "line", "assign", "branch", "loop", "exception", "extcall"):
        page.d.find_element(By.CSS_SELECTOR, ".fchip[data-type=%s]" % t).click()
    assert page.js("return document.getElementById('events-count').textContent").startswith("8 of")
    page.key("ArrowDown")
    s = page.step
    assert page.js("return window.__tracesnap.step") == s and s > 0
    assert page.js("return document.querySelector('.ev-row.current .chip').textContent") == "call"
    page.key("ArrowDown")
    assert page.step > s
    page.key("ArrowUp")
    assert page.step == s
    # function filter
    page.d.find_element(By.CSS_SELECTOR, ".fchip[data-type=line]").click()
    page.d.find_element(By.ID, "filter-func").send_keys("categorize")
    page.wait(lambda: "of 297" in page.js("return document.getElementById('events-count').textContent") and
              page.js("return [...document.querySelectorAll('.ev-row:not(.ev-head) .c-fn')].filter(e => !e.closest('.ev-row').hidden).every(e => e.textContent === 'categorize')"), msg="function filter")
    # the list is virtualised: far fewer rows than events
    page.open("?trace=gen-100k&view=events&step=50000", timeout=60)
    assert page.js("return document.querySelectorAll('.ev-row').length") < 80
    assert page.js("return document.querySelector('.ev-row.current .c-step').textContent") == "50000"
    assert page.errors() == []


def _inline_export(trace_text: str) -> str:
    """Imitate `tracesnap export --html`: every module becomes a data: URL in
    the import map, the stylesheets are inlined, the trace is embedded."""
    import base64
    import json as _json
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    imports = {}
    for p in sorted((root / "src").rglob("*.js")):
        spec = "ts/" + p.relative_to(root / "src").as_posix()
        imports[spec] = "data:text/javascript;base64," + base64.b64encode(p.read_bytes()).decode()
    html = (root / "index.html").read_text()
    html = re.sub(r'<script type="importmap">.*?</script>',
                  lambda m: '<script type="importmap">%s</script>' % _json.dumps({"imports": imports}), html, flags=re.S)
    html = re.sub(r'<link rel="modulepreload" href="[^"]+">\n?', "", html)   # as the exporter does
    html = re.sub(r'<link rel="stylesheet" href="([^"]+)">',
                  lambda m: "<style>%s</style>" % (root / m.group(1)).read_text(), html)
    inline = trace_text.replace("</", "<\\/")
    return html.replace("</body>", '<script type="application/json" id="tracesnap-inline-trace">%s</script>\n</body>' % inline)


def test_export_with_data_url_modules(page, tmp_path):
    import json as _json
    import gen_trace
    out = tmp_path / "export.html"
    out.write_text(_inline_export(_json.dumps(gen_trace.generate(500))))
    page.d.get("about:blank")
    page.d.get_log("browser")
    page.d.get(out.as_uri() + "?view=graph&step=40")
    page.wait(lambda: page.js("return !!(window.__tracesnap && window.__tracesnap.ready)"), msg="export ready")
    assert page.js("return window.__tracesnap.view") == "graph"
    assert page.step == 40
    page.key("1")
    page.key("ArrowRight")
    assert page.step == 41
    assert page.js("return window.__xss === undefined")
    assert page.errors() == []


def test_library_round_trip_keeps_trace(page):
    page.open("?trace=sample_complex&view=simulator&step=20")
    page.d.find_element(By.CSS_SELECTOR, ".tab[data-view=home]").click()
    page.wait(lambda: page.js("return document.querySelectorAll('.lib-row').length") > 0, msg="library")
    assert page.js("return document.getElementById('transport').hidden")
    page.d.find_element(By.CSS_SELECTOR, ".tab[data-view=simulator]").click()
    page.wait(lambda: page.js("return window.__tracesnap.view") == "simulator")
    assert page.step == 20
    page.key("ArrowRight")
    assert page.js("return document.getElementById('step-num').textContent") == "21"
    assert page.js("return document.querySelectorAll('#transport .transport-inner').length") == 1
    assert "sample_complex" in page.js("return document.getElementById('trace-title').textContent")
    assert page.errors() == []


def test_trace_switcher_keeps_view(page):
    page.open("?trace=sample_program&view=graph&step=3")
    page.d.find_element(By.ID, "switch-btn").click()
    page.wait(lambda: page.js("return document.querySelectorAll('#switch-list button').length") > 3, msg="switch list")
    page.d.find_element(By.ID, "switch-filter").send_keys("calc")
    page.wait(lambda: page.js("return document.querySelectorAll('#switch-list button').length") == 1)
    page.d.find_element(By.CSS_SELECTOR, "#switch-list button").click()
    page.wait(lambda: page.js("return window.__tracesnap.events") == 176 and page.js("return window.__tracesnap.ready"))
    assert page.js("return window.__tracesnap.view") == "graph"
    assert page.errors() == []


def test_go_to_step(page):
    page.open("?trace=sample_complex&view=text&step=3")
    page.key("g")
    inp = page.d.find_element(By.ID, "go-step")
    inp.send_keys(Keys.CONTROL, "a")
    inp.send_keys("222" + Keys.ENTER)
    assert page.step == 222
    page.d.find_element(By.ID, "step-num").click()
    inp.send_keys(Keys.CONTROL, "a")
    inp.send_keys("99999" + Keys.ENTER)
    assert page.step == 296      # clamped to the last step
    assert page.errors() == []


def test_many_variables_are_capped(page):
    page.open("?trace=edge-wide&view=text&step=0")
    page.key("End")
    assert page.js("return document.querySelectorAll('#call-stack .locals tr').length") <= 61
    page.d.find_element(By.CSS_SELECTOR, "#call-stack [data-expand]").click()
    assert page.js("return document.querySelectorAll('#call-stack .locals tr').length") == 300
    assert page.errors() == []


def test_call_graph_details_and_recursion(page):
    page.open("?trace=gen-small&view=graph&step=300")
    assert page.js("return document.querySelector('.det-panel').hidden")
    page.js("document.querySelector('.cg-node[data-key$=\"::fib\"]').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    assert not page.js("return document.querySelector('.det-panel').hidden")
    n = page.js("return document.querySelectorAll('#cg-details .inv').length")
    assert n == 50                      # 10 rounds x fib(3) = 5 calls each
    assert page.js("return document.querySelectorAll('.cg-edge.self').length") == 1
    # jump to an invocation's return
    page.js("document.querySelector('#cg-details .inv [title=\"Go to the return\"]').click()")
    assert page.js("return window.__tracesnap.events") > page.step > 0
    assert page.js("return document.querySelector('.cg-node.current') !== null")
    # zoom keys
    before = page.js("return document.querySelector('.zoom-label').textContent")
    page.key("+")
    assert page.js("return document.querySelector('.zoom-label').textContent") != before
    page.d.find_element(By.CSS_SELECTOR, ".det-panel .panel-head button").click()
    assert page.js("return document.querySelector('.det-panel').hidden")
    assert page.errors() == []


@pytest.mark.parametrize("kind", ["svg", "png"])
def test_call_graph_picture_downloads(page, tmp_path, kind):
    """The call graph's ⤓ SVG / ⤓ PNG save the whole graph as a real, well-formed file."""
    import xml.etree.ElementTree as ET

    page.d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    page.open("?trace=gen-small&view=graph&step=40")
    page.d.find_element(By.CSS_SELECTOR, "#main .cg-controls [data-download=%s]" % kind).click()
    pattern = "*-callgraph-step40.%s" % kind
    found = page.wait(lambda: [f for f in tmp_path.glob(pattern) if f.stat().st_size > 0], timeout=15,
                      msg="a downloaded " + pattern)
    data = found[0].read_bytes()
    if kind == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        texts = " ".join(t.text or "" for t in ET.fromstring(data).iter("{http://www.w3.org/2000/svg}text"))
        assert "fib" in texts and "work" in texts
    assert not page.errors()


@pytest.mark.parametrize("kind", ["svg", "png"])
def test_simulator_picture_downloads(page, tmp_path, kind):
    """⤓ SVG / ⤓ PNG in the simulator save the flowchart as a real file: the SVG is well-formed,
    holds the running statement's text and the XSS probe only as escaped text; the PNG is a PNG."""
    import xml.etree.ElementTree as ET

    page.d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    page.open("?trace=gen-small&view=simulator&step=7")
    page.d.find_element(By.CSS_SELECTOR, "#main .sim-panel [data-download=%s]" % kind).click()
    # named after the trace id inside the file, the view and the step
    pattern = "*-simulator-step7.%s" % kind
    found = page.wait(lambda: [f for f in tmp_path.glob(pattern) if f.stat().st_size > 0], timeout=15,
                      msg="a downloaded " + pattern)
    data = found[0].read_bytes()
    if kind == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        return
    root = ET.fromstring(data)
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    current = page.js("return document.querySelector('#sim-flow .fc-node.now .fc-code, #sim-flow .now .fc-code')?.textContent || ''")
    assert current and current.strip()[:20] in texts
    assert b"<script" not in data.lower()
    assert not page.errors()
