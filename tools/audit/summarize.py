"""Summarize a Federation Gateway Audit run from the runner's TAP logs (see tools/audit/run.sh).

A test id is ``<suite>_<index>``, as the audit names them. Suites whose log holds fewer results than
the suite has tests (the gateway did not start, the runner crashed) count their missing tests as failed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

_RESULT = re.compile(r"^\s*(not ok|ok) \d+ - (\S+)\s*(#.*)?$")


def suite_results(log: Path, suite: str) -> dict[str, bool]:
    results: dict[str, bool] = {}
    if not log.is_file():
        return results
    own_test = re.compile(rf"^{re.escape(suite)}_\d+$")
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _RESULT.match(line)
        if match and own_test.match(match.group(2)):
            results[match.group(2)] = match.group(1) == "ok"
    return results


def test_count(audit_url: str, suite: str) -> int:
    with urllib.request.urlopen(f"{audit_url}/{suite}/tests", timeout=10) as response:
        return len(json.load(response))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--audit-url", required=True)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--audit-commit", default="")
    parser.add_argument("suites", nargs="+")
    args = parser.parse_args()

    suites: dict[str, Any] = {}
    failed: list[str] = []
    passed = total = 0
    for suite in args.suites:
        results = suite_results(args.logs / f"{suite}-tests.log", suite)
        count = max(test_count(args.audit_url, suite), len(results))
        ids = [f"{suite}_{i}" for i in range(count)]
        suite_failed = [test_id for test_id in ids if not results.get(test_id, False)]
        suites[suite] = {"passed": count - len(suite_failed), "total": count, "failed": suite_failed,
                         "missing_results": [test_id for test_id in ids if test_id not in results]}
        passed += count - len(suite_failed)
        total += count
        failed += suite_failed

    summary = {"passed": passed, "total": total, "failed": failed, "suites": suites,
               "audit_commit": args.audit_commit,
               "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\npassed {passed}/{total}")
    if failed:
        print("failing: " + " ".join(failed))
    print(f"summary: {args.json}")
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
