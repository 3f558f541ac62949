# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print one line per nox session with its test counts, and the aggregate line, after `make test`.

Usage: python summarize.py NOX_REPORT_JSON JUNIT_DIR [TESTED_VERSIONS (default: tests/core-versions.txt)]

Hand-written because nox reports sessions (success, failed, skipped and the time each took) but not how many tests
ran in them. The counts come from the JUnit XML a session left in JUNIT_DIR (<session>.xml, <session>-*.xml): pytest's
and ansible-test units'. A session without JUnit output (sanity, lint, build, the antsibull-nox checks) counts as one
test. A session that failed without any failed test in its XML (a crash, a broken install) counts as one failure, so
the aggregate never says "0 failed" for a failed run.

Each session that installed ansible-core left the exact version in JUNIT_DIR/<session>.core (noxfile.py): it shows on
the session's line, and one more line names the patch releases newer than tests/core-versions.txt records (a fresh
environment takes the newest patch release of each minor, and one once broke the suite): a note, never a failure.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# The ansible-core releases the suite passed on, one per minor, kept in the repository.
TESTED_VERSIONS = Path(__file__).resolve().parent.parent / "tests" / "core-versions.txt"
RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")  # a final release; devel and pre-releases are never recorded


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


def session_core(name: str, junit_dir: Path) -> str:
    """The ansible-core version the session installed, or "" (a session without ansible-core, or that stopped before)."""
    try:
        return (junit_dir / f"{name}.core").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def release_key(version: str) -> tuple[int, ...] | None:
    match = RELEASE.match(version)
    return tuple(int(part) for part in match.groups()) if match else None


def tested_versions(path: Path) -> dict[tuple[int, ...], str]:
    """{(major, minor): version} of the releases recorded as tested (comments and blank lines ignored)."""
    tested: dict[tuple[int, ...], str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return tested
    for line in lines:
        version = line.split("#")[0].strip()
        key = release_key(version)
        if key and (key[:2] not in tested or key > release_key(tested[key[:2]])):
            tested[key[:2]] = version
    return tested


def core_version_note(installed: set[str], path: Path) -> str:
    """One line: the releases newer than the file records (or none), and those older (a reused environment)."""
    tested = tested_versions(path)
    newer, older = [], []
    for version in sorted(installed, key=lambda version: release_key(version) or ()):
        key = release_key(version)
        if key is None:
            continue
        recorded = tested.get(key[:2])
        if recorded is None or key > release_key(recorded):
            newer.append(f"{version} (recorded: {recorded or 'none'})")
        elif key < release_key(recorded):
            older.append(f"{version} (recorded: {recorded})")
    try:
        where = path.relative_to(Path.cwd())
    except ValueError:
        where = path
    if newer:
        line = (f"ansible-core: new patch releases {', '.join(newer)}: once this run is green, record them in {where} "
                "(one version per line, replacing the older one of the minor)")
    else:
        line = f"ansible-core: every release this run installed is recorded in {where}"
    if older:
        line += f"; older than recorded, from a reused environment (rm -r .nox to refresh): {', '.join(older)}"
    return line


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__ or "")
        return 2
    report_path, junit_dir = Path(argv[1]), Path(argv[2])
    versions_path = Path(argv[3]) if len(argv) == 4 else TESTED_VERSIONS
    if not report_path.is_file():
        print(f"no nox report at {report_path}: nox stopped before running any session")
        print("total: 0 passed, 1 failed, 0 skipped")
        return 0
    sessions = json.loads(report_path.read_text(encoding="utf-8"))["sessions"]
    total = Counts()
    rows = []
    installed = set()
    for session in sessions:
        counts, note = session_counts(session["name"], session["result"], junit_dir)
        total.add(counts)
        seconds = session.get("duration")
        core = session_core(session["name"], junit_dir) if session["result"] != "skipped" else ""
        if core:
            installed.add(core)
        rows.append((session["name"], session["result"].upper(), "%ds" % seconds if seconds is not None else "",
                     core, note or (session.get("reason") or "")))
    header = ("session", "result", "time", "ansible-core", "")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(4)]
    print()
    for row in [header] + rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3].ljust(widths[3]),
                 row[4]]
        print("  ".join(cells).rstrip())
    if installed:
        print(core_version_note(installed, versions_path))
    print(f"total: {total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
