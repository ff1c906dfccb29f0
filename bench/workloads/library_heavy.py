"""Library-heavy: most time is in json / re / sorted (C code and stdlib Python outside this file)."""

import json
import re

SIZES = {"full": 60, "quick": 25, "reference": 8, "callgrind": (2, 4)}

PATTERN = re.compile(r"(\w+)@(\w+)\.com")


def make_records(count):
    return [{"id": k, "name": f"user{k}", "email": f"user{k}@host{k % 7}.com", "score": (k * 37) % 101}
            for k in range(count)]


def run(n):
    records = make_records(400)
    checksum = 0
    for round_ in range(n):
        text = json.dumps(records)
        loaded = json.loads(text)
        ordered = sorted(loaded, key=lambda r: (r["score"], r["name"]))
        hosts = PATTERN.findall(text)
        checksum = (checksum + len(hosts) + ordered[0]["id"] + round_) % 1000003
    return checksum


if __name__ == "__main__":
    print(run(SIZES["full"]))
