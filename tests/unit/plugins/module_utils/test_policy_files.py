# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the search of policy files (plugins/module_utils/_policies/files.py) shared by b2c_policies,
b2c_policy_info and the ief_tenant role, and for directory_sources, which b2c_policies' path reads through it."""

from __future__ import annotations

import os

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._policies.files import (
    FoundFiles,
    entered,
    find_policy_files,
    left_out_message,
    select,
    walk,
)
from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import directory_sources
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import PolicyError

# A repository kept for the VS Code B2C extension, its relying parties moved into a folder.
REPOSITORY = ("TrustFrameworkBase.xml", "TrustFrameworkLocalization.xml", "TrustFrameworkExtensions.xml",
              "RelyingParties/SignUpOrSignin.xml", "RelyingParties/ProfileEdit.xml", "RelyingParties/PasswordReset.xml",
              "appsettings.json", "README.md")
SET = ["RelyingParties/PasswordReset.xml", "RelyingParties/ProfileEdit.xml", "RelyingParties/SignUpOrSignin.xml",
       "TrustFrameworkBase.xml", "TrustFrameworkExtensions.xml", "TrustFrameworkLocalization.xml"]


def make(root, names, content="<x/>"):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


# ---- select: the pure decision ------------------------------------------------------------------------------------
def test_the_pattern_is_matched_against_the_name_in_every_folder():
    assert select(REPOSITORY, "*.xml") == FoundFiles(SET, [])


def test_one_level_leaves_the_files_of_sub_folders_out_and_names_them():
    assert select(REPOSITORY, "*.xml", recursive=False) == FoundFiles(
        ["TrustFrameworkBase.xml", "TrustFrameworkExtensions.xml", "TrustFrameworkLocalization.xml"],
        ["RelyingParties/PasswordReset.xml", "RelyingParties/ProfileEdit.xml", "RelyingParties/SignUpOrSignin.xml"])


def test_only_xml_files_count_as_left_out_whatever_their_case():
    found = select(["Base.xml", "Old/Base.XML", "notes.txt", "appsettings.json", "Sign.xml.license"], "Base.xml")
    assert found == FoundFiles(["Base.xml"], ["Old/Base.XML"])


def test_a_dot_file_is_never_part_of_the_set_and_is_named():
    found = select([".#Base.xml", "._Base.xml", "Base.xml"], "*.xml")
    assert found == FoundFiles(["Base.xml"], [".#Base.xml", "._Base.xml"])


def test_the_order_does_not_depend_on_the_order_found():
    paths = list(REPOSITORY)
    assert select(paths, "*.xml") == select(reversed(paths), "*.xml") == select(sorted(paths), "*.xml")


@pytest.mark.parametrize("folder, searched", [
    ("RelyingParties", True), (".git", False), (".vscode", False), ("Environments", False), ("environments", True),
])
def test_the_folders_the_search_enters(folder, searched):
    assert entered(folder) is searched


# ---- walk and find_policy_files: the directory -------------------------------------------------------------------
def test_dot_folders_and_the_extensions_output_are_never_searched(tmp_path):
    make(tmp_path, REPOSITORY + ("Environments/Test/TrustFrameworkBase.xml", "Environments/Test/RelyingParties/S.xml",
                                 "RelyingParties/Environments/Old.xml", ".vscode/TrustFrameworkBase.xml",
                                 ".git/objects/ab.xml"))
    assert walk(str(tmp_path)) == sorted(REPOSITORY)
    found = find_policy_files(str(tmp_path), "*.xml")
    assert found.files == [str(tmp_path.joinpath(*name.split("/"))) for name in SET] and found.left_out == []


def test_the_policy_directory_may_itself_be_the_extensions_output(tmp_path):
    make(tmp_path, ["Environments/Test/Base.xml", "Environments/Test/RelyingParties/SignIn.xml"])
    found = find_policy_files(str(tmp_path / "Environments" / "Test"), "*.xml")
    assert [os.path.basename(path) for path in found.files] == ["Base.xml", "SignIn.xml"]


def test_one_level_searches_the_whole_tree_to_name_what_it_leaves_out(tmp_path):
    make(tmp_path, REPOSITORY)
    found = find_policy_files(str(tmp_path), "*.xml", recursive=False)
    assert found.files == [str(tmp_path / name) for name in SET[3:]]
    assert found.left_out == [str(tmp_path / "RelyingParties" / name) for name in
                              ("PasswordReset.xml", "ProfileEdit.xml", "SignUpOrSignin.xml")]


def test_the_folders_to_skip_are_not_searched(tmp_path):
    make(tmp_path, ["Base.xml", "backups/B2C_1A_Base.2025-01-01@00-00-00.xml"])
    assert find_policy_files(str(tmp_path), "*.xml", skip=[str(tmp_path / "backups")]) == FoundFiles(
        [str(tmp_path / "Base.xml")], [])


def test_a_symbolic_link_back_up_does_not_loop_and_a_linked_file_counts(tmp_path):
    make(tmp_path, ["set/Base.xml", "set/RelyingParties/SignIn.xml", "elsewhere/Shared.xml"])
    (tmp_path / "set" / "RelyingParties" / "loop").symlink_to(tmp_path / "set", target_is_directory=True)
    (tmp_path / "set" / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "set" / "Shared.xml").symlink_to(tmp_path / "elsewhere" / "Shared.xml")
    (tmp_path / "set" / "Broken.xml").symlink_to(tmp_path / "nowhere.xml")
    assert walk(str(tmp_path / "set")) == ["Base.xml", "RelyingParties/SignIn.xml", "Shared.xml"]


def test_a_folder_that_cannot_be_listed_is_an_error_not_a_gap(tmp_path, monkeypatch):
    """os.walk passes over a folder it cannot list unless told otherwise: its relying parties would stay behind."""
    make(tmp_path, ["Base.xml", "locked/SignIn.xml"])
    scandir = os.scandir

    def locked(path="."):
        if os.path.basename(str(path)) == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", locked)
    with pytest.raises(PermissionError):
        walk(str(tmp_path))
    with pytest.raises(PolicyError, match=f"path: cannot list {tmp_path / 'locked'} \\(Permission denied\\)"):
        directory_sources(str(tmp_path), "*.xml")


# ---- the message, and b2c_policies' path ---------------------------------------------------------------------------
def test_the_message_names_the_files_relative_to_the_directory_and_the_options():
    message = left_out_message("/p", ["/p/RelyingParties/A.xml", "/p/._B.xml"], "*.xml", False, "pattern", "recursive")
    assert message == ("pattern (*.xml) with recursive false leaves out 2 .xml files of /p, not part of the set: "
                       "RelyingParties/A.xml, ._B.xml (recursive: true (the default) also takes the files of "
                       "sub-folders; a file whose name starts with a dot is never part of the set)")
    many = left_out_message("/p", [f"/p/{index:02}.xml" for index in range(25)], "B*.xml", True, "pattern", "recursive")
    assert many.startswith("pattern (B*.xml) leaves out 25 .xml files of /p, not part of the set: 00.xml, 01.xml")
    assert many.endswith(", 19.xml and 5 more")


def test_directory_sources_reads_the_sub_folders_and_warns_of_what_it_leaves_out(tmp_path):
    make(tmp_path, REPOSITORY + ("Environments/Test/TrustFrameworkBase.xml",))
    warned = []
    sources = directory_sources(str(tmp_path), "*.xml", warn=warned.append)
    assert [source for source, _content in sources] == [str(tmp_path.joinpath(*name.split("/"))) for name in SET]
    assert sources[0][1] == b"<x/>" and warned == []
    one_level = directory_sources(str(tmp_path), "*.xml", recursive=False, warn=warned.append)
    assert len(one_level) == 3 and warned == [
        f"pattern (*.xml) with recursive false leaves out 3 .xml files of {tmp_path}, not part of the set: "
        "RelyingParties/PasswordReset.xml, RelyingParties/ProfileEdit.xml, RelyingParties/SignUpOrSignin.xml "
        "(recursive: true (the default) also takes the files of sub-folders)"]


def test_directory_sources_names_what_it_left_out_when_nothing_matches(tmp_path):
    make(tmp_path, ["RelyingParties/SignIn.xml"])
    with pytest.raises(PolicyError) as refused:
        directory_sources(str(tmp_path), "*.xml", recursive=False)
    assert str(refused.value) == (
        f"path: no file in {tmp_path} matches the pattern '*.xml'; pattern (*.xml) with recursive false leaves out "
        f"1 .xml file of {tmp_path}, not part of the set: RelyingParties/SignIn.xml (recursive: true (the default) "
        "also takes the files of sub-folders)")
    with pytest.raises(PolicyError, match=r"no file in .* matches the pattern '\*.json' \(its sub-folders searched too\); "
                                          r"pattern \(\*.json\) leaves out 1 .xml file of "):
        directory_sources(str(tmp_path), "*.json")
