#!/usr/bin/env python3
"""The recorder's per-event instruction count as a CI regression check (no timing involved).

    python bench/check_instructions.py PYTHON [--workload numeric_loop] [--update]

PYTHON is an interpreter whose installed ``tracesnap`` (the wheel) is measured. Runs
``bench/run.py --callgrind-only`` (valgrind's callgrind counts instructions, so the number is the
same on a loaded machine), prints instructions per event and compares it with
``bench/instructions-baseline.json``: more than ``tolerance`` above the baseline fails. A change
that costs instructions on purpose updates the baseline with ``--update`` in the same commit.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.path.join(HERE, "instructions-baseline.json")


def measure(python, workload):
    with tempfile.TemporaryDirectory(prefix="tracesnap-ir-") as scratch:
        out = os.path.join(scratch, "result.json")
        cmd = [sys.executable, os.path.join(HERE, "run.py"), "--installed", "--pythons", python,
               "--callgrind-only", "--callgrind", workload, "--json", out]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"check_instructions: bench failed:\n{proc.stderr[-3000:]}")
        with open(out, encoding="utf-8") as handle:
            result = json.load(handle)["callgrind"]
        sys.stdout.write(proc.stdout)
        return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("python")
    parser.add_argument("--workload", default="numeric_loop")
    parser.add_argument("--update", action="store_true", help="write the measured number as the new baseline")
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("check_instructions: valgrind is not installed")
    result = measure(args.python, args.workload)
    version = ".".join(result["python"].split(".")[:2])
    per_event = result["ir_per_event"]
    with open(BASELINE, encoding="utf-8") as handle:
        baseline = json.load(handle)
    key = f"{args.workload}@{version}"
    if args.update:
        baseline["baselines"][key] = round(per_event)
        with open(BASELINE, "w", encoding="utf-8") as handle:
            json.dump(baseline, handle, indent=2)
            handle.write("\n")
        print(f"baseline {key} = {per_event:,.0f} instructions per event")
        return 0
    expected = baseline["baselines"].get(key)
    if expected is None:
        print(f"{key}: {per_event:,.0f} instructions per event (no baseline for this Python; not checked)")
        return 0
    limit = expected * (1 + baseline["tolerance"])
    verdict = "ok" if per_event <= limit else "REGRESSION"
    print(f"{key}: {per_event:,.0f} instructions per event; baseline {expected:,}, limit {limit:,.0f}: {verdict}")
    return 0 if per_event <= limit else 1


if __name__ == "__main__":
    sys.exit(main())
