# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print the per-leg, per-stage table of a scripts/test.sh run and its one aggregate line.

Usage: python summarize.py RESULTS_TSV

Each line of RESULTS_TSV is ``leg<TAB>stage<TAB>PASS|FAIL|SKIP<TAB>seconds<TAB>junit<TAB>note``, where junit is a
path or glob pattern of JUnit XML files; the last two fields may be empty.
Counts come from the JUnit XML of the test runners. A check without JUnit output (sanity, changelog lint) counts as
one test. A stage that failed without any failed test in its XML (a crash, a broken setup) counts as one failure, so
the aggregate never says "0 failed" for a failed run.
"""

from __future__ import annotations

import glob
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass

# Stages that are a single pass/fail check.
SINGLE_CHECKS = frozenset(("sanity", "changelog"))


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: Counts) -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped


def junit_counts(path: str) -> Counts:
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


def stage_counts(stage: str, status: str, junit: str) -> tuple[Counts, str]:
    """Counts for one stage and a note for the table."""
    counts = Counts()
    note = ""
    if status == "SKIP":
        return counts, note
    paths = sorted(glob.glob(junit)) if junit else []
    if paths:
        for path in paths:
            try:
                counts.add(junit_counts(path))
            except (ET.ParseError, ValueError) as exc:
                note = f"unreadable {os.path.basename(path)}: {exc}; "
        note += f"{counts.passed} passed, {counts.failed} failed, {counts.skipped} skipped"
    elif stage in SINGLE_CHECKS and status == "PASS":
        counts.passed = 1
    if status == "FAIL" and counts.failed == 0:
        counts.failed = 1
    return counts, note


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(__doc__ or "")
        return 2
    total = Counts()
    rows = []
    with open(argv[1], encoding="utf-8") as results:
        for line in results:
            if not line.strip():
                continue
            leg, stage, status, seconds, junit, given_note = (line.rstrip("\n").split("\t") + [""] * 6)[:6]
            counts, note = stage_counts(stage, status, junit)
            total.add(counts)
            rows.append((leg, stage, status, f"{seconds}s", given_note or note))
    header = ("leg", "stage", "result", "time")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(4)]
    out = sys.stdout
    out.write("\n")
    for row in [header + ("",)] + rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]), row[3].rjust(widths[3])]
        out.write("  ".join(cells + [row[4]]).rstrip() + "\n")
    out.write(f"total: {total.passed} passed, {total.failed} failed, {total.skipped} skipped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
