# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Graph beta trustFrameworkPolicy endpoints: what the emulator answers, against what Microsoft documents and what
public tools and users observed (the evidence of each behaviour: tests/emulator/README.md, "Policies").

The policies are the test set of tests/policies/basic, templated here by plain replacement of {{ b2c_tenant }}.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from emulator.policies import (
    MAX_INHERITANCE_LEVELS,
    POLICY_READ_ALL,
    POLICY_READ_WRITE,
    TRANSIENT_UPLOAD_FAULT,
    conflict_upload_fault,
    transient_upload_fault,
)
from fidelity_helpers import READ_WRITE, graph_error, wait_until_replicated

POLICY_SET = Path(__file__).resolve().parents[1] / "policies" / "basic"
NAMESPACE = "http://schemas.microsoft.com/online/cpim/schemas/2013/06"
KEY_SETS = ("TokenSigningKeyContainer", "TokenEncryptionKeyContainer")
XML = {"Content-Type": "application/xml"}


class Policies:
    """requests against /beta/trustFramework/policies with a bearer token and the emulator's CA."""

    def __init__(self, emulator: Any, token: str) -> None:
        self.emulator = emulator
        self.token = token
        self.session = requests.Session()
        self.root = f"{emulator.url}/beta/trustFramework/policies"

    def request(self, method: str, path: str = "", token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return self.session.request(method, self.root + path, headers=headers, verify=self.emulator.ca_path, timeout=30, **kwargs)

    def put(self, policy_id: str, body: str | bytes, content_type: str | None = "application/xml", **kwargs: Any) -> requests.Response:
        headers = {"Content-Type": content_type} if content_type else {}
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.request("PUT", f"/{policy_id}/$value", data=data, headers=headers, **kwargs)

    def keysets(self, *names: str) -> None:
        for name in names:
            response = self.session.post(f"{self.emulator.url}/beta/trustFramework/keySets", json={"id": name},
                                         headers={"Authorization": f"Bearer {self.token}"}, verify=self.emulator.ca_path, timeout=30)
            assert response.status_code == 201, response.text


def policy_text(name: str, tenant: str) -> str:
    return (POLICY_SET / f"{name}.xml").read_text(encoding="utf-8").replace("{{ b2c_tenant }}", tenant)


def roles_token(emulator: Any, *roles: str) -> str:
    return emulator.control.access_token(roles=list(roles))


@pytest.fixture
def policies(emulator) -> Iterator[Policies]:
    client = Policies(emulator, roles_token(emulator, POLICY_READ_WRITE, READ_WRITE))
    yield client
    client.session.close()


@pytest.fixture
def tenant(emulator) -> str:
    return emulator.tenant_domain


def upload_chain(policies: Policies, tenant: str, *names: str) -> None:
    for name in names:
        response = policies.put(ET.fromstring(policy_text(name, tenant)).get("PolicyId"), policy_text(name, tenant))
        assert response.status_code in (200, 201), response.text


def semantic(text: str | bytes) -> Any:
    """Elements, attributes and non-blank text, ignoring layout, attribute order and comments: what counts."""
    def walk(element: ET.Element) -> Any:
        text = element.text if element.text and element.text.strip() else None
        return (element.tag, sorted(element.attrib.items()), text, [walk(child) for child in element])
    return walk(ET.fromstring(text))


# ---- a successful round trip --------------------------------------------------------------------------------------
def test_keys_then_policies_in_inheritance_order(policies, tenant):
    assert policies.request("GET").json()["value"] == []
    policies.keysets(*KEY_SETS)
    base = policy_text("TrustFrameworkBase", tenant)
    created = policies.put("B2C_1A_Basic_Base", base)
    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/xml"
    assert semantic(created.content) == semantic(base)
    replaced = policies.put("B2C_1A_Basic_Base", base)
    assert replaced.status_code == 200
    upload_chain(policies, tenant, "TrustFrameworkLocalization", "TrustFrameworkExtensions", "SignIn", "SignInForApi")
    listed = policies.request("GET")
    assert listed.status_code == 200
    assert listed.json()["@odata.context"].endswith("$metadata#trustFramework/policies")
    assert sorted(item["id"] for item in listed.json()["value"]) == [
        "B2C_1A_Basic_Base", "B2C_1A_Basic_Extensions", "B2C_1A_Basic_Localization", "B2C_1A_Basic_SignIn",
        "B2C_1A_Basic_SignInForApi"]
    assert all(set(item) == {"id"} for item in listed.json()["value"])


def test_value_answers_a_reserialised_form_that_says_the_same(policies, tenant):
    policies.keysets(*KEY_SETS)
    base = policy_text("TrustFrameworkBase", tenant)
    assert policies.put("B2C_1A_Basic_Base", base).status_code == 201
    stored = policies.request("GET", "/B2C_1A_Basic_Base/$value")
    assert stored.status_code == 200 and stored.headers["Content-Type"] == "application/xml"
    assert stored.content != base.encode("utf-8")
    assert stored.text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    assert "\n\t<BuildingBlocks>" in stored.text
    root_start = stored.text.split(">", 2)[1]
    assert root_start.index("PublicPolicyUri") < root_start.index("PolicySchemaVersion")  # another attribute order
    assert semantic(stored.content) == semantic(base)
    assert "keys first, then policies" in stored.text  # comments are kept


def test_the_entity_answers_its_id(policies, tenant):
    policies.keysets(*KEY_SETS)
    upload_chain(policies, tenant, "TrustFrameworkBase")
    entity = policies.request("GET", "/b2c_1a_basic_base")
    assert entity.status_code == 200 and entity.json()["id"] == "B2C_1A_Basic_Base"


def test_ids_are_matched_ignoring_case_and_keep_the_uploaded_spelling(policies, tenant):
    policies.keysets(*KEY_SETS)
    base = policy_text("TrustFrameworkBase", tenant)
    assert policies.put("b2c_1a_basic_base", base).status_code == 201
    assert policies.request("GET", "/B2C_1A_BASIC_BASE/$value").status_code == 200
    assert [item["id"] for item in policies.request("GET").json()["value"]] == ["B2C_1A_Basic_Base"]
    assert policies.put("B2C_1A_Basic_Base", base.replace('"B2C_1A_Basic_Base"', '"B2C_1A_BASIC_BASE"')).status_code == 200
    assert [item["id"] for item in policies.request("GET").json()["value"]] == ["B2C_1A_BASIC_BASE"]


@pytest.mark.parametrize("content_type", ["application/xml", "application/xml; charset=utf-8", "application/octet-stream"])
def test_accepted_content_types(policies, tenant, content_type):
    policies.keysets(*KEY_SETS)
    assert policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", tenant), content_type).status_code == 201


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_other_content_types_are_refused(policies, tenant, content_type):
    response = policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", tenant), content_type)
    assert response.status_code == 415
    assert graph_error(response)["code"] == "UnsupportedMediaType"
    assert policies.request("GET").json()["value"] == []


def test_the_body_is_read_in_its_charset_else_as_utf8_and_the_log_keeps_the_content_type(emulator, policies, tenant):
    policies.keysets(*KEY_SETS)
    text = policy_text("TrustFrameworkBase", tenant).replace("User object id", "Größe サイン")
    emulator.control.clear_requests()

    def stored() -> str:
        return policies.request("GET", "/B2C_1A_Basic_Base/$value").content.decode("utf-8")

    assert policies.put("B2C_1A_Basic_Base", text.encode("utf-8"), "application/xml").status_code == 201
    assert "Größe サイン" in stored()
    latin = text.replace(" サイン", "").encode("iso-8859-1")  # a client that encoded Latin-1 and named no charset
    assert policies.put("B2C_1A_Basic_Base", latin, "application/xml").status_code == 200
    assert "Gr\ufffd\ufffde" in stored()
    assert policies.put("B2C_1A_Basic_Base", latin, "application/xml; charset=ISO-8859-1").status_code == 200
    assert "Größe" in stored() and "\ufffd" not in stored()
    assert [entry["content_type"] for entry in emulator.control.requests() if entry["route"] == "policies.put"] == [
        "application/xml", "application/xml", "application/xml; charset=ISO-8859-1"]


def test_create_by_post_and_delete(policies, tenant):
    policies.keysets(*KEY_SETS)
    base = policy_text("TrustFrameworkBase", tenant)
    created = policies.request("POST", data=base.encode("utf-8"), headers=XML)
    assert created.status_code == 201
    assert created.headers["Location"].endswith("/beta/trustFramework/policies/B2C_1A_Basic_Base/")
    again = policies.request("POST", data=base.encode("utf-8"), headers=XML)
    assert again.status_code == 409 and graph_error(again)["code"] == "AADB2C"
    deleted = policies.request("DELETE", "/B2C_1A_Basic_Base")
    assert deleted.status_code == 204 and deleted.content == b""
    for method, path in (("GET", "/B2C_1A_Basic_Base/$value"), ("DELETE", "/B2C_1A_Basic_Base"), ("GET", "/B2C_1A_Basic_Base")):
        missing = policies.request(method, path)
        assert missing.status_code == 404
        error = graph_error(missing)
        assert error["code"] == "AADB2C"
        assert error["message"] == (f"Policy with 'policyId': B2C_1A_BASIC_BASE cannot be found in the directory "
                                    f"'{policies.emulator.tenant_id}'.")


# ---- what the service refuses on upload ---------------------------------------------------------------------------
def test_not_xml_is_refused(policies, tenant):
    for body in ("this is not xml", policy_text("TrustFrameworkBase", tenant)[:-40], f'<Policy xmlns="{NAMESPACE}"/>'):
        response = policies.put("B2C_1A_Basic_Base", body)
        assert response.status_code == 400
        error = graph_error(response)
        assert error["code"] == "AADB2C"
        assert error["message"].startswith("The policy being uploaded is not XML or is not correctly formatted")


@pytest.mark.parametrize("content_type", ["application/json", "application/xml", None])
def test_a_body_that_is_not_xml_is_400_whatever_its_content_type(policies, content_type):
    response = policies.put("B2C_1A_Basic_Base", '{"trustFrameworkPolicy": "B2C_1A_Basic_Base"}', content_type)
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "AADB2C"
    assert error["message"] == ("The policy being uploaded is not XML or is not correctly formatted: Data at the root "
                                "level is invalid. Line 1, position 1.")


@pytest.mark.parametrize("attribute", ["TenantId", "PolicyId", "PublicPolicyUri", "PolicySchemaVersion"])
def test_a_missing_required_attribute_is_a_schema_error(policies, tenant, attribute):
    text = policy_text("TrustFrameworkBase", tenant)
    root = ET.fromstring(text)
    without = text.replace(f'{attribute}="{root.get(attribute)}"', "", 1)
    response = policies.put("B2C_1A_Basic_Base", without)
    assert response.status_code == 400
    message = graph_error(response)["message"]
    assert message.startswith(f'Validation failed: 1 validation error(s) found in policy "B2C_1A_BASIC_BASE" of tenant "{tenant}".'
                              "Schema validation error found at line 4 col 2")
    assert message.endswith(f"The required attribute '{attribute}' is missing.")


def test_policy_id_must_be_the_url_id_and_carry_the_prefix(policies, tenant):
    policies.keysets(*KEY_SETS)
    base = policy_text("TrustFrameworkBase", tenant)
    other = policies.put("B2C_1A_Other", base)
    assert other.status_code == 400 and "does not match the policy id 'B2C_1A_Other'" in graph_error(other)["message"]
    bare = policies.put("Basic_Base", base.replace("B2C_1A_Basic_Base", "Basic_Base"))
    assert bare.status_code == 400 and "starts with 'B2C_1A_'" in graph_error(bare)["message"]
    assert policies.request("GET").json()["value"] == []


def test_tenant_id_must_be_the_tenant(policies, tenant):
    policies.keysets(*KEY_SETS)
    response = policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", "yourtenant.onmicrosoft.com"))
    assert response.status_code == 400
    assert graph_error(response)["message"] == (
        f'Validation failed: 1 validation error(s) found in policy "B2C_1A_BASIC_BASE" of tenant "{tenant}".'
        f"TenantId in the policy xml 'yourtenant.onmicrosoft.com' is not same as the one in login tenant '{tenant}'.")


def test_a_base_must_already_be_in_the_tenant(policies, tenant):
    policies.keysets(*KEY_SETS)
    early = policies.put("B2C_1A_Basic_Localization", policy_text("TrustFrameworkLocalization", tenant))
    assert early.status_code == 400
    missing = f"Policy with 'policyId': B2C_1A_BASIC_BASE cannot be found in the directory '{policies.emulator.tenant_id}'."
    assert graph_error(early)["message"] == (  # one error, its sentence twice (starter-pack #113)
        f'Validation failed: 1 validation error(s) found in policy "B2C_1A_BASIC_LOCALIZATION" of tenant "{tenant}".'
        + missing + missing)
    upload_chain(policies, tenant, "TrustFrameworkBase", "TrustFrameworkLocalization")


def test_a_base_in_another_tenant_or_without_prefix_cannot_be_inherited(policies, tenant):
    policies.keysets(*KEY_SETS)
    upload_chain(policies, tenant, "TrustFrameworkBase")
    localization = policy_text("TrustFrameworkLocalization", tenant)
    for changed in (localization.replace(f"<TenantId>{tenant}</TenantId>", "<TenantId>fabrikam.onmicrosoft.com</TenantId>"),
                    localization.replace("<PolicyId>B2C_1A_Basic_Base</PolicyId>", "<PolicyId>Basic_Base</PolicyId>")):
        response = policies.put("B2C_1A_Basic_Localization", changed)
        assert response.status_code == 400
        message = graph_error(response)["message"]
        sentence = (f"Policy 'B2C_1A_Basic_Localization' of tenant '{tenant}' is not allowed to inherit from the specified "
                    "base policy. Inheritance chain: { ")
        assert sentence in message
        chain = json.loads(message[message.index("Inheritance chain: ") + len("Inheritance chain: "):])
        assert chain["Root"] is True and chain["PolicyId"] in ("B2C_1A_Basic_Base", "Basic_Base")
        assert chain["Derived"]["PolicyId"] == "B2C_1A_Basic_Localization"
        assert chain["Derived"]["TenantObjectId"] == policies.emulator.tenant_id
        assert chain["Derived"]["InheritanceAllowed"] is False and chain["Derived"]["Reason"]


def test_key_sets_must_exist_and_every_error_is_listed(policies, tenant):
    response = policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", tenant))
    assert response.status_code == 400
    assert graph_error(response)["message"] == (
        f'Validation failed: 2 validation error(s) found in policy "B2C_1A_BASIC_BASE" of tenant "{tenant}".'
        f'Tenant "{tenant}" does not have CryptographicKey referenced by storageReferenceId "B2C_1A_TokenSigningKeyContainer".'
        f'Tenant "{tenant}" does not have CryptographicKey referenced by storageReferenceId "B2C_1A_TokenEncryptionKeyContainer".')
    policies.keysets("TokenSigningKeyContainer")
    one_left = graph_error(policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", tenant)))["message"]
    assert "1 validation error(s)" in one_left and "B2C_1A_TokenEncryptionKeyContainer" in one_left
    policies.keysets("TokenEncryptionKeyContainer")
    assert policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", tenant)).status_code == 201


def test_inheritance_deeper_than_ten_levels_is_refused(policies, tenant):
    root = policy_text("TrustFrameworkLocalization", tenant)
    root = root.replace(root[root.index("  <BasePolicy>"):root.index("</BasePolicy>\n") + len("</BasePolicy>\n")], "")
    assert policies.put("B2C_1A_L0", root.replace("B2C_1A_Basic_Localization", "B2C_1A_L0")).status_code == 201
    for level in range(1, MAX_INHERITANCE_LEVELS + 1):
        child = policy_text("TrustFrameworkLocalization", tenant).replace("B2C_1A_Basic_Localization", f"B2C_1A_L{level}")
        child = child.replace("<PolicyId>B2C_1A_Basic_Base</PolicyId>", f"<PolicyId>B2C_1A_L{level - 1}</PolicyId>")
        response = policies.put(f"B2C_1A_L{level}", child)
        if level < MAX_INHERITANCE_LEVELS:
            assert response.status_code == 201, (level, response.text)
        else:
            assert response.status_code == 400
            assert "B2C allows at most 10 levels of inheritance" in graph_error(response)["message"]


def test_a_file_over_1024_kb_is_refused(policies, tenant):
    policies.keysets(*KEY_SETS)
    text = policy_text("TrustFrameworkBase", tenant).replace("</TrustFrameworkPolicy>", "<!--" + "x" * 1024 * 1024 + "--></TrustFrameworkPolicy>")
    response = policies.put("B2C_1A_Basic_Base", text)
    assert response.status_code == 400 and "1024 KB" in graph_error(response)["message"]


def test_unknown_paths_methods_and_ids(policies):
    assert policies.request("PATCH", "/B2C_1A_X").status_code == 405
    assert policies.request("POST", "/B2C_1A_X/$value").status_code == 405
    unknown = policies.request("GET", "/B2C_1A_X/content")
    assert unknown.status_code == 400 and graph_error(unknown)["code"] == "BadRequest"
    invalid = policies.request("GET", "/B2C_1A_X%20Y/$value")
    assert invalid.status_code == 400 and "Invalid policy id" in graph_error(invalid)["message"]


# ---- permissions --------------------------------------------------------------------------------------------------
def test_read_permission_reads_and_cannot_write(emulator, policies, tenant):
    policies.keysets(*KEY_SETS)
    upload_chain(policies, tenant, "TrustFrameworkBase")
    reader = roles_token(emulator, POLICY_READ_ALL)
    assert policies.request("GET", token=reader).status_code == 200
    assert policies.request("GET", "/B2C_1A_Basic_Base/$value", token=reader).status_code == 200
    for response in (policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", tenant), token=reader),
                     policies.request("DELETE", "/B2C_1A_Basic_Base", token=reader)):
        assert response.status_code == 403
        assert graph_error(response)["code"] == "Authorization_RequestDenied"


def test_key_set_permissions_do_not_reach_policies(emulator, policies):
    keysets_only = roles_token(emulator, READ_WRITE)
    response = policies.request("GET", token=keysets_only)
    assert response.status_code == 403 and graph_error(response)["code"] == "Authorization_RequestDenied"
    assert policies.request("GET", token="not-a-token").status_code == 401


# ---- request log, faults, controls ----------------------------------------------------------------------------------
def test_request_log_names_routes_and_policies(emulator, policies, tenant):
    policies.keysets(*KEY_SETS)
    emulator.control.clear_requests()
    upload_chain(policies, tenant, "TrustFrameworkBase")
    policies.request("GET", "/B2C_1A_Basic_Base/$value")
    policies.request("GET")
    policies.request("DELETE", "/B2C_1A_Basic_Base")
    policies.request("POST", data=policy_text("TrustFrameworkBase", tenant).encode("utf-8"), headers=XML)
    logged = [(entry["route"], entry["method"], entry["status"], entry.get("policy")) for entry in emulator.control.requests()]
    assert logged == [
        ("policies.put", "PUT", 201, "B2C_1A_Basic_Base"),
        ("policies.get", "GET", 200, "B2C_1A_Basic_Base"),
        ("policies.list", "GET", 200, None),
        ("policies.delete", "DELETE", 204, "B2C_1A_Basic_Base"),
        ("policies.create", "POST", 201, "B2C_1A_Basic_Base"),
    ]


def test_faults_target_one_policy(emulator, policies, tenant):
    policies.keysets(*KEY_SETS)
    emulator.control.add_fault("policies.put", [{"status": 503, "retry_after": 1}, TRANSIENT_UPLOAD_FAULT], keyset="B2C_1A_Basic_Base")
    base = policy_text("TrustFrameworkBase", tenant)
    outage = policies.put("B2C_1A_Basic_Base", base)
    assert outage.status_code == 503 and outage.headers["Retry-After"] == "1"
    transient = policies.put("B2C_1A_Basic_Base", base)
    assert transient.status_code == 400
    assert graph_error(transient)["message"].endswith("Object reference not set to an instance of an object.")
    assert policies.request("GET").json()["value"] == []
    assert policies.put("B2C_1A_Basic_Base", base).status_code == 201
    emulator.control.add_fault("policies.get", [{"status": 500}], keyset="B2C_1A_Other")
    assert policies.request("GET", "/B2C_1A_Basic_Base/$value").status_code == 200


def test_a_committed_fault_stores_the_policy_then_fails(emulator, policies, tenant):
    policies.keysets(*KEY_SETS)
    emulator.control.add_fault("policies.put", [{"commit": True, "status": 504}])
    assert policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", tenant)).status_code == 504
    assert [item["id"] for item in policies.request("GET").json()["value"]] == ["B2C_1A_Basic_Base"]


def test_controls_seed_show_and_reset_policies(emulator, policies, tenant):
    control = emulator.control
    raw = policy_text("SignIn", tenant)
    assert control.seed_policies([{"content": raw}, {"id": "B2C_1A_Custom", "content": raw}]) == ["B2C_1A_Basic_SignIn", "B2C_1A_Custom"]
    assert control.policies() == [{"id": "B2C_1A_Basic_SignIn"}, {"id": "B2C_1A_Custom"}]
    assert control.policies(content=True)[0]["content"] == raw  # seeded policies are stored verbatim
    assert policies.request("GET", "/B2C_1A_Basic_SignIn/$value").text == raw
    assert control.state()["policies"] == ["B2C_1A_Basic_SignIn", "B2C_1A_Custom"]
    control.reset()
    assert control.policies() == [] and policies.request("GET").json()["value"] == []


# ---- references resolved against the policy and its bases -------------------------------------------------------------
def test_a_claim_type_no_policy_of_the_chain_defines_is_refused_ignoring_case(policies, tenant):
    policies.keysets(*KEY_SETS)
    upload_chain(policies, tenant, "TrustFrameworkBase", "TrustFrameworkLocalization", "TrustFrameworkExtensions")
    sign_in = policy_text("SignIn", tenant).replace('ClaimTypeReferenceId="email"', 'ClaimTypeReferenceId="emailAddress"')
    response = policies.put("B2C_1A_Basic_SignIn", sign_in)
    assert response.status_code == 400
    assert graph_error(response)["message"] == (  # the policy id upper-cased in the header only (samples #53)
        f'Validation failed: 1 validation error(s) found in policy "B2C_1A_BASIC_SIGNIN" of tenant "{tenant}".'
        f'Policy "B2C_1A_Basic_SignIn" of tenant "{tenant}" makes a reference to ClaimType with id "emailAddress" but '
        "neither the policy nor any of its base policies contain such an element.")
    other_case = policy_text("SignIn", tenant).replace('ClaimTypeReferenceId="email"', 'ClaimTypeReferenceId="EMAIL"')
    assert policies.put("B2C_1A_Basic_SignIn", other_case).status_code == 201  # ids match ignoring case


def test_a_technical_profile_missing_in_an_orchestration_step_is_named_with_its_step_twice(policies, tenant):
    policies.keysets(*KEY_SETS)
    base = policy_text("TrustFrameworkBase", tenant).replace(
        'CpimIssuerTechnicalProfileReferenceId="BasicJwtIssuer"', 'CpimIssuerTechnicalProfileReferenceId="JwtIssuer"')
    response = policies.put("B2C_1A_Basic_Base", base)
    sentence = (f'The following error occurred in orchestration step 1 in user journey "BasicSignIn" in policy '
                f'"B2C_1A_Basic_Base" of tenant "{tenant}": Policy "B2C_1A_Basic_Base" of tenant "{tenant}" makes a '
                'reference to TechnicalProfile with id "JwtIssuer" but neither the policy nor any of its base policies '
                "contain such an element.")
    assert response.status_code == 400
    assert graph_error(response)["message"] == (  # one error, its sentence twice (samples #481)
        f'Validation failed: 1 validation error(s) found in policy "B2C_1A_BASIC_BASE" of tenant "{tenant}".'
        + sentence + sentence)


def test_a_base_change_leaves_the_stored_child_alone_and_refuses_its_next_upload(policies, tenant):
    policies.keysets(*KEY_SETS)
    upload_chain(policies, tenant, "TrustFrameworkBase", "TrustFrameworkLocalization", "TrustFrameworkExtensions", "SignIn")
    renamed = policy_text("TrustFrameworkBase", tenant).replace('UserJourney Id="BasicSignIn"', 'UserJourney Id="SignIn2"')
    assert policies.put("B2C_1A_Basic_Base", renamed).status_code == 200  # B2C validates only what is uploaded
    again = policies.put("B2C_1A_Basic_SignIn", policy_text("SignIn", tenant))
    assert again.status_code == 400
    assert 'makes a reference to UserJourney with id "BasicSignIn"' in graph_error(again)["message"]


@pytest.mark.parametrize("old, new, kind", [
    ('<OutputClaim ClaimTypeReferenceId="objectId" PartnerClaimType="sub" />',
     '<OutputClaim ClaimTypeReferenceId="objectId" PartnerClaimType="sub" /><PersistedClaim ClaimTypeReferenceId="x" />',
     "ClaimType"),
    ('<Protocol Name="OpenIdConnect" />', '<Protocol Name="OpenIdConnect" /><InputClaimsTransformations>'
     '<InputClaimsTransformation ReferenceId="x" /></InputClaimsTransformations>', "ClaimsTransformation"),
    ('<DefaultUserJourney ReferenceId="BasicSignIn" />', '<DefaultUserJourney ReferenceId="x" />', "UserJourney"),
    ('<Protocol Name="OpenIdConnect" />', '<Protocol Name="OpenIdConnect" /><Metadata><Item Key="ContentDefinitionReferenceId">'
     'x</Item></Metadata>', "ContentDefinition"),
])
def test_each_kind_of_reference_must_resolve(policies, tenant, old, new, kind):
    policies.keysets(*KEY_SETS)
    upload_chain(policies, tenant, "TrustFrameworkBase", "TrustFrameworkLocalization", "TrustFrameworkExtensions")
    text = policy_text("SignIn", tenant)
    assert old in text
    response = policies.put("B2C_1A_Basic_SignIn", text.replace(old, new, 1))
    assert response.status_code == 400
    assert f'makes a reference to {kind} with id "x" but neither' in graph_error(response)["message"]


# ---- injected faults of an upload ----------------------------------------------------------------------------------------
def test_the_transient_and_conflict_faults_answer_in_b2cs_shape(emulator, policies, tenant):
    policies.keysets(*KEY_SETS)
    emulator.control.add_fault("policies.put", [transient_upload_fault("B2C_1A_Basic_Base", tenant),
                                                conflict_upload_fault("B2C_1A_Basic_Base")], keyset="B2C_1A_Basic_Base")
    base = policy_text("TrustFrameworkBase", tenant)
    transient = policies.put("B2C_1A_Basic_Base", base)
    assert transient.status_code == 400 and graph_error(transient)["message"] == (
        f'Validation failed: 1 validation error(s) found in policy "B2C_1A_BASIC_BASE" of tenant "{tenant}".'
        "Object reference not set to an instance of an object.")
    conflict = policies.put("B2C_1A_Basic_Base", base)
    assert conflict.status_code == 409 and graph_error(conflict)["code"] == "AADB2C"
    assert "B2C_1A_Basic_Base" in graph_error(conflict)["message"]
    assert policies.request("GET").json()["value"] == []
    assert policies.put("B2C_1A_Basic_Base", base).status_code == 201


def test_a_new_key_set_is_seen_by_policy_validation_only_after_its_replication_delay(emulator, policies, tenant):
    emulator.control.configure(replication_delay=2.0)
    policies.keysets(*KEY_SETS)
    listed = policies.session.get(f"{emulator.url}/beta/trustFramework/keySets", verify=emulator.ca_path, timeout=30,
                                  headers={"Authorization": f"Bearer {policies.token}"}).json()["value"]
    assert {item["id"] for item in listed} == {"B2C_1A_" + name for name in KEY_SETS}  # listed at once
    early = policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", tenant))
    assert early.status_code == 400
    assert graph_error(early)["message"] == (
        f'Validation failed: 2 validation error(s) found in policy "B2C_1A_BASIC_BASE" of tenant "{tenant}".'
        f'Tenant "{tenant}" does not have CryptographicKey referenced by storageReferenceId "B2C_1A_TokenSigningKeyContainer".'
        f'Tenant "{tenant}" does not have CryptographicKey referenced by storageReferenceId "B2C_1A_TokenEncryptionKeyContainer".')
    assert set(emulator.control.replicating()) == {"B2C_1A_" + name for name in KEY_SETS}  # refused inside the window
    wait_until_replicated(emulator.control, *("B2C_1A_" + name for name in KEY_SETS))
    assert policies.put("B2C_1A_Basic_Base", policy_text("TrustFrameworkBase", tenant)).status_code == 201
