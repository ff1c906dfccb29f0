#!/usr/bin/env python3
"""Per-request cost of recording a web request: examples/flask_app.py served twice side by side,
once with TRACESNAP_ENABLED=1 (every /checkout request recorded: trace file + library entry) and
once without, requests alternating between the two.

    python bench/request_overhead.py [--requests 200] [--python PATH]

Prints the median and 90th-percentile latency of each and their ratio. The installed tracesnap
of PYTHON is measured (or TRACESNAP_LIB_DIR/PYTHONPATH for a development build).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(REPO, "examples", "flask_app.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(python, enabled, workdir):
    port = free_port()
    env = dict(os.environ, TRACESNAP_HOME=os.path.join(workdir, "home"))
    env.pop("TRACESNAP_ENABLED", None)
    if enabled:
        env["TRACESNAP_ENABLED"] = "1"
    proc = subprocess.Popen([python, APP, str(port)], cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the app did not start")


def timed_get(port):
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/checkout?items=1,2,3,4&coupon=VIP") as response:
        response.read()
    return (time.perf_counter() - t0) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracesnap-req-") as workdir:
        plain, plain_port = start(args.python, False, workdir)
        traced, traced_port = start(args.python, True, workdir)
        try:
            for port in (plain_port, traced_port):  # warm up (imports, first recording)
                for _ in range(5):
                    timed_get(port)
            times = {"plain": [], "traced": []}
            for i in range(args.requests):
                order = [("plain", plain_port), ("traced", traced_port)]
                for name, port in (order if i % 2 else order[::-1]):
                    times[name].append(timed_get(port))
        finally:
            plain.terminate()
            traced.terminate()
        traces = len(os.listdir(os.path.join(workdir, "traces")))
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    print(f"Python {version}, {args.requests} requests each, {traces} traces written")
    for name, values in times.items():
        values.sort()
        print(f"  {name:6}  median {statistics.median(values):6.2f} ms   p90 {values[int(len(values) * 0.9) - 1]:6.2f} ms")
    ratio = statistics.median(times["traced"]) / statistics.median(times["plain"])
    extra = statistics.median(times["traced"]) - statistics.median(times["plain"])
    print(f"  recorded / plain (median): {ratio:.2f}x, +{extra:.2f} ms per request")


if __name__ == "__main__":
    main()
