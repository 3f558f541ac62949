# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the IEF linker (plugins/module_utils/_policies/refs.py): references resolved against the chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import POLICY_NAMESPACE, PolicyError, parse_policy
from ansible_collections.entra.b2c.plugins.module_utils._policies.refs import (
    Dangling,
    dangling_references,
    outside_bases,
    refuse_dangling,
    scan,
    tenant_base,
)

TENANT = "contoso.onmicrosoft.com"
POLICY_SETS = Path(__file__).resolve().parents[4] / "tests" / "policies"

BASE_BODY = """  <BuildingBlocks>
    <ClaimsSchema>
      <ClaimType Id="objectId"><DataType>string</DataType></ClaimType>
      <ClaimType Id="email"><DataType>string</DataType></ClaimType>
      <ClaimType Id="displayName"><DataType>string</DataType></ClaimType>
    </ClaimsSchema>
    <ClaimsTransformations>
      <ClaimsTransformation Id="CreateDisplayName" TransformationMethod="FormatStringClaim">
        <InputClaims><InputClaim ClaimTypeReferenceId="email" TransformationClaimType="inputClaim" /></InputClaims>
        <OutputClaims><OutputClaim ClaimTypeReferenceId="displayName" TransformationClaimType="outputClaim" /></OutputClaims>
      </ClaimsTransformation>
    </ClaimsTransformations>
    <ContentDefinitions>
      <ContentDefinition Id="api.selfasserted">
        <LoadUri>~/tenant/default/selfAsserted.cshtml</LoadUri>
        <LocalizedResourcesReferences>
          <LocalizedResourcesReference Language="en" LocalizedResourcesReferenceId="api.selfasserted.en" />
        </LocalizedResourcesReferences>
      </ContentDefinition>
    </ContentDefinitions>
    <Localization Enabled="true">
      <LocalizedResources Id="api.selfasserted.en"><LocalizedStrings /></LocalizedResources>
    </Localization>
    <DisplayControls>
      <DisplayControl Id="emailVerificationControl" UserInterfaceControlType="VerificationControl">
        <DisplayClaims><DisplayClaim ClaimTypeReferenceId="email" /></DisplayClaims>
        <Actions><Action Id="SendCode"><ValidationClaimsExchange>
          <ValidationClaimsExchangeTechnicalProfile TechnicalProfileReferenceId="SM-Noop" />
        </ValidationClaimsExchange></Action></Actions>
      </DisplayControl>
    </DisplayControls>
    <ClientDefinitions><ClientDefinition Id="DefaultWeb" /></ClientDefinitions>
  </BuildingBlocks>
  <ClaimsProviders>
    <ClaimsProvider>
      <DisplayName>Local</DisplayName>
      <TechnicalProfiles>
        <TechnicalProfile Id="SM-Noop"><DisplayName>noop</DisplayName></TechnicalProfile>
        <TechnicalProfile Id="JwtIssuer"><DisplayName>issuer</DisplayName></TechnicalProfile>
        <TechnicalProfile Id="AAD-Common"><DisplayName>directory</DisplayName></TechnicalProfile>
        <TechnicalProfile Id="SelfAsserted-Input">
          <Metadata><Item Key="ContentDefinitionReferenceId">api.selfasserted</Item></Metadata>
          <InputClaimsTransformations><InputClaimsTransformation ReferenceId="CreateDisplayName" /></InputClaimsTransformations>
          <DisplayClaims><DisplayClaim DisplayControlReferenceId="emailVerificationControl" /></DisplayClaims>
          <OutputClaims><OutputClaim ClaimTypeReferenceId="objectId" PartnerClaimType="oid" /></OutputClaims>
          <ValidationTechnicalProfiles><ValidationTechnicalProfile ReferenceId="AAD-Write" /></ValidationTechnicalProfiles>
          <UseTechnicalProfileForSessionManagement ReferenceId="SM-Noop" />
        </TechnicalProfile>
        <TechnicalProfile Id="AAD-Write">
          <PersistedClaims><PersistedClaim ClaimTypeReferenceId="displayName" /></PersistedClaims>
          <OutputClaimsTransformations><OutputClaimsTransformation ReferenceId="CreateDisplayName" /></OutputClaimsTransformations>
          <IncludeTechnicalProfile ReferenceId="AAD-Common" />
        </TechnicalProfile>
      </TechnicalProfiles>
    </ClaimsProvider>
  </ClaimsProviders>
  <SubJourneys><SubJourney Id="Verify" Type="Call"><OrchestrationSteps /></SubJourney></SubJourneys>
  <UserJourneys>
    <UserJourney Id="SignUp">
      <OrchestrationSteps>
        <OrchestrationStep Order="1" Type="ClaimsExchange" ContentDefinitionReferenceId="api.selfasserted">
          <ClaimsExchanges><ClaimsExchange Id="Input" TechnicalProfileReferenceId="SelfAsserted-Input" /></ClaimsExchanges>
        </OrchestrationStep>
        <OrchestrationStep Order="2" Type="InvokeSubJourney">
          <JourneyList><Candidate SubJourneyReferenceId="Verify" /></JourneyList>
        </OrchestrationStep>
        <OrchestrationStep Order="3" Type="SendClaims" CpimIssuerTechnicalProfileReferenceId="JwtIssuer" />
      </OrchestrationSteps>
      <ClientDefinition ReferenceId="DefaultWeb" />
    </UserJourney>
  </UserJourneys>
"""

RELYING_PARTY_BODY = """  <RelyingParty>
    <DefaultUserJourney ReferenceId="SignUp" />
    <TechnicalProfile Id="PolicyProfile">
      <DisplayName>PolicyProfile</DisplayName>
      <OutputClaims>
        <OutputClaim ClaimTypeReferenceId="objectId" PartnerClaimType="sub" />
        <OutputClaim ClaimTypeReferenceId="email" />
      </OutputClaims>
      <SubjectNamingInfo ClaimType="sub" />
    </TechnicalProfile>
  </RelyingParty>
"""


def policy_xml(policy_id: str, base: str | None = None, body: str = "") -> str:
    base_block = (f"  <BasePolicy>\n    <TenantId>{TENANT}</TenantId>\n    <PolicyId>{base}</PolicyId>\n"
                  "  </BasePolicy>\n") if base else ""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<TrustFrameworkPolicy xmlns="{POLICY_NAMESPACE}"\n'
            f'  PolicySchemaVersion="0.3.0.0" TenantId="{TENANT}" PolicyId="{policy_id}"\n'
            f'  PublicPolicyUri="http://{TENANT}/{policy_id}">\n{base_block}{body}</TrustFrameworkPolicy>\n')


def policy(policy_id: str, base: str | None = None, body: str = ""):
    return parse_policy(policy_xml(policy_id, base, body), source=f"{policy_id}.xml")


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def chain_set(rp_body: str = RELYING_PARTY_BODY, base_body: str = BASE_BODY):
    return [policy("B2C_1A_Base", body=base_body), policy("B2C_1A_Ext", "B2C_1A_Base"),
            policy("B2C_1A_SignUp", "B2C_1A_Ext", rp_body)]


# ---- valid sets: no finding -----------------------------------------------------------------------------------------
def test_a_set_whose_every_kind_of_reference_resolves_has_no_finding():
    policies = chain_set()
    references = scan(policies[0].content).references
    assert {reference.kind for reference in references} == {
        "ClaimType", "TechnicalProfile", "ClaimsTransformation", "SubJourney", "ContentDefinition", "LocalizedResources",
        "DisplayControl", "ClientDefinition"}
    assert dangling_references(policies) == []
    refuse_dangling(policies)  # does not raise


@pytest.mark.parametrize("name", sorted(path.name for path in POLICY_SETS.iterdir() if path.is_dir()))
def test_every_policy_set_of_the_tests_has_no_dangling_reference(name):
    files = sorted((POLICY_SETS / name).glob("*.xml"))
    assert files, name
    policies = [parse_policy(path.read_text(encoding="utf-8").replace("{{ b2c_tenant }}", TENANT), str(path))
                for path in files]
    references = sum(len(scan(item.content).references) for item in policies)
    assert references > 0
    assert [str(item) for item in dangling_references(policies)] == []


def test_a_definition_anywhere_on_the_chain_counts_and_ids_ignore_case():
    rp = RELYING_PARTY_BODY.replace('ReferenceId="SignUp"', 'ReferenceId="signup"')
    extension = """  <BuildingBlocks><ClaimsSchema><ClaimType Id="newClaim" /></ClaimsSchema></BuildingBlocks>\n"""
    policies = [policy("B2C_1A_Base", body=BASE_BODY), policy("B2C_1A_Ext", "B2C_1A_Base", extension),
                policy("B2C_1A_SignUp", "B2C_1A_Ext", rp.replace('"email" />', '"newClaim" />'))]
    assert dangling_references(policies) == []


# ---- each kind dangling: found, with its line and a hint --------------------------------------------------------------
@pytest.mark.parametrize("old, new, kind, target, hint", [
    ('InputClaim ClaimTypeReferenceId="email"', 'InputClaim ClaimTypeReferenceId="emial"', "ClaimType", "emial", "email"),
    ('OutputClaim ClaimTypeReferenceId="objectId" Partner', 'OutputClaim ClaimTypeReferenceId="objectID2" Partner',
     "ClaimType", "objectID2", "objectId"),
    ('PersistedClaim ClaimTypeReferenceId="displayName"', 'PersistedClaim ClaimTypeReferenceId="displayNam"',
     "ClaimType", "displayNam", "displayName"),
    ('DisplayClaim ClaimTypeReferenceId="email"', 'DisplayClaim ClaimTypeReferenceId="mail"', "ClaimType", "mail", "email"),
    ('ValidationTechnicalProfile ReferenceId="AAD-Write"', 'ValidationTechnicalProfile ReferenceId="AAD-Wirte"',
     "TechnicalProfile", "AAD-Wirte", "AAD-Write"),
    ('IncludeTechnicalProfile ReferenceId="AAD-Common"', 'IncludeTechnicalProfile ReferenceId="AAD-Commons"',
     "TechnicalProfile", "AAD-Commons", "AAD-Common"),
    ('UseTechnicalProfileForSessionManagement ReferenceId="SM-Noop"',
     'UseTechnicalProfileForSessionManagement ReferenceId="SM-Nop"', "TechnicalProfile", "SM-Nop", "SM-Noop"),
    ('TechnicalProfileReferenceId="SelfAsserted-Input"', 'TechnicalProfileReferenceId="SelfAsserted-Inptu"',
     "TechnicalProfile", "SelfAsserted-Inptu", "SelfAsserted-Input"),
    ('CpimIssuerTechnicalProfileReferenceId="JwtIssuer"', 'CpimIssuerTechnicalProfileReferenceId="JWTIssuer2"',
     "TechnicalProfile", "JWTIssuer2", "JwtIssuer"),
    ('ValidationClaimsExchangeTechnicalProfile TechnicalProfileReferenceId="SM-Noop"',
     'ValidationClaimsExchangeTechnicalProfile TechnicalProfileReferenceId="SendOtp"', "TechnicalProfile", "SendOtp", None),
    ('InputClaimsTransformation ReferenceId="CreateDisplayName"', 'InputClaimsTransformation ReferenceId="CreateDisplayNam"',
     "ClaimsTransformation", "CreateDisplayNam", "CreateDisplayName"),
    ('OutputClaimsTransformation ReferenceId="CreateDisplayName"', 'OutputClaimsTransformation ReferenceId="MakeName"',
     "ClaimsTransformation", "MakeName", None),
    ('ContentDefinitionReferenceId="api.selfasserted"', 'ContentDefinitionReferenceId="api.selfassert"',
     "ContentDefinition", "api.selfassert", "api.selfasserted"),
    ('<Item Key="ContentDefinitionReferenceId">api.selfasserted</Item>',
     '<Item Key="ContentDefinitionReferenceId">api.selfasserted2</Item>', "ContentDefinition", "api.selfasserted2",
     "api.selfasserted"),
    ('LocalizedResourcesReferenceId="api.selfasserted.en"', 'LocalizedResourcesReferenceId="api.selfasserted.fr"',
     "LocalizedResources", "api.selfasserted.fr", "api.selfasserted.en"),
    ('DisplayControlReferenceId="emailVerificationControl"', 'DisplayControlReferenceId="emailVerifyControl"',
     "DisplayControl", "emailVerifyControl", "emailVerificationControl"),
    ('Candidate SubJourneyReferenceId="Verify"', 'Candidate SubJourneyReferenceId="Verfy"', "SubJourney", "Verfy", "Verify"),
    ('ClientDefinition ReferenceId="DefaultWeb"', 'ClientDefinition ReferenceId="DefaultWebb"', "ClientDefinition",
     "DefaultWebb", "DefaultWeb"),
])
def test_each_kind_of_dangling_reference_is_found_with_its_line_and_the_nearest_id(old, new, kind, target, hint):
    assert BASE_BODY.count(old) == 1
    base_body = BASE_BODY.replace(old, new)
    found = dangling_references(chain_set(base_body=base_body))
    text = policy_xml("B2C_1A_Base", body=base_body)
    assert found == [Dangling("B2C_1A_Base (B2C_1A_Base.xml)", line_of(text, new), kind, target, hint)]


def test_the_relying_partys_journey_and_claims_are_checked_against_the_whole_chain():
    rp = RELYING_PARTY_BODY.replace('ReferenceId="SignUp"', 'ReferenceId="SignUpOrSignIn"').replace(
        'ClaimTypeReferenceId="email"', 'ClaimTypeReferenceId="emailAddress"')
    found = dangling_references(chain_set(rp_body=rp))
    text = policy_xml("B2C_1A_SignUp", "B2C_1A_Ext", rp)
    assert [str(item) for item in found] == [
        f"B2C_1A_SignUp (B2C_1A_SignUp.xml) line {line_of(text, 'SignUpOrSignIn')}: UserJourney 'SignUpOrSignIn' is "
        "defined neither in the policy nor in any of its bases (did you mean 'SignUp'?)",
        f"B2C_1A_SignUp (B2C_1A_SignUp.xml) line {line_of(text, 'emailAddress')}: ClaimType 'emailAddress' is defined "
        "neither in the policy nor in any of its bases (did you mean 'email'?)"]


def test_what_is_not_a_reference_is_not_checked():
    body = """  <RelyingParty>
    <TechnicalProfile Id="PolicyProfile">
      <Metadata><Item Key="ClaimTypeOnWhichToEnable">noSuchClaim</Item></Metadata>
      <OutputClaims><OutputClaim ClaimTypeReferenceId="objectId" PartnerClaimType="noSuchPartnerClaim" /></OutputClaims>
      <SubjectNamingInfo ClaimType="noSuchClaimEither" />
      <CryptographicKeys><Key Id="k" StorageReferenceId="B2C_1A_NoSuchKeySet" /></CryptographicKeys>
    </TechnicalProfile>
  </RelyingParty>
  <Other xmlns="urn:elsewhere"><InputClaim ClaimTypeReferenceId="foreign" /></Other>
"""
    policies = [policy("B2C_1A_Base", body=BASE_BODY), policy("B2C_1A_Rp", "B2C_1A_Base", body)]
    assert dangling_references(policies) == []


def test_a_base_change_that_breaks_a_child_of_the_set_is_found_in_the_child():
    renamed = BASE_BODY.replace('UserJourney Id="SignUp"', 'UserJourney Id="SignUpV2"')
    found = dangling_references(chain_set(base_body=renamed))
    assert [(item.policy, item.kind, item.target, item.hint) for item in found] == [
        ("B2C_1A_SignUp (B2C_1A_SignUp.xml)", "UserJourney", "SignUp", "SignUpV2")]


# ---- chains through the tenant ----------------------------------------------------------------------------------------
def test_a_chain_continues_through_the_tenants_copies_of_bases_outside_the_set():
    base_text, ext_text = policy_xml("B2C_1A_Base", body=BASE_BODY), policy_xml("B2C_1A_Ext", "B2C_1A_Base")
    rp = policy("B2C_1A_SignUp", "B2C_1A_Ext", RELYING_PARTY_BODY)
    assert outside_bases([rp]) == {"B2C_1A_EXT": "B2C_1A_Ext"}
    assert tenant_base(ext_text) == "B2C_1A_BASE" and tenant_base(base_text) is None and tenant_base(b"<not xml") is None
    tenant = {"B2C_1A_EXT": ext_text.encode("utf-8"), "B2C_1A_BASE": base_text.encode("utf-8")}
    assert dangling_references([rp], tenant) == []

    renamed = base_text.replace('ClaimType Id="email"', 'ClaimType Id="mail"').encode("utf-8")
    found = dangling_references([rp], dict(tenant, B2C_1A_BASE=renamed))
    assert [(item.kind, item.target, item.hint) for item in found] == [("ClaimType", "email", "mail")]


@pytest.mark.parametrize("tenant", [
    {},  # the tenant's copies were not read
    {"B2C_1A_EXT": None},  # deleted since the list
    {"B2C_1A_EXT": b"<TrustFrameworkPolicy"},  # not XML
    {"B2C_1A_EXT": policy_xml("B2C_1A_Ext", "B2C_1A_Base")},  # its own base missing
])
def test_a_chain_that_cannot_be_read_completely_is_not_checked(tenant):
    rp = policy("B2C_1A_SignUp", "B2C_1A_Ext", RELYING_PARTY_BODY.replace('"SignUp"', '"Nowhere"'))
    assert dangling_references([rp], tenant) == []


def test_the_refusal_lists_every_dangling_reference_one_per_line():
    broken = BASE_BODY.replace('"SM-Noop" />\n        </Valid', '"SM-Nope" />\n        </Valid').replace(
        'ClaimTypeReferenceId="displayName" />', 'ClaimTypeReferenceId="givenName" />')
    with pytest.raises(PolicyError) as caught:
        refuse_dangling(chain_set(base_body=broken))
    lines = str(caught.value).splitlines()
    assert lines[0] == ("2 reference(s) that no policy of the inheritance chain defines, nothing was sent "
                        "(B2C would refuse the upload):")
    assert "TechnicalProfile 'SM-Nope'" in lines[1] and "did you mean 'SM-Noop'?" in lines[1]
    assert "ClaimType 'givenName'" in lines[2]
    assert caught.value.problems == lines[1:]


def test_a_reference_spread_over_lines_is_reported_at_its_element():
    text = BASE_BODY.replace('<ClaimsExchange Id="Input" TechnicalProfileReferenceId="SelfAsserted-Input" />',
                             '<ClaimsExchange\n            Id="Input"\n            TechnicalProfileReferenceId="Gone" />')
    found = dangling_references(chain_set(base_body=text))
    assert [item.line for item in found] == [line_of(policy_xml("B2C_1A_Base", body=text), "<ClaimsExchange\n")]


def test_scan_refuses_what_is_not_xml():
    with pytest.raises(PolicyError, match="not well-formed XML"):
        scan("<TrustFrameworkPolicy")
