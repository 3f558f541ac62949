# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit and property tests for the pure policy layer (plugins/module_utils/_policies/policy.py)."""

from __future__ import annotations

import difflib
import random
import re
from xml.sax.saxutils import escape, quoteattr

import pytest
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import (
    MAX_INHERITANCE_LEVELS,
    MAX_POLICY_BYTES,
    POLICY_NAMESPACE,
    REASON_BASE_CHANGED,
    REASON_CHANGED,
    REASON_NEW,
    REASON_UNCHANGED,
    PolicyError,
    canonical,
    check_policy,
    check_set,
    dependency_levels,
    failure_message,
    level_ids,
    load_policy,
    parse_policy,
    plan_policy,
    plan_set,
    policy_diff,
    policy_id_option,
    policy_key,
    pretty,
    removal_order,
    same_policy,
    set_entry,
    several_problems,
    stored_facts,
    tenant_is_comparable,
    upload_waves,
    with_prefix,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

TENANT = "contoso.onmicrosoft.com"
TENANT_GUID = "8c9a4a5e-3f6b-4a7d-9e2f-1b2c3d4e5f60"
# Property tests: no example database (no .hypothesis left behind), no deadline on 2 shared cores.
PROPERTY = settings(database=None, deadline=None, max_examples=200)


def policy_xml(policy_id: str, base: str | None = None, tenant: str = TENANT, keys: tuple[str, ...] = (),
               body: str = "", base_tenant: str | None = None, declaration: bool = True) -> str:
    """A small policy in the starter pack's layout (written for these tests)."""
    base_block = ""
    if base is not None:
        base_block = (f"  <BasePolicy>\n    <TenantId>{base_tenant or tenant}</TenantId>\n"
                      f"    <PolicyId>{base}</PolicyId>\n  </BasePolicy>\n")
    key_block = ""
    if keys:
        key_lines = "".join(f'              <Key Id="k{index}" StorageReferenceId="{key}" />\n' for index, key in enumerate(keys))
        key_block = ("  <ClaimsProviders>\n    <ClaimsProvider>\n      <DisplayName>Issuer</DisplayName>\n"
                     "      <TechnicalProfiles>\n        <TechnicalProfile Id=\"JwtIssuer\">\n"
                     f"            <CryptographicKeys>\n{key_lines}            </CryptographicKeys>\n"
                     "        </TechnicalProfile>\n      </TechnicalProfiles>\n    </ClaimsProvider>\n  </ClaimsProviders>\n")
    head = '<?xml version="1.0" encoding="utf-8"?>\n' if declaration else ""
    return (f'{head}<TrustFrameworkPolicy\n  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
            f'  xmlns="{POLICY_NAMESPACE}"\n  PolicySchemaVersion="0.3.0.0"\n  TenantId="{tenant}"\n'
            f'  PolicyId="{policy_id}"\n  PublicPolicyUri="http://{tenant}/{policy_id}">\n'
            f"{base_block}{key_block}{body}</TrustFrameworkPolicy>\n")


def policy(policy_id: str, base: str | None = None, **kwargs) -> object:
    return parse_policy(policy_xml(policy_id, base, **kwargs), source=f"{policy_id}.xml")


# ---- parsing ------------------------------------------------------------------------------------------------------
def test_parse_reads_ids_base_and_key_sets_once_in_order():
    text = policy_xml("B2C_1A_TrustFrameworkExtensions", base="B2C_1A_TrustFrameworkBase",
                      keys=("B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer", "B2C_1A_TokenSigningKeyContainer"))
    parsed = parse_policy(text, "ext.xml")
    assert parsed.policy_id == "B2C_1A_TrustFrameworkExtensions"
    assert parsed.tenant_id == TENANT
    assert parsed.public_policy_uri == f"http://{TENANT}/B2C_1A_TrustFrameworkExtensions"
    assert (parsed.base_policy_id, parsed.base_tenant_id) == ("B2C_1A_TrustFrameworkBase", TENANT)
    assert parsed.key_sets == ("B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer")
    assert parsed.key == "B2C_1A_TRUSTFRAMEWORKEXTENSIONS" and parsed.base_key == "B2C_1A_TRUSTFRAMEWORKBASE"
    assert parsed.content == text and parsed.source == "ext.xml"


def test_parse_accepts_bytes_with_a_bom_and_a_declared_encoding():
    text = policy_xml("B2C_1A_Base", body="  <BuildingBlocks><ClaimsSchema><ClaimType Id=\"näme\"/></ClaimsSchema></BuildingBlocks>\n")
    as_utf16 = text.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    from_bom = parse_policy("\ufeff" + text)
    from_bytes = parse_policy(as_utf16)
    assert from_bom.policy_id == from_bytes.policy_id == "B2C_1A_Base"
    assert from_bom.canonical == from_bytes.canonical == parse_policy(text.encode("utf-8")).canonical


def test_a_base_policy_id_with_surrounding_whitespace_is_read_trimmed():
    text = policy_xml("B2C_1A_Ext", base="\n      B2C_1A_Base\n    ")
    assert parse_policy(text).base_policy_id == "B2C_1A_Base"


@pytest.mark.parametrize("content, fragment", [
    ("", "empty"),
    ("   \n", "empty"),
    ("<TrustFrameworkPolicy", "not well-formed XML"),
    ("just text", "not well-formed XML"),
    (f'<Policy xmlns="{POLICY_NAMESPACE}"/>', "root element is Policy"),
    ('<TrustFrameworkPolicy PolicyId="B2C_1A_X"/>', "TrustFrameworkPolicy (no namespace)"),
    (policy_xml("B2C_1A_X").replace(' PolicyId="B2C_1A_X"', ""), "no PolicyId attribute"),
    (policy_xml("B2C_1A_X").replace(f' TenantId="{TENANT}"', ""), "no TenantId attribute"),
    (policy_xml("B2C_1A_X").replace('PublicPolicyUri="http://contoso.onmicrosoft.com/B2C_1A_X"', ""), "no PublicPolicyUri"),
    (policy_xml("B2C_1A_X", base="B2C_1A_B").replace("<PolicyId>B2C_1A_B</PolicyId>", ""), "BasePolicy of B2C_1A_X has no PolicyId"),
    (policy_xml("B2C_1A_X", base="B2C_1A_B").replace(f"<TenantId>{TENANT}</TenantId>", "<TenantId> </TenantId>"),
     "BasePolicy of B2C_1A_X has no TenantId"),
])
def test_parse_refuses_what_is_not_a_policy(content, fragment):
    with pytest.raises(PolicyError) as caught:
        parse_policy(content, "bad.xml")
    assert str(caught.value).startswith("bad.xml: ")
    assert fragment in str(caught.value)


def test_parse_error_names_the_place_but_never_echoes_the_content():
    secret = "s3cr3t-Value-That-Must-Not-Leak"
    broken = policy_xml("B2C_1A_X", body=f"  <Item Key=\"client_secret\">{secret}</Item>\n  <Broken>\n")
    with pytest.raises(PolicyError) as caught:
        parse_policy(broken, "x.xml")
    message = str(caught.value)
    assert "line" in message and "column" in message
    assert secret not in message


def test_parse_refuses_a_file_larger_than_the_service_limit():
    padding = "  <!--" + "x" * MAX_POLICY_BYTES + "-->\n"
    with pytest.raises(PolicyError, match="1024 KB"):
        parse_policy(policy_xml("B2C_1A_Big", body=padding), "big.xml")


def test_parse_refuses_a_non_text_value():
    with pytest.raises(PolicyError, match="not dict"):
        parse_policy({"PolicyId": "B2C_1A_X"}, "x")  # type: ignore[arg-type]


# ---- checks -------------------------------------------------------------------------------------------------------
def test_a_correct_policy_passes_every_check():
    checked = load_policy(policy_xml("B2C_1A_Ext", base="B2C_1A_Base"), "ext.xml", expected_id="B2C_1A_Ext", tenant=TENANT)
    assert checked.policy_id == "B2C_1A_Ext"


@pytest.mark.parametrize("expected", ["B2C_1A_Ext", "b2c_1a_ext", "Ext", "ext"])
def test_the_expected_id_matches_ignoring_case_with_or_without_prefix(expected):
    check_policy(policy("B2C_1A_Ext"), expected_id=expected, tenant=TENANT)


def test_an_expected_id_that_differs_is_refused_naming_both():
    with pytest.raises(PolicyError) as caught:
        check_policy(policy("B2C_1A_Ext"), expected_id="B2C_1A_Other")
    assert "'B2C_1A_Ext'" in str(caught.value) and "'B2C_1A_Other'" in str(caught.value)


@pytest.mark.parametrize("policy_id, fragment", [
    ("TrustFrameworkBase", "lacks the B2C_1A_ prefix"),
    ("B2C_1_SignUp", "lacks the B2C_1A_ prefix"),
    ("B2C_1A_", "lacks the B2C_1A_ prefix"),
    ("B2C_1A_Base.", "may hold only"),
    ("B2C_1A_Sign Up", "may hold only"),
])
def test_policy_ids_b2c_refuses(policy_id, fragment):
    with pytest.raises(PolicyError, match=fragment):
        check_policy(parse_policy(policy_xml(policy_id)))


def test_the_prefix_is_recognised_in_any_case():
    check_policy(policy("b2c_1a_lowercase"))


@pytest.mark.parametrize("tenant", [TENANT, "CONTOSO.onmicrosoft.COM", TENANT_GUID, None, ""])
def test_tenant_is_compared_only_when_the_task_names_a_domain(tenant):
    check_policy(policy("B2C_1A_Ext"), tenant=tenant)
    if tenant_is_comparable(tenant):
        with pytest.raises(PolicyError, match="is not the tenant of this task"):
            check_policy(policy("B2C_1A_Ext", tenant="fabrikam.onmicrosoft.com"), tenant=tenant)
    else:
        check_policy(policy("B2C_1A_Ext", tenant="fabrikam.onmicrosoft.com"), tenant=tenant)


def test_the_starter_pack_placeholder_is_refused_whatever_the_task_tenant():
    for tenant in (TENANT, TENANT_GUID, None):
        with pytest.raises(PolicyError, match="placeholder") as caught:
            check_policy(policy("B2C_1A_Ext", base="B2C_1A_Base", tenant="yourtenant.onmicrosoft.com"), tenant=tenant)
        assert len(caught.value.problems) == 2  # TenantId and BasePolicy TenantId


def test_a_guid_tenant_id_in_the_file_is_refused():
    with pytest.raises(PolicyError, match="is a GUID"):
        check_policy(policy("B2C_1A_Ext", tenant=TENANT_GUID))


def test_a_base_in_another_tenant_is_refused():
    with pytest.raises(PolicyError, match="inherit from a policy of its own tenant"):
        check_policy(policy("B2C_1A_Ext", base="B2C_1A_Base", base_tenant="fabrikam.onmicrosoft.com"))


def test_a_base_without_prefix_and_a_policy_based_on_itself_are_refused():
    with pytest.raises(PolicyError, match="only inherit from another custom policy"):
        check_policy(policy("B2C_1A_Ext", base="TrustFrameworkBase"))
    with pytest.raises(PolicyError, match="names itself"):
        check_policy(policy("B2C_1A_Ext", base="b2c_1a_EXT"))


def test_every_problem_is_reported_at_once():
    bad = policy("Ext", base="Base", tenant="fabrikam.onmicrosoft.com")
    with pytest.raises(PolicyError) as caught:
        check_policy(bad, expected_id="B2C_1A_Other", tenant=TENANT)
    problems = caught.value.problems
    assert len(problems) == 5, problems  # prefix, expected id, TenantId, BasePolicy TenantId, base prefix
    assert str(caught.value) == "5 problems, nothing was changed:\n" + "\n".join("- " + problem for problem in problems)
    assert all(problem.startswith("Ext (Ext.xml): ") for problem in problems)


def test_with_prefix_and_policy_key():
    assert with_prefix("Base") == "B2C_1A_Base"
    assert with_prefix("b2c_1a_base") == "b2c_1a_base"
    assert policy_key("B2C_1A_signup_signin") == "B2C_1A_SIGNUP_SIGNIN"


# ---- canonical form, diff -----------------------------------------------------------------------------------------
def test_layout_comments_declaration_and_attribute_order_do_not_count():
    base = policy_xml("B2C_1A_Base", keys=("B2C_1A_Sig",), body="  <!-- notes -->\n")
    compact = re.sub(r">\s+<", "><", " ".join(base.split())).replace("<!-- notes -->", "")
    compact = compact.replace('<?xml version="1.0" encoding="utf-8"?>', "")
    reordered = base.replace('PolicySchemaVersion="0.3.0.0"\n  TenantId', "TenantId").replace(
        'PublicPolicyUri="http://contoso.onmicrosoft.com/B2C_1A_Base">',
        "PublicPolicyUri='http://contoso.onmicrosoft.com/B2C_1A_Base' PolicySchemaVersion='0.3.0.0'>")
    self_closing = base.replace('StorageReferenceId="B2C_1A_Sig" />', 'StorageReferenceId="B2C_1A_Sig"></Key>')
    forms = {canonical(text) for text in (base, compact, reordered, self_closing, "\ufeff" + base, base.encode("utf-8"))}
    assert len(forms) == 1


@pytest.mark.parametrize("old, new", [
    ("<DisplayName>Issuer</DisplayName>", "<DisplayName>Issuer </DisplayName>"),
    ("<DisplayName>Issuer</DisplayName>", "<DisplayName>issuer</DisplayName>"),
    ('StorageReferenceId="B2C_1A_Sig"', 'StorageReferenceId="B2C_1A_Sig2"'),
    ('<Key Id="k0"', '<Key Id="k0" Extra="1"'),
    ("<DisplayName>Issuer</DisplayName>", "<DisplayName>Issuer</DisplayName><Extra/>"),
])
def test_text_attributes_and_elements_count(old, new):
    text = policy_xml("B2C_1A_Base", keys=("B2C_1A_Sig",))
    assert old in text
    assert canonical(text) != canonical(text.replace(old, new))


def test_same_policy_and_plan_policy():
    local = policy("B2C_1A_Base", keys=("B2C_1A_Sig",))
    stored = pretty(local.content)  # what a re-serialising service could answer
    assert same_policy(local, stored)
    assert plan_policy(local, stored) == (False, REASON_UNCHANGED)
    assert plan_policy(local, None) == (True, REASON_NEW)
    assert plan_policy(local, stored.replace("B2C_1A_Sig", "B2C_1A_Other")) == (True, REASON_CHANGED)
    assert not same_policy(local, "<not xml")
    assert plan_policy(local, "<not xml") == (True, REASON_CHANGED)


def test_pretty_is_stable_and_the_diff_shows_only_what_counts():
    text = policy_xml("B2C_1A_Base", keys=("B2C_1A_Sig",), body="  <!-- a comment -->\n")
    assert pretty(pretty(text)) == pretty(text)
    assert pretty(text) == pretty(re.sub(r">\s+<", "><", " ".join(text.split())))
    blank_lines_only = policy_diff("B2C_1A_Base", text, text.replace("\n", "\n\n"))
    assert blank_lines_only["before"] == blank_lines_only["after"]
    # Ansible's diff callback turns before/after into a unified diff; do the same to see which lines it would show.
    changed = policy_diff("B2C_1A_Base", text, text.replace(">Issuer<", ">Token issuer<"))
    shown = list(difflib.unified_diff(changed["before"].splitlines(), changed["after"].splitlines(), lineterm=""))
    removed = [line for line in shown if line.startswith("-") and not line.startswith("---")]
    added = [line for line in shown if line.startswith("+") and not line.startswith("+++")]
    assert removed == ["-      <DisplayName>Issuer</DisplayName>"]
    assert added == ["+      <DisplayName>Token issuer</DisplayName>"]
    assert "comment" not in pretty(text)


def test_policy_diff_of_a_new_policy_and_of_a_deletion():
    text = policy_xml("B2C_1A_Base")
    created = policy_diff("B2C_1A_Base", None, text, after_source="base.xml")
    assert created["before"] == "" and created["after"] == pretty(text)
    assert created["after_header"] == "B2C_1A_Base (base.xml)" and created["before_header"] == "B2C_1A_Base (tenant)"
    deleted = policy_diff("B2C_1A_Base", text, None)
    assert deleted["after"] == "" and deleted["before"].startswith("<TrustFrameworkPolicy ")


def test_pretty_shows_unparsable_stored_content_as_it_is():
    assert pretty("<oops") == "<oops\n"
    assert pretty(b"<oops\n") == "<oops\n"


# ---- module options and stored copies ------------------------------------------------------------------------------
@pytest.mark.parametrize("given, expected", [
    ("SignUpOrSignin", "B2C_1A_SignUpOrSignin"),
    ("b2c_1a_signup", "b2c_1a_signup"),
    ("  B2C_1A_Ext  ", "B2C_1A_Ext"),
    ("B2C_1A_a.b-c_d", "B2C_1A_a.b-c_d"),
])
def test_a_policy_option_gets_its_prefix_once(given, expected):
    assert policy_id_option(given) == expected


@pytest.mark.parametrize("given, fragment", [
    ("", "give a policy id"),
    ("   ", "give a policy id"),
    (None, "give a policy id"),
    ("../x", "'../x' is not a policy id"),
    ("a b", "is not a policy id"),
    ("B2C_1A_", "is not a policy id"),
    ("b2c_1a_", "is not a policy id"),
    ("x.", "is not a policy id"),
])
def test_a_policy_option_b2c_cannot_name_is_refused(given, fragment):
    with pytest.raises(PolicyError, match=re.escape(fragment)) as caught:
        policy_id_option(given, "policies[2].policy")
    assert str(caught.value).startswith("policies[2].policy: ")


def test_stored_facts_read_ids_and_never_refuse():
    assert stored_facts(policy_xml("B2C_1A_Rp", base="B2C_1A_Ext").encode()) == ("B2C_1A_Rp", "B2C_1A_Ext")
    assert stored_facts(policy_xml("B2C_1A_Base")) == ("B2C_1A_Base", None)
    assert stored_facts(policy_xml("yourtenant_but_stored", tenant="yourtenant.onmicrosoft.com")) == (
        "yourtenant_but_stored", None)
    assert stored_facts(b"<not xml") == (None, None)
    assert stored_facts(None) == (None, None)


# ---- inheritance order and plans ----------------------------------------------------------------------------------
def starter_set():
    return [
        policy("B2C_1A_signup_signin", "B2C_1A_TrustFrameworkExtensions"),
        policy("B2C_1A_TrustFrameworkLocalization", "B2C_1A_TrustFrameworkBase"),
        policy("B2C_1A_PasswordReset", "B2C_1A_TrustFrameworkExtensions"),
        policy("B2C_1A_TrustFrameworkBase", keys=("B2C_1A_TokenSigningKeyContainer",)),
        policy("B2C_1A_TrustFrameworkExtensions", "B2C_1A_TrustFrameworkLocalization"),
    ]


def ids(levels):
    return [[item.policy_id for item in level] for level in levels]


def test_the_starter_chain_orders_bases_first_and_siblings_together():
    assert ids(dependency_levels(starter_set())) == [
        ["B2C_1A_TrustFrameworkBase"],
        ["B2C_1A_TrustFrameworkLocalization"],
        ["B2C_1A_TrustFrameworkExtensions"],
        ["B2C_1A_PasswordReset", "B2C_1A_signup_signin"],
    ]


def test_a_base_already_in_the_tenant_makes_its_children_level_zero():
    levels = dependency_levels([policy("B2C_1A_Ext", "B2C_1A_Base"), policy("B2C_1A_RP", "b2c_1a_ext")],
                               tenant_policy_ids=["B2C_1A_BASE"])
    assert ids(levels) == [["B2C_1A_Ext"], ["B2C_1A_RP"]]


def test_missing_bases_duplicates_and_cycles_are_refused_naming_the_policies():
    bad = [
        policy("B2C_1A_A", "B2C_1A_B"),
        policy("B2C_1A_B", "B2C_1A_A"),
        policy("B2C_1A_Self", "B2C_1A_Self"),
        policy("B2C_1A_Orphan", "B2C_1A_Nowhere"),
        policy("B2C_1A_Ok"),
        parse_policy(policy_xml("b2c_1a_ok"), source="copy.xml"),
    ]
    with pytest.raises(PolicyError) as caught:
        dependency_levels(bad)
    problems = caught.value.problems
    assert "b2c_1a_ok is defined twice, by B2C_1A_Ok.xml and by copy.xml" in problems
    assert any("B2C_1A_Orphan (B2C_1A_Orphan.xml) inherits from B2C_1A_Nowhere, which is neither in this set nor in "
               "the tenant" in problem for problem in problems)
    assert "inheritance cycle: B2C_1A_A (B2C_1A_A.xml) -> B2C_1A_B (B2C_1A_B.xml) -> B2C_1A_A" in problems
    assert "inheritance cycle: B2C_1A_Self (B2C_1A_Self.xml) -> B2C_1A_Self" in problems
    assert len(problems) == 4


def test_a_chain_deeper_than_b2c_allows_is_refused():
    chain = [policy("B2C_1A_P0")] + [policy(f"B2C_1A_P{index}", f"B2C_1A_P{index - 1}") for index in range(1, MAX_INHERITANCE_LEVELS + 1)]
    with pytest.raises(PolicyError, match=f"B2C_1A_P{MAX_INHERITANCE_LEVELS} .* is 11 levels deep"):
        dependency_levels(chain)
    assert len(dependency_levels(chain[:MAX_INHERITANCE_LEVELS])) == MAX_INHERITANCE_LEVELS


def test_plan_uploads_new_and_changed_only_and_keeps_the_order():
    levels = dependency_levels(starter_set())
    stored = {item.key: item.content for level in levels for item in level}
    ext = next(item for level in levels for item in level if item.policy_id == "B2C_1A_TrustFrameworkExtensions")
    stored[ext.key] = ext.content.replace("<PolicyId>B2C_1A_TrustFrameworkLocalization", "<PolicyId>B2C_1A_Old")
    del stored[policy_key("B2C_1A_PasswordReset")]
    plans = plan_set(levels, stored)
    summary = [(plan.policy.policy_id, plan.level, plan.upload, plan.reason) for plan in plans]
    assert summary == [
        ("B2C_1A_TrustFrameworkBase", 0, False, REASON_UNCHANGED),
        ("B2C_1A_TrustFrameworkLocalization", 1, False, REASON_UNCHANGED),
        ("B2C_1A_TrustFrameworkExtensions", 2, True, REASON_CHANGED),
        ("B2C_1A_PasswordReset", 3, True, REASON_NEW),
        ("B2C_1A_signup_signin", 3, False, REASON_UNCHANGED),
    ]
    waves = upload_waves(plans)
    assert [[plan.policy.policy_id for plan in wave] for wave in waves] == [["B2C_1A_TrustFrameworkExtensions"], ["B2C_1A_PasswordReset"]]
    again = plan_set(levels, stored, reupload_dependents=True)
    assert [(plan.policy.policy_id, plan.reason) for plan in again if plan.upload] == [
        ("B2C_1A_TrustFrameworkExtensions", REASON_CHANGED),
        ("B2C_1A_PasswordReset", REASON_NEW),
        ("B2C_1A_signup_signin", REASON_BASE_CHANGED),
    ]


def test_nothing_to_upload_when_the_tenant_holds_the_set():
    levels = dependency_levels(starter_set())
    stored = {item.key: pretty(item.content) for level in levels for item in level}
    plans = plan_set(levels, stored, reupload_dependents=True)
    assert not any(plan.upload for plan in plans) and upload_waves(plans) == []


def test_removal_goes_children_first():
    assert ids(removal_order(dependency_levels(starter_set()))) == [
        ["B2C_1A_PasswordReset", "B2C_1A_signup_signin"],
        ["B2C_1A_TrustFrameworkExtensions"],
        ["B2C_1A_TrustFrameworkLocalization"],
        ["B2C_1A_TrustFrameworkBase"],
    ]


# ---- properties ---------------------------------------------------------------------------------------------------
TAGS = ("Item", "ClaimType", "TechnicalProfile", "Metadata")
ATTRIBUTE_NAMES = ("Id", "Key", "Type", "ReferenceId")
VALUES = st.text(alphabet="ab<&\"' é", min_size=0, max_size=6)
TEXTS = st.text(alphabet="ab<&\"' é\n", min_size=1, max_size=8).filter(lambda text: text.strip() != "")


@st.composite
def elements(draw, depth: int = 0):
    """(tag, attributes, text or None, children): IEF-like, without mixed content."""
    tag = draw(st.sampled_from(TAGS))
    attributes = draw(st.dictionaries(st.sampled_from(ATTRIBUTE_NAMES), VALUES, max_size=3))
    if depth >= 3 or draw(st.booleans()):
        return (tag, attributes, draw(st.none() | TEXTS), [])
    return (tag, attributes, None, draw(st.lists(elements(depth=depth + 1), min_size=1, max_size=3)))


def serialize(element, rng: random.Random, layout: bool, depth: int = 0, root: bool = False) -> str:
    """One way of writing the element: with layout, random attribute order, indentation, comments and quoting."""
    tag, attributes, text, children = element
    names = list(attributes)
    if layout:
        rng.shuffle(names)
    rendered = "".join(f" {name}={_quote(attributes[name], rng, layout)}" for name in names)
    if root:
        rendered = f' xmlns="{POLICY_NAMESPACE}"' + (' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' if layout else "") + rendered

    def gap(level: int) -> str:
        return "\n" + rng.choice(["  ", "\t", "    "]) * level if layout else ""

    def comment() -> str:
        return rng.choice(["", "<!-- note -->", "<!--x-->"]) if layout else ""

    if children:
        inner = "".join(gap(depth + 1) + comment() + serialize(child, rng, layout, depth + 1) for child in children)
        return f"<{tag}{rendered}>{inner}{gap(depth)}</{tag}>"
    if text is None:
        return f"<{tag}{rendered}/>" if layout and rng.random() < 0.5 else f"<{tag}{rendered}></{tag}>"
    return f"<{tag}{rendered}>{escape(text)}</{tag}>"


def _quote(value: str, rng: random.Random, layout: bool) -> str:
    if layout and "'" not in value and rng.random() < 0.5:
        return "'" + escape(value, {'"': "&quot;"}) + "'"
    return quoteattr(value) if "'" in value or '"' in value else '"' + escape(value) + '"'


def document(element, rng: random.Random, layout: bool) -> str:
    head = rng.choice(['<?xml version="1.0" encoding="utf-8"?>\n', "\ufeff", "<!-- lead -->\n"]) if layout else ""
    return head + serialize(element, rng, layout, root=True) + ("\n" if layout else "")


@PROPERTY
@given(elements(), st.integers(min_value=0, max_value=2**32))
def test_canonical_form_ignores_layout_comments_and_attribute_order(element, seed):
    rng = random.Random(seed)
    plain = document(element, rng, layout=False)
    laid_out = document(element, rng, layout=True)
    assert canonical(plain) == canonical(laid_out)
    assert pretty(plain) == pretty(laid_out)
    assert canonical(pretty(laid_out)) == canonical(plain)


def _leaves(element, path=()):
    tag, attributes, text, children = element
    if not children:
        yield path
    for index, child in enumerate(children):
        yield from _leaves(child, path + (index,))


def _with_text(element, path, text):
    tag, attributes, old, children = element
    if not path:
        return (tag, attributes, text, children)
    children = list(children)
    children[path[0]] = _with_text(children[path[0]], path[1:], text)
    return (tag, attributes, old, children)


def _text_at(element, path):
    for index in path:
        element = element[3][index]
    return element[2]


@PROPERTY
@given(elements(), st.data())
def test_canonical_form_sees_every_text_change(element, data):
    path = data.draw(st.sampled_from(list(_leaves(element))))
    new_text = data.draw(TEXTS)
    assume(new_text != _text_at(element, path))
    rng = random.Random(0)
    before = document(element, rng, layout=False)
    after = document(_with_text(element, path, new_text), rng, layout=False)
    assert canonical(before) != canonical(after)


@st.composite
def policy_forests(draw):
    """Policies whose base is an earlier one (or none, or a tenant policy), in a shuffled order."""
    count = draw(st.integers(min_value=1, max_value=14))
    bases = []
    for index in range(count):
        choice = draw(st.integers(min_value=-2, max_value=index - 1))
        bases.append(None if choice == -2 else "B2C_1A_Tenant" if choice == -1 else f"B2C_1A_P{choice}")
    made = [policy(f"B2C_1A_P{index}", base) for index, base in enumerate(bases)]
    return draw(st.permutations(made))


@PROPERTY
@given(policy_forests())
def test_every_base_comes_before_what_extends_it(policies):
    try:
        levels = dependency_levels(policies, tenant_policy_ids=["B2C_1A_Tenant"])
    except PolicyError as exc:
        assert all("levels deep" in problem for problem in exc.problems)
        return
    level_of = {item.key: index for index, level in enumerate(levels) for item in level}
    assert sorted(level_of) == sorted(item.key for item in policies)
    for item in policies:
        if item.base_key in level_of:
            assert level_of[item.base_key] == level_of[item.key] - 1
        else:
            assert level_of[item.key] == 0
    assert all(level for level in levels)


@PROPERTY
@given(st.lists(st.integers(min_value=-1, max_value=7), min_size=1, max_size=8))
def test_any_base_graph_is_ordered_or_refused_with_its_cycles(bases):
    policies = [policy(f"B2C_1A_P{index}", None if base < 0 or base >= len(bases) else f"B2C_1A_P{base}")
                for index, base in enumerate(bases)]
    has_cycle = False
    for start in range(len(bases)):
        seen, node = set(), start
        while 0 <= node < len(bases) and node not in seen:
            seen.add(node)
            node = bases[node]
        has_cycle = has_cycle or (0 <= node < len(bases))
    if has_cycle:
        with pytest.raises(PolicyError, match="inheritance cycle"):
            dependency_levels(policies)
    else:
        levels = dependency_levels(policies)
        assert sum(len(level) for level in levels) == len(policies)


# ---- a set before the tenant is read, and its report ------------------------------------------------------------
def test_check_set_refuses_duplicates_and_cycles_but_not_bases_outside_the_set():
    levels = check_set([policy("B2C_1A_Ext", "B2C_1A_Base"), policy("B2C_1A_RP", "B2C_1A_Ext")])
    assert ids(levels) == [["B2C_1A_Ext"], ["B2C_1A_RP"]]
    with pytest.raises(PolicyError) as caught:
        check_set([policy("B2C_1A_A", "B2C_1A_B"), policy("B2C_1A_B", "B2C_1A_A"), policy("B2C_1A_C", "B2C_1A_Elsewhere"),
                   parse_policy(policy_xml("b2c_1a_c"), source="copy.xml")])
    assert caught.value.problems == ["b2c_1a_c is defined twice, by B2C_1A_C.xml and by copy.xml",
                                     "inheritance cycle: B2C_1A_A (B2C_1A_A.xml) -> B2C_1A_B (B2C_1A_B.xml) -> B2C_1A_A"]


def test_set_entries_and_levels_as_the_module_reports_them():
    levels = dependency_levels(starter_set())
    plans = plan_set(levels, {})
    assert level_ids(levels) == ids(levels)
    assert set_entry(plans[0], True) == {
        "policy": "B2C_1A_TrustFrameworkBase", "source": "B2C_1A_TrustFrameworkBase.xml", "level": 0, "base_policy": None,
        "keysets": ["B2C_1A_TokenSigningKeyContainer"], "changed": True, "reason": REASON_NEW}
    later = set_entry(plans[-1], False, "not_attempted")
    assert (later["policy"], later["level"], later["base_policy"], later["changed"], later["reason"]) == (
        "B2C_1A_signup_signin", 3, "B2C_1A_TrustFrameworkExtensions", False, "not_attempted")


def test_a_failure_names_each_refusal_what_was_done_and_what_was_not_attempted():
    base, ext = policy("B2C_1A_Base"), parse_policy(policy_xml("B2C_1A_Ext", "B2C_1A_Base"), source="dir/ext.xml")
    one = failure_message([(ext, "HTTP 400 AADB2C: no such key set")], ["B2C_1A_Base"], ["B2C_1A_RP1", "B2C_1A_RP2"])
    assert one == ("a policy was not uploaded: B2C_1A_Ext (dir/ext.xml): HTTP 400 AADB2C: no such key set. "
                   "Already uploaded in this run: B2C_1A_Base. Not attempted: B2C_1A_RP1, B2C_1A_RP2.")
    two = failure_message([(base, "x"), (ext, "y")], [], [], verb="deleted")
    assert two == ("2 policies were not deleted:\n- B2C_1A_Base (B2C_1A_Base.xml): x\n- B2C_1A_Ext (dir/ext.xml): y\n"
                   "Already deleted in this run: none.\nNot attempted: none.")


def test_one_problem_is_one_line_and_several_are_one_per_line():
    assert several_problems(["a.xml: broken"]) == "a.xml: broken"
    assert several_problems(["a.xml: broken", "b.xml: empty"]) == "2 problems, nothing was changed:\n- a.xml: broken\n- b.xml: empty"
    eleven = [f"p{index}.xml: the policy is empty" for index in range(11)]
    lines = several_problems(eleven).splitlines()
    assert lines[0] == "11 problems, nothing was changed:" and lines[1:] == ["- " + problem for problem in eleven]
