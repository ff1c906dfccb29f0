"""Scale: 10^6 loop iterations (~5 M events) recorded in full: the issue-6 scale target
(≤ 3 s in total including the final write, peak RSS ≤ 250 MB, trace file ≤ 60 MB).

Run by ``bench/run.py --scale`` once per mode (not part of the slowdown table).
"""

SIZES = {"full": 1_000_000, "quick": 200_000, "reference": 20_000, "callgrind": (2_000, 4_000)}


def run(n):
    total = 0
    checkpoints = []
    for i in range(n):
        total += i
        if i % 100_000 == 0:
            checkpoints.append(total)
    return total, len(checkpoints)


if __name__ == "__main__":
    print(run(SIZES["full"]))
