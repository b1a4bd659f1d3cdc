"""One PASS/FAIL line per check, and the closing 'N passed, N failed' line, for the Python tests."""
import sys

_count = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    _count["passed" if ok else "failed"] += 1
    print(f"{'PASS' if ok else 'FAIL'}: {name}{': ' + detail if detail else ''}")


def finish():
    print(f"{_count['passed']} passed, {_count['failed']} failed")
    sys.exit(1 if _count["failed"] else 0)
