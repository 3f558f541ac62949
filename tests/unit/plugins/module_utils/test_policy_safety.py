# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure parts of safe deployments: drift, prune planning and its refusals, backup names, the upload body's encoding."""

from __future__ import annotations

import os
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import (
    BACKUP_STAMP_FORMAT,
    UPLOAD_CONTENT_TYPE,
    PolicyError,
    backup_name,
    declared_encoding,
    extra_ids,
    matches_pattern,
    missing_ids,
    parse_policy,
    plan_prune,
    prune_pattern_option,
    upload_body,
)

TENANT = "contoso.onmicrosoft.com"


def policy_xml(policy_id: str, base: str | None = None, body: str = "", declaration: str = "utf-8") -> str:
    base_block = (f"<BasePolicy><TenantId>{TENANT}</TenantId><PolicyId>{base}</PolicyId></BasePolicy>"
                  if base else "")
    head = f'<?xml version="1.0" encoding="{declaration}"?>\n' if declaration else ""
    return (f'{head}<TrustFrameworkPolicy xmlns="http://schemas.microsoft.com/online/cpim/schemas/2013/06" '
            f'PolicySchemaVersion="0.3.0.0" TenantId="{TENANT}" PolicyId="{policy_id}" '
            f'PublicPolicyUri="http://{TENANT}/{policy_id}">{base_block}{body}</TrustFrameworkPolicy>')


def policy(policy_id: str, base: str | None = None):
    return parse_policy(policy_xml(policy_id, base), policy_id + ".xml")


SET = [policy("B2C_1A_Team_Base"), policy("B2C_1A_Team_Ext", "B2C_1A_Team_Base"),
       policy("B2C_1A_Team_SignIn", "B2C_1A_Team_Ext")]


# ---- drift --------------------------------------------------------------------------------------------------------
def test_extra_is_the_tenant_outside_the_set_ignoring_case_sorted_in_the_services_spelling():
    listed = ["B2C_1A_TEAM_BASE", "B2C_1A_Other_SignIn", "b2c_1a_team_ext", "B2C_1A_Team_Old", "B2C_1A_another"]
    assert extra_ids(listed, SET) == ["B2C_1A_another", "B2C_1A_Other_SignIn", "B2C_1A_Team_Old"]
    assert missing_ids(listed, SET) == ["B2C_1A_Team_SignIn"]
    assert extra_ids([], SET) == [] and missing_ids([], SET) == ["B2C_1A_Team_Base", "B2C_1A_Team_Ext",
                                                                 "B2C_1A_Team_SignIn"]


# ---- prune options ------------------------------------------------------------------------------------------------
def test_without_prune_no_pattern_is_needed():
    assert prune_pattern_option(False, None) is None
    assert prune_pattern_option(False, "B2C_1A_*") is None


@pytest.mark.parametrize("pattern", [None, "", "   "])
def test_prune_without_a_pattern_is_refused_saying_what_to_give(pattern):
    with pytest.raises(PolicyError, match=r"prune_pattern: required with prune; give a shell-style pattern .*B2C_1A_Contoso_\*"):
        prune_pattern_option(True, pattern)


def test_prune_with_state_absent_is_refused():
    with pytest.raises(PolicyError, match="prune: only with state present"):
        prune_pattern_option(True, "B2C_1A_*", "absent")
    assert prune_pattern_option(True, " B2C_1A_Team_* ") == "B2C_1A_Team_*"


@pytest.mark.parametrize("policy_id, pattern, expected", [
    ("B2C_1A_Team_Old", "B2C_1A_Team_*", True),
    ("b2c_1a_team_old", "B2C_1A_Team_*", True),
    ("B2C_1A_TEAM_OLD", "b2c_1a_team_?ld", True),
    ("B2C_1A_Other_Old", "B2C_1A_Team_*", False),
    ("B2C_1A_Team_Old", "Team_*", False),  # matched against the whole id
    ("B2C_1A_Team_Old", "*[Oo]ld", True),
])
def test_patterns_are_shell_style_on_the_whole_id_ignoring_case(policy_id, pattern, expected):
    assert matches_pattern(policy_id, pattern) is expected


# ---- prune planning -----------------------------------------------------------------------------------------------
def test_prune_deletes_only_matching_extras_what_extends_another_first():
    extra = ["B2C_1A_Other_SignIn", "B2C_1A_Team_OldBase", "B2C_1A_Team_OldExt", "B2C_1A_Team_OldRp1",
             "B2C_1A_Team_OldRp2"]
    bases = {"B2C_1A_OTHER_SIGNIN": "B2C_1A_Other_Base", "B2C_1A_TEAM_OLDBASE": None,
             "B2C_1A_TEAM_OLDEXT": "B2C_1A_Team_OldBase", "B2C_1A_TEAM_OLDRP1": "B2C_1A_Team_OldExt",
             "B2C_1A_TEAM_OLDRP2": "b2c_1a_team_oldext"}
    assert plan_prune(extra, bases, "B2C_1A_Team_*", SET) == [
        ["B2C_1A_Team_OldRp1", "B2C_1A_Team_OldRp2"], ["B2C_1A_Team_OldExt"], ["B2C_1A_Team_OldBase"]]


def test_an_extra_extending_the_set_goes_in_one_wave_and_one_gone_since_the_list_is_left_out():
    extra = ["B2C_1A_Team_Stray", "B2C_1A_Team_Gone"]
    assert plan_prune(extra, {"B2C_1A_TEAM_STRAY": "B2C_1A_Team_Ext"}, "B2C_1A_TEAM_*", SET) == [["B2C_1A_Team_Stray"]]
    assert plan_prune(extra, {"B2C_1A_TEAM_STRAY": None}, "B2C_1A_Nothing*", SET) == []


def test_prune_refuses_an_extra_that_the_set_extends_naming_both():
    lonely = [policy("B2C_1A_Team_Rp", "B2C_1A_Shared_Base")]
    with pytest.raises(PolicyError) as caught:
        plan_prune(["B2C_1A_Shared_Base"], {"B2C_1A_SHARED_BASE": None}, "B2C_1A_*", lonely)
    assert str(caught.value).startswith("prune: nothing was changed: B2C_1A_Shared_Base matches prune_pattern "
                                        "'B2C_1A_*' but B2C_1A_Team_Rp (B2C_1A_Team_Rp.xml) of the set extends it")
    assert "narrow prune_pattern" in str(caught.value)


def test_prune_refuses_an_extra_that_a_kept_extra_extends():
    extra = ["B2C_1A_Team_OldBase", "B2C_1A_Other_Rp"]
    bases = {"B2C_1A_TEAM_OLDBASE": None, "B2C_1A_OTHER_RP": "B2C_1A_Team_OldBase"}
    with pytest.raises(PolicyError, match=r"B2C_1A_Team_OldBase matches prune_pattern 'B2C_1A_Team_\*' but "
                                          r"B2C_1A_Other_Rp, which does not match and is kept, extends it"):
        plan_prune(extra, bases, "B2C_1A_Team_*", SET)
    # widened to what extends it, both go, the child first
    assert plan_prune(extra, bases, "*", SET) == [["B2C_1A_Other_Rp"], ["B2C_1A_Team_OldBase"]]


def test_a_base_loop_among_stored_extras_still_ends():
    extra = ["B2C_1A_A", "B2C_1A_B"]
    waves = plan_prune(extra, {"B2C_1A_A": "B2C_1A_B", "B2C_1A_B": "B2C_1A_A"}, "*", [])
    assert sorted(item for wave in waves for item in wave) == extra


# ---- backups ------------------------------------------------------------------------------------------------------
def test_backup_names_carry_the_id_and_the_time_stamp():
    assert backup_name("B2C_1A_Team_Base", "2026-12-07@10-41-09") == "B2C_1A_Team_Base.2026-12-07@10-41-09.xml"
    assert backup_name("B2C_1A_Team_Base", "2026-12-07@10-41-09", 2) == "B2C_1A_Team_Base.2026-12-07@10-41-09.2.xml"


WINDOWS_REFUSED = set('<>:"/\\|?*') | {chr(code) for code in range(32)}
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {f"{kind}{n}" for kind in ("COM", "LPT") for n in range(1, 10)}


def windows_accepts(name: str) -> bool:
    """What Windows (and so an SMB share) accepts as a file name (learn.microsoft.com, 'Naming Files, Paths, and
    Namespaces'): none of <>:"/\\|?* nor a control character, no trailing dot or space, no device name before the
    first dot."""
    return (bool(name) and not set(name) & WINDOWS_REFUSED and not name.endswith((".", " "))
            and name.split(".", 1)[0].upper() not in WINDOWS_DEVICES)


def test_backup_names_are_valid_on_windows_with_the_runs_real_stamp():
    stamp = time.strftime(BACKUP_STAMP_FORMAT, time.struct_time((2026, 12, 7, 10, 41, 9, 0, 341, 0)))
    assert stamp == "2026-12-07@10-41-09"  # Ansible's stamp, '-' for ':'
    assert windows_accepts(backup_name("B2C_1A_Team_Base", stamp))
    # whatever the id holds (the tenant's list spells ids as it likes): every character Windows refuses is replaced
    for policy_id in ('B2C_1A_a:b', 'B2C_1A_<x>|"y"?*', "B2C_1A_back\\slash/x", "B2C_1A_tab\tnl\n", "NUL", "com1.x",
                      "x. "):
        name = backup_name(policy_id, stamp)
        assert windows_accepts(name), name
        assert name.endswith("." + stamp + ".xml")
    assert backup_name("B2C_1A_a:b", stamp).startswith("B2C_1A_a_b.")
    assert backup_name("NUL", stamp).startswith("_NUL.")


@given(st.text(min_size=1, max_size=40), st.integers(min_value=0, max_value=999))
def test_any_id_gives_a_windows_file_name(policy_id, attempt):
    assert windows_accepts(backup_name(policy_id, time.strftime(BACKUP_STAMP_FORMAT), attempt))


# ---- the upload body ----------------------------------------------------------------------------------------------
LOCALIZED = "<LocalizedString>E-Mail-Adresse bestätigen · メールアドレスを確認</LocalizedString>"


def test_uploads_say_utf8_and_text_is_sent_as_utf8():
    assert UPLOAD_CONTENT_TYPE == "application/xml; charset=utf-8"
    text = policy_xml("B2C_1A_Loc", body=LOCALIZED)
    assert upload_body(text) == text.encode("utf-8")
    as_bytes = text.encode("utf-8")
    assert upload_body(as_bytes) is as_bytes  # a UTF-8 file goes byte for byte
    with_bom = b"\xef\xbb\xbf" + as_bytes
    assert upload_body(with_bom) is with_bom


@pytest.mark.parametrize("encoding, declared", [("utf-16", "utf-16"), ("iso-8859-1", "ISO-8859-1"),
                                                ("cp1252", "windows-1252")])
def test_a_file_in_another_encoding_is_sent_as_utf8_saying_so_and_reads_the_same(encoding, declared):
    text = policy_xml("B2C_1A_Loc", body="<LocalizedString>Straße, größer, café</LocalizedString>", declaration=declared)
    raw = text.encode(encoding)
    sent = upload_body(raw)
    assert declared_encoding(sent.decode("utf-8")) == "utf-8"
    assert "Straße, größer, café" in sent.decode("utf-8")
    assert parse_policy(sent).canonical == parse_policy(raw).canonical


def test_text_declaring_another_encoding_gets_a_utf8_declaration():
    text = policy_xml("B2C_1A_Loc", body=LOCALIZED, declaration="utf-16")
    sent = upload_body(text)
    assert re.match(rb'<\?xml version="1.0" encoding="utf-8"\?>', sent)
    assert LOCALIZED.encode("utf-8") in sent


def test_an_unknown_declared_encoding_is_left_for_the_service_to_judge():
    raw = policy_xml("B2C_1A_X", declaration="x-no-such-codec").encode("ascii")
    assert upload_body(raw) is raw


# ---- writing backups (the flow's one piece of file I/O) -----------------------------------------------------------
class _Module:
    def __init__(self, check_mode: bool = False) -> None:
        self.check_mode = check_mode


def test_backups_get_private_files_in_a_private_directory_and_never_overwrite(tmp_path):
    from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import write_backups

    directory = tmp_path / "made" / "here"
    written = write_backups(_Module(), str(directory), [("B2C_1A_A", b"<a/>"), ("B2C_1A_B", None),
                                                        ("B2C_1A_A", b"<a2/>")])
    assert [policy_id for policy_id, _path in written] == ["B2C_1A_A", "B2C_1A_A"]
    first = [path for _policy_id, path in written]
    # one time stamp per run: the second copy of one id gets a number rather than overwrite the first
    assert [re.sub(r"\.\d{4}-\d\d-\d\d@\d\d-\d\d-\d\d", ".T", path.rsplit("/", 1)[1]) for path in first] == [
        "B2C_1A_A.T.xml", "B2C_1A_A.T.1.xml"]
    assert all(windows_accepts(os.path.basename(path)) for path in first)
    assert [open(path, "rb").read() for path in first] == [b"<a/>", b"<a2/>"]
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert {oct((tmp_path / path).stat().st_mode & 0o777) for path in first} == {"0o600"}


def test_no_backup_is_written_in_check_mode_or_without_a_directory(tmp_path):
    from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import write_backups

    assert write_backups(_Module(check_mode=True), str(tmp_path / "x"), [("B2C_1A_A", b"<a/>")]) == []
    assert write_backups(_Module(), None, [("B2C_1A_A", b"<a/>")]) == []
    assert not (tmp_path / "x").exists()


def test_a_backup_that_cannot_be_written_is_a_clear_refusal(tmp_path):
    from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import write_backups

    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"backup_dir: cannot write a backup in .*file/sub \(Not a directory\); "
                                          r"nothing was changed in the tenant \(backups written: none\)"):
        write_backups(_Module(), str(tmp_path / "file" / "sub"), [("B2C_1A_A", b"<a/>")])
