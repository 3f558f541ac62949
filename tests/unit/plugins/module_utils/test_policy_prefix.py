# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for id_prefix (plugins/module_utils/_policies/prefix.py): a new version of a set beside the live one, its
ids rewritten in the files' own bytes; and deploy_set with it against a fake tenant."""

from __future__ import annotations

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import deploy_set, load_set
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import PolicyError, load_policy
from ansible_collections.entra.b2c.plugins.module_utils._policies.prefix import id_prefix_option, prefixed_sources
from ansible_collections.entra.b2c.tests.unit.plugins.module_utils.test_policy_rollback import FakeRun, FakeTenant

TENANT = "contoso.onmicrosoft.com"
NAMESPACE = "http://schemas.microsoft.com/online/cpim/schemas/2013/06"

# A base as people write them: declaration, a comment naming ids, CRLF, a key set whose name starts like an id, the id
# in text, an attribute in single quotes, non-ASCII text.
BASE = (
    '<?xml version="1.0" encoding="utf-8"?>\r\n'
    '<!-- B2C_1A_Base: the base of B2C_1A_Ext; <BasePolicy><PolicyId>B2C_1A_Ext</PolicyId></BasePolicy> -->\r\n'
    f'<TrustFrameworkPolicy xmlns="{NAMESPACE}"\r\n'
    f"    PolicySchemaVersion='0.3.0.0' TenantId=\"{TENANT}\" PolicyId = 'B2C_1A_Base'\r\n"
    f'    PublicPolicyUri="http://{TENANT}/B2C_1A_Base">\r\n'
    '  <BuildingBlocks><Item Key="note">B2C_1A_Base – Grüße</Item></BuildingBlocks>\r\n'
    '  <Key Id="k" StorageReferenceId="B2C_1A_TokenSigningKeyContainer" />\r\n'
    '</TrustFrameworkPolicy>\r\n')


def child(policy_id: str, base: str, uri: str | None = None) -> str:
    return (f'<TrustFrameworkPolicy xmlns="{NAMESPACE}" TenantId="{TENANT}" PolicyId="{policy_id}" '
            f'PublicPolicyUri="{uri or f"http://{TENANT}/{policy_id}"}">\n'
            f'  <BasePolicy>\n    <TenantId>{TENANT}</TenantId>\n    <PolicyId>\n      {base}\n    </PolicyId>\n'
            '  </BasePolicy>\n</TrustFrameworkPolicy>\n')


def ids(sources) -> list[tuple[str, str | None]]:
    return [(policy.policy_id, policy.base_policy_id) for policy in load_set(sources, TENANT)]


# ---- the option ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["V2_", "v2_", "Release-7.", "2026_04_", "X"])
def test_a_prefix_of_policy_id_characters_is_taken_as_written(prefix):
    assert id_prefix_option(prefix) == prefix


def test_no_prefix_is_none():
    assert id_prefix_option(None) is None


@pytest.mark.parametrize("prefix, message", [
    ("", "id_prefix: empty; give the text inserted after B2C_1A_ into every policy id of the set, such as V2_, or "
         "leave id_prefix out"),
    ("B2C_1A_V2_", "id_prefix: 'B2C_1A_V2_' begins with B2C_1A_, which every policy id already has; give only what "
                   "goes after it, V2_"),
    ("b2c_1a_", "id_prefix: 'b2c_1a_' begins with B2C_1A_, which every policy id already has; give only what goes "
                "after it, such as V2_"),
    ("V2 ", "id_prefix: 'V2 ' may hold only letters, digits, '_', '-' and '.', as a policy id may; such as V2_"),
    ("V/2_", "id_prefix: 'V/2_' may hold only"),
    ("Vé_", "id_prefix: 'Vé_' may hold only"),
    ("V2_\n", "id_prefix: 'V2_\n' may hold only"),
])
def test_a_prefix_that_cannot_go_into_a_policy_id_is_refused_saying_what_to_give(prefix, message):
    with pytest.raises(PolicyError) as caught:
        id_prefix_option(prefix)
    assert str(caught.value).startswith(message)


# ---- the rewriting ------------------------------------------------------------------------------------------------
def test_the_set_is_chained_to_its_own_new_ids():
    sources = [("Base.xml", BASE), ("Ext.xml", child("B2C_1A_Ext", "B2C_1A_Base")),
               ("SignIn.xml", child("B2C_1A_SignIn", "B2C_1A_Ext"))]
    assert ids(prefixed_sources(sources, "V2_")) == [
        ("B2C_1A_V2_Base", None), ("B2C_1A_V2_Ext", "B2C_1A_V2_Base"), ("B2C_1A_V2_SignIn", "B2C_1A_V2_Ext")]


def test_only_the_three_places_change_and_every_other_byte_stays():
    [(source, content)] = prefixed_sources([("Base.xml", BASE)], "V2_")
    assert source == "Base.xml"
    # the comment, the text and the key set keep B2C_1A_Base / B2C_1A_; CRLF, quotes and spacing stay as written
    assert content == BASE.replace("PolicyId = 'B2C_1A_Base'", "PolicyId = 'B2C_1A_V2_Base'").replace(
        f'"http://{TENANT}/B2C_1A_Base"', f'"http://{TENANT}/B2C_1A_V2_Base"')
    text = child("B2C_1A_Ext", "B2C_1A_Base")
    [(_source, content)] = prefixed_sources([("Ext.xml", text), ("Base.xml", BASE)], "V2_")[:1]
    assert content == text.replace("B2C_1A_", "B2C_1A_V2_")  # id, base (its spaces and lines kept) and URI


def test_bytes_stay_bytes_byte_for_byte_a_byte_order_mark_included():
    raw = b"\xef\xbb\xbf" + BASE.encode("utf-8")
    [(_source, content)] = prefixed_sources([("Base.xml", raw)], "V2_")
    assert isinstance(content, bytes)
    assert content == raw.replace(b"'B2C_1A_Base'", b"'B2C_1A_V2_Base'").replace(
        b"/B2C_1A_Base\"", b"/B2C_1A_V2_Base\"")


def test_a_file_in_latin_1_keeps_its_encoding():
    text = BASE.replace('encoding="utf-8"', 'encoding="ISO-8859-1"').replace("–", "-")
    [(_source, content)] = prefixed_sources([("Base.xml", text.encode("latin-1"))], "V2_")
    assert content.decode("latin-1") == text.replace("'B2C_1A_Base'", "'B2C_1A_V2_Base'").replace(
        "/B2C_1A_Base\"", "/B2C_1A_V2_Base\"")
    assert load_policy(content, "Base.xml").policy_id == "B2C_1A_V2_Base"


def test_a_utf_16_file_becomes_text_which_the_upload_sends_as_utf_8():
    text = BASE.replace('encoding="utf-8"', 'encoding="utf-16"')
    [(_source, content)] = prefixed_sources([("Base.xml", text.encode("utf-16"))], "V2_")
    assert isinstance(content, str) and content.startswith('<?xml version="1.0" encoding="utf-16"?>')
    assert load_policy(content, "Base.xml").policy_id == "B2C_1A_V2_Base"


def test_a_reference_outside_the_set_is_left_as_it_is():
    # the base lives only in the tenant: the new relying party extends the live base
    sources = [("SignIn.xml", child("B2C_1A_SignIn", "B2C_1A_TrustFrameworkExtensions",
                                    uri=f"http://{TENANT}/B2C_1A_OldName"))]
    [(_source, content)] = prefixed_sources(sources, "V2_")
    assert ids([(_source, content)]) == [("B2C_1A_V2_SignIn", "B2C_1A_TrustFrameworkExtensions")]
    assert f'PublicPolicyUri="http://{TENANT}/B2C_1A_OldName"' in content  # it ends with no id of the set


def test_ids_are_matched_ignoring_case_and_keep_their_spelling():
    sources = [("Base.xml", BASE), ("Ext.xml", child("b2c_1a_EXT", "b2c_1a_base", uri=f"http://{TENANT}/B2C_1A_ext"))]
    [_base, (_source, content)] = prefixed_sources(sources, "v2_")
    assert 'PolicyId="b2c_1a_v2_EXT"' in content and "      b2c_1a_v2_base\n" in content
    assert f'PublicPolicyUri="http://{TENANT}/B2C_1A_v2_ext"' in content


def test_the_uri_ends_with_the_id_of_another_policy_of_the_set():
    # a file copied from another and its URI not updated: it is still a reference to a policy of the set
    sources = [("Base.xml", BASE), ("Ext.xml", child("B2C_1A_Ext", "B2C_1A_Base", uri=f"http://{TENANT}/B2C_1A_Base"))]
    [_base, (_source, content)] = prefixed_sources(sources, "V2_")
    assert f'PublicPolicyUri="http://{TENANT}/B2C_1A_V2_Base"' in content


def test_a_prefix_the_ids_already_carry_is_inserted_again():
    sources = [("Base.xml", BASE.replace("B2C_1A_Base", "B2C_1A_V2_Base")), ("Ext.xml", child("B2C_1A_V2_Ext", "B2C_1A_V2_Base"))]
    assert ids(prefixed_sources(sources, "V2_")) == [("B2C_1A_V2_V2_Base", None), ("B2C_1A_V2_V2_Ext", "B2C_1A_V2_V2_Base")]


@pytest.mark.parametrize("content", [
    "not XML at all",
    "<TrustFrameworkPolicy>unclosed",
    f'<Other xmlns="{NAMESPACE}" PolicyId="B2C_1A_X" />',
    f'<TrustFrameworkPolicy TenantId="{TENANT}" PolicyId="B2C_1A_X" PublicPolicyUri="x" />',  # no namespace
    f'<TrustFrameworkPolicy xmlns="{NAMESPACE}" TenantId="{TENANT}" />',
    '<!DOCTYPE a [<!ENTITY e "B2C_1A_">]>' f'<TrustFrameworkPolicy xmlns="{NAMESPACE}" PolicyId="&e;X" />',
])
def test_what_is_not_a_policy_is_passed_on_for_load_set_to_refuse(content):
    assert prefixed_sources([("bad.xml", content), ("Base.xml", BASE)], "V2_")[0] == ("bad.xml", content)


@pytest.mark.parametrize("written, what", [
    ('PolicyId="B2C_1A_&#69;xt"', "PolicyId 'B2C_1A_Ext'"),
    (f'PolicyId="B2C_1A_Ext" PublicPolicyUri="http://{TENANT}/B2C_1A_&#69;xt"',
     f"PublicPolicyUri 'http://{TENANT}/B2C_1A_Ext'"),
])
def test_an_id_of_the_set_not_written_as_plain_text_is_refused(written, what):
    text = child("B2C_1A_Ext", "B2C_1A_Base").replace(
        f'PolicyId="B2C_1A_Ext" PublicPolicyUri="http://{TENANT}/B2C_1A_Ext"', written)
    if "PublicPolicyUri" not in written:
        text = text.replace('">\n', f'" PublicPolicyUri="http://{TENANT}/B2C_1A_Ext">\n', 1)
    with pytest.raises(PolicyError) as caught:
        prefixed_sources([("Ext.xml", text), ("Base.xml", BASE)], "V2_")
    assert str(caught.value) == (
        f"1 id(s) that id_prefix cannot rewrite, nothing was sent: Ext.xml: {what} is not written as plain text (a "
        "character reference or a comment in it), so id_prefix cannot be inserted into it; write the id as plain text")


def test_every_id_that_cannot_be_rewritten_is_named_together():
    ext = child("B2C_1A_Ext", "B2C_1A_<!-- v1 -->Base")
    sign_in = child("B2C_1A_SignIn", "B2C_1A_&#69;xt")
    with pytest.raises(PolicyError) as caught:
        prefixed_sources([("Ext.xml", ext), ("SignIn.xml", sign_in), ("Base.xml", BASE)], "V2_")
    assert caught.value.problems == [
        "Ext.xml: BasePolicy PolicyId 'B2C_1A_Base' is not written as plain text (a character reference or a comment "
        "in it), so id_prefix cannot be inserted into it; write the id as plain text",
        "SignIn.xml: BasePolicy PolicyId 'B2C_1A_Ext' is not written as plain text (a character reference or a "
        "comment in it), so id_prefix cannot be inserted into it; write the id as plain text"]


def test_a_reference_outside_the_set_may_be_written_any_way():
    # nothing is inserted there, so nothing needs its offsets
    sources = [("SignIn.xml", child("B2C_1A_SignIn", "B2C_1A_&#69;xt"))]
    assert ids(prefixed_sources(sources, "V2_")) == [("B2C_1A_V2_SignIn", "B2C_1A_Ext")]


def test_a_file_whose_tags_cannot_be_found_in_its_bytes_is_refused():
    # UTF-16 without a byte order mark: the parser reads it, the offsets are not those of ASCII text
    content = BASE.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16-le")
    with pytest.raises(PolicyError) as caught:
        prefixed_sources([("Base.xml", content)], "V2_")
    assert caught.value.problems == [
        "Base.xml: its tags cannot be found in its bytes (a file neither UTF-8, Latin-1 nor UTF-16 with a byte order "
        "mark), so id_prefix cannot be inserted; save it as UTF-8"]


def test_only_the_first_base_policy_and_its_first_policy_id_are_read_as_policy_py_reads_them():
    text = child("B2C_1A_Ext", "B2C_1A_Base").replace(
        "</BasePolicy>", "</BasePolicy><BasePolicy><PolicyId>B2C_1A_Base</PolicyId></BasePolicy>")
    [_base, (_source, content)] = prefixed_sources([("Base.xml", BASE), ("Ext.xml", text)], "V2_")
    assert content.count("B2C_1A_V2_Base") == 1 and "<PolicyId>B2C_1A_Base</PolicyId>" in content


# ---- deploy_set with id_prefix --------------------------------------------------------------------------------------
def v1_files() -> list[dict]:
    """The set without its key set (the fake tenant answers policy calls only)."""
    base = BASE.replace('  <Key Id="k" StorageReferenceId="B2C_1A_TokenSigningKeyContainer" />\r\n', "")
    return [{"content": base, "source": "Base.xml"}, {"content": child("B2C_1A_Ext", "B2C_1A_Base"), "source": "Ext.xml"},
            {"content": child("B2C_1A_SignIn", "B2C_1A_Ext"), "source": "SignIn.xml"}]


def test_a_new_version_goes_in_beside_the_live_one_and_absent_removes_only_it():
    tenant = FakeTenant({})
    deploy_set(FakeRun(tenant, policies=v1_files()))
    live = dict(tenant.held)
    result = deploy_set(FakeRun(tenant, policies=v1_files(), id_prefix="V2_"))
    assert result["uploaded"] == ["B2C_1A_V2_Base", "B2C_1A_V2_Ext", "B2C_1A_V2_SignIn"]
    assert result["levels"] == [["B2C_1A_V2_Base"], ["B2C_1A_V2_Ext"], ["B2C_1A_V2_SignIn"]]
    assert [(entry["policy"], entry["base_policy"], entry["source"]) for entry in result["results"]] == [
        ("B2C_1A_V2_Base", None, "Base.xml"), ("B2C_1A_V2_Ext", "B2C_1A_V2_Base", "Ext.xml"),
        ("B2C_1A_V2_SignIn", "B2C_1A_V2_Ext", "SignIn.xml")]
    assert result["extra"] == ["B2C_1A_Base", "B2C_1A_Ext", "B2C_1A_SignIn"]
    assert {key: value for key, value in tenant.held.items() if key in live} == live  # the live set untouched
    assert deploy_set(FakeRun(tenant, policies=v1_files(), id_prefix="V2_"))["changed"] is False

    gone = deploy_set(FakeRun(tenant, policies=v1_files(), id_prefix="V2_", state="absent"))
    assert gone["deleted"] == ["B2C_1A_V2_SignIn", "B2C_1A_V2_Ext", "B2C_1A_V2_Base"]
    assert tenant.held == live


def test_the_new_version_prunes_the_old_one_leaves_first():
    tenant = FakeTenant({})
    deploy_set(FakeRun(tenant, policies=v1_files()))
    result = deploy_set(FakeRun(tenant, policies=v1_files(), id_prefix="V2_", prune=True, prune_pattern="B2C_1A_*"))
    assert result["pruned"] == ["B2C_1A_SignIn", "B2C_1A_Ext", "B2C_1A_Base"]
    assert sorted(policy_id for policy_id, _content in tenant.held.values()) == [
        "B2C_1A_V2_Base", "B2C_1A_V2_Ext", "B2C_1A_V2_SignIn"]


def test_a_bad_prefix_is_refused_before_any_request():
    tenant = FakeTenant({})
    with pytest.raises(PolicyError, match="^id_prefix: 'B2C_1A_V2' begins with B2C_1A_"):
        deploy_set(FakeRun(tenant, policies=v1_files(), id_prefix="B2C_1A_V2"))
    assert tenant.writes == [] and tenant.held == {}
