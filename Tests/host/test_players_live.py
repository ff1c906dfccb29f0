"""The real players served by a real `tracesnap view`, driven in headless Chromium.

Unlike Players/tests (which run the players against a test stand-in of the API), this starts the
actual Swift server with the actual Players/ directory and opens: a trace recorded with
`tracesnap record` from the library (needs the installed package with its native recorder), and a
v0.1 trace written by the reference product, given to `view` as a file. Each view loads, steps
forward and back with the keyboard, keeps the step when switching views, and logs no errors.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Runner, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_TRACE = ROOT / "Tests" / "TraceSnapTraceTests" / "Fixtures" / "sample_program.trace.json"
VIEWS = ["text", "simulator", "graph", "events"]


def _players_dir():
    probe = "import os, tracesnap; print(os.path.dirname(tracesnap.__file__))"
    try:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
        installed = Path(out.stdout.strip().splitlines()[-1]) / "players" if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, IndexError):
        installed = None
    if installed and (installed / "index.html").exists():
        return installed
    return ROOT / "Players"


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")
    if not driver_path:
        pytest.skip("chromedriver is not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,850",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    if shutil.which("chromium"):
        options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


def _wait(driver, script, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def _press(driver, key):
    return driver.execute_script(
        "const e = new KeyboardEvent('keydown', {key: arguments[0], bubbles: true});"
        "document.body.dispatchEvent(e); return window.__tracesnap.step;", key)


def _errors(driver):
    return [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def _exercise(driver, url):
    driver.get(url)
    _wait(driver, "return window.__tracesnap && window.__tracesnap.ready")
    assert driver.execute_script("return window.__tracesnap.events") > 3
    start = driver.execute_script("return window.__tracesnap.step")
    after = _press(driver, "ArrowRight")
    after = _press(driver, "ArrowRight")
    assert after == start + 2
    assert _press(driver, "ArrowLeft") == start + 1
    return start + 1


@pytest.fixture
def live_runner(tsbin, home):
    return Runner(tsbin, home, {"TRACESNAP_PLAYERS_DIR": str(_players_dir())})


def test_every_view_replays_a_reference_trace_from_a_file(browser, live_runner, tmp_path):
    trace = tmp_path / "reference.json"
    shutil.copy(REFERENCE_TRACE, trace)
    server = start_server(live_runner, trace)
    try:
        base = f"http://127.0.0.1:{server.port}/index.html"
        driver = browser
        # `view FILE` serves the file under a stable id; `/` redirects to it
        driver.get(f"http://127.0.0.1:{server.port}/")
        trace_id = _wait(driver, "return new URL(location.href).searchParams.get('trace')")
        step = None
        for view in VIEWS:
            url = f"{base}?trace={trace_id}&view={view}" + (f"&step={step}" if step is not None else "")
            got = _exercise(driver, url)
            if step is not None:
                assert got == step + 1, f"{view}: the step given in the URL was kept"
            step = got
        assert _errors(driver) == []
    finally:
        stop_server(server)


def test_a_recorded_trace_replays_in_every_view(browser, live_runner, tmp_path):
    probe = subprocess.run([sys.executable, "-c", "import tracesnap._recording, tracesnap._native as n; n.core()"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the tracesnap package with its native recorder is not installed")
    script = tmp_path / "walk.py"
    script.write_text("def total(xs):\n    s = 0\n    for x in xs:\n        if x % 2:\n            s += x\n"
                      "    return s\n\nprint(total([1, 2, 3, 4, 5]))\n")
    recorded = live_runner("record", script, cwd=tmp_path, env={"TRACESNAP_PYTHON": sys.executable}, timeout=120)
    assert recorded.returncode == 0, recorded.stderr
    index = json.loads((live_runner.home / "index.json").read_text())
    trace_id = index["traces"][-1]["id"]
    server = start_server(live_runner)
    try:
        base = f"http://127.0.0.1:{server.port}/index.html"
        for view in VIEWS:
            _exercise(browser, f"{base}?trace={trace_id}&view={view}")
        browser.get(f"{base}?view=home")
        _wait(browser, f"return document.body.innerText.includes('{trace_id}') || "
                       f"document.body.innerText.includes('walk')")
        assert _errors(browser) == []
    finally:
        stop_server(server)


def test_a_sqlite_trace_replays_in_every_view(browser, live_runner, tmp_path):
    # `view x.sqlite`: the server encodes the SQLite file to JSON page by page for the players
    trace = tmp_path / "reference.sqlite"
    converted = live_runner("convert", REFERENCE_TRACE, trace, cwd=tmp_path)
    assert converted.returncode == 0, converted.stderr
    server = start_server(live_runner, trace)
    try:
        base = f"http://127.0.0.1:{server.port}/index.html"
        browser.get(f"http://127.0.0.1:{server.port}/")
        trace_id = _wait(browser, "return new URL(location.href).searchParams.get('trace')")
        for view in VIEWS:
            _exercise(browser, f"{base}?trace={trace_id}&view={view}")
        expected = len(json.loads(REFERENCE_TRACE.read_text())["events"])
        assert browser.execute_script("return window.__tracesnap.events") == expected
        assert _errors(browser) == []
    finally:
        stop_server(server)
