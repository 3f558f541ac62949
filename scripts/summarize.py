# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print one line per nox session with its test counts, and the aggregate line, after `make test`.

Usage: python summarize.py NOX_REPORT_JSON JUNIT_DIR

Hand-written because nox reports sessions (success, failed, skipped and the time each took) but not how many tests
ran in them. The counts come from the JUnit XML a session left in JUNIT_DIR (<session>.xml, <session>-*.xml): pytest's
and ansible-test units'. A session without JUnit output (sanity, lint, build, the antsibull-nox checks) counts as one
test. A session that failed without any failed test in its XML (a crash, a broken install) counts as one failure, so
the aggregate never says "0 failed" for a failed run.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: Counts) -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped


def junit_counts(path: Path) -> Counts:
    """Totals over every <testsuite> in a JUnit XML file (pytest writes <testsuites> around one or more)."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    counts = Counts()
    for suite in suites:
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        counts.add(Counts(passed=tests - failed - skipped, failed=failed, skipped=skipped))
    return counts


def session_counts(name: str, result: str, junit_dir: Path) -> tuple[Counts, str]:
    counts = Counts()
    notes = []
    if result == "skipped":
        return counts, ""
    paths = sorted(junit_dir.glob(f"{name}.xml")) + sorted(junit_dir.glob(f"{name}-*.xml"))
    for path in paths:
        try:
            counts.add(junit_counts(path))
        except (ET.ParseError, ValueError) as exc:
            notes.append(f"unreadable {path.name}: {exc}")
    if paths:
        notes.append(f"{counts.passed} passed, {counts.failed} failed, {counts.skipped} skipped")
    elif result == "success":
        counts.passed = 1
    if result != "success" and counts.failed == 0:
        counts.failed = 1
    return counts, "; ".join(notes)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write(__doc__ or "")
        return 2
    report_path, junit_dir = Path(argv[1]), Path(argv[2])
    if not report_path.is_file():
        print(f"no nox report at {report_path}: nox stopped before running any session")
        print("total: 0 passed, 1 failed, 0 skipped")
        return 0
    sessions = json.loads(report_path.read_text(encoding="utf-8"))["sessions"]
    total = Counts()
    rows = []
    for session in sessions:
        counts, note = session_counts(session["name"], session["result"], junit_dir)
        total.add(counts)
        seconds = session.get("duration")
        rows.append((session["name"], session["result"].upper(), "%ds" % seconds if seconds is not None else "",
                     note or (session.get("reason") or "")))
    header = ("session", "result", "time", "")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(3)]
    print()
    for row in [header] + rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3]]
        print("  ".join(cells).rstrip())
    print(f"total: {total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
