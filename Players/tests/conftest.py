"""Fixtures for the player browser tests: generated traces, the test-only
fake API server (fake_api.py) and one headless Chromium per session.

Needs Debian's `chromium` + `chromium-driver` and `pip install selenium
pytest`. Screenshots go to /tmp/players-shots/, measured timings to
/tmp/players-perf.json.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fake_api  # noqa: E402
import gen_trace  # noqa: E402

SHOTS = Path("/tmp/players-shots")
PERF_FILE = Path("/tmp/players-perf.json")


@pytest.fixture(scope="session")
def traces_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("traces")
    for n, name in ((1000, "gen-small"), (10_000, "gen-10k"), (100_000, "gen-100k")):
        p = d / ("%s.json" % name)
        p.write_text(json.dumps(gen_trace.generate(n), separators=(",", ":")))
    (d / "edge-deep.json").write_text(json.dumps(gen_trace.generate_deep(3000)))
    (d / "edge-threads.json").write_text(json.dumps(gen_trace.generate_threads()))
    (d / "edge-tasks.json").write_text(json.dumps(gen_trace.generate_tasks()))
    (d / "edge-wide.json").write_text(json.dumps(gen_trace.generate_wide(300)))
    return d


@pytest.fixture(scope="session")
def server(traces_dir):
    if not fake_api.REFERENCE.exists():
        pytest.skip("reference sample traces not found")
    s = fake_api.FakeServer(0)
    for p in sorted(traces_dir.glob("*.json")):
        s.library.add_file(p.stem, p, project="gen")
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    exe = shutil.which("chromedriver")
    if not exe:
        pytest.skip("chromedriver not installed (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,860", "--disable-dev-shm-usage"):
        opts.add_argument(a)
    if shutil.which("chromium"):
        opts.binary_location = shutil.which("chromium")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=exe), options=opts)
    d.set_script_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield d
    d.quit()


@pytest.fixture(scope="session")
def perf_log():
    data: dict = {}
    yield data
    if data:
        old = {}
        if PERF_FILE.exists():
            try:
                old = json.loads(PERF_FILE.read_text())
            except ValueError:
                old = {}
        old.update(data)
        PERF_FILE.write_text(json.dumps(old, indent=2, sort_keys=True))


class Page:
    """Small helper around the driver for the player app."""

    def __init__(self, driver, server):
        self.d = driver
        self.s = server

    def open(self, query: str, wait_ready: bool = True, timeout: float = 30.0):
        self.d.get("about:blank")
        self.d.get_log("browser")  # drain
        self.d.get(self.s.url + "/" + query)
        if wait_ready:
            self.wait(lambda: self.js("return !!(window.__tracesnap && window.__tracesnap.ready)"), timeout)
        return self

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def wait(self, cond, timeout=10.0, msg="condition"):
        end = time.time() + timeout
        while time.time() < end:
            try:
                v = cond()
            except Exception:  # noqa: BLE001 - retry while the page settles
                v = None
            if v:
                return v
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s" % msg)

    @property
    def step(self) -> int:
        return self.js("return window.__tracesnap.step")

    def key(self, key: str, shift: bool = False):
        """Dispatch a keydown on the document (synchronous rendering)."""
        return self.js(
            "const e = new KeyboardEvent('keydown', {key: arguments[0], shiftKey: arguments[1], bubbles: true, cancelable: true});"
            "document.body.dispatchEvent(e); return window.__tracesnap.step;", key, shift)

    def errors(self):
        logs = self.d.get_log("browser")
        return [l for l in logs if l["level"] == "SEVERE"]

    def text(self) -> str:
        return self.js("return document.body.innerText")

    def shot(self, name: str):
        self.d.save_screenshot(str(SHOTS / ("%s.png" % name)))


@pytest.fixture()
def page(driver, server):
    p = Page(driver, server)
    yield p
