"""examples/flask_app.py, fastapi_app.py and django_app.py run as their docstrings say:
started with TRACESNAP_ENABLED=1, hit with a request, they leave a request trace that the
library lists (and so `tracesnap view` replays)."""

import json
from pathlib import Path

import pytest

from tsutil import needs_native
from webapps import AppServer, library_entries, traces_in

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
pytestmark = [needs_native, pytest.mark.skipif(not EXAMPLES.is_dir(), reason="no examples/ directory here")]

CASES = [
    ("flask_app.py", "flask", "/checkout?items=3,4&coupon=SPRING", 200, "checkout", '"total_cents":2249'),
    ("fastapi_app.py", "fastapi", "/quote?weight=7&zone=2", 200, "quote", '"cents":720'),
    ("django_app.py", "rest_framework", "/books/cheap/", 200, "BookViewSet.cheap", '"Emma"'),
]


@pytest.mark.parametrize("script, needs, url, status, entry, body_part", CASES)
def test_example_app_records_a_request(tmp_path, script, needs, url, status, entry, body_part):
    pytest.importorskip(needs)
    if needs == "fastapi":
        pytest.importorskip("uvicorn")
    server = AppServer(EXAMPLES / script, {"TRACESNAP_ENABLED": "1", "TRACESNAP_HOME": tmp_path / "home"},
                       cwd=tmp_path)
    try:
        got_status, body = server.get(url)
    finally:
        stderr = server.stop()
    assert got_status == status, stderr
    assert body_part in body.replace(" ", "")
    (trace,) = traces_in(tmp_path / "traces")
    assert trace["session"]["entry"] == entry and trace["session"]["request"]["status"] == status
    assert trace["events"] and trace["events"][0]["type"] == "call"
    (meta,) = library_entries(tmp_path / "home")
    assert meta["kind"] == "request"
    stored = json.loads((tmp_path / "home" / "traces" / f"{meta['id']}.json").read_text())
    assert stored["events"] == trace["events"]
