"""Several recordings in one process: request-scoped sessions side by side, next to a
whole-process recording (the core's ActiveRecording routing)."""

import json
import os
import subprocess
import sys
import textwrap

from tsutil import PACKAGE_DIR, needs_native

pytestmark = needs_native

PROGRAM = '''
import json
import sys
import threading
from tracesnap._recording import NativeSession, RecordingError

OUT = sys.argv[1]


def work(n):
    total = 0
    for step in range(3):
        total += n * 10 + step
    return total


barrier = threading.Barrier(3)


def scoped(n):
    session = NativeSession(trace_id=f"scoped-{n}", kind="request", source_files=[__file__],
                            sinks=[{"name": "json", "path": f"{OUT}/scoped-{n}.json"}], thread_scope=True)
    session.start()
    barrier.wait(10)
    work(n)
    barrier.wait(10)
    session.stop()


whole = NativeSession(trace_id="whole", source_files=[__file__],
                      sinks=[{"name": "json", "path": f"{OUT}/whole.json"}])
whole.start()
try:
    NativeSession(trace_id="second", source_files=[__file__], sinks=[]).start()
except RecordingError as exc:
    print("refused:", exc)
threads = [threading.Thread(target=scoped, args=(n,)) for n in (1, 2)]
for thread in threads:
    thread.start()
barrier.wait(10)
work(0)
barrier.wait(10)
for thread in threads:
    thread.join()
whole.stop()
print("done")
'''


def test_scoped_sessions_beside_a_whole_process_recording(tmp_path):
    script = tmp_path / "mixed.py"
    script.write_text(textwrap.dedent(PROGRAM))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACESNAP_", "PYTEST_"))}
    env["PYTHONPATH"] = str(PACKAGE_DIR.parent)
    if os.environ.get("TRACESNAP_LIB_DIR"):
        env["TRACESNAP_LIB_DIR"] = os.environ["TRACESNAP_LIB_DIR"]
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["refused: another recording is already active in this process", "done"]

    def work_calls(name):
        trace = json.loads((tmp_path / name).read_text())
        return sorted(int(e["args"]["n"]["repr"]) for e in trace["events"] if e["type"] == "call" and e["func"] == "work")

    assert work_calls("scoped-1.json") == [1]
    assert work_calls("scoped-2.json") == [2]
    # the whole-process recording still sees every thread (threads it hooks itself)
    assert work_calls("whole.json") == [0, 1, 2]
