"""Print "passed failed skipped" for a pytest JUnit XML file (helper of scripts/test).

usage: _count_junit.py JUNIT.xml PYTEST_EXIT_CODE
"""

import sys
import xml.etree.ElementTree as ET


def main() -> None:
    path, rc = sys.argv[1], int(sys.argv[2])
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        # exit 5: pytest collected nothing; anything else without a report is a failure
        print("0 0 0" if rc == 5 else "0 1 0")
        return
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failures = errors = skipped = 0
    for s in suites:
        tests += int(s.get("tests", 0))
        failures += int(s.get("failures", 0))
        errors += int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    failed = failures + errors
    passed = tests - failed - skipped
    if rc not in (0, 5) and failed == 0:
        failed = 1  # pytest itself failed (usage error, internal error, interrupted)
    print(f"{passed} {failed} {skipped}")


main()
