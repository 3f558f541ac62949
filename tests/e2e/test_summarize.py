# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/summarize.py, the end of make test: each session's line shows the ansible-core release it installed, and a
release newer than tests/core-versions.txt records is named, never counted as a failure."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO_ROOT

SUMMARIZE = REPO_ROOT / "scripts" / "summarize.py"


def summarize(tmp_path, cores: dict, recorded: str) -> list:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"sessions": [
        {"name": "units-2.16", "result": "success", "duration": 61.2},
        {"name": "sanity-2.21", "result": "success", "duration": 90.0},
        {"name": "units-devel", "result": "success", "duration": 70.0},
        {"name": "headers", "result": "success", "duration": 0.1},
    ]}), encoding="utf-8")
    junit = tmp_path / "junit"
    junit.mkdir(exist_ok=True)
    for name, version in cores.items():
        (junit / f"{name}.core").write_text(version + "\n", encoding="utf-8")
    versions = tmp_path / "core-versions.txt"
    versions.write_text("# a comment\n\n" + recorded, encoding="utf-8")
    done = subprocess.run([sys.executable, str(SUMMARIZE), str(report), str(junit), str(versions)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def line_of(lines: list, start: str) -> str:
    [line] = [line for line in lines if line.startswith(start)]
    return line


def test_each_session_line_shows_its_release_and_a_newer_patch_release_is_named(tmp_path):
    lines = summarize(tmp_path, {"units-2.16": "2.16.21", "sanity-2.21": "2.21.6", "units-devel": "2.22.0.dev0"},
                      "2.16.20\n2.21.6\n")
    assert "2.16.21" in line_of(lines, "units-2.16 ") and "2.21.6" in line_of(lines, "sanity-2.21 ")
    assert "2.22.0.dev0" in line_of(lines, "units-devel ")
    note = line_of(lines, "ansible-core:")
    # the newer patch release and where to record it; the one recorded and devel are not named
    assert "2.16.21 (recorded: 2.16.20)" in note and "core-versions.txt" in note, note
    assert "2.21.6" not in note and "dev0" not in note
    assert lines[-1] == "total: 4 passed, 0 failed, 0 skipped"  # a note, not a failure


def test_nothing_new_says_so_and_an_older_release_points_at_a_reused_environment(tmp_path):
    lines = summarize(tmp_path, {"units-2.16": "2.16.20", "sanity-2.21": "2.21.5"}, "2.16.20\n2.21.6\n")
    note = line_of(lines, "ansible-core:")
    assert "new patch releases" not in note and "every release this run installed is recorded" in note
    assert "2.21.5 (recorded: 2.21.6)" in note and "reused environment" in note


def test_the_repository_records_one_release_of_each_minor():
    """tests/core-versions.txt: final releases only, one per minor."""
    versions = [line.split("#")[0].strip() for line in
                (REPO_ROOT / "tests" / "core-versions.txt").read_text(encoding="utf-8").splitlines()]
    versions = [version for version in versions if version]
    minors = [version.rsplit(".", 1)[0] for version in versions]
    assert versions and len(minors) == len(set(minors)), versions
    assert all(part.isdigit() for version in versions for part in version.split(".")), versions
