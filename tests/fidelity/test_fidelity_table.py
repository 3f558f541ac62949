# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fidelity table of tests/emulator/README.md: every row has evidence (or says guess) and names tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

FIDELITY_DIR = Path(__file__).resolve().parent
README = FIDELITY_DIR.parent / "emulator" / "README.md"


def table_rows(section: str = "## Fidelity table", number: str = r"\d+") -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    text = text[text.index(section):]
    rows = [line for line in text.splitlines() if re.match(r"^\| %s \|" % number, line)]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def policy_rows() -> list[list[str]]:
    return table_rows("## Policies", r"P\d+")


def app_rows() -> list[list[str]]:
    return table_rows("## Applications", r"A\d+")


def defined_tests() -> dict[str, set[str]]:
    tests = {}
    for path in FIDELITY_DIR.glob("test_fidelity_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        tests[path.stem[len("test_fidelity_"):]] = {name for name in names if name.startswith("test_")}
    return tests


def test_rows_are_numbered_and_have_evidence():
    rows = table_rows()
    assert [int(row[0]) for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) >= 40
    for row in rows:
        assert len(row) == 4, row
        assert re.search(r"\b(doc|tools|guess|B2C errors)\b", row[2]), row


def test_policy_rows_are_numbered_and_have_evidence():
    rows = policy_rows()
    assert [row[0] for row in rows] == ["P%d" % index for index in range(1, len(rows) + 1)]
    assert len(rows) >= 20
    for row in rows:
        assert len(row) == 4, row
        assert re.search(r"\b(doc|tools|guess)\b", row[2]), row


def test_every_row_names_tests_that_exist():
    tests = defined_tests()
    for number, _behaviour, _evidence, covered in table_rows() + policy_rows():
        named = 0
        for group in covered.split("; "):
            file_name, _sep, names = group.partition(": ")
            assert file_name in tests, (number, group)
            for name in re.findall(r"`([^`]+)`", names):
                if name == "aadsts()":
                    continue
                assert "test_" + name in tests[file_name], (number, file_name, name)
                named += 1
        assert named, number


def test_app_rows_are_numbered_have_evidence_and_name_tests_that_exist():
    rows = app_rows()
    assert [row[0] for row in rows] == ["A%d" % index for index in range(1, len(rows) + 1)]
    assert len(rows) >= 12
    tests = defined_tests()
    for number, _behaviour, evidence, covered in rows:
        assert re.search(r"\b(doc|tools|guess)\b", evidence), number
        named = 0
        for group in covered.split("; "):
            file_name, _sep, names = group.partition(": ")
            assert file_name in tests, (number, group)
            for name in re.findall(r"`([^`]+)`", names):
                assert "test_" + name in tests[file_name], (number, file_name, name)
                named += 1
        assert named, number
