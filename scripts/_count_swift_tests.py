"""Print "passed failed skipped" from a `swift test` log (helper of scripts/test).

usage: _count_swift_tests.py LOG SWIFT_TEST_EXIT_CODE

Understands both runners `swift test` drives: XCTest ("Executed N tests, with M failures")
and Swift Testing ("Test run with N tests ... passed|failed", one "✘ Test x() failed" line per
failing test, "➜ Test x() skipped" per skipped test).
"""

import re
import sys


def main() -> None:
    path, rc = sys.argv[1], int(sys.argv[2])
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        text = ""
    passed = failed = skipped = 0
    xc = re.findall(r"Executed (\d+) tests?, with (\d+) failures?", text)
    if xc:
        total, fails = map(int, xc[-1])
        passed += total - fails
        failed += fails
    st = re.findall(r"Test run with (\d+) tests?(?: in \d+ suites?)? (passed|failed)", text)
    if st:
        total = int(st[-1][0])
        fails = len(set(re.findall(r"✘ Test (\S+?\(.*?\)) failed", text)))
        skips = len(set(re.findall(r"(?:➜|↪) Test (\S+?\(.*?\)) skipped", text)))
        if st[-1][1] == "failed" and fails == 0:
            fails = 1
        passed += max(total - fails - skips, 0)
        failed += fails
        skipped += skips
    if rc != 0 and failed == 0:
        failed = 1  # the build or the runner broke before reporting
    print(f"{passed} {failed} {skipped}")


main()
